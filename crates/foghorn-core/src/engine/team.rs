//! What the team's shared feed says about the other laptops — who is online, and when each
//! pushed outage started (the earliest start decides whose laptop climbs the ladder) — and
//! which of it is believed. With a team secret only signed claims count (see
//! [`crate::team`]); what is ignored is said once, on the incident's timeline or as a notice,
//! since someone forging claims is trying to stop escalation.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use time::OffsetDateTime;

use super::handover::Heard;
use super::{lock, Engine};
use crate::feed::FeedAlert;
use crate::incident::{IncidentView, TimelineKind};
use crate::team::{LadderReport, StartClaim, TeamKey};

/// Clocks of two laptops may differ this much.
pub(super) const CLOCK_SKEW: time::Duration = time::Duration::seconds(30);

/// Reports kept to say each ignored claim once; beyond this many the memory starts over.
const MAX_REPORTED: usize = 1024;

/// The notice when pushes decide ownership but nothing is signed.
pub(super) const UNAUTHENTICATED: &str = "Ladder ownership is unauthenticated: anyone who can \
    post alerts to the shared Alertmanager can claim an outage started on another laptop, or \
    that an engineer is online, and stop this laptop escalating. Set `[team] secret = \
    \"env:FOGHORN_TEAM_SECRET\"` (the same secret on every laptop) to sign and check them.";

/// The team secret and what the other laptops are believed to have said.
#[derive(Debug)]
pub(super) struct Team {
    /// Leaf lock.
    claims: Mutex<Claims>,
    /// The team secret: pushed starts and presence are signed with it and believed only when
    /// signed (see [`crate::team`]).
    key: Option<TeamKey>,
    /// How long a signed start stays believable after it was signed.
    claim_fresh_for: time::Duration,
}

#[derive(Debug, Default)]
struct Claims {
    /// Person → until when their Foghorn is believed to run.
    online: HashMap<String, OffsetDateTime>,
    /// A pushed incident's dedup key → the earliest start believed for it.
    pushed_starts: HashMap<String, PushedStart>,
    /// Ignored claims already reported.
    reported: HashSet<String>,
    /// Person → their latest ladder report and when this laptop first read it.
    reports: HashMap<String, Heard>,
    /// This laptop's incidents whose ladders it took over from a laptop that went away (the
    /// store's timeline is the record; this remembers what was read from it).
    took_over: HashSet<i64>,
}

#[derive(Debug, Clone)]
struct PushedStart {
    start: OffsetDateTime,
    /// The signature it was read with; `None` without a team secret (the start shown is all
    /// there is then).
    claim: Option<StartClaim>,
}

fn ms(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos() / 1_000_000
}

impl Team {
    pub(super) fn new(key: Option<TeamKey>, claim_fresh_for: time::Duration) -> Self {
        Team {
            claims: Mutex::new(Claims::default()),
            key,
            claim_fresh_for,
        }
    }

    fn key(&self) -> Option<&TeamKey> {
        self.key.as_ref()
    }

    /// A signature recent enough to believe: made within a few push lifetimes (every laptop
    /// re-pushes each poll), and not in the future.
    fn fresh(&self, claim: &StartClaim, now: OffsetDateTime) -> bool {
        // The signed time comes from the feed: checked sums, so a claim dated at the end of
        // time is merely stale, never a panic.
        claim
            .signed_at
            .checked_add(self.claim_fresh_for)
            .is_some_and(|until| until >= now)
            && now
                .checked_add(CLOCK_SKEW)
                .is_none_or(|latest| claim.signed_at <= latest)
    }

    /// `person`'s Foghorn is believed to run until `until` (or later, if said before).
    fn online_until(&self, person: &str, until: OffsetDateTime) {
        let mut claims = lock(&self.claims);
        let known = claims.online.entry(person.to_owned()).or_insert(until);
        *known = (*known).max(until);
    }

    /// `person`'s ladder report as read at `now`: a newer one than known (a later `at`) is
    /// news of that laptop; the same one read again is not.
    fn heard(&self, person: &str, report: LadderReport, now: OffsetDateTime) {
        let mut claims = lock(&self.claims);
        match claims.reports.get_mut(person) {
            Some(known) if known.report.at >= report.at => {}
            Some(known) => {
                known.report = report;
                known.heard_at = now;
            }
            None => {
                if claims.reports.len() >= MAX_REPORTED {
                    claims.reports.clear();
                }
                claims.reports.insert(
                    person.to_owned(),
                    Heard {
                        person: person.to_owned(),
                        heard_at: now,
                        report,
                    },
                );
            }
        }
    }

