//! The one place engine events meet the desktop: each event is forwarded to the window and
//! brings the tray picture, tooltip and menu up to date.

use std::collections::HashMap;

use foghorn_core::engine::Engine;
use foghorn_core::event::EngineEvent;
use foghorn_core::monitor::MonitorStatus;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::tray::TrayMenu;
use crate::window::MAIN;

/// The window listens for this event name.
pub const ENGINE_EVENT: &str = "engine-event";

pub fn spawn<R: Runtime>(app: AppHandle<R>, engine: Engine) {
    let mut events = engine.subscribe();
    tauri::async_runtime::spawn(async move {
        // Each monitor's last status: a routine result that changes nothing leaves the tray
        // alone, so thousands of monitors don't redraw it thousands of times a minute.
        let mut statuses: HashMap<String, MonitorStatus> = HashMap::new();
        loop {
            match events.recv().await {
                Ok(EngineEvent::Monitor { monitor }) => {
                    let changed =
                        statuses.insert(monitor.id.clone(), monitor.status) != Some(monitor.status);
                    let event = EngineEvent::Monitor { monitor };
                    let _ = app.emit_to(MAIN, ENGINE_EVENT, &event);
                    if changed {
                        refresh_tray(&app, &engine);
                    }
                }
                Ok(event @ EngineEvent::Alert { .. }) => {
                    crate::window::raise_without_focus(&app);
                    forward(&app, &engine, &event);
                }
                Ok(event) => forward(&app, &engine, &event),
                Err(RecvError::Lagged(missed)) => {
                    // Replay the current state so the window converges again.
                    tracing::warn!(missed, "window fell behind; resending state");
                    resync(&app, &engine);
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

fn forward<R: Runtime>(app: &AppHandle<R>, engine: &Engine, event: &EngineEvent) {
    let _ = app.emit_to(MAIN, ENGINE_EVENT, event);
    refresh_tray(app, engine);
}

fn refresh_tray<R: Runtime>(app: &AppHandle<R>, engine: &Engine) {
    if let Some(menu) = app.try_state::<TrayMenu<R>>() {
        menu.refresh(app, engine);
    }
}

fn resync<R: Runtime>(app: &AppHandle<R>, engine: &Engine) {
    let Ok(snapshot) = engine.snapshot() else {
        return;
    };
    let events = snapshot
        .monitors
        .into_iter()
        .map(|monitor| EngineEvent::Monitor { monitor })
        .chain(
            snapshot
                .incidents
                .into_iter()
                .map(|incident| EngineEvent::Incident { incident }),
        )
        .chain([
            EngineEvent::Mute {
                mute: snapshot.mute,
            },
            EngineEvent::Paused {
                paused: snapshot.paused,
            },
            EngineEvent::Summary {
                summary: snapshot.summary,
            },
        ]);
    for event in events {
        forward(app, engine, &event);
    }
}
