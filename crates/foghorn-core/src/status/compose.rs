//! From what a person asks for to an update ready to publish, checked against the monitors:
//! the affected components pre-filled from failing monitors, the message from the state's
//! template, the promised next update, warnings when a post contradicts the evidence, and
//! the evidence itself for the timeline (never for the public text).

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::template::{self, TemplateContext};
use super::{ComponentStatus, Destination, PublicIncident, PublicState, Result, StatusError};
use crate::config::StatusConfig;
use crate::monitor::{MonitorId, MonitorStatus};
use crate::store::Store;

/// What a person asks to post.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Continue this public incident (its id as the first post printed).
    pub public_id: Option<i64>,
    /// Foghorn's incident it reports on; its timeline records the update.
    pub incident_id: Option<i64>,
    /// Default: the public incident's title, else the incident's.
    pub title: Option<String>,
    pub state: PublicState,
    /// Components and their statuses as given; empty pre-fills from failing monitors.
    pub components: BTreeMap<String, ComponentStatus>,
    /// Default: the state's template.
    pub message: Option<String>,
    /// Default: `[status] next_update`.
    pub next_update: Option<Duration>,
    /// Default: every configured destination.
    pub to: Option<Vec<Destination>>,
    pub author: String,
}

/// An update ready to publish.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Composed {
    pub public_id: Option<i64>,
    pub incident_id: Option<i64>,
    pub title: String,
    pub state: PublicState,
    pub components: BTreeMap<String, ComponentStatus>,
    pub message: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The monitoring evidence, for the timeline only.
    pub evidence: Option<String>,
    /// Where the post contradicts the monitors ("API's monitor is still down").
    pub warnings: Vec<String>,
    pub destinations: Vec<Destination>,
    pub author: String,
}

/// Monitors of the configuration that are down now, by name, with since when.
fn down_monitors(
    store: &Store,
    config: &StatusConfig,
) -> Result<BTreeMap<String, Option<OffsetDateTime>>> {
    let states = store.monitor_states()?;
    let mut down = BTreeMap::new();
    for name in config.components.iter().flat_map(|c| c.monitors.iter()) {
        if let Some(state) = states.get(&MonitorId::from_name(name)) {
            if state.status == MonitorStatus::Down {
                down.insert(name.clone(), state.since);
            }
        }
    }
    Ok(down)
}

/// Components whose monitors are failing: all of them down is a major outage, some a
/// partial one.
fn failing_components(
    config: &StatusConfig,
    down: &BTreeMap<String, Option<OffsetDateTime>>,
) -> BTreeMap<String, ComponentStatus> {
    config
        .components
        .iter()
        .filter_map(|c| {
            let failing = c.monitors.iter().filter(|m| down.contains_key(*m)).count();
            match failing {
                0 => None,
                n if n == c.monitors.len() => Some((c.name.clone(), ComponentStatus::MajorOutage)),
                _ => Some((c.name.clone(), ComponentStatus::PartialOutage)),
            }
        })
        .collect()
}

