//! The one HTTP client layer for requests that carry a secret: feeds (Alertmanager, Datadog,
//! PagerDuty, Honeybadger, JSON), the ladder's channels (Slack, Twilio, PagerDuty Events,
//! signed webhooks) and on-call calendars. Vendors are thin adapters over it; what they must
//! not each get a little differently lives here:
//!
//! - redirects: followed only to the same scheme, host and port, and without a `Referer`.
//!   reqwest's default follows ten redirects to any host and strips only `Authorization` and
//!   cookies on the way, so Datadog's `DD-API-KEY`, a calendar's secret URL or a webhook's
//!   signature would reach whoever the first server redirected to;
//! - `Retry-After`: read as seconds or an HTTP date and clamped to [`MAX_RETRY_AFTER`], since
//!   the engine adds it to the clock (`Retry-After: 100000000000000` overflowed the ladder);
//! - answers are read up to a cap, so a wrong URL pointing at a huge file is an error, not a
//!   memory spike.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};

/// The longest wait a vendor's `Retry-After` is honoured for. A longer one is read as this:
/// an hour of silence is already worth an incident, and no wait may overflow a clock.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// Redirects followed in a row (within one origin) before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// A reqwest client for requests that carry a secret: `timeout` for the whole exchange,
/// `connect_timeout` to open the connection, redirects only within the same origin (see the
/// module's docs), no `Referer`, and Foghorn's user agent.
///
/// A redirect elsewhere is not an error here: the caller gets the 3xx answer itself and says
/// where it pointed with [`refused_redirect`].
pub fn client(timeout: Duration, connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(same_origin_redirects())
        .referer(false)
        .timeout(timeout)
        .connect_timeout(connect_timeout.min(timeout))
        .user_agent(concat!("foghorn/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn same_origin_redirects() -> Policy {
    Policy::custom(|attempt| {
        let next = attempt.url();
        let same_origin = attempt.previous().first().is_some_and(|first| {
            first.scheme() == next.scheme()
                && first.host_str() == next.host_str()
                && first.port_or_known_default() == next.port_or_known_default()
        });
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// For a 3xx answer the client did not follow: "redirected to https://other.example:8443
/// (only redirects to the same scheme, host and port are followed)". Only the target's
/// origin is shown: its path or query may carry a token.
pub fn refused_redirect(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
        return None;
    }
    let to = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
        .map_or_else(
            || "another address".to_owned(),
            |u| u.origin().ascii_serialization(),
        );
    Some(format!(
        "redirected to {to} (only redirects to the same scheme, host and port are followed)"
    ))
}

/// `Retry-After` as seconds or as an HTTP date (relative to `now`), at most
/// [`MAX_RETRY_AFTER`]; `None` when absent or unreadable. A date in the past is zero.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is still "very long", not "unreadable".
        value
            .parse::<u64>()
            .map_or(MAX_RETRY_AFTER, Duration::from_secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// What went wrong before a whole answer, in a few words: "timed out after 10s", "cannot
/// connect: Connection refused", "the answer broke off: …", else the innermost cause rather
/// than reqwest's nested chain. Never the URL: its query or path may be the secret.
pub fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let mut last = match e.url() {
        Some(url) => e.to_string().replace(url.as_str(), "…"),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    if e.is_connect() {
        format!("cannot connect: {last}")
    } else if e.is_body() || e.is_decode() {
        format!("the answer broke off: {last}")
    } else {
        last
    }
}

/// Why an answer's body was not read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {} (not read)", size(*.limit))]
    TooLarge { limit: usize },
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// The answer's body, at most `limit` bytes: a larger one (by `Content-Length` or as it
/// streams in) stops reading and is [`BodyError::TooLarge`].
pub async fn read_capped(mut response: Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// "8 MiB", "512 KiB" for messages.
fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with_retry_after(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
        assert_eq!(
            retry_after(&with_retry_after("120"), now),
            Some(Duration::from_secs(120))
        );
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            retry_after(&with_retry_after("Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&with_retry_after("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&with_retry_after("soon"), now), None);
    }

    #[test]
    fn a_retry_after_of_a_hundred_trillion_seconds_is_clamped_to_an_hour() {
        let now = SystemTime::now();
        for huge in [
            "100000000000000",
            "18446744073709551615",
            "99999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            let wait = retry_after(&with_retry_after(huge), now);
            assert_eq!(wait, Some(MAX_RETRY_AFTER), "{huge}");
            // What the ladder and the feeds do with it must not overflow.
            let _ = time::OffsetDateTime::now_utc()
                + time::Duration::try_from(wait.unwrap_or_default()).expect("fits");
        }
    }

    #[test]
    fn a_refused_redirect_names_only_the_targets_origin() {
        let mut h = HeaderMap::new();
        h.insert(
            LOCATION,
            HeaderValue::from_static("http://127.0.0.1:9/cal.ics?token=s3cret"),
        );
        let said = refused_redirect(StatusCode::FOUND, &h).expect("a redirect");
        assert!(said.contains("http://127.0.0.1:9"), "{said}");
        assert!(!said.contains("s3cret"), "{said}");
        assert_eq!(refused_redirect(StatusCode::NOT_MODIFIED, &h), None);
        assert_eq!(refused_redirect(StatusCode::OK, &h), None);
        assert_eq!(size(8 << 20), "8 MiB");
        assert_eq!(size(1 << 20), "1 MiB");
    }
}
