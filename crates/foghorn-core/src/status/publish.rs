//! Publishing an update everywhere in one action: the update and one outbox message per
//! destination are recorded in one transaction (idempotency key per update and destination),
//! then each destination is sent its copy; a destination that fails is retried on its own
//! and its receipt says why it waits.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::compose::Composed;
use super::page::{self, PageInput};
use super::statuspage::{IncidentUpdate, Statuspage};
use super::template;
use super::{ComponentStatus, Destination, PublicState, Result, StatusError};
use crate::config::{EscalationConfig, StatusConfig};
use crate::deliver::http::{permanent, Http, Secrets};
use crate::deliver::{Channel, Delivered, DeliveryError};
use crate::incident::TimelineKind;
use crate::store::{self, OutboxRow, Store};
use crate::time_fmt::rfc3339;

/// Each destination's message in the outbox: the update exactly as composed, so a retry
/// after a crash sends the same words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMessage {
    pub public_id: i64,
    pub update_id: i64,
    /// Foghorn's key for the public incident (Statuspage's metadata, the webhook's id).
    pub key: String,
    pub idempotency_key: String,
    pub product: String,
    pub title: String,
    pub state: PublicState,
    pub message: String,
    pub components: BTreeMap<String, ComponentStatus>,
    #[serde(with = "time::serde::rfc3339")]
    pub posted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update_at: Option<OffsetDateTime>,
}

/// What a post recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    pub public_id: i64,
    pub update_id: i64,
}

/// The destinations `[status]` configures and how to reach them.
#[derive(Debug)]
pub struct Publisher {
    config: StatusConfig,
    escalation: EscalationConfig,
    statuspage: Option<Statuspage>,
    secrets: Secrets,
    timeout: Duration,
    /// One page rebuild at a time: two would race to rename their files.
    page_lock: tokio::sync::Mutex<()>,
}

impl Publisher {
    pub fn new(config: StatusConfig, escalation: EscalationConfig) -> Self {
        Self::with_secrets(
            config,
            escalation,
            Secrets::default(),
            crate::deliver::DEFAULT_TIMEOUT,
        )
    }

