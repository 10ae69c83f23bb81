import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';

import { actOnIncident, getIncident, getSnapshot, NO_SHELL, setMute, toIpcError } from './api';
import { incident } from '../test/fixtures';

describe('toIpcError', () => {
  it('keeps an IpcError as it is', () => {
    expect(toIpcError({ code: 'busy', message: 'try later', extra: 1 })).toEqual({
      code: 'busy',
      message: 'try later',
      field: null,
    });
  });

  it('keeps the field a refusal is about, apart from its message', () => {
    expect(toIpcError({ code: 'invalid_draft', message: 'must be at least 1s', field: 'interval' })).toEqual({
      code: 'invalid_draft',
      message: 'must be at least 1s',
      field: 'interval',
    });
    expect(toIpcError({ code: 'invalid_draft', message: 'x', field: 3 }).field).toBeNull();
  });

  it('normalises errors, strings and junk', () => {
    expect(toIpcError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom', field: null });
    expect(toIpcError('plain text')).toEqual({ code: 'unknown', message: 'plain text', field: null });
    expect(toIpcError(undefined).code).toBe('unknown');
    expect(toIpcError(42).message).toMatch(/went wrong/);
  });
});

describe('commands', () => {
  it('rejects with no_shell outside the Foghorn shell', async () => {
    await expect(getSnapshot()).rejects.toMatchObject({ code: NO_SHELL });
  });

  it('passes arguments and normalises rejections', async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      throw 'engine gone';
    });
    await expect(setMute('fourHours')).rejects.toEqual({ code: 'unknown', message: 'engine gone', field: null });
    expect(calls).toEqual([['set_mute', { choice: 'fourHours' }]]);
  });

  it('acts on an incident and reads its detail', async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'act_on_incident') return incident({ id: 4, state: 'acknowledged', ackedBy: 'Alice' });
      if (cmd === 'get_incident') return { incident: incident({ id: 4 }), signals: [], timeline: [], ladder: [] };
      throw { code: 'not_found', message: 'no incident 5' };
    });
    await expect(actOnIncident(4, 'acknowledge')).resolves.toMatchObject({ ackedBy: 'Alice' });
    await expect(getIncident(4)).resolves.toMatchObject({ incident: { id: 4 }, timeline: [] });
    expect(calls).toEqual([
      ['act_on_incident', { id: 4, action: 'acknowledge' }],
      ['get_incident', { id: 4 }],
    ]);
  });
});
