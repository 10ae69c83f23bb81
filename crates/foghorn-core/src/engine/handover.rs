//! The ladder hand-over: when the laptop climbing a pushed outage's ladder goes away while the
//! outage is open and unacknowledged here, one laptop still online takes the remaining steps
//! over.
//!
//! What every laptop knows of the others is what they post to the shared Alertmanager. Each
//! presence alert carries a ladder report ([`crate::team::LadderReport`]): for each pushed
//! outage the laptop has open, when it opened there, whether it climbs the ladder, and which
//! steps it has settled. The climbing laptop tells a step there *before* its message is sent
//! (see `Engine::settle`), so the steps a laptop that went away had sent are known from the
//! last report it posted — not guessed from the ladder's schedule, which a skipped or late
//! step would upset.
//!
//! A laptop has gone away when its report has not changed for `handover_after` (every laptop
//! re-posts it each poll), which comes long before its presence alert ends (`online_within`).
//! Timing is measured on this laptop's clock from when a report was read, so two laptops'
//! clocks need not agree. The laptop that takes over is the one among those still online
//! (themselves reporting the outage open) whose incident opened first, ties broken by
//! person: every laptop reads the same reports and reaches the same answer, so one takes
//! over, not all.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::Engine;
use crate::incident::{IncidentState, IncidentView, TimelineKind};
use crate::store;
use crate::team::LadderReport;

/// Another laptop's latest ladder report, and when this laptop first read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Heard {
    pub(super) person: String,
    pub(super) heard_at: OffsetDateTime,
    pub(super) report: LadderReport,
}

/// What this laptop should do about one outage's ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Handover {
    /// Nothing: the climbing laptop is there, or nobody climbs, or another laptop takes over.
    Stay,
    /// Take the ladder over from `from` (heard last at `last_heard`); the steps in `done`
    /// were settled there.
    TakeOver {
        from: String,
        last_heard: OffsetDateTime,
        done: BTreeSet<u32>,
    },
}

/// This laptop's side of one outage.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mine<'a> {
    pub(super) me: &'a str,
    pub(super) dedup_key: &'a str,
    pub(super) opened: OffsetDateTime,
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Whether a laptop heard from at `heard_at` still counts as there at `now`.
pub(super) fn alive(heard_at: OffsetDateTime, now: OffsetDateTime, grace: time::Duration) -> bool {
    now < crate::deadline::shifted(heard_at, grace)
}

/// Who climbs `mine`'s ladder now that `heard` is what the other laptops last said, and
/// whether this laptop takes it over. `last_poll` is this laptop's last successful read of
/// the shared feed: a laptop that cannot read it must not take silence for absence.
pub(super) fn decide(
    mine: Mine<'_>,
    heard: &[Heard],
    now: OffsetDateTime,
    grace: time::Duration,
    last_poll: Option<OffsetDateTime>,
) -> Handover {
    let claims: Vec<(&Heard, &crate::team::LadderClaim)> = heard
        .iter()
        .filter(|h| h.person != mine.me)
        .filter_map(|h| h.report.incidents.get(mine.dedup_key).map(|c| (h, c)))
        .collect();
    let climbers: Vec<&(&Heard, &crate::team::LadderClaim)> =
        claims.iter().filter(|(_, c)| c.climbs).collect();
    if climbers.is_empty() || climbers.iter().any(|(h, _)| alive(h.heard_at, now, grace)) {
        return Handover::Stay;
    }
    // Every laptop that climbed went away: the one heard last knows most; the steps any of
    // them settled are not sent again.
    let Some((from, _)) = climbers
        .iter()
        .max_by(|(a, _), (b, _)| (a.heard_at, &b.person).cmp(&(b.heard_at, &a.person)))
    else {
        return Handover::Stay;
    };
    let fresh =
        last_poll.is_some_and(|polled| polled >= crate::deadline::shifted(from.heard_at, grace));
    if !fresh {
        return Handover::Stay;
    }
    let done: BTreeSet<u32> = climbers
        .iter()
        .flat_map(|(_, c)| c.done.iter().copied())
        .collect();
    let first = claims
        .iter()
        .filter(|(h, _)| alive(h.heard_at, now, grace))
        .map(|(h, c)| (c.opened, h.person.as_str()))
        .chain(std::iter::once((ms(mine.opened), mine.me)))
        .min();
    match first {
        Some((_, who)) if who == mine.me => Handover::TakeOver {
            from: from.person.clone(),
            last_heard: from.heard_at,
            done,
        },
        _ => Handover::Stay,
    }
}

