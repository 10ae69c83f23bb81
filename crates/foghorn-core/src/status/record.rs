//! How the public side of an incident kept its word, for the postmortem: how long after the
//! incident opened the first public update went out, and each promised next update against
//! when the next one actually did. Computed from the recorded updates, so it is the same
//! whenever it is asked, and written to the timeline when the public incident closes.

use serde::Serialize;
use time::{Duration, OffsetDateTime};
use ts_rs::TS;

use super::template::duration;
use crate::time_fmt::rfc3339;

/// One promise that was not kept: the update came late, or has not come and is overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LatePromise {
    /// The time promised (RFC 3339).
    pub due_at: String,
    /// When the next update went out (RFC 3339); `None` while it is still overdue.
    pub kept_at: Option<String>,
    #[ts(type = "number")]
    pub late_secs: i64,
}

/// The record of an incident's public updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CommsRecord {
    /// From the incident opening to its first public update; `None` before there is one.
    #[ts(type = "number | null")]
    pub first_update_after_secs: Option<i64>,
    pub updates: u32,
    /// Promises whose time has come: kept, late, or overdue now. A promise still ahead is not
    /// counted yet.
    pub promises_due: u32,
    pub promises_kept: u32,
    pub late: Vec<LatePromise>,
    /// One line for people: "first public update 4 min after the incident opened; 3 updates;
    /// 2 of 2 promised updates on time".
    pub summary: String,
}

/// One recorded update: when it went out and the next update it promised.
#[derive(Debug, Clone, Copy)]
pub struct Posted {
    pub at: OffsetDateTime,
    pub next_update_at: Option<OffsetDateTime>,
}

/// Judges `updates` (in the order they went out) of an incident opened at `opened_at`.
pub fn assess(opened_at: OffsetDateTime, updates: &[Posted], now: OffsetDateTime) -> CommsRecord {
    let first_update_after = updates
        .first()
        .map(|u| (u.at - opened_at).max(Duration::ZERO));
    let mut promises_due = 0;
    let mut promises_kept = 0;
    let mut late = Vec::new();
    for (i, update) in updates.iter().enumerate() {
        let Some(due) = update.next_update_at else {
            continue;
        };
        match updates.get(i + 1) {
            Some(next) => {
                promises_due += 1;
                if next.at <= due {
                    promises_kept += 1;
                } else {
                    late.push(LatePromise {
                        due_at: rfc3339(due),
                        kept_at: Some(rfc3339(next.at)),
                        late_secs: (next.at - due).whole_seconds(),
                    });
                }
            }
            None if now > due => {
                promises_due += 1;
                late.push(LatePromise {
                    due_at: rfc3339(due),
                    kept_at: None,
                    late_secs: (now - due).whole_seconds(),
                });
            }
            None => {}
        }
    }
    let updates_n = u32::try_from(updates.len()).unwrap_or(u32::MAX);
    let summary = summary(
        first_update_after,
        updates_n,
        promises_due,
        promises_kept,
        &late,
    );
    CommsRecord {
        first_update_after_secs: first_update_after.map(|d| d.whole_seconds()),
        updates: updates_n,
        promises_due,
        promises_kept,
        late,
        summary,
    }
}

/// A duration as the record says it: seconds under a minute ("40 s", not "0 min").
fn took(d: Duration) -> String {
    if d < Duration::MINUTE {
        format!("{} s", d.whole_seconds().max(0))
    } else {
        duration(d)
    }
}

