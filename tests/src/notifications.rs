//! Notifications the app sent, as dunst saw them: `dunstctl history` (JSON) merged with what the
//! recorder script (run by dunst for every notification it shows) wrote down.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// One desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// dunst's id for it (also the id returned to the sender by `Notify`).
    pub id: i64,
    /// `app_name` given to `Notify`.
    pub appname: String,
    pub summary: String,
    /// Raw body, markup included.
    pub body: String,
    /// `LOW`, `NORMAL` or `CRITICAL`; `None` if the recorder has not written it (yet).
    pub urgency: Option<String>,
    /// `category` hint, empty if none.
    pub category: String,
    /// `true` once dunst moved it to its history (closed or timed out).
    pub in_history: bool,
}

/// Shell script dunst runs for each notification it displays (a catch-all rule's `script`);
/// it writes each field to `<dir>/<id>/<field>`.
pub(crate) fn recorder_script(record_dir: &Path) -> String {
    let dir = record_dir.display();
    format!(
        "#!/bin/sh\n\
         d=\"{dir}/$DUNST_ID\"\n\
         mkdir -p \"$d\"\n\
         printf '%s' \"$DUNST_APP_NAME\" > \"$d/appname\"\n\
         printf '%s' \"$DUNST_SUMMARY\" > \"$d/summary\"\n\
         printf '%s' \"$DUNST_BODY\" > \"$d/body\"\n\
         printf '%s' \"$DUNST_CATEGORY\" > \"$d/category\"\n\
         printf '%s' \"$DUNST_URGENCY\" > \"$d/urgency.tmp\" && mv \"$d/urgency.tmp\" \"$d/urgency\"\n"
    )
}

/// Parses `dunstctl history` output (`{"type":"aa{sv}","data":[[{...}, ...]]}`).
pub(crate) fn parse_history(json: &str) -> Result<Vec<Notification>> {
    let v: Value = serde_json::from_str(json).context("dunstctl history is not JSON")?;
    let entries = v
        .get("data")
        .and_then(|d| d.get(0))
        .and_then(Value::as_array)
        .context("dunstctl history JSON has no data[0] array")?;
    let field = |e: &Value, k: &str| -> Option<Value> { e.get(k)?.get("data").cloned() };
    let text = |e: &Value, k: &str| field(e, k).and_then(|v| v.as_str().map(str::to_owned));
    entries
        .iter()
        .map(|e| {
            Ok(Notification {
                id: field(e, "id")
                    .and_then(|v| v.as_i64())
                    .context("history entry without id")?,
                appname: text(e, "appname").unwrap_or_default(),
                summary: text(e, "summary").unwrap_or_default(),
                body: text(e, "body").unwrap_or_default(),
                urgency: text(e, "urgency"),
                category: text(e, "category").unwrap_or_default(),
                in_history: true,
            })
        })
        .collect()
}

/// Reads what the recorder script wrote: id -> notification.
pub(crate) fn read_records(record_dir: &Path) -> BTreeMap<i64, Notification> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(record_dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i64>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        // urgency is written last (atomically): without it the record is still being written.
        let Some(urgency) = read("urgency") else {
            continue;
        };
        out.insert(
            id,
            Notification {
                id,
                appname: read("appname").unwrap_or_default(),
                summary: read("summary").unwrap_or_default(),
                body: read("body").unwrap_or_default(),
                urgency: Some(urgency),
                category: read("category").unwrap_or_default(),
                in_history: false,
            },
        );
    }
    out
}

/// History entries enriched with recorded urgency, plus recorded ones still on screen; by id.
pub(crate) fn merge(
    history: Vec<Notification>,
    mut records: BTreeMap<i64, Notification>,
) -> Vec<Notification> {
    let mut out: BTreeMap<i64, Notification> = BTreeMap::new();
    for mut n in history {
        if let Some(rec) = records.remove(&n.id) {
            if n.urgency.is_none() {
                n.urgency = rec.urgency;
            }
        }
        out.insert(n.id, n);
    }
    for (id, rec) in records {
        out.entry(id).or_insert(rec);
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dunst_history_json() -> Result<()> {
        let json = r#"{"type":"aa{sv}","data":[[{"body":{"type":"s","data":"b <b>x</b>"},
            "summary":{"type":"s","data":"Hello"},"appname":{"type":"s","data":"myapp"},
            "category":{"type":"s","data":""},"id":{"type":"i","data":2}}]]}"#;
        let n = parse_history(json)?;
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].id, 2);
        assert_eq!(n[0].summary, "Hello");
        assert_eq!(n[0].body, "b <b>x</b>");
        assert_eq!(n[0].appname, "myapp");
        assert!(n[0].in_history);
        Ok(())
    }

    #[test]
    fn merge_prefers_history_and_keeps_displayed() {
        let hist = vec![Notification {
            id: 1,
            appname: "a".into(),
            summary: "s".into(),
            body: String::new(),
            urgency: None,
            category: String::new(),
            in_history: true,
        }];
        let mut rec = BTreeMap::new();
        for id in [1, 2] {
            rec.insert(
                id,
                Notification {
                    id,
                    appname: "a".into(),
                    summary: format!("r{id}"),
                    body: String::new(),
                    urgency: Some("CRITICAL".into()),
                    category: String::new(),
                    in_history: false,
                },
            );
        }
        let m = merge(hist, rec);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].summary, "s");
        assert_eq!(m[0].urgency.as_deref(), Some("CRITICAL"));
        assert!(m[0].in_history);
        assert_eq!(m[1].summary, "r2");
        assert!(!m[1].in_history);
    }
}
