//! `foghorn incidents`, `foghorn ack ID`, `foghorn resolve ID`: the same database as the
//! running app (SQLite in WAL mode lets both use it at once; the app notices a change made
//! here within a second and silences its alarm).

use std::path::Path;
use std::process::ExitCode;

use foghorn_core::config::{self, Config};
use foghorn_core::incident::{IncidentAction, IncidentState, IncidentView};
use foghorn_core::notify::human_duration;
use foghorn_core::paths;
use foghorn_core::store::Store;
use time::OffsetDateTime;

/// Incidents listed: every open one and this many recently resolved.
const RECENT: usize = 50;

fn open_store() -> Result<Store, String> {
    let dir = paths::data_dir().ok_or("no data directory: set FOGHORN_DATA_DIR")?;
    Store::open(&dir).map_err(|e| e.to_string())
}

/// Who did it, for the timeline: the configured name if there is one, and where from.
fn actor(config: Option<&Path>) -> String {
    let name = config::resolve_path(config)
        .filter(|p| p.exists())
        .and_then(|p| Config::load(&p).ok())
        .and_then(|c| c.me.names.first().cloned());
    match name {
        Some(name) => format!("{name} (cli)"),
        None => "cli".to_owned(),
    }
}

pub fn list(json: bool) -> ExitCode {
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let incidents = match store.recent_incidents(RECENT) {
        Ok(list) => list,
        Err(e) => return fail(&e.to_string()),
    };
    if json {
        return print_json(&incidents);
    }
    if incidents.is_empty() {
        println!("No incidents.");
        return ExitCode::SUCCESS;
    }
    let now = OffsetDateTime::now_utc();
    for i in &incidents {
        println!("{}", line(i, now));
    }
    ExitCode::SUCCESS
}

fn line(i: &IncidentView, now: OffsetDateTime) -> String {
    let state = match i.state {
        IncidentState::Triggered if i.snoozed(now) => "snoozed".to_owned(),
        s => s.as_str().to_owned(),
    };
    let age = human_duration(i.resolved_at.unwrap_or(now) - i.opened_at);
    let mut out = format!(
        "#{:<5} {:<8} {:<12} {}  ({} {age})",
        i.id,
        i.severity.as_str(),
        state,
        i.title,
        if i.is_open() { "open for" } else { "lasted" },
    );
    if let Some(by) = &i.acked_by {
        out.push_str(&format!(", acknowledged by {by}"));
    }
    if let Some(who) = &i.assignee {
        out.push_str(&format!(", taken by {who}"));
    }
    out
}

pub fn act(config: Option<&Path>, id: i64, action: IncidentAction, json: bool) -> ExitCode {
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let by = actor(config);
    let now = OffsetDateTime::now_utc();
    let done = store.write_blocking(move |tx| {
        foghorn_core::store::act_on_incident_in(tx, id, action, &by, now)
    });
    match done {
        Ok((incident, _)) if json => print_json(&incident),
        Ok((incident, changed)) => {
            let verb = match action {
                IncidentAction::Acknowledge => "acknowledged",
                IncidentAction::Resolve => "resolved",
                IncidentAction::Snooze => "snoozed for 10 minutes",
                IncidentAction::ReassignToMe => "taken",
            };
            if changed {
                println!("Incident #{id} {verb}: {}", incident.title);
            } else {
                println!("Incident #{id} was already {verb}: {}", incident.title);
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("foghorn: {message}");
    ExitCode::from(1)
}
