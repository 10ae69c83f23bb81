//! The outbox's crash promise, with the real binary: killed (`FOGHORN_CRASH_AT=message-sent`,
//! an abort right after a message went out and before that was recorded), then restarted, a
//! headless Foghorn sends the message again once, with the same idempotency key, and says so
//! on the incident's timeline.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::paths::foghorn_command;
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::{wait_until, Target};

/// The first attempt holds the message back 60 s before it may be tried again.
const RESEND: Duration = Duration::from_secs(120);
const WAIT: Duration = Duration::from_secs(30);

fn command(home: &Path) -> Result<Command> {
    let mut cmd = foghorn_command(home)?;
    cmd.env("FOGHORN_DATA_DIR", home.join("data"))
        .env("HOOK_SECRET", "s3cret");
    Ok(cmd)
}

fn start(home: &Path, config: &Path, crash_at: Option<&str>) -> Result<ChildGuard> {
    let mut cmd = command(home)?;
    if let Some(point) = crash_at {
        cmd.env("FOGHORN_CRASH_AT", point);
    }
    cmd.args(["run", "--headless", "--config"]).arg(config);
    ChildGuard::spawn(crash_at.unwrap_or("after-crash"), cmd, home)
}

/// The timeline lines of kind `kind`, oldest first.
fn timeline(home: &Path, kind: &str) -> Result<Vec<String>> {
    let db = rusqlite::Connection::open_with_flags(
        home.join("data/foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt = db.prepare("SELECT detail FROM timeline WHERE kind = ?1 ORDER BY id")?;
    let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_a_message_was_sent_resends_it_once_with_the_same_key_and_says_so(
) -> Result<()> {
    let home = tempfile::tempdir()?;
    let target = Target::start().await?;
    let hook = Receiver::start(|_| answer(200, "ok")).await?;
    let config: PathBuf = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        format!(
            "[me]\nnames = [\"Alice Smith\"]\n\n[escalation]\n[[escalation.steps]]\nafter = \"0s\"\n\
             action = \"webhook\"\nurl = \"{}/ladder\"\nsecret = \"env:HOOK_SECRET\"\n\n\
             [[monitors]]\nname = \"Checkout\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
             failure_threshold = 1\nseverity = \"critical\"\n",
            hook.url(),
            target.url()
        ),
    )?;
    target.set_healthy(false);
    let mut first = start(home.path(), &config, Some("message-sent"))?;
    let status = first
        .wait_for_exit(WAIT)
        .with_context(|| format!("the crash point: {}", first.stderr()))?;
    ensure!(!status.success(), "aborted: {status:?}");
    ensure!(
        hook.requests().len() == 1,
        "sent once before the crash: {:?}",
        hook.requests()
    );
    ensure!(
        timeline(home.path(), "message-sent")?.is_empty(),
        "the send was never recorded"
    );
    drop(first);

    let second = start(home.path(), &config, None)?;
    let sent = wait_until(RESEND, "the message to be recorded as sent", || {
        Ok(timeline(home.path(), "message-sent")?.into_iter().next())
    })
    .with_context(|| second.stderr())?;
    let requests = hook.requests();
    ensure!(requests.len() == 2, "sent again once: {requests:?}");
    let keys: Vec<Option<&str>> = requests
        .iter()
        .map(|r| r.header("Idempotency-Key"))
        .collect();
    ensure!(
        keys[0].is_some() && keys[0] == keys[1],
        "the same idempotency key both times, so the receiver can drop the copy: {keys:?}"
    );
    ensure!(
        sent.contains("sent again: a crash interrupted an earlier attempt"),
        "the timeline says it went out again: {sent}"
    );

    // More ladder ticks: nothing more.
    target.answer_more_blocking(3, WAIT)?;
    ensure!(hook.requests().len() == 2, "{:?}", hook.requests());
    ensure!(timeline(home.path(), "message-sent")?.len() == 1);
    Ok(())
}
