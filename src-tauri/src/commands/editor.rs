//! The monitor editor: a monitor read back from the configuration file, conditions checked
//! as they are typed, one check of a draft, and the file written back. The file stays the
//! source of truth: the engine only ever runs what the file now says.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use foghorn_core::check::{CheckResult, Clients, Probe};
use foghorn_core::config::MonitorConfig;
use foghorn_core::config_edit::{self, ConditionProblem, Edited, EscalationDraft, MonitorDraft};
use foghorn_core::engine::Engine;
use foghorn_core::monitor::MonitorId;
use tauri::State;

use crate::error::{IpcError, Result};
use crate::startup;

/// The configuration file as the editor knows it; shared by the commands, which take turns.
#[derive(Debug, Clone)]
pub struct ConfigFile(Arc<Mutex<FileState>>);

#[derive(Debug)]
struct FileState {
    path: Option<PathBuf>,
    /// The demo's text while the demo runs: its monitor is read from here, and the first
    /// save starts a file of the user's own without it.
    demo_text: Option<String>,
    /// What the file held when the editor last read it (`Some(None)`: there was no file);
    /// a save goes ahead only while the disk still holds exactly that.
    read: Option<Option<String>>,
}

impl ConfigFile {
    pub fn new(file: startup::ConfigFile) -> Self {
        Self(Arc::new(Mutex::new(FileState {
            path: file.path,
            demo_text: file.demo_text,
            read: None,
        })))
    }

    /// Whether the window should still say the demo is running: not after the first save.
    pub fn demo(&self) -> bool {
        self.lock().demo_text.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, FileState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn draft(&self, id: Option<&str>) -> Result<MonitorDraft> {
        let mut st = self.lock();
        let on_disk = match st.path {
            Some(_) => st.reread()?,
            None => None,
        };
        let text = st.demo_text.clone().or(on_disk);
        match id {
            None => Ok(MonitorDraft::default()),
            Some(id) => Ok(config_edit::read_draft(
                text.as_deref().unwrap_or_default(),
                id,
            )?),
        }
    }

    fn upsert(&self, original: Option<String>, draft: &MonitorDraft) -> Result<Edited> {
        let mut st = self.lock();
        // The demo's monitor is not in any file: editing it starts the user's own.
        let original = original.filter(|_| st.demo_text.is_none());
        st.save(|text, path| config_edit::upsert_monitor(text, path, original.as_deref(), draft))
    }

    /// The ladder as the file has it; like opening the monitor editor, this is where an
    /// edit starts (the file is read again).
    fn escalation_draft(&self) -> Result<EscalationDraft> {
        let mut st = self.lock();
        let on_disk = match st.path {
            Some(_) => st.reread()?,
            None => None,
        };
        let text = st.demo_text.clone().or(on_disk);
        Ok(config_edit::read_escalation(
            text.as_deref().unwrap_or_default(),
        )?)
    }

    /// Writes the ladder into the file. In the demo the first save starts the user's own
    /// file, with only the ladder (and no monitors); `true` in the answer says so.
    fn save_escalation(&self, draft: &EscalationDraft) -> Result<(Edited, bool)> {
        let mut st = self.lock();
        let was_demo = st.demo_text.is_some();
        let edited = st.save(|text, path| config_edit::write_escalation(text, path, draft))?;
        Ok((edited, was_demo))
    }

    fn delete(&self, id: &str) -> Result<Edited> {
        let mut st = self.lock();
        if st.demo_text.is_some() {
            return Err(IpcError {
                code: "demo".to_owned(),
                message: "The demo monitor is not in a configuration file, so there is \
                          nothing to delete. Add a monitor of your own and the demo ends."
                    .to_owned(),
            });
        }
        st.save(|text, path| config_edit::delete_monitor(text, path, id))
    }
}

impl FileState {
    fn path(&self) -> Result<&Path> {
        self.path.as_deref().ok_or_else(|| IpcError {
            code: "no_config_path".to_owned(),
            message: "There is no configuration directory to save to: start Foghorn with \
                      --config PATH or set FOGHORN_CONFIG."
                .to_owned(),
        })
    }

