//! The support queue's conversations as rows: each helpdesk conversation seen about an
//! incident, and when its outage reply and its follow-up were delivered.

use rusqlite::{params, Transaction};
use serde::Serialize;
use time::OffsetDateTime;

use super::{Result, Store, StoreError};
use crate::time_fmt::{parse_rfc3339, rfc3339};

/// A conversation about to be recorded as seen.
#[derive(Debug, Clone)]
pub(crate) struct NewSeen<'a> {
    pub conversation_id: &'a str,
    pub customer_name: Option<&'a str>,
    pub subject: &'a str,
    pub waiting_since: Option<i64>,
}

/// Records conversations seen about an incident: new ones with `now` as their first sight,
/// known ones with what the helpdesk says now (their first sight and replies kept).
pub(crate) fn record_seen(
    tx: &Transaction<'_>,
    incident_id: i64,
    seen: &[NewSeen<'_>],
    now: OffsetDateTime,
) -> Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO support_conversations(incident_id, conversation_id, customer_name, subject,
                                           waiting_since, first_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(incident_id, conversation_id) DO UPDATE SET
            customer_name = excluded.customer_name, subject = excluded.subject,
            waiting_since = excluded.waiting_since",
    )?;
    for s in seen {
        upsert.execute(params![
            incident_id,
            s.conversation_id,
            s.customer_name,
            s.subject,
            s.waiting_since,
            rfc3339(now)
        ])?;
    }
    Ok(())
}

/// Which delivery a conversation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SupportMark {
    Answered,
    FollowedUp,
}

/// Records that a conversation's reply (or follow-up) was delivered; the first time counts.
pub(crate) fn mark_support(
    tx: &Transaction<'_>,
    incident_id: i64,
    conversation_id: &str,
    mark: SupportMark,
    at: OffsetDateTime,
) -> Result<()> {
    let column = match mark {
        SupportMark::Answered => "answered_at",
        SupportMark::FollowedUp => "followed_up_at",
    };
    tx.execute(
        &format!(
            "INSERT INTO support_conversations(incident_id, conversation_id, subject,
                                               first_seen_at, {column})
             VALUES (?1, ?2, '', ?3, ?3)
             ON CONFLICT(incident_id, conversation_id) DO UPDATE SET
                {column} = COALESCE({column}, excluded.{column})"
        ),
        params![incident_id, conversation_id, rfc3339(at)],
    )?;
    Ok(())
}

/// A conversation seen about an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenConversation {
    pub conversation_id: String,
    pub customer_name: Option<String>,
    pub subject: String,
    /// Unix seconds.
    pub waiting_since: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub followed_up_at: Option<OffsetDateTime>,
}

/// "14 customers asked; 9 answered" (and how many heard again once it was resolved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportCounts {
    pub asked: u32,
    pub answered: u32,
    pub followed_up: u32,
}

fn time_of(s: &str) -> Result<OffsetDateTime> {
    parse_rfc3339(s).ok_or_else(|| StoreError::Corrupt(format!("time {s:?}")))
}

fn optional_time(s: Option<String>) -> Result<Option<OffsetDateTime>> {
    s.as_deref().map(time_of).transpose()
}

impl Store {
    /// The conversations seen about an incident, in the order they were first seen.
    pub fn support_conversations(&self, incident_id: i64) -> Result<Vec<SeenConversation>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT conversation_id, customer_name, subject, waiting_since, first_seen_at,
                        answered_at, followed_up_at
                 FROM support_conversations WHERE incident_id = ?1
                 ORDER BY first_seen_at, conversation_id",
            )?;
            let rows = stmt.query_map([incident_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, subject, waiting, first, answered, followed) = row?;
                out.push(SeenConversation {
                    conversation_id: id,
                    customer_name: name,
                    subject,
                    waiting_since: waiting,
                    first_seen_at: time_of(&first)?,
                    answered_at: optional_time(answered)?,
                    followed_up_at: optional_time(followed)?,
                });
            }
            Ok(out)
        })
    }

    /// How many customers asked about an incident, and how many were answered.
    pub fn support_counts(&self, incident_id: i64) -> Result<SupportCounts> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*), count(answered_at), count(followed_up_at)
                 FROM support_conversations WHERE incident_id = ?1",
                [incident_id],
                |r| {
                    Ok(SupportCounts {
                        asked: r.get(0)?,
                        answered: r.get(1)?,
                        followed_up: r.get(2)?,
                    })
                },
            )?)
        })
    }
}
