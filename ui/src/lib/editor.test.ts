import { afterEach, describe, expect, it, vi } from 'vitest';

import type { CheckResult } from './bindings/CheckResult';
import type { MonitorDraft } from './bindings/MonitorDraft';
import {
  caret,
  conditionRow,
  Debouncer,
  draftFromForm,
  formField,
  formFromDraft,
  formProblems,
  parseDuration,
  testLines,
  testSummary,
  type EditorForm,
} from './editor';
import { LIMITS } from '../test/fixtures';

const DRAFT: MonitorDraft = {
  name: 'api',
  group: null,
  url: 'https://api.example.com/health',
  interval: '30s',
  timeout: '10s',
  method: 'GET',
  headers: {},
  body: null,
  conditions: ['[STATUS] == 200'],
  failureThreshold: 2,
  successThreshold: 1,
  severity: 'major',
  insecure: false,
  followRedirects: 'same-host',
  heartbeat: null,
};

function form(over: Partial<EditorForm> = {}): EditorForm {
  return { ...formFromDraft(DRAFT), ...over };
}

function fields(f: EditorForm): string[] {
  return formProblems(f, LIMITS).map((p) => p.field);
}

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['1m', 60_000],
    ['1h 30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['2 days', 172_800_000],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ms });
  });

  it.each([
    ['', 'required'],
    ['30', 'needs a unit'],
    ['30 parsecs', 'not a time unit'],
    ['soon', 'not a duration'],
  ])('explains %j', (text, needle) => {
    const parsed = parseDuration(text);
    expect('problem' in parsed && parsed.problem).toContain(needle);
  });
});

describe('formProblems', () => {
  it('accepts a complete monitor', () => {
    expect(formProblems(form(), LIMITS)).toEqual([]);
  });

  it.each<[string, Partial<EditorForm>, string]>([
    ['no name', { name: '  ' }, 'name'],
    ['a name without letters', { name: '!!!' }, 'name'],
    ['no url', { url: '' }, 'url'],
    ['an ftp url', { url: 'ftp://files.example.com/' }, 'url'],
    ['both url and heartbeat', { heartbeat: '1h' }, 'url'],
    ['an interval under 1s', { interval: '500ms' }, 'interval'],
    ['a zero timeout', { timeout: '0s' }, 'timeout'],
    ['a heartbeat under 10s', { url: '', heartbeat: '5s' }, 'heartbeat'],
    ['an interval over a day', { interval: '25h' }, 'interval'],
    ['a timeout over 10m', { timeout: '11m' }, 'timeout'],
    ['a zero threshold', { failureThreshold: 0 }, 'thresholds'],
    ['an empty threshold', { successThreshold: null }, 'thresholds'],
    ['a header twice', { headers: [{ key: 1, name: 'A', value: '1' }, { key: 2, name: 'a', value: '2' }] }, 'headers'],
  ])('refuses %s', (_, over, field) => {
    expect(fields(form(over))).toEqual([field]);
  });

  it('refuses a condition the shell found invalid, but not a blank one', () => {
    const bad = { ...conditionRow('[STATUS]==200'), problem: { message: 'space', column: 9 } };
    expect(fields(form({ conditions: [bad] }))).toEqual(['conditions']);
    expect(fields(form({ conditions: [conditionRow('  ')] }))).toEqual([]);
  });

  it('takes a heartbeat monitor without a URL', () => {
    expect(formProblems(form({ url: '', heartbeat: '24h' }), LIMITS)).toEqual([]);
  });

  it("says the loader's bounds, whatever they are", () => {
    const limits = { ...LIMITS, interval: { minMs: 5_000, maxMs: 60_000, min: '5s', max: '1m' }, minThreshold: 3 };
    expect(formProblems(form({ interval: '2s' }), limits)[0]?.message).toBe('Interval must be at least 5s');
    expect(formProblems(form({ interval: '2m' }), limits)[0]?.message).toBe('Interval must be at most 1m');
    expect(formProblems(form({ interval: '2m' }), LIMITS)).toEqual([]);
    expect(formProblems(form({ timeout: '0s' }), LIMITS)[0]?.message).toBe('Timeout must be more than 0s');
    expect(formProblems(form({ failureThreshold: 2 }), limits).map((p) => p.message)).toEqual([
      'Thresholds must be whole numbers, at least 3',
    ]);
  });
});

