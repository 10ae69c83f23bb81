//! `[status]`: where public status updates go (Statuspage, the team chat, a self-hosted page,
//! a signed webhook) and what the product's components are called.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::durations;
use crate::secret::{Confidential, SecretRef};

/// The status updates' settings. Without `[status]` nothing is published anywhere but the
/// incident's own timeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// The product's name as customers know it ("Acme"); in every message.
    pub product: String,
    /// The parts of the product a reader recognises, each with the monitors that measure it:
    /// a failing monitor pre-fills its component, and a post saying "operational" while one
    /// is down gets a warning.
    #[serde(default)]
    pub components: Vec<ComponentConfig>,
    /// How soon the next update is promised when a post does not say.
    #[serde(
        default = "default_next_update",
        deserialize_with = "durations::next_update"
    )]
    pub next_update: Duration,
    /// An incident open this long without a public update gets a nudge.
    #[serde(
        default = "default_nudge_after",
        deserialize_with = "durations::nudge_after"
    )]
    pub nudge_after: Duration,
    /// The readers' time zone (IANA name) for times inside messages; the page shows UTC
    /// beside it.
    #[serde(default = "default_time_zone", deserialize_with = "time_zone")]
    pub time_zone: String,
    /// Post to the team chat of `[escalation]` (its Slack settings) as well.
    #[serde(default = "yes")]
    pub chat: bool,
    /// The channel for status posts when `[escalation] slack_token` is used (default: the
    /// escalation's `slack_channel`).
    #[serde(default)]
    pub chat_channel: Option<String>,
    /// A template of its own for a state's message (minijinja; see the README for the
    /// variables), by state: `investigating = "…"`.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    #[serde(default)]
    pub statuspage: Option<StatuspageConfig>,
    #[serde(default)]
    pub page: Option<PageConfig>,
    #[serde(default)]
    pub webhook: Option<StatusWebhookConfig>,
}

fn default_next_update() -> Duration {
    Duration::from_secs(30 * 60)
}

fn default_nudge_after() -> Duration {
    Duration::from_secs(10 * 60)
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

fn yes() -> bool {
    true
}

/// An IANA time zone name, refused with a clear error when it is not one.
pub(crate) fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone {name:?}; write an IANA name such as \"Europe/Berlin\" or \"UTC\""
        ))
    })?;
    Ok(name)
}

/// The same, for a setting that may be left out.
pub(crate) fn optional_time_zone<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    time_zone(d).map(Some)
}

/// One component of the public page.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    pub name: String,
    /// Names of `[[monitors]]` that measure it.
    #[serde(default)]
    pub monitors: Vec<String>,
}

/// Atlassian Statuspage's Manage API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatuspageConfig {
    #[serde(default = "default_statuspage_url")]
    pub url: String,
    pub page_id: String,
    /// The API key (`env:`/`keyring:`).
    pub token: SecretRef,
    /// Statuspage's id of each component, by the name in `[status] components`.
    #[serde(default)]
    pub component_ids: BTreeMap<String, String>,
    /// Statuspage e-mails, texts and tweets to its subscribers on each update (their
    /// `deliver_notifications`); off posts quietly.
    #[serde(default = "yes")]
    pub deliver_notifications: bool,
}

fn default_statuspage_url() -> String {
    "https://api.statuspage.io/v1".to_owned()
}

/// The self-hosted page: static files in a directory, readable with the product down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    /// Where the files are written (`~/` is home; relative to the configuration file).
    pub dir: PathBuf,
    /// The page's heading (default "PRODUCT status").
    #[serde(default)]
    pub title: Option<String>,
    /// The address the page is served from, for the Atom feed's links (default: relative).
    #[serde(default)]
    pub url: Option<String>,
    /// A git remote the directory is pushed to after every rebuild (GitHub or GitLab Pages,
    /// any host apart from production); `env:`/`keyring:` when the URL carries a token.
    #[serde(default)]
    pub git_remote: Option<Confidential>,
    /// The branch pushed to.
    #[serde(default = "default_git_branch")]
    pub git_branch: String,
}

fn default_git_branch() -> String {
    "gh-pages".to_owned()
}

/// A signed POST of every update, for the product's own banner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusWebhookConfig {
    pub url: Confidential,
    pub secret: SecretRef,
}

impl StatusConfig {
    /// The components a monitor belongs to.
    pub fn components_of<'a>(&'a self, monitor: &'a str) -> impl Iterator<Item = &'a str> {
        self.components
            .iter()
            .filter(move |c| c.monitors.iter().any(|m| m == monitor))
            .map(|c| c.name.as_str())
    }
}
