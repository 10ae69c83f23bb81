//! Intercom's REST API, version 2.14 (<https://developers.intercom.com/docs/references/2.14/rest-api/>):
//! conversations searched by single words of their first message, replied to as an admin, and
//! tagged.
//!
//! Every request sends `Authorization: Bearer`, `Intercom-Version: 2.14` and
//! `Accept: application/json`. `POST /conversations/search` matches `source.body` word by
//! word ("need support" finds nothing where "support" does), so the queue searches once per
//! word and merges. A reply has no idempotency key: a reply tried again first reads the
//! conversation and sends nothing when the same words are already there.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use serde_json::{json, Value};

use super::{strip_html, Conversation};
use crate::config::IntercomConfig;
use crate::deliver::http::{check_status, json_answer, permanent, retry, Answer, Http, Secrets};
use crate::deliver::{Channel, DeliveryError};
use crate::secret::SecretRef;

const CHANNEL: Channel = Channel::Intercom;
const VERSION: &str = "2.14";
/// Intercom's largest page.
const PER_PAGE: u32 = 150;
/// Pages read per word at most: 3,000 conversations about one word in one outage is already
/// more than a person answers by hand.
const MAX_PAGES: usize = 20;
/// Contact pages read at most: 150,000 customers.
const MAX_CONTACT_PAGES: usize = 1_000;

#[derive(Debug)]
pub struct Intercom {
    url: String,
    token: SecretRef,
    admin_id: String,
    http: Http,
    /// Tag ids by name, once created or found.
    tags: tokio::sync::Mutex<HashMap<String, String>>,
}

