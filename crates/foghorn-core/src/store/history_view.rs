//! A monitor's history as the window shows it: uptime over four windows and latency over
//! time. Read-only; the writing side (results, roll-ups, retention) is `history.rs`.
//!
//! The last day comes from raw results in five-minute buckets, so a short outage is still
//! visible as a red mark; the last week from hourly roll-ups, topped up from raw results for
//! the hours not rolled up yet. A bucket without checks is left out rather than drawn as zero,
//! so the window can show a gap where nothing was checked.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

use super::{Result, Store, StoreError};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Five minutes: 288 buckets a day, few enough for a 400-pixel-wide chart to draw every one
/// and wide enough that a check every few seconds still averages out.
pub const RECENT_BUCKET_MS: i64 = 300_000;
/// Buckets in the recent series: the current one and the ones before it, one day in all.
const RECENT_BUCKETS: i64 = DAY_MS / RECENT_BUCKET_MS;
/// Hours in the hourly series: the current one and the ones before it, one week in all.
const HOURLY_BUCKETS: i64 = 7 * 24;

/// The share of successful checks over the windows the window offers; `None` where there was
/// no check at all, which is not the same as 0 %.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct UptimeWindows {
    pub last24h: Option<f64>,
    pub last7d: Option<f64>,
    pub last30d: Option<f64>,
    pub last90d: Option<f64>,
}

/// The checks of one bucket of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LatencyPoint {
    /// Start of the bucket.
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    /// Mean latency of the checks that measured one; `None` when none did (e.g. every
    /// connection was refused).
    pub latency_ms: Option<u32>,
    pub checks: u32,
    pub failures: u32,
}

/// One monitor's history, as of `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MonitorHistory {
    pub monitor_id: String,
    /// When this was read: the right-hand edge of both series.
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    pub uptime: UptimeWindows,
    /// Width of a `recent` bucket, so the window can tell a gap from a slow check.
    pub recent_bucket_secs: u32,
    /// The last 24 hours in buckets of `recent_bucket_secs`, oldest first.
    pub recent: Vec<LatencyPoint>,
    /// The last 7 days by the hour, oldest first.
    pub hourly: Vec<LatencyPoint>,
}

impl Store {
    /// `monitor_id`'s history up to `now_ms`. An unknown monitor has an empty one: history
    /// outlives a monitor's removal from the configuration, and no history is not an error.
    pub fn monitor_history(&self, monitor_id: &str, now_ms: i64) -> Result<MonitorHistory> {
        let uptime = UptimeWindows {
            last24h: self.uptime(monitor_id, now_ms - DAY_MS)?,
            last7d: self.uptime(monitor_id, now_ms - 7 * DAY_MS)?,
            last30d: self.uptime(monitor_id, now_ms - 30 * DAY_MS)?,
            last90d: self.uptime(monitor_id, now_ms - 90 * DAY_MS)?,
        };
        let (recent, hourly) = self.read(|c| {
            let recent_from =
                (now_ms.div_euclid(RECENT_BUCKET_MS) - (RECENT_BUCKETS - 1)) * RECENT_BUCKET_MS;
            let recent = raw_buckets(c, monitor_id, recent_from, now_ms, RECENT_BUCKET_MS)?;
            Ok((recent, hourly_points(c, monitor_id, now_ms)?))
        })?;
        Ok(MonitorHistory {
            monitor_id: monitor_id.to_owned(),
            at: datetime_ms(now_ms)?,
            uptime,
            recent_bucket_secs: (RECENT_BUCKET_MS / 1000) as u32,
            recent,
            hourly,
        })
    }
}

