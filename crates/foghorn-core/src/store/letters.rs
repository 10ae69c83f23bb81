//! The customer letter's ledger: a row per letter and a row per (letter, recipient), whose
//! state is the only record of who has been sent what. A recipient is claimed (`sending`) in
//! a committed transaction before the letter goes to them, so a crash leaves it visibly in
//! flight rather than forgotten or silently sent twice.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use time::OffsetDateTime;
use ts_rs::TS;

use super::{Result, Store, StoreError};
use crate::time_fmt::{parse_rfc3339, rfc3339};

/// Where a letter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum LetterState {
    /// Its list is being written into the ledger; nothing has been sent.
    Importing,
    Sending,
    Paused,
    Cancelled,
    Done,
}

impl LetterState {
    pub fn as_str(self) -> &'static str {
        match self {
            LetterState::Importing => "importing",
            LetterState::Sending => "sending",
            LetterState::Paused => "paused",
            LetterState::Cancelled => "cancelled",
            LetterState::Done => "done",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "importing" => LetterState::Importing,
            "sending" => LetterState::Sending,
            "paused" => LetterState::Paused,
            "cancelled" => LetterState::Cancelled,
            "done" => LetterState::Done,
            other => return Err(StoreError::Corrupt(format!("letter state {other:?}"))),
        })
    }
}

/// How a letter reaches its customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum LetterVia {
    /// An email through `[smtp]`'s server.
    Email,
    /// An email message from Intercom's admin (`POST /messages`).
    Intercom,
}

impl LetterVia {
    /// "by email", "through Intercom": as a sentence says it.
    pub fn way(self) -> &'static str {
        match self {
            LetterVia::Email => "by email",
            LetterVia::Intercom => "through Intercom",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LetterVia::Email => "email",
            LetterVia::Intercom => "intercom",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "email" => LetterVia::Email,
            "intercom" => LetterVia::Intercom,
            other => return Err(StoreError::Corrupt(format!("letter via {other:?}"))),
        })
    }
}

/// What became of one recipient's letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum RecipientState {
    Queued,
    Sending,
    Accepted,
    Failed,
    Bounced,
}

impl RecipientState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientState::Queued => "queued",
            RecipientState::Sending => "sending",
            RecipientState::Accepted => "accepted",
            RecipientState::Failed => "failed",
            RecipientState::Bounced => "bounced",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => RecipientState::Queued,
            "sending" => RecipientState::Sending,
            "accepted" => RecipientState::Accepted,
            "failed" => RecipientState::Failed,
            "bounced" => RecipientState::Bounced,
            other => return Err(StoreError::Corrupt(format!("recipient state {other:?}"))),
        })
    }
}

/// A letter about to be recorded.
#[derive(Debug, Clone)]
pub struct NewLetter {
    pub key: String,
    pub source: String,
    pub subject: String,
    pub list_name: String,
    pub sender: String,
    pub via: LetterVia,
    /// The incident the letter is about: its timeline says how the sending went.
    pub incident_id: Option<i64>,
}

/// A letter and the counts of its ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LetterSummary {
    pub id: i64,
    pub key: String,
    pub subject: String,
    pub list_name: String,
    pub sender: String,
    pub via: LetterVia,
    pub incident_id: Option<i64>,
    pub state: LetterState,
    pub paused_reason: Option<String>,
    pub total: u64,
    pub queued: u64,
    pub sending: u64,
    pub accepted: u64,
    pub failed: u64,
    pub bounced: u64,
    /// Letters that were in flight when a run stopped, and went again with their
    /// `Message-ID`.
    pub resent: u64,
    /// Rows of the list that were not sent to (a bad address, a duplicate), with why.
    pub skipped: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

impl LetterSummary {
    /// Recipients not settled yet: queued or in flight.
    pub fn left(&self) -> u64 {
        self.queued + self.sending
    }
}

/// One recipient as the sender needs it.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub seq: i64,
    pub email: String,
    pub vars: String,
    pub message_id: String,
    pub attempts: u32,
    pub resent: bool,
}

/// A recipient whose letter was not accepted, for the list at the end and its CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Undelivered {
    pub email: String,
    pub state: RecipientState,
    pub reason: String,
    pub attempts: u32,
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Accepted { reply: String },
    Retry { error: String, at: OffsetDateTime },
    Failed { error: String },
    Bounced { error: String },
}

