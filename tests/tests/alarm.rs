//! The loud alarm through a real sound server: `foghorn alarm test` rings with the real rodio
//! player and the core's alarm controller; the stream shows in a private PulseAudio's
//! sink-inputs while it rings and is gone within a second of the acknowledgement.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::{wait_until, PulseAudio};

/// From the acknowledgement to the stream gone at the sound server.
const SILENCE_WITHIN: Duration = Duration::from_secs(1);

fn foghorn(home: &std::path::Path) -> Result<Command> {
    foghorn_e2e::paths::foghorn_command(home)
}

#[test]
fn rings_in_pulseaudio_escalates_and_is_gone_within_a_second_of_the_ack() -> Result<()> {
    let pulse = PulseAudio::start()?;
    ensure!(
        pulse.sink_inputs()?.is_empty(),
        "a fresh server plays nothing"
    );
    let home = tempfile::tempdir()?;
    let config = home.path().join("foghorn.toml");
    std::fs::write(
        &config,
        "[alarm]\nvolume = 0.6\nescalate_after = \"1s\"\nescalated_volume = 0.9\n",
    )?;
    let mut cmd = foghorn(home.path())?;
    cmd.envs(pulse.env())
        .args(["alarm", "test", "--config"])
        .arg(&config);
    let mut app = ChildGuard::spawn_piped("foghorn-alarm", cmd, &home.path().join("logs"))?;
    let pid = app.pid();

    let ringing = wait_until(
        Duration::from_secs(10),
        "the alarm's stream in pactl list sink-inputs",
        || {
            if let Some(status) = app.try_wait()? {
                anyhow::bail!("foghorn exited with {status}: {}", app.stderr());
            }
            let inputs = pulse.sink_inputs()?;
            Ok(inputs.into_iter().find(|i| i.pid == Some(pid)))
        },
    )
    .with_context(|| format!("stderr: {}\npulseaudio: {}", app.stderr(), pulse.log()))?;
    ensure!(
        ringing.application.contains("foghorn"),
        "stream of {:?}",
        ringing.application
    );
    ensure!(app
        .stdout()
        .contains("ringing: the bundled alert at volume 0.6"));

    // Nobody reacts for a second: the urgent sound takes over on the same stream.
    wait_until(Duration::from_secs(10), "the escalation", || {
        Ok(app.stdout().contains("ringing: Urgent").then_some(()))
    })?;
    ensure!(
        pulse.sink_inputs()?.iter().any(|i| i.pid == Some(pid)),
        "still ringing after the escalation"
    );

    // Acknowledge.
    app.stdin().context("stdin is piped")?.write_all(b"\n")?;
    let acked = Instant::now();
    let silent_after = wait_until(SILENCE_WITHIN * 5, "the stream to disappear", || {
        let inputs = pulse.sink_inputs()?;
        Ok((!inputs.iter().any(|i| i.pid == Some(pid))).then(|| acked.elapsed()))
    })?;
    println!(
        "acknowledge to silence: {} ms (stream gone from PulseAudio)",
        silent_after.as_millis()
    );
    ensure!(
        silent_after < SILENCE_WITHIN,
        "the alarm played for {silent_after:?} after the acknowledgement"
    );
    let status = app.wait_for_exit(Duration::from_secs(5))?;
    ensure!(status.success(), "{status}: {}", app.stderr());
    let stdout = app.stdout();
    let stopped = stdout
        .lines()
        .find_map(|l| l.strip_prefix("silent after "))
        .with_context(|| format!("no `silent after` line: {stdout}"))?;
    println!("the player's stop (sink and device closed): {stopped}");
    ensure!(!app.stderr().contains("panicked"), "{}", app.stderr());
    Ok(())
}

#[test]
fn without_any_audio_device_it_says_so_and_does_not_crash() -> Result<()> {
    let home = tempfile::tempdir()?;
    // No sound server to reach, and an ALSA configuration with no devices at all, so the
    // outcome is the same on a laptop with a sound card.
    let alsa = home.path().join("asound.conf");
    std::fs::write(&alsa, "")?;
    let runtime = home.path().join("run");
    std::fs::create_dir_all(&runtime)?;
    let out = foghorn(home.path())?
        .env("XDG_RUNTIME_DIR", &runtime)
        .env(
            "PULSE_SERVER",
            format!("unix:{}/nothing", runtime.display()),
        )
        .env("ALSA_CONFIG_PATH", &alsa)
        .args(["alarm", "test", "--for", "2s"])
        .stdin(std::process::Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.code() == Some(1), "{:?}: {stderr}", out.status);
    ensure!(!stderr.contains("panicked"), "{stderr}");
    ensure!(
        stderr.contains("foghorn: no audio output: the default sound device cannot be opened")
            && stderr.contains("showing a visual alarm only"),
        "{stderr}"
    );
    Ok(())
}
