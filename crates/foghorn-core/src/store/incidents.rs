//! Incidents, the signals grouped into them, their append-only timeline, and notifications
//! recorded before they are shown.
//!
//! Every function taking a transaction is one step of a larger write: the engine commits a
//! signal, the incident change it causes and the notification it owes together, so a crash
//! leaves either all of them or none.

use rusqlite::{params, OptionalExtension, Row, Transaction};
use time::OffsetDateTime;

use super::{Result, Store, StoreError};
use crate::incident::rules::{self, Act, Clear, Raise, RaiseFacts};
use crate::incident::{
    IncidentAction, IncidentDetail, IncidentState, IncidentView, Severity, Signal, SignalView,
    TimelineEntry, TimelineKind,
};
use crate::notify::{human_duration, Notification, Urgency};
use crate::time_fmt::{parse_rfc3339, rfc3339};

const COLUMNS: &str = "id, dedup_key, title, severity, state, opened_at, resolved_at, acked_by, \
                       acked_at, snoozed_until, assignee, auto_resolve";

/// What a signal firing did to the incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange {
    /// A new incident.
    Opened,
    /// A recently resolved incident of the same key opened again.
    Retriggered,
    /// The signal joined an incident already open for its group.
    Joined,
    /// The signal was already firing in this incident.
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub incident: IncidentView,
    pub change: IncidentChange,
}

/// What a signal clearing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    pub incident: IncidentView,
    /// Every signal cleared and the incident resolves itself: it is now resolved.
    pub resolved: bool,
}

/// A notification recorded and not yet shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotification {
    pub id: i64,
    pub incident_id: i64,
    pub notification: Notification,
    /// The alarm rings with it (the person on call, a major or critical incident).
    pub loud: bool,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<std::result::Result<IncidentView, String>> {
    let id: i64 = r.get(0)?;
    let severity: String = r.get(3)?;
    let state: String = r.get(4)?;
    let opened: String = r.get(5)?;
    let time_at = |i: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        Ok(r.get::<_, Option<String>>(i)?
            .as_deref()
            .and_then(parse_rfc3339))
    };
    let (resolved_at, acked_at, snoozed_until) = (time_at(6)?, time_at(8)?, time_at(9)?);
    let dedup_key: String = r.get(1)?;
    let title: String = r.get(2)?;
    let acked_by: Option<String> = r.get(7)?;
    let assignee: Option<String> = r.get(10)?;
    let auto_resolve: bool = r.get(11)?;
    let parsed = (|| {
        Ok(IncidentView {
            id,
            dedup_key,
            title,
            severity: Severity::parse(&severity).ok_or(format!("severity {severity:?}"))?,
            state: IncidentState::parse(&state).ok_or(format!("state {state:?}"))?,
            opened_at: parse_rfc3339(&opened).ok_or(format!("opened_at {opened:?}"))?,
            resolved_at,
            acked_by,
            acked_at,
            snoozed_until,
            assignee,
            auto_resolve,
        })
    })();
    Ok(parsed.map_err(|e: String| format!("incident {id}: {e}")))
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<std::result::Result<IncidentView, String>>>,
) -> Result<Vec<IncidentView>> {
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.map_err(StoreError::Corrupt)?);
    }
    Ok(out)
}

fn by_id(c: &rusqlite::Connection, id: i64) -> Result<Option<IncidentView>> {
    let row = c
        .query_row(
            &format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?;
    row.transpose().map_err(StoreError::Corrupt)
}

fn open_for_key(c: &rusqlite::Connection, key: &str) -> Result<Option<IncidentView>> {
    let row = c
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM incidents WHERE dedup_key = ?1 AND state != 'resolved'"
            ),
            [key],
            from_row,
        )
        .optional()?;
    row.transpose().map_err(StoreError::Corrupt)
}

fn must(c: &rusqlite::Connection, id: i64) -> Result<IncidentView> {
    by_id(c, id)?.ok_or(StoreError::NoSuchIncident(id))
}

pub(crate) fn append_timeline(
    tx: &Transaction<'_>,
    incident_id: i64,
    at: OffsetDateTime,
    kind: TimelineKind,
    actor: &str,
    detail: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO timeline(incident_id, at, kind, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![incident_id, rfc3339(at), kind.as_str(), actor, detail],
    )?;
    Ok(())
}

