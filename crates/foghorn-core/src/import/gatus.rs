//! Gatus `endpoints:` and `external-endpoints:` as Foghorn `[[monitors]]`.
//!
//! Foghorn's conditions are Gatus' own syntax, so most endpoints convert one to one. Where
//! the two differ, the Gatus behaviour is written out explicitly (Gatus checks every 60s, so
//! every monitor states its interval; alerts' thresholds become the monitor's) and anything
//! Foghorn cannot do is a warning rather than a silent omission.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use toml_edit::{value, Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table};

use super::yaml::{self, Node, Value};
use super::{Import, ImportError};
use crate::condition::Condition;
use crate::config::{Config, ConfigError, HeartbeatsConfig};
use crate::monitor::MonitorId;

/// Gatus' interval when an endpoint gives none (Foghorn's own default is 30s).
const GATUS_INTERVAL: Duration = Duration::from_secs(60);
/// Gatus' alert thresholds when an alert gives none.
const GATUS_FAILURE_THRESHOLD: u32 = 3;
const GATUS_SUCCESS_THRESHOLD: u32 = 2;

/// The comment above a monitor written commented out because Foghorn could not run it.
const FIX_THEN_UNCOMMENT: &str =
    "Commented out: once the warning above is dealt with, remove the leading \"# \".";

/// Gatus' top-level sections besides the endpoints, and what a Foghorn user does instead.
const TOP_LEVEL: &[(&str, &str)] = &[
    (
        "alerting",
        "Foghorn raises desktop notifications; the alerts' thresholds were kept on each monitor",
    ),
    ("storage", "Foghorn keeps its history in its own database"),
    (
        "web",
        "Foghorn serves no web page; its window lists the monitors",
    ),
    ("ui", "Foghorn's window needs no configuration"),
    (
        "maintenance",
        "Foghorn has no maintenance windows; pause monitoring from the tray instead",
    ),
    ("security", "Foghorn serves no web page to protect"),
    ("metrics", "Foghorn exposes no Prometheus metrics"),
    (
        "connectivity",
        "Foghorn has no connectivity checker; add a monitor for a reliable host instead",
    ),
    ("remote", "Foghorn does not read other Gatus instances"),
    (
        "suites",
        "Foghorn has no multi-step suites; turn each step into its own monitor",
    ),
    ("tunneling", "Foghorn does not open SSH tunnels"),
    ("announcements", "Foghorn has no status page announcements"),
    ("concurrency", "Foghorn schedules its checks itself"),
    (
        "disable-monitoring-lock",
        "Foghorn schedules its checks itself",
    ),
    (
        "skip-invalid-config-update",
        "`foghorn config check` validates a change before it is used",
    ),
    ("debug", "set FOGHORN_LOG=debug instead"),
];

/// Endpoint keys Foghorn has no counterpart for, and why.
const ENDPOINT_UNSUPPORTED: &[(&str, &str)] = &[
    ("ui", "Foghorn's window has no per-monitor display options"),
    ("extra-labels", "Foghorn exposes no metrics to label"),
    ("maintenance-windows", "Foghorn has no maintenance windows"),
    ("ssh", "Foghorn has no SSH checks"),
    (
        "store",
        "it is only used by suites, which Foghorn does not have",
    ),
    (
        "always-run",
        "it is only used by suites, which Foghorn does not have",
    ),
];

/// `client:` keys Foghorn has no counterpart for, and why.
const CLIENT_UNSUPPORTED: &[(&str, &str)] = &[
    ("proxy-url", "Foghorn has no per-monitor proxy"),
    ("dns-resolver", "Foghorn uses the system's resolver"),
    (
        "oauth2",
        "Foghorn does not fetch OAuth2 tokens; an `Authorization` header is the closest",
    ),
    (
        "identity-aware-proxy",
        "Foghorn does not fetch Identity-Aware-Proxy tokens",
    ),
    ("kerberos", "Foghorn does not authenticate with Kerberos"),
    ("tls", "Foghorn does not send client certificates"),
    ("tunnel", "Foghorn does not open SSH tunnels"),
    (
        "network",
        "it only matters to ICMP checks, which Foghorn does not have",
    ),
];

