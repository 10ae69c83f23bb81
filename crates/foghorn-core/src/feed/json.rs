//! A generic JSON feed, for the in-house tools every company has: `GET url` returns a document
//! with a list of alerts somewhere in it; `mapping` says where the list is and where each
//! field is in an item.
//!
//! Paths are a small subset of JSONPath: `$` (the document; for the list, a top-level array),
//! dotted names (`$.data.alerts`, `labels.team`; the leading `$.` is optional), bracketed
//! indices and names (`items[0]`, `['odd key']`), and `[*]` after the list's path
//! (`$.alerts[*]`), which means the same as the path without it. Item fields are relative to
//! the item.
//!
//! An item's `id` (string or integer) and `title` are required: missing or of the wrong type,
//! the poll fails naming the item's index and the field (a half-read list would resolve
//! everything left out). `severity` is a word (`critical`, `error`, `warning`, `info`, `P1`,
//! `sev2`, …) or a number 1–5 (1 critical, 2 major, 3 minor, 4–5 info), major when absent or
//! unknown. `state`: with `firing_values`, a value among them (case-insensitive) is firing,
//! `acknowledged`/`acked` is acknowledged, anything else resolved; without `firing_values`,
//! `resolved`/`ok`/`closed`/`inactive`/`false` are resolved, `acknowledged`/`acked`
//! acknowledged, anything else firing. Without a `state` mapping every item is firing.
//! `link` is optional. `started_at` is when this feed first saw the item.
//! `token`, when set, is sent as `Authorization: Bearer …`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use serde_json::Value;
use time::OffsetDateTime;

use super::fetch::{self, Http};
use super::{Feed, FeedAlert, FeedAlertState, FeedError, FeedPoll};
use crate::config::{FeedConfig, JsonMapping};
use crate::incident::Severity;
use crate::secret::{Secret, SecretSource};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path, with its text for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

impl JsonPath {
    /// Parses `$.a.b[0]['c d']`; a trailing `[*]` is dropped (it names the list itself).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut rest = text.trim();
        if let Some(r) = rest.strip_prefix('$') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('@') {
            rest = r;
        } else if !rest.is_empty() {
            // A relative path: `a.b` reads like `.a.b`.
            let owned = format!(".{rest}");
            return Self::parse_steps(text, &owned);
        }
        Self::parse_steps(text, rest)
    }

    fn parse_steps(text: &str, mut rest: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("path {text:?}: {why}");
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = &r[..end];
                if name.is_empty() {
                    return Err(bad("an empty name after `.`"));
                }
                steps.push(Step::Key(name.to_owned()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let close = r.find(']').ok_or_else(|| bad("`[` without `]`"))?;
                let inner = r[..close].trim();
                rest = &r[close + 1..];
                if inner == "*" {
                    if !rest.is_empty() {
                        return Err(bad("`[*]` is only allowed at the end of the list's path"));
                    }
                    break;
                }
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                match quoted {
                    Some(name) => steps.push(Step::Key(name.to_owned())),
                    None => steps.push(Step::Index(inner.parse().map_err(|_| {
                        bad(&format!(
                            "`[{inner}]` is neither an index nor a quoted name"
                        ))
                    })?)),
                }
            } else {
                return Err(bad(&format!("unexpected {rest:?}")));
            }
        }
        Ok(Self {
            text: text.to_owned(),
            steps,
        })
    }

    /// The value at this path, or `None` when a step does not exist.
    pub fn get<'v>(&self, mut value: &'v Value) -> Option<&'v Value> {
        for step in &self.steps {
            value = match step {
                Step::Key(k) => value.get(k.as_str())?,
                Step::Index(i) => value.get(*i)?,
            };
        }
        Some(value)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[derive(Debug)]
struct Paths {
    items: JsonPath,
    id: JsonPath,
    title: JsonPath,
    severity: Option<JsonPath>,
    state: Option<JsonPath>,
    link: Option<JsonPath>,
    firing: Vec<String>,
}

#[derive(Debug)]
pub struct JsonFeed {
    http: Http,
    url: String,
    token: Option<Secret<String>>,
    paths: Paths,
    /// When each key was first seen, so `started_at` stays put between polls.
    first_seen: Mutex<HashMap<String, OffsetDateTime>>,
}

