//! Prism (`@stoplight/prism-cli`) mocking a vendor's OpenAPI description, or proxying to a local fake, on
//! 127.0.0.1: every request a client sends is validated against the vendor's own spec. With `--errors` a
//! request that breaks the spec is answered with an error status, and [`Prism::violations`]
//! lists what Prism said was wrong, so a contract test fails on any violation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tempfile::TempDir;

use crate::paths::workspace_root;
use crate::ports::free_port;
use crate::process::ChildGuard;
use crate::wait::wait_until;

/// Large specs (PagerDuty's REST description is 2.7 MB) take a while to load.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A running `prism mock`; stopped on drop.
#[derive(Debug)]
pub struct Prism {
    // Field order is drop order.
    child: ChildGuard,
    port: u16,
    _logs: TempDir,
}

/// The Prism the tests install (`tests/prism`, `npm ci` by `scripts/deps.sh test`).
pub fn prism_bin() -> Result<PathBuf> {
    let bin = workspace_root().join("tests/prism/node_modules/.bin/prism");
    if !bin.is_file() {
        bail!(
            "{} is missing: run `scripts/deps.sh test` (or `npm ci --prefix tests/prism`)",
            bin.display()
        );
    }
    Ok(bin)
}

/// A vendor description: in `$FOGHORN_SPECS` if set, else in the first `shared/specs/` found
/// beside the workspace or one of its parents (`../shared/specs/` in the usual layout).
pub fn spec(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("FOGHORN_SPECS") {
        return PathBuf::from(dir).join(name);
    }
    let root = workspace_root();
    root.ancestors()
        .skip(1)
        .map(|a| a.join("shared/specs"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| root.join("../shared/specs"))
        .join(name)
}

impl Prism {
    /// `prism mock --errors` on `spec`, waited for until it listens.
    pub fn mock(spec: &Path) -> Result<Self> {
        Self::start(spec, "mock", None)
    }

    /// `prism proxy --errors` on `spec` in front of `upstream` (a local fake): a request that
    /// breaks the spec is refused with an error status and never reaches the fake, so what
    /// the fake records is what the vendor would have accepted, and the fake decides the
    /// answers (a mock only ever answers the spec's examples).
    pub fn proxy(spec: &Path, upstream: &str) -> Result<Self> {
        Self::start(spec, "proxy", Some(upstream))
    }

    fn start(spec: &Path, mode: &str, upstream: Option<&str>) -> Result<Self> {
        if !spec.is_file() {
            bail!("no OpenAPI description at {}", spec.display());
        }
        let port = free_port()?;
        let logs = tempfile::Builder::new()
            .prefix("foghorn-prism-")
            .tempdir()?;
        let mut cmd = Command::new(prism_bin()?);
        cmd.args([mode, "--errors", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(spec)
            .args(upstream);
        let name = spec
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "prism".to_owned());
        let mut child = ChildGuard::spawn(&format!("prism-{mode}-{name}"), cmd, logs.path())?;
        wait_until(START_TIMEOUT, "Prism to listen", || {
            if let Some(status) = child.try_wait()? {
                bail!("prism exited with {status}: {}", child.stdout());
            }
            Ok(child.stdout().contains("Prism is listening").then_some(()))
        })
        .with_context(|| format!("starting prism {mode} on {}", spec.display()))?;
        Ok(Self {
            child,
            port,
            _logs: logs,
        })
    }

    /// The mock's base URL, e.g. `http://127.0.0.1:4010`; a spec's paths go after it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request-validation violation Prism reported so far, one line each.
    pub fn violations(&self) -> Vec<String> {
        self.child
            .stdout()
            .lines()
            .filter(|l| l.contains("Violation:"))
            .map(|l| l.trim().to_owned())
            .collect()
    }

    /// Requests Prism received so far, e.g. `post /enqueue`.
    pub fn requests(&self) -> Vec<String> {
        self.child
            .stdout()
            .lines()
            .filter(|l| l.contains("Request received"))
            .filter_map(|l| {
                let after = l.split("[HTTP SERVER]").nth(1)?;
                Some(after.split('ℹ').next()?.trim().to_owned())
            })
            .collect()
    }

    /// Requests Prism refused (a proxy refuses a request that breaks the spec instead of
    /// forwarding it), one line each.
    pub fn refusals(&self) -> Vec<String> {
        self.child
            .stdout()
            .lines()
            .filter(|l| l.contains("Request terminated with error"))
            .map(|l| l.trim().to_owned())
            .collect()
    }

    /// Fails when Prism saw any request that breaks the vendor's spec.
    pub fn assert_no_violations(&self) -> Result<()> {
        let v = self.violations();
        if !v.is_empty() {
            bail!("requests broke the vendor's spec:\n{}", v.join("\n"));
        }
        Ok(())
    }
}
