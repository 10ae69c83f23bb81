//! The engine: runs every monitor on the shared tokio runtime, turns results into incidents,
//! decides what to notify, and publishes every change as an [`EngineEvent`].
//!
//! # Rooms
//!
//! [`Engine`] is a façade: it starts the concerns below, routes calls between them and
//! composes what the window and tray read (snapshot, health, summary). Each concern is a
//! type in its own file that owns its state; its fields are private to that file, so other
//! files reach it only through its methods. Cross-concern flows (a result becoming an
//! incident, an incident climbing the ladder) are `impl Engine` blocks in the file of the
//! concern they start from.
//!
//! | file | type | owns |
//! |---|---|---|
//! | `scheduler.rs` | `Scheduler` | monitors (config, state, flap detector, pause, unknown reason, ping channel), every task, the global and per-host limits, the check clients, the global pause, the local network's guard |
//! | `heartbeats.rs` | `Heartbeats` | the listener's settings, address and token; each heartbeat monitor's deadline (the HTTP side is [`crate::heartbeat`], handed a narrow [`crate::heartbeat::Ping`]) |
//! | `results.rs` | `Results` | the batch of routine results waiting, the order batches are written in, history maintenance |
//! | `durable.rs` | `Durable`, `Saving` | incident changes not written yet; whether writes work (shared with `Results`) |
//! | `incidents.rs` | `Incidents` | open incidents as last published, ringing, snoozed, notifications being shown; the ringer; re-trigger window |
//! | `notifications.rs` | `Notifications` | the notifier, the mute, the notification policy's settings |
//! | `feeds.rs` | `Feeds` | the feeds that run and every feed's health |
//! | `ladder.rs` | `Escalation` | the ladder in use and what rebuilds it, ownership timing, whether the configuration is a stand-in |
//! | `team.rs` | `Team` | the team secret and the other laptops' believed claims (presence, pushed starts, ladder reports), the ladders taken over |
//! | `handover.rs` | — | who takes a ladder over when its laptop goes away (a pure rule), and doing it |
//! | `cadence.rs` | `Cadence` | the status publisher and the promised public updates |
//! | `support.rs` | `Support` | the helpdesk and the words the queue searches for |
//! | `oncall.rs` | — | the on-call watcher (its memory lives in its task; the schedule is the injected [`OnCall`]) |
//! | `bulletin.rs` | `Bulletin` | the event channel and the notices: the handle every concern speaks through |
//! | `mod.rs` | `Engine` | identity (`me`), the injected store, schedule and clock, the tray's summary line |
//!
//! # Lock order
//!
//! At most these are held at once, taken in this order:
//! 1. `Durable::backlog` (async): held while waiting changes and a new one are written, and
//!    while a change that cannot be written rings its stand-in;
//! 2. `Results::flushing` (async): held while a batch and the change riding with it are
//!    written (the store's own writer is awaited inside);
//! 3. one of the std mutexes, each a leaf: `Scheduler` monitors / tasks / per-host limits,
//!    `Results` pending, `Saving` failing, `Bulletin` notices, `Notifications` mute,
//!    `Incidents` alerting, `Feeds` health, `Escalation` current ladder (read-write),
//!    `Team` claims, `Cadence` promised, `Heartbeats` address / token, the summary.
//!
//! A std mutex is never held across an `.await`, and never while another std mutex of the
//! engine is taken: each is locked, read or changed, and let go before anything else is
//! called (the ringer and the notifier included). The two async locks are never taken while
//! a std mutex is held.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::sync::broadcast;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::event::{EngineEvent, Health, Snapshot};
use crate::incident::{IncidentState, IncidentView};
use crate::monitor::{MonitorId, MonitorView};
use crate::mute::{Mute, MuteChoice};
use crate::network::{LocalNetwork, NetworkGuard, SystemNetwork};
use crate::notify::{Notification, Notifier};
use crate::policy::OnCall;
use crate::store::{Store, StoreError};

/// Incidents listed in a snapshot.
const RECENT_INCIDENTS: usize = 50;

