//! Prometheus Alertmanager (API v2) as a feed.
//!
//! - Reading: `GET /api/v2/alerts` with active, silenced, inhibited and unprocessed alerts; each
//!   alert is a signal keyed by its fingerprint. A silenced alert reads as acknowledged by the
//!   silence's `createdBy`, wherever the silence was made (`amtool`, the web UI, another
//!   laptop's Foghorn).
//! - Acknowledging is a silence matching exactly the alert's labels for `silence_for`, with the
//!   comment `Acknowledged in Foghorn by NAME`; taking it back expires the silences Foghorn
//!   made for those labels.
//! - Pushing: an incident of Foghorn's own monitors is posted as an alert whose labels are the
//!   same on every laptop (`alertname="FoghornMonitorDown"`, `monitor`, `severity`,
//!   `source="foghorn"`, `dedup_key`), so ten laptops seeing one outage make one alert. Its
//!   `endsAt` lies a few poll intervals ahead and the engine pushes again on every poll while
//!   the incident is open: as long as one laptop still sees the outage the alert stays active,
//!   and if every laptop goes away it expires by itself. Resolving sets `endsAt` to the time it
//!   was resolved. With a team secret the engine signs the start it pushes (and each presence
//!   alert); the signature rides in the `foghorn_signature` annotation and is handed back as
//!   [`FeedAlert::signature`] (see [`crate::team`]).
//! - Failover: `url`, then each of `fallback_urls`, on a connection failure, a timeout or a 5xx.
//!   The URL that answered is remembered and tried first next time. Writes (silences, pushed
//!   alerts) go to the first URL that answers too: an Alertmanager HA cluster gossips them to
//!   its peers. Two Alertmanagers that are not clustered do not share them, so a silence or a
//!   pushed alert lives on whichever of the two answered.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{Feed, FeedAlert, FeedAlertState, FeedError, FeedPoll, PushedIncident};
use crate::config::{FeedConfig, FeedKind};
use crate::incident::Severity;
use crate::outbound::{self, BodyError};
use crate::secret::{SecretSource, SystemSecrets};

/// The largest answer read; a larger one is an error, not a memory spike.
pub const MAX_BODY: usize = super::fetch::MAX_BODY;
/// How long one request may take, connection and body included (see
/// [`AlertmanagerFeed::with_timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The comment of every silence Foghorn makes starts with this.
pub const ACK_COMMENT: &str = "Acknowledged in Foghorn";
/// `alertname` of the alerts Foghorn pushes for its own monitors.
pub const PUSHED_ALERTNAME: &str = "FoghornMonitorDown";
/// A pushed alert that is not pushed again ends this many poll intervals later.
pub const PUSH_LIFETIME_POLLS: u32 = 4;
/// The alert each running Foghorn posts to say its person is at their laptop.
pub const PRESENCE_ALERTNAME: &str = "FoghornOnline";

/// One Alertmanager, or an HA pair of them, read and written over API v2.
pub struct AlertmanagerFeed {
    name: String,
    /// Base URLs without a trailing slash, `url` first.
    urls: Vec<String>,
    client: reqwest::Client,
    token: Option<String>,
    timeout: Duration,
    silence_for: Duration,
    poll_every: Duration,
    /// Index into `urls` of the one that answered last.
    preferred: AtomicUsize,
}

impl std::fmt::Debug for AlertmanagerFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is left out on purpose.
        f.debug_struct("AlertmanagerFeed")
            .field("name", &self.name)
            .field("urls", &self.urls)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("timeout", &self.timeout)
            .field("silence_for", &self.silence_for)
            .field("poll_every", &self.poll_every)
            .field("preferred", &self.preferred.load(Ordering::Relaxed))
            .finish()
    }
}

impl AlertmanagerFeed {
    /// A feed for `config`; the token (if any) is looked up in the environment or the OS
    /// keychain now, so a missing secret is reported at start.
    pub fn new(config: &FeedConfig) -> Result<Self, FeedError> {
        Self::with_secrets(config, &SystemSecrets)
    }

