// The escalation settings page's form: a draft turned into rows and back. No Svelte, no IPC:
// unit tested directly. The shell checks the draft with the configuration loader itself on
// save, and names the field a refusal is about.
import type { EscalationDraft } from './bindings/EscalationDraft';
import type { Severity } from './bindings/Severity';
import { rowKey } from './editor';

export const ACTIONS: { value: string; label: string }[] = [
  { value: 'chat', label: 'Post in chat' },
  { value: 'sms', label: 'Text the on-call' },
  { value: 'call', label: 'Call the on-call' },
  { value: 'pagerduty', label: 'Trigger PagerDuty' },
  { value: 'webhook', label: 'Signed webhook' },
];

export interface StepRow {
  key: number;
  after: string;
  action: string;
  /** '' for every incident. */
  minSeverity: Severity | '';
  unacknowledged: boolean;
  nobodyOnline: boolean;
  url: string;
  secret: string;
}

export interface PhoneRow {
  key: number;
  name: string;
  number: string;
}

export interface EscalationForm {
  steps: StepRow[];
  onlineWithin: string;
  /** Comma-separated, as typed. */
  mention: string;
  phones: PhoneRow[];
}

export function stepRow(over: Partial<StepRow> = {}): StepRow {
  return {
    key: rowKey(),
    after: '0s',
    action: 'chat',
    minSeverity: '',
    unacknowledged: true,
    nobodyOnline: false,
    url: '',
    secret: '',
    ...over,
  };
}

export function phoneRow(name = '', number = ''): PhoneRow {
  return { key: rowKey(), name, number };
}

export function formFromEscalation(draft: EscalationDraft): EscalationForm {
  return {
    steps: draft.steps.map((s) =>
      stepRow({
        after: s.after,
        action: s.action,
        minSeverity: (s.minSeverity ?? '') as Severity | '',
        unacknowledged: s.unacknowledged,
        nobodyOnline: s.nobodyOnline,
        url: s.url ?? '',
        secret: s.secret ?? '',
      }),
    ),
    onlineWithin: draft.onlineWithin,
    mention: draft.mention.join(', '),
    phones: draft.phones.map((p) => phoneRow(p.name, p.number)),
  };
}

export function escalationFromForm(form: EscalationForm): EscalationDraft {
  const text = (s: string): string | null => (s.trim() === '' ? null : s.trim());
  return {
    steps: form.steps.map((s) => {
      const webhook = s.action === 'webhook';
      return {
        after: s.after.trim(),
        action: s.action,
        minSeverity: s.minSeverity === '' ? null : s.minSeverity,
        unacknowledged: s.unacknowledged,
        nobodyOnline: s.nobodyOnline,
        url: webhook ? text(s.url) : null,
        secret: webhook ? text(s.secret) : null,
      };
    }),
    onlineWithin: form.onlineWithin.trim(),
    mention: form.mention
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== ''),
    phones: form.phones.map((p) => ({ name: p.name.trim(), number: p.number.trim() })),
  };
}

/** Moves the row at `from` by `by` places (-1 up, 1 down); out of range changes nothing. */
export function moved<T>(rows: T[], from: number, by: number): T[] {
  const to = from + by;
  if (from < 0 || from >= rows.length || to < 0 || to >= rows.length) return rows;
  const next = [...rows];
  const [row] = next.splice(from, 1);
  next.splice(to, 0, row);
  return next;
}
