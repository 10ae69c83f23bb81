//! `foghorn heartbeats`: each heartbeat monitor with the command its job runs to ping it,
//! token included — `[heartbeats] token`, or the token generated on first use and kept in the
//! database (made here if the app has not made it yet, so the job can be set up first).

use std::path::Path;
use std::process::ExitCode;

use foghorn_core::config::{self, Config};
use foghorn_core::heartbeat::curl_line;
use foghorn_core::paths;
use foghorn_core::secret::{SecretSource, SystemSecrets};
use foghorn_core::store::Store;

pub fn list(config_path: Option<&Path>) -> ExitCode {
    match lines(config_path) {
        Ok(lines) if lines.is_empty() => {
            println!("No heartbeat monitors.");
            ExitCode::SUCCESS
        }
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("foghorn: {e}");
            ExitCode::from(1)
        }
    }
}

fn lines(config_path: Option<&Path>) -> Result<Vec<String>, String> {
    let path = config::resolve_path(config_path)
        .ok_or("no configuration file given and no OS config directory; use --config PATH")?;
    let config = Config::load(&path).map_err(|e| e.to_string())?;
    let monitors: Vec<_> = config
        .monitors
        .iter()
        .filter(|m| m.heartbeat.is_some())
        .collect();
    if monitors.is_empty() {
        return Ok(Vec::new());
    }
    let token = match &config.heartbeats.token {
        Some(secret) => SystemSecrets
            .resolve(secret)
            .map_err(|e| format!("[heartbeats] token: {e}"))?,
        None => {
            let dir = paths::data_dir().ok_or("no data directory: set FOGHORN_DATA_DIR")?;
            let store = Store::open(&dir).map_err(|e| e.to_string())?;
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?
                .block_on(store.heartbeat_token())
                .map_err(|e| format!("the heartbeat token: {e}"))?
        }
    };
    Ok(monitors
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.name(),
                curl_line(config.heartbeats.listen, &token, m.id().as_str())
            )
        })
        .collect())
}
