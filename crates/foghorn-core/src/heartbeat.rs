//! The heartbeat listener: jobs that cannot be polled (backups, cron jobs, queue workers)
//! ping Foghorn instead, and silence is the alarm.
//!
//! `GET` or `POST /heartbeat/{monitor-id}` records a success; `/heartbeat/{monitor-id}/fail`
//! a failure, with an optional `?msg=` or request body (up to 1 KiB) as the reason.
//!
//! A ping is a claim that a backup ran, so every request must prove it comes from the job:
//! - it carries the token (`Authorization: Bearer TOKEN` or `?token=TOKEN`), compared in
//!   constant time. Without `[heartbeats] token` one is generated on first use and kept in
//!   the database, so monitor ids (which are predictable) are never enough on their own;
//! - its `Host` is the address Foghorn listens on (an IP literal or `localhost`, with the
//!   port), so a web page cannot reach the listener through a DNS name rebound to 127.0.0.1;
//! - it carries no `Origin` and no `Sec-Fetch-*` header: those are sent by web browsers
//!   only, and no page the user visits has any business pinging a backup monitor.
//!
//! A client gets [`Limits::header_timeout`] to send its request line and headers and
//! [`Limits::request_timeout`] for the whole exchange; beyond [`Limits::max_connections`]
//! connections at once, new ones are answered 503 and closed.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Where accepted pings go: `(monitor id, ok, message)`. The engine gives its heartbeat
/// monitors' entry point; this module knows nothing else of it.
pub type Ping = Arc<
    dyn Fn(
            String,
            bool,
            Option<String>,
        ) -> Pin<Box<dyn Future<Output = Result<(), Refused>> + Send>>
        + Send
        + Sync,
>;

/// Why a ping that passed the gate was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No monitor has this id.
    UnknownMonitor(String),
    /// The monitor is polled by Foghorn, not pinged.
    NotHeartbeat(String),
    /// Anything else, as said to the client.
    Failed(String),
}

/// A failure message longer than this is cut: it ends up in a notification.
const MAX_MESSAGE: usize = 1024;

/// How long a refused connection is given to read its 503 before it is closed.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// How much a slow or idle client may hold of the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time to send the request line and headers.
    pub header_timeout: Duration,
    /// Time for the whole request, body and answer included.
    pub request_timeout: Duration,
    /// Connections served at once; more are answered 503.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            max_connections: 32,
        }
    }
}

/// Which requests may ping: the token, and the `Host` values that name this listener.
#[derive(Clone)]
struct Gate {
    /// HMAC of the token under a fixed key: comparing two MACs with `verify_slice` takes
    /// the same time whatever the given token is (length included).
    token_mac: Vec<u8>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("addr", &self.addr).finish()
    }
}

type TokenMac = Hmac<Sha256>;
const TOKEN_MAC_KEY: &[u8] = b"foghorn heartbeat token";

fn mac_of(token: &str) -> TokenMac {
    let mut mac = TokenMac::new_from_slice(TOKEN_MAC_KEY).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    mac
}

impl Gate {
    fn new(token: &str, addr: SocketAddr) -> Self {
        Gate {
            token_mac: mac_of(token).finalize().into_bytes().to_vec(),
            addr,
        }
    }

    fn token_matches(&self, given: &str) -> bool {
        mac_of(given).verify_slice(&self.token_mac).is_ok()
    }

    /// Whether `host` (a `Host` header) names this listener: the port must be ours, and the
    /// host an IP literal this listener answers on or `localhost` (both immune to DNS
    /// rebinding, unlike any other name).
    fn host_matches(&self, host: &str) -> bool {
        let Ok(authority) = host.parse::<hyper::http::uri::Authority>() else {
            return false;
        };
        if authority.port_u16().unwrap_or(80) != self.addr.port() {
            return false;
        }
        let name = authority.host();
        let ip = self.addr.ip();
        if name.eq_ignore_ascii_case("localhost") {
            return ip.is_loopback() || ip.is_unspecified();
        }
        match name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(given) if ip.is_unspecified() => !given.is_unspecified(),
            Ok(given) => given == ip,
            Err(_) => false,
        }
    }
}

/// Accepts pings until the task is dropped. Every request must carry `token`.
pub async fn serve(listener: TcpListener, pings: Ping, token: String, limits: Limits) {
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            tracing::error!(error = %e, "heartbeat listener has no address");
            return;
        }
    };
    let gate = Arc::new(Gate::new(&token, addr));
    drop(token);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, limit = limits.max_connections, "heartbeat listener busy: connection refused");
            tokio::spawn(refuse(stream));
            continue;
        };
        let pings = Arc::clone(&pings);
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req| {
                let pings = Arc::clone(&pings);
                let gate = Arc::clone(&gate);
                async move { Ok::<_, Infallible>(handle(req, &pings, &gate).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                // One ping per connection: an idle keep-alive would hold a slot for nothing.
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(limits.request_timeout, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "heartbeat connection ended"),
                Err(_) => tracing::debug!(%peer, "heartbeat connection took too long; closed"),
            }
        });
    }
}

