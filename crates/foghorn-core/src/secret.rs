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

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error("{0}: the environment variable is not set")]
    EnvMissing(SecretRef),
    #[error("{0}: not found in the OS keychain")]
    KeyringMissing(SecretRef),
    #[error("{secret}: the OS keychain is not available: {message}")]
    KeyringUnavailable { secret: SecretRef, message: String },
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
    fn debug_output_never_shows_a_value() {
        let s: SecretRef = "env:TOKEN".parse().expect("valid");
        assert_eq!(format!("{s:?}"), "env:TOKEN");
    }
}
