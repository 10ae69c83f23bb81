//! `make bench` (app part): release binary size, cold start to tray icon, and idle memory of
//! the app and its webview processes with the window closed and open. Runs the real binary
//! on an isolated desktop, like the end-to-end tests; prints a Markdown table.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use foghorn_e2e::process::all_processes;
use foghorn_e2e::{wait_until, workspace_root, AppLaunch, AppProcess, Desktop, Tray};

const RUNS: usize = 5;
/// Idle memory is read after the app has had this long to settle (GC, lazy loading).
const SETTLE: Duration = Duration::from_secs(10);

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// (main process RSS, sum of the WebKit helper processes' RSS), in MiB.
fn memory(app_pid: u32) -> (f64, f64) {
    let main = rss_kib(app_pid).unwrap_or(0);
    let webview: u64 = all_processes()
        .into_iter()
        .filter(|p| p.pgid == app_pid && p.pid != app_pid && p.comm.starts_with("WebKit"))
        .filter_map(|p| rss_kib(p.pid))
        .sum();
    (main as f64 / 1024.0, webview as f64 / 1024.0)
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
    let mut closed = (0.0, 0.0);
    let mut open = (0.0, 0.0);
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
    println!(
        "| idle RSS, window closed: app / webview processes | {:.1} MiB / {:.1} MiB |",
        closed.0, closed.1
    );
    println!(
        "| idle RSS, window open: app / webview processes | {:.1} MiB / {:.1} MiB |",
        open.0, open.1
    );
    Ok(())
}
