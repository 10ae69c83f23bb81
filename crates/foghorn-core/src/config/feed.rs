//! `[[feeds]]`: the team's escalation feeds (Alertmanager, PagerDuty, Datadog, Honeybadger, a
//! JSON endpoint). Keys only some kinds use are checked here, at load, with the key named.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{checked, defaults, durations};
use crate::secret::SecretRef;

/// Which vendor a feed reads; the window names the feed's kind in its feed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum FeedKind {
    Alertmanager,
    Pagerduty,
    Datadog,
    Honeybadger,
    Json,
}

/// One escalation feed. Keys that a kind does not use are errors at load (see
/// `FeedConfig::check`), so a PagerDuty key on a Datadog feed is caught, not ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub kind: FeedKind,
    /// The base URL (every vendor's is configurable, so tests and proxies can stand in).
    pub url: String,
    /// More base URLs of the same system (an Alertmanager HA pair): tried in order when the
    /// one before fails.
    #[serde(default)]
    pub fallback_urls: Vec<String>,
    /// A name for logs and the window; the kind by default.
    #[serde(default)]
    pub name: Option<String>,
    /// The API token or key (`env:NAME` or `keyring:NAME`).
    #[serde(default)]
    pub token: Option<SecretRef>,
    /// Datadog's application key.
    #[serde(default)]
    pub app_key: Option<SecretRef>,
    /// How often it is polled.
    #[serde(
        default = "defaults::feed_poll",
        deserialize_with = "durations::poll_every"
    )]
    pub poll_every: Duration,
    /// After this many failed polls in a row the feed itself becomes an incident ("you might
    /// be missing alerts").
    #[serde(
        default = "defaults::feed_failures",
        deserialize_with = "checked::at_least_one"
    )]
    pub unreachable_after: u32,
    /// Alertmanager: how long the silence that acknowledges an alert lasts; Datadog (with
    /// `mute_as_ack`): how long the downtime that mutes the monitor lasts.
    #[serde(
        default = "defaults::silence_for",
        deserialize_with = "durations::silence_for"
    )]
    pub silence_for: Duration,
    /// Alertmanager: post Foghorn's own incidents as alerts (default on), so every laptop
    /// converges on one alert.
    #[serde(default = "defaults::yes")]
    pub push: bool,
    /// PagerDuty: the `From` header's email (a PagerDuty user) for acknowledgements.
    #[serde(default)]
    pub from: Option<String>,
    /// PagerDuty: the Events API v2 base URL, `https://events.pagerduty.com/v2` when unset.
    #[serde(default)]
    pub events_url: Option<String>,
    /// PagerDuty: the Events v2 routing key for pushing Foghorn's incidents.
    #[serde(default)]
    pub routing_key: Option<SecretRef>,
    /// PagerDuty: only these services' incidents; Datadog: only monitors with these tags.
    #[serde(default)]
    pub filter: Vec<String>,
    /// Datadog: mute the monitor as the acknowledgement.
    #[serde(default)]
    pub mute_as_ack: bool,
    /// Honeybadger: the project id.
    #[serde(default)]
    pub project: Option<String>,
    /// Honeybadger: a fault becomes a signal at this many notices per hour.
    #[serde(default = "defaults::fault_rate")]
    pub fault_rate: u32,
    /// Generic JSON feed: where each field is in an item of the list (JSON paths such as
    /// `$.alerts[*]` for the list, then `id`, `title`, `severity`, `state`, `link`).
    #[serde(default)]
    pub mapping: Option<JsonMapping>,
    /// Labels whose values group a feed's alerts into one incident (e.g. `["alertname",
    /// "cluster"]`); without, each alert is its own incident.
    #[serde(default)]
    pub group_by: Vec<String>,
}

/// Where a generic JSON feed keeps each field.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JsonMapping {
    /// The list of alerts in the document: `$` for a top-level array, `$.data.items`, …
    pub items: String,
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub severity: Option<String>,
    /// The item's state; `firing_values` say which values mean firing.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub firing_values: Vec<String>,
    #[serde(default)]
    pub link: Option<String>,
}

impl FeedConfig {
    /// Keys of `[[feeds]]` that only some kinds use: one set on another kind is an error rather
    /// than silently ignored. Also what a kind cannot work without.
    pub fn check(&self) -> Result<(), String> {
        let config = self;
        let kind = config.kind;
        let set: [(&str, bool, &[FeedKind]); 9] = [
            ("app_key", config.app_key.is_some(), &[FeedKind::Datadog]),
            ("mute_as_ack", config.mute_as_ack, &[FeedKind::Datadog]),
            ("from", config.from.is_some(), &[FeedKind::Pagerduty]),
            (
                "routing_key",
                config.routing_key.is_some(),
                &[FeedKind::Pagerduty],
            ),
            (
                "events_url",
                config.events_url.is_some(),
                &[FeedKind::Pagerduty],
            ),
            (
                "project",
                config.project.is_some(),
                &[FeedKind::Honeybadger],
            ),
            ("mapping", config.mapping.is_some(), &[FeedKind::Json]),
            (
                "filter",
                !config.filter.is_empty(),
                &[FeedKind::Pagerduty, FeedKind::Datadog],
            ),
            (
                "fallback_urls",
                !config.fallback_urls.is_empty(),
                &[FeedKind::Alertmanager],
            ),
        ];
        for (key, present, kinds) in set {
            if present && !kinds.contains(&kind) {
                let names: Vec<String> = kinds
                    .iter()
                    .map(|k| format!("{k:?}").to_lowercase())
                    .collect();
                return Err(format!(
                    "`{key}` is for {} feeds, not {}",
                    names.join(" and "),
                    format!("{kind:?}").to_lowercase()
                ));
            }
        }
        match kind {
            FeedKind::Honeybadger if config.project.is_none() => {
                Err("a honeybadger feed needs `project`".to_owned())
            }
            FeedKind::Json if config.mapping.is_none() => Err(
                "a json feed needs `mapping = { items = \"$\", id = \"id\", title = \"title\" }`"
                    .to_owned(),
            ),
            _ => Ok(()),
        }
    }
}
