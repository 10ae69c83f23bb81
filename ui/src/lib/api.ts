// Thin, typed wrappers over the shell's IPC (see docs/ipc.md). Every failure is turned
// into an `IpcError`, whatever shape it arrived in, so callers branch on `code`, show
// `message`, and put it next to `field` when the shell names one.
import { invoke } from '@tauri-apps/api/core';
import type { Destination } from './bindings/Destination';
import type { LetterDraft } from './bindings/LetterDraft';
import type { LetterOverview } from './bindings/LetterOverview';
import type { LetterPreview } from './bindings/LetterPreview';
import type { LetterProgress } from './bindings/LetterProgress';
import type { TestSent } from './bindings/TestSent';
import type { PostmortemSaved } from './bindings/PostmortemSaved';
import type { PostmortemView } from './bindings/PostmortemView';
import type { RevisionText } from './bindings/RevisionText';
import type { SlaView } from './bindings/SlaView';
import type { Chart } from './bindings/Chart';
import type { ExportFormat } from './bindings/ExportFormat';
import type { DraftInput } from './bindings/DraftInput';
import type { Preview } from './bindings/Preview';
import type { Published } from './bindings/Published';
import type { StatusOverview } from './bindings/StatusOverview';
import type { StatusSetup } from './bindings/StatusSetup';
import type { SupportQueue } from './bindings/SupportQueue';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

import type { CheckResult } from './bindings/CheckResult';
import type { ConditionProblem } from './bindings/ConditionProblem';
import type { EngineEvent } from './bindings/EngineEvent';
import type { EscalationDraft } from './bindings/EscalationDraft';
import type { IncidentAction } from './bindings/IncidentAction';
import type { IncidentDetail } from './bindings/IncidentDetail';
import type { IncidentView } from './bindings/IncidentView';
import type { EditorLimits } from './bindings/EditorLimits';
import type { IpcError } from './bindings/IpcError';
import type { IpcErrorCode } from './bindings/IpcErrorCode';
import type { MonitorDraft } from './bindings/MonitorDraft';
import type { MonitorHistory } from './bindings/MonitorHistory';
import type { MonitorView } from './bindings/MonitorView';
import type { Mute } from './bindings/Mute';
import type { MuteChoice } from './bindings/MuteChoice';
import type { Snapshot } from './bindings/Snapshot';

export type { UnlistenFn };

/** The event the shell emits to the window on every change. */
export const ENGINE_EVENT = 'engine-event';

/** `code` used when the page is not running inside the Foghorn shell at all. */
export const NO_SHELL: IpcErrorCode = 'no_shell';

/** True inside the Foghorn shell (or under `mockIPC`): Tauri's IPC bridge is there. */
export function inShell(): boolean {
  if (typeof window === 'undefined') return false;
  const internals = (window as { __TAURI_INTERNALS__?: { invoke?: unknown } }).__TAURI_INTERNALS__;
  return typeof internals?.invoke === 'function';
}

function noShell(): IpcError {
  return {
    code: NO_SHELL,
    message: 'This window is not connected to Foghorn. Open it from the Foghorn tray icon.',
    field: null,
  };
}

/** Normalise anything a rejected IPC call may produce into `{ code, message, field }`. */
export function toIpcError(err: unknown): IpcError {
  if (typeof err === 'object' && err !== null) {
    const { code, message, field } = err as { code?: unknown; message?: unknown; field?: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      // The shell's codes are an enum; a code it does not know yet still carries its message.
      return { code: code as IpcErrorCode, message, field: typeof field === 'string' ? field : null };
    }
    if (typeof message === 'string' && message.length > 0) {
      return { code: err instanceof Error ? 'internal' : 'unknown', message, field: null };
    }
  }
  if (typeof err === 'string' && err.length > 0) {
    return { code: 'unknown', message: err, field: null };
  }
  return { code: 'unknown', message: 'Something went wrong, and Foghorn gave no reason.', field: null };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  if (!inShell()) throw noShell();
  try {
    return await invoke<T>(cmd, args);
  } catch (err) {
    throw toIpcError(err);
  }
}

export function getSnapshot(): Promise<Snapshot> {
  return call<Snapshot>('get_snapshot');
}

export function setMute(choice: MuteChoice): Promise<Mute> {
  return call<Mute>('set_mute', { choice });
}

export function setPaused(paused: boolean): Promise<boolean> {
  return call<boolean>('set_paused', { paused });
}