fn summary(
    first: Option<Duration>,
    updates: u32,
    due: u32,
    kept: u32,
    late: &[LatePromise],
) -> String {
    let Some(first) = first else {
        return "no public update yet".to_owned();
    };
    let mut line = format!(
        "first public update {} after the incident opened; {updates} update{}",
        took(first),
        if updates == 1 { "" } else { "s" }
    );
    if due > 0 {
        line.push_str(&format!("; {kept} of {due} promised updates on time"));
        let worst = late.iter().map(|l| l.late_secs).max().unwrap_or(0);
        let overdue = late.iter().any(|l| l.kept_at.is_none());
        let worst = took(Duration::seconds(worst));
        match late.len() {
            0 => {}
            1 if overdue => line.push_str(&format!(" (one {worst} late, still overdue)")),
            1 => line.push_str(&format!(" (one {worst} late)")),
            n => line.push_str(&format!(
                " ({n} late, the worst by {worst}{})",
                if overdue { "; one still overdue" } else { "" }
            )),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const OPENED: OffsetDateTime = datetime!(2026-12-02 14:00 UTC);

    fn posted(at: OffsetDateTime, next: Option<OffsetDateTime>) -> Posted {
        Posted {
            at,
            next_update_at: next,
        }
    }

    #[test]
    fn without_an_update_nothing_is_promised() {
        let r = assess(OPENED, &[], OPENED + Duration::hours(1));
        assert_eq!(r.first_update_after_secs, None);
        assert_eq!((r.updates, r.promises_due, r.promises_kept), (0, 0, 0));
        assert_eq!(r.summary, "no public update yet");
    }

    #[test]
    fn promises_kept_late_and_still_ahead() {
        let updates = [
            posted(
                datetime!(2026-12-02 14:04 UTC),
                Some(datetime!(2026-12-02 14:34 UTC)),
            ),
            // On time, with a minute to spare.
            posted(
                datetime!(2026-12-02 14:33 UTC),
                Some(datetime!(2026-12-02 15:03 UTC)),
            ),
            // Six minutes late.
            posted(
                datetime!(2026-12-02 15:09 UTC),
                Some(datetime!(2026-12-02 15:39 UTC)),
            ),
        ];
        let r = assess(OPENED, &updates, datetime!(2026-12-02 15:20 UTC));
        assert_eq!(r.first_update_after_secs, Some(240));
        assert_eq!((r.updates, r.promises_due, r.promises_kept), (3, 2, 1));
        assert_eq!(
            r.late,
            [LatePromise {
                due_at: "2026-12-02T15:03:00.000Z".to_owned(),
                kept_at: Some("2026-12-02T15:09:00.000Z".to_owned()),
                late_secs: 360,
            }]
        );
        assert_eq!(
            r.summary,
            "first public update 4 min after the incident opened; 3 updates; \
             1 of 2 promised updates on time (one 6 min late)"
        );
    }

    #[test]
    fn a_first_update_within_the_minute_is_said_in_seconds() {
        let updates = [posted(OPENED + Duration::seconds(40), None)];
        let r = assess(OPENED, &updates, OPENED + Duration::hours(1));
        assert_eq!(
            r.summary,
            "first public update 40 s after the incident opened; 1 update"
        );
    }

    #[test]
    fn an_overdue_promise_counts_as_broken_until_the_update_comes() {
        let updates = [posted(
            datetime!(2026-12-02 14:10 UTC),
            Some(datetime!(2026-12-02 14:40 UTC)),
        )];
        let r = assess(OPENED, &updates, datetime!(2026-12-02 14:52 UTC));
        assert_eq!((r.promises_due, r.promises_kept), (1, 0));
        assert_eq!(r.late[0].kept_at, None);
        assert_eq!(r.late[0].late_secs, 12 * 60);
        assert!(
            r.summary
                .ends_with("0 of 1 promised updates on time (one 12 min late, still overdue)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn the_closing_update_promises_nothing() {
        let updates = [
            posted(
                datetime!(2026-12-02 14:02 UTC),
                Some(datetime!(2026-12-02 14:32 UTC)),
            ),
            posted(datetime!(2026-12-02 14:20 UTC), None),
        ];
        let r = assess(OPENED, &updates, datetime!(2026-12-03 09:00 UTC));
        assert_eq!((r.updates, r.promises_due, r.promises_kept), (2, 1, 1));
        assert_eq!(
            r.summary,
            "first public update 2 min after the incident opened; 2 updates; \
             1 of 1 promised updates on time"
        );
    }
}
