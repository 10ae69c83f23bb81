//! Each monitor's history in the real window: the row's latency sparkline and 24 h uptime, and
//! the detail with 24 h / 7 d / 30 d / 90 d uptime, checked against the SQLite file itself.

// Each test holds the serial guard for its whole life on its own runtime: the lock is meant
// to span the awaits (it orders whole tests, not data).
#![allow(clippy::await_holding_lock)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use foghorn_core::store::insert_result;
use foghorn_e2e::target::write_config;
use foghorn_e2e::{
    artifacts_dir, foghorn_bin, wait_until_async, AppLaunch, Desktop, Target, WebDriverSession,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde_json::json;

const START: Duration = Duration::from_secs(30);
/// Two failing checks a second apart plus the fast retry, with slack for a loaded machine.
const OUTAGE: Duration = Duration::from_secs(30);
/// The window reads a monitor's history again at most every 5 s after its checks.
const CATCH_UP: Duration = Duration::from_secs(45);

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn now_ms() -> Result<i64> {
    Ok(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis(),
    )?)
}

fn open_db(data: &Path) -> Result<Connection> {
    let path = data.join("foghorn.db");
    Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))
}

/// The share of passing checks of `monitor` since `since_ms`, straight from the tables:
/// hourly roll-ups before the roll-up mark, raw results from it on (each check is in exactly
/// one of the two); `None` without any check.
fn db_uptime(db: &Connection, monitor: &str, since_ms: i64) -> Result<Option<f64>> {
    let mark: i64 = db
        .query_row(
            "SELECT value FROM settings WHERE key = 'history.rolled_up_to_ms'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(0);
    let since_hour = since_ms.div_euclid(HOUR_MS) * 3600;
    let (rolled, rolled_failed): (i64, i64) = db.query_row(
        "SELECT coalesce(sum(checks), 0), coalesce(sum(failures), 0) FROM check_hourly
         WHERE monitor_id = ?1 AND hour >= ?2 AND hour * 1000 < ?3",
        params![monitor, since_hour, mark],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (raw, raw_failed): (i64, i64) = db.query_row(
        "SELECT count(*), coalesce(sum(NOT ok), 0) FROM check_results
         WHERE monitor = (SELECT key FROM monitor_keys WHERE monitor_id = ?1) AND at >= ?2",
        params![monitor, since_ms.max(mark)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let checks = rolled + raw;
    Ok((checks > 0).then(|| 1.0 - (rolled_failed + raw_failed) as f64 / checks as f64))
}

/// An uptime as the window writes it: two decimals, rounded down, "100 %" only when every
/// check passed, "—" without checks.
fn shown(share: Option<f64>) -> String {
    match share {
        None => "—".to_owned(),
        Some(s) if s >= 1.0 => "100 %".to_owned(),
        Some(s) => format!("{:.2} %", (s.max(0.0) * 10_000.0 + 1e-6).floor() / 100.0),
    }
}

/// What the window should show for `monitor` over each window, read from the database now.
fn expected(data: &Path, monitor: &str) -> Result<[String; 4]> {
    let db = open_db(data)?;
    let now = now_ms()?;
    let over = |window: i64| db_uptime(&db, monitor, now - window).map(shown);
    Ok([
        over(DAY_MS)?,
        over(7 * DAY_MS)?,
        over(30 * DAY_MS)?,
        over(90 * DAY_MS)?,
    ])
}

/// Every monitor row's 24 h uptime as shown: (monitor id, figure or None before it loads).
async fn row_uptimes(driver: &WebDriverSession) -> Result<Vec<(String, Option<String>)>> {
    let value = driver
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid=monitor-row]')).map(r => \
             [r.dataset.monitorId, r.querySelector('[data-testid=monitor-uptime]')?.textContent.trim() ?? null]);",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(value)?)
}

/// Waits until the open detail of `monitor` shows the four uptimes the database has.
async fn wait_for_detail_to_match(
    driver: &WebDriverSession,
    data: &Path,
    monitor: &str,
) -> Result<[String; 4]> {
    let detail = format!("[data-monitor-id='{monitor}'] [data-testid=monitor-detail]");
    let last = std::sync::Mutex::new(None);
    let found = wait_until_async(
        CATCH_UP,
        "the detail to show the database's uptimes",
        || {
            let (detail, last) = (&detail, &last);
            async move {
                let mut shown = Vec::new();
                for w in ["24h", "7d", "30d", "90d"] {
                    let texts = driver
                        .text_contents(&format!("{detail} [data-testid=uptime-{w}]"))
                        .await?;
                    shown.push(texts.into_iter().next().unwrap_or_default());
                }
                let want = expected(data, monitor)?;
                let hit = (shown == want).then(|| want.clone());
                *last.lock().unwrap_or_else(|p| p.into_inner()) = Some((shown, want));
                Ok(hit)
            }
        },
    )
    .await;
    found.with_context(|| format!("shown vs database: {:?}", last.lock().ok()))
}

/// Starts counting the window's Content-Security-Policy violations from now on.
async fn count_csp_violations(driver: &WebDriverSession) -> Result<()> {
    driver
        .execute(
            "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', \
             e => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`)); return true;",
            vec![],
        )
        .await?;
    Ok(())
}

async fn csp_violations(driver: &WebDriverSession) -> Result<Vec<String>> {
    let value = driver
        .execute("return window.__cspViolations ?? [];", vec![])
        .await?;
    Ok(serde_json::from_value(value)?)
}

/// How a chart came out: its size, what it drew, and whether the stylesheet reached it (an
/// unstyled SVG path has no stroke and fills black).
#[derive(Debug, serde::Deserialize)]
struct Drawn {
    width: f64,
    line: String,
    failures: usize,
    stroke: String,
    tick_fill: Option<String>,
}

async fn drawn(driver: &WebDriverSession, css: &str) -> Result<Drawn> {
    let value = driver
        .execute(
            "const svg = document.querySelector(arguments[0]); if (!svg) return null; \
             const line = svg.querySelector('path.line'); const tick = svg.querySelector('rect.fail-tick'); \
             return { width: svg.getBoundingClientRect().width, line: line?.getAttribute('d') ?? '', \
                      failures: svg.querySelectorAll('rect.fail-tick').length, \
                      stroke: line ? getComputedStyle(line).stroke : '', \
                      tick_fill: tick ? getComputedStyle(tick).fill : null };",
            vec![json!(css)],
        )
        .await?;
    serde_json::from_value(value).with_context(|| format!("no chart at {css:?}"))
}

fn ensure_styled(chart: &Drawn) -> Result<()> {
    ensure!(
        !chart.stroke.is_empty() && chart.stroke != "none",
        "the line has its stylesheet colour: {chart:?}"
    );
    if let Some(fill) = &chart.tick_fill {
        ensure!(
            fill != "rgb(0, 0, 0)",
            "failure marks are red, not unstyled black: {chart:?}"
        );
    }
    Ok(())
}

fn launch(config: &Path, data: &Path) -> Result<AppLaunch> {
    Ok(AppLaunch::new(foghorn_bin()?)
        .env("FOGHORN_CONFIG", config.display().to_string())
        .env("FOGHORN_DATA_DIR", data.display().to_string())
        .arg("run")
        .arg("--show-window"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_shows_the_latency_and_the_uptime_the_database_has() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let target = Target::start().await?;
    target.set_delay(Duration::from_millis(20));
    let config = write_config(desktop.dir(), "Payments", &target.url())?;
    let data = desktop.dir().join("data");
    let driver = WebDriverSession::start(&desktop, &launch(&config, &data)?).await?;
    let row = "[data-testid=monitor-row][data-monitor-id=payments]";

    driver
        .wait_for_content(&format!("{row}[data-status=up]"), |_| true, START)
        .await?;
    target.answer_more(3, START).await?;
    target.set_healthy(false);
    driver
        .wait_for_content(&format!("{row}[data-status=down]"), |_| true, OUTAGE)
        .await?;
    target.set_healthy(true);
    driver
        .wait_for_content(&format!("{row}[data-status=up]"), |_| true, OUTAGE)
        .await?;

    // Paused, the database stops changing and the window catches up with it.
    driver.click("[data-testid=pause-toggle]").await?;
    driver
        .wait_for_content(&format!("{row}[data-status=paused]"), |_| true, START)
        .await?;
    let uptime = format!("{row} [data-testid=monitor-uptime]");
    let last = std::sync::Mutex::new(None);
    let want = wait_until_async(CATCH_UP, "the row to show the database's uptime", || {
        let (uptime, last, data, driver) = (&uptime, &last, &data, &driver);
        async move {
            let shown = driver.text_contents(uptime).await?;
            let [want, ..] = expected(data, "payments")?;
            let hit = (shown.first() == Some(&want)).then(|| want.clone());
            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some((shown, want));
            Ok(hit)
        }
    })
    .await
    .with_context(|| format!("shown vs database: {:?}", last.lock().ok()))?;
    ensure!(
        want != "100 %" && want != "—",
        "a couple of failed checks: below 100 % ({want})"
    );

    let spark = drawn(&driver, &format!("{row} [data-testid=monitor-sparkline]")).await?;
    ensure!(
        spark.line.starts_with('M') && spark.width > 40.0,
        "the row draws a sparkline: {spark:?}"
    );
    ensure!(spark.failures >= 1, "the outage is marked: {spark:?}");
    ensure_styled(&spark)?;

    count_csp_violations(&driver).await?;
    driver.click(&format!("{row} [role=button]")).await?;
    let four = wait_for_detail_to_match(&driver, &data, "payments").await?;
    ensure!(
        four[0] == want,
        "the detail's 24 h is the row's: {four:?} vs {want}"
    );
    let chart = drawn(&driver, &format!("{row} [data-testid=history-chart]")).await?;
    ensure!(
        chart.width > 300.0 && chart.line.starts_with('M') && chart.failures >= 1,
        "the detail draws a wide chart with the failures marked: {chart:?}"
    );
    ensure_styled(&chart)?;
    let violations = csp_violations(&driver).await?;
    ensure!(
        violations.is_empty(),
        "the charts break no CSP rule: {violations:?}"
    );
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("history-one.png"),
        START,
    )?;
    driver.close().await
}

/// Twenty monitors. By index: 1 had an outage, 2 is down, 4 fails now and then, 7 flaps, 12
/// failed once (see [`seeded_failure`]). The window lists them by id, so the first screen
/// shows a mix.
const NAMES: [&str; 20] = [
    "docs",
    "auth",
    "api",
    "cdn",
    "billing",
    "checkout",
    "images",
    "analytics",
    "status page",
    "reports",
    "inventory",
    "search",
    "admin",
    "queue",
    "ledger",
    "payments",
    "mail",
    "webhooks",
    "uploads",
    "notifications",
];

fn id_of(name: &str) -> String {
    name.replace(' ', "-")
}

/// Whether monitor `k`'s check `minutes_ago` failed, in the seeded day: auth had a 12-minute
/// outage three hours ago, billing fails now and then, analytics flaps every two hours, admin
/// failed once.
fn seeded_failure(k: usize, minutes_ago: i64) -> bool {
    match k {
        1 => (180..192).contains(&minutes_ago),
        4 => minutes_ago % 397 == 0,
        7 => minutes_ago % 120 < 2,
        12 => minutes_ago == 600,
        _ => false,
    }
}

fn seeded_latency(k: usize, at_ms: i64) -> i64 {
    let base = 18 + (k as i64 * 37) % 160;
    let day = (at_ms % DAY_MS) as f64 / DAY_MS as f64;
    let wave = 1.0 + 0.25 * (std::f64::consts::TAU * day + k as f64).sin();
    // Deterministic jitter, and now and then a slow answer.
    let hash = (at_ms / 60_000)
        .wrapping_mul(2_654_435_761)
        .wrapping_add(k as i64 * 40_503);
    let jitter = hash.rem_euclid(1000) as f64 / 1000.0 * 0.35;
    let spike = if hash.rem_euclid(97) == 0 { 2.5 } else { 1.0 };
    (base as f64 * wave * (1.0 + jitter) * spike) as i64
}

/// A database as 20 monitors leave it after a month: raw results every minute for the last
/// day, and hourly roll-ups of every complete hour (of those raw results too, as retention
/// keeps raw results for a while after rolling them up) for the 30 days before.
fn seed(data: &Path) -> Result<()> {
    // The app's own schema, made by the app's own store: every migration applied before a
    // row is written (waiting for two tables to appear raced the later migrations).
    drop(foghorn_core::store::Store::open(data)?);

    let mut db = Connection::open(data.join("foghorn.db"))?;
    let tx = db.transaction()?;
    let now = now_ms()?;
    let mark = now.div_euclid(HOUR_MS) * HOUR_MS;
    // Whole hours of raw results, starting a little inside the day so the oldest does not
    // leave the 24 h window while the test runs.
    let raw_from = (now - DAY_MS + 10 * 60_000).div_euclid(HOUR_MS) * HOUR_MS + HOUR_MS;
    {
        let mut hourly = tx.prepare(
            "INSERT INTO check_hourly(monitor_id, hour, checks, failures, latency_min, latency_avg, latency_p95, latency_max)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (k, name) in NAMES.iter().enumerate() {
            let id = id_of(name);
            let mut hour = mark - 30 * DAY_MS;
            while hour < mark {
                let (checks, failures, latencies) = if hour < raw_from {
                    let failures = match k {
                        7 => 1,
                        1 if (raw_from - hour) / DAY_MS == 10 && hour % DAY_MS == 0 => 20,
                        _ => 0,
                    };
                    (60, failures, vec![seeded_latency(k, hour)])
                } else {
                    let minutes = (0..60).map(|m| hour + m * 60_000);
                    let failed = minutes
                        .clone()
                        .filter(|&at| seeded_failure(k, (now - at) / 60_000))
                        .count() as i64;
                    let mut latencies: Vec<i64> = minutes
                        .filter(|&at| !seeded_failure(k, (now - at) / 60_000))
                        .map(|at| seeded_latency(k, at))
                        .collect();
                    latencies.sort_unstable();
                    (60, failed, latencies)
                };
                let n = latencies.len().max(1);
                let avg = latencies.iter().sum::<i64>() / n as i64;
                hourly.execute(params![
                    id,
                    hour / 1000,
                    checks,
                    failures,
                    latencies.first(),
                    avg,
                    latencies.get((n * 95).div_ceil(100) - 1),
                    latencies.last()
                ])?;
                hour += HOUR_MS;
            }
            let mut at = raw_from;
            while at < now - 60_000 {
                let failed = seeded_failure(k, (now - at) / 60_000);
                let latency = (!failed).then(|| seeded_latency(k, at));
                let error = failed.then_some("HTTP 503");
                insert_result(&tx, &id, at, !failed, latency, error)?;
                at += 60_000;
            }
        }
    }
    // Everything before this hour is rolled up, as the engine would have recorded it.
    tx.execute(
        "INSERT INTO settings(key, value) VALUES ('history.rolled_up_to_ms', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [mark.to_string()],
    )?;
    tx.commit()?;
    Ok(())
}

fn twenty_monitors_config(dir: &Path, healthy: &Target, down: &Target) -> Result<PathBuf> {
    let mut toml = String::new();
    for (k, name) in NAMES.iter().enumerate() {
        let url = if k == 2 { down.url() } else { healthy.url() };
        toml.push_str(&format!(
            "[[monitors]]\nname = \"{name}\"\nurl = \"{url}\"\ninterval = \"30s\"\ntimeout = \"2s\"\n\n"
        ));
    }
    let path = dir.join("foghorn.toml");
    std::fs::write(&path, toml)?;
    Ok(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_monitors_with_a_month_of_history() -> Result<()> {
    let _serial = foghorn_e2e::serial();
    let desktop = Desktop::start()?;
    let healthy = Target::start().await?;
    healthy.set_delay(Duration::from_millis(30));
    let down = Target::start().await?;
    down.set_healthy(false);
    let config = twenty_monitors_config(desktop.dir(), &healthy, &down)?;
    let data = desktop.dir().join("data");
    seed(&data)?;
    let driver = WebDriverSession::start(&desktop, &launch(&config, &data)?).await?;
    driver
        .wait_for_content(
            "[data-testid=monitor-row][data-monitor-id=api][data-status=down]",
            |_| true,
            OUTAGE,
        )
        .await?;

    // Every row shows the day's uptime the database has (checks keep coming, so compare
    // until the window has caught up with them).
    let last = std::sync::Mutex::new(Vec::new());
    let rows = wait_until_async(CATCH_UP, "every row to show its uptime", || {
        let (last, data, driver) = (&last, &data, &driver);
        async move {
            let shown = row_uptimes(driver).await?;
            let db = open_db(data)?;
            let since = now_ms()? - DAY_MS;
            let mut compared = Vec::new();
            for (id, figure) in &shown {
                compared.push((id.clone(), figure.clone(), shown_for(&db, id, since)?));
            }
            let all = compared.len() == NAMES.len()
                && compared
                    .iter()
                    .all(|(_, s, w)| s.as_deref() == Some(w.as_str()));
            *last.lock().unwrap_or_else(|p| p.into_inner()) = compared.clone();
            Ok(all.then_some(compared))
        }
    })
    .await
    .with_context(|| format!("(id, shown, database): {:?}", last.lock().ok()))?;
    let below: Vec<&str> = rows
        .iter()
        .filter(|(_, s, _)| s.as_deref() != Some("100 %"))
        .map(|(id, _, _)| id.as_str())
        .collect();
    for id in ["auth", "api", "billing", "analytics", "admin"] {
        ensure!(
            below.contains(&id),
            "{id} had failures, so is below 100 %: {rows:?}"
        );
    }
    let sparklines = driver
        .text_contents("[data-testid=monitor-row] [data-testid=monitor-sparkline]")
        .await?;
    ensure!(
        sparklines.len() == NAMES.len(),
        "a sparkline on every row: {}",
        sparklines.len()
    );
    ensure_styled(
        &drawn(
            &driver,
            "[data-monitor-id=auth] [data-testid=monitor-sparkline]",
        )
        .await?,
    )?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("history-list.png"),
        START,
    )?;

    count_csp_violations(&driver).await?;
    driver.click("[data-monitor-id=auth] [role=button]").await?;
    let four = wait_for_detail_to_match(&driver, &data, "auth").await?;
    ensure!(
        four.iter().all(|f| f != "100 %" && f != "—"),
        "auth failed in every window: {four:?}"
    );
    let chart = drawn(
        &driver,
        "[data-monitor-id=auth] [data-testid=history-chart]",
    )
    .await?;
    ensure!(
        chart.failures >= 2,
        "the 12-minute outage spans buckets: {chart:?}"
    );
    ensure_styled(&chart)?;
    ensure!(
        csp_violations(&driver).await?.is_empty(),
        "no CSP violation"
    );
    // The opened row at the top of the list, and the pointer off it, for the picture.
    driver
        .execute(
            "document.querySelector('[data-monitor-id=auth]').scrollIntoView({ block: 'start' }); return true;",
            vec![],
        )
        .await?;
    driver
        .click("[data-monitor-id=auth] [data-testid=chart-span-day]")
        .await?;
    desktop.screenshot_window_painted(
        "^Foghorn$",
        artifacts_dir()?.join("history-detail.png"),
        START,
    )?;
    driver.close().await
}

fn shown_for(db: &Connection, id: &str, since: i64) -> Result<String> {
    Ok(shown(db_uptime(db, id, since)?))
}
