//! PagerDuty's REST API v2 (<https://developer.pagerduty.com/api-reference/>; described in
//! `pagerduty-rest-openapiv3.json`): open incidents (`GET /incidents`, offset pagination),
//! an incident acknowledged or resolved (`PUT /incidents/{id}`, which needs the `From`
//! header: the email of the PagerDuty user it is done as), and who is on call
//! (`GET /oncalls`).
//!
//! Every request sends `Authorization: Token token=…` and asks for the v2 media type.

use std::collections::{BTreeMap, HashSet};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::feed::fetch::{Http, Reader};
use crate::feed::{FeedAlert, FeedAlertState, FeedError};
use crate::incident::Severity;
use crate::secret::Secret;

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

/// A REST API client: the base URL, the API key and the user writes are done as.
#[derive(Debug)]
pub struct Rest {
    http: Http,
    base: String,
    token: Secret<String>,
    from: Option<String>,
}

impl Rest {
    /// `base` without a trailing slash (`https://api.pagerduty.com`); `from` the PagerDuty
    /// user's email, needed to acknowledge or resolve.
    pub(crate) fn new(
        http: Http,
        base: String,
        token: Secret<String>,
        from: Option<String>,
    ) -> Self {
        Rest {
            http,
            base,
            token,
            from,
        }
    }

    /// The feed's name and client.
    /// The PagerDuty user Foghorn writes as.
    pub(crate) fn from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// The same API with another client (another time limit).
    pub(crate) fn set_http(&mut self, http: Http) {
        self.http = http;
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

    /// Open incidents (triggered and acknowledged), of the `services` only when some are
    /// given.
    pub(crate) async fn incidents(&self, services: &[String]) -> Result<Vec<FeedAlert>, FeedError> {
        let what = "list incidents";
        let mut query = vec![
            ("statuses[]", "triggered".to_owned()),
            ("statuses[]", "acknowledged".to_owned()),
        ];
        for s in services {
            query.push(("service_ids[]", s.clone()));
        }
        let items = self.paged(what, "/incidents", "incidents", &query).await?;
        let r = Reader {
            http: &self.http,
            what,
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.alert(&r, i, item))
            .collect()
    }

    /// `PUT /incidents/{id}` with `status`; writes need `from`.
    pub(crate) async fn set_status(&self, key: &str, status: &str) -> Result<(), FeedError> {
        let what = format!("{status} incident {key}");
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
            .put(format!("{}/incidents/{}", self.base, url_segment(key)))
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

    /// Who is on call now, per escalation policy and level (`GET /oncalls`).
    pub(crate) async fn oncalls(
        &self,
        window: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> Result<Vec<OnCall>, FeedError> {
        let what = "list on-calls";
        let mut query = vec![("include[]", "users".to_owned())];
        if let Some((since, until)) = window {
            query.push(("since", crate::time_fmt::rfc3339(since)));
            query.push(("until", crate::time_fmt::rfc3339(until)));
        }
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
            ladders: None,
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

/// Keeps an id from changing the path it goes into.
fn url_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_wins_over_urgency() {
        let cases = [
            (Some("P2"), Some("high"), Severity::Major),
            (Some("p1"), Some("low"), Severity::Critical),
            (Some("P4"), None, Severity::Info),
            (None, Some("high"), Severity::Critical),
            (None, None, Severity::Critical),
            (Some("Sev X"), Some("low"), Severity::Minor),
        ];
        for (priority, urgency, want) in cases {
            assert_eq!(
                severity(priority, urgency),
                want,
                "{priority:?} {urgency:?}"
            );
        }
        assert_eq!(url_segment("a/b c"), "a%2Fb%20c");
    }
}
