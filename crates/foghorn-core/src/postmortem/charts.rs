//! The postmortem's charts, as SVG text: when each component was up and down around the
//! outage, and how long each check took. They are drawn from the same [`Evidence`] as the
//! figures, with the same arithmetic ([`crate::interval`]), so a chart never disagrees with
//! the table above it.
//!
//! SVG rather than PNG: it embeds in the HTML export as text, scales when printed, and needs
//! no fonts here — plotters only estimates the labels' widths, and the reader's viewer draws
//! them. Nothing in the output refers to anything outside it.

use std::collections::{BTreeMap, BTreeSet};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figures::Evidence;
use crate::interval::{down_intervals, Interval};
use crate::store::{CheckRow, MAX_DOWN_SPAN_MS};

/// A chart with its title, ready to embed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Chart {
    pub title: String,
    pub svg: String,
}

pub(crate) const WIDTH: u32 = 800;
pub(crate) const FONT: &str = "sans-serif";
pub(crate) const UP: RGBColor = RGBColor(0x2e, 0x9e, 0x5b);
pub(crate) const DOWN: RGBColor = RGBColor(0xd6, 0x45, 0x41);
pub(crate) const UNCHECKED: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
pub(crate) const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const INCIDENT: RGBColor = RGBColor(0xf5, 0xa6, 0x23);
/// Lines of the latency chart, one per monitor.
const LINES: [RGBColor; 6] = [
    RGBColor(0x1f, 0x6f, 0xb2),
    RGBColor(0x7b, 0x3f, 0xa0),
    RGBColor(0x13, 0x8d, 0x90),
    RGBColor(0xb5, 0x6b, 0x00),
    RGBColor(0x55, 0x55, 0x55),
    RGBColor(0xc2, 0x3b, 0x80),
];

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Draws on an SVG of `size` and returns its text. A drawing error (plotters reports them
/// for sizes it cannot lay out) becomes a chart that says so, never a panic: a postmortem
/// must come out even when its chart cannot.
pub(crate) fn render(
    title: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
) -> String {
    let mut svg = String::new();
    let outcome = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string().into())
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(|e| e.to_string().into()))
    };
    match outcome {
        Ok(()) => titled(svg, title),
        Err(e) => message_svg(title, size, &format!("The chart could not be drawn: {e}")),
    }
}

/// A chart that only says `text` (nothing to draw, or a drawing error).
pub(crate) fn message_svg(title: &str, size: (u32, u32), text: &str) -> String {
    let (w, h) = size;
    titled(
        format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
             <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#FFFFFF\" stroke=\"#E4E4E4\"/>\n\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-family=\"{FONT}\" font-size=\"15\" fill=\"#333333\">{}</text>\n\
             </svg>\n",
            w / 2,
            h / 2,
            escape(text)
        ),
        title,
    )
}

/// The SVG with a `<title>` (read by screen readers and shown on hover) and `role="img"`.
fn titled(svg: String, title: &str) -> String {
    let Some(open) = svg.find("<svg") else {
        return svg;
    };
    let Some(end) = svg[open..].find('>').map(|i| open + i) else {
        return svg;
    };
    format!(
        "{} role=\"img\" aria-label=\"{t}\"><title>{t}</title>{}",
        &svg[..end],
        &svg[end + 1..],
        t = escape(title)
    )
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The time of day of a Unix millisecond in `tz`: `HH:MM`, with seconds on an axis shorter
/// than ten minutes (where minutes alone would repeat).
fn clock(ms: i64, tz: chrono_tz::Tz, (from, to): Interval) -> String {
    let format = if to - from < 600_000 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&tz).format(format).to_string())
        .unwrap_or_default()
}

fn ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The stretch the charts show: every kept check and every incident's span (an incident
/// still open ends at the last check, not at `now`, which may be days later).
fn window(e: &Evidence) -> Option<Interval> {
    let checks = e.checks.values().flatten().map(|c| c.at_ms);
    let (first, last) = (checks.clone().min()?, checks.max()?);
    let opened = e.rows.incidents.iter().map(|i| ms(i.opened_at)).min();
    let resolved = e
        .rows
        .incidents
        .iter()
        .filter_map(|i| i.resolved_at.map(ms))
        .max();
    let from = opened.map_or(first, |o| o.min(first));
    let to = resolved.map_or(last, |r| r.max(last));
    // A little room at each end, so the state before and after the outage shows (the last
    // check counts until the chart's end, as any check counts until the next).
    let pad = ((to - from) / 25).max(1_000);
    Some((from - pad, to + pad))
}

