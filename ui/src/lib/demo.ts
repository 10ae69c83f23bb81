// Sample data for looking at the window in a plain browser: `index.html?demo` (also
// `?demo=quiet`, `?demo=paused`, `?demo=empty`, `?demo=error`, `?demo=loading`). Loaded only by a dynamic
// import in main.ts, and only when the page is not inside the Foghorn shell.
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';

import type { CheckResult } from './bindings/CheckResult';
import type { ConditionOutcome } from './bindings/ConditionOutcome';
import type { ConditionProblem } from './bindings/ConditionProblem';
import type { EditorLimits } from './bindings/EditorLimits';
import type { EngineEvent } from './bindings/EngineEvent';
import type { IncidentAction } from './bindings/IncidentAction';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentView } from './bindings/IncidentView';
import type { LatencyPoint } from './bindings/LatencyPoint';
import type { MonitorHistory } from './bindings/MonitorHistory';
import type { MonitorDraft } from './bindings/MonitorDraft';
import type { MonitorView } from './bindings/MonitorView';
import type { Mute } from './bindings/Mute';
import type { MuteChoice } from './bindings/MuteChoice';
import type { Snapshot } from './bindings/Snapshot';
import type { TimelineEntry } from './bindings/TimelineEntry';

const MIN = 60_000;

