//! Editing monitors in the configuration file from the window. The file is the user's: it
//! has comments, an order, keys this editor knows nothing about. So edits go through
//! `toml_edit` and touch only the keys whose values changed; everything else comes back byte
//! for byte. Every result is validated exactly as a load would validate it before anyone may
//! write it, and the write is atomic and refuses to clobber a file someone else changed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};
use ts_rs::TS;

use crate::condition::Condition;
use crate::config::{defaults, Config, ConfigError, FollowRedirects, MonitorConfig};
use crate::incident::Severity;
use crate::monitor::MonitorId;

mod escalation;
mod file;
mod limits;

pub use escalation::{read_escalation, write_escalation, EscalationDraft, PhoneDraft, StepDraft};
pub use file::ConfigFile;
pub use limits::{DurationLimits, EditorLimits};

/// What is left in a file whose last monitor was deleted: an empty file would not load.
const NO_MONITORS: &str = "# No monitors yet: add one from Foghorn's window.\n";

/// Why an edit was refused. Nothing is written when any of these is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    #[error("the configuration is not valid TOML, so it cannot be edited here: {0}")]
    Syntax(#[from] toml_edit::TomlError),
    #[error("`monitors` is not written as [[monitors]] tables, so it cannot be edited here")]
    Unsupported,
    #[error("there is no monitor named {0:?} in the configuration")]
    NotFound(String),
    #[error("another monitor is already named {0:?}; monitor names must be unique")]
    Duplicate(String),
    /// The draft itself is unusable; [`DraftProblem::field`] names the draft's field when the
    /// problem is about one, so the window can show it there.
    #[error("{0}")]
    Draft(DraftProblem),
    /// The edited file would not load; carries the loader's own message.
    #[error(transparent)]
    Invalid(ConfigError),
    #[error("{} changed on disk since the editor read it; reopen the editor to edit the current file", .0.display())]
    ChangedOnDisk(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Started without a configuration path (no OS config directory, no `--config`).
    #[error(
        "There is no configuration directory to save to: start Foghorn with --config PATH or \
         set FOGHORN_CONFIG."
    )]
    NoPath,
    /// The demo's monitor lives in no file, so deleting it has no meaning.
    #[error(
        "The demo monitor is not in a configuration file, so there is nothing to delete. Add \
         a monitor of your own and the demo ends."
    )]
    DemoMonitor,
    /// A heartbeat monitor waits to be pinged: a "Test now" has nothing to call.
    #[error("A heartbeat monitor is pinged by its job, so there is nothing to check from here.")]
    NotTestable,
}

impl EditError {
    /// The draft's field the refusal is about (`interval`, `conditions[0]`,
    /// `steps[1].after`), when it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            EditError::Draft(p) => p.field.as_deref(),
            EditError::Duplicate(_) => Some("name"),
            _ => None,
        }
    }
}

/// What is wrong with a draft, and the field it is about: the monitor's keys as the draft
/// names them (`name`, `interval`, `conditions[0]`), the ladder's as the file does
/// (`steps[1].after`, `phones[0].number`, `online_within`; steps counted from 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftProblem {
    pub field: Option<String>,
    /// Said about the field, without naming it.
    pub message: String,
}

impl DraftProblem {
    /// A problem with the draft as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }

    /// A problem with one field.
    pub fn at(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self {
            field: Some(field.into()),
            message: message.to_string(),
        }
    }
}

/// `field: message`, so a log line or the CLI still says where.
impl std::fmt::Display for DraftProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The key and the problem of a loader's message that names its key first
/// (`` `monitors[2].interval`: invalid duration "soon" … ``).
fn keyed(message: &str) -> Option<(&str, &str)> {
    message.strip_prefix('`')?.split_once("`: ")
}

/// A loader's message about `key` without the key's name, to be shown beside its field:
/// `` `monitors[2].interval`: invalid duration `` and `` `timeout` must be more than 0s ``
/// lose their leading key.
fn said_about<'m>(message: &'m str, key: &str) -> &'m str {
    if let Some((_, problem)) = keyed(message) {
        return problem;
    }
    let last = key.rsplit('.').next().unwrap_or(key);
    message
        .strip_prefix('`')
        .and_then(|m| m.strip_prefix(last))
        .and_then(|m| m.strip_prefix("` "))
        .unwrap_or(message)
}

pub type Result<T> = std::result::Result<T, EditError>;

/// A monitor as the editor shows it: every value as text or a plain type, durations exactly
/// as the user wrote them (`"1m"` stays `"1m"`, not `"60s"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MonitorDraft {
    pub name: String,
    pub group: Option<String>,
    /// Empty for a heartbeat monitor.
    pub url: String,
    pub interval: String,
    pub timeout: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub conditions: Vec<String>,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub severity: Severity,
    pub insecure: bool,
    pub follow_redirects: FollowRedirects,
    pub heartbeat: Option<String>,
}

