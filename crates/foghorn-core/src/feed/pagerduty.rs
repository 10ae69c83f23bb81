//! PagerDuty: open incidents read over the REST API v2, acknowledged or resolved there with
//! `PUT /incidents/{id}`, who is on call from `GET /oncalls`, and Foghorn's own incidents
//! pushed as Events API v2 events (`POST {events_url}/enqueue`, one alert per `dedup_key`,
//! so every laptop that sees the same outage feeds the same PagerDuty incident).
//!
//! Configuration: `url` is the REST base (`https://api.pagerduty.com`), `token` the REST API
//! key (`Authorization: Token token=…`), `from` the PagerDuty user's email that writes need
//! (`From` header), `routing_key` the Events v2 integration key, `events_url` the Events API
//! base (`https://events.pagerduty.com/v2` by default), `filter` service ids.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::fetch::{self, Http, Reader};
use super::{Feed, FeedAlert, FeedAlertState, FeedError, FeedPoll, PushedIncident};
use crate::config::FeedConfig;
use crate::incident::Severity;
use crate::secret::{Secret, SecretSource, SystemSecrets};

/// The Events API v2 base when `events_url` is not set.
pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2";

/// The media type PagerDuty's REST API v2 documents for every request, then plain JSON with a
/// lower preference: the published description declares its answers as `application/json`,
/// so a server that negotiates by it (a mock, a proxy) still answers.
const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2, application/json;q=0.9";

/// Incidents (and on-call entries) asked for per page.
const PAGE_LIMIT: usize = 100;

/// Pages read per poll at most: 2,000 open incidents. More is an error rather than a partial
/// list, since an incident left out of a poll would read as cleared.
const MAX_PAGES: usize = 20;

/// One on-call entry: who is on call for which escalation policy, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub escalation_policy: String,
    pub escalation_level: Option<i64>,
    /// The user's name (PagerDuty's `summary`).
    pub user: String,
    /// Present when PagerDuty includes the full user.
    pub email: Option<String>,
    /// `None`: on call since forever / until further notice.
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
}

#[derive(Debug)]
pub struct PagerDutyFeed {
    http: Http,
    base: String,
    events: String,
    token: Secret<String>,
    from: Option<String>,
    routing_key: Option<Secret<String>>,
    services: Vec<String>,
}

