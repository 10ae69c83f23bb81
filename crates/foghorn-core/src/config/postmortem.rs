//! `[postmortem]`: a team's own postmortem format and the time zone its readers live in (see
//! [`crate::postmortem`]).

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

/// How postmortems are drafted. Without the section: the built-in template, times in the
/// `[status]` time zone (else this computer's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmortemConfig {
    /// A minijinja Markdown template in place of the built-in one (relative to the
    /// configuration file).
    #[serde(default)]
    pub template: Option<PathBuf>,
    /// An IANA time zone ("Europe/Berlin") the document's times are written in.
    #[serde(default, deserialize_with = "time_zone")]
    pub time_zone: Option<String>,
}

fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    name.parse::<chrono_tz::Tz>().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone {name:?}; write an IANA name such as \"Europe/Berlin\" or \"UTC\""
        ))
    })?;
    Ok(Some(name))
}
