//! The engine: runs every monitor on the shared tokio runtime, turns results into incidents,
//! decides what to notify, and publishes every change as an [`EngineEvent`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

use crate::check::{self, CheckResult};
use crate::config::{Config, MonitorConfig};
use crate::event::{EngineEvent, Health, Snapshot};
use crate::flap::{FlapDetector, Flapping};
use crate::incident::{IncidentState, IncidentView};
use crate::monitor::{MonitorId, MonitorState, MonitorStatus, MonitorView, Transition};
use crate::mute::{Mute, MuteChoice};
use crate::notify::{Notification, Notifier};
use crate::store::{self, OpenedIncident, Store, StoreError};

/// How soon a failing check is repeated, so a real outage is confirmed in seconds rather
/// than a full interval later.
const FAST_RETRY: Duration = Duration::from_secs(5);
/// How often complete hours are rolled up and old raw results pruned.
const HISTORY_MAINTENANCE: Duration = Duration::from_secs(300);
/// Incidents listed in a snapshot.
const RECENT_INCIDENTS: usize = 50;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// Options that are not part of the config file.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Running the bundled demo configuration.
    pub demo: bool,
    /// Things to tell the user from the start (e.g. "history is not being saved").
    pub notices: Vec<String>,
}

/// Handle to the running engine; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: Config,
    store: Store,
    notifier: Arc<dyn Notifier>,
    events: broadcast::Sender<EngineEvent>,
    paused: watch::Sender<bool>,
    state: Mutex<State>,
    tasks: Mutex<JoinSet<()>>,
    demo: bool,
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
    config: MonitorConfig,
    state: MonitorState,
    flap: FlapDetector,
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
        let mute = store.mute()?;
        let monitors = config
            .monitors
            .iter()
            .map(|m| {
                let id = m.id();
                let state = saved.remove(&id).unwrap_or_default();
                let flap =
                    m.flap
                        .as_ref()
                        .map_or(FlapDetector::new(0, time::Duration::ZERO), |f| {
                            FlapDetector::new(
                                f.changes as usize,
                                time::Duration::try_from(f.within).unwrap_or(time::Duration::MAX),
                            )
                        });
                (
                    id,
                    MonitorEntry {
                        config: m.clone(),
                        state,
                        flap,
                    },
                )
            })
            .collect();
        let (events, _) = broadcast::channel(1024);
        let (paused_tx, _) = watch::channel(paused);
        let shared = Arc::new(Shared {
            config,
            store,
            notifier,
            events,
            paused: paused_tx,
            state: Mutex::new(State {
                monitors,
                mute,
                notices: options.notices,
                notify_failed: false,
                summary: String::new(),
            }),
            tasks: Mutex::new(JoinSet::new()),
            demo: options.demo,
        });
        let engine = Engine { shared };
        engine.refresh_summary();
        engine.spawn_monitors();
        Ok(engine)
    }

    fn spawn_monitors(&self) {
        let clients = Arc::new(check::Clients::default());
        let count = self.shared.config.monitors.len().max(1) as u32;
        let mut tasks = lock(&self.shared.tasks);
        let engine = self.clone();
        tasks.spawn(async move { engine.maintain_history().await });
        for (index, monitor) in self.shared.config.monitors.iter().enumerate() {
            // Spread first checks over the shortest interval so a thousand monitors don't
            // fire in the same millisecond.
            let spread = monitor.interval.min(Duration::from_secs(10)) / count * index as u32;
            let engine = self.clone();
            let clients = Arc::clone(&clients);
            let monitor = monitor.clone();
            tasks.spawn(async move { engine.run_monitor(monitor, clients, spread).await });
        }
    }

    async fn run_monitor(
        &self,
        monitor: MonitorConfig,
        clients: Arc<check::Clients>,
        first: Duration,
    ) {
        let id = monitor.id();
        let probe = check::Probe::from_monitor(&monitor);
        let mut paused = self.shared.paused.subscribe();
        tokio::time::sleep(first).await;
        loop {
            if *paused.borrow_and_update() {
                if paused.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let result = probe.run(&clients).await;
            // A pause that arrived during the check wins: its result would be stale.
            if *paused.borrow() {
                continue;
            }
            let retry_soon = self.record(&id, result).await;
            let wait = if retry_soon {
                FAST_RETRY.min(monitor.interval)
            } else {
                monitor.interval
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = paused.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Keeps the database small: roll-ups, then retention, every few minutes.
    async fn maintain_history(&self) {
        let keep_raw =
            i64::try_from(self.shared.config.history.keep_raw.as_millis()).unwrap_or(i64::MAX);
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
    async fn record(&self, id: &MonitorId, result: CheckResult) -> bool {
        let (config, state, transition, flapping, settled) = {
            let mut st = lock(&self.shared.state);
            let Some(entry) = st.monitors.get_mut(id) else {
                return false;
            };
            let transition = entry.state.apply(
                &result,
                entry.config.failure_threshold,
                entry.config.success_threshold,
            );
            let (flapping, settled) = match transition {
                Transition::None => (Flapping::No, entry.flap.settle(result.at)),
                _ => (entry.flap.change(result.at), false),
            };
            (
                entry.config.clone(),
                entry.state.clone(),
                transition,
                flapping,
                settled,
            )
        };
        let retry_soon = !result.ok && state.status != MonitorStatus::Down;
        let now_up = state.status == MonitorStatus::Up;
        let dedup_key = format!("monitor:{id}");
        let write_id = id.clone();
        let title = format!("{} is down", config.name());
        let severity = config.severity;
        let evidence = result.error.clone().unwrap_or_default();
        let at = result.at;
        let job = move |tx: &rusqlite::Transaction<'_>| {
            store::record_result(tx, &write_id, &result, &state)?;
            match transition {
                Transition::WentDown => Ok(Some(store::open_incident(
                    tx, &dedup_key, &title, severity, at, &evidence,
                )?)),
                Transition::CameUp { down_for } => {
                    let detail =
                        format!("back up after {}", crate::notify::human_duration(down_for));
                    Ok(store::resolve_incident(tx, &dedup_key, at, &detail)?
                        .map(OpenedIncident::Existing))
                }
                Transition::None => Ok(None),
            }
        };
        // An incident opening or closing must survive a power cut; a routine result need not.
        let written = if transition == Transition::None {
            self.shared.store.write_relaxed(job).await
        } else {
            self.shared.store.write(job).await
        };
        let incident = match written {
            Ok(incident) => incident,
            Err(e) => {
                tracing::error!(monitor = %id, error = %e, "cannot save a check result");
                None
            }
        };
        self.publish(EngineEvent::Monitor {
            monitor: self.view(id),
        });
        if settled {
            self.notify(Notification::settled(config.name(), now_up))
                .await;
        }
        if let Flapping::Started { changes } = flapping {
            let within = config.flap.as_ref().map_or(Duration::ZERO, |f| f.within);
            tracing::warn!(monitor = %id, changes, "monitor flapping");
            self.notify(Notification::flapping(
                config.name(),
                changes,
                time::Duration::try_from(within).unwrap_or(time::Duration::MAX),
            ))
            .await;
        }
        let quiet = flapping != Flapping::No;
        match (&transition, incident) {
            (Transition::WentDown, Some(OpenedIncident::New(incident))) if quiet => {
                self.publish(EngineEvent::Incident { incident });
            }
            (Transition::CameUp { .. }, Some(OpenedIncident::Existing(incident))) if quiet => {
                self.publish(EngineEvent::Incident { incident });
            }
            (Transition::WentDown, Some(OpenedIncident::New(incident))) => {
                tracing::warn!(monitor = %id, incident = incident.id, "monitor down");
                let last_error = lock(&self.shared.state)
                    .monitors
                    .get(id)
                    .and_then(|m| m.state.last_error.clone());
                self.publish(EngineEvent::Incident { incident });
                self.notify(Notification::down(
                    config.name(),
                    config.severity,
                    last_error.as_deref(),
                ))
                .await;
            }
            (Transition::CameUp { down_for }, Some(OpenedIncident::Existing(incident))) => {
                tracing::info!(monitor = %id, incident = incident.id, "monitor back up");
                self.publish(EngineEvent::Incident { incident });
                self.notify(Notification::up(config.name(), *down_for))
                    .await;
            }
            _ => {}
        }
        self.refresh_summary();
        retry_soon
    }

    /// Shows `notification` unless muted. Native notification calls may block (D-Bus), so
    /// they run off the async workers.
    async fn notify(&self, notification: Notification) {
        if !self.shared.config.notifications.enabled {
            return;
        }
        let now = OffsetDateTime::now_utc();
        if lock(&self.shared.state).mute.is_active(now) {
            tracing::info!(title = %notification.title, "muted: notification not shown");
            return;
        }
        let notifier = Arc::clone(&self.shared.notifier);
        let shown = tokio::task::spawn_blocking(move || {
            let outcome = notifier.show(&notification);
            (notification, outcome)
        })
        .await;
        let Ok((notification, outcome)) = shown else {
            return;
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, title = %notification.title, "notification not shown");
            let first = {
                let mut st = lock(&self.shared.state);
                !std::mem::replace(&mut st.notify_failed, true)
            };
            if first {
                self.add_notice(format!("{e}. Alerts show here and in the log."));
            }
        }
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
        let st = lock(&self.shared.state);
        let paused = *self.shared.paused.borrow();
        st.monitors
            .get(id)
            .map(|e| monitor_view(id, e, paused))
            .unwrap_or_else(|| MonitorView {
                id: id.to_string(),
                name: id.to_string(),
                target: String::new(),
                status: MonitorStatus::Unknown,
                last_checked_at: None,
                latency_ms: None,
                last_error: None,
                since: None,
            })
    }

    pub fn snapshot(&self) -> Result<Snapshot> {
        let incidents = self.shared.store.recent_incidents(RECENT_INCIDENTS)?;
        let paused = *self.shared.paused.borrow();
        let now = OffsetDateTime::now_utc();
        let st = lock(&self.shared.state);
        Ok(Snapshot {
            monitors: st
                .monitors
                .iter()
                .map(|(id, e)| monitor_view(id, e, paused))
                .collect(),
            incidents,
            mute: st.mute.current(now),
            paused,
            summary: st.summary.clone(),
            demo: self.shared.demo,
            notices: st.notices.clone(),
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
        let ids: Vec<MonitorId> = lock(&self.shared.state).monitors.keys().cloned().collect();
        for id in ids {
            self.publish(EngineEvent::Monitor {
                monitor: self.view(&id),
            });
        }
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
        let st = lock(&self.shared.state);
        if st.mute.is_active(now) {
            Health::Muted
        } else if open.iter().any(|i| i.state == IncidentState::Triggered) {
            Health::Alarm
        } else if paused
            || !open.is_empty()
            || st
                .monitors
                .values()
                .any(|m| matches!(m.state.status, MonitorStatus::Down | MonitorStatus::Unknown))
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
        let summary = {
            let st = lock(&self.shared.state);
            summarize(&st, paused, now)
        };
        let changed = {
            let mut st = lock(&self.shared.state);
            std::mem::replace(&mut st.summary, summary.clone()) != summary
        };
        if changed {
            self.publish(EngineEvent::Summary { summary });
        }
    }

    /// Stops every monitor. Writes already handed to the database still complete.
    pub async fn shutdown(&self) {
        let mut tasks = std::mem::take(&mut *lock(&self.shared.tasks));
        tasks.shutdown().await;
    }
}

fn summarize(st: &State, paused: bool, now: OffsetDateTime) -> String {
    let total = st.monitors.len();
    let down: Vec<&str> = st
        .monitors
        .values()
        .filter(|m| m.state.status == MonitorStatus::Down)
        .map(|m| m.config.name())
        .collect();
    let mut line = if total == 0 {
        "No monitors configured".to_owned()
    } else if paused {
        "Monitoring paused".to_owned()
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

fn monitor_view(id: &MonitorId, entry: &MonitorEntry, paused: bool) -> MonitorView {
    let s = &entry.state;
    MonitorView {
        id: id.to_string(),
        name: entry.config.name().to_owned(),
        target: entry.config.url.clone(),
        status: if paused {
            MonitorStatus::Paused
        } else {
            s.status
        },
        last_checked_at: s.last_checked_at,
        latency_ms: s.latency_ms,
        last_error: s.last_error.clone(),
        since: s.since,
    }
}

/// Locks a mutex, recovering from poisoning: a panicked monitor task must not take the
/// whole engine down with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
