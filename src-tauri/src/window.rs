//! The compact window: shown near the tray, hidden (not closed) when dismissed.

use tauri::{AppHandle, Manager, Runtime};
#[cfg(not(target_os = "linux"))]
use tauri_plugin_positioner::{Position, WindowExt};

pub const MAIN: &str = "main";

/// Linux tray hosts report no click positions (StatusNotifierItem has none to give), so
/// there the window goes to the top right corner, where panels usually keep the tray. The
/// size comes from the window's configuration, as GTK reports none until it is mapped.
#[cfg(target_os = "linux")]
fn place_near_tray<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    const MARGIN: i32 = 8;
    const PANEL: i32 = 32;
    let monitor = window
        .current_monitor()
        .ok()
        .flatten()
        .or_else(|| window.primary_monitor().ok().flatten());
    let Some(monitor) = monitor else {
        return;
    };
    let scale = monitor.scale_factor();
    let size = window
        .outer_size()
        .ok()
        .filter(|s| s.width > 0 && s.height > 0)
        .unwrap_or_else(|| tauri::LogicalSize::new(420.0, 600.0).to_physical(scale));
    let (origin, screen) = (monitor.position(), monitor.size());
    let width = i32::try_from(size.width).unwrap_or(0);
    let x = origin.x + i32::try_from(screen.width).unwrap_or(0) - width - MARGIN;
    let _ = window.set_position(tauri::PhysicalPosition::new(
        x.max(origin.x),
        origin.y + PANEL,
    ));
}

#[cfg(not(target_os = "linux"))]
fn place_near_tray<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    #[cfg(target_os = "macos")]
    const NEAR_TRAY: Position = Position::TrayCenter;
    #[cfg(not(target_os = "macos"))]
    const NEAR_TRAY: Position = Position::TrayBottomCenter;
    let _ = window.as_ref().window().move_window(NEAR_TRAY);
}

/// Shows and focuses the window, placed by the tray where the platform tells us where the
/// tray is, else at the top right (where Linux panels usually keep it).
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    let was_visible = window.is_visible().unwrap_or(false);
    let _ = window.unminimize();
    let _ = window.show();
    // Placed after showing: a window never shown has no size yet, and the positioner would
    // put it just off the screen's edge.
    if !was_visible {
        place_near_tray(&window);
    }
    let _ = window.set_focus();
}

pub fn toggle<R: Runtime>(app: &AppHandle<R>) {
    match app.get_webview_window(MAIN) {
        Some(w) if w.is_visible().unwrap_or(false) => {
            let _ = w.hide();
        }
        Some(_) => show(app),
        None => {}
    }
}

/// Raises the window for a loud alert without taking the keyboard from whatever the person
/// is typing into: it is made unfocusable while it is shown, then focusable again so a click
/// still focuses it.
pub fn raise_without_focus<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    let was_visible = window.is_visible().unwrap_or(false);
    let _ = window.set_focusable(false);
    let _ = window.unminimize();
    let _ = window.show();
    if !was_visible {
        place_near_tray(&window);
    }
    let _ = window.set_focusable(true);
}
