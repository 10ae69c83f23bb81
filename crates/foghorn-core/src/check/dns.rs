//! DNS checks: one query to one resolver, over UDP, as Gatus does. The message is built and
//! read here (with hickory-proto) rather than through a stub resolver, so `[DNS_RCODE]`
//! is exactly what the server said and no system resolver or cache sits in between.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use time::OffsetDateTime;
use tokio::net::UdpSocket;

use super::{verdict, CheckResult};
use crate::condition::{Body, Condition, Context};
use crate::config::MonitorConfig;

/// Large enough for any UDP answer with EDNS.
const MAX_MESSAGE: usize = 4096;

#[derive(Debug, Clone)]
pub struct DnsProbe {
    /// `host[:port]` of the resolver, resolved at check time.
    pub resolver: String,
    pub name: String,
    pub record_type: String,
    pub timeout: Duration,
    pub conditions: Vec<Condition>,
}

impl DnsProbe {
    /// `dns://resolver[:port]` with a `dns` query; `None` for other monitors.
    pub fn from_monitor(m: &MonitorConfig) -> Option<Self> {
        let url = url::Url::parse(&m.url).ok()?;
        if url.scheme() != "dns" {
            return None;
        }
        let query = m.dns.as_ref()?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        Some(DnsProbe {
            resolver: format!("{}:{}", bracket(host), url.port().unwrap_or(53)),
            name: query.query_name.clone(),
            record_type: query.query_type.clone(),
            timeout: m.timeout,
            conditions: m.conditions.clone(),
        })
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The RCODE as Gatus writes it: `NOERROR`, `NXDOMAIN`, `SERVFAIL`, …
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => u16::from(other).to_string(),
    }
}

struct Answer {
    rcode: String,
    records: Vec<String>,
    ip: Option<String>,
}

async fn ask(probe: &DnsProbe) -> Result<Answer, String> {
    let record_type = RecordType::from_str(&probe.record_type)
        .map_err(|e| format!("unknown record type {:?}: {e}", probe.record_type))?;
    let name = Name::from_str_relaxed(&probe.name)
        .map_err(|e| format!("{:?} is not a domain name: {e}", probe.name))?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, record_type));
    let id = query.metadata.id;
    let bytes = query
        .to_vec()
        .map_err(|e| format!("cannot encode the query: {e}"))?;
    let resolver: SocketAddr = tokio::net::lookup_host(&probe.resolver)
        .await
        .map_err(|e| format!("cannot resolve the resolver {}: {e}", probe.resolver))?
        .next()
        .ok_or_else(|| format!("the resolver {} has no address", probe.resolver))?;
    let local: SocketAddr = if resolver.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    socket
        .connect(resolver)
        .await
        .map_err(|e| format!("cannot reach the resolver {resolver}: {e}"))?;
    socket
        .send(&bytes)
        .await
        .map_err(|e| format!("cannot send to the resolver {resolver}: {e}"))?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        // A refused port shows up as an error here (ICMP port unreachable).
        let n = socket
            .recv(&mut buf)
            .await
            .map_err(|e| format!("no answer from the resolver {resolver}: {e}"))?;
        let Ok(response) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        // Stray or spoofed datagrams with another id are ignored.
        if response.metadata.id != id {
            continue;
        }
        let records = response
            .answers
            .iter()
            .map(|r| r.data.to_string())
            .collect();
        let ip = response
            .answers
            .iter()
            .find_map(|r| r.data.ip_addr())
            .map(|ip| ip.to_string());
        return Ok(Answer {
            rcode: rcode_name(response.metadata.response_code),
            records,
            ip,
        });
    }
}

/// Runs one DNS check. `[BODY]` is the answers, one per line (an A query's addresses,
/// a TXT record's text); `[IP]` the first address; `[DNS_RCODE]` the response code. Without
/// conditions the check passes on NOERROR with at least one answer.
pub async fn run_dns(probe: &DnsProbe) -> CheckResult {
    let at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let outcome = tokio::time::timeout(probe.timeout, ask(probe)).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let answer = match outcome {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!(
            "no answer from {} within {}",
            probe.resolver,
            humantime::format_duration(probe.timeout)
        )),
    };
    match answer {
        Ok(answer) => {
            let body = answer.records.join("\n");
            let ctx = Context {
                response_time_ms: Some(latency_ms),
                body: Some(Body::new(&body)),
                ip: answer.ip.as_deref(),
                connected: Some(true),
                dns_rcode: Some(&answer.rcode),
                ..Context::default()
            };
            let healthy = answer.rcode == "NOERROR" && !answer.records.is_empty();
            let error = (!healthy).then(|| {
                if answer.rcode == "NOERROR" {
                    format!("{} {}: no records", probe.record_type, probe.name)
                } else {
                    format!("{} {}: {}", probe.record_type, probe.name, answer.rcode)
                }
            });
            let mut result = verdict(at, latency_ms, &probe.conditions, &ctx, healthy, None);
            if !result.ok && probe.conditions.is_empty() {
                result.error = error;
            }
            result
        }
        Err(e) => {
            let ctx = Context {
                response_time_ms: Some(latency_ms),
                connected: Some(false),
                ..Context::default()
            };
            verdict(at, latency_ms, &probe.conditions, &ctx, false, Some(e))
        }
    }
}