impl PagerDutyFeed {
    /// Secrets from the environment and the OS keychain.
    pub fn new(config: &FeedConfig) -> Result<Self, FeedError> {
        Self::with_secrets(config, &SystemSecrets)
    }

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
        Ok(Self {
            http: Http::new(name, fetch::DEFAULT_TIMEOUT)?,
            base,
            events,
            token,
            from: config.from.clone().filter(|f| !f.trim().is_empty()),
            routing_key,
            services: config.filter.clone(),
        })
    }

    /// Each request gives up after `timeout` (20 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        self.http = Http::new(self.http.feed.clone(), timeout)?;
        Ok(self)
    }

    fn headers(&self) -> Result<HeaderMap, FeedError> {
        let mut h = HeaderMap::new();
        let auth = HeaderValue::from_str(&format!("Token token={}", self.token.expose())).map_err(
            |_| {
                self.http
                    .config("`token` holds characters a header cannot carry")
            },
        )?;
        h.insert(AUTHORIZATION, auth);
        h.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V2));
        // The REST description lists Content-Type as a required header on every call.
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(h)
    }

    /// Follows offset pagination (`more`) and returns the items under `key` of every page.
    /// Stops early when a page brings no item not seen before (a server repeating itself).
    async fn paged(
        &self,
        what: &str,
        path: &str,
        key: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, FeedError> {
        let reader = Reader {
            http: &self.http,
            what,
        };
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = 0usize;
        for _ in 0..MAX_PAGES {
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("limit", PAGE_LIMIT.to_string()));
            q.push(("offset", offset.to_string()));
            let request = self
                .http
                .client
                .get(format!("{}{path}", self.base))
                .headers(self.headers()?)
                .query(&q);
            let page = self.http.json(what, request).await?;
            reader.object(&page, "$")?;
            let list = reader.array(page.get(key), key)?;
            let mut fresh = 0;
            for item in list {
                if seen.insert(item.to_string()) {
                    fresh += 1;
                    items.push(item.clone());
                }
            }
            let more = reader.opt_bool(&page, "$", "more")?.unwrap_or(false);
            if !more || fresh == 0 {
                return Ok(items);
            }
            offset += list.len();
        }
        Err(self.http.malformed(
            what,
            format!(
                "more than {} items over {MAX_PAGES} pages; narrow the feed with `filter`",
                MAX_PAGES * PAGE_LIMIT
            ),
        ))
    }

    /// `PUT /incidents/{id}` with `status`; writes need `from`.
    async fn set_status(&self, alert: &FeedAlert, status: &str) -> Result<(), FeedError> {
        let what = format!("{status} incident {}", alert.key);
        let from = self.from.as_deref().ok_or_else(|| {
            self.http.config(
                "`from` (the email of a PagerDuty user) is required to acknowledge or resolve",
            )
        })?;
        let from = HeaderValue::from_str(from)
            .map_err(|_| self.http.config("`from` is not a valid header value"))?;
        let request = self
            .http
            .client
            .put(format!(
                "{}/incidents/{}",
                self.base,
                url_segment(&alert.key)
            ))
            .headers(self.headers()?)
            .header("From", from)
            .json(&json!({ "incident": { "type": "incident_reference", "status": status } }));
        let answer = self.http.json(&what, request).await?;
        let reader = Reader {
            http: &self.http,
            what: &what,
        };
        let incident = answer
            .get("incident")
            .ok_or_else(|| self.http.malformed(&what, "`incident`: it is missing"))?;
        reader.object(incident, "incident")?;
        Ok(())
    }

    /// Resolves the incident in PagerDuty.
    pub async fn resolve(&self, alert: &FeedAlert) -> Result<(), FeedError> {
        self.set_status(alert, "resolved").await
    }

    /// Who is on call now, per escalation policy and level (`GET /oncalls`).
    pub async fn oncalls(&self) -> Result<Vec<OnCall>, FeedError> {
        self.list_oncalls(Vec::new()).await
    }

    /// Every on-call entry overlapping `since..until` (PagerDuty answers for up to 90 days).
    pub async fn oncalls_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<OnCall>, FeedError> {
        self.list_oncalls(vec![
            ("since", crate::time_fmt::rfc3339(since)),
            ("until", crate::time_fmt::rfc3339(until)),
        ])
        .await
    }

    /// The PagerDuty user Foghorn writes as (`from`): the user of this laptop.
    pub fn user_email(&self) -> Option<&str> {
        self.from.as_deref()
    }

    async fn list_oncalls(&self, mut query: Vec<(&str, String)>) -> Result<Vec<OnCall>, FeedError> {
        let what = "list on-calls";
        query.push(("include[]", "users".to_owned()));
        let items = self.paged(what, "/oncalls", "oncalls", &query).await?;
        let r = Reader {
            http: &self.http,
            what,
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("oncalls[{i}]");
                r.object(item, &path)?;
                let policy = item.get("escalation_policy").unwrap_or(&Value::Null);
                let user = item.get("user").unwrap_or(&Value::Null);
                r.object(user, &format!("{path}.user"))?;
                let user_path = format!("{path}.user");
                let name = match r.opt_string(user, &user_path, "name")? {
                    Some(n) => n,
                    None => r.string(user, &user_path, "summary")?,
                };
                Ok(OnCall {
                    escalation_policy: r.string(
                        policy,
                        &format!("{path}.escalation_policy"),
                        "summary",
                    )?,
                    escalation_level: r.opt_i64(item, &path, "escalation_level")?,
                    user: name,
                    email: r.opt_string(user, &user_path, "email")?,
                    start: r.opt_time(item, &path, "start")?,
                    end: r.opt_time(item, &path, "end")?,
                })
            })
            .collect()
    }

    fn alert(&self, r: &Reader<'_>, i: usize, item: &Value) -> Result<FeedAlert, FeedError> {
        let path = format!("incidents[{i}]");
        r.object(item, &path)?;
        let id = r.string(item, &path, "id")?;
        let title = match r.opt_string(item, &path, "title")? {
            Some(t) => t,
            None => r.string(item, &path, "summary")?,
        };
        let status = r.string(item, &path, "status")?;
        let state = match status.as_str() {
            "triggered" => FeedAlertState::Firing,
            "acknowledged" => {
                let by = item
                    .get("acknowledgements")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(|a| a.get("acknowledger"))
                    .and_then(|a| a.get("summary"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                FeedAlertState::Acknowledged { by }
            }
            "resolved" => FeedAlertState::Resolved,
            other => {
                return Err(r
                    .http
                    .malformed(r.what, format!("`{path}.status`: unknown status {other:?}")))
            }
        };
        let urgency = r.opt_string(item, &path, "urgency")?;
        let priority = item
            .get("priority")
            .and_then(|p| p.get("summary").or_else(|| p.get("name")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let severity = severity(priority.as_deref(), urgency.as_deref());
        let mut labels = BTreeMap::new();
        if let Some(service) = item.get("service") {
            if let Some(s) = service.get("summary").and_then(Value::as_str) {
                labels.insert("service".to_owned(), s.to_owned());
            }
            if let Some(s) = service.get("id").and_then(Value::as_str) {
                labels.insert("service_id".to_owned(), s.to_owned());
            }
        }
        if let Some(p) = item
            .get("escalation_policy")
            .and_then(|p| p.get("summary"))
            .and_then(Value::as_str)
        {
            labels.insert("escalation_policy".to_owned(), p.to_owned());
        }
        if let Some(u) = urgency {
            labels.insert("urgency".to_owned(), u);
        }
        if let Some(p) = priority {
            labels.insert("priority".to_owned(), p);
        }
        if let Some(n) = r.opt_i64(item, &path, "incident_number")? {
            labels.insert("incident_number".to_owned(), n.to_string());
        }
        let started_at = r.opt_time(item, &path, "created_at")?.ok_or_else(|| {
            r.http
                .malformed(r.what, format!("`{path}.created_at`: it is missing"))
        })?;
        Ok(FeedAlert {
            key: id,
            title,
            severity,
            state,
            link: r.opt_string(item, &path, "html_url")?,
            labels,
            started_at,
            signature: None,
            starts: BTreeMap::new(),
        })
    }
}

/// Priority when it is one of PagerDuty's default names (P1…P5), else urgency.
fn severity(priority: Option<&str>, urgency: Option<&str>) -> Severity {
    match priority.map(str::to_ascii_uppercase).as_deref() {
        Some("P1") => return Severity::Critical,
        Some("P2") => return Severity::Major,
        Some("P3") => return Severity::Minor,
        Some("P4" | "P5") => return Severity::Info,
        _ => {}
    }
    match urgency {
        Some("low") => Severity::Minor,
        _ => Severity::Critical,
    }
}

/// Events API v2 severities.
fn event_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Major => "error",
        Severity::Minor => "warning",
        Severity::Info => "info",
    }
}

/// Keeps an id from changing the path it goes into.
fn url_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[async_trait]
impl Feed for PagerDutyFeed {
    fn name(&self) -> &str {
        &self.http.feed
    }

    async fn poll(&self) -> Result<FeedPoll, FeedError> {
        let what = "list incidents";
        let mut query = vec![
            ("statuses[]", "triggered".to_owned()),
            ("statuses[]", "acknowledged".to_owned()),
        ];
        for s in &self.services {
            query.push(("service_ids[]", s.clone()));
        }
        let items = self.paged(what, "/incidents", "incidents", &query).await?;
        let r = Reader {
            http: &self.http,
            what,
        };
        let alerts = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.alert(&r, i, item))
            .collect::<Result<_, _>>()?;
        Ok(FeedPoll { alerts })
    }

    async fn acknowledge(&self, alert: &FeedAlert, _by: &str) -> Result<(), FeedError> {
        // PagerDuty records the acknowledgement as the `from` user's.
        self.set_status(alert, "acknowledged").await
    }

    async fn push(&self, incident: &PushedIncident) -> Result<(), FeedError> {
        let what = format!("push {}", incident.dedup_key);
        let routing_key = self
            .routing_key
            .as_ref()
            .map(|k| k.expose().as_str())
            .ok_or_else(|| {
                self.http
                    .config("`routing_key` (an Events API v2 integration key) is required to push")
            })?;
        let body = if incident.resolved_at.is_some() {
            json!({
                "routing_key": routing_key,
                "event_action": "resolve",
                "dedup_key": incident.dedup_key,
            })
        } else {
            let timestamp = incident
                .started_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": incident.dedup_key,
                "client": "Foghorn",
                "payload": {
                    "summary": incident.title,
                    "source": "foghorn",
                    "severity": event_severity(incident.severity),
                    "component": incident.monitor,
                    "timestamp": timestamp,
                },
            })
        };
        let request = self
            .http
            .client
            .post(format!("{}/enqueue", self.events))
            .json(&body);
        let answer = self.http.json(&what, request).await?;
        let r = Reader {
            http: &self.http,
            what: &what,
        };
        match r.opt_string(&answer, "$", "status")?.as_deref() {
            Some("success") | None => Ok(()),
            Some(other) => Err(self
                .http
                .malformed(&what, format!("`status`: {other:?}, not \"success\""))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_wins_over_urgency() {
        assert_eq!(severity(Some("P2"), Some("high")), Severity::Major);
        assert_eq!(severity(None, Some("high")), Severity::Critical);
        assert_eq!(severity(Some("Sev X"), Some("low")), Severity::Minor);
        assert_eq!(url_segment("a/b c"), "a%2Fb%20c");
    }
}
