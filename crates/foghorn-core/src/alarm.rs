//! The loud alarm's policy: which incidents keep it ringing, which sound at which volume,
//! when it escalates, and what happens when there is no audio device. Playing sound is the
//! shell's job, behind [`AlarmPlayer`]; nothing here touches an audio crate.
//!
//! The controller keeps the set of incidents it rings for and remembers the ones that were
//! silenced (acknowledged, resolved, acked on another device): a late `ring` for one of those
//! — a feed poll still reporting it as triggered, say — is ignored, so the alarm never plays
//! for an incident someone already acknowledged.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

/// How urgent a bundled sound is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// The first minutes: a two-tone alert.
    Alert,
    /// Nobody reacted: faster and harsher.
    Urgent,
}

/// What the player is asked to loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmSound {
    Bundled(Level),
    /// The user's own file (`[alarm] sound`).
    File(PathBuf),
}

/// Why a sound could not be played.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlarmError {
    /// No audio output at all (no sound card, no sound server): the alarm is visual only.
    #[error("no audio output: {0}")]
    NoDevice(String),
    /// The device works but this sound does not (a missing or undecodable user file).
    #[error("cannot play {path}: {reason}")]
    Sound { path: PathBuf, reason: String },
}

/// The platform part: loops one sound until told to stop. `play` while playing replaces the
/// sound; `stop` returns once the sound is gone (or as soon as it can tell).
pub trait AlarmPlayer: Send + Sync {
    fn play(&self, sound: &AlarmSound, volume: f32) -> Result<(), AlarmError>;
    fn stop(&self);
}

/// `[alarm]` in the configuration, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSettings {
    /// 0 to 1.
    pub volume: f32,
    /// Ringing this long without anyone silencing it switches to the urgent sound.
    pub escalate_after: Duration,
    /// 0 to 1; the urgent sound's volume.
    pub escalated_volume: f32,
    /// The user's own sound for the first stage; the bundled alert when `None`.
    pub sound: Option<PathBuf>,
}

impl AlarmSettings {
    /// What `[alarm]` in the configuration asks for.
    pub fn from_config(config: &crate::config::AlarmConfig) -> Self {
        AlarmSettings {
            volume: config.volume,
            escalate_after: config.escalate_after,
            escalated_volume: config.escalated_volume,
            sound: config.sound.as_ref().map(|s| s.get_ref().clone()),
        }
    }
}

impl Default for AlarmSettings {
    fn default() -> Self {
        Self {
            volume: 0.8,
            escalate_after: Duration::from_secs(60),
            escalated_volume: 1.0,
            sound: None,
        }
    }
}

/// What the alarm is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmState {
    /// Nothing to ring for.
    Quiet,
    /// Sound is playing at this level.
    Ringing(Level),
    /// Incidents want the alarm but no sound can be played: the reason, for a visual alarm
    /// to show instead.
    Unavailable(String),
}

/// What [`Alarm::ring`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingOutcome {
    /// The alarm was quiet and now rings for this incident.
    Started,
    /// The alarm already rang; this incident now keeps it ringing too.
    Joined,
    /// The alarm already rang for this incident.
    AlreadyRinging,
    /// This incident was silenced before (acknowledged, resolved…): nothing happens.
    Ignored,
}

/// The alarm controller. Cheap to share behind an `Arc`; every method is synchronous and
/// returns once the player has been told.
pub struct Alarm {
    player: Arc<dyn AlarmPlayer>,
    inner: Arc<Mutex<Inner>>,
    state: watch::Sender<AlarmState>,
}

struct Inner {
    settings: AlarmSettings,
    ringing: BTreeSet<i64>,
    silenced: HashSet<i64>,
    /// The escalation timer of the current ringing period.
    escalation: Option<tokio::task::JoinHandle<()>>,
    /// Bumped on every start and stop so a late timer does nothing.
    period: u64,
    /// The last problem logged, so one missing device is reported once, not on every ring.
    reported: Option<String>,
}

