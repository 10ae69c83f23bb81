//! The postmortem, drafted from the evidence: one incident or several linked ones (a bad
//! outage can be a week of ups and downs), their timelines, checks, pages, public updates,
//! support conversations and letters, into a Markdown document with the key figures and how
//! each is measured. The template is minijinja, so a team can use its own format.

pub mod charts;
pub mod desk;
pub mod figures;
pub mod html;
pub mod order;
pub mod publish;

use std::collections::BTreeMap;

use chrono::TimeZone as _;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::incident::TimelineKind;
use crate::monitor::MonitorId;
use crate::notify::human_duration;
use crate::store::{Store, StoreError, TimelineRow};
use figures::{compute, monitor_of, Evidence, Figures};

/// The built-in template; `[postmortem] template` replaces it.
pub const DEFAULT_TEMPLATE: &str = include_str!("template.md");

/// Enough for any template a person writes; a runaway loop stops instead of hanging.
const FUEL: u64 = 1_000_000;
/// How far before an outage its monitors' checks are read, to find where the failing run
/// began.
const LOOKBACK: time::Duration = time::Duration::hours(1);

#[derive(Debug, thiserror::Error)]
pub enum PostmortemError {
    #[error("name at least one incident")]
    NoIncident,
    #[error("the database: {0}")]
    Store(#[from] StoreError),
    #[error("the template{}: {message}", path.as_ref().map(|p| format!(" ({p})")).unwrap_or_default())]
    Template {
        path: Option<String>,
        message: String,
    },
    #[error("unknown time zone {0:?}; write an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    TimeZone(String),
    #[error(transparent)]
    OutOfOrder(#[from] order::OutOfOrder),
    #[error("the configuration: {0}")]
    Config(String),
    #[error("cannot write the export in {path}: {message}")]
    Export {
        path: std::path::PathBuf,
        message: String,
    },
}

/// A drafted postmortem.
#[derive(Debug, Clone)]
pub struct Postmortem {
    pub markdown: String,
    pub figures: Figures,
    pub events: Vec<Event>,
    pub time_zone: chrono_tz::Tz,
    /// The outage's first day in `time_zone`: the timeline writes no date for times on it.
    pub day: Option<chrono::NaiveDate>,
}

/// One line of the document's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: OffsetDateTime,
    pub text: String,
}

/// The time zone the document is written in: `asked`, else `[postmortem] time_zone`, else
/// `[status] time_zone`, else this computer's, else UTC.
pub fn time_zone(config: &Config, asked: Option<&str>) -> Result<chrono_tz::Tz, PostmortemError> {
    let named = asked
        .map(str::to_owned)
        .or_else(|| config.postmortem.time_zone.clone())
        .or_else(|| config.status.as_ref().map(|s| s.time_zone.clone()));
    match named {
        Some(name) => name
            .parse()
            .map_err(|_| PostmortemError::TimeZone(name.clone())),
        None => Ok(iana_time_zone::get_timezone()
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(chrono_tz::UTC)),
    }
}

/// Reads what the incidents `ids` left behind: their rows, and the checks of their monitors
/// from an hour before the outage to its end.
pub fn gather(
    store: &Store,
    config: &Config,
    ids: &[i64],
    now: OffsetDateTime,
) -> Result<Evidence, PostmortemError> {
    if ids.is_empty() {
        return Err(PostmortemError::NoIncident);
    }
    let rows = store.postmortem_rows(ids)?;
    let first = rows
        .signals
        .iter()
        .map(|s| s.started_at)
        .chain(rows.incidents.iter().map(|i| i.opened_at))
        .min()
        .unwrap_or(now);
    let last = if rows.incidents.iter().all(|i| i.resolved_at.is_some()) {
        rows.incidents
            .iter()
            .filter_map(|i| i.resolved_at)
            .max()
            .unwrap_or(now)
    } else {
        now
    };
    let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    let mut checks = BTreeMap::new();
    for s in &rows.signals {
        if let Some(id) = monitor_of(&s.dedup_key) {
            if !checks.contains_key(id) {
                let list = store.checks_between(
                    id,
                    ms(first - LOOKBACK),
                    ms(last + time::Duration::minutes(1)),
                )?;
                checks.insert(id.to_owned(), list);
            }
        }
    }
    let monitor_names = config
        .monitors
        .iter()
        .map(|m| (m.id().as_str().to_owned(), m.name().to_owned()))
        .collect();
    let components = config
        .status
        .as_ref()
        .map(|s| {
            s.components
                .iter()
                .map(|c| {
                    let ids = c
                        .monitors
                        .iter()
                        .map(|m| MonitorId::from_name(m).as_str().to_owned())
                        .collect();
                    (c.name.clone(), ids)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Evidence {
        rows,
        checks,
        monitor_names,
        components,
        now,
    })
}

/// The timeline's lines: the first failing check of each monitor, then what the incidents'
/// timelines recorded, in time order.
pub fn events(e: &Evidence) -> Vec<Event> {
    let mut out = Vec::new();
    for s in &e.rows.signals {
        let Some(id) = monitor_of(&s.dedup_key) else {
            out.push(Event {
                at: s.started_at,
                text: format!("{} began ({})", s.summary, s.source),
            });
            continue;
        };
        let name = e.monitor_names.get(id).map_or(id, String::as_str);
        if let Some(c) = e
            .checks
            .get(id)
            .and_then(|c| figures::first_failure(c, figures::run_of(e, s)))
        {
            let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(c.at_ms) * 1_000_000)
                .unwrap_or(s.started_at);
            let why = c
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            out.push(Event {
                at,
                text: format!("First failing check of **{name}**{why}"),
            });
        }
    }
    let many = e.rows.incidents.len() > 1;
    for row in &e.rows.timeline {
        if let Some(text) = describe(row, many) {
            out.push(Event { at: row.at, text });
        }
    }
    // Public updates from what was published (the timeline's line about one is a summary
    // with the time in UTC).
    for u in &e.rows.updates {
        let promise = u
            .next_update_at
            .map(|_| " — next update promised".to_owned())
            .unwrap_or_default();
        out.push(Event {
            at: u.posted_at,
            text: format!(
                "Public update ({}) by {}: \u{201c}{}\u{201d}{promise}",
                u.state, u.author, u.title
            ),
        });
    }
    out.sort_by_key(|ev| ev.at);
    out
}

/// An outbox note (`incident:1:step:0:…: sent`, `status:1:update:2:chat: failed …`) in words.
fn delivery(detail: &str) -> String {
    let (key, outcome) = detail.split_once(": ").unwrap_or((detail, ""));
    let parts: Vec<&str> = key.split(':').collect();
    let what = match parts.as_slice() {
        ["incident", _, "step", step, ..] => step
            .parse::<u32>()
            .map(|s| format!("escalation step {}", s + 1))
            .unwrap_or_else(|_| key.to_owned()),
        ["status", _, "update", n, channel, ..] => format!("status update {n} to {channel}"),
        ["support", ..] => "a reply to a customer".to_owned(),
        _ => key.to_owned(),
    };
    let outcome = outcome.trim();
    if outcome.is_empty() || outcome == "sent" || outcome.starts_with("sent (") {
        what
    } else {
        format!("{what} ({outcome})")
    }
}

/// A timeline row in the document's words; `None` for bookkeeping nobody needs to read.
fn describe(row: &TimelineRow, many: bool) -> Option<String> {
    let of = if many {
        format!(" (#{})", row.incident_id)
    } else {
        String::new()
    };
    // The first line: the rest of an opening's evidence is for the incident view.
    let detail = row.detail.lines().next().unwrap_or("").trim();
    let by = if row.actor.is_empty() || row.actor == "foghorn" {
        String::new()
    } else {
        format!(" by {}", row.actor)
    };
    let text = match TimelineKind::parse(&row.kind) {
        TimelineKind::Triggered => {
            format!("Detected: incident #{} opened — {detail}", row.incident_id)
        }
        TimelineKind::Joined => format!("Joined the incident{of}: {detail}"),
        TimelineKind::Retriggered => format!("Failing again{of}: {detail}"),
        TimelineKind::SignalCleared => format!("Recovered{of}: {detail}"),
        TimelineKind::Notified => format!("Notification shown{of}: {detail}"),
        TimelineKind::Acknowledged => format!("Acknowledged{by}{of}"),
        TimelineKind::Assigned => format!("{}{of}", capitalise(detail)),
        TimelineKind::Escalated => format!("Escalated{of}: {detail}"),
        TimelineKind::Handover => format!("Ladder handed over{of}: {detail}"),
        TimelineKind::MessageSent => format!("Delivered{of}: {}", delivery(detail)),
        TimelineKind::MessageFailed => format!("Not delivered{of}: {}", delivery(detail)),
        TimelineKind::StatusUpdate | TimelineKind::StatusRecord | TimelineKind::FeedIgnored => {
            return None
        }
        // The document's own publication is not part of the outage's story.
        publish::TIMELINE_KIND => return None,
        TimelineKind::Letter => format!("{}{of}", capitalise(detail)),
        TimelineKind::Resolved if detail.is_empty() => format!("Resolved{by}{of}"),
        TimelineKind::Resolved => format!("Resolved{by}{of}: {detail}"),
        _ if detail.is_empty() => format!("{}{by}{of}", row.kind),
        _ => format!("{}{by}{of}: {detail}", row.kind),
    };
    Some(text)
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What the template is filled with.
#[derive(Debug, Serialize)]
struct Context {
    title: String,
    incidents: Vec<IncidentRef>,
    time_zone: String,
    date: String,
    generated: String,
    what: String,
    duration: Option<String>,
    started: String,
    started_source: String,
    detected: String,
    first_notified: Option<String>,
    acknowledged: Option<String>,
    acknowledged_by: Option<String>,
    first_public: Option<String>,
    mitigated: Option<String>,
    resolved: Option<String>,
    time_to_detect: String,
    time_to_acknowledge: Option<String>,
    time_to_first_update: Option<String>,
    time_to_resolve: Option<String>,
    downtime: Vec<DowntimeLine>,
    pages: Vec<PagesLine>,
    promises_kept: u32,
    promises_late: u32,
    support_conversations: u32,
    support_answered: u32,
    wrote_before_first_post: u32,
    letters: Vec<LetterLine>,
    letters_total: u64,
    letters_accepted: u64,
    events: Vec<EventLine>,
}

#[derive(Debug, Serialize)]
struct IncidentRef {
    id: i64,
    title: String,
    severity: String,
}

#[derive(Debug, Serialize)]
struct DowntimeLine {
    name: String,
    kind: &'static str,
    down: String,
}

#[derive(Debug, Serialize)]
struct PagesLine {
    channel: String,
    sent: u32,
    failed: u32,
}

#[derive(Debug, Serialize)]
struct LetterLine {
    subject: String,
    accepted: u64,
    total: u64,
}

#[derive(Debug, Serialize)]
struct EventLine {
    at: String,
    text: String,
}

/// Writes times in `tz`: the time of day, and the date too for a time on another day than
/// the outage's start.
struct Clock {
    tz: chrono_tz::Tz,
    day: Option<chrono::NaiveDate>,
}

impl Clock {
    fn local(&self, t: OffsetDateTime) -> Option<chrono::DateTime<chrono_tz::Tz>> {
        chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
            .map(|utc| self.tz.from_utc_datetime(&utc.naive_utc()))
    }

    fn time(&self, t: OffsetDateTime) -> String {
        match self.local(t) {
            Some(l) if Some(l.date_naive()) == self.day => l.format("%H:%M:%S").to_string(),
            Some(l) => l.format("%-d %b %H:%M:%S").to_string(),
            None => crate::time_fmt::rfc3339(t),
        }
    }
}

/// Fills `template` (the built-in one when `None`) with the figures and the timeline.
pub fn draft(
    e: &Evidence,
    tz: chrono_tz::Tz,
    template: Option<(&str, Option<String>)>,
) -> Result<Postmortem, PostmortemError> {
    let f = compute(e).ok_or(PostmortemError::NoIncident)?;
    let events = events(e);
    let mut clock = Clock { tz, day: None };
    clock.day = clock.local(f.started.at).map(|l| l.date_naive());
    let date = clock
        .local(f.started.at)
        .map(|l| l.format("%A %-d %B %Y").to_string())
        .unwrap_or_default();
    let opt = |t: Option<OffsetDateTime>| t.map(|t| clock.time(t));
    let dur = |d: time::Duration| human_duration(d);
    let down: Vec<String> = f
        .downtime
        .iter()
        .filter(|d| d.down > time::Duration::ZERO)
        .map(|d| d.name.clone())
        .collect();
    let what = match down.as_slice() {
        [] => "there was an outage".to_owned(),
        names => format!(
            "{} {} down",
            crate::status::template::join_names(names.iter().map(String::as_str)),
            if names.len() == 1 { "was" } else { "were" }
        ),
    };
    let incidents: Vec<IncidentRef> = e
        .rows
        .incidents
        .iter()
        .map(|i| IncidentRef {
            id: i.id,
            title: i.title.clone(),
            severity: i.severity.clone(),
        })
        .collect();
    let context = Context {
        title: incidents
            .first()
            .map(|i| i.title.clone())
            .unwrap_or_default(),
        time_zone: tz.name().to_owned(),
        date,
        generated: clock
            .local(e.now)
            .map(|l| l.format("%-d %b %Y %H:%M").to_string())
            .unwrap_or_default(),
        what,
        duration: f.time_to_resolve.map(dur),
        started: clock.time(f.started.at),
        started_source: f.started.source.clone(),
        detected: clock.time(f.detected_at),
        first_notified: opt(f.first_notified_at),
        acknowledged: opt(f.acknowledged_at),
        acknowledged_by: f.acknowledged_by.clone(),
        first_public: opt(f.first_public_at),
        mitigated: opt(f.mitigated_at),
        resolved: opt(f.resolved_at),
        time_to_detect: dur(f.time_to_detect),
        time_to_acknowledge: f.time_to_acknowledge.map(dur),
        time_to_first_update: f.time_to_first_update.map(dur),
        time_to_resolve: f.time_to_resolve.map(dur),
        downtime: f
            .downtime
            .iter()
            .map(|d| DowntimeLine {
                name: d.name.clone(),
                kind: d.kind,
                down: dur(d.down),
            })
            .collect(),
        pages: f
            .pages
            .iter()
            .map(|(channel, p)| PagesLine {
                channel: channel.clone(),
                sent: p.sent,
                failed: p.failed,
            })
            .collect(),
        promises_kept: f.promises_kept,
        promises_late: f.promises_late,
        support_conversations: f.support_conversations,
        support_answered: f.support_answered,
        wrote_before_first_post: f.wrote_before_first_post,
        letters: e
            .rows
            .letters
            .iter()
            .map(|l| LetterLine {
                subject: l.subject.clone(),
                accepted: l.accepted,
                total: l.total,
            })
            .collect(),
        letters_total: f.letters_total,
        letters_accepted: f.letters_accepted,
        events: events
            .iter()
            .map(|ev| EventLine {
                at: clock.time(ev.at),
                text: ev.text.clone(),
            })
            .collect(),
        incidents,
    };
    let (source, path) = template.unwrap_or((DEFAULT_TEMPLATE, None));
    let template_error = |e: minijinja::Error| PostmortemError::Template {
        path: path.clone(),
        message: match e.line() {
            Some(line) => format!("line {line}: {e}"),
            None => e.to_string(),
        },
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    let mut markdown = env
        .template_from_str(source)
        .and_then(|t| t.render(minijinja::value::Serde(&context)))
        .map_err(template_error)?;
    if !markdown.ends_with('\n') {
        markdown.push('\n');
    }
    Ok(Postmortem {
        markdown,
        figures: f,
        events,
        time_zone: tz,
        day: clock.day,
    })
}

/// Drafts the postmortem of incidents `ids` as the configuration asks: its time zone (or
/// `asked`), its template file if it names one. What the command line and the window share.
pub fn draft_configured(
    store: &Store,
    config: &Config,
    ids: &[i64],
    asked_zone: Option<&str>,
    now: OffsetDateTime,
) -> Result<Postmortem, PostmortemError> {
    let tz = time_zone(config, asked_zone)?;
    let template = match &config.postmortem.template {
        Some(path) => Some((
            std::fs::read_to_string(path).map_err(|e| PostmortemError::Template {
                path: Some(path.display().to_string()),
                message: e.to_string(),
            })?,
            Some(path.display().to_string()),
        )),
        None => None,
    };
    let evidence = gather(store, config, ids, now)?;
    draft(
        &evidence,
        tz,
        template.as_ref().map(|(t, p)| (t.as_str(), p.clone())),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::store::{IncidentRow, TimelineRow};

    fn evidence() -> Evidence {
        let t = |m: i64| datetime!(2026-03-29 00:30 UTC) + time::Duration::minutes(m);
        let mut e = Evidence {
            now: t(600),
            ..Evidence::default()
        };
        for (id, opened, resolved) in [(3, 0, 50), (5, 120, 200)] {
            e.rows.incidents.push(IncidentRow {
                id,
                title: format!("api is down ({id})"),
                severity: "critical".into(),
                opened_at: t(opened),
                resolved_at: Some(t(resolved)),
                acked_at: None,
                acked_by: None,
            });
            e.rows.timeline.push(TimelineRow {
                incident_id: id,
                at: t(resolved),
                kind: "resolved".into(),
                actor: "monitor api".into(),
                detail: "api is back up".into(),
            });
        }
        e
    }

    #[test]
    fn linked_incidents_make_one_document_whose_times_cross_the_clock_change_in_the_readers_zone() {
        let pm = draft(&evidence(), chrono_tz::Europe::Berlin, None).expect("drafted");
        // 00:30 UTC is 01:30 CET; at 01:00 UTC the clocks go forward, so the first incident
        // resolves at 01:20 UTC, 03:20 CEST, and the second at 03:50 UTC, 05:50 CEST.
        assert!(pm.markdown.contains("incidents #3, #5"), "{}", pm.markdown);
        assert!(
            pm.markdown.contains("On Sunday 29 March 2026"),
            "{}",
            pm.markdown
        );
        assert!(
            pm.markdown.contains("| Started | 01:30:00 |"),
            "{}",
            pm.markdown
        );
        assert!(
            pm.markdown.contains("| Resolved | 05:50:00 |"),
            "{}",
            pm.markdown
        );
        assert!(
            pm.markdown
                .contains("- 03:20:00 — Resolved by monitor api (#3): api is back up"),
            "{}",
            pm.markdown
        );
        assert!(
            pm.markdown.contains("| Time to resolve | 3h 20m |"),
            "{}",
            pm.markdown
        );
        assert_eq!(
            pm.figures.time_to_resolve,
            Some(time::Duration::minutes(200))
        );
    }

    #[test]
    fn a_team_s_template_is_used_and_its_mistakes_are_named_with_the_line() {
        let e = evidence();
        let pm = draft(
            &e,
            chrono_tz::UTC,
            Some(("{{ title }}: {{ time_to_resolve }}", None)),
        )
        .expect("drafted");
        assert_eq!(pm.markdown, "api is down (3): 3h 20m\n");
        let err = draft(
            &e,
            chrono_tz::UTC,
            Some(("# {{ title }}\n\n{{ nonsense }}\n", Some("team.md".into()))),
        )
        .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("team.md") && text.contains("line 3"),
            "{text}"
        );
    }

    #[test]
    fn deliveries_are_told_in_words() {
        assert_eq!(
            delivery("incident:1:step:0:17962: sent"),
            "escalation step 1"
        );
        assert_eq!(
            delivery("status:2:update:3:chat: sent (https://hooks.slack.com/…)"),
            "status update 3 to chat"
        );
        assert_eq!(
            delivery("incident:4:step:2:9: HTTP 500 from Twilio"),
            "escalation step 3 (HTTP 500 from Twilio)"
        );
    }
}
