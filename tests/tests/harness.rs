//! Tests of the harness itself (no app needed): the isolated desktop delivers notifications,
//! and teardown leaves no process behind, also when a test panics.
//!
//! Every test holds `foghorn_e2e::serial()`, so they run one at a time even without
//! `--test-threads=1`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::process::{all_processes, is_alive, live_group_members};
use foghorn_e2e::{wait_until, AppLaunch, AppProcess, Desktop};
use nix::unistd::Pid;

const T: Duration = Duration::from_secs(10);

/// Live processes whose command line mentions `needle` (like `pgrep -f`, minus zombies).
fn live_mentioning(needle: &str) -> Vec<String> {
    all_processes()
        .into_iter()
        .filter(|p| p.is_live() && p.pid != std::process::id())
        .filter_map(|p| {
            let cmdline = std::fs::read(format!("/proc/{}/cmdline", p.pid)).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline
                .contains(needle)
                .then(|| format!("{} {}", p.pid, cmdline))
        })
        .collect()
}

#[test]
fn notify_send_shows_up_in_notifications() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let status = desktop
        .command("notify-send")
        .args([
            "-a",
            "e2e-harness",
            "-u",
            "critical",
            "Disk on fire",
            "The <b>body</b> text",
        ])
        .status()
        .context("running notify-send (Debian package libnotify-bin)")?;
    ensure!(status.success(), "notify-send failed: {status}");

    let n = desktop.wait_for_notification(T, |n| n.summary == "Disk on fire")?;
    assert_eq!(n.appname, "e2e-harness");
    assert_eq!(n.body, "The <b>body</b> text");
    assert_eq!(n.urgency.as_deref(), Some("CRITICAL"));

    // A notification asking never to expire still reaches the history (dunstrc overrides it).
    let status = desktop
        .command("notify-send")
        .args(["-t", "0", "Sticky", "b"])
        .status()?;
    ensure!(status.success());
    let sticky = desktop.wait_for_notification(T, |n| n.summary == "Sticky" && n.in_history)?;
    assert_eq!(sticky.urgency.as_deref(), Some("NORMAL"));
    assert_eq!(desktop.notifications()?.len(), 2);

    let shot = desktop.screenshot(desktop.dir().join("screen.png"))?;
    ensure!(std::fs::metadata(&shot)?.len() > 0, "empty screenshot");
    Ok(())
}

#[test]
fn teardown_leaves_no_processes() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let dir = desktop.dir().to_string_lossy().into_owned();
    let mut pids = desktop.pids();
    // A fake app with a grandchild, like the real app's WebKit helpers.
    let app = AppProcess::spawn(
        &desktop,
        &AppLaunch::new("/bin/sh")
            .arg("-c")
            .arg(format!("sleep 300 & exec sleep 301 # {dir}")),
    )?;
    pids.push(app.pid());
    // The grandchild is found by process group, not by name: another `sleep 300` elsewhere on
    // the machine is none of this test's business.
    let group = Pid::from_raw(app.pid() as i32);
    let grandchild = wait_until(T, "the fake app's grandchild", || {
        Ok(live_group_members(group)
            .into_iter()
            .find(|p| p.pid != app.pid())
            .map(|p| p.pid))
    })?;
    pids.push(grandchild);
    assert!(
        !live_mentioning(&dir).is_empty(),
        "nothing runs from {dir}?"
    );

    drop(app);
    drop(desktop);
    let left: Vec<_> = pids.iter().copied().filter(|p| is_alive(*p)).collect();
    assert!(left.is_empty(), "still alive after teardown: {left:?}");
    assert_eq!(live_mentioning(&dir), Vec::<String>::new());
    assert!(
        live_group_members(group).is_empty(),
        "the app's group outlived teardown"
    );
    ensure!(!PathBuf::from(&dir).exists(), "temp dir {dir} not removed");
    Ok(())
}

#[test]
fn teardown_happens_when_a_test_panics() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let seen = std::sync::Mutex::new(None::<(String, Vec<u32>)>);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let desktop = Desktop::start().expect("desktop starts");
        let _app = AppProcess::spawn(&desktop, &AppLaunch::new("sleep").arg("302"))
            .expect("fake app starts");
        *seen.lock().expect("lock") =
            Some((desktop.dir().to_string_lossy().into_owned(), desktop.pids()));
        panic!("deliberate failure inside a test");
    }));
    assert!(outcome.is_err(), "the closure was meant to panic");
    let (dir, pids) = seen
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .context("desktop never started")?;
    let left: Vec<_> = pids.iter().copied().filter(|p| is_alive(*p)).collect();
    assert!(left.is_empty(), "still alive after a panic: {left:?}");
    assert_eq!(live_mentioning(&dir), Vec::<String>::new());
    assert_eq!(live_mentioning("sleep 302"), Vec::<String>::new());

    // The panicking Desktop saved its logs for the post-mortem; don't leave them around.
    let name = PathBuf::from(&dir)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let saved = foghorn_e2e::artifacts_dir()?.join(format!("desktop-logs-{name}"));
    ensure!(
        saved.join("dunst.stderr.log").exists(),
        "logs not saved to {}",
        saved.display()
    );
    std::fs::remove_dir_all(&saved)?;
    Ok(())
}

#[test]
fn wait_until_reports_what_it_waited_for() {
    let err = wait_until(
        Duration::from_millis(120),
        "the moon",
        || -> Result<Option<()>> { anyhow::bail!("not yet risen") },
    )
    .err()
    .map(|e| format!("{e:#}"))
    .unwrap_or_default();
    assert!(
        err.contains("the moon") && err.contains("not yet risen"),
        "{err}"
    );
}
