//! The SLA report in the real window, driven through tauri-driver: the engine sees a monitor
//! down for a few seconds this month; the founder view's "SLA & refunds", given the customer
//! list, shows the month's daily chart, the enterprise plan breached with the incident named,
//! and the credit each enterprise customer is owed — and nothing owed to the plan without a
//! guarantee.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::{artifacts_dir, foghorn_bin, AppLaunch, Desktop, Target, WebDriverSession};

/// The app's start and an outage, on a loaded machine.
const START: Duration = Duration::from_secs(60);
/// One step in the window.
const STEP: Duration = Duration::from_secs(20);

/// A target no month-to-date can meet after seconds of downtime (2.7 s over 31 days), so
/// the test does not depend on the day of the month it runs.
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
target = "99.9999%"
components = ["API"]
credits = [{{ below = "99.9999%", credit = "10%" }}, {{ below = "50%", credit = "100%" }}]
"#
    )
}

const CUSTOMERS: &str = "email,name,plan,mrr\n\
                         ada@example.com,Ada,enterprise,500\n\
                         bob@example.com,Bob,starter,20\n\
                         cy@example.com,Cy,enterprise,\n";

fn launch(dir: &Path, config: &Path) -> AppLaunch {
    AppLaunch::new(foghorn_bin().unwrap_or_default())
        .env("FOGHORN_CONFIG", config.display().to_string())
        .env("FOGHORN_DATA_DIR", dir.join("data").display().to_string())
        .arg("run")
        .arg("--show-window")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_founder_sees_the_month_breached_and_who_is_owed_what() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let target = Target::start().await?;
    let config_path = desktop.dir().join("foghorn.toml");
    std::fs::write(&config_path, config(&target.url()))?;
    let list = desktop.dir().join("customers.csv");
    std::fs::write(&list, CUSTOMERS)?;
    let driver = WebDriverSession::start(&desktop, &launch(desktop.dir(), &config_path)).await?;

    // Down for a few checks, then back: one incident, seconds of downtime.
    driver
        .wait_for_element("[data-testid=view-engineer]", START)
        .await?;
    target.set_healthy(false);
    driver
        .wait_for_open_incidents(1, START)
        .await
        .context("the incident opens")?;
    target.answer_more(4, START).await?;
    target.set_healthy(true);
    driver
        .wait_for_open_incidents(0, START)
        .await
        .context("the incident resolved")?;

    driver.click("[data-testid=view-founder]").await?;
    driver.click("[data-testid=founder-sla]").await?;
    let field = driver
        .wait_for_element("[data-testid=sla-customers]", STEP)
        .await?;
    field.click().await?;
    field.send_keys(&list.display().to_string()).await?;
    // The path is taken when the field is left.
    driver.click("[data-testid=sla-label]").await?;

    let owed = driver
        .wait_for_content(
            "[data-testid=sla-owed]",
            |t| t.contains("2 of 2 customers"),
            STEP,
        )
        .await?;
    ensure!(
        owed.contains("Ada (enterprise): 10 % = 50.00")
            && owed.contains("Cy (enterprise): 10 %")
            && !owed.contains("Bob"),
        "the enterprise customers are owed the first tier, the starter plan nothing: {owed}"
    );
    let plan = driver
        .text("[data-testid=sla-plan][data-plan=enterprise]")
        .await?;
    ensure!(
        plan.contains("breached")
            && plan.contains("of 99.9999 %")
            && !plan.contains("100 % of")
            && plan.contains("#1 api is down"),
        "the plan is breached by the incident: {plan}"
    );
    let bars = driver
        .execute(
            "return document.querySelectorAll('[data-testid=sla-chart] svg rect').length;",
            vec![],
        )
        .await?;
    ensure!(
        bars.as_u64() > Some(1),
        "the month's chart is drawn: {bars}"
    );
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("sla-window.png"),
        STEP,
    )?;
    driver.close().await?;
    Ok(())
}
