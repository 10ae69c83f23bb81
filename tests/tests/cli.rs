//! The `foghorn` command without a display: help, version, config check, and the headless
//! engine detecting an outage and stopping cleanly on SIGTERM.

use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{ensure, Result};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::target::write_config;
use foghorn_e2e::{wait_until, Target};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const OUTAGE: Duration = Duration::from_secs(30);

fn foghorn(home: &std::path::Path) -> Result<Command> {
    foghorn_e2e::paths::foghorn_command(home)
}

/// Starts `foghorn run --headless --config CONFIG`, its database in `data` if given (else the
/// OS data dir under `home`).
fn headless(
    name: &str,
    home: &std::path::Path,
    config: &std::path::Path,
    data: Option<&std::path::Path>,
) -> Result<ChildGuard> {
    let mut cmd = foghorn(home)?;
    if let Some(data) = data {
        cmd.env("FOGHORN_DATA_DIR", data);
    }
    cmd.args(["run", "--headless", "--config"]).arg(config);
    ChildGuard::spawn(name, cmd, home)
}

/// Runs the headless engine with its data in `data`, which cannot be used, and checks that it
/// says `why` and keeps monitoring from memory.
fn assert_falls_back_to_memory(
    home: &std::path::Path,
    data: &std::path::Path,
    why: &str,
) -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let config = write_config(home, "api", &target.url())?;
    let mut engine = headless("headless-fallback", home, &config, Some(data))?;
    wait_until(OUTAGE, "the engine to check the target", || {
        Ok((target.requests() > 0).then_some(()))
    })?;
    let stderr = engine.stderr();
    engine.terminate();
    ensure!(
        stderr.contains(why) && stderr.contains("in-memory"),
        "says why ({why}) and what it does instead: {stderr}"
    );
    Ok(())
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_and_version_need_no_display() -> Result<()> {
    let home = tempfile::tempdir()?;
    let help = foghorn(home.path())?.arg("--help").output()?;
    let (stdout, _) = text(&help);
    ensure!(help.status.success(), "--help fails: {help:?}");
    for word in ["run", "config", "demo-target", "--config"] {
        ensure!(
            stdout.contains(word),
            "--help does not mention {word}: {stdout}"
        );
    }
    let version = foghorn(home.path())?.arg("--version").output()?;
    ensure!(text(&version).0.starts_with("foghorn "), "{version:?}");
    Ok(())
}

#[test]
fn the_tray_app_without_a_display_says_what_to_do() -> Result<()> {
    let home = tempfile::tempdir()?;
    let out = foghorn(home.path())?.output()?;
    let (_, stderr) = text(&out);
    ensure!(!out.status.success(), "must fail without a display");
    ensure!(
        stderr.contains("no display") && stderr.contains("run --headless"),
        "one clear message: {stderr}"
    );
    ensure!(!stderr.contains("panicked"), "no panic: {stderr}");
    Ok(())
}

#[test]
fn config_check_names_file_line_and_key() -> Result<()> {
    let home = tempfile::tempdir()?;
    let good = write_config(home.path(), "api", "http://127.0.0.1:9/health")?;
    let out = foghorn(home.path())?
        .args(["config", "check", "--config"])
        .arg(&good)
        .output()?;
    ensure!(out.status.success(), "valid config rejected: {out:?}");
    ensure!(text(&out).0.contains("OK (1 monitor, 0 feeds)"), "{out:?}");

    let bad = home.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[monitors]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\ninterval = 5\n",
    )?;
    let out = foghorn(home.path())?
        .args(["config", "check"])
        .env("FOGHORN_CONFIG", &bad)
        .output()?;
    let (_, stderr) = text(&out);
    ensure!(
        out.status.code() == Some(1),
        "exit 1 for an invalid config: {out:?}"
    );
    ensure!(
        stderr.contains("bad.toml:4:12") && stderr.contains("monitors[0].interval"),
        "names file, line, column and key: {stderr}"
    );

    let empty = home.path().join("empty.toml");
    std::fs::write(&empty, "\n")?;
    let out = foghorn(home.path())?
        .args(["config", "check", "--config"])
        .arg(&empty)
        .output()?;
    ensure!(
        text(&out).1.contains("empty"),
        "an empty file says so: {out:?}"
    );
    Ok(())
}