/// Converts a Gatus configuration to Foghorn TOML. `source` names the file in errors and in
/// the output's header; it is not read.
pub fn gatus_to_toml(yaml_text: &str, source: &Path) -> Result<Import, ImportError> {
    let not_gatus = |message: &str| ImportError::NotGatus {
        path: source.to_owned(),
        message: message.to_owned(),
    };
    let mut documents = yaml::parse(yaml_text).map_err(|e| ImportError::Yaml {
        path: source.to_owned(),
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    documents.retain(|d| !d.is_null());
    let mut top_warnings = Vec::new();
    if documents.len() > 1 {
        top_warnings.push(format!(
            "the file has {} YAML documents; only the first is read, as Gatus does",
            documents.len()
        ));
    }
    let Some(root) = documents.first() else {
        return Err(ImportError::Empty {
            path: source.to_owned(),
        });
    };
    let Some(entries) = root.as_map() else {
        return Err(not_gatus(
            "not a Gatus configuration: expected a mapping with an `endpoints:` list",
        ));
    };

    let mut endpoints: &[Node] = &[];
    let mut externals: &[Node] = &[];
    let mut alert_defaults = AlertDefaults::default();
    for (key, node) in entries {
        match key.as_str() {
            "endpoints" | "external-endpoints" => {
                let list = match &node.value {
                    Value::Seq(items) => items.as_slice(),
                    Value::Null => &[],
                    _ => {
                        return Err(ImportError::NotGatus {
                            path: source.to_owned(),
                            message: format!(
                                "line {}: `{key}` must be a list of endpoints, not {}",
                                node.line,
                                node.kind()
                            ),
                        })
                    }
                };
                if key == "endpoints" {
                    endpoints = list;
                } else {
                    externals = list;
                }
            }
            other => {
                if other == "alerting" {
                    alert_defaults = AlertDefaults::read(node);
                }
                top_warnings.push(match TOP_LEVEL.iter().find(|(k, _)| *k == other) {
                    Some((_, why)) => {
                        format!("`{other}` (line {}) is not converted: {why}", node.line)
                    }
                    None => format!(
                        "`{other}` (line {}) is not a Gatus setting Foghorn knows; ignored",
                        node.line
                    ),
                });
            }
        }
    }
    if endpoints.is_empty() && externals.is_empty() {
        return Err(not_gatus(
            "no `endpoints:` to import (is this a Gatus configuration?)",
        ));
    }

    let mut drafts = Vec::new();
    let mut skipped = Vec::new();
    for (i, node) in endpoints.iter().enumerate() {
        match endpoint(node, &alert_defaults) {
            Ok(d) => drafts.push(d),
            Err(why) => skipped.push(format!("endpoints[{i}] (line {}): {why}", node.line)),
        }
    }
    for (i, node) in externals.iter().enumerate() {
        match external_endpoint(node, &alert_defaults) {
            Ok(d) => drafts.push(d),
            Err(why) => skipped.push(format!(
                "external-endpoints[{i}] (line {}): {why}",
                node.line
            )),
        }
    }
    assign_unique_names(&mut drafts);
    let listen = HeartbeatsConfig::default().listen;
    for d in &mut drafts {
        if let Check::Heartbeat(_) = d.check {
            let id = MonitorId::from_name(&d.name);
            d.warnings.push(format!(
                "the job must now ping `POST http://{listen}/heartbeat/{id}` with the heartbeat \
                 token (`foghorn heartbeats` prints the command) instead of Gatus' push API \
                 (`/api/v1/endpoints/…/external`); to report a failure, the job simply does \
                 not ping"
            ));
        }
        reject_what_foghorn_refuses(d);
    }

    // Endpoints that could not even be drafted have no monitor to sit next to: the header
    // lists them with the file-wide warnings.
    let mut warnings = top_warnings;
    warnings.extend(skipped);
    let toml = render(source, &warnings, &drafts);
    Config::parse(&toml, Path::new("converted.toml")).map_err(|e| ImportError::Generated {
        path: source.to_owned(),
        message: e.to_string(),
    })?;
    for d in &drafts {
        for w in &d.warnings {
            warnings.push(format!("{} {:?}: {w}", d.kind, d.name));
        }
    }
    Ok(Import {
        toml,
        converted: drafts.iter().filter(|d| d.disabled.is_none()).count(),
        commented_out: drafts.iter().filter(|d| d.disabled.is_some()).count(),
        warnings,
    })
}

/// One monitor on its way out.
#[derive(Debug)]
struct Draft {
    /// "endpoint" or "external endpoint", for warnings.
    kind: &'static str,
    /// The name in Gatus; `name` differs only when two would collide in Foghorn.
    gatus_name: String,
    name: String,
    group: Option<String>,
    check: Check,
    failure_threshold: Option<u32>,
    success_threshold: Option<u32>,
    /// Set when the monitor is written commented out: why.
    disabled: Option<String>,
    /// Comments that are not warnings, e.g. how a GraphQL body was wrapped.
    notes: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Debug)]
enum Check {
    Poll(Box<Poll>),
    Heartbeat(Duration),
}

#[derive(Debug, Default)]
struct Poll {
    url: String,
    dns: Option<(String, String)>,
    method: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<String>,
    interval: Duration,
    timeout: Option<Duration>,
    insecure: bool,
    ignore_redirects: bool,
    conditions: Vec<Cond>,
}

#[derive(Debug)]
enum Cond {
    Valid(String),
    /// Written commented out inside the list, with why.
    Invalid {
        text: String,
        why: String,
    },
}

impl Draft {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            gatus_name: String::new(),
            name: String::new(),
            group: None,
            check: Check::Heartbeat(Duration::ZERO),
            failure_threshold: None,
            success_threshold: None,
            disabled: None,
            notes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// A scalar as text, with Gatus' `$$` undone and a warning for environment variables,
    /// which Gatus substitutes when it loads the file and Foghorn never will.
    fn text(&mut self, node: &Node, key: &str) -> Option<String> {
        match &node.value {
            Value::Null => None,
            Value::Scalar { text, .. } => {
                let (text, vars) = gatus_env(text);
                if !vars.is_empty() {
                    self.warn(format!(
                        "`{key}` uses {}, which Gatus takes from its environment; Foghorn \
                         uses the text as written, so replace it with the value",
                        vars.join(", ")
                    ));
                }
                Some(text)
            }
            _ => {
                self.warn(format!(
                    "`{key}` (line {}) should be a single value, not {}; not converted",
                    node.line,
                    node.kind()
                ));
                None
            }
        }
    }

    /// Booleans the way Gatus' YAML parser reads them into a boolean field.
    fn flag(&mut self, node: &Node, key: &str) -> Option<bool> {
        let text = self.text(node, key)?;
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "y" => Some(true),
            "false" | "no" | "off" | "n" => Some(false),
            _ => {
                self.warn(format!(
                    "`{key}` (line {}) should be true or false, not {text:?}; ignored",
                    node.line
                ));
                None
            }
        }
    }

    /// A threshold; 0 and below mean "the default" in Gatus.
    fn count(&mut self, node: &Node, key: &str) -> Option<u32> {
        let text = self.text(node, key)?;
        match text.trim().parse::<i64>() {
            Ok(n) if n <= 0 => None,
            Ok(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
            Err(_) => {
                self.warn(format!(
                    "`{key}` (line {}) should be a whole number, not {text:?}; ignored",
                    node.line
                ));
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, key: &str) -> Option<Duration> {
        let text = self.text(node, key)?;
        let parsed = go_duration(&text);
        if parsed.is_none() {
            self.warn(format!(
                "`{key}` (line {}): {text:?} is not a duration such as 30s, 5m or 1h30m; ignored",
                node.line
            ));
        }
        parsed
    }

    fn unsupported(&mut self, key: &str, node: &Node, why: &str) {
        self.warn(format!(
            "`{key}` (line {}) is not converted: {why}",
            node.line
        ));
    }

    fn unknown(&mut self, key: &str, node: &Node) {
        self.warn(format!(
            "`{key}` (line {}) is not a Gatus setting Foghorn knows; ignored",
            node.line
        ));
    }

    fn disable(&mut self, why: impl Into<String>) {
        if self.disabled.is_none() {
            self.disabled = Some(why.into());
        }
    }
}

/// The keys of a mapping, checked off as they are read, so whatever is left can be reported.
struct Fields<'a> {
    entries: &'a [(String, Node)],
    used: HashSet<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(entries: &'a [(String, Node)]) -> Self {
        Self {
            entries,
            used: HashSet::new(),
        }
    }

    fn take(&mut self, key: &'a str) -> Option<&'a Node> {
        self.used.insert(key);
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn rest(&self) -> impl Iterator<Item = (&'a str, &'a Node)> + '_ {
        self.entries
            .iter()
            .filter(|(k, _)| !self.used.contains(k.as_str()))
            .map(|(k, v)| (k.as_str(), v))
    }
}

/// The name, group and `enabled` every kind of endpoint has.
fn identity(d: &mut Draft, fields: &mut Fields<'_>) -> Result<(), String> {
    let name = fields
        .take("name")
        .and_then(|n| d.text(n, "name"))
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| "has no `name`; skipped".to_owned())?;
    d.gatus_name = name.clone();
    d.name = name;
    d.group = fields
        .take("group")
        .and_then(|n| d.text(n, "group"))
        .filter(|g| !g.trim().is_empty());
    if let Some(false) = fields.take("enabled").and_then(|n| d.flag(n, "enabled")) {
        d.warn("disabled in Gatus (`enabled: false`): written commented out");
        d.disable("To enable it, remove the leading \"# \" from the lines below.");
    }
    Ok(())
}

fn endpoint(node: &Node, defaults: &AlertDefaults) -> Result<Draft, String> {
    let entries = node
        .as_map()
        .ok_or_else(|| format!("should be a mapping, not {}; skipped", node.kind()))?;
    let mut fields = Fields::new(entries);
    let mut d = Draft::new("endpoint");
    identity(&mut d, &mut fields)?;
    let mut poll = Poll {
        interval: GATUS_INTERVAL,
        ..Poll::default()
    };

    let raw_url = fields
        .take("url")
        .and_then(|n| d.text(n, "url"))
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| format!("{:?} has no `url`; skipped", d.gatus_name))?;
    poll.url = raw_url.trim().to_owned();
    match fields.take("dns") {
        Some(dns) if !dns.is_null() => dns_check(&mut d, &mut poll, dns),
        _ => {
            let scheme = poll
                .url
                .split_once("://")
                .map(|(s, _)| s.to_ascii_lowercase());
            match scheme.as_deref() {
                Some("http" | "https" | "tcp") => {}
                Some(other) => {
                    d.warn(format!(
                        "`url`: {other}:// checks are not supported by Foghorn (http, https, tcp \
                         and DNS are); written commented out"
                    ));
                    d.disable(FIX_THEN_UNCOMMENT);
                }
                None => {
                    d.warn(format!(
                        "`url` {:?} has no scheme such as https://; written commented out",
                        poll.url
                    ));
                    d.disable(FIX_THEN_UNCOMMENT);
                }
            }
        }
    }

    if let Some(method) = fields.take("method").and_then(|n| d.text(n, "method")) {
        let method = method.trim().to_ascii_uppercase();
        if !method.is_empty() && method != "GET" {
            poll.method = Some(method);
        }
    }
    if let Some(headers) = fields.take("headers") {
        read_headers(&mut d, &mut poll, headers);
    }
    let body = fields.take("body").and_then(|n| d.text(n, "body"));
    let graphql = fields
        .take("graphql")
        .and_then(|n| d.flag(n, "graphql"))
        .unwrap_or(false);
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        poll.body = Some(expand_body(&mut d, &poll.url, &body, graphql));
    }
    if graphql {
        d.notes.push(
            "GraphQL: the body is the query wrapped as {\"query\": …}, as Gatus sends it."
                .to_owned(),
        );
        if !poll
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            poll.headers
                .push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
    }
    if let Some(interval) = fields
        .take("interval")
        .and_then(|n| d.duration(n, "interval"))
    {
        // Gatus reads 0 as "the default".
        if !interval.is_zero() {
            poll.interval = interval;
        }
    }
    if let Some(conditions) = fields.take("conditions") {
        read_conditions(&mut d, &mut poll, conditions);
    }
    if let Some(client) = fields.take("client") {
        read_client(&mut d, &mut poll, client);
    }
    if let Some(alerts) = fields.take("alerts") {
        read_alerts(&mut d, alerts, defaults);
    }
    for (key, node) in fields.rest() {
        match ENDPOINT_UNSUPPORTED.iter().find(|(k, _)| *k == key) {
            Some((_, why)) => d.unsupported(key, node, why),
            None => d.unknown(key, node),
        }
    }
    d.check = Check::Poll(Box::new(poll));
    Ok(d)
}