/// A new monitor starts from what leaving every key out means, so the form shows the
/// behaviour the user gets without touching anything.
impl Default for MonitorDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            group: None,
            url: String::new(),
            interval: humantime::format_duration(defaults::interval()).to_string(),
            timeout: humantime::format_duration(defaults::timeout()).to_string(),
            method: defaults::method().to_string(),
            headers: BTreeMap::new(),
            body: None,
            conditions: Vec::new(),
            failure_threshold: defaults::failure_threshold(),
            success_threshold: defaults::success_threshold(),
            severity: Severity::default(),
            insecure: false,
            follow_redirects: FollowRedirects::default(),
            heartbeat: None,
        }
    }
}

/// A condition that does not parse: what is wrong and the 1-based character column to point
/// at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
#[error("{message} (at character {column})")]
pub struct ConditionProblem {
    pub message: String,
    pub column: u32,
}

/// Checks one condition as the configuration loader would, for live feedback while typing.
pub fn validate_condition(text: &str) -> std::result::Result<(), ConditionProblem> {
    text.parse::<Condition>()
        .map(drop)
        .map_err(|e| ConditionProblem {
            column: u32::try_from(e.column()).unwrap_or(u32::MAX),
            message: e.message,
        })
}

/// A configuration text after an edit, with the configuration it loads as.
#[derive(Debug, Clone)]
pub struct Edited {
    pub text: String,
    pub config: Config,
}

/// The draft of the monitor whose id is `id` (a name works too), read from the file's text.
pub fn read_draft(text: &str, id: &str) -> Result<MonitorDraft> {
    let doc: DocumentMut = text.parse()?;
    let monitors = monitors(&doc, id)?;
    position(monitors, id)
        .and_then(|i| monitors.get(i))
        .map(draft_of)
        .ok_or_else(|| EditError::NotFound(id.to_owned()))
}

