//! Child processes that cannot outlive the test: each runs in its own process group, with its
//! output in log files, and the whole group is terminated (TERM, then KILL) and reaped on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Once;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::wait::wait_until;

/// How long a process group gets between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(3);

static SUBREAPER: Once = Once::new();

/// Makes this test process the reaper of its orphaned descendants (the app, WebKit helpers), so
/// they are reaped here instead of lingering as zombies under a container's PID 1.
fn become_subreaper() {
    SUBREAPER.call_once(|| {
        // Best effort: without it teardown still kills everything, zombies may just linger.
        let _ = nix::sys::prctl::set_child_subreaper(true);
    });
}

/// A spawned child, leader of its own process group.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    stdout_log: PathBuf,
    stderr_log: PathBuf,
    finished: bool,
}

impl ChildGuard {
    /// Spawns `cmd` as a new process group leader; stdin is null, stdout and stderr go to
    /// `<log_dir>/<name>.stdout.log` and `<log_dir>/<name>.stderr.log`.
    pub fn spawn(name: &str, cmd: Command, log_dir: &Path) -> Result<Self> {
        Self::spawn_with_stdin(name, cmd, log_dir, Stdio::null())
    }

    /// [`ChildGuard::spawn`] with a pipe for stdin, written with [`ChildGuard::stdin`].
    pub fn spawn_piped(name: &str, cmd: Command, log_dir: &Path) -> Result<Self> {
        Self::spawn_with_stdin(name, cmd, log_dir, Stdio::piped())
    }

    fn spawn_with_stdin(
        name: &str,
        mut cmd: Command,
        log_dir: &Path,
        stdin: Stdio,
    ) -> Result<Self> {
        use std::os::unix::process::CommandExt;
        become_subreaper();
        std::fs::create_dir_all(log_dir)
            .with_context(|| format!("creating log dir {}", log_dir.display()))?;
        let stdout_log = log_dir.join(format!("{name}.stdout.log"));
        let stderr_log = log_dir.join(format!("{name}.stderr.log"));
        let out = File::create(&stdout_log)
            .with_context(|| format!("creating {}", stdout_log.display()))?;
        let err = File::create(&stderr_log)
            .with_context(|| format!("creating {}", stderr_log.display()))?;
        cmd.stdin(stdin)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            stdout_log,
            stderr_log,
            finished: false,
        })
    }

    /// The name given at spawn time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Process id (also the process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's stdin when spawned with [`ChildGuard::spawn_piped`].
    pub fn stdin(&mut self) -> Option<&mut std::process::ChildStdin> {
        self.child.stdin.as_mut()
    }

    /// Everything the child wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_log).unwrap_or_default()
    }

    /// Everything the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Path of the stdout log file.
    pub fn stdout_log(&self) -> &Path {
        &self.stdout_log
    }

    /// Path of the stderr log file.
    pub fn stderr_log(&self) -> &Path {
        &self.stderr_log
    }

    /// The exit status if the group leader has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("checking whether {} exited", self.name))
    }

    /// Waits up to `timeout` for the leader to exit by itself.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let what = format!("{} to exit", self.name);
        wait_until(timeout, &what, || self.try_wait())
    }

    /// SIGTERM to the whole group, SIGKILL after a grace period for whatever is left, then reaps
    /// the leader and any orphaned group members that were re-parented to this process.
    /// Idempotent; also run on drop.
    pub fn terminate(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let pgid = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(pgid, Signal::SIGTERM);
        let settled = wait_until(TERM_GRACE, "process group to exit", || {
            let _ = self.child.try_wait();
            Ok(group_settled(pgid).then_some(()))
        });
        if settled.is_err() {
            let _ = killpg(pgid, Signal::SIGKILL);
            let _ = wait_until(TERM_GRACE, "killed process group to vanish", || {
                let _ = self.child.try_wait();
                Ok(group_settled(pgid).then_some(()))
            });
        }
        let _ = self.child.try_wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// One line of `/proc/<pid>/stat`, the fields the harness needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    pub comm: String,
    /// `R`, `S`, `Z`, ...
    pub state: char,
    pub ppid: u32,
    pub pgid: u32,
}

impl ProcInfo {
    /// A process that still runs (exists and is not a zombie).
    pub fn is_live(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// Reads `/proc/<pid>/stat`; `None` if the process does not exist.
pub fn proc_info(pid: u32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgid = rest.next()?.parse().ok()?;
    Some(ProcInfo {
        pid,
        comm,
        state,
        ppid,
        pgid,
    })
}

/// Every process on the machine (a `/proc` scan).
pub fn all_processes() -> Vec<ProcInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(proc_info)
        .collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    proc_info(pid).is_some_and(|p| p.is_live())
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn live_group_members(pgid: Pid) -> Vec<ProcInfo> {
    let pgid = pgid.as_raw() as u32;
    all_processes()
        .into_iter()
        .filter(|p| p.pgid == pgid && p.is_live())
        .collect()
}

/// Reaps the group's zombies that are children of this process (orphans re-parented here because
/// this process is a subreaper; the leader is left to its `Child` handle), then tells whether the
/// group is done: nothing live, and no zombie left that is, or will become, ours to reap.
fn group_settled(pgid: Pid) -> bool {
    let me = std::process::id();
    let leader = pgid.as_raw() as u32;
    let members = || -> Vec<ProcInfo> {
        all_processes()
            .into_iter()
            .filter(|p| p.pgid == leader)
            .collect()
    };
    for p in members() {
        if p.pid != leader && p.ppid == me && !p.is_live() {
            let _ = waitpid(Pid::from_raw(p.pid as i32), Some(WaitPidFlag::WNOHANG));
        }
    }
    let left = members();
    left.iter()
        .all(|p| !p.is_live() && p.ppid != me && !left.iter().any(|parent| parent.pid == p.ppid))
}
