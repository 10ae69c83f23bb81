//! Public status updates through the real binary: an incident opened by a failing monitor is
//! published with `foghorn status post` to Statuspage (a stateful fake behind `prism proxy`
//! on Statuspage's own description: a request that breaks it never reaches the fake), the
//! team chat (a Slack incoming webhook, its body checked against the payload schema), the
//! self-hosted page and a signed webhook; updated twice and resolved. Statuspage's incident
//! is created once and then only patched; the page's JSON matches Statuspage's public API.
//! A publish killed midway is finished after a restart, each destination getting each update
//! once.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, ensure, Context, Result};
use foghorn_core::deliver::webhook::IDEMPOTENCY_HEADER;
use foghorn_e2e::paths::{foghorn_command, workspace_root};
use foghorn_e2e::prism::{spec, Prism};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::status::{config, signed_ok, statuspage_fake, Statuspage, SECRETS};
use foghorn_e2e::{wait_until, Target};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

/// A home with a configuration and a data dir, and the `foghorn` command for it.
struct Laptop {
    home: tempfile::TempDir,
    /// The Slack incoming webhook's URL, a secret given through the environment.
    slack: String,
}

impl Laptop {
    fn new(config: &str, slack: &str) -> Result<Self> {
        let home = tempfile::tempdir()?;
        std::fs::write(home.path().join("foghorn.toml"), config)?;
        Ok(Self {
            home,
            slack: slack.to_owned(),
        })
    }

