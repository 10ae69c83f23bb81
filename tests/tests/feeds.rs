//! The vendor feeds against the vendors' own API descriptions (Prism mocking PagerDuty's REST
//! and Events v2 specs and Datadog's v1 spec: any request that breaks a spec fails the test),
//! Honeybadger against a fake shaped like its reference, the generic JSON feed against a local
//! server, and every feed against broken answers: HTML, wrong types, missing fields, huge
//! bodies, 500s, 429s and a server that never answers. Each must be a `FeedError`, never a
//! panic and never an empty (everything-resolved) poll.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use foghorn_core::config::FeedConfig;
use foghorn_core::feed::{
    DatadogFeed, Feed, FeedAlert, FeedAlertState, FeedError, HoneybadgerFeed, JsonFeed,
    PagerDutyFeed, PushedIncident,
};
use foghorn_core::incident::Severity;
use foghorn_core::secret::{SecretError, SecretRef, SecretSource};
use foghorn_e2e::prism::{spec, Prism};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Helpers: secrets from a map, configurations from JSON, a tiny local HTTP server.

#[derive(Debug)]
struct Secrets(HashMap<String, String>);

impl Secrets {
    fn standard() -> Self {
        Self(
            [
                ("PD_TOKEN", "y_NbAkKc66ryYTWUXYEu"),
                ("PD_ROUTING", "0123456789abcdef0123456789abcdef"),
                ("DD_API", "dd-api-key"),
                ("DD_APP", "dd-app-key"),
                ("HB_TOKEN", "hb-token"),
                ("JSON_TOKEN", "json-token"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        )
    }
}

impl SecretSource for Secrets {
    fn resolve(&self, secret: &SecretRef) -> Result<String, SecretError> {
        let (SecretRef::Env(name) | SecretRef::Keyring(name)) = secret;
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| SecretError::EnvMissing(secret.clone()))
    }
}

fn config(v: Value) -> Result<FeedConfig> {
    serde_json::from_value(v).context("feed configuration")
}

fn pagerduty(url: &str, extra: Value) -> Result<PagerDutyFeed> {
    let mut v = json!({"kind": "pagerduty", "url": url, "token": "env:PD_TOKEN"});
    merge(&mut v, extra);
    Ok(PagerDutyFeed::with_secrets(
        &config(v)?,
        &Secrets::standard(),
    )?)
}

fn datadog(url: &str, extra: Value) -> Result<DatadogFeed> {
    let mut v =
        json!({"kind": "datadog", "url": url, "token": "env:DD_API", "app_key": "env:DD_APP"});
    merge(&mut v, extra);
    Ok(DatadogFeed::with_secrets(
        &config(v)?,
        &Secrets::standard(),
    )?)
}

fn honeybadger(url: &str, extra: Value) -> Result<HoneybadgerFeed> {
    let mut v = json!({"kind": "honeybadger", "url": url, "token": "env:HB_TOKEN", "project": "1"});
    merge(&mut v, extra);
    Ok(HoneybadgerFeed::with_secrets(
        &config(v)?,
        &Secrets::standard(),
    )?)
}

fn json_feed(url: &str, mapping: Value) -> Result<JsonFeed> {
    let v = json!({"kind": "json", "url": url, "token": "env:JSON_TOKEN", "mapping": mapping});
    Ok(JsonFeed::with_secrets(&config(v)?, &Secrets::standard())?)
}

fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, extra) {
        a.extend(b);
    }
}

fn alert(key: &str) -> FeedAlert {
    FeedAlert {
        key: key.to_owned(),
        title: "t".to_owned(),
        severity: Severity::Critical,
        state: FeedAlertState::Firing,
        link: None,
        labels: Default::default(),
        started_at: OffsetDateTime::now_utc(),
        signature: None,
        starts: BTreeMap::new(),
        ladders: None,
    }
}

/// One request the fake server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query, as sent.
    target: String,
    headers: HashMap<String, String>,
}

