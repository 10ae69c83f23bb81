// The window's state: the snapshot it holds and how it got there. Pure state: no IPC here
// (App.svelte talks to the shell and feeds this store), so it is tested on its own.
import type { EngineEvent } from './bindings/EngineEvent';
import type { IpcError } from './bindings/IpcError';
import type { Mute } from './bindings/Mute';
import type { Snapshot } from './bindings/Snapshot';
import { applyEvent } from './snapshot';

export type Phase = 'loading' | 'ready' | 'error';

export class FoghornStore {
  /** The latest snapshot, or null before the first one arrives. */
  snapshot = $state.raw<Snapshot | null>(null);
  /** Why the last `get_snapshot` failed, while in the error phase. */
  loadError = $state.raw<IpcError | null>(null);
  /** Notices the user closed; they stay closed for this window's life. */
  dismissed = $state.raw<readonly string[]>([]);

  /** Events that arrived before the first snapshot; applied on top of it. */
  #early: EngineEvent[] = [];

  phase: Phase = $derived(
    this.snapshot !== null ? 'ready' : this.loadError !== null ? 'error' : 'loading',
  );

  visibleNotices: string[] = $derived(
    (this.snapshot?.notices ?? []).filter((n) => !this.dismissed.includes(n)),
  );

  /** Back to the loading state (for a retry). Keeps a snapshot that is already there. */
  startLoading(): void {
    this.loadError = null;
  }

  loaded(snapshot: Snapshot): void {
    this.snapshot = this.#early.reduce(applyEvent, snapshot);
    this.#early = [];
    this.loadError = null;
  }

  failed(error: IpcError): void {
    this.loadError = error;
  }

  apply(event: EngineEvent): void {
    if (this.snapshot === null) {
      this.#early.push(event);
      return;
    }
    this.snapshot = applyEvent(this.snapshot, event);
  }

  /** The shell's answer to `set_mute`. */
  setMute(mute: Mute): void {
    this.apply({ type: 'mute', mute });
  }

  /** The shell's answer to `set_paused`. */
  setPaused(paused: boolean): void {
    this.apply({ type: 'paused', paused });
  }

  dismissNotice(notice: string): void {
    if (!this.dismissed.includes(notice)) this.dismissed = [...this.dismissed, notice];
  }
}
