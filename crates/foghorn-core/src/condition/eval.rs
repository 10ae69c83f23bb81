//! Resolves placeholders against a check and compares the two sides, the way Gatus does
//! except where [`super`] documents otherwise.

use std::cmp::Ordering;

use serde_json::Value;

use super::jsonpath;
use super::parse::{Func, Kind, Operand};
use super::{Body, Condition, Context, Op, Placeholder};

/// Resolved values longer than this many characters are cut in the resolved condition; the
/// comparison itself always uses the whole value.
const MAX_SHOWN_CHARS: usize = 60;

/// What a placeholder resolved to.
#[derive(Debug, Clone, PartialEq)]
enum Resolved {
    Text(String),
    /// The JSON path leads nowhere.
    Missing,
    /// A JSON path was asked of a body that is not JSON.
    NotJson,
    /// The check did not produce this value (no status after a refused connection…).
    Unavailable,
    /// `len()` of a JSON `null`, which Gatus cannot measure either.
    NullLength,
}

impl Resolved {
    fn describe(&self) -> String {
        match self {
            Resolved::Text(t) if t.is_empty() => "empty".to_owned(),
            Resolved::Text(t) => shown(t),
            Resolved::Missing => "missing".to_owned(),
            Resolved::NotJson => "body is not JSON".to_owned(),
            Resolved::Unavailable => "unavailable".to_owned(),
            Resolved::NullLength => "null has no length".to_owned(),
        }
    }
}

/// Whether the condition holds, and the condition with its placeholders' values shown.
pub(super) fn evaluate(condition: &Condition, ctx: &Context<'_>) -> (bool, String) {
    let left = resolve(&condition.left, ctx);
    let right = resolve(&condition.right, ctx);
    let op = condition.op;
    let text = |operand: &Operand, resolved: &Option<Resolved>| match resolved {
        None => Some(operand.text.clone()),
        Some(Resolved::Text(t)) => Some(t.clone()),
        Some(_) => None,
    };
    let is_matcher = |kind: &Kind| matches!(kind, Kind::Pattern(_) | Kind::Any(_));
    // pat() and any() may sit on either side, as in Gatus; the parser allows only one.
    let matched = if is_matcher(&condition.right.kind) {
        Some((text(&condition.left, &left), &condition.right.kind))
    } else if is_matcher(&condition.left.kind) {
        Some((text(&condition.right, &right), &condition.left.kind))
    } else {
        None
    };
    let ok = match matched {
        Some((Some(value), Kind::Pattern(pattern))) => wildcard(pattern, &value) == (op == Op::Eq),
        Some((Some(value), Kind::Any(options))) => {
            options.iter().any(|o| equal(&value, o)) == (op == Op::Eq)
        }
        Some(_) => false,
        None => match (text(&condition.left, &left), text(&condition.right, &right)) {
            (Some(l), Some(r)) => compare(op, &l, &r),
            _ => false,
        },
    };
    let resolved = format!(
        "{} {} {}",
        show(&condition.left, &left),
        op.as_str(),
        show(&condition.right, &right)
    );
    (ok, resolved)
}

/// `None` for what needs no resolving: literals, patterns, `any()`.
fn resolve(operand: &Operand, ctx: &Context<'_>) -> Option<Resolved> {
    let Kind::Value {
        func,
        placeholder,
        path,
    } = &operand.kind
    else {
        return None;
    };
    let func = *func;
    let scalar = match placeholder {
        Placeholder::Body => return Some(resolve_body(func, path, ctx.body.as_ref())),
        Placeholder::Status => ctx.status.map(|v| v.to_string()),
        Placeholder::ResponseTime => ctx.response_time_ms.map(|v| v.to_string()),
        Placeholder::Ip => ctx.ip.map(str::to_owned),
        Placeholder::Connected => ctx.connected.map(|v| v.to_string()),
        Placeholder::CertificateExpiration => ctx.certificate_expiration_ms.map(|v| v.to_string()),
        Placeholder::DnsRcode => ctx.dns_rcode.map(str::to_owned),
    };
    Some(match (func, scalar) {
        (Some(Func::Has), value) => boolean(value.is_some_and(|v| !v.is_empty())),
        (_, None) => Resolved::Unavailable,
        (Some(Func::Len), Some(value)) => count(value.chars().count()),
        (None, Some(value)) => Resolved::Text(value),
    })
}

