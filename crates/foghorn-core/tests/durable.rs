//! Incidents survive the database failing under them: a full disk, a writer thread that
//! died, and a configuration that did not load (which must not be read as "every monitor
//! was removed").

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use foghorn_core::alarm::Ringer;
use foghorn_core::config::Config;
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::incident::{IncidentState, IncidentView};
use foghorn_core::monitor::MonitorStatus;
use foghorn_core::notify::{Notification, Notifier, NotifyError};
use foghorn_core::policy::OnCall;
use foghorn_core::store::Store;
use time::OffsetDateTime;

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
    fn titled(&self, title: &str) -> Vec<Notification> {
        let shown = self.0.lock().expect("lock");
        shown.iter().filter(|n| n.title == title).cloned().collect()
    }
}

#[derive(Debug, Default)]
struct Bell(Mutex<Vec<(i64, bool)>>);
impl Ringer for Bell {
    fn ring(&self, incident: i64) -> Result<(), String> {
        self.0.lock().expect("lock").push((incident, true));
        Ok(())
    }
    fn silence(&self, incident: i64) {
        self.0.lock().expect("lock").push((incident, false));
    }
}

impl Bell {
    fn ringing(&self) -> Vec<i64> {
        let mut on = Vec::new();
        for (id, ring) in self.0.lock().expect("lock").iter() {
            on.retain(|i| i != id);
            if *ring {
                on.push(*id);
            }
        }
        on
    }
}

#[derive(Debug)]
struct OnCallNow;
impl OnCall for OnCallNow {
    fn on_call(&self, _: OffsetDateTime) -> bool {
        true
    }
}

/// A critical monitor of `url`, down after one failed check, with a chat step `after` the
/// incident opens.
fn config(url: &str, after: &str) -> Config {
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [[escalation.steps]]\nafter = \"{after}\"\naction = \"chat\"\n\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"critical\"\n"
    );
    Config::parse(&text, Path::new("test.toml")).expect("config")
}

struct Run {
    engine: Engine,
    shown: Arc<Shown>,
    bell: Arc<Bell>,
}

