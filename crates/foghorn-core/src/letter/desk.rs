//! The letter from the window: the draft as the founder writes it (kept as it is typed), the
//! letter as each customer will read it, a test to the founder's own address, and sends that
//! run in the background — paused, resumed and cancelled from the window, their progress
//! read from the ledger. The window and `foghorn letter` share the ledger and the letter's
//! key, so either one resumes a letter the other started.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use ts_rs::TS;

use super::compose::{self, Pass};
use super::courier::ByEmail;
use super::credit::SlaFigures;
use super::draft::{markdown_fragment, Draft, DraftError, STARTING_TEMPLATE};
use super::ledger::{self, file_digest, letter_key, SkippedRow};
use super::rate::Rate;
use super::recipients::{self, Filter};
use super::send::{self, Control, Job, Progress};
use super::smtp::Mailer;
use super::{LetterError, Setup};
use crate::config::{Config, IntercomConfig, SmtpConfig};
use crate::secret::SecretSource;
use crate::store::{LetterState, LetterSummary, LetterVia, NewLetter, Store, Undelivered};

/// Skipped rows the preview lists with their line (all are counted).
const SKIPPED_SHOWN: usize = 50;
/// Undelivered recipients a progress report lists (all are counted).
const UNDELIVERED_SHOWN: usize = 200;
/// How long a resume waits for the run it replaces to finish the letters it had in flight.
const SETTLE: Duration = Duration::from_secs(60);

/// The sections a letter goes by: `[smtp]` for email, `[intercom]` for Intercom.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    pub smtp: Option<SmtpConfig>,
    pub intercom: Option<IntercomConfig>,
    /// The whole configuration, for a letter's SLA figures (`[sla]`, the `[status]`
    /// components and monitors its plans measure).
    pub config: Option<Arc<Config>>,
}

impl Sections {
    /// The ways this configuration can send, email first.
    fn vias(&self) -> Vec<LetterVia> {
        let mut vias = Vec::new();
        if self.smtp.is_some() {
            vias.push(LetterVia::Email);
        }
        if self.intercom.is_some() {
            vias.push(LetterVia::Intercom);
        }
        vias
    }
}

/// The sections as the configuration says now: read again on every use, so an edit to the
/// file needs no restart.
pub type SectionsSource = Arc<dyn Fn() -> Result<Sections, String> + Send + Sync>;

/// The letter as the window holds it while it is written: its two parts, the customer list
/// and the filters, each as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct LetterDraft {
    pub subject: String,
    /// The Markdown body, a template filled from each customer's row.
    pub body: String,
    /// The customer list (CSV), a full path or `~/…`; or `intercom`: `[intercom]`'s contacts.
    pub list_path: String,
    /// Comma-separated values of the list's `segment` column; empty: every segment.
    pub segments: String,
    /// Comma-separated values of the `plan` column.
    pub plans: String,
    /// Comma-separated components, any one of which the `components` column lists.
    pub components: String,
    /// How the letter goes; `null`: by email when `[smtp]` is set up, else through Intercom.
    pub via: Option<LetterVia>,
    /// The month (`2026-11`) whose SLA report fills in `{{ credit }}`, `{{ downtime }}` and
    /// the other SLA variables, as the letter file's `sla:` does; empty: none.
    pub sla_month: String,
}

impl Default for LetterDraft {
    /// The starting template, no list yet.
    fn default() -> Self {
        let (subject, body) = match Draft::parse(STARTING_TEMPLATE) {
            Ok(d) => (d.subject, d.body),
            Err(_) => (String::new(), String::new()),
        };
        LetterDraft {
            subject,
            body,
            list_path: String::new(),
            segments: String::new(),
            plans: String::new(),
            components: String::new(),
            via: None,
            sla_month: String::new(),
        }
    }
}

