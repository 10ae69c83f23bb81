//! The monitor editor in the real window: a monitor added, tested, saved, edited and deleted
//! the way a person would, with the configuration file checked on disk after each step.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use fantoccini::key::Key;
use foghorn_e2e::{artifacts_dir, foghorn_bin, AppLaunch, Desktop, Target, WebDriverSession};

const START: Duration = Duration::from_secs(30);
/// A click's effect, a debounced check, a save: quick, with slack for a loaded CI machine.
const STEP: Duration = Duration::from_secs(15);

/// The user's own file: comments above, beside and below the keys, and a table after the
/// monitors, all of which must survive every edit.
fn commented_config(url: &str) -> String {
    format!(
        r#"# Foghorn, as configured by hand.
# Comments like this one must survive edits from the window.

[[monitors]]
name = "Checkout API"   # the one that takes money
url = "{url}"
interval = "1s"
timeout = "2s"
# Page on the second failure, not the first.
failure_threshold = 2

[notifications]
enabled = true   # desktop notifications
"#
    )
}

const COMMENTS: &[&str] = &[
    "# Foghorn, as configured by hand.",
    "# Comments like this one must survive edits from the window.",
    "name = \"Checkout API\"   # the one that takes money",
    "# Page on the second failure, not the first.",
    "enabled = true   # desktop notifications",
];

/// Waits until nothing matches `css`.
async fn wait_for_absence(driver: &WebDriverSession, css: &str, timeout: Duration) -> Result<()> {
    foghorn_e2e::wait_until_async(timeout, &format!("{css:?} to be gone"), || async {
        let value = driver
            .execute(
                "return document.querySelector(arguments[0]) === null;",
                vec![serde_json::json!(css)],
            )
            .await?;
        Ok((value == serde_json::Value::Bool(true)).then_some(()))
    })
    .await
}

/// Waits until the element matching `css` is enabled (or disabled).
async fn wait_for_enabled(
    driver: &WebDriverSession,
    css: &str,
    enabled: bool,
    timeout: Duration,
) -> Result<()> {
    let what = format!(
        "{css:?} to be {}",
        if enabled { "enabled" } else { "disabled" }
    );
    foghorn_e2e::wait_until_async(timeout, &what, || async {
        let el = driver.find(css).await?;
        Ok((el.is_enabled().await? == enabled).then_some(()))
    })
    .await
}

/// Resolves once the page has drawn two more frames, so a screenshot shows the DOM as it
/// is now rather than the frame before the last change.
async fn next_frames(driver: &WebDriverSession) -> Result<()> {
    let script = "const done = arguments[arguments.length - 1]; \
                  requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
    driver
        .client()?
        .execute_async(script, Vec::new())
        .await
        .context("waiting for the page to draw")?;
    Ok(())
}

/// Types into a field as a person would: select what is there, then type over it.
async fn type_over(driver: &WebDriverSession, css: &str, text: &str) -> Result<()> {
    let el = driver.wait_for_element(css, STEP).await?;
    el.click()
        .await
        .with_context(|| format!("focusing {css:?}"))?;
    el.send_keys(&(Key::Control + "a")).await?;
    el.send_keys(&Key::Backspace.to_string()).await?;
    el.send_keys(text)
        .await
        .with_context(|| format!("typing into {css:?}"))
}

