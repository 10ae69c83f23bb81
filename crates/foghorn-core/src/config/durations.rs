//! Every duration the configuration accepts, each between a shortest and a longest value.
//!
//! The longest is there because a duration becomes a time: `after = "100000000y"` once
//! overflowed the clock's arithmetic inside the escalation ladder and stopped it. A value
//! past its bound is a typo far more often than a wish, so it is an error naming the key and
//! its line, not a silent clamp.

use std::time::Duration;

use serde::{de::Error, Deserialize, Deserializer};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// `[[monitors]] interval`: at least a second.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// `[[monitors]] timeout`: anything more than nothing.
pub const MIN_TIMEOUT: Duration = Duration::from_nanos(1);
/// `[[monitors]] heartbeat`: a job pinging more often than this is better polled.
pub const MIN_HEARTBEAT: Duration = Duration::from_secs(10);
/// `[[monitors]] interval`: a check less often than daily is not monitoring.
pub const MAX_INTERVAL: Duration = Duration::from_secs(DAY);
/// `[[monitors]] timeout`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(10 * MINUTE);
/// `[[monitors]] heartbeat`: a yearly job, with room to spare.
pub const MAX_HEARTBEAT: Duration = Duration::from_secs(400 * DAY);
/// `[[monitors]] flap.within`.
pub const MAX_FLAP_WITHIN: Duration = Duration::from_secs(DAY);
/// `[history] keep_raw`: ten years.
pub const MAX_KEEP_RAW: Duration = Duration::from_secs(3650 * DAY);
/// `[[feeds]] poll_every`: a feed read less often than hourly would miss what it is for.
pub const MAX_POLL_EVERY: Duration = Duration::from_secs(HOUR);
/// `[[feeds]] silence_for`.
pub const MAX_SILENCE_FOR: Duration = Duration::from_secs(30 * DAY);
/// `[escalation] online_within`.
pub const MAX_ONLINE_WITHIN: Duration = Duration::from_secs(DAY);
/// `[escalation] handover_after`: an hour without the ladder is already too long.
pub const MAX_HANDOVER_AFTER: Duration = Duration::from_secs(HOUR);
/// `[[escalation.steps]] after`.
pub const MAX_STEP_AFTER: Duration = Duration::from_secs(7 * DAY);
/// `[incidents] retrigger_within`.
pub const MAX_RETRIGGER_WITHIN: Duration = Duration::from_secs(30 * DAY);
/// `[oncall] refresh`.
pub const MAX_REFRESH: Duration = Duration::from_secs(DAY);
/// `[status] next_update`: a promise a day away is no promise.
pub const MAX_NEXT_UPDATE: Duration = Duration::from_secs(DAY);
/// `[status] nudge_after`.
pub const MAX_NUDGE_AFTER: Duration = Duration::from_secs(DAY);
/// `[alarm] escalate_after`.
pub const MAX_ESCALATE_AFTER: Duration = Duration::from_secs(HOUR);

/// A duration as the configuration writes it (`7d`, `1h`, `10m`, `30s`), for messages.
pub fn written(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 if d.is_zero() => "0s".to_owned(),
        0 => format!("{}ms", d.as_millis()),
        s if s % DAY == 0 => format!("{}d", s / DAY),
        s if s % HOUR == 0 => format!("{}h", s / HOUR),
        s if s % MINUTE == 0 => format!("{}m", s / MINUTE),
        s => format!("{s}s"),
    }
}

/// Durations are written the way people say them: `30s`, `5m`, `1h 30m`. Returns the text
/// too, for the message about a value out of bounds.
fn read<'de, D: Deserializer<'de>>(d: D) -> Result<(String, Duration), D::Error> {
    let text = String::deserialize(d)?;
    let value = humantime::parse_duration(&text).map_err(|e| {
        D::Error::custom(format!(
            "invalid duration {text:?} ({e}); write it like \"30s\", \"5m\" or \"1h\""
        ))
    })?;
    Ok((text, value))
}

/// `value` unless it is shorter than `min` (then `too_short`) or longer than `max`. The
/// messages leave the key out: the loader puts the full key (`escalation.steps[0].after`) in
/// front; `name` is for a key inside an inline table, which the loader cannot name.
fn within<E: Error>(
    (text, value): (String, Duration),
    name: Option<&str>,
    (min, too_short): (Duration, &str),
    max: Duration,
) -> Result<Duration, E> {
    if value < min {
        return Err(E::custom(too_short));
    }
    if value > max {
        let name = name.map(|n| format!("`{n}` ")).unwrap_or_default();
        return Err(E::custom(format!(
            "{name}must be at most {}; {text:?} is too long",
            written(max)
        )));
    }
    Ok(value)
}

