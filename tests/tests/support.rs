//! The support queue through the real binary: an incident opened by a failing monitor, an
//! Intercom that remembers its conversations (a stateful fake behind `prism proxy` on
//! Intercom's own 2.14 description: a request that breaks it never reaches the fake, and an
//! answer of the fake that breaks it is reported). `foghorn support queue` lists the open
//! conversations about the outage oldest-waiting first (not one from before the incident, a
//! closed one or one about something else; one matching two words once); `reply` answers and
//! tags each once however often it is run; once the incident is resolved, `follow-up` writes
//! to each once.

use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, ensure, Context, Result};
use foghorn_e2e::paths::foghorn_command;
use foghorn_e2e::prism::{spec, Prism};
use foghorn_e2e::process::ChildGuard;
use foghorn_e2e::receiver::{Receiver, Recorded, Reply};
use foghorn_e2e::{wait_until, Target};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);
const ADMIN: &str = "814860";
const TOKEN: &str = "intercom-t0ken";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One conversation the fake holds.
#[derive(Debug, Clone)]
struct Convo {
    id: &'static str,
    state: &'static str,
    body: &'static str,
    name: Option<&'static str>,
    email: &'static str,
    created_at: i64,
    updated_at: i64,
    waiting_since: Option<i64>,
    last_contact_reply_at: Option<i64>,
    /// Admin replies: (admin id, body).
    replies: Vec<(String, String)>,
    /// Tag ids.
    tags: Vec<String>,
}

/// An Intercom that remembers its conversations, replies and tags.
#[derive(Debug, Default)]
struct Intercom {
    convos: Vec<Convo>,
    /// (id, name)
    tags: Vec<(String, String)>,
    /// Search fields the fake does not know (the client asked for something unexpected).
    unknown: Vec<String>,
    unauthorised: usize,
}

