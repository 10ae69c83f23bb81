import { describe, expect, it } from 'vitest';

import { T0, incident, iso } from '../test/fixtures';
import {
  dndNote,
  formatAgo,
  formatClock,
  formatCountdown,
  formatDuration,
  formatLatency,
  incidentAge,
  muteLabel,
  statusSince,
} from './format';

const MIN = 60_000;

describe('format', () => {
  it('formats durations compactly', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(3 * MIN + 20_000)).toBe('3 min');
    expect(formatDuration(2 * 60 * MIN)).toBe('2 h');
    expect(formatDuration(2 * 60 * MIN + 5 * MIN)).toBe('2 h 5 min');
    expect(formatDuration(3 * 24 * 60 * MIN + 4 * 60 * MIN)).toBe('3 d 4 h');
    expect(formatDuration(-5)).toBe('0 s');
  });

  it('formats relative times', () => {
    expect(formatAgo(iso(-2_000), T0)).toBe('just now');
    expect(formatAgo(iso(-40_000), T0)).toBe('40 s ago');
    expect(formatAgo(iso(-3 * MIN), T0)).toBe('3 min ago');
    expect(formatAgo(null, T0)).toBe('—');
    expect(formatAgo('not a time', T0)).toBe('—');
  });

  it('formats latency', () => {
    expect(formatLatency(123)).toBe('123 ms');
    expect(formatLatency(123.6)).toBe('124 ms');
    expect(formatLatency(1234)).toBe('1.23 s');
    expect(formatLatency(12_345)).toBe('12.3 s');
    expect(formatLatency(null)).toBe('');
  });

  it('formats wall-clock times in the local zone', () => {
    const now = new Date(2025, 5, 1, 13, 0).getTime();
    expect(formatClock(new Date(2025, 5, 1, 14, 5).toISOString(), now)).toBe('14:05');
    expect(formatClock(new Date(2025, 5, 2, 2, 5).toISOString(), now)).toBe('tomorrow 02:05');
  });

  it('describes the mute state', () => {
    const now = new Date(2025, 5, 1, 13, 0).getTime();
    expect(muteLabel({ kind: 'off' }, now)).toBeNull();
    expect(muteLabel({ kind: 'indefinite' }, now)).toBe('Muted until you unmute');
    expect(
      muteLabel({ kind: 'until', until: new Date(2025, 5, 1, 14, 5).toISOString() }, now),
    ).toBe('Muted until 14:05');
  });

  it('gives an incident its age', () => {
    expect(incidentAge(incident({ openedAt: iso(-3 * MIN) }), T0)).toBe('open 3 min');
    expect(
      incidentAge(
        incident({ state: 'resolved', openedAt: iso(-10 * MIN), resolvedAt: iso(-8 * MIN) }),
        T0,
      ),
    ).toBe('lasted 2 min');
  });

  it('says how long a monitor has been in its status', () => {
    expect(statusSince('down', iso(-3 * MIN), T0)).toBe('Down for 3 min');
    expect(statusSince('pending', null, T0)).toBe('Waiting for the first check');
    expect(statusSince('up', null, T0)).toBe('Up');
  });

  it('counts down', () => {
    expect(formatCountdown(192_000)).toBe('3:12');
    expect(formatCountdown(1_500)).toBe('0:02');
    expect(formatCountdown(-5)).toBe('0:00');
    expect(formatCountdown(3_725_000)).toBe('1:02:05');
  });
});

describe('dndNote', () => {
  it('warns where the OS can hold back notifications, not on Linux', () => {
    expect(dndNote('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15')).toContain('Focus');
    expect(dndNote('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Edg/120')).toContain(
      'Do not disturb',
    );
    expect(dndNote('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15')).toBeNull();
  });
});
