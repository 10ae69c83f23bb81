//! `foghorn sla report`: each plan's availability for a month or a range against its
//! `[sla]` target, the credits owed to the customers on a list (as CSV for billing), and the
//! customers without a guarantee who wrote in during the incidents.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use foghorn_core::notify::human_duration;
use foghorn_core::sla::report::{self, Report};
use foghorn_core::sla::Period;
use serde_json::json;
use time::OffsetDateTime;

use super::status::{fail, load, open_store};

#[derive(Debug, Subcommand)]
pub enum SlaAction {
    /// The SLA report of a month (or --from/--to), per plan and component.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The month, YYYY-MM, counted in `[sla] time_zone` (UTC by default).
    #[arg(long, conflicts_with_all = ["from", "to"], required_unless_present = "from")]
    month: Option<String>,
    /// The start of a range: RFC 3339 or a date.
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// The end of the range (not included).
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// The customer list (CSV with `email`, `plan` and `mrr` columns): each customer's credit.
    #[arg(long, value_name = "CUSTOMERS.csv")]
    customers: Option<PathBuf>,
    /// The credits as CSV for billing (email,name,plan,mrr,availability,credit_percent,credit).
    #[arg(long, conflicts_with = "json", requires = "customers")]
    csv: bool,
    /// One JSON document.
    #[arg(long)]
    json: bool,
    /// Also write the chart of each plan's daily availability against its target (SVG).
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
}

/// Exit 2: the input is wrong.
fn invalid(message: &str) -> ExitCode {
    eprintln!("foghorn: {message}");
    ExitCode::from(2)
}

pub fn sla(config: Option<&Path>, action: SlaAction) -> ExitCode {
    match action {
        SlaAction::Report(args) => report_command(config, args),
    }
}

fn minutes(ms: f64) -> String {
    human_duration(time::Duration::milliseconds(ms.round() as i64))
}

fn report_command(config: Option<&Path>, args: ReportArgs) -> ExitCode {
    let config = match load(config) {
        Ok(c) => c,
        Err(e) => return invalid(&e),
    };
    if config.sla.plans.is_empty() {
        eprintln!(
            "foghorn: no plan has an uptime guarantee ([[sla.plans]]): no credits are owed automatically"
        );
    }
    let tz = report::zone(&config);
    let period = match (&args.month, &args.from, &args.to) {
        (Some(m), _, _) => report::month(m, tz),
        (None, Some(from), Some(to)) => report::instant(from, tz).and_then(|f| {
            let t = report::instant(to, tz)?;
            Ok((
                Period { from: f, to: t },
                format!("{from} to {to} ({})", tz.name()),
            ))
        }),
        _ => return invalid("give --month YYYY-MM, or --from and --to"),
    };
    let (period, label) = match period {
        Ok(p) => p,
        Err(e) => return invalid(&e.to_string()),
    };
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let now = OffsetDateTime::now_utc();
    let r = match report::report(
        &store,
        &config,
        period,
        label,
        now,
        args.customers.as_deref(),
    ) {
        Ok(r) => r,
        Err(e @ report::SlaError::Store(_)) => return fail(&e.to_string()),
        Err(e) => return invalid(&e.to_string()),
    };
    if let Some(path) = &args.chart {
        let svg = foghorn_core::sla::chart::of_report(&r, tz);
        if let Err(e) = std::fs::write(path, svg) {
            return fail(&format!(
                "cannot write the chart to {}: {e}",
                path.display()
            ));
        }
    }
    if args.csv {
        return csv(&r);
    }
    if args.json {
        println!("{}", as_json(&r));
        return ExitCode::SUCCESS;
    }
    println!("SLA report, {}", r.label);
    for p in &r.plans {
        println!(
            "\n{} — target {}%: {:.3}% {}{}",
            p.plan,
            p.target,
            p.availability,
            if p.breached { "BREACHED" } else { "met" },
            if p.credit > 0.0 {
                format!(", credit {}% of the month's fee", p.credit)
            } else {
                String::new()
            }
        );
        for c in &p.components {
            let m = &c.measured;
            println!(
                "  {:<20} {:>8.3}%  down {} of {} allowed{}{}{}",
                c.name,
                m.availability,
                minutes(m.downtime_ms),
                minutes(m.allowed_ms),
                if m.breached { "  BREACHED" } else { "" },
                if m.excluded_ms > 0 {
                    format!("; maintenance {} left out", minutes(m.excluded_ms as f64))
                } else {
                    String::new()
                },
                if m.unknown_ms > 0 {
                    format!("; not checked for {}", minutes(m.unknown_ms as f64))
                } else {
                    String::new()
                },
            );
            for (id, title) in &c.incidents {
                println!("      incident #{id}: {title}");
            }
        }
    }
    if args.customers.is_some() {
        let owed: Vec<_> = r
            .customers
            .iter()
            .filter(|c| c.credit_percent > 0.0)
            .collect();
        let total: f64 = owed.iter().filter_map(|c| c.credit_amount).sum();
        println!(
            "\nCredits: {} of {} customers with a guarantee are owed one{}",
            owed.len(),
            r.customers.len(),
            if total > 0.0 {
                format!(", {total:.2} in all")
            } else {
                String::new()
            }
        );
        for c in owed.iter().take(50) {
            println!(
                "  {:<32} {:<12} {}%{}",
                c.email,
                c.plan,
                c.credit_percent,
                c.credit_amount
                    .map(|a| format!(" = {a:.2}"))
                    .unwrap_or_default()
            );
        }
        if owed.len() > 50 {
            println!("  … and {} more (--csv lists them all)", owed.len() - 50);
        }
    }
    if !r.goodwill.is_empty() {
        println!("\nWrote in during the incidents, without a guarantee (a goodwill refund is a person's call):");
        for g in &r.goodwill {
            println!(
                "  {} — \"{}\" (incident #{})",
                g.customer, g.subject, g.incident_id
            );
        }
    }
    ExitCode::SUCCESS
}

