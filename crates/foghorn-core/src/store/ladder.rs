//! The escalation ladder's steps and the outbox, as rows: what is due survives a restart, and
//! a message is recorded (with its idempotency key) before anything is sent.

use rusqlite::{params, OptionalExtension, Transaction};
use time::OffsetDateTime;

use super::{Result, Store, StoreError};
use crate::incident::LadderStep;
use crate::time_fmt::{parse_rfc3339, rfc3339};

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub idempotency_key: String,
    pub incident_id: Option<i64>,
    pub channel: String,
    pub payload: String,
    pub attempts: u32,
    /// An earlier attempt began and left no outcome: the process died mid-send, so the
    /// message may already have arrived once.
    pub interrupted: bool,
}

fn time_of(s: &str) -> Result<OffsetDateTime> {
    parse_rfc3339(s).ok_or_else(|| StoreError::Corrupt(format!("time {s:?}")))
}

/// Schedules `steps` (index, action, due) for an incident that opened, or opened again: a
/// re-triggered incident climbs its ladder from the start.
pub(crate) fn schedule_steps(
    tx: &Transaction<'_>,
    incident_id: i64,
    steps: &[(u32, &str, OffsetDateTime)],
) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO escalation_steps(incident_id, step, action, due_at, state)
         VALUES (?1, ?2, ?3, ?4, 'pending')
         ON CONFLICT(incident_id, step) DO UPDATE SET
            action = excluded.action, due_at = excluded.due_at, state = 'pending', note = NULL",
    )?;
    for (step, action, due) in steps {
        insert.execute(params![incident_id, step, action, rfc3339(*due)])?;
    }
    Ok(())
}

/// Pending steps due at `now`, oldest first (a ladder resumed after a sleep fires its overdue
/// steps in order).
pub(crate) fn due_steps(
    c: &rusqlite::Connection,
    now: OffsetDateTime,
) -> Result<Vec<(i64, LadderStep)>> {
    let mut stmt = c.prepare_cached(
        "SELECT incident_id, step, action, due_at, state, note FROM escalation_steps
         WHERE state = 'pending' AND due_at <= ?1 ORDER BY due_at, incident_id, step",
    )?;
    let rows = stmt.query_map([rfc3339(now)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (incident, step, action, due, state, note) = row?;
        out.push((
            incident,
            LadderStep {
                step,
                action,
                due_at: time_of(&due)?,
                state,
                note,
            },
        ));
    }
    Ok(out)
}

/// Moves a pending step to `state` (`fired`, `skipped`) with a note; `false` if it was not
/// pending any more (someone acknowledged in between).
pub(crate) fn settle_step(
    tx: &Transaction<'_>,
    incident_id: i64,
    step: u32,
    state: &str,
    note: &str,
) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE escalation_steps SET state = ?3, note = ?4
         WHERE incident_id = ?1 AND step = ?2 AND state = 'pending'",
        params![incident_id, step, state, note],
    )? == 1)
}

/// Cancels every pending step of an incident (acknowledged or resolved); returns how many.
pub(crate) fn cancel_steps(tx: &Transaction<'_>, incident_id: i64, why: &str) -> Result<usize> {
    Ok(tx.execute(
        "UPDATE escalation_steps SET state = 'cancelled', note = ?2
         WHERE incident_id = ?1 AND state = 'pending'",
        params![incident_id, why],
    )?)
}

/// The next pending step of an incident is due now ("Escalate now"); returns whether there
/// was one.
pub(crate) fn escalate_now(
    tx: &Transaction<'_>,
    incident_id: i64,
    now: OffsetDateTime,
) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE escalation_steps SET due_at = ?2
         WHERE incident_id = ?1 AND state = 'pending'
           AND step = (SELECT min(step) FROM escalation_steps WHERE incident_id = ?1 AND state = 'pending')",
        params![incident_id, rfc3339(now)],
    )? == 1)
}

