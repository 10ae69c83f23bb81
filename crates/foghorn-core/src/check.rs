//! One check of one monitor: the request, the timing and the verdict.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::MonitorConfig;

/// The verdict on one condition, with the value it was judged on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionOutcome {
    pub condition: String,
    pub ok: bool,
    /// The condition with its left side resolved, e.g. `[STATUS] (500) == 200`.
    pub resolved: String,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub at: OffsetDateTime,
    pub ok: bool,
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
    pub outcomes: Vec<ConditionOutcome>,
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

/// Runs one HTTP check. Never fails: every problem is a failed result saying what happened.
pub async fn run_http(client: &reqwest::Client, monitor: &MonitorConfig) -> CheckResult {
    let at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let response = client
        .get(&monitor.url)
        .timeout(monitor.timeout)
        .send()
        .await;
    let latency_ms = Some(started.elapsed().as_millis().try_into().unwrap_or(u64::MAX));
    match response {
        Ok(r) if r.status().is_success() => CheckResult {
            at,
            ok: true,
            latency_ms,
            error: None,
            outcomes: vec![],
        },
        Ok(r) if r.status().is_redirection() => {
            let to = r
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("?");
            failed(
                at,
                latency_ms,
                format!(
                    "HTTP {}: redirected to another host ({to})",
                    r.status().as_u16()
                ),
            )
        }
        Ok(r) => failed(at, latency_ms, format!("HTTP {}", r.status())),
        Err(e) => failed(at, latency_ms, describe(&e, monitor.timeout)),
    }
}

fn failed(at: OffsetDateTime, latency_ms: Option<u64>, error: String) -> CheckResult {
    CheckResult {
        at,
        ok: false,
        latency_ms,
        error: Some(error),
        outcomes: vec![],
    }
}

/// A short, human reason: "connection refused" rather than reqwest's nested chain.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
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
