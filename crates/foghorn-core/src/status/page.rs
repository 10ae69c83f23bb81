//! The self-hosted status page: four static files rebuilt from the public incidents, meant to
//! be served from somewhere that stays up when the product is down (GitHub Pages, a bucket).
//!
//! - `index.html`: the page itself, with no JavaScript and nothing loaded from elsewhere, so
//!   it renders from a cache or a plain file server during an outage.
//! - `history.atom`: every update as an Atom 1.0 entry (RFC 4287), for feed readers.
//! - `api/v2/summary.json` and `api/v2/status.json`: the same shapes as Atlassian Statuspage's
//!   public status API (<https://developer.statuspage.io>, `/api/v2/summary.json` of any
//!   Statuspage page), so widgets and monitors written for Statuspage read this page too.
//!
//! Everything is derived from the input alone (no clock is read), so the same incidents always
//! give the same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono_tz::Tz;
use serde::Serialize;
use time::OffsetDateTime;

use super::{ComponentStatus, PublicIncident, PublicState, PublicUpdate, Result, StatusError};
use crate::time_fmt::rfc3339;

/// Resolved incidents and completed maintenances listed under "Past incidents".
pub const PAST_INCIDENTS: usize = 50;
/// Updates in `history.atom`.
pub const FEED_ENTRIES: usize = 100;

/// What the page is built from.
#[derive(Debug, Clone, Copy)]
pub struct PageInput<'a> {
    pub product: &'a str,
    /// The heading, e.g. "Acme status".
    pub title: &'a str,
    /// Where the page is served; `None` = relative links only.
    pub url: Option<&'a str>,
    /// The configured component names, in order.
    pub components: &'a [String],
    /// Every public incident, newest first, each with all its updates, oldest update first.
    pub incidents: &'a [PublicIncident],
    pub now: OffsetDateTime,
    /// The zone times are shown in on the page (the JSON and the feed are in UTC).
    pub time_zone: Tz,
}

/// The page's files, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFiles {
    pub index_html: String,
    pub history_atom: String,
    pub summary_json: String,
    pub status_json: String,
}

/// Renders the four files. Fails only if a template or the feed cannot be written, which
/// would be a bug here rather than bad input: every text is escaped.
pub fn render(input: &PageInput<'_>) -> Result<PageFiles> {
    let table = Components::new(input);
    let summary = api::summary(input, &table);
    Ok(PageFiles {
        index_html: html::render(input, &table)?,
        history_atom: feed::render(input)?,
        summary_json: json("summary.json", &summary)?,
        status_json: json(
            "status.json",
            &api::StatusFile {
                page: summary.page.clone(),
                status: summary.status,
            },
        )?,
    })
}

fn json(name: &str, value: &impl Serialize) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| StatusError::Template(format!("{name}: {e}")))
}

/// Writes the four files into `dir` (creating `dir` and `dir/api/v2`), each atomically (temp
/// file in the same directory, fsync, rename), so a reader or a crash never sees half a file.
///
/// The files are readable by everyone (0644 on Unix): they are public, and the web server
/// that serves them usually runs as another user.
pub fn write(dir: &Path, files: &PageFiles) -> Result<()> {
    let api = dir.join("api").join("v2");
    std::fs::create_dir_all(&api).map_err(|source| StatusError::Page {
        dir: api.clone(),
        source,
    })?;
    // The JSON first and the page last: a reader who follows the page to the API finds data
    // at least as new as the page.
    replace(&api, "summary.json", &files.summary_json)?;
    replace(&api, "status.json", &files.status_json)?;
    replace(dir, "history.atom", &files.history_atom)?;
    replace(dir, "index.html", &files.index_html)
}

/// Replaces `dir/name` by a complete new file: a crash leaves either the old or the new one.
fn replace(dir: &Path, name: &str, text: &str) -> Result<()> {
    let fail = |source: std::io::Error| StatusError::Page {
        dir: dir.to_path_buf(),
        source: std::io::Error::new(source.kind(), format!("{name}: {source}")),
    };
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(dir.join(name)).map_err(|e| fail(e.error))?;
    // The rename itself is durable only once the directory is synced (not possible on
    // Windows, where opening a directory as a file fails).
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail)?;
    Ok(())
}