/// Adds the draft as a new monitor (`original` is `None`) or replaces the monitor named
/// `original`, keeping that table's place, comments and the keys the editor does not know
/// (`flap`, `ca_file`, `dns`, …). `path` labels errors in the result.
pub fn upsert_monitor(
    text: &str,
    path: &Path,
    original: Option<&str>,
    draft: &MonitorDraft,
) -> Result<Edited> {
    check_draft(draft)?;
    let mut doc: DocumentMut = text.parse()?;
    let new_id = MonitorId::from_name(&draft.name);
    // A file with nothing but comments keeps them above its first monitor (toml_edit
    // would otherwise leave them trailing after it); the placeholder left by deleting the
    // last monitor is dropped.
    let lead = if doc.as_table().is_empty() {
        let trailing = doc.trailing().as_str().unwrap_or_default().to_owned();
        doc.set_trailing("");
        match trailing.trim() {
            "" => Some(String::new()),
            t if t == NO_MONITORS.trim() => Some(String::new()),
            _ => Some(format!("{}\n\n", trailing.trim_end())),
        }
    } else {
        None
    };
    if doc.get("monitors").is_none() {
        doc.insert("monitors", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let monitors = monitors_mut(&mut doc, original.unwrap_or_default())?;
    let index = match original {
        Some(name) => {
            Some(position(monitors, name).ok_or_else(|| EditError::NotFound(name.to_owned()))?)
        }
        None => None,
    };
    let clash = monitors.iter().enumerate().any(|(i, t)| {
        Some(i) != index && name_of(t).map(MonitorId::from_name) == Some(new_id.clone())
    });
    if clash {
        return Err(EditError::Duplicate(draft.name.trim().to_owned()));
    }
    let at = index.unwrap_or(monitors.len());
    match index.and_then(|i| monitors.get_mut(i)) {
        Some(table) => write_draft(table, draft),
        None => {
            let mut table = Table::new();
            // A blank line between tables, as people write them, unless it is the first
            // thing in the file.
            table
                .decor_mut()
                .set_prefix(lead.unwrap_or_else(|| "\n".to_owned()));
            write_draft(&mut table, draft);
            monitors.push(table);
        }
    }
    finish(doc.to_string(), path).map_err(|e| about_monitor(e, at))
}

/// Removes the monitor named (or with the id) `name`, with the comments written above it.
pub fn delete_monitor(text: &str, path: &Path, name: &str) -> Result<Edited> {
    let mut doc: DocumentMut = text.parse()?;
    let monitors = monitors_mut(&mut doc, name)?;
    let index = position(monitors, name).ok_or_else(|| EditError::NotFound(name.to_owned()))?;
    let removed = monitors.remove(index);
    if monitors.is_empty() {
        doc.remove("monitors");
    }
    keep_detached_comments(&mut doc, &removed);
    let mut text = doc.to_string();
    if text.trim().is_empty() {
        text = NO_MONITORS.to_owned();
    }
    finish(text, path)
}

/// Comments above a deleted table that a blank line separates from it (a file's header, a
/// note about a whole section) were not about that monitor: they move to whatever follows.
fn keep_detached_comments(doc: &mut DocumentMut, removed: &Table) {
    let prefix = removed
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    // Everything up to the last blank line.
    let (mut cut, mut offset) = (0, 0);
    for line in prefix.split_inclusive('\n') {
        offset += line.len();
        if line.trim().is_empty() && line.ends_with('\n') {
            cut = offset;
        }
    }
    let detached = &prefix[..cut];
    if !detached.lines().any(|l| l.trim_start().starts_with('#')) {
        return;
    }
    let after = removed.position();
    let mut next: Option<&mut Table> = None;
    for (_, item) in doc.as_table_mut().iter_mut() {
        let tables: Vec<&mut Table> = match item {
            Item::Table(t) => vec![t],
            Item::ArrayOfTables(a) => a.iter_mut().collect(),
            _ => Vec::new(),
        };
        for t in tables {
            let later = t.position() > after;
            let earlier_than_best = next.as_ref().is_none_or(|n| t.position() < n.position());
            if later && earlier_than_best {
                next = Some(t);
            }
        }
    }
    match next {
        Some(t) => {
            let own = t
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or_default()
                .trim_start_matches('\n')
                .to_owned();
            t.decor_mut().set_prefix(format!("{detached}{own}"));
        }
        None => {
            let trailing = doc.trailing().as_str().unwrap_or_default().to_owned();
            doc.set_trailing(format!("{}\n{trailing}", detached.trim_end()));
        }
    }
}

/// The monitor the draft describes, built by the same loader as the file's monitors, so a
/// "Test now" checks exactly what saving would run.
pub fn monitor_from_draft(draft: &MonitorDraft) -> Result<MonitorConfig> {
    let edited =
        upsert_monitor("", Path::new("the monitor"), None, draft).map_err(|e| match e {
            // Line numbers of a file that does not exist would only confuse.
            EditError::Invalid(ConfigError::Invalid { message, .. }) => {
                EditError::Draft(DraftProblem::whole(message))
            }
            other => other,
        })?;
    edited
        .config
        .monitors
        .into_iter()
        .next()
        .ok_or_else(|| EditError::Draft(DraftProblem::whole("the monitor could not be read back")))
}

/// The monitor a "Test now" checks: [`monitor_from_draft`], unless it is a heartbeat monitor,
/// which is pinged by its job and has nothing to call.
pub fn monitor_to_test(draft: &MonitorDraft) -> Result<MonitorConfig> {
    let monitor = monitor_from_draft(draft)?;
    if monitor.heartbeat.is_some() {
        return Err(EditError::NotTestable);
    }
    Ok(monitor)
}

/// Writes `text` to `path` so that a crash leaves either the old file or the new one, never
/// half of each: a temporary file in the same directory, flushed to disk, renamed over the
/// original, then the directory itself flushed so the rename survives a power cut.
///
/// `read` is what the file held when the edit began (`None`: it did not exist). If the file
/// now holds anything else, someone edited it meanwhile and nothing is written. A symlinked
/// file (dotfile managers) is written through the link rather than replaced by a plain file.
pub fn save_config(path: &Path, read: Option<&str>, text: &str) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| EditError::Io { path, source }
    };
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let current = match std::fs::read_to_string(&target) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(&target)(e)),
    };
    if current.as_deref() != read {
        return Err(EditError::ChangedOnDisk(path.to_owned()));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let file_name = target
        .file_name()
        .map_or_else(|| "foghorn.toml".into(), |n| n.to_string_lossy());
    let temp = dir.join(format!(
        ".{file_name}.{}-{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let written = (|| {
        // A new configuration holds webhook URLs and phone numbers: only the user reads it.
        let mut file = crate::private_fs::make_private(
            std::fs::OpenOptions::new().write(true).create_new(true),
        )
        .open(&temp)?;
        // An existing file keeps the owner's choice of who may read it.
        if let Ok(meta) = std::fs::metadata(&target) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io(&target)(e));
    }
    sync_dir(&dir).map_err(io(&dir))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Windows has no directory handles to flush; its rename is already durable enough.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Refusals that deserve a plainer message than the loader's position in a file.
fn check_draft(draft: &MonitorDraft) -> Result<()> {
    if draft.name.trim().is_empty() {
        return Err(EditError::Draft(DraftProblem::at(
            "name",
            "the monitor needs a name",
        )));
    }
    if MonitorId::from_name(&draft.name).as_str().is_empty() {
        return Err(EditError::Draft(DraftProblem::at(
            "name",
            "the name needs at least one letter or digit",
        )));
    }
    for (i, c) in draft.conditions.iter().enumerate() {
        if let Err(p) = validate_condition(c) {
            return Err(EditError::Draft(DraftProblem::at(
                format!("conditions[{i}]"),
                format!(
                    "condition {} is invalid: {} (at character {})",
                    i + 1,
                    p.message,
                    p.column
                ),
            )));
        }
    }
    Ok(())
}

/// The loader's refusal of a key of the edited monitor (`monitors[index].interval`) as a
/// problem with the draft's field; the position in the file would mean nothing in a form.
/// A problem elsewhere in the file stays the loader's, position and all.
fn about_monitor(e: EditError, index: usize) -> EditError {
    let prefix = format!("monitors[{index}].");
    match e {
        EditError::Invalid(ConfigError::Invalid {
            key: Some(key),
            message,
            ..
        }) if key.starts_with(&prefix) => {
            let field = &key[prefix.len()..];
            EditError::Draft(DraftProblem::at(field, said_about(&message, field)))
        }
        other => other,
    }
}

/// Loads the edited text exactly as Foghorn would at start; only a text that loads leaves.
fn finish(text: String, path: &Path) -> Result<Edited> {
    let config = Config::parse(&text, path).map_err(EditError::Invalid)?;
    Ok(Edited { text, config })
}

/// The `[[monitors]]` tables; `wanted` names the monitor looked for, for the error.
fn monitors<'d>(doc: &'d DocumentMut, wanted: &str) -> Result<&'d ArrayOfTables> {
    match doc.get("monitors") {
        None => Err(EditError::NotFound(wanted.to_owned())),
        Some(item) => item.as_array_of_tables().ok_or(EditError::Unsupported),
    }
}