fn values(typed: &str) -> Vec<String> {
    typed
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

impl LetterDraft {
    /// The letter, checked.
    pub fn letter(&self) -> Result<Draft, DraftError> {
        Draft::from_parts(&self.subject, &self.body)?.with_sla_month(&self.sla_month)
    }

    /// The filters, as `foghorn letter send --segment … --plan … --component …` has them.
    pub fn filter(&self) -> Filter {
        Filter {
            segments: values(&self.segments),
            plans: values(&self.plans),
            components: values(&self.components),
        }
    }

    /// The list is `[intercom]`'s contacts rather than a file.
    pub fn from_intercom(&self) -> bool {
        self.list_path.trim().eq_ignore_ascii_case("intercom")
    }

    /// The customer list's file; `None` while no path is written.
    pub fn list(&self) -> Result<Option<PathBuf>, LetterError> {
        let typed = self.list_path.trim();
        if typed.is_empty() {
            return Ok(None);
        }
        let mut path = PathBuf::from(typed);
        if let Ok(rest) = path.strip_prefix("~") {
            if let Some(home) = directories::BaseDirs::new() {
                path = home.home_dir().join(rest);
            }
        }
        if path.is_relative() {
            return Err(LetterError::ListPath(format!(
                "write the file's full path (such as /home/you/customers.csv or ~/customers.csv), not {typed:?}"
            )));
        }
        Ok(Some(path))
    }
}

/// Who the letter is from and how it goes, as the confirm step shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LetterSetup {
    /// How the letter goes.
    pub via: LetterVia,
    /// The ways the configuration can send (`[smtp]`, `[intercom]`), for a choice.
    pub vias: Vec<LetterVia>,
    /// `Alice Smith <alice@example.com>`, or Intercom's admin.
    pub from: String,
    /// Where replies go: the founder's mailbox, never Foghorn.
    pub reply_to: String,
    /// The sender's address, where a test goes unless another is typed.
    pub test_to: String,
    /// `10/s`, `10/s, 2000/h`, `no limit`.
    pub rate: String,
    /// What a careful sender fixes first: no DKIM, an unsubscribe link that is not HTTPS…
    pub warnings: Vec<String>,
}

/// What the founder view opens with.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LetterOverview {
    /// `null` without `[smtp]` or `[intercom]` (or when it cannot be used: `setupError` says
    /// why); the letter can still be written and previewed.
    pub setup: Option<LetterSetup>,
    pub setup_error: Option<String>,
    /// The draft as last typed, or the starting template.
    pub draft: LetterDraft,
    /// Letters not finished (paused, interrupted, being sent) and those sent from this window
    /// since it started, newest first.
    pub letters: Vec<LetterProgress>,
}

/// The customer a preview shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PreviewRecipient {
    pub email: String,
    pub name: Option<String>,
    /// The row's line in the file (the header is line 1).
    #[ts(type = "number")]
    pub line: u64,
}

/// One customer's letter, and what the list holds.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LetterPreview {
    pub subject: String,
    /// The letter's HTML (a fragment, no document around it); HTML in the letter or a row is
    /// shown as text.
    pub html: String,
    /// The plain-text part, as the Markdown reads filled in.
    pub text: String,
    /// `null` without a list: the letter is then shown with its variables as placeholders.
    pub recipient: Option<PreviewRecipient>,
    /// The position shown, from 0 (clamped to the list).
    #[ts(type = "number")]
    pub index: u64,
    /// Customers who get the letter.
    #[ts(type = "number")]
    pub count: u64,
    pub columns: Vec<String>,
    pub skipped: Vec<SkippedRow>,
    #[ts(type = "number")]
    pub skipped_count: u64,
    #[ts(type = "number")]
    pub filtered_out: u64,
    /// How long the send takes at the configured rate, when the rate is what limits it.
    #[ts(type = "number | null")]
    pub seconds: Option<u64>,
    /// This letter was started to this list before (by the window or `foghorn letter`):
    /// sending resumes it, and nobody gets it twice.
    pub earlier: Option<LetterProgress>,
}

/// A test letter that the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct TestSent {
    pub to: String,
    /// Whose letter it was (`null`: the letter with placeholders, no list yet).
    pub as_recipient: Option<String>,
    /// The server's reply, `250 …`.
    pub reply: String,
}

/// A letter's progress, read from its ledger.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LetterProgress {
    #[ts(type = "number")]
    pub id: i64,
    pub subject: String,
    pub list_name: String,
    pub sender: String,
    pub state: LetterState,
    pub paused_reason: Option<String>,
    #[ts(type = "number")]
    pub total: u64,
    #[ts(type = "number")]
    pub accepted: u64,
    #[ts(type = "number")]
    pub failed: u64,
    #[ts(type = "number")]
    pub bounced: u64,
    /// Not settled yet: queued or in flight.
    #[ts(type = "number")]
    pub left: u64,
    /// Sent again with the same `Message-ID` after a run stopped with them in flight.
    #[ts(type = "number")]
    pub resent: u64,
    /// This window is sending it now.
    pub running: bool,
    /// Letters accepted a second over this run.
    pub per_second: f64,
    #[ts(type = "number | null")]
    pub eta_seconds: Option<u64>,
    /// Why the last run stopped, or the newest refusal.
    pub error: Option<String>,
    /// Who did not get it (failed or bounced), with why, in list order.
    pub undelivered: Vec<Undelivered>,
}

/// The window's letters: the draft, previews, tests and the sends it runs.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("runs", &lock(&self.inner.runs).keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    sections: SectionsSource,
    secrets: Arc<dyn SecretSource>,
    /// A test's mail server in place of `[smtp]`'s.
    mailer: Option<Arc<dyn Mailer>>,
    /// The setup made from the section as it was last read (its `Debug` text is the key).
    ready: Mutex<Option<(String, Arc<Ready>)>>,
    runs: Mutex<HashMap<i64, Run>>,
    /// Intercom's contacts as a list file, read once while the window is open.
    intercom_list: Mutex<Option<PathBuf>>,
}

