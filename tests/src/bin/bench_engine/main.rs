//! `make bench` (engine part): Foghorn's monitoring engine side by side with Prometheus'
//! blackbox_exporter on the same local targets at the same rate, then history size, window
//! queries and time to alert. Prints Markdown for docs/bench.md; progress goes to stderr.
//!
//! ```text
//! bench_engine [--quick] [--only runs,history,alert]   the whole bench (BENCH_QUICK=1 = --quick)
//! bench_engine target --addresses K                    the HTTP target (a child process)
//! bench_engine engine --monitors N --interval MS …     the engine under test (a child process)
//! ```
//!
//! Each measured program runs in a process of its own, so CPU (`utime + stime` of
//! `/proc/PID/stat`) and peak RSS (`VmHWM`) are that program's and nothing else's.

mod alert;
mod blackbox;
mod engine_child;
mod history;
mod procfs;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use engine_child::{EngineArgs, Stats};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::wait_until;

/// Loopback addresses the target listens on (see `target::serve`).
const TARGET_ADDRESSES: u8 = 32;
/// Foghorn's default check timeout, also given to blackbox_exporter.
const TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("target") => target::serve(flag(&args, "--addresses")?.unwrap_or(TARGET_ADDRESSES)),
        Some("engine") => engine_child::run(EngineArgs {
            monitors: flag(&args, "--monitors")?.context("--monitors")?,
            interval: Duration::from_millis(
                flag(&args, "--interval-ms")?.context("--interval-ms")?,
            ),
            timeout: Duration::from_millis(flag(&args, "--timeout-ms")?.unwrap_or(10_000)),
            targets: text_flag(&args, "--targets")
                .context("--targets")?
                .split(',')
                .map(str::to_owned)
                .collect(),
            db: text_flag(&args, "--db").context("--db")?.into(),
            stats: text_flag(&args, "--stats").context("--stats")?.into(),
            probe_only: args.iter().any(|a| a == "--probe-only"),
        }),
        _ => {
            let quick = args.iter().any(|a| a == "--quick")
                || std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
            let only = text_flag(&args, "--only");
            let wants = |part: &str| {
                only.as_deref()
                    .is_none_or(|o| o.split(',').any(|p| p == part))
            };
            bench(quick, &wants)
        }
    }
}

fn text_flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> Result<Option<T>> {
    text_flag(args, name)
        .map(|v| {
            v.parse()
                .map_err(|_| anyhow::anyhow!("{name}: not a number: {v}"))
        })
        .transpose()
}

/// One measured configuration.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    monitors: usize,
    interval: Duration,
    /// Time to let the first checks settle before the window opens.
    warmup: Duration,
    /// The measuring window. For Foghorn it spans a whole interval, so that it holds one
    /// check of every monitor whichever part of the interval their checks fall in.
    window: Duration,
    /// blackbox_exporter's checks are evenly paced (see `blackbox::drive`), so a shorter
    /// window is representative.
    peer_warmup: Duration,
    peer_window: Duration,
}

impl Scenario {
    fn label(&self) -> String {
        format!(
            "{} × {}",
            thousands(self.monitors as f64),
            secs(self.interval)
        )
    }

    fn asked_rate(&self) -> f64 {
        self.monitors as f64 / self.interval.as_secs_f64()
    }
}

/// What one tool did in one scenario's window.
#[derive(Debug, Clone, Default)]
struct Measured {
    tool: String,
    scenario: String,
    asked_rate: f64,
    window: f64,
    checks: u64,
    failed: u64,
    cpu: f64,
    target_cpu: f64,
    /// CPU of the bench process while it drives blackbox_exporter.
    driver_cpu: Option<f64>,
    peak_rss_mib: f64,
    anon_rss_mib: f64,
    /// Lowest and highest RSS sampled during the window: between bursts and during them.
    rss_range_mib: (f64, f64),
    load: f64,
    /// Foghorn only: per-thread CPU and the engine's own counters over the window.
    threads: BTreeMap<String, f64>,
    stats: Option<(Stats, Stats)>,
    mean_probe_ms: Option<f64>,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.checks as f64 / self.window
    }

    fn cpu_per_1000(&self) -> f64 {
        if self.checks == 0 {
            f64::NAN
        } else {
            self.cpu / self.checks as f64 * 1000.0
        }
    }

    fn core_percent(&self) -> f64 {
        self.cpu / self.window * 100.0
    }
}

