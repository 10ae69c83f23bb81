//! The SQLite database: one writer thread that owns the only write connection, and readers on
//! their own connections. WAL mode lets readers (the window, the CLI in another process)
//! read while the engine writes.

mod history;
mod history_view;
mod incidents;
mod ladder;
mod letters;
mod migrations;
mod monitors;
mod postmortem;
mod postmortem_docs;
mod settings;
mod sla;
mod status;
mod support;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

pub use history::{HourlyRollup, MAX_DOWN_SPAN_MS};
pub use history_view::{LatencyPoint, MonitorHistory, UptimeWindows, RECENT_BUCKET_MS};
pub use incidents::{act_on_incident_in, Cleared, IncidentChange, Raised, StoredNotification};
pub(crate) use incidents::{
    append_timeline, clear_signal, mark_notification, note, raise_signal, record_notification,
    resolve_orphans,
};
pub(crate) use ladder::{
    begin_attempt, due_messages, due_steps, enqueue, escalate_now, mark_failed, mark_retry,
    mark_sent, schedule_steps, settle_step, skip_next, take_over_steps, took_over_ladder,
};
pub use ladder::{OutboxEntry, OutboxRow};
pub(crate) use letters::{
    add_recipients, claim_next, create_letter, finish_import, in_flight, letter_summary_in,
    next_retry_at, record_outcome, requeue_in_flight, restart_import, set_letter_state,
};
pub use letters::{
    LedgerRow, LetterState, LetterSummary, LetterVia, NewLetter, Outcome, RecipientState,
    Undelivered,
};
pub use monitors::insert_result;
pub(crate) use monitors::record_result;
pub use postmortem::{
    CheckRow, IncidentRow, LetterRow, PageRow, PostmortemRows, SignalRow, SupportRow, TimelineRow,
    UpdateRow,
};
pub use postmortem_docs::{NewText, PostmortemDoc, RevisionRow, EDIT_SESSION};
pub use sla::{ContactRow, HourRow, MonitorRows, PublicUpdateRow, SlaIncidentRow, SlaRows};
pub(crate) use status::{
    add_update, comms_record_in, enqueue_in_sequence, open_public_incident, set_statuspage_id,
    statuspage_id, statuspage_id_of_incident, NewUpdate,
};
pub use status::{Receipt, ReceiptState};
pub(crate) use support::{mark_support, record_seen, NewSeen, SupportMark};
pub use support::{SeenConversation, SupportCounts};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot create {path} in the data directory: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the data directory {path} is read-only; set FOGHORN_DATA_DIR to a writable directory"
    )]
    ReadOnly { path: PathBuf },
    #[error(
        "{path} was written by a newer Foghorn (schema version {found}; this build knows up to \
         {known}); upgrade Foghorn or point FOGHORN_DATA_DIR elsewhere"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("the database write was abandoned: the writer failed while running it (see the log); later writes go ahead")]
    WriteAbandoned,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("there is no incident {0}")]
    NoSuchIncident(i64),
    #[error("incident {0} is already resolved")]
    IncidentResolved(i64),
    #[error("there is no postmortem {0}")]
    NoSuchPostmortem(i64),
    #[error("postmortem {postmortem} has no revision {revision}")]
    NoSuchRevision { postmortem: i64, revision: i64 },
    #[error("incident {incident} is already in postmortem {postmortem}")]
    IncidentInPostmortem { incident: i64, postmortem: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    /// The same write may well work later: the disk was full, the database stayed busy
    /// (another process held it past the busy timeout), input/output failed, or the writer
    /// failed while running it. Data that is wrong or missing is not transient.
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode as C;
        match self {
            StoreError::WriterGone | StoreError::WriteAbandoned => true,
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                C::DatabaseBusy
                    | C::DatabaseLocked
                    | C::DiskFull
                    | C::SystemIoFailure
                    | C::OutOfMemory
                    | C::CannotOpen
                    | C::ReadOnly
            ),
            _ => false,
        }
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    location: Location,
    writer: writer::Writer,
    readers: Mutex<Vec<Connection>>,
}

#[derive(Debug, Clone)]
enum Location {
    File(PathBuf),
    /// A private in-memory database (shared-cache URI), for when no directory is writable.
    Memory(String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.inner.location)
            .finish()
    }
}

