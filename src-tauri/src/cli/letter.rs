//! `foghorn letter send|resume|status|pause|cancel`: the customer letter from the command
//! line. The ledger in the database is what a send resumes from, so running the same command
//! again after a crash sends nobody a second letter.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use foghorn_core::letter::compose::{self, Counted, Pass};
use foghorn_core::letter::credit::SlaFigures;
use foghorn_core::letter::draft::Draft;
use foghorn_core::letter::ledger::{self, file_digest, letter_key, Prepared};
use foghorn_core::letter::rate::Rate;
use foghorn_core::letter::recipients::{self, Filter};
use foghorn_core::letter::send::{self, Control, Job, Progress};
use foghorn_core::letter::{self, LetterError, Setup};
use foghorn_core::secret::SystemSecrets;
use foghorn_core::store::{LetterState, LetterSummary, LetterVia, NewLetter, Store};
use tokio::sync::watch;

use super::status::{fail, load, open_store, runtime};

#[derive(Debug, Subcommand)]
pub enum LetterAction {
    /// Sends LETTER.md to every customer in the list. Without --yes, shows the first letter,
    /// the count, the sender and the rate, and asks first. Run again after a crash or a
    /// pause, it resumes the same letter and sends nobody a second copy.
    Send(SendArgs),
    /// Resumes a paused or interrupted letter from the database (no files needed).
    Resume {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// The ledger of a letter (all letters without ID): accepted, in flight, failed.
    Status {
        id: Option<i64>,
        /// One JSON document.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// The recipients whose letter failed or bounced, as CSV (email,state,reason,attempts).
        #[arg(long, requires = "id")]
        csv: bool,
    },
    /// Pauses a letter being sent (the sender stops within a second; `resume` carries on).
    Pause { id: i64 },
    /// Stops a letter for good: whoever has not been sent it yet will not be.
    Cancel { id: i64 },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The letter: front matter (`---`, `subject: …`, optionally `sla: 2026-11` for each
    /// customer's {{ credit }} and {{ downtime }} that month, `---`), then a Markdown body
    /// whose {{ variables }} are the list's columns.
    letter: PathBuf,
    /// The customer list: CSV with an `email` column (comma or semicolon, UTF-8), or
    /// `intercom` for the contacts of `[intercom]` that take email.
    #[arg(long = "to", value_name = "CUSTOMERS.csv|intercom")]
    to: PathBuf,
    /// Send without showing the preview and asking.
    #[arg(long)]
    yes: bool,
    /// Letters a second (and/or an hour): "10/s", "2000/h", "10/s, 2000/h", "off".
    #[arg(long, value_parser = Rate::parse)]
    rate: Option<Rate>,
    /// Check the letter against every row and print the preview; send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Send the first customer's letter to this address only, marked [Test].
    #[arg(long, value_name = "ME")]
    test_to: Option<String>,
    /// Only customers of this segment (repeat for several).
    #[arg(long = "segment")]
    segments: Vec<String>,
    /// Only customers on this plan (repeat for several).
    #[arg(long = "plan")]
    plans: Vec<String>,
    /// Only customers whose `components` column lists this component (repeat for several).
    #[arg(long = "component")]
    components: Vec<String>,
    /// How the letter goes: `email` through `[smtp]` (the default when it is set up) or
    /// `intercom`, an email from `[intercom]`'s admin.
    #[arg(long, value_enum)]
    via: Option<Via>,
    /// The incident the letter is about: its timeline says how the sending went.
    #[arg(long, value_name = "ID")]
    incident: Option<i64>,
    /// Print one JSON document at the end instead of progress.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Via {
    Email,
    Intercom,
}

impl From<Via> for LetterVia {
    fn from(v: Via) -> Self {
        match v {
            Via::Email => LetterVia::Email,
            Via::Intercom => LetterVia::Intercom,
        }
    }
}

pub fn letter(config: Option<&Path>, action: LetterAction) -> ExitCode {
    match action {
        LetterAction::Send(args) => send_letter(config, args),
        LetterAction::Resume { id, json } => resume(config, id, json),
        LetterAction::Status { id, json, csv } => status(id, json, csv),
        LetterAction::Pause { id } => stop(id, LetterState::Paused),
        LetterAction::Cancel { id } => stop(id, LetterState::Cancelled),
    }
}

/// Exit 2: the input is wrong (the letter, the list, the configuration).
fn invalid(message: &str) -> ExitCode {
    eprintln!("foghorn: {message}");
    ExitCode::from(2)
}

/// What a send `via` email or Intercom (the configuration's default when `None`) uses.
fn letter_setup(config: Option<&Path>, via: Option<LetterVia>) -> Result<Setup, ExitCode> {
    let config = load(config).map_err(|e| invalid(&e))?;
    let Some(via) = via.or_else(|| letter::default_via(&config)) else {
        return Err(invalid(
            "the configuration has no [smtp] section (or [intercom], to send through Intercom; see the README's Customer letter)",
        ));
    };
    letter::setup_via(&config, via, Arc::new(SystemSecrets)).map_err(|e| invalid(&e.to_string()))
}

fn send_letter(config: Option<&Path>, mut args: SendArgs) -> ExitCode {
    let source = match std::fs::read_to_string(&args.letter) {
        Ok(s) => s,
        Err(e) => return invalid(&format!("{}: {e}", args.letter.display())),
    };
    let draft = match Draft::parse(&source) {
        Ok(d) => d,
        Err(e) => return invalid(&format!("{}: {e}", args.letter.display())),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // The SMTP pool starts its housekeeping on the runtime it is made in.
    let _entered = runtime.enter();
    let mut setup = match letter_setup(config, args.via.map(LetterVia::from)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(rate) = args.rate {
        setup.options.rate = rate;
    }
    let filter = Filter {
        segments: args.segments.clone(),
        plans: args.plans.clone(),
        components: args.components.clone(),
    };
    // Intercom's contacts: the same letter to Intercom is the same letter whatever the
    // contacts are now, so a send that stopped resumes with the list it started with instead
    // of reading a list that changed since, and starting over.
    let from_intercom = args.to.as_os_str() == "intercom";
    if from_intercom {
        let key = letter_key(&draft, b"intercom", &filter);
        let store = match open_store() {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        match store.letter_by_key(&key) {
            Ok(Some(id)) => {
                let was = store.letter(id).ok().flatten().map(|l| l.via);
                if let (Some(was), Some(asked)) = (was, args.via) {
                    if was != LetterVia::from(asked) {
                        return invalid(
                            &LetterError::OtherVia {
                                letter_id: id,
                                via: was,
                            }
                            .to_string(),
                        );
                    }
                }
                drop(_entered);
                return resume(config, id, args.json);
            }
            Ok(None) => {}
            Err(e) => return fail(&e.to_string()),
        }
        match runtime.block_on(intercom_list(config)) {
            Ok((path, kept, left_out)) => {
                if !args.json {
                    println!(
                        "Intercom: {kept} contacts read into {}{}",
                        path.display(),
                        if left_out > 0 {
                            format!(
                                " ({left_out} left out: no address, bounced, spam or unsubscribed)"
                            )
                        } else {
                            String::new()
                        }
                    );
                }
                args.to = path;
            }
            Err(e) => return fail(&e),
        }
    }
    let list_error =
        |e: recipients::RecipientsError| invalid(&format!("{}: {e}", args.to.display()));
    let rows = match recipients::open(&args.to) {
        Ok(r) => r,
        Err(e) => return list_error(e),
    };
    if let Err(e) = draft.check_columns(rows.columns()) {
        return invalid(&format!("{}: {e}", args.letter.display()));
    }
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    // The month's figures, measured once for the preview, the check of every row and the
    // ledger alike.
    let sla = match sla_figures(config, &draft, &store) {
        Ok(s) => s,
        Err(e @ LetterError::NoSlaPlans(_)) => {
            return invalid(&format!("{}: {e}", args.letter.display()))
        }
        Err(e) => return fail(&e.to_string()),
    };
    // The first matching customer's letter: the preview, and the test send.
    let first = match compose::recipient_at(&args.to, &filter, 0) {
        Ok(first) => first,
        Err(e) => return list_error(e),
    };
    let Some(first) = first else {
        return invalid(&format!(
            "{}: no customer to send to (after skipping bad rows{})",
            args.to.display(),
            if filter.is_empty() {
                ""
            } else {
                " and filtering"
            }
        ));
    };
    let digest = match file_digest(&args.to) {
        Ok(d) => d,
        Err(e) => return list_error(e),
    };
    let key = if from_intercom {
        letter_key(&draft, b"intercom", &filter)
    } else {
        letter_key(&draft, &digest, &filter)
    };
    let earlier = match store.letter_by_key(&key).and_then(|id| match id {
        Some(id) => store.letter(id),
        None => Ok(None),
    }) {
        Ok(e) => e,
        Err(e) => return fail(&e.to_string()),
    };
    // A letter started before is previewed with what its ledger froze, as it will be sent.
    let frozen = earlier
        .as_ref()
        .filter(|e| e.state != LetterState::Importing)
        .map(|e| e.id);
    let vars_first = match compose::vars_for(&store, frozen, &first, sla.as_ref()) {
        Ok(v) => v,
        Err(e) => return fail(&e.to_string()),
    };
    let vars_first =
        compose::with_unsubscribe(setup.identity.as_deref(), &vars_first, &first.email);
    let preview = match draft.render(&vars_first) {
        Ok(p) => p,
        Err(e) => return invalid(&format!("{}: {e}", args.letter.display())),
    };

    if let Some(me) = &args.test_to {
        return runtime.block_on(async {
            let courier = setup.courier.as_ref();
            match compose::send_test(courier, &setup.domain, me, &preview).await {
                Ok(reply) => {
                    println!(
                        "Test letter sent to {me} (as {}'s letter): {reply}",
                        first.email
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("the test letter to {me} was not accepted: {e}")),
            }
        });
    }

    // Count and check every row before anyone is sent anything.
    let pass = Pass {
        keep_skipped: 20,
        pick: None,
        fill_every_row: true,
    };
    let identity = setup.identity.as_deref();
    let counted = match compose::count(&args.to, &filter, &draft, identity, sla.as_ref(), pass) {
        Ok(c) => c,
        Err(LetterError::Draft(e)) => return invalid(&format!("{}: {e}", args.letter.display())),
        Err(LetterError::List(e)) => return list_error(e),
        Err(e) => return invalid(&format!("{}: {e}", args.to.display())),
    };
    if !args.json {
        print_preview(
            &args,
            &setup,
            &preview,
            &first.email,
            &counted,
            earlier.as_ref(),
        );
        if let Some(sla) = &sla {
            // A letter started before owes what its ledger says, not what the month reads now.
            let owed = match frozen.map(|id| store.letter_owed(id)).transpose() {
                Ok(frozen_owed) => frozen_owed,
                Err(e) => return fail(&e.to_string()),
            };
            print_sla(sla, owed.unwrap_or(counted.owed), &counted, owed.is_some());
        }
    }
    if let Some(e) = &earlier {
        if e.state == LetterState::Done {
            if args.json {
                print_json(e, 0, 0);
            } else {
                println!("Nothing to send: letter {} was sent to everyone.", e.id);
            }
            return exit_for(e);
        }
        if e.state == LetterState::Cancelled {
            return fail(&format!(
                "letter {} was cancelled; it is not sent any further",
                e.id
            ));
        }
    }
    if args.dry_run {
        println!("Dry run: nothing was sent.");
        return ExitCode::SUCCESS;
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return fail("not sent: add --yes to send without being asked");
        }
        let left = earlier
            .as_ref()
            .map_or(counted.recipients, LetterSummary::left);
        print!("Send to {left} customer{}? [y/N] ", plural(left));
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Not sent.");
            return ExitCode::from(1);
        }
    }
    let new = NewLetter {
        key,
        source: draft.to_source(),
        subject: draft.subject.clone(),
        list_name: if from_intercom {
            "Intercom contacts".to_owned()
        } else {
            args.to.display().to_string()
        },
        sender: setup.sender.clone(),
        via: setup.via,
        incident_id: args.incident,
    };
    let json = args.json;
    let rows = match recipients::open(&args.to) {
        Ok(r) => r,
        Err(e) => return list_error(e),
    };
    runtime.block_on(async move {
        let domain = setup.domain.clone();
        let prepared = match ledger::prepare(
            &store,
            new,
            &draft,
            &domain,
            rows,
            &filter,
            sla.as_ref(),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => return fail(&e.to_string()),
        };
        run(&store, prepared, draft, setup, json).await
    })
}

/// The SLA figures of the letter's `sla:` month, measured now; `None` without a month.
fn sla_figures(
    config: Option<&Path>,
    draft: &Draft,
    store: &Store,
) -> Result<Option<SlaFigures>, LetterError> {
    if draft.sla_month.is_none() {
        return Ok(None);
    }
    let config = load(config).map_err(LetterError::Setup)?;
    SlaFigures::of_draft(draft, store, Some(&config))
}

/// The month the letter speaks about, and how many are `owed` a credit for it.
fn print_sla(sla: &SlaFigures, owed: u64, counted: &Counted, frozen: bool) {
    println!(
        "SLA month: {} — {owed} of {} customer{} owed a credit{}",
        sla.label,
        counted.recipients,
        plural(counted.recipients),
        if sla.running && !frozen {
            " so far (the month is not over: the figures are measured up to now)"
        } else {
            ""
        }
    );
    if frozen {
        println!("The letter keeps the SLA figures it was started with (the preview shows them).");
    }
}

fn resume(config: Option<&Path>, id: i64, json: bool) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let _entered = runtime.enter();
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let (summary, source) = match store
        .letter(id)
        .and_then(|s| Ok((s, store.letter_source(id)?)))
    {
        Ok((Some(s), Some(source))) => (s, source),
        Ok(_) => return fail(&format!("there is no letter {id}")),
        Err(e) => return fail(&e.to_string()),
    };
    let setup = match letter_setup(config, Some(summary.via)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let draft = match Draft::parse(&source) {
        Ok(d) => d,
        Err(e) => return fail(&e.to_string()),
    };
    let prepared = Prepared {
        letter_id: id,
        created: false,
        total: summary.total,
        skipped: Vec::new(),
        skipped_count: 0,
        filtered_out: 0,
    };
    runtime.block_on(run(&store, prepared, draft, setup, json))
}

/// Sends a prepared letter with progress on the terminal; Ctrl-C pauses it (the letters in
/// flight finish first).
async fn run(
    store: &Store,
    prepared: Prepared,
    draft: Draft,
    setup: Setup,
    json: bool,
) -> ExitCode {
    let id = prepared.letter_id;
    let before = match store.letter(id) {
        Ok(Some(s)) => s,
        Ok(None) => return fail(&format!("there is no letter {id}")),
        Err(e) => return fail(&e.to_string()),
    };
    if !json {
        if !prepared.created && before.accepted + before.failed + before.bounced > 0 {
            println!(
                "Resuming letter {id}: {} of {} already sent ({} accepted, {} failed); sending the other {}.",
                before.accepted + before.failed + before.bounced,
                before.total,
                before.accepted,
                before.failed + before.bounced,
                before.left()
            );
        } else {
            println!(
                "Letter {id}: sending to {} customer{}.",
                before.total,
                plural(before.total)
            );
        }
        if before.sending > 0 {
            let what = match setup.via {
                LetterVia::Email => {
                    "sent again with the same Message-ID, which receiving servers drop as a repeat"
                }
                LetterVia::Intercom => {
                    "looked for in Intercom first, and sent again only if not found there"
                }
            };
            println!(
                "{} letter{} {} in flight when the last run stopped: {what}.",
                before.sending,
                plural(before.sending),
                if before.sending == 1 { "was" } else { "were" }
            );
        }
    }
    let (control_tx, control_rx) = watch::channel(Control::Run);
    let (progress_tx, mut progress_rx) = watch::channel(Progress {
        letter_id: id,
        state: before.state,
        total: before.total,
        accepted: before.accepted,
        failed: before.failed,
        bounced: before.bounced,
        left: before.left(),
        resent: before.resent,
        per_second: 0.0,
        eta_seconds: None,
        paused_reason: None,
        last_error: None,
    });
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nPausing: the letters in flight finish first. `foghorn letter resume {id}` carries on.");
            let _ = control_tx.send(Control::Pause);
        }
    });
    let job = Job {
        draft: Arc::new(draft),
        courier: setup.courier,
        options: setup.options,
    };
    let store_for_send = store.clone();
    let sending =
        tokio::spawn(
            async move { send::send(&store_for_send, id, job, control_rx, progress_tx).await },
        );
    if !json {
        let terminal = std::io::stdout().is_terminal();
        let mut last_line = Instant::now();
        while progress_rx.changed().await.is_ok() {
            let p = progress_rx.borrow_and_update().clone();
            if terminal {
                print!("\r{}", progress_line(&p));
                let _ = std::io::stdout().flush();
            } else if last_line.elapsed() >= Duration::from_secs(5) {
                println!("{}", progress_line(&p));
                last_line = Instant::now();
            }
        }
        if terminal {
            println!();
        }
    }
    let finished = match sending.await {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return fail(&e.to_string()),
        Err(e) => return fail(&format!("the send stopped: {e}")),
    };
    let s = &finished.summary;
    if json {
        print_json(s, finished.resent_now, finished.found_sent);
        return exit_for(s);
    }
    if finished.found_sent > 0 {
        println!(
            "{} letter{} left in flight had arrived (found in Intercom): recorded, not sent again.",
            finished.found_sent,
            plural(finished.found_sent)
        );
    }
    println!("{}", summary_line(s));
    if let Some(reason) = &s.paused_reason {
        println!("Paused: {reason}");
        println!("Carry on with: foghorn letter resume {}", s.id);
    }
    print_undelivered(store, s.id);
    exit_for(s)
}

fn exit_for(s: &LetterSummary) -> ExitCode {
    if s.state == LetterState::Done && s.failed + s.bounced == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_json(s: &LetterSummary, resent_now: u64, found_sent: u64) {
    let mut value = serde_json::to_value(s).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("left".into(), s.left().into());
        map.insert("resentNow".into(), resent_now.into());
        map.insert("foundSent".into(), found_sent.into());
    }
    println!("{value}");
}

fn print_undelivered(store: &Store, id: i64) {
    let Ok(list) = store.undelivered(id) else {
        return;
    };
    if list.is_empty() {
        return;
    }
    println!("Not delivered ({}):", list.len());
    for u in list.iter().take(50) {
        println!("  {:<32} {:<8} {}", u.email, u.state.as_str(), u.reason);
    }
    if list.len() > 50 {
        println!("  … and {} more", list.len() - 50);
    }
    println!("All of them as CSV: foghorn letter status {id} --csv > undelivered.csv");
}

fn progress_line(p: &Progress) -> String {
    let done = p.accepted + p.failed + p.bounced;
    let width = 30usize;
    let filled = if p.total == 0 {
        width
    } else {
        (done as usize * width) / p.total as usize
    };
    let eta = p
        .eta_seconds
        .map(|s| format!(" · about {} left", human_seconds(s)))
        .unwrap_or_default();
    format!(
        "[{}{}] {done}/{} · {} sent · {} failed · {} left{eta}   ",
        "#".repeat(filled.min(width)),
        ".".repeat(width - filled.min(width)),
        p.total,
        p.accepted,
        p.failed + p.bounced,
        p.left
    )
}

fn human_seconds(s: u64) -> String {
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn summary_line(s: &LetterSummary) -> String {
    format!(
        "Letter {} — {}: {} of {} accepted, {} failed, {} bounced, {} left{}",
        s.id,
        s.state.as_str(),
        s.accepted,
        s.total,
        s.failed,
        s.bounced,
        s.left(),
        if s.resent > 0 {
            format!(
                "; {} sent again after a stop, {}",
                s.resent,
                match s.via {
                    LetterVia::Email => "with the same Message-ID",
                    LetterVia::Intercom => "not found in Intercom",
                }
            )
        } else {
            String::new()
        }
    )
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn print_preview(
    args: &SendArgs,
    setup: &Setup,
    preview: &foghorn_core::letter::draft::Rendered,
    first: &str,
    counted: &Counted,
    earlier: Option<&LetterSummary>,
) {
    println!("── The first letter, to {first} ──");
    println!("From: {}", setup.sender);
    println!("Reply-To: {}", setup.reply_to);
    println!("Subject: {}\n", preview.subject);
    println!("{}", preview.text.trim_end());
    println!("──");
    println!(
        "{} customer{} in {}{}{}",
        counted.recipients,
        plural(counted.recipients),
        args.to.display(),
        if counted.filtered_out > 0 {
            format!(" ({} left out by the filter)", counted.filtered_out)
        } else {
            String::new()
        },
        if counted.skipped_count > 0 {
            format!(
                "; {} row{} skipped:",
                counted.skipped_count,
                plural(counted.skipped_count)
            )
        } else {
            String::new()
        }
    );
    for s in &counted.skipped {
        println!("  {s}");
    }
    if counted.skipped_count > counted.skipped.len() as u64 {
        println!(
            "  … and {} more",
            counted.skipped_count - counted.skipped.len() as u64
        );
    }
    let rate = setup.options.rate;
    let time = rate
        .time_for(counted.recipients)
        .map(|d| format!(", about {} in all", human_seconds(d.as_secs())))
        .unwrap_or_default();
    println!("Rate: {rate}{time}");
    for w in &setup.warnings {
        println!("Warning: {w}");
    }
    match setup.via {
        LetterVia::Email => {
            println!(
                "Replies go to {}'s mailbox, not to Foghorn.",
                setup.reply_to
            )
        }
        LetterVia::Intercom => println!("Replies go to {}, not to Foghorn.", setup.reply_to),
    }
    if let Some(e) = earlier {
        println!(
            "This letter and list were started before (letter {}): {} accepted, {} failed, {} left.",
            e.id,
            e.accepted,
            e.failed + e.bounced,
            e.left()
        );
    }
}

fn status(id: Option<i64>, json: bool, csv: bool) -> ExitCode {
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let Some(id) = id else {
        let letters = match store.letters() {
            Ok(l) => l,
            Err(e) => return fail(&e.to_string()),
        };
        if json {
            println!("{}", serde_json::to_value(&letters).unwrap_or_default());
        } else if letters.is_empty() {
            println!("No letters yet.");
        } else {
            for s in &letters {
                println!("{}  \"{}\"", summary_line(s), s.subject);
            }
        }
        return ExitCode::SUCCESS;
    };
    let summary = match store.letter(id) {
        Ok(Some(s)) => s,
        Ok(None) => return fail(&format!("there is no letter {id}")),
        Err(e) => return fail(&e.to_string()),
    };
    if csv {
        let list = match store.undelivered(id) {
            Ok(l) => l,
            Err(e) => return fail(&e.to_string()),
        };
        let mut out = csv_writer();
        let _ = out.write_record(["email", "state", "reason", "attempts"]);
        for u in list {
            let _ = out.write_record([
                u.email.as_str(),
                u.state.as_str(),
                u.reason.as_str(),
                &u.attempts.to_string(),
            ]);
        }
        let _ = out.flush();
        return ExitCode::SUCCESS;
    }
    if json {
        let mut value = serde_json::to_value(&summary).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("left".into(), summary.left().into());
            map.insert(
                "resentTo".into(),
                store.resent(id).unwrap_or_default().into(),
            );
            map.insert(
                "undelivered".into(),
                serde_json::to_value(store.undelivered(id).unwrap_or_default()).unwrap_or_default(),
            );
        }
        println!("{value}");
        return ExitCode::SUCCESS;
    }
    println!("{}", summary_line(&summary));
    println!("Subject: {}", summary.subject);
    println!("List: {}; from {}", summary.list_name, summary.sender);
    if let Some(reason) = &summary.paused_reason {
        println!("Paused: {reason}");
    }
    print_undelivered(&store, id);
    ExitCode::SUCCESS
}

fn csv_writer() -> csv::Writer<std::io::Stdout> {
    csv::Writer::from_writer(std::io::stdout())
}

fn stop(id: i64, to: LetterState) -> ExitCode {
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(store.stop_letter(id, to)) {
        Ok(true) => {
            println!(
                "Letter {id} {}.",
                if to == LetterState::Paused {
                    "is paused (`foghorn letter resume` carries on)"
                } else {
                    "is cancelled: nobody else will be sent it"
                }
            );
            ExitCode::SUCCESS
        }
        Ok(false) => fail(&format!(
            "letter {id} cannot be {} (it does not exist, or is finished)",
            if to == LetterState::Paused {
                "paused"
            } else {
                "cancelled"
            }
        )),
        Err(e) => fail(&e.to_string()),
    }
}

/// Reads `[intercom]`'s contacts that take email into a CSV file in the data directory.
async fn intercom_list(config: Option<&Path>) -> Result<(PathBuf, u64, u64), String> {
    let config = load(config)?;
    let intercom = config
        .intercom
        .ok_or("--to intercom needs an [intercom] section (see the README's Support queue)")?;
    let desk = foghorn_core::support::Desk::new(&intercom);
    let dir = foghorn_core::paths::data_dir().ok_or("no data directory: set FOGHORN_DATA_DIR")?;
    compose::intercom_contacts(desk.client(), &dir)
        .await
        .map_err(|e| e.to_string())
}
