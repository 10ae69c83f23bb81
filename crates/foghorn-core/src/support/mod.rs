//! The support queue during an outage: the helpdesk conversations about it, answered first.
//!
//! For an incident, the open Intercom conversations created or updated since it started whose
//! first message has one of `[intercom] keywords` or a word of a `[status] components` name
//! are listed, the customer waiting longest first. One action replies to them (as
//! `[intercom] admin_id`) with a canned message built from the newest public status update
//! and personalised with the customer's name, and tags each with the incident; once the
//! incident is resolved, one follow-up goes to everyone who got a reply.
//!
//! Replies and follow-ups go through the outbox like every other message: one row per
//! conversation and kind, keyed `support:{incident}:{conversation}:reply` (or `:follow-up`),
//! so a conversation is answered once and followed up once however often the action is
//! taken, and a crash midway is finished later. The conversations seen are kept in the
//! database, so "14 customers asked; 9 answered" survives restarts.

use std::collections::BTreeMap;
use std::time::Duration;

use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::{IntercomConfig, StatusConfig};
use crate::deliver::http::{permanent, retry, Secrets};
use crate::deliver::{Channel, Delivered, DeliveryError};
use crate::incident::IncidentView;
use crate::store::{self, OutboxRow, Store, StoreError};

pub mod intercom;

pub use intercom::Intercom;

