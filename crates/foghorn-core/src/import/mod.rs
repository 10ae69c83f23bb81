//! Importing other tools' configurations into Foghorn's TOML, so a team can switch without
//! retyping its monitors. An import never silently drops anything: what it cannot express is
//! a warning, both in the result and as a comment next to the monitor it concerns.

mod gatus;
mod yaml;

use std::path::{Path, PathBuf};

pub use gatus::gatus_to_toml;

/// A converted configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Foghorn TOML that [`crate::config::Config::parse`] accepts, with comments saying what
    /// to check.
    pub toml: String,
    /// Monitors written active.
    pub converted: usize,
    /// Monitors written commented out: disabled at the source, or not expressible in Foghorn.
    pub commented_out: usize,
    /// One line each, e.g. `endpoint "api": \`ui\` is not converted`.
    pub warnings: Vec<String>,
}

/// Why nothing could be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}:{line}:{column}: invalid YAML: {message}")]
    Yaml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    NotGatus { path: PathBuf, message: String },
    /// The importer produced TOML that Foghorn rejects: a bug, reported rather than written.
    #[error("{path}: the converted configuration does not load ({message}); please report this")]
    Generated { path: PathBuf, message: String },
}

/// Reads a Gatus configuration file and converts it; see [`gatus_to_toml`].
pub fn gatus_file_to_toml(path: &Path) -> Result<Import, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ImportError::Read {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })?;
    gatus_to_toml(&text, path)
}

#[cfg(test)]
mod tests;
