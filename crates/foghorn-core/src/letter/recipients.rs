//! The customer list: a CSV file exported from a CRM, a billing tool or a spreadsheet, one
//! customer a row, read into the recipients of a letter.
//!
//! The file is whatever the founder's tool wrote, so the importer is lenient where a guess is
//! safe (a byte-order mark, semicolons where a European Excel writes them, `Email` or
//! ` EMAIL ` as the header, spaces around values, Windows or old Mac line breaks) and strict
//! where a guess would send a letter to the wrong place or twice. A row that cannot be a
//! recipient is skipped and reported with its line in the file, so the founder can fix the
//! list in the tool it came from; only a file that cannot be read as a customer list at all
//! (not UTF-8, no `email` column, a quote that never closes) is an error.
//!
//! Rows are read one at a time ([`Recipients`] is an iterator) so a list of 100,000 customers
//! can go into the database without all of it in memory; [`parse`] collects a small list.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Chain, Cursor, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use csv::ByteRecord;

/// One customer to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Where the row starts in the file (the header is line 1), for messages about it later.
    pub line: u64,
    /// The address as written in the file (trimmed), case kept: some mail servers still treat
    /// the part before the `@` as case-sensitive.
    pub email: String,
    /// Every column by its header name (trimmed, lower case), `email` included, each value
    /// trimmed and with its line breaks as `\n`: the letter's template variables.
    pub vars: BTreeMap<String, String>,
}

/// Why a row is not a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The `email` value is not an address a letter can be sent to.
    BadEmail { value: String },
    /// The `email` value is empty.
    EmptyEmail,
    /// The address is already on an earlier row (compared ignoring case): a customer gets one
    /// letter, with the first row's values.
    Duplicate { email: String, first_line: u64 },
    /// The row has a different number of values than the header has columns, so there is no
    /// telling which value belongs to which column.
    ColumnCount { expected: usize, found: usize },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::BadEmail { value } => write!(f, "\"{value}\" is not an email address"),
            SkipReason::EmptyEmail => f.write_str("the email is empty"),
            SkipReason::Duplicate { email, first_line } => {
                write!(f, "\"{email}\" is already on line {first_line}")
            }
            SkipReason::ColumnCount { expected, found } if found < expected => {
                write!(f, "the row has {found} of {expected} columns")
            }
            SkipReason::ColumnCount { expected, found } => write!(
                f,
                "the row has {found} columns but the header has {expected} \
                 (a value containing the delimiter must be in quotes)"
            ),
        }
    }
}

/// A row left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where the row starts in the file (the header is line 1).
    pub line: u64,
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// One data row of the file: every row that is not blank is exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Recipient(Recipient),
    Skipped(Skipped),
}

/// Why the file cannot be read as a customer list. Reading stops at the first of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecipientsError {
    #[error("cannot read {}: {source}", describe(.path))]
    Io {
        /// The file, when the list was opened by path.
        path: Option<PathBuf>,
        source: std::io::Error,
    },
    /// Guessing another encoding would put mojibake into letters; the founder's tool can
    /// always save UTF-8.
    #[error(
        "line {line} is not UTF-8 text: save the file as UTF-8 (in Excel: \
         \"CSV UTF-8\") and import it again"
    )]
    NotUtf8 { line: u64 },
    #[error("the file is empty: its first line must name the columns, one of them `email`")]
    Empty,
    #[error(
        "the file has no `email` column (its columns: {}); its first line must name the \
         columns, one of them `email`",
        .columns.join(", ")
    )]
    NoEmailColumn { columns: Vec<String> },
    /// Every value becomes a template variable by its column's name, so each column needs
    /// one.
    #[error("line {line}: column {column} of the header has no name")]
    EmptyColumnName { line: u64, column: usize },
    #[error(
        "line {line}: the header names the column `{name}` twice (columns {first} and {second})"
    )]
    DuplicateColumn {
        line: u64,
        name: String,
        first: usize,
        second: usize,
    },
    /// Everything after an unmatched `"` would be one value: rather than quietly losing the
    /// rest of the list, the import stops.
    #[error(
        "line {line}: a quoted value starts here and never ends, so the rest of the file \
         would be read as one value; look for a stray \" on that line"
    )]
    UnclosedQuote { line: u64 },
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
}

/// How much of the file is looked at for the header line before giving up on finding its
/// end (a header is a few hundred bytes; the limit only bounds a file with no line breaks).
const HEAD_LIMIT: usize = 1 << 20;

/// Appended after the last line of every file, on a line of its own; see [`LineBreaks`].
/// `0xFF` never occurs in UTF-8, so no valid file contains it.
const END: &[u8] = b"\n\x00\xFFend";
const SENTINEL: &[u8] = END.split_at(1).1;

/// The recipients of a CSV file, read one row at a time: each item is a [`Row`], or the error
/// that stops the import (after which the iterator ends).
pub struct Recipients<R: Read> {
    reader: csv::Reader<LineBreaks<Chain<Cursor<Vec<u8>>, R>>>,
    path: Option<PathBuf>,
    delimiter: u8,
    columns: Vec<String>,
    email: usize,
    record: ByteRecord,
    /// Lower-cased addresses of the recipients so far → the line of each.
    seen: HashMap<String, u64>,
    finished: bool,
}

impl<R: Read> fmt::Debug for Recipients<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipients")
            .field("path", &self.path)
            .field("delimiter", &char::from(self.delimiter))
            .field("columns", &self.columns)
            .field("recipients", &self.seen.len())
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// Opens a customer list; rows are read as the iterator is advanced.
pub fn open(path: &Path) -> Result<Recipients<BufReader<File>>, RecipientsError> {
    let file = File::open(path).map_err(|source| RecipientsError::Io {
        path: Some(path.to_owned()),
        source,
    })?;
    Recipients::read(BufReader::new(file), Some(path.to_owned()))
}

impl<R: Read> Recipients<R> {
    /// Reads the header (and nothing much beyond it): the errors that concern the whole
    /// file, such as a missing `email` column, come before any row.
    pub fn new(reader: R) -> Result<Self, RecipientsError> {
        Self::read(reader, None)
    }

