//! The letter to every customer in the real window, driven through tauri-driver against a
//! real SMTP server (aiosmtpd): the founder view opens on the starting template, the list of
//! 800 customers is previewed per customer, a test goes to the founder, and Send… → Confirm
//! sends it at the configured rate. Paused in the middle, the count at the server stops
//! growing; the app is restarted, the founder view shows the paused letter and the draft as
//! it was, and Resume carries on until every one of the 800 has exactly one letter. And a
//! letter through Intercom (a stateful fake behind Prism) to Intercom's contacts: chosen in
//! the window, each contact gets one message and the SMTP server none.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use foghorn_e2e::{
    artifacts_dir, foghorn_bin, wait_until_async, AppLaunch, Desktop, SmtpSink, WebDriverSession,
};
use serde_json::json;

/// The app's start and its window, on a loaded machine.
const START: Duration = Duration::from_secs(60);
/// One step in the window: a preview, a test letter.
const STEP: Duration = Duration::from_secs(30);
/// The whole list at 60 a second is 14 s; a slow machine gets plenty more.
const SEND: Duration = Duration::from_secs(180);
const CUSTOMERS: usize = 800;
const SUBJECT: &str = "About the outage, and what we are doing about it";
const UNSUBSCRIBE_KEY: (&str, &str) = (
    "FOGHORN_TEST_UNSUBSCRIBE_KEY",
    "k3y-for-the-unsubscribe-page",
);

fn address(i: usize) -> String {
    format!("customer{i:03}@example.test")
}

fn write_list(path: &Path) -> Result<()> {
    let mut csv = String::from("email,name,company\n");
    for i in 0..CUSTOMERS {
        csv.push_str(&format!("{},Customer {i},Company {i}\n", address(i)));
    }
    std::fs::write(path, csv)?;
    Ok(())
}

fn config(smtp: &str) -> String {
    format!(
        r#"[me]
names = ["Alice Smith"]

[smtp]
url = "{smtp}"
from = "Alice Smith <alice@acme.test>"
rate = "60/s"
unsubscribe_url = "https://acme.test/u?t={{{{ token }}}}"
unsubscribe_secret = "env:{}"
"#,
        UNSUBSCRIBE_KEY.0
    )
}

fn launch(dir: &Path, config: &Path) -> AppLaunch {
    AppLaunch::new(foghorn_bin().unwrap_or_default())
        .env("FOGHORN_CONFIG", config.display().to_string())
        .env("FOGHORN_DATA_DIR", dir.join("data").display().to_string())
        .env(UNSUBSCRIBE_KEY.0, UNSUBSCRIBE_KEY.1)
        .arg("run")
        .arg("--show-window")
}

/// Clicks `css` after scrolling it into the middle of the view: the founder view scrolls, and
/// WebKitWebDriver does not scroll a nested scrolling area by itself.
async fn click(driver: &WebDriverSession, css: &str) -> Result<()> {
    driver.wait_for_element(css, STEP).await?;
    driver.click_in_view(css).await
}

/// Scrolls the view so that `css` is at its top, for a screenshot.
async fn scroll_to_top(driver: &WebDriverSession, css: &str) -> Result<()> {
    driver
        .execute(
            "document.querySelector(arguments[0])?.scrollIntoView({ block: 'start' }); return true;",
            vec![json!(css)],
        )
        .await?;
    Ok(())
}

/// Clicks `css` and counts it as one of the person's actions.
async fn act(driver: &WebDriverSession, actions: &mut u32, css: &str) -> Result<()> {
    click(driver, css)
        .await
        .with_context(|| format!("action {}: {css}", *actions + 1))?;
    *actions += 1;
    Ok(())
}

/// The letters the window says were sent, from the progress line's data.
async fn sent_in_window(driver: &WebDriverSession) -> Result<Option<u64>> {
    let v = driver
        .execute(
            "const e = document.querySelector('[data-testid=letter-sent]'); \
             return e ? Number(e.dataset.count) : null;",
            vec![],
        )
        .await?;
    Ok(v.as_u64())
}