/// The configuration file's `[[monitors]]` table named `name`, as text.
fn monitor_table<'a>(config: &'a str, name: &str) -> Option<&'a str> {
    let start = config.find(&format!("[[monitors]]\nname = \"{name}\""))?;
    let rest = &config[start..];
    let end = rest[1..].find("\n[").map_or(rest.len(), |i| i + 1);
    Some(&rest[..end])
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn ensure_comments_kept(config: &str) -> Result<()> {
    for comment in COMMENTS {
        ensure!(
            config.contains(comment),
            "lost {comment:?} from the user's file:\n{config}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_is_added_tested_edited_and_deleted_from_the_window() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let checkout = Target::start().await?;
    let inventory = Target::start().await?;
    let config = desktop.dir().join("foghorn.toml");
    std::fs::write(&config, commented_config(&checkout.url()))?;
    let launch = AppLaunch::new(foghorn_bin()?)
        .env("FOGHORN_CONFIG", config.display().to_string())
        .arg("run")
        .arg("--show-window");
    let driver = WebDriverSession::start(&desktop, &launch).await?;
    driver
        .wait_for_content(
            "[data-testid=monitor-row][data-status=up]",
            |t| t.contains("Checkout API"),
            START,
        )
        .await?;

    // Add: a name, a URL, and a condition with the classic mistake.
    driver.click("[data-testid=add-monitor]").await?;
    driver
        .wait_for_element("[data-testid=monitor-editor]", STEP)
        .await?;
    type_over(&driver, "[data-testid=editor-name]", "Inventory").await?;
    type_over(&driver, "[data-testid=editor-url]", &inventory.url()).await?;
    type_over(&driver, "[data-testid=editor-interval]", "5s").await?;
    driver.click("[data-testid=editor-add-condition]").await?;
    type_over(&driver, "[data-testid=editor-condition]", "[STATUS]==200").await?;
    let error = driver
        .wait_for_content(
            "[data-testid=editor-condition-error]",
            |t| t.contains("space on both sides"),
            STEP,
        )
        .await?;
    ensure!(
        error.contains('^'),
        "the error points at the character: {error}"
    );
    wait_for_enabled(&driver, "[data-testid=editor-save]", false, STEP).await?;
    next_frames(&driver).await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("editor-condition-error.png"),
        STEP,
    )?;

    // Fixed, the error goes and Save comes back.
    type_over(&driver, "[data-testid=editor-condition]", "[STATUS] == 200").await?;
    wait_for_absence(&driver, "[data-testid=editor-condition-error]", STEP).await?;
    wait_for_enabled(&driver, "[data-testid=editor-save]", true, STEP).await?;

    // Test now: one line per condition, with the value it saw.
    driver.click("[data-testid=editor-test]").await?;
    let line = driver
        .wait_for_content(
            "[data-testid=editor-test-line]",
            |t| t.contains("[STATUS] (200) == 200"),
            STEP,
        )
        .await?;
    ensure!(line.contains('✓'), "a passing line is ticked: {line}");
    ensure!(
        inventory.requests() >= 1,
        "Test now reached the target itself"
    );
    next_frames(&driver).await?;
    desktop.screenshot_window_painted("^Foghorn$", artifacts_dir()?.join("editor.png"), STEP)?;

    // Save: the monitor is listed and checked, and the file gains a table, comments intact.
    driver.click("[data-testid=editor-save]").await?;
    wait_for_absence(&driver, "[data-testid=monitor-editor]", STEP).await?;
    let row = "[data-testid=monitor-row][data-monitor-id=inventory]";
    driver
        .wait_for_content(
            &format!("{row}[data-status=up]"),
            |t| t.contains("Inventory"),
            START,
        )
        .await?;
    next_frames(&driver).await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("editor-saved.png"),
        STEP,
    )?;
    let saved = read(&config)?;
    ensure_comments_kept(&saved)?;
    let table =
        monitor_table(&saved, "Inventory").context(format!("no Inventory table:\n{saved}"))?;
    ensure!(
        table.contains(&format!("url = \"{}\"", inventory.url()))
            && table.contains("interval = \"5s\"")
            && table.contains("conditions = [\"[STATUS] == 200\"]"),
        "the new table says what was entered:\n{saved}"
    );
    ensure!(
        saved.find("name = \"Inventory\"") < saved.find("[notifications]"),
        "the new monitor follows the other monitors:\n{saved}"
    );

    // Edit its interval: only that line changes.
    driver
        .click(&format!("{row} [data-testid=monitor-edit]"))
        .await?;
    driver
        .wait_for_element("[data-testid=editor-interval]", STEP)
        .await?;
    type_over(&driver, "[data-testid=editor-interval]", "2s").await?;
    wait_for_enabled(&driver, "[data-testid=editor-save]", true, STEP).await?;
    driver.click("[data-testid=editor-save]").await?;
    wait_for_absence(&driver, "[data-testid=monitor-editor]", STEP).await?;
    let edited = read(&config)?;
    ensure!(
        edited == saved.replace("interval = \"5s\"", "interval = \"2s\""),
        "only the interval changed:\n{edited}"
    );

    // Delete, after the confirmation: gone from the window and from the file.
    driver
        .click(&format!("{row} [data-testid=monitor-edit]"))
        .await?;
    driver
        .wait_for_element("[data-testid=editor-delete]", STEP)
        .await?;
    driver.click("[data-testid=editor-delete]").await?;
    driver.click("[data-testid=editor-confirm-delete]").await?;
    wait_for_absence(&driver, "[data-testid=monitor-editor]", STEP).await?;
    wait_for_absence(&driver, row, STEP).await?;
    let deleted = read(&config)?;
    ensure!(
        !deleted.contains("Inventory"),
        "the table is gone:\n{deleted}"
    );
    ensure!(
        deleted == commented_config(&checkout.url()),
        "the file is back to what the user wrote:\n{deleted}"
    );
    driver.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_save_in_the_demo_creates_the_configuration_file() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let target = Target::start().await?;
    // No configuration file anywhere (HOME is a fresh temp dir): the demo runs.
    let launch = AppLaunch::new(foghorn_bin()?)
        .arg("run")
        .arg("--show-window");
    let driver = WebDriverSession::start(&desktop, &launch).await?;
    driver
        .wait_for_content(
            "[data-testid=monitor-row]",
            |t| t.contains("Demo: flaky endpoint"),
            START,
        )
        .await?;
    driver
        .wait_for_element("[data-testid=demo-line]", STEP)
        .await?;

    driver.click("[data-testid=add-monitor]").await?;
    type_over(&driver, "[data-testid=editor-name]", "Mine").await?;
    type_over(&driver, "[data-testid=editor-url]", &target.url()).await?;
    wait_for_enabled(&driver, "[data-testid=editor-save]", true, STEP).await?;
    driver.click("[data-testid=editor-save]").await?;
    wait_for_absence(&driver, "[data-testid=monitor-editor]", STEP).await?;

    // The user's monitor replaces the demo's, and the window stops saying it is a demo.
    driver
        .wait_for_content(
            "[data-testid=monitor-row][data-monitor-id=mine][data-status=up]",
            |t| t.contains("Mine"),
            START,
        )
        .await?;
    wait_for_absence(&driver, "[data-testid=demo-line]", STEP).await?;
    wait_for_absence(
        &driver,
        "[data-testid=monitor-row][data-monitor-id=demo-flaky-endpoint]",
        STEP,
    )
    .await?;
    let file = desktop.home_dir().join(".config/foghorn/foghorn.toml");
    let written = read(&file)?;
    ensure!(
        written
            == format!(
                "[[monitors]]\nname = \"Mine\"\nurl = \"{}\"\n",
                target.url()
            ),
        "only the new monitor is written:\n{written}"
    );
    driver.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ladder_step_is_added_from_the_escalation_tab() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let checkout = Target::start().await?;
    let config = desktop.dir().join("foghorn.toml");
    let original = commented_config(&checkout.url());
    std::fs::write(&config, &original)?;
    let launch = AppLaunch::new(foghorn_bin()?)
        .env("FOGHORN_CONFIG", config.display().to_string())
        .arg("run")
        .arg("--show-window");
    let driver = WebDriverSession::start(&desktop, &launch).await?;
    driver
        .wait_for_content(
            "[data-testid=monitor-row][data-status=up]",
            |t| t.contains("Checkout API"),
            START,
        )
        .await?;

    driver.click("[data-testid=tab-escalation]").await?;
    driver
        .wait_for_element(
            "[data-testid=escalation-editor] [data-testid=step-add]",
            STEP,
        )
        .await?;
    driver.click("[data-testid=step-add]").await?;
    type_over(&driver, "[data-testid=step-after]", "0s").await?;
    driver.click("[data-testid=escalation-save]").await?;
    driver
        .wait_for_content(
            "[data-testid=escalation-saved]",
            |t| t.contains("Saved"),
            STEP,
        )
        .await?;
    next_frames(&driver).await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("escalation-saved.png"),
        STEP,
    )?;

    // The file gains the ladder after what the user wrote, which is unchanged.
    let saved = read(&config)?;
    ensure!(
        saved
            == format!(
                "{original}\n[escalation]\n\n[[escalation.steps]]\nafter = \"0s\"\naction = \"chat\"\n"
            ),
        "the ladder is added and nothing else changes:\n{saved}"
    );
    driver.close().await
}
