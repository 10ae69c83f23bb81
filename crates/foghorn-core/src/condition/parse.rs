//! Turns condition text into two operands and an operator, refusing with a precise position
//! anything Gatus would have silently compared as literal text.

use super::jsonpath::{self, Segment};
use super::{ConditionError, Op, Placeholder};

/// Why `[DOMAIN_EXPIRATION]` is refused rather than read: Gatus asks the domain's registry
/// (RDAP, or WHOIS as a fallback) on every check, a third party Foghorn does not talk to.
pub(super) const DOMAIN_EXPIRATION_REFUSED: &str =
    "`[DOMAIN_EXPIRATION]` is not supported: Gatus reads it by asking the domain's registry \
     (RDAP, or WHOIS as a fallback), and Foghorn only talks to the services it checks; let \
     the registrar renew the domain automatically, or watch its expiry there";

/// One side of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Operand {
    /// As written, without surrounding spaces; shown again in the resolved condition.
    pub text: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// Text compared as it is.
    Literal,
    /// A placeholder, perhaps with a JSON path, perhaps wrapped in `len()` or `has()`.
    Value {
        func: Option<Func>,
        placeholder: Placeholder,
        path: Vec<Segment>,
    },
    /// `pat(…)`: a wildcard pattern.
    Pattern(String),
    /// `any(a, b, …)`: the options, trimmed.
    Any(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    Len,
    Has,
}

impl Operand {
    pub fn placeholder(&self) -> Option<Placeholder> {
        match self.kind {
            Kind::Value { placeholder, .. } => Some(placeholder),
            _ => None,
        }
    }
}

pub(super) struct Parsed {
    pub left: Operand,
    pub op: Op,
    pub right: Operand,
}

/// An error at a byte offset of the condition, turned into a character offset at the end.
type Failure = (usize, String);

pub(super) fn parse(text: &str) -> Result<Parsed, ConditionError> {
    parse_bytes(text).map_err(|(byte, message)| ConditionError {
        condition: text.to_owned(),
        offset: text.get(..byte).map_or(0, |s| s.chars().count()),
        message,
    })
}

fn parse_bytes(text: &str) -> Result<Parsed, Failure> {
    if text.trim().is_empty() {
        return Err((
            0,
            "the condition is empty; write one such as `[STATUS] == 200`".into(),
        ));
    }
    let Some((at, op)) = find_operator(text) else {
        return Err(no_operator(text));
    };
    let (left_raw, right_raw) = (&text[..at - 1], &text[at + op.as_str().len() + 1..]);
    let left_start = left_raw.len() - left_raw.trim_start().len();
    let right_start = at + op.as_str().len() + 1 + right_raw.len() - right_raw.trim_start().len();
    let (left, right) = (left_raw.trim(), right_raw.trim());
    if left.is_empty() {
        return Err((
            at,
            format!("nothing to compare on the left of `{}`", op.as_str()),
        ));
    }
    if right.is_empty() {
        return Err((
            at,
            format!("nothing to compare on the right of `{}`", op.as_str()),
        ));
    }
    let left = operand(left, left_start)?;
    let right = operand(right, right_start)?;

    // pat() and any() go on either side, as in Gatus, but only with `==` and `!=`.
    for (side, side_start) in [(&left, left_start), (&right, right_start)] {
        if matches!(side.kind, Kind::Pattern(_) | Kind::Any(_)) && !op.is_equality() {
            return Err((
                side_start,
                format!(
                    "pat() and any() only work with `==` or `!=`, not `{}`",
                    op.as_str()
                ),
            ));
        }
    }
    match right.kind {
        Kind::Literal | Kind::Value { .. } => {
            if let Some((second, other)) = find_operator(&right.text) {
                return Err((
                    right_start + second,
                    format!(
                        "a condition has one operator, but `{}` follows `{}`: split it into two \
                         conditions, or use pat() to match text containing it",
                        other.as_str(),
                        op.as_str()
                    ),
                ));
            }
        }
        _ => {}
    }
    if left.placeholder().is_none() && right.placeholder().is_none() {
        return Err((
            left_start,
            "both sides are fixed text, so this never changes; one side needs a placeholder \
             such as [STATUS] or [BODY]"
                .into(),
        ));
    }
    Ok(Parsed { left, op, right })
}

/// The leftmost operator with a space on both sides: the byte offset of the operator itself.
fn find_operator(text: &str) -> Option<(usize, Op)> {
    text.match_indices(' ').find_map(|(i, _)| {
        let rest = &text[i + 1..];
        Op::ALL
            .into_iter()
            .find(|op| {
                rest.strip_prefix(op.as_str())
                    .is_some_and(|after| after.starts_with(' '))
            })
            .map(|op| (i + 1, op))
    })
}

/// Explains a condition without a properly spaced operator, suggesting the fix when an
/// operator is there but cramped, as in `[STATUS]==200`.
fn no_operator(text: &str) -> Failure {
    const CRAMPED: [&str; 7] = ["==", "!=", "<=", ">=", "<", ">", "="];
    let found = text.char_indices().find_map(|(i, _)| {
        CRAMPED
            .into_iter()
            .find(|op| text[i..].starts_with(op))
            .map(|op| (i, op))
    });
    match found {
        Some((i, op)) => {
            let fixed = if op == "=" { "==" } else { op };
            let suggestion = format!(
                "{} {fixed} {}",
                text[..i].trim(),
                text[i + op.len()..].trim()
            );
            let message = if op == "=" {
                format!("`=` is not an operator: write `{suggestion}`")
            } else {
                format!("`{op}` needs a space on both sides: write `{suggestion}`")
            };
            (i, message)
        }
        None => (
            text.trim_end().len(),
            "no operator: expected one of ==, !=, <, <=, >, >= with a space on both sides, \
             as in `[STATUS] == 200`"
                .into(),
        ),
    }
}

