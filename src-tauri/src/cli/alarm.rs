//! `foghorn alarm test`: rings the loud alarm the way an incident would, so a user can check
//! that it is heard (and at what volume) before the night it matters.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use foghorn_core::alarm::{Alarm, AlarmSettings, AlarmState};

use crate::alarm::RodioPlayer;

#[derive(Debug, Subcommand)]
pub enum AlarmAction {
    /// Ring the alarm with the configured settings until Enter is pressed (or, without
    /// --for, stdin closes).
    ///
    /// Prints `ringing: …` once the sound plays and `silent after N ms` once it stopped.
    /// Exit 0 when it rang, 1 when there is no audio output (the reason on stderr), 2 when
    /// the configuration is invalid.
    Test(AlarmTestArgs),
}

#[derive(Debug, Args)]
pub struct AlarmTestArgs {
    /// Volume from 0 to 1 instead of the configured one.
    #[arg(long, value_parser = volume)]
    pub volume: Option<f32>,
    /// A sound file instead of the configured one.
    #[arg(long, value_name = "FILE")]
    pub sound: Option<PathBuf>,
    /// Switch to the urgent sound after this long instead of the configured `escalate_after`.
    #[arg(long, value_name = "DURATION", value_parser = super::humantime_duration)]
    pub escalate_after: Option<Duration>,
    /// Stop by itself after this long.
    #[arg(long = "for", value_name = "DURATION", value_parser = super::humantime_duration)]
    pub duration: Option<Duration>,
}

fn volume(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a volume from 0 to 1")),
    }
}

pub fn alarm(config: Option<&std::path::Path>, action: &AlarmAction) -> ExitCode {
    let AlarmAction::Test(args) = action;
    let mut settings = match crate::startup::locate(config).1 {
        Ok(Some(c)) => foghorn_core::alarm::AlarmSettings::from_config(&c.alarm),
        Ok(None) => AlarmSettings::default(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(v) = args.volume {
        settings.volume = v;
        settings.escalated_volume = settings.escalated_volume.max(v);
    }
    if let Some(path) = &args.sound {
        settings.sound = Some(path.clone());
    }
    if let Some(after) = args.escalate_after {
        settings.escalate_after = after;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("foghorn: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(ring_until_stopped(settings, args.duration))
}

async fn ring_until_stopped(settings: AlarmSettings, duration: Option<Duration>) -> ExitCode {
    let what = match &settings.sound {
        Some(p) => p.display().to_string(),
        None => "the bundled alert".to_owned(),
    };
    let volume = settings.volume;
    let alarm = Arc::new(Alarm::new(Arc::new(RodioPlayer::new()), settings));
    alarm.ring(0);
    if let AlarmState::Unavailable(reason) = alarm.state() {
        eprintln!("foghorn: {reason}");
        return ExitCode::from(1);
    }
    println!("ringing: {what} at volume {volume} (press Enter to stop)");
    let _ = std::io::stdout().flush();
    let mut states = alarm.subscribe();
    // Whether a line (rather than the end of input) was read.
    let stdin = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        matches!(std::io::stdin().lock().read_line(&mut line), Ok(n) if n > 0)
    });
    let mut reading = true;
    let until = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stdin, until);
    loop {
        tokio::select! {
            line = &mut stdin, if reading => {
                // With --for, a closed stdin (a script, a service) is no reason to stop.
                if matches!(line, Ok(true)) || duration.is_none() {
                    break;
                }
                reading = false;
            }
            _ = &mut until => break,
            changed = states.changed() => {
                if changed.is_err() {
                    break;
                }
                let state = states.borrow_and_update().clone();
                match state {
                    AlarmState::Ringing(level) => println!("ringing: {level:?}"),
                    AlarmState::Unavailable(reason) => eprintln!("foghorn: {reason}"),
                    AlarmState::Quiet => {}
                }
                let _ = std::io::stdout().flush();
            }
        }
    }
    let started = Instant::now();
    alarm.silence(0);
    println!("silent after {} ms", started.elapsed().as_millis());
    ExitCode::SUCCESS
}
