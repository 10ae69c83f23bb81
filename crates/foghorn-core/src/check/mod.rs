//! One check of one monitor: what was observed and the verdict of its conditions. One module
//! per kind of target (HTTP, TCP); all end in the same [`CheckResult`].

mod dns;
mod http;
mod tcp;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

pub use dns::{run_dns, DnsProbe};
pub use http::{http_client, run_http, Clients, HttpProbe, TlsOptions, MAX_BODY};
pub use tcp::{run_tcp, TcpProbe};

pub use crate::condition::ConditionOutcome;
use crate::condition::{Condition, Context};
use crate::config::MonitorConfig;

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CheckResult {
    #[serde(with = "time::serde::rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    pub ok: bool,
    #[ts(type = "number | null")]
    pub latency_ms: Option<u64>,
    /// Why it failed, in a few words: the transport error, or the first failing condition.
    pub error: Option<String>,
    pub outcomes: Vec<ConditionOutcome>,
    /// The target could not be reached at all (no connection, no DNS answer, timed out):
    /// the one kind of failure the local network itself can cause.
    #[serde(default)]
    pub unreachable: bool,
}

/// What a monitor checks.
#[derive(Debug, Clone)]
pub enum Probe {
    Http(HttpProbe),
    Tcp(TcpProbe),
    Dns(DnsProbe),
}

impl Probe {
    /// `tcp://host:port` is a TCP connect check and `dns://resolver` a DNS query (as in
    /// Gatus); anything else is HTTP(S).
    pub fn from_monitor(m: &MonitorConfig) -> Self {
        if let Some(dns) = DnsProbe::from_monitor(m) {
            return Probe::Dns(dns);
        }
        match TcpProbe::from_monitor(m) {
            Some(tcp) => Probe::Tcp(tcp),
            None => Probe::Http(HttpProbe::from_monitor(m)),
        }
    }

    /// The host and port this probe connects to, if it connects anywhere.
    pub fn address(&self) -> Option<(String, u16)> {
        match self {
            Probe::Http(p) => {
                let url = url::Url::parse(&p.url).ok()?;
                Some((url.host_str()?.to_owned(), url.port_or_known_default()?))
            }
            Probe::Tcp(p) => Some((p.host.clone(), p.port)),
            // DNS is UDP: a TCP connection to the resolver proves nothing.
            Probe::Dns(_) => None,
        }
    }

    /// Which politeness limit this probe counts against: its host.
    pub fn host_key(&self) -> String {
        match self {
            Probe::Http(p) => url::Url::parse(&p.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            Probe::Tcp(p) => p.host.clone(),
            Probe::Dns(p) => p.resolver.clone(),
        }
    }

    pub async fn run(&self, clients: &Clients) -> CheckResult {
        match self {
            Probe::Http(p) => match clients.get(&p.tls) {
                Ok(client) => run_http(&client, p).await,
                Err(e) => CheckResult {
                    at: OffsetDateTime::now_utc(),
                    ok: false,
                    latency_ms: None,
                    error: Some(e),
                    outcomes: Vec::new(),
                    unreachable: false,
                },
            },
            Probe::Tcp(p) => run_tcp(p).await,
            Probe::Dns(p) => run_dns(p).await,
        }
    }
}

/// Judges `ctx` by `conditions`; without conditions the check passes when `healthy` (the
/// kind's own default: a 2xx answer, a connection made). `error` is the transport problem, if
/// any; otherwise a failure is explained by the first failing condition.
fn verdict(
    at: OffsetDateTime,
    latency_ms: u64,
    conditions: &[Condition],
    ctx: &Context<'_>,
    healthy: bool,
    error: Option<String>,
) -> CheckResult {
    let outcomes: Vec<ConditionOutcome> = conditions.iter().map(|c| c.evaluate(ctx)).collect();
    let ok = if outcomes.is_empty() {
        healthy
    } else {
        outcomes.iter().all(|o| o.ok)
    };
    let error = if ok {
        None
    } else {
        error.or_else(|| outcomes.iter().find(|o| !o.ok).map(|o| o.resolved.clone()))
    };
    CheckResult {
        at,
        ok,
        latency_ms: Some(latency_ms),
        error,
        outcomes,
        unreachable: !ok && ctx.connected == Some(false),
    }
}
