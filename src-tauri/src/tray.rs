//! The tray icon: its state picture, its one-line tooltip and its menu.

use std::sync::Mutex;

use foghorn_core::engine::Engine;
use foghorn_core::event::Health;
use foghorn_core::incident::{IncidentAction, IncidentState, IncidentView};
use foghorn_core::mute::{Mute, MuteChoice};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::ManagerExt;

use crate::window;

pub const TRAY_ID: &str = "foghorn";

/// Menu item ids; tests find items by label, the handler by these.
mod id {
    pub const OPEN: &str = "open";
    pub const MUTE_1H: &str = "mute-1h";
    pub const MUTE_4H: &str = "mute-4h";
    pub const MUTE_8H: &str = "mute-8h";
    pub const MUTE_FOREVER: &str = "mute-indefinite";
    pub const UNMUTE: &str = "unmute";
    pub const PAUSE: &str = "pause";
    pub const AUTOSTART: &str = "autostart";
    pub const QUIT: &str = "quit";
    pub const STATUS: &str = "status";
    /// `incident:{id}:{action key}` for the items under each open incident.
    pub const INCIDENT: &str = "incident:";
}

/// Open incidents listed at the top of the menu; the window has the rest.
const MENU_INCIDENTS: usize = 5;
/// Where the incidents go: after the summary line and its separator.
const INCIDENTS_AT: usize = 2;

/// What an incident's tray item shows: rebuilt only when this changes.
type IncidentShape = (i64, IncidentState, String);

/// Menu items whose state changes while the app runs.
pub struct TrayMenu<R: Runtime> {
    /// The summary line as a disabled first item: the tooltip is not shown on every
    /// desktop (not on Linux), the menu is.
    status: MenuItem<R>,
    pause: CheckMenuItem<R>,
    unmute: MenuItem<R>,
    autostart: CheckMenuItem<R>,
    menu: Menu<R>,
    /// The incident submenus now in the menu, and what they were built from.
    incidents: Mutex<(Vec<Submenu<R>>, Vec<IncidentShape>)>,
}

pub fn icon(health: Health) -> Image<'static> {
    let bytes: &'static [u8] = match health {
        Health::Ok => include_bytes!("../../icons/tray-ok.png"),
        Health::Degraded => include_bytes!("../../icons/tray-degraded.png"),
        Health::Alarm => include_bytes!("../../icons/tray-alarm.png"),
        Health::Muted => include_bytes!("../../icons/tray-muted.png"),
    };
    // The PNGs are ours and checked by a unit test; a decode failure cannot happen at run time.
    Image::from_bytes(bytes).unwrap_or_else(|_| Image::new(&[0, 0, 0, 0], 1, 1))
}

pub fn create<R: Runtime>(app: &AppHandle<R>, engine: &Engine) -> tauri::Result<TrayMenu<R>> {
    let status = MenuItem::with_id(app, id::STATUS, engine.summary(), false, None::<&str>)?;
    let open = MenuItem::with_id(app, id::OPEN, "Open Foghorn", true, None::<&str>)?;
    let unmute = MenuItem::with_id(
        app,
        id::UNMUTE,
        "Unmute",
        engine.mute() != Mute::Off,
        None::<&str>,
    )?;
    let mute = Submenu::with_items(
        app,
        "Mute",
        true,
        &[
            &MenuItem::with_id(app, id::MUTE_1H, "For 1 hour", true, None::<&str>)?,
            &MenuItem::with_id(app, id::MUTE_4H, "For 4 hours", true, None::<&str>)?,
            &MenuItem::with_id(app, id::MUTE_8H, "For 8 hours", true, None::<&str>)?,
            &MenuItem::with_id(app, id::MUTE_FOREVER, "Until I unmute", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &unmute,
        ],
    )?;
    let pause = CheckMenuItem::with_id(
        app,
        id::PAUSE,
        "Pause monitoring",
        true,
        engine.paused(),
        None::<&str>,
    )?;
    let autostart_on = app.autolaunch().is_enabled().unwrap_or(false);
    let autostart = CheckMenuItem::with_id(
        app,
        id::AUTOSTART,
        "Start at login",
        true,
        autostart_on,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, id::QUIT, "Quit Foghorn", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &PredefinedMenuItem::separator(app)?,
            &mute,
            &pause,
            &autostart,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(engine.health()))
        .tooltip(engine.summary())
        .menu(&menu.clone())
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu)
        .on_tray_icon_event(on_tray_event)
        .build(app)?;
    let tray = TrayMenu {
        status,
        pause,
        unmute,
        autostart,
        menu,
        incidents: Mutex::new((Vec::new(), Vec::new())),
    };
    tray.refresh_incidents(app, engine);
    Ok(tray)
}

fn incident_label(i: &IncidentView) -> String {
    let state = match i.state {
        IncidentState::Triggered => "unacknowledged",
        IncidentState::Acknowledged => "acknowledged",
        IncidentState::Resolved => "resolved",
    };
    format!(
        "{} — {} ({state})",
        i.severity.as_str().to_uppercase(),
        i.title
    )
}

fn incident_menu<R: Runtime>(app: &AppHandle<R>, i: &IncidentView) -> tauri::Result<Submenu<R>> {
    let item = |action: IncidentAction, label: &str, enabled: bool| {
        MenuItem::with_id(
            app,
            format!("{}{}:{}", id::INCIDENT, i.id, action.key()),
            label,
            enabled,
            None::<&str>,
        )
    };
    let triggered = i.state == IncidentState::Triggered;
    Submenu::with_items(
        app,
        incident_label(i),
        true,
        &[
            &item(IncidentAction::Acknowledge, "Acknowledge", triggered)?,
            &item(IncidentAction::Snooze, "Snooze 10 min", triggered)?,
            &item(IncidentAction::ReassignToMe, "Take it", true)?,
            &item(IncidentAction::Resolve, "Resolve", true)?,
        ],
    )
}

