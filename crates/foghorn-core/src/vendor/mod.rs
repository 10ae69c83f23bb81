//! Vendor APIs, one module per vendor: its requests, its answers and its own words, each
//! module's `//!` linking the vendor's API reference (the descriptions the contract tests
//! run against are in `tests/`' Prism setup). They speak HTTP through [`crate::http`]; the
//! escalation feeds ([`crate::feed`]) and the ladder's channels ([`crate::deliver`]) are thin
//! adapters over them.

pub mod alertmanager;
pub mod datadog;
pub mod honeybadger;
pub mod pagerduty;
pub mod slack;
pub mod twilio;
