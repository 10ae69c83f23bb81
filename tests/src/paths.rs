//! Where things are: the workspace, the built `foghorn` binary, the artifacts directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The app binary under test.
///
/// In order: `$FOGHORN_BIN`; `foghorn` next to the running test's profile directory (so any
/// `--target-dir`/`CARGO_TARGET_DIR` used for `cargo test` is honoured); `$CARGO_TARGET_DIR/debug`;
/// `<workspace>/target/debug`. `cargo test -p foghorn-e2e` does not build it: run
/// `cargo build -p foghorn-app --bin foghorn` first.
pub fn foghorn_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("FOGHORN_BIN") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!("FOGHORN_BIN={} is not a file", p.display());
    }
    let mut candidates = Vec::new();
    // <target>/debug/deps/harness-123abc -> <target>/debug/foghorn
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.join("foghorn"));
        }
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        let t = PathBuf::from(t);
        let t = if t.is_absolute() {
            t
        } else {
            workspace_root().join(t)
        };
        candidates.push(t.join("debug").join("foghorn"));
    }
    candidates.push(
        workspace_root()
            .join("target")
            .join("debug")
            .join("foghorn"),
    );
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    bail!(
        "foghorn binary not found (looked at {candidates:?}); build it with \
         `cargo build -p foghorn-app --bin foghorn` or set FOGHORN_BIN"
    )
}

/// `<this crate>/artifacts`, created on demand: screenshots and logs worth keeping after a run.
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Finds `name` on `$PATH`, then in `~/.cargo/bin`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| {
        let home = std::env::var_os("HOME")?;
        let p = PathBuf::from(home).join(".cargo").join("bin").join(name);
        p.is_file().then_some(p)
    })
}

/// `foghorn` with a private HOME (config and data dirs under it), no display and none of the
/// machine's environment but `PATH`, logging at `info`: nothing of the machine leaks in.
pub fn foghorn_command(home: &Path) -> Result<std::process::Command> {
    let mut cmd = std::process::Command::new(foghorn_bin()?);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("FOGHORN_LOG", "info");
    Ok(cmd)
}
