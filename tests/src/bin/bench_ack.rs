//! `make bench`, acknowledgement write-back: how long from `foghorn ack` on the command line
//! until the acknowledgement is in the vendor — a silence in a real Alertmanager, a
//! `PUT /incidents/{id}` at a PagerDuty fake on 127.0.0.1 — with both feeds polled every 15 s
//! (the default), so a write-back that waited for the next poll would take up to 15 s.
//! Side by side: the same silence made by hand with Alertmanager's own `amtool silence add`.
//! Every alert and incident exists before Foghorn starts, so each round is one acknowledgement
//! and nothing waits for a poll.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use foghorn_e2e::paths::{foghorn_command, workspace_root};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{Receiver, Reply};
use foghorn_e2e::{wait_until_async, Alertmanager};
use serde_json::{json, Value};

const ROUNDS: usize = 10;
const WAIT: Duration = Duration::from_secs(30);
/// How often the vendor is looked at while timing: the figures include up to this much.
const LOOK_EVERY: Duration = Duration::from_millis(5);

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_millis();
    format!(
        "median {} ms (min {}, max {})",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(*samples.last().unwrap_or(&Duration::ZERO))
    )
}

fn verdict(samples: &[Duration], target: Duration) -> &'static str {
    if samples.iter().all(|s| *s < target) {
        "pass"
    } else {
        "FAIL"
    }
}

/// One open PagerDuty incident as `GET /incidents` lists it.
fn pd_incident(i: usize) -> Value {
    json!({
        "id": format!("PBENCH{i}"),
        "type": "incident",
        "title": format!("Payments slow {i}"),
        "status": "triggered",
        "urgency": "high",
        "incident_number": i,
        "created_at": "2026-12-01T10:00:00Z",
        "html_url": format!("https://acme.pagerduty.com/incidents/PBENCH{i}"),
    })
}

/// Polls `done` every few milliseconds until it says yes: how long that took from `since`.
async fn until<F, Fut>(since: Instant, what: &str, mut done: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    while since.elapsed() < WAIT {
        if done().await? {
            return Ok(since.elapsed());
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
    anyhow::bail!("{what}: not within {WAIT:?}")
}

async fn silenced(am: &Alertmanager, alertname: &str) -> Result<bool> {
    Ok(am.active_silence(alertname).await?.is_some())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    if std::env::var_os("FOGHORN_BIN").is_none() {
        std::env::set_var(
            "FOGHORN_BIN",
            workspace_root().join("target/release/foghorn"),
        );
    }
    let am = Alertmanager::start()?;
    for i in 0..ROUNDS {
        for who in ["foghorn", "amtool"] {
            am.post_alert(
                &[
                    ("alertname", &format!("Bench{who}{i}")),
                    ("severity", "critical"),
                ],
                &[("summary", &format!("Queue stuck {who} {i}"))],
            )
            .await?;
        }
    }
    let incidents: Arc<Mutex<Vec<Value>>> =
        Arc::new(Mutex::new((0..ROUNDS).map(pd_incident).collect::<Vec<_>>()));
    let listed = incidents.clone();
    let pagerduty = Receiver::start(move |req| {
        let body = if req.method == "GET" {
            let list = listed.lock().map(|l| l.clone()).unwrap_or_default();
            json!({"incidents": list, "limit": 100, "offset": 0, "more": false})
        } else {
            json!({"incident": pd_incident(0)})
        };
        Reply::Answer {
            status: 200,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.to_string(),
        }
    })
    .await?;

    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        format!(
            "[me]\nnames = [\"Bench\"]\n\n\
             [[feeds]]\nkind = \"alertmanager\"\nurl = \"{}\"\npoll_every = \"15s\"\n\n\
             [[feeds]]\nkind = \"pagerduty\"\nurl = \"{}\"\ntoken = \"env:BENCH_PD_TOKEN\"\n\
             from = \"bench@example.com\"\npoll_every = \"15s\"\n",
            am.url(),
            pagerduty.url()
        ),
    )?;
    let command = |home: &std::path::Path| -> Result<Command> {
        let mut cmd = foghorn_command(home)?;
        cmd.env("FOGHORN_DATA_DIR", home.join("data"))
            .env("BENCH_PD_TOKEN", "token");
        Ok(cmd)
    };
    let mut run = command(home.path())?;
    run.args(["run", "--headless", "--config"]).arg(&config);
    let engine = ChildGuard::spawn("foghorn", run, home.path())?;

    // Every incident is open before the first acknowledgement.
    let open = wait_until_async(WAIT, "every alert and incident open in Foghorn", || async {
        let out = command(home.path())?
            .args(["incidents", "--json"])
            .output()?;
        let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let list = list.as_array().cloned().unwrap_or_default();
        Ok((list.len() >= 3 * ROUNDS).then_some(list))
    })
    .await
    .with_context(|| engine.stderr())?;
    let id_of = |title: &str| -> Result<i64> {
        open.iter()
            .find(|i| i["title"] == title)
            .and_then(|i| i["id"].as_i64())
            .with_context(|| format!("no incident {title:?}"))
    };
    let ack = |id: i64| -> Result<()> {
        let out = command(home.path())?
            .args(["ack", &id.to_string(), "--config"])
            .arg(&config)
            .output()?;
        ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };

    let mut to_silence = Vec::new();
    let mut to_pagerduty = Vec::new();
    let mut by_amtool = Vec::new();
    for i in 0..ROUNDS {
        let id = id_of(&format!("Queue stuck foghorn {i}"))?;
        let started = Instant::now();
        ack(id)?;
        let name = format!("Benchfoghorn{i}");
        to_silence.push(until(started, "the silence", || silenced(&am, &name)).await?);

        let id = id_of(&format!("Payments slow {i}"))?;
        let started = Instant::now();
        ack(id)?;
        let path = format!("/incidents/PBENCH{i}");
        to_pagerduty.push(
            until(started, "the PUT at PagerDuty", || {
                let seen = pagerduty
                    .requests()
                    .iter()
                    .any(|r| r.method == "PUT" && r.path == path);
                async move { Ok(seen) }
            })
            .await
            .with_context(|| engine.stderr())?,
        );

        let name = format!("Benchamtool{i}");
        let started = Instant::now();
        let out = Command::new("amtool")
            .args([
                "silence",
                "add",
                &format!("alertname={name}"),
                "--author=bench",
                "--comment=by hand",
                "--duration=1h",
                &format!("--alertmanager.url={}", am.url()),
            ])
            .output()
            .context("amtool (prometheus-alertmanager)")?;
        ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        by_amtool.push(until(started, "amtool's silence", || silenced(&am, &name)).await?);
    }
    drop(engine);

    let second = Duration::from_secs(1);
    println!(
        "{ROUNDS} acknowledgements each, feeds polled every 15 s; `foghorn ack` is a separate \
         process, so each figure includes starting it and the app noticing its write (it looks \
         every 250 ms); the vendor is looked at every {} ms.",
        LOOK_EVERY.as_millis()
    );
    println!();
    println!("| measure | target | measured | verdict |");
    println!("|---|---|---|---|");
    println!(
        "| `foghorn ack` → silence in Alertmanager | < 1 s | {} | {} |",
        stats(to_silence.clone()),
        verdict(&to_silence, second)
    );
    println!(
        "| `foghorn ack` → `PUT /incidents/{{id}}` at PagerDuty | < 1 s | {} | {} |",
        stats(to_pagerduty.clone()),
        verdict(&to_pagerduty, second)
    );
    println!(
        "| peer: `amtool silence add` → silence in Alertmanager | — | {} | — |",
        stats(by_amtool)
    );
    Ok(())
}