impl fmt::Debug for Alarm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Alarm")
            .field("state", &*self.state.borrow())
            .field("ringing", &inner.ringing)
            .field("settings", &inner.settings)
            .finish_non_exhaustive()
    }
}

impl Alarm {
    pub fn new(player: Arc<dyn AlarmPlayer>, settings: AlarmSettings) -> Self {
        Self {
            player,
            inner: Arc::new(Mutex::new(Inner {
                settings,
                ringing: BTreeSet::new(),
                silenced: HashSet::new(),
                escalation: None,
                period: 0,
                reported: None,
            })),
            state: watch::Sender::new(AlarmState::Quiet),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rings for `incident_id` unless it was silenced before. Starting the sound needs a
    /// tokio runtime for the escalation timer; without one the alarm rings but never
    /// escalates.
    pub fn ring(&self, incident_id: i64) -> RingOutcome {
        let mut inner = self.lock();
        if inner.silenced.contains(&incident_id) {
            return RingOutcome::Ignored;
        }
        let was_quiet = inner.ringing.is_empty();
        if !inner.ringing.insert(incident_id) {
            return RingOutcome::AlreadyRinging;
        }
        if !was_quiet {
            return RingOutcome::Joined;
        }
        inner.period += 1;
        let first = match &inner.settings.sound {
            Some(path) => AlarmSound::File(path.clone()),
            None => AlarmSound::Bundled(Level::Alert),
        };
        let volume = inner.settings.volume;
        self.start(&mut inner, first, volume, Level::Alert);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let timer = Escalation {
                player: self.player.clone(),
                inner: self.inner.clone(),
                state: self.state.clone(),
                period: inner.period,
            };
            let after = inner.settings.escalate_after;
            inner.escalation = Some(runtime.spawn(async move {
                tokio::time::sleep(after).await;
                timer.fire();
            }));
        } else {
            tracing::warn!("alarm: no async runtime, the alarm will not escalate");
        }
        RingOutcome::Started
    }

    fn start(&self, inner: &mut Inner, sound: AlarmSound, volume: f32, level: Level) {
        start(&*self.player, &self.state, inner, sound, volume, level);
    }

    /// Stops ringing for `incident_id` (acknowledged, resolved, snoozed, or acknowledged on
    /// another device) and ignores any later `ring` for it. The sound stops when no incident
    /// is left. Returns whether the alarm was ringing for it.
    pub fn silence(&self, incident_id: i64) -> bool {
        let mut inner = self.lock();
        inner.silenced.insert(incident_id);
        let was = inner.ringing.remove(&incident_id);
        if was && inner.ringing.is_empty() {
            self.stop(&mut inner);
        }
        was
    }

    /// Rings for `incident_id` again although it was silenced: a snooze ran out on an incident
    /// nobody acknowledged. Only the engine, which knows the incident's state, calls this.
    pub fn ring_again(&self, incident_id: i64) -> RingOutcome {
        self.lock().silenced.remove(&incident_id);
        self.ring(incident_id)
    }

    /// Silences every incident the alarm rings for now; later incidents ring again.
    pub fn silence_all(&self) {
        let mut inner = self.lock();
        let ringing = std::mem::take(&mut inner.ringing);
        if ringing.is_empty() {
            return;
        }
        inner.silenced.extend(ringing);
        self.stop(&mut inner);
    }

    fn stop(&self, inner: &mut Inner) {
        inner.period += 1;
        if let Some(timer) = inner.escalation.take() {
            timer.abort();
        }
        self.player.stop();
        self.state.send_replace(AlarmState::Quiet);
    }

    /// Whether any incident wants the alarm, audible or not (the visual alarm shows then).
    pub fn is_ringing(&self) -> bool {
        !self.lock().ringing.is_empty()
    }

    /// The incidents the alarm rings for, in id order.
    pub fn ringing(&self) -> Vec<i64> {
        self.lock().ringing.iter().copied().collect()
    }

    pub fn state(&self) -> AlarmState {
        self.state.borrow().clone()
    }

    /// Every state change, for the tray and the window.
    pub fn subscribe(&self) -> watch::Receiver<AlarmState> {
        self.state.subscribe()
    }

    /// New settings apply from the next sound started (a ringing alarm keeps its sound).
    pub fn set_settings(&self, settings: AlarmSettings) {
        self.lock().settings = settings;
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        let mut inner = self.lock();
        if let Some(timer) = inner.escalation.take() {
            timer.abort();
        }
        if !inner.ringing.is_empty() {
            self.player.stop();
        }
    }
}

/// The escalation timer's view of the controller.
struct Escalation {
    player: Arc<dyn AlarmPlayer>,
    inner: Arc<Mutex<Inner>>,
    state: watch::Sender<AlarmState>,
    period: u64,
}

impl Escalation {
    fn fire(self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Silenced (and perhaps started again) since this timer was set: not its business.
        if inner.period != self.period || inner.ringing.is_empty() {
            return;
        }
        inner.escalation = None;
        let volume = inner.settings.escalated_volume;
        tracing::info!(incidents = ?inner.ringing, "alarm: nobody reacted, escalating");
        start(
            &*self.player,
            &self.state,
            &mut inner,
            AlarmSound::Bundled(Level::Urgent),
            volume,
            Level::Urgent,
        );
    }
}

/// Plays `sound`, falling back to the bundled sound of `level` when a user file fails, and
/// records the outcome. A problem is logged once until it changes or sound plays again.
fn start(
    player: &dyn AlarmPlayer,
    state: &watch::Sender<AlarmState>,
    inner: &mut Inner,
    sound: AlarmSound,
    volume: f32,
    level: Level,
) {
    let volume = if volume.is_finite() {
        volume.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mut result = player.play(&sound, volume);
    if let Err(AlarmError::Sound { .. }) = &result {
        if let Err(e) = &result {
            report(inner, &format!("{e}; playing the bundled sound instead"));
        }
        result = player.play(&AlarmSound::Bundled(level), volume);
    }
    match result {
        Ok(()) => {
            if matches!(sound, AlarmSound::Bundled(_)) {
                inner.reported = None;
            }
            state.send_replace(AlarmState::Ringing(level));
        }
        Err(e) => {
            let reason = format!("{e}; showing a visual alarm only");
            report(inner, &reason);
            state.send_replace(AlarmState::Unavailable(reason));
        }
    }
}

fn report(inner: &mut Inner, message: &str) {
    if inner.reported.as_deref() != Some(message) {
        tracing::warn!("alarm: {message}");
        inner.reported = Some(message.to_owned());
    }
}

/// Rings the loud alarm for incidents: what the engine is given to ring through. The desktop
/// implements it with sound ([`Alarm`]); tests record.
pub trait Ringer: Send + Sync + std::fmt::Debug {
    /// Starts (or keeps) ringing for `incident`; `Err` says why no sound could be made (the
    /// alarm is then visual only).
    fn ring(&self, incident: i64) -> std::result::Result<(), String>;
    /// Stops ringing for `incident`; the alarm falls silent once nothing rings.
    fn silence(&self, incident: i64);
}

/// The engine rings through the alarm. It decides from the incident's stored state (on call,
/// triggered, not snoozed), so a ring it asks for is always wanted, even for an incident
/// silenced earlier and woken by its snooze running out.
impl Ringer for Alarm {
    fn ring(&self, incident: i64) -> Result<(), String> {
        self.ring_again(incident);
        match self.state() {
            AlarmState::Unavailable(why) => Err(why),
            _ => Ok(()),
        }
    }

    fn silence(&self, incident: i64) {
        Alarm::silence(self, incident);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    enum Call {
        Play(AlarmSound, f32),
        Stop,
    }

    /// Records every call; fails plays the way it is told to.
    #[derive(Debug, Default)]
    struct Recorder {
        calls: Mutex<Vec<Call>>,
        no_device: Mutex<Option<String>>,
        bad_files: bool,
    }

    impl Recorder {
        fn calls(&self) -> Vec<Call> {
            self.calls.lock().expect("lock").clone()
        }
    }

    impl AlarmPlayer for Recorder {
        fn play(&self, sound: &AlarmSound, volume: f32) -> Result<(), AlarmError> {
            self.calls
                .lock()
                .expect("lock")
                .push(Call::Play(sound.clone(), volume));
            if let Some(reason) = self.no_device.lock().expect("lock").clone() {
                return Err(AlarmError::NoDevice(reason));
            }
            match sound {
                AlarmSound::File(path) if self.bad_files => Err(AlarmError::Sound {
                    path: path.clone(),
                    reason: "not audio".into(),
                }),
                _ => Ok(()),
            }
        }
        fn stop(&self) {
            self.calls.lock().expect("lock").push(Call::Stop);
        }
    }

    fn alarm(player: &Arc<Recorder>, settings: AlarmSettings) -> Alarm {
        Alarm::new(player.clone(), settings)
    }

    const ALERT: AlarmSound = AlarmSound::Bundled(Level::Alert);
    const URGENT: AlarmSound = AlarmSound::Bundled(Level::Urgent);

    #[tokio::test(start_paused = true)]
    async fn rings_until_the_last_incident_is_silenced() {
        let player = Arc::new(Recorder::default());
        let alarm = alarm(&player, AlarmSettings::default());
        assert_eq!(alarm.state(), AlarmState::Quiet);
        assert_eq!(alarm.ring(1), RingOutcome::Started);
        assert_eq!(alarm.ring(2), RingOutcome::Joined);
        assert_eq!(alarm.ring(1), RingOutcome::AlreadyRinging);
        assert_eq!(alarm.state(), AlarmState::Ringing(Level::Alert));
        assert_eq!(player.calls(), vec![Call::Play(ALERT, 0.8)]);

        assert!(alarm.silence(1));
        assert!(alarm.is_ringing());
        assert_eq!(player.calls().len(), 1, "still ringing for incident 2");
        assert!(alarm.silence(2));
        assert!(!alarm.is_ringing());
        assert_eq!(alarm.state(), AlarmState::Quiet);
        assert_eq!(player.calls(), vec![Call::Play(ALERT, 0.8), Call::Stop]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_acknowledged_incident_never_rings_again() {
        let player = Arc::new(Recorder::default());
        let alarm = alarm(&player, AlarmSettings::default());
        // Acknowledged on another device before this one heard of it.
        assert!(!alarm.silence(7));
        assert_eq!(alarm.ring(7), RingOutcome::Ignored);
        assert!(!alarm.is_ringing());
        // Acknowledged here, then reported as triggered again by a slow feed.
        alarm.ring(8);
        alarm.silence(8);
        assert_eq!(alarm.ring(8), RingOutcome::Ignored);
        assert_eq!(player.calls(), vec![Call::Play(ALERT, 0.8), Call::Stop]);
        assert_eq!(alarm.state(), AlarmState::Quiet);
    }

    #[tokio::test(start_paused = true)]
    async fn escalates_after_a_minute_without_silence() {
        let player = Arc::new(Recorder::default());
        let alarm = alarm(&player, AlarmSettings::default());
        let mut states = alarm.subscribe();
        alarm.ring(1);
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert_eq!(alarm.state(), AlarmState::Ringing(Level::Alert));
        // A second incident does not restart the minute.
        alarm.ring(2);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(alarm.state(), AlarmState::Ringing(Level::Urgent));
        assert!(states.has_changed().expect("sender alive"));
        assert_eq!(
            player.calls(),
            vec![Call::Play(ALERT, 0.8), Call::Play(URGENT, 1.0)]
        );
        alarm.silence_all();
        assert_eq!(player.calls().last(), Some(&Call::Stop));
        assert_eq!(alarm.ring(2), RingOutcome::Ignored);
        assert_eq!(alarm.state(), AlarmState::Quiet);
        let _ = states.borrow_and_update();
    }

    #[tokio::test(start_paused = true)]
    async fn silence_cancels_the_escalation() {
        let player = Arc::new(Recorder::default());
        let alarm = alarm(
            &player,
            AlarmSettings {
                escalate_after: Duration::from_secs(30),
                ..AlarmSettings::default()
            },
        );
        alarm.ring(1);
        tokio::time::sleep(Duration::from_secs(20)).await;
        alarm.silence(1);
        // A new incident starts a fresh period: the old timer must not escalate it early.
        alarm.ring(2);
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(alarm.state(), AlarmState::Ringing(Level::Alert));
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(alarm.state(), AlarmState::Ringing(Level::Urgent));
        alarm.silence(2);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(
            player.calls(),
            vec![
                Call::Play(ALERT, 0.8),
                Call::Stop,
                Call::Play(ALERT, 0.8),
                Call::Play(URGENT, 1.0),
                Call::Stop
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_user_sound_plays_first_and_falls_back_when_broken() {
        let file = PathBuf::from("/music/klaxon.ogg");
        let settings = AlarmSettings {
            sound: Some(file.clone()),
            volume: 0.5,
            ..AlarmSettings::default()
        };
        let player = Arc::new(Recorder::default());
        alarm(&player, settings.clone()).ring(1);
        assert_eq!(
            player.calls()[0],
            Call::Play(AlarmSound::File(file.clone()), 0.5)
        );

        let player = Arc::new(Recorder {
            bad_files: true,
            ..Recorder::default()
        });
        let alarm = alarm(&player, settings);
        alarm.ring(1);
        assert_eq!(alarm.state(), AlarmState::Ringing(Level::Alert));
        assert_eq!(
            player.calls(),
            vec![
                Call::Play(AlarmSound::File(file), 0.5),
                Call::Play(ALERT, 0.5)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_audio_device_leaves_a_visual_alarm_with_a_reason() {
        let player = Arc::new(Recorder::default());
        *player.no_device.lock().expect("lock") = Some("no sound server".into());
        let alarm = alarm(&player, AlarmSettings::default());
        assert_eq!(alarm.ring(1), RingOutcome::Started);
        assert!(alarm.is_ringing(), "the visual alarm stays on");
        let AlarmState::Unavailable(reason) = alarm.state() else {
            panic!("{:?}", alarm.state());
        };
        assert!(
            reason.contains("no audio output: no sound server"),
            "{reason}"
        );
        // Escalation tries again (a headset may have been plugged in) without panicking.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert!(matches!(alarm.state(), AlarmState::Unavailable(_)));
        *player.no_device.lock().expect("lock") = None;
        alarm.silence(1);
        assert_eq!(alarm.state(), AlarmState::Quiet);
        alarm.ring(2);
        assert_eq!(alarm.state(), AlarmState::Ringing(Level::Alert));
    }

    #[test]
    fn rings_without_a_runtime_but_does_not_escalate() {
        let player = Arc::new(Recorder::default());
        let alarm = alarm(&player, AlarmSettings::default());
        assert_eq!(alarm.ring(1), RingOutcome::Started);
        alarm.silence(1);
        assert_eq!(player.calls(), vec![Call::Play(ALERT, 0.8), Call::Stop]);
    }

    #[test]
    fn volume_is_clamped() {
        let player = Arc::new(Recorder::default());
        let alarm = alarm(
            &player,
            AlarmSettings {
                volume: 3.0,
                ..AlarmSettings::default()
            },
        );
        alarm.ring(1);
        assert_eq!(player.calls(), vec![Call::Play(ALERT, 1.0)]);
    }
}
