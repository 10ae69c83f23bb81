import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { InvokeArgs } from '@tauri-apps/api/core';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import App from './App.svelte';
import type { EngineEvent } from './lib/bindings/EngineEvent';
import type { Snapshot } from './lib/bindings/Snapshot';
import { formatClock } from './lib/format';
import { incident, monitor, snapshot } from './test/fixtures';

type Handler = (args: InvokeArgs | undefined) => unknown;

/** Mock the shell: `get_snapshot` answers `snap`, other commands per `handlers`; records calls. */
function shell(snap: Snapshot | (() => unknown), handlers: Record<string, Handler> = {}) {
  const calls: { cmd: string; args: InvokeArgs | undefined }[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === 'get_snapshot') return typeof snap === 'function' ? snap() : snap;
      const h = handlers[cmd];
      if (h) return h(args);
      throw { code: 'unknown_command', message: `no ${cmd}` };
    },
    { shouldMockEvents: true },
  );
  return calls;
}

function minutesAgo(n: number): string {
  return new Date(Date.now() - n * 60_000 - 5_000).toISOString();
}

function row(id: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="monitor-row"][data-monitor-id="${id}"]`);
  if (!el) throw new Error(`no monitor row ${id}`);
  return el;
}

describe('App', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows loading, then the monitors from get_snapshot', async () => {
    let answer: (s: Snapshot) => void = () => {};
    const pending = new Promise<Snapshot>((resolve) => (answer = resolve));
    shell(() => pending);
    render(App);

    expect(await screen.findByText('Loading status…')).toBeVisible();

    answer(
      snapshot({
        summary: '1 of 2 monitors down',
        monitors: [
          monitor({ id: 'api', name: 'api', latencyMs: 123 }),
          monitor({ id: 'db', name: 'db', status: 'down', lastError: 'connection refused' }),
        ],
      }),
    );

    const list = await screen.findByTestId('monitor-list');
    expect(screen.queryByText('Loading status…')).not.toBeInTheDocument();
    expect(screen.getByTestId('summary')).toHaveTextContent('1 of 2 monitors down');
    const rows = within(list).getAllByTestId('monitor-row');
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByText('api')).toBeVisible();
    expect(within(rows[0]).getByTestId('status-pill')).toHaveTextContent(/^up$/);
    expect(within(rows[0]).getByText('123 ms')).toBeVisible();
    expect(rows[1]).toHaveAttribute('data-status', 'down');
    expect(within(rows[1]).getByText('connection refused')).toBeVisible();
  });

  it('shows the error and retries', async () => {
    let fail = true;
    const calls = shell(() => {
      if (fail) throw { code: 'engine_unavailable', message: 'The engine is not running.' };
      return snapshot();
    });
    render(App);

    expect(await screen.findByText('The engine is not running.')).toBeVisible();
    expect(screen.getByRole('alert')).toHaveTextContent("Couldn't load Foghorn's status");

    fail = false;
    await userEvent.click(screen.getByRole('button', { name: /retry/i }));

    expect(await screen.findByTestId('monitor-list')).toBeVisible();
    expect(screen.queryByText('The engine is not running.')).not.toBeInTheDocument();
    expect(calls.filter((c) => c.cmd === 'get_snapshot')).toHaveLength(2);
  });

  it('updates a row when an engine-event arrives', async () => {
    shell(snapshot());
    render(App);
    await screen.findByTestId('monitor-list');
    expect(row('api')).toHaveAttribute('data-status', 'up');

    const event: EngineEvent = {
      type: 'monitor',
      monitor: monitor({ id: 'api', status: 'down', lastError: 'HTTP 503' }),
    };
    await emit('engine-event', event);
    await emit('engine-event', { type: 'summary', summary: '1 of 2 monitors down' } satisfies EngineEvent);

    await waitFor(() => expect(row('api')).toHaveAttribute('data-status', 'down'));
    expect(within(row('api')).getByTestId('status-pill')).toHaveTextContent(/^down$/);
    expect(within(row('api')).getByText('HTTP 503')).toBeVisible();
    expect(screen.getByTestId('summary')).toHaveTextContent('1 of 2 monitors down');
  });

  it('sends set_mute with the chosen option and shows the new state', async () => {
    const until = new Date(Date.now() + 60 * 60_000);
    const calls = shell(snapshot(), {
      set_mute: () => ({ kind: 'until', until: until.toISOString() }),
    });
    render(App);
    const select = await screen.findByTestId('mute-select');
    expect(select).toHaveValue('off');
    expect(screen.queryByTestId('mute-status')).not.toBeInTheDocument();

    await userEvent.selectOptions(select, '1 hour');

    await waitFor(() => expect(calls.some((c) => c.cmd === 'set_mute')).toBe(true));
    expect(calls.find((c) => c.cmd === 'set_mute')?.args).toEqual({ choice: 'oneHour' });
    // In the last hour of the day "until" is past midnight: the label says so.
    expect(await screen.findByTestId('mute-status')).toHaveTextContent(
      `Muted until ${formatClock(until.toISOString(), Date.now())}`,
    );
    await waitFor(() => expect(select).toHaveValue('until'));
  });

  it('offers every mute choice, and shows an indefinite mute', async () => {
    const calls = shell(snapshot({ mute: { kind: 'indefinite' } }), {
      set_mute: () => ({ kind: 'off' }),
    });
    render(App);
    const select = await screen.findByTestId('mute-select');
    expect(screen.getByTestId('mute-status')).toHaveTextContent('Muted until you unmute');
    expect(select).toHaveValue('indefinite');
    const values = within(select)
      .getAllByRole('option')
      .map((o) => (o as HTMLOptionElement).value);
    expect(values).toEqual(['off', 'oneHour', 'fourHours', 'eightHours', 'indefinite']);

    await userEvent.selectOptions(select, 'Off');
    await waitFor(() => expect(screen.queryByTestId('mute-status')).not.toBeInTheDocument());
    expect(calls.find((c) => c.cmd === 'set_mute')?.args).toEqual({ choice: 'off' });
  });

  it('toggles pause with set_paused', async () => {
    const calls = shell(snapshot(), { set_paused: (args) => (args as { paused: boolean }).paused });
    render(App);
    const toggle = await screen.findByTestId('pause-toggle');
    expect(toggle).toHaveTextContent('Pause monitoring');

    await userEvent.click(toggle);
    await waitFor(() => expect(toggle).toHaveTextContent('Resume monitoring'));
    expect(calls.filter((c) => c.cmd === 'set_paused').map((c) => c.args)).toEqual([{ paused: true }]);
    expect(screen.getByTestId('paused-status')).toHaveTextContent('Paused');

    await userEvent.click(toggle);
    await waitFor(() => expect(toggle).toHaveTextContent('Pause monitoring'));
    expect(calls.filter((c) => c.cmd === 'set_paused').map((c) => c.args)).toEqual([
      { paused: true },
      { paused: false },
    ]);
  });

  it('pauses and resumes one monitor from its row', async () => {
    const calls = shell(snapshot(), {
      set_monitor_paused: (args) => {
        const { id, paused } = args as { id: string; paused: boolean };
        return monitor({ id, name: id, status: paused ? 'paused' : 'up' });
      },
      get_monitor_history: () => ({
        uptime: { last24h: null, last7d: null, last30d: null, last90d: null },
        recent: [],
        recentBucketSecs: 300,
        hourly: [],
      }),
    });
    render(App);
    await screen.findAllByTestId('monitor-row');
    const pause = within(row('db')).getByTestId('monitor-pause');
    expect(pause).toHaveAccessibleName('Pause db');

    await userEvent.click(pause);
    await waitFor(() => expect(row('db').dataset.status).toBe('paused'));
    expect(calls.filter((c) => c.cmd === 'set_monitor_paused').map((c) => c.args)).toEqual([
      { id: 'db', paused: true },
    ]);
    // The row stays closed: the button is not a click on the row.
    expect(row('db').querySelector('[data-testid="monitor-detail"]')).toBeNull();

    const resume = within(row('db')).getByTestId('monitor-pause');
    expect(resume).toHaveAccessibleName('Resume db');
    await userEvent.click(resume);
    await waitFor(() => expect(row('db').dataset.status).toBe('up'));
  });

  it('shows a failed command as a closable alert', async () => {
    shell(snapshot(), {
      set_paused: () => {
        throw { code: 'engine_busy', message: 'The engine is busy.' };
      },
    });
    render(App);
    await userEvent.click(await screen.findByTestId('pause-toggle'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not pause monitoring: The engine is busy.');
    expect(screen.getByTestId('pause-toggle')).toHaveTextContent('Pause monitoring');
    await userEvent.click(within(alert).getByRole('button', { name: /dismiss/i }));
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('shows notices and the demo line, and dismisses a notice', async () => {
    const notice = 'No notification daemon: alerts show here and in the log';
    shell(snapshot({ demo: true, notices: [notice] }));
    render(App);
    expect(await screen.findByText(notice)).toBeVisible();
    expect(screen.getByTestId('demo-badge')).toHaveTextContent('Demo');
    expect(screen.getByTestId('demo-line')).toHaveTextContent(/Running the demo configuration/);
    await userEvent.click(screen.getByRole('button', { name: `Dismiss: ${notice}` }));
    expect(screen.queryByText(notice)).not.toBeInTheDocument();
  });

  it('says which feed is not running and why, apart from one that is not answering', async () => {
    const base = { lastOkAt: null, latencyMs: null, alerts: 0, kind: 'alertmanager' as const };
    shell(
      snapshot({
        summary: 'All 2 monitors up · feed pd not running',
        feeds: [
          { ...base, name: 'pd', running: false, ok: false, failures: 0, error: 'pd: `token`: env:PD_TOKEN: the environment variable is not set' },
          { ...base, name: 'alertmanager', running: true, ok: false, failures: 3, error: 'alertmanager: unreachable: connection refused' },
        ],
      }),
    );
    render(App);
    expect(await screen.findByTestId('feed-not-running')).toHaveTextContent(
      'Feed pd is not running: pd: `token`: env:PD_TOKEN: the environment variable is not set',
    );
    expect(screen.getByTestId('feed-down')).toHaveTextContent(/Feed alertmanager not answering: .*connection refused/);
    expect(screen.getByTestId('summary')).toHaveTextContent('feed pd not running');
  });

  it('lists incidents open first, and switches tabs with the keyboard', async () => {
    shell(
      snapshot({
        incidents: [
          incident({ id: 1, title: 'old outage', state: 'resolved', resolvedAt: new Date().toISOString() }),
          incident({ id: 2, title: 'slow api', severity: 'major', state: 'acknowledged' }),
          incident({ id: 3, title: 'db is down', state: 'triggered', openedAt: minutesAgo(3) }),
        ],
      }),
    );
    render(App);
    const monitorsTab = await screen.findByRole('tab', { name: /monitors/i });
    const incidentsTab = screen.getByRole('tab', { name: /incidents/i });
    expect(monitorsTab).toHaveAttribute('aria-selected', 'true');
    expect(incidentsTab).toHaveTextContent('2 open');

    monitorsTab.focus();
    await userEvent.keyboard('{ArrowRight}');
    expect(incidentsTab).toHaveAttribute('aria-selected', 'true');
    expect(incidentsTab).toHaveFocus();
    expect(screen.getByRole('tabpanel', { name: /incidents/i })).toBeVisible();
    expect(screen.getByTestId('monitor-list')).not.toBeVisible();

    const rows = screen.getAllByTestId('incident-row');
    expect(rows.map((r) => r.getAttribute('data-state'))).toEqual(['triggered', 'acknowledged', 'resolved']);
    expect(within(rows[0]).getByText('db is down')).toBeVisible();
    expect(within(rows[0]).getByText('critical')).toBeVisible();
    expect(within(rows[0]).getByText('open 3 min')).toBeVisible();

    await userEvent.keyboard('{ArrowLeft}');
    expect(monitorsTab).toHaveFocus();
    expect(screen.getByTestId('monitor-list')).toBeVisible();
  });

  it('explains what to do when there is nothing to show', async () => {
    shell(snapshot({ monitors: [], incidents: [] }));
    render(App);
    expect(await screen.findByText('No monitors yet')).toBeVisible();
    expect(screen.getByTestId('monitors-empty')).toHaveTextContent('[[monitors]]');
    await userEvent.click(screen.getByRole('tab', { name: /incidents/i }));
    expect(screen.getByText('All quiet — no incidents')).toBeVisible();
  });

  it('refreshes relative times every 15 seconds', async () => {
    // Only the clock and the window's interval are fake; the IPC mock and DOM waits run as usual.
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    shell(
      snapshot({
        monitors: [monitor({ lastCheckedAt: new Date(Date.now() - 10_000).toISOString() })],
      }),
    );
    render(App);
    const checked = await screen.findByTestId('monitor-checked');
    expect(checked).toHaveTextContent('checked 10 s ago');
    vi.advanceTimersByTime(15_000);
    await waitFor(() => expect(checked).toHaveTextContent('checked 25 s ago'));
  });
});
