//! Just enough of RFC 5545 to read on-call exports: content lines (unfolded, with their
//! parameters and line numbers), `VEVENT`s with their times, recurrence (`RRULE`, `RDATE`,
//! `EXDATE`, `RECURRENCE-ID` overrides) and people, expanded into shifts over a bounded window.
//!
//! Time zones: `TZID` names an IANA zone, a Windows/Outlook zone (mapped through a table), or a
//! `VTIMEZONE` of the file with an unknown name (its standard offset is used, without daylight
//! saving, and a warning says so). Times ending in `Z` are UTC. Floating times and all-day dates
//! are read in the calendar's `X-WR-TIMEZONE` if it names a known zone, else in the zone the
//! caller chose (the machine's own by default).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use rrule::{RRule, RRuleSet, Tz, Unvalidated};

use super::{OncallError, Person};

/// One unfolded content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug, Clone)]
struct Line {
    /// 1-based number of the line's first physical line.
    no: usize,
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Line {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Unfolds continuation lines (a leading space or tab) and splits each content line.
fn content_lines(text: &str, label: &str) -> Result<Vec<Line>, OncallError> {
    let mut logical: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            match logical.last_mut() {
                Some((_, l)) => l.push_str(rest),
                None => {
                    return Err(OncallError::invalid(
                        label,
                        i + 1,
                        "",
                        "a continuation line before any property",
                    ))
                }
            }
        } else if !raw.trim().is_empty() {
            logical.push((i + 1, raw.to_owned()));
        }
    }
    logical
        .into_iter()
        .map(|(no, l)| split_line(no, &l, label))
        .collect()
}

fn split_line(no: usize, line: &str, label: &str) -> Result<Line, OncallError> {
    let name_end = line.find([';', ':']).ok_or_else(|| {
        OncallError::invalid(
            label,
            no,
            line.chars().take(40).collect::<String>().as_str(),
            "not a property (expected NAME:value)",
        )
    })?;
    let name = line[..name_end].trim().to_ascii_uppercase();
    if name.is_empty() {
        return Err(OncallError::invalid(
            label,
            no,
            "",
            "a property without a name",
        ));
    }
    let mut params = Vec::new();
    let mut rest = &line[name_end..];
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after
            .find('=')
            .ok_or_else(|| OncallError::invalid(label, no, &name, "a parameter without `=`"))?;
        let key = after[..eq].trim().to_ascii_uppercase();
        let mut value = String::new();
        let mut chars = after[eq + 1..].char_indices();
        let mut quoted = false;
        let mut end = after.len() - eq - 1;
        for (i, c) in chars.by_ref() {
            match c {
                '"' => quoted = !quoted,
                ';' | ':' if !quoted => {
                    end = i;
                    break;
                }
                c => value.push(c),
            }
        }
        if quoted {
            return Err(OncallError::invalid(
                label,
                no,
                &name,
                "a parameter's quotes are not closed",
            ));
        }
        params.push((key, value));
        rest = &after[eq + 1 + end..];
    }
    let value = rest.strip_prefix(':').ok_or_else(|| {
        OncallError::invalid(label, no, &name, "no `:` before the property's value")
    })?;
    Ok(Line {
        no,
        name,
        params,
        value: value.to_owned(),
    })
}

/// `\n`, `\,`, `\;` and `\\` in TEXT values.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Options for reading a calendar.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Shifts ending after this are kept…
    pub window_start: DateTime<chrono::Utc>,
    /// …and starting before this.
    pub window_end: DateTime<chrono::Utc>,
    /// The zone of floating times and all-day dates when the calendar names none
    /// (`X-WR-TIMEZONE`); `None` is the machine's own.
    pub floating: Option<chrono_tz::Tz>,
}

/// A shift as expanded from the calendar, in chrono terms (converted at the module boundary).
#[derive(Debug, Clone)]
pub(crate) struct RawShift {
    pub start: DateTime<chrono::Utc>,
    pub end: DateTime<chrono::Utc>,
    pub people: Vec<Person>,
    pub summary: String,
    pub description: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    pub shifts: Vec<RawShift>,
    pub warnings: Vec<String>,
}

