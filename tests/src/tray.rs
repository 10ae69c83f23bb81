//! The app's tray icon as a panel sees it: the StatusNotifierItem (icon, label, status) and its
//! `com.canonical.dbusmenu` menu, read and clicked over the desktop's private session bus.
//!
//! Linux specifics (libayatana-appindicator via tauri's tray-icon): the item's `Id` is
//! `"tray-icon tray app <tray id>"`; it has no `Activate` method and no tooltip (tray-icon's
//! `set_tooltip` is a no-op on Linux), so left-click cannot be simulated and the tooltip cannot
//! be read: test "show window" through the menu, and tray state through the icon and the
//! `XAyatanaLabel` (set by `TrayIcon::set_title`). Menu items carry dbusmenu's numeric ids, not
//! Tauri's string ids: find them by label.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use zbus::names::InterfaceName;
use zbus::{OwnedVariant, Variant};

use crate::session::Desktop;
use crate::sni_watcher::SniItem;
use crate::wait::wait_until_async;

const SNI_INTERFACE: &str = "org.kde.StatusNotifierItem";
const MENU_INTERFACE: &str = "com.canonical.dbusmenu";

/// dbusmenu layout node `(ia{sv}av)`: id, properties, children (each a variant of a node).
type LayoutNode = (i32, HashMap<String, OwnedVariant>, Vec<OwnedVariant>);

/// Snapshot of the item's properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrayState {
    /// `Id`: `"tray-icon tray app <tray id>"` for a Tauri tray.
    pub id: String,
    /// `Title`: the application name (Tauri: `productName`), not `set_title`.
    pub title: String,
    /// `Status`: `Active` (shown) or `Passive` (`set_visible(false)`).
    pub status: String,
    pub category: String,
    /// `IconName`: tray-icon writes each icon to `<XDG_RUNTIME_DIR>/tray-icon/tray-icon-<id>-<n>.png`
    /// and puts that absolute path here; `n` grows with every `set_icon`.
    pub icon_name: String,
    pub icon_theme_path: String,
    pub attention_icon_name: String,
    /// `XAyatanaLabel`: the text set by `TrayIcon::set_title` (shown next to the icon).
    pub label: String,
    /// `ToolTip` title, if the item has the property at all (ayatana does not).
    pub tooltip: Option<String>,
    /// `Menu`: object path of the dbusmenu.
    pub menu_path: String,
}

/// One menu entry (dbusmenu layout node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// dbusmenu id, what `Event` wants.
    pub id: i32,
    /// Label without GTK mnemonic underscores (`"_Open"` -> `"Open"`).
    pub label: String,
    /// Label as exported.
    pub raw_label: String,
    pub enabled: bool,
    pub visible: bool,
    /// `"standard"` or `"separator"`.
    pub kind: String,
    /// `""`, `"checkmark"` or `"radio"`.
    pub toggle_type: String,
    /// 1 checked, 0 unchecked, -1 indeterminate/none.
    pub toggle_state: i32,
    pub children: Vec<MenuEntry>,
}

impl MenuEntry {
    /// This entry and all below it, depth first.
    pub fn flatten(&self) -> Vec<&MenuEntry> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.flatten());
        }
        out
    }
}

