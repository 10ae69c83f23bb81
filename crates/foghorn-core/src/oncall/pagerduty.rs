//! Shifts read from PagerDuty's on-call list, `GET /oncalls`
//! (<https://developer.pagerduty.com/api-reference/3a6b910f11050-list-all-of-the-on-calls>):
//! the entries of one escalation level over the window a calendar is expanded over, turned
//! into [`Shift`]s, so "am I on call", the reminders before a shift and the hand-off work
//! exactly as they do for a calendar.
//!
//! The last good copy is kept in the database like a calendar's: PagerDuty being unreachable
//! when the laptop wakes must not make its owner "not on call".

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::schedule::{WINDOW_AFTER, WINDOW_BEFORE};
use super::{OncallError, Person, Shift};
use crate::config::FeedConfig;
use crate::feed::pagerduty::{OnCall, PagerDutyFeed};
use crate::feed::FeedError;
use crate::secret::SecretSource;

/// Reads one PagerDuty account's on-call entries for one escalation level.
#[derive(Debug)]
pub struct PagerDutyShifts {
    client: PagerDutyFeed,
    level: u32,
    label: String,
    /// What a kept copy must have been read from to be used: the account and the level.
    key: String,
}

/// One entry kept: who, from when to when, for which escalation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedShift {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub person: Person,
    pub policy: String,
}

/// The shifts of one read, with the window they cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagerDutyCopy {
    /// [`PagerDutyShifts`]'s key: a copy of another account or level is not used.
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    pub shifts: Vec<CopiedShift>,
}

impl PagerDutyCopy {
    /// As the schedule's shifts, by start time.
    pub fn shifts(&self) -> Vec<Shift> {
        self.shifts
            .iter()
            .map(|s| Shift {
                start: s.start,
                end: s.end,
                people: vec![s.person.clone()],
                summary: format!("{} ({})", s.person.name, s.policy),
                description: String::new(),
            })
            .collect()
    }
}

