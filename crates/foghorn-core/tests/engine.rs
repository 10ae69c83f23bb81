//! The engine end to end against a local target: notifications for down, up and flapping.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foghorn_core::config::Config;
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::event::EngineEvent;
use foghorn_core::monitor::MonitorStatus;
use foghorn_core::notify::{Notification, Notifier, NotifyError};
use foghorn_core::store::Store;

/// Keeps every notification it is asked to show.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<String>>);

impl Notifier for Recorder {
    fn show(&self, n: &Notification) -> Result<(), NotifyError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(n.title.clone());
        Ok(())
    }
}

/// Waits for the monitor to report `status`.
async fn wait_for(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    status: MonitorStatus,
) {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(EngineEvent::Monitor { monitor }) = events.recv().await {
                if monitor.status == status {
                    return;
                }
            }
        }
    })
    .await
    .expect("the monitor to change state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_is_one_notification_not_one_per_change() {
    let healthy = Arc::new(AtomicBool::new(true));
    let (url, _target) = common::target("127.0.0.1", healthy.clone()).await;
    let config = Config::parse(
        &format!(
            "[[monitors]]\nname = \"Cart\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\nflap = {{ changes = 3, within = \"10m\" }}\n"
        ),
        Path::new("test.toml"),
    )
    .expect("config");
    let recorder = Arc::new(Recorder::default());
    let engine = Engine::start(
        config,
        Store::in_memory().expect("store"),
        recorder.clone(),
        EngineOptions::default(),
    )
    .expect("engine");
    let mut events = engine.subscribe();
    wait_for(&mut events, MonitorStatus::Up).await;
    for (up, status) in [
        (false, MonitorStatus::Down),
        (true, MonitorStatus::Up),
        (false, MonitorStatus::Down),
        (true, MonitorStatus::Up),
    ] {
        healthy.store(up, Ordering::SeqCst);
        wait_for(&mut events, status).await;
    }
    engine.shutdown().await;
    let shown = recorder.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(
        shown,
        ["Cart is down", "Resolved: Cart is down", "Cart is flapping"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_cannot_start_is_in_the_feed_health_and_the_summary_not_only_a_log_line() {
    let config = Config::parse(
        "[[monitors]]\nname = \"Cart\"\nurl = \"http://127.0.0.1:9/\"\ninterval = \"1h\"\n\n\
         [[feeds]]\nkind = \"pagerduty\"\nname = \"pd\"\nurl = \"http://127.0.0.1:9\"\n\
         token = \"env:FOGHORN_TEST_NEVER_SET_PD_TOKEN\"\npoll_every = \"1h\"\n",
        Path::new("test.toml"),
    )
    .expect("config");
    let engine = Engine::start(
        config,
        Store::in_memory().expect("store"),
        Arc::new(Recorder::default()),
        EngineOptions::default(),
    )
    .expect("engine");
    let snapshot = engine.snapshot().expect("snapshot");
    let health = engine.health();
    engine.shutdown().await;
    let pd = snapshot
        .feeds
        .iter()
        .find(|f| f.name == "pd")
        .expect("the feed that did not start is in the health list");
    assert!(!pd.running && !pd.ok, "{pd:?}");
    assert_eq!(
        health,
        foghorn_core::event::Health::Degraded,
        "the tray icon is amber"
    );
    assert_eq!(pd.kind, foghorn_core::config::FeedKind::Pagerduty);
    let why = pd.error.as_deref().unwrap_or_default();
    assert!(
        why.contains("FOGHORN_TEST_NEVER_SET_PD_TOKEN"),
        "says why: {why}"
    );
    assert!(
        snapshot.summary.contains("feed pd not running"),
        "the tray's line says it: {}",
        snapshot.summary
    );
}

/// The window lists every configured feed from the start: one whose first poll has not
/// answered yet is there, running, neither ok nor failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_is_listed_before_its_first_poll_answers() {
    // Accepts connections (the kernel's backlog) and never answers: the first poll hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    let config = Config::parse(
        &format!(
            "[[feeds]]\nkind = \"alertmanager\"\nname = \"team-am\"\nurl = \"http://{addr}\"\n\
             poll_every = \"1h\"\n"
        ),
        Path::new("test.toml"),
    )
    .expect("config");
    let engine = Engine::start(
        config,
        Store::in_memory().expect("store"),
        Arc::new(Recorder::default()),
        EngineOptions::default(),
    )
    .expect("engine");
    let feeds = engine.snapshot().expect("snapshot").feeds;
    engine.shutdown().await;
    drop(silent);
    assert_eq!(feeds.len(), 1, "{feeds:?}");
    let feed = &feeds[0];
    assert_eq!(feed.name, "team-am");
    assert_eq!(feed.kind, foghorn_core::config::FeedKind::Alertmanager);
    assert!(feed.running && !feed.ok, "{feed:?}");
    assert_eq!((feed.failures, feed.alerts, feed.last_ok_at), (0, 0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_rate_limited_for_a_hundred_trillion_seconds_still_says_you_might_be_missing_alerts()
{
    let (am, requests, _am) = common::answering(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 100000000000000\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned(),
    )
    .await;
    let config = Config::parse(
        &format!(
            "[[feeds]]\nkind = \"alertmanager\"\nname = \"team-am\"\nurl = \"{am}\"\n\
             poll_every = \"1s\"\nunreachable_after = 3\n"
        ),
        Path::new("test.toml"),
    )
    .expect("config");
    let store = Store::in_memory().expect("store");
    let engine = Engine::start(
        config,
        store.clone(),
        Arc::new(Recorder::default()),
        EngineOptions::default(),
    )
    .expect("engine");
    let incident = common::eventually(15, "the missing-alerts incident", || {
        store
            .open_incidents()
            .expect("incidents")
            .into_iter()
            .find(|i| i.title.starts_with("You might be missing alerts: team-am"))
    })
    .await;
    assert_eq!(incident.dedup_key, "feed:team-am:health");
    let health = engine.feed_health();
    assert!(
        health
            .iter()
            .any(|h| h.name == "team-am" && !h.ok && h.failures >= 3),
        "{health:?}"
    );
    // It waits as asked (an hour at most) rather than polling again.
    assert_eq!(requests.lock().expect("lock").len(), 1);
    engine.shutdown().await;
}
