//! `gatus_to_toml` against a realistic Gatus file and against one edge case at a time. Every
//! output is loaded with Foghorn's own configuration parser: what a user gets must load.

use std::path::Path;
use std::time::Duration;

use super::{gatus_to_toml, Import, ImportError};
use crate::config::{Config, FollowRedirects, MonitorConfig};

const FIXTURE: &str = include_str!("testdata/gatus.yaml");

fn import(yaml: &str) -> Import {
    gatus_to_toml(yaml, Path::new("gatus.yaml")).expect("converts")
}

/// Converts and loads, failing with the TOML in the message when Foghorn refuses it.
fn load(yaml: &str) -> (Import, Config) {
    let out = import(yaml);
    let config = Config::parse(&out.toml, Path::new("imported.toml"))
        .unwrap_or_else(|e| panic!("{e}\n--- output ---\n{}", out.toml));
    (out, config)
}

fn monitor<'a>(config: &'a Config, name: &str) -> &'a MonitorConfig {
    config
        .monitors
        .iter()
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no monitor {name:?}"))
}

fn conditions(m: &MonitorConfig) -> Vec<&str> {
    m.conditions.iter().map(|c| c.as_str()).collect()
}

fn has_warning(out: &Import, parts: &[&str]) -> bool {
    out.warnings
        .iter()
        .any(|w| parts.iter().all(|p| w.contains(p)))
}