/// Enough for any template a person writes; a runaway loop stops instead of hanging a reply.
const FUEL: u64 = 100_000;
/// The longest subject shown for a conversation.
const SUBJECT_MAX: usize = 100;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupportError {
    #[error("{0}")]
    Invalid(String),
    #[error("template: {0}")]
    Template(String),
    #[error(transparent)]
    Intercom(#[from] DeliveryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, SupportError>;

/// A helpdesk conversation about the outage, as the queue shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    /// The customer's name, if the helpdesk knows it.
    pub name: Option<String>,
    pub email: Option<String>,
    /// The subject, else the first words of the message, without HTML.
    pub subject: String,
    /// Since when the customer waits for an answer (Unix seconds): Intercom's
    /// `waiting_since`, else the customer's last reply, else the last update.
    pub waiting_since: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub state: String,
    /// The searched words it matched.
    pub matched: Vec<String>,
}

impl Conversation {
    /// From a conversation of Intercom's search (`conversation_list_item`); `None` without
    /// an id.
    pub fn from_intercom(c: &Value) -> Option<Self> {
        let id = match c.get("id")? {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let int = |v: Option<&Value>| v.and_then(Value::as_i64);
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let updated_at = int(c.get("updated_at")).unwrap_or(0);
        let created_at = int(c.get("created_at")).unwrap_or(updated_at);
        let waiting_since = int(c.get("waiting_since"))
            .or_else(|| int(c.pointer("/statistics/last_contact_reply_at")))
            .unwrap_or(updated_at);
        let source = c.get("source");
        // The one who started it; an admin's outbound message has no customer there.
        let author = source.and_then(|s| s.get("author")).filter(|a| {
            !matches!(
                a.get("type").and_then(Value::as_str),
                Some("admin" | "bot" | "team")
            )
        });
        let subject = text(source.and_then(|s| s.get("subject")))
            .map(|s| strip_html(&s))
            .filter(|s| !s.is_empty())
            .or_else(|| text(c.get("title")))
            .unwrap_or_else(|| {
                strip_html(
                    source
                        .and_then(|s| s.get("body"))
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                )
            });
        Some(Conversation {
            id,
            name: text(author.and_then(|a| a.get("name"))),
            email: text(author.and_then(|a| a.get("email"))),
            subject: shorten(&subject, SUBJECT_MAX),
            waiting_since,
            created_at,
            updated_at,
            state: text(c.get("state")).unwrap_or_else(|| "open".to_owned()),
            matched: Vec::new(),
        })
    }
}

/// The words searched for an incident: `[intercom] keywords`, then each word of the
/// `[status] components` names, lowercased, each once.
pub fn search_words(config: &IntercomConfig, status: Option<&StatusConfig>) -> Vec<String> {
    let components = status
        .map(|s| {
            s.components
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut words: Vec<String> = Vec::new();
    for word in config
        .keywords
        .iter()
        .map(String::as_str)
        .chain(components.iter().flat_map(|name| {
            name.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
        }))
    {
        let word = word.trim().to_lowercase();
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// Each word's search results merged: each conversation once (with the words it matched),
/// only open ones updated since `since`, the customer waiting longest first.
pub fn merge(results: Vec<(String, Vec<Conversation>)>, since: i64) -> Vec<Conversation> {
    let mut by_id: BTreeMap<String, Conversation> = BTreeMap::new();
    for (word, conversations) in results {
        for c in conversations {
            if c.state != "open" || c.updated_at < since {
                continue;
            }
            let entry = by_id.entry(c.id.clone()).or_insert(c);
            if !entry.matched.contains(&word) {
                entry.matched.push(word.clone());
            }
        }
    }
    let mut list: Vec<Conversation> = by_id.into_values().collect();
    list.sort_by(|a, b| {
        (a.waiting_since, a.created_at, &a.id).cmp(&(b.waiting_since, b.created_at, &b.id))
    });
    list
}

/// Text without HTML: tags removed (block ends become spaces), the common entities decoded,
/// whitespace squeezed.
pub fn strip_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match (in_tag, ch) {
            (false, '<') => {
                in_tag = true;
                text.push(' ');
            }
            (true, '>') => in_tag = false,
            (true, _) => {}
            (false, c) => text.push(c),
        }
    }
    let text = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    let mut out = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // "Hello <b>you</b> !" → "Hello you !"; punctuation after a closed tag keeps its place.
    for p in [" .", " ,", " !", " ?", " :", " ;"] {
        out = out.replace(p, &p[1..]);
    }
    out
}

/// At most `max` characters, an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

/// A text as the body of a helpdesk reply: escaped, a paragraph per blank-line block.
pub fn to_html(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let escaped = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\n', "<br>");
            format!("<p>{escaped}</p>")
        })
        .collect()
}

/// Which message a conversation gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The outage reply, while it lasts.
    Reply,
    /// Once it is resolved, to everyone who got a reply.
    FollowUp,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::FollowUp => "follow-up",
        }
    }

    /// The outbox's channel for it.
    pub fn outbox_channel(self) -> &'static str {
        match self {
            Kind::Reply => "support:reply",
            Kind::FollowUp => "support:follow-up",
        }
    }

    pub fn from_outbox_channel(channel: &str) -> Option<Self> {
        match channel {
            "support:reply" => Some(Kind::Reply),
            "support:follow-up" => Some(Kind::FollowUp),
            _ => None,
        }
    }

    /// The built-in template.
    pub fn default_template(self) -> &'static str {
        match self {
            Kind::Reply => {
                "Hi {{ name }}, thanks for writing in. {{ status }}\
                 {% if page_url %} You can follow along at {{ page_url }}.{% endif %} \
                 We'll reply again once it's fixed."
            }
            Kind::FollowUp => {
                "Hi {{ name }}, following up on your message: {{ status }}\
                 {% if page_url %} The details are at {{ page_url }}.{% endif %} \
                 Thank you for your patience, and sorry for the trouble."
            }
        }
    }
}

/// The idempotency key of a conversation's reply or follow-up about an incident.
pub fn idempotency_key(incident_id: i64, conversation_id: &str, kind: Kind) -> String {
    format!("support:{incident_id}:{conversation_id}:{}", kind.as_str())
}

/// The tag each replied conversation gets.
pub fn tag_name(incident_id: i64) -> String {
    format!("Foghorn incident {incident_id}")
}

/// The canned text of an incident, before the customer's name is filled in.
#[derive(Debug, Clone)]
pub struct Canned {
    pub kind: Kind,
    template: String,
    /// The newest public update's words, or a generic sentence.
    pub status: String,
    pub page_url: Option<String>,
    pub product: String,
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = crate::status::template::environment();
    env.set_fuel(Some(FUEL));
    env
}

