//! A feed's health as the window and the tray show it: silence from a feed must never look
//! like calm, so a feed that failed, or never started, says so.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

use crate::config::FeedKind;

/// A feed's health, for the window: silence from a feed must never look like calm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FeedHealth {
    pub name: String,
    pub kind: FeedKind,
    /// False when the feed could not be started from its configuration (a missing secret, a
    /// bad URL): it is never polled, `error` says why, and the window and the tray say so.
    pub running: bool,
    pub ok: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[ts(type = "string | null")]
    pub last_ok_at: Option<OffsetDateTime>,
    pub error: Option<String>,
    #[ts(type = "number | null")]
    pub latency_ms: Option<u64>,
    /// Failed polls in a row.
    pub failures: u32,
    /// Alerts it reports now.
    pub alerts: u32,
}

impl FeedHealth {
    /// A feed that could not be started: it will not be polled until the configuration is
    /// fixed and Foghorn restarted.
    pub fn not_running(name: String, kind: FeedKind, why: String) -> Self {
        FeedHealth {
            name,
            kind,
            running: false,
            ok: false,
            last_ok_at: None,
            error: Some(why),
            latency_ms: None,
            failures: 0,
            alerts: 0,
        }
    }

    /// A running feed before its first poll has answered: not ok yet, and no failure yet.
    pub(crate) fn waiting(name: String, kind: FeedKind) -> Self {
        FeedHealth {
            name,
            kind,
            running: true,
            ok: false,
            last_ok_at: None,
            error: None,
            latency_ms: None,
            failures: 0,
            alerts: 0,
        }
    }
}
