//! What every way of running the engine shares: logging, finding the configuration (or the
//! demo), and opening the database (or falling back to memory) — each problem turned into one
//! clear message instead of a crash.

use std::path::{Path, PathBuf};

use foghorn_core::config::{self, Config, ConfigError};
use foghorn_core::demo;
use std::sync::Arc;

use foghorn_core::alarm::{Alarm, AlarmState};
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::engine_lock::{EngineLock, EngineLockError};
use foghorn_core::oncall::OncallService;

use crate::alarm::RodioPlayer;
use foghorn_core::paths;
use foghorn_core::secret::Confidential;
use foghorn_core::store::{Store, StoreError};

/// Logs go to stderr; `FOGHORN_LOG` (or `RUST_LOG`) sets the filter, default `info`.
pub fn init_logging() {
    let filter = std::env::var("FOGHORN_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, never in files or CI logs.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Where the configuration is, and whether a missing file means the demo: only the default
/// location may be missing; a file the user named explicitly must exist.
pub(crate) fn locate(
    explicit: Option<&Path>,
) -> (Option<PathBuf>, Result<Option<Config>, ConfigError>) {
    let explicit = explicit.map(ToOwned::to_owned).or_else(|| {
        std::env::var_os("FOGHORN_CONFIG")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    });
    let named = explicit.is_some();
    let Some(path) = explicit.or_else(|| config::resolve_path(None)) else {
        return (None, Ok(None));
    };
    let loaded = match Config::load(&path) {
        Ok(c) => Ok(Some(c)),
        Err(ConfigError::NotFound(_)) if !named => Ok(None),
        Err(e) => Err(e),
    };
    (Some(path), loaded)
}

/// Starts the demo's flaky endpoint on this runtime; returns its configuration and text.
fn start_demo() -> Result<(Config, String), String> {
    let addr = demo::spawn(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        demo::Flakiness::default(),
    )
    .map_err(|e| format!("cannot start the demo endpoint on 127.0.0.1: {e}"))?;
    tracing::info!(%addr, "demo: serving a flaky endpoint");
    let data_dir = paths::data_dir();
    let config = demo::config(addr, data_dir.as_deref()).map_err(|e| e.to_string())?;
    Ok((config, demo::config_text(addr, data_dir.as_deref())))
}

/// Opens the database in the data dir; if that fails, an in-memory one and a notice saying
/// history is not being kept.
fn open_store(notices: &mut Vec<String>) -> Result<Store, StoreError> {
    let opened = match paths::data_dir() {
        Some(dir) => Store::open(&dir).map_err(|e| e.to_string()),
        None => Err("no data directory: set FOGHORN_DATA_DIR".to_owned()),
    };
    match opened {
        Ok(store) => Ok(store),
        Err(e) => {
            tracing::error!(error = %e, "falling back to an in-memory database");
            notices.push(format!(
                "History is not being saved: {e}. Foghorn keeps working from memory."
            ));
            Store::in_memory()
        }
    }
}

/// Everything the engine needs, found and opened.
#[derive(Debug)]
pub struct Prepared {
    pub config: Config,
    pub store: Store,
    pub options: EngineOptions,
    pub file: ConfigFile,
    /// The loud alarm the engine rings through.
    pub alarm: Arc<Alarm>,
    /// The data directory, locked for this engine: keep it for the engine's life.
    pub lock: Option<EngineLock>,
}

/// Where the window's editor reads and writes monitors.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// The file in use, or, for the demo, where its first save creates one; `None` when
    /// there is no configuration directory at all.
    pub path: Option<PathBuf>,
    /// The demo configuration's text while the demo runs.
    pub demo_text: Option<String>,
}

/// Finds the configuration (or starts the demo) and opens the database. Must run inside the
/// tokio runtime (the demo endpoint is served on it). With `tolerate_bad_config`, a broken
/// file starts an engine with nothing to monitor and a notice saying what is wrong — the tray
/// app's choice, since it has a window to say so; the headless engine refuses to start.
///
/// Another engine on the same data directory is refused first, before anything is opened or
/// served: the headless engine returns the message; the app starts with nothing to monitor, an
/// in-memory database and a notice saying so.
pub fn prepare(explicit: Option<&Path>, tolerate_bad_config: bool) -> Result<Prepared, String> {
    let mut notices = Vec::new();
    let lock = match paths::data_dir().map(|dir| EngineLock::acquire(&dir)) {
        None => None,
        Some(Ok(lock)) => Some(lock),
        Some(Err(e @ EngineLockError::Held { .. })) if tolerate_bad_config => {
            tracing::error!(error = %e, "not starting a second engine");
            notices.push(format!(
                "Foghorn is not monitoring: {e}. Quit this app or stop the other engine, then start Foghorn again."
            ));
            return without_engine(notices);
        }
        Some(Err(e @ EngineLockError::Held { .. })) => return Err(format!("foghorn: {e}")),
        Some(Err(e)) => {
            // The outbox's per-message claim still keeps messages from going out twice.
            tracing::warn!(error = %e, "running without the data directory lock");
            None
        }
    };
    let mut demo = false;
    let mut config_failed = false;
    let (path, loaded) = locate(explicit);
    let mut file = ConfigFile {
        path: path.clone(),
        demo_text: None,
    };
    let config = match loaded {
        Ok(Some(config)) => {
            let shown = path.as_deref().unwrap_or(Path::new("")).display();
            tracing::info!(config = %shown, monitors = config.monitors.len(), "configuration loaded");
            config
        }
        Ok(None) => {
            tracing::info!("no configuration file: running the demo configuration");
            demo = true;
            let (config, text) = start_demo()?;
            file.demo_text = Some(text);
            config
        }
        Err(e) if tolerate_bad_config => {
            tracing::error!(error = %e, "configuration not usable");
            notices.push(format!(
                "Configuration error — nothing is monitored until it is fixed: {e}"
            ));
            config_failed = true;
            Config::default()
        }
        Err(e) => return Err(e.to_string()),
    };
    let store = open_store(&mut notices).map_err(|e| format!("foghorn: {e}"))?;
    let oncall = oncall_service(&config, path.as_deref(), &store);
    let alarm = loud_alarm(&config);
    Ok(Prepared {
        config,
        store,
        options: EngineOptions {
            demo,
            config_failed,
            notices,
            oncall: Some(oncall),
            ringer: Some(alarm.clone()),
            ..EngineOptions::default()
        },
        file,
        alarm,
        lock,
    })
}

/// The alarm with the configured sounds, played through the desktop's audio output.
fn loud_alarm(config: &Config) -> Arc<Alarm> {
    Arc::new(Alarm::new(
        Arc::new(RodioPlayer::new()),
        foghorn_core::alarm::AlarmSettings::from_config(&config.alarm),
    ))
}

/// The app's answer to a data directory another engine holds: nothing monitored, nothing
/// written to that directory, the notices shown in the window.
fn without_engine(notices: Vec<String>) -> Result<Prepared, String> {
    let config = Config::default();
    let store = Store::in_memory().map_err(|e| format!("foghorn: {e}"))?;
    let alarm = loud_alarm(&config);
    Ok(Prepared {
        config,
        store,
        options: EngineOptions {
            notices,
            ringer: Some(alarm.clone()),
            ..EngineOptions::default()
        },
        file: ConfigFile::default(),
        alarm,
        lock: None,
    })
}

/// The on-call schedule, refreshed in the background; a relative calendar path is read from
/// the configuration file's directory.
fn oncall_service(config: &Config, path: Option<&Path>, store: &Store) -> Arc<OncallService> {
    let mut oncall = config.oncall.clone();
    if let (Some(oncall), Some(path)) = (oncall.as_mut(), path) {
        if let Some(Confidential::Clear(calendar)) = &mut oncall.calendar {
            *calendar = foghorn_core::oncall::resolve_calendar(calendar, path);
        }
    }
    let service = Arc::new(OncallService::new(
        oncall,
        &config.feeds,
        config.me.clone(),
        store.clone(),
    ));
    Arc::clone(&service).spawn();
    service
}

/// Tells the user once when the alarm cannot make a sound: the window and tray still show it.
pub fn report_silent_alarm(alarm: &Alarm, engine: &Engine) {
    let mut states = alarm.subscribe();
    let engine = engine.clone();
    tokio::spawn(async move {
        while states.changed().await.is_ok() {
            let state = states.borrow_and_update().clone();
            if let AlarmState::Unavailable(reason) = state {
                engine.add_notice(format!(
                    "The alarm cannot make a sound ({reason}). Alarms show here and in the tray only."
                ));
                return;
            }
        }
    });
}
