//! Mute: the user's "not now". Stored, so a restart does not unmute behind their back.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use ts_rs::TS;

/// What the user picked in the tray or window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum MuteChoice {
    Off,
    OneHour,
    FourHours,
    EightHours,
    Indefinite,
}

/// The mute in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum Mute {
    Off,
    Until {
        #[serde(with = "time::serde::rfc3339")]
        #[ts(type = "string")]
        until: OffsetDateTime,
    },
    Indefinite,
}

impl Mute {
    pub fn from_choice(choice: MuteChoice, now: OffsetDateTime) -> Self {
        let hours = |h| Mute::Until {
            until: now + Duration::hours(h),
        };
        match choice {
            MuteChoice::Off => Mute::Off,
            MuteChoice::OneHour => hours(1),
            MuteChoice::FourHours => hours(4),
            MuteChoice::EightHours => hours(8),
            MuteChoice::Indefinite => Mute::Indefinite,
        }
    }

    /// Whether notifications are silenced at `now`; an expired mute is simply off.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        match self {
            Mute::Off => false,
            Mute::Until { until } => now < *until,
            Mute::Indefinite => true,
        }
    }

    /// The mute as it stands at `now`: an expired one reads as off.
    pub fn current(self, now: OffsetDateTime) -> Self {
        if self.is_active(now) {
            self
        } else {
            Mute::Off
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn choices_become_deadlines_and_expire() {
        let now = datetime!(2026-01-01 12:00 UTC);
        let m = Mute::from_choice(MuteChoice::FourHours, now);
        assert_eq!(
            m,
            Mute::Until {
                until: datetime!(2026-01-01 16:00 UTC)
            }
        );
        assert!(m.is_active(datetime!(2026-01-01 15:59 UTC)));
        assert!(!m.is_active(datetime!(2026-01-01 16:00 UTC)));
        assert_eq!(m.current(datetime!(2026-01-01 17:00 UTC)), Mute::Off);
        assert!(Mute::from_choice(MuteChoice::Indefinite, now)
            .is_active(datetime!(2099-01-01 0:00 UTC)));
        assert!(!Mute::from_choice(MuteChoice::Off, now).is_active(now));
    }
}
