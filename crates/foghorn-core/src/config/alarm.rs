//! `[alarm]`: the loud alarm on the laptop of whoever is on call. What the alarm makes of
//! it is `crate::alarm`'s (`AlarmSettings`), so this file knows nothing of sound.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{checked, defaults, durations};

/// The loud alarm on the laptop of whoever is on call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmConfig {
    /// 0 to 1.
    #[serde(
        default = "defaults::alarm_volume",
        deserialize_with = "checked::volume"
    )]
    pub volume: f32,
    /// Ringing this long without an acknowledgement switches to the urgent sound.
    #[serde(
        default = "defaults::escalate_after",
        deserialize_with = "durations::escalate_after"
    )]
    pub escalate_after: Duration,
    /// 0 to 1; the urgent sound's volume.
    #[serde(
        default = "defaults::escalated_volume",
        deserialize_with = "checked::volume"
    )]
    pub escalated_volume: f32,
    /// A sound file of the user's own (WAV, FLAC, Ogg Vorbis or MP3) for the first stage.
    /// `~/` is the home directory; a relative path is relative to the configuration file.
    /// `Config::parse` resolves it and checks that it exists.
    #[serde(default)]
    pub sound: Option<toml::Spanned<PathBuf>>,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        Self {
            volume: defaults::alarm_volume(),
            escalate_after: defaults::escalate_after(),
            escalated_volume: defaults::escalated_volume(),
            sound: None,
        }
    }
}