impl JsonFeed {
    /// The feed `config` describes, its secrets looked up in `secrets` now, so a missing
    /// one is reported at start ([`super::from_config`] uses the environment and the OS
    /// keychain).
    pub fn with_secrets(
        config: &FeedConfig,
        secrets: &dyn SecretSource,
    ) -> Result<Self, FeedError> {
        let name = fetch::feed_name(config, "json");
        let token = fetch::optional_secret(&name, "token", config.token.as_ref(), secrets)?;
        let url = fetch::base_url(&name, "url", &config.url)?;
        let mapping: &JsonMapping = config.mapping.as_ref().ok_or_else(|| FeedError::Config {
            feed: name.clone(),
            message: "`mapping` (where the list and each field are) is required".to_owned(),
        })?;
        let path = |key: &str, text: &str| {
            JsonPath::parse(text).map_err(|e| FeedError::Config {
                feed: name.clone(),
                message: format!("`mapping.{key}`: {e}"),
            })
        };
        let opt =
            |key: &str, text: &Option<String>| text.as_deref().map(|t| path(key, t)).transpose();
        let paths = Paths {
            items: path("items", &mapping.items)?,
            id: path("id", &mapping.id)?,
            title: path("title", &mapping.title)?,
            severity: opt("severity", &mapping.severity)?,
            state: opt("state", &mapping.state)?,
            link: opt("link", &mapping.link)?,
            firing: mapping
                .firing_values
                .iter()
                .map(|v| v.trim().to_lowercase())
                .collect(),
        };
        Ok(Self {
            http: Http::new(name, fetch::DEFAULT_TIMEOUT)?,
            url,
            token,
            paths,
            first_seen: Mutex::new(HashMap::new()),
        })
    }

    /// Each request gives up after `timeout` (20 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, FeedError> {
        self.http = Http::new(self.http.feed.clone(), timeout)?;
        Ok(self)
    }

    fn item_error(&self, index: usize, field: &str, path: &JsonPath, problem: &str) -> FeedError {
        self.http.malformed(
            "read the list",
            format!("item {index}: `{field}` (at {:?}) {problem}", path.as_str()),
        )
    }

    fn state(&self, value: Option<&Value>) -> FeedAlertState {
        let Some(v) = value.and_then(scalar) else {
            return if self.paths.state.is_some() && !self.paths.firing.is_empty() {
                FeedAlertState::Resolved
            } else {
                FeedAlertState::Firing
            };
        };
        let v = v.to_lowercase();
        if matches!(v.as_str(), "acknowledged" | "acked") {
            return FeedAlertState::Acknowledged { by: None };
        }
        if !self.paths.firing.is_empty() {
            return if self.paths.firing.contains(&v) {
                FeedAlertState::Firing
            } else {
                FeedAlertState::Resolved
            };
        }
        match v.as_str() {
            "resolved" | "ok" | "closed" | "inactive" | "false" => FeedAlertState::Resolved,
            _ => FeedAlertState::Firing,
        }
    }
}

/// A string, number or boolean as text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn severity(v: Option<&Value>) -> Severity {
    match v {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(1) => Severity::Critical,
            Some(3) => Severity::Minor,
            Some(4 | 5) => Severity::Info,
            _ => Severity::Major,
        },
        Some(Value::String(s)) => fetch::severity_word(s).unwrap_or(Severity::Major),
        _ => Severity::Major,
    }
}

#[async_trait]
impl Feed for JsonFeed {
    fn name(&self) -> &str {
        &self.http.feed
    }

