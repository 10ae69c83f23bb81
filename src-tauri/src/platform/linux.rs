//! Linux: the tray is the StatusNotifierItem protocol; a host (the panel) runs
//! `org.kde.StatusNotifierWatcher` on the session bus. Without one (GNOME without the
//! AppIndicator extension, a bare window manager) the icon would be invisible.

/// Whether a tray host is on the session bus; `None` when the bus cannot be asked.
pub async fn tray_host_available() -> Option<bool> {
    let connection = zbus::Connection::session().await.ok()?;
    let proxy = zbus::fdo::DBusProxy::new(&connection).await.ok()?;
    let name = zbus::names::BusName::try_from("org.kde.StatusNotifierWatcher").ok()?;
    proxy.name_has_owner(name).await.ok()
}
