//! What went wrong with one exchange, said the same way for every use: the feeds, the ladder's
//! channels, calendars and monitors only add what they were doing ("list incidents: …").

use std::time::Duration;

use reqwest::StatusCode;

use super::body::size;

/// How much of what a server said is quoted in an error.
pub const EXCERPT_MAX: usize = 300;

/// Why an exchange failed. The text never carries the URL: its path or query may be a
/// secret (a Slack webhook, a calendar's token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The request could not be made at all (a malformed URL, a client that cannot start);
    /// trying again does not help.
    #[error("{cause}")]
    Request { cause: String },
    /// No whole answer within the time limit.
    #[error("timed out after {}", humantime::format_duration(*after))]
    Timeout { after: Duration },
    /// No connection (refused, DNS, TLS).
    #[error("cannot connect: {cause}")]
    Connect { cause: String },
    /// The exchange broke off after it started.
    #[error("{cause}")]
    Transport { cause: String },
    /// An answer that is not a success. `said` is a short excerpt of the body, or where a
    /// redirect that was not followed pointed (`redirected` then).
    #[error("HTTP {status}{}", if said.is_empty() { String::new() } else { format!(": {said}") })]
    Status {
        status: StatusCode,
        said: String,
        redirected: bool,
        retry_after: Option<Duration>,
    },
    /// The body is larger than the cap and was not read.
    #[error("the answer is larger than {} (not read)", size(*limit))]
    TooLarge {
        status: StatusCode,
        limit: usize,
        retry_after: Option<Duration>,
    },
    /// A body that is not what was asked for (an HTML page instead of JSON, a missing field).
    #[error("{message}")]
    Decode { message: String },
}

impl HttpError {
    /// What went wrong before a whole answer, in a few words: "timed out after 10s", "cannot
    /// connect: Connection refused", "the answer broke off: …", else the innermost cause rather
    /// than reqwest's nested chain. `timeout` is the limit the request had.
    pub fn from_reqwest(e: &reqwest::Error, timeout: Duration) -> Self {
        if e.is_timeout() {
            return HttpError::Timeout { after: timeout };
        }
        let mut cause = match e.url() {
            Some(url) => e.to_string().replace(url.as_str(), "…"),
            None => e.to_string(),
        };
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            cause = s.to_string();
            source = s.source();
        }
        if e.is_builder() {
            HttpError::Request { cause }
        } else if e.is_connect() {
            HttpError::Connect { cause }
        } else if e.is_body() || e.is_decode() {
            HttpError::Transport {
                cause: format!("the answer broke off: {cause}"),
            }
        } else {
            HttpError::Transport { cause }
        }
    }

    /// The status of an answer that came, if one did.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Status { status, .. } | HttpError::TooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `Retry-After`, clamped ([`super::retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } | HttpError::TooLarge { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether the same request may work later: no answer at all, 408, 429 and 5xx. A request
    /// that could not be made, a refused redirect, any other status and a body that is not
    /// what was asked for only repeat themselves.
    pub fn worth_retrying(&self) -> bool {
        match self {
            HttpError::Timeout { .. } | HttpError::Connect { .. } | HttpError::Transport { .. } => {
                true
            }
            HttpError::Status { status, .. } | HttpError::TooLarge { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || status.is_server_error()
            }
            HttpError::Request { .. } | HttpError::Decode { .. } => false,
        }
    }
}

/// What a server said, shortened for an error message: from the usual JSON shapes
/// (`error`, `message`, `detail`, `title`, `errors`, Twilio's `code`) when the body is one,
/// else the text on one line, at most [`EXCERPT_MAX`] characters.
pub fn excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(EXCERPT_MAX * 64)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim();
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(text) {
        let mut parts: Vec<String> = Vec::new();
        for key in ["error", "message", "detail", "title"] {
            if let Some(s) = o.get(key).and_then(|v| v.as_str()) {
                if !s.is_empty() && !parts.iter().any(|p| p == s) {
                    parts.push(s.to_owned());
                }
            }
        }
        if let Some(errors) = o.get("errors").and_then(|v| v.as_array()) {
            let list: Vec<String> = errors
                .iter()
                .map(|e| match e {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            if !list.is_empty() {
                parts.push(list.join("; "));
            }
        }
        if let Some(code) = o.get("code").filter(|c| c.is_number() || c.is_string()) {
            let code = code
                .as_str()
                .map_or_else(|| code.to_string(), str::to_owned);
            parts.push(format!("(code {code})"));
        }
        if !parts.is_empty() {
            return shorten(&parts.join(" "), head.len() < body.len());
        }
    }
    shorten(text, head.len() < body.len())
}

fn shorten(s: &str, cut_already: bool) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= EXCERPT_MAX && !cut_already {
        s
    } else {
        let cut: String = s.chars().take(EXCERPT_MAX).collect();
        format!("{cut}…")
    }
}

