//! One customer's letter as an email: multipart text and HTML, `Reply-To` the founder, a
//! `Message-ID` that is the same every time this letter goes to this customer (so a copy
//! resent after a crash is recognised as the same message), one-click unsubscribe headers
//! (RFC 8058, which Gmail and Yahoo require of bulk senders), and an optional DKIM signature
//! that covers them.

use std::collections::BTreeMap;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use super::draft::Rendered;
use crate::secret::Secret;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a letter could not be made into an email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("{0:?} is not an email address")]
    Address(String),
    #[error("the unsubscribe URL: {0}")]
    Unsubscribe(String),
    #[error("the DKIM key: {0}")]
    Dkim(String),
    #[error("the email cannot be built: {0}")]
    Build(String),
}

/// Who the letters are from and what every one of them carries.
#[derive(Clone)]
pub struct Identity {
    pub from: Mailbox,
    pub reply_to: Mailbox,
    pub unsubscribe_url: Option<String>,
    pub unsubscribe_mailto: Option<Address>,
    pub unsubscribe_secret: Option<Secret<String>>,
    pub dkim: Option<Arc<DkimConfig>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("from", &self.from.to_string())
            .field("reply_to", &self.reply_to.to_string())
            .field("unsubscribe_url", &self.unsubscribe_url)
            .field("dkim", &self.dkim.is_some())
            .finish()
    }
}

/// The headers a DKIM signature covers: what a forger would change, and the unsubscribe
/// headers, which Gmail wants signed.
const SIGNED_HEADERS: [&str; 9] = [
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// A DKIM signer for `domain` from an RSA key in PKCS#1 PEM.
pub fn dkim(selector: &str, domain: &str, pem: &str) -> Result<DkimConfig, MessageError> {
    let key = DkimSigningKey::new(pem.trim(), DkimSigningAlgorithm::Rsa).map_err(|e| {
        MessageError::Dkim(format!(
            "not an RSA private key in PKCS#1 PEM (\"-----BEGIN RSA PRIVATE KEY-----\"): {e}"
        ))
    })?;
    Ok(DkimConfig::new(
        selector.to_owned(),
        domain.to_owned(),
        key,
        SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

/// The `Message-ID` of `letter` to `email`: the same on every attempt, different for every
/// customer and letter, and saying nothing of the address it was made from.
pub fn message_id(letter_key: &str, email: &str, domain: &str) -> String {
    let digest = Sha256::new()
        .chain_update(letter_key.as_bytes())
        .chain_update([0])
        .chain_update(email.trim().to_lowercase().as_bytes())
        .finalize();
    let letter: String = letter_key.chars().take(12).collect();
    format!("<letter.{letter}.{}@{domain}>", &hex::encode(digest)[..32])
}

/// The unsubscribe token of `email`: an HMAC the unsubscribe page can check with the shared
/// key, so it needs no copy of the list and a token cannot be made up for another address.
pub fn unsubscribe_token(secret: &[u8], email: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this is unreachable.
        return String::new();
    };
    mac.update(email.trim().to_lowercase().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether an unsubscribe URL template compiles and makes a URL; the error says how not.
pub fn check_unsubscribe_url(template: &str) -> Result<(), String> {
    let url = fill_unsubscribe_url(template, "0123abcd")?;
    let parsed = url::Url::parse(&url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("{url:?} must be an https:// URL"));
    }
    Ok(())
}

fn fill_unsubscribe_url(template: &str, token: &str) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.template_from_str(template)
        .and_then(|t| t.render(minijinja::context! { token => token }))
        .map(|s| s.trim().to_owned())
        .map_err(|e| e.detail().unwrap_or("not a template").to_owned())
}

impl Identity {
    /// This customer's unsubscribe page, when one is configured.
    pub fn unsubscribe_url_for(&self, email: &str) -> Option<String> {
        let template = self.unsubscribe_url.as_ref()?;
        let token = self
            .unsubscribe_secret
            .as_ref()
            .map(|s| unsubscribe_token(s.expose().as_bytes(), email))
            .unwrap_or_default();
        fill_unsubscribe_url(template, &token).ok()
    }

    /// The domain of the sender, which `Message-ID`s and the DKIM signature are under.
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// The email of `rendered` to `email`, with the stable `message_id`.
    pub fn build(
        &self,
        email: &str,
        name: Option<&str>,
        rendered: &Rendered,
        message_id: &str,
    ) -> Result<Message, MessageError> {
        let address: Address = email
            .trim()
            .parse()
            .map_err(|_| MessageError::Address(email.to_owned()))?;
        let to = Mailbox::new(
            name.map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| n.replace(['\r', '\n'], " ")),
            address,
        );
        let mut builder = Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone())
            .to(to)
            .subject(&rendered.subject)
            .message_id(Some(message_id.to_owned()))
            .date_now()
            .user_agent("Foghorn".to_owned());
        let unsubscribe = self.unsubscribe_url_for(email);
        let mut targets = Vec::new();
        if let Some(url) = &unsubscribe {
            targets.push(format!("<{url}>"));
        }
        if let Some(mailto) = &self.unsubscribe_mailto {
            targets.push(format!("<mailto:{mailto}?subject=unsubscribe>"));
        }
        if !targets.is_empty() {
            builder = builder.header(ListUnsubscribe(targets.join(", ")));
        }
        // One-click (RFC 8058) needs an HTTPS target to POST to; a mailto alone has none.
        if unsubscribe.is_some_and(|u| u.starts_with("https://")) {
            builder = builder.header(ListUnsubscribePost);
        }
        let mut message = builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| MessageError::Build(e.to_string()))?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(message)
    }
}

