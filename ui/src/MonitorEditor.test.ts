import type { InvokeArgs } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import App from './App.svelte';
import type { CheckResult } from './lib/bindings/CheckResult';
import type { MonitorDraft } from './lib/bindings/MonitorDraft';
import type { Snapshot } from './lib/bindings/Snapshot';
import { LIMITS, monitor, snapshot } from './test/fixtures';

const DEFAULTS: MonitorDraft = {
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

const API: MonitorDraft = {
  ...DEFAULTS,
  name: 'api',
  url: 'https://api.example.com/health',
  interval: '1m',
  conditions: ['[STATUS] == 200'],
};

type Handler = (args: Record<string, unknown>) => unknown;

/** A shell whose conditions are invalid exactly when an operator lacks its spaces. */
function shell(handlers: Record<string, Handler> = {}, snap: () => Snapshot = () => snapshot()) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args: InvokeArgs | undefined) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const h = handlers[cmd];
    if (h) return h(a);
    switch (cmd) {
      case 'get_snapshot':
        return snap();
      case 'get_monitor_draft':
        return a.id === null ? DEFAULTS : API;
      case 'get_editor_limits':
        return LIMITS;
      case 'validate_condition': {
        const at = String(a.text).indexOf('==');
        return at > 0 && String(a.text)[at - 1] !== ' '
          ? { message: '`==` needs a space on both sides: write `[STATUS] == 200`', column: at + 1 }
          : null;
      }
      default:
        throw { code: 'unknown_command', message: `no ${cmd}` };
    }
  });
  return calls;
}

function editor(): HTMLElement {
  return screen.getByTestId('monitor-editor');
}

