//! A monitored endpoint the test controls: answers `200` or `503` as the test says, on
//! 127.0.0.1, so a test decides exactly when a monitor goes down and comes back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The endpoint; stops serving when dropped.
#[derive(Debug)]
pub struct Target {
    addr: SocketAddr,
    healthy: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
    /// When the first failing answer of the current outage was sent.
    first_failure: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    task: JoinHandle<()>,
}

impl Target {
    /// Starts healthy. Must be called inside a tokio runtime.
    pub async fn start() -> Result<Self> {
        Self::start_on("127.0.0.1").await
    }

    /// Starts healthy on a loopback address of its own (`127.0.0.2`, …), so that several
    /// targets are different hosts as far as a monitor can tell.
    pub async fn start_on(ip: &str) -> Result<Self> {
        let listener = TcpListener::bind((ip, 0))
            .await
            .with_context(|| format!("binding the test target on {ip}"))?;
        let addr = listener.local_addr()?;
        let healthy = Arc::new(AtomicBool::new(true));
        let requests = Arc::new(AtomicU64::new(0));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let first_failure = Arc::new(std::sync::Mutex::new(None));
        let task = tokio::spawn(serve(
            listener,
            healthy.clone(),
            requests.clone(),
            delay_ms.clone(),
            first_failure.clone(),
        ));
        Ok(Self {
            addr,
            healthy,
            requests,
            delay_ms,
            first_failure,
            task,
        })
    }

    /// The URL a monitor should check.
    pub fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    pub fn set_healthy(&self, healthy: bool) {
        if !healthy {
            *self.first_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    /// When the first failing answer since the last `set_healthy(false)` was written: the
    /// moment a check saw the outage, for measuring how fast an alert follows.
    pub fn first_failure(&self) -> Option<std::time::Instant> {
        *self.first_failure.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers after `delay`, like a real service a network away (latency charts of a local
    /// target are otherwise flat at 0 ms).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Waits until `n` more checks than now have been answered: an outage of seconds rather
    /// than a blip, or time enough for the engine to have acted on what it saw.
    pub async fn answer_more(&self, n: u64, timeout: std::time::Duration) -> anyhow::Result<()> {
        let seen = self.requests();
        crate::wait_until_async(timeout, &format!("{n} more checks"), || async {
            Ok((self.requests() >= seen + n).then_some(()))
        })
        .await
    }

    /// [`Self::answer_more`] for a test without a runtime of its own.
    pub fn answer_more_blocking(&self, n: u64, timeout: std::time::Duration) -> anyhow::Result<()> {
        let seen = self.requests();
        crate::wait_until(timeout, &format!("{n} more checks"), || {
            Ok((self.requests() >= seen + n).then_some(()))
        })
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    healthy: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
    first_failure: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let healthy = healthy.load(Ordering::SeqCst);
        let delay = std::time::Duration::from_millis(delay_ms.load(Ordering::SeqCst));
        requests.fetch_add(1, Ordering::SeqCst);
        let first_failure = first_failure.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let (status, body) = if healthy {
                ("200 OK", "ok")
            } else {
                ("503 Service Unavailable", "down")
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            if !healthy {
                first_failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(std::time::Instant::now);
            }
            let _ = socket.shutdown().await;
        });
    }
}

/// A config file with one monitor of `url`, checked every second, written into `dir`.
pub fn write_config(dir: &std::path::Path, name: &str, url: &str) -> Result<std::path::PathBuf> {
    let path = dir.join("foghorn.toml");
    std::fs::write(
        &path,
        format!(
            "[[monitors]]\nname = \"{name}\"\nurl = \"{url}\"\ninterval = \"1s\"\ntimeout = \"2s\"\nfailure_threshold = 2\nseverity = \"critical\"\n"
        ),
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A PagerDuty-style iCal calendar: `person` on call from an hour ago for three hours.
pub fn oncall_calendar(person: &str) -> String {
    let stamp = |t: time::OffsetDateTime| {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let now = time::OffsetDateTime::now_utc();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//PagerDuty Inc.//PagerDuty//EN\r\n\
         BEGIN:VEVENT\r\nUID:shift-1\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\n\
         SUMMARY:On Call - {person} - Primary\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        stamp(now),
        stamp(now - time::Duration::hours(1)),
        stamp(now + time::Duration::hours(2)),
    )
}

/// A config for "Alice Smith" with `oncall.ics` (`on_call` on call now) and one critical
/// monitor of `url`, down after one failed check, checked every second; written into `dir`.
pub fn write_oncall_config(
    dir: &std::path::Path,
    on_call: &str,
    name: &str,
    url: &str,
) -> Result<std::path::PathBuf> {
    std::fs::write(dir.join("oncall.ics"), oncall_calendar(on_call))
        .context("writing oncall.ics")?;
    let path = dir.join("foghorn.toml");
    std::fs::write(
        &path,
        format!(
            "[me]\nnames = [\"Alice Smith\"]\n\n[oncall]\ncalendar = \"oncall.ics\"\n\n\
             [[monitors]]\nname = \"{name}\"\nurl = \"{url}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
             failure_threshold = 1\nseverity = \"critical\"\n"
        ),
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
