//! What every HTTP channel shares: the client (timeouts, redirects within the same origin
//! only: [`crate::outbound`]), secrets, and how an answer becomes
//! [`Delivered`](super::Delivered) or a [`DeliveryError`].
//!
//! The rule, for every vendor: connection errors, timeouts and 5xx are worth retrying; 429
//! is retried after the vendor's `Retry-After` (at most [`crate::outbound::MAX_RETRY_AFTER`]);
//! any other 4xx is permanent and quotes what the vendor said. Answers larger than
//! [`MAX_REPLY`] are not read. Request errors never show the URL (a Slack webhook URL is a
//! secret).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::outbound::{self, BodyError};
use crate::secret::{SecretRef, SecretSource, SystemSecrets};

use super::{Channel, DeliveryError};

/// The whole request, answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a vendor's error body is quoted.
const QUOTE_MAX: usize = 300;
/// The largest answer read. Vendors answer a delivery with a few KiB at most; a URL that
/// points at something else must not fill the memory.
pub const MAX_REPLY: usize = 1 << 20;

/// Where senders look secrets up: the environment and OS keychain unless a test says
/// otherwise.
#[derive(Clone)]
pub struct Secrets(pub Arc<dyn SecretSource>);

impl Default for Secrets {
    fn default() -> Self {
        Secrets(Arc::new(SystemSecrets))
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets")
    }
}

impl Secrets {
    /// The secret's value, or a permanent error naming the setting and what is wrong.
    pub(crate) fn get(
        &self,
        channel: Channel,
        setting: &str,
        secret: Option<&SecretRef>,
    ) -> Result<String, DeliveryError> {
        let secret = secret.ok_or_else(|| permanent(channel, format!("{setting} is not set")))?;
        self.0
            .resolve(secret)
            .map_err(|e| permanent(channel, format!("{setting}: {e}")))
    }
}

/// The HTTP client and the secrets one sender uses.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub secrets: Secrets,
    pub timeout: Duration,
}

impl Default for Http {
    fn default() -> Self {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }
}

impl Http {
    pub fn with_timeout(timeout: Duration) -> Self {
        let client = outbound::client(timeout, CONNECT_TIMEOUT)
            // Building fails only when the TLS backend cannot start, which with rustls and
            // bundled roots does not happen (and the default client would then fail the same).
            .unwrap_or_default();
        Http {
            client,
            secrets: Secrets::default(),
            timeout,
        }
    }

    /// The same secrets, another time limit.
    pub fn set_timeout(&mut self, timeout: Duration) {
        let secrets = self.secrets.clone();
        *self = Http::with_timeout(timeout);
        self.secrets = secrets;
    }