mod bulletin;
mod cadence;
mod durable;
mod feeds;
mod handover;
mod heartbeats;
mod incidents;
mod ladder;
mod notifications;
mod oncall;
mod results;
mod scheduler;
mod status;
mod supervise;
mod support;
mod team;

pub use crate::feed::FeedHealth;
pub use crate::status::UpdatePromise;
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
    pub ringer: Option<Arc<dyn crate::alarm::Ringer>>,
    /// The escalation ladder's channels (chat, SMS, …); a step whose channel is missing
    /// fails with a clear note on the timeline.
    pub channels: Vec<Arc<dyn crate::deliver::Deliver>>,
    /// How long a heartbeat client may take and how many may connect at once.
    pub heartbeat_limits: crate::heartbeat::Limits,
    /// Where "now" is read for incidents, the ladder and heartbeats; the system clock unless
    /// a test moves its own.
    pub clock: Option<Arc<dyn Clock>>,
}

/// Handle to the running engine; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// The concerns, each owning its state (see the module's table), and what they all share.
#[derive(Debug)]
struct Shared {
    /// How this machine's person is named on timelines ("Alice Smith").
    me: String,
    demo: bool,
    store: Store,
    oncall: Arc<dyn OnCall>,
    clock: Arc<dyn Clock>,
    bulletin: Arc<bulletin::Bulletin>,
    notifications: notifications::Notifications,
    scheduler: scheduler::Scheduler,
    heartbeats: heartbeats::Heartbeats,
    results: results::Results,
    durable: durable::Durable,
    incidents: incidents::Incidents,
    feeds: feeds::Feeds,
    escalation: ladder::Escalation,
    team: team::Team,
    cadence: cadence::Cadence,
    support: support::Support,
    /// The tray's one line as last published. Leaf lock.
    summary: Mutex<String>,
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
        let support = support::Support::new(intercom.as_ref(), status.as_ref());
        let publisher = status.map(|status| {
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
        let feeds = feeds::Feeds::new(feed_configs.clone());
        let escalation = ladder::Escalation::new(
            escalation,
            fixed_channels,
            feed_configs,
            feeds.pushes(),
            |times| feeds.polls(times),
            options.demo || options.config_failed,
        );
        // Moved, not cloned: with thousands of monitors a second copy is megabytes.
        let monitors: BTreeMap<MonitorId, scheduler::MonitorEntry> = monitors
            .into_iter()
            .map(|m| {
                let id = m.id();
                let state = saved.remove(&id).unwrap_or_default();
                let one_paused = paused_monitors.contains(id.as_str());
                (id, scheduler::MonitorEntry::new(m, state, one_paused))
            })
            .collect();
        let network = NetworkGuard::new(
            options
                .network
                .unwrap_or_else(|| Arc::new(SystemNetwork) as Arc<dyn LocalNetwork>),
        );
        let bulletin = Arc::new(bulletin::Bulletin::new(notices));
        let saving = Arc::new(durable::Saving::new(Arc::clone(&bulletin)));
        let shared = Arc::new(Shared {
            me: me
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| "you".to_owned()),
            demo: options.demo,
            clock: options.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            oncall: options
                .oncall
                .unwrap_or_else(|| Arc::new(crate::policy::NoSchedule)),
            notifications: notifications::Notifications::new(
                notifications,
                notifier,
                mute,
                Arc::clone(&bulletin),
            ),
            scheduler: scheduler::Scheduler::new(monitors, paused, &scheduler, network),
            heartbeats: heartbeats::Heartbeats::new(heartbeats, options.heartbeat_limits),
            results: results::Results::new(store.clone(), history.keep_raw, Arc::clone(&saving)),
            durable: durable::Durable::new(saving),
            incidents: incidents::Incidents::new(
                options.ringer,
                time::Duration::try_from(incidents.retrigger_within).unwrap_or(time::Duration::MAX),
            ),
            feeds,
            escalation,
            team: team::Team::new(team_key, claim_fresh_for),
            cadence: cadence::Cadence::new(publisher),
            support,
            store,
            bulletin,
            summary: Mutex::new(String::new()),
        });
        let engine = Engine { shared };
        engine.refresh_summary();
        engine.spawn_loops();
        let ids = engine.shared.scheduler.ids();
        let count = ids.len().max(1) as u32;
        for (index, id) in ids.iter().enumerate() {
            engine.spawn_monitor(id, index as u32, count);
        }
        engine.ensure_heartbeat_listener();
        Ok(engine)
    }

