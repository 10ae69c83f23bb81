//! What the engine tells its subscribers: every change as an [`EngineEvent`], and the notices
//! about Foghorn itself the window shows. Every concern holds this as its narrow handle for
//! speaking up, instead of the whole engine.

use std::sync::Mutex;

use tokio::sync::broadcast;

use super::lock;
use crate::event::EngineEvent;

/// Events from now on and notices since the start.
#[derive(Debug)]
pub(super) struct Bulletin {
    events: broadcast::Sender<EngineEvent>,
    /// Leaf lock: nothing else is locked while it is held.
    notices: Mutex<Vec<String>>,
}

impl Bulletin {
    pub(super) fn new(notices: Vec<String>) -> Self {
        Bulletin {
            events: broadcast::channel(4096).0,
            notices: Mutex::new(notices),
        }
    }

    pub(super) fn publish(&self, event: EngineEvent) {
        // No subscriber is fine: the headless engine may have nobody listening.
        let _ = self.events.send(event);
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// Keeps a message about Foghorn itself and tells the window.
    pub(super) fn add_notice(&self, notice: String) {
        lock(&self.notices).push(notice.clone());
        self.publish(EngineEvent::Notice { notice });
    }

    pub(super) fn notices(&self) -> Vec<String> {
        lock(&self.notices).clone()
    }
}
