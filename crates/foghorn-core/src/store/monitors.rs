//! Persisted monitor state and check results, so a restart neither forgets an outage nor
//! re-announces it.

use std::collections::HashMap;

use rusqlite::params;

use super::{Result, Store};
use crate::check::CheckResult;
use crate::monitor::{MonitorId, MonitorState, MonitorStatus};
use crate::time_fmt::{parse_rfc3339, rfc3339};

impl Store {
    /// Every monitor's last known state.
    pub fn monitor_states(&self) -> Result<HashMap<MonitorId, MonitorState>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT monitor_id, status, consecutive_failures, consecutive_successes, since,
                        last_checked_at, latency_ms, last_error
                 FROM monitor_state",
            )?;
            let rows = stmt.query_map([], |r| {
                let status: String = r.get(1)?;
                let since: Option<String> = r.get(4)?;
                let checked: Option<String> = r.get(5)?;
                let latency: Option<i64> = r.get(6)?;
                Ok((
                    MonitorId(r.get(0)?),
                    MonitorState {
                        status: MonitorStatus::parse(&status).unwrap_or(MonitorStatus::Pending),
                        consecutive_failures: r.get(2)?,
                        consecutive_successes: r.get(3)?,
                        since: since.as_deref().and_then(parse_rfc3339),
                        last_checked_at: checked.as_deref().and_then(parse_rfc3339),
                        latency_ms: latency.and_then(|l| u64::try_from(l).ok()),
                        last_error: r.get(7)?,
                    },
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// Records one result and the state it led to, in the caller's transaction.
pub(crate) fn record_result(
    tx: &rusqlite::Transaction<'_>,
    id: &MonitorId,
    result: &CheckResult,
    state: &MonitorState,
) -> Result<()> {
    insert_result(
        tx,
        id.as_str(),
        (result.at.unix_timestamp_nanos() / 1_000_000) as i64,
        result.ok,
        result.latency_ms.map(|l| l as i64),
        result.error.as_deref(),
    )?;
    tx.prepare_cached(
        "INSERT INTO monitor_state(monitor_id, status, consecutive_failures, consecutive_successes,
                                   since, last_checked_at, latency_ms, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(monitor_id) DO UPDATE SET
            status = excluded.status,
            consecutive_failures = excluded.consecutive_failures,
            consecutive_successes = excluded.consecutive_successes,
            since = excluded.since,
            last_checked_at = excluded.last_checked_at,
            latency_ms = excluded.latency_ms,
            last_error = excluded.last_error",
    )?
    .execute(params![
        id.as_str(),
        state.status.as_str(),
        state.consecutive_failures,
        state.consecutive_successes,
        state.since.map(rfc3339),
        state.last_checked_at.map(rfc3339),
        state.latency_ms.map(|l| l as i64),
        state.last_error,
    ])?;
    Ok(())
}

/// Writes one raw result, giving the monitor its integer key on its first result. Public so
/// tools that build a history (benchmarks, tests) write exactly what the engine writes.
///
/// Two results of one monitor in the same millisecond keep the later one: the table is keyed
/// by (monitor, at), and only a heartbeat pinged twice within a millisecond can collide.
pub fn insert_result(
    tx: &rusqlite::Transaction<'_>,
    monitor_id: &str,
    at_ms: i64,
    ok: bool,
    latency_ms: Option<i64>,
    error: Option<&str>,
) -> Result<()> {
    // Cached statements: a batch writes thousands of these in one transaction.
    tx.prepare_cached("INSERT OR IGNORE INTO monitor_keys(monitor_id) VALUES (?1)")?
        .execute([monitor_id])?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO check_results(monitor, at, ok, latency_ms, error)
         VALUES ((SELECT key FROM monitor_keys WHERE monitor_id = ?1), ?2, ?3, ?4, ?5)",
    )?
    .execute(params![monitor_id, at_ms, ok, latency_ms, error])?;
    Ok(())
}
