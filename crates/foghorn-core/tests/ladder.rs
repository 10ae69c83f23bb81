//! The escalation ladder against a real local target, with recording channels: steps fire in
//! order at their times, an acknowledgement stops the rest, a restart resumes without
//! repeating, and a failed message is retried.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use foghorn_core::config::Config;
use foghorn_core::deliver::{
    Channel, Deliver, Delivered, DeliveryError, Message, Secrets, SignedWebhook,
};
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::incident::{IncidentAction, IncidentView};
use foghorn_core::notify::LogNotifier;
use foghorn_core::policy::OnCall;
use foghorn_core::secret::{SecretError, SecretRef, SecretSource};
use foghorn_core::store::Store;
use time::OffsetDateTime;

use common::{eventually, target, UnknownRoute};

#[derive(Debug)]
struct AliceOnCall;
impl OnCall for AliceOnCall {
    fn on_call(&self, _: OffsetDateTime) -> bool {
        true
    }
}

/// Records what it was asked to send, with when; fails the first `fail_first` attempts.
#[derive(Debug)]
struct Recorder {
    channel: Channel,
    sent: Arc<Mutex<Vec<(Channel, Message, Instant)>>>,
    fail_first: AtomicUsize,
}

#[async_trait]
impl Deliver for Recorder {
    fn channel(&self) -> Channel {
        self.channel
    }
    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        if self
            .fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(DeliveryError::Retry {
                channel: self.channel,
                message: "503 from the vendor".to_owned(),
                retry_after: Some(Duration::from_millis(200)),
            });
        }
        self.sent
            .lock()
            .expect("lock")
            .push((self.channel, message.clone(), Instant::now()));
        Ok(Delivered {
            receipt: Some(format!("r-{}", message.idempotency_key)),
        })
    }
}

type Sent = Arc<Mutex<Vec<(Channel, Message, Instant)>>>;

fn config(url: &str, delay: &str) -> Config {
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [escalation]\nphones = {{ \"Alice Smith\" = \"+15550100\" }}\n\
         [[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n\
         [[escalation.steps]]\nafter = \"{delay}\"\naction = \"sms\"\nmin_severity = \"critical\"\n\
         [[escalation.steps]]\nafter = \"{delay}\"\naction = \"call\"\n\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"critical\"\n"
    );
    let mut config = Config::parse(&text, Path::new("test.toml")).expect("config");
    // The call comes one delay after the text.
    let twice = config.escalation.steps[1].after * 2;
    config.escalation.steps[2].after = twice;
    config
}

fn start(config: Config, store: Store, sent: &Sent, fail_sms: usize) -> Engine {
    let channel = |channel, fail: usize| -> Arc<dyn Deliver> {
        Arc::new(Recorder {
            channel,
            sent: sent.clone(),
            fail_first: AtomicUsize::new(fail),
        })
    };
    Engine::start(
        config,
        store,
        Arc::new(LogNotifier),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(Arc::new(AliceOnCall)),
            channels: vec![
                channel(Channel::Chat, 0),
                channel(Channel::Sms, fail_sms),
                channel(Channel::Call, 0),
            ],
            ..EngineOptions::default()
        },
    )
    .expect("engine")
}

fn channels(sent: &Sent) -> Vec<Channel> {
    sent.lock().expect("lock").iter().map(|s| s.0).collect()
}

