//! Honeybadger (Data API v2): a project's faults that happen often enough, or came back after
//! being resolved, and its uptime sites that are down.
//!
//! Faults: `GET {url}/projects/{project}/faults?q=-is:ignored&occurred_after={now − 1 h}
//! &order=recent&limit=25`, following `links.next` (same host only, at most 8 pages). Every
//! fault listed had a notice in the last hour. Its rate (notices per hour) is
//! `notices_count_in_range` when Honeybadger sends it (the count narrowed to that hour);
//! otherwise `notices_count` when the fault was first seen within the hour (all its notices
//! are in it); otherwise `notices_count` averaged over the hours since `created_at`. An
//! unresolved fault is an alert when that rate is at least `fault_rate`, or when it was
//! re-opened: listed unresolved after this running feed saw it resolved (resolved faults are
//! listed too, for that; the API has no re-opened flag, so a re-opening is only noticed while
//! Foghorn runs). Key `fault:{id}`, severity major, link the fault's `url`.
//!
//! Uptime: `GET {url}/projects/{project}/sites`; an active site whose `state` is `down` is an
//! alert (critical), keyed `site:{id}`; its open outage
//! (`GET …/sites/{id}/outages?limit=5`, the one with `up_at` null) gives the start and reason.
//!
//! Auth: HTTP Basic with the personal auth token as user and no password. Honeybadger answers
//! 403 over its 360 requests an hour: a 403 whose body speaks of a rate limit is
//! `RateLimited`. A poll makes two requests plus one per down site: poll every minute.
//! Honeybadger has no acknowledgement: `acknowledge` is `Unsupported`.
//!
//! Configuration: `url` is the API base including `/v2` (`https://app.honeybadger.io/v2`,
//! EU `https://eu-app.honeybadger.io/v2`), `token`, `project`, `fault_rate`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::Value;
use time::OffsetDateTime;

use super::fetch::{self, Http, Reader};
use super::{Feed, FeedAlert, FeedAlertState, FeedError, FeedPoll};
use crate::config::FeedConfig;
use crate::incident::Severity;
use crate::secret::{Secret, SecretSource, SystemSecrets};

/// Pages of faults read per poll at most (25 each).
const MAX_PAGES: usize = 8;

/// Assumed wait after Honeybadger's rate-limit 403 when it names none.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct HoneybadgerFeed {
    http: Http,
    base: String,
    token: Secret<String>,
    project: String,
    fault_rate: u32,
    /// Faults this feed has seen resolved, and those it saw re-opened since.
    seen_resolved: Mutex<HashSet<String>>,
    reopened: Mutex<HashSet<String>>,
}

