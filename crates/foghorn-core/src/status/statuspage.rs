//! Atlassian Statuspage's Manage API (<https://developer.statuspage.io/>): a public incident
//! is created once (`POST /pages/{page_id}/incidents`) and every later update patches that
//! same incident (`PATCH /pages/{page_id}/incidents/{incident_id}`), with the components'
//! statuses and `deliver_notifications`, so Statuspage's own subscribers, Twitter and
//! widgets hear of it.
//!
//! Statuspage has no idempotency key. The created incident carries Foghorn's public incident
//! key in its `metadata`. A message tried again (after a crash, a timeout or an error) first
//! looks: a create among the unresolved incidents for that key, so it never opens a second
//! incident; an update at the incident's newest update, so the same words are not posted
//! twice.
//!
//! Statuspage allows about one request a second per token and answers 420 or 429 beyond:
//! requests are spaced a second apart, and those answers are retried after `Retry-After`.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::ComponentStatus;
use crate::config::StatuspageConfig;
use crate::deliver::http::{check_status, json_answer, permanent, retry, Answer, Http, Secrets};
use crate::deliver::{Channel, DeliveryError};
use crate::secret::SecretRef;

/// The space between two requests with one token.
const SPACING: Duration = Duration::from_secs(1);
const CHANNEL: Channel = Channel::Statuspage;

/// What one update asks of Statuspage.
#[derive(Debug, Clone)]
pub struct IncidentUpdate<'a> {
    /// Foghorn's key for the public incident, kept in the incident's metadata.
    pub key: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    pub body: &'a str,
    pub components: &'a BTreeMap<String, ComponentStatus>,
}

#[derive(Debug)]
pub struct Statuspage {
    url: String,
    page_id: String,
    token: SecretRef,
    component_ids: BTreeMap<String, String>,
    deliver_notifications: bool,
    http: Http,
    last_request: tokio::sync::Mutex<Option<Instant>>,
}

impl Statuspage {
    pub fn new(config: &StatuspageConfig, secrets: Secrets, timeout: Duration) -> Self {
        let mut http = Http::with_timeout(timeout);
        http.secrets = secrets;
        Statuspage {
            url: config.url.trim_end_matches('/').to_owned(),
            page_id: config.page_id.clone(),
            token: config.token.clone(),
            component_ids: config.component_ids.clone(),
            deliver_notifications: config.deliver_notifications,
            http,
            last_request: tokio::sync::Mutex::new(None),
        }
    }

    /// The incident's fields: Statuspage's component ids with their statuses (components
    /// without an id are left out: Statuspage would not know them).
    fn incident_body(&self, update: &IncidentUpdate<'_>, create: bool) -> Value {
        let components: serde_json::Map<String, Value> = update
            .components
            .iter()
            .filter_map(|(name, status)| {
                self.component_ids
                    .get(name)
                    .map(|id| (id.clone(), Value::from(status.as_str())))
            })
            .collect();
        let mut incident = json!({
            "name": update.name,
            "status": update.status,
            "body": update.body,
            "deliver_notifications": self.deliver_notifications,
        });
        if !components.is_empty() {
            incident["component_ids"] = components.keys().cloned().collect::<Vec<_>>().into();
            incident["components"] = Value::Object(components);
        }
        if create {
            incident["metadata"] = json!({ "foghorn": { "key": update.key } });
        }
        json!({ "incident": incident })
    }

    /// Waits for the token's turn, then sends; an answer that is not a success is an error.
    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, DeliveryError> {
        let answer = self.exchange(what, request).await?;
        check_status(CHANNEL, what, &answer)?;
        Ok(answer)
    }

