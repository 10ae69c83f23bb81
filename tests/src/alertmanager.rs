//! A real Prometheus Alertmanager (Debian `prometheus-alertmanager`) on a free loopback port,
//! with its own storage dir and clustering off; killed on drop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::ports::free_port;
use crate::process::ChildGuard;
use crate::wait::wait_until;

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Every alert goes to a receiver that sends nothing.
const CONFIG: &str = "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n";

/// One running Alertmanager.
#[derive(Debug)]
pub struct Alertmanager {
    // Field order is drop order: the process before its directory.
    process: ChildGuard,
    port: u16,
    url: String,
    client: reqwest::Client,
    dir: TempDir,
}

impl Alertmanager {
    /// Starts `prometheus-alertmanager` on 127.0.0.1:<free port> and waits until `/-/ready`
    /// answers 200. A port taken between choosing and binding is retried with another.
    pub fn start() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("foghorn-alertmanager-")
            .tempdir()
            .context("creating the Alertmanager temp dir")?;
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, CONFIG).context("writing alertmanager.yml")?;
        let mut last_error = None;
        for attempt in 0..3 {
            let port = free_port()?;
            let mut cmd = Command::new("prometheus-alertmanager");
            cmd.arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                // Empty: no cluster listener, no gossip port to collide with.
                .arg("--cluster.listen-address=")
                .arg("--log.level=debug");
            let mut process = ChildGuard::spawn(
                &format!("alertmanager-{attempt}"),
                cmd,
                &dir.path().join("logs"),
            )
            .context("starting prometheus-alertmanager (Debian: apt-get install prometheus-alertmanager)")?;
            let ready = wait_until(START_TIMEOUT, "Alertmanager's /-/ready", || {
                if let Some(status) = process.try_wait()? {
                    bail!("prometheus-alertmanager exited with {status}");
                }
                Ok(http_get_status(port, "/-/ready")
                    .is_ok_and(|s| s == 200)
                    .then_some(()))
            });
            match ready {
                Ok(()) => {
                    return Ok(Self {
                        process,
                        port,
                        url: format!("http://127.0.0.1:{port}"),
                        client: reqwest::Client::new(),
                        dir,
                    })
                }
                Err(e) => {
                    let log = process.stderr();
                    process.terminate();
                    if !log.contains("address already in use") {
                        bail!("{e:#}\nAlertmanager's log:\n{log}");
                    }
                    last_error = Some(e);
                }
            }
        }
        bail!("Alertmanager did not start: {last_error:?}")
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its storage and logs.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        self.process.stderr()
    }

    /// Stops it (TERM, then KILL), as if the machine it runs on went away.
    pub fn kill(&mut self) {
        self.process.terminate();
    }

    /// Posts one alert, as Prometheus would.
    pub async fn post_alert(
        &self,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
    ) -> Result<()> {
        let map = |pairs: &[(&str, &str)]| -> serde_json::Map<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect()
        };
        self.post_alerts(json!([{ "labels": map(labels), "annotations": map(annotations) }]))
            .await
    }

    /// Posts a `postableAlerts` array as is.
    pub async fn post_alerts(&self, alerts: Value) -> Result<()> {
        let response = self
            .client
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&alerts)
            .send()
            .await
            .context("POST /api/v2/alerts")?;
        let status = response.status();
        if !status.is_success() {
            bail!(
                "POST /api/v2/alerts: HTTP {status}: {}",
                response.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// `GET /api/v2/alerts` (active, silenced, inhibited, unprocessed).
    pub async fn alerts(&self) -> Result<Value> {
        self.get("/api/v2/alerts").await
    }

    /// `GET /api/v2/silences`, every state (expired ones too).
    pub async fn silences(&self) -> Result<Value> {
        self.get("/api/v2/silences").await
    }

    /// The first active silence whose matchers mention `matching` (any when empty).
    pub async fn active_silence(&self, matching: &str) -> Result<Option<Value>> {
        let silences = self.silences().await?;
        Ok(silences
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| {
                s["status"]["state"] == "active" && s["matchers"].to_string().contains(matching)
            })
            .cloned())
    }

    /// Creates a silence matching `labels` exactly, as `amtool silence add` would; its id.
    pub async fn create_silence(
        &self,
        labels: &[(&str, &str)],
        created_by: &str,
        comment: &str,
    ) -> Result<String> {
        let now = time::OffsetDateTime::now_utc();
        let fmt = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .context("formatting a time")
        };
        let body = json!({
            "matchers": labels
                .iter()
                .map(|(k, v)| json!({ "name": k, "value": v, "isRegex": false, "isEqual": true }))
                .collect::<Vec<_>>(),
            "startsAt": fmt(now)?,
            "endsAt": fmt(now + Duration::from_secs(3600))?,
            "createdBy": created_by,
            "comment": comment,
        });
        let response = self
            .client
            .post(format!("{}/api/v2/silences", self.url))
            .json(&body)
            .send()
            .await
            .context("POST /api/v2/silences")?;
        let status = response.status();
        let answer: Value = response.json().await.context("reading the silence id")?;
        if !status.is_success() {
            bail!("POST /api/v2/silences: HTTP {status}: {answer}");
        }
        answer["silenceID"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no silenceID in {answer}"))
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("GET {path}: HTTP {status}");
        }
        response
            .json()
            .await
            .with_context(|| format!("GET {path}: reading JSON"))
    }
}

/// The status code of a plain HTTP/1.0 GET (no runtime needed while starting).
fn http_get_status(port: u16, path: &str) -> Result<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut head = [0u8; 32];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP answer: {line:?}"))
}
