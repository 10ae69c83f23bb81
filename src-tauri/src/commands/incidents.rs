//! Incidents from the window: one incident's detail, and acting on it.

use foghorn_core::engine::Engine;
use foghorn_core::incident::{IncidentAction, IncidentDetail, IncidentView};
use foghorn_core::store::Store;
use tauri::State;

use crate::error::{IpcError, IpcErrorCode, Result};

/// The incident with its signals and timeline, read off the main thread.
#[tauri::command]
pub async fn get_incident(store: State<'_, Store>, id: i64) -> Result<IncidentDetail> {
    let store = store.inner().clone();
    tauri::async_runtime::spawn_blocking(move || store.incident_detail(id))
        .await
        .map_err(|e| {
            IpcError::new(
                IpcErrorCode::Internal,
                format!("reading the incident stopped: {e}"),
            )
        })??
        .ok_or_else(|| IpcError::new(IpcErrorCode::NotFound, format!("there is no incident {id}")))
}

/// Acknowledge, resolve, snooze or take an incident, as the person at this machine.
#[tauri::command]
pub async fn act_on_incident(
    engine: State<'_, Engine>,
    id: i64,
    action: IncidentAction,
) -> Result<IncidentView> {
    Ok(engine.act(id, action).await?)
}

/// "Skip" the next escalation step, or make it due now ("Escalate now").
#[tauri::command]
pub async fn ladder_action(engine: State<'_, Engine>, id: i64, skip: bool) -> Result<()> {
    Ok(engine.ladder_action(id, skip).await?)
}
