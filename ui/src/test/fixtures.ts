import type { EditorLimits } from '../lib/bindings/EditorLimits';
import type { FeedHealth } from '../lib/bindings/FeedHealth';
import type { IncidentView } from '../lib/bindings/IncidentView';
import type { MonitorView } from '../lib/bindings/MonitorView';
import type { Snapshot } from '../lib/bindings/Snapshot';

export const T0 = Date.parse('2025-06-01T12:00:00Z');

/** The loader's bounds as the shell serves them (`get_editor_limits`). */
export const LIMITS: EditorLimits = {
  interval: { minMs: 1_000, maxMs: 86_400_000, min: '1s', max: '1d' },
  timeout: { minMs: 1e-6, maxMs: 600_000, min: '1ns', max: '10m' },
  heartbeat: { minMs: 10_000, maxMs: 34_560_000_000, min: '10s', max: '400d' },
  minThreshold: 1,
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
};

export function iso(offsetMs: number): string {
  return new Date(T0 + offsetMs).toISOString();
}

export function monitor(over: Partial<MonitorView> = {}): MonitorView {
  return {
    id: 'api',
    name: 'api',
    target: 'https://api.example.com/health',
    status: 'up',
    lastCheckedAt: iso(-10_000),
    latencyMs: 123,
    lastError: null,
    since: iso(-3 * 60_000),
    ...over,
  };
}

export function incident(over: Partial<IncidentView> = {}): IncidentView {
  return {
    id: 1,
    dedupKey: 'api:down',
    title: 'api is down',
    severity: 'critical',
    state: 'triggered',
    openedAt: iso(-3 * 60_000),
    resolvedAt: null,
    ackedBy: null,
    ackedAt: null,
    snoozedUntil: null,
    assignee: null,
    autoResolve: true,
    ...over,
  };
}

export function feed(over: Partial<FeedHealth> = {}): FeedHealth {
  return {
    name: 'alertmanager',
    kind: 'alertmanager',
    running: true,
    ok: true,
    lastOkAt: iso(-20_000),
    error: null,
    latencyMs: 12,
    failures: 0,
    alerts: 0,
    ...over,
  };
}

export function snapshot(over: Partial<Snapshot> = {}): Snapshot {
  return {
    monitors: [monitor(), monitor({ id: 'db', name: 'db', target: 'http://127.0.0.1:5432/' })],
    incidents: [],
    mute: { kind: 'off' },
    paused: false,
    summary: 'All 2 monitors up',
    demo: false,
    notices: [],
    ringing: [],
    onCall: false,
    oncall: null,
    feeds: [],
      promises: [],
    ...over,
  };
}
