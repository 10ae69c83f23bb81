//! Notifications: what to tell the user about a change, and the trait the desktop (or a
//! test, or the log) implements to show it.

use std::fmt;

use crate::incident::{IncidentAction, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
    pub urgency: Urgency,
    /// The incident it is about: a loud notification offers Acknowledge and Snooze for it.
    pub incident: Option<i64>,
    /// Buttons on the notification; pressing one acts on `incident`.
    pub actions: Vec<IncidentAction>,
}

impl Notification {
    pub fn down(name: &str, severity: Severity, reason: Option<&str>) -> Self {
        Self::opened(&format!("{name} is down"), severity, reason)
    }

    /// An incident opened: its title, and the reason in a few words.
    pub fn opened(title: &str, severity: Severity, reason: Option<&str>) -> Self {
        Notification {
            title: title.to_owned(),
            body: reason.unwrap_or("failing its checks").to_owned(),
            urgency: if severity >= Severity::Critical {
                Urgency::Critical
            } else {
                Urgency::Normal
            },
            incident: None,
            actions: Vec::new(),
        }
    }

    pub fn for_incident(mut self, id: i64) -> Self {
        self.incident = Some(id);
        self
    }

    pub fn up(name: &str, down_for: time::Duration) -> Self {
        Notification {
            title: format!("{name} is back up"),
            body: format!("Down for {}", human_duration(down_for)),
            urgency: Urgency::Low,
            incident: None,
            actions: Vec::new(),
        }
    }
}

impl Notification {
    pub fn flapping(name: &str, changes: usize, within: time::Duration) -> Self {
        Notification {
            title: format!("{name} is flapping"),
            body: format!(
                "{changes} ups and downs in {}; further changes stay quiet until it settles",
                human_duration(within)
            ),
            urgency: Urgency::Normal,
            incident: None,
            actions: Vec::new(),
        }
    }

    pub fn settled(name: &str, up: bool) -> Self {
        Notification {
            title: format!("{name} has stopped flapping"),
            body: if up { "It is up." } else { "It is down." }.to_owned(),
            urgency: if up { Urgency::Low } else { Urgency::Normal },
            incident: None,
            actions: Vec::new(),
        }
    }
}

/// `1h 2m`, `3m 5s`, `40s`: the precision a person wants in a notification.
pub fn human_duration(d: time::Duration) -> String {
    let secs = d.whole_seconds().max(0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// Nobody is listening: no notification daemon on Linux, notifications disabled, …
    #[error("no notification service is available: {0}")]
    Unavailable(String),
    #[error("the notification could not be shown: {0}")]
    Failed(String),
}

/// Shows notifications. The desktop shell implements it with native notifications; the
/// headless engine with the log.
pub trait Notifier: Send + Sync + fmt::Debug {
    fn show(&self, notification: &Notification) -> Result<(), NotifyError>;
}

/// Writes notifications to the log: for `run --headless`, and the fallback when the desktop
/// has no notification service.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn show(&self, n: &Notification) -> Result<(), NotifyError> {
        tracing::warn!(title = %n.title, body = %n.body, "alert");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        let cases = [
            (5, "5s"),
            (65, "1m 5s"),
            (3600, "1h 0m"),
            (3725, "1h 2m"),
            (-3, "0s"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(time::Duration::seconds(secs)), want);
        }
    }

    #[test]
    fn critical_monitors_notify_critically() {
        assert_eq!(
            Notification::down("api", Severity::Critical, None).urgency,
            Urgency::Critical
        );
        assert_eq!(
            Notification::down("api", Severity::Major, Some("HTTP 500")).body,
            "HTTP 500"
        );
    }
}
