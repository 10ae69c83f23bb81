//! `Retry-After` (RFC 9110 §10.2.3): a number of seconds or an HTTP date. Vendors send it with
//! 429 and 503; the ladder, the outbox and the feeds add it to the clock, so it is clamped
//! here, at the edge, before anything does arithmetic with it.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait a vendor's `Retry-After` is honoured for. A longer one is read as this:
/// an hour of silence is already worth an incident, and no wait may overflow a clock.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// The `Retry-After` header of `headers`, read by [`parse_retry_after`].
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// A `Retry-After` value as seconds or as an HTTP date (relative to `now`), at most
/// [`MAX_RETRY_AFTER`]; `None` when unreadable. A date in the past is zero; more seconds than
/// a `u64` holds is still "very long", not "unreadable".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        value
            .parse::<u64>()
            .map_or(MAX_RETRY_AFTER, Duration::from_secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_clamps_both() {
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let hour = Some(MAX_RETRY_AFTER);
        let cases: &[(&str, Option<Duration>)] = &[
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            ("3600", hour),
            ("3601", hour),
            ("100000000000000", hour),
            ("18446744073709551615", hour),
            ("99999999999999999999999999", hour),
            (
                "Sun, 06 Nov 1994 08:50:07 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Sun, 06 Nov 1994 08:00:00 GMT", Some(Duration::ZERO)),
            ("Fri, 31 Dec 9999 23:59:59 GMT", hour),
            ("soon", None),
            ("-5", None),
            ("1.5", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(parse_retry_after(value, now), *want, "{value:?}");
        }
    }

    #[test]
    fn a_retry_after_of_a_hundred_trillion_seconds_is_clamped_to_an_hour() {
        let now = SystemTime::now();
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("100000000000000"));
        let wait = retry_after(&headers, now);
        assert_eq!(wait, Some(MAX_RETRY_AFTER));
        // What the ladder and the feeds do with it must not overflow.
        let _ = time::OffsetDateTime::now_utc()
            + time::Duration::try_from(wait.unwrap_or_default()).expect("fits");
    }
}
