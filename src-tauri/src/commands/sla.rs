//! The SLA report in the window (the founder view): a month per plan and component, its
//! daily chart, the credits owed to the customers on a list, and the goodwill candidates.

use foghorn_core::sla::view::{SlaDesk, SlaView};
use tauri::State;

use crate::error::Result;

/// The report of `month` (`YYYY-MM`); `customers` is a customer list's path, or empty.
#[tauri::command]
pub async fn get_sla_report(
    desk: State<'_, SlaDesk>,
    month: String,
    customers: String,
) -> Result<SlaView> {
    let desk = desk.inner().clone();
    // The report reads a month of checks: off the async runtime's threads.
    Ok(tauri::async_runtime::spawn_blocking(move || desk.month(&month, &customers)).await??)
}
