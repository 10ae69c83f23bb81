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
    Ok(())
}
