//! Signed team claims. Laptops share one Alertmanager, and two things read from it decide
//! whether a laptop escalates: the start of an outage's pushed alert (the laptop that saw it
//! first climbs the ladder) and `FoghornOnline` presence alerts ("an engineer is online").
//! Anyone who can post to Alertmanager could forge both, so with a team secret each laptop
//! signs what it pushes (an HMAC-SHA256 in the `foghorn_signature` annotation) and believes
//! only what is signed.
//!
//! The signature is an annotation, not a label: Alertmanager fingerprints alerts by their
//! labels, and ten laptops must still make one alert. It keeps the earliest `startsAt` of all
//! pushes of one alert but the annotations of the last push, so the signature read back may
//! sign another start than the one shown. Hence each signature carries the start it signs
//! and when it was made:
//! - a pushed alert's `v1:{start_ms}:{signed_ms}:{mac}` signs (dedup key, start, signed at);
//!   the start a laptop believes is the signed one, never the `startsAt` shown, and only
//!   while the signature is recent (a few push lifetimes), so an old one replayed is ignored;
//! - a laptop that has read a signed start earlier than its own pushes that start with that
//!   same annotation (it does not sign it again), so every laptop's push carries the earliest
//!   signed start and the annotation read back is the same whoever pushed last;
//! - a presence alert's `v1:{until_ms}:{mac}` signs (person, until): it counts until then;
//! - a presence alert's ladder report (`foghorn_ladders`, see [`LadderReport`]) is
//!   `v1:{mac}:{json}`, signing (person, the JSON): which outages that laptop has open, whose
//!   ladder it climbs and the steps it has settled, for the hand-over of a ladder whose laptop
//!   went away. Without a team secret it is the JSON alone.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

/// The annotation that holds the signature.
pub const SIGNATURE_ANNOTATION: &str = "foghorn_signature";
/// The presence alert's annotation with the signed starts of its laptop's pushed incidents
/// (a JSON object: dedup key → start signature).
pub const STARTS_ANNOTATION: &str = "foghorn_starts";

/// The presence alert's annotation with its laptop's ladder report (see [`LadderReport`]).
pub const LADDERS_ANNOTATION: &str = "foghorn_ladders";

type Mac256 = Hmac<Sha256>;

/// What one laptop says, in every presence alert it posts, about the outages it pushes: the
/// ladder hand-over is decided from these. `at` changes with every announcement, so a report
/// that stops changing tells that its laptop went away, long before its presence alert ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderReport {
    /// When the laptop announced it, in milliseconds since the epoch (by its own clock: it is
    /// only compared with the laptop's earlier reports, never with another clock).
    pub at: i64,
    /// Each open pushed outage by dedup key.
    #[serde(default)]
    pub incidents: BTreeMap<String, LadderClaim>,
}

/// One laptop's word on one outage it has open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderClaim {
    /// When the outage opened on that laptop, in milliseconds since the epoch: the earliest
    /// of the laptops still online takes a ladder over.
    pub opened: i64,
    /// That laptop climbs the outage's ladder.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub climbs: bool,
    /// It climbs because it took the ladder over from a laptop that went away: the laptop
    /// that saw the outage first does not climb it again when it comes back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub took_over: bool,
    /// The steps it has settled (fired, skipped or cancelled), by index from 0; only a
    /// climbing laptop's count. A step is told here before its message is sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<u32>,
}

/// The team secret, ready to sign and verify. Its `Debug` never shows it.
#[derive(Clone)]
pub struct TeamKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TeamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TeamKey(…)")
    }
}

/// A pushed alert's start as its signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartClaim {
    pub start: OffsetDateTime,
    pub signed_at: OffsetDateTime,
    /// The annotation as read, to push again unchanged.
    pub annotation: String,
}

/// Why an alert's claim is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unverified {
    #[error("it is not signed with the team secret")]
    Unsigned,
    #[error("its signature is not one Foghorn makes")]
    Malformed,
    #[error("its signature does not match the team secret")]
    BadSignature,
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_ms(ms: &str) -> Result<OffsetDateTime, Unverified> {
    let ms: i64 = ms.parse().map_err(|_| Unverified::Malformed)?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| Unverified::Malformed)
}