#[test]
fn config_check_rejects_an_escalation_step_after_a_hundred_million_years() -> Result<()> {
    let home = tempfile::tempdir()?;
    let bad = home.path().join("foghorn.toml");
    std::fs::write(
        &bad,
        "[escalation]\n\n[[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n\n\
         [[escalation.steps]]\nafter = \"100000000y\"\naction = \"sms\"\n",
    )?;
    let out = foghorn(home.path())?
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()?;
    let (_, stderr) = text(&out);
    ensure!(out.status.code() == Some(1), "exit 1: {out:?}");
    ensure!(
        stderr.contains("foghorn.toml:8:9")
            && stderr.contains("`escalation.steps[1].after`: must be at most 7d"),
        "names file, line, key and the bound: {stderr}"
    );
    ensure!(!stderr.contains("panicked"), "no panic: {stderr}");
    Ok(())
}

#[test]
fn headless_engine_detects_an_outage_and_stops_on_sigterm() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let home = tempfile::tempdir()?;
    let config = write_config(home.path(), "Payments", &target.url())?;
    let mut engine = headless("headless", home.path(), &config, None)?;

    wait_until(OUTAGE, "the first check", || {
        Ok((target.requests() > 0).then_some(()))
    })?;
    target.set_healthy(false);
    wait_until(OUTAGE, "the outage to be logged", || {
        Ok(engine.stderr().contains("monitor down").then_some(()))
    })?;
    ensure!(
        engine.stderr().contains("Payments is down"),
        "headless alerts go to the log: {}",
        engine.stderr()
    );

    kill(Pid::from_raw(engine.pid() as i32), Signal::SIGTERM)?;
    let status = engine.wait_for_exit(Duration::from_secs(10))?;
    ensure!(status.success(), "clean stop on SIGTERM: {status}");
    ensure!(engine.stderr().contains("SIGTERM"), "{}", engine.stderr());
    ensure!(
        home.path()
            .join(".local/share/foghorn/foghorn.db")
            .is_file(),
        "state is kept in the OS data dir"
    );
    Ok(())
}

#[test]
fn headless_refuses_a_broken_config_with_exit_2() -> Result<()> {
    let home = tempfile::tempdir()?;
    let bad = home.path().join("foghorn.toml");
    std::fs::write(&bad, "[[monitors]]\nname = \"api\"\n")?;
    let out = foghorn(home.path())?
        .args(["run", "--headless", "--config"])
        .arg(&bad)
        .output()?;
    ensure!(out.status.code() == Some(2), "{out:?}");
    ensure!(
        text(&out).1.contains("foghorn.toml:2:8") && text(&out).1.contains("needs a `url`"),
        "{out:?}"
    );
    Ok(())
}

#[test]
fn a_database_from_a_newer_version_falls_back_to_memory_with_a_notice() -> Result<()> {
    let home = tempfile::tempdir()?;
    let data = home.path().join("data");
    std::fs::create_dir_all(&data)?;
    // A database stamped with a schema version this build does not know.
    rusqlite::Connection::open(data.join("foghorn.db"))?.pragma_update(None, "user_version", 99)?;
    assert_falls_back_to_memory(home.path(), &data, "newer Foghorn")
}

