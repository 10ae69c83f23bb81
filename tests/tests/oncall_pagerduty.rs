//! PagerDuty as the on-call source (`[oncall] source = "pagerduty"`): who is on call is read
//! from `GET /oncalls` of a configured PagerDuty feed, through Prism holding every request to
//! PagerDuty's REST description.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::prism::{spec, Prism};
use foghorn_e2e::receiver::{answer, Receiver, Reply};
use serde_json::{json, Value};

const PD_SPEC: &str = "pagerduty-rest-openapiv3.json";
const TWILIO_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const BOB_PHONE: &str = "+15551234567";

fn feed_and_oncall(url: &str, level: u32) -> String {
    format!(
        "[[feeds]]\nkind = \"pagerduty\"\nname = \"pd\"\nurl = \"{url}\"\ntoken = \"env:PD_TOKEN\"\n\
         poll_every = \"5s\"\n\n\
         [oncall]\nsource = \"pagerduty\"\nescalation_level = {level}\n"
    )
}

fn oncall_json(home: &std::path::Path, config: &std::path::Path, at: &str) -> Result<Value> {
    let out = foghorn_e2e::paths::foghorn_command(home)?
        .env("FOGHORN_DATA_DIR", home.join("data"))
        .env("PD_TOKEN", "y_NbAkKc66ryYTWUXYEu")
        .args(["oncall", "--json", "--at", at, "--config"])
        .arg(config)
        .output()?;
    ensure!(
        out.status.success(),
        "foghorn oncall: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The description's own example: Tim Wright on the second level of the engineering policy
/// from 2015-03-06 20:28:51Z to a day later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncall_reads_pagerdutys_oncall_list_for_the_configured_level() -> Result<()> {
    let prism = Prism::mock(&spec(PD_SPEC))?;
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");

    std::fs::write(
        &config,
        format!(
            "[me]\nnames = [\"Tim Wright\"]\n\n{}",
            feed_and_oncall(&prism.url(), 2)
        ),
    )?;
    let status = oncall_json(home.path(), &config, "2015-03-07T00:00:00Z")?;
    ensure!(status["youAreOnCall"] == json!(true), "{status:#}");
    ensure!(
        status["until"] == json!("2015-03-07T20:28:51Z"),
        "{status:#}"
    );
    ensure!(status["onCallNow"] == json!(["Tim Wright"]), "{status:#}");
    ensure!(
        status["source"]["label"]
            .as_str()
            .is_some_and(|l| l.contains("PagerDuty")),
        "{status:#}"
    );

    // On the first level nobody is: the example entry is of the second.
    std::fs::write(
        &config,
        format!(
            "[me]\nnames = [\"Tim Wright\"]\n\n{}",
            feed_and_oncall(&prism.url(), 1)
        ),
    )?;
    let status = oncall_json(home.path(), &config, "2015-03-07T00:00:00Z")?;
    ensure!(status["youAreOnCall"] == json!(false), "{status:#}");
    ensure!(status["onCallNow"] == json!([]), "{status:#}");

    let asked = prism.requests();
    ensure!(
        asked
            .iter()
            .filter(|r| r.starts_with("get /oncalls"))
            .count()
            == 2,
        "{asked:?}"
    );
    prism.assert_no_violations()?;
    Ok(())
}

/// A PagerDuty that has Bob on the first level and Alice (the laptop's user) on the second,
/// now; no incidents.
async fn pagerduty_fake() -> Result<Receiver> {
    Receiver::start(|request| {
        let now = time::OffsetDateTime::now_utc();
        let t = |d: time::Duration| foghorn_core::time_fmt::rfc3339(now + d);
        let entry = |id: &str, name: &str, level: u32| {
            json!({
                "user": {
                    "id": id, "type": "user_reference", "summary": name, "name": name,
                    "email": format!("{}@example.com", name.split(' ').next().unwrap_or("x").to_lowercase()),
                    "self": format!("https://api.pagerduty.com/users/{id}"),
                    "html_url": format!("https://subdomain.pagerduty.com/users/{id}")
                },
                "escalation_policy": {
                    "id": "PT20YPA", "type": "escalation_policy_reference",
                    "summary": "Engineering Escalation Policy",
                    "self": "https://api.pagerduty.com/escalation_policies/PT20YPA",
                    "html_url": "https://subdomain.pagerduty.com/escalation_policies/PT20YPA"
                },
                "escalation_level": level,
                "start": t(-time::Duration::hours(1)),
                "end": t(time::Duration::hours(3))
            })
        };
        let body = if request.path.starts_with("/oncalls") {
            json!({
                "oncalls": [entry("PBOB001", "Bob Jones", 1), entry("PALICE1", "Alice Smith", 2)],
                "limit": 100, "offset": 0, "more": false, "total": null
            })
        } else {
            json!({"incidents": [], "limit": 100, "offset": 0, "more": false, "total": null})
        };
        let mut reply = answer(200, &body.to_string());
        if let Reply::Answer { headers, .. } = &mut reply {
            headers.push(("content-type", "application/json".to_owned()));
        }
        reply
    })
    .await
}

/// The app, headless, reads who is on call from PagerDuty and its ladder texts that person:
/// the laptop's user is not on call (second level), Bob is (first level), and only Bob has a
/// phone number, so the one text sent proves the on-call list reached the ladder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladder_texts_whoever_pagerduty_has_on_call() -> Result<()> {
    let fake = pagerduty_fake().await?;
    let pagerduty = Prism::proxy(&spec(PD_SPEC), &fake.url())?;
    let twilio = Prism::mock(&spec("twilio-api-v2010-messages-calls-openapi.json"))?;
    let target = foghorn_e2e::Target::start().await?;
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        format!(
            "[me]\nnames = [\"Alice Smith\"]\n\n{}\n\
             [escalation]\ntwilio_account = \"{TWILIO_ACCOUNT}\"\ntwilio_token = \"env:TWILIO_TOKEN\"\n\
             twilio_from = \"+15557654321\"\ntwilio_api = \"{}\"\n\
             phones = {{ \"Bob Jones\" = \"{BOB_PHONE}\" }}\n\n\
             [[escalation.steps]]\nafter = \"0s\"\naction = \"sms\"\n\n\
             [[monitors]]\nname = \"Checkout\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
             failure_threshold = 1\nseverity = \"critical\"\n",
            feed_and_oncall(&pagerduty.url(), 1),
            twilio.url(),
            target.url(),
        ),
    )?;

    let status = oncall_json(
        home.path(),
        &config,
        &foghorn_core::time_fmt::rfc3339(time::OffsetDateTime::now_utc()),
    )?;
    ensure!(status["youAreOnCall"] == json!(false), "{status:#}");
    ensure!(status["onCallNow"] == json!(["Bob Jones"]), "{status:#}");

    let mut cmd = foghorn_e2e::paths::foghorn_command(home.path())?;
    cmd.env("FOGHORN_DATA_DIR", home.path().join("data"))
        .env("PD_TOKEN", "y_NbAkKc66ryYTWUXYEu")
        .env("TWILIO_TOKEN", "test-token")
        .args(["run", "--headless", "--config"])
        .arg(&config);
    let engine = foghorn_e2e::process::ChildGuard::spawn("pagerduty-oncall", cmd, home.path())?;
    target.set_healthy(false);
    let texts = || {
        twilio
            .requests()
            .iter()
            .filter(|r| r.ends_with("Messages.json"))
            .count()
    };
    foghorn_e2e::wait_until(Duration::from_secs(45), "the text to Bob", || {
        Ok((texts() == 1).then_some(()))
    })
    .with_context(|| engine.stderr())?;
    // The text went to Bob's number (the outbox keeps each message as sent).
    let db = rusqlite::Connection::open_with_flags(
        home.path().join("data/foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let payloads: Vec<String> = db
        .prepare("SELECT payload FROM outbox")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ensure!(
        payloads.len() == 1 && payloads[0].contains(BOB_PHONE),
        "{payloads:?}"
    );

    let asked: Vec<_> = fake.requests().into_iter().map(|r| r.path).collect();
    ensure!(
        asked
            .iter()
            .any(|p| p.starts_with("/oncalls") && p.contains("since=") && p.contains("until=")),
        "{asked:?}"
    );
    pagerduty.assert_no_violations()?;
    twilio.assert_no_violations()?;
    Ok(())
}
