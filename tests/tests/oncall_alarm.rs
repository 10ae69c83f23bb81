//! Loud for the person on call, quiet for everyone else: the real app under Xvfb with dunst as
//! the notification daemon and a private PulseAudio, an iCal file saying who is on call, and a
//! local target that goes down.

// Each test holds the serial guard for its whole life on its own runtime.
#![allow(clippy::await_holding_lock)]

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use foghorn_e2e::pulse::PulseAudio;
use foghorn_e2e::session::DesktopOptions;
use foghorn_e2e::target::write_oncall_config;
use foghorn_e2e::{
    foghorn_bin, wait_until, wait_until_async, AppLaunch, AppProcess, Desktop, Target, Tray,
};

const START: Duration = Duration::from_secs(30);
const ALERT: Duration = Duration::from_secs(20);

/// The app's playback streams on the private PulseAudio server.
fn streams(pulse: &PulseAudio, app: &AppProcess) -> Result<usize> {
    Ok(pulse
        .sink_inputs()?
        .into_iter()
        .filter(|s| s.pid == Some(app.pid()))
        .count())
}

struct Running {
    desktop: Desktop,
    pulse: PulseAudio,
    app: AppProcess,
    target: Target,
    data: std::path::PathBuf,
}

async fn start(on_call: &str) -> Result<Running> {
    let desktop = Desktop::start_with(DesktopOptions {
        // Long enough for the test to press a button on the notification.
        notification_timeout: Duration::from_secs(60),
        ..DesktopOptions::default()
    })?;
    let pulse = PulseAudio::start()?;
    let target = Target::start().await?;
    let path = write_oncall_config(desktop.dir(), on_call, "Checkout", &target.url())?;
    let data = desktop.dir().join("data");
    let app = AppProcess::spawn(
        &desktop,
        &AppLaunch::new(foghorn_bin()?)
            .env("FOGHORN_CONFIG", path.display().to_string())
            .env("FOGHORN_DATA_DIR", data.display().to_string())
            .env("PULSE_SERVER", pulse.server()),
    )?;
    wait_until(START, "the first check", || {
        Ok((target.requests() > 0).then_some(()))
    })?;
    Ok(Running {
        desktop,
        pulse,
        app,
        target,
        data,
    })
}

fn incident_state(data: &Path) -> Result<(String, Option<String>)> {
    let db = rusqlite::Connection::open_with_flags(
        data.join("foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    Ok(db.query_row(
        "SELECT state, acked_by FROM incidents ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_call_the_alarm_rings_until_the_notification_is_acknowledged() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let run = start("Alice Smith").await?;
    run.target.set_healthy(false);
    let notification = run.desktop.wait_for_notification(ALERT, |n| {
        n.summary == "Checkout is down" && n.urgency.as_deref() == Some("CRITICAL")
    })?;
    let failed = run
        .target
        .first_failure()
        .context("the target answered a failing check")?;
    let notified = failed.elapsed();
    wait_until(ALERT, "the alarm stream", || {
        Ok((streams(&run.pulse, &run.app)? > 0).then_some(()))
    })?;
    let ringing = failed.elapsed();
    eprintln!(
        "failing check → critical notification seen in dunst: ≤ {notified:?}; → alarm stream seen: ≤ {ringing:?}"
    );
    ensure!(
        !notification.in_history,
        "a critical alert stays on screen: {notification:?}"
    );

    run.desktop.invoke_notification_action("Acknowledge")?;
    let pressed = Instant::now();
    wait_until(
        Duration::from_secs(1),
        "silence within 1 s of the ack",
        || Ok((streams(&run.pulse, &run.app)? == 0).then_some(())),
    )
    .with_context(|| run.app.stderr())?;
    eprintln!("Acknowledge → alarm stream gone: {:?}", pressed.elapsed());
    let (state, by) = wait_until(Duration::from_secs(5), "the incident acknowledged", || {
        let (state, by) = incident_state(&run.data)?;
        Ok((state == "acknowledged").then_some((state, by)))
    })?;
    ensure!(
        state == "acknowledged" && by.as_deref() == Some("Alice Smith"),
        "{state} by {by:?}"
    );

    // The tray lists it, acknowledged, with what can still be done: resolve it from there.
    let tray = Tray::find(&run.desktop, "foghorn", START).await?;
    let listed = "CRITICAL — Checkout is down (acknowledged)";
    wait_until_async(START, "the incident in the tray menu", || async {
        Ok(tray
            .menu_labels()
            .await?
            .iter()
            .any(|l| l == listed)
            .then_some(()))
    })
    .await?;
    tray.click("Resolve").await?;
    wait_until(
        Duration::from_secs(5),
        "the incident resolved from the tray",
        || Ok((incident_state(&run.data)?.0 == "resolved").then_some(())),
    )?;
    wait_until_async(START, "the incident gone from the tray menu", || async {
        Ok((!tray.menu_labels().await?.iter().any(|l| l == listed)).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_call_a_quiet_notification_and_no_alarm() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let run = start("Bob Jones").await?;
    run.target.set_healthy(false);
    let notification = run
        .desktop
        .wait_for_notification(ALERT, |n| n.summary == "Checkout is down")?;
    ensure!(
        notification.urgency.as_deref() == Some("NORMAL"),
        "quiet for someone not on call: {notification:?}"
    );
    // Three more failing checks: time enough for an alarm to have started.
    run.target.answer_more_blocking(3, ALERT)?;
    ensure!(
        streams(&run.pulse, &run.app)? == 0,
        "no alarm off call: {:?}",
        run.pulse.sink_inputs()?
    );
    Ok(())
}