    /// Starts the long-running loops. Every one is supervised: one that panics is restarted
    /// and the user is told, rather than the ladder or a feed falling silent.
    fn spawn_loops(&self) {
        let tasks = &self.shared.scheduler;
        tasks.spawn(self.supervised("history maintenance", |e| async move {
            e.shared.results.maintain_history().await;
        }));
        tasks.spawn(self.supervised("the result writer", |e| async move {
            e.shared.results.run().await;
        }));
        tasks.spawn(
            self.supervised("the retry of unsaved changes", |e| async move {
                e.retry_unsaved().await;
            }),
        );
        // Subscribed now, so a fault before the task first runs is still heard; a restart
        // subscribes again.
        let first = Mutex::new(Some(self.shared.store.faults()));
        tasks.spawn(self.supervised("the store's fault reports", move |e| {
            let faults = lock(&first).take();
            async move {
                let faults = faults.unwrap_or_else(|| e.shared.store.faults());
                results::report_store_faults(faults, &e.shared.bulletin).await;
            }
        }));
        tasks.spawn(self.supervised("the sleep watcher", |e| async move {
            e.watch_sleep().await;
        }));
        tasks.spawn(self.supervised("the incident watcher", |e| async move {
            e.recover_incidents().await;
            e.watch_incidents().await;
        }));
        tasks.spawn(self.supervised("the escalation ladder", |e| async move {
            e.run_ladder().await;
        }));
        tasks.spawn(self.supervised("the promised updates", |e| async move {
            e.run_cadence().await;
        }));
        for (index, name) in self.shared.feeds.running().into_iter().enumerate() {
            let what = format!("the feed {name:?}");
            tasks.spawn(self.supervised(what, move |e| async move {
                e.run_feed(index).await;
            }));
        }
        if let Some(changes) = self.shared.oncall.subscribe() {
            tasks.spawn(self.supervised("the on-call watcher", move |e| {
                let changes = changes.clone();
                async move { e.watch_oncall(changes).await }
            }));
        }
    }

    /// Now, for incidents, the ladder and heartbeats.
    fn now(&self) -> OffsetDateTime {
        self.shared.clock.now()
    }

    /// Shows a notification about a monitor (not an incident) unless notifications are off
    /// or muted.
    async fn notify(&self, notification: Notification) {
        self.shared
            .notifications
            .notify(notification, self.now())
            .await;
    }

    /// Adds a message about Foghorn itself for the window to show.
    pub fn add_notice(&self, notice: String) {
        self.shared.bulletin.add_notice(notice);
    }

    fn publish(&self, event: EngineEvent) {
        self.shared.bulletin.publish(event);
    }

