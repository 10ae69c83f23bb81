//! The tray app: builds Tauri with its plugins, starts the engine on Tauri's runtime, and
//! keeps living in the tray when the window closes.

use std::process::ExitCode;
use std::sync::Arc;

use foghorn_core::config::{Config, ConfigError};
use foghorn_core::engine::Engine;
use foghorn_core::letter::desk::{Desk, Sections, SectionsSource};
use foghorn_core::postmortem::desk::{ConfigSource, PostmortemDesk};
use foghorn_core::secret::SystemSecrets;
use foghorn_core::sla::view::SlaDesk;
use tauri::{Manager, RunEvent, Runtime, WindowEvent};

use crate::cli::Cli;
use crate::notifier::DesktopNotifier;
use crate::{bridge, commands, platform, startup, tray, window};

/// Marks an app running without a tray icon.
struct NoTray;

pub fn run(cli: &Cli, show_window: bool) -> ExitCode {
    if let Some(problem) = no_display() {
        eprintln!("foghorn: {problem}; to run without a window use `foghorn run --headless`");
        return ExitCode::FAILURE;
    }
    let config = cli.config.clone();
    // GTK panics when it cannot open the display; turn that into a message. The default
    // hook would print a backtrace prompt first, so it is held back during the build.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        build(tauri::Builder::default(), config, show_window)
    }));
    std::panic::set_hook(hook);
    match built {
        Ok(Ok(app)) => {
            app.run(|_app, event| {
                // Closing the last window must not quit: Foghorn lives in the tray. Only an
                // explicit exit (the tray's Quit) carries a code.
                if let RunEvent::ExitRequested {
                    api, code: None, ..
                } = event
                {
                    api.prevent_exit();
                }
            });
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("foghorn: cannot start the tray app: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "foghorn: cannot open a window on this display; to run without a window use \
                 `foghorn run --headless`"
            );
            ExitCode::FAILURE
        }
    }
}

