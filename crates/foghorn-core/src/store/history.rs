//! Check history: raw results for a short window, hourly roll-ups for the long run, and
//! uptime computed across the two without counting anything twice.
//!
//! Invariant: every raw result older than the `rolled_up_to` mark is counted in
//! `check_hourly`, and none newer is. The mark only moves forward, in the same transaction
//! that writes the roll-ups, so a crash never loses or double-counts an hour.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::{Result, Store};

const ROLLED_UP_TO: &str = "history.rolled_up_to_ms";
const HOUR_MS: i64 = 3_600_000;
/// A failed check counts as down until the next check, but never longer than this: a gap
/// (the laptop asleep, Foghorn not running) is not evidence of an outage.
pub const MAX_DOWN_SPAN_MS: i64 = 5 * 60_000;
/// Hourly roll-ups are kept this long (two years), enough for any SLA period.
pub const KEEP_ROLLUPS_MS: i64 = 2 * 366 * 24 * HOUR_MS;
/// Raw rows deleted per transaction, so retention never holds the writer for long.
pub const DELETE_BATCH: usize = 5_000;

/// One hour of one monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyRollup {
    pub monitor_id: String,
    /// Unix seconds at the start of the hour.
    pub hour: i64,
    pub checks: i64,
    pub failures: i64,
    pub latency_min: Option<i64>,
    pub latency_avg: Option<i64>,
    pub latency_p95: Option<i64>,
    pub latency_max: Option<i64>,
    /// Milliseconds of the hour spent failing (each failed check until the next check).
    pub down_ms: i64,
}

#[derive(Default)]
struct HourAcc {
    checks: i64,
    failures: i64,
    down_ms: i64,
    latencies: Vec<i64>,
}

pub(crate) fn rolled_up_to(conn: &rusqlite::Connection) -> Result<i64> {
    let mark: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [ROLLED_UP_TO],
            |r| r.get(0),
        )
        .optional()?;
    Ok(mark.and_then(|m| m.parse().ok()).unwrap_or(0))
}

/// Rolls every complete hour before `now_ms` into `check_hourly`; returns the hours written.
pub(crate) fn roll_up(tx: &Transaction<'_>, now_ms: i64) -> Result<usize> {
    let from = rolled_up_to(tx)?;
    let until = now_ms.div_euclid(HOUR_MS) * HOUR_MS;
    if until <= from {
        return Ok(0);
    }
    let mut groups: BTreeMap<(String, i64), HourAcc> = BTreeMap::new();
    let monitors = monitor_keys(tx)?;
    // One monitor's range of the primary key at a time. Results just past `until` are read
    // only as "the next check" that ends a failure.
    let mut stmt = tx.prepare_cached(
        "SELECT at, ok, latency_ms FROM check_results
         WHERE monitor = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
    )?;
    for (key, monitor) in monitors {
        let mut rows = stmt.query(params![key, from, until + MAX_DOWN_SPAN_MS])?;
        // The previous row's failure start, waiting for the next row to close it.
        let mut open_failure: Option<i64> = None;
        while let Some(row) = rows.next()? {
            let at: i64 = row.get(0)?;
            if let Some(start) = open_failure.take() {
                add_down(
                    &mut groups,
                    &monitor,
                    start,
                    at.min(start + MAX_DOWN_SPAN_MS),
                );
            }
            if at >= until {
                break;
            }
            let ok: bool = row.get(1)?;
            let latency: Option<i64> = row.get(2)?;
            let entry = groups
                .entry((monitor.clone(), at.div_euclid(HOUR_MS) * 3600))
                .or_default();
            entry.checks += 1;
            entry.failures += i64::from(!ok);
            entry.latencies.extend(latency);
            if !ok {
                open_failure = Some(at);
            }
        }
        if let Some(start) = open_failure {
            add_down(&mut groups, &monitor, start, start + MAX_DOWN_SPAN_MS);
        }
    }
    let written = groups.len();
    for ((monitor_id, hour), acc) in groups {
        let mut latencies = acc.latencies;
        latencies.sort_unstable();
        let n = latencies.len();
        let avg = (n > 0).then(|| latencies.iter().sum::<i64>() / n as i64);
        // Nearest-rank percentile.
        let p95 = (n > 0).then(|| latencies[(n * 95).div_ceil(100).max(1) - 1]);
        tx.execute(
            "INSERT INTO check_hourly(monitor_id, hour, checks, failures, latency_min, latency_avg, latency_p95, latency_max, down_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(monitor_id, hour) DO UPDATE SET
                checks = checks + excluded.checks,
                failures = failures + excluded.failures,
                down_ms = min(down_ms + excluded.down_ms, 3600000),
                latency_min = min(coalesce(latency_min, excluded.latency_min), coalesce(excluded.latency_min, latency_min)),
                latency_max = max(coalesce(latency_max, excluded.latency_max), coalesce(excluded.latency_max, latency_max)),
                latency_avg = coalesce(excluded.latency_avg, latency_avg),
                latency_p95 = coalesce(excluded.latency_p95, latency_p95)",
            params![monitor_id, hour, acc.checks, acc.failures, latencies.first(), avg, p95, latencies.last(), acc.down_ms.min(HOUR_MS)],
        )?;
    }
    tx.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![ROLLED_UP_TO, until.to_string()],
    )?;
    Ok(written)
}

