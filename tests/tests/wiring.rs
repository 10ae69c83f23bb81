//! Every kind of feed started the way a user starts it: from a configuration file, by
//! `foghorn run --headless`. A real Alertmanager; PagerDuty and Datadog behind Prism proxies
//! (a request that breaks the vendor's spec is refused and never reaches the fake behind);
//! Honeybadger and the JSON feed as local fakes. Each raises an incident, and acknowledging
//! each one writes the acknowledgement back to the vendors that have one. A feed that cannot
//! start fails `foghorn config check`, naming it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::alertmanager::Alertmanager;
use foghorn_e2e::paths::foghorn_command;
use foghorn_e2e::prism::{spec, Prism};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{Receiver, Recorded, Reply};
use foghorn_e2e::wait_until_async;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const WAIT: Duration = Duration::from_secs(60);

/// The secrets the configuration names, as the environment gives them.
const SECRETS: [(&str, &str); 5] = [
    ("PD_TOKEN", "y_NbAkKc66ryYTWUXYEu"),
    ("DD_API_KEY", "dd-api-key"),
    ("DD_APP_KEY", "dd-app-key"),
    ("HB_TOKEN", "hb-token"),
    ("TOOLS_TOKEN", "tools-token"),
];

fn json_answer(body: &Value) -> Reply {
    Reply::Answer {
        status: 200,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: body.to_string(),
    }
}

fn not_found() -> Reply {
    Reply::Answer {
        status: 404,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: "{\"errors\":\"Not found\"}".to_owned(),
    }
}

/// PagerDuty's REST API: one triggered incident; `PUT /incidents/{id}` answers the incident.
async fn pagerduty_fake() -> Result<Receiver> {
    Receiver::start(|r| match (r.method.as_str(), path_of(r)) {
        ("GET", "/incidents") => json_answer(&json!({
            "incidents": [{
                "id": "PABC123", "type": "incident", "summary": "[#1] Payments API down",
                "title": "Payments API down", "status": "triggered", "urgency": "high",
                "incident_number": 1, "created_at": "2026-01-01T00:00:00Z",
                "html_url": "https://example.pagerduty.com/incidents/PABC123",
                "self": "https://api.pagerduty.com/incidents/PABC123",
                "service": {"id": "PSVC001", "type": "service_reference", "summary": "Payments"},
                "escalation_policy": {"id": "PEP0001", "type": "escalation_policy_reference",
                                      "summary": "Engineering"},
                "assignments": [], "acknowledgements": [],
                "last_status_change_at": "2026-01-01T00:00:00Z",
            }],
            "limit": 100, "offset": 0, "more": false, "total": null,
        })),
        ("PUT", "/incidents/PABC123") => json_answer(&json!({
            "incident": {"id": "PABC123", "type": "incident", "status": "acknowledged"},
        })),
        _ => not_found(),
    })
    .await
}

/// Datadog's monitors API: one monitor in Alert; `POST /api/v1/downtime` answers a downtime.
async fn datadog_fake() -> Result<Receiver> {
    Receiver::start(|r| match (r.method.as_str(), path_of(r)) {
        ("GET", "/api/v1/monitor") => json_answer(&json!([{
            "id": 4242, "name": "Checkout latency high", "type": "query alert",
            "query": "avg(last_5m):avg:checkout.latency{*} > 2", "message": "",
            "overall_state": "Alert", "priority": 1, "tags": ["service:checkout"],
            "options": {}, "matching_downtimes": [],
        }])),
        ("POST", "/api/v1/downtime") => {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            json_answer(&json!({
                "id": 7001, "monitor_id": 4242, "scope": ["*"], "start": now,
                "end": now + 4 * 3600, "active": true, "message": "",
            }))
        }
        _ => not_found(),
    })
    .await
}

