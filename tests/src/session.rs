//! `Desktop`: an isolated graphical session per test — Xvfb on a display it picks itself, a
//! private D-Bus session bus (no service activation), dunst as the notification daemon and a
//! StatusNotifierWatcher for the tray — plus its environment, notifications and screenshots.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tempfile::TempDir;

use crate::notifications::{self, Notification};
use crate::process::ChildGuard;
use crate::sni_watcher::{SniItem, SniWatcher};
use crate::wait::wait_until;

/// How long each piece of the desktop gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Variables removed from every child's environment, so nothing leaks in from the developer's
/// real session.
const SCRUBBED_ENV: &[&str] = &[
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "SESSION_MANAGER",
    "DESKTOP_SESSION",
    "XDG_CURRENT_DESKTOP",
    "XDG_SESSION_TYPE",
    "XDG_SESSION_DESKTOP",
    "XDG_SESSION_ID",
    "GNOME_DESKTOP_SESSION_ID",
    "KDE_FULL_SESSION",
    "DBUS_STARTER_ADDRESS",
    "DBUS_STARTER_BUS_TYPE",
];

/// Knobs for [`Desktop::start_with`].
#[derive(Debug, Clone)]
pub struct DesktopOptions {
    /// Xvfb screen size.
    pub screen: (u32, u32),
    /// How long dunst shows each notification before it moves to the history (it overrides the
    /// sender's timeout, so every notification reaches the history).
    pub notification_timeout: Duration,
    /// Run the StatusNotifierWatcher. Without one libayatana-appindicator still exports its item
    /// and menu but falls back to an XEmbed icon, and [`crate::Tray::find`] cannot find it.
    pub sni_watcher: bool,
}

impl Default for DesktopOptions {
    fn default() -> Self {
        Self {
            screen: (1280, 800),
            notification_timeout: Duration::from_secs(1),
            sni_watcher: true,
        }
    }
}

/// A running isolated desktop. Dropping it stops everything it started (watcher, dunst, bus,
/// X server, in that order) and removes its temp dir; if the test is panicking, the logs are
/// first copied to `artifacts/desktop-logs-<n>/`.
#[derive(Debug)]
pub struct Desktop {
    // Field order is drop order.
    watcher: Option<SniWatcher>,
    dunst: ChildGuard,
    dbus: ChildGuard,
    xvfb: ChildGuard,
    display: String,
    bus_address: String,
    dir: TempDir,
}

impl Desktop {
    /// Starts a desktop with [`DesktopOptions::default`].
    pub fn start() -> Result<Self> {
        Self::start_with(DesktopOptions::default())
    }

