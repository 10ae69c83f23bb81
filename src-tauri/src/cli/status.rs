//! `foghorn status post …` and `foghorn status page build DIR`: public status updates from
//! the command line, through the same outbox as the app (a destination that cannot be
//! reached now is retried by the running app, or by the next post).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use foghorn_core::config::{self, Config};
use foghorn_core::status::compose::{compose, Draft};
use foghorn_core::status::publish::{build_page, Publisher};
use foghorn_core::status::{ComponentStatus, Destination, PublicState};
use foghorn_core::store::{ReceiptState, Store};
use time::OffsetDateTime;

#[derive(Debug, Subcommand)]
pub enum StatusAction {
    /// Publishes an update to every configured destination (Statuspage, the team chat, the
    /// self-hosted page, the webhook). Without --yes, shows each destination's preview and
    /// asks first.
    Post(PostArgs),
    /// Sends one destination's copy of an update again (after it failed for good), leaving
    /// the others as they are.
    Retry(RetryArgs),
    /// The self-hosted page.
    Page {
        #[command(subcommand)]
        action: PageAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum PageAction {
    /// Rewrites the self-hosted page (index.html, history.atom, api/v2/*.json) in DIR from
    /// the database.
    Build { dir: PathBuf },
}

#[derive(Debug, Args)]
pub struct PostArgs {
    /// The public title (default: the public incident's, else the incident's).
    #[arg(long)]
    title: Option<String>,
    /// investigating, identified, monitoring, resolved; for maintenance: scheduled,
    /// in_progress, verifying, completed.
    #[arg(long, value_parser = parse_state)]
    status: PublicState,
    /// The text (default: the state's template).
    #[arg(long, conflicts_with = "message_file")]
    message: Option<String>,
    /// Read the text from a file (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    message_file: Option<PathBuf>,
    /// NAME=STATUS (operational, degraded_performance, partial_outage, major_outage,
    /// under_maintenance); repeat for several. Default: from the failing monitors.
    #[arg(long = "component", value_name = "NAME=STATUS", value_parser = parse_component)]
    components: Vec<(String, ComponentStatus)>,
    /// When the next update is promised (default: [status] next_update).
    #[arg(long, value_parser = super::humantime_duration)]
    next_update: Option<Duration>,
    /// The Foghorn incident it reports on (its timeline records the update).
    #[arg(long)]
    incident: Option<i64>,
    /// Continue this public incident (the id the first post printed).
    #[arg(long)]
    id: Option<i64>,
    /// Only these destinations: statuspage,chat,page,webhook.
    #[arg(long, value_delimiter = ',', value_parser = parse_destination)]
    to: Option<Vec<Destination>>,
    /// Publish without showing the previews and asking.
    #[arg(long)]
    yes: bool,
    /// Print `{"id": …, "update": …, "destinations": {name: state}}`.
    #[arg(long)]
    json: bool,
    /// How long to wait for the destinations before leaving the rest to the outbox.
    #[arg(long, default_value = "30s", value_parser = super::humantime_duration)]
    wait: Duration,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The update (its number is in `status post`'s answer and on the incident's timeline).
    update: i64,
    /// The destination to send again: statuspage, chat, page or webhook.
    #[arg(long, value_parser = parse_destination)]
    to: Destination,
    /// Print `{"id": …, "update": …, "destinations": {name: state}, "errors": {…}}`.
    #[arg(long)]
    json: bool,
    /// How long to wait for the destination before leaving it to the outbox.
    #[arg(long, default_value = "30s", value_parser = super::humantime_duration)]
    wait: Duration,
}

fn parse_state(s: &str) -> Result<PublicState, String> {
    PublicState::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a state; one of {}",
            PublicState::ALL.map(|s| s.as_str()).join(", ")
        )
    })
}

fn parse_destination(s: &str) -> Result<Destination, String> {
    Destination::parse(s.trim()).ok_or_else(|| {
        format!(
            "{s:?} is not a destination; one of {}",
            Destination::ALL.map(|d| d.as_str()).join(", ")
        )
    })
}

