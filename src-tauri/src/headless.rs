//! `foghorn run --headless` and `foghorn demo-target`: the engine (or the demo endpoint) on
//! a tokio runtime of its own, no display needed, stopped cleanly by SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use foghorn_core::demo;
use foghorn_core::engine::Engine;
use foghorn_core::notify::LogNotifier;

use crate::cli::Cli;
use crate::startup;

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("foghorn: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

pub fn run(cli: &Cli) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let prepared = match startup::prepare(cli.config.as_deref(), false) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let alarm = prepared.alarm.clone();
        // Held until this engine stops: a second engine on the data directory is refused.
        let _lock = prepared.lock;
        let engine = match Engine::start(
            prepared.config,
            prepared.store,
            Arc::new(LogNotifier),
            prepared.options,
        ) {
            Ok(engine) => engine,
            Err(e) => {
                eprintln!("foghorn: {e}");
                return ExitCode::FAILURE;
            }
        };
        startup::report_silent_alarm(&alarm, &engine);
        let signal = wait_for_signal().await;
        tracing::info!(%signal, "stopping");
        engine.shutdown().await;
        ExitCode::SUCCESS
    })
}

pub fn demo_target(listen: SocketAddr, up: Duration, down: Duration) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        match demo::spawn(listen, demo::Flakiness { up, down }) {
            Ok(addr) => {
                println!(
                    "Serving a flaky endpoint on http://{addr}/health: 200 for {}, then 503 for {}, in turns.",
                    humantime::format_duration(up),
                    humantime::format_duration(down)
                );
                wait_for_signal().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("foghorn: cannot listen on {listen}: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Waits for Ctrl-C or (on Unix) SIGTERM and names which arrived.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