    fn read(mut reader: R, path: Option<PathBuf>) -> Result<Self, RecipientsError> {
        let head = read_head(&mut reader).map_err(|source| RecipientsError::Io {
            path: path.clone(),
            source,
        })?;
        let delimiter = detect_delimiter(&head);
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(LineBreaks::new(Cursor::new(head).chain(reader)));
        let mut recipients = Recipients {
            reader,
            path,
            delimiter,
            columns: Vec::new(),
            email: 0,
            record: ByteRecord::new(),
            seen: HashMap::new(),
            finished: false,
        };
        recipients.read_header()?;
        Ok(recipients)
    }

    /// The header's column names, trimmed and lower-cased, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The delimiter found on the header line: `b','` or `b';'`.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    fn read_header(&mut self) -> Result<(), RecipientsError> {
        let line = self.next_record()?.ok_or(RecipientsError::Empty)?;
        let fields = fields(&self.record, line)?;
        let mut columns: Vec<String> = Vec::with_capacity(fields.len());
        for (i, field) in fields.iter().enumerate() {
            let name = field.trim().to_lowercase();
            if name.is_empty() {
                return Err(RecipientsError::EmptyColumnName {
                    line,
                    column: i + 1,
                });
            }
            if let Some(first) = columns.iter().position(|c| *c == name) {
                return Err(RecipientsError::DuplicateColumn {
                    line,
                    name,
                    first: first + 1,
                    second: i + 1,
                });
            }
            columns.push(name);
        }
        self.email = columns.iter().position(|c| c == "email").ok_or_else(|| {
            RecipientsError::NoEmailColumn {
                columns: columns.clone(),
            }
        })?;
        self.columns = columns;
        Ok(())
    }

    /// Reads the next record into `self.record` and returns the line it starts on, or `None`
    /// at the end of the file.
    ///
    /// The line is computed from where the record *ends*, not taken from the csv crate's
    /// position of its start: that position is the end of the previous record, which is
    /// short of the truth after blank lines and one line short throughout a Windows (CRLF)
    /// file. [`LineBreaks`] makes every record end with exactly one `\n`, so the start is
    /// the end less that and the line breaks inside quoted values.
    fn next_record(&mut self) -> Result<Option<u64>, RecipientsError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(self.csv_error(e)),
        }
        let end = self.reader.position().line();
        let breaks = count_breaks(self.record.as_slice());
        let last = self.record.len().saturating_sub(1);
        let unclosed = self
            .record
            .get(last)
            .is_some_and(|field| field.ends_with(SENTINEL));
        let line = end.saturating_sub(1 + breaks);
        let sentinel = self.record.len() == 1 && &self.record[0] == SENTINEL;
        // The sentinel only counts as the end of the file if nothing follows it: the file
        // itself could hold its bytes (and is then not UTF-8, which reading the row reports).
        if !(sentinel || unclosed) || !self.at_end()? {
            return Ok(Some(line));
        }
        if sentinel {
            return Ok(None);
        }
        // The last value swallowed the end of the file, sentinel and all: its quote never
        // closed. No line break ended the record, so the start is one line further down.
        let before: u64 = (0..last)
            .filter_map(|i| self.record.get(i))
            .map(count_breaks)
            .sum();
        Err(RecipientsError::UnclosedQuote {
            line: line + 1 + before,
        })
    }

    /// Whether nothing follows the current record. Reads ahead, so only for the sentinel,
    /// after which there is nothing else to read.
    fn at_end(&mut self) -> Result<bool, RecipientsError> {
        let mut next = ByteRecord::new();
        self.reader
            .read_byte_record(&mut next)
            .map(|more| !more)
            .map_err(|e| self.csv_error(e))
    }

    /// The current record as a row, or `None` for a row with no value at all (what a
    /// spreadsheet writes for its empty rows: `,,,`).
    fn row(&mut self, line: u64) -> Result<Option<Row>, RecipientsError> {
        let fields = fields(&self.record, line)?;
        let values: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
        if values.iter().all(|v| v.is_empty()) {
            return Ok(None);
        }
        let skip = |reason| Ok(Some(Row::Skipped(Skipped { line, reason })));
        if values.len() != self.columns.len() {
            return skip(SkipReason::ColumnCount {
                expected: self.columns.len(),
                found: values.len(),
            });
        }
        let email = values[self.email];
        if email.is_empty() {
            return skip(SkipReason::EmptyEmail);
        }
        if !is_email(email) {
            return skip(SkipReason::BadEmail {
                value: email.to_owned(),
            });
        }
        let key = email.to_lowercase();
        if let Some(&first_line) = self.seen.get(&key) {
            return skip(SkipReason::Duplicate {
                email: email.to_owned(),
                first_line,
            });
        }
        self.seen.insert(key, line);
        let vars = self
            .columns
            .iter()
            .zip(&values)
            .map(|(name, value)| (name.clone(), (*value).to_owned()))
            .collect();
        Ok(Some(Row::Recipient(Recipient {
            line,
            email: email.to_owned(),
            vars,
        })))
    }

    fn csv_error(&self, e: csv::Error) -> RecipientsError {
        let line = e.position().map_or(0, csv::Position::line);
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => RecipientsError::Io {
                path: self.path.clone(),
                source,
            },
            _ => RecipientsError::Csv { line, message },
        }
    }
}