fn monitors_mut<'d>(doc: &'d mut DocumentMut, wanted: &str) -> Result<&'d mut ArrayOfTables> {
    match doc.get_mut("monitors") {
        None => Err(EditError::NotFound(wanted.to_owned())),
        Some(item) => item.as_array_of_tables_mut().ok_or(EditError::Unsupported),
    }
}

fn name_of(table: &Table) -> Option<&str> {
    table.get("name").and_then(Item::as_str)
}

/// The index of the monitor whose name gives the same id as `name_or_id`.
fn position(monitors: &ArrayOfTables, name_or_id: &str) -> Option<usize> {
    let wanted = MonitorId::from_name(name_or_id);
    monitors
        .iter()
        .position(|t| name_of(t).map(MonitorId::from_name) == Some(wanted.clone()))
}

/// A value's text: strings as they are, anything else (a file edited by hand into something
/// invalid) as written, so the user sees it and can fix it.
fn text_of(item: &Item) -> String {
    match item.as_str() {
        Some(s) => s.to_owned(),
        None => item.to_string().trim().to_owned(),
    }
}

fn draft_of(table: &Table) -> MonitorDraft {
    let base = MonitorDraft::default();
    let text = |key: &str| table.get(key).map(text_of);
    let count = |key: &str, default: u32| {
        table
            .get(key)
            .and_then(Item::as_integer)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default)
    };
    let headers = table
        .get("headers")
        .and_then(Item::as_table_like)
        .map(|t| t.iter().map(|(k, v)| (k.to_owned(), text_of(v))).collect())
        .unwrap_or_default();
    let conditions = table
        .get("conditions")
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map_or_else(|| v.to_string().trim().to_owned(), str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    MonitorDraft {
        name: text("name").unwrap_or_default(),
        group: text("group"),
        url: text("url").unwrap_or_default(),
        interval: text("interval").unwrap_or(base.interval),
        timeout: text("timeout").unwrap_or(base.timeout),
        method: text("method").unwrap_or(base.method),
        headers,
        body: text("body"),
        conditions,
        failure_threshold: count("failure_threshold", base.failure_threshold),
        success_threshold: count("success_threshold", base.success_threshold),
        severity: text("severity")
            .and_then(|s| Severity::parse(&s))
            .unwrap_or(base.severity),
        insecure: table
            .get("insecure")
            .and_then(Item::as_bool)
            .unwrap_or(base.insecure),
        follow_redirects: match text("follow_redirects").as_deref() {
            Some("any") => FollowRedirects::Any,
            Some("none") => FollowRedirects::None,
            _ => base.follow_redirects,
        },
        heartbeat: text("heartbeat"),
    }
}

fn follow_redirects_str(f: FollowRedirects) -> &'static str {
    match f {
        FollowRedirects::SameHost => "same-host",
        FollowRedirects::Any => "any",
        FollowRedirects::None => "none",
    }
}

