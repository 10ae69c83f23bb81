//! Public incidents and their updates as rows: what was published, in the words published,
//! and each destination's receipt through the outbox.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

use super::{Result, Store, StoreError};
use crate::status::record::{assess, CommsRecord, Posted};
use crate::status::{ComponentStatus, Destination, PublicIncident, PublicState, PublicUpdate};
use crate::time_fmt::{parse_rfc3339, rfc3339};

fn time_of(s: &str) -> Result<OffsetDateTime> {
    parse_rfc3339(s).ok_or_else(|| StoreError::Corrupt(format!("time {s:?}")))
}

fn state_of(s: &str) -> Result<PublicState> {
    PublicState::parse(s).ok_or_else(|| StoreError::Corrupt(format!("public state {s:?}")))
}

fn components_of(s: &str) -> Result<BTreeMap<String, ComponentStatus>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("components {s:?}: {e}")))
}

fn components_json(c: &BTreeMap<String, ComponentStatus>) -> String {
    serde_json::to_string(c).unwrap_or_else(|_| "{}".to_owned())
}

/// An update about to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct NewUpdate<'a> {
    pub title: &'a str,
    pub state: PublicState,
    pub message: &'a str,
    pub components: &'a BTreeMap<String, ComponentStatus>,
    pub at: OffsetDateTime,
    pub next_update_at: Option<OffsetDateTime>,
    pub author: &'a str,
    pub evidence: Option<&'a str>,
}

/// Opens a public incident; returns its id.
pub(crate) fn open_public_incident(
    tx: &Transaction<'_>,
    incident_id: Option<i64>,
    update: &NewUpdate<'_>,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO public_incidents(incident_id, title, state, components, created_at, updated_at)
         VALUES (?1, ?2, ?3, '{}', ?4, ?4)",
        params![
            incident_id,
            update.title,
            update.state.as_str(),
            rfc3339(update.at)
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Records an update and moves its public incident on (state, title, components — those
/// named are set, the others kept — and the promised next update); returns the update's id.
pub(crate) fn add_update(
    tx: &Transaction<'_>,
    public_id: i64,
    update: &NewUpdate<'_>,
) -> Result<i64> {
    let current: String = tx
        .query_row(
            "SELECT components FROM public_incidents WHERE id = ?1",
            [public_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("no public incident {public_id}")))?;
    let mut components = components_of(&current)?;
    components.extend(update.components.iter().map(|(k, v)| (k.clone(), *v)));
    let closed = update.state.is_closed();
    tx.execute(
        "UPDATE public_incidents SET title = ?2, state = ?3, components = ?4, updated_at = ?5,
             resolved_at = CASE WHEN ?6 THEN ?5 ELSE NULL END, next_update_at = ?7
         WHERE id = ?1",
        params![
            public_id,
            update.title,
            update.state.as_str(),
            components_json(&components),
            rfc3339(update.at),
            closed,
            update.next_update_at.filter(|_| !closed).map(rfc3339),
        ],
    )?;
    tx.execute(
        "INSERT INTO public_updates(public_id, state, title, message, components, posted_at,
                                    next_update_at, author, evidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            public_id,
            update.state.as_str(),
            update.title,
            update.message,
            components_json(update.components),
            rfc3339(update.at),
            update.next_update_at.filter(|_| !closed).map(rfc3339),
            update.author,
            update.evidence,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Statuspage's id for a public incident, once its first update created it there.
pub(crate) fn statuspage_id(c: &rusqlite::Connection, public_id: i64) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT statuspage_id FROM public_incidents WHERE id = ?1",
        [public_id],
        |r| r.get(0),
    )
    .optional()?
    .flatten())
}

/// Statuspage's id for the newest public incident about the incident `incident_id` that
/// reached Statuspage, if one did.
pub(crate) fn statuspage_id_of_incident(
    c: &rusqlite::Connection,
    incident_id: i64,
) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT statuspage_id FROM public_incidents
         WHERE incident_id = ?1 AND statuspage_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        [incident_id],
        |r| r.get(0),
    )
    .optional()?)
}

