//! Writing a letter and its list into the ledger before anything is sent. The letter's key is
//! a digest of its words and its list, so running the same send again finds the same letter
//! and resumes it instead of starting over.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::compose::customer_vars;
use super::credit::SlaFigures;
use super::draft::Draft;
use super::message::message_id;
use super::recipients::{Filter, Recipients, RecipientsError, Row};
use super::LetterError;
use crate::store::{self, NewLetter, Store};

/// Rows written per transaction while importing: big enough to be quick, small enough that
/// the writer thread never holds up the engine for long.
const BATCH: usize = 2_000;
/// Skipped rows kept with the letter (their count is always kept).
const SKIPPED_KEPT: usize = 1_000;

/// A row of the list that gets no letter, and why ("line 7: \"bob@\" is not an email
/// address").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct SkippedRow {
    #[ts(type = "number")]
    pub line: u64,
    pub reason: String,
}

/// The ledger of a letter, ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub letter_id: i64,
    /// False when this letter and list were started before: the send resumes.
    pub created: bool,
    pub total: u64,
    /// Rows of the list not sent to, with their line and why.
    pub skipped: Vec<SkippedRow>,
    /// How many rows were skipped (only the first thousand are kept with their reason).
    pub skipped_count: u64,
    /// Rows the filter left out.
    pub filtered_out: u64,
}

/// The key of `draft` sent to the list whose file content hashes to `list_digest`.
pub fn letter_key(draft: &Draft, list_digest: &[u8], filter: &Filter) -> String {
    let digest = Sha256::new()
        .chain_update(draft.to_source().as_bytes())
        .chain_update([0])
        .chain_update(list_digest)
        .chain_update([0])
        .chain_update(format!("{filter:?}").as_bytes())
        .finalize();
    hex::encode(digest)[..24].to_owned()
}

/// A digest of a file's bytes, read in pieces.
pub fn file_digest(path: &Path) -> Result<Vec<u8>, RecipientsError> {
    let io = |source| RecipientsError::Io {
        path: Some(path.to_owned()),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_vec())
}

/// Finds the letter with `key`, or records it and its recipients from `rows`. An import a
/// crash interrupted is started again (nothing was sent from it: a letter is sendable only
/// once its whole list is in).
///
/// Each recipient's variables are written whole, the SLA figures of `sla` included: a letter
/// found here again keeps the figures it was written with, however the month's measurement
/// has moved since.
pub async fn prepare<R: Read>(
    store: &Store,
    letter: NewLetter,
    draft: &Draft,
    domain: &str,
    mut rows: Recipients<R>,
    filter: &Filter,
    sla: Option<&SlaFigures>,
) -> Result<Prepared, LetterError> {
    draft.check_columns(rows.columns())?;
    let now = OffsetDateTime::now_utc();
    let key = letter.key.clone();
    let via = letter.via;
    let (letter_id, created) = store
        .write(move |tx| store::create_letter(tx, &letter, now))
        .await?;
    if !created {
        let summary = store
            .letter(letter_id)?
            .ok_or_else(|| LetterError::Store(format!("letter {letter_id} vanished")))?;
        if summary.via != via {
            return Err(LetterError::OtherVia {
                letter_id,
                via: summary.via,
            });
        }
        if summary.state != store::LetterState::Importing {
            let skipped =
                serde_json::from_value(summary.skipped.get("rows").cloned().unwrap_or_default())
                    .unwrap_or_default();
            let count = |k: &str| summary.skipped.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
            return Ok(Prepared {
                letter_id,
                created: false,
                total: summary.total,
                skipped,
                skipped_count: count("count"),
                filtered_out: count("filtered_out"),
            });
        }
        store
            .write(move |tx| store::restart_import(tx, letter_id))
            .await?;
    }
    let mut skipped = Vec::new();
    let mut skipped_count = 0u64;
    let mut filtered_out = 0u64;
    let mut seq = 0i64;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let next = rows.next();
        let done = next.is_none();
        match next {
            Some(Ok(Row::Recipient(r))) => {
                if !filter.matches(&r) {
                    filtered_out += 1;
                } else {
                    seq += 1;
                    let vars = serde_json::to_string(&customer_vars(&r.vars, sla))
                        .map_err(|e| LetterError::Store(e.to_string()))?;
                    let id = message_id(&key, &r.email, domain);
                    batch.push((seq, r.email, vars, id));
                }
            }
            Some(Ok(Row::Skipped(s))) => {
                skipped_count += 1;
                if skipped.len() < SKIPPED_KEPT {
                    skipped.push(SkippedRow {
                        line: s.line,
                        reason: s.reason.to_string(),
                    });
                }
            }
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let rows = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            store
                .write_relaxed(move |tx| store::add_recipients(tx, letter_id, &rows))
                .await?;
        }
        if done {
            break;
        }
    }
    let record = serde_json::json!({
        "count": skipped_count,
        "filtered_out": filtered_out,
        "rows": skipped,
    })
    .to_string();
    let total = store
        .write(move |tx| store::finish_import(tx, letter_id, &record))
        .await?;
    Ok(Prepared {
        letter_id,
        created: true,
        total,
        skipped,
        skipped_count,
        filtered_out,
    })
}
