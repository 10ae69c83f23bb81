//! The incident layer against a real local target: who is told what, the alarm, and people
//! acting on incidents here or from another process.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foghorn_core::alarm::Ringer;
use foghorn_core::clock::Clock;
use foghorn_core::config::Config;
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::event::{EngineEvent, Health};
use foghorn_core::incident::{IncidentAction, IncidentState, IncidentView, TimelineKind};
use foghorn_core::notify::{Notification, Notifier, NotifyError, Urgency};
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

#[derive(Debug)]
struct Rota(bool);
impl OnCall for Rota {
    fn on_call(&self, _: OffsetDateTime) -> bool {
        self.0
    }
}

struct Setup {
    engine: Engine,
    shown: Arc<Shown>,
    bell: Arc<Bell>,
    up: Arc<AtomicBool>,
    _target: tokio::task::JoinHandle<()>,
}

async fn setup(store: Store, on_call: bool, extra: &str) -> Setup {
    let up = Arc::new(AtomicBool::new(false));
    let (url, target) = target("127.0.0.1", up.clone()).await;
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n{extra}\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"critical\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config");
    let shown = Arc::new(Shown::default());
    let bell = Arc::new(Bell::default());
    let engine = Engine::start(
        config,
        store,
        shown.clone(),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(Arc::new(Rota(on_call))),
            ringer: Some(bell.clone()),
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    Setup {
        engine,
        shown,
        bell,
        up,
        _target: target,
    }
}

