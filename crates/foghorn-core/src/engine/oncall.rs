//! The on-call schedule as the person sees it: the window and tray kept current, a reminder
//! before a shift starts, and a digest of what is open at each hand-off.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::Engine;
use crate::event::EngineEvent;
use crate::incident::{IncidentState, IncidentView};
use crate::notify::{Notification, Urgency};
use crate::oncall::OncallStatus;
use crate::time_fmt::local_hm;

/// How long before a shift the reminder comes.
const REMIND_BEFORE: time::Duration = time::Duration::minutes(15);
/// How often shift boundaries are looked for between schedule changes.
const LOOK_EVERY: Duration = Duration::from_secs(30);

impl Engine {
    pub(super) async fn watch_oncall(&self, mut changes: watch::Receiver<OncallStatus>) {
        let mut was_on_call = self.on_call();
        let mut reminded: Option<OffsetDateTime> = None;
        let mut tick = tokio::time::interval(LOOK_EVERY);
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let status = changes.borrow_and_update().clone();
                    self.publish(EngineEvent::Oncall { status });
                }
                _ = tick.tick() => {}
            }
            let now = self.now();
            let Some(status) = self.shared.oncall.status(now) else {
                continue;
            };
            if let Some(next) = &status.next_shift {
                let soon = next.start > now && next.start - now <= REMIND_BEFORE;
                if soon && reminded != Some(next.start) {
                    reminded = Some(next.start);
                    self.notify(Notification {
                        title: format!("Your on-call shift starts at {}", local_hm(next.start)),
                        body: digest(&self.open_incidents()),
                        urgency: Urgency::Normal,
                        incident: None,
                        actions: Vec::new(),
                    })
                    .await;
                }
            }
            if status.you_are_on_call != was_on_call {
                was_on_call = status.you_are_on_call;
                let title = match (status.you_are_on_call, status.until) {
                    (true, Some(until)) => format!("You are on call until {}", local_hm(until)),
                    (true, None) => "You are on call".to_owned(),
                    (false, _) => "Your on-call shift is over".to_owned(),
                };
                // The tray and the window say it first, so the notification never announces
                // what the summary does not show yet.
                self.publish(EngineEvent::Oncall { status });
                self.refresh_summary();
                self.notify(Notification {
                    title,
                    body: digest(&self.open_incidents()),
                    urgency: Urgency::Normal,
                    incident: None,
                    actions: Vec::new(),
                })
                .await;
            }
        }
    }
}

/// What is open, in a line or three: what the next person on call inherits.
pub(super) fn digest(open: &[IncidentView]) -> String {
    if open.is_empty() {
        return "No open incidents.".to_owned();
    }
    let mut lines = vec![format!(
        "{} open incident{}:",
        open.len(),
        if open.len() == 1 { "" } else { "s" }
    )];
    lines.extend(open.iter().take(3).map(|i| match (&i.state, &i.acked_by) {
        (IncidentState::Acknowledged, Some(by)) => format!("• {} (acknowledged by {by})", i.title),
        _ => format!("• {} ({})", i.title, i.state.as_str()),
    }));
    if open.len() > 3 {
        lines.push(format!("and {} more", open.len() - 3));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Severity;

    fn incident(id: i64, title: &str, state: IncidentState, by: Option<&str>) -> IncidentView {
        IncidentView {
            id,
            dedup_key: format!("monitor:{id}"),
            title: title.to_owned(),
            severity: Severity::Critical,
            state,
            opened_at: OffsetDateTime::UNIX_EPOCH,
            resolved_at: None,
            acked_by: by.map(str::to_owned),
            acked_at: None,
            snoozed_until: None,
            assignee: None,
            auto_resolve: true,
        }
    }

    #[test]
    fn the_hand_off_digest_names_what_is_open_and_who_has_it() {
        assert_eq!(digest(&[]), "No open incidents.");
        let open = [
            incident(2, "api is down", IncidentState::Triggered, None),
            incident(1, "db is down", IncidentState::Acknowledged, Some("Bob")),
        ];
        assert_eq!(
            digest(&open),
            "2 open incidents:\n• api is down (triggered)\n• db is down (acknowledged by Bob)"
        );
    }
}
