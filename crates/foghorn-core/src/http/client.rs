//! The client and its builder: timeouts, user agent, the redirect rule and the body cap in one
//! place, and [`Client::send`], which reads the whole answer or says why not.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, LOCATION};
use reqwest::redirect::Policy;
use reqwest::{IntoUrl, Method, RequestBuilder, StatusCode};

use super::body::{read_capped, BodyError, MAX_BODY};
use super::error::{excerpt, json, HttpError};
use super::retry_after::retry_after;

/// Every request says who it is.
pub const USER_AGENT: &str = concat!("foghorn/", env!("CARGO_PKG_VERSION"));

/// The longest a connection may take to open, unless the whole exchange is given less.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Redirects followed in a row before giving up, unless the builder says otherwise.
pub const MAX_REDIRECTS: usize = 5;

/// Which redirects a client follows. One it does not follow is not an error of the client's:
/// the caller gets the 3xx answer, and [`Answer::check`] says where it pointed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirects {
    /// Only to the same scheme, host and port: every request that carries a secret.
    #[default]
    SameOrigin,
    /// To the same host, on any scheme or port: monitors, where a health URL that suddenly
    /// redirects to a login page on another host is a failure the user must see.
    SameHost,
    /// Anywhere (a monitor that asks for it).
    Any,
    /// None at all.
    None,
}

impl Redirects {
    fn policy(self, max: usize) -> Policy {
        if self == Redirects::None {
            return Policy::none();
        }
        Policy::custom(move |attempt| {
            let next = attempt.url();
            let allowed = attempt.previous().first().is_some_and(|first| match self {
                Redirects::SameOrigin => {
                    first.scheme() == next.scheme()
                        && first.host_str() == next.host_str()
                        && first.port_or_known_default() == next.port_or_known_default()
                }
                Redirects::SameHost => first.host_str() == next.host_str(),
                Redirects::Any => true,
                Redirects::None => false,
            });
            if !allowed {
                attempt.stop()
            } else if attempt.previous().len() > max {
                attempt.error(format!("more than {max} redirects"))
            } else {
                attempt.follow()
            }
        })
    }
}

/// How to build a [`Client`]. Without [`Builder::timeout`] requests have no limit of their own
/// (monitors set one on each request).
#[derive(Debug, Default)]
pub struct Builder {
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    redirects: Redirects,
    max_redirects: Option<usize>,
    max_body: Option<usize>,
    fresh_connections: bool,
    tls_info: bool,
    accept_invalid_certs: bool,
    roots: Vec<reqwest::Certificate>,
}

impl Builder {
    /// The whole exchange, answer included; connecting gets at most [`CONNECT_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    pub fn redirects(mut self, redirects: Redirects) -> Self {
        self.redirects = redirects;
        self
    }

    /// Redirects followed in a row before the request fails ([`MAX_REDIRECTS`] by default).
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = Some(max);
        self
    }

    /// The largest body [`Client::send`] reads ([`MAX_BODY`] by default).
    pub fn max_body(mut self, limit: usize) -> Self {
        self.max_body = Some(limit);
        self
    }

    /// A new connection for every request: a reused one would hide DNS and TLS handshake
    /// failures from a monitor.
    pub fn fresh_connections(mut self) -> Self {
        self.fresh_connections = true;
        self
    }

    /// Keeps the peer certificate on each response, for a monitor's certificate expiry.
    pub fn tls_info(mut self, yes: bool) -> Self {
        self.tls_info = yes;
        self
    }

    /// Trusts any certificate (a monitor with `insecure = true`).
    pub fn accept_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }

    /// Trusts `certificate` besides the bundled roots.
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.roots.push(certificate);
        self
    }

    /// The client; building fails only when the TLS backend cannot start or a root
    /// certificate is unusable.
    pub fn build(self) -> Result<Client, HttpError> {
        let mut builder = reqwest::Client::builder()
            .redirect(
                self.redirects
                    .policy(self.max_redirects.unwrap_or(MAX_REDIRECTS)),
            )
            .referer(false)
            .user_agent(USER_AGENT)
            .tls_info(self.tls_info)
            .danger_accept_invalid_certs(self.accept_invalid_certs);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        let connect = match (self.connect_timeout, self.timeout) {
            (Some(c), Some(t)) => Some(c.min(t)),
            (Some(c), None) => Some(c),
            (None, Some(t)) => Some(CONNECT_TIMEOUT.min(t)),
            (None, None) => None,
        };
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        if self.fresh_connections {
            builder = builder.pool_max_idle_per_host(0);
        }
        for root in self.roots {
            builder = builder.add_root_certificate(root);
        }
        let inner = builder.build().map_err(|e| HttpError::Request {
            cause: format!("cannot build an HTTP client: {e}"),
        })?;
        Ok(Client {
            inner,
            timeout: self.timeout.unwrap_or(Duration::MAX),
            max_body: self.max_body.unwrap_or(MAX_BODY),
        })
    }
}

