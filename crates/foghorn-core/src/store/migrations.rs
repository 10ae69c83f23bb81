//! Versioned schema: an ordered list of SQL scripts; `PRAGMA user_version` records how many
//! have been applied. Append only: never edit a migration that has shipped.

use std::path::Path;

use rusqlite::Connection;

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: the foundation.
    r#"
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE monitor_state (
        monitor_id            TEXT PRIMARY KEY,
        status                TEXT NOT NULL,
        consecutive_failures  INTEGER NOT NULL,
        consecutive_successes INTEGER NOT NULL,
        since                 TEXT,
        last_checked_at       TEXT,
        latency_ms            INTEGER,
        last_error            TEXT
    ) STRICT;

    CREATE TABLE check_results (
        id         INTEGER PRIMARY KEY,
        monitor_id TEXT NOT NULL,
        at         INTEGER NOT NULL,   -- unix milliseconds
        ok         INTEGER NOT NULL,
        latency_ms INTEGER,
        error      TEXT
    ) STRICT;
    CREATE INDEX check_results_by_monitor ON check_results(monitor_id, at);

    CREATE TABLE incidents (
        id          INTEGER PRIMARY KEY,
        dedup_key   TEXT NOT NULL,
        title       TEXT NOT NULL,
        severity    TEXT NOT NULL,
        state       TEXT NOT NULL,
        opened_at   TEXT NOT NULL,
        resolved_at TEXT
    ) STRICT;
    -- At most one open incident per dedup key: the same outage never opens two.
    CREATE UNIQUE INDEX incidents_one_open_per_key ON incidents(dedup_key) WHERE state != 'resolved';

    CREATE TABLE timeline (
        id          INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at          TEXT NOT NULL,
        kind        TEXT NOT NULL,
        detail      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX timeline_by_incident ON timeline(incident_id, id);
    "#,
    // 2: hourly roll-ups, so raw results can be dropped after a short window while uptime
    // and latency history stay for years in a few hundred bytes per monitor-day.
    r#"
    CREATE TABLE check_hourly (
        monitor_id  TEXT NOT NULL,
        hour        INTEGER NOT NULL,  -- unix seconds at the start of the UTC hour
        checks      INTEGER NOT NULL,
        failures    INTEGER NOT NULL,
        latency_min INTEGER,
        latency_avg INTEGER,
        latency_p95 INTEGER,
        latency_max INTEGER,
        PRIMARY KEY (monitor_id, hour)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX check_results_by_time ON check_results(at);
    "#,
    // 3: monitors paused one by one, and the time each hour spent failing (uptime by time,
    // not only by count of checks, which a fast retry would skew).
    r#"
    CREATE TABLE monitor_paused (
        monitor_id TEXT PRIMARY KEY
    ) STRICT, WITHOUT ROWID;
    ALTER TABLE check_hourly ADD COLUMN down_ms INTEGER NOT NULL DEFAULT 0;
    "#,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

pub fn apply(conn: &mut Connection, label: &Path) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT {
        return Err(StoreError::TooNew {
            path: label.to_owned(),
            found,
            known: CURRENT,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
