//! The promise of the next public update, kept: the tray counts down to it, a nudge comes
//! five minutes before and another once it is overdue, and an incident open for
//! `[status] nudge_after` with no public update at all gets one too ("tell everyone early").

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::{lock, Engine};
use crate::event::EngineEvent;
use crate::notify::{Notification, Urgency};
use crate::status::publish::Publisher;
use crate::status::template::time_in;
use crate::status::UpdatePromise;

const TICK: Duration = Duration::from_secs(5);
/// How long before a promised update the first nudge comes.
const HEADS_UP: time::Duration = time::Duration::minutes(5);

/// Where public updates go (`[status]`; the outbox sends their messages), and the promises
/// made in them.
#[derive(Debug)]
pub(super) struct Cadence {
    publisher: Option<Arc<Publisher>>,
    /// Leaf lock.
    promised: Mutex<Promised>,
}

/// What the nudges already said, so each is said once per promise.
#[derive(Debug, Default)]
struct Promised {
    promises: Vec<UpdatePromise>,
    nudged: HashSet<String>,
}

impl Cadence {
    pub(super) fn new(publisher: Option<Arc<Publisher>>) -> Self {
        Cadence {
            publisher,
            promised: Mutex::new(Promised::default()),
        }
    }

    /// The status updates' publisher, when `[status]` is configured.
    pub(super) fn publisher(&self) -> Option<&Arc<Publisher>> {
        self.publisher.as_ref()
    }

    /// The updates owed now, soonest first.
    pub(super) fn promises(&self) -> Vec<UpdatePromise> {
        lock(&self.promised).promises.clone()
    }

    /// The tray's countdown: "update due in 12 min", "update overdue by 3 min".
    pub(super) fn summary(&self, now: OffsetDateTime) -> Option<String> {
        let promised = lock(&self.promised);
        let next = promised.promises.iter().find(|p| p.public_id.is_some())?;
        let minutes = (next.due_at - now).whole_minutes();
        Some(if now >= next.due_at {
            format!("public update overdue by {} min", (-minutes).max(1))
        } else {
            format!("public update due in {} min", minutes.max(1))
        })
    }
}

impl Engine {
    /// Watches the promises for as long as the engine runs.
    pub(super) async fn run_cadence(&self) {
        let Some(publisher) = self.shared.cadence.publisher().cloned() else {
            return;
        };
        let nudge_after = time::Duration::try_from(publisher.config().nudge_after)
            .unwrap_or(time::Duration::minutes(10));
        let tz: chrono_tz::Tz = publisher
            .config()
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::UTC);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = self.now();
            let promises = match self.promises_now(nudge_after) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the promised updates");
                    continue;
                }
            };
            let mut nudges = Vec::new();
            let changed = {
                let mut cadence = lock(&self.shared.cadence.promised);
                for p in &promises {
                    let at = time_in(p.due_at, tz, now);
                    let (key, title, body) = match (p.public_id, now >= p.due_at) {
                        (Some(id), true) => (
                            format!("overdue:{id}:{}", p.due_at.unix_timestamp()),
                            format!("Public update overdue: {}", p.title),
                            format!("You promised an update at {at}. Post one, even if nothing changed."),
                        ),
                        (Some(id), false) if now >= p.due_at - HEADS_UP => (
                            format!("soon:{id}:{}", p.due_at.unix_timestamp()),
                            format!("You promised an update at {at} — {} min left", (p.due_at - now).whole_minutes().max(1)),
                            p.title.clone(),
                        ),
                        (None, true) => (
                            format!("silent:{}", p.incident_id.unwrap_or(0)),
                            format!("No public update yet: {}", p.title),
                            "Tell everyone early, even those who may not be affected: post a status update.".to_owned(),
                        ),
                        _ => continue,
                    };
                    if cadence.nudged.insert(key) {
                        nudges.push(Notification {
                            title,
                            body,
                            urgency: Urgency::Normal,
                            incident: p.incident_id,
                            actions: Vec::new(),
                        });
                    }
                }
                let changed = cadence.promises != promises;
                cadence.promises = promises.clone();
                changed
            };
            if changed {
                self.publish(EngineEvent::Promises { promises });
            }
            for nudge in nudges {
                tracing::info!(title = %nudge.title, "nudge");
                if let Err(e) = self.shared.notifications.show_now(&nudge) {
                    tracing::warn!(error = %e, "cannot show a nudge");
                }
            }
            self.refresh_summary();
        }
    }

    /// Open public incidents with their promised update, and open incidents that have gone
    /// `nudge_after` without any public update; soonest first.
    fn promises_now(
        &self,
        nudge_after: time::Duration,
    ) -> crate::store::Result<Vec<UpdatePromise>> {
        let store = &self.shared.store;
        let public = store.public_incidents(200)?;
        let mut out: Vec<UpdatePromise> = public
            .iter()
            .filter(|p| !p.state.is_closed())
            .filter_map(|p| {
                Some(UpdatePromise {
                    public_id: Some(p.id),
                    incident_id: p.incident_id,
                    title: p.title.clone(),
                    due_at: p.next_update_at?,
                })
            })
            .collect();
        for incident in store.open_incidents()? {
            if public.iter().any(|p| p.incident_id == Some(incident.id)) {
                continue;
            }
            out.push(UpdatePromise {
                public_id: None,
                incident_id: Some(incident.id),
                title: incident.title.clone(),
                due_at: incident.opened_at + nudge_after,
            });
        }
        out.sort_by_key(|p| p.due_at);
        Ok(out)
    }

    /// The updates owed now, soonest first.
    pub fn promises(&self) -> Vec<UpdatePromise> {
        self.shared.cadence.promises()
    }
}
