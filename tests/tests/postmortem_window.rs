//! The postmortem in the real window, driven through tauri-driver: an outage of two incidents
//! (a monitor down, back, down again; re-opening turned off) is opened from the first
//! incident's detail with "Draft postmortem"; the draft comes from the records, typing is kept
//! (autosave), a corrected time that puts the timeline out of order is refused and named, the
//! preview renders the tables,
//! linking the second incident drafts it again from both, and the history restores the text
//! that was typed. The charts are shown and the document exported, as one self-contained
//! HTML file and as Markdown; what the window saved is then read from the database, and the
//! exported file is opened in WebKit (the window's engine) as a reader would see it.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::{
    artifacts_dir, foghorn_bin, wait_until_async, AppLaunch, Desktop, Target, WebDriverSession,
};
use serde_json::json;

/// The app's start and an outage of two incidents, on a loaded machine.
const START: Duration = Duration::from_secs(60);
/// One step in the window.
const STEP: Duration = Duration::from_secs(20);

const EDITOR: &str = "[data-testid=postmortem-editor]";
const TEXT: &str = "[data-testid=postmortem-text]";
const SAVED: &str = "[data-testid=postmortem-saved]";

fn config(target: &str) -> String {
    format!(
        "[[monitors]]\nname = \"API\"\nurl = \"{target}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
         failure_threshold = 1\nseverity = \"critical\"\n\n[postmortem]\ntime_zone = \"UTC\"\n\n\
         [incidents]\nretrigger_within = \"0s\"\n"
    )
}

fn launch(dir: &Path, config: &Path) -> AppLaunch {
    AppLaunch::new(foghorn_bin().unwrap_or_default())
        .env("FOGHORN_CONFIG", config.display().to_string())
        .env("FOGHORN_DATA_DIR", dir.join("data").display().to_string())
        .arg("run")
        .arg("--show-window")
}

/// The incident rows the window lists, as (id, text).
async fn incident_rows(driver: &WebDriverSession) -> Result<Vec<(i64, String)>> {
    let v = driver
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid=incident-row]')).map(r => \
             [Number(r.dataset.incidentId), r.textContent]);",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// Waits for the window to list `n` incidents, none open.
async fn resolved_incidents(driver: &WebDriverSession, n: usize) -> Result<Vec<i64>> {
    wait_until_async(START, &format!("{n} resolved incidents"), || async {
        let rows = incident_rows(driver).await?;
        Ok(
            (rows.len() == n && rows.iter().all(|(_, t)| t.contains("resolved")))
                .then(|| rows.iter().map(|(id, _)| *id).collect()),
        )
    })
    .await
}

/// The editor's save state once it settles on `want` (`saved`, `refused`).
async fn settles(driver: &WebDriverSession, want: &str) -> Result<()> {
    wait_until_async(STEP, &format!("the postmortem {want}"), || async {
        let v = driver
            .execute(
                "return document.querySelector(arguments[0])?.dataset.state ?? '';",
                vec![json!(SAVED)],
            )
            .await?;
        Ok((v.as_str() == Some(want)).then_some(()))
    })
    .await
}

