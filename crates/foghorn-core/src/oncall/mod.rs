//! On-call awareness: who is on call now and next, read from an iCal schedule (PagerDuty,
//! Opsgenie and Grafana OnCall exports, Google and Outlook calendars), and whether that is the
//! user (`[me] names`). A manual override ("I'm on call until 18:00") wins over the schedule.
//!
//! - `ical`: the calendar parser and the expansion of recurring events over a bounded window;
//! - `schedule`: the shifts and the questions asked of them, and [`OncallStatus`];
//! - `source`: reading a file or fetching a URL with ETag/Last-Modified, the last good copy;
//! - `service`: the periodic refresh the app runs, publishing [`OncallStatus`] on a watch
//!   channel.

mod ical;
mod schedule;
mod service;
mod source;

pub use ical::ParseOptions;
pub use schedule::{OncallStatus, Schedule, Shift, ShiftTimes, SourceStatus};
pub use service::OncallService;
pub use source::{CachedCalendar, CalendarSource, Fetched};

use serde::{Deserialize, Serialize};

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
            OncallError::Invalid { .. } | OncallError::NotCalendar { .. }
        )
    }
}

/// Someone a shift puts on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub email: Option<String>,
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
            }
        } else {
            Person {
                name: text.to_owned(),
                email: None,
            }
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
