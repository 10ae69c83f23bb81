// The feed list: each configured feed (and the on-call calendar, which is read the same way)
// with its state, last good poll, error, latency and alert count, from the snapshot and its
// `feed` events. No Svelte, no IPC: unit tested directly.
import type { FeedHealth } from './bindings/FeedHealth';
import type { FeedKind } from './bindings/FeedKind';
import type { MonitorStatus } from './bindings/MonitorStatus';
import type { Snapshot } from './bindings/Snapshot';

/**
 * `ok`: the last poll answered; `failing`: it did not (`error` says why); `waiting`: the
 * first poll has not answered yet; `stopped`: the feed could not start from its configuration.
 */
export type FeedState = 'ok' | 'failing' | 'waiting' | 'stopped';

export interface FeedRow {
  /** Unique in the list. */
  key: string;
  name: string;
  /** What it reads, in words: "Alertmanager", "On-call calendar". */
  kind: string;
  state: FeedState;
  /** When a poll last answered. */
  lastOkAt: string | null;
  error: string | null;
  latencyMs: number | null;
  /**
   * Alerts it reported at its last answer; `null` before any answer (silence is not zero
   * alerts) and for the calendar, which has none to report.
   */
  alerts: number | null;
  /** Failed polls in a row. */
  failures: number;
}

const KINDS: Record<FeedKind, string> = {
  alertmanager: 'Alertmanager',
  pagerduty: 'PagerDuty',
  datadog: 'Datadog',
  honeybadger: 'Honeybadger',
  json: 'JSON feed',
};

/** The monitor colours each feed state is shown in. */
export const PILL_TONES: Record<FeedState, MonitorStatus> = {
  ok: 'up',
  failing: 'down',
  waiting: 'pending',
  stopped: 'down',
};

export const STATE_LABELS: Record<FeedState, string> = {
  ok: 'ok',
  failing: 'failing',
  waiting: 'waiting',
  stopped: 'not running',
};

export function feedState(h: FeedHealth): FeedState {
  if (!h.running) return 'stopped';
  if (h.ok) return 'ok';
  // Failures are counted from the first poll on and only reset by an answer.
  return h.failures > 0 ? 'failing' : 'waiting';
}

function feedRow(h: FeedHealth): FeedRow {
  return {
    key: `feed:${h.name}`,
    name: h.name,
    kind: KINDS[h.kind] ?? h.kind,
    state: feedState(h),
    lastOkAt: h.lastOkAt,
    error: h.error,
    latencyMs: h.latencyMs,
    alerts: h.lastOkAt === null ? null : h.alerts,
    failures: h.failures,
  };
}

/** The feeds by name, then the on-call calendar when one is configured. */
export function feedRows(snapshot: Snapshot): FeedRow[] {
  const rows = [...snapshot.feeds].sort((a, b) => a.name.localeCompare(b.name)).map(feedRow);
  const source = snapshot.oncall?.source;
  // Without a calendar the status is still there, with no address.
  if (source && source.label !== '') {
    // The calendar's address may carry a secret token: it is named, not shown.
    rows.push({
      key: 'oncall',
      name: 'on-call',
      kind: 'On-call calendar',
      state: source.error !== null ? 'failing' : source.fetchedAt === null ? 'waiting' : 'ok',
      lastOkAt: source.fetchedAt,
      error: source.error,
      latencyMs: null,
      alerts: null,
      failures: source.error !== null ? 1 : 0,
    });
  }
  return rows;
}

/**
 * The tab's badge: how many are failing or stopped (`bad`; `more` is the word a screen
 * reader hears after the number, which the narrow tab row has no room to show), else how
 * many there are.
 */
export function feedsBadge(rows: FeedRow[]): { count: number; bad: boolean; more: string } | null {
  if (rows.length === 0) return null;
  const bad = rows.filter((r) => r.state === 'failing' || r.state === 'stopped').length;
  return bad > 0 ? { count: bad, bad: true, more: ' failing' } : { count: rows.length, bad: false, more: '' };
}
