//! What the vendor feeds share: one HTTP exchange with a timeout and a size cap, the mapping
//! of what came back onto [`FeedError`], and a reader of JSON documents whose errors name the
//! field that was wrong. A feed never panics on an answer and never reads a failed poll as
//! "everything cleared".

use std::time::{Duration, SystemTime};

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use time::OffsetDateTime;

use super::FeedError;
use crate::config::FeedConfig;
use crate::incident::Severity;
use crate::outbound::{self, BodyError};
use crate::secret::{Secret, SecretRef, SecretSource};

/// Bodies larger than this are not read: a feed's answer is a few hundred KiB at most.
pub const MAX_BODY: usize = 8 << 20;

/// How long one request may take unless the feed was given another timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Assumed when a 429 carries no usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A client for one feed: its name (for every error) and the shared client for requests with
/// a secret ([`outbound::client`]: redirects within the same origin only).
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub feed: String,
    pub client: reqwest::Client,
    /// The client's limit, for "timed out after …".
    pub timeout: Duration,
}

impl Http {
    pub fn new(feed: String, timeout: Duration) -> Result<Self, FeedError> {
        let client =
            outbound::client(timeout, Duration::from_secs(10)).map_err(|e| FeedError::Config {
                feed: feed.clone(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self {
            feed,
            client,
            timeout,
        })
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

    /// Sends `request` and reads the answer's body (at most [`MAX_BODY`]). A 2xx answer is
    /// `Ok`; 429 is `RateLimited` (for at most [`outbound::MAX_RETRY_AFTER`]); a redirect to
    /// another origin and any other status are `Status`, with the start of the body.
    pub async fn send(&self, what: &str, request: RequestBuilder) -> Result<Vec<u8>, FeedError> {
        let response = request.send().await.map_err(|e| self.transport(what, &e))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(FeedError::RateLimited {
                feed: self.feed.clone(),
                retry_after: outbound::retry_after(response.headers(), SystemTime::now())
                    .unwrap_or(DEFAULT_RETRY_AFTER),
            });
        }
        if let Some(message) = outbound::refused_redirect(status, response.headers()) {
            return Err(FeedError::Status {
                feed: self.feed.clone(),
                what: what.to_owned(),
                status: status.as_u16(),
                message,
            });
        }
        let body = self.read_capped(what, response).await;
        if !status.is_success() {
            let text = match &body {
                Ok(b) => excerpt(b),
                Err(_) => String::new(),
            };
            return Err(FeedError::Status {
                feed: self.feed.clone(),
                what: what.to_owned(),
                status: status.as_u16(),
                message: text,
            });
        }
        body
    }

    /// [`Http::send`], then the body as JSON.
    pub async fn json(&self, what: &str, request: RequestBuilder) -> Result<Value, FeedError> {
        let body = self.send(what, request).await?;
        self.parse(what, &body)
    }

    pub fn parse(&self, what: &str, body: &[u8]) -> Result<Value, FeedError> {
        let start = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .copied()
            .unwrap_or(b' ');
        if start == b'<' {
            return Err(self.malformed(what, format!("an HTML page, not JSON: {}", excerpt(body))));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(self.malformed(what, "an empty body, not JSON"));
        }
        serde_json::from_slice(body)
            .map_err(|e| self.malformed(what, format!("not valid JSON ({e}): {}", excerpt(body))))
    }

    async fn read_capped(
        &self,
        what: &str,
        response: reqwest::Response,
    ) -> Result<Vec<u8>, FeedError> {
        outbound::read_capped(response, MAX_BODY)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { .. } => self.malformed(what, e.to_string()),
                BodyError::Transport(e) => self.transport(what, &e),
            })
    }

    fn transport(&self, what: &str, e: &reqwest::Error) -> FeedError {
        // The URL may carry a token in its query: name the operation, never the URL.
        FeedError::Unreachable {
            feed: self.feed.clone(),
            message: format!("{what}: {}", outbound::describe(e, self.timeout)),
        }
    }
}

/// The first 200 characters of a body, on one line, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(400)]);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = line.chars().take(200).collect();
    if line.chars().count() > 200 || body.len() > 400 {
        out.push('…');
    }
    out
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
    fn html_and_garbage_are_malformed_not_panics() {
        let http = Http::new("x".into(), DEFAULT_TIMEOUT).expect("client");
        let err = http
            .parse("poll", b"  <!DOCTYPE html><title>502</title>")
            .expect_err("html");
        assert!(err.to_string().contains("HTML"), "{err}");
        assert!(http.parse("poll", b"").is_err());
        assert!(http.parse("poll", b"{\"a\":").is_err());
        assert_eq!(severity_word("Warning"), Some(Severity::Minor));
        assert_eq!(severity_word("bogus"), None);
    }
}
