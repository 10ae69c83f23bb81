//! The real `foghorn` tray app under an isolated desktop (Xvfb, private D-Bus, dunst, a
//! StatusNotifierWatcher): the window driven over WebDriver, the tray over D-Bus, and
//! notifications read back from dunst.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::target::write_config;
use foghorn_e2e::{
    artifacts_dir, foghorn_bin, workspace_root, AppLaunch, AppProcess, Desktop, IconImage, Target,
    Tray, WebDriverSession,
};

const START: Duration = Duration::from_secs(30);
/// Long enough for two failing checks one second apart plus the fast retry, with slack for
/// a loaded 2-core CI machine.
const OUTAGE: Duration = Duration::from_secs(30);

/// Which of the four tray pictures `icon` is, by exact pixels.
fn tray_picture(icon: &IconImage) -> Result<Option<&'static str>> {
    for state in ["ok", "degraded", "alarm", "muted"] {
        let path = workspace_root().join(format!("icons/tray-{state}.png"));
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path)?));
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size().context("png size")?];
        let info = reader.next_frame(&mut buf)?;
        buf.truncate(info.buffer_size());
        if info.width == icon.width && info.height == icon.height && buf == icon.rgba {
            return Ok(Some(state));
        }
    }
    Ok(None)
}

async fn wait_for_tray_picture(tray: &Tray, want: &str) -> Result<()> {
    foghorn_e2e::wait_until_async(START, &format!("the tray to show {want}"), || async {
        let icon = tray.icon_image().await?;
        Ok((tray_picture(&icon)? == Some(want)).then_some(()))
    })
    .await
}

/// A healthy target and a config monitoring it as `name`, written into the desktop's dir.
async fn monitored(desktop: &Desktop, name: &str) -> Result<(Target, std::path::PathBuf)> {
    let target = Target::start().await?;
    let config = write_config(desktop.dir(), name, &target.url())?;
    Ok((target, config))
}