fn words_of(html: &str) -> Vec<String> {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Intercom {
    /// Intercom's search: `AND`/`OR` groups of filters; `source.body` is matched word by word
    /// (`=` a whole word, `~` a word containing the value); `>`/`<` on times are inclusive.
    fn matches(&mut self, query: &Value, c: &Convo) -> bool {
        if let Some(field) = query.get("field").and_then(Value::as_str) {
            let op = query["operator"].as_str().unwrap_or("");
            let value = &query["value"];
            let time = |t: i64| match (op, value.as_i64()) {
                (">", Some(v)) => t >= v,
                ("<", Some(v)) => t <= v,
                ("=", Some(v)) => t == v,
                _ => false,
            };
            return match field {
                "state" => op == "=" && value.as_str() == Some(c.state),
                "open" => op == "=" && value.as_bool() == Some(c.state == "open"),
                "updated_at" => time(c.updated_at),
                "created_at" => time(c.created_at),
                "source.body" => {
                    let wanted = value.as_str().unwrap_or("").to_lowercase();
                    let words = words_of(c.body);
                    match op {
                        "=" => words.contains(&wanted),
                        "~" => words.iter().any(|w| w.contains(&wanted)),
                        _ => false,
                    }
                }
                other => {
                    self.unknown.push(other.to_owned());
                    false
                }
            };
        }
        let parts: Vec<Value> = query["value"].as_array().cloned().unwrap_or_default();
        match query["operator"].as_str() {
            Some("OR") => parts.iter().any(|p| self.matches(p, c)),
            _ => parts.iter().all(|p| self.matches(p, c)),
        }
    }

    fn tag_json(&self, id: &str) -> Value {
        let name = self
            .tags
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        json!({"type": "tag", "id": id, "name": name})
    }

    /// A conversation as Intercom shows it (valid against `conversation_list_item`, and with
    /// `parts` against `conversation`).
    fn convo_json(&self, c: &Convo, parts: bool) -> Value {
        let mut author =
            json!({"type": "user", "id": format!("u{}", c.id), "name": c.name, "email": c.email});
        if c.name.is_none() {
            author["name"] = Value::Null;
        }
        let mut v = json!({
            "type": "conversation",
            "id": c.id,
            "title": null,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "waiting_since": c.waiting_since,
            "snoozed_until": null,
            "open": c.state == "open",
            "state": c.state,
            "read": false,
            "priority": "not_priority",
            "admin_assignee_id": null,
            "team_assignee_id": null,
            "tags": {"type": "tag.list", "tags": c.tags.iter().map(|t| self.tag_json(t)).collect::<Vec<_>>()},
            "source": {
                "type": "conversation",
                "id": format!("src{}", c.id),
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": c.body,
                "author": author,
                "attachments": [],
                "url": null,
                "redacted": false,
            },
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": format!("u{}", c.id), "external_id": null}]},
            "statistics": match c.last_contact_reply_at {
                Some(at) => json!({"type": "conversation_statistics", "last_contact_reply_at": at}),
                None => Value::Null,
            },
        });
        if parts {
            let list: Vec<Value> = c
                .replies
                .iter()
                .enumerate()
                .map(|(i, (admin, body))| {
                    json!({
                        "type": "conversation_part",
                        "id": format!("{}{i}", c.id),
                        "part_type": "comment",
                        "body": body,
                        "created_at": c.updated_at,
                        "updated_at": c.updated_at,
                        "notified_at": c.updated_at,
                        "author": {"type": "admin", "id": admin, "name": "Support", "email": "support@acme.test"},
                        "redacted": false,
                    })
                })
                .collect();
            v["conversation_parts"] = json!({
                "type": "conversation_part.list",
                "conversation_parts": list,
                "total_count": c.replies.len(),
            });
        }
        v
    }
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::Answer {
        status,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: body.to_string(),
    }
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    json_reply(
        status,
        &json!({"type": "error.list", "request_id": null, "errors": [{"code": code, "message": message}]}),
    )
}

fn intercom_fake_answer(fake: &mut Intercom, r: &Recorded) -> Reply {
    if r.header("Authorization") != Some(&format!("Bearer {TOKEN}")) {
        fake.unauthorised += 1;
        return error(401, "unauthorized", "Access Token Invalid");
    }
    let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let path = r.path.split('?').next().unwrap_or(&r.path).to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (r.method.as_str(), segments.as_slice()) {
        ("POST", ["conversations", "search"]) => {
            let convos = fake.convos.clone();
            let matching: Vec<&Convo> = convos
                .iter()
                .filter(|c| fake.matches(&body["query"], c))
                .collect();
            let found: Vec<Value> = matching
                .into_iter()
                .map(|c| fake.convo_json(c, false))
                .collect();
            json_reply(
                200,
                &json!({
                    "type": "conversation.list",
                    "conversations": found,
                    "total_count": found.len(),
                    "pages": {"type": "pages", "page": 1, "per_page": 150, "total_pages": 1},
                }),
            )
        }
        ("GET", ["conversations", id]) => match fake.convos.iter().find(|c| c.id == *id) {
            Some(c) => json_reply(200, &fake.convo_json(c, true)),
            None => error(404, "not_found", "Conversation not found"),
        },
        ("POST", ["conversations", id, "reply"]) => {
            let at = now();
            let Some(c) = fake.convos.iter_mut().find(|c| c.id == *id) else {
                return error(404, "not_found", "Conversation not found");
            };
            c.replies.push((
                body["admin_id"].as_str().unwrap_or("").to_owned(),
                body["body"].as_str().unwrap_or("").to_owned(),
            ));
            c.waiting_since = None;
            c.updated_at = at;
            let c = c.clone();
            json_reply(200, &fake.convo_json(&c, true))
        }
        ("POST", ["tags"]) => {
            let name = body["name"].as_str().unwrap_or("").to_owned();
            let id = match fake
                .tags
                .iter()
                .find(|(_, n)| n.eq_ignore_ascii_case(&name))
            {
                Some((id, _)) => id.clone(),
                None => {
                    let id = format!("{}", 900 + fake.tags.len());
                    fake.tags.push((id.clone(), name));
                    id
                }
            };
            json_reply(200, &fake.tag_json(&id))
        }
        ("POST", ["conversations", id, "tags"]) => {
            let tag = body["id"].as_str().unwrap_or("").to_owned();
            if !fake.tags.iter().any(|(t, _)| *t == tag) {
                return error(404, "not_found", "Tag not found");
            }
            let Some(c) = fake.convos.iter_mut().find(|c| c.id == *id) else {
                return error(404, "not_found", "Conversation not found");
            };
            c.tags.push(tag.clone());
            let mut answer = fake.tag_json(&tag);
            answer["applied_at"] = now().into();
            answer["applied_by"] = json!({"type": "admin", "id": body["admin_id"]});
            json_reply(200, &answer)
        }
        _ => error(404, "not_found", "no such route in the fake"),
    }
}

async fn intercom_fake(state: Arc<Mutex<Intercom>>) -> Result<Receiver> {
    Receiver::start(move |r| match state.lock() {
        Ok(mut fake) => intercom_fake_answer(&mut fake, r),
        Err(_) => error(500, "server_error", "poisoned"),
    })
    .await
}

/// A home with a configuration and a data dir, and the `foghorn` command for it.
struct Laptop {
    home: tempfile::TempDir,
}

impl Laptop {
    fn command(&self) -> Result<Command> {
        let mut cmd = foghorn_command(self.home.path())?;
        cmd.env("FOGHORN_DATA_DIR", self.home.path().join("data"))
            .env("INTERCOM_TOKEN", TOKEN)
            .arg("--config")
            .arg(self.home.path().join("foghorn.toml"))
            .stdin(Stdio::null());
        Ok(cmd)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Ok(self.command()?.args(args).output()?)
    }

    /// The command's JSON answer; it must succeed.
    fn json(&self, args: &[&str]) -> Result<Value> {
        let out = self.run(args)?;
        ensure!(
            out.status.success(),
            "{args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("{args:?}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn incidents(&self) -> Result<Vec<Value>> {
        let out = self.run(&["incidents", "--json"])?;
        let list: Value = serde_json::from_slice(&out.stdout)?;
        Ok(list.as_array().cloned().unwrap_or_default())
    }
}

fn config(target: &str, intercom: &str, page: &std::path::Path) -> String {
    format!(
        r#"[me]
names = ["Alice Smith"]

[[monitors]]
name = "api"
url = "{target}"
interval = "1s"
timeout = "2s"
failure_threshold = 1
severity = "critical"

[status]
product = "Acme"
components = [{{ name = "API", monitors = ["api"] }}]

[status.page]
dir = "{page}"
url = "https://status.acme.test"

[intercom]
url = "{intercom}"
token = "env:INTERCOM_TOKEN"
admin_id = "{ADMIN}"
"#,
        page = page.display()
    )
}

fn convo(id: &'static str, state: &'static str, body: &'static str, updated_at: i64) -> Convo {
    Convo {
        id,
        state,
        body,
        name: None,
        email: "someone@example.com",
        created_at: updated_at - 60,
        updated_at,
        waiting_since: Some(updated_at - 60),
        last_contact_reply_at: None,
        replies: Vec::new(),
        tags: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_is_answered_once_tagged_and_followed_up_once_resolved() -> Result<()> {
    let target = Target::start().await?;
    let state = Arc::new(Mutex::new(Intercom::default()));
    let fake = intercom_fake(state.clone()).await?;
    let prism = Prism::proxy(
        &spec("intercom-2.14-conversations-messages-openapi.yaml"),
        &fake.url(),
    )?;
    let home = tempfile::tempdir()?;
    std::fs::write(
        home.path().join("foghorn.toml"),
        config(&target.url(), &prism.url(), &home.path().join("page")),
    )?;
    let laptop = Laptop { home };
    let before = now() - 3600;
    state
        .lock()
        .map_err(|_| anyhow!("poisoned"))?
        .convos
        .push(convo(
            "104",
            "open",
            "<p>The site is down again</p>",
            before,
        ));

    target.set_healthy(false);
    let mut engine = {
        let mut cmd = laptop.command()?;
        cmd.args(["run", "--headless"]);
        ChildGuard::spawn("support-engine", cmd, laptop.home.path())?
    };
    let incident = wait_until(WAIT, "an incident to open", || {
        Ok(laptop
            .incidents()?
            .iter()
            .find(|i| i["state"] != "resolved")
            .and_then(|i| i["id"].as_i64()))
    })?;
    let n = incident.to_string();
    // The customers write in once it has started.
    let t = now();
    {
        let mut fake = state.lock().map_err(|_| anyhow!("poisoned"))?;
        let mut dana = convo(
            "101",
            "open",
            "<p>Our dashboard is <b>down</b> since lunch</p>",
            t,
        );
        dana.name = Some("Dana Scully");
        dana.email = "dana@example.com";
        dana.waiting_since = Some(t - 100);
        let mut fox = convo(
            "102",
            "open",
            "<p>Getting an error and everything is slow</p>",
            t,
        );
        fox.name = Some("Fox Mulder");
        fox.email = "fox@example.com";
        fox.waiting_since = Some(t - 300);
        let mut walter = convo(
            "103",
            "open",
            "<p>Is the API broken for anyone else?</p>",
            t,
        );
        walter.email = "walter@example.com";
        walter.waiting_since = None;
        walter.last_contact_reply_at = Some(t - 200);
        fake.convos.push(dana);
        fake.convos.push(fox);
        fake.convos.push(walter);
        fake.convos
            .push(convo("105", "closed", "<p>It was down yesterday</p>", t));
        fake.convos.push(convo(
            "106",
            "open",
            "<p>How do I change my invoice address</p>",
            t,
        ));
    }
    // A public update: its words are the canned reply's.
    laptop.json(&[
        "status",
        "post",
        "--incident",
        &n,
        "--status",
        "investigating",
        "--message",
        "We are looking into failing API requests.",
        "--yes",
        "--json",
    ])?;

    let queue = laptop.json(&["support", "queue", "--incident", &n, "--json"])?;
    let ids: Vec<&str> = queue["conversations"]
        .as_array()
        .context("conversations")?
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    ensure!(
        ids == ["102", "103", "101"],
        "the queue, oldest waiting first, without the old, closed or unrelated ones: {queue}"
    );
    ensure!(
        queue["conversations"][0]["matched"] == json!(["error", "slow"])
            && queue["conversations"][0]["name"] == "Fox Mulder"
            && queue["conversations"][2]["subject"] == "Our dashboard is down since lunch",
        "matched words, the customer, the first words: {queue}"
    );
    ensure!(
        queue["summary"] == "3 customers asked; 0 answered",
        "{queue}"
    );

    // Without --yes and without a terminal, nothing is sent.
    let asked = laptop.run(&["support", "reply", "--incident", &n])?;
    let said = String::from_utf8_lossy(&asked.stderr);
    ensure!(
        !asked.status.success() && said.contains("--yes"),
        "asks first: {said}"
    );
    ensure!(
        String::from_utf8_lossy(&asked.stdout).contains("Hi Fox, thanks for writing in."),
        "the previews are shown"
    );

    let replied = laptop.json(&["support", "reply", "--incident", &n, "--yes", "--json"])?;
    ensure!(
        replied["conversations"] == json!({"101": "sent", "102": "sent", "103": "sent"}),
        "replied: {replied}"
    );
    ensure!(
        replied["summary"] == "3 customers asked; 3 answered",
        "{replied}"
    );
    let again = laptop.json(&["support", "reply", "--incident", &n, "--yes", "--json"])?;
    ensure!(
        again["conversations"]
            == json!({"101": "already sent", "102": "already sent", "103": "already sent"}),
        "replying again sends nothing: {again}"
    );

    // Followed up only once resolved.
    let early = laptop.run(&["support", "follow-up", "--incident", &n, "--yes"])?;
    ensure!(
        !early.status.success() && String::from_utf8_lossy(&early.stderr).contains("not resolved"),
        "no follow-up while it lasts"
    );
    let canned = laptop.run(&["support", "canned", "--incident", &n])?;
    let canned = String::from_utf8_lossy(&canned.stdout);
    ensure!(
        canned.contains("Hi there,")
            && canned.contains("We are looking into failing API requests.")
            && canned.contains("https://status.acme.test"),
        "the canned reply: {canned}"
    );

    target.set_healthy(true);
    wait_until(WAIT, "the incident to resolve", || {
        Ok(laptop
            .incidents()?
            .iter()
            .all(|i| i["state"] == "resolved")
            .then_some(()))
    })?;
    let followed = laptop.json(&["support", "follow-up", "--incident", &n, "--yes", "--json"])?;
    ensure!(
        followed["conversations"] == json!({"101": "sent", "102": "sent", "103": "sent"}),
        "followed up: {followed}"
    );
    let again = laptop.json(&["support", "follow-up", "--incident", &n, "--yes", "--json"])?;
    ensure!(
        again["conversations"]
            == json!({"101": "already sent", "102": "already sent", "103": "already sent"}),
        "following up again sends nothing: {again}"
    );
    ensure!(
        again["summary"] == "3 customers asked; 3 answered; 3 followed up",
        "{again}"
    );
    engine.terminate();

    prism.assert_no_violations()?;
    let seen = prism.requests();
    for route in [
        "post /conversations/search",
        "post /conversations/101/reply",
        "post /tags",
        "post /conversations/101/tags",
    ] {
        ensure!(
            seen.iter().any(|r| r.starts_with(route)),
            "Prism saw {route}: {seen:?}"
        );
    }
    ensure!(
        prism.refusals().is_empty(),
        "refused: {:?}",
        prism.refusals()
    );
    let fake = state.lock().map_err(|_| anyhow!("poisoned"))?;
    ensure!(
        fake.unknown.is_empty() && fake.unauthorised == 0,
        "unknown search fields {:?}, {} unauthorised",
        fake.unknown,
        fake.unauthorised
    );
    ensure!(fake.tags.len() == 1, "one tag: {:?}", fake.tags);
    ensure!(
        fake.tags[0].1 == format!("Foghorn incident {incident}"),
        "named for the incident: {:?}",
        fake.tags
    );
    for c in &fake.convos {
        let expected = if ["101", "102", "103"].contains(&c.id) {
            2
        } else {
            0
        };
        ensure!(
            c.replies.len() == expected,
            "{}: {} replies: {:?}",
            c.id,
            c.replies.len(),
            c.replies
        );
        ensure!(
            c.tags.len() == expected / 2,
            "{}: tagged once: {:?}",
            c.id,
            c.tags
        );
        for (admin, _) in &c.replies {
            ensure!(admin == ADMIN, "{}: written as the admin", c.id);
        }
    }
    let reply_of = |id: &str, i: usize| -> String {
        fake.convos
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.replies.get(i))
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    };
    let dana = reply_of("101", 0);
    ensure!(
        dana.starts_with(
            "<p>Hi Dana, thanks for writing in. We are looking into failing API requests."
        ) && dana.contains("https://status.acme.test"),
        "Dana's reply: {dana}"
    );
    ensure!(
        reply_of("103", 0).starts_with("<p>Hi there,"),
        "no name: {}",
        reply_of("103", 0)
    );
    ensure!(
        reply_of("102", 1).contains("Hi Fox, following up on your message"),
        "the follow-up: {}",
        reply_of("102", 1)
    );
    Ok(())
}

/// What the window's support view does (the engine's `support_queue` and `support_send`,
/// which its two commands call): the queue with the counts, Answer all once, then nothing
/// new; the engine's own outbox loop sends the replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_s_answer_all_replies_through_the_engine_s_outbox_once() -> Result<()> {
    use foghorn_core::config::Config;
    use foghorn_core::engine::{Engine, EngineOptions};

    let target = Target::start().await?;
    let state = Arc::new(Mutex::new(Intercom::default()));
    let fake = intercom_fake(state.clone()).await?;
    let prism = Prism::proxy(
        &spec("intercom-2.14-conversations-messages-openapi.yaml"),
        &fake.url(),
    )?;
    let home = tempfile::tempdir()?;
    std::env::set_var("INTERCOM_TOKEN", TOKEN);
    let text = config(&target.url(), &prism.url(), &home.path().join("page"));
    let config = Config::parse(&text, std::path::Path::new("foghorn.toml"))?;
    let store = foghorn_core::store::Store::open(&home.path().join("data"))?;
    target.set_healthy(false);
    let engine = Engine::start(
        config,
        store.clone(),
        Arc::new(foghorn_core::notify::LogNotifier),
        EngineOptions::default(),
    )?;
    let incident = foghorn_e2e::wait_until_async(WAIT, "an incident to open", || async {
        Ok(store.open_incidents()?.first().map(|i| i.id))
    })
    .await?;
    {
        let t = now();
        let mut fake = state.lock().map_err(|_| anyhow!("poisoned"))?;
        let mut dana = convo("201", "open", "<p>Everything is down</p>", t);
        dana.name = Some("Dana Scully");
        fake.convos.push(dana);
        fake.convos
            .push(convo("202", "open", "<p>So slow today</p>", t));
    }
    let queue = engine.support_queue(incident).await?;
    ensure!(
        queue.conversations.len() == 2 && queue.asked == 2 && queue.answered == 0,
        "{queue:?}"
    );
    ensure!(queue.canned.starts_with("Hi there"), "{}", queue.canned);
    ensure!(
        engine.support_send(incident).await? == 2,
        "two replies recorded"
    );
    wait_until(WAIT, "the engine's outbox to send both", || {
        let fake = state.lock().map_err(|_| anyhow!("poisoned"))?;
        Ok(fake
            .convos
            .iter()
            .all(|c| c.replies.len() == 1)
            .then_some(()))
    })?;
    ensure!(
        engine.support_send(incident).await? == 0,
        "nothing new the second time"
    );
    let queue = engine.support_queue(incident).await?;
    ensure!(queue.answered == 2, "both answered: {queue:?}");
    {
        let fake = state.lock().map_err(|_| anyhow!("poisoned"))?;
        let dana = fake.convos.iter().find(|c| c.id == "201").context("dana")?;
        ensure!(dana.replies[0].1.contains("Hi Dana"), "{:?}", dana.replies);
    }
    engine.shutdown().await;
    prism.assert_no_violations()?;
    Ok(())
}
