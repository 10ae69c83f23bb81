//! The engine: runs every monitor on the shared tokio runtime, turns results into incidents,
//! decides what to notify, and publishes every change as an [`EngineEvent`].

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, watch, Notify, Semaphore};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use crate::check::{self, CheckResult};
use crate::config::{Config, HeartbeatsConfig, MonitorConfig, NotificationConfig, ResolveMode};
use crate::event::{EngineEvent, Health, Snapshot};
use crate::flap::{FlapDetector, Flapping};
use crate::incident::{IncidentState, IncidentView, Signal};
use crate::monitor::{MonitorId, MonitorState, MonitorStatus, MonitorView, Transition};
use crate::mute::{Mute, MuteChoice};
use crate::network::{LocalNetwork, NetworkGuard, SystemNetwork};
use crate::notify::{Notification, Notifier, NotifyError};
use crate::oncall::OncallStatus;
use crate::policy::OnCall;
use crate::store::{self, Store, StoreError};

/// How soon a failing check is repeated, so a real outage is confirmed in seconds rather
/// than a full interval later.
const FAST_RETRY: Duration = Duration::from_secs(5);
/// How often complete hours are rolled up and old raw results pruned.
const HISTORY_MAINTENANCE: Duration = Duration::from_secs(300);
/// Routine results are written together at least this often: one transaction per second
/// instead of one per check.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A batch this large is written at once rather than waiting for the next second.
const FLUSH_AT: usize = 2_000;
/// Results kept for a later batch while the database cannot be written; the oldest go first.
const UNSAVED_RESULTS: usize = 100_000;
/// How often the clocks are compared to notice the machine waking from sleep.
const SLEEP_TICK: Duration = Duration::from_secs(5);
/// Incidents listed in a snapshot.
const RECENT_INCIDENTS: usize = 50;

mod alerting;
mod cadence;
mod durable;
mod feeds;
mod ladder;
mod oncall;
mod status;
mod supervise;
mod support;
mod team;

pub use alerting::Ringer;
pub use cadence::UpdatePromise;
pub use feeds::FeedHealth;
pub use status::{Published, StatusOverview, StatusSetup};
pub use support::{QueueItem, SupportQueue};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no monitor {0:?}")]
    UnknownMonitor(String),
    #[error("{0:?} is not a heartbeat monitor")]
    NotHeartbeat(String),
    #[error(transparent)]
    Status(#[from] crate::status::StatusError),
    #[error(transparent)]
    Support(#[from] crate::support::SupportError),
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// Options that are not part of the config file.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Running the bundled demo configuration.
    pub demo: bool,
    /// The configuration file could not be loaded: the engine runs an empty stand-in. Like
    /// the demo, it says nothing about which monitors exist, so incidents of monitors missing
    /// from it stay open and their escalation waits for a configuration that loads.
    pub config_failed: bool,
    /// Things to tell the user from the start (e.g. "history is not being saved").
    pub notices: Vec<String>,
    /// What the OS says about connectivity; the real machine unless a test says otherwise.
    pub network: Option<Arc<dyn LocalNetwork>>,
    /// Whether the user is on call; without it nobody is (quiet notifications only).
    pub oncall: Option<Arc<dyn OnCall>>,
    /// The loud alarm; without it a loud alert is a critical notification only.
    pub ringer: Option<Arc<dyn Ringer>>,
    /// The escalation ladder's channels (chat, SMS, …); a step whose channel is missing
    /// fails with a clear note on the timeline.
    pub channels: Vec<Arc<dyn crate::deliver::Deliver>>,
    /// How long a heartbeat client may take and how many may connect at once.
    pub heartbeat_limits: crate::heartbeat::Limits,
}

/// Handle to the running engine; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    notification_config: NotificationConfig,
    retrigger_within: time::Duration,
    oncall: Arc<dyn OnCall>,
    ringer: Option<Arc<dyn Ringer>>,
    /// How this machine's person is named on timelines ("Alice Smith").
    me: String,
    alerting: Mutex<alerting::Alerting>,
    /// Swapped whole by [`Engine::set_escalation`]; readers take the `Arc` and let go.
    ladder: RwLock<Arc<ladder::Ladder>>,
    /// Status updates' destinations (`[status]`); the outbox sends their messages.
    status: Option<Arc<crate::status::publish::Publisher>>,
    /// The public updates promised and the nudges given about them.
    cadence: Mutex<cadence::Cadence>,

    /// The helpdesk the support queue's replies go to (`[intercom]`); the outbox sends them.
    support: Option<Arc<crate::support::Desk>>,
    /// The words the support queue searches for (keywords and component names).
    support_words: Vec<String>,
    /// The channels a test gave the engine: kept when the policy changes.
    fixed_channels: Option<Vec<Arc<dyn crate::deliver::Deliver>>>,
    /// The feeds' settings, which the PagerDuty channel takes its routing key from.
    feed_configs: Vec<crate::config::FeedConfig>,
    feeds: Vec<feeds::FeedEntry>,
    feed_health: Mutex<BTreeMap<String, FeedHealth>>,
    team: Mutex<team::Team>,
    /// The team secret: pushed starts and presence are signed with it and believed only when
    /// signed (see [`crate::team`]).
    team_key: Option<crate::team::TeamKey>,
    /// How long a signed start stays believable after it was signed.
    claim_fresh_for: time::Duration,
    /// Some feed takes Foghorn's own incidents: the ladder's owner is decided through it.
    pushes: bool,
    /// How long a ladder step waits to learn whose laptop climbs the ladder.
    ownership_grace: time::Duration,
    /// How long after an incident opens every laptop that saw it earlier has pushed it.
    ownership_settle: time::Duration,
    keep_raw: Duration,
    heartbeats: HeartbeatsConfig,
    store: Store,
    notifier: Arc<dyn Notifier>,
    events: broadcast::Sender<EngineEvent>,
    paused: watch::Sender<bool>,
    state: Mutex<State>,
    tasks: Mutex<Tasks>,
    limits: Limits,
    clients: Arc<check::Clients>,
    /// Routine results waiting for the next batch write.
    pending: Mutex<Vec<Pending>>,
    flush_now: Notify,
    /// Held while a batch is taken and written, so batches reach the database in order.
    flushing: tokio::sync::Mutex<()>,
    /// Incident changes that could not be written yet, retried in order.
    durable: durable::Durable,
    network: NetworkGuard,
    heartbeat_addr: Mutex<Option<SocketAddr>>,
    heartbeat_limits: crate::heartbeat::Limits,
    /// The token pings must carry, once the listener has it (configured or generated).
    heartbeat_token: Mutex<Option<String>>,
    demo: bool,
    /// The configuration in use is not the user's (the demo, or a stand-in for a file that
    /// failed to load) until an escalation policy from a file arrives.
    stand_in: std::sync::atomic::AtomicBool,
}