/// `body` as JSON; an HTML page, an empty body or broken JSON is [`HttpError::Decode`] saying
/// which, with the start of what came.
pub(super) fn json(body: &[u8]) -> Result<serde_json::Value, HttpError> {
    let start = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let message = match start {
        None => "an empty body, not JSON".to_owned(),
        Some(b'<') => format!("an HTML page, not JSON: {}", excerpt(body)),
        Some(_) => match serde_json::from_slice(body) {
            Ok(value) => return Ok(value),
            Err(e) => format!("not valid JSON ({e}): {}", excerpt(body)),
        },
    };
    Err(HttpError::Decode { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_is_described_in_a_few_words() {
        let status = |code: u16, said: &str| HttpError::Status {
            status: StatusCode::from_u16(code).expect("status"),
            said: said.to_owned(),
            redirected: false,
            retry_after: None,
        };
        let cases: &[(HttpError, &str)] = &[
            (
                HttpError::Timeout {
                    after: Duration::from_millis(500),
                },
                "timed out after 500ms",
            ),
            (
                HttpError::Connect {
                    cause: "Connection refused (os error 111)".into(),
                },
                "cannot connect: Connection refused (os error 111)",
            ),
            (
                status(503, "down for maintenance"),
                "HTTP 503 Service Unavailable: down for maintenance",
            ),
            (status(500, ""), "HTTP 500 Internal Server Error"),
            (
                HttpError::TooLarge {
                    status: StatusCode::OK,
                    limit: 1 << 20,
                    retry_after: None,
                },
                "the answer is larger than 1 MiB (not read)",
            ),
            (
                HttpError::Decode {
                    message: "an empty body, not JSON".into(),
                },
                "an empty body, not JSON",
            ),
        ];
        for (error, said) in cases {
            assert_eq!(error.to_string(), *said, "{error:?}");
        }
    }

    #[test]
    fn what_is_worth_retrying() {
        let status = |code: u16| HttpError::Status {
            status: StatusCode::from_u16(code).expect("status"),
            said: String::new(),
            redirected: false,
            retry_after: None,
        };
        let cases: &[(HttpError, bool)] = &[
            (status(429), true),
            (status(408), true),
            (status(500), true),
            (status(503), true),
            (status(400), false),
            (status(404), false),
            (status(302), false),
            (
                HttpError::Timeout {
                    after: Duration::ZERO,
                },
                true,
            ),
            (
                HttpError::Connect {
                    cause: String::new(),
                },
                true,
            ),
            (
                HttpError::Transport {
                    cause: String::new(),
                },
                true,
            ),
            (
                HttpError::Request {
                    cause: String::new(),
                },
                false,
            ),
            (
                HttpError::Decode {
                    message: String::new(),
                },
                false,
            ),
        ];
        for (error, retry) in cases {
            assert_eq!(error.worth_retrying(), *retry, "{error:?}");
        }
    }

    #[test]
    fn excerpts_quote_vendors_from_their_usual_shapes() {
        let long = "x".repeat(400);
        let cases: &[(&str, &str)] = &[
            (
                r#"{"status":"invalid event","message":"Event object is invalid","errors":["'payload.severity' is missing"]}"#,
                "Event object is invalid 'payload.severity' is missing",
            ),
            (
                r#"{"code": 21211, "message": "The 'To' number is not valid", "status": 400}"#,
                "The 'To' number is not valid (code 21211)",
            ),
            ("invalid_payload\n", "invalid_payload"),
            (
                "<html>\n  Internal   Server Error</html>",
                "<html> Internal Server Error</html>",
            ),
            ("", ""),
        ];
        for (body, said) in cases {
            assert_eq!(excerpt(body.as_bytes()), *said, "{body:?}");
        }
        assert_eq!(excerpt(long.as_bytes()).chars().count(), EXCERPT_MAX + 1);
    }

    #[test]
    fn bodies_that_are_not_json_say_what_they_are() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"  <!DOCTYPE html><title>502</title>",
                "an HTML page, not JSON",
            ),
            (b"", "an empty body, not JSON"),
            (b" \n", "an empty body, not JSON"),
            (b"{\"a\":", "not valid JSON"),
        ];
        for (body, said) in cases {
            let e = json(body).expect_err("not JSON");
            assert!(e.to_string().starts_with(said), "{e}");
        }
        assert_eq!(json(b"[1]").ok(), Some(serde_json::json!([1])));
    }
}