/// The overall indicator and its description (`("none", "All Systems Operational")`), from
/// each configured component's current status, the way Statuspage computes its top-level
/// status ("Top-level status and incident impact calculations",
/// <https://support.atlassian.com/statuspage/docs/top-level-status-and-incident-impact-calculations/>):
///
/// | worst component status | how many        | indicator  | description                  |
/// |------------------------|-----------------|------------|------------------------------|
/// | operational            | all             | `none`     | All Systems Operational      |
/// | under_maintenance      | any             | `minor`    | Service Under Maintenance    |
/// | degraded_performance   | one component   | `minor`    | Partially Degraded Service   |
/// | degraded_performance   | some (of 2+)    | `minor`    | Partially Degraded Service   |
/// | degraded_performance   | all (2+)        | `minor`    | Degraded System Service      |
/// | partial_outage         | some            | `minor`    | Minor Service Outage         |
/// | partial_outage         | all             | `major`    | Partial System Outage        |
/// | major_outage           | some            | `major`    | Partial System Outage        |
/// | major_outage           | all             | `critical` | Major System Outage          |
///
/// The indicator's documented values are `none`, `minor`, `major` and `critical`
/// (<https://developer.statuspage.io>, status.json), so maintenance alone is `minor` here;
/// live Statuspage pages have been seen answering `maintenance`, which Statuspage does not
/// document. A page without configured components follows the components named by its open
/// incidents, as Statuspage says an active incident does.
pub fn indicator(input: &PageInput<'_>) -> (&'static str, &'static str) {
    let statuses: Vec<ComponentStatus> = if input.components.is_empty() {
        let mut open = BTreeMap::new();
        for incident in input.incidents {
            for (name, status) in incident.open_components() {
                let worst = open.entry(name).or_insert(status);
                *worst = (*worst).max(status);
            }
        }
        open.into_values().collect()
    } else {
        input
            .components
            .iter()
            .map(|name| current_status(input.incidents, name))
            .collect()
    };
    rollup(&statuses)
}

/// The table in [`indicator`].
fn rollup(statuses: &[ComponentStatus]) -> (&'static str, &'static str) {
    use ComponentStatus::*;
    let worst = statuses.iter().copied().max().unwrap_or(Operational);
    let all = statuses.iter().all(|s| *s == worst);
    match worst {
        Operational => ("none", "All Systems Operational"),
        UnderMaintenance => ("minor", "Service Under Maintenance"),
        DegradedPerformance if all && statuses.len() > 1 => ("minor", "Degraded System Service"),
        DegradedPerformance => ("minor", "Partially Degraded Service"),
        PartialOutage if all => ("major", "Partial System Outage"),
        PartialOutage => ("minor", "Minor Service Outage"),
        MajorOutage if all => ("critical", "Major System Outage"),
        MajorOutage => ("major", "Partial System Outage"),
    }
}

/// A component's status now: the worst among the open incidents affecting it, else
/// operational (a closed incident no longer says anything about the present).
fn current_status(incidents: &[PublicIncident], name: &str) -> ComponentStatus {
    incidents
        .iter()
        .flat_map(PublicIncident::open_components)
        .filter(|(n, _)| *n == name)
        .map(|(_, status)| status)
        .max()
        .unwrap_or(ComponentStatus::Operational)
}

/// An incident's impact in Statuspage's words: from the worst status it ever gave a
/// component (`major_outage` → `critical`, `partial_outage` → `major`,
/// `degraded_performance` → `minor`, else `none`); `maintenance` for a maintenance.
fn impact(incident: &PublicIncident) -> &'static str {
    if incident.state.is_maintenance() {
        return "maintenance";
    }
    let worst = incident
        .components
        .values()
        .chain(incident.updates.iter().flat_map(|u| u.components.values()))
        .copied()
        .max();
    match worst {
        Some(ComponentStatus::MajorOutage) => "critical",
        Some(ComponentStatus::PartialOutage) => "major",
        Some(ComponentStatus::DegradedPerformance) => "minor",
        _ => "none",
    }
}

/// A stable id for a component name: lower-case letters and digits joined by `-`
/// ("Web app (EU)" → `web-app-eu`).
fn slug(name: &str) -> String {
    let mut out = String::new();
    for word in name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Every component the page knows: the configured ones in order, then any others that an
/// incident names, each with a unique slug and its current status.
#[derive(Debug)]
struct Components<'a> {
    rows: Vec<Row<'a>>,
    configured: usize,
}

