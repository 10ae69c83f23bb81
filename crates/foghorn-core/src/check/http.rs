//! HTTP(S) checks: the request, the body (read only when a condition needs it), the verdict.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{verdict, CheckResult};
use crate::condition::{Body, Condition, Context, Placeholder};
use crate::config::MonitorConfig;

/// Bodies are read up to this many bytes: enough for any health endpoint, and a target that
/// streams gigabytes cannot exhaust memory.
pub const MAX_BODY: usize = 1024 * 1024;

/// What to request. Built from a monitor's configuration or from `foghorn check`'s flags.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    pub url: String,
    pub method: reqwest::Method,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub timeout: Duration,
    pub conditions: Vec<Condition>,
}

impl HttpProbe {
    pub fn from_monitor(m: &MonitorConfig) -> Self {
        HttpProbe {
            url: m.url.clone(),
            method: m.method.clone(),
            headers: m.headers.clone(),
            body: m.body.clone(),
            timeout: m.timeout,
            conditions: m.conditions.clone(),
        }
    }

    fn needs(&self, p: Placeholder) -> bool {
        self.conditions
            .iter()
            .any(|c| c.placeholders().any(|q| q == p))
    }
}

/// The HTTP client every monitor shares.
///
/// Redirects are followed only within the same host: a health URL that suddenly redirects
/// to a login page on another host is a failure the user must see, not a success.
pub fn http_client() -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_host = attempt
            .previous()
            .first()
            .is_some_and(|first| first.host_str() == attempt.url().host_str());
        if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else if same_host {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .user_agent(concat!("foghorn/", env!("CARGO_PKG_VERSION")))
        // A fresh connection per check, like blackbox_exporter: a reused connection would
        // hide DNS and TLS handshake failures.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// What the transport observed, before conditions are applied.
struct Observed {
    status: Option<u16>,
    body: Option<String>,
    ip: Option<String>,
    connected: bool,
    error: Option<String>,
}

/// Runs one HTTP check. Never fails: every problem is a failed result saying what happened.
pub async fn run_http(client: &reqwest::Client, probe: &HttpProbe) -> CheckResult {
    let at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let observed = observe(client, probe).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    judge(at, latency_ms, probe, observed)
}

async fn observe(client: &reqwest::Client, probe: &HttpProbe) -> Observed {
    let mut request = client
        .request(probe.method.clone(), &probe.url)
        .timeout(probe.timeout);
    for (k, v) in &probe.headers {
        request = request.header(k, v);
    }
    if let Some(body) = &probe.body {
        request = request.body(body.clone());
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return Observed {
                status: None,
                body: None,
                ip: None,
                connected: !e.is_connect() && !e.is_timeout(),
                error: Some(describe(&e, probe.timeout)),
            }
        }
    };
    let status = response.status();
    let ip = response.remote_addr().map(|a| a.ip().to_string());
    let mut error = None;
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("?");
        error = Some(format!(
            "HTTP {}: redirected to another host ({to})",
            status.as_u16()
        ));
    }
    let body = if probe.needs(Placeholder::Body) {
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_BODY - bytes.len();
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if bytes.len() >= MAX_BODY {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(format!("reading the body: {}", describe(&e, probe.timeout)));
                    break;
                }
            }
        }
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        None
    };
    Observed {
        status: Some(status.as_u16()),
        body,
        ip,
        connected: true,
        error: error.or_else(|| {
            (!status.is_success() && probe.conditions.is_empty()).then(|| format!("HTTP {status}"))
        }),
    }
}

fn judge(at: OffsetDateTime, latency_ms: u64, probe: &HttpProbe, seen: Observed) -> CheckResult {
    let ctx = Context {
        status: seen.status,
        response_time_ms: Some(latency_ms),
        body: seen.body.as_deref().map(Body::new),
        ip: seen.ip.as_deref(),
        connected: Some(seen.connected),
        certificate_expiration_ms: None,
        dns_rcode: None,
    };
    let healthy = seen.error.is_none() && seen.status.is_some_and(|s| (200..300).contains(&s));
    verdict(at, latency_ms, &probe.conditions, &ctx, healthy, seen.error)
}

/// A short, human reason: "connection refused" rather than reqwest's nested chain.
pub(super) fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut last = e.to_string();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    if e.is_connect() {
        format!("cannot connect: {last}")
    } else {
        last
    }
}
