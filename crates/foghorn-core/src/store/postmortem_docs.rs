//! Postmortems as the window edits them: the document, the incidents it covers, and its
//! revisions. The text a user typed is saved on every autosave; revisions are the moments
//! worth going back to, so typing for an hour leaves one "edited" revision rather than
//! three thousand.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use time::OffsetDateTime;

use super::postmortem::time_at;
use super::{Result, Store, StoreError};
use crate::time_fmt::rfc3339;

/// Saves closer together than this extend the same "edited" revision.
pub const EDIT_SESSION: time::Duration = time::Duration::minutes(10);

/// One postmortem as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemDoc {
    pub id: i64,
    /// The incidents it covers, oldest first.
    pub incident_ids: Vec<i64>,
    pub time_zone: String,
    /// The outage's first day in `time_zone` (`YYYY-MM-DD`), if it had one.
    pub day: Option<String>,
    pub body: String,
    pub updated_at: OffsetDateTime,
}

/// A revision, without its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionRow {
    pub id: i64,
    pub reason: String,
    pub started_at: OffsetDateTime,
    pub saved_at: OffsetDateTime,
    pub chars: u64,
}

/// A new document, or one drafted again from the evidence.
#[derive(Debug, Clone)]
pub struct NewText {
    pub incident_ids: Vec<i64>,
    pub time_zone: String,
    pub day: Option<String>,
    pub body: String,
    /// Why this revision exists: `drafted`, `linked #N`, `redrafted`, `restored`.
    pub reason: String,
}

impl Store {
    /// The postmortem that covers `incident`, if one does.
    pub fn postmortem_of_incident(&self, incident: i64) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT postmortem_id FROM postmortem_incidents WHERE incident_id = ?1",
                [incident],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    pub fn postmortem_doc(&self, id: i64) -> Result<PostmortemDoc> {
        self.read(|c| doc(c, id))
    }

    /// Every postmortem, newest first, with the incidents each covers.
    pub fn postmortem_docs(&self) -> Result<Vec<PostmortemDoc>> {
        self.read(|c| {
            let ids = c
                .prepare("SELECT id FROM postmortems ORDER BY id DESC")?
                .query_map([], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ids.into_iter().map(|id| doc(c, id)).collect()
        })
    }

    /// Stores a new postmortem covering `text.incident_ids`, with its first revision. An
    /// incident another postmortem already covers is refused: one outage, one document.
    pub async fn create_postmortem(&self, text: NewText, now: OffsetDateTime) -> Result<i64> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO postmortems(time_zone, day, body, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![text.time_zone, text.day, text.body, rfc3339(now)],
            )?;
            let id = tx.last_insert_rowid();
            cover(tx, id, &text.incident_ids)?;
            revision(tx, id, &text.reason, &text.body, now)?;
            Ok(id)
        })
        .await
    }

    /// Replaces the text and the incidents covered (a redraft, a link, a restore) and keeps
    /// the new text as a revision; the text it replaces is already the latest revision.
    pub async fn replace_postmortem(
        &self,
        id: i64,
        text: NewText,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE postmortems SET time_zone = ?2, day = ?3, body = ?4, updated_at = ?5 \
                 WHERE id = ?1",
                params![id, text.time_zone, text.day, text.body, rfc3339(now)],
            )?;
            if changed == 0 {
                return Err(StoreError::NoSuchPostmortem(id));
            }
            tx.execute(
                "DELETE FROM postmortem_incidents WHERE postmortem_id = ?1",
                [id],
            )?;
            cover(tx, id, &text.incident_ids)?;
            revision(tx, id, &text.reason, &text.body, now)
        })
        .await
    }

    /// An autosave: the text as typed. It extends the latest revision when that one is an
    /// edit begun less than [`EDIT_SESSION`] ago, else starts a new "edited" revision.
    pub async fn save_postmortem(&self, id: i64, body: String, now: OffsetDateTime) -> Result<()> {
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE postmortems SET body = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, body, rfc3339(now)],
            )?;
            if changed == 0 {
                return Err(StoreError::NoSuchPostmortem(id));
            }
            let latest: Option<(i64, String, String)> = tx
                .query_row(
                    "SELECT id, reason, started_at FROM postmortem_revisions \
                     WHERE postmortem_id = ?1 ORDER BY id DESC LIMIT 1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let session = latest.and_then(|(rev, reason, started)| {
                let started = crate::time_fmt::parse_rfc3339(&started)?;
                (reason == "edited" && now - started < EDIT_SESSION).then_some(rev)
            });
            match session {
                Some(rev) => {
                    tx.execute(
                        "UPDATE postmortem_revisions SET body = ?2, saved_at = ?3 WHERE id = ?1",
                        params![rev, body, rfc3339(now)],
                    )?;
                    Ok(())
                }
                None => revision(tx, id, "edited", &body, now),
            }
        })
        .await
    }

    /// The revisions of postmortem `id`, newest first.
    pub fn postmortem_revisions(&self, id: i64) -> Result<Vec<RevisionRow>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, reason, started_at, saved_at, length(body) FROM postmortem_revisions \
                 WHERE postmortem_id = ?1 ORDER BY id DESC",
            )?;
            let rows = stmt
                .query_map([id], |r| {
                    Ok(RevisionRow {
                        id: r.get(0)?,
                        reason: r.get(1)?,
                        started_at: time_at(r, 2)?,
                        saved_at: time_at(r, 3)?,
                        chars: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The text of revision `rev` of postmortem `id`.
    pub fn postmortem_revision(&self, id: i64, rev: i64) -> Result<(RevisionRow, String)> {
        self.read(|c| {
            c.query_row(
                "SELECT id, reason, started_at, saved_at, length(body), body \
                 FROM postmortem_revisions WHERE postmortem_id = ?1 AND id = ?2",
                [id, rev],
                |r| {
                    Ok((
                        RevisionRow {
                            id: r.get(0)?,
                            reason: r.get(1)?,
                            started_at: time_at(r, 2)?,
                            saved_at: time_at(r, 3)?,
                            chars: r.get(4)?,
                        },
                        r.get(5)?,
                    ))
                },
            )
            .optional()?
            .ok_or(StoreError::NoSuchRevision {
                postmortem: id,
                revision: rev,
            })
        })
    }
}

fn doc(c: &Connection, id: i64) -> Result<PostmortemDoc> {
    let found = c
        .query_row(
            "SELECT time_zone, day, body, updated_at FROM postmortems WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    time_at(r, 3)?,
                ))
            },
        )
        .optional()?;
    let Some((time_zone, day, body, updated_at)) = found else {
        return Err(StoreError::NoSuchPostmortem(id));
    };
    let incident_ids = c
        .prepare(
            "SELECT incident_id FROM postmortem_incidents WHERE postmortem_id = ?1 \
             ORDER BY incident_id",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(PostmortemDoc {
        id,
        incident_ids,
        time_zone,
        day,
        body,
        updated_at,
    })
}

/// Records that postmortem `id` covers `incidents`, refusing one another postmortem covers.
fn cover(tx: &Transaction<'_>, id: i64, incidents: &[i64]) -> Result<()> {
    for &incident in incidents {
        let exists: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM incidents WHERE id = ?1)",
            [incident],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NoSuchIncident(incident));
        }
        let other: Option<i64> = tx
            .query_row(
                "SELECT postmortem_id FROM postmortem_incidents WHERE incident_id = ?1",
                [incident],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = other.filter(|o| *o != id) {
            return Err(StoreError::IncidentInPostmortem {
                incident,
                postmortem: other,
            });
        }
        tx.execute(
            "INSERT OR IGNORE INTO postmortem_incidents(postmortem_id, incident_id) VALUES (?1, ?2)",
            [id, incident],
        )?;
    }
    Ok(())
}

