//! Which of the documented differences from Gatus a condition can run into, so `foghorn
//! import gatus` can name every imported condition whose verdict may not be Gatus' own.
//! Only what the condition's text shows is judged; differences that depend on a response's
//! values alone (a JSON array followed by whitespace, say) are documented in [`super`].

use super::eval::{compare, duration_ms, magnitude, number, Num};
use super::parse::{Func, Kind, Operand};
use super::{Condition, Op, Placeholder};

pub(super) const NOT_EQUAL_UNREADABLE: &str =
    "with `!=`, a value Foghorn cannot read (a missing JSON path, a body that is not JSON, no \
     response) fails the condition; Gatus compares the text `(INVALID)` or 0 and passes";
pub(super) const NO_RESPONSE_ZERO: &str =
    "without a response Foghorn fails the condition; Gatus reads [STATUS] and \
     [CERTIFICATE_EXPIRATION] as 0 there, which passes";
pub(super) const ORDERING_NOT_A_NUMBER: &str =
    "with <, <=, >, >=, Foghorn fails a value that is missing or not a number and compares \
     fractions exactly; Gatus reads such a value as 0 and drops fractions";
pub(super) const FRACTION: &str =
    "Foghorn compares fractions as numbers; Gatus compares them as text with `==`/`!=` \
     (`200.0` is not `200`) and drops the fraction with <, <=, >, >=";
pub(super) const LEADING_ZERO: &str =
    "Foghorn reads a number with a leading zero as decimal (`010` is 10); Gatus as octal (8)";
pub(super) const DAYS: &str =
    "Gatus has no `d` unit for durations and reads such a value as 0; Foghorn reads it as days";
pub(super) const NULL: &str =
    "Foghorn reads a JSON null as the text `null`; Gatus fails the condition on it";
pub(super) const ARRAY_TEXT: &str =
    "Foghorn reads a JSON array as compact JSON (`[\"a\",\"b\"]`); Gatus as Go prints it \
     (`[a b]`)";
pub(super) const GLOB: &str =
    "Foghorn's pat() treats only `*` as special; Gatus' also reads `?`, `[…]` and `\\` as glob \
     syntax and ignores `/`";
pub(super) const ANY_NUMBER: &str =
    "Foghorn compares any()'s options as numbers (`any(200.0)` matches 200); Gatus compares \
     them as text";
pub(super) const LEN_BODY_ARRAY: &str =
    "len([BODY]) of a JSON array with whitespace around it counts its items in Foghorn; Gatus \
     counts its bytes";

impl Condition {
    /// Why this condition's verdict may differ from Gatus' on the same response, one reason
    /// per difference it can run into; empty when it always agrees.
    pub fn gatus_differences(&self) -> Vec<&'static str> {
        let mut why = Vec::new();
        let mut add = |reason: &'static str| {
            if !why.contains(&reason) {
                why.push(reason);
            }
        };
        let sides = [(&self.left, &self.right), (&self.right, &self.left)];
        for (i, (side, other)) in sides.into_iter().enumerate() {
            match &side.kind {
                Kind::Value {
                    func,
                    placeholder,
                    path,
                } => {
                    if self.op == Op::Ne && *func != Some(Func::Has) {
                        add(NOT_EQUAL_UNREADABLE);
                    }
                    let bare = func.is_none();
                    if bare
                        && self.op != Op::Ne
                        && matches!(
                            placeholder,
                            Placeholder::Status | Placeholder::CertificateExpiration
                        )
                        && zero_passes(self.op, i == 0, other)
                    {
                        add(NO_RESPONSE_ZERO);
                    }
                    if bare && *placeholder == Placeholder::Body && !self.op.is_equality() {
                        add(ORDERING_NOT_A_NUMBER);
                    }
                    if *func == Some(Func::Len)
                        && *placeholder == Placeholder::Body
                        && path.is_empty()
                    {
                        add(LEN_BODY_ARRAY);
                    }
                    if let Kind::Literal = other.kind {
                        if bare && *placeholder == Placeholder::Body && other.text == "null" {
                            add(NULL);
                        }
                    }
                }
                Kind::Literal => literal(&side.text, self.op, &mut add),
                Kind::Pattern(pattern) => {
                    if pattern.contains(['?', '[', ']', '\\', '/']) {
                        add(GLOB);
                    }
                }
                Kind::Any(options) => {
                    if options.iter().any(|o| non_canonical_number(o)) {
                        add(ANY_NUMBER);
                    }
                }
            }
        }
        why
    }
}

fn literal(text: &str, op: Op, add: &mut impl FnMut(&'static str)) {
    if !op.is_equality() && magnitude(text).is_none() {
        add(ORDERING_NOT_A_NUMBER);
    }
    if matches!(number(text), Some(Num::Float(_))) {
        add(FRACTION);
    }
    let unsigned = text.trim_start_matches(['+', '-']);
    if unsigned.len() > 1
        && unsigned.starts_with('0')
        && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        add(LEADING_ZERO);
    }
    if text.contains('d') && duration_ms(text).is_some() {
        add(DAYS);
    }
    if text.starts_with('[') {
        add(ARRAY_TEXT);
    }
}

/// Whether Gatus' 0 for a value it did not get passes the comparison with `other`.
fn zero_passes(op: Op, value_on_left: bool, other: &Operand) -> bool {
    let Kind::Literal = other.kind else {
        return false;
    };
    if value_on_left {
        compare(op, "0", &other.text)
    } else {
        compare(op, &other.text, "0")
    }
}

/// A number written other than as plain decimal digits: `200.0`, `0xC8`, `010`, `+200`.
fn non_canonical_number(option: &str) -> bool {
    let digits = option.strip_prefix('-').unwrap_or(option);
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    !plain && magnitude(option).is_some() && duration_ms(option).is_none()
}
