//! `foghorn import gatus FILE`: another tool's configuration as Foghorn TOML, with every
//! setting it could not carry over said on stderr, so a switch loses nothing silently.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use foghorn_core::import::{self, Import, ImportError};

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Convert a Gatus configuration's `endpoints:` and `external-endpoints:` into monitors.
    ///
    /// Prints the TOML (or writes it to --output), one `warning:` line on stderr per thing it
    /// could not convert, and a summary. Exit 0 when converted, even with warnings; 1 when the
    /// output cannot be written; 2 when the file cannot be read or is not a Gatus configuration.
    Gatus(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Gatus configuration file (YAML).
    pub file: PathBuf,
    /// Write the TOML to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Overwrite --output if it already exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// Exit codes, as documented in `--help`.
const FAILED: u8 = 1;
const INVALID_INPUT: u8 = 2;

pub fn import(source: &ImportSource) -> ExitCode {
    let ImportSource::Gatus(args) = source;
    let converted = match import::gatus_file_to_toml(&args.file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("foghorn import: {e}");
            return ExitCode::from(match e {
                ImportError::Generated { .. } => FAILED,
                _ => INVALID_INPUT,
            });
        }
    };
    let written = match &args.output {
        Some(path) => write_file(path, &converted.toml, args.force),
        None => std::io::stdout()
            .lock()
            .write_all(converted.toml.as_bytes())
            .map_err(|e| format!("cannot write to standard output: {e}")),
    };
    if let Err(message) = written {
        eprintln!("foghorn import: {message}");
        return ExitCode::from(FAILED);
    }
    report(&converted, args.output.as_deref());
    ExitCode::SUCCESS
}

/// Without `--force` the file is created only if it does not exist yet, checked and created
/// in one step, so an existing configuration is never replaced by accident.
fn write_file(path: &Path, text: &str, force: bool) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    // A new configuration file is private, like the one the window's first save creates.
    foghorn_core::private_fs::make_private(options.write(true));
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} already exists; use --force to overwrite it",
            path.display()
        ),
        _ => format!("cannot write {}: {e}", path.display()),
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn report(converted: &Import, output: Option<&Path>) {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut err = std::io::stderr().lock();
    for w in &converted.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    let mut summary = format!(
        "converted {} ({})",
        plural(converted.converted, "endpoint", "endpoints"),
        plural(converted.warnings.len(), "warning", "warnings"),
    );
    if converted.commented_out > 0 {
        summary.push_str(&format!(
            "; {} written commented out",
            plural(converted.commented_out, "monitor", "monitors")
        ));
    }
    if let Some(path) = output {
        summary.push_str(&format!("; wrote {}", path.display()));
    }
    let _ = writeln!(err, "{summary}");
}
