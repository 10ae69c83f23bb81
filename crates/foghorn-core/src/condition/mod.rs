//! Gatus-compatible health conditions such as `[STATUS] == 200` or `[BODY].status == UP`:
//! parsed once when the configuration loads, so a typo is a load error with a caret under it,
//! then evaluated against every check's response.
//!
//! # Syntax
//!
//! A condition is `LEFT OPERATOR RIGHT`. The operator is one of `==`, `!=`, `<`, `<=`, `>`,
//! `>=` and, as in Gatus, must have a space on both sides. Each side is one of:
//!
//! * a placeholder: `[STATUS]`, `[RESPONSE_TIME]` (ms), `[BODY]`, `[IP]`, `[CONNECTED]`,
//!   `[CERTIFICATE_EXPIRATION]` (ms left; 0 on plain HTTP), `[DNS_RCODE]`; names are
//!   case-insensitive;
//! * a JSON path into the body: `[BODY].data.items[0].id`, `[BODY][0].name`;
//! * `len(X)` (items of an array, bytes of anything else, an object as its compact JSON) or
//!   `has(X)` (`true` when the value exists and is not `null`);
//! * on either side of `==`/`!=`: `pat(…)`, a wildcard pattern where `*` is any run of
//!   characters and everything else is literal, or `any(a, b, c)`;
//! * anything else is literal text.
//!
//! Both sides are compared as numbers when both read as numbers (decimal, or Go's `0x1F`,
//! `0o17`, `0b101`, `1_000` as Gatus reads them), otherwise as exact text. Ordering operators
//! also read durations (`500ms`, `1s`, `1h30m`, `2d`) as milliseconds.
//!
//! # Where Foghorn differs from Gatus
//!
//! Gatus' own condition tests run in `gatus_conformance.rs`: of its 98 cases, 97 give Gatus'
//! verdict and `1 == 2` is refused. `foghorn import gatus` names every imported condition whose
//! text runs into one of the differences below ([`Condition::gatus_differences`]); the README's
//! "Import from Gatus" lists them for users.
//!
//! * A side that cannot be resolved (a missing JSON path, a body that is not JSON, a value the
//!   check did not produce) fails the condition whatever the operator, even `!=`: Gatus would
//!   compare the text `(INVALID)` and could report a healthy service it never saw. Without a
//!   response Gatus reads `[STATUS]` and `[CERTIFICATE_EXPIRATION]` as 0, so `[STATUS] < 300`
//!   passes there and fails here.
//! * `<`, `<=`, `>`, `>=` on something that is neither a number nor a duration are false;
//!   Gatus reads such a value as 0, so a missing `[BODY].latency < 500` would pass.
//! * Numbers are compared exactly, fractions included (Gatus compares `200.0` with `200` as
//!   text and drops fractions with `<`, `>`), and a leading zero is decimal (Gatus reads `010`
//!   as octal). `any()` compares its options as numbers too (Gatus: as text).
//! * Typos are errors at load time, not silent literals: an unknown placeholder or function,
//!   unbalanced brackets, two operators, or two fixed values (`1 == 2`, which Gatus evaluates
//!   to false on every check).
//! * `pat()` treats only `*` as special; Gatus' `?`, `[…]` and `\` glob syntax is literal here,
//!   and `/` counts (Gatus removes it from both sides).
//! * JSON arrays read as compact JSON (`["a","b"]`; Gatus prints `[a b]`). `null` reads as
//!   `null` (Gatus fails the condition) but `has()` is false for it, as in Gatus, so
//!   `has([BODY].errors) == false` accepts `"errors": null`. `len([BODY])` of a JSON array
//!   with whitespace around it counts its items (Gatus then counts bytes).
//! * Durations also accept days (`7d`; Gatus reads it as 0). `[*]` wildcards, `age()`,
//!   `[HEADER]` and `[CONTEXT]` are not supported yet and say so. `[DOMAIN_EXPIRATION]` is
//!   refused: Gatus reads it by asking the domain's registry (RDAP, or WHOIS as a fallback),
//!   and Foghorn only talks to the services it checks.

mod eval;
mod gatus;
#[cfg(test)]
mod gatus_conformance;
mod jsonpath;
mod parse;
#[cfg(test)]
mod tests;

use std::cell::OnceCell;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ts_rs::TS;

/// The verdict on one condition, with the value it was judged on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConditionOutcome {
    pub condition: String,
    pub ok: bool,
    /// The condition with its left side resolved, e.g. `[STATUS] (500) == 200`.
    pub resolved: String,
}

/// A parsed condition. Parsing happens once, at configuration load; evaluation never fails,
/// it only says whether the check passed and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    text: String,
    left: parse::Operand,
    op: Op,
    right: parse::Operand,
    placeholders: Vec<Placeholder>,
}

impl Condition {
    /// Judges the condition against one check's response.
    pub fn evaluate(&self, ctx: &Context<'_>) -> ConditionOutcome {
        let (ok, resolved) = eval::evaluate(self, ctx);
        ConditionOutcome {
            condition: self.text.clone(),
            ok,
            resolved,
        }
    }

