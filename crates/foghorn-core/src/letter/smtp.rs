//! Handing a letter to the mail server. Behind a trait so the ledger's rules (what is
//! retried, what is given up on) are tested on their own; the real one is lettre's SMTP
//! transport with a pool of connections.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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

/// lettre's SMTP transport, a pool of up to `connections` connections.
#[derive(Debug)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// How long one exchange with the server may take before it counts as a network failure.
const TIMEOUT: Duration = Duration::from_secs(30);

impl SmtpMailer {
    /// A mailer for `url` (`smtp://`, `smtps://`, `?tls=required`), logging in with the URL's
    /// user (or the sender's address) and `password` when one is given.
    pub fn new(
        url: &str,
        password: Option<&Secret<String>>,
        login: &str,
        connections: u32,
    ) -> Result<Self, String> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("`smtp.url` ({url}): {e}"))?
            .timeout(Some(TIMEOUT))
            .pool_config(PoolConfig::new().max_size(connections.max(1)));
        if let Some(password) = password {
            let user = url::Url::parse(url)
                .ok()
                .map(|u| u.username().to_owned())
                .filter(|u| !u.is_empty())
                .map(|u| percent_decode(&u))
                .unwrap_or_else(|| login.to_owned());
            builder = builder.credentials(Credentials::new(user, password.expose().clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
        })
    }

    /// Whether the server answers (a connection and `NOOP`), for the preflight.
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the mail server did not answer".to_owned()),
            Err(e) => Err(format!("cannot reach the mail server: {e}")),
        }
    }
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
        match self.transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )
            .trim()
            .to_owned()),
            Err(e) => Err(classify(&e)),
        }
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
