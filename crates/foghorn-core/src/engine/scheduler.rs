//! The scheduler: every monitor's task on the shared runtime, the concurrency limits, the
//! global and per-monitor pause, and what a check result does to its monitor (state, flap
//! detection, the local network's blame) before it becomes a routine result or a signal.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{watch, Semaphore};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use super::results::Pending;
use super::{lock, Engine, EngineError, Result};
use crate::check::{self, CheckResult};
use crate::config::{MonitorConfig, ResolveMode};
use crate::event::EngineEvent;
use crate::flap::{FlapDetector, Flapping};
use crate::incident::Signal;
use crate::monitor::{MonitorId, MonitorState, MonitorStatus, MonitorView, Transition};
use crate::network::NetworkGuard;
use crate::notify::Notification;

/// How soon a failing check is repeated, so a real outage is confirmed in seconds rather
/// than a full interval later.
const FAST_RETRY: Duration = Duration::from_secs(5);
/// How often the clocks are compared to notice the machine waking from sleep.
const SLEEP_TICK: Duration = Duration::from_secs(5);

/// The monitors, their tasks and the limits they share.
#[derive(Debug)]
pub(super) struct Scheduler {
    /// Leaf lock: never held across an await nor while taking another lock.
    monitors: Mutex<BTreeMap<MonitorId, MonitorEntry>>,
    /// Every task the engine runs (monitors and the long-running loops). Leaf lock.
    tasks: Mutex<Tasks>,
    limits: Limits,
    clients: Arc<check::Clients>,
    paused: watch::Sender<bool>,
    network: NetworkGuard,
}

/// What a monitor's deadline needs to start: its ping channel and its last check.
pub(super) type HeartbeatStart = (watch::Receiver<()>, Option<OffsetDateTime>);

impl Scheduler {
    pub(super) fn new(
        monitors: BTreeMap<MonitorId, MonitorEntry>,
        paused: bool,
        scheduler: &crate::config::SchedulerConfig,
        network: NetworkGuard,
    ) -> Self {
        Scheduler {
            monitors: Mutex::new(monitors),
            tasks: Mutex::new(Tasks::default()),
            limits: Limits {
                global: Arc::new(Semaphore::new(scheduler.max_concurrent_checks as usize)),
                per_host: Mutex::new(HashMap::new()),
                max_per_host: scheduler.max_per_host as usize,
            },
            clients: Arc::new(check::Clients::default()),
            paused: watch::channel(paused).0,
            network,
        }
    }

    /// Whether all monitoring is paused.
    pub(super) fn paused(&self) -> bool {
        *self.paused.borrow()
    }

    pub(super) fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    pub(super) fn watch_paused(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }

    pub(super) fn network(&self) -> &NetworkGuard {
        &self.network
    }

    /// Runs a long-lived task in the engine's set: stopped and awaited on shutdown.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        lock(&self.tasks).set.spawn(task);
    }

    /// Every task, taken to be shut down.
    pub(super) fn take_tasks(&self) -> JoinSet<()> {
        std::mem::take(&mut *lock(&self.tasks)).set
    }

    pub(super) fn ids(&self) -> Vec<MonitorId> {
        lock(&self.monitors).keys().cloned().collect()
    }

    pub(super) fn contains(&self, id: &MonitorId) -> bool {
        lock(&self.monitors).contains_key(id)
    }

    /// The monitor's name as shown, if it exists.
    pub(super) fn name_of(&self, id: &str) -> Option<String> {
        lock(&self.monitors)
            .iter()
            .find(|(m, _)| m.as_str() == id)
            .map(|(_, e)| e.config.name().to_owned())
    }

    /// Whether any monitor is a heartbeat monitor (the listener is wanted).
    pub(super) fn has_heartbeats(&self) -> bool {
        lock(&self.monitors)
            .values()
            .any(|m| m.config.heartbeat.is_some())
    }

    /// A heartbeat monitor's ping channel and last check, for its deadline.
    pub(super) fn heartbeat_start(&self, id: &MonitorId) -> Option<HeartbeatStart> {
        let monitors = lock(&self.monitors);
        let entry = monitors.get(id)?;
        let pinged = entry.pinged.as_ref().map(watch::Sender::subscribe)?;
        Some((pinged, entry.state.last_checked_at))
    }

    /// Where a ping of `id` is announced, or why it cannot be taken.
    pub(super) fn ping_channel(&self, id: &MonitorId) -> Result<watch::Sender<()>> {
        let monitors = lock(&self.monitors);
        let entry = monitors
            .get(id)
            .ok_or_else(|| EngineError::UnknownMonitor(id.0.clone()))?;
        entry
            .pinged
            .clone()
            .ok_or_else(|| EngineError::NotHeartbeat(id.0.clone()))
    }

    /// Whether some monitor is down, unknown or not trusted (the tray's "degraded").
    pub(super) fn any_unwell(&self) -> bool {
        lock(&self.monitors).values().any(|m| {
            m.unknown.is_some()
                || matches!(m.state.status, MonitorStatus::Down | MonitorStatus::Unknown)
        })
    }

    /// Every monitor as the window shows it; `ping` is where heartbeats go.
    pub(super) fn views(&self, ping: Option<&(SocketAddr, String)>) -> Vec<MonitorView> {
        let paused = self.paused();
        lock(&self.monitors)
            .iter()
            .map(|(id, e)| monitor_view(id, e, paused, ping))
            .collect()
    }

    pub(super) fn view(&self, id: &MonitorId, ping: Option<&(SocketAddr, String)>) -> MonitorView {
        let paused = self.paused();
        lock(&self.monitors)
            .get(id)
            .map(|e| monitor_view(id, e, paused, ping))
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

    /// The monitors' part of the tray's one line.
    pub(super) fn summary_line(&self) -> String {
        let paused = self.paused();
        summarize(&lock(&self.monitors), paused)
    }
}

