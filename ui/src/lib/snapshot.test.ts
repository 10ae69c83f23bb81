import { describe, expect, it } from 'vitest';

import { incident, iso, monitor, snapshot } from '../test/fixtures';
import { applyEvent, ringingIncidents, sortIncidents, upsertById } from './snapshot';

describe('applyEvent', () => {
  it('replaces a monitor with the same id, keeping its position', () => {
    const s = snapshot();
    const down = monitor({ id: 'api', status: 'down', lastError: 'timeout' });
    const next = applyEvent(s, { type: 'monitor', monitor: down });
    expect(next.monitors.map((m) => [m.id, m.status])).toEqual([
      ['api', 'down'],
      ['db', 'up'],
    ]);
    expect(next.monitors[0].lastError).toBe('timeout');
    // The input is untouched.
    expect(s.monitors[0].status).toBe('up');
  });

  it('appends a monitor it has not seen', () => {
    const next = applyEvent(snapshot(), {
      type: 'monitor',
      monitor: monitor({ id: 'web', name: 'web' }),
    });
    expect(next.monitors.map((m) => m.id)).toEqual(['api', 'db', 'web']);
  });

  it('replaces the whole list when monitors are added or removed', () => {
    const next = applyEvent(snapshot(), {
      type: 'monitors',
      monitors: [monitor({ id: 'web', name: 'web' })],
    });
    expect(next.monitors.map((m) => m.id)).toEqual(['web']);
  });

  it('replaces or appends incidents by id', () => {
    let s = snapshot({ incidents: [incident({ id: 1 })] });
    s = applyEvent(s, { type: 'incident', incident: incident({ id: 2, title: 'db is down' }) });
    s = applyEvent(s, {
      type: 'incident',
      incident: incident({ id: 1, state: 'resolved', resolvedAt: iso(0) }),
    });
    expect(s.incidents.map((i) => [i.id, i.state])).toEqual([
      [1, 'resolved'],
      [2, 'triggered'],
    ]);
  });

  it('upserts the incident of an alert like an incident event', () => {
    let s = snapshot({ incidents: [incident({ id: 1 })] });
    s = applyEvent(s, { type: 'alert', incident: incident({ id: 2, title: 'db is down' }) });
    s = applyEvent(s, { type: 'alert', incident: incident({ id: 1, state: 'acknowledged', ackedBy: 'Alice' }) });
    expect(s.incidents.map((i) => [i.id, i.state, i.ackedBy])).toEqual([
      [1, 'acknowledged', 'Alice'],
      [2, 'triggered', null],
    ]);
  });

  it('replaces the ringing incidents, and keeps the snapshot when they are the same', () => {
    let s = snapshot();
    s = applyEvent(s, { type: 'ringing', incidents: [3, 1] });
    expect(s.ringing).toEqual([3, 1]);
    expect(applyEvent(s, { type: 'ringing', incidents: [3, 1] })).toBe(s);
    s = applyEvent(s, { type: 'ringing', incidents: [] });
    expect(s.ringing).toEqual([]);
  });

  it('takes the on-call status from the schedule', () => {
    let s = snapshot();
    const status = {
      at: '2026-11-26T10:00:00Z',
      youAreOnCall: true,
      until: '2026-11-26T18:00:00Z',
      nextShift: null,
      onCallNow: ['Alice Smith'],
      overrideUntil: null,
      source: { label: 'oncall.ics', fetchedAt: '2026-11-26T09:58:00Z', ageSecs: 120, stale: false, error: null },
    };
    s = applyEvent(s, { type: 'oncall', status });
    expect(s.onCall).toBe(true);
    expect(s.oncall?.until).toBe('2026-11-26T18:00:00Z');
    s = applyEvent(s, { type: 'oncall', status: { ...status, youAreOnCall: false, until: null } });
    expect(s.onCall).toBe(false);
  });

  it('keeps one health line per feed', () => {
    let s = snapshot();
    const health = { name: 'alertmanager', kind: 'alertmanager' as const, running: true, ok: true, lastOkAt: '2026-11-26T10:00:00Z', error: null, latencyMs: 12, failures: 0, alerts: 3 };
    s = applyEvent(s, { type: 'feed', health });
    s = applyEvent(s, { type: 'feed', health: { ...health, ok: false, error: 'unreachable', failures: 2 } });
    expect(s.feeds).toEqual([{ ...health, ok: false, error: 'unreachable', failures: 2 }]);
  });

  it('updates mute, paused and summary', () => {
    let s = snapshot();
    s = applyEvent(s, { type: 'mute', mute: { kind: 'indefinite' } });
    s = applyEvent(s, { type: 'paused', paused: true });
    s = applyEvent(s, { type: 'summary', summary: '1 of 2 monitors down' });
    expect(s.mute).toEqual({ kind: 'indefinite' });
    expect(s.paused).toBe(true);
    expect(s.summary).toBe('1 of 2 monitors down');
  });

  it('adds a notice once', () => {
    let s = snapshot();
    const notice = 'No notification daemon: alerts show here and in the log';
    s = applyEvent(s, { type: 'notice', notice });
    const again = applyEvent(s, { type: 'notice', notice });
    expect(again.notices).toEqual([notice]);
    expect(again).toBe(s);
  });

  it('ignores an event kind it does not know', () => {
    const s = snapshot();
    // A newer shell may send kinds this window was not built with.
    const next = applyEvent(s, { type: 'weather', weather: 'fog' } as never);
    expect(next).toBe(s);
  });
});

describe('upsertById', () => {
  it('does not mutate the list', () => {
    const list = [{ id: 1, v: 'a' }];
    const next = upsertById(list, { id: 1, v: 'b' });
    expect(list[0].v).toBe('a');
    expect(next[0].v).toBe('b');
  });
});

describe('sortIncidents', () => {
  it('puts triggered, then acknowledged, then resolved; newest first within each', () => {
    const list = [
      incident({ id: 1, state: 'resolved', openedAt: iso(-60 * 60_000), resolvedAt: iso(-50 * 60_000) }),
      incident({ id: 2, state: 'acknowledged', openedAt: iso(-30 * 60_000) }),
      incident({ id: 3, state: 'triggered', openedAt: iso(-20 * 60_000) }),
      incident({ id: 4, state: 'resolved', openedAt: iso(-90 * 60_000), resolvedAt: iso(-5 * 60_000) }),
      incident({ id: 5, state: 'triggered', openedAt: iso(-2 * 60_000) }),
      incident({ id: 6, state: 'acknowledged', openedAt: iso(-40 * 60_000) }),
    ];
    expect(sortIncidents(list).map((i) => i.id)).toEqual([5, 3, 2, 6, 4, 1]);
    // Not sorted in place.
    expect(list[0].id).toBe(1);
  });

  it('breaks ties by id, newest first', () => {
    const list = [incident({ id: 7 }), incident({ id: 9 }), incident({ id: 8 })];
    expect(sortIncidents(list).map((i) => i.id)).toEqual([9, 8, 7]);
  });
});

describe('ringingIncidents', () => {
  it('lists the incidents the alarm rings for, most urgent first, skipping unknown ids', () => {
    const s = snapshot({
      incidents: [
        incident({ id: 1, state: 'acknowledged' }),
        incident({ id: 2, openedAt: iso(-60_000) }),
        incident({ id: 3 }),
      ],
      ringing: [1, 2, 99],
    });
    expect(ringingIncidents(s).map((i) => i.id)).toEqual([2, 1]);
    expect(ringingIncidents(snapshot())).toEqual([]);
  });
});
