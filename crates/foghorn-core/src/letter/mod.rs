//! The Letter from the CEO: one honest letter to every customer, personalised from the
//! customer list and sent exactly once. Every recipient is a row of the letter's ledger,
//! committed before anything is sent; resuming reads the ledger, never a cursor, and a letter
//! left in flight by a crash goes again with the same `Message-ID`, which receiving servers
//! drop as a repeat.

pub mod compose;
pub mod desk;
pub mod draft;
pub mod ledger;
pub mod message;
pub mod rate;
pub mod recipients;
pub mod send;
pub mod smtp;

/// Why a letter cannot be sent, worded for the founder sending it.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("the letter: {0}")]
    Draft(#[from] draft::DraftError),
    #[error("the customer list: {0}")]
    List(#[from] recipients::RecipientsError),
    #[error("{0}")]
    Message(#[from] message::MessageError),
    #[error("the database: {0}")]
    Store(String),
    #[error("letter {letter_id} is being sent by another Foghorn on this computer (a window or a command); pause it there first")]
    Busy { letter_id: i64 },
    #[error("letter {0} was cancelled; it is not sent any further")]
    Cancelled(i64),
    #[error("{0}")]
    Setup(String),
    #[error("line {line}: the letter cannot be filled in for {email}: {error}")]
    Fill {
        line: u64,
        email: String,
        error: draft::DraftError,
    },
    #[error("the customer list: {0}")]
    ListPath(String),
    #[error("the configuration has no [smtp] section: add one (url, from) to send the letter")]
    NoSmtp,
    #[error("there is no letter {0}")]
    NotFound(i64),
    #[error("letter {0} was sent to everyone on the list already")]
    AlreadySent(i64),
    #[error("the customer list changed: it now has {now} customers, not {expected}; look at the preview again")]
    Changed { expected: u64, now: u64 },
    #[error("the mail server did not accept the letter: {0}")]
    Refused(String),
}

impl From<crate::store::StoreError> for LetterError {
    fn from(e: crate::store::StoreError) -> Self {
        LetterError::Store(e.to_string())
    }
}

/// What sending needs from `[smtp]` and the secrets, and what the preflight found missing.
#[derive(Debug)]
pub struct Setup {
    pub identity: message::Identity,
    pub mailer: std::sync::Arc<smtp::SmtpMailer>,
    pub options: send::Options,
    /// What a careful sender would fix first: no DKIM, no unsubscribe link, no TLS.
    pub warnings: Vec<String>,
}

/// Reads `[smtp]` and its secrets into what a send uses; a secret that cannot be read or a
/// key that does not parse is an error naming it.
pub fn setup(
    smtp: &crate::config::SmtpConfig,
    secrets: &dyn crate::secret::SecretSource,
) -> Result<Setup, LetterError> {
    use crate::secret::Secret;
    let resolve = |what: &str, r: &crate::secret::SecretRef| {
        secrets
            .resolve(r)
            .map(Secret::new)
            .map_err(|e| LetterError::Setup(format!("`smtp.{what}`: {e}")))
    };
    let from = smtp.from_mailbox().ok_or_else(|| {
        LetterError::Setup(format!("`smtp.from` ({:?}) is not an address", smtp.from))
    })?;
    let reply_to = match &smtp.reply_to {
        Some(r) => r.parse().map_err(|_| {
            LetterError::Setup(format!("`smtp.reply_to` ({r:?}) is not an address"))
        })?,
        None => from.clone(),
    };
    let password = smtp
        .password
        .as_ref()
        .map(|r| resolve("password", r))
        .transpose()?;
    let unsubscribe_secret = smtp
        .unsubscribe_secret
        .as_ref()
        .map(|r| resolve("unsubscribe_secret", r))
        .transpose()?;
    let mut warnings = Vec::new();
    let dkim = match (&smtp.dkim_key, &smtp.dkim_selector) {
        (Some(key), Some(selector)) => {
            let pem = resolve("dkim_key", key)?;
            Some(std::sync::Arc::new(message::dkim(
                selector,
                from.email.domain(),
                pem.expose(),
            )?))
        }
        _ => {
            warnings.push(
                "no DKIM signature (`dkim_key`, `dkim_selector`): receiving providers are more \
                 likely to file the letter as spam"
                    .to_owned(),
            );
            None
        }
    };
    match &smtp.unsubscribe_url {
        None => warnings.push(
            "no unsubscribe link (`unsubscribe_url`): Gmail and Yahoo require one-click \
             unsubscribe (RFC 8058) of bulk senders"
                .to_owned(),
        ),
        Some(u) if !u.trim_start().starts_with("https://") => warnings.push(format!(
            "the unsubscribe URL ({u}) is not HTTPS: one-click unsubscribe needs an https:// URL"
        )),
        Some(_) => {}
    }
    if let Ok(url) = url::Url::parse(&smtp.url) {
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let tls_required =
            url.scheme() == "smtps" || url.query().is_some_and(|q| q.contains("tls=required"));
        if !tls_required && !loopback {
            warnings.push(format!(
                "`smtp.url` does not require TLS: use smtps://…:465 or add ?tls=required, so \
                 the password and the letters cannot cross the network in clear ({})",
                url.host_str().unwrap_or("")
            ));
        }
    }
    let login = from.email.to_string();
    let mailer = smtp::SmtpMailer::new(
        &smtp.url,
        password.as_ref(),
        &login,
        smtp.connections,
        smtp.ca_file.as_deref(),
    )
    .map_err(LetterError::Setup)?;
    Ok(Setup {
        identity: message::Identity {
            from,
            reply_to,
            unsubscribe_url: smtp.unsubscribe_url.clone(),
            unsubscribe_mailto: smtp
                .unsubscribe_mailto
                .as_ref()
                .and_then(|m| m.parse().ok()),
            unsubscribe_secret,
            dkim,
        },
        mailer: std::sync::Arc::new(mailer),
        options: send::Options {
            rate: smtp.rate,
            connections: smtp.connections,
            pause_after_failures: smtp.pause_after_failures,
        },
        warnings,
    })
}
