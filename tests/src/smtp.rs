//! A real SMTP server for the letter tests: aiosmtpd (`tests/smtp/sink.py`) on 127.0.0.1,
//! writing every accepted message to its own file before it answers 250.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tempfile::TempDir;

use crate::paths::workspace_root;
use crate::ports::{free_port, is_listening};
use crate::process::ChildGuard;
use crate::wait::wait_until;

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub file: PathBuf,
    /// The envelope's recipients, as the server took them.
    pub envelope_to: String,
    /// The message as it arrived (headers and body).
    pub raw: Vec<u8>,
}

/// A running SMTP sink.
#[derive(Debug)]
pub struct SmtpSink {
    // Field order is drop order: the process before its directory.
    process: ChildGuard,
    port: u16,
    dir: TempDir,
}

/// Debian's Python, which `python3-aiosmtpd` is installed for (a `python3` earlier on the
/// PATH, e.g. pyenv's, would not have it).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

impl SmtpSink {
    /// Starts the sink with `rules` (see `tests/smtp/sink.py`: `reject`, `tempfail`,
    /// `refuse_all`, `delay_ms`) and waits until it accepts connections.
    pub fn start(rules: Value) -> Result<Self> {
        Self::start_with(rules, None, None)
    }

    /// Starts the sink requiring a login (`AUTH PLAIN`/`LOGIN`) as `user` with `password`.
    pub fn start_with_login(user: &str, password: &str) -> Result<Self> {
        Self::start_with(
            serde_json::json!({"auth": format!("{user}:{password}")}),
            None,
            None,
        )
    }

    /// Starts the sink on `port` (a server coming back where it was).
    pub fn start_on(port: u16, rules: Value) -> Result<Self> {
        Self::start_with(rules, None, Some(port))
    }

    /// Starts the sink speaking TLS: `"implicit"` (from the first byte, `smtps://`) or
    /// `"starttls"` (required before a letter), with this certificate and key (PEM files).
    pub fn start_tls(mode: &str, cert: &Path, key: &Path) -> Result<Self> {
        Self::start_with(serde_json::json!({}), Some((mode, cert, key)), None)
    }

    fn start_with(
        rules: Value,
        tls: Option<(&str, &Path, &Path)>,
        port: Option<u16>,
    ) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("foghorn-smtp-")
            .tempdir()
            .context("creating the SMTP sink's dir")?;
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut cmd = Command::new(python());
        cmd.arg(workspace_root().join("tests/smtp/sink.py"))
            .arg("--dir")
            .arg(dir.path().join("mail"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--rules")
            .arg(rules.to_string())
            .arg("--open")
            .arg(dir.path().join("open"));
        if let Some(auth) = rules.get("auth").and_then(Value::as_str) {
            cmd.arg("--auth").arg(auth);
        }
        if let Some((mode, cert, key)) = tls {
            cmd.arg("--tls")
                .arg(mode)
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key);
        }
        let mut process = ChildGuard::spawn("smtp-sink", cmd, &dir.path().join("logs"))
            .context("starting the SMTP sink (Debian: apt-get install python3-aiosmtpd)")?;
        wait_until(Duration::from_secs(20), "the SMTP sink to listen", || {
            if let Some(status) = process.try_wait()? {
                bail!("the SMTP sink exited with {status}: {}", process.stderr());
            }
            Ok(is_listening(port).then_some(()))
        })?;
        Ok(Self { process, port, dir })
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops refusing every message (`refuse_all`).
    pub fn open(&self) -> Result<()> {
        std::fs::write(self.dir.path().join("open"), b"open")?;
        Ok(())
    }

    /// How many messages were accepted so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("mail"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Every accepted message, in the order they arrived.
    pub fn messages(&self) -> Result<Vec<Received>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .context("reading the SMTP sink's mail")?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        let mut out = Vec::with_capacity(files.len());
        for file in files {
            let bytes = std::fs::read(&file)?;
            let text = String::from_utf8_lossy(&bytes);
            let (first, _) = text.split_once("\r\n").context("a message without lines")?;
            let envelope_to = first
                .strip_prefix("X-Sink-Envelope-To: ")
                .context("the sink's envelope line")?
                .to_owned();
            let raw = bytes[first.len() + 2..].to_vec();
            out.push(Received {
                file,
                envelope_to,
                raw,
            });
        }
        Ok(out)
    }

    /// The sink's log, for failure messages.
    pub fn log(&self) -> String {
        self.process.stderr()
    }
}
