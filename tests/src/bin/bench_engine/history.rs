//! History size and window queries: `monitors` monitors × `days` days of results, simulated
//! through the engine's own storage so the file is the one a user would have.
//!
//! Simulating every raw result of 30 days and rolling them up hour by hour would take many
//! minutes, so the old days go in as hourly roll-ups (the rows `roll_up` writes, with the same
//! SQL), and only the raw-retention window goes in as raw results (with the SQL the engine
//! records a result with, in time order as the engine writes them). Then the engine's own
//! maintenance runs — rolling the raw window's complete hours up and pruning raw results past
//! the window — and a WAL checkpoint, and the file is measured.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use foghorn_core::config::Config;
use foghorn_core::monitor::MonitorId;
use foghorn_core::store::{insert_result, Store};
use rusqlite::params;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// The settings key of the roll-up mark in `store/history.rs`: the roll-ups written directly
/// must be marked as done, as `roll_up` would have marked them.
const ROLLED_UP_TO: &str = "history.rolled_up_to_ms";
/// Samples per query kind.
const QUERY_SAMPLES: usize = 200;

#[derive(Debug)]
pub struct HistoryReport {
    pub monitors: usize,
    pub days: i64,
    pub interval: Duration,
    pub keep_raw: Duration,
    pub raw_rows: i64,
    pub hourly_rows: i64,
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub free_bytes: u64,
    /// Bytes per table and index (SQLite's `dbstat`), largest first.
    pub objects: Vec<(String, u64)>,
    pub fill_seconds: f64,
    pub maintain_seconds: f64,
    /// Query label → (p50, p95, max) in milliseconds.
    pub queries: Vec<(String, [f64; 3])>,
}

/// A small, fast, seeded generator: the same "random" history on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }
}