/// A section made ready to send, and the ways the configuration offers.
struct Ready {
    setup: Setup,
    vias: Vec<LetterVia>,
}

/// A send this window started.
struct Run {
    control: watch::Sender<Control>,
    progress: watch::Receiver<Progress>,
    task: JoinHandle<()>,
    /// Why the run stopped, when it stopped on an error.
    error: Arc<Mutex<Option<String>>>,
    rate: Rate,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Desk {
    pub fn new(store: Store, sections: SectionsSource, secrets: Arc<dyn SecretSource>) -> Self {
        Desk::build(store, sections, secrets, None)
    }

    /// A desk handing emails to `mailer` instead of `[smtp]`'s server (for tests).
    pub fn with_mailer(
        store: Store,
        sections: SectionsSource,
        secrets: Arc<dyn SecretSource>,
        mailer: Arc<dyn Mailer>,
    ) -> Self {
        Desk::build(store, sections, secrets, Some(mailer))
    }

    fn build(
        store: Store,
        sections: SectionsSource,
        secrets: Arc<dyn SecretSource>,
        mailer: Option<Arc<dyn Mailer>>,
    ) -> Self {
        Desk {
            inner: Arc::new(Inner {
                store,
                sections,
                secrets,
                mailer,
                ready: Mutex::new(None),
                runs: Mutex::new(HashMap::new()),
                intercom_list: Mutex::new(None),
            }),
        }
    }

    /// Runs `f` on a blocking thread (files are read, a keychain may be asked) that is still
    /// inside the runtime, which the mail server's connection pool needs.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Desk) -> Result<T, LetterError> + Send + 'static,
    ) -> Result<T, LetterError> {
        let desk = self.clone();
        tokio::task::spawn_blocking(move || f(desk))
            .await
            .map_err(|e| LetterError::Store(format!("the work stopped: {e}")))?
    }

    /// The way `via` (or the default way) made ready: made again only when the
    /// configuration's section for it changed.
    fn ready(&self, via: Option<LetterVia>) -> Result<Arc<Ready>, LetterError> {
        let sections = (self.inner.sections)().map_err(LetterError::Setup)?;
        let vias = sections.vias();
        let via =
            match via {
                Some(v) if vias.contains(&v) => v,
                Some(LetterVia::Intercom) => return Err(LetterError::Setup(
                    "sending through Intercom needs an [intercom] section (url, token, admin_id)"
                        .to_owned(),
                )),
                _ => *vias.first().ok_or(LetterError::NoSmtp)?,
            };
        let key = match via {
            LetterVia::Email => format!("{via:?} {:?}", sections.smtp),
            LetterVia::Intercom => format!("{via:?} {:?} {:?}", sections.intercom, sections.smtp),
        };
        if let Some((k, ready)) = lock(&self.inner.ready).as_ref() {
            if *k == key {
                return Ok(ready.clone());
            }
        }
        let mut setup = match (via, &sections.smtp, &sections.intercom) {
            (LetterVia::Email, Some(smtp), _) => super::setup(smtp, self.inner.secrets.as_ref())?,
            (LetterVia::Intercom, smtp, Some(intercom)) => {
                super::setup_intercom(intercom, smtp.as_ref(), self.inner.secrets.clone())
            }
            _ => return Err(LetterError::NoSmtp),
        };
        if let (Some(mailer), Some(identity)) = (&self.inner.mailer, &setup.identity) {
            setup.courier = Arc::new(ByEmail {
                identity: identity.clone(),
                mailer: mailer.clone(),
            });
        }
        let ready = Arc::new(Ready { setup, vias });
        *lock(&self.inner.ready) = Some((key, ready.clone()));
        Ok(ready)
    }

    /// The list's file: the path typed, or Intercom's contacts read into the data directory
    /// (once while the window is open, so the preview, the test and the send see one list).
    /// Called on a blocking thread.
    fn list_file(&self, draft: &LetterDraft) -> Result<Option<PathBuf>, LetterError> {
        if !draft.from_intercom() {
            return draft.list();
        }
        if let Some(path) = lock(&self.inner.intercom_list).clone() {
            return Ok(Some(path));
        }
        let sections = (self.inner.sections)().map_err(LetterError::Setup)?;
        let intercom = sections.intercom.ok_or_else(|| {
            LetterError::ListPath(
                "`intercom` as the list needs an [intercom] section (url, token, admin_id)".into(),
            )
        })?;
        let dir = crate::paths::data_dir()
            .ok_or_else(|| LetterError::ListPath("no data directory".into()))?;
        let client = crate::support::intercom::Intercom::new(
            &intercom,
            crate::deliver::http::Secrets(self.inner.secrets.clone()),
            crate::deliver::DEFAULT_TIMEOUT,
        );
        let (path, kept, left_out) = tokio::runtime::Handle::current()
            .block_on(compose::intercom_contacts(&client, &dir))?;
        tracing::info!(kept, left_out, "Intercom's contacts read for the letter");
        *lock(&self.inner.intercom_list) = Some(path.clone());
        Ok(Some(path))
    }

