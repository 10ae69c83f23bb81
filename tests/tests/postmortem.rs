//! The postmortem through the real binary, from an incident driven through the real engine:
//! a monitor goes down (two failing checks open the incident), the ladder posts to the team
//! chat, someone acknowledges, a public update goes out, the monitor recovers (the incident
//! resolves itself) and the resolution is posted. `foghorn postmortem` then has the figures
//! the database holds — started is the first failing check, not the incident's opening — and
//! its Markdown matches the reviewed golden file `tests/golden/postmortem.md` once times and
//! durations are masked (`FOGHORN_UPDATE_GOLDEN=1` writes it anew). `--html` makes the same
//! document one self-contained HTML file with its charts; `--publish` sends it as the
//! Statuspage incident's postmortem (a stateful fake behind `prism proxy` on Statuspage's
//! own description), once however often it is asked.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::paths::{artifacts_dir, foghorn_command};
use foghorn_e2e::prism::{spec, Prism};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::status::{self as sp, signed_ok, statuspage_fake, Statuspage, SECRETS};
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
            .envs(SECRETS.iter().copied())
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

    fn timeline(&self, kind: &str) -> Result<Vec<String>> {
        let db = self.db()?;
        let mut stmt = db.prepare("SELECT detail FROM timeline WHERE kind = ?1 ORDER BY id")?;
        let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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

    // The same document as one HTML file that loads nothing.
    let html = laptop.ok(&["postmortem", &incident, "--html"])?;
    std::fs::write(artifacts_dir()?.join("postmortem.html"), &html)?;
    self_contained(&html)?;
    ensure!(
        html.contains("<title>Postmortem: api is down</title>"),
        "titled by its first heading"
    );
    ensure!(
        html.matches("<table>").count() >= 2
            && html.contains("<td>Started</td>")
            && html.contains("<td>Time to resolve</td>"),
        "the key figures and the prevention table are tables"
    );
    let charts = html.find("<h2>Charts</h2>").context("a Charts section")?;
    ensure!(
        html[charts..].matches("<svg").count() == 2,
        "two inline charts"
    );
    ensure!(
        html.contains("\nAPI\n</text>") && html.contains(" ms\n</text>"),
        "the availability chart has the API's row and the latency chart its milliseconds"
    );

    // Nowhere to publish it: said so, and nothing recorded.
    let out = laptop.run(&["postmortem", &incident, "--publish"])?;
    let said = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(2) && said.contains("[status.statuspage] is not configured"),
        "{said}"
    );
    ensure!(laptop.timeline("postmortem-published")?.is_empty());
    Ok(())
}

