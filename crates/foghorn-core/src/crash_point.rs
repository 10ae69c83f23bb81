//! Crash testing: `FOGHORN_CRASH_AT=<name>` ends the process at the point of that name the way
//! a power cut or `kill -9` would (abort: no destructors, no flushing), so tests can prove
//! that nothing is lost or repeated across one. The variable is read once.

use std::sync::OnceLock;

/// Dies here, at once and without cleanup, if `FOGHORN_CRASH_AT` names this point.
pub fn crash_point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("FOGHORN_CRASH_AT").ok());
    if at.as_deref() == Some(name) {
        tracing::error!("crash point {name:?} reached: stopping at once (FOGHORN_CRASH_AT)");
        std::process::abort();
    }
}
