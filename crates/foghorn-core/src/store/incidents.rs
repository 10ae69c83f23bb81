//! Incidents and their append-only timeline.

use rusqlite::{params, OptionalExtension, Row};
use time::OffsetDateTime;

use super::{Result, Store, StoreError};
use crate::incident::{IncidentState, IncidentView, Severity};
use crate::time_fmt::{parse_rfc3339, rfc3339};

/// The outcome of [`open_incident`]: a new incident, or the one already open for the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenedIncident {
    New(IncidentView),
    Existing(IncidentView),
}

const COLUMNS: &str = "id, dedup_key, title, severity, state, opened_at, resolved_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<std::result::Result<IncidentView, String>> {
    let severity: String = r.get(3)?;
    let state: String = r.get(4)?;
    let opened: String = r.get(5)?;
    let resolved: Option<String> = r.get(6)?;
    let id: i64 = r.get(0)?;
    let parsed = (|| {
        Ok(IncidentView {
            id,
            dedup_key: r.get(1).map_err(|e| e.to_string())?,
            title: r.get(2).map_err(|e| e.to_string())?,
            severity: Severity::parse(&severity).ok_or(format!("severity {severity:?}"))?,
            state: IncidentState::parse(&state).ok_or(format!("state {state:?}"))?,
            opened_at: parse_rfc3339(&opened).ok_or(format!("opened_at {opened:?}"))?,
            resolved_at: resolved.as_deref().and_then(parse_rfc3339),
        })
    })();
    Ok(parsed.map_err(|e: String| format!("incident {id}: {e}")))
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
            let mut out = Vec::new();
            for row in rows {
                out.push(row?.map_err(StoreError::Corrupt)?);
            }
            Ok(out)
        })
    }
}

/// Opens an incident for `dedup_key` unless one is already open.
pub(crate) fn open_incident(
    tx: &rusqlite::Transaction<'_>,
    dedup_key: &str,
    title: &str,
    severity: Severity,
    at: OffsetDateTime,
    evidence: &str,
) -> Result<OpenedIncident> {
    if let Some(existing) = open_for_key(tx, dedup_key)? {
        return Ok(OpenedIncident::Existing(existing));
    }
    tx.execute(
        "INSERT INTO incidents(dedup_key, title, severity, state, opened_at) VALUES (?1, ?2, ?3, 'triggered', ?4)",
        params![dedup_key, title, severity.as_str(), rfc3339(at)],
    )?;
    let id = tx.last_insert_rowid();
    append_timeline(tx, id, at, "triggered", evidence)?;
    let view = open_for_key(tx, dedup_key)?
        .ok_or_else(|| StoreError::Corrupt(format!("incident {id} vanished")))?;
    Ok(OpenedIncident::New(view))
}

/// Resolves the open incident for `dedup_key`, if any.
pub(crate) fn resolve_incident(
    tx: &rusqlite::Transaction<'_>,
    dedup_key: &str,
    at: OffsetDateTime,
    detail: &str,
) -> Result<Option<IncidentView>> {
    let Some(mut open) = open_for_key(tx, dedup_key)? else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE incidents SET state = 'resolved', resolved_at = ?2 WHERE id = ?1",
        params![open.id, rfc3339(at)],
    )?;
    append_timeline(tx, open.id, at, "resolved", detail)?;
    open.state = IncidentState::Resolved;
    open.resolved_at = parse_rfc3339(&rfc3339(at));
    Ok(Some(open))
}

fn open_for_key(tx: &rusqlite::Transaction<'_>, dedup_key: &str) -> Result<Option<IncidentView>> {
    let row = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM incidents WHERE dedup_key = ?1 AND state != 'resolved'"
            ),
            [dedup_key],
            from_row,
        )
        .optional()?;
    row.transpose().map_err(StoreError::Corrupt)
}

fn append_timeline(
    tx: &rusqlite::Transaction<'_>,
    incident_id: i64,
    at: OffsetDateTime,
    kind: &str,
    detail: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO timeline(incident_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
        params![incident_id, rfc3339(at), kind, detail],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn one_open_incident_per_key_and_resolve_closes_it() {
        let store = Store::in_memory().expect("open");
        let at = datetime!(2026-01-01 10:00 UTC);
        let first = store
            .write(move |tx| {
                open_incident(
                    tx,
                    "monitor:api",
                    "api is down",
                    Severity::Critical,
                    at,
                    "HTTP 500",
                )
            })
            .await
            .expect("open");
        let OpenedIncident::New(first) = first else {
            panic!("expected a new incident")
        };
        let again = store
            .write(move |tx| {
                open_incident(
                    tx,
                    "monitor:api",
                    "api is down",
                    Severity::Critical,
                    at,
                    "HTTP 500",
                )
            })
            .await
            .expect("open");
        assert_eq!(again, OpenedIncident::Existing(first.clone()));
        let resolved = store
            .write(move |tx| {
                resolve_incident(
                    tx,
                    "monitor:api",
                    at + time::Duration::minutes(3),
                    "back up",
                )
            })
            .await
            .expect("resolve")
            .expect("was open");
        assert_eq!(resolved.state, IncidentState::Resolved);
        let list = store.recent_incidents(10).expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].resolved_at, Some(at + time::Duration::minutes(3)));
        let timeline: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM timeline", [], |r| r.get(0))?))
            .expect("count");
        assert_eq!(timeline, 2);
    }
}