/// Someone else's laptop, still there, that took `dedup_key`'s ladder over: the laptop that
/// saw the outage first leaves it to them when it comes back.
pub(super) fn taken_over_by<'a>(
    me: &str,
    dedup_key: &str,
    heard: &'a [Heard],
    now: OffsetDateTime,
    grace: time::Duration,
) -> Option<&'a str> {
    heard
        .iter()
        .filter(|h| h.person != me && alive(h.heard_at, now, grace))
        .find(|h| {
            h.report
                .incidents
                .get(dedup_key)
                .is_some_and(|c| c.climbs && c.took_over)
        })
        .map(|h| h.person.as_str())
}

impl Engine {
    /// How long a climbing laptop may stay silent before its ladder is taken over.
    pub(super) fn handover_grace(&self) -> time::Duration {
        let configured = time::Duration::try_from(self.ladder().config.handover_after)
            .unwrap_or(time::Duration::MAX);
        configured.max(self.shared.escalation.handover_floor())
    }

    /// Whether this laptop took over the ladder of `incident`: remembered, or read from its
    /// timeline (a restart forgets the memory, not the record).
    pub(super) fn took_over(&self, incident: i64) -> bool {
        if self.shared.team.took_over(incident) {
            return true;
        }
        let recorded = self
            .shared
            .store
            .read(|c| store::took_over_ladder(c, incident))
            .unwrap_or(false);
        if recorded {
            self.shared.team.take_over(incident);
        }
        recorded
    }

    /// Takes over the ladders whose laptop went away, where this laptop is the one to.
    pub(super) async fn hand_over_ladders(&self, now: OffsetDateTime) {
        if !self.shared.escalation.pushes() {
            return;
        }
        let heard = self.shared.team.reports();
        if !heard
            .iter()
            .any(|h| h.report.incidents.values().any(|c| c.climbs))
        {
            return;
        }
        let grace = self.handover_grace();
        let last_poll = self.shared.feeds.last_pushing_poll();
        let open: Vec<IncidentView> = self
            .open_incidents()
            .into_iter()
            .filter(|i| i.dedup_key.starts_with("monitor:") && i.state == IncidentState::Triggered)
            .collect();
        for incident in open {
            let mine = Mine {
                me: &self.shared.me,
                dedup_key: &incident.dedup_key,
                opened: incident.opened_at,
            };
            let Handover::TakeOver {
                from,
                last_heard,
                done,
            } = decide(mine, &heard, now, grace, last_poll)
            else {
                continue;
            };
            if self.took_over(incident.id) || self.climbs_here(&incident, &heard, now) {
                continue;
            }
            self.take_ladder_over(&incident, &from, last_heard, done, now)
                .await;
        }
    }

    /// Whether this laptop climbs `incident`'s ladder as far as it knows: it took it over, or
    /// it saw the outage first (or has fired a step of it) and nobody took it over since.
    pub(super) fn climbs_here(
        &self,
        incident: &IncidentView,
        heard: &[Heard],
        now: OffsetDateTime,
    ) -> bool {
        if self.took_over(incident.id) {
            return true;
        }
        if taken_over_by(
            &self.shared.me,
            &incident.dedup_key,
            heard,
            now,
            self.handover_grace(),
        )
        .is_some()
        {
            return false;
        }
        let first = self
            .shared
            .team
            .pushed_start(&incident.dedup_key, now)
            .is_some_and(|start| ms(start) == ms(incident.opened_at));
        first
            || self
                .shared
                .store
                .ladder(incident.id)
                .is_ok_and(|steps| steps.iter().any(|s| s.state == "fired"))
    }

