// Status updates in the window: the words for receipts and promises, and which state a
// post suggests next. Pure functions; the composer component does the calls.
import type { PublicIncident } from './bindings/PublicIncident';
import type { PublicState } from './bindings/PublicState';
import type { Receipt } from './bindings/Receipt';
import type { UpdatePromise } from './bindings/UpdatePromise';
import { parseTime } from './format';

export const STATE_LABELS: Record<PublicState, string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
  scheduled: 'Scheduled',
  in_progress: 'In progress',
  verifying: 'Verifying',
  completed: 'Completed',
};

const INCIDENT_STATES: PublicState[] = ['investigating', 'identified', 'monitoring', 'resolved'];
const MAINTENANCE_STATES: PublicState[] = ['scheduled', 'in_progress', 'verifying', 'completed'];

export const DESTINATION_LABELS: Record<string, string> = {
  statuspage: 'Statuspage',
  chat: 'Team chat',
  page: 'Status page',
  webhook: 'Webhook',
};

export function isClosed(state: PublicState): boolean {
  return state === 'resolved' || state === 'completed';
}

/** The states a post to `current` may choose, in order (a new incident: the four incident states). */
export function statesAfter(current: PublicState | null): PublicState[] {
  if (current === null) return INCIDENT_STATES;
  return MAINTENANCE_STATES.includes(current) ? MAINTENANCE_STATES : INCIDENT_STATES;
}

/** What a post most likely says next: the first one "investigating", then one step on. */
export function suggestedState(current: PublicIncident | null): PublicState {
  if (current === null || isClosed(current.state)) return 'investigating';
  const order = statesAfter(current.state);
  const i = order.indexOf(current.state);
  // "monitoring" is followed by "resolved" only when someone says so: stay.
  return i >= 0 && i < order.length - 2 ? order[i + 1] : current.state;
}

/** "3/4 published · Statuspage waiting: HTTP 429 (will retry)". */
export function receiptLine(receipts: Receipt[]): string {
  if (receipts.length === 0) return 'Not published yet';
  const published = receipts.filter((r) => r.state === 'published').length;
  const parts = [`${published}/${receipts.length} published`];
  for (const r of receipts) {
    if (r.state === 'published') continue;
    const name = DESTINATION_LABELS[r.destination] ?? r.destination;
    if (r.state === 'failed') parts.push(`${name} failed${r.error ? `: ${r.error}` : ''}`);
    else if (r.error) parts.push(`${name} waiting after ${r.error}`);
    else parts.push(`${name} sending…`);
  }
  return parts.join(' · ');
}

/** Every receipt settled (published or failed for good). */
export function settled(receipts: Receipt[]): boolean {
  return receipts.every((r) => r.state !== 'waiting');
}

/** "Next update promised by 14:30 — in 12 min" / "… — 3 min overdue". */
export function promiseLine(promise: UpdatePromise, now: number): string {
  const due = parseTime(promise.dueAt);
  if (due === null) return '';
  const at = new Date(due).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const minutes = Math.round((due - now) / 60_000);
  if (promise.publicId === null) {
    return minutes > 0
      ? `No public update yet — tell everyone early (nudge in ${minutes} min)`
      : 'No public update yet — tell everyone early';
  }
  if (minutes >= 0) return `Next update promised by ${at} — in ${Math.max(minutes, 1)} min`;
  return `Next update promised by ${at} — ${-minutes} min overdue`;
}
