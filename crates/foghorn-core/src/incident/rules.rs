//! The incident rules without storage: what a signal firing, a signal clearing or a person's
//! action does to an incident. The store reads the facts a rule needs and applies its answer
//! in the same transaction (`store/incidents.rs`), so the rules read — and are tested — as a
//! table, and a change to them cannot hide in SQL.

use time::OffsetDateTime;

use super::{IncidentAction, IncidentState, IncidentView, Severity, Signal, SNOOZE};

/// What the store knows about a firing signal's key and group.
#[derive(Debug, Clone, Copy, Default)]
pub struct RaiseFacts<'a> {
    /// The incident this signal is still firing in (its last raise has not cleared).
    pub firing_in: Option<&'a IncidentView>,
    /// The open incident of the signal's group, if any.
    pub open_for_group: Option<&'a IncidentView>,
    /// The group's most recently resolved incident, if any.
    pub last_resolved: Option<&'a IncidentView>,
}

/// What a firing signal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raise {
    /// Already firing in an open incident: only its last-seen time moves.
    AlreadyFiring(i64),
    /// Joins the group's open incident, raising its severity when the signal is worse.
    Join {
        incident: i64,
        severity: Option<Severity>,
    },
    /// Opens again the group's incident resolved less than `retrigger_within` ago.
    Retrigger(i64),
    /// A new incident.
    Open,
}

/// A signal fires: it opens an incident for its group, joins the open one, or re-opens one
/// resolved less than `retrigger_within` ago (never when that is zero or less).
pub fn on_raise(signal: &Signal, facts: RaiseFacts<'_>, retrigger_within: time::Duration) -> Raise {
    if let Some(incident) = facts.firing_in.filter(|i| i.is_open()) {
        return Raise::AlreadyFiring(incident.id);
    }
    if let Some(open) = facts.open_for_group.filter(|i| i.is_open()) {
        return Raise::Join {
            incident: open.id,
            severity: (signal.severity > open.severity).then_some(signal.severity),
        };
    }
    let recent = facts.last_resolved.filter(|old| {
        retrigger_within.is_positive()
            && old
                .resolved_at
                .is_some_and(|resolved| signal.at - resolved <= retrigger_within)
    });
    match recent {
        Some(old) => Raise::Retrigger(old.id),
        None => Raise::Open,
    }
}

/// What a signal clearing does to the incident it fired in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clear {
    /// The incident is already resolved: nothing more.
    Nothing,
    /// Other signals of the incident still fire: it stays open.
    OthersFiring(u64),
    /// The last signal cleared, but the incident waits for a person (`auto_resolve` off).
    WaitForPerson,
    /// The last signal cleared: the incident resolves.
    Resolve,
}

/// A signal clears, `still_firing` other signals of its incident firing.
pub fn on_clear(incident: &IncidentView, still_firing: u64) -> Clear {
    if !incident.is_open() {
        Clear::Nothing
    } else if still_firing > 0 {
        Clear::OthersFiring(still_firing)
    } else if !incident.auto_resolve {
        Clear::WaitForPerson
    } else {
        Clear::Resolve
    }
}

/// What a person's action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Acknowledge,
    Resolve,
    Snooze {
        until: OffsetDateTime,
    },
    Assign,
    /// Already so (acknowledged twice, taken by the one who has it): nothing is written.
    Unchanged,
}

