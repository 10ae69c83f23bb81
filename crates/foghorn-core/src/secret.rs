//! Secret references: the config names where a secret lives (`env:NAME` or `keyring:NAME`),
//! never the secret itself, so a config file can be shared or committed safely.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// Where a secret is kept. Parsing rejects anything else, so a token pasted in clear into
/// the config is an error rather than a leak.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// An entry of the OS keychain (service `foghorn`, account NAME).
    Keyring(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::Keyring(n) => write!(f, "keyring:{n}"),
        }
    }
}

impl std::str::FromStr for SecretRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = |n: &str| !n.is_empty() && !n.contains(char::is_whitespace);
        match s.split_once(':') {
            Some(("env", n)) if valid(n) => Ok(SecretRef::Env(n.to_owned())),
            Some(("keyring", n)) if valid(n) => Ok(SecretRef::Keyring(n.to_owned())),
            _ => Err(
                "secrets must not be written in clear in the config: use \"env:VARIABLE\" or \
                 \"keyring:NAME\" (stored with `foghorn secret set NAME`)"
                    .to_owned(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A secret once looked up. `Debug` prints `[redacted]`, so a struct holding one can derive
/// `Debug` and still be logged; the value is reached only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value itself: for the request that needs it, never for a message.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A value that may be written in the config or kept elsewhere: a monitor header, the
/// `[oncall] calendar`, a webhook step's `url`. `env:NAME` and `keyring:NAME` name where it
/// is kept; anything else is the value itself. `Debug` never prints a value written in clear.
#[derive(Clone, PartialEq, Eq)]
pub enum Confidential {
    /// Written in the config as it is.
    Clear(String),
    /// Kept in the environment or the OS keychain.
    Ref(SecretRef),
}

impl Confidential {
    /// `env:`/`keyring:` as a reference (an empty or spaced name is an error), anything else
    /// as the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("env:") || text.starts_with("keyring:") {
            text.parse().map(Confidential::Ref)
        } else {
            Ok(Confidential::Clear(text.to_owned()))
        }
    }

    /// The reference, when the value is kept elsewhere.
    pub fn reference(&self) -> Option<&SecretRef> {
        match self {
            Confidential::Clear(_) => None,
            Confidential::Ref(r) => Some(r),
        }
    }

    /// As written in the config: the value or the reference. For comparing configurations
    /// and writing them back, never for messages.
    pub fn as_written(&self) -> String {
        match self {
            Confidential::Clear(v) => v.clone(),
            Confidential::Ref(r) => r.to_string(),
        }
    }

    /// The value, looked up in `source` when it is a reference.
    pub fn resolve(&self, source: &dyn SecretSource) -> Result<Secret<String>, SecretError> {
        match self {
            Confidential::Clear(v) => Ok(Secret::new(v.clone())),
            Confidential::Ref(r) => source.resolve(r).map(Secret::new),
        }
    }

    /// For messages: a reference as written, a URL as its scheme and host, anything else
    /// (a path, a header value) as `[redacted]`.
    pub fn shown(&self) -> String {
        match self {
            Confidential::Ref(r) => r.to_string(),
            Confidential::Clear(v) if url::Url::parse(v.trim()).is_ok_and(|u| u.has_host()) => {
                redact_url(v)
            }
            Confidential::Clear(_) => "[redacted]".to_owned(),
        }
    }
}

impl fmt::Debug for Confidential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl<'de> Deserialize<'de> for Confidential {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Confidential::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Header names whose values are credentials (`Authorization`, `Cookie`, `X-Api-Key`,
/// `X-Auth-Token`…): like a feed's `token`, they must be `env:`/`keyring:` references.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "password",
        "api-key",
        "apikey",
        "api_key",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// A URL as it may be shown in logs, the window, `--json` output and the timeline: scheme,
/// host and an explicit port only. Calendar and webhook URLs carry their token in the path,
/// the query or the user info, so all of those go. Text that is not a URL with a host is
/// shown as `[redacted]`.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text.trim()) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", u.scheme()),
            (Some(host), None) => format!("{}://{host}", u.scheme()),
            (None, _) => "[redacted]".to_owned(),
        },
        Err(_) => "[redacted]".to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error("{0}: the environment variable is not set")]
    EnvMissing(SecretRef),
    #[error("{0}: not found in the OS keychain")]
    KeyringMissing(SecretRef),
    #[error("{secret}: the OS keychain is not available: {message}")]
    KeyringUnavailable { secret: SecretRef, message: String },
    #[error(
        "{0:?} cannot name a secret: use letters, digits, `-`, `_` or `.`, without spaces or `:`"
    )]
    BadName(String),
    #[error("{0}: the value is empty; nothing was stored")]
    Empty(SecretRef),
}

