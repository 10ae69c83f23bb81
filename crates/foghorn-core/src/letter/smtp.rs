//! Handing a letter to the mail server. Behind a trait so the ledger's rules (what is
//! retried, what is given up on) are tested on their own; the real one speaks SMTP through
//! lettre's connection, over sockets opened here.
//!
//! Why not lettre's pooled transport: it opens its sockets with Nagle's algorithm on, and
//! writes a message's body and its final `.` separately, so every letter waits out the
//! server's delayed ACK (40 ms on Linux): about 22 letters a second per connection whatever
//! the server can take (fixed upstream, lettre PR #1159, not in a release yet). Here each
//! socket has `TCP_NODELAY`, and a small pool keeps the connections between letters.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::secret::Secret;

/// Why a server did not accept a letter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later: a 4xx reply, a dropped connection, a timeout, a server not answering.
    #[error("{0}")]
    Transient(String),
    /// The address does not exist or will never take mail (550, 551, 553): a bounce.
    #[error("{0}")]
    Bounced(String),
    /// Any other 5xx: this letter will not be accepted as it is.
    #[error("{0}")]
    Permanent(String),
}

/// Something that takes a letter and says what the server replied.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// The server's reply when it accepted the letter (`250 2.0.0 queued as …`).
    async fn send(&self, message: Message) -> Result<String, SendError>;
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://…?tls=required`: STARTTLS, or no letter.
    StartTls,
    /// `smtp://`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://…?tls=none`: never (a local relay).
    Plain,
}

/// An SMTP server and a pool of open connections to it.
pub struct SmtpMailer {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    max_idle: usize,
    /// A private CA's certificate (PEM) trusted besides the public roots.
    extra_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("login", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

/// How long one exchange with the server may take before it counts as a network failure.
const TIMEOUT: Duration = Duration::from_secs(30);

impl SmtpMailer {
    /// A mailer for `url` (`smtp://host[:587]`, `smtps://host[:465]`, `?tls=required` or
    /// `?tls=none`), logging in with the URL's user (or `login`) and `password` when one is
    /// given, keeping up to `connections` connections open.
    pub fn new(
        url: &str,
        password: Option<&Secret<String>>,
        login: &str,
        connections: u32,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Self, String> {
        let extra_ca = ca_file
            .map(|p| std::fs::read(p).map_err(|e| format!("`smtp.ca_file` ({}): {e}", p.display())))
            .transpose()?;
        if let Some(pem) = &extra_ca {
            lettre::transport::smtp::client::Certificate::from_pem(pem)
                .map_err(|e| format!("`smtp.ca_file`: not a PEM certificate: {e}"))?;
        }
        let parsed = url::Url::parse(url).map_err(|e| format!("`smtp.url` ({url}): {e}"))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`smtp.url` ({url}) has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (security, default_port) = match (parsed.scheme(), tls.as_deref()) {
            ("smtps", _) => (Security::Implicit, 465),
            ("smtp", None | Some("opportunistic")) => (Security::Opportunistic, 587),
            ("smtp", Some("required")) => (Security::StartTls, 587),
            ("smtp", Some("none")) => (Security::Plain, 25),
            (scheme, tls) => {
                return Err(format!(
                    "`smtp.url` ({url}): use smtp:// or smtps://, and tls=required|opportunistic|none (not {scheme}://, tls={tls:?})"
                ))
            }
        };
        let credentials = password.map(|password| {
            let user = Some(parsed.username())
                .filter(|u| !u.is_empty())
                .map(percent_decode)
                .unwrap_or_else(|| login.to_owned());
            Credentials::new(user, password.expose().clone())
        });
        Ok(SmtpMailer {
            port: parsed.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            max_idle: connections.max(1) as usize,
            extra_ca,
        })
    }

    /// Opens, greets, secures and logs in to a new connection.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| connection_error(&format!("{}:{}: {e}", self.host, self.port)))?;
        tcp.set_nodelay(true)
            .map_err(|e| connection_error(&e.to_string()))?;
        let stream: Box<dyn AsyncTokioStream> = match self.security {
            Security::Implicit => {
                Box::new(implicit_tls(tcp, &self.host, self.extra_ca.as_deref()).await?)
            }
            _ => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(|e| refused_connection(&e))?;
        let starttls = match self.security {
            Security::StartTls => true,
            Security::Opportunistic => conn.can_starttls(),
            Security::Implicit | Security::Plain => false,
        };
        if starttls {
            let mut tls = TlsParameters::builder(self.host.clone());
            if let Some(pem) = &self.extra_ca {
                let ca = lettre::transport::smtp::client::Certificate::from_pem(pem)
                    .map_err(|e| refused_connection(&e))?;
                tls = tls.add_root_certificate(ca);
            }
            let tls = tls.build().map_err(|e| refused_connection(&e))?;
            conn.starttls(tls, &self.hello)
                .await
                .map_err(|e| refused_connection(&e))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| refused_connection(&e))?;
        }
        Ok(conn)
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        self.idle.lock().ok().and_then(|mut idle| idle.pop())
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
    }
}

/// A connection the server would not set up (greeting, STARTTLS, login): never the
/// customer's fault, so nobody's letter is given up on for it; refusals in a row pause the
/// send, saying why ("535 authentication failed").
fn refused_connection(e: &lettre::transport::smtp::Error) -> SendError {
    SendError::Transient(e.to_string())
}

/// A connection that could not be made: worth another try later.
fn connection_error(text: &str) -> SendError {
    SendError::Transient(text.to_owned())
}

/// A URL's user name as typed (`me%40acme.com` is `me@acme.com`; a `+` stays a `+`).
fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("u={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: Message) -> Result<String, SendError> {
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        let attempt = async {
            let mut conn = match self.take_idle() {
                Some(conn) => conn,
                None => self.connect().await?,
            };
            match conn.send(&envelope, &bytes).await {
                Ok(response) => {
                    self.put_back(conn);
                    Ok(format!(
                        "{} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    )
                    .trim()
                    .to_owned())
                }
                Err(e) => {
                    // A refusal of this letter leaves the connection usable (lettre resets
                    // it); a network error does not.
                    if e.is_permanent() || e.is_transient() {
                        self.put_back(conn);
                    } else {
                        conn.abort().await;
                    }
                    Err(classify(&e))
                }
            }
        };
        tokio::time::timeout(TIMEOUT, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Transient(format!(
                    "the mail server did not answer within {} s",
                    TIMEOUT.as_secs()
                )))
            })
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if matches!(code.as_str(), "550" | "551" | "553") {
            SendError::Bounced(text)
        } else {
            SendError::Permanent(text)
        }
    } else {
        // 4xx, and everything that is not the server's final word: a connection refused or
        // dropped, a timeout, a TLS handshake that failed. Worth another try later.
        SendError::Transient(text)
    }
}

/// A TLS connection from its first byte (`smtps://`), checked against the Mozilla roots.
async fn implicit_tls(
    tcp: TcpStream,
    host: &str,
    extra_ca: Option<&[u8]>,
) -> Result<TlsTcp, SendError> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca {
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| connection_error(&format!("`smtp.ca_file`: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| connection_error(&format!("`smtp.ca_file`: {e}")))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| connection_error(&e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| connection_error(&format!("{host}: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| connection_error(&format!("TLS with {host}: {e}")))?;
    Ok(TlsTcp(stream))
}

/// A TLS stream lettre can speak SMTP over.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}
