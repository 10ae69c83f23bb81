//! The postmortem through the real binary, from an incident driven through the real engine:
//! a monitor goes down (two failing checks open the incident), the ladder posts to the team
//! chat, someone acknowledges, a public update goes out, the monitor recovers (the incident
//! resolves itself) and the resolution is posted. `foghorn postmortem` then has the figures
//! the database holds — started is the first failing check, not the incident's opening — and
//! its Markdown matches the reviewed golden file `tests/golden/postmortem.md` once times and
//! durations are masked (`FOGHORN_UPDATE_GOLDEN=1` writes it anew).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::paths::foghorn_command;
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::{wait_until, Target};
use regex::Regex;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const WAIT: Duration = Duration::from_secs(60);

struct Laptop {
    home: tempfile::TempDir,
    slack: String,
}

impl Laptop {
    fn command(&self) -> Result<Command> {
        let mut cmd = foghorn_command(self.home.path())?;
        cmd.env("FOGHORN_DATA_DIR", self.home.path().join("data"))
            .env("SLACK_HOOK", &self.slack)
            .arg("--config")
            .arg(self.home.path().join("foghorn.toml"));
        Ok(cmd)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command()?.args(args).output()?)
    }

    fn ok(&self, args: &[&str]) -> Result<String> {
        let out = self.run(args)?;
        ensure!(
            out.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn incidents(&self) -> Result<Vec<Value>> {
        let out = self.run(&["incidents", "--json"])?;
        let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        Ok(list.as_array().cloned().unwrap_or_default())
    }

    fn db(&self) -> Result<rusqlite::Connection> {
        Ok(rusqlite::Connection::open_with_flags(
            self.home.path().join("data/foghorn.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?)
    }
}

fn config(target: &str, page: &Path) -> String {
    format!(
        r#"[me]
names = ["Alice Smith"]

[[monitors]]
name = "api"
url = "{target}"
interval = "1s"
timeout = "2s"
failure_threshold = 2
severity = "critical"

[escalation]
slack_webhook = "env:SLACK_HOOK"

[[escalation.steps]]
after = "0s"
action = "chat"

[status]
product = "Acme"
components = [{{ name = "API", monitors = ["api"] }}, {{ name = "Dashboard" }}]
next_update = "30m"
time_zone = "Europe/Berlin"

[status.page]
dir = "{page}"
title = "Acme status"
"#,
        page = page.display()
    )
}

fn time(v: &Value) -> Result<OffsetDateTime> {
    let text = v.as_str().context("a time")?;
    Ok(OffsetDateTime::parse(text, &Rfc3339)?)
}

fn db_time(db: &rusqlite::Connection, sql: &str, id: i64) -> Result<OffsetDateTime> {
    let text: String = db.query_row(sql, [id], |r| r.get(0))?;
    Ok(OffsetDateTime::parse(&text, &Rfc3339)?)
}

/// The document with what changes from run to run masked: times, durations, dates.
fn masked(markdown: &str) -> Result<String> {
    let rules = [
        (r"\b\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}\b", "<made>"),
        (r"\b[A-Z][a-z]+day \d{1,2} [A-Z][a-z]+ \d{4}\b", "<date>"),
        (r"\b(\d{1,2} [A-Z][a-z]{2} )?\d{2}:\d{2}:\d{2}\b", "<time>"),
        (r"\b\d+h \d+m\b|\b\d+m \d+s\b|\b\d+s\b", "<duration>"),
    ];
    let mut text = markdown.to_owned();
    for (pattern, with) in rules {
        text = Regex::new(pattern)?.replace_all(&text, with).into_owned();
    }
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postmortem_of_an_incident_run_through_the_engine_has_the_evidence_s_figures(
) -> Result<()> {
    let target = Target::start().await?;
    let slack = Receiver::start(|_| answer(200, "ok")).await?;
    let home = tempfile::tempdir()?;
    let page = home.path().join("page");
    std::fs::write(
        home.path().join("foghorn.toml"),
        config(&target.url(), &page),
    )?;
    let laptop = Laptop {
        home,
        slack: slack.url(),
    };
    let mut engine = {
        let mut cmd = laptop.command()?;
        cmd.args(["run", "--headless"]);
        ChildGuard::spawn("postmortem-engine", cmd, laptop.home.path())?
    };
    // Up first, so the outage has a check that passed before it.
    wait_until(WAIT, "a passing check", || {
        let n: i64 = laptop
            .db()
            .and_then(|db| {
                Ok(
                    db.query_row("SELECT COUNT(*) FROM check_results WHERE ok = 1", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .unwrap_or(0);
        Ok((n > 0).then_some(()))
    })?;
    target.set_healthy(false);
    let id = wait_until(WAIT, "the incident to open", || {
        Ok(laptop.incidents()?.first().and_then(|i| i["id"].as_i64()))
    })?;
    wait_until(WAIT, "the team chat to hear of it", || {
        Ok((!slack.requests().is_empty()).then_some(()))
    })?;
    let incident = id.to_string();
    laptop.ok(&["ack", &incident])?;
    laptop.ok(&[
        "status",
        "post",
        "--incident",
        &incident,
        "--status",
        "investigating",
        "--yes",
        "--json",
    ])?;
    target.set_healthy(true);
    wait_until(WAIT, "the incident to resolve", || {
        Ok(laptop
            .incidents()?
            .iter()
            .any(|i| i["id"].as_i64() == Some(id) && i["state"] == "resolved")
            .then_some(()))
    })?;
    laptop.ok(&[
        "status",
        "post",
        "--incident",
        &incident,
        "--status",
        "resolved",
        "--yes",
        "--json",
    ])?;
    engine.terminate();

    let doc: Value = serde_json::from_str(&laptop.ok(&["postmortem", &incident, "--json"])?)?;
    let f = &doc["figures"];
    let db = laptop.db()?;
    // Started is the first failing check of the run, a check before the incident opened.
    let first_failure_ms: i64 =
        db.query_row("SELECT MIN(at) FROM check_results WHERE ok = 0", [], |r| {
            r.get(0)
        })?;
    let started = time(&f["started"])?;
    let checks: Vec<(i64, bool)> = {
        let mut stmt = db.prepare("SELECT at, ok FROM check_results ORDER BY at")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    ensure!(
        (started.unix_timestamp_nanos() / 1_000_000) as i64 == first_failure_ms,
        "started {started} is the first failing check ({first_failure_ms}): {f}\nchecks: {checks:?}\nsignals: {:?}",
        db.query_row("SELECT dedup_key, started_at, ended_at FROM signals", [], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?)))
    );
    ensure!(
        f["startedFrom"] == "the first failing check of api",
        "{}",
        f["startedFrom"]
    );
    let opened = db_time(&db, "SELECT opened_at FROM incidents WHERE id = ?1", id)?;
    let acked = db_time(&db, "SELECT acked_at FROM incidents WHERE id = ?1", id)?;
    let resolved = db_time(&db, "SELECT resolved_at FROM incidents WHERE id = ?1", id)?;
    let first_post = db_time(
        &db,
        "SELECT MIN(u.posted_at) FROM public_updates u JOIN public_incidents p ON p.id = u.public_id WHERE p.incident_id = ?1",
        id,
    )?;
    ensure!(time(&f["detected"])? == opened, "detected is the opening");
    ensure!(started < opened, "two failing checks before it opened");
    ensure!(time(&f["acknowledged"])? == acked, "the acknowledgement");
    ensure!(
        time(&f["firstPublicUpdate"])? == first_post,
        "the first post"
    );
    ensure!(time(&f["resolved"])? == resolved, "the resolution");
    let seconds = |key: &str| f[key].as_f64().with_context(|| key.to_owned());
    let close = |a: f64, b: f64| (a - b).abs() < 0.002;
    ensure!(
        close(
            seconds("timeToDetectSeconds")?,
            (opened - started).as_seconds_f64()
        ),
        "time to detect"
    );
    ensure!(
        close(
            seconds("timeToAcknowledgeSeconds")?,
            (acked - opened).as_seconds_f64()
        ),
        "time to acknowledge"
    );
    ensure!(
        close(
            seconds("timeToResolveSeconds")?,
            (resolved - started).as_seconds_f64()
        ),
        "time to resolve"
    );
    // The API was down from the first failing check to the first check that passed again.
    let recovered_ms: i64 = db.query_row(
        "SELECT MIN(at) FROM check_results WHERE ok = 1 AND at > ?1",
        [first_failure_ms],
        |r| r.get(0),
    )?;
    let api = f["downtime"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "API"))
        .context("the API's downtime")?;
    ensure!(
        close(
            api["seconds"].as_f64().unwrap_or(0.0),
            (recovered_ms - first_failure_ms) as f64 / 1000.0
        ),
        "downtime {api} from the checks"
    );
    ensure!(
        f["pages"] == serde_json::json!([{"channel": "chat", "sent": 1, "failed": 0}]),
        "one chat message: {}",
        f["pages"]
    );
    ensure!(
        f["promisesKept"] == 1 && f["promisesLate"] == 0,
        "the resolution came before the promised update"
    );
    let timeline: Vec<String> = doc["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        timeline
            .first()
            .is_some_and(|t| t.starts_with("First failing check of **api**")),
        "the timeline starts with the first failing check: {timeline:#?}"
    );

    // The Markdown, as a reader gets it (`foghorn postmortem ID > postmortem.md`).
    let markdown = laptop.ok(&["postmortem", &incident])?;
    ensure!(
        markdown == doc["markdown"].as_str().unwrap_or_default(),
        "one document"
    );
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/postmortem.md");
    let got = masked(&markdown)?;
    if std::env::var_os("FOGHORN_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().context("a folder")?)?;
        std::fs::write(&golden, &got)?;
    }
    let want = std::fs::read_to_string(&golden)
        .with_context(|| format!("{} (FOGHORN_UPDATE_GOLDEN=1 writes it)", golden.display()))?;
    ensure!(
        got == want,
        "the postmortem differs from {} (FOGHORN_UPDATE_GOLDEN=1 writes it anew):\n{got}",
        golden.display()
    );
    Ok(())
}
