//! The on-call schedule over real-world export shapes, malformed calendars, and the HTTP
//! source's caching (ETag, 304, unreachable and malformed feeds keep the last good copy).

mod oncall {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use foghorn_core::config::{Me, OncallConfig};
    use foghorn_core::oncall::{OncallError, OncallService, OncallStatus, ParseOptions, Schedule};
    use foghorn_core::secret::Confidential;
    use foghorn_core::store::Store;
    use proptest::prelude::*;
    use time::macros::datetime;
    use time::OffsetDateTime;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn me() -> Vec<String> {
        vec!["Alice Smith".to_owned(), "alice@example.com".to_owned()]
    }

    /// Reads a fixture around `at`, floating times in UTC so results do not depend on the
    /// machine's zone.
    fn read(name: &str, text: &str, at: OffsetDateTime) -> Schedule {
        let mut opts = ParseOptions::around(at);
        opts.floating = Some(chrono_tz::UTC);
        Schedule::parse_with(text, name, &opts)
            .unwrap_or_else(|e| panic!("{name} should parse: {e}"))
    }

    fn names_at(s: &Schedule, t: OffsetDateTime) -> Vec<String> {
        s.on_call_at(t).iter().flat_map(|sh| sh.names()).collect()
    }

    const PAGERDUTY: &str = include_str!("fixtures/oncall/pagerduty.ics");
    const OPSGENIE: &str = include_str!("fixtures/oncall/opsgenie.ics");
    const GRAFANA: &str = include_str!("fixtures/oncall/grafana-oncall.ics");
    const GOOGLE: &str = include_str!("fixtures/oncall/google.ics");
    const OUTLOOK: &str = include_str!("fixtures/oncall/outlook.ics");
    const ALL_DAY: &str = include_str!("fixtures/oncall/all-day.ics");
    const DST: &str = include_str!("fixtures/oncall/dst.ics");

