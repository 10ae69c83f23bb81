// The monitor editor's form: turning a draft into fields and back, what keeps Save disabled,
// and the lines of a "Test now". No Svelte, no IPC: unit tested directly. The shell checks
// everything again on save with the configuration loader itself; these checks only catch
// the obvious early, with the loader's own bounds (`EditorLimits`, served by the shell), and
// never refuse what the loader would accept.
import type { CheckResult } from './bindings/CheckResult';
import type { ConditionProblem } from './bindings/ConditionProblem';
import type { DurationLimits } from './bindings/DurationLimits';
import type { EditorLimits } from './bindings/EditorLimits';
import type { FollowRedirects } from './bindings/FollowRedirects';
import type { MonitorDraft } from './bindings/MonitorDraft';
import type { Severity } from './bindings/Severity';

export const SEVERITIES: Severity[] = ['critical', 'major', 'minor', 'info'];
export const REDIRECTS: { value: FollowRedirects; label: string }[] = [
  { value: 'same-host', label: 'Same host only' },
  { value: 'any', label: 'Any host' },
  { value: 'none', label: 'Never (report the redirect)' },
];

export interface ConditionRow {
  key: number;
  text: string;
  /** What the shell said is wrong with `text`, once it has answered. */
  problem: ConditionProblem | null;
  /** Typed since the last answer: Save waits for the verdict. */
  pending: boolean;
}

export interface HeaderRow {
  key: number;
  name: string;
  value: string;
}

/** The draft as the form holds it: optional text as '' and lists as keyed rows. */
export interface EditorForm {
  name: string;
  group: string;
  url: string;
  interval: string;
  timeout: string;
  method: string;
  headers: HeaderRow[];
  body: string;
  conditions: ConditionRow[];
  failureThreshold: number | null;
  successThreshold: number | null;
  severity: Severity;
  insecure: boolean;
  followRedirects: FollowRedirects;
  heartbeat: string;
}

let nextKey = 0;

/** A key for a new list row, unique for the page's life. */
export function rowKey(): number {
  nextKey += 1;
  return nextKey;
}

export function conditionRow(text = ''): ConditionRow {
  return { key: rowKey(), text, problem: null, pending: false };
}

export function formFromDraft(draft: MonitorDraft): EditorForm {
  return {
    name: draft.name,
    group: draft.group ?? '',
    url: draft.url,
    interval: draft.interval,
    timeout: draft.timeout,
    method: draft.method.toUpperCase(),
    headers: Object.entries(draft.headers).map(([name, value]) => ({
      key: rowKey(),
      name,
      value: value ?? '',
    })),
    body: draft.body ?? '',
    conditions: draft.conditions.map((c) => conditionRow(c)),
    failureThreshold: draft.failureThreshold,
    successThreshold: draft.successThreshold,
    severity: draft.severity,
    insecure: draft.insecure,
    followRedirects: draft.followRedirects,
    heartbeat: draft.heartbeat ?? '',
  };
}

function optional(text: string): string | null {
  return text.trim() === '' ? null : text.trim();
}

/** The draft to send: blank condition and header rows are left out. */
export function draftFromForm(form: EditorForm): MonitorDraft {
  const headers: Record<string, string> = {};
  for (const h of form.headers) {
    if (h.name.trim() !== '') headers[h.name.trim()] = h.value;
  }
  return {
    name: form.name.trim(),
    group: optional(form.group),
    url: form.url.trim(),
    interval: form.interval.trim(),
    timeout: form.timeout.trim(),
    method: form.method,
    headers,
    body: form.body === '' ? null : form.body,
    conditions: form.conditions.map((c) => c.text.trim()).filter((c) => c !== ''),
    failureThreshold: form.failureThreshold ?? 0,
    successThreshold: form.successThreshold ?? 0,
    severity: form.severity,
    insecure: form.insecure,
    followRedirects: form.followRedirects,
    heartbeat: optional(form.heartbeat),
  };
}

