// Each monitor's history in the window: the row's sparkline and 24 h uptime, the detail that
// opens under it, and the refresh after the monitor's checks.
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { InvokeArgs } from '@tauri-apps/api/core';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import App from './App.svelte';
import type { EngineEvent } from './lib/bindings/EngineEvent';
import type { LatencyPoint } from './lib/bindings/LatencyPoint';
import type { MonitorHistory } from './lib/bindings/MonitorHistory';
import { monitor, snapshot } from './test/fixtures';

const MIN = 60_000;

function historyOf(id: string, last24h: number | null, failedAgoMin: number | null): MonitorHistory {
  const now = Date.now();
  const recent: LatencyPoint[] = [];
  for (let ago = 120; ago >= 0; ago -= 5) {
    const failed = ago === failedAgoMin;
    recent.push({ at: new Date(now - ago * MIN).toISOString(), latencyMs: failed ? null : 40 + (ago % 15), checks: 10, failures: failed ? 10 : 0 });
  }
  return {
    monitorId: id,
    at: new Date(now).toISOString(),
    uptime: { last24h, last7d: 0.9991, last30d: 0.99962, last90d: null },
    recentBucketSecs: 300,
    recent,
    hourly: [{ at: new Date(now - 30 * MIN).toISOString(), latencyMs: 44, checks: 120, failures: 10 }],
  };
}

/** The shell: a snapshot of api and db, and histories from `history`; counts history reads. */
function shell(history: (id: string, call: number) => MonitorHistory) {
  const reads: string[] = [];
  mockIPC(
    (cmd, args: InvokeArgs | undefined) => {
      if (cmd === 'get_snapshot') return snapshot();
      if (cmd === 'get_monitor_history') {
        const id = (args as { id: string }).id;
        reads.push(id);
        return history(id, reads.filter((r) => r === id).length);
      }
      throw { code: 'unknown_command', message: `no ${cmd}` };
    },
    { shouldMockEvents: true },
  );
  return reads;
}

function row(id: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="monitor-row"][data-monitor-id="${id}"]`);
  if (!el) throw new Error(`no monitor row ${id}`);
  return el;
}

describe('monitor history', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows a sparkline and the 24 h uptime on each row, and the four windows when opened', async () => {
    shell((id) => (id === 'api' ? historyOf(id, 29 / 31, 60) : historyOf(id, 1, null)));
    render(App);
    const api = await waitFor(() => within(row('api')).getByTestId('monitor-uptime'));
    expect(api).toHaveTextContent('93.54 %');
    expect(within(row('db')).getByTestId('monitor-uptime')).toHaveTextContent('100 %');
    const spark = within(row('api')).getByTestId('monitor-sparkline');
    expect(spark.querySelector('path.line')?.getAttribute('d')).toMatch(/^M[\d.]+ [\d.]+L/);
    expect(spark).toHaveAttribute('data-failures', '1');
    expect(within(row('db')).getByTestId('monitor-sparkline')).toHaveAttribute('data-failures', '0');
    expect(screen.queryByTestId('monitor-detail')).not.toBeInTheDocument();

    const user = userEvent.setup();
    const toggle = within(row('api')).getByRole('button', { expanded: false });
    toggle.focus();
    await user.keyboard('{Enter}');
    const detail = within(row('api')).getByTestId('monitor-detail');
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    expect(toggle).toHaveAttribute('aria-controls', detail.id);
    expect(within(detail).getByTestId('uptime-24h')).toHaveTextContent('93.54 %');
    expect(within(detail).getByTestId('uptime-7d')).toHaveTextContent('99.91 %');
    expect(within(detail).getByTestId('uptime-30d')).toHaveTextContent('99.96 %');
    expect(within(detail).getByTestId('uptime-90d')).toHaveTextContent('—');
    expect(within(detail).getByTestId('history-chart')).toHaveAttribute('data-failures', '1');
    expect(within(detail).getByTestId('history-failures')).toHaveTextContent('10 of 250 checks failed in the last 24 hours');

    await user.click(within(detail).getByTestId('chart-span-week'));
    expect(within(detail).getByTestId('history-chart')).toHaveAttribute('data-points', '1');
    expect(within(detail).getByTestId('history-failures')).toHaveTextContent('10 of 120 checks failed in the last 7 days');
    expect(within(row('api')).getByTestId('monitor-detail')).toBeInTheDocument();

    await user.click(within(row('api')).getByTestId('monitor-name'));
    expect(screen.queryByTestId('monitor-detail')).not.toBeInTheDocument();
  });

  it('reads a monitor history again after its checks, at most every 5 seconds', async () => {
    const reads = shell((id, n) => historyOf(id, n === 1 ? 1 : 0.75, null));
    render(App);
    await waitFor(() => expect(within(row('api')).getByTestId('monitor-uptime')).toHaveTextContent('100 %'));
    expect(reads.sort()).toEqual(['api', 'db']);

    // Only the throttle's clock and timer are fake; the IPC mock and the DOM run as usual.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const checked: EngineEvent = { type: 'monitor', monitor: monitor({ id: 'api' }) };
    await emit('engine-event', checked);
    await emit('engine-event', checked);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(reads.filter((r) => r === 'api')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reads.filter((r) => r === 'api')).toHaveLength(2);
    expect(reads.filter((r) => r === 'db')).toHaveLength(1);
    expect(within(row('api')).getByTestId('monitor-uptime')).toHaveTextContent('75.00 %');
  });

  it('says why when the history cannot be read', async () => {
    mockIPC(
      (cmd) => {
        if (cmd === 'get_snapshot') return snapshot({ monitors: [monitor()] });
        throw { code: 'storage', message: 'database: disk I/O error' };
      },
      { shouldMockEvents: true },
    );
    render(App);
    await screen.findByTestId('monitor-list');
    const user = userEvent.setup();
    await user.click(within(row('api')).getByTestId('monitor-name'));
    const detail = within(row('api')).getByTestId('monitor-detail');
    await waitFor(() => expect(detail).toHaveTextContent("Couldn't read the history: database: disk I/O error"));
    expect(within(row('api')).queryByTestId('monitor-sparkline')).not.toBeInTheDocument();
  });
});