/// A `VTIMEZONE` of the file: its name and, as a last resort, its standard offset.
#[derive(Debug, Default)]
struct VTimezone {
    location: Option<String>,
    standard_offset_secs: Option<i32>,
}

#[derive(Debug, Default)]
struct Event {
    line: usize,
    uid: Option<String>,
    start: Option<Line>,
    end: Option<Line>,
    duration: Option<Line>,
    rrule: Option<Line>,
    rdates: Vec<Line>,
    exdates: Vec<Line>,
    recurrence_id: Option<Line>,
    cancelled: bool,
    summary: String,
    description: String,
    attendees: Vec<Person>,
}

/// The largest calendar read: a year of shifts is a few hundred kilobytes.
pub(crate) const MAX_CALENDAR_BYTES: usize = 16 * 1024 * 1024;
/// The most `VEVENT`s a calendar may hold: years of hourly shifts fit.
pub(crate) const MAX_EVENTS: usize = 50_000;
/// How much expanding all the events may produce in all: each step of a rule, each `RDATE`
/// and `EXDATE` value, and each person of each shift kept counts one. Real schedules use a
/// few thousand; a hostile one (a million `FREQ=SECONDLY` rules) stops here, within a second,
/// instead of holding the on-call state for minutes.
pub(crate) const MAX_EXPANSION: usize = 1_000_000;