/// Opens the founder view unless the window remembered it.
async fn founder_view(driver: &WebDriverSession) -> Result<()> {
    driver
        .wait_for_element("[data-testid=view-founder]", START)
        .await?;
    let pressed = driver
        .execute(
            "return document.querySelector('[data-testid=view-founder]').getAttribute('aria-pressed');",
            vec![],
        )
        .await?;
    if pressed != json!("true") {
        click(driver, "[data-testid=view-founder]").await?;
    }
    driver
        .wait_for_element("[data-testid=letter-composer]", STEP)
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_to_800_customers_goes_out_from_the_window_once_each_through_a_pause_and_a_restart(
) -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let smtp = SmtpSink::start(json!({}))?;
    let list = desktop.dir().join("customers.csv");
    write_list(&list)?;
    let config_path = desktop.dir().join("foghorn.toml");
    std::fs::write(&config_path, config(&smtp.url()))?;
    let app = launch(desktop.dir(), &config_path);
    let driver = WebDriverSession::start(&desktop, &app).await?;

    // A new letter starts from the template.
    founder_view(&driver).await?;
    wait_until_async(STEP, "the starting template", || async {
        let subject = driver.value("[data-testid=letter-subject]").await?;
        Ok((subject == SUBJECT).then_some(()))
    })
    .await?;
    let body = driver.value("[data-testid=letter-body]").await?;
    ensure!(
        body.contains("{{ name }}") && body.contains("reply to this email"),
        "the template: {body}"
    );

    // The list: 800, the first customer, then the next one.
    let path = list.display().to_string();
    driver
        .find("[data-testid=letter-list]")
        .await?
        .send_keys(&path)
        .await?;
    let count = driver
        .wait_for_content(
            "[data-testid=letter-count]",
            |t| t.starts_with("800 customers"),
            STEP,
        )
        .await?;
    driver
        .wait_for_content(
            "[data-testid=letter-recipient]",
            |t| t.contains("1 of 800") && t.contains("Customer 0 <customer000@example.test>"),
            STEP,
        )
        .await?;
    click(&driver, "[data-testid=letter-next]").await?;
    driver
        .wait_for_content(
            "[data-testid=letter-recipient]",
            |t| t.contains("2 of 800") && t.contains("Customer 1 <customer001@example.test>"),
            STEP,
        )
        .await?;
    let letter = driver
        .wait_for_content(
            "[data-testid=letter-preview-body]",
            |t| t.starts_with("Dear Customer 1,"),
            STEP,
        )
        .await?;
    ensure!(
        letter.contains("everyone at Company 1"),
        "the preview is filled in from the row: {letter}"
    );
    // The list's field, its count and the letter shown, for the screenshot.
    driver
        .execute(
            "document.querySelector('[data-testid=letter-list]').closest('label').scrollIntoView({ block: 'start' }); return true;",
            vec![],
        )
        .await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("letter-composer.png"),
        STEP,
    )?;

    // A test to the founder: the customer shown, marked [Test], straight to the server.
    let test_to = driver.value("[data-testid=letter-test-to]").await?;
    ensure!(
        test_to == "alice@acme.test",
        "the test goes to the sender: {test_to}"
    );
    click(&driver, "[data-testid=letter-test]").await?;
    let result = driver
        .wait_for_content(
            "[data-testid=letter-test-result]",
            |t| t.starts_with("Test sent to alice@acme.test"),
            STEP,
        )
        .await?;
    ensure!(
        result.contains("customer001@example.test's letter") && result.contains("250"),
        "the server's reply: {result}"
    );
    let test = smtp.messages()?;
    ensure!(test.len() == 1, "one test letter: {}", test.len());
    ensure!(
        test[0].envelope_to == "alice@acme.test",
        "to the founder only: {}",
        test[0].envelope_to
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(&test[0].raw)
        .context("the test letter parses")?;
    let subject = parsed.subject().unwrap_or_default();
    ensure!(
        subject == format!("[Test] {SUBJECT}"),
        "the test's subject: {subject}"
    );
    ensure!(
        parsed
            .body_text(0)
            .is_some_and(|t| t.contains("Dear Customer 1,")),
        "the test is the letter shown"
    );
    // The draft is finished and tried: from here, every action counts.
    let mut actions = 0;
    act(&driver, &mut actions, "[data-testid=letter-send]").await?;
    let confirm = driver
        .wait_for_content(
            "[data-testid=letter-confirm-line]",
            |t| t.starts_with("Send to 800 customers"),
            STEP,
        )
        .await?;
    ensure!(
        confirm.contains("from Alice Smith <alice@acme.test>") && confirm.contains("at 60/s"),
        "the confirm names the sender and the rate: {confirm}"
    );
    let warnings = driver.text_contents("[data-testid=letter-warning]").await?;
    ensure!(
        warnings.iter().any(|w| w.contains("no DKIM signature")),
        "the preflight warns of the missing DKIM key: {warnings:?}"
    );
    let replies = driver.text("[data-testid=letter-confirm]").await?;
    ensure!(
        replies.contains("Replies go to your mailbox"),
        "replies are the founder's: {replies}"
    );
    act(&driver, &mut actions, "[data-testid=letter-confirm-send]").await?;
    let confirmed = Instant::now();
    ensure!(
        actions <= 4,
        "from a finished draft to a confirmed send: {actions} actions"
    );

    // In the middle, Pause: the count at the server stops growing.
    wait_until_async(STEP, "the send to be well under way", || async {
        Ok(sent_in_window(&driver).await?.filter(|n| *n >= 300))
    })
    .await?;
    click(&driver, "[data-testid=letter-pause]").await?;
    let paused_at = Instant::now();
    let mut last = (smtp.count(), Instant::now());
    let stopped = wait_until_async(STEP, "the count at the server to stop growing", || {
        let now = smtp.count();
        let stable = if now == last.0 {
            last.1.elapsed() >= Duration::from_millis(1500)
        } else {
            last = (now, Instant::now());
            false
        };
        async move { Ok(stable.then_some(now)) }
    })
    .await?;
    // Less the test letter.
    let at_server = stopped - 1;
    ensure!(
        at_server < CUSTOMERS,
        "paused in the middle, not at the end: {at_server}"
    );
    driver
        .wait_for_content(
            "[data-testid=letter-state]",
            |t| t.starts_with("Paused:"),
            STEP,
        )
        .await?;
    let in_window = sent_in_window(&driver).await?.unwrap_or_default();
    ensure!(
        in_window == at_server as u64,
        "the window counts what the server took: {in_window} vs {at_server}"
    );
    let before_pause = paused_at - confirmed;

    // Foghorn stops and starts again: the paused letter is there with Resume, the draft as
    // it was typed.
    driver.close().await?;
    let driver = WebDriverSession::start(&desktop, &app).await?;
    founder_view(&driver).await?;
    driver
        .wait_for_element(
            "[data-testid=letter-run][data-state=paused] [data-testid=letter-resume]",
            START,
        )
        .await?;
    let kept = driver.value("[data-testid=letter-list]").await?;
    ensure!(kept == path, "the list path was kept: {kept}");
    ensure!(
        smtp.count() == at_server + 1,
        "nothing went while Foghorn was stopped"
    );
    click(&driver, "[data-testid=letter-resume]").await?;
    let resumed = Instant::now();
    wait_until_async(SEND, "the resumed send to be past 500", || async {
        Ok(sent_in_window(&driver).await?.filter(|n| *n >= 500))
    })
    .await?;
    scroll_to_top(&driver, "[data-testid=letter-run]").await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("letter-progress.png"),
        STEP,
    )?;
    let done = driver
        .wait_for_content(
            "[data-testid=letter-state]",
            |t| t.starts_with("Done:"),
            SEND,
        )
        .await?;
    let after_resume = resumed.elapsed();
    ensure!(
        done == "Done: 800 of 800 sent.",
        "the window says all of them: {done}"
    );
    let line = driver.text("[data-testid=letter-progress]").await?;
    ensure!(
        line == "800 sent · 0 failed · 0 left",
        "the progress line: {line}"
    );
    scroll_to_top(&driver, "[data-testid=letter-run]").await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("letter-done.png"),
        STEP,
    )?;

    // Every customer has exactly one letter: by envelope and by Message-ID.
    let letters: Vec<_> = smtp
        .messages()?
        .into_iter()
        .filter(|m| m.envelope_to != "alice@acme.test")
        .collect();
    ensure!(
        letters.len() == CUSTOMERS,
        "{} letters at the server",
        letters.len()
    );
    let mut envelopes = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for m in &letters {
        let parsed = mail_parser::MessageParser::default()
            .parse(&m.raw)
            .with_context(|| format!("the letter to {} parses", m.envelope_to))?;
        let to = parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default();
        ensure!(
            to == m.envelope_to,
            "To: {to} and the envelope {} agree",
            m.envelope_to
        );
        ensure!(
            parsed.subject() == Some(SUBJECT),
            "the subject: {:?}",
            parsed.subject()
        );
        let unsubscribe = parsed.header_raw("List-Unsubscribe").unwrap_or_default();
        ensure!(
            unsubscribe.contains("https://acme.test/u?t="),
            "one-click unsubscribe: {unsubscribe}"
        );
        envelopes.insert(m.envelope_to.clone());
        ids.insert(parsed.message_id().unwrap_or_default().to_owned());
    }
    let everyone: BTreeSet<String> = (0..CUSTOMERS).map(address).collect();
    ensure!(envelopes == everyone, "every customer, once each");
    ensure!(ids.len() == CUSTOMERS, "800 Message-IDs: {}", ids.len());
    ensure!(
        ids.iter().all(|id| id.starts_with("letter.")),
        "the ledger's Message-IDs"
    );

    // The command line shares the ledger and the letter's key: the same letter and list, sent
    // from a file, is found already sent, and nobody gets a second copy.
    let letter_file = desktop.dir().join("letter.md");
    std::fs::write(
        &letter_file,
        format!("---\nsubject: {SUBJECT}\n---\n{body}"),
    )?;
    let out = foghorn_e2e::paths::foghorn_command(&desktop.home_dir())?
        .env("FOGHORN_CONFIG", &config_path)
        .env("FOGHORN_DATA_DIR", desktop.dir().join("data"))
        .env(UNSUBSCRIBE_KEY.0, UNSUBSCRIBE_KEY.1)
        .args(["letter", "send"])
        .arg(&letter_file)
        .arg("--to")
        .arg(&list)
        .arg("--yes")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && stdout.contains("was sent to everyone"),
        "foghorn letter send finds the window's letter sent: {out:?}"
    );
    ensure!(
        smtp.count() == CUSTOMERS + 1,
        "no second copy: {}",
        smtp.count()
    );
    println!(
        "letter window: {count}; {actions} actions from the finished draft to the confirmed send; \
         {at_server} sent in {:.1} s before the pause, the other {} in {:.1} s after the resume \
         (rate 60/s)",
        before_pause.as_secs_f64(),
        CUSTOMERS - at_server,
        after_resume.as_secs_f64()
    );
    driver.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_to_intercom_s_contacts_goes_through_intercom_from_the_window_once_each(
) -> Result<()> {
    use foghorn_e2e::intercom;
    use foghorn_e2e::prism::{spec, Prism};
    let _serial = foghorn_e2e::serial();
    const CONTACTS: usize = 40;
    let (state, fake) = intercom::mail_fake(
        (0..CONTACTS)
            .map(|i| intercom::contact(i, &address(i), json!({})))
            .collect(),
    )
    .await?;
    let prism = Prism::proxy(
        &spec("intercom-2.14-conversations-messages-openapi.yaml"),
        &fake.url(),
    )?;
    let desktop = Desktop::start()?;
    let smtp = SmtpSink::start(json!({}))?;
    let config_path = desktop.dir().join("foghorn.toml");
    std::fs::write(
        &config_path,
        format!(
            "{}\n[intercom]\nurl = \"{}\"\ntoken = \"env:INTERCOM_TOKEN\"\nadmin_id = \"814860\"\n\
             letter_rate = \"20/s\"\n",
            config(&smtp.url()),
            prism.url()
        ),
    )?;
    let app = launch(desktop.dir(), &config_path).env("INTERCOM_TOKEN", "ic-t0ken");
    let driver = WebDriverSession::start(&desktop, &app).await?;
    founder_view(&driver).await?;

    // Through Intercom, to Intercom's contacts.
    click(&driver, "[data-testid=letter-via] option[value=intercom]").await?;
    driver
        .wait_for_content(
            "[data-testid=letter-from]",
            |t| t.contains("From Intercom admin 814860"),
            STEP,
        )
        .await?;
    driver
        .find("[data-testid=letter-list]")
        .await?
        .send_keys("intercom")
        .await?;
    driver
        .wait_for_content(
            "[data-testid=letter-count]",
            |t| t.starts_with(&format!("{CONTACTS} customers")),
            STEP,
        )
        .await?;
    driver
        .wait_for_content(
            "[data-testid=letter-recipient]",
            |t| t.contains("Contact 0 <customer000@example.test>"),
            STEP,
        )
        .await?;
    scroll_to_top(&driver, "[data-testid=letter-composer]").await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("letter-intercom.png"),
        STEP,
    )?;
    click(&driver, "[data-testid=letter-send]").await?;
    let confirm = driver
        .wait_for_content(
            "[data-testid=letter-confirm-line]",
            |t| t.starts_with(&format!("Send to {CONTACTS} customers")),
            STEP,
        )
        .await?;
    ensure!(
        confirm.contains("from Intercom admin 814860") && confirm.contains("at 20/s"),
        "the confirm names Intercom's admin and its rate: {confirm}"
    );
    click(&driver, "[data-testid=letter-confirm-send]").await?;
    let done = driver
        .wait_for_content(
            "[data-testid=letter-state]",
            |t| t.starts_with("Done:"),
            SEND,
        )
        .await?;
    ensure!(
        done == format!("Done: {CONTACTS} of {CONTACTS} sent."),
        "the window says all of them: {done}"
    );
    let messages = state
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .messages
        .clone();
    let contacts: BTreeSet<&str> = messages.iter().map(|(c, _, _)| c.as_str()).collect();
    ensure!(
        messages.len() == CONTACTS && contacts.len() == CONTACTS,
        "each contact one message: {} messages to {} contacts",
        messages.len(),
        contacts.len()
    );
    ensure!(
        messages
            .iter()
            .all(|(_, subject, body)| subject == SUBJECT && body.contains("Dear Contact ")),
        "the letter, personalised"
    );
    ensure!(smtp.count() == 0, "nothing by SMTP: {}", smtp.count());
    prism.assert_no_violations()?;
    driver.close().await
}