    /// Sends and reads the whole answer (at most [`MAX_REPLY`]); errors before any answer and
    /// an answer too large to read are mapped here, the answer's status by the caller (most
    /// use [`check_status`]).
    pub async fn send(
        &self,
        channel: Channel,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, DeliveryError> {
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(channel, what, self.timeout, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = match outbound::read_capped(response, MAX_REPLY).await {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(BodyError::Transport(e)) => {
                return Err(transport_error(channel, what, self.timeout, e))
            }
            Err(e @ BodyError::TooLarge { .. }) => {
                let message = format!("{what}: HTTP {status}: {e}");
                // Whether the vendor took the message is unknown: a status that asks for
                // another try gets one, any other does not (it would only repeat this).
                return Err(if retryable(status) {
                    retry(
                        channel,
                        message,
                        outbound::retry_after(&headers, SystemTime::now()),
                    )
                } else {
                    permanent(channel, message)
                });
            }
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// A vendor's answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The vendor's `Retry-After`, clamped ([`outbound::retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        outbound::retry_after(&self.headers, SystemTime::now())
    }
}

pub(crate) fn permanent(channel: Channel, message: impl Into<String>) -> DeliveryError {
    DeliveryError::Permanent {
        channel,
        message: message.into(),
    }
}

pub(crate) fn retry(
    channel: Channel,
    message: impl Into<String>,
    retry_after: Option<Duration>,
) -> DeliveryError {
    DeliveryError::Retry {
        channel,
        message: message.into(),
        retry_after,
    }
}

/// No answer: timeouts and connection failures are retried; a request that could not even
/// be built (a malformed URL in the config) is not.
fn transport_error(
    channel: Channel,
    what: &str,
    timeout: Duration,
    e: reqwest::Error,
) -> DeliveryError {
    let builder = e.is_builder();
    let text = if e.is_timeout() {
        format!("no answer within {}", humantime::format_duration(timeout))
    } else {
        describe(&e.without_url())
    };
    if builder {
        permanent(channel, format!("{what}: {text}"))
    } else {
        retry(channel, format!("{what}: {text}"), None)
    }
}

/// reqwest's own text is terse ("error sending request"); its causes say what happened
/// ("Connection refused"). None of them carries the URL once `without_url` has run.
fn describe(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// 2xx passes; 429 and 5xx are retried; any other status is permanent. The message quotes
/// the vendor's own error text.
pub(crate) fn check_status(
    channel: Channel,
    what: &str,
    answer: &Answer,
) -> Result<(), DeliveryError> {
    let status = answer.status;
    if status.is_success() {
        return Ok(());
    }
    let said = vendor_error(&answer.body);
    let message = if said.is_empty() {
        format!("{what}: HTTP {status}")
    } else {
        format!("{what}: HTTP {status}: {said}")
    };
    if retryable(status) {
        Err(retry(channel, message, answer.retry_after()))
    } else if let Some(redirect) = outbound::refused_redirect(status, &answer.headers) {
        Err(permanent(
            channel,
            format!("{what}: HTTP {status}: {redirect}; update the URL"),
        ))
    } else {
        Err(permanent(channel, message))
    }
}

/// 429, 408 and 5xx: the vendor may take the message later.
fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// What a vendor said went wrong, from the usual JSON shapes (`message`, `error`, `errors`,
/// Twilio's `code`) or the plain-text body, shortened.
pub(crate) fn vendor_error(body: &str) -> String {
    let body = body.trim();
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(body) {
        let mut parts = Vec::new();
        for key in ["error", "message", "detail", "title"] {
            if let Some(s) = o.get(key).and_then(|v| v.as_str()) {
                if !s.is_empty() && !parts.iter().any(|p: &String| p == s) {
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
            return shorten(&parts.join(" "));
        }
    }
    shorten(body)
}

fn shorten(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= QUOTE_MAX {
        s
    } else {
        let cut: String = s.chars().take(QUOTE_MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    fn answer(status: u16, body: &str, retry: Option<&str>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(r) = retry {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(r).expect("header"));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers,
            body: body.to_owned(),
        }
    }

    #[test]
    fn statuses_map_to_retry_or_permanent() {
        let c = Channel::Sms;
        assert!(check_status(c, "x", &answer(201, "{}", None)).is_ok());
        assert!(matches!(
            check_status(c, "x", &answer(503, "down", None)),
            Err(DeliveryError::Retry {
                retry_after: None,
                ..
            })
        ));
        assert_eq!(
            check_status(c, "send", &answer(429, "slow down", Some("7"))),
            Err(retry(
                c,
                "send: HTTP 429 Too Many Requests: slow down",
                Some(Duration::from_secs(7))
            ))
        );
        assert_eq!(
            check_status(
                c,
                "send",
                &answer(
                    400,
                    r#"{"code": 21211, "message": "The 'To' number is not valid", "status": 400}"#,
                    None
                )
            ),
            Err(permanent(
                c,
                "send: HTTP 400 Bad Request: The 'To' number is not valid (code 21211)"
            ))
        );
    }

    #[test]
    fn vendor_errors_are_quoted_from_their_usual_shapes() {
        assert_eq!(
            vendor_error(
                r#"{"status":"invalid event","message":"Event object is invalid","errors":["'payload.severity' is missing"]}"#
            ),
            "Event object is invalid 'payload.severity' is missing"
        );
        assert_eq!(vendor_error("invalid_payload\n"), "invalid_payload");
        assert_eq!(
            vendor_error(&"x".repeat(400)).chars().count(),
            QUOTE_MAX + 1
        );
    }

    #[test]
    fn a_delivery_429_with_a_retry_after_of_a_hundred_trillion_seconds_waits_at_most_an_hour() {
        let said = check_status(
            Channel::Webhook,
            "webhook",
            &answer(429, "", Some("100000000000000")),
        );
        assert!(
            matches!(
                said,
                Err(DeliveryError::Retry { retry_after: Some(wait), .. }) if wait == outbound::MAX_RETRY_AFTER
            ),
            "{said:?}"
        );
    }
}
