//! The ladder's outgoing channels against the vendors' own descriptions: Twilio, Slack's Web
//! API and PagerDuty Events through Prism (a request that breaks the spec fails the test),
//! Slack's incoming webhook and the signed webhook through local receivers that record what
//! arrives, and every way a vendor can fail mapped to retry or give up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context, Result};
use foghorn_core::config::{EscalationConfig, EscalationStep, StepAction};
use foghorn_core::deliver::{
    Channel, Deliver, DeliveryError, Message, MessageIncident, PagerDutyEvents, Secrets,
    SignedWebhook, SlackApi, SlackWebhook, TwilioCall, TwilioSms,
};
use foghorn_core::incident::Severity;
use foghorn_core::secret::{SecretError, SecretRef, SecretSource};
use foghorn_e2e::prism::{spec, Prism};
use foghorn_e2e::receiver::{answer, Receiver, Reply};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const FROM: &str = "+15557654321";
const ON_CALL: &str = "+15551234567";

/// Secrets kept in memory by name (`env:NAME` and `keyring:NAME` alike).
struct MapSecrets(HashMap<String, String>);

impl SecretSource for MapSecrets {
    fn resolve(&self, secret: &SecretRef) -> Result<String, SecretError> {
        let (SecretRef::Env(name) | SecretRef::Keyring(name)) = secret;
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| SecretError::EnvMissing(secret.clone()))
    }
}

fn secrets(pairs: &[(&str, &str)]) -> Secrets {
    Secrets(Arc::new(MapSecrets(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )))
}