describe('the monitor editor', () => {
  it('adds a monitor: live condition errors, Test now, then Save', async () => {
    const user = userEvent.setup();
    const result: CheckResult = {
      at: '2025-06-01T12:00:00Z',
      ok: true,
      latencyMs: 4,
      error: null,
      outcomes: [{ condition: '[STATUS] == 200', ok: true, resolved: '[STATUS] (200) == 200' }],
      unreachable: false,
    };
    let listed = snapshot();
    const calls = shell(
      {
        test_monitor: () => result,
        save_monitor: () => {
          listed = snapshot({ monitors: [...listed.monitors, monitor({ id: 'checkout', name: 'checkout', status: 'pending' })] });
          return 'checkout';
        },
      },
      () => listed,
    );
    render(App);
    await user.click(await screen.findByTestId('add-monitor'));

    const dialog = await screen.findByRole('dialog', { name: 'Add monitor' });
    const name = await within(dialog).findByTestId('editor-name');
    await waitFor(() => expect(name).toHaveFocus());
    const save = within(dialog).getByTestId('editor-save');
    expect(save).toBeDisabled();

    await user.type(name, 'checkout');
    await user.type(within(dialog).getByTestId('editor-url'), 'http://127.0.0.1:8080/health');
    await user.click(within(dialog).getByRole('button', { name: /add condition/i }));
    const condition = within(dialog).getByTestId('editor-condition');
    expect(condition).toHaveFocus();
    await user.type(condition, '[[STATUS]==200');

    const error = await within(dialog).findByTestId('editor-condition-error');
    expect(error).toHaveTextContent('needs a space on both sides');
    // The caret sits under the ninth character, the first `=`.
    expect(error.querySelector('pre')?.textContent).toBe('[STATUS]==200\n        ^');
    expect(condition).toHaveAttribute('aria-invalid', 'true');
    expect(save).toBeDisabled();
    expect(within(dialog).getByTestId('editor-test')).toBeDisabled();

    await user.clear(condition);
    await user.type(condition, '[[STATUS] == 200');
    await waitFor(() => expect(within(dialog).queryByTestId('editor-condition-error')).not.toBeInTheDocument());
    await waitFor(() => expect(save).toBeEnabled());

    await user.click(within(dialog).getByTestId('editor-test'));
    const line = await within(dialog).findByTestId('editor-test-line');
    expect(line).toHaveTextContent('✓');
    expect(line).toHaveTextContent('[STATUS] (200) == 200');
    expect(within(dialog).getByText('Passed in 4 ms')).toBeVisible();

    await user.click(save);
    await waitFor(() => expect(screen.queryByTestId('monitor-editor')).not.toBeInTheDocument());
    const saved = calls.find((c) => c.cmd === 'save_monitor');
    expect(saved?.args.original).toBeNull();
    expect(saved?.args.draft).toMatchObject({
      name: 'checkout',
      url: 'http://127.0.0.1:8080/health',
      conditions: ['[STATUS] == 200'],
      interval: '30s',
    });
    expect(await screen.findByText('checkout')).toBeVisible();
  });

  it('edits a monitor from its row and saves in place of the original', async () => {
    const user = userEvent.setup();
    const calls = shell({ save_monitor: () => 'api' });
    render(App);
    const row = (await screen.findAllByTestId('monitor-row'))[0];
    await user.click(within(row).getByRole('button', { name: 'Edit api' }));

    const dialog = await screen.findByRole('dialog', { name: 'Edit monitor' });
    const interval = await within(dialog).findByLabelText('Check every');
    expect(interval).toHaveValue('1m');
    expect(within(dialog).getByTestId('editor-url')).toHaveValue('https://api.example.com/health');
    await user.clear(interval);
    await user.type(interval, '5m');
    await waitFor(() => expect(within(dialog).getByTestId('editor-save')).toBeEnabled());
    await user.click(within(dialog).getByTestId('editor-save'));

    await waitFor(() => expect(screen.queryByTestId('monitor-editor')).not.toBeInTheDocument());
    const saved = calls.find((c) => c.cmd === 'save_monitor');
    expect(saved?.args).toMatchObject({ original: 'api', draft: { ...API, interval: '5m' } });
  });

  it('keeps the editor open and says why when saving fails', async () => {
    const user = userEvent.setup();
    shell({
      save_monitor: () => {
        throw { code: 'changed_on_disk', message: 'foghorn.toml changed on disk; reopen the editor' };
      },
    });
    render(App);
    await user.click((await screen.findAllByTestId('monitor-edit'))[0]);
    const save = await screen.findByTestId('editor-save');
    await waitFor(() => expect(save).toBeEnabled());
    await user.click(save);
    expect(await screen.findByTestId('editor-error')).toHaveTextContent('changed on disk; reopen the editor');
    expect(editor()).toBeInTheDocument();
  });

  it("shows a refusal next to the field the shell names, until that field changes", async () => {
    const user = userEvent.setup();
    shell({
      save_monitor: () => {
        throw { code: 'invalid_draft', message: 'must be at least 2m here', field: 'interval' };
      },
    });
    render(App);
    await user.click((await screen.findAllByTestId('monitor-edit'))[0]);
    const save = await screen.findByTestId('editor-save');
    await waitFor(() => expect(save).toBeEnabled());
    await user.click(save);

    const interval = within(editor()).getByLabelText('Check every');
    await waitFor(() => expect(interval).toHaveAttribute('aria-invalid', 'true'));
    expect(within(editor()).getByText('must be at least 2m here')).toBeVisible();
    expect(within(editor()).queryByTestId('editor-error')).not.toBeInTheDocument();

    await user.type(interval, '0');
    expect(within(editor()).queryByText('must be at least 2m here')).not.toBeInTheDocument();
    expect(interval).toHaveAttribute('aria-invalid', 'false');
  });

  it('offers the methods the loader takes and checks durations against its bounds', async () => {
    const user = userEvent.setup();
    shell({ get_editor_limits: () => ({ ...LIMITS, methods: ['GET', 'QUERY'], interval: { ...LIMITS.interval, max: '2m', maxMs: 120_000 } }) });
    render(App);
    await user.click((await screen.findAllByTestId('monitor-edit'))[0]);
    const method = await within(editor()).findByLabelText('Method');
    expect(Array.from((method as HTMLSelectElement).options).map((o) => o.value)).toEqual(['GET', 'QUERY']);
    const interval = within(editor()).getByLabelText('Check every');
    await user.clear(interval);
    await user.type(interval, '5m');
    await user.tab();
    expect(within(editor()).getByText('Interval must be at most 2m')).toBeVisible();
    expect(within(editor()).getByTestId('editor-save')).toBeDisabled();
  });

  it('deletes only after a confirmation', async () => {
    const user = userEvent.setup();
    const calls = shell({ delete_monitor: () => null });
    render(App);
    await user.click((await screen.findAllByTestId('monitor-edit'))[0]);
    await user.click(await screen.findByTestId('editor-delete'));
    expect(calls.some((c) => c.cmd === 'delete_monitor')).toBe(false);
    const confirm = screen.getByTestId('editor-confirm-delete');
    expect(confirm).toHaveFocus();
    expect(editor()).toHaveTextContent('Delete api?');

    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('editor-confirm-delete')).not.toBeInTheDocument();
    expect(screen.getByTestId('editor-delete')).toHaveFocus();

    await user.click(screen.getByTestId('editor-delete'));
    await user.click(screen.getByTestId('editor-confirm-delete'));
    await waitFor(() => expect(screen.queryByTestId('monitor-editor')).not.toBeInTheDocument());
    expect(calls.find((c) => c.cmd === 'delete_monitor')?.args).toEqual({ id: 'api' });
  });

  it('closes with Escape and gives focus back to the button that opened it', async () => {
    const user = userEvent.setup();
    shell();
    render(App);
    const add = await screen.findByTestId('add-monitor');
    await user.click(add);
    await waitFor(() => expect(screen.getByTestId('editor-name')).toHaveFocus());
    await user.keyboard('{Escape}');
    expect(screen.queryByTestId('monitor-editor')).not.toBeInTheDocument();
    expect(add).toHaveFocus();
  });

  it('keeps Tab inside the editor', async () => {
    const user = userEvent.setup();
    shell();
    render(App);
    await user.click(await screen.findByTestId('add-monitor'));
    await waitFor(() => expect(screen.getByTestId('editor-name')).toHaveFocus());
    await user.keyboard('{Shift>}{Tab}{/Shift}');
    expect(editor()).toContainElement(document.activeElement as HTMLElement);
  });
});