fn open(store: &Store) -> Vec<IncidentView> {
    store.open_incidents().expect("open incidents")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_call_a_critical_outage_rings_until_acknowledged() {
    let store = Store::in_memory().expect("store");
    let s = setup(store.clone(), true, "").await;
    let incident = eventually(10, "an incident", || open(&store).pop()).await;
    let n = eventually(5, "a notification", || {
        s.shown.0.lock().expect("lock").first().cloned()
    })
    .await;
    assert_eq!(n.urgency, Urgency::Critical);
    assert_eq!(n.title, "api is down");
    assert_eq!(n.incident, Some(incident.id));
    assert_eq!(
        n.actions,
        [IncidentAction::Acknowledge, IncidentAction::Snooze]
    );
    assert_eq!(
        s.bell.0.lock().expect("lock").as_slice(),
        [(incident.id, true)]
    );
    assert_eq!(s.engine.ringing(), [incident.id]);
    assert_eq!(s.engine.health(), Health::Alarm);

    let acked = s
        .engine
        .act(incident.id, IncidentAction::Acknowledge)
        .await
        .expect("ack");
    assert_eq!(acked.state, IncidentState::Acknowledged);
    assert_eq!(acked.acked_by.as_deref(), Some("Alice Smith"));
    assert!(s.engine.ringing().is_empty());
    assert_eq!(
        s.bell.0.lock().expect("lock").last(),
        Some(&(incident.id, false))
    );
    assert_eq!(
        s.engine.health(),
        Health::Degraded,
        "acknowledged, still down"
    );

    // Back up: the incident resolves itself and the resolved notification says how long.
    s.up.store(true, Ordering::SeqCst);
    eventually(10, "resolved", || open(&store).is_empty().then_some(())).await;
    let resolved = eventually(5, "a resolved notification", || {
        s.shown
            .0
            .lock()
            .expect("lock")
            .iter()
            .find(|n| n.title.starts_with("Resolved"))
            .cloned()
    })
    .await;
    assert_eq!(resolved.title, "Resolved: api is down");
    assert!(resolved.body.starts_with("Lasted "), "{}", resolved.body);
    let detail = store
        .incident_detail(incident.id)
        .expect("detail")
        .expect("exists");
    let kinds: Vec<&str> = detail.timeline.iter().map(|t| t.kind.as_str()).collect();
    // "notified" is written once the notification is shown, which may be after the ack.
    let mut sorted = kinds.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["acknowledged", "notified", "resolved", "triggered"]
    );
    assert_eq!((kinds[0], kinds[3]), ("triggered", "resolved"));
    assert!(
        detail.timeline[0].detail.contains("latency")
            || detail.timeline[0].detail.contains("failed"),
        "evidence: {}",
        detail.timeline[0].detail
    );
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_on_call_a_quiet_notification_and_no_alarm() {
    let store = Store::in_memory().expect("store");
    let s = setup(store.clone(), false, "").await;
    eventually(10, "an incident", || open(&store).pop()).await;
    let n = eventually(5, "a notification", || {
        s.shown.0.lock().expect("lock").first().cloned()
    })
    .await;
    assert_eq!(n.urgency, Urgency::Normal);
    assert!(n.actions.is_empty());
    assert!(s.bell.0.lock().expect("lock").is_empty(), "no alarm");
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_off_call_is_told_when_they_asked_for_nothing() {
    let store = Store::in_memory().expect("store");
    let s = setup(
        store.clone(),
        false,
        "[notifications]\nwhen_not_on_call = \"none\"\n",
    )
    .await;
    let incident = eventually(10, "an incident", || open(&store).pop()).await;
    // The incident is there for the window and the tray; no notification was recorded.
    let detail = store
        .incident_detail(incident.id)
        .expect("detail")
        .expect("exists");
    assert!(detail
        .timeline
        .iter()
        .all(|t| t.kind != TimelineKind::Notified));
    assert!(s.shown.0.lock().expect("lock").is_empty());
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_from_another_process_silences_the_alarm_within_a_second() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let s = setup(store.clone(), true, "").await;
    let incident = eventually(10, "an incident", || open(&store).pop()).await;
    eventually(5, "ringing", || {
        (!s.engine.ringing().is_empty()).then_some(())
    })
    .await;

    // What `foghorn ack` does: its own connection to the same database.
    let cli = Store::open(dir.path()).expect("second store");
    let started = std::time::Instant::now();
    cli.act_on_incident(
        incident.id,
        IncidentAction::Acknowledge,
        "cli",
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("ack");
    eventually(1, "silence after the CLI's ack", || {
        s.engine.ringing().is_empty().then_some(())
    })
    .await;
    eprintln!("silenced {:?} after the CLI's ack", started.elapsed());
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snooze_silences_and_reassign_records_who_took_it() {
    let store = Store::in_memory().expect("store");
    let s = setup(store.clone(), true, "").await;
    let incident = eventually(10, "an incident", || open(&store).pop()).await;
    eventually(5, "ringing", || {
        (!s.engine.ringing().is_empty()).then_some(())
    })
    .await;
    let mut events = s.engine.subscribe();
    let snoozed = s
        .engine
        .act(incident.id, IncidentAction::Snooze)
        .await
        .expect("snooze");
    assert!(snoozed.snoozed(OffsetDateTime::now_utc()));
    assert_eq!(snoozed.state, IncidentState::Triggered);
    assert!(s.engine.ringing().is_empty());
    assert_eq!(s.engine.health(), Health::Degraded);
    let taken = s
        .engine
        .act(incident.id, IncidentAction::ReassignToMe)
        .await
        .expect("take");
    assert_eq!(taken.assignee.as_deref(), Some("Alice Smith"));
    // The window hears about both.
    let mut seen = Vec::new();
    while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_millis(200), events.recv()).await
    {
        if let EngineEvent::Incident { incident } = event {
            seen.push(incident);
        }
    }
    assert!(seen
        .iter()
        .any(|i| i.assignee.as_deref() == Some("Alice Smith")));
    let err = s
        .engine
        .act(4242, IncidentAction::Acknowledge)
        .await
        .expect_err("no such incident");
    assert_eq!(err.to_string(), "there is no incident 4242");
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_recorded_before_a_crash_is_shown_once_on_restart() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = Store::open(dir.path()).expect("store");
        let s = setup(store.clone(), true, "").await;
        eventually(5, "a notification", || {
            s.shown.0.lock().expect("lock").first().cloned()
        })
        .await;
        s.engine.shutdown().await;
        // As if the process died between recording and showing: mark it unshown again.
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE notifications SET delivered_at = NULL, outcome = NULL",
                    [],
                )?;
                Ok(())
            })
            .await
            .expect("unmark");
    }
    let store = Store::open(dir.path()).expect("reopen");
    let s = setup(store.clone(), true, "").await;
    let mut events = s.engine.subscribe();
    let n = eventually(5, "the owed notification", || {
        s.shown.0.lock().expect("lock").first().cloned()
    })
    .await;
    assert_eq!(n.title, "api is down");
    // Still down, still the same incident: three more failed checks show nothing else.
    let mut checks = 0;
    while checks < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("checks go on")
            .expect("engine running");
        if matches!(event, EngineEvent::Monitor { .. }) {
            checks += 1;
        }
    }
    let titles: Vec<String> = s
        .shown
        .0
        .lock()
        .expect("lock")
        .iter()
        .map(|n| n.title.clone())
        .collect();
    assert_eq!(titles, ["api is down"]);
    assert_eq!(open(&store).len(), 1);
    s.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_the_pager_by_hand_hands_over_with_a_digest_and_makes_alerts_loud() {
    use foghorn_core::config::Me;
    use foghorn_core::oncall::OncallService;

    let store = Store::in_memory().expect("store");
    let up = Arc::new(AtomicBool::new(false));
    let (url, _target) = target("127.0.0.1", up.clone()).await;
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"critical\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config");
    let service = Arc::new(OncallService::new(
        None,
        &[],
        Me {
            names: vec!["Alice Smith".to_owned()],
        },
        store.clone(),
    ));
    let shown = Arc::new(Shown::default());
    let bell = Arc::new(Bell::default());
    let engine = Engine::start(
        config,
        store.clone(),
        shown.clone(),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(service.clone()),
            ringer: Some(bell.clone()),
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    // Not on call: the outage is an ordinary notification and nothing rings.
    let incident = eventually(10, "an incident", || open(&store).pop()).await;
    eventually(5, "a quiet notification", || {
        s_first(&shown).filter(|n| n.urgency == Urgency::Normal)
    })
    .await;
    assert!(bell.0.lock().expect("lock").is_empty());
    assert!(!engine.on_call());

    // "I'm on call until …": the hand-off notification lists what is open.
    service
        .set_override(Some(OffsetDateTime::now_utc() + time::Duration::hours(2)))
        .await
        .expect("override");
    let handoff = eventually(5, "the hand-off notification", || {
        shown
            .0
            .lock()
            .expect("lock")
            .iter()
            .find(|n| n.title.starts_with("You are on call until"))
            .cloned()
    })
    .await;
    assert!(
        handoff.body.contains("1 open incident")
            && handoff.body.contains("api is down (triggered)"),
        "{}",
        handoff.body
    );
    assert!(engine.on_call());
    assert!(engine
        .snapshot()
        .expect("snapshot")
        .summary
        .contains("on call until"));

    // From now on an outage pages loudly: back up, then down again.
    up.store(true, Ordering::SeqCst);
    eventually(10, "resolved", || open(&store).is_empty().then_some(())).await;
    up.store(false, Ordering::SeqCst);
    eventually(10, "the alarm", || {
        bell.0
            .lock()
            .expect("lock")
            .iter()
            .any(|(_, on)| *on)
            .then_some(())
    })
    .await;
    assert_eq!(
        open(&store)[0].id,
        incident.id,
        "re-opened within the window"
    );
    engine.shutdown().await;
}

