import { afterEach, describe, expect, it, vi } from 'vitest';

import type { LatencyPoint } from './bindings/LatencyPoint';
import type { MonitorHistory } from './bindings/MonitorHistory';
import { chartShape, coarsen, formatUptime, seriesOf, Throttle, uptimeTone, type Series } from './history';
import { HistoryStore } from './history.svelte';
import { monitor, T0 } from '../test/fixtures';

function pt(atMs: number, latencyMs: number | null, checks = 1, failures = 0): LatencyPoint {
  return { at: new Date(atMs).toISOString(), latencyMs, checks, failures };
}

function history(over: Partial<MonitorHistory> = {}): MonitorHistory {
  return {
    monitorId: 'api',
    at: new Date(T0).toISOString(),
    uptime: { last24h: 0.98, last7d: 0.995, last30d: 0.999, last90d: null },
    recentBucketSecs: 300,
    recent: [],
    hourly: [],
    ...over,
  };
}

describe('formatUptime', () => {
  it('shows two decimals, rounded down so only a perfect record reads 100 %', () => {
    expect(formatUptime(1)).toBe('100 %');
    expect(formatUptime(0.99999)).toBe('99.99 %');
    expect(formatUptime(0.9995)).toBe('99.95 %');
    expect(formatUptime(29 / 31)).toBe('93.54 %');
    expect(formatUptime(0.5)).toBe('50.00 %');
    expect(formatUptime(0)).toBe('0.00 %');
  });

  it('shows a dash when nothing was checked, which is not 0 %', () => {
    expect(formatUptime(null)).toBe('—');
    expect(formatUptime(undefined)).toBe('—');
  });

  it('colours three nines good, two fair, less poor', () => {
    expect([1, 0.999, 0.995, 0.99, 0.9, null].map(uptimeTone)).toEqual([
      'good',
      'good',
      'fair',
      'fair',
      'poor',
      'none',
    ]);
  });
});

describe('seriesOf', () => {
  it('spans the last day in small buckets or the last week by the hour, ending when read', () => {
    const h = history({ recent: [pt(T0 - 60_000, 5)], hourly: [pt(T0 - 3_600_000, 7)] });
    expect(seriesOf(h, 'day')).toEqual({ points: h.recent, from: T0 - 86_400_000, to: T0, bucketMs: 300_000 });
    expect(seriesOf(h, 'week')).toEqual({
      points: h.hourly,
      from: T0 - 7 * 86_400_000,
      to: T0,
      bucketMs: 3_600_000,
    });
  });
});

describe('chartShape', () => {
  // A 1 s chart in 100 ms buckets, 100 px wide: 1 px per 10 ms.
  const series = (points: LatencyPoint[]): Series => ({ points, from: T0, to: T0 + 1000, bucketMs: 100 });

  it('draws each bucket at its middle, breaks the line at gaps and failed buckets, and marks failures', () => {
    const shape = chartShape(
      series([
        pt(T0, 10),
        pt(T0 + 100, 20),
        pt(T0 + 300, null, 2, 2), // every check failed before measuring a latency
        pt(T0 + 400, 20, 2, 1),
        pt(T0 + 800, 10), // after 300 ms without checks
      ]),
      { width: 100, height: 22, pad: 1 },
    );
    // y: the scale tops at 24 ms (20 ms and a fifth more), 1 px to 21 px: 20 ms at 4.3,
    // 10 ms at 12.7. A lone point is a 3 px dash.
    expect(shape.line).toBe('M5 12.7L15 4.3M43.5 4.3h3M83.5 12.7h3');
    expect(shape.area).toBe('M5 12.7L15 4.3L15 21L5 21Z');
    expect(shape.failures).toEqual([
      { x: 30, width: 10, at: T0 + 300, checks: 2, failures: 2 },
      { x: 40, width: 10, at: T0 + 400, checks: 2, failures: 1 },
    ]);
    expect(shape).toMatchObject({ maxLatency: 20, meanLatency: 16, checks: 7, failed: 3 });
  });

  it('leaves out points outside the chart and keeps the newest bucket inside it', () => {
    const shape = chartShape(series([pt(T0 - 500, 99), pt(T0 + 950, 10, 1, 1)]), { width: 100, height: 10, pad: 0 });
    expect(shape.line).toBe('M97 1.7h3');
    expect(shape.failures).toEqual([{ x: 95, width: 5, at: T0 + 950, checks: 1, failures: 1 }]);
    expect(shape.maxLatency).toBe(10);
  });

  it('keeps a single failure visible in a day squeezed into a sparkline', () => {
    const day: Series = { points: [pt(T0 - 3_600_000, null, 10, 1)], from: T0 - 86_400_000, to: T0, bucketMs: 300_000 };
    const [mark] = chartShape(day, { width: 84, height: 24 }).failures;
    expect(mark.width).toBe(2);
    expect(mark.x).toBeCloseTo(80.5, 1);
  });

  it('has nothing to draw without checks', () => {
    expect(chartShape(series([]), { width: 100, height: 20 })).toEqual({
      line: '',
      area: '',
      failures: [],
      maxLatency: 0,
      meanLatency: null,
      checks: 0,
      failed: 0,
    });
  });
});

