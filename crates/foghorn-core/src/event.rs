//! What the engine tells the outside world: a full snapshot on request, then one event per
//! change on a broadcast channel the shell forwards to the window, tray and notifications.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::feed::FeedHealth;
use crate::incident::IncidentView;
use crate::monitor::MonitorView;
use crate::mute::Mute;
use crate::oncall::OncallStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
#[ts(export)]
pub enum EngineEvent {
    Monitor {
        monitor: MonitorView,
    },
    /// The whole list changed (monitors added, removed, paused or resumed together).
    Monitors {
        monitors: Vec<MonitorView>,
    },
    Incident {
        incident: IncidentView,
    },
    /// A loud alert for the person on call: raise the window (without taking the keyboard).
    Alert {
        incident: IncidentView,
    },
    /// A feed's health changed (it stopped or started answering, its alert count).
    Feed {
        health: FeedHealth,
    },
    /// The on-call picture changed (a shift began or ended, the calendar was refreshed).
    Oncall {
        status: OncallStatus,
    },
    /// The incidents the alarm rings for changed (empty: silent).
    Ringing {
        #[ts(type = "number[]")]
        incidents: Vec<i64>,
    },
    Mute {
        mute: Mute,
    },
    /// The public updates owed changed (one was posted, promised, or came due).
    Promises {
        promises: Vec<crate::status::UpdatePromise>,
    },
    Paused {
        paused: bool,
    },
    /// The one-line summary changed (tray tooltip, window header).
    Summary {
        summary: String,
    },
    /// Something the user should know about Foghorn itself (no notification daemon, …).
    Notice {
        notice: String,
    },
}

/// Everything the window needs to draw itself from scratch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Snapshot {
    pub monitors: Vec<MonitorView>,
    pub incidents: Vec<IncidentView>,
    pub mute: Mute,
    pub paused: bool,
    pub summary: String,
    /// Running on the bundled demo configuration.
    pub demo: bool,
    pub notices: Vec<String>,
    /// Incidents the alarm is ringing for.
    #[ts(type = "number[]")]
    pub ringing: Vec<i64>,
    /// The person on call here gets loud alerts (critical notification and alarm).
    pub on_call: bool,
    /// Who is on call and until when, from the schedule; `None` without one.
    pub oncall: Option<OncallStatus>,
    /// Every feed's health.
    pub feeds: Vec<FeedHealth>,
    /// Public updates owed, soonest first.
    pub promises: Vec<crate::status::UpdatePromise>,
}

/// Overall health, for the tray icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Everything up.
    Ok,
    /// Something is not right but nobody needs waking: paused, unknown, or acknowledged.
    Degraded,
    /// An open, unacknowledged incident.
    Alarm,
    /// Notifications are muted.
    Muted,
}
