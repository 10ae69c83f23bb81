//! The monitor and escalation editors: a monitor read back from the configuration file,
//! conditions checked as they are typed, one check of a draft, and the file written back
//! (`foghorn_core::config::edit::ConfigFile` keeps the file's state). The file stays the
//! source of truth: the engine only ever runs what the file now says.

use foghorn_core::check::{CheckResult, Clients, Probe};
use foghorn_core::config::edit::{
    self, ConditionProblem, ConfigFile, EditorLimits, EscalationDraft, MonitorDraft,
};
use foghorn_core::config::MonitorConfig;
use foghorn_core::engine::Engine;
use foghorn_core::monitor::MonitorId;
use tauri::State;

use crate::error::{IpcError, IpcErrorCode, Result};

/// The monitor with this id as the editor shows it; without an id, a new monitor's
/// defaults. Opening the editor is where an edit starts: the file is read again here.
#[tauri::command]
pub async fn get_monitor_draft(
    file: State<'_, ConfigFile>,
    id: Option<String>,
) -> Result<MonitorDraft> {
    let file = file.inner().clone();
    blocking(move || file.monitor_draft(id.as_deref())).await
}

/// The bounds the loader puts on a monitor, for the editor's early checks.
#[tauri::command]
pub fn get_editor_limits() -> EditorLimits {
    EditorLimits::get()
}

/// `null` when the condition parses, else what is wrong and where.
#[tauri::command]
pub fn validate_condition(text: String) -> Option<ConditionProblem> {
    edit::validate_condition(&text).err()
}

/// One check of the draft as it would run once saved, like `foghorn check`.
#[tauri::command]
pub async fn test_monitor(draft: MonitorDraft) -> Result<CheckResult> {
    let monitor = edit::monitor_to_test(&draft)?;
    Ok(Probe::from_monitor(&monitor).run(&Clients::default()).await)
}

/// Saves the draft, as a new monitor or in place of `original` (its id or name), and runs
/// the file's monitors from then on. Returns the saved monitor's id.
#[tauri::command]
pub async fn save_monitor(
    file: State<'_, ConfigFile>,
    engine: State<'_, Engine>,
    original: Option<String>,
    draft: MonitorDraft,
) -> Result<String> {
    let id = MonitorId::from_name(&draft.name).to_string();
    let file = file.inner().clone();
    let edited = blocking(move || file.save_monitor(original.as_deref(), &draft)).await?;
    apply(&engine, edited.config.monitors)?;
    Ok(id)
}

/// Deletes the monitor with this id from the file and stops it.
#[tauri::command]
pub async fn delete_monitor(
    file: State<'_, ConfigFile>,
    engine: State<'_, Engine>,
    id: String,
) -> Result<()> {
    let file = file.inner().clone();
    let edited = blocking(move || file.delete_monitor(&id)).await?;
    apply(&engine, edited.config.monitors)
}

/// The escalation ladder as the file has it (the defaults when it has none). Opening the
/// settings page is where an edit starts: the file is read again here.
#[tauri::command]
pub async fn get_escalation_draft(file: State<'_, ConfigFile>) -> Result<EscalationDraft> {
    let file = file.inner().clone();
    blocking(move || file.escalation_draft()).await
}

/// Writes the ladder into the file and uses it from the next incident on, without a
/// restart. Returns the ladder as the file now has it.
#[tauri::command]
pub async fn save_escalation(
    file: State<'_, ConfigFile>,
    engine: State<'_, Engine>,
    draft: EscalationDraft,
) -> Result<EscalationDraft> {
    let file = file.inner().clone();
    let (edited, ended_demo) = blocking(move || file.save_escalation(&draft)).await?;
    let saved = edit::read_escalation(&edited.text)?;
    engine.set_escalation(edited.config.escalation);
    if ended_demo {
        // The engine runs what the file says: the demo's monitor is not in it.
        apply(&engine, edited.config.monitors)?;
    }
    Ok(saved)
}

/// Hands the file's monitors to the running engine, which restarts only those that changed.
fn apply(engine: &Engine, monitors: Vec<MonitorConfig>) -> Result<()> {
    Ok(engine.reconfigure(monitors)?)
}

/// File work off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> edit::Result<T> + Send + 'static,
) -> Result<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| {
            IpcError::new(
                IpcErrorCode::Internal,
                format!("the save did not finish: {e}"),
            )
        })?
        .map_err(IpcError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal about one field reaches the window with the field apart from the message,
    /// so the window never reads a field's name out of a sentence.
    #[test]
    fn a_draft_refusal_carries_its_field_apart_from_the_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn.toml");
        std::fs::write(
            &path,
            "[[monitors]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n",
        )
        .expect("write");
        let file = ConfigFile::new(Some(path), None);
        let mut draft = file.escalation_draft().expect("open");
        draft.steps.push(edit::StepDraft {
            after: "soon".into(),
            ..edit::StepDraft::default()
        });
        let err = IpcError::from(file.save_escalation(&draft).expect_err("invalid"));
        assert_eq!(err.code, IpcErrorCode::InvalidDraft);
        assert_eq!(err.field.as_deref(), Some("steps[0].after"));
        assert!(
            err.message.starts_with("invalid duration \"soon\""),
            "{}",
            err.message
        );
        let json = serde_json::to_value(&err).expect("json");
        assert_eq!(json["code"], "invalid_draft");
        assert_eq!(json["field"], "steps[0].after");

        let err = IpcError::from(
            ConfigFile::new(None, Some(String::new()))
                .delete_monitor("demo-flaky-endpoint")
                .expect_err("refused"),
        );
        assert_eq!((err.code, err.field), (IpcErrorCode::Demo, None));
        let json =
            serde_json::to_value(IpcError::new(IpcErrorCode::ChangedOnDisk, "x")).expect("json");
        assert_eq!(json["code"], "changed_on_disk");
        assert_eq!(json["field"], serde_json::Value::Null);
    }
}
