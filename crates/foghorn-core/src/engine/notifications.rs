//! Telling the person at this machine: the mute, what the notification policy says for a
//! severity, and showing notifications off the async workers (the first failure becomes a
//! notice).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use super::bulletin::Bulletin;
use super::lock;
use crate::config::NotificationConfig;
use crate::incident::Severity;
use crate::mute::Mute;
use crate::notify::{Notification, Notifier, NotifyError};
use crate::policy::{self, Delivery, Situation};

/// The notifier, the mute and the notification settings.
#[derive(Debug)]
pub(super) struct Notifications {
    config: NotificationConfig,
    notifier: Arc<dyn Notifier>,
    /// Leaf lock.
    mute: Mutex<Mute>,
    /// A notification failed already: the person was told once.
    failed: AtomicBool,
    bulletin: Arc<Bulletin>,
}

impl Notifications {
    pub(super) fn new(
        config: NotificationConfig,
        notifier: Arc<dyn Notifier>,
        mute: Mute,
        bulletin: Arc<Bulletin>,
    ) -> Self {
        Notifications {
            config,
            notifier,
            mute: Mutex::new(mute),
            failed: AtomicBool::new(false),
            bulletin,
        }
    }

    pub(super) fn config(&self) -> &NotificationConfig {
        &self.config
    }

    /// The mute as it stands at `now` (a timed mute that ran out is off).
    pub(super) fn mute(&self, now: OffsetDateTime) -> Mute {
        lock(&self.mute).current(now)
    }

    pub(super) fn set_mute(&self, mute: Mute) {
        *lock(&self.mute) = mute;
    }

    pub(super) fn muted(&self, at: OffsetDateTime) -> bool {
        lock(&self.mute).is_active(at)
    }

    /// How an incident of `severity` is told at `at`.
    pub(super) fn delivery(
        &self,
        severity: Severity,
        on_call: bool,
        at: OffsetDateTime,
    ) -> Delivery {
        policy::decide(
            &self.config,
            Situation {
                severity,
                on_call,
                muted: self.muted(at),
            },
        )
    }

    /// Shows a notification about a monitor (not an incident) unless notifications are off
    /// or muted.
    pub(super) async fn notify(&self, notification: Notification, now: OffsetDateTime) {
        if !self.config.enabled {
            return;
        }
        if self.muted(now) {
            tracing::info!(title = %notification.title, "muted: notification not shown");
            return;
        }
        let _ = self.show(notification).await;
    }

    /// Shows a notification. Native notification calls may block (D-Bus), so they run off
    /// the async workers; the first failure becomes a notice in the window.
    pub(super) async fn show(
        &self,
        notification: Notification,
    ) -> std::result::Result<(), NotifyError> {
        let notifier = Arc::clone(&self.notifier);
        let shown = tokio::task::spawn_blocking(move || {
            let outcome = notifier.show(&notification);
            (notification, outcome)
        })
        .await;
        let (notification, outcome) =
            shown.map_err(|e| NotifyError::Failed(format!("the notifier panicked: {e}")))?;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, title = %notification.title, "notification not shown");
            if !self.failed.swap(true, Ordering::AcqRel) {
                self.bulletin
                    .add_notice(format!("{e}. Alerts show here and in the log."));
            }
        }
        outcome
    }

    /// Shows a nudge at once, on the caller's thread (the cadence's own loop).
    pub(super) fn show_now(
        &self,
        notification: &Notification,
    ) -> std::result::Result<(), NotifyError> {
        self.notifier.show(notification)
    }
}
