//! The SLA report's chart: each plan's availability day by day through the period, a bar a
//! day, against its target as a line — the day a plan fell short is the red bar under it.
//! SVG text, drawn like the postmortem's charts (see [`crate::postmortem::charts`]).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::Report;
use super::{days, Day, Period};
use crate::postmortem::charts::{legend, message_svg, render, DOWN, FONT, INK, UP, WIDTH};

const TARGET: RGBColor = RGBColor(0x1f, 0x4e, 0x79);
const PANEL: u32 = 300;

/// One plan's days.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDays {
    pub name: String,
    /// Percent.
    pub target: f64,
    /// The days measured so far, in order.
    pub days: Vec<Day>,
}

/// The chart of `period` (titled `label`): a panel per plan, a bar per day measured, the
/// axis the whole period long (a month still running shows its days to come empty).
pub fn chart(label: &str, period: Period, tz: chrono_tz::Tz, plans: &[PlanDays]) -> String {
    let title = format!("Daily availability, {label}");
    if plans.is_empty() {
        return message_svg(
            &title,
            (WIDTH, 160),
            "No plans: [sla] has no plan with an uptime target.",
        );
    }
    let all_days = days(period, tz);
    let n = all_days.len().max(1) as f64;
    let height = 40 + PANEL * plans.len() as u32 + 30;
    render(&title, (WIDTH, height), |root| {
        let (head, body) = root.split_vertically(40);
        head.draw(&Text::new(
            title.clone(),
            (WIDTH as i32 / 2, 22),
            (FONT, 22)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        let (panels, _) = body.split_vertically(PANEL * plans.len() as u32);
        for (plan, area) in plans.iter().zip(panels.split_evenly((plans.len(), 1))) {
            let lowest = plan
                .days
                .iter()
                .map(|d| d.availability)
                .fold(plan.target, f64::min);
            let span = (100.0 - lowest).max(0.05);
            let floor = (lowest - span * 0.3).max(0.0);
            let top = 100.0 + span * 0.05;
            let decimals = if span < 1.0 { 2 } else { 1 };
            let mut c = ChartBuilder::on(&area)
                .caption(
                    format!("{} — target {}%", plan.name, plan.target),
                    (FONT, 17).into_font().color(&INK),
                )
                .margin(10)
                .x_label_area_size(24)
                .y_label_area_size(70)
                .build_cartesian_2d(0f64..n, floor..top)?;
            c.configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_labels(6)
                .y_label_formatter(&|v| format!("{v:.decimals$} %"))
                .label_style((FONT, 14).into_font().color(&INK))
                .light_line_style(RGBColor(0xf0, 0xf0, 0xf0))
                .draw()?;
            c.draw_series(plan.days.iter().filter_map(|d| {
                let i = all_days.iter().position(|p| p.from == d.period.from)? as f64;
                let met = d.availability + 1e-9 >= plan.target;
                Some(Rectangle::new(
                    [(i + 0.15, floor), (i + 0.85, d.availability.max(floor))],
                    if met { UP } else { DOWN }.filled(),
                ))
            }))?;
            c.draw_series(LineSeries::new(
                [(0.0, plan.target), (n, plan.target)],
                TARGET.stroke_width(2),
            ))?;
            // The day of the month under each bar.
            for (i, d) in all_days.iter().enumerate() {
                let day = chrono::DateTime::from_timestamp_millis(d.from)
                    .map(|t| t.with_timezone(&tz).format("%-d").to_string())
                    .unwrap_or_default();
                let (x, y) = c.backend_coord(&(i as f64 + 0.5, floor));
                root.draw(&Text::new(
                    day,
                    (x, y + 6),
                    (FONT, 13)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        legend(
            root,
            height,
            &[
                ("target met", UP),
                ("below target", DOWN),
                ("target", TARGET),
            ],
        )
    })
}

/// The chart of a report: each plan's days.
pub fn of_report(r: &Report, tz: chrono_tz::Tz) -> String {
    let plans: Vec<PlanDays> = r
        .plans
        .iter()
        .map(|p| PlanDays {
            name: p.plan.clone(),
            target: p.target,
            days: p.days.clone(),
        })
        .collect();
    chart(&r.label, r.period, tz, &plans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::report::month;

    fn plan(target: f64, low: &[(usize, f64)], measured: usize) -> (Period, PlanDays) {
        let (period, _) = month("2026-11", chrono_tz::UTC).expect("month");
        let days = days(period, chrono_tz::UTC)
            .into_iter()
            .take(measured)
            .enumerate()
            .map(|(i, p)| Day {
                period: p,
                availability: low.iter().find(|(d, _)| *d == i).map_or(100.0, |(_, a)| *a),
            })
            .collect();
        (
            period,
            PlanDays {
                name: "Enterprise".into(),
                target,
                days,
            },
        )
    }

    #[test]
    fn a_bar_per_day_measured_red_below_the_target_with_the_target_as_a_line() {
        let (period, p) = plan(99.9, &[(4, 99.5), (9, 99.95)], 30);
        let svg = chart("November 2026 (UTC)", period, chrono_tz::UTC, &[p]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("href"));
        // 29 days met and one below, plus the legend's square of each.
        assert_eq!(svg.matches("fill=\"#2E9E5B\"").count(), 29 + 1, "{svg}");
        assert_eq!(svg.matches("fill=\"#D64541\"").count(), 1 + 1, "{svg}");
        // The target: one line across the panel (and the legend's square).
        assert_eq!(svg.matches("stroke=\"#1F4E79\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("fill=\"#1F4E79\"").count(), 1, "{svg}");
        assert!(svg.contains("Enterprise — target 99.9%"), "{svg}");
        // Every day of the month is on the axis, 1 to 30.
        assert!(
            svg.contains("\n30\n</text>") && svg.contains("\n1\n</text>"),
            "{svg}"
        );
    }

    #[test]
    fn a_month_still_running_has_bars_for_its_days_so_far_and_the_same_input_the_same_chart() {
        let (period, p) = plan(99.0, &[], 12);
        let a = chart(
            "November 2026 (UTC)",
            period,
            chrono_tz::UTC,
            std::slice::from_ref(&p),
        );
        assert_eq!(a.matches("fill=\"#2E9E5B\"").count(), 12 + 1);
        assert_eq!(
            a,
            chart("November 2026 (UTC)", period, chrono_tz::UTC, &[p])
        );
        let none = chart("November 2026 (UTC)", period, chrono_tz::UTC, &[]);
        assert!(none.contains("No plans"), "{none}");
    }
}
