//! The laptop case: when every unrelated host vanishes at once, the computer's own network
//! is the likelier culprit, and the tray says so instead of raising an alarm.

// Each test holds the serial guard for its whole life on its own runtime.
#![allow(clippy::await_holding_lock)]

use std::time::Duration;

use anyhow::{ensure, Result};
use foghorn_e2e::{foghorn_bin, AppLaunch, AppProcess, Desktop, Target, Tray};

const START: Duration = Duration::from_secs(30);
const OUTAGE: Duration = Duration::from_secs(40);

/// The tray menu's first entry: the engine's summary line.
async fn status_line(tray: &Tray) -> Result<String> {
    Ok(tray
        .menu_labels()
        .await?
        .into_iter()
        .next()
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_every_host_at_once_is_blamed_on_the_network_not_paged() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let targets = [
        Target::start_on("127.0.0.1").await?,
        Target::start_on("127.0.0.2").await?,
        Target::start_on("127.0.0.3").await?,
    ];
    let mut config = String::new();
    for (name, target) in ["API", "Web", "Search"].iter().zip(&targets) {
        config.push_str(&format!(
            "[[monitors]]\nname = \"{name}\"\nurl = \"{}\"\ninterval = \"2s\"\ntimeout = \"2s\"\n\n",
            target.url()
        ));
    }
    let path = desktop.dir().join("foghorn.toml");
    std::fs::write(&path, config)?;
    let _app = AppProcess::spawn(
        &desktop,
        &AppLaunch::new(foghorn_bin()?).env("FOGHORN_CONFIG", path.display().to_string()),
    )?;
    let tray = Tray::find(&desktop, "foghorn", START).await?;
    foghorn_e2e::wait_until_async(START, "all monitors up in the tray menu", || async {
        Ok((status_line(&tray).await? == "All 3 monitors up").then_some(()))
    })
    .await?;

    // The Wi-Fi drops: every target stops answering at once.
    drop(targets);
    let line = foghorn_e2e::wait_until_async(OUTAGE, "the tray to blame the network", || async {
        let line = status_line(&tray).await?;
        Ok(line.starts_with("Not alerting").then_some(line))
    })
    .await?;
    ensure!(line.contains("local network down"), "{line}");
    let paged: Vec<_> = desktop
        .notifications()?
        .into_iter()
        .filter(|n| n.appname == "Foghorn")
        .collect();
    ensure!(paged.is_empty(), "a dead network paged someone: {paged:?}");
    Ok(())
}