fn incident(store: &Store) -> Option<IncidentView> {
    store.open_incidents().expect("incidents").pop()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_then_text_then_call_and_an_ack_stops_the_rest() {
    let up = Arc::new(AtomicBool::new(false));
    let (url, _t) = target("127.0.0.1", up.clone()).await;
    let store = Store::in_memory().expect("store");
    let sent: Sent = Arc::default();
    let engine = start(config(&url, "2s"), store.clone(), &sent, 1);
    let opened = eventually(10, "an incident", || incident(&store)).await;

    eventually(5, "the chat post", || {
        (channels(&sent) == [Channel::Chat]).then_some(())
    })
    .await;
    let chat = sent.lock().expect("lock")[0].1.clone();
    assert_eq!(chat.mentions, ["@channel"]);
    assert_eq!(chat.incident.title, "api is down");
    assert!(chat
        .incident
        .ack_hint
        .contains(&format!("foghorn ack {}", opened.id)));

    // The text fails once (503) and is retried; it goes to the person on call.
    eventually(10, "the text", || {
        (channels(&sent) == [Channel::Chat, Channel::Sms]).then_some(())
    })
    .await;
    let (chat_at, sms) = {
        let s = sent.lock().expect("lock");
        (s[0].2, s[1].clone())
    };
    assert_eq!(sms.1.to, "+15550100");
    assert!(
        sms.2 - chat_at >= Duration::from_millis(1000),
        "{:?}",
        sms.2 - chat_at
    );

    // Acknowledged before the call: the call never happens.
    engine
        .act(opened.id, IncidentAction::Acknowledge)
        .await
        .expect("ack");
    let ladder = store.ladder(opened.id).expect("ladder");
    let states: Vec<&str> = ladder.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["fired", "fired", "cancelled"]);
    assert_eq!(
        ladder[2].note.as_deref(),
        Some("acknowledged by Alice Smith")
    );
    // Past the call's time and a few ladder ticks: still no call.
    let past_due = ladder[2].due_at + time::Duration::seconds(2);
    eventually(10, "the call's time to pass", || {
        (OffsetDateTime::now_utc() > past_due).then_some(())
    })
    .await;
    assert_eq!(
        channels(&sent),
        [Channel::Chat, Channel::Sms],
        "no call after the ack"
    );
    let outbox = store.outbox().expect("outbox");
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[1].attempts, 2, "the text was retried once");
    assert!(outbox.iter().all(|m| m.sent));
    let detail = store
        .incident_detail(opened.id)
        .expect("detail")
        .expect("exists");
    let kinds: Vec<&str> = detail.timeline.iter().map(|t| t.kind.as_str()).collect();
    assert!(
        kinds.contains(&"escalated") && kinds.contains(&"message-sent"),
        "{kinds:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_ladder_without_repeating_a_step() {
    let up = Arc::new(AtomicBool::new(false));
    let (url, _t) = target("127.0.0.1", up.clone()).await;
    let dir = tempfile::tempdir().expect("dir");
    let sent: Sent = Arc::default();
    {
        let store = Store::open(dir.path()).expect("store");
        let engine = start(config(&url, "3s"), store.clone(), &sent, 0);
        eventually(10, "the chat post", || {
            (channels(&sent) == [Channel::Chat]).then_some(())
        })
        .await;
        engine.shutdown().await;
    }
    // Down while Foghorn is not running, past the text's time.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let store = Store::open(dir.path()).expect("reopen");
    let engine = start(config(&url, "3s"), store.clone(), &sent, 0);
    eventually(10, "the overdue text, then the call", || {
        (channels(&sent) == [Channel::Chat, Channel::Sms, Channel::Call]).then_some(())
    })
    .await;
    let id = incident(&store).expect("still open").id;
    let ladder = store.ladder(id).expect("ladder");
    assert!(
        ladder[1]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("fired late")),
        "{ladder:?}"
    );
    let keys: Vec<String> = store
        .outbox()
        .expect("outbox")
        .into_iter()
        .map(|m| m.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 3, "one message per step: {keys:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_changed_while_running_applies_to_the_next_incident() {
    let up = Arc::new(AtomicBool::new(false));
    let (url, _t) = target("127.0.0.1", up.clone()).await;
    let store = Store::in_memory().expect("store");
    let sent: Sent = Arc::default();
    let mut first = config(&url, "30s");
    // The next outage is a new incident, not the first one re-opened.
    first.incidents.retrigger_within = Duration::ZERO;
    let engine = start(first, store.clone(), &sent, 0);
    let opened = eventually(10, "an incident", || incident(&store)).await;
    eventually(10, "the chat post", || {
        (channels(&sent) == [Channel::Chat]).then_some(())
    })
    .await;

    // Saved from the settings page: call at once, nothing else.
    let text = "[escalation]\nphones = { \"Alice Smith\" = \"+15550100\" }\n\
                [[escalation.steps]]\nafter = \"0s\"\naction = \"call\"\n";
    let policy = Config::parse(text, Path::new("test.toml")).expect("policy");
    engine.set_escalation(policy.escalation);

    up.store(true, Ordering::SeqCst);
    eventually(10, "the incident to resolve", || {
        incident(&store).is_none().then_some(())
    })
    .await;
    up.store(false, Ordering::SeqCst);
    eventually(10, "a call, the new policy's only step", || {
        (channels(&sent) == [Channel::Chat, Channel::Call]).then_some(())
    })
    .await;
    let id = incident(&store).expect("a new incident").id;
    assert_ne!(id, opened.id);
    let ladder = store.ladder(id).expect("ladder");
    assert_eq!(ladder[0].action, "call", "{ladder:?}");
    assert_eq!(ladder[0].state, "fired", "{ladder:?}");
    assert_eq!(ladder.len(), 1, "{ladder:?}");
    // Nothing of the old policy fires for it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(channels(&sent), [Channel::Chat, Channel::Call]);
    engine.shutdown().await;
}