/** The monitor `id` as the editor shows it, or a new monitor's defaults for `null`. */
export function getMonitorDraft(id: string | null): Promise<MonitorDraft> {
  return call<MonitorDraft>('get_monitor_draft', { id });
}

/** The loader's bounds on a monitor (durations, thresholds, methods), for the editor's checks. */
export function getEditorLimits(): Promise<EditorLimits> {
  return call<EditorLimits>('get_editor_limits');
}

/** `null` when the condition parses, else what is wrong and at which column. */
export function validateCondition(text: string): Promise<ConditionProblem | null> {
  return call<ConditionProblem | null>('validate_condition', { text });
}

/** One check of the draft as it would run once saved. */
export function testMonitor(draft: MonitorDraft): Promise<CheckResult> {
  return call<CheckResult>('test_monitor', { draft });
}

/** Saves the draft (in place of `original`, a monitor id, or as a new monitor); resolves to its id. */
export function saveMonitor(original: string | null, draft: MonitorDraft): Promise<string> {
  return call<string>('save_monitor', { original, draft });
}

export function deleteMonitor(id: string): Promise<void> {
  return call<void>('delete_monitor', { id });
}

/** The escalation ladder as the configuration file has it (its defaults when it has none). */
export function getEscalationDraft(): Promise<EscalationDraft> {
  return call<EscalationDraft>('get_escalation_draft');
}

/** Writes the ladder into the file; resolves to the ladder as the file now has it. */
export function saveEscalation(draft: EscalationDraft): Promise<EscalationDraft> {
  return call<EscalationDraft>('save_escalation', { draft });
}

/** Pauses or resumes one monitor; resolves to the monitor as it is now. */
export function setMonitorPaused(id: string, paused: boolean): Promise<MonitorView> {
  return call<MonitorView>('set_monitor_paused', { id, paused });
}

/** One monitor's uptime and latency history (see docs/ipc.md). */
export function getMonitorHistory(id: string): Promise<MonitorHistory> {
  return call<MonitorHistory>('get_monitor_history', { id });
}

/**
 * Acknowledges, resolves, snoozes (10 min) or takes an incident; resolves to the incident as
 * it is now. Rejects with `not_found` (no such incident) or `conflict` (already resolved).
 */
export function actOnIncident(id: number, action: IncidentAction): Promise<IncidentView> {
  return call<IncidentView>('act_on_incident', { id, action });
}

/** One incident with its signals and timeline (oldest entry first); `not_found` if none. */
export function getIncident(id: number): Promise<IncidentDetail> {
  return call<IncidentDetail>('get_incident', { id });
}

/** Calls `cb` with every `engine-event`; resolves to the function that stops listening. */
/** "Skip" the incident's next escalation step, or make it due now ("Escalate now"). */
export function ladderAction(id: number, skip: boolean): Promise<void> {
  return call<void>('ladder_action', { id, skip });
}

/** `[status]` as the composer needs it; `null` when status updates are not configured. */
export function getStatusSetup(): Promise<StatusSetup | null> {
  return call<StatusSetup | null>('get_status_setup');
}

/**
 * The draft filled in by the engine (components from failing monitors, the state's template),
 * checked against the monitors (`warnings`), with each destination's text.
 */
export function previewStatus(draft: DraftInput): Promise<Preview> {
  return call<Preview>('preview_status', { draft });
}

/** Publishes to every destination the draft names; the outbox sends it within a second. */
export function publishStatus(draft: DraftInput): Promise<Published> {
  return call<Published>('publish_status', { draft });
}

/** An incident's public incident and its newest update's receipts. */
export function getStatusOverview(incident: number): Promise<StatusOverview> {
  return call<StatusOverview>('get_status_overview', { incident });
}

/** Sends one destination's copy of an update again, now. */
export function retryStatus(update: number, destination: Destination): Promise<boolean> {
  return call<boolean>('retry_status', { update, destination });
}

/** Opens the self-hosted status page in the default browser. */
export function openStatusPage(): Promise<void> {
  return call<void>('open_status_page');
}

/** The incident's support queue from the helpdesk, now; `null` without `[intercom]`. */
export function getSupportQueue(incident: number): Promise<SupportQueue | null> {
  return call<SupportQueue | null>('get_support_queue', { incident });
}

/**
 * Replies to every unanswered conversation of the queue (once resolved: follows up with every
 * answered one); resolves to how many messages went into the outbox.
 */
export function sendSupportReplies(incident: number): Promise<number> {
  return call<number>('send_support_replies', { incident });
}

