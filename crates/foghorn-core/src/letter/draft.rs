//! The letter itself: a Markdown file whose front matter holds the subject, and whose subject
//! and body are minijinja templates filled from one customer's row. Rendering is strict: a
//! variable the list does not have is an error before anything is sent, never a letter that
//! says "Dear ," to eight hundred customers.

use std::collections::BTreeMap;

pub use crate::markdown::fragment as markdown_fragment;
use minijinja::{Environment, UndefinedBehavior};

/// Columns every letter may use even when the list lacks them (they are then empty), so the
/// starting template works with a list of bare addresses.
pub const STANDARD_COLUMNS: [&str; 5] = ["name", "company", "plan", "segment", "mrr"];

/// The variables a letter gets from the SLA report of the month its `sla:` names
/// (see [`super::credit`]).
pub const SLA_VARIABLES: [&str; 5] = [
    "credit",
    "credit_percent",
    "credit_amount",
    "downtime",
    "availability",
];

/// Enough for any letter a person writes; a runaway loop stops instead of hanging a send.
const FUEL: u64 = 200_000;

/// A letter that cannot be used, with where it is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error(
        "the letter has no front matter: start it with a line `---`, then `subject: …`, then `---`"
    )]
    NoFrontMatter,
    #[error("the front matter that starts on line 1 is never closed with a line `---`")]
    UnclosedFrontMatter,
    #[error("line {line}: {message}")]
    FrontMatter { line: usize, message: String },
    #[error("the front matter has no `subject:`")]
    NoSubject,
    #[error("the subject is empty")]
    EmptySubject,
    #[error("the subject is one line")]
    SubjectLines,
    #[error("the letter has no text after its front matter")]
    EmptyBody,
    #[error("the letter has no text")]
    NoText,
    #[error("{part}: {message}")]
    Template { part: &'static str, message: String },
    #[error("the letter uses {{{{ {variable} }}}}, but the list has no `{variable}` column (its columns: {columns})")]
    UnknownVariable { variable: String, columns: String },
    #[error("the letter uses {{{{ {variable} }}}}, a figure of the SLA report, but does not say which month: add `sla: 2026-11` to its front matter (in the window: the SLA month)")]
    NoSlaMonth { variable: String },
    #[error("the SLA month {0:?} is not a month: write YYYY-MM, such as 2026-11")]
    SlaMonth(String),
}

/// A letter as written: its subject and body templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub subject: String,
    pub body: String,
    /// The month (`2026-11`) whose SLA report fills in `{{ credit }}`, `{{ downtime }}` and
    /// the other [`SLA_VARIABLES`]. It is part of the letter's text (its `sla:` line), so the
    /// same words about another month are another letter with a ledger of its own.
    pub sla_month: Option<String>,
    /// The line of the file the body starts on, so template errors name the file's line.
    body_line: usize,
}

/// One customer's letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    /// The Markdown as filled in: readable as it is, so it is the plain-text part.
    pub text: String,
    /// The Markdown rendered, with any HTML the letter or a customer's row holds shown as text.
    pub html: String,
}

/// The letter a founder starts from: an apology, what happened, what is being done, when it
/// will be fixed, and an invitation to reply. The brackets are for the founder to fill.
pub const STARTING_TEMPLATE: &str = "---
subject: About the outage, and what we are doing about it
---
{% if name %}Dear {{ name }},{% else %}Hello,{% endif %}

[For how long], [what did not work] for you{% if company %} and everyone at {{ company }}{% endif %}. I am sorry. You rely on us, and this time we let you down.

**What happened.** [In plain words: what broke and why, as far as we know it now.]

**What we are doing.** [What the team is doing right now, and what we will change so that it does not happen again.]

**When it will be fixed.** [When you expect it to be fixed, or when you will write again. If you do not know yet, say so.]

If this hurt your business, or you simply want to tell me what you think, reply to this email. It comes straight to me, and I read every reply.

[Your name]
[Your title]
";

