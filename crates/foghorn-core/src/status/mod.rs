//! Public status updates: composed once, published to every destination (Statuspage, the
//! team chat, a self-hosted page, a signed webhook) through the outbox.
//!
//! A *public incident* is what customers see: a title, a state, the components affected. It
//! may belong to one of Foghorn's own incidents (whose timeline records every update) or
//! stand alone (a scheduled maintenance). Each *update* is stored with the text exactly as
//! published, so a retry after a crash sends the same words, and the self-hosted page can be
//! rebuilt from the database at any time.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

pub mod compose;
pub mod git_push;
pub mod page;
pub mod publish;
pub mod record;
pub mod statuspage;
pub mod template;

/// Where a public incident is in its life, in Statuspage's words (their API and widgets
/// understand exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PublicState {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

impl PublicState {
    pub const ALL: [PublicState; 8] = [
        PublicState::Investigating,
        PublicState::Identified,
        PublicState::Monitoring,
        PublicState::Resolved,
        PublicState::Scheduled,
        PublicState::InProgress,
        PublicState::Verifying,
        PublicState::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicState::Investigating => "investigating",
            PublicState::Identified => "identified",
            PublicState::Monitoring => "monitoring",
            PublicState::Resolved => "resolved",
            PublicState::Scheduled => "scheduled",
            PublicState::InProgress => "in_progress",
            PublicState::Verifying => "verifying",
            PublicState::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// A scheduled maintenance rather than an unplanned incident.
    pub fn is_maintenance(self) -> bool {
        matches!(
            self,
            PublicState::Scheduled
                | PublicState::InProgress
                | PublicState::Verifying
                | PublicState::Completed
        )
    }

    /// Over: no further update is promised.
    pub fn is_closed(self) -> bool {
        matches!(self, PublicState::Resolved | PublicState::Completed)
    }

    /// "Investigating", as a reader sees it.
    pub fn label(self) -> &'static str {
        match self {
            PublicState::Investigating => "Investigating",
            PublicState::Identified => "Identified",
            PublicState::Monitoring => "Monitoring",
            PublicState::Resolved => "Resolved",
            PublicState::Scheduled => "Scheduled",
            PublicState::InProgress => "In progress",
            PublicState::Verifying => "Verifying",
            PublicState::Completed => "Completed",
        }
    }
}

impl fmt::Display for PublicState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component's status, in Statuspage's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::UnderMaintenance,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// "Partial outage", as a reader sees it.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }
}

impl fmt::Display for ComponentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an update is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Destination {
    Statuspage,
    Chat,
    Page,
    Webhook,
}

impl Destination {
    pub const ALL: [Destination; 4] = [
        Destination::Statuspage,
        Destination::Chat,
        Destination::Page,
        Destination::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Statuspage => "statuspage",
            Destination::Chat => "chat",
            Destination::Page => "page",
            Destination::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// What a person calls it ("Statuspage", "the status page").
    pub fn label(self) -> &'static str {
        match self {
            Destination::Statuspage => "Statuspage",
            Destination::Chat => "Team chat",
            Destination::Page => "Status page",
            Destination::Webhook => "Webhook",
        }
    }

    /// The outbox's channel for it: status posts share the outbox with the ladder.
    pub fn outbox_channel(self) -> &'static str {
        match self {
            Destination::Statuspage => "status:statuspage",
            Destination::Chat => "status:chat",
            Destination::Page => "status:page",
            Destination::Webhook => "status:webhook",
        }
    }

    pub fn from_outbox_channel(channel: &str) -> Option<Self> {
        channel.strip_prefix("status:").and_then(Self::parse)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A public incident with its updates, oldest update first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PublicIncident {
    #[ts(type = "number")]
    pub id: i64,
    /// Foghorn's incident it reports on, if any.
    #[ts(type = "number | null")]
    pub incident_id: Option<i64>,
    pub title: String,
    pub state: PublicState,
    /// Each affected component's status now.
    pub components: BTreeMap<String, ComponentStatus>,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub resolved_at: Option<OffsetDateTime>,
    /// The next update promised by then (none once resolved).
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub next_update_at: Option<OffsetDateTime>,
    pub updates: Vec<PublicUpdate>,
}

/// One update as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PublicUpdate {
    #[ts(type = "number")]
    pub id: i64,
    pub state: PublicState,
    pub message: String,
    /// The components' statuses this update set.
    pub components: BTreeMap<String, ComponentStatus>,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub posted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub next_update_at: Option<OffsetDateTime>,
    /// Who posted it ("Alice Smith", "cli").
    pub author: String,
}

impl PublicIncident {
    /// The worst status of each component this incident affects while it is open.
    pub fn open_components(&self) -> impl Iterator<Item = (&str, ComponentStatus)> {
        let open = !self.state.is_closed();
        self.components
            .iter()
            .filter(move |_| open)
            .map(|(name, status)| (name.as_str(), *status))
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    #[error("{0}")]
    Invalid(String),
    #[error("no public incident {0}")]
    NoSuchPublicIncident(i64),
    #[error("public incident {0} is closed ({1}); start a new one")]
    Closed(i64, PublicState),
    #[error("template: {0}")]
    Template(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot write the status page in {dir}: {source}")]
    Page {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, StatusError>;

/// An update someone owes the public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct UpdatePromise {
    /// The public incident whose next update is promised; `None` when no update was posted
    /// yet for `incident_id`.
    #[ts(type = "number | null")]
    pub public_id: Option<i64>,
    #[ts(type = "number | null")]
    pub incident_id: Option<i64>,
    pub title: String,
    /// Promised by (or, with no update yet, due by: the incident's start + `nudge_after`).
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub due_at: OffsetDateTime,
}
