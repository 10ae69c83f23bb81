//! The one error type that crosses into the window: `{code, message}`, so the UI branches on
//! a stable code and shows the message.

use serde::Serialize;
use ts_rs::TS;

use foghorn_core::config::edit::EditError;
use foghorn_core::engine::EngineError;
use foghorn_core::letter::LetterError;
use foghorn_core::postmortem::PostmortemError;
use foghorn_core::sla::report::SlaError;
use foghorn_core::status::StatusError;
use foghorn_core::store::StoreError;
use foghorn_core::support::SupportError;

/// Why a command failed, as the window branches on it. Serialised in snake_case; the window
/// adds `no_shell` and `unknown` for failures that never reached the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum IpcErrorCode {
    /// No such incident, monitor, letter, public incident or postmortem.
    NotFound,
    /// The action does not fit the current state (resolved, closed, cancelled…).
    Conflict,
    Storage,
    Invalid,
    /// A vendor the command needs could not be reached.
    Unavailable,
    Engine,
    /// Another monitor already has this name.
    DuplicateName,
    /// The editor's draft is refused; `field` names the field when it is about one.
    InvalidDraft,
    /// The configuration file changed since the editor read it.
    ChangedOnDisk,
    Io,
    InvalidConfig,
    InvalidLetter,
    InvalidList,
    Busy,
    Setup,
    NoSmtp,
    Changed,
    Refused,
    OutOfOrder,
    InvalidTemplate,
    Internal,
    /// The demo's monitor is not in a file.
    Demo,
    NoConfigPath,
    /// A heartbeat monitor has nothing to check.
    NotTestable,
    /// Made by the window: it is not running inside Foghorn. (Listed here, never sent, so
    /// the generated type is every code the window can see.)
    #[allow(dead_code)]
    NoShell,
    /// Made by the window: the failure had no recognisable shape.
    #[allow(dead_code)]
    Unknown,
}

impl std::fmt::Display for IpcErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => f.write_str(&s),
            _ => write!(f, "{self:?}"),
        }
    }
}

/// A failed command: a code to branch on and a message to show. When `field` names a field
/// of the form (`interval`, `conditions[0]`, `steps[1].after`), the message is said about that
/// field and belongs next to it.
#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[error("{code}: {message}")]
#[ts(export)]
pub struct IpcError {
    pub code: IpcErrorCode,
    pub message: String,
    pub field: Option<String>,
}

impl IpcError {
    pub fn new(code: IpcErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<EngineError> for IpcError {
    fn from(e: EngineError) -> Self {
        use IpcErrorCode::*;
        let code = match &e {
            EngineError::Store(StoreError::NoSuchIncident(_)) => NotFound,
            EngineError::Store(StoreError::IncidentResolved(_)) => Conflict,
            EngineError::Store(_) => Storage,
            EngineError::UnknownMonitor(_) | EngineError::NotHeartbeat(_) => NotFound,
            EngineError::Status(StatusError::NoSuchPublicIncident(_)) => NotFound,
            EngineError::Status(StatusError::Closed(..)) => Conflict,
            EngineError::Status(StatusError::Store(_)) => Storage,
            EngineError::Status(_) => Invalid,
            EngineError::Support(SupportError::Intercom(_)) => Unavailable,
            EngineError::Support(SupportError::Store(_)) => Storage,
            EngineError::Support(_) => Invalid,
            _ => Engine,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<StoreError> for IpcError {
    fn from(e: StoreError) -> Self {
        use IpcErrorCode::*;
        let code = match &e {
            StoreError::NoSuchIncident(_) => NotFound,
            StoreError::IncidentResolved(_) => Conflict,
            _ => Storage,
        };
        IpcError::new(code, e.to_string())
    }
}

/// A refusal about one field of the draft carries the field's name apart from the message,
/// so the window shows the message beside that field.
impl From<EditError> for IpcError {
    fn from(e: EditError) -> Self {
        use IpcErrorCode::*;
        let code = match &e {
            EditError::NotFound(_) => NotFound,
            EditError::Duplicate(_) => DuplicateName,
            EditError::Draft(_) => InvalidDraft,
            EditError::ChangedOnDisk(_) => ChangedOnDisk,
            EditError::Io { .. } | EditError::Read { .. } => Io,
            EditError::NoPath => NoConfigPath,
            EditError::DemoMonitor => Demo,
            EditError::NotTestable => NotTestable,
            _ => InvalidConfig,
        };
        let field = e.field().map(str::to_owned);
        let message = match e {
            EditError::Draft(problem) if problem.field.is_some() => problem.message,
            other => other.to_string(),
        };
        IpcError {
            code,
            message,
            field,
        }
    }
}

impl From<LetterError> for IpcError {
    fn from(e: LetterError) -> Self {
        use IpcErrorCode::*;
        let code = match &e {
            LetterError::Draft(_) => InvalidLetter,
            LetterError::List(_) | LetterError::ListPath(_) | LetterError::Fill { .. } => {
                InvalidList
            }
            LetterError::Message(_) => Invalid,
            LetterError::Store(_) => Storage,
            LetterError::Busy { .. } => Busy,
            LetterError::Cancelled(_)
            | LetterError::AlreadySent(_)
            | LetterError::OtherVia { .. } => Conflict,
            LetterError::Setup(_) | LetterError::NoSlaPlans(_) => Setup,
            LetterError::Sla { .. } => Storage,
            LetterError::NoSmtp => NoSmtp,
            LetterError::NotFound(_) => NotFound,
            LetterError::Changed { .. } => Changed,
            LetterError::Refused(_) => Refused,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<PostmortemError> for IpcError {
    fn from(e: PostmortemError) -> Self {
        use IpcErrorCode::*;
        let code = match &e {
            PostmortemError::OutOfOrder(_) => OutOfOrder,
            PostmortemError::Store(
                StoreError::NoSuchIncident(_)
                | StoreError::NoSuchPostmortem(_)
                | StoreError::NoSuchRevision { .. },
            ) => NotFound,
            PostmortemError::Store(StoreError::IncidentInPostmortem { .. }) => Conflict,
            PostmortemError::Store(_) => Storage,
            PostmortemError::Template { .. } | PostmortemError::TimeZone(_) => InvalidTemplate,
            PostmortemError::Config(_) => InvalidConfig,
            PostmortemError::NoIncident => Invalid,
            PostmortemError::Export { .. } => Io,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<SlaError> for IpcError {
    fn from(e: SlaError) -> Self {
        use IpcErrorCode::*;
        let code = match &e {
            SlaError::Month(_) | SlaError::Time(_) | SlaError::Range => Invalid,
            SlaError::List(_) | SlaError::ListPath(_) => InvalidList,
            SlaError::Store(_) => Storage,
            SlaError::Config(_) => InvalidConfig,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<tauri::Error> for IpcError {
    fn from(e: tauri::Error) -> Self {
        IpcError::new(IpcErrorCode::Internal, e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, IpcError>;
