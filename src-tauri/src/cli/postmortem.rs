//! `foghorn postmortem ID [--incident ID]...`: the postmortem drafted from the incidents'
//! evidence, as Markdown on stdout (`> postmortem.md`).

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
    #[arg(long)]
    json: bool,
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
    });
    let pm = match drafted {
        Ok(pm) => pm,
        Err(
            e @ (PostmortemError::Store(foghorn_core::store::StoreError::NoSuchIncident(_))
            | PostmortemError::Template { .. }
            | PostmortemError::TimeZone(_)
            | PostmortemError::NoIncident),
        ) => return invalid(&e.to_string()),
        Err(e) => return fail(&e.to_string()),
    };
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
