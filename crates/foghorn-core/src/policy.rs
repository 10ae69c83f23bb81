//! Who gets woken: the person on call gets a loud alert for anything major, everyone else a
//! quiet notification or nothing. Kept pure so every combination is a table test.

use std::fmt;

use time::OffsetDateTime;

use crate::config::{NotificationConfig, OffCallNotifications};
use crate::incident::Severity;
use crate::oncall::{OncallService, OncallStatus};

/// Whether the user is on call at a moment: the schedule, or their own "I'm on call until".
pub trait OnCall: Send + Sync + fmt::Debug {
    fn on_call(&self, at: OffsetDateTime) -> bool;

    /// The whole picture (until when, next shift, the calendar's age), when there is one.
    fn status(&self, _at: OffsetDateTime) -> Option<OncallStatus> {
        None
    }

    /// Changes to [`OnCall::status`], for the window and the shift reminders.
    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<OncallStatus>> {
        None
    }
}

impl OnCall for OncallService {
    fn on_call(&self, at: OffsetDateTime) -> bool {
        OncallService::status(self, at).you_are_on_call
    }

    fn status(&self, at: OffsetDateTime) -> Option<OncallStatus> {
        Some(OncallService::status(self, at))
    }

    fn subscribe(&self) -> Option<tokio::sync::watch::Receiver<OncallStatus>> {
        Some(OncallService::subscribe(self))
    }
}

/// No schedule configured: nobody is paged loudly, everyone is told quietly.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSchedule;

impl OnCall for NoSchedule {
    fn on_call(&self, _: OffsetDateTime) -> bool {
        false
    }
}

/// How a new incident reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A critical notification with Acknowledge and Snooze, the alarm, the window raised.
    Loud,
    /// An ordinary notification.
    Quiet,
    /// Nothing but the tray and the window.
    Silent,
}

/// What is true when an incident opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    pub severity: Severity,
    pub on_call: bool,
    pub muted: bool,
}

pub fn decide(config: &NotificationConfig, s: Situation) -> Delivery {
    if !config.enabled {
        return Delivery::Silent;
    }
    let pages = s.on_call && s.severity >= Severity::Major;
    if s.muted {
        // Mute silences everything but the one thing the person on call must not miss.
        let breaks_through =
            pages && s.severity == Severity::Critical && config.critical_overrides_mute;
        return if breaks_through {
            Delivery::Loud
        } else {
            Delivery::Silent
        };
    }
    if pages {
        Delivery::Loud
    } else if s.on_call {
        Delivery::Quiet
    } else {
        match config.when_not_on_call {
            OffCallNotifications::Quiet => Delivery::Quiet,
            OffCallNotifications::None => Delivery::Silent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Delivery::{Loud, Quiet, Silent};
    use Severity::{Critical, Info, Major, Minor};

    #[test]
    fn the_person_on_call_is_paged_everyone_else_is_told_quietly() {
        let config = NotificationConfig::default();
        let none = NotificationConfig {
            when_not_on_call: OffCallNotifications::None,
            ..NotificationConfig::default()
        };
        let no_override = NotificationConfig {
            critical_overrides_mute: false,
            ..NotificationConfig::default()
        };
        let off = NotificationConfig {
            enabled: false,
            ..NotificationConfig::default()
        };
        let cases = [
            // (config, severity, on call, muted) → delivery
            (&config, Critical, true, false, Loud),
            (&config, Major, true, false, Loud),
            (&config, Minor, true, false, Quiet),
            (&config, Info, true, false, Quiet),
            (&config, Critical, false, false, Quiet),
            (&none, Critical, false, false, Silent),
            (&config, Critical, true, true, Loud),
            (&config, Major, true, true, Silent),
            (&config, Critical, false, true, Silent),
            (&no_override, Critical, true, true, Silent),
            (&off, Critical, true, false, Silent),
        ];
        for (config, severity, on_call, muted, want) in cases {
            let got = decide(
                config,
                Situation {
                    severity,
                    on_call,
                    muted,
                },
            );
            assert_eq!(got, want, "{severity:?} on_call={on_call} muted={muted}");
        }
    }
}
