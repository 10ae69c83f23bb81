//! The window's view of monitoring: the snapshot, mute and pause.

use foghorn_core::config::edit::ConfigFile;
use foghorn_core::engine::Engine;
use foghorn_core::event::Snapshot;
use foghorn_core::monitor::MonitorView;
use foghorn_core::mute::{Mute, MuteChoice};
use tauri::State;

use crate::error::Result;

#[tauri::command]
pub fn get_snapshot(engine: State<'_, Engine>, file: State<'_, ConfigFile>) -> Result<Snapshot> {
    let mut snapshot = engine.snapshot()?;
    // The demo ends with the first monitor saved from the window.
    snapshot.demo &= file.demo();
    Ok(snapshot)
}

#[tauri::command]
pub async fn set_mute(engine: State<'_, Engine>, choice: MuteChoice) -> Result<Mute> {
    Ok(engine.set_mute(choice).await?)
}

/// Pauses or resumes one monitor (by id); returns it as it is now.
#[tauri::command]
pub async fn set_monitor_paused(
    engine: State<'_, Engine>,
    id: String,
    paused: bool,
) -> Result<MonitorView> {
    Ok(engine.set_monitor_paused(&id, paused).await?)
}

#[tauri::command]
pub async fn set_paused(engine: State<'_, Engine>, paused: bool) -> Result<bool> {
    Ok(engine.set_paused(paused).await?)
}
