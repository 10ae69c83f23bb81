// An incident's escalation ladder in the window: the next step with its countdown, Skip and
// Escalate now, and the end of the ladder.
import { mockIPC, clearMocks } from '@tauri-apps/api/mocks';
import type { InvokeArgs } from '@tauri-apps/api/core';
import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';

import EscalationState from './lib/components/EscalationState.svelte';
import type { LadderStep } from './lib/bindings/LadderStep';

const inMinutes = (m: number) => new Date(Date.now() + m * 60_000 + 30_000).toISOString();

const ladder: LadderStep[] = [
  { step: 0, action: 'chat', dueAt: inMinutes(-5), state: 'fired', note: 'post to the team channel' },
  { step: 1, action: 'sms', dueAt: inMinutes(2), state: 'pending', note: null },
  { step: 2, action: 'call', dueAt: inMinutes(7), state: 'pending', note: null },
];

afterEach(() => clearMocks());

describe('EscalationState', () => {
  it('shows the next step with a countdown and skips or escalates it', async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args: InvokeArgs | undefined) => {
      if (cmd === 'ladder_action') {
        calls.push(args);
        return null;
      }
      throw new Error(`unexpected ${cmd}`);
    });
    render(EscalationState, { incidentId: 12, ladder, open: true });
    const state = screen.getByTestId('escalation-state');
    expect(state).toHaveTextContent(/Step 2 of 3: text the person on call in 2:[0-9]{2}/);
    await userEvent.click(screen.getByTestId('ladder-skip'));
    await userEvent.click(screen.getByTestId('ladder-now'));
    expect(calls).toEqual([
      { id: 12, skip: true },
      { id: 12, skip: false },
    ]);
  });

  it('says when the ladder is done, and when there is none', () => {
    const done = ladder.map((s) => ({ ...s, state: s.step === 0 ? 'fired' : 'cancelled' }));
    const { unmount } = render(EscalationState, { incidentId: 12, ladder: done, open: true });
    expect(screen.getByTestId('escalation-state')).toHaveTextContent('Ladder finished: 1 of 3 steps fired');
    unmount();
    render(EscalationState, { incidentId: 12, ladder: [], open: true });
    expect(screen.getByTestId('escalation-state')).toHaveTextContent('No escalation policy');
  });
});
