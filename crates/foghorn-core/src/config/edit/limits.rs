//! The bounds the configuration loader puts on what the monitor editor offers, served to the
//! window so its early checks (Save stays off, a hint under the field) use the loader's own
//! numbers instead of a copy that drifts. The loader still has the last word on save.

use std::time::Duration;

use serde::Serialize;
use ts_rs::TS;

use crate::config::durations::{
    written, MAX_HEARTBEAT, MAX_INTERVAL, MAX_TIMEOUT, MIN_HEARTBEAT, MIN_INTERVAL, MIN_TIMEOUT,
};
use crate::config::{METHODS, MIN_THRESHOLD};

/// What the monitor editor may offer and accept, as the loader would.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EditorLimits {
    pub interval: DurationLimits,
    pub timeout: DurationLimits,
    pub heartbeat: DurationLimits,
    /// The least `failure_threshold` and `success_threshold` may be.
    pub min_threshold: u32,
    /// The HTTP methods, upper case, in the order the editor lists them.
    pub methods: Vec<String>,
}

/// A duration's bounds, in milliseconds (fractions for the nanosecond minimum a timeout has)
/// and as the configuration writes them (`"1s"`, `"1d"`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DurationLimits {
    pub min_ms: f64,
    pub max_ms: f64,
    pub min: String,
    pub max: String,
}

impl DurationLimits {
    fn new(min: Duration, max: Duration) -> Self {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Self {
            min_ms: ms(min),
            max_ms: ms(max),
            // `written` rounds to milliseconds; a timeout's least is a nanosecond.
            min: if min < Duration::from_millis(1) {
                format!("{}ns", min.as_nanos())
            } else {
                written(min)
            },
            max: written(max),
        }
    }
}

impl EditorLimits {
    pub fn get() -> Self {
        Self {
            interval: DurationLimits::new(MIN_INTERVAL, MAX_INTERVAL),
            timeout: DurationLimits::new(MIN_TIMEOUT, MAX_TIMEOUT),
            heartbeat: DurationLimits::new(MIN_HEARTBEAT, MAX_HEARTBEAT),
            min_threshold: MIN_THRESHOLD,
            methods: METHODS.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::edit::{upsert_monitor, EditError, MonitorDraft};

    fn save(draft: MonitorDraft) -> Result<(), EditError> {
        upsert_monitor("", Path::new("foghorn.toml"), None, &draft).map(drop)
    }

    fn draft() -> MonitorDraft {
        MonitorDraft {
            name: "api".into(),
            url: "http://127.0.0.1:9/".into(),
            ..MonitorDraft::default()
        }
    }

    /// The limits the window is given are the loader's: each bound is accepted and a step
    /// past it is refused, on the field it names.
    #[test]
    fn the_limits_are_the_loaders() {
        let limits = EditorLimits::get();
        type Set = fn(&mut MonitorDraft, String);
        let cases: [(&str, &DurationLimits, Set); 3] = [
            ("interval", &limits.interval, |d, v| d.interval = v),
            ("timeout", &limits.timeout, |d, v| d.timeout = v),
            ("heartbeat", &limits.heartbeat, |d, v| {
                d.url = String::new();
                d.heartbeat = Some(v);
            }),
        ];
        for (field, bounds, set) in cases {
            // A nanosecond below the (small) minimum; a millisecond past the maximum, which
            // in nanoseconds would be past what an f64 counts exactly.
            let ns = |m: f64| format!("{}ns", (m * 1e6).round());
            for (value, ok) in [
                (bounds.min.clone(), true),
                (bounds.max.clone(), true),
                (ns(bounds.min_ms), true),
                (ns(bounds.min_ms - 1e-6), false),
                (format!("{}ms", bounds.max_ms + 1.0), false),
            ] {
                let mut d = draft();
                set(&mut d, value.clone());
                match save(d) {
                    Ok(()) => assert!(ok, "{field} = {value:?} was accepted"),
                    Err(e) => {
                        assert!(!ok, "{field} = {value:?}: {e}");
                        assert_eq!(e.field(), Some(field), "{e}");
                    }
                }
            }
        }
        let mut d = draft();
        d.failure_threshold = limits.min_threshold;
        save(d).expect("the least threshold");
        let mut d = draft();
        d.failure_threshold = limits.min_threshold - 1;
        assert_eq!(
            save(d).expect_err("below").field(),
            Some("failure_threshold")
        );
        for method in &limits.methods {
            let mut d = draft();
            d.method = method.clone();
            save(d).unwrap_or_else(|e| panic!("{method}: {e}"));
        }
    }
}