/// Reads the calendar and expands its events over the window.
///
/// # Errors
/// Besides malformed content, a calendar larger than [`MAX_CALENDAR_BYTES`], with more than
/// [`MAX_EVENTS`] events, or expanding past [`MAX_EXPANSION`] is refused, naming the limit.
pub(crate) fn parse(text: &str, label: &str, opts: &ParseOptions) -> Result<Parsed, OncallError> {
    if text.len() > MAX_CALENDAR_BYTES {
        return Err(OncallError::NotCalendar {
            label: label.to_owned(),
            message: format!(
                "the calendar is {} MiB, more than the {} MiB Foghorn reads",
                text.len().div_ceil(1024 * 1024),
                MAX_CALENDAR_BYTES / 1024 / 1024
            ),
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text
        .split('\n')
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or_else(|| OncallError::NotCalendar {
            label: label.to_owned(),
            message: "the file is empty".to_owned(),
        })?;
    if !first.1.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR") {
        return Err(OncallError::NotCalendar {
            label: label.to_owned(),
            message: format!(
                "line {} is not BEGIN:VCALENDAR (is this an iCal file or feed?)",
                first.0 + 1
            ),
        });
    }
    let lines = content_lines(text, label)?;

    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut events = Vec::new();
    let mut zones: HashMap<String, VTimezone> = HashMap::new();
    let mut zone_id: Option<String> = None;
    let mut zone = VTimezone::default();
    let mut calendar_zone: Option<String> = None;
    let mut event: Option<Event> = None;
    for line in lines {
        match line.name.as_str() {
            "BEGIN" => {
                let comp = line.value.trim().to_ascii_uppercase();
                if comp == "VEVENT" && stack.len() == 1 {
                    if events.len() >= MAX_EVENTS {
                        return Err(OncallError::invalid(
                            label,
                            line.no,
                            "VEVENT",
                            &format!(
                                "more than {MAX_EVENTS} events; Foghorn reads no further (export fewer weeks?)"
                            ),
                        ));
                    }
                    event = Some(Event {
                        line: line.no,
                        ..Event::default()
                    });
                }
                if comp == "VTIMEZONE" {
                    zone_id = None;
                    zone = VTimezone::default();
                }
                stack.push((comp, line.no));
                continue;
            }
            "END" => {
                let comp = line.value.trim().to_ascii_uppercase();
                match stack.pop() {
                    Some((open, _)) if open == comp => {}
                    Some((open, at)) => {
                        return Err(OncallError::invalid(
                            label,
                            line.no,
                            "END",
                            &format!("END:{comp} closes BEGIN:{open} of line {at}"),
                        ))
                    }
                    None => {
                        return Err(OncallError::invalid(
                            label,
                            line.no,
                            "END",
                            &format!("END:{comp} without a BEGIN"),
                        ))
                    }
                }
                if comp == "VEVENT" && stack.len() == 1 {
                    events.extend(event.take());
                }
                if comp == "VTIMEZONE" {
                    if let Some(id) = zone_id.take() {
                        zones.insert(id, std::mem::take(&mut zone));
                    }
                }
                continue;
            }
            _ => {}
        }
        let Some((current, _)) = stack.last() else {
            return Err(OncallError::invalid(
                label,
                line.no,
                &line.name,
                "a property after END:VCALENDAR",
            ));
        };
        match current.as_str() {
            "VCALENDAR" if line.name == "X-WR-TIMEZONE" => {
                calendar_zone = Some(line.value.trim().to_owned())
            }
            "VTIMEZONE" => match line.name.as_str() {
                "TZID" => zone_id = Some(line.value.trim().to_owned()),
                "X-LIC-LOCATION" => zone.location = Some(line.value.trim().to_owned()),
                _ => {}
            },
            "STANDARD" if line.name == "TZOFFSETTO" => {
                zone.standard_offset_secs = parse_utc_offset(line.value.trim());
            }
            "VEVENT" => {
                if let Some(e) = event.as_mut() {
                    read_event_property(e, line);
                }
            }
            _ => {}
        }
    }
    if let Some((open, at)) = stack.pop() {
        return Err(OncallError::invalid(
            label,
            at,
            "BEGIN",
            &format!("BEGIN:{open} is never closed (the calendar is cut short?)"),
        ));
    }

    let mut warnings = Vec::new();
    let floating = calendar_zone
        .as_deref()
        .and_then(|z| lookup_zone(z, &zones, &mut Vec::new()))
        .or_else(|| opts.floating.map(Tz::Tz))
        .unwrap_or(Tz::LOCAL);
    let ctx = Context {
        label,
        zones: &zones,
        floating,
    };
    let mut shifts = Vec::new();
    // Occurrences replaced by a RECURRENCE-ID event: (UID, original start).
    let mut overridden: HashSet<(String, i64)> = HashSet::new();
    for e in events.iter() {
        if let (Some(uid), Some(rid)) = (&e.uid, &e.recurrence_id) {
            let (at, _) = ctx.time(rid, &mut warnings)?;
            overridden.insert((uid.clone(), at.timestamp()));
        }
    }
    let from = opts.window_start;
    let to = opts.window_end;
    let mut budget = Budget {
        left: MAX_EXPANSION,
    };
    for e in &events {
        expand(
            e,
            &ctx,
            &overridden,
            (from, to),
            &mut budget,
            &mut shifts,
            &mut warnings,
        )?;
    }
    shifts.sort_by(|a, b| a.start.cmp(&b.start).then(a.end.cmp(&b.end)));
    warnings.dedup();
    Ok(Parsed { shifts, warnings })
}

fn read_event_property(e: &mut Event, line: Line) {
    match line.name.as_str() {
        "UID" => e.uid = Some(line.value.trim().to_owned()),
        "DTSTART" => e.start = Some(line),
        "DTEND" => e.end = Some(line),
        "DURATION" => e.duration = Some(line),
        "RRULE" => e.rrule = Some(line),
        "RDATE" => e.rdates.push(line),
        "EXDATE" => e.exdates.push(line),
        "RECURRENCE-ID" => e.recurrence_id = Some(line),
        "STATUS" => e.cancelled = line.value.trim().eq_ignore_ascii_case("CANCELLED"),
        "SUMMARY" => e.summary = unescape(&line.value).trim().to_owned(),
        "DESCRIPTION" => e.description = unescape(&line.value).trim().to_owned(),
        "ATTENDEE" => {
            let email = line
                .value
                .trim()
                .strip_prefix("mailto:")
                .or_else(|| line.value.trim().strip_prefix("MAILTO:"))
                .map(str::to_owned)
                .filter(|m| m.contains('@'));
            let name = line
                .param("CN")
                .map(|n| unescape(n).trim().to_owned())
                .filter(|n| !n.is_empty());
            let declined = line
                .param("PARTSTAT")
                .is_some_and(|p| p.eq_ignore_ascii_case("DECLINED"));
            if declined {
                return;
            }
            if let Some(name) = name.or_else(|| email.clone()) {
                e.attendees.push(Person {
                    name,
                    email,
                    name_from_summary: false,
                });
            }
        }
        _ => {}
    }
}

struct Context<'a> {
    label: &'a str,
    zones: &'a HashMap<String, VTimezone>,
    floating: Tz,
}

impl Context<'_> {
    fn err(&self, line: &Line, message: &str) -> OncallError {
        OncallError::invalid(self.label, line.no, &line.name, message)
    }

    /// A DATE or DATE-TIME property's value, and whether it was a date alone.
    fn time(
        &self,
        line: &Line,
        warnings: &mut Vec<String>,
    ) -> Result<(DateTime<Tz>, bool), OncallError> {
        let value = line.value.trim();
        let value = value.split(',').next().unwrap_or(value);
        self.time_value(line, value, warnings)
    }

    fn time_value(
        &self,
        line: &Line,
        value: &str,
        warnings: &mut Vec<String>,
    ) -> Result<(DateTime<Tz>, bool), OncallError> {
        let (naive, date_only, utc) = parse_ical_time(value).ok_or_else(|| {
            self.err(
                line,
                &format!("{value:?} is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS[Z])"),
            )
        })?;
        let zone = if utc {
            Tz::UTC
        } else if let Some(id) = line.param("TZID").filter(|_| !date_only) {
            lookup_zone(id, self.zones, warnings).ok_or_else(|| {
                self.err(
                    line,
                    &format!("unknown time zone TZID={id:?} (no IANA or Windows zone of that name and no VTIMEZONE for it)"),
                )
            })?
        } else {
            self.floating
        };
        Ok((resolve_local(zone, naive), date_only))
    }

    fn times(
        &self,
        lines: &[Line],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<DateTime<Tz>>, OncallError> {
        let mut out = Vec::new();
        for line in lines {
            if line
                .param("VALUE")
                .is_some_and(|v| v.eq_ignore_ascii_case("PERIOD"))
            {
                continue;
            }
            for value in line
                .value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                out.push(self.time_value(line, value, warnings)?.0);
            }
        }
        Ok(out)
    }
}

