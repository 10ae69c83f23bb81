//! `foghorn postmortem ID [--incident ID]...`: the postmortem drafted from the incidents'
//! evidence, as Markdown on stdout (`> postmortem.md`), as one self-contained HTML file with
//! its charts (`--html > postmortem.html`), or published as the Statuspage incident's
//! postmortem (`--publish`).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use foghorn_core::postmortem::{self, PostmortemError};
use serde_json::json;
use time::OffsetDateTime;

use super::status::{fail, load, open_store};

#[derive(Debug, Args)]
pub struct PostmortemArgs {
    /// The incident.
    id: i64,
    /// Another incident of the same outage (repeat for several): one document for all.
    #[arg(long = "incident", value_name = "ID")]
    incidents: Vec<i64>,
    /// The readers' time zone (IANA, "Europe/Berlin"); default `[postmortem] time_zone`,
    /// `[status] time_zone`, then this computer's.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// The figures and the Markdown as one JSON document.
    #[arg(long, conflicts_with = "html")]
    json: bool,
    /// One self-contained HTML document (styles and charts inline, nothing loaded from
    /// anywhere) instead of Markdown.
    #[arg(long)]
    html: bool,
    /// Publish the document as the postmortem of the incident's Statuspage incident
    /// (`[status.statuspage]`); publishing it again with the same words changes nothing.
    #[arg(long, conflicts_with_all = ["json", "html"])]
    publish: bool,
    /// With --publish: e-mail the Statuspage page's subscribers about it.
    #[arg(long, requires = "publish")]
    notify: bool,
}

/// Exit 2: the input is wrong (an incident that does not exist, the template, the zone).
fn invalid(message: &str) -> ExitCode {
    eprintln!("foghorn: {message}");
    ExitCode::from(2)
}

pub fn postmortem(config: Option<&Path>, args: PostmortemArgs) -> ExitCode {
    let config = match load(config) {
        Ok(c) => c,
        Err(e) => return invalid(&e),
    };
    let store = match open_store() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let mut ids = vec![args.id];
    for id in args.incidents {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let tz = match postmortem::time_zone(&config, args.tz.as_deref()) {
        Ok(tz) => tz,
        Err(e) => return invalid(&e.to_string()),
    };
    let template = match &config.postmortem.template {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some((text, Some(path.display().to_string()))),
            Err(e) => return invalid(&format!("`postmortem.template` ({}): {e}", path.display())),
        },
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let drafted = postmortem::gather(&store, &config, &ids, now).and_then(|evidence| {
        postmortem::draft(
            &evidence,
            tz,
            template.as_ref().map(|(t, p)| (t.as_str(), p.clone())),
        )
        .map(|pm| (evidence, pm))
    });
    let (evidence, pm) = match drafted {
        Ok(pm) => pm,
        Err(
            e @ (PostmortemError::Store(foghorn_core::store::StoreError::NoSuchIncident(_))
            | PostmortemError::Template { .. }
            | PostmortemError::TimeZone(_)
            | PostmortemError::NoIncident),
        ) => return invalid(&e.to_string()),
        Err(e) => return fail(&e.to_string()),
    };
    if args.publish {
        return publish(&config, store, args.id, &pm.markdown, args.notify);
    }
    if args.html {
        let charts = postmortem::charts::charts(&evidence, tz);
        print!("{}", postmortem::html::document(&pm.markdown, &charts));
        return ExitCode::SUCCESS;
    }
    if args.json {
        let f = &pm.figures;
        let rfc = |t: Option<OffsetDateTime>| t.map(foghorn_core::time_fmt::rfc3339);
        let secs = |d: Option<time::Duration>| d.map(|d| d.as_seconds_f64());
        let value = json!({
            "incidents": ids,
            "timeZone": pm.time_zone.name(),
            "figures": {
                "started": foghorn_core::time_fmt::rfc3339(f.started.at),
                "startedFrom": f.started.source,
                "detected": foghorn_core::time_fmt::rfc3339(f.detected_at),
                "firstNotified": rfc(f.first_notified_at),
                "acknowledged": rfc(f.acknowledged_at),
                "acknowledgedBy": f.acknowledged_by,
                "firstPublicUpdate": rfc(f.first_public_at),
                "mitigated": rfc(f.mitigated_at),
                "resolved": rfc(f.resolved_at),
                "timeToDetectSeconds": f.time_to_detect.as_seconds_f64(),
                "timeToAcknowledgeSeconds": secs(f.time_to_acknowledge),
                "timeToFirstUpdateSeconds": secs(f.time_to_first_update),
                "timeToResolveSeconds": secs(f.time_to_resolve),
                "downtime": f.downtime.iter().map(|d| json!({
                    "name": d.name, "kind": d.kind, "seconds": d.down.as_seconds_f64(),
                })).collect::<Vec<_>>(),
                "pages": f.pages.iter().map(|(channel, p)| json!({
                    "channel": channel, "sent": p.sent, "failed": p.failed,
                })).collect::<Vec<_>>(),
                "promisesKept": f.promises_kept,
                "promisesLate": f.promises_late,
                "supportConversations": f.support_conversations,
                "supportAnswered": f.support_answered,
                "wroteBeforeFirstPost": f.wrote_before_first_post,
                "lettersAccepted": f.letters_accepted,
                "lettersTotal": f.letters_total,
            },
            "timeline": pm.events.iter().map(|e| json!({
                "at": foghorn_core::time_fmt::rfc3339(e.at), "text": e.text,
            })).collect::<Vec<_>>(),
            "markdown": pm.markdown,
        });
        println!("{value}");
    } else {
        print!("{}", pm.markdown);
    }
    ExitCode::SUCCESS
}

/// `--publish`: the Markdown as the postmortem of incident `id`'s Statuspage incident.
fn publish(
    config: &foghorn_core::config::Config,
    store: foghorn_core::store::Store,
    id: i64,
    markdown: &str,
    notify: bool,
) -> ExitCode {
    use foghorn_core::postmortem::publish::{self, PublishError, Published};
    let statuspage = config.status.as_ref().and_then(|s| s.statuspage.as_ref());
    let actor = config
        .me
        .names
        .first()
        .map(|n| format!("{n} (cli)"))
        .unwrap_or_else(|| "cli".to_owned());
    let runtime = match super::status::runtime() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let published = runtime.block_on(publish::publish(
        &store,
        statuspage,
        foghorn_core::deliver::Secrets::default(),
        id,
        markdown,
        notify,
        &actor,
    ));
    match published {
        Ok(Published::Sent(sp)) => {
            println!(
                "The postmortem of incident {id} is published on Statuspage (incident {sp}){}.",
                if notify {
                    "; its subscribers were notified"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
        Ok(Published::Unchanged(sp)) => {
            println!(
                "The postmortem of incident {id} was already published on Statuspage (incident {sp}) with these words: nothing sent."
            );
            ExitCode::SUCCESS
        }
        Err(e @ (PublishError::NotConfigured | PublishError::NeverPosted(_))) => {
            invalid(&e.to_string())
        }
        Err(e) => fail(&e.to_string()),
    }
}