fn s_first(shown: &Shown) -> Option<Notification> {
    shown.0.lock().expect("lock").first().cloned()
}

/// The system clock moved forward by hand: checks keep their real times, while the engine's
/// "now" (snoozes, the ladder, heartbeat deadlines) jumps ahead.
#[derive(Debug, Default)]
struct Ahead(Mutex<time::Duration>);
impl Clock for Ahead {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + *self.0.lock().expect("lock")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snooze_runs_out_on_the_engines_clock_and_the_alarm_rings_again() {
    let store = Store::in_memory().expect("store");
    let up = Arc::new(AtomicBool::new(false));
    let (url, _target) = target("127.0.0.1", up.clone()).await;
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"critical\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config");
    let shown = Arc::new(Shown::default());
    let bell = Arc::new(Bell::default());
    let clock = Arc::new(Ahead::default());
    let engine = Engine::start(
        config,
        store.clone(),
        shown.clone(),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(Arc::new(Rota(true))),
            ringer: Some(bell.clone()),
            clock: Some(clock.clone()),
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    let incident = eventually(10, "an incident", || open(&store).pop()).await;
    eventually(5, "ringing", || {
        (!engine.ringing().is_empty()).then_some(())
    })
    .await;
    engine
        .act(incident.id, IncidentAction::Snooze)
        .await
        .expect("snooze");
    assert!(engine.ringing().is_empty());

    // Ten minutes later by the engine's clock, without waiting them.
    *clock.0.lock().expect("lock") = foghorn_core::incident::SNOOZE + time::Duration::seconds(1);
    let again = eventually(5, "the snooze running out", || {
        shown
            .0
            .lock()
            .expect("lock")
            .iter()
            .find(|n| n.title == "Still unacknowledged: api is down")
            .cloned()
    })
    .await;
    assert_eq!(again.urgency, Urgency::Critical);
    assert_eq!(again.incident, Some(incident.id));
    eventually(5, "the alarm ringing again", || {
        (engine.ringing() == [incident.id]).then_some(())
    })
    .await;
    engine.shutdown().await;
}
