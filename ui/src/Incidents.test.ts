// Incidents in the window: the list with who has each incident, the actions on a row, the
// detail with its evidence and live timeline, and the alarm banner.
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { InvokeArgs } from '@tauri-apps/api/core';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import App from './App.svelte';
import type { EngineEvent } from './lib/bindings/EngineEvent';
import type { IncidentAction } from './lib/bindings/IncidentAction';
import type { IncidentDetail } from './lib/bindings/IncidentDetail';
import type { IncidentView } from './lib/bindings/IncidentView';
import type { Snapshot } from './lib/bindings/Snapshot';
import type { TimelineEntry } from './lib/bindings/TimelineEntry';
import { formatClock } from './lib/format';
import { incident, snapshot } from './test/fixtures';

const MIN = 60_000;

function ago(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

type Handler = (args: Record<string, unknown>) => unknown;

/** The shell: `get_snapshot` answers `snap`, other commands per `handlers`; records calls. */
function shell(snap: Snapshot, handlers: Record<string, Handler> = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, args: InvokeArgs | undefined) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === 'get_snapshot') return snap;
      const h = handlers[cmd];
      if (h) return h(a);
      throw { code: 'unknown_command', message: `no ${cmd}` };
    },
    { shouldMockEvents: true },
  );
  return calls;
}

/** Opens the Incidents tab once the window has loaded. */
async function openIncidents(): Promise<void> {
  await userEvent.click(await screen.findByRole('tab', { name: /incidents/i }));
}