    /// Every other laptop's latest ladder report.
    pub(super) fn reports(&self) -> Vec<Heard> {
        lock(&self.claims).reports.values().cloned().collect()
    }

    /// Whether this laptop took over the ladder of `incident` (as far as remembered).
    pub(super) fn took_over(&self, incident: i64) -> bool {
        lock(&self.claims).took_over.contains(&incident)
    }

    /// Remembers that this laptop took over the ladder of `incident`.
    pub(super) fn take_over(&self, incident: i64) {
        lock(&self.claims).took_over.insert(incident);
    }

    /// The ladder report this laptop posts with its presence: signed with the team secret.
    pub(super) fn ladders_annotation(&self, me: &str, report: &LadderReport) -> String {
        match self.key() {
            Some(key) => key.sign_ladders(me, report),
            None => crate::team::unsigned_ladders(report),
        }
    }

    /// Whether another engineer's Foghorn said recently that it is running.
    pub(super) fn someone_online(&self, now: OffsetDateTime) -> bool {
        lock(&self.claims).online.values().any(|until| *until > now)
    }

    /// This laptop's own start of `dedup_key`, as it signed it for a push: known from the
    /// start, so hearing only later starts (the shared alert showing another laptop's push)
    /// never hides it.
    pub(super) fn believe_own_start(&self, dedup_key: &str, signature: &str, now: OffsetDateTime) {
        let Some(key) = self.key() else {
            return;
        };
        if let Ok(claim) = key.verify_start(dedup_key, Some(signature)) {
            self.believe_start(dedup_key, claim, now);
        }
    }

    /// Keeps `claim` as the start of `dedup_key` unless an earlier fresh one is known.
    fn believe_start(&self, dedup_key: &str, claim: StartClaim, now: OffsetDateTime) {
        let mut claims = lock(&self.claims);
        let keep = claims.pushed_starts.get(dedup_key).is_some_and(|old| {
            old.claim.as_ref().is_some_and(|c| {
                self.fresh(c, now)
                    && (c.start < claim.start
                        || (c.start == claim.start && c.signed_at >= claim.signed_at))
            })
        });
        if !keep {
            claims.pushed_starts.insert(
                dedup_key.to_owned(),
                PushedStart {
                    start: claim.start,
                    claim: Some(claim),
                },
            );
        }
    }

    /// Without a team secret, the start a pushed alert shows is all there is.
    fn believe_unsigned(&self, dedup_key: &str, start: OffsetDateTime) {
        lock(&self.claims)
            .pushed_starts
            .insert(dedup_key.to_owned(), PushedStart { start, claim: None });
    }

    /// Whether an ignored claim is reported for the first time.
    fn first_report(&self, report: String) -> bool {
        let mut claims = lock(&self.claims);
        if claims.reported.len() >= MAX_REPORTED {
            claims.reported.clear();
        }
        claims.reported.insert(report)
    }

    /// The earliest start believed for a pushed outage: with a team secret only a signed one,
    /// and only while its signature is recent.
    pub(super) fn pushed_start(
        &self,
        dedup_key: &str,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let claims = lock(&self.claims);
        let known = claims.pushed_starts.get(dedup_key)?;
        match (&known.claim, self.key()) {
            (_, None) => Some(known.start),
            (Some(claim), Some(_)) if self.fresh(claim, now) => Some(known.start),
            _ => None,
        }
    }

    /// The start and signature to push for this laptop's own incident: its own start, signed
    /// now; or, when an earlier signed start was read, that one with its signature as read,
    /// so every laptop's push carries the earliest signed start whoever pushed last.
    pub(super) fn start_to_push(
        &self,
        incident: &IncidentView,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, Option<String>) {
        let own = incident.opened_at;
        let Some(key) = self.key() else {
            return (own, None);
        };
        let earlier = lock(&self.claims)
            .pushed_starts
            .get(&incident.dedup_key)
            .and_then(|known| known.claim.clone())
            .filter(|claim| self.fresh(claim, now) && ms(claim.start) < ms(own));
        match earlier {
            Some(claim) => (claim.start, Some(claim.annotation)),
            None => (own, Some(key.sign_start(&incident.dedup_key, own, now))),
        }
    }

    /// The signature of `me`'s presence until `until`, when there is a team secret.
    pub(super) fn presence_signature(&self, me: &str, until: OffsetDateTime) -> Option<String> {
        self.key().map(|key| key.sign_presence(me, until))
    }
}

