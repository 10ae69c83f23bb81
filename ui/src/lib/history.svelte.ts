// The monitors' histories as the window last read them. App.svelte hands it the engine's
// events; the monitor list says which monitors are on screen. A monitor's history is read
// when it first shows up and again after each of its checks, throttled, since a monitor
// checked every second would otherwise ask for its history every second.
import type { EngineEvent } from './bindings/EngineEvent';
import type { IpcError } from './bindings/IpcError';
import type { MonitorHistory } from './bindings/MonitorHistory';
import { Throttle } from './history';

/** The least time between two reads of the same monitor's history. */
export const REFRESH_MS = 5_000;
/**
 * How long after a monitor's event its history is read. The engine announces a check at
 * once but writes routine results in batches about once a second: read sooner and the check
 * is not in the database yet.
 */
export const SETTLE_MS = 1_500;

export type FetchHistory = (id: string) => Promise<MonitorHistory>;

export class HistoryStore {
  /** The latest history of each monitor, by id. */
  histories = $state.raw<Readonly<Record<string, MonitorHistory>>>({});
  /** Why the last read failed, by id; cleared by the next good one. */
  errors = $state.raw<Readonly<Record<string, IpcError>>>({});

  // Bookkeeping, not state: nothing on screen depends on it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #throttles = new Map<string, Throttle>();
  readonly #fetch: FetchHistory;
  readonly #toError: (err: unknown) => IpcError;
  readonly #minIntervalMs: number;

  constructor(fetch: FetchHistory, toError: (err: unknown) => IpcError, minIntervalMs = REFRESH_MS) {
    this.#fetch = fetch;
    this.#toError = toError;
    this.#minIntervalMs = minIntervalMs;
  }

  /** Reads the history of every monitor in `ids` not read yet. */
  track(ids: readonly string[]): void {
    for (const id of ids) {
      if (!this.#throttles.has(id)) this.refresh(id);
    }
  }

  /** Reads `id`'s history again, `settleMs` from now or as soon as the throttle allows. */
  refresh(id: string, settleMs = 0): void {
    let throttle = this.#throttles.get(id);
    if (!throttle) {
      throttle = new Throttle(() => this.#load(id), this.#minIntervalMs);
      this.#throttles.set(id, throttle);
    }
    throttle.request(settleMs);
  }

  /** A monitor event means a check was made (or its state changed): read it again. */
  apply(event: EngineEvent): void {
    if (event.type === 'monitor' && this.#throttles.has(event.monitor.id)) {
      this.refresh(event.monitor.id, SETTLE_MS);
    }
  }

  dispose(): void {
    for (const t of this.#throttles.values()) t.dispose();
    this.#throttles.clear();
  }

  async #load(id: string): Promise<void> {
    try {
      const history = await this.#fetch(id);
      this.histories = { ...this.histories, [id]: history };
      if (id in this.errors) {
        const { [id]: _gone, ...rest } = this.errors;
        this.errors = rest;
      }
    } catch (err) {
      // The last good history stays on screen; the detail says why it is not fresher.
      this.errors = { ...this.errors, [id]: this.#toError(err) };
    }
  }
}
