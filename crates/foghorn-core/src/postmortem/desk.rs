//! The postmortem as the window works on it: drafted from the evidence the first time an
//! incident's postmortem is opened, then edited as Markdown and autosaved, with revisions to
//! go back to. Linking another incident (a week of ups and downs is one outage) drafts the
//! document again from all of them; the text it replaces stays a revision, so nothing typed
//! is lost. A save whose timeline goes back in time is refused ([`super::order`]).

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;
use ts_rs::TS;

use std::path::{Path, PathBuf};

use super::charts::Chart;
use super::order::check_timeline;
use super::{draft_configured, gather, html, PostmortemError};
use crate::config::Config;
use crate::store::{NewText, PostmortemDoc, RevisionRow, Store, StoreError};

/// The configuration as the file says now, read at each use: a template or time zone edited
/// in the file needs no restart.
pub type ConfigSource = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// How many recent incidents the window offers to link.
const CANDIDATES: usize = 30;

/// An incident as the editor lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct IncidentRef {
    #[ts(type = "number")]
    pub id: i64,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub opened_at: OffsetDateTime,
    /// The postmortem that covers it, if one does.
    #[ts(type = "number | null")]
    pub postmortem: Option<i64>,
}

/// A postmortem open in the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PostmortemView {
    #[ts(type = "number")]
    pub id: i64,
    /// The incidents it covers, oldest first.
    pub incidents: Vec<IncidentRef>,
    /// Recent incidents it does not cover, newest first: what can be linked.
    pub candidates: Vec<IncidentRef>,
    pub body: String,
    pub time_zone: String,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub updated_at: OffsetDateTime,
    pub revisions: Vec<RevisionView>,
}

/// A revision in the history list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RevisionView {
    #[ts(type = "number")]
    pub id: i64,
    /// `drafted`, `edited`, `linked #N`, `redrafted`, `restored from …`.
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub saved_at: OffsetDateTime,
    #[ts(type = "number")]
    pub chars: u64,
}

/// One revision's text, to read before restoring it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RevisionText {
    pub revision: RevisionView,
    pub body: String,
    /// The same, rendered.
    pub html: String,
}

/// What an autosave answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PostmortemSaved {
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub updated_at: OffsetDateTime,
    pub revisions: Vec<RevisionView>,
}

impl From<RevisionRow> for RevisionView {
    fn from(r: RevisionRow) -> Self {
        RevisionView {
            id: r.id,
            reason: r.reason,
            started_at: r.started_at,
            saved_at: r.saved_at,
            chars: r.chars,
        }
    }
}

/// The editor's side in the core; the shell's commands are one line each over it.
#[derive(Clone)]
pub struct PostmortemDesk {
    store: Store,
    config: ConfigSource,
}

impl std::fmt::Debug for PostmortemDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostmortemDesk").finish_non_exhaustive()
    }
}

impl PostmortemDesk {
    pub fn new(store: Store, config: ConfigSource) -> Self {
        PostmortemDesk { store, config }
    }

    fn config(&self) -> Result<Config, PostmortemError> {
        (self.config)().map_err(PostmortemError::Config)
    }

    /// The postmortem that covers `incident`, drafted from the evidence if there is none yet.
    pub async fn open(&self, incident: i64) -> Result<PostmortemView, PostmortemError> {
        if let Some(id) = self.store.postmortem_of_incident(incident)? {
            return self.view(id);
        }
        let text = self.drafted(&[incident], "drafted".into())?;
        match self
            .store
            .create_postmortem(text, OffsetDateTime::now_utc())
            .await
        {
            Ok(id) => self.view(id),
            // Opened twice at once: the first one drafted it.
            Err(StoreError::IncidentInPostmortem { postmortem, .. }) => self.view(postmortem),
            Err(e) => Err(e.into()),
        }
    }

    /// Postmortem `id` as it stands.
    pub fn view(&self, id: i64) -> Result<PostmortemView, PostmortemError> {
        let doc = self.store.postmortem_doc(id)?;
        let recent = self
            .store
            .recent_incidents(CANDIDATES + doc.incident_ids.len())?;
        let mut incidents = Vec::new();
        let mut candidates = Vec::new();
        for i in recent {
            let r = IncidentRef {
                id: i.id,
                title: i.title,
                opened_at: i.opened_at,
                postmortem: self.store.postmortem_of_incident(i.id)?,
            };
            if doc.incident_ids.contains(&i.id) {
                incidents.push(r);
            } else if candidates.len() < CANDIDATES {
                candidates.push(r);
            }
        }
        // An incident older than the recent list is still one this document covers.
        for &missing in &doc.incident_ids {
            if !incidents.iter().any(|r| r.id == missing) {
                if let Some(i) = self.store.incident(missing)? {
                    incidents.push(IncidentRef {
                        id: i.id,
                        title: i.title,
                        opened_at: i.opened_at,
                        postmortem: Some(id),
                    });
                }
            }
        }
        incidents.sort_by_key(|r| r.id);
        Ok(PostmortemView {
            id,
            incidents,
            candidates,
            revisions: self.revisions(id)?,
            body: doc.body,
            time_zone: doc.time_zone,
            updated_at: doc.updated_at,
        })
    }