/// Records a letter; an existing one with the same key is returned instead (`false`).
pub fn create_letter(
    tx: &Transaction<'_>,
    letter: &NewLetter,
    now: OffsetDateTime,
) -> Result<(i64, bool)> {
    if let Some(id) = tx
        .query_row(
            "SELECT id FROM letters WHERE key = ?1",
            [&letter.key],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
    {
        return Ok((id, false));
    }
    tx.execute(
        "INSERT INTO letters(key, source, subject, list_name, sender, state, created_at, via,
                             incident_id)
         VALUES (?1, ?2, ?3, ?4, ?5, 'importing', ?6, ?7, ?8)",
        params![
            letter.key,
            letter.source,
            letter.subject,
            letter.list_name,
            letter.sender,
            rfc3339(now),
            letter.via.as_str(),
            letter.incident_id,
        ],
    )?;
    Ok((tx.last_insert_rowid(), true))
}

/// Forgets what an interrupted import wrote, so it can start again.
pub fn restart_import(tx: &Transaction<'_>, letter_id: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM letter_recipients WHERE letter_id = ?1",
        [letter_id],
    )?;
    tx.execute(
        "UPDATE letters SET state = 'importing', total = 0 WHERE id = ?1",
        [letter_id],
    )?;
    Ok(())
}

/// Adds recipients to a letter being imported: `(seq, email, vars JSON, message id)`.
pub fn add_recipients(
    tx: &Transaction<'_>,
    letter_id: i64,
    rows: &[(i64, String, String, String)],
) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO letter_recipients(letter_id, seq, email, vars, message_id, state)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued')",
    )?;
    for (seq, email, vars, message_id) in rows {
        insert.execute(params![letter_id, seq, email, vars, message_id])?;
    }
    Ok(())
}

/// The import is complete: the letter can be sent.
pub fn finish_import(tx: &Transaction<'_>, letter_id: i64, skipped: &str) -> Result<u64> {
    let total: i64 = tx.query_row(
        "SELECT COUNT(*) FROM letter_recipients WHERE letter_id = ?1",
        [letter_id],
        |r| r.get(0),
    )?;
    tx.execute(
        "UPDATE letters SET state = 'sending', total = ?2, skipped = ?3 WHERE id = ?1",
        params![letter_id, total, skipped],
    )?;
    Ok(total as u64)
}

/// Recipients a stopped run left in flight go back in the queue, marked to be reported as
/// sent again; how many.
pub fn requeue_in_flight(tx: &Transaction<'_>, letter_id: i64) -> Result<u64> {
    let n = tx.execute(
        "UPDATE letter_recipients SET state = 'queued', resent = 1, next_attempt_at = NULL
         WHERE letter_id = ?1 AND state = 'sending'",
        [letter_id],
    )?;
    Ok(n as u64)
}

/// A recipient from `seq, email, vars, message_id, attempts, resent`.
fn ledger_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerRow> {
    Ok(LedgerRow {
        seq: r.get(0)?,
        email: r.get(1)?,
        vars: r.get(2)?,
        message_id: r.get(3)?,
        attempts: r.get(4)?,
        resent: r.get(5)?,
    })
}

/// Claims the next recipient due: `sending` is committed before the letter goes out.
pub fn claim_next(
    tx: &Transaction<'_>,
    letter_id: i64,
    now: OffsetDateTime,
) -> Result<Option<LedgerRow>> {
    let row = tx
        .query_row(
            "SELECT seq, email, vars, message_id, attempts, resent FROM letter_recipients
             WHERE letter_id = ?1 AND state = 'queued'
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)
             ORDER BY seq LIMIT 1",
            params![letter_id, rfc3339(now)],
            ledger_row,
        )
        .optional()?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    row.attempts += 1;
    tx.execute(
        "UPDATE letter_recipients SET state = 'sending', attempts = ?3, claimed_at = ?4
         WHERE letter_id = ?1 AND seq = ?2",
        params![letter_id, row.seq, row.attempts, rfc3339(now)],
    )?;
    Ok(Some(row))
}

