//! The configuration file: its shape, where it is found, and errors that name the file, the
//! line and the key so a user can fix a typo without guessing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::secret::SecretRef;

mod alarm;
pub mod durations;
pub mod edit;
mod escalation;
mod feed;
mod intercom;
mod monitor;
mod oncall;
mod postmortem;
mod sla;
mod smtp;
mod status;

pub use alarm::AlarmConfig;
pub use escalation::{EscalationConfig, EscalationStep, StepAction};
pub use feed::{FeedConfig, FeedKind, JsonMapping};
pub use intercom::IntercomConfig;
pub use monitor::{
    DnsQuery, FlapConfig, FollowRedirects, MonitorConfig, ResolveMode, DNS_QUERY_TYPES, METHODS,
    MIN_THRESHOLD,
};
pub use oncall::{OncallConfig, OncallSource};
pub use postmortem::PostmortemConfig;
pub use sla::{CreditTier, SlaConfig, SlaPlan};
pub use smtp::SmtpConfig;
pub use status::{
    ComponentConfig, PageConfig, StatusConfig, StatusWebhookConfig, StatuspageConfig,
};

/// Why a configuration could not be used. Every variant names the file it came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{path}: cannot read the configuration: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the configuration file is empty; see the README for a minimal example")]
    Empty { path: PathBuf },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        /// The key written where the problem is (`monitors[2].interval`), when the problem
        /// is on a `key = value` line: the editor shows the message next to that field.
        key: Option<String>,
    },
    #[error("no configuration file: looked for {0}")]
    NotFound(PathBuf),
}

pub type Result<T> = std::result::Result<T, ConfigError>;

/// The whole configuration. Unknown keys are errors: a misspelt key silently ignored is a
/// monitor that never alerts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub me: Me,
    #[serde(default)]
    pub monitors: Vec<MonitorConfig>,
    #[serde(default)]
    pub feeds: Vec<FeedConfig>,
    #[serde(default)]
    pub oncall: Option<OncallConfig>,
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub notifications: NotificationConfig,
    #[serde(default)]
    pub history: HistoryConfig,
    #[serde(default)]
    pub heartbeats: HeartbeatsConfig,
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    #[serde(default)]
    pub incidents: IncidentsConfig,
    #[serde(default)]
    pub alarm: AlarmConfig,
    #[serde(default)]
    pub escalation: EscalationConfig,
    #[serde(default)]
    pub team: TeamConfig,
    #[serde(default)]
    pub status: Option<StatusConfig>,
    /// The support queue during an outage (Intercom).
    #[serde(default)]
    pub intercom: Option<IntercomConfig>,
    /// How postmortems are drafted: a team's template, the readers' time zone.
    #[serde(default)]
    pub postmortem: PostmortemConfig,
    /// Uptime guarantees per plan, for the SLA report and its credits.
    #[serde(default)]
    pub sla: SlaConfig,
}

/// What every laptop of the team shares. With `secret`, the alerts Foghorn pushes to
/// Alertmanager (an outage's start, "I am online") are signed with it and only signed ones
/// decide whose laptop escalates; without it anyone who can post to Alertmanager can.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// `env:NAME` or `keyring:NAME`; the same secret on every laptop.
    #[serde(default)]
    pub secret: Option<SecretRef>,
}

/// Limits that keep thousands of monitors from hammering anything, this laptop included.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Checks in flight at once, over all monitors.
    #[serde(
        default = "defaults::max_concurrent",
        deserialize_with = "checked::at_least_one"
    )]
    pub max_concurrent_checks: u32,
    /// Checks in flight at once against one host, so many monitors of one service never
    /// look like a flood to it.
    #[serde(
        default = "defaults::max_per_host",
        deserialize_with = "checked::at_least_one"
    )]
    pub max_per_host: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            max_concurrent_checks: defaults::max_concurrent(),
            max_per_host: defaults::max_per_host(),
        }
    }
}

