import { describe, expect, it } from 'vitest';

import type { LetterProgress } from './bindings/LetterProgress';
import { active, confirmLine, duration, percent, progressLine, stateLine } from './letter';

function progress(over: Partial<LetterProgress> = {}): LetterProgress {
  return {
    id: 3,
    subject: 'About the outage',
    listName: '/home/alice/customers.csv',
    sender: 'Alice Smith <alice@acme.test>',
    state: 'sending',
    pausedReason: null,
    total: 800,
    accepted: 412,
    failed: 1,
    bounced: 1,
    left: 386,
    resent: 0,
    running: true,
    perSecond: 9.8,
    etaSeconds: 40,
    error: null,
    undelivered: [],
    ...over,
  };
}

describe('letter words', () => {
  it('says how long in seconds, minutes and hours', () => {
    expect(duration(0)).toBe('0 s');
    expect(duration(59.4)).toBe('59 s');
    expect(duration(80)).toBe('1 min 20 s');
    expect(duration(120)).toBe('2 min');
    expect(duration(3600)).toBe('1 h');
    expect(duration(7500)).toBe('2 h 5 min');
  });

  it('confirms the count, the sender and the rate', () => {
    expect(confirmLine(800, 'Alice Smith <alice@acme.test>', '10/s', 80)).toBe(
      'Send to 800 customers from Alice Smith <alice@acme.test> at 10/s (about 1 min 20 s)',
    );
    expect(confirmLine(1, 'a@b.test', 'no limit', null)).toBe('Send to 1 customer from a@b.test as fast as the server takes them');
    expect(confirmLine(12000, 'a@b.test', '10/s, 2000/h', 21600)).toBe(
      'Send to 12,000 customers from a@b.test at 10/s, 2000/h (about 6 h)',
    );
  });

  it('counts sent, failed (bounces included) and left, with an ETA while it runs', () => {
    expect(progressLine(progress())).toBe('412 sent · 2 failed · 386 left · about 40 s left');
    expect(progressLine(progress({ running: false, state: 'paused' }))).toBe('412 sent · 2 failed · 386 left');
    expect(percent(progress())).toBe(52);
    expect(percent(progress({ total: 0 }))).toBe(100);
  });

  it('says where the letter is', () => {
    expect(stateLine(progress({ state: 'done', accepted: 800, failed: 0, bounced: 0, left: 0, running: false }), false)).toBe(
      'Done: 800 of 800 sent.',
    );
    expect(stateLine(progress({ state: 'done', running: false }), false)).toContain('2 not delivered');
    expect(stateLine(progress({ state: 'paused', running: true }), false)).toContain('Pausing');
    expect(stateLine(progress({ state: 'sending' }), true)).toContain('Pausing');
    expect(stateLine(progress({ state: 'paused', running: false, pausedReason: 'paused' }), false)).toBe(
      'Paused: 412 of 800 sent. Resume carries on; nobody gets it twice.',
    );
    expect(
      stateLine(progress({ state: 'paused', running: false, pausedReason: 'paused itself after 10 refusals in a row' }), false),
    ).toBe('Paused: paused itself after 10 refusals in a row.');
    expect(stateLine(progress({ running: false }), false)).toContain('Foghorn stopped while sending');
    expect(active(progress({ running: false }))).toBe(true);
    expect(active(progress({ running: false, state: 'paused' }))).toBe(false);
  });
});
