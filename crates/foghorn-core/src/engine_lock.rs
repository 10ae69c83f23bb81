//! One engine per data directory. Two engines on one database (the tray app and
//! `run --headless`, say) would both check, both notify and both work the outbox; the engine
//! therefore holds an exclusive advisory lock on `engine.lock` in the data directory for its
//! whole life, and a second engine is refused with the first one's process id.
//!
//! Commands that only read or acknowledge (`foghorn incidents`, `ack`, `resolve`) do not take
//! the lock: they go through SQLite's own locking and work while an engine runs. The lock is
//! advisory and released by the OS when the process ends, however it ends, so a crash never
//! leaves a stale lock behind. Each outbox message is also claimed row by row before it is
//! sent, so even engines that cannot see each other's lock (a file system without locks)
//! send each message once.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory; it holds the engine's process id.
pub const LOCK_FILE: &str = "engine.lock";

/// The data directory, locked for this engine until dropped.
#[derive(Debug)]
pub struct EngineLock {
    /// Held open: closing it releases the lock.
    _file: File,
    dir: PathBuf,
}

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineLockError {
    /// Another process holds the lock: an engine is running on this directory.
    #[error(
        "another Foghorn engine is running on {} ({}); stop it first, or give this one its own FOGHORN_DATA_DIR",
        dir.display(),
        pid.map_or_else(|| "pid unknown".to_owned(), |p| format!("pid {p}"))
    )]
    Held { dir: PathBuf, pid: Option<u32> },
    /// The lock file cannot be created, read or locked (permissions, a file system without
    /// locks).
    #[error("{}: cannot lock the data directory: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EngineLock {
    /// Locks `dir` (created if missing) for this process and writes its pid into the lock file.
    ///
    /// # Errors
    /// [`EngineLockError::Held`] while another engine holds it; [`EngineLockError::Io`] when
    /// the file cannot be opened or locked.
    pub fn acquire(dir: &Path) -> Result<Self, EngineLockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| EngineLockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // Not truncated on open: the holder's pid must stay readable for the one refused.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(EngineLockError::Held {
                    dir: dir.to_owned(),
                    pid,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(EngineLock {
            _file: file,
            dir: dir.to_owned(),
        })
    }

    /// The directory locked.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_data_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let first = EngineLock::acquire(dir.path()).expect("first");
        let err = EngineLock::acquire(dir.path()).expect_err("second");
        assert!(
            matches!(&err, EngineLockError::Held { pid: Some(p), .. } if *p == std::process::id()),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "another Foghorn engine is running on {} (pid {})",
                dir.path().display(),
                std::process::id()
            )),
            "{text}"
        );
        drop(first);
        EngineLock::acquire(dir.path()).expect("free again");
    }
}