    /// Starts Xvfb, the bus, dunst and (optionally) the watcher, each waited for until ready.
    pub fn start_with(opts: DesktopOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("foghorn-e2e-")
            .tempdir()
            .context("creating the desktop temp dir")?;
        let root = dir.path().to_path_buf();
        let logs = root.join("logs");
        for sub in ["logs", "run", "home", "notifications"] {
            std::fs::create_dir_all(root.join(sub))
                .with_context(|| format!("creating {}/{sub}", root.display()))?;
        }
        set_mode_700(&root.join("run"))?;

        // Xvfb picks a free display and writes its number to fd 1 (our stdout log).
        let mut xvfb_cmd = Command::new("Xvfb");
        xvfb_cmd.args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-noreset",
            "-screen",
            "0",
        ]);
        xvfb_cmd.arg(format!("{}x{}x24", opts.screen.0, opts.screen.1));
        let mut xvfb = ChildGuard::spawn("xvfb", xvfb_cmd, &logs)?;
        let display_no = wait_until(START_TIMEOUT, "Xvfb to report its display", || {
            if let Some(status) = xvfb.try_wait()? {
                bail!("Xvfb exited with {status}: {}", xvfb.stderr());
            }
            Ok(complete_line(&xvfb.stdout()).and_then(|l| l.parse::<u32>().ok()))
        })?;
        let display = format!(":{display_no}");

        // A private bus with no service directories: nothing gets auto-activated (portals,
        // at-spi), so nothing escapes teardown.
        let socket = root.join("bus");
        let config = root.join("bus.conf");
        std::fs::write(&config, bus_config(&socket))
            .with_context(|| format!("writing {}", config.display()))?;
        let mut dbus_cmd = Command::new("dbus-daemon");
        dbus_cmd
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"]);
        let mut dbus = ChildGuard::spawn("dbus-daemon", dbus_cmd, &logs)?;
        let bus_address = wait_until(START_TIMEOUT, "dbus-daemon to print its address", || {
            if let Some(status) = dbus.try_wait()? {
                bail!("dbus-daemon exited with {status}: {}", dbus.stderr());
            }
            Ok(complete_line(&dbus.stdout()))
        })?;

        let watcher = if opts.sni_watcher {
            Some(SniWatcher::start(&bus_address, START_TIMEOUT)?)
        } else {
            None
        };

        let partial = Partial {
            root: root.clone(),
            display: display.clone(),
            bus_address: bus_address.clone(),
        };
        let record_dir = root.join("notifications");
        let script = root.join("dunst-record.sh");
        std::fs::write(&script, notifications::recorder_script(&record_dir))
            .with_context(|| format!("writing {}", script.display()))?;
        set_mode_755(&script)?;
        // dunst's context menu (`dunstctl context`) asks a dmenu-like program to pick an
        // action: this one picks the line naming the action the test wants.
        let pick = root.join("dunst-pick.sh");
        std::fs::write(&pick, pick_script(&root.join("dunst-pick")))
            .with_context(|| format!("writing {}", pick.display()))?;
        set_mode_755(&pick)?;
        let dunstrc = root.join("dunstrc");
        std::fs::write(
            &dunstrc,
            dunstrc_text(&script, &pick, opts.notification_timeout),
        )
        .with_context(|| format!("writing {}", dunstrc.display()))?;
        let mut dunst_cmd = partial.command("dunst");
        dunst_cmd.arg("-conf").arg(&dunstrc);
        let mut dunst = ChildGuard::spawn("dunst", dunst_cmd, &logs)?;
        // `dunstctl is-paused` calls dunst over D-Bus: success means dunst owns
        // org.freedesktop.Notifications (nothing can be activated in its place).
        wait_until(
            START_TIMEOUT,
            "dunst to own org.freedesktop.Notifications",
            || {
                if let Some(status) = dunst.try_wait()? {
                    bail!("dunst exited with {status}: {}", dunst.stderr());
                }
                let out = partial.command("dunstctl").arg("is-paused").output()?;
                Ok(out.status.success().then_some(()))
            },
        )?;

        Ok(Self {
            watcher,
            dunst,
            dbus,
            xvfb,
            display,
            bus_address,
            dir,
        })
    }

    /// The X display, e.g. `:3`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The private session bus address (`unix:path=...,guid=...`).
    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// This desktop's temp dir (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Private `XDG_RUNTIME_DIR` (mode 0700). The tray icon PNGs land in `<it>/tray-icon/`.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Private `HOME`; `XDG_CONFIG_HOME` etc. are `.config`, `.local/share`, ... below it.
    pub fn home_dir(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Where the desktop's own processes log (`xvfb`, `dbus-daemon`, `dunst`), and a good place
    /// for the app's logs.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    /// The environment a program needs to live in this desktop.
    pub fn env(&self) -> Vec<(String, String)> {
        Partial {
            root: self.dir.path().to_path_buf(),
            display: self.display.clone(),
            bus_address: self.bus_address.clone(),
        }
        .env()
    }

    /// A `Command` for `program` with the inherited environment scrubbed of the real session and
    /// [`Desktop::env`] applied.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for k in SCRUBBED_ENV {
            cmd.env_remove(k);
        }
        cmd.envs(self.env());
        cmd
    }

    /// Every notification dunst has received, oldest first: its history (`dunstctl history`)
    /// plus those still on screen.
    pub fn notifications(&self) -> Result<Vec<Notification>> {
        let out = self
            .command("dunstctl")
            .arg("history")
            .output()
            .context("running dunstctl history")?;
        if !out.status.success() {
            bail!(
                "dunstctl history failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let history = notifications::parse_history(&String::from_utf8_lossy(&out.stdout))?;
        let records = notifications::read_records(&self.dir.path().join("notifications"));
        Ok(notifications::merge(history, records))
    }

    /// Waits until a notification matching `pred` has been received; returns it.
    pub fn wait_for_notification(
        &self,
        timeout: Duration,
        pred: impl Fn(&Notification) -> bool,
    ) -> Result<Notification> {
        wait_until(timeout, "a matching notification", || {
            Ok(self.notifications()?.into_iter().find(|n| pred(n)))
        })
        .with_context(|| {
            format!(
                "notifications so far: {:#?}",
                self.notifications().unwrap_or_default()
            )
        })
    }

    /// Closes every notification on screen (`dunstctl close-all`), moving it to the history.
    pub fn close_notifications(&self) -> Result<()> {
        let status = self.command("dunstctl").arg("close-all").status()?;
        if !status.success() {
            bail!("dunstctl close-all failed with {status}");
        }
        Ok(())
    }

    /// Presses the button labelled `label` on the notification on screen, as a person would:
    /// dunst's context menu, with a picker that chooses that action, so dunst sends the app
    /// `ActionInvoked` itself.
    pub fn invoke_notification_action(&self, label: &str) -> Result<()> {
        std::fs::write(self.dir.path().join("dunst-pick"), label)?;
        let status = self.command("dunstctl").arg("context").status()?;
        if !status.success() {
            bail!("dunstctl context failed with {status}");
        }
        Ok(())
    }

    /// Stops the notification daemon, as on a desktop that has none.
    pub fn stop_notification_daemon(&mut self) {
        self.dunst.terminate();
    }

    /// StatusNotifierItems registered with this desktop's watcher, oldest first.
    pub fn sni_items(&self) -> Vec<SniItem> {
        self.watcher
            .as_ref()
            .map(SniWatcher::items)
            .unwrap_or_default()
    }

    /// Screenshot of the whole screen (`import -window root`), as PNG.
    pub fn screenshot(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        self.import("root", path.as_ref())
    }

    /// Screenshot of the first visible window whose title matches `title` (xdotool's regex),
    /// e.g. `"^Foghorn$"`.
    pub fn screenshot_window(&self, title: &str, path: impl AsRef<Path>) -> Result<PathBuf> {
        let id = self
            .window_id(title)?
            .with_context(|| format!("no visible window titled {title:?}"))?;
        self.import(&id, path.as_ref())
    }

    /// Waits until a window titled `title` is mapped and its content painted (the capture has
    /// more than one colour: a freshly mapped webview is blank for a moment), then keeps that
    /// screenshot at `path`.
    pub fn screenshot_window_painted(
        &self,
        title: &str,
        path: impl AsRef<Path>,
        timeout: Duration,
    ) -> Result<PathBuf> {
        let path = path.as_ref();
        let what = format!("window {title:?} to be painted");
        wait_until(timeout, &what, || {
            let Some(id) = self.window_id(title)? else {
                return Ok(None);
            };
            self.import(&id, path)?;
            Ok((self.unique_colours(path)? > 1).then(|| path.to_path_buf()))
        })
    }

    /// Waits until a visible window titled `title` (xdotool regex) exists; returns its X id.
    pub fn wait_for_window(&self, title: &str, timeout: Duration) -> Result<String> {
        let what = format!("a visible window titled {title:?}");
        wait_until(timeout, &what, || self.window_id(title))
    }

    fn unique_colours(&self, png: &Path) -> Result<u64> {
        let out = self
            .command("identify")
            .args(["-format", "%k"])
            .arg(png)
            .output()
            .context("running ImageMagick identify")?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .parse()
            .with_context(|| format!("identify printed {text:?}"))
    }

    /// X window id of the first visible window whose title matches `title`, if any.
    pub fn window_id(&self, title: &str) -> Result<Option<String>> {
        let out = self
            .command("xdotool")
            .args(["search", "--onlyvisible", "--name", title])
            .output()
            .context("running xdotool search")?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(str::to_owned))
    }

    fn import(&self, window: &str, path: &Path) -> Result<PathBuf> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let out = self
            .command("import")
            .args(["-window", window, "-display", &self.display])
            .arg(path)
            .output()
            .context("running ImageMagick import")?;
        if !out.status.success() {
            bail!("import failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(path.to_path_buf())
    }

    /// Process ids of the desktop's own processes (Xvfb, dbus-daemon, dunst).
    pub fn pids(&self) -> Vec<u32> {
        vec![self.xvfb.pid(), self.dbus.pid(), self.dunst.pid()]
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(artifacts) = crate::paths::artifacts_dir() {
                let name = self
                    .dir
                    .path()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                let dest = artifacts.join(format!("desktop-logs-{}", name.unwrap_or_default()));
                let _ = copy_dir(&self.logs_dir(), &dest);
            }
        }
        // Then fields drop in declaration order: watcher, dunst, dbus, xvfb, temp dir.
    }
}

