//! What a letter's `sla:` month gives each customer: the credit their plan's SLA owes them and
//! the downtime behind it, from the same report as `foghorn sla report --month`, matched to
//! the customer's `plan` column the same way.
//!
//! The figures are measured once per pass over the list and written into each recipient's
//! variables when the ledger is written: a resume reads them back and never measures again,
//! because checks and status updates arriving since (or a month still running) would change
//! what the customers who have not been sent the letter yet read.
//!
//! The variables are text that reads inside a sentence, so a letter needs no arithmetic:
//!
//! - `credit`: "10 % of your monthly fee ($49.90)", "10 % of your monthly fee" when the list
//!   has no `mrr` for the customer, and empty when nothing is owed (the SLA was met, or the
//!   plan has none), so `{% if credit %}…{% endif %}` says it only to those owed one;
//! - `credit_percent`: "10", "12.5", "0"; `credit_amount`: "49.90" (no currency), empty
//!   without an `mrr`;
//! - `downtime`: "2 hours and 5 minutes", "43 minutes", "less than a minute", "0 minutes";
//! - `availability`: "99.72 %", rounded down, so nobody reads a better figure than measured.
//!
//! A customer whose plan has no `[[sla.plans]]` was promised nothing to measure against:
//! their `downtime` and `availability` are empty too (which component would be theirs is not
//! known), `credit_percent` is "0".

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::draft::Draft;
use super::LetterError;
use crate::config::Config;
use crate::sla::report::{self, PlanReport};
use crate::store::Store;

/// The SLA figures of the month a letter speaks about, measured once for the whole list.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaFigures {
    /// `2026-11`, as the letter's `sla:` writes it.
    pub month: String,
    /// "November 2026 (UTC)".
    pub label: String,
    /// The month is not over: it is measured up to now, and a later pass would read other
    /// figures (the ledger keeps the ones the send started with).
    pub running: bool,
    plans: Vec<PlanReport>,
}

impl SlaFigures {
    /// Measures every plan of `[sla]` over `month` (in `[sla] time_zone`), at `now`.
    pub fn measure(
        store: &Store,
        config: &Config,
        month: &str,
        now: OffsetDateTime,
    ) -> Result<Self, LetterError> {
        if config.sla.plans.is_empty() {
            return Err(LetterError::NoSlaPlans(month.to_owned()));
        }
        let sla = |e: report::SlaError| LetterError::Sla {
            month: month.to_owned(),
            message: e.to_string(),
        };
        let (period, label) = report::month(month, report::zone(config)).map_err(sla)?;
        let r = report::report(store, config, period, label.clone(), now, None).map_err(sla)?;
        let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
        Ok(SlaFigures {
            month: month.to_owned(),
            label,
            running: now_ms < period.to,
            plans: r.plans,
        })
    }

    /// The figures `draft`'s `sla:` month asks for, measured now; `None` without a month.
    /// Without a configuration (the window before one is written) there is no `[sla]`.
    pub fn of_draft(
        draft: &Draft,
        store: &Store,
        config: Option<&Config>,
    ) -> Result<Option<Self>, LetterError> {
        let Some(month) = &draft.sla_month else {
            return Ok(None);
        };
        let empty = Config::default();
        let config = config.unwrap_or(&empty);
        SlaFigures::measure(store, config, month, OffsetDateTime::now_utc()).map(Some)
    }

    /// A customer's row with the SLA variables added (they replace list columns of the same
    /// name: a letter naming its month asks for the measured figures).
    pub fn fill(&self, vars: &mut BTreeMap<String, String>) {
        let plan = vars.get("plan").map_or("", String::as_str);
        let mrr_text = vars.get("mrr").cloned().unwrap_or_default();
        for (name, value) in variables(report::plan_of(&self.plans, plan), &mrr_text) {
            vars.insert(name.to_owned(), value);
        }
    }

    /// Whether the customer of this row is owed a credit.
    pub fn owes(&self, vars: &BTreeMap<String, String>) -> bool {
        let plan = vars.get("plan").map_or("", String::as_str);
        report::plan_of(&self.plans, plan).is_some_and(|p| p.credit > 0.0)
    }
}

