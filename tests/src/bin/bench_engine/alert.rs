//! Time to alert with Foghorn's defaults: from the moment a target starts failing to the
//! incident event a subscriber of [`Engine::subscribe`] receives.
//!
//! Where in the check cycle an outage begins decides most of the wait, so each monitor's
//! target starts failing at a different point of its monitor's interval, spread evenly over
//! it; the samples together cover the whole cycle.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use foghorn_core::config::Config;
use foghorn_core::engine::{Engine, EngineOptions};
use foghorn_core::event::EngineEvent;
use foghorn_core::monitor::MonitorStatus;
use foghorn_core::notify::LogNotifier;
use foghorn_core::store::Store;
use foghorn_e2e::Target;

#[derive(Debug)]
pub struct AlertReport {
    pub interval: Duration,
    pub failure_threshold: u32,
    /// Seconds from the target failing to the incident event, one per monitor.
    pub samples: Vec<f64>,
}

pub fn run(rt: &tokio::runtime::Runtime, monitors: usize) -> Result<AlertReport> {
    rt.block_on(async {
        let mut targets = Vec::new();
        let mut text = String::new();
        for i in 0..monitors {
            let target = Target::start().await?;
            // Nothing but the name and the URL: every other setting is the default.
            text.push_str(&format!(
                "[[monitors]]\nname = \"alert {i}\"\nurl = \"{}\"\n\n",
                target.url()
            ));
            targets.push(target);
        }
        let config = Config::parse(&text, Path::new("alert.toml"))?;
        let interval = config.monitors[0].interval;
        let failure_threshold = config.monitors[0].failure_threshold;
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        let engine = Engine::start(
            config,
            store,
            Arc::new(LogNotifier),
            EngineOptions::default(),
        )?;
        let mut events = engine.subscribe();

        // Every monitor up first: an outage is a change from a known good state. First
        // checks are spread over up to an interval.
        let up_by = Instant::now() + 2 * interval;
        let last_checked = loop {
            let snapshot = engine.snapshot()?;
            if snapshot
                .monitors
                .iter()
                .all(|m| m.status == MonitorStatus::Up)
            {
                break snapshot
                    .monitors
                    .iter()
                    .map(|m| (m.name.clone(), m.last_checked_at))
                    .collect::<Vec<_>>();
            }
            if Instant::now() > up_by {
                bail!(
                    "the alert monitors did not all come up within {:?}",
                    2 * interval
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };

        // Monitor i's target fails (i + ½)/n of an interval after one of its checks.
        let mut flips = Vec::new();
        for (i, (name, checked)) in last_checked.into_iter().enumerate() {
            let index: usize = name
                .strip_prefix("alert ")
                .and_then(|n| n.parse().ok())
                .context("monitor name")?;
            let checked = checked.context("an up monitor has been checked")?;
            let phase = interval.mul_f64((i as f64 + 0.5) / monitors as f64);
            let mut at = checked + phase;
            let now = time::OffsetDateTime::now_utc();
            while at <= now + Duration::from_millis(200) {
                at += interval;
            }
            let wait = Duration::try_from(at - now).unwrap_or_default();
            flips.push((
                tokio::time::Instant::now() + wait,
                index,
                format!("{name} is down"),
            ));
        }
        flips.sort_by_key(|f| f.0);

        let mut flipped_at: Vec<Option<Instant>> = vec![None; monitors];
        let mut alerted: Vec<Option<f64>> = vec![None; monitors];
        let deadline = Instant::now() + 3 * interval + Duration::from_secs(30);
        let mut pending = flips.iter().peekable();
        while alerted.iter().any(Option::is_none) {
            if Instant::now() > deadline {
                bail!("not every outage was alerted within {:?}", 3 * interval);
            }
            let next_flip = pending.peek().map(|f| f.0);
            tokio::select! {
                () = sleep_until_opt(next_flip) => {
                    if let Some((_, index, _)) = pending.next() {
                        targets[*index].set_healthy(false);
                        flipped_at[*index] = Some(Instant::now());
                    }
                }
                event = events.recv() => {
                    if let Ok(EngineEvent::Incident { incident }) = event {
                        if let Some((_, index, _)) = flips.iter().find(|f| f.2 == incident.title) {
                            if let (Some(flipped), None) = (flipped_at[*index], alerted[*index]) {
                                alerted[*index] = Some(flipped.elapsed().as_secs_f64());
                            }
                        }
                    }
                }
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        engine.shutdown().await;
        Ok(AlertReport {
            interval,
            failure_threshold,
            samples: alerted.into_iter().flatten().collect(),
        })
    })
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