fn start(config: Config, store: Store, config_failed: bool) -> Run {
    let shown = Arc::new(Shown::default());
    let bell = Arc::new(Bell::default());
    let engine = Engine::start(
        config,
        store,
        shown.clone(),
        EngineOptions {
            config_failed,
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(Arc::new(OnCallNow)),
            ringer: Some(bell.clone()),
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    Run {
        engine,
        shown,
        bell,
    }
}

fn notices(engine: &Engine) -> Vec<String> {
    engine.snapshot().expect("snapshot").notices
}

fn monitor_up(engine: &Engine) -> Option<()> {
    let snapshot = engine.snapshot().expect("snapshot");
    (snapshot.monitors.first()?.status == MonitorStatus::Up).then_some(())
}

fn open(store: &Store) -> Vec<IncidentView> {
    store.open_incidents().expect("open incidents")
}

/// A small tmpfs, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// `None` (and why, on stderr) where mounting is not allowed.
    fn mount(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status();
        match mounted {
            Ok(status) if status.success() => Some(Self(at.to_owned())),
            other => {
                eprintln!(
                    "SKIPPED: a full disk needs a small tmpfs, and mounting one needs root \
                     ({other:?})"
                );
                None
            }
        }
    }

    /// Writes `filler` until the disk is full.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0x55u8; 16 * 1024];
        loop {
            if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
                assert_eq!(e.raw_os_error(), Some(28), "filled up with ENOSPC: {e}");
                break;
            }
        }
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_still_alerts_and_saves_the_incident_when_space_returns() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    let Some(disk) = SmallDisk::mount(&data, "4m") else {
        return;
    };
    let store = Store::open(&data).expect("store");
    let up = Arc::new(AtomicBool::new(true));
    let (url, _target) = target("127.0.0.1", up.clone()).await;
    let run = start(config(&url, "1h"), store.clone(), false);
    eventually(10, "the monitor up", || monitor_up(&run.engine)).await;

    // An empty write-ahead log: the next write needs space the disk no longer has.
    store.checkpoint().await.expect("checkpoint");
    let filler = disk.fill();
    up.store(false, Ordering::SeqCst);

    // Told at once, from memory: the notification, the alarm, and why nothing is saved.
    let first = eventually(15, "a notification from memory", || {
        run.shown.titled("api is down").pop()
    })
    .await;
    assert!(first.body.contains("Not saved yet"), "{first:?}");
    let stand_in = eventually(5, "the alarm", || run.bell.ringing().pop()).await;
    assert!(
        stand_in < 0,
        "rings for an incident not saved yet: {stand_in}"
    );
    let notice = eventually(5, "a notice", || {
        notices(&run.engine)
            .into_iter()
            .find(|n| n.starts_with("History is not being saved"))
    })
    .await;
    assert!(notice.contains("disk is full"), "{notice}");
    assert!(open(&store).is_empty(), "nothing could be written");

    // Space again: the incident, its ladder and its notification are written.
    std::fs::remove_file(filler).expect("free the disk");
    let incident = eventually(15, "the incident saved", || open(&store).pop()).await;
    assert_eq!(
        (incident.title.as_str(), incident.state),
        ("api is down", IncidentState::Triggered)
    );
    let ladder = store.ladder(incident.id).expect("ladder");
    assert_eq!(
        ladder
            .iter()
            .map(|s| (s.action.as_str(), s.state.as_str()))
            .collect::<Vec<_>>(),
        [("chat", "pending")],
        "the ladder is scheduled"
    );
    eventually(5, "the alarm moved to the saved incident", || {
        (run.bell.ringing() == [incident.id]).then_some(())
    })
    .await;
    eventually(5, "the notification recorded as shown", || {
        store
            .undelivered_notifications()
            .expect("owed")
            .is_empty()
            .then_some(())
    })
    .await;
    eventually(5, "a notice that saving works again", || {
        notices(&run.engine)
            .iter()
            .any(|n| n.starts_with("History is being saved again"))
            .then_some(())
    })
    .await;
    assert_eq!(
        run.shown.titled("api is down").len(),
        1,
        "told once, not again when it was saved"
    );
    run.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_writer_thread_is_restarted_and_the_incident_is_not_lost() {
    let home = tempfile::tempdir().expect("tempdir");
    let store = Store::open(home.path()).expect("store");
    let up = Arc::new(AtomicBool::new(true));
    let (url, _target) = target("127.0.0.1", up.clone()).await;
    let run = start(config(&url, "1h"), store.clone(), false);
    eventually(10, "the monitor up", || monitor_up(&run.engine)).await;

    store.stop_writer();
    up.store(false, Ordering::SeqCst);
    let incident = eventually(15, "the incident saved", || open(&store).pop()).await;
    assert_eq!(incident.title, "api is down");
    assert_eq!(store.ladder(incident.id).expect("ladder").len(), 1);
    eventually(5, "the alarm for it", || {
        (run.bell.ringing() == [incident.id]).then_some(())
    })
    .await;
    let notice = eventually(5, "a notice about the writer", || {
        notices(&run.engine)
            .into_iter()
            .find(|n| n.contains("database writer"))
    })
    .await;
    assert!(notice.contains("started again"), "{notice}");
    eventually(5, "the notification", || {
        (!run.shown.titled("api is down").is_empty()).then_some(())
    })
    .await;
    assert_eq!(run.shown.titled("api is down").len(), 1, "told once");
    run.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_that_failed_to_load_does_not_resolve_open_incidents() {
    let store = Store::in_memory().expect("store");
    let up = Arc::new(AtomicBool::new(false));
    let (url, _target) = target("127.0.0.1", up.clone()).await;
    let first = start(config(&url, "3s"), store.clone(), false);
    let incident = eventually(10, "an incident", || open(&store).pop()).await;
    first.engine.shutdown().await;
    let due = store.ladder(incident.id).expect("ladder")[0].due_at;

    // The file broke: the engine runs an empty stand-in past the step's time.
    let broken = start(Config::default(), store.clone(), true);
    eventually(15, "the step's time to pass", || {
        let now = OffsetDateTime::now_utc();
        let still_open = open(&store).iter().any(|i| i.id == incident.id);
        let ladder = store.ladder(incident.id).expect("ladder");
        assert!(
            still_open && ladder[0].state == "pending",
            "kept open, the ladder waiting: {:?}",
            (store.incident(incident.id), ladder)
        );
        (now > due + time::Duration::seconds(2) && !broken.engine.open_incidents().is_empty())
            .then_some(())
    })
    .await;
    broken.engine.shutdown().await;

    // Fixed: the same incident, its ladder going on.
    let fixed = start(config(&url, "3s"), store.clone(), false);
    let fired = eventually(10, "the step", || {
        let ladder = store.ladder(incident.id).expect("ladder");
        (ladder[0].state != "pending").then_some(ladder)
    })
    .await;
    assert_eq!(open(&store)[0].id, incident.id);
    assert_eq!(fired[0].state, "fired", "{fired:?}");
    drop(fixed.shown);
    fixed.engine.shutdown().await;
}
