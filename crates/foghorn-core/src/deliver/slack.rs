//! The team chat as a ladder step: the incident's text posted through
//! [`crate::vendor::slack`]'s incoming webhook or `chat.postMessage`.

use async_trait::async_trait;

use crate::config::EscalationConfig;

use super::http::Secrets;
use super::{text, Channel, Deliver, Delivered, DeliveryError, Message};

pub use crate::vendor::slack::{SlackApi, SlackWebhook, METADATA_EVENT_TYPE};

/// Who to mention: the message's own list, else the configured one, else `@channel`.
fn mentions(message: &Message, configured: &[String]) -> Vec<String> {
    if !message.mentions.is_empty() {
        message.mentions.clone()
    } else if !configured.is_empty() {
        configured.to_vec()
    } else {
        vec!["@channel".to_owned()]
    }
}

impl SlackWebhook {
    /// The JSON body posted for `message`.
    pub fn body(&self, message: &Message) -> serde_json::Value {
        serde_json::json!({
            "text": text::chat_text(&message.incident, &mentions(message, &self.mention)),
            "unfurl_links": false,
        })
    }
}

sender_options!(SlackWebhook, http);

#[async_trait]
impl Deliver for SlackWebhook {
    fn channel(&self) -> Channel {
        Channel::Chat
    }

    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        self.post(&self.body(message)).await
    }
}

impl SlackApi {
    /// The form fields posted for `message` to `channel`.
    pub fn form(&self, channel: &str, message: &Message) -> Vec<(&'static str, String)> {
        let metadata = serde_json::json!({
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {
                "idempotency_key": message.idempotency_key,
                "incident_id": message.incident.id,
                "dedup_key": message.incident.dedup_key,
            }
        });
        vec![
            ("channel", channel.to_owned()),
            (
                "text",
                text::chat_text(&message.incident, &mentions(message, &self.mention)),
            ),
            ("unfurl_links", "false".to_owned()),
            ("metadata", metadata.to_string()),
        ]
    }
}

sender_options!(SlackApi, http);

#[async_trait]
impl Deliver for SlackApi {
    fn channel(&self) -> Channel {
        Channel::Chat
    }

    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        let channel = self.channel()?;
        self.post(&self.form(&channel, message)).await
    }
}

/// The chat sender the configuration asks for: `chat.postMessage` when a bot token is set,
/// else the incoming webhook.
pub fn chat_sender(config: &EscalationConfig, secrets: Secrets) -> Box<dyn Deliver> {
    if config.slack_token.is_some() {
        Box::new(SlackApi::new(config).with_secrets(secrets))
    } else {
        Box::new(SlackWebhook::new(config).with_secrets(secrets))
    }
}

/// Posts a text of its own (a status update) to the team chat of `[escalation]`:
/// `chat.postMessage` when a bot token is set (to `channel` if given), else the webhook.
pub async fn post_text(
    config: &EscalationConfig,
    secrets: Secrets,
    timeout: std::time::Duration,
    channel: Option<String>,
    text: &str,
    metadata: serde_json::Value,
) -> Result<Delivered, DeliveryError> {
    if config.slack_token.is_some() {
        let api = SlackApi::new(config)
            .with_secrets(secrets)
            .with_timeout(timeout)
            .to_channel(channel);
        let channel = api.channel()?;
        let form = vec![
            ("channel", channel),
            ("text", text.to_owned()),
            ("unfurl_links", "false".to_owned()),
            ("metadata", metadata.to_string()),
        ];
        api.post(&form).await
    } else {
        let hook = SlackWebhook::new(config)
            .with_secrets(secrets)
            .with_timeout(timeout);
        hook.post(&serde_json::json!({ "text": text, "unfurl_links": false }))
            .await
    }
}

/// Whether `[escalation]` says how to reach the team chat.
pub fn chat_configured(config: &EscalationConfig) -> bool {
    config.slack_token.is_some() || config.slack_webhook.is_some()
}