/// Looks secrets up. Two implementations: the real one (environment + OS keychain) and
/// tests' in-memory maps.
pub trait SecretSource: Send + Sync {
    fn resolve(&self, secret: &SecretRef) -> Result<String, SecretError>;
}

/// The environment for `env:`, the OS keychain (service `foghorn`) for `keyring:`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemSecrets;

pub const KEYRING_SERVICE: &str = "foghorn";

impl SecretSource for SystemSecrets {
    fn resolve(&self, secret: &SecretRef) -> Result<String, SecretError> {
        match secret {
            SecretRef::Env(name) => std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| SecretError::EnvMissing(secret.clone())),
            SecretRef::Keyring(name) => {
                let entry = keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| {
                    SecretError::KeyringUnavailable {
                        secret: secret.clone(),
                        message: e.to_string(),
                    }
                })?;
                match entry.get_password() {
                    Ok(v) => Ok(v),
                    Err(keyring::Error::NoEntry) => {
                        Err(SecretError::KeyringMissing(secret.clone()))
                    }
                    Err(e) => Err(SecretError::KeyringUnavailable {
                        secret: secret.clone(),
                        message: e.to_string(),
                    }),
                }
            }
        }
    }
}

/// Stores `value` in the OS keychain under `name` (service `foghorn`), where `keyring:NAME`
/// finds it; `foghorn secret set NAME` does this. Returns the reference to write in the config.
pub fn store_in_keychain(name: &str, value: &str) -> Result<SecretRef, SecretError> {
    let secret = SecretRef::Keyring(name.to_owned());
    if name.is_empty() || name.contains(char::is_whitespace) || name.contains(':') {
        return Err(SecretError::BadName(name.to_owned()));
    }
    if value.is_empty() {
        return Err(SecretError::Empty(secret));
    }
    let unavailable = |e: keyring::Error| SecretError::KeyringUnavailable {
        secret: secret.clone(),
        message: e.to_string(),
    };
    keyring::Entry::new(KEYRING_SERVICE, name)
        .map_err(unavailable)?
        .set_password(value)
        .map_err(unavailable)?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_and_refuses_clear_text() {
        assert_eq!(
            "env:PD_TOKEN".parse(),
            Ok(SecretRef::Env("PD_TOKEN".into()))
        );
        assert_eq!(
            "keyring:smtp".parse(),
            Ok(SecretRef::Keyring("smtp".into()))
        );
        for bad in ["hunter2", "env:", "keyring:", "vault:x", "env:A B"] {
            let err = bad.parse::<SecretRef>().expect_err(bad);
            assert!(err.contains("in clear"), "{bad}: {err}");
        }
    }

    #[test]
    fn env_secrets_resolve_and_say_what_is_missing() {
        let name = "FOGHORN_TEST_SECRET_RESOLVES";
        std::env::set_var(name, "s3cret");
        let got = SystemSecrets.resolve(&SecretRef::Env(name.into()));
        std::env::remove_var(name);
        assert_eq!(got.expect("set"), "s3cret");
        let err = SystemSecrets
            .resolve(&SecretRef::Env("FOGHORN_TEST_SECRET_NEVER_SET".into()))
            .expect_err("unset");
        assert_eq!(
            err.to_string(),
            "env:FOGHORN_TEST_SECRET_NEVER_SET: the environment variable is not set"
        );
    }

    #[test]
    fn debug_of_a_resolved_secret_is_redacted() {
        std::env::set_var("FOGHORN_TEST_SECRET_DEBUG", "Bearer s3cret");
        let header = Confidential::parse("env:FOGHORN_TEST_SECRET_DEBUG").expect("reference");
        let resolved = header.resolve(&SystemSecrets).expect("set");
        std::env::remove_var("FOGHORN_TEST_SECRET_DEBUG");
        assert_eq!(resolved.expose(), "Bearer s3cret");
        assert_eq!(format!("{resolved:?}"), "[redacted]");
        assert_eq!(format!("{header:?}"), "env:FOGHORN_TEST_SECRET_DEBUG");
        let clear =
            Confidential::parse("https://u:pw@hooks.example.com/T0/B1/xyz?k=1").expect("clear");
        assert_eq!(format!("{clear:?}"), "https://hooks.example.com");
        let value = Confidential::parse("Bearer s3cret").expect("clear");
        assert_eq!(format!("{value:?}"), "[redacted]");
        assert!(Confidential::parse("env:").is_err());
    }

    /// Secrets of a test: every reference resolves to a value the Debug output must not show.
    struct Leaky;

    impl SecretSource for Leaky {
        fn resolve(&self, secret: &SecretRef) -> Result<String, SecretError> {
            Ok(format!("l34ked-{secret}"))
        }
    }

    #[test]
    fn debug_of_feeds_holding_resolved_secrets_is_redacted() {
        let text = "[[feeds]]\nkind = \"datadog\"\nurl = \"http://127.0.0.1:9\"\n\
                    token = \"env:DD\"\napp_key = \"env:DDA\"\n\n\
                    [[feeds]]\nkind = \"pagerduty\"\nurl = \"http://127.0.0.1:9\"\n\
                    token = \"env:PD\"\nrouting_key = \"env:PDR\"\n\n\
                    [[feeds]]\nkind = \"honeybadger\"\nurl = \"http://127.0.0.1:9\"\n\
                    token = \"env:HB\"\nproject = \"1\"\n";
        let config =
            crate::config::Config::parse(text, std::path::Path::new("f.toml")).expect("config");
        let f = &config.feeds;
        let shown = [
            format!(
                "{:?}",
                crate::feed::DatadogFeed::with_secrets(&f[0], &Leaky).expect("dd")
            ),
            format!(
                "{:?}",
                crate::feed::PagerDutyFeed::with_secrets(&f[1], &Leaky).expect("pd")
            ),
            format!(
                "{:?}",
                crate::feed::HoneybadgerFeed::with_secrets(&f[2], &Leaky).expect("hb")
            ),
        ];
        for s in shown {
            assert!(!s.contains("l34ked") && s.contains("[redacted]"), "{s}");
        }
    }

    #[test]
    fn urls_are_shown_as_scheme_and_host() {
        for (url, shown) in [
            (
                "https://calendar.example.com/private-s3cret/basic.ics",
                "https://calendar.example.com",
            ),
            (
                "http://127.0.0.1:8080/hook?token=x",
                "http://127.0.0.1:8080",
            ),
            ("https://user:pw@example.org", "https://example.org"),
            (
                "webcal://cal.example.net/feed/abc.ics",
                "webcal://cal.example.net",
            ),
            ("/home/me/oncall.ics", "[redacted]"),
            ("not a url", "[redacted]"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_value() {
        let s: SecretRef = "env:TOKEN".parse().expect("valid");
        assert_eq!(format!("{s:?}"), "env:TOKEN");
    }
}