impl Engine {
    /// A `FoghornOnline` alert read from `feed`.
    pub(super) fn take_presence(&self, feed: &str, alert: &FeedAlert, now: OffsetDateTime) {
        let Some(person) = alert.labels.get("person").filter(|p| **p != self.shared.me) else {
            return;
        };
        let latest = crate::deadline::after(now, self.ladder().config.online_within);
        let team = &self.shared.team;
        let until = match team.key() {
            None => latest,
            Some(key) => match key.verify_presence(person, alert.signature.as_deref()) {
                // Never longer than this laptop would believe an unsigned one.
                Ok(until) if until > now => until.min(latest),
                Ok(_) => return,
                Err(why) => {
                    let report = format!("online:{feed}:{person}");
                    if team.first_report(report) {
                        tracing::warn!(feed, person, %why, "ignored a presence alert");
                        self.add_notice(format!(
                            "Ignored a presence alert in {feed} saying {person} is online: {why}. \
                             It does not count as an engineer online."
                        ));
                    }
                    return;
                }
            },
        };
        team.online_until(person, until);
        let report = match team.key() {
            Some(key) => key
                .verify_ladders(person, alert.ladders.as_deref())
                .map_err(|why| tracing::debug!(feed, person, %why, "ignored a ladder report"))
                .ok(),
            None => alert
                .ladders
                .as_deref()
                .and_then(crate::team::read_unsigned_ladders),
        };
        if let Some(report) = report {
            team.heard(person, report, now);
        }
        // The starts that laptop pushed, as signed: the shared alert shows only the last
        // push's, so a laptop that always pushes last would otherwise never learn of an
        // earlier one.
        if let Some(key) = team.key() {
            for (dedup_key, signature) in &alert.starts {
                if let Ok(claim) = key.verify_start(dedup_key, Some(signature)) {
                    if team.fresh(&claim, now) {
                        team.believe_start(dedup_key, claim, now);
                    }
                }
            }
        }
    }

    /// A pushed alert (`source="foghorn"`) read from `feed`: its start, if believed.
    pub(super) async fn take_pushed_start(
        &self,
        feed: &str,
        alert: &FeedAlert,
        now: OffsetDateTime,
    ) {
        let Some(dedup_key) = alert.labels.get("dedup_key") else {
            return;
        };
        let team = &self.shared.team;
        let Some(key) = team.key() else {
            team.believe_unsigned(dedup_key, alert.started_at);
            return;
        };
        let shown = crate::time_fmt::rfc3339(alert.started_at);
        let claim = match key.verify_start(dedup_key, alert.signature.as_deref()) {
            Ok(claim) if team.fresh(&claim, now) => claim,
            Ok(claim) => {
                let why = format!(
                    "its signature was made at {}, too long ago to be believed",
                    crate::time_fmt::rfc3339(claim.signed_at)
                );
                self.report_start(feed, dedup_key, alert.started_at, &why)
                    .await;
                return;
            }
            Err(why) => {
                self.report_start(feed, dedup_key, alert.started_at, &why.to_string())
                    .await;
                return;
            }
        };
        if ms(alert.started_at) < ms(claim.start) {
            // Alertmanager shows the earliest start anyone posted; the signature says which
            // start a laptop vouched for.
            let why = format!(
                "no laptop signed it (the earliest signed start is {})",
                crate::time_fmt::rfc3339(claim.start)
            );
            tracing::debug!(feed, dedup_key, %shown, "an earlier unsigned start");
            self.report_start(feed, dedup_key, alert.started_at, &why)
                .await;
        }
        team.believe_start(dedup_key, claim, now);
    }

    /// Says once, on the timeline of this laptop's incident for `dedup_key`, that a pushed
    /// alert's start was not believed.
    async fn report_start(&self, feed: &str, dedup_key: &str, start: OffsetDateTime, why: &str) {
        let report = format!("start:{feed}:{dedup_key}:{}:{why}", ms(start));
        if !self.shared.team.first_report(report) {
            return;
        }
        let text = format!(
            "ignored an alert in {feed} saying the outage started at {}: {why}; it does not \
             decide whose laptop escalates",
            crate::time_fmt::rfc3339(start)
        );
        tracing::warn!(feed, dedup_key, "{text}");
        match self.shared.store.last_incident_for_key(dedup_key) {
            Ok(Some(incident)) if incident.is_open() => {
                self.note_on(incident.id, TimelineKind::FeedIgnored, text)
                    .await;
            }
            _ => {}
        }
    }
}
