//! Escalation feeds: the team's own alerting systems (Alertmanager, PagerDuty, Datadog,
//! Honeybadger, an in-house JSON endpoint) read as signals, and written back to (an
//! acknowledgement here is a silence or an ack there). One module per vendor behind [`Feed`];
//! the engine polls them and never resolves anything on a failed poll.

pub mod alertmanager;
pub mod datadog;
pub(crate) mod fetch;
mod health;
pub mod honeybadger;
pub mod json;
pub mod pagerduty;

pub use datadog::DatadogFeed;
pub use health::FeedHealth;
pub use honeybadger::HoneybadgerFeed;
pub use json::JsonFeed;
pub use pagerduty::PagerDutyFeed;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::incident::Severity;

/// One alert as a feed reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedAlert {
    /// Stable within the feed: Alertmanager's fingerprint, PagerDuty's incident id, …
    pub key: String,
    pub title: String,
    pub severity: Severity,
    pub state: FeedAlertState,
    /// Where to look at it in the vendor's own UI.
    pub link: Option<String>,
    /// The vendor's labels or tags; grouping and acknowledgement (a silence matches them).
    pub labels: BTreeMap<String, String>,
    pub started_at: OffsetDateTime,
    /// The team signature of an alert a Foghorn pushed (Alertmanager's `foghorn_signature`
    /// annotation, see [`crate::team`]); `None` when there is none or the vendor has no place
    /// for one.
    pub signature: Option<String>,
    /// Signed starts a Foghorn carries in its presence alert (`foghorn_starts`): its own
    /// incidents' dedup keys and their start signatures. Alertmanager keeps one set of
    /// annotations for the shared alert (the last push's), so a start is also told here,
    /// where no other laptop's push replaces it.
    pub starts: BTreeMap<String, String>,
    /// The ladder report a Foghorn carries in its presence alert (`foghorn_ladders`, see
    /// [`crate::team::LadderReport`]), as read: signed or not is the reader's call.
    pub ladders: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedAlertState {
    Firing,
    /// Acknowledged in the vendor (a silence, an ack), by whom if it says.
    Acknowledged {
        by: Option<String>,
    },
    Resolved,
}

/// What a poll saw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeedPoll {
    /// Every alert the feed reports now (firing, acknowledged, and those it still lists as
    /// resolved). An alert missing from a successful poll has cleared.
    pub alerts: Vec<FeedAlert>,
}

/// Why a feed could not be read or written. Every variant names the feed and what was tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// Nothing answered (connection refused, DNS, timeout).
    #[error("{feed}: unreachable: {message}")]
    Unreachable { feed: String, message: String },
    /// It answered with an error status.
    #[error("{feed}: {what} returned HTTP {status}: {message}")]
    Status {
        feed: String,
        what: String,
        status: u16,
        message: String,
    },
    /// It answered with something that is not what its API describes.
    #[error("{feed}: {what}: unexpected answer: {message}")]
    Malformed {
        feed: String,
        what: String,
        message: String,
    },
    /// Told to slow down (HTTP 429); try again after this long.
    #[error("{feed}: rate limited; retry in {retry_after:?}")]
    RateLimited { feed: String, retry_after: Duration },
    /// This feed cannot do that (e.g. Honeybadger has no acknowledgement).
    #[error("{feed}: {what} is not supported")]
    Unsupported { feed: String, what: String },
    /// A secret or setting is missing or wrong.
    #[error("{feed}: {message}")]
    Config { feed: String, message: String },
}

/// An incident Foghorn pushes to a feed, so every laptop watching the same outage converges
/// on one alert there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedIncident {
    /// Stable across laptops: `monitor:{id}` for a monitor.
    pub dedup_key: String,
    pub title: String,
    pub severity: Severity,
    /// The monitor's name.
    pub monitor: String,
    pub started_at: OffsetDateTime,
    /// `Some` once it is over.
    pub resolved_at: Option<OffsetDateTime>,
    /// The team signature of `started_at` (see [`crate::team`]), when there is a team secret.
    pub signature: Option<String>,
}

/// A source of alerts the team already runs.
#[async_trait]
pub trait Feed: Send + Sync + fmt::Debug {
    /// A short name for logs, health and timelines: `alertmanager`, `pagerduty`, …
    fn name(&self) -> &str;

    /// Everything active now.
    async fn poll(&self) -> Result<FeedPoll, FeedError>;

    /// Acknowledges `alert` in the vendor (Alertmanager: a silence matching its labels).
    async fn acknowledge(&self, alert: &FeedAlert, by: &str) -> Result<(), FeedError>;

    /// Takes an acknowledgement back (Alertmanager: expires the silence).
    async fn unacknowledge(&self, alert: &FeedAlert) -> Result<(), FeedError> {
        Err(FeedError::Unsupported {
            feed: self.name().to_owned(),
            what: format!("un-acknowledging {}", alert.key),
        })
    }

    /// Says this person's Foghorn is running until `until`, for the ladder's "nobody online"
    /// on other laptops (Alertmanager: a `FoghornOnline` alert), with the team signature when
    /// there is a team secret, the signed starts of this laptop's pushed incidents and its
    /// ladder report (`ladders`, the annotation as written). Feeds that cannot say so answer
    /// `Unsupported`.
    async fn announce(
        &self,
        person: &str,
        until: OffsetDateTime,
        signature: Option<&str>,
        starts: &BTreeMap<String, String>,
        ladders: Option<&str>,
    ) -> Result<(), FeedError> {
        let _ = (until, signature, starts, ladders);
        Err(FeedError::Unsupported {
            feed: self.name().to_owned(),
            what: format!("announcing {person}"),
        })
    }

