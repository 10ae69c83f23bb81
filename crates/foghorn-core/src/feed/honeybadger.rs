//! Honeybadger as a feed, over [`crate::vendor::honeybadger`]: faults that happen often
//! enough (`fault_rate` notices an hour) or came back after being resolved, and uptime sites
//! that are down; see the vendor module for how each is read. Honeybadger has no
//! acknowledgement: `acknowledge` is `Unsupported`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

use super::fetch::{self, Http, Reader};
use super::{Feed, FeedAlert, FeedAlertState, FeedError, FeedPoll};
use crate::config::FeedConfig;
use crate::incident::Severity;
use crate::secret::SecretSource;
use crate::vendor::honeybadger::Honeybadger;

/// Pages of faults read per poll at most (25 each).
const MAX_PAGES: usize = 8;

#[derive(Debug)]
pub struct HoneybadgerFeed {
    api: Honeybadger,
    fault_rate: u32,
    /// Faults this feed has seen resolved, and those it saw re-opened since.
    seen_resolved: Mutex<HashSet<String>>,
    reopened: Mutex<HashSet<String>>,
}

impl HoneybadgerFeed {
    /// The feed `config` describes, its secrets looked up in `secrets` now, so a missing
    /// one is reported at start ([`super::from_config`] uses the environment and the OS
    /// keychain).
    pub fn with_secrets(
        config: &FeedConfig,
        secrets: &dyn SecretSource,
    ) -> Result<Self, FeedError> {
        let name = fetch::feed_name(config, "honeybadger");
        let token = fetch::required_secret(&name, "token", config.token.as_ref(), secrets)?;
        let base = fetch::base_url(&name, "url", &config.url)?;
        let project = config
            .project
            .clone()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| FeedError::Config {
                feed: name.clone(),
                message: "`project` (the Honeybadger project id) is required".to_owned(),
            })?;
        if !project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(FeedError::Config {
                feed: name,
                message: format!("`project` {project:?} is not a Honeybadger project id"),
            });
        }
        Ok(Self {
            api: Honeybadger::new(
                Http::new(name, fetch::DEFAULT_TIMEOUT)?,
                base,
                token,
                project,
            ),
            fault_rate: config.fault_rate.max(1),
            seen_resolved: Mutex::new(HashSet::new()),
            reopened: Mutex::new(HashSet::new()),
        })
    }

    /// Each request gives up after `timeout` (20 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        let http = Http::new(self.api.http().feed.clone(), timeout)?;
        self.api.set_http(http);
        Ok(self)
    }

    async fn faults(
        &self,
        now: OffsetDateTime,
        alerts: &mut Vec<FeedAlert>,
    ) -> Result<(), FeedError> {
        let what = "list faults";
        let hour_ago = now - time::Duration::HOUR;
        let items = self
            .api
            .list(
                what,
                &format!("/projects/{}/faults", self.api.project()),
                &[
                    ("q", "-is:ignored".to_owned()),
                    ("occurred_after", hour_ago.unix_timestamp().to_string()),
                    ("order", "recent".to_owned()),
                    ("limit", "25".to_owned()),
                ],
                MAX_PAGES,
            )
            .await?;
        let r = Reader {
            http: self.api.http(),
            what,
        };
        let mut seen_resolved = self
            .seen_resolved
            .lock()
            .map_err(|_| self.api.http().malformed(what, "internal state poisoned"))?;
        let mut reopened = self
            .reopened
            .lock()
            .map_err(|_| self.api.http().malformed(what, "internal state poisoned"))?;
        for (i, fault) in items.iter().enumerate() {
            let path = format!("results[{i}]");
            r.object(fault, &path)?;
            let id = r.id(fault, &path, "id")?;
            let resolved = r.opt_bool(fault, &path, "resolved")?.unwrap_or(false);
            let ignored = r.opt_bool(fault, &path, "ignored")?.unwrap_or(false);
            if resolved {
                seen_resolved.insert(id.clone());
                reopened.remove(&id);
                continue;
            }
            if seen_resolved.remove(&id) {
                reopened.insert(id.clone());
            }
            if ignored {
                continue;
            }
            let created_at = r.opt_time(fault, &path, "created_at")?.ok_or_else(|| {
                self.api
                    .http()
                    .malformed(what, format!("`{path}.created_at`: it is missing"))
            })?;
            let count = r
                .opt_i64(fault, &path, "notices_count")?
                .unwrap_or(0)
                .max(0);
            let in_range = r.opt_i64(fault, &path, "notices_count_in_range")?;
            let rate = notice_rate(count, in_range, created_at, now);
            let is_reopened = reopened.contains(&id);
            if rate < f64::from(self.fault_rate) && !is_reopened {
                continue;
            }
            let klass = r.opt_string(fault, &path, "klass")?.unwrap_or_default();
            let message = r.opt_string(fault, &path, "message")?.unwrap_or_default();
            let title = match (klass.is_empty(), message.is_empty()) {
                (false, false) => format!("{klass}: {message}"),
                (false, true) => klass.clone(),
                (true, false) => message,
                (true, true) => format!("Fault {id}"),
            };
            let mut labels = BTreeMap::new();
            labels.insert("project".to_owned(), self.api.project().to_owned());
            labels.insert("notices_per_hour".to_owned(), format!("{rate:.0}"));
            if !klass.is_empty() {
                labels.insert("class".to_owned(), klass);
            }
            for key in ["environment", "component", "action"] {
                if let Some(v) = r.opt_string(fault, &path, key)? {
                    labels.insert(key.to_owned(), v);
                }
            }
            if is_reopened {
                labels.insert("reopened".to_owned(), "true".to_owned());
            }
            if let Some(tags) = fault.get("tags").filter(|t| !t.is_null()) {
                let tags: Vec<&str> = r
                    .array(Some(tags), &format!("{path}.tags"))?
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                if !tags.is_empty() {
                    labels.insert("tags".to_owned(), tags.join(","));
                }
            }
            alerts.push(FeedAlert {
                key: format!("fault:{id}"),
                title,
                severity: Severity::Major,
                state: FeedAlertState::Firing,
                link: r.opt_string(fault, &path, "url")?,
                labels,
                started_at: created_at,
                signature: None,
                starts: BTreeMap::new(),
                ladders: None,
            });
        }
        Ok(())
    }

    async fn sites(
        &self,
        now: OffsetDateTime,
        alerts: &mut Vec<FeedAlert>,
    ) -> Result<(), FeedError> {
        let what = "list uptime sites";
        let sites_path = format!("/projects/{}/sites", self.api.project());
        let items = self.api.list(what, &sites_path, &[], MAX_PAGES).await?;
        let r = Reader {
            http: self.api.http(),
            what,
        };
        for (i, site) in items.iter().enumerate() {
            let path = format!("results[{i}]");
            r.object(site, &path)?;
            let id = r.id(site, &path, "id")?;
            let state = r.string(site, &path, "state")?;
            let active = r.opt_bool(site, &path, "active")?.unwrap_or(true);
            if state != "down" || !active {
                continue;
            }
            let name = match r.opt_string(site, &path, "name")? {
                Some(n) if !n.is_empty() => n,
                _ => r
                    .opt_string(site, &path, "url")?
                    .unwrap_or_else(|| id.clone()),
            };
            let (down_at, reason) = self.api.open_outage(&sites_path, &id).await?;
            let mut labels = BTreeMap::new();
            labels.insert("project".to_owned(), self.api.project().to_owned());
            if let Some(u) = r.opt_string(site, &path, "url")? {
                labels.insert("url".to_owned(), u);
            }
            let title = match &reason {
                Some(reason) => format!("{name} is down: {reason}"),
                None => format!("{name} is down"),
            };
            alerts.push(FeedAlert {
                key: format!("site:{id}"),
                title,
                severity: Severity::Critical,
                state: FeedAlertState::Firing,
                link: Some(self.api.site_link(&id)),
                labels,
                started_at: down_at.unwrap_or(now),
                signature: None,
                starts: BTreeMap::new(),
                ladders: None,
            });
        }
        Ok(())
    }
}

