//! Incidents: what the user is told about. Signals (a monitor going down; later a feed's
//! alert) are grouped into incidents by a stable key, so the same outage never opens two; an
//! incident resolves when every signal in it has cleared, unless its owner resolves by hand.

pub mod rules;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, TS,
)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Severity {
    Info,
    Minor,
    #[default]
    Major,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "info" => Severity::Info,
            "minor" => Severity::Minor,
            "major" => Severity::Major,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum IncidentState {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Triggered => "triggered",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "triggered" => IncidentState::Triggered,
            "acknowledged" => IncidentState::Acknowledged,
            "resolved" => IncidentState::Resolved,
            _ => return None,
        })
    }
}

/// An incident as the window and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IncidentView {
    #[ts(type = "number")]
    pub id: i64,
    pub dedup_key: String,
    pub title: String,
    pub severity: Severity,
    pub state: IncidentState,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Who acknowledged it ("Alice Smith", "cli"), while acknowledged or after.
    pub acked_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub acked_at: Option<OffsetDateTime>,
    /// Quiet until then: no alarm, no repeated notification.
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub snoozed_until: Option<OffsetDateTime>,
    /// Who took it ("reassign to me").
    pub assignee: Option<String>,
    /// Resolves by itself once every signal has cleared; `false` waits for a person.
    pub auto_resolve: bool,
}

impl IncidentView {
    pub fn is_open(&self) -> bool {
        self.state != IncidentState::Resolved
    }

    /// Snoozed at `now`.
    pub fn snoozed(&self, now: OffsetDateTime) -> bool {
        self.snoozed_until.is_some_and(|u| now < u)
    }
}

/// Something that may be an incident: a monitor failing, an alert firing in a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// Stable across checks and restarts: `monitor:{id}`, later a feed's fingerprint.
    pub dedup_key: String,
    /// Signals with the same group key share one incident (`dedup_key` unless grouped).
    pub group_key: String,
    /// `monitor`, `alertmanager`, …
    pub source: String,
    /// Who raised it, for the timeline: `monitor api`, `alertmanager`.
    pub origin: String,
    /// The incident's title when this signal opens it.
    pub summary: String,
    pub severity: Severity,
    pub link: Option<String>,
    pub at: OffsetDateTime,
    /// What was seen: the failing condition's output, latency, first and last failure.
    pub evidence: String,
    /// `false`: the incident waits for a person to resolve it when the signal clears.
    pub auto_resolve: bool,
}

/// One line of an incident's append-only timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TimelineEntry {
    #[ts(type = "number")]
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    pub kind: TimelineKind,
    /// Who or what did it: a person, `cli`, `monitor api`.
    pub actor: String,
    pub detail: String,
}

/// What a timeline line records. Stored by its kebab-case name (the window shows it, the
/// postmortem tells the story from it); a name this version does not know, written by a newer
/// one, reads as `Other`, so the incident still shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum TimelineKind {
    /// A signal opened the incident.
    Triggered,
    /// Another signal joined it.
    Joined,
    /// A signal opened it again soon after it resolved.
    Retriggered,
    /// A signal cleared while the incident stays open.
    SignalCleared,
    Resolved,
    Acknowledged,
    Snoozed,
    /// Someone took it ("reassign to me").
    Assigned,
    /// A desktop notification was shown.
    Notified,
    /// A ladder step fired.
    Escalated,
    /// A ladder step was skipped (by hand, or not this laptop's to climb).
    EscalationSkipped,
    /// This laptop took over the ladder of a laptop that went away.
    Handover,
    /// A ladder message reached its vendor.
    MessageSent,
    /// A ladder message failed for good.
    MessageFailed,
    /// The acknowledgement was written back to a feed's vendor.
    FeedAck,
    /// A team claim from a feed was not believed.
    FeedIgnored,
    /// A public status update was published about it.
    StatusUpdate,
    /// How the public updates kept their promises, once the public incident closed.
    StatusRecord,
    /// Its postmortem was published.
    PostmortemPublished,
    /// A customer letter about it finished sending.
    Letter,
    /// A kind this version does not know.
    Other,
}