impl Canned {
    /// The canned text for an incident now: the newest update of its public incident (for
    /// the follow-up, only one saying it is resolved), else a generic sentence.
    pub fn for_incident(
        kind: Kind,
        status: Option<&StatusConfig>,
        store: &Store,
        incident_id: i64,
    ) -> Result<Self> {
        let product = status.map(|s| s.product.clone()).unwrap_or_default();
        let public = store.public_incident_for(incident_id)?;
        let newest = public.as_ref().and_then(|p| p.updates.last());
        let said = match kind {
            Kind::Reply => newest.map(|u| u.message.trim().to_owned()),
            Kind::FollowUp => newest
                .filter(|u| u.state.is_closed())
                .map(|u| u.message.trim().to_owned()),
        }
        .filter(|m| !m.is_empty());
        let status_text = said.unwrap_or_else(|| generic(kind, &product));
        Ok(Canned {
            kind,
            template: kind.default_template().to_owned(),
            status: status_text,
            page_url: status
                .and_then(|s| s.page.as_ref())
                .and_then(|p| p.url.clone()),
            product,
        })
    }

    /// Another template (a person's edited text); it may use `{{ name }}`, `{{ status }}`,
    /// `{{ page_url }}` and `{{ product }}`.
    pub fn with_template(mut self, template: &str) -> Result<Self> {
        crate::status::template::check(template).map_err(SupportError::Template)?;
        self.template = template.to_owned();
        Ok(self)
    }

    /// The text for one customer: `name` (its first word), else "there".
    pub fn personalise(&self, name: Option<&str>) -> Result<String> {
        let first = name
            .and_then(|n| n.split_whitespace().next())
            .filter(|n| !n.is_empty())
            .unwrap_or("there");
        let env = environment();
        let template = env
            .template_from_str(&self.template)
            .map_err(|e| SupportError::Template(crate::status::template::describe(&e)))?;
        let text = template
            .render(context! {
                name => first,
                full_name => name.unwrap_or(first),
                status => &self.status,
                page_url => &self.page_url,
                product => &self.product,
            })
            .map_err(|e| SupportError::Template(crate::status::template::describe(&e)))?;
        Ok(crate::status::template::tidy(&text))
    }
}

/// What is said without a public update.
fn generic(kind: Kind, product: &str) -> String {
    let product = if product.trim().is_empty() {
        "our service".to_owned()
    } else {
        product.trim().to_owned()
    };
    match kind {
        Kind::Reply => {
            format!("We know about a problem with {product} right now and are working on a fix.")
        }
        Kind::FollowUp => {
            format!("the problem with {product} is resolved and everything works normally again.")
        }
    }
}

/// Each conversation's message in the outbox: the words exactly as previewed, so a retry
/// after a crash sends the same text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportMessage {
    pub incident_id: i64,
    pub conversation_id: String,
    pub kind: Kind,
    pub idempotency_key: String,
    /// The reply's body (HTML, as Intercom takes it).
    pub body: String,
    /// The tag the conversation gets with the reply.
    pub tag: String,
}

/// One conversation's message about to be recorded.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub conversation_id: String,
    /// The text, personalised.
    pub text: String,
}

/// The queue for an incident: each word searched, merged, oldest-waiting first, and every
/// conversation recorded as seen.
pub async fn queue(
    client: &Intercom,
    store: &Store,
    incident: &IncidentView,
    words: &[String],
    now: OffsetDateTime,
) -> Result<Vec<Conversation>> {
    let since = incident.opened_at.unix_timestamp();
    let mut results = Vec::new();
    for word in words {
        results.push((word.clone(), client.search(word, since).await?));
    }
    let list = merge(results, since);
    let incident_id = incident.id;
    let seen: Vec<(String, Option<String>, String, i64)> = list
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                c.name.clone(),
                c.subject.clone(),
                c.waiting_since,
            )
        })
        .collect();
    store
        .write(move |tx| {
            let rows: Vec<store::NewSeen<'_>> = seen
                .iter()
                .map(|(id, name, subject, waiting)| store::NewSeen {
                    conversation_id: id,
                    customer_name: name.as_deref(),
                    subject,
                    waiting_since: Some(*waiting),
                })
                .collect();
            store::record_seen(tx, incident_id, &rows, now)
        })
        .await?;
    Ok(list)
}

