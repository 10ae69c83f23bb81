//! The SLA report of a month or any range: each plan's components measured against its
//! target, the incidents that cost the downtime, the credit each customer on the list is owed,
//! and the customers without a guarantee who wrote in during the incidents (for a person to
//! consider a goodwill refund).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike as _, TimeZone as _};
use time::OffsetDateTime;

use super::{credit_for, measure, measure_days, ComponentEvidence, Day, Measured, Period, Rules};
use crate::config::{Config, SlaPlan};
use crate::interval::{down_intervals, Interval, Weighted};
use crate::letter::recipients::{self, Row};
use crate::monitor::MonitorId;
use crate::store::{MonitorRows, PublicUpdateRow, SlaRows, Store, StoreError, MAX_DOWN_SPAN_MS};

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    #[error("{0:?} is not a month: write YYYY-MM, such as 2026-11")]
    Month(String),
    #[error("{0:?} is not a time: write RFC 3339 (2026-11-03T14:00:00Z) or a date (2026-11-03)")]
    Time(String),
    #[error("the range ends before it starts")]
    Range,
    #[error("the database: {0}")]
    Store(#[from] StoreError),
    #[error("the customer list: {0}")]
    List(#[from] recipients::RecipientsError),
    #[error("the customer list: write the file's full path (such as /home/you/customers.csv or ~/customers.csv), not {0:?}")]
    ListPath(String),
    #[error("the configuration: {0}")]
    Config(String),
}

/// One component (or monitor) of a plan, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentReport {
    pub name: String,
    pub measured: Measured,
    /// Incidents of its monitors in the period: number and title.
    pub incidents: Vec<(i64, String)>,
    /// Each day of the period begun so far, in `[sla] time_zone`.
    pub days: Vec<Day>,
}

/// One plan, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanReport {
    pub plan: String,
    pub target: f64,
    pub components: Vec<ComponentReport>,
    /// The lowest of its components'.
    pub availability: f64,
    pub breached: bool,
    /// Percent of the period's fee.
    pub credit: f64,
    /// Each day begun so far: the lowest of its components' that day (the plan's chart).
    pub days: Vec<Day>,
}

impl PlanReport {
    /// The downtime behind the plan's availability: that of its component with the lowest
    /// availability (the one that set the credit), so a letter's downtime and credit tell one
    /// story. Components measured over different lengths (maintenance left out) make "the
    /// most minutes" a different component at times; the lowest availability is what counts.
    pub fn downtime_ms(&self) -> f64 {
        self.components
            .iter()
            .min_by(|a, b| {
                a.measured
                    .availability
                    .total_cmp(&b.measured.availability)
                    .then(b.measured.downtime_ms.total_cmp(&a.measured.downtime_ms))
            })
            .map_or(0.0, |c| c.measured.downtime_ms)
    }
}

/// The plan a list's `plan` value names: the same words, case and surrounding spaces aside.
pub fn plan_of<'a>(plans: &'a [PlanReport], plan: &str) -> Option<&'a PlanReport> {
    plans
        .iter()
        .find(|r| r.plan.trim().eq_ignore_ascii_case(plan.trim()))
}

/// `percent` of `mrr`, to the cent.
pub fn credit_amount(mrr: f64, percent: f64) -> f64 {
    (mrr * percent / 100.0 * 100.0).round() / 100.0
}

/// What a customer on the list is owed.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerCredit {
    pub email: String,
    pub name: String,
    pub plan: String,
    pub mrr: Option<f64>,
    pub availability: f64,
    pub credit_percent: f64,
    /// `mrr × credit`, when the list has the customer's `mrr`.
    pub credit_amount: Option<f64>,
}

/// A customer without a guarantee who wrote in during an incident of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodwill {
    pub incident_id: i64,
    pub customer: String,
    pub subject: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub period: Period,
    /// "November 2026 (UTC)", or the range.
    pub label: String,
    pub plans: Vec<PlanReport>,
    /// Customers on plans with a guarantee, in list order (with a list).
    pub customers: Vec<CustomerCredit>,
    pub goodwill: Vec<Goodwill>,
}

