//! What every HTTP channel shares: a client of [`crate::http`] (timeouts, redirects within
//! the same origin only, answers up to [`MAX_REPLY`]), secrets, and the one mapping of an
//! exchange's failure onto a [`DeliveryError`].
//!
//! The rule, for every vendor: connection errors, timeouts, 408, 429 and 5xx are worth
//! retrying, after the vendor's `Retry-After` when it gave one (at most
//! [`crate::http::MAX_RETRY_AFTER`]); any other 4xx is permanent and quotes what the vendor
//! said. Request errors never show the URL (a Slack webhook URL is a secret).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::http::{self, HttpError};
use crate::secret::{SecretRef, SecretSource, SystemSecrets};

use super::{Channel, DeliveryError};

pub(crate) use crate::http::Answer;

/// The whole request, answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
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
    pub client: http::Client,
    pub secrets: Secrets,
}

impl Default for Http {
    fn default() -> Self {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }
}

impl Http {
    pub fn with_timeout(timeout: Duration) -> Self {
        let client = http::Client::builder(timeout)
            .max_body(MAX_REPLY)
            .build()
            // Building fails only when the TLS backend cannot start, which with rustls and
            // bundled roots does not happen (and the default client would then fail the same).
            .unwrap_or_else(|_| http::Client::wrap(reqwest::Client::default(), timeout, MAX_REPLY));
        Http {
            client,
            secrets: Secrets::default(),
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
        self.client
            .send(request)
            .await
            .map_err(|e| delivery_error(channel, what, e))
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

/// The one mapping of an exchange's failure onto a delivery's: what is worth retrying
/// ([`HttpError::worth_retrying`]) is retried after the vendor's `Retry-After`; a redirect
/// that was not followed asks for the URL to be updated; a body too large names the status
/// it came with (whether the vendor took the message is then unknown).
pub(crate) fn delivery_error(channel: Channel, what: &str, e: HttpError) -> DeliveryError {
    let message = match &e {
        HttpError::Status {
            redirected: true, ..
        } => format!("{what}: {e}; update the URL"),
        HttpError::TooLarge { status, .. } => format!("{what}: HTTP {status}: {e}"),
        _ => format!("{what}: {e}"),
    };
    if e.worth_retrying() {
        retry(channel, message, e.retry_after())
    } else {
        permanent(channel, message)
    }
}

/// 2xx passes; 408, 429 and 5xx are retried; any other status is permanent. The message
/// quotes the vendor's own error text.
pub(crate) fn check_status(
    channel: Channel,
    what: &str,
    answer: &Answer,
) -> Result<(), DeliveryError> {
    answer.check().map_err(|e| delivery_error(channel, what, e))
}

/// The body of a 2xx answer as JSON; anything else is worth a retry (a proxy's error page,
/// an answer cut short).
pub(crate) fn json_answer(
    channel: Channel,
    what: &str,
    answer: &Answer,
) -> Result<serde_json::Value, DeliveryError> {
    answer
        .json()
        .map_err(|e| retry(channel, format!("{what}: unexpected answer: {e}"), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
    use reqwest::StatusCode;

    fn answer(status: u16, body: &str, retry: Option<&str>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(r) = retry {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(r).expect("header"));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers,
            body: body.as_bytes().to_vec(),
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
    fn failures_before_a_status_are_retried_and_name_what_was_sent() {
        let c = Channel::Webhook;
        let cases: Vec<(HttpError, DeliveryError)> = vec![
            (
                HttpError::Timeout {
                    after: Duration::from_millis(500),
                },
                retry(c, "webhook: timed out after 500ms", None),
            ),
            (
                HttpError::Connect {
                    cause: "Connection refused".into(),
                },
                retry(c, "webhook: cannot connect: Connection refused", None),
            ),
            (
                HttpError::Request {
                    cause: "relative URL without a base".into(),
                },
                permanent(c, "webhook: relative URL without a base"),
            ),
            (
                HttpError::TooLarge {
                    status: StatusCode::OK,
                    limit: MAX_REPLY,
                    retry_after: None,
                },
                permanent(
                    c,
                    "webhook: HTTP 200 OK: the answer is larger than 1 MiB (not read)",
                ),
            ),
            (
                HttpError::TooLarge {
                    status: StatusCode::BAD_GATEWAY,
                    limit: MAX_REPLY,
                    retry_after: Some(Duration::from_secs(3)),
                },
                retry(
                    c,
                    "webhook: HTTP 502 Bad Gateway: the answer is larger than 1 MiB (not read)",
                    Some(Duration::from_secs(3)),
                ),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(delivery_error(c, "webhook", e), want);
        }
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
                Err(DeliveryError::Retry { retry_after: Some(wait), .. }) if wait == http::MAX_RETRY_AFTER
            ),
            "{said:?}"
        );
    }
}
