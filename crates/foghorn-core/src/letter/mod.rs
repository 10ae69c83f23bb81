//! The Letter from the CEO: one honest letter to every customer, personalised from the
//! customer list and sent exactly once. Every recipient is a row of the letter's ledger,
//! committed before anything is sent; resuming reads the ledger, never a cursor, and a letter
//! left in flight by a crash goes again with the same `Message-ID`, which receiving servers
//! drop as a repeat (through Intercom, which keeps no such key, it is looked for first).

use std::sync::Arc;

use crate::secret::SecretSource;
use crate::store::LetterVia;

pub mod compose;
pub mod courier;
pub mod credit;
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
    #[error("the configuration has no [smtp] section: add one (url, from) to send the letter, or [intercom] to send it through Intercom")]
    NoSmtp,
    #[error("there is no letter {0}")]
    NotFound(i64),
    #[error("letter {0} was sent to everyone on the list already")]
    AlreadySent(i64),
    #[error("the customer list changed: it now has {now} customers, not {expected}; look at the preview again")]
    Changed { expected: u64, now: u64 },
    #[error("the mail server did not accept the letter: {0}")]
    Refused(String),
    #[error("letter {letter_id} is being sent {}; it cannot change its way half-way: send it {} again", via.way(), via.way())]
    OtherVia { letter_id: i64, via: LetterVia },
    #[error("the letter speaks about the SLA of {0}, but the configuration has no plan with a guarantee ([[sla.plans]]): nobody could be owed a credit")]
    NoSlaPlans(String),
    #[error("the SLA report of {month}: {message}")]
    Sla { month: String, message: String },
}

impl From<crate::store::StoreError> for LetterError {
    fn from(e: crate::store::StoreError) -> Self {
        LetterError::Store(e.to_string())
    }
}

/// What sending needs from the configuration and the secrets, and what the preflight found
/// missing.
pub struct Setup {
    pub via: LetterVia,
    /// Who the letters are from, as the preview shows it.
    pub sender: String,
    /// Where replies go, as the preview shows it.
    pub reply_to: String,
    /// The domain of the letters' `Message-ID`s.
    pub domain: String,
    /// The founder's own address: where a test letter goes unless another is given.
    pub test_to: String,
    /// The email's sender, unsubscribe link and signature (by email only).
    pub identity: Option<Arc<message::Identity>>,
    pub courier: Arc<dyn courier::Courier>,
    pub options: send::Options,
    /// What a careful sender would fix first: no DKIM, no unsubscribe link, no TLS.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("via", &self.via)
            .field("sender", &self.sender)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The way a letter goes when none is asked for: email when `[smtp]` is set up, else
/// Intercom when `[intercom]` is.
pub fn default_via(config: &crate::config::Config) -> Option<LetterVia> {
    if config.smtp.is_some() {
        Some(LetterVia::Email)
    } else if config.intercom.is_some() {
        Some(LetterVia::Intercom)
    } else {
        None
    }
}

/// What a send `via` email or Intercom uses, from the configuration's section for it.
pub fn setup_via(
    config: &crate::config::Config,
    via: LetterVia,
    secrets: Arc<dyn SecretSource>,
) -> Result<Setup, LetterError> {
    match via {
        LetterVia::Email => {
            let smtp = config.smtp.as_ref().ok_or(LetterError::NoSmtp)?;
            setup(smtp, secrets.as_ref())
        }
        LetterVia::Intercom => {
            let intercom = config.intercom.as_ref().ok_or_else(|| {
                LetterError::Setup(
                    "sending through Intercom needs an [intercom] section (url, token, admin_id)"
                        .to_owned(),
                )
            })?;
            Ok(setup_intercom(intercom, config.smtp.as_ref(), secrets))
        }
    }
}

/// Sending through Intercom: an email from `[intercom]`'s admin to each contact, with
/// Intercom's own unsubscribe link and sending domain. `[smtp]`'s `from`, when there is one,
/// is where a test letter goes.
pub fn setup_intercom(
    intercom: &crate::config::IntercomConfig,
    smtp: Option<&crate::config::SmtpConfig>,
    secrets: Arc<dyn SecretSource>,
) -> Setup {
    let client = crate::support::intercom::Intercom::new(
        intercom,
        crate::deliver::http::Secrets(secrets),
        crate::deliver::DEFAULT_TIMEOUT,
    );
    let domain = url::Url::parse(&intercom.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "intercom.io".to_owned());
    let test_to = smtp
        .and_then(|s| s.from_mailbox())
        .map(|m| m.email.to_string())
        .unwrap_or_default();
    Setup {
        via: LetterVia::Intercom,
        sender: format!("Intercom admin {}", intercom.admin_id),
        reply_to: "the admin's Intercom inbox".to_owned(),
        domain,
        test_to,
        identity: None,
        courier: Arc::new(courier::ByIntercom {
            intercom: Arc::new(client),
        }),
        options: send::Options {
            rate: intercom.letter_rate,
            connections: 4,
            pause_after_failures: 10,
        },
        warnings: Vec::new(),
    }
}

/// Reads `[smtp]` and its secrets into what a send uses; a secret that cannot be read or a
/// key that does not parse is an error naming it.
pub fn setup(
    smtp: &crate::config::SmtpConfig,
    secrets: &dyn SecretSource,
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
    let identity = Arc::new(message::Identity {
        from,
        reply_to,
        unsubscribe_url: smtp.unsubscribe_url.clone(),
        unsubscribe_mailto: smtp
            .unsubscribe_mailto
            .as_ref()
            .and_then(|m| m.parse().ok()),
        unsubscribe_secret,
        dkim,
    });
    Ok(Setup {
        via: LetterVia::Email,
        sender: identity.from.to_string(),
        reply_to: identity.reply_to.to_string(),
        domain: identity.domain().to_owned(),
        test_to: identity.from.email.to_string(),
        identity: Some(identity.clone()),
        courier: Arc::new(courier::ByEmail {
            identity,
            mailer: Arc::new(mailer),
        }),
        options: send::Options {
            rate: smtp.rate,
            connections: smtp.connections,
            pause_after_failures: smtp.pause_after_failures,
        },
        warnings,
    })
}