fn resolve_body(
    func: Option<Func>,
    path: &[jsonpath::Segment],
    body: Option<&Body<'_>>,
) -> Resolved {
    let Some(body) = body else {
        return match func {
            Some(Func::Has) => boolean(false),
            _ => Resolved::Unavailable,
        };
    };
    if path.is_empty() {
        // Gatus compares the whole body trimmed, so a trailing newline does not matter.
        let text = body.text().trim();
        return match func {
            None => Resolved::Text(text.to_owned()),
            Some(Func::Has) => boolean(!text.is_empty()),
            // Gatus counts a JSON array's items, and the bytes of anything else as received,
            // surrounding whitespace and an object's braces included.
            Some(Func::Len) => match body.json() {
                Some(Value::Array(items)) => count(items.len()),
                _ => count(body.text().len()),
            },
        };
    }
    let Some(json) = body.json() else {
        return match func {
            Some(Func::Has) => boolean(false),
            _ => Resolved::NotJson,
        };
    };
    match (func, jsonpath::lookup(json, path)) {
        (Some(Func::Has), found) => boolean(found.is_some_and(|v| !v.is_null())),
        (_, None) => Resolved::Missing,
        // Bytes, as Gatus counts them; an object is measured as the text Gatus reads it as.
        (Some(Func::Len), Some(value)) => match value {
            Value::Array(items) => count(items.len()),
            Value::String(s) => count(s.len()),
            Value::Null => Resolved::NullLength,
            other => count(json_text(other).len()),
        },
        (None, Some(Value::String(s))) => Resolved::Text(s.clone()),
        // Numbers, booleans, null, and arrays and objects as compact JSON.
        (None, Some(other)) => Resolved::Text(json_text(other)),
    }
}

/// A JSON value as compact text the way Gatus writes it back out with Go's `encoding/json`:
/// object keys sorted, and `<`, `>`, `&` escaped, so `len()` of an object gives Gatus' count.
fn json_text(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", json_string(k), json_text(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(json_text).collect();
            format!("[{}]", inner.join(","))
        }
        Value::String(s) => json_string(s),
        other => other.to_string(),
    }
}

fn json_string(s: &str) -> String {
    Value::String(s.to_owned())
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn boolean(value: bool) -> Resolved {
    Resolved::Text(value.to_string())
}

fn count(n: usize) -> Resolved {
    Resolved::Text(n.to_string())
}

/// One side as it appears in the resolved condition: as written, followed by its value in
/// parentheses when it is a placeholder.
fn show(operand: &Operand, resolved: &Option<Resolved>) -> String {
    let Some(resolved) = resolved else {
        return operand.text.clone();
    };
    let value = match (&operand.kind, resolved) {
        // Milliseconds are unreadable at certificate scale; Gatus shows a duration too.
        (
            Kind::Value {
                func: None,
                placeholder: Placeholder::CertificateExpiration,
                ..
            },
            Resolved::Text(ms),
        ) => ms.parse().map_or_else(|_| resolved.describe(), human_ms),
        _ => resolved.describe(),
    };
    format!("{} ({value})", operand.text)
}

/// A value on one line and at most [`MAX_SHOWN_CHARS`] characters.
fn shown(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == MAX_SHOWN_CHARS - 1 && value.chars().nth(MAX_SHOWN_CHARS).is_some() {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push('�'),
            c => out.push(c),
        }
    }
    out
}

