import { describe, expect, it } from 'vitest';

import type { PublicIncident } from './bindings/PublicIncident';
import { promiseLine, receiptLine, suggestedState } from './status';

const T = Date.parse('2026-12-02T14:00:00Z');

function publicIncident(state: PublicIncident['state']): PublicIncident {
  return {
    id: 1,
    incidentId: 7,
    title: 'API is down',
    state,
    components: {},
    createdAt: '2026-12-02T13:00:00Z',
    updatedAt: '2026-12-02T13:30:00Z',
    resolvedAt: null,
    nextUpdateAt: null,
    updates: [],
  };
}

describe('status words', () => {
  it('suggests the next state, and a new incident after a closed one', () => {
    expect(suggestedState(null)).toBe('investigating');
    expect(suggestedState(publicIncident('investigating'))).toBe('identified');
    expect(suggestedState(publicIncident('identified'))).toBe('monitoring');
    expect(suggestedState(publicIncident('monitoring'))).toBe('monitoring');
    expect(suggestedState(publicIncident('resolved'))).toBe('investigating');
    expect(suggestedState(publicIncident('scheduled'))).toBe('in_progress');
  });

  it('sums the receipts up', () => {
    expect(receiptLine([])).toBe('Not published yet');
    expect(
      receiptLine([
        { destination: 'statuspage', state: 'failed', attempts: 8, error: 'HTTP 401', receipt: null },
        { destination: 'page', state: 'published', attempts: 1, error: null, receipt: '/x' },
        { destination: 'chat', state: 'waiting', attempts: 0, error: null, receipt: null },
      ]),
    ).toBe('1/3 published · Statuspage failed: HTTP 401 · Team chat sending…');
  });

  it('counts the promise down, then says it is overdue', () => {
    const promise = { publicId: 1, incidentId: 7, title: 'API', dueAt: '2026-12-02T14:12:00Z' };
    expect(promiseLine(promise, T)).toMatch(/^Next update promised by .* — in 12 min$/);
    expect(promiseLine(promise, T + 15 * 60_000)).toMatch(/— 3 min overdue$/);
    expect(promiseLine({ ...promise, publicId: null }, T + 15 * 60_000)).toBe(
      'No public update yet — tell everyone early',
    );
  });
});
