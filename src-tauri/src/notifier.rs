//! Native notifications through notify-rust: D-Bus `org.freedesktop.Notifications` on
//! Linux, the notification centre on macOS, toasts on Windows.
//!
//! A loud notification carries buttons (Acknowledge, Snooze 10 min). Pressing one is reported
//! on a channel the app forwards to the engine, so a button acts exactly like the tray.

use foghorn_core::incident::IncidentAction;
use foghorn_core::notify::{Notification, Notifier, NotifyError, Urgency};
use tokio::sync::mpsc::UnboundedSender;

/// An incident action a person took from a notification.
pub type ActionSender = UnboundedSender<(i64, IncidentAction)>;

#[derive(Debug, Clone, Default)]
pub struct DesktopNotifier {
    actions: Option<ActionSender>,
}

impl DesktopNotifier {
    /// Reports the buttons pressed on notifications to `actions`.
    pub fn with_actions(actions: ActionSender) -> Self {
        Self {
            actions: Some(actions),
        }
    }
}

fn label(action: IncidentAction) -> &'static str {
    match action {
        IncidentAction::Acknowledge => "Acknowledge",
        IncidentAction::Snooze => "Snooze 10 min",
        IncidentAction::Resolve => "Resolve",
        IncidentAction::ReassignToMe => "Take it",
    }
}

impl Notifier for DesktopNotifier {
    fn show(&self, n: &Notification) -> Result<(), NotifyError> {
        let mut native = notify_rust::Notification::new();
        native
            .appname("Foghorn")
            .summary(&n.title)
            .body(&body_text(&n.body));
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            native.urgency(match n.urgency {
                Urgency::Low => notify_rust::Urgency::Low,
                Urgency::Normal => notify_rust::Urgency::Normal,
                Urgency::Critical => notify_rust::Urgency::Critical,
            });
            native.hint(notify_rust::Hint::DesktopEntry("foghorn".to_owned()));
            // A critical alert stays until someone deals with it.
            if n.urgency == Urgency::Critical {
                native.timeout(notify_rust::Timeout::Never);
            }
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = n.urgency;
        let buttons = match (&self.actions, n.incident) {
            (Some(sender), Some(incident)) if !n.actions.is_empty() => {
                for action in &n.actions {
                    native.action(action.key(), label(*action));
                }
                Some((sender.clone(), incident))
            }
            _ => None,
        };
        let handle = native.show().map_err(|e| {
            let text = e.to_string();
            // No daemon owns the name on the session bus: nobody will ever show it.
            if text.contains("ServiceUnknown") || text.contains("was not provided") {
                NotifyError::Unavailable("no notification daemon is running".to_owned())
            } else {
                NotifyError::Failed(text)
            }
        })?;
        if let Some((sender, incident)) = buttons {
            wait_for_button(handle, sender, incident);
        }
        Ok(())
    }
}

/// The body as the notification service reads it. On Linux the body is markup for most
/// daemons (the freedesktop spec's `body-markup`; dunst, GNOME, KDE), so a monitor called
/// `<b>api</b>` or an error quoting `a & b` would be rendered or swallowed: `&`, `<` and `>`
/// are escaped so the text shows as written. The summary is plain text by the spec and is
/// left alone (escaping it would show `&amp;`). Elsewhere the body is plain text.
fn body_text(body: &str) -> std::borrow::Cow<'_, str> {
    if cfg!(all(unix, not(target_os = "macos"))) {
        markup_escape(body)
    } else {
        std::borrow::Cow::Borrowed(body)
    }
}

/// `&`, `<` and `>` as entities: the three characters the notification spec's markup gives a
/// meaning to.
fn markup_escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['&', '<', '>']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Waits, on its own thread, for a button press or the notification closing.
#[cfg(all(unix, not(target_os = "macos")))]
fn wait_for_button(handle: notify_rust::NotificationHandle, sender: ActionSender, incident: i64) {
    let spawned = std::thread::Builder::new()
        .name("notification".to_owned())
        .spawn(move || {
            handle.wait_for_action(|key| {
                if let Some(action) = IncidentAction::from_key(key) {
                    let _ = sender.send((incident, action));
                }
            });
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot wait for notification buttons");
    }
}

/// Elsewhere notify-rust reports no button presses; the tray and the window still act.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn wait_for_button(_: notify_rust::NotificationHandle, _: ActionSender, _: i64) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_bodies_show_markup_characters_as_written() {
        assert_eq!(
            markup_escape("<b>api</b> & co: HTTP 500 <html>"),
            "&lt;b&gt;api&lt;/b&gt; &amp; co: HTTP 500 &lt;html&gt;"
        );
        // Already-escaped text is escaped again: it is shown as the vendor wrote it.
        assert_eq!(markup_escape("&amp;"), "&amp;amp;");
        assert!(matches!(
            markup_escape("plain text, 100% – ok"),
            std::borrow::Cow::Borrowed(_)
        ));
        #[cfg(all(unix, not(target_os = "macos")))]
        assert_eq!(body_text("a < b"), "a &lt; b");
    }
}