const UNIT_MS: Record<string, number> = {};
for (const [ms, names] of [
  [1e-6, 'nanos nsec ns'],
  [1e-3, 'usec us µs'],
  [1, 'millis msec ms'],
  [1_000, 'seconds second secs sec s'],
  [60_000, 'minutes minute min mins m'],
  [3_600_000, 'hours hour hr hrs h'],
  [86_400_000, 'days day d'],
  [604_800_000, 'weeks week wk wks w'],
  [2_630_016_000, 'months month M'],
  [31_557_600_000, 'years year yr yrs y'],
] as const) {
  for (const name of names.split(' ')) UNIT_MS[name] = ms;
}

/**
 * Milliseconds in a duration written the way the configuration takes it (`30s`, `1h 30m`,
 * `1.5h`), or why it cannot be read.
 */
export function parseDuration(text: string): { ms: number } | { problem: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { problem: 'is required, e.g. 30s' };
  const span = /(\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)\s*/y;
  let ms = 0;
  let at = 0;
  while (at < trimmed.length) {
    span.lastIndex = at;
    const m = span.exec(trimmed);
    if (!m) return { problem: `${JSON.stringify(trimmed)} is not a duration; write it like 30s, 5m or 1h` };
    const [, number, unit] = m;
    if (unit === '') return { problem: `needs a unit: ${number}s, ${number}m or ${number}h` };
    const factor = UNIT_MS[unit];
    if (factor === undefined) return { problem: `${JSON.stringify(unit)} is not a time unit; use s, m, h or d` };
    ms += Number(number) * factor;
    at = span.lastIndex;
  }
  return { ms };
}

/** One reason Save is off, attached to the field it is about. */
export interface FieldProblem {
  field: 'name' | 'url' | 'interval' | 'timeout' | 'heartbeat' | 'thresholds' | 'conditions' | 'headers';
  message: string;
}

function durationProblem(
  field: 'interval' | 'timeout' | 'heartbeat',
  label: string,
  text: string,
  limits: DurationLimits,
): FieldProblem | null {
  const parsed = parseDuration(text);
  if ('problem' in parsed) return { field, message: `${label} ${parsed.problem}` };
  if (parsed.ms < limits.minMs) {
    // A minimum under a millisecond means "anything but nothing".
    const least = limits.minMs < 1 ? 'must be more than 0s' : `must be at least ${limits.min}`;
    return { field, message: `${label} ${least}` };
  }
  return parsed.ms > limits.maxMs ? { field, message: `${label} must be at most ${limits.max}` } : null;
}

function isCount(n: number | null, least: number): boolean {
  return n !== null && Number.isInteger(n) && n >= least;
}

/** Everything in the form that the shell would refuse anyway, in the order of the fields. */
export function formProblems(form: EditorForm, limits: EditorLimits): FieldProblem[] {
  const problems: (FieldProblem | null)[] = [];
  if (form.name.trim() === '') problems.push({ field: 'name', message: 'The monitor needs a name' });
  else if (!/[\p{L}\p{N}]/u.test(form.name)) {
    problems.push({ field: 'name', message: 'The name needs at least one letter or digit' });
  }
  const heartbeat = form.heartbeat.trim() !== '';
  const url = form.url.trim();
  if (heartbeat && url !== '') {
    problems.push({ field: 'url', message: 'A heartbeat monitor is pinged, not polled: clear the URL or the heartbeat' });
  } else if (!heartbeat && url === '') {
    problems.push({ field: 'url', message: 'The URL is required, e.g. https://api.example.com/health' });
  } else if (!heartbeat && !/^(https?|tcp|dns):\/\/[^/\s]/i.test(url)) {
    problems.push({ field: 'url', message: 'The URL must start with http://, https://, tcp:// or dns:// and name a host' });
  }
  problems.push(durationProblem('interval', 'Interval', form.interval, limits.interval));
  problems.push(durationProblem('timeout', 'Timeout', form.timeout, limits.timeout));
  if (heartbeat) {
    problems.push(durationProblem('heartbeat', 'Heartbeat', form.heartbeat, limits.heartbeat));
  }
  const least = limits.minThreshold;
  if (!isCount(form.failureThreshold, least) || !isCount(form.successThreshold, least)) {
    problems.push({ field: 'thresholds', message: `Thresholds must be whole numbers, at least ${least}` });
  }
  const names = form.headers.map((h) => h.name.trim()).filter((n) => n !== '');
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length) {
    problems.push({ field: 'headers', message: 'A header is listed twice' });
  } else if (names.some((n) => !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n))) {
    problems.push({ field: 'headers', message: 'A header name has a character headers cannot have' });
  }
  const bad = form.conditions.findIndex((c) => c.problem !== null && c.text.trim() !== '');
  if (bad !== -1) problems.push({ field: 'conditions', message: `Condition ${bad + 1} is invalid` });
  return problems.filter((p): p is FieldProblem => p !== null);
}

