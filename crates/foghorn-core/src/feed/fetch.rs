//! What the vendor feeds share: one HTTP exchange through [`crate::http`], the mapping of
//! what came back onto [`FeedError`], and a reader of JSON documents whose errors name the
//! field that was wrong. A feed never panics on an answer and never reads a failed poll as
//! "everything cleared".

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use time::OffsetDateTime;

use super::FeedError;
use crate::config::FeedConfig;
use crate::http::{self, Answer, HttpError};
use crate::incident::Severity;
use crate::secret::{Secret, SecretRef, SecretSource};

/// How long one request may take unless the feed was given another timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Assumed when a 429 carries no usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A client for one feed: its name (for every error) and a client of [`crate::http`]
/// (redirects within the same origin only, answers up to [`http::MAX_BODY`]).
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub feed: String,
    pub client: http::Client,
}

impl Http {
    pub fn new(feed: String, timeout: Duration) -> Result<Self, FeedError> {
        let client = http::Client::builder(timeout)
            .build()
            .map_err(|e| FeedError::Config {
                feed: feed.clone(),
                message: e.to_string(),
            })?;
        Ok(Self { feed, client })
    }

    pub fn malformed(&self, what: &str, message: impl Into<String>) -> FeedError {
        FeedError::Malformed {
            feed: self.feed.clone(),
            what: what.to_owned(),
            message: message.into(),
        }
    }

    pub fn config(&self, message: impl Into<String>) -> FeedError {
        FeedError::Config {
            feed: self.feed.clone(),
            message: message.into(),
        }
    }

    /// Sends `request` and reads the answer; a 2xx answer is `Ok`, anything else the
    /// [`FeedError`] it maps to ([`Http::error`]).
    pub async fn send(&self, what: &str, request: RequestBuilder) -> Result<Answer, FeedError> {
        let answer = self
            .client
            .send(request)
            .await
            .map_err(|e| self.error(what, e))?;
        answer.check().map_err(|e| self.error(what, e))?;
        Ok(answer)
    }

    /// [`Http::send`], then the body as JSON.
    pub async fn json(&self, what: &str, request: RequestBuilder) -> Result<Value, FeedError> {
        let answer = self.send(what, request).await?;
        answer.json().map_err(|e| self.error(what, e))
    }

    /// The one mapping of an exchange's failure onto a feed's: no answer is `Unreachable`
    /// (naming the operation, never the URL: its query may carry a token); 429 is
    /// `RateLimited` for the server's `Retry-After` (else [`DEFAULT_RETRY_AFTER`]); another
    /// status, a refused redirect included, is `Status` with what the server said; a body
    /// too large or not what the API describes is `Malformed`.
    pub fn error(&self, what: &str, e: HttpError) -> FeedError {
        let feed = self.feed.clone();
        match e {
            HttpError::Status {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after,
                ..
            } => FeedError::RateLimited {
                feed,
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            },
            HttpError::Status { status, said, .. } => FeedError::Status {
                feed,
                what: what.to_owned(),
                status: status.as_u16(),
                message: if said.is_empty() {
                    "(empty body)".to_owned()
                } else {
                    said
                },
            },
            e @ (HttpError::TooLarge { .. } | HttpError::Decode { .. }) => FeedError::Malformed {
                feed,
                what: what.to_owned(),
                message: e.to_string(),
            },
            e => FeedError::Unreachable {
                feed,
                message: format!("{what}: {e}"),
            },
        }
    }
}

/// The feed's name: `name` from the configuration, else the kind.
pub(crate) fn feed_name(config: &FeedConfig, kind: &str) -> String {
    config.name.clone().unwrap_or_else(|| kind.to_owned())
}

/// A secret the feed cannot work without; missing or unreadable is a configuration error.
pub(crate) fn required_secret(
    feed: &str,
    key: &str,
    secret: Option<&SecretRef>,
    secrets: &dyn SecretSource,
) -> Result<Secret<String>, FeedError> {
    let secret = secret.ok_or_else(|| FeedError::Config {
        feed: feed.to_owned(),
        message: format!("`{key}` is required (\"env:NAME\" or \"keyring:NAME\")"),
    })?;
    optional_secret(feed, key, Some(secret), secrets).map(|s| s.unwrap_or_default())
}

pub(crate) fn optional_secret(
    feed: &str,
    key: &str,
    secret: Option<&SecretRef>,
    secrets: &dyn SecretSource,
) -> Result<Option<Secret<String>>, FeedError> {
    let Some(secret) = secret else {
        return Ok(None);
    };
    secrets
        .resolve(secret)
        .map(|v| Some(Secret::new(v)))
        .map_err(|e| FeedError::Config {
            feed: feed.to_owned(),
            message: format!("`{key}`: {e}"),
        })
}