impl TeamKey {
    pub fn new(secret: &str) -> Self {
        TeamKey {
            secret: secret.as_bytes().to_vec(),
        }
    }

    /// The MAC of `fields`, serialised as a JSON array so no two lists of fields read alike.
    fn mac(&self, fields: &serde_json::Value) -> Mac256 {
        let mut mac = Mac256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(fields.to_string().as_bytes());
        mac
    }

    fn check(&self, fields: &serde_json::Value, given_hex: &str) -> Result<(), Unverified> {
        let given = hex::decode(given_hex).map_err(|_| Unverified::Malformed)?;
        self.mac(fields)
            .verify_slice(&given)
            .map_err(|_| Unverified::BadSignature)
    }

    /// The annotation for a pushed alert that says outage `dedup_key` started at `start`.
    pub fn sign_start(
        &self,
        dedup_key: &str,
        start: OffsetDateTime,
        signed_at: OffsetDateTime,
    ) -> String {
        let (start, at) = (ms(start), ms(signed_at));
        let mac = self.mac(&serde_json::json!(["push", dedup_key, start, at]));
        format!(
            "v1:{start}:{at}:{}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// The start a pushed alert's annotation signs, if the team secret signed it. Whether it
    /// is recent enough is the reader's call.
    pub fn verify_start(
        &self,
        dedup_key: &str,
        annotation: Option<&str>,
    ) -> Result<StartClaim, Unverified> {
        let annotation = annotation.ok_or(Unverified::Unsigned)?;
        let parts: Vec<&str> = annotation.trim().split(':').collect();
        let ["v1", start, at, mac] = parts.as_slice() else {
            return Err(Unverified::Malformed);
        };
        let (start_t, at_t) = (from_ms(start)?, from_ms(at)?);
        self.check(
            &serde_json::json!(["push", dedup_key, ms(start_t), ms(at_t)]),
            mac,
        )?;
        Ok(StartClaim {
            start: start_t,
            signed_at: at_t,
            annotation: annotation.trim().to_owned(),
        })
    }

    /// The annotation for `person`'s presence alert, valid until `until`.
    pub fn sign_presence(&self, person: &str, until: OffsetDateTime) -> String {
        let until = ms(until);
        let mac = self.mac(&serde_json::json!(["online", person, until]));
        format!("v1:{until}:{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The `foghorn_ladders` annotation of `person`'s presence alert, signed.
    pub fn sign_ladders(&self, person: &str, report: &LadderReport) -> String {
        let json = serde_json::to_string(report).unwrap_or_default();
        let mac = self.mac(&serde_json::json!(["ladders", person, json]));
        format!("v1:{}:{json}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The ladder report of `person`'s presence alert, if the team secret signed it.
    pub fn verify_ladders(
        &self,
        person: &str,
        annotation: Option<&str>,
    ) -> Result<LadderReport, Unverified> {
        let annotation = annotation.ok_or(Unverified::Unsigned)?.trim();
        if annotation.starts_with('{') {
            return Err(Unverified::Unsigned);
        }
        let rest = annotation
            .strip_prefix("v1:")
            .ok_or(Unverified::Malformed)?;
        let (mac, json) = rest.split_once(':').ok_or(Unverified::Malformed)?;
        self.check(&serde_json::json!(["ladders", person, json]), mac)?;
        serde_json::from_str(json).map_err(|_| Unverified::Malformed)
    }

    /// Until when `person` is online, if the team secret signed their presence alert.
    pub fn verify_presence(
        &self,
        person: &str,
        annotation: Option<&str>,
    ) -> Result<OffsetDateTime, Unverified> {
        let annotation = annotation.ok_or(Unverified::Unsigned)?;
        let parts: Vec<&str> = annotation.trim().split(':').collect();
        let ["v1", until, mac] = parts.as_slice() else {
            return Err(Unverified::Malformed);
        };
        let until_t = from_ms(until)?;
        self.check(&serde_json::json!(["online", person, ms(until_t)]), mac)?;
        Ok(until_t)
    }
}

/// The `foghorn_ladders` annotation without a team secret: the report as JSON.
pub fn unsigned_ladders(report: &LadderReport) -> String {
    serde_json::to_string(report).unwrap_or_default()
}

/// A ladder report read without a team secret: the JSON, signed or not (the signature cannot
/// be checked, and nothing else read from the feed is either).
pub fn read_unsigned_ladders(annotation: &str) -> Option<LadderReport> {
    let annotation = annotation.trim();
    let json = match annotation.strip_prefix("v1:") {
        Some(rest) => rest.split_once(':')?.1,
        None => annotation,
    };
    serde_json::from_str(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_signed_start_verifies_and_nothing_else_does() {
        let key = TeamKey::new("team secret");
        let start = datetime!(2026-12-02 10:00:00.123 UTC);
        let at = datetime!(2026-12-02 10:00:05 UTC);
        let signed = key.sign_start("monitor:checkout", start, at);
        let claim = key
            .verify_start("monitor:checkout", Some(&signed))
            .expect("verifies");
        assert_eq!((claim.start, claim.signed_at), (start, at));
        assert_eq!(claim.annotation, signed);
        // Another key, another alert, an edited start, no signature at all.
        assert_eq!(
            TeamKey::new("guess").verify_start("monitor:checkout", Some(&signed)),
            Err(Unverified::BadSignature)
        );
        assert_eq!(
            key.verify_start("monitor:billing", Some(&signed)),
            Err(Unverified::BadSignature)
        );
        let earlier = signed.replacen(&ms(start).to_string(), &(ms(start) - 60_000).to_string(), 1);
        assert_eq!(
            key.verify_start("monitor:checkout", Some(&earlier)),
            Err(Unverified::BadSignature)
        );
        assert_eq!(
            key.verify_start("monitor:checkout", None),
            Err(Unverified::Unsigned)
        );
        for bad in ["", "v1", "v2:1:2:00", "v1:x:2:00", "v1:1:2:zz"] {
            assert_eq!(
                key.verify_start("monitor:checkout", Some(bad)),
                Err(Unverified::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn presence_is_signed_for_one_person_until_a_time() {
        let key = TeamKey::new("team secret");
        let until = datetime!(2026-12-02 10:05:00 UTC);
        let signed = key.sign_presence("Bob Jones", until);
        assert_eq!(key.verify_presence("Bob Jones", Some(&signed)), Ok(until));
        assert_eq!(
            key.verify_presence("Mallory", Some(&signed)),
            Err(Unverified::BadSignature)
        );
        // A start's signature is not a presence's, even with the same numbers.
        let start = key.sign_start("Bob Jones", until, until);
        assert_eq!(
            key.verify_presence("Bob Jones", Some(&start)),
            Err(Unverified::Malformed)
        );
        assert!(!format!("{key:?}").contains("secret"));
    }

    #[test]
    fn a_ladder_report_is_signed_for_one_person() {
        let key = TeamKey::new("team secret");
        let report = LadderReport {
            at: 1_700_000_000_000,
            incidents: BTreeMap::from([(
                "monitor:checkout".to_owned(),
                LadderClaim {
                    opened: 1_699_999_990_000,
                    climbs: true,
                    took_over: false,
                    done: vec![0],
                },
            )]),
        };
        let signed = key.sign_ladders("Alice Smith", &report);
        assert_eq!(
            key.verify_ladders("Alice Smith", Some(&signed)),
            Ok(report.clone())
        );
        assert_eq!(
            key.verify_ladders("Mallory", Some(&signed)),
            Err(Unverified::BadSignature)
        );
        // Another step claimed done under the same signature.
        let edited = signed.replace("[0]", "[0,1]");
        assert_eq!(
            key.verify_ladders("Alice Smith", Some(&edited)),
            Err(Unverified::BadSignature)
        );
        let plain = unsigned_ladders(&report);
        assert_eq!(
            key.verify_ladders("Alice Smith", Some(&plain)),
            Err(Unverified::Unsigned)
        );
        assert_eq!(
            key.verify_ladders("Alice Smith", Some("v1:zz")),
            Err(Unverified::Malformed)
        );
        // Without a secret both read alike.
        assert_eq!(read_unsigned_ladders(&plain), Some(report.clone()));
        assert_eq!(read_unsigned_ladders(&signed), Some(report));
        assert_eq!(read_unsigned_ladders("nonsense"), None);
    }
}