/// Recipients a stopped run left in flight, with when each was claimed.
pub fn in_flight(conn: &Connection, letter_id: i64) -> Result<Vec<(LedgerRow, OffsetDateTime)>> {
    let mut stmt = conn.prepare(
        "SELECT seq, email, vars, message_id, attempts, resent, claimed_at FROM letter_recipients
         WHERE letter_id = ?1 AND state = 'sending' ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([letter_id], |r| {
            Ok((ledger_row(r)?, r.get::<_, Option<String>>(6)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(row, at)| {
            // A row claimed before `claimed_at` existed: from the letter's start.
            let at = match at {
                Some(at) => time_of(&at)?,
                None => OffsetDateTime::UNIX_EPOCH,
            };
            Ok((row, at))
        })
        .collect()
}

/// When the next queued recipient waiting for a retry is due, if any is.
pub fn next_retry_at(conn: &Connection, letter_id: i64) -> Result<Option<OffsetDateTime>> {
    let at: Option<String> = conn.query_row(
        "SELECT MIN(next_attempt_at) FROM letter_recipients
         WHERE letter_id = ?1 AND state = 'queued'",
        [letter_id],
        |r| r.get(0),
    )?;
    at.as_deref().map(time_of).transpose()
}

/// Records how an attempt ended.
pub fn record_outcome(
    tx: &Transaction<'_>,
    letter_id: i64,
    seq: i64,
    outcome: &Outcome,
    now: OffsetDateTime,
) -> Result<()> {
    match outcome {
        Outcome::Accepted { reply } => tx.execute(
            "UPDATE letter_recipients SET state = 'accepted', reply = ?3, error = NULL,
                    accepted_at = ?4, next_attempt_at = NULL
             WHERE letter_id = ?1 AND seq = ?2",
            params![letter_id, seq, reply, rfc3339(now)],
        )?,
        Outcome::Retry { error, at } => tx.execute(
            "UPDATE letter_recipients SET state = 'queued', error = ?3, next_attempt_at = ?4
             WHERE letter_id = ?1 AND seq = ?2",
            params![letter_id, seq, error, rfc3339(*at)],
        )?,
        Outcome::Failed { error } => tx.execute(
            "UPDATE letter_recipients SET state = 'failed', error = ?3, next_attempt_at = NULL
             WHERE letter_id = ?1 AND seq = ?2",
            params![letter_id, seq, error],
        )?,
        Outcome::Bounced { error } => tx.execute(
            "UPDATE letter_recipients SET state = 'bounced', error = ?3, next_attempt_at = NULL
             WHERE letter_id = ?1 AND seq = ?2",
            params![letter_id, seq, error],
        )?,
    };
    Ok(())
}

/// Moves a letter to `state` (with why, when it pauses itself).
pub fn set_letter_state(
    tx: &Transaction<'_>,
    letter_id: i64,
    state: LetterState,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    let finished =
        matches!(state, LetterState::Done | LetterState::Cancelled).then(|| rfc3339(now));
    tx.execute(
        "UPDATE letters SET state = ?2, paused_reason = ?3, finished_at = ?4 WHERE id = ?1",
        params![letter_id, state.as_str(), reason, finished],
    )?;
    Ok(())
}

fn time_of(s: &str) -> Result<OffsetDateTime> {
    parse_rfc3339(s).ok_or_else(|| StoreError::Corrupt(format!("time {s:?}")))
}

const SUMMARY: &str =
    "SELECT l.id, l.key, l.subject, l.list_name, l.sender, l.state, l.paused_reason,
        l.total, l.skipped, l.created_at, l.finished_at,
        COALESCE(SUM(r.state = 'queued'), 0), COALESCE(SUM(r.state = 'sending'), 0),
        COALESCE(SUM(r.state = 'accepted'), 0), COALESCE(SUM(r.state = 'failed'), 0),
        COALESCE(SUM(r.state = 'bounced'), 0), COALESCE(SUM(r.resent), 0), l.via, l.incident_id
    FROM letters l LEFT JOIN letter_recipients r ON r.letter_id = l.id";

type SummaryRow = (LetterSummary, String, String, Option<String>, String);

fn summary_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    let skipped: String = r.get(8)?;
    Ok((
        LetterSummary {
            id: r.get(0)?,
            key: r.get(1)?,
            subject: r.get(2)?,
            list_name: r.get(3)?,
            sender: r.get(4)?,
            state: LetterState::Done,
            paused_reason: r.get(6)?,
            total: r.get::<_, i64>(7)? as u64,
            skipped: serde_json::from_str(&skipped).unwrap_or(serde_json::Value::Null),
            created_at: OffsetDateTime::UNIX_EPOCH,
            finished_at: None,
            queued: r.get::<_, i64>(11)? as u64,
            sending: r.get::<_, i64>(12)? as u64,
            accepted: r.get::<_, i64>(13)? as u64,
            failed: r.get::<_, i64>(14)? as u64,
            bounced: r.get::<_, i64>(15)? as u64,
            resent: r.get::<_, i64>(16)? as u64,
            via: LetterVia::Email,
            incident_id: r.get(18)?,
        },
        r.get(5)?,
        r.get(9)?,
        r.get(10)?,
        r.get(17)?,
    ))
}

fn finish_summary((mut s, state, created, finished, via): SummaryRow) -> Result<LetterSummary> {
    s.state = LetterState::parse(&state)?;
    s.via = LetterVia::parse(&via)?;
    s.created_at = time_of(&created)?;
    s.finished_at = finished.as_deref().map(time_of).transpose()?;
    Ok(s)
}

/// A letter's summary, read inside a transaction or on any connection.
pub fn letter_summary_in(conn: &Connection, letter_id: i64) -> Result<Option<LetterSummary>> {
    let row = conn
        .query_row(
            &format!("{SUMMARY} WHERE l.id = ?1 GROUP BY l.id"),
            [letter_id],
            summary_of,
        )
        .optional()?;
    row.map(finish_summary).transpose()
}

impl Store {
    /// One letter and the counts of its ledger.
    pub fn letter(&self, letter_id: i64) -> Result<Option<LetterSummary>> {
        self.read(|c| letter_summary_in(c, letter_id))
    }

    /// Where a letter is (a cheap read, for a sender checking whether it was paused).
    pub fn letter_state(&self, letter_id: i64) -> Result<Option<LetterState>> {
        self.read(|c| {
            let state: Option<String> = c
                .query_row(
                    "SELECT state FROM letters WHERE id = ?1",
                    [letter_id],
                    |r| r.get(0),
                )
                .optional()?;
            state.as_deref().map(LetterState::parse).transpose()
        })
    }

    /// Every letter, newest first.
    pub fn letters(&self) -> Result<Vec<LetterSummary>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SUMMARY} GROUP BY l.id ORDER BY l.id DESC"))?;
            let rows = stmt.query_map([], summary_of)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(finish_summary(row?)?);
            }
            Ok(out)
        })
    }

    /// The letter with `key`, if it was ever started.
    pub fn letter_by_key(&self, key: &str) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT id FROM letters WHERE key = ?1", [key], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    /// The letter as it was written (front matter and body), for resuming it without its file.
    pub fn letter_source(&self, letter_id: i64) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT source FROM letters WHERE id = ?1",
                [letter_id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Recipients whose letter failed or bounced, in list order, with why.
    pub fn undelivered(&self, letter_id: i64) -> Result<Vec<Undelivered>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT email, state, COALESCE(error, ''), attempts FROM letter_recipients
                 WHERE letter_id = ?1 AND state IN ('failed', 'bounced') ORDER BY seq",
            )?;
            let rows = stmt.query_map([letter_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (email, state, reason, attempts) = row?;
                out.push(Undelivered {
                    email,
                    state: RecipientState::parse(&state)?,
                    reason,
                    attempts,
                });
            }
            Ok(out)
        })
    }

    /// The variables the ledger of `letter_id` holds for `email` (JSON), as written when the
    /// letter was started: what a resume fills the letter in with.
    pub fn recipient_vars(&self, letter_id: i64, email: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT vars FROM letter_recipients WHERE letter_id = ?1 AND email = ?2
                 ORDER BY seq LIMIT 1",
                params![letter_id, email],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Recipients of `letter_id` whose frozen variables owe them an SLA credit (a `credit`
    /// that is not empty).
    pub fn letter_owed(&self, letter_id: i64) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM letter_recipients
                 WHERE letter_id = ?1 AND coalesce(json_extract(vars, '$.credit'), '') <> ''",
                [letter_id],
                |r| r.get(0),
            )?)
        })
    }

    /// Addresses whose letter went again after a run stopped with it in flight.
    pub fn resent(&self, letter_id: i64) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT email FROM letter_recipients WHERE letter_id = ?1 AND resent = 1
                 ORDER BY seq",
            )?;
            let rows = stmt.query_map([letter_id], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }
}

impl Store {
    /// Pauses or cancels a letter from outside its sender (which notices within a second).
    /// `false` when the letter is not in a state that allows it (done, or already cancelled).
    pub async fn stop_letter(&self, letter_id: i64, to: LetterState) -> Result<bool> {
        self.write(move |tx| {
            let state: Option<String> = tx
                .query_row(
                    "SELECT state FROM letters WHERE id = ?1",
                    [letter_id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(state) = state else {
                return Ok(false);
            };
            let from = LetterState::parse(&state)?;
            let allowed = match to {
                LetterState::Paused => from == LetterState::Sending,
                LetterState::Cancelled => {
                    matches!(
                        from,
                        LetterState::Sending | LetterState::Paused | LetterState::Importing
                    )
                }
                _ => false,
            };
            if allowed {
                let reason = (to == LetterState::Paused).then_some("paused");
                set_letter_state(tx, letter_id, to, reason, OffsetDateTime::now_utc())?;
            }
            Ok(allowed)
        })
        .await
    }
}
