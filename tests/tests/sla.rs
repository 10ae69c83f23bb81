//! The SLA report through the real binary: the engine checks a monitor that is up, then down
//! for a few seconds, then up again; `foghorn sla report` over that stretch measures the
//! downtime the checks show (a failing check until the next check), finds the enterprise
//! plan's target breached, names the incident, and owes each enterprise customer on the list
//! the credit of the tier reached — in the billing CSV too — and nothing to customers of a
//! plan without a guarantee. `--chart` writes each plan's daily availability as an SVG: a
//! bar for each day of the month so far, and the target as a line.

use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::paths::foghorn_command;
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::{wait_until, Target};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn config(target: &str) -> String {
    format!(
        r#"[[monitors]]
name = "api"
url = "{target}"
interval = "1s"
timeout = "2s"
failure_threshold = 1

[status]
product = "Acme"
components = [{{ name = "API", monitors = ["api"] }}]

[[sla.plans]]
plan = "enterprise"
target = "99.9%"
components = ["API"]
credits = [{{ below = "99.9%", credit = "10%" }}, {{ below = "99%", credit = "25%" }}]
"#
    )
}

struct Laptop {
    home: tempfile::TempDir,
}

impl Laptop {
    fn command(&self) -> Result<Command> {
        let mut cmd = foghorn_command(self.home.path())?;
        cmd.env("FOGHORN_DATA_DIR", self.home.path().join("data"))
            .arg("--config")
            .arg(self.home.path().join("foghorn.toml"));
        Ok(cmd)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command()?.args(args).output()?)
    }

    fn checks(&self) -> Result<Vec<(i64, bool)>> {
        let db = rusqlite::Connection::open_with_flags(
            self.home.path().join("data/foghorn.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut stmt = db.prepare("SELECT at, ok FROM check_results ORDER BY at")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn rfc3339(ms: i64) -> Result<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)?;
    Ok(t.format(&time::format_description::well_known::Rfc3339)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_s_report_measures_the_checks_and_owes_the_tier_s_credit() -> Result<()> {
    let target = Target::start().await?;
    let laptop = Laptop {
        home: tempfile::tempdir()?,
    };
    std::fs::write(
        laptop.home.path().join("foghorn.toml"),
        config(&target.url()),
    )?;
    std::fs::write(
        laptop.home.path().join("customers.csv"),
        "email,name,plan,mrr\n\
         ada@example.com,Ada,enterprise,\"1,000.00\"\n\
         bob@example.com,Bob,team,50\n\
         cy@example.com,Cy,Enterprise,\n",
    )?;
    let mut engine = {
        let mut cmd = laptop.command()?;
        cmd.args(["run", "--headless"]);
        ChildGuard::spawn("sla-engine", cmd, laptop.home.path())?
    };
    let passing =
        |n: usize| move |checks: &[(i64, bool)]| checks.iter().filter(|(_, ok)| *ok).count() >= n;
    wait_until(WAIT, "three passing checks", || {
        Ok(passing(3)(&laptop.checks()?).then_some(()))
    })?;
    target.set_healthy(false);
    wait_until(WAIT, "three failing checks", || {
        let checks = laptop.checks()?;
        Ok((checks.iter().filter(|(_, ok)| !ok).count() >= 3).then_some(()))
    })?;
    target.set_healthy(true);
    wait_until(WAIT, "two passing checks after the outage", || {
        let checks = laptop.checks()?;
        let last_fail = checks.iter().rposition(|(_, ok)| !ok).unwrap_or(0);
        Ok((checks[last_fail..].iter().filter(|(_, ok)| *ok).count() >= 2).then_some(()))
    })?;
    engine.terminate();

    // The range: from the first check to the last, as the evidence shows it.
    let checks = laptop.checks()?;
    let (from, to) = (checks[0].0, checks[checks.len() - 1].0);
    let mut down = 0i64;
    for (i, (at, ok)) in checks.iter().enumerate() {
        if !ok {
            let next = checks.get(i + 1).map_or(to, |n| n.0);
            down += next.min(to) - at;
        }
    }
    let want = 100.0 * (1.0 - down as f64 / (to - from) as f64);
    let (from_arg, to_arg) = (rfc3339(from)?, rfc3339(to)?);
    let args = [
        "sla",
        "report",
        "--from",
        &from_arg,
        "--to",
        &to_arg,
        "--customers",
    ];
    let list = laptop
        .home
        .path()
        .join("customers.csv")
        .display()
        .to_string();
    let out = laptop.run(&[&args[..], &[&list, "--json"]].concat())?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout)?;
    let plan = &report["plans"][0];
    let api = &plan["components"][0];
    let got = api["availability"].as_f64().context("availability")?;
    ensure!(
        (got - want).abs() < 1e-6,
        "availability {got} from the checks' {down} ms down of {} ms: {want}",
        to - from
    );
    ensure!(
        plan["breached"] == true && api["breached"] == true,
        "{plan}"
    );
    ensure!(
        (api["downtimeMs"].as_f64().unwrap_or(0.0) - down as f64).abs() < 1e-6,
        "downtime {}",
        api["downtimeMs"]
    );
    ensure!(
        api["incidents"][0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("api")),
        "the incident that cost it: {}",
        api["incidents"]
    );
    // Down for seconds out of some ten: far below 99 %, the 25 % tier.
    ensure!(plan["creditPercent"] == 25.0, "{plan}");
    let customers = report["customers"].as_array().context("customers")?;
    ensure!(
        customers.len() == 2
            && customers[0]["email"] == "ada@example.com"
            && customers[0]["credit"] == 250.0
            && customers[1]["email"] == "cy@example.com"
            && customers[1]["credit"].is_null(),
        "enterprise customers only, Ada owed 250.00 of 1,000.00: {customers:?}"
    );

    // The billing CSV.
    let out = laptop.run(&[&args[..], &[&list, "--csv"]].concat())?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout)?;
    let lines: Vec<&str> = csv.lines().collect();
    ensure!(
        lines.first() == Some(&"email,name,plan,mrr,availability,credit_percent,credit")
            && lines.len() == 3
            && lines[1].starts_with("ada@example.com,Ada,enterprise,1000.00,")
            && lines[1].ends_with(",25,250.00"),
        "{csv}"
    );

    // In words.
    let out = laptop.run(&[&args[..], &[&list]].concat())?;
    let said = String::from_utf8_lossy(&out.stdout);
    ensure!(
        said.contains("enterprise — target 99.9%")
            && said.contains("BREACHED, credit 25% of the month's fee")
            && said
                .contains("Credits: 1 of 2 customers with a guarantee are owed one, 250.00 in all")
            || said.contains("Credits: 2 of 2"),
        "{said}"
    );

    // A month is counted from midnight: this one, so far, has the same outage in it.
    let month = time::OffsetDateTime::now_utc();
    let out = laptop.run(&[
        "sla",
        "report",
        "--month",
        &format!("{}-{:02}", month.year(), u8::from(month.month())),
        "--json",
    ])?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout)?;
    // The same month's chart: a bar for each day so far (months are UTC here).
    let chart = laptop.home.path().join("month.svg");
    let out = laptop.run(&[
        "sla",
        "report",
        "--month",
        &format!("{}-{:02}", month.year(), u8::from(month.month())),
        "--chart",
        &chart.display().to_string(),
    ])?;
    ensure!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("enterprise — target 99.9%"),
        "the report is printed as before: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&chart)?;
    ensure!(
        bars(&svg) == usize::from(time::OffsetDateTime::now_utc().day()),
        "a bar for each day of the month so far: {svg}"
    );
    ensure!(
        report["plans"][0]["components"][0]["downtimeMs"]
            .as_f64()
            .is_some_and(|d| (d - down as f64).abs() < 1e-6),
        "the month holds the outage: {report}"
    );
    // Bad input is named.
    let out = laptop.run(&["sla", "report", "--month", "2026-13"])?;
    ensure!(
        out.status.code() == Some(2)
            && String::from_utf8_lossy(&out.stderr).contains("\"2026-13\" is not a month"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The day bars of a chart: its green and red rectangles, less the legend's two squares.
fn bars(svg: &str) -> usize {
    let coloured =
        svg.matches("fill=\"#2E9E5B\"").count() + svg.matches("fill=\"#D64541\"").count();
    coloured.saturating_sub(2)
}

#[test]
fn a_month_s_chart_has_a_bar_for_each_of_its_days_and_the_target_as_a_line() -> Result<()> {
    let home = tempfile::tempdir()?;
    std::fs::write(
        home.path().join("foghorn.toml"),
        config("http://127.0.0.1:9/").replace(
            "[[sla.plans]]",
            "[sla]\ntime_zone = \"Europe/Berlin\"\n\n[[sla.plans]]",
        ),
    )?;
    let laptop = Laptop { home };
    let chart = laptop.home.path().join("november.svg");
    let out = laptop.run(&[
        "sla",
        "report",
        "--month",
        "2026-11",
        "--chart",
        &chart.display().to_string(),
    ])?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("SLA report, November 2026 (Europe/Berlin)"),
        "the report in words, as without --chart: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let svg = std::fs::read_to_string(&chart)?;
    ensure!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>") && !svg.contains("href"),
        "one SVG that loads nothing: {svg}"
    );
    // Nothing was checked: unknown, not downtime, so every day is at 100 % and met.
    ensure!(bars(&svg) == 30, "thirty days, thirty bars: {svg}");
    ensure!(
        svg.matches("fill=\"#D64541\"").count() == 1,
        "no day below the target (the red is the legend's): {svg}"
    );
    ensure!(
        svg.contains("enterprise — target 99.9%") && svg.contains("stroke=\"#1F4E79\""),
        "the plan's target as a line: {svg}"
    );
    ensure!(
        svg.contains("\n30\n</text>") && !svg.contains("\n31\n</text>"),
        "November's days on the axis"
    );
    // An unwritable place is named.
    let out = laptop.run(&[
        "sla",
        "report",
        "--month",
        "2026-11",
        "--chart",
        "/nonexistent/dir/chart.svg",
    ])?;
    ensure!(
        out.status.code() == Some(1)
            && String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir/chart.svg"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