pub(crate) fn set_statuspage_id(tx: &Transaction<'_>, public_id: i64, id: &str) -> Result<()> {
    tx.execute(
        "UPDATE public_incidents SET statuspage_id = ?2 WHERE id = ?1",
        params![public_id, id],
    )?;
    Ok(())
}

/// Records a message of a sequence in the outbox: it is sent only once every earlier message
/// of the same sequence is sent or has failed for good. `None` if its key exists already.
#[allow(clippy::too_many_arguments)]
pub(crate) fn enqueue_in_sequence(
    tx: &Transaction<'_>,
    key: &str,
    incident_id: Option<i64>,
    channel: &str,
    payload: &str,
    at: OffsetDateTime,
    sequence: &str,
    public_update_id: i64,
) -> Result<Option<i64>> {
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO outbox(idempotency_key, incident_id, channel, payload, created_at,
                                      next_attempt_at, sequence, public_update_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
        params![
            key,
            incident_id,
            channel,
            payload,
            rfc3339(at),
            sequence,
            public_update_id
        ],
    )?;
    Ok((inserted == 1).then(|| tx.last_insert_rowid()))
}

fn updates_of(c: &rusqlite::Connection, public_id: i64) -> Result<Vec<PublicUpdate>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, state, message, components, posted_at, next_update_at, author
         FROM public_updates WHERE public_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([public_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, state, message, components, posted_at, next, author) = row?;
        out.push(PublicUpdate {
            id,
            state: state_of(&state)?,
            message,
            components: components_of(&components)?,
            posted_at: time_of(&posted_at)?,
            next_update_at: next.as_deref().map(time_of).transpose()?,
            author,
        });
    }
    Ok(out)
}

const INCIDENT_COLUMNS: &str = "id, incident_id, title, state, components, created_at, updated_at,
     resolved_at, next_update_at";

fn incident_from(c: &rusqlite::Connection, r: &rusqlite::Row<'_>) -> Result<PublicIncident> {
    let id: i64 = r.get(0)?;
    Ok(PublicIncident {
        id,
        incident_id: r.get(1)?,
        title: r.get(2)?,
        state: state_of(&r.get::<_, String>(3)?)?,
        components: components_of(&r.get::<_, String>(4)?)?,
        created_at: time_of(&r.get::<_, String>(5)?)?,
        updated_at: time_of(&r.get::<_, String>(6)?)?,
        resolved_at: r
            .get::<_, Option<String>>(7)?
            .as_deref()
            .map(time_of)
            .transpose()?,
        next_update_at: r
            .get::<_, Option<String>>(8)?
            .as_deref()
            .map(time_of)
            .transpose()?,
        updates: updates_of(c, id)?,
    })
}

pub(crate) fn public_incident_in(
    c: &rusqlite::Connection,
    id: i64,
) -> Result<Option<PublicIncident>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM public_incidents WHERE id = ?1"
    ))?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(r) => Ok(Some(incident_from(c, r)?)),
        None => Ok(None),
    }
}

