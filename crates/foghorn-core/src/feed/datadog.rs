//! Datadog monitors as a feed, over [`crate::vendor::datadog`]: a monitor in alert, warn or
//! no data is an alert keyed by its id.
//!
//! Acknowledgement, only with `mute_as_ack`: a downtime on the monitor ending after
//! `silence_for`; `unacknowledge` cancels the downtime this process created.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::fetch::{self, Http};
use super::{Feed, FeedAlert, FeedError, FeedPoll};
use crate::config::FeedConfig;
use crate::secret::SecretSource;
use crate::vendor::datadog::Datadog;

#[derive(Debug)]
pub struct DatadogFeed {
    api: Datadog,
    tags: Vec<String>,
    mute_as_ack: bool,
    mute_for: Duration,
    /// Monitor id → the downtime this process created to acknowledge it.
    downtimes: Mutex<HashMap<String, i64>>,
}

impl DatadogFeed {
    /// The feed `config` describes, its secrets looked up in `secrets` now, so a missing
    /// one is reported at start ([`super::from_config`] uses the environment and the OS
    /// keychain).
    pub fn with_secrets(
        config: &FeedConfig,
        secrets: &dyn SecretSource,
    ) -> Result<Self, FeedError> {
        let name = fetch::feed_name(config, "datadog");
        let api_key = fetch::required_secret(&name, "token", config.token.as_ref(), secrets)?;
        let app_key = fetch::required_secret(&name, "app_key", config.app_key.as_ref(), secrets)?;
        let base = fetch::base_url(&name, "url", &config.url)?;
        Ok(Self {
            api: Datadog::new(
                Http::new(name, fetch::DEFAULT_TIMEOUT)?,
                base,
                api_key,
                app_key,
            ),
            tags: config.filter.clone(),
            mute_as_ack: config.mute_as_ack,
            mute_for: config.silence_for,
            downtimes: Mutex::new(HashMap::new()),
        })
    }

    /// Each request gives up after `timeout` (20 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        let http = Http::new(self.api.http().feed.clone(), timeout)?;
        self.api.set_http(http);
        Ok(self)
    }
}

#[async_trait]
impl Feed for DatadogFeed {
    fn name(&self) -> &str {
        &self.api.http().feed
    }

    async fn poll(&self) -> Result<FeedPoll, FeedError> {
        Ok(FeedPoll {
            alerts: self.api.monitors(&self.tags).await?,
        })
    }

    async fn acknowledge(&self, alert: &FeedAlert, by: &str) -> Result<(), FeedError> {
        let http = self.api.http();
        if !self.mute_as_ack {
            return Err(FeedError::Unsupported {
                feed: http.feed.clone(),
                what: format!(
                    "acknowledging monitor {} (set `mute_as_ack = true` to mute it)",
                    alert.key
                ),
            });
        }
        let what = format!("mute monitor {}", alert.key);
        let monitor_id: i64 = alert
            .key
            .parse()
            .map_err(|_| http.malformed(&what, "the key is not a Datadog monitor id"))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let end = now.saturating_add(i64::try_from(self.mute_for.as_secs()).unwrap_or(i64::MAX));
        let message = format!("Acknowledged in Foghorn by {by}");
        if let Some(id) = self
            .api
            .downtime(&what, monitor_id, (now, end), &message)
            .await?
        {
            if let Ok(mut map) = self.downtimes.lock() {
                map.insert(alert.key.clone(), id);
            }
        }
        Ok(())
    }

    async fn unacknowledge(&self, alert: &FeedAlert) -> Result<(), FeedError> {
        let id = self
            .downtimes
            .lock()
            .ok()
            .and_then(|map| map.get(&alert.key).copied());
        let Some(id) = id else {
            return Err(FeedError::Unsupported {
                feed: self.api.http().feed.clone(),
                what: format!(
                    "un-muting monitor {}: no downtime of this Foghorn's is known",
                    alert.key
                ),
            });
        };
        let what = format!("cancel downtime {id} of monitor {}", alert.key);
        self.api.cancel_downtime(&what, id).await?;
        if let Ok(mut map) = self.downtimes.lock() {
            map.remove(&alert.key);
        }
        Ok(())
    }
}