    /// The letter's key: the same letter to the same list (to Intercom: whatever its
    /// contacts are now) is the same letter, so a send resumes it.
    fn key_of(
        draft: &LetterDraft,
        letter: &Draft,
        path: &Path,
        filter: &Filter,
    ) -> Result<String, LetterError> {
        let digest = if draft.from_intercom() {
            b"intercom".to_vec()
        } else {
            file_digest(path)?
        };
        Ok(letter_key(letter, &digest, filter))
    }

    /// The SLA figures `letter`'s month asks for, measured now. Called on a blocking thread.
    fn sla(&self, letter: &Draft) -> Result<Option<SlaFigures>, LetterError> {
        if letter.sla_month.is_none() {
            return Ok(None);
        }
        let sections = (self.inner.sections)().map_err(LetterError::Setup)?;
        SlaFigures::of_draft(letter, &self.inner.store, sections.config.as_deref())
    }

    /// The letter with `key` started before, whose ledger holds the variables it is sent
    /// with (one still being read in is not: its import starts again).
    fn frozen(&self, key: &str) -> Result<Option<i64>, LetterError> {
        let store = &self.inner.store;
        let Some(id) = store.letter_by_key(key)? else {
            return Ok(None);
        };
        Ok(store
            .letter(id)?
            .filter(|s| s.state != LetterState::Importing)
            .map(|s| s.id))
    }

    /// The draft as last saved, or the starting template.
    pub fn draft(&self) -> LetterDraft {
        match self.inner.store.letter_draft() {
            Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_default(),
            Ok(None) => LetterDraft::default(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the letter's draft");
                LetterDraft::default()
            }
        }
    }

    /// Keeps the draft as it is now.
    pub async fn save_draft(&self, draft: &LetterDraft) -> Result<(), LetterError> {
        let json = serde_json::to_string(draft).map_err(|e| LetterError::Store(e.to_string()))?;
        Ok(self.inner.store.set_letter_draft(json).await?)
    }

    /// What the founder view opens with.
    pub async fn overview(&self) -> Result<LetterOverview, LetterError> {
        self.blocking(|desk| {
            let via = desk.draft().via;
            let (setup, setup_error) = match desk.ready(via) {
                Ok(ready) => (Some(setup_of(&ready)), None),
                Err(LetterError::NoSmtp) => (None, None),
                Err(e) => (None, Some(e.to_string())),
            };
            let here: Vec<i64> = lock(&desk.inner.runs).keys().copied().collect();
            let mut letters = Vec::new();
            for summary in desk.inner.store.letters()? {
                let unfinished =
                    !matches!(summary.state, LetterState::Done | LetterState::Cancelled);
                if unfinished || here.contains(&summary.id) {
                    letters.push(desk.progress_of(summary)?);
                }
            }
            Ok(LetterOverview {
                setup,
                setup_error,
                draft: desk.draft(),
                letters,
            })
        })
        .await
    }

    /// The letter as the customer at `index` of the list will read it, with the list's count
    /// and skipped rows. Without a list, the letter with its variables as placeholders.
    pub async fn preview(
        &self,
        draft: LetterDraft,
        index: u64,
    ) -> Result<LetterPreview, LetterError> {
        self.blocking(move |desk| desk.preview_now(&draft, index))
            .await
    }

