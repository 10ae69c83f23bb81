//! Status updates in the real window, driven through tauri-driver: from an open incident the
//! support view posts the first public update in three actions (Support, Post update,
//! Publish) with the composer pre-filled and previewed per destination, and the receipts come
//! back "4/4 published" from Statuspage (a stateful fake behind `prism proxy`), the chat, the
//! self-hosted page and the signed webhook. The engineer view posts the next update from the
//! incident's detail; a destination that refused it is retried alone. The page the window
//! published is then opened in WebKit itself.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context, Result};
use foghorn_e2e::prism::{spec, Prism};
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::status::{config, signed_ok, statuspage_fake, Statuspage, SECRETS};
use foghorn_e2e::{
    artifacts_dir, foghorn_bin, wait_until_async, AppLaunch, Desktop, Target, WebDriverSession,
};
use serde_json::{json, Value};

/// The app's start, the first failing check and the incident it opens, on a loaded machine.
const START: Duration = Duration::from_secs(60);
/// One step in the window: a preview, the outbox delivering to four local destinations.
const STEP: Duration = Duration::from_secs(30);

/// The composer's previews as (destination, text), once all four are there.
async fn previews(driver: &WebDriverSession) -> Result<Vec<(String, String)>> {
    wait_until_async(STEP, "four previews", || async {
        let v = driver
            .execute(
                "return Array.from(document.querySelectorAll('[data-testid=preview]')).map(f => \
                 [f.dataset.destination, f.querySelector('pre')?.textContent ?? '']);",
                vec![],
            )
            .await?;
        let found: Vec<(String, String)> = serde_json::from_value(v)?;
        Ok((found.len() == 4).then_some(found))
    })
    .await
}

/// Clicks `css` and counts it as one of the person's actions.
async fn act(driver: &WebDriverSession, actions: &mut u32, css: &str) -> Result<()> {
    driver
        .wait_for_element(css, STEP)
        .await
        .with_context(|| format!("action {}: {css}", *actions + 1))?;
    driver.click(css).await?;
    *actions += 1;
    Ok(())
}