/// Counts `[start, end)` as down in the hour of `start` and, if it crosses the hour, the next.
fn add_down(groups: &mut BTreeMap<(String, i64), HourAcc>, monitor: &str, start: i64, end: i64) {
    let mut from = start;
    while from < end {
        let hour_end = (from.div_euclid(HOUR_MS) + 1) * HOUR_MS;
        let to = end.min(hour_end);
        groups
            .entry((monitor.to_owned(), from.div_euclid(HOUR_MS) * 3600))
            .or_default()
            .down_ms += to - from;
        from = to;
    }
}

/// Deletes roll-ups older than `before_ms`; returns how many. One primary-key range per
/// monitor, so it costs a seek per monitor however large the table is.
pub(crate) fn prune_rollups(tx: &Transaction<'_>, before_ms: i64) -> Result<usize> {
    let monitors: Vec<String> = tx
        .prepare("SELECT DISTINCT monitor_id FROM check_hourly")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut delete =
        tx.prepare_cached("DELETE FROM check_hourly WHERE monitor_id = ?1 AND hour < ?2")?;
    let mut deleted = 0;
    for monitor in monitors {
        deleted += delete.execute(params![monitor, before_ms.div_euclid(1000)])?;
    }
    Ok(deleted)
}

/// Every monitor with raw results: its integer key and its id.
fn monitor_keys(conn: &rusqlite::Connection) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached("SELECT key, monitor_id FROM monitor_keys ORDER BY key")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes up to [`DELETE_BATCH`] raw results older than `before_ms` that are already rolled
/// up; returns how many. Call until it returns less than a batch. Each monitor's old results
/// are the front of its primary-key range, so this reads nothing it does not delete.
pub(crate) fn prune_raw(tx: &Transaction<'_>, before_ms: i64) -> Result<usize> {
    let limit = before_ms.min(rolled_up_to(tx)?);
    let mut delete = tx.prepare_cached(
        "DELETE FROM check_results WHERE monitor = ?1 AND at < coalesce(
            (SELECT at FROM check_results WHERE monitor = ?1 AND at < ?2 ORDER BY at
             LIMIT 1 OFFSET ?3),
            ?2)",
    )?;
    let mut deleted = 0;
    for (key, _) in monitor_keys(tx)? {
        deleted += delete.execute(params![key, limit, (DELETE_BATCH - deleted) as i64])?;
        if deleted == DELETE_BATCH {
            break;
        }
    }
    Ok(deleted)
}

impl Store {
    /// Rolls up complete hours, then drops raw results older than `keep_raw_ms`, in small
    /// transactions so the engine's writes interleave.
    pub async fn maintain_history(&self, now_ms: i64, keep_raw_ms: i64) -> Result<()> {
        self.write(move |tx| roll_up(tx, now_ms).map(drop)).await?;
        let before = now_ms.saturating_sub(keep_raw_ms);
        while self.write(move |tx| prune_raw(tx, before)).await? == DELETE_BATCH {}
        let old = now_ms - KEEP_ROLLUPS_MS;
        self.write(move |tx| prune_rollups(tx, old)).await?;
        self.checkpoint().await
    }