pub fn run(rt: &tokio::runtime::Runtime, monitors: usize, days: i64) -> Result<HistoryReport> {
    // The engine's defaults, read from the configuration so the bench follows them.
    let defaults = Config::parse(
        "[[monitors]]\nname = \"x\"\nurl = \"http://127.0.0.1/\"\n",
        Path::new("defaults.toml"),
    )?;
    let interval = defaults.monitors[0].interval;
    let keep_raw = defaults.history.keep_raw;
    let interval_ms = i64::try_from(interval.as_millis())?;
    let keep_raw_ms = i64::try_from(keep_raw.as_millis())?;

    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let ids: Vec<String> = (0..monitors)
        .map(|i| {
            MonitorId::from_name(&format!("service {i:04} health"))
                .as_str()
                .to_owned()
        })
        .collect();
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let first_hour = (now_ms - days * DAY_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let raw_from = (now_ms - keep_raw_ms).div_euclid(HOUR_MS) * HOUR_MS;
    let checks_per_hour = HOUR_MS / interval_ms;

    let ids: std::sync::Arc<[String]> = ids.into();
    let began = Instant::now();
    rt.block_on(async {
        // Hourly roll-ups before the raw window, a day per transaction.
        let mut day = first_hour;
        while day < raw_from {
            let until = (day + DAY_MS).min(raw_from);
            let ids = std::sync::Arc::clone(&ids);
            let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ day as u64);
            store
                .write(move |tx| {
                    let mut insert = tx.prepare_cached(
                        "INSERT INTO check_hourly(monitor_id, hour, checks, failures, latency_min, latency_avg, latency_p95, latency_max, down_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )?;
                    let mut hour = day;
                    while hour < until {
                        for id in ids.iter() {
                            let min = rng.between(15, 60);
                            let avg = min + rng.between(5, 80);
                            let p95 = avg + rng.between(10, 300);
                            let max = p95 + rng.between(0, 1500);
                            let failures = i64::from(rng.next().is_multiple_of(50)) * rng.between(1, 4);
                            insert.execute(params![id, hour / 1000, checks_per_hour, failures, min, avg, p95, max, failures * interval_ms])?;
                        }
                        hour += HOUR_MS;
                    }
                    Ok(())
                })
                .await?;
            day = until;
        }
        // Raw results for the retention window, ten minutes of all monitors per transaction,
        // each monitor at its own offset within the interval as the engine spreads them.
        let mut at = raw_from;
        while at < now_ms {
            let until = (at + 10 * 60_000).min(now_ms);
            let ids = std::sync::Arc::clone(&ids);
            let mut rng = XorShift(0x2545_f491_4f6c_dd1d ^ at as u64);
            store
                .write_relaxed(move |tx| {
                    let mut tick = at;
                    while tick < until {
                        for (i, id) in ids.iter().enumerate() {
                            let when = tick + interval_ms * i as i64 / ids.len() as i64;
                            let ok = !rng.next().is_multiple_of(1000);
                            let latency = rng.between(15, 60)
                                + rng.between(0, 400) * i64::from(rng.next().is_multiple_of(20));
                            let error = (!ok).then_some("HTTP 503 Service Unavailable");
                            insert_result(tx, id, when, ok, Some(latency), error)?;
                        }
                        tick += interval_ms;
                    }
                    Ok(())
                })
                .await?;
            at = until;
        }
        let state_ids = std::sync::Arc::clone(&ids);
        store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO settings(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![ROLLED_UP_TO, raw_from.to_string()],
                )?;
                let stamp = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                for id in state_ids.iter() {
                    tx.execute(
                        "INSERT INTO monitor_state(monitor_id, status, consecutive_failures, consecutive_successes,
                                                   since, last_checked_at, latency_ms, last_error)
                         VALUES (?1, 'up', 0, 1, ?2, ?2, 42, NULL)",
                        params![id, stamp],
                    )?;
                }
                Ok(())
            })
            .await?;
        anyhow::Ok(())
    })?;
    let fill_seconds = began.elapsed().as_secs_f64();

    let began = Instant::now();
    rt.block_on(store.maintain_history(now_ms, keep_raw_ms))?;
    let maintain_seconds = began.elapsed().as_secs_f64();
    let db_path = store.path().context("the store is on disk")?.to_owned();
    drop(store);

    let conn = rusqlite::Connection::open(&db_path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let raw_rows = count("SELECT count(*) FROM check_results")?;
    let hourly_rows = count("SELECT count(*) FROM check_hourly")?;
    let page_size = count("PRAGMA page_size")?;
    let free_bytes = u64::try_from(count("PRAGMA freelist_count")? * page_size)?;
    let mut objects = Vec::new();
    {
        let mut stmt =
            conn.prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            objects.push((row.get::<_, String>(0)?, row.get::<_, i64>(1)?.try_into()?));
        }
    }
    drop(conn);
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let file_bytes = size(&db_path);
    let wal_bytes = size(&db_path.with_extension("db-wal"));

    let store = Store::open(dir.path())?;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut queries = Vec::new();
    for (label, span) in [
        ("24h", DAY_MS),
        ("7d", 7 * DAY_MS),
        ("30d", 30 * DAY_MS),
        ("90d", 90 * DAY_MS),
    ] {
        let mut times = Vec::with_capacity(QUERY_SAMPLES);
        for _ in 0..QUERY_SAMPLES {
            let id = &ids[rng.next() as usize % ids.len()];
            let began = Instant::now();
            store.uptime(id, now_ms - span)?;
            times.push(began.elapsed().as_secs_f64() * 1000.0);
        }
        queries.push((format!("`Store::uptime`, {label}"), percentiles(times)));
    }
    let mut times = Vec::with_capacity(QUERY_SAMPLES);
    for _ in 0..QUERY_SAMPLES {
        let id = &ids[rng.next() as usize % ids.len()];
        let began = Instant::now();
        let history = store.monitor_history(id, now_ms)?;
        times.push(began.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(!history.recent.is_empty(), "no recent results for {id}");
    }
    queries.push((
        "`Store::monitor_history` (what the window shows: the four uptimes, the last 24 h of raw results in 5-minute buckets, 7 days by the hour)".to_owned(),
        percentiles(times),
    ));

    Ok(HistoryReport {
        monitors,
        days,
        interval,
        keep_raw,
        raw_rows,
        hourly_rows,
        file_bytes,
        wal_bytes,
        free_bytes,
        objects,
        fill_seconds,
        maintain_seconds,
        queries,
    })
}

/// p50, p95 (nearest rank) and max.
fn percentiles(mut v: Vec<f64>) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    let rank = |p: usize| v[(v.len() * p).div_ceil(100).max(1) - 1];
    [rank(50), rank(95), v[v.len() - 1]]
}