describe('formField', () => {
  it.each<[string | null, string | null]>([
    ['name', 'name'],
    ['interval', 'interval'],
    ['failure_threshold', 'thresholds'],
    ['success_threshold', 'thresholds'],
    ['conditions[1]', 'conditions'],
    ['headers', 'headers'],
    ['method', null],
    [null, null],
  ])('puts %j at %j', (field, at) => {
    expect(formField(field)).toBe(at);
  });
});

describe('draftFromForm', () => {
  it('round-trips a draft', () => {
    expect(draftFromForm(formFromDraft(DRAFT))).toEqual(DRAFT);
  });

  it('drops blank rows and trims text', () => {
    const f = form({
      name: ' api ',
      group: '  ',
      conditions: [conditionRow('[STATUS] == 200 '), conditionRow(''), conditionRow('[BODY] == ok')],
      headers: [
        { key: 1, name: 'Authorization', value: 'env:TOKEN' },
        { key: 2, name: ' ', value: 'ignored' },
      ],
    });
    const d = draftFromForm(f);
    expect(d.name).toBe('api');
    expect(d.group).toBeNull();
    expect(d.conditions).toEqual(['[STATUS] == 200', '[BODY] == ok']);
    expect(d.headers).toEqual({ Authorization: 'env:TOKEN' });
  });
});

describe('caret', () => {
  it('points at the column, counting characters', () => {
    expect(caret('[STATUS]==200', 9).pointer).toBe('        ^');
    expect(caret('[BODY].név==x', 11).pointer).toBe('          ^');
    expect(caret('\t[STATUS]', 2).pointer).toBe('\t^');
  });
});

describe('testLines', () => {
  const result = (over: Partial<CheckResult>): CheckResult => ({
    at: '2025-06-01T12:00:00Z',
    ok: false,
    latencyMs: 12,
    error: null,
    outcomes: [],
    unreachable: false,
    ...over,
  });

  it('shows each condition with the value it saw', () => {
    const r = result({
      error: '[STATUS] (503) == 200',
      outcomes: [
        { condition: '[STATUS] == 200', ok: false, resolved: '[STATUS] (503) == 200' },
        { condition: '[RESPONSE_TIME] < 500', ok: true, resolved: '[RESPONSE_TIME] (12) < 500' },
      ],
    });
    expect(testLines(r)).toEqual([
      { ok: false, text: '[STATUS] (503) == 200' },
      { ok: true, text: '[RESPONSE_TIME] (12) < 500' },
    ]);
    expect(testSummary(r)).toBe('Failed in 12 ms');
  });

  it('adds the transport error when no condition explains the failure', () => {
    const r = result({
      error: 'connection refused',
      latencyMs: null,
      outcomes: [{ condition: '[STATUS] == 200', ok: false, resolved: '[STATUS] (unavailable) == 200' }],
    });
    expect(testLines(r).map((l) => l.text)).toEqual(['[STATUS] (unavailable) == 200', 'connection refused']);
    expect(testSummary(r)).toBe('Failed');
  });

  it('says a check without conditions passed', () => {
    expect(testLines(result({ ok: true }))).toEqual([{ ok: true, text: expect.stringContaining('Healthy') }]);
  });
});

describe('Debouncer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs only the last call after a pause, per key', () => {
    vi.useFakeTimers();
    const d = new Debouncer<number>(250);
    const calls: string[] = [];
    d.run(1, () => calls.push('a1'));
    vi.advanceTimersByTime(200);
    d.run(1, () => calls.push('a2'));
    d.run(2, () => calls.push('b'));
    vi.advanceTimersByTime(249);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['a2', 'b']);
    d.run(1, () => calls.push('gone'));
    d.cancelAll();
    vi.advanceTimersByTime(1000);
    expect(calls).toEqual(['a2', 'b']);
  });
});
