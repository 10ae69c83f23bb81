//! Incident changes that must not be lost. Each is written with the results before it in one
//! FULL transaction; when that write fails (the disk is full, the database stays busy, the
//! writer failed) the change is kept here, in order, the person is alerted from memory with a
//! notice that history is not being saved, and the write is tried again until it lands. Then
//! what it owed follows as if it had landed at once: the incident and its ladder are in the
//! database, its notification is recorded (as shown, when it was shown from memory) and the
//! alarm rings for the real incident instead of its stand-in.
//!
//! The order matters: a monitor that came back up while its outage was not saved must not be
//! written before the outage, or the incident would stay open. So once one change waits,
//! every later change waits behind it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bulletin::Bulletin;
use super::{lock, Engine};
use crate::incident::IncidentState;
use crate::notify::{Notification, Urgency};
use crate::store::{self, Cleared, Raised, StoreError, StoredNotification};

/// How often unsaved incident changes are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Writes a change; called again for each attempt, so it only reads what it captured.
pub(super) type Write =
    Arc<dyn Fn(&rusqlite::Transaction<'_>) -> store::Result<Saved> + Send + Sync>;

/// What a written change did, for what follows it (the window, the notification, the alarm).
pub(super) enum Saved {
    Fired {
        raised: Raised,
        owed: Option<StoredNotification>,
    },
    Cleared(Option<(Cleared, Option<StoredNotification>)>),
}

/// An incident change to write, and what to tell the person if it cannot be written yet.
pub(super) struct Change {
    pub(super) write: Write,
    /// The signal it is about (`monitor:api`).
    pub(super) key: String,
    pub(super) kind: Kind,
}

pub(super) enum Kind {
    /// A signal fired: its title, and the notification it owes (loud or not) if any.
    Fired {
        title: String,
        notify: Option<(Notification, bool)>,
    },
    Cleared,
}

struct Unsaved {
    change: Change,
    /// The alarm rings for it from memory under this stand-in (negative) id until it is saved.
    rang_as: Option<i64>,
    /// Its notification was shown from memory: once saved, it is recorded as shown.
    shown: bool,
}

/// The changes waiting to be written.
pub(super) struct Durable {
    /// Held (async) while the backlog or a new change is written: first in the lock order.
    backlog: tokio::sync::Mutex<VecDeque<Unsaved>>,
    next_stand_in: AtomicI64,
    saving: Arc<Saving>,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("saving", &self.saving)
            .finish_non_exhaustive()
    }
}

impl Durable {
    pub(super) fn new(saving: Arc<Saving>) -> Self {
        Durable {
            backlog: tokio::sync::Mutex::new(VecDeque::new()),
            next_stand_in: AtomicI64::new(0),
            saving,
        }
    }
}

/// Whether the database can be written now, as the person was told: shared by the results
/// writer (which sees writes work or fail) and the unsaved changes (which wait).
#[derive(Debug)]
pub(super) struct Saving {
    /// How many incident changes wait (readable without the backlog's async lock).
    waiting: AtomicUsize,
    /// Why writes fail, while they do: the person is told once per failing spell. Leaf lock.
    failing: Mutex<Option<String>>,
    bulletin: Arc<Bulletin>,
}

impl Saving {
    pub(super) fn new(bulletin: Arc<Bulletin>) -> Self {
        Saving {
            waiting: AtomicUsize::new(0),
            failing: Mutex::new(None),
            bulletin,
        }
    }

    /// A write failed: the person hears once (until writes work again) that history is not
    /// being saved.
    pub(super) fn failed(&self, error: &StoreError) {
        let first = lock(&self.failing).replace(error.to_string()).is_none();
        if !first {
            tracing::debug!(error = %error, "still cannot write the database");
            return;
        }
        tracing::error!(error = %error, "cannot write the database");
        self.bulletin.add_notice(format!(
            "History is not being saved: {error}. Foghorn alerts from memory meanwhile and \
             keeps trying; incidents are saved as soon as the database can be written."
        ));
    }

    /// A write worked: if writes had failed and nothing waits any more, say so.
    pub(super) fn works(&self) {
        if self.waiting.load(Ordering::Acquire) > 0 {
            return;
        }
        if lock(&self.failing).take().is_some() {
            tracing::info!("the database can be written again");
            self.bulletin
                .add_notice("History is being saved again; nothing was lost.".to_owned());
        }
    }
}

impl Engine {
    /// Writes `change` after whatever still waits. `None`: not written now — it waits, the
    /// person was alerted from memory, and [`Engine::retry_unsaved`] writes it later.
    pub(super) async fn save(&self, change: Change) -> Option<Saved> {
        let (saved, earlier, show) = {
            let mut backlog = self.shared.durable.backlog.lock().await;
            let earlier = self.write_backlog(&mut backlog).await;
            let written = if backlog.is_empty() {
                self.write_change(&change).await
            } else {
                None
            };
            match written {
                Some(saved) => (Some(saved), earlier, None),
                None => {
                    let show = self.keep(&mut backlog, change);
                    (None, earlier, show)
                }
            }
        };
        self.after_saved_late(earlier).await;
        if let Some(n) = show {
            let _ = self.shared.notifications.show(n).await;
        }
        saved
    }

    /// Tries the waiting changes again every few seconds, forever.
    pub(super) async fn retry_unsaved(&self) {
        loop {
            tokio::time::sleep(RETRY_EVERY).await;
            if self.shared.durable.saving.waiting.load(Ordering::Acquire) == 0 {
                continue;
            }
            let done = {
                let mut backlog = self.shared.durable.backlog.lock().await;
                self.write_backlog(&mut backlog).await
            };
            self.after_saved_late(done).await;
        }
    }

