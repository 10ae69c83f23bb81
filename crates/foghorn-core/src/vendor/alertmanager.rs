//! Prometheus Alertmanager's API v2 (<https://prometheus.io/docs/alerting/latest/clients/>,
//! <https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml>; described in
//! `alertmanager-v0.25-openapi.yaml`): alerts read and posted (`/api/v2/alerts`), silences
//! read, created and expired (`/api/v2/silences`, `/api/v2/silence/{id}`).
//!
//! Failover: `url`, then each of `fallback_urls`, on a connection failure, a timeout or a 5xx.
//! The URL that answered is remembered and tried first next time. Writes (silences, pushed
//! alerts) go to the first URL that answers too: an Alertmanager HA cluster gossips them to
//! its peers. Two Alertmanagers that are not clustered do not share them, so a silence or a
//! pushed alert lives on whichever of the two answered.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::feed::fetch::{self, Http};
use crate::feed::FeedError;

/// One Alertmanager, or an HA pair of them.
pub struct Alertmanager {
    /// The feed's name and its client.
    http: Http,
    /// Base URLs without a trailing slash, `url` first.
    urls: Vec<String>,
    token: Option<String>,
    /// Index into `urls` of the one that answered last.
    preferred: AtomicUsize,
}

impl std::fmt::Debug for Alertmanager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is left out on purpose.
        f.debug_struct("Alertmanager")
            .field("name", &self.http.feed)
            .field("urls", &self.urls)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("timeout", &self.http.client.timeout())
            .field("preferred", &self.preferred.load(Ordering::Relaxed))
            .finish()
    }
}

impl Alertmanager {
    /// `urls` are base URLs without a trailing slash (at least one); `token`, when there is
    /// one, is sent as `Authorization: Bearer`.
    pub(crate) fn new(http: Http, urls: Vec<String>, token: Option<String>) -> Self {
        Alertmanager {
            http,
            urls,
            token,
            preferred: AtomicUsize::new(0),
        }
    }

    /// The feed's name and client.
    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// The same Alertmanagers with another client (another time limit).
    pub(crate) fn set_http(&mut self, http: Http) {
        self.http = http;
    }

    /// The base URLs in the order configured.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The base URL tried first: the one that answered last.
    pub fn active_url(&self) -> &str {
        let i = self.preferred.load(Ordering::Relaxed);
        self.urls.get(i).unwrap_or(&self.urls[0])
    }

    /// Runs `op` against each base URL in turn, from the one that answered last, while the
    /// failure is one another Alertmanager of the pair could avoid (unreachable, 5xx).
    pub(crate) async fn on_first_reachable<T, F, Fut>(&self, op: F) -> Result<T, FeedError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, FeedError>>,
    {
        let start = self
            .preferred
            .load(Ordering::Relaxed)
            .min(self.urls.len() - 1);
        let order = std::iter::once(start).chain((0..self.urls.len()).filter(move |&i| i != start));
        let mut failed: Vec<(String, FeedError)> = Vec::new();
        for i in order {
            let base = &self.urls[i];
            match op(base.clone()).await {
                Ok(v) => {
                    if i != start {
                        self.preferred.store(i, Ordering::Relaxed);
                        tracing::warn!(
                            feed = %self.http.feed,
                            "{}: using {base} ({} did not answer)",
                            self.http.feed,
                            failed.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>().join(", ")
                        );
                    }
                    return Ok(v);
                }
                Err(e) if fails_over(&e) => {
                    if self.urls.len() > 1 {
                        tracing::warn!(feed = %self.http.feed, "{e}; trying the next Alertmanager");
                    }
                    failed.push((base.clone(), e));
                }
                Err(e) => return Err(e),
            }
        }
        Err(all_failed(&self.http.feed, failed))
    }

    /// One request, named for errors by its method and URL (which carries no secret: the
    /// token goes in a header).
    fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> (String, reqwest::RequestBuilder) {
        let what = format!("{method} {url}");
        let mut request = self
            .http
            .client
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        (what, request)
    }

    /// One request whose answer only has to be a success.
    pub(crate) async fn call(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<(), FeedError> {
        let (what, request) = self.request(method, &url, body);
        self.http.send(&what, request).await.map(drop)
    }

    /// One request and its answer as JSON.
    pub(crate) async fn call_json(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<(String, Value), FeedError> {
        let (what, request) = self.request(method, &url, body);
        let value = self.http.json(&what, request).await?;
        Ok((what, value))
    }

    /// A JSON array of `T`, each item checked on its own so the error names which one.
    fn parse_list<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        noun: &str,
        value: Value,
    ) -> Result<Vec<T>, FeedError> {
        let malformed = |message: String| self.http.malformed(what, message);
        let Value::Array(items) = value else {
            return Err(malformed(format!(
                "expected a list of {noun}s, got {}",
                fetch::type_name(&value)
            )));
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                serde_json::from_value(item).map_err(|e| malformed(format!("{noun} {i}: {e}")))
            })
            .collect()
    }