/// Each incident's span within `window`, to shade.
fn incident_spans(e: &Evidence, (from, to): Interval) -> Vec<Interval> {
    e.rows
        .incidents
        .iter()
        .map(|i| {
            let end = i.resolved_at.map_or(to, ms);
            (ms(i.opened_at).max(from), end.min(to))
        })
        .filter(|(a, b)| b > a)
        .collect()
}

/// The rows of the availability chart: each `[status]` component with its monitors that have
/// checks, then each monitor in no component (as the downtime figures group them).
fn rows(e: &Evidence) -> Vec<(String, Vec<&str>)> {
    let mut out = Vec::new();
    let mut placed = BTreeSet::new();
    for (name, monitors) in &e.components {
        let measured: Vec<&str> = monitors
            .iter()
            .map(String::as_str)
            .filter(|m| e.checks.contains_key(*m))
            .collect();
        if measured.is_empty() {
            continue;
        }
        placed.extend(measured.iter().copied());
        out.push((name.clone(), measured));
    }
    for id in e.checks.keys() {
        if !placed.contains(id.as_str()) {
            let name = e
                .monitor_names
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.clone());
            out.push((name, vec![id.as_str()]));
        }
    }
    out
}

/// When a monitor's checks covered: each check until the next (five minutes at most).
fn checked(checks: &[CheckRow], (from, to): Interval) -> Vec<Interval> {
    checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let next = checks.get(i + 1).map_or(to, |n| n.at_ms);
            (
                c.at_ms.max(from),
                next.min(c.at_ms + MAX_DOWN_SPAN_MS).min(to),
            )
        })
        .filter(|(a, b)| b > a)
        .collect()
}

