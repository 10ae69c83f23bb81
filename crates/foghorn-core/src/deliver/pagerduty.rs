//! Triggers a PagerDuty incident through the Events API v2: `POST {events_url}/enqueue`.
//!
//! The `dedup_key` is the incident's own dedup key, so a retried or repeated trigger (from
//! this laptop or another one that saw the same outage) updates the one PagerDuty alert
//! instead of opening another. The receipt is the `dedup_key` PagerDuty answers with.

use async_trait::async_trait;

use crate::incident::Severity;
use crate::secret::SecretRef;

use super::http::{check_status, Http};
use super::{Channel, Deliver, Delivered, DeliveryError, Message};

/// PagerDuty's Events API v2 base URL.
pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2";

/// PagerDuty cuts `payload.summary` at this many characters.
const SUMMARY_MAX: usize = 1024;

#[derive(Debug, Clone)]
pub struct PagerDutyEvents {
    events_url: String,
    routing_key: Option<SecretRef>,
    http: Http,
}

/// PagerDuty's four severities.
pub fn pagerduty_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Major => "error",
        Severity::Minor => "warning",
        Severity::Info => "info",
    }
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
        let summary: String = i.title.trim().chars().take(SUMMARY_MAX).collect();
        let mut event = serde_json::json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": i.dedup_key,
            "client": "Foghorn",
            "payload": {
                "summary": summary,
                "source": "foghorn",
                "severity": pagerduty_severity(i.severity),
                "custom_details": {
                    "summary": i.summary,
                    "incident_id": i.id,
                    "acknowledge": i.ack_hint,
                    "idempotency_key": message.idempotency_key,
                },
            },
        });
        if let Some(link) = i.link.as_deref().filter(|l| !l.trim().is_empty()) {
            event["links"] = serde_json::json!([{ "href": link, "text": "The incident" }]);
        }
        event
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
        let request = self
            .http
            .client
            .post(format!("{}/enqueue", self.events_url))
            .json(&Self::event(&key, message));
        let answer = self.http.send(Channel::Pagerduty, WHAT, request).await?;
        check_status(Channel::Pagerduty, WHAT, &answer)?;
        let dedup_key = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("dedup_key")?.as_str().map(str::to_owned))
            .or_else(|| Some(message.incident.dedup_key.clone()));
        Ok(Delivered { receipt: dedup_key })
    }
}