fn upsert_signal(tx: &Transaction<'_>, incident_id: i64, s: &Signal) -> Result<()> {
    tx.execute(
        "INSERT INTO signals(dedup_key, incident_id, source, summary, severity, link, started_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT(dedup_key) DO UPDATE SET
            incident_id = excluded.incident_id, source = excluded.source,
            summary = excluded.summary, severity = excluded.severity, link = excluded.link,
            started_at = excluded.started_at, last_seen_at = excluded.last_seen_at,
            ended_at = NULL",
        params![
            s.dedup_key,
            incident_id,
            s.source,
            s.summary,
            s.severity.as_str(),
            s.link,
            rfc3339(s.at)
        ],
    )?;
    Ok(())
}

/// Notifications of `incident_id` not shown yet are dropped: a person has acted on it.
fn supersede_notifications(
    tx: &Transaction<'_>,
    incident_id: i64,
    at: OffsetDateTime,
) -> Result<()> {
    tx.execute(
        "UPDATE notifications SET delivered_at = ?2, outcome = 'superseded'
         WHERE incident_id = ?1 AND delivered_at IS NULL",
        params![incident_id, rfc3339(at)],
    )?;
    Ok(())
}

/// A signal fires: [`rules::on_raise`] decides on what this transaction reads, and the
/// answer is written in it.
pub(crate) fn raise_signal(
    tx: &Transaction<'_>,
    s: &Signal,
    retrigger_within: time::Duration,
) -> Result<Raised> {
    let actor = s.origin.as_str();
    let firing_in = tx
        .query_row(
            "SELECT incident_id FROM signals WHERE dedup_key = ?1 AND ended_at IS NULL",
            [&s.dedup_key],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(|id| must(tx, id))
        .transpose()?;
    let open_for_group = open_for_key(tx, &s.group_key)?;
    let last_resolved = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM incidents WHERE dedup_key = ?1 AND state = 'resolved'
                 ORDER BY id DESC LIMIT 1"
            ),
            [&s.group_key],
            from_row,
        )
        .optional()?
        .transpose()
        .map_err(StoreError::Corrupt)?;
    let facts = RaiseFacts {
        firing_in: firing_in.as_ref(),
        open_for_group: open_for_group.as_ref(),
        last_resolved: last_resolved.as_ref(),
    };
    let (id, change) = match rules::on_raise(s, facts, retrigger_within) {
        Raise::AlreadyFiring(id) => {
            tx.execute(
                "UPDATE signals SET last_seen_at = ?2 WHERE dedup_key = ?1",
                params![s.dedup_key, rfc3339(s.at)],
            )?;
            (id, IncidentChange::Unchanged)
        }
        Raise::Join { incident, severity } => {
            upsert_signal(tx, incident, s)?;
            if let Some(severity) = severity {
                tx.execute(
                    "UPDATE incidents SET severity = ?2 WHERE id = ?1",
                    params![incident, severity.as_str()],
                )?;
            }
            append_timeline(tx, incident, s.at, TimelineKind::Joined, actor, &s.evidence)?;
            (incident, IncidentChange::Joined)
        }
        Raise::Retrigger(id) => {
            tx.execute(
                "UPDATE incidents SET state = 'triggered', resolved_at = NULL, acked_by = NULL,
                        acked_at = NULL, snoozed_until = NULL
                 WHERE id = ?1",
                [id],
            )?;
            upsert_signal(tx, id, s)?;
            append_timeline(tx, id, s.at, TimelineKind::Retriggered, actor, &s.evidence)?;
            (id, IncidentChange::Retriggered)
        }
        Raise::Open => {
            tx.execute(
                "INSERT INTO incidents(dedup_key, title, severity, state, opened_at, auto_resolve)
                 VALUES (?1, ?2, ?3, 'triggered', ?4, ?5)",
                params![
                    s.group_key,
                    s.summary,
                    s.severity.as_str(),
                    rfc3339(s.at),
                    s.auto_resolve
                ],
            )?;
            let id = tx.last_insert_rowid();
            upsert_signal(tx, id, s)?;
            append_timeline(tx, id, s.at, TimelineKind::Triggered, actor, &s.evidence)?;
            (id, IncidentChange::Opened)
        }
    };
    Ok(Raised {
        incident: must(tx, id)?,
        change,
    })
}