fn launch(dir: &Path, config: &Path, slack: &str) -> AppLaunch {
    let mut launch = AppLaunch::new(foghorn_bin().unwrap_or_default())
        .env("FOGHORN_CONFIG", config.display().to_string())
        .env("FOGHORN_DATA_DIR", dir.join("data").display().to_string())
        .env("SLACK_HOOK", slack);
    for (k, v) in SECRETS {
        launch = launch.env(k, v);
    }
    launch.arg("run").arg("--show-window")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_update_goes_out_from_the_window_in_three_actions_and_the_page_renders(
) -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let target = Target::start().await?;
    let sp_state = Arc::new(Mutex::new(Statuspage::default()));
    let sp_fake = statuspage_fake(sp_state.clone()).await?;
    let prism = Prism::proxy(&spec("statuspage-v1-openapi.json"), &sp_fake.url())?;
    let slack = Receiver::start(|_| answer(200, "ok")).await?;
    // The banner's endpoint refuses while `refusing` is set (a 400 is not retried).
    let refusing = Arc::new(AtomicBool::new(false));
    let hook = Receiver::start({
        let refusing = refusing.clone();
        let signed = signed_ok(SECRETS[1].1);
        move |r| {
            if refusing.load(Ordering::SeqCst) {
                answer(400, "banner store is read-only")
            } else {
                signed(r)
            }
        }
    })
    .await?;
    let page = desktop.dir().join("page");
    let config_path = desktop.dir().join("foghorn.toml");
    std::fs::write(
        &config_path,
        config(&target.url(), &prism.url(), &hook.url(), &page, None),
    )?;
    target.set_healthy(false);
    let driver =
        WebDriverSession::start(&desktop, &launch(desktop.dir(), &config_path, &slack.url()))
            .await?;

    // The incident is open: from here, a stopwatch and a count of what the person does.
    driver.wait_for_open_incidents(1, START).await?;
    let stopwatch = Instant::now();
    let mut actions = 0;
    act(&driver, &mut actions, "[data-testid=view-support]").await?;
    let card = "[data-testid=support-incident]";
    act(
        &driver,
        &mut actions,
        &format!("{card} [data-testid=post-update]"),
    )
    .await?;

    // Pre-filled from the incident and the failing monitor, previewed per destination.
    let shown = previews(&driver).await?;
    let destinations: Vec<&str> = shown.iter().map(|(d, _)| d.as_str()).collect();
    ensure!(
        destinations == ["statuspage", "chat", "page", "webhook"],
        "one preview per destination: {destinations:?}"
    );
    let title = driver.value("[data-testid=status-title]").await?;
    ensure!(!title.trim().is_empty(), "the title is pre-filled");
    let api = driver.value("[data-testid=component-API]").await?;
    ensure!(
        api == "major_outage",
        "the failing monitor's component is marked: {api:?}"
    );
    let dashboard = driver.value("[data-testid=component-Dashboard]").await?;
    ensure!(dashboard.is_empty(), "the other one is not: {dashboard:?}");
    let message = driver.value("[data-testid=status-message]").await?;
    ensure!(
        message.contains("investigating"),
        "the first update says we are investigating: {message}"
    );
    ensure!(
        driver.value("[data-testid=status-next]").await? == "30",
        "next update by: the configured 30 min"
    );
    let (_, chat) = &shown[1];
    ensure!(
        chat.contains(&title) && chat.contains("investigating"),
        "the chat's preview carries the title and the message: {chat}"
    );
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("status-composer.png"),
        STEP,
    )?;

    act(&driver, &mut actions, "[data-testid=publish]").await?;
    let line = driver
        .wait_for_text(
            &format!("{card} [data-testid=receipt-line]"),
            |t| t.starts_with("4/4 published"),
            STEP,
        )
        .await?;
    let took = stopwatch.elapsed();
    ensure!(actions <= 3, "the first update took {actions} actions");
    println!(
        "first public update from the open incident: {actions} actions, {:.1} s to \"{line}\"",
        took.as_secs_f64()
    );
    driver
        .wait_for_content(
            &format!("{card} [data-testid=public-record]"),
            |t| t.contains("after the incident opened; 1 update"),
            STEP,
        )
        .await?;
    driver
        .wait_for_content(
            &format!("{card} [data-testid=promise]"),
            |t| t.contains("promised"),
            STEP,
        )
        .await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("status-update.png"),
        STEP,
    )?;

    // The engineer view: the next update from the incident's detail; the banner refuses it,
    // the receipt says so, and Retry sends that one destination again.
    driver.click("[data-testid=view-engineer]").await?;
    driver.click("[data-testid=tab-incidents]").await?;
    let row = "[data-testid=incident-row]";
    driver.click(&format!("{row} [role=button]")).await?;
    let detail = "[data-testid=incident-detail]";
    driver
        .wait_for_content(
            &format!("{detail} [data-testid=public-state]"),
            |t| t == "Investigating",
            STEP,
        )
        .await?;
    driver
        .click(&format!("{detail} [data-testid=post-update]"))
        .await?;
    driver
        .wait_for_element(&format!("{detail} [data-testid=state-identified]"), STEP)
        .await?;
    driver
        .click(&format!("{detail} [data-testid=state-identified]"))
        .await?;
    wait_until_async(STEP, "the identified wording", || async {
        let m = driver
            .value(&format!("{detail} [data-testid=status-message]"))
            .await?;
        Ok(m.to_lowercase().contains("identified").then_some(()))
    })
    .await?;
    refusing.store(true, Ordering::SeqCst);
    driver
        .click(&format!("{detail} [data-testid=publish]"))
        .await?;
    let line = driver
        .wait_for_text(
            &format!("{detail} [data-testid=receipt-line]"),
            |t| t.starts_with("3/4 published") && t.contains("failed"),
            STEP,
        )
        .await?;
    ensure!(
        line.contains("banner store is read-only"),
        "the receipt quotes the refusal: {line}"
    );
    refusing.store(false, Ordering::SeqCst);
    driver
        .click_in_view(&format!("{detail} [data-testid=retry-destination]"))
        .await?;
    driver
        .wait_for_text(
            &format!("{detail} [data-testid=receipt-line]"),
            |t| t.starts_with("4/4 published"),
            STEP,
        )
        .await?;

    // Statuspage got one incident and one patch; the chat two messages; nothing broke the
    // vendor's description.
    prism.assert_no_violations()?;
    ensure!(
        prism.refusals().is_empty(),
        "refused: {:?}",
        prism.refusals()
    );
    {
        let sp = sp_state.lock().map_err(|_| anyhow!("poisoned"))?;
        ensure!(sp.created == 1, "one incident created: {}", sp.created);
        let patched: Vec<&Value> = sp
            .patched
            .iter()
            .map(|(_, b)| &b["incident"]["status"])
            .collect();
        ensure!(
            patched == [&json!("identified")],
            "then patched once: {patched:?}"
        );
    }
    ensure!(
        slack.requests().len() == 2,
        "two chat messages: {}",
        slack.requests().len()
    );
    let hook_bodies: Vec<Value> = hook
        .requests()
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect();
    ensure!(
        hook_bodies.len() == 3,
        "the banner: the first update, the refused one, its retry: {}",
        hook_bodies.len()
    );
    driver.close().await?;

    // The page as a reader sees it, in the window's engine.
    let index = page.join("index.html");
    let reader = WebDriverSession::browse(&desktop, &format!("file://{}", index.display())).await?;
    let heading = reader
        .wait_for_text("h1", |t| t.contains("Acme status"), STEP)
        .await?;
    let facts = reader
        .execute(
            "return { text: document.body.innerText, scripts: document.scripts.length, \
               feed: document.querySelector('link[rel=alternate][type=\"application/atom+xml\"]')?.getAttribute('href') ?? null, \
               width: document.documentElement.scrollWidth };",
            vec![],
        )
        .await?;
    let text = facts["text"].as_str().unwrap_or_default();
    ensure!(
        text.contains(&title) && text.contains("Identified"),
        "the page shows the incident and its newest update ({heading}): {text}"
    );
    ensure!(facts["scripts"] == 0, "the page needs no script: {facts}");
    ensure!(
        facts["feed"] == "history.atom",
        "the page links its feed: {facts}"
    );
    desktop.screenshot_window_painted(
        "Acme status",
        artifacts_dir()?.join("status-page.png"),
        STEP,
    )?;
    reader.close().await
}
