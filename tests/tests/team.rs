//! A team sharing one Alertmanager: headless Foghorns (one per laptop) read its alerts as
//! incidents, write acknowledgements back as silences, take a silence made elsewhere as an
//! acknowledgement, and push their own monitors' outages so ten laptops make one alert.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use foghorn_e2e::alertmanager::Alertmanager;
use foghorn_e2e::paths::foghorn_command;
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{answer, Receiver};
use foghorn_e2e::{wait_until_async, Target};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// The secret every laptop of the team shares (`[team] secret`).
const TEAM_SECRET: &str = "the team's own secret";
const SIGNED: &str = "[team]\nsecret = \"env:FOGHORN_TEAM_SECRET\"\n\n";

/// One laptop: a home, a data dir and a config with the shared Alertmanager as a feed.
struct Laptop {
    home: tempfile::TempDir,
    engine: ChildGuard,
}

impl Laptop {
    fn start(name: &str, am: &Alertmanager, monitor_url: Option<&str>) -> Result<Self> {
        Self::start_with(name, am, monitor_url, "")
    }

    fn start_with(
        name: &str,
        am: &Alertmanager,
        monitor_url: Option<&str>,
        extra: &str,
    ) -> Result<Self> {
        Self::start_polling(name, am, monitor_url, extra, "1s")
    }

    fn start_polling(
        name: &str,
        am: &Alertmanager,
        monitor_url: Option<&str>,
        extra: &str,
        poll_every: &str,
    ) -> Result<Self> {
        let home = tempfile::tempdir()?;
        let mut config = format!(
            "[me]\nnames = [\"{name}\"]\n\n[[feeds]]\nkind = \"alertmanager\"\nurl = \"{}\"\npoll_every = \"{poll_every}\"\n\n{extra}",
            am.url()
        );
        if let Some(url) = monitor_url {
            config.push_str(&format!(
                "\n[[monitors]]\nname = \"Checkout\"\nurl = \"{url}\"\ninterval = \"1s\"\ntimeout = \"2s\"\n\
                 failure_threshold = 1\nseverity = \"critical\"\n"
            ));
        }
        let path = home.path().join("foghorn.toml");
        std::fs::write(&path, config)?;
        let mut cmd = Self::command(home.path())?;
        cmd.args(["run", "--headless", "--config"]).arg(&path);
        let engine = ChildGuard::spawn(name, cmd, home.path())?;
        Ok(Self { home, engine })
    }

    fn command(home: &Path) -> Result<Command> {
        let mut cmd = foghorn_command(home)?;
        cmd.env("FOGHORN_DATA_DIR", Self::data(home))
            .env("HOOK_SECRET", "s3cret")
            .env("FOGHORN_TEAM_SECRET", TEAM_SECRET);
        Ok(cmd)
    }

    fn data(home: &Path) -> PathBuf {
        home.join("data")
    }

    /// `foghorn incidents --json` on this laptop's database.
    fn incidents(&self) -> Result<Vec<Value>> {
        let out = Self::command(self.home.path())?
            .args(["incidents", "--json"])
            .output()?;
        ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list: Value = serde_json::from_slice(&out.stdout)?;
        Ok(list.as_array().cloned().unwrap_or_default())
    }

    fn open(&self) -> Result<Vec<Value>> {
        Ok(self
            .incidents()?
            .into_iter()
            .filter(|i| i["state"] != "resolved")
            .collect())
    }

    /// Waits for an open incident titled `title`; the engine's log when none comes.
    async fn wait_open(&self, title: &str) -> Result<Value> {
        wait_until_async(WAIT, &format!("an open incident {title:?}"), || async {
            Ok(self.open()?.into_iter().find(|i| i["title"] == title))
        })
        .await
        .with_context(|| self.engine.stderr())
    }

    /// The decided escalation steps (`state: note`), from the database.
    fn decided(&self) -> Result<Vec<String>> {
        self.query(
            "SELECT state || ': ' || coalesce(note, '') FROM escalation_steps \
             WHERE state != 'pending' ORDER BY step",
        )
    }

    /// Every timeline entry's detail, oldest first.
    fn timeline(&self) -> Result<Vec<String>> {
        self.query("SELECT kind || ': ' || detail FROM timeline ORDER BY id")
    }

