//! `foghorn support queue|reply|follow-up|canned`: the support queue during an outage
//! (Intercom), from the command line. Replies go through the same outbox as the app: one
//! that cannot be sent now is retried by the running app, or by the next command.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use foghorn_core::config::Config;
use foghorn_core::incident::IncidentView;
use foghorn_core::store::{SeenConversation, Store};
use foghorn_core::support::{self, Canned, Conversation, Desk, Kind, Outgoing};
use time::OffsetDateTime;

use super::status::{fail, load, open_store, runtime};

#[derive(Debug, Subcommand)]
pub enum SupportAction {
    /// The open Intercom conversations about an incident (created or updated since it
    /// started, matching `[intercom] keywords` or a component's name), oldest waiting first.
    Queue {
        #[arg(long)]
        incident: i64,
        /// One JSON document instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Replies to the queue's conversations with the canned outage reply (the newest status
    /// update, with the customer's name) and tags each with the incident. Without --yes,
    /// shows each reply and asks first.
    Reply(SendArgs),
    /// Once the incident is resolved, one follow-up to each conversation that got a reply.
    FollowUp(SendArgs),
    /// Prints the canned reply, for any other helpdesk.
    Canned {
        #[arg(long)]
        incident: i64,
        /// The follow-up's text instead of the reply's.
        #[arg(long)]
        follow_up: bool,
    },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[arg(long)]
    incident: i64,
    /// Only this conversation (Intercom's id); repeat for several. Default: every
    /// conversation not answered yet.
    #[arg(long = "conversation", value_name = "ID")]
    conversations: Vec<String>,
    /// The text instead of the canned one; `{{ name }}`, `{{ status }}`, `{{ page_url }}`
    /// and `{{ product }}` are filled in.
    #[arg(long)]
    message: Option<String>,
    /// Send without showing the replies and asking.
    #[arg(long)]
    yes: bool,
    /// Print `{"incident": …, "conversations": {id: state}, "asked": …, "answered": …}`.
    #[arg(long)]
    json: bool,
    /// How long to wait for Intercom before leaving the rest to the outbox.
    #[arg(long, default_value = "30s", value_parser = super::humantime_duration)]
    wait: Duration,
}

/// What every subcommand needs.
struct Setup {
    config: Config,
    store: Store,
    incident: IncidentView,
}

fn setup(config: Option<&Path>, incident: i64) -> Result<Setup, String> {
    let config = load(config)?;
    if config.intercom.is_none() {
        return Err(
            "the configuration has no [intercom] section (see the README's Support queue)"
                .to_owned(),
        );
    }
    let store = open_store()?;
    let incident = store
        .incident(incident)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no incident {incident}"))?;
    Ok(Setup {
        config,
        store,
        incident,
    })
}

pub fn support(config: Option<&Path>, action: SupportAction) -> ExitCode {
    match action {
        SupportAction::Queue { incident, json } => queue(config, incident, json),
        SupportAction::Reply(args) => send(config, Kind::Reply, args),
        SupportAction::FollowUp(args) => send(config, Kind::FollowUp, args),
        SupportAction::Canned {
            incident,
            follow_up,
        } => canned(config, incident, follow_up),
    }
}

fn desk(setup: &Setup) -> Option<Desk> {
    setup.config.intercom.as_ref().map(Desk::new)
}

/// Fetches the queue (and records what it saw).
async fn fetch(setup: &Setup, desk: &Desk) -> Result<Vec<Conversation>, String> {
    let Some(intercom) = setup.config.intercom.as_ref() else {
        return Err("no [intercom]".to_owned());
    };
    let words = support::search_words(intercom, setup.config.status.as_ref());
    support::queue(
        desk.client(),
        &setup.store,
        &setup.incident,
        &words,
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(|e| e.to_string())
}

fn summary(store: &Store, incident: i64) -> Result<(String, serde_json::Value), String> {
    let counts = store.support_counts(incident).map_err(|e| e.to_string())?;
    let line = format!(
        "{} customer{} asked; {} answered{}",
        counts.asked,
        if counts.asked == 1 { "" } else { "s" },
        counts.answered,
        if counts.followed_up > 0 {
            format!("; {} followed up", counts.followed_up)
        } else {
            String::new()
        }
    );
    Ok((line, serde_json::to_value(counts).unwrap_or_default()))
}

fn seen_by_id(store: &Store, incident: i64) -> Result<BTreeMap<String, SeenConversation>, String> {
    Ok(store
        .support_conversations(incident)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| (s.conversation_id.clone(), s))
        .collect())
}

/// "12 min", "2 h 5 min".
fn waited(since: i64, now: OffsetDateTime) -> String {
    foghorn_core::status::template::duration(time::Duration::seconds(now.unix_timestamp() - since))
}

fn queue(config: Option<&Path>, incident: i64, json: bool) -> ExitCode {
    let setup = match setup(config, incident) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let Some(desk) = desk(&setup) else {
        return fail("no [intercom]");
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let list = match runtime.block_on(fetch(&setup, &desk)) {
        Ok(l) => l,
        Err(e) => return fail(&e),
    };
    let (seen, (line, counts)) = match seen_by_id(&setup.store, incident)
        .and_then(|seen| Ok((seen, summary(&setup.store, incident)?)))
    {
        Ok(both) => both,
        Err(e) => return fail(&e),
    };
    let now = OffsetDateTime::now_utc();
    if json {
        let conversations: Vec<serde_json::Value> = list
            .iter()
            .map(|c| {
                let s = seen.get(&c.id);
                let mut v = serde_json::to_value(c).unwrap_or_default();
                v["answered"] = s.is_some_and(|s| s.answered_at.is_some()).into();
                v["followedUp"] = s.is_some_and(|s| s.followed_up_at.is_some()).into();
                v
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "incident": incident,
                "conversations": conversations,
                "counts": counts,
                "summary": line,
            })
        );
    } else {
        println!(
            "Incident {incident} — {}: the support queue, oldest waiting first",
            setup.incident.title
        );
        if list.is_empty() {
            println!("  (no open conversation about it)");
        }
        for c in &list {
            let who = match (&c.name, &c.email) {
                (Some(n), Some(e)) => format!("{n} <{e}>"),
                (Some(n), None) => n.clone(),
                (None, Some(e)) => e.clone(),
                (None, None) => "(no name)".to_owned(),
            };
            let state = match seen.get(&c.id) {
                Some(s) if s.followed_up_at.is_some() => "followed up",
                Some(s) if s.answered_at.is_some() => "answered",
                _ => "waiting",
            };
            println!(
                "  #{:<8} {:<10} waited {:<10} {who} — {:?} [{}]",
                c.id,
                state,
                waited(c.waiting_since, now),
                c.subject,
                c.matched.join(", ")
            );
        }
        println!("{line}");
    }
    ExitCode::SUCCESS
}

fn canned(config: Option<&Path>, incident: i64, follow_up: bool) -> ExitCode {
    let setup = match setup(config, incident) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let kind = if follow_up {
        Kind::FollowUp
    } else {
        Kind::Reply
    };
    match Canned::for_incident(kind, setup.config.status.as_ref(), &setup.store, incident)
        .and_then(|c| c.personalise(None))
    {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Asks on the terminal; refuses without one.
fn confirm(question: &str) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err("not sent: add --yes to send without being asked".to_owned());
    }
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn send(config: Option<&Path>, kind: Kind, args: SendArgs) -> ExitCode {
    let setup = match setup(config, args.incident) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let incident = args.incident;
    let resolved = !setup.incident.is_open();
    match (kind, resolved) {
        (Kind::Reply, true) => {
            return fail(&format!(
                "incident {incident} is resolved: send the follow-up instead (foghorn support \
                 follow-up --incident {incident})"
            ))
        }
        (Kind::FollowUp, false) => {
            return fail(&format!(
                "incident {incident} is not resolved yet: the follow-up goes once it is"
            ))
        }
        _ => {}
    }
    let Some(desk) = desk(&setup) else {
        return fail("no [intercom]");
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // The reply looks at the queue as it is now; the follow-up at who got a reply.
    let fetched = match kind {
        Kind::Reply => match runtime.block_on(fetch(&setup, &desk)) {
            Ok(l) => l,
            Err(e) => return fail(&e),
        },
        Kind::FollowUp => Vec::new(),
    };
    let seen = match seen_by_id(&setup.store, incident) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let (targets, skipped) =
        match support::plan(kind, &fetched, &seen, &args.conversations, incident) {
            Ok(plan) => plan,
            Err(e) => return fail(&e),
        };
    let canned =
        match Canned::for_incident(kind, setup.config.status.as_ref(), &setup.store, incident)
            .and_then(|c| match &args.message {
                Some(m) => c.with_template(m),
                None => Ok(c),
            }) {
            Ok(c) => c,
            Err(e) => return fail(&e.to_string()),
        };
    let mut outgoing = Vec::new();
    for (id, name) in &targets {
        match canned.personalise(name.as_deref()) {
            Ok(text) => outgoing.push(Outgoing {
                conversation_id: id.clone(),
                text,
            }),
            Err(e) => return fail(&e.to_string()),
        }
    }
    let what = match kind {
        Kind::Reply => "reply",
        Kind::FollowUp => "follow-up",
    };
    if !args.yes && !outgoing.is_empty() {
        for o in &outgoing {
            println!("── #{} ──\n{}\n", o.conversation_id, o.text);
        }
        let n = outgoing.len();
        match confirm(&format!(
            "Send the {what} to {n} conversation{}?",
            if n == 1 { "" } else { "s" }
        )) {
            Ok(true) => {}
            Ok(false) => {
                println!("Not sent.");
                return ExitCode::from(1);
            }
            Err(e) => return fail(&e),
        }
    }
    let keys: Vec<String> = targets
        .iter()
        .map(|(id, _)| support::idempotency_key(incident, id, kind))
        .collect();
    let store = setup.store.clone();
    runtime.block_on(async {
        if let Err(e) =
            support::record(&store, incident, kind, outgoing, OffsetDateTime::now_utc()).await
        {
            eprintln!("foghorn: {e}");
            return;
        }
        send_pending(&desk, &store, incident, args.wait).await;
    });
    let outbox = match store.outbox() {
        Ok(o) => o,
        Err(e) => return fail(&e.to_string()),
    };
    let (line, counts) = match summary(&store, incident) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let mut states = serde_json::Map::new();
    let mut errors = serde_json::Map::new();
    let mut all_sent = true;
    for ((id, _), key) in targets.iter().zip(&keys) {
        let entry = outbox.iter().find(|e| &e.idempotency_key == key);
        let state = match entry {
            Some(e) if e.sent => "sent",
            Some(e) if e.failed => "failed",
            _ => "waiting",
        };
        all_sent &= state == "sent";
        states.insert(id.clone(), state.into());
        if let Some(error) = entry.and_then(|e| e.last_error.clone()) {
            if state != "sent" {
                errors.insert(id.clone(), error.into());
            }
        }
    }
    for id in &skipped {
        states.insert(id.clone(), "already sent".into());
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "incident": incident,
                "kind": what,
                "conversations": states,
                "errors": errors,
                "counts": counts,
                "summary": line,
            })
        );
    } else {
        if states.is_empty() {
            println!("No conversation waits for the {what}.");
        }
        for (id, state) in &states {
            let detail = errors
                .get(id)
                .and_then(|e| e.as_str())
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            let state = match state.as_str() {
                Some("waiting") => "waiting (the app retries it, or the next command)",
                Some(s) => s,
                None => "",
            };
            println!("  #{id:<8} {what} {state}{detail}");
        }
        println!("{line}");
    }
    if all_sent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Sends what the outbox holds for the incident's support queue until each message is
/// settled or `wait` has passed.
async fn send_pending(desk: &Desk, store: &Store, incident: i64, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    let prefix = format!("support:{incident}:");
    loop {
        let due = match store.due_messages(OffsetDateTime::now_utc()) {
            Ok(due) => due,
            Err(e) => {
                eprintln!("foghorn: cannot read the outbox: {e}");
                return;
            }
        };
        for row in due
            .into_iter()
            .filter(|row| row.idempotency_key.starts_with(&prefix))
        {
            foghorn_core::outbox::send(
                store,
                row,
                |row| async move { desk.deliver(store, &row).await },
            )
            .await;
        }
        match store.unsettled(&prefix) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                eprintln!("foghorn: cannot read the outbox: {e}");
                return;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