#[derive(Debug, Clone)]
enum Reply {
    With {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        /// Send `Content-Length` (else the body ends when the connection closes).
        length: bool,
    },
    /// Accept the request and never answer.
    Hang,
}

fn reply(status: u16, body: impl Into<Vec<u8>>) -> Reply {
    Reply::With {
        status,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: body.into(),
        length: true,
    }
}

fn json_reply(v: &Value) -> Reply {
    reply(200, v.to_string())
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1, recording what it was sent.
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let handler = handler.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    if let Ok(mut r) = record.lock() {
                        r.push(request.clone());
                    }
                    match handler(&request) {
                        Reply::Hang => tokio::time::sleep(Duration::from_secs(120)).await,
                        Reply::With {
                            status,
                            headers,
                            body,
                            length,
                        } => {
                            let mut head =
                                format!("HTTP/1.1 {status} Whatever\r\nConnection: close\r\n");
                            if length {
                                head.push_str(&format!("Content-Length: {}\r\n", body.len()));
                            }
                            for (k, v) in headers {
                                head.push_str(&format!("{k}: {v}\r\n"));
                            }
                            head.push_str("\r\n");
                            let _ = socket.write_all(head.as_bytes()).await;
                            let _ = socket.write_all(&body).await;
                            let _ = socket.shutdown().await;
                        }
                    }
                });
            }
        });
        Ok(Self { url, seen, task })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + 4 + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
    })
}

