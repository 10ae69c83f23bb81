//! Versioned schema: an ordered list of SQL scripts; `PRAGMA user_version` records how many
//! have been applied. Append only: never edit a migration that has shipped.

use std::path::Path;

use rusqlite::Connection;

use super::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: the foundation.
    r#"
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE monitor_state (
        monitor_id            TEXT PRIMARY KEY,
        status                TEXT NOT NULL,
        consecutive_failures  INTEGER NOT NULL,
        consecutive_successes INTEGER NOT NULL,
        since                 TEXT,
        last_checked_at       TEXT,
        latency_ms            INTEGER,
        last_error            TEXT
    ) STRICT;

    CREATE TABLE check_results (
        id         INTEGER PRIMARY KEY,
        monitor_id TEXT NOT NULL,
        at         INTEGER NOT NULL,   -- unix milliseconds
        ok         INTEGER NOT NULL,
        latency_ms INTEGER,
        error      TEXT
    ) STRICT;
    CREATE INDEX check_results_by_monitor ON check_results(monitor_id, at);

    CREATE TABLE incidents (
        id          INTEGER PRIMARY KEY,
        dedup_key   TEXT NOT NULL,
        title       TEXT NOT NULL,
        severity    TEXT NOT NULL,
        state       TEXT NOT NULL,
        opened_at   TEXT NOT NULL,
        resolved_at TEXT
    ) STRICT;
    -- At most one open incident per dedup key: the same outage never opens two.
    CREATE UNIQUE INDEX incidents_one_open_per_key ON incidents(dedup_key) WHERE state != 'resolved';

    CREATE TABLE timeline (
        id          INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at          TEXT NOT NULL,
        kind        TEXT NOT NULL,
        detail      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX timeline_by_incident ON timeline(incident_id, id);
    "#,
    // 2: hourly roll-ups, so raw results can be dropped after a short window while uptime
    // and latency history stay for years in a few hundred bytes per monitor-day.
    r#"
    CREATE TABLE check_hourly (
        monitor_id  TEXT NOT NULL,
        hour        INTEGER NOT NULL,  -- unix seconds at the start of the UTC hour
        checks      INTEGER NOT NULL,
        failures    INTEGER NOT NULL,
        latency_min INTEGER,
        latency_avg INTEGER,
        latency_p95 INTEGER,
        latency_max INTEGER,
        PRIMARY KEY (monitor_id, hour)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX check_results_by_time ON check_results(at);
    "#,
    // 3: monitors paused one by one, and the time each hour spent failing (uptime by time,
    // not only by count of checks, which a fast retry would skew).
    r#"
    CREATE TABLE monitor_paused (
        monitor_id TEXT PRIMARY KEY
    ) STRICT, WITHOUT ROWID;
    ALTER TABLE check_hourly ADD COLUMN down_ms INTEGER NOT NULL DEFAULT 0;
    "#,
    // 4: compact raw results. A monitor's text id in every row, a rowid, and two indexes cost
    // about 100 bytes a result; keyed by a small integer per monitor and clustered on
    // (monitor, at) with no rowid, a result is about 20 bytes, and roll-up, pruning and charts
    // all read one monitor's range of the primary key.
    r#"
    CREATE TABLE monitor_keys (
        key        INTEGER PRIMARY KEY,
        monitor_id TEXT NOT NULL UNIQUE
    ) STRICT;
    INSERT INTO monitor_keys(monitor_id) SELECT DISTINCT monitor_id FROM check_results;
    CREATE TABLE check_results_v4 (
        monitor    INTEGER NOT NULL,  -- monitor_keys.key
        at         INTEGER NOT NULL,  -- unix milliseconds
        ok         INTEGER NOT NULL,
        latency_ms INTEGER,
        error      TEXT,
        PRIMARY KEY (monitor, at)
    ) STRICT, WITHOUT ROWID;
    INSERT OR REPLACE INTO check_results_v4(monitor, at, ok, latency_ms, error)
        SELECT k.key, r.at, r.ok, r.latency_ms, r.error
        FROM check_results r JOIN monitor_keys k USING (monitor_id)
        ORDER BY r.id;
    DROP TABLE check_results;
    ALTER TABLE check_results_v4 RENAME TO check_results;
    "#,
    // 5: the incident layer. Signals (a monitor down, later a feed's alert) grouped into
    // incidents; who acknowledged, snoozed or took an incident; who did what on the timeline;
    // and notifications recorded before they are shown, so a crash never shows one twice.
    r#"
    ALTER TABLE incidents ADD COLUMN acked_by TEXT;
    ALTER TABLE incidents ADD COLUMN acked_at TEXT;
    ALTER TABLE incidents ADD COLUMN snoozed_until TEXT;
    ALTER TABLE incidents ADD COLUMN assignee TEXT;
    ALTER TABLE incidents ADD COLUMN auto_resolve INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE timeline ADD COLUMN actor TEXT NOT NULL DEFAULT '';
    CREATE INDEX incidents_by_key ON incidents(dedup_key, id);

    CREATE TABLE signals (
        dedup_key    TEXT PRIMARY KEY,
        incident_id  INTEGER NOT NULL REFERENCES incidents(id),
        source       TEXT NOT NULL,
        summary      TEXT NOT NULL,
        severity     TEXT NOT NULL,
        link         TEXT,
        started_at   TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        ended_at     TEXT
    ) STRICT;
    CREATE INDEX signals_by_incident ON signals(incident_id);
    -- Monitor incidents opened before signals existed get their signal, so they still
    -- resolve when the monitor comes back.
    INSERT INTO signals(dedup_key, incident_id, source, summary, severity, started_at, last_seen_at)
        SELECT dedup_key, id, 'monitor', title, severity, opened_at, opened_at
        FROM incidents WHERE state != 'resolved' AND dedup_key LIKE 'monitor:%';

    CREATE TABLE notifications (
        id              INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        incident_id     INTEGER NOT NULL REFERENCES incidents(id),
        title           TEXT NOT NULL,
        body            TEXT NOT NULL,
        urgency         TEXT NOT NULL,
        loud            INTEGER NOT NULL,
        created_at      TEXT NOT NULL,
        delivered_at    TEXT,
        outcome         TEXT
    ) STRICT;
    CREATE INDEX notifications_undelivered ON notifications(id) WHERE delivered_at IS NULL;
    "#,
    // 6: the escalation ladder and the outbox. Pending steps are rows with due times, so a
    // restart or a sleep resumes the ladder; every outgoing message is a row with an
    // idempotency key before it is sent. Feed signals keep the vendor's labels (a silence
    // matches them).
    r#"
    CREATE TABLE escalation_steps (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        step        INTEGER NOT NULL,   -- index into [[escalation.steps]], from 0
        action      TEXT NOT NULL,
        due_at      TEXT NOT NULL,
        state       TEXT NOT NULL,      -- pending | fired | cancelled | skipped
        note        TEXT,
        PRIMARY KEY (incident_id, step)
    ) STRICT;
    CREATE INDEX escalation_steps_due ON escalation_steps(due_at) WHERE state = 'pending';

    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        incident_id     INTEGER REFERENCES incidents(id),
        channel         TEXT NOT NULL,
        payload         TEXT NOT NULL,  -- the message, JSON
        created_at      TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        sent_at         TEXT,
        receipt         TEXT,
        last_error      TEXT,
        failed_at       TEXT
    ) STRICT;
    CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

    ALTER TABLE signals ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
    "#,
    // v7: every stored time in one fixed width (`…:05.120Z`), so comparing and ordering them
    // as text is time order; rows that do not parse as times are left as they are.
    r#"
    UPDATE monitor_state SET since = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', since), since),
        last_checked_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', last_checked_at), last_checked_at);
    UPDATE incidents SET opened_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', opened_at), opened_at),
        resolved_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', resolved_at), resolved_at),
        acked_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', acked_at), acked_at),
        snoozed_until = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', snoozed_until), snoozed_until);
    UPDATE timeline SET at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', at), at);
    UPDATE signals SET started_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', started_at), started_at),
        last_seen_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', last_seen_at), last_seen_at),
        ended_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', ended_at), ended_at);
    UPDATE notifications SET created_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', created_at), created_at),
        delivered_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', delivered_at), delivered_at);
    UPDATE escalation_steps SET due_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', due_at), due_at);
    UPDATE outbox SET created_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', created_at), created_at),
        next_attempt_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', next_attempt_at), next_attempt_at),
        sent_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', sent_at), sent_at),
        failed_at = COALESCE(strftime('%Y-%m-%dT%H:%M:%fZ', failed_at), failed_at);
    "#,
    // v8: public status updates. A public incident is what customers see; each update keeps
    // the words exactly as published. Outbox messages of one `sequence` go out one after
    // another (Statuspage's incident is created by the first and patched by the next).
    r#"
    CREATE TABLE public_incidents (
        id              INTEGER PRIMARY KEY,
        incident_id     INTEGER REFERENCES incidents(id),
        title           TEXT NOT NULL,
        state           TEXT NOT NULL,
        components      TEXT NOT NULL DEFAULT '{}',  -- JSON: name -> status, now
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        resolved_at     TEXT,
        next_update_at  TEXT,
        statuspage_id   TEXT
    ) STRICT;
    CREATE INDEX public_incidents_by_incident ON public_incidents(incident_id);

    CREATE TABLE public_updates (
        id              INTEGER PRIMARY KEY,
        public_id       INTEGER NOT NULL REFERENCES public_incidents(id),
        state           TEXT NOT NULL,
        title           TEXT NOT NULL,
        message         TEXT NOT NULL,
        components      TEXT NOT NULL DEFAULT '{}',
        posted_at       TEXT NOT NULL,
        next_update_at  TEXT,
        author          TEXT NOT NULL,
        evidence        TEXT
    ) STRICT;
    CREATE INDEX public_updates_by_incident ON public_updates(public_id, id);

    ALTER TABLE outbox ADD COLUMN sequence TEXT;
    ALTER TABLE outbox ADD COLUMN public_update_id INTEGER REFERENCES public_updates(id);
    CREATE INDEX outbox_by_sequence ON outbox(sequence, id) WHERE sequence IS NOT NULL;
    "#,
    // v9: the support queue. Each helpdesk conversation seen about an incident, once, with
    // when Foghorn first saw it and when its outage reply and its follow-up were delivered,
    // so "14 customers asked; 9 answered" survives restarts.
    r#"
    CREATE TABLE support_conversations (
        incident_id     INTEGER NOT NULL REFERENCES incidents(id),
        conversation_id TEXT NOT NULL,
        customer_name   TEXT,
        subject         TEXT NOT NULL,
        waiting_since   INTEGER,        -- unix seconds, as the helpdesk said when last seen
        first_seen_at   TEXT NOT NULL,
        answered_at     TEXT,
        followed_up_at  TEXT,
        PRIMARY KEY (incident_id, conversation_id)
    ) STRICT, WITHOUT ROWID;
    "#,
    // v10: the customer letter's ledger. A letter is its words and its list (the same file and
    // list are the same letter, so running the send again resumes it); each recipient is a row
    // committed before the letter goes to them, with the one `Message-ID` every attempt uses
    // and what became of it. Resuming reads these rows, never a cursor.
    r#"
    CREATE TABLE letters (
        id              INTEGER PRIMARY KEY,
        key             TEXT NOT NULL UNIQUE,
        source          TEXT NOT NULL,
        subject         TEXT NOT NULL,
        list_name       TEXT NOT NULL,
        sender          TEXT NOT NULL,
        state           TEXT NOT NULL,      -- importing | sending | paused | cancelled | done
        paused_reason   TEXT,
        total           INTEGER NOT NULL DEFAULT 0,
        skipped         TEXT NOT NULL DEFAULT '[]',  -- JSON: the list's rows not sent to, and why
        created_at      TEXT NOT NULL,
        finished_at     TEXT
    ) STRICT;

    CREATE TABLE letter_recipients (
        letter_id       INTEGER NOT NULL REFERENCES letters(id),
        seq             INTEGER NOT NULL,
        email           TEXT NOT NULL,
        vars            TEXT NOT NULL,      -- JSON: the row's columns
        message_id      TEXT NOT NULL,
        state           TEXT NOT NULL,      -- queued | sending | accepted | failed | bounced
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        reply           TEXT,
        error           TEXT,
        resent          INTEGER NOT NULL DEFAULT 0,
        accepted_at     TEXT,
        PRIMARY KEY (letter_id, seq)
    ) STRICT;
    CREATE UNIQUE INDEX letter_recipients_once ON letter_recipients(letter_id, lower(email));
    CREATE INDEX letter_recipients_by_state ON letter_recipients(letter_id, state, seq);
    "#,
    // v11: a letter goes by email or through Intercom (`via`), and may be about an incident,
    // whose timeline then says how it went. Intercom drops no repeat of a message, so a
    // recipient found in flight after a stop is looked up there before it goes again: from
    // the time it was claimed (`claimed_at`).
    r#"
    ALTER TABLE letters ADD COLUMN via TEXT NOT NULL DEFAULT 'email';
    ALTER TABLE letters ADD COLUMN incident_id INTEGER REFERENCES incidents(id);
    ALTER TABLE letter_recipients ADD COLUMN claimed_at TEXT;
    "#,
    // v12: postmortems as edited in the window. One document per outage, which may span
    // several incidents (an incident belongs to one postmortem at most); every save keeps the
    // text, and a revision is what the document was at a moment worth going back to (the
    // draft, each editing session, a redraft, a restore). `day` is the outage's first day in
    // the document's time zone: a timeline time written without a date is on that day.
    r#"
    CREATE TABLE postmortems (
        id          INTEGER PRIMARY KEY,
        time_zone   TEXT NOT NULL,
        day         TEXT,
        body        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE postmortem_incidents (
        postmortem_id INTEGER NOT NULL REFERENCES postmortems(id),
        incident_id   INTEGER NOT NULL UNIQUE REFERENCES incidents(id),
        PRIMARY KEY (postmortem_id, incident_id)
    ) STRICT;

    CREATE TABLE postmortem_revisions (
        id            INTEGER PRIMARY KEY,
        postmortem_id INTEGER NOT NULL REFERENCES postmortems(id),
        reason        TEXT NOT NULL,   -- drafted | edited | linked #N | redrafted | restored
        body          TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        saved_at      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX postmortem_revisions_by_doc ON postmortem_revisions(postmortem_id, id);
    "#,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

pub fn apply(conn: &mut Connection, label: &Path) -> Result<()> {
    apply_until(conn, label, CURRENT)
}

fn apply_until(conn: &mut Connection, label: &Path, until: i64) -> Result<()> {
    loop {
        // One migration per IMMEDIATE transaction, with the version read inside it: two
        // processes opening a new database at once (the app and `foghorn incidents`) take
        // turns instead of both creating the same tables.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > CURRENT {
            return Err(StoreError::TooNew {
                path: label.to_owned(),
                found,
                known: CURRENT,
            });
        }
        if found >= until {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[found as usize])?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw result read back: monitor id, at, ok, latency, error.
    type Row = (String, i64, bool, Option<i64>, Option<String>);

    #[test]
    fn raw_results_survive_the_move_to_compact_keys() {
        let mut conn = Connection::open_in_memory().expect("open");
        let label = Path::new("test.db");
        apply_until(&mut conn, label, 3).expect("v3");
        conn.execute_batch(
            "INSERT INTO check_results(monitor_id, at, ok, latency_ms, error) VALUES
                ('api', 1000, 1, 12, NULL),
                ('web', 1000, 0, NULL, 'connection refused'),
                ('api', 2000, 0, 30, 'status 500');",
        )
        .expect("v3 rows");
        apply(&mut conn, label).expect("migrate");
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT k.monitor_id, r.at, r.ok, r.latency_ms, r.error
                 FROM check_results r JOIN monitor_keys k ON k.key = r.monitor
                 ORDER BY k.monitor_id, r.at",
            )
            .expect("prepare")
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            rows,
            vec![
                ("api".into(), 1000, true, Some(12), None),
                (
                    "api".into(),
                    2000,
                    false,
                    Some(30),
                    Some("status 500".into())
                ),
                (
                    "web".into(),
                    1000,
                    false,
                    None,
                    Some("connection refused".into())
                ),
            ]
        );
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, CURRENT);
    }

    #[test]
    fn stored_times_of_any_width_become_fixed_width() {
        let mut conn = Connection::open_in_memory().expect("open");
        let label = Path::new("test.db");
        apply_until(&mut conn, label, 6).expect("v6");
        conn.execute_batch(
            "INSERT INTO incidents(id, dedup_key, title, severity, state, opened_at)
                VALUES (1, 'monitor:api', 'api', 'major', 'triggered', '2026-12-02T15:04:05Z');
             INSERT INTO escalation_steps(incident_id, step, action, due_at, state) VALUES
                (1, 0, 'sms', '2026-12-02T15:04:05.5Z', 'pending'),
                (1, 1, 'call', '2026-12-02T15:04:05.51Z', 'pending');",
        )
        .expect("v6 rows");
        apply(&mut conn, label).expect("migrate");
        let due: Vec<String> = conn
            .prepare("SELECT due_at FROM escalation_steps ORDER BY due_at")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            due,
            ["2026-12-02T15:04:05.500Z", "2026-12-02T15:04:05.510Z"]
        );
        let opened: String = conn
            .query_row("SELECT opened_at FROM incidents", [], |r| r.get(0))
            .expect("opened");
        assert_eq!(opened, "2026-12-02T15:04:05.000Z");
    }
}
