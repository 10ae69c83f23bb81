//! Native notifications through notify-rust: D-Bus `org.freedesktop.Notifications` on
//! Linux, the notification centre on macOS, toasts on Windows.

use foghorn_core::notify::{Notification, Notifier, NotifyError, Urgency};

#[derive(Debug, Default, Clone, Copy)]
pub struct DesktopNotifier;

impl Notifier for DesktopNotifier {
    fn show(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut native = notify_rust::Notification::new();
        native.appname("Foghorn").summary(&n.title).body(&n.body);
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            native.urgency(match n.urgency {
                Urgency::Low => notify_rust::Urgency::Low,
                Urgency::Normal => notify_rust::Urgency::Normal,
                Urgency::Critical => notify_rust::Urgency::Critical,
            });
            native.hint(notify_rust::Hint::DesktopEntry("foghorn".to_owned()));
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = n.urgency;
        native.show().map(drop).map_err(|e| {
            let text = e.to_string();
            // No daemon owns the name on the session bus: nobody will ever show it.
            if text.contains("ServiceUnknown") || text.contains("was not provided") {
                NotifyError::Unavailable("no notification daemon is running".to_owned())
            } else {
                NotifyError::Failed(text)
            }
        })
    }
}