function row(id: number): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="incident-row"][data-incident-id="${id}"]`);
  if (!el) throw new Error(`no incident row ${id}`);
  return el;
}

const EVIDENCE = [
  'HTTP 503',
  'failed: [STATUS] (503) == 200',
  'latency: 12 ms',
  '3 failed checks in a row, first at 11:57:10, last at 11:58:10',
].join('\n');

function timeline(...extra: TimelineEntry[]): TimelineEntry[] {
  return [
    { id: 1, at: ago(5 * MIN), kind: 'triggered', actor: 'monitor api', detail: EVIDENCE },
    { id: 2, at: ago(5 * MIN - 1_000), kind: 'notified', actor: 'foghorn', detail: 'critical notification shown and alarm rung' },
    ...extra,
  ];
}

function detailOf(i: IncidentView, entries: TimelineEntry[]): IncidentDetail {
  return {
    incident: i,
    signals: [
      {
        dedupKey: 'api:down',
        source: 'monitor',
        summary: 'api is down',
        severity: 'critical',
        link: null,
        startedAt: ago(5 * MIN),
        lastSeenAt: ago(10_000),
        endedAt: null,
      },
    ],
    timeline: entries,
    ladder: [],
  };
}

describe('incidents', () => {
  it('lists open incidents first, with severity, age and who has them', async () => {
    const snoozedUntil = new Date(Date.now() + 8 * MIN).toISOString();
    shell(
      snapshot({
        incidents: [
          incident({ id: 1, title: 'old outage', state: 'resolved', ackedBy: 'Bob', openedAt: ago(9 * MIN), resolvedAt: ago(MIN) }),
          incident({ id: 2, title: 'slow api', severity: 'major', state: 'acknowledged', ackedBy: 'Alice Smith', ackedAt: ago(MIN) }),
          incident({ id: 3, title: 'db is down', openedAt: ago(3 * MIN + 5_000), snoozedUntil, assignee: 'Carol' }),
        ],
      }),
    );
    render(App);
    await openIncidents();

    const rows = screen.getAllByTestId('incident-row');
    expect(rows.map((r) => r.dataset.incidentId)).toEqual(['3', '2', '1']);
    expect(rows.map((r) => r.dataset.state)).toEqual(['triggered', 'acknowledged', 'resolved']);
    expect(within(rows[0]).getByTestId('severity-chip')).toHaveTextContent('critical');
    expect(within(rows[0]).getByTestId('incident-age')).toHaveTextContent('open 3 min');
    expect(within(rows[0]).getByTestId('incident-snoozed-until')).toHaveTextContent(
      `snoozed until ${formatClock(snoozedUntil, Date.now())}`,
    );
    expect(within(rows[0]).getByTestId('incident-assignee')).toHaveTextContent('taken by Carol');
    expect(within(rows[0]).queryByTestId('incident-acked-by')).not.toBeInTheDocument();
    expect(within(rows[1]).getByTestId('incident-acked-by')).toHaveTextContent('acked by Alice Smith');
    expect(within(rows[2]).getByTestId('incident-acked-by')).toHaveTextContent('acked by Bob');

    // Acknowledge only while triggered; resolved rows have no actions.
    expect(within(rows[0]).getByTestId('incident-ack')).toBeVisible();
    expect(within(rows[1]).queryByTestId('incident-ack')).not.toBeInTheDocument();
    expect(within(rows[1]).getByTestId('incident-snooze')).toHaveTextContent('Snooze 10 min');
    expect(within(rows[1]).getByTestId('incident-take')).toHaveTextContent('Take it');
    expect(within(rows[1]).getByTestId('incident-resolve')).toHaveTextContent('Resolve');
    for (const testid of ['incident-ack', 'incident-snooze', 'incident-take', 'incident-resolve']) {
      expect(within(rows[2]).queryByTestId(testid)).not.toBeInTheDocument();
    }
  });

  it('acknowledges with act_on_incident, showing progress, then the new state', async () => {
    let answer: (i: IncidentView) => void = () => {};
    const calls = shell(snapshot({ incidents: [incident({ id: 4, title: 'api is down' })] }), {
      act_on_incident: () => new Promise<IncidentView>((resolve) => (answer = resolve)),
    });
    render(App);
    await openIncidents();

    const ack = within(row(4)).getByTestId('incident-ack');
    await userEvent.click(ack);
    expect(calls.filter((c) => c.cmd === 'act_on_incident').map((c) => c.args)).toEqual([
      { id: 4, action: 'acknowledge' },
    ]);
    expect(ack).toHaveAttribute('aria-busy', 'true');
    expect(ack).toHaveTextContent('Acknowledging…');
    expect(within(row(4)).getByTestId('incident-resolve')).toBeDisabled();

    answer(incident({ id: 4, title: 'api is down', state: 'acknowledged', ackedBy: 'Alice Smith', ackedAt: ago(0) }));
    await waitFor(() => expect(row(4).dataset.state).toBe('acknowledged'));
    expect(within(row(4)).getByTestId('incident-acked-by')).toHaveTextContent('acked by Alice Smith');
    expect(within(row(4)).queryByTestId('incident-ack')).not.toBeInTheDocument();
    expect(within(row(4)).getByTestId('incident-action-result')).toHaveTextContent('Acknowledged by Alice Smith');
    // The button is not a click on the row: the row stays closed.
    expect(within(row(4)).queryByTestId('incident-detail')).not.toBeInTheDocument();
  });

  it('shows why an action failed, under its row', async () => {
    shell(snapshot({ incidents: [incident({ id: 5 })] }), {
      act_on_incident: () => {
        throw { code: 'conflict', message: 'incident 5 is already resolved' };
      },
    });
    render(App);
    await openIncidents();

    await userEvent.click(within(row(5)).getByTestId('incident-ack'));
    const error = await within(row(5)).findByTestId('incident-action-error');
    expect(error).toHaveAttribute('role', 'alert');
    expect(error).toHaveTextContent("Couldn't acknowledge it: incident 5 is already resolved");
    const ack = within(row(5)).getByTestId('incident-ack');
    expect(ack).not.toHaveAttribute('aria-busy', 'true');
    expect(ack).toBeEnabled();
    expect(row(5).dataset.state).toBe('triggered');

    await userEvent.click(within(error).getByRole('button', { name: /dismiss/i }));
    expect(within(row(5)).queryByTestId('incident-action-error')).not.toBeInTheDocument();
  });

  it('resolves, snoozes and takes with their own actions, and shows what happened', async () => {
    const actions: IncidentAction[] = [];
    const until = new Date(Date.now() + 10 * MIN).toISOString();
    shell(snapshot({ incidents: [incident({ id: 6 })] }), {
      act_on_incident: (a) => {
        actions.push(a.action as IncidentAction);
        if (a.action === 'snooze') return incident({ id: 6, snoozedUntil: until });
        if (a.action === 'reassignToMe') return incident({ id: 6, snoozedUntil: until, assignee: 'Alice Smith' });
        return incident({ id: 6, snoozedUntil: until, assignee: 'Alice Smith', state: 'resolved', resolvedAt: ago(0) });
      },
    });
    render(App);
    await openIncidents();

    await userEvent.click(within(row(6)).getByTestId('incident-snooze'));
    expect(await within(row(6)).findByTestId('incident-snoozed-until')).toHaveTextContent(
      `snoozed until ${formatClock(until, Date.now())}`,
    );
    await userEvent.click(within(row(6)).getByTestId('incident-take'));
    expect(await within(row(6)).findByTestId('incident-assignee')).toHaveTextContent('taken by Alice Smith');
    await userEvent.click(within(row(6)).getByTestId('incident-resolve'));
    await waitFor(() => expect(row(6).dataset.state).toBe('resolved'));
    expect(within(row(6)).getByTestId('incident-action-result')).toHaveTextContent('Resolved');
    expect(screen.getByTestId('no-open-incidents')).toBeVisible();
    expect(actions).toEqual(['snooze', 'reassignToMe', 'resolve']);
  });

  it('opens the detail: evidence, signals and timeline, read again on each change', async () => {
    const open = incident({ id: 7, openedAt: ago(5 * MIN) });
    let entries = timeline();
    const reads: number[] = [];
    shell(snapshot({ incidents: [open] }), {
      get_incident: (a) => {
        reads.push(a.id as number);
        return detailOf(open, entries);
      },
    });
    render(App);
    await openIncidents();

    const main = within(row(7)).getByRole('button', { name: /api is down/ });
    expect(main).toHaveAttribute('aria-expanded', 'false');
    await userEvent.click(main);
    expect(main).toHaveAttribute('aria-expanded', 'true');

    const detail = within(row(7)).getByTestId('incident-detail');
    const evidence = await within(detail).findByTestId('incident-evidence');
    // Its lines stay lines.
    expect(evidence.textContent).toBe(EVIDENCE);
    expect(within(detail).getByTestId('escalation-state')).toHaveTextContent('No escalation policy');
    expect(within(detail).getByTestId('incident-signal')).toHaveTextContent('api is down');
    expect(within(detail).getByTestId('incident-signal')).toHaveTextContent('ongoing');

    let shown = within(detail).getAllByTestId('timeline-entry');
    expect(shown.map((e) => e.dataset.kind)).toEqual(['triggered', 'notified']);
    expect(shown[0]).toHaveTextContent('Triggered');
    expect(shown[0]).toHaveTextContent('monitor api');
    // The evidence is shown once, above; the entry keeps its first line.
    expect(shown[0]).toHaveTextContent('HTTP 503');
    expect(shown[0]).not.toHaveTextContent('latency: 12 ms');
    expect(shown[1]).toHaveTextContent('Notified');
    expect(shown[1]).toHaveTextContent('critical notification shown and alarm rung');
    expect(reads).toEqual([7]);

    // Someone acknowledges from the tray: the timeline grows.
    entries = timeline({ id: 3, at: ago(0), kind: 'acknowledged', actor: 'Bob', detail: '' });
    const event: EngineEvent = {
      type: 'incident',
      incident: incident({ id: 7, openedAt: open.openedAt, state: 'acknowledged', ackedBy: 'Bob' }),
    };
    await emit('engine-event', event);
    await waitFor(() => expect(within(detail).getAllByTestId('timeline-entry')).toHaveLength(3));
    shown = within(detail).getAllByTestId('timeline-entry');
    expect(shown[2]).toHaveAttribute('data-kind', 'acknowledged');
    expect(shown[2]).toHaveTextContent('Acknowledged');
    expect(shown[2]).toHaveTextContent('Bob');
    expect(reads).toEqual([7, 7]);

    // An event about another incident reads nothing.
    await emit('engine-event', { type: 'incident', incident: incident({ id: 8, title: 'db is down' }) } satisfies EngineEvent);
    await waitFor(() => expect(screen.getAllByTestId('incident-row')).toHaveLength(2));
    expect(reads).toEqual([7, 7]);

    // Closing it with the keyboard.
    main.focus();
    await userEvent.keyboard('{Enter}');
    expect(within(row(7)).queryByTestId('incident-detail')).not.toBeInTheDocument();
  });

  it('says when the detail cannot be read', async () => {
    shell(snapshot({ incidents: [incident({ id: 9 })] }), {
      get_incident: () => {
        throw { code: 'not_found', message: 'there is no incident 9' };
      },
    });
    render(App);
    await openIncidents();
    await userEvent.click(within(row(9)).getByRole('button', { name: /api is down/ }));
    expect(await within(row(9)).findByRole('alert')).toHaveTextContent(
      "Couldn't read the incident: there is no incident 9",
    );
  });

  it('rings: a banner with the incident and Acknowledge, and the bell on its row', async () => {
    const calls = shell(
      snapshot({
        onCall: true,
        incidents: [incident({ id: 10, title: 'checkout is down' }), incident({ id: 11, title: 'search is slow', severity: 'minor' })],
        ringing: [10],
      }),
      {
        act_on_incident: (a) => incident({ id: a.id as number, title: 'checkout is down', state: 'acknowledged', ackedBy: 'Alice Smith' }),
      },
    );
    render(App);

    const banner = await screen.findByTestId('alarm-banner');
    expect(banner).toHaveAttribute('role', 'alert');
    expect(banner).toHaveTextContent('Alarm ringing: checkout is down');
    expect(screen.getByTestId('on-call')).toHaveTextContent('You are on call — critical incidents ring the alarm');

    await openIncidents();
    const bell = within(row(10)).getByTestId('incident-ringing');
    expect(bell).toHaveTextContent('Alarm ringing');
    expect(within(row(11)).queryByTestId('incident-ringing')).not.toBeInTheDocument();

    await userEvent.click(within(banner).getByTestId('alarm-ack'));
    expect(calls.filter((c) => c.cmd === 'act_on_incident').map((c) => c.args)).toEqual([
      { id: 10, action: 'acknowledge' },
    ]);
    await waitFor(() => expect(row(10).dataset.state).toBe('acknowledged'));

    // The shell stops the alarm and says so.
    await emit('engine-event', { type: 'ringing', incidents: [] } satisfies EngineEvent);
    await waitFor(() => expect(screen.queryByTestId('alarm-banner')).not.toBeInTheDocument());
    expect(within(row(10)).queryByTestId('incident-ringing')).not.toBeInTheDocument();
  });

  it('raises the banner for an alert that arrives while the window is open', async () => {
    shell(snapshot(), {
      act_on_incident: () => {
        throw { code: 'not_found', message: 'there is no incident 12' };
      },
    });
    render(App);
    await screen.findByTestId('monitor-list');
    expect(screen.queryByTestId('alarm-banner')).not.toBeInTheDocument();
    expect(screen.queryByTestId('on-call')).not.toBeInTheDocument();

    await emit('engine-event', { type: 'alert', incident: incident({ id: 12, title: 'payments are down' }) } satisfies EngineEvent);
    await emit('engine-event', { type: 'ringing', incidents: [12] } satisfies EngineEvent);
    const banner = await screen.findByTestId('alarm-banner');
    expect(banner).toHaveTextContent('Alarm ringing: payments are down');
    expect(screen.getByRole('tab', { name: /incidents/i })).toHaveTextContent('1 open');

    await userEvent.click(within(banner).getByTestId('alarm-ack'));
    expect(await within(banner).findByTestId('alarm-error')).toHaveTextContent(
      "Couldn't acknowledge it: there is no incident 12",
    );

    // Show takes the person to the incident, opened.
    await userEvent.click(within(banner).getByTestId('alarm-show'));
    expect(screen.getByRole('tab', { name: /incidents/i })).toHaveAttribute('aria-selected', 'true');
    expect(within(row(12)).getByTestId('incident-detail')).toBeVisible();
  });
});