/// The base URL without its trailing slash; it must be http(s).
pub(crate) fn base_url(feed: &str, key: &str, url: &str) -> Result<String, FeedError> {
    let parsed = url::Url::parse(url).map_err(|e| FeedError::Config {
        feed: feed.to_owned(),
        message: format!("`{key}` {url:?} is not a URL: {e}"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FeedError::Config {
            feed: feed.to_owned(),
            message: format!("`{key}` {url:?} must be an http:// or https:// URL"),
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Severity words vendors and in-house tools use, mapped onto Foghorn's four.
pub(crate) fn severity_word(word: &str) -> Option<Severity> {
    let w = word.trim().to_ascii_lowercase();
    Some(match w.as_str() {
        "critical" | "crit" | "fatal" | "emergency" | "emerg" | "alert" | "p1" | "sev1"
        | "sev-1" | "high" | "page" => Severity::Critical,
        "major" | "error" | "err" | "p2" | "sev2" | "sev-2" => Severity::Major,
        "minor" | "warning" | "warn" | "p3" | "sev3" | "sev-3" | "medium" | "low" => {
            Severity::Minor
        }
        "info" | "informational" | "notice" | "debug" | "p4" | "p5" | "sev4" | "sev-4" | "sev5"
        | "sev-5" | "none" | "ok" => Severity::Info,
        _ => return None,
    })
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads fields out of a JSON object, each error naming `{path}.{field}`.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    pub http: &'a Http,
    pub what: &'a str,
}

impl Reader<'_> {
    fn wrong(&self, path: &str, expected: &str, got: Option<&Value>) -> FeedError {
        let got = match got {
            None => "it is missing".to_owned(),
            Some(v) => format!("got {}", type_name(v)),
        };
        self.http
            .malformed(self.what, format!("`{path}`: expected {expected}, {got}"))
    }

    /// `value` as an array of items.
    pub fn array<'v>(
        &self,
        value: Option<&'v Value>,
        path: &str,
    ) -> Result<&'v [Value], FeedError> {
        match value {
            Some(Value::Array(items)) => Ok(items),
            other => Err(self.wrong(path, "an array", other)),
        }
    }

    pub fn object<'v>(
        &self,
        value: &'v Value,
        path: &str,
    ) -> Result<&'v serde_json::Map<String, Value>, FeedError> {
        match value {
            Value::Object(o) => Ok(o),
            other => Err(self.wrong(path, "an object", Some(other))),
        }
    }

    pub fn string(&self, obj: &Value, path: &str, key: &str) -> Result<String, FeedError> {
        match obj.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            other => Err(self.wrong(&format!("{path}.{key}"), "a string", other)),
        }
    }

    /// A string, or nothing when absent or null.
    pub fn opt_string(
        &self,
        obj: &Value,
        path: &str,
        key: &str,
    ) -> Result<Option<String>, FeedError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            other => Err(self.wrong(&format!("{path}.{key}"), "a string", other)),
        }
    }

    /// An id written as a string or an integer.
    pub fn id(&self, obj: &Value, path: &str, key: &str) -> Result<String, FeedError> {
        match obj.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            other => Err(self.wrong(&format!("{path}.{key}"), "an id (string or integer)", other)),
        }
    }

    pub fn opt_bool(&self, obj: &Value, path: &str, key: &str) -> Result<Option<bool>, FeedError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            other => Err(self.wrong(&format!("{path}.{key}"), "a boolean", other)),
        }
    }

    pub fn opt_i64(&self, obj: &Value, path: &str, key: &str) -> Result<Option<i64>, FeedError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            other => Err(self.wrong(&format!("{path}.{key}"), "an integer", other)),
        }
    }

    /// An RFC 3339 time, or nothing when absent or null.
    pub fn opt_time(
        &self,
        obj: &Value,
        path: &str,
        key: &str,
    ) -> Result<Option<OffsetDateTime>, FeedError> {
        use time::format_description::well_known::Rfc3339;
        match self.opt_string(obj, path, key)? {
            None => Ok(None),
            Some(s) => OffsetDateTime::parse(&s, &Rfc3339).map(Some).map_err(|e| {
                self.http.malformed(
                    self.what,
                    format!("`{path}.{key}`: {s:?} is not an RFC 3339 time ({e})"),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_words_map_onto_foghorns_four() {
        let cases = [
            ("Warning", Some(Severity::Minor)),
            ("P1", Some(Severity::Critical)),
            ("error", Some(Severity::Major)),
            ("informational", Some(Severity::Info)),
            ("bogus", None),
        ];
        for (word, severity) in cases {
            assert_eq!(severity_word(word), severity, "{word}");
        }
    }

    #[test]
    fn exchange_failures_map_onto_feed_errors() {
        let http = Http::new("x".into(), DEFAULT_TIMEOUT).expect("client");
        let status = |code: u16, said: &str| HttpError::Status {
            status: StatusCode::from_u16(code).expect("status"),
            said: said.to_owned(),
            redirected: false,
            retry_after: None,
        };
        let cases: Vec<(HttpError, &str)> = vec![
            (status(429, ""), "x: rate limited; retry in 30s"),
            (
                status(500, "storage broke"),
                "x: poll returned HTTP 500: storage broke",
            ),
            (status(502, ""), "x: poll returned HTTP 502: (empty body)"),
            (
                HttpError::Decode {
                    message: "an HTML page, not JSON: <html>".into(),
                },
                "x: poll: unexpected answer: an HTML page, not JSON: <html>",
            ),
            (
                HttpError::Timeout {
                    after: Duration::from_secs(1),
                },
                "x: unreachable: poll: timed out after 1s",
            ),
        ];
        for (e, said) in cases {
            assert_eq!(http.error("poll", e).to_string(), said);
        }
    }
}
