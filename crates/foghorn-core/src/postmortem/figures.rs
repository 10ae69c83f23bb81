//! The key figures of a postmortem, from the evidence alone: when the outage started is the
//! first failing check, not a time someone typed; how long each component was down is
//! measured between checks, not counted in checks. Pure functions, so every definition is a
//! table test.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::interval::{down_intervals, union_length};
use crate::store::{CheckRow, PostmortemRows, SignalRow};

/// What the figures are worked out from.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub rows: PostmortemRows,
    /// Each monitor the incidents are about (by id), its checks from before the outage to
    /// after it, oldest first.
    pub checks: BTreeMap<String, Vec<CheckRow>>,
    /// A monitor's name by its id, as the configuration has it.
    pub monitor_names: BTreeMap<String, String>,
    /// `[status]` components and the monitor ids that measure them.
    pub components: Vec<(String, Vec<String>)>,
    /// The end of an outage that is not resolved yet.
    pub now: OffsetDateTime,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            rows: PostmortemRows::default(),
            checks: BTreeMap::new(),
            monitor_names: BTreeMap::new(),
            components: Vec::new(),
            now: OffsetDateTime::UNIX_EPOCH,
        }
    }
}

/// When the outage started, and from what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub at: OffsetDateTime,
    /// "the first failing check of api", "the alert's start (alertmanager)".
    pub source: String,
}

/// How long one component (or a monitor in no component) was down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downtime {
    pub name: String,
    /// `component` or `monitor`.
    pub kind: &'static str,
    pub down: Duration,
}

/// Messages of one channel of the escalation ladder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pages {
    pub sent: u32,
    pub failed: u32,
}

/// The figures of the document, each defined in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub started: Start,
    pub detected_at: OffsetDateTime,
    pub first_notified_at: Option<OffsetDateTime>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<String>,
    pub first_public_at: Option<OffsetDateTime>,
    pub mitigated_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    /// Detected − started.
    pub time_to_detect: Duration,
    /// Acknowledged − detected.
    pub time_to_acknowledge: Option<Duration>,
    /// First public update − started.
    pub time_to_first_update: Option<Duration>,
    /// Resolved − started.
    pub time_to_resolve: Option<Duration>,
    pub downtime: Vec<Downtime>,
    pub pages: BTreeMap<String, Pages>,
    pub promises_kept: u32,
    pub promises_late: u32,
    pub support_conversations: u32,
    pub support_answered: u32,
    /// Customers who wrote in before the first public update (all of them without one).
    pub wrote_before_first_post: u32,
    pub letters_accepted: u64,
    pub letters_total: u64,
}

