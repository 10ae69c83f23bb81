//! The results writer: routine check results are written in batches (once a second, or at
//! once when many wait), an incident change rides in the same transaction as the results
//! before it, results that could not be written wait for the next batch, and the history is
//! rolled up and pruned every few minutes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, Notify};

use super::bulletin::Bulletin;
use super::durable::Saving;
use super::lock;
use crate::check::CheckResult;
use crate::monitor::{MonitorId, MonitorState};
use crate::store::{self, Store};

/// How often complete hours are rolled up and old raw results pruned.
const HISTORY_MAINTENANCE: Duration = Duration::from_secs(300);
/// Routine results are written together at least this often: one transaction per second
/// instead of one per check.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A batch this large is written at once rather than waiting for the next second.
const FLUSH_AT: usize = 2_000;
/// Results kept for a later batch while the database cannot be written; the oldest go first.
const UNSAVED_RESULTS: usize = 100_000;

/// A write that goes into the same transaction as a batch of results.
pub(super) type WriteJob<T> =
    Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> store::Result<T> + Send>;

/// A result waiting for the next batch.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) id: MonitorId,
    pub(super) result: CheckResult,
    pub(super) state: MonitorState,
}

/// The batch being gathered and the order batches are written in.
#[derive(Debug)]
pub(super) struct Results {
    store: Store,
    keep_raw: Duration,
    /// Routine results waiting for the next batch write. Leaf lock.
    pending: Mutex<Vec<Pending>>,
    flush_now: Notify,
    /// Held while a batch is taken and written, so batches reach the database in order.
    flushing: tokio::sync::Mutex<()>,
    /// Whether writes work, told to the person when that changes.
    saving: Arc<Saving>,
}

impl Results {
    pub(super) fn new(store: Store, keep_raw: Duration, saving: Arc<Saving>) -> Self {
        Results {
            store,
            keep_raw,
            pending: Mutex::new(Vec::new()),
            flush_now: Notify::new(),
            flushing: tokio::sync::Mutex::new(()),
            saving,
        }
    }

    /// Queues a routine result for the next batch.
    pub(super) fn enqueue(&self, pending: Pending) {
        let waiting = {
            let mut p = lock(&self.pending);
            p.push(pending);
            p.len()
        };
        if waiting >= FLUSH_AT {
            self.flush_now.notify_one();
        }
    }

    /// Writes routine results in batches: once a second, or at once when many are waiting.
    pub(super) async fn run(&self) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(FLUSH_EVERY) => {}
                () = self.flush_now.notified() => {}
            }
            self.flush_pending().await;
        }
    }

    pub(super) async fn flush_pending(&self) {
        let _ = self.flush(None::<WriteJob<()>>).await;
    }

    /// Writes the waiting results, then `also` in the same transaction. With `also` (an
    /// incident opening or closing) the commit waits for the disk; otherwise it need not.
    /// `Ok(None)` only without `also`. When the database cannot be written for now (full,
    /// busy, its writer failed) the results wait for the next batch and the person is told.
    pub(super) async fn flush<T: Send + 'static>(
        &self,
        also: Option<WriteJob<T>>,
    ) -> store::Result<Option<T>> {
        let _order = self.flushing.lock().await;
        let batch = Arc::new(std::mem::take(&mut *lock(&self.pending)));
        if batch.is_empty() && also.is_none() {
            return Ok(None);
        }
        let durable = also.is_some();
        let results = Arc::clone(&batch);
        let job = move |tx: &rusqlite::Transaction<'_>| {
            for p in results.iter() {
                store::record_result(tx, &p.id, &p.result, &p.state)?;
            }
            also.map(|f| f(tx)).transpose()
        };
        let written = if durable {
            self.store.write(job).await
        } else {
            self.store.write_relaxed(job).await
        };
        match &written {
            Ok(_) => self.saving.works(),
            Err(e) => {
                self.saving.failed(e);
                // The job is gone (run or dropped), so the batch is ours again.
                match Arc::try_unwrap(batch) {
                    Ok(batch) if e.is_transient() => self.requeue(batch),
                    Ok(batch) => tracing::error!(
                        dropped = batch.len(),
                        error = %e,
                        "check results not saved"
                    ),
                    Err(_) => {}
                }
            }
        }
        written
    }

    /// Puts results that could not be written back in front of the newer ones, keeping at
    /// most [`UNSAVED_RESULTS`].
    fn requeue(&self, mut batch: Vec<Pending>) {
        let mut pending = lock(&self.pending);
        batch.append(&mut pending);
        let over = batch.len().saturating_sub(UNSAVED_RESULTS);
        if over > 0 {
            tracing::warn!(
                dropped = over,
                "too many check results waiting: the oldest are dropped"
            );
            batch.drain(..over);
        }
        *pending = batch;
    }

    /// Keeps the database small: roll-ups, then retention, every few minutes.
    pub(super) async fn maintain_history(&self) {
        let keep_raw = i64::try_from(self.keep_raw.as_millis()).unwrap_or(i64::MAX);
        loop {
            let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
            if let Err(e) = self.store.maintain_history(now_ms, keep_raw).await {
                tracing::warn!(error = %e, "history maintenance failed; will retry");
            }
            tokio::time::sleep(HISTORY_MAINTENANCE).await;
        }
    }
}

/// Tells the person (window and log) when the database's writer failed: the write it was
/// running is abandoned (and retried where it matters), later ones go ahead.
pub(super) async fn report_store_faults(
    mut faults: broadcast::Receiver<String>,
    bulletin: &Bulletin,
) {
    loop {
        match faults.recv().await {
            Ok(fault) => {
                tracing::error!(%fault, "database writer");
                bulletin.add_notice(format!(
                    "The database writer failed ({fault}); Foghorn carries on and tries \
                     again what was not saved. The log has the details."
                ));
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(missed = n, "database writer faults not reported");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
