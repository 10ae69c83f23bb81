//! `make bench` (app part): release binary size, cold start to tray icon, idle memory of the
//! app and its webview processes with the window closed and open, and for the person on call
//! how fast an outage becomes a notification and the alarm, and an Acknowledge silence. Runs
//! the real binary on an isolated desktop, like the end-to-end tests; prints Markdown tables.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use foghorn_e2e::process::all_processes;
use foghorn_e2e::session::DesktopOptions;
use foghorn_e2e::target::write_oncall_config;
use foghorn_e2e::{
    wait_until, workspace_root, AppLaunch, AppProcess, Desktop, PulseAudio, Target, Tray,
};

const RUNS: usize = 5;
/// Idle memory is read after the app has had this long to settle (GC, lazy loading).
const SETTLE: Duration = Duration::from_secs(10);

/// A `kB` field of `/proc/<pid>/<file>`, e.g. `VmRSS` of `status` or `Pss` of `smaps_rollup`.
fn kib(pid: u32, file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Memory of the app and of its WebKit helpers, in MiB: RSS (counts shared libraries in
/// full, in every process) and PSS (shares them out, so the two parts add up honestly).
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    app_rss: f64,
    app_pss: f64,
    webview_rss: f64,
    webview_pss: f64,
}

fn memory(app_pid: u32) -> Memory {
    let helpers: Vec<u32> = all_processes()
        .into_iter()
        .filter(|p| p.pgid == app_pid && p.pid != app_pid && p.comm.starts_with("WebKit"))
        .map(|p| p.pid)
        .collect();
    let sum = |file: &str, field: &str| -> f64 {
        helpers
            .iter()
            .filter_map(|&p| kib(p, file, field))
            .sum::<u64>() as f64
            / 1024.0
    };
    let own = |file: &str, field: &str| kib(app_pid, file, field).unwrap_or(0) as f64 / 1024.0;
    Memory {
        app_rss: own("status", "VmRSS"),
        app_pss: own("smaps_rollup", "Pss"),
        webview_rss: sum("status", "VmRSS"),
        webview_pss: sum("smaps_rollup", "Pss"),
    }
}

/// Outages in the alert measurement.
const OUTAGES: usize = 10;

/// Milliseconds, per outage: failing check → critical notification in dunst, → alarm stream
/// in PulseAudio, and Acknowledge → stream gone.
#[derive(Debug, Default)]
struct AlertTimes {
    notified: Vec<f64>,
    ringing: Vec<f64>,
    silenced: Vec<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The person on call, a critical monitor, and `OUTAGES` outages, each acknowledged from the
/// notification's own button. Times are seen by polling `dunstctl` and `pactl`, whose own run
/// time (a few ms) is included: they are upper bounds.
fn alert_times(bin: &std::path::Path, rt: &tokio::runtime::Runtime) -> Result<AlertTimes> {
    let desktop = Desktop::start_with(DesktopOptions {
        notification_timeout: Duration::from_secs(60),
        ..DesktopOptions::default()
    })?;
    let pulse = PulseAudio::start()?;
    let target = rt.block_on(Target::start())?;
    let config = write_oncall_config(desktop.dir(), "Alice Smith", "Checkout", &target.url())?;
    let app = AppProcess::spawn(
        &desktop,
        &AppLaunch::new(bin)
            .env("FOGHORN_CONFIG", config.display().to_string())
            .env(
                "FOGHORN_DATA_DIR",
                desktop.dir().join("data").display().to_string(),
            )
            .env("PULSE_SERVER", pulse.server()),
    )?;
    let streams = || -> Result<usize> {
        Ok(pulse
            .sink_inputs()?
            .iter()
            .filter(|s| s.pid == Some(app.pid()))
            .count())
    };
    let alerts = || -> Result<usize> {
        Ok(desktop
            .notifications()?
            .iter()
            .filter(|n| n.summary == "Checkout is down" && n.urgency.as_deref() == Some("CRITICAL"))
            .count())
    };
    let mut times = AlertTimes::default();
    let limit = Duration::from_secs(30);
    for _ in 0..OUTAGES {
        // Up: the first healthy check, or the recovery the last round waited for.
        wait_until(limit, "the first check", || {
            Ok((target.requests() > 0).then_some(()))
        })?;
        let before = alerts()?;
        target.set_healthy(false);
        wait_until(limit, "the critical notification", || {
            Ok((alerts()? > before).then_some(()))
        })?;
        let failed = target.first_failure().context("a failing check")?;
        times.notified.push(ms(failed.elapsed()));
        wait_until(limit, "the alarm stream", || {
            Ok((streams()? > 0).then_some(()))
        })?;
        times.ringing.push(ms(failed.elapsed()));
        desktop.invoke_notification_action("Acknowledge")?;
        let pressed = Instant::now();
        wait_until(limit, "silence", || Ok((streams()? == 0).then_some(())))?;
        times.silenced.push(ms(pressed.elapsed()));
        // Back up, resolved ("Resolved: …" notification), and the screen cleared for the next.
        target.set_healthy(true);
        wait_until(limit, "the incident resolved", || {
            Ok(desktop
                .notifications()?
                .iter()
                .any(|n| n.summary.starts_with("Resolved") && !n.in_history)
                .then_some(()))
        })?;
        desktop.close_notifications()?;
    }
    Ok(times)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let bin = std::env::var_os("FOGHORN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/release/foghorn"));
    let size = std::fs::metadata(&bin)
        .with_context(|| format!("{}: build it with `make release`", bin.display()))?
        .len();
    let rt = tokio::runtime::Runtime::new()?;
    let mut starts = Vec::new();
    let mut closed = Memory::default();
    let mut open = Memory::default();
    for run in 0..RUNS {
        let desktop = Desktop::start()?;
        let began = Instant::now();
        let app = AppProcess::spawn(&desktop, &AppLaunch::new(&bin))?;
        wait_until(Duration::from_secs(60), "the tray icon", || {
            Ok((!desktop.sni_items().is_empty()).then_some(()))
        })?;
        starts.push(began.elapsed().as_secs_f64() * 1000.0);
        if run == 0 {
            std::thread::sleep(SETTLE);
            closed = memory(app.pid());
            rt.block_on(async {
                let tray = Tray::find(&desktop, "foghorn", Duration::from_secs(10)).await?;
                tray.click("Open Foghorn").await
            })?;
            desktop.wait_for_window("^Foghorn$", Duration::from_secs(30))?;
            std::thread::sleep(SETTLE);
            open = memory(app.pid());
        }
    }
    let alert = alert_times(&bin, &rt)?;
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| release binary size | {:.1} MiB ({size} bytes) |",
        size as f64 / 1048576.0
    );
    println!(
        "| cold start to tray icon (median of {RUNS}) | {:.0} ms (min {:.0}, max {:.0}) |",
        median(starts.clone()),
        starts.iter().copied().fold(f64::MAX, f64::min),
        starts.iter().copied().fold(0.0, f64::max)
    );
    for (state, m) in [("closed", closed), ("open", open)] {
        println!(
            "| idle memory, window {state}: app process | RSS {:.1} MiB, PSS {:.1} MiB |",
            m.app_rss, m.app_pss
        );
        println!(
            "| idle memory, window {state}: WebKit processes | RSS {:.1} MiB, PSS {:.1} MiB |",
            m.webview_rss, m.webview_pss
        );
    }
    let spread = |v: &[f64]| {
        format!(
            "median {:.0} ms (min {:.0}, max {:.0})",
            median(v.to_vec()),
            v.iter().copied().fold(f64::MAX, f64::min),
            v.iter().copied().fold(0.0, f64::max)
        )
    };
    println!();
    println!("On call, {OUTAGES} outages of a critical monitor (`failure_threshold = 1`), each acknowledged with the notification's own *Acknowledge* button (pressed through dunst's context menu):");
    println!();
    println!("| measure | target | measured | verdict |");
    println!("|---|---|---|---|");
    let verdict = |v: &[f64], limit: f64| {
        if v.iter().all(|&x| x < limit) {
            "pass"
        } else {
            "**miss**"
        }
    };
    println!(
        "| failing check → critical notification in dunst | < 1 s | {} | {} |",
        spread(&alert.notified),
        verdict(&alert.notified, 1000.0)
    );
    println!(
        "| failing check → alarm stream in PulseAudio | < 1 s | {} | {} |",
        spread(&alert.ringing),
        verdict(&alert.ringing, 1000.0)
    );
    println!(
        "| Acknowledge → alarm stream gone | < 500 ms | {} | {} |",
        spread(&alert.silenced),
        verdict(&alert.silenced, 500.0)
    );
    Ok(())
}