impl Draft {
    /// Reads a letter: `---`, `subject: …`, `---`, then the Markdown body.
    pub fn parse(source: &str) -> Result<Self, DraftError> {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let mut lines = source.split_inclusive('\n');
        let mut offset = match lines.next() {
            Some(first) if first.trim_end() == "---" => first.len(),
            _ => return Err(DraftError::NoFrontMatter),
        };
        let mut subject = None;
        let mut sla_month = None;
        let mut closed = false;
        let mut line_no = 1;
        for line in lines.by_ref() {
            line_no += 1;
            offset += line.len();
            let text = line.trim_end();
            if text == "---" {
                closed = true;
                break;
            }
            if text.trim().is_empty() || text.trim_start().starts_with('#') {
                continue;
            }
            let Some((key, value)) = text.split_once(':') else {
                return Err(DraftError::FrontMatter {
                    line: line_no,
                    message: format!("{text:?} is not `key: value`"),
                });
            };
            match key.trim() {
                "subject" => {
                    if subject.is_some() {
                        return Err(DraftError::FrontMatter {
                            line: line_no,
                            message: "a second `subject:`".into(),
                        });
                    }
                    subject = Some(unquote(value.trim()).to_owned());
                }
                "sla" => {
                    if sla_month.is_some() {
                        return Err(DraftError::FrontMatter {
                            line: line_no,
                            message: "a second `sla:`".into(),
                        });
                    }
                    let month = sla_month_of(unquote(value.trim())).map_err(|e| {
                        DraftError::FrontMatter {
                            line: line_no,
                            message: e.to_string(),
                        }
                    })?;
                    sla_month = Some(month);
                }
                other => {
                    return Err(DraftError::FrontMatter {
                        line: line_no,
                        message: format!(
                            "unknown key `{other}` (the front matter holds `subject:` and `sla:`)"
                        ),
                    })
                }
            }
        }
        if !closed {
            return Err(DraftError::UnclosedFrontMatter);
        }
        let subject = subject
            .filter(|s| !s.trim().is_empty())
            .ok_or(DraftError::NoSubject)?;
        let body = source.get(offset.min(source.len())..).unwrap_or("");
        if body.trim().is_empty() {
            return Err(DraftError::EmptyBody);
        }
        Draft {
            subject,
            body: body.to_owned(),
            sla_month: sla_month.filter(|m| !m.is_empty()),
            body_line: line_no + 1,
        }
        .compiled()
    }

    /// A letter written as its two parts, a subject line and a Markdown body (the window's
    /// fields): the same letter as the file `---`, `subject: …`, `---`, body. Errors in the
    /// body name the body's own lines.
    pub fn from_parts(subject: &str, body: &str) -> Result<Self, DraftError> {
        let subject = unquote(subject.trim());
        if subject.is_empty() {
            return Err(DraftError::EmptySubject);
        }
        if subject.contains(['\n', '\r']) {
            return Err(DraftError::SubjectLines);
        }
        if body.trim().is_empty() {
            return Err(DraftError::NoText);
        }
        Draft {
            subject: subject.to_owned(),
            body: body.to_owned(),
            sla_month: None,
            body_line: 1,
        }
        .compiled()
    }

    /// The letter speaking about the SLA month `typed` (`2026-11`; empty: none), as the
    /// window's field holds it.
    pub fn with_sla_month(mut self, typed: &str) -> Result<Self, DraftError> {
        let month = sla_month_of(typed)?;
        self.sla_month = (!month.is_empty()).then_some(month);
        Ok(self)
    }

    /// Both parts compile, or the founder hears where they do not.
    fn compiled(self) -> Result<Self, DraftError> {
        let env = environment();
        env.template_from_str(&self.subject)
            .map_err(|e| self.template_error("subject", &e))?;
        env.template_from_str(&self.body)
            .map_err(|e| self.template_error("body", &e))?;
        Ok(self)
    }

    /// The letter file again, as [`Draft::parse`] reads it. A letter without a month has no
    /// `sla:` line, so its text (and its key) is what it was before months existed.
    pub fn to_source(&self) -> String {
        match &self.sla_month {
            Some(month) => format!(
                "---\nsubject: {}\nsla: {month}\n---\n{}",
                self.subject, self.body
            ),
            None => format!("---\nsubject: {}\n---\n{}", self.subject, self.body),
        }
    }

    /// The variables the letter uses, in order of name.
    pub fn variables(&self) -> Vec<String> {
        let env = environment();
        let mut used: Vec<String> = [&self.subject, &self.body]
            .into_iter()
            .filter_map(|source| env.template_from_str(source).ok())
            .flat_map(|t| t.undeclared_variables(false))
            .collect();
        used.sort();
        used.dedup();
        used
    }

