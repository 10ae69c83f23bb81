//! What a postmortem is drafted from, read in one snapshot: the incidents, their signals and
//! timelines, the checks of their monitors around them, the notifications and pages sent,
//! the public updates, the support conversations and the letters. Rows only; the figures
//! are worked out in [`crate::postmortem`].

use rusqlite::{params_from_iter, Connection};
use time::OffsetDateTime;

use super::{Result, Store, StoreError};
use crate::time_fmt::parse_rfc3339;

/// One incident of the postmortem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    pub id: i64,
    pub title: String,
    pub severity: String,
    pub opened_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub acked_at: Option<OffsetDateTime>,
    pub acked_by: Option<String>,
}

/// A signal that joined one of the incidents (`monitor:api`, an Alertmanager alert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalRow {
    pub incident_id: i64,
    pub dedup_key: String,
    pub source: String,
    pub summary: String,
    pub started_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRow {
    pub incident_id: i64,
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor: String,
    pub detail: String,
}

/// One check of a monitor: when (Unix milliseconds), and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub at_ms: i64,
    pub ok: bool,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
}

/// A message of the escalation ladder (chat, SMS, call, PagerDuty, webhook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    pub incident_id: i64,
    pub channel: String,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub failed_at: Option<OffsetDateTime>,
}

/// A public update about one of the incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRow {
    pub state: String,
    pub title: String,
    pub message: String,
    pub posted_at: OffsetDateTime,
    pub next_update_at: Option<OffsetDateTime>,
    pub author: String,
}

/// A customer's conversation about one of the incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportRow {
    pub conversation_id: String,
    pub customer_name: Option<String>,
    /// When the customer wrote (the helpdesk's `waiting_since`), else when Foghorn saw it.
    pub wrote_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
}

/// A letter about one of the incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRow {
    pub subject: String,
    pub total: u64,
    pub accepted: u64,
    pub finished_at: Option<OffsetDateTime>,
}

/// Everything stored about a set of incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostmortemRows {
    pub incidents: Vec<IncidentRow>,
    pub signals: Vec<SignalRow>,
    pub timeline: Vec<TimelineRow>,
    /// First shown (or first recorded) native notification of each incident.
    pub notifications: Vec<(i64, OffsetDateTime)>,
    pub pages: Vec<PageRow>,
    pub updates: Vec<UpdateRow>,
    pub support: Vec<SupportRow>,
    pub letters: Vec<LetterRow>,
}

/// A stored time of a row; one that does not parse is an error naming its column.
pub(crate) fn time_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<OffsetDateTime> {
    let text: String = r.get(i)?;
    parse_rfc3339(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("not a time: {text:?}").into(),
        )
    })
}