    /// Pushes one of Foghorn's own incidents (Alertmanager: an alert; PagerDuty: an event).
    /// Feeds that only read say so.
    async fn push(&self, incident: &PushedIncident) -> Result<(), FeedError> {
        Err(FeedError::Unsupported {
            feed: self.name().to_owned(),
            what: format!("pushing {}", incident.dedup_key),
        })
    }
}

/// The feed a `[[feeds]]` entry describes, with secrets from the environment and the OS
/// keychain.
pub fn from_config(
    config: &crate::config::FeedConfig,
) -> Result<std::sync::Arc<dyn Feed>, FeedError> {
    from_config_with_secrets(config, &crate::secret::SystemSecrets)
}

/// [`from_config`] with secrets from `secrets`. The `match` has no wildcard arm on purpose: a
/// new kind of feed does not compile until it is built here, so a kind the configuration
/// accepts can never be one the app cannot start.
pub fn from_config_with_secrets(
    config: &crate::config::FeedConfig,
    secrets: &dyn crate::secret::SecretSource,
) -> Result<std::sync::Arc<dyn Feed>, FeedError> {
    use crate::config::FeedKind;
    use std::sync::Arc;
    Ok(match config.kind {
        FeedKind::Alertmanager => Arc::new(alertmanager::AlertmanagerFeed::with_secrets(
            config, secrets,
        )?),
        FeedKind::Pagerduty => Arc::new(PagerDutyFeed::with_secrets(config, secrets)?),
        FeedKind::Datadog => Arc::new(DatadogFeed::with_secrets(config, secrets)?),
        FeedKind::Honeybadger => Arc::new(HoneybadgerFeed::with_secrets(config, secrets)?),
        FeedKind::Json => Arc::new(JsonFeed::with_secrets(config, secrets)?),
    })
}

/// The name a feed goes by in logs, health and timelines: `name`, else its kind.
pub fn name_of(config: &crate::config::FeedConfig) -> String {
    config
        .name
        .clone()
        .unwrap_or_else(|| kind_name(config.kind).to_owned())
}

/// The kind as the configuration spells it (`kind = "pagerduty"`).
pub fn kind_name(kind: crate::config::FeedKind) -> &'static str {
    use crate::config::FeedKind;
    match kind {
        FeedKind::Alertmanager => "alertmanager",
        FeedKind::Pagerduty => "pagerduty",
        FeedKind::Datadog => "datadog",
        FeedKind::Honeybadger => "honeybadger",
        FeedKind::Json => "json",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{SecretError, SecretRef, SecretSource};

    /// Every secret resolves to a fixed value, except those named `MISSING`.
    struct Fixed;

    impl SecretSource for Fixed {
        fn resolve(&self, secret: &SecretRef) -> Result<String, SecretError> {
            match secret {
                SecretRef::Env(n) if n == "MISSING" => Err(SecretError::EnvMissing(secret.clone())),
                _ => Ok("s3cret".to_owned()),
            }
        }
    }

    const EVERY_KIND: &str = r#"
[[feeds]]
kind = "alertmanager"
url = "http://127.0.0.1:9093"

[[feeds]]
kind = "pagerduty"
url = "http://127.0.0.1:9"
token = "env:PD_TOKEN"

[[feeds]]
kind = "datadog"
url = "http://127.0.0.1:9"
token = "env:DD_API_KEY"
app_key = "env:DD_APP_KEY"

[[feeds]]
kind = "honeybadger"
url = "http://127.0.0.1:9/v2"
token = "env:HB_TOKEN"
project = "1"

[[feeds]]
kind = "json"
name = "tools"
url = "http://127.0.0.1:9/alerts.json"
mapping = { items = "$", id = "id", title = "title" }
"#;

    #[test]
    fn every_kind_of_feed_the_configuration_accepts_is_built_by_the_factory() {
        let config = crate::config::Config::parse(EVERY_KIND, std::path::Path::new("t.toml"))
            .expect("a valid configuration");
        let names: Vec<String> = config
            .feeds
            .iter()
            .map(|f| match from_config_with_secrets(f, &Fixed) {
                Ok(feed) => feed.name().to_owned(),
                Err(e) => panic!("{:?} feed not built: {e}", f.kind),
            })
            .collect();
        assert_eq!(
            names,
            [
                "alertmanager",
                "pagerduty",
                "datadog",
                "honeybadger",
                "tools"
            ]
        );
        let named: Vec<String> = config.feeds.iter().map(name_of).collect();
        assert_eq!(names, named, "name_of agrees with the feeds' own names");
    }

    #[test]
    fn a_feed_that_cannot_start_says_which_and_why() {
        let text = EVERY_KIND.replace("env:DD_APP_KEY", "env:MISSING");
        let config = crate::config::Config::parse(&text, std::path::Path::new("t.toml"))
            .expect("a valid configuration");
        let datadog = &config.feeds[2];
        let e = from_config_with_secrets(datadog, &Fixed).expect_err("a missing secret");
        let text = e.to_string();
        assert!(
            text.starts_with("datadog:") && text.contains("MISSING"),
            "{text}"
        );
    }
}