impl Intercom {
    pub fn new(config: &IntercomConfig, secrets: Secrets, timeout: Duration) -> Self {
        let mut http = Http::with_timeout(timeout);
        http.secrets = secrets;
        Intercom {
            url: config.url.trim_end_matches('/').to_owned(),
            token: config.token.clone(),
            admin_id: config.admin_id.clone(),
            http,
            tags: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, DeliveryError> {
        let token = self
            .http
            .secrets
            .get(CHANNEL, "[intercom] token", Some(&self.token))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| permanent(CHANNEL, "the Intercom token is not a valid header"))?;
        auth.set_sensitive(true);
        let request = request
            .header(AUTHORIZATION, auth)
            .header("Intercom-Version", VERSION)
            .header(ACCEPT, "application/json");
        let answer = self.http.send(CHANNEL, what, request).await?;
        check_status(CHANNEL, what, &answer)?;
        Ok(answer)
    }

    fn conversation_url(&self, id: &str, rest: &str) -> String {
        format!("{}/conversations/{}{rest}", self.url, segment(id))
    }

    /// The search request for open conversations updated at or after `since` (Unix seconds;
    /// Intercom's `>` is "greater or equal") whose first message has the word `word`.
    pub(crate) fn search_body(word: &str, since: i64, starting_after: Option<&str>) -> Value {
        let mut pagination = json!({ "per_page": PER_PAGE });
        if let Some(cursor) = starting_after {
            pagination["starting_after"] = Value::from(cursor);
        }
        json!({
            "query": {
                "operator": "AND",
                "value": [
                    { "field": "state", "operator": "=", "value": "open" },
                    { "field": "updated_at", "operator": ">", "value": since },
                    { "field": "source.body", "operator": "~", "value": word },
                ],
            },
            "pagination": pagination,
        })
    }

    /// Open conversations updated since `since` whose first message has the word `word`.
    pub async fn search(&self, word: &str, since: i64) -> Result<Vec<Conversation>, DeliveryError> {
        let what = format!("Intercom: search conversations for {word:?}");
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let request = self
                .http
                .client
                .post(format!("{}/conversations/search", self.url))
                .json(&Self::search_body(word, since, cursor.as_deref()));
            let answer = self.send(&what, request).await?;
            let list = json_answer(CHANNEL, &what, &answer)?;
            let conversations = list
                .get("conversations")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    retry(
                        CHANNEL,
                        format!("{what}: the answer has no conversations"),
                        None,
                    )
                })?;
            out.extend(conversations.iter().filter_map(Conversation::from_intercom));
            cursor = list
                .pointer("/pages/next/starting_after")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_owned);
            if cursor.is_none() || conversations.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// Every contact with an address that takes email, as a customer list (CSV: `email`,
    /// `name`, then each custom attribute), how many are in it, and how many were left out:
    /// no address, hard bounced, marked as spam or unsubscribed.
    pub async fn contacts_csv(&self) -> Result<(String, u64, u64), DeliveryError> {
        let what = "Intercom: list contacts";
        let mut rows: Vec<(String, String, BTreeMap<String, String>)> = Vec::new();
        let mut columns = BTreeSet::new();
        let mut left_out = 0u64;
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_CONTACT_PAGES {
            let mut url = format!("{}/contacts?per_page={PER_PAGE}", self.url);
            if let Some(c) = &cursor {
                url.push_str(&format!("&starting_after={}", segment(c)));
            }
            let answer = self.send(what, self.http.client.get(url)).await?;
            let list = json_answer(CHANNEL, what, &answer)?;
            let contacts = list
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| retry(CHANNEL, format!("{what}: the answer has no data"), None))?;
            for c in contacts {
                let email = c.get("email").and_then(Value::as_str).unwrap_or("").trim();
                let refused = [
                    "has_hard_bounced",
                    "marked_email_as_spam",
                    "unsubscribed_from_emails",
                ]
                .iter()
                .any(|k| c.get(k).and_then(Value::as_bool) == Some(true));
                if email.is_empty() || refused {
                    left_out += 1;
                    continue;
                }
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let mut custom = BTreeMap::new();
                if let Some(attrs) = c.get("custom_attributes").and_then(Value::as_object) {
                    for (k, v) in attrs {
                        let key = k.trim().to_lowercase();
                        if key.is_empty() || key == "email" || key == "name" {
                            continue;
                        }
                        let text = match v {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            _ => continue,
                        };
                        columns.insert(key.clone());
                        custom.insert(key, text);
                    }
                }
                rows.push((email.to_owned(), name, custom));
            }
            cursor = list
                .pointer("/pages/next/starting_after")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_owned);
            if cursor.is_none() || contacts.is_empty() {
                break;
            }
        }
        let mut out = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> = ["email", "name"]
            .into_iter()
            .chain(columns.iter().map(String::as_str))
            .collect();
        let written = out.write_record(&header).and_then(|()| {
            for (email, name, custom) in &rows {
                let mut record = vec![email.as_str(), name.as_str()];
                record.extend(
                    columns
                        .iter()
                        .map(|c| custom.get(c).map_or("", String::as_str)),
                );
                out.write_record(&record)?;
            }
            Ok(())
        });
        let bytes = written
            .map_err(|e| e.to_string())
            .and_then(|()| out.into_inner().map_err(|e| e.to_string()))
            .map_err(|e| permanent(CHANNEL, format!("{what}: {e}")))?;
        Ok((
            String::from_utf8_lossy(&bytes).into_owned(),
            rows.len() as u64,
            left_out,
        ))
    }

    /// Replies to a conversation as the configured admin; `html` is the reply's body.
    pub async fn reply(&self, conversation_id: &str, html: &str) -> Result<(), DeliveryError> {
        let what = format!("Intercom: reply to conversation {conversation_id}");
        let request = self
            .http
            .client
            .post(self.conversation_url(conversation_id, "/reply"))
            .json(&json!({
                "message_type": "comment",
                "type": "admin",
                "admin_id": self.admin_id,
                "body": html,
            }));
        self.send(&what, request).await.map(|_| ())
    }

    /// Whether an admin's part of the conversation already says `html` (an earlier attempt
    /// arrived and a crash or a lost answer kept that from being recorded).
    pub async fn has_reply(
        &self,
        conversation_id: &str,
        html: &str,
    ) -> Result<bool, DeliveryError> {
        let what = format!("Intercom: read conversation {conversation_id}");
        let request = self
            .http
            .client
            .get(self.conversation_url(conversation_id, ""));
        let answer = self.send(&what, request).await?;
        let conversation = json_answer(CHANNEL, &what, &answer)?;
        let wanted = strip_html(html);
        Ok(conversation
            .pointer("/conversation_parts/conversation_parts")
            .and_then(Value::as_array)
            .is_some_and(|parts| {
                parts.iter().any(|p| {
                    p.pointer("/author/type").and_then(Value::as_str) == Some("admin")
                        && p.get("body")
                            .and_then(Value::as_str)
                            .is_some_and(|b| strip_html(b) == wanted)
                })
            }))
    }

    /// The id of the tag called `name`, created if Intercom has none (`POST /tags` creates a
    /// tag or returns the one with that name).
    pub async fn tag_id(&self, name: &str) -> Result<String, DeliveryError> {
        let mut known = self.tags.lock().await;
        if let Some(id) = known.get(name) {
            return Ok(id.clone());
        }
        let what = format!("Intercom: create the tag {name:?}");
        let request = self
            .http
            .client
            .post(format!("{}/tags", self.url))
            .json(&json!({ "name": name }));
        let answer = self.send(&what, request).await?;
        let tag: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| permanent(CHANNEL, format!("{what}: unexpected answer: {e}")))?;
        let id = match tag.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(permanent(
                    CHANNEL,
                    format!("{what}: the answer has no tag id"),
                ))
            }
        };
        known.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// Tags a conversation, as the configured admin.
    pub async fn tag(&self, conversation_id: &str, tag_id: &str) -> Result<(), DeliveryError> {
        let what = format!("Intercom: tag conversation {conversation_id}");
        let request = self
            .http
            .client
            .post(self.conversation_url(conversation_id, "/tags"))
            .json(&json!({ "id": tag_id, "admin_id": self.admin_id }));
        self.send(&what, request).await.map(|_| ())
    }
}

