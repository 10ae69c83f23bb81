//! The Alertmanager feed against a real Alertmanager (Debian `prometheus-alertmanager`, one
//! per test on a free port): alerts read as signals, acknowledgement as a silence, Foghorn's
//! own incidents pushed as one alert from many laptops, an HA pair's failover; and against a
//! small local server that answers badly, every kind of bad answer as a feed error.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use foghorn_core::config::{Config, FeedConfig};
use foghorn_core::feed::alertmanager::AlertmanagerFeed;
use foghorn_core::feed::{Feed, FeedAlert, FeedAlertState, FeedError, FeedPoll, PushedIncident};
use foghorn_core::incident::Severity;
use foghorn_e2e::{wait_until_async, Alertmanager};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(10);

/// The `[[feeds]]` entry for these URLs, read the way the app reads it.
fn feed_config(url: &str, fallbacks: &[&str]) -> Result<FeedConfig> {
    let fallbacks = fallbacks
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "[[feeds]]\nkind = \"alertmanager\"\nname = \"team-am\"\nurl = \"{url}\"\n\
         fallback_urls = [{fallbacks}]\npoll_every = \"5s\"\nsilence_for = \"2h\"\n"
    );
    let mut config = Config::parse(&text, Path::new("test.toml"))?;
    Ok(config.feeds.remove(0))
}

fn feed(url: &str) -> Result<AlertmanagerFeed> {
    Ok(AlertmanagerFeed::new(&feed_config(url, &[])?)?)
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn find<'a>(poll: &'a FeedPoll, alertname: &str) -> Option<&'a FeedAlert> {
    poll.alerts
        .iter()
        .find(|a| a.labels.get("alertname").map(String::as_str) == Some(alertname))
}