    /// The share of successful checks of `monitor_id` since `since_ms`, from roll-ups before
    /// the roll-up mark and raw results after it; `None` without any check.
    pub fn uptime(&self, monitor_id: &str, since_ms: i64) -> Result<Option<f64>> {
        self.read(|c| {
            let mark = rolled_up_to(c)?;
            // Whole hours only: an hour that started before `since` counts from its start.
            let since_hour = since_ms.div_euclid(HOUR_MS) * 3600;
            let (rolled_checks, rolled_failures): (i64, i64) = c.query_row(
                "SELECT coalesce(sum(checks), 0), coalesce(sum(failures), 0) FROM check_hourly
                 WHERE monitor_id = ?1 AND hour >= ?2 AND hour * 1000 < ?3",
                params![monitor_id, since_hour, mark],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (raw_checks, raw_failures): (i64, i64) = c.query_row(
                "SELECT count(*), coalesce(sum(NOT ok), 0) FROM check_results
                 WHERE monitor = (SELECT key FROM monitor_keys WHERE monitor_id = ?1)
                   AND at >= ?2",
                params![monitor_id, since_ms.max(mark)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let checks = rolled_checks + raw_checks;
            Ok((checks > 0).then(|| 1.0 - (rolled_failures + raw_failures) as f64 / checks as f64))
        })
    }

    /// The roll-ups of `monitor_id`, oldest first.
    pub fn hourly(&self, monitor_id: &str) -> Result<Vec<HourlyRollup>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT monitor_id, hour, checks, failures, latency_min, latency_avg, latency_p95, latency_max, down_ms
                 FROM check_hourly WHERE monitor_id = ?1 ORDER BY hour",
            )?;
            let rows = stmt.query_map([monitor_id], |r| {
                Ok(HourlyRollup {
                    monitor_id: r.get(0)?,
                    hour: r.get(1)?,
                    checks: r.get(2)?,
                    failures: r.get(3)?,
                    latency_min: r.get(4)?,
                    latency_avg: r.get(5)?,
                    latency_p95: r.get(6)?,
                    latency_max: r.get(7)?,
                    down_ms: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::monitors::insert_result;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01 00:00 UTC, an hour boundary

    async fn insert(store: &Store, rows: Vec<(i64, bool, i64)>) {
        store
            .write(move |tx| {
                for (at, ok, latency) in rows {
                    insert_result(tx, "api", at, ok, Some(latency), None)?;
                }
                Ok(())
            })
            .await
            .expect("insert");
    }

    fn raw_count(store: &Store) -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM check_results", [], |r| r.get(0))?))
            .expect("count")
    }

    #[tokio::test]
    async fn hours_roll_up_with_latency_statistics() {
        let store = Store::in_memory().expect("open");
        // Hour 0: latencies 1..=20 ms, two failures. Hour 1: one check. Hour 2: still open.
        let mut rows: Vec<(i64, bool, i64)> = (1..=20)
            .map(|i| (T0 + i * 60_000, i % 10 != 0, i))
            .collect();
        rows.push((T0 + HOUR_MS + 5, true, 7));
        rows.push((T0 + 2 * HOUR_MS + 5, false, 9));
        insert(&store, rows).await;
        let written = store
            .write(|tx| roll_up(tx, T0 + 2 * HOUR_MS + 10))
            .await
            .expect("roll up");
        assert_eq!(written, 2);
        let hours = store.hourly("api").expect("hourly");
        assert_eq!(
            hours[0],
            HourlyRollup {
                monitor_id: "api".into(),
                hour: T0 / 1000,
                checks: 20,
                failures: 2,
                latency_min: Some(1),
                latency_avg: Some(10),
                latency_p95: Some(19),
                latency_max: Some(20),
                // Failures at minute 10 (until the next check a minute later) and minute 20
                // (the next check is 40 minutes later: capped at 5 minutes).
                down_ms: 6 * 60_000,
            }
        );
        assert_eq!((hours[1].checks, hours[1].failures), (1, 0));
        // Rolling up again changes nothing: each hour is counted once.
        store
            .write(|tx| roll_up(tx, T0 + 2 * HOUR_MS + 20))
            .await
            .expect("again");
        assert_eq!(store.hourly("api").expect("hourly"), hours);
    }

    #[tokio::test]
    async fn uptime_is_the_same_before_and_after_raw_results_are_pruned() {
        let store = Store::in_memory().expect("open");
        // 3 hours with 3 failures in 30, then a current hour with 1 failure in 2: 28 of 32 good.
        let mut rows: Vec<(i64, bool, i64)> = (0..30)
            .map(|i| (T0 + i * 360_000, i % 10 != 3, 5))
            .collect();
        rows.extend([
            (T0 + 3 * HOUR_MS + 1, true, 5),
            (T0 + 3 * HOUR_MS + 2, false, 5),
        ]);
        insert(&store, rows).await;
        let now = T0 + 3 * HOUR_MS + 100;
        let before = store.uptime("api", T0).expect("uptime").expect("some");
        assert!((before - 28.0 / 32.0).abs() < 1e-9, "{before}");

        store.maintain_history(now, 0).await.expect("maintain");
        assert_eq!(raw_count(&store), 2, "only the open hour stays raw");
        let after = store.uptime("api", T0).expect("uptime").expect("some");
        assert!((after - before).abs() < 1e-9, "{before} vs {after}");
        assert_eq!(store.uptime("nobody", T0).expect("uptime"), None);
    }

    #[tokio::test]
    async fn pruning_keeps_the_raw_window_and_never_drops_unrolled_results() {
        let store = Store::in_memory().expect("open");
        let rows: Vec<(i64, bool, i64)> = (0..(DELETE_BATCH as i64 + 10))
            .map(|i| (T0 + i, true, 1))
            .collect();
        insert(&store, rows).await;
        // Nothing rolled up yet: nothing may go, however old.
        let deleted = store
            .write(|tx| prune_raw(tx, T0 + 10 * HOUR_MS))
            .await
            .expect("prune");
        assert_eq!(deleted, 0);
        // Rolled up and older than the window: deleted in batches until gone.
        store
            .maintain_history(T0 + 50 * HOUR_MS, 48 * HOUR_MS)
            .await
            .expect("maintain");
        assert_eq!(raw_count(&store), 0);
        assert_eq!(
            store.hourly("api").expect("hourly")[0].checks,
            DELETE_BATCH as i64 + 10
        );
    }
}
