//! The customer letter from the window (the founder view): the draft kept as it is typed, a
//! preview per customer, a test to the founder's own address, and the send itself — started
//! after an explicit confirm, paused, resumed and cancelled, its progress read from the
//! ledger the command line shares.

use foghorn_core::letter::desk::{
    Desk, LetterDraft, LetterOverview, LetterPreview, LetterProgress, TestSent,
};
use tauri::State;

use crate::error::Result;

/// The founder view's start: `[smtp]` as the confirm step shows it, the draft (or the
/// starting template), and the letters not finished.
#[tauri::command]
pub async fn get_letter_overview(desk: State<'_, Desk>) -> Result<LetterOverview> {
    Ok(desk.overview().await?)
}

/// Keeps the draft as typed (the window calls this a second after typing stops).
#[tauri::command]
pub async fn save_letter_draft(desk: State<'_, Desk>, draft: LetterDraft) -> Result<()> {
    Ok(desk.save_draft(&draft).await?)
}

/// The letter as the customer at `index` will read it, and what the list holds.
#[tauri::command]
pub async fn preview_letter(
    desk: State<'_, Desk>,
    draft: LetterDraft,
    index: u64,
) -> Result<LetterPreview> {
    Ok(desk.preview(draft, index).await?)
}

/// The customer at `index`'s letter to `to` only, marked `[Test]`; the server's reply.
#[tauri::command]
pub async fn send_test_letter(
    desk: State<'_, Desk>,
    draft: LetterDraft,
    index: u64,
    to: String,
) -> Result<TestSent> {
    Ok(desk.send_test(draft, index, to).await?)
}

/// The confirmed send: every row checked, the ledger written, the send started. `expected`
/// is the count the founder confirmed (a list that changed since is refused).
#[tauri::command]
pub async fn start_letter(
    desk: State<'_, Desk>,
    draft: LetterDraft,
    expected: Option<u64>,
) -> Result<LetterProgress> {
    Ok(desk.start(draft, expected).await?)
}

#[tauri::command]
pub async fn get_letter_progress(desk: State<'_, Desk>, id: i64) -> Result<LetterProgress> {
    Ok(desk.progress(id)?)
}

#[tauri::command]
pub async fn pause_letter(desk: State<'_, Desk>, id: i64) -> Result<LetterProgress> {
    Ok(desk.pause(id).await?)
}

#[tauri::command]
pub async fn resume_letter(desk: State<'_, Desk>, id: i64) -> Result<LetterProgress> {
    Ok(desk.resume(id).await?)
}

#[tauri::command]
pub async fn cancel_letter(desk: State<'_, Desk>, id: i64) -> Result<LetterProgress> {
    Ok(desk.cancel(id).await?)
}
