//! Tauri commands: short adapters from the window to the engine.

pub mod editor;
pub mod history;
pub mod incidents;
pub mod letter;
pub mod monitoring;
pub mod postmortem;
pub mod sla;
pub mod status;
