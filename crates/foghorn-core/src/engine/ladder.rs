//! The escalation ladder and the outbox, driven from SQLite rows: a step due is fired once
//! (its message recorded in the outbox in the same transaction), and every message in the
//! outbox is sent with retries, exponential backoff and jitter, its fate on the timeline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use time::OffsetDateTime;

use super::Engine;
use crate::config::{EscalationConfig, EscalationStep, StepAction};
use crate::deliver::{Channel, Deliver, DeliveryError, Message, MessageIncident};
use crate::event::EngineEvent;
use crate::incident::{IncidentState, IncidentView, TimelineKind};
use crate::store::{self, OutboxRow};

/// How often due steps and messages are looked for.
const TICK: Duration = Duration::from_millis(500);

/// The ladder's configuration and the channels it sends through.
#[derive(Debug, Default)]
pub(super) struct Ladder {
    pub(super) config: EscalationConfig,
    pub(super) channels: HashMap<Channel, Arc<dyn Deliver>>,
}

impl Ladder {
    /// The policy with its channels: the ones given (tests), else built from the settings.
    pub(super) fn new(
        config: EscalationConfig,
        fixed: Option<&[Arc<dyn Deliver>]>,
        feeds: &[crate::config::FeedConfig],
    ) -> Self {
        let channels = match fixed {
            Some(fixed) => fixed.to_vec(),
            None => crate::deliver::from_config(&config, feeds),
        };
        Self {
            channels: channels
                .iter()
                .map(|c| (c.channel(), Arc::clone(c)))
                .collect(),
            config,
        }
    }
}

/// The ladder in use, what rebuilds it when the policy changes, and how ownership of a
/// ladder is decided between laptops.
#[derive(Debug)]
pub(super) struct Escalation {
    /// Swapped whole by [`Engine::set_escalation`]; readers take the `Arc` and let go. Leaf
    /// lock.
    current: RwLock<Arc<Ladder>>,
    /// The channels a test gave the engine: kept when the policy changes.
    fixed_channels: Option<Vec<Arc<dyn Deliver>>>,
    /// The feeds' settings, which the PagerDuty channel takes its routing key from.
    feed_configs: Vec<crate::config::FeedConfig>,
    /// Some feed takes Foghorn's own incidents: the ladder's owner is decided through it.
    pushes: bool,
    /// How long a ladder step waits to learn whose laptop climbs the ladder.
    ownership_grace: time::Duration,
    /// How long after an incident opens every laptop that saw it earlier has pushed it.
    ownership_settle: time::Duration,
    /// The shortest silence that hands a ladder over: a laptop announces once a poll, so two
    /// polls missed (and a second) are not yet absence, whatever `handover_after` says.
    handover_floor: time::Duration,
    /// The configuration in use is not the user's (the demo, or a stand-in for a file that
    /// failed to load) until an escalation policy from a file arrives.
    stand_in: AtomicBool,
}

impl Escalation {
    /// `pushes` and `polls` (the longest `n` polls of any feed) come from the feeds.
    pub(super) fn new(
        config: EscalationConfig,
        fixed_channels: Option<Vec<Arc<dyn Deliver>>>,
        feed_configs: Vec<crate::config::FeedConfig>,
        pushes: bool,
        polls: impl Fn(u32) -> time::Duration,
        stand_in: bool,
    ) -> Self {
        let ladder = Ladder::new(config, fixed_channels.as_deref(), &feed_configs);
        Escalation {
            current: RwLock::new(Arc::new(ladder)),
            fixed_channels,
            feed_configs,
            pushes,
            ownership_settle: polls(2).saturating_add(time::Duration::seconds(1)),
            ownership_grace: polls(3).saturating_add(time::Duration::seconds(5)),
            handover_floor: polls(2).saturating_add(time::Duration::seconds(1)),
            stand_in: AtomicBool::new(stand_in),
        }
    }

    /// Whether some feed takes Foghorn's own incidents (ownership and hand-over go through it).
    pub(super) fn pushes(&self) -> bool {
        self.pushes
    }

    /// See the field.
    pub(super) fn handover_floor(&self) -> time::Duration {
        self.handover_floor
    }

