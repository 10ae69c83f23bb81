//! Intercom as a stateful fake for the customer letter, to run behind `prism proxy` on
//! Intercom's OpenAPI description: contacts listed (one page) and found by email, messages
//! that open a
//! conversation each, and conversations searched by contact, subject and time.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde_json::{json, Value};

use crate::receiver::{Receiver, Recorded, Reply};

/// A contact as Intercom's `GET /contacts` lists it.
pub fn contact(i: usize, email: &str, extra: Value) -> Value {
    let mut c = json!({
        "type": "contact",
        "id": format!("c{i}"),
        "workspace_id": "ws1",
        "role": "user",
        "email": email,
        "name": format!("Contact {i}"),
        "has_hard_bounced": false,
        "marked_email_as_spam": false,
        "unsubscribed_from_emails": false,
        "created_at": 1_700_000_000,
        "updated_at": 1_700_000_000,
        "custom_attributes": {"plan": if i.is_multiple_of(2) { "team" } else { "enterprise" }},
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

/// Intercom as a stateful fake: contacts found by email, messages that open a conversation
/// each, and conversations searched by contact, subject and time, as its description has
/// them.
#[derive(Debug, Default)]
pub struct IntercomMail {
    pub contacts: Vec<Value>,
    /// (contact id, subject, body) of every message sent.
    pub messages: Vec<(String, String, String)>,
    /// (conversation id, contact id, subject, created at).
    pub conversations: Vec<(String, String, String, i64)>,
}

fn filters(query: &Value) -> Vec<(String, String, Value)> {
    let one = |f: &Value| {
        (
            f["field"].as_str().unwrap_or("").to_owned(),
            f["operator"].as_str().unwrap_or("").to_owned(),
            f["value"].clone(),
        )
    };
    match query["value"].as_array() {
        Some(list) if query.get("field").is_none() => list.iter().map(one).collect(),
        _ => vec![one(query)],
    }
}

fn intercom_mail_answer(fake: &mut IntercomMail, r: &Recorded) -> Value {
    let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match (r.method.as_str(), r.path.as_str()) {
        ("GET", path) if path.starts_with("/contacts") => {
            json!({"type": "list", "data": fake.contacts, "total_count": fake.contacts.len(),
                   "pages": {"type": "pages", "page": 1, "per_page": 150, "total_pages": 1}})
        }
        ("POST", "/contacts/search") => {
            let wanted = filters(&body["query"])
                .into_iter()
                .find(|(f, _, _)| f == "email")
                .and_then(|(_, _, v)| v.as_str().map(str::to_lowercase))
                .unwrap_or_default();
            let data: Vec<Value> = fake
                .contacts
                .iter()
                .filter(|c| c["email"].as_str().map(str::to_lowercase) == Some(wanted.clone()))
                .cloned()
                .collect();
            json!({"type": "list", "data": data, "total_count": data.len(),
                   "pages": {"type": "pages", "page": 1, "per_page": 5, "total_pages": 1}})
        }
        ("POST", "/messages") => {
            let contact = body["to"]["id"].as_str().unwrap_or("").to_owned();
            let subject = body["subject"].as_str().unwrap_or("").to_owned();
            let html = body["body"].as_str().unwrap_or("").to_owned();
            let id = fake.messages.len() + 1;
            fake.messages
                .push((contact.clone(), subject.clone(), html.clone()));
            fake.conversations
                .push((format!("{}", 9000 + id), contact, subject.clone(), now));
            json!({"type": "admin_message", "id": id.to_string(), "created_at": now,
                   "subject": subject, "body": html, "message_type": "email"})
        }
        ("POST", "/conversations/search") => {
            let fs = filters(&body["query"]);
            let get = |name: &str| {
                fs.iter()
                    .find(|(f, _, _)| f == name)
                    .map(|(_, _, v)| v.clone())
            };
            let (contact, subject, since) =
                (get("contact_ids"), get("source.subject"), get("created_at"));
            let found: Vec<Value> = fake
                .conversations
                .iter()
                .filter(|(_, c, s, at)| {
                    contact.as_ref().and_then(Value::as_str) == Some(c.as_str())
                        && subject.as_ref().and_then(Value::as_str) == Some(s.as_str())
                        && since.as_ref().and_then(Value::as_i64).is_none_or(|t| *at > t)
                })
                .map(|(id, _, _, at)| json!({"type": "conversation", "id": id, "created_at": at, "updated_at": at}))
                .collect();
            json!({"type": "conversation.list", "conversations": found, "total_count": found.len()})
        }
        _ => json!({"type": "error.list", "errors": [{"code": "not_found", "message": r.path}]}),
    }
}

/// The fake with `contacts`, and its receiver (put Prism in front of its URL).
pub async fn mail_fake(contacts: Vec<Value>) -> Result<(Arc<Mutex<IntercomMail>>, Receiver)> {
    let state = Arc::new(Mutex::new(IntercomMail {
        contacts,
        ..IntercomMail::default()
    }));
    let fake_state = state.clone();
    let fake = Receiver::start(move |r| {
        let Ok(mut fake) = fake_state.lock() else {
            return Reply::Hang;
        };
        let body = intercom_mail_answer(&mut fake, r);
        let status = if body["type"] == "error.list" {
            404
        } else {
            200
        };
        Reply::Answer {
            status,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.to_string(),
        }
    })
    .await?;
    Ok((state, fake))
}
