//! Secrets stay out of the configuration file and out of everything Foghorn shows: header
//! values, calendar URLs and webhook URLs can be `env:`/`keyring:` references, URLs are shown
//! as scheme and host only, and `foghorn secret set` fills the OS keychain.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::{wait_until, Target};

const WAIT: Duration = Duration::from_secs(30);

fn foghorn(home: &Path) -> Result<Command> {
    let mut cmd = foghorn_e2e::paths::foghorn_command(home)?;
    cmd.env("FOGHORN_DATA_DIR", home.join("data"));
    Ok(cmd)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn headless(name: &str, mut cmd: Command, config: &Path, home: &Path) -> Result<ChildGuard> {
    cmd.args(["run", "--headless", "--config"]).arg(config);
    ChildGuard::spawn(name, cmd, home)
}

#[test]
fn a_header_value_can_come_from_the_environment() -> Result<()> {
    const TOKEN: &str = "Bearer s3cret-header-token";
    let rt = tokio::runtime::Runtime::new()?;
    let api = rt.block_on(Receiver::start(|_| answer(200, "ok")))?;
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        format!(
            "[[monitors]]\nname = \"api\"\nurl = \"{}/health\"\ninterval = \"1s\"\n\
             headers = {{ Authorization = \"env:API_TOKEN\", X-Team = \"core\" }}\n",
            api.url()
        ),
    )?;
    let mut cmd = foghorn(home.path())?;
    cmd.env("API_TOKEN", TOKEN).env("FOGHORN_LOG", "debug");
    let mut engine = headless("header-env", cmd, &config, home.path())?;
    let seen = wait_until(WAIT, "a check with the header", || {
        Ok(api.requests().into_iter().next())
    })?;
    let stderr = engine.stderr();
    engine.terminate();
    ensure!(
        seen.header("authorization") == Some(TOKEN) && seen.header("x-team") == Some("core"),
        "{seen:?}"
    );
    ensure!(
        !stderr.contains("s3cret"),
        "the token is never logged: {stderr}"
    );

    // A credential written in clear is refused, like a feed's `token`.
    std::fs::write(
        &config,
        "[[monitors]]\nname = \"api\"\nurl = \"http://127.0.0.1:9/\"\n\
         headers = { Authorization = \"Bearer hunter2\" }\n",
    )?;
    let out = foghorn(home.path())?
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()?;
    let (_, stderr) = text(&out);
    ensure!(out.status.code() == Some(1), "{out:?}");
    ensure!(
        stderr.contains("foghorn.toml:4")
            && stderr.contains("header `Authorization`")
            && stderr.contains("env:VARIABLE"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn a_calendar_url_token_never_reaches_the_logs_or_oncall_json() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let calendar = foghorn_e2e::target::oncall_calendar("Alice Smith");
    let feed = rt.block_on(Receiver::start(move |r| {
        if r.path.contains("private-c4l-t0ken") {
            answer(200, &calendar)
        } else {
            answer(404, "no such calendar")
        }
    }))?;
    let host = feed.url();
    let good = format!("{host}/private-c4l-t0ken/basic.ics?key=c4l-k3y");
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");
    let write = |calendar: &str| {
        std::fs::write(
            &config,
            format!("[me]\nnames = [\"Alice Smith\"]\n\n[oncall]\ncalendar = \"{calendar}\"\n"),
        )
    };
    let oncall = |env: &[(&str, &str)]| -> Result<(Output, String, String)> {
        let mut cmd = foghorn(home.path())?;
        cmd.env("FOGHORN_LOG", "debug")
            .args(["oncall", "--json", "--config"])
            .arg(&config);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output()?;
        let (stdout, stderr) = text(&out);
        Ok((out, stdout, stderr))
    };
    let leaks = |s: &str| s.contains("t0ken") || s.contains("k3y");

    // Written in clear: read, and shown as scheme and host.
    write(&good)?;
    let (out, stdout, stderr) = oncall(&[])?;
    ensure!(out.status.success(), "{stdout}\n{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout)?;
    ensure!(status["youAreOnCall"] == true, "{status}");
    ensure!(status["source"]["label"] == host.as_str(), "{status}");
    ensure!(!leaks(&stdout) && !leaks(&stderr), "{stdout}\n{stderr}");

    // A failing fetch says so without the token.
    write(&format!("{host}/private-wrong-t0ken/basic.ics"))?;
    let (out, stdout, stderr) = oncall(&[])?;
    ensure!(out.status.code() == Some(1), "{out:?}");
    ensure!(stderr.contains(&host) && stderr.contains("404"), "{stderr}");
    ensure!(!leaks(&stdout) && !leaks(&stderr), "{stdout}\n{stderr}");

    // Kept in the environment: the file holds only the reference.
    write("env:ONCALL_CALENDAR")?;
    let (out, stdout, stderr) = oncall(&[("ONCALL_CALENDAR", &good)])?;
    ensure!(out.status.success(), "{stdout}\n{stderr}");
    ensure!(!leaks(&stdout) && !leaks(&stderr), "{stdout}\n{stderr}");
    let (out, _, stderr) = oncall(&[])?;
    ensure!(
        out.status.code() == Some(1)
            && stderr.contains("env:ONCALL_CALENDAR: the environment variable is not set"),
        "{out:?}"
    );

    // The engine's logs, with the schedule refreshed at start.
    write(&good)?;
    let mut cmd = foghorn(home.path())?;
    cmd.env("FOGHORN_LOG", "debug");
    let mut engine = headless("calendar-logs", cmd, &config, home.path())?;
    let asked = feed.requests().len();
    wait_until(WAIT, "the engine to fetch the calendar", || {
        Ok((feed.requests().len() > asked).then_some(()))
    })?;
    let stderr = engine.stderr();
    engine.terminate();
    ensure!(!leaks(&stderr), "{stderr}");
    Ok(())
}

#[test]
fn the_webhook_url_on_the_timeline_shows_only_its_host() -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let target = rt.block_on(Target::start())?;
    let hook = rt.block_on(Receiver::start(|_| answer(200, "ok")))?;
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        format!(
            "[[escalation.steps]]\nafter = \"0s\"\naction = \"webhook\"\n\
             url = \"{hook}/hooks/clear-h00k-t0ken\"\nsecret = \"env:HOOK_SECRET\"\n\n\
             [[escalation.steps]]\nafter = \"0s\"\naction = \"webhook\"\n\
             url = \"env:HOOK_URL\"\nsecret = \"env:HOOK_SECRET\"\n\n\
             [[monitors]]\nname = \"Checkout\"\nurl = \"{}\"\ninterval = \"1s\"\n\
             timeout = \"2s\"\nfailure_threshold = 1\nseverity = \"critical\"\n",
            target.url(),
            hook = hook.url(),
        ),
    )?;
    let mut cmd = foghorn(home.path())?;
    cmd.env("HOOK_SECRET", "shared-secret")
        .env("HOOK_URL", format!("{}/hooks/env-h00k-t0ken", hook.url()))
        .env("FOGHORN_LOG", "debug");
    let mut engine = headless("webhook", cmd, &config, home.path())?;
    target.set_healthy(false);
    wait_until(WAIT, "both webhooks", || {
        Ok((hook.requests().len() >= 2).then_some(()))
    })
    .with_context(|| engine.stderr())?;
    let stderr = engine.stderr();
    engine.terminate();
    let mut paths: Vec<String> = hook.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    ensure!(
        paths == ["/hooks/clear-h00k-t0ken", "/hooks/env-h00k-t0ken"],
        "{paths:?}"
    );

    let db = rusqlite::Connection::open_with_flags(
        home.path().join("data/foghorn.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let notes: Vec<String> = db
        .prepare("SELECT note FROM escalation_steps WHERE incident_id = 1 ORDER BY step")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ensure!(
        notes
            == [
                format!("POST to {}", hook.url()),
                "POST to env:HOOK_URL".to_owned()
            ],
        "{notes:?}"
    );
    ensure!(!stderr.contains("t0ken"), "{stderr}");
    Ok(())
}

/// A private session bus with gnome-keyring's Secret Service on it, its login keyring created
/// and unlocked with a throwaway password, in `dir`: what `keyring:` references read on a
/// Linux desktop.
struct Keychain {
    _dbus: ChildGuard,
    _daemon: ChildGuard,
    env: Vec<(String, String)>,
}

impl Keychain {
    fn start(dir: &Path) -> Result<Option<Self>> {
        if foghorn_e2e::paths::find_program("gnome-keyring-daemon").is_none() {
            if std::env::var_os("CI").is_some() {
                bail!("gnome-keyring-daemon is missing: run scripts/deps.sh test");
            }
            eprintln!("skipped: gnome-keyring-daemon is not installed (scripts/deps.sh test)");
            return Ok(None);
        }
        let mut dbus_cmd = Command::new("dbus-daemon");
        dbus_cmd.args(["--session", "--nofork", "--nopidfile", "--print-address=1"]);
        let mut dbus = ChildGuard::spawn("keychain-dbus", dbus_cmd, dir)?;
        let address = wait_until(WAIT, "dbus-daemon to print its address", || {
            if let Some(status) = dbus.try_wait()? {
                bail!("dbus-daemon exited with {status}: {}", dbus.stderr());
            }
            Ok(dbus
                .stdout()
                .lines()
                .next()
                .filter(|l| l.starts_with("unix:"))
                .map(str::to_owned))
        })?;
        let runtime = dir.join("runtime");
        std::fs::create_dir_all(&runtime)?;
        let env = vec![
            ("DBUS_SESSION_BUS_ADDRESS".to_owned(), address),
            ("XDG_RUNTIME_DIR".to_owned(), runtime.display().to_string()),
        ];
        // `--unlock` reads the login keyring's password from stdin (an empty one creates none).
        let password = dir.join("keyring-password");
        std::fs::write(&password, "throwaway\n")?;
        let mut daemon_cmd = Command::new("sh");
        daemon_cmd
            .args([
                "-c",
                "exec gnome-keyring-daemon --foreground --unlock --components=secrets < \"$0\"",
            ])
            .arg(&password)
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir.join("share"))
            .envs(env.iter().map(|(k, v)| (k, v)));
        let mut daemon = ChildGuard::spawn("gnome-keyring", daemon_cmd, dir)?;
        let bus_env = env.clone();
        wait_until(WAIT, "the Secret Service on the bus", || {
            if let Some(status) = daemon.try_wait()? {
                bail!(
                    "gnome-keyring-daemon exited with {status}: {}",
                    daemon.stderr()
                );
            }
            let out = Command::new("dbus-send")
                .envs(bus_env.iter().map(|(k, v)| (k, v)))
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()?;
            Ok(String::from_utf8_lossy(&out.stdout)
                .contains("boolean true")
                .then_some(()))
        })?;
        Ok(Some(Keychain {
            _dbus: dbus,
            _daemon: daemon,
            env,
        }))
    }
}

#[test]
fn secret_set_stores_into_the_keychain_for_keyring_references() -> Result<()> {
    const TOKEN: &str = "Bearer k3ychain-t0ken";
    let home = tempfile::tempdir()?;
    let Some(keychain) = Keychain::start(home.path())? else {
        return Ok(());
    };
    let command = || -> Result<Command> {
        let mut cmd = foghorn(home.path())?;
        cmd.envs(keychain.env.iter().map(|(k, v)| (k, v)));
        Ok(cmd)
    };

    // The value comes on stdin (piped, so no prompt); only what was stored is printed.
    let mut set = command()?
        .args(["secret", "set", "api-token"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    set.stdin
        .take()
        .context("stdin")?
        .write_all(format!("{TOKEN}\n").as_bytes())?;
    let out = set.wait_with_output()?;
    let (stdout, stderr) = text(&out);
    ensure!(out.status.success(), "{stdout}\n{stderr}");
    ensure!(
        stdout.contains("keyring:api-token") && stdout.contains(&TOKEN.len().to_string()),
        "{stdout}"
    );
    ensure!(
        !stdout.contains("t0ken") && !stderr.contains("t0ken"),
        "{stdout}{stderr}"
    );

    // A monitor's header reads it back through `keyring:api-token`.
    let rt = tokio::runtime::Runtime::new()?;
    let api = rt.block_on(Receiver::start(|_| answer(200, "ok")))?;
    let config = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        format!(
            "[[monitors]]\nname = \"api\"\nurl = \"{}/health\"\ninterval = \"1s\"\n\
             headers = {{ Authorization = \"keyring:api-token\" }}\n",
            api.url()
        ),
    )?;
    let out = command()?
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()?;
    ensure!(out.status.success(), "{out:?}");
    let mut engine = headless("keyring-header", command()?, &config, home.path())?;
    let seen = wait_until(WAIT, "a check with the header", || {
        Ok(api.requests().into_iter().next())
    })
    .with_context(|| engine.stderr())?;
    engine.terminate();
    ensure!(seen.header("authorization") == Some(TOKEN), "{seen:?}");

    // An unknown name says where it looked.
    std::fs::write(
        &config,
        format!(
            "[[monitors]]\nname = \"api\"\nurl = \"{}/health\"\n\
             headers = {{ Authorization = \"keyring:nobody-stored-this\" }}\n",
            api.url()
        ),
    )?;
    let out = command()?
        .args(["check", "-H", "Authorization: keyring:nobody-stored-this"])
        .arg(format!("{}/health", api.url()))
        .output()?;
    let (stdout, stderr) = text(&out);
    ensure!(
        format!("{stdout}{stderr}")
            .contains("keyring:nobody-stored-this: not found in the OS keychain"),
        "{stdout}\n{stderr}"
    );
    Ok(())
}