    fn preview_now(&self, input: &LetterDraft, index: u64) -> Result<LetterPreview, LetterError> {
        let draft = input.letter()?;
        let ready = self.ready(input.via).ok();
        let identity = ready.as_ref().and_then(|r| r.setup.identity.as_deref());
        let Some(path) = self.list_file(input)? else {
            let rendered = draft.render(&placeholders(&draft))?;
            return Ok(LetterPreview {
                subject: rendered.subject,
                html: markdown_fragment(&rendered.text),
                text: rendered.text,
                recipient: None,
                index: 0,
                count: 0,
                columns: Vec::new(),
                skipped: Vec::new(),
                skipped_count: 0,
                filtered_out: 0,
                seconds: None,
                earlier: None,
            });
        };
        let filter = input.filter();
        let sla = self.sla(&draft)?;
        let counted = compose::count(
            &path,
            &filter,
            &draft,
            identity,
            sla.as_ref(),
            Pass {
                keep_skipped: SKIPPED_SHOWN,
                pick: Some(index),
                fill_every_row: false,
            },
        )?;
        let (index, picked) = match counted.picked.clone() {
            Some(r) => (index, Some(r)),
            None if counted.recipients > 0 => {
                let last = counted.recipients - 1;
                (last, compose::recipient_at(&path, &filter, last)?)
            }
            None => (0, None),
        };
        let key = Desk::key_of(input, &draft, &path, &filter)?;
        let frozen = self.frozen(&key)?;
        let vars = match &picked {
            Some(r) => {
                let vars = compose::vars_for(&self.inner.store, frozen, r, sla.as_ref())?;
                compose::with_unsubscribe(identity, &vars, &r.email)
            }
            None => compose::Columns::default(),
        };
        let rendered = draft.render(&vars)?;
        let earlier = match self.inner.store.letter_by_key(&key)? {
            Some(id) => self
                .inner
                .store
                .letter(id)?
                .map(|s| self.progress_of(s))
                .transpose()?,
            None => None,
        };
        let rate = ready
            .as_ref()
            .map_or_else(Rate::default, |r| r.setup.options.rate);
        Ok(LetterPreview {
            subject: rendered.subject,
            html: markdown_fragment(&rendered.text),
            text: rendered.text,
            recipient: picked.map(|r| PreviewRecipient {
                name: r.vars.get("name").filter(|n| !n.trim().is_empty()).cloned(),
                email: r.email,
                line: r.line,
            }),
            index,
            count: counted.recipients,
            columns: counted.columns,
            skipped: counted
                .skipped
                .iter()
                .map(|s| SkippedRow {
                    line: s.line,
                    reason: s.reason.to_string(),
                })
                .collect(),
            skipped_count: counted.skipped_count,
            filtered_out: counted.filtered_out,
            seconds: rate.time_for(counted.recipients).map(|d| d.as_secs()),
            earlier,
        })
    }

    /// Sends the letter of the customer at `index` to `to` only, its subject marked
    /// `[Test] `, straight to the server (not through the ledger).
    pub async fn send_test(
        &self,
        draft: LetterDraft,
        index: u64,
        to: String,
    ) -> Result<TestSent, LetterError> {
        let (ready, rendered, as_recipient) = self
            .blocking(move |desk| {
                let ready = desk.ready(draft.via)?;
                let letter = draft.letter()?;
                let mut frozen = None;
                let recipient = match desk.list_file(&draft)? {
                    Some(path) => {
                        let filter = draft.filter();
                        frozen = desk.frozen(&Desk::key_of(&draft, &letter, &path, &filter)?)?;
                        match compose::recipient_at(&path, &filter, index)? {
                            Some(r) => Some(r),
                            None => compose::recipient_at(&path, &filter, 0)?,
                        }
                    }
                    None => None,
                };
                let vars = match &recipient {
                    Some(r) => {
                        let sla = desk.sla(&letter)?;
                        compose::with_unsubscribe(
                            ready.setup.identity.as_deref(),
                            &compose::vars_for(&desk.inner.store, frozen, r, sla.as_ref())?,
                            &r.email,
                        )
                    }
                    None => placeholders(&letter),
                };
                let rendered = letter.render(&vars)?;
                Ok((ready, rendered, recipient.map(|r| r.email)))
            })
            .await?;
        let to = to.trim().to_owned();
        let setup = &ready.setup;
        let reply = compose::send_test(setup.courier.as_ref(), &setup.domain, &to, &rendered)
            .await
            .map_err(|e| LetterError::Refused(e.to_string()))?;
        Ok(TestSent {
            to,
            as_recipient,
            reply,
        })
    }

    /// Checks every row, writes the letter's ledger (or finds the one started before with
    /// this letter and list) and starts sending it. `expected` is the count the founder
    /// confirmed: a list that changed since is not sent.
    pub async fn start(
        &self,
        draft: LetterDraft,
        expected: Option<u64>,
    ) -> Result<LetterProgress, LetterError> {
        let from_intercom = draft.from_intercom();
        let (ready, letter, path, filter, key, sla) = self
            .blocking(move |desk| {
                let ready = desk.ready(draft.via)?;
                let letter = draft.letter()?;
                let path = desk.list_file(&draft)?.ok_or_else(|| {
                    LetterError::ListPath("write the path of the customer list (CSV)".into())
                })?;
                let filter = draft.filter();
                let sla = desk.sla(&letter)?;
                // Every row filled in before anyone is sent anything.
                let counted = compose::count(
                    &path,
                    &filter,
                    &letter,
                    ready.setup.identity.as_deref(),
                    sla.as_ref(),
                    Pass {
                        fill_every_row: true,
                        ..Pass::default()
                    },
                )?;
                if let Some(expected) = expected {
                    if counted.recipients != expected {
                        return Err(LetterError::Changed {
                            expected,
                            now: counted.recipients,
                        });
                    }
                }
                if counted.recipients == 0 {
                    return Err(LetterError::ListPath(
                        "no customer to send to (after skipping bad rows and filtering)".into(),
                    ));
                }
                let key = Desk::key_of(&draft, &letter, &path, &filter)?;
                Ok((ready, letter, path, filter, key, sla))
            })
            .await?;
        let store = &self.inner.store;
        if let Some(id) = store.letter_by_key(&key)? {
            if self.is_running(id) {
                return self.progress(id);
            }
            match store.letter(id)?.map(|s| s.state) {
                Some(LetterState::Done) => return Err(LetterError::AlreadySent(id)),
                Some(LetterState::Cancelled) => return Err(LetterError::Cancelled(id)),
                _ => {}
            }
        }
        let new = NewLetter {
            key,
            source: letter.to_source(),
            subject: letter.subject.clone(),
            list_name: if from_intercom {
                "Intercom contacts".to_owned()
            } else {
                path.display().to_string()
            },
            sender: ready.setup.sender.clone(),
            via: ready.setup.via,
            incident_id: None,
        };
        let rows = recipients::open(&path)?;
        let domain = ready.setup.domain.clone();
        let prepared =
            ledger::prepare(store, new, &letter, &domain, rows, &filter, sla.as_ref()).await?;
        self.spawn(prepared.letter_id, letter, &ready)?;
        self.progress(prepared.letter_id)
    }