    /// Keeps the text as typed, unless its timeline now goes back in time.
    pub async fn save(&self, id: i64, body: String) -> Result<PostmortemSaved, PostmortemError> {
        let doc = self.store.postmortem_doc(id)?;
        check_timeline(&body, day_of(&doc))?;
        self.store
            .save_postmortem(id, body, OffsetDateTime::now_utc())
            .await?;
        let doc = self.store.postmortem_doc(id)?;
        Ok(PostmortemSaved {
            updated_at: doc.updated_at,
            revisions: self.revisions(id)?,
        })
    }

    /// Adds `incident` to the postmortem and drafts it again from all its incidents.
    pub async fn link(&self, id: i64, incident: i64) -> Result<PostmortemView, PostmortemError> {
        let doc = self.store.postmortem_doc(id)?;
        let mut ids = doc.incident_ids.clone();
        if !ids.contains(&incident) {
            ids.push(incident);
        }
        ids.sort_unstable();
        let text = self.drafted(&ids, format!("linked #{incident}"))?;
        self.store
            .replace_postmortem(id, text, OffsetDateTime::now_utc())
            .await?;
        self.view(id)
    }

    /// Drafts the document again from the evidence (after more checks came in, or a template
    /// changed); the text it replaces stays in the history.
    pub async fn redraft(&self, id: i64) -> Result<PostmortemView, PostmortemError> {
        let doc = self.store.postmortem_doc(id)?;
        let text = self.drafted(&doc.incident_ids, "redrafted".into())?;
        self.store
            .replace_postmortem(id, text, OffsetDateTime::now_utc())
            .await?;
        self.view(id)
    }

    pub fn revisions(&self, id: i64) -> Result<Vec<RevisionView>, PostmortemError> {
        Ok(self
            .store
            .postmortem_revisions(id)?
            .into_iter()
            .map(RevisionView::from)
            .collect())
    }

    pub fn revision(&self, id: i64, rev: i64) -> Result<RevisionText, PostmortemError> {
        let (row, body) = self.store.postmortem_revision(id, rev)?;
        Ok(RevisionText {
            revision: row.into(),
            html: preview(&body),
            body,
        })
    }

    /// Makes revision `rev`'s text the document again (itself a new revision).
    pub async fn restore(&self, id: i64, rev: i64) -> Result<PostmortemView, PostmortemError> {
        let doc = self.store.postmortem_doc(id)?;
        let (row, body) = self.store.postmortem_revision(id, rev)?;
        let when = crate::time_fmt::rfc3339(row.saved_at);
        self.store
            .replace_postmortem(
                id,
                NewText {
                    incident_ids: doc.incident_ids.clone(),
                    time_zone: doc.time_zone.clone(),
                    day: doc.day.clone(),
                    body,
                    reason: format!("restored from {when}"),
                },
                OffsetDateTime::now_utc(),
            )
            .await?;
        self.view(id)
    }

    /// The charts around the outage (availability and latency of its monitors), as the
    /// exports embed them.
    pub fn charts(&self, id: i64) -> Result<Vec<Chart>, PostmortemError> {
        let doc = self.store.postmortem_doc(id)?;
        let config = self.config()?;
        let tz = doc
            .time_zone
            .parse()
            .map_err(|_| PostmortemError::TimeZone(doc.time_zone.clone()))?;
        let evidence = gather(
            &self.store,
            &config,
            &doc.incident_ids,
            OffsetDateTime::now_utc(),
        )?;
        Ok(super::charts::charts(&evidence, tz))
    }