    /// Waits for the token's turn, then sends; any answer but a rate limit is returned.
    async fn exchange(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, DeliveryError> {
        let token =
            self.http
                .secrets
                .get(CHANNEL, "[status.statuspage] token", Some(&self.token))?;
        let mut auth = HeaderValue::from_str(&format!("OAuth {token}"))
            .map_err(|_| permanent(CHANNEL, "the Statuspage token is not a valid header"))?;
        auth.set_sensitive(true);
        let request = request
            .header(AUTHORIZATION, auth)
            .header(reqwest::header::ACCEPT, "application/json");
        let mut last = self.last_request.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + SPACING).await;
        }
        let answer = self.http.send(CHANNEL, what, request).await;
        *last = Some(Instant::now());
        drop(last);
        let answer = answer?;
        // 420 is Statuspage's own "enhance your calm".
        if answer.status.as_u16() == 420 {
            return Err(retry(
                CHANNEL,
                format!("{what}: HTTP 420 (rate limited)"),
                answer.retry_after(),
            ));
        }
        Ok(answer)
    }

    fn incidents_url(&self) -> String {
        format!("{}/pages/{}/incidents", self.url, self.page_id)
    }

    /// Creates the incident; returns Statuspage's id for it.
    pub async fn create(&self, update: &IncidentUpdate<'_>) -> Result<String, DeliveryError> {
        const WHAT: &str = "Statuspage: create incident";
        let request = self
            .http
            .client
            .post(self.incidents_url())
            .json(&self.incident_body(update, true));
        let answer = self.send(WHAT, request).await?;
        incident_id(WHAT, &answer.body)
    }

    /// Posts an update to the incident `id`.
    pub async fn update(&self, id: &str, update: &IncidentUpdate<'_>) -> Result<(), DeliveryError> {
        const WHAT: &str = "Statuspage: update incident";
        let request = self
            .http
            .client
            .patch(format!("{}/{}", self.incidents_url(), urlencode(id)))
            .json(&self.incident_body(update, false));
        self.send(WHAT, request).await.map(|_| ())
    }

    /// Whether the incident's newest update already says `update` (an earlier attempt reached
    /// Statuspage and a crash or a lost answer kept that from being recorded).
    pub async fn has_latest(
        &self,
        id: &str,
        update: &IncidentUpdate<'_>,
    ) -> Result<bool, DeliveryError> {
        const WHAT: &str = "Statuspage: read incident";
        let request = self
            .http
            .client
            .get(format!("{}/{}", self.incidents_url(), urlencode(id)));
        let answer = self.send(WHAT, request).await?;
        let incident = json_answer(CHANNEL, WHAT, &answer)?;
        // Statuspage lists an incident's updates newest first.
        let newest = incident
            .get("incident_updates")
            .and_then(Value::as_array)
            .and_then(|updates| updates.first());
        Ok(newest.is_some_and(|u| {
            u.get("status").and_then(Value::as_str) == Some(update.status)
                && u.get("body").and_then(Value::as_str) == Some(update.body)
        }))
    }

    /// The unresolved incident Foghorn created for `key`, if a crash interrupted the create
    /// after Statuspage stored it.
    pub async fn find(&self, key: &str) -> Result<Option<String>, DeliveryError> {
        const WHAT: &str = "Statuspage: unresolved incidents";
        let request = self
            .http
            .client
            .get(format!("{}/unresolved", self.incidents_url()));
        let answer = self.send(WHAT, request).await?;
        let list: Vec<Value> = serde_json::from_slice(&answer.body)
            .map_err(|e| retry(CHANNEL, format!("{WHAT}: unexpected answer: {e}"), None))?;
        Ok(list.iter().find_map(|incident| {
            let theirs = incident.pointer("/metadata/foghorn/key")?.as_str()?;
            (theirs == key)
                .then(|| incident.get("id")?.as_str().map(str::to_owned))
                .flatten()
        }))
    }
}

/// An incident's postmortem as Statuspage has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostmortemState {
    /// What readers see, once published.
    pub body: Option<String>,
    pub body_draft: Option<String>,
    pub published: bool,
}

impl Statuspage {
    fn postmortem_url(&self, incident: &str) -> String {
        format!(
            "{}/{}/postmortem",
            self.incidents_url(),
            urlencode(incident)
        )
    }

