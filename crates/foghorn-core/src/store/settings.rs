//! Small persisted settings: mute and pause survive a restart; the on-call schedule's last
//! good copy (calendar and PagerDuty) and the manual on-call override too; the heartbeat token generated when none is
//! configured.

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::{Result, Store, StoreError};
use crate::mute::Mute;
use crate::oncall::CachedCalendar;
use time::OffsetDateTime;

const MUTE: &str = "mute";
const PAUSED: &str = "paused";
const ONCALL_CACHE: &str = "oncall.calendar";
const ONCALL_PAGERDUTY: &str = "oncall.pagerduty";
const ONCALL_OVERRIDE: &str = "oncall.override_until";
const HEARTBEAT_TOKEN: &str = "heartbeats.token";
const LETTER_DRAFT: &str = "letter.draft";

fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

fn set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

impl Store {
    /// The customer letter being written in the window (JSON), kept as it is typed.
    pub fn letter_draft(&self) -> Result<Option<String>> {
        self.read(|c| get(c, LETTER_DRAFT))
    }

    pub async fn set_letter_draft(&self, json: String) -> Result<()> {
        self.write(move |tx| set(tx, LETTER_DRAFT, &json)).await
    }

    pub fn mute(&self) -> Result<Mute> {
        self.read(|c| match get(c, MUTE)? {
            None => Ok(Mute::Off),
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("setting {MUTE}: {e}"))),
        })
    }

    pub async fn set_mute(&self, mute: Mute) -> Result<()> {
        let json = serde_json::to_string(&mute)
            .map_err(|e| StoreError::Corrupt(format!("setting {MUTE}: {e}")))?;
        self.write(move |tx| set(tx, MUTE, &json)).await
    }

    pub fn paused(&self) -> Result<bool> {
        self.read(|c| Ok(get(c, PAUSED)?.as_deref() == Some("true")))
    }

    pub async fn set_paused(&self, paused: bool) -> Result<()> {
        self.write(move |tx| set(tx, PAUSED, if paused { "true" } else { "false" }))
            .await
    }

    /// The last good copy of the on-call calendar.
    pub fn oncall_cache(&self) -> Result<Option<CachedCalendar>> {
        self.read(|c| match get(c, ONCALL_CACHE)? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("setting {ONCALL_CACHE}: {e}"))),
        })
    }

    pub async fn set_oncall_cache(&self, cache: &CachedCalendar) -> Result<()> {
        let json = serde_json::to_string(cache)
            .map_err(|e| StoreError::Corrupt(format!("setting {ONCALL_CACHE}: {e}")))?;
        self.write(move |tx| set(tx, ONCALL_CACHE, &json)).await
    }

    /// The last good read of PagerDuty's on-call list (JSON, written and read by `oncall`).
    pub fn oncall_pagerduty_copy(&self) -> Result<Option<String>> {
        self.read(|c| get(c, ONCALL_PAGERDUTY))
    }

    pub async fn set_oncall_pagerduty_copy(&self, json: String) -> Result<()> {
        self.write(move |tx| set(tx, ONCALL_PAGERDUTY, &json)).await
    }

    /// "I'm on call until …", whatever the schedule says; `None` when not set.
    pub fn oncall_override(&self) -> Result<Option<OffsetDateTime>> {
        self.read(|c| match get(c, ONCALL_OVERRIDE)? {
            None => Ok(None),
            Some(text) => crate::time_fmt::parse_rfc3339(&text)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt(format!("setting {ONCALL_OVERRIDE}: {text:?}"))),
        })
    }

    pub async fn set_oncall_override(&self, until: Option<OffsetDateTime>) -> Result<()> {
        self.write(move |tx| match until {
            Some(t) => set(tx, ONCALL_OVERRIDE, &crate::time_fmt::rfc3339(t)),
            None => {
                tx.execute("DELETE FROM settings WHERE key = ?1", [ONCALL_OVERRIDE])?;
                Ok(())
            }
        })
        .await
    }

    /// The heartbeat listener's token when `[heartbeats] token` is not set: generated the first
    /// time it is asked for (by the app or the CLI, in one transaction so both get the same
    /// one) and kept, so the jobs' curl lines keep working across restarts.
    pub async fn heartbeat_token(&self) -> Result<String> {
        self.write(|tx| {
            if let Some(token) = get(tx, HEARTBEAT_TOKEN)? {
                return Ok(token);
            }
            let token = hex::encode(rand::random::<[u8; 24]>());
            set(tx, HEARTBEAT_TOKEN, &token)?;
            Ok(token)
        })
        .await
    }

    /// Monitors paused one by one.
    pub fn paused_monitors(&self) -> Result<std::collections::HashSet<String>> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT monitor_id FROM monitor_paused")?;
            let ids = stmt.query_map([], |r| r.get(0))?;
            Ok(ids.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub async fn set_monitor_paused(&self, monitor_id: &str, paused: bool) -> Result<()> {
        let id = monitor_id.to_owned();
        self.write(move |tx| {
            if paused {
                tx.execute(
                    "INSERT OR IGNORE INTO monitor_paused(monitor_id) VALUES (?1)",
                    [&id],
                )?;
            } else {
                tx.execute("DELETE FROM monitor_paused WHERE monitor_id = ?1", [&id])?;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn mute_and_pause_round_trip() {
        let store = Store::in_memory().expect("open");
        assert_eq!(store.mute().expect("mute"), Mute::Off);
        let m = Mute::Until {
            until: datetime!(2026-05-01 10:00 UTC),
        };
        store.set_mute(m).await.expect("set");
        assert_eq!(store.mute().expect("mute"), m);
        assert!(!store.paused().expect("paused"));
        store.set_paused(true).await.expect("set");
        assert!(store.paused().expect("paused"));
        store
            .set_monitor_paused("api", true)
            .await
            .expect("pause one");
        store
            .set_monitor_paused("api", true)
            .await
            .expect("twice is fine");
        assert!(store.paused_monitors().expect("read").contains("api"));
        store
            .set_monitor_paused("api", false)
            .await
            .expect("resume");
        assert!(store.paused_monitors().expect("read").is_empty());
    }

    #[tokio::test]
    async fn the_heartbeat_token_is_made_once_and_kept() {
        let store = Store::in_memory().expect("open");
        let first = store.heartbeat_token().await.expect("made");
        assert_eq!(first.len(), 48, "{first}");
        assert_eq!(store.heartbeat_token().await.expect("kept"), first);
        let other = Store::in_memory().expect("open");
        assert_ne!(other.heartbeat_token().await.expect("made"), first);
    }

    #[tokio::test]
    async fn oncall_cache_and_override_round_trip() {
        let store = Store::in_memory().expect("open");
        assert_eq!(store.oncall_cache().expect("read"), None);
        assert_eq!(store.oncall_override().expect("read"), None);
        let cache = CachedCalendar {
            calendar: "https://example.com/oncall.ics".to_owned(),
            body: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_owned(),
            etag: Some("\"v1\"".to_owned()),
            last_modified: None,
            fetched_at: datetime!(2026-11-26 10:00 UTC),
        };
        store.set_oncall_cache(&cache).await.expect("set");
        assert_eq!(store.oncall_cache().expect("read"), Some(cache));
        let until = datetime!(2026-11-26 18:00 UTC);
        store.set_oncall_override(Some(until)).await.expect("set");
        assert_eq!(store.oncall_override().expect("read"), Some(until));
        store.set_oncall_override(None).await.expect("clear");
        assert_eq!(store.oncall_override().expect("read"), None);
    }
}
