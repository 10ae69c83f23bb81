//! Feeds as signals: each feed is polled on its own timer; what fires becomes (or joins) an
//! incident, what clears resolves it, an acknowledgement in the vendor acknowledges here and
//! one made here is written back. A failed poll changes nothing (no phantom resolve); a feed
//! that keeps failing becomes an incident of its own, since silently missing alerts is the
//! worst failure. Foghorn's own monitor incidents are pushed to feeds that take them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use time::OffsetDateTime;
use tokio::sync::Notify;

use super::{lock, Engine};
use crate::config::FeedConfig;
use crate::event::EngineEvent;
use crate::feed::{Feed, FeedAlert, FeedAlertState, FeedHealth, PushedIncident};
use crate::incident::{
    IncidentAction, IncidentState, IncidentView, Severity, Signal, TimelineKind,
};

/// The longest an announcement made out of turn (see [`Engine::announce_now`]) is waited for.
const ANNOUNCE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A configured feed and what the engine remembers of it between polls.
#[derive(Debug)]
struct FeedEntry {
    config: FeedConfig,
    feed: Arc<dyn Feed>,
    /// Woken when an incident is acknowledged here, so the acknowledgement reaches the vendor
    /// at once instead of at the next poll (up to `poll_every` later). A wake while the feed
    /// is busy is kept and served when it is done.
    acknowledged: Notify,
}

/// The feeds that started and every feed's health.
#[derive(Debug)]
pub(super) struct Feeds {
    entries: Vec<FeedEntry>,
    /// Leaf lock.
    health: Mutex<BTreeMap<String, FeedHealth>>,
}