/// What `env()`/`command()` need, available before the `Desktop` is assembled.
struct Partial {
    root: PathBuf,
    display: String,
    bus_address: String,
}

impl Partial {
    fn env(&self) -> Vec<(String, String)> {
        let home = self.root.join("home");
        let p = |p: PathBuf| p.display().to_string();
        vec![
            ("DISPLAY".into(), self.display.clone()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus_address.clone()),
            ("XDG_RUNTIME_DIR".into(), p(self.root.join("run"))),
            ("HOME".into(), p(home.clone())),
            ("XDG_CONFIG_HOME".into(), p(home.join(".config"))),
            ("XDG_DATA_HOME".into(), p(home.join(".local/share"))),
            ("XDG_CACHE_HOME".into(), p(home.join(".cache"))),
            ("XDG_STATE_HOME".into(), p(home.join(".local/state"))),
            ("GDK_BACKEND".into(), "x11".into()),
            ("WEBKIT_DISABLE_COMPOSITING_MODE".into(), "1".into()),
            // No accessibility bus on the private session bus: don't look for one.
            ("NO_AT_BRIDGE".into(), "1".into()),
        ]
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for k in SCRUBBED_ENV {
            cmd.env_remove(k);
        }
        cmd.envs(self.env());
        cmd
    }
}