/**
 * The founder view's start: `[smtp]` as the confirm step shows it (`null` without it), the
 * draft as last typed (or the starting template), and the letters not finished.
 */
export function getLetterOverview(): Promise<LetterOverview> {
  return call<LetterOverview>('get_letter_overview');
}

/** Keeps the letter's draft as typed. */
export function saveLetterDraft(draft: LetterDraft): Promise<void> {
  return call<void>('save_letter_draft', { draft });
}

/**
 * The letter as the customer at `index` of the list reads it, with the list's count and
 * skipped rows. Rejects with `invalid_letter` or `invalid_list` (the message names the line).
 */
export function previewLetter(draft: LetterDraft, index: number): Promise<LetterPreview> {
  return call<LetterPreview>('preview_letter', { draft, index });
}

/** The customer at `index`'s letter to `to` only, subject marked `[Test]`; the server's reply. */
export function sendTestLetter(draft: LetterDraft, index: number, to: string): Promise<TestSent> {
  return call<TestSent>('send_test_letter', { draft, index, to });
}

/**
 * The confirmed send: every row checked, the ledger written, sending started. `expected` is
 * the count the founder confirmed; a list that changed since is refused (`changed`).
 */
export function startLetter(draft: LetterDraft, expected: number): Promise<LetterProgress> {
  return call<LetterProgress>('start_letter', { draft, expected });
}

/** A letter's progress, read from its ledger. */
export function getLetterProgress(id: number): Promise<LetterProgress> {
  return call<LetterProgress>('get_letter_progress', { id });
}

/** Pauses a letter: the letters in flight finish, then nothing more goes until Resume. */
export function pauseLetter(id: number): Promise<LetterProgress> {
  return call<LetterProgress>('pause_letter', { id });
}

/** Carries on with a paused or interrupted letter from its ledger. */
export function resumeLetter(id: number): Promise<LetterProgress> {
  return call<LetterProgress>('resume_letter', { id });
}

/** Stops a letter for good: whoever has not been sent it yet will not be. */
export function cancelLetter(id: number): Promise<LetterProgress> {
  return call<LetterProgress>('cancel_letter', { id });
}

export async function onEngineEvent(cb: (event: EngineEvent) => void): Promise<UnlistenFn> {
  if (!inShell()) throw noShell();
  try {
    return await listen<EngineEvent>(ENGINE_EVENT, (e) => cb(e.payload));
  } catch (err) {
    throw toIpcError(err);
  }
}

/** The postmortem covering `incident`, drafted from the evidence the first time. */
export function openPostmortem(incident: number): Promise<PostmortemView> {
  return call<PostmortemView>('open_postmortem', { incident });
}

/** Keeps the text as typed; rejects with `out_of_order` when a corrected time goes back. */
export function savePostmortem(id: number, body: string): Promise<PostmortemSaved> {
  return call<PostmortemSaved>('save_postmortem', { id, body });
}

/** The Markdown as HTML, made by the core (raw HTML shown as text). */
export function previewPostmortem(body: string): Promise<string> {
  return call<string>('preview_postmortem', { body });
}

/** Adds `incident` and drafts the document again from all its incidents. */
export function linkPostmortem(id: number, incident: number): Promise<PostmortemView> {
  return call<PostmortemView>('link_postmortem', { id, incident });
}

/** Drafts the document again from the evidence; the replaced text stays a revision. */
export function redraftPostmortem(id: number): Promise<PostmortemView> {
  return call<PostmortemView>('redraft_postmortem', { id });
}

export function getPostmortemRevision(id: number, revision: number): Promise<RevisionText> {
  return call<RevisionText>('get_postmortem_revision', { id, revision });
}

export function restorePostmortem(id: number, revision: number): Promise<PostmortemView> {
  return call<PostmortemView>('restore_postmortem', { id, revision });
}

/** The availability and latency charts around the outage (SVG made by the core). */
export function getPostmortemCharts(id: number): Promise<Chart[]> {
  return call<Chart[]>('get_postmortem_charts', { id });
}

/** Writes the document into the documents folder's `Foghorn`; resolves to the file's path. */
export function exportPostmortem(id: number, format: ExportFormat): Promise<string> {
  return call<string>('export_postmortem', { id, format });
}

/** The SLA report of `month` (`YYYY-MM`); `customers` is a customer list's path, or empty. */
export function getSlaReport(month: string, customers: string): Promise<SlaView> {
  return call<SlaView>('get_sla_report', { month, customers });
}