    async fn poll(&self) -> Result<FeedPoll, FeedError> {
        let what = "read the list";
        let mut request = self
            .http
            .client
            .get(&self.url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = &self.token {
            let value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    self.http
                        .config("`token` holds characters a header cannot carry")
                })?;
            request = request.header(AUTHORIZATION, value);
        }
        let doc = self.http.json(what, request).await?;
        let list = match self.paths.items.get(&doc) {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(self.http.malformed(
                    what,
                    format!(
                        "`mapping.items` ({:?}): expected an array, got {}",
                        self.paths.items.as_str(),
                        fetch::type_name(other)
                    ),
                ))
            }
            None => {
                return Err(self.http.malformed(
                    what,
                    format!(
                        "`mapping.items` ({:?}): not found",
                        self.paths.items.as_str()
                    ),
                ))
            }
        };
        let now = OffsetDateTime::now_utc();
        let mut alerts = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let key = match self.paths.id.get(item) {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                None | Some(Value::Null) => {
                    return Err(self.item_error(i, "id", &self.paths.id, "is missing"))
                }
                Some(other) => {
                    return Err(self.item_error(
                        i,
                        "id",
                        &self.paths.id,
                        &format!("is {}, not a string or a number", fetch::type_name(other)),
                    ))
                }
            };
            let title = match self.paths.title.get(item) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                None | Some(Value::Null) => {
                    return Err(self.item_error(i, "title", &self.paths.title, "is missing"))
                }
                Some(other) => {
                    return Err(self.item_error(
                        i,
                        "title",
                        &self.paths.title,
                        &format!("is {}, not a string", fetch::type_name(other)),
                    ))
                }
            };
            let sev_value = self.paths.severity.as_ref().and_then(|p| p.get(item));
            let state_value = self.paths.state.as_ref().and_then(|p| p.get(item));
            let link = match self.paths.link.as_ref().and_then(|p| p.get(item)) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => {
                    let path = self.paths.link.as_ref().unwrap_or(&self.paths.id);
                    return Err(self.item_error(
                        i,
                        "link",
                        path,
                        &format!("is {}, not a string", fetch::type_name(other)),
                    ));
                }
            };
            let mut labels = BTreeMap::new();
            if let Some(s) = sev_value.and_then(scalar) {
                labels.insert("severity".to_owned(), s);
            }
            if let Some(s) = state_value.and_then(scalar) {
                labels.insert("state".to_owned(), s);
            }
            alerts.push(FeedAlert {
                key,
                title,
                severity: severity(sev_value),
                state: self.state(state_value),
                link,
                labels,
                started_at: now,
                signature: None,
                starts: BTreeMap::new(),
                ladders: None,
            });
        }
        if let Ok(mut first_seen) = self.first_seen.lock() {
            first_seen.retain(|k, _| alerts.iter().any(|a| &a.key == k));
            for alert in &mut alerts {
                alert.started_at = *first_seen.entry(alert.key.clone()).or_insert(now);
            }
        }
        Ok(FeedPoll { alerts })
    }

    async fn acknowledge(&self, alert: &FeedAlert, _by: &str) -> Result<(), FeedError> {
        Err(FeedError::Unsupported {
            feed: self.http.feed.clone(),
            what: format!("acknowledging {} (a JSON feed is read-only)", alert.key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_walk_names_indices_and_quoted_keys() {
        let doc = json!({"data": {"alerts": [{"a b": {"c": [10, 20]}}]}});
        let p = JsonPath::parse("$.data.alerts[*]").expect("parses");
        assert!(p.get(&doc).is_some_and(Value::is_array));
        let p = JsonPath::parse("$.data.alerts[0]['a b'].c[1]").expect("parses");
        assert_eq!(p.get(&doc), Some(&json!(20)));
        let p = JsonPath::parse("data.alerts").expect("relative");
        assert!(p.get(&doc).is_some());
        assert_eq!(JsonPath::parse("$").expect("root").get(&doc), Some(&doc));
        assert!(JsonPath::parse("$.a[").is_err());
        assert!(JsonPath::parse("$.a[*].b").is_err());
        assert!(JsonPath::parse("$..a").is_err());
        assert!(JsonPath::parse("$.a[x]").is_err());
    }

    #[test]
    fn severities_from_words_and_numbers() {
        assert_eq!(severity(Some(&json!("WARNING"))), Severity::Minor);
        assert_eq!(severity(Some(&json!(1))), Severity::Critical);
        assert_eq!(severity(Some(&json!("weird"))), Severity::Major);
        assert_eq!(severity(None), Severity::Major);
    }
}
