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

fn time(s: &str) -> Result<OffsetDateTime> {
    parse_rfc3339(s).ok_or_else(|| StoreError::Corrupt(format!("time {s:?}")))
}

fn opt_time(s: Option<String>) -> Result<Option<OffsetDateTime>> {
    s.as_deref().map(time).transpose()
}

/// `?1, ?2, …` for `n` ids.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rows(conn: &Connection, ids: &[i64]) -> Result<PostmortemRows> {
    let list = placeholders(ids.len());
    let mut out = PostmortemRows::default();

    let mut stmt = conn.prepare(&format!(
        "SELECT id, title, severity, opened_at, resolved_at, acked_at, acked_by
         FROM incidents WHERE id IN ({list}) ORDER BY opened_at, id"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, title, severity, opened, resolved, acked, acked_by) in raw {
        out.incidents.push(IncidentRow {
            id,
            title,
            severity,
            opened_at: time(&opened)?,
            resolved_at: opt_time(resolved)?,
            acked_at: opt_time(acked)?,
            acked_by,
        });
    }
    if let Some(missing) = ids
        .iter()
        .find(|id| !out.incidents.iter().any(|i| i.id == **id))
    {
        return Err(StoreError::NoSuchIncident(*missing));
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT incident_id, dedup_key, source, summary, started_at, ended_at
         FROM signals WHERE incident_id IN ({list}) ORDER BY started_at"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (incident_id, dedup_key, source, summary, started, ended) in raw {
        out.signals.push(SignalRow {
            incident_id,
            dedup_key,
            source,
            summary,
            started_at: time(&started)?,
            ended_at: opt_time(ended)?,
        });
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT incident_id, at, kind, actor, detail FROM timeline
         WHERE incident_id IN ({list}) ORDER BY at, id"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (incident_id, at, kind, actor, detail) in raw {
        out.timeline.push(TimelineRow {
            incident_id,
            at: time(&at)?,
            kind,
            actor,
            detail,
        });
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT incident_id, MIN(COALESCE(delivered_at, created_at)) FROM notifications
         WHERE incident_id IN ({list}) GROUP BY incident_id"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (incident_id, at) in raw {
        out.notifications.push((incident_id, time(&at)?));
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT incident_id, channel, created_at, sent_at, failed_at FROM outbox
         WHERE incident_id IN ({list}) AND public_update_id IS NULL
           AND channel IN ('chat', 'sms', 'call', 'pagerduty', 'webhook')
         ORDER BY created_at, id"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (incident_id, channel, created, sent, failed) in raw {
        out.pages.push(PageRow {
            incident_id,
            channel,
            created_at: time(&created)?,
            sent_at: opt_time(sent)?,
            failed_at: opt_time(failed)?,
        });
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT u.state, u.title, u.message, u.posted_at, u.next_update_at, u.author
         FROM public_updates u JOIN public_incidents p ON p.id = u.public_id
         WHERE p.incident_id IN ({list}) ORDER BY u.posted_at, u.id"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (state, title, message, posted, next, author) in raw {
        out.updates.push(UpdateRow {
            state,
            title,
            message,
            posted_at: time(&posted)?,
            next_update_at: opt_time(next)?,
            author,
        });
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT conversation_id, MIN(customer_name), MIN(waiting_since), MIN(first_seen_at),
                MIN(answered_at)
         FROM support_conversations WHERE incident_id IN ({list})
         GROUP BY conversation_id ORDER BY MIN(first_seen_at)"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (conversation_id, customer_name, waiting_since, first_seen, answered) in raw {
        let seen = time(&first_seen)?;
        let wrote_at = waiting_since
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map_or(seen, |w| w.min(seen));
        out.support.push(SupportRow {
            conversation_id,
            customer_name,
            wrote_at,
            answered_at: opt_time(answered)?,
        });
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT l.subject, l.total, l.finished_at,
                (SELECT COUNT(*) FROM letter_recipients r
                 WHERE r.letter_id = l.id AND r.state = 'accepted')
         FROM letters l WHERE l.incident_id IN ({list}) ORDER BY l.created_at"
    ))?;
    let raw = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (subject, total, finished, accepted) in raw {
        out.letters.push(LetterRow {
            subject,
            total: total as u64,
            accepted: accepted as u64,
            finished_at: opt_time(finished)?,
        });
    }
    Ok(out)
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
