//! Status updates from the window: the setup, a draft's preview, publishing (the outbox's
//! loop sends it within a tick) and each destination's receipt.

use serde::Serialize;
use time::OffsetDateTime;
use ts_rs::TS;

use super::{Engine, Result};
use crate::status::compose::{compose, DestinationPreview, DraftInput, Preview};
use crate::status::record::CommsRecord;
use crate::status::{ComponentStatus, Destination, PublicIncident, PublicState, StatusError};
use crate::store::Receipt;

/// What the composer needs to know about `[status]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StatusSetup {
    pub product: String,
    pub components: Vec<String>,
    pub destinations: Vec<Destination>,
    pub next_update_minutes: u32,
    /// The self-hosted page's index.html, when there is one.
    pub page: Option<String>,
    pub states: Vec<PublicState>,
    pub component_statuses: Vec<ComponentStatus>,
}

/// An incident's public side: its public incident and the newest update's receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StatusOverview {
    pub public_incident: Option<PublicIncident>,
    #[ts(type = "number | null")]
    pub latest_update: Option<i64>,
    pub receipts: Vec<Receipt>,
    /// How its public updates kept their promises so far (time to the first, promises kept).
    pub record: Option<CommsRecord>,
}

/// What a publish recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Published {
    #[ts(type = "number")]
    pub public_id: i64,
    #[ts(type = "number")]
    pub update_id: i64,
}

impl Engine {
    fn publisher(&self) -> Result<&crate::status::publish::Publisher> {
        self.shared
            .cadence
            .publisher()
            .map(|p| &**p)
            .ok_or_else(|| {
                StatusError::Invalid(
                    "status updates are not configured: add [status] to the configuration"
                        .to_owned(),
                )
                .into()
            })
    }

    /// `[status]` as the composer needs it; `None` without one.
    pub fn status_setup(&self) -> Option<StatusSetup> {
        let publisher = self.shared.cadence.publisher()?;
        let config = publisher.config();
        Some(StatusSetup {
            product: config.product.clone(),
            components: config.components.iter().map(|c| c.name.clone()).collect(),
            destinations: publisher.destinations(),
            next_update_minutes: u32::try_from(config.next_update.as_secs() / 60).unwrap_or(30),
            page: config
                .page
                .as_ref()
                .map(|p| p.dir.join("index.html").display().to_string()),
            states: PublicState::ALL.to_vec(),
            component_statuses: ComponentStatus::ALL.to_vec(),
        })
    }

    fn current_state(&self, input: &DraftInput) -> Result<Option<PublicState>> {
        Ok(match input.public_id {
            Some(id) => self.shared.store.public_incident(id)?.map(|p| p.state),
            None => None,
        })
    }

    /// The draft filled in and checked, with each destination's text.
    pub fn preview_status(&self, input: DraftInput) -> Result<Preview> {
        let publisher = self.publisher()?;
        let current = self.current_state(&input)?;
        let composed = compose(
            publisher.config(),
            &self.shared.store,
            input.into_draft(&self.shared.me, current),
            &publisher.destinations(),
            OffsetDateTime::now_utc(),
        )?;
        let previews = publisher
            .previews(&composed)
            .into_iter()
            .map(|(destination, text)| DestinationPreview { destination, text })
            .collect();
        Ok(Preview {
            title: composed.title,
            state: composed.state,
            components: composed.components,
            message: composed.message,
            next_update_at: composed.next_update_at,
            warnings: composed.warnings,
            previews,
        })
    }

    /// Publishes the draft everywhere it names: recorded now, sent by the outbox's loop.
    pub async fn publish_status(&self, input: DraftInput) -> Result<Published> {
        let publisher = self.publisher()?;
        let current = self.current_state(&input)?;
        let composed = compose(
            publisher.config(),
            &self.shared.store,
            input.into_draft(&self.shared.me, current),
            &publisher.destinations(),
            OffsetDateTime::now_utc(),
        )?;
        let posted = publisher.post(&self.shared.store, &composed).await?;
        if let Some(incident) = composed.incident_id {
            self.republish(incident);
        }
        Ok(Published {
            public_id: posted.public_id,
            update_id: posted.update_id,
        })
    }

    /// An incident's public incident and its newest update's receipts.
    pub fn status_overview(&self, incident_id: i64) -> Result<StatusOverview> {
        let store = &self.shared.store;
        let public_incident = store.public_incident_for(incident_id)?;
        let latest_update = match &public_incident {
            Some(p) => store.latest_update_id(p.id)?,
            None => None,
        };
        let receipts = match latest_update {
            Some(id) => store.receipts(id)?,
            None => Vec::new(),
        };
        let record = match &public_incident {
            Some(_) => store.comms_record(incident_id, OffsetDateTime::now_utc())?,
            None => None,
        };
        Ok(StatusOverview {
            public_incident,
            latest_update,
            receipts,
            record,
        })
    }

    /// Sends one destination's copy of an update again, at once.
    pub async fn retry_status(&self, update_id: i64, destination: Destination) -> Result<bool> {
        Ok(self
            .shared
            .store
            .retry_destination(update_id, destination)
            .await?)
    }
}
