//! Timestamps as they cross the IPC and storage boundaries: RFC 3339 in UTC.

use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Always millisecond precision, so every stored time has the same width. SQLite compares
/// these columns as text (`due_at <= ?`, `ORDER BY next_attempt_at`): with a variable number
/// of fractional digits `…:05.12Z` sorted before `…:05.1Z` and `…:05Z` after `…:05.5Z`, which
/// once sent a ladder's call before its text.
const FIXED: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The earliest and latest times that format in [`FIXED`]'s width (years 0000–9999).
const FIRST: OffsetDateTime = time::macros::datetime!(0000-01-01 00:00:00 UTC);
const LAST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59.999 UTC);

/// `2026-12-02T15:04:05.120Z`: UTC, milliseconds, fixed width (a time before year 0000 is
/// clamped to it, so text order stays time order).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .clamp(FIRST, LAST)
        .format(FIXED)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// `14:05` in the machine's local time zone, for one-line summaries.
pub fn local_hm(t: OffsetDateTime) -> String {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), 0)
        .map(|utc| {
            utc.with_timezone(&chrono::Local)
                .format("%H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_times_sort_as_text_in_time_order() {
        let times = [
            datetime!(2026-12-02 15:04:05 UTC),
            datetime!(2026-12-02 15:04:05.1 UTC),
            datetime!(2026-12-02 15:04:05.12 UTC),
            datetime!(2026-12-02 15:04:05.5 UTC),
            datetime!(2026-12-02 16:04:05 +01:00) + time::Duration::SECOND,
        ];
        let text: Vec<String> = times.iter().map(|t| rfc3339(*t)).collect();
        let mut sorted = text.clone();
        sorted.sort();
        assert_eq!(text, sorted);
        assert!(text.iter().all(|t| t.len() == 24), "{text:?}");
        assert_eq!(text[2], "2026-12-02T15:04:05.120Z");
        assert_eq!(parse_rfc3339(&text[2]), Some(times[2]));
    }

    #[test]
    fn times_beyond_four_digit_years_are_clamped_not_mangled() {
        let first = time::Date::MIN.midnight().assume_utc();
        assert_eq!(rfc3339(first), "0000-01-01T00:00:00.000Z");
        let last = time::Date::MAX.midnight().assume_utc() + time::Duration::hours(23);
        assert_eq!(rfc3339(last), "9999-12-31T23:00:00.000Z");
    }
}