impl Engine {
    /// Starts the task that checks `id` (unless it is paused on its own), replacing any
    /// previous one. `index` of `count` spreads first checks over the interval so a thousand
    /// monitors don't fire in the same millisecond.
    pub(super) fn spawn_monitor(&self, id: &MonitorId, index: u32, count: u32) {
        let scheduler = &self.shared.scheduler;
        let (config, paused) = {
            let monitors = lock(&scheduler.monitors);
            let Some(entry) = monitors.get(id) else {
                return;
            };
            (Arc::clone(&entry.config), entry.paused)
        };
        let mut tasks = lock(&scheduler.tasks);
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
        let scheduler = &self.shared.scheduler;
        {
            let mut st = lock(&scheduler.monitors);
            let wanted: BTreeMap<MonitorId, MonitorConfig> =
                monitors.into_iter().map(|m| (m.id(), m)).collect();
            st.retain(|id, _| {
                let keep = wanted.contains_key(id);
                if !keep {
                    removed.push(id.clone());
                }
                keep
            });
            for (id, config) in wanted {
                match st.get_mut(&id) {
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
                        st.insert(id.clone(), MonitorEntry::new(config, state, paused));
                        restart.push(id);
                    }
                }
            }
        }
        {
            let mut tasks = lock(&scheduler.tasks);
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
        if !self.shared.scheduler.contains(&id) {
            return Err(EngineError::UnknownMonitor(id.0));
        }
        self.shared
            .store
            .set_monitor_paused(id.as_str(), paused)
            .await?;
        if let Some(entry) = lock(&self.shared.scheduler.monitors).get_mut(&id) {
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
        let scheduler = &self.shared.scheduler;
        let host_limit = scheduler
            .limits
            .host(&check::Probe::from_monitor(&monitor).host_key());
        let mut paused = scheduler.paused.subscribe();
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
                let Ok(_slot) = scheduler.limits.global.acquire().await else {
                    return;
                };
                // Boxed, with the probe built for this check only: the check's future and the
                // probe's copies of the URL and conditions exist only while it runs, instead
                // of in every monitor's long-lived task.
                Box::pin(async {
                    check::Probe::from_monitor(&monitor)
                        .run(&scheduler.clients)
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

    /// Notices the machine waking from sleep so the failures that follow are not trusted.
    pub(super) async fn watch_sleep(&self) {
        loop {
            tokio::time::sleep(SLEEP_TICK).await;
            if self.shared.scheduler.network.tick() {
                tracing::info!(
                    "this computer woke from sleep; failures are not trusted for a minute"
                );
                self.refresh_summary();
            }
        }
    }

    /// Folds a result into the monitor's state, persists both, and announces what changed.
    /// Returns whether the monitor is failing but not yet down (so it deserves a fast retry).
    pub(super) async fn record(&self, id: &MonitorId, mut result: CheckResult) -> bool {
        if result.unreachable {
            if let Some(reason) = self.blame_local_network(id).await {
                self.mark_unknown(id, reason);
                return false;
            }
        } else {
            self.shared.scheduler.network.network_works();
        }
        let (config, state, transition, flapping, settled, visible_change, first_failure) = {
            let mut monitors = lock(&self.shared.scheduler.monitors);
            let Some(entry) = monitors.get_mut(id) else {
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
        self.shared.results.enqueue(Pending {
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

    /// Whether an unreachable target is more likely this machine's fault. Other hosts are
    /// probed only when this failure would otherwise open an incident.
    async fn blame_local_network(&self, id: &MonitorId) -> Option<String> {
        let others = {
            let monitors = lock(&self.shared.scheduler.monitors);
            let entry = monitors.get(id)?;
            let would_alert = entry.state.status != MonitorStatus::Down
                && entry.state.consecutive_failures + 1
                    >= entry.config.effective_failure_threshold();
            let own = check::Probe::from_monitor(&entry.config).host_key();
            let mut others: Vec<(String, u16)> = Vec::new();
            if would_alert {
                for other in monitors.values() {
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
        self.shared.scheduler.network.local_problem(others).await
    }

    fn mark_unknown(&self, id: &MonitorId, reason: String) {
        let changed = {
            let mut monitors = lock(&self.shared.scheduler.monitors);
            let Some(entry) = monitors.get_mut(id) else {
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
}

#[derive(Debug, Default)]
struct Tasks {
    set: JoinSet<()>,
    monitors: HashMap<MonitorId, AbortHandle>,
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
pub(super) struct MonitorEntry {
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
    pub(super) fn new(config: MonitorConfig, state: MonitorState, paused: bool) -> Self {
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

/// The monitors' part of the tray's one line.
fn summarize(monitors: &BTreeMap<MonitorId, MonitorEntry>, paused: bool) -> String {
    let total = monitors.len();
    let down: Vec<&str> = monitors
        .values()
        .filter(|m| m.state.status == MonitorStatus::Down)
        .map(|m| m.config.name())
        .collect();
    let offline = monitors.values().find_map(|m| m.unknown.as_deref());
    if total == 0 {
        "No monitors configured".to_owned()
    } else if paused {
        "Monitoring paused".to_owned()
    } else if let Some(reason) = offline {
        format!("Not alerting: {reason}")
    } else if !down.is_empty() {
        format!("{} of {total} down: {}", down.len(), down.join(", "))
    } else if monitors
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
    }
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
