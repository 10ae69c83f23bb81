//! Stretches of time in Unix milliseconds, `[from, to)`: when a monitor was failing, when
//! maintenance was announced, when nothing was checked. Postmortems and SLA reports measure
//! downtime with the same arithmetic, so their figures agree.

use crate::store::{CheckRow, MAX_DOWN_SPAN_MS};

/// `[from, to)` in Unix milliseconds.
pub type Interval = (i64, i64);

/// A stretch of downtime and how much of it counts (1: all of it; 0.3: a partial outage).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weighted {
    pub from: i64,
    pub to: i64,
    pub weight: f64,
}

/// Failing stretches of one monitor within `[from, to]`: a failing check counts as down
/// until the next check (or `to`), but never longer than the history's uptime allows
/// ([`MAX_DOWN_SPAN_MS`]): a gap with no checks (the laptop asleep) is not evidence.
pub fn down_intervals(checks: &[CheckRow], from: i64, to: i64) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        if c.ok {
            continue;
        }
        let next = checks.get(i + 1).map_or(to, |n| n.at_ms);
        let end = next.min(c.at_ms + MAX_DOWN_SPAN_MS);
        let (a, b) = (c.at_ms.max(from), end.min(to));
        if b <= a {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.1 >= a => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// `intervals` merged: sorted, none overlapping or touching.
pub fn union(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|(a, b)| b > a);
    intervals.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for (a, b) in intervals {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The total length of the union of `intervals`.
pub fn union_length(intervals: Vec<Interval>) -> i64 {
    union(intervals).iter().map(|(a, b)| b - a).sum()
}

/// `intervals` with `cut` taken out, clipped to `[from, to)`.
pub fn subtract(intervals: Vec<Interval>, cut: &[Interval], from: i64, to: i64) -> Vec<Interval> {
    let cut = union(cut.to_vec());
    let mut out = Vec::new();
    for (a, b) in union(intervals) {
        let (mut a, b) = (a.max(from), b.min(to));
        for &(ca, cb) in &cut {
            if cb <= a || ca >= b {
                continue;
            }
            if ca > a {
                out.push((a, ca));
            }
            a = a.max(cb);
            if a >= b {
                break;
            }
        }
        if a < b {
            out.push((a, b));
        }
    }
    out
}

/// Downtime in `[from, to)` outside `excluded`, in milliseconds: at each moment the heaviest
/// stretch covering it counts, once (a monitor down during a posted partial outage counts in
/// full, not 1.3 times).
pub fn weighted_length(spans: &[Weighted], excluded: &[Interval], from: i64, to: i64) -> f64 {
    let mut levels: Vec<f64> = spans
        .iter()
        .map(|s| s.weight.clamp(0.0, 1.0))
        .filter(|w| *w > 0.0)
        .collect();
    levels.sort_by(|a, b| b.total_cmp(a));
    levels.dedup();
    // Layers: the time covered by a weight of at least w_k counts (w_k − w_k+1).
    let mut total = 0.0;
    for (k, w) in levels.iter().enumerate() {
        let next = levels.get(k + 1).copied().unwrap_or(0.0);
        let covered: Vec<Interval> = spans
            .iter()
            .filter(|s| s.weight >= *w)
            .map(|s| (s.from, s.to))
            .collect();
        let length: i64 = subtract(covered, excluded, from, to)
            .iter()
            .map(|(a, b)| b - a)
            .sum();
        total += (w - next) * length as f64;
    }
    total
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn subtracting_cuts_holes_and_clips() {
        type Case = (Vec<Interval>, Vec<Interval>, Interval, Vec<Interval>);
        let cases: [Case; 5] = [
            (
                vec![(0, 100)],
                vec![(20, 30), (50, 60)],
                (0, 100),
                vec![(0, 20), (30, 50), (60, 100)],
            ),
            (vec![(0, 100)], vec![(0, 100)], (0, 100), vec![]),
            (vec![(0, 50), (40, 100)], vec![], (10, 90), vec![(10, 90)]),
            (
                vec![(0, 10), (20, 30)],
                vec![(5, 25)],
                (0, 100),
                vec![(0, 5), (25, 30)],
            ),
            (
                vec![(10, 20)],
                vec![(0, 5), (30, 40)],
                (0, 100),
                vec![(10, 20)],
            ),
        ];
        for (intervals, cut, (from, to), want) in cases {
            assert_eq!(
                subtract(intervals.clone(), &cut, from, to),
                want,
                "{intervals:?} − {cut:?}"
            );
        }
    }

    #[test]
    fn the_heaviest_stretch_counts_once() {
        let w = |from, to, weight| Weighted { from, to, weight };
        // A partial outage (0.3) from 0 to 100, the monitor down (1) from 40 to 60.
        let spans = [w(0, 100, 0.3), w(40, 60, 1.0)];
        assert!((weighted_length(&spans, &[], 0, 100) - (80.0 * 0.3 + 20.0)).abs() < 1e-9);
        // Maintenance from 50 to 100 is not counted.
        assert!((weighted_length(&spans, &[(50, 100)], 0, 100) - (40.0 * 0.3 + 10.0)).abs() < 1e-9);
        // Two overlapping full outages are one.
        assert!(
            (weighted_length(&[w(0, 60, 1.0), w(30, 90, 1.0)], &[], 0, 100) - 90.0).abs() < 1e-9
        );
        assert_eq!(weighted_length(&[], &[], 0, 100), 0.0);
    }

    proptest! {
        #[test]
        fn weighted_downtime_never_exceeds_the_period_and_grows_with_more_downtime(
            spans in prop::collection::vec((0i64..1_000, 0i64..500, 0u8..=10), 0..20),
            cut in prop::collection::vec((0i64..1_000, 0i64..300), 0..5),
            extra in (0i64..1_000, 0i64..500),
        ) {
            let to_spans = |list: &[(i64, i64, u8)]| list
                .iter()
                .map(|(a, len, w)| Weighted { from: *a, to: a + len, weight: f64::from(*w) / 10.0 })
                .collect::<Vec<_>>();
            let cut: Vec<Interval> = cut.iter().map(|(a, len)| (*a, a + len)).collect();
            let mut spans_w = to_spans(&spans);
            let before = weighted_length(&spans_w, &cut, 0, 1_000);
            prop_assert!(before >= 0.0);
            prop_assert!(before <= 1_000.0 - union_length(cut.iter().map(|(a, b)| ((*a).min(1_000), (*b).min(1_000))).collect()) as f64 + 1e-6);
            spans_w.push(Weighted { from: extra.0, to: extra.0 + extra.1, weight: 1.0 });
            prop_assert!(weighted_length(&spans_w, &cut, 0, 1_000) + 1e-9 >= before);
        }
    }
}
