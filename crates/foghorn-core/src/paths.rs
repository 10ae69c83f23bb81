//! Where Foghorn keeps its files on each OS: the config file and the data directory.

use std::path::PathBuf;

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "foghorn")
}

/// `foghorn/foghorn.toml` in the OS config dir (e.g. `~/.config/foghorn/foghorn.toml`).
pub fn default_config_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("foghorn.toml"))
}

/// `$FOGHORN_DATA_DIR`, else the OS data dir (e.g. `~/.local/share/foghorn`).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FOGHORN_DATA_DIR").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    project_dirs().map(|d| d.data_dir().to_owned())
}
