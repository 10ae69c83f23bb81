// Human-readable times and numbers for a compact window. All functions take `now`
// explicitly so they are deterministic and easy to test.
import type { OncallStatus } from './bindings/OncallStatus';
import type { IncidentView } from './bindings/IncidentView';
import type { MonitorStatus } from './bindings/MonitorStatus';
import type { Mute } from './bindings/Mute';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** A length of time, short: "45 s", "3 min", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const d = Math.max(0, ms);
  if (d < MINUTE) return `${Math.floor(d / SECOND)} s`;
  if (d < HOUR) return `${Math.floor(d / MINUTE)} min`;
  if (d < DAY) {
    const h = Math.floor(d / HOUR);
    const m = Math.floor((d % HOUR) / MINUTE);
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  const days = Math.floor(d / DAY);
  const h = Math.floor((d % DAY) / HOUR);
  return h === 0 ? `${days} d` : `${days} d ${h} h`;
}

/** "just now", "40 s ago", "3 min ago"; "—" for no time. Future times count as now. */
export function formatAgo(iso: string | null, now: number): string {
  const t = parseTime(iso);
  if (t === null) return '—';
  const d = now - t;
  if (d < 5 * SECOND) return 'just now';
  return `${formatDuration(d)} ago`;
}

export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function pad2(n: number): string {
  return n.toString().padStart(2, '0');
}

/**
 * A wall-clock time in the local zone: "14:05"; "tomorrow 02:05" when it falls on the next
 * day, and the date ("Jun 3, 14:05"-like, locale-dependent) further out.
 */
export function formatClock(iso: string, now: number): string {
  const t = parseTime(iso);
  if (t === null) return iso;
  const at = new Date(t);
  const hm = `${pad2(at.getHours())}:${pad2(at.getMinutes())}`;
  const today = new Date(now);
  const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const dayDiff = Math.round((startOfDay(at) - startOfDay(today)) / DAY);
  if (dayDiff === 0) return hm;
  if (dayDiff === 1) return `tomorrow ${hm}`;
  if (dayDiff === -1) return `yesterday ${hm}`;
  const date = at.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return `${date}, ${hm}`;
}

/** "Muted until 14:05", "Muted until you unmute", or null when not muted. */
export function muteLabel(mute: Mute, now: number): string | null {
  switch (mute.kind) {
    case 'off':
      return null;
    case 'until':
      return `Muted until ${formatClock(mute.until, now)}`;
    case 'indefinite':
      return 'Muted until you unmute';
  }
}

/** "open 3 min" for an open incident, "lasted 2 min" for a resolved one. */
export function incidentAge(incident: IncidentView, now: number): string {
  const opened = parseTime(incident.openedAt);
  if (opened === null) return '';
  if (incident.state === 'resolved') {
    const resolved = parseTime(incident.resolvedAt);
    return resolved === null ? 'resolved' : `lasted ${formatDuration(resolved - opened)}`;
  }
  return `open ${formatDuration(now - opened)}`;
}

const STATUS_SINCE: Record<MonitorStatus, string> = {
  up: 'Up',
  down: 'Down',
  pending: 'Pending',
  paused: 'Paused',
  unknown: 'Unknown',
};

/** "Down for 3 min" — how long the monitor has been in its status. */
export function statusSince(status: MonitorStatus, since: string | null, now: number): string {
  const t = parseTime(since);
  if (status === 'pending' && t === null) return 'Waiting for the first check';
  if (t === null) return STATUS_SINCE[status];
  return `${STATUS_SINCE[status]} for ${formatDuration(now - t)}`;
}

/** Time left as a clock: "3:12", "1:02:05"; "0:00" once it is due. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / SECOND));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad2(m)}:${pad2(s)}` : `${m}:${pad2(s)}`;
}

/** "You are on call until 18:00", or without an end "You are on call". */
export function onCallLine(status: OncallStatus | null, now: number): string {
  return status?.until ? `You are on call until ${formatClock(status.until, now)}` : 'You are on call';
}

/**
 * Where the OS's Do Not Disturb / Focus can hold back a notification and no app may bypass
 * it, say so: the alarm sound still plays. On Linux the common daemons show critical
 * notifications through Do Not Disturb, so nothing needs saying there.
 */
export function dndNote(userAgent: string): string | null {
  if (/Mac OS X|Macintosh/.test(userAgent)) {
    return 'Focus can hide the notification; the alarm sound still plays.';
  }
  if (/Windows/.test(userAgent)) {
    return 'Do not disturb can hide the notification; the alarm sound still plays.';
  }
  return null;
}