/// Replaces the editor's text as a paste would (the same `input` event typing sends).
async fn paste(driver: &WebDriverSession, text: &str) -> Result<()> {
    driver
        .execute(
            "const t = document.querySelector(arguments[0]); t.value = arguments[1]; \
             t.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!(TEXT), json!(text)],
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_s_postmortem_is_drafted_edited_linked_and_restored_in_the_window() -> Result<()>
{
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let target = Target::start().await?;
    let config_path = desktop.dir().join("foghorn.toml");
    std::fs::write(&config_path, config(&target.url()))?;
    let driver = WebDriverSession::start(&desktop, &launch(desktop.dir(), &config_path)).await?;
    driver
        .wait_for_element("[data-testid=view-engineer]", START)
        .await?;
    driver.click("[data-testid=view-engineer]").await?;
    driver.click("[data-testid=tab-incidents]").await?;

    // Down, up, down, up: two incidents of one outage.
    for n in 1..=2 {
        target.set_healthy(false);
        driver
            .wait_for_open_incidents(1, START)
            .await
            .with_context(|| format!("incident {n} opens"))?;
        target.answer_more(3, START).await?;
        target.set_healthy(true);
        resolved_incidents(&driver, n).await?;
    }
    let ids = resolved_incidents(&driver, 2).await?;
    let (first, second) = (
        *ids.iter().min().unwrap_or(&1),
        *ids.iter().max().unwrap_or(&2),
    );

    // Draft postmortem from the first incident's detail.
    driver
        .click_in_view(&format!(
            "[data-testid=incident-row][data-incident-id=\"{first}\"] [role=button]"
        ))
        .await?;
    driver
        .click_in_view("[data-testid=incident-detail] [data-testid=incident-postmortem]")
        .await?;
    driver.wait_for_element(EDITOR, STEP).await?;
    let drafted = wait_until_async(STEP, "the draft", || async {
        let text = driver.value(TEXT).await.unwrap_or_default();
        Ok((!text.is_empty()).then_some(text))
    })
    .await?;
    ensure!(
        drafted.starts_with("# Postmortem: API is down")
            && drafted.contains(&format!("incident #{first},"))
            && drafted.contains("## Timeline (UTC)")
            && drafted.contains("First failing check of **API**"),
        "drafted from the first incident's records:\n{drafted}"
    );

    // Typing is kept a second after it stops.
    let typed = "Root cause: a deploy turned off the API's health route.";
    let el = driver.find(TEXT).await?;
    el.click().await?;
    driver
        .execute(
            "const t = document.querySelector(arguments[0]); \
             t.setSelectionRange(t.value.length, t.value.length);",
            vec![json!(TEXT)],
        )
        .await?;
    el.send_keys(typed).await?;
    settles(&driver, "saved").await?;
    let kept = driver.value(TEXT).await?;
    ensure!(kept.trim_end().ends_with(typed), "typed at the end: {kept}");

    // A corrected time before the line above it is refused, naming the lines.
    let timeline: Vec<&str> = kept
        .lines()
        .skip_while(|l| !l.starts_with("## Timeline"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("- "))
        .collect();
    ensure!(timeline.len() >= 3, "a timeline: {timeline:?}");
    let last = timeline[timeline.len() - 1];
    let time = last.split(' ').nth(1).unwrap_or_default();
    let wrong = kept.replace(last, &last.replacen(time, "00:00:01", 1));
    paste(&driver, &wrong).await?;
    settles(&driver, "refused").await?;
    let refusal = driver.text("[data-testid=postmortem-save-error]").await?;
    ensure!(
        refusal.contains("out of order") && refusal.contains("says 00:00:01, before"),
        "{refusal}"
    );
    paste(&driver, &kept).await?;
    settles(&driver, "saved").await?;

    // The preview renders the figures table and the typed line.
    driver
        .click("[data-testid=postmortem-mode-preview]")
        .await?;
    let preview = driver
        .wait_for_content(
            "[data-testid=postmortem-preview]",
            |t| t.contains("health route"),
            STEP,
        )
        .await?;
    ensure!(preview.contains("Time to detect"), "{preview}");
    let tables = driver
        .execute(
            "return document.querySelectorAll('[data-testid=postmortem-preview] table').length;",
            vec![],
        )
        .await?;
    ensure!(
        tables.as_u64() >= Some(2),
        "figures and prevention tables: {tables}"
    );
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("postmortem-preview.png"),
        STEP,
    )?;

    // Link the second incident: drafted again from both.
    driver.click("[data-testid=postmortem-mode-edit]").await?;
    driver
        .execute(
            "const s = document.querySelector('[data-testid=postmortem-link-choice]'); \
             s.value = String(arguments[0]); s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![json!(second)],
        )
        .await?;
    driver.click("[data-testid=postmortem-link]").await?;
    driver
        .wait_for_content(
            &format!("[data-testid=postmortem-incident][data-incident-id=\"{second}\"]"),
            |t| t.contains(&format!("#{second}")),
            STEP,
        )
        .await?;
    let linked = driver.value(TEXT).await?;
    ensure!(
        linked.contains(&format!("incidents #{first}, #{second}"))
            && !linked.contains("health route"),
        "drafted again from both:\n{linked}"
    );

    // The history has the typed text; restoring it brings it back.
    driver
        .click("[data-testid=postmortem-mode-history]")
        .await?;
    let rows = driver
        .wait_for_content(
            "[data-testid=postmortem-revisions]",
            |t| t.contains(&format!("linked #{second}")),
            STEP,
        )
        .await?;
    ensure!(
        rows.contains("edited") && rows.contains("drafted"),
        "{rows}"
    );
    driver
        .click("[data-testid=postmortem-revision-row]:nth-child(2) button")
        .await?;
    driver
        .wait_for_content(
            "[data-testid=postmortem-revision]",
            |t| t.contains("health route"),
            STEP,
        )
        .await?;
    driver.click("[data-testid=postmortem-restore]").await?;
    wait_until_async(STEP, "the restored text", || async {
        let text = driver.value(TEXT).await.unwrap_or_default();
        Ok(text.contains("health route").then_some(()))
    })
    .await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("postmortem-editor.png"),
        STEP,
    )?;

    // The charts around the outage, then the document exported as one HTML file with them.
    driver.click("[data-testid=postmortem-mode-charts]").await?;
    let svgs = wait_until_async(STEP, "two charts", || async {
        let n = driver
            .execute(
                "return document.querySelectorAll('[data-testid=postmortem-charts] svg').length;",
                vec![],
            )
            .await?;
        Ok((n.as_u64() == Some(2)).then_some(2))
    })
    .await?;
    ensure!(svgs == 2);
    driver.click("[data-testid=postmortem-export-html]").await?;
    let written = driver
        .wait_for_content(
            "[data-testid=postmortem-exported]",
            |t| t.ends_with(".html"),
            STEP,
        )
        .await?;
    ensure!(
        Path::new(&written).starts_with(desktop.home_dir()),
        "exported under the home folder: {written}"
    );
    let html = std::fs::read_to_string(&written).with_context(|| written.clone())?;
    ensure!(
        html.contains("health route")
            && html.matches("<svg").count() == 2
            && !html.contains("src=\"http")
            && html.contains("Content-Security-Policy"),
        "one self-contained file with the text and both charts: {written}"
    );
    driver
        .click("[data-testid=postmortem-export-markdown]")
        .await?;
    let md = driver
        .wait_for_content(
            "[data-testid=postmortem-exported]",
            |t| t.ends_with(".md"),
            STEP,
        )
        .await?;
    ensure!(
        std::fs::read_to_string(&md)?.contains("health route"),
        "the Markdown as edited: {md}"
    );

    // What the window kept is in the database, covering both incidents.
    let db = rusqlite::Connection::open_with_flags(
        desktop.dir().join("data").join("foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let (body, covered): (String, i64) = db.query_row(
        "SELECT body, (SELECT count(*) FROM postmortem_incidents WHERE postmortem_id = p.id) \
         FROM postmortems p",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    ensure!(
        body.contains("health route") && covered == 2,
        "{covered}: {body}"
    );
    driver.close().await?;

    // The exported file as a reader opens it, in the window's engine.
    let reader = WebDriverSession::browse(&desktop, &format!("file://{written}")).await?;
    reader
        .wait_for_text("h1", |t| t.contains("Postmortem: API is down"), STEP)
        .await?;
    let facts = reader
        .execute(
            "return { tables: document.querySelectorAll('table').length, \
               charts: Array.from(document.querySelectorAll('figure svg')).filter(s => s.getBoundingClientRect().height > 50).length, \
               scripts: document.scripts.length, text: document.body.innerText };",
            vec![],
        )
        .await?;
    ensure!(
        facts["tables"].as_u64() >= Some(2)
            && facts["charts"] == 2
            && facts["scripts"] == 0
            && facts["text"]
                .as_str()
                .is_some_and(|t| t.contains("health route")),
        "the export renders its tables and both charts, with no script: {}",
        facts["tables"]
    );
    desktop.screenshot_window_painted(
        "Postmortem: API is down",
        artifacts_dir()?.join("postmortem-html.png"),
        STEP,
    )?;
    reader.close().await
}