    /// Writes the document as it stands — Markdown, or one self-contained HTML file with the
    /// charts — into `dir` (created if missing), named after its first incident; returns the
    /// file's path. Written to a temporary file and renamed, so a reader never sees half.
    pub fn export(
        &self,
        id: i64,
        format: ExportFormat,
        dir: &Path,
    ) -> Result<PathBuf, PostmortemError> {
        let doc = self.store.postmortem_doc(id)?;
        let (text, ext) = match format {
            ExportFormat::Markdown => (doc.body.clone(), "md"),
            ExportFormat::Html => (html::document(&doc.body, &self.charts(id)?), "html"),
        };
        let first = doc.incident_ids.first().copied().unwrap_or(id);
        let io = |e: std::io::Error| PostmortemError::Export {
            path: dir.to_owned(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(format!("postmortem-incident-{first}.{ext}"));
        let partial = dir.join(format!(".postmortem-incident-{first}.{ext}.partial"));
        std::fs::write(&partial, text).map_err(io)?;
        std::fs::rename(&partial, &path).map_err(io)?;
        Ok(path)
    }

    /// A fresh draft of incidents `ids`, as the configuration asks.
    fn drafted(&self, ids: &[i64], reason: String) -> Result<NewText, PostmortemError> {
        let config = self.config()?;
        let pm = draft_configured(&self.store, &config, ids, None, OffsetDateTime::now_utc())?;
        Ok(NewText {
            incident_ids: ids.to_vec(),
            time_zone: pm.time_zone.name().to_owned(),
            day: pm.day.map(|d| d.format("%Y-%m-%d").to_string()),
            body: pm.markdown,
            reason,
        })
    }
}

/// The Markdown as the preview shows it: tables on, raw HTML shown as text.
pub fn preview(markdown: &str) -> String {
    crate::markdown::fragment(markdown)
}

/// What an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ExportFormat {
    Markdown,
    Html,
}

/// Where the window's exports go: `Foghorn` in the documents folder (the home folder when
/// the system names none).
pub fn export_dir() -> Option<PathBuf> {
    let dirs = directories::UserDirs::new()?;
    Some(
        dirs.document_dir()
            .unwrap_or_else(|| dirs.home_dir())
            .join("Foghorn"),
    )
}

fn day_of(doc: &PostmortemDoc) -> Option<chrono::NaiveDate> {
    doc.day
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two incidents an hour apart, each with a timeline, and a desk over them.
    async fn desk() -> PostmortemDesk {
        let store = Store::in_memory().expect("store");
        store
            .write(|tx| {
                tx.execute_batch(
                    "INSERT INTO incidents(id, dedup_key, title, severity, state, opened_at, resolved_at) VALUES \
                       (1, 'a', 'API down', 'critical', 'resolved', '2026-11-02T10:00:00Z', '2026-11-02T10:20:00Z'), \
                       (2, 'b', 'API down again', 'critical', 'resolved', '2026-11-02T11:00:00Z', '2026-11-02T11:05:00Z'); \
                     INSERT INTO timeline(incident_id, at, kind, actor, detail) VALUES \
                       (1, '2026-11-02T10:00:00Z', 'opened', 'monitor api', 'incident #1 opened'), \
                       (1, '2026-11-02T10:20:00Z', 'resolved', 'monitor api', 'api is back up'), \
                       (2, '2026-11-02T11:00:00Z', 'opened', 'monitor api', 'incident #2 opened'), \
                       (2, '2026-11-02T11:05:00Z', 'resolved', 'monitor api', 'api is back up');",
                )?;
                Ok(())
            })
            .await
            .expect("seed");
        let config: ConfigSource = Arc::new(|| {
            Config::parse(
                "[postmortem]\ntime_zone = \"UTC\"\n",
                std::path::Path::new("foghorn.toml"),
            )
            .map_err(|e| e.to_string())
        });
        PostmortemDesk::new(store, config)
    }

    #[tokio::test]
    async fn opening_drafts_once_then_edits_are_kept_and_out_of_order_times_refused() {
        let desk = desk().await;
        let first = desk.open(1).await.expect("open");
        assert!(first.body.contains("## Timeline (UTC)"), "{}", first.body);
        assert_eq!(
            first.incidents.iter().map(|i| i.id).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(
            first.candidates.iter().map(|i| i.id).collect::<Vec<_>>(),
            [2]
        );

        let edited = first
            .body
            .replace("[What broke, why", "A bad deploy. [What broke, why");
        desk.save(first.id, edited.clone()).await.expect("save");
        let again = desk.open(1).await.expect("open again");
        assert_eq!((again.id, again.body.as_str()), (first.id, edited.as_str()));

        let line = edited
            .lines()
            .find(|l| l.starts_with("- 10:20:00"))
            .expect("the resolution line");
        let wrong = edited.replace(line, &line.replace("10:20:00", "09:59:00"));
        let err = desk.save(first.id, wrong).await.expect_err("out of order");
        assert!(
            err.to_string().contains("says 09:59:00, before 10:00:00"),
            "{err}"
        );
        assert_eq!(
            desk.view(first.id).expect("view").body,
            edited,
            "the refused text is not saved"
        );
    }

    #[tokio::test]
    async fn linking_drafts_from_both_and_the_text_it_replaced_can_be_restored() {
        let desk = desk().await;
        let pm = desk.open(1).await.expect("open");
        let typed = format!("{}\nOur own notes.\n", pm.body);
        desk.save(pm.id, typed.clone()).await.expect("save");
        let linked = desk.link(pm.id, 2).await.expect("link");
        assert_eq!(
            linked.incidents.iter().map(|i| i.id).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(linked.body.contains("incidents #1, #2"), "{}", linked.body);
        let reasons: Vec<&str> = linked.revisions.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["linked #2", "edited", "drafted"]);

        let restored = desk
            .restore(pm.id, linked.revisions[1].id)
            .await
            .expect("restore");
        assert_eq!(restored.body, typed);
        assert!(restored.revisions[0].reason.starts_with("restored from "));
        assert_eq!(
            restored.incidents.len(),
            2,
            "restoring text keeps the links"
        );

        let err = desk
            .open(2)
            .await
            .map(|v| v.id)
            .expect("2 is in the same document");
        assert_eq!(err, pm.id);
    }
}
