// Pure functions over the snapshot: applying an `EngineEvent` and ordering for display.
// No Svelte, no IPC: unit tested directly.
import type { EngineEvent } from './bindings/EngineEvent';
import type { IncidentState } from './bindings/IncidentState';
import type { IncidentView } from './bindings/IncidentView';
import type { Snapshot } from './bindings/Snapshot';

/** Replace the item with the same id, or append it. Never mutates `list`. */
export function upsertById<T extends { id: string | number }>(list: readonly T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i === -1) return [...list, item];
  const next = list.slice();
  next[i] = item;
  return next;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The snapshot after `event`. Returns the same object when nothing changed. */
export function applyEvent(snapshot: Snapshot, event: EngineEvent): Snapshot {
  switch (event.type) {
    case 'monitor':
      return { ...snapshot, monitors: upsertById(snapshot.monitors, event.monitor) };
    case 'monitors':
      return { ...snapshot, monitors: event.monitors };
    case 'incident':
    case 'alert':
      // An alert is the loud twin of `incident`: the same incident, for the person on call.
      return { ...snapshot, incidents: upsertById(snapshot.incidents, event.incident) };
    case 'ringing':
      return sameIds(snapshot.ringing, event.incidents)
        ? snapshot
        : { ...snapshot, ringing: event.incidents };
    case 'feed':
      return {
        ...snapshot,
        feeds: [...snapshot.feeds.filter((f) => f.name !== event.health.name), event.health].sort((a, b) =>
          a.name.localeCompare(b.name),
        ),
      };
    case 'oncall':
      return { ...snapshot, oncall: event.status, onCall: event.status.youAreOnCall };
    case 'mute':
      return { ...snapshot, mute: event.mute };
    case 'paused':
      return snapshot.paused === event.paused ? snapshot : { ...snapshot, paused: event.paused };
    case 'summary':
      return snapshot.summary === event.summary
        ? snapshot
        : { ...snapshot, summary: event.summary };
    case 'promises':
      return { ...snapshot, promises: event.promises };
    case 'notice':
      return snapshot.notices.includes(event.notice)
        ? snapshot
        : { ...snapshot, notices: [...snapshot.notices, event.notice] };
    default:
      // An event kind from a newer shell: keep what we have rather than break.
      return snapshot;
  }
}

const STATE_RANK: Record<IncidentState, number> = {
  triggered: 0,
  acknowledged: 1,
  resolved: 2,
};

function time(iso: string | null): number {
  if (iso === null) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Open incidents first: triggered, then acknowledged, then resolved. Within a state the
 * newest first (by opening time; resolved ones by resolution time), then by id.
 */
export function sortIncidents(incidents: readonly IncidentView[]): IncidentView[] {
  return incidents.slice().sort((a, b) => {
    const byState = STATE_RANK[a.state] - STATE_RANK[b.state];
    if (byState !== 0) return byState;
    const key = (x: IncidentView) => (x.state === 'resolved' ? time(x.resolvedAt) : time(x.openedAt));
    const byTime = key(b) - key(a);
    if (byTime !== 0) return byTime;
    return b.id - a.id;
  });
}

export function isOpen(incident: IncidentView): boolean {
  return incident.state !== 'resolved';
}

/**
 * The incidents the alarm rings for, most urgent first. An id the snapshot does not hold
 * (yet) is left out: its `incident` event is on its way.
 */
export function ringingIncidents(snapshot: Snapshot): IncidentView[] {
  const ringing = new Set(snapshot.ringing);
  return sortIncidents(snapshot.incidents.filter((i) => ringing.has(i.id)));
}
