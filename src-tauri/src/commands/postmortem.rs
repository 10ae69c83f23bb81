//! The postmortem editor from the window: open an incident's postmortem (drafted from the
//! evidence the first time), autosave the text, preview it, link another incident, draft it
//! again, go back to a revision, see the charts and export it.

use foghorn_core::postmortem::charts::Chart;
use foghorn_core::postmortem::desk::{
    export_dir, ExportFormat, PostmortemDesk, PostmortemSaved, PostmortemView, RevisionText,
};
use tauri::State;

use crate::error::{IpcError, IpcErrorCode, Result};

/// The postmortem covering `incident`; drafted now if it has none.
#[tauri::command]
pub async fn open_postmortem(
    desk: State<'_, PostmortemDesk>,
    incident: i64,
) -> Result<PostmortemView> {
    Ok(desk.open(incident).await?)
}

/// Keeps the text as typed; refused when a corrected time puts the timeline out of order.
#[tauri::command]
pub async fn save_postmortem(
    desk: State<'_, PostmortemDesk>,
    id: i64,
    body: String,
) -> Result<PostmortemSaved> {
    Ok(desk.save(id, body).await?)
}

/// The Markdown rendered as the preview shows it (raw HTML is shown as text).
#[tauri::command]
pub fn preview_postmortem(body: String) -> String {
    foghorn_core::postmortem::desk::preview(&body)
}

/// Adds an incident and drafts the document again from all of them.
#[tauri::command]
pub async fn link_postmortem(
    desk: State<'_, PostmortemDesk>,
    id: i64,
    incident: i64,
) -> Result<PostmortemView> {
    Ok(desk.link(id, incident).await?)
}

/// Drafts the document again from the evidence; the replaced text stays a revision.
#[tauri::command]
pub async fn redraft_postmortem(
    desk: State<'_, PostmortemDesk>,
    id: i64,
) -> Result<PostmortemView> {
    Ok(desk.redraft(id).await?)
}

#[tauri::command]
pub fn get_postmortem_revision(
    desk: State<'_, PostmortemDesk>,
    id: i64,
    revision: i64,
) -> Result<RevisionText> {
    Ok(desk.revision(id, revision)?)
}

#[tauri::command]
pub async fn restore_postmortem(
    desk: State<'_, PostmortemDesk>,
    id: i64,
    revision: i64,
) -> Result<PostmortemView> {
    Ok(desk.restore(id, revision).await?)
}

/// The availability and latency charts around the outage, as the exports embed them.
#[tauri::command]
pub async fn get_postmortem_charts(desk: State<'_, PostmortemDesk>, id: i64) -> Result<Vec<Chart>> {
    let desk = desk.inner().clone();
    Ok(tauri::async_runtime::spawn_blocking(move || desk.charts(id)).await??)
}

/// Writes the document as it stands (Markdown, or self-contained HTML with the charts) into
/// the documents folder's `Foghorn`; returns the file's path for the window to show.
#[tauri::command]
pub async fn export_postmortem(
    desk: State<'_, PostmortemDesk>,
    id: i64,
    format: ExportFormat,
) -> Result<String> {
    let dir = export_dir().ok_or_else(|| {
        IpcError::new(
            IpcErrorCode::Io,
            "this system names no home folder to export into",
        )
    })?;
    let desk = desk.inner().clone();
    let path =
        tauri::async_runtime::spawn_blocking(move || desk.export(id, format, &dir)).await??;
    Ok(path.display().to_string())
}
