//! A minimal `org.kde.StatusNotifierWatcher` on the private session bus, so the app's
//! libayatana-appindicator tray registers as a StatusNotifierItem (as under a real panel) and
//! tests learn the item's bus name without scanning the bus.
//!
//! It runs on its own thread with its own tokio runtime, independent of the test's runtime.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;

/// Well-known name the watcher owns.
pub const WATCHER_NAME: &str = "org.kde.StatusNotifierWatcher";
/// Object path the watcher is served at.
pub const WATCHER_PATH: &str = "/StatusNotifierWatcher";

/// An item that called `RegisterStatusNotifierItem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniItem {
    /// Unique bus name of the registering connection (e.g. `:1.7`).
    pub bus_name: String,
    /// Object path of its `org.kde.StatusNotifierItem` (ayatana: `/org/ayatana/NotificationItem/<id>`).
    pub path: String,
}

type Items = Arc<Mutex<Vec<SniItem>>>;

struct Watcher {
    items: Items,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// `service` is either an object path (ayatana sends its path; the sender is the bus name)
    /// or a bus name (then the item lives at `/StatusNotifierItem`).
    async fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let item = if service.starts_with('/') {
            SniItem {
                bus_name: sender,
                path: service.to_owned(),
            }
        } else {
            SniItem {
                bus_name: service.to_owned(),
                path: "/StatusNotifierItem".to_owned(),
            }
        };
        let full = format!("{}{}", item.bus_name, item.path);
        {
            let mut items = self
                .items
                .lock()
                .map_err(|_| zbus::fdo::Error::Failed("watcher state poisoned".into()))?;
            if !items.contains(&item) {
                items.push(item);
            }
        }
        Self::status_notifier_item_registered(&emitter, &full).await?;
        Ok(())
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .map(|items| {
                items
                    .iter()
                    .map(|i| format!("{}{}", i.bus_name, i.path))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(signal)]
    async fn status_notifier_item_registered(
        emitter: &SignalEmitter<'_>,
        service: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn status_notifier_item_unregistered(
        emitter: &SignalEmitter<'_>,
        service: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn status_notifier_host_registered(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// The running watcher; stops (and releases the name) on drop.
#[derive(Debug)]
pub struct SniWatcher {
    items: Items,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SniWatcher {
    /// Connects to `bus_address`, owns [`WATCHER_NAME`] and serves the watcher; returns once the
    /// name is owned.
    pub fn start(bus_address: &str, timeout: Duration) -> Result<Self> {
        let items: Items = Arc::default();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let address = bus_address.to_owned();
        let thread_items = items.clone();
        let thread = std::thread::Builder::new()
            .name("sni-watcher".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!("watcher runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let conn = serve(&address, thread_items).await;
                    match conn {
                        Ok(conn) => {
                            let _ = ready_tx.send(Ok(()));
                            let _ = stop_rx.await;
                            drop(conn);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .context("spawning the watcher thread")?;
        let mut watcher = Self {
            items,
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.recv_timeout(timeout) {
            Ok(Ok(())) => Ok(watcher),
            Ok(Err(e)) => {
                watcher.stop();
                Err(e)
            }
            Err(_) => {
                watcher.stop();
                Err(anyhow!(
                    "StatusNotifierWatcher did not come up within {timeout:?}"
                ))
            }
        }
    }

    /// Items registered so far, oldest first (including ones whose owner has since exited).
    pub fn items(&self) -> Vec<SniItem> {
        self.items.lock().map(|i| i.clone()).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SniWatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(address: &str, items: Items) -> Result<zbus::Connection> {
    let conn = zbus::connection::Builder::address(address)
        .serve_at(WATCHER_PATH, Watcher { items })
        .name(WATCHER_NAME)
        .build()
        .await
        .context("connecting the StatusNotifierWatcher to the private bus")?;
    Ok(conn)
}