/// Where heartbeat (push) monitors are pinged: `POST http://{listen}/heartbeat/{monitor-id}`.
/// Loopback by default: a job on another machine reaches it through whatever tunnel the
/// team already uses, never through a port Foghorn opens to the network on its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatsConfig {
    #[serde(default = "defaults::heartbeat_listen")]
    pub listen: std::net::SocketAddr,
    /// Optional shared token the job sends as `Authorization: Bearer …` or `?token=`.
    #[serde(default)]
    pub token: Option<SecretRef>,
}

impl Default for HeartbeatsConfig {
    fn default() -> Self {
        Self {
            listen: defaults::heartbeat_listen(),
            token: None,
        }
    }
}

/// How long check results are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Raw results are kept this long; older ones live on as hourly roll-ups.
    #[serde(
        default = "defaults::keep_raw",
        deserialize_with = "durations::keep_raw"
    )]
    pub keep_raw: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            keep_raw: defaults::keep_raw(),
        }
    }
}

/// Who the user is, matched against on-call schedules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Me {
    #[serde(default)]
    pub names: Vec<String>,
}

/// How the desktop announces changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationConfig {
    /// Send a native notification when a monitor goes down or comes back.
    #[serde(default = "defaults::yes")]
    pub enabled: bool,
    /// What someone who is not on call gets for a new incident: `"quiet"` (an ordinary
    /// notification) or `"none"`.
    #[serde(default)]
    pub when_not_on_call: OffCallNotifications,
    /// A critical incident still rings the alarm through a mute while you are on call.
    #[serde(default = "defaults::yes")]
    pub critical_overrides_mute: bool,
}

/// What someone who is not on call is told about a new incident.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffCallNotifications {
    #[default]
    Quiet,
    None,
}

/// How incidents are grouped over time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsConfig {
    /// A signal that fires again within this long after its incident resolved re-opens that
    /// incident instead of starting a new one ("0s" never re-opens).
    #[serde(
        default = "defaults::retrigger_within",
        deserialize_with = "durations::retrigger_within"
    )]
    pub retrigger_within: Duration,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        Self {
            retrigger_within: defaults::retrigger_within(),
        }
    }
}

impl Default for NotificationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            when_not_on_call: OffCallNotifications::default(),
            critical_overrides_mute: true,
        }
    }
}

/// What a key left out of a monitor means; the window's editor leaves such keys out too.
pub(crate) mod defaults {
    use std::time::Duration;
    pub fn interval() -> Duration {
        Duration::from_secs(30)
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub fn failure_threshold() -> u32 {
        2
    }
    pub fn success_threshold() -> u32 {
        1
    }
    pub fn flap_within() -> Duration {
        Duration::from_secs(600)
    }
    pub fn heartbeat_listen() -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], 7291))
    }
    pub fn max_concurrent() -> u32 {
        256
    }
    pub fn max_per_host() -> u32 {
        16
    }
    pub fn query_type() -> String {
        "A".to_owned()
    }
    pub fn keep_raw() -> Duration {
        Duration::from_secs(48 * 3600)
    }
    pub fn oncall_refresh() -> Duration {
        Duration::from_secs(300)
    }
    pub fn method() -> reqwest::Method {
        reqwest::Method::GET
    }
    pub fn yes() -> bool {
        true
    }
    pub fn feed_poll() -> Duration {
        Duration::from_secs(15)
    }
    pub fn feed_failures() -> u32 {
        8
    }
    pub fn silence_for() -> Duration {
        Duration::from_secs(4 * 3600)
    }
    pub fn fault_rate() -> u32 {
        10
    }
    pub fn online_within() -> Duration {
        Duration::from_secs(5 * 60)
    }
    pub fn handover_after() -> Duration {
        Duration::from_secs(60)
    }
    pub fn slack_api() -> String {
        "https://slack.com/api".to_owned()
    }
    pub fn twilio_api() -> String {
        "https://api.twilio.com".to_owned()
    }
    pub fn retrigger_within() -> Duration {
        Duration::from_secs(30 * 60)
    }
    pub fn alarm_volume() -> f32 {
        0.8
    }
    pub fn escalate_after() -> Duration {
        Duration::from_secs(60)
    }
    pub fn escalated_volume() -> f32 {
        1.0
    }
}

