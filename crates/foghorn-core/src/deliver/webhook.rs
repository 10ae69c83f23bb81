//! A signed webhook: the [`Message`] as JSON, POSTed to the step's `url`.
//!
//! Headers:
//! - `X-Foghorn-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw request body keyed with
//!   the step's `secret`;
//! - `X-Foghorn-Timestamp`: when it was sent, Unix seconds;
//! - `Idempotency-Key`: the message's key, the same on every retry.
//!
//! A receiver verifies it by computing the HMAC-SHA256 of the body bytes exactly as received
//! (before any JSON parsing) with the shared secret, hex-encoding it, and comparing it with
//! the header's value after `sha256=` in constant time (`hmac`'s `verify_slice`, Python's
//! `hmac.compare_digest`, …); see [`verify_signature`]. It should answer 2xx once it has the
//! message, and drop a message whose `Idempotency-Key` it has seen (the body carries the key
//! too, so a replayed request is such a duplicate). 5xx and 429 are retried, any other status
//! is not. Redirects are not followed.

use std::time::{SystemTime, UNIX_EPOCH};

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

type HmacSha256 = Hmac<Sha256>;

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` (the `X-Foghorn-Signature` value) signs `body` with `secret`; compared in
/// constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
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
        const WHAT: &str = "webhook";
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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let request = self
            .http
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(secret.as_bytes(), &body))
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(IDEMPOTENCY_HEADER, &message.idempotency_key)
            .body(body);
        let answer = self.http.send(Channel::Webhook, WHAT, request).await?;
        check_status(Channel::Webhook, WHAT, &answer)?;
        Ok(Delivered { receipt: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_a_known_vector_and_verify() {
        // RFC 4231 test case 2.
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_signature(
            b"Jefe",
            b"what do ya want for nothing?",
            &sig
        ));
        assert!(!verify_signature(
            b"Jefe",
            b"what do ya want for nothing!",
            &sig
        ));
        assert!(!verify_signature(
            b"other",
            b"what do ya want for nothing?",
            &sig
        ));
        assert!(!verify_signature(b"Jefe", b"x", "md5=00"));
    }
}