/// How incident `incident_id`'s public updates kept their promises as of `now` (every public
/// incident about it, in the order the updates went out); `None` without such an incident.
pub(crate) fn comms_record_in(
    c: &rusqlite::Connection,
    incident_id: i64,
    now: OffsetDateTime,
) -> Result<Option<CommsRecord>> {
    let opened: Option<String> = c
        .query_row(
            "SELECT opened_at FROM incidents WHERE id = ?1",
            [incident_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(opened) = opened else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(
        "SELECT u.posted_at, u.next_update_at FROM public_updates u
         JOIN public_incidents p ON p.id = u.public_id
         WHERE p.incident_id = ?1 ORDER BY u.posted_at, u.id",
    )?;
    let mut rows = stmt.query([incident_id])?;
    let mut updates = Vec::new();
    while let Some(r) = rows.next()? {
        let at: String = r.get(0)?;
        let next: Option<String> = r.get(1)?;
        updates.push(Posted {
            at: time_of(&at)?,
            next_update_at: next.as_deref().map(time_of).transpose()?,
        });
    }
    Ok(Some(assess(time_of(&opened)?, &updates, now)))
}

/// How one destination's copy of an update went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Receipt {
    pub destination: Destination,
    /// `published`, `waiting` (to be tried, or retried after an error) or `failed`.
    pub state: ReceiptState,
    pub attempts: u32,
    /// The last error, while waiting or once failed.
    pub error: Option<String>,
    /// The vendor's id for it (Statuspage's incident id, Slack's `ts`).
    pub receipt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ReceiptState {
    Published,
    Waiting,
    Failed,
}

impl Store {
    /// One public incident with its updates.
    pub fn public_incident(&self, id: i64) -> Result<Option<PublicIncident>> {
        self.read(|c| public_incident_in(c, id))
    }

    /// Public incidents, newest first, at most `limit`.
    pub fn public_incidents(&self, limit: u32) -> Result<Vec<PublicIncident>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM public_incidents ORDER BY id DESC LIMIT ?1"
            ))?;
            let mut rows = stmt.query([limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(incident_from(c, r)?);
            }
            Ok(out)
        })
    }

    /// The newest public incident about one of Foghorn's incidents.
    pub fn public_incident_for(&self, incident_id: i64) -> Result<Option<PublicIncident>> {
        self.read(|c| {
            let id: Option<i64> = c
                .query_row(
                    "SELECT max(id) FROM public_incidents WHERE incident_id = ?1",
                    [incident_id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            match id {
                Some(id) => public_incident_in(c, id),
                None => Ok(None),
            }
        })
    }

    /// Each destination's receipt for one update, in destination order.
    pub fn receipts(&self, update_id: i64) -> Result<Vec<Receipt>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT channel, attempts, sent_at IS NOT NULL, failed_at IS NOT NULL,
                        last_error, receipt
                 FROM outbox WHERE public_update_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([update_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (channel, attempts, sent, failed, error, receipt) = row?;
                let destination = Destination::from_outbox_channel(&channel)
                    .ok_or_else(|| StoreError::Corrupt(format!("channel {channel:?}")))?;
                let state = match (sent, failed) {
                    (true, _) => ReceiptState::Published,
                    (false, true) => ReceiptState::Failed,
                    (false, false) => ReceiptState::Waiting,
                };
                out.push(Receipt {
                    destination,
                    state,
                    attempts,
                    error,
                    receipt,
                });
            }
            out.sort_by_key(|r| r.destination);
            Ok(out)
        })
    }

    /// Messages due for an attempt at `now` (see `due_messages`), for a process that sends
    /// only some of them (`foghorn status post`).
    pub fn due_messages(&self, now: OffsetDateTime) -> Result<Vec<super::OutboxRow>> {
        self.read(|c| super::due_messages(c, now))
    }

    /// How many messages whose idempotency key starts with `prefix` are neither sent nor
    /// failed for good.
    pub fn unsettled(&self, prefix: &str) -> Result<u32> {
        let pattern = format!("{}%", prefix.replace('%', "").replace('_', "\\_"));
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM outbox WHERE idempotency_key LIKE ?1 ESCAPE '\\'
                   AND sent_at IS NULL AND failed_at IS NULL",
                [pattern],
                |r| r.get(0),
            )?)
        })
    }

    /// How an incident's public updates kept their promises (see [`comms_record_in`]).
    pub fn comms_record(
        &self,
        incident_id: i64,
        now: OffsetDateTime,
    ) -> Result<Option<CommsRecord>> {
        self.read(|c| comms_record_in(c, incident_id, now))
    }

    /// The newest update's id of a public incident.
    pub fn latest_update_id(&self, public_id: i64) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT max(id) FROM public_updates WHERE public_id = ?1",
                [public_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
        })
    }

    /// The public incident an update belongs to; `None` without such an update.
    pub fn public_id_of_update(&self, update_id: i64) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT public_id FROM public_updates WHERE id = ?1",
                [update_id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Makes a failed message of an update due again ("retry this destination alone").
    pub async fn retry_destination(
        &self,
        update_id: i64,
        destination: Destination,
    ) -> Result<bool> {
        let channel = destination.outbox_channel();
        let now = rfc3339(OffsetDateTime::now_utc());
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = ?3
                 WHERE public_update_id = ?1 AND channel = ?2 AND sent_at IS NULL",
                params![update_id, channel, now],
            )? == 1)
        })
        .await
    }
}
