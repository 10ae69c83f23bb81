//! `[[monitors]]`: what to check, how often, and what counts as down. The keys a monitor
//! leaves out mean what `super::defaults` says, and the window's editor leaves them out too.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{checked, defaults, durations};
use crate::incident::Severity;
use crate::monitor::MonitorId;
use crate::secret::Confidential;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    pub name: toml::Spanned<String>,
    /// Shown as a heading in the window; monitors without one are listed first.
    #[serde(default)]
    pub group: Option<String>,
    /// `http(s)://…`, `tcp://host:port` or `dns://resolver[:port]`. Empty for heartbeat
    /// monitors, which are pinged rather than polled.
    #[serde(default, deserialize_with = "checked::monitor_url")]
    pub url: String,
    /// The query of a `dns://` monitor.
    #[serde(default)]
    pub dns: Option<DnsQuery>,
    /// A push monitor: the job pings Foghorn at least this often or an incident opens.
    #[serde(default, deserialize_with = "durations::heartbeat")]
    pub heartbeat: Option<Duration>,
    /// Redirects are followed only to the same host unless this is `"any"`; `"none"`
    /// reports the redirect itself.
    #[serde(default)]
    pub follow_redirects: FollowRedirects,
    #[serde(
        default = "defaults::interval",
        deserialize_with = "durations::interval"
    )]
    pub interval: Duration,
    #[serde(default = "defaults::timeout", deserialize_with = "durations::timeout")]
    pub timeout: Duration,
    /// HTTP method; `GET` unless the endpoint wants another.
    #[serde(default = "defaults::method", deserialize_with = "checked::method")]
    pub method: reqwest::Method,
    /// Request headers; a value may be `env:NAME` or `keyring:NAME`, and a credential
    /// (`Authorization`, `Cookie`, an API key or token header) must be.
    #[serde(default, deserialize_with = "checked::headers")]
    pub headers: std::collections::BTreeMap<String, Confidential>,
    #[serde(default)]
    pub body: Option<String>,
    /// Accept any certificate (self-signed, expired, wrong host). For internal endpoints
    /// only; `[CERTIFICATE_EXPIRATION]` still reads the certificate's date.
    #[serde(default)]
    pub insecure: bool,
    /// A PEM file of extra certificate authorities to trust, for internal CAs.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Gatus-style conditions, parsed here so a typo fails the load with a caret under it.
    #[serde(default)]
    pub conditions: Vec<crate::condition::Condition>,
    #[serde(
        default = "defaults::failure_threshold",
        deserialize_with = "checked::at_least_one"
    )]
    pub failure_threshold: u32,
    #[serde(
        default = "defaults::success_threshold",
        deserialize_with = "checked::at_least_one"
    )]
    pub success_threshold: u32,
    #[serde(default)]
    pub severity: Severity,
    /// Optional flap detection: `flap = { changes = 4, within = "10m" }`.
    #[serde(default)]
    pub flap: Option<FlapConfig>,
    /// `"manual"`: the incident stays open after the monitor comes back, until someone
    /// resolves it (for outages that need a look even once they pass).
    #[serde(default)]
    pub resolve: ResolveMode,
    /// Monitors with the same `incident_group` share one incident, which resolves once every
    /// one of them is back up.
    #[serde(default)]
    pub incident_group: Option<String>,
}

/// How a monitor's incident resolves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResolveMode {
    #[default]
    Auto,
    Manual,
}

/// The record types a DNS monitor can ask for.
pub const DNS_QUERY_TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA",
];

/// What a DNS monitor asks its resolver.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsQuery {
    pub query_name: String,
    #[serde(
        default = "defaults::query_type",
        deserialize_with = "checked::query_type"
    )]
    pub query_type: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum FollowRedirects {
    /// Follow redirects within the same host only: a health URL that suddenly redirects to
    /// a login page on another host is a failure, not a 200.
    #[default]
    SameHost,
    Any,
    None,
}

/// After `changes` ups and downs within `within`, one "flapping" notification replaces the
/// individual ones until the monitor has been stable for `within`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlapConfig {
    #[serde(deserialize_with = "checked::at_least_one")]
    pub changes: u32,
    #[serde(
        default = "defaults::flap_within",
        deserialize_with = "durations::flap_within"
    )]
    pub within: Duration,
}

impl MonitorConfig {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    pub fn id(&self) -> MonitorId {
        MonitorId::from_name(self.name())
    }

    /// Failures before the monitor is down. A missed heartbeat is already conclusive: the
    /// deadline itself is the grace period.
    pub fn effective_failure_threshold(&self) -> u32 {
        if self.heartbeat.is_some() {
            1
        } else {
            self.failure_threshold
        }
    }

    /// What the window shows as the monitor's target.
    pub fn target(&self) -> String {
        match (&self.heartbeat, &self.dns) {
            (Some(every), _) => format!("heartbeat every {}", humantime::format_duration(*every)),
            (None, Some(q)) => format!("{} {} via {}", q.query_type, q.query_name, self.url),
            (None, None) => self.url.clone(),
        }
    }
}

/// The HTTP methods a monitor may use (`method`), as the editor offers them.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The least `failure_threshold` and `success_threshold` (and other counts) may be.
pub const MIN_THRESHOLD: u32 = 1;