impl Feeds {
    /// Builds each configured feed. A feed that cannot start is kept in the health list, so
    /// the window and the tray's summary say it is not running for as long as that lasts
    /// (not a log line only).
    pub(super) fn new(configs: Vec<FeedConfig>) -> Self {
        let mut entries = Vec::new();
        let mut not_running = BTreeMap::new();
        for config in configs {
            match crate::feed::from_config(&config) {
                Ok(feed) => entries.push(FeedEntry {
                    config,
                    feed,
                    acknowledged: Notify::new(),
                }),
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
        Feeds {
            entries,
            health: Mutex::new(not_running),
        }
    }

    /// Tells every feed that an incident was acknowledged here, to write it back now.
    pub(super) fn acknowledged(&self) {
        for entry in &self.entries {
            entry.acknowledged.notify_one();
        }
    }

    /// The names of the feeds that run, by index.
    pub(super) fn running(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|f| f.feed.name().to_owned())
            .collect()
    }

    /// Whether some feed takes Foghorn's own incidents (the ladder's owner is decided
    /// through it).
    pub(super) fn pushes(&self) -> bool {
        self.entries
            .iter()
            .any(|f| f.config.push && f.config.kind == crate::config::FeedKind::Alertmanager)
    }

    /// The last time a feed that takes Foghorn's own incidents (where the team's presence is
    /// read) answered a poll.
    pub(super) fn last_pushing_poll(&self) -> Option<OffsetDateTime> {
        let health = lock(&self.health);
        self.entries
            .iter()
            .filter(|e| e.config.push)
            .filter_map(|e| health.get(e.feed.name()).and_then(|h| h.last_ok_at))
            .max()
    }

    /// The longest `times` polls of any feed take, for deciding whose laptop climbs a ladder.
    pub(super) fn polls(&self, times: u32) -> time::Duration {
        self.entries
            .iter()
            .map(|f| f.config.poll_every.saturating_mul(times))
            .max()
            .and_then(|d| time::Duration::try_from(d).ok())
            .unwrap_or_default()
    }

    /// Every configured feed's health by name, a feed whose first poll has not answered yet
    /// included (running, not ok, no failures), so the window lists every feed from the start.
    pub(super) fn health(&self) -> Vec<FeedHealth> {
        let mut all = lock(&self.health).clone();
        for entry in &self.entries {
            let name = crate::feed::name_of(&entry.config);
            if !all.contains_key(&name) {
                all.insert(name.clone(), FeedHealth::waiting(name, entry.config.kind));
            }
        }
        all.into_values().collect()
    }

    /// Feeds that could not be started: missing alerts must show where people look.
    pub(super) fn not_running(&self) -> Vec<String> {
        lock(&self.health)
            .values()
            .filter(|h| !h.running)
            .map(|h| h.name.clone())
            .collect()
    }
}

#[derive(Debug, Default)]
struct Seen {
    /// Alerts firing at the last successful poll, by signal key.
    firing: HashMap<String, FeedAlert>,
    /// Alerts acknowledged in the vendor by Foghorn, so each is written once.
    acked: HashSet<String>,
    /// Own incidents pushed while open, to push their end once.
    pushed: HashSet<String>,
    unreachable_raised: bool,
}

fn signal_key(feed: &str, alert: &FeedAlert) -> String {
    format!("feed:{feed}:{}", alert.key)
}

/// Which incident an alert belongs to: Foghorn's own pushed alert joins the monitor's incident
/// (`dedup_key` label), `group_by` labels group, else each alert is its own.
fn group_key(feed: &str, config: &FeedConfig, alert: &FeedAlert) -> String {
    if alert.labels.get("source").map(String::as_str) == Some("foghorn") {
        if let Some(key) = alert.labels.get("dedup_key") {
            return key.clone();
        }
    }
    if config.group_by.is_empty() {
        return signal_key(feed, alert);
    }
    let values: Vec<&str> = config
        .group_by
        .iter()
        .map(|l| alert.labels.get(l).map_or("", String::as_str))
        .collect();
    format!("feed:{feed}:group:{}", values.join("/"))
}

fn evidence(alert: &FeedAlert) -> String {
    let labels: Vec<String> = alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut lines = vec![format!(
        "{} (since {})",
        alert.title,
        crate::time_fmt::rfc3339(alert.started_at)
    )];
    if !labels.is_empty() {
        lines.push(labels.join(", "));
    }
    if let Some(link) = &alert.link {
        lines.push(link.clone());
    }
    lines.join("\n")
}

/// How many polls a failed one costs: itself, and each poll a rate limit's wait skips. A feed
/// told to wait an hour is an hour of alerts nobody sees, so it reaches `unreachable_after`
/// (the "you might be missing alerts" incident) as if those polls had failed.
fn polls_missed(wait: Option<std::time::Duration>, every: std::time::Duration) -> u32 {
    let skipped = wait.map_or(0, |w| w.as_millis() / every.as_millis().max(1));
    u32::try_from(skipped).unwrap_or(u32::MAX).saturating_add(1)
}

impl Engine {
    /// Polls one feed forever.
    pub(super) async fn run_feed(&self, index: usize) {
        let Some(entry) = self.shared.feeds.entries.get(index) else {
            return;
        };
        let name = entry.feed.name().to_owned();
        let mut seen = Seen::default();
        // Signals of this feed still open from before a restart: they clear like any other.
        let open = self.shared.store.open_signals(&name).unwrap_or_default();
        for key in open {
            seen.firing.insert(
                key.clone(),
                FeedAlert {
                    key: key.clone(),
                    title: String::new(),
                    severity: Severity::Major,
                    state: FeedAlertState::Firing,
                    link: None,
                    labels: BTreeMap::new(),
                    started_at: self.now(),
                    signature: None,
                    starts: BTreeMap::new(),
                    ladders: None,
                },
            );
        }
        let mut tick = tokio::time::interval(entry.config.poll_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = entry.acknowledged.notified() => {
                    // Only what the last poll saw is written back; the next poll goes on as
                    // scheduled.
                    self.sync_acks(entry, &name, &mut seen).await;
                    continue;
                }
            }
            if let Some(wait) = self.poll_feed(entry, &name, &mut seen).await {
                // Told to slow down: the next poll waits as long as the vendor asked.
                tracing::info!(feed = %name, ?wait, "feed rate-limited; waiting");
                tokio::time::sleep(wait).await;
                tick.reset();
            }
            let starts = self.push_to_feed(entry, &mut seen).await;
            if entry.config.push {
                self.announce(entry, &starts).await;
            }
        }
    }