/// A person acts on an open incident; `None` when it is resolved already (the caller says so:
/// a resolved incident takes no more actions).
pub fn on_action(
    incident: &IncidentView,
    action: IncidentAction,
    actor: &str,
    at: OffsetDateTime,
) -> Option<Act> {
    if !incident.is_open() {
        return None;
    }
    Some(match action {
        IncidentAction::Acknowledge if incident.state == IncidentState::Triggered => {
            Act::Acknowledge
        }
        IncidentAction::Acknowledge => Act::Unchanged,
        IncidentAction::Resolve => Act::Resolve,
        IncidentAction::Snooze => Act::Snooze { until: at + SNOOZE },
        IncidentAction::ReassignToMe if incident.assignee.as_deref() != Some(actor) => Act::Assign,
        IncidentAction::ReassignToMe => Act::Unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    const AT: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn incident(id: i64, state: IncidentState) -> IncidentView {
        IncidentView {
            id,
            dedup_key: "monitor:api".to_owned(),
            title: "API down".to_owned(),
            severity: Severity::Major,
            state,
            opened_at: AT - Duration::hours(1),
            resolved_at: (state == IncidentState::Resolved).then_some(AT - Duration::minutes(5)),
            acked_by: None,
            acked_at: None,
            snoozed_until: None,
            assignee: None,
            auto_resolve: true,
        }
    }

    fn signal(severity: Severity) -> Signal {
        Signal {
            dedup_key: "monitor:api".to_owned(),
            group_key: "monitor:api".to_owned(),
            source: "monitor".to_owned(),
            origin: "monitor api".to_owned(),
            summary: "API down".to_owned(),
            severity,
            link: None,
            at: AT,
            evidence: String::new(),
            auto_resolve: true,
        }
    }

    #[test]
    fn a_firing_signal_opens_joins_or_retriggers() {
        let open = incident(1, IncidentState::Triggered);
        let acked = incident(2, IncidentState::Acknowledged);
        let resolved = incident(3, IncidentState::Resolved); // 5 minutes ago
        let ten_min = Duration::minutes(10);
        let two_min = Duration::minutes(2);
        let cases: Vec<(&str, Severity, RaiseFacts<'_>, Duration, Raise)> = vec![
            (
                "nothing known",
                Severity::Major,
                RaiseFacts::default(),
                ten_min,
                Raise::Open,
            ),
            (
                "still firing in an open incident",
                Severity::Major,
                RaiseFacts {
                    firing_in: Some(&open),
                    open_for_group: Some(&open),
                    ..Default::default()
                },
                ten_min,
                Raise::AlreadyFiring(1),
            ),
            (
                "firing in a resolved incident: the group decides",
                Severity::Major,
                RaiseFacts {
                    firing_in: Some(&resolved),
                    last_resolved: Some(&resolved),
                    ..Default::default()
                },
                ten_min,
                Raise::Retrigger(3),
            ),
            (
                "joins the group's open incident, same severity",
                Severity::Major,
                RaiseFacts {
                    open_for_group: Some(&open),
                    ..Default::default()
                },
                ten_min,
                Raise::Join {
                    incident: 1,
                    severity: None,
                },
            ),
            (
                "joins an acknowledged incident and raises its severity",
                Severity::Critical,
                RaiseFacts {
                    open_for_group: Some(&acked),
                    ..Default::default()
                },
                ten_min,
                Raise::Join {
                    incident: 2,
                    severity: Some(Severity::Critical),
                },
            ),
            (
                "a milder signal never lowers severity",
                Severity::Minor,
                RaiseFacts {
                    open_for_group: Some(&open),
                    ..Default::default()
                },
                ten_min,
                Raise::Join {
                    incident: 1,
                    severity: None,
                },
            ),
            (
                "resolved 5 minutes ago, retrigger within 10",
                Severity::Major,
                RaiseFacts {
                    last_resolved: Some(&resolved),
                    ..Default::default()
                },
                ten_min,
                Raise::Retrigger(3),
            ),
            (
                "resolved 5 minutes ago, retrigger within 2",
                Severity::Major,
                RaiseFacts {
                    last_resolved: Some(&resolved),
                    ..Default::default()
                },
                two_min,
                Raise::Open,
            ),
            (
                "retrigger switched off",
                Severity::Major,
                RaiseFacts {
                    last_resolved: Some(&resolved),
                    ..Default::default()
                },
                Duration::ZERO,
                Raise::Open,
            ),
            (
                "an open incident wins over a recent resolved one",
                Severity::Major,
                RaiseFacts {
                    open_for_group: Some(&open),
                    last_resolved: Some(&resolved),
                    ..Default::default()
                },
                ten_min,
                Raise::Join {
                    incident: 1,
                    severity: None,
                },
            ),
        ];
        for (what, severity, facts, within, want) in cases {
            assert_eq!(on_raise(&signal(severity), facts, within), want, "{what}");
        }
    }

    #[test]
    fn a_cleared_signal_resolves_only_the_last_one_and_only_when_allowed() {
        let open = incident(1, IncidentState::Triggered);
        let acked = incident(1, IncidentState::Acknowledged);
        let waits = IncidentView {
            auto_resolve: false,
            ..open.clone()
        };
        let resolved = incident(1, IncidentState::Resolved);
        let cases = [
            ("last signal of an open incident", &open, 0, Clear::Resolve),
            (
                "last signal of an acknowledged incident",
                &acked,
                0,
                Clear::Resolve,
            ),
            ("two others still firing", &open, 2, Clear::OthersFiring(2)),
            ("waits for a person", &waits, 0, Clear::WaitForPerson),
            (
                "others firing, waits for a person",
                &waits,
                1,
                Clear::OthersFiring(1),
            ),
            ("already resolved", &resolved, 0, Clear::Nothing),
        ];
        for (what, incident, firing, want) in cases {
            assert_eq!(on_clear(incident, firing), want, "{what}");
        }
    }

    #[test]
    fn actions_change_only_what_is_not_so_already() {
        let triggered = incident(1, IncidentState::Triggered);
        let acked = incident(1, IncidentState::Acknowledged);
        let alices = IncidentView {
            assignee: Some("Alice".to_owned()),
            ..triggered.clone()
        };
        let resolved = incident(1, IncidentState::Resolved);
        let snoozed = Act::Snooze { until: AT + SNOOZE };
        let cases = [
            (
                "acknowledge a triggered incident",
                &triggered,
                IncidentAction::Acknowledge,
                Some(Act::Acknowledge),
            ),
            (
                "acknowledge twice",
                &acked,
                IncidentAction::Acknowledge,
                Some(Act::Unchanged),
            ),
            (
                "resolve an acknowledged incident",
                &acked,
                IncidentAction::Resolve,
                Some(Act::Resolve),
            ),
            ("snooze", &triggered, IncidentAction::Snooze, Some(snoozed)),
            (
                "snooze an acknowledged incident",
                &acked,
                IncidentAction::Snooze,
                Some(snoozed),
            ),
            (
                "take it",
                &triggered,
                IncidentAction::ReassignToMe,
                Some(Act::Assign),
            ),
            (
                "take it from Alice",
                &alices,
                IncidentAction::ReassignToMe,
                Some(Act::Assign),
            ),
            (
                "resolved: nothing more",
                &resolved,
                IncidentAction::Acknowledge,
                None,
            ),
            (
                "resolved: not again",
                &resolved,
                IncidentAction::Resolve,
                None,
            ),
        ];
        for (what, incident, action, want) in cases {
            assert_eq!(on_action(incident, action, "Bob", AT), want, "{what}");
        }
        assert_eq!(
            on_action(&alices, IncidentAction::ReassignToMe, "Alice", AT),
            Some(Act::Unchanged),
            "Alice takes what she has"
        );
    }
}
