//! From signal to person: incidents opening and resolving, the notification each change owes
//! (recorded before it is shown, marked once shown), the alarm, and what people do about it
//! (acknowledge, resolve, snooze, take) from here or from another process.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::{durable, lock, Engine, Result};
use crate::alarm::Ringer;
use crate::crash_point::crash_point;
use crate::event::EngineEvent;
use crate::incident::{IncidentAction, IncidentState, IncidentView, Signal, TimelineKind};
use crate::notify::{human_duration, Notification, Urgency};
use crate::policy::{self, Delivery, Situation};
use crate::store::{self, StoredNotification};
use crate::time_fmt::rfc3339;

/// How often the database is looked at for changes made elsewhere (`foghorn ack` in a
/// terminal) and for snoozes running out: the app reacts within this long.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// The incidents' memory between database looks, the alarm, and how soon a cleared
/// signal that fires again re-opens its incident.
#[derive(Debug)]
pub(super) struct Incidents {
    /// Leaf lock: never held across an await nor while taking another lock.
    alerting: Mutex<Alerting>,
    ringer: Option<Arc<dyn Ringer>>,
    retrigger_within: time::Duration,
}

impl Incidents {
    pub(super) fn new(ringer: Option<Arc<dyn Ringer>>, retrigger_within: time::Duration) -> Self {
        Incidents {
            alerting: Mutex::new(Alerting::default()),
            ringer,
            retrigger_within,
        }
    }
}

/// What the engine remembers about incidents between database looks.
#[derive(Debug, Default)]
struct Alerting {
    /// Incidents the alarm rings for.
    ringing: HashSet<i64>,
    /// Open incidents as last published, to tell the window only about real changes.
    known: HashMap<i64, IncidentView>,
    /// Snoozed incidents and when they wake.
    snoozed: HashMap<i64, OffsetDateTime>,
    /// Notifications being shown now: the start-up pass over notifications still owed and
    /// the incident that just recorded one must not both show it.
    delivering: HashSet<i64>,
}

impl Engine {
    fn delivery(&self, severity: crate::incident::Severity, at: OffsetDateTime) -> Delivery {
        self.shared
            .notifications
            .delivery(severity, self.shared.oncall.on_call(at), at)
    }

    /// Whether the person at this machine is on call now.
    pub fn on_call(&self) -> bool {
        self.shared.oncall.on_call(self.now())
    }