pub const DB_FILE: &str = "foghorn.db";

impl Store {
    /// Opens (creating if needed) `dir/foghorn.db` and brings its schema up to date.
    ///
    /// The directory is made 0700 and the database 0600 before SQLite opens it (SQLite gives
    /// its `-wal` and `-shm` files the database file's mode); looser modes left by an older
    /// Foghorn are tightened, and the log says so.
    pub fn open(dir: &Path) -> Result<Self> {
        let refused = |path: &Path, source: std::io::Error| {
            if matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) {
                StoreError::ReadOnly {
                    path: dir.to_owned(),
                }
            } else {
                StoreError::CreateDir {
                    path: path.to_owned(),
                    source,
                }
            }
        };
        let tightened = |path: &Path, had: Option<u32>| {
            if let Some(had) = had {
                tracing::warn!(
                    path = %path.display(),
                    "{} was readable by others (mode {had:o}): made private",
                    path.display()
                );
            }
        };
        let had = crate::private_fs::private_dir(dir).map_err(|e| refused(dir, e))?;
        tightened(dir, had);
        let path = dir.join(DB_FILE);
        let had = crate::private_fs::private_file(&path).map_err(|e| refused(&path, e))?;
        tightened(&path, had);
        for suffix in ["-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            let side = PathBuf::from(name);
            let had =
                crate::private_fs::tighten_if_present(&side).map_err(|e| refused(&side, e))?;
            tightened(&side, had);
        }
        Self::start(Location::File(path))
    }

    /// A database that lives only as long as this process: the fallback when the data
    /// directory cannot be written, and what unit tests use.
    pub fn in_memory() -> Result<Self> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self::start(Location::Memory(format!(
            "file:foghorn-mem-{}-{n}?mode=memory&cache=shared",
            std::process::id()
        )))
    }

    /// The database file, if it is on disk.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.location {
            Location::File(p) => Some(p),
            Location::Memory(_) => None,
        }
    }

    fn start(location: Location) -> Result<Self> {
        let mut conn = connect(&location, false)?;
        migrations::apply(&mut conn, &location_label(&location))?;
        let writer = writer::Writer::start(location.clone(), conn)?;
        Ok(Store {
            inner: Arc::new(Inner {
                location,
                writer,
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Problems of the writer itself — a write that failed with an internal error (a panic),
    /// a writer thread that had to be started again — for the user to hear of. The write
    /// concerned failed with [`StoreError::WriteAbandoned`]; the ones after it go ahead.
    pub fn faults(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.inner.writer.faults()
    }

    /// Ends the writer thread as a crash would; the next write starts it again. Only for
    /// tests of that supervision.
    #[doc(hidden)]
    pub fn stop_writer(&self) {
        self.inner.writer.stop();
    }

    /// Runs `f` on the writer connection inside one transaction, committed if `f` succeeds.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.on_writer(move |conn| transact(conn, f)).await
    }

    /// Like [`Store::write`], but committed without waiting for the disk (`synchronous =
    /// NORMAL` in WAL mode): a power cut may lose the last moments, never corrupt the file.
    /// For routine check results, of which there are many; anything a user was told about
    /// (incidents, outgoing messages) goes through [`Store::write`].
    pub async fn write_relaxed<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.on_writer(move |conn| {
            let relaxed = conn.pragma_update(None, "synchronous", "NORMAL");
            let out = relaxed
                .map_err(StoreError::from)
                .and_then(|()| transact(conn, f));
            // Back to full durability for whatever comes next, whatever happened.
            let restored = conn.pragma_update(None, "synchronous", "FULL");
            out.and_then(|v| restored.map(|()| v).map_err(StoreError::from))
        })
        .await
    }

    /// Copies the write-ahead log into the database and truncates it, so the `-wal` file
    /// stays small however many results were written since.
    pub async fn checkpoint(&self) -> Result<()> {
        self.on_writer(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    /// Runs `job` on the writer thread and waits for its result.
    async fn on_writer<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move |conn| {
            let _ = tx.send(job(conn));
        }))?;
        rx.await.map_err(|_| StoreError::WriteAbandoned)?
    }

    /// Like [`Store::write`], for code that is not async (the CLI).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.submit(Box::new(move |conn| {
            let _ = tx.send(transact(conn, f));
        }))?;
        rx.recv().map_err(|_| StoreError::WriteAbandoned)?
    }

    fn submit(&self, job: writer::Job) -> Result<()> {
        self.inner.writer.submit(job)
    }

    /// Runs `f` on a read connection; never waits for the writer.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.inner.readers.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.inner.location, true)?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.inner.readers.lock() {
            if pool.len() < 4 {
                pool.push(conn);
            }
        }
        out
    }
}

