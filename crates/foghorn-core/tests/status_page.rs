//! The self-hosted status page as a customer's tools see it: the JSON files against schemas
//! written from Statuspage's public API documentation, the Atom feed through an independent
//! parser, and the HTML for what it must never contain.

mod status_page {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use foghorn_core::status::page::{self, PageFiles, PageInput};
    use foghorn_core::status::{ComponentStatus, PublicIncident, PublicState, PublicUpdate};
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    const URL: &str = "https://status.acme.example/";

    fn components() -> Vec<String> {
        ["API", "Dashboard", "Webhooks"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    fn update(
        id: i64,
        state: PublicState,
        message: &str,
        components: &[(&str, ComponentStatus)],
        posted_at: OffsetDateTime,
    ) -> PublicUpdate {
        PublicUpdate {
            id,
            state,
            message: message.to_owned(),
            components: statuses(components),
            posted_at,
            next_update_at: None,
            author: "Alice Smith".to_owned(),
        }
    }

    fn statuses(components: &[(&str, ComponentStatus)]) -> BTreeMap<String, ComponentStatus> {
        components
            .iter()
            .map(|(name, status)| ((*name).to_owned(), *status))
            .collect()
    }

    /// One open incident with three updates, one resolved incident, one scheduled maintenance;
    /// newest first.
    fn incidents() -> Vec<PublicIncident> {
        use ComponentStatus::*;
        let t = datetime!(2026-12-02 12:00 UTC);
        let open = PublicIncident {
            id: 42,
            incident_id: Some(7),
            title: "API errors".to_owned(),
            state: PublicState::Monitoring,
            components: statuses(&[("API", DegradedPerformance)]),
            created_at: t,
            updated_at: t + Duration::minutes(50),
            resolved_at: None,
            next_update_at: Some(t + Duration::minutes(80)),
            updates: vec![
                update(
                    101,
                    PublicState::Investigating,
                    "We are investigating errors on the API.",
                    &[("API", PartialOutage)],
                    t,
                ),
                update(
                    102,
                    PublicState::Identified,
                    "A failed database node is the cause.\nWe are failing over.",
                    &[("API", MajorOutage)],
                    t + Duration::minutes(20),
                ),
                update(
                    103,
                    PublicState::Monitoring,
                    "Errors have stopped.\n\nSome requests are still slow while caches warm.",
                    &[("API", DegradedPerformance)],
                    t + Duration::minutes(50),
                ),
            ],
        };
        let maintenance = PublicIncident {
            id: 43,
            incident_id: None,
            title: "Database upgrade".to_owned(),
            state: PublicState::Scheduled,
            components: BTreeMap::new(),
            created_at: t - Duration::hours(2),
            updated_at: t - Duration::hours(2),
            resolved_at: None,
            next_update_at: None,
            updates: vec![update(
                104,
                PublicState::Scheduled,
                "The dashboard will be read-only on Saturday 06:00–07:00 CET.",
                &[],
                t - Duration::hours(2),
            )],
        };
        let resolved_at = t - Duration::days(1) + Duration::minutes(45);
        let resolved = PublicIncident {
            id: 41,
            incident_id: Some(6),
            title: "Delayed webhooks".to_owned(),
            state: PublicState::Resolved,
            components: statuses(&[("Webhooks", Operational)]),
            created_at: t - Duration::days(1),
            updated_at: resolved_at,
            resolved_at: Some(resolved_at),
            next_update_at: None,
            updates: vec![
                update(
                    99,
                    PublicState::Investigating,
                    "Webhooks are delivered late.",
                    &[("Webhooks", DegradedPerformance)],
                    t - Duration::days(1),
                ),
                update(
                    100,
                    PublicState::Resolved,
                    "Webhooks are on time again.",
                    &[("Webhooks", Operational)],
                    resolved_at,
                ),
            ],
        };
        vec![open, maintenance, resolved]
    }

    fn input<'a>(components: &'a [String], incidents: &'a [PublicIncident]) -> PageInput<'a> {
        PageInput {
            product: "Acme",
            title: "Acme status",
            url: Some(URL),
            components,
            incidents,
            now: datetime!(2026-12-02 13:00 UTC),
            time_zone: chrono_tz::Europe::Berlin,
        }
    }

    fn schema(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/schemas")
            .join(name)
    }

    fn read_json(path: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{} should be readable: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} should be JSON: {e}", path.display()))
    }

    fn validator(schema_name: &str) -> jsonschema::Validator {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&read_json(&schema(schema_name)))
            .unwrap_or_else(|e| panic!("{schema_name} should be a valid schema: {e}"))
    }

