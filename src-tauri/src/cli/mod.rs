//! The command line: what `foghorn --help` shows, and the subcommands that need no window.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use foghorn_core::config::{self, Config};

mod alarm;
mod check;
pub mod heartbeats;
mod import;
pub mod incidents;
pub mod letter;
mod oncall;
pub mod postmortem;
mod secret;
pub mod sla;
pub mod status;
pub mod support;
pub use alarm::{alarm, AlarmAction};
pub use check::{check, CheckArgs};
pub use import::{import, ImportSource};
pub use oncall::{oncall, OncallArgs};
pub use secret::{secret, SecretAction};

#[derive(Debug, Parser)]
#[command(
    name = "foghorn",
    version,
    about = "Outage handling from your tray: monitors, incidents, on-call alarms.",
    long_about = "Outage handling from your tray: monitors, incidents, on-call alarms.\n\n\
                  With no subcommand, starts the tray app. Without a configuration file it \
                  runs a demo that monitors a flaky endpoint served on 127.0.0.1."
)]
pub struct Cli {
    /// Configuration file [default: $FOGHORN_CONFIG, else the OS config dir's foghorn/foghorn.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Foghorn (the tray app, or with --headless the engine alone, logging to stderr).
    Run {
        /// No window and no tray: monitors and incidents only; stops on SIGINT/SIGTERM.
        #[arg(long)]
        headless: bool,
        /// Show the window at start instead of waiting in the tray.
        #[arg(long, conflicts_with = "headless")]
        show_window: bool,
    },
    /// Check one URL now and print each condition's verdict with the value it saw.
    ///
    /// Exit 0 when every condition passes, 1 when any fails, 2 when the input is invalid.
    Check(CheckArgs),
    /// Work with the configuration file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Convert another tool's configuration into Foghorn monitors (TOML).
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// List incidents: every open one, then the most recent resolved ones.
    Incidents {
        /// One JSON document (an array of incidents) instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an incident: its alarm stops everywhere this database is used.
    Ack {
        /// The incident's number, as `foghorn incidents` shows it.
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Resolve an incident by hand.
    Resolve {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Who is on call at a time (now by default), and whether it is you (`[me] names`).
    ///
    /// Reads the `[oncall]` calendar or PagerDuty's on-call list (keeping the last good copy in
    /// the database). Exit 0 when answered, 1 when there is no `[oncall]` section or no source
    /// can be read and no earlier copy exists, 2 when the configuration, the calendar or
    /// PagerDuty's answer is malformed (where, on stderr).
    Oncall(OncallArgs),
    /// Secrets in the OS keychain, for `keyring:NAME` references in the configuration.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
    /// Each heartbeat monitor and the curl command its job runs to ping it (token included).
    Heartbeats,
    /// Public status updates: post one everywhere, rebuild the self-hosted page.
    Status {
        #[command(subcommand)]
        action: status::StatusAction,
    },
    /// The customer letter: one letter to every customer in a list, sent exactly once.
    Letter {
        #[command(subcommand)]
        action: letter::LetterAction,
    },
    /// The postmortem of an incident (and others of the same outage, --incident), drafted from
    /// its evidence as Markdown: `foghorn postmortem 12 > postmortem.md`.
    Postmortem(postmortem::PostmortemArgs),
    /// Service levels: availability per plan against `[sla]`, and the credits owed.
    Sla {
        #[command(subcommand)]
        action: sla::SlaAction,
    },
    /// The support queue during an outage (Intercom): the conversations about an incident,
    /// replied to with the canned status update, followed up once it is resolved.
    Support {
        #[command(subcommand)]
        action: support::SupportAction,
    },
    /// The loud alarm.
    Alarm {
        #[command(subcommand)]
        action: AlarmAction,
    },
    /// Serve the demo's flaky endpoint (200, then 503, in turns).
    DemoTarget {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8099")]
        listen: SocketAddr,
        /// How long it answers 200 each turn.
        #[arg(long, default_value = "25s", value_parser = humantime_duration)]
        up: Duration,
        /// How long it answers 503 each turn.
        #[arg(long, default_value = "20s", value_parser = humantime_duration)]
        down: Duration,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Validate the configuration; errors name the file, line and key. Exit 0 valid, 1 not.
    Check,
}

pub(crate) fn humantime_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// `foghorn config check`.
pub fn config_check(cli: &Cli) -> ExitCode {
    let Some(path) = config::resolve_path(cli.config.as_deref()) else {
        eprintln!(
            "foghorn: no configuration file given and no OS config directory; use --config PATH"
        );
        return ExitCode::from(1);
    };
    match Config::load(&path) {
        Ok(c) => {
            let cannot_start = feeds_that_cannot_start(&path, &c);
            if !cannot_start.is_empty() {
                for problem in cannot_start {
                    eprintln!("{problem}");
                }
                return ExitCode::from(1);
            }
            println!(
                "{}: OK ({} monitor{}, {} feed{})",
                path.display(),
                c.monitors.len(),
                if c.monitors.len() == 1 { "" } else { "s" },
                c.feeds.len(),
                if c.feeds.len() == 1 { "" } else { "s" },
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Builds every feed as `foghorn run` does (secrets read, URLs parsed), so a feed that would
/// not start fails the check instead of being a log line while the app runs on without it.
/// Each problem names the file, the line of its `[[feeds]]`, the entry and the feed.
fn feeds_that_cannot_start(path: &std::path::Path, config: &Config) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<usize> = text
        .match_indices("[[feeds]]")
        .map(|(at, _)| text[..at].matches('\n').count() + 1)
        .collect();
    config
        .feeds
        .iter()
        .enumerate()
        .filter_map(|(i, feed)| {
            let e = foghorn_core::feed::from_config(feed).err()?;
            let at = lines
                .get(i)
                .map(|line| format!("{}:{line}", path.display()))
                .unwrap_or_else(|| path.display().to_string());
            // The error starts with the feed's name.
            Some(format!("{at}: feeds[{i}] cannot start: {e}"))
        })
        .collect()
}
