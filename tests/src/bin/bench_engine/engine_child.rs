//! The measured side: Foghorn's engine with N generated monitors, alone in its process so the
//! parent can read its CPU and memory from `/proc`. Progress goes to a stats file, rewritten
//! a few times a second, which the parent reads at the edges of its measuring window.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use foghorn_core::check::{Clients, Probe};
use foghorn_core::config::Config;
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::event::EngineEvent;
use foghorn_core::notify::{Notification, Notifier, NotifyError};
use foghorn_core::store::Store;
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;

/// How often the stats file is rewritten: the parent's window edges are this precise.
const STATS_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct EngineArgs {
    pub monitors: usize,
    pub interval: Duration,
    pub timeout: Duration,
    pub targets: Vec<String>,
    pub db: PathBuf,
    pub stats: PathBuf,
    /// Run only the checks (no state, no database, no events): how much of the engine's cost
    /// is the HTTP check itself.
    pub probe_only: bool,
}

/// Every monitor is down to the engine's defaults except its URL, interval and timeout; the
/// URLs go round the target addresses.
pub fn config_text(
    monitors: usize,
    interval: Duration,
    timeout: Duration,
    targets: &[String],
) -> String {
    let mut text = String::with_capacity(monitors * 110);
    for i in 0..monitors {
        let target = &targets[i % targets.len().max(1)];
        text.push_str(&format!(
            "[[monitors]]\nname = \"bench {i:05}\"\nurl = \"http://{target}/health/{i}\"\ninterval = \"{}ms\"\ntimeout = \"{}ms\"\n\n",
            interval.as_millis(),
            timeout.as_millis()
        ));
    }
    text
}

/// Notifications go nowhere: the bench measures the engine, not a desktop's daemon.
#[derive(Debug)]
struct Quiet;

impl Notifier for Quiet {
    fn show(&self, _: &Notification) -> Result<(), NotifyError> {
        Ok(())
    }
}

/// What the parent reads: cumulative counters, so any two readings give a window's numbers.
#[derive(Debug, Default)]
struct Counters {
    checks: AtomicU64,
    failed: AtomicU64,
    /// Events a lagging subscriber missed; counted as checks (each was one).
    lagged: AtomicU64,
    /// Checks whose timing is known (not lagged).
    timed: AtomicU64,
    /// Sum of the checks' own latency (request to response).
    check_us: AtomicU64,
    /// Sum of check start to the event announcing its result: the check, the database
    /// write and the queue in front of it.
    pipeline_us: AtomicU64,
}

impl Counters {
    fn add(&self, ok: bool, latency_ms: Option<u64>, started: Option<OffsetDateTime>) {
        self.checks.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let (Some(latency), Some(started)) = (latency_ms, started) {
            let pipeline = (OffsetDateTime::now_utc() - started).whole_microseconds();
            self.timed.fetch_add(1, Ordering::Relaxed);
            self.check_us.fetch_add(latency * 1000, Ordering::Relaxed);
            self.pipeline_us
                .fetch_add(u64::try_from(pipeline).unwrap_or(0), Ordering::Relaxed);
        }
    }

    fn line(&self, rt: &tokio::runtime::Handle) -> String {
        let m = rt.metrics();
        let busy: f64 = (0..m.num_workers())
            .map(|w| m.worker_total_busy_duration(w).as_secs_f64())
            .sum();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "checks={} failed={} lagged={} timed={} check_us={} pipeline_us={} tasks={} queue={} busy_s={busy:.3}\n",
            get(&self.checks),
            get(&self.failed),
            get(&self.lagged),
            get(&self.timed),
            get(&self.check_us),
            get(&self.pipeline_us),
            m.num_alive_tasks(),
            m.global_queue_depth(),
        )
    }
}

/// Where the engine's memory goes before any check: RSS (MiB) before the configuration is
/// read, once it is parsed, and once every monitor's task is spawned; and the size of one
/// check's future, which each monitor's task carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub base: f64,
    pub config: f64,
    pub started: f64,
    pub probe_future: usize,
}

impl Memory {
    fn line(&self) -> String {
        format!(
            "rss_base={:.3} rss_config={:.3} rss_started={:.3} probe_future={}\n",
            self.base, self.config, self.started, self.probe_future
        )
    }
}