/// Honeybadger's Data API v2: one fault with 40 notices in its first hour, no uptime sites.
async fn honeybadger_fake() -> Result<Receiver> {
    let created = (OffsetDateTime::now_utc() - time::Duration::minutes(5)).format(&Rfc3339)?;
    Receiver::start(move |r| {
        if r.header("authorization") != Some("Basic aGItdG9rZW46") {
            return Reply::Answer {
                status: 401,
                headers: Vec::new(),
                body: "{\"errors\":\"Unauthorized\"}".to_owned(),
            };
        }
        match path_of(r) {
            "/v2/projects/1/faults" => json_answer(&json!({
                "results": [{
                    "id": 77, "project_id": 1, "klass": "RuntimeError",
                    "message": "checkout exploded", "environment": "production",
                    "resolved": false, "ignored": false, "notices_count": 40,
                    "created_at": created, "url": "https://app.honeybadger.io/projects/1/faults/77",
                }],
                "links": {"next": null},
            })),
            "/v2/projects/1/sites" => json_answer(&json!({"results": [], "links": {}})),
            _ => not_found(),
        }
    })
    .await
}

/// An in-house tool's list of alerts.
async fn tools_fake() -> Result<Receiver> {
    Receiver::start(|r| match path_of(r) {
        "/alerts.json" => json_answer(&json!({"data": {"alerts": [
            {"ref": "q-1", "summary": "Queue backlog over 10k", "level": "warning", "status": "open"},
        ]}})),
        _ => not_found(),
    })
    .await
}

fn path_of(r: &Recorded) -> &str {
    r.path.split('?').next().unwrap_or_default()
}

/// The five feeds, one of each kind, each at its local server.
fn every_feed(am: &str, pagerduty: &str, datadog: &str, honeybadger: &str, tools: &str) -> String {
    format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [[feeds]]\nkind = \"alertmanager\"\nurl = \"{am}\"\npoll_every = \"1s\"\n\n\
         [[feeds]]\nkind = \"pagerduty\"\nurl = \"{pagerduty}\"\ntoken = \"env:PD_TOKEN\"\n\
         from = \"alice@example.com\"\npoll_every = \"1s\"\n\n\
         [[feeds]]\nkind = \"datadog\"\nurl = \"{datadog}\"\ntoken = \"env:DD_API_KEY\"\n\
         app_key = \"env:DD_APP_KEY\"\nmute_as_ack = true\npoll_every = \"1s\"\n\n\
         [[feeds]]\nkind = \"honeybadger\"\nurl = \"{honeybadger}/v2\"\ntoken = \"env:HB_TOKEN\"\n\
         project = \"1\"\npoll_every = \"1s\"\n\n\
         [[feeds]]\nkind = \"json\"\nname = \"tools\"\nurl = \"{tools}/alerts.json\"\n\
         token = \"env:TOOLS_TOKEN\"\npoll_every = \"1s\"\n\
         mapping = {{ items = \"$.data.alerts\", id = \"ref\", title = \"summary\", \
         severity = \"level\", state = \"status\", firing_values = [\"open\"] }}\n"
    )
}

/// A home with a configuration and a data dir, and the `foghorn` command for it.
struct Laptop {
    home: tempfile::TempDir,
}

impl Laptop {
    fn new(config: &str) -> Result<Self> {
        let home = tempfile::tempdir()?;
        std::fs::write(home.path().join("foghorn.toml"), config)?;
        Ok(Self { home })
    }

    fn config(&self) -> PathBuf {
        self.home.path().join("foghorn.toml")
    }