    /// Says on `entry` that this laptop's Foghorn runs, with the signed `starts` of its
    /// pushed incidents and its ladder report.
    async fn announce(&self, entry: &FeedEntry, starts: &BTreeMap<String, String>) {
        let now = self.now();
        let until = crate::deadline::after(now, self.ladder().config.online_within);
        let team = &self.shared.team;
        let signature = team.presence_signature(&self.shared.me, until);
        let report = self.ladder_report(now);
        let ladders = team.ladders_annotation(&self.shared.me, &report);
        match entry
            .feed
            .announce(
                &self.shared.me,
                until,
                signature.as_deref(),
                starts,
                Some(&ladders),
            )
            .await
        {
            Ok(()) | Err(crate::feed::FeedError::Unsupported { .. }) => {}
            Err(e) => tracing::debug!(error = %e, "cannot say this Foghorn is online"),
        }
    }

    /// Announces this laptop's presence and ladder report on every feed that takes pushes,
    /// now rather than at each feed's next poll (a step is told before it is sent; a ladder
    /// taken over is told at once). Bounded: an unreachable feed must not hold the ladder up.
    pub(super) async fn announce_now(&self) {
        let now = self.now();
        let starts: BTreeMap<String, String> = self
            .open_incidents()
            .iter()
            .filter(|i| i.dedup_key.starts_with("monitor:"))
            .filter_map(|i| {
                let (_, signature) = self.shared.team.start_to_push(i, now);
                signature.map(|s| (i.dedup_key.clone(), s))
            })
            .collect();
        for entry in self.shared.feeds.entries.iter().filter(|e| e.config.push) {
            let told = tokio::time::timeout(ANNOUNCE_WAIT, self.announce(entry, &starts)).await;
            if told.is_err() {
                tracing::debug!(feed = entry.feed.name(), "announcing took too long");
            }
        }
    }