/// A wall-clock time in `zone`: in a DST gap, the time after the gap; when ambiguous, the
/// earlier one (RFC 5545, 3.3.5).
fn resolve_local(zone: Tz, naive: NaiveDateTime) -> DateTime<Tz> {
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(a, b) => a.min(b),
        LocalResult::None => {
            let later = naive + Duration::hours(1);
            match zone.from_local_datetime(&later) {
                LocalResult::Single(t) => t,
                LocalResult::Ambiguous(a, b) => a.min(b),
                LocalResult::None => Tz::UTC.from_utc_datetime(&naive),
            }
        }
    }
}

/// `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ`: (time, date only, UTC).
fn parse_ical_time(value: &str) -> Option<(NaiveDateTime, bool, bool)> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = match value.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (value, None),
    };
    if date.len() != 8 || !digits(date) {
        return None;
    }
    let day = NaiveDate::from_ymd_opt(
        date[..4].parse().ok()?,
        date[4..6].parse().ok()?,
        date[6..].parse().ok()?,
    )?;
    match time {
        None => Some((day.and_hms_opt(0, 0, 0)?, true, false)),
        Some(t) => {
            let (t, utc) = match t.strip_suffix(['Z', 'z']) {
                Some(t) => (t, true),
                None => (t, false),
            };
            if t.len() != 6 || !digits(t) {
                return None;
            }
            let second: u32 = t[4..].parse().ok()?;
            let at =
                day.and_hms_opt(t[..2].parse().ok()?, t[2..4].parse().ok()?, second.min(59))?;
            Some((at, false, utc))
        }
    }
}

