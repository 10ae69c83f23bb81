//! Statuspage as the tests see it: a stateful fake of the Manage API (create, patch, read,
//! list unresolved, an incident's postmortem: read, set the draft, publish) meant to sit behind `prism proxy` on Statuspage's own description, so a
//! request that breaks the description never reaches it; and a receiver for signed webhooks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::Result;
use foghorn_core::deliver::webhook::{
    verify_signature, SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE,
};
use serde_json::{json, Value};

use crate::receiver::{answer, Receiver, Recorded, Reply};

/// The page id the tests' configurations name.
pub const PAGE_ID: &str = "kctbh9vrtdwd";
/// The secrets [`config`] names, given to the app through its environment; `SLACK_HOOK`,
/// the chat's incoming webhook, comes with them.
pub const SECRETS: [(&str, &str); 2] = [("SP_TOKEN", "sp-token"), ("HOOK_SECRET", "hook-s3cret")];

/// A Statuspage that remembers its incidents: create, patch, list the unresolved ones; and
/// each incident's one postmortem.
#[derive(Debug, Default)]
pub struct Statuspage {
    pub incidents: Vec<Value>,
    pub created: usize,
    pub patched: Vec<(String, Value)>,
    /// Each incident's postmortem (by Statuspage's incident id), as Statuspage answers it.
    pub postmortems: BTreeMap<String, Value>,
    /// The bodies of the draft requests (`PUT …/postmortem`), by incident id.
    pub postmortem_drafts: Vec<(String, Value)>,
    /// The bodies of the publish requests (`PUT …/postmortem/publish`), by incident id.
    pub postmortem_publishes: Vec<(String, Value)>,
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::Answer {
        status,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: body.to_string(),
    }
}

fn path_of(r: &Recorded) -> &str {
    r.path.split('?').next().unwrap_or(&r.path)
}

pub async fn statuspage_fake(state: Arc<Mutex<Statuspage>>) -> Result<Receiver> {
    let incidents = format!("/pages/{PAGE_ID}/incidents");
    Receiver::start(move |r| {
        let Ok(mut sp) = state.lock() else {
            return answer(500, "poisoned");
        };
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let path = path_of(r);
        let now = "2026-12-02T15:00:00.000Z";
        // `…/incidents/{id}/postmortem` and `…/postmortem/publish`.
        let postmortem = path
            .strip_prefix(&format!("{incidents}/"))
            .and_then(|rest| rest.split_once('/'))
            .filter(|(_, tail)| tail.starts_with("postmortem"))
            .map(|(id, tail)| (id.to_owned(), tail == "postmortem/publish"));
        if let Some((id, publish)) = postmortem {
            if !sp.incidents.iter().any(|i| i["id"] == id.as_str()) {
                return json_reply(404, &json!({"message": "not found"}));
            }
            return match (r.method.as_str(), publish) {
                ("GET", false) => match sp.postmortems.get(&id) {
                    Some(pm) => json_reply(200, pm),
                    None => json_reply(404, &json!({"message": "not found"})),
                },
                ("PUT", false) => {
                    sp.postmortem_drafts.push((id.clone(), body.clone()));
                    let pm = sp.postmortems.entry(id).or_insert_with(|| {
                        json!({"created_at": now, "notify_subscribers": false, "notify_twitter": false})
                    });
                    pm["body_draft"] = body["postmortem"]["body_draft"].clone();
                    pm["body_draft_updated_at"] = json!(now);
                    pm["updated_at"] = json!(now);
                    json_reply(200, pm)
                }
                ("PUT", true) => {
                    sp.postmortem_publishes.push((id.clone(), body.clone()));
                    match sp.postmortems.get_mut(&id) {
                        Some(pm) => {
                            pm["body"] = pm["body_draft"].clone();
                            pm["body_updated_at"] = json!(now);
                            pm["published_at"] = json!(now);
                            pm["notify_subscribers"] =
                                json!(body["postmortem"]["notify_subscribers"] == true);
                            json_reply(200, pm)
                        }
                        None => json_reply(400, &json!({"message": "no postmortem draft"})),
                    }
                }
                _ => json_reply(404, &json!({"message": "not found"})),
            };
        }
        match r.method.as_str() {
            "POST" if path == incidents => {
                sp.created += 1;
                let first = json!({
                    "id": format!("upd{}", sp.created),
                    "status": body["incident"]["status"],
                    "body": body["incident"]["body"],
                    "created_at": now,
                });
                let incident = json!({
                    "incident_updates": [first],
                    "id": format!("inc{}", sp.created),
                    "name": body["incident"]["name"],
                    "status": body["incident"]["status"],
                    "metadata": body["incident"]["metadata"],
                    "page_id": PAGE_ID,
                    "impact": "major",
                    "created_at": now,
                    "updated_at": now,
                    "shortlink": "https://stspg.io/x",
                });
                sp.incidents.push(incident.clone());
                json_reply(201, &incident)
            }
            "GET" if path == format!("{incidents}/unresolved") => {
                let open: Vec<Value> = sp
                    .incidents
                    .iter()
                    .filter(|i| i["status"] != "resolved")
                    .cloned()
                    .collect();
                json_reply(200, &Value::Array(open))
            }
            "GET" => {
                let id = path.rsplit('/').next().unwrap_or("");
                match sp.incidents.iter().find(|i| i["id"] == id) {
                    Some(incident) => json_reply(200, incident),
                    None => json_reply(404, &json!({"error": "not found"})),
                }
            }
            "PATCH" => {
                let id = path.rsplit('/').next().unwrap_or("").to_owned();
                sp.patched.push((id.clone(), body.clone()));
                match sp.incidents.iter_mut().find(|i| i["id"] == id.as_str()) {
                    Some(incident) => {
                        incident["status"] = body["incident"]["status"].clone();
                        let update = json!({
                            "status": body["incident"]["status"],
                            "body": body["incident"]["body"],
                            "created_at": now,
                        });
                        if let Some(updates) = incident["incident_updates"].as_array_mut() {
                            updates.insert(0, update);
                        }
                        json_reply(200, incident)
                    }
                    None => json_reply(404, &json!({"error": "not found"})),
                }
            }
            _ => json_reply(404, &json!({"error": "not found"})),
        }
    })
    .await
}