fn revision(
    tx: &Transaction<'_>,
    id: i64,
    reason: &str,
    body: &str,
    now: OffsetDateTime,
) -> Result<()> {
    tx.execute(
        "INSERT INTO postmortem_revisions(postmortem_id, reason, body, started_at, saved_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![id, reason, body, rfc3339(now)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_incidents(n: usize) -> Store {
        let store = Store::in_memory().expect("store");
        store
            .write(move |tx| {
                for i in 0..n {
                    tx.execute(
                        "INSERT INTO incidents(dedup_key, title, severity, state, opened_at) \
                         VALUES (?1, ?1, 'critical', 'resolved', '2026-11-02T10:00:00Z')",
                        [format!("outage {i}")],
                    )?;
                }
                Ok(())
            })
            .await
            .expect("incidents");
        store
    }

    fn text(ids: &[i64], body: &str, reason: &str) -> NewText {
        NewText {
            incident_ids: ids.to_vec(),
            time_zone: "UTC".into(),
            day: Some("2026-11-02".into()),
            body: body.into(),
            reason: reason.into(),
        }
    }

    fn at(minutes: i64) -> OffsetDateTime {
        time::macros::datetime!(2026-11-03 09:00 UTC) + time::Duration::minutes(minutes)
    }

    #[tokio::test]
    async fn typing_for_a_while_is_one_revision_and_a_pause_starts_another() {
        let store = store_with_incidents(1).await;
        let id = store
            .create_postmortem(text(&[1], "draft", "drafted"), at(0))
            .await
            .expect("create");
        for (minute, body) in [(1, "d"), (2, "dr"), (5, "dra")] {
            store
                .save_postmortem(id, body.into(), at(minute))
                .await
                .expect("save");
        }
        store
            .save_postmortem(id, "draft, later".into(), at(30))
            .await
            .expect("save");
        let revs = store.postmortem_revisions(id).expect("revisions");
        let reasons: Vec<&str> = revs.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["edited", "edited", "drafted"]);
        let (_, first_edit) = store.postmortem_revision(id, revs[1].id).expect("text");
        assert_eq!(first_edit, "dra", "the session keeps its last text");
        assert_eq!(store.postmortem_doc(id).expect("doc").body, "draft, later");
    }

    #[tokio::test]
    async fn an_incident_belongs_to_one_postmortem() {
        let store = store_with_incidents(3).await;
        let first = store
            .create_postmortem(text(&[1, 2], "a", "drafted"), at(0))
            .await
            .expect("first");
        let err = store
            .create_postmortem(text(&[3, 2], "b", "drafted"), at(1))
            .await
            .expect_err("2 is taken");
        assert!(
            matches!(err, StoreError::IncidentInPostmortem { incident: 2, postmortem } if postmortem == first),
            "{err}"
        );
        assert_eq!(
            store.postmortem_of_incident(3).expect("read"),
            None,
            "rolled back"
        );
        store
            .replace_postmortem(first, text(&[1, 2, 3], "abc", "linked #3"), at(2))
            .await
            .expect("link");
        assert_eq!(
            store.postmortem_doc(first).expect("doc").incident_ids,
            [1, 2, 3]
        );
        assert_eq!(store.postmortem_of_incident(3).expect("read"), Some(first));
    }
}