/// At least one second, the usual minimum.
const ONE_SECOND: (Duration, &str) = (Duration::from_secs(1), "must be at least 1s");
/// No minimum: `0s` means "at once" or "never".
const ANY: (Duration, &str) = (Duration::ZERO, "");

pub fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let at_least = (MIN_INTERVAL, "`interval` must be at least 1s");
    within(read(d)?, None, at_least, MAX_INTERVAL)
}

pub fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let more_than_zero = (MIN_TIMEOUT, "`timeout` must be more than 0s");
    within(read(d)?, None, more_than_zero, MAX_TIMEOUT)
}

pub fn heartbeat<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let at_least = (MIN_HEARTBEAT, "`heartbeat` must be at least 10s");
    within(read(d)?, None, at_least, MAX_HEARTBEAT).map(Some)
}

pub fn flap_within<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let at_least = (Duration::from_secs(1), "`within` must be at least 1s");
    within(read(d)?, Some("within"), at_least, MAX_FLAP_WITHIN)
}

pub fn keep_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ONE_SECOND, MAX_KEEP_RAW)
}

pub fn next_update<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let at_least = (Duration::from_secs(60), "must be at least 1m");
    within(read(d)?, None, at_least, MAX_NEXT_UPDATE)
}

pub fn nudge_after<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ONE_SECOND, MAX_NUDGE_AFTER)
}

pub fn poll_every<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ONE_SECOND, MAX_POLL_EVERY)
}

pub fn silence_for<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ONE_SECOND, MAX_SILENCE_FOR)
}

pub fn online_within<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ONE_SECOND, MAX_ONLINE_WITHIN)
}

pub fn handover_after<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ONE_SECOND, MAX_HANDOVER_AFTER)
}

pub fn step_after<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ANY, MAX_STEP_AFTER)
}

pub fn retrigger_within<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    within(read(d)?, None, ANY, MAX_RETRIGGER_WITHIN)
}

pub fn refresh<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let at_least = (Duration::from_secs(30), "`refresh` must be at least 30s");
    within(read(d)?, None, at_least, MAX_REFRESH)
}