fn external_endpoint(node: &Node, defaults: &AlertDefaults) -> Result<Draft, String> {
    let entries = node
        .as_map()
        .ok_or_else(|| format!("should be a mapping, not {}; skipped", node.kind()))?;
    let mut fields = Fields::new(entries);
    let mut d = Draft::new("external endpoint");
    identity(&mut d, &mut fields)?;
    let every = match fields.take("heartbeat") {
        Some(hb) if hb.as_map().is_some() => {
            let mut hb_fields = Fields::new(hb.as_map().unwrap_or_default());
            let every = hb_fields
                .take("interval")
                .and_then(|n| d.duration(n, "heartbeat.interval"));
            for (key, node) in hb_fields.rest() {
                d.unknown(&format!("heartbeat.{key}"), node);
            }
            every
        }
        _ => None,
    };
    let Some(every) = every.filter(|e| !e.is_zero()) else {
        return Err(format!(
            "{:?} has no `heartbeat.interval`: Foghorn needs to know how often the job \
             reports; skipped (add it as a monitor with `heartbeat = \"1h\"`)",
            d.gatus_name
        ));
    };
    d.check = Check::Heartbeat(every);
    if let Some(token) = fields.take("token") {
        d.warn(format!(
            "`token` (line {}) is not converted: Foghorn's heartbeats share one token, \
             `[heartbeats] token = \"env:NAME\"`",
            token.line
        ));
    }
    if let Some(alerts) = fields.take("alerts") {
        read_alerts(&mut d, alerts, defaults);
    }
    for (key, node) in fields.rest() {
        match ENDPOINT_UNSUPPORTED.iter().find(|(k, _)| *k == key) {
            Some((_, why)) => d.unsupported(key, node, why),
            None => d.unknown(key, node),
        }
    }
    Ok(d)
}