/// A signal clears: [`rules::on_clear`] decides whether its incident resolves; either way
/// the timeline says so.
pub(crate) fn clear_signal(
    tx: &Transaction<'_>,
    dedup_key: &str,
    at: OffsetDateTime,
    actor: &str,
    detail: &str,
) -> Result<Option<Cleared>> {
    let Some(incident_id): Option<i64> = tx
        .query_row(
            "SELECT incident_id FROM signals WHERE dedup_key = ?1 AND ended_at IS NULL",
            [dedup_key],
            |r| r.get(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE signals SET ended_at = ?2, last_seen_at = ?2 WHERE dedup_key = ?1",
        params![dedup_key, rfc3339(at)],
    )?;
    let incident = must(tx, incident_id)?;
    let firing: i64 = tx.query_row(
        "SELECT count(*) FROM signals WHERE incident_id = ?1 AND ended_at IS NULL",
        [incident_id],
        |r| r.get(0),
    )?;
    let kept_open = |detail: String| -> Result<Option<Cleared>> {
        append_timeline(
            tx,
            incident_id,
            at,
            TimelineKind::SignalCleared,
            actor,
            &detail,
        )?;
        Ok(Some(Cleared {
            incident: incident.clone(),
            resolved: false,
        }))
    };
    match rules::on_clear(&incident, u64::try_from(firing).unwrap_or(0)) {
        Clear::Nothing => Ok(None),
        Clear::OthersFiring(n) => kept_open(format!("{detail}; {n} other signal(s) still firing")),
        Clear::WaitForPerson => kept_open(format!("{detail}; waiting for someone to resolve it")),
        Clear::Resolve => {
            let lasted = human_duration(at - incident.opened_at);
            resolve(
                tx,
                incident_id,
                at,
                actor,
                &format!("{detail}; lasted {lasted}"),
            )?;
            Ok(Some(Cleared {
                incident: must(tx, incident_id)?,
                resolved: true,
            }))
        }
    }
}

fn resolve(
    tx: &Transaction<'_>,
    id: i64,
    at: OffsetDateTime,
    actor: &str,
    detail: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE incidents SET state = 'resolved', resolved_at = ?2, snoozed_until = NULL WHERE id = ?1",
        params![id, rfc3339(at)],
    )?;
    tx.execute(
        "UPDATE signals SET ended_at = ?2 WHERE incident_id = ?1 AND ended_at IS NULL",
        params![id, rfc3339(at)],
    )?;
    supersede_notifications(tx, id, at)?;
    super::ladder::cancel_steps(tx, id, "resolved")?;
    append_timeline(tx, id, at, TimelineKind::Resolved, actor, detail)
}

/// What [`Store::act_on_incident`] does, in the caller's transaction (for blocking callers:
/// the CLI): [`rules::on_action`] decides, this writes it.
pub fn act_on_incident_in(
    tx: &Transaction<'_>,
    id: i64,
    action: IncidentAction,
    actor: &str,
    at: OffsetDateTime,
) -> Result<(IncidentView, bool)> {
    let incident = must(tx, id)?;
    let Some(act) = rules::on_action(&incident, action, actor, at) else {
        return Err(StoreError::IncidentResolved(id));
    };
    match act {
        Act::Acknowledge => {
            tx.execute(
                "UPDATE incidents SET state = 'acknowledged', acked_by = ?2, acked_at = ?3,
                        snoozed_until = NULL
                 WHERE id = ?1",
                params![id, actor, rfc3339(at)],
            )?;
            supersede_notifications(tx, id, at)?;
            super::ladder::cancel_steps(tx, id, &format!("acknowledged by {actor}"))?;
            append_timeline(tx, id, at, TimelineKind::Acknowledged, actor, "")?;
        }
        Act::Resolve => {
            let lasted = human_duration(at - incident.opened_at);
            resolve(
                tx,
                id,
                at,
                actor,
                &format!("resolved by hand; lasted {lasted}"),
            )?;
        }
        Act::Snooze { until } => {
            tx.execute(
                "UPDATE incidents SET snoozed_until = ?2 WHERE id = ?1",
                params![id, rfc3339(until)],
            )?;
            supersede_notifications(tx, id, at)?;
            append_timeline(
                tx,
                id,
                at,
                TimelineKind::Snoozed,
                actor,
                &format!("quiet until {}", rfc3339(until)),
            )?;
        }
        Act::Assign => {
            tx.execute(
                "UPDATE incidents SET assignee = ?2 WHERE id = ?1",
                params![id, actor],
            )?;
            append_timeline(
                tx,
                id,
                at,
                TimelineKind::Assigned,
                actor,
                &format!("taken by {actor}"),
            )?;
        }
        Act::Unchanged => {}
    }
    Ok((must(tx, id)?, act != Act::Unchanged))
}

