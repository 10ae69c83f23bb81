//! Two engines on one data directory (the tray app and `run --headless`, or two headless
//! runs): the second is refused with the first one's pid, the read-and-ack commands keep
//! working beside the engine, and the outbox sends each message once even when two engines
//! share the database.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::{wait_until, Target};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const WAIT: Duration = Duration::from_secs(30);

/// A monitor of `target` (down after one failed check) whose ladder posts to `chat` at once.
fn write_config(dir: &std::path::Path, target: &Target) -> Result<std::path::PathBuf> {
    std::fs::write(
        dir.join("oncall.ics"),
        foghorn_e2e::target::oncall_calendar("Alice Smith"),
    )?;
    let path = dir.join("foghorn.toml");
    std::fs::write(
        &path,
        format!(
            "[me]\nnames = [\"Alice Smith\"]\n\n[oncall]\ncalendar = \"oncall.ics\"\n\n\
             [escalation]\nslack_webhook = \"env:SLACK_WEBHOOK\"\n\n\
             [[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n\n\
             [[monitors]]\nname = \"Checkout\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
             failure_threshold = 1\nseverity = \"critical\"\n",
            target.url()
        ),
    )?;
    Ok(path)
}

fn engine(
    name: &str,
    home: &std::path::Path,
    config: &std::path::Path,
    data: &std::path::Path,
    chat: &Receiver,
) -> Result<ChildGuard> {
    let mut cmd = foghorn_e2e::paths::foghorn_command(home)?;
    cmd.env("FOGHORN_DATA_DIR", data)
        .env("SLACK_WEBHOOK", format!("{}/hooks/T0/B0/x", chat.url()))
        .args(["run", "--headless", "--config"])
        .arg(config);
    ChildGuard::spawn(name, cmd, home)
}

#[test]
fn a_second_engine_on_the_same_data_directory_is_refused_with_a_clear_message() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let chat = rt.block_on(Receiver::start(|_| answer(200, "ok")))?;
    let home = tempfile::tempdir()?;
    let data = home.path().join("data");
    let config = write_config(home.path(), &target)?;
    let first = engine("first", home.path(), &config, &data, &chat)?;
    wait_until(WAIT, "the first engine to check", || {
        Ok((target.requests() > 0).then_some(()))
    })?;

    let mut second = engine("second", home.path(), &config, &data, &chat)?;
    let status = second.wait_for_exit(WAIT)?;
    let said = second.stderr();
    ensure!(
        !status.success(),
        "the second engine exits non-zero: {status}: {said}"
    );
    let want = format!(
        "another Foghorn engine is running on {} (pid {})",
        data.display(),
        first.pid()
    );
    ensure!(said.contains(&want), "says {want:?}: {said}");

    // Reading and acknowledging do not need the engine's lock.
    let out = foghorn_e2e::paths::foghorn_command(home.path())?
        .env("FOGHORN_DATA_DIR", &data)
        .args(["incidents", "--json"])
        .output()?;
    ensure!(out.status.success(), "incidents beside the engine: {out:?}");

    // Once the first stops, the directory is free again.
    kill(Pid::from_raw(first.pid() as i32), Signal::SIGTERM)?;
    let mut first = first;
    ensure!(first.wait_for_exit(WAIT)?.success(), "{}", first.stderr());
    let mut third = engine("third", home.path(), &config, &data, &chat)?;
    let checks = target.requests();
    wait_until(WAIT, "the next engine to check", || {
        Ok((target.requests() > checks).then_some(()))
    })
    .with_context(|| third.stderr())?;
    ensure!(third.try_wait()?.is_none(), "{}", third.stderr());
    Ok(())
}

/// Two engines on one database, each unable to see the other's lock (the second data
/// directory links to the first one's database, as a file system without locks would let
/// happen): the outbox's per-message claim alone makes each message go out once.
#[test]
fn two_engines_on_one_data_directory_send_each_message_once() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let chat = rt.block_on(Receiver::start(|_| answer(200, "ok")))?;
    let home = tempfile::tempdir()?;
    let (data, other) = (home.path().join("data"), home.path().join("other"));
    let config = write_config(home.path(), &target)?;
    let first = engine("first", home.path(), &config, &data, &chat)?;
    wait_until(WAIT, "the first engine's database", || {
        Ok(data.join("foghorn.db").is_file().then_some(()))
    })?;
    std::fs::create_dir_all(&other)?;
    std::os::unix::fs::symlink(data.join("foghorn.db"), other.join("foghorn.db"))?;
    let second = engine("second", home.path(), &config, &other, &chat)?;
    target.answer_more_blocking(4, WAIT)?;

    target.set_healthy(false);
    wait_until(WAIT, "the chat post", || {
        Ok((!chat.requests().is_empty()).then_some(()))
    })
    .with_context(|| format!("{}\n---\n{}", first.stderr(), second.stderr()))?;
    // Both engines' ladders look at the outbox every tick: a double send would come now.
    // Waiting for the outage to be over gives them several ticks to make one.
    target.set_healthy(true);
    wait_until(WAIT, "the incident to resolve", || {
        let out = foghorn_e2e::paths::foghorn_command(home.path())?
            .env("FOGHORN_DATA_DIR", &data)
            .args(["incidents", "--json"])
            .output()?;
        let list: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let incidents = list.as_array().cloned().unwrap_or_default();
        let settled = !incidents.is_empty() && incidents.iter().all(|i| i["state"] == "resolved");
        Ok(settled.then_some(()))
    })?;
    let mut second = second;
    ensure!(
        second.try_wait()?.is_none(),
        "both engines ran throughout: {}",
        second.stderr()
    );
    let posts = chat.requests().len();
    let store = rusqlite::Connection::open(data.join("foghorn.db"))?;
    let (messages, sent): (i64, i64) =
        store.query_row("SELECT count(*), count(sent_at) FROM outbox", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    ensure!(
        sent == messages && posts as i64 == messages,
        "{messages} messages, {sent} sent, {posts} posts\n{}\n---\n{}",
        first.stderr(),
        second.stderr()
    );
    Ok(())
}
