//! The customer letter through the real binary and a real SMTP server (aiosmtpd): 800
//! customers each get one personal letter with the headers bulk senders owe; a send killed at
//! random points and resumed leaves every customer exactly one Message-ID; bounces, greylisting
//! and a server refusing everything end as a user would want; a dry run and a test send send
//! nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{anyhow, ensure, Context, Result};
use foghorn_e2e::paths::foghorn_command;
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::{wait_until, SmtpSink};
use hmac::{Hmac, Mac};
use mail_parser::{HeaderValue, MessageParser};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use sha2::Sha256;

const UNSUBSCRIBE_SECRET: &str = "unsub-k3y";

/// A founder's laptop: a configuration whose `[smtp]` points at the sink, a data directory,
/// and the letter and list files.
struct Founder {
    home: tempfile::TempDir,
    dkim_key: Option<String>,
}

impl Founder {
    fn new(smtp_url: &str, extra: &str) -> Result<Self> {
        let home = tempfile::tempdir()?;
        let config = format!(
            "[smtp]\n\
             url = \"{smtp_url}\"\n\
             from = \"Alice Smith <ceo@acme.test>\"\n\
             reply_to = \"Alice Smith <alice@acme.test>\"\n\
             unsubscribe_url = \"https://acme.test/unsubscribe?t={{{{ token }}}}\"\n\
             unsubscribe_mailto = \"unsubscribe@acme.test\"\n\
             unsubscribe_secret = \"env:UNSUBSCRIBE_SECRET\"\n\
             {extra}\n"
        );
        std::fs::write(home.path().join("foghorn.toml"), config)?;
        std::fs::write(
            home.path().join("letter.md"),
            "---\nsubject: About the outage, {{ name }}\n---\nDear {{ name }},\n\n\
             Yesterday **{{ company }}** could not reach us for four hours. I am sorry.\n\n\
             Reply to this email: it comes straight to me.\n\n\
             Unsubscribe: {{ unsubscribe_url }}\n",
        )?;
        Ok(Self {
            home,
            dkim_key: None,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn command(&self) -> Result<Command> {
        let mut cmd = foghorn_command(self.home.path())?;
        cmd.env("FOGHORN_DATA_DIR", self.path("data"))
            .env("UNSUBSCRIBE_SECRET", UNSUBSCRIBE_SECRET)
            .arg("--config")
            .arg(self.path("foghorn.toml"));
        if let Some(key) = &self.dkim_key {
            cmd.env("DKIM_KEY", key);
        }
        Ok(cmd)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command()?.args(args).output()?)
    }

    fn spawn(&self, name: &str, args: &[&str]) -> Result<ChildGuard> {
        let mut cmd = self.command()?;
        cmd.args(args);
        ChildGuard::spawn(name, cmd, self.home.path())
    }

    /// `letter send letter.md --to customers.csv --yes ARGS`.
    fn send_args<'a>(&'a self, list: &'a str, extra: &[&'a str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "letter".into(),
            "send".into(),
            self.path("letter.md").display().to_string(),
            "--to".into(),
            self.path(list).display().to_string(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    fn send(&self, list: &str, extra: &[&str]) -> Result<Output> {
        let args = self.send_args(list, extra);
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// A list of `n` customers (`user{i}@example.com`, "Customer {i}", "Company {i}") and the
    /// extra lines after them.
    fn write_list(&self, name: &str, n: usize, extra: &[&str]) -> Result<Vec<String>> {
        let mut text = String::from("email,name,company,plan\n");
        let mut emails = Vec::with_capacity(n);
        for i in 0..n {
            let email = format!("user{i}@example.com");
            text.push_str(&format!(
                "{email},Customer {i},\"Company {i}, Inc.\",team\n"
            ));
            emails.push(email);
        }
        for line in extra {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(self.path(name), text)?;
        Ok(emails)
    }

    fn status_json(&self, id: i64) -> Result<Value> {
        let out = self.run(&["letter", "status", &id.to_string(), "--json"])?;
        ensure!(out.status.success(), "letter status: {}", text(&out));
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

/// `letter send customers.csv --yes` running in the background, once `letters` have arrived.
fn sending(founder: &Founder, sink: &SmtpSink, letters: usize) -> Result<ChildGuard> {
    let args = founder.send_args("customers.csv", &["--yes"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let sender = founder.spawn("send", &args)?;
    wait_until(Duration::from_secs(30), "the first letters", || {
        Ok((sink.count() >= letters).then_some(()))
    })?;
    Ok(sender)
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn header_text(message: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    match message.header(name)? {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(list) => Some(list.join(", ")),
        other => Some(format!("{other:?}")),
    }
}

fn token(email: &str) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(UNSUBSCRIBE_SECRET.as_bytes())
        .map_err(|e| anyhow!("{e}"))?;
    mac.update(email.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// An RSA key in PKCS#1 PEM and the DNS TXT record publishing its public half.
fn dkim_keys(dir: &Path) -> Result<(String, String)> {
    let key = dir.join("dkim.pem");
    let made = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .context("openssl (Debian: apt-get install openssl)")?;
    ensure!(made.status.success(), "openssl genrsa: {made:?}");
    let public = Command::new("openssl")
        .args(["rsa", "-pubout", "-outform", "DER", "-in"])
        .arg(&key)
        .output()?;
    ensure!(public.status.success(), "openssl rsa -pubout: {public:?}");
    let b64 = Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .map(|mut s| s.write_all(&public.stdout))
                .transpose()?;
            child.wait_with_output()
        })?;
    Ok((
        std::fs::read_to_string(&key)?,
        format!("v=DKIM1; k=rsa; p={}", String::from_utf8(b64.stdout)?),
    ))
}

/// Verifies a message's DKIM signature with dkimpy, the TXT record given instead of DNS.
fn dkim_verifies(raw: &[u8], txt: &str, dir: &Path) -> Result<bool> {
    let file = dir.join("verify.eml");
    std::fs::write(&file, raw)?;
    let script = "import sys, dkim\n\
        txt = sys.argv[2].encode()\n\
        msg = open(sys.argv[1], 'rb').read()\n\
        ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: txt if name == b'fh._domainkey.acme.test.' else None)\n\
        print('verified' if ok else 'failed')\n";
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&file)
        .arg(txt)
        .output()
        .context("python3-dkim (Debian: apt-get install python3-dkim)")?;
    ensure!(
        out.status.success(),
        "dkimpy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "verified")
}

#[test]
fn eight_hundred_customers_each_get_one_personal_letter_with_the_headers_bulk_senders_owe(
) -> Result<()> {
    let sink = SmtpSink::start(json!({}))?;
    let mut founder = Founder::new(
        &sink.url(),
        "dkim_key = \"env:DKIM_KEY\"\ndkim_selector = \"fh\"\nrate = \"off\"",
    )?;
    let (pem, txt) = dkim_keys(founder.home.path())?;
    founder.dkim_key = Some(pem);
    let emails = founder.write_list(
        "customers.csv",
        800,
        &[
            "bob@,Bob,Broken Inc.,team",
            "USER7@Example.com,Customer 7 again,Dup Co,team",
            "carol@example.com,Carol",
        ],
    )?;

    let out = founder.send("customers.csv", &["--yes"])?;
    ensure!(out.status.success(), "{}", text(&out));
    let said = stdout(&out);
    for expected in [
        "── The first letter, to user0@example.com ──",
        "Subject: About the outage, Customer 0",
        "800 customers in",
        "3 rows skipped:",
        "line 802: \"bob@\" is not an email address",
        "line 803: \"USER7@Example.com\" is already on line 9",
        "line 804: the row has 2 of 4 columns",
        "Replies go to",
        "Letter 1 — done: 800 of 800 accepted, 0 failed, 0 bounced, 0 left",
    ] {
        ensure!(said.contains(expected), "{expected:?} in:\n{said}");
    }
    ensure!(
        !said.contains("Warning: no DKIM"),
        "signed, so no DKIM warning:\n{said}"
    );

    let received = sink.messages()?;
    ensure!(received.len() == 800, "{} letters arrived", received.len());
    let parser = MessageParser::default();
    let mut ids = BTreeSet::new();
    let mut to_whom = BTreeSet::new();
    for (n, r) in received.iter().enumerate() {
        let m = parser
            .parse(&r.raw)
            .with_context(|| format!("{} does not parse", r.file.display()))?;
        let to = m
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .context("To")?
            .to_owned();
        ensure!(r.envelope_to == to, "envelope {} vs To {to}", r.envelope_to);
        let i: usize = to
            .strip_prefix("user")
            .and_then(|s| s.strip_suffix("@example.com"))
            .and_then(|s| s.parse().ok())
            .context("a generated address")?;
        ensure!(
            m.subject() == Some(&*format!("About the outage, Customer {i}")),
            "personal subject: {:?}",
            m.subject()
        );
        ensure!(
            m.from().and_then(|a| a.first()).and_then(|a| a.address()) == Some("ceo@acme.test"),
            "From"
        );
        ensure!(
            m.reply_to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                == Some("alice@acme.test"),
            "Reply-To the founder"
        );
        let id = m.message_id().context("Message-ID")?.to_owned();
        ensure!(id.ends_with("@acme.test"), "{id}");
        ids.insert(id);
        to_whom.insert(to.clone());
        let unsubscribe = header_text(&m, "List-Unsubscribe").context("List-Unsubscribe")?;
        ensure!(
            unsubscribe.contains(&format!("https://acme.test/unsubscribe?t={}", token(&to)?))
                && unsubscribe.contains("mailto:unsubscribe@acme.test"),
            "a per-customer HTTPS link and the mailto: {unsubscribe}"
        );
        ensure!(
            header_text(&m, "List-Unsubscribe-Post").as_deref()
                == Some("List-Unsubscribe=One-Click"),
            "one-click (RFC 8058)"
        );
        ensure!(m.header("DKIM-Signature").is_some(), "signed");
        let html = m.body_html(0).context("an HTML part")?;
        ensure!(
            html.contains(&format!("<p>Dear Customer {i},</p>"))
                && html.contains(&format!("<strong>Company {i}, Inc.</strong>")),
            "personal HTML: {html}"
        );
        let plain = m.body_text(0).context("a text part")?;
        ensure!(
            plain.contains(&format!("Dear Customer {i},"))
                && plain.contains(&format!(
                    "Unsubscribe: https://acme.test/unsubscribe?t={}",
                    token(&to)?
                )),
            "{plain}"
        );
        // dkimpy takes a while per message: a few of them, from the start, middle and end.
        if n % 300 == 0 {
            ensure!(
                dkim_verifies(&r.raw, &txt, founder.home.path())?,
                "the DKIM signature of {to} verifies against the published key"
            );
        }
    }
    ensure!(ids.len() == 800, "800 distinct Message-IDs");
    ensure!(
        to_whom == emails.iter().cloned().collect::<BTreeSet<_>>(),
        "everyone on the list, and nobody else"
    );

    let status = founder.status_json(1)?;
    ensure!(
        status["accepted"] == 800 && status["state"] == "done" && status["skipped"]["count"] == 3,
        "{status}"
    );
    // The same letter and list again: nobody hears twice.
    let again = founder.send("customers.csv", &["--yes"])?;
    ensure!(again.status.success(), "{}", text(&again));
    ensure!(
        stdout(&again).contains("Nothing to send: letter 1 was sent to everyone."),
        "{}",
        text(&again)
    );
    ensure!(sink.count() == 800, "still 800 letters");
    Ok(())
}

/// A tiny deterministic generator, so a failing seed can be run again.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn a_send_killed_at_random_points_resumes_and_each_customer_has_exactly_one_message_id(
) -> Result<()> {
    let mut resent = 0;
    for seed in [0x9e37_79b9_u64, 0x2545_f491, 0xdead_beef] {
        resent += killed_and_resumed(seed).with_context(|| format!("seed {seed:#x}"))?;
    }
    // The server keeps every connection busy, so a kill finds letters in flight: the path
    // that resends them with their Message-ID is the one under test.
    ensure!(resent > 0, "no letter was in flight at any kill");
    Ok(())
}

/// Kills a send up to twice and resumes it; how many letters were resent after a kill.
fn killed_and_resumed(mut seed: u64) -> Result<usize> {
    // A few milliseconds per letter at the server, so some are always in flight.
    let sink = SmtpSink::start(json!({"delay_ms": 4}))?;
    let founder = Founder::new(&sink.url(), "rate = \"off\"\nconnections = 4")?;
    let emails = founder.write_list("customers.csv", 800, &[])?;
    let args = founder.send_args("customers.csv", &["--yes"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // Killed up to twice, each time once a random number of letters had arrived.
    let mut kills = 0;
    for round in 0..2 {
        let at = sink.count() + 40 + (next(&mut seed) % 300) as usize;
        let mut sender = founder.spawn(&format!("send-{round}"), &args)?;
        let reached = wait_until(Duration::from_secs(60), "letters to arrive", || {
            if sender.try_wait()?.is_some() {
                return Ok(Some(false));
            }
            Ok((sink.count() >= at).then_some(true))
        })?;
        if reached {
            kill(Pid::from_raw(sender.pid() as i32), Signal::SIGKILL)?;
            sender.wait_for_exit(Duration::from_secs(10))?;
            kills += 1;
        }
    }
    ensure!(kills > 0, "the send was killed at least once");

    let out = founder.send("customers.csv", &["--yes"])?;
    ensure!(out.status.success(), "{}", text(&out));
    let said = stdout(&out);
    ensure!(said.contains("Resuming letter 1:"), "{said}");
    let status = founder.status_json(1)?;
    ensure!(status["accepted"] == 800, "{status}");
    let resent: BTreeSet<String> = status["resentTo"]
        .as_array()
        .context("resentTo")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();

    let parser = MessageParser::default();
    let mut by_customer: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in sink.messages()? {
        let m = parser.parse(&r.raw).context("a letter that parses")?;
        by_customer
            .entry(r.envelope_to.clone())
            .or_default()
            .push(m.message_id().context("Message-ID")?.to_owned());
    }
    ensure!(
        by_customer.keys().cloned().collect::<Vec<_>>()
            == emails
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>(),
        "every customer got the letter"
    );
    for (email, ids) in &by_customer {
        let distinct: BTreeSet<_> = ids.iter().collect();
        ensure!(
            distinct.len() == 1,
            "{email} got {} different Message-IDs",
            distinct.len()
        );
        if ids.len() > 1 {
            ensure!(
                resent.contains(email),
                "{email} got {} copies but was not in flight at a kill (resent: {resent:?})",
                ids.len()
            );
        }
    }
    // In flight means at most the connections' worth per kill.
    ensure!(
        resent.len() <= 4 * kills,
        "{} resent after {kills} kills: {resent:?}",
        resent.len()
    );
    Ok(resent.len())
}

#[test]
fn a_bounce_is_listed_a_greylisted_customer_is_retried_and_the_failures_export_as_csv() -> Result<()>
{
    let sink = SmtpSink::start(json!({
        "reject": {"gone@": [550, "5.1.1 no such user"]},
        "tempfail": {"grey@": 2},
    }))?;
    let founder = Founder::new(&sink.url(), "rate = \"off\"")?;
    founder.write_list(
        "customers.csv",
        20,
        &[
            "gone@example.com,Gone,Old Co,team",
            "grey@example.com,Grey,Slow Co,team",
        ],
    )?;
    let out = founder.send("customers.csv", &["--yes"])?;
    ensure!(
        out.status.code() == Some(1),
        "a bounce fails the send: {}",
        text(&out)
    );
    let said = stdout(&out);
    ensure!(
        said.contains("21 of 22 accepted, 0 failed, 1 bounced, 0 left"),
        "{said}"
    );
    ensure!(
        said.contains("gone@example.com") && said.contains("no such user"),
        "the bounce is listed with the server's reason:\n{said}"
    );
    let grey: Vec<_> = sink
        .messages()?
        .into_iter()
        .filter(|r| r.envelope_to == "grey@example.com")
        .collect();
    ensure!(
        grey.len() == 1,
        "greylisted twice, then one letter: {}",
        grey.len()
    );

    let csv = founder.run(&["letter", "status", "1", "--csv"])?;
    ensure!(csv.status.success(), "{}", text(&csv));
    let csv = stdout(&csv);
    let mut lines = csv.lines();
    ensure!(lines.next() == Some("email,state,reason,attempts"), "{csv}");
    let row = lines.next().context("a failure row")?;
    ensure!(
        row.starts_with("gone@example.com,bounced,") && row.contains("no such user"),
        "{csv}"
    );
    ensure!(lines.next().is_none(), "only the bounce: {csv}");
    Ok(())
}

#[test]
fn a_server_refusing_everything_pauses_the_send_and_resume_finishes_it() -> Result<()> {
    let sink = SmtpSink::start(json!({"refuse_all": [421, "4.3.2 service not available"]}))?;
    let founder = Founder::new(&sink.url(), "rate = \"off\"\npause_after_failures = 3")?;
    founder.write_list("customers.csv", 30, &[])?;
    let out = founder.send("customers.csv", &["--yes"])?;
    ensure!(out.status.code() == Some(1), "{}", text(&out));
    let said = stdout(&out);
    ensure!(
        said.contains("Paused: paused itself after ")
            && said.contains(" refusals in a row")
            && said.contains("service not available")
            && said.contains("foghorn letter resume 1"),
        "{said}"
    );
    ensure!(sink.count() == 0, "nothing was accepted");
    let status = founder.status_json(1)?;
    ensure!(
        status["state"] == "paused" && status["left"] == 30 && status["failed"] == 0,
        "paused before burning the list's attempts: {status}"
    );

    sink.open()?;
    let out = founder.run(&["letter", "resume", "1", "--json"])?;
    ensure!(out.status.success(), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    ensure!(
        answer["state"] == "done" && answer["accepted"] == 30,
        "{answer}"
    );
    let arrived: BTreeSet<String> = sink
        .messages()?
        .into_iter()
        .map(|r| r.envelope_to)
        .collect();
    ensure!(arrived.len() == 30 && sink.count() == 30, "each once");
    Ok(())
}

#[test]
fn pause_from_another_terminal_stops_a_running_send_and_resume_carries_on() -> Result<()> {
    let sink = SmtpSink::start(json!({}))?;
    let founder = Founder::new(&sink.url(), "rate = \"25/s\"")?;
    founder.write_list("customers.csv", 200, &[])?;
    let mut sender = sending(&founder, &sink, 20)?;
    let paused = founder.run(&["letter", "pause", "1"])?;
    ensure!(paused.status.success(), "{}", text(&paused));
    let status = sender.wait_for_exit(Duration::from_secs(15))?;
    ensure!(status.code() == Some(1), "a paused send exits 1");
    ensure!(
        sender.stdout().contains("Paused: paused"),
        "{}",
        sender.stdout()
    );
    let at_pause = sink.count();
    ensure!(at_pause < 200, "stopped before the end: {at_pause}");
    let summary = founder.status_json(1)?;
    ensure!(
        summary["state"] == "paused" && summary["accepted"] == at_pause as u64,
        "the ledger agrees with the server: {summary}"
    );

    // Resumed; a second sender of the same letter is refused while the first runs.
    let mut resumed = founder.spawn("resume", &["letter", "resume", "1"])?;
    wait_until(Duration::from_secs(30), "the resume to send", || {
        Ok((sink.count() > at_pause).then_some(()))
    })?;
    let second = founder.run(&["letter", "resume", "1"])?;
    ensure!(second.status.code() == Some(1), "{}", text(&second));
    ensure!(
        String::from_utf8_lossy(&second.stderr).contains("is being sent by another Foghorn"),
        "{}",
        text(&second)
    );
    let status = resumed.wait_for_exit(Duration::from_secs(60))?;
    ensure!(status.success(), "{}", resumed.stdout());
    ensure!(
        resumed.stdout().contains(&format!(
            "Resuming letter 1: {at_pause} of 200 already sent"
        )),
        "{}",
        resumed.stdout()
    );
    ensure!(sink.count() == 200, "{} letters", sink.count());
    Ok(())
}

#[test]
fn ctrl_c_pauses_a_send_and_a_cancelled_letter_goes_no_further() -> Result<()> {
    let sink = SmtpSink::start(json!({}))?;
    let founder = Founder::new(&sink.url(), "rate = \"25/s\"")?;
    founder.write_list("customers.csv", 200, &[])?;
    let mut sender = sending(&founder, &sink, 10)?;
    kill(Pid::from_raw(sender.pid() as i32), Signal::SIGINT)?;
    let status = sender.wait_for_exit(Duration::from_secs(15))?;
    ensure!(status.code() == Some(1), "paused: {}", sender.stdout());
    ensure!(
        sender
            .stderr()
            .contains("Pausing: the letters in flight finish first")
            && sender
                .stdout()
                .contains("Carry on with: foghorn letter resume 1"),
        "{}\n{}",
        sender.stdout(),
        sender.stderr()
    );
    let paused = founder.status_json(1)?;
    let at_pause = sink.count() as u64;
    ensure!(
        paused["state"] == "paused" && paused["accepted"] == at_pause && paused["sending"] == 0,
        "every letter in flight finished and was recorded: {paused}"
    );

    let cancelled = founder.run(&["letter", "cancel", "1"])?;
    ensure!(cancelled.status.success(), "{}", text(&cancelled));
    let again = founder.run(&["letter", "resume", "1"])?;
    ensure!(
        again.status.code() == Some(1)
            && String::from_utf8_lossy(&again.stderr).contains("letter 1 was cancelled"),
        "{}",
        text(&again)
    );
    let rerun = founder.send("customers.csv", &["--yes"])?;
    ensure!(rerun.status.code() == Some(1), "{}", text(&rerun));
    ensure!(sink.count() as u64 == at_pause, "nobody else was sent it");
    ensure!(founder.status_json(1)?["state"] == "cancelled", "cancelled");
    Ok(())
}

#[test]
fn a_dry_run_and_a_test_send_send_nothing_else_and_bad_input_is_named() -> Result<()> {
    let sink = SmtpSink::start(json!({}))?;
    let founder = Founder::new(&sink.url(), "")?;
    founder.write_list("customers.csv", 5, &[])?;

    let dry = founder.send("customers.csv", &["--dry-run"])?;
    ensure!(dry.status.success(), "{}", text(&dry));
    ensure!(
        stdout(&dry).contains("5 customers in")
            && stdout(&dry).contains("Dry run: nothing was sent."),
        "{}",
        text(&dry)
    );
    ensure!(
        stdout(&dry).contains("Rate: 10/s"),
        "the default rate is shown: {}",
        text(&dry)
    );
    let list = founder.run(&["letter", "status"])?;
    ensure!(stdout(&list).contains("No letters yet."), "{}", text(&list));
    founder.write_list(
        "mixed.csv",
        5,
        &[
            "big@example.com,Big,Big Co,enterprise",
            "huge@example.com,Huge,Huge Co,Enterprise",
        ],
    )?;
    let part = founder.send("mixed.csv", &["--dry-run", "--plan", "enterprise"])?;
    ensure!(
        part.status.success()
            && stdout(&part).contains("── The first letter, to big@example.com ──")
            && stdout(&part).contains("2 customers in")
            && stdout(&part).contains("(5 left out by the filter)"),
        "{}",
        text(&part)
    );

    let test = founder.send("customers.csv", &["--test-to", "alice@acme.test"])?;
    ensure!(test.status.success(), "{}", text(&test));
    let received = sink.messages()?;
    ensure!(received.len() == 1, "one test letter");
    let m = MessageParser::default()
        .parse(&received[0].raw)
        .context("parses")?;
    ensure!(
        received[0].envelope_to == "alice@acme.test",
        "to the founder"
    );
    ensure!(
        m.subject() == Some("[Test] About the outage, Customer 0"),
        "{:?}",
        m.subject()
    );

    // A server reached without TLS is named in the preflight (a dry run never connects).
    let remote = Founder::new("smtp://mail.acme.test:587", "")?;
    remote.write_list("customers.csv", 2, &[])?;
    let warned = remote.send("customers.csv", &["--dry-run"])?;
    ensure!(
        stdout(&warned).contains("Warning: `smtp.url` does not require TLS")
            && stdout(&warned).contains("Warning: no DKIM signature"),
        "{}",
        text(&warned)
    );

    // Without --yes and without a terminal to ask on: refused, nothing sent.
    let unasked = founder.send("customers.csv", &[])?;
    ensure!(unasked.status.code() == Some(1), "{}", text(&unasked));
    ensure!(
        String::from_utf8_lossy(&unasked.stderr).contains("add --yes"),
        "{}",
        text(&unasked)
    );
    ensure!(sink.count() == 1, "still only the test letter");

    // A variable the list lacks, and a list that is not UTF-8: exit 2 naming where.
    std::fs::write(
        founder.path("letter.md"),
        "---\nsubject: Hi\n---\nDear {{ name }} on {{ tier }}\n",
    )?;
    let wrong = founder.send("customers.csv", &["--yes"])?;
    ensure!(wrong.status.code() == Some(2), "{}", text(&wrong));
    ensure!(
        String::from_utf8_lossy(&wrong.stderr)
            .contains("letter.md: the letter uses {{ tier }}, but the list has no `tier` column"),
        "{}",
        text(&wrong)
    );
    std::fs::write(
        founder.path("latin1.csv"),
        b"email,name\nann@example.com,Ann\nrene@example.com,Ren\xe9\n",
    )?;
    std::fs::write(
        founder.path("letter.md"),
        "---\nsubject: Hi\n---\nDear {{ name }}\n",
    )?;
    let latin = founder.send("latin1.csv", &["--yes"])?;
    ensure!(latin.status.code() == Some(2), "{}", text(&latin));
    ensure!(
        String::from_utf8_lossy(&latin.stderr).contains("latin1.csv: line 3"),
        "{}",
        text(&latin)
    );
    ensure!(sink.count() == 1, "nothing sent");
    Ok(())
}

/// A private CA and a certificate for 127.0.0.1 signed by it: (CA, certificate, key).
fn test_ca(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key, csr) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("server.csr"),
    );
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    let steps: [Vec<&std::ffi::OsStr>; 3] = [
        vec![
            "req".as_ref(),
            "-x509".as_ref(),
            "-newkey".as_ref(),
            "rsa:2048".as_ref(),
            "-nodes".as_ref(),
            "-keyout".as_ref(),
            ca_key.as_os_str(),
            "-out".as_ref(),
            ca.as_os_str(),
            "-days".as_ref(),
            "2".as_ref(),
            "-subj".as_ref(),
            "/CN=Foghorn test CA".as_ref(),
            "-addext".as_ref(),
            "basicConstraints=critical,CA:TRUE".as_ref(),
            "-addext".as_ref(),
            "keyUsage=critical,keyCertSign,cRLSign".as_ref(),
        ],
        vec![
            "req".as_ref(),
            "-newkey".as_ref(),
            "rsa:2048".as_ref(),
            "-nodes".as_ref(),
            "-keyout".as_ref(),
            key.as_os_str(),
            "-out".as_ref(),
            csr.as_os_str(),
            "-subj".as_ref(),
            "/CN=127.0.0.1".as_ref(),
        ],
        vec![
            "x509".as_ref(),
            "-req".as_ref(),
            "-in".as_ref(),
            csr.as_os_str(),
            "-CA".as_ref(),
            ca.as_os_str(),
            "-CAkey".as_ref(),
            ca_key.as_os_str(),
            "-CAcreateserial".as_ref(),
            "-out".as_ref(),
            cert.as_os_str(),
            "-days".as_ref(),
            "2".as_ref(),
            "-extfile".as_ref(),
            ext.as_os_str(),
        ],
    ];
    for args in steps {
        let out = Command::new("openssl").args(&args).output()?;
        ensure!(out.status.success(), "openssl {args:?}: {out:?}");
    }
    Ok((ca, cert, key))
}

#[test]
fn letters_go_over_implicit_tls_or_starttls_to_a_server_with_a_private_ca() -> Result<()> {
    let certs = tempfile::tempdir()?;
    let (ca, cert, key) = test_ca(certs.path())?;
    for (mode, scheme) in [("implicit", "smtps"), ("starttls", "smtp")] {
        let sink = SmtpSink::start_tls(mode, &cert, &key)?;
        let query = if mode == "starttls" {
            "?tls=required"
        } else {
            ""
        };
        let url = format!("{scheme}://127.0.0.1:{}{query}", sink.port());

        // Without the CA the certificate is not trusted: nothing is sent, and the send pauses
        // saying why.
        let untrusting = Founder::new(&url, "rate = \"off\"\npause_after_failures = 2")?;
        untrusting.write_list("customers.csv", 3, &[])?;
        let out = untrusting.send("customers.csv", &["--yes"])?;
        ensure!(out.status.code() == Some(1), "{mode}: {}", text(&out));
        ensure!(
            stdout(&out).contains("Paused: paused itself after")
                && stdout(&out).to_lowercase().contains("certificate"),
            "{mode}: the certificate is named: {}",
            text(&out)
        );
        ensure!(sink.count() == 0, "{mode}: nothing sent unprotected");

        let trusting = Founder::new(
            &url,
            &format!("rate = \"off\"\nca_file = \"{}\"", ca.display()),
        )?;
        trusting.write_list("customers.csv", 3, &[])?;
        let out = trusting.send("customers.csv", &["--yes"])?;
        ensure!(out.status.success(), "{mode}: {}", text(&out));
        ensure!(sink.count() == 3, "{mode}: {} letters", sink.count());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_can_be_intercoms_contacts_read_page_by_page_and_is_kept_for_the_resume(
) -> Result<()> {
    use foghorn_e2e::prism::{spec, Prism};
    use foghorn_e2e::receiver::{Receiver, Reply};
    // 160 contacts over two pages; three that must not be written to.
    let mut contacts: Vec<Value> = (0..157)
        .map(|i| foghorn_e2e::intercom::contact(i, &format!("contact{i}@example.com"), json!({})))
        .collect();
    contacts.push(foghorn_e2e::intercom::contact(
        157,
        "bounced@example.com",
        json!({"has_hard_bounced": true}),
    ));
    contacts.push(foghorn_e2e::intercom::contact(
        158,
        "gone@example.com",
        json!({"unsubscribed_from_emails": true}),
    ));
    contacts.push(foghorn_e2e::intercom::contact(159, "", json!({})));
    let fake = Receiver::start(move |r| {
        let page = if r.path.contains("starting_after=page2") { 1 } else { 0 };
        let chunk: Vec<Value> = contacts.iter().skip(page * 150).take(150).cloned().collect();
        let mut pages = json!({"type": "pages", "page": page + 1, "per_page": 150, "total_pages": 2});
        if page == 0 {
            pages["next"] = json!({"per_page": 150, "starting_after": "page2"});
        }
        if !(r.method == "GET" && r.path.starts_with("/contacts")) {
            return Reply::Answer {
                status: 404,
                headers: vec![("Content-Type", "application/json".to_owned())],
                body: json!({"type": "error.list", "errors": [{"code": "not_found", "message": "no"}]}).to_string(),
            };
        }
        Reply::Answer {
            status: 200,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: json!({"type": "list", "data": chunk, "total_count": 160, "pages": pages}).to_string(),
        }
    })
    .await?;
    let prism = Prism::proxy(
        &spec("intercom-2.14-conversations-messages-openapi.yaml"),
        &fake.url(),
    )?;
    let sink = SmtpSink::start(json!({}))?;
    let founder = Founder::new(
        &sink.url(),
        &format!(
            "rate = \"off\"\n\n[intercom]\nurl = \"{}\"\ntoken = \"env:INTERCOM_TOKEN\"\nadmin_id = \"814860\"",
            prism.url()
        ),
    )?;
    // `letter send letter.md --to intercom --plan enterprise --yes`.
    let send_to_intercom = || -> Result<Output> {
        let mut cmd = founder.command()?;
        cmd.env("INTERCOM_TOKEN", "ic-t0ken").args([
            "letter",
            "send",
            &founder.path("letter.md").display().to_string(),
            "--to",
            "intercom",
            "--plan",
            "enterprise",
            "--yes",
        ]);
        Ok(cmd.output()?)
    };
    let out = send_to_intercom()?;
    ensure!(out.status.success(), "{}", text(&out));
    let said = stdout(&out);
    ensure!(
        said.contains("Intercom: 157 contacts read")
            && said.contains("(3 left out: no address, bounced, spam or unsubscribed)")
            && said.contains("78 customers in")
            && said.contains("(79 left out by the filter)"),
        "{said}"
    );
    let arrived: BTreeSet<String> = sink
        .messages()?
        .into_iter()
        .map(|r| r.envelope_to)
        .collect();
    ensure!(
        arrived.len() == 78 && sink.count() == 78,
        "{} letters",
        sink.count()
    );
    ensure!(
        arrived.iter().all(|e| {
            e.strip_prefix("contact")
                .and_then(|s| s.strip_suffix("@example.com"))
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| !n.is_multiple_of(2))
        }),
        "only the enterprise plan: {arrived:?}"
    );
    ensure!(
        fake.requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer ic-t0ken")
                && r.header("intercom-version") == Some("2.14")),
        "Intercom's headers"
    );
    prism.assert_no_violations()?;

    // The same letter to Intercom again: the letter it started, not a new read of the list.
    let reads = fake.requests().len();
    let out = send_to_intercom()?;
    ensure!(out.status.success(), "{}", text(&out));
    ensure!(
        fake.requests().len() == reads,
        "Intercom was not read again"
    );
    ensure!(sink.count() == 78, "nobody heard twice");
    Ok(())
}

#[test]
fn a_server_that_goes_away_mid_send_pauses_it_and_the_resume_finishes_once_it_is_back() -> Result<()>
{
    let first = SmtpSink::start(json!({}))?;
    let port = first.port();
    let founder = Founder::new(&first.url(), "rate = \"40/s\"\npause_after_failures = 3")?;
    let emails = founder.write_list("customers.csv", 120, &[])?;
    let mut sender = sending(&founder, &first, 20)?;
    // The network goes: the server is gone mid-send.
    let before: Vec<_> = {
        let received = first.messages()?;
        drop(first);
        received
    };
    let status = sender.wait_for_exit(Duration::from_secs(60))?;
    ensure!(status.code() == Some(1), "paused: {}", sender.stdout());
    ensure!(
        sender.stdout().contains("Paused: paused itself after"),
        "{}",
        sender.stdout()
    );
    let paused = founder.status_json(1)?;
    ensure!(
        paused["state"] == "paused" && paused["failed"] == 0,
        "nobody is given up on while the server is away: {paused}"
    );

    // It is back: the resume sends the rest.
    let second = SmtpSink::start_on(port, json!({}))?;
    let out = founder.run(&["letter", "resume", "1"])?;
    ensure!(out.status.success(), "{}", text(&out));
    let parser = MessageParser::default();
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in before.iter().chain(second.messages()?.iter()) {
        let m = parser.parse(&r.raw).context("parses")?;
        ids.entry(r.envelope_to.clone())
            .or_default()
            .insert(m.message_id().context("Message-ID")?.to_owned());
    }
    ensure!(
        ids.keys().cloned().collect::<BTreeSet<_>>() == emails.into_iter().collect(),
        "everyone got the letter"
    );
    ensure!(
        ids.values().all(|set| set.len() == 1),
        "one Message-ID each"
    );
    Ok(())
}

#[test]
fn the_password_comes_from_the_environment_and_a_wrong_one_pauses_the_send_saying_so() -> Result<()>
{
    let sink = SmtpSink::start_with_login("founder@acme.test", "s3cret-pass")?;
    let url = format!("smtp://founder%40acme.test@127.0.0.1:{}", sink.port());
    let founder = Founder::new(
        &url,
        "password = \"env:SMTP_PASSWORD\"\nrate = \"off\"\npause_after_failures = 2",
    )?;
    founder.write_list("customers.csv", 5, &[])?;
    let args = founder.send_args("customers.csv", &["--yes"]);

    let mut wrong = founder.command()?;
    wrong.env("SMTP_PASSWORD", "not-it").args(&args);
    let out = wrong.output()?;
    ensure!(out.status.code() == Some(1), "{}", text(&out));
    ensure!(
        stdout(&out).contains("Paused: paused itself after") && stdout(&out).contains("535"),
        "the server's refusal is quoted: {}",
        text(&out)
    );
    ensure!(!text(&out).contains("not-it"), "no password in the output");
    ensure!(founder.status_json(1)?["failed"] == 0, "nobody given up on");
    ensure!(sink.count() == 0, "nothing sent");

    let mut right = founder.command()?;
    right
        .env("SMTP_PASSWORD", "s3cret-pass")
        .args(["letter", "resume", "1"]);
    let out = right.output()?;
    ensure!(out.status.success(), "{}", text(&out));
    ensure!(sink.count() == 5, "{} letters", sink.count());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_through_intercom_reaches_each_contact_once_across_crashes_and_notes_the_incident(
) -> Result<()> {
    use foghorn_e2e::intercom;
    use foghorn_e2e::prism::{spec, Prism};
    let (state, fake) = intercom::mail_fake(
        (0..12)
            .map(|i| intercom::contact(i, &format!("user{i}@example.com"), json!({})))
            .collect(),
    )
    .await?;
    let prism = Prism::proxy(
        &spec("intercom-2.14-conversations-messages-openapi.yaml"),
        &fake.url(),
    )?;
    // The incident the letter is about: opened by the engine from a failing check.
    let target = foghorn_e2e::Target::start().await?;
    target.set_healthy(false);
    let sink = SmtpSink::start(json!({}))?;
    let founder = Founder::new(
        &sink.url(),
        &format!(
            "\n[intercom]\nurl = \"{}\"\ntoken = \"env:INTERCOM_TOKEN\"\nadmin_id = \"814860\"\n\
             letter_rate = \"off\"\n\n\
             [[monitors]]\nname = \"api\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
             failure_threshold = 1\n",
            prism.url(),
            target.url()
        ),
    )?;
    let incident = {
        let mut cmd = founder.command()?;
        cmd.args(["run", "--headless"]);
        let mut engine = ChildGuard::spawn("intercom-letter-engine", cmd, &founder.path(""))?;
        let id = wait_until(Duration::from_secs(60), "an incident to open", || {
            let out = founder.run(&["incidents", "--json"])?;
            let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            Ok(list
                .as_array()
                .and_then(|l| l.first())
                .and_then(|i| i["id"].as_i64()))
        })?;
        engine.terminate();
        id
    };
    // Twelve Intercom contacts in the list, and one address Intercom does not know.
    founder.write_list(
        "customers.csv",
        12,
        &["stranger@example.com,Stranger,Nowhere,team"],
    )?;
    let incident_arg = incident.to_string();
    let send = |crash_at: Option<&str>| -> Result<Output> {
        let mut cmd = founder.command()?;
        cmd.env("INTERCOM_TOKEN", "ic-t0ken");
        if let Some(point) = crash_at {
            cmd.env("FOGHORN_CRASH_AT", point);
        }
        let args = founder.send_args(
            "customers.csv",
            &["--via", "intercom", "--incident", &incident_arg, "--yes"],
        );
        Ok(cmd.args(&args).output()?)
    };
    // Killed after Intercom took the first message and before the ledger heard of it…
    let first = send(Some("letter-sent"))?;
    ensure!(!first.status.success(), "crashed: {}", text(&first));
    // (Up to four go at once: those that left before the crash are in Intercom, unrecorded;
    // the others were still on their way.)
    let out_before = state.lock().map_or(0, |s| s.messages.len());
    ensure!(
        (1..=4).contains(&out_before),
        "{out_before} messages out: {}",
        text(&first)
    );
    // Half-sent through Intercom, the same letter cannot go on by email.
    let by_email = founder.send("customers.csv", &["--via", "email", "--yes"])?;
    ensure!(
        by_email.status.code() == Some(1)
            && text(&by_email).contains("is being sent through Intercom; it cannot change its way"),
        "{}",
        text(&by_email)
    );
    ensure!(sink.count() == 0, "nothing went by SMTP");
    // …then after claiming the next one and before sending it…
    let second = send(Some("letter-claimed"))?;
    ensure!(!second.status.success(), "crashed: {}", text(&second));
    ensure!(
        stdout(&second)
            .contains("in flight when the last run stopped: looked for in Intercom first"),
        "{}",
        text(&second)
    );
    // …and resumed to the end.
    let third = send(None)?;
    let said = stdout(&third);
    ensure!(
        third.status.code() == Some(1),
        "one not delivered: {}",
        text(&third)
    );
    ensure!(
        said.contains("done: 12 of 13 accepted, 1 failed")
            && said.contains("sent again after a stop, not found in Intercom")
            && said.contains("Intercom has no contact with the address stranger@example.com"),
        "{said}"
    );
    let fake_now = state.lock().map_err(|_| anyhow!("poisoned"))?;
    let mut per_contact: BTreeMap<&str, usize> = BTreeMap::new();
    for (contact, subject, body) in &fake_now.messages {
        *per_contact.entry(contact.as_str()).or_default() += 1;
        let n: usize = contact.trim_start_matches('c').parse()?;
        ensure!(
            subject == &format!("About the outage, Customer {n}")
                && body.contains(&format!("<strong>Company {n}, Inc.</strong>")),
            "personalised: {subject} / {body}"
        );
    }
    ensure!(
        per_contact.len() == 12 && per_contact.values().all(|&n| n == 1),
        "each contact once: {per_contact:?}"
    );
    drop(fake_now);
    ensure!(sink.count() == 0, "nothing went by SMTP");
    ensure!(
        fake.requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer ic-t0ken")),
        "the token on every call"
    );
    prism.assert_no_violations()?;

    // The incident's timeline says how the letter went.
    let db = rusqlite::Connection::open_with_flags(
        founder.path("data/foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let line: String = db.query_row(
        "SELECT detail FROM timeline WHERE incident_id = ?1 AND kind = 'letter'",
        [incident],
        |r| r.get(0),
    )?;
    ensure!(
        line.contains("letter sent")
            && line.contains("accepted for 12 of 13 customers")
            && line.contains("1 not delivered"),
        "{line}"
    );
    Ok(())
}

/// `[status]` and `[sla]` for the credit letter: one monitored component, and two plans with
/// a guarantee measured on it (a third plan on the list, `free`, has none).
const SLA_SECTIONS: &str = r#"
[[monitors]]
name = "api"
url = "http://127.0.0.1:9/"

[status]
product = "Acme"
components = [{ name = "API", monitors = ["api"] }]

[[sla.plans]]
plan = "enterprise"
target = "99.9%"
components = ["API"]
credits = [{ below = "99.9%", credit = "10%" }, { below = "99%", credit = "25%" }]

[[sla.plans]]
plan = "business"
target = "99.5%"
components = ["API"]
credits = [{ below = "99.5%", credit = "10%" }]
"#;

/// A letter about September's SLA: each customer's downtime and credit, said in words.
const CREDIT_LETTER: &str =
    "---\nsubject: Our uptime in September, {{ name }}\nsla: 2026-09\n---\n\
Dear {{ name }},\n\n\
{% if downtime %}Your service was down for {{ downtime }} ({{ availability }} available).\
{% else %}Your plan has no uptime guarantee.{% endif %}\n\n\
{% if credit %}You are owed {{ credit }}, taken off your next invoice.\
{% else %}No credit is owed under your plan.{% endif %}\n";

const HOUR_MS: i64 = 3_600_000;

/// Hourly roll-ups of the `api` monitor for every hour of September 2026 (UTC), failing
/// throughout the hours `down` (counted from the 1st, midnight), as the engine leaves a month
/// behind it; written again over an earlier seed.
fn seed_september(founder: &Founder, down: std::ops::Range<i64>) -> Result<()> {
    // The app's own schema first, every migration applied.
    drop(foghorn_core::store::Store::open(&founder.path("data"))?);
    let mut db = rusqlite::Connection::open(founder.path("data/foghorn.db"))?;
    let start = time::Date::from_calendar_date(2026, time::Month::September, 1)?
        .midnight()
        .assume_utc()
        .unix_timestamp()
        * 1000;
    let monitor = foghorn_core::monitor::MonitorId::from_name("api")
        .as_str()
        .to_owned();
    let tx = db.transaction()?;
    for h in 0..30 * 24 {
        let down_ms = if down.contains(&h) { HOUR_MS } else { 0 };
        tx.execute(
            "INSERT OR REPLACE INTO check_hourly(monitor_id, hour, checks, failures, down_ms)
             VALUES (?1, ?2, 60, ?3, ?4)",
            rusqlite::params![
                monitor,
                (start + h * HOUR_MS) / 1000,
                down_ms / 60_000,
                down_ms
            ],
        )?;
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    tx.execute(
        "INSERT INTO settings(key, value) VALUES ('history.rolled_up_to_ms', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [(now - now.rem_euclid(HOUR_MS)).to_string()],
    )?;
    tx.commit()?;
    Ok(())
}

/// Each customer's letters (the plain-text part of every copy), by address.
fn texts_by_customer(sink: &SmtpSink) -> Result<BTreeMap<String, Vec<String>>> {
    let parser = MessageParser::default();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in sink.messages()? {
        let m = parser.parse(&r.raw).context("a letter that parses")?;
        out.entry(r.envelope_to.clone())
            .or_default()
            .push(m.body_text(0).context("a text part")?.into_owned());
    }
    Ok(out)
}

#[test]
fn a_letter_naming_its_sla_month_owes_each_customer_their_credit_and_a_resume_keeps_the_figures(
) -> Result<()> {
    let sink = SmtpSink::start(json!({}))?;
    let founder = Founder::new(
        &sink.url(),
        &format!("rate = \"off\"\nconnections = 1\n{SLA_SECTIONS}"),
    )?;
    // Two hours down in September's 720: 99.72 %, under enterprise's 99.9 % (10 % credit),
    // over business's 99.5 %.
    seed_september(&founder, 100..102)?;
    std::fs::write(
        founder.path("customers.csv"),
        "email,name,plan,mrr\n\
         ada@example.com,Ada,enterprise,$499\n\
         bob@example.com,Bob,Enterprise,\n\
         cy@example.com,Cy,business,99\n\
         di@example.com,Di,free,10\n",
    )?;

    // Without its month, a letter using the credit is refused before anything is sent.
    std::fs::write(
        founder.path("letter.md"),
        CREDIT_LETTER.replace("sla: 2026-09\n", ""),
    )?;
    let out = founder.send("customers.csv", &["--yes"])?;
    ensure!(
        out.status.code() == Some(2)
            && text(&out).contains("does not say which month: add `sla: 2026-11`"),
        "{}",
        text(&out)
    );

    // The preview names the month and how many are owed a credit.
    std::fs::write(founder.path("letter.md"), CREDIT_LETTER)?;
    let out = founder.send("customers.csv", &["--dry-run"])?;
    let said = stdout(&out);
    ensure!(
        out.status.success()
            && said.contains("SLA month: September 2026 (UTC) — 2 of 4 customers owed a credit")
            && said.contains("You are owed 10 % of your monthly fee ($49.90)"),
        "{}",
        text(&out)
    );
    ensure!(sink.count() == 0, "a dry run sends nothing");

    // Killed once the first letter went, before the ledger heard of it.
    let args = founder.send_args("customers.csv", &["--yes"]);
    let crashed = founder
        .command()?
        .env("FOGHORN_CRASH_AT", "letter-sent")
        .args(&args)
        .output()?;
    ensure!(!crashed.status.success(), "crashed: {}", text(&crashed));
    ensure!(
        sink.count() == 1,
        "{} letters before the crash",
        sink.count()
    );

    // Meanwhile September is recounted worse: twelve hours down, the 25 % tier now.
    seed_september(&founder, 100..112)?;
    let report = founder.run(&["sla", "report", "--month", "2026-09", "--json"])?;
    let report: Value = serde_json::from_slice(&report.stdout)?;
    ensure!(
        report["plans"][0]["creditPercent"] == 25.0,
        "the month now reads worse: {report}"
    );

    // The resume sends what the letter was started with.
    let out = founder.send("customers.csv", &["--yes"])?;
    let said = stdout(&out);
    ensure!(
        out.status.success()
            && said.contains("The letter keeps the SLA figures it was started with")
            && said.contains("2 of 4 customers owed a credit")
            && said.contains("You are owed 10 % of your monthly fee ($49.90)")
            && said.contains("done: 4 of 4 accepted"),
        "{}",
        text(&out)
    );
    let want = [
        (
            "ada@example.com",
            "Your service was down for 2 hours (99.72 % available).",
            "You are owed 10 % of your monthly fee ($49.90), taken off your next invoice.",
        ),
        (
            "bob@example.com",
            "Your service was down for 2 hours (99.72 % available).",
            "You are owed 10 % of your monthly fee, taken off your next invoice.",
        ),
        (
            "cy@example.com",
            "Your service was down for 2 hours (99.72 % available).",
            "No credit is owed under your plan.",
        ),
        (
            "di@example.com",
            "Your plan has no uptime guarantee.",
            "No credit is owed under your plan.",
        ),
    ];
    let letters = texts_by_customer(&sink)?;
    ensure!(letters.len() == 4, "every customer: {letters:?}");
    for (email, downtime, credit) in want {
        let copies = letters.get(email).context(email)?;
        for copy in copies {
            ensure!(
                copy.contains(downtime) && copy.contains(credit),
                "{email} reads:\n{copy}"
            );
        }
    }

    // The same words about another month are another letter, measured for that month.
    std::fs::write(
        founder.path("letter.md"),
        CREDIT_LETTER.replace("sla: 2026-09", "sla: 2026-08"),
    )?;
    let before = sink.count();
    let out = founder.send("customers.csv", &["--yes"])?;
    ensure!(
        out.status.success() && stdout(&out).contains("Letter 2: sending to 4 customers"),
        "{}",
        text(&out)
    );
    ensure!(sink.count() == before + 4, "{} letters", sink.count());
    let august = texts_by_customer(&sink)?;
    ensure!(
        august["ada@example.com"].iter().any(|t| t
            .contains("Your service was down for 0 minutes (100 % available).")
            && t.contains("No credit is owed")),
        "{:?}",
        august["ada@example.com"]
    );
    Ok(())
}