/// Deserializers that check a value while reading it, so the error carries its position.
mod checked {
    use serde::{de::Error, Deserialize, Deserializer};

    use super::DNS_QUERY_TYPES as QUERY_TYPES;

    pub fn query_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let text = String::deserialize(d)?;
        let upper = text.to_ascii_uppercase();
        if QUERY_TYPES.contains(&upper.as_str()) {
            Ok(upper)
        } else {
            Err(D::Error::custom(format!(
                "unknown DNS query type {text:?}; use one of {}",
                QUERY_TYPES.join(", ")
            )))
        }
    }

    pub fn volume<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
        let value = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&value) {
            return Err(D::Error::custom(format!(
                "volume {value} is out of range: write a number from 0 (silent) to 1 (full)"
            )));
        }
        Ok(value as f32)
    }

    pub fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let value = u32::deserialize(d)?;
        if value < super::MIN_THRESHOLD {
            return Err(D::Error::custom("must be at least 1"));
        }
        Ok(value)
    }

    pub fn method<'de, D: Deserializer<'de>>(d: D) -> Result<reqwest::Method, D::Error> {
        let text = String::deserialize(d)?;
        let upper = text.to_ascii_uppercase();
        if super::METHODS.contains(&upper.as_str()) {
            reqwest::Method::from_bytes(upper.as_bytes()).map_err(D::Error::custom)
        } else {
            Err(D::Error::custom(format!(
                "unknown HTTP method {text:?}; use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS"
            )))
        }
    }

    pub fn headers<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<std::collections::BTreeMap<String, crate::secret::Confidential>, D::Error> {
        let headers =
            std::collections::BTreeMap::<String, crate::secret::Confidential>::deserialize(d)?;
        for (name, value) in &headers {
            if value.reference().is_none() && crate::secret::is_secret_header(name) {
                return Err(D::Error::custom(format!(
                    "header `{name}` holds a credential and must not be written in clear: use \
                     \"env:VARIABLE\" or \"keyring:NAME\" (stored with `foghorn secret set NAME`)"
                )));
            }
        }
        Ok(headers)
    }

    pub fn monitor_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let text = String::deserialize(d)?;
        match url::Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(text),
            Ok(u) if u.scheme() == "tcp" && u.host().is_some() && u.port().is_some() => Ok(text),
            Ok(u) if u.scheme() == "dns" && u.host().is_some() => Ok(text),
            Ok(u) if u.scheme() == "tcp" => Err(D::Error::custom(format!(
                "{text:?}: a TCP monitor needs a host and a port, e.g. \"tcp://db.internal:5432\""
            ))),
            Ok(u) => Err(D::Error::custom(format!(
                "`url` must be an http://, https://, tcp:// or dns:// URL with a host, not {:?}",
                u.scheme()
            ))),
            Err(e) => Err(D::Error::custom(format!(
                "{text:?} is not a valid URL: {e}"
            ))),
        }
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ConfigError::NotFound(path.to_owned()),
            _ => ConfigError::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text` as if it came from `path` (which only labels errors). Values are checked
    /// while they are read, so toml attaches the offending key's position to every error.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let invalid = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message,
                key: key_at(text, offset),
            }
        };
        if text.trim().is_empty() {
            return Err(ConfigError::Empty {
                path: path.to_owned(),
            });
        }
        let config: Config = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let message = e.message().trim();
            match key_at(text, offset) {
                Some(key)
                    if !message
                        .contains(&format!("`{}`", key.rsplit('.').next().unwrap_or(""))) =>
                {
                    invalid(offset, format!("`{key}`: {message}"))
                }
                _ => invalid(offset, message.to_owned()),
            }
        })?;
        let mut config = config;
        if let Some(sound) = config.alarm.sound.take() {
            let span = sound.span();
            let written = sound.into_inner();
            let resolved = resolve_file(&written, path);
            if !resolved.is_file() {
                return Err(invalid(
                    span.start,
                    format!(
                        "`alarm.sound`: no such file {}{}",
                        resolved.display(),
                        if resolved == written {
                            String::new()
                        } else {
                            format!(" (written {:?})", written.display().to_string())
                        }
                    ),
                ));
            }
            config.alarm.sound = Some(toml::Spanned::new(span, resolved));
        }
        let mut feeds_at = text.match_indices("[[feeds]]").map(|(at, _)| at);
        for (i, feed) in config.feeds.iter().enumerate() {
            let at = feeds_at.next().unwrap_or(0);
            if let Err(problem) = feed.check() {
                return Err(invalid(at, format!("feeds[{i}]: {problem}")));
            }
        }
        let mut seen = HashSet::new();
        for (i, m) in config.monitors.iter().enumerate() {
            let at = m.name.span().start;
            if m.name().trim().is_empty() {
                return Err(invalid(
                    at,
                    format!("monitors[{i}]: `name` must not be empty"),
                ));
            }
            let dns = m.url.starts_with("dns://");
            let problem = match (m.url.is_empty(), m.heartbeat.is_some(), dns, m.dns.is_some()) {
                (true, false, _, _) => Some("needs a `url` (or `heartbeat = \"1h\"` for a job that pings Foghorn)"),
                (false, true, _, _) => Some("has both `url` and `heartbeat`: a heartbeat monitor is pinged, not polled; remove one"),
                (false, false, true, false) => Some("is a dns:// monitor without a query: add `dns = { query_name = \"example.org\", query_type = \"A\" }`"),
                (false, false, false, true) => Some("has a `dns` query but its `url` is not dns://RESOLVER"),
                _ => None,
            };
            if let Some(problem) = problem {
                return Err(invalid(
                    at,
                    format!("monitors[{i}] ({:?}) {problem}", m.name()),
                ));
            }
            if !seen.insert(m.id()) {
                return Err(invalid(
                    at,
                    format!(
                        "monitors[{i}]: another monitor already has the name {:?}",
                        m.name()
                    ),
                ));
            }
        }
        if let Some(oncall) = &config.oncall {
            let at = text.find("[oncall").unwrap_or(0);
            oncall.check(&config.feeds).map_err(|m| invalid(at, m))?;
        }
        if let Some(status) = config.status.as_mut() {
            let at = text.find("[status").unwrap_or(0);
            check_status(status, &config.monitors).map_err(|m| invalid(at, m))?;
            if let Some(page) = status.page.as_mut() {
                page.dir = resolve_file(&page.dir, path);
            }
        }
        if let Some(intercom) = &config.intercom {
            let at = text.find("[intercom").unwrap_or(0);
            intercom.check().map_err(|m| invalid(at, m))?;
        }
        if !config.sla.plans.is_empty() {
            let at = text.find("[sla").unwrap_or(0);
            let components: Vec<String> = config
                .status
                .iter()
                .flat_map(|s| s.components.iter().map(|c| c.name.clone()))
                .collect();
            let monitors: Vec<String> = config
                .monitors
                .iter()
                .map(|m| m.name().to_owned())
                .collect();
            config
                .sla
                .check(&components, &monitors)
                .map_err(|m| invalid(at, m))?;
        }
        if let Some(template) = config.postmortem.template.as_mut() {
            *template = resolve_file(template, path);
        }
        if let Some(smtp) = config.smtp.as_mut() {
            let at = text.find("[smtp").unwrap_or(0);
            smtp.check().map_err(|m| invalid(at, m))?;
            if let Some(ca) = smtp.ca_file.as_mut() {
                *ca = resolve_file(ca, path);
            }
        }
        Ok(config)
    }
}