    /// One poll and what follows from it; `Some(wait)` when the vendor asked to slow down.
    async fn poll_feed(
        &self,
        entry: &FeedEntry,
        name: &str,
        seen: &mut Seen,
    ) -> Option<std::time::Duration> {
        let started = Instant::now();
        let polled = entry.feed.poll().await;
        let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let now = self.now();
        let previous = lock(&self.shared.feeds.health).get(name).cloned();
        let mut health = previous
            .clone()
            .unwrap_or_else(|| FeedHealth::waiting(name.to_owned(), entry.config.kind));
        let poll = match polled {
            Ok(poll) => {
                health.ok = true;
                health.last_ok_at = Some(now);
                health.error = None;
                health.latency_ms = Some(latency);
                health.failures = 0;
                health.alerts = u32::try_from(poll.alerts.len()).unwrap_or(u32::MAX);
                poll
            }
            Err(e) => {
                tracing::warn!(feed = name, error = %e, "feed poll failed");
                let wait = match &e {
                    crate::feed::FeedError::RateLimited { retry_after, .. } => Some(*retry_after),
                    _ => None,
                };
                health.ok = false;
                health.error = Some(e.to_string());
                health.failures = health
                    .failures
                    .saturating_add(polls_missed(wait, entry.config.poll_every));
                self.set_health(previous.as_ref(), health.clone());
                if health.failures >= entry.config.unreachable_after && !seen.unreachable_raised {
                    seen.unreachable_raised = true;
                    let since = health
                        .last_ok_at
                        .map(|t| crate::notify::human_duration(now - t))
                        .unwrap_or_else(|| "its first poll".to_owned());
                    let what = if health.last_ok_at.is_some() {
                        format!("for {since}")
                    } else {
                        format!("since {since}")
                    };
                    self.signal_fired(
                        Signal {
                            dedup_key: format!("feed:{name}:health"),
                            group_key: format!("feed:{name}:health"),
                            source: "foghorn".to_owned(),
                            origin: format!("feed {name}"),
                            summary: format!(
                                "You might be missing alerts: {name} unreachable {what}"
                            ),
                            severity: Severity::Major,
                            link: None,
                            at: now,
                            evidence: e.to_string(),
                            auto_resolve: true,
                        },
                        Some(e.to_string()),
                        false,
                    )
                    .await;
                }
                return wait;
            }
        };
        self.set_health(previous.as_ref(), health);
        if std::mem::take(&mut seen.unreachable_raised) {
            self.signal_cleared(
                format!("feed:{name}:health"),
                now,
                format!("feed {name}"),
                format!("{name} answers again"),
                false,
            )
            .await;
        }

        let mut firing_now: HashMap<String, FeedAlert> = HashMap::new();
        for alert in poll.alerts {
            if alert.state == FeedAlertState::Resolved {
                continue;
            }
            if alert.labels.get("alertname").map(String::as_str)
                == Some(crate::feed::alertmanager::PRESENCE_ALERTNAME)
            {
                self.take_presence(name, &alert, now);
                continue;
            }
            if alert.labels.get("source").map(String::as_str) == Some("foghorn") {
                self.take_pushed_start(name, &alert, now).await;
            }
            let key = signal_key(name, &alert);
            let new = !seen.firing.contains_key(&key)
                || seen.firing.get(&key).is_some_and(|a| a.title.is_empty());
            if new {
                let signal = Signal {
                    dedup_key: key.clone(),
                    group_key: group_key(name, &entry.config, &alert),
                    source: name.to_owned(),
                    origin: name.to_owned(),
                    summary: alert.title.clone(),
                    severity: alert.severity,
                    link: alert.link.clone(),
                    // Another laptop's pushed outage opening this laptop's incident dates it
                    // from now: taking the other laptop's start would make this one think it
                    // saw the outage first and climb the ladder too.
                    at: if alert.labels.get("source").map(String::as_str) == Some("foghorn") {
                        now
                    } else {
                        alert.started_at.min(now)
                    },
                    evidence: evidence(&alert),
                    auto_resolve: true,
                };
                // An alert already acknowledged in the vendor opens quietly and acknowledged.
                let acked_there = matches!(alert.state, FeedAlertState::Acknowledged { .. });
                self.signal_fired(signal, Some(alert.title.clone()), acked_there)
                    .await;
            }
            firing_now.insert(key, alert);
        }
        // Cleared: gone from a successful poll, or reported resolved.
        let cleared: Vec<String> = seen
            .firing
            .keys()
            .filter(|k| !firing_now.contains_key(*k))
            .cloned()
            .collect();
        for key in cleared {
            seen.acked.remove(&key);
            self.signal_cleared(
                key,
                now,
                name.to_owned(),
                format!("resolved in {name}"),
                false,
            )
            .await;
        }
        seen.firing = firing_now;
        self.sync_acks(entry, name, seen).await;
        None
    }

