//! `[intercom]`: the helpdesk whose conversations make the support queue during an outage
//! (see [`crate::support`]).

use serde::{Deserialize, Deserializer};

use crate::secret::SecretRef;

/// Intercom's settings. Without `[intercom]` there is no support queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntercomConfig {
    /// The API's address: `https://api.intercom.io` (US), `https://api.eu.intercom.io`,
    /// `https://api.au.intercom.io`.
    #[serde(default = "default_url")]
    pub url: String,
    /// The access token (`env:`/`keyring:`).
    pub token: SecretRef,
    /// The admin the replies are written as (Intercom's id, e.g. `"814860"`).
    #[serde(deserialize_with = "admin_id")]
    pub admin_id: String,
    /// Words a customer's message must contain to be about the outage (one word each:
    /// Intercom's search matches the message's single words). The names of the
    /// `[status] components` are searched as well.
    #[serde(default = "default_keywords")]
    pub keywords: Vec<String>,
    /// How fast a customer letter goes through Intercom (`foghorn letter send --via
    /// intercom`): `"10/s"` by default. Each letter is two calls (find the contact, send),
    /// well inside Intercom's limit of 10,000 calls a minute.
    #[serde(default, deserialize_with = "super::smtp::rate")]
    pub letter_rate: crate::letter::rate::Rate,
}

fn default_url() -> String {
    "https://api.intercom.io".to_owned()
}

pub fn default_keywords() -> Vec<String> {
    ["down", "outage", "error", "slow"]
        .map(str::to_owned)
        .to_vec()
}

/// `"814860"` or `814860`: Intercom's ids are strings in its API, numbers on its pages.
fn admin_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s.trim().to_owned(),
        Id::Number(n) => n.to_string(),
    })
}

impl IntercomConfig {
    /// What is wrong with the settings, if anything (the keys as written).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.admin_id.is_empty() {
            return Err("`intercom.admin_id` must not be empty".to_owned());
        }
        if !self.url.starts_with("https://") && !self.url.starts_with("http://") {
            return Err(format!(
                "`intercom.url` ({:?}) must start with https://",
                self.url
            ));
        }
        if self.keywords.is_empty() {
            return Err(
                "`intercom.keywords` is empty: without a keyword no conversation is about the outage"
                    .to_owned(),
            );
        }
        for (i, word) in self.keywords.iter().enumerate() {
            let word = word.trim();
            if word.is_empty() {
                return Err(format!("intercom.keywords[{i}] is empty"));
            }
            if word.split_whitespace().count() > 1 {
                return Err(format!(
                    "intercom.keywords[{i}] ({word:?}) is more than one word: Intercom's search \
                     matches single words of a message, so write each word as its own keyword"
                ));
            }
        }
        Ok(())
    }
}
