import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import App from './App.svelte';
import type { EngineEvent } from './lib/bindings/EngineEvent';
import type { Snapshot } from './lib/bindings/Snapshot';
import { feed, snapshot } from './test/fixtures';

function shell(snap: Snapshot) {
  mockIPC(
    (cmd) => {
      if (cmd === 'get_snapshot') return snap;
      throw { code: 'unknown_command', message: `no ${cmd}` };
    },
    { shouldMockEvents: true },
  );
}

function row(name: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="feed-row"][data-feed="${name}"]`);
  if (!el) throw new Error(`no feed row ${name}`);
  return el;
}

describe('the Feeds tab', () => {
  it("lists each feed's state, last good poll, latency, alerts and error, live", async () => {
    const user = userEvent.setup();
    shell(
      snapshot({
        feeds: [
          feed({ name: 'team-am', alerts: 2, latencyMs: 38, lastOkAt: new Date(Date.now() - 20_000).toISOString() }),
          feed({ name: 'pd', kind: 'pagerduty', ok: false, failures: 3, error: 'pd: unreachable: connection refused' }),
        ],
      }),
    );
    render(App);
    const tab = await screen.findByRole('tab', { name: /feeds/i });
    expect(tab).toHaveTextContent('1 failing');
    await user.click(tab);
    expect(screen.getByRole('tabpanel', { name: /feeds/i })).toBeVisible();

    const am = row('team-am');
    expect(am).toHaveAttribute('data-state', 'ok');
    expect(within(am).getByTestId('feed-state')).toHaveTextContent('ok');
    expect(within(am).getByTestId('feed-alerts')).toHaveTextContent('2 alerts');
    expect(within(am).getByTestId('feed-latency')).toHaveTextContent('38 ms');
    expect(within(am).getByTestId('feed-last-ok')).toHaveTextContent(/answered 2\d s ago/);
    expect(am).toHaveTextContent('Alertmanager');
    expect(within(am).queryByTestId('feed-error')).not.toBeInTheDocument();

    const pd = row('pd');
    expect(pd).toHaveAttribute('data-state', 'failing');
    expect(pd).toHaveTextContent('PagerDuty');
    expect(within(pd).getByTestId('feed-error')).toHaveTextContent('connection refused');
    expect(pd).toHaveTextContent('3 failed polls in a row');

    // A `feed` event replaces that feed's health.
    const event: EngineEvent = { type: 'feed', health: feed({ name: 'pd', kind: 'pagerduty', alerts: 1 }) };
    await emit('engine-event', event);
    await waitFor(() => expect(row('pd')).toHaveAttribute('data-state', 'ok'));
    expect(within(row('pd')).getByTestId('feed-alerts')).toHaveTextContent('1 alert');
    expect(tab).toHaveTextContent('2');
  });

  it('says how to add one when there are none', async () => {
    const user = userEvent.setup();
    shell(snapshot());
    render(App);
    await user.click(await screen.findByRole('tab', { name: /feeds/i }));
    expect(screen.getByTestId('feeds-empty')).toHaveTextContent('[[feeds]]');
  });
});