    /// (fixture, text, reference time, a time, who is on call then, whether it is "me").
    #[allow(clippy::type_complexity)]
    const WHO_IS_ON_CALL: &[(&str, &str, OffsetDateTime, OffsetDateTime, &[&str], bool)] = &[
        // PagerDuty: the name is in the summary.
        (
            "pagerduty",
            PAGERDUTY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 10:00 UTC),
            &["Alice Smith"],
            true,
        ),
        (
            "pagerduty",
            PAGERDUTY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-29 00:00 UTC),
            &["Bob Jones"],
            false,
        ),
        (
            "pagerduty",
            PAGERDUTY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-20 00:00 UTC),
            &[],
            false,
        ),
        // Opsgenie: the person's address is the summary.
        (
            "opsgenie",
            OPSGENIE,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 10:00 UTC),
            &["bob@example.com"],
            false,
        ),
        (
            "opsgenie",
            OPSGENIE,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 23:00 UTC),
            &["alice@example.com"],
            true,
        ),
        // Grafana OnCall: weekdays 10–18 Berlin for alice (CET: 09–17 UTC), bob overnight.
        (
            "grafana",
            GRAFANA,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 09:30 UTC),
            &["alice"],
            true,
        ),
        (
            "grafana",
            GRAFANA,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 17:30 UTC),
            &["bob"],
            false,
        ),
        (
            "grafana",
            GRAFANA,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-28 12:00 UTC),
            &[],
            false,
        ),
        // Google: weekly Thursday rotation from the description; Bob's from his attendee.
        (
            "google",
            GOOGLE,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 10:00 UTC),
            &["Alice Smith"],
            true,
        ),
        (
            "google",
            GOOGLE,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-27 10:00 UTC),
            &["Bob Jones"],
            false,
        ),
        // EXDATE: no Alice on 3 December.
        (
            "google",
            GOOGLE,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-12-03 10:00 UTC),
            &[],
            false,
        ),
        // RECURRENCE-ID: 10 December moved to the 11th (Bob's Friday too).
        (
            "google",
            GOOGLE,
            datetime!(2026-12-05 10:00 UTC),
            datetime!(2026-12-10 10:00 UTC),
            &[],
            false,
        ),
        (
            "google",
            GOOGLE,
            datetime!(2026-12-05 10:00 UTC),
            datetime!(2026-12-11 10:00 UTC),
            &["Alice Smith", "Bob Jones"],
            true,
        ),
        // A cancelled occurrence and a cancelled event.
        (
            "google",
            GOOGLE,
            datetime!(2026-12-05 10:00 UTC),
            datetime!(2026-12-17 10:00 UTC),
            &[],
            false,
        ),
        (
            "google",
            GOOGLE,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-27 12:30 UTC),
            &["Bob Jones"],
            false,
        ),
        // Outlook: a Windows zone name, a quoted CN, every other week.
        (
            "outlook",
            OUTLOOK,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 10:00 UTC),
            &["Smith, Alice"],
            true,
        ),
        (
            "outlook",
            OUTLOOK,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-12-01 10:00 UTC),
            &["Bob Jones"],
            false,
        ),
        (
            "outlook",
            OUTLOOK,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-12-08 10:00 UTC),
            &["Smith, Alice"],
            true,
        ),
        // All-day events: alternate weeks, and a one-day event without DTEND.
        (
            "all-day",
            ALL_DAY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-25 10:00 UTC),
            &["Alice Smith"],
            true,
        ),
        (
            "all-day",
            ALL_DAY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-26 23:59 UTC),
            &["Alice Smith", "Carol Diaz"],
            true,
        ),
        (
            "all-day",
            ALL_DAY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-11-27 00:00 UTC),
            &["Alice Smith"],
            true,
        ),
        (
            "all-day",
            ALL_DAY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-12-02 10:00 UTC),
            &["Bob Jones"],
            false,
        ),
        (
            "all-day",
            ALL_DAY,
            datetime!(2026-11-26 10:00 UTC),
            datetime!(2026-12-09 10:00 UTC),
            &["Alice Smith"],
            true,
        ),
    ];

    #[test]
    fn who_is_on_call_in_real_world_exports() {
        for (i, (name, text, reference, at, expected, mine)) in WHO_IS_ON_CALL.iter().enumerate() {
            let schedule = read(name, text, *reference);
            let got = names_at(&schedule, *at);
            assert_eq!(got, *expected, "row {i} ({name} at {at})");
            let is_me = schedule
                .on_call_at(*at)
                .iter()
                .any(|s| schedule.is_me(s, &me()));
            assert_eq!(is_me, *mine, "row {i} ({name} at {at}): is it me?");
        }
    }

    #[test]
    fn daylight_saving_changes_keep_wall_clock_times() {
        let s = read("dst", DST, datetime!(2026-10-25 12:00 UTC));
        let starts = |who: &str| -> Vec<OffsetDateTime> {
            s.shifts()
                .iter()
                .filter(|sh| sh.names() == [who])
                .map(|sh| sh.start)
                .collect()
        };
        let alice = starts("Alice Smith");
        // 09:00 in Berlin is 07:00 UTC in summer time, 08:00 after 25 October.
        assert!(
            alice.contains(&datetime!(2026-10-24 07:00 UTC)),
            "{alice:?}"
        );
        assert!(
            alice.contains(&datetime!(2026-10-25 08:00 UTC)),
            "{alice:?}"
        );
        assert!(
            alice.contains(&datetime!(2026-10-26 08:00 UTC)),
            "{alice:?}"
        );
        let bob = starts("Bob Jones");
        // 09:00 in New York is 13:00 UTC until 1 November, 14:00 after; UNTIL's day counts.
        assert_eq!(bob.first(), Some(&datetime!(2026-10-28 13:00 UTC)));
        assert!(bob.contains(&datetime!(2026-10-31 13:00 UTC)), "{bob:?}");
        assert!(bob.contains(&datetime!(2026-11-01 14:00 UTC)), "{bob:?}");
        assert_eq!(bob.last(), Some(&datetime!(2026-11-05 14:00 UTC)));
        assert_eq!(bob.len(), 9);
        // Every shift is 8 hours long, on either side of the change.
        for sh in s.shifts() {
            assert_eq!(sh.end - sh.start, time::Duration::hours(8), "{sh:?}");
        }

        // 02:30 does not exist in Berlin on 28 March 2027: it is read as 03:30 CEST.
        let s = read("dst", DST, datetime!(2027-03-27 12:00 UTC));
        let carol: Vec<_> = s
            .shifts()
            .iter()
            .filter(|sh| sh.names() == ["Carol Diaz"])
            .collect();
        assert_eq!(carol.len(), 1);
        assert_eq!(carol[0].start, datetime!(2027-03-28 01:30 UTC));
        assert_eq!(carol[0].end, datetime!(2027-03-28 04:30 UTC));
    }

    #[test]
    fn outlook_custom_zone_uses_its_standard_offset_with_a_warning() {
        let s = read("outlook", OUTLOOK, datetime!(2026-11-26 10:00 UTC));
        let bob = s
            .shifts()
            .iter()
            .find(|sh| sh.names() == ["Bob Jones"])
            .expect("Bob's shift");
        assert_eq!(bob.start, datetime!(2026-11-30 14:00 UTC));
        assert!(
            s.warnings()
                .iter()
                .any(|w| w.contains("Customized Time Zone")),
            "{:?}",
            s.warnings()
        );
        // The Windows name is Europe/Berlin: 09:00 CET is 08:00 UTC.
        assert!(s
            .shifts()
            .iter()
            .any(|sh| sh.start == datetime!(2026-11-23 08:00 UTC)));
    }

    #[test]
    fn until_follows_back_to_back_shifts_and_next_shift_skips_others() {
        let s = read("pagerduty", PAGERDUTY, datetime!(2026-11-26 10:00 UTC));
        let at = datetime!(2026-11-26 10:00 UTC);
        assert_eq!(
            s.on_call_until(&me(), at),
            Some(datetime!(2026-11-28 09:00 UTC))
        );
        let next = s
            .next_shift_for(&me(), datetime!(2026-11-28 09:00 UTC))
            .expect("next");
        assert_eq!(next.start, datetime!(2026-12-01 09:00 UTC));
        let status = OncallStatus::compute(Some(&s), &me(), at, None, source());
        assert!(status.you_are_on_call);
        assert_eq!(status.until, Some(datetime!(2026-11-28 09:00 UTC)));
        assert_eq!(
            status.next_shift.map(|n| n.start),
            Some(datetime!(2026-12-01 09:00 UTC))
        );

        // Bob's view of the same moment.
        let bob = vec!["bob jones".to_owned()];
        let status = OncallStatus::compute(Some(&s), &bob, at, None, source());
        assert!(!status.you_are_on_call);
        assert_eq!(status.on_call_now, ["Alice Smith"]);
        assert_eq!(
            status.next_shift.map(|n| n.start),
            Some(datetime!(2026-11-28 09:00 UTC))
        );
    }

    #[test]
    fn a_manual_override_puts_you_on_call_until_it_ends() {
        let s = read("pagerduty", PAGERDUTY, datetime!(2026-11-26 10:00 UTC));
        let bob = vec!["Bob Jones".to_owned()];
        let at = datetime!(2026-11-26 10:00 UTC);
        let until = datetime!(2026-11-26 18:00 UTC);
        let status = OncallStatus::compute(Some(&s), &bob, at, Some(until), source());
        assert!(status.you_are_on_call);
        assert_eq!(status.until, Some(until));
        assert_eq!(status.override_until, Some(until));
        // Once it is over, it no longer counts.
        let later = OncallStatus::compute(Some(&s), &bob, until, Some(until), source());
        assert!(!later.you_are_on_call);
        assert_eq!(later.override_until, None);
        // Without any schedule, too.
        let none = OncallStatus::compute(None, &bob, at, Some(until), source());
        assert!(none.you_are_on_call);
    }

    const ATTENDEE_WITHOUT_CN: &str = include_str!("fixtures/oncall/attendee-without-cn.ics");

    /// `ATTENDEE:mailto:carol@example.com` with `SUMMARY:Carol Jones` showed only the address.
    #[test]
    fn an_attendee_without_a_name_takes_it_from_the_summary_with_the_address_beside_it() {
        let at = datetime!(2026-11-26 10:00 UTC);
        let s = read("rota", ATTENDEE_WITHOUT_CN, at);
        assert_eq!(names_at(&s, at), ["Carol Jones <carol@example.com>"]);
        assert_eq!(
            names_at(&s, datetime!(2026-11-27 10:00 UTC)),
            [
                "Dan Brown <dbrown@example.com>",
                "Erin Wu <erin.wu@example.com>"
            ]
        );
        // A summary that names nobody in the address is not taken for a name.
        assert_eq!(
            names_at(&s, datetime!(2026-11-28 10:00 UTC)),
            ["frank@example.com"]
        );
        // `[me] names` finds Carol by her name or her address.
        for me in ["Carol Jones", "carol@example.com", " CAROL JONES "] {
            let me = vec![me.to_owned()];
            let status = OncallStatus::compute(Some(&s), &me, at, None, source());
            assert!(status.you_are_on_call, "{me:?}");
            assert_eq!(status.on_call_now, ["Carol Jones <carol@example.com>"]);
            assert!(
                foghorn_core::oncall::names_of_shown(&status.on_call_now[0])
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(me[0].trim())),
                "{me:?} names {:?}",
                status.on_call_now
            );
        }
        let other = vec!["Dan Brown".to_owned()];
        assert!(!OncallStatus::compute(Some(&s), &other, at, None, source()).you_are_on_call);
    }

    fn source() -> foghorn_core::oncall::SourceStatus {
        foghorn_core::oncall::SourceStatus {
            label: "test".to_owned(),
            fetched_at: None,
            age_secs: None,
            stale: false,
            error: None,
        }
    }

    /// (calendar, line named in the error, text the error must contain).
    const MALFORMED: &[(&str, usize, &str)] = &[
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2026-11-26\nEND:VEVENT\nEND:VCALENDAR\n",
            3,
            "DTSTART",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261126T090000Z\nSUMMARY:x\n",
            2,
            "never closed",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Mars/Olympus:20261126T090000\nEND:VEVENT\nEND:VCALENDAR\n",
            3,
            "Mars/Olympus",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261126T090000Z\nRRULE:FREQ=FORTNIGHTLY\nEND:VEVENT\nEND:VCALENDAR\n",
            4,
            "RRULE",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nthis is not a property\nEND:VEVENT\nEND:VCALENDAR\n",
            3,
            "not a property",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261126T090000Z\nEND:VTODO\nEND:VCALENDAR\n",
            4,
            "END:VTODO closes BEGIN:VEVENT of line 2",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261126T090000Z\nDTEND:20261125T090000Z\nEND:VEVENT\nEND:VCALENDAR\n",
            4,
            "ends before it starts",
        ),
        (
            "BEGIN:VCALENDAR\n\nBEGIN:VEVENT\nSUMMARY:no start\nEND:VEVENT\nEND:VCALENDAR\n",
            3,
            "without DTSTART",
        ),
        (
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261126T090000Z\nDURATION:eight hours\nEND:VEVENT\nEND:VCALENDAR\n",
            4,
            "DURATION",
        ),
    ];

    #[test]
    fn malformed_calendars_name_the_line() {
        let opts = ParseOptions::around(datetime!(2026-11-26 10:00 UTC));
        for (i, (text, line, needle)) in MALFORMED.iter().enumerate() {
            let err = Schedule::parse_with(text, "oncall.ics", &opts)
                .expect_err(&format!("row {i} should fail"));
            let message = err.to_string();
            match &err {
                OncallError::Invalid { line: l, .. } => assert_eq!(l, line, "row {i}: {message}"),
                other => panic!("row {i}: expected a line, got {other:?}"),
            }
            assert!(
                message.starts_with(&format!("oncall.ics:{line}: ")),
                "row {i}: {message}"
            );
            assert!(message.contains(needle), "row {i}: {message}");
        }
    }

    #[test]
    fn not_a_calendar_says_so() {
        let opts = ParseOptions::around(datetime!(2026-11-26 10:00 UTC));
        for text in ["", "<html><body>Sign in</body></html>", "{\"oncalls\": []}"] {
            let err = Schedule::parse_with(text, "feed", &opts).expect_err("not a calendar");
            assert!(matches!(err, OncallError::NotCalendar { .. }), "{err:?}");
            assert!(err.to_string().contains("not an iCalendar file"), "{err}");
        }
    }

    const VOCABULARY: &[&str] = &[
        "BEGIN:VCALENDAR",
        "END:VCALENDAR",
        "BEGIN:VEVENT",
        "END:VEVENT",
        "BEGIN:VTIMEZONE",
        "END:VTIMEZONE",
        "BEGIN:STANDARD",
        "END:STANDARD",
        "TZID:Customized",
        "TZOFFSETTO:+0130",
        "TZOFFSETTO:-9999",
        "DTSTART:20261126T090000Z",
        "DTSTART;VALUE=DATE:20261126",
        "DTSTART;TZID=Europe/Berlin:20261025T023000",
        "DTSTART;TZID=Customized:20261126T090000",
        "DTSTART:99991231T235959",
        "DTSTART:00000101",
        "DTEND:20261127T090000Z",
        "DTEND;VALUE=DATE:20261125",
        "DURATION:P1W",
        "DURATION:-PT1H",
        "DURATION:P99999999999W",
        "RRULE:FREQ=DAILY",
        "RRULE:FREQ=MINUTELY;INTERVAL=1",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20261201",
        "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "RRULE:FREQ=DAILY;COUNT=0",
        "RRULE:",
        "EXDATE:20261127T090000Z,20261128T090000Z",
        "RDATE;VALUE=PERIOD:20261126T090000Z/PT1H",
        "RDATE:20261129T090000Z",
        "RECURRENCE-ID:20261127T090000Z",
        "UID:a",
        "STATUS:CANCELLED",
        "SUMMARY:On Call - Alice Smith - Primary",
        "SUMMARY:[L1] bob\\, carol",
        "ATTENDEE;CN=\"Smith, Alice\":mailto:alice@example.com",
        "ATTENDEE;CN=\"unterminated:mailto:x",
        "DESCRIPTION:On call: Bob",
        " folded continuation",
        ";=:",
        ":",
        "X-WR-TIMEZONE:America/New_York",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = Schedule::parse_with(&text, "x", &ParseOptions::around(datetime!(2026-11-26 10:00 UTC)));
        }

        #[test]
        fn garbled_calendars_never_panic(
            lines in proptest::collection::vec(0..VOCABULARY.len(), 0..40),
            cut in 0usize..2000,
            crlf in any::<bool>(),
        ) {
            let mut text: String = lines
                .iter()
                .map(|i| VOCABULARY[*i])
                .collect::<Vec<_>>()
                .join(if crlf { "\r\n" } else { "\n" });
            text = format!("BEGIN:VCALENDAR\n{text}");
            let cut = cut.min(text.len());
            let cut = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            let opts = ParseOptions::around(datetime!(2026-11-26 10:00 UTC));
            let _ = Schedule::parse_with(&text, "x", &opts);
            let _ = Schedule::parse_with(&text[..cut], "x", &opts);
        }
    }

    /// A calendar feed on 127.0.0.1 with an ETag: 304 when asked with the current one.
    struct Feed {
        url: String,
        body: Arc<Mutex<(String, String)>>,
        requests: Arc<AtomicUsize>,
        conditional: Arc<AtomicUsize>,
        task: tokio::task::JoinHandle<()>,
    }

    async fn feed(body: &str, etag: &str) -> Feed {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body = Arc::new(Mutex::new((body.to_owned(), etag.to_owned())));
        let requests = Arc::new(AtomicUsize::new(0));
        let conditional = Arc::new(AtomicUsize::new(0));
        let (b, r, c) = (body.clone(), requests.clone(), conditional.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let (b, r, c) = (b.clone(), r.clone(), c.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let request = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                    r.fetch_add(1, Ordering::SeqCst);
                    let (body, etag) = b.lock().expect("lock").clone();
                    let reply = if request
                        .contains(&format!("if-none-match: {}", etag.to_ascii_lowercase()))
                    {
                        c.fetch_add(1, Ordering::SeqCst);
                        format!("HTTP/1.1 304 Not Modified\r\netag: {etag}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    } else {
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/calendar\r\netag: {etag}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    let _ = s.write_all(reply.as_bytes()).await;
                });
            }
        });
        Feed {
            url: format!("http://{addr}/oncall.ics?token=secret"),
            body,
            requests,
            conditional,
            task,
        }
    }

    /// Alice every day, from 2020 on: on call whenever the test runs.
    const ALWAYS_ALICE: &str = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20200101T000000Z\r\nDTEND:20200102T000000Z\r\nRRULE:FREQ=DAILY\r\nSUMMARY:On Call - Alice Smith - Primary\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[tokio::test]
    async fn the_feed_is_cached_with_etag_and_the_last_good_copy_survives_failures() {
        let feed = feed(ALWAYS_ALICE, "\"v1\"").await;
        let store = Store::in_memory().expect("store");
        let config = OncallConfig {
            refresh: std::time::Duration::from_secs(300),
            ..OncallConfig::calendar(Confidential::Clear(feed.url.clone()))
        };
        let me = Me { names: me() };
        let service = OncallService::new(Some(config.clone()), &[], me.clone(), store.clone());
        let mut changes = service.subscribe();
        service.refresh().await;
        let status = service.status(OffsetDateTime::now_utc());
        assert!(status.you_are_on_call, "{status:?}");
        assert_eq!(status.on_call_now, ["Alice Smith"]);
        assert!(
            !status.source.stale && status.source.error.is_none(),
            "{status:?}"
        );
        assert!(
            !status.source.label.contains("secret"),
            "{}",
            status.source.label
        );
        assert!(changes.has_changed().expect("sender alive"));
        assert!(changes.borrow_and_update().you_are_on_call);

        // Unchanged: the server is asked with the ETag and answers 304; the copy stays.
        service.refresh().await;
        assert_eq!(feed.requests.load(Ordering::SeqCst), 2);
        assert_eq!(feed.conditional.load(Ordering::SeqCst), 1);
        assert!(service.status(OffsetDateTime::now_utc()).you_are_on_call);

        // A malformed new copy: the error names the line, the last good copy is kept.
        *feed.body.lock().expect("lock") = (
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:tomorrow\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_owned(),
            "\"v2\"".to_owned(),
        );
        service.refresh().await;
        let err = service.last_error().expect("an error");
        assert!(err.is_malformed(), "{err:?}");
        let status = service.status(OffsetDateTime::now_utc());
        assert!(
            status.you_are_on_call,
            "the last good copy is kept: {status:?}"
        );
        assert!(status.source.stale);
        let message = status.source.error.clone().expect("error shown");
        assert!(message.contains(":3: DTSTART"), "{message}");
        assert!(status.source.fetched_at.is_some() && status.source.age_secs.is_some());

        // Unreachable: still the last good copy, with its age.
        feed.task.abort();
        let _ = feed.task.await;
        service.refresh().await;
        let status = service.status(OffsetDateTime::now_utc() + time::Duration::minutes(10));
        assert!(status.you_are_on_call, "{status:?}");
        assert!(status.source.stale);
        assert!(
            status
                .source
                .error
                .as_deref()
                .is_some_and(|e| e.contains("unreachable")),
            "{status:?}"
        );
        assert!(status.source.age_secs.is_some());

        // Another run starts from the copy kept in the database.
        let again = OncallService::new(Some(config), &[], me, store.clone());
        assert!(again.has_schedule());
        assert!(again.status(OffsetDateTime::now_utc()).you_are_on_call);

        // The manual override, read back through the store.
        let until = OffsetDateTime::now_utc() + time::Duration::hours(2);
        let bob = OncallService::new(
            Some(OncallConfig {
                refresh: std::time::Duration::from_secs(300),
                ..OncallConfig::calendar(Confidential::Clear(feed.url.clone()))
            }),
            &[],
            Me {
                names: vec!["Bob Jones".to_owned()],
            },
            store.clone(),
        );
        assert!(!bob.status(OffsetDateTime::now_utc()).you_are_on_call);
        bob.set_override(Some(until)).await.expect("override");
        assert_eq!(
            store.oncall_override().expect("read"),
            Some(
                until
                    .replace_nanosecond(until.nanosecond() / 1_000_000 * 1_000_000)
                    .expect("ms")
            )
        );
        let status = bob.status(OffsetDateTime::now_utc());
        assert!(
            status.you_are_on_call && status.override_until.is_some(),
            "{status:?}"
        );
        bob.set_override(None).await.expect("clear");
        assert!(!bob.status(OffsetDateTime::now_utc()).you_are_on_call);
    }

    #[tokio::test]
    async fn a_missing_file_is_an_error_without_a_schedule() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("missing.ics");
        let service = OncallService::new(
            Some(OncallConfig {
                refresh: std::time::Duration::from_secs(300),
                ..OncallConfig::calendar(Confidential::Clear(path.display().to_string()))
            }),
            &[],
            Me { names: me() },
            Store::in_memory().expect("store"),
        );
        service.refresh().await;
        let status = service.status(OffsetDateTime::now_utc());
        assert!(!status.you_are_on_call);
        assert!(status.source.stale);
        assert!(
            status
                .source
                .error
                .as_deref()
                .is_some_and(|e| e.contains("no such file")),
            "{status:?}"
        );
        assert!(!service.has_schedule());
    }
}