#[derive(Debug)]
struct Row<'a> {
    id: String,
    name: &'a str,
    status: ComponentStatus,
    /// 1-based, as Statuspage counts.
    position: usize,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl<'a> Components<'a> {
    fn new(input: &PageInput<'a>) -> Self {
        let mut names: Vec<&'a str> = input.components.iter().map(String::as_str).collect();
        let configured = names.len();
        for incident in input.incidents {
            for name in incident.components.keys() {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        let page_updated = page_updated_at(input);
        let mut taken: Vec<String> = Vec::new();
        let rows = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let base = match slug(name) {
                    s if s.is_empty() => format!("component-{}", i + 1),
                    s => s,
                };
                let mut id = base.clone();
                let mut n = 1;
                while taken.contains(&id) {
                    n += 1;
                    id = format!("{base}-{n}");
                }
                taken.push(id.clone());
                // Foghorn keeps no history of components themselves: their times are those
                // of the incidents that touched them, else the page's.
                let touching = input
                    .incidents
                    .iter()
                    .filter(|inc| inc.components.contains_key(name));
                let created_at = touching.clone().map(|inc| inc.created_at).min();
                let updated_at = touching.map(|inc| inc.updated_at).max();
                Row {
                    id,
                    name,
                    status: current_status(input.incidents, name),
                    position: i + 1,
                    created_at: created_at.unwrap_or(page_updated),
                    updated_at: updated_at.unwrap_or(page_updated),
                }
            })
            .collect();
        Components { rows, configured }
    }

    fn configured(&self) -> &[Row<'a>] {
        &self.rows[..self.configured]
    }

    fn get(&self, name: &str) -> Option<&Row<'a>> {
        self.rows.iter().find(|row| row.name == name)
    }
}

/// When the page last changed: its newest incident change, or `now` for a page without any.
fn page_updated_at(input: &PageInput<'_>) -> OffsetDateTime {
    input
        .incidents
        .iter()
        .map(|i| i.updated_at)
        .max()
        .unwrap_or(input.now)
}

/// Incidents and maintenances that are over, the most recently closed first.
fn past<'a>(input: &PageInput<'a>) -> Vec<&'a PublicIncident> {
    let mut past: Vec<&PublicIncident> = input
        .incidents
        .iter()
        .filter(|i| i.state.is_closed())
        .collect();
    past.sort_by_key(|i| std::cmp::Reverse(i.resolved_at.unwrap_or(i.updated_at)));
    past.truncate(PAST_INCIDENTS);
    past
}

/// `summary.json` and `status.json` in Statuspage's shapes.
mod api {
    use super::*;

