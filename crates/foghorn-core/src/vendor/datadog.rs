//! Datadog's API v1 (<https://docs.datadoghq.com/api/latest/monitors/>,
//! <https://docs.datadoghq.com/api/latest/downtimes/>; described in
//! `datadog-v1-monitors-events-openapi.yaml`) as a feed reads it: `GET /api/v1/monitor` with the groups in alert, warn or no data; a
//! monitor whose `overall_state` is `Alert`, `Warn` or `No Data` is an alert keyed by its id.
//!
//! Severity: `Warn` → minor; `No Data` → major; `Alert` → by the monitor's priority (1
//! critical, 2 major, 3 minor, 4–5 info), major without one.
//!
//! Acknowledgement, only with `mute_as_ack`: a downtime on the monitor
//! (`POST /api/v1/downtime` with `monitor_id`, scope `*`, ending after `silence_for`). The old
//! `POST /api/v1/monitor/{id}/mute` endpoint is deprecated and absent from Datadog's published
//! description, so it is not used. A monitor with an active downtime (`matching_downtimes`,
//! read with `with_downtimes=true`) or a legacy `options.silenced` entry reads as
//! acknowledged. `unacknowledge` cancels the downtime this process created.
//!
//! Configuration: `url` is the API host of the site (`https://api.datadoghq.com`,
//! `https://api.datadoghq.eu`, …), `token` the API key (`DD-API-KEY`), `app_key` the
//! application key (`DD-APPLICATION-KEY`), `filter` monitor tags (`monitor_tags`).
//! Links point at `{ui}/monitors/{id}`, where `{ui}` is `url` with a leading `api.` of its
//! host replaced by `app.` (`https://app.datadoghq.com`), or `url` itself otherwise.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::feed::fetch::{self, Http, Reader};
use crate::feed::{FeedAlert, FeedAlertState, FeedError};
use crate::incident::Severity;
use crate::secret::Secret;

/// One Datadog site's API, with the two keys every request carries.
#[derive(Debug)]
pub struct Datadog {
    http: Http,
    base: String,
    ui: String,
    api_key: Secret<String>,
    app_key: Secret<String>,
}

impl Datadog {
    /// `base` is the site's API host without a trailing slash.
    pub(crate) fn new(
        http: Http,
        base: String,
        api_key: Secret<String>,
        app_key: Secret<String>,
    ) -> Self {
        Datadog {
            http,
            ui: ui_base(&base),
            base,
            api_key,
            app_key,
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

    fn headers(&self) -> Result<HeaderMap, FeedError> {
        let mut h = HeaderMap::new();
        let bad = |k: &str| {
            self.http
                .config(format!("`{k}` holds characters a header cannot carry"))
        };
        h.insert(
            "DD-API-KEY",
            HeaderValue::from_str(self.api_key.expose()).map_err(|_| bad("token"))?,
        );
        h.insert(
            "DD-APPLICATION-KEY",
            HeaderValue::from_str(self.app_key.expose()).map_err(|_| bad("app_key"))?,
        );
        h.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(h)
    }

    /// The monitors in alert, warn or no data (of those tagged `tags` when there are any).
    pub(crate) async fn monitors(&self, tags: &[String]) -> Result<Vec<FeedAlert>, FeedError> {
        let what = "list monitors";
        let mut query = vec![
            ("group_states", "alert,warn,no data".to_owned()),
            ("with_downtimes", "true".to_owned()),
        ];
        if !tags.is_empty() {
            query.push(("monitor_tags", tags.join(",")));
        }
        let request = self
            .http
            .client
            .get(format!("{}/api/v1/monitor", self.base))
            .headers(self.headers()?)
            .query(&query);
        let body = self.http.json(what, request).await?;
        let r = Reader {
            http: &self.http,
            what,
        };
        let now = OffsetDateTime::now_utc();
        let mut alerts = Vec::new();
        for (i, item) in r.array(Some(&body), "$")?.iter().enumerate() {
            if let Some(alert) = self.alert(&r, i, item, now)? {
                alerts.push(alert);
            }
        }
        Ok(alerts)
    }

    /// Schedules a downtime of every scope of `monitor_id` from `start` to `end` (Unix
    /// seconds); the downtime's id when Datadog gives one.
    pub(crate) async fn downtime(
        &self,
        what: &str,
        monitor_id: i64,
        (start, end): (i64, i64),
        message: &str,
    ) -> Result<Option<i64>, FeedError> {
        let request = self
            .http
            .client
            .post(format!("{}/api/v1/downtime", self.base))
            .headers(self.headers()?)
            .json(&json!({
                "monitor_id": monitor_id,
                "scope": ["*"],
                "start": start,
                "end": end,
                "message": message,
            }));
        let answer = self.http.json(what, request).await?;
        let r = Reader {
            http: &self.http,
            what,
        };
        r.object(&answer, "$")?;
        r.opt_i64(&answer, "$", "id")
    }

    /// Cancels the downtime `id`.
    pub(crate) async fn cancel_downtime(&self, what: &str, id: i64) -> Result<(), FeedError> {
        let request = self
            .http
            .client
            .delete(format!("{}/api/v1/downtime/{id}", self.base))
            .headers(self.headers()?);
        self.http.send(what, request).await.map(drop)
    }

    fn alert(
        &self,
        r: &Reader<'_>,
        i: usize,
        item: &Value,
        now: OffsetDateTime,
    ) -> Result<Option<FeedAlert>, FeedError> {
        let path = format!("[{i}]");
        r.object(item, &path)?;
        let id = r.id(item, &path, "id")?;
        let Some(state) = r.opt_string(item, &path, "overall_state")? else {
            return Ok(None);
        };
        let priority = r.opt_i64(item, &path, "priority")?;
        let severity = match state.as_str() {
            "Warn" => Severity::Minor,
            "No Data" => Severity::Major,
            "Alert" => match priority {
                Some(1) => Severity::Critical,
                Some(3) => Severity::Minor,
                Some(4 | 5) => Severity::Info,
                _ => Severity::Major,
            },
            _ => return Ok(None),
        };
        let title = match r.opt_string(item, &path, "name")? {
            Some(n) if !n.is_empty() => n,
            _ => r.string(item, &path, "query")?,
        };
        let mut labels = BTreeMap::new();
        if let Some(tags) = item.get("tags").filter(|t| !t.is_null()) {
            for (j, tag) in r
                .array(Some(tags), &format!("{path}.tags"))?
                .iter()
                .enumerate()
            {
                let tag = tag.as_str().ok_or_else(|| {
                    r.http.malformed(
                        r.what,
                        format!(
                            "`{path}.tags[{j}]`: expected a string, got {}",
                            fetch::type_name(tag)
                        ),
                    )
                })?;
                let (k, v) = tag.split_once(':').unwrap_or((tag, ""));
                labels.insert(k.to_owned(), v.to_owned());
            }
        }
        labels.insert("overall_state".to_owned(), state.clone());
        if let Some(t) = r.opt_string(item, &path, "type")? {
            labels.insert("monitor_type".to_owned(), t);
        }
        if let Some(p) = priority {
            labels.insert("priority".to_owned(), p.to_string());
        }
        let muted = muted(item, now.unix_timestamp());
        let started_at = started(item, &state)
            .or(r.opt_time(item, &path, "created")?)
            .unwrap_or(now);
        Ok(Some(FeedAlert {
            link: Some(format!("{}/monitors/{id}", self.ui)),
            key: id,
            title,
            severity,
            state: if muted {
                FeedAlertState::Acknowledged { by: None }
            } else {
                FeedAlertState::Firing
            },
            labels,
            started_at,
            signature: None,
            starts: BTreeMap::new(),
            ladders: None,
        }))
    }
}

/// `https://api.datadoghq.com` → `https://app.datadoghq.com`; anything else unchanged.
fn ui_base(base: &str) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => match u.host_str().and_then(|h| h.strip_prefix("api.")) {
            Some(rest) => {
                let host = format!("app.{rest}");
                if u.set_host(Some(&host)).is_ok() {
                    u.as_str().trim_end_matches('/').to_owned()
                } else {
                    base.to_owned()
                }
            }
            None => base.to_owned(),
        },
        Err(_) => base.to_owned(),
    }
}