/**
 * Where the form shows a refusal whose `field` the shell named (the key as the file writes
 * it: `interval`, `failure_threshold`, `conditions[1]`); `null` for a key the form has no
 * place for, whose message then goes below the form.
 */
export function formField(field: string | null): FieldProblem['field'] | null {
  if (field === null) return null;
  const key = field.replace(/\[\d+\]$/, '');
  switch (key) {
    case 'name':
    case 'url':
    case 'interval':
    case 'timeout':
    case 'heartbeat':
    case 'conditions':
    case 'headers':
      return key;
    case 'failure_threshold':
    case 'success_threshold':
      return 'thresholds';
    default:
      return null;
  }
}

/** The condition and a caret under the offending character (columns count characters). */
export function caret(text: string, column: number): { text: string; pointer: string } {
  const chars = Array.from(text);
  const before = chars.slice(0, Math.max(0, column - 1));
  // Tabs are copied so the caret stays under the right character whatever their width.
  const pad = before.map((c) => (c === '\t' ? '\t' : ' ')).join('');
  return { text, pointer: `${pad}^` };
}

export interface TestLine {
  ok: boolean;
  text: string;
}

/**
 * One line per condition with the value it saw (`[STATUS] (503) == 200`), then the transport
 * error when it is not one of those lines — what `foghorn check` prints.
 */
export function testLines(result: CheckResult): TestLine[] {
  const lines: TestLine[] = result.outcomes.map((o) => ({ ok: o.ok, text: o.resolved }));
  if (result.error !== null && !result.outcomes.some((o) => o.resolved === result.error)) {
    lines.push({ ok: false, text: result.error });
  }
  if (lines.length === 0) {
    lines.push({ ok: result.ok, text: result.ok ? 'Healthy (no conditions: any 2xx answer or a connection)' : 'Failed' });
  }
  return lines;
}

/** The summary under the lines: passed or failed, and how fast. */
export function testSummary(result: CheckResult): string {
  const latency = result.latencyMs === null ? '' : ` in ${result.latencyMs} ms`;
  return `${result.ok ? 'Passed' : 'Failed'}${latency}`;
}

/**
 * Calls the latest function given to `run` once `ms` have passed without another call, per
 * key: each condition field waits for its own pause in typing.
 */
export class Debouncer<K> {
  readonly #ms: number;
  #timers = new Map<K, ReturnType<typeof setTimeout>>();

  constructor(ms: number) {
    this.#ms = ms;
  }

  run(key: K, fn: () => void): void {
    this.cancel(key);
    this.#timers.set(
      key,
      setTimeout(() => {
        this.#timers.delete(key);
        fn();
      }, this.#ms),
    );
  }

  cancel(key: K): void {
    const t = this.#timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(key);
  }

  cancelAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