    /// The ladder as it is now; a policy saved meanwhile does not change this copy.
    pub(super) fn current(&self) -> Arc<Ladder> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether the engine runs the demo or a stand-in for a configuration that failed to
    /// load, and no policy from a file has arrived since.
    pub(super) fn runs_stand_in(&self) -> bool {
        self.stand_in.load(Ordering::Acquire)
    }
}

fn channel_of(action: StepAction) -> Channel {
    match action {
        StepAction::Chat => Channel::Chat,
        StepAction::Sms => Channel::Sms,
        StepAction::Call => Channel::Call,
        StepAction::Pagerduty => Channel::Pagerduty,
        StepAction::Webhook => Channel::Webhook,
    }
}

fn action_name(action: StepAction) -> &'static str {
    match action {
        StepAction::Chat => "chat",
        StepAction::Sms => "sms",
        StepAction::Call => "call",
        StepAction::Pagerduty => "pagerduty",
        StepAction::Webhook => "webhook",
    }
}

impl Engine {
    /// The ladder as it is now; a policy saved meanwhile does not change this copy.
    pub(super) fn ladder(&self) -> Arc<Ladder> {
        self.shared.escalation.current()
    }

    /// Whether the engine runs the demo or a stand-in for a configuration that failed to
    /// load, and no policy from a file has arrived since.
    pub(super) fn runs_stand_in(&self) -> bool {
        self.shared.escalation.runs_stand_in()
    }

    /// Uses a new escalation policy from now on, without a restart: incidents that open
    /// from now on climb its steps, with its channels (rebuilt from its settings). Steps
    /// already scheduled for open incidents keep their rows and times; when one is due the
    /// step at its position in the new policy is what fires if it is the same action, and
    /// otherwise it is skipped with a note (the policy changed under it).
    pub fn set_escalation(&self, config: EscalationConfig) {
        let escalation = &self.shared.escalation;
        let ladder = Ladder::new(
            config,
            escalation.fixed_channels.as_deref(),
            &escalation.feed_configs,
        );
        tracing::info!(
            steps = ladder.config.steps.len(),
            "escalation policy changed"
        );
        *escalation
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(ladder);
        // A policy saved to a file: the ladder no longer waits for one.
        escalation.stand_in.store(false, Ordering::Release);
    }