    fn assert_valid(schema_name: &str, document: &Path) {
        let instance = read_json(document);
        let errors: Vec<String> = validator(schema_name)
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} breaks {schema_name}: {errors:#?}\n{instance:#}",
            document.display()
        );
    }

    fn rendered(incidents: &[PublicIncident]) -> PageFiles {
        let components = components();
        page::render(&input(&components, incidents)).expect("the page renders")
    }

    #[test]
    fn written_page_matches_statuspage_schemas_atom_and_static_html() {
        let incidents = incidents();
        let files = rendered(&incidents);
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("public");
        page::write(&out, &files).expect("the page is written");
        // Written twice: replacing existing files works too.
        page::write(&out, &files).expect("the page is written again");

        // summary.json and status.json: Statuspage's shapes.
        let summary_path = out.join("api/v2/summary.json");
        let status_path = out.join("api/v2/status.json");
        assert_valid("statuspage-summary.schema.json", &summary_path);
        assert_valid("statuspage-status.schema.json", &status_path);
        let summary = read_json(&summary_path);
        assert_eq!(summary["status"]["indicator"], "minor");
        assert_eq!(
            summary["status"]["description"],
            "Partially Degraded Service"
        );
        assert_eq!(summary["page"]["url"], URL);
        assert_eq!(summary["page"]["time_zone"], "Europe/Berlin");
        let components: Vec<(&str, &str)> = summary["components"]
            .as_array()
            .expect("components")
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap_or_default(),
                    c["status"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            components,
            [
                ("api", "degraded_performance"),
                ("dashboard", "operational"),
                ("webhooks", "operational")
            ]
        );
        let open = summary["incidents"].as_array().expect("incidents");
        assert_eq!(open.len(), 1, "only unresolved incidents: {open:#?}");
        assert_eq!(open[0]["id"], "42");
        assert_eq!(open[0]["impact"], "critical");
        assert_eq!(open[0]["shortlink"], format!("{URL}#incident-42"));
        let updates: Vec<&str> = open[0]["incident_updates"]
            .as_array()
            .expect("updates")
            .iter()
            .map(|u| u["status"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(updates, ["monitoring", "identified", "investigating"]);
        let affected = &open[0]["incident_updates"][1]["affected_components"][0];
        assert_eq!(affected["code"], "api");
        assert_eq!(affected["old_status"], "partial_outage");
        assert_eq!(affected["new_status"], "major_outage");
        let maintenances = summary["scheduled_maintenances"]
            .as_array()
            .expect("maintenances");
        assert_eq!(maintenances.len(), 1);
        assert_eq!(maintenances[0]["status"], "scheduled");
        // The schema bites: a renamed field or an unknown indicator is caught.
        let mut renamed = summary.clone();
        renamed["incidents"][0]["incident_updates"][0]["display_at"] = serde_json::Value::Null;
        renamed["incidents"][0]["incident_updates"][0]
            .as_object_mut()
            .and_then(|u| u.remove("body"));
        renamed["status"]["indicator"] = "down".into();
        let caught = validator("statuspage-summary.schema.json")
            .iter_errors(&renamed)
            .count();
        assert_eq!(caught, 3, "{renamed:#}");
        let status = read_json(&status_path);
        assert_eq!(status["status"], summary["status"]);
        assert_eq!(status["page"], summary["page"]);

        // history.atom: one entry per update, newest first, read by an independent parser.
        let atom = std::fs::read(out.join("history.atom")).expect("history.atom");
        let feed = feed_rs::parser::parse(atom.as_slice()).expect("history.atom parses");
        assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
        let titles: Vec<String> = feed
            .entries
            .iter()
            .map(|e| {
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            titles,
            [
                "[Monitoring] API errors",
                "[Identified] API errors",
                "[Investigating] API errors",
                "[Scheduled] Database upgrade",
                "[Resolved] Delayed webhooks",
                "[Investigating] Delayed webhooks",
            ]
        );
        let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert!(ids.iter().all(|id| id.starts_with("urn:uuid:")), "{ids:?}");
        let again = page::render(&input(&self::components(), &incidents)).expect("renders");
        assert_eq!(
            again.history_atom, files.history_atom,
            "ids and text are stable"
        );
        assert_eq!(
            feed.entries[0].links[0].href,
            format!("{URL}#incident-42"),
            "entries link to the page"
        );

        // index.html: static, self-contained, the feed announced.
        let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
        assert!(
            html.contains(
                r#"<link rel="alternate" type="application/atom+xml" href="history.atom""#
            ),
            "{html}"
        );
        assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
        // Attribute values are entity-escaped (`/` as `&#x2f;`): decode before looking for URLs.
        let decoded = html.replace("&#x2f;", "/");
        for scheme in ["http://", "https://"] {
            for (at, _) in decoded.match_indices(scheme) {
                assert!(
                    decoded[at..].starts_with(URL),
                    "a URL other than the page's: {}",
                    &decoded[at..(at + 60).min(decoded.len())]
                );
            }
        }
        assert!(decoded.contains("Next update by"), "{html}");
        assert!(decoded.contains("Database upgrade"));
        assert!(decoded.contains("Delayed webhooks"));

        // Nothing but the four files: no temporary file left behind.
        let mut names: Vec<String> = walk(&out)
            .into_iter()
            .map(|p| {
                p.strip_prefix(&out)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "api/v2/status.json",
                "api/v2/summary.json",
                "history.atom",
                "index.html"
            ]
        );
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn page_renders_a_thousand_past_updates() {
        let start = datetime!(2025-01-01 00:00 UTC);
        let incidents: Vec<PublicIncident> = (0..200)
            .rev()
            .map(|n: i64| {
                let created_at = start + Duration::days(n);
                let updates: Vec<PublicUpdate> = (0..5)
                    .map(|k: i64| {
                        let state = if k == 4 {
                            PublicState::Resolved
                        } else {
                            PublicState::Investigating
                        };
                        update(
                            n * 5 + k,
                            state,
                            &format!("Update {k} of incident {n}."),
                            &[("API", ComponentStatus::PartialOutage)],
                            created_at + Duration::minutes(10 * k),
                        )
                    })
                    .collect();
                let resolved_at = created_at + Duration::minutes(40);
                PublicIncident {
                    id: n,
                    incident_id: None,
                    title: format!("Incident {n}"),
                    state: PublicState::Resolved,
                    components: statuses(&[("API", ComponentStatus::Operational)]),
                    created_at,
                    updated_at: resolved_at,
                    resolved_at: Some(resolved_at),
                    next_update_at: None,
                    updates,
                }
            })
            .collect();
        assert_eq!(
            incidents.iter().map(|i| i.updates.len()).sum::<usize>(),
            1000
        );
        let files = rendered(&incidents);
        assert_eq!(
            files.index_html.matches("<article ").count(),
            page::PAST_INCIDENTS,
            "the newest past incidents only"
        );
        assert!(files.index_html.contains("Incident 199"));
        assert!(!files.index_html.contains("Incident 149<"));
        let feed = feed_rs::parser::parse(files.history_atom.as_bytes()).expect("feed parses");
        assert_eq!(feed.entries.len(), page::FEED_ENTRIES);
        let summary: serde_json::Value =
            serde_json::from_str(&files.summary_json).expect("summary is JSON");
        assert_eq!(summary["status"]["indicator"], "none");
        assert_eq!(summary["incidents"], serde_json::json!([]));
    }
}
