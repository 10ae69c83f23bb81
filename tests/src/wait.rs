//! Poll-until-deadline helpers: the only way the harness waits for anything.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

/// How often conditions are re-checked.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Calls `check` until it returns `Ok(Some(value))` or `timeout` passes.
///
/// `Ok(None)` and `Err(_)` both mean "not yet"; the last error is reported if the deadline passes,
/// so a check can use `?` freely. `what` names the awaited condition in the timeout error.
pub fn wait_until<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    loop {
        match check() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() >= deadline {
            return Err(timeout_error(what, timeout, last_err));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Async twin of [`wait_until`]; sleeps with tokio between checks, so it does not block the runtime.
pub async fn wait_until_async<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() >= deadline {
            return Err(timeout_error(what, timeout, last_err));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn timeout_error(what: &str, timeout: Duration, last_err: Option<anyhow::Error>) -> anyhow::Error {
    match last_err {
        Some(e) => anyhow!("timed out after {timeout:?} waiting for {what}; last error: {e:#}"),
        None => anyhow!("timed out after {timeout:?} waiting for {what}"),
    }
}
