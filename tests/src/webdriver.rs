//! The app's window over WebDriver: one `tauri-driver` (which runs WebKitWebDriver, which runs
//! the app) per session, on free ports, in the desktop's environment, driven with fantoccini.
//!
//! `tauri:options` carries only `application` and `args`; the app inherits tauri-driver's
//! environment, so per-launch variables (FOGHORN_CONFIG, ...) are set on tauri-driver.
//! A hidden window can be read (find, text, execute) but not clicked ("element not
//! interactable"): show it first (tray "Open", or a start-visible flag).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};

use crate::app::{unique_name, AppLaunch};
use crate::paths::find_program;
use crate::ports::{free_port, is_listening};
use crate::process::ChildGuard;
use crate::session::Desktop;
use crate::wait::{wait_until, wait_until_async};

/// Time for tauri-driver to listen and for the app's webview to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A WebDriver session on the app. Drop kills tauri-driver's process group (WebKitWebDriver,
/// the app and its WebKit helpers included); [`WebDriverSession::close`] ends it gracefully.
#[derive(Debug)]
pub struct WebDriverSession {
    client: Option<Client>,
    driver: ChildGuard,
    port: u16,
}

impl WebDriverSession {
    /// Starts tauri-driver with the desktop's environment plus `launch.env`, then opens a
    /// session that launches `launch.binary` with `launch.args`.
    ///
    /// tauri-driver is `$TAURI_DRIVER`, else `tauri-driver` on `$PATH` or in `~/.cargo/bin`;
    /// the native driver is `$WEBKIT_WEBDRIVER`, else `/usr/bin/WebKitWebDriver`.
    pub async fn start(desktop: &Desktop, launch: &AppLaunch) -> Result<Self> {
        let tauri_driver = std::env::var_os("TAURI_DRIVER")
            .map(PathBuf::from)
            .or_else(|| find_program("tauri-driver"))
            .context(
                "tauri-driver not found: `cargo install tauri-driver --locked` or set TAURI_DRIVER",
            )?;
        let native = std::env::var_os("WEBKIT_WEBDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/WebKitWebDriver"));
        if !native.is_file() {
            bail!(
                "{} not found (Debian: apt-get install webkit2gtk-driver)",
                native.display()
            );
        }
        let port = free_port()?;
        let mut native_port = free_port()?;
        while native_port == port {
            native_port = free_port()?;
        }
        let mut cmd = desktop.command(&tauri_driver);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(&native)
            .envs(launch.env.iter().map(|(k, v)| (k, v)));
        let logs = desktop.logs_dir();
        // The app's stderr ends up here too (WebKitWebDriver passes it through; stdout is lost).
        let name = unique_name(&logs, "tauri-driver");
        let mut driver = ChildGuard::spawn(&name, cmd, &logs)?;

        wait_until(
            START_TIMEOUT,
            "tauri-driver and WebKitWebDriver to listen",
            || {
                if let Some(status) = driver.try_wait()? {
                    bail!("tauri-driver exited with {status}: {}", driver.stderr());
                }
                Ok((is_listening(port) && is_listening(native_port)).then_some(()))
            },
        )?;