impl TimelineKind {
    const ALL: [TimelineKind; 20] = [
        TimelineKind::Triggered,
        TimelineKind::Joined,
        TimelineKind::Retriggered,
        TimelineKind::SignalCleared,
        TimelineKind::Resolved,
        TimelineKind::Acknowledged,
        TimelineKind::Snoozed,
        TimelineKind::Assigned,
        TimelineKind::Notified,
        TimelineKind::Escalated,
        TimelineKind::EscalationSkipped,
        TimelineKind::Handover,
        TimelineKind::MessageSent,
        TimelineKind::MessageFailed,
        TimelineKind::FeedAck,
        TimelineKind::FeedIgnored,
        TimelineKind::StatusUpdate,
        TimelineKind::StatusRecord,
        TimelineKind::PostmortemPublished,
        TimelineKind::Letter,
    ];

    /// The name stored in the database and sent to the window.
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Triggered => "triggered",
            TimelineKind::Joined => "joined",
            TimelineKind::Retriggered => "retriggered",
            TimelineKind::SignalCleared => "signal-cleared",
            TimelineKind::Resolved => "resolved",
            TimelineKind::Acknowledged => "acknowledged",
            TimelineKind::Snoozed => "snoozed",
            TimelineKind::Assigned => "assigned",
            TimelineKind::Notified => "notified",
            TimelineKind::Escalated => "escalated",
            TimelineKind::EscalationSkipped => "escalation-skipped",
            TimelineKind::Handover => "handover",
            TimelineKind::MessageSent => "message-sent",
            TimelineKind::MessageFailed => "message-failed",
            TimelineKind::FeedAck => "feed-ack",
            TimelineKind::FeedIgnored => "feed-ignored",
            TimelineKind::StatusUpdate => "status-update",
            TimelineKind::StatusRecord => "status-record",
            TimelineKind::PostmortemPublished => "postmortem-published",
            TimelineKind::Letter => "letter",
            TimelineKind::Other => "other",
        }
    }

    /// The kind a stored name stands for; `Other` for one this version does not know.
    pub fn parse(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or(TimelineKind::Other)
    }
}

/// A signal as the incident's detail shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SignalView {
    pub dedup_key: String,
    pub source: String,
    pub summary: String,
    pub severity: Severity,
    pub link: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub last_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub ended_at: Option<OffsetDateTime>,
}

/// A step of an incident's ladder, as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LadderStep {
    /// Index into `[[escalation.steps]]`, from 0.
    pub step: u32,
    /// `chat`, `sms`, `call`, `pagerduty`, `webhook`.
    pub action: String,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub due_at: OffsetDateTime,
    /// `pending`, `fired`, `cancelled`, `skipped`.
    pub state: String,
    /// What happened: who was texted, why it was skipped.
    pub note: Option<String>,
}

/// An incident with its evidence: the window's detail view and `foghorn incidents --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub signals: Vec<SignalView>,
    pub timeline: Vec<TimelineEntry>,
    /// The escalation ladder: steps fired, pending (with when), cancelled or skipped.
    pub ladder: Vec<LadderStep>,
}

/// What a person can do to an incident, from the tray, a notification, the window or the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum IncidentAction {
    Acknowledge,
    Resolve,
    /// Quiet for [`SNOOZE`].
    Snooze,
    ReassignToMe,
}

/// How long "Snooze" keeps an incident quiet.
pub const SNOOZE: time::Duration = time::Duration::minutes(10);

impl IncidentAction {
    /// The key a notification action carries.
    pub fn key(self) -> &'static str {
        match self {
            IncidentAction::Acknowledge => "ack",
            IncidentAction::Resolve => "resolve",
            IncidentAction::Snooze => "snooze",
            IncidentAction::ReassignToMe => "take",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [
            IncidentAction::Acknowledge,
            IncidentAction::Resolve,
            IncidentAction::Snooze,
            IncidentAction::ReassignToMe,
        ]
        .into_iter()
        .find(|a| a.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::TimelineKind;

    #[test]
    fn a_timeline_kind_is_stored_and_sent_by_one_name() {
        for kind in TimelineKind::ALL {
            let sent = serde_json::to_value(kind).expect("serializes");
            assert_eq!(sent, kind.as_str(), "{kind:?}");
            assert_eq!(TimelineKind::parse(kind.as_str()), kind);
        }
        assert_eq!(
            TimelineKind::parse("written-by-a-newer-version"),
            TimelineKind::Other
        );
    }
}
