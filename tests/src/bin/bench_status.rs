//! `make bench`, status updates: how long from Publish until every local destination has
//! acknowledged (the team chat's webhook, the signed webhook, the self-hosted page and a
//! Statuspage fake, all on 127.0.0.1), and how long the self-hosted page takes to rebuild
//! with 1,000 past updates. Runs the core's own publish path (the update and its outbox rows
//! recorded in one transaction, then the outbox's sends), as the app's loop does, without
//! the loop's half-second tick. Updates are spaced a little over a second apart, as
//! Statuspage allows one request a second per token.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use foghorn_core::config::Config;
use foghorn_core::status::compose::{compose, Draft};
use foghorn_core::status::publish::{build_page, Publisher};
use foghorn_core::status::{ComponentStatus, Destination, PublicState};
use foghorn_core::store::Store;
use foghorn_e2e::receiver::{Receiver, Reply};
use serde_json::json;
use time::OffsetDateTime;

const PUBLISHES: usize = 50;
const PAST_UPDATES: usize = 1000;
const REBUILDS: usize = 20;

fn config(statuspage: &str, slack: &str, hook: &str, page: &Path) -> Result<Config> {
    std::env::set_var("BENCH_SLACK", slack);
    std::env::set_var("BENCH_SP", "token");
    std::env::set_var("BENCH_HOOK_SECRET", "s3cret");
    let text = format!(
        "[escalation]\nslack_webhook = \"env:BENCH_SLACK\"\n\n\
         [status]\nproduct = \"Acme\"\ncomponents = [{{ name = \"API\" }}, {{ name = \"Dashboard\" }}]\n\n\
         [status.statuspage]\nurl = \"{statuspage}\"\npage_id = \"p\"\ntoken = \"env:BENCH_SP\"\n\
         component_ids = {{ API = \"a1\" }}\n\n\
         [status.page]\ndir = \"{}\"\n\n\
         [status.webhook]\nurl = \"{hook}\"\nsecret = \"env:BENCH_HOOK_SECRET\"\n",
        page.display()
    );
    Config::parse(&text, Path::new("bench.toml")).context("bench config")
}

fn stats(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (
        samples[samples.len() / 2],
        *samples.last().unwrap_or(&Duration::ZERO),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let ok = || Reply::Answer {
        status: 200,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: json!({"id": "inc1", "status": "investigating"}).to_string(),
    };
    let statuspage = Receiver::start(move |_| ok()).await?;
    let slack = Receiver::start(|_| foghorn_e2e::receiver::answer(200, "ok")).await?;
    let hook = Receiver::start(|_| foghorn_e2e::receiver::answer(200, "ok")).await?;
    let home = tempfile::tempdir()?;
    let page = home.path().join("page");
    let config = config(&statuspage.url(), &slack.url(), &hook.url(), &page)?;
    let status = config.status.clone().context("[status]")?;
    let store = Store::open(&home.path().join("data"))?;
    let publisher = Publisher::new(status.clone(), config.escalation.clone());
    let destinations = publisher.destinations();

    // Publish → every destination acknowledged, one public incident updated PUBLISHES times.
    let mut samples = Vec::new();
    let mut public_id = None;
    for i in 0..PUBLISHES {
        let draft = Draft {
            public_id,
            incident_id: None,
            title: Some("API errors".to_owned()),
            state: if i == 0 {
                PublicState::Investigating
            } else {
                PublicState::Identified
            },
            components: BTreeMap::from([("API".to_owned(), ComponentStatus::MajorOutage)]),
            message: Some(format!("Update {i}: we are working on it.")),
            next_update: None,
            to: None,
            author: "bench".to_owned(),
        };
        // Updates come minutes apart; back to back, each would wait out Statuspage's one
        // request a second per token, which is its limit, not Foghorn's time.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let composed = compose(
            &status,
            &store,
            draft,
            &destinations,
            OffsetDateTime::now_utc(),
        )?;
        let started = Instant::now();
        let posted = publisher.post(&store, &composed).await?;
        public_id = Some(posted.public_id);
        let prefix = format!("status:{}:", posted.public_id);
        loop {
            for row in store.due_messages(OffsetDateTime::now_utc())? {
                if !row.idempotency_key.starts_with(&prefix) {
                    continue;
                }
                let Some(d) = Destination::from_outbox_channel(&row.channel) else {
                    continue;
                };
                let t = Instant::now();
                let ch = row.channel.clone();
                foghorn_core::outbox::send(&store, row, |row| {
                    let (publisher, store) = (&publisher, &store);
                    async move { publisher.deliver(store, &row, d).await }
                })
                .await;
                if std::env::var_os("BENCH_TRACE").is_some() {
                    eprintln!("{ch}: {:?}", t.elapsed());
                }
            }
            if store.unsettled(&prefix)? == 0 {
                break;
            }
        }
        samples.push(started.elapsed());
    }
    let (median, max) = stats(samples);

    // The page rebuilt with PAST_UPDATES updates in the database.
    for i in PUBLISHES..PAST_UPDATES {
        let draft = Draft {
            public_id,
            incident_id: None,
            title: None,
            state: PublicState::Monitoring,
            components: BTreeMap::new(),
            message: Some(format!("Update {i}.")),
            next_update: None,
            to: Some(vec![Destination::Page]),
            author: "bench".to_owned(),
        };
        let composed = compose(
            &status,
            &store,
            draft,
            &destinations,
            OffsetDateTime::now_utc(),
        )?;
        publisher.post(&store, &composed).await?;
    }
    let mut rebuilds = Vec::new();
    for _ in 0..REBUILDS {
        let started = Instant::now();
        build_page(&status, &store, &page, OffsetDateTime::now_utc())?;
        rebuilds.push(started.elapsed());
    }
    let (rebuild_median, rebuild_max) = stats(rebuilds);
    let html = std::fs::metadata(page.join("index.html"))?.len();

    println!("| measure | median | max |");
    println!("| --- | --- | --- |");
    println!(
        "| Publish → all {} local destinations acknowledged ({PUBLISHES} updates) | {} | {} |",
        destinations.len(),
        ms(median),
        ms(max)
    );
    println!(
        "| Self-hosted page rebuilt, {PAST_UPDATES} past updates ({REBUILDS} rebuilds; index.html {} KiB) | {} | {} |",
        html / 1024,
        ms(rebuild_median),
        ms(rebuild_max)
    );
    Ok(())
}