        let mut caps = Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": launch.binary, "args": launch.args }),
        );
        caps.insert("browserName".into(), Value::String("wry".into()));
        let url = format!("http://127.0.0.1:{port}");
        let client = wait_until_async(START_TIMEOUT, "a WebDriver session on the app", || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                // Two crypto providers are compiled in (see tests/Cargo.toml): choose one. A
                // second install in the same process fails harmlessly.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = ClientBuilder::rustls().context("rustls client")?;
                builder.capabilities(caps);
                match builder.connect(&url).await {
                    Ok(c) => Ok(Some(c)),
                    Err(e) => Err(anyhow!("new session: {e}")),
                }
            }
        })
        .await
        .map_err(|e| e.context(format!("tauri-driver stderr:\n{}", driver.stderr())))?;
        Ok(Self {
            client: Some(client),
            driver,
            port,
        })
    }

    /// Opens `url` in WebKitGTK's own MiniBrowser (the engine the window runs on) on the
    /// desktop, driven by WebKitWebDriver: for pages that are not the app's, such as the
    /// self-hosted status page, rendered the way the window would render them without
    /// loosening the window's Content-Security-Policy.
    ///
    /// The browser is `$MINIBROWSER`, else Debian's
    /// `/usr/lib/<triplet>/webkit2gtk-4.1/MiniBrowser` (package libwebkit2gtk-4.1-0).
    pub async fn browse(desktop: &Desktop, url: &str) -> Result<Self> {
        let native = std::env::var_os("WEBKIT_WEBDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/WebKitWebDriver"));
        let browser = std::env::var_os("MINIBROWSER")
            .map(PathBuf::from)
            .or_else(|| {
                let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
                Some(PathBuf::from(format!(
                    "/usr/lib/{triplet}/webkit2gtk-4.1/MiniBrowser"
                )))
            })
            .filter(|p| p.is_file())
            .context("MiniBrowser not found (Debian: libwebkit2gtk-4.1-0) or set MINIBROWSER")?;
        let port = free_port()?;
        let mut cmd = desktop.command(&native);
        cmd.arg(format!("--port={port}"));
        let logs = desktop.logs_dir();
        let name = unique_name(&logs, "webkit-webdriver");
        let mut driver = ChildGuard::spawn(&name, cmd, &logs)?;
        wait_until(START_TIMEOUT, "WebKitWebDriver to listen", || {
            if let Some(status) = driver.try_wait()? {
                bail!("WebKitWebDriver exited with {status}: {}", driver.stderr());
            }
            Ok(is_listening(port).then_some(()))
        })?;
        let mut caps = Map::new();
        caps.insert(
            "webkitgtk:browserOptions".into(),
            json!({ "binary": browser, "args": ["--automation"] }),
        );
        let address = format!("http://127.0.0.1:{port}");
        let client = wait_until_async(START_TIMEOUT, "a WebDriver session on MiniBrowser", || {
            let caps = caps.clone();
            let address = address.clone();
            async move {
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = ClientBuilder::rustls().context("rustls client")?;
                builder.capabilities(caps);
                match builder.connect(&address).await {
                    Ok(c) => Ok(Some(c)),
                    Err(e) => Err(anyhow!("new session: {e}")),
                }
            }
        })
        .await
        .map_err(|e| e.context(format!("WebKitWebDriver stderr:\n{}", driver.stderr())))?;
        client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))?;
        Ok(Self {
            client: Some(client),
            driver,
            port,
        })
    }

    /// The fantoccini client, for anything the helpers below don't cover.
    pub fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .context("WebDriver session already closed")
    }

    /// Port tauri-driver listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What tauri-driver, WebKitWebDriver and the app wrote to stderr so far.
    pub fn driver_log(&self) -> String {
        self.driver.stderr()
    }

    /// The first element matching the CSS selector, now.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client()?
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("finding {css:?}"))
    }

    /// Waits until an element matches the CSS selector.
    pub async fn wait_for_element(&self, css: &str, timeout: Duration) -> Result<Element> {
        let what = format!("element {css:?}");
        wait_until_async(timeout, &what, || async { Ok(Some(self.find(css).await?)) }).await
    }

    /// Visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        let el = self.find(css).await?;
        el.text()
            .await
            .with_context(|| format!("reading text of {css:?}"))
    }

    /// Clicks the first element matching `css` (the window must be shown).
    pub async fn click(&self, css: &str) -> Result<()> {
        let el = self.find(css).await?;
        el.click()
            .await
            .with_context(|| format!("clicking {css:?} (is the window shown?)"))
    }

    /// Clicks `css` after scrolling it to the middle of the view: WebKitWebDriver does not
    /// scroll a nested scrolling area (a list, a view) by itself, and the click would miss.
    pub async fn click_in_view(&self, css: &str) -> Result<()> {
        self.execute(
            "document.querySelector(arguments[0])?.scrollIntoView({ block: 'center' }); return true;",
            vec![serde_json::json!(css)],
        )
        .await?;
        self.click(css).await
    }

    /// What a form field matching `css` holds now (its `value`, not its text).
    pub async fn value(&self, css: &str) -> Result<String> {
        let v = self
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
                vec![serde_json::json!(css)],
            )
            .await?;
        v.as_str()
            .map(str::to_owned)
            .with_context(|| format!("no field {css:?}"))
    }

    /// Waits until the text of `css` satisfies `pred`; returns that text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String> {
        let pred = &pred;
        let what = format!("text of {css:?} to match");
        let last = std::sync::Mutex::new(None::<String>);
        let last_ref = &last;
        wait_until_async(timeout, &what, || async move {
            let t = self.text(css).await?;
            let ok = pred(&t);
            if let Ok(mut l) = last_ref.lock() {
                *l = Some(t.clone());
            }
            Ok(ok.then_some(t))
        })
        .await
        .map_err(|e| {
            let seen = last.lock().ok().and_then(|l| l.clone());
            e.context(format!("last text seen: {seen:?}"))
        })
    }

    /// Runs JavaScript in the page (`return ...;` to get a value back).
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client()?
            .execute(script, args)
            .await
            .with_context(|| format!("executing script {script:?}"))
    }

    /// The `textContent` of every element matching `css`, whitespace folded. Unlike WebDriver's
    /// element text it includes what is clipped (ellipsised names) or scrolled out of view.
    pub async fn text_contents(&self, css: &str) -> Result<Vec<String>> {
        let script = "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.replace(/\\s+/g, ' ').trim());";
        let value = self.execute(script, vec![json!(css)]).await?;
        serde_json::from_value(value).with_context(|| format!("text of {css:?}"))
    }

    /// Waits until some element matching `css` has text content (as [`Self::text_contents`]
    /// reads it) satisfying `pred`, and returns that text. On timeout the error lists what
    /// was last seen, which is usually the whole story of why.
    pub async fn wait_for_content(
        &self,
        css: &str,
        pred: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String> {
        let last = std::sync::Mutex::new(Vec::<String>::new());
        let found = crate::wait_until_async(timeout, &format!("content of {css:?}"), || {
            let (last, pred) = (&last, &pred);
            async move {
                let texts = self.text_contents(css).await?;
                let hit = texts.iter().find(|t| pred(t)).cloned();
                *last.lock().unwrap_or_else(|p| p.into_inner()) = texts;
                Ok(hit)
            }
        })
        .await;
        found.with_context(|| {
            format!(
                "last seen: {:?}",
                last.lock().map(|l| l.clone()).unwrap_or_default()
            )
        })
    }

    /// Waits until the window's Incidents tab counts `n` open incidents (`0`: none open,
    /// which the tab says by saying nothing); returns the tab's text.
    pub async fn wait_for_open_incidents(&self, n: usize, timeout: Duration) -> Result<String> {
        let want = format!("{n} open");
        self.wait_for_content(
            "[data-testid=tab-incidents]",
            |t| {
                if n == 0 {
                    !t.contains("open")
                } else {
                    t.contains(&want)
                }
            },
            timeout,
        )
        .await
    }

    /// The document title.
    pub async fn title(&self) -> Result<String> {
        Ok(self.client()?.title().await?)
    }

    /// Ends the session (WebKitWebDriver closes the app) and stops tauri-driver.
    pub async fn close(mut self) -> Result<()> {
        let result = match self.client.take() {
            Some(c) => c.close().await.context("closing the WebDriver session"),
            None => Ok(()),
        };
        self.driver.terminate();
        result
    }
}

impl Drop for WebDriverSession {
    fn drop(&mut self) {
        // No async here: killing tauri-driver's process group takes the app with it.
        // fantoccini's client task ends when its connection breaks.
        self.client.take();
        self.driver.terminate();
    }
}
