//! Flap detection: a monitor that goes down and up again and again is one problem, not a
//! page per change. After `changes` state changes within `within`, the monitor is flapping:
//! one signal says so and the individual down/up notifications are held back until it has
//! been stable for `within`.

use std::collections::VecDeque;

use time::{Duration, OffsetDateTime};

/// What a state change did to the flapping verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flapping {
    /// Not flapping: announce the change as usual.
    No,
    /// This change started flapping: announce that, once.
    Started { changes: usize },
    /// Still flapping: say nothing.
    Ongoing,
}

#[derive(Debug, Clone)]
pub struct FlapDetector {
    changes: usize,
    within: Duration,
    recent: VecDeque<OffsetDateTime>,
    flapping: bool,
}

impl FlapDetector {
    /// `changes` of 0 turns detection off.
    pub fn new(changes: usize, within: Duration) -> Self {
        Self {
            changes,
            within,
            recent: VecDeque::new(),
            flapping: false,
        }
    }

    fn forget_before(&mut self, at: OffsetDateTime) {
        while self.recent.front().is_some_and(|&t| at - t > self.within) {
            self.recent.pop_front();
        }
    }

    /// Records a state change at `at`.
    pub fn change(&mut self, at: OffsetDateTime) -> Flapping {
        if self.changes == 0 {
            return Flapping::No;
        }
        self.forget_before(at);
        self.recent.push_back(at);
        match (self.flapping, self.recent.len() >= self.changes) {
            (true, _) => Flapping::Ongoing,
            (false, true) => {
                self.flapping = true;
                Flapping::Started {
                    changes: self.recent.len(),
                }
            }
            (false, false) => Flapping::No,
        }
    }

    /// Called on every result: returns true when flapping ended (no change for `within`).
    pub fn settle(&mut self, at: OffsetDateTime) -> bool {
        self.forget_before(at);
        if self.flapping && self.recent.is_empty() {
            self.flapping = false;
            return true;
        }
        false
    }

    pub fn is_flapping(&self) -> bool {
        self.flapping
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn at(minutes: i64) -> OffsetDateTime {
        T0 + Duration::minutes(minutes)
    }

    #[test]
    fn four_changes_in_ten_minutes_is_one_flapping_signal() {
        let mut d = FlapDetector::new(4, Duration::minutes(10));
        assert_eq!(d.change(at(0)), Flapping::No);
        assert_eq!(d.change(at(2)), Flapping::No);
        assert_eq!(d.change(at(4)), Flapping::No);
        assert_eq!(d.change(at(6)), Flapping::Started { changes: 4 });
        assert_eq!(d.change(at(8)), Flapping::Ongoing);
        assert_eq!(d.change(at(9)), Flapping::Ongoing);
        assert!(
            !d.settle(at(15)),
            "changes at 8 and 9 are still within ten minutes"
        );
        assert!(d.settle(at(20)), "stable for ten minutes: flapping ends");
        assert_eq!(d.change(at(21)), Flapping::No);
    }

    #[test]
    fn slow_changes_never_flap() {
        let mut d = FlapDetector::new(3, Duration::minutes(10));
        for i in 0..10 {
            assert_eq!(d.change(at(i * 6)), Flapping::No, "change {i}");
        }
    }

    #[test]
    fn zero_changes_turns_detection_off() {
        let mut d = FlapDetector::new(0, Duration::minutes(10));
        for i in 0..10 {
            assert_eq!(d.change(at(i)), Flapping::No);
        }
        assert!(!d.is_flapping());
    }
}