    async fn take_ladder_over(
        &self,
        incident: &IncidentView,
        from: &str,
        last_heard: OffsetDateTime,
        done: BTreeSet<u32>,
        now: OffsetDateTime,
    ) {
        let id = incident.id;
        let from_owned = from.to_owned();
        let written = self
            .shared
            .store
            .write(move |tx| {
                let remaining = store::take_over_steps(
                    tx,
                    id,
                    &done,
                    &format!("settled by {from_owned}'s Foghorn before it went away"),
                    now,
                )?;
                let what = match remaining.first() {
                    Some(step) => format!("takes over the ladder from step {}", step + 1),
                    None => "takes over the ladder; no step of it remains".to_owned(),
                };
                store::note(
                    tx,
                    id,
                    now,
                    TimelineKind::Handover,
                    &format!(
                        "{from_owned}'s Foghorn went away (last heard at {}); this laptop {what}",
                        crate::time_fmt::rfc3339(last_heard)
                    ),
                )?;
                Ok(())
            })
            .await;
        match written {
            Ok(()) => {
                tracing::info!(incident = id, from, "took the ladder over");
                self.shared.team.take_over(id);
                self.republish(id);
                // The others learn at once that this laptop climbs now.
                self.announce_now().await;
            }
            Err(e) => tracing::error!(error = %e, "cannot take a ladder over"),
        }
    }

