//! The ladder's `pagerduty` step: a PagerDuty incident triggered through the Events API v2
//! ([`crate::vendor::pagerduty::events`]), with the incident's own dedup key. The receipt is
//! the `dedup_key` PagerDuty answers with.

use async_trait::async_trait;

use crate::secret::SecretRef;
use crate::vendor::pagerduty::events::{self, Accepted, Trigger};

use super::http::{delivery_error, Http};
use super::{Channel, Deliver, Delivered, DeliveryError, Message};

pub use crate::vendor::pagerduty::events::{severity as pagerduty_severity, DEFAULT_EVENTS_URL};

#[derive(Debug, Clone)]
pub struct PagerDutyEvents {
    events_url: String,
    routing_key: Option<SecretRef>,
    http: Http,
}

impl PagerDutyEvents {
    /// `events_url` is [`DEFAULT_EVENTS_URL`] outside tests; `routing_key` is the Events v2
    /// integration key (a PagerDuty feed's `routing_key`). Without one, every delivery is a
    /// permanent error that says so.
    pub fn new(events_url: &str, routing_key: Option<SecretRef>) -> Self {
        PagerDutyEvents {
            events_url: events_url.trim_end_matches('/').to_owned(),
            routing_key,
            http: Http::default(),
        }
    }

    /// The event sent for `message`.
    pub fn event(routing_key: &str, message: &Message) -> serde_json::Value {
        let i = &message.incident;
        Trigger {
            dedup_key: &i.dedup_key,
            summary: &i.title,
            severity: i.severity,
            component: None,
            timestamp: None,
            custom_details: Some(serde_json::json!({
                "summary": i.summary,
                "incident_id": i.id,
                "acknowledge": i.ack_hint,
                "idempotency_key": message.idempotency_key,
            })),
            link: i.link.as_deref(),
        }
        .event(routing_key)
    }
}

sender_options!(PagerDutyEvents, http);

#[async_trait]
impl Deliver for PagerDutyEvents {
    fn channel(&self) -> Channel {
        Channel::Pagerduty
    }

    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        const WHAT: &str = "PagerDuty Events";
        let key = self.http.secrets.get(
            Channel::Pagerduty,
            "the PagerDuty routing_key",
            self.routing_key.as_ref(),
        )?;
        let event = Self::event(&key, message);
        let answer = events::enqueue(&self.http.client, &self.events_url, &event)
            .await
            .map_err(|e| delivery_error(Channel::Pagerduty, WHAT, e))?;
        // Taken is taken: an answer that does not say more still leaves the alert under the
        // dedup key that was sent.
        let dedup_key = Accepted::read(&answer)
            .ok()
            .and_then(|a| a.dedup_key)
            .or_else(|| Some(message.incident.dedup_key.clone()));
        Ok(Delivered { receipt: dedup_key })
    }
}
