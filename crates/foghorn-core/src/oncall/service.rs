//! The schedule kept fresh: fetched every `[oncall] refresh` from a calendar, PagerDuty's
//! on-call list or both, the last good copy of each kept in the database, and the user's
//! status published on a watch channel.
//!
//! Calendars are parsed outside the state's lock (and, on refresh, on a blocking thread): a
//! large or hostile calendar takes its time without stopping `status()`, which the tray, the
//! window and the ladder ask all the time; the parsed schedule is swapped in under the lock.

use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::sync::watch;

use super::{
    CachedCalendar, CalendarSource, Fetched, OncallError, OncallStatus, PagerDutyCopy,
    PagerDutyShifts, ParseOptions, Schedule, SourceStatus,
};
use crate::config::{FeedConfig, Me, OncallConfig, OncallSource};
use crate::secret::SystemSecrets;
use crate::store::Store;

/// Keeps the on-call schedule and answers "am I on call".
#[derive(Debug)]
pub struct OncallService {
    config: Option<OncallConfig>,
    me: Me,
    store: Store,
    /// `None` when the calendar is not a source.
    source: Option<Result<CalendarSource, OncallError>>,
    /// `None` when PagerDuty is not a source.
    pagerduty: Option<Result<PagerDutyShifts, OncallError>>,
    state: Mutex<State>,
    tx: watch::Sender<OncallStatus>,
}

#[derive(Debug, Default)]
struct State {
    /// The last good copy.
    cache: Option<CachedCalendar>,
    /// The copy parsed; re-parsed when asked about a time outside its window.
    schedule: Option<Schedule>,
    /// Why the last refresh failed.
    error: Option<OncallError>,
    /// Counts the copies `cache` has held, so a schedule parsed outside the lock from an
    /// older copy does not replace one of a newer copy.
    generation: u64,
    /// The last good read of PagerDuty's on-call list.
    pagerduty: Option<PagerDutyCopy>,
    /// Why the last read of it failed.
    pagerduty_error: Option<OncallError>,
}

