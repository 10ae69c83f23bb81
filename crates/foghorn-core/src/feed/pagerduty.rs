//! PagerDuty as a feed: open incidents read over the REST API v2, acknowledged or resolved
//! there, who is on call, and Foghorn's own incidents pushed as Events API v2 events (one
//! alert per `dedup_key`, so every laptop that sees the same outage feeds the same PagerDuty
//! incident). The API calls are [`crate::vendor::pagerduty`]'s; this is the [`Feed`] over them.
//!
//! Configuration: `url` is the REST base (`https://api.pagerduty.com`), `token` the REST API
//! key (`Authorization: Token token=…`), `from` the PagerDuty user's email that writes need
//! (`From` header), `routing_key` the Events v2 integration key, `events_url` the Events API
//! base (`https://events.pagerduty.com/v2` by default), `filter` service ids.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::fetch::{self, Http};
use super::{Feed, FeedAlert, FeedError, FeedPoll, PushedIncident};
use crate::config::FeedConfig;
use crate::secret::{Secret, SecretSource};
use crate::vendor::pagerduty::events::{self, Accepted, Trigger};
use crate::vendor::pagerduty::rest::Rest;

pub use crate::vendor::pagerduty::events::DEFAULT_EVENTS_URL;
pub use crate::vendor::pagerduty::rest::OnCall;

#[derive(Debug)]
pub struct PagerDutyFeed {
    rest: Rest,
    events: String,
    routing_key: Option<Secret<String>>,
    services: Vec<String>,
}

impl PagerDutyFeed {
    /// The feed `config` describes, its secrets looked up in `secrets` now, so a missing
    /// one is reported at start ([`super::from_config`] uses the environment and the OS
    /// keychain).
    pub fn with_secrets(
        config: &FeedConfig,
        secrets: &dyn SecretSource,
    ) -> Result<Self, FeedError> {
        let name = fetch::feed_name(config, "pagerduty");
        let token = fetch::required_secret(&name, "token", config.token.as_ref(), secrets)?;
        let routing_key =
            fetch::optional_secret(&name, "routing_key", config.routing_key.as_ref(), secrets)?;
        let base = fetch::base_url(&name, "url", &config.url)?;
        let events = fetch::base_url(
            &name,
            "events_url",
            config.events_url.as_deref().unwrap_or(DEFAULT_EVENTS_URL),
        )?;
        let from = config.from.clone().filter(|f| !f.trim().is_empty());
        Ok(Self {
            rest: Rest::new(Http::new(name, fetch::DEFAULT_TIMEOUT)?, base, token, from),
            events,
            routing_key,
            services: config.filter.clone(),
        })
    }

    /// Each request gives up after `timeout` (20 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        let http = Http::new(self.rest.http().feed.clone(), timeout)?;
        self.rest.set_http(http);
        Ok(self)
    }

    /// Resolves the incident in PagerDuty.
    pub async fn resolve(&self, alert: &FeedAlert) -> Result<(), FeedError> {
        self.rest.set_status(&alert.key, "resolved").await
    }

    /// Who is on call now, per escalation policy and level (`GET /oncalls`).
    pub async fn oncalls(&self) -> Result<Vec<OnCall>, FeedError> {
        self.rest.oncalls(None).await
    }

    /// Every on-call entry overlapping `since..until` (PagerDuty answers for up to 90 days).
    pub async fn oncalls_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<OnCall>, FeedError> {
        self.rest.oncalls(Some((since, until))).await
    }

    /// The PagerDuty user Foghorn writes as (`from`): the user of this laptop.
    pub fn user_email(&self) -> Option<&str> {
        self.rest.from()
    }
}

#[async_trait]
impl Feed for PagerDutyFeed {
    fn name(&self) -> &str {
        &self.rest.http().feed
    }

    async fn poll(&self) -> Result<FeedPoll, FeedError> {
        Ok(FeedPoll {
            alerts: self.rest.incidents(&self.services).await?,
        })
    }

    async fn acknowledge(&self, alert: &FeedAlert, _by: &str) -> Result<(), FeedError> {
        // PagerDuty records the acknowledgement as the `from` user's.
        self.rest.set_status(&alert.key, "acknowledged").await
    }

    async fn push(&self, incident: &PushedIncident) -> Result<(), FeedError> {
        let http = self.rest.http();
        let what = format!("push {}", incident.dedup_key);
        let routing_key = self
            .routing_key
            .as_ref()
            .map(|k| k.expose().as_str())
            .ok_or_else(|| {
                http.config("`routing_key` (an Events API v2 integration key) is required to push")
            })?;
        let event = if incident.resolved_at.is_some() {
            events::resolve(routing_key, &incident.dedup_key)
        } else {
            Trigger {
                dedup_key: &incident.dedup_key,
                summary: &incident.title,
                severity: incident.severity,
                component: Some(&incident.monitor),
                timestamp: Some(incident.started_at),
                custom_details: None,
                link: None,
            }
            .event(routing_key)
        };
        events::enqueue(&http.client, &self.events, &event)
            .await
            .and_then(|answer| Accepted::read(&answer))
            .map(drop)
            .map_err(|e| http.error(&what, e))
    }
}
