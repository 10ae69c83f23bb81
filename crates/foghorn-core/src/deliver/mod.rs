//! Messages out: the escalation ladder's chat posts, texts, calls, PagerDuty events and signed
//! webhooks. One module per channel behind [`Deliver`]; the outbox (SQLite) calls them with
//! each message's idempotency key and retries what failed, so a message is recorded before it
//! is sent and never sent twice where the vendor honours the key.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::incident::Severity;

/// `with_secrets` and `with_timeout` for a sender whose HTTP settings are at `$field`: every
/// sender offers the same two, so tests can hand it secrets and a short time limit.
macro_rules! sender_options {
    ($ty:ty, $($field:tt).+) => {
        impl $ty {
            /// Looks secrets up here instead of the environment and OS keychain.
            pub fn with_secrets(mut self, secrets: $crate::deliver::Secrets) -> Self {
                self.$($field).+.secrets = secrets;
                self
            }

            /// The whole request's time limit (10 s by default).
            pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.$($field).+.set_timeout(timeout);
                self
            }
        }
    };
}

pub(crate) mod http;
pub mod pagerduty;
pub mod slack;
pub mod text;
pub mod twilio;
pub mod webhook;

pub use http::{Secrets, DEFAULT_TIMEOUT};
pub use pagerduty::PagerDutyEvents;
pub use slack::{chat_sender, SlackApi, SlackWebhook};
pub use twilio::{TwilioCall, TwilioSms};
pub use webhook::SignedWebhook;

/// The kinds of message the ladder sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Chat,
    Sms,
    Call,
    Pagerduty,
    Webhook,
    /// Status updates to Atlassian Statuspage.
    Statuspage,
    /// Status updates to the self-hosted page.
    Page,
    /// Replies to customers' helpdesk conversations (the support queue).
    Intercom,
}

/// One message, as stored in the outbox (its payload is this, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub channel: Channel,
    /// Unique per message and stable across retries and restarts: `incident:12:step:2`.
    pub idempotency_key: String,
    /// Who it goes to: a phone number (`sms`, `call`), a URL (`webhook`); empty where the
    /// channel decides (`chat`: the team channel; `pagerduty`: the routing key).
    pub to: String,
    pub incident: MessageIncident,
    /// Who is mentioned in chat (`@channel`, Slack user ids).
    #[serde(default)]
    pub mentions: Vec<String>,
}

/// What a message says about its incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageIncident {
    pub id: i64,
    pub dedup_key: String,
    pub title: String,
    pub severity: Severity,
    /// The evidence in a line or two.
    pub summary: String,
    /// A link to the incident (the vendor's page for a feed's alert), if there is one.
    pub link: Option<String>,
    /// How to acknowledge it ("Acknowledge in Foghorn, or reply ACK").
    pub ack_hint: String,
}

/// What the channel answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The vendor's id for the message (Twilio's SID, Slack's `ts`), for the timeline.
    pub receipt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// Worth trying again (timeouts, 5xx, 429): after `retry_after` if the vendor said.
    #[error("{channel:?}: {message} (will retry)")]
    Retry {
        channel: Channel,
        message: String,
        retry_after: Option<Duration>,
    },
    /// Trying again will not help (4xx, a missing secret or phone number).
    #[error("{channel:?}: {message}")]
    Permanent { channel: Channel, message: String },
}

/// Sends messages of one channel.
#[async_trait]
pub trait Deliver: Send + Sync + fmt::Debug {
    fn channel(&self) -> Channel;
    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError>;
}

/// Signed webhooks, one per `webhook` step: a message goes to the step whose `url` it names
/// as written in the config (a reference stays a reference in the outbox).
pub struct Webhooks(Vec<(String, SignedWebhook)>);

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(_, hook)| hook))
            .finish()
    }
}

#[async_trait]
impl Deliver for Webhooks {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        match self.0.iter().find(|(url, _)| *url == message.to) {
            Some((_, hook)) => hook.deliver(message).await,
            None => Err(DeliveryError::Permanent {
                channel: Channel::Webhook,
                message: "no webhook step has that url any more".to_owned(),
            }),
        }
    }
}

/// The channels the configuration asks for: chat, texts and calls when `[escalation]` says
/// how, PagerDuty with the `pagerduty` feed's routing key, and each webhook step. A channel a
/// step needs but that is not configured is missing here, and the step fails with a note.
pub fn from_config(
    escalation: &crate::config::EscalationConfig,
    feeds: &[crate::config::FeedConfig],
) -> Vec<std::sync::Arc<dyn Deliver>> {
    use crate::config::{FeedKind, StepAction};
    use std::sync::Arc;
    let mut out: Vec<Arc<dyn Deliver>> = Vec::new();
    let mut wired: Vec<StepAction> = Vec::new();
    for step in &escalation.steps {
        if wired.contains(&step.action) {
            continue;
        }
        wired.push(step.action);
        // No wildcard arm: a new action does not compile until it has a sender here, so a
        // step the configuration accepts never fails later for want of a channel.
        match step.action {
            StepAction::Chat => out.push(Arc::from(chat_sender(escalation, Secrets::default()))),
            StepAction::Sms => out.push(Arc::new(TwilioSms::new(escalation))),
            StepAction::Call => out.push(Arc::new(TwilioCall::new(escalation))),
            StepAction::Pagerduty => {
                let pd = feeds.iter().find(|f| f.kind == FeedKind::Pagerduty);
                let url = pd
                    .and_then(|f| f.events_url.clone())
                    .unwrap_or_else(|| pagerduty::DEFAULT_EVENTS_URL.to_owned());
                out.push(Arc::new(PagerDutyEvents::new(
                    &url,
                    pd.and_then(|f| f.routing_key.clone()),
                )));
            }
            StepAction::Webhook => {
                let hooks: Vec<(String, SignedWebhook)> = escalation
                    .steps
                    .iter()
                    .filter(|s| s.action == StepAction::Webhook)
                    .filter_map(|s| Some((s.url.as_ref()?.as_written(), SignedWebhook::new(s))))
                    .collect();
                if !hooks.is_empty() {
                    out.push(Arc::new(Webhooks(hooks)));
                }
            }
        }
    }
    out
}