/// Notes on the timeline what the engine did about an incident (notified someone, rang).
pub(crate) fn note(
    tx: &Transaction<'_>,
    id: i64,
    at: OffsetDateTime,
    kind: TimelineKind,
    detail: &str,
) -> Result<()> {
    append_timeline(tx, id, at, kind, "foghorn", detail)
}

/// Resolves open incidents none of whose signals can clear any more: their monitors left the
/// configuration while Foghorn was not running (or since). `live` holds the dedup keys of
/// signals that still have a source.
pub(crate) fn resolve_orphans(
    tx: &Transaction<'_>,
    live: &std::collections::HashSet<String>,
    at: OffsetDateTime,
) -> Result<Vec<IncidentView>> {
    let candidates: Vec<String> = tx
        .prepare(
            "SELECT s.dedup_key FROM signals s JOIN incidents i ON i.id = s.incident_id
             WHERE i.state != 'resolved' AND s.ended_at IS NULL AND s.source = 'monitor'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut resolved = Vec::new();
    for key in candidates.iter().filter(|k| !live.contains(*k)) {
        let why = "its monitor was removed from the configuration";
        if let Some(cleared) = clear_signal(tx, key, at, "foghorn", why)? {
            if cleared.resolved {
                resolved.push(cleared.incident);
            }
        }
    }
    Ok(resolved)
}

/// Records a notification owed for an incident. `key` makes it once-only: recording the same
/// key again (a retry after a crash) records nothing and returns `None`.
pub(crate) fn record_notification(
    tx: &Transaction<'_>,
    key: &str,
    incident_id: i64,
    n: &Notification,
    loud: bool,
    at: OffsetDateTime,
) -> Result<Option<StoredNotification>> {
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO notifications(idempotency_key, incident_id, title, body, urgency, loud, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![key, incident_id, n.title, n.body, urgency_str(n.urgency), loud, rfc3339(at)],
    )?;
    Ok((inserted == 1).then(|| StoredNotification {
        id: tx.last_insert_rowid(),
        incident_id,
        notification: n.clone(),
        loud,
    }))
}

/// Marks a notification shown (or failed, or dropped): it is never shown again.
pub(crate) fn mark_notification(
    tx: &Transaction<'_>,
    id: i64,
    at: OffsetDateTime,
    outcome: &str,
) -> Result<()> {
    tx.execute(
        "UPDATE notifications SET delivered_at = ?2, outcome = ?3 WHERE id = ?1 AND delivered_at IS NULL",
        params![id, rfc3339(at), outcome],
    )?;
    Ok(())
}

fn urgency_str(u: Urgency) -> &'static str {
    match u {
        Urgency::Low => "low",
        Urgency::Normal => "normal",
        Urgency::Critical => "critical",
    }
}

fn parse_urgency(s: &str) -> Urgency {
    match s {
        "low" => Urgency::Low,
        "critical" => Urgency::Critical,
        _ => Urgency::Normal,
    }
}