/// Calendars that would hold the on-call state for minutes: refused quickly, naming the limit.
mod hostile_calendars {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use foghorn_core::config::{Me, OncallConfig};
    use foghorn_core::oncall::{OncallService, Schedule};
    use foghorn_core::store::Store;
    use time::OffsetDateTime;

    /// Today's date as iCal writes it, so events fall in the window read around now.
    fn today() -> String {
        let d = OffsetDateTime::now_utc().date();
        format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
    }

    fn calendar(events: usize, event: impl Fn(usize) -> String) -> String {
        let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for i in 0..events {
            text.push_str("BEGIN:VEVENT\r\n");
            text.push_str(&event(i));
            text.push_str("END:VEVENT\r\n");
        }
        text.push_str("END:VCALENDAR\r\n");
        text
    }

    fn refused(text: &str) -> (String, Duration) {
        let started = Instant::now();
        let err = Schedule::parse(text, "hostile.ics").expect_err("refused");
        (err.to_string(), started.elapsed())
    }

    #[test]
    fn a_calendar_of_a_million_events_or_endless_rules_is_refused_quickly_naming_the_limit() {
        let day = today();
        let million = calendar(1_000_000, |i| {
            format!("DTSTART:{day}T000000Z\r\nDTEND:{day}T010000Z\r\nSUMMARY:p{i}\r\n")
        });
        let (err, took) = refused(&million);
        assert!(err.contains("more than the 16 MiB"), "{err}");
        assert!(took < Duration::from_secs(5), "{took:?}");

        let many = calendar(60_000, |_| format!("DTSTART:{day}T000000Z\r\n"));
        let (err, took) = refused(&many);
        assert!(err.contains("more than 50000 events"), "{err}");
        assert!(err.starts_with("hostile.ics:"), "names the calendar: {err}");
        // Generous for a debug build on a loaded machine; without the limits this ran for
        // minutes.
        assert!(took < Duration::from_secs(30), "{took:?}");

        let every_second = calendar(20, |i| {
            format!(
                "UID:{i}\r\nDTSTART:{day}T000000Z\r\nDTEND:{day}T000001Z\r\nRRULE:FREQ=SECONDLY;COUNT=4000000000\r\nSUMMARY:Alice Smith\r\n"
            )
        });
        let (err, took) = refused(&every_second);
        assert!(err.contains("more than 1000000 occurrences"), "{err}");
        assert!(err.contains("RRULE") || err.contains("VEVENT"), "{err}");
        assert!(took < Duration::from_secs(60), "{took:?}");
    }