/// A decoded icon, 8-bit RGBA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IconImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl IconImage {
    /// RGBA of pixel (x, y), if inside.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = ((y * self.width + x) * 4) as usize;
        let p = self.rgba.get(i..i + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// Mean colour of the opaque-ish pixels (alpha >= 128), `None` if there are none.
    pub fn mean_rgb(&self) -> Option<[u8; 3]> {
        let mut sum = [0u64; 3];
        let mut n = 0u64;
        for p in self.rgba.chunks_exact(4) {
            if p[3] >= 128 {
                for c in 0..3 {
                    sum[c] += u64::from(p[c]);
                }
                n += 1;
            }
        }
        (n > 0).then(|| [(sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8])
    }
}

/// The app's tray item on a [`Desktop`]'s bus.
#[derive(Debug, Clone)]
pub struct Tray {
    conn: zbus::Connection,
    item: SniItem,
}

impl Tray {
    /// Waits until an item whose `Id` is `"tray-icon tray app <tray_id>"` (or exactly `tray_id`)
    /// registered with the desktop's watcher and is still on the bus. `tray_id` is the id given
    /// to `TrayIconBuilder::with_id`.
    pub async fn find(desktop: &Desktop, tray_id: &str, timeout: Duration) -> Result<Self> {
        let conn = connect(desktop).await?;
        let wanted = [format!("tray-icon tray app {tray_id}"), tray_id.to_owned()];
        let what = format!("tray item {tray_id:?} on the session bus");
        let item = wait_until_async(timeout, &what, || {
            let conn = conn.clone();
            let items = desktop.sni_items();
            let wanted = wanted.clone();
            async move {
                // Newest first: a restarted app registers again under a new bus name.
                for item in items.into_iter().rev() {
                    if let Ok(id) = get_string(&conn, &item, "Id").await {
                        if wanted.contains(&id) {
                            return Ok(Some(item));
                        }
                    }
                }
                Ok(None)
            }
        })
        .await
        .with_context(|| format!("registered items: {:?}", desktop.sni_items()))?;
        Ok(Self { conn, item })
    }

    /// Unique bus name of the app's connection that owns the item.
    pub fn bus_name(&self) -> &str {
        &self.item.bus_name
    }

    /// Object path of the StatusNotifierItem.
    pub fn path(&self) -> &str {
        &self.item.path
    }

    /// Reads all item properties now (no caching).
    pub async fn state(&self) -> Result<TrayState> {
        let props = self.get_all(&self.item.path, SNI_INTERFACE).await?;
        let s = |k: &str| -> String { props.get(k).and_then(|v| string_of(v)).unwrap_or_default() };
        let tooltip = props.get("ToolTip").and_then(|v| tooltip_title(v));
        Ok(TrayState {
            id: s("Id"),
            title: s("Title"),
            status: s("Status"),
            category: s("Category"),
            icon_name: s("IconName"),
            icon_theme_path: s("IconThemePath"),
            attention_icon_name: s("AttentionIconName"),
            label: s("XAyatanaLabel"),
            tooltip,
            menu_path: s("Menu"),
        })
    }

    /// Polls [`Tray::state`] until `pred` holds.
    pub async fn wait_for_state(
        &self,
        timeout: Duration,
        pred: impl Fn(&TrayState) -> bool,
    ) -> Result<TrayState> {
        let pred = &pred;
        wait_until_async(timeout, "tray state to match", || async move {
            let st = self.state().await?;
            Ok(pred(&st).then_some(st))
        })
        .await
    }

    /// The menu tree below the root (the root's children), freshly fetched.
    pub async fn menu(&self) -> Result<Vec<MenuEntry>> {
        let menu_path = self.menu_path().await?;
        let proxy = self.proxy(&menu_path, MENU_INTERFACE).await?;
        // What a panel does before showing the menu; implementations may populate lazily.
        let _: Result<bool, _> = proxy.call("AboutToShow", &(0i32,)).await;
        let msg = proxy
            .call_method("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .await
            .context("dbusmenu GetLayout")?;
        let (_revision, (_root_id, _root_props, children)): (u32, LayoutNode) = msg
            .body()
            .deserialize()
            .context("decoding the dbusmenu layout")?;
        children.iter().map(|c| parse_node(c)).collect()
    }

    /// Labels of the visible, non-separator top-level entries, in order.
    pub async fn menu_labels(&self) -> Result<Vec<String>> {
        Ok(self
            .menu()
            .await?
            .into_iter()
            .filter(|e| e.visible && e.kind != "separator")
            .map(|e| e.label)
            .collect())
    }

    /// The entry labelled `label` (mnemonics ignored), searched depth first.
    pub async fn menu_entry(&self, label: &str) -> Result<MenuEntry> {
        let menu = self.menu().await?;
        let found = menu
            .iter()
            .flat_map(MenuEntry::flatten)
            .find(|e| e.label == label || e.raw_label == label)
            .cloned();
        found.ok_or_else(|| {
            let labels: Vec<_> = menu
                .iter()
                .flat_map(MenuEntry::flatten)
                .map(|e| e.label.clone())
                .collect();
            anyhow!("no tray menu entry labelled {label:?}; entries: {labels:?}")
        })
    }

    /// Clicks the entry labelled `label`, as a panel does when the user picks it: the app's
    /// Tauri `on_menu_event` handler runs with that item's id. Fails if it is disabled.
    pub async fn click(&self, label: &str) -> Result<()> {
        let entry = self.menu_entry(label).await?;
        if !entry.enabled {
            bail!("tray menu entry {label:?} is disabled");
        }
        self.click_id(entry.id).await
    }

    /// Sends `Event(id, "clicked", <int32 0>, 0)` to the dbusmenu.
    pub async fn click_id(&self, id: i32) -> Result<()> {
        let menu_path = self.menu_path().await?;
        let proxy = self.proxy(&menu_path, MENU_INTERFACE).await?;
        let _: () = proxy
            .call("Event", &(id, "clicked", Variant::from(0i32), 0u32))
            .await
            .with_context(|| format!("dbusmenu Event({id}, clicked)"))?;
        Ok(())
    }

    /// File of the current icon: `IconName` if it is a path, else `<IconThemePath>/<IconName>.png`.
    pub async fn icon_path(&self) -> Result<PathBuf> {
        let st = self.state().await?;
        if st.icon_name.is_empty() {
            bail!("tray item has no IconName");
        }
        let direct = PathBuf::from(&st.icon_name);
        if direct.is_absolute() {
            return Ok(direct);
        }
        Ok(PathBuf::from(&st.icon_theme_path).join(format!("{}.png", st.icon_name)))
    }

    /// The current icon, decoded.
    pub async fn icon_image(&self) -> Result<IconImage> {
        let path = self.icon_path().await?;
        decode_png(&path).with_context(|| format!("decoding tray icon {}", path.display()))
    }

    /// Whether the item's owner is still on the bus and answers.
    pub async fn is_present(&self) -> bool {
        get_string(&self.conn, &self.item, "Id").await.is_ok()
    }

    /// Waits until the item is gone (the app quit or dropped its tray).
    pub async fn wait_until_gone(&self, timeout: Duration) -> Result<()> {
        wait_until_async(timeout, "tray item to disappear", || async {
            Ok((!self.is_present().await).then_some(()))
        })
        .await
    }

    async fn menu_path(&self) -> Result<String> {
        let props = self.get_all(&self.item.path, SNI_INTERFACE).await?;
        props
            .get("Menu")
            .and_then(|v| string_of(v))
            .filter(|p| !p.is_empty() && p != "/")
            .context("tray item has no Menu")
    }

    async fn proxy(&self, path: &str, interface: &str) -> Result<zbus::Proxy<'static>> {
        zbus::proxy::Builder::new(&self.conn)
            .destination(self.item.bus_name.clone())
            .path(path.to_owned())
            .interface(interface.to_owned())
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .with_context(|| format!("proxy for {}{path} {interface}", self.item.bus_name))
    }

    async fn get_all(&self, path: &str, interface: &str) -> Result<HashMap<String, OwnedVariant>> {
        get_all(&self.conn, &self.item.bus_name, path, interface).await
    }
}

/// A connection to the desktop's private bus (on the caller's tokio runtime).
pub async fn connect(desktop: &Desktop) -> Result<zbus::Connection> {
    zbus::connection::Builder::address(desktop.bus_address())
        .build()
        .await
        .context("connecting to the desktop's session bus")
}

async fn get_all(
    conn: &zbus::Connection,
    bus_name: &str,
    path: &str,
    interface: &str,
) -> Result<HashMap<String, OwnedVariant>> {
    let props = zbus::fdo::PropertiesProxy::builder(conn)
        .destination(bus_name.to_owned())
        .path(path.to_owned())
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?;
    let iface = InterfaceName::try_from(interface.to_owned())?;
    props
        .get_all(iface)
        .await
        .with_context(|| format!("GetAll {interface} on {bus_name}{path}"))
}

async fn get_string(conn: &zbus::Connection, item: &SniItem, prop: &str) -> Result<String> {
    let props = get_all(conn, &item.bus_name, &item.path, SNI_INTERFACE).await?;
    props
        .get(prop)
        .and_then(|v| string_of(v))
        .with_context(|| format!("item has no string property {prop}"))
}

/// Strips `Variant::Variant` wrappers.
fn inner<'a, 'b>(v: &'a Variant<'b>) -> &'a Variant<'b> {
    match v {
        Variant::Variant(b) => inner(b),
        other => other,
    }
}

fn string_of(v: &Variant<'_>) -> Option<String> {
    match inner(v) {
        Variant::Str(s) => Some(s.as_str().to_owned()),
        Variant::ObjectPath(p) => Some(p.as_str().to_owned()),
        _ => None,
    }
}

fn int_of(v: &Variant<'_>) -> Option<i64> {
    match inner(v) {
        Variant::I32(i) => Some(i64::from(*i)),
        Variant::U32(i) => Some(i64::from(*i)),
        Variant::I64(i) => Some(*i),
        Variant::U8(i) => Some(i64::from(*i)),
        _ => None,
    }
}

fn bool_of(v: &Variant<'_>) -> Option<bool> {
    match inner(v) {
        Variant::Bool(b) => Some(*b),
        _ => None,
    }
}

/// SNI `ToolTip` is `(sa(iiay)ss)`: icon name, pixmaps, title, description; returns the title.
fn tooltip_title(v: &Variant<'_>) -> Option<String> {
    match inner(v) {
        Variant::Structure(s) => s.fields().get(2).and_then(string_of),
        _ => None,
    }
}

/// Parses one `(ia{sv}av)` layout node.
fn parse_node(v: &Variant<'_>) -> Result<MenuEntry> {
    let Variant::Structure(s) = inner(v) else {
        bail!("menu layout node is not a structure: {v:?}");
    };
    let fields = s.fields();
    let (Some(id), Some(props), Some(children)) = (fields.first(), fields.get(1), fields.get(2))
    else {
        bail!("menu layout node has {} fields, want 3", fields.len());
    };
    let id = int_of(id).context("menu node id is not an integer")? as i32;
    let mut map: HashMap<String, &Variant<'_>> = HashMap::new();
    if let Variant::Dict(d) = inner(props) {
        for (k, val) in d.iter() {
            if let Some(k) = string_of(k) {
                map.insert(k, val);
            }
        }
    }
    let s = |k: &str| map.get(k).and_then(|v| string_of(v));
    let raw_label = s("label").unwrap_or_default();
    let children = match inner(children) {
        Variant::Array(a) => a
            .inner()
            .iter()
            .map(parse_node)
            .collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    Ok(MenuEntry {
        id,
        label: strip_mnemonic(&raw_label),
        raw_label,
        enabled: map.get("enabled").and_then(|v| bool_of(v)).unwrap_or(true),
        visible: map.get("visible").and_then(|v| bool_of(v)).unwrap_or(true),
        kind: s("type").unwrap_or_else(|| "standard".to_owned()),
        toggle_type: s("toggle-type").unwrap_or_default(),
        toggle_state: map
            .get("toggle-state")
            .and_then(|v| int_of(v))
            .unwrap_or(-1) as i32,
        children,
    })
}

/// `"_Open"` -> `"Open"`, `"a__b"` -> `"a_b"`.
fn strip_mnemonic(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            if chars.peek() == Some(&'_') {
                out.push('_');
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn decode_png(path: &std::path::Path) -> Result<IconImage> {
    let file = std::fs::File::open(path)?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let mut reader = decoder.read_info()?;
    let size = reader.output_buffer_size().context("PNG too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf)?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => bail!("unexpected PNG colour type after expansion: {other:?}"),
    };
    Ok(IconImage {
        width: info.width,
        height: info.height,
        rgba,
    })
}

#[cfg(test)]
mod tests {
    use super::strip_mnemonic;

    #[test]
    fn mnemonics_are_stripped() {
        assert_eq!(strip_mnemonic("_Open"), "Open");
        assert_eq!(strip_mnemonic("Mute for 1 hour"), "Mute for 1 hour");
        assert_eq!(strip_mnemonic("a__b"), "a_b");
    }
}
