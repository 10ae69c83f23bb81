//! `[smtp]`: the mail server the customer letter goes out through, who it is from, and what a
//! bulk sender owes the receiving providers (an unsubscribe link, a DKIM signature, a rate).

use serde::{Deserialize, Deserializer};

use crate::letter::rate::Rate;
use crate::secret::SecretRef;

/// The letter's mail settings. Without `[smtp]` there is no letter to send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host:587` (STARTTLS when offered; `?tls=required` to insist, `?tls=none`
    /// never), `smtps://host:465` (implicit TLS). A user name may be given (`smtp://me@host`); the
    /// password never: it is `password`.
    pub url: String,
    /// `"Alice Smith <alice@example.com>"`: the founder the letter is from.
    pub from: String,
    /// A CA certificate (PEM) to trust besides the public ones: a company's own relay.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The SMTP password (`env:`/`keyring:`).
    #[serde(default)]
    pub password: Option<SecretRef>,
    /// Where replies go; `from` when not given.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The one-click unsubscribe page, `https://…{{ token }}…`; `token` is an HMAC of the
    /// customer's address with `unsubscribe_secret`, so the page can check it without a list.
    #[serde(default)]
    pub unsubscribe_url: Option<String>,
    /// An address that unsubscribes whoever writes to it (`List-Unsubscribe: <mailto:…>`).
    #[serde(default)]
    pub unsubscribe_mailto: Option<String>,
    /// The key of the unsubscribe tokens (`env:`/`keyring:`), shared with the page.
    #[serde(default)]
    pub unsubscribe_secret: Option<SecretRef>,
    /// The DKIM private key, RSA PKCS#1 PEM (`env:`/`keyring:`).
    #[serde(default)]
    pub dkim_key: Option<SecretRef>,
    /// The DKIM selector the public key is published under (`SELECTOR._domainkey.DOMAIN`).
    #[serde(default)]
    pub dkim_selector: Option<String>,
    /// `"10/s"`, `"2000/h"`, `"10/s, 2000/h"` or `"off"`.
    #[serde(default, deserialize_with = "rate")]
    pub rate: Rate,
    /// A send pauses itself after this many failures in a row (a server down, a quota hit).
    #[serde(default = "default_pause_after")]
    pub pause_after_failures: u32,
    /// Connections kept open to the server at once.
    #[serde(default = "default_connections")]
    pub connections: u32,
}

fn default_pause_after() -> u32 {
    10
}

fn default_connections() -> u32 {
    4
}

pub(crate) fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
    Rate::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

impl SmtpConfig {
    /// What is wrong with the settings, if anything (the keys as written).
    pub(crate) fn check(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.url)
            .map_err(|e| format!("`smtp.url` ({:?}) is not a URL: {e}", self.url))?;
        if !matches!(url.scheme(), "smtp" | "smtps") {
            return Err(format!(
                "`smtp.url` must start with smtp:// or smtps://, not {}://",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("`smtp.url` has no host".to_owned());
        }
        if url.password().is_some() {
            return Err(
                "`smtp.url` must not hold the password: give it as `password = \"keyring:smtp\"` \
                 (stored with `foghorn secret set smtp`) or `\"env:NAME\"`"
                    .to_owned(),
            );
        }
        self.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("`smtp.from` ({:?}) is not an address: {e}", self.from))?;
        if let Some(reply_to) = &self.reply_to {
            reply_to
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("`smtp.reply_to` ({reply_to:?}) is not an address: {e}"))?;
        }
        if let Some(mailto) = &self.unsubscribe_mailto {
            mailto.parse::<lettre::Address>().map_err(|e| {
                format!("`smtp.unsubscribe_mailto` ({mailto:?}) is not an address: {e}")
            })?;
        }
        if let Some(template) = &self.unsubscribe_url {
            crate::letter::message::check_unsubscribe_url(template)
                .map_err(|e| format!("`smtp.unsubscribe_url`: {e}"))?;
            if template.contains("token") && self.unsubscribe_secret.is_none() {
                return Err(
                    "`smtp.unsubscribe_url` uses {{ token }}, which needs `unsubscribe_secret` \
                     (the key the unsubscribe page checks tokens with)"
                        .to_owned(),
                );
            }
        }
        if self.dkim_key.is_some() && self.dkim_selector.is_none() {
            return Err(
                "`smtp.dkim_key` needs `dkim_selector` (the DNS name the public key is under)"
                    .to_owned(),
            );
        }
        if self.connections == 0 {
            return Err("`smtp.connections` must be at least 1".to_owned());
        }
        Ok(())
    }

    /// The address the letter is from.
    pub fn from_mailbox(&self) -> Option<lettre::message::Mailbox> {
        self.from.parse().ok()
    }
}
