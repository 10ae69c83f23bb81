//! On-call awareness: who is on call now and next, read from an iCal schedule (PagerDuty,
//! Opsgenie and Grafana OnCall exports, Google and Outlook calendars) or PagerDuty's on-call
//! API, and whether that is the user (`[me] names`). A manual override ("I'm on call until
//! 18:00") wins over the schedule.
//!
//! - `ical`: the calendar parser and the expansion of recurring events over a bounded window;
//! - `schedule`: the shifts and the questions asked of them, and [`OncallStatus`];
//! - `source`: reading a file or fetching a URL with ETag/Last-Modified, the last good copy;
//! - `pagerduty`: the same shifts read from PagerDuty's on-call list instead of (or beside) a
//!   calendar;
//! - `service`: the periodic refresh the app runs, publishing [`OncallStatus`] on a watch
//!   channel.

mod ical;
mod pagerduty;
mod schedule;
mod service;
mod source;

pub use ical::ParseOptions;
pub use pagerduty::{PagerDutyCopy, PagerDutyShifts};
pub use schedule::{OncallStatus, Schedule, Shift, ShiftTimes, SourceStatus};
pub use service::OncallService;
pub use source::{CachedCalendar, CalendarSource, Fetched};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Why a schedule could not be read. Every variant names where the calendar came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OncallError {
    /// The calendar is malformed at this line (1-based) and property.
    #[error("{label}:{line}: {property}{sep}{message}", sep = if property.is_empty() { "" } else { ": " })]
    Invalid {
        label: String,
        line: usize,
        property: String,
        message: String,
    },
    #[error("{label}: not an iCalendar file: {message}")]
    NotCalendar { label: String, message: String },
    /// The file or URL could not be read (unreachable, HTTP error, missing file).
    #[error("{label}: {message}")]
    Fetch { label: String, message: String },
    /// An on-call API answered with something its description does not allow.
    #[error("{label}: {message}")]
    Answer { label: String, message: String },
}

impl OncallError {
    pub(crate) fn invalid(label: &str, line: usize, property: &str, message: &str) -> Self {
        OncallError::Invalid {
            label: label.to_owned(),
            line,
            property: property.to_owned(),
            message: message.to_owned(),
        }
    }

    /// True when the calendar was read but its content is not a usable calendar.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            OncallError::Invalid { .. }
                | OncallError::NotCalendar { .. }
                | OncallError::Answer { .. }
        )
    }
}

/// Someone a shift puts on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub email: Option<String>,
    /// The calendar gave only the address (an `ATTENDEE` without `CN`) and the name was read
    /// from the event's summary: it is shown with the address beside it, so a wrong guess is
    /// plain to see.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub name_from_summary: bool,
}

impl Person {
    /// A name or an email address as written in a summary or description.
    pub(crate) fn from_text(text: &str) -> Self {
        let text = text.trim();
        let email = text
            .trim_start_matches('<')
            .trim_end_matches('>')
            .strip_prefix("mailto:")
            .unwrap_or(text.trim_start_matches('<').trim_end_matches('>'));
        if email.contains('@') && !email.contains(char::is_whitespace) {
            Person {
                name: email.to_owned(),
                email: Some(email.to_owned()),
                name_from_summary: false,
            }
        } else {
            Person {
                name: text.to_owned(),
                email: None,
                name_from_summary: false,
            }
        }
    }

    /// How the app shows this person: the name, or `Carol Jones <carol@example.com>` when the
    /// name was read from the summary (see [`Person::name_from_summary`]).
    pub fn shown(&self) -> String {
        match (&self.email, self.name_from_summary) {
            (Some(email), true) => format!("{} <{email}>", self.name),
            _ => self.name.clone(),
        }
    }

    /// Whether one of the user's identities (names or email addresses) is this person,
    /// ignoring case and surrounding spaces.
    pub fn matches(&self, identity: &str) -> bool {
        let identity = identity.trim();
        !identity.is_empty()
            && (self.name.trim().eq_ignore_ascii_case(identity)
                || self
                    .email
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(identity)))
    }
}

/// The ways a person shown by [`Person::shown`] can be named: the text itself and, for
/// `Name <address>`, the name and the address, so `[me] names` and `[escalation] phones`
/// written with either still find them.
pub fn names_of_shown(shown: &str) -> Vec<&str> {
    let mut names = vec![shown.trim()];
    if let Some((name, rest)) = shown
        .trim()
        .strip_suffix('>')
        .and_then(|s| s.rsplit_once(" <"))
    {
        names.extend(
            [name.trim(), rest.trim()]
                .into_iter()
                .filter(|n| !n.is_empty()),
        );
    }
    names
}

/// `[oncall] calendar` with a relative file path read from the configuration file's directory
/// (URLs and absolute paths as they are).
pub fn resolve_calendar(calendar: &str, config_file: &std::path::Path) -> String {
    let trimmed = calendar.trim();
    let is_url = url::Url::parse(trimmed).is_ok_and(|u| u.scheme().len() > 1);
    let path = std::path::Path::new(trimmed);
    if is_url || path.is_absolute() {
        return trimmed.to_owned();
    }
    match config_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir.join(path).display().to_string(),
        None => trimmed.to_owned(),
    }
}

/// An override's end as the user types it: `none` (clear it), `HH:MM` (the next such local
/// time after `now`) or RFC 3339.
pub fn parse_override(s: &str, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    if let Some(t) = crate::time_fmt::parse_rfc3339(s) {
        return Ok(Some(t));
    }
    let bad = || format!("{s:?} is not a time: write 18:00, an RFC 3339 time, or none");
    let wall = chrono::NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad())?;
    use chrono::TimeZone;
    let now_local = chrono::DateTime::from_timestamp(now.unix_timestamp(), 0)
        .ok_or_else(bad)?
        .with_timezone(&chrono::Local);
    for days in 0..=2 {
        let day = now_local.date_naive() + chrono::Duration::days(days);
        if let Some(t) = chrono::Local
            .from_local_datetime(&day.and_time(wall))
            .earliest()
            .filter(|t| *t > now_local)
        {
            return OffsetDateTime::from_unix_timestamp(t.timestamp())
                .map(Some)
                .map_err(|_| bad());
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn relative_calendar_paths_follow_the_config_file() {
        let config = std::path::Path::new("/etc/foghorn/foghorn.toml");
        assert_eq!(
            resolve_calendar("oncall.ics", config),
            "/etc/foghorn/oncall.ics"
        );
        assert_eq!(
            resolve_calendar("/srv/oncall.ics", config),
            "/srv/oncall.ics"
        );
        assert_eq!(
            resolve_calendar("https://example.com/oncall.ics", config),
            "https://example.com/oncall.ics"
        );
        assert_eq!(
            resolve_calendar("oncall.ics", std::path::Path::new("f.toml")),
            "oncall.ics"
        );
    }

    #[test]
    fn override_times() {
        let now = datetime!(2026-11-26 10:00 UTC);
        assert_eq!(parse_override("none", now), Ok(None));
        assert_eq!(
            parse_override("2026-11-26T18:00:00Z", now),
            Ok(Some(datetime!(2026-11-26 18:00 UTC)))
        );
        let next = parse_override("18:00", now).expect("ok").expect("some");
        assert!(
            next > now && next <= now + time::Duration::days(1),
            "{next}"
        );
        assert!(parse_override("six", now).is_err());
    }
}
