//! Status updates from the window: the composer's setup, a draft's preview, Publish, each
//! destination's receipt, retrying one, and opening the self-hosted page; and the support
//! queue: an incident's conversations and one action to answer them.

use foghorn_core::engine::{Engine, Published, StatusOverview, StatusSetup, SupportQueue};
use foghorn_core::status::compose::{DraftInput, Preview};
use foghorn_core::status::Destination;
use tauri::State;

use crate::error::{IpcError, IpcErrorCode, Result};

/// `[status]` as the composer needs it; `null` when status updates are not configured.
#[tauri::command]
pub fn get_status_setup(engine: State<'_, Engine>) -> Option<StatusSetup> {
    engine.status_setup()
}

/// The draft filled in (components from failing monitors, the state's template), checked
/// against the monitors, with each destination's text.
#[tauri::command]
pub fn preview_status(engine: State<'_, Engine>, draft: DraftInput) -> Result<Preview> {
    Ok(engine.preview_status(draft)?)
}

#[tauri::command]
pub async fn publish_status(engine: State<'_, Engine>, draft: DraftInput) -> Result<Published> {
    Ok(engine.publish_status(draft).await?)
}

#[tauri::command]
pub fn get_status_overview(engine: State<'_, Engine>, incident: i64) -> Result<StatusOverview> {
    Ok(engine.status_overview(incident)?)
}

#[tauri::command]
pub async fn retry_status(
    engine: State<'_, Engine>,
    update: i64,
    destination: Destination,
) -> Result<bool> {
    Ok(engine.retry_status(update, destination).await?)
}

/// Opens the self-hosted page in the default browser. The path comes from the
/// configuration, never from the window.
#[tauri::command]
pub fn open_status_page(engine: State<'_, Engine>) -> Result<()> {
    let page = engine.status_setup().and_then(|s| s.page).ok_or_else(|| {
        IpcError::new(
            IpcErrorCode::NotFound,
            "no self-hosted page is configured ([status.page])",
        )
    })?;
    if !std::path::Path::new(&page).is_file() {
        return Err(IpcError::new(
            IpcErrorCode::NotFound,
            format!("{page} is not written yet: publish an update first"),
        ));
    }
    open::that_detached(&page)
        .map_err(|e| IpcError::new(IpcErrorCode::Io, format!("cannot open {page}: {e}")))
}

/// The incident's support queue from the helpdesk, now; `null` without `[intercom]`.
#[tauri::command]
pub async fn get_support_queue(
    engine: State<'_, Engine>,
    incident: i64,
) -> Result<Option<SupportQueue>> {
    if !engine.support_configured() {
        return Ok(None);
    }
    Ok(Some(engine.support_queue(incident).await?))
}

/// Replies to every unanswered conversation (or follows up once resolved); how many went
/// into the outbox.
#[tauri::command]
pub async fn send_support_replies(engine: State<'_, Engine>, incident: i64) -> Result<u32> {
    Ok(engine.support_send(incident).await?)
}