/// Skips the next pending step of an incident; returns its index.
pub(crate) fn skip_next(tx: &Transaction<'_>, incident_id: i64, who: &str) -> Result<Option<u32>> {
    let next: Option<u32> = tx
        .query_row(
            "SELECT min(step) FROM escalation_steps WHERE incident_id = ?1 AND state = 'pending'",
            [incident_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if let Some(step) = next {
        settle_step(
            tx,
            incident_id,
            step,
            "skipped",
            &format!("skipped by {who}"),
        )?;
    }
    Ok(next)
}

/// Takes over an incident's ladder from a laptop that went away, having settled the steps in
/// `done`: those still pending here are skipped with `note`; the others this laptop skipped
/// (it was not climbing then) are pending again, due at `now`; pending ones keep their
/// times. Returns the steps left to climb, in order.
pub(crate) fn take_over_steps(
    tx: &Transaction<'_>,
    incident_id: i64,
    done: &std::collections::BTreeSet<u32>,
    note: &str,
    now: OffsetDateTime,
) -> Result<Vec<u32>> {
    let mut remaining = Vec::new();
    for step in ladder_of(tx, incident_id)? {
        if done.contains(&step.step) {
            settle_step(tx, incident_id, step.step, "skipped", note)?;
            continue;
        }
        match step.state.as_str() {
            "pending" => remaining.push(step.step),
            // A step fired here is never fired twice.
            "fired" => {}
            _ => {
                tx.execute(
                    "UPDATE escalation_steps SET state = 'pending', note = NULL, due_at = ?3
                     WHERE incident_id = ?1 AND step = ?2",
                    params![incident_id, step.step, rfc3339(now.max(step.due_at))],
                )?;
                remaining.push(step.step);
            }
        }
    }
    Ok(remaining)
}

/// Whether this laptop took over the ladder of an incident (its timeline says so).
pub(crate) fn took_over_ladder(c: &rusqlite::Connection, incident_id: i64) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM timeline WHERE incident_id = ?1 AND kind = 'handover')",
        [incident_id],
        |r| r.get(0),
    )?)
}

/// Records a message in the outbox; `None` if one with the same key exists already (the
/// step fired before a crash: it is not sent twice).
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    key: &str,
    incident_id: Option<i64>,
    channel: &str,
    payload: &str,
    at: OffsetDateTime,
) -> Result<Option<i64>> {
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO outbox(idempotency_key, incident_id, channel, payload, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![key, incident_id, channel, payload, rfc3339(at)],
    )?;
    Ok((inserted == 1).then(|| tx.last_insert_rowid()))
}

/// Messages due for an attempt at `now`, in the order they were recorded: overdue steps
/// fired together go out in step order. A message of a sequence waits for the earlier ones
/// of its sequence to be settled (a Statuspage update patches the incident the first one
/// created).
pub(crate) fn due_messages(
    c: &rusqlite::Connection,
    now: OffsetDateTime,
) -> Result<Vec<OutboxRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, idempotency_key, incident_id, channel, payload, attempts,
                attempts > 0 AND last_error IS NULL FROM outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
           AND (sequence IS NULL OR NOT EXISTS (
                SELECT 1 FROM outbox earlier
                WHERE earlier.sequence = outbox.sequence AND earlier.id < outbox.id
                  AND earlier.sent_at IS NULL AND earlier.failed_at IS NULL))
         ORDER BY id LIMIT 100",
    )?;
    let rows = stmt.query_map([rfc3339(now)], |r| {
        Ok(OutboxRow {
            id: r.get(0)?,
            idempotency_key: r.get(1)?,
            incident_id: r.get(2)?,
            channel: r.get(3)?,
            payload: r.get(4)?,
            attempts: r.get(5)?,
            interrupted: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Before sending: claims the message read with `attempts` attempts, counts the attempt and
/// holds the message back until `retry_at`, so a crash mid-send retries later rather than at
/// once. `false` when the row changed since it was read — another engine on the same database
/// claimed it (or it was settled) — and this one must not send it: the attempt count is the
/// claim's version, so of two engines that read the same row only one update matches.
pub(crate) fn begin_attempt(
    tx: &Transaction<'_>,
    id: i64,
    attempts: u32,
    retry_at: OffsetDateTime,
) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2
         WHERE id = ?1 AND attempts = ?3 AND sent_at IS NULL AND failed_at IS NULL",
        params![id, rfc3339(retry_at), attempts],
    )? == 1)
}

pub(crate) fn mark_sent(
    tx: &Transaction<'_>,
    id: i64,
    at: OffsetDateTime,
    receipt: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET sent_at = ?2, receipt = ?3, last_error = NULL WHERE id = ?1",
        params![id, rfc3339(at), receipt],
    )?;
    Ok(())
}

pub(crate) fn mark_retry(
    tx: &Transaction<'_>,
    id: i64,
    next: OffsetDateTime,
    error: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
        params![id, rfc3339(next), error],
    )?;
    Ok(())
}

pub(crate) fn mark_failed(
    tx: &Transaction<'_>,
    id: i64,
    at: OffsetDateTime,
    error: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET failed_at = ?2, last_error = ?3 WHERE id = ?1",
        params![id, rfc3339(at), error],
    )?;
    Ok(())
}