fn csv(r: &Report) -> ExitCode {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    let header = [
        "email",
        "name",
        "plan",
        "mrr",
        "availability",
        "credit_percent",
        "credit",
    ];
    let mut write = || -> Result<(), csv::Error> {
        out.write_record(header)?;
        for c in &r.customers {
            out.write_record([
                c.email.as_str(),
                c.name.as_str(),
                c.plan.as_str(),
                &c.mrr.map(|m| format!("{m:.2}")).unwrap_or_default(),
                &format!("{:.4}", c.availability),
                &format!("{}", c.credit_percent),
                &c.credit_amount
                    .map(|a| format!("{a:.2}"))
                    .unwrap_or_default(),
            ])?;
        }
        out.flush()?;
        Ok(())
    };
    match write() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

fn as_json(r: &Report) -> serde_json::Value {
    json!({
        "label": r.label,
        "from": r.period.from,
        "to": r.period.to,
        "plans": r.plans.iter().map(|p| json!({
            "plan": p.plan,
            "target": p.target,
            "availability": p.availability,
            "breached": p.breached,
            "creditPercent": p.credit,
            "components": p.components.iter().map(|c| json!({
                "name": c.name,
                "availability": c.measured.availability,
                "downtimeMs": c.measured.downtime_ms,
                "allowedMs": c.measured.allowed_ms,
                "periodMs": c.measured.period_ms,
                "excludedMs": c.measured.excluded_ms,
                "unknownMs": c.measured.unknown_ms,
                "breached": c.measured.breached,
                "incidents": c.incidents.iter().map(|(id, t)| json!({"id": id, "title": t})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "customers": r.customers.iter().map(|c| json!({
            "email": c.email, "name": c.name, "plan": c.plan, "mrr": c.mrr,
            "availability": c.availability, "creditPercent": c.credit_percent, "credit": c.credit_amount,
        })).collect::<Vec<_>>(),
        "goodwill": r.goodwill.iter().map(|g| json!({
            "incident": g.incident_id, "customer": g.customer, "subject": g.subject,
        })).collect::<Vec<_>>(),
    })
}
