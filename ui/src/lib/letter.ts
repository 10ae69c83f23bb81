// The customer letter in the window: the words for counts, rates, durations and progress.
// Pure functions; the founder view does the calls.
import type { LetterProgress } from './bindings/LetterProgress';

/** `45 s`, `1 min 20 s`, `2 h 5 min`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const rest = s % 60;
    return rest === 0 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 60)} min ${rest} s`;
  }
  const min = Math.floor((s % 3600) / 60);
  return min === 0 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 3600)} h ${min} min`;
}

export function customers(n: number): string {
  return `${n.toLocaleString('en-US')} customer${n === 1 ? '' : 's'}`;
}

/** "Send to 800 customers from Alice Smith <alice@…> at 10/s (about 1 min 20 s)". */
export function confirmLine(count: number, from: string, rate: string, seconds: number | null): string {
  const pace = rate === 'no limit' ? 'as fast as the server takes them' : `at ${rate}`;
  const about = seconds !== null && seconds > 0 ? ` (about ${duration(seconds)})` : '';
  return `Send to ${customers(count)} from ${from} ${pace}${about}`;
}

/** Not sent yet, failed or bounced. */
export function failed(p: LetterProgress): number {
  return p.failed + p.bounced;
}

/** Sending here, or being sent by another Foghorn (`foghorn letter send`). */
export function active(p: LetterProgress): boolean {
  return p.running || p.state === 'sending' || p.state === 'importing';
}

/** Where the letter is, in words. */
export function stateLine(p: LetterProgress, pausing: boolean): string {
  const sent = `${p.accepted.toLocaleString('en-US')} of ${p.total.toLocaleString('en-US')} sent`;
  switch (p.state) {
    case 'done':
      return failed(p) === 0 ? `Done: ${sent}.` : `Done: ${sent}; ${failed(p)} not delivered (below).`;
    case 'cancelled':
      return `Cancelled: ${sent}; the other ${p.left} will not get it.`;
    case 'paused':
      if (p.running) return 'Pausing: the letters on their way finish first…';
      if (p.pausedReason && p.pausedReason !== 'paused') return `Paused: ${p.pausedReason}.`;
      return `Paused: ${sent}. Resume carries on; nobody gets it twice.`;
    case 'importing':
      return 'Reading the customer list into the ledger…';
    case 'sending':
      if (pausing) return 'Pausing: the letters on their way finish first…';
      if (p.running) return p.perSecond > 0 ? `Sending, ${p.perSecond.toFixed(1)} a second` : 'Sending…';
      return `Not being sent from this window (Foghorn stopped while sending, or \`foghorn letter\` is sending it): ${sent}.`;
  }
}

/** "412 sent · 0 failed · 388 left · about 40 s left". */
export function progressLine(p: LetterProgress): string {
  const parts = [`${p.accepted} sent`, `${failed(p)} failed`, `${p.left} left`];
  if (p.running && p.etaSeconds !== null && p.left > 0) parts.push(`about ${duration(p.etaSeconds)} left`);
  return parts.join(' · ');
}

/** The share settled, 0 to 100. */
export function percent(p: LetterProgress): number {
  if (p.total === 0) return 100;
  return Math.min(100, Math.round(((p.accepted + failed(p)) * 100) / p.total));
}
