//! A monitor's state between checks: thresholds turn a stream of results into "up" and
//! "down", so one blip never pages anyone and one success after an outage ends it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

use crate::check::CheckResult;

/// Stable identity of a monitor: its name, lower-cased with runs of other characters folded
/// to `-`. Renaming a monitor therefore starts a new history, which is what users expect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MonitorId(pub String);

impl MonitorId {
    pub fn from_name(name: &str) -> Self {
        let mut id = String::with_capacity(name.len());
        for c in name.trim().chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                id.push(c);
            } else if !id.ends_with('-') {
                id.push('-');
            }
        }
        MonitorId(id.trim_matches('-').to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MonitorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum MonitorStatus {
    /// Not checked yet.
    Pending,
    Up,
    Down,
    /// Monitoring is paused by the user.
    Paused,
    /// Results cannot be trusted (e.g. this machine is offline).
    Unknown,
}

impl MonitorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorStatus::Pending => "pending",
            MonitorStatus::Up => "up",
            MonitorStatus::Down => "down",
            MonitorStatus::Paused => "paused",
            MonitorStatus::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => MonitorStatus::Pending,
            "up" => MonitorStatus::Up,
            "down" => MonitorStatus::Down,
            "paused" => MonitorStatus::Paused,
            "unknown" => MonitorStatus::Unknown,
            _ => return None,
        })
    }
}

/// A monitor as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MonitorView {
    pub id: String,
    pub name: String,
    /// What is checked, e.g. the URL.
    pub target: String,
    pub status: MonitorStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub last_checked_at: Option<OffsetDateTime>,
    #[ts(type = "number | null")]
    pub latency_ms: Option<u64>,
    pub last_error: Option<String>,
    /// When the current status began.
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub since: Option<OffsetDateTime>,
    /// For a heartbeat monitor, the command its job runs to ping it (token included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ping: Option<String>,
}

/// What one result did to a monitor's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing the user needs to hear about.
    None,
    /// The failure threshold was crossed.
    WentDown,
    /// The success threshold was crossed after being down, `down_for` after it went down.
    CameUp { down_for: time::Duration },
}

/// The part of a monitor that survives restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorState {
    pub status: MonitorStatus,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    pub since: Option<OffsetDateTime>,
    pub last_checked_at: Option<OffsetDateTime>,
    pub latency_ms: Option<u64>,
    pub last_error: Option<String>,
}

impl Default for MonitorState {
    fn default() -> Self {
        Self {
            status: MonitorStatus::Pending,
            consecutive_failures: 0,
            consecutive_successes: 0,
            since: None,
            last_checked_at: None,
            latency_ms: None,
            last_error: None,
        }
    }
}

impl MonitorState {
    /// Folds one result in. A monitor that has never been up still goes "down" once the
    /// failure threshold is crossed: a target that is broken from the start is an outage too.
    pub fn apply(
        &mut self,
        result: &CheckResult,
        failure_threshold: u32,
        success_threshold: u32,
    ) -> Transition {
        self.last_checked_at = Some(result.at);
        self.latency_ms = result.latency_ms;
        self.last_error = result.error.clone();
        if result.ok {
            self.consecutive_failures = 0;
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
        } else {
            self.consecutive_successes = 0;
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        }
        let was = self.status;
        let next = match was {
            MonitorStatus::Down if result.ok && self.consecutive_successes >= success_threshold => {
                MonitorStatus::Up
            }
            MonitorStatus::Down => MonitorStatus::Down,
            _ if !result.ok && self.consecutive_failures >= failure_threshold => {
                MonitorStatus::Down
            }
            _ if result.ok => MonitorStatus::Up,
            // Failing, below the threshold: keep what we had (a pending monitor stays pending).
            other => other,
        };
        if next == was {
            return Transition::None;
        }
        let previous_since = self.since;
        self.status = next;
        self.since = Some(result.at);
        match next {
            MonitorStatus::Down => Transition::WentDown,
            MonitorStatus::Up if was == MonitorStatus::Down => Transition::CameUp {
                down_for: previous_since.map_or(time::Duration::ZERO, |s| result.at - s),
            },
            _ => Transition::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn result(ok: bool, secs: i64) -> CheckResult {
        CheckResult {
            at: datetime!(2026-01-01 0:00 UTC) + time::Duration::seconds(secs),
            ok,
            latency_ms: Some(10),
            error: (!ok).then(|| "boom".to_owned()),
            outcomes: vec![],
            unreachable: false,
        }
    }

    #[test]
    fn ids_are_stable_slugs() {
        assert_eq!(
            MonitorId::from_name("  API (EU) health "),
            MonitorId("api-eu-health".into())
        );
        assert_eq!(
            MonitorId::from_name("Demo: flaky"),
            MonitorId("demo-flaky".into())
        );
    }

    #[test]
    fn one_blip_does_not_page() {
        let mut s = MonitorState::default();
        assert_eq!(s.apply(&result(true, 0), 2, 1), Transition::None);
        assert_eq!(s.status, MonitorStatus::Up);
        assert_eq!(s.apply(&result(false, 30), 2, 1), Transition::None);
        assert_eq!(s.status, MonitorStatus::Up);
        assert_eq!(s.apply(&result(true, 60), 2, 1), Transition::None);
    }

    #[test]
    fn threshold_failures_go_down_and_success_reports_duration() {
        let mut s = MonitorState::default();
        s.apply(&result(true, 0), 2, 1);
        s.apply(&result(false, 30), 2, 1);
        assert_eq!(s.apply(&result(false, 35), 2, 1), Transition::WentDown);
        assert_eq!(s.apply(&result(false, 65), 2, 1), Transition::None);
        assert_eq!(
            s.apply(&result(true, 95), 2, 1),
            Transition::CameUp {
                down_for: time::Duration::seconds(60)
            }
        );
        assert_eq!(s.status, MonitorStatus::Up);
    }

    #[test]
    fn success_threshold_needs_consecutive_successes() {
        let mut s = MonitorState::default();
        s.apply(&result(false, 0), 1, 2);
        assert_eq!(s.status, MonitorStatus::Down);
        assert_eq!(s.apply(&result(true, 10), 1, 2), Transition::None);
        assert_eq!(s.apply(&result(false, 20), 1, 2), Transition::None);
        assert_eq!(s.apply(&result(true, 30), 1, 2), Transition::None);
        assert!(matches!(
            s.apply(&result(true, 40), 1, 2),
            Transition::CameUp { .. }
        ));
    }

    #[test]
    fn broken_from_the_start_is_an_outage() {
        let mut s = MonitorState::default();
        assert_eq!(s.apply(&result(false, 0), 2, 1), Transition::None);
        assert_eq!(s.status, MonitorStatus::Pending);
        assert_eq!(s.apply(&result(false, 5), 2, 1), Transition::WentDown);
    }
}