/// Raw results of `monitor_id` in `[from_ms, until_ms]`, grouped into buckets of `width_ms`.
fn raw_buckets(
    c: &Connection,
    monitor_id: &str,
    from_ms: i64,
    until_ms: i64,
    width_ms: i64,
) -> Result<Vec<LatencyPoint>> {
    // `at` is never negative (it is a check's wall-clock time), so integer division floors.
    let mut stmt = c.prepare_cached(
        "SELECT at / ?4 AS bucket, count(*), coalesce(sum(NOT ok), 0), avg(latency_ms)
         FROM check_results
         WHERE monitor = (SELECT key FROM monitor_keys WHERE monitor_id = ?1)
           AND at >= ?2 AND at <= ?3
         GROUP BY bucket ORDER BY bucket",
    )?;
    let rows = stmt.query_map(params![monitor_id, from_ms, until_ms, width_ms], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<f64>>(3)?,
        ))
    })?;
    let mut points = Vec::new();
    for row in rows {
        let (bucket, checks, failures, latency) = row?;
        points.push(point(
            bucket * width_ms,
            latency.map(|l| l.round() as i64),
            checks,
            failures,
        )?);
    }
    Ok(points)
}

/// The hourly series: roll-ups where they exist, raw results for the hours after the last
/// roll-up. Roll-ups only ever hold complete hours, and an hour is rolled up in one go, so an
/// hour is either wholly in `check_hourly` or wholly raw: nothing is counted twice.
fn hourly_points(c: &Connection, monitor_id: &str, now_ms: i64) -> Result<Vec<LatencyPoint>> {
    let from_hour = now_ms.div_euclid(HOUR_MS) - (HOURLY_BUCKETS - 1);
    let mut points = Vec::new();
    {
        let mut stmt = c.prepare_cached(
            "SELECT hour, checks, failures, latency_avg FROM check_hourly
             WHERE monitor_id = ?1 AND hour >= ?2 AND hour * 1000 <= ?3
             ORDER BY hour",
        )?;
        let rows = stmt.query_map(params![monitor_id, from_hour * 3600, now_ms], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        for row in rows {
            let (hour, checks, failures, latency) = row?;
            points.push(point(hour * 1000, latency, checks, failures)?);
        }
    }
    // The newest roll-up of this monitor at all, not only in the window: raw results older
    // than it are already counted (and may be pruned at any moment).
    let last_rolled: Option<i64> = c
        .query_row(
            "SELECT max(hour) FROM check_hourly WHERE monitor_id = ?1",
            [monitor_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let raw_from = last_rolled.map_or(0, |h| (h + 3600) * 1000);
    points.extend(raw_buckets(
        c,
        monitor_id,
        raw_from.max(from_hour * HOUR_MS),
        now_ms,
        HOUR_MS,
    )?);
    Ok(points)
}

fn point(at_ms: i64, latency_ms: Option<i64>, checks: i64, failures: i64) -> Result<LatencyPoint> {
    let count = |n: i64| u32::try_from(n).map_err(|_| corrupt(format!("{n} checks in a bucket")));
    Ok(LatencyPoint {
        at: datetime_ms(at_ms)?,
        latency_ms: latency_ms.map(|l| u32::try_from(l.max(0)).unwrap_or(u32::MAX)),
        checks: count(checks)?,
        failures: count(failures)?,
    })
}

fn datetime_ms(ms: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| corrupt(format!("timestamp {ms} ms is out of range")))
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::history::roll_up;
    use crate::store::monitors::insert_result;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01 00:00 UTC, an hour boundary
    const MIN: i64 = 60_000;

    /// Raw results of `monitor`: (at, ok, latency).
    async fn results(store: &Store, monitor: &'static str, rows: Vec<(i64, bool, Option<i64>)>) {
        store
            .write(move |tx| {
                for (at, ok, latency) in rows {
                    insert_result(tx, monitor, at, ok, latency, None)?;
                }
                Ok(())
            })
            .await
            .expect("insert results");
    }

    /// Roll-ups of `monitor` written as they would be long after their raw results are gone:
    /// (hour start in ms, checks, failures, average latency).
    async fn rollups(store: &Store, monitor: &'static str, rows: Vec<(i64, i64, i64, i64)>) {
        store
            .write(move |tx| {
                for (at, checks, failures, avg) in rows {
                    tx.execute(
                        "INSERT INTO check_hourly(monitor_id, hour, checks, failures, latency_min, latency_avg, latency_p95, latency_max)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5, ?5)",
                        params![monitor, at / 1000, checks, failures, avg],
                    )?;
                }
                Ok(())
            })
            .await
            .expect("insert roll-ups");
    }

    fn at(ms: i64) -> OffsetDateTime {
        datetime_ms(ms).expect("in range")
    }

    fn p(at_ms: i64, latency: Option<u32>, checks: u32, failures: u32) -> LatencyPoint {
        LatencyPoint {
            at: at(at_ms),
            latency_ms: latency,
            checks,
            failures,
        }
    }

    fn close(got: Option<f64>, want: f64) -> bool {
        got.is_some_and(|g| (g - want).abs() < 1e-9)
    }

    #[tokio::test]
    async fn the_last_day_in_five_minute_buckets_with_failures_and_gaps() {
        let store = Store::in_memory().expect("open");
        let now = T0 + 30 * HOUR_MS + 7 * MIN;
        results(
            &store,
            "api",
            vec![
                // 25 h ago: outside the day, left out of the chart and of the 24 h uptime.
                (now - 25 * HOUR_MS, false, None),
                // One bucket: two good checks, 10 and 31 ms.
                (T0 + 29 * HOUR_MS + MIN, true, Some(10)),
                (T0 + 29 * HOUR_MS + 4 * MIN, true, Some(31)),
                // Nothing for 20 minutes, then a bucket with a refused connection (no
                // latency) next to a good check.
                (T0 + 29 * HOUR_MS + 25 * MIN, false, None),
                (T0 + 29 * HOUR_MS + 26 * MIN, true, Some(50)),
                // The current, unfinished bucket.
                (now - MIN, true, Some(8)),
            ],
        )
        .await;
        // Another monitor's results are never mixed in.
        results(&store, "db", vec![(now - MIN, false, Some(999))]).await;

        let h = store.monitor_history("api", now).expect("history");
        assert_eq!(
            h.recent,
            vec![
                p(T0 + 29 * HOUR_MS, Some(21), 2, 0),
                p(T0 + 29 * HOUR_MS + 25 * MIN, Some(50), 2, 1),
                p(T0 + 30 * HOUR_MS + 5 * MIN, Some(8), 1, 0),
            ]
        );
        assert_eq!(h.recent_bucket_secs, 300);
        assert_eq!(h.at, at(now));
        // 4 of 5 checks in the day passed; the one 25 h ago only counts from 7 days up.
        assert!(close(h.uptime.last24h, 0.8), "{:?}", h.uptime);
        assert!(close(h.uptime.last7d, 4.0 / 6.0), "{:?}", h.uptime);
        assert!(close(h.uptime.last90d, 4.0 / 6.0), "{:?}", h.uptime);
    }

    #[tokio::test]
    async fn a_day_of_checks_every_30_seconds_is_288_points() {
        let store = Store::in_memory().expect("open");
        let now = T0 + 48 * HOUR_MS;
        // Every 30 s for the last 24 h (the newest exactly at `now`); every 100th fails.
        let rows = (0..2880)
            .map(|i| (now - i * 30_000, i % 100 != 7, Some(20 + i % 10)))
            .collect();
        results(&store, "api", rows).await;
        let h = store.monitor_history("api", now).expect("history");
        assert_eq!(h.recent.len(), 288, "at most one point per bucket");
        assert_eq!(h.recent.last().map(|p| p.at), Some(at(now)));
        assert_eq!(h.recent.iter().map(|p| p.checks).sum::<u32>(), 2880 - 9);
        assert_eq!(h.recent.iter().map(|p| p.failures).sum::<u32>(), 29);
        assert!(
            h.recent.windows(2).all(|w| w[0].at < w[1].at),
            "oldest first"
        );
    }

    #[tokio::test]
    async fn hourly_points_join_roll_ups_and_raw_results_without_counting_twice() {
        let store = Store::in_memory().expect("open");
        let now = T0 + 3 * HOUR_MS + 20 * MIN;
        // Hour 0: 3 checks (one failed), latencies 10, 20 and none. Hour 1: none.
        // Hour 2: 1 check. Hour 3 (current): 2 checks, 1 failed.
        results(
            &store,
            "api",
            vec![
                (T0 + MIN, true, Some(10)),
                (T0 + 2 * MIN, true, Some(20)),
                (T0 + 3 * MIN, false, None),
                (T0 + 2 * HOUR_MS + MIN, true, Some(40)),
                (T0 + 3 * HOUR_MS + MIN, true, Some(5)),
                (T0 + 3 * HOUR_MS + 2 * MIN, false, Some(7)),
            ],
        )
        .await;
        let want = vec![
            p(T0, Some(15), 3, 1),
            p(T0 + 2 * HOUR_MS, Some(40), 1, 0),
            p(T0 + 3 * HOUR_MS, Some(6), 2, 1),
        ];
        let before = store.monitor_history("api", now).expect("history");
        assert_eq!(before.hourly, want, "all raw");

        // Hours 0-2 rolled up; the raw results stay until retention drops them.
        store
            .write(move |tx| roll_up(tx, now))
            .await
            .expect("roll up");
        let rolled = store.monitor_history("api", now).expect("history");
        assert_eq!(rolled.hourly, want, "roll-ups, then raw");
        assert!(
            close(rolled.uptime.last24h, 4.0 / 6.0),
            "{:?}",
            rolled.uptime
        );

        store
            .maintain_history(now, 0)
            .await
            .expect("prune everything rolled up");
        let pruned = store.monitor_history("api", now).expect("history");
        assert_eq!(pruned.hourly, want, "the same after pruning");
        assert_eq!(pruned.uptime, rolled.uptime);
        // The day's chart is drawn from raw results only: the pruned hours are gone from it.
        assert_eq!(pruned.recent.iter().map(|p| p.checks).sum::<u32>(), 2);
    }

    #[tokio::test]
    async fn uptime_per_window_from_old_roll_ups_and_none_without_checks() {
        let store = Store::in_memory().expect("open");
        let now = T0 + 100 * 24 * HOUR_MS + 30 * MIN;
        let days_ago = |d: i64| (now - d * DAY_MS).div_euclid(HOUR_MS) * HOUR_MS;
        rollups(
            &store,
            "api",
            vec![
                (days_ago(95), 100, 100, 30), // beyond 90 days: never counted
                (days_ago(60), 10, 5, 30),    // counts for 90 days
                (days_ago(20), 30, 3, 30),    // and for 30 days
                (days_ago(3), 60, 0, 30),     // and for 7 days
            ],
        )
        .await;
        // The roll-up mark passes them, as maintenance would have moved it.
        store
            .write(move |tx| roll_up(tx, now))
            .await
            .expect("roll up");
        let h = store.monitor_history("api", now).expect("history");
        assert_eq!(
            h.uptime.last24h, None,
            "no check in the last day is not 0 %"
        );
        assert!(close(h.uptime.last7d, 1.0), "{:?}", h.uptime);
        assert!(close(h.uptime.last30d, 87.0 / 90.0), "{:?}", h.uptime);
        assert!(close(h.uptime.last90d, 92.0 / 100.0), "{:?}", h.uptime);
        assert!(h.recent.is_empty());
        assert_eq!(h.hourly, vec![p(days_ago(3), Some(30), 60, 0)]);
    }

    #[tokio::test]
    async fn an_unknown_monitor_has_an_empty_history() {
        let store = Store::in_memory().expect("open");
        let h = store.monitor_history("nobody", T0).expect("history");
        assert_eq!(h.uptime, UptimeWindows::default());
        assert!(h.recent.is_empty() && h.hourly.is_empty());
    }

    /// The window asks for one monitor's history per row and again after each check, so it
    /// has to be quick on a large database: 1,000 monitors with 30 days of roll-ups and the
    /// last 48 h of raw results every 30 s (5.76 million rows), in a file. Prints the timing
    /// rather than asserting it: machines differ.
    #[test]
    #[ignore = "builds a database of several hundred MB; run with --ignored --nocapture"]
    fn history_of_one_monitor_among_a_thousand() {
        const MONITORS: i64 = 1_000;
        const EVERY_MS: i64 = 30_000;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let now = T0 + 40 * DAY_MS + 17 * MIN;
        let raw_from = (now - 48 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
        let started = std::time::Instant::now();
        store
            .write_blocking(move |tx| {
                let mut stmt = tx.prepare(
                    "INSERT INTO check_hourly(monitor_id, hour, checks, failures, latency_min, latency_avg, latency_p95, latency_max)
                     VALUES (?1, ?2, 120, ?3, 5, ?4, ?5, ?6)",
                )?;
                let mut hour = raw_from - 30 * DAY_MS;
                while hour < raw_from {
                    for m in 0..MONITORS {
                        let avg = 20 + (m + hour / HOUR_MS) % 40;
                        let failures = i64::from((m + hour / HOUR_MS) % 50 == 0);
                        stmt.execute(params![format!("monitor-{m}"), hour / 1000, failures, avg, avg * 2, avg * 3])?;
                    }
                    hour += HOUR_MS;
                }
                Ok(())
            })
            .expect("roll-ups");
        // Results arrive interleaved across monitors, as they do from the engine, an hour per
        // transaction.
        let mut hour = raw_from;
        while hour <= now {
            store
                .write_blocking(move |tx| {
                    tx.pragma_update(None, "cache_size", -262_144)?;
                    let ids: Vec<String> = (0..MONITORS).map(|m| format!("monitor-{m}")).collect();
                    let mut at = hour;
                    while at < (hour + HOUR_MS).min(now + 1) {
                        for (m, id) in (0..MONITORS).zip(&ids) {
                            let i = at / EVERY_MS;
                            insert_result(
                                tx,
                                id,
                                at + m,
                                (i + m) % 97 != 0,
                                Some(20 + (i * 7 + m) % 50),
                                None,
                            )?;
                        }
                        at += EVERY_MS;
                    }
                    Ok(())
                })
                .expect("raw results");
            hour += HOUR_MS;
        }
        store
            .write_blocking(move |tx| roll_up(tx, now))
            .expect("roll up the raw hours");
        eprintln!("built in {:?}", started.elapsed());

        let plan: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare(
                    "EXPLAIN QUERY PLAN SELECT at / 300000 AS bucket, count(*), sum(NOT ok), avg(latency_ms)
                     FROM check_results WHERE monitor = (SELECT key FROM monitor_keys WHERE monitor_id = 'monitor-1')
                       AND at >= 0 AND at <= 1
                     GROUP BY bucket ORDER BY bucket",
                )?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .expect("plan");
        eprintln!("raw buckets query plan: {plan:?}");

        let mut times: Vec<std::time::Duration> = (0..100)
            .map(|k| {
                let id = format!("monitor-{}", (k * 37) % MONITORS);
                let t = std::time::Instant::now();
                let h = store.monitor_history(&id, now).expect("history");
                let took = t.elapsed();
                assert_eq!(h.recent.len(), 288);
                assert_eq!(h.hourly.len(), 168);
                assert!(h.uptime.last30d.is_some_and(|u| u > 0.9));
                took
            })
            .collect();
        times.sort();
        eprintln!(
            "monitor_history over 100 queries: p50 {:?}, p95 {:?}, max {:?}",
            times[49], times[94], times[99]
        );
    }

    #[test]
    fn serialises_as_the_window_expects() {
        let h = MonitorHistory {
            monitor_id: "api".into(),
            at: at(T0),
            uptime: UptimeWindows {
                last24h: Some(0.5),
                ..UptimeWindows::default()
            },
            recent_bucket_secs: 300,
            recent: vec![p(T0 - 5 * MIN, None, 1, 1)],
            hourly: vec![],
        };
        let json = serde_json::to_value(&h).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "monitorId": "api",
                "at": "2026-01-01T00:00:00Z",
                "uptime": { "last24h": 0.5, "last7d": null, "last30d": null, "last90d": null },
                "recentBucketSecs": 300,
                "recent": [{ "at": "2025-12-31T23:55:00Z", "latencyMs": null, "checks": 1, "failures": 1 }],
                "hourly": [],
            })
        );
    }
}