/// One HTML document whose every part is inside it: no `src` or stylesheet from anywhere,
/// a Content-Security-Policy that forbids loading, charts as inline SVG.
fn self_contained(html: &str) -> Result<()> {
    ensure!(
        html.starts_with("<!DOCTYPE html>")
            && html.matches("<html").count() == 1
            && html.trim_end().ends_with("</html>"),
        "one document:\n{html}"
    );
    ensure!(
        html.contains("<meta charset=\"utf-8\">"),
        "its encoding is declared"
    );
    ensure!(
        html.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"),
        "a policy that loads nothing"
    );
    let remote = Regex::new(r#"(?i)\bsrc\s*=\s*["']?\s*(https?:)?//"#)?;
    ensure!(!remote.is_match(html), "a remote src:\n{html}");
    ensure!(
        !html.contains("<link") && !html.contains("@import") && !html.contains("url("),
        "no stylesheet from elsewhere"
    );
    ensure!(
        !html.contains("<script"),
        "no script (raw HTML in the Markdown is text)"
    );
    Ok(())
}

/// A team template without the time it was made, so drafting twice gives the same words.
const STEADY_TEMPLATE: &str = "# Postmortem: {{ title }}\n\nOn {{ date }}, {{ what }}.\n\n| Figure | Value |\n|---|---|\n| Started | {{ started }} |\n| Detected | {{ detected }} |\n\n## Timeline\n\n{% for e in events %}- {{ e.at }} — {{ e.text }}\n{% endfor %}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postmortem_is_published_as_the_statuspage_incident_s_postmortem_once() -> Result<()> {
    let target = Target::start().await?;
    let sp_state = Arc::new(Mutex::new(Statuspage::default()));
    let sp_fake = statuspage_fake(sp_state.clone()).await?;
    let prism = Prism::proxy(&spec("statuspage-v1-openapi.json"), &sp_fake.url())?;
    let slack = Receiver::start(|_| answer(200, "ok")).await?;
    let hook = Receiver::start(signed_ok("hook-s3cret")).await?;
    let home = tempfile::tempdir()?;
    let template = home.path().join("postmortem.md");
    std::fs::write(&template, STEADY_TEMPLATE)?;
    let config = format!(
        "{}\n[postmortem]\ntemplate = \"{}\"\n",
        sp::config(
            &target.url(),
            &prism.url(),
            &hook.url(),
            &home.path().join("page"),
            None
        ),
        template.display()
    );
    std::fs::write(home.path().join("foghorn.toml"), config)?;
    let laptop = Laptop {
        home,
        slack: slack.url(),
    };
    target.set_healthy(false);
    let mut engine = {
        let mut cmd = laptop.command()?;
        cmd.args(["run", "--headless"]);
        ChildGuard::spawn("postmortem-publish-engine", cmd, laptop.home.path())?
    };
    let id = wait_until(WAIT, "the incident to open", || {
        Ok(laptop.incidents()?.first().and_then(|i| i["id"].as_i64()))
    })?;
    engine.terminate();
    let incident = id.to_string();

    // Not on Statuspage yet: nothing to attach a postmortem to.
    let out = laptop.run(&["postmortem", &incident, "--publish"])?;
    let said = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(2)
            && said.contains(&format!("incident {id} was never posted to Statuspage")),
        "{said}"
    );

    let posted: Value = serde_json::from_str(&laptop.ok(&[
        "status",
        "post",
        "--incident",
        &incident,
        "--status",
        "investigating",
        "--yes",
        "--json",
    ])?)?;
    ensure!(
        posted["destinations"]["statuspage"] == "published",
        "{posted}"
    );
    let sp_id = {
        let state = sp_state.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        state.incidents[0]["id"]
            .as_str()
            .context("the Statuspage incident")?
            .to_owned()
    };

    let markdown = laptop.ok(&["postmortem", &incident])?;
    let said = laptop.ok(&["postmortem", &incident, "--publish"])?;
    ensure!(said.contains("published on Statuspage"), "{said}");
    {
        let state = sp_state.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        ensure!(
            state.postmortem_drafts.len() == 1 && state.postmortem_publishes.len() == 1,
            "the draft and the publish once each: {:?} {:?}",
            state.postmortem_drafts,
            state.postmortem_publishes
        );
        let (on, draft) = &state.postmortem_drafts[0];
        ensure!(
            *on == sp_id && draft["postmortem"]["body_draft"] == markdown.as_str(),
            "the document as the draft of {sp_id}: {draft}"
        );
        ensure!(
            state.postmortem_publishes[0].1["postmortem"]["notify_subscribers"] == false,
            "subscribers are not mailed unless asked: {:?}",
            state.postmortem_publishes[0]
        );
        ensure!(
            state.postmortems[&sp_id]["body"] == markdown.as_str(),
            "readers see the document"
        );
    }
    let noted = laptop.timeline("postmortem-published")?;
    ensure!(
        noted.len() == 1 && noted[0].contains("postmortem published to Statuspage"),
        "{noted:?}"
    );

    // Again: the same words are already there; nothing is sent, nothing doubled.
    let said = laptop.ok(&["postmortem", &incident, "--publish"])?;
    ensure!(said.contains("already published"), "{said}");
    {
        let state = sp_state.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        ensure!(
            state.postmortems.len() == 1
                && state.postmortem_drafts.len() == 1
                && state.postmortem_publishes.len() == 1,
            "one postmortem, published once: {:?}",
            state.postmortems
        );
    }
    ensure!(laptop.timeline("postmortem-published")?.len() == 1);
    prism.assert_no_violations()?;
    ensure!(prism.refusals().is_empty(), "{:?}", prism.refusals());
    // The document's own publication is not part of the outage's story.
    ensure!(!laptop
        .ok(&["postmortem", &incident])?
        .contains("published to Statuspage"));
    Ok(())
}
