//! `[sla]`: what each plan's customers were promised (see [`crate::sla`]).

use serde::{Deserialize, Deserializer};

/// The plans with an uptime guarantee. Without `[sla]`, no customer is owed a credit
/// automatically, and the report only lists goodwill candidates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// The zone months are counted in ("2026-11" from midnight on the 1st there); UTC by
    /// default, as most contracts say.
    #[serde(default, deserialize_with = "super::status::optional_time_zone")]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub plans: Vec<SlaPlan>,
}

/// One plan's guarantee.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPlan {
    /// The value of the customer list's `plan` column this applies to.
    pub plan: String,
    /// Monthly availability promised, as a percentage: `"99.9%"`.
    #[serde(deserialize_with = "percent")]
    pub target: f64,
    /// `[status]` components measured (by their monitors); a plan is breached when any of
    /// them is below the target.
    #[serde(default)]
    pub components: Vec<String>,
    /// Monitors measured directly (by name), besides the components'.
    #[serde(default)]
    pub monitors: Vec<String>,
    /// How much a period the public status page showed as a partial outage counts, from 0 to
    /// 1 (0.3: thirty percent of it is downtime). A monitor failing always counts in full.
    #[serde(default = "default_partial")]
    pub partial_outage_weight: f64,
    /// The same for a period shown as degraded performance (0 by default: slow is not down).
    #[serde(default)]
    pub degraded_weight: f64,
    /// Scheduled maintenance announced through status updates is not downtime (default true).
    #[serde(default = "yes")]
    pub exclude_maintenance: bool,
    /// Time no check ran (the laptop asleep or offline) counts as downtime (default false:
    /// unknown is not down).
    #[serde(default)]
    pub unknown_is_downtime: bool,
    /// Credits by breach: the lowest tier whose `below` the availability is under applies.
    #[serde(default)]
    pub credits: Vec<CreditTier>,
}

/// `{ below = "99.9%", credit = "10%" }`: under 99.9 % availability, 10 % of the month's fee.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditTier {
    #[serde(deserialize_with = "percent")]
    pub below: f64,
    #[serde(deserialize_with = "percent")]
    pub credit: f64,
}

fn default_partial() -> f64 {
    0.3
}

fn yes() -> bool {
    true
}

/// `"99.9%"`, `"99.9"` or `99.9`.
fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Number(f64),
    }
    let value = match Written::deserialize(d)? {
        Written::Number(n) => n,
        Written::Text(t) => t.trim().trim_end_matches('%').trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("{t:?} is not a percentage such as \"99.9%\""))
        })?,
    };
    if !(0.0..=100.0).contains(&value) || value.is_nan() {
        return Err(serde::de::Error::custom(format!(
            "{value} is not a percentage between 0 and 100"
        )));
    }
    Ok(value)
}

impl SlaConfig {
    /// What is wrong with the plans, if anything: names that do not exist, weights outside
    /// 0–1, credits not growing as availability falls.
    pub(crate) fn check(&self, components: &[String], monitors: &[String]) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.plans.iter().enumerate() {
            let at = format!("sla.plans[{i}] ({:?})", p.plan);
            if p.plan.trim().is_empty() {
                return Err(format!("sla.plans[{i}]: `plan` must not be empty"));
            }
            if !seen.insert(p.plan.trim().to_lowercase()) {
                return Err(format!("{at}: the plan is listed twice"));
            }
            if p.components.is_empty() && p.monitors.is_empty() {
                return Err(format!(
                    "{at}: name the `components` (of [status]) or `monitors` it measures"
                ));
            }
            for c in &p.components {
                if !components.contains(c) {
                    return Err(format!("{at}: there is no [status] component {c:?}"));
                }
            }
            for m in &p.monitors {
                if !monitors.contains(m) {
                    return Err(format!("{at}: there is no monitor {m:?}"));
                }
            }
            for (name, w) in [
                ("partial_outage_weight", p.partial_outage_weight),
                ("degraded_weight", p.degraded_weight),
            ] {
                if !(0.0..=1.0).contains(&w) {
                    return Err(format!("{at}: `{name}` must be between 0 and 1, not {w}"));
                }
            }
            let mut tiers = p.credits.clone();
            tiers.sort_by(|a, b| b.below.total_cmp(&a.below));
            if tiers.windows(2).any(|w| w[1].credit < w[0].credit) {
                return Err(format!(
                    "{at}: a lower availability must not earn a smaller credit ({:?})",
                    p.credits
                        .iter()
                        .map(|t| format!("below {}% → {}%", t.below, t.credit))
                        .collect::<Vec<_>>()
                ));
            }
        }
        Ok(())
    }
}