#[test]
fn check_prints_each_condition_with_the_value_it_saw() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let home = tempfile::tempdir()?;
    let run = |conditions: &[&str]| -> Result<Output> {
        let mut cmd = foghorn(home.path())?;
        cmd.arg("check").arg(target.url());
        for c in conditions {
            cmd.args(["--condition", c]);
        }
        Ok(cmd.output()?)
    };

    let out = run(&["[STATUS] == 200", "[BODY] == ok", "[RESPONSE_TIME] < 5s"])?;
    let (stdout, _) = text(&out);
    ensure!(out.status.code() == Some(0), "all pass → exit 0: {out:?}");
    ensure!(stdout.contains("✓ [STATUS] (200) == 200"), "{stdout}");
    ensure!(stdout.contains("✓ [BODY] (ok) == ok"), "{stdout}");

    target.set_healthy(false);
    let out = run(&["[STATUS] == 200", "[BODY] == pat(*own*)"])?;
    let (stdout, _) = text(&out);
    ensure!(out.status.code() == Some(1), "a failure → exit 1: {out:?}");
    ensure!(stdout.contains("✗ [STATUS] (503) == 200"), "{stdout}");
    ensure!(stdout.contains("✓ [BODY] (down) == pat(*own*)"), "{stdout}");

    let out = run(&["[STATUS]==200"])?;
    let (_, stderr) = text(&out);
    ensure!(
        out.status.code() == Some(2),
        "invalid input → exit 2: {out:?}"
    );
    ensure!(
        stderr.contains("[STATUS]==200\n") && stderr.contains("        ^"),
        "points at the offending character: {stderr}"
    );

    let mut cmd = foghorn(home.path())?;
    let out = cmd
        .args(["check", "--json", "--condition", "[STATUS] < 500"])
        .arg(target.url())
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    ensure!(
        json["ok"] == false && json["conditions"].is_null(),
        "{json}"
    );
    ensure!(
        json["outcomes"][0]["resolved"] == "[STATUS] (503) < 500",
        "{json}"
    );
    Ok(())
}

#[test]
fn check_reports_a_refused_connection() -> Result<()> {
    let home = tempfile::tempdir()?;
    let port = foghorn_e2e::free_port()?;
    let out = foghorn(home.path())?
        .args([
            "check",
            &format!("http://127.0.0.1:{port}/"),
            "--condition",
            "[CONNECTED] == true",
        ])
        .output()?;
    let (stdout, _) = text(&out);
    ensure!(out.status.code() == Some(1), "{out:?}");
    ensure!(
        stdout.contains("✗ [CONNECTED] (false) == true") && stdout.contains("cannot connect"),
        "{stdout}"
    );
    Ok(())
}

/// A read-only mount, unmounted on drop.
struct ReadOnlyMount(std::path::PathBuf);