/// Polls until `alertname` is reported in a state `check` accepts.
async fn wait_for_alert(
    feed: &AlertmanagerFeed,
    alertname: &str,
    check: impl Fn(&FeedAlert) -> bool,
) -> Result<FeedAlert> {
    wait_until_async(
        WAIT,
        &format!("{alertname} in the expected state"),
        || async {
            let poll = feed.poll().await?;
            match find(&poll, alertname) {
                Some(a) if check(a) => Ok(Some(a.clone())),
                Some(a) => bail!("{alertname} is {:?}", a.state),
                None => bail!("{alertname} is not listed: {poll:?}"),
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_posted_to_alertmanager_are_polled_with_fingerprints_titles_and_severities(
) -> Result<()> {
    let am = Alertmanager::start()?;
    am.post_alert(
        &[
            ("alertname", "DiskFull"),
            ("instance", "db1:9100"),
            ("severity", "warning"),
        ],
        &[("summary", "Disk almost full on db1")],
    )
    .await?;
    am.post_alerts(json!([{
        "labels": { "alertname": "ApiDown", "instance": "api-3", "severity": "critical" },
        "annotations": {},
        "generatorURL": "http://prometheus.example/graph?g0.expr=up"
    }, {
        "labels": { "alertname": "NoSeverity" }
    }]))
    .await?;

    let feed = feed(am.url())?;
    let poll = wait_until_async(WAIT, "three alerts", || async {
        let poll = feed.poll().await?;
        Ok((poll.alerts.len() == 3).then_some(poll))
    })
    .await?;

    let listed = am.alerts().await?;
    let fingerprint = |name: &str| -> Result<String> {
        listed
            .as_array()
            .context("a list")?
            .iter()
            .find(|a| a["labels"]["alertname"] == name)
            .and_then(|a| a["fingerprint"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("{name} in {listed}"))
    };

    let disk = find(&poll, "DiskFull").context("DiskFull")?;
    assert_eq!(disk.key, fingerprint("DiskFull")?);
    assert_eq!(disk.title, "Disk almost full on db1");
    assert_eq!(disk.severity, Severity::Minor);
    assert_eq!(disk.state, FeedAlertState::Firing);
    assert_eq!(
        disk.labels,
        labels(&[
            ("alertname", "DiskFull"),
            ("instance", "db1:9100"),
            ("severity", "warning")
        ])
    );

    let api = find(&poll, "ApiDown").context("ApiDown")?;
    assert_eq!(api.key, fingerprint("ApiDown")?);
    assert_eq!(api.title, "ApiDown on api-3");
    assert_eq!(api.severity, Severity::Critical);
    assert_eq!(
        api.link.as_deref(),
        Some("http://prometheus.example/graph?g0.expr=up")
    );
    assert!(api.started_at <= OffsetDateTime::now_utc());

    let plain = find(&poll, "NoSeverity").context("NoSeverity")?;
    assert_eq!(
        (plain.title.as_str(), plain.severity),
        ("NoSeverity", Severity::Major)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledging_is_a_silence_and_a_silence_made_elsewhere_is_an_ack() -> Result<()> {
    let am = Alertmanager::start()?;
    let alert_labels = [
        ("alertname", "QueueStuck"),
        ("queue", "mail"),
        ("severity", "critical"),
    ];
    am.post_alert(&alert_labels, &[("summary", "The mail queue is stuck")])
        .await?;
    let feed = feed(am.url())?;
    let alert = wait_for_alert(&feed, "QueueStuck", |a| a.state == FeedAlertState::Firing).await?;

    let before = OffsetDateTime::now_utc();
    feed.acknowledge(&alert, "alice").await?;
    let silences = am.silences().await?;
    let silences = silences.as_array().context("a list of silences")?;
    ensure!(silences.len() == 1, "one silence expected: {silences:?}");
    let silence = &silences[0];
    assert_eq!(silence["createdBy"], "alice");
    assert_eq!(silence["comment"], "Acknowledged in Foghorn by alice");
    assert_eq!(silence["status"]["state"], "active");
    let mut matchers: Vec<(String, String, bool, bool)> = silence["matchers"]
        .as_array()
        .context("matchers")?
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().to_owned(),
                m["value"].as_str().unwrap_or_default().to_owned(),
                m["isRegex"].as_bool().unwrap_or(true),
                m["isEqual"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    matchers.sort();
    let mut expected: Vec<_> = alert_labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned(), false, true))
        .collect();
    expected.sort();
    assert_eq!(matchers, expected);
    // It lasts `silence_for` (2h).
    let ends = OffsetDateTime::parse(
        silence["endsAt"].as_str().context("endsAt")?,
        &time::format_description::well_known::Rfc3339,
    )?;
    let length = ends - before;
    ensure!(
        length > time::Duration::minutes(119) && length < time::Duration::minutes(121),
        "the silence lasts {length}"
    );

    let acked = wait_for_alert(&feed, "QueueStuck", |a| {
        a.state
            == FeedAlertState::Acknowledged {
                by: Some("alice".into()),
            }
    })
    .await?;
    assert_eq!(acked.key, alert.key);

    // Taking it back expires the silence.
    feed.unacknowledge(&alert).await?;
    let silences = am.silences().await?;
    assert_eq!(silences[0]["status"]["state"], "expired", "{silences}");
    wait_for_alert(&feed, "QueueStuck", |a| a.state == FeedAlertState::Firing).await?;

    // Bob silences it with amtool / the web UI: that is an acknowledgement too.
    let bobs = am
        .create_silence(&alert_labels, "bob", "looking into it")
        .await?;
    wait_for_alert(&feed, "QueueStuck", |a| {
        a.state
            == FeedAlertState::Acknowledged {
                by: Some("bob".into()),
            }
    })
    .await?;
    // Un-acknowledging in Foghorn leaves silences Foghorn did not make alone.
    feed.unacknowledge(&alert).await?;
    let silences = am.silences().await?;
    let bob = silences
        .as_array()
        .context("a list")?
        .iter()
        .find(|s| s["id"] == bobs.as_str())
        .context("bob's silence")?;
    assert_eq!(bob["status"]["state"], "active");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_incident_pushed_from_two_laptops_is_one_alert_and_resolving_ends_it() -> Result<()>
{
    let am = Alertmanager::start()?;
    let laptop_a = feed(am.url())?;
    let laptop_b = feed(am.url())?;
    let now = OffsetDateTime::now_utc();
    let incident = |started_at: OffsetDateTime| PushedIncident {
        dedup_key: "monitor:checkout-api".into(),
        title: "checkout-api is down: HTTP 503".into(),
        severity: Severity::Critical,
        monitor: "checkout-api".into(),
        started_at,
        resolved_at: None,
        signature: None,
    };
    // Each laptop saw it start at a slightly different moment.
    laptop_a
        .push(&incident(now - Duration::from_secs(40)))
        .await?;
    laptop_b
        .push(&incident(now - Duration::from_secs(35)))
        .await?;
    laptop_a
        .push(&incident(now - Duration::from_secs(40)))
        .await?;

    let ours = |alerts: &Value| -> Vec<Value> {
        alerts
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|a| a["labels"]["source"] == "foghorn")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let alerts = ours(&am.alerts().await?);
    ensure!(alerts.len() == 1, "one alert expected: {alerts:?}");
    let alert = &alerts[0];
    assert_eq!(
        alert["labels"],
        json!({
            "alertname": "FoghornMonitorDown",
            "monitor": "checkout-api",
            "severity": "critical",
            "source": "foghorn",
            "dedup_key": "monitor:checkout-api",
        })
    );
    assert_eq!(
        alert["annotations"]["summary"],
        "checkout-api is down: HTTP 503"
    );
    // endsAt lies a few poll intervals (5s here) ahead.
    let ends = OffsetDateTime::parse(
        alert["endsAt"].as_str().context("endsAt")?,
        &time::format_description::well_known::Rfc3339,
    )?;
    let ahead = ends - OffsetDateTime::now_utc();
    ensure!(
        ahead > time::Duration::seconds(10) && ahead <= time::Duration::seconds(20),
        "endsAt is {ahead} ahead"
    );

    // Read back through the feed, like every other laptop does.
    let polled = wait_for_alert(&laptop_b, "FoghornMonitorDown", |a| {
        a.state == FeedAlertState::Firing
    })
    .await?;
    assert_eq!(polled.title, "checkout-api is down: HTTP 503");
    assert_eq!(polled.severity, Severity::Critical);

    let mut resolved = incident(now - Duration::from_secs(40));
    resolved.resolved_at = Some(OffsetDateTime::now_utc());
    laptop_a.push(&resolved).await?;
    wait_until_async(WAIT, "the pushed alert to end", || async {
        let poll = laptop_b.poll().await?;
        Ok(find(&poll, "FoghornMonitorDown")
            .is_none_or(|a| a.state == FeedAlertState::Resolved)
            .then_some(()))
    })
    .await?;
    ensure!(ours(&am.alerts().await?).is_empty(), "the alert is over");
    Ok(())
}

/// Log lines written while a test runs (a subscriber for the current thread only).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread, so the thread-local log subscriber sees everything the feed logs.
#[tokio::test(flavor = "current_thread")]
async fn an_ha_pair_fails_over_when_one_alertmanager_dies() -> Result<()> {
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = Captured::default();
    let writer = logs.clone();
    let _logging = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();

    let mut first = Alertmanager::start()?;
    let second = Alertmanager::start()?;
    for am in [&first, &second] {
        am.post_alert(
            &[("alertname", "PaymentsDown"), ("severity", "critical")],
            &[("summary", "Payments are failing")],
        )
        .await?;
    }
    let feed = AlertmanagerFeed::new(&feed_config(first.url(), &[second.url()])?)?;
    let poll = feed.poll().await?;
    ensure!(find(&poll, "PaymentsDown").is_some(), "{poll:?}");
    assert_eq!(feed.active_url(), first.url());

    first.kill();
    let poll = feed.poll().await?;
    let alert = find(&poll, "PaymentsDown").context("listed by the second")?;
    assert_eq!(alert.title, "Payments are failing");
    assert_eq!(feed.active_url(), second.url());
    let said = logs.text();
    ensure!(
        said.contains(&format!(
            "using {} ({} did not answer)",
            second.url(),
            first.url()
        )),
        "the log names the URL used and the one that failed:\n{said}"
    );

    // The next poll starts with the one that answered: nothing more is logged.
    let before = logs.text().len();
    feed.poll().await?;
    assert_eq!(logs.text().len(), before, "{}", logs.text());

    // An acknowledgement goes to the one that answers.
    feed.acknowledge(alert, "carol").await?;
    let silences = second.silences().await?;
    assert_eq!(silences[0]["createdBy"], "carol");

    // Both gone: one error naming both.
    let second_url = second.url().to_owned();
    drop(second);
    let err = feed.poll().await.expect_err("nothing answers");
    let text = err.to_string();
    assert!(matches!(err, FeedError::Unreachable { .. }), "{text}");
    ensure!(
        text.contains(&format!("{}/api/v2/alerts", first.url()))
            && text.contains(&format!("{}/api/v2/alerts", second_url))
            && text.contains("tried 2 Alertmanagers"),
        "{text}"
    );
    Ok(())
}

/// How the bad server answers.
#[derive(Debug, Clone, Copy)]
enum Bad {
    Html,
    NotAList,
    WrongLabelType,
    NoFingerprint,
    Huge { with_length: bool },
    Error500,
    Silent,
}

/// A local HTTP server answering every request with `bad`; its base URL.
async fn bad_server(bad: Bad) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the request head; what it asked does not matter.
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = |status: &str, kind: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let alert = |fields: &str| {
                    format!(
                        "[{{{fields}\"labels\":{{\"alertname\":\"X\"}},\"annotations\":{{}},\
                         \"startsAt\":\"2024-01-01T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\",\
                         \"status\":{{\"state\":\"active\",\"silencedBy\":[],\"inhibitedBy\":[]}},\
                         \"receivers\":[],\"updatedAt\":\"2024-01-01T00:00:00Z\"}}]"
                    )
                };
                let json = "application/json";
                let _ = match bad {
                    Bad::Html => {
                        let page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title>\
                                    </head><body>nginx</body></html>";
                        socket
                            .write_all(reply("200 OK", "text/html", page).as_bytes())
                            .await
                    }
                    Bad::NotAList => {
                        socket
                            .write_all(reply("200 OK", json, "{\"alerts\":[]}").as_bytes())
                            .await
                    }
                    Bad::WrongLabelType => {
                        let body = alert("\"fingerprint\":\"abc\",")
                            .replace("\"alertname\":\"X\"", "\"alertname\":42");
                        socket
                            .write_all(reply("200 OK", json, &body).as_bytes())
                            .await
                    }
                    Bad::NoFingerprint => {
                        socket
                            .write_all(reply("200 OK", json, &alert("")).as_bytes())
                            .await
                    }
                    Bad::Error500 => {
                        socket
                            .write_all(
                                reply("500 Internal Server Error", "text/plain", "storage broke")
                                    .as_bytes(),
                            )
                            .await
                    }
                    Bad::Huge { with_length } => {
                        let size = 20 * 1024 * 1024;
                        let head = if with_length {
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: {json}\r\nContent-Length: \
                                 {size}\r\nConnection: close\r\n\r\n"
                            )
                        } else {
                            format!("HTTP/1.1 200 OK\r\nContent-Type: {json}\r\nConnection: close\r\n\r\n")
                        };
                        let mut result = socket.write_all(head.as_bytes()).await;
                        let chunk = vec![b' '; 64 * 1024];
                        let mut sent = 0;
                        while result.is_ok() && sent < size {
                            result = socket.write_all(&chunk).await;
                            sent += chunk.len();
                        }
                        result
                    }
                    Bad::Silent => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        Ok(())
                    }
                };
            });
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_feed_errors_that_say_what_was_wrong() -> Result<()> {
    let cases: &[(Bad, &str, &str)] = &[
        (Bad::Html, "malformed", "an HTML page, not JSON"),
        (
            Bad::NotAList,
            "malformed",
            "expected a list of alerts, got an object",
        ),
        (
            Bad::WrongLabelType,
            "malformed",
            "alert 0: invalid type: integer `42`",
        ),
        (
            Bad::NoFingerprint,
            "malformed",
            "alert 0: missing field `fingerprint`",
        ),
        (
            Bad::Huge { with_length: true },
            "malformed",
            "larger than 8 MiB",
        ),
        (
            Bad::Huge { with_length: false },
            "malformed",
            "larger than 8 MiB",
        ),
        (Bad::Error500, "status", "HTTP 500: storage broke"),
        (Bad::Silent, "unreachable", "timed out after 500ms"),
    ];
    for (bad, kind, says) in cases {
        let url = bad_server(*bad).await?;
        let feed = feed(&url)?.with_timeout(Duration::from_millis(500))?;
        let err = feed.poll().await.expect_err("a bad answer is an error");
        let text = err.to_string();
        let got = match err {
            FeedError::Malformed { .. } => "malformed",
            FeedError::Status { status: 500, .. } => "status",
            FeedError::Unreachable { .. } => "unreachable",
            _ => "other",
        };
        ensure!(got == *kind && text.contains(says), "{bad:?}: {text}");
        ensure!(
            text.starts_with("team-am: ") && text.contains(&url),
            "{bad:?}: names the feed and URL: {text}"
        );
    }

    // Nothing listening at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        format!("http://{}", listener.local_addr()?)
    };
    let err = feed(&closed)?.poll().await.expect_err("nothing listens");
    assert!(
        matches!(err, FeedError::Unreachable { .. }) && err.to_string().contains("cannot connect"),
        "{err}"
    );

    // Writes are checked the same way: a silence the server does not confirm is an error.
    let url = bad_server(Bad::Html).await?;
    let alert = FeedAlert {
        key: "abc".into(),
        title: "X".into(),
        severity: Severity::Major,
        state: FeedAlertState::Firing,
        link: None,
        labels: labels(&[("alertname", "X")]),
        started_at: OffsetDateTime::now_utc(),
        signature: None,
        starts: BTreeMap::new(),
        ladders: None,
    };
    let err = feed(&url)?
        .acknowledge(&alert, "alice")
        .await
        .expect_err("not acknowledged");
    assert!(matches!(err, FeedError::Malformed { .. }), "{err}");
    Ok(())
}