/// `+0100`, `-0500`, `+053000`.
fn parse_utc_offset(value: &str) -> Option<i32> {
    let (sign, rest) = match value.as_bytes().first()? {
        b'+' => (1, &value[1..]),
        b'-' => (-1, &value[1..]),
        _ => return None,
    };
    if !(rest.len() == 4 || rest.len() == 6) || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = rest[..2].parse().ok()?;
    let m: i32 = rest[2..4].parse().ok()?;
    let s: i32 = rest
        .get(4..)
        .filter(|s| !s.is_empty())
        .map_or(Some(0), |s| s.parse().ok())?;
    Some(sign * (h * 3600 + m * 60 + s))
}

/// Windows (Outlook, Exchange) zone names of the commonest zones, to their IANA zones.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("UTC", "UTC"),
    ("Coordinated Universal Time", "UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("Romance Standard Time", "Europe/Paris"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time", "America/Denver"),
    ("Central Standard Time", "America/Chicago"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("Eastern Standard Time", "America/New_York"),
    ("US Eastern Standard Time", "America/Indianapolis"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("Pacific SA Standard Time", "America/Santiago"),
];

/// An IANA name (also behind a vendor prefix such as `/freeassociation.sourceforge.net/`), a
/// Windows name, or a `VTIMEZONE` of the file.
fn lookup_zone(
    id: &str,
    zones: &HashMap<String, VTimezone>,
    warnings: &mut Vec<String>,
) -> Option<Tz> {
    let id = id.trim().trim_matches('"');
    let iana = |name: &str| chrono_tz::Tz::from_str(name).ok().map(Tz::Tz);
    if let Some(tz) = iana(id) {
        return Some(tz);
    }
    if let Some((_, name)) = WINDOWS_ZONES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(id))
    {
        return iana(name);
    }
    // `/mozilla.org/20050126_1/Europe/Berlin` and the like: the longest IANA-looking tail.
    let mut rest = id;
    while let Some(i) = rest.find('/') {
        rest = &rest[i + 1..];
        if let Some(tz) = iana(rest) {
            return Some(tz);
        }
    }
    let zone = zones.get(id)?;
    if let Some(tz) = zone.location.as_deref().and_then(iana) {
        return Some(tz);
    }
    let offset = zone.standard_offset_secs?;
    if offset % 3600 != 0 || offset.abs() > 14 * 3600 {
        return None;
    }
    // Etc/GMT-1 is UTC+1: the sign is POSIX's, the other way round.
    let hours = offset / 3600;
    let name = match hours {
        0 => "Etc/UTC".to_owned(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    warnings.push(format!(
        "time zone {id:?} is not a known zone: its standard offset is used all year, without daylight saving"
    ));
    iana(&name)
}

/// `P1W`, `PT8H`, `P1DT12H`, `-PT15M`.
fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (sign, rest) = match value.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;
    let mut total = 0i64;
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            'T' if number.is_empty() => in_time = true,
            d if d.is_ascii_digit() => number.push(d),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                total = total.checked_add(n.checked_mul(match (unit, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                })?)?;
            }
        }
    }
    if !number.is_empty() || !any {
        return None;
    }
    Some(Duration::seconds(sign * total))
}

/// The longest a single event may be: a year covers any rotation.
const MAX_SHIFT: Duration = Duration::days(366);
/// How many occurrences one rule may produce before the window ends.
const MAX_OCCURRENCES: usize = 100_000;