/// Parses one trimmed side starting at byte `start` of the condition.
fn operand(s: &str, start: usize) -> Result<Operand, Failure> {
    let kind = if let Some(name_len) = function_name_len(s) {
        function(s, start, name_len)?
    } else if let Some((placeholder, path)) = placeholder(s, start)? {
        Kind::Value {
            func: None,
            placeholder,
            path,
        }
    } else {
        Kind::Literal
    };
    Ok(Operand {
        text: s.to_owned(),
        kind,
    })
}

/// The length of `name` when `s` starts like a call, `name(`.
fn function_name_len(s: &str) -> Option<usize> {
    let first = *s.as_bytes().first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    (s.as_bytes().get(len) == Some(&b'(')).then_some(len)
}

fn function(s: &str, start: usize, name_len: usize) -> Result<Kind, Failure> {
    let name = &s[..name_len];
    let open = name_len;
    if !s.ends_with(')') {
        return Err(match s.rfind(')') {
            Some(close) => (
                start + close + 1,
                format!("unexpected text after the `)` that closes `{name}(`"),
            ),
            None => (
                start + open,
                format!("`{name}(` is never closed: add `)` at the end"),
            ),
        });
    }
    let inner = &s[open + 1..s.len() - 1];
    let inner_start = start + open + 1;
    match name {
        "len" | "has" => {
            let func = if name == "len" { Func::Len } else { Func::Has };
            let trimmed = inner.trim_start();
            let trimmed_start = inner_start + inner.len() - trimmed.len();
            match placeholder(trimmed.trim_end(), trimmed_start)? {
                Some((placeholder, path)) => Ok(Kind::Value {
                    func: Some(func),
                    placeholder,
                    path,
                }),
                None => Err((
                    trimmed_start,
                    format!("{name}() takes a placeholder, such as `{name}([BODY].items)`"),
                )),
            }
        }
        "pat" => Ok(Kind::Pattern(inner.to_owned())),
        "any" => {
            if inner.trim().is_empty() {
                return Err((
                    inner_start,
                    "any() needs at least one value, as in `any(200, 204)`".into(),
                ));
            }
            Ok(Kind::Any(
                inner.split(',').map(|o| o.trim().to_owned()).collect(),
            ))
        }
        _ => {
            let known = ["len", "has", "pat", "any"];
            let hint = match known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
                Some(k) => format!("; function names are lowercase: `{k}()`"),
                None if name.eq_ignore_ascii_case("age") => {
                    "; Gatus' age() is not supported by Foghorn".to_owned()
                }
                None => String::new(),
            };
            Err((
                start,
                format!("unknown function `{name}()`: conditions know len(), has(), pat() and any(){hint}"),
            ))
        }
    }
}

/// Reads `[NAME]` and, for `[BODY]`, the path after it. `Ok(None)` when `s` is not meant as a
/// placeholder: literal JSON such as `[1, 2]`, `[]` or `[true]`.
fn placeholder(s: &str, start: usize) -> Result<Option<(Placeholder, Vec<Segment>)>, Failure> {
    let Some(after_bracket) = s.strip_prefix('[') else {
        return Ok(None);
    };
    let name_len = after_bracket
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let name = &after_bracket[..name_len];
    if !name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
    {
        return Ok(None);
    }
    let close = 1 + name_len;
    match s[close..].chars().next() {
        Some(']') => {}
        None => {
            return Err((
                start,
                format!("`[{name}` is never closed: write `[{name}]`"),
            ))
        }
        Some(other) => {
            return Err((
                start + close,
                format!("unexpected `{other}` in the placeholder `[{name}`: placeholders look like `[STATUS]`"),
            ))
        }
    }
    if ["true", "false", "null"]
        .iter()
        .any(|v| v.eq_ignore_ascii_case(name))
    {
        return Ok(None);
    }
    let known = || {
        Placeholder::ALL
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if name.eq_ignore_ascii_case("DOMAIN_EXPIRATION") {
        return Err((start, DOMAIN_EXPIRATION_REFUSED.to_owned()));
    }
    let Some(placeholder) = Placeholder::from_bare_name(name) else {
        let gatus_only = ["HEADER", "CONTEXT"]
            .iter()
            .any(|g| g.eq_ignore_ascii_case(name));
        let why = if gatus_only {
            "is a Gatus placeholder Foghorn does not support yet"
        } else {
            "is not a placeholder"
        };
        return Err((
            start,
            format!("`[{name}]` {why}; known placeholders: {}", known()),
        ));
    };
    let rest = &s[close + 1..];
    if placeholder != Placeholder::Body && !rest.is_empty() {
        return Err((
            start + close + 1,
            format!(
                "only [BODY] has a path; remove `{rest}` after `{}`",
                placeholder.name()
            ),
        ));
    }
    let path = jsonpath::parse(rest, start + close + 1)?;
    Ok(Some((placeholder, path)))
}