/// A write that goes into the same transaction as a batch of results.
type WriteJob<T> = Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> store::Result<T> + Send>;

#[derive(Debug, Default)]
struct Tasks {
    set: JoinSet<()>,
    monitors: HashMap<MonitorId, AbortHandle>,
}

#[derive(Debug)]
struct Pending {
    id: MonitorId,
    result: CheckResult,
    state: MonitorState,
}

/// Concurrency limits: overall, and per host so one service never sees a flood.
#[derive(Debug)]
struct Limits {
    global: Arc<Semaphore>,
    per_host: Mutex<HashMap<String, Arc<Semaphore>>>,
    max_per_host: usize,
}

impl Limits {
    fn host(&self, key: &str) -> Arc<Semaphore> {
        let mut hosts = lock(&self.per_host);
        Arc::clone(
            hosts
                .entry(key.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_host))),
        )
    }
}

#[derive(Debug)]
struct State {
    monitors: BTreeMap<MonitorId, MonitorEntry>,
    mute: Mute,
    notices: Vec<String>,
    notify_failed: bool,
    summary: String,
}

#[derive(Debug)]
struct MonitorEntry {
    /// Shared with the monitor's task, so 10,000 monitors keep one copy of their settings.
    config: Arc<MonitorConfig>,
    state: MonitorState,
    flap: FlapDetector,
    /// Paused on its own (the global pause is separate).
    paused: bool,
    /// Why its last failure was not trusted (the local network looked down).
    unknown: Option<String>,
    /// Tells a heartbeat monitor's deadline that a ping arrived.
    pinged: Option<watch::Sender<()>>,
    /// The first failure of the current run of failures: evidence for the incident.
    first_failure: Option<OffsetDateTime>,
}

impl MonitorEntry {
    fn new(config: MonitorConfig, state: MonitorState, paused: bool) -> Self {
        let flap = config
            .flap
            .as_ref()
            .map_or(FlapDetector::new(0, time::Duration::ZERO), |f| {
                FlapDetector::new(
                    f.changes as usize,
                    time::Duration::try_from(f.within).unwrap_or(time::Duration::MAX),
                )
            });
        let pinged = config.heartbeat.map(|_| watch::channel(()).0);
        MonitorEntry {
            config: Arc::new(config),
            first_failure: None,
            state,
            flap,
            paused,
            unknown: None,
            pinged,
        }
    }
}

/// What `record` needs of a monitor's configuration, without cloning all of it per result.
#[derive(Debug)]
struct Facts {
    name: String,
    severity: crate::incident::Severity,
    flap_within: Duration,
    /// The incident this monitor's failures belong to.
    group_key: String,
    auto_resolve: bool,
}

fn facts(m: &MonitorConfig) -> Facts {
    Facts {
        name: m.name().to_owned(),
        severity: m.severity,
        flap_within: m.flap.as_ref().map_or(Duration::ZERO, |f| f.within),
        group_key: match &m.incident_group {
            Some(group) => format!("group:{group}"),
            None => format!("monitor:{}", m.id()),
        },
        auto_resolve: m.resolve == ResolveMode::Auto,
    }
}

/// Everything about a monitor that decides how it is checked: a change restarts it.
fn check_key(m: &MonitorConfig) -> String {
    let conditions: Vec<String> = m.conditions.iter().map(ToString::to_string).collect();
    format!(
        "{:?}",
        (
            (&m.url, m.interval, m.timeout, m.method.as_str()),
            (headers_as_written(m), &m.body, m.insecure, &m.ca_file),
            conditions,
            (m.failure_threshold, m.success_threshold, m.severity),
            m.flap.as_ref().map(|f| (f.changes, f.within)),
            (&m.dns, m.heartbeat, m.follow_redirects, &m.group),
        )
    )
}

/// Headers as written (a header's `Debug` hides its value, so a changed value would not
/// restart the monitor); this key is compared, never shown.
fn headers_as_written(m: &MonitorConfig) -> Vec<(&str, String)> {
    m.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_written()))
        .collect()
}