    /// The steps an incident that just opened (or opened again, at `from`) will climb, in the
    /// caller's transaction. A re-opened incident's steps count from its re-opening, so their
    /// messages have new keys and are sent again.
    pub(super) fn schedule_ladder(
        ladder: &Ladder,
        tx: &rusqlite::Transaction<'_>,
        incident: &IncidentView,
        from: OffsetDateTime,
    ) -> store::Result<()> {
        let steps: Vec<(u32, &str, OffsetDateTime)> = ladder
            .config
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.min_severity.is_none_or(|min| incident.severity >= min))
            .map(|(i, s)| {
                // Bounded by the configuration, yet checked: a policy given in code, or a
                // time read back from the database, must not panic the writer.
                let due = crate::deadline::after(from.max(incident.opened_at), s.after);
                (i as u32, action_name(s.action), due)
            })
            .collect();
        store::schedule_steps(tx, incident.id, &steps)
    }

    /// Fires the steps that are due and sends what the outbox holds, forever.
    pub(super) async fn run_ladder(&self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.runs_stand_in() {
                // The stand-in's empty policy would skip every step due: they wait instead.
                continue;
            }
            let now = self.now();
            self.hand_over_ladders(now).await;
            match self.shared.store.read(|c| store::due_steps(c, now)) {
                Ok(due) => {
                    for (incident, step) in due {
                        self.fire_step(incident, step.step, &step.action, step.due_at)
                            .await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the escalation steps"),
            }
            match self.shared.store.read(|c| store::due_messages(c, now)) {
                Ok(due) => {
                    for message in due {
                        self.send(message).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the outbox"),
            }
        }
    }

    async fn fire_step(
        &self,
        incident_id: i64,
        index: u32,
        scheduled: &str,
        due_at: OffsetDateTime,
    ) {
        let now = self.now();
        let ladder = self.ladder();
        let Some(step) = ladder.config.steps.get(index as usize).cloned() else {
            self.settle(
                incident_id,
                index,
                "skipped",
                "the step is no longer configured".to_owned(),
                None,
            )
            .await;
            return;
        };
        if action_name(step.action) != scheduled {
            self.settle(
                incident_id,
                index,
                "skipped",
                format!(
                    "the escalation policy changed: this step is now {}",
                    action_name(step.action)
                ),
                None,
            )
            .await;
            return;
        }
        let Ok(Some(incident)) = self.shared.store.incident(incident_id) else {
            return;
        };
        if !incident.is_open() {
            self.settle(incident_id, index, "cancelled", "resolved".to_owned(), None)
                .await;
            return;
        }
        if step.unacknowledged && incident.state != IncidentState::Triggered {
            let by = incident.acked_by.clone().unwrap_or_default();
            self.settle(
                incident_id,
                index,
                "cancelled",
                format!("acknowledged by {by}"),
                None,
            )
            .await;
            return;
        }
        match self.ladder_elsewhere(&incident, due_at, now) {
            Elsewhere::Here => {}
            Elsewhere::NotYet => return,
            Elsewhere::There(why) => {
                self.settle(incident_id, index, "skipped", why, None).await;
                return;
            }
        }
        if step.nobody_online && self.someone_online(now) {
            self.settle(
                incident_id,
                index,
                "skipped",
                "an engineer is online".to_owned(),
                None,
            )
            .await;
            return;
        }
        let (to, whom) = match self.recipient(&step, now) {
            Ok(r) => r,
            Err(why) => {
                self.settle(incident_id, index, "skipped", why, None).await;
                return;
            }
        };
        let late = now - due_at > time::Duration::seconds(2);
        let mut note = describe(step.action, &whom);
        if late {
            note.push_str(&format!(
                " (fired late: due at {}, while Foghorn was not running or the laptop slept; \
                 later steps keep their times)",
                crate::time_fmt::rfc3339(due_at)
            ));
        }
        let message = Message {
            channel: channel_of(step.action),
            // The due time tells a re-triggered incident's second climb from its first.
            idempotency_key: format!(
                "incident:{incident_id}:step:{index}:{}",
                due_at.unix_timestamp()
            ),
            to,
            incident: self.message_incident(&incident),
            mentions: if ladder.config.mention.is_empty() {
                vec!["@channel".to_owned()]
            } else {
                ladder.config.mention.clone()
            },
        };
        self.settle(incident_id, index, "fired", note, Some(message))
            .await;
    }

    /// Moves a step on, and with a fired one records its message in the outbox, in one
    /// transaction: a step fires once, whatever happens after.
    async fn settle(
        &self,
        incident_id: i64,
        index: u32,
        state: &'static str,
        note: String,
        message: Option<Message>,
    ) {
        let at = self.now();
        // A pushed outage's step is told to the team before its message is sent (below, by
        // the same tick): should this laptop go away now, the laptop taking the ladder over
        // does not send it again.
        let tell_team = message
            .as_ref()
            .is_some_and(|m| m.incident.dedup_key.starts_with("monitor:"))
            && self.shared.escalation.pushes;
        let payload = message.as_ref().map(|m| {
            (
                m.idempotency_key.clone(),
                m.channel,
                serde_json::to_string(m),
            )
        });
        let written = self
            .shared
            .store
            .write(move |tx| {
                if !store::settle_step(tx, incident_id, index, state, &note)? {
                    return Ok(false);
                }
                if let Some((key, channel, json)) = payload {
                    let json = json.map_err(|e| store::StoreError::Corrupt(e.to_string()))?;
                    let channel = serde_json::to_value(channel)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    store::enqueue(tx, &key, Some(incident_id), &channel, &json, at)?;
                }
                let kind = if state == "fired" {
                    TimelineKind::Escalated
                } else {
                    TimelineKind::EscalationSkipped
                };
                store::note(
                    tx,
                    incident_id,
                    at,
                    kind,
                    &format!("step {}: {note}", index + 1),
                )?;
                Ok(true)
            })
            .await;
        match written {
            Ok(true) => {
                tracing::info!(
                    incident = incident_id,
                    step = index + 1,
                    state,
                    "escalation step"
                );
                self.republish(incident_id);
                if tell_team {
                    self.announce_now().await;
                }
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot record an escalation step"),
        }
    }

    /// Sends one message from the outbox (a ladder step's, a status update's, or a support
    /// reply) and
    /// records how it went; tells the user when one failed for good.
    async fn send(&self, row: OutboxRow) {
        let incident = row.incident_id;
        let ladder = self.ladder();
        let status = self.shared.cadence.publisher().cloned();
        let support = self.shared.support.desk();
        let store = self.shared.store.clone();
        let sent = crate::outbox::send(&self.shared.store, row, |row| async move {
            if crate::support::Kind::from_outbox_channel(&row.channel).is_some() {
                return match support.as_deref() {
                    Some(desk) => desk.deliver(&store, &row).await,
                    None => Err(DeliveryError::Permanent {
                        channel: Channel::Intercom,
                        message: "support reply: [intercom] is not configured any more".to_owned(),
                    }),
                };
            }
            if let Some(destination) = crate::status::Destination::from_outbox_channel(&row.channel)
            {
                return match status.as_deref() {
                    Some(publisher) => publisher.deliver(&store, &row, destination).await,
                    None => Err(DeliveryError::Permanent {
                        channel: Channel::Webhook,
                        message: format!(
                            "{}: [status] is not configured any more",
                            destination.label()
                        ),
                    }),
                };
            }
            let message: Message =
                serde_json::from_str(&row.payload).map_err(|e| DeliveryError::Permanent {
                    channel: Channel::Chat,
                    message: format!("unreadable message: {e}"),
                })?;
            match ladder.channels.get(&message.channel) {
                Some(channel) => channel.deliver(&message).await,
                None => Err(DeliveryError::Permanent {
                    channel: message.channel,
                    message: "no such channel is configured in [escalation]".to_owned(),
                }),
            }
        })
        .await;
        if let Some(crate::outbox::Sent {
            failed: Some(e), ..
        }) = &sent
        {
            self.add_notice(format!("A message could not be sent: {e}"));
        }
        if let (Some(_), Some(incident)) = (sent, incident) {
            self.republish(incident);
        }
    }

    /// Who a step reaches: `(address, name for the timeline)`.
    fn recipient(
        &self,
        step: &EscalationStep,
        now: OffsetDateTime,
    ) -> Result<(String, String), String> {
        match step.action {
            StepAction::Chat => Ok((String::new(), "the team channel".to_owned())),
            StepAction::Pagerduty => Ok((String::new(), "PagerDuty".to_owned())),
            // The outbox keeps the url as written (a reference stays one); the timeline
            // shows only its scheme and host, since webhook URLs carry tokens.
            StepAction::Webhook => step
                .url
                .as_ref()
                .map(|u| (u.as_written(), u.shown()))
                .ok_or_else(|| "a webhook step needs `url`".to_owned()),
            StepAction::Sms | StepAction::Call => {
                let status = self.shared.oncall.status(now);
                let person = status
                    .as_ref()
                    .and_then(|s| s.on_call_now.first().cloned())
                    .or_else(|| {
                        // Without a schedule, the person at this laptop if they say they are on call.
                        self.on_call().then(|| self.shared.me.clone())
                    })
                    .ok_or_else(|| "nobody is on call to text or call".to_owned())?;
                // `Carol Jones <carol@example.com>` has a phone under either.
                let ladder = self.ladder();
                let phones = &ladder.config.phones;
                let phone = crate::oncall::names_of_shown(&person)
                    .into_iter()
                    .find_map(|n| phones.get(n))
                    .cloned()
                    .ok_or_else(|| {
                        format!("no phone number for {person} in [escalation] phones")
                    })?;
                Ok((phone.clone(), format!("{person} ({phone})")))
            }
        }
    }

    /// Whether another engineer's Foghorn said recently, through the shared feed, that it is
    /// running.
    fn someone_online(&self, now: OffsetDateTime) -> bool {
        self.shared.team.someone_online(now)
    }

    /// Whose laptop climbs this incident's ladder. The rule: an outage Foghorn's monitors push
    /// to Alertmanager is escalated by the laptop that saw it first — Alertmanager keeps the
    /// earliest start of an alert pushed by several laptops, so the laptop whose incident
    /// opened at that start owns the ladder, and the others skip their steps. A laptop decides
    /// only once every laptop that saw the outage earlier has had time to push it (two polls
    /// after its own incident opened), so the first steps wait that long; and it waits for the
    /// feed to show the pushed alert, but never longer than `ownership_grace`: an unreachable
    /// Alertmanager must not stop escalation. An alert that
    /// came from a feed is escalated by the laptop of the person on call (by everyone when
    /// there is no schedule). With a team secret only signed starts count (see
    /// [`crate::team`]): a forged earlier alert cannot take the ladder away.
    fn ladder_elsewhere(
        &self,
        incident: &IncidentView,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Elsewhere {
        if incident.dedup_key.starts_with("monitor:") {
            if !self.shared.escalation.pushes {
                return Elsewhere::Here;
            }
            // A ladder taken over from a laptop that went away is climbed here; one another
            // laptop took over while this one was away is climbed there.
            if self.took_over(incident.id) {
                return Elsewhere::Here;
            }
            let heard = self.shared.team.reports();
            if let Some(who) = super::handover::taken_over_by(
                &self.shared.me,
                &incident.dedup_key,
                &heard,
                now,
                self.handover_grace(),
            ) {
                return Elsewhere::There(format!(
                    "{who}'s Foghorn took the ladder over and climbs it"
                ));
            }
            let start = self.shared.team.pushed_start(&incident.dedup_key, now);
            let ms = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1_000_000;
            // Checked: `opened_at` and `due_at` are read from the database.
            let settled = crate::deadline::shifted(
                incident.opened_at,
                self.shared.escalation.ownership_settle,
            );
            if now < settled && start.is_some() {
                return Elsewhere::NotYet;
            }
            return match start {
                Some(start) if ms(start) == ms(incident.opened_at) => Elsewhere::Here,
                Some(start) if start > incident.opened_at => Elsewhere::NotYet,
                Some(_) => Elsewhere::There(
                    "another laptop saw the outage first and climbs the ladder".to_owned(),
                ),
                None if now
                    < crate::deadline::shifted(due_at, self.shared.escalation.ownership_grace) =>
                {
                    Elsewhere::NotYet
                }
                None => Elsewhere::Here,
            };
        }
        match self.shared.oncall.status(now) {
            Some(status) if !status.you_are_on_call => {
                Elsewhere::There("escalated by the Foghorn of the person on call".to_owned())
            }
            _ => Elsewhere::Here,
        }
    }

    fn message_incident(&self, incident: &IncidentView) -> MessageIncident {
        let summary = self
            .shared
            .store
            .incident_detail(incident.id)
            .ok()
            .flatten()
            .and_then(|d| {
                d.timeline
                    .into_iter()
                    .find(|t| t.kind == TimelineKind::Triggered)
            })
            .map(|t| t.detail.lines().take(2).collect::<Vec<_>>().join("; "))
            .unwrap_or_default();
        MessageIncident {
            id: incident.id,
            dedup_key: incident.dedup_key.clone(),
            title: incident.title.clone(),
            severity: incident.severity,
            summary,
            link: None,
            ack_hint: format!(
                "Acknowledge in Foghorn (tray or window) or run `foghorn ack {}`",
                incident.id
            ),
        }
    }

    /// Tells the window an incident's ladder or timeline changed.
    pub(super) fn republish(&self, incident_id: i64) {
        if let Ok(Some(incident)) = self.shared.store.incident(incident_id) {
            self.publish(EngineEvent::Incident { incident });
        }
    }

    /// "Escalate now" (the next pending step is due at once) or "Skip" it, from the window.
    pub async fn ladder_action(&self, incident_id: i64, skip: bool) -> super::Result<()> {
        let who = self.shared.me.clone();
        let now = self.now();
        self.shared
            .store
            .write(move |tx| {
                if skip {
                    if let Some(step) = store::skip_next(tx, incident_id, &who)? {
                        store::note(
                            tx,
                            incident_id,
                            now,
                            TimelineKind::EscalationSkipped,
                            &format!("step {}: skipped by {who}", step + 1),
                        )?;
                    }
                } else {
                    store::escalate_now(tx, incident_id, now)?;
                }
                Ok(())
            })
            .await?;
        self.republish(incident_id);
        Ok(())
    }
}

/// Whether this laptop climbs an incident's ladder.
enum Elsewhere {
    Here,
    /// Not known yet: try again on the next tick.
    NotYet,
    /// Another laptop does, and why.
    There(String),
}

fn describe(action: StepAction, whom: &str) -> String {
    match action {
        StepAction::Chat => "post to the team channel".to_owned(),
        StepAction::Sms => format!("text {whom}"),
        StepAction::Call => format!("call {whom}"),
        StepAction::Pagerduty => "trigger PagerDuty".to_owned(),
        StepAction::Webhook => format!("POST to {whom}"),
    }
}