/// Up and down over time, one row per component (or monitor in none): green where its checks
/// passed, red where one of its monitors was failing, grey where nothing was checked; the
/// incidents' spans shaded behind.
pub fn availability(e: &Evidence, tz: chrono_tz::Tz) -> String {
    const TITLE: &str = "Availability around the outage";
    let rows = rows(e);
    let height = 130 + 44 * rows.len().max(1) as u32;
    let Some(span) = window(e) else {
        return message_svg(
            TITLE,
            (WIDTH, 160),
            "No checks: none were kept for this outage's monitors.",
        );
    };
    render(TITLE, (WIDTH, height), |root| {
        let n = rows.len() as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, (FONT, 22).into_font().color(&INK))
            .margin(12)
            .margin_bottom(34)
            .x_label_area_size(44)
            .y_label_area_size(150)
            .build_cartesian_2d(span.0..span.1, 0f64..n)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&|v| clock(*v, tz, span))
            .x_desc(format!("Time ({})", tz.name()))
            .label_style((FONT, 14).into_font().color(&INK))
            .draw()?;
        for (a, b) in incident_spans(e, span) {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(a, 0.0), (b, n)],
                INCIDENT.mix(0.18).filled(),
            )))?;
        }
        for (row, (name, monitors)) in rows.iter().enumerate() {
            // Row 0 at the top.
            let top = n - row as f64 - 0.15;
            let bottom = n - row as f64 - 0.85;
            let bar = |(a, b): Interval, color: RGBColor| {
                Rectangle::new([(a, bottom), (b, top)], color.filled())
            };
            chart.draw_series(std::iter::once(bar(span, UNCHECKED)))?;
            let mut up = Vec::new();
            let mut down = Vec::new();
            for m in monitors {
                let list = &e.checks[*m];
                up.extend(checked(list, span));
                down.extend(down_intervals(list, span.0, span.1));
            }
            chart.draw_series(crate::interval::union(up).into_iter().map(|i| bar(i, UP)))?;
            chart.draw_series(
                crate::interval::union(down)
                    .into_iter()
                    .map(|i| bar(i, DOWN)),
            )?;
            let (x, y) = chart.backend_coord(&(span.0, (top + bottom) / 2.0));
            root.draw(&Text::new(
                name.clone(),
                (x - 8, y),
                (FONT, 16)
                    .into_font()
                    .color(&INK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        legend(
            root,
            height,
            &[
                ("up", UP),
                ("down", DOWN),
                ("not checked", UNCHECKED),
                ("incident", INCIDENT),
            ],
        )
    })
}

/// A row of coloured squares with names along the bottom edge.
pub(crate) fn legend(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    height: u32,
    items: &[(&str, RGBColor)],
) -> Drawn {
    let y = height as i32 - 14;
    let mut x = 170;
    for (name, color) in items {
        root.draw(&Rectangle::new(
            [(x, y - 5), (x + 10, y + 5)],
            color.filled(),
        ))?;
        root.draw(&Text::new(
            (*name).to_owned(),
            (x + 15, y),
            (FONT, 15)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += 36 + 7 * name.len() as i32;
    }
    Ok(())
}

/// Milliseconds per check over time, a line per monitor; failing checks marked with a red
/// cross (at their latency, or at zero when they had none: refused, timed out).
pub fn latency(e: &Evidence, tz: chrono_tz::Tz) -> String {
    const TITLE: &str = "Latency of each check";
    const HEIGHT: u32 = 360;
    let Some(span) = window(e) else {
        return message_svg(
            TITLE,
            (WIDTH, 160),
            "No checks: none were kept for this outage's monitors.",
        );
    };
    let highest = e
        .checks
        .values()
        .flatten()
        .filter_map(|c| c.latency_ms)
        .max();
    let Some(highest) = highest else {
        return message_svg(
            TITLE,
            (WIDTH, 160),
            "No latency: none of the kept checks recorded one.",
        );
    };
    let top = ((highest as f64) * 1.15).max(10.0);
    let names: BTreeMap<&str, String> = e
        .checks
        .keys()
        .map(|id| {
            (
                id.as_str(),
                e.monitor_names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.clone()),
            )
        })
        .collect();
    render(TITLE, (WIDTH, HEIGHT), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, (FONT, 22).into_font().color(&INK))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(span.0..span.1, 0f64..top)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&|v| clock(*v, tz, span))
            .y_label_formatter(&|v| format!("{v:.0} ms"))
            .x_desc(format!("Time ({})", tz.name()))
            .label_style((FONT, 14).into_font().color(&INK))
            .light_line_style(WHITE)
            .draw()?;
        for (a, b) in incident_spans(e, span) {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(a, 0.0), (b, top)],
                INCIDENT.mix(0.18).filled(),
            )))?;
        }
        for (i, (id, checks)) in e.checks.iter().enumerate() {
            let color = LINES[i % LINES.len()];
            let name = names.get(id.as_str()).cloned().unwrap_or_default();
            // A check without a latency (refused, timed out) breaks the line: joining across
            // it would draw times nobody measured.
            let mut segments: Vec<Vec<(i64, f64)>> = vec![Vec::new()];
            for c in checks {
                match (c.latency_ms, segments.last_mut()) {
                    (Some(l), Some(last)) => last.push((c.at_ms, l as f64)),
                    (None, Some(last)) if !last.is_empty() => segments.push(Vec::new()),
                    _ => {}
                }
            }
            segments.retain(|s| !s.is_empty());
            for (n, segment) in segments.into_iter().enumerate() {
                let drawn = chart.draw_series(LineSeries::new(segment, color.stroke_width(2)))?;
                if n == 0 {
                    drawn.label(name.clone()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                }
            }
        }
        let failing: Vec<(i64, f64)> = e
            .checks
            .values()
            .flatten()
            .filter(|c| !c.ok)
            .map(|c| (c.at_ms, c.latency_ms.map_or(0.0, |l| l as f64)))
            .collect();
        if !failing.is_empty() {
            chart
                .draw_series(
                    failing
                        .into_iter()
                        .map(|p| Cross::new(p, 4, DOWN.stroke_width(2))),
                )?
                .label("failing check")
                .legend(|(x, y)| Cross::new((x + 8, y), 4, DOWN.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .label_font((FONT, 14).into_font().color(&INK))
            .draw()?;
        Ok(())
    })
}

/// Both charts of a postmortem, to embed in its HTML.
pub fn charts(e: &Evidence, tz: chrono_tz::Tz) -> Vec<Chart> {
    vec![
        Chart {
            title: "Availability".to_owned(),
            svg: availability(e, tz),
        },
        Chart {
            title: "Latency".to_owned(),
            svg: latency(e, tz),
        },
    ]
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use time::Duration;

    use super::*;
    use crate::store::IncidentRow;

    fn check(at: time::OffsetDateTime, ok: bool, latency: Option<i64>) -> CheckRow {
        CheckRow {
            at_ms: ms(at),
            ok,
            latency_ms: latency,
            error: (!ok).then(|| "connection refused".to_owned()),
        }
    }

    /// Two monitors of one component, and one monitor in none; checks every 10 s for ten
    /// minutes, `api` failing from 2 to 6 minutes.
    fn evidence() -> Evidence {
        let t = |s: i64| datetime!(2026-12-03 10:00 UTC) + Duration::seconds(s);
        let mut e = Evidence {
            now: t(3_600),
            ..Evidence::default()
        };
        e.rows.incidents.push(IncidentRow {
            id: 1,
            title: "api is down".into(),
            severity: "critical".into(),
            opened_at: t(140),
            resolved_at: Some(t(370)),
            acked_at: None,
            acked_by: None,
        });
        for (id, fails) in [("api", true), ("web", false), ("db", false)] {
            e.checks.insert(
                id.into(),
                (0..60)
                    .map(|i| {
                        let down = fails && (12..36).contains(&i);
                        check(t(i * 10), !down, (!down).then_some(40 + i % 7))
                    })
                    .collect(),
            );
        }
        e.monitor_names.insert("api".into(), "API <v2>".into());
        e.components
            .push(("Public API".into(), vec!["api".into(), "web".into()]));
        e
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert_eq!(count(svg, "<svg"), 1);
        assert_eq!(count(svg, "<title>"), 1);
        // Nothing to load: no links to anything outside the document.
        assert!(!svg.contains("href"), "{svg}");
        assert!(!svg.contains("url("), "{svg}");
        // Text is escaped (the monitor's name has angle brackets).
        assert!(!svg.contains("<v2>"), "{svg}");
    }

    #[test]
    fn the_availability_chart_has_a_row_per_component_with_its_downtime_in_red() {
        let svg = availability(&evidence(), chrono_tz::Europe::Berlin);
        well_formed(&svg);
        assert!(svg.contains("\nPublic API\n</text>"), "{svg}");
        assert!(svg.contains("\ndb\n</text>"), "{svg}");
        // One unchecked background per row, one red stretch (api down 2–6 min).
        assert_eq!(count(&svg, "fill=\"#E4E4E4\""), 2 + 1, "{svg}");
        assert_eq!(count(&svg, "fill=\"#D64541\""), 1 + 1, "{svg}");
        // The times are the readers' (11:00 in Berlin).
        assert!(svg.contains("\n11:0"), "{svg}");
        // Minutes would repeat on an axis shorter than ten minutes: it has seconds.
        let at = ms(datetime!(2026-12-03 10:05:30 UTC));
        assert_eq!(clock(at, chrono_tz::UTC, (at, at + 300_000)), "10:05:30");
        assert_eq!(clock(at, chrono_tz::UTC, (at, at + 3_600_000)), "10:05");
        assert!(svg.contains("Time (Europe/Berlin)"), "{svg}");
    }

    #[test]
    fn the_latency_chart_has_a_line_per_monitor_and_marks_failing_checks() {
        let svg = latency(&evidence(), chrono_tz::UTC);
        well_formed(&svg);
        // api's line is broken by its failure: two stretches, and its legend.
        assert_eq!(count(&svg, "stroke=\"#1F6FB2\""), 2 + 1, "{svg}");
        // db and web are never broken.
        assert_eq!(count(&svg, "stroke=\"#7B3FA0\""), 1 + 1, "{svg}");
        assert!(svg.contains("\nfailing check\n</text>"), "{svg}");
        assert!(svg.contains("\nAPI &lt;v2&gt;\n</text>"), "{svg}");
        assert!(svg.contains(" ms\n</text>"), "{svg}");
    }

    #[test]
    fn the_charts_are_the_same_for_the_same_evidence() {
        let e = evidence();
        assert_eq!(charts(&e, chrono_tz::UTC), charts(&e, chrono_tz::UTC));
    }

    #[test]
    fn an_outage_without_checks_says_so_instead_of_drawing_nothing() {
        let mut e = evidence();
        e.checks.clear();
        for chart in charts(&e, chrono_tz::UTC) {
            well_formed(&chart.svg);
            assert!(chart.svg.contains("No checks"), "{}", chart.svg);
        }
        let empty = charts(&Evidence::default(), chrono_tz::UTC);
        assert!(empty.iter().all(|c| c.svg.contains("No checks")));
        // Checks without any latency (all refused): the latency chart says that.
        let mut e = evidence();
        for list in e.checks.values_mut() {
            for c in list {
                c.latency_ms = None;
            }
        }
        assert!(latency(&e, chrono_tz::UTC).contains("No latency"));
    }
}