/// What is left of [`MAX_EXPANSION`] for the rest of the calendar.
struct Budget {
    left: usize,
}

impl Budget {
    /// Takes `n` from the budget; past its end, an error at `line`.
    fn spend(
        &mut self,
        n: usize,
        label: &str,
        line: usize,
        property: &str,
    ) -> Result<(), OncallError> {
        match self.left.checked_sub(n) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(OncallError::invalid(
                label,
                line,
                property,
                &format!(
                    "the calendar's events expand to more than {MAX_EXPANSION} occurrences and people; Foghorn reads no further (a rule repeating every second?)"
                ),
            )),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn expand(
    e: &Event,
    ctx: &Context<'_>,
    overridden: &HashSet<(String, i64)>,
    (from, to): (DateTime<chrono::Utc>, DateTime<chrono::Utc>),
    budget: &mut Budget,
    shifts: &mut Vec<RawShift>,
    warnings: &mut Vec<String>,
) -> Result<(), OncallError> {
    let Some(start_line) = &e.start else {
        return Err(OncallError::invalid(
            ctx.label,
            e.line,
            "VEVENT",
            "an event without DTSTART",
        ));
    };
    let (start, all_day) = ctx.time(start_line, warnings)?;
    // How each occurrence ends: a number of days for all-day events (so a day stays a day
    // across a DST change), an exact duration otherwise.
    let length = if let Some(end_line) = &e.end {
        let (end, _) = ctx.time(end_line, warnings)?;
        end.signed_duration_since(start)
    } else if let Some(d) = &e.duration {
        parse_duration(&d.value).ok_or_else(|| {
            ctx.err(
                d,
                &format!("{:?} is not a duration like PT8H or P7D", d.value),
            )
        })?
    } else if all_day {
        Duration::days(1)
    } else {
        Duration::zero()
    };
    if length < Duration::zero() {
        return Err(OncallError::invalid(
            ctx.label,
            e.end.as_ref().map_or(e.line, |l| l.no),
            "DTEND",
            "the event ends before it starts",
        ));
    }
    if length > MAX_SHIFT {
        return Err(OncallError::invalid(
            ctx.label,
            e.line,
            "VEVENT",
            "the event is longer than a year",
        ));
    }
    let days = length.num_days();
    let end_of = |occurrence: DateTime<Tz>| -> DateTime<chrono::Utc> {
        if all_day {
            let naive = occurrence.naive_local() + Duration::days(days.max(1));
            resolve_local(occurrence.timezone(), naive).with_timezone(&chrono::Utc)
        } else {
            (occurrence + length).with_timezone(&chrono::Utc)
        }
    };
    let people = people_of(e);
    let push = |shifts: &mut Vec<RawShift>,
                budget: &mut Budget,
                occurrence: DateTime<Tz>|
     -> Result<(), OncallError> {
        let begins = occurrence.with_timezone(&chrono::Utc);
        let ends = end_of(occurrence);
        if ends > from && begins < to {
            budget.spend(1 + people.len(), ctx.label, e.line, "VEVENT")?;
            shifts.push(RawShift {
                start: begins,
                end: ends,
                people: people.clone(),
                summary: e.summary.clone(),
                description: e.description.clone(),
            });
        }
        Ok(())
    };

    if e.recurrence_id.is_some() {
        // An override of one occurrence: it stands alone (or cancels it).
        if !e.cancelled {
            push(shifts, budget, start)?;
        }
        return Ok(());
    }
    if e.cancelled {
        return Ok(());
    }
    let listed =
        |lines: &[Line]| -> usize { lines.iter().map(|l| l.value.split(',').count()).sum() };
    let first_line = |lines: &[Line]| lines.first().map_or(e.line, |l| l.no);
    budget.spend(
        listed(&e.exdates),
        ctx.label,
        first_line(&e.exdates),
        "EXDATE",
    )?;
    budget.spend(listed(&e.rdates), ctx.label, first_line(&e.rdates), "RDATE")?;
    let excluded: HashSet<i64> = ctx
        .times(&e.exdates, warnings)?
        .iter()
        .map(DateTime::timestamp)
        .collect();
    let keep = |t: &DateTime<Tz>| {
        !excluded.contains(&t.timestamp())
            && !e
                .uid
                .as_ref()
                .is_some_and(|uid| overridden.contains(&(uid.clone(), t.timestamp())))
    };
    let mut occurrences = ctx.times(&e.rdates, warnings)?;
    match &e.rrule {
        None => occurrences.push(start),
        Some(rule_line) => {
            let rule = recurrence(rule_line, start, all_day, ctx)?;
            let earliest = from - length;
            let set = RRuleSet::new(start).rrule(rule);
            for (n, t) in set.into_iter().enumerate() {
                budget.spend(1, ctx.label, rule_line.no, "RRULE")?;
                if n == MAX_OCCURRENCES {
                    warnings.push(format!(
                        "line {}: the rule repeats more than {MAX_OCCURRENCES} times before the next weeks; later occurrences are left out",
                        rule_line.no
                    ));
                    break;
                }
                if t.with_timezone(&chrono::Utc) >= to {
                    break;
                }
                if t.with_timezone(&chrono::Utc) >= earliest {
                    occurrences.push(t);
                }
            }
        }
    }
    occurrences.sort();
    occurrences.dedup();
    for t in occurrences.into_iter().filter(keep) {
        push(shifts, budget, t)?;
    }
    Ok(())
}

/// The event's RRULE, with its UNTIL read by the rules of this module (a date, a local time
/// or UTC) and given to the rrule crate in UTC, as it requires for zoned starts.
fn recurrence(
    line: &Line,
    start: DateTime<Tz>,
    all_day: bool,
    ctx: &Context<'_>,
) -> Result<rrule::RRule, OncallError> {
    let mut until = None;
    let mut parts = Vec::new();
    for part in line
        .value
        .trim()
        .split(';')
        .filter(|p| !p.trim().is_empty())
    {
        match part.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("UNTIL") => until = Some(v.trim()),
            _ => parts.push(part.trim()),
        }
    }
    let rule: RRule<Unvalidated> = parts
        .join(";")
        .parse()
        .map_err(|e: rrule::RRuleError| ctx.err(line, &e.to_string()))?;
    let rule = match until {
        None => rule,
        Some(value) => {
            let (naive, date_only, utc) = parse_ical_time(value).ok_or_else(|| {
                ctx.err(line, &format!("UNTIL={value:?} is not a date or date-time"))
            })?;
            let at = if utc {
                Tz::UTC.from_utc_datetime(&naive)
            } else if date_only && !all_day {
                // The whole last day counts.
                resolve_local(
                    start.timezone(),
                    naive + Duration::days(1) - Duration::seconds(1),
                )
            } else {
                resolve_local(start.timezone(), naive)
            };
            let at = at
                .with_timezone(&Tz::UTC)
                .max(start.with_timezone(&Tz::UTC));
            rule.until(at)
        }
    };
    rule.validate(start)
        .map_err(|e| ctx.err(line, &e.to_string()))
}

/// Who an event puts on call: its attendees; else the name in a PagerDuty-style summary
/// (`On Call - Alice Smith - Primary`); else a name labelled in the description
/// (`On call: Bob Jones`); else the summary itself, without a Grafana OnCall priority
/// (`[L1] alice, bob`), split at commas.
fn people_of(e: &Event) -> Vec<Person> {
    let summary = e.summary.trim();
    if !e.attendees.is_empty() {
        let mut people = e.attendees.clone();
        name_from_summary(&mut people, summary);
        return people;
    }
    if let Some(name) = pagerduty_name(summary) {
        return vec![Person::from_text(name)];
    }
    for line in e.description.lines() {
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().to_ascii_lowercase();
            if matches!(
                key.as_str(),
                "on call" | "on-call" | "oncall" | "who" | "user" | "users" | "person" | "engineer"
            ) {
                let people = split_names(value);
                if !people.is_empty() {
                    return people;
                }
            }
        }
    }
    let summary = strip_priority(summary);
    split_names(summary)
}