    /// On shutdown: one last try, and a clear word about what could not be saved.
    pub(super) async fn save_before_exit(&self) {
        let done = {
            let mut backlog = self.shared.durable.backlog.lock().await;
            let done = self.write_backlog(&mut backlog).await;
            if !backlog.is_empty() {
                tracing::error!(
                    unsaved = backlog.len(),
                    "stopping with incident changes that could not be saved"
                );
            }
            done
        };
        self.after_saved_late(done).await;
    }

    async fn write_change(&self, change: &Change) -> Option<Saved> {
        let write = Arc::clone(&change.write);
        self.shared
            .results
            .flush(Some(Box::new(move |tx: &rusqlite::Transaction<'_>| {
                write(tx)
            })))
            .await
            .ok()
            .flatten()
    }

    /// Writes waiting changes in order, stopping at the first that fails.
    async fn write_backlog(&self, backlog: &mut VecDeque<Unsaved>) -> Vec<(Unsaved, Saved)> {
        let mut done = Vec::new();
        while let Some(head) = backlog.front() {
            let Some(saved) = self.write_change(&head.change).await else {
                break;
            };
            if let Some(unsaved) = backlog.pop_front() {
                self.shared
                    .durable
                    .saving
                    .waiting
                    .fetch_sub(1, Ordering::AcqRel);
                done.push((unsaved, saved));
            }
        }
        if !done.is_empty() {
            tracing::info!(
                saved = done.len(),
                waiting = backlog.len(),
                "incident changes saved late"
            );
            self.shared.durable.saving.works();
        }
        done
    }

    /// Keeps a change that could not be written and alerts from memory; returns the
    /// notification to show (after the backlog's lock is let go).
    fn keep(&self, backlog: &mut VecDeque<Unsaved>, change: Change) -> Option<Notification> {
        let mut unsaved = Unsaved {
            change,
            rang_as: None,
            shown: false,
        };
        let mut show = None;
        match &unsaved.change.kind {
            Kind::Fired { title, notify } => {
                tracing::warn!(
                    signal = %unsaved.change.key,
                    "{title}: the incident cannot be saved yet; alerting from memory"
                );
                if let Some((n, loud)) = notify {
                    if *loud {
                        // Rung under the lock, so that a save that lands meanwhile cannot
                        // silence the stand-in before it rings.
                        let id = -1
                            - self
                                .shared
                                .durable
                                .next_stand_in
                                .fetch_add(1, Ordering::Relaxed);
                        let _ = self.ring(id);
                        unsaved.rang_as = Some(id);
                    }
                    unsaved.shown = true;
                    show = Some(from_memory(n.clone(), *loud));
                }
            }
            Kind::Cleared => {
                // Back up before its outage was saved: the alarm has nothing left to ring for.
                for earlier in backlog
                    .iter_mut()
                    .filter(|u| u.change.key == unsaved.change.key)
                {
                    if let Some(id) = earlier.rang_as.take() {
                        self.silence(id);
                    }
                }
            }
        }
        backlog.push_back(unsaved);
        self.shared
            .durable
            .saving
            .waiting
            .fetch_add(1, Ordering::AcqRel);
        show
    }

    /// What written changes owed, in the order they were written.
    async fn after_saved_late(&self, done: Vec<(Unsaved, Saved)>) {
        for (unsaved, saved) in done {
            match saved {
                Saved::Fired { raised, owed } => {
                    let owed = match owed {
                        Some(n) if unsaved.shown => {
                            self.shown_from_memory(n).await;
                            None
                        }
                        other => other,
                    };
                    if let Some(id) = unsaved.rang_as {
                        self.silence(id);
                    }
                    self.after_fired(raised, owed).await;
                }
                Saved::Cleared(cleared) => {
                    if let Some(id) = unsaved.rang_as {
                        self.silence(id);
                    }
                    self.after_cleared(cleared).await;
                }
            }
        }
    }

    /// A notification shown from memory is recorded as shown, and the alarm that rang for the
    /// stand-in rings for the saved incident while nobody has it.
    async fn shown_from_memory(&self, owed: StoredNotification) {
        let now = self.now();
        let id = owed.incident_id;
        let current = self.shared.store.incident(id).ok().flatten();
        let rings = owed.loud
            && current
                .as_ref()
                .is_some_and(|i| i.state == IncidentState::Triggered && !i.snoozed(now));
        let mut note = "notification shown before the incident could be saved".to_owned();
        if rings {
            match self.ring(id) {
                Ok(()) => note.push_str("; the alarm rang"),
                Err(why) => {
                    note.push_str(&format!("; the alarm could not sound ({why}): visual only"))
                }
            }
        }
        self.mark_delivered(owed.id, "shown from memory", Some((id, note)))
            .await;
    }
}

/// The notification a change owes, shown before it is saved: no incident to act on yet, and
/// a word on why.
fn from_memory(mut n: Notification, loud: bool) -> Notification {
    if loud {
        n.urgency = Urgency::Critical;
    } else if n.urgency == Urgency::Critical {
        n.urgency = Urgency::Normal;
    }
    n.incident = None;
    n.actions = Vec::new();
    n.body
        .push_str("\nNot saved yet: Foghorn cannot write its database and keeps trying.");
    n
}