    /// The incident's postmortem; `None` when it has none yet (404).
    pub async fn postmortem(
        &self,
        incident: &str,
    ) -> Result<Option<PostmortemState>, DeliveryError> {
        const WHAT: &str = "Statuspage: read postmortem";
        let request = self.http.client.get(self.postmortem_url(incident));
        let answer = self.exchange(WHAT, request).await?;
        if answer.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        check_status(CHANNEL, WHAT, &answer)?;
        let value = json_answer(CHANNEL, WHAT, &answer)?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(Some(PostmortemState {
            body: text("body"),
            body_draft: text("body_draft"),
            published: text("published_at").is_some_and(|t| !t.is_empty()),
        }))
    }

    /// Sets the postmortem's draft to `body` (created or replaced: a PUT, so sending it twice
    /// leaves the same one postmortem).
    pub async fn put_postmortem(&self, incident: &str, body: &str) -> Result<(), DeliveryError> {
        const WHAT: &str = "Statuspage: postmortem draft";
        let request = self
            .http
            .client
            .put(self.postmortem_url(incident))
            .json(&json!({ "postmortem": { "body_draft": body } }));
        self.send(WHAT, request).await.map(|_| ())
    }

    /// Publishes the draft; `notify_subscribers` mails the page's subscribers (Twitter never:
    /// a postmortem is not a tweet).
    pub async fn publish_postmortem(
        &self,
        incident: &str,
        notify_subscribers: bool,
    ) -> Result<(), DeliveryError> {
        const WHAT: &str = "Statuspage: publish postmortem";
        let request = self
            .http
            .client
            .put(format!("{}/publish", self.postmortem_url(incident)))
            .json(&json!({ "postmortem": {
                "notify_subscribers": notify_subscribers,
                "notify_twitter": false,
            } }));
        self.send(WHAT, request).await.map(|_| ())
    }
}

fn incident_id(what: &str, body: &[u8]) -> Result<String, DeliveryError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| permanent(CHANNEL, format!("{what}: unexpected answer: {e}")))?;
    value
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| permanent(CHANNEL, format!("{what}: the answer has no incident id")))
}

/// A path segment as Statuspage's ids are (letters and digits); anything else escaped.
fn urlencode(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Statuspage {
        Statuspage::new(
            &StatuspageConfig {
                url: "http://127.0.0.1:1/v1/".to_owned(),
                page_id: "kctbh9vrtdwd".to_owned(),
                token: SecretRef::Env("NONE".to_owned()),
                component_ids: BTreeMap::from([("API".to_owned(), "8kbf7d35c070".to_owned())]),
                deliver_notifications: true,
            },
            Secrets::default(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn components_go_by_statuspage_id_and_the_key_rides_in_metadata_on_create_only() {
        let components = BTreeMap::from([
            ("API".to_owned(), ComponentStatus::MajorOutage),
            ("Unmapped".to_owned(), ComponentStatus::PartialOutage),
        ]);
        let update = IncidentUpdate {
            key: "public:1",
            name: "API errors",
            status: "investigating",
            body: "We are investigating",
            components: &components,
        };
        let sp = client();
        let created = sp.incident_body(&update, true);
        assert_eq!(
            created["incident"]["components"],
            json!({"8kbf7d35c070": "major_outage"})
        );
        assert_eq!(
            created["incident"]["component_ids"],
            json!(["8kbf7d35c070"])
        );
        assert_eq!(
            created["incident"]["metadata"]["foghorn"]["key"],
            "public:1"
        );
        assert_eq!(created["incident"]["deliver_notifications"], true);
        assert!(sp.incident_body(&update, false)["incident"]
            .get("metadata")
            .is_none());
        assert_eq!(
            sp.incidents_url(),
            "http://127.0.0.1:1/v1/pages/kctbh9vrtdwd/incidents"
        );
    }
}
