//! A private PulseAudio server with one null sink, for the loud alarm: what plays through
//! ALSA's default device (routed to PulseAudio by the alsa-plugins `pulse` hook) shows up in
//! [`PulseAudio::sink_inputs`] while it plays.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tempfile::TempDir;

use crate::process::ChildGuard;
use crate::wait::wait_until;

const START_TIMEOUT: Duration = Duration::from_secs(10);

/// One playback stream, from `pactl list sink-inputs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkInput {
    pub index: u32,
    /// `application.name`, e.g. `ALSA plug-in [foghorn]`.
    pub application: String,
    /// `application.process.id`.
    pub pid: Option<u32>,
}

/// A running PulseAudio daemon in its own runtime dir; killed, and its dir removed, on drop.
#[derive(Debug)]
pub struct PulseAudio {
    // Field order is drop order.
    daemon: ChildGuard,
    runtime: PathBuf,
    dir: TempDir,
}

impl PulseAudio {
    /// Starts `pulseaudio` with no default script, a null sink (`null`, the default sink) and
    /// the native protocol on `<runtime>/pulse/native` (anonymous: no cookie to share), and
    /// waits until `pactl` can talk to it.
    pub fn start() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("foghorn-pulse-")
            .tempdir()
            .context("creating the PulseAudio temp dir")?;
        let runtime = dir.path().join("run");
        let home = dir.path().join("home");
        for d in [&runtime, &home] {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("chmod 700 {}", runtime.display()))?;
        }
        let mut cmd = Command::new("pulseaudio");
        cmd.args([
            "--daemonize=no",
            "--system=false",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
            "--log-target=stderr",
            "-n",
            "--load=module-null-sink sink_name=null",
            "--load=module-native-protocol-unix auth-anonymous=1",
        ])
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", &home)
        .env_remove("PULSE_SERVER")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
        let mut daemon = ChildGuard::spawn("pulseaudio", cmd, &dir.path().join("logs"))
            .context("starting pulseaudio (Debian: apt-get install pulseaudio pulseaudio-utils)")?;
        let pulse = wait_until(START_TIMEOUT, "PulseAudio to answer `pactl info`", || {
            if let Some(status) = daemon.try_wait()? {
                bail!("pulseaudio exited with {status}: {}", daemon.stderr());
            }
            let out = pactl(&runtime)
                .arg("info")
                .output()
                .context("running pactl")?;
            Ok(out.status.success().then_some(()))
        });
        if let Err(e) = pulse {
            bail!("{e:#}\npulseaudio's log:\n{}", daemon.stderr());
        }
        Ok(Self {
            daemon,
            runtime,
            dir,
        })
    }

    /// `XDG_RUNTIME_DIR` and `PULSE_SERVER` for a client of this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("XDG_RUNTIME_DIR".into(), self.runtime.display().to_string()),
            ("PULSE_SERVER".into(), self.server()),
        ]
    }

    /// `unix:<runtime>/pulse/native`.
    pub fn server(&self) -> String {
        format!(
            "unix:{}",
            self.runtime.join("pulse").join("native").display()
        )
    }

    /// The streams playing now.
    pub fn sink_inputs(&self) -> Result<Vec<SinkInput>> {
        let out = pactl(&self.runtime)
            .args(["list", "sink-inputs"])
            .output()
            .context("running pactl list sink-inputs")?;
        if !out.status.success() {
            bail!(
                "pactl list sink-inputs failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(parse_sink_inputs(&String::from_utf8_lossy(&out.stdout)))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.daemon.stderr()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn pactl(runtime: &Path) -> Command {
    let mut cmd = Command::new("pactl");
    cmd.env("XDG_RUNTIME_DIR", runtime)
        .env(
            "PULSE_SERVER",
            format!("unix:{}", runtime.join("pulse").join("native").display()),
        )
        // Untranslated output: the parser reads "Sink Input #".
        .env("LC_ALL", "C");
    cmd
}

fn parse_sink_inputs(text: &str) -> Vec<SinkInput> {
    let mut inputs: Vec<SinkInput> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(index) = line.strip_prefix("Sink Input #") {
            inputs.push(SinkInput {
                index: index.trim().parse().unwrap_or(0),
                application: String::new(),
                pid: None,
            });
        } else if let (Some(input), Some((key, value))) =
            (inputs.last_mut(), line.split_once(" = "))
        {
            let value = value.trim().trim_matches('"');
            match key.trim() {
                "application.name" => input.application = value.to_owned(),
                "application.process.id" => input.pid = value.parse().ok(),
                _ => {}
            }
        }
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pactl_output() {
        let text = "Sink Input #3\n\tDriver: protocol-native.c\n\tProperties:\n\t\tmedia.name = \"ALSA Playback\"\n\t\tapplication.name = \"ALSA plug-in [foghorn]\"\n\t\tapplication.process.id = \"4242\"\n\nSink Input #5\n\t\tapplication.name = \"x\"\n";
        assert_eq!(
            parse_sink_inputs(text),
            vec![
                SinkInput {
                    index: 3,
                    application: "ALSA plug-in [foghorn]".into(),
                    pid: Some(4242)
                },
                SinkInput {
                    index: 5,
                    application: "x".into(),
                    pid: None
                }
            ]
        );
    }
}