fn secret_ref(s: &str) -> SecretRef {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn message(channel: Channel, to: &str) -> Message {
    Message {
        channel,
        idempotency_key: "incident:12:step:1".to_owned(),
        to: to.to_owned(),
        incident: MessageIncident {
            id: 12,
            dedup_key: "foghorn:monitor:api".to_owned(),
            title: "api is down".to_owned(),
            severity: Severity::Critical,
            summary: "HTTP 503 from https://api.example.com/health (3 checks in a row)".to_owned(),
            link: Some("https://status.example.com/incidents/12".to_owned()),
            ack_hint: "Acknowledge in Foghorn, or reply ACK".to_owned(),
        },
        mentions: Vec::new(),
    }
}

fn twilio_config(api: &str) -> EscalationConfig {
    EscalationConfig {
        twilio_account: Some(ACCOUNT.to_owned()),
        twilio_token: Some(secret_ref("env:TWILIO_TOKEN")),
        twilio_from: Some(FROM.to_owned()),
        twilio_api: api.to_owned(),
        phones: [("Alice Smith".to_owned(), ON_CALL.to_owned())].into(),
        ..Default::default()
    }
}

fn slack_config(api: &str) -> EscalationConfig {
    EscalationConfig {
        slack_webhook: Some(secret_ref("env:SLACK_WEBHOOK")),
        slack_token: Some(secret_ref("keyring:slack")),
        slack_channel: Some("C0BACKEND".to_owned()),
        slack_api: api.to_owned(),
        mention: vec!["@channel".to_owned(), "U0ALICE".to_owned()],
        ..Default::default()
    }
}

fn webhook_step(url: &str) -> EscalationStep {
    EscalationStep {
        after: Duration::ZERO,
        action: StepAction::Webhook,
        min_severity: None,
        unacknowledged: true,
        nobody_online: false,
        url: Some(foghorn_core::secret::Confidential::Clear(url.to_owned())),
        secret: Some(secret_ref("env:HOOK_SECRET")),
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

// ---------------------------------------------------------------------------------------
// Against the vendors' descriptions (Prism).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_sms_and_call_follow_twilios_spec() -> Result<()> {
    let prism = Prism::mock(&spec("twilio-api-v2010-messages-calls-openapi.json"))?;
    // The spec's server is `https://api.twilio.com` with no path: the mock is the same.
    let config = twilio_config(&prism.url());
    let s = secrets(&[("TWILIO_TOKEN", "twilio-auth-token")]);

    let sms = TwilioSms::new(&config).with_secrets(s.clone());
    let sent = sms
        .deliver(&message(Channel::Sms, "Alice Smith"))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(
        sent.receipt.as_deref().is_some_and(|r| r.starts_with("SM")),
        "{sent:?}"
    );

    let call = TwilioCall::new(&config).with_secrets(s);
    let placed = call
        .deliver(&message(Channel::Call, ON_CALL))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(
        placed
            .receipt
            .as_deref()
            .is_some_and(|r| r.starts_with("CA")),
        "{placed:?}"
    );

    prism.assert_no_violations()?;
    let requests = prism.requests();
    for resource in ["Messages.json", "Calls.json"] {
        let want = format!("post /2010-04-01/Accounts/{ACCOUNT}/{resource}");
        ensure!(requests.contains(&want), "{want} not in {requests:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_chat_post_message_follows_slacks_spec() -> Result<()> {
    let prism = Prism::mock(&spec("slack-web-api-chat-openapi-v2.json"))?;
    let config = slack_config(&prism.url());
    let api = SlackApi::new(&config).with_secrets(secrets(&[("slack", "xoxb-test-token")]));
    let outcome = api.deliver(&message(Channel::Chat, "")).await;
    match &outcome {
        Ok(d) => ensure!(d.receipt.is_some(), "{d:?}"),
        // The mock's own example answer breaks the spec's response schema
        // (`message.attachments[0]` has a `text` the schema does not allow), so `--errors`
        // turns it into a 500 after the request passed validation; a request that broke the
        // spec would get a 4xx and a violation. The request is what this test is about.
        Err(DeliveryError::Retry { message, .. })
            if message.contains("HTTP 500")
                && message.contains("Prism is generating this error") => {}
        Err(e) => bail!("unexpected outcome: {e}"),
    }
    prism.assert_no_violations()?;
    ensure!(
        prism
            .requests()
            .contains(&"post /chat.postMessage".to_owned()),
        "{:?}",
        prism.requests()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_trigger_follows_the_events_spec() -> Result<()> {
    let prism = Prism::mock(&spec("pagerduty-events-v2-openapiv3.json"))?;
    let pd =
        PagerDutyEvents::new(&prism.url(), Some(secret_ref("env:PD_ROUTING_KEY"))).with_secrets(
            secrets(&[("PD_ROUTING_KEY", "0123456789abcdef0123456789abcdef")]),
        );
    let sent = pd
        .deliver(&message(Channel::Pagerduty, ""))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    // The mock answers with the spec's example dedup key.
    ensure!(sent.receipt.is_some(), "{sent:?}");
    prism.assert_no_violations()?;
    ensure!(
        prism.requests().contains(&"post /enqueue".to_owned()),
        "{:?}",
        prism.requests()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Local receivers.

#[tokio::test]
async fn slack_incoming_webhook_body_matches_the_payload_schema() -> Result<()> {
    let hook = Receiver::start(|_| answer(200, "ok")).await?;
    let webhook_url = format!("{}/services/T000/B000/XXXX", hook.url());
    let config = slack_config("http://127.0.0.1:9");
    let sender =
        SlackWebhook::new(&config).with_secrets(secrets(&[("SLACK_WEBHOOK", &webhook_url)]));
    let sent = sender
        .deliver(&message(Channel::Chat, ""))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(sent.receipt.is_none());

    let requests = hook.requests();
    ensure!(requests.len() == 1, "{requests:?}");
    let r = &requests[0];
    ensure!(
        r.method == "POST" && r.path == "/services/T000/B000/XXXX",
        "{r:?}"
    );
    ensure!(
        r.header("content-type") == Some("application/json"),
        "{r:?}"
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body)?;
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(spec(
        "slack-incoming-webhook-payload.schema.json",
    ))?)?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| anyhow!("schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| e.to_string())
        .collect();
    ensure!(
        errors.is_empty(),
        "body breaks the schema: {errors:?}\n{body}"
    );

    let text = body["text"].as_str().context("text")?;
    for part in [
        "<!channel> <@U0ALICE>",
        "*CRITICAL* api is down",
        "HTTP 503 from https://api.example.com/health",
        "<https://status.example.com/incidents/12|Open the incident>",
        "Acknowledge in Foghorn, or reply ACK",
    ] {
        ensure!(text.contains(part), "{part:?} missing from {text:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_webhook_signature_covers_the_timestamp_and_verifies_with_the_shared_secret(
) -> Result<()> {
    const SECRET: &str = "s3cret-shared-with-the-receiver";
    let verified = Arc::new(Mutex::new(Vec::new()));
    let v = verified.clone();
    let hook = Receiver::start(move |r| {
        // What a receiver does (README): HMAC-SHA256 of "{timestamp}.{raw body}", compared in
        // constant time, then the timestamp checked against its own clock.
        let timestamp = r.header("x-foghorn-timestamp").unwrap_or_default();
        let signed = |timestamp: &str| {
            r.header("x-foghorn-signature")
                .and_then(|h| h.strip_prefix("sha256="))
                .and_then(|h| hex::decode(h).ok())
                .is_some_and(|sig| {
                    let mut mac =
                        Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
                    mac.update(timestamp.as_bytes());
                    mac.update(b".");
                    mac.update(&r.body);
                    mac.verify_slice(&sig).is_ok()
                })
        };
        let fresh = timestamp
            .parse::<i64>()
            .is_ok_and(|t| (time::OffsetDateTime::now_utc().unix_timestamp() - t).abs() <= 300);
        // The timestamp is part of what is signed: the same signature with another one fails.
        let replayable = timestamp
            .parse::<i64>()
            .is_ok_and(|t| signed(&(t - 3600).to_string()));
        let ok = signed(timestamp) && fresh && !replayable;
        if let Ok(mut v) = v.lock() {
            v.push(ok);
        }
        if ok {
            answer(204, "")
        } else {
            answer(401, "bad signature")
        }
    })
    .await?;
    let url = format!("{}/hooks/foghorn", hook.url());
    let sender =
        SignedWebhook::new(&webhook_step(&url)).with_secrets(secrets(&[("HOOK_SECRET", SECRET)]));
    let msg = message(Channel::Webhook, "");
    sender.deliver(&msg).await.map_err(|e| anyhow!("{e}"))?;

    let wrong = SignedWebhook::new(&webhook_step(&url))
        .with_secrets(secrets(&[("HOOK_SECRET", "not-the-secret")]));
    let refused = wrong.deliver(&msg).await;
    ensure!(
        matches!(&refused, Err(DeliveryError::Permanent { message, .. }) if message.contains("bad signature")),
        "{refused:?}"
    );

    ensure!(*verified.lock().map_err(|_| anyhow!("poisoned"))? == vec![true, false]);
    let r = &hook.requests()[0];
    ensure!(r.path == "/hooks/foghorn", "{r:?}");
    ensure!(
        r.header("idempotency-key") == Some("incident:12:step:1"),
        "{r:?}"
    );
    let ts: u64 = r
        .header("x-foghorn-timestamp")
        .context("timestamp")?
        .parse()?;
    ensure!(ts > 1_700_000_000, "{ts}");
    let received: Message = serde_json::from_slice(&r.body)?;
    ensure!(received == msg, "{received:?}");
    Ok(())
}

/// A server that answers every request 200 with 20 MB and no `Content-Length` (the body
/// ends when the connection closes); its URL.
async fn twenty_megabytes_streamed() -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 8192];
                let _ = socket.read(&mut head).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    .await;
                let chunk = vec![b'x'; 1 << 20];
                for _ in 0..20 {
                    if socket.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_delivery_reply_is_cut_off_with_a_clear_error() -> Result<()> {
    let huge = "x".repeat(20 << 20);
    let with_length = Receiver::start(move |_| answer(200, &huge)).await?;
    let streamed = twenty_megabytes_streamed().await?;
    for url in [with_length.url(), streamed] {
        let sender = SignedWebhook::new(&webhook_step(&format!("{url}/hooks/foghorn")))
            .with_secrets(secrets(&[("HOOK_SECRET", "k")]))
            .with_timeout(Duration::from_secs(5));
        let e = sender
            .deliver(&message(Channel::Webhook, ""))
            .await
            .expect_err("a 20 MB answer is not read");
        ensure!(
            matches!(&e, DeliveryError::Permanent { message, .. }
                if message == "webhook: HTTP 200 OK: the answer is larger than 1 MiB (not read)"),
            "{e:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn twilio_form_carries_the_words_and_the_idempotency_token() -> Result<()> {
    let twilio = Receiver::start(|r| {
        let sid = if r.path.ends_with("Calls.json") {
            "CA1"
        } else {
            "SM1"
        };
        answer(201, &format!(r#"{{"sid": "{sid}", "status": "queued"}}"#))
    })
    .await?;
    let config = twilio_config(&twilio.url());
    let s = secrets(&[("TWILIO_TOKEN", "tok")]);
    let sms = TwilioSms::new(&config).with_secrets(s.clone());
    let call = TwilioCall::new(&config).with_secrets(s);
    let texted = sms.deliver(&message(Channel::Sms, ON_CALL)).await;
    let called = call.deliver(&message(Channel::Call, "Alice Smith")).await;
    ensure!(texted.map(|d| d.receipt) == Ok(Some("SM1".into())));
    ensure!(called.map(|d| d.receipt) == Ok(Some("CA1".into())));

    let requests = twilio.requests();
    ensure!(requests.len() == 2, "{requests:?}");
    for r in &requests {
        ensure!(
            r.header("i-twilio-idempotency-token") == Some("incident:12:step:1"),
            "{r:?}"
        );
        // Basic auth, account SID and token.
        ensure!(
            r.header("authorization")
                == Some("Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0b2s="),
            "{r:?}"
        );
        let f = form(&r.body);
        ensure!(f.get("To").map(String::as_str) == Some(ON_CALL), "{f:?}");
        ensure!(f.get("From").map(String::as_str) == Some(FROM), "{f:?}");
    }
    let sms_body = &form(&requests[0].body)["Body"];
    ensure!(sms_body.chars().count() <= 160, "{sms_body}");
    ensure!(
        sms_body.starts_with("Foghorn CRITICAL: api is down."),
        "{sms_body}"
    );
    let twiml = &form(&requests[1].body)["Twiml"];
    ensure!(
        twiml.starts_with(
            "<Response><Say loop=\"3\">This is Foghorn. Critical incident: api is down."
        ) && twiml.ends_with("</Say></Response>"),
        "{twiml}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Failures.

fn retry_after(e: &DeliveryError) -> Option<Duration> {
    match e {
        DeliveryError::Retry { retry_after, .. } => *retry_after,
        _ => None,
    }
}

#[tokio::test]
async fn vendor_failures_map_to_retry_or_permanent() -> Result<()> {
    let server = Receiver::start(|r| {
        let scenario = r.path.split('/').nth(1).unwrap_or_default();
        match scenario {
            "down" => answer(500, "upstream exploded"),
            "slow" => Reply::Answer {
                status: 429,
                headers: vec![("Retry-After", "7".to_owned())],
                body: r#"{"code": 20429, "message": "Too Many Requests"}"#.to_owned(),
            },
            "bad" => answer(
                400,
                r#"{"code": 21211, "message": "The 'To' number +15551234567 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#,
            ),
            "hang" => Reply::Hang,
            "slack-ok" => answer(200, r#"{"ok": true, "channel": "C0BACKEND", "ts": "1503435956.000247"}"#),
            "slack-missing" => answer(200, r#"{"ok": false, "error": "channel_not_found"}"#),
            "slack-limited" => Reply::Answer {
                status: 200,
                headers: vec![("Retry-After", "30".to_owned())],
                body: r#"{"ok": false, "error": "ratelimited"}"#.to_owned(),
            },
            "webhook-gone" => answer(410, "channel_is_archived"),
            _ => answer(404, "no such scenario"),
        }
    })
    .await?;
    let s = secrets(&[
        ("TWILIO_TOKEN", "tok"),
        ("slack", "xoxb-1"),
        (
            "SLACK_WEBHOOK",
            &format!("{}/webhook-gone/T/B/X", server.url()),
        ),
        ("HOOK_SECRET", "k"),
    ]);
    let sms = |scenario: &str| {
        TwilioSms::new(&twilio_config(&format!("{}/{scenario}", server.url())))
            .with_secrets(s.clone())
            .with_timeout(Duration::from_millis(500))
    };
    let msg = message(Channel::Sms, ON_CALL);

    let e = sms("down").deliver(&msg).await.expect_err("500");
    ensure!(
        matches!(&e, DeliveryError::Retry { channel: Channel::Sms, message, retry_after: None }
            if message.contains("500") && message.contains("upstream exploded")),
        "{e:?}"
    );

    let e = sms("slow").deliver(&msg).await.expect_err("429");
    ensure!(matches!(e, DeliveryError::Retry { .. }), "{e:?}");
    ensure!(retry_after(&e) == Some(Duration::from_secs(7)), "{e:?}");

    let e = sms("bad").deliver(&msg).await.expect_err("400");
    ensure!(
        matches!(&e, DeliveryError::Permanent { message, .. }
            if message.contains("is not a valid phone number") && message.contains("21211")),
        "{e:?}"
    );

    let started = std::time::Instant::now();
    let e = sms("hang").deliver(&msg).await.expect_err("hang");
    ensure!(
        matches!(&e, DeliveryError::Retry { message, .. } if message.contains("timed out after 500ms")),
        "{e:?}"
    );
    ensure!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Nothing listens there: a connection error is retried.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?
    };
    let e = TwilioSms::new(&twilio_config(&format!("http://{closed}")))
        .with_secrets(s.clone())
        .deliver(&msg)
        .await
        .expect_err("refused");
    ensure!(matches!(e, DeliveryError::Retry { .. }), "{e:?}");

    // Slack's Web API says what went wrong in a 200.
    let slack = |scenario: &str| {
        SlackApi::new(&slack_config(&format!("{}/{scenario}", server.url())))
            .with_secrets(s.clone())
    };
    let chat = message(Channel::Chat, "");
    let ok = slack("slack-ok").deliver(&chat).await;
    ensure!(ok.map(|d| d.receipt) == Ok(Some("1503435956.000247".into())));
    let e = slack("slack-missing")
        .deliver(&chat)
        .await
        .expect_err("missing");
    ensure!(
        matches!(&e, DeliveryError::Permanent { message, .. } if message.contains("channel_not_found")),
        "{e:?}"
    );
    let e = slack("slack-limited")
        .deliver(&chat)
        .await
        .expect_err("limited");
    ensure!(retry_after(&e) == Some(Duration::from_secs(30)), "{e:?}");
    let posted = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/slack-ok/chat.postMessage")
        .context("chat.postMessage request")?;
    ensure!(
        posted.header("authorization") == Some("Bearer xoxb-1"),
        "{posted:?}"
    );
    let f = form(&posted.body);
    ensure!(
        f.get("channel").map(String::as_str) == Some("C0BACKEND"),
        "{f:?}"
    );
    let metadata: serde_json::Value = serde_json::from_str(&f["metadata"])?;
    ensure!(
        metadata["event_payload"]["idempotency_key"] == "incident:12:step:1",
        "{metadata}"
    );

    // The incoming webhook answers in plain text.
    let e = SlackWebhook::new(&slack_config("http://127.0.0.1:9"))
        .with_secrets(s.clone())
        .deliver(&chat)
        .await
        .expect_err("archived");
    ensure!(
        matches!(&e, DeliveryError::Permanent { message, .. } if message.contains("channel_is_archived")),
        "{e:?}"
    );
    // The secret URL is never part of an error.
    let e = SlackWebhook::new(&slack_config("http://127.0.0.1:9"))
        .with_secrets(secrets(&[(
            "SLACK_WEBHOOK",
            &format!("http://{closed}/T/B/SECRETPART"),
        )]))
        .deliver(&chat)
        .await
        .expect_err("refused");
    ensure!(!e.to_string().contains("SECRETPART"), "{e}");
    Ok(())
}

#[tokio::test]
async fn a_missing_secret_or_phone_is_permanent_and_sends_nothing() -> Result<()> {
    let server = Receiver::start(|_| answer(200, r#"{"ok": true, "sid": "SM1"}"#)).await?;
    let url = server.url();
    let none = secrets(&[]);
    let some = secrets(&[
        ("TWILIO_TOKEN", "tok"),
        ("HOOK_SECRET", "k"),
        ("slack", "xoxb"),
    ]);

    let mut cases: Vec<(Box<dyn Deliver>, Message, &str)> = vec![
        (
            Box::new(TwilioSms::new(&twilio_config(&url)).with_secrets(none.clone())),
            message(Channel::Sms, ON_CALL),
            "env:TWILIO_TOKEN",
        ),
        (
            Box::new(TwilioSms::new(&twilio_config(&url)).with_secrets(some.clone())),
            message(Channel::Sms, ""),
            "no phone number",
        ),
        (
            Box::new(TwilioCall::new(&twilio_config(&url)).with_secrets(some.clone())),
            message(Channel::Call, "Bob Jones"),
            "no phone number for \"Bob Jones\"",
        ),
        (
            Box::new(SlackWebhook::new(&slack_config(&url)).with_secrets(none.clone())),
            message(Channel::Chat, ""),
            "slack_webhook: env:SLACK_WEBHOOK",
        ),
        (
            Box::new(SlackApi::new(&slack_config(&url)).with_secrets(none.clone())),
            message(Channel::Chat, ""),
            "slack_token: keyring:slack",
        ),
        (
            Box::new(PagerDutyEvents::new(&url, None).with_secrets(some.clone())),
            message(Channel::Pagerduty, ""),
            "routing_key is not set",
        ),
        (
            Box::new(SignedWebhook::new(&webhook_step(&url)).with_secrets(none.clone())),
            message(Channel::Webhook, ""),
            "secret: env:HOOK_SECRET",
        ),
    ];
    let mut no_account = twilio_config(&url);
    no_account.twilio_account = None;
    cases.push((
        Box::new(TwilioCall::new(&no_account).with_secrets(some.clone())),
        message(Channel::Call, ON_CALL),
        "twilio_account is not set",
    ));
    let mut no_channel = slack_config(&url);
    no_channel.slack_channel = None;
    cases.push((
        Box::new(SlackApi::new(&no_channel).with_secrets(some)),
        message(Channel::Chat, ""),
        "slack_channel is not set",
    ));

    for (sender, msg, says) in &cases {
        let e = sender.deliver(msg).await.expect_err("must fail");
        ensure!(
            matches!(&e, DeliveryError::Permanent { channel, message } if *channel == sender.channel() && message.contains(says)),
            "{sender:?}: {e:?} should say {says:?}"
        );
    }
    ensure!(server.connections() == 0, "{:?}", server.requests());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The whole ladder in the real binary: a headless Foghorn, its monitor's target down, Slack's
// webhook at a local receiver and Twilio at Prism.

/// A laptop whose person ("Alice Smith", on call by the calendar) has a three-step ladder:
/// chat at once, a text after `delay`, a call after twice that.
struct LadderRun {
    home: tempfile::TempDir,
    config: std::path::PathBuf,
    target: foghorn_e2e::Target,
    slack: Receiver,
    twilio: Prism,
}

impl LadderRun {
    async fn new(delay_secs: u64) -> Result<Self> {
        let home = tempfile::tempdir()?;
        let target = foghorn_e2e::Target::start().await?;
        let slack = Receiver::start(|_| answer(200, "ok")).await?;
        let twilio = Prism::mock(&spec("twilio-api-v2010-messages-calls-openapi.json"))?;
        std::fs::write(
            home.path().join("oncall.ics"),
            foghorn_e2e::target::oncall_calendar("Alice Smith"),
        )?;
        let config = home.path().join("foghorn.toml");
        std::fs::write(
            &config,
            format!(
                "[me]\nnames = [\"Alice Smith\"]\n\n[oncall]\ncalendar = \"oncall.ics\"\n\n\
                 [escalation]\nslack_webhook = \"env:SLACK_WEBHOOK\"\n\
                 twilio_account = \"{ACCOUNT}\"\ntwilio_token = \"env:TWILIO_TOKEN\"\n\
                 twilio_from = \"{FROM}\"\ntwilio_api = \"{}\"\n\
                 phones = {{ \"Alice Smith\" = \"{ON_CALL}\" }}\n\n\
                 [[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n\n\
                 [[escalation.steps]]\nafter = \"{delay_secs}s\"\naction = \"sms\"\n\n\
                 [[escalation.steps]]\nafter = \"{}s\"\naction = \"call\"\n\n\
                 [[monitors]]\nname = \"Checkout\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
                 failure_threshold = 1\nseverity = \"critical\"\n",
                twilio.url(),
                2 * delay_secs,
                target.url(),
            ),
        )?;
        Ok(Self {
            home,
            config,
            target,
            slack,
            twilio,
        })
    }

    fn command(&self) -> Result<std::process::Command> {
        let mut cmd = foghorn_e2e::paths::foghorn_command(self.home.path())?;
        cmd.env("FOGHORN_DATA_DIR", self.home.path().join("data"))
            .env(
                "SLACK_WEBHOOK",
                format!("{}/hooks/T0/B0/x", self.slack.url()),
            )
            .env("TWILIO_TOKEN", "test-token");
        Ok(cmd)
    }

    fn start(&self, name: &str) -> Result<foghorn_e2e::process::ChildGuard> {
        let mut cmd = self.command()?;
        cmd.args(["run", "--headless", "--config"])
            .arg(&self.config);
        foghorn_e2e::process::ChildGuard::spawn(name, cmd, self.home.path())
    }

    fn chats(&self) -> usize {
        self.slack.requests().len()
    }

    fn twilio(&self, resource: &str) -> usize {
        self.twilio
            .requests()
            .iter()
            .filter(|r| r.ends_with(resource))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladder_posts_texts_and_an_ack_stops_the_call() -> Result<()> {
    let run = LadderRun::new(4).await?;
    let engine = run.start("ladder")?;
    run.target.set_healthy(false);
    let wait = Duration::from_secs(30);
    foghorn_e2e::wait_until(wait, "the chat post", || {
        Ok((run.chats() == 1).then_some(()))
    })
    .with_context(|| engine.stderr())?;
    let post = &run.slack.requests()[0];
    let text = String::from_utf8_lossy(&post.body).into_owned();
    ensure!(
        text.contains("<!channel>") && text.contains("Checkout is down"),
        "{text}"
    );
    foghorn_e2e::wait_until(wait, "the text", || {
        Ok((run.twilio("Messages.json") == 1).then_some(()))
    })
    .with_context(|| engine.stderr())?;

    // Acknowledged between the text and the call.
    let out = run.command()?.args(["ack", "1"]).output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Past the call's time: the engine logs each step; wait for the cancelled one.
    foghorn_e2e::wait_until(wait, "the call's time to pass", || {
        let ladder = incident_ladder(run.home.path())?;
        Ok((ladder.get(2).map(|s| s.0.as_str()) == Some("cancelled")).then_some(ladder))
    })?;
    ensure!(run.twilio("Calls.json") == 0, "no call after the ack");
    ensure!(
        run.chats() == 1 && run.twilio("Messages.json") == 1,
        "nothing twice"
    );
    run.twilio.assert_no_violations()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_ladder_then_restart_sends_each_step_once() -> Result<()> {
    let run = LadderRun::new(3).await?;
    let wait = Duration::from_secs(30);
    let first = run.start("before-kill")?;
    run.target.set_healthy(false);
    foghorn_e2e::wait_until(wait, "the chat post", || {
        Ok((run.chats() == 1).then_some(()))
    })
    .with_context(|| first.stderr())?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )?;
    drop(first);
    // Down past the text's time while nothing runs, then back.
    foghorn_e2e::wait_until(wait, "the text's time to pass", || {
        let ladder = incident_ladder(run.home.path())?;
        let due = ladder.get(1).map(|s| s.1).unwrap_or(i64::MAX);
        Ok((time::OffsetDateTime::now_utc().unix_timestamp() > due + 3).then_some(()))
    })?;
    let second = run.start("after-kill")?;
    foghorn_e2e::wait_until(wait, "the late text and the call", || {
        Ok((run.twilio("Messages.json") == 1 && run.twilio("Calls.json") == 1).then_some(()))
    })
    .with_context(|| second.stderr())?;
    let ladder = incident_ladder(run.home.path())?;
    ensure!(
        ladder.iter().all(|s| s.0 == "fired"),
        "every step fired once: {ladder:?}"
    );
    // A few more ladder ticks: still one of each.
    run.target.answer_more_blocking(3, wait)?;
    ensure!(
        run.chats() == 1 && run.twilio("Messages.json") == 1 && run.twilio("Calls.json") == 1,
        "no duplicate: {} chats, {} texts, {} calls",
        run.chats(),
        run.twilio("Messages.json"),
        run.twilio("Calls.json")
    );
    run.twilio.assert_no_violations()?;
    Ok(())
}

/// The first incident's ladder: (state, due as unix seconds) per step.
fn incident_ladder(home: &std::path::Path) -> Result<Vec<(String, i64)>> {
    let db = rusqlite::Connection::open_with_flags(
        home.join("data/foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt = db.prepare(
        "SELECT state, due_at FROM escalation_steps WHERE incident_id = 1 ORDER BY step",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (state, due) = row?;
        let due =
            time::OffsetDateTime::parse(&due, &time::format_description::well_known::Rfc3339)?
                .unix_timestamp();
        out.push((state, due));
    }
    Ok(out)
}