    /// Carries on with a paused or interrupted letter, from its ledger.
    pub async fn resume(&self, id: i64) -> Result<LetterProgress, LetterError> {
        if self.is_running(id) && self.control_of(id) == Some(Control::Run) {
            return self.progress(id);
        }
        self.settle(id).await;
        let (ready, letter) = self
            .blocking(move |desk| {
                let summary = desk
                    .inner
                    .store
                    .letter(id)?
                    .ok_or(LetterError::NotFound(id))?;
                let ready = desk.ready(Some(summary.via))?;
                let source = desk
                    .inner
                    .store
                    .letter_source(id)?
                    .ok_or(LetterError::NotFound(id))?;
                Ok((ready, Draft::parse(&source)?))
            })
            .await?;
        self.spawn(id, letter, &ready)?;
        self.progress(id)
    }

    /// Pauses a letter: the letters in flight finish, then nothing more goes until Resume.
    /// A letter another Foghorn sends (`foghorn letter send`) pauses within a second.
    pub async fn pause(&self, id: i64) -> Result<LetterProgress, LetterError> {
        self.stop(id, Control::Pause, LetterState::Paused).await
    }

    /// Stops a letter for good: whoever has not been sent it yet will not be.
    pub async fn cancel(&self, id: i64) -> Result<LetterProgress, LetterError> {
        self.stop(id, Control::Cancel, LetterState::Cancelled).await
    }

    async fn stop(
        &self,
        id: i64,
        control: Control,
        state: LetterState,
    ) -> Result<LetterProgress, LetterError> {
        if let Some(run) = lock(&self.inner.runs).get(&id) {
            run.control.send_replace(control);
        }
        self.inner.store.stop_letter(id, state).await?;
        self.progress(id)
    }

    /// A letter's progress: its ledger, and this window's run of it.
    pub fn progress(&self, id: i64) -> Result<LetterProgress, LetterError> {
        let summary = self
            .inner
            .store
            .letter(id)?
            .ok_or(LetterError::NotFound(id))?;
        self.progress_of(summary)
    }

    fn progress_of(&self, s: LetterSummary) -> Result<LetterProgress, LetterError> {
        let left = s.left();
        let (running, per_second, eta_seconds, error) = match lock(&self.inner.runs).get(&s.id) {
            Some(run) => {
                let running = !run.task.is_finished();
                let live = run.progress.borrow().clone();
                let stopped = lock(&run.error).clone();
                let eta = running
                    .then(|| {
                        live.eta_seconds
                            .or_else(|| run.rate.time_for(left).map(|d| d.as_secs()))
                    })
                    .flatten();
                let per_second = if running { live.per_second } else { 0.0 };
                (running, per_second, eta, stopped.or(live.last_error))
            }
            None => (false, 0.0, None, None),
        };
        let undelivered = if s.failed + s.bounced > 0 {
            let mut list = self.inner.store.undelivered(s.id)?;
            list.truncate(UNDELIVERED_SHOWN);
            list
        } else {
            Vec::new()
        };
        Ok(LetterProgress {
            id: s.id,
            subject: s.subject,
            list_name: s.list_name,
            sender: s.sender,
            state: s.state,
            paused_reason: s.paused_reason,
            total: s.total,
            accepted: s.accepted,
            failed: s.failed,
            bounced: s.bounced,
            left,
            resent: s.resent,
            running,
            per_second,
            eta_seconds,
            error,
            undelivered,
        })
    }

    fn is_running(&self, id: i64) -> bool {
        lock(&self.inner.runs)
            .get(&id)
            .is_some_and(|r| !r.task.is_finished())
    }

    fn control_of(&self, id: i64) -> Option<Control> {
        lock(&self.inner.runs).get(&id).map(|r| *r.control.borrow())
    }

