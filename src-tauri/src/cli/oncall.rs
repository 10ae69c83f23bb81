//! `foghorn oncall [--at TIME] [--json] [--override-until TIME|none]`: who is on call then, from
//! the configured schedule, and whether that is the configured user.

use std::process::ExitCode;

use clap::Args;
use foghorn_core::config::{self, Config};
use foghorn_core::oncall::{OncallService, OncallStatus};
use foghorn_core::paths;
use foghorn_core::secret::Confidential;
use foghorn_core::store::{Store, DB_FILE};
use time::OffsetDateTime;

use super::Cli;

#[derive(Debug, Args)]
pub struct OncallArgs {
    /// The time to ask about, RFC 3339 (e.g. 2026-11-26T10:00:00Z) [default: now]
    #[arg(long, value_name = "RFC3339", value_parser = parse_at)]
    pub at: Option<OffsetDateTime>,
    /// Print one JSON document instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// Say you are on call until TIME whatever the schedule says: `18:00` (the next 18:00,
    /// local time), an RFC 3339 time, or `none` to clear it.
    #[arg(long, value_name = "TIME")]
    pub override_until: Option<String>,
}

/// Exit codes, as documented in `--help`.
const FAILED: u8 = 1;
const INVALID_INPUT: u8 = 2;

fn parse_at(s: &str) -> Result<OffsetDateTime, String> {
    foghorn_core::time_fmt::parse_rfc3339(s)
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time like 2026-11-26T10:00:00Z"))
}

fn shown(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| foghorn_core::time_fmt::rfc3339(t))
}

pub fn oncall(cli: &Cli, args: &OncallArgs) -> ExitCode {
    let Some(path) = config::resolve_path(cli.config.as_deref()) else {
        eprintln!(
            "foghorn oncall: no configuration file given and no OS config directory; use --config PATH"
        );
        return ExitCode::from(FAILED);
    };
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(e @ config::ConfigError::NotFound(_)) => {
            eprintln!("foghorn oncall: {e}");
            return ExitCode::from(FAILED);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(INVALID_INPUT);
        }
    };
    let Some(mut oncall) = config.oncall.clone() else {
        eprintln!(
            "foghorn oncall: {} has no [oncall] section; add one with `calendar = \"https://…/oncall.ics\"` (a URL or a file path) or `source = \"pagerduty\"`",
            path.display()
        );
        return ExitCode::from(FAILED);
    };
    if let Some(Confidential::Clear(calendar)) = &mut oncall.calendar {
        *calendar = foghorn_core::oncall::resolve_calendar(calendar, &path);
    }
    let now = OffsetDateTime::now_utc();
    let override_until = match args
        .override_until
        .as_deref()
        .map(|s| foghorn_core::oncall::parse_override(s, now))
    {
        None => None,
        Some(Ok(until)) => Some(until),
        Some(Err(message)) => {
            eprintln!("foghorn oncall: --override-until: {message}");
            return ExitCode::from(INVALID_INPUT);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("foghorn oncall: cannot start the async runtime: {e}");
            return ExitCode::from(FAILED);
        }
    };
    let store = match open_store(override_until.is_some()) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("foghorn oncall: {message}");
            return ExitCode::from(FAILED);
        }
    };
    let identities = config.me.names.clone();
    runtime.block_on(async move {
        let service = OncallService::new(Some(oncall), &config.feeds, config.me, store);
        if let Some(until) = override_until {
            if let Err(e) = service.set_override(until).await {
                eprintln!("foghorn oncall: cannot save the override: {e}");
                return ExitCode::from(FAILED);
            }
        }
        let at = args.at.unwrap_or(now);
        service.refresh_around(at).await;
        let status = service.status(at);
        let error = service.last_error();
        if let Some(e) = &error {
            if service.has_schedule() {
                let age = status
                    .source
                    .age_secs
                    .map(|s| {
                        humantime::format_duration(std::time::Duration::from_secs(s)).to_string()
                    })
                    .unwrap_or_default();
                eprintln!("foghorn oncall: {e}; using the last good copy, fetched {age} ago");
            } else {
                eprintln!("foghorn oncall: {e}");
            }
        }
        if error.is_none() || service.has_schedule() {
            if args.json {
                match serde_json::to_string_pretty(&status) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("foghorn oncall: {e}");
                        return ExitCode::from(FAILED);
                    }
                }
            } else {
                println!("{}", sentence(&status, &identities));
            }
        }
        match error {
            Some(e) if e.is_malformed() => ExitCode::from(INVALID_INPUT),
            Some(_) if !service.has_schedule() => ExitCode::from(FAILED),
            _ => ExitCode::SUCCESS,
        }
    })
}

/// The database only if it exists already (the cached copy and the override are read from
/// it), unless an override is to be saved; otherwise a private in-memory one.
fn open_store(create: bool) -> Result<Store, String> {
    let dir = paths::data_dir();
    match dir {
        Some(dir) if create || dir.join(DB_FILE).exists() => {
            Store::open(&dir).map_err(|e| e.to_string())
        }
        None if create => {
            Err("no data directory to keep the override in: set FOGHORN_DATA_DIR".to_owned())
        }
        _ => Store::in_memory().map_err(|e| e.to_string()),
    }
}

/// `2026-11-26 10:00 UTC: Alice Smith (you) is on call until 2026-11-27 09:00 UTC`.
fn sentence(status: &OncallStatus, identities: &[String]) -> String {
    // `Carol Jones <carol@example.com>` is you by either the name or the address.
    let is_you = |shown: &str| {
        identities.iter().any(|i| {
            foghorn_core::oncall::names_of_shown(shown)
                .iter()
                .any(|n| n.eq_ignore_ascii_case(i.trim()))
        })
    };
    let names: Vec<String> = status
        .on_call_now
        .iter()
        .map(|n| {
            if is_you(n) {
                format!("{n} (you)")
            } else {
                n.clone()
            }
        })
        .collect();
    let anyone_marked = status.on_call_now.iter().any(|n| is_you(n));
    let who = match names.as_slice() {
        [] => "nobody".to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    let verb = if names.len() > 1 { "are" } else { "is" };
    let mut out = format!("{}: ", shown(status.at));
    match (status.you_are_on_call, status.until) {
        (true, Some(until)) if anyone_marked => {
            out.push_str(&format!("{who} {verb} on call until {}", shown(until)));
        }
        (true, Some(until)) => {
            out.push_str(&format!("you are on call until {}", shown(until)));
            if status.override_until.is_some() {
                out.push_str(" (override)");
            }
            if !status.on_call_now.is_empty() {
                out.push_str(&format!("; the schedule has {who}"));
            }
        }
        _ => {
            out.push_str(&format!("{who} {verb} on call"));
            match status.next_shift {
                Some(next) => out.push_str(&format!(
                    "; your next shift: {} to {}",
                    shown(next.start),
                    shown(next.end)
                )),
                None => out.push_str("; you have no shift in the next 35 days"),
            }
        }
    }
    if status.source.stale {
        out.push_str(" (from an older copy of the schedule)");
    }
    out
}