    /// This laptop's ladder report: each open pushed outage, whether it climbs its ladder and
    /// the steps it settled.
    pub(super) fn ladder_report(&self, now: OffsetDateTime) -> LadderReport {
        let heard = self.shared.team.reports();
        let incidents = self
            .open_incidents()
            .into_iter()
            .filter(|i| i.dedup_key.starts_with("monitor:"))
            .map(|incident| {
                let climbs = self.climbs_here(&incident, &heard, now);
                let done = if climbs {
                    self.shared
                        .store
                        .ladder(incident.id)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|s| s.state != "pending")
                        .map(|s| s.step)
                        .collect()
                } else {
                    Vec::new()
                };
                let claim = crate::team::LadderClaim {
                    opened: ms(incident.opened_at),
                    climbs,
                    took_over: climbs && self.took_over(incident.id),
                    done,
                };
                (incident.dedup_key, claim)
            })
            .collect();
        LadderReport {
            at: ms(now),
            incidents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::team::LadderClaim;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    const KEY: &str = "monitor:checkout";
    const T0: OffsetDateTime = datetime!(2026-12-02 10:00:00 UTC);

    fn secs(s: i64) -> time::Duration {
        time::Duration::seconds(s)
    }

    /// `person` last heard `ago` seconds before T0 + 100 s, having opened the outage at
    /// T0 + `opened` s.
    fn heard(person: &str, ago: i64, opened: i64, climbs: bool, done: &[u32]) -> Heard {
        Heard {
            person: person.to_owned(),
            heard_at: T0 + secs(100 - ago),
            report: LadderReport {
                at: 0,
                incidents: BTreeMap::from([(
                    KEY.to_owned(),
                    LadderClaim {
                        opened: ms(T0 + secs(opened)),
                        climbs,
                        took_over: false,
                        done: done.to_vec(),
                    },
                )]),
            },
        }
    }

    /// (case, me, my opening in seconds after T0, what was heard, last poll, expected)
    type Case = (
        &'static str,
        &'static str,
        i64,
        Vec<Heard>,
        Option<OffsetDateTime>,
        Handover,
    );

    fn take_over(from: &str, ago: i64, done: &[u32]) -> Handover {
        Handover::TakeOver {
            from: from.to_owned(),
            last_heard: T0 + secs(100 - ago),
            done: done.iter().copied().collect(),
        }
    }

    #[test]
    fn who_takes_a_ladder_over_and_from_which_step() {
        let now = T0 + secs(100);
        let grace = secs(60);
        let polled = Some(now - secs(1));
        let cases: Vec<Case> = vec![
            (
                "the climbing laptop is there",
                "Bob",
                2,
                vec![heard("Alice", 10, 1, true, &[0])],
                polled,
                Handover::Stay,
            ),
            (
                "it went away: the only other laptop takes over after step 1",
                "Bob",
                2,
                vec![heard("Alice", 70, 1, true, &[0])],
                polled,
                take_over("Alice", 70, &[0]),
            ),
            (
                "not yet: silent for less than the grace",
                "Bob",
                2,
                vec![heard("Alice", 59, 1, true, &[0])],
                polled,
                Handover::Stay,
            ),
            (
                "this laptop has not read the feed since: silence is not absence",
                "Bob",
                2,
                vec![heard("Alice", 70, 1, true, &[0])],
                Some(now - secs(20)),
                Handover::Stay,
            ),
            (
                "never read the feed",
                "Bob",
                2,
                vec![heard("Alice", 70, 1, true, &[0])],
                None,
                Handover::Stay,
            ),
            (
                "nobody climbs: nothing to take over",
                "Bob",
                2,
                vec![heard("Alice", 70, 1, false, &[])],
                polled,
                Handover::Stay,
            ),
            (
                "Carol opened it before Bob and is there: Carol takes over",
                "Bob",
                3,
                vec![
                    heard("Alice", 70, 1, true, &[0, 1]),
                    heard("Carol", 5, 2, false, &[]),
                ],
                polled,
                Handover::Stay,
            ),
            (
                "…and Carol's laptop decides the same",
                "Carol",
                2,
                vec![
                    heard("Alice", 70, 1, true, &[0, 1]),
                    heard("Bob", 5, 3, false, &[]),
                ],
                polled,
                take_over("Alice", 70, &[0, 1]),
            ),
            (
                "Carol opened it first but went away too: Bob takes over",
                "Bob",
                3,
                vec![
                    heard("Alice", 70, 1, true, &[0]),
                    heard("Carol", 65, 2, false, &[]),
                ],
                polled,
                take_over("Alice", 70, &[0]),
            ),
            (
                "the same opening: the person first by name takes over",
                "Bob",
                2,
                vec![
                    heard("Alice", 70, 1, true, &[0]),
                    heard("Carol", 5, 2, false, &[]),
                ],
                polled,
                take_over("Alice", 70, &[0]),
            ),
            (
                "…and Carol leaves it to Bob",
                "Carol",
                2,
                vec![
                    heard("Alice", 70, 1, true, &[0]),
                    heard("Bob", 5, 2, false, &[]),
                ],
                polled,
                Handover::Stay,
            ),
            (
                "a laptop that reports the outage no more is not a candidate",
                "Bob",
                3,
                vec![heard("Alice", 70, 1, true, &[0]), {
                    let mut carol = heard("Carol", 5, 2, false, &[]);
                    carol.report.incidents.clear();
                    carol
                }],
                polled,
                take_over("Alice", 70, &[0]),
            ),
            (
                "two climbers went away: the steps either settled are done",
                "Bob",
                3,
                vec![
                    heard("Alice", 90, 1, true, &[0]),
                    heard("Carol", 70, 2, true, &[0, 1]),
                ],
                polled,
                take_over("Carol", 70, &[0, 1]),
            ),
            (
                "one of two climbers is still there",
                "Bob",
                3,
                vec![
                    heard("Alice", 90, 1, true, &[0]),
                    heard("Carol", 5, 2, true, &[0, 1]),
                ],
                polled,
                Handover::Stay,
            ),
            (
                "its own report read back is not another laptop's",
                "Bob",
                2,
                vec![heard("Bob", 70, 2, true, &[0])],
                polled,
                Handover::Stay,
            ),
        ];
        for (case, me, opened, heard, last_poll, expected) in cases {
            let mine = Mine {
                me,
                dedup_key: KEY,
                opened: T0 + secs(opened),
            };
            assert_eq!(
                decide(mine, &heard, now, grace, last_poll),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn a_laptop_that_took_over_and_is_there_keeps_the_ladder() {
        let now = T0 + secs(100);
        let mut bob = heard("Bob", 5, 2, true, &[0, 1]);
        if let Some(claim) = bob.report.incidents.get_mut(KEY) {
            claim.took_over = true;
        }
        let heard = vec![bob.clone()];
        assert_eq!(
            taken_over_by("Alice", KEY, &heard, now, secs(60)),
            Some("Bob")
        );
        assert_eq!(taken_over_by("Bob", KEY, &heard, now, secs(60)), None);
        assert_eq!(
            taken_over_by("Alice", "monitor:other", &heard, now, secs(60)),
            None
        );
        // Gone since: the laptop that saw it first may climb again.
        assert_eq!(
            taken_over_by("Alice", KEY, &heard, now + secs(60), secs(60)),
            None
        );
    }
}