impl<R: Read> Iterator for Recipients<R> {
    type Item = Result<Row, RecipientsError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            let row = match self.next_record() {
                Ok(Some(line)) => self.row(line),
                Ok(None) => {
                    self.finished = true;
                    return None;
                }
                Err(e) => Err(e),
            };
            match row {
                Ok(Some(row)) => return Some(Ok(row)),
                // A row of empty values.
                Ok(None) => {}
                Err(e) => {
                    self.finished = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// A whole list in memory: for small lists and tests; use [`Recipients`] for large ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientList {
    pub columns: Vec<String>,
    pub recipients: Vec<Recipient>,
    pub skipped: Vec<Skipped>,
}

/// Reads a whole list from memory; see [`Recipients`].
pub fn parse(bytes: &[u8]) -> Result<RecipientList, RecipientsError> {
    let mut rows = Recipients::new(bytes)?;
    let mut list = RecipientList {
        columns: rows.columns().to_vec(),
        recipients: Vec::new(),
        skipped: Vec::new(),
    };
    for row in &mut rows {
        match row? {
            Row::Recipient(r) => list.recipients.push(r),
            Row::Skipped(s) => list.skipped.push(s),
        }
    }
    Ok(list)
}

/// Which recipients get a letter, from the columns a CRM export usually has. An empty list
/// places no condition; each non-empty one must match (ignoring case), so "enterprise
/// customers on the EU region" is `plans: ["enterprise"], components: ["eu"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Values of the `segment` column.
    pub segments: Vec<String>,
    /// Values of the `plan` column.
    pub plans: Vec<String>,
    /// Any one of the parts of the `components` column, which lists several separated by
    /// `,`, `;` or `|` (whichever the export used).
    pub components: Vec<String>,
}

impl Filter {
    /// Whether the filter lets every recipient through.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty() && self.plans.is_empty() && self.components.is_empty()
    }

    /// Whether `recipient` gets the letter. A row without the column (or with it empty) does
    /// not match a non-empty list for it: a filter is there to narrow the audience, and
    /// someone whose segment is unknown is not known to be in it.
    pub fn matches(&self, recipient: &Recipient) -> bool {
        let value = |column: &str| {
            recipient
                .vars
                .get(column)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let one_of = |wanted: &[String], value: &str| {
            let value = value.to_lowercase();
            wanted.iter().any(|w| w.trim().to_lowercase() == value)
        };
        let column_matches = |wanted: &[String], column: &str| {
            wanted.is_empty() || value(column).is_some_and(|v| one_of(wanted, v))
        };
        column_matches(&self.segments, "segment")
            && column_matches(&self.plans, "plan")
            && (self.components.is_empty()
                || value("components").is_some_and(|list| {
                    list.split([',', ';', '|'])
                        .map(str::trim)
                        .filter(|part| !part.is_empty())
                        .any(|part| one_of(&self.components, part))
                }))
    }
}

/// Whether a letter can be addressed to `value`: what lettre, which sends it, accepts, less
/// what only works on an intranet (a domain without a dot, `bob@localhost`) and anything
/// with a space in it, which a pasted name or a stray line break in a cell leaves behind.
fn is_email(value: &str) -> bool {
    !value.chars().any(char::is_whitespace)
        && lettre::Address::from_str(value).is_ok_and(|a| a.domain().contains('.'))
}

/// Reads at least the first line of the file (unless it is longer than [`HEAD_LIMIT`]),
/// without the UTF-8 byte-order mark some tools put first.
fn read_head(reader: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&chunk[..n]);
        if chunk[..n].iter().any(|&b| b == b'\n' || b == b'\r') || head.len() >= HEAD_LIMIT {
            break;
        }
    }
    if head.starts_with(b"\xEF\xBB\xBF") {
        head.drain(..3);
    }
    Ok(head)
}

/// The header line's delimiter: a semicolon if it has more of them than commas outside
/// quotes (Excel writes semicolons where the comma is the decimal separator), else a comma.
fn detect_delimiter(head: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas {
        b';'
    } else {
        b','
    }
}

/// A record's values as text, or the line of the first byte that is not UTF-8 (`line` is
/// where the record starts).
fn fields(record: &ByteRecord, line: u64) -> Result<Vec<&str>, RecipientsError> {
    let mut line = line;
    let mut fields = Vec::with_capacity(record.len());
    for field in record {
        match std::str::from_utf8(field) {
            Ok(text) => {
                line += count_breaks(field);
                fields.push(text);
            }
            Err(e) => {
                let line = line + count_breaks(&field[..e.valid_up_to()]);
                return Err(RecipientsError::NotUtf8 { line });
            }
        }
    }
    Ok(fields)
}

fn describe(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .map_or_else(|| "the customer list".into(), |p| p.display().to_string())
}