describe('coarsen', () => {
  it('merges aligned runs of buckets, weighting latency by checks and summing failures', () => {
    const minute = 60_000;
    const series: Series = {
      points: [
        pt(T0 - 20 * minute, 10, 1),
        pt(T0 - 15 * minute, 40, 2, 1),
        pt(T0 - 10 * minute, null, 3, 3),
        pt(T0, 7, 1),
      ],
      from: T0 - 86_400_000,
      to: T0,
      bucketMs: 5 * minute,
    };
    // T0 is a multiple of 10 minutes, so pairs start at -20, -10 and 0 minutes.
    expect(coarsen(series, 2)).toEqual({
      ...series,
      bucketMs: 10 * minute,
      points: [pt(T0 - 20 * minute, 30, 3, 1), pt(T0 - 10 * minute, null, 3, 3), pt(T0, 7, 1)],
    });
    expect(coarsen(series, 1)).toBe(series);
  });
});

describe('Throttle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at once, then at most once per interval, deferring rather than dropping', async () => {
    vi.useFakeTimers();
    const run = vi.fn(() => Promise.resolve());
    const t = new Throttle(run, 5_000);
    t.request();
    expect(run).toHaveBeenCalledTimes(1);

    await vi.advanceTimersByTimeAsync(1_000);
    t.request();
    t.request();
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3_999);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);

    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(2);
    t.request();
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('asks again after a slow run when asked during it', async () => {
    vi.useFakeTimers();
    let finish: () => void = () => {};
    const run = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    const t = new Throttle(run, 5_000);
    t.request();
    await vi.advanceTimersByTimeAsync(7_000);
    t.request();
    expect(run).toHaveBeenCalledTimes(1);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('waits for a settle time when asked, and reads again for a request its read came too early for', async () => {
    vi.useFakeTimers();
    const run = vi.fn(() => Promise.resolve());
    const t = new Throttle(run, 5_000);
    t.request(1_500);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(run).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(1);

    // Asked at 2 s and 3 s to read after 3.5 s and 4.5 s: one read, at 6.5 s (the rate).
    await vi.advanceTimersByTimeAsync(500);
    t.request(1_500);
    await vi.advanceTimersByTimeAsync(1_000);
    t.request(1_500);
    await vi.advanceTimersByTimeAsync(3_499);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('keeps a settle time asked for while a read is already scheduled', async () => {
    vi.useFakeTimers();
    const run = vi.fn(() => Promise.resolve());
    const t = new Throttle(run, 5_000);
    t.request(1_500);
    await vi.advanceTimersByTimeAsync(1_000);
    // The read due at 1.5 s cannot see what this asks for (ready at 2.5 s): a second one follows.
    t.request(1_500);
    await vi.advanceTimersByTimeAsync(500);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('does nothing once disposed', async () => {
    vi.useFakeTimers();
    const run = vi.fn(() => Promise.resolve());
    const t = new Throttle(run, 5_000);
    t.request();
    t.request();
    t.dispose();
    await vi.advanceTimersByTimeAsync(10_000);
    t.request();
    expect(run).toHaveBeenCalledTimes(1);
  });
});

describe('HistoryStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const toError = (err: unknown) => ({ code: 'unknown' as const, message: String(err), field: null });

  it('reads each monitor once, then again after its events, at most every 5 s', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn((id: string) => Promise.resolve(history({ monitorId: id })));
    const store = new HistoryStore(fetch, toError);
    store.track(['api', 'db']);
    store.track(['api', 'db']);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch.mock.calls).toEqual([['api'], ['db']]);
    expect(Object.keys(store.histories)).toEqual(['api', 'db']);

    const event = { type: 'monitor', monitor: monitor({ id: 'api' }) } as const;
    store.apply(event);
    store.apply(event);
    store.apply({ type: 'monitor', monitor: monitor({ id: 'elsewhere' }) });
    store.apply({ type: 'summary', summary: 'x' });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(fetch).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch.mock.calls.slice(2)).toEqual([['api']]);
    store.dispose();
  });

  it('keeps the last good history when a read fails, and says why', async () => {
    vi.useFakeTimers();
    let fail = false;
    const fetch = vi.fn((id: string) => (fail ? Promise.reject('database is locked') : Promise.resolve(history({ monitorId: id }))));
    const store = new HistoryStore(fetch, toError, 0);
    store.track(['api']);
    await vi.advanceTimersByTimeAsync(0);
    fail = true;
    store.refresh('api');
    await vi.advanceTimersByTimeAsync(0);
    expect(store.histories.api?.monitorId).toBe('api');
    expect(store.errors.api).toEqual({ code: 'unknown', message: 'database is locked', field: null });
    fail = false;
    store.refresh('api');
    await vi.advanceTimersByTimeAsync(0);
    expect(store.errors).toEqual({});
    store.dispose();
  });
});
