//! How fast letters leave: a number a second and, optionally, a number an hour, as mail
//! providers cap both (a new sending domain that bursts 800 letters in a minute lands in spam).

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// Letters a second and an hour; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: Option<f64>,
    pub per_hour: Option<u32>,
}

impl Default for Rate {
    /// Ten a second: gentle on a shared SMTP relay, and 800 letters in under a minute and a half.
    fn default() -> Self {
        Rate {
            per_second: Some(10.0),
            per_hour: None,
        }
    }
}

impl Rate {
    pub const UNLIMITED: Rate = Rate {
        per_second: None,
        per_hour: None,
    };

    /// `"10/s"`, `"2000/h"`, `"10/s, 2000/h"`, `"0.5/s"` or `"off"`.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("unlimited") {
            return Ok(Rate::UNLIMITED);
        }
        let mut rate = Rate::UNLIMITED;
        for part in text.split(',') {
            let part = part.trim();
            let bad = || {
                format!("{part:?} is not a rate: write e.g. \"10/s\", \"2000/h\", \"10/s, 2000/h\" or \"off\"")
            };
            let (number, unit) = part.split_once('/').ok_or_else(bad)?;
            let number = number.trim();
            match unit.trim() {
                "s" | "sec" | "second" => {
                    let n: f64 = number.parse().map_err(|_| bad())?;
                    if !(n.is_finite() && n > 0.0) || rate.per_second.is_some() {
                        return Err(bad());
                    }
                    rate.per_second = Some(n);
                }
                "h" | "hour" => {
                    let n: u32 = number.parse().map_err(|_| bad())?;
                    if n == 0 || rate.per_hour.is_some() {
                        return Err(bad());
                    }
                    rate.per_hour = Some(n);
                }
                _ => return Err(bad()),
            }
        }
        Ok(rate)
    }

    /// The time `left` letters take at this rate, when the rate is what limits them.
    pub fn time_for(&self, left: u64) -> Option<Duration> {
        let by_second = self
            .per_second
            .map(|r| Duration::from_secs_f64(left as f64 / r));
        let by_hour = self
            .per_hour
            .map(|r| Duration::from_secs_f64(left as f64 * 3600.0 / f64::from(r)));
        match (by_second, by_hour) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.per_second, self.per_hour) {
            (None, None) => write!(f, "no limit"),
            (Some(s), None) => write!(f, "{s}/s"),
            (None, Some(h)) => write!(f, "{h}/h"),
            (Some(s), Some(h)) => write!(f, "{s}/s, {h}/h"),
        }
    }
}

/// Spaces sends out to a [`Rate`]. The hourly window remembers at most `per_hour` times, so
/// its memory is bounded by the limit, not by the list.
#[derive(Debug)]
pub struct Pacer {
    rate: Rate,
    next: Option<Instant>,
    hour: VecDeque<Instant>,
}

impl Pacer {
    pub fn new(rate: Rate) -> Self {
        Pacer {
            rate,
            next: None,
            hour: VecDeque::new(),
        }
    }

    /// How long to wait before the next send may start, as of `now`; zero when it may start.
    pub fn wait(&mut self, now: Instant) -> Duration {
        let mut until = self.next.unwrap_or(now);
        if let Some(per_hour) = self.rate.per_hour {
            while self
                .hour
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
            {
                self.hour.pop_front();
            }
            if self.hour.len() >= per_hour as usize {
                if let Some(oldest) = self.hour.front() {
                    until = until.max(*oldest + Duration::from_secs(3600));
                }
            }
        }
        until.saturating_duration_since(now)
    }

    /// A send started at `now`.
    pub fn started(&mut self, now: Instant) {
        if let Some(per_second) = self.rate.per_second {
            let base = self.next.map_or(now, |n| n.max(now));
            self.next = Some(base + Duration::from_secs_f64(1.0 / per_second));
        }
        if self.rate.per_hour.is_some() {
            self.hour.push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_written() {
        assert_eq!(
            Rate::parse("10/s"),
            Ok(Rate {
                per_second: Some(10.0),
                per_hour: None
            })
        );
        assert_eq!(
            Rate::parse(" 0.5/s , 2000/h "),
            Ok(Rate {
                per_second: Some(0.5),
                per_hour: Some(2000)
            })
        );
        assert_eq!(Rate::parse("off"), Ok(Rate::UNLIMITED));
        for bad in [
            "10", "10/m", "-1/s", "0/s", "x/s", "1/s, 2/s", "0/h", "1.5/h",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_pacer_spaces_sends_and_caps_the_hour() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(Rate::parse("2/s, 3/h").expect("rate"));
        assert_eq!(pacer.wait(t0), Duration::ZERO);
        pacer.started(t0);
        assert_eq!(pacer.wait(t0), Duration::from_millis(500));
        pacer.started(t0 + Duration::from_millis(500));
        pacer.started(t0 + Duration::from_secs(1));
        // The hour is full: the fourth waits for the first to be an hour old.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(pacer.wait(later), Duration::from_secs(3590));
        assert_eq!(pacer.wait(t0 + Duration::from_secs(3600)), Duration::ZERO);
    }

    #[test]
    fn the_time_left_follows_the_tighter_limit() {
        let rate = Rate::parse("10/s, 3600/h").expect("rate");
        assert_eq!(rate.time_for(100), Some(Duration::from_secs(100)));
        assert_eq!(Rate::UNLIMITED.time_for(100), None);
    }
}
