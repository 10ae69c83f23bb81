//! What Foghorn keeps is private: the data directory and the database files only the user can
//! read, whatever the umask, and looser modes left behind are tightened.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Result};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::target::write_config;
use foghorn_e2e::{wait_until, Target};

const START: Duration = Duration::from_secs(30);

fn mode(p: &Path) -> Result<u32> {
    Ok(std::fs::metadata(p)?.permissions().mode() & 0o777)
}

/// `foghorn run --headless` under `umask 000`, so nothing private comes from the umask.
fn headless_with_open_umask(home: &Path, config: &Path, data: &Path) -> Result<ChildGuard> {
    let foghorn = foghorn_e2e::paths::foghorn_command(home)?;
    let mut cmd = Command::new("sh");
    cmd.env_clear();
    for (k, v) in foghorn.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("FOGHORN_DATA_DIR", data)
        .arg("-c")
        .arg("umask 000; exec \"$0\" run --headless --config \"$1\"")
        .arg(foghorn.get_program())
        .arg(config);
    ChildGuard::spawn("headless-umask", cmd, home)
}

#[test]
fn the_data_directory_and_database_files_are_private() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let home = tempfile::tempdir()?;
    let config = write_config(home.path(), "api", &target.url())?;
    let data = home.path().join("data");
    let db = data.join("foghorn.db");
    let wal = data.join("foghorn.db-wal");
    let shm = data.join("foghorn.db-shm");

    let mut engine = headless_with_open_umask(home.path(), &config, &data)?;
    wait_until(START, "the engine to write its first result", || {
        Ok((target.requests() > 0 && wal.is_file() && shm.is_file()).then_some(()))
    })?;
    let modes = (mode(&data)?, mode(&db)?, mode(&wal)?, mode(&shm)?);
    engine.terminate();
    ensure!(
        modes == (0o700, 0o600, 0o600, 0o600),
        "data dir, db, -wal, -shm: {:o} {:o} {:o} {:o}",
        modes.0,
        modes.1,
        modes.2,
        modes.3
    );

    // A directory and database left readable by others are tightened, and the log says so.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))?;
    let mut engine = headless_with_open_umask(home.path(), &config, &data)?;
    wait_until(START, "the engine to open the database", || {
        Ok(engine.stderr().contains("made private").then_some(()))
    })?;
    let stderr = engine.stderr();
    engine.terminate();
    ensure!(
        (mode(&data)?, mode(&db)?) == (0o700, 0o600),
        "tightened: {:o} {:o}",
        mode(&data)?,
        mode(&db)?
    );
    ensure!(
        stderr.contains(&format!("{} was readable by others", data.display()))
            && stderr.contains(&format!("{} was readable by others", db.display())),
        "the log names what was tightened: {stderr}"
    );
    Ok(())
}