/// Records each conversation's message in the outbox, in one transaction; returns the keys
/// recorded now (a conversation already given this kind of message is left out).
pub async fn record(
    store: &Store,
    incident_id: i64,
    kind: Kind,
    outgoing: Vec<Outgoing>,
    now: OffsetDateTime,
) -> Result<Vec<String>> {
    let tag = tag_name(incident_id);
    let keys = store
        .write(move |tx| {
            let mut recorded = Vec::new();
            for o in &outgoing {
                let key = idempotency_key(incident_id, &o.conversation_id, kind);
                let message = SupportMessage {
                    incident_id,
                    conversation_id: o.conversation_id.clone(),
                    kind,
                    idempotency_key: key.clone(),
                    body: to_html(&o.text),
                    tag: tag.clone(),
                };
                let payload = serde_json::to_string(&message)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if store::enqueue(
                    tx,
                    &key,
                    Some(incident_id),
                    kind.outbox_channel(),
                    &payload,
                    now,
                )?
                .is_some()
                {
                    recorded.push(key);
                }
            }
            Ok(recorded)
        })
        .await?;
    Ok(keys)
}

/// The helpdesk the outbox sends replies to (`[intercom]`).
#[derive(Debug)]
pub struct Desk {
    client: Intercom,
}

impl Desk {
    pub fn new(config: &IntercomConfig) -> Self {
        Self::with_secrets(config, Secrets::default(), crate::deliver::DEFAULT_TIMEOUT)
    }

    /// Secrets from `secrets` instead of the environment and keychain, and another time
    /// limit per request (tests).
    pub fn with_secrets(config: &IntercomConfig, secrets: Secrets, timeout: Duration) -> Self {
        Desk {
            client: Intercom::new(config, secrets, timeout),
        }
    }

    pub fn client(&self) -> &Intercom {
        &self.client
    }

    /// Sends one conversation's reply or follow-up (called by the outbox): the reply, then
    /// the incident's tag; then records it as answered (or followed up).
    pub async fn deliver(
        &self,
        store: &Store,
        row: &OutboxRow,
    ) -> std::result::Result<Delivered, DeliveryError> {
        let m: SupportMessage = serde_json::from_str(&row.payload)
            .map_err(|e| permanent(Channel::Intercom, format!("unreadable support reply: {e}")))?;
        // Tried before: the reply may have arrived without being recorded.
        let retried = row.attempts > 0 || row.interrupted;
        if !(retried && self.client.has_reply(&m.conversation_id, &m.body).await?) {
            self.client.reply(&m.conversation_id, &m.body).await?;
        }
        if m.kind == Kind::Reply {
            let tag_id = self.client.tag_id(&m.tag).await?;
            self.client.tag(&m.conversation_id, &tag_id).await?;
        }
        let (incident, conversation) = (m.incident_id, m.conversation_id.clone());
        let mark = match m.kind {
            Kind::Reply => store::SupportMark::Answered,
            Kind::FollowUp => store::SupportMark::FollowedUp,
        };
        store
            .write(move |tx| {
                store::mark_support(tx, incident, &conversation, mark, OffsetDateTime::now_utc())
            })
            .await
            .map_err(|e| retry(Channel::Intercom, e.to_string(), None))?;
        Ok(Delivered {
            receipt: Some(format!("Intercom conversation {}", m.conversation_id)),
        })
    }
}

/// `(id, customer name)` of each conversation to send to, and the ids already done.
pub type Plan = (Vec<(String, Option<String>)>, Vec<String>);

