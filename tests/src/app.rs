//! Launching the app under test directly (no WebDriver): for tray-only and CLI-level tests.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::Result;

use crate::process::ChildGuard;
use crate::session::Desktop;
use crate::wait::wait_until;

/// What to launch: binary, arguments, extra environment (on top of [`Desktop::env`]).
/// Used both by [`AppProcess::spawn`] and by [`crate::WebDriverSession::start`].
#[derive(Debug, Clone)]
pub struct AppLaunch {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl AppLaunch {
    /// Launch `binary` with no arguments.
    pub fn new(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds an environment variable (e.g. `FOGHORN_CONFIG`, `FOGHORN_DATA_DIR`).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// The app running as a direct child of the test; killed (with its whole process group,
/// WebKit helpers included) on drop.
#[derive(Debug)]
pub struct AppProcess {
    child: ChildGuard,
}

impl AppProcess {
    /// Starts the app in `desktop`. stdout/stderr go to `<desktop logs>/app.std{out,err}.log`.
    pub fn spawn(desktop: &Desktop, launch: &AppLaunch) -> Result<Self> {
        let mut cmd = desktop.command(&launch.binary);
        cmd.args(&launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)));
        let logs = desktop.logs_dir();
        let name = unique_name(&logs, "app");
        Ok(Self {
            child: ChildGuard::spawn(&name, cmd, &logs)?,
        })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// All stdout so far.
    pub fn stdout(&self) -> String {
        self.child.stdout()
    }

    /// All stderr so far.
    pub fn stderr(&self) -> String {
        self.child.stderr()
    }

    /// Path of the stdout log.
    pub fn stdout_log(&self) -> &Path {
        self.child.stdout_log()
    }

    /// Waits until some stdout line satisfies `pred`; returns that line.
    pub fn wait_for_stdout_line(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        wait_until(timeout, "a matching app stdout line", || {
            Ok(self.stdout().lines().find(|l| pred(l)).map(str::to_owned))
        })
        .map_err(|e| {
            e.context(format!(
                "app stdout:\n{}\napp stderr:\n{}",
                self.stdout(),
                self.stderr()
            ))
        })
    }

    /// Waits up to `timeout` for the app to exit by itself (e.g. after tray "Quit").
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        self.child.wait_for_exit(timeout)
    }

    /// Whether the app still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Terminates the app's process group now (also done on drop).
    pub fn kill(&mut self) {
        self.child.terminate();
    }
}

/// `base`, or `base-2`, `base-3`, ... so that repeated launches keep separate logs.
pub(crate) fn unique_name(dir: &Path, base: &str) -> String {
    let exists = |n: &str| dir.join(format!("{n}.stdout.log")).exists();
    if !exists(base) {
        return base.to_owned();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !exists(n))
        .unwrap_or_else(|| base.to_owned())
}
