import { describe, expect, it } from 'vitest';

import { escalationFromForm, fieldError, formFromEscalation, moved } from './escalation';

describe('the escalation form', () => {
  it('round-trips a draft', () => {
    const draft = {
      steps: [
        {
          after: '5m',
          action: 'webhook',
          minSeverity: 'critical' as const,
          unacknowledged: false,
          nobodyOnline: true,
          url: 'https://x.example/',
          secret: 'env:HOOK',
        },
      ],
      onlineWithin: '10m',
      mention: ['U123', '@here'],
      phones: [{ name: 'Bob', number: '+15550101' }],
    };
    expect(escalationFromForm(formFromEscalation(draft))).toEqual(draft);
  });

  it('drops url and secret from steps that are not webhooks', () => {
    const form = formFromEscalation({ steps: [], onlineWithin: '5m', mention: [], phones: [] });
    form.steps = [
      { key: 1, after: '0s', action: 'chat', minSeverity: '', unacknowledged: true, nobodyOnline: false, url: 'x', secret: 'y' },
    ];
    expect(escalationFromForm(form).steps[0]).toMatchObject({ url: null, secret: null });
  });

  it('names the field of an error', () => {
    expect(fieldError('steps[2].min_severity: unknown severity "huge"')).toEqual({
      field: 'steps[2].min_severity',
      message: 'unknown severity "huge"',
    });
    expect(fieldError('online_within: must be at least 1s')?.field).toBe('online_within');
    expect(fieldError('phones[0].number: no number for "Bob"')?.field).toBe('phones[0].number');
    expect(fieldError('/x/foghorn.toml:3:1: something else')).toBeNull();
  });

  it('moves rows within bounds', () => {
    expect(moved([1, 2, 3], 2, -1)).toEqual([1, 3, 2]);
    expect(moved([1, 2, 3], 0, -1)).toEqual([1, 2, 3]);
    expect(moved([1, 2, 3], 2, 1)).toEqual([1, 2, 3]);
  });
});