fn parse_component(s: &str) -> Result<(String, ComponentStatus), String> {
    let (name, status) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: write NAME=STATUS, e.g. API=major_outage"))?;
    let status = ComponentStatus::parse(status.trim()).ok_or_else(|| {
        format!(
            "{status:?} is not a component status; one of {}",
            ComponentStatus::ALL.map(|c| c.as_str()).join(", ")
        )
    })?;
    Ok((name.trim().to_owned(), status))
}

pub(crate) fn fail(message: &str) -> ExitCode {
    eprintln!("foghorn: {message}");
    ExitCode::from(1)
}

/// The configuration with its `[status]`: the file's, or the demo's when there is no file.
pub(crate) fn load(config: Option<&Path>) -> Result<Config, String> {
    let path = config::resolve_path(config)
        .ok_or("no configuration file given and no OS config directory; use --config PATH")?;
    if !path.exists() && config.is_none() {
        let data_dir = foghorn_core::paths::data_dir();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8099));
        return foghorn_core::demo::config(addr, data_dir.as_deref()).map_err(|e| e.to_string());
    }
    Config::load(&path).map_err(|e| e.to_string())
}

pub(crate) fn open_store() -> Result<Store, String> {
    let dir = foghorn_core::paths::data_dir().ok_or("no data directory: set FOGHORN_DATA_DIR")?;
    Store::open(&dir).map_err(|e| e.to_string())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))
}

pub fn status(config: Option<&Path>, action: StatusAction) -> ExitCode {
    match action {
        StatusAction::Post(args) => post(config, args),
        StatusAction::Retry(args) => retry(config, args),
        StatusAction::Page {
            action: PageAction::Build { dir },
        } => build(config, &dir),
    }
}

