import type { InvokeArgs } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';

import App from './App.svelte';
import type { DraftInput } from './lib/bindings/DraftInput';
import type { Preview } from './lib/bindings/Preview';
import type { StatusOverview } from './lib/bindings/StatusOverview';
import type { StatusSetup } from './lib/bindings/StatusSetup';
import { incident, iso, snapshot } from './test/fixtures';

const SETUP: StatusSetup = {
  product: 'Acme',
  components: ['API', 'Dashboard'],
  destinations: ['statuspage', 'chat', 'page', 'webhook'],
  nextUpdateMinutes: 30,
  page: '/home/alice/acme-status/index.html',
  states: ['investigating', 'identified', 'monitoring', 'resolved', 'scheduled', 'in_progress', 'verifying', 'completed'],
  componentStatuses: ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'],
};

function preview(draft: DraftInput): Preview {
  const state = draft.state ?? 'investigating';
  return {
    title: draft.title ?? 'API is down',
    state,
    components: Object.keys(draft.components).length > 0 ? draft.components : { API: 'major_outage' },
    message: draft.message ?? `We are investigating problems with API (${state}).`,
    nextUpdateAt: iso(30 * 60_000),
    warnings: state === 'resolved' ? ['API is marked operational but its monitor "api" is still down'] : [],
    previews: SETUP.destinations.map((destination) => ({ destination, text: `${destination}: ${state}` })),
  };
}

function shell(overview: () => StatusOverview) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args: InvokeArgs | undefined) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case 'get_snapshot':
        return snapshot({ incidents: [incident({ id: 7, title: 'API is down' })] });
      case 'get_incident':
        return { incident: incident({ id: 7 }), signals: [], timeline: [], ladder: [] };
      case 'get_status_setup':
        return SETUP;
      case 'get_status_overview':
        return overview();
      case 'preview_status':
        return preview(a.draft as DraftInput);
      case 'publish_status':
        return { publicId: 1, updateId: 1 };
      case 'get_support_queue':
        return {
          conversations: [
            { id: '101', name: 'Ada', subject: 'Login is down?', waitingSince: null, answered: false, followedUp: false },
            { id: '102', name: 'Bob', subject: 'Errors everywhere', waitingSince: null, answered: true, followedUp: false },
          ],
          asked: 2,
          answered: 1,
          followedUp: 0,
          canned: 'Hi there, thanks for writing in.',
          resolved: false,
        };
      case 'send_support_replies':
        return 1;
      default:
        throw { code: 'unknown_command', message: `no ${cmd}` };
    }
  });
  return calls;
}

const NOTHING: StatusOverview = { publicIncident: null, latestUpdate: null, receipts: [], record: null };

describe('posting a status update', () => {
  beforeEach(() => localStorage.clear());

  it('takes three actions from an open incident: open it, Post update, Publish', async () => {
    const user = userEvent.setup();
    let published = false;
    const calls = shell(() =>
      published
        ? {
            publicIncident: null,
            latestUpdate: 1,
            receipts: [
              { destination: 'statuspage', state: 'waiting', attempts: 1, error: 'HTTP 429 (will retry)', receipt: null },
              { destination: 'chat', state: 'published', attempts: 1, error: null, receipt: null },
              { destination: 'page', state: 'published', attempts: 1, error: null, receipt: null },
              { destination: 'webhook', state: 'published', attempts: 1, error: null, receipt: null },
            ],
            record: {
              firstUpdateAfterSecs: 240,
              updates: 1,
              promisesDue: 0,
              promisesKept: 0,
              late: [],
              summary: 'first public update 4 min after the incident opened; 1 update',
            },
          }
        : NOTHING,
    );
    render(App, { initialTab: 'incidents' });
    await user.click(await screen.findByRole('button', { name: /api is down/i })); // 1
    await user.click(await screen.findByTestId('post-update')); // 2
    const composer = await screen.findByTestId('status-composer');
    // Pre-filled by the engine: title, the failing component, the first update's words.
    await waitFor(() => expect(within(composer).getByTestId<HTMLInputElement>('status-title').value).toBe('API is down'));
    expect(within(composer).getByTestId<HTMLSelectElement>('component-API').value).toBe('major_outage');
    expect(within(composer).getByTestId<HTMLTextAreaElement>('status-message').value).toContain('investigating');
    expect(within(composer).getAllByTestId('preview')).toHaveLength(4);
    published = true;
    await user.click(within(composer).getByTestId('publish')); // 3
    const sent = calls.find((c) => c.cmd === 'publish_status')?.args.draft as DraftInput;
    expect(sent).toMatchObject({ incidentId: 7, state: 'investigating', components: { API: 'major_outage' } });
    expect(await screen.findByTestId('receipt-line')).toHaveTextContent(
      '3/4 published · Statuspage waiting after HTTP 429 (will retry)',
    );
    expect(screen.getByTestId('public-record')).toHaveTextContent('first public update 4 min after the incident opened');
  });

  it('warns before resolving while a monitor is still down', async () => {
    const user = userEvent.setup();
    shell(() => NOTHING);
    render(App, { initialTab: 'incidents' });
    await user.click(await screen.findByRole('button', { name: /api is down/i }));
    await user.click(await screen.findByTestId('post-update'));
    await user.click(await screen.findByTestId('state-resolved'));
    expect(await screen.findByTestId('status-warning')).toHaveTextContent('still down');
  });

  it('the support view puts the incident, its queue and the answer first, and is remembered', async () => {
    const user = userEvent.setup();
    const calls = shell(() => NOTHING);
    const { unmount } = render(App);
    await user.click(await screen.findByTestId('view-support'));
    expect(await screen.findByTestId('support-incident')).toHaveTextContent('API is down');
    expect(await screen.findByTestId('support-counts')).toHaveTextContent('2 customers asked; 1 answered');
    await user.click(screen.getByTestId('support-answer-all'));
    expect(await screen.findByTestId('support-sent')).toHaveTextContent('1 reply on the way');
    expect(calls.some((c) => c.cmd === 'send_support_replies' && c.args.incident === 7)).toBe(true);
    unmount();
    render(App);
    expect(await screen.findByTestId('support-view')).toBeInTheDocument();
  });
});