impl Engine {
    /// Loads persisted state and starts every monitor. Must be called inside a tokio runtime.
    pub fn start(
        config: Config,
        store: Store,
        notifier: Arc<dyn Notifier>,
        options: EngineOptions,
    ) -> Result<Engine> {
        let mut saved = store.monitor_states()?;
        let paused = store.paused()?;
        let paused_monitors = store.paused_monitors()?;
        let mute = store.mute()?;
        let Config {
            me,
            monitors,
            notifications,
            history,
            heartbeats,
            scheduler,
            incidents,
            escalation,
            feeds: feed_configs,
            team: team_config,
            status,
            intercom,
            ..
        } = config;
        let support = intercom
            .as_ref()
            .map(|config| Arc::new(crate::support::Desk::new(config)));
        let support_words = intercom
            .as_ref()
            .map(|config| crate::support::search_words(config, status.as_ref()))
            .unwrap_or_default();
        let status = status.map(|status| {
            Arc::new(crate::status::publish::Publisher::new(
                status,
                escalation.clone(),
            ))
        });
        let mut notices = options.notices;
        let team_key = match &team_config.secret {
            None => None,
            Some(secret) => {
                match crate::secret::SecretSource::resolve(&crate::secret::SystemSecrets, secret) {
                    Ok(value) => Some(crate::team::TeamKey::new(&value)),
                    Err(e) => {
                        notices.push(format!(
                            "The team secret cannot be read ([team] secret): {e}"
                        ));
                        None
                    }
                }
            }
        };
        let shared_feed = feed_configs
            .iter()
            .any(|f| f.kind == crate::config::FeedKind::Alertmanager);
        if team_key.is_none() && shared_feed {
            tracing::warn!("{}", team::UNAUTHENTICATED);
            notices.push(team::UNAUTHENTICATED.to_owned());
        }
        // Every laptop pushes each poll: a signature older than a pushed alert's lifetime is
        // not being renewed by anyone.
        let claim_fresh_for = feed_configs
            .iter()
            .map(|f| f.poll_every * crate::feed::alertmanager::PUSH_LIFETIME_POLLS)
            .max()
            .and_then(|d| time::Duration::try_from(d).ok())
            .unwrap_or(time::Duration::MINUTE)
            + team::CLOCK_SKEW;
        let fixed_channels = (!options.channels.is_empty()).then_some(options.channels);
        let ladder = ladder::Ladder::new(escalation, fixed_channels.as_deref(), &feed_configs);
        let kept_feed_configs = feed_configs.clone();
        let mut feeds = Vec::new();
        // A feed that cannot start is kept in the health list, so the window and the tray's
        // summary say it is not running for as long as that lasts (not a log line only).
        let mut not_running = BTreeMap::new();
        for config in feed_configs {
            match crate::feed::from_config(&config) {
                Ok(feed) => feeds.push(feeds::FeedEntry { config, feed }),
                Err(e) => {
                    let name = crate::feed::name_of(&config);
                    tracing::error!(feed = %name, error = %e, "feed not started");
                    not_running.insert(
                        name.clone(),
                        FeedHealth::not_running(name, config.kind, e.to_string()),
                    );
                }
            }
        }
        // Moved, not cloned: with thousands of monitors a second copy is megabytes.
        let monitors = monitors
            .into_iter()
            .map(|m| {
                let id = m.id();
                let state = saved.remove(&id).unwrap_or_default();
                let one_paused = paused_monitors.contains(id.as_str());
                (id, MonitorEntry::new(m, state, one_paused))
            })
            .collect();
        let (events, _) = broadcast::channel(4096);
        let (paused_tx, _) = watch::channel(paused);
        let shared = Arc::new(Shared {
            notification_config: notifications,
            retrigger_within: time::Duration::try_from(incidents.retrigger_within)
                .unwrap_or(time::Duration::MAX),
            oncall: options
                .oncall
                .unwrap_or_else(|| Arc::new(crate::policy::NoSchedule)),
            ringer: options.ringer,
            me: me
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| "you".to_owned()),
            alerting: Mutex::new(alerting::Alerting::default()),
            ladder: RwLock::new(Arc::new(ladder)),
            status,
            cadence: Mutex::new(cadence::Cadence::default()),
            support,
            support_words,
            fixed_channels,
            feed_configs: kept_feed_configs,
            pushes: feeds
                .iter()
                .any(|f| f.config.push && f.config.kind == crate::config::FeedKind::Alertmanager),
            ownership_settle: polls(&feeds, 2).saturating_add(time::Duration::seconds(1)),
            ownership_grace: polls(&feeds, 3).saturating_add(time::Duration::seconds(5)),
            feeds,
            feed_health: Mutex::new(not_running),
            team: Mutex::new(team::Team::default()),
            team_key,
            claim_fresh_for,
            keep_raw: history.keep_raw,
            heartbeats,
            store,
            notifier,
            events,
            paused: paused_tx,
            state: Mutex::new(State {
                monitors,
                mute,
                notices,
                notify_failed: false,
                summary: String::new(),
            }),
            tasks: Mutex::new(Tasks::default()),
            limits: Limits {
                global: Arc::new(Semaphore::new(scheduler.max_concurrent_checks as usize)),
                per_host: Mutex::new(HashMap::new()),
                max_per_host: scheduler.max_per_host as usize,
            },
            clients: Arc::new(check::Clients::default()),
            pending: Mutex::new(Vec::new()),
            flush_now: Notify::new(),
            flushing: tokio::sync::Mutex::new(()),
            durable: durable::Durable::default(),
            network: NetworkGuard::new(
                options
                    .network
                    .unwrap_or_else(|| Arc::new(SystemNetwork) as Arc<dyn LocalNetwork>),
            ),
            heartbeat_addr: Mutex::new(None),
            heartbeat_limits: options.heartbeat_limits,
            heartbeat_token: Mutex::new(None),
            demo: options.demo,
            stand_in: std::sync::atomic::AtomicBool::new(options.demo || options.config_failed),
        });
        let engine = Engine { shared };
        engine.refresh_summary();
        {
            // Every long-running task is supervised: one that panics is restarted and the
            // user is told, rather than the ladder or a feed falling silent.
            let e = &engine;
            let mut tasks = lock(&engine.shared.tasks);
            tasks
                .set
                .spawn(e.supervised("history maintenance", |e| async move {
                    e.maintain_history().await;
                }));
            tasks
                .set
                .spawn(e.supervised("the result writer", |e| async move {
                    e.flush_results().await;
                }));
            tasks.set.spawn(
                e.supervised("the retry of unsaved changes", |e| async move {
                    e.retry_unsaved().await;
                }),
            );
            // Subscribed now, so a fault before the task first runs is still heard; a restart
            // subscribes again.
            let first = Mutex::new(Some(engine.shared.store.faults()));
            tasks
                .set
                .spawn(e.supervised("the store's fault reports", move |e| {
                    let faults = lock(&first).take();
                    async move {
                        let faults = faults.unwrap_or_else(|| e.shared.store.faults());
                        e.report_store_faults(faults).await;
                    }
                }));
            tasks
                .set
                .spawn(e.supervised("the sleep watcher", |e| async move {
                    e.watch_sleep().await;
                }));
            tasks
                .set
                .spawn(e.supervised("the incident watcher", |e| async move {
                    e.recover_incidents().await;
                    e.watch_incidents().await;
                }));
            tasks
                .set
                .spawn(e.supervised("the escalation ladder", |e| async move {
                    e.run_ladder().await;
                }));
            tasks
                .set
                .spawn(e.supervised("the promised updates", |e| async move {
                    e.run_cadence().await;
                }));
            for (index, feed) in engine.shared.feeds.iter().enumerate() {
                let what = format!("the feed {:?}", feed.feed.name());
                tasks.set.spawn(e.supervised(what, move |e| async move {
                    e.run_feed(index).await;
                }));
            }
            if let Some(changes) = engine.shared.oncall.subscribe() {
                tasks
                    .set
                    .spawn(e.supervised("the on-call watcher", move |e| {
                        let changes = changes.clone();
                        async move { e.watch_oncall(changes).await }
                    }));
            }
        }
        let ids: Vec<MonitorId> = lock(&engine.shared.state)
            .monitors
            .keys()
            .cloned()
            .collect();
        let count = ids.len().max(1) as u32;
        for (index, id) in ids.iter().enumerate() {
            engine.spawn_monitor(id, index as u32, count);
        }
        engine.ensure_heartbeat_listener();
        Ok(engine)
    }

    /// Starts the task that checks `id` (unless it is paused on its own), replacing any
    /// previous one. `index` of `count` spreads first checks over the interval so a thousand
    /// monitors don't fire in the same millisecond.
    fn spawn_monitor(&self, id: &MonitorId, index: u32, count: u32) {
        let (config, paused) = {
            let st = lock(&self.shared.state);
            let Some(entry) = st.monitors.get(id) else {
                return;
            };
            (Arc::clone(&entry.config), entry.paused)
        };
        let mut tasks = lock(&self.shared.tasks);
        if let Some(old) = tasks.monitors.remove(id) {
            old.abort();
        }
        if paused {
            return;
        }
        let what = format!("the checks of monitor {:?}", config.name());
        let handle = match config.heartbeat {
            Some(every) => {
                let id = id.clone();
                tasks.set.spawn(self.supervised(what, move |e| {
                    let id = id.clone();
                    async move { e.run_heartbeat(id, every).await }
                }))
            }
            None => {
                let spread = config.interval.min(Duration::from_secs(30)) / count * index;
                tasks.set.spawn(self.supervised(what, move |e| {
                    let config = Arc::clone(&config);
                    async move { e.run_monitor(config, spread).await }
                }))
            }
        };
        tasks.monitors.insert(id.clone(), handle);
        // Reap tasks that ended (replaced or removed monitors) so the set does not grow.
        while tasks.set.try_join_next().is_some() {}
    }

    /// Applies a new list of monitors: removed ones stop, changed ones restart, new ones
    /// start; unchanged monitors keep running undisturbed, state and timers included.
    pub fn reconfigure(&self, monitors: Vec<MonitorConfig>) -> Result<()> {
        let mut saved = self.shared.store.monitor_states()?;
        let paused_monitors = self.shared.store.paused_monitors()?;
        let mut restart = Vec::new();
        let mut removed = Vec::new();
        {
            let mut st = lock(&self.shared.state);
            let wanted: BTreeMap<MonitorId, MonitorConfig> =
                monitors.into_iter().map(|m| (m.id(), m)).collect();
            st.monitors.retain(|id, _| {
                let keep = wanted.contains_key(id);
                if !keep {
                    removed.push(id.clone());
                }
                keep
            });
            for (id, config) in wanted {
                match st.monitors.get_mut(&id) {
                    Some(entry) if check_key(&entry.config) == check_key(&config) => {
                        // Same checks; only the name's spelling or position may differ.
                        entry.config = Arc::new(config);
                    }
                    Some(entry) => {
                        let state = entry.state.clone();
                        let paused = entry.paused;
                        *entry = MonitorEntry::new(config, state, paused);
                        restart.push(id);
                    }
                    None => {
                        let state = saved.remove(&id).unwrap_or_default();
                        let paused = paused_monitors.contains(id.as_str());
                        st.monitors
                            .insert(id.clone(), MonitorEntry::new(config, state, paused));
                        restart.push(id);
                    }
                }
            }
        }
        {
            let mut tasks = lock(&self.shared.tasks);
            for id in &removed {
                if let Some(handle) = tasks.monitors.remove(id) {
                    handle.abort();
                }
            }
        }
        let count = restart.len().max(1) as u32;
        for (index, id) in restart.iter().enumerate() {
            self.spawn_monitor(id, index as u32, count);
        }
        self.ensure_heartbeat_listener();
        tracing::info!(
            restarted = restart.len(),
            removed = removed.len(),
            "monitors reconfigured"
        );
        self.publish(EngineEvent::Monitors {
            monitors: self.views(),
        });
        self.refresh_summary();
        Ok(())
    }

    /// Pauses or resumes one monitor, persisted.
    pub async fn set_monitor_paused(&self, id: &str, paused: bool) -> Result<MonitorView> {
        let id = MonitorId(id.to_owned());
        if !lock(&self.shared.state).monitors.contains_key(&id) {
            return Err(EngineError::UnknownMonitor(id.0));
        }
        self.shared
            .store
            .set_monitor_paused(id.as_str(), paused)
            .await?;
        if let Some(entry) = lock(&self.shared.state).monitors.get_mut(&id) {
            entry.paused = paused;
            entry.unknown = None;
        }
        tracing::info!(monitor = %id, paused, "monitor paused/resumed");
        self.spawn_monitor(&id, 0, 1);
        let view = self.view(&id);
        self.publish(EngineEvent::Monitor {
            monitor: view.clone(),
        });
        self.refresh_summary();
        Ok(view)
    }

    async fn run_monitor(&self, monitor: Arc<MonitorConfig>, first: Duration) {
        let id = monitor.id();
        let host_limit = self
            .shared
            .limits
            .host(&check::Probe::from_monitor(&monitor).host_key());
        let mut paused = self.shared.paused.subscribe();
        tokio::time::sleep(first).await;
        loop {
            if *paused.borrow_and_update() {
                if paused.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let started = Instant::now();
            let result = {
                // The host's permit first: a slow host queues its own checks without
                // holding slots that other hosts' checks could use.
                let Ok(_host) = host_limit.acquire().await else {
                    return;
                };
                let Ok(_slot) = self.shared.limits.global.acquire().await else {
                    return;
                };
                // Boxed, with the probe built for this check only: the check's future and the
                // probe's copies of the URL and conditions exist only while it runs, instead
                // of in every monitor's long-lived task.
                Box::pin(async {
                    check::Probe::from_monitor(&monitor)
                        .run(&self.shared.clients)
                        .await
                })
                .await
            };
            // A pause that arrived during the check wins: its result would be stale.
            if *paused.borrow() {
                continue;
            }
            let retry_soon = Box::pin(self.record(&id, result)).await;
            let wait = if retry_soon {
                FAST_RETRY.min(monitor.interval)
            } else {
                jittered(monitor.interval)
            };
            tokio::select! {
                () = tokio::time::sleep_until(crate::deadline::instant_after(started, wait)) => {}
                changed = paused.changed() => if changed.is_err() { return },
            }
        }
    }

    /// A push monitor: nothing to poll, only a deadline that each ping moves forward.
    async fn run_heartbeat(&self, id: MonitorId, every: Duration) {
        let (mut pinged, last) = {
            let st = lock(&self.shared.state);
            let Some(entry) = st.monitors.get(&id) else {
                return;
            };
            let Some(pinged) = entry.pinged.as_ref().map(watch::Sender::subscribe) else {
                return;
            };
            (pinged, entry.state.last_checked_at)
        };
        // After a restart the deadline counts from the last ping, not from now.
        let since_last = last
            .map(|l| OffsetDateTime::now_utc() - l)
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or_default();
        let due_in = |wait: Duration| crate::deadline::instant_after(Instant::now(), wait);
        let mut deadline = due_in(every.saturating_sub(since_last));
        let mut paused = self.shared.paused.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    if *paused.borrow() || self.shared.network.waking() {
                        // Nobody could have pinged a sleeping laptop: give the job time.
                        deadline = due_in(crate::network::WAKE_GRACE);
                        continue;
                    }
                    let missed = CheckResult {
                        at: OffsetDateTime::now_utc(),
                        ok: false,
                        latency_ms: None,
                        error: Some(format!(
                            "no heartbeat for {} (expected at least every {})",
                            crate::notify::human_duration(
                                time::Duration::try_from(every.max(since_last))
                                    .unwrap_or(time::Duration::MAX)
                            ),
                            humantime::format_duration(every),
                        )),
                        outcomes: Vec::new(),
                        unreachable: false,
                    };
                    self.record(&id, missed).await;
                    deadline = due_in(every);
                }
                changed = pinged.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    deadline = due_in(every);
                }
                changed = paused.changed() => if changed.is_err() { return },
            }
        }
    }

    /// A ping from a heartbeat monitor's job: `ok = false` when the job reports failure.
    pub async fn heartbeat(&self, id: &str, ok: bool, message: Option<String>) -> Result<()> {
        let id = MonitorId(id.to_owned());
        let pinged = {
            let st = lock(&self.shared.state);
            let entry = st
                .monitors
                .get(&id)
                .ok_or_else(|| EngineError::UnknownMonitor(id.0.clone()))?;
            entry
                .pinged
                .clone()
                .ok_or_else(|| EngineError::NotHeartbeat(id.0.clone()))?
        };
        if self.paused() {
            return Ok(());
        }
        let result = CheckResult {
            at: OffsetDateTime::now_utc(),
            ok,
            latency_ms: None,
            error: (!ok).then(|| message.unwrap_or_else(|| "the job reported a failure".into())),
            outcomes: Vec::new(),
            unreachable: false,
        };
        self.record(&id, result).await;
        pinged.send_replace(());
        Ok(())
    }

    /// Where heartbeat pings are accepted, once the listener is up.
    pub fn heartbeat_addr(&self) -> Option<SocketAddr> {
        *lock(&self.shared.heartbeat_addr)
    }

    /// Starts the heartbeat listener the first time a heartbeat monitor exists.
    fn ensure_heartbeat_listener(&self) {
        let wanted = lock(&self.shared.state)
            .monitors
            .values()
            .any(|m| m.config.heartbeat.is_some());
        if !wanted || self.heartbeat_addr().is_some() {
            return;
        }
        let listen = self.shared.heartbeats.listen;
        let configured = match &self.shared.heartbeats.token {
            None => None,
            Some(r) => match crate::secret::SecretSource::resolve(&crate::secret::SystemSecrets, r)
            {
                Ok(t) => Some(t),
                Err(e) => {
                    self.add_notice(format!("Heartbeat pings are refused: {e}"));
                    return;
                }
            },
        };
        let listener = match std::net::TcpListener::bind(listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
        {
            Ok(l) => l,
            Err(e) => {
                self.add_notice(format!(
                    "Heartbeat monitors cannot be pinged: cannot listen on {listen}: {e}"
                ));
                return;
            }
        };
        let addr = listener.local_addr().unwrap_or(listen);
        *lock(&self.shared.heartbeat_addr) = Some(addr);
        if !addr.ip().is_loopback() {
            let token = if configured.is_some() {
                "the token in [heartbeats] token"
            } else {
                "a token generated for this computer"
            };
            tracing::warn!(%addr, "heartbeats are accepted from other computers");
            self.add_notice(format!(
                "Heartbeats are accepted on {addr}, from other computers too, guarded only by \
                 {token} sent over plain HTTP: listen on 127.0.0.1 unless a job elsewhere needs it."
            ));
        }
        tracing::info!(%addr, "accepting heartbeats");
        // A restart after a panic listens again on the same address.
        let first = Mutex::new(Some(listener));
        let limits = self.shared.heartbeat_limits;
        let serve = self.supervised("the heartbeat listener", move |e| {
            let listener = lock(&first).take();
            let configured = configured.clone();
            async move {
                // Without a configured token, one is generated once and kept in the database:
                // a ping must never be accepted on a monitor id alone.
                let token = match configured {
                    Some(token) => token,
                    None => match e.shared.store.heartbeat_token().await {
                        Ok(token) => token,
                        Err(err) => {
                            e.add_notice(format!(
                                "Heartbeat pings are refused: cannot keep a heartbeat token: {err}"
                            ));
                            return;
                        }
                    },
                };
                *lock(&e.shared.heartbeat_token) = Some(token.clone());
                e.publish(EngineEvent::Monitors {
                    monitors: e.views(),
                });
                let listener = match listener {
                    Some(l) => l,
                    None => match tokio::net::TcpListener::bind(addr).await {
                        Ok(l) => l,
                        Err(err) => {
                            e.add_notice(format!(
                                "Heartbeat monitors cannot be pinged: cannot listen on {addr} again: {err}"
                            ));
                            return;
                        }
                    },
                };
                crate::heartbeat::serve(listener, e, token, limits).await;
            }
        });
        lock(&self.shared.tasks).set.spawn(serve);
    }

    /// The command a heartbeat monitor's job runs to ping it, token included; `None` for
    /// other monitors and until the listener is up.
    pub fn heartbeat_ping(&self, monitor_id: &str) -> Option<String> {
        self.view(&MonitorId(monitor_id.to_owned())).ping
    }

    /// Notices the machine waking from sleep so the failures that follow are not trusted.
    async fn watch_sleep(&self) {
        loop {
            tokio::time::sleep(SLEEP_TICK).await;
            if self.shared.network.tick() {
                tracing::info!(
                    "this computer woke from sleep; failures are not trusted for a minute"
                );
                self.refresh_summary();
            }
        }
    }

    /// Writes routine results in batches: once a second, or at once when many are waiting.
    async fn flush_results(&self) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(FLUSH_EVERY) => {}
                () = self.shared.flush_now.notified() => {}
            }
            self.flush_pending().await;
        }
    }

    async fn flush_pending(&self) {
        let _ = self.flush(None::<WriteJob<()>>).await;
    }

    /// Writes the waiting results, then `also` in the same transaction. With `also` (an
    /// incident opening or closing) the commit waits for the disk; otherwise it need not.
    /// `Ok(None)` only without `also`. When the database cannot be written for now (full,
    /// busy, its writer failed) the results wait for the next batch and the person is told.
    async fn flush<T: Send + 'static>(
        &self,
        also: Option<WriteJob<T>>,
    ) -> store::Result<Option<T>> {
        let _order = self.shared.flushing.lock().await;
        let batch = Arc::new(std::mem::take(&mut *lock(&self.shared.pending)));
        if batch.is_empty() && also.is_none() {
            return Ok(None);
        }
        let durable = also.is_some();
        let results = Arc::clone(&batch);
        let job = move |tx: &rusqlite::Transaction<'_>| {
            for p in results.iter() {
                store::record_result(tx, &p.id, &p.result, &p.state)?;
            }
            also.map(|f| f(tx)).transpose()
        };
        let written = if durable {
            self.shared.store.write(job).await
        } else {
            self.shared.store.write_relaxed(job).await
        };
        match &written {
            Ok(_) => self.saving_works(),
            Err(e) => {
                self.saving_failed(e);
                // The job is gone (run or dropped), so the batch is ours again.
                match Arc::try_unwrap(batch) {
                    Ok(batch) if e.is_transient() => self.requeue(batch),
                    Ok(batch) => tracing::error!(
                        dropped = batch.len(),
                        error = %e,
                        "check results not saved"
                    ),
                    Err(_) => {}
                }
            }
        }
        written
    }

    /// Puts results that could not be written back in front of the newer ones, keeping at
    /// most [`UNSAVED_RESULTS`].
    fn requeue(&self, mut batch: Vec<Pending>) {
        let mut pending = lock(&self.shared.pending);
        batch.append(&mut pending);
        let over = batch.len().saturating_sub(UNSAVED_RESULTS);
        if over > 0 {
            tracing::warn!(
                dropped = over,
                "too many check results waiting: the oldest are dropped"
            );
            batch.drain(..over);
        }
        *pending = batch;
    }

    /// Tells the person (window and log) when the database's writer failed: the write it was
    /// running is abandoned (and retried where it matters), later ones go ahead.
    async fn report_store_faults(&self, mut faults: broadcast::Receiver<String>) {
        loop {
            match faults.recv().await {
                Ok(fault) => {
                    tracing::error!(%fault, "database writer");
                    self.add_notice(format!(
                        "The database writer failed ({fault}); Foghorn carries on and tries \
                         again what was not saved. The log has the details."
                    ));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(missed = n, "database writer faults not reported");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn enqueue(&self, pending: Pending) {
        let waiting = {
            let mut p = lock(&self.shared.pending);
            p.push(pending);
            p.len()
        };
        if waiting >= FLUSH_AT {
            self.shared.flush_now.notify_one();
        }
    }

    /// Keeps the database small: roll-ups, then retention, every few minutes.
    async fn maintain_history(&self) {
        let keep_raw = i64::try_from(self.shared.keep_raw.as_millis()).unwrap_or(i64::MAX);
        loop {
            let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
            if let Err(e) = self.shared.store.maintain_history(now_ms, keep_raw).await {
                tracing::warn!(error = %e, "history maintenance failed; will retry");
            }
            tokio::time::sleep(HISTORY_MAINTENANCE).await;
        }
    }

    /// Folds a result into the monitor's state, persists both, and announces what changed.
    /// Returns whether the monitor is failing but not yet down (so it deserves a fast retry).
    async fn record(&self, id: &MonitorId, mut result: CheckResult) -> bool {
        if result.unreachable {
            if let Some(reason) = self.blame_local_network(id).await {
                self.mark_unknown(id, reason);
                return false;
            }
        } else {
            self.shared.network.network_works();
        }
        let (config, state, transition, flapping, settled, visible_change, first_failure) = {
            let mut st = lock(&self.shared.state);
            let Some(entry) = st.monitors.get_mut(id) else {
                return false;
            };
            let was_unknown = entry.unknown.take().is_some();
            let before = entry.state.status;
            entry.first_failure = if result.ok {
                None
            } else {
                entry.first_failure.or(Some(result.at))
            };
            let first_failure = entry.first_failure;
            let transition = entry.state.apply(
                &result,
                entry.config.effective_failure_threshold(),
                entry.config.success_threshold,
            );
            let (flapping, settled) = match transition {
                Transition::None => (Flapping::No, entry.flap.settle(result.at)),
                _ => (entry.flap.change(result.at), false),
            };
            let config = facts(&entry.config);
            (
                config,
                entry.state.clone(),
                transition,
                flapping,
                settled,
                was_unknown || before != entry.state.status,
                first_failure,
            )
        };
        let retry_soon = !result.ok && state.status != MonitorStatus::Down;
        let now_up = state.status == MonitorStatus::Up;
        let at = result.at;
        let evidence = evidence(&result, &state, first_failure);
        // The history keeps no condition outcomes: dropped here rather than held in the queue
        // by each of the thousands of results waiting for the next batch.
        result.outcomes = Vec::new();
        let reason = result.error.clone();
        self.enqueue(Pending {
            id: id.clone(),
            result,
            state,
        });
        // An incident opening or closing is written at once and must survive a power cut;
        // routine results wait for the next batch.
        let quiet = flapping != Flapping::No;
        match transition {
            Transition::None => {}
            Transition::WentDown => {
                let signal = Signal {
                    dedup_key: format!("monitor:{id}"),
                    group_key: config.group_key.clone(),
                    source: "monitor".to_owned(),
                    origin: format!("monitor {}", config.name),
                    summary: format!("{} is down", config.name),
                    severity: config.severity,
                    link: None,
                    at,
                    evidence,
                    auto_resolve: config.auto_resolve,
                };
                self.signal_fired(signal, reason, quiet).await;
            }
            Transition::CameUp { down_for } => {
                let detail = format!(
                    "{} is back up after {}",
                    config.name,
                    crate::notify::human_duration(down_for)
                );
                self.signal_cleared(
                    format!("monitor:{id}"),
                    at,
                    format!("monitor {}", config.name),
                    detail,
                    quiet,
                )
                .await;
            }
        }
        self.publish(EngineEvent::Monitor {
            monitor: self.view(id),
        });
        if settled {
            self.notify(Notification::settled(&config.name, now_up))
                .await;
        }
        if let Flapping::Started { changes } = flapping {
            let within = config.flap_within;
            tracing::warn!(monitor = %id, changes, "monitor flapping");
            self.notify(Notification::flapping(
                &config.name,
                changes,
                time::Duration::try_from(within).unwrap_or(time::Duration::MAX),
            ))
            .await;
        }
        // The summary depends only on statuses: recomputing it (a pass over every monitor)
        // for a routine result would make each check cost O(monitors).
        if visible_change {
            self.refresh_summary();
        }
        retry_soon
    }

    /// Shows a notification about a monitor (not an incident) unless notifications are off
    /// or muted.
    async fn notify(&self, notification: Notification) {
        if !self.shared.notification_config.enabled {
            return;
        }
        let now = OffsetDateTime::now_utc();
        if lock(&self.shared.state).mute.is_active(now) {
            tracing::info!(title = %notification.title, "muted: notification not shown");
            return;
        }
        let _ = self.show(notification).await;
    }

    /// Shows a notification. Native notification calls may block (D-Bus), so they run off
    /// the async workers; the first failure becomes a notice in the window.
    async fn show(&self, notification: Notification) -> std::result::Result<(), NotifyError> {
        let notifier = Arc::clone(&self.shared.notifier);
        let shown = tokio::task::spawn_blocking(move || {
            let outcome = notifier.show(&notification);
            (notification, outcome)
        })
        .await;
        let (notification, outcome) =
            shown.map_err(|e| NotifyError::Failed(format!("the notifier panicked: {e}")))?;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, title = %notification.title, "notification not shown");
            let first = {
                let mut st = lock(&self.shared.state);
                !std::mem::replace(&mut st.notify_failed, true)
            };
            if first {
                self.add_notice(format!("{e}. Alerts show here and in the log."));
            }
        }
        outcome
    }

    /// Adds a message about Foghorn itself for the window to show.
    pub fn add_notice(&self, notice: String) {
        lock(&self.shared.state).notices.push(notice.clone());
        self.publish(EngineEvent::Notice { notice });
    }

    fn publish(&self, event: EngineEvent) {
        // No subscriber is fine: the headless engine may have nobody listening.
        let _ = self.shared.events.send(event);
    }

    /// Events from now on. A slow subscriber that lags loses events and should re-read
    /// [`Engine::snapshot`].
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.shared.events.subscribe()
    }

    fn view(&self, id: &MonitorId) -> MonitorView {
        let ping = self.ping_base();
        let st = lock(&self.shared.state);
        let paused = *self.shared.paused.borrow();
        st.monitors
            .get(id)
            .map(|e| monitor_view(id, e, paused, ping.as_ref()))
            .unwrap_or_else(|| MonitorView {
                id: id.to_string(),
                name: id.to_string(),
                target: String::new(),
                status: MonitorStatus::Unknown,
                last_checked_at: None,
                latency_ms: None,
                last_error: None,
                since: None,
                ping: None,
            })
    }

    fn views(&self) -> Vec<MonitorView> {
        let paused = *self.shared.paused.borrow();
        let ping = self.ping_base();
        lock(&self.shared.state)
            .monitors
            .iter()
            .map(|(id, e)| monitor_view(id, e, paused, ping.as_ref()))
            .collect()
    }

    /// Where heartbeats go and the token they carry, once the listener has both.
    fn ping_base(&self) -> Option<(SocketAddr, String)> {
        Some((
            self.heartbeat_addr()?,
            lock(&self.shared.heartbeat_token).clone()?,
        ))
    }

    /// Whether an unreachable target is more likely this machine's fault. Other hosts are
    /// probed only when this failure would otherwise open an incident.
    async fn blame_local_network(&self, id: &MonitorId) -> Option<String> {
        let others = {
            let st = lock(&self.shared.state);
            let entry = st.monitors.get(id)?;
            let would_alert = entry.state.status != MonitorStatus::Down
                && entry.state.consecutive_failures + 1
                    >= entry.config.effective_failure_threshold();
            let own = check::Probe::from_monitor(&entry.config).host_key();
            let mut others: Vec<(String, u16)> = Vec::new();
            if would_alert {
                for other in st.monitors.values() {
                    if other.state.status != MonitorStatus::Up || other.paused {
                        continue;
                    }
                    let probe = check::Probe::from_monitor(&other.config);
                    if let Some(addr) = probe.address() {
                        if probe.host_key() != own && !others.contains(&addr) {
                            others.push(addr);
                        }
                    }
                    // Only that many are probed: with the whole network down, every
                    // monitor asks, and scanning them all each time would be quadratic.
                    if others.len() == crate::network::CROSS_CHECK_HOSTS {
                        break;
                    }
                }
            }
            others
        };
        self.shared.network.local_problem(others).await
    }

    fn mark_unknown(&self, id: &MonitorId, reason: String) {
        let changed = {
            let mut st = lock(&self.shared.state);
            let Some(entry) = st.monitors.get_mut(id) else {
                return;
            };
            entry.unknown.replace(reason.clone()).as_ref() != Some(&reason)
        };
        if changed {
            tracing::warn!(monitor = %id, %reason, "failure not trusted");
        }
        self.publish(EngineEvent::Monitor {
            monitor: self.view(id),
        });
        self.refresh_summary();
    }

    pub fn snapshot(&self) -> Result<Snapshot> {
        let incidents = self.shared.store.recent_incidents(RECENT_INCIDENTS)?;
        let paused = *self.shared.paused.borrow();
        let now = OffsetDateTime::now_utc();
        let monitors = self.views();
        let ringing = self.ringing();
        let oncall = self.shared.oncall.status(now);
        let on_call = oncall
            .as_ref()
            .map_or_else(|| self.on_call(), |s| s.you_are_on_call);
        let st = lock(&self.shared.state);
        let feeds = self.feed_health();
        Ok(Snapshot {
            ringing,
            on_call,
            oncall,
            feeds,
            monitors,
            incidents,
            mute: st.mute.current(now),
            paused,
            summary: st.summary.clone(),
            demo: self.shared.demo,
            notices: st.notices.clone(),
            promises: self.promises(),
        })
    }

    pub async fn set_mute(&self, choice: MuteChoice) -> Result<Mute> {
        let mute = Mute::from_choice(choice, OffsetDateTime::now_utc());
        self.shared.store.set_mute(mute).await?;
        lock(&self.shared.state).mute = mute;
        tracing::info!(?mute, "mute changed");
        self.publish(EngineEvent::Mute { mute });
        self.refresh_summary();
        Ok(mute)
    }

    pub async fn set_paused(&self, paused: bool) -> Result<bool> {
        self.shared.store.set_paused(paused).await?;
        self.shared.paused.send_replace(paused);
        tracing::info!(paused, "monitoring paused/resumed");
        self.publish(EngineEvent::Paused { paused });
        self.publish(EngineEvent::Monitors {
            monitors: self.views(),
        });
        self.refresh_summary();
        Ok(paused)
    }

    pub fn paused(&self) -> bool {
        *self.shared.paused.borrow()
    }

    pub fn mute(&self) -> Mute {
        lock(&self.shared.state)
            .mute
            .current(OffsetDateTime::now_utc())
    }

    /// Overall health for the tray icon.
    pub fn health(&self) -> Health {
        let now = OffsetDateTime::now_utc();
        let paused = self.paused();
        // Read before taking the state lock: monitor tasks must never wait on a query.
        let open: Vec<IncidentView> = self
            .shared
            .store
            .recent_incidents(RECENT_INCIDENTS)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i.state != IncidentState::Resolved)
            .collect();
        let ringing = !self.ringing().is_empty();
        let feed_not_running = lock(&self.shared.feed_health).values().any(|h| !h.running);
        let st = lock(&self.shared.state);
        if ringing {
            // The alarm breaking through a mute shows as what it is.
            Health::Alarm
        } else if st.mute.is_active(now) {
            Health::Muted
        } else if open
            .iter()
            .any(|i| i.state == IncidentState::Triggered && !i.snoozed(now))
        {
            Health::Alarm
        } else if paused
            || feed_not_running
            || !open.is_empty()
            || st.monitors.values().any(|m| {
                m.unknown.is_some()
                    || matches!(m.state.status, MonitorStatus::Down | MonitorStatus::Unknown)
            })
        {
            Health::Degraded
        } else {
            Health::Ok
        }
    }

    /// The one-line summary (tray tooltip, window header).
    pub fn summary(&self) -> String {
        lock(&self.shared.state).summary.clone()
    }

    fn refresh_summary(&self) {
        let now = OffsetDateTime::now_utc();
        let paused = self.paused();
        let oncall = self.shared.oncall.status(now);
        let not_running: Vec<String> = lock(&self.shared.feed_health)
            .values()
            .filter(|h| !h.running)
            .map(|h| h.name.clone())
            .collect();
        let mut summary = {
            let st = lock(&self.shared.state);
            summarize(&st, paused, now, oncall.as_ref(), &not_running)
        };
        if let Some(countdown) = self.cadence_summary(now) {
            summary.push_str(" · ");
            summary.push_str(&countdown);
        }
        let changed = {
            let mut st = lock(&self.shared.state);
            std::mem::replace(&mut st.summary, summary.clone()) != summary
        };
        if changed {
            self.publish(EngineEvent::Summary { summary });
        }
    }

    /// Stops every monitor and writes the results still waiting for a batch.
    pub async fn shutdown(&self) {
        let mut tasks = std::mem::take(&mut *lock(&self.shared.tasks));
        tasks.set.shutdown().await;
        self.flush_pending().await;
        self.save_before_exit().await;
    }
}