pub fn escalate_after<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let more_than_zero = (
        Duration::from_nanos(1),
        "`escalate_after` must be more than 0s",
    );
    within(read(d)?, None, more_than_zero, MAX_ESCALATE_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn error(text: &str) -> String {
        Config::parse(text, std::path::Path::new("foghorn.toml"))
            .expect_err(text)
            .to_string()
    }

    #[test]
    fn an_escalation_step_after_a_hundred_million_years_is_a_config_error() {
        let err = error(
            "[escalation]\n[[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n\
             [[escalation.steps]]\nafter = \"100000000y\"\naction = \"sms\"\n",
        );
        assert_eq!(
            err,
            "foghorn.toml:6:9: `escalation.steps[1].after`: must be at most 7d; \
             \"100000000y\" is too long"
        );
    }

    #[test]
    fn a_heartbeat_or_online_within_of_a_hundred_million_years_is_a_config_error() {
        assert_eq!(
            error("[[monitors]]\nname = \"backup\"\nheartbeat = \"100000000y\"\n"),
            "foghorn.toml:3:13: `monitors[0].heartbeat`: must be at most 400d; \
             \"100000000y\" is too long"
        );
        assert_eq!(
            error("[escalation]\nonline_within = \"100000000y\"\n"),
            "foghorn.toml:2:17: `escalation.online_within`: must be at most 1d; \
             \"100000000y\" is too long"
        );
    }

    /// Each duration key, one past its bound: the error names the file, the line, the key
    /// and the bound.
    #[test]
    fn every_configured_duration_has_an_upper_bound() {
        let monitor = "[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\n";
        let cases: &[(String, usize, &str)] = &[
            (
                format!("{monitor}interval = \"25h\"\n"),
                4,
                "`monitors[0].interval`: must be at most 1d",
            ),
            (
                format!("{monitor}timeout = \"11m\"\n"),
                4,
                "`monitors[0].timeout`: must be at most 10m",
            ),
            (
                "[[monitors]]\nname = \"job\"\nheartbeat = \"100000000y\"\n".to_owned(),
                3,
                "`monitors[0].heartbeat`: must be at most 400d",
            ),
            (
                format!("{monitor}flap = {{ changes = 3, within = \"2d\" }}\n"),
                4,
                "`within` must be at most 1d",
            ),
            (
                "[history]\nkeep_raw = \"3651d\"\n".to_owned(),
                2,
                "`history.keep_raw`: must be at most 3650d",
            ),
            (
                "[[feeds]]\nkind = \"alertmanager\"\nurl = \"http://x\"\npoll_every = \"61m\"\n"
                    .to_owned(),
                4,
                "`feeds[0].poll_every`: must be at most 1h",
            ),
            (
                "[[feeds]]\nkind = \"alertmanager\"\nurl = \"http://x\"\nsilence_for = \"31d\"\n"
                    .to_owned(),
                4,
                "`feeds[0].silence_for`: must be at most 30d",
            ),
            (
                "[escalation]\nonline_within = \"100000000y\"\n".to_owned(),
                2,
                "`escalation.online_within`: must be at most 1d",
            ),
            (
                "[escalation]\nhandover_after = \"2h\"\n".to_owned(),
                2,
                "`escalation.handover_after`: must be at most 1h",
            ),
            (
                "[escalation]\nhandover_after = \"500ms\"\n".to_owned(),
                2,
                "`escalation.handover_after`: must be at least 1s",
            ),
            (
                "[incidents]\nretrigger_within = \"31d\"\n".to_owned(),
                2,
                "`incidents.retrigger_within`: must be at most 30d",
            ),
            (
                "[oncall]\ncalendar = \"x.ics\"\nrefresh = \"2d\"\n".to_owned(),
                3,
                "`oncall.refresh`: must be at most 1d",
            ),
            (
                "[alarm]\nescalate_after = \"2h\"\n".to_owned(),
                2,
                "`alarm.escalate_after`: must be at most 1h",
            ),
        ];
        for (text, line, needle) in cases {
            let err = error(text);
            assert!(
                err.starts_with(&format!("foghorn.toml:{line}:")),
                "{text:?} → {err}"
            );
            assert!(err.contains(needle), "{text:?} → {err} (wanted {needle:?})");
        }
    }

    /// The bounds themselves are accepted: nobody's working configuration breaks at the edge.
    #[test]
    fn a_duration_at_its_bound_is_accepted() {
        let text = format!(
            "[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\ninterval = \"{}\"\ntimeout = \"{}\"\n\
             flap = {{ changes = 3, within = \"{}\" }}\n\
             [[monitors]]\nname = \"job\"\nheartbeat = \"{}\"\n\
             [[feeds]]\nkind = \"alertmanager\"\nurl = \"http://x\"\npoll_every = \"{}\"\nsilence_for = \"{}\"\n\
             [history]\nkeep_raw = \"{}\"\n[incidents]\nretrigger_within = \"{}\"\n\
             [oncall]\ncalendar = \"x.ics\"\nrefresh = \"{}\"\n[alarm]\nescalate_after = \"{}\"\n\
             [escalation]\nonline_within = \"{}\"\nhandover_after = \"{}\"\n[[escalation.steps]]\nafter = \"{}\"\naction = \"chat\"\n",
            written(MAX_INTERVAL),
            written(MAX_TIMEOUT),
            written(MAX_FLAP_WITHIN),
            written(MAX_HEARTBEAT),
            written(MAX_POLL_EVERY),
            written(MAX_SILENCE_FOR),
            written(MAX_KEEP_RAW),
            written(MAX_RETRIGGER_WITHIN),
            written(MAX_REFRESH),
            written(MAX_ESCALATE_AFTER),
            written(MAX_ONLINE_WITHIN),
            written(MAX_HANDOVER_AFTER),
            written(MAX_STEP_AFTER),
        );
        let config = Config::parse(&text, std::path::Path::new("foghorn.toml")).expect("valid");
        assert_eq!(config.escalation.steps[0].after, MAX_STEP_AFTER);
        assert_eq!(config.escalation.handover_after, MAX_HANDOVER_AFTER);
        assert_eq!(config.monitors[1].heartbeat, Some(MAX_HEARTBEAT));
    }

    #[test]
    fn bounds_are_written_as_the_configuration_writes_them() {
        for (d, text) in [
            (MAX_STEP_AFTER, "7d"),
            (MAX_POLL_EVERY, "1h"),
            (MAX_TIMEOUT, "10m"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(written(d), text);
        }
    }
}
