//! The one HTTP layer. Every request Foghorn makes goes through a client built here: monitor
//! checks, feeds (Alertmanager, PagerDuty, Datadog, Honeybadger, JSON), the ladder's channels
//! (Slack, Twilio, PagerDuty Events, signed webhooks), status updates (Statuspage), support
//! replies and letters (Intercom) and on-call calendars. Vendors are thin adapters over it;
//! what they must not each get a little differently lives here:
//!
//! - redirects ([`Redirects`]): a request that carries a secret follows them only to the same
//!   scheme, host and port, and without a `Referer`. reqwest's default follows ten redirects
//!   to any host and strips only `Authorization` and cookies on the way, so Datadog's
//!   `DD-API-KEY`, a calendar's secret URL or a webhook's signature would reach whoever the
//!   first server redirected to. Monitors follow them within the host unless told otherwise;
//! - timeouts: one for the whole exchange, and one to connect that is never longer;
//! - answers are read up to a cap ([`MAX_BODY`], lower or higher where a use needs it), so a
//!   wrong URL pointing at a huge file is an error, not a memory spike;
//! - `Retry-After` ([`retry_after`]): seconds or an HTTP date, clamped to [`MAX_RETRY_AFTER`],
//!   since the engine adds it to the clock;
//! - what went wrong ([`HttpError`]): timeout, connect, status with a short excerpt of what
//!   the server said, too large, not what was expected; said the same way everywhere and never
//!   with the URL (its path or query may be the secret).
//!
//! Feeds and channels map [`HttpError`] onto their own errors in one place each
//! (`feed::fetch`, `deliver::http`).

mod body;
mod client;
mod error;
mod retry_after;

pub use body::{read_capped, read_prefix, BodyError, MAX_BODY};
pub use client::{Answer, Builder, Client, Redirects, CONNECT_TIMEOUT, MAX_REDIRECTS, USER_AGENT};
pub use error::{excerpt, HttpError, EXCERPT_MAX};
pub use retry_after::{parse_retry_after, retry_after, MAX_RETRY_AFTER};