#[test]
fn the_fixture_converts_to_monitors_that_load() {
    let (out, config) = load(FIXTURE);
    let names: Vec<&str> = config.monitors.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "website",
            "core/api",
            "eu/api",
            "dns",
            "postgres",
            "graphql",
            "oauth-protected",
            "nightly-backup"
        ]
    );
    assert_eq!((out.converted, out.commented_out), (8, 2));

    // Merged in from a YAML anchor: group, interval and client timeout.
    let website = monitor(&config, "website");
    assert_eq!(website.group.as_deref(), Some("core"));
    assert_eq!(website.interval, Duration::from_secs(300));
    assert_eq!(website.timeout, Duration::from_secs(5));
    assert_eq!(
        conditions(website),
        [
            "[STATUS] == 200",
            "[RESPONSE_TIME] < 800",
            "[CERTIFICATE_EXPIRATION] > 240h"
        ]
    );
    assert_eq!(
        (website.failure_threshold, website.success_threshold),
        (2, 1),
        "no alerts: Foghorn's defaults"
    );

    let api = monitor(&config, "core/api");
    assert_eq!(api.group.as_deref(), Some("core"));
    assert_eq!(api.url, "https://api.example.org/v1/health");
    assert_eq!(api.method, reqwest::Method::POST);
    assert_eq!(
        api.headers
            .get("Authorization")
            .map(|v| v.as_written())
            .as_deref(),
        Some("env:CORE_API_AUTHORIZATION"),
        "a credential is read from the environment, never written in clear"
    );
    assert_eq!(
        api.headers
            .get("X-Request-Source")
            .map(|v| v.as_written())
            .as_deref(),
        Some("gatus")
    );
    assert_eq!(
        api.body.as_deref(),
        Some(r#"{"check": "api", "price": "$5"}"#),
        "[ENDPOINT_NAME] filled in and $$ read as $, as Gatus does"
    );
    assert_eq!(api.interval, Duration::from_secs(30));
    assert_eq!(api.timeout, Duration::from_secs(2));
    assert!(api.insecure);
    assert_eq!(api.follow_redirects, FollowRedirects::None);
    assert_eq!(
        conditions(api),
        [
            "[STATUS] == 200",
            "[BODY].status == UP",
            "len([BODY].items) > 0"
        ]
    );
    assert_eq!(
        (api.failure_threshold, api.success_threshold),
        (5, 3),
        "the largest over the Slack alert (default-alert: 4, Gatus' 2) and PagerDuty's (5, 3)"
    );

    assert_eq!(
        monitor(&config, "eu/api").interval,
        Duration::from_secs(5400)
    );

    let dns = monitor(&config, "dns");
    assert_eq!(dns.url, "dns://8.8.8.8");
    let query = dns.dns.as_ref().expect("a DNS query");
    assert_eq!(
        (query.query_name.as_str(), query.query_type.as_str()),
        ("example.org", "A")
    );
    assert_eq!(
        dns.interval,
        Duration::from_secs(60),
        "Gatus' default interval"
    );

    let postgres = monitor(&config, "postgres");
    assert_eq!(postgres.url, "tcp://db.internal:5432");
    assert_eq!(
        (postgres.failure_threshold, postgres.success_threshold),
        (2, 1),
        "its only alert is disabled"
    );

    let graphql = monitor(&config, "graphql");
    assert_eq!(
        graphql.body.as_deref(),
        Some(r#"{"query":"{ user(id: 1) { name } }\n"}"#)
    );
    assert_eq!(
        graphql
            .headers
            .get("Content-Type")
            .map(|v| v.as_written())
            .as_deref(),
        Some("application/json")
    );

    let backup = monitor(&config, "nightly-backup");
    assert_eq!(backup.url, "");
    assert_eq!(backup.heartbeat, Some(Duration::from_secs(25 * 3600)));
    assert_eq!(backup.group.as_deref(), Some("jobs"));
    assert_eq!((backup.failure_threshold, backup.success_threshold), (4, 2));

    for commented in ["name = \"legacy\"", "name = \"ping gateway\""] {
        assert!(
            out.toml.contains(&format!("# {commented}")),
            "{commented} is written commented out:\n{}",
            out.toml
        );
    }
}

/// What a user must know after importing the fixture, each as (words that must all appear in
/// one warning).
#[test]
fn the_fixture_says_what_it_could_not_convert() {
    let out = import(FIXTURE);
    let expected: &[&[&str]] = &[
        &["`metrics`", "not converted"],
        &["`storage`", "not converted"],
        &["`ui`", "line 10", "not converted"],
        &["`alerting`", "not converted"],
        &["`x-defaults`", "ignored"],
        &["endpoint \"core/api\"", "renamed from \"api\""],
        &["endpoint \"eu/api\"", "renamed from \"api\""],
        &[
            "endpoint \"core/api\"",
            "header \"Authorization\"",
            "set CORE_API_AUTHORIZATION",
            "${API_TOKEN}",
        ],
        &[
            "endpoint \"core/api\"",
            "[DOMAIN_EXPIRATION] > 720h",
            "commented out",
        ],
        &[
            "endpoint \"core/api\"",
            "alerts (slack, pagerduty)",
            "not converted",
        ],
        &[
            "endpoint \"core/api\"",
            "different failure thresholds (4, 5)",
            "5",
        ],
        &[
            "endpoint \"core/api\"",
            "different success thresholds (2, 3)",
            "3",
        ],
        &["endpoint \"core/api\"", "description"],
        &["endpoint \"core/api\"", "`ui`", "not converted"],
        &["endpoint \"legacy\"", "enabled: false"],
        &["endpoint \"ping gateway\"", "icmp://"],
        &[
            "endpoint \"oauth-protected\"",
            "`client.oauth2`",
            "not converted",
        ],
        &["endpoint \"postgres\"", "all disabled"],
        &[
            "external endpoint \"nightly-backup\"",
            "POST http://127.0.0.1:7291/heartbeat/nightly-backup",
        ],
        &[
            "external endpoint \"nightly-backup\"",
            "`token`",
            "[heartbeats] token",
        ],
        &["external-endpoints[1]", "heartbeat.interval", "skipped"],
    ];
    for parts in expected {
        assert!(
            has_warning(&out, parts),
            "no warning with {parts:?} among:\n{}",
            out.warnings.join("\n")
        );
    }
    // A fully converted endpoint has nothing to warn about.
    assert!(
        !out.warnings.iter().any(|w| w.contains("\"website\"")),
        "{:?}",
        out.warnings
    );
}

/// Every imported condition whose verdict can differ from Gatus' is named with its monitor,
/// its line and the reason; one that always agrees is imported without a word.
#[test]
fn conditions_that_may_not_give_gatus_verdict_are_named() {
    let yaml = "endpoints:
  - name: shop
    url: https://shop.example/
    conditions:
      - \"[STATUS] == 200\"
      - \"[BODY].cart != empty\"
      - \"[STATUS] < 300\"
      - \"[BODY].latency < 500\"
      - \"[BODY].ratio == 0.5\"
      - \"[BODY].code == 010\"
      - \"[CERTIFICATE_EXPIRATION] > 7d\"
      - \"[BODY].errors == null\"
      - \"[BODY] == pat(*/ok?*)\"
      - \"[STATUS] == any(200.0, 201)\"
      - \"len([BODY]) > 2\"
      - \"[BODY].status == any(UP, OK)\"
      - \"pat(4*) == [STATUS]\"
      - \"[CERTIFICATE_EXPIRATION] > 48h\"
";
    let (out, config) = load(yaml);
    assert_eq!(
        monitor(&config, "shop").conditions.len(),
        14,
        "all are imported"
    );
    let expected: &[(&str, &str)] = &[
        (
            "[BODY].cart != empty",
            "(line 6) may not give Gatus' verdict: with `!=`",
        ),
        (
            "[STATUS] < 300",
            "Gatus reads [STATUS] and [CERTIFICATE_EXPIRATION] as 0",
        ),
        ("[BODY].latency < 500", "Gatus reads such a value as 0"),
        ("[BODY].ratio == 0.5", "`200.0` is not `200`"),
        ("[BODY].code == 010", "`010` is 10"),
        ("[CERTIFICATE_EXPIRATION] > 7d", "no `d` unit"),
        ("[BODY].errors == null", "JSON null"),
        ("[BODY] == pat(*/ok?*)", "glob syntax"),
        ("[STATUS] == any(200.0, 201)", "any()'s options as numbers"),
        ("len([BODY]) > 2", "JSON array with whitespace around it"),
    ];
    for (condition, reason) in expected {
        assert!(
            has_warning(
                &out,
                &["endpoint \"shop\"", &format!("{condition:?}"), reason]
            ),
            "no warning about {condition} with {reason:?} among:\n{}",
            out.warnings.join("\n")
        );
    }
    for agrees in [
        "[STATUS] == 200",
        "[BODY].status == any(UP, OK)",
        "pat(4*) == [STATUS]",
        "[CERTIFICATE_EXPIRATION] > 48h",
    ] {
        assert!(
            !out.warnings
                .iter()
                .any(|w| w.contains(&format!("{agrees:?}"))),
            "{agrees} always gives Gatus' verdict: {:?}",
            out.warnings
        );
    }
    // The warnings are also comments above the monitor.
    assert!(
        out.toml
            .contains("# warning: condition \"[STATUS] < 300\" (line 7)"),
        "{}",
        out.toml
    );
}

/// Each monitor's warnings sit right above it in the file, so they are read where they matter.
#[test]
fn warnings_are_comments_next_to_their_monitor() {
    let out = import(FIXTURE);
    let block = out
        .toml
        .split("\n\n")
        .find(|b| b.contains("name = \"core/api\""))
        .expect("the api block");
    assert!(block.contains("# warning: renamed from \"api\""), "{block}");
    assert!(
        block.contains("# warning: header \"Authorization\""),
        "{block}"
    );
    // The condition Foghorn cannot parse stays in the list, commented out, ready to fix.
    assert!(
        block.contains("    # \"[DOMAIN_EXPIRATION] > 720h\","),
        "{block}"
    );
    let header: String = out
        .toml
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(header.contains("gatus.yaml"), "{header}");
    assert!(
        header.contains("60s"),
        "says why intervals are explicit: {header}"
    );
    assert!(header.contains("warning: `metrics`"), "{header}");
    assert!(
        header.contains("warning: external-endpoints[1]"),
        "a skipped endpoint is listed too: {header}"
    );
}

/// One Gatus endpoint at a time: how it is written, or why it is not.
#[test]
fn edge_cases() {
    struct Case {
        what: &'static str,
        yaml: &'static str,
        check: fn(&Import, &Config),
    }
    let cases = [
        Case {
            what: "an endpoint without a name is skipped",
            yaml: "endpoints:\n  - url: https://a.example/\n  - name: b\n    url: https://b.example/\n",
            check: |out, c| {
                assert_eq!(c.monitors.len(), 1);
                assert!(has_warning(out, &["endpoints[0] (line 2)", "no `name`"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "an endpoint without a url is skipped",
            yaml: "endpoints:\n  - name: a\n  - name: b\n    url: https://b.example/\n",
            check: |out, c| {
                assert_eq!(c.monitors.len(), 1);
                assert!(has_warning(out, &["endpoints[0]", "no `url`"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "names that differ only in case or punctuation get a number",
            yaml: "endpoints:\n  - name: My API\n    url: https://a.example/\n  - name: my-api\n    url: https://b.example/\n",
            check: |out, c| {
                let names: Vec<_> = c.monitors.iter().map(|m| m.name()).collect();
                assert_eq!(names, ["My API", "my-api (2)"]);
                assert!(has_warning(out, &["endpoint \"my-api (2)\"", "renamed"]));
            },
        },
        Case {
            what: "Gatus' default interval is written out",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n",
            check: |out, c| {
                assert_eq!(c.monitors[0].interval, Duration::from_secs(60));
                assert!(out.toml.contains("interval = \"1m\""), "{}", out.toml);
                assert!(out.warnings.is_empty(), "{:?}", out.warnings);
            },
        },
        Case {
            what: "an interval Gatus would not read is a warning, and Gatus' default is used",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n    interval: 2d\n",
            check: |out, c| {
                assert_eq!(c.monitors[0].interval, Duration::from_secs(60));
                assert!(has_warning(out, &["`interval`", "\"2d\""]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "an interval under Foghorn's minimum is commented out with Foghorn's reason",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n    interval: 500ms\n",
            check: |out, c| {
                assert!(c.monitors.is_empty());
                assert_eq!((out.converted, out.commented_out), (0, 1));
                assert!(has_warning(out, &["endpoint \"a\"", "at least 1s"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "an HTTP method Foghorn does not send is commented out",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n    method: PROPFIND\n",
            check: |out, c| {
                assert!(c.monitors.is_empty());
                assert!(has_warning(out, &["PROPFIND"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "a DNS record type Foghorn does not ask for is commented out",
            yaml: "endpoints:\n  - name: a\n    url: 1.1.1.1\n    dns:\n      query-name: example.org\n      query-type: AXFR\n",
            check: |out, c| {
                assert!(c.monitors.is_empty());
                assert!(has_warning(out, &["AXFR"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "an IPv6 resolver gets brackets, a port is kept",
            yaml: "endpoints:\n  - name: v6\n    url: \"2001:4860:4860::8888\"\n    dns: {query-name: example.org, query-type: aaaa}\n  \
                   - name: v4\n    url: \"127.0.0.1:5353\"\n    dns: {query-name: example.org, query-type: MX}\n",
            check: |_, c| {
                assert_eq!(c.monitors[0].url, "dns://[2001:4860:4860::8888]");
                assert_eq!(c.monitors[0].dns.as_ref().map(|q| q.query_type.as_str()), Some("AAAA"));
                assert_eq!(c.monitors[1].url, "dns://127.0.0.1:5353");
            },
        },
        Case {
            what: "YAML 1.1 booleans are read as Gatus reads them",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n    enabled: no\n    client:\n      insecure: yes\n",
            check: |out, c| {
                assert!(c.monitors.is_empty());
                assert_eq!(out.commented_out, 1);
                assert!(out.toml.contains("# insecure = true"), "{}", out.toml);
            },
        },
        Case {
            what: "text that needs escaping survives the trip",
            yaml: "endpoints:\n  - name: \"say \\\"hi\\\" \\\\ there\"\n    url: https://a.example/\n    headers:\n      \"X-Weird Key\": \"tab\\there\"\n    body: \"line one\\nline two\\u0001\"\n",
            check: |_, c| {
                let m = &c.monitors[0];
                assert_eq!(m.name(), "say \"hi\" \\ there");
                assert_eq!(m.headers.get("X-Weird Key").map(|v| v.as_written()).as_deref(), Some("tab\there"));
                assert_eq!(m.body.as_deref(), Some("line one\nline two\u{1}"));
            },
        },
        Case {
            what: "an endpoint whose conditions all fail to parse still loads, checking for 2xx",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n    conditions:\n      - \"[STATUS]==200\"\n      - \"[DOMAIN_EXPIRATION] > 1h\"\n",
            check: |out, c| {
                assert!(c.monitors[0].conditions.is_empty());
                assert_eq!(out.converted, 1);
                assert!(has_warning(out, &["[STATUS]==200", "space"]), "{:?}", out.warnings);
                assert!(out.toml.contains("    # \"[STATUS]==200\","), "{}", out.toml);
            },
        },
        Case {
            what: "environment variables in a URL are kept and named",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/?key=${KEY}&x=$$y\n",
            check: |out, c| {
                assert_eq!(c.monitors[0].url, "https://a.example/?key=${KEY}&x=$y");
                assert!(has_warning(out, &["`url`", "${KEY}", "environment"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "unsupported endpoint types are commented out, each with its scheme",
            yaml: "endpoints:\n  - {name: a, url: \"tls://a.example:443\"}\n  - {name: b, url: \"ws://b.example/\"}\n  \
                   - {name: c, url: \"grpc://c.example:50051\"}\n  - {name: d, url: \"starttls://d.example:587\"}\n  \
                   - {name: e, url: \"ssh://e.example:22\", ssh: {username: u}}\n  - {name: f, url: \"udp://f.example:53\"}\n",
            check: |out, c| {
                assert!(c.monitors.is_empty());
                assert_eq!(out.commented_out, 6);
                for scheme in ["tls://", "ws://", "grpc://", "starttls://", "ssh://", "udp://"] {
                    assert!(has_warning(out, &[scheme, "not supported"]), "{scheme}: {:?}", out.warnings);
                }
                assert!(has_warning(out, &["endpoint \"e\"", "`ssh`"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "client settings Foghorn lacks are named one by one",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n    client:\n      dns-resolver: tcp://1.1.1.1:53\n      \
                   identity-aware-proxy: {audience: x}\n      proxy-url: http://proxy:3128\n",
            check: |out, c| {
                assert_eq!(c.monitors.len(), 1);
                for key in ["client.dns-resolver", "client.identity-aware-proxy", "client.proxy-url"] {
                    assert!(has_warning(out, &["endpoint \"a\"", key]), "{key}: {:?}", out.warnings);
                }
            },
        },
        Case {
            what: "alerts without thresholds take Gatus' 3 and 2",
            yaml: "endpoints:\n  - name: a\n    url: https://a.example/\n    alerts:\n      - type: discord\n",
            check: |_, c| {
                let m = &c.monitors[0];
                assert_eq!((m.failure_threshold, m.success_threshold), (3, 2));
            },
        },
        Case {
            what: "only the first YAML document is read",
            yaml: "endpoints:\n  - {name: a, url: \"https://a.example/\"}\n---\nendpoints:\n  - {name: b, url: \"https://b.example/\"}\n",
            check: |out, c| {
                assert_eq!(c.monitors.len(), 1);
                assert!(has_warning(out, &["2 YAML documents"]), "{:?}", out.warnings);
            },
        },
        Case {
            what: "a file of only disabled endpoints still loads, monitoring nothing",
            yaml: "endpoints:\n  - {name: a, url: \"https://a.example/\", enabled: false}\n",
            check: |out, c| {
                assert!(c.monitors.is_empty());
                assert_eq!((out.converted, out.commented_out), (0, 1));
            },
        },
    ];
    for case in cases {
        let out = import(case.yaml);
        let config = Config::parse(&out.toml, Path::new("imported.toml"))
            .unwrap_or_else(|e| panic!("{}: {e}\n--- output ---\n{}", case.what, out.toml));
        eprintln!("case: {}", case.what);
        (case.check)(&out, &config);
    }
}

#[test]
fn files_that_are_not_gatus_configurations_are_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "gatus.yaml: the file is empty"),
        ("# only a comment\n", "gatus.yaml: the file is empty"),
        ("storage:\n  type: memory\n", "no `endpoints:`"),
        ("endpoints: []\n", "no `endpoints:`"),
        (
            "- name: a\n  url: https://a.example/\n",
            "expected a mapping",
        ),
        (
            "endpoints:\n  name: a\n",
            "line 1: `endpoints` must be a list",
        ),
    ];
    for (yaml, needle) in cases {
        let err = gatus_to_toml(yaml, Path::new("gatus.yaml"))
            .expect_err(yaml)
            .to_string();
        assert!(err.contains(needle), "{yaml:?} → {err}");
        assert!(err.starts_with("gatus.yaml"), "names the file: {err}");
    }
}

#[test]
fn bad_yaml_names_file_line_and_column() {
    let yaml = "endpoints:\n  - name: a\n    url: [https://a.example/\n  - name: b\n";
    let err = gatus_to_toml(yaml, Path::new("conf/gatus.yaml")).expect_err("unclosed [");
    let ImportError::Yaml { line, column, .. } = &err else {
        panic!("a YAML error: {err}");
    };
    assert!(*line >= 3 && *column >= 1, "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("conf/gatus.yaml:{line}:{column}: invalid YAML:")),
        "{err}"
    );

    let err = gatus_to_toml(
        "endpoints:\n  - name: a\n    name: b\n",
        Path::new("g.yaml"),
    )
    .expect_err("duplicate key")
    .to_string();
    assert!(err.starts_with("g.yaml:3:5:"), "{err}");
}

/// 10,000 nested block lists (`- - - …`) and a chain of 10,000 merges: a clear error naming the
/// line, never a stack overflow.
#[test]
fn a_deeply_nested_gatus_file_is_refused_with_the_line_not_a_stack_overflow() {
    let mut nested =
        String::from("endpoints:\n  - name: a\n    url: https://a.example/\n    conditions:\n");
    nested.push_str("      ");
    nested.push_str(&"- ".repeat(10_000));
    nested.push_str("x\n");

    let mut chain = String::from("m0: &m0 {a: 1}\n");
    for i in 1..10_000 {
        chain.push_str(&format!(
            "m{i}: &m{i}\n  <<: *m{}\n  k{i}:\n    v: 1\n",
            i - 1
        ));
    }
    chain.push_str("endpoints: []\n");

    for (what, yaml, line) in [
        ("nested lists", &nested, Some(5)),
        ("a merge chain", &chain, None),
    ] {
        let err = gatus_to_toml(yaml, Path::new("deep.yaml")).expect_err(what);
        let ImportError::Yaml { line: at, .. } = &err else {
            panic!("{what}: a YAML error: {err}");
        };
        if let Some(line) = line {
            assert_eq!(*at, line, "{what}: {err}");
        }
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("deep.yaml:{at}:")),
            "{what}: {text}"
        );
        assert!(text.contains("deeper than 128 levels"), "{what}: {text}");
    }

    // Flow lists (`[[[[`) the YAML scanner itself stops at 255 levels: still a located error.
    let mut flow = String::from("endpoints:\n  - name: a\n    conditions: ");
    flow.push_str(&"[".repeat(10_000));
    let err = gatus_to_toml(&flow, Path::new("deep.yaml")).expect_err("flow lists");
    assert!(matches!(err, ImportError::Yaml { line: 3, .. }), "{err}");
}

#[test]
fn aliases_that_expand_to_millions_of_values_are_refused() {
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        laughs.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    laughs.push_str("endpoints: []\n");
    let err = gatus_to_toml(&laughs, Path::new("laughs.yaml"))
        .expect_err("a billion laughs")
        .to_string();
    assert!(err.contains("more than 1000000 values"), "{err}");
}