/// A client built by [`Builder`], with the limits it reads answers under.
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    timeout: Duration,
    max_body: usize,
}

impl Client {
    /// A builder for a client whose requests each take at most `timeout`.
    pub fn builder(timeout: Duration) -> Builder {
        Builder::default().timeout(timeout)
    }

    /// Wraps a client built elsewhere (the fallback when the TLS backend cannot start).
    pub fn wrap(inner: reqwest::Client, timeout: Duration, max_body: usize) -> Self {
        Client {
            inner,
            timeout,
            max_body,
        }
    }

    /// The time limit of each request, for "timed out after …".
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The underlying client, for uses that read the response themselves (monitors).
    pub fn into_reqwest(self) -> reqwest::Client {
        self.inner
    }

    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        self.inner.request(method, url)
    }

    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.inner.get(url)
    }

    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.inner.post(url)
    }

    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.inner.put(url)
    }

    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.inner.patch(url)
    }

    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.inner.delete(url)
    }

    /// Sends `request` and reads the whole answer, whatever its status (at most the client's
    /// body cap). Errors are those before an answer and a body too large to read; the status
    /// is the caller's to judge, most with [`Answer::check`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer, HttpError> {
        let response = request
            .send()
            .await
            .map_err(|e| HttpError::from_reqwest(&e, self.timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        match read_capped(response, self.max_body).await {
            Ok(body) => Ok(Answer {
                status,
                headers,
                body,
            }),
            Err(BodyError::TooLarge { limit }) => Err(HttpError::TooLarge {
                status,
                limit,
                retry_after: retry_after(&headers, SystemTime::now()),
            }),
            Err(BodyError::Transport(e)) => Err(HttpError::from_reqwest(&e, self.timeout)),
        }
    }
}

/// An answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The server's `Retry-After`, clamped ([`super::retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers, SystemTime::now())
    }

    /// A header's value as text, if it has one.
    pub fn header(&self, name: HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// 2xx passes. Anything else is [`HttpError::Status`] with an excerpt of the body, or, for
    /// a redirect the client did not follow, where it pointed: only the target's origin, as
    /// its path or query may carry a token.
    pub fn check(&self) -> Result<(), HttpError> {
        if self.status.is_success() {
            return Ok(());
        }
        let redirect = refused_redirect(self.status, &self.headers);
        Err(HttpError::Status {
            status: self.status,
            redirected: redirect.is_some(),
            said: redirect.unwrap_or_else(|| excerpt(&self.body)),
            retry_after: self.retry_after(),
        })
    }

    /// The body as JSON, or [`HttpError::Decode`] saying what it is instead.
    pub fn json(&self) -> Result<serde_json::Value, HttpError> {
        json(&self.body)
    }
}

/// For a 3xx answer the client did not follow: "redirected to https://other.example:8443
/// (only redirects to the same scheme, host and port are followed)".
fn refused_redirect(status: StatusCode, headers: &HeaderMap) -> Option<String> {
    if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
        return None;
    }
    let to = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
        .map_or_else(
            || "another address".to_owned(),
            |u| u.origin().ascii_serialization(),
        );
    Some(format!(
        "redirected to {to} (only redirects to the same scheme, host and port are followed)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    fn answer(status: u16, body: &str, headers: &[(HeaderName, &'static str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn answers_are_checked_by_status_with_what_the_server_said() {
        let to = (LOCATION, "http://127.0.0.1:9/cal.ics?token=s3cret");
        let cases: &[(Answer, Result<(), &str>)] = &[
            (answer(200, "{}", &[]), Ok(())),
            (answer(204, "", &[]), Ok(())),
            (
                answer(503, "down", &[]),
                Err("HTTP 503 Service Unavailable: down"),
            ),
            (answer(500, "", &[]), Err("HTTP 500 Internal Server Error")),
            (
                answer(302, "", std::slice::from_ref(&to)),
                Err("HTTP 302 Found: redirected to http://127.0.0.1:9 (only redirects to the same scheme, host and port are followed)"),
            ),
            (
                answer(307, "", &[]),
                Err("HTTP 307 Temporary Redirect: redirected to another address (only redirects to the same scheme, host and port are followed)"),
            ),
            (answer(304, "", std::slice::from_ref(&to)), Err("HTTP 304 Not Modified")),
        ];
        for (answer, want) in cases {
            let got = answer.check().map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_owned), "{answer:?}");
        }
        let e = answer(429, "slow down", &[(RETRY_AFTER, "7")])
            .check()
            .expect_err("429");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn builders_take_their_settings() {
        let client = Client::builder(Duration::from_millis(500))
            .max_body(1 << 20)
            .redirects(Redirects::SameHost)
            .max_redirects(10)
            .build()
            .expect("a client");
        assert_eq!(client.timeout(), Duration::from_millis(500));
        assert_eq!(client.max_body, 1 << 20);
        let plain = Builder::default().build().expect("a client");
        assert_eq!(plain.max_body, MAX_BODY);
    }
}
