//! What an SLA report reads for a period: each monitor's checks (hourly roll-ups before the
//! roll-up mark, raw results after it, so nothing is counted twice), the public updates with
//! their component statuses, the incidents in the period and the customers who wrote in.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use time::OffsetDateTime;

use super::history::rolled_up_to;
use super::postmortem::{time_at, time_at_opt};
use super::{CheckRow, Result, Store};
use crate::time_fmt::rfc3339;

const HOUR_MS: i64 = 3_600_000;

/// One rolled-up hour of a monitor: when it started (Unix ms), how many checks ran, and how
/// long it was failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRow {
    pub hour_ms: i64,
    pub checks: i64,
    pub down_ms: i64,
}

/// A monitor's history over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorRows {
    pub hours: Vec<HourRow>,
    /// Raw checks after the roll-up mark (and the last one before the period, whose state
    /// runs into it).
    pub checks: Vec<CheckRow>,
}

/// A public update as the SLA reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUpdateRow {
    pub public_id: i64,
    pub state: String,
    pub posted_at: OffsetDateTime,
    /// Component name → status (`partial_outage`, …) as published with this update.
    pub components: BTreeMap<String, String>,
}

/// An incident that overlaps the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaIncidentRow {
    pub id: i64,
    pub title: String,
    pub opened_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    /// Monitor ids of its monitor signals.
    pub monitors: Vec<String>,
}

/// A customer's conversation about one of those incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    pub incident_id: i64,
    pub customer_name: Option<String>,
    pub subject: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaRows {
    pub monitors: BTreeMap<String, MonitorRows>,
    pub updates: Vec<PublicUpdateRow>,
    pub incidents: Vec<SlaIncidentRow>,
    pub contacts: Vec<ContactRow>,
}

fn rows(conn: &Connection, monitor_ids: &[String], from_ms: i64, to_ms: i64) -> Result<SlaRows> {
    let mark = rolled_up_to(conn)?;
    let mut out = SlaRows::default();
    for id in monitor_ids {
        let mut stmt = conn.prepare_cached(
            "SELECT h.hour, h.checks, h.down_ms FROM check_hourly h
             WHERE h.monitor_id = ?1 AND h.hour * 1000 >= ?2 AND h.hour * 1000 < ?3
               AND h.hour * 1000 < ?4
             ORDER BY h.hour",
        )?;
        let hours = stmt
            .query_map(params![id, from_ms - HOUR_MS + 1, to_ms, mark], |r| {
                Ok(HourRow {
                    hour_ms: r.get::<_, i64>(0)? * 1000,
                    checks: r.get(1)?,
                    down_ms: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // Raw checks from the mark (or the period's start) on, and the one before.
        let start = from_ms.max(mark);
        let mut stmt = conn.prepare_cached(
            "SELECT at, ok, latency_ms, error FROM (
                 SELECT r.at, r.ok, r.latency_ms, r.error FROM check_results r
                 JOIN monitor_keys k ON k.key = r.monitor
                 WHERE k.monitor_id = ?1 AND r.at < ?2 AND r.at >= ?4
                 ORDER BY r.at DESC LIMIT 1)
             UNION ALL
             SELECT r.at, r.ok, r.latency_ms, r.error FROM check_results r
             JOIN monitor_keys k ON k.key = r.monitor
             WHERE k.monitor_id = ?1 AND r.at >= ?2 AND r.at < ?3
             ORDER BY 1",
        )?;
        let checks = stmt
            .query_map(params![id, start, to_ms, mark], |r| {
                Ok(CheckRow {
                    at_ms: r.get(0)?,
                    ok: r.get::<_, i64>(1)? != 0,
                    latency_ms: r.get(2)?,
                    error: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.monitors
            .insert(id.clone(), MonitorRows { hours, checks });
    }

    // Public updates of every public incident that had one in the period (and their earlier
    // ones, whose statuses run into it).
    let (from_t, to_t) = (at(from_ms), at(to_ms));
    let mut stmt = conn.prepare(
        "SELECT u.public_id, u.state, u.posted_at, u.components FROM public_updates u
         WHERE u.public_id IN (
             SELECT p.id FROM public_incidents p
             WHERE p.created_at < ?2 AND (p.resolved_at IS NULL OR p.resolved_at >= ?1))
         ORDER BY u.public_id, u.posted_at, u.id",
    )?;
    out.updates = stmt
        .query_map(params![from_t, to_t], |r| {
            Ok(PublicUpdateRow {
                public_id: r.get(0)?,
                state: r.get(1)?,
                posted_at: time_at(r, 2)?,
                components: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;

    let mut stmt = conn.prepare(
        "SELECT i.id, i.title, i.opened_at, i.resolved_at,
                COALESCE((SELECT group_concat(substr(s.dedup_key, 9), char(31)) FROM signals s
                          WHERE s.incident_id = i.id AND s.dedup_key LIKE 'monitor:%'), '')
         FROM incidents i
         WHERE i.opened_at < ?2 AND (i.resolved_at IS NULL OR i.resolved_at >= ?1)
         ORDER BY i.opened_at",
    )?;
    out.incidents = stmt
        .query_map(params![from_t, to_t], |r| {
            Ok(SlaIncidentRow {
                id: r.get(0)?,
                title: r.get(1)?,
                opened_at: time_at(r, 2)?,
                resolved_at: time_at_opt(r, 3)?,
                monitors: r
                    .get::<_, String>(4)?
                    .split('\u{1f}')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if !out.incidents.is_empty() {
        let ids: Vec<String> = out.incidents.iter().map(|i| i.id.to_string()).collect();
        let mut stmt = conn.prepare(&format!(
            "SELECT incident_id, customer_name, subject FROM support_conversations
             WHERE incident_id IN ({}) ORDER BY first_seen_at",
            ids.join(", ")
        ))?;
        out.contacts = stmt
            .query_map([], |r| {
                Ok(ContactRow {
                    incident_id: r.get(0)?,
                    customer_name: r.get(1)?,
                    subject: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    Ok(out)
}

fn at(ms: i64) -> String {
    rfc3339(
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    )
}

impl Store {
    /// What an SLA report of `[from_ms, to_ms)` reads, for the monitors `monitor_ids`.
    pub fn sla_rows(&self, monitor_ids: &[String], from_ms: i64, to_ms: i64) -> Result<SlaRows> {
        self.read(|c| rows(c, monitor_ids, from_ms, to_ms))
    }
}