    /// Waits for this window's earlier run of `id` to finish what it had in flight.
    async fn settle(&self, id: i64) {
        let Some(old) = lock(&self.inner.runs).remove(&id) else {
            return;
        };
        if old.task.is_finished() {
            return;
        }
        if tokio::time::timeout(SETTLE, old.task).await.is_err() {
            tracing::warn!(letter = id, "the earlier run did not stop in time");
        }
    }

    /// Starts sending `id` on the runtime; its progress is read with [`Desk::progress`].
    fn spawn(&self, id: i64, letter: Draft, ready: &Ready) -> Result<(), LetterError> {
        let summary = self
            .inner
            .store
            .letter(id)?
            .ok_or(LetterError::NotFound(id))?;
        let (control, control_rx) = watch::channel(Control::Run);
        let (progress_tx, progress) = watch::channel(Progress {
            letter_id: id,
            state: summary.state,
            total: summary.total,
            accepted: summary.accepted,
            failed: summary.failed,
            bounced: summary.bounced,
            left: summary.left(),
            resent: summary.resent,
            per_second: 0.0,
            eta_seconds: None,
            paused_reason: None,
            last_error: None,
        });
        let job = Job {
            draft: Arc::new(letter),
            courier: ready.setup.courier.clone(),
            options: ready.setup.options.clone(),
        };
        let store = self.inner.store.clone();
        let error = Arc::new(Mutex::new(None));
        let stopped = error.clone();
        let mut runs = lock(&self.inner.runs);
        let task = tokio::spawn(async move {
            match send::send(&store, id, job, control_rx, progress_tx).await {
                Ok(finished) => tracing::info!(
                    letter = id,
                    state = finished.summary.state.as_str(),
                    accepted = finished.summary.accepted,
                    "letter run finished"
                ),
                Err(e) => {
                    tracing::warn!(letter = id, error = %e, "letter run stopped");
                    *lock(&stopped) = Some(e.to_string());
                }
            }
        });
        runs.insert(
            id,
            Run {
                control,
                progress,
                task,
                error,
                rate: ready.setup.options.rate,
            },
        );
        Ok(())
    }
}

fn setup_of(ready: &Ready) -> LetterSetup {
    let setup = &ready.setup;
    LetterSetup {
        via: setup.via,
        vias: ready.vias.clone(),
        from: setup.sender.clone(),
        reply_to: setup.reply_to.clone(),
        test_to: setup.test_to.clone(),
        rate: setup.options.rate.to_string(),
        warnings: setup.warnings.clone(),
    }
}