/// What `[status]` names must exist: components once each, their monitors, and the
/// components Statuspage ids are given for.
fn check_status(
    status: &StatusConfig,
    monitors: &[MonitorConfig],
) -> std::result::Result<(), String> {
    if status.product.trim().is_empty() {
        return Err("`status.product` must not be empty".to_owned());
    }
    let mut names = HashSet::new();
    for (i, c) in status.components.iter().enumerate() {
        if c.name.trim().is_empty() {
            return Err(format!("status.components[{i}]: `name` must not be empty"));
        }
        if !names.insert(c.name.as_str()) {
            return Err(format!(
                "status.components[{i}]: another component is already called {:?}",
                c.name
            ));
        }
        for m in &c.monitors {
            if !monitors.iter().any(|known| known.name() == m) {
                return Err(format!(
                    "status.components[{i}] ({:?}): no monitor is called {m:?}",
                    c.name
                ));
            }
        }
    }
    for (state, source) in &status.templates {
        if crate::status::PublicState::parse(state).is_none() {
            return Err(format!(
                "status.templates: {state:?} is not a state (one of investigating, identified, \
                 monitoring, resolved, scheduled, in_progress, verifying, completed)"
            ));
        }
        crate::status::template::check(source)
            .map_err(|e| format!("status.templates.{state}: {e}"))?;
    }
    if let Some(sp) = &status.statuspage {
        for name in sp.component_ids.keys() {
            if !names.contains(name.as_str()) {
                return Err(format!(
                    "status.statuspage.component_ids: {name:?} is not one of `status.components`"
                ));
            }
        }
        if sp.page_id.trim().is_empty() {
            return Err("`status.statuspage.page_id` must not be empty".to_owned());
        }
    }
    Ok(())
}