impl ReadOnlyMount {
    fn new(at: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(at)?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(at)
            .status()?;
        ensure!(
            status.success(),
            "mounting a read-only tmpfs needs root: {status}"
        );
        Ok(Self(at.to_owned()))
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_data_dir_falls_back_to_memory_with_a_notice() -> Result<()> {
    let home = tempfile::tempdir()?;
    let data = home.path().join("data");
    let _mount = ReadOnlyMount::new(&data)?;
    assert_falls_back_to_memory(home.path(), &data, "is read-only")
}

/// Incidents in the database at `data`: (id, dedup key, state).
fn incidents(data: &std::path::Path) -> Result<Vec<(i64, String, String)>> {
    let db = rusqlite::Connection::open_with_flags(
        data.join("foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt = db.prepare("SELECT id, dedup_key, state FROM incidents ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[test]
fn sigkill_mid_outage_then_restart_keeps_one_incident_and_resolves_it() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let home = tempfile::tempdir()?;
    let data = home.path().join("data");
    let config = write_config(home.path(), "Orders", &target.url())?;
    let start = |name: &str| headless(name, home.path(), &config, Some(&data));

    let first = start("before-kill")?;
    target.set_healthy(false);
    wait_until(OUTAGE, "the outage to be recorded", || {
        Ok(first.stderr().contains("monitor down").then_some(()))
    })?;
    kill(Pid::from_raw(first.pid() as i32), Signal::SIGKILL)?;
    drop(first);
    let before = incidents(&data)?;
    ensure!(
        before == [(1, "monitor:orders".to_owned(), "triggered".to_owned())],
        "{before:?}"
    );

    // Still down after the restart: the engine must know it already opened the incident.
    let second = start("after-kill")?;
    target.answer_more_blocking(3, OUTAGE)?;
    ensure!(
        !second.stderr().contains("monitor down"),
        "no second 'down' after a restart: {}",
        second.stderr()
    );
    ensure!(incidents(&data)? == before, "no duplicate incident");

    target.set_healthy(true);
    wait_until(OUTAGE, "the recovery", || {
        Ok(second.stderr().contains("monitor back up").then_some(()))
    })?;
    let after = incidents(&data)?;
    ensure!(
        after == [(1, "monitor:orders".to_owned(), "resolved".to_owned())],
        "the same incident resolves: {after:?}"
    );
    Ok(())
}

/// `foghorn ARGS` against the database in `data`; returns (exit code, stdout, stderr).
fn run_cli(
    home: &std::path::Path,
    data: &std::path::Path,
    args: &[&str],
) -> Result<(i32, String, String)> {
    let out = foghorn(home)?
        .env("FOGHORN_DATA_DIR", data)
        .args(args)
        .output()?;
    let (stdout, stderr) = text(&out);
    Ok((out.status.code().unwrap_or(-1), stdout, stderr))
}

#[test]
fn the_cli_lists_and_acknowledges_while_the_engine_runs() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let home = tempfile::tempdir()?;
    let data = home.path().join("data");
    let config = write_config(home.path(), "Billing", &target.url())?;
    let engine = headless("engine", home.path(), &config, Some(&data))?;
    target.set_healthy(false);
    wait_until(OUTAGE, "the incident", || {
        Ok(engine.stderr().contains("incident opened").then_some(()))
    })?;

    let (code, stdout, stderr) = run_cli(home.path(), &data, &["incidents", "--json"])?;
    ensure!(code == 0, "incidents --json: {stderr}");
    let list: serde_json::Value = serde_json::from_str(&stdout)?;
    ensure!(
        list[0]["title"] == "Billing is down" && list[0]["state"] == "triggered",
        "{list}"
    );
    let id = list[0]["id"].as_i64().unwrap_or_default();

    let (code, stdout, stderr) = run_cli(home.path(), &data, &["ack", &id.to_string()])?;
    ensure!(code == 0, "ack: {stderr}");
    ensure!(
        stdout.contains(&format!("Incident #{id} acknowledged")),
        "{stdout}"
    );
    // The running engine notices within its next look at the database.
    wait_until(Duration::from_secs(5), "the engine to see the ack", || {
        Ok(engine
            .stderr()
            .contains("incident changed elsewhere")
            .then_some(()))
    })?;
    let (_, stdout, _) = run_cli(home.path(), &data, &["incidents"])?;
    ensure!(
        stdout.contains("acknowledged") && stdout.contains("acknowledged by cli"),
        "{stdout}"
    );

    let (code, _, stderr) = run_cli(home.path(), &data, &["ack", "4242"])?;
    ensure!(
        code == 1 && stderr.contains("there is no incident 4242"),
        "{stderr}"
    );
    let (code, _, stderr) = run_cli(home.path(), &data, &["resolve", &id.to_string()])?;
    ensure!(code == 0, "resolve: {stderr}");
    let (code, _, stderr) = run_cli(home.path(), &data, &["ack", &id.to_string()])?;
    ensure!(code == 1 && stderr.contains("already resolved"), "{stderr}");
    Ok(())
}

#[test]
fn a_crash_between_recording_and_showing_a_notification_shows_it_once_after_restart() -> Result<()>
{
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let home = tempfile::tempdir()?;
    let data = home.path().join("data");
    let config = write_config(home.path(), "Search", &target.url())?;
    target.set_healthy(false);

    // Dies right after the notification is committed, before it is shown.
    let mut cmd = foghorn(home.path())?;
    cmd.env("FOGHORN_DATA_DIR", &data)
        .env("FOGHORN_CRASH_AT", "notification-recorded")
        .args(["run", "--headless", "--config"])
        .arg(&config);
    let mut crashing = ChildGuard::spawn("crashing", cmd, home.path())?;
    let status = crashing.wait_for_exit(OUTAGE)?;
    ensure!(!status.success(), "it died at the crash point: {status}");
    let before = crashing.stderr();
    ensure!(before.contains("crash point"), "{before}");
    let shown = |log: &str| {
        log.lines()
            .filter(|l| l.contains("notify: alert") && l.contains("title=Search is down"))
            .count()
    };
    ensure!(shown(&before) == 0, "not shown before the crash: {before}");

    let after = headless("after-crash", home.path(), &config, Some(&data))?;
    wait_until(OUTAGE, "the owed notification", || {
        Ok((shown(&after.stderr()) > 0).then_some(()))
    })?;
    target.answer_more_blocking(3, OUTAGE)?;
    ensure!(
        shown(&after.stderr()) == 1,
        "exactly one notification: {}",
        after.stderr()
    );
    ensure!(incidents(&data)?.len() == 1, "one incident");
    Ok(())
}

/// `foghorn oncall --at … --json` over a PagerDuty-style calendar file next to the config.
#[test]
fn oncall_says_who_is_on_call_and_whether_it_is_you() -> Result<()> {
    let home = tempfile::tempdir()?;
    let calendar = foghorn_e2e::paths::workspace_root()
        .join("crates/foghorn-core/tests/fixtures/oncall/pagerduty.ics");
    std::fs::copy(&calendar, home.path().join("oncall.ics"))?;
    let config = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        "[me]\nnames = [\"Alice Smith\", \"alice@example.com\"]\n\n[oncall]\ncalendar = \"oncall.ics\"\n",
    )?;
    // The data dir does not exist yet: the calendar is read directly.
    let data = home.path().join("no-data-yet");
    let run = |args: &[&str]| -> Result<Output> {
        let mut cmd = foghorn(home.path())?;
        cmd.env("FOGHORN_DATA_DIR", &data)
            .arg("oncall")
            .arg("--config")
            .arg(&config)
            .args(args);
        Ok(cmd.output()?)
    };

    let out = run(&["--at", "2026-11-26T10:00:00Z", "--json"])?;
    let (stdout, stderr) = text(&out);
    ensure!(out.status.success(), "exit 0: {stdout}\n{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout)?;
    ensure!(status["youAreOnCall"] == true, "{status}");
    ensure!(
        status["until"] == "2026-11-28T09:00:00Z",
        "back-to-back shifts: {status}"
    );
    ensure!(
        status["onCallNow"] == serde_json::json!(["Alice Smith"]),
        "{status}"
    );
    ensure!(status["source"]["stale"] == false, "{status}");
    ensure!(
        !data.exists(),
        "no database is created just to read a schedule"
    );

    let out = run(&["--at", "2026-11-29T10:00:00Z"])?;
    let (stdout, _) = text(&out);
    ensure!(out.status.success(), "{stdout}");
    ensure!(
        stdout.contains("2026-11-29 10:00 UTC: Bob Jones is on call")
            && stdout.contains("your next shift: 2026-12-01 09:00 UTC"),
        "{stdout}"
    );

    // A malformed calendar: exit 2, the file and line named.
    std::fs::write(
        home.path().join("oncall.ics"),
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:next monday\nEND:VEVENT\nEND:VCALENDAR\n",
    )?;
    let out = run(&["--json"])?;
    let (_, stderr) = text(&out);
    ensure!(out.status.code() == Some(2), "exit 2: {out:?}");
    ensure!(stderr.contains("oncall.ics:3: DTSTART"), "{stderr}");

    // No [oncall]: exit 1, saying so.
    std::fs::write(&config, "[me]\nnames = [\"Alice Smith\"]\n")?;
    let out = run(&[])?;
    let (_, stderr) = text(&out);
    ensure!(out.status.code() == Some(1), "exit 1: {out:?}");
    ensure!(stderr.contains("no [oncall] section"), "{stderr}");
    Ok(())
}