    /// A signal fired (a monitor went down). `quiet`: flapping, so no notification.
    pub(super) async fn signal_fired(&self, signal: Signal, reason: Option<String>, quiet: bool) {
        let at = signal.at;
        let now = self.now();
        let delivery = if quiet {
            Delivery::Silent
        } else {
            self.delivery(signal.severity, now)
        };
        if delivery == Delivery::Silent && !quiet {
            if self.shared.notifications.muted(now) {
                tracing::info!(title = %signal.summary, "muted: notification not shown");
            } else {
                tracing::info!(title = %signal.summary, "no notification: not on call and `when_not_on_call = \"none\"`");
            }
        }
        let retrigger = self.shared.incidents.retrigger_within;
        let ladder = self.ladder();
        let name = signal.summary.clone();
        let severity = signal.severity;
        let key = signal.dedup_key.clone();
        let notify = (delivery != Delivery::Silent).then(|| {
            (
                Notification::opened(&name, severity, reason.as_deref()),
                delivery == Delivery::Loud,
            )
        });
        let title = name.clone();
        let write: durable::Write = Arc::new(move |tx: &rusqlite::Transaction<'_>| {
            let raised = store::raise_signal(tx, &signal, retrigger)?;
            let new = matches!(
                raised.change,
                store::IncidentChange::Opened | store::IncidentChange::Retriggered
            );
            if new {
                Engine::schedule_ladder(&ladder, tx, &raised.incident, at)?;
            }
            let owed = if new && delivery != Delivery::Silent {
                let id = raised.incident.id;
                let loud = delivery == Delivery::Loud;
                let n = loud_or_quiet(
                    Notification::opened(&name, severity, reason.as_deref()),
                    id,
                    loud,
                );
                let key = format!("incident:{id}:triggered:{}", rfc3339(at));
                store::record_notification(tx, &key, id, &n, loud, at)?
            } else {
                None
            };
            Ok(durable::Saved::Fired { raised, owed })
        });
        let change = durable::Change {
            write,
            key,
            kind: durable::Kind::Fired { title, notify },
        };
        if let Some(durable::Saved::Fired { raised, owed }) = self.save(change).await {
            self.after_fired(raised, owed).await;
        }
    }

    /// What a signal's incident change owes once written: the log, the window, the
    /// notification.
    pub(super) async fn after_fired(
        &self,
        raised: store::Raised,
        owed: Option<StoredNotification>,
    ) {
        if matches!(
            raised.change,
            store::IncidentChange::Opened | store::IncidentChange::Retriggered
        ) {
            tracing::warn!(
                incident = raised.incident.id,
                change = ?raised.change,
                loud = owed.as_ref().is_some_and(|n| n.loud),
                "monitor down: incident opened: {}",
                raised.incident.title
            );
        }
        if owed.is_some() {
            crash_point("notification-recorded");
        }
        self.publish_incident(raised.incident);
        if let Some(n) = owed {
            self.deliver(n).await;
        }
    }

    /// A signal cleared (a monitor came back). Resolves its incident when nothing else in it
    /// is firing, and tells whoever was told about it how long it lasted.
    pub(super) async fn signal_cleared(
        &self,
        dedup_key: String,
        at: OffsetDateTime,
        actor: String,
        detail: String,
        quiet: bool,
    ) {
        let config = self.shared.notifications.config().clone();
        let oncall = Arc::clone(&self.shared.oncall);
        let muted = self.shared.notifications.muted(at);
        let key = dedup_key.clone();
        let write: durable::Write = Arc::new(move |tx: &rusqlite::Transaction<'_>| {
            let Some(cleared) = store::clear_signal(tx, &dedup_key, at, &actor, &detail)? else {
                return Ok(durable::Saved::Cleared(None));
            };
            let incident = &cleared.incident;
            let told = policy::decide(
                &config,
                Situation {
                    severity: incident.severity,
                    on_call: oncall.on_call(at),
                    muted,
                },
            );
            let owed = if cleared.resolved && !quiet && told != Delivery::Silent {
                let lasted = human_duration(at - incident.opened_at);
                let n = Notification {
                    title: format!("Resolved: {}", incident.title),
                    body: format!("Lasted {lasted}"),
                    urgency: Urgency::Low,
                    incident: Some(incident.id),
                    actions: Vec::new(),
                };
                let key = format!("incident:{}:resolved:{}", incident.id, rfc3339(at));
                store::record_notification(tx, &key, incident.id, &n, false, at)?
            } else {
                None
            };
            Ok(durable::Saved::Cleared(Some((cleared, owed))))
        });
        let change = durable::Change {
            write,
            key,
            kind: durable::Kind::Cleared,
        };
        if let Some(durable::Saved::Cleared(cleared)) = self.save(change).await {
            self.after_cleared(cleared).await;
        }
    }

    /// What a cleared signal's incident change owes once written.
    pub(super) async fn after_cleared(
        &self,
        cleared: Option<(store::Cleared, Option<StoredNotification>)>,
    ) {
        let Some((cleared, owed)) = cleared else {
            return;
        };
        if cleared.resolved {
            tracing::info!(
                incident = cleared.incident.id,
                "monitor back up: incident resolved: {}",
                cleared.incident.title
            );
            self.silence(cleared.incident.id);
        }
        self.publish_incident(cleared.incident);
        if let Some(n) = owed {
            self.deliver(n).await;
        }
    }

    /// Shows a recorded notification, rings for it if it is loud, and marks it shown. A
    /// notification whose incident was acknowledged, snoozed or resolved in the meantime is
    /// dropped: the alarm never rings for an incident someone already has.
    async fn deliver(&self, owed: StoredNotification) {
        let claimed = lock(&self.shared.incidents.alerting)
            .delivering
            .insert(owed.id);
        if !claimed {
            return;
        }
        let notification = owed.id;
        // Shown already by the other path, between its read and this claim.
        let shown = self
            .shared
            .store
            .notification_shown(notification)
            .unwrap_or(false);
        if !shown {
            self.deliver_claimed(owed).await;
        }
        lock(&self.shared.incidents.alerting)
            .delivering
            .remove(&notification);
    }

    async fn deliver_claimed(&self, owed: StoredNotification) {
        let id = owed.incident_id;
        let now = self.now();
        let current = self.shared.store.incident(id).ok().flatten();
        let wanted = current.as_ref().is_some_and(|i| {
            !owed.loud || (i.state == IncidentState::Triggered && !i.snoozed(now))
        });
        if !wanted {
            self.mark_delivered(owed.id, "superseded", None).await;
            return;
        }
        let rang = owed.loud.then(|| self.ring(id));
        if owed.loud {
            if let Some(incident) = current {
                self.publish(EngineEvent::Alert { incident });
            }
        }
        let outcome = self.shared.notifications.show(owed.notification).await;
        let note = rang.map(|rang| {
            let alarm = match rang {
                Ok(()) => "the alarm rang".to_owned(),
                Err(why) => format!("the alarm could not sound ({why}): visual only"),
            };
            match &outcome {
                Ok(()) => format!("critical notification shown; {alarm}"),
                Err(e) => format!("the notification could not be shown: {e}; {alarm}"),
            }
        });
        let outcome = match outcome {
            Ok(()) => "shown".to_owned(),
            Err(e) => format!("failed: {e}"),
        };
        self.mark_delivered(owed.id, &outcome, note.map(|n| (id, n)))
            .await;
    }

    pub(super) async fn mark_delivered(
        &self,
        notification: i64,
        outcome: &str,
        note: Option<(i64, String)>,
    ) {
        let outcome = outcome.to_owned();
        let at = self.now();
        let written = self
            .shared
            .store
            .write(move |tx| {
                store::mark_notification(tx, notification, at, &outcome)?;
                if let Some((incident, detail)) = note {
                    store::note(tx, incident, at, TimelineKind::Notified, &detail)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot record a notification as shown");
        }
    }

    pub(super) fn ring(&self, incident: i64) -> std::result::Result<(), String> {
        let first = lock(&self.shared.incidents.alerting)
            .ringing
            .insert(incident);
        if !first {
            return Ok(());
        }
        let rang = match &self.shared.incidents.ringer {
            Some(ringer) => ringer.ring(incident),
            None => Err("no alarm on this machine".to_owned()),
        };
        self.publish_ringing();
        rang
    }

    pub(super) fn silence(&self, incident: i64) {
        let was = lock(&self.shared.incidents.alerting)
            .ringing
            .remove(&incident);
        if was {
            if let Some(ringer) = &self.shared.incidents.ringer {
                ringer.silence(incident);
            }
            self.publish_ringing();
        }
    }

    /// Open incidents, newest first, as last published (no database read: the tray asks on
    /// every change).
    pub fn open_incidents(&self) -> Vec<IncidentView> {
        let mut open: Vec<IncidentView> = lock(&self.shared.incidents.alerting)
            .known
            .values()
            .cloned()
            .collect();
        open.sort_by_key(|i| std::cmp::Reverse(i.id));
        open
    }

    /// Incidents the alarm is ringing for.
    pub fn ringing(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = lock(&self.shared.incidents.alerting)
            .ringing
            .iter()
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    fn publish_ringing(&self) {
        self.publish(EngineEvent::Ringing {
            incidents: self.ringing(),
        });
    }

    /// Publishes an incident's new state and remembers it, so the watcher does not publish
    /// the same change again when it sees it in the database.
    fn publish_incident(&self, incident: IncidentView) {
        {
            let mut a = lock(&self.shared.incidents.alerting);
            if incident.is_open() {
                a.known.insert(incident.id, incident.clone());
            } else {
                a.known.remove(&incident.id);
                a.snoozed.remove(&incident.id);
            }
        }
        self.publish(EngineEvent::Incident { incident });
    }

    /// A person here acts on an incident (tray, notification, window).
    pub async fn act(&self, id: i64, action: IncidentAction) -> Result<IncidentView> {
        let me = self.shared.me.clone();
        self.act_as(id, action, &me).await
    }

    /// Acts on an incident in someone's name ("bob in alertmanager" for an ack made there).
    pub(super) async fn act_as(
        &self,
        id: i64,
        action: IncidentAction,
        actor: &str,
    ) -> Result<IncidentView> {
        let now = self.now();
        let (incident, changed) = self
            .shared
            .store
            .act_on_incident(id, action, actor, now)
            .await?;
        if changed {
            tracing::info!(incident = id, ?action, by = %actor, "incident updated");
        }
        self.after_change(&incident);
        self.publish_incident(incident.clone());
        self.refresh_summary();
        Ok(incident)
    }

    /// Adds a line by Foghorn to an incident's timeline and tells the window.
    pub(super) async fn note_on(&self, id: i64, kind: TimelineKind, detail: String) {
        let at = self.now();
        let written = self
            .shared
            .store
            .write(move |tx| store::note(tx, id, at, kind, &detail))
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot add to the timeline");
        }
        if let Ok(Some(incident)) = self.shared.store.incident(id) {
            self.publish_incident(incident);
        }
    }

    /// Brings the alarm and the snooze timers in line with an incident's stored state.
    fn after_change(&self, incident: &IncidentView) {
        let now = self.now();
        let quiet = !incident.is_open()
            || incident.state == IncidentState::Acknowledged
            || incident.snoozed(now);
        if quiet {
            self.silence(incident.id);
        }
        if incident.state == IncidentState::Acknowledged {
            self.shared.feeds.acknowledged();
        }
        let mut a = lock(&self.shared.incidents.alerting);
        match incident.snoozed_until {
            Some(until) if incident.snoozed(now) && incident.state == IncidentState::Triggered => {
                a.snoozed.insert(incident.id, until);
            }
            _ => {
                a.snoozed.remove(&incident.id);
            }
        }
    }

    /// On start: incidents of monitors that left the configuration are resolved (only when
    /// the configuration is the user's own and loaded cleanly), notifications recorded but not
    /// shown before a crash are shown (once), and the alarm rings again for what is still
    /// unacknowledged while on call.
    pub(super) async fn recover_incidents(&self) {
        let at = self.now();
        if self.runs_stand_in() {
            // The demo or an empty stand-in for a broken file lists none of the user's
            // monitors: that says nothing about which of them were removed.
            tracing::info!(
                "the configuration in use is not the user's (the demo, or a file that did \
                 not load): incidents of monitors missing from it are kept open"
            );
        } else {
            self.resolve_orphans(at).await;
        }
        match self.shared.store.undelivered_notifications() {
            Ok(owed) => {
                for n in owed {
                    self.deliver(n).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read notifications still owed"),
        }
        let open = self.shared.store.open_incidents().unwrap_or_default();
        for incident in &open {
            self.after_change(incident);
            let rings = incident.state == IncidentState::Triggered
                && !incident.snoozed(at)
                && self.delivery(incident.severity, at) == Delivery::Loud;
            if rings {
                let _ = self.ring(incident.id);
            }
        }
        lock(&self.shared.incidents.alerting).known = open.into_iter().map(|i| (i.id, i)).collect();
        self.refresh_summary();
    }

    /// Resolves the open incidents of monitors that left the configuration.
    async fn resolve_orphans(&self, at: OffsetDateTime) {
        let live: HashSet<String> = self
            .shared
            .scheduler
            .ids()
            .iter()
            .map(|id| format!("monitor:{id}"))
            .collect();
        match self
            .shared
            .store
            .write(move |tx| store::resolve_orphans(tx, &live, at))
            .await
        {
            Ok(resolved) => {
                for incident in resolved {
                    tracing::info!(incident = incident.id, "resolved: its monitor is gone");
                    self.publish_incident(incident);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot resolve incidents of removed monitors"),
        }
    }

    /// Reacts to incident changes made by another process (the CLI, a second instance) and
    /// wakes snoozed incidents.
    pub(super) async fn watch_incidents(&self) {
        let mut mark = self.shared.store.incident_change_mark().unwrap_or(0);
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.shared.store.incident_change_mark() {
                Ok(now) if now != mark => {
                    mark = now;
                    self.sync_incidents();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot look for incident changes"),
            }
            self.wake_snoozed().await;
        }
    }

    fn sync_incidents(&self) {
        let Ok(open) = self.shared.store.open_incidents() else {
            return;
        };
        let known = lock(&self.shared.incidents.alerting).known.clone();
        let mut changed = false;
        for incident in &open {
            if known.get(&incident.id) != Some(incident) {
                tracing::info!(incident = incident.id, state = incident.state.as_str(), by = ?incident.acked_by, "incident changed elsewhere");
                self.after_change(incident);
                self.publish_incident(incident.clone());
                changed = true;
            }
        }
        for id in known.keys().filter(|id| !open.iter().any(|i| i.id == **id)) {
            if let Ok(Some(gone)) = self.shared.store.incident(*id) {
                tracing::info!(
                    incident = gone.id,
                    state = gone.state.as_str(),
                    "incident changed elsewhere"
                );
                self.after_change(&gone);
                self.publish_incident(gone);
                changed = true;
            }
        }
        if changed {
            self.refresh_summary();
        }
    }

    /// A snooze ran out on an incident nobody has acknowledged: tell them again.
    async fn wake_snoozed(&self) {
        let now = self.now();
        let woken: Vec<(i64, OffsetDateTime)> = {
            let mut a = lock(&self.shared.incidents.alerting);
            let due: Vec<(i64, OffsetDateTime)> = a
                .snoozed
                .iter()
                .filter(|(_, until)| **until <= now)
                .map(|(id, until)| (*id, *until))
                .collect();
            for (id, _) in &due {
                a.snoozed.remove(id);
            }
            due
        };
        for (id, until) in woken {
            let Ok(Some(incident)) = self.shared.store.incident(id) else {
                continue;
            };
            if incident.state != IncidentState::Triggered {
                continue;
            }
            let delivery = self.delivery(incident.severity, now);
            if delivery == Delivery::Silent {
                continue;
            }
            let loud = delivery == Delivery::Loud;
            let n = loud_or_quiet(
                Notification {
                    title: format!("Still unacknowledged: {}", incident.title),
                    body: "The snooze is over.".to_owned(),
                    urgency: Urgency::Normal,
                    incident: Some(id),
                    actions: Vec::new(),
                },
                id,
                loud,
            );
            let key = format!("incident:{id}:snooze-over:{}", rfc3339(until));
            let recorded = self
                .shared
                .store
                .write(move |tx| store::record_notification(tx, &key, id, &n, loud, now))
                .await;
            if let Ok(Some(owed)) = recorded {
                self.deliver(owed).await;
            }
        }
    }
}

/// A loud notification is critical and offers Acknowledge and Snooze.
fn loud_or_quiet(mut n: Notification, incident: i64, loud: bool) -> Notification {
    n.incident = Some(incident);
    if loud {
        n.urgency = Urgency::Critical;
        n.actions = vec![IncidentAction::Acknowledge, IncidentAction::Snooze];
    } else if n.urgency == Urgency::Critical {
        n.urgency = Urgency::Normal;
    }
    n
}
