//! The words of an update: a minijinja template per state, filled with what the reader needs
//! (the product, the components, when it started in their time zone, how long it has lasted,
//! when the next update comes). Teams may replace any state's template in `[status.templates]`.

use std::collections::BTreeMap;

use chrono::TimeZone as _;
use minijinja::{context, Environment, UndefinedBehavior};
use time::OffsetDateTime;

use super::{ComponentStatus, PublicState};

/// Enough for any template a person writes; a runaway loop stops instead of hanging a post.
const FUEL: u64 = 100_000;

/// The built-in template of each state. The first one tells everyone early, including those
/// who may not be affected, and promises the next update.
pub fn default_template(state: PublicState) -> &'static str {
    match state {
        PublicState::Investigating => {
            "We are investigating {% if components %}problems with {{ components }}{% else %}a problem with {{ product }}{% endif %} since {{ started }}. \
             We are telling you early, before we know the cause, so you may not be affected. \
             {% if next_update %}We will post an update by {{ next_update }}.{% endif %}"
        }
        PublicState::Identified => {
            "We have identified the cause of the problems with {% if components %}{{ components }}{% else %}{{ product }}{% endif %} and are working on a fix. \
             {% if next_update %}Next update by {{ next_update }}.{% endif %}"
        }
        PublicState::Monitoring => {
            "A fix is in place and we are watching {% if components %}{{ components }}{% else %}{{ product }}{% endif %} closely to make sure it holds. \
             {% if next_update %}Next update by {{ next_update }}.{% endif %}"
        }
        PublicState::Resolved => {
            "The problem with {% if components %}{{ components }}{% else %}{{ product }}{% endif %} is resolved; everything works normally again. \
             It began at {{ started }} and lasted {{ duration }}. We are sorry for the trouble, and we will share what happened and what we are changing."
        }
        PublicState::Scheduled => {
            "We have scheduled maintenance of {% if components %}{{ components }}{% else %}{{ product }}{% endif %}. \
             {% if next_update %}We will post an update by {{ next_update }}.{% endif %}"
        }
        PublicState::InProgress => {
            "Maintenance of {% if components %}{{ components }}{% else %}{{ product }}{% endif %} is in progress. \
             {% if next_update %}Next update by {{ next_update }}.{% endif %}"
        }
        PublicState::Verifying => {
            "The maintenance of {% if components %}{{ components }}{% else %}{{ product }}{% endif %} is done and we are checking that everything works. \
             {% if next_update %}Next update by {{ next_update }}.{% endif %}"
        }
        PublicState::Completed => {
            "The maintenance of {% if components %}{{ components }}{% else %}{{ product }}{% endif %} is complete. Thank you for your patience."
        }
    }
}

/// What a template is filled with.
#[derive(Debug, Clone)]
pub struct TemplateContext<'a> {
    pub product: &'a str,
    pub title: &'a str,
    pub state: PublicState,
    pub components: &'a BTreeMap<String, ComponentStatus>,
    pub started_at: OffsetDateTime,
    pub now: OffsetDateTime,
    pub next_update_at: Option<OffsetDateTime>,
    pub time_zone: chrono_tz::Tz,
}

pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    // Plain text: the destinations escape it as they need (HTML on the page, JSON elsewhere).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// Whether `source` is a template that compiles; the error says where it is wrong.
pub fn check(source: &str) -> Result<(), String> {
    let env = environment();
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

pub(crate) fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

/// Fills `source` in; an undefined variable or a runaway template is an error, not a
/// message with a hole in it.
pub fn render(source: &str, ctx: &TemplateContext<'_>) -> Result<String, String> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| describe(&e))?;
    let component_list: Vec<_> = ctx
        .components
        .iter()
        .map(|(name, status)| {
            context! { name => name, status => status.as_str(), status_label => status.label() }
        })
        .collect();
    let text = template
        .render(context! {
            product => ctx.product,
            title => ctx.title,
            state => ctx.state.as_str(),
            state_label => ctx.state.label(),
            components => join_names(ctx.components.keys().map(String::as_str)),
            component_list => component_list,
            started => time_in(ctx.started_at, ctx.time_zone, ctx.now),
            duration => duration(ctx.now - ctx.started_at),
            next_update => ctx.next_update_at.map(|t| time_in(t, ctx.time_zone, ctx.now)),
        })
        .map_err(|e| describe(&e))?;
    Ok(tidy(&text))
}

/// Spaces the templates' line continuations leave behind, squeezed; paragraphs kept.
pub(crate) fn tidy(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// "API", "API and Dashboard", "API, Dashboard and Billing".
pub fn join_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "14:05 CET", or "1 Dec 14:05 CET" when not on `now`'s day in that zone.
pub fn time_in(t: OffsetDateTime, tz: chrono_tz::Tz, now: OffsetDateTime) -> String {
    let at = |t: OffsetDateTime| {
        chrono::DateTime::from_timestamp(t.unix_timestamp(), 0)
            .map(|utc| tz.from_utc_datetime(&utc.naive_utc()))
    };
    match (at(t), at(now)) {
        (Some(local), Some(today)) if local.date_naive() == today.date_naive() => {
            local.format("%H:%M %Z").to_string()
        }
        (Some(local), _) => local.format("%-d %b %H:%M %Z").to_string(),
        (None, _) => crate::time_fmt::rfc3339(t),
    }
}

/// "45 min", "2 h 5 min", "3 days 4 h".
pub fn duration(d: time::Duration) -> String {
    let minutes = d.whole_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".to_owned(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ctx<'a>(
        state: PublicState,
        components: &'a BTreeMap<String, ComponentStatus>,
    ) -> TemplateContext<'a> {
        TemplateContext {
            product: "Acme",
            title: "API errors",
            state,
            components,
            started_at: datetime!(2026-12-02 13:05 UTC),
            now: datetime!(2026-12-02 13:50 UTC),
            next_update_at: Some(datetime!(2026-12-02 14:20 UTC)),
            time_zone: chrono_tz::Europe::Berlin,
        }
    }

    #[test]
    fn the_first_update_says_we_are_investigating_and_tells_everyone_early() {
        let components = BTreeMap::from([("API".to_owned(), ComponentStatus::MajorOutage)]);
        let text = render(
            default_template(PublicState::Investigating),
            &ctx(PublicState::Investigating, &components),
        )
        .expect("renders");
        assert_eq!(
            text,
            "We are investigating problems with API since 14:05 CET. We are telling you early, \
             before we know the cause, so you may not be affected. We will post an update by 15:20 CET."
        );
    }

    #[test]
    fn every_state_has_a_template_that_renders_with_and_without_components() {
        let none = BTreeMap::new();
        let two = BTreeMap::from([
            ("API".to_owned(), ComponentStatus::PartialOutage),
            ("Dashboard".to_owned(), ComponentStatus::DegradedPerformance),
        ]);
        for state in PublicState::ALL {
            for components in [&none, &two] {
                let text =
                    render(default_template(state), &ctx(state, components)).expect("renders");
                assert!(
                    !text.contains("  ") && !text.contains("{{"),
                    "{state}: {text}"
                );
                if components.is_empty() {
                    assert!(text.contains("Acme"), "{state}: {text}");
                } else {
                    assert!(text.contains("API and Dashboard"), "{state}: {text}");
                }
            }
        }
        let resolved = render(
            default_template(PublicState::Resolved),
            &ctx(PublicState::Resolved, &none),
        )
        .expect("renders");
        assert!(resolved.contains("lasted 45 min"), "{resolved}");
    }

    #[test]
    fn a_template_naming_an_unknown_variable_is_an_error_not_a_hole() {
        let none = BTreeMap::new();
        let err =
            render("Hello {{ custmer }}", &ctx(PublicState::Identified, &none)).expect_err("fails");
        assert!(err.contains("undefined"), "{err}");
        let err = check("{% if %}").expect_err("fails");
        assert!(err.starts_with("line 1"), "{err}");
    }

    #[test]
    fn a_runaway_template_stops() {
        let none = BTreeMap::new();
        let err = render(
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
            &ctx(PublicState::Identified, &none),
        )
        .expect_err("fails");
        assert!(err.contains("fuel"), "{err}");
    }

    #[test]
    fn times_and_durations_read_as_people_write_them() {
        let tz = chrono_tz::America::New_York;
        let now = datetime!(2026-12-02 18:00 UTC);
        assert_eq!(
            time_in(datetime!(2026-12-02 15:30 UTC), tz, now),
            "10:30 EST"
        );
        assert_eq!(
            time_in(datetime!(2026-12-01 15:30 UTC), tz, now),
            "1 Dec 10:30 EST"
        );
        assert_eq!(duration(time::Duration::minutes(125)), "2 h 5 min");
        assert_eq!(duration(time::Duration::minutes(60 * 28)), "1 day 4 h");
        assert_eq!(
            join_names(["A", "B", "C"].into_iter()),
            "A, B and C".to_owned()
        );
    }
}