fn expect_malformed(result: Result<impl std::fmt::Debug, FeedError>, needle: &str) -> Result<()> {
    match result {
        Err(FeedError::Malformed { message, .. }) if message.contains(needle) => Ok(()),
        other => bail!("expected Malformed mentioning {needle:?}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// PagerDuty, against its REST description.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_reads_acknowledges_and_lists_oncalls_within_its_rest_spec() -> Result<()> {
    let prism = Prism::mock(&spec("pagerduty-rest-openapiv3.json"))?;
    let feed = pagerduty(
        &prism.url(),
        json!({"from": "alice@example.com", "filter": ["PIJ90N7"]}),
    )?;

    // The spec's example answers `more: true` with the same page: the feed stops when a page
    // brings nothing new, and maps the example incident.
    let poll = feed.poll().await?;
    let first = poll.alerts.first().context("the example incident")?;
    ensure!(first.key == "PT4KHLK", "{first:?}");
    ensure!(first.title == "The server is on fire.", "{first:?}");
    ensure!(first.severity == Severity::Major, "P2 is major: {first:?}");
    ensure!(first.state == FeedAlertState::Resolved, "{first:?}");
    ensure!(
        first.link.as_deref() == Some("https://subdomain.pagerduty.com/incidents/PT4KHLK"),
        "{first:?}"
    );
    ensure!(first.labels.get("service").map(String::as_str) == Some("My Mail Service"));

    feed.acknowledge(first, "Alice").await?;
    feed.resolve(first).await?;

    let oncalls = feed.oncalls().await?;
    let oncall = oncalls.first().context("the example on-call")?;
    ensure!(oncall.user == "Tim Wright", "{oncall:?}");
    ensure!(
        oncall.escalation_policy == "Engineering Escalation Policy",
        "{oncall:?}"
    );
    ensure!(oncall.start.is_some() && oncall.end.is_some(), "{oncall:?}");

    // Writes without `from` are refused before any request is made.
    let before = prism.requests().len();
    let no_from = pagerduty(&prism.url(), json!({}))?;
    match no_from.acknowledge(first, "Alice").await {
        Err(FeedError::Config { message, .. }) if message.contains("`from`") => {}
        other => bail!("expected a Config error naming `from`, got {other:?}"),
    }
    ensure!(prism.requests().len() == before, "{:?}", prism.requests());

    let requests = prism.requests();
    ensure!(
        requests.iter().any(|r| r.starts_with("get /incidents")),
        "{requests:?}"
    );
    ensure!(
        requests
            .iter()
            .any(|r| r.starts_with("put /incidents/PT4KHLK")),
        "{requests:?}"
    );
    ensure!(
        requests.iter().any(|r| r.starts_with("get /oncalls")),
        "{requests:?}"
    );
    prism.assert_no_violations()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_pushes_triggers_and_resolves_within_the_events_spec() -> Result<()> {
    let prism = Prism::mock(&spec("pagerduty-events-v2-openapiv3.json"))?;
    let feed = pagerduty(
        "http://127.0.0.1:9",
        json!({"events_url": prism.url(), "routing_key": "env:PD_ROUTING"}),
    )?;
    let mut incident = PushedIncident {
        dedup_key: "monitor:api".to_owned(),
        title: "api is down".to_owned(),
        severity: Severity::Critical,
        monitor: "api".to_owned(),
        started_at: OffsetDateTime::now_utc(),
        resolved_at: None,
        signature: None,
    };
    feed.push(&incident).await?;
    incident.resolved_at = Some(OffsetDateTime::now_utc());
    feed.push(&incident).await?;
    let requests = prism.requests();
    ensure!(
        requests
            .iter()
            .filter(|r| r.as_str() == "post /enqueue")
            .count()
            == 2,
        "{requests:?}"
    );

    let without_key = pagerduty("http://127.0.0.1:9", json!({"events_url": prism.url()}))?;
    match without_key.push(&incident).await {
        Err(FeedError::Config { message, .. }) if message.contains("routing_key") => {}
        other => bail!("expected a Config error naming routing_key, got {other:?}"),
    }
    prism.assert_no_violations()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_follows_pages_and_reads_acknowledgers() -> Result<()> {
    let incident = |id: &str, status: &str, urgency: &str| {
        json!({
            "id": id, "title": format!("incident {id}"), "status": status, "urgency": urgency,
            "created_at": "2026-01-01T00:00:00Z", "html_url": format!("https://pd/incidents/{id}"),
            "acknowledgements": [{"at": "2026-01-01T00:01:00Z",
                "acknowledger": {"id": "U1", "type": "user_reference", "summary": "Bob"}}],
        })
    };
    let pages = [
        json!({"incidents": [incident("A", "triggered", "high")], "limit": 1, "offset": 0, "more": true}),
        json!({"incidents": [incident("B", "acknowledged", "low")], "limit": 1, "offset": 1, "more": false}),
    ];
    let fake = Fake::start(move |seen| {
        if seen.target.contains("offset=1") {
            json_reply(&pages[1])
        } else {
            json_reply(&pages[0])
        }
    })
    .await?;
    let feed = pagerduty(&fake.url, json!({}))?;
    let poll = feed.poll().await?;
    ensure!(poll.alerts.len() == 2, "{poll:?}");
    ensure!(poll.alerts[0].state == FeedAlertState::Firing);
    ensure!(poll.alerts[0].severity == Severity::Critical);
    ensure!(
        poll.alerts[1].state
            == FeedAlertState::Acknowledged {
                by: Some("Bob".to_owned())
            },
        "{:?}",
        poll.alerts[1]
    );
    ensure!(poll.alerts[1].severity == Severity::Minor);
    let seen = fake.seen();
    ensure!(seen.len() == 2, "{seen:?}");
    let first = &seen[0];
    ensure!(
        first.target.starts_with("/incidents?")
            && first.target.contains("statuses%5B%5D=triggered")
            && first.target.contains("statuses%5B%5D=acknowledged"),
        "{first:?}"
    );
    ensure!(
        first.headers.get("authorization").map(String::as_str)
            == Some("Token token=y_NbAkKc66ryYTWUXYEu"),
        "{first:?}"
    );
    ensure!(
        first.headers.get("accept").map(String::as_str)
            == Some("application/vnd.pagerduty+json;version=2, application/json;q=0.9"),
        "{first:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_rate_limited_with_the_retry_after() -> Result<()> {
    let fake = Fake::start(|_| Reply::With {
        status: 429,
        headers: vec![("Retry-After", "12".to_owned())],
        body: b"{\"error\":{\"message\":\"Rate Limit Exceeded\"}}".to_vec(),
        length: true,
    })
    .await?;
    let pd = pagerduty(&fake.url, json!({"from": "a@example.com"}))?;
    for result in [
        pd.poll().await.map(|_| ()),
        pd.acknowledge(&alert("X"), "a").await,
    ] {
        match result {
            Err(FeedError::RateLimited { retry_after, .. }) => {
                ensure!(retry_after == Duration::from_secs(12), "{retry_after:?}")
            }
            other => bail!("expected RateLimited, got {other:?}"),
        }
    }
    let dd = datadog(&fake.url, json!({}))?;
    ensure!(
        matches!(dd.poll().await, Err(FeedError::RateLimited { retry_after, .. }) if retry_after == Duration::from_secs(12))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Datadog, against its v1 description and a fake with every state.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadog_polls_and_mutes_within_its_spec() -> Result<()> {
    let prism = Prism::mock(&spec("datadog-v1-monitors-events-openapi.yaml"))?;
    let feed = datadog(
        &prism.url(),
        json!({"filter": ["service:api", "team:core"]}),
    )?;
    // The spec's example monitor has no overall_state: nothing fires.
    let poll = feed.poll().await?;
    ensure!(poll.alerts.is_empty(), "{poll:?}");
    match feed.acknowledge(&alert("123"), "Alice").await {
        Err(FeedError::Unsupported { .. }) => {}
        other => bail!("without mute_as_ack: expected Unsupported, got {other:?}"),
    }
    let muting = datadog(&prism.url(), json!({"mute_as_ack": true}))?;
    muting.acknowledge(&alert("123"), "Alice").await?;
    muting.unacknowledge(&alert("123")).await?;
    let requests = prism.requests();
    ensure!(
        requests
            .iter()
            .any(|r| r.starts_with("get /api/v1/monitor")),
        "{requests:?}"
    );
    ensure!(
        requests.iter().any(|r| r == "post /api/v1/downtime"),
        "{requests:?}"
    );
    ensure!(
        requests
            .iter()
            .any(|r| r.starts_with("delete /api/v1/downtime/")),
        "{requests:?}"
    );
    prism.assert_no_violations()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadog_maps_states_priorities_and_mutes() -> Result<()> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let monitors = json!([
        {"id": 1, "name": "db down", "type": "query alert", "query": "q", "overall_state": "Alert",
         "priority": 1, "tags": ["service:db", "frontend"],
         "state": {"groups": {"host:a": {"status": "Alert", "last_triggered_ts": 1_767_225_600}}}},
        {"id": 2, "name": "disk", "type": "query alert", "query": "q", "overall_state": "Warn"},
        {"id": 3, "name": "no metrics", "type": "query alert", "query": "q", "overall_state": "No Data"},
        {"id": 4, "name": "fine", "type": "query alert", "query": "q", "overall_state": "OK"},
        {"id": 5, "name": "muted", "type": "query alert", "query": "q", "overall_state": "Alert",
         "matching_downtimes": [{"id": 9, "start": now - 60, "end": now + 3600, "scope": ["*"]}]},
    ]);
    let fake = Fake::start(move |_| json_reply(&monitors)).await?;
    let feed = datadog(&fake.url, json!({"filter": ["service:db"]}))?;
    let poll = feed.poll().await?;
    let by_key: HashMap<&str, &FeedAlert> =
        poll.alerts.iter().map(|a| (a.key.as_str(), a)).collect();
    ensure!(by_key.len() == 4, "{poll:?}");
    ensure!(by_key["1"].severity == Severity::Critical);
    ensure!(by_key["1"].started_at.unix_timestamp() == 1_767_225_600);
    ensure!(by_key["1"].labels.get("service").map(String::as_str) == Some("db"));
    ensure!(by_key["1"].link.as_deref() == Some(format!("{}/monitors/1", fake.url).as_str()));
    ensure!(by_key["2"].severity == Severity::Minor);
    ensure!(by_key["3"].severity == Severity::Major);
    ensure!(by_key["5"].state == FeedAlertState::Acknowledged { by: None });
    let seen = fake.seen();
    let request = seen.first().context("a request")?;
    ensure!(
        request.target.starts_with("/api/v1/monitor?")
            && request
                .target
                .contains("group_states=alert%2Cwarn%2Cno+data")
            && request.target.contains("monitor_tags=service%3Adb"),
        "{request:?}"
    );
    ensure!(request.headers.get("dd-api-key").map(String::as_str) == Some("dd-api-key"));
    ensure!(
        request
            .headers
            .get("dd-application-key")
            .map(String::as_str)
            == Some("dd-app-key")
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Honeybadger, against a fake shaped like its Data API v2 reference.

fn fault(id: u64, resolved: bool, notices: u64, created: &str, base: &str) -> Value {
    json!({
        "id": id, "project_id": 1, "klass": "RuntimeError", "message": format!("boom {id}"),
        "component": "pages", "action": "runtime_error", "environment": "production",
        "resolved": resolved, "ignored": false,
        "assignee": {"id": 1, "email": "oncall@example.com", "name": "On Call"},
        "tags": ["internal"], "notices_count": notices, "comments_count": 0,
        "created_at": created, "last_notice_at": "2026-02-11T19:18:31.991903Z",
        "url": format!("{base}/projects/1/faults/{id}"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honeybadger_signals_frequent_and_reopened_faults_and_down_sites() -> Result<()> {
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = polls.clone();
    let recent = (OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .format(&time::format_description::well_known::Rfc3339)?;
    let old = "2013-01-22T16:33:22.704628Z";
    let fake = Fake::start(move |seen| {
        let base = format!("http://{}", seen.headers.get("host").cloned().unwrap_or_default());
        let path = seen.target.split('?').next().unwrap_or_default();
        if seen.headers.get("authorization").map(String::as_str) != Some("Basic aGItdG9rZW46") {
            return reply(401, "{\"errors\":\"Unauthorized\"}");
        }
        match path {
            "/v2/projects/1/faults" if seen.target.contains("page=2") => json_reply(&json!({
                "results": [
                    // Re-opened on the second poll after the first saw it resolved.
                    fault(5, counter.load(Ordering::SeqCst) == 0, 1, old, &base),
                    // Old and rare: 3 notices in 13 years.
                    fault(6, false, 3, old, &base),
                ],
                "links": {"self": format!("{base}/v2/projects/1/faults?page=2"), "next": null, "prev": null},
            })),
            "/v2/projects/1/faults" => json_reply(&json!({
                "results": [
                    // New this hour, 12 notices: above the rate of 10.
                    fault(2, false, 12, &recent, &base),
                    // New, 2 notices: below.
                    fault(3, false, 2, &recent, &base),
                ],
                "links": {"self": format!("{base}/v2/projects/1/faults"),
                          "next": format!("{base}/v2/projects/1/faults?page=2"), "prev": null},
            })),
            "/v2/projects/1/sites" => {
                counter.fetch_add(1, Ordering::SeqCst);
                json_reply(&json!({"results": [
                    {"id": "3e1d3d2c-0000-4000-8000-000000000001", "name": "Website", "url": "https://example.com",
                     "active": true, "frequency": 1, "match_type": "success", "match": null,
                     "state": "down", "last_checked_at": "2026-01-01T00:00:05Z"},
                    {"id": "3e1d3d2c-0000-4000-8000-000000000002", "name": "Docs", "url": "https://docs.example.com",
                     "active": true, "frequency": 5, "match_type": "success", "match": null,
                     "state": "up", "last_checked_at": "2026-01-01T00:00:05Z"},
                ], "links": {"self": format!("{base}/v2/projects/1/sites")}}))
            }
            "/v2/projects/1/sites/3e1d3d2c-0000-4000-8000-000000000001/outages" => {
                json_reply(&json!({"results": [
                    {"down_at": "2026-01-01T00:00:00Z", "up_at": null, "created_at": "2026-01-01T00:00:05Z",
                     "status": 502, "reason": "Expected 2xx, got 502", "headers": {"content-type": "text/html"}},
                ], "links": {}}))
            }
            _ => reply(404, "{\"errors\":\"Not found\"}"),
        }
    })
    .await?;
    let feed = honeybadger(&format!("{}/v2", fake.url), json!({"fault_rate": 10}))?;

    let first = feed.poll().await?;
    let keys: Vec<&str> = first.alerts.iter().map(|a| a.key.as_str()).collect();
    ensure!(
        keys == ["fault:2", "site:3e1d3d2c-0000-4000-8000-000000000001"],
        "{first:?}"
    );
    let site = &first.alerts[1];
    ensure!(
        site.title == "Website is down: Expected 2xx, got 502",
        "{site:?}"
    );
    ensure!(site.severity == Severity::Critical);
    ensure!(
        site.started_at.unix_timestamp() == 1_767_225_600,
        "{site:?}"
    );
    ensure!(first.alerts[0].title == "RuntimeError: boom 2");

    let second = feed.poll().await?;
    let keys: Vec<&str> = second.alerts.iter().map(|a| a.key.as_str()).collect();
    ensure!(keys.contains(&"fault:5"), "re-opened: {second:?}");
    ensure!(
        !keys.contains(&"fault:6") && !keys.contains(&"fault:3"),
        "{second:?}"
    );

    let seen = fake.seen();
    let faults = seen
        .iter()
        .find(|s| s.target.starts_with("/v2/projects/1/faults?"))
        .context("a fault list request")?;
    ensure!(
        faults.method == "GET"
            && faults.target.contains("occurred_after=")
            && faults.target.contains("order=recent")
            && faults.target.contains("q=-is%3Aignored"),
        "{faults:?}"
    );
    ensure!(seen.iter().all(|s| s.method == "GET"), "{seen:?}");
    match feed.acknowledge(&first.alerts[0], "Alice").await {
        Err(FeedError::Unsupported { .. }) => {}
        other => bail!("expected Unsupported, got {other:?}"),
    }

    // A wrong token is an HTTP error, never an empty poll.
    let wrong = HoneybadgerFeed::with_secrets(
        &config(
            json!({"kind": "honeybadger", "url": format!("{}/v2", fake.url),
                       "token": "env:JSON_TOKEN", "project": "1"}),
        )?,
        &Secrets::standard(),
    )?;
    ensure!(matches!(
        wrong.poll().await,
        Err(FeedError::Status { status: 401, .. })
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honeybadgers_rate_limit_403_is_rate_limited() -> Result<()> {
    let fake = Fake::start(|_| reply(403, "{\"errors\":\"Rate limit exceeded\"}")).await?;
    let feed = honeybadger(&fake.url, json!({}))?;
    ensure!(matches!(
        feed.poll().await,
        Err(FeedError::RateLimited { .. })
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The generic JSON feed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_feed_maps_a_nested_list() -> Result<()> {
    let doc = json!({"data": {"alerts": [
        {"ref": 17, "info": {"name": "queue backlog", "level": "warning"}, "status": "open",
         "links": ["https://tool/17"]},
        {"ref": "db-1", "info": {"name": "replica lag", "level": 1}, "status": "OPEN"},
        {"ref": "old", "info": {"name": "done"}, "status": "closed"},
        {"ref": "ack", "info": {"name": "seen"}, "status": "acknowledged"},
    ]}});
    let fake = Fake::start(move |_| json_reply(&doc)).await?;
    let feed = json_feed(
        &format!("{}/alerts.json", fake.url),
        json!({"items": "$.data.alerts[*]", "id": "ref", "title": "info.name",
               "severity": "$.info.level", "state": "status", "firing_values": ["open"],
               "link": "links[0]"}),
    )?;
    let poll = feed.poll().await?;
    ensure!(poll.alerts.len() == 4, "{poll:?}");
    let a = &poll.alerts;
    ensure!(a[0].key == "17" && a[0].title == "queue backlog" && a[0].severity == Severity::Minor);
    ensure!(
        a[0].link.as_deref() == Some("https://tool/17") && a[0].state == FeedAlertState::Firing
    );
    ensure!(a[1].severity == Severity::Critical && a[1].state == FeedAlertState::Firing);
    ensure!(a[2].state == FeedAlertState::Resolved && a[2].severity == Severity::Major);
    ensure!(a[3].state == FeedAlertState::Acknowledged { by: None });
    let again = feed.poll().await?;
    ensure!(
        again.alerts[0].started_at == a[0].started_at,
        "first seen is kept"
    );
    let seen = fake.seen();
    ensure!(seen[0].target == "/alerts.json", "{seen:?}");
    ensure!(seen[0].headers.get("authorization").map(String::as_str) == Some("Bearer json-token"));

    let missing = Fake::start(|_| json_reply(&json!([{"id": 1, "title": "a"}, {"id": 2}]))).await?;
    let feed = json_feed(
        &missing.url,
        json!({"items": "$", "id": "id", "title": "title"}),
    )?;
    expect_malformed(feed.poll().await, "item 1: `title`")?;
    let wrong = Fake::start(|_| json_reply(&json!([{"id": {"x": 1}, "title": "a"}]))).await?;
    let feed = json_feed(
        &wrong.url,
        json!({"items": "$", "id": "id", "title": "title"}),
    )?;
    expect_malformed(feed.poll().await, "item 0: `id`")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Broken answers, for every kind.

#[derive(Debug, Clone, Copy)]
enum Kind {
    PagerDuty,
    Datadog,
    Honeybadger,
    Json,
}

const KINDS: [Kind; 4] = [
    Kind::PagerDuty,
    Kind::Datadog,
    Kind::Honeybadger,
    Kind::Json,
];

fn feed_of(kind: Kind, url: &str) -> Result<Box<dyn Feed>> {
    let timeout = Duration::from_millis(800);
    Ok(match kind {
        Kind::PagerDuty => Box::new(pagerduty(url, json!({}))?.with_timeout(timeout)?),
        Kind::Datadog => Box::new(datadog(url, json!({}))?.with_timeout(timeout)?),
        Kind::Honeybadger => Box::new(honeybadger(url, json!({}))?.with_timeout(timeout)?),
        Kind::Json => Box::new(
            json_feed(
                url,
                json!({"items": "$.alerts", "id": "id", "title": "title"}),
            )?
            .with_timeout(timeout)?,
        ),
    })
}

/// A body of the right shape for `kind` except for one wrong type, and the field it names.
fn wrong_type(kind: Kind) -> (Value, &'static str) {
    match kind {
        Kind::PagerDuty => (json!({"incidents": "none", "more": false}), "incidents"),
        Kind::Datadog => (json!({"monitors": []}), "`$`"),
        Kind::Honeybadger => (json!({"results": {"id": 1}}), "results"),
        Kind::Json => (json!({"alerts": {"id": 1}}), "mapping.items"),
    }
}

/// A body whose one item lacks a required field, and the field it names.
fn missing_field(kind: Kind) -> (Value, &'static str) {
    match kind {
        Kind::PagerDuty => (
            json!({"incidents": [{"title": "x", "status": "triggered"}], "more": false}),
            "incidents[0].id",
        ),
        Kind::Datadog => (json!([{"overall_state": "Alert", "name": "x"}]), "[0].id"),
        Kind::Honeybadger => (
            json!({"results": [{"id": 1, "resolved": false}], "links": {}}),
            "results[0].created_at",
        ),
        Kind::Json => (json!({"alerts": [{"title": "x"}]}), "item 0: `id`"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_answers_are_feed_errors_for_every_kind() -> Result<()> {
    let html = reply(
        200,
        "<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>",
    );
    let huge = vec![b' '; 20 << 20];
    for kind in KINDS {
        let context = |what: &str| format!("{kind:?}: {what}");

        let fake = Fake::start({
            let html = html.clone();
            move |_| html.clone()
        })
        .await?;
        expect_malformed(feed_of(kind, &fake.url)?.poll().await, "HTML")
            .with_context(|| context("an HTML page with 200"))?;

        let (body, field) = wrong_type(kind);
        let fake = Fake::start(move |_| json_reply(&body)).await?;
        expect_malformed(feed_of(kind, &fake.url)?.poll().await, field)
            .with_context(|| context("a wrong type"))?;

        let (body, field) = missing_field(kind);
        let fake = Fake::start(move |_| json_reply(&body)).await?;
        expect_malformed(feed_of(kind, &fake.url)?.poll().await, field)
            .with_context(|| context("a missing field"))?;

        let fake = Fake::start(|_| reply(200, "{\"incidents\": [")).await?;
        expect_malformed(feed_of(kind, &fake.url)?.poll().await, "not valid JSON")
            .with_context(|| context("truncated JSON"))?;

        for length in [true, false] {
            let huge = huge.clone();
            let fake = Fake::start(move |_| Reply::With {
                status: 200,
                headers: vec![("Content-Type", "application/json".to_owned())],
                body: huge.clone(),
                length,
            })
            .await?;
            expect_malformed(feed_of(kind, &fake.url)?.poll().await, "larger than")
                .with_context(|| context(&format!("a 20 MiB body (Content-Length: {length})")))?;
        }

        let fake = Fake::start(|_| reply(500, "<html>Internal Server Error</html>")).await?;
        match feed_of(kind, &fake.url)?.poll().await {
            Err(FeedError::Status {
                status: 500,
                message,
                ..
            }) if message.contains("Internal") => {}
            other => bail!("{}: expected Status 500, got {other:?}", context("a 500")),
        }

        let fake = Fake::start(|_| Reply::Hang).await?;
        let started = std::time::Instant::now();
        match feed_of(kind, &fake.url)?.poll().await {
            Err(FeedError::Unreachable { message, .. }) if message.contains("timed out") => {}
            other => bail!(
                "{}: expected Unreachable, got {other:?}",
                context("no answer")
            ),
        }
        ensure!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );

        // Nothing listens: refused.
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").await?;
            format!("http://{}", l.local_addr()?)
        };
        ensure!(
            matches!(
                feed_of(kind, &closed)?.poll().await,
                Err(FeedError::Unreachable { .. })
            ),
            "{}",
            context("refused")
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secrets_and_settings_are_config_errors() -> Result<()> {
    let cases = [
        json!({"kind": "pagerduty", "url": "http://127.0.0.1:9", "token": "env:NOT_SET"}),
        json!({"kind": "pagerduty", "url": "http://127.0.0.1:9"}),
        json!({"kind": "datadog", "url": "http://127.0.0.1:9", "token": "env:DD_API"}),
        json!({"kind": "honeybadger", "url": "http://127.0.0.1:9", "token": "env:HB_TOKEN"}),
        json!({"kind": "json", "url": "http://127.0.0.1:9"}),
        json!({"kind": "json", "url": "http://127.0.0.1:9",
               "mapping": {"items": "$.a[", "id": "id", "title": "t"}}),
        json!({"kind": "pagerduty", "url": "ftp://x", "token": "env:PD_TOKEN"}),
    ];
    let secrets = Secrets::standard();
    for case in cases {
        let c = config(case.clone())?;
        let result = match case["kind"].as_str() {
            Some("pagerduty") => PagerDutyFeed::with_secrets(&c, &secrets).map(|_| ()),
            Some("datadog") => DatadogFeed::with_secrets(&c, &secrets).map(|_| ()),
            Some("honeybadger") => HoneybadgerFeed::with_secrets(&c, &secrets).map(|_| ()),
            _ => JsonFeed::with_secrets(&c, &secrets).map(|_| ()),
        };
        ensure!(
            matches!(result, Err(FeedError::Config { .. })),
            "{case}: {result:?}"
        );
    }
    Ok(())
}