/// Who a reply (or follow-up) goes to: `named` conversations, or without names every
/// conversation of the queue not answered yet (the follow-up: every one answered and not
/// followed up). Returns `(id, customer name)` to send to and the ids already done.
pub fn plan(
    kind: Kind,
    fetched: &[Conversation],
    seen: &BTreeMap<String, store::SeenConversation>,
    named: &[String],
    incident: i64,
) -> std::result::Result<Plan, String> {
    let done = |s: &store::SeenConversation| match kind {
        Kind::Reply => s.answered_at.is_some(),
        Kind::FollowUp => s.followed_up_at.is_some(),
    };
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    if named.is_empty() {
        match kind {
            Kind::Reply => {
                for c in fetched {
                    if seen.get(&c.id).is_some_and(done) {
                        skipped.push(c.id.clone());
                    } else {
                        targets.push((c.id.clone(), c.name.clone()));
                    }
                }
            }
            Kind::FollowUp => {
                for s in seen.values().filter(|s| s.answered_at.is_some()) {
                    if done(s) {
                        skipped.push(s.conversation_id.clone());
                    } else {
                        targets.push((s.conversation_id.clone(), s.customer_name.clone()));
                    }
                }
            }
        }
        return Ok((targets, skipped));
    }
    for id in named {
        let id = id.trim().trim_start_matches('#').to_owned();
        let Some(s) = seen.get(&id) else {
            return Err(format!(
                "conversation {id} is not in incident {incident}'s support queue"
            ));
        };
        if kind == Kind::FollowUp && s.answered_at.is_none() {
            return Err(format!(
                "conversation {id} got no outage reply: the follow-up goes to those that did"
            ));
        }
        if done(s) {
            skipped.push(id);
            continue;
        }
        let name = fetched
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.name.clone())
            .or_else(|| s.customer_name.clone());
        targets.push((id, name));
    }
    Ok((targets, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conversation(id: &str, waiting: Option<i64>, updated: i64, state: &str) -> Conversation {
        Conversation::from_intercom(&json!({
            "type": "conversation",
            "id": id,
            "created_at": updated - 10,
            "updated_at": updated,
            "waiting_since": waiting,
            "state": state,
            "source": {"type": "conversation", "subject": "", "body": "<p>It is <b>down</b></p>",
                       "author": {"type": "user", "id": "u1", "name": "Dana Scully", "email": "dana@example.com"}},
        }))
        .expect("a conversation")
    }

    #[test]
    fn results_merge_by_id_keep_open_recent_ones_and_put_the_longest_waiting_first() {
        let since = 1_000;
        let merged = merge(
            vec![
                (
                    "down".to_owned(),
                    vec![
                        conversation("1", Some(1_300), 1_400, "open"),
                        conversation("2", Some(1_100), 1_400, "open"),
                        conversation("old", Some(500), 900, "open"),
                    ],
                ),
                (
                    "error".to_owned(),
                    vec![
                        conversation("2", Some(1_100), 1_400, "open"),
                        conversation("3", None, 1_200, "open"),
                        conversation("closed", Some(1_050), 1_400, "closed"),
                    ],
                ),
            ],
            since,
        );
        let ids: Vec<&str> = merged.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["2", "3", "1"]);
        assert_eq!(merged[0].matched, ["down", "error"]);
        assert_eq!(
            merged[1].waiting_since, 1_200,
            "no waiting_since: the update"
        );
    }

    #[test]
    fn the_waiting_time_falls_back_to_the_customers_last_reply() {
        let c = Conversation::from_intercom(&json!({
            "id": 7, "updated_at": 2_000, "waiting_since": null,
            "statistics": {"last_contact_reply_at": 1_500},
            "source": {"subject": "<p>Login &amp; billing</p>", "body": "x",
                       "author": {"type": "admin", "name": "Support Bot"}},
        }))
        .expect("a conversation");
        assert_eq!(c.id, "7");
        assert_eq!(c.waiting_since, 1_500);
        assert_eq!(c.subject, "Login & billing");
        assert_eq!(c.name, None, "an admin is not the customer");
        let c = conversation("8", None, 3_000, "open");
        assert_eq!(c.subject, "It is down");
        assert_eq!(c.name.as_deref(), Some("Dana Scully"));
    }

    #[test]
    fn html_is_stripped_to_its_words() {
        assert_eq!(
            strip_html(
                "<p>Hi,</p><p>the <b>API</b> returns&nbsp;500 &lt;again&gt; &amp; again!</p>"
            ),
            "Hi, the API returns 500 <again> & again!"
        );
        assert_eq!(strip_html("plain   text\n here"), "plain text here");
        assert_eq!(to_html("a < b\n\nc & d"), "<p>a &lt; b</p><p>c &amp; d</p>");
        assert_eq!(strip_html(&to_html("a < b\n\nc & d")), "a < b c & d");
    }

    #[test]
    fn the_words_searched_are_the_keywords_and_the_components_words_once_each() {
        let config: IntercomConfig =
            toml::from_str("token = \"env:T\"\nadmin_id = 814860\nkeywords = [\"Down\", \"api\"]")
                .expect("config");
        assert_eq!(config.admin_id, "814860");
        assert_eq!(config.url, "https://api.intercom.io");
        let status: StatusConfig = toml::from_str(
            "product = \"Acme\"\ncomponents = [{ name = \"API\" }, { name = \"Billing portal\" }]",
        )
        .expect("status");
        assert_eq!(
            search_words(&config, Some(&status)),
            ["down", "api", "billing", "portal"]
        );
        let defaults: IntercomConfig =
            toml::from_str("token = \"env:T\"\nadmin_id = \"1\"").expect("config");
        assert_eq!(
            search_words(&defaults, None),
            ["down", "outage", "error", "slow"]
        );
    }

    #[test]
    fn a_keyword_of_two_words_is_refused() {
        let config: IntercomConfig =
            toml::from_str("token = \"env:T\"\nadmin_id = \"1\"\nkeywords = [\"need support\"]")
                .expect("config");
        let err = config.check().expect_err("refused");
        assert!(err.contains("single words"), "{err}");
    }

    fn canned(kind: Kind, status: &str, page_url: Option<&str>) -> Canned {
        Canned {
            kind,
            template: kind.default_template().to_owned(),
            status: status.to_owned(),
            page_url: page_url.map(str::to_owned),
            product: "Acme".to_owned(),
        }
    }

    #[test]
    fn the_canned_reply_names_the_customer_or_says_there() {
        let c = canned(
            Kind::Reply,
            "We are investigating problems with API since 14:05 CET.",
            Some("https://status.acme.test"),
        );
        assert_eq!(
            c.personalise(Some("Dana Scully")).expect("renders"),
            "Hi Dana, thanks for writing in. We are investigating problems with API since \
             14:05 CET. You can follow along at https://status.acme.test. We'll reply again \
             once it's fixed."
        );
        let without = canned(Kind::Reply, &generic(Kind::Reply, "Acme"), None);
        assert_eq!(
            without.personalise(None).expect("renders"),
            "Hi there, thanks for writing in. We know about a problem with Acme right now and \
             are working on a fix. We'll reply again once it's fixed."
        );
        let follow_up = canned(Kind::FollowUp, &generic(Kind::FollowUp, ""), None);
        assert_eq!(
            follow_up.personalise(Some("  ")).expect("renders"),
            "Hi there, following up on your message: the problem with our service is resolved \
             and everything works normally again. Thank you for your patience, and sorry for \
             the trouble."
        );
    }

    #[test]
    fn an_edited_text_is_a_template_too_and_a_typo_in_it_is_an_error() {
        let c = canned(Kind::Reply, "It is down.", None)
            .with_template("Hello {{ full_name }}: {{ status }}")
            .expect("compiles");
        assert_eq!(
            c.personalise(Some("Dana Scully")).expect("renders"),
            "Hello Dana Scully: It is down."
        );
        let typo = canned(Kind::Reply, "It is down.", None)
            .with_template("Hello {{ nmae }}")
            .expect("compiles");
        assert!(matches!(
            typo.personalise(Some("Dana")),
            Err(SupportError::Template(_))
        ));
    }

    #[test]
    fn keys_name_the_incident_the_conversation_and_the_kind() {
        assert_eq!(
            idempotency_key(12, "215", Kind::Reply),
            "support:12:215:reply"
        );
        assert_eq!(
            idempotency_key(12, "215", Kind::FollowUp),
            "support:12:215:follow-up"
        );
        assert_eq!(
            Kind::from_outbox_channel(Kind::FollowUp.outbox_channel()),
            Some(Kind::FollowUp)
        );
        assert_eq!(tag_name(12), "Foghorn incident 12");
    }
}