/// Fills `draft` in and checks it. `configured` are the destinations `[status]` sets up.
pub fn compose(
    config: &StatusConfig,
    store: &Store,
    draft: Draft,
    configured: &[Destination],
    now: OffsetDateTime,
) -> Result<Composed> {
    let existing: Option<PublicIncident> = match draft.public_id {
        Some(id) => Some(
            store
                .public_incident(id)?
                .ok_or(StatusError::NoSuchPublicIncident(id))?,
        ),
        None => None,
    };
    if let Some(p) = &existing {
        if p.state.is_closed() {
            return Err(StatusError::Closed(p.id, p.state));
        }
        if p.state.is_maintenance() != draft.state.is_maintenance() {
            return Err(StatusError::Invalid(format!(
                "public incident {} is {}, so its next state cannot be {}",
                p.id,
                if p.state.is_maintenance() {
                    "a scheduled maintenance"
                } else {
                    "an incident"
                },
                draft.state
            )));
        }
    }
    let incident_id = draft
        .incident_id
        .or(existing.as_ref().and_then(|p| p.incident_id));
    let incident = match incident_id {
        Some(id) => Some(
            store
                .incident_detail(id)?
                .ok_or_else(|| StatusError::Invalid(format!("no incident {id}")))?,
        ),
        None => None,
    };
    for name in draft.components.keys() {
        if !config.components.iter().any(|c| &c.name == name) {
            let known: Vec<&str> = config.components.iter().map(|c| c.name.as_str()).collect();
            return Err(StatusError::Invalid(format!(
                "no component {name:?} in [status] components (known: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let title = draft
        .title
        .filter(|t| !t.trim().is_empty())
        .or_else(|| existing.as_ref().map(|p| p.title.clone()))
        .or_else(|| incident.as_ref().map(|i| i.incident.title.clone()))
        .ok_or_else(|| StatusError::Invalid("a new public incident needs a title".to_owned()))?;
    if title.chars().count() > 255 {
        return Err(StatusError::Invalid(
            "the title is longer than 255 characters (Statuspage's limit)".to_owned(),
        ));
    }
    let down = down_monitors(store, config)?;
    let mut components = draft.components;
    if components.is_empty() {
        components = if draft.state.is_closed() {
            // Closing restores every component the incident affected.
            existing
                .as_ref()
                .map(|p| {
                    p.components
                        .keys()
                        .map(|k| (k.clone(), ComponentStatus::Operational))
                        .collect()
                })
                .unwrap_or_default()
        } else if let Some(p) = &existing {
            p.components.clone()
        } else {
            failing_components(config, &down)
        };
    }
    let mut warnings = Vec::new();
    for c in &config.components {
        let restored = components.get(&c.name) == Some(&ComponentStatus::Operational)
            || (draft.state.is_closed() && !components.contains_key(&c.name) && {
                existing
                    .as_ref()
                    .is_some_and(|p| p.components.contains_key(&c.name))
            });
        if !restored {
            continue;
        }
        for m in c.monitors.iter().filter(|m| down.contains_key(*m)) {
            warnings.push(format!(
                "{} is marked operational but its monitor {m:?} is still down",
                c.name
            ));
        }
    }
    if draft.state.is_closed() && warnings.is_empty() {
        for (name, since) in &down {
            let affected = components
                .keys()
                .chain(existing.iter().flat_map(|p| p.components.keys()));
            if affected.into_iter().any(|c| {
                config
                    .components
                    .iter()
                    .any(|k| &k.name == c && k.monitors.contains(name))
            }) {
                warnings.push(format!(
                    "monitor {name:?} is still down{}",
                    since
                        .map(|s| format!(" (since {})", crate::time_fmt::rfc3339(s)))
                        .unwrap_or_default()
                ));
            }
        }
    }
    let started_at = existing
        .as_ref()
        .map(|p| p.created_at)
        .or_else(|| {
            incident.as_ref().map(|i| {
                i.signals
                    .iter()
                    .map(|s| s.started_at)
                    .min()
                    .unwrap_or(i.incident.opened_at)
            })
        })
        .unwrap_or(now);
    let next_update_at = (!draft.state.is_closed())
        .then(|| crate::deadline::after(now, draft.next_update.unwrap_or(config.next_update)));
    let time_zone: chrono_tz::Tz = config.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let message = match draft.message.filter(|m| !m.trim().is_empty()) {
        Some(m) => m,
        None => {
            let source = config
                .templates
                .get(draft.state.as_str())
                .map(String::as_str)
                .unwrap_or_else(|| template::default_template(draft.state));
            template::render(
                source,
                &TemplateContext {
                    product: &config.product,
                    title: &title,
                    state: draft.state,
                    components: &components,
                    started_at,
                    now,
                    next_update_at,
                    time_zone,
                },
            )
            .map_err(|e| StatusError::Template(format!("status.templates.{}: {e}", draft.state)))?
        }
    };
    if message.chars().count() > 25_000 {
        return Err(StatusError::Invalid(
            "the message is longer than 25,000 characters (Statuspage's limit)".to_owned(),
        ));
    }
    let evidence = incident.as_ref().map(|i| {
        let first = i.signals.iter().min_by_key(|s| s.started_at);
        match first {
            Some(s) => format!(
                "evidence: {} — first failing since {}",
                s.summary,
                crate::time_fmt::rfc3339(s.started_at)
            ),
            None => format!("evidence: {}", i.incident.title),
        }
    });
    let destinations = match draft.to {
        Some(to) => {
            for d in &to {
                if !configured.contains(d) {
                    return Err(StatusError::Invalid(format!(
                        "{} is not configured ({})",
                        d.label(),
                        match d {
                            Destination::Statuspage => "[status.statuspage]",
                            Destination::Chat =>
                                "[escalation] slack_webhook or slack_token, and [status] chat",
                            Destination::Page => "[status.page]",
                            Destination::Webhook => "[status.webhook]",
                        }
                    )));
                }
            }
            to
        }
        None => configured.to_vec(),
    };
    Ok(Composed {
        public_id: draft.public_id,
        incident_id,
        title,
        state: draft.state,
        components,
        message,
        next_update_at,
        started_at,
        at: now,
        evidence,
        warnings,
        destinations,
        author: draft.author,
    })
}

/// A draft as the window sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct DraftInput {
    #[ts(type = "number | null")]
    pub public_id: Option<i64>,
    #[ts(type = "number | null")]
    pub incident_id: Option<i64>,
    pub title: Option<String>,
    pub state: Option<PublicState>,
    pub components: BTreeMap<String, ComponentStatus>,
    pub message: Option<String>,
    /// Minutes until the next update is promised.
    pub next_update_minutes: Option<u32>,
    pub to: Option<Vec<Destination>>,
}

impl DraftInput {
    /// The draft, by `author`: a state not chosen yet continues the public incident's (or,
    /// for a new one, starts at "investigating").
    pub fn into_draft(self, author: &str, current: Option<PublicState>) -> Draft {
        Draft {
            public_id: self.public_id,
            incident_id: self.incident_id,
            title: self.title,
            state: self.state.or(current).unwrap_or(PublicState::Investigating),
            components: self.components,
            message: self.message,
            next_update: self
                .next_update_minutes
                .map(|m| Duration::from_secs(u64::from(m) * 60)),
            to: self.to,
            author: author.to_owned(),
        }
    }
}

/// An update ready to publish, as the window shows it before Publish.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Preview {
    pub title: String,
    pub state: PublicState,
    pub components: BTreeMap<String, ComponentStatus>,
    pub message: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub next_update_at: Option<OffsetDateTime>,
    pub warnings: Vec<String>,
    /// Each destination's text, exactly as it will show it.
    pub previews: Vec<DestinationPreview>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DestinationPreview {
    pub destination: Destination,
    pub text: String,
}