    #[derive(Debug, Serialize)]
    pub(super) struct Summary<'a> {
        pub page: Page<'a>,
        pub status: Status,
        pub components: Vec<Component<'a>>,
        pub incidents: Vec<Incident<'a>>,
        pub scheduled_maintenances: Vec<Incident<'a>>,
    }

    #[derive(Debug, Serialize)]
    pub(super) struct StatusFile<'a> {
        pub page: Page<'a>,
        pub status: Status,
    }

    #[derive(Debug, Clone, Serialize)]
    pub(super) struct Page<'a> {
        pub id: String,
        pub name: &'a str,
        /// The configured page url, or "" when the page only knows relative links.
        pub url: &'a str,
        pub time_zone: &'static str,
        pub updated_at: String,
    }

    #[derive(Debug, Clone, Copy, Serialize)]
    pub(super) struct Status {
        pub indicator: &'static str,
        pub description: &'static str,
    }

    #[derive(Debug, Serialize)]
    pub(super) struct Component<'a> {
        id: String,
        name: &'a str,
        status: ComponentStatus,
        created_at: String,
        updated_at: String,
        position: usize,
        description: Option<&'a str>,
        showcase: bool,
        start_date: Option<String>,
        group_id: Option<String>,
        page_id: String,
        group: bool,
        only_show_if_degraded: bool,
    }

    #[derive(Debug, Serialize)]
    pub(super) struct Incident<'a> {
        id: String,
        name: &'a str,
        status: PublicState,
        created_at: String,
        updated_at: String,
        monitoring_at: Option<String>,
        resolved_at: Option<String>,
        impact: &'static str,
        shortlink: String,
        started_at: String,
        page_id: String,
        incident_updates: Vec<Update<'a>>,
        components: Vec<Component<'a>>,
        /// Present on scheduled maintenances only.
        #[serde(flatten)]
        schedule: Option<Schedule>,
    }

    #[derive(Debug, Serialize)]
    struct Schedule {
        scheduled_for: String,
        scheduled_until: Option<String>,
    }

    #[derive(Debug, Serialize)]
    struct Update<'a> {
        id: String,
        status: PublicState,
        body: &'a str,
        incident_id: String,
        created_at: String,
        updated_at: String,
        display_at: String,
        /// `null` when the update changed no component, as Statuspage writes it.
        affected_components: Option<Vec<Affected<'a>>>,
        deliver_notifications: bool,
        custom_tweet: Option<String>,
        tweet_id: Option<String>,
    }

    #[derive(Debug, Serialize)]
    struct Affected<'a> {
        code: String,
        name: &'a str,
        old_status: ComponentStatus,
        new_status: ComponentStatus,
    }

    pub(super) fn summary<'a>(input: &PageInput<'a>, table: &Components<'a>) -> Summary<'a> {
        let page_id = page_id(input);
        let (indicator, description) = indicator(input);
        let open = input.incidents.iter().filter(|i| !i.state.is_closed());
        Summary {
            page: Page {
                id: page_id.clone(),
                name: input.title,
                url: input.url.unwrap_or(""),
                time_zone: input.time_zone.name(),
                updated_at: rfc3339(page_updated_at(input)),
            },
            status: Status {
                indicator,
                description,
            },
            components: table
                .configured()
                .iter()
                .map(|row| component(row, &page_id))
                .collect(),
            incidents: open
                .clone()
                .filter(|i| !i.state.is_maintenance())
                .map(|i| incident(input, table, i, &page_id))
                .collect(),
            scheduled_maintenances: open
                .filter(|i| i.state.is_maintenance())
                .map(|i| incident(input, table, i, &page_id))
                .collect(),
        }
    }

    /// Statuspage's page ids are opaque strings; the product's slug is stable and readable.
    fn page_id(input: &PageInput<'_>) -> String {
        match slug(input.product) {
            s if s.is_empty() => "status".to_owned(),
            s => s,
        }
    }

    fn component<'a>(row: &Row<'a>, page_id: &str) -> Component<'a> {
        Component {
            id: row.id.clone(),
            name: row.name,
            status: row.status,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
            position: row.position,
            description: None,
            showcase: true,
            start_date: None,
            group_id: None,
            page_id: page_id.to_owned(),
            group: false,
            only_show_if_degraded: false,
        }
    }

    fn incident<'a>(
        input: &PageInput<'a>,
        table: &Components<'a>,
        incident: &'a PublicIncident,
        page_id: &str,
    ) -> Incident<'a> {
        let id = incident.id.to_string();
        let monitoring_at = incident
            .updates
            .iter()
            .find(|u| u.state == PublicState::Monitoring)
            .map(|u| rfc3339(u.posted_at));
        // Each update's old status is what the update before it (or nothing: operational)
        // had set for that component.
        let mut last: BTreeMap<&str, ComponentStatus> = BTreeMap::new();
        let mut updates: Vec<Update<'a>> = incident
            .updates
            .iter()
            .map(|u| {
                let affected: Vec<Affected<'a>> = u
                    .components
                    .iter()
                    .map(|(name, new)| {
                        let old = last
                            .insert(name.as_str(), *new)
                            .unwrap_or(ComponentStatus::Operational);
                        Affected {
                            code: table.get(name).map_or_else(|| slug(name), |r| r.id.clone()),
                            name,
                            old_status: old,
                            new_status: *new,
                        }
                    })
                    .collect();
                update(u, &id, affected)
            })
            .collect();
        updates.reverse();
        let schedule = incident.state.is_maintenance().then(|| Schedule {
            scheduled_for: rfc3339(incident.created_at),
            scheduled_until: None,
        });
        Incident {
            name: &incident.title,
            status: incident.state,
            created_at: rfc3339(incident.created_at),
            updated_at: rfc3339(incident.updated_at),
            monitoring_at,
            resolved_at: incident.resolved_at.map(rfc3339),
            impact: impact(incident),
            shortlink: super::link(input, incident),
            started_at: rfc3339(incident.created_at),
            page_id: page_id.to_owned(),
            incident_updates: updates,
            components: incident
                .components
                .keys()
                .filter_map(|name| table.get(name))
                .map(|row| component(row, page_id))
                .collect(),
            schedule,
            id,
        }
    }

    fn update<'a>(
        u: &'a PublicUpdate,
        incident_id: &str,
        affected: Vec<Affected<'a>>,
    ) -> Update<'a> {
        let at = rfc3339(u.posted_at);
        Update {
            id: u.id.to_string(),
            status: u.state,
            body: &u.message,
            incident_id: incident_id.to_owned(),
            created_at: at.clone(),
            updated_at: at.clone(),
            display_at: at,
            affected_components: (!affected.is_empty()).then_some(affected),
            deliver_notifications: true,
            custom_tweet: None,
            tweet_id: None,
        }
    }
}

/// The link to an incident on the page: absolute when the page's url is known.
fn link(input: &PageInput<'_>, incident: &PublicIncident) -> String {
    let anchor = format!("#incident-{}", incident.id);
    match input.url {
        Some(url) => format!("{url}{anchor}"),
        None => format!("index.html{anchor}"),
    }
}

/// `history.atom`.
mod feed {
    use atom_syndication::{Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Text};

    use super::*;

