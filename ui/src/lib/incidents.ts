// How incidents read in the window: timeline labels, the evidence, who has an incident, what
// an action is called. Pure functions: no Svelte, no IPC.
import type { IncidentAction } from './bindings/IncidentAction';
import type { IncidentView } from './bindings/IncidentView';
import type { TimelineEntry } from './bindings/TimelineEntry';
import type { TimelineKind } from './bindings/TimelineKind';
import { formatClock, parseTime } from './format';

/** Every kind the core writes has a label here: the type makes a new kind a compile error. */
const KIND_LABELS: Record<TimelineKind, string> = {
  triggered: 'Triggered',
  joined: 'Signal joined',
  retriggered: 'Triggered again',
  notified: 'Notified',
  acknowledged: 'Acknowledged',
  snoozed: 'Snoozed',
  assigned: 'Taken',
  'signal-cleared': 'Signal cleared',
  resolved: 'Resolved',
  escalated: 'Escalated',
  'escalation-skipped': 'Escalation skipped',
  handover: 'Ladder handed over',
  'message-sent': 'Message sent',
  'message-failed': 'Message failed',
  'feed-ack': 'Acknowledged in the feed',
  'feed-ignored': 'Claim ignored',
  'status-update': 'Status update',
  'status-record': 'Public updates',
  'postmortem-published': 'Postmortem published',
  letter: 'Customer letter',
  other: 'Event',
};

/** A timeline entry's kind as a person reads it; a kind from a newer shell is spelled out. */
export function timelineLabel(kind: string): string {
  const known = (KIND_LABELS as Record<string, string | undefined>)[kind];
  if (known) return known;
  const words = kind.replace(/[-_]+/g, ' ').trim();
  return words.length > 0 ? words[0].toUpperCase() + words.slice(1) : 'Event';
}

/** The evidence: the detail of the entry that opened the incident, or null if there is none. */
export function evidenceOf(timeline: readonly TimelineEntry[]): string | null {
  const opened = timeline.find((e) => e.kind === 'triggered' && e.detail.trim() !== '');
  return opened ? opened.detail.trim() : null;
}

/** The first line of a detail, for the timeline entry whose full text is shown elsewhere. */
export function firstLine(text: string): string {
  const i = text.indexOf('\n');
  return (i === -1 ? text : text.slice(0, i)).trim();
}

/** Snoozed now: `snoozedUntil` lies in the future. */
export function isSnoozed(incident: IncidentView, now: number): boolean {
  const until = parseTime(incident.snoozedUntil);
  return until !== null && until > now;
}

/** Who has the incident and how quiet it is: "acked by Alice", "snoozed until 14:05", … */
export interface Holder {
  kind: 'acked' | 'snoozed' | 'taken';
  text: string;
  testid: string;
}

export function holdersOf(incident: IncidentView, now: number): Holder[] {
  const out: Holder[] = [];
  if (incident.ackedBy) {
    out.push({ kind: 'acked', text: `acked by ${incident.ackedBy}`, testid: 'incident-acked-by' });
  }
  if (incident.state !== 'resolved' && incident.snoozedUntil && isSnoozed(incident, now)) {
    out.push({
      kind: 'snoozed',
      text: `snoozed until ${formatClock(incident.snoozedUntil, now)}`,
      testid: 'incident-snoozed-until',
    });
  }
  if (incident.assignee) {
    out.push({ kind: 'taken', text: `taken by ${incident.assignee}`, testid: 'incident-assignee' });
  }
  return out;
}

/** The words for each action: the button, the button while it runs, and the failure. */
export const ACTION_WORDS: Record<IncidentAction, { label: string; busy: string; verb: string }> = {
  acknowledge: { label: 'Acknowledge', busy: 'Acknowledging…', verb: 'acknowledge' },
  snooze: { label: 'Snooze 10 min', busy: 'Snoozing…', verb: 'snooze' },
  reassignToMe: { label: 'Take it', busy: 'Taking…', verb: 'take' },
  resolve: { label: 'Resolve', busy: 'Resolving…', verb: 'resolve' },
};

/** What an action did, said after it succeeded: "Resolved", "Snoozed until 14:15", … */
export function actionResult(action: IncidentAction, incident: IncidentView, now: number): string {
  switch (action) {
    case 'acknowledge':
      return incident.ackedBy ? `Acknowledged by ${incident.ackedBy}` : 'Acknowledged';
    case 'resolve':
      return 'Resolved';
    case 'snooze':
      return incident.snoozedUntil
        ? `Snoozed until ${formatClock(incident.snoozedUntil, now)}`
        : 'Snoozed';
    case 'reassignToMe':
      return incident.assignee ? `Taken by ${incident.assignee}` : 'Taken';
  }
}