function ago(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

/** An incident as it opens: triggered, nobody on it yet. */
const NEW_INCIDENT: Omit<IncidentView, 'id' | 'dedupKey' | 'title' | 'openedAt'> = {
  severity: 'major',
  state: 'triggered',
  resolvedAt: null,
  ackedBy: null,
  ackedAt: null,
  snoozedUntil: null,
  assignee: null,
  autoResolve: true,
};

export function demoSnapshot(variant = ''): Snapshot {
  if (variant === 'empty') {
    return {
      monitors: [],
      incidents: [],
      mute: { kind: 'off' },
      paused: false,
      summary: 'No monitors configured',
      demo: false,
      notices: [],
      ringing: [],
      onCall: false,
      oncall: null,
      feeds: [],
      promises: [],
    };
  }
  const monitors: MonitorView[] = [
    {
      id: 'api',
      name: 'api',
      target: 'https://api.example.com/health',
      status: 'up',
      lastCheckedAt: ago(12_000),
      latencyMs: 142,
      lastError: null,
      since: ago(3 * 60 * MIN + 12 * MIN),
    },
    {
      id: 'flaky',
      name: 'flaky',
      target: 'http://127.0.0.1:8787/flaky',
      status: 'down',
      lastCheckedAt: ago(4_000),
      latencyMs: 3,
      lastError: 'connection refused (os error 111)',
      since: ago(2 * MIN + 10_000),
    },
    {
      id: 'status-page',
      name: 'status page',
      target: 'https://status.example.com/',
      status: 'up',
      lastCheckedAt: ago(25_000),
      latencyMs: 88,
      lastError: null,
      since: ago(26 * 60 * MIN),
    },
    {
      id: 'search',
      name: 'search',
      target: 'https://search.internal.example.com/ready',
      status: 'unknown',
      lastCheckedAt: ago(50_000),
      latencyMs: null,
      lastError: null,
      since: ago(6 * MIN),
    },
    {
      id: 'reports',
      name: 'nightly reports',
      target: 'https://reports.example.com/ping',
      status: 'paused',
      lastCheckedAt: ago(90 * MIN),
      latencyMs: 310,
      lastError: null,
      since: ago(90 * MIN),
    },
    {
      id: 'new',
      name: 'billing webhook',
      target: 'https://billing.example.com/hooks/health',
      status: 'pending',
      lastCheckedAt: null,
      latencyMs: null,
      lastError: null,
      since: null,
    },
  ];
  const incidents: IncidentView[] =
    variant === 'quiet'
      ? []
      : [
          {
            ...NEW_INCIDENT,
            id: 9,
            dedupKey: 'status-page:latency',
            title: 'status page responds slowly',
            severity: 'minor',
            state: 'resolved',
            openedAt: ago(3 * 60 * MIN),
            resolvedAt: ago(3 * 60 * MIN - 4 * MIN),
          },
          {
            ...NEW_INCIDENT,
            id: 12,
            dedupKey: 'flaky:down',
            title: 'flaky is down',
            severity: 'critical',
            openedAt: ago(2 * MIN + 10_000),
          },
          {
            ...NEW_INCIDENT,
            id: 11,
            dedupKey: 'api:latency',
            title: 'api latency above 500 ms',
            severity: 'major',
            state: 'acknowledged',
            openedAt: ago(25 * MIN),
            ackedBy: 'Alice Smith',
            ackedAt: ago(22 * MIN),
          },
          {
            ...NEW_INCIDENT,
            id: 10,
            dedupKey: 'feed:cert',
            title: 'TLS certificate for api.example.com expires in 14 days',
            severity: 'info',
            state: 'resolved',
            openedAt: ago(50 * MIN),
            resolvedAt: ago(48 * MIN),
          },
        ];
  if (variant === 'quiet') {
    monitors[1] = { ...monitors[1], status: 'up', lastError: null, latencyMs: 2 };
  }
  if (variant === 'paused') {
    return {
      monitors: monitors.map((m) => ({ ...m, status: 'paused', lastError: null, since: ago(4 * MIN) })),
      incidents,
      mute: { kind: 'indefinite' },
      paused: true,
      summary: 'Monitoring paused · 2 open incidents',
      demo: true,
      notices: [],
      ringing: [],
      onCall: true,
      oncall: null,
      feeds: [],
      promises: [],
    };
  }
  return {
    monitors,
    incidents,
    mute: variant === 'quiet' ? { kind: 'off' } : { kind: 'until', until: new Date(Date.now() + 47 * MIN).toISOString() },
    paused: false,
    summary:
      variant === 'quiet'
        ? 'No monitors down · no open incidents'
        : '1 of 6 monitors down · 2 open incidents',
    demo: true,
    notices:
      variant === 'quiet' ? [] : ['No notification daemon: alerts show here and in the log'],
    ringing: variant === 'quiet' ? [] : [12],
    onCall: true,
    oncall: null,
    feeds: [],
      promises: [],
  };
}

/** A small deterministic generator, so each demo monitor always draws the same history. */
function random(seed: string): () => number {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return () => {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    return (h >>> 0) / 4294967296;
  };
}

function share(points: readonly LatencyPoint[]): number | null {
  const checks = points.reduce((n, p) => n + p.checks, 0);
  const failures = points.reduce((n, p) => n + p.failures, 0);
  return checks === 0 ? null : 1 - failures / checks;
}

/**
 * A made-up but plausible history for a demo monitor: a daily latency wave with noise, and
 * failures that fit its story (the flaky one flaps, the status page had a short outage three
 * hours ago, the paused one stopped 90 minutes ago, the new one has none yet).
 */
export function demoHistory(monitor: MonitorView, now: number): MonitorHistory {
  const rand = random(monitor.id);
  const bucket = 5 * MIN;
  const hour = 60 * MIN;
  const base = monitor.latencyMs ?? 120;
  const latencyAt = (t: number) =>
    Math.round(base * (1 + 0.22 * Math.sin((2 * Math.PI * t) / (24 * hour))) * (0.85 + 0.3 * rand()) * (rand() < 0.03 ? 2.2 : 1));
  const stopped = monitor.status === 'paused' ? 90 * MIN : 0;
  const empty = monitor.status === 'pending';

  const recent: LatencyPoint[] = [];
  const current = Math.floor(now / bucket) * bucket;
  for (let i = 287; i >= 0 && !empty; i--) {
    const at = current - i * bucket;
    if (now - at < stopped) continue;
    if (monitor.id === 'search' && (i < 2 || (i > 200 && i < 216))) continue;
    const checks = 10;
    let failures = 0;
    if (monitor.id === 'flaky') failures = i % 12 === 7 || i % 12 === 8 || i === 0 ? checks : i % 12 === 9 ? 3 : 0;
    if (monitor.id === 'status-page' && i >= 36 && i <= 38) failures = i === 37 ? checks : 4;
    if (monitor.id === 'api' && i === 170) failures = 1;
    recent.push({
      at: new Date(at).toISOString(),
      latencyMs: failures === checks ? null : latencyAt(at),
      checks,
      failures,
    });
  }

  const hourly: LatencyPoint[] = [];
  const currentHour = Math.floor(now / hour) * hour;
  for (let i = 167; i >= 0 && !empty; i--) {
    const at = currentHour - i * hour;
    if (now - at < stopped) continue;
    const checks = 120;
    const failures =
      monitor.id === 'flaky' ? 24 + Math.floor(rand() * 8) : rand() < 0.04 ? 1 + Math.floor(rand() * 3) : 0;
    hourly.push({ at: new Date(at).toISOString(), latencyMs: latencyAt(at), checks, failures });
  }

  const week = share(hourly);
  const older = (drift: number) => (week === null ? null : Math.min(1, week + drift));
  return {
    monitorId: monitor.id,
    at: new Date(now).toISOString(),
    uptime: { last24h: share(recent), last7d: week, last30d: older(0.0004), last90d: older(0.0007) },
    recentBucketSecs: bucket / 1000,
    recent,
    hourly,
  };
}

function muteFor(choice: MuteChoice): Mute {
  const hours: Partial<Record<MuteChoice, number>> = { oneHour: 1, fourHours: 4, eightHours: 8 };
  if (choice === 'off') return { kind: 'off' };
  if (choice === 'indefinite') return { kind: 'indefinite' };
  return { kind: 'until', until: new Date(Date.now() + (hours[choice] ?? 1) * 60 * MIN).toISOString() };
}

function slug(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}

/** What the editor shows for a sample monitor: its target and a couple of conditions. */
function demoDraft(m: MonitorView): MonitorDraft {
  return {
    ...DEFAULT_DRAFT,
    name: m.name,
    url: m.target,
    interval: m.id === 'flaky' ? '5s' : '1m',
    conditions: m.id === 'api' ? ['[STATUS] == 200', '[RESPONSE_TIME] < 500'] : ['[STATUS] == 200'],
    severity: m.id === 'api' ? 'critical' : 'major',
  };
}

const DEFAULT_DRAFT: MonitorDraft = {
  name: '',
  group: null,
  url: '',
  interval: '30s',
  timeout: '10s',
  method: 'GET',
  headers: {},
  body: null,
  conditions: [],
  failureThreshold: 2,
  successThreshold: 1,
  severity: 'major',
  insecure: false,
  followRedirects: 'same-host',
  heartbeat: null,
};

const PLACEHOLDERS = ['STATUS', 'RESPONSE_TIME', 'BODY', 'IP', 'CONNECTED', 'CERTIFICATE_EXPIRATION', 'DNS_RCODE'];

/** A rough stand-in for the shell's parser: enough to show the editor's error display. */
function demoValidate(text: string): ConditionProblem | null {
  const spaced = /\s(==|!=|<=|>=|<|>)\s/.exec(text);
  if (!spaced) {
    const cramped = /==|!=|<=|>=|<|>|=/.exec(text);
    if (cramped) {
      const op = cramped[0] === '=' ? '==' : cramped[0];
      const fixed = `${text.slice(0, cramped.index).trim()} ${op} ${text.slice(cramped.index + cramped[0].length).trim()}`;
      return { message: `\`${cramped[0]}\` needs a space on both sides: write \`${fixed}\``, column: cramped.index + 1 };
    }
    return { message: 'no operator: expected one of ==, !=, <, <=, >, >= with a space on both sides', column: text.trimEnd().length + 1 };
  }
  for (const m of text.matchAll(/\[([A-Za-z_]+)\]/g)) {
    if (!PLACEHOLDERS.includes(m[1].toUpperCase())) {
      return { message: `unknown placeholder [${m[1]}]`, column: (m.index ?? 0) + 1 };
    }
  }
  return null;
}

/** Judges conditions against made-up values: 200 in 42 ms, or 503 for the flaky endpoint. */
function demoTest(draft: MonitorDraft): CheckResult {
  const down = draft.url.includes('flaky');
  const values: Record<string, string> = {
    '[STATUS]': down ? '503' : '200',
    '[RESPONSE_TIME]': '42',
    '[BODY]': down ? 'down' : 'ok',
    '[CONNECTED]': 'true',
  };
  const outcomes: ConditionOutcome[] = draft.conditions.map((condition) => {
    const [left, op, ...rest] = condition.split(/\s+/);
    const right = rest.join(' ');
    const seen = values[left.toUpperCase()] ?? '(unavailable)';
    const [a, b] = [Number(seen), Number(right)];
    const numeric = !Number.isNaN(a) && !Number.isNaN(b);
    const compare: Record<string, boolean> = {
      '==': seen === right,
      '!=': seen !== right,
      '<': numeric && a < b,
      '<=': numeric && a <= b,
      '>': numeric && a > b,
      '>=': numeric && a >= b,
    };
    return { condition, ok: compare[op] ?? false, resolved: `${left} (${seen}) ${op} ${right}` };
  });
  const ok = outcomes.every((o) => o.ok) && (outcomes.length > 0 || !down);
  return {
    at: new Date().toISOString(),
    ok,
    latencyMs: 42,
    error: ok ? null : (outcomes.find((o) => !o.ok)?.resolved ?? 'HTTP 503'),
    outcomes,
    unreachable: false,
  };
}

/** Who acts from the demo window. */
const ME = 'Alice Smith';

/** The evidence and story of a demo incident, made up from what the snapshot says. */
function demoTimeline(i: IncidentView): TimelineEntry[] {
  const opened = Date.parse(i.openedAt);
  const at = (ms: number) => new Date(opened + ms).toISOString();
  const evidence =
    i.dedupKey === 'flaky:down'
      ? 'connection refused (os error 111)\nfailed: [CONNECTED] (false) == true\n2 failed checks in a row'
      : i.dedupKey === 'api:latency'
        ? 'HTTP 200\nfailed: [RESPONSE_TIME] (742) < 500\nlatency: 742 ms\n3 failed checks in a row'
        : i.dedupKey === 'feed:cert'
          ? 'certificate for api.example.com expires on 2025-07-01\nfailed: [CERTIFICATE_EXPIRATION] (14d) > 21d'
          : 'HTTP 200\nfailed: [RESPONSE_TIME] (1310) < 1000\nlatency: 1310 ms';
  const source = `monitor ${i.dedupKey.split(':')[0]}`;
  const entries: TimelineEntry[] = [
    { id: 1, at: at(0), kind: 'triggered', actor: source, detail: evidence },
    { id: 2, at: at(1_000), kind: 'notified', actor: 'foghorn', detail: i.severity === 'critical' ? 'critical notification shown and alarm rung' : 'notification shown' },
  ];
  if (i.ackedBy && i.ackedAt) entries.push({ id: 3, at: i.ackedAt, kind: 'acknowledged', actor: i.ackedBy, detail: '' });
  if (i.snoozedUntil) entries.push({ id: 4, at: new Date(Date.parse(i.snoozedUntil) - 10 * MIN).toISOString(), kind: 'snoozed', actor: ME, detail: `quiet until ${i.snoozedUntil}` });
  if (i.assignee) entries.push({ id: 5, at: new Date().toISOString(), kind: 'assigned', actor: i.assignee, detail: `taken by ${i.assignee}` });
  if (i.resolvedAt) {
    entries.push({ id: 6, at: i.resolvedAt, kind: 'signal-cleared', actor: source, detail: 'checks pass again' });
    entries.push({ id: 7, at: i.resolvedAt, kind: 'resolved', actor: 'foghorn', detail: 'every signal cleared' });
  }
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function demoDetail(i: IncidentView): IncidentDetail {
  const monitor = i.dedupKey.split(':')[0];
  return {
    incident: i,
    signals: [
      {
        dedupKey: i.dedupKey,
        source: 'monitor',
        summary: i.title,
        severity: i.severity,
        link: null,
        startedAt: i.openedAt,
        lastSeenAt: i.resolvedAt ?? new Date().toISOString(),
        endedAt: i.resolvedAt,
      },
      ...(monitor === 'flaky'
        ? [
            {
              dedupKey: 'flaky:latency',
              source: 'monitor',
              summary: 'flaky latency above 500 ms',
              severity: 'minor' as const,
              link: null,
              startedAt: i.openedAt,
              lastSeenAt: i.openedAt,
              endedAt: i.openedAt,
            },
          ]
        : []),
    ],
    timeline: demoTimeline(i),
    ladder: [],
  };
}

function demoAct(i: IncidentView, action: IncidentAction): IncidentView {
  const now = new Date().toISOString();
  switch (action) {
    case 'acknowledge':
      return i.state === 'triggered' ? { ...i, state: 'acknowledged', ackedBy: ME, ackedAt: now, snoozedUntil: null } : i;
    case 'resolve':
      return { ...i, state: 'resolved', resolvedAt: now };
    case 'snooze':
      return { ...i, snoozedUntil: new Date(Date.now() + 10 * MIN).toISOString() };
    case 'reassignToMe':
      return { ...i, assignee: ME };
  }
}

/** The loader's bounds, as the shell serves them. */
const DEMO_LIMITS: EditorLimits = {
  interval: { minMs: 1_000, maxMs: 86_400_000, min: '1s', max: '1d' },
  timeout: { minMs: 1e-6, maxMs: 600_000, min: '1ns', max: '10m' },
  heartbeat: { minMs: 10_000, maxMs: 34_560_000_000, min: '10s', max: '400d' },
  minThreshold: 1,
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
};

export function installDemo(variant: string): void {
  const snapshot = demoSnapshot(variant);
  const drafts = new Map<string, MonitorDraft>(snapshot.monitors.map((m) => [m.id, demoDraft(m)]));

  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      switch (cmd) {
        case 'get_snapshot':
          if (variant === 'error') {
            throw { code: 'engine_unavailable', message: 'The monitoring engine is not running (it stopped 2 min ago).' };
          }
          if (variant === 'loading') return new Promise(() => {});
          return snapshot;
        case 'set_mute':
          snapshot.mute = muteFor(a.choice as MuteChoice);
          return snapshot.mute;
        case 'set_monitor_paused': {
          const i = snapshot.monitors.findIndex((m) => m.id === a.id);
          if (i === -1) throw { code: 'not_found', message: `No monitor "${String(a.id)}".` };
          const monitor: MonitorView = {
            ...snapshot.monitors[i],
            status: a.paused ? 'paused' : 'pending',
          };
          snapshot.monitors = snapshot.monitors.map((m, j) => (j === i ? monitor : m));
          return monitor;
        }
        case 'set_paused':
          snapshot.paused = Boolean(a.paused);
          return snapshot.paused;
        case 'get_monitor_history': {
          const monitor = snapshot.monitors.find((m) => m.id === a.id);
          if (!monitor) throw { code: 'not_found', message: `No monitor "${String(a.id)}".` };
          return demoHistory(monitor, Date.now());
        }
        case 'get_monitor_draft': {
          if (a.id === null) return { ...DEFAULT_DRAFT };
          const draft = drafts.get(String(a.id));
          if (!draft) throw { code: 'not_found', message: `there is no monitor named "${String(a.id)}"` };
          return structuredClone(draft);
        }
        case 'get_editor_limits':
          return DEMO_LIMITS;
        case 'validate_condition':
          return demoValidate(String(a.text));
        case 'test_monitor':
          return demoTest(a.draft as MonitorDraft);
        case 'save_monitor': {
          const draft = a.draft as MonitorDraft;
          const id = slug(draft.name);
          const original = a.original === null ? null : String(a.original);
          if (id !== original && drafts.has(id)) {
            throw { code: 'duplicate_name', message: `another monitor is already named "${draft.name}"` };
          }
          if (original !== null) drafts.delete(original);
          drafts.set(id, draft);
          const previous = snapshot.monitors.find((m) => m.id === original);
          const monitor: MonitorView = {
            id,
            name: draft.name,
            target: draft.url,
            status: previous?.status ?? 'pending',
            lastCheckedAt: previous?.lastCheckedAt ?? null,
            latencyMs: previous?.latencyMs ?? null,
            lastError: previous?.lastError ?? null,
            since: previous?.since ?? null,
          };
          snapshot.monitors = previous
            ? snapshot.monitors.map((m) => (m.id === original ? monitor : m))
            : [...snapshot.monitors, monitor];
          return id;
        }
        case 'get_incident': {
          const incident = snapshot.incidents.find((i) => i.id === a.id);
          if (!incident) throw { code: 'not_found', message: `there is no incident ${String(a.id)}` };
          return demoDetail(incident);
        }
        case 'act_on_incident': {
          const incident = snapshot.incidents.find((i) => i.id === a.id);
          if (!incident) throw { code: 'not_found', message: `there is no incident ${String(a.id)}` };
          if (incident.state === 'resolved') throw { code: 'conflict', message: `incident ${incident.id} is already resolved` };
          const next = demoAct(incident, a.action as IncidentAction);
          snapshot.incidents = snapshot.incidents.map((i) => (i.id === next.id ? next : i));
          const quiet = next.state !== 'triggered' || next.snoozedUntil !== null;
          if (quiet && snapshot.ringing.includes(next.id)) {
            snapshot.ringing = snapshot.ringing.filter((id) => id !== next.id);
            setTimeout(() => void emit('engine-event', { type: 'ringing', incidents: snapshot.ringing } satisfies EngineEvent), 0);
          }
          return new Promise((resolve) => setTimeout(() => resolve(next), 400));
        }
        case 'delete_monitor':
          drafts.delete(String(a.id));
          snapshot.monitors = snapshot.monitors.filter((m) => m.id !== a.id);
          return null;
        default:
          throw { code: 'unknown_command', message: `The demo has no command "${cmd}".` };
      }
    },
    { shouldMockEvents: true },
  );

  if (variant !== '') return;

  // The flaky endpoint flips every 30 s, like the real demo configuration.
  let down = true;
  setInterval(() => {
    down = !down;
    const now = new Date().toISOString();
    // Found by id: the editor may have added or deleted monitors around it.
    const index = snapshot.monitors.findIndex((m) => m.id === 'flaky');
    const flaky = snapshot.monitors[index];
    if (!flaky) return;
    const monitor: MonitorView = {
      ...flaky,
      status: down ? 'down' : 'up',
      lastCheckedAt: now,
      since: now,
      latencyMs: down ? 3 : 2,
      lastError: down ? 'connection refused (os error 111)' : null,
    };
    snapshot.monitors[index] = monitor;
    const incident: IncidentView = down
      ? {
          ...NEW_INCIDENT,
          id: Date.now(),
          dedupKey: 'flaky:down',
          title: 'flaky is down',
          severity: 'critical',
          openedAt: now,
        }
      : { ...(snapshot.incidents.find((i) => i.dedupKey === 'flaky:down' && i.state !== 'resolved') ?? snapshot.incidents[1]), state: 'resolved', resolvedAt: now };
    snapshot.incidents = [...snapshot.incidents.filter((i) => i.id !== incident.id), incident];
    const open = snapshot.incidents.filter((i) => i.state !== 'resolved').length;
    const summary = `${down ? '1 of 6 monitors down' : 'All 6 monitors healthy'} · ${open} open incident${open === 1 ? '' : 's'}`;
    // The flaky endpoint's incident is critical: the alarm rings while it is down.
    const ringing = snapshot.ringing.filter((id) => snapshot.incidents.some((i) => i.id === id && i.state === 'triggered'));
    snapshot.ringing = down ? [...ringing, incident.id] : ringing;
    const events: EngineEvent[] = [
      { type: 'monitor', monitor },
      down ? { type: 'alert', incident } : { type: 'incident', incident },
      { type: 'ringing', incidents: snapshot.ringing },
      { type: 'summary', summary },
    ];
    for (const event of events) void emit('engine-event', event);
  }, 30_000);
}