struct Bench {
    exe: PathBuf,
    work: tempfile::TempDir,
    target: ChildGuard,
    targets: Vec<String>,
    rt: tokio::runtime::Runtime,
}

fn bench(quick: bool, wants: &dyn Fn(&str) -> bool) -> Result<()> {
    let exporter = blackbox::find_exporter().context(
        "blackbox_exporter not found: install Debian's prometheus-blackbox-exporter (scripts/bench.sh does) or set BLACKBOX_EXPORTER",
    )?;
    let work = tempfile::Builder::new()
        .prefix("foghorn-bench-")
        .tempdir()?;
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(&exe);
    cmd.args(["target", "--addresses", &TARGET_ADDRESSES.to_string()]);
    let target = ChildGuard::spawn("target", cmd, work.path())?;
    let targets: Vec<String> = wait_until(Duration::from_secs(10), "the target to listen", || {
        let out = target.stdout();
        Ok(out
            .lines()
            .next()
            .map(|l| l.split_whitespace().map(str::to_owned).collect()))
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let b = Bench {
        exe,
        work,
        target,
        targets,
        rt,
    };

    let second = Duration::from_secs(1);
    let minute = Duration::from_secs(60);
    let (short_warmup, short_window) = if quick {
        (Duration::from_secs(5), Duration::from_secs(10))
    } else {
        (Duration::from_secs(10), Duration::from_secs(20))
    };
    let compressed = |monitors| Scenario {
        monitors,
        interval: second,
        warmup: short_warmup,
        window: short_window,
        peer_warmup: Duration::from_secs(5),
        peer_window: short_window,
    };
    let realistic = |monitors| Scenario {
        monitors,
        interval: minute,
        warmup: Duration::from_secs(12),
        window: minute,
        peer_warmup: Duration::from_secs(5),
        peer_window: Duration::from_secs(20),
    };
    let mut scenarios = Vec::new();
    if !quick {
        scenarios.push(realistic(1000));
        scenarios.push(realistic(10_000));
    }
    scenarios.push(compressed(1000));
    scenarios.push(compressed(10_000));

    let mut runs: Vec<Measured> = Vec::new();
    let mut probe_only = None;
    if wants("runs") {
        for sc in &scenarios {
            eprintln!("bench: Foghorn, {}", sc.label());
            runs.push(b.foghorn(sc, false)?);
            eprintln!("bench: blackbox_exporter, {}", sc.label());
            runs.push(b.blackbox(&exporter, sc)?);
        }
        eprintln!(
            "bench: Foghorn's checks alone, {}",
            compressed(1000).label()
        );
        probe_only = Some(b.foghorn(&compressed(1000), true)?);
    }
    let history = if wants("history") {
        let monitors = if quick { 100 } else { 1000 };
        eprintln!("bench: history of {monitors} monitors × 30 days");
        Some(history::run(&b.rt, monitors, 30)?)
    } else {
        None
    };
    let alert = if wants("alert") {
        let monitors = if quick { 3 } else { 10 };
        eprintln!("bench: time to alert ({monitors} outages, up to a minute and a half)");
        Some(alert::run(&b.rt, monitors)?)
    } else {
        None
    };
    report(
        quick,
        &blackbox::version(&exporter),
        &runs,
        probe_only.as_ref(),
        history.as_ref(),
        alert.as_ref(),
    );
    Ok(())
}

/// CPU and counters at one instant.
struct Snapshot {
    at: Instant,
    cpu: f64,
    target_cpu: f64,
    own_cpu: f64,
    threads: BTreeMap<String, f64>,
}

impl Bench {
    fn snapshot(&self, pid: u32) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            cpu: procfs::cpu_seconds(pid).unwrap_or(f64::NAN),
            target_cpu: procfs::cpu_seconds(self.target.pid()).unwrap_or(f64::NAN),
            own_cpu: procfs::cpu_seconds(std::process::id()).unwrap_or(f64::NAN),
            threads: procfs::cpu_by_thread(pid),
        }
    }

    fn foghorn(&self, sc: &Scenario, probe_only: bool) -> Result<Measured> {
        let dir = tempfile::tempdir_in(self.work.path())?;
        let stats_path = dir.path().join("stats");
        let mut cmd = Command::new(&self.exe);
        cmd.arg("engine")
            .args(["--monitors", &sc.monitors.to_string()])
            .args(["--interval-ms", &sc.interval.as_millis().to_string()])
            .args(["--timeout-ms", &TIMEOUT.as_millis().to_string()])
            .args(["--targets", &self.targets.join(",")])
            .arg("--db")
            .arg(dir.path().join("data"))
            .arg("--stats")
            .arg(&stats_path);
        if probe_only {
            cmd.arg("--probe-only");
        }
        let mut child = ChildGuard::spawn("engine", cmd, dir.path())?;
        wait_until(Duration::from_secs(60), "the engine's first checks", || {
            if let Some(status) = child.try_wait()? {
                bail!("the engine exited ({status}): {}", child.stderr());
            }
            Ok(Stats::read(&stats_path).filter(|s| s.checks > 0))
        })?;
        std::thread::sleep(sc.warmup);
        let (a, stats_a) = (self.snapshot(child.pid()), Stats::read(&stats_path));
        let rss = watch_rss(child.pid(), sc.window);
        let (b, stats_b) = (self.snapshot(child.pid()), Stats::read(&stats_path));
        let pid = child.pid();
        let peak = procfs::status_mib(pid, "VmHWM").unwrap_or(f64::NAN);
        let anon = procfs::status_mib(pid, "RssAnon").unwrap_or(f64::NAN);
        if let Some(status) = child.try_wait()? {
            bail!(
                "the engine exited during the run ({status}): {}",
                child.stderr()
            );
        }
        child.terminate();
        let (sa, sb) = (stats_a.unwrap_or_default(), stats_b.unwrap_or_default());
        let threads: BTreeMap<String, f64> = b
            .threads
            .iter()
            .map(|(name, end)| {
                (
                    name.clone(),
                    end - a.threads.get(name).copied().unwrap_or(0.0),
                )
            })
            .collect();
        // The main thread only writes the stats file for this bench: not the engine's work.
        let bench_cpu = threads.get(procfs::MAIN_THREAD).copied().unwrap_or(0.0);
        Ok(Measured {
            tool: if probe_only {
                "Foghorn, checks only"
            } else {
                "Foghorn"
            }
            .to_owned(),
            scenario: sc.label(),
            asked_rate: sc.asked_rate(),
            window: (b.at - a.at).as_secs_f64(),
            checks: sb.checks.saturating_sub(sa.checks),
            failed: sb.failed.saturating_sub(sa.failed),
            cpu: b.cpu - a.cpu - bench_cpu,
            target_cpu: b.target_cpu - a.target_cpu,
            driver_cpu: None,
            peak_rss_mib: peak,
            anon_rss_mib: anon,
            rss_range_mib: rss,
            load: procfs::load_average().unwrap_or(f64::NAN),
            threads,
            stats: Some((sa, sb)),
            mean_probe_ms: None,
        })
    }

    fn blackbox(&self, exporter: &Path, sc: &Scenario) -> Result<Measured> {
        let dir = tempfile::tempdir_in(self.work.path())?;
        let mut exp = blackbox::Exporter::start(exporter, dir.path())?;
        let (counters, stop) =
            blackbox::drive(&self.rt, exp.port, &self.targets, sc.monitors, sc.interval)?;
        blackbox::wait_for_first(&counters, Duration::from_secs(30))?;
        std::thread::sleep(sc.peer_warmup);
        let read = || {
            (
                counters.probes.load(Ordering::Relaxed),
                counters.failed.load(Ordering::Relaxed),
                counters.probe_us.load(Ordering::Relaxed),
            )
        };
        let (a, ca) = (self.snapshot(exp.child.pid()), read());
        let rss = watch_rss(exp.child.pid(), sc.peer_window);
        let (b, cb) = (self.snapshot(exp.child.pid()), read());
        let pid = exp.child.pid();
        let peak = procfs::status_mib(pid, "VmHWM").unwrap_or(f64::NAN);
        let anon = procfs::status_mib(pid, "RssAnon").unwrap_or(f64::NAN);
        let _ = stop.send(true);
        if let Some(status) = exp.child.try_wait()? {
            bail!(
                "blackbox_exporter exited during the run ({status}): {}",
                exp.child.stderr()
            );
        }
        exp.child.terminate();
        // Let the scrape loops see the stop before the next run starts its own.
        std::thread::sleep(Duration::from_millis(500));
        let probes = cb.0.saturating_sub(ca.0);
        let ok = probes.saturating_sub(cb.1.saturating_sub(ca.1));
        Ok(Measured {
            tool: "blackbox_exporter".to_owned(),
            scenario: sc.label(),
            asked_rate: sc.asked_rate(),
            window: (b.at - a.at).as_secs_f64(),
            checks: probes,
            failed: cb.1.saturating_sub(ca.1),
            cpu: b.cpu - a.cpu,
            target_cpu: b.target_cpu - a.target_cpu,
            driver_cpu: Some(b.own_cpu - a.own_cpu),
            peak_rss_mib: peak,
            anon_rss_mib: anon,
            rss_range_mib: rss,
            load: procfs::load_average().unwrap_or(f64::NAN),
            threads: BTreeMap::new(),
            stats: None,
            mean_probe_ms: (ok > 0).then(|| cb.2.saturating_sub(ca.2) as f64 / ok as f64 / 1000.0),
        })
    }
}