/// Notices per hour; see the module's documentation.
fn notice_rate(
    count: i64,
    in_range: Option<i64>,
    created_at: OffsetDateTime,
    now: OffsetDateTime,
) -> f64 {
    if let Some(n) = in_range {
        return n.max(0) as f64;
    }
    let age_hours = (now - created_at).as_seconds_f64() / 3600.0;
    count as f64 / age_hours.max(1.0)
}

#[async_trait]
impl Feed for HoneybadgerFeed {
    fn name(&self) -> &str {
        &self.api.http().feed
    }

    async fn poll(&self) -> Result<FeedPoll, FeedError> {
        let now = OffsetDateTime::now_utc();
        let mut alerts = Vec::new();
        self.faults(now, &mut alerts).await?;
        self.sites(now, &mut alerts).await?;
        Ok(FeedPoll { alerts })
    }

    async fn acknowledge(&self, alert: &FeedAlert, _by: &str) -> Result<(), FeedError> {
        Err(FeedError::Unsupported {
            feed: self.api.http().feed.clone(),
            what: format!(
                "acknowledging {} (Honeybadger has no acknowledgement)",
                alert.key
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_prefers_the_narrowed_count_then_the_age() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(10);
        let young = now - time::Duration::minutes(10);
        let old = now - time::Duration::hours(10);
        assert_eq!(notice_rate(40, Some(3), old, now), 3.0);
        assert_eq!(notice_rate(7, None, young, now), 7.0);
        assert_eq!(notice_rate(100, None, old, now), 10.0);
    }
}
