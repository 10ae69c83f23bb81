//! A signed webhook: the [`Message`] as JSON, POSTed to the step's `url`.
//!
//! Headers:
//! - `X-Foghorn-Timestamp`: when it was sent, Unix seconds (a new one on every retry);
//! - `X-Foghorn-Signature: sha256=<hex>`, the HMAC-SHA256, keyed with the step's `secret`, of
//!   the timestamp, a `.`, and the raw request body: `"{timestamp}.{body}"`;
//! - `Idempotency-Key`: the message's key, the same on every retry.
//!
//! The timestamp is signed so that a recorded request cannot be replayed later: a receiver
//! rebuilds `"{timestamp}.{body}"` from the header and the body bytes exactly as received
//! (before any JSON parsing), computes its HMAC-SHA256 with the shared secret, compares the
//! hex with the header's value after `sha256=` in constant time (`hmac`'s `verify_slice`,
//! Python's `hmac.compare_digest`, …), and then rejects a timestamp further than
//! [`TOLERANCE`] from its own clock; see [`verify_signature`]. It should answer 2xx once it
//! has the message, and drop a message whose `Idempotency-Key` it has seen. 5xx and 429 are
//! retried, any other status is not. Redirects are followed only within the same scheme,
//! host and port.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::EscalationStep;
use crate::secret::{Confidential, SecretRef};

use super::http::{check_status, permanent, Http};
use super::{Channel, Deliver, Delivered, DeliveryError, Message};

pub const SIGNATURE_HEADER: &str = "X-Foghorn-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Foghorn-Timestamp";
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// How far a receiver should let a request's timestamp be from its own clock (either way)
/// before rejecting it as a replay: five minutes, as Stripe advises for its signatures.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

type HmacSha256 = Hmac<Sha256>;

/// The MAC of `"{timestamp}.{body}"`.
fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `sha256=<hex of HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let signed = mac(secret, timestamp, body).finalize().into_bytes();
    format!("sha256={}", hex::encode(signed))
}

/// Whether `signature` (the `X-Foghorn-Signature` value) signs `timestamp` (the
/// `X-Foghorn-Timestamp` value) and `body` with `secret`, compared in constant time, and the
/// timestamp is within `tolerance` of `now`.
pub fn verify_signature(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: SystemTime,
    tolerance: Duration,
) -> bool {
    let Some(sig) = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    if mac(secret, timestamp, body).verify_slice(&sig).is_err() {
        return false;
    }
    let Ok(sent) = timestamp.trim().parse::<u64>() else {
        return false;
    };
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    now.abs_diff(sent) <= tolerance.as_secs()
}

#[derive(Debug, Clone)]
pub struct SignedWebhook {
    url: Option<Confidential>,
    secret: Option<SecretRef>,
    http: Http,
}

impl SignedWebhook {
    /// The step's `url` and `secret`. Without a URL the message's `to` is used; without a
    /// secret nothing is sent (an unsigned webhook cannot be trusted by its receiver).
    pub fn new(step: &EscalationStep) -> Self {
        SignedWebhook {
            url: step.url.clone(),
            secret: step.secret.clone(),
            http: Http::default(),
        }
    }
}

sender_options!(SignedWebhook, http);

#[async_trait]
impl Deliver for SignedWebhook {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn deliver(&self, message: &Message) -> Result<Delivered, DeliveryError> {
        let from_message = || {
            Some(message.to.trim())
                .filter(|u| !u.is_empty())
                .and_then(|u| Confidential::parse(u).ok())
        };
        let url = self
            .url
            .clone()
            .or_else(from_message)
            .ok_or_else(|| permanent(Channel::Webhook, "the webhook step has no url"))?;
        let url = url
            .resolve(&*self.http.secrets.0)
            .map_err(|e| permanent(Channel::Webhook, format!("the webhook step's url: {e}")))?;
        let url = url.expose().trim();
        if url.is_empty() {
            return Err(permanent(Channel::Webhook, "the webhook step has no url"));
        }
        let secret = self.http.secrets.get(
            Channel::Webhook,
            "the webhook step's secret",
            self.secret.as_ref(),
        )?;
        let body = serde_json::to_vec(message).map_err(|e| {
            permanent(
                Channel::Webhook,
                format!("the message cannot be written as JSON: {e}"),
            )
        })?;
        post_signed(&self.http, url, &secret, &message.idempotency_key, body).await
    }
}

/// POSTs `body` (JSON) to `url` signed with `secret`, with the idempotency key in its header:
/// the ladder's webhook steps and the status updates' webhook share the scheme.
pub(crate) async fn post_signed(
    http: &Http,
    url: &str,
    secret: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<Delivered, DeliveryError> {
    const WHAT: &str = "webhook";
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        .to_string();
    let request = http
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, sign(secret.as_bytes(), &timestamp, &body))
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(IDEMPOTENCY_HEADER, key)
        .body(body);
    let answer = http.send(Channel::Webhook, WHAT, request).await?;
    check_status(Channel::Webhook, WHAT, &answer)?;
    Ok(Delivered { receipt: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_a_vector_computed_elsewhere() {
        // Python: hmac.new(b"s3cret", b'1800000000.{"incident":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(b"s3cret", "1800000000", br#"{"incident":1}"#),
            "sha256=ab58f7909231d9328f4c34d97a26adb60a936ad4d83d2a4e23b56eeea682d981"
        );
    }

    #[test]
    fn the_webhook_signature_covers_the_timestamp() {
        let body = br#"{"incident":1}"#;
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let sig = sign(b"s3cret", "1800000000", body);
        let ok = |secret: &[u8], ts: &str, body: &[u8], sig: &str, now| {
            verify_signature(secret, ts, body, sig, now, TOLERANCE)
        };
        assert!(ok(b"s3cret", "1800000000", body, &sig, now));
        // The same signature with another timestamp (a replay made to look fresh) fails.
        assert!(!ok(b"s3cret", "1800000300", body, &sig, now));
        // Another body or secret fails.
        assert!(!ok(b"s3cret", "1800000000", b"{}", &sig, now));
        assert!(!ok(b"other", "1800000000", body, &sig, now));
        // A genuine but old request fails once it is older than the tolerance.
        let later = now + TOLERANCE + Duration::from_secs(1);
        assert!(!ok(b"s3cret", "1800000000", body, &sig, later));
        assert!(!ok(b"s3cret", "1800000000", body, "md5=00", now));
    }
}
