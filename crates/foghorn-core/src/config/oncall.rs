//! `[oncall]`: where the schedule comes from — an iCal calendar, PagerDuty's on-call API, or
//! both — and how often it is read again.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::{durations, FeedConfig, FeedKind};
use crate::secret::Confidential;

/// One place shifts are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OncallSource {
    /// `calendar`: an iCal file or URL.
    Calendar,
    /// `GET /oncalls` of a `[[feeds]]` entry of kind `pagerduty`.
    Pagerduty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OncallConfig {
    /// `"calendar"`, `"pagerduty"`, or both as a list; the calendar when not given. With both,
    /// the shifts of both count (a team moving from one to the other keeps its reminders).
    #[serde(default, deserialize_with = "one_or_many")]
    pub source: Vec<OncallSource>,
    /// An iCal URL or a file path, or `env:NAME`/`keyring:NAME` holding one: a calendar's
    /// secret address (a token in the path or query) then stays out of the file.
    #[serde(default)]
    pub calendar: Option<Confidential>,
    /// The name of the `[[feeds]]` entry (kind `pagerduty`) whose URL, token and `from` are
    /// used; the only PagerDuty feed when not given.
    #[serde(default)]
    pub feed: Option<String>,
    /// Which level of each escalation policy counts as on call (PagerDuty). 1 is the first
    /// person paged; a secondary rota is 2.
    #[serde(default = "first_level", deserialize_with = "level")]
    pub escalation_level: u32,
    /// How often the schedule is read again.
    #[serde(
        default = "super::defaults::oncall_refresh",
        deserialize_with = "durations::refresh"
    )]
    pub refresh: Duration,
}

impl OncallConfig {
    /// A calendar-only configuration, as most teams write it.
    pub fn calendar(calendar: Confidential) -> Self {
        OncallConfig {
            source: Vec::new(),
            calendar: Some(calendar),
            feed: None,
            escalation_level: first_level(),
            refresh: super::defaults::oncall_refresh(),
        }
    }

    /// Whether shifts are read from `source`.
    pub fn uses(&self, source: OncallSource) -> bool {
        if self.source.is_empty() {
            source == OncallSource::Calendar
        } else {
            self.source.contains(&source)
        }
    }

    /// The PagerDuty feed whose on-call entries are read (`feed`, or the only one).
    pub fn pagerduty_feed<'a>(&self, feeds: &'a [FeedConfig]) -> Option<&'a FeedConfig> {
        let mut pagerduty = feeds.iter().filter(|f| f.kind == FeedKind::Pagerduty);
        match &self.feed {
            Some(name) => pagerduty.find(|f| f.name.as_deref() == Some(name.as_str())),
            None => {
                let first = pagerduty.next();
                match pagerduty.next() {
                    Some(_) => None,
                    None => first,
                }
            }
        }
    }

    /// What the sources need: a calendar for `calendar`, exactly one PagerDuty feed for
    /// `pagerduty`, and nothing given that no source reads.
    pub(super) fn check(&self, feeds: &[FeedConfig]) -> Result<(), String> {
        let calendar = self.uses(OncallSource::Calendar);
        let pagerduty = self.uses(OncallSource::Pagerduty);
        if calendar && self.calendar.is_none() {
            return Err(if self.source.is_empty() {
                "`oncall.calendar` is missing: give an iCal URL or file, or \
                 `source = \"pagerduty\"` to read PagerDuty's on-call list"
                    .to_owned()
            } else {
                "`oncall.source` includes \"calendar\" but `oncall.calendar` is missing".to_owned()
            });
        }
        if !calendar && self.calendar.is_some() {
            return Err(
                "`oncall.calendar` is given but `oncall.source` does not include \"calendar\"; \
                 add it (`source = [\"calendar\", \"pagerduty\"]`) or remove the calendar"
                    .to_owned(),
            );
        }
        if !pagerduty && self.feed.is_some() {
            return Err(
                "`oncall.feed` is given but `oncall.source` does not include \"pagerduty\""
                    .to_owned(),
            );
        }
        if pagerduty && self.pagerduty_feed(feeds).is_none() {
            let names: Vec<String> = feeds
                .iter()
                .filter(|f| f.kind == FeedKind::Pagerduty)
                .map(|f| format!("{:?}", f.name.as_deref().unwrap_or("pagerduty")))
                .collect();
            return Err(match (&self.feed, names.len()) {
                (_, 0) => "`oncall.source` includes \"pagerduty\" but no `[[feeds]]` entry has \
                           `kind = \"pagerduty\"`: add one with the REST `url` and `token`"
                    .to_owned(),
                (Some(name), _) => format!(
                    "`oncall.feed`: no PagerDuty feed is called {name:?} (there are {})",
                    names.join(", ")
                ),
                (None, _) => format!(
                    "`oncall.source` includes \"pagerduty\" and there are {} PagerDuty feeds \
                     ({}): name one with `oncall.feed`",
                    names.len(),
                    names.join(", ")
                ),
            });
        }
        Ok(())
    }
}

fn first_level() -> u32 {
    1
}

fn level<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n == 0 {
        return Err(serde::de::Error::custom(
            "`escalation_level` starts at 1 (the first person paged)",
        ));
    }
    Ok(n)
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OncallSource>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(OncallSource),
        Many(Vec<OncallSource>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(vec![s]),
        Ok(OneOrMany::Many(list)) if list.is_empty() => Err(serde::de::Error::custom(
            "`source` must name \"calendar\", \"pagerduty\" or both",
        )),
        Ok(OneOrMany::Many(list)) => Ok(list),
        Err(_) => Err(serde::de::Error::custom(
            "`source` is \"calendar\", \"pagerduty\", or a list of both",
        )),
    }
}