fn build<R: Runtime>(
    builder: tauri::Builder<R>,
    config: Option<std::path::PathBuf>,
    show_window: bool,
) -> tauri::Result<tauri::App<R>> {
    builder
        // First, so a second launch only focuses this one.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show(app);
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_positioner::init())
        .invoke_handler(tauri::generate_handler![
            commands::monitoring::get_snapshot,
            commands::monitoring::set_mute,
            commands::monitoring::set_paused,
            commands::editor::get_monitor_draft,
            commands::editor::get_editor_limits,
            commands::editor::validate_condition,
            commands::editor::test_monitor,
            commands::editor::save_monitor,
            commands::editor::delete_monitor,
            commands::editor::get_escalation_draft,
            commands::editor::save_escalation,
            commands::monitoring::set_monitor_paused,
            commands::history::get_monitor_history,
            commands::incidents::get_incident,
            commands::incidents::act_on_incident,
            commands::incidents::ladder_action,
            commands::status::get_status_setup,
            commands::status::preview_status,
            commands::status::publish_status,
            commands::status::get_status_overview,
            commands::status::retry_status,
            commands::status::open_status_page,
            commands::status::get_support_queue,
            commands::status::send_support_replies,
            commands::letter::get_letter_overview,
            commands::letter::save_letter_draft,
            commands::letter::preview_letter,
            commands::letter::send_test_letter,
            commands::letter::start_letter,
            commands::letter::get_letter_progress,
            commands::letter::pause_letter,
            commands::letter::resume_letter,
            commands::letter::cancel_letter,
            commands::postmortem::open_postmortem,
            commands::postmortem::save_postmortem,
            commands::postmortem::preview_postmortem,
            commands::postmortem::link_postmortem,
            commands::postmortem::redraft_postmortem,
            commands::postmortem::get_postmortem_revision,
            commands::postmortem::restore_postmortem,
            commands::postmortem::get_postmortem_charts,
            commands::postmortem::export_postmortem,
            commands::sla::get_sla_report,
        ])
        .on_window_event(|window, event| {
            // With a tray, closing hides the window; without one it would be unreachable, so
            // closing quits.
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.try_state::<NoTray>().is_some() {
                    window.app_handle().exit(0);
                } else {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .setup(move |app| {
            let handle = app.handle().clone();
            // The engine, the demo endpoint and the bridge all run on Tauri's one runtime.
            let rt = tauri::async_runtime::handle();
            let _entered = rt.inner().enter();
            let prepared = startup::prepare(config.as_deref(), true)?;
            // Held for the app's life: a second engine on the data directory is refused.
            if let Some(lock) = prepared.lock {
                app.manage(lock);
            }
            // Read-only queries (history) go straight to the store, not through the engine.
            app.manage(prepared.store.clone());
            app.manage(letter_desk(prepared.file.path.clone(), &prepared.store));
            let config = config_source(prepared.file.path.clone());
            app.manage(PostmortemDesk::new(prepared.store.clone(), config.clone()));
            app.manage(SlaDesk::new(prepared.store.clone(), config));
            app.manage(foghorn_core::config::edit::ConfigFile::new(
                prepared.file.path,
                prepared.file.demo_text,
            ));
            let (actions, mut pressed) = tokio::sync::mpsc::unbounded_channel();
            let alarm = prepared.alarm.clone();
            let engine = Engine::start(
                prepared.config,
                prepared.store,
                Arc::new(DesktopNotifier::with_actions(actions)),
                prepared.options,
            )?;
            app.manage(engine.clone());
            startup::report_silent_alarm(&alarm, &engine);
            // Buttons pressed on notifications act like the tray's items.
            let acting = engine.clone();
            tauri::async_runtime::spawn(async move {
                while let Some((incident, action)) = pressed.recv().await {
                    if let Err(e) = acting.act(incident, action).await {
                        tracing::warn!(incident, ?action, error = %e, "notification action failed");
                    }
                }
            });
            let host = tauri::async_runtime::block_on(platform::tray_host_available());
            let tray = match host {
                Some(false) => Err("no tray host on this desktop (on GNOME, install the AppIndicator extension)".to_owned()),
                _ => tray::create(&handle, &engine).map_err(|e| e.to_string()),
            };
            match tray {
                Ok(menu) => {
                    app.manage(menu);
                }
                Err(why) => {
                    tracing::warn!(%why, "no system tray: the window stays open");
                    engine.add_notice(format!(
                        "No system tray: {why}. This window is Foghorn's only face; closing it quits."
                    ));
                    app.manage(NoTray);
                    window::show(&handle);
                }
            }
            bridge::spawn(handle.clone(), engine);
            if show_window {
                window::show(&handle);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
}

/// The founder view's letters, on the engine's database; `[smtp]`, `[intercom]` and `[sla]`
/// are read from the configuration file at each use, so adding them needs no restart.
fn letter_desk(path: Option<std::path::PathBuf>, store: &foghorn_core::store::Store) -> Desk {
    let sections: SectionsSource = Arc::new(move || match &path {
        None => Ok(Sections::default()),
        Some(path) => match Config::load(path) {
            Ok(config) => Ok(Sections {
                smtp: config.smtp.clone(),
                intercom: config.intercom.clone(),
                config: Some(Arc::new(config)),
            }),
            Err(ConfigError::NotFound(_)) => Ok(Sections::default()),
            Err(e) => Err(e.to_string()),
        },
    });
    Desk::new(store.clone(), sections, Arc::new(SystemSecrets))
}

/// The configuration as the file says at each use, for the postmortem editor (template, time
/// zone, monitors' names) and the SLA report (plans): an edit needs no restart.
fn config_source(path: Option<std::path::PathBuf>) -> ConfigSource {
    Arc::new(move || match &path {
        None => Ok(Config::default()),
        Some(path) => match Config::load(path) {
            Ok(config) => Ok(config),
            Err(ConfigError::NotFound(_)) => Ok(Config::default()),
            Err(e) => Err(e.to_string()),
        },
    })
}

/// Why no window can be shown, if that is so (Linux without X11 or Wayland).
fn no_display() -> Option<&'static str> {
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty())
        && std::env::var_os("WAYLAND_DISPLAY").is_none_or(|d| d.is_empty())
    {
        return Some("no display (neither DISPLAY nor WAYLAND_DISPLAY is set)");
    }
    None
}
