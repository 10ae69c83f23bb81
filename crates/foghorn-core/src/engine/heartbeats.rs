//! Heartbeat monitors as the engine runs them: each one's deadline (a ping moves it
//! forward, silence past it is a failure), the pings the listener hands over, and the
//! listener itself, started the first time a heartbeat monitor exists. The HTTP side (the
//! token, the `Host` check, the limits) is [`crate::heartbeat`], which knows nothing of the
//! engine: it is given a [`crate::heartbeat::Ping`] handle.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{lock, Engine, EngineError, Result};
use crate::check::CheckResult;
use crate::config::HeartbeatsConfig;
use crate::event::EngineEvent;
use crate::heartbeat::{Ping, Refused};
use crate::monitor::MonitorId;

/// The listener's settings and, once it is up, its address and token.
#[derive(Debug)]
pub(super) struct Heartbeats {
    config: HeartbeatsConfig,
    limits: crate::heartbeat::Limits,
    /// Leaf lock.
    addr: Mutex<Option<SocketAddr>>,
    /// The token pings must carry, once the listener has it (configured or generated).
    /// Leaf lock.
    token: Mutex<Option<String>>,
}

impl Heartbeats {
    pub(super) fn new(config: HeartbeatsConfig, limits: crate::heartbeat::Limits) -> Self {
        Heartbeats {
            config,
            limits,
            addr: Mutex::new(None),
            token: Mutex::new(None),
        }
    }

    pub(super) fn addr(&self) -> Option<SocketAddr> {
        *lock(&self.addr)
    }

    /// Where heartbeats go and the token they carry, once the listener has both.
    pub(super) fn ping_base(&self) -> Option<(SocketAddr, String)> {
        Some((self.addr()?, lock(&self.token).clone()?))
    }
}

