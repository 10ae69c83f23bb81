//! Service levels: what each plan was promised, what was measured, and what each customer is
//! owed. Downtime is time, not a count of checks: a failing check counts until the next one
//! (five minutes at most), a partial outage posted on the status page counts with its weight,
//! announced maintenance is left out, and time nothing was checked (the laptop asleep) is
//! unknown — not downtime, unless a plan says so.
//!
//! The default weights follow Atlassian Statuspage's uptime showcase, the convention a
//! team's customers most likely already read: a major outage counts in full, a partial outage
//! 30 %, degraded performance not at all.

pub mod chart;
pub mod report;
pub mod view;

use crate::interval::{subtract, union, union_length, weighted_length, Interval, Weighted};

/// A period `[from, to)` in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

/// What one component's history holds for a period.
#[derive(Debug, Clone, Default)]
pub struct ComponentEvidence {
    /// Downtime: monitors failing (weight 1), statuses posted (their weight).
    pub down: Vec<Weighted>,
    /// Announced maintenance.
    pub maintenance: Vec<Interval>,
    /// When something was checking it.
    pub checked: Vec<Interval>,
}

/// How a component did against a target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// The period measured, up to now for a month still running (ms).
    pub period_ms: i64,
    /// Maintenance left out (ms).
    pub excluded_ms: i64,
    /// Nothing was checked (ms), inside the period and outside maintenance.
    pub unknown_ms: i64,
    /// Weighted downtime (ms).
    pub downtime_ms: f64,
    /// Downtime the target allows over the period less maintenance (ms).
    pub allowed_ms: f64,
    /// Percent, 0–100.
    pub availability: f64,
    pub breached: bool,
}

/// The rules of one plan, as they bear on the arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub target: f64,
    pub exclude_maintenance: bool,
    pub unknown_is_downtime: bool,
}

/// Measures one component over `period` (ending at `now` if it has not ended).
pub fn measure(e: &ComponentEvidence, period: Period, now: i64, rules: Rules) -> Measured {
    let (from, to) = (period.from, period.to.min(now).max(period.from));
    let excluded = if rules.exclude_maintenance {
        subtract(e.maintenance.clone(), &[], from, to)
    } else {
        Vec::new()
    };
    let excluded_ms: i64 = excluded.iter().map(|(a, b)| b - a).sum();
    let unknown = subtract(
        vec![(from, to)],
        &union(
            e.checked
                .iter()
                .copied()
                .chain(excluded.iter().copied())
                .collect(),
        ),
        from,
        to,
    );
    let unknown_ms = union_length(unknown.clone());
    let mut down = e.down.clone();
    if rules.unknown_is_downtime {
        down.extend(unknown.iter().map(|&(a, b)| Weighted {
            from: a,
            to: b,
            weight: 1.0,
        }));
    }
    let downtime_ms = weighted_length(&down, &excluded, from, to);
    let measured_ms = (to - from - excluded_ms).max(0);
    let availability = if measured_ms == 0 {
        100.0
    } else {
        (100.0 * (1.0 - downtime_ms / measured_ms as f64)).clamp(0.0, 100.0)
    };
    Measured {
        period_ms: to - from,
        excluded_ms,
        unknown_ms,
        downtime_ms,
        allowed_ms: measured_ms as f64 * (100.0 - rules.target) / 100.0,
        availability,
        // Rounding must not breach a plan that met its target exactly.
        breached: availability + 1e-9 < rules.target,
    }
}

/// One day of a period and how a component (or a plan, its worst component) did that day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    /// Midnight to midnight in the report's zone (23 or 25 hours across a clock change).
    pub period: Period,
    /// Percent, 0–100.
    pub availability: f64,
}

/// The days of `period` in `tz`, each from midnight to midnight there (the first and last cut
/// to the period), so a month's chart has one bar per calendar day its readers know.
pub fn days(period: Period, tz: chrono_tz::Tz) -> Vec<Period> {
    use chrono::TimeZone as _;
    let midnight = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.timestamp_millis())
    };
    let Some(mut date) = chrono::DateTime::from_timestamp_millis(period.from)
        .map(|t| t.with_timezone(&tz).date_naive())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut from = period.from;
    while from < period.to {
        let Some(next) = date.succ_opt() else { break };
        let to = midnight(next).unwrap_or(period.to).min(period.to);
        if to > from {
            out.push(Period { from, to });
        }
        from = to.max(from + 1);
        date = next;
    }
    out
}

