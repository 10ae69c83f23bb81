//! The demo: a flaky HTTP endpoint served on 127.0.0.1 and a configuration that monitors it,
//! so someone trying Foghorn for the first time sees a monitor go down and come back within
//! a minute, with no setup and nothing leaving the machine.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::config::{Config, Result};

/// How the flaky endpoint behaves: up for `up`, then `503` for `down`, repeating.
#[derive(Debug, Clone, Copy)]
pub struct Flakiness {
    pub up: Duration,
    pub down: Duration,
}

impl Default for Flakiness {
    fn default() -> Self {
        Flakiness {
            up: Duration::from_secs(25),
            down: Duration::from_secs(20),
        }
    }
}

impl Flakiness {
    /// Whether the endpoint is healthy `elapsed` after it started.
    pub fn is_up(&self, elapsed: Duration) -> bool {
        let period = (self.up + self.down).as_millis().max(1);
        elapsed.as_millis() % period < self.up.as_millis()
    }
}

/// Binds the flaky endpoint at `addr` and serves it on the current tokio runtime (the caller
/// must be inside one). Returns the bound address (`addr` may ask for port 0).
pub fn spawn(addr: SocketAddr, flakiness: Flakiness) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, flakiness));
    Ok(bound)
}

/// Answers every request with `200 ok` or `503 down for maintenance`, by the clock. A minimal
/// HTTP/1.1 responder is enough: the demo only needs a status line.
pub async fn serve(listener: TcpListener, flakiness: Flakiness) {
    let started = Instant::now();
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let up = flakiness.is_up(started.elapsed());
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            // Read the request head (ignored); one read suffices for a health check's GET.
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf)).await;
            let (status, body) = if up {
                ("200 OK", "{\"status\":\"ok\"}")
            } else {
                ("503 Service Unavailable", "{\"status\":\"down\"}")
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

/// The demo configuration, monitoring the flaky endpoint at `addr`; with a data directory,
/// status updates go to a self-hosted page in it, so a new user can post one without an
/// account anywhere.
pub fn config(addr: SocketAddr, data_dir: Option<&Path>) -> Result<Config> {
    Config::parse(
        &config_text(addr, data_dir),
        Path::new("<demo configuration>"),
    )
}

/// Where the demo's self-hosted status page is written.
pub fn status_page_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("status-page")
}

/// The demo configuration as a file would hold it, so the window's editor can show the demo
/// monitor like any other.
pub fn config_text(addr: SocketAddr, data_dir: Option<&Path>) -> String {
    let mut text = monitors_text(addr);
    if let Some(dir) = data_dir {
        let dir = toml::Value::String(status_page_dir(dir).display().to_string());
        text.push_str(&format!(
            r#"
# Status updates (`foghorn status post`, or Post update in the window) go to a page in the
# data directory; add [status.statuspage] or [status.webhook] to reach customers.
[status]
product = "Demo"
components = [{{ name = "Demo endpoint", monitors = ["Demo: flaky endpoint"] }}]

[status.page]
dir = {dir}
title = "Demo status"
"#
        ));
    }
    text
}

fn monitors_text(addr: SocketAddr) -> String {
    format!(
        r#"# Foghorn's demo: a flaky endpoint served by Foghorn itself on {addr}.
[[monitors]]
name = "Demo: flaky endpoint"
url = "http://{addr}/health"
interval = "5s"
timeout = "2s"
conditions = ["[STATUS] == 200", "[BODY].status == ok", "[RESPONSE_TIME] < 1000"]
failure_threshold = 2
severity = "major"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flakiness_cycles() {
        let f = Flakiness {
            up: Duration::from_secs(10),
            down: Duration::from_secs(5),
        };
        let at = |s| f.is_up(Duration::from_secs(s));
        assert!(at(0) && at(9) && !at(10) && !at(14) && at(15) && at(24) && !at(25));
    }

    fn config_with_page(addr: SocketAddr, dir: &Path) -> Config {
        config(addr, Some(dir)).expect("valid with a page")
    }

    #[tokio::test]
    async fn the_demo_endpoint_answers_and_the_demo_config_is_valid() {
        let addr = spawn("127.0.0.1:0".parse().expect("addr"), Flakiness::default()).expect("bind");
        let response = reqwest::get(format!("http://{addr}/health"))
            .await
            .expect("get");
        assert_eq!(response.status(), 200);
        let config = config(addr, None).expect("valid");
        assert_eq!(config.monitors.len(), 1);
        assert!(config.status.is_none());
        let data = tempfile::tempdir().expect("dir");
        let with_page = config_with_page(addr, data.path());
        let page = with_page.status.and_then(|s| s.page).expect("a page");
        assert_eq!(page.dir, status_page_dir(data.path()));
    }
}