    /// Secrets from `secrets` instead of the environment and keychain, and another time
    /// limit per request (tests).
    pub fn with_secrets(
        config: StatusConfig,
        escalation: EscalationConfig,
        secrets: Secrets,
        timeout: Duration,
    ) -> Self {
        Publisher {
            statuspage: config
                .statuspage
                .as_ref()
                .map(|sp| Statuspage::new(sp, secrets.clone(), timeout)),
            config,
            escalation,
            secrets,
            timeout,
            page_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &StatusConfig {
        &self.config
    }

    /// Where updates go, as configured.
    pub fn destinations(&self) -> Vec<Destination> {
        Destination::ALL
            .into_iter()
            .filter(|d| match d {
                Destination::Statuspage => self.config.statuspage.is_some(),
                Destination::Chat => {
                    self.config.chat && crate::deliver::slack::chat_configured(&self.escalation)
                }
                Destination::Page => self.config.page.is_some(),
                Destination::Webhook => self.config.webhook.is_some(),
            })
            .collect()
    }

    fn time_zone(&self) -> chrono_tz::Tz {
        self.config.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// How each destination will show `composed`, exactly.
    pub fn previews(&self, composed: &Composed) -> Vec<(Destination, String)> {
        let message = StatusMessage {
            public_id: composed.public_id.unwrap_or(0),
            update_id: 0,
            key: String::new(),
            idempotency_key: String::new(),
            product: self.config.product.clone(),
            title: composed.title.clone(),
            state: composed.state,
            message: composed.message.clone(),
            components: composed.components.clone(),
            posted_at: composed.at,
            next_update_at: composed.next_update_at,
        };
        composed
            .destinations
            .iter()
            .map(|d| (*d, self.preview(*d, &message)))
            .collect()
    }

    fn preview(&self, destination: Destination, m: &StatusMessage) -> String {
        let components = components_line(&m.components);
        match destination {
            Destination::Statuspage => format!(
                "{}\n{}: {}{}",
                m.title,
                m.state.label(),
                m.message,
                if components.is_empty() {
                    String::new()
                } else {
                    format!("\nComponents: {components}")
                }
            ),
            Destination::Chat => self.chat_text(m),
            Destination::Page => format!(
                "{} — {}\n{}\nPosted {}{}",
                m.title,
                m.state.label(),
                m.message,
                template::time_in(m.posted_at, self.time_zone(), m.posted_at),
                m.next_update_at
                    .map(|t| format!(
                        " · Next update by {}",
                        template::time_in(t, self.time_zone(), m.posted_at)
                    ))
                    .unwrap_or_default()
            ),
            Destination::Webhook => {
                serde_json::to_string_pretty(&webhook_body(m)).unwrap_or_default()
            }
        }
    }

    /// The team chat's text (Slack mrkdwn).
    fn chat_text(&self, m: &StatusMessage) -> String {
        let mut text = format!(
            "*[{}] {}* — {} status update\n{}",
            m.state.label(),
            slack_escape(&m.title),
            slack_escape(&m.product),
            slack_escape(&m.message)
        );
        let components = components_line(&m.components);
        if !components.is_empty() {
            text.push_str(&format!("\n_Components: {}_", slack_escape(&components)));
        }
        if let Some(next) = m.next_update_at {
            text.push_str(&format!(
                "\n_Next update by {}_",
                template::time_in(next, self.time_zone(), m.posted_at)
            ));
        }
        text
    }

    /// Records `composed` and its messages to every destination it names, in one
    /// transaction, with a line on its incident's timeline (the evidence there, not in the
    /// public text).
    pub async fn post(&self, store: &Store, composed: &Composed) -> Result<Posted> {
        if composed.destinations.is_empty() {
            return Err(StatusError::Invalid(
                "no destination: configure [status.page], [status.statuspage], [status.webhook] \
                 or the team chat"
                    .to_owned(),
            ));
        }
        let c = composed.clone();
        let product = self.config.product.clone();
        let posted = store
            .write(move |tx| {
                let update = store::NewUpdate {
                    title: &c.title,
                    state: c.state,
                    message: &c.message,
                    components: &c.components,
                    at: c.at,
                    next_update_at: c.next_update_at,
                    author: &c.author,
                    evidence: c.evidence.as_deref(),
                };
                let public_id = match c.public_id {
                    Some(id) => {
                        // Checked again inside the transaction: another post may have closed it.
                        let state: Option<String> = tx
                            .query_row(
                                "SELECT state FROM public_incidents WHERE id = ?1",
                                [id],
                                |r| r.get(0),
                            )
                            .ok();
                        match state.as_deref().and_then(PublicState::parse) {
                            None => return Ok(Err(StatusError::NoSuchPublicIncident(id))),
                            Some(s) if s.is_closed() => return Ok(Err(StatusError::Closed(id, s))),
                            Some(_) => id,
                        }
                    }
                    None => store::open_public_incident(tx, c.incident_id, &update)?,
                };
                let created: String = tx.query_row(
                    "SELECT created_at FROM public_incidents WHERE id = ?1",
                    [public_id],
                    |r| r.get(0),
                )?;
                let update_id = store::add_update(tx, public_id, &update)?;
                if let Some(incident) = c.incident_id {
                    let mut line = format!(
                        "status update {update_id} ({}) to {}: {}",
                        c.state,
                        c.destinations
                            .iter()
                            .map(|d| d.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        first_line(&c.message)
                    );
                    if let Some(next) = c.next_update_at {
                        line.push_str(&format!("; next update by {}", rfc3339(next)));
                    }
                    if let Some(evidence) = &c.evidence {
                        line.push_str(&format!(" [{evidence}]"));
                    }
                    store::append_timeline(
                        tx,
                        incident,
                        c.at,
                        TimelineKind::StatusUpdate,
                        &c.author,
                        &line,
                    )?;
                    if c.state.is_closed() {
                        // The public side is over: how it kept its word goes on the record.
                        if let Some(record) = store::comms_record_in(tx, incident, c.at)? {
                            store::append_timeline(
                                tx,
                                incident,
                                c.at,
                                TimelineKind::StatusRecord,
                                "foghorn",
                                &format!("Public updates: {}", record.summary),
                            )?;
                        }
                    }
                }
                let key = format!("public:{public_id}:{created}");
                for destination in &c.destinations {
                    let idempotency_key =
                        format!("status:{public_id}:update:{update_id}:{destination}");
                    let message = StatusMessage {
                        public_id,
                        update_id,
                        key: key.clone(),
                        idempotency_key: idempotency_key.clone(),
                        product: product.clone(),
                        title: c.title.clone(),
                        state: c.state,
                        message: c.message.clone(),
                        components: c.components.clone(),
                        posted_at: c.at,
                        next_update_at: c.next_update_at,
                    };
                    let payload = serde_json::to_string(&message)
                        .map_err(|e| store::StoreError::Corrupt(e.to_string()))?;
                    store::enqueue_in_sequence(
                        tx,
                        &idempotency_key,
                        c.incident_id,
                        destination.outbox_channel(),
                        &payload,
                        c.at,
                        &format!("status:{public_id}:{destination}"),
                        update_id,
                    )?;
                }
                Ok(Ok(Posted {
                    public_id,
                    update_id,
                }))
            })
            .await??;
        Ok(posted)
    }

    /// Sends one destination's copy of an update (called by the outbox).
    pub async fn deliver(
        &self,
        store: &Store,
        row: &OutboxRow,
        destination: Destination,
    ) -> std::result::Result<Delivered, DeliveryError> {
        let channel = match destination {
            Destination::Statuspage => Channel::Statuspage,
            Destination::Chat => Channel::Chat,
            Destination::Page => Channel::Page,
            Destination::Webhook => Channel::Webhook,
        };
        let m: StatusMessage = serde_json::from_str(&row.payload)
            .map_err(|e| permanent(channel, format!("unreadable status update: {e}")))?;
        match destination {
            Destination::Statuspage => self.to_statuspage(store, row, &m).await,
            Destination::Chat => {
                let metadata = serde_json::json!({
                    "event_type": "foghorn_status_update",
                    "event_payload": { "idempotency_key": m.idempotency_key, "public_incident": m.key },
                });
                crate::deliver::slack::post_text(
                    &self.escalation,
                    self.secrets.clone(),
                    self.timeout,
                    self.config.chat_channel.clone(),
                    &self.chat_text(&m),
                    metadata,
                )
                .await
            }
            Destination::Page => {
                let _one_at_a_time = self.page_lock.lock().await;
                let page = self
                    .config
                    .page
                    .clone()
                    .ok_or_else(|| permanent(channel, "[status.page] is not configured"))?;
                let dir = page.dir.clone();
                let store = store.clone();
                let config = self.config.clone();
                let built = tokio::task::spawn_blocking(move || {
                    build_page(&config, &store, &dir, OffsetDateTime::now_utc()).map(|_| dir)
                })
                .await
                .map_err(|e| permanent(channel, format!("the page build stopped: {e}")))?;
                let dir = match built {
                    Ok(dir) => dir,
                    // A full disk or a directory made unwritable may pass: tried again.
                    Err(e) => {
                        return Err(crate::deliver::http::retry(channel, e.to_string(), None))
                    }
                };
                let mut receipt = dir.join("index.html").display().to_string();
                if let Some(remote) = &page.git_remote {
                    let url = remote.resolve(&*self.secrets.0).map_err(|e| {
                        permanent(channel, format!("[status.page] git_remote: {e}"))
                    })?;
                    let message = format!(
                        "Status update {}: [{}] {}",
                        m.update_id,
                        m.state.label(),
                        m.title
                    );
                    let commit = super::git_push::commit_and_push(
                        &dir,
                        url.expose(),
                        &page.git_branch,
                        &message,
                    )
                    .await
                    .map_err(|e| crate::deliver::http::retry(channel, e, None))?;
                    receipt.push_str(&format!(
                        "; pushed {commit} to {} ({})",
                        remote.shown(),
                        page.git_branch
                    ));
                }
                Ok(Delivered {
                    receipt: Some(receipt),
                })
            }
            Destination::Webhook => {
                let hook = self
                    .config
                    .webhook
                    .as_ref()
                    .ok_or_else(|| permanent(channel, "[status.webhook] is not configured"))?;
                let url = hook
                    .url
                    .resolve(&*self.secrets.0)
                    .map_err(|e| permanent(channel, format!("[status.webhook] url: {e}")))?;
                let secret =
                    self.secrets
                        .get(channel, "[status.webhook] secret", Some(&hook.secret))?;
                let body = serde_json::to_vec(&webhook_body(&m))
                    .map_err(|e| permanent(channel, e.to_string()))?;
                let http = Http {
                    secrets: self.secrets.clone(),
                    ..Http::with_timeout(self.timeout)
                };
                crate::deliver::webhook::post_signed(
                    &http,
                    url.expose().trim(),
                    &secret,
                    &m.idempotency_key,
                    body,
                )
                .await
            }
        }
    }

    /// Creates the Statuspage incident with the first update that reaches it, patches it
    /// with every later one.
    async fn to_statuspage(
        &self,
        store: &Store,
        row: &OutboxRow,
        m: &StatusMessage,
    ) -> std::result::Result<Delivered, DeliveryError> {
        let sp = self.statuspage.as_ref().ok_or_else(|| {
            permanent(Channel::Statuspage, "[status.statuspage] is not configured")
        })?;
        let update = IncidentUpdate {
            key: &m.key,
            name: &m.title,
            status: m.state.as_str(),
            body: &m.message,
            components: &m.components,
        };
        let public_id = m.public_id;
        let known = store
            .read(|c| store::statuspage_id(c, public_id))
            .map_err(|e| crate::deliver::http::retry(Channel::Statuspage, e.to_string(), None))?;
        let retried = row.attempts > 0;
        let id = match known {
            // An earlier attempt may have arrived without being recorded.
            Some(id) if retried && sp.has_latest(&id, &update).await? => id,
            Some(id) => {
                sp.update(&id, &update).await?;
                id
            }
            // An earlier attempt may have created it: the incident carrying this key.
            None if retried => match sp.find(&m.key).await? {
                Some(id) => id,
                None => sp.create(&update).await?,
            },
            None => sp.create(&update).await?,
        };
        let recorded = id.clone();
        store
            .write(move |tx| store::set_statuspage_id(tx, public_id, &recorded))
            .await
            .map_err(|e| crate::deliver::http::retry(Channel::Statuspage, e.to_string(), None))?;
        Ok(Delivered { receipt: Some(id) })
    }
}

/// Public incidents the page is built from, newest first: far more than the page and its feed
/// show, so every open one is among them.
const PAGE_INCIDENTS: u32 = 1000;

/// Rewrites the self-hosted page in `dir` from the database.
pub fn build_page(
    config: &StatusConfig,
    store: &Store,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<()> {
    let incidents = store.public_incidents(PAGE_INCIDENTS)?;
    let components: Vec<String> = config.components.iter().map(|c| c.name.clone()).collect();
    let default_title = format!("{} status", config.product);
    let page_config = config.page.as_ref();
    let input = PageInput {
        product: &config.product,
        title: page_config
            .and_then(|p| p.title.as_deref())
            .unwrap_or(&default_title),
        url: page_config.and_then(|p| p.url.as_deref()),
        components: &components,
        incidents: &incidents,
        now,
        time_zone: config.time_zone.parse().unwrap_or(chrono_tz::UTC),
    };
    let files = page::render(&input)?;
    page::write(dir, &files)
}

/// The signed webhook's body: the public incident now and the update.
fn webhook_body(m: &StatusMessage) -> serde_json::Value {
    serde_json::json!({
        "type": "status_update",
        "idempotency_key": m.idempotency_key,
        "product": m.product,
        "incident": {
            "id": m.key,
            "title": m.title,
            "status": m.state,
            "components": m.components,
            "next_update_at": m.next_update_at.map(rfc3339),
        },
        "update": {
            "id": m.update_id,
            "status": m.state,
            "body": m.message,
            "created_at": rfc3339(m.posted_at),
        },
    })
}

/// "API: major outage, Dashboard: degraded performance".
fn components_line(components: &BTreeMap<String, ComponentStatus>) -> String {
    components
        .iter()
        .map(|(name, status)| format!("{name}: {}", status.label().to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Slack's three control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 140 {
        format!("{}…", line.chars().take(140).collect::<String>())
    } else {
        line.to_owned()
    }
}
