//! `make bench`, the customer letter: letters a second to a local SMTP server (aiosmtpd) with
//! the throttle off, and peak memory while sending 1,000 and 10,000 letters (flat: the list
//! lives in the ledger, not in memory), side by side with the mail merge a founder writes
//! today with Python's standard library (`tests/smtp/merge.py`: one connection, no record of
//! who was sent what). Each command is timed from start to exit, so Foghorn's figure includes
//! reading the list twice (the preview's count and the ledger) and writing the ledger.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use foghorn_e2e::paths::workspace_root;
use foghorn_e2e::SmtpSink;
use serde_json::json;

const LETTER: &str = "---\nsubject: About the outage, {{ name }}\n---\nDear {{ name }},\n\n\
Yesterday {{ company }} could not reach us for four hours. I am sorry: you rely on us, and \
we let you down.\n\nWhat happened: a database failover did not complete. What we are doing: \
the failover is now tested every week.\n\nReply to this email: it comes straight to me.\n";

fn write_list(path: &Path, n: usize) -> Result<()> {
    let mut text = String::from("email,name,company\n");
    for i in 0..n {
        text.push_str(&format!("user{i}@example.com,Customer {i},Company {i}\n"));
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// The highest resident memory the process reached (VmHWM), in KiB.
fn high_water(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `cmd` to the end: how long it took and its peak memory (KiB), read until it exits.
fn measure(mut cmd: Command) -> Result<(Duration, u64)> {
    let began = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{cmd:?}"))?;
    let mut peak = 0;
    loop {
        if let Some(kib) = high_water(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            let took = began.elapsed();
            if !status.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                bail!("{cmd:?} exited with {status}: {err}");
            }
            return Ok((took, peak));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn main() -> Result<()> {
    let bin = std::env::var_os("FOGHORN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/release/foghorn"));
    ensure!(
        bin.exists(),
        "{}: build it with `make release`",
        bin.display()
    );
    let dir = tempfile::tempdir()?;
    let letter = dir.path().join("letter.md");
    std::fs::write(&letter, LETTER)?;
    println!("| sender | letters | time | letters/s | peak memory |");
    println!("| --- | --- | --- | --- | --- |");
    for n in [1_000usize, 10_000] {
        let list = dir.path().join(format!("customers-{n}.csv"));
        write_list(&list, n)?;

        let sink = SmtpSink::start(json!({}))?;
        let home = dir.path().join(format!("home-{n}"));
        std::fs::create_dir_all(&home)?;
        std::fs::write(
            home.join("foghorn.toml"),
            format!(
                "[smtp]\nurl = \"{}\"\nfrom = \"Alice Smith <ceo@acme.test>\"\nrate = \"off\"\n",
                sink.url()
            ),
        )?;
        let mut cmd = Command::new(&bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("FOGHORN_DATA_DIR", home.join("data"))
            .arg("--config")
            .arg(home.join("foghorn.toml"))
            .args(["letter", "send"])
            .arg(&letter)
            .arg("--to")
            .arg(&list)
            .arg("--yes");
        let (took, peak) = measure(cmd)?;
        ensure!(sink.count() == n, "{} of {n} letters arrived", sink.count());
        row(
            "Foghorn (`foghorn letter send`, 4 connections)",
            n,
            took,
            peak,
        );
        drop(sink);

        let sink = SmtpSink::start(json!({}))?;
        let mut cmd = Command::new(python());
        cmd.arg(workspace_root().join("tests/smtp/merge.py"))
            .arg("127.0.0.1")
            .arg(sink.port().to_string())
            .arg(&letter)
            .arg(&list);
        let (took, peak) = measure(cmd)?;
        ensure!(sink.count() == n, "{} of {n} letters arrived", sink.count());
        row("Python smtplib mail merge (1 connection)", n, took, peak);
    }
    Ok(())
}

fn row(who: &str, n: usize, took: Duration, peak_kib: u64) {
    println!(
        "| {who} | {n} | {:.1} s | {:.0} | {:.1} MiB |",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
}
