//! End-to-end harness: an isolated X/D-Bus/notification desktop, the tray over D-Bus, and the
//! window over WebDriver, for driving the real `foghorn` binary from `cargo test`.
//!
//! A test usually does:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use foghorn_e2e::{AppLaunch, Desktop, Tray, WebDriverSession, foghorn_bin};
//!
//! let _serial = foghorn_e2e::serial();                 // one desktop at a time
//! let desktop = Desktop::start()?;                     // Xvfb + private bus + dunst + SNI watcher
//! let launch = AppLaunch::new(foghorn_bin()?).env("FOGHORN_CONFIG", "/tmp/x/config.toml");
//! let driver = WebDriverSession::start(&desktop, &launch).await?; // launches the app
//! let tray = Tray::find(&desktop, "foghorn", Duration::from_secs(10)).await?;
//! tray.click("Open Foghorn").await?;                  // window must be shown before clicks
//! driver.click("#go").await?;
//! driver.wait_for_text("#status", |t| t.contains("clicked"), Duration::from_secs(5)).await?;
//! desktop.screenshot(foghorn_e2e::artifacts_dir()?.join("demo.png"))?;
//! # Ok(()) }
//! ```
//!
//! Everything started is torn down on drop, including when the test panics.

pub mod alertmanager;
pub mod app;
pub mod intercom;
pub mod notifications;
pub mod paths;
pub mod ports;
pub mod prism;
pub mod process;
pub mod pulse;
pub mod receiver;
pub mod session;
pub mod smtp;
pub mod sni_watcher;
pub mod status;
pub mod target;
pub mod tray;
pub mod wait;
pub mod webdriver;

pub use alertmanager::Alertmanager;
pub use app::{AppLaunch, AppProcess};
pub use notifications::Notification;
pub use paths::{artifacts_dir, foghorn_bin, workspace_root};
pub use ports::free_port;
pub use prism::Prism;
pub use pulse::{PulseAudio, SinkInput};
pub use session::Desktop;
pub use smtp::SmtpSink;
pub use target::Target;
pub use tray::{IconImage, MenuEntry, Tray, TrayState};
pub use wait::{wait_until, wait_until_async};
pub use webdriver::WebDriverSession;

use std::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises end-to-end tests inside one test binary: hold the guard for the whole test.
///
/// Desktops are isolated from each other (own display, bus and runtime dir), so parallel tests
/// would work, but a 2-core machine running several WebKit instances gets slow enough to make
/// timeouts flaky. A poisoned lock (an earlier test panicked) is recovered, not propagated.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
