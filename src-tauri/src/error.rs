//! The one error type that crosses into the window: `{code, message}`, so the UI branches on
//! a stable code and shows the message.

use serde::Serialize;
use ts_rs::TS;

use foghorn_core::config_edit::EditError;
use foghorn_core::engine::EngineError;
use foghorn_core::letter::LetterError;
use foghorn_core::postmortem::PostmortemError;
use foghorn_core::sla::report::SlaError;
use foghorn_core::status::StatusError;
use foghorn_core::store::StoreError;
use foghorn_core::support::SupportError;

#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[error("{code}: {message}")]
#[ts(export)]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl From<EngineError> for IpcError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::Store(StoreError::NoSuchIncident(_)) => "not_found",
            EngineError::Store(StoreError::IncidentResolved(_)) => "conflict",
            EngineError::Store(_) => "storage",
            EngineError::UnknownMonitor(_) | EngineError::NotHeartbeat(_) => "not_found",
            EngineError::Status(StatusError::NoSuchPublicIncident(_)) => "not_found",
            EngineError::Status(StatusError::Closed(..)) => "conflict",
            EngineError::Status(StatusError::Store(_)) => "storage",
            EngineError::Status(_) => "invalid",
            EngineError::Support(SupportError::Intercom(_)) => "unavailable",
            EngineError::Support(SupportError::Store(_)) => "storage",
            EngineError::Support(_) => "invalid",
            _ => "engine",
        };
        IpcError {
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for IpcError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NoSuchIncident(_) => "not_found",
            StoreError::IncidentResolved(_) => "conflict",
            _ => "storage",
        };
        IpcError {
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<EditError> for IpcError {
    fn from(e: EditError) -> Self {
        let code = match &e {
            EditError::NotFound(_) => "not_found",
            EditError::Duplicate(_) => "duplicate_name",
            EditError::Draft(_) => "invalid_draft",
            EditError::ChangedOnDisk(_) => "changed_on_disk",
            EditError::Io { .. } => "io",
            _ => "invalid_config",
        };
        IpcError {
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<LetterError> for IpcError {
    fn from(e: LetterError) -> Self {
        let code = match &e {
            LetterError::Draft(_) => "invalid_letter",
            LetterError::List(_) | LetterError::ListPath(_) | LetterError::Fill { .. } => {
                "invalid_list"
            }
            LetterError::Message(_) => "invalid",
            LetterError::Store(_) => "storage",
            LetterError::Busy { .. } => "busy",
            LetterError::Cancelled(_)
            | LetterError::AlreadySent(_)
            | LetterError::OtherVia { .. } => "conflict",
            LetterError::Setup(_) | LetterError::NoSlaPlans(_) => "setup",
            LetterError::Sla { .. } => "storage",
            LetterError::NoSmtp => "no_smtp",
            LetterError::NotFound(_) => "not_found",
            LetterError::Changed { .. } => "changed",
            LetterError::Refused(_) => "refused",
        };
        IpcError {
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<PostmortemError> for IpcError {
    fn from(e: PostmortemError) -> Self {
        let code = match &e {
            PostmortemError::OutOfOrder(_) => "out_of_order",
            PostmortemError::Store(
                StoreError::NoSuchIncident(_)
                | StoreError::NoSuchPostmortem(_)
                | StoreError::NoSuchRevision { .. },
            ) => "not_found",
            PostmortemError::Store(StoreError::IncidentInPostmortem { .. }) => "conflict",
            PostmortemError::Store(_) => "storage",
            PostmortemError::Template { .. } | PostmortemError::TimeZone(_) => "invalid_template",
            PostmortemError::Config(_) => "invalid_config",
            PostmortemError::NoIncident => "invalid",
            PostmortemError::Export { .. } => "io",
        };
        IpcError {
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<SlaError> for IpcError {
    fn from(e: SlaError) -> Self {
        let code = match &e {
            SlaError::Month(_) | SlaError::Time(_) | SlaError::Range => "invalid",
            SlaError::List(_) | SlaError::ListPath(_) => "invalid_list",
            SlaError::Store(_) => "storage",
            SlaError::Config(_) => "invalid_config",
        };
        IpcError {
            code: code.to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<tauri::Error> for IpcError {
    fn from(e: tauri::Error) -> Self {
        IpcError {
            code: "internal".to_owned(),
            message: e.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, IpcError>;