/// The SLA variables of a customer on `plan` (`None`: a plan without a guarantee) whose list
/// row says `mrr_text`.
fn variables(plan: Option<&PlanReport>, mrr_text: &str) -> [(&'static str, String); 5] {
    let Some(plan) = plan else {
        return [
            ("credit", String::new()),
            ("credit_percent", "0".to_owned()),
            ("credit_amount", String::new()),
            ("downtime", String::new()),
            ("availability", String::new()),
        ];
    };
    let mrr = report::amount(mrr_text);
    let amount = mrr.map(|m| report::credit_amount(m, plan.credit));
    let credit = match (plan.credit > 0.0, amount) {
        (false, _) => String::new(),
        (true, Some(a)) => format!(
            "{} % of your monthly fee ({})",
            plan.credit,
            money(mrr_text, a)
        ),
        (true, None) => format!("{} % of your monthly fee", plan.credit),
    };
    [
        ("credit", credit),
        ("credit_percent", plan.credit.to_string()),
        (
            "credit_amount",
            amount.map(|a| format!("{a:.2}")).unwrap_or_default(),
        ),
        ("downtime", downtime_words(plan.downtime_ms())),
        ("availability", availability_text(plan.availability)),
    ]
}

/// `value` written with the currency the list's `mrr` was written with: "$1,200" gives
/// "$120.00", "49 EUR" gives "4.90 EUR", a bare number gives a bare number.
fn money(written: &str, value: f64) -> String {
    let t = written.trim();
    let first = t.find(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    let last = t.rfind(|c: char| c.is_ascii_digit());
    let (before, after) = match (first, last) {
        (Some(f), Some(l)) if f <= l => (&t[..f], &t[l + 1..]),
        _ => ("", ""),
    };
    format!("{before}{value:.2}{after}")
}

/// "99.72 %": two decimals rounded down (99.999 is not "100.00 %" while anything was down).
fn availability_text(percent: f64) -> String {
    if percent >= 100.0 {
        return "100 %".to_owned();
    }
    let floored = ((percent * 100.0) + 1e-9).floor() / 100.0;
    format!("{floored:.2} %")
}

/// A duration in words a letter can say: the two largest units, to the minute.
fn downtime_words(ms: f64) -> String {
    if ms <= 0.0 {
        return "0 minutes".to_owned();
    }
    let minutes = (ms / 60_000.0).round() as i64;
    if minutes == 0 {
        return "less than a minute".to_owned();
    }
    let unit = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let parts: Vec<String> = [(days, "day"), (hours, "hour"), (mins, "minute")]
        .into_iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, one)| unit(n, one))
        .collect();
    parts.join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::report::ComponentReport;
    use crate::sla::Measured;

    const MIN: f64 = 60_000.0;

    fn plan(name: &str, availability: f64, downtime_min: f64, credit: f64) -> PlanReport {
        let measured = Measured {
            period_ms: 30 * 24 * 60 * 60_000,
            excluded_ms: 0,
            unknown_ms: 0,
            downtime_ms: downtime_min * MIN,
            allowed_ms: 43.2 * MIN,
            availability,
            breached: credit > 0.0,
        };
        PlanReport {
            plan: name.to_owned(),
            target: 99.9,
            components: vec![ComponentReport {
                name: "API".into(),
                measured,
                incidents: Vec::new(),
                days: Vec::new(),
            }],
            availability,
            breached: credit > 0.0,
            credit,
            days: Vec::new(),
        }
    }

    fn figures() -> SlaFigures {
        SlaFigures {
            month: "2026-09".into(),
            label: "September 2026 (UTC)".into(),
            running: false,
            plans: vec![
                plan("Enterprise", 99.7222, 120.0, 10.0),
                plan("Business", 98.0, 864.0, 25.0),
                plan("Pro", 99.95, 21.6, 0.0),
            ],
        }
    }

    fn filled(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut vars: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        figures().fill(&mut vars);
        vars
    }

    fn sla_of(vars: &BTreeMap<String, String>) -> [&str; 5] {
        [
            "credit",
            "credit_percent",
            "credit_amount",
            "downtime",
            "availability",
        ]
        .map(|k| vars.get(k).map_or("(missing)", String::as_str))
    }

    #[test]
    fn each_customer_reads_the_credit_of_their_plan_s_tier_and_their_fee() {
        // (the row's plan and mrr, the five variables it gets)
        type Case<'a> = (&'a [(&'a str, &'a str)], [&'a str; 5]);
        let cases: [Case; 6] = [
            (
                &[("plan", "enterprise"), ("mrr", "$499")],
                [
                    "10 % of your monthly fee ($49.90)",
                    "10",
                    "49.90",
                    "2 hours",
                    "99.72 %",
                ],
            ),
            (
                &[("plan", " Business "), ("mrr", "1,200.00 EUR")],
                [
                    "25 % of your monthly fee (300.00 EUR)",
                    "25",
                    "300.00",
                    "14 hours and 24 minutes",
                    "98.00 %",
                ],
            ),
            // No fee on the list: the percentage only.
            (
                &[("plan", "Enterprise"), ("mrr", "")],
                ["10 % of your monthly fee", "10", "", "2 hours", "99.72 %"],
            ),
            // The SLA was met: nothing owed, the figures still there.
            (
                &[("plan", "pro"), ("mrr", "99")],
                ["", "0", "0.00", "22 minutes", "99.95 %"],
            ),
            // A plan without a guarantee: nothing owed, nothing measured for it.
            (&[("plan", "free"), ("mrr", "0")], ["", "0", "", "", ""]),
            (&[], ["", "0", "", "", ""]),
        ];
        for (row, want) in cases {
            let vars = filled(row);
            assert_eq!(sla_of(&vars), want, "{row:?}");
        }
        let f = figures();
        assert!(f.owes(&filled(&[("plan", "enterprise")])));
        assert!(!f.owes(&filled(&[("plan", "pro")])));
        assert!(!f.owes(&filled(&[("plan", "free")])));
    }

    #[test]
    fn a_list_column_of_the_same_name_gives_way_to_the_measured_figure() {
        let vars = filled(&[("plan", "Enterprise"), ("credit", "a fortune")]);
        assert_eq!(vars["credit"], "10 % of your monthly fee");
    }

    #[test]
    fn durations_and_availability_read_as_words() {
        for (minutes, want) in [
            (0.0, "0 minutes"),
            (0.2, "less than a minute"),
            (1.0, "1 minute"),
            (43.2, "43 minutes"),
            (60.0, "1 hour"),
            (125.0, "2 hours and 5 minutes"),
            (1440.0 + 180.0 + 7.0, "1 day and 3 hours"),
            (2.0 * 1440.0 + 5.0, "2 days"),
        ] {
            assert_eq!(downtime_words(minutes * MIN), want, "{minutes}");
        }
        for (percent, want) in [
            (100.0, "100 %"),
            (99.999, "99.99 %"),
            (99.9, "99.90 %"),
            (98.0, "98.00 %"),
            (0.0, "0.00 %"),
        ] {
            assert_eq!(availability_text(percent), want, "{percent}");
        }
        assert_eq!(money("€ 49", 4.9), "€ 4.90");
        assert_eq!(money("1,200", 120.0), "120.00");
    }

    #[test]
    fn a_letter_using_the_credit_without_a_month_is_refused_saying_to_name_it() {
        let draft =
            Draft::parse("---\nsubject: Hi\n---\nYou are owed {{ credit }}.\n").expect("parses");
        let err = draft
            .check_columns(&["email".to_owned(), "plan".to_owned()])
            .expect_err("no month");
        assert!(
            err.to_string().contains("{{ credit }}") && err.to_string().contains("`sla: 2026-11`"),
            "{err}"
        );
        let with_month = Draft::parse(
            "---\nsubject: Hi\nsla: 2026-9\n---\nYou are owed {{ credit }} for {{ downtime }}.\n",
        )
        .expect("parses");
        assert_eq!(with_month.sla_month.as_deref(), Some("2026-09"));
        with_month
            .check_columns(&["email".to_owned()])
            .expect("the month gives the variables");
        assert!(with_month.to_source().contains("\nsla: 2026-09\n"));
        let bad = Draft::parse("---\nsubject: Hi\nsla: September\n---\nHi\n").expect_err("bad");
        assert!(
            bad.to_string()
                .starts_with("line 3: the SLA month \"September\" is not a month"),
            "{bad}"
        );
    }

    #[tokio::test]
    async fn the_ledger_keeps_the_figures_it_was_written_with_and_another_month_is_another_letter()
    {
        use crate::letter::ledger::{self, letter_key};
        use crate::letter::recipients::{self, Filter};
        use crate::store::{LetterVia, NewLetter};

        let store = Store::in_memory().expect("store");
        let mut list = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut list, b"email,plan,mrr\nada@x.test,enterprise,$499\n")
            .expect("write");
        let draft = Draft::parse("---\nsubject: Hi\nsla: 2026-09\n---\nOwed: {{ credit }}\n")
            .expect("parses");
        let digest = ledger::file_digest(list.path()).expect("digest");
        let key = letter_key(&draft, &digest, &Filter::default());
        let prepare = |sla: SlaFigures| {
            let letter = NewLetter {
                key: key.clone(),
                source: draft.to_source(),
                subject: draft.subject.clone(),
                list_name: "customers.csv".into(),
                sender: "ceo@acme.test".into(),
                via: LetterVia::Email,
                incident_id: None,
            };
            let (store, draft) = (store.clone(), draft.clone());
            let rows = recipients::open(list.path()).expect("list");
            async move {
                ledger::prepare(
                    &store,
                    letter,
                    &draft,
                    "acme.test",
                    rows,
                    &Filter::default(),
                    Some(&sla),
                )
                .await
                .expect("prepared")
            }
        };
        let first = prepare(figures()).await;
        // The month recounted worse before the resume: the ledger keeps what it was written with.
        let mut worse = figures();
        worse.plans[0] = plan("Enterprise", 98.0, 864.0, 25.0);
        let again = prepare(worse).await;
        assert!(first.created && !again.created);
        assert_eq!(again.letter_id, first.letter_id);
        let vars: BTreeMap<String, String> = serde_json::from_str(
            &store
                .recipient_vars(first.letter_id, "ada@x.test")
                .expect("reads")
                .expect("a row"),
        )
        .expect("json");
        assert_eq!(vars["credit"], "10 % of your monthly fee ($49.90)");
        assert_eq!(store.letter_owed(first.letter_id).expect("owed"), 1);

        let august = draft.clone().with_sla_month("2026-08").expect("month");
        assert_ne!(letter_key(&august, &digest, &Filter::default()), key);
    }

    #[test]
    fn without_plans_a_month_is_refused_rather_than_owing_everyone_nothing() {
        let store = Store::in_memory().expect("store");
        let err = SlaFigures::measure(
            &store,
            &Config::default(),
            "2026-09",
            OffsetDateTime::now_utc(),
        )
        .expect_err("no plans");
        assert!(err.to_string().contains("[[sla.plans]]"), "{err}");
    }
}
