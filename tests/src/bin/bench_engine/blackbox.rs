//! The peer: Prometheus' blackbox_exporter, probing the same targets at the same rate.
//!
//! blackbox_exporter is pull-based: it probes when asked, `GET /probe?module=http_2xx&target=…`,
//! as Prometheus would ask it. The driver here plays Prometheus: one scrape loop per monitor,
//! offsets spread evenly over the interval, a missed tick skipped rather than queued, and
//! kept-alive connections to the exporter. The driver runs in the bench's own process, so the
//! exporter's CPU and memory read from `/proc` are the exporter's alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::wait_until;
use tokio::sync::Semaphore;

/// Probes in flight at most: Prometheus keeps one scrape per target in flight; the cap keeps
/// the exporter's sockets (one from the driver, one to the target per probe) under the
/// usual open-file limits when it cannot keep up.
const MAX_IN_FLIGHT: usize = 1000;

/// The exporter binary: `$BLACKBOX_EXPORTER`, else Debian's name, else upstream's.
pub fn find_exporter() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BLACKBOX_EXPORTER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        ["prometheus-blackbox-exporter", "blackbox_exporter"]
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// `blackbox_exporter, version 0.23.0 (…)`: the first line of `--version`.
pub fn version(bin: &Path) -> String {
    Command::new(bin)
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

/// The `http_2xx` module as Debian ships it, with the same timeout as Foghorn's default and
/// IPv4 first since every target is on 127.0.0.x.
const CONFIG: &str = "modules:\n  http_2xx:\n    prober: http\n    timeout: 10s\n    http:\n      preferred_ip_protocol: ip4\n";

/// A running exporter on a free port of 127.0.0.1.
#[derive(Debug)]
pub struct Exporter {
    pub child: ChildGuard,
    pub port: u16,
}

impl Exporter {
    pub fn start(bin: &Path, dir: &Path) -> Result<Exporter> {
        let config = dir.join("blackbox.yml");
        std::fs::write(&config, CONFIG)?;
        let port = foghorn_e2e::free_port()?;
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn");
        let mut child = ChildGuard::spawn("blackbox_exporter", cmd, dir)?;
        wait_until(
            Duration::from_secs(20),
            "blackbox_exporter to listen",
            || {
                if let Some(status) = child.try_wait()? {
                    bail!("blackbox_exporter exited ({status}): {}", child.stderr());
                }
                Ok(foghorn_e2e::ports::is_listening(port).then_some(()))
            },
        )?;
        Ok(Exporter { child, port })
    }
}

/// Counters of the driver, cumulative like the engine's.
#[derive(Debug, Default)]
pub struct DriverCounters {
    pub probes: AtomicU64,
    pub failed: AtomicU64,
    /// Ticks refused by the in-flight cap. A tick that comes while the monitor's previous
    /// probe still runs is skipped without counting, like an overrunning scrape.
    pub skipped: AtomicU64,
    /// Sum of each probe's duration as the exporter reported it (`probe_duration_seconds`).
    pub probe_us: AtomicU64,
}

/// Drives the exporter: `monitors` scrape loops every `interval`, until `stop` is dropped.
pub fn drive(
    rt: &tokio::runtime::Runtime,
    port: u16,
    targets: &[String],
    monitors: usize,
    interval: Duration,
) -> Result<(Arc<DriverCounters>, tokio::sync::watch::Sender<bool>)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(MAX_IN_FLIGHT)
        .timeout(Duration::from_secs(15))
        .build()?;
    let counters = Arc::new(DriverCounters::default());
    let cap = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    for i in 0..monitors {
        let url = format!(
            "http://127.0.0.1:{port}/probe?module=http_2xx&target=http://{}/health/{i}",
            targets[i % targets.len().max(1)]
        );
        let offset = interval.mul_f64(i as f64 / monitors.max(1) as f64);
        let client = client.clone();
        let counters = Arc::clone(&counters);
        let cap = Arc::clone(&cap);
        let mut stopped = stopped.clone();
        rt.spawn(async move {
            let mut ticks = tokio::time::interval_at(start + offset, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => return,
                }
                let Ok(_permit) = cap.try_acquire() else {
                    counters.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let outcome = scrape(&client, &url).await;
                counters.probes.fetch_add(1, Ordering::Relaxed);
                match outcome {
                    Some((true, secs)) => {
                        counters
                            .probe_us
                            .fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
                    }
                    _ => {
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    Ok((counters, stop))
}

/// One scrape: whether the probe succeeded and how long the exporter says it took.
async fn scrape(client: &reqwest::Client, url: &str) -> Option<(bool, f64)> {
    let body = client
        .get(url)
        // What Prometheus sends: the exporter sizes the probe's timeout from it.
        .header("X-Prometheus-Scrape-Timeout-Seconds", "10")
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let metric = |name: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    Some((
        metric("probe_success")? == 1.0,
        metric("probe_duration_seconds")?,
    ))
}

/// Waits for a started driver's first scrapes, so a window never opens on an idle exporter.
pub fn wait_for_first(counters: &DriverCounters, timeout: Duration) -> Result<()> {
    let began = Instant::now();
    wait_until(
        timeout,
        "the first probes through blackbox_exporter",
        || Ok((counters.probes.load(Ordering::Relaxed) > 0).then_some(())),
    )
    .with_context(|| format!("after {:?}", began.elapsed()))
}