/// Answers 200 to a webhook signed with `secret` (the ladder's scheme), 401 otherwise.
pub fn signed_ok(secret: &str) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    let secret = secret.to_owned();
    move |r| {
        let verified = verify_signature(
            secret.as_bytes(),
            r.header(TIMESTAMP_HEADER).unwrap_or(""),
            &r.body,
            r.header(SIGNATURE_HEADER).unwrap_or(""),
            SystemTime::now(),
            TOLERANCE,
        );
        if verified {
            answer(200, "ok")
        } else {
            answer(401, "bad signature")
        }
    }
}

/// A configuration with one monitor (`api`, checked every second against `target`) behind
/// the component API, publishing to all four destinations: Statuspage at `statuspage`, the
/// chat through `SLACK_HOOK`, the page in `page` (pushed to `git_remote` if given) and the
/// webhook at `hook`.
pub fn config(
    target: &str,
    statuspage: &str,
    hook: &str,
    page: &Path,
    git_remote: Option<&Path>,
) -> String {
    let push = git_remote
        .map(|r| format!("git_remote = \"{}\"\n", r.display()))
        .unwrap_or_default();
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

[escalation]
slack_webhook = "env:SLACK_HOOK"

[status]
product = "Acme"
components = [{{ name = "API", monitors = ["api"] }}, {{ name = "Dashboard" }}]
next_update = "30m"
time_zone = "Europe/Berlin"

[status.statuspage]
url = "{statuspage}"
page_id = "{PAGE_ID}"
token = "env:SP_TOKEN"
component_ids = {{ API = "8kbf7d35c070", Dashboard = "vtnh60py4yd7" }}

[status.page]
dir = "{page}"
title = "Acme status"
{push}
[status.webhook]
url = "{hook}/banner"
secret = "env:HOOK_SECRET"
"#,
        page = page.display()
    )
}