    /// [`AlertmanagerFeed::new`] with secrets from `secrets`.
    pub fn with_secrets(
        config: &FeedConfig,
        secrets: &dyn SecretSource,
    ) -> Result<Self, FeedError> {
        let name = config
            .name
            .clone()
            .unwrap_or_else(|| "alertmanager".to_owned());
        let fail = |message: String| FeedError::Config {
            feed: name.clone(),
            message,
        };
        if config.kind != FeedKind::Alertmanager {
            return Err(fail(format!(
                "not an Alertmanager feed (kind {:?})",
                config.kind
            )));
        }
        let mut urls = Vec::new();
        for raw in std::iter::once(&config.url).chain(&config.fallback_urls) {
            let parsed = url::Url::parse(raw.trim())
                .map_err(|e| fail(format!("{raw:?} is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(fail(format!("{raw:?} is not an http(s) URL")));
            }
            if parsed.query().is_some() {
                return Err(fail(format!(
                    "{raw:?}: give the base URL without a query (the token goes in `token`)"
                )));
            }
            urls.push(parsed.as_str().trim_end_matches('/').to_owned());
        }
        let token = match &config.token {
            Some(secret) => Some(
                secrets
                    .resolve(secret)
                    .map_err(|e| fail(format!("token: {e}")))?,
            ),
            None => None,
        };
        Ok(AlertmanagerFeed {
            client: client(DEFAULT_TIMEOUT).map_err(fail)?,
            name,
            urls,
            token,
            timeout: DEFAULT_TIMEOUT,
            silence_for: config.silence_for,
            poll_every: config.poll_every,
            preferred: AtomicUsize::new(0),
        })
    }

    /// The same feed with another limit on each request (tests use a short one).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        self.client = client(timeout).map_err(|message| FeedError::Config {
            feed: self.name.clone(),
            message,
        })?;
        self.timeout = timeout;
        Ok(self)
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
    async fn on_first_reachable<T, F, Fut>(&self, op: F) -> Result<T, FeedError>
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
                            feed = %self.name,
                            "{}: using {base} ({} did not answer)",
                            self.name,
                            failed.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>().join(", ")
                        );
                    }
                    return Ok(v);
                }
                Err(e) if fails_over(&e) => {
                    if self.urls.len() > 1 {
                        tracing::warn!(feed = %self.name, "{e}; trying the next Alertmanager");
                    }
                    failed.push((base.clone(), e));
                }
                Err(e) => return Err(e),
            }
        }
        Err(all_failed(&self.name, failed))
    }

    /// One request; the answer's body (at most [`MAX_BODY`]) when the status is 2xx.
    async fn call(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, FeedError> {
        let what = format!("{method} {url}");
        let mut request = self
            .client
            .request(method, &url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let unreachable = |e: reqwest::Error| FeedError::Unreachable {
            feed: self.name.clone(),
            message: format!("{what}: {}", outbound::describe(&e, self.timeout)),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        if let Some(message) = outbound::refused_redirect(status, response.headers()) {
            return Err(FeedError::Status {
                feed: self.name.clone(),
                what,
                status: status.as_u16(),
                message,
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(FeedError::RateLimited {
                feed: self.name.clone(),
                retry_after: outbound::retry_after(response.headers(), SystemTime::now())
                    .unwrap_or(super::fetch::DEFAULT_RETRY_AFTER),
            });
        }
        let bytes = outbound::read_capped(response, MAX_BODY)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { .. } => FeedError::Malformed {
                    feed: self.name.clone(),
                    what: what.clone(),
                    message: e.to_string(),
                },
                BodyError::Transport(e) => unreachable(e),
            })?;
        if !status.is_success() {
            return Err(FeedError::Status {
                feed: self.name.clone(),
                what,
                status: status.as_u16(),
                message: snippet(&bytes, 200),
            });
        }
        Ok(bytes)
    }

    /// `call` and the body as JSON.
    async fn call_json(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
    ) -> Result<(String, Value), FeedError> {
        let what = format!("{method} {url}");
        let bytes = self.call(method, url, body).await?;
        let value = serde_json::from_slice(&bytes).map_err(|e| FeedError::Malformed {
            feed: self.name.clone(),
            what: what.clone(),
            message: not_json(&bytes, &e),
        })?;
        Ok((what, value))
    }

    /// A JSON array of `T`, each item checked on its own so the error names which one.
    fn parse_list<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        noun: &str,
        value: Value,
    ) -> Result<Vec<T>, FeedError> {
        let malformed = |message: String| FeedError::Malformed {
            feed: self.name.clone(),
            what: what.to_owned(),
            message,
        };
        let Value::Array(items) = value else {
            return Err(malformed(format!(
                "expected a list of {noun}s, got {}",
                kind_of(&value)
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

    async fn silences_at(&self, base: &str) -> Result<Vec<Silence>, FeedError> {
        let (what, value) = self
            .call_json(Method::GET, format!("{base}/api/v2/silences"), None)
            .await?;
        self.parse_list(&what, "silence", value)
    }

    async fn poll_at(&self, base: String) -> Result<FeedPoll, FeedError> {
        let url = format!(
            "{base}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true"
        );
        let (what, value) = self.call_json(Method::GET, url, None).await?;
        let alerts: Vec<GettableAlert> = self.parse_list(&what, "alert", value)?;
        if let Some(i) = alerts.iter().position(|a| a.fingerprint.is_empty()) {
            return Err(FeedError::Malformed {
                feed: self.name.clone(),
                what,
                message: format!("alert {i}: empty fingerprint"),
            });
        }
        let silenced = alerts
            .iter()
            .any(|a| a.status.state == "suppressed" && !a.status.silenced_by.is_empty());
        let silences: HashMap<String, String> = if silenced {
            self.silences_at(&base)
                .await?
                .into_iter()
                .map(|s| (s.id, s.created_by))
                .collect()
        } else {
            HashMap::new()
        };
        let now = OffsetDateTime::now_utc();
        Ok(FeedPoll {
            alerts: alerts
                .into_iter()
                .map(|a| to_feed_alert(a, &silences, now))
                .collect(),
        })
    }

    async fn acknowledge_at(
        &self,
        base: String,
        alert: &FeedAlert,
        by: &str,
    ) -> Result<(), FeedError> {
        let now = OffsetDateTime::now_utc();
        let body = json!({
            "matchers": alert
                .labels
                .iter()
                .map(|(name, value)| json!({
                    "name": name, "value": value, "isRegex": false, "isEqual": true
                }))
                .collect::<Vec<_>>(),
            "startsAt": rfc3339(now),
            "endsAt": rfc3339(crate::deadline::after(now, self.silence_for)),
            "createdBy": by,
            "comment": format!("{ACK_COMMENT} by {by}"),
        });
        let (what, value) = self
            .call_json(Method::POST, format!("{base}/api/v2/silences"), Some(&body))
            .await?;
        match value.get("silenceID").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {
                tracing::info!(feed = %self.name, "{}: {} silenced by {by} ({id})", self.name, alert.key);
                Ok(())
            }
            _ => Err(FeedError::Malformed {
                feed: self.name.clone(),
                what,
                message: format!(
                    "no silenceID in {}",
                    snippet(value.to_string().as_bytes(), 200)
                ),
            }),
        }
    }

    async fn unacknowledge_at(&self, base: String, alert: &FeedAlert) -> Result<(), FeedError> {
        let ours = self
            .silences_at(&base)
            .await?
            .into_iter()
            .filter(|s| matches!(s.status.state.as_str(), "active" | "pending"))
            .filter(|s| s.comment.starts_with(ACK_COMMENT))
            .filter(|s| matches_exactly(&s.matchers, &alert.labels));
        for silence in ours {
            let mut url = url::Url::parse(&base).map_err(|e| FeedError::Config {
                feed: self.name.clone(),
                message: format!("{base}: {e}"),
            })?;
            url.path_segments_mut()
                .map_err(|()| FeedError::Config {
                    feed: self.name.clone(),
                    message: format!("{base} cannot be a base URL"),
                })?
                .pop_if_empty()
                .extend(["api", "v2", "silence", &silence.id]);
            self.call(Method::DELETE, url.to_string(), None).await?;
            tracing::info!(feed = %self.name, "{}: expired silence {} of {}", self.name, silence.id, alert.key);
        }
        Ok(())
    }

    async fn push_at(&self, base: String, body: &Value) -> Result<(), FeedError> {
        self.call(Method::POST, format!("{base}/api/v2/alerts"), Some(body))
            .await
            .map(drop)
    }

    /// The alert posted for `incident` (one element of the array `POST /api/v2/alerts` takes).
    pub fn postable_alert(&self, incident: &PushedIncident, now: OffsetDateTime) -> Value {
        let lifetime = self.poll_every.saturating_mul(PUSH_LIFETIME_POLLS);
        let ends_at = incident
            .resolved_at
            .unwrap_or_else(|| crate::deadline::after(now, lifetime))
            .max(incident.started_at);
        json!({
            "labels": {
                "alertname": PUSHED_ALERTNAME,
                "monitor": incident.monitor,
                "severity": incident.severity.as_str(),
                "source": "foghorn",
                "dedup_key": incident.dedup_key,
            },
            "annotations": annotations(incident.title.clone(), incident.signature.as_deref()),
            "startsAt": rfc3339(incident.started_at),
            "endsAt": rfc3339(ends_at),
        })
    }
}

#[async_trait]
impl Feed for AlertmanagerFeed {
    fn name(&self) -> &str {
        &self.name
    }

    async fn poll(&self) -> Result<FeedPoll, FeedError> {
        self.on_first_reachable(|base| self.poll_at(base)).await
    }

    async fn acknowledge(&self, alert: &FeedAlert, by: &str) -> Result<(), FeedError> {
        if alert.labels.is_empty() {
            return Err(FeedError::Unsupported {
                feed: self.name.clone(),
                what: format!("acknowledging {} (it has no labels to silence)", alert.key),
            });
        }
        self.on_first_reachable(|base| self.acknowledge_at(base, alert, by))
            .await
    }

    async fn unacknowledge(&self, alert: &FeedAlert) -> Result<(), FeedError> {
        self.on_first_reachable(|base| self.unacknowledge_at(base, alert))
            .await
    }

    async fn push(&self, incident: &PushedIncident) -> Result<(), FeedError> {
        let body = Value::Array(vec![
            self.postable_alert(incident, OffsetDateTime::now_utc())
        ]);
        self.on_first_reachable(|base| self.push_at(base, &body))
            .await
    }

    async fn announce(
        &self,
        person: &str,
        until: OffsetDateTime,
        signature: Option<&str>,
        starts: &BTreeMap<String, String>,
    ) -> Result<(), FeedError> {
        let now = OffsetDateTime::now_utc();
        let mut annotations = annotations(format!("{person}'s Foghorn is running"), signature);
        if let (false, Some(map)) = (starts.is_empty(), annotations.as_object_mut()) {
            map.insert(
                crate::team::STARTS_ANNOTATION.to_owned(),
                Value::String(serde_json::to_string(starts).unwrap_or_default()),
            );
        }
        let body = json!([{
            "labels": {
                "alertname": PRESENCE_ALERTNAME,
                "person": person,
                "source": "foghorn",
                "severity": "info",
            },
            "annotations": annotations,
            "startsAt": rfc3339(now),
            "endsAt": rfc3339(until.max(now)),
        }]);
        self.on_first_reachable(|base| self.push_at(base, &body))
            .await
    }
}

/// A pushed alert's annotations: its summary, and the team signature when there is one (an
/// annotation, not a label, so laptops that sign different starts still make one alert).
fn annotations(summary: String, signature: Option<&str>) -> Value {
    let mut annotations = serde_json::Map::new();
    annotations.insert("summary".to_owned(), Value::String(summary));
    if let Some(signature) = signature {
        annotations.insert(
            crate::team::SIGNATURE_ANNOTATION.to_owned(),
            Value::String(signature.to_owned()),
        );
    }
    Value::Object(annotations)
}

/// The shared client for requests with a secret: the bearer token must not follow a
/// redirect to another origin.
fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    outbound::client(timeout, Duration::from_secs(5))
        .map_err(|e| format!("cannot make an HTTP client: {e}"))
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

/// Why `bytes` did not parse: an HTML page and plain text are named as such.
fn not_json(bytes: &[u8], e: &serde_json::Error) -> String {
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_string();
    let trimmed = start.trim_start();
    if trimmed.is_empty() {
        "an empty answer, not JSON".to_owned()
    } else if trimmed.starts_with('<') {
        format!("an HTML page, not JSON: {}", snippet(bytes, 120))
    } else {
        format!("not JSON ({e}): {}", snippet(bytes, 120))
    }
}

/// The start of a body on one line, for messages.
fn snippet(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max * 4)]);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(max).collect();
    if one_line.chars().count() > max {
        out.push('…');
    }
    if out.is_empty() {
        "(empty body)".to_owned()
    } else {
        out
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Whether `matchers` are exactly `name="value"` for each of `labels` and nothing else.
fn matches_exactly(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.len() == labels.len()
        && matchers.iter().all(|m| {
            !m.is_regex && m.is_equal && labels.get(&m.name).is_some_and(|v| *v == m.value)
        })
}

/// Alertmanager's `severity` label as Foghorn's severity; none at all counts as major.
pub fn severity_of(label: Option<&str>) -> Severity {
    match label.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("critical" | "crit" | "page" | "p1") => Severity::Critical,
        Some("warning" | "warn" | "minor" | "low") => Severity::Minor,
        Some("info" | "informational" | "none") => Severity::Info,
        // error, major, high, missing, or a label this does not know.
        _ => Severity::Major,
    }
}

fn to_feed_alert(
    a: GettableAlert,
    silences: &HashMap<String, String>,
    now: OffsetDateTime,
) -> FeedAlert {
    let non_empty = |s: Option<&String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let title = non_empty(a.annotations.get("summary"))
        .or_else(|| {
            non_empty(a.labels.get("alertname")).map(|name| {
                match non_empty(a.labels.get("instance")) {
                    Some(instance) => format!("{name} on {instance}"),
                    None => name,
                }
            })
        })
        .unwrap_or_else(|| a.fingerprint.clone());
    let state = if a.ends_at <= now {
        FeedAlertState::Resolved
    } else if a.status.state == "suppressed" && !a.status.silenced_by.is_empty() {
        FeedAlertState::Acknowledged {
            by: a
                .status
                .silenced_by
                .iter()
                .find_map(|id| silences.get(id))
                .filter(|by| !by.is_empty())
                .cloned(),
        }
    } else {
        FeedAlertState::Firing
    };
    let signature = a
        .annotations
        .get(crate::team::SIGNATURE_ANNOTATION)
        .cloned();
    // Malformed or absent: no starts (each one is verified before it counts anyway).
    let starts = a
        .annotations
        .get(crate::team::STARTS_ANNOTATION)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    FeedAlert {
        signature,
        starts,
        key: a.fingerprint,
        title,
        severity: severity_of(a.labels.get("severity").map(String::as_str)),
        state,
        link: a.generator_url.filter(|u| !u.is_empty()),
        labels: a.labels,
        started_at: a.starts_at,
    }
}

/// The parts of API v2's `gettableAlert` the feed uses.
#[derive(Debug, Deserialize)]
struct GettableAlert {
    fingerprint: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", with = "time::serde::rfc3339")]
    starts_at: OffsetDateTime,
    #[serde(rename = "endsAt", with = "time::serde::rfc3339")]
    ends_at: OffsetDateTime,
    #[serde(rename = "generatorURL", default)]
    generator_url: Option<String>,
    status: AlertStatus,
}

#[derive(Debug, Deserialize)]
struct AlertStatus {
    state: String,
    #[serde(rename = "silencedBy")]
    silenced_by: Vec<String>,
}

/// The parts of API v2's `gettableSilence` the feed uses.
#[derive(Debug, Deserialize)]
struct Silence {
    id: String,
    status: SilenceStatus,
    matchers: Vec<Matcher>,
    #[serde(rename = "createdBy")]
    created_by: String,
    comment: String,
}

#[derive(Debug, Deserialize)]
struct SilenceStatus {
    state: String,
}

#[derive(Debug, Deserialize)]
struct Matcher {
    name: String,
    value: String,
    #[serde(rename = "isRegex")]
    is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_labels() {
        assert_eq!(severity_of(Some("critical")), Severity::Critical);
        assert_eq!(severity_of(Some("error")), Severity::Major);
        assert_eq!(severity_of(Some("High")), Severity::Major);
        assert_eq!(severity_of(Some("warning")), Severity::Minor);
        assert_eq!(severity_of(Some("info")), Severity::Info);
        assert_eq!(severity_of(Some("none")), Severity::Info);
        assert_eq!(severity_of(None), Severity::Major);
    }

    #[test]
    fn titles_states_and_acknowledgements() {
        let now = OffsetDateTime::now_utc();
        let alert = |labels: &[(&str, &str)], summary: Option<&str>, state: &str, by: &[&str]| {
            GettableAlert {
                fingerprint: "f1".into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                annotations: summary
                    .map(|s| ("summary".to_owned(), s.to_owned()))
                    .into_iter()
                    .collect(),
                starts_at: now - Duration::from_secs(60),
                ends_at: now + Duration::from_secs(60),
                generator_url: None,
                status: AlertStatus {
                    state: state.into(),
                    silenced_by: by.iter().map(|s| (*s).to_owned()).collect(),
                },
            }
        };
        let silences = HashMap::from([("s1".to_owned(), "bob".to_owned())]);
        let a = to_feed_alert(
            alert(
                &[("alertname", "Down"), ("instance", "db:5432")],
                None,
                "active",
                &[],
            ),
            &silences,
            now,
        );
        assert_eq!(
            (a.title.as_str(), a.state),
            ("Down on db:5432", FeedAlertState::Firing)
        );
        let a = to_feed_alert(
            alert(
                &[("alertname", "Down")],
                Some("DB down"),
                "suppressed",
                &["s1"],
            ),
            &silences,
            now,
        );
        assert_eq!(a.title, "DB down");
        assert_eq!(
            a.state,
            FeedAlertState::Acknowledged {
                by: Some("bob".into())
            }
        );
        // Inhibited, not silenced: still firing.
        let a = to_feed_alert(
            alert(&[("alertname", "X")], None, "suppressed", &[]),
            &silences,
            now,
        );
        assert_eq!(a.state, FeedAlertState::Firing);
        let mut over = alert(&[("alertname", "X")], None, "active", &[]);
        over.ends_at = now - Duration::from_secs(1);
        assert_eq!(
            to_feed_alert(over, &silences, now).state,
            FeedAlertState::Resolved
        );
    }

    #[test]
    fn exact_matchers_only() {
        let labels: BTreeMap<String, String> = [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]
        .into();
        let m = |name: &str, value: &str, is_regex: bool| Matcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal: true,
        };
        assert!(matches_exactly(
            &[m("a", "1", false), m("b", "2", false)],
            &labels
        ));
        assert!(!matches_exactly(&[m("a", "1", false)], &labels));
        assert!(!matches_exactly(
            &[m("a", "1", true), m("b", "2", false)],
            &labels
        ));
        assert!(!matches_exactly(
            &[m("a", "1", false), m("b", "3", false)],
            &labels
        ));
    }

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
