//! The support queue from the window: an incident's outage conversations (fetched from the
//! helpdesk now), the counts, the canned reply, and replying or following up in one action —
//! recorded in the outbox, which the engine's loop sends within a tick.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;
use ts_rs::TS;

use super::{Engine, Result};
use crate::support::{self, Canned, Kind, Outgoing, SupportError};

/// One conversation of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct QueueItem {
    pub id: String,
    pub name: Option<String>,
    pub subject: String,
    /// Unix seconds since the customer has been waiting.
    #[ts(type = "number | null")]
    pub waiting_since: Option<i64>,
    pub answered: bool,
    pub followed_up: bool,
}

/// An incident's support queue, the customer waiting longest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SupportQueue {
    pub conversations: Vec<QueueItem>,
    pub asked: u32,
    pub answered: u32,
    pub followed_up: u32,
    /// The canned reply (or, once resolved, the follow-up), for any other helpdesk.
    pub canned: String,
    pub resolved: bool,
}

/// The helpdesk the support queue's replies go to (`[intercom]`; the outbox sends them),
/// and the words the queue searches for (keywords and component names).
#[derive(Debug)]
pub(super) struct Support {
    desk: Option<Arc<support::Desk>>,
    words: Vec<String>,
}

impl Support {
    pub(super) fn new(
        intercom: Option<&crate::config::IntercomConfig>,
        status: Option<&crate::config::StatusConfig>,
    ) -> Self {
        Support {
            desk: intercom.map(|config| Arc::new(support::Desk::new(config))),
            words: intercom
                .map(|config| support::search_words(config, status))
                .unwrap_or_default(),
        }
    }

    pub(super) fn desk(&self) -> Option<Arc<support::Desk>> {
        self.desk.clone()
    }
}

impl Engine {
    fn desk(&self) -> Result<&support::Desk> {
        self.shared.support.desk.as_deref().ok_or_else(|| {
            SupportError::Invalid(
                "the support queue is not configured: add [intercom] to the configuration"
                    .to_owned(),
            )
            .into()
        })
    }

    /// Whether `[intercom]` is configured.
    pub fn support_configured(&self) -> bool {
        self.shared.support.desk.is_some()
    }

    fn incident_or_err(&self, id: i64) -> Result<crate::incident::IncidentView> {
        self.shared
            .store
            .incident(id)?
            .ok_or(crate::store::StoreError::NoSuchIncident(id).into())
    }

    fn status_config(&self) -> Option<&crate::config::StatusConfig> {
        self.shared.cadence.publisher().map(|p| p.config())
    }

    /// The queue as the helpdesk has it now (open, since the incident started, matching the
    /// words), with what was answered here.
    pub async fn support_queue(&self, incident_id: i64) -> Result<SupportQueue> {
        let desk = self.desk()?;
        let incident = self.incident_or_err(incident_id)?;
        let store = &self.shared.store;
        let fetched = support::queue(
            desk.client(),
            store,
            &incident,
            &self.shared.support.words,
            OffsetDateTime::now_utc(),
        )
        .await?;
        let seen: BTreeMap<String, _> = store
            .support_conversations(incident_id)?
            .into_iter()
            .map(|s| (s.conversation_id.clone(), s))
            .collect();
        let counts = store.support_counts(incident_id)?;
        let resolved = !incident.is_open();
        let kind = if resolved {
            Kind::FollowUp
        } else {
            Kind::Reply
        };
        let canned = Canned::for_incident(kind, self.status_config(), store, incident_id)?
            .personalise(None)?;
        Ok(SupportQueue {
            conversations: fetched
                .into_iter()
                .map(|c| {
                    let s = seen.get(&c.id);
                    QueueItem {
                        answered: s.is_some_and(|s| s.answered_at.is_some()),
                        followed_up: s.is_some_and(|s| s.followed_up_at.is_some()),
                        id: c.id,
                        name: c.name,
                        subject: c.subject,
                        waiting_since: Some(c.waiting_since),
                    }
                })
                .collect(),
            asked: counts.asked,
            answered: counts.answered,
            followed_up: counts.followed_up,
            canned,
            resolved,
        })
    }

    /// Replies to every unanswered conversation of the queue (or, once the incident is
    /// resolved, follows up with every answered one), each personalised; returns how many
    /// messages were recorded. Each conversation gets each kind once, however often this runs.
    pub async fn support_send(&self, incident_id: i64) -> Result<u32> {
        let desk = self.desk()?;
        let incident = self.incident_or_err(incident_id)?;
        let store = &self.shared.store;
        let kind = if incident.is_open() {
            Kind::Reply
        } else {
            Kind::FollowUp
        };
        let fetched = match kind {
            Kind::Reply => {
                support::queue(
                    desk.client(),
                    store,
                    &incident,
                    &self.shared.support.words,
                    OffsetDateTime::now_utc(),
                )
                .await?
            }
            Kind::FollowUp => Vec::new(),
        };
        let seen: BTreeMap<String, _> = store
            .support_conversations(incident_id)?
            .into_iter()
            .map(|s| (s.conversation_id.clone(), s))
            .collect();
        let (targets, _) = support::plan(kind, &fetched, &seen, &[], incident_id)
            .map_err(SupportError::Invalid)?;
        let canned = Canned::for_incident(kind, self.status_config(), store, incident_id)?;
        let outgoing = targets
            .iter()
            .map(|(id, name)| {
                Ok(Outgoing {
                    conversation_id: id.clone(),
                    text: canned.personalise(name.as_deref())?,
                })
            })
            .collect::<std::result::Result<Vec<_>, SupportError>>()?;
        let recorded = support::record(
            store,
            incident_id,
            kind,
            outgoing,
            OffsetDateTime::now_utc(),
        )
        .await?;
        self.republish(incident_id);
        Ok(u32::try_from(recorded.len()).unwrap_or(u32::MAX))
    }
}