/// `incident:12:ack` → (12, Acknowledge).
fn parse_incident_item(item: &str) -> Option<(i64, IncidentAction)> {
    let rest = item.strip_prefix(id::INCIDENT)?;
    let (incident, action) = rest.split_once(':')?;
    Some((incident.parse().ok()?, IncidentAction::from_key(action)?))
}

fn on_tray_event<R: Runtime>(tray: &TrayIcon<R>, event: TrayIconEvent) {
    tauri_plugin_positioner::on_tray_event(tray.app_handle(), &event);
    if let TrayIconEvent::Click {
        button: MouseButton::Left,
        button_state: MouseButtonState::Up,
        ..
    } = event
    {
        window::toggle(tray.app_handle());
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    if let Some((incident, action)) = parse_incident_item(event.id().as_ref()) {
        let engine = app.state::<Engine>().inner().clone();
        tauri::async_runtime::spawn(async move {
            if let Err(e) = engine.act(incident, action).await {
                tracing::error!(incident, ?action, error = %e, "cannot act on the incident");
            }
        });
        return;
    }
    let choice = match event.id().as_ref() {
        id::OPEN => return window::show(app),
        id::QUIT => return app.exit(0),
        id::MUTE_1H => MuteChoice::OneHour,
        id::MUTE_4H => MuteChoice::FourHours,
        id::MUTE_8H => MuteChoice::EightHours,
        id::MUTE_FOREVER => MuteChoice::Indefinite,
        id::UNMUTE => MuteChoice::Off,
        id::PAUSE => return toggle_pause(app),
        id::AUTOSTART => return toggle_autostart(app),
        _ => return,
    };
    let engine = app.state::<Engine>().inner().clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = engine.set_mute(choice).await {
            tracing::error!(error = %e, "cannot change mute");
        }
    });
}

fn toggle_pause<R: Runtime>(app: &AppHandle<R>) {
    let engine = app.state::<Engine>().inner().clone();
    tauri::async_runtime::spawn(async move {
        let paused = !engine.paused();
        if let Err(e) = engine.set_paused(paused).await {
            tracing::error!(error = %e, "cannot pause monitoring");
        }
    });
}

/// Start at login is off by default and changed only here, by the user.
fn toggle_autostart<R: Runtime>(app: &AppHandle<R>) {
    let launcher = app.autolaunch();
    let outcome = match launcher.is_enabled() {
        Ok(true) => launcher.disable(),
        _ => launcher.enable(),
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "cannot change start at login");
    }
    if let Some(menu) = app.try_state::<TrayMenu<R>>() {
        let _ = menu
            .autostart
            .set_checked(launcher.is_enabled().unwrap_or(false));
    }
}

impl<R: Runtime> TrayMenu<R> {
    /// Brings the tray in line with the engine: picture, tooltip, and the menu's checks.
    pub fn refresh(&self, app: &AppHandle<R>, engine: &Engine) {
        if let Some(tray) = app.tray_by_id(TRAY_ID) {
            let _ = tray.set_icon(Some(icon(engine.health())));
            let _ = tray.set_tooltip(Some(engine.summary()));
        }
        let _ = self.status.set_text(engine.summary());
        let _ = self.pause.set_checked(engine.paused());
        let _ = self.unmute.set_enabled(engine.mute() != Mute::Off);
        self.refresh_incidents(app, engine);
    }

    /// Lists the open incidents, rebuilding their items only when one opened, changed state
    /// or closed.
    fn refresh_incidents(&self, app: &AppHandle<R>, engine: &Engine) {
        let open: Vec<IncidentView> = engine
            .open_incidents()
            .into_iter()
            .take(MENU_INCIDENTS)
            .collect();
        let shape: Vec<IncidentShape> = open
            .iter()
            .map(|i| (i.id, i.state, i.title.clone()))
            .collect();
        let mut current = self.incidents.lock().unwrap_or_else(|p| p.into_inner());
        if current.1 == shape {
            return;
        }
        for old in current.0.drain(..) {
            let _ = self.menu.remove(&old);
        }
        for (offset, incident) in open.iter().enumerate() {
            match incident_menu(app, incident) {
                Ok(sub) => {
                    let _ = self.menu.insert(&sub, INCIDENTS_AT + offset);
                    current.0.push(sub);
                }
                Err(e) => tracing::warn!(error = %e, "cannot list an incident in the tray"),
            }
        }
        current.1 = shape;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_items_name_the_incident_and_the_action() {
        assert_eq!(
            parse_incident_item("incident:12:ack"),
            Some((12, IncidentAction::Acknowledge))
        );
        assert_eq!(
            parse_incident_item("incident:3:snooze"),
            Some((3, IncidentAction::Snooze))
        );
        assert_eq!(parse_incident_item("incident:x:ack"), None);
        assert_eq!(parse_incident_item("mute-1h"), None);
    }

    #[test]
    fn every_tray_icon_is_an_rgba_png() {
        for health in [Health::Ok, Health::Degraded, Health::Alarm, Health::Muted] {
            let image = icon(health);
            assert!(
                image.width() >= 32 && image.width() == image.height(),
                "{health:?}"
            );
            assert_eq!(
                image.rgba().len(),
                (image.width() * image.height() * 4) as usize
            );
        }
    }
}
