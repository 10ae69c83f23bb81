//! Honeybadger's Data API v2 (<https://docs.honeybadger.io/api/>; condensed in
//! `honeybadger-api-v2-reference.md`), as a feed reads it: a project's faults that happen often enough, or came back after
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

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::Value;
use time::OffsetDateTime;

use crate::feed::fetch::{Http, Reader};
use crate::feed::FeedError;
use crate::secret::Secret;

/// Assumed wait after Honeybadger's rate-limit 403 when it names none.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// One project's API.
#[derive(Debug)]
pub struct Honeybadger {
    http: Http,
    base: String,
    token: Secret<String>,
    project: String,
}

impl Honeybadger {
    /// `base` is the API base including `/v2`, without a trailing slash.
    pub(crate) fn new(http: Http, base: String, token: Secret<String>, project: String) -> Self {
        Honeybadger {
            http,
            base,
            token,
            project,
        }
    }

    /// The feed's name and client.
    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// The same API with another client (another time limit).
    pub(crate) fn set_http(&mut self, http: Http) {
        self.http = http;
    }

    pub(crate) fn project(&self) -> &str {
        &self.project
    }

    /// Where a person looks at an uptime site in Honeybadger's web UI.
    pub(crate) fn site_link(&self, site: &str) -> String {
        format!(
            "{}/projects/{}/sites/{site}",
            ui_base(&self.base),
            self.project
        )
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
    pub(crate) async fn list(
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

    /// The open outage of a site: when it went down and why.
    pub(crate) async fn open_outage(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_stay_on_the_api_host_and_links_go_to_the_web_ui() {
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
