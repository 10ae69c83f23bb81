//! The SLA report as the window shows it: one month per plan and component, the credits owed
//! when a customer list is given, and the goodwill candidates — the same numbers as
//! `foghorn sla report`, computed by [`super::report::report`].

use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;
use ts_rs::TS;

use super::report::{self, Report, SlaError};
use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SlaView {
    /// "November 2026 (Europe/Berlin)".
    pub label: String,
    /// `YYYY-MM`, as asked.
    pub month: String,
    pub plans: Vec<SlaPlanView>,
    /// Customers on a plan with a guarantee who are owed a credit (with a list).
    pub owed: Vec<SlaCreditView>,
    /// How many customers on the list have a guarantee.
    #[ts(type = "number")]
    pub guaranteed: u64,
    /// Sum of the credits owed where the list has the customer's `mrr`.
    pub owed_total: Option<f64>,
    pub goodwill: Vec<SlaGoodwillView>,
    /// The month's availability per day, drawn as SVG (from the core, inline, no remote
    /// content).
    pub chart: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SlaPlanView {
    pub plan: String,
    /// Percent, e.g. 99.9.
    pub target: f64,
    pub availability: f64,
    pub breached: bool,
    /// Percent of the month's fee.
    pub credit: f64,
    pub components: Vec<SlaComponentView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SlaComponentView {
    pub name: String,
    pub availability: f64,
    #[ts(type = "number")]
    pub downtime_ms: i64,
    #[ts(type = "number")]
    pub allowed_ms: i64,
    #[ts(type = "number")]
    pub unknown_ms: i64,
    pub breached: bool,
    /// Incidents of its monitors in the month: `#12 API is down`.
    pub incidents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SlaCreditView {
    pub email: String,
    pub name: String,
    pub plan: String,
    pub credit_percent: f64,
    pub credit_amount: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SlaGoodwillView {
    #[ts(type = "number")]
    pub incident_id: i64,
    pub customer: String,
    pub subject: String,
}

/// The report of `month` (`YYYY-MM` in `[sla] time_zone`), with the credits owed to the
/// customers on `customers` (a CSV with `email`, `plan`, `mrr`) when given.
pub fn month_view(
    store: &Store,
    config: &Config,
    month: &str,
    customers: Option<&Path>,
    now: OffsetDateTime,
) -> Result<SlaView, SlaError> {
    let tz = report::zone(config);
    let (period, label) = report::month(month, tz)?;
    let r = report::report(store, config, period, label, now, customers)?;
    let chart = super::chart::of_report(&r, tz);
    Ok(view(month, r, chart))
}

fn view(month: &str, r: Report, chart: String) -> SlaView {
    let owed: Vec<SlaCreditView> = r
        .customers
        .iter()
        .filter(|c| c.credit_percent > 0.0)
        .map(|c| SlaCreditView {
            email: c.email.clone(),
            name: c.name.clone(),
            plan: c.plan.clone(),
            credit_percent: c.credit_percent,
            credit_amount: c.credit_amount,
        })
        .collect();
    let amounts: Vec<f64> = owed.iter().filter_map(|c| c.credit_amount).collect();
    SlaView {
        label: r.label,
        month: month.trim().to_owned(),
        guaranteed: r.customers.len() as u64,
        owed_total: (!amounts.is_empty()).then(|| amounts.iter().sum()),
        owed,
        plans: r
            .plans
            .into_iter()
            .map(|p| SlaPlanView {
                plan: p.plan,
                target: p.target,
                availability: p.availability,
                breached: p.breached,
                credit: p.credit,
                components: p
                    .components
                    .into_iter()
                    .map(|c| SlaComponentView {
                        name: c.name,
                        availability: c.measured.availability,
                        downtime_ms: c.measured.downtime_ms.round() as i64,
                        allowed_ms: c.measured.allowed_ms.round() as i64,
                        unknown_ms: c.measured.unknown_ms,
                        breached: c.measured.breached,
                        incidents: c
                            .incidents
                            .into_iter()
                            .map(|(id, title)| format!("#{id} {title}"))
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
        goodwill: r
            .goodwill
            .into_iter()
            .map(|g| SlaGoodwillView {
                incident_id: g.incident_id,
                customer: g.customer,
                subject: g.subject,
            })
            .collect(),
        chart,
    }
}

/// The window's SLA report, on the engine's database, the configuration read at each use.
#[derive(Clone)]
pub struct SlaDesk {
    store: Store,
    config: crate::postmortem::desk::ConfigSource,
}

impl std::fmt::Debug for SlaDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlaDesk").finish_non_exhaustive()
    }
}

impl SlaDesk {
    pub fn new(store: Store, config: crate::postmortem::desk::ConfigSource) -> Self {
        SlaDesk { store, config }
    }

    /// The report of `month`; `customers` is the list's full path or `~/…` (empty: none).
    pub fn month(&self, month: &str, customers: &str) -> Result<SlaView, SlaError> {
        let config = (self.config)().map_err(SlaError::Config)?;
        let typed = customers.trim();
        let list = if typed.is_empty() {
            None
        } else {
            let mut path = std::path::PathBuf::from(typed);
            if let Ok(rest) = path.strip_prefix("~") {
                if let Some(home) = directories::BaseDirs::new() {
                    path = home.home_dir().join(rest);
                }
            }
            if path.is_relative() {
                return Err(SlaError::ListPath(typed.to_owned()));
            }
            Some(path)
        };
        month_view(
            &self.store,
            &config,
            month,
            list.as_deref(),
            OffsetDateTime::now_utc(),
        )
    }
}
