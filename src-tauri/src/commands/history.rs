//! A monitor's history for the window: uptime per window and the latency series.

use foghorn_core::store::{MonitorHistory, Store};
use tauri::State;
use time::OffsetDateTime;

use crate::error::{IpcError, IpcErrorCode, Result};

/// Reads on a blocking thread: a synchronous command would run on the main thread and hold
/// up the window while SQLite works.
#[tauri::command]
pub async fn get_monitor_history(store: State<'_, Store>, id: String) -> Result<MonitorHistory> {
    let store = store.inner().clone();
    let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    tauri::async_runtime::spawn_blocking(move || store.monitor_history(&id, now_ms))
        .await
        .map_err(|e| {
            IpcError::new(
                IpcErrorCode::Internal,
                format!("reading the history stopped: {e}"),
            )
        })?
        .map_err(IpcError::from)
}