    /// Events from now on. A slow subscriber that lags loses events and should re-read
    /// [`Engine::snapshot`].
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.shared.bulletin.subscribe()
    }

    fn view(&self, id: &MonitorId) -> MonitorView {
        let ping = self.ping_base();
        self.shared.scheduler.view(id, ping.as_ref())
    }

    fn views(&self) -> Vec<MonitorView> {
        let ping = self.ping_base();
        self.shared.scheduler.views(ping.as_ref())
    }

    /// Where heartbeats go and the token they carry, once the listener has both.
    fn ping_base(&self) -> Option<(SocketAddr, String)> {
        self.shared.heartbeats.ping_base()
    }

    pub fn snapshot(&self) -> Result<Snapshot> {
        let incidents = self.shared.store.recent_incidents(RECENT_INCIDENTS)?;
        let paused = self.paused();
        let now = self.now();
        let monitors = self.views();
        let ringing = self.ringing();
        let oncall = self.shared.oncall.status(now);
        let on_call = oncall
            .as_ref()
            .map_or_else(|| self.on_call(), |s| s.you_are_on_call);
        Ok(Snapshot {
            ringing,
            on_call,
            oncall,
            feeds: self.feed_health(),
            monitors,
            incidents,
            mute: self.shared.notifications.mute(now),
            paused,
            summary: self.summary(),
            demo: self.shared.demo,
            notices: self.shared.bulletin.notices(),
            promises: self.promises(),
        })
    }

    pub async fn set_mute(&self, choice: MuteChoice) -> Result<Mute> {
        let mute = Mute::from_choice(choice, self.now());
        self.shared.store.set_mute(mute).await?;
        self.shared.notifications.set_mute(mute);
        tracing::info!(?mute, "mute changed");
        self.publish(EngineEvent::Mute { mute });
        self.refresh_summary();
        Ok(mute)
    }

    pub async fn set_paused(&self, paused: bool) -> Result<bool> {
        self.shared.store.set_paused(paused).await?;
        self.shared.scheduler.set_paused(paused);
        tracing::info!(paused, "monitoring paused/resumed");
        self.publish(EngineEvent::Paused { paused });
        self.publish(EngineEvent::Monitors {
            monitors: self.views(),
        });
        self.refresh_summary();
        Ok(paused)
    }

    pub fn paused(&self) -> bool {
        self.shared.scheduler.paused()
    }

    pub fn mute(&self) -> Mute {
        self.shared.notifications.mute(self.now())
    }

    /// Overall health for the tray icon.
    pub fn health(&self) -> Health {
        let now = self.now();
        let paused = self.paused();
        // Read before anything is locked: monitor tasks must never wait on a query.
        let open: Vec<IncidentView> = self
            .shared
            .store
            .recent_incidents(RECENT_INCIDENTS)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i.state != IncidentState::Resolved)
            .collect();
        let ringing = !self.ringing().is_empty();
        if ringing {
            // The alarm breaking through a mute shows as what it is.
            Health::Alarm
        } else if self.shared.notifications.muted(now) {
            Health::Muted
        } else if open
            .iter()
            .any(|i| i.state == IncidentState::Triggered && !i.snoozed(now))
        {
            Health::Alarm
        } else if paused
            || !self.shared.feeds.not_running().is_empty()
            || !open.is_empty()
            || self.shared.scheduler.any_unwell()
        {
            Health::Degraded
        } else {
            Health::Ok
        }
    }

    /// The one-line summary (tray tooltip, window header).
    pub fn summary(&self) -> String {
        lock(&self.shared.summary).clone()
    }

    /// Recomputes the tray's one line: the monitors, feeds that could not be started (missing
    /// alerts must show where people look, not only in a log), on call, the mute, and the
    /// next public update.
    fn refresh_summary(&self) {
        let now = self.now();
        let oncall = self.shared.oncall.status(now);
        let mut line = self.shared.scheduler.summary_line();
        match self.shared.feeds.not_running().as_slice() {
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
        match self.shared.notifications.mute(now) {
            Mute::Off => {}
            Mute::Indefinite => line.push_str(" · muted"),
            Mute::Until { until } => {
                line.push_str(&format!(
                    " · muted until {}",
                    crate::time_fmt::local_hm(until)
                ));
            }
        }
        if let Some(countdown) = self.shared.cadence.summary(now) {
            line.push_str(" · ");
            line.push_str(&countdown);
        }
        let changed = std::mem::replace(&mut *lock(&self.shared.summary), line.clone()) != line;
        if changed {
            self.publish(EngineEvent::Summary { summary: line });
        }
    }

    /// Stops every monitor and writes the results still waiting for a batch.
    pub async fn shutdown(&self) {
        let mut tasks = self.shared.scheduler.take_tasks();
        tasks.shutdown().await;
        self.shared.results.flush_pending().await;
        self.save_before_exit().await;
    }
}

/// Locks a mutex, recovering from poisoning: a panicked monitor task must not take the
/// whole engine down with it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
