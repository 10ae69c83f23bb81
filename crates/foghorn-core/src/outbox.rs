//! Sending what the outbox holds: the ladder's messages and the status updates alike. A
//! message is recorded before it is sent; here it is claimed (so two processes on one
//! database never both send it), handed to its sender, and its outcome recorded, with
//! retries backing off and a note on its incident's timeline.

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use crate::deliver::{Delivered, DeliveryError};
use crate::incident::TimelineKind;
use crate::store::{self, OutboxRow, Store};

/// A message being sent is held back this long, so a crash mid-send retries it later.
const SEND_LEASE: time::Duration = time::Duration::seconds(60);
/// Attempts before a message is given up on.
pub const MAX_ATTEMPTS: u32 = 8;
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// The longest a vendor's `Retry-After` holds a message back: a longer one (a typo, a bug,
/// or `Retry-After: 100000000000000`) would silence an escalation for good.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(3600);

/// The delay before attempt `attempts + 1`: doubling from [`FIRST_BACKOFF`], capped, with
/// ±20 % jitter so laptops that failed together do not retry together.
pub fn backoff(attempts: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    use rand::Rng;
    base.mul_f64(rand::rng().random_range(0.8..1.2))
}

/// What became of a message this process claimed.
#[derive(Debug)]
pub struct Sent {
    /// The vendor's receipt, when it went out.
    pub delivered: Option<Delivered>,
    /// Why it will be tried again, if it will.
    pub retrying: Option<DeliveryError>,
    /// Why it was given up on, if it was.
    pub failed: Option<DeliveryError>,
}

/// Claims `row`, sends it with `deliver` and records the outcome. `None` when another process
/// claimed it first (it sends it) or the claim could not be written.
pub async fn send<F, Fut>(store: &Store, row: OutboxRow, deliver: F) -> Option<Sent>
where
    F: FnOnce(OutboxRow) -> Fut,
    Fut: Future<Output = Result<Delivered, DeliveryError>>,
{
    let now = OffsetDateTime::now_utc();
    let (id, attempts) = (row.id, row.attempts);
    let lease = now + SEND_LEASE;
    match store
        .write(move |tx| store::begin_attempt(tx, id, attempts, lease))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(key = %row.idempotency_key, "the message was claimed elsewhere");
            return None;
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start sending a message");
            return None;
        }
    }
    let incident = row.incident_id;
    let key = row.idempotency_key.clone();
    let interrupted = row.interrupted;
    let outcome = deliver(row).await;
    crate::crash_point::crash_point("message-sent");
    let attempts = attempts + 1;
    let at = OffsetDateTime::now_utc();
    // Sent again after a crash between an earlier send and its record: said on the
    // timeline, since a receiver that ignores the idempotency key sees it twice.
    let again = if interrupted {
        tracing::warn!(key = %key, "a message left in flight by a crash was sent again");
        " again: a crash interrupted an earlier attempt, which may have arrived too \
         (same idempotency key)"
    } else {
        ""
    };
    let (note, failed_for_good) = match &outcome {
        Ok(d) => (
            format!(
                "{key}: sent{}{again}",
                d.receipt
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            false,
        ),
        Err(DeliveryError::Retry { .. }) if attempts < MAX_ATTEMPTS => (String::new(), false),
        Err(e) => (
            format!("{key}: failed for good after {attempts} attempt(s): {e}"),
            true,
        ),
    };
    let retry_at = match &outcome {
        Err(DeliveryError::Retry { retry_after, .. }) => {
            let wait = retry_after
                .unwrap_or_else(|| backoff(attempts))
                .min(MAX_RETRY_WAIT);
            Some(crate::deadline::after(at, wait))
        }
        _ => None,
    };
    let error = outcome.as_ref().err().map(ToString::to_string);
    let receipt = outcome.as_ref().ok().and_then(|d| d.receipt.clone());
    let written = store
        .write(move |tx| {
            match (&error, retry_at, failed_for_good) {
                (None, _, _) => store::mark_sent(tx, id, at, receipt.as_deref())?,
                (Some(e), Some(next), false) => store::mark_retry(tx, id, next, e)?,
                (Some(e), _, _) => store::mark_failed(tx, id, at, e)?,
            }
            if let (Some(incident), false) = (incident, note.is_empty()) {
                let kind = if failed_for_good {
                    TimelineKind::MessageFailed
                } else {
                    TimelineKind::MessageSent
                };
                store::note(tx, incident, at, kind, &note)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "cannot record how a message went");
    }
    Some(match outcome {
        Ok(d) => {
            tracing::info!(key = %key, "message sent");
            Sent {
                delivered: Some(d),
                retrying: None,
                failed: None,
            }
        }
        Err(e) if failed_for_good => {
            tracing::error!(key = %key, error = %e, "message failed for good");
            Sent {
                delivered: None,
                retrying: None,
                failed: Some(e),
            }
        }
        Err(e) => {
            tracing::warn!(key = %key, error = %e, "message will be retried");
            Sent {
                delivered: None,
                retrying: Some(e),
                failed: None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_with_jitter_up_to_a_cap() {
        for (attempts, base) in [(1, 5.0), (2, 10.0), (3, 20.0), (10, 600.0), (40, 600.0)] {
            let d = backoff(attempts).as_secs_f64();
            assert!(d >= base * 0.8 && d <= base * 1.2, "{attempts}: {d}");
        }
    }
}
