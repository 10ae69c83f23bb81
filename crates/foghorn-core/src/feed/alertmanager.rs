//! Prometheus Alertmanager as a feed, over [`crate::vendor::alertmanager`] (API v2, with
//! failover to `fallback_urls`).
//!
//! - Reading: every alert is a signal keyed by its fingerprint. A silenced alert reads as
//!   acknowledged by the silence's `createdBy`, wherever the silence was made (`amtool`, the
//!   web UI, another laptop's Foghorn).
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

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::fetch::Http;
use super::{Feed, FeedAlert, FeedAlertState, FeedError, FeedPoll, PushedIncident};
use crate::config::{FeedConfig, FeedKind};
use crate::incident::Severity;
use crate::secret::{SecretSource, SystemSecrets};
use crate::vendor::alertmanager::{Alertmanager, GettableAlert, Matcher};

/// The largest answer read; a larger one is an error, not a memory spike.
pub const MAX_BODY: usize = crate::http::MAX_BODY;
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
#[derive(Debug)]
pub struct AlertmanagerFeed {
    api: Alertmanager,
    silence_for: Duration,
    poll_every: Duration,
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
            api: Alertmanager::new(Http::new(name, DEFAULT_TIMEOUT)?, urls, token),
            silence_for: config.silence_for,
            poll_every: config.poll_every,
        })
    }

    /// The same feed with another limit on each request (tests use a short one).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        let http = Http::new(self.api.http().feed.clone(), timeout)?;
        self.api.set_http(http);
        Ok(self)
    }

    /// The base URLs in the order configured.
    pub fn urls(&self) -> &[String] {
        self.api.urls()
    }

    /// The base URL tried first: the one that answered last.
    pub fn active_url(&self) -> &str {
        self.api.active_url()
    }
}

impl AlertmanagerFeed {
    async fn poll_at(&self, base: String) -> Result<FeedPoll, FeedError> {
        let (_, alerts) = self.api.alerts_at(&base).await?;
        let silenced = alerts
            .iter()
            .any(|a| a.status.state == "suppressed" && !a.status.silenced_by.is_empty());
        let silences: HashMap<String, String> = if silenced {
            self.api
                .silences_at(&base)
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
            .api
            .call_json(Method::POST, format!("{base}/api/v2/silences"), Some(&body))
            .await?;
        match value.get("silenceID").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {
                tracing::info!(feed = %self.api.http().feed, "{}: {} silenced by {by} ({id})", self.api.http().feed, alert.key);
                Ok(())
            }
            _ => Err(FeedError::Malformed {
                feed: self.api.http().feed.clone(),
                what,
                message: format!(
                    "no silenceID in {}",
                    crate::http::excerpt(value.to_string().as_bytes())
                ),
            }),
        }
    }

    async fn unacknowledge_at(&self, base: String, alert: &FeedAlert) -> Result<(), FeedError> {
        let ours = self
            .api
            .silences_at(&base)
            .await?
            .into_iter()
            .filter(|s| matches!(s.status.state.as_str(), "active" | "pending"))
            .filter(|s| s.comment.starts_with(ACK_COMMENT))
            .filter(|s| matches_exactly(&s.matchers, &alert.labels));
        for silence in ours {
            let mut url = url::Url::parse(&base).map_err(|e| FeedError::Config {
                feed: self.api.http().feed.clone(),
                message: format!("{base}: {e}"),
            })?;
            url.path_segments_mut()
                .map_err(|()| FeedError::Config {
                    feed: self.api.http().feed.clone(),
                    message: format!("{base} cannot be a base URL"),
                })?
                .pop_if_empty()
                .extend(["api", "v2", "silence", &silence.id]);
            self.api.call(Method::DELETE, url.to_string(), None).await?;
            tracing::info!(feed = %self.api.http().feed, "{}: expired silence {} of {}", self.api.http().feed, silence.id, alert.key);
        }
        Ok(())
    }

    async fn push_at(&self, base: String, body: &Value) -> Result<(), FeedError> {
        self.api
            .call(Method::POST, format!("{base}/api/v2/alerts"), Some(body))
            .await
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
        &self.api.http().feed
    }

    async fn poll(&self) -> Result<FeedPoll, FeedError> {
        self.api.on_first_reachable(|base| self.poll_at(base)).await
    }

    async fn acknowledge(&self, alert: &FeedAlert, by: &str) -> Result<(), FeedError> {
        if alert.labels.is_empty() {
            return Err(FeedError::Unsupported {
                feed: self.api.http().feed.clone(),
                what: format!("acknowledging {} (it has no labels to silence)", alert.key),
            });
        }
        self.api
            .on_first_reachable(|base| self.acknowledge_at(base, alert, by))
            .await
    }

    async fn unacknowledge(&self, alert: &FeedAlert) -> Result<(), FeedError> {
        self.api
            .on_first_reachable(|base| self.unacknowledge_at(base, alert))
            .await
    }

    async fn push(&self, incident: &PushedIncident) -> Result<(), FeedError> {
        let body = Value::Array(vec![
            self.postable_alert(incident, OffsetDateTime::now_utc())
        ]);
        self.api
            .on_first_reachable(|base| self.push_at(base, &body))
            .await
    }

    async fn announce(
        &self,
        person: &str,
        until: OffsetDateTime,
        signature: Option<&str>,
        starts: &BTreeMap<String, String>,
        ladders: Option<&str>,
    ) -> Result<(), FeedError> {
        let now = OffsetDateTime::now_utc();
        let mut annotations = annotations(format!("{person}'s Foghorn is running"), signature);
        if let Some(map) = annotations.as_object_mut() {
            if !starts.is_empty() {
                map.insert(
                    crate::team::STARTS_ANNOTATION.to_owned(),
                    Value::String(serde_json::to_string(starts).unwrap_or_default()),
                );
            }
            if let Some(ladders) = ladders {
                map.insert(
                    crate::team::LADDERS_ANNOTATION.to_owned(),
                    Value::String(ladders.to_owned()),
                );
            }
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
        self.api
            .on_first_reachable(|base| self.push_at(base, &body))
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
    let ladders = a.annotations.get(crate::team::LADDERS_ANNOTATION).cloned();
    FeedAlert {
        signature,
        starts,
        ladders,
        key: a.fingerprint,
        title,
        severity: severity_of(a.labels.get("severity").map(String::as_str)),
        state,
        link: a.generator_url.filter(|u| !u.is_empty()),
        labels: a.labels,
        started_at: a.starts_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor::alertmanager::AlertStatus;

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
}
