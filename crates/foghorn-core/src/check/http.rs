//! HTTP(S) checks: the request, the body (read only when a condition needs it), the verdict.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{verdict, CheckResult};
use crate::condition::{Body, Condition, Context, Placeholder};
use crate::config::{FollowRedirects, MonitorConfig};
use crate::http::{self, HttpError, Redirects};
use crate::secret::{Confidential, SystemSecrets};

/// Bodies are read up to this many bytes: enough for any health endpoint, and a target that
/// streams gigabytes cannot exhaust memory.
pub const MAX_BODY: usize = 1024 * 1024;

/// Redirects a monitor follows in a row before the check fails.
pub const MAX_REDIRECTS: usize = 10;

/// How a monitor trusts certificates and follows redirects: the settings that live in the
/// HTTP client itself. Monitors with the same options share one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    pub insecure: bool,
    pub ca_file: Option<std::path::PathBuf>,
    pub redirects: FollowRedirects,
}

/// One HTTP client per distinct [`TlsOptions`], built on first use.
#[derive(Debug, Default)]
pub struct Clients {
    built: std::sync::Mutex<std::collections::HashMap<TlsOptions, reqwest::Client>>,
}

impl Clients {
    /// The client for `tls`; an unreadable or invalid CA file is an error naming it.
    pub fn get(&self, tls: &TlsOptions) -> Result<reqwest::Client, String> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = built.get(tls) {
            return Ok(client.clone());
        }
        let client = http_client(tls)?;
        built.insert(tls.clone(), client.clone());
        Ok(client)
    }
}

/// What to request. Built from a monitor's configuration or from `foghorn check`'s flags.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    pub url: String,
    pub method: reqwest::Method,
    /// Values may be `env:`/`keyring:` references, looked up at each check so a rotated
    /// token is used without a restart.
    pub headers: BTreeMap<String, Confidential>,
    pub body: Option<String>,
    pub timeout: Duration,
    pub conditions: Vec<Condition>,
    pub tls: TlsOptions,
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
            tls: TlsOptions {
                insecure: m.insecure,
                ca_file: m.ca_file.clone(),
                redirects: m.follow_redirects,
            },
        }
    }

    fn needs(&self, p: Placeholder) -> bool {
        self.conditions
            .iter()
            .any(|c| c.placeholders().any(|q| q == p))
    }
}

/// An HTTP client for monitors with these TLS options, from [`crate::http`].
///
/// Redirects are followed only within the same host unless the monitor says otherwise: a
/// health URL that suddenly redirects to a login page on another host is a failure the user
/// must see, not a success. Each request sets its own time limit (the monitor's `timeout`).
pub fn http_client(tls: &TlsOptions) -> Result<reqwest::Client, String> {
    let redirects = match tls.redirects {
        FollowRedirects::None => Redirects::None,
        FollowRedirects::Any => Redirects::Any,
        _ => Redirects::SameHost,
    };
    let mut builder = http::Builder::default()
        .redirects(redirects)
        .max_redirects(MAX_REDIRECTS)
        // A fresh connection per check, like blackbox_exporter: a reused connection would
        // hide DNS and TLS handshake failures.
        .fresh_connections()
        // The peer certificate, for `[CERTIFICATE_EXPIRATION]`.
        .tls_info(true)
        .accept_invalid_certs(tls.insecure);
    if let Some(path) = &tls.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: not a PEM certificate bundle: {e}", path.display()))?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map(http::Client::into_reqwest)
        .map_err(|e| e.to_string())
}

/// Milliseconds until the peer certificate expires (negative once expired); 0 on plain HTTP,
/// which has no certificate, as Gatus reads it, so `[CERTIFICATE_EXPIRATION] == 0` holds there.
fn certificate_expiration_ms(response: &reqwest::Response) -> Option<i64> {
    if response.url().scheme() == "http" {
        return Some(0);
    }
    let der = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = certificate.validity().not_after.timestamp();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    not_after.checked_sub(now)?.checked_mul(1000)
}

/// What the transport observed, before conditions are applied.
struct Observed {
    status: Option<u16>,
    body: Option<String>,
    ip: Option<String>,
    certificate_expiration_ms: Option<i64>,
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
        match v.resolve(&SystemSecrets) {
            Ok(value) => request = request.header(k, value.expose()),
            Err(e) => {
                return Observed {
                    status: None,
                    body: None,
                    ip: None,
                    certificate_expiration_ms: None,
                    connected: false,
                    error: Some(format!("header `{k}`: {e}")),
                }
            }
        }
    }
    if let Some(body) = &probe.body {
        request = request.body(body.clone());
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let e = HttpError::from_reqwest(&e, probe.timeout);
            return Observed {
                status: None,
                body: None,
                ip: None,
                certificate_expiration_ms: None,
                connected: !matches!(e, HttpError::Connect { .. } | HttpError::Timeout { .. }),
                error: Some(e.to_string()),
            };
        }
    };
    let status = response.status();
    let ip = response.remote_addr().map(|a| a.ip().to_string());
    let certificate_expiration_ms = certificate_expiration_ms(&response);
    let mut error = None;
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("?");
        let why = match probe.tls.redirects {
            FollowRedirects::None => "redirected; this monitor does not follow redirects",
            _ => "redirected to another host; set follow_redirects = \"any\" to follow it",
        };
        error = Some(format!("HTTP {}: {why} ({to})", status.as_u16()));
    }
    let body = if probe.needs(Placeholder::Body) {
        let (bytes, broke) = http::read_prefix(&mut response, MAX_BODY).await;
        if let Some(e) = broke {
            error = Some(format!(
                "reading the body: {}",
                HttpError::from_reqwest(&e, probe.timeout)
            ));
        }
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        None
    };
    Observed {
        status: Some(status.as_u16()),
        body,
        ip,
        certificate_expiration_ms,
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
        certificate_expiration_ms: seen.certificate_expiration_ms,
        dns_rcode: None,
    };
    let healthy = seen.error.is_none() && seen.status.is_some_and(|s| (200..300).contains(&s));
    verdict(at, latency_ms, &probe.conditions, &ctx, healthy, seen.error)
}
