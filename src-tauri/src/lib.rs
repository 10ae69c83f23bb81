//! Foghorn's desktop shell: the `foghorn` command, the tray icon, the window and native
//! notifications. It only translates between the core engine and the desktop; the domain
//! lives in `foghorn-core`.

mod alarm;
mod app;
mod bridge;
mod cli;
mod commands;
mod error;
mod headless;
mod notifier;
mod platform;
mod startup;
mod tray;
mod window;

use std::process::ExitCode;

use clap::Parser;

/// Entry point of the `foghorn` binary.
pub fn run() -> ExitCode {
    let cli = cli::Cli::parse();
    startup::init_logging();
    match cli.command {
        None => app::run(&cli, false),
        Some(cli::Command::Run {
            headless: false,
            show_window,
        }) => app::run(&cli, show_window),
        Some(cli::Command::Run { headless: true, .. }) => headless::run(&cli),
        Some(cli::Command::Config {
            action: cli::ConfigAction::Check,
        }) => cli::config_check(&cli),
        Some(cli::Command::Check(args)) => cli::check(&args),
        Some(cli::Command::Import { source }) => cli::import(&source),
        Some(cli::Command::Incidents { json }) => cli::incidents::list(json),
        Some(cli::Command::Ack { id, json }) => cli::incidents::act(
            cli.config.as_deref(),
            id,
            foghorn_core::incident::IncidentAction::Acknowledge,
            json,
        ),
        Some(cli::Command::Resolve { id, json }) => cli::incidents::act(
            cli.config.as_deref(),
            id,
            foghorn_core::incident::IncidentAction::Resolve,
            json,
        ),
        Some(cli::Command::Oncall(ref args)) => cli::oncall(&cli, args),
        Some(cli::Command::Secret { action }) => cli::secret(&action),
        Some(cli::Command::Heartbeats) => cli::heartbeats::list(cli.config.as_deref()),
        Some(cli::Command::Status { action }) => cli::status::status(cli.config.as_deref(), action),
        Some(cli::Command::Letter { action }) => cli::letter::letter(cli.config.as_deref(), action),
        Some(cli::Command::Sla { action }) => cli::sla::sla(cli.config.as_deref(), action),
        Some(cli::Command::Postmortem(args)) => {
            cli::postmortem::postmortem(cli.config.as_deref(), args)
        }
        Some(cli::Command::Support { action }) => {
            cli::support::support(cli.config.as_deref(), action)
        }
        Some(cli::Command::Alarm { action }) => cli::alarm(cli.config.as_deref(), &action),
        Some(cli::Command::DemoTarget { listen, up, down }) => {
            headless::demo_target(listen, up, down)
        }
    }
}