/// `monitor:api` → `api`.
pub fn monitor_of(dedup_key: &str) -> Option<&str> {
    dedup_key.strip_prefix("monitor:")
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn at_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The first failing check of the run of failures that a signal started at `signal_at`
/// belongs to: walking back from the signal to the last check that passed.
pub fn first_failure(checks: &[CheckRow], signal_at: OffsetDateTime) -> Option<&CheckRow> {
    // The signal is raised from a check's result, so its check is at or before it; a check
    // after it may already be the recovery.
    let until = ms(signal_at);
    let before: Vec<&CheckRow> = checks.iter().filter(|c| c.at_ms <= until).collect();
    let last_ok = before.iter().rposition(|c| c.ok);
    let run = match last_ok {
        Some(i) => &before[i + 1..],
        None => &before[..],
    };
    run.first().copied().filter(|c| !c.ok)
}

/// Where to walk back from to a signal's first failing check: the incident's opening or the
/// signal's start, whichever is earlier. A monitor that recovered and failed again while the
/// incident stayed open has its signal started anew; the run that opened the incident is the
/// one that counts.
pub fn run_of(e: &Evidence, s: &SignalRow) -> OffsetDateTime {
    e.rows
        .incidents
        .iter()
        .find(|i| i.id == s.incident_id)
        .map_or(s.started_at, |i| i.opened_at.min(s.started_at))
}

/// Promised updates kept and late: an update that promises the next by a time is kept when
/// the next update came by then, late when it came after (or never, once the time passed).
pub fn promises(
    updates: &[(OffsetDateTime, Option<OffsetDateTime>)],
    now: OffsetDateTime,
) -> (u32, u32) {
    let (mut kept, mut late) = (0, 0);
    for (i, (_, promised)) in updates.iter().enumerate() {
        let Some(by) = promised else { continue };
        match updates.get(i + 1) {
            Some((next, _)) if next <= by => kept += 1,
            Some(_) => late += 1,
            None if now > *by => late += 1,
            None => {}
        }
    }
    (kept, late)
}

/// Works out the figures. `None` without any incident.
pub fn compute(e: &Evidence) -> Option<Figures> {
    let rows = &e.rows;
    let detected_at = rows.incidents.iter().map(|i| i.opened_at).min()?;
    let all_resolved = rows.incidents.iter().all(|i| i.resolved_at.is_some());
    let resolved_at = all_resolved
        .then(|| rows.incidents.iter().filter_map(|i| i.resolved_at).max())
        .flatten();

    // Started: the earliest first failing check (or, for an alert, when the vendor says it
    // began), never after the detection.
    let mut started = Start {
        at: detected_at,
        source: "the incident's opening (no earlier evidence)".to_owned(),
    };
    for s in &rows.signals {
        let candidate = match monitor_of(&s.dedup_key) {
            Some(id) => {
                let name = e.monitor_names.get(id).map_or(id, String::as_str);
                match e
                    .checks
                    .get(id)
                    .and_then(|c| first_failure(c, run_of(e, s)))
                {
                    Some(c) => Start {
                        at: at_ms(c.at_ms),
                        source: format!("the first failing check of {name}"),
                    },
                    None => Start {
                        at: s.started_at,
                        source: format!("{name} going down (its checks are no longer kept)"),
                    },
                }
            }
            None => Start {
                at: s.started_at,
                source: format!("the alert's start ({})", s.source),
            },
        };
        if candidate.at < started.at {
            started = candidate;
        }
    }

    let first_notified_at = rows
        .notifications
        .iter()
        .map(|(_, at)| *at)
        .chain(rows.pages.iter().filter_map(|p| p.sent_at))
        .min();
    let acked = rows
        .incidents
        .iter()
        .filter_map(|i| i.acked_at.map(|at| (at, i.acked_by.clone())))
        .min_by_key(|(at, _)| *at);
    let first_public_at = rows.updates.first().map(|u| u.posted_at);
    let mitigated_at = rows
        .updates
        .iter()
        .find(|u| u.state == "monitoring" || u.state == "resolved")
        .map(|u| u.posted_at);

    // Downtime from the start to the end, per component (any of its monitors failing), and
    // per monitor in no component.
    let end = resolved_at.unwrap_or(e.now);
    let (from, to) = (ms(started.at), ms(end));
    let intervals: BTreeMap<&str, Vec<(i64, i64)>> = e
        .checks
        .iter()
        .map(|(id, c)| (id.as_str(), down_intervals(c, from, to)))
        .collect();
    let mut downtime = Vec::new();
    let mut in_component = std::collections::BTreeSet::new();
    for (name, monitors) in &e.components {
        let measured: Vec<&String> = monitors
            .iter()
            .filter(|m| intervals.contains_key(m.as_str()))
            .collect();
        if measured.is_empty() {
            continue;
        }
        in_component.extend(measured.iter().map(|m| m.as_str()));
        let all: Vec<(i64, i64)> = measured
            .iter()
            .flat_map(|m| intervals[m.as_str()].iter().copied())
            .collect();
        downtime.push(Downtime {
            name: name.clone(),
            kind: "component",
            down: Duration::milliseconds(union_length(all)),
        });
    }
    for (id, list) in &intervals {
        if in_component.contains(id) {
            continue;
        }
        downtime.push(Downtime {
            name: e
                .monitor_names
                .get(*id)
                .cloned()
                .unwrap_or_else(|| (*id).to_owned()),
            kind: "monitor",
            down: Duration::milliseconds(union_length(list.clone())),
        });
    }

    let mut pages: BTreeMap<String, Pages> = BTreeMap::new();
    for p in &rows.pages {
        let entry = pages.entry(p.channel.clone()).or_default();
        if p.sent_at.is_some() {
            entry.sent += 1;
        } else if p.failed_at.is_some() {
            entry.failed += 1;
        }
    }
    let promised: Vec<(OffsetDateTime, Option<OffsetDateTime>)> = rows
        .updates
        .iter()
        .map(|u| (u.posted_at, u.next_update_at))
        .collect();
    let (promises_kept, promises_late) = promises(&promised, e.now);
    let wrote_before_first_post = rows
        .support
        .iter()
        .filter(|s| first_public_at.is_none_or(|p| s.wrote_at < p))
        .count() as u32;

    Some(Figures {
        time_to_detect: detected_at - started.at,
        time_to_acknowledge: acked.as_ref().map(|(at, _)| *at - detected_at),
        time_to_first_update: first_public_at.map(|p| p - started.at),
        time_to_resolve: resolved_at.map(|r| r - started.at),
        started,
        detected_at,
        first_notified_at,
        acknowledged_at: acked.as_ref().map(|(at, _)| *at),
        acknowledged_by: acked.and_then(|(_, by)| by),
        first_public_at,
        mitigated_at,
        resolved_at,
        downtime,
        pages,
        promises_kept,
        promises_late,
        support_conversations: rows.support.len() as u32,
        support_answered: rows
            .support
            .iter()
            .filter(|s| s.answered_at.is_some())
            .count() as u32,
        wrote_before_first_post,
        letters_accepted: rows.letters.iter().map(|l| l.accepted).sum(),
        letters_total: rows.letters.iter().map(|l| l.total).sum(),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::store::{IncidentRow, SignalRow, SupportRow, UpdateRow, MAX_DOWN_SPAN_MS};

    fn check(at_s: i64, ok: bool) -> CheckRow {
        CheckRow {
            at_ms: at_s * 1000,
            ok,
            latency_ms: None,
            error: (!ok).then(|| "connection refused".to_owned()),
        }
    }

    #[test]
    fn the_first_failure_is_the_run_after_the_last_pass_before_the_signal() {
        let checks = [
            check(0, true),
            check(10, false),
            check(20, true),
            check(30, false),
            check(40, false),
            check(50, false),
            check(60, true),
        ];
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).expect("time");
        // The signal at the third failure in a row (threshold 3) began at 30.
        assert_eq!(
            first_failure(&checks, at(50)).map(|c| c.at_ms),
            Some(30_000)
        );
        // At the first failure itself.
        assert_eq!(
            first_failure(&checks, at(10)).map(|c| c.at_ms),
            Some(10_000)
        );
        // A signal while the last check passed: no failing run.
        assert_eq!(first_failure(&checks, at(25)), None);
        // The recovery a moment after the signal is not the run's end.
        let quick = [
            check(0, true),
            check(10, false),
            check(11, false),
            check(12, true),
        ];
        assert_eq!(first_failure(&quick, at(11)).map(|c| c.at_ms), Some(10_000));
        // Checks before the first kept one are gone: the run starts at the first kept.
        assert_eq!(
            first_failure(&checks[3..], at(45)).map(|c| c.at_ms),
            Some(30_000)
        );
    }

    #[test]
    fn downtime_runs_from_a_failing_check_to_the_next_check_within_the_window() {
        let checks = [
            check(0, true),
            check(10, false),
            check(20, false),
            check(30, true),
            check(40, false),
        ];
        type Interval = (i64, i64);
        let cases: [(Interval, Vec<Interval>); 4] = [
            ((0, 100_000), vec![(10_000, 30_000), (40_000, 100_000)]),
            ((15_000, 35_000), vec![(15_000, 30_000)]),
            ((30_000, 40_000), vec![]),
            ((0, 45_000), vec![(10_000, 30_000), (40_000, 45_000)]),
        ];
        for ((from, to), want) in cases {
            assert_eq!(down_intervals(&checks, from, to), want, "{from}..{to}");
        }
        // A failing check followed by a gap (asleep) counts five minutes at most.
        let asleep = [check(0, false), check(3_600, true)];
        assert_eq!(
            down_intervals(&asleep, 0, 4_000_000),
            vec![(0, MAX_DOWN_SPAN_MS)]
        );
        assert_eq!(union_length(vec![(0, 10), (5, 20), (30, 40), (40, 45)]), 35);
        assert_eq!(union_length(Vec::new()), 0);
    }

    #[test]
    fn promises_are_kept_when_the_next_update_comes_in_time() {
        let t = |m: i64| datetime!(2026-12-03 10:00 UTC) + Duration::minutes(m);
        let cases = [
            // (posted, promised) …, now, (kept, late)
            (
                vec![(t(0), Some(t(30))), (t(25), Some(t(55))), (t(70), None)],
                t(80),
                (1, 1),
            ),
            (vec![(t(0), Some(t(30)))], t(20), (0, 0)),
            (vec![(t(0), Some(t(30)))], t(31), (0, 1)),
            (vec![(t(0), None), (t(10), None)], t(99), (0, 0)),
            (vec![(t(0), Some(t(30))), (t(30), None)], t(99), (1, 0)),
        ];
        for (updates, now, want) in cases {
            assert_eq!(promises(&updates, now), want, "{updates:?}");
        }
    }

    fn evidence() -> Evidence {
        let t = |s: i64| datetime!(2026-12-03 10:00 UTC) + Duration::seconds(s);
        let mut e = Evidence {
            now: t(10_000),
            ..Evidence::default()
        };
        e.rows.incidents.push(IncidentRow {
            id: 1,
            title: "api is down".into(),
            severity: "critical".into(),
            opened_at: t(40),
            resolved_at: Some(t(600)),
            acked_at: Some(t(100)),
            acked_by: Some("Alice".into()),
        });
        e.rows.signals.push(SignalRow {
            incident_id: 1,
            dedup_key: "monitor:api".into(),
            source: "monitor".into(),
            summary: "api is down".into(),
            started_at: t(40),
            ended_at: Some(t(590)),
        });
        // A check every 10 s: passing, failing from 20 s to 580 s, passing again at 590 s.
        e.checks.insert(
            "api".into(),
            (0..=59)
                .map(|i| check(t(i * 10).unix_timestamp(), !(2..=58).contains(&i)))
                .collect(),
        );
        e.monitor_names.insert("api".into(), "API".into());
        e.components.push(("Public API".into(), vec!["api".into()]));
        e.rows.updates.push(UpdateRow {
            state: "investigating".into(),
            title: "API errors".into(),
            message: String::new(),
            posted_at: t(200),
            next_update_at: Some(t(400)),
            author: "Alice".into(),
        });
        e.rows.updates.push(UpdateRow {
            state: "resolved".into(),
            title: "API errors".into(),
            message: String::new(),
            posted_at: t(620),
            next_update_at: None,
            author: "Alice".into(),
        });
        e.rows.support.push(SupportRow {
            conversation_id: "7".into(),
            customer_name: None,
            wrote_at: t(150),
            answered_at: Some(t(300)),
        });
        e.rows.support.push(SupportRow {
            conversation_id: "8".into(),
            customer_name: None,
            wrote_at: t(250),
            answered_at: None,
        });
        e
    }

    #[test]
    fn the_figures_of_one_incident_come_from_its_checks_and_its_records() {
        let f = compute(&evidence()).expect("figures");
        assert_eq!(f.started.at, datetime!(2026-12-03 10:00:20 UTC));
        assert_eq!(f.started.source, "the first failing check of API");
        assert_eq!(f.time_to_detect, Duration::seconds(20));
        assert_eq!(f.time_to_acknowledge, Some(Duration::seconds(60)));
        assert_eq!(f.time_to_first_update, Some(Duration::seconds(180)));
        assert_eq!(f.time_to_resolve, Some(Duration::seconds(580)));
        assert_eq!(f.mitigated_at, Some(datetime!(2026-12-03 10:10:20 UTC)));
        // From the first failure (20 s) to the check that passed (590 s).
        assert_eq!(
            f.downtime,
            vec![Downtime {
                name: "Public API".into(),
                kind: "component",
                down: Duration::seconds(570)
            }]
        );
        assert_eq!((f.promises_kept, f.promises_late), (0, 1));
        assert_eq!((f.support_conversations, f.support_answered), (2, 1));
        assert_eq!(f.wrote_before_first_post, 1);
    }

    #[test]
    fn an_outage_not_resolved_yet_counts_downtime_until_now_and_has_no_resolve_time() {
        let mut e = evidence();
        e.rows.incidents[0].resolved_at = None;
        e.checks.get_mut("api").expect("api").pop();
        let f = compute(&e).expect("figures");
        assert_eq!(f.resolved_at, None);
        assert_eq!(f.time_to_resolve, None);
        // Down from 20 s to the last check at 580 s, then five minutes at most: no check
        // since is evidence of nothing.
        assert_eq!(f.downtime[0].down, Duration::seconds(560 + 300));
    }

    #[test]
    fn a_monitor_that_failed_again_while_the_incident_stayed_open_started_at_the_first_run() {
        let mut e = evidence();
        // Recovered at 590 s, failing again from 700 s: the signal is started anew.
        let t = |s: i64| datetime!(2026-12-03 10:00 UTC) + Duration::seconds(s);
        e.rows.incidents[0].resolved_at = None;
        e.rows.signals[0].started_at = t(710);
        let checks = e.checks.get_mut("api").expect("api");
        checks.extend((70..=72).map(|i| check(t(i * 10).unix_timestamp(), false)));
        let f = compute(&e).expect("figures");
        assert_eq!(f.started.at, t(20));
        assert_eq!(f.started.source, "the first failing check of API");
    }

    #[test]
    fn an_alert_that_began_before_any_check_failed_is_the_start() {
        let mut e = evidence();
        e.rows.signals.push(SignalRow {
            incident_id: 1,
            dedup_key: "alertmanager:abc".into(),
            source: "alertmanager".into(),
            summary: "HighErrorRate".into(),
            started_at: datetime!(2026-12-03 09:59:00 UTC),
            ended_at: None,
        });
        let f = compute(&e).expect("figures");
        assert_eq!(f.started.at, datetime!(2026-12-03 09:59:00 UTC));
        assert_eq!(f.started.source, "the alert's start (alertmanager)");
    }
}
