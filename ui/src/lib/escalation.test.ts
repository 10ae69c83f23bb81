import { describe, expect, it } from 'vitest';

import { escalationFromForm, formFromEscalation, moved } from './escalation';

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

  it('moves rows within bounds', () => {
    expect(moved([1, 2, 3], 2, -1)).toEqual([1, 3, 2]);
    expect(moved([1, 2, 3], 0, -1)).toEqual([1, 2, 3]);
    expect(moved([1, 2, 3], 2, 1)).toEqual([1, 2, 3]);
  });
});
