//! Files only the user may read: the data directory (0700), the database and its WAL/SHM
//! files (0600) and a configuration file the app creates (0600). They hold calendar URLs,
//! phone numbers and webhook URLs, so the modes are set explicitly rather than left to the
//! umask.
//!
//! On Windows nothing is done here: files under the user's profile are already private
//! through the profile directory's ACLs, which new files inherit.

use std::path::Path;

/// The mode of a private directory (owner only).
#[cfg(unix)]
pub const DIR_MODE: u32 = 0o700;
/// The mode of a private file (owner read/write).
#[cfg(unix)]
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its missing parents, with the usual modes) so that `dir` itself is
/// 0700. An existing `dir` that others could read is tightened; returns the mode it had then,
/// so the caller can say so in the log.
pub fn private_dir(dir: &Path) -> std::io::Result<Option<u32>> {
    imp::private_dir(dir)
}

/// Creates `file` empty with mode 0600 if it does not exist; an existing file that others
/// could read is tightened. Returns the looser mode it had, if it was tightened.
pub fn private_file(file: &Path) -> std::io::Result<Option<u32>> {
    imp::private_file(file)
}

/// Tightens `file` to 0600 if it exists and others could read it (SQLite's `-wal`/`-shm`
/// files left by an older Foghorn). Returns the looser mode it had.
pub fn tighten_if_present(file: &Path) -> std::io::Result<Option<u32>> {
    imp::tighten_if_present(file)
}

/// Applies the private file mode to a file just opened (a temporary file written in place
/// of a new configuration file).
pub fn make_private(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    {
        std::os::unix::fs::OpenOptionsExt::mode(options, FILE_MODE)
    }
    #[cfg(not(unix))]
    {
        options
    }
}

#[cfg(unix)]
mod imp {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    use super::{DIR_MODE, FILE_MODE};

    /// Sets `mode` if the current one grants anything to the group or others.
    fn tighten(path: &Path, meta: &std::fs::Metadata, mode: u32) -> std::io::Result<Option<u32>> {
        let had = meta.permissions().mode() & 0o7777;
        if had & 0o077 == 0 {
            return Ok(None);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        Ok(Some(had))
    }

    pub fn private_dir(dir: &Path) -> std::io::Result<Option<u32>> {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
            // The umask may have taken bits away, never added them: 0700 or tighter.
            Ok(()) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let meta = std::fs::metadata(dir)?;
                tighten(dir, &meta, DIR_MODE)
            }
            Err(e) => Err(e),
        }
    }

    pub fn private_file(file: &Path) -> std::io::Result<Option<u32>> {
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(file);
        match opened {
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let meta = std::fs::metadata(file)?;
                tighten(file, &meta, FILE_MODE)
            }
            Err(e) => Err(e),
        }
    }

    pub fn tighten_if_present(file: &Path) -> std::io::Result<Option<u32>> {
        match std::fs::metadata(file) {
            Ok(meta) => tighten(file, &meta, FILE_MODE),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Windows: the profile's ACLs keep these files private; directories are only created.
#[cfg(not(unix))]
mod imp {
    use std::path::Path;

    pub fn private_dir(dir: &Path) -> std::io::Result<Option<u32>> {
        std::fs::create_dir_all(dir).map(|()| None)
    }

    pub fn private_file(file: &Path) -> std::io::Result<Option<u32>> {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(file)
            .map(|_| None)
    }

    pub fn tighten_if_present(_file: &Path) -> std::io::Result<Option<u32>> {
        Ok(None)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn new_directories_and_files_are_private_and_loose_ones_are_tightened() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a/foghorn");
        assert_eq!(private_dir(&dir).expect("create"), None);
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f.db");
        assert_eq!(private_file(&file).expect("create"), None);
        assert_eq!(mode(&file), 0o600);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(private_dir(&dir).expect("tighten"), Some(0o755));
        assert_eq!(private_file(&file).expect("tighten"), Some(0o644));
        assert_eq!((mode(&dir), mode(&file)), (0o700, 0o600));
        assert_eq!(
            tighten_if_present(&dir.join("absent")).expect("absent"),
            None
        );
    }
}