    pub(super) fn render(input: &PageInput<'_>) -> Result<String> {
        let mut updates: Vec<(&PublicIncident, &PublicUpdate)> = input
            .incidents
            .iter()
            .flat_map(|i| i.updates.iter().map(move |u| (i, u)))
            .collect();
        updates.sort_by_key(|(_, u)| std::cmp::Reverse((u.posted_at, u.id)));
        updates.truncate(FEED_ENTRIES);

        let page = input.url.unwrap_or("index.html");
        let mut links = vec![alternate(page.to_owned())];
        if let Some(url) = input.url {
            links.push(Link {
                href: format!("{}history.atom", with_slash(url)),
                rel: "self".to_owned(),
                mime_type: Some("application/atom+xml".to_owned()),
                ..Link::default()
            });
        }
        let feed = Feed {
            title: Text::plain(input.title),
            id: urn(input, "feed"),
            updated: chrono_time(updates.first().map_or(input.now, |(_, u)| u.posted_at)),
            authors: vec![Person {
                name: input.product.to_owned(),
                ..Person::default()
            }],
            generator: Some(Generator {
                value: "Foghorn".to_owned(),
                ..Generator::default()
            }),
            links,
            entries: updates
                .into_iter()
                .map(|(incident, update)| entry(input, incident, update))
                .collect(),
            ..Feed::default()
        };
        let bytes = feed
            .write_to(Vec::new())
            .map_err(|e| StatusError::Template(format!("history.atom: {e}")))?;
        String::from_utf8(bytes).map_err(|e| StatusError::Template(format!("history.atom: {e}")))
    }

    fn entry(input: &PageInput<'_>, incident: &PublicIncident, update: &PublicUpdate) -> Entry {
        let at = chrono_time(update.posted_at);
        Entry {
            title: Text::plain(format!("[{}] {}", update.state.label(), incident.title)),
            id: urn(input, &format!("update-{}", update.id)),
            updated: at,
            published: Some(at),
            links: vec![alternate(link(input, incident))],
            content: Some(Content {
                value: Some(update.message.clone()),
                content_type: Some("text".to_owned()),
                ..Content::default()
            }),
            ..Entry::default()
        }
    }

    fn alternate(href: String) -> Link {
        Link {
            href,
            rel: "alternate".to_owned(),
            mime_type: Some("text/html".to_owned()),
            ..Link::default()
        }
    }

    fn with_slash(url: &str) -> String {
        if url.ends_with('/') {
            url.to_owned()
        } else {
            format!("{url}/")
        }
    }

    /// A permanent id (RFC 4287 §4.2.6): a name-based UUID (v5) of the page's url, or its
    /// title when it has none, and the item, so a rebuilt feed keeps every id.
    fn urn(input: &PageInput<'_>, item: &str) -> String {
        let page = input.url.unwrap_or(input.title);
        let name = format!("{page}#{item}");
        format!(
            "urn:uuid:{}",
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
        )
    }

    fn chrono_time(t: OffsetDateTime) -> FixedDateTime {
        chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
            .unwrap_or_default()
            .fixed_offset()
    }
}

/// `index.html`.
mod html {
    use minijinja::value::Serde;
    use minijinja::{AutoEscape, Environment};

    use super::*;

