//! The configuration file as the window's editors know it: where it is, the demo's text while
//! the demo runs, and what the file held when an editor last read it, so a save never
//! overwrites a change made by hand meanwhile. Opening an editor reads the file again; a save
//! writes the edit in place of exactly the text it started from.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    delete_monitor, read_draft, read_escalation, save_config, upsert_monitor, write_escalation,
    EditError, Edited, EscalationDraft, MonitorDraft, Result,
};

/// The configuration file, shared by the editors, which take turns (each call holds the lock
/// from reading to writing). Cloning shares it.
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
    /// `path` is the file in use or, for the demo, where its first save creates one (`None`:
    /// there is nowhere to save); `demo_text` is the demo configuration while it runs.
    pub fn new(path: Option<PathBuf>, demo_text: Option<String>) -> Self {
        Self(Arc::new(Mutex::new(FileState {
            path,
            demo_text,
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

    /// The monitor with this id (or name) as the editor shows it; without one, a new
    /// monitor's defaults. Opening the editor is where an edit starts: the file is read again.
    pub fn monitor_draft(&self, id: Option<&str>) -> Result<MonitorDraft> {
        let text = self.lock().current()?;
        match id {
            None => Ok(MonitorDraft::default()),
            Some(id) => read_draft(text.as_deref().unwrap_or_default(), id),
        }
    }

    /// Saves the draft as a new monitor (`original` is `None`) or in place of `original`.
    pub fn save_monitor(&self, original: Option<&str>, draft: &MonitorDraft) -> Result<Edited> {
        let mut st = self.lock();
        // The demo's monitor is not in any file: editing it starts the user's own.
        let original = original.filter(|_| st.demo_text.is_none());
        st.save(|text, path| upsert_monitor(text, path, original, draft))
    }

    /// Deletes the monitor with this id (or name) from the file.
    pub fn delete_monitor(&self, id: &str) -> Result<Edited> {
        let mut st = self.lock();
        if st.demo_text.is_some() {
            return Err(EditError::DemoMonitor);
        }
        st.save(|text, path| delete_monitor(text, path, id))
    }

    /// The ladder as the file has it; like opening the monitor editor, this is where an
    /// edit starts (the file is read again).
    pub fn escalation_draft(&self) -> Result<EscalationDraft> {
        let text = self.lock().current()?;
        read_escalation(text.as_deref().unwrap_or_default())
    }

    /// Writes the ladder into the file. In the demo the first save starts the user's own
    /// file, with only the ladder (and no monitors); `true` in the answer says so.
    pub fn save_escalation(&self, draft: &EscalationDraft) -> Result<(Edited, bool)> {
        let mut st = self.lock();
        let was_demo = st.demo_text.is_some();
        let edited = st.save(|text, path| write_escalation(text, path, draft))?;
        Ok((edited, was_demo))
    }
}

impl FileState {
    fn path(&self) -> Result<&Path> {
        self.path.as_deref().ok_or(EditError::NoPath)
    }

    /// The text an edit starts from: the demo's while it runs, else the file's, read again.
    fn current(&mut self) -> Result<Option<String>> {
        let on_disk = match self.path {
            Some(_) => self.reread()?,
            None => None,
        };
        Ok(self.demo_text.clone().or(on_disk))
    }

    /// Reads the file now and remembers what it held: the edit starts from this text.
    fn reread(&mut self) -> Result<Option<String>> {
        let path = self.path()?.to_owned();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(EditError::Read { path, source }),
        };
        self.read = Some(text.clone());
        Ok(text)
    }

    /// Writes `edit` in place of the text it started from; the demo ends with the first
    /// save.
    fn save(&mut self, edit: impl FnOnce(&str, &Path) -> Result<Edited>) -> Result<Edited> {
        let read = match self.read.clone() {
            Some(read) => read,
            None => self.reread()?,
        };
        let path = self.path()?.to_owned();
        let edited = edit(read.as_deref().unwrap_or_default(), &path)?;
        save_config(&path, read.as_deref(), &edited.text)?;
        tracing::info!(config = %path.display(), monitors = edited.config.monitors.len(), "configuration saved from the window");
        self.read = Some(Some(edited.text.clone()));
        self.demo_text = None;
        Ok(edited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::edit::StepDraft;

    fn draft(name: &str) -> MonitorDraft {
        MonitorDraft {
            name: name.to_owned(),
            url: "http://127.0.0.1:9/health".to_owned(),
            ..MonitorDraft::default()
        }
    }

    fn file_at(path: &Path, demo_text: Option<String>) -> ConfigFile {
        ConfigFile::new(Some(path.to_owned()), demo_text)
    }

    fn demo_text() -> String {
        crate::demo::config_text("127.0.0.1:8099".parse().expect("addr"), None)
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).expect("read the config")
    }

    #[test]
    fn the_first_save_in_the_demo_creates_the_file_with_only_the_new_monitor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn/foghorn.toml");
        let file = file_at(&path, Some(demo_text()));
        assert!(file.demo());
        // The demo's monitor opens in the editor like any other...
        let shown = file
            .monitor_draft(Some("demo-flaky-endpoint"))
            .expect("demo draft");
        assert_eq!(shown.interval, "5s");
        // ...and saving it, or anything else, starts the user's own file.
        let edited = file
            .save_monitor(Some("demo-flaky-endpoint"), &draft("api"))
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
        let file = file_at(&path, Some(demo_text()));
        file.save_monitor(None, &draft("api")).expect("first save");
        assert_eq!(mode(&path), 0o600, "a new configuration is private");

        let shared = dir.path().join("shared.toml");
        std::fs::write(&shared, "").expect("write");
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let file = file_at(&shared, None);
        file.save_monitor(None, &draft("api")).expect("save");
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
        draft.steps.push(StepDraft::default());
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
        assert!(matches!(err, EditError::ChangedOnDisk(_)), "{err}");

        draft.steps[0].after = "soon".into();
        file.escalation_draft().expect("reopen");
        let err = file.save_escalation(&draft).expect_err("invalid");
        assert!(matches!(err, EditError::Draft(_)), "{err}");
        assert_eq!(err.field(), Some("steps[0].after"));
        assert!(err.to_string().starts_with("steps[0].after: "), "{err}");
    }

    #[test]
    fn the_first_ladder_saved_in_the_demo_starts_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn/foghorn.toml");
        let file = file_at(&path, Some(demo_text()));
        let mut draft = file.escalation_draft().expect("open");
        draft.steps.push(StepDraft::default());
        let (edited, ended_demo) = file.save_escalation(&draft).expect("save");
        assert!(ended_demo && !file.demo());
        assert!(edited.config.monitors.is_empty());
        assert_eq!(read(&path), edited.text);
    }

    #[test]
    fn deleting_the_demo_monitor_is_refused() {
        let file = file_at(Path::new("/nonexistent/foghorn.toml"), Some(String::new()));
        let err = file
            .delete_monitor("demo-flaky-endpoint")
            .expect_err("refused");
        assert!(matches!(err, EditError::DemoMonitor), "{err}");
    }

    #[test]
    fn without_a_path_there_is_nowhere_to_save() {
        let file = ConfigFile::new(None, None);
        assert_eq!(
            file.monitor_draft(None).expect("defaults"),
            MonitorDraft::default()
        );
        let err = file.save_monitor(None, &draft("api")).expect_err("refused");
        assert!(matches!(err, EditError::NoPath), "{err}");
    }

    #[test]
    fn a_file_changed_after_the_editor_opened_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("foghorn.toml");
        let original = "# mine\n[[monitors]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/\"\n";
        std::fs::write(&path, original).expect("write");
        let file = file_at(&path, None);
        file.monitor_draft(Some("a")).expect("open the editor");
        let by_hand = format!("{original}# edited by hand\n");
        std::fs::write(&path, &by_hand).expect("edit by hand");

        let err = file.save_monitor(None, &draft("b")).expect_err("refused");
        assert!(matches!(err, EditError::ChangedOnDisk(_)), "{err}");
        assert!(err.to_string().contains("reopen the editor"), "{err}");
        assert_eq!(read(&path), by_hand);

        // Reopened, the edit starts from the current file and keeps the change by hand.
        file.monitor_draft(None).expect("reopen");
        file.save_monitor(None, &draft("b")).expect("save");
        let saved = read(&path);
        assert!(
            saved.contains("# edited by hand") && saved.contains("name = \"b\""),
            "{saved}"
        );
    }
}