    /// The condition exactly as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The placeholders the condition reads, each once, so a monitor only reads the body,
    /// resolves DNS or inspects the certificate when some condition needs it.
    pub fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.placeholders.iter().copied()
    }
}

impl FromStr for Condition {
    type Err = ConditionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = parse::parse(text)?;
        let mut placeholders = Vec::new();
        for p in parsed
            .left
            .placeholder()
            .into_iter()
            .chain(parsed.right.placeholder())
        {
            if !placeholders.contains(&p) {
                placeholders.push(p);
            }
        }
        Ok(Self {
            text: text.to_owned(),
            left: parsed.left,
            op: parsed.op,
            right: parsed.right,
            placeholders,
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Reading a condition from the configuration parses it, so the file's error carries the
/// caret pointing at the mistake.
impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e: ConditionError| {
            serde::de::Error::custom(format!("{}\n{}", e.message, e.caret()))
        })
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// Longest first, so `<=` is never read as `<`.
    const ALL: [Op; 6] = [Op::Eq, Op::Ne, Op::Le, Op::Ge, Op::Lt, Op::Gt];

    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, Op::Eq | Op::Ne)
    }
}

/// What a condition can read from a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `[STATUS]`: the HTTP status code.
    Status,
    /// `[RESPONSE_TIME]`: milliseconds from request to response.
    ResponseTime,
    /// `[BODY]`: the response body, trimmed, or a JSON path into it.
    Body,
    /// `[IP]`: the address the host name resolved to.
    Ip,
    /// `[CONNECTED]`: whether a connection was established.
    Connected,
    /// `[CERTIFICATE_EXPIRATION]`: milliseconds until the TLS certificate expires.
    CertificateExpiration,
    /// `[DNS_RCODE]`: the DNS response code, e.g. `NOERROR`.
    DnsRcode,
}

impl Placeholder {
    pub const ALL: [Placeholder; 7] = [
        Placeholder::Status,
        Placeholder::ResponseTime,
        Placeholder::Body,
        Placeholder::Ip,
        Placeholder::Connected,
        Placeholder::CertificateExpiration,
        Placeholder::DnsRcode,
    ];

    /// The placeholder as written in a condition, e.g. `[STATUS]`.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Status => "[STATUS]",
            Placeholder::ResponseTime => "[RESPONSE_TIME]",
            Placeholder::Body => "[BODY]",
            Placeholder::Ip => "[IP]",
            Placeholder::Connected => "[CONNECTED]",
            Placeholder::CertificateExpiration => "[CERTIFICATE_EXPIRATION]",
            Placeholder::DnsRcode => "[DNS_RCODE]",
        }
    }

    /// Finds a placeholder by the name between its brackets, ignoring case as Gatus does.
    fn from_bare_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| {
            p.name()
                .get(1..p.name().len() - 1)
                .is_some_and(|bare| bare.eq_ignore_ascii_case(name))
        })
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one check observed, for conditions to be judged against. `None` means the check did
/// not get that far (no status after a refused connection) or did not look (no body read);
/// a condition reading it then fails and says `unavailable`.
///
/// Build one per response: `Context { status: Some(200), body: Some(Body::new(&text)),
/// ..Context::default() }`.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub status: Option<u16>,
    pub response_time_ms: Option<u64>,
    pub body: Option<Body<'a>>,
    pub ip: Option<&'a str>,
    pub connected: Option<bool>,
    /// Negative once the certificate has expired.
    pub certificate_expiration_ms: Option<i64>,
    pub dns_rcode: Option<&'a str>,
}

/// A response body. It is parsed as JSON at most once, on the first condition that needs a
/// JSON path, however many conditions read it, and never if none does.
#[derive(Debug, Clone)]
pub struct Body<'a> {
    text: &'a str,
    json: OnceCell<Option<serde_json::Value>>,
}

impl<'a> Body<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            json: OnceCell::new(),
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The body as JSON, or `None` when it is not JSON.
    fn json(&self) -> Option<&serde_json::Value> {
        self.json
            .get_or_init(|| serde_json::from_str(self.text).ok())
            .as_ref()
    }
}

impl<'a> From<&'a str> for Body<'a> {
    fn from(text: &'a str) -> Self {
        Self::new(text)
    }
}

/// Why a condition could not be parsed, with where: `offset` counts characters, not bytes, so
/// [`ConditionError::caret`] lines up under any text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid condition `{condition}`: {message} (at character {})", .offset + 1)]
pub struct ConditionError {
    pub condition: String,
    pub offset: usize,
    pub message: String,
}

impl ConditionError {
    /// The 1-based character column of the mistake, for pointing at it under a text field.
    pub fn column(&self) -> usize {
        self.offset + 1
    }

    /// Two lines: the condition, then a `^` under the offending character.
    pub fn caret(&self) -> String {
        // Tabs are copied so the caret stays aligned whatever width the terminal gives them.
        let pad: String = self
            .condition
            .chars()
            .take(self.offset)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{}\n{pad}^", self.condition)
    }
}
