//! What differs between desktops, behind one small interface: whether there is a tray to put
//! the icon in.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::tray_host_available;

/// macOS and Windows always have a menu bar / notification area.
#[cfg(not(target_os = "linux"))]
pub async fn tray_host_available() -> Option<bool> {
    Some(true)
}
