//! `[postmortem]`: a team's own postmortem format and the time zone its readers live in (see
//! [`crate::postmortem`]).

use std::path::PathBuf;

use serde::Deserialize;

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
    #[serde(default, deserialize_with = "super::status::optional_time_zone")]
    pub time_zone: Option<String>,
}
