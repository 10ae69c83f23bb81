// A monitor's history turned into what the window draws: uptime figures and the geometry of
// the latency charts. Pure functions, no Svelte, no IPC: unit tested directly.
//
// The charts are hand-drawn SVG rather than a charting library. uPlot (MIT) was the candidate:
// about 50 kB of minified script, close to doubling the window's bundle, for a canvas per row
// that reads theme colours from script and redraws on resize. A sparkline is one path and a
// few rectangles; as SVG it takes its colours from the stylesheet (light and dark themes,
// no inline styles, so the `style-src 'self'` CSP holds) and stays sharp at any scale.
import type { LatencyPoint } from './bindings/LatencyPoint';
import type { MonitorHistory } from './bindings/MonitorHistory';
import { parseTime } from './format';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * An uptime share (0..1) as a percentage with two decimals, rounded down so that anything
 * short of every check passing never reads "100 %": "99.95 %", "100 %", "—" for no checks.
 */
export function formatUptime(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  if (share >= 1) return '100 %';
  // The epsilon undoes binary rounding (0.9995 * 10000 = 9994.999…).
  const hundredths = Math.floor(Math.max(0, share) * 10_000 + 1e-6);
  return `${(hundredths / 100).toFixed(2)} %`;
}

export type UptimeTone = 'good' | 'fair' | 'poor' | 'none';

/** How an uptime figure is coloured: three nines is good, two is fair, less is poor. */
export function uptimeTone(share: number | null | undefined): UptimeTone {
  if (share === null || share === undefined || !Number.isFinite(share)) return 'none';
  if (share >= 0.999) return 'good';
  if (share >= 0.99) return 'fair';
  return 'poor';
}

/** Which of the two series a chart shows. */
export type Span = 'day' | 'week';

export interface Series {
  points: readonly LatencyPoint[];
  /** Left edge of the chart (ms since the epoch). */
  from: number;
  /** Right edge of the chart: when the history was read. */
  to: number;
  bucketMs: number;
}

/** The series for `span`: the last day in small buckets, or the last week by the hour. */
export function seriesOf(history: MonitorHistory, span: Span): Series {
  const to = parseTime(history.at) ?? 0;
  return span === 'day'
    ? { points: history.recent, from: to - DAY, to, bucketMs: history.recentBucketSecs * 1000 }
    : { points: history.hourly, from: to - 7 * DAY, to, bucketMs: HOUR };
}

/**
 * `series` with every `factor` consecutive buckets merged into one (aligned to the epoch, so
 * a bucket does not change as time passes): latency weighted by checks, checks and failures
 * summed. A row's sparkline is ~80 px wide; drawn from 288 five-minute buckets it is mostly
 * noise, from ~40 it shows the trend.
 */
export function coarsen(series: Series, factor: number): Series {
  const n = Math.max(1, Math.floor(factor));
  if (n === 1) return series;
  const bucketMs = series.bucketMs * n;
  const merged: LatencyPoint[] = [];
  let group: { start: number; checks: number; failures: number; weighted: number; measured: number } | null = null;
  const flush = () => {
    if (group === null) return;
    merged.push({
      at: new Date(group.start).toISOString(),
      latencyMs: group.measured > 0 ? Math.round(group.weighted / group.measured) : null,
      checks: group.checks,
      failures: group.failures,
    });
  };
  for (const p of series.points) {
    const at = parseTime(p.at);
    if (at === null) continue;
    const start = Math.floor(at / bucketMs) * bucketMs;
    if (group === null || group.start !== start) {
      flush();
      group = { start, checks: 0, failures: 0, weighted: 0, measured: 0 };
    }
    group.checks += p.checks;
    group.failures += p.failures;
    if (p.latencyMs !== null) {
      group.weighted += p.latencyMs * p.checks;
      group.measured += p.checks;
    }
  }
  flush();
  return { ...series, points: merged, bucketMs };
}

export interface FailureMark {
  x: number;
  width: number;
  /** When the bucket started (ms since the epoch), for its tooltip. */
  at: number;
  checks: number;
  failures: number;
}

export interface ChartShape {
  /** SVG path of the latency line; a new segment starts after each gap. Empty: nothing to draw. */
  line: string;
  /** The same segments closed down to the baseline, for a soft fill under the line. */
  area: string;
  failures: FailureMark[];
  /** Highest latency drawn, i.e. the top of the scale (ms); 0 without any latency. */
  maxLatency: number;
  /** Mean latency over every check that measured one, or null. */
  meanLatency: number | null;
  checks: number;
  failed: number;
}

