import type { InvokeArgs } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import App from './App.svelte';
import type { EscalationDraft } from './lib/bindings/EscalationDraft';
import { snapshot } from './test/fixtures';

const LADDER: EscalationDraft = {
  steps: [
    {
      after: '0s',
      action: 'chat',
      minSeverity: null,
      unacknowledged: true,
      nobodyOnline: false,
      url: null,
      secret: null,
    },
  ],
  onlineWithin: '5m',
  mention: ['@here'],
  phones: [{ name: 'Alice Smith', number: '+15550100' }],
};

type Handler = (args: Record<string, unknown>) => unknown;

function shell(handlers: Record<string, Handler> = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args: InvokeArgs | undefined) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const h = handlers[cmd];
    if (h) return h(a);
    switch (cmd) {
      case 'get_snapshot':
        return snapshot();
      case 'get_escalation_draft':
        return LADDER;
      default:
        throw { code: 'unknown_command', message: `no ${cmd}` };
    }
  });
  return calls;
}

async function openTab(user: ReturnType<typeof userEvent.setup>): Promise<HTMLElement> {
  render(App);
  await user.click(await screen.findByTestId('tab-escalation'));
  const editor = await screen.findByTestId('escalation-editor');
  await within(editor).findAllByTestId('step-row');
  return editor;
}

describe('the escalation tab', () => {
  it('loads the ladder from the file', async () => {
    const user = userEvent.setup();
    const calls = shell();
    const editor = await openTab(user);
    expect(calls.some((c) => c.cmd === 'get_escalation_draft')).toBe(true);
    const rows = within(editor).getAllByTestId('step-row');
    expect(rows).toHaveLength(1);
    expect(within(rows[0]).getByTestId('step-after')).toHaveValue('0s');
    expect(within(rows[0]).getByTestId('step-action')).toHaveValue('chat');
    expect(within(editor).getByTestId('escalation-mention')).toHaveValue('@here');
    expect(within(editor).queryByTestId('step-url')).not.toBeInTheDocument();
  });

  it('adds a step and saves the draft it shows', async () => {
    const user = userEvent.setup();
    const calls = shell({ save_escalation: (a) => a.draft });
    const editor = await openTab(user);
    await user.click(within(editor).getByTestId('step-add'));
    const rows = within(editor).getAllByTestId('step-row');
    expect(rows).toHaveLength(2);
    const after = within(rows[1]).getByTestId('step-after');
    await user.clear(after);
    await user.type(after, '10m');
    await user.selectOptions(within(rows[1]).getByTestId('step-action'), 'webhook');
    await user.type(within(rows[1]).getByTestId('step-url'), 'https://hooks.example.com/in');
    await user.type(within(rows[1]).getByTestId('step-secret'), 'keyring:hook');
    await user.click(within(rows[1]).getByLabelText('Only when nobody is online'));

    await user.click(within(editor).getByTestId('escalation-save'));
    expect(await within(editor).findByTestId('escalation-saved')).toHaveTextContent('Saved');
    const saved = calls.find((c) => c.cmd === 'save_escalation');
    expect(saved?.args.draft).toEqual({
      ...LADDER,
      steps: [
        LADDER.steps[0],
        {
          after: '10m',
          action: 'webhook',
          minSeverity: null,
          unacknowledged: true,
          nobodyOnline: true,
          url: 'https://hooks.example.com/in',
          secret: 'keyring:hook',
        },
      ],
    });
  });

  it('moves and removes steps', async () => {
    const user = userEvent.setup();
    const calls = shell({ save_escalation: (a) => a.draft });
    const editor = await openTab(user);
    await user.click(within(editor).getByTestId('step-add'));
    await user.click(within(editor).getByRole('button', { name: 'Move step 2 up' }));
    let rows = within(editor).getAllByTestId('step-row');
    expect(within(rows[0]).getByTestId('step-action')).toHaveValue('sms');
    await user.click(within(rows[1]).getByTestId('step-remove'));
    rows = within(editor).getAllByTestId('step-row');
    expect(rows).toHaveLength(1);
    await user.click(within(editor).getByTestId('escalation-save'));
    await within(editor).findByTestId('escalation-saved');
    const draft = calls.find((c) => c.cmd === 'save_escalation')?.args.draft as EscalationDraft;
    expect(draft.steps.map((s) => s.action)).toEqual(['sms']);
  });

  it("shows the save's problem next to the field it names", async () => {
    const user = userEvent.setup();
    shell({
      save_escalation: () => {
        throw {
          code: 'invalid_draft',
          message: 'invalid duration "soon"; write it like "30s", "5m" or "1h"',
          field: 'steps[1].after',
        };
      },
    });
    const editor = await openTab(user);
    await user.click(within(editor).getByTestId('step-add'));
    const rows = within(editor).getAllByTestId('step-row');
    const after = within(rows[1]).getByTestId('step-after');
    await user.clear(after);
    await user.type(after, 'soon');
    await user.click(within(editor).getByTestId('escalation-save'));

    const error = await within(rows[1]).findByTestId('escalation-error');
    expect(error).toHaveTextContent('invalid duration "soon"');
    expect(error).toHaveAttribute('data-field', 'steps[1].after');
    expect(after).toHaveAttribute('aria-invalid', 'true');
    expect(within(rows[0]).queryByTestId('escalation-error')).not.toBeInTheDocument();
    expect(within(editor).queryByTestId('escalation-saved')).not.toBeInTheDocument();
  });

  it('shows a file changed on disk below the form', async () => {
    const user = userEvent.setup();
    shell({
      save_escalation: () => {
        throw { code: 'changed_on_disk', message: 'foghorn.toml changed on disk since the editor read it' };
      },
    });
    const editor = await openTab(user);
    await user.click(within(editor).getByTestId('escalation-save'));
    const error = await within(editor).findByTestId('escalation-error');
    expect(error).toHaveTextContent('changed on disk');
    expect(error).not.toHaveAttribute('data-field');
    await waitFor(() => expect(within(editor).getByTestId('escalation-save')).toBeEnabled());
  });
});