/// `4000000000` → `46d7h6m`: whole minutes, or seconds under a minute.
fn human_ms(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let secs = ms.unsigned_abs() / 1000;
    if secs < 60 {
        return format!("{sign}{secs}s");
    }
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let mut out = sign.to_owned();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

pub(super) fn compare(op: Op, left: &str, right: &str) -> bool {
    match op {
        Op::Eq => equal(left, right),
        Op::Ne => !equal(left, right),
        _ => {
            let (Some(l), Some(r)) = (magnitude(left), magnitude(right)) else {
                return false;
            };
            let Some(order) = l.cmp(r) else {
                return false;
            };
            match op {
                Op::Lt => order == Ordering::Less,
                Op::Le => order != Ordering::Greater,
                Op::Gt => order == Ordering::Greater,
                _ => order != Ordering::Less,
            }
        }
    }
}

/// Equal as numbers when both sides are numbers, otherwise as exact text.
fn equal(left: &str, right: &str) -> bool {
    match (number(left), number(right)) {
        (Some(l), Some(r)) => l.cmp(r) == Some(Ordering::Equal),
        _ => left == right,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Beyond 2^53 this rounds, which only matters against a float anyway.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// A number: an integer as Go's `strconv.ParseInt(s, 0, 64)` reads it for Gatus (`0x1F`,
/// `0o17`, `0b101`, `1_000`, but a leading zero stays decimal), or a decimal float, refusing
/// Rust's `inf` and `NaN` spellings.
pub(super) fn number(s: &str) -> Option<Num> {
    if let Some(i) = integer(s) {
        return Some(Num::Int(i));
    }
    let plausible = s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !plausible {
        return None;
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

/// An integer with an optional sign, in decimal or with Go's `0x`, `0o` or `0b` prefix, and
/// `_` only between digits or right after the prefix, as Go's integer literals allow.
fn integer(s: &str) -> Option<i128> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let prefix = unsigned.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match prefix.as_deref() {
        Some("0x") => (16, &unsigned[2..]),
        Some("0o") => (8, &unsigned[2..]),
        Some("0b") => (2, &unsigned[2..]),
        _ => (10, unsigned),
    };
    let mut after_digit = radix != 10;
    for (i, c) in digits.char_indices() {
        if c == '_' {
            if !after_digit || i + 1 == digits.len() {
                return None;
            }
            after_digit = false;
        } else if c.is_digit(radix) {
            after_digit = true;
        } else {
            return None;
        }
    }
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// A number, or a duration read as milliseconds, for ordering comparisons.
pub(super) fn magnitude(s: &str) -> Option<Num> {
    number(s).or_else(|| duration_ms(s).map(Num::Float))
}

/// A Go duration as Gatus accepts it (`300ms`, `1.5h`, `1h30m`), plus days (`7d`), in
/// milliseconds.
pub(super) fn duration_ms(s: &str) -> Option<f64> {
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let digits = &rest[..number_end];
        if !digits.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: f64 = digits.parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let per_unit = match &rest[..unit_end] {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3_600e3,
            "d" => 86_400e3,
            _ => return None,
        };
        total += value * per_unit;
        rest = &rest[unit_end..];
    }
    let total = if negative { -total } else { total };
    total.is_finite().then_some(total)
}

/// Gatus' `pat()`: `*` matches any run of characters, everything else matches itself.
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(last) = parts.next_back() else {
        return pattern == text;
    };
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    // Leftmost matches of the middle pieces are always the best choice with `*` alone.
    let mut middle = &text[first.len()..text.len() - last.len()];
    for part in parts {
        match middle.find(part) {
            Some(at) => middle = &middle[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "x", false),
            ("john*", "john doe", true),
            ("john*", "jane", false),
            ("*doe", "john doe", true),
            ("*o*o*", "foo", true),
            ("*o*o*o*", "foo", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("10.*", "10.0.0.1", true),
            ("10.*", "110.0.0.1", false),
            ("a?c", "abc", false),
            ("a?c", "a?c", true),
            ("*\"ok\":true*", r#"{"ok":true}"#, true),
            ("Z*ë", "Zoë", true),
            ("**", "", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(wildcard(pattern, text), want, "pat({pattern}) vs {text:?}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("1s", Some(1000.0)),
            ("500ms", Some(500.0)),
            ("48h", Some(172_800_000.0)),
            ("1h30m", Some(5_400_000.0)),
            ("1.5s", Some(1500.0)),
            (".5s", Some(500.0)),
            ("2d", Some(172_800_000.0)),
            ("-1s", Some(-1000.0)),
            ("1000us", Some(1.0)),
            ("1000µs", Some(1.0)),
            ("1000000ns", Some(1.0)),
            ("1", None),
            ("s", None),
            ("1x", None),
            ("1s2", None),
            ("", None),
            ("-", None),
            ("..s", None),
            ("1 s", None),
        ];
        for (text, want) in cases {
            assert_eq!(duration_ms(text), want, "{text}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number("42"), Some(Num::Int(42)));
        assert_eq!(number("-7"), Some(Num::Int(-7)));
        assert_eq!(number("0.75"), Some(Num::Float(0.75)));
        assert_eq!(number("1e3"), Some(Num::Float(1000.0)));
        assert_eq!(number("1e999"), None);
        // Go's integer literals, as Gatus reads them.
        assert_eq!(number("0x10"), Some(Num::Int(16)));
        assert_eq!(number("0XfF"), Some(Num::Int(255)));
        assert_eq!(number("0o17"), Some(Num::Int(15)));
        assert_eq!(number("0b0010"), Some(Num::Int(2)));
        assert_eq!(number("-0x1"), Some(Num::Int(-1)));
        assert_eq!(number("1_000"), Some(Num::Int(1000)));
        assert_eq!(number("0x_1"), Some(Num::Int(1)));
        assert_eq!(number("010"), Some(Num::Int(10)));
        for not in [
            "", "inf", "NaN", "infinity", "e", "-", "1.2.3", "0x", "0xg", "0b2", "0o8", "_1", "1_",
            "1__0", "0x1.5", "+", "1_000.5",
        ] {
            assert_eq!(number(not), None, "{not}");
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_ms(4_000_000_000), "46d7h6m");
        assert_eq!(human_ms(172_800_000), "2d");
        assert_eq!(human_ms(59_999), "59s");
        assert_eq!(human_ms(-3_600_000), "-1h");
    }

    #[test]
    fn shown_values_are_one_short_line() {
        assert_eq!(shown("a\nb\tc"), "a\\nb\\tc");
        let long = "x".repeat(100);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), MAX_SHOWN_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(
            shown(&"y".repeat(MAX_SHOWN_CHARS)),
            "y".repeat(MAX_SHOWN_CHARS)
        );
    }
}