/// What the timeline keeps about a failure: the error, each failing condition with the value
/// it saw, the latency, and the run of failures.
fn evidence(result: &CheckResult, state: &MonitorState, first: Option<OffsetDateTime>) -> String {
    let mut lines = vec![result
        .error
        .clone()
        .unwrap_or_else(|| "check failed".to_owned())];
    lines.extend(
        result
            .outcomes
            .iter()
            .filter(|o| !o.ok)
            .map(|o| format!("failed: {}", o.resolved)),
    );
    if let Some(latency) = result.latency_ms {
        lines.push(format!("latency: {latency} ms"));
    }
    let last = crate::time_fmt::rfc3339(result.at);
    lines.push(match first {
        Some(first) if first != result.at => format!(
            "{} failed checks in a row, first at {}, last at {last}",
            state.consecutive_failures,
            crate::time_fmt::rfc3339(first)
        ),
        _ => format!("failed at {last}"),
    });
    lines.join("\n")
}

/// The tray's one line. `not_running` are feeds that could not be started: missing alerts
/// must show where people look, not only in a log.
fn summarize(
    st: &State,
    paused: bool,
    now: OffsetDateTime,
    oncall: Option<&OncallStatus>,
    not_running: &[String],
) -> String {
    let total = st.monitors.len();
    let down: Vec<&str> = st
        .monitors
        .values()
        .filter(|m| m.state.status == MonitorStatus::Down)
        .map(|m| m.config.name())
        .collect();
    let offline = st.monitors.values().find_map(|m| m.unknown.as_deref());
    let mut line = if total == 0 {
        "No monitors configured".to_owned()
    } else if paused {
        "Monitoring paused".to_owned()
    } else if let Some(reason) = offline {
        format!("Not alerting: {reason}")
    } else if !down.is_empty() {
        format!("{} of {total} down: {}", down.len(), down.join(", "))
    } else if st
        .monitors
        .values()
        .all(|m| m.state.status == MonitorStatus::Up)
    {
        match total {
            1 => "The monitor is up".to_owned(),
            _ => format!("All {total} monitors up"),
        }
    } else {
        format!(
            "Checking {total} monitor{}",
            if total == 1 { "" } else { "s" }
        )
    };
    match not_running {
        [] => {}
        [one] => line.push_str(&format!(" · feed {one} not running")),
        many => line.push_str(&format!(" · feeds {} not running", many.join(", "))),
    }
    if let Some(status) = oncall.filter(|s| s.you_are_on_call) {
        match status.until {
            Some(until) => line.push_str(&format!(
                " · on call until {}",
                crate::time_fmt::local_hm(until)
            )),
            None => line.push_str(" · on call"),
        }
    }
    match st.mute.current(now) {
        Mute::Off => {}
        Mute::Indefinite => line.push_str(" · muted"),
        Mute::Until { until } => {
            line.push_str(&format!(
                " · muted until {}",
                crate::time_fmt::local_hm(until)
            ));
        }
    }
    line
}