export interface ChartSize {
  width: number;
  height: number;
  /** Room kept above and below the line, so its stroke is not clipped. */
  pad?: number;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * The geometry of a latency chart of `series` in a box of `size` pixels. A point sits at the
 * middle of its bucket (clamped to the chart); the line breaks where buckets are missing (no
 * check ran) or had no latency (every check failed before measuring one). Each bucket with a
 * failed check gets a mark spanning the bucket, at least 2 px wide so a single failure among
 * thousands still shows.
 */
export function chartShape(series: Series, size: ChartSize): ChartShape {
  const { width, height } = size;
  const pad = size.pad ?? 2;
  const span = Math.max(1, series.to - series.from);
  const xOf = (t: number) => Math.min(width, Math.max(0, ((t - series.from) / span) * width));
  const visible = series.points
    .map((p) => ({ p, at: parseTime(p.at) }))
    .filter((v): v is { p: LatencyPoint; at: number } => v.at !== null && v.at + series.bucketMs > series.from && v.at <= series.to);

  let maxLatency = 0;
  let weighted = 0;
  let measured = 0;
  let checks = 0;
  let failed = 0;
  for (const { p } of visible) {
    checks += p.checks;
    failed += p.failures;
    if (p.latencyMs !== null) {
      maxLatency = Math.max(maxLatency, p.latencyMs);
      // Buckets are weighted by their checks, so a busy bucket counts for more than a quiet one.
      weighted += p.latencyMs * p.checks;
      measured += p.checks;
    }
  }
  // Headroom above the highest point, so the line never runs along the top edge.
  const top = maxLatency > 0 ? maxLatency * 1.2 : 1;
  const yOf = (ms: number) => pad + (1 - ms / top) * (height - 2 * pad);

  const segments: { x: number; y: number }[][] = [];
  let current: { x: number; y: number }[] = [];
  let previousAt: number | null = null;
  for (const { p, at } of visible) {
    const gap = previousAt !== null && at - previousAt > series.bucketMs * 1.5;
    if ((gap || p.latencyMs === null) && current.length > 0) {
      segments.push(current);
      current = [];
    }
    if (p.latencyMs !== null) {
      current.push({ x: round(xOf(at + series.bucketMs / 2)), y: round(yOf(p.latencyMs)) });
    }
    previousAt = at;
  }
  if (current.length > 0) segments.push(current);

  // A lone point (a monitor checked for the first time, or between two gaps) is drawn as a
  // short dash, so it is seen.
  const line = segments
    .map((s) =>
      s.length === 1
        ? `M${round(Math.min(Math.max(s[0].x - 1.5, 0), width - 3))} ${s[0].y}h3`
        : `M${s[0].x} ${s[0].y}` + s.slice(1).map((q) => `L${q.x} ${q.y}`).join(''),
    )
    .join('');
  const base = round(height - pad);
  const area = segments
    .filter((s) => s.length > 1)
    .map((s) => {
      const first = s[0];
      const last = s[s.length - 1];
      const top = s.map((q, i) => `${i === 0 ? 'M' : 'L'}${q.x} ${q.y}`).join('');
      return `${top}L${last.x} ${base}L${first.x} ${base}Z`;
    })
    .join('');

  const failures: FailureMark[] = visible
    .filter(({ p }) => p.failures > 0)
    .map(({ p, at }) => {
      const x0 = xOf(at);
      const x1 = xOf(at + series.bucketMs);
      const w = Math.max(2, x1 - x0);
      return {
        x: round(Math.min(x0, width - w)),
        width: round(w),
        at,
        checks: p.checks,
        failures: p.failures,
      };
    });

  return {
    line,
    area,
    failures,
    maxLatency,
    meanLatency: measured > 0 ? Math.round(weighted / measured) : null,
    checks,
    failed,
  };
}

/**
 * Keeps one monitor's history fresh without flooding the shell: at most one read in flight,
 * and at most one every `minIntervalMs`. A read asked for too soon is deferred, never
 * dropped; and a request may ask for a read that starts no sooner than `settleMs` from now
 * (see `request`), which the throttle keeps even when a read is already on its way.
 */
export class Throttle {
  #last = -Infinity;
  /** The next read must start at or after this (ms), or null when nothing is asked for. */
  #needBy: number | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  #disposed = false;
  readonly #run: () => Promise<void>;
  readonly #minIntervalMs: number;
  readonly #now: () => number;

  constructor(run: () => Promise<void>, minIntervalMs: number, now: () => number = () => Date.now()) {
    this.#run = run;
    this.#minIntervalMs = minIntervalMs;
    this.#now = now;
  }

  /** Asks for a read starting `settleMs` from now at the earliest, or later as the rate allows. */
  request(settleMs = 0): void {
    if (this.#disposed) return;
    const needBy = this.#now() + settleMs;
    this.#needBy = Math.max(this.#needBy ?? needBy, needBy);
    // A read in progress or already scheduled checks `needBy` when it starts or ends.
    if (!this.#running && this.#timer === null) this.#schedule();
  }

  #schedule(): void {
    if (this.#disposed || this.#needBy === null) return;
    const wait = Math.max(this.#needBy, this.#last + this.#minIntervalMs) - this.#now();
    if (wait <= 0) {
      void this.#fire();
    } else {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.#fire();
      }, wait);
    }
  }

  async #fire(): Promise<void> {
    if (this.#disposed) return;
    this.#running = true;
    const start = this.#now();
    this.#last = start;
    try {
      await this.#run();
    } finally {
      this.#running = false;
      // Asked for something this read started too early to see: read again.
      if (this.#needBy !== null && this.#needBy > start) this.#schedule();
      else this.#needBy = null;
    }
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