/// A path written in the configuration: `~/` is the home directory, a relative path is
/// relative to the configuration file's directory.
fn resolve_file(written: &Path, config_path: &Path) -> PathBuf {
    if let Ok(rest) = written.strip_prefix("~") {
        if let Some(home) = directories::BaseDirs::new() {
            return home.home_dir().join(rest);
        }
    }
    if written.is_relative() {
        if let Some(dir) = config_path.parent() {
            return dir.join(written);
        }
    }
    written.to_owned()
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key whose value starts at `offset`, e.g. `monitors[1].interval`, found from
/// the text because toml's errors give a position but not always the key.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let line = line.split('\n').next().unwrap_or("");
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let mut table = String::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for header in text[..line_start]
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('['))
    {
        let header = header.split('#').next().unwrap_or("").trim();
        if let Some(name) = header.strip_prefix("[[").and_then(|h| h.strip_suffix("]]")) {
            let n = counts.entry(name.trim().to_owned()).or_insert(0);
            table = format!("{}[{}]", name.trim(), *n);
            *n += 1;
        } else if let Some(name) = header.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            table = name.trim().to_owned();
        }
    }
    Some(if table.is_empty() {
        key.to_owned()
    } else {
        format!("{table}.{key}")
    })
}

/// Where the configuration comes from: `--config`, then `$FOGHORN_CONFIG`, then the OS
/// config dir. `None` when there is no OS config dir (no home directory at all).
pub fn resolve_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    if let Some(p) = std::env::var_os("FOGHORN_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    crate::paths::default_config_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Severity;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("foghorn.toml"))
    }

    #[test]
    fn the_design_example_is_valid() {
        let config = parse(
            r#"
[me]
names = ["Alice Smith", "alice@example.com"]

[[monitors]]
name = "api"
url = "https://api.example.com/health"
interval = "30s"
timeout = "5s"
conditions = ["[STATUS] == 200", "[RESPONSE_TIME] < 500", "[BODY].status == ok"]
failure_threshold = 2
severity = "critical"

[[feeds]]
kind = "alertmanager"
url = "http://127.0.0.1:9093"

[oncall]
calendar = "https://example.com/oncall.ics"

[smtp]
url = "smtp://127.0.0.1:2525"
from = "Alice Smith <alice@example.com>"
password = "keyring:smtp"
"#,
        )
        .expect("valid");
        assert_eq!(config.monitors[0].interval, Duration::from_secs(30));
        assert_eq!(config.monitors[0].severity, Severity::Critical);
        assert_eq!(config.feeds[0].kind, FeedKind::Alertmanager);
    }

    #[test]
    fn defaults_apply() {
        let c = parse("[[monitors]]\nname = \"a\"\nurl = \"http://127.0.0.1/\"\n").expect("ok");
        let m = &c.monitors[0];
        assert_eq!(
            (m.interval, m.failure_threshold, m.success_threshold),
            (Duration::from_secs(30), 2, 1)
        );
        assert_eq!(m.severity, Severity::Major);
        let c = parse("[oncall]\ncalendar = \"oncall.ics\"\n").expect("ok");
        assert_eq!(c.oncall.map(|o| o.refresh), Some(Duration::from_secs(300)));
        let c = parse(
            "[[feeds]]\nkind = \"pagerduty\"\nname = \"pd\"\nurl = \"http://x\"\ntoken = \"env:T\"\n\n\
             [oncall]\nsource = [\"calendar\", \"pagerduty\"]\ncalendar = \"oncall.ics\"\nescalation_level = 2\n",
        )
        .expect("ok");
        let oncall = c.oncall.expect("oncall");
        assert!(oncall.uses(OncallSource::Calendar) && oncall.uses(OncallSource::Pagerduty));
        assert_eq!(oncall.escalation_level, 2);
        assert_eq!(
            oncall
                .pagerduty_feed(&c.feeds)
                .and_then(|f| f.name.as_deref()),
            Some("pd")
        );
    }

    /// Each bad file must produce an error naming the file, the line and the key.
    #[test]
    fn errors_name_file_line_and_key() {
        let cases: &[(&str, usize, &str)] = &[
            ("[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\nintervall = \"5s\"\n", 4, "intervall"),
            ("[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\ninterval = 5\n", 4, "interval"),
            ("[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\ninterval = \"soon\"\n", 4, "soon"),
            ("[[monitors]]\nname = \"a\"\nurl = \"ftp://x/\"\n", 3, "ftp"),
            ("[[monitors]]\nname = \"a\"\nurl = \"tcp://db.internal\"\n", 3, "needs a host and a port"),
            (
                "[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\nconditions = [\"[STATUS]==200\"]\n",
                4,
                "a space on both sides",
            ),
            ("[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\nseverity = \"huge\"\n", 4, "huge"),
            (
                "[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\n\n[[monitors]]\nname = \"a\"\nurl = \"http://y/\"\n",
                6,
                "already",
            ),
            ("[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\nfailure_threshold = 0\n", 4, "at least 1"),
            ("[[feeds]]\nkind = \"alertmanager\"\nurl = \"http://x\"\ntoken = \"hunter2\"\n", 4, "in clear"),
            ("[me\n", 1, "unclosed table"),
            ("[me]\n\n[[feeds]]\nkind = \"datadog\"\nurl = \"http://x\"\nproject = \"42\"\n", 3, "`project` is for honeybadger feeds, not datadog"),
            ("[[feeds]]\nkind = \"json\"\nurl = \"http://x\"\n", 1, "needs `mapping"),
            ("[escalation]\n[[escalation.steps]]\nafter = \"0s\"\naction = \"fax\"\n", 4, "fax"),
            ("[[monitors]]\nname = \"a\"\n", 2, "needs a `url`"),
            ("[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\nheartbeat = \"1h\"\n", 2, "both `url` and `heartbeat`"),
            ("[[monitors]]\nname = \"a\"\nurl = \"dns://127.0.0.1\"\n", 2, "without a query"),
            (
                "[[monitors]]\nname = \"a\"\nurl = \"dns://1.1.1.1\"\ndns = { query_name = \"x.org\", query_type = \"AXFR\" }\n",
                4,
                "unknown DNS query type",
            ),
            ("[[monitors]]\nname = \"a\"\nurl = \"http://x/\"\nfollow_redirects = \"all\"\n", 4, "same-host"),
            ("[oncall]\ncalendar = \"x.ics\"\nrefresh = \"often\"\n", 3, "often"),
            ("[oncall]\ncalendar = \"x.ics\"\nrefresh = \"5s\"\n", 3, "`refresh` must be at least 30s"),
            ("[oncall]\nrefresh = \"5m\"\n", 1, "`oncall.calendar` is missing"),
            ("[oncall]\nsource = \"pagerduty\"\n", 1, "no `[[feeds]]` entry has `kind = \"pagerduty\"`"),
            ("[oncall]\nsource = \"opsgenie\"\n", 2, "`source` is \"calendar\", \"pagerduty\""),
            ("[oncall]\nsource = []\n", 2, "must name"),
            ("[oncall]\nsource = \"pagerduty\"\ncalendar = \"x.ics\"\n", 1, "does not include \"calendar\""),
            ("[oncall]\ncalendar = \"x.ics\"\nfeed = \"pd\"\n", 1, "`oncall.feed` is given"),
            ("[oncall]\nsource = \"pagerduty\"\nescalation_level = 0\n", 3, "starts at 1"),
            (
                "[[feeds]]\nkind = \"pagerduty\"\nname = \"a\"\nurl = \"http://x\"\ntoken = \"env:T\"\n\n\
                 [[feeds]]\nkind = \"pagerduty\"\nname = \"b\"\nurl = \"http://y\"\ntoken = \"env:T\"\n\n\
                 [oncall]\nsource = \"pagerduty\"\n",
                13,
                "name one with `oncall.feed`",
            ),
            (
                "[[feeds]]\nkind = \"pagerduty\"\nname = \"a\"\nurl = \"http://x\"\ntoken = \"env:T\"\n\n\
                 [oncall]\nsource = \"pagerduty\"\nfeed = \"b\"\n",
                7,
                "no PagerDuty feed is called \"b\"",
            ),
            ("[alarm]\nvolume = 0.5\nescalated_volume = 1.5\n", 3, "escalated_volume"),
            ("[alarm]\nvolume = -1\n", 2, "from 0 (silent) to 1"),
            ("[alarm]\nescalate_after = \"soon\"\n", 2, "escalate_after"),
            ("[alarm]\nloud = true\n", 2, "loud"),
            ("\n[alarm]\nsound = \"/nonexistent/klaxon.ogg\"\n", 3, "no such file /nonexistent/klaxon.ogg"),
        ];
        for (text, line, needle) in cases {
            let err = parse(text).expect_err(text).to_string();
            assert!(
                err.starts_with(&format!("foghorn.toml:{line}:")),
                "{text:?} → {err}"
            );
            assert!(err.contains(needle), "{text:?} → {err} (wanted {needle:?})");
        }
    }

    #[test]
    fn dns_and_heartbeat_monitors() {
        let c = parse(
            "[[monitors]]\nname = \"dns\"\nurl = \"dns://127.0.0.1:5353\"\ndns = { query_name = \"example.org\", query_type = \"aaaa\" }\n\n\
             [[monitors]]\nname = \"backup\"\nheartbeat = \"24h\"\n",
        )
        .expect("valid");
        assert_eq!(
            c.monitors[0].dns.as_ref().map(|d| d.query_type.as_str()),
            Some("AAAA")
        );
        assert_eq!(
            c.monitors[1].heartbeat,
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(c.heartbeats.listen.port(), 7291);
    }

    #[test]
    fn alarm_settings() {
        let c = parse("[me]\nnames = []\n").expect("valid");
        assert_eq!(
            crate::alarm::AlarmSettings::from_config(&c.alarm),
            crate::alarm::AlarmSettings::default()
        );

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("klaxon.wav"), b"RIFF").expect("write");
        let c = Config::parse(
            "[alarm]\nvolume = 0.25\nescalate_after = \"2m\"\nescalated_volume = 1\nsound = \"klaxon.wav\"\n",
            &dir.path().join("foghorn.toml"),
        )
        .expect("valid");
        let s = crate::alarm::AlarmSettings::from_config(&c.alarm);
        assert_eq!(s.volume, 0.25);
        assert_eq!(s.escalate_after, Duration::from_secs(120));
        assert_eq!(s.escalated_volume, 1.0);
        assert_eq!(s.sound, Some(dir.path().join("klaxon.wav")));
    }

    #[test]
    fn an_empty_file_says_so() {
        let err = parse("  \n\n").expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn a_missing_file_says_where_it_looked() {
        let err = Config::load(Path::new("/nonexistent/foghorn.toml")).expect_err("missing");
        assert!(
            err.to_string().contains("/nonexistent/foghorn.toml"),
            "{err}"
        );
    }
}
