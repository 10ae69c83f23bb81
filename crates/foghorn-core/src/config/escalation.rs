//! `[escalation]`: the ladder (team chat, then a text, then a call) and the channels it uses.

use std::time::Duration;

use serde::Deserialize;

use super::{defaults, durations};
use crate::incident::Severity;
use crate::secret::{Confidential, SecretRef};

/// The escalation ladder: `[[escalation.steps]]` in order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    #[serde(default)]
    pub steps: Vec<EscalationStep>,
    /// An engineer counts as online when their Foghorn was active this recently.
    #[serde(
        default = "defaults::online_within",
        deserialize_with = "durations::online_within"
    )]
    pub online_within: Duration,
    /// How long the laptop climbing an outage's ladder may stay silent (its presence alert not
    /// renewed) before another laptop still online takes the remaining steps over; never less
    /// than two polls of the slowest feed.
    #[serde(
        default = "defaults::handover_after",
        deserialize_with = "durations::handover_after"
    )]
    pub handover_after: Duration,
    /// The team's Slack incoming webhook (`env:`/`keyring:`, it is a secret) or, with
    /// `slack_token`, the channel for `chat.postMessage`.
    #[serde(default)]
    pub slack_webhook: Option<SecretRef>,
    #[serde(default)]
    pub slack_token: Option<SecretRef>,
    #[serde(default)]
    pub slack_channel: Option<String>,
    /// Slack's API base URL (tests point it elsewhere).
    #[serde(default = "defaults::slack_api")]
    pub slack_api: String,
    /// Twilio: account SID, auth token, the number texts and calls come from.
    #[serde(default)]
    pub twilio_account: Option<String>,
    #[serde(default)]
    pub twilio_token: Option<SecretRef>,
    #[serde(default)]
    pub twilio_from: Option<String>,
    #[serde(default = "defaults::twilio_api")]
    pub twilio_api: String,
    /// Phone numbers of the people who can be on call, by name as the schedule names them.
    #[serde(default)]
    pub phones: std::collections::BTreeMap<String, String>,
    /// Who is mentioned in chat: Slack user ids or `@here`/`@channel` (default `@channel`).
    #[serde(default)]
    pub mention: Vec<String>,
}

/// One step of the ladder.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// After this long from the incident opening (`0s` for at once).
    #[serde(deserialize_with = "durations::step_after")]
    pub after: Duration,
    pub action: StepAction,
    /// Only for incidents at least this severe.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Only when nobody acknowledged it yet (default on).
    #[serde(default = "defaults::yes")]
    pub unacknowledged: bool,
    /// Only when no engineer's Foghorn is online.
    #[serde(default)]
    pub nobody_online: bool,
    /// `webhook`: where (a URL, or `env:`/`keyring:` holding one: webhook URLs often carry
    /// their own token), and the HMAC secret its signature uses.
    #[serde(default)]
    pub url: Option<Confidential>,
    #[serde(default)]
    pub secret: Option<SecretRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepAction {
    /// Post to the team channel, mentioning everyone.
    Chat,
    /// Text the engineer on call.
    Sms,
    /// Call the engineer on call; the call reads the incident out.
    Call,
    /// Trigger a PagerDuty incident (Events v2).
    Pagerduty,
    /// POST the incident to a URL, signed with HMAC-SHA256.
    Webhook,
}