/// Gatus' DNS endpoints name the resolver in `url` (`8.8.8.8`, `1.1.1.1:53`) and the
/// question under `dns:`; Foghorn writes the resolver as `dns://…`.
fn dns_check(d: &mut Draft, poll: &mut Poll, dns: &Node) {
    let resolver = poll
        .url
        .split_once("://")
        .map_or(poll.url.as_str(), |(_, rest)| rest)
        .trim_end_matches('/');
    let resolver = match resolver.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]"),
        Err(_) => resolver.to_owned(),
    };
    poll.url = format!("dns://{resolver}");
    let Some(entries) = dns.as_map() else {
        d.warn(format!(
            "`dns` (line {}) should be a mapping with `query-name` and `query-type`; \
             written commented out",
            dns.line
        ));
        d.disable(FIX_THEN_UNCOMMENT);
        return;
    };
    let mut fields = Fields::new(entries);
    let name = fields
        .take("query-name")
        .and_then(|n| d.text(n, "dns.query-name"));
    let kind = fields
        .take("query-type")
        .and_then(|n| d.text(n, "dns.query-type"));
    for (key, node) in fields.rest() {
        d.unknown(&format!("dns.{key}"), node);
    }
    match (name, kind) {
        (Some(name), Some(kind)) => poll.dns = Some((name, kind.to_ascii_uppercase())),
        _ => {
            d.warn("`dns` needs both `query-name` and `query-type`; written commented out");
            d.disable(FIX_THEN_UNCOMMENT);
        }
    }
}

