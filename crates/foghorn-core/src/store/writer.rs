//! The writer thread: the only connection that writes, running one job at a time, supervised
//! so that one job going wrong never stops the writes after it. A job that panics fails alone
//! (its caller gets an error) and the thread carries on; a thread that ended anyway is started
//! again, on a new connection, by the next write. Either way the user hears of it through
//! [`Writer::faults`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex};

use rusqlite::Connection;
use tokio::sync::broadcast;

use super::{connect, Location, Result, StoreError};

/// Work for the writer connection; it reports its own result (through a channel it owns).
pub(super) type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Work {
    Job(Job),
    /// Ends the thread as a crash would (tests of the supervision).
    Stop,
}

pub(super) struct Writer {
    location: Location,
    sender: Mutex<mpsc::Sender<Work>>,
    faults: broadcast::Sender<String>,
    /// An in-memory database lives as long as one connection to it: this one, so that a
    /// writer thread that ends does not take the data with it.
    _keep_alive: Option<Mutex<Connection>>,
}

impl Writer {
    pub(super) fn start(location: Location, conn: Connection) -> Result<Self> {
        let (faults, _) = broadcast::channel(16);
        let keep_alive = match &location {
            Location::Memory(_) => Some(Mutex::new(connect(&location, true)?)),
            Location::File(_) => None,
        };
        let sender = spawn(location.clone(), conn, faults.clone())?;
        Ok(Writer {
            location,
            sender: Mutex::new(sender),
            faults,
            _keep_alive: keep_alive,
        })
    }

    /// Queues `job`; a writer thread that is gone is started again first.
    pub(super) fn submit(&self, job: Job) -> Result<()> {
        let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let Err(mpsc::SendError(work)) = sender.send(Work::Job(job)) else {
            return Ok(());
        };
        tracing::error!("the database writer thread had stopped; starting it again");
        let conn = connect(&self.location, false)?;
        *sender = spawn(self.location.clone(), conn, self.faults.clone())?;
        let _ = self
            .faults
            .send("the database writer had stopped and was started again".to_owned());
        sender.send(work).map_err(|_| StoreError::WriterGone)
    }

    /// Ends the writer thread without a word, as a crash would.
    pub(super) fn stop(&self) {
        let _ = self
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Work::Stop);
    }

    pub(super) fn faults(&self) -> broadcast::Receiver<String> {
        self.faults.subscribe()
    }
}

fn spawn(
    location: Location,
    conn: Connection,
    faults: broadcast::Sender<String>,
) -> Result<mpsc::Sender<Work>> {
    let (tx, rx) = mpsc::channel::<Work>();
    std::thread::Builder::new()
        .name("foghorn-db-writer".into())
        .spawn(move || run(&location, conn, &rx, &faults))
        .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
    Ok(tx)
}

fn run(
    location: &Location,
    mut conn: Connection,
    rx: &mpsc::Receiver<Work>,
    faults: &broadcast::Sender<String>,
) {
    while let Ok(work) = rx.recv() {
        let job = match work {
            Work::Job(job) => job,
            Work::Stop => return,
        };
        // The job's own result channel is dropped by the unwinding, which its caller sees as
        // the write being abandoned; the thread and its connection stay for the next job.
        let Err(panic) = catch_unwind(AssertUnwindSafe(|| job(&mut conn))) else {
            continue;
        };
        let what = panic_message(panic.as_ref());
        tracing::error!(
            database = %super::location_label(location).display(),
            panic = %what,
            "a database write failed with an internal error; later writes go ahead"
        );
        recover(&conn);
        let _ = faults.send(format!(
            "a database write failed with an internal error ({what})"
        ));
    }
}

/// Puts the connection back as a job expects it: no transaction open (the unwinding rolls
/// back a `Transaction`, but a job may have begun one by hand) and full durability (a relaxed
/// write that panicked never restored it).
fn recover(conn: &Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "cannot roll back after a failed write");
        }
    }
    if let Err(e) = conn.pragma_update(None, "synchronous", "FULL") {
        tracing::error!(error = %e, "cannot restore full durability after a failed write");
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}