    fn command(&self, secrets: &[(&str, &str)]) -> Result<Command> {
        let mut cmd = foghorn_command(self.home.path())?;
        cmd.env("FOGHORN_DATA_DIR", self.home.path().join("data"))
            .envs(secrets.iter().copied())
            .arg("--config")
            .arg(self.config());
        Ok(cmd)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command(&SECRETS)?.args(args).output()?)
    }

    fn start(&self) -> Result<ChildGuard> {
        let mut cmd = self.command(&SECRETS)?;
        cmd.args(["run", "--headless"]);
        ChildGuard::spawn("every-feed", cmd, self.home.path())
    }

    fn incidents(&self) -> Result<Vec<Value>> {
        let out = self.run(&["incidents", "--json"])?;
        ensure!(out.status.success(), "{}", stderr(&out));
        let list: Value = serde_json::from_slice(&out.stdout)?;
        Ok(list.as_array().cloned().unwrap_or_default())
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn count(fake: &Receiver, method: &str, path: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == method && path_of(r) == path)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feed_kind_starts_from_a_config_file_and_raises_an_incident() -> Result<()> {
    let am = Alertmanager::start()?;
    let pd_fake = pagerduty_fake().await?;
    let dd_fake = datadog_fake().await?;
    let pagerduty = Prism::proxy(&spec("pagerduty-rest-openapiv3.json"), &pd_fake.url())?;
    let datadog = Prism::proxy(
        &spec("datadog-v1-monitors-events-openapi.yaml"),
        &dd_fake.url(),
    )?;
    let honeybadger = honeybadger_fake().await?;
    let tools = tools_fake().await?;
    am.post_alert(
        &[
            ("alertname", "DiskFull"),
            ("instance", "db1"),
            ("severity", "critical"),
        ],
        &[("summary", "Disk full on db1")],
    )
    .await?;
    let laptop = Laptop::new(&every_feed(
        am.url(),
        &pagerduty.url(),
        &datadog.url(),
        &honeybadger.url(),
        &tools.url(),
    ))?;

    let check = laptop.run(&["config", "check"])?;
    ensure!(
        check.status.success() && String::from_utf8_lossy(&check.stdout).contains("5 feeds"),
        "config check: {check:?}"
    );

    let engine = laptop.start()?;
    let titles = [
        "Disk full on db1",
        "Payments API down",
        "Checkout latency high",
        "RuntimeError: checkout exploded",
        "Queue backlog over 10k",
    ];
    let incidents = wait_until_async(WAIT, "an incident from every feed", || async {
        let open = laptop.incidents()?;
        let found: Vec<Value> = titles
            .iter()
            .filter_map(|t| open.iter().find(|i| i["title"] == *t).cloned())
            .collect();
        Ok((found.len() == titles.len()).then_some(found))
    })
    .await
    .with_context(|| {
        format!(
            "incidents: {:?}\nPagerDuty refused: {:?}\nDatadog refused: {:?}\n{}",
            laptop.incidents().unwrap_or_default(),
            pagerduty.refusals(),
            datadog.refusals(),
            engine.stderr()
        )
    })?;

    for incident in &incidents {
        let id = incident["id"].as_i64().context("an incident id")?;
        let out = laptop.run(&["ack", &id.to_string()])?;
        ensure!(out.status.success(), "ack {id}: {}", stderr(&out));
    }

    // Written back where the vendor has an acknowledgement: a silence, a PUT, a downtime.
    let silence = wait_until_async(WAIT, "the Alertmanager silence", || async {
        am.active_silence("").await
    })
    .await
    .with_context(|| engine.stderr())?;
    ensure!(
        silence["comment"]
            .as_str()
            .is_some_and(|c| c.starts_with("Acknowledged in Foghorn by Alice Smith")),
        "{silence}"
    );
    wait_until_async(WAIT, "the PagerDuty acknowledgement", || async {
        Ok((count(&pd_fake, "PUT", "/incidents/PABC123") > 0).then_some(()))
    })
    .await
    .with_context(|| format!("{:?}\n{}", pagerduty.refusals(), engine.stderr()))?;
    wait_until_async(WAIT, "the Datadog downtime", || async {
        Ok((count(&dd_fake, "POST", "/api/v1/downtime") > 0).then_some(()))
    })
    .await
    .with_context(|| format!("{:?}\n{}", datadog.refusals(), engine.stderr()))?;

    let put = pd_fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .context("the PUT")?;
    let body: Value = serde_json::from_slice(&put.body)?;
    ensure!(
        body["incident"]["status"] == "acknowledged"
            && put.header("from") == Some("alice@example.com"),
        "{put:?} {body}"
    );
    let downtime = dd_fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .context("the downtime")?;
    let body: Value = serde_json::from_slice(&downtime.body)?;
    ensure!(
        body["monitor_id"] == 4242
            && body["message"]
                .as_str()
                .is_some_and(|m| m.contains("Alice Smith")),
        "{body}"
    );

    // Once each, however many polls follow; Honeybadger and the JSON tool are only read.
    let polls = count(&pd_fake, "GET", "/incidents");
    wait_until_async(WAIT, "three more polls", || async {
        Ok((count(&pd_fake, "GET", "/incidents") >= polls + 3).then_some(()))
    })
    .await?;
    ensure!(count(&pd_fake, "PUT", "/incidents/PABC123") == 1);
    ensure!(count(&dd_fake, "POST", "/api/v1/downtime") == 1);
    ensure!(
        honeybadger.requests().iter().all(|r| r.method == "GET")
            && tools.requests().iter().all(|r| r.method == "GET"),
        "read-only feeds were only read"
    );
    let open = laptop.incidents()?;
    for title in titles {
        let incident = open
            .iter()
            .find(|i| i["title"] == title)
            .with_context(|| format!("{title} in {open:?}"))?;
        ensure!(incident["state"] == "acknowledged", "{incident}");
    }
    ensure!(
        pagerduty.refusals().is_empty() && datadog.refusals().is_empty(),
        "requests that break the vendors' specs: {:?} {:?}",
        pagerduty.refusals(),
        datadog.refusals()
    );
    pagerduty.assert_no_violations()?;
    datadog.assert_no_violations()?;
    Ok(())
}

#[test]
fn a_feed_that_cannot_start_fails_config_check_naming_it() -> Result<()> {
    let laptop = Laptop::new(&every_feed(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
    ))?;
    let without_app_key: Vec<(&str, &str)> = SECRETS
        .iter()
        .copied()
        .filter(|(k, _)| *k != "DD_APP_KEY")
        .collect();
    let out = laptop
        .command(&without_app_key)?
        .args(["config", "check"])
        .output()?;
    let err = stderr(&out);
    ensure!(out.status.code() == Some(1), "exit 1: {out:?}");
    ensure!(
        err.contains("foghorn.toml:16: feeds[2] cannot start: datadog:")
            && err.contains("DD_APP_KEY"),
        "names the file, the line, the feed and why: {err}"
    );
    ensure!(
        !err.contains("dd-api-key"),
        "no secret in the message: {err}"
    );
    Ok(())
}

#[test]
fn config_check_reads_the_smtp_section_and_refuses_a_password_in_its_url() -> Result<()> {
    let laptop = Laptop::new(
        "[smtp]\nurl = \"smtp://127.0.0.1:2525\"\nfrom = \"Alice <alice@example.com>\"\nrate = \"5/s, 1000/h\"\n",
    )?;
    let out = laptop.run(&["config", "check"])?;
    ensure!(out.status.success(), "{out:?}");
    let laptop = Laptop::new(
        "# the letter's server\n[smtp]\nurl = \"smtp://alice:hunter2@mail.example.com:587\"\nfrom = \"Alice <alice@example.com>\"\n",
    )?;
    let out = laptop.run(&["config", "check"])?;
    let err = stderr(&out);
    ensure!(!out.status.success(), "refused: {out:?}");
    ensure!(
        err.contains("foghorn.toml:2") && err.contains("`smtp.url` must not hold the password"),
        "names the line and what to do: {err}"
    );
    ensure!(!err.contains("hunter2"), "no secret in the message: {err}");
    Ok(())
}

// The serial guard spans the awaits on purpose: it orders whole window tests.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_cannot_start_is_named_in_the_window_and_the_tray_summary() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = foghorn_e2e::Desktop::start()?;
    let target = foghorn_e2e::Target::start().await?;
    let config = desktop.dir().join("foghorn.toml");
    std::fs::write(
        &config,
        format!(
            "[[monitors]]\nname = \"Checkout\"\nurl = \"{}\"\ninterval = \"1s\"\n\n\
             [[feeds]]\nkind = \"pagerduty\"\nname = \"pd\"\nurl = \"http://127.0.0.1:9\"\n\
             token = \"env:FOGHORN_TEST_NEVER_SET_PD_TOKEN\"\n",
            target.url()
        ),
    )?;
    let launch = foghorn_e2e::AppLaunch::new(foghorn_e2e::foghorn_bin()?)
        .arg("run")
        .arg("--show-window")
        .env("FOGHORN_CONFIG", config.display().to_string());
    let driver = foghorn_e2e::WebDriverSession::start(&desktop, &launch).await?;
    let line = driver
        .wait_for_content(
            "[data-testid=feed-not-running]",
            |t| t.contains("Feed pd is not running"),
            WAIT,
        )
        .await?;
    ensure!(
        line.contains("FOGHORN_TEST_NEVER_SET_PD_TOKEN"),
        "the window says why: {line}"
    );
    let tray = foghorn_e2e::Tray::find(&desktop, "foghorn", WAIT).await?;
    let labels = tray.menu_labels().await?;
    ensure!(
        labels
            .first()
            .is_some_and(|l| l.contains("feed pd not running")),
        "the tray's first line says it: {labels:?}"
    );
    driver.close().await
}