impl Engine {
    /// A push monitor: nothing to poll, only a deadline that each ping moves forward.
    pub(super) async fn run_heartbeat(&self, id: MonitorId, every: Duration) {
        let Some((mut pinged, last)) = self.shared.scheduler.heartbeat_start(&id) else {
            return;
        };
        // After a restart the deadline counts from the last ping, not from now.
        let since_last = last
            .map(|l| self.now() - l)
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or_default();
        let due_in = |wait: Duration| crate::deadline::instant_after(Instant::now(), wait);
        let mut deadline = due_in(every.saturating_sub(since_last));
        let mut paused = self.shared.scheduler.watch_paused();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    if *paused.borrow() || self.shared.scheduler.network().waking() {
                        // Nobody could have pinged a sleeping laptop: give the job time.
                        deadline = due_in(crate::network::WAKE_GRACE);
                        continue;
                    }
                    let missed = CheckResult {
                        at: self.now(),
                        ok: false,
                        latency_ms: None,
                        error: Some(format!(
                            "no heartbeat for {} (expected at least every {})",
                            crate::notify::human_duration(
                                time::Duration::try_from(every.max(since_last))
                                    .unwrap_or(time::Duration::MAX)
                            ),
                            humantime::format_duration(every),
                        )),
                        outcomes: Vec::new(),
                        unreachable: false,
                    };
                    self.record(&id, missed).await;
                    deadline = due_in(every);
                }
                changed = pinged.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    deadline = due_in(every);
                }
                changed = paused.changed() => if changed.is_err() { return },
            }
        }
    }

    /// A ping from a heartbeat monitor's job: `ok = false` when the job reports failure.
    pub async fn heartbeat(&self, id: &str, ok: bool, message: Option<String>) -> Result<()> {
        let id = MonitorId(id.to_owned());
        let pinged = self.shared.scheduler.ping_channel(&id)?;
        if self.paused() {
            return Ok(());
        }
        let result = CheckResult {
            at: self.now(),
            ok,
            latency_ms: None,
            error: (!ok).then(|| message.unwrap_or_else(|| "the job reported a failure".into())),
            outcomes: Vec::new(),
            unreachable: false,
        };
        self.record(&id, result).await;
        pinged.send_replace(());
        Ok(())
    }

    /// Where heartbeat pings are accepted, once the listener is up.
    pub fn heartbeat_addr(&self) -> Option<SocketAddr> {
        self.shared.heartbeats.addr()
    }

    /// Starts the heartbeat listener the first time a heartbeat monitor exists.
    pub(super) fn ensure_heartbeat_listener(&self) {
        let wanted = self.shared.scheduler.has_heartbeats();
        if !wanted || self.heartbeat_addr().is_some() {
            return;
        }
        let listen = self.shared.heartbeats.config.listen;
        let configured = match &self.shared.heartbeats.config.token {
            None => None,
            Some(r) => match crate::secret::SecretSource::resolve(&crate::secret::SystemSecrets, r)
            {
                Ok(t) => Some(t),
                Err(e) => {
                    self.add_notice(format!("Heartbeat pings are refused: {e}"));
                    return;
                }
            },
        };
        let listener = match std::net::TcpListener::bind(listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
        {
            Ok(l) => l,
            Err(e) => {
                self.add_notice(format!(
                    "Heartbeat monitors cannot be pinged: cannot listen on {listen}: {e}"
                ));
                return;
            }
        };
        let addr = listener.local_addr().unwrap_or(listen);
        *lock(&self.shared.heartbeats.addr) = Some(addr);
        if !addr.ip().is_loopback() {
            let token = if configured.is_some() {
                "the token in [heartbeats] token"
            } else {
                "a token generated for this computer"
            };
            tracing::warn!(%addr, "heartbeats are accepted from other computers");
            self.add_notice(format!(
                "Heartbeats are accepted on {addr}, from other computers too, guarded only by \
                 {token} sent over plain HTTP: listen on 127.0.0.1 unless a job elsewhere needs it."
            ));
        }
        tracing::info!(%addr, "accepting heartbeats");
        // A restart after a panic listens again on the same address.
        let first = Mutex::new(Some(listener));
        let limits = self.shared.heartbeats.limits;
        let serve = self.supervised("the heartbeat listener", move |e| {
            let listener = lock(&first).take();
            let configured = configured.clone();
            async move {
                // Without a configured token, one is generated once and kept in the database:
                // a ping must never be accepted on a monitor id alone.
                let token = match configured {
                    Some(token) => token,
                    None => match e.shared.store.heartbeat_token().await {
                        Ok(token) => token,
                        Err(err) => {
                            e.add_notice(format!(
                                "Heartbeat pings are refused: cannot keep a heartbeat token: {err}"
                            ));
                            return;
                        }
                    },
                };
                *lock(&e.shared.heartbeats.token) = Some(token.clone());
                e.publish(EngineEvent::Monitors {
                    monitors: e.views(),
                });
                let listener = match listener {
                    Some(l) => l,
                    None => match tokio::net::TcpListener::bind(addr).await {
                        Ok(l) => l,
                        Err(err) => {
                            e.add_notice(format!(
                                "Heartbeat monitors cannot be pinged: cannot listen on {addr} again: {err}"
                            ));
                            return;
                        }
                    },
                };
                crate::heartbeat::serve(listener, e.pings(), token, limits).await;
            }
        });
        self.shared.scheduler.spawn(serve);
    }

    /// The command a heartbeat monitor's job runs to ping it, token included; `None` for
    /// other monitors and until the listener is up.
    pub fn heartbeat_ping(&self, monitor_id: &str) -> Option<String> {
        self.view(&MonitorId(monitor_id.to_owned())).ping
    }

    /// The listener's handle for the pings it accepts: only [`Engine::heartbeat`], with the
    /// engine's errors turned into what the listener answers.
    fn pings(&self) -> Ping {
        let engine = self.clone();
        Arc::new(move |id: String, ok: bool, message: Option<String>| {
            let engine = engine.clone();
            Box::pin(async move {
                engine
                    .heartbeat(&id, ok, message)
                    .await
                    .map_err(|e| match e {
                        EngineError::UnknownMonitor(id) => Refused::UnknownMonitor(id),
                        EngineError::NotHeartbeat(id) => Refused::NotHeartbeat(id),
                        other => Refused::Failed(other.to_string()),
                    })
            })
        })
    }
}
