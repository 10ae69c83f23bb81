//! Where the engine reads "now" for incidents, the ladder and heartbeat deadlines: the
//! system clock, or in tests a clock moved by hand, so a ten-minute snooze or a ladder step
//! an hour away can be tested without waiting for it.

use time::OffsetDateTime;

/// The wall clock the engine asks for "now". Timers (how long to sleep) stay on tokio's
/// clock; this is only the time written on incidents and compared with their deadlines.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The computer's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