    /// The refresh parsed the calendar while holding the service's lock: the tray, the window
    /// and the ladder, all asking `status()`, waited for the whole parse.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_on_call_status_answers_while_a_large_calendar_is_parsed() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("big.ics");
        let day = today();
        // About 3 MiB, inside every limit, and still long to parse: the lock held meanwhile
        // was the defect.
        let big = calendar(10_000, |i| {
            let mut e = format!(
                "UID:{i}\r\nDTSTART:{day}T000000Z\r\nDTEND:{day}T235900Z\r\nSUMMARY:Shift {i}\r\n"
            );
            for p in 0..6 {
                e.push_str(&format!("ATTENDEE;CN=P{p}:mailto:p{p}@example.com\r\n"));
            }
            e
        });
        std::fs::write(&path, big).expect("write");
        let service = Arc::new(OncallService::new(
            Some(OncallConfig {
                refresh: Duration::from_secs(300),
                ..OncallConfig::calendar(foghorn_core::secret::Confidential::Clear(
                    path.display().to_string(),
                ))
            }),
            &[],
            Me {
                names: vec!["Alice Smith".to_owned()],
            },
            Store::in_memory().expect("store"),
        ));
        let done = Arc::new(AtomicBool::new(false));
        let asking = std::thread::spawn({
            let (service, done) = (Arc::clone(&service), Arc::clone(&done));
            move || {
                let (mut slowest, mut answers) = (Duration::ZERO, 0u32);
                while !done.load(Ordering::SeqCst) {
                    let asked = Instant::now();
                    let _ = service.status(OffsetDateTime::now_utc());
                    slowest = slowest.max(asked.elapsed());
                    answers += 1;
                }
                (slowest, answers)
            }
        });
        let started = Instant::now();
        service.refresh().await;
        let took = started.elapsed();
        done.store(true, Ordering::SeqCst);
        let (slowest, answers) = asking.join().expect("asker");
        assert!(service.has_schedule(), "{:?}", service.last_error());
        assert!(
            took > Duration::from_millis(200),
            "the calendar must take a while to parse for this test to mean anything: {took:?}"
        );
        assert!(
            slowest < took / 4,
            "status() waited {slowest:?} while the refresh took {took:?} ({answers} answers)"
        );
    }
}
