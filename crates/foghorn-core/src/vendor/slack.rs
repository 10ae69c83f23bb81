//! Slack (<https://api.slack.com/messaging/webhooks>, <https://api.slack.com/methods/chat.postMessage>;
//! described in `slack-incoming-webhook-payload.schema.json` and
//! `slack-web-api-chat-openapi-v2.json`): a post to the team's incoming webhook, or
//! `chat.postMessage` with a bot token.
//!
//! Idempotency: Slack has none for posting. The outbox records each message (with its
//! idempotency key) before sending it and marks it delivered afterwards, so a retry after a
//! failure the sender saw never posts twice; a crash between Slack accepting the post and the
//! outbox recording it posts it once more after the restart. Nothing on Foghorn's side can
//! close that window. `chat.postMessage` carries the idempotency key in the message's
//! `metadata` (event type `foghorn_escalation`), so a duplicate can at least be recognised.

use reqwest::header::{HeaderValue, AUTHORIZATION};

use crate::config::EscalationConfig;
use crate::deliver::http::{check_status, permanent, retry, Http};
use crate::deliver::{Channel, Delivered, DeliveryError};
use crate::secret::SecretRef;

/// The metadata event type of Foghorn's posts.
pub const METADATA_EVENT_TYPE: &str = "foghorn_escalation";

/// Posts `{"text": …}` to the team's incoming webhook (`[escalation] slack_webhook`, a
/// secret: the URL is the credential). Slack answers `ok` in plain text, or an error code
/// (`invalid_payload`, `channel_is_archived`, …) with a 4xx status.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    webhook: Option<SecretRef>,
    pub(crate) mention: Vec<String>,
    pub(crate) http: Http,
}

impl SlackWebhook {
    pub fn new(config: &EscalationConfig) -> Self {
        SlackWebhook {
            webhook: config.slack_webhook.clone(),
            mention: config.mention.clone(),
            http: Http::default(),
        }
    }
}

impl SlackWebhook {
    /// Posts a body (`{"text": …}`) to the webhook.
    pub async fn post(&self, body: &serde_json::Value) -> Result<Delivered, DeliveryError> {
        let url = self.http.secrets.get(
            Channel::Chat,
            "[escalation] slack_webhook",
            self.webhook.as_ref(),
        )?;
        let request = self.http.client.post(url).json(body);
        let answer = self
            .http
            .send(Channel::Chat, "Slack webhook", request)
            .await?;
        check_status(Channel::Chat, "Slack webhook", &answer)?;
        Ok(Delivered { receipt: None })
    }
}

/// Posts with `chat.postMessage` (`{slack_api}/chat.postMessage`, bot token
/// `[escalation] slack_token`, channel `slack_channel`), form-encoded. Slack answers HTTP 200
/// even for errors, with `{"ok": false, "error": "…"}`: `ratelimited` and Slack's own
/// transient errors are retried, every other error is permanent. The receipt is the post's
/// `ts`.
#[derive(Debug, Clone)]
pub struct SlackApi {
    api: String,
    token: Option<SecretRef>,
    channel: Option<String>,
    pub(crate) mention: Vec<String>,
    pub(crate) http: Http,
}

/// Error codes Slack documents as transient.
const SLACK_TRANSIENT: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "fatal_error",
    "internal_error",
    "service_unavailable",
    "request_timeout",
];

impl SlackApi {
    pub fn new(config: &EscalationConfig) -> Self {
        SlackApi {
            api: config.slack_api.trim_end_matches('/').to_owned(),
            token: config.slack_token.clone(),
            channel: config.slack_channel.clone(),
            mention: config.mention.clone(),
            http: Http::default(),
        }
    }
}

#[derive(serde::Deserialize)]
struct SlackAnswer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

impl SlackApi {
    /// The configured channel, or an error naming the setting.
    pub fn channel(&self) -> Result<String, DeliveryError> {
        self.channel
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| permanent(Channel::Chat, "[escalation] slack_channel is not set"))
    }

    /// Posts another channel than the escalation's.
    pub fn to_channel(mut self, channel: Option<String>) -> Self {
        if channel.is_some() {
            self.channel = channel;
        }
        self
    }

    /// Posts form fields (`channel`, `text`, …) with `chat.postMessage`.
    pub async fn post(&self, form: &[(&'static str, String)]) -> Result<Delivered, DeliveryError> {
        const WHAT: &str = "Slack chat.postMessage";
        let token = self.http.secrets.get(
            Channel::Chat,
            "[escalation] slack_token",
            self.token.as_ref(),
        )?;
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| permanent(Channel::Chat, "the Slack token is not a valid header"))?;
        bearer.set_sensitive(true);
        // Slack's published description names the token as a `token` header; the API reads
        // `Authorization`. Both are sent, so the request matches the description too.
        let mut token_header = HeaderValue::from_str(&token)
            .map_err(|_| permanent(Channel::Chat, "the Slack token is not a valid header"))?;
        token_header.set_sensitive(true);
        let request = self
            .http
            .client
            .post(format!("{}/chat.postMessage", self.api))
            .header(AUTHORIZATION, bearer)
            .header("token", token_header)
            .form(form);
        let answer = self.http.send(Channel::Chat, WHAT, request).await?;
        check_status(Channel::Chat, WHAT, &answer)?;
        let parsed: SlackAnswer = serde_json::from_slice(&answer.body).map_err(|e| {
            retry(
                Channel::Chat,
                format!("{WHAT}: unexpected answer: {e}"),
                None,
            )
        })?;
        if parsed.ok {
            return Ok(Delivered { receipt: parsed.ts });
        }
        let error = parsed.error.unwrap_or_else(|| "unknown error".to_owned());
        if SLACK_TRANSIENT.contains(&error.as_str()) {
            Err(retry(
                Channel::Chat,
                format!("{WHAT}: {error}"),
                answer.retry_after(),
            ))
        } else {
            Err(permanent(Channel::Chat, format!("{WHAT}: {error}")))
        }
    }
}