/// Bytes of the future a running HTTP check is: part of every monitor task's state.
fn check_future_size(config: &Config) -> usize {
    let Some(monitor) = config.monitors.first() else {
        return 0;
    };
    let probe = Probe::from_monitor(monitor);
    let clients = Clients::default();
    let future = probe.run(&clients);
    std::mem::size_of_val(&future)
}

/// A reading of the stats file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub checks: u64,
    pub failed: u64,
    pub lagged: u64,
    pub timed: u64,
    pub check_us: u64,
    pub pipeline_us: u64,
    pub tasks: u64,
    pub queue: u64,
    pub busy_s: f64,
    pub memory: Memory,
}

impl Stats {
    pub fn read(path: &Path) -> Option<Stats> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut s = Stats::default();
        for pair in text.split_whitespace() {
            let (k, v) = pair.split_once('=')?;
            match k {
                "busy_s" => s.busy_s = v.parse().ok()?,
                "rss_base" => s.memory.base = v.parse().ok()?,
                "rss_config" => s.memory.config = v.parse().ok()?,
                "rss_started" => s.memory.started = v.parse().ok()?,
                "probe_future" => s.memory.probe_future = v.parse().ok()?,
                _ => {
                    let v: u64 = v.parse().ok()?;
                    match k {
                        "checks" => s.checks = v,
                        "failed" => s.failed = v,
                        "lagged" => s.lagged = v,
                        "timed" => s.timed = v,
                        "check_us" => s.check_us = v,
                        "pipeline_us" => s.pipeline_us = v,
                        "tasks" => s.tasks = v,
                        "queue" => s.queue = v,
                        _ => {}
                    }
                }
            }
        }
        Some(s)
    }
}

/// Sockets for thousands of monitors need more descriptors than a default soft limit of 1024.
fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

pub fn run(args: EngineArgs) -> Result<()> {
    raise_open_file_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let counters = Arc::new(Counters::default());
        let rss = || crate::procfs::status_mib(std::process::id(), "VmRSS").unwrap_or(0.0);
        let mut memory = Memory {
            base: rss(),
            ..Memory::default()
        };
        let text = config_text(args.monitors, args.interval, args.timeout, &args.targets);
        let config = Config::parse(&text, Path::new("bench.toml"))?;
        drop(text);
        memory.config = rss();
        memory.probe_future = check_future_size(&config);
        // Kept alive for the whole run: dropping the engine handle would not stop it, but
        // keeping it makes the ownership obvious.
        let _engine = if args.probe_only {
            spawn_probes(&config, Arc::clone(&counters));
            None
        } else {
            let store = Store::open(&args.db).context("opening the bench database")?;
            let engine = Engine::start(config, store, Arc::new(Quiet), EngineOptions::default())?;
            spawn_subscriber(&engine, Arc::clone(&counters));
            Some(engine)
        };
        memory.started = rss();
        let tmp = args.stats.with_extension("tmp");
        loop {
            std::fs::write(&tmp, counters.line(&handle) + &memory.line())?;
            std::fs::rename(&tmp, &args.stats)?;
            tokio::time::sleep(STATS_EVERY).await;
        }
    })
}

/// Counts results as the window and tray would see them: from the engine's events.
fn spawn_subscriber(engine: &Engine, counters: Arc<Counters>) {
    let mut events = engine.subscribe();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(EngineEvent::Monitor { monitor }) => counters.add(
                    monitor.last_error.is_none(),
                    monitor.latency_ms,
                    monitor.last_checked_at,
                ),
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    counters.checks.fetch_add(n, Ordering::Relaxed);
                    counters.lagged.fetch_add(n, Ordering::Relaxed);
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// The checks alone, scheduled like the engine schedules them (first checks spread over the
/// shortest interval, then check, sleep an interval, repeat).
fn spawn_probes(config: &Config, counters: Arc<Counters>) {
    let clients = Arc::new(Clients::default());
    let count = config.monitors.len().max(1) as u32;
    for (index, monitor) in config.monitors.iter().enumerate() {
        let probe = Probe::from_monitor(monitor);
        let interval = monitor.interval;
        let spread = interval.min(Duration::from_secs(10)) / count * index as u32;
        let clients = Arc::clone(&clients);
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            tokio::time::sleep(spread).await;
            loop {
                let result = probe.run(&clients).await;
                counters.add(result.ok, result.latency_ms, Some(result.at));
                tokio::time::sleep(interval).await;
            }
        });
    }
}
