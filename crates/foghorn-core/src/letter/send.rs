//! Sending a letter from its ledger: each recipient claimed in a committed transaction, then
//! handed to the mail server, then its outcome recorded. A run that stops — paused, killed,
//! the laptop closed — is resumed by reading the ledger again: recipients left in flight go
//! once more with their `Message-ID` (and are reported) — through Intercom, which drops no
//! repeat, only those not found there — and the rest carry on where they are.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::{watch, Notify, Semaphore};

use super::courier::{Courier, Found, Outgoing};
use super::draft::Draft;
use super::rate::{Pacer, Rate};
use super::smtp::SendError;
use super::LetterError;
use crate::crash_point::crash_point;
use crate::incident::TimelineKind;
use crate::store::{self, LedgerRow, LetterState, LetterSummary, Outcome, Store};

/// Attempts at one recipient before a temporary refusal counts as a failure.
pub const MAX_ATTEMPTS: u32 = 5;

/// What the person sending asks of a running send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Run,
    Pause,
    Cancel,
}

/// How a send is going, for a progress bar.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub letter_id: i64,
    pub state: LetterState,
    pub total: u64,
    pub accepted: u64,
    pub failed: u64,
    pub bounced: u64,
    pub left: u64,
    /// Recipients a stopped run had left in flight, sent again with their `Message-ID`.
    pub resent: u64,
    /// Letters accepted a second over this run.
    pub per_second: f64,
    /// Seconds until the last one is accepted, at the rate of this run.
    pub eta_seconds: Option<u64>,
    pub paused_reason: Option<String>,
    /// The newest refusal, as the server worded it.
    pub last_error: Option<String>,
}

/// How to send.
#[derive(Debug, Clone)]
pub struct Options {
    pub rate: Rate,
    /// Connections, and so letters in flight at once.
    pub connections: u32,
    /// Pause after this many refusals in a row; 0 never pauses.
    pub pause_after_failures: u32,
}

