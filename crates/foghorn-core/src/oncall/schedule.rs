//! The shifts of a schedule and the questions the app asks of them.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use ts_rs::TS;

use super::ical::{self, ParseOptions};
use super::{OncallError, Person};

/// One stretch of time with the people on call for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub people: Vec<Person>,
    pub summary: String,
    pub description: String,
}

impl Shift {
    pub fn covers(&self, t: OffsetDateTime) -> bool {
        self.start <= t && t < self.end
    }

    /// The people as shown ([`Person::shown`]), or the summary when no one could be read
    /// from the event.
    pub fn names(&self) -> Vec<String> {
        if self.people.is_empty() {
            vec![self.summary.clone()]
        } else {
            self.people.iter().map(Person::shown).collect()
        }
    }

    /// Whether the user is on this shift: one of `identities` is one of its people (name or
    /// email, ignoring case), or appears as whole words in its summary or description.
    pub fn is_for(&self, identities: &[String]) -> bool {
        identities.iter().any(|id| {
            self.people.iter().any(|p| p.matches(id))
                || contains_words(&self.summary, id)
                || contains_words(&self.description, id)
        })
    }
}

/// `needle` in `haystack`, ignoring case, not inside a longer word.
fn contains_words(haystack: &str, needle: &str) -> bool {
    let needle = needle.trim().to_lowercase();
    if needle.is_empty() {
        return false;
    }
    let hay = haystack.to_lowercase();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '@' || c == '.');
    let mut from = 0;
    while let Some(i) = hay[from..].find(&needle) {
        let at = from + i;
        let before = hay[..at].chars().next_back();
        let after = hay[at + needle.len()..].chars().next();
        // A full stop after a name ends a sentence; before one it is part of an address.
        let after_is_word = after.is_some_and(|c| c.is_alphanumeric() || c == '@');
        if !is_word(before) && !after_is_word {
            return true;
        }
        from = at + needle.len().max(1);
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// A calendar read and expanded over a window of time.
#[derive(Debug, Clone)]
pub struct Schedule {
    label: String,
    shifts: Vec<Shift>,
    window: (OffsetDateTime, OffsetDateTime),
    warnings: Vec<String>,
}

/// How far before and after "now" recurring events are expanded.
pub const WINDOW_BEFORE: Duration = Duration::days(1);
pub const WINDOW_AFTER: Duration = Duration::days(35);

fn to_chrono(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), 0).unwrap_or_default()
}

fn to_time(t: chrono::DateTime<chrono::Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.timestamp()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl ParseOptions {
    /// A window from a day before `at` to 35 days after, floating times in the machine's zone.
    pub fn around(at: OffsetDateTime) -> Self {
        ParseOptions {
            window_start: to_chrono(at - WINDOW_BEFORE),
            window_end: to_chrono(at + WINDOW_AFTER),
            floating: None,
        }
    }
}

impl Schedule {
    /// Reads `text` (named `source_label` in errors) around the current time.
    pub fn parse(text: &str, source_label: &str) -> Result<Self, OncallError> {
        Self::parse_with(
            text,
            source_label,
            &ParseOptions::around(OffsetDateTime::now_utc()),
        )
    }

    pub fn parse_with(
        text: &str,
        source_label: &str,
        options: &ParseOptions,
    ) -> Result<Self, OncallError> {
        let parsed = ical::parse(text, source_label, options)?;
        Ok(Schedule {
            label: source_label.to_owned(),
            shifts: parsed
                .shifts
                .into_iter()
                .map(|s| Shift {
                    start: to_time(s.start),
                    end: to_time(s.end),
                    people: s.people,
                    summary: s.summary,
                    description: s.description,
                })
                .collect(),
            window: (to_time(options.window_start), to_time(options.window_end)),
            warnings: parsed.warnings,
        })
    }

    /// Shifts read from elsewhere (PagerDuty's on-call list) over `window`.
    pub fn from_shifts(
        label: &str,
        shifts: Vec<Shift>,
        window: (OffsetDateTime, OffsetDateTime),
    ) -> Self {
        let mut schedule = Schedule {
            label: label.to_owned(),
            shifts,
            window,
            warnings: Vec::new(),
        };
        schedule.shifts.sort_by_key(|s| s.start);
        schedule
    }

    /// This schedule and `other` as one: both sources' shifts, by start time, over the time
    /// both cover.
    pub fn merged(&self, other: &Schedule) -> Self {
        let mut shifts = self.shifts.clone();
        shifts.extend(other.shifts.iter().cloned());
        let window = (
            self.window.0.max(other.window.0),
            self.window.1.min(other.window.1),
        );
        Schedule::from_shifts(&format!("{} + {}", self.label, other.label), shifts, window)
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// Every shift in the window, by start time.
    pub fn shifts(&self) -> &[Shift] {
        &self.shifts
    }

    /// Things read with a guess (e.g. an unknown time zone), for a log line.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether `t` is inside the expanded window (with a day of margin at its end, so
    /// "next shift" still has something to look at).
    pub fn covers(&self, t: OffsetDateTime) -> bool {
        self.window.0 <= t && t + Duration::days(1) < self.window.1
    }

    pub fn on_call_at(&self, t: OffsetDateTime) -> Vec<&Shift> {
        self.shifts.iter().filter(|s| s.covers(t)).collect()
    }

    pub fn is_me(&self, shift: &Shift, identities: &[String]) -> bool {
        shift.is_for(identities)
    }

    /// The user's first shift starting after `after`.
    pub fn next_shift_for(&self, identities: &[String], after: OffsetDateTime) -> Option<Shift> {
        self.shifts
            .iter()
            .find(|s| s.start > after && s.is_for(identities))
            .cloned()
    }

    /// When the user's cover that includes `t` ends, following back-to-back shifts; `None`
    /// when they are not on call at `t`.
    pub fn on_call_until(
        &self,
        identities: &[String],
        t: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let mine: Vec<&Shift> = self
            .shifts
            .iter()
            .filter(|s| s.is_for(identities))
            .collect();
        let mut until = mine.iter().filter(|s| s.covers(t)).map(|s| s.end).max()?;
        loop {
            let further = mine
                .iter()
                .filter(|s| s.start <= until && s.end > until)
                .map(|s| s.end)
                .max();
            match further {
                Some(end) => until = end,
                None => return Some(until),
            }
        }
    }
}

/// A shift's times, for the window and `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ShiftTimes {
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub end: OffsetDateTime,
}

/// Where the schedule came from and how fresh the copy in use is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SourceStatus {
    /// The file path or URL.
    pub label: String,
    /// When the copy in use was last fetched (or confirmed unchanged).
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub fetched_at: Option<OffsetDateTime>,
    /// Seconds since `fetched_at`.
    #[ts(type = "number | null")]
    pub age_secs: Option<u64>,
    /// The last refresh failed: the copy in use is an older one (or there is none).
    pub stale: bool,
    /// Why the last refresh failed.
    pub error: Option<String>,
}