impl HoneybadgerFeed {
    pub fn new(config: &FeedConfig) -> Result<Self, FeedError> {
        Self::with_secrets(config, &SystemSecrets)
    }

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
            http: Http::new(name, fetch::DEFAULT_TIMEOUT)?,
            base,
            token,
            project,
            fault_rate: config.fault_rate.max(1),
            seen_resolved: Mutex::new(HashSet::new()),
            reopened: Mutex::new(HashSet::new()),
        })
    }

    /// Each request gives up after `timeout` (20 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        self.http = Http::new(self.http.feed.clone(), timeout)?;
        Ok(self)
    }

    async fn get(
        &self,
        what: &str,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Value, FeedError> {
        let request = self
            .http
            .client
            .get(url)
            .basic_auth(self.token.expose(), Some(""))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .query(query);
        self.http.json(what, request).await.map_err(|e| match e {
            FeedError::Status {
                feed,
                status: 403,
                message,
                ..
            } if message.to_ascii_lowercase().contains("rate") => FeedError::RateLimited {
                feed,
                retry_after: RATE_LIMIT_WAIT,
            },
            other => other,
        })
    }

    /// A list endpoint: `results` of every page, following `links.next` on the same origin.
    async fn list(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
        max_pages: usize,
    ) -> Result<Vec<Value>, FeedError> {
        let r = Reader {
            http: &self.http,
            what,
        };
        let mut url = format!("{}{path}", self.base);
        let mut query = query.to_vec();
        let mut items = Vec::new();
        for _ in 0..max_pages {
            let page = self.get(what, &url, &query).await?;
            r.object(&page, "$")?;
            items.extend(r.array(page.get("results"), "results")?.iter().cloned());
            let next = match page.get("links") {
                Some(links @ Value::Object(_)) => r.opt_string(links, "links", "next")?,
                _ => None,
            };
            let Some(next) = next.filter(|n| !n.is_empty()) else {
                return Ok(items);
            };
            if !same_origin(&self.base, &next) {
                return Err(self
                    .http
                    .malformed(what, format!("`links.next` points at another host: {next}")));
            }
            url = next;
            query.clear();
        }
        Err(self.http.malformed(
            what,
            format!("more than {max_pages} pages; raise `fault_rate` or fix the noisy faults"),
        ))
    }

    async fn faults(
        &self,
        now: OffsetDateTime,
        alerts: &mut Vec<FeedAlert>,
    ) -> Result<(), FeedError> {
        let what = "list faults";
        let hour_ago = now - time::Duration::HOUR;
        let items = self
            .list(
                what,
                &format!("/projects/{}/faults", self.project),
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
            http: &self.http,
            what,
        };
        let mut seen_resolved = self
            .seen_resolved
            .lock()
            .map_err(|_| self.http.malformed(what, "internal state poisoned"))?;
        let mut reopened = self
            .reopened
            .lock()
            .map_err(|_| self.http.malformed(what, "internal state poisoned"))?;
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
                self.http
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
            labels.insert("project".to_owned(), self.project.clone());
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
        let sites_path = format!("/projects/{}/sites", self.project);
        let items = self.list(what, &sites_path, &[], MAX_PAGES).await?;
        let r = Reader {
            http: &self.http,
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
            let (down_at, reason) = self.open_outage(&sites_path, &id).await?;
            let mut labels = BTreeMap::new();
            labels.insert("project".to_owned(), self.project.clone());
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
                link: Some(format!(
                    "{}/projects/{}/sites/{id}",
                    ui_base(&self.base),
                    self.project
                )),
                labels,
                started_at: down_at.unwrap_or(now),
                signature: None,
                starts: BTreeMap::new(),
            });
        }
        Ok(())
    }

    /// The open outage of a site: when it went down and why.
    async fn open_outage(
        &self,
        sites_path: &str,
        site: &str,
    ) -> Result<(Option<OffsetDateTime>, Option<String>), FeedError> {
        let what = format!("list outages of site {site}");
        let outages = self
            .list(
                &what,
                &format!("{sites_path}/{}/outages", segment(site)),
                &[("limit", "5".to_owned())],
                1,
            )
            .await
            .or_else(|e| match e {
                // One page is all that is wanted; more pages are no error here.
                FeedError::Malformed { ref message, .. } if message.starts_with("more than") => {
                    Ok(Vec::new())
                }
                other => Err(other),
            })?;
        let r = Reader {
            http: &self.http,
            what: &what,
        };
        for (i, outage) in outages.iter().enumerate() {
            let path = format!("results[{i}]");
            r.object(outage, &path)?;
            if r.opt_time(outage, &path, "up_at")?.is_none() {
                return Ok((
                    r.opt_time(outage, &path, "down_at")?,
                    r.opt_string(outage, &path, "reason")?,
                ));
            }
        }
        Ok((None, None))
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

fn same_origin(base: &str, next: &str) -> bool {
    match (url::Url::parse(base), url::Url::parse(next)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// The web UI's base: the API base without its `/v2`.
fn ui_base(base: &str) -> String {
    base.strip_suffix("/v2").unwrap_or(base).to_owned()
}

fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[async_trait]
impl Feed for HoneybadgerFeed {
    fn name(&self) -> &str {
        &self.http.feed
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
            feed: self.http.feed.clone(),
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
        assert!(same_origin(
            "http://127.0.0.1:5/v2",
            "http://127.0.0.1:5/v2/x?page=2"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:5/v2",
            "http://evil.example/v2"
        ));
        assert_eq!(
            ui_base("https://app.honeybadger.io/v2"),
            "https://app.honeybadger.io"
        );
    }
}
