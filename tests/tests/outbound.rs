//! Every client that carries a secret (a feed's API keys, a channel's token or signature, a
//! calendar's secret URL) against a server that redirects it to another port on 127.0.0.1:
//! the redirect is not followed, the other port receives nothing, and the error says where
//! the redirect pointed. A redirect within the same origin is still followed, without a
//! `Referer`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use foghorn_core::config::{EscalationConfig, EscalationStep, FeedConfig, StepAction};
use foghorn_core::deliver::{
    Channel, Deliver, DeliveryError, Message, MessageIncident, Secrets, SignedWebhook, SlackApi,
};
use foghorn_core::feed::{DatadogFeed, Feed, FeedError};
use foghorn_core::incident::Severity;
use foghorn_core::oncall::{CalendarSource, Fetched};
use foghorn_core::secret::{SecretError, SecretRef, SecretSource};
use foghorn_e2e::receiver::{answer, Receiver, Reply};
use serde_json::json;

/// Secrets kept in memory by name.
#[derive(Debug)]
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

fn secrets() -> MapSecrets {
    MapSecrets(
        [
            ("DD_API", "dd-api-key-s3cret"),
            ("DD_APP", "dd-app-key-s3cret"),
            ("SLACK_TOKEN", "xoxb-s3cret"),
            ("HOOK_SECRET", "hook-s3cret"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    )
}

fn secret_ref(s: &str) -> SecretRef {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A server that records everything sent to it (the other port) and one that redirects
/// every request there, keeping the path and query.
async fn redirect_to_other_port(status: u16) -> Result<(Receiver, Receiver)> {
    let elsewhere = Receiver::start(|_| answer(200, "{}")).await?;
    let to = elsewhere.url();
    let redirecting = Receiver::start(move |r| Reply::Answer {
        status,
        headers: vec![("Location", format!("{to}{}", r.path))],
        body: String::new(),
    })
    .await?;
    Ok((redirecting, elsewhere))
}

/// The other port got nothing, and `error` names it.
fn not_followed(elsewhere: &Receiver, error: &str) -> Result<()> {
    ensure!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.requests()
    );
    ensure!(
        error.contains(&format!("redirected to {}", elsewhere.url())),
        "the error does not say where the redirect pointed: {error}"
    );
    ensure!(!error.contains("s3cret"), "a secret in the error: {error}");
    Ok(())
}

fn message(to: &str) -> Message {
    Message {
        channel: Channel::Webhook,
        idempotency_key: "incident:1:step:1".to_owned(),
        to: to.to_owned(),
        incident: MessageIncident {
            id: 1,
            dedup_key: "monitor:api".to_owned(),
            title: "api is down".to_owned(),
            severity: Severity::Critical,
            summary: "HTTP 503".to_owned(),
            link: None,
            ack_hint: "Acknowledge in Foghorn".to_owned(),
        },
        mentions: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadogs_api_keys_do_not_follow_a_redirect_to_another_port() -> Result<()> {
    let (redirecting, elsewhere) = redirect_to_other_port(302).await?;
    let config: FeedConfig = serde_json::from_value(json!({
        "kind": "datadog", "name": "dd", "url": redirecting.url(),
        "token": "env:DD_API", "app_key": "env:DD_APP",
    }))?;
    let feed = DatadogFeed::with_secrets(&config, &secrets())?;
    let error = match feed.poll().await {
        Err(e @ FeedError::Status { status: 302, .. }) => e.to_string(),
        other => bail!("expected the 302 as an error, got {other:?}"),
    };
    not_followed(&elsewhere, &error)?;
    let asked = &redirecting.requests()[0];
    ensure!(
        asked.header("dd-api-key") == Some("dd-api-key-s3cret"),
        "{asked:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channels_token_and_signature_do_not_follow_a_redirect_to_another_port() -> Result<()> {
    // Slack's Web API with its bearer token, then a signed webhook; 307 keeps the POST.
    let (redirecting, elsewhere) = redirect_to_other_port(307).await?;
    let slack = SlackApi::new(&EscalationConfig {
        slack_token: Some(secret_ref("env:SLACK_TOKEN")),
        slack_channel: Some("C0BACKEND".to_owned()),
        slack_api: redirecting.url(),
        ..Default::default()
    })
    .with_secrets(Secrets(Arc::new(secrets())));
    let hook_url = format!("{}/hooks/foghorn", redirecting.url());
    let hook = SignedWebhook::new(&EscalationStep {
        after: std::time::Duration::ZERO,
        action: StepAction::Webhook,
        min_severity: None,
        unacknowledged: true,
        nobody_online: false,
        url: Some(foghorn_core::secret::Confidential::Clear(hook_url.clone())),
        secret: Some(secret_ref("env:HOOK_SECRET")),
    })
    .with_secrets(Secrets(Arc::new(secrets())));
    for (sender, msg) in [
        (&slack as &dyn Deliver, message("")),
        (&hook as &dyn Deliver, message(&hook_url)),
    ] {
        let mut msg = msg;
        msg.channel = sender.channel();
        let error = match sender.deliver(&msg).await {
            Err(e @ DeliveryError::Permanent { .. }) => e.to_string(),
            other => bail!(
                "{:?}: expected a permanent error, got {other:?}",
                msg.channel
            ),
        };
        not_followed(&elsewhere, &error).with_context(|| format!("{:?}", msg.channel))?;
        ensure!(error.contains("update the URL"), "{error}");
    }
    let asked = redirecting.requests();
    ensure!(
        asked[0].header("authorization") == Some("Bearer xoxb-s3cret")
            && asked[1].header("x-foghorn-signature").is_some(),
        "{asked:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendars_secret_url_does_not_follow_a_redirect_to_another_port() -> Result<()> {
    let (redirecting, elsewhere) = redirect_to_other_port(302).await?;
    let source = CalendarSource::new(&format!("{}/oncall.ics?token=s3cret", redirecting.url()))?;
    let error = match source.fetch(None).await {
        Err(e) => e.to_string(),
        Ok(fetched) => bail!("expected the redirect as an error, got {fetched:?}"),
    };
    not_followed(&elsewhere, &error)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_within_the_same_origin_is_followed_without_a_referer() -> Result<()> {
    const CALENDAR: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n";
    let server = Receiver::start(|r| {
        if r.path.starts_with("/old.ics") {
            Reply::Answer {
                status: 301,
                headers: vec![("Location", "/oncall.ics?token=s3cret".to_owned())],
                body: String::new(),
            }
        } else {
            answer(200, CALENDAR)
        }
    })
    .await?;
    let source = CalendarSource::new(&format!("{}/old.ics?token=s3cret", server.url()))?;
    let fetched = source.fetch(None).await?;
    ensure!(
        matches!(&fetched, Fetched::Modified { body, .. } if body == CALENDAR),
        "{fetched:?}"
    );
    let asked = server.requests();
    ensure!(asked.len() == 2, "{asked:?}");
    ensure!(asked[1].path == "/oncall.ics?token=s3cret", "{asked:?}");
    ensure!(
        asked.iter().all(|r| r.header("referer").is_none()),
        "a Referer was sent: {asked:?}"
    );
    Ok(())
}
