//! The promise of the next public update, kept: an incident with no public update gets a
//! nudge after `nudge_after`; once an update promises the next one, the tray's first line
//! counts down to it, a nudge comes in the last five minutes and another once it is overdue.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use foghorn_core::config::Config;
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::notify::{Notification, Notifier, NotifyError};
use foghorn_core::status::compose::DraftInput;
use foghorn_core::status::PublicState;
use foghorn_core::store::Store;

use common::{eventually, target, UnknownRoute};

#[derive(Debug, Default)]
struct Shown(Mutex<Vec<Notification>>);
impl Notifier for Shown {
    fn show(&self, n: &Notification) -> Result<(), NotifyError> {
        self.0.lock().expect("lock").push(n.clone());
        Ok(())
    }
}

impl Shown {
    fn titled(&self, start: &str) -> Option<Notification> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .find(|n| n.title.starts_with(start))
            .cloned()
    }

    fn count(&self, start: &str) -> usize {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|n| n.title.starts_with(start))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_owed_is_nudged_counted_down_and_called_overdue() {
    let data = tempfile::tempdir().expect("dir");
    let store = Store::open(data.path()).expect("store");
    let (url, _target) = target("127.0.0.1", Arc::new(AtomicBool::new(false))).await;
    let page = data.path().join("page");
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"major\"\n\n\
         [status]\nproduct = \"Acme\"\ncomponents = [{{ name = \"API\", monitors = [\"api\"] }}]\n\
         nudge_after = \"1s\"\n\n[status.page]\ndir = \"{}\"\n",
        page.display()
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config");
    let shown = Arc::new(Shown::default());
    let engine = Engine::start(
        config,
        store,
        shown.clone(),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            ..EngineOptions::default()
        },
    )
    .expect("engine");

    // Open with no public update: told to tell everyone early, once.
    let nudge = eventually(30, "the first-update nudge", || {
        shown.titled("No public update yet")
    })
    .await;
    assert!(nudge.body.contains("Tell everyone early"), "{nudge:?}");
    let incident = nudge.incident.expect("about the incident");

    // An update promising the next one in four minutes: inside the last five already.
    let published = engine
        .publish_status(DraftInput {
            incident_id: Some(incident),
            state: Some(PublicState::Investigating),
            next_update_minutes: Some(4),
            ..DraftInput::default()
        })
        .await
        .expect("published");
    eventually(10, "the countdown nudge", || {
        shown.titled("You promised an update at")
    })
    .await;
    eventually(10, "the tray's countdown", || {
        engine
            .summary()
            .contains("public update due in")
            .then_some(())
    })
    .await;
    assert_eq!(engine.promises().len(), 1, "one promise owed");

    // Time passes (the promise is moved into the past, as a sleeping laptop would find it).
    let db = rusqlite::Connection::open(data.path().join("foghorn.db")).expect("db");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("timeout");
    db.execute(
        "UPDATE public_incidents SET next_update_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1",
        [published.public_id],
    )
    .expect("moved");
    eventually(10, "the overdue nudge", || {
        shown.titled("Public update overdue")
    })
    .await;
    eventually(10, "the tray says overdue", || {
        engine
            .summary()
            .contains("public update overdue by")
            .then_some(())
    })
    .await;

    // Said once each, however many ticks pass.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(shown.count("Public update overdue"), 1);
    assert_eq!(shown.count("No public update yet"), 1);
    assert_eq!(shown.count("You promised an update at"), 1);
    engine.shutdown().await;
}