    /// Reads the file now and remembers what it held: the edit starts from this text.
    fn reread(&mut self) -> Result<Option<String>> {
        let path = self.path()?.to_owned();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(IpcError {
                    code: "io".to_owned(),
                    message: format!("cannot read {}: {e}", path.display()),
                })
            }
        };
        self.read = Some(text.clone());
        Ok(text)
    }

    /// Writes `edit` in place of the text it started from; the demo ends with the first
    /// save.
    fn save(
        &mut self,
        edit: impl FnOnce(&str, &Path) -> config_edit::Result<Edited>,
    ) -> Result<Edited> {
        let read = match self.read.clone() {
            Some(read) => read,
            None => self.reread()?,
        };
        let path = self.path()?.to_owned();
        let edited = edit(read.as_deref().unwrap_or_default(), &path)?;
        config_edit::save_config(&path, read.as_deref(), &edited.text)?;
        tracing::info!(config = %path.display(), monitors = edited.config.monitors.len(), "configuration saved from the window");
        self.read = Some(Some(edited.text.clone()));
        self.demo_text = None;
        Ok(edited)
    }
}

/// The monitor with this id as the editor shows it; without an id, a new monitor's
/// defaults. Opening the editor is where an edit starts: the file is read again here.
#[tauri::command]
pub async fn get_monitor_draft(
    file: State<'_, ConfigFile>,
    id: Option<String>,
) -> Result<MonitorDraft> {
    file.draft(id.as_deref())
}

/// `null` when the condition parses, else what is wrong and where.
#[tauri::command]
pub fn validate_condition(text: String) -> Option<ConditionProblem> {
    config_edit::validate_condition(&text).err()
}

/// One check of the draft as it would run once saved, like `foghorn check`.
#[tauri::command]
pub async fn test_monitor(draft: MonitorDraft) -> Result<CheckResult> {
    let monitor = config_edit::monitor_from_draft(&draft)?;
    if monitor.heartbeat.is_some() {
        return Err(IpcError {
            code: "not_testable".to_owned(),
            message: "A heartbeat monitor is pinged by its job, so there is nothing to check \
                      from here."
                .to_owned(),
        });
    }
    let probe = Probe::from_monitor(&monitor);
    Ok(probe.run(&Clients::default()).await)
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
    let edited = tauri::async_runtime::spawn_blocking(move || file.upsert(original, &draft))
        .await
        .map_err(joined)??;
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
    let edited = tauri::async_runtime::spawn_blocking(move || file.delete(&id))
        .await
        .map_err(joined)??;
    apply(&engine, edited.config.monitors)
}