/// Attendees with only an address (no `CN`) take their name from the summary when it names
/// them: `Carol Jones` for `carol@example.com`, `jdoe@…` for `Jane Doe`. A name is taken only
/// when one of its words (three letters or more) is in the address's local part, so a summary
/// such as "Primary rotation" never becomes someone's name.
fn name_from_summary(people: &mut [Person], summary: &str) {
    let candidates: Vec<Person> = match pagerduty_name(summary) {
        Some(name) => vec![Person::from_text(name)],
        None => split_names(strip_priority(summary)),
    };
    for person in people.iter_mut() {
        let Some(email) = person.email.as_deref().filter(|e| *e == person.name) else {
            continue;
        };
        let local = email.split('@').next().unwrap_or("").to_lowercase();
        let named = candidates.iter().find(|c| {
            c.email.is_none()
                && c.name
                    .split(|ch: char| !ch.is_alphabetic())
                    .map(str::to_lowercase)
                    .any(|word| word.chars().count() >= 3 && local.contains(&word))
        });
        if let Some(candidate) = named {
            person.name = candidate.name.clone();
            person.name_from_summary = true;
        }
    }
}

fn pagerduty_name(summary: &str) -> Option<&str> {
    let lower = summary.to_ascii_lowercase();
    for prefix in [
        "on call - ",
        "on-call - ",
        "oncall - ",
        "on call: ",
        "on-call: ",
    ] {
        if lower.starts_with(prefix) {
            let rest = &summary[prefix.len()..];
            let name = rest.split(" - ").next().unwrap_or(rest).trim();
            return (!name.is_empty()).then_some(name);
        }
    }
    None
}

