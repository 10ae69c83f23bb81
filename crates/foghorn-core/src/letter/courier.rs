//! How a customer's letter reaches them: as an email through `[smtp]`'s server, or as an
//! email Intercom sends from the founder's admin account. The ledger's rules (claim, send,
//! record; retry what is temporary) are the same for both; they differ in what happens to a
//! letter a crash left in flight. A mail server drops a repeat of a `Message-ID`, so the
//! email goes again as it is; Intercom keeps no key, so the letter is first looked for there
//! and sent again only when it is not found.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::draft::Rendered;
use super::message::Identity;
use super::message::{with_unsubscribe, Columns};
use super::smtp::{Mailer, SendError};
use crate::deliver::DeliveryError;
use crate::support::intercom::Intercom;

/// One customer's letter, filled in.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub rendered: &'a Rendered,
    /// The same for every attempt at this customer.
    pub message_id: &'a str,
}

/// What a look for a letter left in flight found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// It arrived; the words to record as the reply.
    Arrived(String),
    /// It did not: send it.
    Missing,
    /// There is no looking, and no need: a repeat is dropped where it lands.
    RepeatIsHarmless,
}

#[async_trait]
pub trait Courier: Send + Sync {
    /// Hands the letter over; the reply to record when it was taken.
    async fn deliver(&self, letter: Outgoing<'_>) -> Result<String, SendError>;

    /// Whether a letter claimed at `claimed_at` by a run that stopped arrived after all.
    async fn find(
        &self,
        _letter: Outgoing<'_>,
        _claimed_at: OffsetDateTime,
    ) -> Result<Found, SendError> {
        Ok(Found::RepeatIsHarmless)
    }

    /// The letter's own unsubscribe link and headers, when this courier adds them (Intercom
    /// adds its own).
    fn identity(&self) -> Option<&Identity> {
        None
    }
}

/// An email through `[smtp]`'s server.
pub struct ByEmail {
    pub identity: Arc<Identity>,
    pub mailer: Arc<dyn Mailer>,
}

impl std::fmt::Debug for ByEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByEmail")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Courier for ByEmail {
    async fn deliver(&self, letter: Outgoing<'_>) -> Result<String, SendError> {
        let message = self
            .identity
            .build(
                letter.email,
                letter.name,
                letter.rendered,
                letter.message_id,
            )
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.mailer.send(message).await
    }

    fn identity(&self) -> Option<&Identity> {
        Some(&self.identity)
    }
}

/// An email Intercom sends to the contact with the letter's address, from `[intercom]`'s
/// admin.
#[derive(Debug)]
pub struct ByIntercom {
    pub intercom: Arc<Intercom>,
}

/// Clocks differ: a conversation Intercom dates a little before the claim still counts.
const CLOCK_SLACK_SECS: i64 = 120;

impl ByIntercom {
    async fn contact(
        &self,
        letter: &Outgoing<'_>,
    ) -> Result<crate::support::intercom::ContactRef, SendError> {
        self.intercom
            .contact_by_email(letter.email)
            .await
            .map_err(send_error)?
            .ok_or_else(|| {
                SendError::Permanent(format!(
                    "Intercom has no contact with the address {}",
                    letter.email
                ))
            })
    }
}

#[async_trait]
impl Courier for ByIntercom {
    async fn deliver(&self, letter: Outgoing<'_>) -> Result<String, SendError> {
        let contact = self.contact(&letter).await?;
        let id = self
            .intercom
            .email_contact(&contact, &letter.rendered.subject, &letter.rendered.html)
            .await
            .map_err(send_error)?;
        Ok(format!("Intercom message {id}").trim().to_owned())
    }

    async fn find(
        &self,
        letter: Outgoing<'_>,
        claimed_at: OffsetDateTime,
    ) -> Result<Found, SendError> {
        let contact = match self.contact(&letter).await {
            Ok(c) => c,
            // No contact, no message: the send records the refusal.
            Err(SendError::Permanent(_)) => return Ok(Found::Missing),
            Err(e) => return Err(e),
        };
        let since = claimed_at.unix_timestamp() - CLOCK_SLACK_SECS;
        match self
            .intercom
            .message_since(&contact, &letter.rendered.subject, since)
            .await
            .map_err(send_error)?
        {
            Some(conversation) => Ok(Found::Arrived(format!(
                "found in Intercom after a stop (conversation {conversation})"
            ))),
            None => Ok(Found::Missing),
        }
    }
}

fn send_error(e: DeliveryError) -> SendError {
    match e {
        DeliveryError::Retry { message, .. } => SendError::Transient(message),
        DeliveryError::Permanent { message, .. } => SendError::Permanent(message),
    }
}

/// The columns a letter is filled in with: the row's, and the customer's own unsubscribe link
/// when the courier adds one.
pub fn columns(courier: &dyn Courier, vars: &Columns, email: &str) -> Columns {
    with_unsubscribe(courier.identity(), vars, email)
}