/// Whether the user is on call, as the tray, the window and `foghorn oncall` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OncallStatus {
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    pub you_are_on_call: bool,
    /// The end of the user's current cover (schedule or override).
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub until: Option<OffsetDateTime>,
    /// The user's next shift after `at`.
    pub next_shift: Option<ShiftTimes>,
    /// The people the schedule has on call at `at`.
    pub on_call_now: Vec<String>,
    /// A manual override in force at `at`.
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub override_until: Option<OffsetDateTime>,
    pub source: SourceStatus,
}

impl OncallStatus {
    /// The status at `at` from a schedule (if any copy was ever read), the user's identities
    /// and a manual override.
    pub fn compute(
        schedule: Option<&Schedule>,
        identities: &[String],
        at: OffsetDateTime,
        override_until: Option<OffsetDateTime>,
        source: SourceStatus,
    ) -> Self {
        let override_until = override_until.filter(|u| *u > at);
        let scheduled_until = schedule.and_then(|s| s.on_call_until(identities, at));
        let until = match (scheduled_until, override_until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut on_call_now = Vec::new();
        if let Some(s) = schedule {
            for shift in s.on_call_at(at) {
                for name in shift.names() {
                    if !on_call_now.contains(&name) {
                        on_call_now.push(name);
                    }
                }
            }
        }
        let next_shift = schedule
            .and_then(|s| s.next_shift_for(identities, until.unwrap_or(at)))
            .map(|s| ShiftTimes {
                start: s.start,
                end: s.end,
            });
        OncallStatus {
            at,
            you_are_on_call: until.is_some(),
            until,
            next_shift,
            on_call_now,
            override_until,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn shift(who: &str, start: OffsetDateTime, end: OffsetDateTime) -> Shift {
        Shift {
            start,
            end,
            people: vec![Person::from_text(who)],
            summary: String::new(),
            description: String::new(),
        }
    }

    /// A calendar and PagerDuty together: both sources' shifts count, in start order, so a
    /// back-to-back hand-over from one source to the other is followed.
    #[test]
    fn two_sources_merge_into_one_schedule() {
        let window = (
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2027-01-01 00:00 UTC),
        );
        let calendar = Schedule::from_shifts(
            "oncall.ics",
            vec![shift(
                "Alice",
                datetime!(2026-12-02 09:00 UTC),
                datetime!(2026-12-03 09:00 UTC),
            )],
            window,
        );
        let pagerduty = Schedule::from_shifts(
            "PagerDuty",
            vec![
                shift(
                    "Alice",
                    datetime!(2026-12-03 09:00 UTC),
                    datetime!(2026-12-04 09:00 UTC),
                ),
                shift(
                    "Bob",
                    datetime!(2026-12-01 09:00 UTC),
                    datetime!(2026-12-02 09:00 UTC),
                ),
            ],
            (window.0, datetime!(2026-12-20 00:00 UTC)),
        );
        let both = calendar.merged(&pagerduty);
        assert_eq!(both.label(), "oncall.ics + PagerDuty");
        let starts: Vec<_> = both.shifts().iter().map(|s| s.start).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
        let me = ["Alice".to_owned()];
        assert_eq!(
            both.on_call_until(&me, datetime!(2026-12-02 10:00 UTC)),
            Some(datetime!(2026-12-04 09:00 UTC))
        );
        assert!(both.covers(datetime!(2026-12-10 00:00 UTC)));
        assert!(!both.covers(datetime!(2026-12-25 00:00 UTC)));
    }

    #[test]
    fn words_not_parts_of_words() {
        assert!(contains_words("Primary: Alice Smith.", "alice smith"));
        assert!(contains_words(
            "alice@example.com covers",
            "Alice@Example.com"
        ));
        assert!(!contains_words("Malice Smithers", "alice smith"));
        assert!(!contains_words(
            "bob.alice@example.com",
            "alice@example.com"
        ));
        assert!(!contains_words("anything", "  "));
    }
}