    pub(crate) async fn silences_at(&self, base: &str) -> Result<Vec<Silence>, FeedError> {
        let (what, value) = self
            .call_json(Method::GET, format!("{base}/api/v2/silences"), None)
            .await?;
        self.parse_list(&what, "silence", value)
    }

    /// Every alert `base` has (active, silenced, inhibited and unprocessed), each with a
    /// fingerprint; the request's name for errors too.
    pub(crate) async fn alerts_at(
        &self,
        base: &str,
    ) -> Result<(String, Vec<GettableAlert>), FeedError> {
        let url = format!(
            "{base}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true"
        );
        let (what, value) = self.call_json(Method::GET, url, None).await?;
        let alerts: Vec<GettableAlert> = self.parse_list(&what, "alert", value)?;
        if let Some(i) = alerts.iter().position(|a| a.fingerprint.is_empty()) {
            return Err(self
                .http
                .malformed(&what, format!("alert {i}: empty fingerprint")));
        }
        Ok((what, alerts))
    }
}

/// Whether the other Alertmanager of a pair is worth trying after `e`.
fn fails_over(e: &FeedError) -> bool {
    match e {
        FeedError::Unreachable { .. } => true,
        FeedError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

/// One error for a request every URL failed: the last one's kind, every URL's reason.
fn all_failed(feed: &str, mut failed: Vec<(String, FeedError)>) -> FeedError {
    if failed.len() == 1 {
        return failed.remove(0).1;
    }
    let reasons = failed
        .iter()
        .map(|(_, e)| match e {
            FeedError::Unreachable { message, .. } => message.clone(),
            FeedError::Status {
                what,
                status,
                message,
                ..
            } => format!("{what}: HTTP {status}: {message}"),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let message = format!("tried {} Alertmanagers: {reasons}", failed.len());
    match failed.pop() {
        Some((_, FeedError::Status { what, status, .. })) => FeedError::Status {
            feed: feed.to_owned(),
            what,
            status,
            message,
        },
        _ => FeedError::Unreachable {
            feed: feed.to_owned(),
            message,
        },
    }
}

/// The parts of API v2's `gettableAlert` the feed uses.
#[derive(Debug, Deserialize)]
pub(crate) struct GettableAlert {
    pub(crate) fingerprint: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", with = "time::serde::rfc3339")]
    pub(crate) starts_at: OffsetDateTime,
    #[serde(rename = "endsAt", with = "time::serde::rfc3339")]
    pub(crate) ends_at: OffsetDateTime,
    #[serde(rename = "generatorURL", default)]
    pub(crate) generator_url: Option<String>,
    pub(crate) status: AlertStatus,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AlertStatus {
    pub(crate) state: String,
    #[serde(rename = "silencedBy")]
    pub(crate) silenced_by: Vec<String>,
}

/// The parts of API v2's `gettableSilence` the feed uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Silence {
    pub(crate) id: String,
    pub(crate) status: SilenceStatus,
    pub(crate) matchers: Vec<Matcher>,
    #[serde(rename = "createdBy")]
    pub(crate) created_by: String,
    pub(crate) comment: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SilenceStatus {
    pub(crate) state: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Matcher {
    pub(crate) name: String,
    pub(crate) value: String,
    #[serde(rename = "isRegex")]
    pub(crate) is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    pub(crate) is_equal: bool,
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failed_url_is_named() {
        let e = all_failed(
            "am",
            vec![
                (
                    "http://a".into(),
                    FeedError::Unreachable {
                        feed: "am".into(),
                        message: "GET http://a/api/v2/alerts: cannot connect".into(),
                    },
                ),
                (
                    "http://b".into(),
                    FeedError::Status {
                        feed: "am".into(),
                        what: "GET http://b/api/v2/alerts".into(),
                        status: 503,
                        message: "down".into(),
                    },
                ),
            ],
        );
        let text = e.to_string();
        assert!(matches!(e, FeedError::Status { status: 503, .. }), "{text}");
        assert!(
            text.contains("http://a/") && text.contains("http://b/"),
            "{text}"
        );
    }
}
