//! A postmortem's timeline has to read in time order. People correct its times by hand (the
//! check saw it at 14:02, but the deploy that broke it went out at 13:55); a correction that
//! puts a line before the one above it is almost always a typo, and a timeline out of order
//! misleads every reader after, so the save is refused and the line named.
//!
//! The timeline is the section under a heading that starts with "Timeline"; a line in it
//! that begins (after its list marker) with a time is checked, others are left alone. Times
//! are written as the draft writes them — `14:02:05` on the outage's first day, `3 Nov
//! 09:15:00` on another — and may also be `14:02` or `2026-11-03 09:15`.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

/// A line whose time comes before the line above it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the timeline is out of order: line {line} says {time}, before {previous} on line \
     {previous_line}; correct the time or move the line"
)]
pub struct OutOfOrder {
    /// 1-based line numbers in the document.
    pub line: usize,
    pub time: String,
    pub previous_line: usize,
    pub previous: String,
}

/// Checks that the timeline's times never go backwards. `day` is the outage's first day in
/// the document's zone: a time written without a date is on it.
pub fn check_timeline(body: &str, day: Option<NaiveDate>) -> Result<(), OutOfOrder> {
    let day = day.unwrap_or_default();
    let mut level = None;
    let mut previous: Option<(usize, String, NaiveDateTime)> = None;
    for (i, line) in body.lines().enumerate() {
        if let Some((depth, title)) = heading(line) {
            match level {
                Some(l) if depth <= l => level = None,
                Some(_) => {}
                None if title.to_ascii_lowercase().starts_with("timeline") => {
                    level = Some(depth);
                    previous = None;
                }
                None => {}
            }
            continue;
        }
        if level.is_none() {
            continue;
        }
        let Some((written, at)) = time_of(line, day) else {
            continue;
        };
        if let Some((previous_line, previous_text, previous_at)) = &previous {
            if at < *previous_at {
                return Err(OutOfOrder {
                    line: i + 1,
                    time: written,
                    previous_line: *previous_line,
                    previous: previous_text.clone(),
                });
            }
        }
        previous = Some((i + 1, written, at));
    }
    Ok(())
}

/// `## Timeline (UTC)` → `(2, "Timeline (UTC)")`.
fn heading(line: &str) -> Option<(usize, &str)> {
    let depth = line.bytes().take_while(|b| *b == b'#').count();
    let rest = &line[depth..];
    (depth > 0 && (rest.is_empty() || rest.starts_with(' '))).then(|| (depth, rest.trim()))
}

/// The time a timeline line starts with, as written and as a moment.
fn time_of(line: &str, day: NaiveDate) -> Option<(String, NaiveDateTime)> {
    let rest = line.trim_start();
    let rest = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("* "))
        .or_else(|| rest.strip_prefix("+ "))?
        .trim_start();
    let words: Vec<&str> = rest.splitn(4, ' ').collect();
    let time = |w: &str| {
        let w = w.trim_end_matches([',', ':', '—', '-']);
        NaiveTime::parse_from_str(w, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(w, "%H:%M"))
            .ok()
            .map(|t| (w.to_owned(), t))
    };
    // `14:02:05 — …`
    if let Some((w, t)) = words.first().and_then(|w| time(w)) {
        return Some((w, day.and_time(t)));
    }
    // `2026-11-03 09:15 — …`
    if let (Some(d), Some((w, t))) = (
        words
            .first()
            .and_then(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").ok()),
        words.get(1).and_then(|w| time(w)),
    ) {
        return Some((format!("{} {w}", words[0]), d.and_time(t)));
    }
    // `3 Nov 09:15:00 — …`: the year is the one that puts the date nearest the outage.
    if let (Some(d), Some(m), Some((w, t))) = (
        words.first().and_then(|w| w.parse::<u32>().ok()),
        words.get(1),
        words.get(2).and_then(|w| time(w)),
    ) {
        let date = [day.year() - 1, day.year(), day.year() + 1]
            .into_iter()
            .filter_map(|y| NaiveDate::parse_from_str(&format!("{d} {m} {y}"), "%d %b %Y").ok())
            .min_by_key(|date| (*date - day).num_days().abs())?;
        return Some((format!("{d} {m} {w}"), date.and_time(t)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2026, 12, 31)
    }

    const DOC: &str = "# Postmortem\n\n## Key figures\n\n- 23:59:00 — not the timeline\n- 01:00:00 — still not\n\n\
                       ## Timeline (Europe/Berlin)\n\n- 23:50:12 — First failing check\n- 23:51 — Detected\n\
                       - A line without a time\n- 1 Jan 00:10:00 — Acknowledged\n- 2027-01-01 00:20 — Resolved\n\n\
                       ## Root cause\n\n- 00:01:00 — a time in another section\n";

    #[test]
    fn the_draft_s_own_forms_in_order_pass_across_midnight_and_the_new_year() {
        assert_eq!(check_timeline(DOC, day()), Ok(()));
    }

    #[test]
    fn table_of_corrections() {
        let cases = [
            // (the line replaced, its correction, refused at line, with the line above)
            (
                "- 23:51 — Detected",
                "- 23:49 — Detected",
                Some((11, "23:49", 10, "23:50:12")),
            ),
            ("- 23:51 — Detected", "- 23:50:12 — Detected", None),
            (
                "- 1 Jan 00:10:00 — Acknowledged",
                "- 31 Dec 23:52:00 — Acknowledged",
                None,
            ),
            (
                "- 1 Jan 00:10:00 — Acknowledged",
                "- 00:10:00 — Acknowledged",
                Some((13, "00:10:00", 11, "23:51")),
            ),
            (
                "- 2027-01-01 00:20 — Resolved",
                "- 2027-01-01 00:05 — Resolved",
                Some((14, "2027-01-01 00:05", 13, "1 Jan 00:10:00")),
            ),
            (
                "- 23:50:12 — First failing check",
                "* 23:55 First failing check",
                Some((11, "23:51", 10, "23:55")),
            ),
        ];
        for (from, to, refused) in cases {
            let doc = DOC.replace(from, to);
            let got = check_timeline(&doc, day())
                .err()
                .map(|e| (e.line, e.time, e.previous_line, e.previous));
            let want = refused.map(|(l, t, pl, p)| (l, t.to_owned(), pl, p.to_owned()));
            assert_eq!(got, want, "{to}");
        }
    }

    #[test]
    fn the_message_names_both_lines() {
        let err = check_timeline(&DOC.replace("- 23:51 —", "- 23:40 —"), day())
            .expect_err("out of order");
        assert_eq!(
            err.to_string(),
            "the timeline is out of order: line 11 says 23:40, before 23:50:12 on line 10; \
             correct the time or move the line"
        );
    }

    #[test]
    fn a_document_without_a_timeline_heading_is_not_checked() {
        assert_eq!(check_timeline("- 10:00 a\n- 09:00 b\n", day()), Ok(()));
    }
}