impl Store {
    /// Open incidents first (newest first), then the most recent resolved ones.
    pub fn recent_incidents(&self, limit: usize) -> Result<Vec<IncidentView>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM incidents
                 ORDER BY (state = 'resolved'), id DESC LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit as i64], from_row)?;
            collect(rows)
        })
    }

    /// One incident; `None` if there is no such incident.
    pub fn incident(&self, id: i64) -> Result<Option<IncidentView>> {
        self.read(|c| by_id(c, id))
    }

    /// Dedup keys of the signals of `source` still firing.
    pub fn open_signals(&self, source: &str) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT dedup_key FROM signals WHERE source = ?1 AND ended_at IS NULL")?;
            let rows = stmt.query_map([source], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The incident a signal belongs to (its latest), if any.
    pub fn incident_of_signal(&self, dedup_key: &str) -> Result<Option<IncidentView>> {
        self.read(|c| {
            let id: Option<i64> = c
                .query_row(
                    "SELECT incident_id FROM signals WHERE dedup_key = ?1",
                    [dedup_key],
                    |r| r.get(0),
                )
                .optional()?;
            id.map(|id| by_id(c, id)).transpose().map(Option::flatten)
        })
    }

    /// The latest incident of a key, open or resolved.
    pub fn last_incident_for_key(&self, key: &str) -> Result<Option<IncidentView>> {
        self.read(|c| {
            let row = c
                .query_row(
                    &format!("SELECT {COLUMNS} FROM incidents WHERE dedup_key = ?1 ORDER BY id DESC LIMIT 1"),
                    [key],
                    from_row,
                )
                .optional()?;
            row.transpose().map_err(StoreError::Corrupt)
        })
    }

    /// Every open incident, newest first.
    pub fn open_incidents(&self) -> Result<Vec<IncidentView>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM incidents WHERE state != 'resolved' ORDER BY id DESC"
            ))?;
            let rows = stmt.query_map([], from_row)?;
            collect(rows)
        })
    }

    /// One incident with its signals and whole timeline; `None` if there is no such incident.
    pub fn incident_detail(&self, id: i64) -> Result<Option<IncidentDetail>> {
        self.read(|c| {
            let Some(incident) = by_id(c, id)? else {
                return Ok(None);
            };
            let time_of = |s: String| {
                parse_rfc3339(&s).ok_or_else(|| StoreError::Corrupt(format!("incident {id}: time {s:?}")))
            };
            let mut timeline = Vec::new();
            let mut stmt = c.prepare(
                "SELECT id, at, kind, actor, detail FROM timeline WHERE incident_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok((r.get(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
            })?;
            for row in rows {
                let (entry_id, at, kind, actor, detail) = row?;
                timeline.push(TimelineEntry {
                    id: entry_id,
                    at: time_of(at)?,
                    kind: TimelineKind::parse(&kind),
                    actor,
                    detail,
                });
            }
            let mut signals = Vec::new();
            let mut stmt = c.prepare(
                "SELECT dedup_key, source, summary, severity, link, started_at, last_seen_at, ended_at
                 FROM signals WHERE incident_id = ?1 ORDER BY started_at",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?;
            for row in rows {
                let (dedup_key, source, summary, severity, link, started, seen, ended) = row?;
                signals.push(SignalView {
                    severity: Severity::parse(&severity).ok_or_else(|| {
                        StoreError::Corrupt(format!("signal {dedup_key}: severity {severity:?}"))
                    })?,
                    dedup_key,
                    source,
                    summary,
                    link,
                    started_at: time_of(started)?,
                    last_seen_at: time_of(seen)?,
                    ended_at: ended.map(time_of).transpose()?,
                });
            }
            let ladder = super::ladder::ladder_of(c, id)?;
            Ok(Some(IncidentDetail {
                incident,
                signals,
                timeline,
                ladder,
            }))
        })
    }

    /// Grows whenever any incident changes, in this process or another one (the CLI): the
    /// timeline is append-only and every change writes to it.
    pub fn incident_change_mark(&self) -> Result<i64> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT coalesce(max(id), 0) FROM timeline", [], |r| {
                    r.get(0)
                })?,
            )
        })
    }

    /// A person acts on an incident, committed durably. Returns the incident afterwards and
    /// whether anything changed.
    pub async fn act_on_incident(
        &self,
        id: i64,
        action: IncidentAction,
        actor: &str,
        at: OffsetDateTime,
    ) -> Result<(IncidentView, bool)> {
        let actor = actor.to_owned();
        self.write(move |tx| act_on_incident_in(tx, id, action, &actor, at))
            .await
    }

    /// Whether notification `id` was shown (or dropped) already.
    pub fn notification_shown(&self, id: i64) -> Result<bool> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT delivered_at IS NOT NULL FROM notifications WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(true))
        })
    }

    /// Notifications recorded and not yet shown, oldest first.
    pub fn undelivered_notifications(&self) -> Result<Vec<StoredNotification>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, incident_id, title, body, urgency, loud FROM notifications
                 WHERE delivered_at IS NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                let urgency: String = r.get(4)?;
                Ok(StoredNotification {
                    id: r.get(0)?,
                    incident_id: r.get(1)?,
                    notification: Notification {
                        title: r.get(2)?,
                        body: r.get(3)?,
                        urgency: parse_urgency(&urgency),
                        incident: Some(r.get(1)?),
                        actions: if r.get(5)? {
                            vec![IncidentAction::Acknowledge, IncidentAction::Snooze]
                        } else {
                            Vec::new()
                        },
                    },
                    loud: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 10:00 UTC);
    const RETRIGGER: time::Duration = time::Duration::minutes(30);

    fn signal(key: &str, group: &str, at: OffsetDateTime) -> Signal {
        Signal {
            dedup_key: key.into(),
            group_key: group.into(),
            source: "monitor".into(),
            origin: format!("monitor {key}"),
            summary: format!("{key} is down"),
            severity: Severity::Critical,
            link: None,
            at,
            evidence: "HTTP 500".into(),
            auto_resolve: true,
        }
    }

    async fn raise(store: &Store, s: Signal) -> Raised {
        store
            .write(move |tx| raise_signal(tx, &s, RETRIGGER))
            .await
            .expect("raise")
    }

    async fn clear(store: &Store, key: &'static str, at: OffsetDateTime) -> Option<Cleared> {
        store
            .write(move |tx| clear_signal(tx, key, at, "monitor", "back up"))
            .await
            .expect("clear")
    }

    #[tokio::test]
    async fn one_incident_per_key_resolved_when_its_signal_clears() {
        let store = Store::in_memory().expect("open");
        let first = raise(&store, signal("monitor:api", "monitor:api", T0)).await;
        assert_eq!(first.change, IncidentChange::Opened);
        let again = raise(&store, signal("monitor:api", "monitor:api", T0)).await;
        assert_eq!(again.change, IncidentChange::Unchanged);
        assert_eq!(again.incident.id, first.incident.id);

        let cleared = clear(&store, "monitor:api", T0 + time::Duration::minutes(3))
            .await
            .expect("cleared");
        assert!(cleared.resolved);
        assert_eq!(cleared.incident.state, IncidentState::Resolved);
        let detail = store
            .incident_detail(first.incident.id)
            .expect("detail")
            .expect("exists");
        let kinds: Vec<&str> = detail.timeline.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(kinds, ["triggered", "resolved"]);
        assert!(
            detail.timeline[1].detail.contains("lasted 3m 0s"),
            "{:?}",
            detail.timeline[1]
        );
        assert_eq!(
            detail.signals[0].ended_at,
            Some(T0 + time::Duration::minutes(3))
        );
    }

    #[tokio::test]
    async fn grouped_signals_share_an_incident_until_every_one_clears() {
        let store = Store::in_memory().expect("open");
        let a = raise(&store, signal("monitor:api", "group:checkout", T0)).await;
        let b = raise(&store, signal("monitor:db", "group:checkout", T0)).await;
        assert_eq!(b.change, IncidentChange::Joined);
        assert_eq!(a.incident.id, b.incident.id);
        let first = clear(&store, "monitor:api", T0).await.expect("cleared");
        assert!(!first.resolved, "one signal still firing");
        let last = clear(&store, "monitor:db", T0).await.expect("cleared");
        assert!(last.resolved);
    }

    #[tokio::test]
    async fn a_signal_firing_again_soon_reopens_its_incident_later_opens_a_new_one() {
        let store = Store::in_memory().expect("open");
        let first = raise(&store, signal("monitor:api", "monitor:api", T0)).await;
        clear(&store, "monitor:api", T0 + time::Duration::minutes(1)).await;
        let again = raise(
            &store,
            signal(
                "monitor:api",
                "monitor:api",
                T0 + time::Duration::minutes(5),
            ),
        )
        .await;
        assert_eq!(again.change, IncidentChange::Retriggered);
        assert_eq!(again.incident.id, first.incident.id);
        assert_eq!(again.incident.state, IncidentState::Triggered);
        clear(&store, "monitor:api", T0 + time::Duration::minutes(6)).await;
        let later = raise(
            &store,
            signal("monitor:api", "monitor:api", T0 + time::Duration::hours(2)),
        )
        .await;
        assert_eq!(later.change, IncidentChange::Opened);
        assert_ne!(later.incident.id, first.incident.id);
    }

    #[tokio::test]
    async fn manual_resolve_waits_for_a_person() {
        let store = Store::in_memory().expect("open");
        let mut s = signal("monitor:api", "monitor:api", T0);
        s.auto_resolve = false;
        let raised = raise(&store, s).await;
        let cleared = clear(&store, "monitor:api", T0).await.expect("cleared");
        assert!(!cleared.resolved);
        assert!(cleared.incident.is_open());
        let (resolved, changed) = store
            .act_on_incident(raised.incident.id, IncidentAction::Resolve, "Alice", T0)
            .await
            .expect("resolve");
        assert!(changed);
        assert_eq!(resolved.state, IncidentState::Resolved);
    }

    #[tokio::test]
    async fn acknowledging_records_who_once_and_drops_unshown_notifications() {
        let store = Store::in_memory().expect("open");
        let raised = raise(&store, signal("monitor:api", "monitor:api", T0)).await;
        let id = raised.incident.id;
        let n = Notification::down("api", Severity::Critical, Some("HTTP 500")).for_incident(id);
        let recorded = store
            .write({
                let n = n.clone();
                move |tx| record_notification(tx, "incident:1:triggered", id, &n, true, T0)
            })
            .await
            .expect("record");
        assert!(recorded.is_some());
        let twice = store
            .write(move |tx| record_notification(tx, "incident:1:triggered", id, &n, true, T0))
            .await
            .expect("record again");
        assert_eq!(twice, None, "the same key records nothing");
        assert_eq!(store.undelivered_notifications().expect("pending").len(), 1);

        let (acked, changed) = store
            .act_on_incident(id, IncidentAction::Acknowledge, "Alice Smith", T0)
            .await
            .expect("ack");
        assert!(changed);
        assert_eq!(acked.state, IncidentState::Acknowledged);
        assert_eq!(acked.acked_by.as_deref(), Some("Alice Smith"));
        assert!(store
            .undelivered_notifications()
            .expect("pending")
            .is_empty());
        let (_, again) = store
            .act_on_incident(id, IncidentAction::Acknowledge, "cli", T0)
            .await
            .expect("ack again");
        assert!(!again, "acknowledging twice changes nothing");

        store
            .act_on_incident(id, IncidentAction::Resolve, "Alice Smith", T0)
            .await
            .expect("resolve");
        let err = store
            .act_on_incident(id, IncidentAction::Acknowledge, "cli", T0)
            .await
            .expect_err("resolved");
        assert!(err.to_string().contains("already resolved"), "{err}");
        let err = store
            .act_on_incident(999, IncidentAction::Acknowledge, "cli", T0)
            .await
            .expect_err("missing");
        assert_eq!(err.to_string(), "there is no incident 999");
    }

    #[tokio::test]
    async fn incidents_of_removed_monitors_resolve() {
        let store = Store::in_memory().expect("open");
        raise(&store, signal("monitor:api", "monitor:api", T0)).await;
        raise(&store, signal("monitor:gone", "monitor:gone", T0)).await;
        let live = std::collections::HashSet::from(["monitor:api".to_owned()]);
        let resolved = store
            .write(move |tx| resolve_orphans(tx, &live, T0))
            .await
            .expect("orphans");
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].dedup_key, "monitor:gone");
        assert_eq!(store.open_incidents().expect("open").len(), 1);
    }
}