/// Each day of `period` that has begun by `now`, measured like the whole period (the same
/// evidence, the same rules).
pub fn measure_days(
    e: &ComponentEvidence,
    period: Period,
    tz: chrono_tz::Tz,
    now: i64,
    rules: Rules,
) -> Vec<Day> {
    days(period, tz)
        .into_iter()
        .take_while(|d| d.from < now)
        .map(|d| Day {
            period: d,
            availability: measure(e, d, now, rules).availability,
        })
        .collect()
}

/// The credit (percent of the period's fee) for `availability`: the largest of the tiers it
/// falls below, none when it is under none.
pub fn credit_for(tiers: &[(f64, f64)], availability: f64) -> f64 {
    tiers
        .iter()
        .filter(|(below, _)| availability + 1e-9 < *below)
        .map(|(_, credit)| *credit)
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;

    fn full(from: i64, to: i64) -> Weighted {
        Weighted {
            from,
            to,
            weight: 1.0,
        }
    }

    fn rules(target: f64) -> Rules {
        Rules {
            target,
            exclude_maintenance: true,
            unknown_is_downtime: false,
        }
    }

    /// A 30-day month checked throughout, with `down` in it.
    fn month(down: Vec<Weighted>, maintenance: Vec<Interval>) -> ComponentEvidence {
        ComponentEvidence {
            down,
            maintenance,
            checked: vec![(0, 30 * DAY)],
        }
    }

    #[test]
    fn availability_and_allowed_downtime_by_hand() {
        let period = Period {
            from: 0,
            to: 30 * DAY,
        };
        let now = 40 * DAY;
        // (downtime, maintenance, target) → (availability, allowed minutes, breached)
        type Case = (Vec<Weighted>, Vec<Interval>, f64, f64, f64, bool);
        let cases: Vec<Case> = vec![
            // 99.9 % of 30 days allows 43.2 minutes.
            (vec![], vec![], 99.9, 100.0, 43.2, false),
            (
                vec![full(DAY, DAY + 43 * MIN)],
                vec![],
                99.9,
                100.0 - 43.0 / 432.0,
                43.2,
                false,
            ),
            (
                vec![full(DAY, DAY + 44 * MIN)],
                vec![],
                99.9,
                100.0 - 44.0 / 432.0,
                43.2,
                true,
            ),
            // Two incidents overlapping on one component count once: 0:00–1:00 and 0:30–2:00.
            (
                vec![full(DAY, DAY + HOUR), full(DAY + 30 * MIN, DAY + 2 * HOUR)],
                vec![],
                99.0,
                100.0 - 200.0 / 720.0,
                432.0,
                false,
            ),
            // Maintenance announced over an hour of the outage: that hour is not downtime,
            // and the month measured is an hour shorter.
            (
                vec![full(DAY, DAY + 2 * HOUR)],
                vec![(DAY, DAY + HOUR)],
                99.9,
                100.0 * (1.0 - 60.0 / (43_200.0 - 60.0)),
                0.1 * (43_200.0 - 60.0) / 100.0,
                true,
            ),
            // Down the whole month.
            (vec![full(0, 30 * DAY)], vec![], 99.9, 0.0, 43.2, true),
            // A partial outage posted for ten hours at 30 %: three hours.
            (
                vec![Weighted {
                    from: DAY,
                    to: DAY + 10 * HOUR,
                    weight: 0.3,
                }],
                vec![],
                99.0,
                100.0 - 180.0 / 432.0,
                432.0,
                false,
            ),
        ];
        for (down, maintenance, target, availability, allowed_min, breached) in cases {
            let m = measure(
                &month(down.clone(), maintenance),
                period,
                now,
                rules(target),
            );
            assert!(
                (m.availability - availability).abs() < 1e-9,
                "{down:?}: {} vs {availability}",
                m.availability
            );
            assert!(
                (m.allowed_ms / MIN as f64 - allowed_min).abs() < 1e-9,
                "{down:?}: allowed {}",
                m.allowed_ms
            );
            assert_eq!(m.breached, breached, "{down:?}");
        }
    }

    #[test]
    fn a_month_still_running_is_measured_up_to_now() {
        let period = Period {
            from: 0,
            to: 30 * DAY,
        };
        let e = month(vec![full(DAY, DAY + HOUR)], vec![]);
        let m = measure(&e, period, 10 * DAY, rules(99.0));
        assert_eq!(m.period_ms, 10 * DAY);
        assert!((m.availability - (100.0 - 100.0 / 240.0)).abs() < 1e-9);
        // Before it began, nothing to measure: 100 %.
        let m = measure(&e, period, -5, rules(99.0));
        assert_eq!((m.period_ms, m.availability), (0, 100.0));
    }

    #[test]
    fn time_nothing_was_checked_is_unknown_not_downtime_unless_the_plan_says_so() {
        let period = Period {
            from: 0,
            to: 10 * DAY,
        };
        let e = ComponentEvidence {
            down: vec![],
            maintenance: vec![(2 * DAY, 3 * DAY)],
            // The laptop was asleep for the second half, maintenance aside.
            checked: vec![(0, 5 * DAY)],
        };
        let m = measure(&e, period, 10 * DAY, rules(99.0));
        assert_eq!((m.unknown_ms, m.availability), (5 * DAY, 100.0));
        let strict = Rules {
            unknown_is_downtime: true,
            ..rules(99.0)
        };
        let m = measure(&e, period, 10 * DAY, strict);
        assert!(
            (m.availability - (100.0 - 100.0 * 5.0 / 9.0)).abs() < 1e-9,
            "{}",
            m.availability
        );
        // Maintenance not excluded: measured in full.
        let counted = Rules {
            exclude_maintenance: false,
            ..rules(99.0)
        };
        assert_eq!(measure(&e, period, 10 * DAY, counted).excluded_ms, 0);
    }

    #[test]
    fn credits_follow_the_lowest_tier_reached() {
        let tiers = [(99.9, 10.0), (99.0, 25.0), (95.0, 100.0)];
        let cases = [
            (100.0, 0.0),
            (99.9, 0.0),
            (99.89, 10.0),
            (99.0, 10.0),
            (98.99, 25.0),
            (50.0, 100.0),
        ];
        for (availability, credit) in cases {
            assert_eq!(credit_for(&tiers, availability), credit, "{availability}");
        }
        assert_eq!(credit_for(&[], 0.0), 0.0);
    }

    #[test]
    fn a_month_has_a_day_per_calendar_day_in_its_zone_and_each_day_is_measured() {
        let berlin = chrono_tz::Europe::Berlin;
        let (march, _) = report::month("2026-03", berlin).expect("month");
        let d = days(march, berlin);
        assert_eq!(d.len(), 31);
        // The clocks go forward on the 29th: a 23-hour day.
        assert_eq!(d[28].to - d[28].from, 23 * HOUR);
        assert_eq!(d[0].from, march.from);
        assert_eq!(d[30].to, march.to);
        let period = Period {
            from: 0,
            to: 30 * DAY,
        };
        // Down an hour on the second day; the month runs up to the middle of the eleventh.
        let e = month(vec![full(DAY, DAY + HOUR)], vec![]);
        let measured = measure_days(&e, period, chrono_tz::UTC, 10 * DAY + HOUR, rules(99.0));
        assert_eq!(measured.len(), 11);
        assert_eq!(measured[0].availability, 100.0);
        assert!((measured[1].availability - (100.0 - 100.0 / 24.0)).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn availability_stays_in_bounds_and_credits_grow_with_downtime(
            downs in prop::collection::vec((0i64..30 * DAY, 0i64..3 * DAY, 0u8..=10), 0..12),
            more in (0i64..30 * DAY, 0i64..DAY),
            maintenance in prop::collection::vec((0i64..30 * DAY, 0i64..DAY), 0..3),
            asleep in (0i64..30 * DAY, 0i64..5 * DAY),
            strict in any::<bool>(),
        ) {
            let period = Period { from: 0, to: 30 * DAY };
            let mut e = ComponentEvidence {
                down: downs.iter().map(|(a, len, w)| Weighted { from: *a, to: a + len, weight: f64::from(*w) / 10.0 }).collect(),
                maintenance: maintenance.iter().map(|(a, len)| (*a, a + len)).collect(),
                checked: vec![(0, asleep.0), (asleep.0 + asleep.1, 30 * DAY)],
            };
            let r = Rules { target: 99.9, exclude_maintenance: true, unknown_is_downtime: strict };
            let m = measure(&e, period, 31 * DAY, r);
            prop_assert!((0.0..=100.0).contains(&m.availability));
            prop_assert!(m.downtime_ms <= (m.period_ms - m.excluded_ms) as f64 + 1e-6);
            let tiers = [(99.9, 10.0), (99.0, 25.0)];
            e.down.push(full(more.0, more.0 + more.1));
            let worse = measure(&e, period, 31 * DAY, r);
            prop_assert!(worse.availability <= m.availability + 1e-9);
            prop_assert!(credit_for(&tiers, worse.availability) >= credit_for(&tiers, m.availability));
        }
    }
}