/// Without a list, each variable the letter uses shows as its name in angle quotes.
fn placeholders(draft: &Draft) -> compose::Columns {
    draft
        .variables()
        .into_iter()
        .filter(|v| v != "unsubscribe_url")
        .map(|v| {
            let shown = format!("‹{v}›");
            (v, shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use async_trait::async_trait;
    use lettre::Message;

    use super::*;
    use crate::letter::smtp::SendError;
    use crate::secret::{SecretError, SecretRef};

    /// Takes every letter after a short while, and keeps the envelope's recipient.
    #[derive(Default)]
    struct Sink {
        to: Mutex<Vec<String>>,
        count: AtomicUsize,
    }

    #[async_trait]
    impl Mailer for Sink {
        async fn send(&self, message: Message) -> Result<String, SendError> {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let to = message
                .envelope()
                .to()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",");
            lock(&self.to).push(to);
            let n = self.count.fetch_add(1, Ordering::SeqCst);
            Ok(format!("250 queued as {n}"))
        }
    }

    struct Secrets;

    impl SecretSource for Secrets {
        fn resolve(&self, _: &SecretRef) -> Result<String, SecretError> {
            Ok("s3cret".to_owned())
        }
    }

    fn desk(store: &Store, sink: &Arc<Sink>) -> Desk {
        let smtp: SmtpConfig = toml::from_str(
            "url = \"smtp://127.0.0.1:2525\"\nfrom = \"Alice Smith <alice@acme.test>\"\n\
             rate = \"off\"\nconnections = 2\n\
             unsubscribe_url = \"https://acme.test/u?t={{ token }}\"\n\
             unsubscribe_secret = \"env:UNSUB\"\n",
        )
        .expect("smtp");
        Desk::with_mailer(
            store.clone(),
            Arc::new(move || {
                Ok(Sections {
                    smtp: Some(smtp.clone()),
                    intercom: None,
                    config: None,
                })
            }),
            Arc::new(Secrets),
            sink.clone(),
        )
    }

    fn customers(n: usize) -> tempfile::NamedTempFile {
        let mut text = String::from("email,name,company\n");
        for i in 0..n {
            text.push_str(&format!("c{i}@example.test,Customer {i},Co {i}\n"));
        }
        text.push_str("not-an-address,Nobody,None\n");
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_draft_is_kept_and_the_preview_steps_through_the_list() {
        let store = Store::in_memory().expect("store");
        let sink = Arc::new(Sink::default());
        let desk = desk(&store, &sink);
        let overview = desk.overview().await.expect("overview");
        assert_eq!(overview.draft, LetterDraft::default());
        let setup = overview.setup.expect("setup");
        assert_eq!(setup.from, "Alice Smith <alice@acme.test>");
        assert_eq!(setup.test_to, "alice@acme.test");
        assert!(
            setup.warnings.iter().any(|w| w.contains("DKIM")),
            "{setup:?}"
        );

        // Without a list: the variables show as placeholders.
        let preview = desk
            .preview(overview.draft.clone(), 0)
            .await
            .expect("preview");
        assert!(preview.text.starts_with("Dear ‹name›,"), "{}", preview.text);

        let list = customers(3);
        let draft = LetterDraft {
            list_path: list.path().display().to_string(),
            ..LetterDraft::default()
        };
        desk.save_draft(&draft).await.expect("saved");
        assert_eq!(desk.draft(), draft);
        let preview = desk.preview(draft.clone(), 1).await.expect("preview");
        assert_eq!(preview.count, 3);
        assert_eq!(preview.skipped_count, 1);
        assert_eq!(preview.skipped[0].line, 5);
        assert_eq!(
            preview.recipient.as_ref().map(|r| r.email.as_str()),
            Some("c1@example.test")
        );
        assert!(
            preview.text.starts_with("Dear Customer 1,"),
            "{}",
            preview.text
        );
        assert!(
            preview.html.starts_with("<p>Dear Customer 1,"),
            "{}",
            preview.html
        );
        // Past the end: the last one.
        let last = desk.preview(draft.clone(), 9).await.expect("preview");
        assert_eq!(last.index, 2);

        let broken = LetterDraft {
            body: "Hello {{ tier }}".into(),
            ..draft.clone()
        };
        let err = desk.preview(broken, 0).await.expect_err("unknown column");
        assert!(err.to_string().contains("no `tier` column"), "{err}");

        let relative = LetterDraft {
            list_path: "customers.csv".into(),
            ..draft.clone()
        };
        let err = desk.preview(relative, 0).await.expect_err("relative");
        assert!(err.to_string().contains("full path"), "{err}");

        let sent = desk
            .send_test(draft, 1, "alice@acme.test".into())
            .await
            .expect("test sent");
        assert_eq!(sent.as_recipient.as_deref(), Some("c1@example.test"));
        assert_eq!(*lock(&sink.to), ["alice@acme.test"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_send_pauses_resumes_and_reaches_everyone_once() {
        let store = Store::in_memory().expect("store");
        let sink = Arc::new(Sink::default());
        let desk = desk(&store, &sink);
        let list = customers(200);
        let draft = LetterDraft {
            list_path: list.path().display().to_string(),
            ..LetterDraft::default()
        };
        let err = desk
            .start(draft.clone(), Some(199))
            .await
            .expect_err("the count changed");
        assert!(
            matches!(err, LetterError::Changed { now: 200, .. }),
            "{err}"
        );

        let started = desk.start(draft.clone(), Some(200)).await.expect("started");
        assert_eq!(started.total, 200);
        let id = started.id;
        until("some letters", || {
            desk.progress(id).is_ok_and(|p| p.accepted >= 20)
        })
        .await;
        desk.pause(id).await.expect("paused");
        until("the run to stop", || {
            desk.progress(id).is_ok_and(|p| !p.running)
        })
        .await;
        let paused = desk.progress(id).expect("progress");
        assert_eq!(paused.state, LetterState::Paused);
        assert!(paused.accepted < 200, "{paused:?}");
        assert_eq!(paused.accepted, sink.count.load(Ordering::SeqCst) as u64);
        let overview = desk.overview().await.expect("overview");
        assert_eq!(overview.letters.first().map(|l| l.id), Some(id));

        // Confirming the same letter and list again resumes it.
        let again = desk.preview(draft.clone(), 0).await.expect("preview");
        assert_eq!(again.earlier.as_ref().map(|e| e.id), Some(id));
        desk.resume(id).await.expect("resumed");
        until("everyone", || {
            desk.progress(id)
                .is_ok_and(|p| p.state == LetterState::Done && !p.running)
        })
        .await;
        let done = desk.progress(id).expect("progress");
        assert_eq!((done.accepted, done.left, done.failed), (200, 0, 0));
        let mut to = lock(&sink.to).clone();
        to.sort();
        to.dedup();
        assert_eq!(to.len(), 200, "one letter each");
        assert_eq!(sink.count.load(Ordering::SeqCst), 200);

        let err = desk.start(draft, Some(200)).await.expect_err("sent");
        assert!(
            matches!(err, LetterError::AlreadySent(i) if i == id),
            "{err}"
        );
    }
}