fn transact<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    // IMMEDIATE: take the write lock up front, waiting out another process's write (the CLI
    // and the app share the file). A deferred transaction that reads first and then writes
    // fails at once with "database is locked" when another writer got in between.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}

fn location_label(location: &Location) -> PathBuf {
    match location {
        Location::File(p) => p.clone(),
        Location::Memory(_) => PathBuf::from(":memory:"),
    }
}

/// Puts the database in WAL mode. The switch needs the file to itself and SQLite reports
/// "database is locked" at once, without its busy handler, while another process is
/// opening the same new file (the app and `foghorn incidents` at the same moment), so it is
/// tried again for as long as the busy timeout would have waited. WAL mode is kept in the
/// file: once one process has switched, the others find it switched.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// How long a connection waits for another process's lock before saying "locked".
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn connect(location: &Location, read_only: bool) -> Result<Connection> {
    let label = location_label(location);
    let open_err = |source: rusqlite::Error| match &source {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen
            ) =>
        {
            StoreError::ReadOnly {
                path: label.parent().map(Path::to_owned).unwrap_or_default(),
            }
        }
        _ => StoreError::Open {
            path: label.clone(),
            source,
        },
    };
    let mut flags = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    flags |= if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    };
    let conn = match location {
        Location::File(p) => Connection::open_with_flags(p, flags),
        Location::Memory(uri) => Connection::open_with_flags(uri, flags),
    }
    .map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(open_err)?;
    if read_only && matches!(location, Location::Memory(_)) {
        // The in-memory database is one shared cache: a reader's table locks there make the
        // writer fail at once ("database table is locked"), which no busy timeout waits out.
        // Readers that take no such locks leave the writer alone; each read is one statement
        // or a few, on data the single writer commits whole.
        conn.pragma_update(None, "read_uncommitted", true)
            .map_err(open_err)?;
    }
    if !read_only {
        if matches!(location, Location::File(_)) {
            let mode = switch_to_wal(&conn).map_err(open_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(%mode, "SQLite refused WAL mode");
            }
        }
        // Durability where it matters: a committed incident or outbox row must survive a
        // power cut. Routine check results opt out per transaction (`write_relaxed`).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_in_wal_with_foreign_keys_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store
            .write(|tx| {
                tx.execute("INSERT INTO settings(key, value) VALUES ('k', 'v')", [])?;
                Ok(())
            })
            .await
            .expect("write");
        let (mode, fk): (String, i64) = store
            .read(|c| {
                Ok((
                    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                ))
            })
            .expect("read");
        assert_eq!((mode.as_str(), fk), ("wal", 1));
        drop(store);
        let again = Store::open(dir.path()).expect("reopen");
        let v: String = again
            .read(
                |c| Ok(c.query_row("SELECT value FROM settings WHERE key='k'", [], |r| r.get(0))?),
            )
            .expect("read");
        assert_eq!(v, "v");
    }

    #[tokio::test]
    async fn relaxed_writes_commit_and_restore_full_durability() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store
            .write_relaxed(|tx| {
                let during: i64 = tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
                tx.execute(
                    "INSERT INTO settings(key, value) VALUES ('r', ?1)",
                    [during],
                )?;
                Ok(())
            })
            .await
            .expect("relaxed write");
        let after: i64 = store
            .write(|tx| Ok(tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
            .await
            .expect("read pragma");
        let during: String = store
            .read(|c| {
                Ok(
                    c.query_row("SELECT value FROM settings WHERE key = 'r'", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .expect("committed");
        // 1 = NORMAL, 2 = FULL.
        assert_eq!((during.as_str(), after), ("1", 2));
    }

    #[tokio::test]
    async fn a_failed_write_rolls_back() {
        let store = Store::in_memory().expect("open");
        let err = store
            .write(|tx| {
                tx.execute("INSERT INTO settings(key, value) VALUES ('a', '1')", [])?;
                Err::<(), _>(StoreError::Corrupt("stop".into()))
            })
            .await;
        assert!(err.is_err());
        let n: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?))
            .expect("read");
        assert_eq!(n, 0);
    }

    async fn count_settings(store: &Store) -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?))
            .expect("read")
    }

    #[tokio::test]
    async fn a_write_that_panics_fails_alone_and_the_writes_after_it_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut faults = store.faults();
        let err = store
            .write_relaxed(|tx| -> Result<()> {
                tx.execute("INSERT INTO settings(key, value) VALUES ('a', '1')", [])?;
                panic!("a step with no message");
            })
            .await
            .expect_err("the panicking write fails");
        assert!(matches!(err, StoreError::WriteAbandoned), "{err}");
        // Sent once the unwinding is over, which may be just after the caller heard.
        let fault = tokio::time::timeout(std::time::Duration::from_secs(5), faults.recv())
            .await
            .expect("the fault is reported")
            .expect("a fault");
        assert!(fault.contains("a step with no message"), "{fault}");
        assert_eq!(count_settings(&store).await, 0, "rolled back");
        let sync: i64 = store
            .write(|tx| {
                tx.execute("INSERT INTO settings(key, value) VALUES ('b', '2')", [])?;
                Ok(tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?)
            })
            .await
            .expect("the next write works");
        assert_eq!(
            sync, 2,
            "full durability again after a relaxed write panicked"
        );
        let blocking = store.write_blocking(|tx| {
            tx.execute("INSERT INTO settings(key, value) VALUES ('c', '3')", [])?;
            Ok(())
        });
        assert!(blocking.is_ok(), "{blocking:?}");
        assert_eq!(count_settings(&store).await, 2);
    }

    #[tokio::test]
    async fn a_stopped_writer_thread_is_started_again_by_the_next_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        for store in [
            Store::in_memory().expect("memory"),
            Store::open(dir.path()).expect("open"),
        ] {
            store
                .write(|tx| {
                    tx.execute("INSERT INTO settings(key, value) VALUES ('a', '1')", [])?;
                    Ok(())
                })
                .await
                .expect("write");
            let mut faults = store.faults();
            store.stop_writer();
            // The thread is gone once the channel's receiver is dropped; the write waits for
            // no such thing: whichever way the race goes, it must land.
            store
                .write(|tx| {
                    tx.execute("INSERT INTO settings(key, value) VALUES ('b', '2')", [])?;
                    Ok(())
                })
                .await
                .or_else(|e| match e {
                    // Queued just before the thread ended: abandoned, the next one lands.
                    StoreError::WriteAbandoned => store.write_blocking(|tx| {
                        tx.execute("INSERT INTO settings(key, value) VALUES ('b', '2')", [])?;
                        Ok(())
                    }),
                    other => Err(other),
                })
                .expect("a write after the thread ended");
            assert_eq!(count_settings(&store).await, 2, "{store:?}: data kept");
            let fault = faults.try_recv().expect("the restart is reported");
            assert!(fault.contains("started again"), "{fault}");
        }
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join(DB_FILE)).expect("create");
        conn.pragma_update(None, "user_version", 999)
            .expect("set version");
        drop(conn);
        let err = Store::open(dir.path()).expect_err("too new").to_string();
        assert!(
            err.contains("newer Foghorn") && err.contains("999"),
            "{err}"
        );
    }

    /// The app and a CLI command (`foghorn incidents`) often open a new data directory at
    /// the same moment; neither may fail with "database is locked".
    #[test]
    fn two_processes_opening_a_new_database_at_once_both_succeed() {
        for round in 0..100 {
            let dir = tempfile::tempdir().expect("tempdir");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
            let openers: Vec<_> = (0..3)
                .map(|_| {
                    let (dir, barrier) = (dir.path().to_owned(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        Store::open(&dir).map(drop)
                    })
                })
                .collect();
            for opener in openers {
                let opened = opener.join().expect("no panic");
                assert!(opened.is_ok(), "round {round}: {opened:?}");
            }
        }
    }
}
