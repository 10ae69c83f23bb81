// What the window does with incidents beyond the snapshot: the actions a person takes (with
// their progress, result and failure per incident) and the details of the incidents opened
// in the list, read again whenever the engine reports a change to them, so their timelines
// stay live. App.svelte hands it the IPC calls and the engine's events.
import { SvelteSet } from 'svelte/reactivity';

import type { EngineEvent } from './bindings/EngineEvent';
import type { IncidentAction } from './bindings/IncidentAction';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentView } from './bindings/IncidentView';
import type { IpcError } from './bindings/IpcError';

export type ActOnIncident = (id: number, action: IncidentAction) => Promise<IncidentView>;
export type FetchIncident = (id: number) => Promise<IncidentDetail>;

/** How long "Resolved", "Snoozed until 14:15" stays under the row after the action. */
export const RESULT_MS = 8_000;

export interface ActionFailure {
  action: IncidentAction;
  error: IpcError;
}

export interface ActionDone {
  action: IncidentAction;
  incident: IncidentView;
}

export class IncidentStore {
  /** The action running on each incident, by id. */
  pending = $state.raw<Readonly<Record<number, IncidentAction>>>({});
  /** Why the last action on an incident failed, by id; cleared by the next try. */
  failures = $state.raw<Readonly<Record<number, ActionFailure>>>({});
  /** The last action that succeeded on an incident, by id, for a few seconds. */
  done = $state.raw<Readonly<Record<number, ActionDone>>>({});
  /** The latest detail of each opened incident, by id. */
  details = $state.raw<Readonly<Record<number, IncidentDetail>>>({});
  /** Why the last read of a detail failed, by id; cleared by the next good one. */
  detailErrors = $state.raw<Readonly<Record<number, IpcError>>>({});
  /** Incidents opened in the list to show their detail. */
  readonly expanded = new SvelteSet<number>();

  // Bookkeeping, not state: nothing on screen depends on it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #loading = new Map<number, { again: boolean }>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #doneTimers = new Map<number, ReturnType<typeof setTimeout>>();
  #disposed = false;
  readonly #act: ActOnIncident;
  readonly #fetch: FetchIncident;
  readonly #toError: (err: unknown) => IpcError;
  readonly #changed: (incident: IncidentView) => void;
  readonly #resultMs: number;

  constructor(
    act: ActOnIncident,
    fetch: FetchIncident,
    toError: (err: unknown) => IpcError,
    /** Called with the incident an action returned, to update the snapshot at once. */
    changed: (incident: IncidentView) => void,
    resultMs = RESULT_MS,
  ) {
    this.#act = act;
    this.#fetch = fetch;
    this.#toError = toError;
    this.#changed = changed;
    this.#resultMs = resultMs;
  }

  /** Runs `action` on incident `id`, unless one is already running on it. */
  async act(id: number, action: IncidentAction): Promise<IncidentView | null> {
    if (id in this.pending) return null;
    this.pending = { ...this.pending, [id]: action };
    this.failures = without(this.failures, id);
    this.#clearDone(id);
    try {
      const incident = await this.#act(id, action);
      if (this.#disposed) return incident;
      this.#changed(incident);
      this.done = { ...this.done, [id]: { action, incident } };
      this.#doneTimers.set(
        id,
        setTimeout(() => this.#clearDone(id), this.#resultMs),
      );
      if (this.expanded.has(id)) this.refresh(id);
      return incident;
    } catch (err) {
      this.failures = { ...this.failures, [id]: { action, error: this.#toError(err) } };
      return null;
    } finally {
      this.pending = without(this.pending, id);
    }
  }

  /** Forgets the failure shown under an incident. */
  dismissFailure(id: number): void {
    this.failures = without(this.failures, id);
  }

  /** Opens or closes an incident's detail; opening reads it (again). */
  toggle(id: number): void {
    if (this.expanded.has(id)) this.expanded.delete(id);
    else this.open(id);
  }

  open(id: number): void {
    if (!this.expanded.has(id)) this.expanded.add(id);
    this.refresh(id);
  }

  /** Reads the detail of `id`; a read already under way is followed by one more. */
  refresh(id: number): void {
    const running = this.#loading.get(id);
    if (running) {
      running.again = true;
      return;
    }
    void this.#load(id);
  }

  /** A change to an opened incident: read its detail again, so its timeline stays live. */
  apply(event: EngineEvent): void {
    if ((event.type === 'incident' || event.type === 'alert') && this.expanded.has(event.incident.id)) {
      this.refresh(event.incident.id);
    }
  }

  dispose(): void {
    this.#disposed = true;
    for (const t of this.#doneTimers.values()) clearTimeout(t);
    this.#doneTimers.clear();
  }

  #clearDone(id: number): void {
    const timer = this.#doneTimers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#doneTimers.delete(id);
    if (id in this.done) this.done = without(this.done, id);
  }

  async #load(id: number): Promise<void> {
    const run = { again: false };
    this.#loading.set(id, run);
    try {
      const detail = await this.#fetch(id);
      if (this.#disposed) return;
      this.details = { ...this.details, [id]: detail };
      this.detailErrors = without(this.detailErrors, id);
    } catch (err) {
      // The last good detail stays on screen; the detail says why it is not fresher.
      if (!this.#disposed) this.detailErrors = { ...this.detailErrors, [id]: this.#toError(err) };
    } finally {
      this.#loading.delete(id);
    }
    if (run.again && !this.#disposed) await this.#load(id);
  }
}

function without<T>(record: Readonly<Record<number, T>>, id: number): Readonly<Record<number, T>> {
  if (!(id in record)) return record;
  const { [id]: _gone, ...rest } = record;
  return rest;
}