    #[derive(Debug, Serialize)]
    struct View<'a> {
        title: &'a str,
        product: &'a str,
        url: Option<&'a str>,
        indicator: &'static str,
        description: &'static str,
        updated: When,
        components: Vec<ComponentView<'a>>,
        open: Vec<IncidentView<'a>>,
        maintenances: Vec<IncidentView<'a>>,
        past: Vec<IncidentView<'a>>,
        past_limit: usize,
    }

    #[derive(Debug, Serialize)]
    struct ComponentView<'a> {
        name: &'a str,
        status: &'static str,
        label: &'static str,
    }

    #[derive(Debug, Serialize)]
    struct IncidentView<'a> {
        id: i64,
        title: &'a str,
        state: &'static str,
        impact: &'static str,
        components: Vec<ComponentView<'a>>,
        next_update: Option<When>,
        closed: Option<When>,
        updates: Vec<UpdateView<'a>>,
    }

    #[derive(Debug, Serialize)]
    struct UpdateView<'a> {
        state: &'static str,
        paragraphs: Vec<Vec<&'a str>>,
        at: When,
    }

    /// A time as the page shows it: RFC 3339 UTC for `<time datetime>`, and local text.
    #[derive(Debug, Serialize)]
    struct When {
        utc: String,
        local: String,
    }

    pub(super) fn render(input: &PageInput<'_>, table: &Components<'_>) -> Result<String> {
        let (indicator, description) = indicator(input);
        let open = input.incidents.iter().filter(|i| !i.state.is_closed());
        let view = View {
            title: input.title,
            product: input.product,
            url: input.url,
            indicator,
            description,
            updated: when(input, page_updated_at(input), "%Y-%m-%d %H:%M %Z"),
            components: table
                .configured()
                .iter()
                .map(|row| ComponentView {
                    name: row.name,
                    status: row.status.as_str(),
                    label: row.status.label(),
                })
                .collect(),
            open: open
                .clone()
                .filter(|i| !i.state.is_maintenance())
                .map(|i| incident(input, i))
                .collect(),
            maintenances: open
                .filter(|i| i.state.is_maintenance())
                .map(|i| incident(input, i))
                .collect(),
            past: past(input)
                .into_iter()
                .map(|i| incident(input, i))
                .collect(),
            past_limit: PAST_INCIDENTS,
        };
        let mut env = Environment::new();
        // Every value is escaped, whatever the template's name says.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.add_template("index.html", TEMPLATE)
            .and_then(|()| env.get_template("index.html"))
            .and_then(|t| t.render(Serde(&view)))
            .map_err(|e| StatusError::Template(format!("index.html: {e}")))
    }

    fn incident<'a>(input: &PageInput<'_>, incident: &'a PublicIncident) -> IncidentView<'a> {
        let open = !incident.state.is_closed();
        IncidentView {
            id: incident.id,
            title: &incident.title,
            state: incident.state.label(),
            impact: impact(incident),
            components: incident
                .components
                .iter()
                .map(|(name, status)| ComponentView {
                    name,
                    status: status.as_str(),
                    label: status.label(),
                })
                .collect(),
            next_update: incident
                .next_update_at
                .filter(|_| open)
                .map(|t| when(input, t, next_update_format(input, t))),
            closed: incident
                .resolved_at
                .filter(|_| !open)
                .map(|t| when(input, t, "%Y-%m-%d %H:%M %Z")),
            updates: incident
                .updates
                .iter()
                .rev()
                .map(|u| UpdateView {
                    state: u.state.label(),
                    paragraphs: paragraphs(&u.message),
                    at: when(input, u.posted_at, "%Y-%m-%d %H:%M %Z"),
                })
                .collect(),
        }
    }

    /// "14:30 CET" when the promise falls on today's date in the page's zone, else with the
    /// date.
    fn next_update_format(input: &PageInput<'_>, t: OffsetDateTime) -> &'static str {
        let day = |t: OffsetDateTime| local(input.time_zone, t).map(|d| d.date_naive());
        if day(t) == day(input.now) {
            "%H:%M %Z"
        } else {
            "%Y-%m-%d %H:%M %Z"
        }
    }

    fn local(tz: Tz, t: OffsetDateTime) -> Option<chrono::DateTime<Tz>> {
        chrono::DateTime::from_timestamp(t.unix_timestamp(), 0).map(|utc| utc.with_timezone(&tz))
    }

    fn when(input: &PageInput<'_>, t: OffsetDateTime, format: &str) -> When {
        When {
            utc: rfc3339(t),
            local: local(input.time_zone, t)
                .map_or_else(|| rfc3339(t), |d| d.format(format).to_string()),
        }
    }

    /// The message as written: blank lines separate paragraphs, single line breaks stay.
    fn paragraphs(message: &str) -> Vec<Vec<&str>> {
        let mut out: Vec<Vec<&str>> = Vec::new();
        let mut current: Vec<&str> = Vec::new();
        for line in message.lines().map(str::trim_end) {
            if !line.trim().is_empty() {
                current.push(line);
            } else if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{{ title }}</title>
<link rel="alternate" type="application/atom+xml" href="history.atom" title="{{ title }}: history">
<style>
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d2125; --muted: #5e6c84; --line: #dfe1e6;
  --none: #1f845a; --minor: #b38600; --major: #c25100; --critical: #c9372c; --maintenance: #0c66e4; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #1d2125; --fg: #dee4ea; --muted: #9fadbc; --line: #384148;
    --none: #4bce97; --minor: #e2b203; --major: #fea362; --critical: #f87168; --maintenance: #579dff; }
}
body { margin: 0 auto; max-width: 46rem; padding: 1.5rem 1rem 3rem; background: var(--bg); color: var(--fg);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .75rem; }
h3 { font-size: 1.05rem; margin: 0 0 .25rem; }
.banner { padding: .9rem 1.1rem; border-radius: .4rem; color: #fff; font-weight: 600; font-size: 1.1rem; }
.banner.none { background: var(--none); } .banner.minor { background: var(--minor); }
.banner.major { background: var(--major); } .banner.critical { background: var(--critical); }
@media (prefers-color-scheme: dark) { .banner { color: #1d2125; } }
ul.components { list-style: none; padding: 0; margin: 0; border: 1px solid var(--line); border-radius: .4rem; }
ul.components li { display: flex; justify-content: space-between; gap: 1rem; padding: .6rem 1rem; }
ul.components li + li { border-top: 1px solid var(--line); }
.operational { color: var(--none); } .under_maintenance { color: var(--maintenance); }
.degraded_performance { color: var(--minor); } .partial_outage { color: var(--major); }
.major_outage { color: var(--critical); }
article { border: 1px solid var(--line); border-left-width: .3rem; border-radius: .4rem; padding: .8rem 1rem; margin: 0 0 1rem; }
article.critical { border-left-color: var(--critical); } article.major { border-left-color: var(--major); }
article.minor { border-left-color: var(--minor); } article.maintenance { border-left-color: var(--maintenance); }
.meta, time, .affected { color: var(--muted); font-size: .9rem; }
.update { margin: .75rem 0 0; } .update p { margin: .2rem 0; } .state { font-weight: 600; }
.next { font-weight: 600; margin: .5rem 0 0; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; }
</style>
</head>
<body>
<header>
<h1>{{ title }}</h1>
<p class="banner {{ indicator }}">{{ description }}</p>
</header>
{% macro show(incident) -%}
<article id="incident-{{ incident.id }}" class="{{ incident.impact }}">
<h3>{{ incident.title }}</h3>
{%- if incident.components %}
<p class="affected">Affects: {% for c in incident.components %}{{ c.name }}{% if not loop.last %}, {% endif %}{% endfor %}</p>
{%- endif %}
{%- if incident.next_update %}
<p class="next">Next update by <time datetime="{{ incident.next_update.utc }}">{{ incident.next_update.local }}</time></p>
{%- endif %}
{%- if incident.closed %}
<p class="meta">{{ incident.state }} <time datetime="{{ incident.closed.utc }}">{{ incident.closed.local }}</time></p>
{%- endif %}
{%- for u in incident.updates %}
<section class="update">
<span class="state">{{ u.state }}</span> &middot; <time datetime="{{ u.at.utc }}">{{ u.at.local }}</time>
{%- for p in u.paragraphs %}
<p>{% for line in p %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>
{%- endfor %}
</section>
{%- endfor %}
</article>
{%- endmacro %}
<main>
{%- if open %}
<section>
<h2>Current incidents</h2>
{%- for incident in open %}
{{ show(incident) }}
{%- endfor %}
</section>
{%- endif %}
{%- if components %}
<section>
<h2>Components</h2>
<ul class="components">
{%- for c in components %}
<li><span>{{ c.name }}</span><span class="{{ c.status }}">{{ c.label }}</span></li>
{%- endfor %}
</ul>
</section>
{%- endif %}
{%- if maintenances %}
<section>
<h2>Scheduled maintenance</h2>
{%- for incident in maintenances %}
{{ show(incident) }}
{%- endfor %}
</section>
{%- endif %}
<section>
<h2>Past incidents</h2>
{%- for incident in past %}
{{ show(incident) }}
{%- else %}
<p class="meta">No incidents reported.</p>
{%- endfor %}
</section>
</main>
<footer>
<p>{{ product }} &middot; updated <time datetime="{{ updated.utc }}">{{ updated.local }}</time> &middot; <a href="history.atom">Atom feed</a> &middot; <a href="api/v2/summary.json">summary.json</a></p>
</footer>
</body>
</html>
"#;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn update(id: i64, state: PublicState, message: &str, at: OffsetDateTime) -> PublicUpdate {
        PublicUpdate {
            id,
            state,
            message: message.to_owned(),
            components: BTreeMap::new(),
            posted_at: at,
            next_update_at: None,
            author: "Alice Smith".to_owned(),
        }
    }

    fn incident(
        id: i64,
        title: &str,
        state: PublicState,
        components: &[(&str, ComponentStatus)],
    ) -> PublicIncident {
        let at = datetime!(2026-12-02 13:00 UTC);
        PublicIncident {
            id,
            incident_id: None,
            title: title.to_owned(),
            state,
            components: components
                .iter()
                .map(|(n, s)| ((*n).to_owned(), *s))
                .collect(),
            created_at: at,
            updated_at: at,
            resolved_at: state.is_closed().then_some(at),
            next_update_at: None,
            updates: vec![update(id * 10, state, "First.", at)],
        }
    }

    fn input<'a>(components: &'a [String], incidents: &'a [PublicIncident]) -> PageInput<'a> {
        PageInput {
            product: "Acme",
            title: "Acme status",
            url: None,
            components,
            incidents,
            now: datetime!(2026-12-02 13:10 UTC),
            time_zone: chrono_tz::Europe::Berlin,
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn page_with_no_incidents_is_all_operational() {
        let components = names(&["API", "Dashboard"]);
        let input = input(&components, &[]);
        assert_eq!(indicator(&input), ("none", "All Systems Operational"));
        let files = render(&input).expect("renders");
        let summary: serde_json::Value =
            serde_json::from_str(&files.summary_json).expect("summary is JSON");
        let statuses: Vec<&str> = summary["components"]
            .as_array()
            .expect("components")
            .iter()
            .map(|c| c["status"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(statuses, ["operational", "operational"]);
        assert!(files.index_html.contains("All Systems Operational"));
        assert!(!files.index_html.contains("Partial outage"));
        assert_eq!(summary["incidents"], serde_json::json!([]));
    }

    #[test]
    fn page_indicator_follows_statuspage_top_level_status() {
        use ComponentStatus::*;
        let cases: &[(&[ComponentStatus], (&str, &str))] = &[
            (&[], ("none", "All Systems Operational")),
            (
                &[Operational, Operational],
                ("none", "All Systems Operational"),
            ),
            (
                &[UnderMaintenance, Operational],
                ("minor", "Service Under Maintenance"),
            ),
            (
                &[DegradedPerformance],
                ("minor", "Partially Degraded Service"),
            ),
            (
                &[DegradedPerformance, Operational],
                ("minor", "Partially Degraded Service"),
            ),
            (
                &[DegradedPerformance, DegradedPerformance],
                ("minor", "Degraded System Service"),
            ),
            (&[PartialOutage], ("major", "Partial System Outage")),
            (
                &[PartialOutage, Operational],
                ("minor", "Minor Service Outage"),
            ),
            (
                &[PartialOutage, PartialOutage],
                ("major", "Partial System Outage"),
            ),
            (&[MajorOutage], ("critical", "Major System Outage")),
            (
                &[MajorOutage, DegradedPerformance],
                ("major", "Partial System Outage"),
            ),
            (
                &[MajorOutage, MajorOutage],
                ("critical", "Major System Outage"),
            ),
        ];
        for (statuses, expected) in cases {
            assert_eq!(rollup(statuses), *expected, "{statuses:?}");
        }
    }

    #[test]
    fn page_component_shows_the_worst_status_of_its_open_incidents() {
        use ComponentStatus::*;
        let components = names(&["API", "Dashboard", "Email"]);
        let incidents = [
            incident(
                1,
                "Slow",
                PublicState::Identified,
                &[("API", DegradedPerformance)],
            ),
            incident(
                2,
                "Down",
                PublicState::Investigating,
                &[("API", MajorOutage), ("Email", PartialOutage)],
            ),
            // Closed: says nothing about now.
            incident(
                3,
                "Old",
                PublicState::Resolved,
                &[("Dashboard", MajorOutage)],
            ),
        ];
        let input = input(&components, &incidents);
        let table = Components::new(&input);
        let got: Vec<(&str, ComponentStatus)> = table
            .configured()
            .iter()
            .map(|r| (r.name, r.status))
            .collect();
        assert_eq!(
            got,
            [
                ("API", MajorOutage),
                ("Dashboard", Operational),
                ("Email", PartialOutage)
            ]
        );
        assert_eq!(indicator(&input), ("major", "Partial System Outage"));
    }

    #[test]
    fn page_escapes_a_script_in_the_title_and_the_message() {
        let components = names(&["<b>API</b>"]);
        let mut evil = incident(
            1,
            "<script>alert(1)</script>",
            PublicState::Investigating,
            &[],
        );
        evil.updates[0].message = "We see <script>alert('x')</script>\n& more\n\nSecond".to_owned();
        let incidents = [evil];
        let mut input = input(&components, &incidents);
        input.title = "<script>steal()</script>";
        let files = render(&input).expect("renders");
        assert!(
            !files.index_html.contains("<script"),
            "{}",
            files.index_html
        );
        assert!(!files.index_html.contains("<b>API"), "{}", files.index_html);
        assert!(files.index_html.contains("&lt;script&gt;alert(1)&lt;"));
        // Line breaks survive as <br> and paragraphs, the text around them escaped.
        assert!(
            files.index_html.contains("<br>&amp; more</p>"),
            "{}",
            files.index_html
        );
        assert!(files.index_html.contains("<p>Second</p>"));
        assert!(!files.history_atom.contains("<script"));
    }

    #[test]
    fn page_shows_times_in_the_configured_zone() {
        let mut open = incident(1, "API errors", PublicState::Investigating, &[]);
        open.next_update_at = Some(datetime!(2026-12-02 13:30 UTC));
        let incidents = [open];
        let components = names(&["API"]);
        let input = input(&components, &incidents);
        let html = render(&input).expect("renders").index_html;
        assert!(
            html.contains(
                r#"Next update by <time datetime="2026-12-02T13:30:00.000Z">14:30 CET</time>"#
            ),
            "{html}"
        );
        assert!(html.contains("2026-12-02 14:00 CET"), "{html}");
    }

    #[test]
    fn page_slugs_are_unique_and_readable() {
        assert_eq!(slug("Web app (EU)"), "web-app-eu");
        let components = names(&["API", "api", "!!"]);
        let input = input(&components, &[]);
        let ids: Vec<String> = Components::new(&input)
            .rows
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["api", "api-2", "component-3"]);
    }
}
