//! Times computed from durations that came from outside — the configuration, a vendor's
//! `Retry-After`, a row written by an older version — without the panics of `+`.
//!
//! `OffsetDateTime + Duration` and `Instant + Duration` panic when the sum leaves what the
//! type can hold; one huge `Retry-After` once stopped the escalation ladder that way, for
//! good. Here such a sum saturates: a deadline past the end of time is, in effect, never.

use std::time::Duration;

use time::{OffsetDateTime, PrimitiveDateTime};

/// The last instant an [`OffsetDateTime`] can hold (the end of year 9999, UTC), which
/// RFC 3339 can still write and read back.
pub const END_OF_TIME: OffsetDateTime = PrimitiveDateTime::MAX.assume_utc();

/// How far ahead an [`Instant`](tokio::time::Instant) deadline that cannot be held is put
/// instead: thirty years, as tokio does for its own timers.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

/// `t + d`, or [`END_OF_TIME`] when that is later than the clock can hold.
pub fn after(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or(END_OF_TIME)
}

/// `t + d` for a signed duration: saturates at [`END_OF_TIME`] going forward and at the
/// earliest time going back.
pub fn shifted(t: OffsetDateTime, d: time::Duration) -> OffsetDateTime {
    t.checked_add(d).unwrap_or(if d.is_negative() {
        PrimitiveDateTime::MIN.assume_utc()
    } else {
        END_OF_TIME
    })
}

/// `i + d` for a timer, or thirty years from `i` when the sum cannot be held.
pub fn instant_after(i: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    i.checked_add(d)
        .or_else(|| i.checked_add(FAR_FUTURE))
        .unwrap_or(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sums_past_the_end_of_time_saturate_instead_of_panicking() {
        let now = datetime!(2026-12-02 15:00 UTC);
        assert_eq!(
            after(now, Duration::from_secs(90)),
            datetime!(2026-12-02 15:01:30 UTC)
        );
        for huge in [Duration::MAX, Duration::from_secs(100_000_000_000_000)] {
            assert_eq!(after(now, huge), END_OF_TIME);
        }
        assert_eq!(
            shifted(END_OF_TIME, time::Duration::seconds(3)),
            END_OF_TIME
        );
        assert_eq!(
            shifted(now, time::Duration::MIN),
            PrimitiveDateTime::MIN.assume_utc()
        );
        let written = crate::time_fmt::rfc3339(END_OF_TIME);
        assert_eq!(written, "9999-12-31T23:59:59.999Z");
        assert!(crate::time_fmt::parse_rfc3339(&written).is_some());
        let start = tokio::time::Instant::now();
        assert!(instant_after(start, Duration::MAX) > start + Duration::from_secs(86_400));
    }
}