fn count_breaks(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The file as the csv crate should see it, so that line numbers come out right: every line
/// break is one `\n` (Windows' `\r\n` and old Macs' lone `\r` included, inside quoted values
/// too), the last line ends with one, and [`SENTINEL`] follows, which shows whether the
/// file ended inside a quoted value.
struct LineBreaks<R> {
    inner: R,
    /// The last byte read was a `\r`, so a `\n` right after it belongs to it.
    after_cr: bool,
    /// The last byte given out; `\n` before the first.
    last: u8,
    /// What is left to give out after the end of `inner`, once it is reached.
    tail: Option<&'static [u8]>,
}

impl<R> LineBreaks<R> {
    fn new(inner: R) -> Self {
        LineBreaks {
            inner,
            after_cr: false,
            last: b'\n',
            tail: None,
        }
    }
}

impl<R: Read> Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(tail) = self.tail {
                let n = tail.len().min(buf.len());
                buf[..n].copy_from_slice(&tail[..n]);
                self.tail = Some(&tail[n..]);
                return Ok(n);
            }
            let n = self.inner.read(buf)?;
            if n == 0 {
                self.tail = Some(if self.last == b'\n' { SENTINEL } else { END });
                continue;
            }
            let mut out = 0;
            for i in 0..n {
                let b = buf[i];
                if self.after_cr && b == b'\n' {
                    self.after_cr = false;
                    continue;
                }
                self.after_cr = b == b'\r';
                buf[out] = if b == b'\r' { b'\n' } else { b };
                out += 1;
            }
            if out > 0 {
                self.last = buf[out - 1];
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use proptest::prelude::*;

    use super::*;

    fn list(text: &str) -> RecipientList {
        parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n--- input ---\n{text}"))
    }

    /// Each recipient as `line email`.
    fn recipients(list: &RecipientList) -> Vec<String> {
        list.recipients
            .iter()
            .map(|r| format!("{} {}", r.line, r.email))
            .collect()
    }

    /// Each skipped row as the founder reads it.
    fn skipped(list: &RecipientList) -> Vec<String> {
        list.skipped.iter().map(ToString::to_string).collect()
    }

    fn error(bytes: &[u8]) -> RecipientsError {
        match parse(bytes) {
            Ok(list) => panic!("parsed: {list:?}"),
            Err(e) => e,
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_column_is_a_variable_named_by_its_trimmed_lower_case_header() {
        let list = list(
            " Email ,NAME,Company, plan ,Segment,MRR,Signed Up\n\
             ann@example.com, Ann Lee ,Acme,Pro,smb,49,2024-01-02\n",
        );
        assert_eq!(
            list.columns,
            [
                "email",
                "name",
                "company",
                "plan",
                "segment",
                "mrr",
                "signed up"
            ]
        );
        assert_eq!(
            list.recipients,
            [Recipient {
                line: 2,
                email: "ann@example.com".into(),
                vars: vars(&[
                    ("email", "ann@example.com"),
                    ("name", "Ann Lee"),
                    ("company", "Acme"),
                    ("plan", "Pro"),
                    ("segment", "smb"),
                    ("mrr", "49"),
                    ("signed up", "2024-01-02"),
                ]),
            }]
        );
        assert!(list.skipped.is_empty());
    }

    #[test]
    fn an_email_column_alone_is_a_list() {
        let list = list("EMAIL\nann@example.com\n  bob@example.org  \n");
        assert_eq!(
            recipients(&list),
            ["2 ann@example.com", "3 bob@example.org"]
        );
        assert_eq!(
            list.recipients[1].vars,
            vars(&[("email", "bob@example.org")])
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_column() {
        let list = list("\u{FEFF}email,name\nann@example.com,Ann\n");
        assert_eq!(list.columns, ["email", "name"]);
        assert_eq!(recipients(&list), ["2 ann@example.com"]);
        // A mark and nothing else is an empty file.
        assert!(matches!(error(b"\xEF\xBB\xBF"), RecipientsError::Empty));
    }

    #[test]
    fn the_delimiter_is_the_one_the_header_line_has_more_of_outside_quotes() {
        // (input, delimiter, columns)
        let cases: &[(&str, u8, &[&str])] = &[
            (
                "email;name;plan\na@example.com;Ann;pro\n",
                b';',
                &["email", "name", "plan"],
            ),
            (
                "email,name,plan\na@example.com,Ann,pro\n",
                b',',
                &["email", "name", "plan"],
            ),
            // A tie, and neither: a comma.
            ("email,\"a;b\"\na@example.com,x\n", b',', &["email", "a;b"]),
            ("email\na@example.com\n", b',', &["email"]),
            // Commas inside a quoted column name do not count.
            (
                "email;\"name, full\"\na@example.com;Ann\n",
                b';',
                &["email", "name, full"],
            ),
            // Only the header line counts: the rows below may have any number of either.
            (
                "email;name\na@example.com;\"a,b,c,d\"\n",
                b';',
                &["email", "name"],
            ),
        ];
        for (input, delimiter, columns) in cases {
            let rows = Recipients::new(input.as_bytes()).expect(input);
            assert_eq!(rows.delimiter(), *delimiter, "{input}");
            assert_eq!(rows.columns(), *columns, "{input}");
            let list = list(input);
            assert_eq!(list.recipients.len(), 1, "{input}: {list:?}");
            assert!(list.skipped.is_empty(), "{input}: {list:?}");
        }
    }

    #[test]
    fn quoted_values_keep_delimiters_quotes_and_line_breaks() {
        for delimiter in [",", ";"] {
            let text = "email,name,note\n\
                 \"ann@example.com\",\"Lee, Ann; \"\"Annie\"\"\",\"first line\nsecond line\"\n\
                 bob@example.org,Bob,plain\n"
                .replace(',', delimiter);
            let list = list(&text);
            assert!(list.skipped.is_empty(), "{list:?}");
            let name = if delimiter == "," {
                "Lee, Ann; \"Annie\""
            } else {
                "Lee; Ann; \"Annie\""
            };
            assert_eq!(list.recipients[0].vars["name"], name);
            assert_eq!(list.recipients[0].vars["note"], "first line\nsecond line");
            // The line break inside the quotes moves the next row down one line.
            assert_eq!(
                recipients(&list),
                ["2 ann@example.com", "4 bob@example.org"]
            );
        }
    }

    #[test]
    fn rows_after_a_multi_line_value_are_reported_on_their_own_lines() {
        let list = list(
            "email,note\n\
             ann@example.com,\"one\ntwo\nthree\"\n\
             bob@\n\
             carol@example.com,\"x\n\ny\"\n\
             dan@example,short\n\
             erin@example.com,ok\n",
        );
        assert_eq!(
            recipients(&list),
            [
                "2 ann@example.com",
                "6 carol@example.com",
                "10 erin@example.com"
            ]
        );
        assert_eq!(
            skipped(&list),
            [
                "line 5: the row has 1 of 2 columns",
                "line 9: \"dan@example\" is not an email address"
            ]
        );
    }

    #[test]
    fn windows_and_old_mac_line_breaks_and_blank_lines_keep_line_numbers_right() {
        for (name, text) in [
            ("LF", "email,n\n\na@example.com,1\n\n\nb@example.com,\"x\ny\"\nbad,3\nc@example.com,4"),
            ("CRLF", "email,n\r\n\r\na@example.com,1\r\n\r\n\r\nb@example.com,\"x\r\ny\"\r\nbad,3\r\nc@example.com,4\r\n"),
            ("CR", "email,n\r\ra@example.com,1\r\r\rb@example.com,\"x\ry\"\rbad,3\rc@example.com,4\r"),
        ] {
            let list = list(text);
            assert_eq!(
                recipients(&list),
                ["3 a@example.com", "6 b@example.com", "9 c@example.com"],
                "{name}"
            );
            assert_eq!(skipped(&list), ["line 8: \"bad\" is not an email address"], "{name}");
            assert_eq!(list.recipients[1].vars["n"], "x\ny", "{name}");
        }
    }

    #[test]
    fn bad_emails_are_skipped_and_quoted() {
        let good = [
            "ann@example.com",
            "Ann.Lee+letters@mail.example.co.uk",
            "o'neil@example.ie",
            "ann@bücher.example",
        ];
        let bad = [
            "bob@",
            "bob",
            "@example.com",
            "bob@example",
            "bob@localhost",
            "bob smith@example.com",
            "bob@exa mple.com",
            "bob@@example.com",
            "Bob <bob@example.com>",
            "bob@example..com",
            "bob@.example.com",
            "bob@example.com.",
            "bob@-example.com",
        ];
        let mut text = String::from("email,name\n");
        for email in good.iter().chain(&bad) {
            text.push_str(&format!("\"{email}\",x\n"));
        }
        let list = list(&text);
        let accepted: Vec<&str> = list.recipients.iter().map(|r| r.email.as_str()).collect();
        assert_eq!(accepted, good);
        let expected: Vec<String> = bad
            .iter()
            .enumerate()
            .map(|(i, email)| {
                format!(
                    "line {}: \"{email}\" is not an email address",
                    i + 2 + good.len()
                )
            })
            .collect();
        assert_eq!(skipped(&list), expected);
    }

    #[test]
    fn a_value_with_a_line_break_is_not_an_email() {
        let list = list("email\n\"ann@example.com\nbob@example.com\"\n");
        assert!(list.recipients.is_empty());
        assert_eq!(
            list.skipped,
            [Skipped {
                line: 2,
                reason: SkipReason::BadEmail {
                    value: "ann@example.com\nbob@example.com".into()
                }
            }]
        );
    }

    #[test]
    fn a_duplicate_address_ignoring_case_and_spaces_is_skipped_naming_the_first_line() {
        let list = list(
            "email,name\n\
             ann@example.com,First\n\
             bob@example.org,Bob\n\
             \x20ANN@Example.COM ,Second\n\
             bob@example.org,Again\n\
             ann@example.com,Third\n",
        );
        assert_eq!(
            recipients(&list),
            ["2 ann@example.com", "3 bob@example.org"]
        );
        assert_eq!(list.recipients[0].vars["name"], "First");
        assert_eq!(
            skipped(&list),
            [
                "line 4: \"ANN@Example.COM\" is already on line 2",
                "line 5: \"bob@example.org\" is already on line 3",
                "line 6: \"ann@example.com\" is already on line 2",
            ]
        );
        assert_eq!(
            list.skipped[0].reason,
            SkipReason::Duplicate {
                email: "ANN@Example.COM".into(),
                first_line: 2
            }
        );
    }

    #[test]
    fn a_skipped_row_does_not_count_as_the_first_occurrence() {
        // Line 2 is skipped for its column count, so line 3 is the customer's row.
        let list = list("email,name\nann@example.com\nann@example.com,Ann\n");
        assert_eq!(recipients(&list), ["3 ann@example.com"]);
        assert_eq!(skipped(&list), ["line 2: the row has 1 of 2 columns"]);
    }

    #[test]
    fn rows_with_missing_or_extra_columns_are_skipped() {
        let list = list(
            "email,name,company,plan\n\
             a@example.com,Ann\n\
             b@example.com,Bob,Acme,pro,extra\n\
             c@example.com,Carol,Acme,\n\
             d@example.com,Dan,\"Acme, Inc\",pro\n",
        );
        assert_eq!(recipients(&list), ["4 c@example.com", "5 d@example.com"]);
        assert_eq!(list.recipients[0].vars["plan"], "");
        assert_eq!(
            skipped(&list),
            [
                "line 2: the row has 2 of 4 columns",
                "line 3: the row has 5 columns but the header has 4 \
                 (a value containing the delimiter must be in quotes)",
            ]
        );
        assert_eq!(
            list.skipped[0].reason,
            SkipReason::ColumnCount {
                expected: 4,
                found: 2
            }
        );
    }

    #[test]
    fn an_empty_email_is_skipped() {
        let list = list("email,name\n,Ann\n  ,Bob\n\"\",Carol\n");
        assert!(list.recipients.is_empty());
        assert_eq!(
            skipped(&list),
            [
                "line 2: the email is empty",
                "line 3: the email is empty",
                "line 4: the email is empty",
            ]
        );
    }

    #[test]
    fn blank_lines_and_rows_of_empty_values_are_ignored() {
        let list = list("\n\nemail,name\n\n,\n  ,  \n   \nann@example.com,Ann\n\n\n");
        assert_eq!(recipients(&list), ["8 ann@example.com"]);
        assert!(list.skipped.is_empty(), "{list:?}");
    }

    #[test]
    fn a_file_that_is_not_utf8_names_the_line() {
        let cases: &[(&[u8], u64)] = &[
            // Latin-1 é in a row.
            (
                b"email,name\nann@example.com,Ann\nbob@example.com,Ren\xE9\n",
                3,
            ),
            // In the header.
            (b"email,pr\xE9nom\nann@example.com,Ann\n", 1),
            // On the third line of a quoted value that starts on line 2.
            (b"email,note\nann@example.com,\"a\nb\nc\xE9\"\n", 4),
            // After a multi-line value, with Windows line breaks.
            (
                b"email,note\r\nann@example.com,\"a\r\nb\"\r\nbob@example.com,\xE9t\xE9\r\n",
                4,
            ),
            // In a row that would be skipped anyway.
            (b"email,name\nnot an email,\xE9\n", 2),
            // UTF-16, as Excel's "Unicode text" writes it.
            (b"\xFF\xFEe\x00m\x00a\x00i\x00l\x00\n\x00", 1),
        ];
        for (bytes, line) in cases {
            let e = error(bytes);
            assert!(
                matches!(e, RecipientsError::NotUtf8 { line: l } if l == *line),
                "{}: {e:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(
            error(b"email\n\xE9@example.com\n").to_string(),
            "line 2 is not UTF-8 text: save the file as UTF-8 (in Excel: \"CSV UTF-8\") and \
             import it again"
        );
    }

    #[test]
    fn rows_before_an_error_are_read_and_the_iterator_ends_at_it() {
        let mut rows =
            Recipients::new(&b"email\na@example.com\n\xE9\nb@example.com\n"[..]).expect("header");
        assert!(matches!(rows.next(), Some(Ok(Row::Recipient(r))) if r.line == 2));
        assert!(matches!(
            rows.next(),
            Some(Err(RecipientsError::NotUtf8 { line: 3 }))
        ));
        assert!(rows.next().is_none());
    }

    #[test]
    fn a_file_without_an_email_column_is_an_error_listing_its_columns() {
        let e = error(b"Name, Mail\nAnn,ann@example.com\n");
        assert!(
            matches!(&e, RecipientsError::NoEmailColumn { columns } if columns == &["name", "mail"]),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "the file has no `email` column (its columns: name, mail); its first line must \
             name the columns, one of them `email`"
        );
    }

    #[test]
    fn an_empty_file_is_an_error_and_a_header_alone_is_an_empty_list() {
        for empty in [&b""[..], b"\n", b"\r\n\r\n", b"\xEF\xBB\xBF\n\n"] {
            assert!(matches!(error(empty), RecipientsError::Empty), "{empty:?}");
        }
        for header in [
            "email,name",
            "email,name\n",
            "email,name\n\n\n",
            "email;name\r\n",
        ] {
            let list = list(header);
            assert_eq!(list.columns, ["email", "name"], "{header:?}");
            assert!(
                list.recipients.is_empty() && list.skipped.is_empty(),
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_header_needs_distinct_non_empty_names() {
        let e = error(b"email,name,Email\n");
        assert!(
            matches!(
                &e,
                RecipientsError::DuplicateColumn { line: 1, name, first: 1, second: 3 } if name == "email"
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "line 1: the header names the column `email` twice (columns 1 and 3)"
        );
        let e = error(b"\nemail, ,name\n");
        assert!(
            matches!(e, RecipientsError::EmptyColumnName { line: 2, column: 2 }),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "line 2: column 2 of the header has no name");
        // The trailing comma some spreadsheets leave.
        let e = error(b"email,name,\n");
        assert!(
            matches!(e, RecipientsError::EmptyColumnName { line: 1, column: 3 }),
            "{e:?}"
        );
    }

    #[test]
    fn a_quote_that_never_closes_is_an_error_at_its_line() {
        let cases: &[(&str, u64)] = &[
            (
                "email,name\nann@example.com,Ann\nbob@example.com,\"Bob\ncarol@example.com,Carol\n",
                3,
            ),
            ("email,name\nann@example.com,\"Ann\n", 2),
            ("email,name\nann@example.com,\"Ann", 2),
            ("email,name\n\"ann@example.com,Ann\nbob@example.com,Bob", 2),
            ("email,name\nann@example.com,\"a\nb\",\"c\nd\n", 3),
            ("\"email,name\n", 1),
        ];
        for (text, line) in cases {
            let e = error(text.as_bytes());
            assert!(
                matches!(e, RecipientsError::UnclosedQuote { line: l } if l == *line),
                "{text:?}: {e:?}"
            );
        }
        assert_eq!(
            error(b"email\n\"a@example.com\n").to_string(),
            "line 2: a quoted value starts here and never ends, so the rest of the file would \
             be read as one value; look for a stray \" on that line"
        );
    }

    #[test]
    fn the_end_marker_s_bytes_in_a_file_are_not_the_end() {
        let mut bytes = b"email\na@example.com\n".to_vec();
        bytes.extend_from_slice(SENTINEL);
        bytes.extend_from_slice(b"\nb@example.com\n");
        assert!(matches!(
            error(&bytes),
            RecipientsError::NotUtf8 { line: 3 }
        ));
        let mut bytes = b"email,name\na@example.com,\"x\n".to_vec();
        bytes.extend_from_slice(SENTINEL);
        bytes.extend_from_slice(b"\"\nb@example.com,y\n");
        assert!(matches!(
            error(&bytes),
            RecipientsError::NotUtf8 { line: 3 }
        ));
    }

    #[test]
    fn open_names_the_file_it_cannot_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("customers.csv");
        let e = open(&path).expect_err("no such file");
        assert!(matches!(&e, RecipientsError::Io { path: Some(p), .. } if *p == path));
        assert!(
            e.to_string()
                .starts_with(&format!("cannot read {}: ", path.display())),
            "{e}"
        );

        let mut file = File::create(&path).expect("create");
        file.write_all(b"\xEF\xBB\xBFEmail;Name\r\nann@example.com;Ann\r\nbob@;Bob\r\n")
            .expect("write");
        drop(file);
        let rows: Vec<Row> = open(&path)
            .expect("opens")
            .collect::<Result<_, _>>()
            .expect("reads");
        assert_eq!(rows.len(), 2);
        assert!(matches!(&rows[0], Row::Recipient(r) if r.line == 2 && r.vars["name"] == "Ann"));
        assert!(
            matches!(&rows[1], Row::Skipped(s) if s.to_string() == "line 3: \"bob@\" is not an email address")
        );
    }

    #[test]
    fn a_read_error_ends_the_rows_with_it() {
        /// Gives a header and one row, then fails.
        struct Failing(Option<&'static [u8]>);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                match self.0.take() {
                    Some(bytes) => {
                        buf[..bytes.len()].copy_from_slice(bytes);
                        Ok(bytes.len())
                    }
                    None => Err(std::io::Error::other("disk on fire")),
                }
            }
        }
        let e = Recipients::new(Failing(Some(b"email"))).expect_err("the header is not complete");
        assert_eq!(e.to_string(), "cannot read the customer list: disk on fire");
        let mut rows = Recipients::new(Failing(Some(b"email\na@example.com\n"))).expect("header");
        assert!(matches!(rows.next(), Some(Ok(Row::Recipient(_)))));
        assert!(matches!(
            rows.next(),
            Some(Err(RecipientsError::Io { path: None, .. }))
        ));
        assert!(rows.next().is_none());
    }

    /// An endless customer list: `new` and the first rows must not wait for its end.
    struct Endless {
        next: u64,
        pending: Vec<u8>,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.pending.len() < buf.len() {
                self.next += 1;
                let row = format!("customer{}@example.com,Customer {}\n", self.next, self.next);
                self.pending.extend_from_slice(row.as_bytes());
            }
            buf.copy_from_slice(&self.pending[..buf.len()]);
            self.pending.drain(..buf.len());
            Ok(buf.len())
        }
    }

    #[test]
    fn rows_are_read_as_they_are_asked_for() {
        let rows = Recipients::new(Endless {
            next: 0,
            pending: b"email,name\n".to_vec(),
        })
        .expect("header");
        let first: Vec<Row> = rows.take(1000).collect::<Result<_, _>>().expect("rows");
        assert!(matches!(&first[999], Row::Recipient(r)
            if r.line == 1001 && r.email == "customer1000@example.com"));
    }

    #[test]
    fn a_hundred_thousand_rows() {
        let mut text = String::from("email,name,company,plan,segment,mrr\n");
        for i in 0..100_000u32 {
            let email = match i % 100 {
                // A bad address, an empty one, a short row, a duplicate of an earlier row.
                7 => "not-an-address".to_owned(),
                8 => String::new(),
                9 => {
                    text.push_str("short@example.com,Short\n");
                    continue;
                }
                10 => format!("CUSTOMER{}@EXAMPLE.COM", i - 4),
                _ => format!("customer{i}@example.com"),
            };
            text.push_str(&format!(
                "{email},\"Customer {i}, Jr.\",Company {i},{},smb,{}\n",
                ["free", "pro", "enterprise"][(i % 3) as usize],
                i % 500
            ));
        }
        let mut recipients = 0usize;
        let mut reasons = BTreeMap::<&str, usize>::new();
        let mut last_line = 1;
        for row in Recipients::new(text.as_bytes()).expect("header") {
            let line = match row.expect("row") {
                Row::Recipient(r) => {
                    recipients += 1;
                    r.line
                }
                Row::Skipped(s) => {
                    let reason = match s.reason {
                        SkipReason::BadEmail { .. } => "bad",
                        SkipReason::EmptyEmail => "empty",
                        SkipReason::Duplicate { first_line, .. } => {
                            assert_eq!(first_line, s.line - 4);
                            "duplicate"
                        }
                        SkipReason::ColumnCount { .. } => "columns",
                    };
                    *reasons.entry(reason).or_default() += 1;
                    s.line
                }
            };
            assert_eq!(line, last_line + 1);
            last_line = line;
        }
        assert_eq!(last_line, 100_001);
        assert_eq!(recipients, 96_000);
        assert_eq!(
            reasons,
            BTreeMap::from([
                ("bad", 1000),
                ("columns", 1000),
                ("duplicate", 1000),
                ("empty", 1000)
            ])
        );
    }

    fn recipient(pairs: &[(&str, &str)]) -> Recipient {
        Recipient {
            line: 2,
            email: "ann@example.com".into(),
            vars: vars(pairs),
        }
    }

    fn filter(segments: &[&str], plans: &[&str], components: &[&str]) -> Filter {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Filter {
            segments: owned(segments),
            plans: owned(plans),
            components: owned(components),
        }
    }

    #[test]
    fn filters() {
        let ann = recipient(&[
            ("email", "ann@example.com"),
            ("segment", "Enterprise"),
            ("plan", " Pro "),
            ("components", "API | Dashboard;EU region, Webhooks"),
        ]);
        let bare = recipient(&[("email", "ann@example.com")]);
        let blank = recipient(&[("segment", ""), ("plan", ""), ("components", " , ; ")]);
        // (filter, matches ann, matches bare, matches blank)
        let cases = [
            (filter(&[], &[], &[]), true, true, true),
            (filter(&["enterprise"], &[], &[]), true, false, false),
            (filter(&["smb", "ENTERPRISE"], &[], &[]), true, false, false),
            (filter(&["smb"], &[], &[]), false, false, false),
            (filter(&[], &["pro"], &[]), true, false, false),
            (filter(&[], &["free"], &[]), false, false, false),
            (filter(&[], &[], &["eu region"]), true, false, false),
            (
                filter(&[], &[], &["webhooks", "status page"]),
                true,
                false,
                false,
            ),
            (filter(&[], &[], &["api"]), true, false, false),
            // A component is a whole part, not a substring of one.
            (filter(&[], &[], &["eu"]), false, false, false),
            (filter(&[], &[], &["api | dashboard"]), false, false, false),
            // Every non-empty list has to match.
            (
                filter(&["enterprise"], &["pro"], &["dashboard"]),
                true,
                false,
                false,
            ),
            (
                filter(&["enterprise"], &["free"], &["dashboard"]),
                false,
                false,
                false,
            ),
            (
                filter(&["enterprise"], &["pro"], &["billing"]),
                false,
                false,
                false,
            ),
            // An empty wanted value does not match an empty or absent one.
            (filter(&[""], &[], &[]), false, false, false),
        ];
        for (filter, for_ann, for_bare, for_blank) in cases {
            assert_eq!(filter.matches(&ann), for_ann, "{filter:?} ann");
            assert_eq!(filter.matches(&bare), for_bare, "{filter:?} bare");
            assert_eq!(filter.matches(&blank), for_blank, "{filter:?} blank");
        }
        assert!(Filter::default().is_empty());
        assert!(!filter(&[], &[], &["api"]).is_empty());
    }

    #[test]
    fn a_filter_applies_to_imported_rows() {
        let list = list(
            "email;segment;components\n\
             a@example.com;SMB;\"api, eu\"\n\
             b@example.com;Enterprise;api|us\n\
             c@example.com;enterprise;\n",
        );
        let wanted = filter(&["enterprise"], &[], &["API"]);
        let matched: Vec<&str> = list
            .recipients
            .iter()
            .filter(|r| wanted.matches(r))
            .map(|r| r.email.as_str())
            .collect();
        assert_eq!(matched, ["b@example.com"]);
    }

    /// What a generated row should come out as.
    #[derive(Debug)]
    enum Expected {
        Recipient(Vec<String>),
        Skipped(SkipReason),
        Ignored,
    }

    const COLUMNS: [&str; 4] = ["email", "name", "company", "plan"];

    /// Addresses that are valid in any case, invalid ones, and empty ones.
    fn email() -> impl Strategy<Value = String> {
        let pool = prop::sample::select(vec![
            "ann@example.com",
            "bob.lee+x@example.org",
            "carol@mail.example.co.uk",
            "dan@example.io",
            "bob@",
            "no-at-sign",
            "erin@localhost",
            "a b@example.com",
            "",
            " ",
        ]);
        (pool, any::<u64>(), "[ \t]{0,2}", "[ \t]{0,2}").prop_map(|(email, case, before, after)| {
            let cased: String = email
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if case >> (i % 64) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            format!("{before}{cased}{after}")
        })
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 ]{0,8}",
            "[a-z ,;\"\n\r'|é€]{0,12}",
            Just(String::new()),
        ]
    }

    /// What a value read back should be: trimmed, its line breaks `\n`.
    fn read_back(value: &str) -> String {
        value
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .trim()
            .to_owned()
    }

    /// The line that follows `bytes`, counting line breaks as an editor shows them.
    fn next_line(bytes: &[u8]) -> u64 {
        let text = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
        1 + text.matches(['\n', '\r']).count() as u64
    }

    /// A row: email first, then values; now and then one value too many or too few.
    fn row() -> impl Strategy<Value = Vec<String>> {
        (
            email(),
            prop::collection::vec(value(), 3),
            prop::sample::select(vec![0i8, 0, 0, 0, 0, 0, -1, 1]),
            value(),
        )
            .prop_map(|(email, mut values, change, extra)| {
                values.insert(0, email);
                match change {
                    -1 => drop(values.pop()),
                    1 => values.push(extra),
                    _ => {}
                }
                values
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_row_is_reported_once_and_values_round_trip(
            rows in prop::collection::vec(row(), 0..40),
            semicolon in any::<bool>(),
            crlf in any::<bool>(),
            bom in any::<bool>(),
        ) {
            let delimiter = if semicolon { b';' } else { b',' };
            let terminator = if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
            let mut writer = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .terminator(terminator)
                .flexible(true)
                .from_writer(if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() });
            writer.write_record(COLUMNS).expect("header");
            // The model: each row's line and outcome.
            let mut expected = Vec::new();
            let mut seen = HashMap::<String, u64>::new();
            for row in &rows {
                writer.flush().expect("flush");
                let line = next_line(writer.get_ref());
                writer.write_record(row).expect("row");
                let values: Vec<String> = row.iter().map(|v| read_back(v)).collect();
                let email = values[0].clone();
                let outcome = if values.iter().all(String::is_empty) {
                    Expected::Ignored
                } else if values.len() != COLUMNS.len() {
                    Expected::Skipped(SkipReason::ColumnCount { expected: 4, found: values.len() })
                } else if email.is_empty() {
                    Expected::Skipped(SkipReason::EmptyEmail)
                } else if ["bob@", "no-at-sign", "erin@localhost", "a b@example.com"]
                    .iter()
                    .any(|bad| bad.eq_ignore_ascii_case(&email))
                {
                    Expected::Skipped(SkipReason::BadEmail { value: email })
                } else if let Some(&first_line) = seen.get(&email.to_lowercase()) {
                    Expected::Skipped(SkipReason::Duplicate { email, first_line })
                } else {
                    seen.insert(email.to_lowercase(), line);
                    Expected::Recipient(values)
                };
                expected.push((line, outcome));
            }
            let bytes = writer.into_inner().expect("written");

            let list = parse(&bytes).map_err(|e| {
                TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&bytes)))
            })?;
            let mut recipients = list.recipients.iter();
            let mut skipped = list.skipped.iter();
            for (line, outcome) in expected {
                match outcome {
                    Expected::Ignored => {}
                    Expected::Recipient(values) => {
                        let r = recipients.next().expect("a recipient");
                        prop_assert_eq!(r.line, line);
                        prop_assert_eq!(&r.email, &values[0]);
                        let want: BTreeMap<String, String> = COLUMNS
                            .iter()
                            .map(|c| (*c).to_owned())
                            .zip(values)
                            .collect();
                        prop_assert_eq!(&r.vars, &want);
                    }
                    Expected::Skipped(reason) => {
                        let s = skipped.next().expect("a skipped row");
                        prop_assert_eq!(s.line, line);
                        prop_assert_eq!(&s.reason, &reason);
                    }
                }
            }
            prop_assert!(recipients.next().is_none());
            prop_assert!(skipped.next().is_none());
            let mut unique: Vec<String> =
                list.recipients.iter().map(|r| r.email.to_lowercase()).collect();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), list.recipients.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    prop::sample::select(b"\",;\n\r @.ae\xEF\xBB\xBF".to_vec()),
                ],
                0..300,
            ),
        ) {
            check_never_panics(&bytes);
        }

        #[test]
        fn csv_like_text_never_panics(text in "(email|[a-z@.]{0,6}|[,;\"\n\r ]){0,60}") {
            check_never_panics(text.as_bytes());
        }
    }

    /// Reads everything, checking what holds for any input that reads at all.
    fn check_never_panics(bytes: &[u8]) {
        let Ok(rows) = Recipients::new(bytes) else {
            return;
        };
        let columns = rows.columns().len();
        let mut last = 0;
        let mut seen = HashMap::new();
        for row in rows {
            let Ok(row) = row else { break };
            let line = match row {
                Row::Recipient(r) => {
                    assert_eq!(r.vars.len(), columns);
                    assert!(seen.insert(r.email.to_lowercase(), r.line).is_none());
                    r.line
                }
                Row::Skipped(s) => s.line,
            };
            assert!(line > last, "{line} after {last}");
            last = line;
        }
    }
}
