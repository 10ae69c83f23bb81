//! `foghorn secret set NAME`: stores a secret in the OS keychain, where a `keyring:NAME`
//! reference in the configuration finds it, so tokens and secret URLs never sit in the file.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SecretAction {
    /// Store a secret in the OS keychain for `keyring:NAME` references.
    ///
    /// The value is read from standard input: typed without echo at a terminal, or piped
    /// (`printf %s "$TOKEN" | foghorn secret set NAME`; one trailing newline is dropped).
    Set {
        /// The name that `keyring:NAME` uses in the configuration.
        name: String,
    },
}

const FAILED: u8 = 1;

pub fn secret(action: &SecretAction) -> ExitCode {
    match action {
        SecretAction::Set { name } => set(name),
    }
}

fn set(name: &str) -> ExitCode {
    let value = match read_value(name) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("foghorn secret set: cannot read the value from standard input: {e}");
            return ExitCode::from(FAILED);
        }
    };
    match foghorn_core::secret::store_in_keychain(name, &value) {
        Ok(reference) => {
            println!(
                "Stored {} characters in the OS keychain (service \"{}\", account \"{name}\"); \
                 refer to it in the configuration as \"{reference}\".",
                value.chars().count(),
                foghorn_core::secret::KEYRING_SERVICE,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("foghorn secret set: {e}");
            ExitCode::from(FAILED)
        }
    }
}

/// The value: typed without echo at a terminal, else all of standard input less one
/// trailing newline.
fn read_value(name: &str) -> std::io::Result<String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("Value for keyring:{name} (not shown): "));
    }
    let mut value = String::new();
    std::io::stdin().read_to_string(&mut value)?;
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(value)
}