fn strip_priority(summary: &str) -> &str {
    let s = summary.trim_start();
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((inside, after)) = rest.split_once(']') {
            if inside.len() <= 4 && inside.chars().all(|c| c.is_ascii_alphanumeric()) {
                return after.trim_start();
            }
        }
    }
    s
}

fn split_names(text: &str) -> Vec<Person> {
    text.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(Person::from_text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT8H"), Some(Duration::hours(8)));
        assert_eq!(parse_duration("P1W"), Some(Duration::days(7)));
        assert_eq!(
            parse_duration("P1DT12H30M"),
            Some(Duration::minutes(36 * 60 + 30))
        );
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("PT8"), None);
        assert_eq!(parse_duration("P8H"), None);
    }

    #[test]
    fn offsets_and_zones() {
        assert_eq!(parse_utc_offset("+0100"), Some(3600));
        assert_eq!(parse_utc_offset("-0530"), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(parse_utc_offset("0100"), None);
        let none = HashMap::new();
        let mut w = Vec::new();
        assert_eq!(
            lookup_zone("W. Europe Standard Time", &none, &mut w).map(|z| z.name().to_owned()),
            Some("Europe/Berlin".to_owned())
        );
        assert_eq!(
            lookup_zone(
                "/freeassociation.sourceforge.net/Tzfile/America/New_York",
                &none,
                &mut w
            )
            .map(|z| z.name().to_owned()),
            Some("America/New_York".to_owned())
        );
        assert!(lookup_zone("Mars/Olympus", &none, &mut w).is_none());
    }

    #[test]
    fn folded_lines_and_quoted_parameters() {
        let lines = content_lines(
            "BEGIN:VCALENDAR\r\nATTENDEE;CN=\"Smith, Alice\";ROLE=REQ-PARTICIPANT:mailto:a\r\n lice@example.com\r\n",
            "t",
        )
        .expect("lines");
        assert_eq!(lines[1].no, 2);
        assert_eq!(lines[1].param("CN"), Some("Smith, Alice"));
        assert_eq!(lines[1].value, "mailto:alice@example.com");
    }
}
