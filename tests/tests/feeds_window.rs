//! The window's feed list, driven through tauri-driver: the real binary starts from a
//! configuration file with a real Alertmanager holding two alerts and a second feed nobody
//! answers at; the Feeds tab shows the first ok with its two alerts and a latency, the second
//! failing with the reason, and the tab's badge counts the failing one.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Result};
use foghorn_e2e::{
    artifacts_dir, foghorn_bin, free_port, Alertmanager, AppLaunch, Desktop, WebDriverSession,
};

/// The app's start and its first polls, on a loaded machine.
const START: Duration = Duration::from_secs(60);
/// One step in the window.
const STEP: Duration = Duration::from_secs(20);

/// The second feed is never answered; `unreachable_after` keeps its "you might be missing
/// alerts" incident (and its alarm) out of this test, which is about the list.
fn config(am: &str, nobody: u16) -> String {
    format!(
        r#"[team]
secret = "env:FOGHORN_TEAM_SECRET"

[[feeds]]
kind = "alertmanager"
name = "team-am"
url = "{am}"
poll_every = "1s"

[[feeds]]
kind = "alertmanager"
name = "backup-am"
url = "http://127.0.0.1:{nobody}"
poll_every = "1s"
unreachable_after = 1000
"#
    )
}

fn launch(dir: &Path, config: &Path) -> AppLaunch {
    AppLaunch::new(foghorn_bin().unwrap_or_default())
        .env("FOGHORN_CONFIG", config.display().to_string())
        .env("FOGHORN_DATA_DIR", dir.join("data").display().to_string())
        .env("FOGHORN_TEAM_SECRET", "the team's own secret")
        .arg("run")
        .arg("--show-window")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feeds_tab_shows_each_feeds_state_and_alert_count() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let am = Alertmanager::start()?;
    for service in ["checkout", "search"] {
        am.post_alert(
            &[
                ("alertname", "HighLatency"),
                ("service", service),
                ("severity", "warning"),
            ],
            &[("summary", &format!("{service} is slow"))],
        )
        .await?;
    }
    let config_path = desktop.dir().join("foghorn.toml");
    std::fs::write(&config_path, config(am.url(), free_port()?))?;
    let driver = WebDriverSession::start(&desktop, &launch(desktop.dir(), &config_path)).await?;

    driver
        .wait_for_element("[data-testid=tab-feeds]", START)
        .await?;
    driver.click("[data-testid=tab-feeds]").await?;
    let team = driver
        .wait_for_content(
            "[data-testid=feed-row][data-feed=team-am]",
            |t| t.contains("2 alerts") && t.starts_with("ok"),
            START,
        )
        .await?;
    ensure!(
        team.contains("Alertmanager") && team.contains("answered") && team.contains(" ms"),
        "the feed's kind, last good poll and latency: {team}"
    );
    let backup = driver
        .wait_for_content(
            "[data-testid=feed-row][data-feed=backup-am]",
            |t| t.starts_with("failing"),
            START,
        )
        .await?;
    ensure!(
        backup.contains("no answer yet"),
        "a feed that never answered says so: {backup}"
    );
    let counted = driver
        .execute(
            "return document.querySelector('[data-feed=backup-am] [data-testid=feed-alerts]') !== null;",
            vec![],
        )
        .await?;
    ensure!(
        counted == serde_json::Value::Bool(false),
        "and counts no alerts: silence is not calm"
    );
    let error = driver
        .text("[data-testid=feed-row][data-feed=backup-am] [data-testid=feed-error]")
        .await?;
    ensure!(!error.is_empty(), "and why");
    // The tab shows the number; "failing" is there for screen readers.
    let tab = driver
        .wait_for_content("[data-testid=tab-feeds]", |t| t.contains("failing"), STEP)
        .await?;
    let rows = driver.text_contents("[data-testid=feed-row]").await?;
    ensure!(
        tab.contains("1 failing") && rows.len() == 2,
        "the tab counts it: {tab}; rows: {rows:?}"
    );

    // The alerts' notifications would cover the window's top.
    desktop.close_notifications()?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("feeds-window.png"),
        STEP,
    )?;
    driver.close().await?;
    Ok(())
}
