//! PagerDuty's Events API v2 (<https://developer.pagerduty.com/api-reference/368ae3d938c9e-send-an-event-to-pager-duty>;
//! described in `pagerduty-events-v2-openapiv3.json`): `POST {events_url}/enqueue` with an
//! integration's routing key, an action (`trigger`, `resolve`) and a `dedup_key`.
//!
//! Written once, for both uses: the ladder's `pagerduty` step ([`crate::deliver::pagerduty`])
//! and a PagerDuty feed's pushes ([`crate::feed::pagerduty`]). Both use the incident's own
//! dedup key, so a retried or repeated trigger (from this laptop or another one that saw the
//! same outage) updates the one PagerDuty alert instead of opening another.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::http::{self, Answer, HttpError};
use crate::incident::Severity;

/// The Events API v2 base when none is configured (`events_url`).
pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2";

/// PagerDuty cuts `payload.summary` at this many characters.
const SUMMARY_MAX: usize = 1024;

/// PagerDuty's four severities.
pub fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Major => "error",
        Severity::Minor => "warning",
        Severity::Info => "info",
    }
}

/// What a `trigger` event says; the optional parts are left out of the event when `None`.
#[derive(Debug, Clone)]
pub struct Trigger<'a> {
    pub dedup_key: &'a str,
    pub summary: &'a str,
    pub severity: Severity,
    /// `payload.component`: the monitor's name.
    pub component: Option<&'a str>,
    /// `payload.timestamp`: when it started.
    pub timestamp: Option<OffsetDateTime>,
    /// `payload.custom_details`.
    pub custom_details: Option<Value>,
    /// A link to the incident, as the event's one `links` entry.
    pub link: Option<&'a str>,
}

impl Trigger<'_> {
    /// The `trigger` event, for the integration `routing_key`.
    pub fn event(&self, routing_key: &str) -> Value {
        let summary: String = self.summary.trim().chars().take(SUMMARY_MAX).collect();
        let mut event = json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": self.dedup_key,
            "client": "Foghorn",
            "payload": {
                "summary": summary,
                "source": "foghorn",
                "severity": severity(self.severity),
            },
        });
        if let Some(component) = self.component {
            event["payload"]["component"] = Value::from(component);
        }
        if let Some(at) = self.timestamp {
            let at = at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            event["payload"]["timestamp"] = Value::from(at);
        }
        if let Some(details) = &self.custom_details {
            event["payload"]["custom_details"] = details.clone();
        }
        if let Some(link) = self.link.filter(|l| !l.trim().is_empty()) {
            event["links"] = json!([{ "href": link, "text": "The incident" }]);
        }
        event
    }
}

/// The `resolve` event for `dedup_key`.
pub fn resolve(routing_key: &str, dedup_key: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "resolve",
        "dedup_key": dedup_key,
    })
}

/// Sends `event` to `{events_url}/enqueue`; the answer when PagerDuty took it (2xx).
pub async fn enqueue(
    client: &http::Client,
    events_url: &str,
    event: &Value,
) -> Result<Answer, HttpError> {
    let url = format!("{}/enqueue", events_url.trim_end_matches('/'));
    let answer = client.send(client.post(url).json(event)).await?;
    answer.check()?;
    Ok(answer)
}

/// What PagerDuty answered an event it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The alert's dedup key, PagerDuty's or the one sent.
    pub dedup_key: Option<String>,
}

impl Accepted {
    /// The answer as the description has it: JSON whose `status`, when present, is
    /// `"success"`.
    pub fn read(answer: &Answer) -> Result<Self, HttpError> {
        let value = answer.json()?;
        match value.get("status") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "success" => {}
            Some(other) => {
                return Err(HttpError::Decode {
                    message: format!("`status`: {other}, not \"success\""),
                })
            }
        }
        Ok(Accepted {
            dedup_key: value
                .get("dedup_key")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_carries_only_the_parts_it_was_given() {
        let plain = Trigger {
            dedup_key: "monitor:api",
            summary: "  api is down  ",
            severity: Severity::Major,
            component: None,
            timestamp: None,
            custom_details: None,
            link: Some(" "),
        }
        .event("R1");
        assert_eq!(
            plain,
            json!({
                "routing_key": "R1", "event_action": "trigger", "dedup_key": "monitor:api",
                "client": "Foghorn",
                "payload": {"summary": "api is down", "source": "foghorn", "severity": "error"},
            })
        );
        let long = "x".repeat(2000);
        let full = Trigger {
            dedup_key: "monitor:api",
            summary: &long,
            severity: Severity::Critical,
            component: Some("api"),
            timestamp: Some(OffsetDateTime::UNIX_EPOCH),
            custom_details: Some(json!({"incident_id": 3})),
            link: Some("https://foghorn.test/i/3"),
        }
        .event("R1");
        assert_eq!(
            full["payload"]["summary"].as_str().map(str::len),
            Some(1024)
        );
        assert_eq!(full["payload"]["component"], "api");
        assert_eq!(full["payload"]["timestamp"], "1970-01-01T00:00:00Z");
        assert_eq!(full["payload"]["custom_details"]["incident_id"], 3);
        assert_eq!(full["links"][0]["href"], "https://foghorn.test/i/3");
        assert_eq!(resolve("R1", "k")["event_action"], "resolve");
    }

    #[test]
    fn an_answer_is_accepted_when_its_status_says_success_or_nothing() {
        let answer = |body: &str| Answer {
            status: reqwest::StatusCode::ACCEPTED,
            headers: reqwest::header::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        };
        let cases: &[(&str, Result<Option<&str>, &str>)] = &[
            (
                r#"{"status":"success","dedup_key":"k1","message":"Event processed"}"#,
                Ok(Some("k1")),
            ),
            ("{}", Ok(None)),
            (r#"{"status":"invalid event"}"#, Err("not \"success\"")),
            ("<html>", Err("an HTML page")),
        ];
        for (body, want) in cases {
            let got = Accepted::read(&answer(body));
            match (got, want) {
                (Ok(a), Ok(key)) => assert_eq!(a.dedup_key.as_deref(), *key, "{body}"),
                (Err(e), Err(says)) => assert!(e.to_string().contains(says), "{body}: {e}"),
                (got, _) => panic!("{body}: {got:?}"),
            }
        }
    }
}
