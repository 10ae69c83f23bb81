//! The loud alarm's sound: [`RodioPlayer`] plays the core's [`AlarmSound`]s through rodio.
//!
//! rodio's output stream is not `Send`, so one thread owns it and takes commands over a
//! channel. The device is opened on the first `play`, not at start (a laptop without sound at
//! start may have a headset by the time an incident comes), and closed again on `stop`, so
//! the stream disappears from the sound server (PulseAudio lists no sink-input) instead of
//! playing silence.

use std::fs::File;
use std::io::{BufReader, Cursor};
use std::sync::mpsc;
use std::time::Duration;

use foghorn_core::alarm::{AlarmError, AlarmPlayer, AlarmSound, Level};
use rodio::{Decoder, DeviceSinkBuilder, MixerDeviceSink, Player, Source};

/// A two-tone chime, looped for the first stage.
pub const ALERT_WAV: &[u8] = include_bytes!("../sounds/alert.wav");
/// Faster, harsher beeps after nobody reacted.
pub const URGENT_WAV: &[u8] = include_bytes!("../sounds/urgent.wav");

/// How long `play` waits for the device to open before calling it unavailable.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `stop` waits for the stream to close.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

enum Command {
    Play {
        sound: AlarmSound,
        volume: f32,
        done: mpsc::SyncSender<Result<(), AlarmError>>,
    },
    Stop {
        done: mpsc::SyncSender<()>,
    },
}

/// Plays alarm sounds on the default output device. Dropping it closes the device.
#[derive(Debug)]
pub struct RodioPlayer {
    commands: mpsc::Sender<Command>,
}

impl Default for RodioPlayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RodioPlayer {
    pub fn new() -> Self {
        let (commands, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("foghorn-alarm".into())
            .spawn(move || audio_thread(rx));
        if let Err(e) = spawned {
            // `play` then reports the alarm as unavailable: the visual alarm still works.
            tracing::error!("alarm: cannot start the audio thread: {e}");
        }
        Self { commands }
    }
}

impl AlarmPlayer for RodioPlayer {
    fn play(&self, sound: &AlarmSound, volume: f32) -> Result<(), AlarmError> {
        let (done, result) = mpsc::sync_channel(1);
        let gone = || AlarmError::NoDevice("the audio thread is not running".into());
        self.commands
            .send(Command::Play {
                sound: sound.clone(),
                volume,
                done,
            })
            .map_err(|_| gone())?;
        match result.recv_timeout(OPEN_TIMEOUT) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(AlarmError::NoDevice(format!(
                "the audio device did not open within {}s",
                OPEN_TIMEOUT.as_secs()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }

    fn stop(&self) {
        let (done, stopped) = mpsc::sync_channel(1);
        if self.commands.send(Command::Stop { done }).is_ok()
            && stopped.recv_timeout(STOP_TIMEOUT).is_err()
        {
            tracing::warn!("alarm: the audio device took too long to close");
        }
    }
}

/// The open device and what plays on it.
struct Output {
    player: Player,
    // Dropped after the player: closing it ends the stream at the sound server.
    device: MixerDeviceSink,
}

fn audio_thread(commands: mpsc::Receiver<Command>) {
    let mut output: Option<Output> = None;
    for command in commands {
        match command {
            Command::Play {
                sound,
                volume,
                done,
            } => {
                let result = play(&mut output, &sound, volume);
                if let Err(e) = &result {
                    tracing::debug!("alarm: {e}");
                }
                let _ = done.send(result);
            }
            Command::Stop { done } => {
                if let Some(Output { player, device }) = output.take() {
                    player.stop();
                    drop(player);
                    drop(device);
                }
                let _ = done.send(());
            }
        }
    }
}

fn play(output: &mut Option<Output>, sound: &AlarmSound, volume: f32) -> Result<(), AlarmError> {
    // Decode first: a broken user file is reported as such even when the device is fine.
    let source: Box<dyn Source + Send> = match sound {
        AlarmSound::Bundled(level) => {
            let bytes = match level {
                Level::Alert => ALERT_WAV,
                Level::Urgent => URGENT_WAV,
            };
            let decoder = Decoder::new(Cursor::new(bytes)).map_err(|e| {
                AlarmError::NoDevice(format!("the bundled sound does not decode: {e}"))
            })?;
            Box::new(decoder.repeat_infinite())
        }
        AlarmSound::File(path) => {
            let bad = |reason: String| AlarmError::Sound {
                path: path.clone(),
                reason,
            };
            let file = File::open(path).map_err(|e| bad(e.to_string()))?;
            let len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
            // Looped by seeking back rather than buffering: a user file may be minutes long.
            let decoder = Decoder::builder()
                .with_data(BufReader::new(file))
                .with_byte_len(len)
                .with_seekable(true)
                .build_looped()
                .map_err(|e| bad(format!("{e} (WAV, FLAC, Ogg Vorbis and MP3 play)")))?;
            Box::new(decoder)
        }
    };
    let out = match output.take() {
        Some(out) => {
            out.player.stop();
            Output {
                player: Player::connect_new(out.device.mixer()),
                device: out.device,
            }
        }
        None => {
            let device = open_device()?;
            Output {
                player: Player::connect_new(device.mixer()),
                device,
            }
        }
    };
    out.player.set_volume(volume.clamp(0.0, 1.0));
    out.player.append(source);
    *output = Some(out);
    Ok(())
}

fn open_device() -> Result<MixerDeviceSink, AlarmError> {
    let opened = DeviceSinkBuilder::from_default_device()
        .and_then(|b| {
            b.with_error_callback(|e| tracing::warn!("alarm: audio stream error: {e}"))
                .open_sink_or_fallback()
        })
        .or_else(|_| DeviceSinkBuilder::open_default_sink());
    let mut device = opened.map_err(|e| {
        AlarmError::NoDevice(format!(
            "the default sound device cannot be opened ({})",
            describe(&e)
        ))
    })?;
    device.log_on_drop(false);
    Ok(device)
}

/// An error with its causes, as one line.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_sounds_decode_and_are_short() {
        for bytes in [ALERT_WAV, URGENT_WAV] {
            assert!(bytes.len() < 200 * 1024);
            let decoder = Decoder::new(Cursor::new(bytes)).expect("decodes");
            let seconds = decoder
                .total_duration()
                .expect("known length")
                .as_secs_f32();
            assert!((1.0..3.0).contains(&seconds), "{seconds}");
        }
    }

    #[test]
    fn a_file_that_is_not_audio_is_a_sound_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notes.ogg");
        std::fs::write(&path, b"not a sound").expect("write");
        let mut output = None;
        let err = play(&mut output, &AlarmSound::File(path.clone()), 0.5).expect_err("bad");
        assert!(
            matches!(&err, AlarmError::Sound { path: p, .. } if *p == path),
            "{err}"
        );
        assert!(output.is_none(), "no device opened for a broken file");
    }
}