    fn command(&self, crash_at: Option<&str>) -> Result<Command> {
        let mut cmd = foghorn_command(self.home.path())?;
        cmd.env("FOGHORN_DATA_DIR", self.home.path().join("data"))
            .envs(SECRETS.iter().copied())
            .env("SLACK_HOOK", &self.slack)
            .arg("--config")
            .arg(self.home.path().join("foghorn.toml"));
        if let Some(point) = crash_at {
            cmd.env("FOGHORN_CRASH_AT", point);
        }
        Ok(cmd)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command(None)?.args(args).output()?)
    }

    fn start(&self, name: &str) -> Result<ChildGuard> {
        let mut cmd = self.command(None)?;
        cmd.args(["run", "--headless"]);
        ChildGuard::spawn(name, cmd, self.home.path())
    }

    /// `foghorn status post ARGS --yes --json`, its answer.
    fn post(&self, args: &[&str]) -> Result<Value> {
        let out = self.run(&[&["status", "post", "--yes", "--json"], args].concat())?;
        ensure!(
            out.status.success(),
            "status post {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    fn open_incident(&self) -> Result<i64> {
        wait_until(WAIT, "an incident to open", || {
            let out = self.run(&["incidents", "--json"])?;
            let list: Value = serde_json::from_slice(&out.stdout)?;
            Ok(list
                .as_array()
                .and_then(|l| l.iter().find(|i| i["state"] != "resolved"))
                .and_then(|i| i["id"].as_i64()))
        })
    }

    fn timeline(&self, kind: &str) -> Result<Vec<String>> {
        let db = rusqlite::Connection::open_with_flags(
            self.home.path().join("data/foghorn.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut stmt = db.prepare("SELECT detail FROM timeline WHERE kind = ?1 ORDER BY id")?;
        let rows = stmt.query_map([kind], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output()?;
    ensure!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn schema(name: &str) -> Result<jsonschema::Validator> {
    let path = workspace_root().join("tests/schemas").join(name);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?,
    )?;
    jsonschema::validator_for(&schema).map_err(|e| anyhow!("{name}: {e}"))
}

fn validate(validator: &jsonschema::Validator, what: &str, value: &Value) -> Result<()> {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    ensure!(
        errors.is_empty(),
        "{what} breaks its schema:\n{}",
        errors.join("\n")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_published_everywhere_created_once_on_statuspage_then_patched() -> Result<()>
{
    let target = Target::start().await?;
    let sp_state = Arc::new(Mutex::new(Statuspage::default()));
    let sp_fake = statuspage_fake(sp_state.clone()).await?;
    let prism = Prism::proxy(&spec("statuspage-v1-openapi.json"), &sp_fake.url())?;
    let slack = Receiver::start(|_| answer(200, "ok")).await?;
    let hook = Receiver::start(signed_ok("hook-s3cret")).await?;
    let home = tempfile::tempdir()?;
    let page = home.path().join("page");
    let remote = home.path().join("status.git");
    git(home.path(), &["init", "-q", "--bare", "status.git"])?;
    let laptop = Laptop::new(
        &config(
            &target.url(),
            &prism.url(),
            &hook.url(),
            &page,
            Some(&remote),
        ),
        &slack.url(),
    )?;
    target.set_healthy(false);
    let mut engine = laptop.start("status-engine")?;
    let incident = laptop.open_incident()?;
    let post = |args: &[&str]| laptop.post(args);
    let incident_arg = incident.to_string();
    let first = post(&["--incident", &incident_arg, "--status", "investigating"])?;
    let everywhere = json!({"statuspage": "published", "chat": "published", "page": "published", "webhook": "published"});
    ensure!(first["destinations"] == everywhere, "first post: {first}");
    let id = first["id"]
        .as_i64()
        .context("the public incident's id")?
        .to_string();
    let second = post(&[
        "--id",
        &id,
        "--status",
        "identified",
        "--message",
        "A bad deploy broke logins; we are rolling it back.",
    ])?;
    ensure!(
        second["destinations"] == everywhere,
        "second post: {second}"
    );
    let third = post(&[
        "--id",
        &id,
        "--status",
        "monitoring",
        "--component",
        "API=degraded_performance",
    ])?;
    ensure!(third["destinations"] == everywhere, "third post: {third}");

    // Resolving while the API's monitor is still down is questioned.
    let early = laptop
        .command(None)?
        .args(["status", "post", "--id", &id, "--status", "resolved"])
        .stdin(std::process::Stdio::null())
        .output()?;
    let said = String::from_utf8_lossy(&early.stderr);
    ensure!(
        !early.status.success() && said.contains("still down") && said.contains("--yes"),
        "an early resolve warns and asks: {said}"
    );
    target.set_healthy(true);
    wait_until(WAIT, "the incident to resolve", || {
        let out = laptop.run(&["incidents", "--json"])?;
        let list: Value = serde_json::from_slice(&out.stdout)?;
        Ok(list
            .as_array()
            .is_some_and(|l| l.iter().all(|i| i["state"] == "resolved"))
            .then_some(()))
    })?;
    let last = post(&["--id", &id, "--status", "resolved"])?;
    ensure!(last["destinations"] == everywhere, "last post: {last}");
    ensure!(
        last["warnings"].as_array().is_some_and(Vec::is_empty),
        "nothing to warn about once the monitor is up: {last}"
    );
    engine.terminate();

    // Statuspage: created once, then patched three times, nothing that breaks its spec.
    prism.assert_no_violations()?;
    ensure!(
        prism.refusals().is_empty(),
        "refused: {:?}",
        prism.refusals()
    );
    {
        let sp = sp_state.lock().map_err(|_| anyhow!("poisoned"))?;
        ensure!(sp.created == 1, "one incident created: {}", sp.created);
        let statuses: Vec<&Value> = sp
            .patched
            .iter()
            .map(|(_, b)| &b["incident"]["status"])
            .collect();
        ensure!(
            statuses
                == [
                    &json!("identified"),
                    &json!("monitoring"),
                    &json!("resolved")
                ],
            "patched with each update in order: {statuses:?}"
        );
        ensure!(
            sp.patched.iter().all(|(id, _)| id == "inc1"),
            "every patch went to the created incident: {:?}",
            sp.patched
        );
        ensure!(
            sp.patched[1].1["incident"]["components"]
                == json!({"8kbf7d35c070": "degraded_performance"}),
            "components by Statuspage id: {}",
            sp.patched[1].1
        );
        ensure!(
            sp.patched[2].1["incident"]["components"] == json!({"8kbf7d35c070": "operational"}),
            "resolving restores the component: {}",
            sp.patched[2].1
        );
    }
    let created = sp_fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .context("the create")?;
    let created: Value = serde_json::from_slice(&created.body)?;
    ensure!(
        created["incident"]["components"] == json!({"8kbf7d35c070": "major_outage"})
            && created["incident"]["deliver_notifications"] == json!(true)
            && created["incident"]["body"]
                .as_str()
                .is_some_and(|b| b.contains("We are investigating")),
        "the first update pre-filled from the failing monitor: {created}"
    );

    // The team chat: four posts, each a valid incoming-webhook body.
    let slack_schema: Value = serde_json::from_str(&std::fs::read_to_string(spec(
        "slack-incoming-webhook-payload.schema.json",
    ))?)?;
    let slack_schema = jsonschema::validator_for(&slack_schema).map_err(|e| anyhow!("{e}"))?;
    let posts: Vec<Value> = slack
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body))
        .collect::<Result<_, _>>()?;
    ensure!(posts.len() == 4, "four chat posts: {posts:?}");
    for (post, state) in posts
        .iter()
        .zip(["Investigating", "Identified", "Monitoring", "Resolved"])
    {
        validate(&slack_schema, "a chat post", post)?;
        let text = post["text"].as_str().unwrap_or("");
        ensure!(text.contains(&format!("[{state}]")), "{state}: {text}");
    }

    // The webhook: four signed posts, one idempotency key each.
    let hooks = hook.requests();
    let mut keys: Vec<&str> = hooks
        .iter()
        .filter_map(|r| r.header(IDEMPOTENCY_HEADER))
        .collect();
    keys.dedup();
    ensure!(
        hooks.len() == 4 && keys.len() == 4,
        "four signed posts: {hooks:?}"
    );

    // The page: Statuspage's public shape; nothing unresolved once resolved.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(page.join("api/v2/summary.json"))?)?;
    let status: Value =
        serde_json::from_str(&std::fs::read_to_string(page.join("api/v2/status.json"))?)?;
    validate(
        &schema("statuspage-summary.schema.json")?,
        "summary.json",
        &summary,
    )?;
    validate(
        &schema("statuspage-status.schema.json")?,
        "status.json",
        &status,
    )?;
    ensure!(
        summary["incidents"] == json!([]),
        "nothing unresolved: {summary}"
    );
    ensure!(status["status"]["indicator"] == "none", "{status}");
    let atom = std::fs::read(page.join("history.atom"))?;
    let feed = feed_rs::parser::parse(&atom[..]).map_err(|e| anyhow!("history.atom: {e}"))?;
    ensure!(
        feed.entries.len() == 4,
        "four entries: {}",
        feed.entries.len()
    );
    let html = std::fs::read_to_string(page.join("index.html"))?;
    ensure!(
        html.contains("application/atom+xml") && html.contains("A bad deploy broke logins"),
        "the page shows the updates"
    );

    // The page's hosting: every rebuild pushed, the remote holding what was built here.
    let pushed = git(&remote, &["log", "--format=%s", "gh-pages"])?;
    ensure!(
        pushed.lines().count() >= 4
            && pushed
                .lines()
                .next()
                .is_some_and(|l| l.contains("[Resolved]")),
        "each update's page pushed: {pushed}"
    );
    let hosted = git(&remote, &["show", "gh-pages:api/v2/summary.json"])?;
    ensure!(
        hosted == std::fs::read_to_string(page.join("api/v2/summary.json"))?,
        "the remote serves what was built"
    );

    // The incident's timeline: each update, with the evidence the public text leaves out.
    let lines = laptop.timeline("status-update")?;
    ensure!(lines.len() == 4, "four updates on the timeline: {lines:?}");
    ensure!(
        lines[0].contains("evidence:"),
        "evidence on the timeline: {}",
        lines[0]
    );
    ensure!(
        !created["incident"]["body"]
            .as_str()
            .unwrap_or("")
            .contains("evidence"),
        "no evidence in public"
    );
    // Resolved: how the public side kept its word is on the record for the postmortem.
    let record = laptop.timeline("status-record")?;
    ensure!(
        record.len() == 1
            && record[0].starts_with("Public updates: first public update ")
            && record[0].contains("after the incident opened; 4 updates")
            && record[0].ends_with("3 of 3 promised updates on time"),
        "the record: {record:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_killed_midway_finishes_after_a_restart_once_per_destination() -> Result<()> {
    let target = Target::start().await?;
    let sp_state = Arc::new(Mutex::new(Statuspage::default()));
    let sp_fake = statuspage_fake(sp_state.clone()).await?;
    let prism = Prism::proxy(&spec("statuspage-v1-openapi.json"), &sp_fake.url())?;
    let slack = Receiver::start(|_| answer(200, "ok")).await?;
    let hook = Receiver::start(signed_ok("hook-s3cret")).await?;
    let home = tempfile::tempdir()?;
    let page = home.path().join("page");
    let laptop = Laptop::new(
        &config(&target.url(), &prism.url(), &hook.url(), &page, None),
        &slack.url(),
    )?;
    // Killed right after Statuspage took the incident, before that was recorded.
    let out = laptop
        .command(Some("message-sent"))?
        .args([
            "status",
            "post",
            "--yes",
            "--json",
            "--title",
            "Logins fail",
            "--status",
            "investigating",
            "--component",
            "API=major_outage",
        ])
        .output()?;
    ensure!(!out.status.success(), "aborted at the crash point");
    ensure!(
        sp_state.lock().map_err(|_| anyhow!("poisoned"))?.created == 1,
        "Statuspage took it before the crash"
    );
    // The app, started again, finishes: the other destinations at once, Statuspage once its
    // attempt's hold runs out, found by its key rather than created again.
    let mut engine = laptop.start("status-engine-after-crash")?;
    wait_until(
        Duration::from_secs(150),
        "every destination to be published",
        || {
            let db = rusqlite::Connection::open_with_flags(
                laptop.home.path().join("data/foghorn.db"),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?;
            let left: i64 = db.query_row(
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
                [],
                |r| r.get(0),
            )?;
            Ok((left == 0).then_some(()))
        },
    )?;
    engine.terminate();
    let sp = sp_state.lock().map_err(|_| anyhow!("poisoned"))?;
    ensure!(sp.created == 1, "created once: {}", sp.created);
    ensure!(
        sp.patched.is_empty(),
        "and not patched with the same words: {:?}",
        sp.patched
    );
    ensure!(
        slack.requests().len() == 1,
        "one chat post: {:?}",
        slack.requests()
    );
    ensure!(
        hook.requests().len() == 1,
        "one webhook: {:?}",
        hook.requests()
    );
    ensure!(
        page.join("api/v2/summary.json").is_file(),
        "the page is written"
    );
    prism.assert_no_violations()?;
    Ok(())
}

/// The demo (no configuration file) posts to a page in the data directory: an update needs no
/// account anywhere. `foghorn status page build DIR` writes the same page elsewhere.
#[test]
fn the_demo_posts_to_a_page_in_the_data_directory_and_the_page_can_be_rebuilt() -> Result<()> {
    let home = tempfile::tempdir()?;
    let run = |args: &[&str]| -> Result<Output> {
        Ok(foghorn_command(home.path())?
            .env("FOGHORN_DATA_DIR", home.path().join("data"))
            .args(args)
            .output()?)
    };
    let out = run(&[
        "status",
        "post",
        "--yes",
        "--json",
        "--title",
        "Slow logins",
        "--status",
        "investigating",
    ])?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    ensure!(
        answer["destinations"] == json!({"page": "published"}),
        "{answer}"
    );
    let page = home.path().join("data/status-page");
    let html = std::fs::read_to_string(page.join("index.html"))?;
    ensure!(
        html.contains("Slow logins") && html.contains("Demo status"),
        "the demo's page"
    );

    let elsewhere = home.path().join("rebuilt");
    let out = run(&["status", "page", "build", &elsewhere.display().to_string()])?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "index.html",
        "history.atom",
        "api/v2/summary.json",
        "api/v2/status.json",
    ] {
        ensure!(elsewhere.join(file).is_file(), "{file} rebuilt");
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(
        elsewhere.join("api/v2/summary.json"),
    )?)?;
    ensure!(
        summary["incidents"][0]["name"] == "Slow logins",
        "{summary}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_failed_is_sent_again_alone_with_status_retry() -> Result<()> {
    let target = Target::start().await?;
    let sp_state = Arc::new(Mutex::new(Statuspage::default()));
    let sp_fake = statuspage_fake(sp_state.clone()).await?;
    let prism = Prism::proxy(&spec("statuspage-v1-openapi.json"), &sp_fake.url())?;
    let slack = Receiver::start(|_| answer(200, "ok")).await?;
    // The banner's endpoint refuses (a 400 is not retried) until `refusing` is cleared.
    let refusing = Arc::new(AtomicBool::new(true));
    let hook = Receiver::start({
        let refusing = refusing.clone();
        let signed = signed_ok("hook-s3cret");
        move |r| {
            if refusing.load(Ordering::SeqCst) {
                answer(400, "banner store is read-only")
            } else {
                signed(r)
            }
        }
    })
    .await?;
    let home = tempfile::tempdir()?;
    let laptop = Laptop::new(
        &config(
            &target.url(),
            &prism.url(),
            &hook.url(),
            &home.path().join("page"),
            None,
        ),
        &slack.url(),
    )?;
    let first = laptop.run(&[
        "status",
        "post",
        "--yes",
        "--json",
        "--title",
        "Slow logins",
        "--status",
        "investigating",
    ])?;
    let answer: Value = serde_json::from_slice(&first.stdout)
        .with_context(|| String::from_utf8_lossy(&first.stderr).into_owned())?;
    ensure!(
        !first.status.success(),
        "a failed destination fails the post"
    );
    ensure!(
        answer["destinations"]
            == json!({"statuspage": "published", "chat": "published", "page": "published", "webhook": "failed"}),
        "the banner refused: {answer}"
    );
    ensure!(
        answer["errors"]["webhook"]
            .as_str()
            .is_some_and(|e| e.contains("banner store is read-only")),
        "the refusal is quoted: {answer}"
    );
    let update = answer["update"].as_i64().context("the update's number")?;

    refusing.store(false, Ordering::SeqCst);
    let update_arg = update.to_string();
    let again = laptop.run(&["status", "retry", &update_arg, "--to", "webhook", "--json"])?;
    ensure!(
        again.status.success(),
        "retry: {}\n{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    let answer: Value = serde_json::from_slice(&again.stdout)?;
    ensure!(
        answer["destinations"]
            == json!({"statuspage": "published", "chat": "published", "page": "published", "webhook": "published"}),
        "every destination published: {answer}"
    );
    // Only the banner heard twice; nobody else heard again.
    ensure!(hook.requests().len() == 2, "the banner: refused, then sent");
    ensure!(slack.requests().len() == 1, "the chat once");
    {
        let sp = sp_state.lock().map_err(|_| anyhow!("poisoned"))?;
        ensure!(
            sp.created == 1 && sp.patched.is_empty(),
            "Statuspage once: {} created, {} patched",
            sp.created,
            sp.patched.len()
        );
    }
    prism.assert_no_violations()?;

    // Nothing left to send: said so, and nothing goes out.
    let twice = laptop.run(&["status", "retry", &update_arg, "--to", "webhook"])?;
    let said = String::from_utf8_lossy(&twice.stderr);
    ensure!(
        !twice.status.success() && said.contains("no unsent message to"),
        "a second retry refuses: {said}"
    );
    ensure!(hook.requests().len() == 2, "and sends nothing");
    Ok(())
}