/// The first line of `s` if it is complete (newline-terminated), trimmed.
fn complete_line(s: &str) -> Option<String> {
    let (line, _) = s.split_once('\n')?;
    let line = line.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

/// Reads the menu lines dunst offers on stdin and prints the first naming the wanted action.
fn pick_script(wanted: &Path) -> String {
    format!(
        "#!/bin/sh\nwant=$(cat \"{}\")\ngrep -m1 -F \"$want\"\n",
        wanted.display()
    )
}

fn dunstrc_text(script: &Path, pick: &Path, timeout: Duration) -> String {
    let ms = timeout.as_millis().max(1);
    format!(
        r#"[global]
    monitor = 0
    follow = none
    width = 360
    origin = top-right
    offset = 10x10
    font = Monospace 10
    history_length = 1000
    sticky_history = yes
    idle_threshold = 0
    show_indicators = no
    ignore_dbusclose = false
    dmenu = "{pick}"

[urgency_low]
    timeout = {ms}ms
[urgency_normal]
    timeout = {ms}ms
[urgency_critical]
    timeout = {ms}ms

# Catch-all: record every notification and let it reach the history whatever timeout the
# sender asked for.
[record_all]
    summary = "*"
    script = "{script}"
    override_dbus_timeout = {ms}ms
"#,
        script = script.display(),
        pick = pick.display()
    )
}

fn set_mode_700(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("chmod 700 {}", path.display()))
}

fn set_mode_755(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod 755 {}", path.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}