/// Samples `VmRSS` four times a second for `window`; returns the lowest and highest.
fn watch_rss(pid: u32, window: Duration) -> (f64, f64) {
    let end = Instant::now() + window;
    let (mut low, mut high) = (f64::INFINITY, 0.0_f64);
    while Instant::now() < end {
        if let Some(rss) = procfs::status_mib(pid, "VmRSS") {
            low = low.min(rss);
            high = high.max(rss);
        }
        std::thread::sleep(
            Duration::from_millis(250).min(end.saturating_duration_since(Instant::now())),
        );
    }
    (low, high)
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

/// 10000 → `10,000`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "pass"
    } else {
        "**miss**"
    }
}

/// 60 MB and 200 MB in the targets are decimal megabytes.
const MB: f64 = 1_000_000.0 / 1_048_576.0;

fn report(
    quick: bool,
    exporter_version: &str,
    runs: &[Measured],
    probe_only: Option<&Measured>,
    history: Option<&history::HistoryReport>,
    alert: Option<&alert::AlertReport>,
) {
    let find = |tool: &str, scenario: &str| {
        runs.iter()
            .find(|r| r.tool == tool && r.scenario == scenario)
    };
    let not_run = if quick {
        "not run (`BENCH_QUICK`)"
    } else {
        "not run"
    };
    println!(
        "Peer: {}; targets: a raw-TCP HTTP responder on 127.0.0.1–127.0.0.{TARGET_ADDRESSES}, its own process.\n",
        if exporter_version.is_empty() { "blackbox_exporter" } else { exporter_version }
    );

    println!("| target | measured | verdict |");
    println!("|---|---|---|");
    match find("Foghorn", "10,000 × 60 s") {
        Some(r) => println!(
            "| 10,000 monitors at 60 s: under 10 % of one core | {:.1} % ({:.0} checks/s) | {} |",
            r.core_percent(),
            r.rate(),
            verdict(r.core_percent() < 10.0)
        ),
        None => println!("| 10,000 monitors at 60 s: under 10 % of one core | {not_run} | – |"),
    }
    for scenario in ["1,000 × 1 s", "10,000 × 60 s"] {
        if let (Some(f), Some(p)) = (
            find("Foghorn", scenario),
            find("blackbox_exporter", scenario),
        ) {
            println!(
                "| CPU per check at most half of blackbox_exporter's ({scenario}) | {:.3} vs {:.3} CPU s per 1,000 checks ({:.0} %) | {} |",
                f.cpu_per_1000(),
                p.cpu_per_1000(),
                f.cpu_per_1000() / p.cpu_per_1000() * 100.0,
                verdict(f.cpu_per_1000() <= p.cpu_per_1000() / 2.0)
            );
        }
    }
    match find("Foghorn", "10,000 × 1 s") {
        Some(r) => println!(
            "| stress: at least 2,000 checks/s on 2 cores (10,000 × 1 s) | {:.0} checks/s at {:.0} % of one core, {} failed | {} |",
            r.rate(),
            r.core_percent(),
            r.failed,
            verdict(r.rate() >= 2000.0)
        ),
        None => println!("| stress: at least 2,000 checks/s | {not_run} | – |"),
    }
    for scenario in ["10,000 × 60 s", "10,000 × 1 s"] {
        if let Some(r) = find("Foghorn", scenario) {
            println!(
                "| engine RSS under 60 MB with 10,000 monitors ({scenario}) | peak {:.1} MiB ({:.1} MB) | {} |",
                r.peak_rss_mib,
                r.peak_rss_mib / MB,
                verdict(r.peak_rss_mib < 60.0 * MB)
            );
        }
    }
    if let Some(h) = history {
        let total = (h.file_bytes + h.wal_bytes) as f64 / 1e6;
        println!(
            "| history of {} monitors × {} days under 200 MB | {total:.1} MB | {} |",
            thousands(h.monitors as f64),
            h.days,
            if h.monitors == 1000 {
                verdict(total < 200.0)
            } else {
                "– (fewer monitors)"
            }
        );
        let worst = h.queries.iter().map(|q| q.1[1]).fold(0.0, f64::max);
        println!(
            "| window queries under 100 ms p95 | worst p95 {worst:.2} ms | {} |",
            verdict(worst < 100.0)
        );
    }
    if let Some(a) = alert {
        let max = a.samples.iter().copied().fold(0.0, f64::max);
        println!(
            "| time to alert with the defaults under 40 s | at most {max:.1} s over {} outages | {} |",
            a.samples.len(),
            verdict(max < 40.0)
        );
    }
    println!();

    if !runs.is_empty() {
        println!("Side by side (each window measured after a warm-up; CPU = `utime + stime` of the tool's process over the window):\n");
        println!("| monitors × interval | tool | checks/s (asked) | CPU, % of one core | CPU s per 1,000 checks | peak RSS | failed | target's CPU s per 1,000 | load (1 min) |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for r in runs.iter().chain(probe_only) {
            println!(
                "| {} | {} | {:.0} ({:.0}) | {:.1} % | {:.3} | {:.1} MiB | {} | {:.3} | {:.2} |",
                r.scenario,
                r.tool,
                r.rate(),
                r.asked_rate,
                r.core_percent(),
                r.cpu_per_1000(),
                r.peak_rss_mib,
                r.failed,
                r.target_cpu / r.checks.max(1) as f64 * 1000.0,
                r.load
            );
        }
        println!();
        println!("Where Foghorn's time and memory go (CPU per thread over the window: `tokio-rt-worker` = the async workers running checks and bookkeeping, `foghorn-db-writ` = the database writer thread, `main` = the main thread, which only writes the bench's stats file and is left out of every other CPU figure):\n");
        println!("| monitors × interval | tool | CPU s per 1,000 checks by thread | mean check latency (whole ms, as recorded) | mean check start → event | tokio workers busy | alive tasks | RSS in the window (min–max) | anon RSS at the end |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for r in runs.iter().chain(probe_only).filter(|r| r.stats.is_some()) {
            let Some((a, b)) = r.stats else { continue };
            let per_1000 = |secs: f64| secs / r.checks.max(1) as f64 * 1000.0;
            let threads: Vec<String> = r
                .threads
                .iter()
                .filter(|(_, s)| **s > 0.0)
                .map(|(name, s)| format!("{name} {:.3}", per_1000(*s)))
                .collect();
            let timed = b.timed.saturating_sub(a.timed).max(1) as f64;
            println!(
                "| {} | {} | {} | {:.2} ms | {:.2} ms | {:.0} % of one core | {} | {:.1}–{:.1} MiB | {:.1} MiB |",
                r.scenario,
                r.tool,
                threads.join(", "),
                b.check_us.saturating_sub(a.check_us) as f64 / timed / 1000.0,
                b.pipeline_us.saturating_sub(a.pipeline_us) as f64 / timed / 1000.0,
                (b.busy_s - a.busy_s) / r.window * 100.0,
                b.tasks,
                r.rss_range_mib.0,
                r.rss_range_mib.1,
                r.anon_rss_mib
            );
        }
        println!();
        for r in runs.iter().filter(|r| r.tool == "Foghorn") {
            let Some((_, b)) = r.stats else { continue };
            let m = b.memory;
            let n = r.scenario.split(' ').next().unwrap_or("").replace(',', "");
            let n: f64 = n.parse().unwrap_or(f64::NAN);
            println!(
                "- Memory, {}: RSS {:.1} MiB before the configuration is read, {:.1} MiB once parsed ({:.1} KiB per monitor), {:.1} MiB once every monitor's task is spawned ({:.1} KiB per monitor), peak {:.1} MiB; one HTTP check's future is {} bytes.",
                r.scenario,
                m.base,
                m.config,
                (m.config - m.base) * 1024.0 / n,
                m.started,
                (m.started - m.config) * 1024.0 / n,
                r.peak_rss_mib,
                m.probe_future
            );
        }
        println!();
        let drivers: Vec<String> = runs
            .iter()
            .filter_map(|r| {
                Some(format!(
                    "{} {:.3} CPU s per 1,000 (mean probe {:.2} ms)",
                    r.scenario,
                    r.driver_cpu? / r.checks.max(1) as f64 * 1000.0,
                    r.mean_probe_ms.unwrap_or(f64::NAN)
                ))
            })
            .collect();
        println!(
            "The driver that plays Prometheus for blackbox_exporter ran in the bench process, not counted above: {}.\n",
            drivers.join("; ")
        );
    }

    if let Some(h) = history {
        println!(
            "History: {} monitors × {} days at the default {} interval and `keep_raw` {}: {} raw results, {} hourly roll-ups. Database {:.1} MB after maintenance and `wal_checkpoint(TRUNCATE)` (WAL {:.1} MB, free pages {:.1} MB). Built in {:.0} s; maintenance (roll-up of the raw window, pruning) {:.1} s.\n",
            thousands(h.monitors as f64),
            h.days,
            secs(h.interval),
            humanize(h.keep_raw),
            thousands(h.raw_rows as f64),
            thousands(h.hourly_rows as f64),
            h.file_bytes as f64 / 1e6,
            h.wal_bytes as f64 / 1e6,
            h.free_bytes as f64 / 1e6,
            h.fill_seconds,
            h.maintain_seconds
        );
        println!("| table or index | MB | bytes per row |");
        println!("|---|---|---|");
        for (name, bytes) in &h.objects {
            let rows = match name.as_str() {
                "check_results" => h.raw_rows,
                "check_hourly" => h.hourly_rows,
                _ => 0,
            };
            let per_row = if rows > 0 {
                format!("{:.0}", *bytes as f64 / rows as f64)
            } else {
                "–".to_owned()
            };
            println!("| {name} | {:.1} | {per_row} |", *bytes as f64 / 1e6);
        }
        println!();
        println!("| query (200 samples each, random monitors) | p50 | p95 | max |");
        println!("|---|---|---|---|");
        for (label, [p50, p95, max]) in &h.queries {
            println!("| {label} | {p50:.2} ms | {p95:.2} ms | {max:.2} ms |");
        }
        println!();
    }

    if let Some(a) = alert {
        let mut s = a.samples.clone();
        s.sort_by(f64::total_cmp);
        let interval = a.interval.as_secs_f64();
        println!(
            "Time to alert, defaults (interval {}, one fast retry after 5 s, `failure_threshold` {}), outages starting evenly over the check cycle: min {:.1} s, median {:.1} s, max {:.1} s over {} outages (worst case by construction: one interval, up to 5 % longer with the engine's jitter, plus the retry: {:.1} s). Gatus' defaults (interval 60 s, 3 failures, no fast retry) take 120–180 s, 150 s on average: computed, not measured.\n",
            secs(a.interval),
            a.failure_threshold,
            s.first().copied().unwrap_or(f64::NAN),
            s.get(s.len() / 2).copied().unwrap_or(f64::NAN),
            s.last().copied().unwrap_or(f64::NAN),
            s.len(),
            interval * 1.05 + 5.0 * f64::from(a.failure_threshold.saturating_sub(1))
        );
    }
}

fn humanize(d: Duration) -> String {
    let h = d.as_secs() / 3600;
    if h > 0 && d.as_secs().is_multiple_of(3600) {
        format!("{h} h")
    } else {
        format!("{} s", d.as_secs())
    }
}
