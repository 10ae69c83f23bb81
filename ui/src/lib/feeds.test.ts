import { describe, expect, it } from 'vitest';

import { feedRows, feedsBadge, feedState } from './feeds';
import { feed, iso, snapshot } from '../test/fixtures';

describe('feedState', () => {
  it.each([
    ['an answered poll', feed(), 'ok'],
    ['a failed poll', feed({ ok: false, failures: 2, error: 'connection refused' }), 'failing'],
    ['no poll answered yet', feed({ ok: false, lastOkAt: null, latencyMs: null }), 'waiting'],
    ['a feed that could not start', feed({ running: false, ok: false, error: 'no token' }), 'stopped'],
  ] as const)('%s is %s', (_, health, state) => {
    expect(feedState(health)).toBe(state);
  });
});

describe('feedRows', () => {
  it('lists the feeds by name with their kind, then the on-call calendar', () => {
    const rows = feedRows(
      snapshot({
        feeds: [feed({ name: 'pd', kind: 'pagerduty', alerts: 3 }), feed({ name: 'am' })],
        oncall: {
          at: iso(0),
          youAreOnCall: false,
          until: null,
          nextShift: null,
          onCallNow: [],
          overrideUntil: null,
          source: { label: 'https://cal.example/secret-token.ics', fetchedAt: iso(-60_000), ageSecs: 60, stale: true, error: 'HTTP 503' },
        },
      }),
    );
    expect(rows.map((r) => [r.name, r.kind, r.state, r.alerts])).toEqual([
      ['am', 'Alertmanager', 'ok', 0],
      ['pd', 'PagerDuty', 'ok', 3],
      ['on-call', 'On-call calendar', 'failing', null],
    ]);
    // The calendar's address may hold a secret: it is not in the row.
    expect(JSON.stringify(rows)).not.toContain('secret-token');
  });

  it('counts no alerts for a feed that never answered: silence is not calm', () => {
    const [row] = feedRows(snapshot({ feeds: [feed({ ok: false, failures: 4, lastOkAt: null, error: 'refused' })] }));
    expect(row).toMatchObject({ state: 'failing', alerts: null, error: 'refused' });
  });

  it('has no calendar row without a schedule', () => {
    expect(feedRows(snapshot())).toEqual([]);
    // The shell sends a status without an address when no calendar is configured.
    const none = { label: '', fetchedAt: null, ageSecs: null, stale: true, error: null };
    const status = { at: iso(0), youAreOnCall: false, until: null, nextShift: null, onCallNow: [], overrideUntil: null };
    expect(feedRows(snapshot({ oncall: { ...status, source: none } }))).toEqual([]);
    const fetching = { ...none, label: 'oncall.ics' };
    expect(feedRows(snapshot({ oncall: { ...status, source: fetching } }))[0]?.state).toBe('waiting');
  });
});

describe('feedsBadge', () => {
  it('counts the feeds, or the failing ones', () => {
    expect(feedsBadge([])).toBeNull();
    expect(feedsBadge(feedRows(snapshot({ feeds: [feed(), feed({ name: 'b' })] })))).toEqual({ count: 2, bad: false, more: '' });
    const failing = feedRows(snapshot({ feeds: [feed(), feed({ name: 'b', running: false, ok: false })] }));
    expect(feedsBadge(failing)).toEqual({ count: 1, bad: true, more: ' failing' });
  });
});
