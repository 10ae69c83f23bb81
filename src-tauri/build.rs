fn main() {
    // Each command gets its own permission, so the capability file grants exactly what the
    // window calls.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "get_snapshot",
            "set_mute",
            "set_paused",
            "get_monitor_draft",
            "validate_condition",
            "test_monitor",
            "save_monitor",
            "delete_monitor",
            "get_escalation_draft",
            "save_escalation",
            "set_monitor_paused",
            "get_monitor_history",
            "get_incident",
            "act_on_incident",
            "ladder_action",
            "get_status_setup",
            "preview_status",
            "publish_status",
            "get_status_overview",
            "retry_status",
            "open_status_page",
            "get_support_queue",
            "send_support_replies",
            "get_letter_overview",
            "save_letter_draft",
            "preview_letter",
            "send_test_letter",
            "start_letter",
            "get_letter_progress",
            "pause_letter",
            "resume_letter",
            "cancel_letter",
        ]),
    ))
    .expect("tauri build script");
}