/// The letter, what carries it, and how fast.
#[derive(Clone)]
pub struct Job {
    pub draft: Arc<Draft>,
    pub courier: Arc<dyn Courier>,
    pub options: Options,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What a finished run says.
#[derive(Debug, Clone)]
pub struct Finished {
    pub summary: LetterSummary,
    /// Of them, recipients found in flight at the start and sent again.
    pub resent_now: u64,
    /// Recipients found in flight at the start whose letter had arrived (looked up where
    /// the courier can look), recorded and not sent again.
    pub found_sent: u64,
}

/// Sends the letter `letter_id` until every recipient is settled, or `control` pauses or
/// cancels it, or it pauses itself after too many refusals in a row.
pub async fn send(
    store: &Store,
    letter_id: i64,
    job: Job,
    mut control: watch::Receiver<Control>,
    progress: watch::Sender<Progress>,
) -> Result<Finished, LetterError> {
    let _lock = lock_letter(store, letter_id)?;
    let summary = current(store, letter_id)?;
    match summary.state {
        LetterState::Cancelled => {
            return Err(LetterError::Cancelled(letter_id));
        }
        LetterState::Importing => {
            return Err(LetterError::Store(format!(
                "letter {letter_id}'s list was not completely read in; run the send again"
            )));
        }
        _ => {}
    }
    let found_sent = settle_found(store, letter_id, &job).await?;
    let resent_now = store
        .write(move |tx| {
            let n = store::requeue_in_flight(tx, letter_id)?;
            store::set_letter_state(
                tx,
                letter_id,
                LetterState::Sending,
                None,
                OffsetDateTime::now_utc(),
            )?;
            Ok(n)
        })
        .await?;
    if resent_now > 0 {
        tracing::warn!(
            letter = letter_id,
            count = resent_now,
            "letters left in flight by a stopped run go again with the same Message-ID"
        );
    }

    let Job {
        draft,
        courier,
        options,
    } = job;
    let run = Arc::new(Run {
        store: store.clone(),
        letter_id,
        draft,
        courier,
        failures_in_a_row: AtomicU32::new(0),
        pause_after: options.pause_after_failures,
        settled: Notify::new(),
        started: Instant::now(),
        accepted_this_run: AtomicU32::new(0),
        counts: std::sync::Mutex::new(current(store, letter_id)?),
        last_error: std::sync::Mutex::new(None),
        progress,
    });
    run.report()?;
    let connections = options.connections.max(1) as usize;
    let slots = Arc::new(Semaphore::new(connections));
    let mut pacer = Pacer::new(options.rate);
    let mut state_checked = Instant::now();
    let mut outcome_state = LetterState::Done;
    let mut reason = None;
    loop {
        // A pause or cancel asked for elsewhere (`foghorn letter pause`, another window)
        // is in the database.
        if state_checked.elapsed() >= Duration::from_secs(1) {
            state_checked = Instant::now();
            match store.letter_state(letter_id)? {
                Some(LetterState::Paused) => {
                    outcome_state = LetterState::Paused;
                    reason = Some("paused".to_owned());
                    break;
                }
                Some(LetterState::Cancelled) => {
                    outcome_state = LetterState::Cancelled;
                    break;
                }
                _ => {}
            }
        }
        match *control.borrow() {
            Control::Run => {}
            Control::Pause => {
                outcome_state = LetterState::Paused;
                reason = Some("paused".to_owned());
                break;
            }
            Control::Cancel => {
                outcome_state = LetterState::Cancelled;
                break;
            }
        }
        if run.should_pause() {
            outcome_state = LetterState::Paused;
            reason = Some(format!(
                "paused itself after {} refusals in a row; the last: {}",
                run.failures_in_a_row.load(Ordering::SeqCst),
                run.last_error().unwrap_or_default()
            ));
            break;
        }
        let wait = pacer.wait(Instant::now());
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = control.changed() => {}
            }
            continue;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let now = OffsetDateTime::now_utc();
        let claimed = store
            .write(move |tx| store::claim_next(tx, letter_id, now))
            .await?;
        let Some(row) = claimed else {
            drop(slot);
            let in_flight = connections - slots.available_permits();
            if in_flight > 0 {
                // A letter in flight may be retried or settle the run: wait for it.
                tokio::select! {
                    () = run.settled.notified() => {}
                    _ = control.changed() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
            match store.read(|c| store::next_retry_at(c, letter_id))? {
                Some(at) => {
                    let wait = (at - OffsetDateTime::now_utc())
                        .try_into()
                        .unwrap_or(Duration::ZERO)
                        .min(Duration::from_secs(30));
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = control.changed() => {}
                    }
                    continue;
                }
                None => break,
            }
        };
        crash_point("letter-claimed");
        pacer.started(Instant::now());
        let run = run.clone();
        tokio::spawn(async move {
            run.deliver(row).await;
            drop(slot);
            run.settled.notify_waiters();
        });
    }
    // Whatever stops the run, the letters already handed over finish and are recorded.
    let _all = slots.acquire_many(connections as u32).await;
    let final_state = {
        let left = current(store, letter_id)?.left();
        match outcome_state {
            LetterState::Done if left > 0 => LetterState::Paused,
            s => s,
        }
    };
    store
        .write(move |tx| {
            let now = OffsetDateTime::now_utc();
            store::set_letter_state(tx, letter_id, final_state, reason.as_deref(), now)?;
            note_on_incident(tx, letter_id, final_state, now)
        })
        .await?;
    run.report()?;
    Ok(Finished {
        summary: current(store, letter_id)?,
        resent_now,
        found_sent,
    })
}

/// A letter about an incident that finished or was cancelled says so on the incident's
/// timeline ("letter sent: 798 of 800 accepted, 2 not delivered"), in the transaction that
/// settles it.
fn note_on_incident(
    tx: &rusqlite::Transaction<'_>,
    letter_id: i64,
    state: LetterState,
    now: OffsetDateTime,
) -> Result<(), store::StoreError> {
    let Some(s) = store::letter_summary_in(tx, letter_id)? else {
        return Ok(());
    };
    let Some(incident) = s.incident_id else {
        return Ok(());
    };
    let verb = match state {
        LetterState::Done => "sent",
        LetterState::Cancelled => "cancelled",
        _ => return Ok(()),
    };
    let undelivered = s.failed + s.bounced;
    let mut line = format!(
        "letter {verb}: \"{}\" accepted for {} of {} customers",
        s.subject, s.accepted, s.total
    );
    if undelivered > 0 {
        line.push_str(&format!(", {undelivered} not delivered"));
    }
    if s.left() > 0 {
        line.push_str(&format!(", {} not sent", s.left()));
    }
    store::append_timeline(tx, incident, now, TimelineKind::Letter, &s.sender, &line)
}

/// Letters a stopped run left in flight, looked for where the courier can look (Intercom):
/// those found are recorded as accepted, the others stay in flight to go again. How many were
/// found. A look that fails stops the send: sending blind could make a second copy.
async fn settle_found(store: &Store, letter_id: i64, job: &Job) -> Result<u64, LetterError> {
    let rows = store.read(|c| store::in_flight(c, letter_id))?;
    let mut found = 0;
    for (row, claimed_at) in rows {
        let vars: BTreeMap<String, String> = serde_json::from_str(&row.vars).unwrap_or_default();
        let vars = super::courier::columns(job.courier.as_ref(), &vars, &row.email);
        let Ok(rendered) = job.draft.render(&vars) else {
            continue;
        };
        let letter = Outgoing {
            email: &row.email,
            name: vars.get("name").map(String::as_str),
            rendered: &rendered,
            message_id: &row.message_id,
        };
        match job.courier.find(letter, claimed_at).await {
            Ok(Found::Arrived(reply)) => {
                let seq = row.seq;
                store
                    .write(move |tx| {
                        store::record_outcome(
                            tx,
                            letter_id,
                            seq,
                            &Outcome::Accepted { reply },
                            OffsetDateTime::now_utc(),
                        )
                    })
                    .await?;
                found += 1;
            }
            Ok(Found::Missing | Found::RepeatIsHarmless) => {}
            Err(e) => {
                return Err(LetterError::Setup(format!(
                    "cannot tell whether the letter to {} left before the stop, so it is not sent again yet: {e}",
                    row.email
                )))
            }
        }
    }
    if found > 0 {
        tracing::warn!(
            letter = letter_id,
            count = found,
            "letters left in flight by a stopped run had arrived: recorded, not sent again"
        );
    }
    Ok(found)
}

/// The wait before attempt `attempts + 1` at a recipient a server turned away for now:
/// greylisting asks for a few seconds to minutes, so 2 s doubling to at most 5 min, with
/// ±20 % jitter so a batch refused together is not retried together.
fn retry_delay(attempts: u32) -> Duration {
    use rand::Rng;
    let base = Duration::from_secs(2)
        .saturating_mul(1 << attempts.saturating_sub(1).min(10))
        .min(Duration::from_secs(300));
    base.mul_f64(rand::rng().random_range(0.8..1.2))
}

/// What an attempt came to, for the counts.
enum Kind {
    Accepted,
    Retry,
    Failed,
    Bounced,
}

/// One run's shared state.
struct Run {
    store: Store,
    letter_id: i64,
    draft: Arc<Draft>,
    courier: Arc<dyn Courier>,
    failures_in_a_row: AtomicU32,
    pause_after: u32,
    settled: Notify,
    started: Instant,
    accepted_this_run: AtomicU32,
    /// The ledger's counts, read once at the start and kept up to date as outcomes are
    /// recorded: reading them back after every letter would cost a scan of the whole ledger
    /// per letter.
    counts: std::sync::Mutex<LetterSummary>,
    last_error: std::sync::Mutex<Option<String>>,
    progress: watch::Sender<Progress>,
}

impl Run {
    fn should_pause(&self) -> bool {
        self.pause_after > 0 && self.failures_in_a_row.load(Ordering::SeqCst) >= self.pause_after
    }

    fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Fills in, sends and records one recipient's letter.
    async fn deliver(&self, row: LedgerRow) {
        let outcome = match self.attempt(&row).await {
            Ok(reply) => {
                self.failures_in_a_row.store(0, Ordering::SeqCst);
                self.accepted_this_run.fetch_add(1, Ordering::SeqCst);
                Outcome::Accepted { reply }
            }
            Err(e) => {
                self.failures_in_a_row.fetch_add(1, Ordering::SeqCst);
                let text = format!("{}: {e}", row.email);
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(text);
                }
                match e {
                    SendError::Transient(error) if row.attempts < MAX_ATTEMPTS => Outcome::Retry {
                        error,
                        at: OffsetDateTime::now_utc() + retry_delay(row.attempts),
                    },
                    SendError::Transient(error) => Outcome::Failed {
                        error: format!("gave up after {} attempts: {error}", row.attempts),
                    },
                    SendError::Permanent(error) => Outcome::Failed { error },
                    SendError::Bounced(error) => Outcome::Bounced { error },
                }
            }
        };
        crash_point("letter-sent");
        let outcome_kind = match &outcome {
            Outcome::Accepted { .. } => Kind::Accepted,
            Outcome::Retry { .. } => Kind::Retry,
            Outcome::Failed { .. } => Kind::Failed,
            Outcome::Bounced { .. } => Kind::Bounced,
        };
        let (letter_id, seq) = (self.letter_id, row.seq);
        // A power cut may lose this record (never a SIGKILL): the recipient is then found in
        // flight and sent again with the same Message-ID, which receiving servers drop.
        let recorded = self
            .store
            .write_relaxed(move |tx| {
                store::record_outcome(tx, letter_id, seq, &outcome, OffsetDateTime::now_utc())
            })
            .await;
        match recorded {
            Ok(()) => self.count(&outcome_kind),
            Err(e) => {
                tracing::error!(error = %e, letter = letter_id, "cannot record a letter's outcome")
            }
        }
        self.publish();
    }

