//! The postmortem published as the Statuspage incident's postmortem: the draft is set to the
//! document (a PUT), then published (another PUT). Both replace rather than add, so publishing
//! twice leaves one postmortem; and a postmortem already published with the same words is
//! left alone, so subscribers are not mailed about it twice.
//!
//! Not through the outbox. The outbox holds messages the running engine sends in the
//! background and retries for up to hours, which suits a page nobody waits for; publishing a
//! postmortem is a person's deliberate act at the terminal, who waits for the answer and acts
//! on an error there and then. Queued, a publish that failed would go out later on its own,
//! possibly after the person had edited and published a newer document, and replace it with
//! the stale one. Done here, the call succeeds or fails before the command returns, and doing
//! it again is harmless because both requests are PUTs.

use time::OffsetDateTime;

use crate::config::StatuspageConfig;
use crate::deliver::{DeliveryError, Secrets};
use crate::incident::TimelineKind;
use crate::status::statuspage::Statuspage;
use crate::store::{self, Store, StoreError};

/// The timeline's kind for a published postmortem.
pub const TIMELINE_KIND: TimelineKind = TimelineKind::PostmortemPublished;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "[status.statuspage] is not configured: the postmortem is published as the Statuspage \
         incident's postmortem, so add [status.statuspage] (see the README's Status updates)"
    )]
    NotConfigured,
    #[error(
        "incident {0} was never posted to Statuspage: its postmortem has no Statuspage incident \
         to go on (post an update first: `foghorn status post --incident {0}`)"
    )]
    NeverPosted(i64),
    #[error("{0}")]
    Statuspage(#[from] DeliveryError),
    #[error("the database: {0}")]
    Store(#[from] StoreError),
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Sent and published on Statuspage's incident `0`.
    Sent(String),
    /// Statuspage's incident `0` already had this postmortem published: nothing was sent.
    Unchanged(String),
}

/// Publishes `markdown` as the postmortem of incident `incident`'s Statuspage incident (the
/// newest public incident about it that reached Statuspage), notifying the page's e-mail
/// subscribers when `notify`; records it on the incident's timeline as `actor`.
pub async fn publish(
    store: &Store,
    config: Option<&StatuspageConfig>,
    secrets: Secrets,
    incident: i64,
    markdown: &str,
    notify: bool,
    actor: &str,
) -> Result<Published, PublishError> {
    let config = config.ok_or(PublishError::NotConfigured)?;
    let id = store
        .read(|c| store::statuspage_id_of_incident(c, incident))?
        .ok_or(PublishError::NeverPosted(incident))?;
    let sp = Statuspage::new(config, secrets, crate::deliver::DEFAULT_TIMEOUT);
    if let Some(current) = sp.postmortem(&id).await? {
        if current.published && current.body.as_deref() == Some(markdown) {
            return Ok(Published::Unchanged(id));
        }
    }
    sp.put_postmortem(&id, markdown).await?;
    sp.publish_postmortem(&id, notify).await?;
    let detail = format!(
        "postmortem published to Statuspage (incident {id}{})",
        if notify { ", subscribers notified" } else { "" }
    );
    let actor = actor.to_owned();
    let at = OffsetDateTime::now_utc();
    store
        .write(move |tx| store::append_timeline(tx, incident, at, TIMELINE_KIND, &actor, &detail))
        .await?;
    Ok(Published::Sent(id))
}