impl OncallService {
    /// Starts from the copies kept in the database, if they are of the configured sources.
    /// `feeds` are the configured feeds, one of which `[oncall]` may read on-calls from.
    pub fn new(config: Option<OncallConfig>, feeds: &[FeedConfig], me: Me, store: Store) -> Self {
        let source = config
            .as_ref()
            .filter(|c| c.uses(OncallSource::Calendar))
            .map(|c| {
                let calendar = c.calendar.as_ref().ok_or_else(|| OncallError::Fetch {
                    label: "[oncall] calendar".to_owned(),
                    message: "no [oncall] calendar is configured".to_owned(),
                })?;
                calendar
                    .resolve(&SystemSecrets)
                    .map_err(|e| OncallError::Fetch {
                        label: "[oncall] calendar".to_owned(),
                        message: e.to_string(),
                    })
                    .and_then(|calendar| CalendarSource::new(calendar.expose()))
            });
        let pagerduty = config
            .as_ref()
            .filter(|c| c.uses(OncallSource::Pagerduty))
            .map(|c| match c.pagerduty_feed(feeds) {
                Some(feed) => PagerDutyShifts::new(feed, c.escalation_level, &SystemSecrets),
                None => Err(OncallError::Fetch {
                    label: "[oncall] PagerDuty".to_owned(),
                    message: "no PagerDuty feed to read on-calls from".to_owned(),
                }),
            });
        let mut state = State::default();
        if let Some(Err(e)) = &source {
            // The calendar cannot even be looked up (a missing secret): said like a failed fetch.
            tracing::warn!(error = %e, "on-call: cannot read the calendar");
            state.error = Some(e.clone());
        }
        match &pagerduty {
            Some(Err(e)) => {
                tracing::warn!(error = %e, "on-call: cannot read PagerDuty's on-call list");
                state.pagerduty_error = Some(e.clone());
            }
            Some(Ok(pd)) => match store.oncall_pagerduty_copy() {
                Ok(Some(json)) => match serde_json::from_str::<PagerDutyCopy>(&json) {
                    Ok(copy) if copy.source == pd.key() => state.pagerduty = Some(copy),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "on-call: the kept PagerDuty copy is unreadable")
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "on-call: cannot read the kept PagerDuty copy")
                }
            },
            None => {}
        }
        if let Some(Ok(src)) = &source {
            match store.oncall_cache() {
                Ok(Some(cache)) if cache.calendar == src.calendar() => {
                    state.schedule = Schedule::parse(&cache.body, src.label()).ok();
                    state.cache = Some(cache);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "on-call: cannot read the cached calendar"),
            }
        }
        let service = OncallService {
            config,
            me,
            store,
            source,
            pagerduty,
            state: Mutex::new(state),
            tx: watch::channel(placeholder()).0,
        };
        service
            .tx
            .send_replace(service.status(OffsetDateTime::now_utc()));
        service
    }

    pub fn is_configured(&self) -> bool {
        self.config.is_some()
    }

    /// Reads every source again; publishes the new status.
    pub async fn refresh(&self) {
        self.refresh_around(OffsetDateTime::now_utc()).await;
    }

    /// Reads every source again, PagerDuty's entries around `at` (`foghorn oncall --at`);
    /// publishes the new status.
    pub async fn refresh_around(&self, at: OffsetDateTime) {
        if let Some(Ok(source)) = &self.source {
            self.refresh_calendar(source).await;
        }
        if let Some(Ok(pagerduty)) = &self.pagerduty {
            self.refresh_pagerduty(pagerduty, at).await;
        }
        self.tx.send_replace(self.status(OffsetDateTime::now_utc()));
    }

    /// A failed read keeps the last good copy and records the error.
    async fn refresh_pagerduty(&self, pagerduty: &PagerDutyShifts, at: OffsetDateTime) {
        match pagerduty.fetch(at).await {
            Ok(copy) => {
                {
                    let mut state = self.lock();
                    state.pagerduty = Some(copy.clone());
                    state.pagerduty_error = None;
                }
                match serde_json::to_string(&copy) {
                    Ok(json) => {
                        if let Err(e) = self.store.set_oncall_pagerduty_copy(json).await {
                            tracing::warn!(error = %e, "on-call: cannot keep PagerDuty's on-call list");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "on-call: cannot keep PagerDuty's on-call list")
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "on-call: keeping the last good PagerDuty on-call list");
                self.lock().pagerduty_error = Some(e);
            }
        }
    }

    /// Fetches the calendar (a 304 keeps the copy); a failed fetch or a malformed new copy
    /// keeps the last good schedule and records the error.
    async fn refresh_calendar(&self, source: &CalendarSource) {
        let cached = self.lock().cache.clone();
        let now = OffsetDateTime::now_utc();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        let fetched = source.fetch(cached.as_ref()).await;
        // Parsed before the lock is taken; only the result is swapped in under it.
        let fetched = match fetched {
            Ok(Fetched::NotModified) => {
                let reparsed = match cached {
                    Some(c) => Some(parse_off_the_runtime(c.body, source.label()).await.1),
                    None => None,
                };
                Ok((Fetched::NotModified, reparsed))
            }
            Ok(Fetched::Modified {
                body,
                etag,
                last_modified,
            }) => {
                let (body, parsed) = parse_off_the_runtime(body, source.label()).await;
                let modified = Fetched::Modified {
                    body,
                    etag,
                    last_modified,
                };
                Ok((modified, Some(parsed)))
            }
            Err(e) => Err(e),
        };
        let mut save = None;
        {
            let mut state = self.lock();
            match fetched {
                Ok((Fetched::NotModified, reparsed)) => match state.cache.as_mut() {
                    Some(cache) => {
                        cache.fetched_at = now;
                        save = state.cache.clone();
                        state.schedule = reparsed.and_then(Result::ok);
                        state.error = None;
                    }
                    None => {
                        state.error = Some(OncallError::Fetch {
                            label: source.label().to_owned(),
                            message: "the server answered 304 Not Modified to a first request"
                                .to_owned(),
                        })
                    }
                },
                Ok((
                    Fetched::Modified {
                        body,
                        etag,
                        last_modified,
                    },
                    parsed,
                )) => match parsed.unwrap_or_else(|| Err(internal(source.label()))) {
                    Ok(schedule) => {
                        for w in schedule.warnings() {
                            tracing::warn!(calendar = source.label(), "on-call: {w}");
                        }
                        let cache = CachedCalendar {
                            calendar: source.calendar().to_owned(),
                            body,
                            etag,
                            last_modified,
                            fetched_at: now,
                        };
                        state.schedule = Some(schedule);
                        state.cache = Some(cache.clone());
                        state.generation += 1;
                        state.error = None;
                        save = Some(cache);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "on-call: keeping the last good schedule");
                        state.error = Some(e);
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "on-call: keeping the last good schedule");
                    state.error = Some(e);
                }
            }
        }
        if let Some(cache) = save {
            if let Err(e) = self.store.set_oncall_cache(&cache).await {
                tracing::warn!(error = %e, "on-call: cannot keep the calendar in the database");
            }
        }
    }

    /// Why the last refresh failed, if it did (the calendar's reason first).
    pub fn last_error(&self) -> Option<OncallError> {
        let state = self.lock();
        state
            .error
            .clone()
            .or_else(|| state.pagerduty_error.clone())
    }

    /// Whether any good copy of a schedule has been read.
    pub fn has_schedule(&self) -> bool {
        let state = self.lock();
        state.cache.is_some() || state.pagerduty.is_some()
    }

    /// The user's status at `at`.
    pub fn status(&self, at: OffsetDateTime) -> OncallStatus {
        let override_until = self.store.oncall_override().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "on-call: cannot read the override");
            None
        });
        let label = match &self.source {
            Some(Ok(s)) => s.label().to_owned(),
            _ => String::new(),
        };
        // A time outside the expanded window: expand the same copy around it, outside the lock.
        let copy = {
            let state = self.lock();
            let outside = state.schedule.as_ref().is_none_or(|s| !s.covers(at));
            match &state.cache {
                Some(cache) if outside => Some((state.generation, cache.body.clone())),
                _ => None,
            }
        };
        let reparsed = copy.map(|(generation, body)| {
            let schedule = Schedule::parse_with(&body, &label, &ParseOptions::around(at)).ok();
            (generation, schedule)
        });
        let mut state = self.lock();
        let mut answer_from = None;
        match reparsed {
            Some((generation, schedule)) if generation == state.generation => {
                state.schedule = schedule;
            }
            // A refresh brought a newer copy meanwhile: it stays; this answer uses the copy read.
            Some((_, schedule)) => answer_from = schedule,
            None => {}
        }
        let calendar = answer_from.or_else(|| state.schedule.clone());
        let pagerduty = self.pagerduty.as_ref().map(|pd| {
            let label = pd.as_ref().map_or("PagerDuty", |pd| pd.label());
            let copy = state
                .pagerduty
                .as_ref()
                .map(|c| Schedule::from_shifts(label, c.shifts(), (c.since, c.until)));
            (label.to_owned(), copy)
        });
        let schedule = match (calendar, pagerduty.as_ref().and_then(|(_, s)| s.as_ref())) {
            (Some(c), Some(p)) => Some(c.merged(p)),
            (c, p) => c.or_else(|| p.cloned()),
        };
        let now = OffsetDateTime::now_utc();
        // Each configured source's copy and error; the status is as fresh as the oldest.
        let mut labels = Vec::new();
        let mut copies = Vec::new();
        let mut errors = Vec::new();
        if self.source.is_some() || self.pagerduty.is_none() {
            labels.push(label);
            copies.push(state.cache.as_ref().map(|c| c.fetched_at));
            errors.extend(state.error.as_ref().map(ToString::to_string));
        }
        if let Some((label, _)) = pagerduty {
            labels.push(label);
            copies.push(state.pagerduty.as_ref().map(|c| c.fetched_at));
            errors.extend(state.pagerduty_error.as_ref().map(ToString::to_string));
        }
        let fetched_at = copies.iter().flatten().min().copied();
        let source = SourceStatus {
            label: labels.join(" + "),
            fetched_at,
            age_secs: fetched_at.map(|t| (now - t).whole_seconds().max(0).unsigned_abs()),
            stale: !errors.is_empty() || copies.iter().any(Option::is_none),
            error: (!errors.is_empty()).then(|| errors.join("; ")),
        };
        drop(state);
        let mut identities = self.me.names.clone();
        if let Some(Ok(pd)) = &self.pagerduty {
            identities.extend(pd.identity().map(str::to_owned));
        }
        OncallStatus::compute(schedule.as_ref(), &identities, at, override_until, source)
    }

    /// "I'm on call until …" (`None` clears it). Publishes the new status.
    pub async fn set_override(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<(), crate::store::StoreError> {
        self.store.set_oncall_override(until).await?;
        self.tx.send_replace(self.status(OffsetDateTime::now_utc()));
        Ok(())
    }

    /// The status, updated after every refresh and override change.
    pub fn subscribe(&self) -> watch::Receiver<OncallStatus> {
        self.tx.subscribe()
    }

    /// Refreshes now and then every `[oncall] refresh` on the current runtime; between
    /// refreshes the status is recomputed each minute, so shift changes are seen on time.
    pub fn spawn(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let Some(every) = self.config.as_ref().map(|c| c.refresh) else {
                return;
            };
            let mut last = None::<tokio::time::Instant>;
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60).min(every));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if last.is_none_or(|t| t.elapsed() >= every) {
                    last = Some(tokio::time::Instant::now());
                    self.refresh().await;
                } else {
                    let status = self.status(OffsetDateTime::now_utc());
                    self.tx.send_if_modified(|old| {
                        let changed = old.you_are_on_call != status.you_are_on_call
                            || old.on_call_now != status.on_call_now
                            || old.until != status.until;
                        *old = status;
                        changed
                    });
                }
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parses `body` on a blocking thread (a large calendar takes CPU time the runtime's workers
/// need for checks); gives the text back with the result.
async fn parse_off_the_runtime(
    body: String,
    label: &str,
) -> (String, Result<Schedule, OncallError>) {
    let owned = label.to_owned();
    match tokio::task::spawn_blocking(move || {
        let parsed = Schedule::parse(&body, &owned);
        (body, parsed)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(error = %e, "on-call: parsing the calendar failed");
            (String::new(), Err(internal(label)))
        }
    }
}

fn internal(label: &str) -> OncallError {
    OncallError::NotCalendar {
        label: label.to_owned(),
        message: "the calendar could not be read (the parser stopped); the last good copy stays"
            .to_owned(),
    }
}

fn placeholder() -> OncallStatus {
    OncallStatus {
        at: OffsetDateTime::UNIX_EPOCH,
        you_are_on_call: false,
        until: None,
        next_shift: None,
        on_call_now: Vec::new(),
        override_until: None,
        source: SourceStatus {
            label: String::new(),
            fetched_at: None,
            age_secs: None,
            stale: true,
            error: None,
        },
    }
}