/// Answers 503 to a connection over the limit, without reading its request first.
async fn refuse(mut stream: TcpStream) {
    let body = "too many connections to the heartbeat listener; try again\n";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent, so closing does not reset the connection before it
        // has read the answer.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

fn reply(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let mut text = text.into();
    text.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

/// The value of `key` in a query string, percent-decoded.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Why a request may not ping at all, checked before anything else is looked at.
fn refusal(req: &Request<Incoming>, gate: &Gate) -> Option<Response<Full<Bytes>>> {
    let headers = req.headers();
    let from_browser = headers.contains_key(hyper::header::ORIGIN)
        || headers
            .keys()
            .any(|name| name.as_str().starts_with("sec-fetch-"));
    if from_browser {
        return Some(reply(
            StatusCode::FORBIDDEN,
            "heartbeats are not taken from web browsers",
        ));
    }
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !gate.host_matches(host) {
        return Some(reply(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host must be {} (the address Foghorn listens on)",
                gate.addr
            ),
        ));
    }
    let query = req.uri().query();
    let bearer = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let given = bearer.or_else(|| query_value(query, "token"));
    if !given.is_some_and(|given| gate.token_matches(&given)) {
        return Some(reply(
            StatusCode::UNAUTHORIZED,
            "missing or wrong heartbeat token (Authorization: Bearer TOKEN or ?token=TOKEN)",
        ));
    }
    None
}

async fn handle(req: Request<Incoming>, pings: &Ping, gate: &Gate) -> Response<Full<Bytes>> {
    if !matches!(*req.method(), Method::GET | Method::POST | Method::HEAD) {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST");
    }
    if let Some(refused) = refusal(&req, gate) {
        return refused;
    }
    let query = req.uri().query().map(str::to_owned);
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/heartbeat/") else {
        return reply(StatusCode::NOT_FOUND, "ping /heartbeat/MONITOR-ID");
    };
    let (id, ok) = match rest.strip_suffix("/fail") {
        Some(id) => (id.to_owned(), false),
        None => (rest.trim_end_matches('/').to_owned(), true),
    };
    let mut message = query_value(query.as_deref(), "msg");
    if !ok && message.is_none() {
        if let Ok(body) = Limited::new(req.into_body(), MAX_MESSAGE * 4)
            .collect()
            .await
        {
            let text = String::from_utf8_lossy(&body.to_bytes()).trim().to_owned();
            message = (!text.is_empty()).then_some(text);
        }
    }
    let message = message.map(|m| m.chars().take(MAX_MESSAGE).collect());
    match pings(id, ok, message).await {
        Ok(()) => reply(StatusCode::OK, "ok"),
        Err(Refused::UnknownMonitor(id)) => {
            reply(StatusCode::NOT_FOUND, format!("no monitor {id:?}"))
        }
        Err(Refused::NotHeartbeat(id)) => reply(
            StatusCode::CONFLICT,
            format!("{id:?} is polled by Foghorn, not a heartbeat monitor"),
        ),
        Err(Refused::Failed(e)) => reply(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// The command a job runs to ping monitor `id` on `addr` with `token`.
pub fn curl_line(addr: SocketAddr, token: &str, id: &str) -> String {
    let host = if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::from([127, 0, 0, 1]), addr.port())
    } else {
        addr
    };
    format!("curl -fsS -X POST -H 'Authorization: Bearer {token}' http://{host}/heartbeat/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_name_the_listener() {
        let loopback = Gate::new("t", "127.0.0.1:7291".parse().expect("addr"));
        for ok in ["127.0.0.1:7291", "localhost:7291", "LOCALHOST:7291"] {
            assert!(loopback.host_matches(ok), "{ok}");
        }
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:80",
            "evil.example:7291",
            "127.0.0.2:7291",
            "[::1]:7291",
            "rebound.127.0.0.1.nip.io:7291",
        ] {
            assert!(!loopback.host_matches(bad), "{bad}");
        }
        let any = Gate::new("t", "0.0.0.0:7291".parse().expect("addr"));
        assert!(any.host_matches("192.168.1.20:7291"));
        assert!(any.host_matches("[fe80::1]:7291"));
        assert!(!any.host_matches("printer.local:7291"));
        let v6 = Gate::new("t", "[::1]:7291".parse().expect("addr"));
        assert!(v6.host_matches("[::1]:7291") && v6.host_matches("localhost:7291"));
    }

    #[test]
    fn tokens_compare_whole() {
        let gate = Gate::new("s3cret", "127.0.0.1:1".parse().expect("addr"));
        assert!(gate.token_matches("s3cret"));
        for bad in ["", "s3cre", "s3cret ", "S3cret", "s3cret\0"] {
            assert!(!gate.token_matches(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_curl_line_names_a_reachable_address() {
        assert_eq!(
            curl_line("0.0.0.0:7291".parse().expect("addr"), "abc", "nightly-backup"),
            "curl -fsS -X POST -H 'Authorization: Bearer abc' http://127.0.0.1:7291/heartbeat/nightly-backup"
        );
    }
}