fn read_headers(d: &mut Draft, poll: &mut Poll, headers: &Node) {
    let Some(entries) = headers.as_map() else {
        if !headers.is_null() {
            d.warn(format!(
                "`headers` (line {}) should be a mapping; not converted",
                headers.line
            ));
        }
        return;
    };
    for (name, node) in entries {
        let Some(raw) = node.text() else {
            d.warn(format!(
                "header {name:?} (line {}) has no single value; not converted",
                node.line
            ));
            continue;
        };
        let (text, vars) = gatus_env(raw);
        // A value that is one variable and nothing else reads the same variable.
        let whole = vars
            .first()
            .filter(|v| vars.len() == 1 && text == **v)
            .map(|v| {
                v.trim_start_matches('$')
                    .trim_start_matches('{')
                    .trim_end_matches('}')
                    .to_owned()
            });
        if let Some(var) = whole {
            poll.headers.push((name.clone(), format!("env:{var}")));
        } else if crate::secret::is_secret_header(name) {
            // A credential is never written in clear: it is read from a variable the user sets.
            let group = d.group.as_deref().unwrap_or_default();
            let var = env_name(&format!("{group}_{}_{name}", d.name));
            let was = if vars.is_empty() {
                String::new()
            } else {
                format!(" (Gatus builds it as {text:?})")
            };
            d.warn(format!(
                "header {name:?} holds a credential, which Foghorn reads from the environment \
                 rather than the file: set {var} to the value Gatus sends{was}"
            ));
            poll.headers.push((name.clone(), format!("env:{var}")));
        } else {
            if !vars.is_empty() {
                d.warn(format!(
                    "header {name:?} uses {vars} inside its value, which Gatus fills in from \
                     its environment; Foghorn reads only a whole value from the environment \
                     (`env:NAME`), so the header is kept as written and would be sent as the \
                     literal text {text:?}: put the real value in its place",
                    vars = vars.join(", "),
                ));
            }
            poll.headers.push((name.clone(), text));
        }
    }
}

