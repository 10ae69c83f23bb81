//! Where a schedule comes from: a file, or an http(s) URL asked with `If-None-Match` and
//! `If-Modified-Since` so an unchanged feed costs a 304.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::OncallError;
use crate::secret::redact_url;

/// The last good copy of a calendar, kept in the database between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedCalendar {
    /// The `[oncall] calendar` it was read from; a copy of another calendar is not used.
    pub calendar: String,
    pub body: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: OffsetDateTime,
}

/// What a fetch brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    Modified {
        body: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// The server said 304: the cached copy is current.
    NotModified,
}

#[derive(Debug, Clone)]
enum Location {
    File(PathBuf),
    Url(url::Url),
}

/// A calendar file or URL. `Debug` shows only the label: the URL may hold a token.
#[derive(Clone)]
pub struct CalendarSource {
    calendar: String,
    label: String,
    location: Location,
    client: crate::http::Client,
}

/// Calendars larger than this are refused: a year of shifts is a few hundred kilobytes, and
/// the parser refuses more than this too.
const MAX_BODY: usize = 16 << 20;
const TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for CalendarSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalendarSource")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl CalendarSource {
    /// `calendar` as written in `[oncall] calendar`: `http(s)://…`, `file://…` or a path.
    pub fn new(calendar: &str) -> Result<Self, OncallError> {
        let trimmed = calendar.trim();
        let (location, label) = match url::Url::parse(trimmed) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "webcal") => {
                let mut u = u;
                if u.scheme() == "webcal" {
                    // webcal:// is how calendar apps are told to subscribe: it is https.
                    let rest = trimmed["webcal".len()..].to_owned();
                    u = url::Url::parse(&format!("https{rest}")).map_err(|e| {
                        OncallError::Fetch {
                            label: redact_url(trimmed),
                            message: e.to_string(),
                        }
                    })?;
                }
                // Calendar URLs carry their secret in the path or the query: only the scheme
                // and host are ever shown (logs, the window, `oncall --json`).
                let shown = redact_url(u.as_str());
                (Location::Url(u), shown)
            }
            Ok(u) if u.scheme() == "file" => {
                let path = u.to_file_path().map_err(|()| OncallError::Fetch {
                    label: trimmed.to_owned(),
                    message: "not a local file URL".to_owned(),
                })?;
                let label = path.display().to_string();
                (Location::File(path), label)
            }
            _ => (Location::File(PathBuf::from(trimmed)), trimmed.to_owned()),
        };
        // A calendar URL is a secret (its query is the token): the shared client follows
        // redirects only within the same origin.
        let client = crate::http::Client::builder(TIMEOUT)
            .max_body(MAX_BODY)
            .build()
            .map_err(|e| OncallError::Fetch {
                label: label.clone(),
                message: e.to_string(),
            })?;
        Ok(CalendarSource {
            calendar: trimmed.to_owned(),
            label,
            location,
            client,
        })
    }

    /// The calendar as configured.
    pub fn calendar(&self) -> &str {
        &self.calendar
    }

    /// The file path, or the URL's scheme and host, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Reads the calendar; with a cached copy of it, asks the server whether it changed.
    pub async fn fetch(&self, cached: Option<&CachedCalendar>) -> Result<Fetched, OncallError> {
        let fail = |message: String| OncallError::Fetch {
            label: self.label.clone(),
            message,
        };
        match &self.location {
            Location::File(path) => {
                let body = tokio::fs::read(path).await.map_err(|e| {
                    fail(match e.kind() {
                        std::io::ErrorKind::NotFound => "no such file".to_owned(),
                        _ => format!("cannot read: {e}"),
                    })
                })?;
                let body = String::from_utf8(body)
                    .map_err(|_| fail("not UTF-8 text (is this an iCal file?)".to_owned()))?;
                Ok(Fetched::Modified {
                    body,
                    etag: None,
                    last_modified: None,
                })
            }
            Location::Url(url) => {
                let mut request = self
                    .client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "text/calendar, */*;q=0.5");
                if let Some(c) = cached.filter(|c| c.calendar == self.calendar) {
                    if let Some(etag) = &c.etag {
                        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
                    }
                    if let Some(lm) = &c.last_modified {
                        request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
                    }
                }
                let answer = self.client.send(request).await.map_err(|e| {
                    fail(match e {
                        crate::http::HttpError::TooLarge { .. } => e.to_string(),
                        e => format!("unreachable: {e}"),
                    })
                })?;
                if answer.status == reqwest::StatusCode::NOT_MODIFIED {
                    return Ok(Fetched::NotModified);
                }
                answer.check().map_err(|e| fail(e.to_string()))?;
                let etag = answer.header(reqwest::header::ETAG);
                let last_modified = answer.header(reqwest::header::LAST_MODIFIED);
                let body = answer.body;
                let body = String::from_utf8(body)
                    .map_err(|_| fail("the answer is not UTF-8 text".to_owned()))?;
                Ok(Fetched::Modified {
                    body,
                    etag,
                    last_modified,
                })
            }
        }
    }
}