/// `List-Unsubscribe: <https://…>, <mailto:…>`.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        Ok(ListUnsubscribe(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, BoxError> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// A customer's row: column name to value.
pub type Columns = BTreeMap<String, String>;

/// A row's columns with the customer's own unsubscribe link, as the letter is filled in.
pub fn with_unsubscribe(identity: Option<&Identity>, vars: &Columns, email: &str) -> Columns {
    let mut vars = vars.clone();
    if let Some(url) = identity.and_then(|i| i.unsubscribe_url_for(email)) {
        vars.insert("unsubscribe_url".into(), url);
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            from: "Alice Smith <alice@acme.test>".parse().expect("from"),
            reply_to: "Alice Smith <alice@acme.test>".parse().expect("reply to"),
            unsubscribe_url: Some("https://acme.test/unsubscribe?t={{ token }}".into()),
            unsubscribe_mailto: Some("unsubscribe@acme.test".parse().expect("mailto")),
            unsubscribe_secret: Some(Secret::new("k3y".into())),
            dkim: None,
        }
    }

    fn rendered() -> Rendered {
        Rendered {
            subject: "About today".into(),
            text: "Dear Ada,\n\nSorry.\n".into(),
            html: "<p>Dear Ada,</p><p>Sorry.</p>".into(),
        }
    }

    #[test]
    fn a_message_id_is_stable_per_letter_and_customer() {
        let a = message_id("abcdef0123456789", "Ada@Example.com", "acme.test");
        assert_eq!(
            a,
            message_id("abcdef0123456789", " ada@example.com", "acme.test")
        );
        assert_ne!(
            a,
            message_id("abcdef0123456789", "bob@example.com", "acme.test")
        );
        assert_ne!(
            a,
            message_id("fedcba9876543210", "ada@example.com", "acme.test")
        );
        assert!(
            a.starts_with("<letter.abcdef012345.") && a.ends_with("@acme.test>"),
            "{a}"
        );
        assert!(!a.contains("ada"), "{a}");
    }

    #[test]
    fn the_email_carries_the_headers_bulk_senders_owe() {
        let message = identity()
            .build(
                "ada@example.com",
                Some("Ada"),
                &rendered(),
                "<id.1@acme.test>",
            )
            .expect("builds");
        let text = String::from_utf8(message.formatted()).expect("utf-8");
        let token = unsubscribe_token(b"k3y", "ada@example.com");
        for header in [
            "From: \"Alice Smith\" <alice@acme.test>",
            "Reply-To: \"Alice Smith\" <alice@acme.test>",
            "To: Ada <ada@example.com>",
            "Subject: About today",
            "Message-ID: <id.1@acme.test>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Content-Type: multipart/alternative",
        ] {
            assert!(text.contains(header), "{header} in\n{text}");
        }
        let unfolded = text.replace("\r\n ", " ");
        assert!(
            unfolded.contains(&format!(
                "List-Unsubscribe: <https://acme.test/unsubscribe?t={token}>, <mailto:unsubscribe@acme.test?subject=unsubscribe>"
            )),
            "{text}"
        );
        assert!(text.contains("Content-Type: text/html"), "{text}");
    }

    #[test]
    fn a_token_is_the_addresss_hmac_and_nobody_elses() {
        let t = unsubscribe_token(b"k3y", "Ada@example.com");
        assert_eq!(t, unsubscribe_token(b"k3y", "ada@example.com"));
        assert_ne!(t, unsubscribe_token(b"k3y", "bob@example.com"));
        assert_ne!(t, unsubscribe_token(b"other", "ada@example.com"));
        assert_eq!(t.len(), 64);
    }

    #[test]
    fn unsubscribe_urls_are_checked() {
        assert!(check_unsubscribe_url("https://acme.test/u?t={{ token }}").is_ok());
        assert!(check_unsubscribe_url("ftp://acme.test/u").is_err());
        assert!(check_unsubscribe_url("https://acme.test/u?t={{ tokn }}").is_err());
        assert!(check_unsubscribe_url("not a url").is_err());
    }

    #[test]
    fn a_bad_dkim_key_is_explained() {
        let err = dkim("s1", "acme.test", "not a key").expect_err("not a key");
        assert!(err.to_string().contains("PKCS#1 PEM"), "{err}");
    }
}