    /// Every variable the letter uses is a column of the list (or a standard one).
    pub fn check_columns(&self, columns: &[String]) -> Result<(), DraftError> {
        let env = environment();
        for (part, source) in [("subject", &self.subject), ("body", &self.body)] {
            let template = env
                .template_from_str(source)
                .map_err(|e| self.template_error(part, &e))?;
            let mut used: Vec<String> = template.undeclared_variables(false).into_iter().collect();
            used.sort();
            for variable in used {
                let from_sla = SLA_VARIABLES.contains(&variable.as_str());
                let known = columns.contains(&variable)
                    || STANDARD_COLUMNS.contains(&variable.as_str())
                    || variable == "email"
                    || variable == "unsubscribe_url"
                    || (from_sla && self.sla_month.is_some());
                if from_sla && !known {
                    return Err(DraftError::NoSlaMonth { variable });
                }
                if !known {
                    return Err(DraftError::UnknownVariable {
                        variable,
                        columns: columns.join(", "),
                    });
                }
            }
        }
        Ok(())
    }

    /// The letter for one customer. `vars` are the row's columns by name.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<Rendered, DraftError> {
        let env = environment();
        let mut values: BTreeMap<String, minijinja::Value> = STANDARD_COLUMNS
            .iter()
            .chain(&["unsubscribe_url"])
            .map(|c| ((*c).to_owned(), minijinja::Value::from("")))
            .collect();
        for (k, v) in vars {
            values.insert(k.clone(), minijinja::Value::from(v.as_str()));
        }
        let values = minijinja::Value::from_object(values);
        let fill = |part: &'static str, source: &str| {
            env.template_from_str(source)
                .and_then(|t| t.render(&values))
                .map_err(|e| self.template_error(part, &e))
        };
        // A subject is one line, whatever a row's value holds.
        let subject = fill("subject", &self.subject)?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let text = fill("body", &self.body)?;
        let html = markdown_to_html(&text);
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    fn template_error(&self, part: &'static str, e: &minijinja::Error) -> DraftError {
        let detail = e
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string());
        let message = match (part, e.line()) {
            ("body", Some(line)) => format!("line {}: {detail}", self.body_line + line - 1),
            (_, Some(line)) if line > 1 => format!("line {line}: {detail}"),
            _ => detail,
        };
        DraftError::Template { part, message }
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    // The body is Markdown, not HTML: a value is escaped when the Markdown becomes HTML.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// `2026-11` checked, as the SLA report reads a month, and written one way (`2026-1` is
/// `2026-01`), so one month is one letter. Empty stays empty: no month.
fn sla_month_of(typed: &str) -> Result<String, DraftError> {
    let month = typed.trim();
    if month.is_empty() {
        return Ok(String::new());
    }
    let bad = || DraftError::SlaMonth(month.to_owned());
    crate::sla::report::month(month, chrono_tz::UTC).map_err(|_| bad())?;
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Ok(format!("{y:04}-{m:02}"))
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

/// Markdown to an HTML document. HTML written into the letter, or arriving in a customer's
/// name, is shown as text: a letter to every customer is no place for markup nobody reviewed.
pub fn markdown_to_html(markdown: &str) -> String {
    let body = markdown_fragment(markdown);
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family: sans-serif; line-height: 1.5; max-width: 40em\">\n{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_letter_is_personalised_from_its_row() {
        let draft = Draft::parse(
            "---\nsubject: \"{{ company }}: about today\"\n---\nDear {{ name }},\n\nYour plan is *{{ plan }}*.\n",
        )
        .expect("parses");
        let letter = draft
            .render(&vars(&[
                ("name", "Ada"),
                ("company", "Acme"),
                ("plan", "Team"),
            ]))
            .expect("renders");
        assert_eq!(letter.subject, "Acme: about today");
        assert!(letter.text.starts_with("Dear Ada,"));
        assert!(
            letter.html.contains("<p>Your plan is <em>Team</em>.</p>"),
            "{}",
            letter.html
        );
    }

    #[test]
    fn html_in_the_letter_or_a_row_is_shown_as_text() {
        let draft =
            Draft::parse("---\nsubject: Hi\n---\n<b>bold</b> {{ name }}\n").expect("parses");
        let letter = draft
            .render(&vars(&[("name", "<script>alert(1)</script>")]))
            .expect("renders");
        assert!(!letter.html.contains("<script>"), "{}", letter.html);
        assert!(!letter.html.contains("<b>"), "{}", letter.html);
        assert!(letter.html.contains("&lt;script&gt;"), "{}", letter.html);
    }

    #[test]
    fn a_subject_stays_one_line() {
        let draft = Draft::parse("---\nsubject: For {{ name }}\n---\nHello\n").expect("parses");
        let letter = draft
            .render(&vars(&[("name", "Ada\r\nBcc: x@example.com")]))
            .expect("renders");
        assert_eq!(letter.subject, "For Ada Bcc: x@example.com");
    }

    #[test]
    fn the_front_matter_is_checked_line_by_line() {
        let cases = [
            ("Dear all\n", DraftError::NoFrontMatter),
            ("---\nsubject: Hi\n", DraftError::UnclosedFrontMatter),
            ("---\n---\nHello\n", DraftError::NoSubject),
            ("---\nsubject: Hi\n---\n\n", DraftError::EmptyBody),
            (
                "---\nsubject: Hi\nfrom: me\n---\nHello\n",
                DraftError::FrontMatter {
                    line: 3,
                    message: "unknown key `from` (the front matter holds `subject:` and `sla:`)"
                        .into(),
                },
            ),
            (
                "---\nsubject Hi\n---\nHello\n",
                DraftError::FrontMatter {
                    line: 2,
                    message: "\"subject Hi\" is not `key: value`".into(),
                },
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(Draft::parse(source), Err(expected), "{source:?}");
        }
    }

    #[test]
    fn a_broken_template_names_the_files_line() {
        let err =
            Draft::parse("---\nsubject: Hi\n---\nfine\n\n{% if name %}open\n").expect_err("broken");
        let DraftError::Template { part, message } = err else {
            panic!("{err:?}")
        };
        assert_eq!(part, "body");
        assert!(message.starts_with("line "), "{message}");
    }

    #[test]
    fn a_variable_the_list_lacks_is_refused_before_sending() {
        let draft =
            Draft::parse("---\nsubject: Hi\n---\n{{ name }} on {{ tier }}\n").expect("parses");
        let columns = vec!["email".to_owned(), "tier2".to_owned()];
        assert_eq!(
            draft.check_columns(&columns),
            Err(DraftError::UnknownVariable {
                variable: "tier".into(),
                columns: "email, tier2".into()
            })
        );
        // Standard columns are there even when the list lacks them.
        let columns = vec!["email".to_owned(), "tier".to_owned()];
        assert_eq!(draft.check_columns(&columns), Ok(()));
    }

    #[test]
    fn the_starting_template_works_with_bare_addresses() {
        let draft = Draft::parse(STARTING_TEMPLATE).expect("parses");
        draft.check_columns(&["email".to_owned()]).expect("checks");
        let letter = draft
            .render(&vars(&[("email", "a@example.com")]))
            .expect("renders");
        assert!(letter.text.starts_with("Hello,"), "{}", letter.text);
        let letter = draft
            .render(&vars(&[("name", "Ada"), ("company", "Acme")]))
            .expect("renders");
        assert!(letter.text.starts_with("Dear Ada,"));
        assert!(letter.text.contains("everyone at Acme"));
        assert!(letter.text.contains("reply to this email"));
    }

    #[test]
    fn a_letter_written_in_two_parts_is_the_same_letter_as_its_file() {
        let file = Draft::parse(STARTING_TEMPLATE).expect("parses");
        let parts = Draft::from_parts(&format!(" {} ", file.subject), &file.body).expect("parts");
        assert_eq!(parts.to_source(), file.to_source());
        assert_eq!(Draft::from_parts(" ", "Hi"), Err(DraftError::EmptySubject));
        assert_eq!(Draft::from_parts("Hi", "\n "), Err(DraftError::NoText));
        let err = Draft::from_parts("Hi", "fine\n\n{% if name %}open\n").expect_err("broken");
        assert!(err.to_string().starts_with("body: line "), "{err}");
    }

    #[test]
    fn a_draft_reads_back_from_its_source() {
        let draft = Draft::parse(STARTING_TEMPLATE).expect("parses");
        assert_eq!(Draft::parse(&draft.to_source()), Ok(draft));
    }
}