/// The zone months are counted in: `[sla] time_zone`, else UTC.
pub fn zone(config: &Config) -> chrono_tz::Tz {
    config
        .sla
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

fn ms_of<T: chrono::TimeZone>(t: &chrono::DateTime<T>) -> i64 {
    t.timestamp_millis()
}

/// `2026-11` in `tz`: from midnight on the 1st to midnight on the 1st of the next month there.
pub fn month(text: &str, tz: chrono_tz::Tz) -> Result<(Period, String), SlaError> {
    let bad = || SlaError::Month(text.to_owned());
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    let (year, month): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .ok_or_else(bad)?;
    let midnight = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| ms_of(&t))
            .ok_or_else(bad)
    };
    let label = format!("{} {} ({})", first.format("%B"), first.year(), tz.name());
    Ok((
        Period {
            from: midnight(first)?,
            to: midnight(next)?,
        },
        label,
    ))
}

/// A time given on the command line: RFC 3339, or a date (midnight in `tz`).
pub fn instant(text: &str, tz: chrono_tz::Tz) -> Result<i64, SlaError> {
    let t = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(ms_of(&at));
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| {
            tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .earliest()
        })
        .map(|at| ms_of(&at))
        .ok_or_else(|| SlaError::Time(text.to_owned()))
}

/// The component's evidence from one monitor's rows: failing time and checked time, from
/// the hourly roll-ups (each hour's downtime placed at its start, so monitors of one
/// component that failed together count once) and the raw checks after them.
fn monitor_evidence(rows: &MonitorRows, period: Period, e: &mut ComponentEvidence) {
    for h in &rows.hours {
        if h.checks > 0 {
            e.checked.push((h.hour_ms, h.hour_ms + HOUR_MS));
        }
        if h.down_ms > 0 {
            e.down.push(Weighted {
                from: h.hour_ms,
                to: h.hour_ms + h.down_ms.min(HOUR_MS),
                weight: 1.0,
            });
        }
    }
    for (i, c) in rows.checks.iter().enumerate() {
        let next = rows.checks.get(i + 1).map_or(period.to, |n| n.at_ms);
        e.checked
            .push((c.at_ms, next.min(c.at_ms + MAX_DOWN_SPAN_MS)));
    }
    e.down.extend(
        down_intervals(&rows.checks, period.from, period.to)
            .into_iter()
            .map(|(from, to)| Weighted {
                from,
                to,
                weight: 1.0,
            }),
    );
}

/// What the status page said about each component over time: outages (weighted) and
/// maintenance.
#[derive(Debug, Default)]
struct Posted {
    statuses: BTreeMap<String, Vec<(Interval, String)>>,
    /// Maintenance in progress: the components named (empty: all).
    maintenance: Vec<(Interval, Vec<String>)>,
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn posted(updates: &[PublicUpdateRow], end: i64) -> Posted {
    let mut out = Posted::default();
    let mut by_incident: BTreeMap<i64, Vec<&PublicUpdateRow>> = BTreeMap::new();
    for u in updates {
        by_incident.entry(u.public_id).or_default().push(u);
    }
    for list in by_incident.values() {
        let mut current: BTreeMap<String, (String, i64)> = BTreeMap::new();
        let mut maintenance: Option<(i64, Vec<String>)> = None;
        let close = |name: &str, status: String, from: i64, to: i64, out: &mut Posted| {
            if to > from && status != "operational" {
                out.statuses
                    .entry(name.to_owned())
                    .or_default()
                    .push(((from, to), status));
            }
        };
        for u in list {
            let at = ms(u.posted_at);
            for (name, status) in &u.components {
                match current.get(name) {
                    Some((s, _)) if s == status => {}
                    _ => {
                        if let Some((old, since)) = current.remove(name) {
                            close(name, old, since, at, &mut out);
                        }
                        current.insert(name.clone(), (status.clone(), at));
                    }
                }
            }
            match u.state.as_str() {
                "in_progress" | "verifying" if maintenance.is_none() => {
                    maintenance = Some((at, u.components.keys().cloned().collect()));
                }
                "completed" | "resolved" => {
                    for (name, (status, since)) in std::mem::take(&mut current) {
                        close(&name, status, since, at, &mut out);
                    }
                    if let Some((since, names)) = maintenance.take() {
                        out.maintenance.push(((since, at), names));
                    }
                }
                _ => {}
            }
        }
        for (name, (status, since)) in current {
            close(&name, status, since, end, &mut out);
        }
        if let Some((since, names)) = maintenance {
            out.maintenance.push(((since, end), names));
        }
    }
    out
}

/// A money amount as a list writes it: "1,200.50", "$99", "€ 49".
pub fn amount(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    cleaned.parse().ok().filter(|v: &f64| v.is_finite())
}

/// A plan's measured things: its components by name (with their monitor ids) and its
/// monitors, each as its own line.
fn measured_things(plan: &SlaPlan, config: &Config) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for name in &plan.components {
        let monitors = config
            .status
            .iter()
            .flat_map(|s| s.components.iter())
            .filter(|c| c.name == *name)
            .flat_map(|c| c.monitors.iter())
            .map(|m| MonitorId::from_name(m).as_str().to_owned())
            .collect();
        out.push((name.clone(), monitors));
    }
    for m in &plan.monitors {
        out.push((m.clone(), vec![MonitorId::from_name(m).as_str().to_owned()]));
    }
    out
}