/// The escalation ladder as the file has it (the defaults when it has none). Opening the
/// settings page is where an edit starts: the file is read again here.
#[tauri::command]
pub async fn get_escalation_draft(file: State<'_, ConfigFile>) -> Result<EscalationDraft> {
    let file = file.inner().clone();
    tauri::async_runtime::spawn_blocking(move || file.escalation_draft())
        .await
        .map_err(joined)?
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
    let (edited, ended_demo) =
        tauri::async_runtime::spawn_blocking(move || file.save_escalation(&draft))
            .await
            .map_err(joined)??;
    let saved = config_edit::read_escalation(&edited.text)?;
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

fn joined(e: tauri::Error) -> IpcError {
    IpcError {
        code: "internal".to_owned(),
        message: format!("the save did not finish: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str) -> MonitorDraft {
        MonitorDraft {
            name: name.to_owned(),
            url: "http://127.0.0.1:9/health".to_owned(),
            ..MonitorDraft::default()
        }
    }

    fn file_at(path: &Path, demo_text: Option<String>) -> ConfigFile {
        ConfigFile::new(startup::ConfigFile {
            path: Some(path.to_owned()),
            demo_text,
        })
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).expect("read the config")
    }

    #[test]
    fn the_first_save_in_the_demo_creates_the_file_with_only_the_new_monitor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn/foghorn.toml");
        let demo = foghorn_core::demo::config_text("127.0.0.1:8099".parse().expect("addr"), None);
        let file = file_at(&path, Some(demo));
        assert!(file.demo());
        // The demo's monitor opens in the editor like any other...
        let shown = file.draft(Some("demo-flaky-endpoint")).expect("demo draft");
        assert_eq!(shown.interval, "5s");
        // ...and saving it, or anything else, starts the user's own file.
        let edited = file
            .upsert(Some("demo-flaky-endpoint".into()), &draft("api"))
            .expect("first save");
        let written = read(&path);
        assert_eq!(written, edited.text);
        assert!(
            written.starts_with("[[monitors]]\nname = \"api\""),
            "{written}"
        );
        assert!(!written.contains("Demo"), "{written}");
        assert!(!file.demo(), "the demo is over");
    }

    /// The window's first save creates the file 0600 whatever the umask allows; a file the
    /// user already has keeps the mode they gave it.
    #[cfg(unix)]
    #[test]
    fn a_config_created_by_the_first_save_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn/foghorn.toml");
        let demo = foghorn_core::demo::config_text("127.0.0.1:8099".parse().expect("addr"), None);
        let file = file_at(&path, Some(demo));
        file.upsert(None, &draft("api")).expect("first save");
        assert_eq!(mode(&path), 0o600, "a new configuration is private");

        let shared = dir.path().join("shared.toml");
        std::fs::write(&shared, "").expect("write");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let file = file_at(&shared, None);
        file.upsert(None, &draft("api")).expect("save");
        assert_eq!(mode(&shared), 0o644, "an existing file keeps its mode");
    }

    #[test]
    fn the_ladder_is_saved_into_the_file_and_a_file_changed_meanwhile_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn.toml");
        let original = "# mine\n[[monitors]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n";
        std::fs::write(&path, original).expect("write");
        let file = file_at(&path, None);
        let mut draft = file.escalation_draft().expect("open");
        assert!(draft.steps.is_empty());
        draft.steps.push(config_edit::StepDraft::default());
        let (edited, ended_demo) = file.save_escalation(&draft).expect("save");
        assert!(!ended_demo);
        assert_eq!(read(&path), edited.text);
        assert!(
            edited.text.starts_with(original) && edited.text.contains("[[escalation.steps]]"),
            "{}",
            edited.text
        );

        std::fs::write(&path, format!("{}# by hand\n", edited.text)).expect("edit by hand");
        let err = file.save_escalation(&draft).expect_err("refused");
        assert_eq!(err.code, "changed_on_disk");

        draft.steps[0].after = "soon".into();
        file.escalation_draft().expect("reopen");
        let err = file.save_escalation(&draft).expect_err("invalid");
        assert_eq!(err.code, "invalid_draft");
        assert!(
            err.message.starts_with("steps[0].after: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_first_ladder_saved_in_the_demo_starts_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn/foghorn.toml");
        let demo = foghorn_core::demo::config_text("127.0.0.1:8099".parse().expect("addr"), None);
        let file = file_at(&path, Some(demo));
        let mut draft = file.escalation_draft().expect("open");
        draft.steps.push(config_edit::StepDraft::default());
        let (edited, ended_demo) = file.save_escalation(&draft).expect("save");
        assert!(ended_demo && !file.demo());
        assert!(edited.config.monitors.is_empty());
        assert_eq!(read(&path), edited.text);
    }

    #[test]
    fn deleting_the_demo_monitor_is_refused() {
        let file = file_at(Path::new("/nonexistent/foghorn.toml"), Some(String::new()));
        let err = file.delete("demo-flaky-endpoint").expect_err("refused");
        assert_eq!(err.code, "demo");
    }

    #[test]
    fn a_file_changed_after_the_editor_opened_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn.toml");
        let original = "# mine\n[[monitors]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n";
        std::fs::write(&path, original).expect("write");
        let file = file_at(&path, None);
        file.draft(Some("a")).expect("open the editor");
        let by_hand = format!("{original}# edited by hand\n");
        std::fs::write(&path, &by_hand).expect("edit by hand");

        let err = file.upsert(None, &draft("b")).expect_err("refused");
        assert_eq!(err.code, "changed_on_disk");
        assert!(err.message.contains("reopen the editor"), "{}", err.message);
        assert_eq!(read(&path), by_hand);

        // Reopened, the edit starts from the current file and keeps the change by hand.
        file.draft(None).expect("reopen");
        file.upsert(None, &draft("b")).expect("save");
        let saved = read(&path);
        assert!(
            saved.contains("# edited by hand") && saved.contains("name = \"b\""),
            "{saved}"
        );
    }
}