/// An environment variable name made of `text`: letters and digits upper-cased, the rest `_`.
fn env_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        };
        if !(c == '_' && (out.is_empty() || out.ends_with('_'))) {
            out.push(c);
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// Gatus fills a few placeholders into the body before sending it; the static ones are filled
/// in here, the random one cannot be.
fn expand_body(d: &mut Draft, url: &str, body: &str, graphql: bool) -> String {
    let mut body = body
        .replace("[ENDPOINT_NAME]", &d.gatus_name)
        .replace("[ENDPOINT_GROUP]", d.group.as_deref().unwrap_or(""))
        .replace("[ENDPOINT_URL]", url);
    if body.contains("[RANDOM_STRING_") {
        d.warn(
            "`body` uses [RANDOM_STRING_…], which Foghorn does not generate; it is sent as written",
        );
    }
    if graphql {
        body = serde_json::json!({ "query": body }).to_string();
    }
    body
}

fn read_conditions(d: &mut Draft, poll: &mut Poll, conditions: &Node) {
    let items = match &conditions.value {
        Value::Seq(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            d.warn(format!(
                "`conditions` (line {}) should be a list; not converted",
                conditions.line
            ));
            return;
        }
    };
    for node in items {
        let Some(text) = d.text(node, "conditions") else {
            continue;
        };
        match text.parse::<Condition>() {
            Ok(condition) => {
                for why in condition.gatus_differences() {
                    d.warn(format!(
                        "condition {text:?} (line {}) may not give Gatus' verdict: {why}",
                        node.line
                    ));
                }
                poll.conditions.push(Cond::Valid(text));
            }
            Err(e) => {
                let why = format!("{} (at character {})", e.message, e.offset + 1);
                d.warn(format!(
                    "condition {text:?} (line {}) is written commented out: {why}",
                    node.line
                ));
                poll.conditions.push(Cond::Invalid { text, why });
            }
        }
    }
}

fn read_client(d: &mut Draft, poll: &mut Poll, client: &Node) {
    let Some(entries) = client.as_map() else {
        if !client.is_null() {
            d.warn(format!(
                "`client` (line {}) should be a mapping; not converted",
                client.line
            ));
        }
        return;
    };
    let mut fields = Fields::new(entries);
    if let Some(timeout) = fields
        .take("timeout")
        .and_then(|n| d.duration(n, "client.timeout"))
    {
        // Gatus replaces anything under a millisecond with its default, which is Foghorn's.
        if timeout >= Duration::from_millis(1) {
            poll.timeout = Some(timeout);
        }
    }
    poll.insecure = fields
        .take("insecure")
        .and_then(|n| d.flag(n, "client.insecure"))
        .unwrap_or(false);
    poll.ignore_redirects = fields
        .take("ignore-redirect")
        .and_then(|n| d.flag(n, "client.ignore-redirect"))
        .unwrap_or(false);
    for (key, node) in fields.rest() {
        let key_path = format!("client.{key}");
        match CLIENT_UNSUPPORTED.iter().find(|(k, _)| *k == key) {
            Some((_, why)) => d.unsupported(&key_path, node, why),
            None => d.unknown(&key_path, node),
        }
    }
}

/// Per-provider `default-alert`s, which fill in what an endpoint's alert leaves out.
#[derive(Debug, Default)]
struct AlertDefaults(HashMap<String, DefaultAlert>);

#[derive(Debug, Default, Clone)]
struct DefaultAlert {
    enabled: Option<bool>,
    failure_threshold: Option<u32>,
    success_threshold: Option<u32>,
    description: bool,
}

impl AlertDefaults {
    fn read(alerting: &Node) -> Self {
        let mut scratch = Draft::new("alerting");
        let mut map = HashMap::new();
        for (provider, config) in alerting.as_map().unwrap_or_default() {
            let Some(default) = config.get("default-alert") else {
                continue;
            };
            let get = |k: &str| default.get(k);
            map.insert(
                provider.clone(),
                DefaultAlert {
                    enabled: get("enabled").and_then(|n| scratch.flag(n, "enabled")),
                    failure_threshold: get("failure-threshold")
                        .and_then(|n| scratch.count(n, "failure-threshold")),
                    success_threshold: get("success-threshold")
                        .and_then(|n| scratch.count(n, "success-threshold")),
                    description: get("description").is_some_and(|n| !n.is_null()),
                },
            );
        }
        Self(map)
    }
}

/// Gatus thresholds live on each alert; Foghorn has one pair per monitor, so the largest
/// wins: nobody is paged sooner than Gatus would have paged them.
fn read_alerts(d: &mut Draft, alerts: &Node, defaults: &AlertDefaults) {
    let items = match &alerts.value {
        Value::Seq(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            d.warn(format!(
                "`alerts` (line {}) should be a list; not converted",
                alerts.line
            ));
            return;
        }
    };
    let mut providers: Vec<String> = Vec::new();
    let mut failures: Vec<u32> = Vec::new();
    let mut successes: Vec<u32> = Vec::new();
    let mut described = false;
    let mut other_keys: Vec<String> = Vec::new();
    for item in items {
        let Some(entries) = item.as_map() else {
            d.warn(format!(
                "alert at line {} should be a mapping; ignored",
                item.line
            ));
            continue;
        };
        let mut fields = Fields::new(entries);
        let provider = fields
            .take("type")
            .and_then(|n| d.text(n, "alerts[].type"))
            .unwrap_or_else(|| "(no type)".to_owned());
        let default = defaults.0.get(&provider).cloned().unwrap_or_default();
        if !providers.contains(&provider) {
            providers.push(provider);
        }
        let enabled = fields
            .take("enabled")
            .and_then(|n| d.flag(n, "alerts[].enabled"))
            .or(default.enabled)
            .unwrap_or(true);
        let failure = fields
            .take("failure-threshold")
            .and_then(|n| d.count(n, "alerts[].failure-threshold"));
        let success = fields
            .take("success-threshold")
            .and_then(|n| d.count(n, "alerts[].success-threshold"));
        described |=
            fields.take("description").is_some_and(|n| !n.is_null()) || default.description;
        for (key, _) in fields.rest() {
            if !other_keys.iter().any(|k| k == key) {
                other_keys.push(key.to_owned());
            }
        }
        if enabled {
            failures.push(
                failure
                    .or(default.failure_threshold)
                    .unwrap_or(GATUS_FAILURE_THRESHOLD),
            );
            successes.push(
                success
                    .or(default.success_threshold)
                    .unwrap_or(GATUS_SUCCESS_THRESHOLD),
            );
        }
    }
    if !providers.is_empty() {
        d.warn(format!(
            "alerts ({}) are not converted: Foghorn raises a desktop notification; {}",
            providers.join(", "),
            if failures.is_empty() {
                "they were all disabled, so Foghorn's default thresholds apply"
            } else {
                "their thresholds were kept"
            }
        ));
    }
    if described {
        d.warn("the alert description is not converted: Foghorn's notification names the monitor and the failed condition");
    }
    if !other_keys.is_empty() {
        d.warn(format!(
            "alert settings {} are not converted",
            other_keys
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    d.failure_threshold = pick_threshold(d, "failure", &failures);
    d.success_threshold = pick_threshold(d, "success", &successes);
}

fn pick_threshold(d: &mut Draft, which: &str, values: &[u32]) -> Option<u32> {
    let max = values.iter().copied().max()?;
    if values.iter().any(|v| *v != max) {
        let mut distinct: Vec<u32> = values.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        d.warn(format!(
            "its alerts have different {which} thresholds ({}); Foghorn has one per monitor, so \
             the largest, {max}, is used",
            distinct
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Some(max)
}

/// Gatus keys endpoints by group and name, Foghorn by name alone (its id is a slug of the
/// name): where two would collide, the grouped ones become "group/name", as Gatus itself
/// displays them, and any collision left gets a number.
fn assign_unique_names(drafts: &mut [Draft]) {
    let mut counts: HashMap<MonitorId, usize> = HashMap::new();
    for d in drafts.iter() {
        *counts
            .entry(MonitorId::from_name(&d.gatus_name))
            .or_default() += 1;
    }
    let mut taken: HashSet<MonitorId> = HashSet::new();
    for d in drafts.iter_mut() {
        let mut name = d.gatus_name.clone();
        if counts
            .get(&MonitorId::from_name(&name))
            .is_some_and(|n| *n > 1)
        {
            if let Some(group) = &d.group {
                name = format!("{group}/{name}");
            }
        }
        let base = name.clone();
        let mut n = 2;
        while taken.contains(&MonitorId::from_name(&name)) {
            name = format!("{base} ({n})");
            n += 1;
        }
        taken.insert(MonitorId::from_name(&name));
        if name != d.gatus_name {
            d.warnings.insert(
                0,
                format!(
                    "renamed from {:?}: another Gatus endpoint has a name that Foghorn would \
                     not tell apart from it, and Foghorn's monitor names must be unique",
                    d.gatus_name
                ),
            );
        }
        d.name = name;
    }
}

/// Anything Foghorn's configuration would refuse (an HTTP method it does not send, a DNS
/// record type it does not ask for, an interval under a second) is written commented out with
/// Foghorn's own explanation, so the output always loads.
fn reject_what_foghorn_refuses(d: &mut Draft) {
    if d.disabled.is_some() {
        return;
    }
    let alone = fragment(monitor_table(d));
    if let Err(e) = Config::parse(&alone, Path::new("monitor.toml")) {
        let message = match e {
            ConfigError::Invalid { message, .. } => message,
            other => other.to_string(),
        };
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        d.warn(format!(
            "Foghorn refuses it ({message}); written commented out"
        ));
        d.disable(FIX_THEN_UNCOMMENT);
    }
}

fn render(source: &Path, top_warnings: &[String], drafts: &[Draft]) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        "",
        &format!(
            "Foghorn monitors converted from the Gatus configuration {} by `foghorn import gatus`.",
            source.display()
        ),
    );
    for line in [
        "Check before use:",
        "- \"warning:\" comments say what could not be converted, next to the monitor concerned;",
        "  monitors Foghorn cannot run (or disabled in Gatus) are written commented out.",
        "- Gatus checks every 60s unless told otherwise, Foghorn every 30s: each monitor states",
        "  its interval, so the imported ones keep Gatus' pace.",
        "- Thresholds come from the Gatus alerts (3 failures, 2 successes unless they say",
        "  otherwise). Foghorn re-checks 5s after a failure, so an outage is confirmed sooner.",
        "- Gatus follows redirects to any host; Foghorn only within the same host unless a",
        "  monitor says follow_redirects = \"any\".",
        "- Run `foghorn config check --config THIS_FILE` after editing.",
    ] {
        comment(&mut out, "", line);
    }
    for w in top_warnings {
        comment(&mut out, "", &format!("warning: {w}"));
    }
    for d in drafts {
        out.push('\n');
        for note in &d.notes {
            comment(&mut out, "", note);
        }
        for w in &d.warnings {
            comment(&mut out, "", &format!("warning: {w}"));
        }
        let text = fragment(monitor_table(d));
        match &d.disabled {
            None => out.push_str(&text),
            Some(why) => {
                comment(&mut out, "", why);
                for line in text.lines() {
                    comment(&mut out, "", line);
                }
            }
        }
    }
    out
}

/// Appends `text` as comment lines. TOML comments may not hold control characters, and the
/// text can quote anything from the YAML, so those are escaped.
fn comment(out: &mut String, indent: &str, text: &str) {
    for line in text.split('\n') {
        out.push_str(indent);
        out.push('#');
        if !line.is_empty() {
            out.push(' ');
        }
        for c in line.chars() {
            if c.is_control() && c != '\t' {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out.push('\n');
    }
}

fn monitor_table(d: &Draft) -> Table {
    let mut t = Table::new();
    t["name"] = value(d.name.as_str());
    if let Some(group) = &d.group {
        t["group"] = value(group.as_str());
    }
    match &d.check {
        Check::Heartbeat(every) => {
            t["heartbeat"] = value(human(*every));
        }
        Check::Poll(poll) => {
            t["url"] = value(poll.url.as_str());
            if let Some((name, kind)) = &poll.dns {
                let mut dns = InlineTable::new();
                dns.insert("query_name", name.as_str().into());
                dns.insert("query_type", kind.as_str().into());
                t["dns"] = value(dns);
            }
            if let Some(method) = &poll.method {
                t["method"] = value(method.as_str());
            }
            if !poll.headers.is_empty() {
                let mut headers = InlineTable::new();
                for (k, v) in &poll.headers {
                    headers.insert(k.as_str(), v.as_str().into());
                }
                t["headers"] = value(headers);
            }
            if let Some(body) = &poll.body {
                t["body"] = value(body.as_str());
            }
            t["interval"] = value(human(poll.interval));
            if let Some(timeout) = poll.timeout {
                t["timeout"] = value(human(timeout));
            }
            if poll.insecure {
                t["insecure"] = value(true);
            }
            if poll.ignore_redirects {
                t["follow_redirects"] = value("none");
            }
            if !poll.conditions.is_empty() {
                t["conditions"] = value(conditions_array(&poll.conditions));
            }
        }
    }
    if let Some(n) = d.failure_threshold {
        t["failure_threshold"] = value(i64::from(n));
    }
    if let Some(n) = d.success_threshold {
        t["success_threshold"] = value(i64::from(n));
    }
    t
}

/// One condition a line; a condition Foghorn cannot parse stays in place as a comment, with
/// why just above it, so fixing it is a matter of editing and uncommenting.
fn conditions_array(conditions: &[Cond]) -> Array {
    const INDENT: &str = "    ";
    let mut array = Array::new();
    let mut pending = String::new();
    for c in conditions {
        match c {
            Cond::Valid(text) => {
                let mut v = toml_edit::Value::from(text.as_str());
                v.decor_mut().set_prefix(format!("{pending}\n{INDENT}"));
                v.decor_mut().set_suffix("");
                pending.clear();
                array.push_formatted(v);
            }
            Cond::Invalid { text, why } => {
                let quoted = toml_edit::Value::from(text.as_str()).to_string();
                pending.push('\n');
                comment(
                    &mut pending,
                    INDENT,
                    &format!("Foghorn cannot parse this: {why}"),
                );
                comment(&mut pending, INDENT, &format!("{},", quoted.trim()));
                // `comment` ends each line; the next value's own "\n" starts its line.
                if pending.ends_with('\n') {
                    pending.pop();
                }
            }
        }
    }
    array.set_trailing_comma(!array.is_empty());
    array.set_trailing(format!("{pending}\n"));
    array
}

/// Wraps one table as a `[[monitors]]` entry and renders it.
fn fragment(table: Table) -> String {
    let mut monitors = ArrayOfTables::new();
    monitors.push(table);
    let mut doc = DocumentMut::new();
    doc.insert("monitors", Item::ArrayOfTables(monitors));
    doc.to_string()
}

/// Durations the way people write them in Foghorn's configuration: `1m`, `1h 30m`, `25h`,
/// `500ms` (hours rather than days: Gatus has no days, so its users never think in them).
fn human(d: Duration) -> String {
    let secs = d.as_secs();
    let parts = [
        (secs / 3600, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
        (u64::from(d.subsec_millis()), "ms"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text.join(" ")
    }
}

/// Go's `time.ParseDuration`, which Gatus uses: `300ms`, `1.5h`, `2h45m`; no days, and no
/// bare numbers except `0`.
fn go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        rest = after;
        let per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        nanos = nanos.checked_add(whole.checked_mul(per_unit)?)?;
        let mut scale = per_unit;
        for digit in fraction.chars() {
            scale /= 10;
            nanos = nanos.checked_add(u128::from(digit.to_digit(10)?) * scale)?;
        }
    }
    Some(Duration::from_nanos(u64::try_from(nanos).ok()?))
}

/// Gatus expands `$NAME` and `${NAME}` from its environment across the whole file before
/// reading it (Go's `os.ExpandEnv`), with `$$` standing for `$`. Returns the text with `$$`
/// undone and every variable it refers to, as written.
fn gatus_env(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut vars = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let rest = &text[i + 1..];
        let reference = match rest.chars().next() {
            Some('$') => {
                chars.next();
                out.push('$');
                continue;
            }
            Some('{') => rest
                .find('}')
                .filter(|end| *end > 1)
                .map(|end| &text[i..i + 2 + end]),
            Some(c) if "*#@!?-".contains(c) || c.is_ascii_digit() => Some(&text[i..i + 2]),
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                Some(&text[i..i + 1 + len])
            }
            _ => None,
        };
        match reference {
            Some(reference) => {
                if !vars.iter().any(|v| v == reference) {
                    vars.push(reference.to_owned());
                }
                out.push_str(reference);
                for _ in 1..reference.chars().count() {
                    chars.next();
                }
            }
            None => out.push('$'),
        }
    }
    (out, vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let cases: &[(&str, Option<u64>)] = &[
            ("30s", Some(30_000)),
            ("5m", Some(300_000)),
            ("1h", Some(3_600_000)),
            ("1h30m", Some(5_400_000)),
            ("1.5h", Some(5_400_000)),
            ("300ms", Some(300)),
            ("0", Some(0)),
            ("2h45m10s", Some(9_910_000)),
            ("60", None),
            ("1d", None),
            ("-5s", None),
            ("soon", None),
            ("", None),
            ("5 m", None),
        ];
        for (text, ms) in cases {
            assert_eq!(
                go_duration(text).map(|d| d.as_millis() as u64),
                *ms,
                "{text:?}"
            );
        }
    }

    #[test]
    fn durations_are_written_as_people_write_them() {
        let cases: &[(u64, &str)] = &[
            (60_000, "1m"),
            (30_000, "30s"),
            (5_400_000, "1h 30m"),
            (90_000_000, "25h"),
            (1_500, "1s 500ms"),
            (0, "0s"),
        ];
        for (ms, text) in cases {
            let d = Duration::from_millis(*ms);
            assert_eq!(human(d), *text);
            assert_eq!(
                humantime::parse_duration(text).ok(),
                Some(d),
                "Foghorn reads {text:?} back"
            );
        }
    }

    #[test]
    fn environment_references_are_found_and_dollar_dollar_is_a_dollar() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("plain", "plain", &[]),
            ("Bearer ${TOKEN}", "Bearer ${TOKEN}", &["${TOKEN}"]),
            ("$HOST:$PORT", "$HOST:$PORT", &["$HOST", "$PORT"]),
            ("costs $$5", "costs $5", &[]),
            ("a $ b", "a $ b", &[]),
            ("end$", "end$", &[]),
            ("${}", "${}", &[]),
            ("${A}${A}", "${A}${A}", &["${A}"]),
            ("pa$$w0rd${X}", "pa$w0rd${X}", &["${X}"]),
        ];
        for (input, text, vars) in cases {
            let (got, found) = gatus_env(input);
            assert_eq!(got, *text, "{input:?}");
            assert_eq!(found, *vars, "{input:?}");
        }
    }
}