impl PagerDutyShifts {
    /// The feed's REST URL, token and `from`; `level` as in `[oncall] escalation_level`.
    pub fn new(
        feed: &FeedConfig,
        level: u32,
        secrets: &dyn SecretSource,
    ) -> Result<Self, OncallError> {
        let name = feed.name.clone().unwrap_or_else(|| "pagerduty".to_owned());
        let label = format!("PagerDuty on-call ({name})");
        let client =
            PagerDutyFeed::with_secrets(feed, secrets).map_err(|e| OncallError::Fetch {
                label: label.clone(),
                message: e.to_string(),
            })?;
        Ok(PagerDutyShifts {
            client,
            level,
            key: format!("{} level {level}", feed.url.trim_end_matches('/')),
            label,
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The copy key (see [`PagerDutyCopy::source`]).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The PagerDuty user this laptop writes as: one more name for "me".
    pub fn identity(&self) -> Option<&str> {
        self.client.user_email()
    }

    /// Reads the entries from a day before `around` to 35 days after.
    pub async fn fetch(&self, around: OffsetDateTime) -> Result<PagerDutyCopy, OncallError> {
        let around = around.replace_nanosecond(0).unwrap_or(around);
        let (since, until) = (around - WINDOW_BEFORE, around + WINDOW_AFTER);
        let entries = self
            .client
            .oncalls_between(since, until)
            .await
            .map_err(|e| match e {
                FeedError::Malformed { .. } => OncallError::Answer {
                    label: self.label.clone(),
                    message: e.to_string(),
                },
                other => OncallError::Fetch {
                    label: self.label.clone(),
                    message: other.to_string(),
                },
            })?;
        Ok(PagerDutyCopy {
            source: self.key.clone(),
            fetched_at: OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or(around),
            since,
            until,
            shifts: shifts_of(&entries, self.level, since, until),
        })
    }
}

/// The entries of `level` as shifts inside `since..until`, by start time. An entry without a
/// start or end (someone on the escalation policy directly, not through a schedule) is on
/// call for the whole window; an entry that is empty or outside the window is dropped.
pub fn shifts_of(
    entries: &[OnCall],
    level: u32,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Vec<CopiedShift> {
    let mut shifts: Vec<CopiedShift> = entries
        .iter()
        .filter(|e| e.escalation_level.is_none_or(|l| l == i64::from(level)))
        .filter_map(|e| {
            let start = e.start.map_or(since, |s| s.max(since));
            let end = e.end.map_or(until, |t| t.min(until));
            // In UTC, like every time Foghorn shows: PagerDuty answers in the account's zone.
            (start < end).then(|| CopiedShift {
                start: start.to_offset(time::UtcOffset::UTC),
                end: end.to_offset(time::UtcOffset::UTC),
                person: Person {
                    name: e.user.clone(),
                    email: e.email.clone(),
                    name_from_summary: false,
                },
                policy: e.escalation_policy.clone(),
            })
        })
        .collect();
    shifts.sort_by(|a, b| (a.start, &a.person.name).cmp(&(b.start, &b.person.name)));
    // The same person on two policies for the same stretch is one shift.
    shifts.dedup_by(|b, a| a.start == b.start && a.end == b.end && a.person == b.person);
    shifts
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(user: &str, level: Option<i64>, start: Option<&str>, end: Option<&str>) -> OnCall {
        let t = |s: &str| crate::time_fmt::parse_rfc3339(s).expect("time");
        OnCall {
            escalation_policy: "Engineering".to_owned(),
            escalation_level: level,
            user: user.to_owned(),
            email: Some(format!("{}@example.com", user.to_lowercase())),
            start: start.map(t),
            end: end.map(t),
        }
    }

    /// A case: its name, the entries, the level asked for, the shifts wanted (who, start, end).
    type Case = (
        &'static str,
        Vec<OnCall>,
        u32,
        Vec<(&'static str, &'static str, &'static str)>,
    );

    #[test]
    fn entries_become_shifts_of_one_level_inside_the_window() {
        let since = datetime!(2026-12-01 00:00 UTC);
        let until = datetime!(2026-12-31 00:00 UTC);
        let cases: &[Case] = &[
            (
                "level 1 kept, level 2 dropped",
                vec![
                    entry(
                        "Alice",
                        Some(1),
                        Some("2026-12-02T09:00:00Z"),
                        Some("2026-12-03T09:00:00Z"),
                    ),
                    entry(
                        "Bob",
                        Some(2),
                        Some("2026-12-02T09:00:00Z"),
                        Some("2026-12-03T09:00:00Z"),
                    ),
                ],
                1,
                vec![("Alice", "2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z")],
            ),
            (
                "the secondary rota",
                vec![
                    entry(
                        "Alice",
                        Some(1),
                        Some("2026-12-02T09:00:00Z"),
                        Some("2026-12-03T09:00:00Z"),
                    ),
                    entry(
                        "Bob",
                        Some(2),
                        Some("2026-12-02T09:00:00Z"),
                        Some("2026-12-03T09:00:00Z"),
                    ),
                ],
                2,
                vec![("Bob", "2026-12-02T09:00:00Z", "2026-12-03T09:00:00Z")],
            ),
            (
                "permanent entries span the window; partial ones are clipped to it",
                vec![
                    entry("Carol", Some(1), None, None),
                    entry(
                        "Dan",
                        Some(1),
                        Some("2026-11-20T00:00:00Z"),
                        Some("2026-12-01T12:00:00Z"),
                    ),
                ],
                1,
                vec![
                    ("Carol", "2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z"),
                    ("Dan", "2026-12-01T00:00:00Z", "2026-12-01T12:00:00Z"),
                ],
            ),
            (
                "outside the window or empty: dropped",
                vec![
                    entry(
                        "Erin",
                        Some(1),
                        Some("2026-11-01T00:00:00Z"),
                        Some("2026-11-02T00:00:00Z"),
                    ),
                    entry(
                        "Finn",
                        Some(1),
                        Some("2026-12-05T00:00:00Z"),
                        Some("2026-12-05T00:00:00Z"),
                    ),
                ],
                1,
                vec![],
            ),
            (
                "sorted by start; one person on two policies at once is one shift",
                vec![
                    entry(
                        "Gus",
                        Some(1),
                        Some("2026-12-10T00:00:00Z"),
                        Some("2026-12-11T00:00:00Z"),
                    ),
                    entry(
                        "Hana",
                        Some(1),
                        Some("2026-12-09T00:00:00Z"),
                        Some("2026-12-10T00:00:00Z"),
                    ),
                    entry(
                        "Hana",
                        Some(1),
                        Some("2026-12-09T00:00:00Z"),
                        Some("2026-12-10T00:00:00Z"),
                    ),
                    entry(
                        "Ivo",
                        None,
                        Some("2026-12-12T00:00:00Z"),
                        Some("2026-12-13T00:00:00Z"),
                    ),
                ],
                1,
                vec![
                    ("Hana", "2026-12-09T00:00:00Z", "2026-12-10T00:00:00Z"),
                    ("Gus", "2026-12-10T00:00:00Z", "2026-12-11T00:00:00Z"),
                    ("Ivo", "2026-12-12T00:00:00Z", "2026-12-13T00:00:00Z"),
                ],
            ),
        ];
        for (name, entries, level, want) in cases {
            let got: Vec<(String, OffsetDateTime, OffsetDateTime)> =
                shifts_of(entries, *level, since, until)
                    .into_iter()
                    .map(|s| (s.person.name, s.start, s.end))
                    .collect();
            let t = |s: &str| crate::time_fmt::parse_rfc3339(s).expect("time");
            let want: Vec<(String, OffsetDateTime, OffsetDateTime)> = want
                .iter()
                .map(|(a, b, c)| ((*a).to_owned(), t(b), t(c)))
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn a_copy_reads_as_shifts_with_the_person_and_policy() {
        let copy = PagerDutyCopy {
            source: "http://x level 1".to_owned(),
            fetched_at: datetime!(2026-12-01 00:00 UTC),
            since: datetime!(2026-11-30 00:00 UTC),
            until: datetime!(2027-01-05 00:00 UTC),
            shifts: shifts_of(
                &[entry(
                    "Alice",
                    Some(1),
                    Some("2026-12-02T09:00:00Z"),
                    Some("2026-12-03T09:00:00Z"),
                )],
                1,
                datetime!(2026-11-30 00:00 UTC),
                datetime!(2027-01-05 00:00 UTC),
            ),
        };
        let shifts = copy.shifts();
        assert_eq!(shifts.len(), 1);
        assert!(shifts[0].is_for(&["alice@example.com".to_owned()]));
        assert_eq!(shifts[0].summary, "Alice (Engineering)");
        assert!(shifts[0].covers(datetime!(2026-12-02 10:00 UTC)));
    }
}