    /// Acknowledgements both ways: acknowledged in the vendor → acknowledged here; acknowledged
    /// here → written to the vendor (once per alert).
    async fn sync_acks(&self, entry: &FeedEntry, name: &str, seen: &mut Seen) {
        for (key, alert) in &seen.firing {
            let Ok(Some(incident)) = self.shared.store.incident_of_signal(key) else {
                continue;
            };
            match (&alert.state, incident.state) {
                (FeedAlertState::Acknowledged { by }, IncidentState::Triggered) => {
                    let actor = match by {
                        Some(by) => format!("{by} in {name}"),
                        None => name.to_owned(),
                    };
                    if let Err(e) = self
                        .act_as(incident.id, IncidentAction::Acknowledge, &actor)
                        .await
                    {
                        tracing::warn!(error = %e, "cannot acknowledge from the feed");
                    }
                    seen.acked.insert(key.clone());
                }
                (FeedAlertState::Firing, IncidentState::Acknowledged)
                    if !seen.acked.contains(key) =>
                {
                    let by = incident
                        .acked_by
                        .clone()
                        .unwrap_or_else(|| self.shared.me.clone());
                    match entry.feed.acknowledge(alert, &by).await {
                        Ok(()) => {
                            seen.acked.insert(key.clone());
                            self.note_on(
                                incident.id,
                                TimelineKind::FeedAck,
                                format!("acknowledged in {name}"),
                            )
                            .await;
                        }
                        Err(e) => {
                            tracing::warn!(feed = name, error = %e, "cannot acknowledge in the feed")
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Pushes open monitor incidents (every poll, so the vendor's alert stays active while
    /// the outage lasts) and, once, the end of those that resolved. Returns the signed starts
    /// pushed, for this laptop's presence alert.
    async fn push_to_feed(&self, entry: &FeedEntry, seen: &mut Seen) -> BTreeMap<String, String> {
        let mut starts = BTreeMap::new();
        if !entry.config.push {
            return starts;
        }
        let open: Vec<IncidentView> = self
            .open_incidents()
            .into_iter()
            .filter(|i| i.dedup_key.starts_with("monitor:"))
            .collect();
        let now = self.now();
        for incident in &open {
            let pushed = self.pushed(incident, None);
            if let Some(signature) = &pushed.signature {
                self.shared
                    .team
                    .believe_own_start(&pushed.dedup_key, signature, now);
                starts.insert(pushed.dedup_key.clone(), signature.clone());
            }
            match entry.feed.push(&pushed).await {
                Ok(()) => {
                    seen.pushed.insert(incident.dedup_key.clone());
                }
                Err(crate::feed::FeedError::Unsupported { .. }) => return starts,
                Err(e) => tracing::warn!(error = %e, "cannot push an incident to the feed"),
            }
        }
        let ended: Vec<String> = seen
            .pushed
            .iter()
            .filter(|k| !open.iter().any(|i| &i.dedup_key == *k))
            .cloned()
            .collect();
        for key in ended {
            let last = self.shared.store.last_incident_for_key(&key).ok().flatten();
            if let Some(incident) = last {
                let pushed = self.pushed(&incident, Some(incident.resolved_at.unwrap_or(now)));
                if let Err(e) = entry.feed.push(&pushed).await {
                    tracing::warn!(error = %e, "cannot push an incident's end to the feed");
                    continue;
                }
            }
            seen.pushed.remove(&key);
        }
        starts
    }

    fn pushed(
        &self,
        incident: &IncidentView,
        resolved_at: Option<OffsetDateTime>,
    ) -> PushedIncident {
        let monitor = incident
            .dedup_key
            .strip_prefix("monitor:")
            .and_then(|id| self.shared.scheduler.name_of(id))
            .unwrap_or_else(|| incident.dedup_key.clone());
        let (started_at, signature) = self.shared.team.start_to_push(incident, self.now());
        PushedIncident {
            dedup_key: incident.dedup_key.clone(),
            title: incident.title.clone(),
            severity: incident.severity,
            monitor,
            started_at,
            resolved_at,
            signature,
        }
    }

    /// Keeps a feed's health and tells the window when it changed in a way a person notices.
    fn set_health(&self, previous: Option<&FeedHealth>, health: FeedHealth) {
        let visible = |h: &FeedHealth| (h.ok, h.alerts, h.failures, h.error.clone());
        let changed = previous.map(visible) != Some(visible(&health));
        lock(&self.shared.feeds.health).insert(health.name.clone(), health.clone());
        if changed {
            self.publish(EngineEvent::Feed { health });
        }
    }

    /// Every configured feed's health, started or not, answered yet or not.
    pub fn feed_health(&self) -> Vec<FeedHealth> {
        self.shared.feeds.health()
    }
}