/// A contact as a message addresses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRef {
    pub id: String,
    /// `user` or `lead`.
    pub role: String,
}

impl Intercom {
    /// The contact whose email is `email`, if Intercom has one (`POST /contacts/search`).
    pub async fn contact_by_email(&self, email: &str) -> Result<Option<ContactRef>, DeliveryError> {
        let what = "Intercom: find a contact by email";
        let request = self
            .http
            .client
            .post(format!("{}/contacts/search", self.url))
            .json(&json!({
                "query": { "field": "email", "operator": "=", "value": email },
                "pagination": { "per_page": 5 },
            }));
        let answer = self.send(what, request).await?;
        let list = json_answer(CHANNEL, what, &answer)?;
        let found = list
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| {
                c.get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(email.trim()))
            })
            .and_then(|c| {
                let id = c.get("id").and_then(Value::as_str)?.to_owned();
                let role = c
                    .get("role")
                    .and_then(Value::as_str)
                    .filter(|r| *r == "lead")
                    .unwrap_or("user")
                    .to_owned();
                Some(ContactRef { id, role })
            });
        Ok(found)
    }

    /// Emails `contact` from the configured admin (`POST /messages`, the `personal`
    /// template: it reads as a note from a person); the message's id.
    ///
    /// The message also opens a conversation in the inbox
    /// (`create_conversation_without_contact_reply`): Intercom keeps no idempotency key, and
    /// that conversation is how a message whose answer was lost is found again.
    pub async fn email_contact(
        &self,
        contact: &ContactRef,
        subject: &str,
        html: &str,
    ) -> Result<String, DeliveryError> {
        let what = "Intercom: send a message";
        let admin: i64 = self.admin_id.trim().parse().map_err(|_| {
            permanent(
                CHANNEL,
                format!(
                    "`intercom.admin_id` ({:?}) is not a number: messages are sent from an admin's numeric id",
                    self.admin_id
                ),
            )
        })?;
        let request = self
            .http
            .client
            .post(format!("{}/messages", self.url))
            .json(&json!({
                "message_type": "email",
                "subject": subject,
                "body": html,
                "template": "personal",
                "from": { "type": "admin", "id": admin },
                "to": { "type": contact.role, "id": contact.id },
                "create_conversation_without_contact_reply": true,
            }));
        let answer = self.send(what, request).await?;
        let message: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| permanent(CHANNEL, format!("{what}: unexpected answer: {e}")))?;
        Ok(match message.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        })
    }

    /// The conversation a message to `contact` with `subject` opened at or after `since`
    /// (Unix seconds), if there is one: a message sent before a crash kept its answer from
    /// being recorded.
    pub async fn message_since(
        &self,
        contact: &ContactRef,
        subject: &str,
        since: i64,
    ) -> Result<Option<String>, DeliveryError> {
        let what = "Intercom: look for a message sent before a stop";
        let request = self
            .http
            .client
            .post(format!("{}/conversations/search", self.url))
            .json(&json!({
                "query": {
                    "operator": "AND",
                    "value": [
                        { "field": "contact_ids", "operator": "=", "value": contact.id },
                        { "field": "source.subject", "operator": "=", "value": subject },
                        { "field": "created_at", "operator": ">", "value": since },
                    ],
                },
                "pagination": { "per_page": 5 },
            }));
        let answer = self.send(what, request).await?;
        let list = json_answer(CHANNEL, what, &answer)?;
        Ok(list
            .get("conversations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|c| match c.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            }))
    }
}

/// A path segment: Intercom's ids are digits; anything else escaped.
fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_asks_for_open_conversations_updated_since_with_one_word() {
        let body = Intercom::search_body("down", 1_765_000_000, Some("WzE3"));
        assert_eq!(body["query"]["operator"], "AND");
        assert_eq!(
            body["query"]["value"][1],
            json!({"field": "updated_at", "operator": ">", "value": 1_765_000_000})
        );
        assert_eq!(
            body["query"]["value"][2],
            json!({"field": "source.body", "operator": "~", "value": "down"})
        );
        assert_eq!(
            body["pagination"],
            json!({"per_page": 150, "starting_after": "WzE3"})
        );
    }
}