fn app_with_config(config: &std::path::Path) -> Result<AppLaunch> {
    Ok(AppLaunch::new(foghorn_bin()?).env("FOGHORN_CONFIG", config.display().to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_lists_the_demo_monitor() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    // No configuration file anywhere (HOME is a fresh temp dir): the demo runs.
    let launch = AppLaunch::new(foghorn_bin()?)
        .arg("run")
        .arg("--show-window");
    let driver = WebDriverSession::start(&desktop, &launch).await?;
    let row = driver
        .wait_for_content(
            "[data-testid=monitor-row]",
            |t| t.contains("Demo: flaky endpoint"),
            START,
        )
        .await?;
    ensure!(
        row.contains("127.0.0.1"),
        "the demo monitor's target is local: {row}"
    );
    let summary = driver.text("[data-testid=summary]").await?;
    ensure!(!summary.is_empty(), "a one-line summary is shown");

    let tray = Tray::find(&desktop, "foghorn", START).await?;
    let labels = tray.menu_labels().await?;
    for want in [
        "Open Foghorn",
        "Mute",
        "Pause monitoring",
        "Start at login",
        "Quit Foghorn",
    ] {
        ensure!(
            labels.iter().any(|l| l == want),
            "tray menu lacks {want:?}: {labels:?}"
        );
    }
    tray.click("Open Foghorn").await?;
    let shot = desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("window.png"),
        START,
    )?;
    ensure!(
        std::fs::metadata(&shot)?.len() > 10_000,
        "the screenshot has content"
    );
    driver.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_going_down_shows_in_the_window_and_notifies() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let (target, config) = monitored(&desktop, "Checkout API").await?;
    let driver = WebDriverSession::start(&desktop, &app_with_config(&config)?).await?;
    let tray = Tray::find(&desktop, "foghorn", START).await?;
    let up = "[data-testid=monitor-row][data-status=up]";
    driver
        .wait_for_content(up, |t| t.contains("Checkout API"), START)
        .await?;
    wait_for_tray_picture(&tray, "ok").await?;

    target.set_healthy(false);
    let down = "[data-testid=monitor-row][data-status=down]";
    let row = driver
        .wait_for_content(down, |t| t.contains("Checkout API"), OUTAGE)
        .await?;
    ensure!(row.contains("503"), "the row says why it is down: {row}");
    let n = desktop.wait_for_notification(OUTAGE, |n| n.summary == "Checkout API is down")?;
    ensure!(n.appname == "Foghorn", "from Foghorn: {n:?}");
    ensure!(n.body.contains("503"), "the notification says why: {n:?}");
    // Nobody is on call here (no schedule): an ordinary notification, however critical.
    ensure!(
        n.urgency.as_deref() == Some("NORMAL"),
        "not on call, a quiet notification: {n:?}"
    );
    wait_for_tray_picture(&tray, "alarm").await?;

    target.set_healthy(true);
    driver
        .wait_for_content(up, |t| t.contains("Checkout API"), OUTAGE)
        .await?;
    let back =
        desktop.wait_for_notification(OUTAGE, |n| n.summary == "Resolved: Checkout API is down")?;
    ensure!(
        back.body.starts_with("Lasted "),
        "says how long it lasted: {back:?}"
    );
    wait_for_tray_picture(&tray, "ok").await?;
    let down_notes = desktop
        .notifications()?
        .into_iter()
        .filter(|n| n.summary == "Checkout API is down")
        .count();
    ensure!(
        down_notes == 1,
        "one outage, one notification (got {down_notes})"
    );
    driver.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_from_the_tray_suppresses_the_notification() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let (target, config) = monitored(&desktop, "Billing").await?;
    let app = AppProcess::spawn(&desktop, &app_with_config(&config)?)?;
    let tray = Tray::find(&desktop, "foghorn", START).await?;
    wait_for_tray_picture(&tray, "ok").await?;

    tray.click("For 1 hour").await?;
    wait_for_tray_picture(&tray, "muted").await?;
    target.set_healthy(false);
    // The engine logs the suppressed notification at the moment it would have shown it.
    foghorn_e2e::wait_until(OUTAGE, "the outage to be detected while muted", || {
        Ok(app
            .stderr()
            .contains("muted: notification not shown")
            .then_some(()))
    })?;
    let shown: Vec<_> = desktop
        .notifications()?
        .into_iter()
        .filter(|n| n.appname == "Foghorn")
        .collect();
    ensure!(shown.is_empty(), "muted, yet notified: {shown:?}");

    // Unmuted, the recovery is announced: the mute was what kept it quiet.
    tray.click("Unmute").await?;
    wait_for_tray_picture(&tray, "alarm").await?;
    target.set_healthy(true);
    desktop.wait_for_notification(OUTAGE, |n| n.summary == "Resolved: Billing is down")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_focuses_the_first_and_exits() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let (_target, config) = monitored(&desktop, "Search").await?;
    let mut first = AppProcess::spawn(&desktop, &app_with_config(&config)?)?;
    Tray::find(&desktop, "foghorn", START).await?;
    let mut second = AppProcess::spawn(&desktop, &app_with_config(&config)?)?;
    let status = second.wait_for_exit(START)?;
    ensure!(
        status.success(),
        "the second launch exits cleanly: {status}"
    );
    desktop.wait_for_window("^Foghorn$", START)?;
    ensure!(first.is_running(), "the first instance keeps running");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_is_explained_in_the_window() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let config = desktop.dir().join("foghorn.toml");
    std::fs::write(
        &config,
        "[[monitors]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\nintervall = \"5s\"\n",
    )?;
    let driver = WebDriverSession::start(
        &desktop,
        &app_with_config(&config)?.arg("run").arg("--show-window"),
    )
    .await?;
    let banner = driver
        .wait_for_content("body", |t| t.contains("Configuration error"), START)
        .await?;
    ensure!(
        banner.contains("foghorn.toml:4:1") && banner.contains("intervall"),
        "the notice names file, line and key: {banner}"
    );
    driver.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_notification_daemon_alerts_still_show_in_the_window() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let mut desktop = Desktop::start()?;
    desktop.stop_notification_daemon();
    let (target, config) = monitored(&desktop, "Ledger").await?;
    let driver = WebDriverSession::start(&desktop, &app_with_config(&config)?).await?;
    let up = "[data-testid=monitor-row][data-status=up]";
    driver
        .wait_for_content(up, |t| t.contains("Ledger"), START)
        .await?;
    target.set_healthy(false);
    let down = "[data-testid=monitor-row][data-status=down]";
    driver
        .wait_for_content(down, |t| t.contains("Ledger"), OUTAGE)
        .await?;
    driver
        .wait_for_content(
            "body",
            |t| t.contains("no notification daemon is running"),
            START,
        )
        .await?;
    driver.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tray_host_the_window_opens_and_says_so() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start_with(foghorn_e2e::session::DesktopOptions {
        sni_watcher: false,
        ..Default::default()
    })?;
    let (_target, config) = monitored(&desktop, "Mail").await?;
    let driver = WebDriverSession::start(&desktop, &app_with_config(&config)?).await?;
    desktop.wait_for_window("^Foghorn$", START)?;
    driver
        .wait_for_content("body", |t| t.contains("No system tray"), START)
        .await?;
    driver.close().await
}

/// The open incidents as `foghorn incidents --json` lists them, with their ladder's states
/// from the database: (id, state, [step states]).
fn open_incidents_with_ladders(
    home: &std::path::Path,
    data: &std::path::Path,
) -> Result<Vec<(i64, String, Vec<String>)>> {
    let out = foghorn_e2e::paths::foghorn_command(home)?
        .env("FOGHORN_DATA_DIR", data)
        .args(["incidents", "--json"])
        .output()?;
    ensure!(out.status.success(), "foghorn incidents --json: {out:?}");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let db = rusqlite::Connection::open_with_flags(
        data.join("foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut open = Vec::new();
    for incident in list.as_array().context("a JSON list")? {
        let id = incident["id"].as_i64().context("an id")?;
        let state = incident["state"].as_str().unwrap_or_default().to_owned();
        let mut stmt =
            db.prepare("SELECT state FROM escalation_steps WHERE incident_id = ?1 ORDER BY step")?;
        let steps = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        open.push((id, state, steps));
    }
    Ok(open)
}

/// Open incident → the file breaks → the tray app starts on it (falling back to an empty
/// configuration) → the file is fixed → restart: the incident is still open and its ladder
/// still pending. A file that did not load says nothing about which monitors were removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_does_not_resolve_open_incidents() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let target = Target::start().await?;
    let slack = Receiver::start(|_| answer(200, "ok")).await?;
    let hook = format!("{}/hooks/T0/B0/x", slack.url());
    let data = desktop.dir().join("data");
    let config = desktop.dir().join("foghorn.toml");
    let good = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [escalation]\nslack_webhook = \"env:SLACK_WEBHOOK\"\n\n\
         [[escalation.steps]]\nafter = \"1h\"\naction = \"chat\"\n\n\
         [[monitors]]\nname = \"Orders\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
         failure_threshold = 1\nseverity = \"critical\"\n",
        target.url()
    );
    std::fs::write(&config, &good)?;
    let headless = |name: &str| -> Result<ChildGuard> {
        let mut cmd = foghorn_e2e::paths::foghorn_command(desktop.dir())?;
        cmd.env("FOGHORN_DATA_DIR", &data)
            .env("SLACK_WEBHOOK", &hook)
            .args(["run", "--headless", "--config"])
            .arg(&config);
        ChildGuard::spawn(name, cmd, &desktop.logs_dir())
    };

    target.set_healthy(false);
    let mut first = headless("engine-before")?;
    foghorn_e2e::wait_until(OUTAGE, "the incident", || {
        Ok(first.stderr().contains("incident opened").then_some(()))
    })?;
    first.terminate();
    let before = open_incidents_with_ladders(desktop.dir(), &data)?;
    ensure!(
        before.len() == 1 && before[0].1 == "triggered" && before[0].2 == ["pending"],
        "one open incident, its step pending: {before:?}"
    );

    // The file breaks: the tray app starts anyway, with nothing to monitor.
    std::fs::write(&config, "[[monitors]]\nname = \"Orders\"\n")?;
    let mut app = AppProcess::spawn(
        &desktop,
        &AppLaunch::new(foghorn_bin()?)
            .env("FOGHORN_CONFIG", config.display().to_string())
            .env("FOGHORN_DATA_DIR", data.display().to_string())
            .env("SLACK_WEBHOOK", hook.clone()),
    )?;
    foghorn_e2e::wait_until(START, "start-up's pass over open incidents", || {
        let log = app.stderr();
        Ok((log.contains("are kept open") || log.contains("its monitor is gone")).then_some(()))
    })?;
    ensure!(
        app.stderr().contains("configuration not usable"),
        "the tray app ran on the broken file: {}",
        app.stderr()
    );
    app.kill();
    let broken = open_incidents_with_ladders(desktop.dir(), &data)?;
    ensure!(
        broken == before,
        "kept while the file was broken: {broken:?}"
    );

    // Fixed and restarted: the same incident, still open, its ladder still pending.
    std::fs::write(&config, &good)?;
    let mut second = headless("engine-after")?;
    foghorn_e2e::wait_until(START, "the fixed configuration", || {
        Ok(second
            .stderr()
            .contains("configuration loaded")
            .then_some(()))
    })?;
    target.answer_more_blocking(2, OUTAGE)?;
    let after = open_incidents_with_ladders(desktop.dir(), &data)?;
    second.terminate();
    ensure!(after == before, "still open, ladder pending: {after:?}");
    ensure!(slack.requests().is_empty(), "the 1 h step did not fire");
    Ok(())
}
