import { describe, expect, it, vi } from 'vitest';

import { T0, incident, iso } from '../test/fixtures';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentView } from './bindings/IncidentView';
import type { TimelineKind } from './bindings/TimelineKind';
import { formatClock } from './format';
import { actionResult, evidenceOf, firstLine, holdersOf, timelineLabel } from './incidents';
import { IncidentStore } from './incidents.svelte';

const MIN = 60_000;

describe('incident wording', () => {
  it('labels timeline kinds, spelling out ones it does not know', () => {
    expect(timelineLabel('signal-cleared')).toBe('Signal cleared');
    expect(timelineLabel('assigned')).toBe('Taken');
    expect(timelineLabel('paged-backup')).toBe('Paged backup');
    expect(timelineLabel('')).toBe('Event');
  });

  it('takes the evidence from the triggered entry', () => {
    const entry = (id: number, kind: TimelineKind, detail: string) => ({ id, at: iso(0), kind, actor: 'x', detail });
    expect(evidenceOf([entry(1, 'notified', 'shown'), entry(2, 'triggered', 'HTTP 503\nlatency: 12 ms\n')])).toBe(
      'HTTP 503\nlatency: 12 ms',
    );
    expect(evidenceOf([entry(1, 'triggered', '  ')])).toBeNull();
    expect(firstLine('HTTP 503\nlatency')).toBe('HTTP 503');
  });

  it('says who has an incident, and a snooze only while it lasts', () => {
    const i = incident({
      state: 'acknowledged',
      ackedBy: 'Alice',
      assignee: 'Bob',
      snoozedUntil: iso(5 * MIN),
    });
    expect(holdersOf(i, T0).map((h) => h.text)).toEqual([
      'acked by Alice',
      `snoozed until ${formatClock(iso(5 * MIN), T0)}`,
      'taken by Bob',
    ]);
    expect(holdersOf(i, T0 + 6 * MIN).map((h) => h.kind)).toEqual(['acked', 'taken']);
    expect(holdersOf(incident(), T0)).toEqual([]);
  });

  it('says what an action did', () => {
    expect(actionResult('acknowledge', incident({ ackedBy: 'Alice' }), T0)).toBe('Acknowledged by Alice');
    expect(actionResult('resolve', incident(), T0)).toBe('Resolved');
    expect(actionResult('snooze', incident({ snoozedUntil: iso(10 * MIN) }), T0)).toBe(
      `Snoozed until ${formatClock(iso(10 * MIN), T0)}`,
    );
    expect(actionResult('reassignToMe', incident(), T0)).toBe('Taken');
  });
});

function detail(id: number, entries: number): IncidentDetail {
  return {
    incident: incident({ id }),
    signals: [],
    timeline: Array.from({ length: entries }, (_, n) => ({ id: n, at: iso(0), kind: 'notified', actor: 'foghorn', detail: '' })),
    ladder: [],
  };
}

describe('IncidentStore', () => {
  it('runs one action at a time per incident and reports the result', async () => {
    const changed: IncidentView[] = [];
    let answer: (i: IncidentView) => void = () => {};
    const act = vi.fn(() => new Promise<IncidentView>((resolve) => (answer = resolve)));
    const store = new IncidentStore(act, vi.fn(), (e) => ({ code: 'unknown', message: String(e), field: null }), (i) => changed.push(i));

    const first = store.act(1, 'acknowledge');
    expect(store.pending).toEqual({ 1: 'acknowledge' });
    expect(await store.act(1, 'resolve')).toBeNull();
    expect(act).toHaveBeenCalledTimes(1);

    answer(incident({ id: 1, state: 'acknowledged' }));
    await first;
    expect(store.pending).toEqual({});
    expect(changed.map((i) => i.state)).toEqual(['acknowledged']);
    expect(store.done[1].action).toBe('acknowledge');
    store.dispose();
  });

  it('keeps the failure until the next try, and forgets the result after a while', async () => {
    vi.useFakeTimers();
    try {
      let fail = true;
      const act = vi.fn(async (id: number) => {
        if (fail) throw { code: 'conflict', message: 'already resolved' };
        return incident({ id });
      });
      const store = new IncidentStore(act, vi.fn(), (e) => ({ ...(e as { code: 'conflict'; message: string }), field: null }), () => {}, 1_000);
      await store.act(2, 'snooze');
      expect(store.failures[2]).toEqual({ action: 'snooze', error: { code: 'conflict', message: 'already resolved', field: null } });
      fail = false;
      await store.act(2, 'snooze');
      expect(store.failures[2]).toBeUndefined();
      expect(store.done[2]).toBeDefined();
      vi.advanceTimersByTime(1_000);
      expect(store.done[2]).toBeUndefined();
      store.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads an opened detail again on its events, once more if one arrives during a read', async () => {
    const answers: ((d: IncidentDetail) => void)[] = [];
    const fetch = vi.fn(() => new Promise<IncidentDetail>((resolve) => answers.push(resolve)));
    const store = new IncidentStore(vi.fn(), fetch, () => ({ code: 'unknown', message: 'x', field: null }), () => {});

    store.apply({ type: 'incident', incident: incident({ id: 3 }) });
    expect(fetch).not.toHaveBeenCalled();

    store.open(3);
    store.apply({ type: 'incident', incident: incident({ id: 3 }) });
    store.apply({ type: 'alert', incident: incident({ id: 3 }) });
    expect(fetch).toHaveBeenCalledTimes(1);
    answers[0](detail(3, 1));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
    answers[1](detail(3, 2));
    await vi.waitFor(() => expect(store.details[3]?.timeline).toHaveLength(2));

    store.toggle(3);
    expect(store.expanded.has(3)).toBe(false);
    store.apply({ type: 'incident', incident: incident({ id: 3 }) });
    expect(fetch).toHaveBeenCalledTimes(2);
    store.dispose();
  });
});
