//! The engine's scheduling against real local servers: reconfiguration, pausing one
//! monitor, the local-network guard, heartbeats and DNS checks.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use foghorn_core::check::{run_dns, DnsProbe};
use foghorn_core::condition::Condition;
use foghorn_core::config::Config;
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::event::EngineEvent;
use foghorn_core::heartbeat;
use foghorn_core::monitor::{MonitorStatus, MonitorView};
use foghorn_core::network::LocalNetwork;
use foghorn_core::notify::LogNotifier;
use foghorn_core::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use common::{target, UnknownRoute};

/// A laptop with Wi-Fi off.
#[derive(Debug)]
struct NoRoute;
impl LocalNetwork for NoRoute {
    fn has_default_route(&self) -> Option<bool> {
        Some(false)
    }
}

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("test.toml")).expect("valid config")
}

fn start(text: &str, store: Store, network: Arc<dyn LocalNetwork>) -> Engine {
    Engine::start(
        config(text),
        store,
        Arc::new(LogNotifier),
        EngineOptions {
            network: Some(network),
            ..EngineOptions::default()
        },
    )
    .expect("engine")
}

/// Waits until `pred` holds for the monitor `id`, from its events.
async fn until(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    id: &str,
    what: &str,
    pred: impl Fn(&MonitorView) -> bool,
) -> MonitorView {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Monitor { monitor }) if monitor.id == id && pred(&monitor) => {
                    return monitor
                }
                Ok(EngineEvent::Monitors { monitors }) => {
                    if let Some(m) = monitors.into_iter().find(|m| m.id == id && pred(m)) {
                        return m;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => panic!("engine gone"),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{id}: {what}"))
}

fn open_incidents(store: &Store) -> i64 {
    store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM incidents WHERE state != 'resolved'",
                [],
                |r| r.get(0),
            )?)
        })
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfigure_keeps_unchanged_monitors_and_starts_new_ones() {
    let up = Arc::new(AtomicBool::new(true));
    let (a, _ta) = target("127.0.0.1", up.clone()).await;
    let (b, _tb) = target("127.0.0.1", up.clone()).await;
    let store = Store::in_memory().expect("store");
    let engine = start(
        &format!(
            "[[monitors]]\nname = \"a\"\nurl = \"{a}\"\ninterval = \"1h\"\n\n\
             [[monitors]]\nname = \"b\"\nurl = \"{b}\"\ninterval = \"1h\"\n"
        ),
        store.clone(),
        Arc::new(UnknownRoute),
    );
    let mut events = engine.subscribe();
    until(&mut events, "a", "a up", |m| m.status == MonitorStatus::Up).await;
    let a_checked = engine.snapshot().expect("snapshot").monitors[0].last_checked_at;

    // b goes away, c arrives, a is untouched (an hour-long interval: a restart would
    // check it again at once).
    let new = config(&format!(
        "[[monitors]]\nname = \"a\"\nurl = \"{a}\"\ninterval = \"1h\"\n\n\
         [[monitors]]\nname = \"c\"\nurl = \"{b}\"\ninterval = \"1h\"\n"
    ));
    engine.reconfigure(new.monitors).expect("reconfigure");
    until(&mut events, "c", "c checked", |m| {
        m.status == MonitorStatus::Up
    })
    .await;
    let snapshot = engine.snapshot().expect("snapshot");
    let ids: Vec<&str> = snapshot.monitors.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["a", "c"]);
    assert_eq!(
        snapshot.monitors[0].last_checked_at, a_checked,
        "a was not re-run"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_monitor_stays_paused_across_a_restart() {
    let up = Arc::new(AtomicBool::new(true));
    let (url, _t) = target("127.0.0.1", up).await;
    let dir = tempfile::tempdir().expect("dir");
    let text = format!("[[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\n");
    let engine = start(
        &text,
        Store::open(dir.path()).expect("store"),
        Arc::new(UnknownRoute),
    );
    let mut events = engine.subscribe();
    until(&mut events, "api", "up", |m| m.status == MonitorStatus::Up).await;
    engine.set_monitor_paused("api", true).await.expect("pause");
    until(&mut events, "api", "paused", |m| {
        m.status == MonitorStatus::Paused
    })
    .await;
    engine.shutdown().await;
    drop(engine);

    let engine = start(
        &text,
        Store::open(dir.path()).expect("store"),
        Arc::new(UnknownRoute),
    );
    let view = &engine.snapshot().expect("snapshot").monitors[0];
    assert_eq!(view.status, MonitorStatus::Paused);
    assert!(engine.set_monitor_paused("nope", true).await.is_err());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_route_failures_are_unknown_and_open_nothing() {
    // A port that refuses connections: what every target looks like with Wi-Fi off.
    let refused = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = refused.local_addr().expect("addr").port();
    drop(refused);
    let store = Store::in_memory().expect("store");
    let engine = start(
        &format!(
            "[[monitors]]\nname = \"api\"\nurl = \"http://127.0.0.1:{port}/\"\ninterval = \"1s\"\n"
        ),
        store.clone(),
        Arc::new(NoRoute),
    );
    let mut events = engine.subscribe();
    let view = until(&mut events, "api", "unknown", |m| {
        m.status == MonitorStatus::Unknown
    })
    .await;
    assert!(
        view.last_error
            .as_deref()
            .is_some_and(|e| e.contains("no network connection")),
        "{view:?}"
    );
    // Several more attempts: still no incident, and the summary says why.
    until(&mut events, "api", "still unknown", |m| {
        m.status == MonitorStatus::Unknown
    })
    .await;
    until(&mut events, "api", "still unknown", |m| {
        m.status == MonitorStatus::Unknown
    })
    .await;
    assert_eq!(open_incidents(&store), 0);
    assert!(
        engine.summary().contains("Not alerting"),
        "{}",
        engine.summary()
    );
    engine.shutdown().await;
}

/// Three monitors on three unrelated hosts. `all_fail`: every target vanishes at once, as
/// when the laptop loses its network; otherwise only the first one does.
async fn outage(all_fail: bool) -> (i64, MonitorView) {
    let up = Arc::new(AtomicBool::new(true));
    let (a, ta) = target("127.0.0.1", up.clone()).await;
    let (b, tb) = target("127.0.0.2", up.clone()).await;
    let (c, tc) = target("127.0.0.3", up.clone()).await;
    let store = Store::in_memory().expect("store");
    let engine = start(
        &format!(
            "[[monitors]]\nname = \"a\"\nurl = \"{a}\"\ninterval = \"1s\"\n\n\
             [[monitors]]\nname = \"b\"\nurl = \"{b}\"\ninterval = \"1h\"\n\n\
             [[monitors]]\nname = \"c\"\nurl = \"{c}\"\ninterval = \"1h\"\n"
        ),
        store.clone(),
        Arc::new(UnknownRoute),
    );
    let mut events = engine.subscribe();
    for id in ["a", "b", "c"] {
        until(&mut events, id, "up first", |m| {
            m.status == MonitorStatus::Up
        })
        .await;
    }
    ta.abort();
    if all_fail {
        tb.abort();
        tc.abort();
    }
    let view = until(&mut events, "a", "a judged", |m| {
        matches!(m.status, MonitorStatus::Unknown | MonitorStatus::Down)
    })
    .await;
    let incidents = open_incidents(&store);
    engine.shutdown().await;
    (incidents, view)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_unrelated_hosts_fail_together_the_network_is_blamed() {
    let (incidents, view) = outage(true).await;
    assert_eq!(view.status, MonitorStatus::Unknown, "{view:?}");
    assert!(
        view.last_error
            .as_deref()
            .is_some_and(|e| e.contains("local network down")),
        "{view:?}"
    );
    assert_eq!(incidents, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_other_hosts_answer_the_outage_is_real() {
    let (incidents, view) = outage(false).await;
    assert_eq!(view.status, MonitorStatus::Down, "{view:?}");
    assert_eq!(incidents, 1);
}

/// Sends one heartbeat request and returns the status code and body.
async fn ping(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client.post(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("heartbeat request");
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_pings_failures_and_silence() {
    std::env::set_var("FOGHORN_TEST_HEARTBEAT_TOKEN", "s3cret");
    let store = Store::in_memory().expect("store");
    let engine = start(
        "[heartbeats]\nlisten = \"127.0.0.1:0\"\ntoken = \"env:FOGHORN_TEST_HEARTBEAT_TOKEN\"\n\n\
         [[monitors]]\nname = \"Nightly backup\"\nheartbeat = \"10s\"\n",
        store.clone(),
        Arc::new(UnknownRoute),
    );
    let addr = engine.heartbeat_addr().expect("listening");
    let mut events = engine.subscribe();

    assert_eq!(ping(addr, "/heartbeat/nightly-backup", None).await.0, 401);
    assert_eq!(ping(addr, "/heartbeat/nope", Some("s3cret")).await.0, 404);
    assert_eq!(
        ping(addr, "/heartbeat/nightly-backup", Some("s3cret")).await,
        (200, "ok\n".to_owned())
    );
    until(&mut events, "nightly-backup", "up", |m| {
        m.status == MonitorStatus::Up
    })
    .await;

    // The job says it failed: down at once, with its message.
    let (code, _) = ping(
        addr,
        "/heartbeat/nightly-backup/fail?msg=disk%20full",
        Some("s3cret"),
    )
    .await;
    assert_eq!(code, 200);
    let down = until(&mut events, "nightly-backup", "down", |m| {
        m.status == MonitorStatus::Down
    })
    .await;
    assert_eq!(down.last_error.as_deref(), Some("disk full"));
    assert_eq!(open_incidents(&store), 1);

    // A good run resolves it; then silence for longer than the heartbeat opens a new one.
    ping(addr, "/heartbeat/nightly-backup", Some("s3cret")).await;
    until(&mut events, "nightly-backup", "up again", |m| {
        m.status == MonitorStatus::Up
    })
    .await;
    assert_eq!(open_incidents(&store), 0);
    let silent = until(&mut events, "nightly-backup", "missed", |m| {
        m.status == MonitorStatus::Down
    })
    .await;
    assert!(
        silent
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no heartbeat for")),
        "{silent:?}"
    );
    assert_eq!(open_incidents(&store), 1);
    engine.shutdown().await;
}

const BACKUP: &str =
    "[heartbeats]\nlisten = \"127.0.0.1:0\"\ntoken = \"env:FOGHORN_TEST_HEARTBEAT_TOKEN\"\n\n\
     [[monitors]]\nname = \"Nightly backup\"\nheartbeat = \"1h\"\n";

/// An engine with one heartbeat monitor and the listener's limits given.
fn heartbeat_engine(text: &str, store: Store, limits: heartbeat::Limits) -> (Engine, SocketAddr) {
    std::env::set_var("FOGHORN_TEST_HEARTBEAT_TOKEN", "s3cret");
    let engine = Engine::start(
        config(text),
        store,
        Arc::new(LogNotifier),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            heartbeat_limits: limits,
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    let addr = engine.heartbeat_addr().expect("listening");
    (engine, addr)
}

/// Sends `head` (request line and headers, without the blank line) as it is, and returns
/// the status code of the answer, `None` when the connection closed without one.
async fn raw_ping(addr: SocketAddr, head: &str) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("{head}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_with_a_foreign_host_header_is_refused() {
    let (engine, addr) = heartbeat_engine(
        BACKUP,
        Store::in_memory().expect("store"),
        Default::default(),
    );
    let ping = |host: String| {
        format!("POST /heartbeat/nightly-backup HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer s3cret")
    };
    let port = addr.port();
    // A page on a name rebound to 127.0.0.1 sends its own name as the Host.
    assert_eq!(
        raw_ping(addr, &ping(format!("evil.example:{port}"))).await,
        Some(421)
    );
    assert_eq!(
        raw_ping(addr, &ping("127.0.0.1".to_owned())).await,
        Some(421)
    );
    assert_eq!(
        raw_ping(addr, &ping(format!("127.0.0.1:{port}"))).await,
        Some(200)
    );
    assert_eq!(
        raw_ping(addr, &ping(format!("localhost:{port}"))).await,
        Some(200)
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_from_a_browser_origin_is_refused() {
    let store = Store::in_memory().expect("store");
    let (engine, addr) = heartbeat_engine(BACKUP, store.clone(), Default::default());
    let ping = |extra: &str| {
        format!(
            "POST /heartbeat/nightly-backup/fail?msg=pwned HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer s3cret{extra}"
        )
    };
    assert_eq!(
        raw_ping(addr, &ping("\r\nOrigin: https://evil.example")).await,
        Some(403)
    );
    // An <img> or a navigation sends no Origin, but a browser marks it all the same.
    assert_eq!(
        raw_ping(
            addr,
            &ping("\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors")
        )
        .await,
        Some(403)
    );
    assert_eq!(open_incidents(&store), 0, "a refused failure opens nothing");
    assert_eq!(raw_ping(addr, &ping("")).await, Some(200));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_generated_on_first_use_and_required() {
    let dir = tempfile::tempdir().expect("dir");
    let text = "[heartbeats]\nlisten = \"127.0.0.1:0\"\n\n\
                [[monitors]]\nname = \"Nightly backup\"\nheartbeat = \"1h\"\n";
    let (engine, addr) = heartbeat_engine(
        text,
        Store::open(dir.path()).expect("store"),
        Default::default(),
    );
    let head = format!("POST /heartbeat/nightly-backup HTTP/1.1\r\nHost: {addr}");
    assert_eq!(raw_ping(addr, &head).await, Some(401), "no token, no ping");
    let line = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(line) = engine.heartbeat_ping("nightly-backup") {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the curl line");
    let token = line
        .split("Bearer ")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a token in the line")
        .to_owned();
    assert!(token.len() >= 32, "{line}");
    assert!(
        line.ends_with(&format!("http://{addr}/heartbeat/nightly-backup")),
        "{line}"
    );
    assert_eq!(
        raw_ping(addr, &format!("{head}\r\nAuthorization: Bearer {token}")).await,
        Some(200)
    );
    assert_eq!(
        raw_ping(addr, &format!("{head}\r\nAuthorization: Bearer x{token}")).await,
        Some(401)
    );
    engine.shutdown().await;
    // Kept: after a restart the job's line still works.
    let (engine, addr) = heartbeat_engine(
        text,
        Store::open(dir.path()).expect("store"),
        Default::default(),
    );
    let again = format!("POST /heartbeat/nightly-backup?token={token} HTTP/1.1\r\nHost: {addr}");
    assert_eq!(raw_ping(addr, &again).await, Some(200));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_dropped_after_the_header_timeout() {
    let limits = heartbeat::Limits {
        header_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let (engine, addr) = heartbeat_engine(BACKUP, Store::in_memory().expect("store"), limits);
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"POST /heartbeat/nightly-backup HTTP/1.1\r\nHost: ")
        .await
        .expect("send");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "still open after 10s");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused() {
    let limits = heartbeat::Limits {
        max_connections: 2,
        ..Default::default()
    };
    let (engine, addr) = heartbeat_engine(BACKUP, Store::in_memory().expect("store"), limits);
    let head = format!(
        "POST /heartbeat/nightly-backup HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer s3cret"
    );
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"POST /heart").await.expect("send");
        idle.push(stream);
    }
    assert_eq!(raw_ping(addr, &head).await, Some(503));
    drop(idle);
    // The slots come back once the listener sees the idle connections close.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match raw_ping(addr, &head).await {
            Some(200) => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "still refused: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown().await;
}

/// An authoritative DNS server for `example.test` on a free UDP port of 127.0.0.1.
async fn dns_server() -> SocketAddr {
    use hickory_server::net::runtime::TokioRuntimeProvider;
    use hickory_server::proto::rr::rdata::{A, SOA, TXT};
    use hickory_server::proto::rr::{LowerName, Name, RData, Record};
    use hickory_server::store::in_memory::InMemoryZoneHandler;
    use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};

    let origin = Name::from_str("example.test.").expect("name");
    let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let soa = SOA::new(
        Name::from_str("ns.example.test.").expect("name"),
        Name::from_str("admin.example.test.").expect("name"),
        1,
        3600,
        600,
        86400,
        60,
    );
    let records = [
        Record::from_rdata(origin.clone(), 60, RData::SOA(soa)),
        Record::from_rdata(
            Name::from_str("api.example.test.").expect("name"),
            60,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 10))),
        ),
        Record::from_rdata(
            Name::from_str("example.test.").expect("name"),
            60,
            RData::TXT(TXT::new(vec!["v=spf1 -all".into()])),
        ),
    ];
    for r in records {
        assert!(zone.upsert_mut(r, 1), "record accepted");
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    let mut server = hickory_server::Server::new(catalog);
    server.register_socket(socket);
    // The server runs as long as the test's runtime.
    tokio::spawn(async move {
        let _ = server.block_until_done().await;
    });
    addr
}

fn dns_probe(addr: SocketAddr, name: &str, kind: &str, conditions: &[&str]) -> DnsProbe {
    DnsProbe {
        resolver: addr.to_string(),
        name: name.into(),
        record_type: kind.into(),
        timeout: Duration::from_secs(3),
        conditions: conditions
            .iter()
            .map(|c| c.parse::<Condition>().expect("condition"))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_checks_read_rcode_answers_and_ip() {
    let addr = dns_server().await;
    let ok = run_dns(&dns_probe(
        addr,
        "api.example.test",
        "A",
        &[
            "[DNS_RCODE] == NOERROR",
            "[BODY] == 192.0.2.10",
            "[IP] == 192.0.2.10",
        ],
    ))
    .await;
    assert!(ok.ok, "{ok:?}");

    let txt = run_dns(&dns_probe(
        addr,
        "example.test",
        "TXT",
        &["[BODY] == pat(*spf1*)"],
    ))
    .await;
    assert!(txt.ok, "{txt:?}");

    let missing = run_dns(&dns_probe(
        addr,
        "nope.example.test",
        "A",
        &["[DNS_RCODE] == NOERROR"],
    ))
    .await;
    assert!(!missing.ok);
    assert_eq!(
        missing.outcomes[0].resolved, "[DNS_RCODE] (NXDOMAIN) == NOERROR",
        "{missing:?}"
    );

    // Without conditions: an answer is required.
    let bare = run_dns(&dns_probe(addr, "nope.example.test", "A", &[])).await;
    assert!(
        bare.error
            .as_deref()
            .is_some_and(|e| e.contains("NXDOMAIN")),
        "{bare:?}"
    );

    // Nobody listening: unreachable, which the network guard may blame on the laptop.
    let closed = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let closed_addr = closed.local_addr().expect("addr");
    drop(closed);
    let gone = run_dns(&dns_probe(closed_addr, "api.example.test", "A", &[])).await;
    assert!(!gone.ok && gone.unreachable, "{gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_monitor_runs_in_the_engine() {
    let addr = dns_server().await;
    let store = Store::in_memory().expect("store");
    let engine = start(
        &format!(
            "[[monitors]]\nname = \"dns\"\nurl = \"dns://{addr}\"\ninterval = \"1s\"\n\
             dns = {{ query_name = \"api.example.test\", query_type = \"A\" }}\n\
             conditions = [\"[BODY] == 192.0.2.10\"]\n"
        ),
        store,
        Arc::new(UnknownRoute),
    );
    let mut events = engine.subscribe();
    let view = until(&mut events, "dns", "up", |m| m.status == MonitorStatus::Up).await;
    assert_eq!(view.target, format!("A api.example.test via dns://{addr}"));
    engine.shutdown().await;
}
