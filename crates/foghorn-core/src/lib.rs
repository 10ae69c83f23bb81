//! Foghorn's engine: configuration, storage, monitors, incidents and the events the desktop
//! shell turns into a tray icon, a window and notifications. Nothing here knows about a GUI,
//! so every behaviour is testable without a display.

pub mod alarm;
pub mod check;
pub mod clock;
pub mod condition;
pub mod config;
pub mod crash_point;
pub mod deadline;
pub mod deliver;
pub mod demo;
pub mod engine;
pub mod engine_lock;
pub mod event;
pub mod feed;
pub mod flap;
pub mod heartbeat;
pub mod http;
pub mod import;
pub mod incident;
pub mod interval;
pub mod letter;
pub mod markdown;
pub mod monitor;
pub mod mute;
pub mod network;
pub mod notify;
pub mod oncall;
pub mod outbox;
pub mod paths;
pub mod policy;
pub mod postmortem;
pub mod private_fs;
pub mod secret;
pub mod sla;
pub mod status;
pub mod store;
pub mod support;
pub mod team;
pub mod time_fmt;
pub mod vendor;