/// The ladder of an incident, step by step.
pub(crate) fn ladder_of(c: &rusqlite::Connection, incident_id: i64) -> Result<Vec<LadderStep>> {
    let mut stmt = c.prepare_cached(
        "SELECT step, action, due_at, state, note FROM escalation_steps
         WHERE incident_id = ?1 ORDER BY step",
    )?;
    let rows = stmt.query_map([incident_id], |r| {
        Ok((
            r.get::<_, u32>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (step, action, due, state, note) = row?;
        out.push(LadderStep {
            step,
            action,
            due_at: time_of(&due)?,
            state,
            note,
        });
    }
    Ok(out)
}

impl Store {
    /// The ladder of an incident, step by step.
    pub fn ladder(&self, incident_id: i64) -> Result<Vec<LadderStep>> {
        self.read(|c| ladder_of(c, incident_id))
    }

    /// Messages of the outbox with their state, for tests and the window: (key, channel,
    /// attempts, sent, failed, last error, next attempt).
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT idempotency_key, channel, attempts, sent_at IS NOT NULL, failed_at IS NOT NULL, last_error,
                        next_attempt_at
                 FROM outbox ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                let entry = OutboxEntry {
                    idempotency_key: r.get(0)?,
                    channel: r.get(1)?,
                    attempts: r.get(2)?,
                    sent: r.get(3)?,
                    failed: r.get(4)?,
                    last_error: r.get(5)?,
                    next_attempt_at: OffsetDateTime::UNIX_EPOCH,
                };
                Ok((entry, r.get::<_, String>(6)?))
            })?;
            let rows: Vec<(OutboxEntry, String)> = rows.collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(mut entry, next)| -> Result<OutboxEntry> {
                    entry.next_attempt_at = time_of(&next)?;
                    Ok(entry)
                })
                .collect()
        })
    }
}

/// One outbox message's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub idempotency_key: String,
    pub channel: String,
    pub attempts: u32,
    pub sent: bool,
    pub failed: bool,
    pub last_error: Option<String>,
    /// When it is tried next (or was last tried, once sent or failed).
    pub next_attempt_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use time::macros::datetime;

    /// Two engines (two stores, two connections) on one data directory read the same due
    /// message: only one of them may claim it.
    #[tokio::test]
    async fn two_stores_claiming_the_same_message_one_wins() {
        let dir = tempfile::tempdir().expect("dir");
        let first = Store::open(dir.path()).expect("first");
        let second = Store::open(dir.path()).expect("second");
        let now = OffsetDateTime::now_utc();
        first
            .write(move |tx| enqueue(tx, "k1", None, "chat", "{}", now).map(|_| ()))
            .await
            .expect("enqueue");
        let later = now + time::Duration::SECOND;
        let seen_first = first.read(|c| due_messages(c, later)).expect("read");
        let seen_second = second.read(|c| due_messages(c, later)).expect("read");
        assert_eq!(seen_first, seen_second, "both see the message due");
        let row = seen_first[0].clone();
        let lease = later + time::Duration::MINUTE;
        let (id, attempts) = (row.id, row.attempts);
        let won_first = first
            .write(move |tx| begin_attempt(tx, id, attempts, lease))
            .await
            .expect("claim");
        let won_second = second
            .write(move |tx| begin_attempt(tx, id, attempts, lease))
            .await
            .expect("claim");
        assert!(
            won_first ^ won_second,
            "exactly one claim wins ({won_first}, {won_second})"
        );
        assert_eq!(first.outbox().expect("outbox")[0].attempts, 1);
    }

    /// Regression: after a restart two overdue steps fired in one tick were recorded half a
    /// millisecond-digit apart (`…:05.5Z`, then `…:05.51Z`); ordered as variable-width text
    /// the second sorted first, and the call went out before the text.
    #[tokio::test]
    async fn overdue_steps_fired_together_go_out_in_step_order() {
        let store = Store::in_memory().expect("open");
        let text_at = datetime!(2026-12-02 15:04:05.5 UTC);
        let call_at = datetime!(2026-12-02 15:04:05.51 UTC);
        store
            .write(move |tx| {
                enqueue(tx, "incident:1:step:1:0", None, "sms", "{}", text_at)?;
                enqueue(tx, "incident:1:step:2:0", None, "call", "{}", call_at)?;
                Ok(())
            })
            .await
            .expect("enqueue");
        let now = datetime!(2026-12-02 15:04:06 UTC);
        let due: Vec<String> = store
            .read(|c| due_messages(c, now))
            .expect("due")
            .into_iter()
            .map(|m| m.channel)
            .collect();
        assert_eq!(due, ["sms", "call"]);
    }
}