/// A vendor that always answers "try again" with the given `Retry-After`.
#[derive(Debug)]
struct RetryLater(Channel, Duration);

#[async_trait]
impl Deliver for RetryLater {
    fn channel(&self) -> Channel {
        self.0
    }
    async fn deliver(&self, _: &Message) -> Result<Delivered, DeliveryError> {
        Err(DeliveryError::Retry {
            channel: self.0,
            message: "429 from the vendor".to_owned(),
            retry_after: Some(self.1),
        })
    }
}

/// A channel whose client has a bug: it panics inside the ladder's task.
#[derive(Debug)]
struct Panics(Channel);

#[async_trait]
impl Deliver for Panics {
    fn channel(&self) -> Channel {
        self.0
    }
    async fn deliver(&self, _: &Message) -> Result<Delivered, DeliveryError> {
        panic!("the chat client has a bug");
    }
}

/// Chat through `chat`, then a text one second later through a recorder.
fn start_with_chat(url: &str, store: Store, sent: &Sent, chat: Arc<dyn Deliver>) -> Engine {
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [escalation]\nphones = {{ \"Alice Smith\" = \"+15550100\" }}\n\
         [[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n\
         [[escalation.steps]]\nafter = \"1s\"\naction = \"sms\"\n\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"critical\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config");
    Engine::start(
        config,
        store,
        Arc::new(LogNotifier),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(Arc::new(AliceOnCall)),
            channels: vec![
                chat,
                Arc::new(Recorder {
                    channel: Channel::Sms,
                    sent: sent.clone(),
                    fail_first: AtomicUsize::new(0),
                }),
            ],
            ..EngineOptions::default()
        },
    )
    .expect("engine")
}

/// When the outbox will try a message again.
fn next_attempt(store: &Store, key: &str) -> OffsetDateTime {
    let at: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT next_attempt_at FROM outbox WHERE idempotency_key = ?1",
                [key],
                |r| r.get(0),
            )?)
        })
        .expect("next attempt");
    foghorn_core::time_fmt::parse_rfc3339(&at).expect("a time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_at_past_the_end_of_time_does_not_panic_the_ladder() {
    let up = Arc::new(AtomicBool::new(false));
    let (url, _t) = target("127.0.0.1", up.clone()).await;
    let store = Store::in_memory().expect("store");
    let sent: Sent = Arc::default();
    // `Retry-After: 100000000000000`: three million years.
    let never = Arc::new(RetryLater(
        Channel::Chat,
        Duration::from_secs(100_000_000_000_000),
    ));
    let engine = start_with_chat(&url, store.clone(), &sent, never);
    let opened = eventually(10, "an incident", || incident(&store)).await;

    // The ladder lives on: the next step is sent.
    eventually(10, "the text after the chat post was refused", || {
        (channels(&sent) == [Channel::Sms]).then_some(())
    })
    .await;
    let chat = store
        .outbox()
        .expect("outbox")
        .into_iter()
        .find(|m| m.channel == "chat")
        .expect("the chat post is in the outbox");
    assert_eq!((chat.attempts, chat.sent, chat.failed), (1, false, false));
    // It waits at most an hour, not forever.
    let retry_at = next_attempt(&store, &chat.idempotency_key);
    let now = OffsetDateTime::now_utc();
    assert!(
        retry_at > now + time::Duration::minutes(50)
            && retry_at <= now + time::Duration::minutes(61),
        "retried at {retry_at}, now {now}"
    );
    assert!(store
        .ladder(opened.id)
        .expect("ladder")
        .iter()
        .all(|s| s.state == "fired"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ladder_task_that_panics_is_restarted_and_the_user_is_told() {
    let up = Arc::new(AtomicBool::new(false));
    let (url, _t) = target("127.0.0.1", up.clone()).await;
    let store = Store::in_memory().expect("store");
    let sent: Sent = Arc::default();
    let engine = start_with_chat(&url, store.clone(), &sent, Arc::new(Panics(Channel::Chat)));
    let mut events = engine.subscribe();
    eventually(10, "an incident", || incident(&store)).await;

    // The chat post panicked inside the ladder: the ladder is restarted and the text sent.
    eventually(15, "the text after the ladder's restart", || {
        (channels(&sent) == [Channel::Sms]).then_some(())
    })
    .await;
    let notices = engine.snapshot().expect("snapshot").notices;
    let told = notices
        .iter()
        .find(|n| n.contains("escalation ladder"))
        .unwrap_or_else(|| panic!("no notice about the ladder: {notices:?}"));
    assert!(told.contains("the chat client has a bug"), "{told}");
    assert!(told.contains("restarted"), "{told}");
    // The window heard it as it happened, too.
    let mut heard = false;
    while let Ok(event) = events.try_recv() {
        heard |=
            matches!(&event, foghorn_core::event::EngineEvent::Notice { notice } if notice == told);
    }
    assert!(heard, "no Notice event for {told:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_of_an_incident_stored_as_opened_at_the_end_of_time_fires_after_a_restart() {
    // What an older Foghorn (or a hand-edited database) left behind: an incident opened in
    // year 9999 whose first step is due now.
    let store = Store::in_memory().expect("store");
    let due =
        foghorn_core::time_fmt::rfc3339(OffsetDateTime::now_utc() - time::Duration::seconds(1));
    store
        .write(move |tx| {
            tx.execute(
                "INSERT INTO incidents(id, dedup_key, title, severity, state, opened_at)
                 VALUES (1, 'monitor:job', 'job is down', 'critical', 'triggered',
                         '9999-12-31T23:59:59.999Z')",
                [],
            )?;
            tx.execute(
                "INSERT INTO escalation_steps(incident_id, step, action, due_at, state)
                 VALUES (1, 0, 'chat', ?1, 'pending')",
                [due],
            )?;
            Ok(())
        })
        .await
        .expect("rows");
    // An Alertmanager that takes pushed incidents makes the ladder ask whose laptop climbs
    // it, from the incident's opening time; it is down, so after the grace this one does.
    let text = "[me]\nnames = [\"Alice Smith\"]\n\n\
                [heartbeats]\nlisten = \"127.0.0.1:0\"\n\n\
                [[monitors]]\nname = \"job\"\nheartbeat = \"1h\"\n\n\
                [[feeds]]\nkind = \"alertmanager\"\nurl = \"http://127.0.0.1:9\"\npoll_every = \"1s\"\n\n\
                [escalation]\n[[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n";
    let config = Config::parse(text, Path::new("test.toml")).expect("config");
    let sent: Sent = Arc::default();
    let engine = Engine::start(
        config,
        store.clone(),
        Arc::new(LogNotifier),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(Arc::new(AliceOnCall)),
            channels: vec![Arc::new(Recorder {
                channel: Channel::Chat,
                sent: sent.clone(),
                fail_first: AtomicUsize::new(0),
            })],
            ..EngineOptions::default()
        },
    )
    .expect("engine");
    eventually(20, "the stored incident's chat post", || {
        sent.lock()
            .expect("lock")
            .iter()
            .any(|(_, m, _)| m.incident.id == 1)
            .then_some(())
    })
    .await;
    assert_eq!(store.ladder(1).expect("ladder")[0].state, "fired");
    let notices = engine.snapshot().expect("snapshot").notices;
    assert!(
        !notices.iter().any(|n| n.contains("internal error")),
        "nothing stopped on the way: {notices:?}"
    );
    engine.shutdown().await;
}

/// Secrets from a fixed list, for the real senders.
#[derive(Debug)]
struct FixedSecrets(&'static [(&'static str, &'static str)]);

impl SecretSource for FixedSecrets {
    fn resolve(&self, secret: &SecretRef) -> Result<String, SecretError> {
        let (SecretRef::Env(name) | SecretRef::Keyring(name)) = secret;
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| (*v).to_owned())
            .ok_or_else(|| SecretError::EnvMissing(secret.clone()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_429_with_a_retry_after_of_a_hundred_trillion_seconds_does_not_stop_the_ladder()
{
    let (hook, hook_requests, _hook) = common::answering(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 100000000000000\r\n\
         Content-Length: 10\r\nConnection: close\r\n\r\nslow down!"
            .to_owned(),
    )
    .await;
    let up = Arc::new(AtomicBool::new(false));
    let (url, _t) = target("127.0.0.1", up.clone()).await;
    let text = format!(
        "[me]\nnames = [\"Alice Smith\"]\n\n\
         [escalation]\nphones = {{ \"Alice Smith\" = \"+15550100\" }}\n\
         [[escalation.steps]]\nafter = \"0s\"\naction = \"webhook\"\nurl = \"{hook}/hooks\"\n\
         secret = \"env:HOOK_SECRET\"\n\
         [[escalation.steps]]\nafter = \"1s\"\naction = \"sms\"\n\n\
         [[monitors]]\nname = \"api\"\nurl = \"{url}\"\ninterval = \"1s\"\nfailure_threshold = 1\n\
         severity = \"critical\"\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config");
    let webhook = SignedWebhook::new(&config.escalation.steps[0]).with_secrets(Secrets(Arc::new(
        FixedSecrets(&[("HOOK_SECRET", "s3cret")]),
    )));
    let store = Store::in_memory().expect("store");
    let sent: Sent = Arc::default();
    let engine = Engine::start(
        config,
        store.clone(),
        Arc::new(LogNotifier),
        EngineOptions {
            network: Some(Arc::new(UnknownRoute)),
            oncall: Some(Arc::new(AliceOnCall)),
            channels: vec![
                Arc::new(webhook),
                Arc::new(Recorder {
                    channel: Channel::Sms,
                    sent: sent.clone(),
                    fail_first: AtomicUsize::new(0),
                }),
            ],
            ..EngineOptions::default()
        },
    )
    .expect("engine");

    // The webhook is told to come back in three million years; the ladder carries on.
    eventually(15, "the text after the rate-limited webhook", || {
        (channels(&sent) == [Channel::Sms]).then_some(())
    })
    .await;
    let outbox = store.outbox().expect("outbox");
    let hook_message = outbox
        .iter()
        .find(|m| m.channel == "webhook")
        .expect("the webhook message");
    assert_eq!(
        (
            hook_message.attempts,
            hook_message.sent,
            hook_message.failed
        ),
        (1, false, false),
        "{hook_message:?}"
    );
    assert!(
        hook_message
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("429")),
        "{hook_message:?}"
    );
    // Retried within the clamp: an hour from the attempt, not never.
    let wait = hook_message.next_attempt_at - OffsetDateTime::now_utc();
    assert!(
        wait > time::Duration::minutes(55) && wait <= time::Duration::hours(1),
        "next attempt in {wait}"
    );
    assert_eq!(hook_requests.lock().expect("lock").len(), 1);
    engine.shutdown().await;
}