/// An active downtime matches the monitor, or a legacy mute is set on it.
fn muted(item: &Value, now: i64) -> bool {
    let silenced = item
        .get("options")
        .and_then(|o| o.get("silenced"))
        .and_then(Value::as_object)
        .is_some_and(|s| !s.is_empty());
    let downtime = item
        .get("matching_downtimes")
        .and_then(Value::as_array)
        .is_some_and(|d| {
            d.iter().any(|d| {
                let start = d.get("start").and_then(Value::as_i64).unwrap_or(i64::MIN);
                let end = d.get("end").and_then(Value::as_i64).unwrap_or(i64::MAX);
                start <= now && now < end
            })
        });
    silenced || downtime
}

/// The earliest time one of the monitor's firing groups triggered (or stopped reporting).
fn started(item: &Value, overall: &str) -> Option<OffsetDateTime> {
    let groups = item.get("state")?.get("groups")?.as_object()?;
    groups
        .values()
        .filter(|g| g.get("status").and_then(Value::as_str) == Some(overall))
        .filter_map(|g| {
            let key = if overall == "No Data" {
                "last_nodata_ts"
            } else {
                "last_triggered_ts"
            };
            g.get(key).and_then(Value::as_i64)
        })
        .filter(|ts| *ts > 0)
        .min()
        .and_then(|ts| OffsetDateTime::from_unix_timestamp(ts).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_go_to_the_app_host() {
        assert_eq!(
            ui_base("https://api.datadoghq.eu"),
            "https://app.datadoghq.eu"
        );
        assert_eq!(ui_base("http://127.0.0.1:4010"), "http://127.0.0.1:4010");
    }

    #[test]
    fn a_downtime_in_force_or_a_legacy_mute_is_an_acknowledgement() {
        let now = 1_000;
        assert!(muted(
            &json!({"matching_downtimes": [{"start": 900, "end": null}]}),
            now
        ));
        assert!(!muted(
            &json!({"matching_downtimes": [{"start": 900, "end": 950}]}),
            now
        ));
        assert!(muted(&json!({"options": {"silenced": {"*": null}}}), now));
        assert!(!muted(&json!({"options": {"silenced": {}}}), now));
    }
}