fn monitor_view(
    id: &MonitorId,
    entry: &MonitorEntry,
    paused: bool,
    ping: Option<&(SocketAddr, String)>,
) -> MonitorView {
    let s = &entry.state;
    let (status, last_error) = if paused || entry.paused {
        (MonitorStatus::Paused, s.last_error.clone())
    } else if let Some(reason) = &entry.unknown {
        (MonitorStatus::Unknown, Some(format!("unknown: {reason}")))
    } else {
        (s.status, s.last_error.clone())
    };
    MonitorView {
        id: id.to_string(),
        name: entry.config.name().to_owned(),
        target: entry.config.target(),
        status,
        last_checked_at: s.last_checked_at,
        latency_ms: s.latency_ms,
        last_error,
        since: s.since,
        ping: ping
            .filter(|_| entry.config.heartbeat.is_some())
            .map(|(addr, token)| crate::heartbeat::curl_line(*addr, token, id.as_str())),
    }
}

/// Locks a mutex, recovering from poisoning: a panicked monitor task must not take the
/// whole engine down with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The longest `times` polls of any feed take, for deciding whose laptop climbs a ladder.
fn polls(feeds: &[feeds::FeedEntry], times: u32) -> time::Duration {
    feeds
        .iter()
        .map(|f| f.config.poll_every.saturating_mul(times))
        .max()
        .and_then(|d| time::Duration::try_from(d).ok())
        .unwrap_or_default()
}

/// `interval` give or take 5 %, so monitors that started together drift apart instead of
/// firing in lockstep forever.
fn jittered(interval: Duration) -> Duration {
    use rand::Rng;
    let spread = interval.as_millis() as u64 / 20;
    if spread == 0 {
        return interval;
    }
    let offset = rand::rng().random_range(0..=2 * spread);
    interval
        .saturating_add(Duration::from_millis(offset))
        .saturating_sub(Duration::from_millis(spread))
}