/// The same for a time that may be missing.
pub(crate) fn time_at_opt(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<OffsetDateTime>> {
    match r.get::<_, Option<String>>(i)? {
        Some(_) => time_at(r, i).map(Some),
        None => Ok(None),
    }
}

/// `?1, ?2, …` for `n` ids.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `sql` (whose `{list}` is the ids' placeholders) for `ids`, a row at a time.
fn query<T>(
    conn: &Connection,
    sql: &str,
    ids: &[i64],
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare(&sql.replace("{list}", &placeholders(ids.len())))?;
    let rows = stmt
        .query_map(params_from_iter(ids), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn rows(conn: &Connection, ids: &[i64]) -> Result<PostmortemRows> {
    let incidents = query(
        conn,
        "SELECT id, title, severity, opened_at, resolved_at, acked_at, acked_by
         FROM incidents WHERE id IN ({list}) ORDER BY opened_at, id",
        ids,
        |r| {
            Ok(IncidentRow {
                id: r.get(0)?,
                title: r.get(1)?,
                severity: r.get(2)?,
                opened_at: time_at(r, 3)?,
                resolved_at: time_at_opt(r, 4)?,
                acked_at: time_at_opt(r, 5)?,
                acked_by: r.get(6)?,
            })
        },
    )?;
    if let Some(missing) = ids
        .iter()
        .find(|id| !incidents.iter().any(|i| i.id == **id))
    {
        return Err(StoreError::NoSuchIncident(*missing));
    }
    let signals = query(
        conn,
        "SELECT incident_id, dedup_key, source, summary, started_at, ended_at
         FROM signals WHERE incident_id IN ({list}) ORDER BY started_at",
        ids,
        |r| {
            Ok(SignalRow {
                incident_id: r.get(0)?,
                dedup_key: r.get(1)?,
                source: r.get(2)?,
                summary: r.get(3)?,
                started_at: time_at(r, 4)?,
                ended_at: time_at_opt(r, 5)?,
            })
        },
    )?;
    // A signal's row follows its key to the newest incident: a monitor that failed again
    // later moved it there. An older incident still names the key it was opened for, and
    // its own times stand in for the signal's.
    let mut signals = signals;
    let orphans = query(
        conn,
        "SELECT id, dedup_key, title, opened_at, resolved_at FROM incidents i
         WHERE id IN ({list}) AND NOT EXISTS (SELECT 1 FROM signals s WHERE s.incident_id = i.id)",
        ids,
        |r| {
            let dedup_key: String = r.get(1)?;
            Ok(SignalRow {
                incident_id: r.get(0)?,
                source: dedup_key
                    .split_once(':')
                    .map_or("feed", |(source, _)| source)
                    .to_owned(),
                dedup_key,
                summary: r.get(2)?,
                started_at: time_at(r, 3)?,
                ended_at: time_at_opt(r, 4)?,
            })
        },
    )?;
    signals.extend(orphans);
    signals.sort_by_key(|s| s.started_at);
    let timeline = query(
        conn,
        "SELECT incident_id, at, kind, actor, detail FROM timeline
         WHERE incident_id IN ({list}) ORDER BY at, id",
        ids,
        |r| {
            Ok(TimelineRow {
                incident_id: r.get(0)?,
                at: time_at(r, 1)?,
                kind: r.get(2)?,
                actor: r.get(3)?,
                detail: r.get(4)?,
            })
        },
    )?;
    let notifications = query(
        conn,
        "SELECT incident_id, MIN(COALESCE(delivered_at, created_at)) FROM notifications
         WHERE incident_id IN ({list}) GROUP BY incident_id",
        ids,
        |r| Ok((r.get(0)?, time_at(r, 1)?)),
    )?;
    let pages = query(
        conn,
        "SELECT incident_id, channel, created_at, sent_at, failed_at FROM outbox
         WHERE incident_id IN ({list}) AND public_update_id IS NULL
           AND channel IN ('chat', 'sms', 'call', 'pagerduty', 'webhook')
         ORDER BY created_at, id",
        ids,
        |r| {
            Ok(PageRow {
                incident_id: r.get(0)?,
                channel: r.get(1)?,
                created_at: time_at(r, 2)?,
                sent_at: time_at_opt(r, 3)?,
                failed_at: time_at_opt(r, 4)?,
            })
        },
    )?;
    let updates = query(
        conn,
        "SELECT u.state, u.title, u.message, u.posted_at, u.next_update_at, u.author
         FROM public_updates u JOIN public_incidents p ON p.id = u.public_id
         WHERE p.incident_id IN ({list}) ORDER BY u.posted_at, u.id",
        ids,
        |r| {
            Ok(UpdateRow {
                state: r.get(0)?,
                title: r.get(1)?,
                message: r.get(2)?,
                posted_at: time_at(r, 3)?,
                next_update_at: time_at_opt(r, 4)?,
                author: r.get(5)?,
            })
        },
    )?;
    let support = query(
        conn,
        "SELECT conversation_id, MIN(customer_name), MIN(waiting_since), MIN(first_seen_at),
                MIN(answered_at)
         FROM support_conversations WHERE incident_id IN ({list})
         GROUP BY conversation_id ORDER BY MIN(first_seen_at)",
        ids,
        |r| {
            let seen = time_at(r, 3)?;
            let waiting: Option<i64> = r.get(2)?;
            Ok(SupportRow {
                conversation_id: r.get(0)?,
                customer_name: r.get(1)?,
                wrote_at: waiting
                    .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                    .map_or(seen, |w| w.min(seen)),
                answered_at: time_at_opt(r, 4)?,
            })
        },
    )?;
    let letters = query(
        conn,
        "SELECT l.subject, l.total, l.finished_at,
                (SELECT COUNT(*) FROM letter_recipients r
                 WHERE r.letter_id = l.id AND r.state = 'accepted')
         FROM letters l WHERE l.incident_id IN ({list}) ORDER BY l.created_at",
        ids,
        |r| {
            Ok(LetterRow {
                subject: r.get(0)?,
                total: r.get::<_, i64>(1)? as u64,
                finished_at: time_at_opt(r, 2)?,
                accepted: r.get::<_, i64>(3)? as u64,
            })
        },
    )?;
    Ok(PostmortemRows {
        incidents,
        signals,
        timeline,
        notifications,
        pages,
        updates,
        support,
        letters,
    })
}

/// A monitor's checks from `from_ms` to `to_ms`, and the last one before `from_ms` (where a
/// failing run began is found by walking back to the last pass).
fn checks(conn: &Connection, monitor_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<CheckRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.at, r.ok, r.latency_ms, r.error FROM check_results r
         JOIN monitor_keys k ON k.key = r.monitor
         WHERE k.monitor_id = ?1 AND r.at >= ?2 AND r.at <= ?3 ORDER BY r.at",
    )?;
    let list = stmt
        .query_map(rusqlite::params![monitor_id, from_ms, to_ms], |r| {
            Ok(CheckRow {
                at_ms: r.get(0)?,
                ok: r.get::<_, i64>(1)? != 0,
                latency_ms: r.get(2)?,
                error: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(list)
}

impl Store {
    /// The rows a postmortem of `ids` is drafted from; an id that is not an incident is an
    /// error naming it.
    pub fn postmortem_rows(&self, ids: &[i64]) -> Result<PostmortemRows> {
        if ids.is_empty() {
            return Ok(PostmortemRows::default());
        }
        self.read(|c| rows(c, ids))
    }

    /// A monitor's checks between two times (Unix milliseconds), oldest first.
    pub fn checks_between(
        &self,
        monitor_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<CheckRow>> {
        self.read(|c| checks(c, monitor_id, from_ms, to_ms))
    }
}
