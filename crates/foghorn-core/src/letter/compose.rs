//! What the command line and the window share before a letter goes out: the customer a
//! preview shows, one pass over the whole list that counts it (and, before a send, fills the
//! letter in for every row), and the test letter to the founder's own address.

use std::path::Path;

use super::courier::{Courier, Outgoing};
use super::credit::SlaFigures;
use super::draft::{Draft, Rendered};
use super::message::Identity;
pub use super::message::{with_unsubscribe, Columns};
use super::recipients::{self, Filter, Recipient, RecipientsError, Row, Skipped};
use super::smtp::SendError;
use super::LetterError;

/// The customer at `index` (0 is the first) among those the filter lets through.
pub fn recipient_at(
    path: &Path,
    filter: &Filter,
    index: u64,
) -> Result<Option<Recipient>, RecipientsError> {
    let mut seen = 0u64;
    for row in recipients::open(path)? {
        if let Row::Recipient(r) = row? {
            if filter.matches(&r) {
                if seen == index {
                    return Ok(Some(r));
                }
                seen += 1;
            }
        }
    }
    Ok(None)
}

/// A customer's variables: their row, and the SLA figures when the letter names its month.
/// The ledger keeps exactly these, so what a preview shows is what the send freezes.
pub fn customer_vars(vars: &Columns, sla: Option<&SlaFigures>) -> Columns {
    let mut vars = vars.clone();
    if let Some(sla) = sla {
        sla.fill(&mut vars);
    }
    vars
}

/// The variables a customer's letter is filled in with: those the ledger of `earlier` froze
/// when that letter was started (a resume sends exactly these), else their row and the SLA
/// figures as measured now.
pub fn vars_for(
    store: &crate::store::Store,
    earlier: Option<i64>,
    recipient: &Recipient,
    sla: Option<&SlaFigures>,
) -> Result<Columns, LetterError> {
    if let Some(id) = earlier {
        if let Some(json) = store.recipient_vars(id, &recipient.email)? {
            if let Ok(vars) = serde_json::from_str(&json) {
                return Ok(vars);
            }
        }
    }
    Ok(customer_vars(&recipient.vars, sla))
}

/// What a pass over the whole list found.
#[derive(Debug, Clone, Default)]
pub struct Counted {
    /// The list's columns, as the letter's variables name them.
    pub columns: Vec<String>,
    /// Customers who get the letter.
    pub recipients: u64,
    /// The first skipped rows (as many as were asked for), with their line and why.
    pub skipped: Vec<Skipped>,
    pub skipped_count: u64,
    /// Rows the filter left out.
    pub filtered_out: u64,
    /// The customer asked for by position, when the list has that many.
    pub picked: Option<Recipient>,
    /// Of those who get the letter, how many are owed an SLA credit (with an `sla:` month).
    pub owed: u64,
}

/// How a pass over the list is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pass {
    /// Skipped rows kept with their reason (all are counted).
    pub keep_skipped: usize,
    /// The customer to keep, by position among those who get the letter.
    pub pick: Option<u64>,
    /// Fill the letter in for every customer, so a row that breaks it is found before the
    /// first letter goes out (a preview only needs the count).
    pub fill_every_row: bool,
}

/// Reads the whole list: the count, the skipped rows, and the customer asked for. A variable
/// the list lacks is an error before any row is read.
pub fn count(
    path: &Path,
    filter: &Filter,
    draft: &Draft,
    identity: Option<&Identity>,
    sla: Option<&SlaFigures>,
    pass: Pass,
) -> Result<Counted, LetterError> {
    let rows = recipients::open(path)?;
    draft.check_columns(rows.columns())?;
    let mut counted = Counted {
        columns: rows.columns().to_vec(),
        ..Counted::default()
    };
    for row in rows {
        match row? {
            Row::Recipient(r) => {
                if !filter.matches(&r) {
                    counted.filtered_out += 1;
                    continue;
                }
                if sla.is_some_and(|s| s.owes(&r.vars)) {
                    counted.owed += 1;
                }
                if pass.fill_every_row {
                    let vars = with_unsubscribe(identity, &customer_vars(&r.vars, sla), &r.email);
                    if let Err(error) = draft.render(&vars) {
                        return Err(LetterError::Fill {
                            line: r.line,
                            email: r.email,
                            error,
                        });
                    }
                }
                if pass.pick == Some(counted.recipients) {
                    counted.picked = Some(r);
                }
                counted.recipients += 1;
            }
            Row::Skipped(s) => {
                counted.skipped_count += 1;
                if counted.skipped.len() < pass.keep_skipped {
                    counted.skipped.push(s);
                }
            }
        }
    }
    Ok(counted)
}

/// Reads `intercom`'s contacts that take email into `intercom-contacts.csv` in `dir`: the
/// file, the contacts kept, and those left out (no address, bounced, spam, unsubscribed).
pub async fn intercom_contacts(
    intercom: &crate::support::intercom::Intercom,
    dir: &Path,
) -> Result<(std::path::PathBuf, u64, u64), LetterError> {
    let (csv, kept, left_out) = intercom
        .contacts_csv()
        .await
        .map_err(|e| LetterError::ListPath(e.to_string()))?;
    let io = |e: std::io::Error| LetterError::ListPath(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join("intercom-contacts.csv");
    std::fs::write(&path, csv).map_err(io)?;
    Ok((path, kept, left_out))
}

/// Sends the test letter: `rendered` (one customer's letter) to `to`, its subject marked
/// `[Test] `, with a `Message-ID` of its own so it is never taken for the real one. The
/// courier's reply.
pub async fn send_test(
    courier: &dyn Courier,
    domain: &str,
    to: &str,
    rendered: &Rendered,
) -> Result<String, SendError> {
    let mut test = rendered.clone();
    test.subject = format!("[Test] {}", test.subject);
    let id = format!(
        "<test.{}@{domain}>",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
    );
    courier
        .deliver(Outgoing {
            email: to,
            name: None,
            rendered: &test,
            message_id: &id,
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    #[test]
    fn a_pass_counts_skips_and_picks_among_those_the_filter_lets_through() {
        let file = list(
            "email,name,plan\na@x.test,Ada,team\nbad,Bob,team\nc@x.test,Cy,free\nd@x.test,Di,team\n",
        );
        let draft = Draft::parse("---\nsubject: Hi\n---\nDear {{ name }}\n").expect("draft");
        let filter = Filter {
            plans: vec!["team".into()],
            ..Filter::default()
        };
        let counted = count(
            file.path(),
            &filter,
            &draft,
            None,
            None,
            Pass {
                keep_skipped: 5,
                pick: Some(1),
                fill_every_row: true,
            },
        )
        .expect("counts");
        assert_eq!(counted.recipients, 2);
        assert_eq!(counted.filtered_out, 1);
        assert_eq!(counted.skipped_count, 1);
        assert_eq!(counted.skipped[0].line, 3);
        assert_eq!(counted.picked.map(|r| r.email), Some("d@x.test".to_owned()));
        let second = recipient_at(file.path(), &filter, 1).expect("reads");
        assert_eq!(second.map(|r| r.line), Some(5));
    }

    #[test]
    fn a_variable_the_list_lacks_is_an_error_before_counting() {
        let file = list("email\na@x.test\n");
        let draft = Draft::parse("---\nsubject: Hi\n---\n{{ tier }}\n").expect("draft");
        let err = count(
            file.path(),
            &Filter::default(),
            &draft,
            None,
            None,
            Pass::default(),
        )
        .expect_err("refused");
        assert!(err.to_string().contains("`tier`"), "{err}");
    }
}
