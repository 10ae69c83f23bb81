// Keep a console on Windows only for debug builds; the release app lives in the tray.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    foghorn_app::run()
}
