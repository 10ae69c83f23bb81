//! TCP checks (`tcp://host:port`, as in Gatus): can a connection be made, and how fast.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::net::TcpStream;

use super::{verdict, CheckResult};
use crate::condition::{Condition, Context};
use crate::config::MonitorConfig;

#[derive(Debug, Clone)]
pub struct TcpProbe {
    pub host: String,
    pub port: u16,
    pub timeout: Duration,
    pub conditions: Vec<Condition>,
}

impl TcpProbe {
    /// The probe for a `tcp://` monitor, `None` for any other.
    pub fn from_monitor(m: &MonitorConfig) -> Option<Self> {
        let url = url::Url::parse(&m.url).ok()?;
        if url.scheme() != "tcp" {
            return None;
        }
        Some(TcpProbe {
            host: url.host_str()?.trim_matches(['[', ']']).to_owned(),
            port: url.port()?,
            timeout: m.timeout,
            conditions: m.conditions.clone(),
        })
    }
}

/// Connects and closes. Never fails: a refused or timed-out connection is a failed result.
pub async fn run_tcp(probe: &TcpProbe) -> CheckResult {
    let at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let connect = TcpStream::connect((probe.host.as_str(), probe.port));
    let (ip, error) = match tokio::time::timeout(probe.timeout, connect).await {
        Ok(Ok(stream)) => (stream.peer_addr().ok().map(|a| a.ip().to_string()), None),
        Ok(Err(e)) => (None, Some(format!("cannot connect: {e}"))),
        Err(_) => (
            None,
            Some(format!(
                "timed out after {}",
                humantime::format_duration(probe.timeout)
            )),
        ),
    };
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let ctx = Context {
        response_time_ms: Some(latency_ms),
        ip: ip.as_deref(),
        connected: Some(error.is_none()),
        ..Context::default()
    };
    verdict(
        at,
        latency_ms,
        &probe.conditions,
        &ctx,
        error.is_none(),
        error,
    )
}