    async fn attempt(&self, row: &LedgerRow) -> Result<String, SendError> {
        let vars: BTreeMap<String, String> = serde_json::from_str(&row.vars)
            .map_err(|e| SendError::Permanent(format!("the ledger's row is unreadable: {e}")))?;
        let vars = super::courier::columns(self.courier.as_ref(), &vars, &row.email);
        let rendered = self
            .draft
            .render(&vars)
            .map_err(|e| SendError::Permanent(format!("the letter cannot be filled in: {e}")))?;
        self.courier
            .deliver(Outgoing {
                email: &row.email,
                name: vars.get("name").map(String::as_str),
                rendered: &rendered,
                message_id: &row.message_id,
            })
            .await
    }

    /// Reads the counts from the ledger again and tells the watchers.
    fn report(&self) -> Result<(), LetterError> {
        let fresh = current(&self.store, self.letter_id)?;
        if let Ok(mut counts) = self.counts.lock() {
            *counts = fresh;
        }
        self.publish();
        Ok(())
    }

    /// One recorded outcome, in the counts.
    fn count(&self, kind: &Kind) {
        let Ok(mut c) = self.counts.lock() else {
            return;
        };
        match kind {
            Kind::Accepted => c.accepted += 1,
            Kind::Failed => c.failed += 1,
            Kind::Bounced => c.bounced += 1,
            Kind::Retry => return,
        }
        // Settled: it no longer counts as queued or in flight.
        if c.sending > 0 {
            c.sending -= 1;
        } else {
            c.queued = c.queued.saturating_sub(1);
        }
    }

    /// Tells the watchers the counts as they are.
    fn publish(&self) {
        let Ok(s) = self.counts.lock().map(|c| c.clone()) else {
            return;
        };
        let elapsed = self.started.elapsed().as_secs_f64();
        let accepted = f64::from(self.accepted_this_run.load(Ordering::SeqCst));
        let per_second = if elapsed > 0.5 {
            accepted / elapsed
        } else {
            0.0
        };
        let left = s.left();
        let eta_seconds = (per_second > 0.0).then(|| (left as f64 / per_second).ceil() as u64);
        self.progress.send_replace(Progress {
            letter_id: s.id,
            state: s.state,
            total: s.total,
            accepted: s.accepted,
            failed: s.failed,
            bounced: s.bounced,
            left,
            resent: s.resent,
            per_second,
            eta_seconds,
            paused_reason: s.paused_reason.clone(),
            last_error: self.last_error(),
        });
    }
}

fn current(store: &Store, letter_id: i64) -> Result<LetterSummary, LetterError> {
    store
        .letter(letter_id)?
        .ok_or_else(|| LetterError::Store(format!("there is no letter {letter_id}")))
}

/// Held while a letter is sent: a lock file next to the database, which the OS releases
/// when the process ends however it ends, so a second window or command cannot send the same
/// letter at the same time, and a killed sender never blocks the resume.
#[derive(Debug)]
struct SendLock {
    _file: Option<std::fs::File>,
}

fn lock_letter(store: &Store, letter_id: i64) -> Result<SendLock, LetterError> {
    let Some(db) = store.path() else {
        return Ok(SendLock { _file: None });
    };
    let path = db.with_file_name(format!("letter-{letter_id}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LetterError::Setup(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(SendLock { _file: Some(file) }),
        Err(std::fs::TryLockError::WouldBlock) => Err(LetterError::Busy { letter_id }),
        Err(std::fs::TryLockError::Error(e)) => Err(LetterError::Setup(format!(
            "{}: cannot lock: {e}",
            path.display()
        ))),
    }
}