    fn query(&self, sql: &str) -> Result<Vec<String>> {
        let db = rusqlite::Connection::open_with_flags(
            Self::data(self.home.path()).join("foghorn.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut stmt = db.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn ack(&self, id: i64) -> Result<()> {
        let out = Self::command(self.home.path())?
            .args(["ack", &id.to_string(), "--config"])
            .arg(self.home.path().join("foghorn.toml"))
            .output()?;
        ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_become_incidents_and_acknowledgements_become_silences() -> Result<()> {
    let am = Alertmanager::start()?;
    let laptop = Laptop::start("Alice Smith", &am, None)?;
    am.post_alert(
        &[
            ("alertname", "DiskFull"),
            ("instance", "db1"),
            ("severity", "critical"),
        ],
        &[("summary", "Disk full on db1")],
    )
    .await?;
    let incident = laptop.wait_open("Disk full on db1").await?;
    ensure!(incident["severity"] == "critical", "{incident}");

    // Acknowledged here: a silence there, matching the alert, saying who.
    laptop.ack(incident["id"].as_i64().unwrap_or_default())?;
    let silence = wait_until_async(WAIT, "the silence", || async {
        am.active_silence("").await
    })
    .await
    .with_context(|| laptop.engine.stderr())?;
    ensure!(
        silence["comment"]
            .as_str()
            .is_some_and(|c| c.starts_with("Acknowledged in Foghorn by Alice Smith")),
        "{silence}"
    );
    let matchers = silence["matchers"].to_string();
    ensure!(
        matchers.contains("DiskFull") && matchers.contains("db1"),
        "{matchers}"
    );

    // A silence made elsewhere is an acknowledgement here, by whoever made it.
    am.post_alert(
        &[("alertname", "CertExpiring"), ("severity", "major")],
        &[("summary", "Certificate expires in 3 days")],
    )
    .await?;
    laptop.wait_open("Certificate expires in 3 days").await?;
    am.create_silence(
        &[("alertname", "CertExpiring"), ("severity", "major")],
        "bob",
        "renewing it",
    )
    .await?;
    let acked = wait_until_async(WAIT, "bob's silence as an acknowledgement", || async {
        Ok(laptop.open()?.into_iter().find(|i| {
            i["title"] == "Certificate expires in 3 days" && i["state"] == "acknowledged"
        }))
    })
    .await
    .with_context(|| laptop.engine.stderr())?;
    ensure!(acked["ackedBy"] == "bob in alertmanager", "{acked}");
    Ok(())
}

/// The feed is polled once an hour here, so only an acknowledgement written back at once (not
/// at the next poll) makes the silence in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_is_written_back_at_once_not_at_the_next_poll() -> Result<()> {
    let am = Alertmanager::start()?;
    am.post_alert(
        &[("alertname", "QueueStuck"), ("severity", "critical")],
        &[("summary", "Queue stuck")],
    )
    .await?;
    // The first poll is at start, so the alert is an incident before the hour-long wait.
    let laptop = Laptop::start_polling("Alice Smith", &am, None, "", "1h")?;
    let incident = laptop.wait_open("Queue stuck").await?;
    laptop.ack(incident["id"].as_i64().unwrap_or_default())?;
    let silence = wait_until_async(WAIT, "the silence", || async {
        am.active_silence("").await
    })
    .await
    .with_context(|| laptop.engine.stderr())?;
    ensure!(
        silence["matchers"].to_string().contains("QueueStuck"),
        "{silence}"
    );
    // The note follows Alertmanager's answer, so it may land just after the silence shows.
    wait_until_async(WAIT, "the write-back on the timeline", || async {
        Ok(laptop
            .timeline()?
            .into_iter()
            .find(|t| t == "feed-ack: acknowledged in alertmanager"))
    })
    .await
    .with_context(|| format!("{:?}", laptop.timeline()))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_laptops_seeing_one_outage_make_one_alert() -> Result<()> {
    let am = Alertmanager::start()?;
    let target = Target::start().await?;
    let alice = Laptop::start("Alice Smith", &am, Some(&target.url()))?;
    let bob = Laptop::start("Bob Jones", &am, Some(&target.url()))?;
    let pushed = |alerts: &Value| -> usize {
        alerts
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|x| x["labels"]["source"] == "foghorn")
                    .count()
            })
            .unwrap_or(0)
    };
    wait_until_async(WAIT, "both laptops checking", || async {
        Ok((target.requests() >= 4).then_some(()))
    })
    .await?;
    target.set_healthy(false);
    let alerts = wait_until_async(WAIT, "the pushed alert", || async {
        let alerts = am.alerts().await?;
        Ok((pushed(&alerts) > 0).then_some(alerts))
    })
    .await
    .with_context(|| alice.engine.stderr())?;
    // Several polls later: both laptops have pushed many times, still one alert.
    target.answer_more(6, WAIT).await?;
    let alerts_later = am.alerts().await?;
    ensure!(pushed(&alerts_later) == 1, "one alert: {alerts_later}");
    let alert = &alerts.as_array().context("alerts")?[0];
    ensure!(
        alert["labels"]["monitor"] == "Checkout"
            && alert["labels"]["dedup_key"] == "monitor:checkout",
        "{alert}"
    );
    // Each laptop has one incident: its own monitor's, which the pushed alert joined.
    for laptop in [&alice, &bob] {
        let open = laptop.open()?;
        ensure!(open.len() == 1, "one incident per laptop: {open:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_laptop_that_saw_the_outage_first_climbs_the_ladder() -> Result<()> {
    let am = Alertmanager::start()?;
    let target = Target::start().await?;
    let hook = Receiver::start(|_| answer(200, "ok")).await?;
    let ladder = format!(
        "[escalation]\n[[escalation.steps]]\nafter = \"0s\"\naction = \"webhook\"\nurl = \"{}/ladder\"\nsecret = \"env:HOOK_SECRET\"\n\n",
        hook.url()
    );
    let start = |name: &str| -> Result<Laptop> {
        let laptop = Laptop::start_with(name, &am, Some(&target.url()), &ladder)?;
        Ok(laptop)
    };
    let alice = start("Alice Smith")?;
    let bob = start("Bob Jones")?;
    wait_until_async(WAIT, "both laptops checking", || async {
        Ok((target.requests() >= 4).then_some(()))
    })
    .await?;
    target.set_healthy(false);
    let posts = wait_until_async(WAIT, "the ladder's post", || async {
        Ok((!hook.requests().is_empty()).then_some(hook.requests().len()))
    })
    .await
    .with_context(|| format!("{}\n{}", alice.engine.stderr(), bob.engine.stderr()))?;
    // Both laptops have decided: one fired the step, the other skipped it.
    let decided = |laptop: &Laptop| -> Result<Option<String>> {
        let db = rusqlite::Connection::open_with_flags(
            Laptop::data(laptop.home.path()).join("foghorn.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        Ok(db
            .query_row(
                "SELECT state || ': ' || coalesce(note, '') FROM escalation_steps WHERE state != 'pending'",
                [],
                |r| r.get::<_, String>(0),
            )
            .ok())
    };
    let (a, b) = wait_until_async(WAIT, "both laptops to decide", || async {
        Ok(match (decided(&alice)?, decided(&bob)?) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        })
    })
    .await?;
    let fired = [&a, &b].iter().filter(|s| s.starts_with("fired")).count();
    ensure!(
        fired == 1,
        "exactly one laptop climbs the ladder: {a} / {b}"
    );
    ensure!(
        [&a, &b]
            .iter()
            .any(|s| s.contains("another laptop saw the outage first")),
        "{a} / {b}"
    );
    ensure!(
        posts == 1 && hook.requests().len() == 1,
        "one post: {}",
        hook.requests().len()
    );
    Ok(())
}

/// An alert as anyone who can post to the shared Alertmanager can make it: no signature.
fn forged(labels: &[(&str, &str)], starts_ago: Duration) -> Value {
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    serde_json::json!([{
        "labels": labels,
        "annotations": { "summary": "forged" },
        "startsAt": fmt(now - starts_ago),
        "endsAt": fmt(now + Duration::from_secs(600)),
    }])
}

/// Posts `alert` again and again until dropped, so it is often the last push Alertmanager saw.
fn keep_posting(am: &Alertmanager, alert: Value) -> tokio::task::JoinHandle<()> {
    let url = format!("{}/api/v2/alerts", am.url());
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut every = tokio::time::interval(Duration::from_millis(100));
        loop {
            every.tick().await;
            let _ = client.post(&url).json(&alert).send().await;
        }
    })
}

/// An escalation step that posts to `hook`, with `more` keys.
fn webhook_step(hook: &Receiver, more: &str) -> String {
    format!(
        "[escalation]\n[[escalation.steps]]\nafter = \"0s\"\naction = \"webhook\"\nurl = \"{}/ladder\"\n\
         secret = \"env:HOOK_SECRET\"\n{more}\n",
        hook.url()
    )
}

const PUSHED_LABELS: [(&str, &str); 5] = [
    ("alertname", "FoghornMonitorDown"),
    ("monitor", "Checkout"),
    ("severity", "critical"),
    ("source", "foghorn"),
    ("dedup_key", "monitor:checkout"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_earlier_alert_does_not_take_ladder_ownership() -> Result<()> {
    let (am, _target, hook, alice, _opened) = alice_down().await?;
    // Someone who can post to Alertmanager says the outage began an hour ago elsewhere.
    let forger = keep_posting(&am, forged(&PUSHED_LABELS, Duration::from_secs(3600)));
    let decided = wait_until_async(WAIT, "the step decided", || async {
        Ok(alice.decided()?.into_iter().next())
    })
    .await
    .with_context(|| alice.engine.stderr())?;
    forger.abort();
    ensure!(
        decided.starts_with("fired"),
        "the laptop escalates: {decided}\n{}",
        alice.engine.stderr()
    );
    wait_until_async(WAIT, "the ladder's post", || async {
        Ok((!hook.requests().is_empty()).then_some(()))
    })
    .await?;
    let timeline = alice.timeline()?;
    ensure!(
        timeline
            .iter()
            .any(|t| t.contains("ignored an alert in alertmanager saying the outage started at")),
        "the forged start is shown as ignored: {timeline:#?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_presence_alert_does_not_count_as_someone_online() -> Result<()> {
    let am = Alertmanager::start()?;
    let target = Target::start().await?;
    let hook = Receiver::start(|_| answer(200, "ok")).await?;
    let forger = keep_posting(
        &am,
        forged(
            &[
                ("alertname", "FoghornOnline"),
                ("person", "Mallory"),
                ("source", "foghorn"),
                ("severity", "info"),
            ],
            Duration::ZERO,
        ),
    );
    let config = format!("{SIGNED}{}", webhook_step(&hook, "nobody_online = true"));
    let alice = Laptop::start_with("Alice Smith", &am, Some(&target.url()), &config)?;
    wait_until_async(WAIT, "the forged presence read", || async {
        Ok(alice
            .engine
            .stderr()
            .contains("ignored a presence alert")
            .then_some(()))
    })
    .await
    .with_context(|| alice.engine.stderr())?;
    target.set_healthy(false);
    let decided = wait_until_async(WAIT, "the step decided", || async {
        Ok(alice.decided()?.into_iter().next())
    })
    .await
    .with_context(|| alice.engine.stderr())?;
    forger.abort();
    ensure!(
        decided.starts_with("fired"),
        "nobody is online but Mallory's forgery: {decided}\n{}",
        alice.engine.stderr()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn laptops_sharing_the_team_secret_agree_on_one_owner_and_see_each_other_online() -> Result<()>
{
    let am = Alertmanager::start()?;
    let target = Target::start().await?;
    let hook = Receiver::start(|_| answer(200, "ok")).await?;
    // Step 1 climbs for the outage; step 2 only when no other engineer is online.
    let config = format!(
        "{SIGNED}{}[[escalation.steps]]\nafter = \"0s\"\naction = \"webhook\"\n\
         url = \"{}/nobody\"\nsecret = \"env:HOOK_SECRET\"\nnobody_online = true\n",
        webhook_step(&hook, ""),
        hook.url()
    );
    let alice = Laptop::start_with("Alice Smith", &am, Some(&target.url()), &config)?;
    let bob = Laptop::start_with("Bob Jones", &am, Some(&target.url()), &config)?;
    // Each has read the other's signed presence before the outage.
    wait_until_async(WAIT, "both laptops checking and announcing", || async {
        let online = presence_alerts_with(&am, "foghorn_signature").await?;
        Ok((online == 2 && target.requests() >= 6).then_some(()))
    })
    .await?;
    target.set_healthy(false);
    let both = wait_until_async(WAIT, "both laptops to decide both steps", || async {
        let (a, b) = (alice.decided()?, bob.decided()?);
        Ok((a.len() == 2 && b.len() == 2).then_some((a, b)))
    })
    .await
    .with_context(|| format!("{}\n{}", alice.engine.stderr(), bob.engine.stderr()))?;
    let (a, b) = &both;
    let firsts = [&a[0], &b[0]];
    ensure!(
        firsts.iter().filter(|s| s.starts_with("fired")).count() == 1,
        "exactly one laptop climbs the ladder: {both:?}\n{}\n{}",
        alice.engine.stderr(),
        bob.engine.stderr()
    );
    ensure!(
        firsts
            .iter()
            .any(|s| s.contains("another laptop saw the outage first")),
        "{both:?}"
    );
    let owner = if a[0].starts_with("fired") { a } else { b };
    ensure!(
        owner[1].contains("an engineer is online"),
        "the other laptop's signed presence counts: {both:?}"
    );
    wait_until_async(WAIT, "the ladder's post", || async {
        Ok((!hook.requests().is_empty()).then_some(()))
    })
    .await?;
    let posts: Vec<String> = hook.requests().iter().map(|r| r.path.clone()).collect();
    ensure!(
        posts == ["/ladder"],
        "one post, no \"nobody online\" one: {posts:?}"
    );
    Ok(())
}

/// Posts what `make` returns (signed anew each time) again and again until dropped, so it is
/// often the last push Alertmanager saw.
fn keep_signing(
    am: &Alertmanager,
    make: impl Fn() -> Value + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let url = format!("{}/api/v2/alerts", am.url());
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut every = tokio::time::interval(Duration::from_millis(100));
        loop {
            every.tick().await;
            let _ = client.post(&url).json(&make()).send().await;
        }
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The outage Alice's laptop opened, and when.
async fn alice_s_outage(alice: &Laptop) -> Result<time::OffsetDateTime> {
    let opened = wait_until_async(WAIT, "the outage as an incident", || async {
        Ok(alice
            .open()?
            .first()
            .and_then(|i| i["openedAt"].as_str().map(str::to_owned)))
    })
    .await
    .with_context(|| alice.engine.stderr())?;
    Ok(time::OffsetDateTime::parse(
        &opened,
        &time::format_description::well_known::Rfc3339,
    )?)
}

/// Alice's laptop, alone on a signed team with a one-step ladder, once its monitor's outage
/// opened an incident: the Alertmanager, the target, the ladder's receiver, the laptop, and
/// when the incident opened.
async fn alice_down() -> Result<(Alertmanager, Target, Receiver, Laptop, time::OffsetDateTime)> {
    let am = Alertmanager::start()?;
    let target = Target::start().await?;
    let hook = Receiver::start(|_| answer(200, "ok")).await?;
    let config = format!("{SIGNED}{}", webhook_step(&hook, ""));
    let alice = Laptop::start_with("Alice Smith", &am, Some(&target.url()), &config)?;
    wait_until_async(WAIT, "the laptop checking", || async {
        Ok((target.requests() >= 2).then_some(()))
    })
    .await?;
    target.set_healthy(false);
    let opened = alice_s_outage(&alice).await?;
    Ok((am, target, hook, alice, opened))
}

/// A teammate's laptop as Alertmanager sees it: the shared alert with its own signed start
/// (`shared`), and its presence alert with that start among its `foghorn_starts`.
fn teammate(
    person: &'static str,
    start: time::OffsetDateTime,
    shared: bool,
) -> impl Fn() -> Value + Send + 'static {
    move || {
        let key = foghorn_core::team::TeamKey::new(TEAM_SECRET);
        let now = time::OffsetDateTime::now_utc();
        let until = now + Duration::from_secs(60);
        let claim = key.sign_start("monitor:checkout", start, now);
        let presence = serde_json::json!({
            "labels": {"alertname": "FoghornOnline", "person": person, "source": "foghorn", "severity": "info"},
            "annotations": {
                "summary": format!("{person}'s Foghorn is running"),
                "foghorn_signature": key.sign_presence(person, until),
                "foghorn_starts": serde_json::json!({"monitor:checkout": claim}).to_string(),
            },
            "startsAt": rfc3339(now),
            "endsAt": rfc3339(until),
        });
        let labels: serde_json::Map<String, Value> = PUSHED_LABELS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        let pushed = serde_json::json!({
            "labels": labels,
            "annotations": {"summary": "Checkout is down", "foghorn_signature": claim},
            "startsAt": rfc3339(start),
            "endsAt": rfc3339(until),
        });
        if shared {
            serde_json::json!([presence, pushed])
        } else {
            serde_json::json!([presence])
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_laptop_that_saw_it_first_climbs_even_when_a_later_start_is_always_pushed_last(
) -> Result<()> {
    let (am, _target, _hook, alice, opened) = alice_down().await?;
    // Bob saw it a second later, and his push is nearly always the last Alertmanager got, so
    // the shared alert shows his start and signature.
    let bob = keep_signing(
        &am,
        teammate("Bob Jones", opened + Duration::from_secs(1), true),
    );
    let decided = wait_until_async(WAIT, "the step decided", || async {
        Ok(alice.decided()?.into_iter().next())
    })
    .await
    .with_context(|| alice.engine.stderr())?;
    bob.abort();
    ensure!(
        decided.starts_with("fired"),
        "Alice saw it first and climbs: {decided}\n{}",
        alice.engine.stderr()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_start_told_in_a_teammate_s_presence_counts_when_the_shared_alert_hides_it(
) -> Result<()> {
    let (am, _target, hook, alice, opened) = alice_down().await?;
    // Carol saw it half a second earlier, but Alice's pushes always come after hers: the
    // shared alert shows Alice's start; Carol's own presence alert tells hers.
    let carol = keep_signing(
        &am,
        teammate("Carol White", opened - Duration::from_millis(500), false),
    );
    let decided = wait_until_async(WAIT, "the step decided", || async {
        Ok(alice.decided()?.into_iter().next())
    })
    .await
    .with_context(|| alice.engine.stderr())?;
    carol.abort();
    ensure!(
        decided.contains("another laptop saw the outage first"),
        "Carol's laptop climbs, not Alice's: {decided}\n{}",
        alice.engine.stderr()
    );
    ensure!(hook.requests().is_empty(), "no post from Alice's laptop");
    Ok(())
}

/// A ladder of three webhook steps (`/step1` at once, `/step2` and `/step3` later) handed over
/// after `handover_after`, on a signed team.
fn three_steps(hook: &Receiver, handover_after: &str) -> String {
    let step = |n: u32, after: &str| {
        format!(
            "[[escalation.steps]]\nafter = \"{after}\"\naction = \"webhook\"\nurl = \"{}/step{n}\"\n\
             secret = \"env:HOOK_SECRET\"\n\n",
            hook.url()
        )
    };
    format!(
        "{SIGNED}[escalation]\nhandover_after = \"{handover_after}\"\n\n{}{}{}",
        step(1, "0s"),
        step(2, "20s"),
        step(3, "21s")
    )
}

/// The steps `person`'s laptop says it settled for the outage, from its presence alert's
/// ladder report in Alertmanager.
async fn reported_done(am: &Alertmanager, person: &str) -> Result<Option<Vec<u64>>> {
    let alerts = am.alerts().await?;
    let report = alerts.as_array().and_then(|a| {
        a.iter().find_map(|x| {
            (x["labels"]["alertname"] == "FoghornOnline" && x["labels"]["person"] == person)
                .then(|| x["annotations"]["foghorn_ladders"].as_str())
                .flatten()
                .and_then(foghorn_core::team::read_unsigned_ladders)
        })
    });
    Ok(report
        .and_then(|r| r.incidents.get("monitor:checkout").cloned())
        .filter(|claim| claim.climbs)
        .map(|claim| claim.done.into_iter().map(u64::from).collect()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_still_online_takes_over_the_ladder_of_one_killed_mid_climb_sending_each_remaining_step_once(
) -> Result<()> {
    let am = Alertmanager::start()?;
    let target = Target::start().await?;
    let hook = Receiver::start(|_| answer(200, "ok")).await?;
    let config = three_steps(&hook, "3s");
    let alice = Laptop::start_with("Alice Smith", &am, Some(&target.url()), &config)?;
    let bob = Laptop::start_with("Bob Jones", &am, Some(&target.url()), &config)?;
    wait_until_async(WAIT, "both laptops checking and announcing", || async {
        let online = presence_alerts_with(&am, "foghorn_ladders").await?;
        Ok((online == 2 && target.requests() >= 6).then_some(()))
    })
    .await?;
    target.set_healthy(false);
    let logs = || format!("{}\n{}", alice.engine.stderr(), bob.engine.stderr());

    // One laptop climbs step 1; the other skips it.
    let (a, b) = wait_until_async(WAIT, "both laptops to decide step 1", || async {
        let (a, b) = (alice.decided()?, bob.decided()?);
        Ok((!a.is_empty() && !b.is_empty()).then_some((a, b)))
    })
    .await
    .with_context(logs)?;
    ensure!(
        [&a[0], &b[0]]
            .iter()
            .filter(|s| s.starts_with("fired"))
            .count()
            == 1,
        "exactly one laptop climbs: {a:?} / {b:?}\n{}",
        logs()
    );
    let (owner, other, owner_name) = if a[0].starts_with("fired") {
        (alice, bob, "Alice Smith")
    } else {
        (bob, alice, "Bob Jones")
    };
    // The owner told the team it settled step 1 (before sending it), and sent it.
    wait_until_async(WAIT, "the owner's report of step 1", || async {
        Ok(reported_done(&am, owner_name)
            .await?
            .filter(|done| *done == [0])
            .map(|_| ()))
    })
    .await
    .with_context(|| owner.engine.stderr())?;
    wait_until_async(WAIT, "step 1's post", || async {
        Ok((!hook.requests().is_empty()).then_some(()))
    })
    .await?;
    ensure!(
        owner.decided()?.len() == 1,
        "the owner has not reached step 2 yet: {:?}",
        owner.decided()?
    );

    // The owner's laptop dies mid-climb.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(owner.engine.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )?;

    // The other laptop takes over, says so, and climbs steps 2 and 3.
    let timeline = wait_until_async(
        Duration::from_secs(60),
        "the hand-over on the timeline",
        || async {
            Ok(other
                .timeline()?
                .into_iter()
                .find(|t| t.starts_with("handover:")))
        },
    )
    .await
    .with_context(|| other.engine.stderr())?;
    ensure!(
        timeline.contains(&format!("{owner_name}'s Foghorn went away"))
            && timeline.contains("this laptop takes over the ladder from step 2"),
        "{timeline}"
    );
    let decided = wait_until_async(
        Duration::from_secs(60),
        "the remaining steps fired and sent",
        || async {
            let decided = other.decided()?;
            let unsent = other.query(
                "SELECT idempotency_key FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
            )?;
            Ok((decided.len() == 3 && unsent.is_empty()).then_some(decided))
        },
    )
    .await
    .with_context(|| other.engine.stderr())?;
    ensure!(
        decided[0].starts_with("skipped") && decided[1..].iter().all(|d| d.starts_with("fired")),
        "step 1 stays the owner's; 2 and 3 fire here: {decided:?}"
    );
    let posts: Vec<String> = hook.requests().iter().map(|r| r.path.clone()).collect();
    ensure!(
        posts == ["/step1", "/step2", "/step3"],
        "each step sent exactly once across the team: {posts:?}\n{}",
        other.engine.stderr()
    );
    Ok(())
}

/// How many laptops' presence alerts (`FoghornOnline`) carry the annotation `name`.
async fn presence_alerts_with(am: &Alertmanager, name: &str) -> Result<usize> {
    let alerts = am.alerts().await?;
    Ok(alerts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| {
            x["labels"]["alertname"] == "FoghornOnline" && x["annotations"][name].is_string()
        })
        .count())
}