/// Whether a duration written as `text` means the same as `default`.
fn same_duration(text: &str, default: Duration) -> bool {
    humantime::parse_duration(text.trim()).ok() == Some(default)
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Writes the draft into `table`, key by key; see [`put`] for what is left alone.
fn write_draft(table: &mut Table, d: &MonitorDraft) {
    let string = |s: &str| {
        let s = s.to_owned();
        move |v: &Value| v.as_str() == Some(s.as_str())
    };
    let name = d.name.trim();
    put(table, "name", Some(name.into()), false, string(name));
    let group = non_empty(d.group.as_deref());
    put(
        table,
        "group",
        group.map(Value::from),
        false,
        string(group.unwrap_or_default()),
    );
    let url = d.url.trim();
    let url_value = (!url.is_empty()).then(|| Value::from(url));
    put(table, "url", url_value, false, string(url));
    let heartbeat = non_empty(d.heartbeat.as_deref());
    put(
        table,
        "heartbeat",
        heartbeat.map(Value::from),
        false,
        string(heartbeat.unwrap_or_default()),
    );
    let method = d.method.trim().to_ascii_uppercase();
    put(
        table,
        "method",
        Some(method.as_str().into()),
        method == defaults::method().as_str(),
        |v: &Value| v.as_str().is_some_and(|m| m.eq_ignore_ascii_case(&method)),
    );
    write_headers(table, &d.headers);
    let body = d.body.as_deref().filter(|b| !b.is_empty());
    put(
        table,
        "body",
        body.map(Value::from),
        false,
        string(body.unwrap_or_default()),
    );
    let interval = d.interval.trim();
    put(
        table,
        "interval",
        Some(interval.into()),
        same_duration(interval, defaults::interval()),
        string(interval),
    );
    let timeout = d.timeout.trim();
    put(
        table,
        "timeout",
        Some(timeout.into()),
        same_duration(timeout, defaults::timeout()),
        string(timeout),
    );
    write_conditions(table, &d.conditions);
    let count = |n: u32| move |v: &Value| v.as_integer() == Some(i64::from(n));
    put(
        table,
        "failure_threshold",
        Some(i64::from(d.failure_threshold).into()),
        d.failure_threshold == defaults::failure_threshold(),
        count(d.failure_threshold),
    );
    put(
        table,
        "success_threshold",
        Some(i64::from(d.success_threshold).into()),
        d.success_threshold == defaults::success_threshold(),
        count(d.success_threshold),
    );
    let severity = d.severity.as_str();
    put(
        table,
        "severity",
        Some(severity.into()),
        d.severity == Severity::default(),
        string(severity),
    );
    put(
        table,
        "insecure",
        Some(d.insecure.into()),
        !d.insecure,
        |v: &Value| v.as_bool() == Some(d.insecure),
    );
    let follow = follow_redirects_str(d.follow_redirects);
    put(
        table,
        "follow_redirects",
        Some(follow.into()),
        d.follow_redirects == FollowRedirects::default(),
        string(follow),
    );
}

/// Sets one key. `None` removes it. A value that already `same`s is left exactly as written,
/// comments and quoting included; a changed value keeps the comments around it; an absent
/// key stays absent while the new value is what leaving it out means (`is_default`).
fn put(
    table: &mut Table,
    key: &str,
    want: Option<Value>,
    is_default: bool,
    same: impl Fn(&Value) -> bool,
) {
    match (table.get_mut(key), want) {
        (Some(_), None) => {
            table.remove(key);
        }
        (None, None) => {}
        (None, Some(value)) => {
            if !is_default {
                table.insert(key, Item::Value(value));
            }
        }
        (Some(Item::Value(old)), Some(_)) if same(old) => {}
        (Some(Item::Value(old)), Some(mut value)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        // Only `get_mut` on the existing entry keeps the key's own comments; `insert` would
        // reformat the key.
        (Some(item), Some(value)) => *item = Item::Value(value),
    }
}

/// Headers are updated entry by entry, so an inline table stays inline and a
/// `[monitors.headers]` table stays a table.
fn write_headers(table: &mut Table, headers: &BTreeMap<String, String>) {
    write_map(table, "headers", headers);
}

/// A map of strings (`headers`, `phones`) updated entry by entry: an inline table stays
/// inline, a sub-table stays a table, an unchanged entry keeps its comments.
fn write_map(table: &mut Table, key: &str, headers: &BTreeMap<String, String>) {
    let existing = table.get_mut(key).and_then(Item::as_table_like_mut);
    match existing {
        Some(_) if headers.is_empty() => {
            table.remove(key);
        }
        Some(t) => {
            let stale: Vec<String> = t
                .iter()
                .map(|(k, _)| k.to_owned())
                .filter(|k| !headers.contains_key(k))
                .collect();
            for k in stale {
                t.remove(&k);
            }
            for (k, v) in headers {
                match t.get_mut(k) {
                    Some(Item::Value(old)) if old.as_str() == Some(v.as_str()) => {}
                    Some(Item::Value(old)) => {
                        let mut value = Value::from(v.as_str());
                        *value.decor_mut() = old.decor().clone();
                        *old = value;
                    }
                    _ => {
                        t.insert(k, toml_edit::value(v.as_str()));
                    }
                }
            }
        }
        None if headers.is_empty() => {}
        None => {
            let mut inline = toml_edit::InlineTable::new();
            for (k, v) in headers {
                inline.insert(k, v.as_str().into());
            }
            table.insert(key, toml_edit::value(inline));
        }
    }
}

/// Conditions are replaced element by element, so a one-condition-per-line array keeps its
/// layout and the comments between its lines.
fn write_conditions(table: &mut Table, conditions: &[String]) {
    let existing = table.get_mut("conditions").and_then(Item::as_array_mut);
    match existing {
        Some(_) if conditions.is_empty() => {
            table.remove("conditions");
        }
        Some(array) => {
            while array.len() > conditions.len() {
                array.remove(array.len() - 1);
            }
            for (i, c) in conditions.iter().enumerate() {
                match array.get(i) {
                    Some(old) if old.as_str() == Some(c.as_str()) => {}
                    Some(_) => {
                        array.replace(i, c.as_str());
                    }
                    None => {
                        let mut value = Value::from(c.as_str());
                        // A new line like its neighbours in a multi-line array.
                        if let Some(prefix) = array
                            .get(i.saturating_sub(1))
                            .and_then(|v| v.decor().prefix())
                            .and_then(|p| p.as_str())
                            .filter(|p| p.contains('\n'))
                        {
                            value.decor_mut().set_prefix(prefix.to_owned());
                            value.decor_mut().set_suffix("");
                            array.push_formatted(value);
                        } else {
                            array.push(value);
                        }
                    }
                }
            }
        }
        None if conditions.is_empty() => {}
        None => {
            let array: toml_edit::Array = conditions.iter().map(String::as_str).collect();
            table.insert("conditions", toml_edit::value(array));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/home/alice/.config/foghorn/foghorn.toml";

    /// A file as a person writes it: comments everywhere, keys the editor doesn't know.
    const COMMENTED: &str = r#"# Alice's monitors. Keep this file tidy!

[me]
names = ["Alice Smith"]   # for on-call

# The public API: page me.
[[monitors]]
name = "api"                       # unique
url = "https://api.example.com/health"
interval = "1m"                    # slow endpoint
conditions = [
    "[STATUS] == 200",   # must answer
    "[RESPONSE_TIME] < 500",
]
flap = { changes = 4, within = "10m" }
severity = "critical"

# Internal database.
[[monitors]]
name = "database"
url = "tcp://db.internal:5432"
ca_file = "/etc/ssl/internal-ca.pem"
headers = { "X-Team" = "core" }

[notifications]
enabled = true   # native notifications
"#;

    fn path() -> &'static Path {
        Path::new(PATH)
    }

    fn draft(name: &str, url: &str) -> MonitorDraft {
        MonitorDraft {
            name: name.to_owned(),
            url: url.to_owned(),
            ..MonitorDraft::default()
        }
    }

    fn lines_of(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn a_draft_reads_values_as_written_and_defaults_for_the_rest() {
        let d = read_draft(COMMENTED, "api").expect("api");
        assert_eq!(d.interval, "1m");
        assert_eq!(d.timeout, "10s");
        assert_eq!(d.method, "GET");
        assert_eq!(d.conditions, ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]);
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!((d.failure_threshold, d.success_threshold), (2, 1));
        let db = read_draft(COMMENTED, "database").expect("database");
        assert_eq!(db.headers.get("X-Team").map(String::as_str), Some("core"));
        assert!(matches!(
            read_draft(COMMENTED, "nope"),
            Err(EditError::NotFound(_))
        ));
    }

    #[test]
    fn saving_an_unchanged_draft_changes_nothing() {
        for id in ["api", "database"] {
            let d = read_draft(COMMENTED, id).expect(id);
            let edited = upsert_monitor(COMMENTED, path(), Some(id), &d).expect(id);
            assert_eq!(edited.text, COMMENTED, "{id}");
        }
    }

    /// Each edit, and exactly the lines it must change: everything else, comments and
    /// unknown keys included, comes back as it was.
    #[test]
    fn edits_change_only_their_own_lines() {
        type Edit = fn(&mut MonitorDraft);
        /// What the edit is, the monitor, the edit, and each line it turns into another.
        type Case<'a> = (&'a str, &'a str, Edit, &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            (
                "interval keeps its comment",
                "api",
                |d| d.interval = "30s".into(),
                &[(
                    "interval = \"1m\"                    # slow endpoint",
                    "interval = \"30s\"                    # slow endpoint",
                )],
            ),
            (
                "one condition in a multi-line array",
                "api",
                |d| d.conditions[1] = "[RESPONSE_TIME] < 800".into(),
                &[(
                    "    \"[RESPONSE_TIME] < 500\",",
                    "    \"[RESPONSE_TIME] < 800\",",
                )],
            ),
            (
                "rename keeps the comment above the table",
                "api",
                |d| d.name = "public api".into(),
                &[(
                    "name = \"api\"                       # unique",
                    "name = \"public api\"                       # unique",
                )],
            ),
            (
                "a header value in an inline table",
                "database",
                |d| {
                    d.headers.insert("X-Team".into(), "platform".into());
                },
                &[(
                    "headers = { \"X-Team\" = \"core\" }",
                    "headers = { \"X-Team\" = \"platform\" }",
                )],
            ),
        ];
        for (what, id, edit, changes) in cases {
            let mut d = read_draft(COMMENTED, id).expect(what);
            edit(&mut d);
            let edited = upsert_monitor(COMMENTED, path(), Some(id), &d).expect(what);
            let mut expected = COMMENTED.to_owned();
            for (from, to) in *changes {
                assert!(expected.contains(from), "{what}: fixture lacks {from:?}");
                expected = expected.replacen(from, to, 1);
            }
            assert_eq!(lines_of(&edited.text), lines_of(&expected), "{what}");
        }
    }

    #[test]
    fn a_new_key_is_added_and_a_cleared_one_removed() {
        let mut d = read_draft(COMMENTED, "database").expect("database");
        d.timeout = "3s".into();
        d.headers.clear();
        let edited = upsert_monitor(COMMENTED, path(), Some("database"), &d).expect("edit");
        assert!(!edited.text.contains("X-Team"), "{}", edited.text);
        assert!(
            edited
                .text
                .contains("ca_file = \"/etc/ssl/internal-ca.pem\"\ntimeout = \"3s\"\n"),
            "{}",
            edited.text
        );
        let db = &edited.config.monitors[1];
        assert_eq!(db.timeout, Duration::from_secs(3));
        assert_eq!(
            db.ca_file.as_deref(),
            Some(Path::new("/etc/ssl/internal-ca.pem"))
        );
    }

    #[test]
    fn a_new_monitor_goes_after_the_others_with_only_non_default_keys() {
        let mut d = draft("checkout", "http://127.0.0.1:8080/health");
        d.conditions = vec!["[STATUS] == 200".into()];
        d.interval = "30s".into();
        d.severity = Severity::Minor;
        let edited = upsert_monitor(COMMENTED, path(), None, &d).expect("add");
        let expected_table =
            "\n[[monitors]]\nname = \"checkout\"\nurl = \"http://127.0.0.1:8080/health\"\n\
             conditions = [\"[STATUS] == 200\"]\nseverity = \"minor\"\n\n[notifications]";
        assert!(edited.text.contains(expected_table), "{}", edited.text);
        assert!(edited
            .text
            .starts_with(&COMMENTED[..COMMENTED.find("[notifications]").unwrap_or(0)]));
        assert!(edited
            .text
            .ends_with("enabled = true   # native notifications\n"));
        let names: Vec<&str> = edited.config.monitors.iter().map(|m| m.name()).collect();
        assert_eq!(names, ["api", "database", "checkout"]);
    }

    #[test]
    fn the_first_monitor_of_an_empty_file() {
        let edited =
            upsert_monitor("", path(), None, &draft("api", "https://a.example/")).expect("add");
        assert_eq!(
            edited.text,
            "[[monitors]]\nname = \"api\"\nurl = \"https://a.example/\"\n"
        );
    }

    #[test]
    fn a_comment_only_file_keeps_its_comments_above_the_first_monitor() {
        let d = draft("api", "https://a.example/");
        let edited = upsert_monitor("# Mine.\n", path(), None, &d).expect("add");
        assert_eq!(
            edited.text,
            "# Mine.\n\n[[monitors]]\nname = \"api\"\nurl = \"https://a.example/\"\n"
        );
        let emptied = delete_monitor(&edited.text, path(), "api").expect("delete");
        let again = upsert_monitor(&emptied.text, path(), None, &d).expect("add again");
        assert_eq!(again.text.matches("# Mine.").count(), 1, "{}", again.text);
        let placeholder = upsert_monitor(NO_MONITORS, path(), None, &d).expect("add");
        assert!(
            placeholder.text.starts_with("[[monitors]]"),
            "{}",
            placeholder.text
        );
    }

    #[test]
    fn deleting_removes_the_table_and_its_comment_only() {
        let edited = delete_monitor(COMMENTED, path(), "api").expect("delete");
        let start = COMMENTED.find("# The public API").unwrap_or(0);
        let end = COMMENTED.find("# Internal database.").unwrap_or(0);
        let expected = format!("{}{}", &COMMENTED[..start], &COMMENTED[end..]);
        assert_eq!(edited.text, expected);
        assert_eq!(edited.config.monitors.len(), 1);

        let only = "[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\n";
        let emptied = delete_monitor(only, path(), "a").expect("delete the last");
        assert!(emptied.config.monitors.is_empty());
        assert!(
            !emptied.text.trim().is_empty(),
            "an empty file would not load"
        );
    }

    #[test]
    fn refusals() {
        let cases: &[(&str, Option<&str>, MonitorDraft, &str)] = &[
            (
                "duplicate name",
                None,
                draft("API", "http://x/"),
                "already named \"API\"",
            ),
            (
                "rename onto another",
                Some("database"),
                draft("api", "tcp://db:5432"),
                "already named",
            ),
            (
                "unknown original",
                Some("gone"),
                draft("gone", "http://x/"),
                "no monitor named \"gone\"",
            ),
            (
                "invalid condition",
                None,
                MonitorDraft {
                    conditions: vec!["[STATUS]==200".into()],
                    ..draft("new", "http://x/")
                },
                "condition 1 is invalid: `==` needs a space on both sides",
            ),
            ("no name", None, draft("  ", "http://x/"), "needs a name"),
            (
                "bad interval, in the loader's words",
                None,
                MonitorDraft {
                    interval: "soon".into(),
                    ..draft("new", "http://x/")
                },
                "interval: invalid duration \"soon\"",
            ),
            (
                "bad url",
                None,
                draft("new", "ftp://x/"),
                "url: must be an http://",
            ),
        ];
        for (what, original, d, needle) in cases {
            let err = upsert_monitor(COMMENTED, path(), *original, d)
                .expect_err(what)
                .to_string();
            assert!(err.contains(needle), "{what}: {err}");
        }
        let err = delete_monitor(COMMENTED, path(), "gone").expect_err("delete missing");
        assert!(matches!(err, EditError::NotFound(_)), "{err}");
    }

    /// The window shows a refusal next to the field it names, so it never has to read the
    /// field's name out of the message.
    #[test]
    fn a_refusal_names_the_drafts_field() {
        /// What, the original, the draft, the field named, words of the message.
        type Case = (
            &'static str,
            Option<&'static str>,
            MonitorDraft,
            Option<&'static str>,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "no name",
                None,
                draft(" ", "http://x/"),
                Some("name"),
                "the monitor needs a name",
            ),
            (
                "duplicate",
                None,
                draft("API", "http://x/"),
                Some("name"),
                "already named",
            ),
            (
                "second condition",
                None,
                MonitorDraft {
                    conditions: vec!["[STATUS] == 200".into(), "[STATUS]==200".into()],
                    ..draft("new", "http://x/")
                },
                Some("conditions[1]"),
                "condition 2 is invalid",
            ),
            (
                "interval of a new monitor",
                None,
                MonitorDraft {
                    interval: "soon".into(),
                    ..draft("new", "http://x/")
                },
                Some("interval"),
                "invalid duration \"soon\"",
            ),
            (
                "timeout of an edited one",
                Some("api"),
                MonitorDraft {
                    timeout: "0s".into(),
                    ..draft("api", "http://x/")
                },
                Some("timeout"),
                "must be more than 0s",
            ),
            (
                "url",
                None,
                draft("new", "ftp://x/"),
                Some("url"),
                "must be an http://",
            ),
            (
                "unknown original",
                Some("gone"),
                draft("gone", "http://x/"),
                None,
                "no monitor named",
            ),
        ];
        for (what, original, d, field, needle) in cases {
            let err = upsert_monitor(COMMENTED, path(), *original, d).expect_err(what);
            assert_eq!(err.field(), *field, "{what}: {err}");
            if let EditError::Draft(p) = &err {
                assert!(p.message.contains(needle), "{what}: {}", p.message);
                assert!(
                    !p.message.contains("foghorn.toml:"),
                    "{what}: {}",
                    p.message
                );
            } else {
                assert!(err.to_string().contains(needle), "{what}: {err}");
            }
        }
    }

    #[test]
    fn a_broken_file_is_not_edited() {
        let err = upsert_monitor("[[monitors]\n", path(), None, &draft("a", "http://x/"))
            .expect_err("syntax");
        assert!(matches!(err, EditError::Syntax(_)), "{err}");
        let inline = "monitors = [{ name = \"a\", url = \"http://x/\" }]\n";
        let err =
            upsert_monitor(inline, path(), None, &draft("b", "http://y/")).expect_err("inline");
        assert!(matches!(err, EditError::Unsupported), "{err}");
    }

    #[test]
    fn a_draft_becomes_the_monitor_that_saving_would_run() {
        let mut d = draft("t", "http://127.0.0.1:9/");
        d.conditions = vec!["[STATUS] == 200".into()];
        d.timeout = "2s".into();
        let m = monitor_from_draft(&d).expect("monitor");
        assert_eq!((m.name(), m.timeout), ("t", Duration::from_secs(2)));
        let err = monitor_from_draft(&MonitorDraft {
            timeout: "0s".into(),
            ..d
        })
        .expect_err("zero timeout");
        assert_eq!(err.field(), Some("timeout"));
        assert!(
            err.to_string().starts_with("timeout: must be more than 0s"),
            "{err}"
        );
    }

    #[test]
    fn condition_problems_point_at_the_character() {
        assert_eq!(validate_condition("[STATUS] == 200"), Ok(()));
        let p = validate_condition("[STATUS]==200").expect_err("cramped");
        assert_eq!(p.column, 9);
        assert!(p.message.contains("space on both sides"), "{}", p.message);
        let p = validate_condition("[STATUSS] == 200").expect_err("unknown placeholder");
        assert_eq!(p.column, 1);
    }

    #[test]
    fn saving_is_atomic_and_refuses_a_file_changed_underneath() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("foghorn.toml");
        std::fs::write(&file, COMMENTED).expect("write");
        let edited =
            upsert_monitor(COMMENTED, &file, None, &draft("new", "http://x/")).expect("edit");

        std::fs::write(&file, format!("{COMMENTED}# edited by hand\n")).expect("write");
        let err = save_config(&file, Some(COMMENTED), &edited.text).expect_err("changed");
        assert!(err.to_string().contains("changed on disk"), "{err}");
        assert!(err.to_string().contains("reopen the editor"), "{err}");
        assert!(std::fs::read_to_string(&file)
            .expect("read")
            .ends_with("# edited by hand\n"));

        std::fs::write(&file, COMMENTED).expect("write");
        save_config(&file, Some(COMMENTED), &edited.text).expect("save");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), edited.text);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name() != "foghorn.toml")
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn the_first_save_creates_the_file_and_its_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("config/foghorn/foghorn.toml");
        let edited = upsert_monitor("", &file, None, &draft("api", "http://x/")).expect("edit");
        save_config(&file, None, &edited.text).expect("create");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), edited.text);
        // A file that appeared meanwhile is not overwritten.
        let err = save_config(&file, None, "# other\n").expect_err("appeared");
        assert!(matches!(err, EditError::ChangedOnDisk(_)), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn saving_keeps_permissions_and_writes_through_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("dotfiles.toml");
        let link = dir.path().join("foghorn.toml");
        std::fs::write(&real, COMMENTED).expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        save_config(&link, Some(COMMENTED), "# new\n").expect("save");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).expect("read"), "# new\n");
        let mode = std::fs::metadata(&real).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