fn build(config: Option<&Path>, dir: &Path) -> ExitCode {
    let (config, store) = match load(config).and_then(|c| Ok((c, open_store()?))) {
        Ok(both) => both,
        Err(e) => return fail(&e),
    };
    let Some(status) = config.status else {
        return fail("the configuration has no [status] section (see the README's Status updates)");
    };
    match build_page(&status, &store, dir, OffsetDateTime::now_utc()) {
        Ok(()) => {
            println!("{}", dir.join("index.html").display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn post(config_path: Option<&Path>, args: PostArgs) -> ExitCode {
    let (config, store) = match load(config_path).and_then(|c| Ok((c, open_store()?))) {
        Ok(both) => both,
        Err(e) => return fail(&e),
    };
    let author = config
        .me
        .names
        .first()
        .map(|n| format!("{n} (cli)"))
        .unwrap_or_else(|| "cli".to_owned());
    let Some(status) = config.status.clone() else {
        return fail("the configuration has no [status] section (see the README's Status updates)");
    };
    let message = match (&args.message, &args.message_file) {
        (Some(m), _) => Some(m.clone()),
        (None, Some(file)) if file == Path::new("-") => {
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                return fail(&format!("cannot read the message from standard input: {e}"));
            }
            Some(text)
        }
        (None, Some(file)) => match std::fs::read_to_string(file) {
            Ok(text) => Some(text),
            Err(e) => return fail(&format!("cannot read {}: {e}", file.display())),
        },
        (None, None) => None,
    };
    let publisher = Publisher::new(status.clone(), config.escalation.clone());
    let draft = Draft {
        public_id: args.id,
        incident_id: args.incident,
        title: args.title.clone(),
        state: args.status,
        components: args.components.iter().cloned().collect::<BTreeMap<_, _>>(),
        message,
        next_update: args.next_update,
        to: args.to.clone(),
        author,
    };
    let composed = match compose(
        &status,
        &store,
        draft,
        &publisher.destinations(),
        OffsetDateTime::now_utc(),
    ) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    for warning in &composed.warnings {
        eprintln!("warning: {warning}");
    }
    if !args.yes {
        for (destination, preview) in publisher.previews(&composed) {
            println!("── {} ──\n{preview}\n", destination.label());
        }
        if !std::io::stdin().is_terminal() {
            return fail("not published: add --yes to publish without being asked");
        }
        print!(
            "Publish to {} destination{}? [y/N] ",
            composed.destinations.len(),
            if composed.destinations.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Not published.");
            return ExitCode::from(1);
        }
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    runtime.block_on(async move {
        let posted = match publisher.post(&store, &composed).await {
            Ok(p) => p,
            Err(e) => return fail(&e.to_string()),
        };
        send_pending(&publisher, &store, posted.public_id, args.wait).await;
        report(
            &store,
            posted.public_id,
            posted.update_id,
            args.json,
            &composed.warnings,
            !composed.state.is_closed(),
        )
    })
}

fn retry(config_path: Option<&Path>, args: RetryArgs) -> ExitCode {
    let (config, store) = match load(config_path).and_then(|c| Ok((c, open_store()?))) {
        Ok(both) => both,
        Err(e) => return fail(&e),
    };
    let Some(status) = config.status.clone() else {
        return fail("the configuration has no [status] section (see the README's Status updates)");
    };
    let public_id = match store.public_id_of_update(args.update) {
        Ok(Some(id)) => id,
        Ok(None) => return fail(&format!("there is no status update {}", args.update)),
        Err(e) => return fail(&e.to_string()),
    };
    let publisher = Publisher::new(status, config.escalation.clone());
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    runtime.block_on(async move {
        match store.retry_destination(args.update, args.to).await {
            Ok(true) => {}
            Ok(false) => {
                return fail(&format!(
                "update {} has no unsent message to {}: it was published, or never addressed to it",
                args.update,
                args.to.label()
            ))
            }
            Err(e) => return fail(&e.to_string()),
        }
        send_pending(&publisher, &store, public_id, args.wait).await;
        report(&store, public_id, args.update, args.json, &[], false)
    })
}

/// Prints each destination's receipt of an update; success when every one published.
fn report(
    store: &Store,
    public_id: i64,
    update_id: i64,
    json: bool,
    warnings: &[String],
    continues: bool,
) -> ExitCode {
    let receipts = match store.receipts(update_id) {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string()),
    };
    let published = receipts
        .iter()
        .filter(|r| r.state == ReceiptState::Published)
        .count();
    if json {
        let destinations: serde_json::Map<String, serde_json::Value> = receipts
            .iter()
            .map(|r| {
                (
                    r.destination.as_str().to_owned(),
                    serde_json::json!(r.state),
                )
            })
            .collect();
        let errors: serde_json::Map<String, serde_json::Value> = receipts
            .iter()
            .filter_map(|r| Some((r.destination.as_str().to_owned(), r.error.clone()?.into())))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "id": public_id,
                "update": update_id,
                "destinations": destinations,
                "errors": errors,
                "warnings": warnings,
            })
        );
    } else {
        println!(
            "Public incident {} — update {}: {published}/{} published",
            public_id,
            update_id,
            receipts.len()
        );
        for r in &receipts {
            let detail = match (&r.state, &r.error, &r.receipt) {
                (ReceiptState::Published, _, Some(receipt)) => format!(" ({receipt})"),
                (ReceiptState::Published, _, None) => String::new(),
                (_, Some(e), _) => format!(": {e}"),
                (_, None, _) => String::new(),
            };
            println!(
                "  {:<12} {}{detail}",
                r.destination.label(),
                match r.state {
                    ReceiptState::Published => "published",
                    ReceiptState::Waiting => "waiting (the app retries it, or the next post)",
                    ReceiptState::Failed => "failed",
                }
            );
        }
        for r in receipts.iter().filter(|r| r.state == ReceiptState::Failed) {
            println!(
                "Retry with: foghorn status retry {update_id} --to {}",
                r.destination.as_str()
            );
        }
        if continues {
            println!(
                "Continue with: foghorn status post --id {} --status …",
                public_id
            );
        }
    }
    if published == receipts.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Sends what the outbox holds for one public incident until each message is settled or
/// `wait` has passed.
async fn send_pending(publisher: &Publisher, store: &Store, public_id: i64, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    let prefix = format!("status:{public_id}:");
    loop {
        let now = OffsetDateTime::now_utc();
        let due = match store.due_messages(now) {
            Ok(due) => due,
            Err(e) => {
                eprintln!("foghorn: cannot read the outbox: {e}");
                return;
            }
        };
        let ours: Vec<_> = due
            .into_iter()
            .filter(|row| row.idempotency_key.starts_with(&prefix))
            .collect();
        for row in ours {
            let Some(destination) = Destination::from_outbox_channel(&row.channel) else {
                continue;
            };
            foghorn_core::outbox::send(store, row, |row| async move {
                publisher.deliver(store, &row, destination).await
            })
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
