//! `foghorn import gatus`: a team's Gatus file becomes a configuration that `foghorn config
//! check` accepts, what did not carry over is said on stderr, and a broken file is refused with
//! the place to look.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{ensure, Result};
use foghorn_e2e::workspace_root;

fn foghorn(home: &std::path::Path) -> Result<Command> {
    foghorn_e2e::paths::foghorn_command(home)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The realistic Gatus configuration the core's import tests use.
fn fixture() -> PathBuf {
    workspace_root().join("crates/foghorn-core/src/import/testdata/gatus.yaml")
}

fn import_to(home: &Path, output: &Path, force: bool) -> Result<Output> {
    let mut cmd = foghorn(home)?;
    cmd.args(["import", "gatus"])
        .arg(fixture())
        .arg("--output")
        .arg(output);
    if force {
        cmd.arg("--force");
    }
    Ok(cmd.output()?)
}

#[test]
fn a_gatus_file_imports_into_a_configuration_foghorn_accepts() -> Result<()> {
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");

    let out = import_to(home.path(), &config, false)?;
    let (stdout, stderr) = text(&out);
    ensure!(out.status.success(), "import fails: {out:?}");
    ensure!(stdout.is_empty(), "the TOML goes to the file: {stdout}");
    for expected in [
        "warning: endpoint \"core/api\": header \"Authorization\" holds a credential, which Foghorn reads from the environment rather than the file: set CORE_API_AUTHORIZATION",
        "warning: endpoint \"ping gateway\": `url`: icmp://",
        "warning: external endpoint \"nightly-backup\": the job must now ping `POST http://127.0.0.1:7291/heartbeat/nightly-backup`",
        "warning: `alerting` (line 13) is not converted",
        "warning: endpoint \"eu/api\": condition \"[BODY].region != us\" (line 71) may not give Gatus' verdict: with `!=`, a value Foghorn cannot read",
    ] {
        ensure!(stderr.contains(expected), "no {expected:?} in:\n{stderr}");
    }
    let summary = stderr.lines().last().unwrap_or_default();
    ensure!(
        summary.starts_with("converted 8 endpoints (") && summary.contains(" warnings)"),
        "a final summary: {summary}"
    );

    let check = foghorn(home.path())?
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()?;
    ensure!(
        check.status.success(),
        "foghorn refuses its own import: {check:?}\n{}",
        std::fs::read_to_string(&config)?
    );
    ensure!(text(&check).0.contains("OK (8 monitors"), "{check:?}");

    // Without --output the same TOML goes to stdout.
    let printed = foghorn(home.path())?
        .args(["import", "gatus"])
        .arg(fixture())
        .output()?;
    ensure!(printed.status.success(), "{printed:?}");
    ensure!(
        text(&printed).0 == std::fs::read_to_string(&config)?,
        "stdout and --output differ"
    );
    Ok(())
}

#[test]
fn an_existing_file_is_replaced_only_with_force() -> Result<()> {
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");
    let mine =
        "# my own configuration\n[[monitors]]\nname = \"mine\"\nurl = \"http://127.0.0.1:9/\"\n";
    std::fs::write(&config, mine)?;

    let out = import_to(home.path(), &config, false)?;
    ensure!(out.status.code() == Some(1), "refused: {out:?}");
    ensure!(text(&out).1.contains("--force"), "says how: {out:?}");
    ensure!(
        std::fs::read_to_string(&config)? == mine,
        "the existing file is untouched"
    );

    let out = import_to(home.path(), &config, true)?;
    ensure!(out.status.success(), "{out:?}");
    ensure!(
        std::fs::read_to_string(&config)?.contains("name = \"core/api\""),
        "replaced with the import"
    );
    Ok(())
}

#[test]
fn a_broken_gatus_file_exits_2_naming_line_and_column() -> Result<()> {
    let home = tempfile::tempdir()?;
    let bad = home.path().join("bad.yaml");
    // `method` is indented one space short of its endpoint's other keys.
    std::fs::write(
        &bad,
        "endpoints:\n  - name: api\n    url: https://a.example/\n   method: GET\n",
    )?;
    let output = home.path().join("foghorn.toml");
    let out = foghorn(home.path())?
        .args(["import", "gatus"])
        .arg(&bad)
        .arg("-o")
        .arg(&output)
        .output()?;
    let (stdout, stderr) = text(&out);
    ensure!(out.status.code() == Some(2), "exit 2: {out:?}");
    ensure!(
        stderr.contains("bad.yaml:4:4: invalid YAML"),
        "names file, line and column: {stderr}"
    );
    ensure!(stdout.is_empty() && !output.exists(), "writes nothing");

    let not_gatus = home.path().join("compose.yaml");
    std::fs::write(&not_gatus, "services:\n  web:\n    image: nginx\n")?;
    let out = foghorn(home.path())?
        .args(["import", "gatus"])
        .arg(&not_gatus)
        .output()?;
    ensure!(out.status.code() == Some(2), "{out:?}");
    ensure!(text(&out).1.contains("no `endpoints:`"), "{out:?}");
    Ok(())
}