/// Builds the report of `period` (labelled `label`) at `now`, with the customers of the
/// list at `customers` when one is given.
pub fn report(
    store: &Store,
    config: &Config,
    period: Period,
    label: String,
    now: OffsetDateTime,
    customers: Option<&Path>,
) -> Result<Report, SlaError> {
    if period.to <= period.from {
        return Err(SlaError::Range);
    }
    let plans = &config.sla.plans;
    let mut monitor_ids: Vec<String> = plans
        .iter()
        .flat_map(|p| measured_things(p, config))
        .flat_map(|(_, m)| m)
        .collect();
    monitor_ids.sort();
    monitor_ids.dedup();
    let rows: SlaRows = store.sla_rows(&monitor_ids, period.from, period.to)?;
    let end = period.to.min(ms(now));
    let tz = zone(config);
    let said = posted(&rows.updates, end);

    let mut plan_reports = Vec::new();
    for plan in plans {
        let rules = Rules {
            target: plan.target,
            exclude_maintenance: plan.exclude_maintenance,
            unknown_is_downtime: plan.unknown_is_downtime,
        };
        let mut components = Vec::new();
        for (name, monitors) in measured_things(plan, config) {
            let mut e = ComponentEvidence::default();
            for m in &monitors {
                if let Some(r) = rows.monitors.get(m) {
                    monitor_evidence(r, period, &mut e);
                }
            }
            for ((from, to), status) in said.statuses.get(&name).into_iter().flatten() {
                let weight = match status.as_str() {
                    "major_outage" => 1.0,
                    "partial_outage" => plan.partial_outage_weight,
                    "degraded_performance" => plan.degraded_weight,
                    "under_maintenance" => {
                        e.maintenance.push((*from, *to));
                        continue;
                    }
                    _ => continue,
                };
                e.down.push(Weighted {
                    from: *from,
                    to: *to,
                    weight,
                });
            }
            for ((from, to), names) in &said.maintenance {
                if names.is_empty() || names.contains(&name) {
                    e.maintenance.push((*from, *to));
                }
            }
            let measured = measure(&e, period, ms(now), rules);
            let days = measure_days(&e, period, tz, ms(now), rules);
            let incidents = rows
                .incidents
                .iter()
                .filter(|i| i.monitors.iter().any(|m| monitors.contains(m)))
                .map(|i| (i.id, i.title.clone()))
                .collect();
            components.push(ComponentReport {
                name,
                measured,
                incidents,
                days,
            });
        }
        let availability = components
            .iter()
            .map(|c| c.measured.availability)
            .fold(100.0, f64::min);
        let days = super::days(period, tz)
            .into_iter()
            .take_while(|d| d.from < ms(now))
            .enumerate()
            .map(|(i, d)| Day {
                period: d,
                availability: components
                    .iter()
                    .filter_map(|c| c.days.get(i).map(|d| d.availability))
                    .fold(100.0, f64::min),
            })
            .collect();
        let tiers: Vec<(f64, f64)> = plan.credits.iter().map(|t| (t.below, t.credit)).collect();
        plan_reports.push(PlanReport {
            plan: plan.plan.clone(),
            target: plan.target,
            breached: components.iter().any(|c| c.measured.breached),
            credit: credit_for(&tiers, availability),
            availability,
            components,
            days,
        });
    }

    let of_plan = |p: &str| plan_of(&plan_reports, p);
    let mut credits = Vec::new();
    let mut covered_names = Vec::new();
    if let Some(path) = customers {
        for row in recipients::open(path)? {
            let Row::Recipient(r) = row? else { continue };
            let plan = r.vars.get("plan").cloned().unwrap_or_default();
            let name = r.vars.get("name").cloned().unwrap_or_default();
            let Some(p) = of_plan(&plan) else { continue };
            covered_names.push(name.trim().to_lowercase());
            let mrr = r.vars.get("mrr").and_then(|m| amount(m));
            credits.push(CustomerCredit {
                email: r.email,
                name,
                plan: p.plan.clone(),
                availability: p.availability,
                credit_percent: p.credit,
                credit_amount: mrr.map(|v| credit_amount(v, p.credit)),
                mrr,
            });
        }
    }
    let goodwill = rows
        .contacts
        .iter()
        .filter(|c| {
            let name = c
                .customer_name
                .as_deref()
                .unwrap_or("")
                .trim()
                .to_lowercase();
            name.is_empty() || !covered_names.contains(&name)
        })
        .map(|c| Goodwill {
            incident_id: c.incident_id,
            customer: c
                .customer_name
                .clone()
                .unwrap_or_else(|| "(no name)".to_owned()),
            subject: c.subject.clone(),
        })
        .collect();
    Ok(Report {
        period,
        label,
        plans: plan_reports,
        customers: credits,
        goodwill,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn months_begin_at_midnight_in_their_zone_across_clock_changes() {
        let berlin = chrono_tz::Europe::Berlin;
        let cases = [
            // (month, zone, first instant, hours in the month)
            ("2026-11", chrono_tz::UTC, "2026-11-01T00:00:00Z", 720),
            ("2026-03", berlin, "2026-02-28T23:00:00Z", 743),
            ("2026-10", berlin, "2026-09-30T22:00:00Z", 745),
            (
                "2026-12",
                chrono_tz::America::New_York,
                "2026-12-01T05:00:00Z",
                744,
            ),
            ("2027-02", chrono_tz::UTC, "2027-02-01T00:00:00Z", 672),
        ];
        for (text, tz, first, hours) in cases {
            let (p, _) = month(text, tz).expect("month");
            let want = chrono::DateTime::parse_from_rfc3339(first)
                .expect("time")
                .timestamp_millis();
            assert_eq!(p.from, want, "{text} in {tz}");
            assert_eq!((p.to - p.from) / HOUR_MS, hours, "{text} in {tz}");
        }
        assert_eq!(
            month("2026-11", chrono_tz::UTC).expect("month").1,
            "November 2026 (UTC)"
        );
        for bad in ["2026", "2026-13", "26-1x", ""] {
            assert!(month(bad, chrono_tz::UTC).is_err(), "{bad}");
        }
        assert_eq!(
            instant("2026-11-03", berlin).expect("date"),
            chrono::DateTime::parse_from_rfc3339("2026-11-02T23:00:00Z")
                .expect("t")
                .timestamp_millis()
        );
        assert!(instant("yesterday", berlin).is_err());
    }

    #[test]
    fn the_status_page_s_words_become_weighted_time_and_maintenance() {
        let t = |m: i64| datetime!(2026-11-03 10:00 UTC) + time::Duration::minutes(m);
        let u = |id, state: &str, m, comps: &[(&str, &str)]| PublicUpdateRow {
            public_id: id,
            state: state.to_owned(),
            posted_at: t(m),
            components: comps
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        };
        let updates = [
            u(1, "investigating", 0, &[("API", "partial_outage")]),
            u(1, "identified", 30, &[("API", "major_outage")]),
            u(1, "resolved", 90, &[("API", "operational")]),
            u(2, "in_progress", 200, &[("API", "under_maintenance")]),
            u(2, "completed", 260, &[("API", "operational")]),
        ];
        let p = posted(&updates, ms(t(1_000)));
        let api = &p.statuses["API"];
        assert_eq!(
            api.iter()
                .map(|((a, b), s)| ((b - a) / 60_000, s.as_str()))
                .collect::<Vec<_>>(),
            [
                (30, "partial_outage"),
                (60, "major_outage"),
                (60, "under_maintenance")
            ]
        );
        assert_eq!(p.maintenance.len(), 1);
        assert_eq!((p.maintenance[0].0 .1 - p.maintenance[0].0 .0) / 60_000, 60);
    }

    #[tokio::test]
    async fn credits_go_to_the_plan_s_customers_and_the_others_who_wrote_in_are_goodwill_candidates(
    ) {
        use crate::incident::{Severity, Signal};
        use crate::store::{raise_signal, record_seen, NewSeen};
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let opened = datetime!(2026-11-03 10:00 UTC);
        let signal = Signal {
            dedup_key: "monitor:api".into(),
            group_key: "monitor:api".into(),
            source: "monitor".into(),
            origin: "monitor api".into(),
            summary: "api is down".into(),
            severity: Severity::Critical,
            link: None,
            at: opened,
            evidence: "HTTP 500".into(),
            auto_resolve: true,
        };
        let incident = store
            .write(move |tx| raise_signal(tx, &signal, time::Duration::ZERO))
            .await
            .expect("raised")
            .incident
            .id;
        store
            .write(move |tx| {
                let seen = [
                    NewSeen {
                        conversation_id: "1",
                        customer_name: Some("Ada"),
                        subject: "API down?",
                        waiting_since: None,
                    },
                    NewSeen {
                        conversation_id: "2",
                        customer_name: Some("Bob"),
                        subject: "Cannot log in",
                        waiting_since: None,
                    },
                ];
                record_seen(tx, incident, &seen, opened)
            })
            .await
            .expect("seen");
        let list = dir.path().join("customers.csv");
        std::fs::write(
            &list,
            "email,name,plan,mrr\nada@x.test,Ada,enterprise,$1200\nbob@x.test,Bob,team,40\n",
        )
        .expect("list");
        let config: Config = toml::from_str(
            "[[monitors]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\n\n\
             [status]\nproduct = \"Acme\"\ncomponents = [{ name = \"API\", monitors = [\"api\"] }]\n\n\
             [[sla.plans]]\nplan = \"Enterprise\"\ntarget = \"99.9%\"\ncomponents = [\"API\"]\n\
             credits = [{ below = \"99.9%\", credit = \"10%\" }]\n",
        )
        .expect("config");
        let (period, label) = month("2026-11", chrono_tz::UTC).expect("month");
        let r = report(
            &store,
            &config,
            period,
            label,
            datetime!(2026-12-01 00:00 UTC),
            Some(&list),
        )
        .expect("report");
        assert_eq!(
            r.plans[0].components[0].incidents,
            vec![(incident, "api is down".to_owned())]
        );
        assert_eq!(r.customers.len(), 1, "{:?}", r.customers);
        assert_eq!(
            (r.customers[0].email.as_str(), r.customers[0].plan.as_str()),
            ("ada@x.test", "Enterprise")
        );
        // Nothing measured the month: unknown, not downtime, so no credit is owed.
        assert_eq!(r.customers[0].credit_percent, 0.0);
        assert_eq!(
            r.goodwill,
            vec![Goodwill {
                incident_id: incident,
                customer: "Bob".into(),
                subject: "Cannot log in".into()
            }]
        );
    }

    #[test]
    fn amounts_are_read_as_lists_write_them() {
        for (text, want) in [
            ("1,200.50", Some(1200.5)),
            ("$99", Some(99.0)),
            ("€ 49", Some(49.0)),
            ("", None),
            ("n/a", None),
        ] {
            assert_eq!(amount(text), want, "{text}");
        }
    }
}
