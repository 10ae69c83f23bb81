//! The condition language end to end: one table of conditions that parse and what they
//! resolve to, one of conditions that must not parse and where the caret goes, and property
//! tests that nothing panics.

use proptest::prelude::*;

use super::*;

/// The body most cases read.
const JSON_BODY: &str = r#"{
  "status": "UP", "name": "john doe", "user": {"age": 30, "name": "Zoë"}, "min_age": 18,
  "items": [{"id": 42, "tags": ["a", "b"]}, {"id": 7}], "errors": null, "empty": [],
  "ratio": 0.75, "ok": true, "nested": {"a": {"b": {"c": "deep"}}}, "名前": "太郎",
  "timeout": "5s", "count": "3", "blank": "", "msg": "line1\nline2",
  "big": 18446744073709551615, "neg": -5
}"#;

/// Which context a case is evaluated against.
#[derive(Clone, Copy)]
enum Ctx {
    /// Every value present, with [`JSON_BODY`].
    Full,
    /// Every value present, with this body.
    Body(&'static str),
    /// A check that got nowhere: nothing present.
    Nothing,
}

fn context(which: Ctx) -> Context<'static> {
    let full = |body| Context {
        status: Some(200),
        response_time_ms: Some(120),
        body: Some(Body::new(body)),
        ip: Some("127.0.0.1"),
        connected: Some(true),
        certificate_expiration_ms: Some(4_000_000_000),
        dns_rcode: Some("NOERROR"),
    };
    match which {
        Ctx::Full => full(JSON_BODY),
        Ctx::Body(body) => full(body),
        Ctx::Nothing => Context::default(),
    }
}

const ROOT_ARRAY: Ctx = Ctx::Body(r#"[{"name": "x"}, {"name": "y"}]"#);
const PONG: Ctx = Ctx::Body("pong\n");

#[rustfmt::skip]
const VALID: &[(&str, Ctx, bool, &str)] = &[
    // Status and every operator.
    ("[STATUS] == 200", Ctx::Full, true, "[STATUS] (200) == 200"),
    ("[STATUS] == 201", Ctx::Full, false, "[STATUS] (200) == 201"),
    ("[STATUS] != 500", Ctx::Full, true, "[STATUS] (200) != 500"),
    ("[STATUS] != 200", Ctx::Full, false, "[STATUS] (200) != 200"),
    ("[STATUS] < 300", Ctx::Full, true, "[STATUS] (200) < 300"),
    ("[STATUS] < 200", Ctx::Full, false, "[STATUS] (200) < 200"),
    ("[STATUS] <= 200", Ctx::Full, true, "[STATUS] (200) <= 200"),
    ("[STATUS] > 200", Ctx::Full, false, "[STATUS] (200) > 200"),
    ("[STATUS] > 199", Ctx::Full, true, "[STATUS] (200) > 199"),
    ("[STATUS] >= 200", Ctx::Full, true, "[STATUS] (200) >= 200"),
    ("[STATUS] >= 201", Ctx::Full, false, "[STATUS] (200) >= 201"),
    ("[STATUS] == 200.0", Ctx::Full, true, "[STATUS] (200) == 200.0"),
    ("[status] == 200", Ctx::Full, true, "[status] (200) == 200"),
    ("  [STATUS]  ==  200  ", Ctx::Full, true, "[STATUS] (200) == 200"),
    ("200 == [STATUS]", Ctx::Full, true, "200 == [STATUS] (200)"),
    ("[STATUS] == [STATUS]", Ctx::Full, true, "[STATUS] (200) == [STATUS] (200)"),
    // any()
    ("[STATUS] == any(200, 201, 204)", Ctx::Full, true, "[STATUS] (200) == any(200, 201, 204)"),
    ("[STATUS] == any(201, 204)", Ctx::Full, false, "[STATUS] (200) == any(201, 204)"),
    ("[STATUS] != any(500, 503)", Ctx::Full, true, "[STATUS] (200) != any(500, 503)"),
    ("[STATUS] != any(200, 503)", Ctx::Full, false, "[STATUS] (200) != any(200, 503)"),
    ("[BODY].status == any(DOWN,UP)", Ctx::Full, true, "[BODY].status (UP) == any(DOWN,UP)"),
    ("[BODY].status == any(down, up)", Ctx::Full, false, "[BODY].status (UP) == any(down, up)"),
    // pat() and any() on the left, as Gatus allows.
    ("any(200, 201) == [STATUS]", Ctx::Full, true, "any(200, 201) == [STATUS] (200)"),
    ("any(500, 503) != [STATUS]", Ctx::Full, true, "any(500, 503) != [STATUS] (200)"),
    ("pat(jo*) == [BODY].name", Ctx::Full, true, "pat(jo*) == [BODY].name (john doe)"),
    ("pat(x*) == [BODY].nope", Ctx::Full, false, "pat(x*) == [BODY].nope (missing)"),
    // Go's integer literals, as Gatus reads them; a leading zero stays decimal.
    ("[BODY].code == 255", Ctx::Body(r#"{"code": "0xFF"}"#), true, "[BODY].code (0xFF) == 255"),
    ("[BODY].code > 0o7", Ctx::Body(r#"{"code": "0b1000"}"#), true, "[BODY].code (0b1000) > 0o7"),
    ("[BODY].code == 1000", Ctx::Body(r#"{"code": "1_000"}"#), true, "[BODY].code (1_000) == 1000"),
    ("[BODY].code == 10", Ctx::Body(r#"{"code": "010"}"#), true, "[BODY].code (010) == 10"),
    // Response time, durations and certificates.
    ("[RESPONSE_TIME] < 500", Ctx::Full, true, "[RESPONSE_TIME] (120) < 500"),
    ("[RESPONSE_TIME] < 100", Ctx::Full, false, "[RESPONSE_TIME] (120) < 100"),
    ("[RESPONSE_TIME] <= 1s", Ctx::Full, true, "[RESPONSE_TIME] (120) <= 1s"),
    ("[RESPONSE_TIME] > 100ms", Ctx::Full, true, "[RESPONSE_TIME] (120) > 100ms"),
    ("[RESPONSE_TIME] < 0.1s", Ctx::Full, false, "[RESPONSE_TIME] (120) < 0.1s"),
    ("[RESPONSE_TIME] < 1m30s", Ctx::Full, true, "[RESPONSE_TIME] (120) < 1m30s"),
    ("[CERTIFICATE_EXPIRATION] > 48h", Ctx::Full, true, "[CERTIFICATE_EXPIRATION] (46d7h6m) > 48h"),
    ("[CERTIFICATE_EXPIRATION] > 1440h", Ctx::Full, false, "[CERTIFICATE_EXPIRATION] (46d7h6m) > 1440h"),
    ("[CERTIFICATE_EXPIRATION] > 7d", Ctx::Full, true, "[CERTIFICATE_EXPIRATION] (46d7h6m) > 7d"),
    ("[CERTIFICATE_EXPIRATION] > 4000000001", Ctx::Full, false, "[CERTIFICATE_EXPIRATION] (46d7h6m) > 4000000001"),
    ("[BODY].timeout < 10s", Ctx::Full, true, "[BODY].timeout (5s) < 10s"),
    ("[BODY].timeout == 5000", Ctx::Full, false, "[BODY].timeout (5s) == 5000"),
    // JSON paths.
    ("[BODY].status == UP", Ctx::Full, true, "[BODY].status (UP) == UP"),
    ("[BODY].status == DOWN", Ctx::Full, false, "[BODY].status (UP) == DOWN"),
    ("[BODY].status != DOWN", Ctx::Full, true, "[BODY].status (UP) != DOWN"),
    ("[body].status == UP", Ctx::Full, true, "[body].status (UP) == UP"),
    ("[BODY].user.age >= [BODY].min_age", Ctx::Full, true, "[BODY].user.age (30) >= [BODY].min_age (18)"),
    ("[BODY].user.age < [BODY].min_age", Ctx::Full, false, "[BODY].user.age (30) < [BODY].min_age (18)"),
    ("[BODY].items[0].id == 42", Ctx::Full, true, "[BODY].items[0].id (42) == 42"),
    ("[BODY].items[1].id == 42", Ctx::Full, false, "[BODY].items[1].id (7) == 42"),
    ("[BODY].items[0].tags[1] == b", Ctx::Full, true, "[BODY].items[0].tags[1] (b) == b"),
    ("[BODY].nested.a.b.c == deep", Ctx::Full, true, "[BODY].nested.a.b.c (deep) == deep"),
    (r#"[BODY].nested.a == {"b":{"c":"deep"}}"#, Ctx::Full, true, r#"[BODY].nested.a ({"b":{"c":"deep"}}) == {"b":{"c":"deep"}}"#),
    (r#"[BODY].items[0].tags == ["a","b"]"#, Ctx::Full, true, r#"[BODY].items[0].tags (["a","b"]) == ["a","b"]"#),
    ("[BODY].errors == null", Ctx::Full, true, "[BODY].errors (null) == null"),
    ("[BODY].ok == true", Ctx::Full, true, "[BODY].ok (true) == true"),
    ("[BODY].ratio == 0.75", Ctx::Full, true, "[BODY].ratio (0.75) == 0.75"),
    ("[BODY].ratio < 1", Ctx::Full, true, "[BODY].ratio (0.75) < 1"),
    ("[BODY].ratio > 0.8", Ctx::Full, false, "[BODY].ratio (0.75) > 0.8"),
    ("[BODY].count == 3", Ctx::Full, true, "[BODY].count (3) == 3"),
    ("[BODY].count == 3.0", Ctx::Full, true, "[BODY].count (3) == 3.0"),
    ("[BODY].neg < 0", Ctx::Full, true, "[BODY].neg (-5) < 0"),
    ("[BODY].big == 18446744073709551615", Ctx::Full, true, "[BODY].big (18446744073709551615) == 18446744073709551615"),
    ("[BODY].big > 9223372036854775807", Ctx::Full, true, "[BODY].big (18446744073709551615) > 9223372036854775807"),
    ("[BODY].名前 == 太郎", Ctx::Full, true, "[BODY].名前 (太郎) == 太郎"),
    ("[BODY].blank == x", Ctx::Full, false, "[BODY].blank (empty) == x"),
    ("[BODY].msg == x", Ctx::Full, false, "[BODY].msg (line1\\nline2) == x"),
    // Ordering on text is false, not a comparison with 0 as in Gatus.
    ("[BODY].status < 5", Ctx::Full, false, "[BODY].status (UP) < 5"),
    ("[BODY].status > A", Ctx::Full, false, "[BODY].status (UP) > A"),
    ("[BODY].status >= UP", Ctx::Full, false, "[BODY].status (UP) >= UP"),
    // Missing paths fail whatever the operator.
    ("[BODY].nope == 1", Ctx::Full, false, "[BODY].nope (missing) == 1"),
    ("[BODY].nope != 1", Ctx::Full, false, "[BODY].nope (missing) != 1"),
    ("[BODY].nope < 1", Ctx::Full, false, "[BODY].nope (missing) < 1"),
    ("[BODY].items[5].id == 42", Ctx::Full, false, "[BODY].items[5].id (missing) == 42"),
    ("[BODY].status.deeper == x", Ctx::Full, false, "[BODY].status.deeper (missing) == x"),
    ("[BODY].name != pat(*x*)", Ctx::Body("{}"), false, "[BODY].name (missing) != pat(*x*)"),
    ("[BODY].status == [BODY].nope", Ctx::Full, false, "[BODY].status (UP) == [BODY].nope (missing)"),
    // has() and len().
    ("has([BODY].errors) == false", Ctx::Full, true, "has([BODY].errors) (false) == false"),
    ("has([BODY].status) == true", Ctx::Full, true, "has([BODY].status) (true) == true"),
    ("has([BODY].nope) == false", Ctx::Full, true, "has([BODY].nope) (false) == false"),
    ("has([BODY].blank) == true", Ctx::Full, true, "has([BODY].blank) (true) == true"),
    ("len([BODY].items) == 2", Ctx::Full, true, "len([BODY].items) (2) == 2"),
    ("len([BODY].items) == 3", Ctx::Full, false, "len([BODY].items) (2) == 3"),
    ("len([BODY].empty) == 0", Ctx::Full, true, "len([BODY].empty) (0) == 0"),
    ("len([BODY].name) == 8", Ctx::Full, true, "len([BODY].name) (8) == 8"),
    // len() counts bytes as Gatus does, and an object as the compact JSON Gatus reads it as.
    ("len([BODY].user.name) == 4", Ctx::Full, true, "len([BODY].user.name) (4) == 4"),
    ("len([BODY].user) == 24", Ctx::Full, true, "len([BODY].user) (24) == 24"),
    (r#"[BODY].user == {"age":30,"name":"Zoë"}"#, Ctx::Full, true, r#"[BODY].user ({"age":30,"name":"Zoë"}) == {"age":30,"name":"Zoë"}"#),
    ("len([BODY]) == 9", Ctx::Body(r#"{"b":1,"a":"<"}"#), false, "len([BODY]) (15) == 9"),
    ("len([BODY].o) == 20", Ctx::Body(r#"{"o": {"b": 1, "a": "<"}}"#), true, "len([BODY].o) (20) == 20"),
    ("len([BODY].errors) == 0", Ctx::Full, false, "len([BODY].errors) (null has no length) == 0"),
    ("len([BODY].nope) == 0", Ctx::Full, false, "len([BODY].nope) (missing) == 0"),
    ("len([BODY]) > 0", Ctx::Full, true, "len([BODY]) (376) > 0"),
    ("len( [BODY].items ) >= 1", Ctx::Full, true, "len( [BODY].items ) (2) >= 1"),
    ("[BODY].count == len([BODY].items)", Ctx::Full, false, "[BODY].count (3) == len([BODY].items) (2)"),
    ("len([IP]) == 9", Ctx::Full, true, "len([IP]) (9) == 9"),
    ("has([IP]) == true", Ctx::Full, true, "has([IP]) (true) == true"),
    // pat()
    ("[BODY].name == pat(john*)", Ctx::Full, true, "[BODY].name (john doe) == pat(john*)"),
    ("[BODY].name == pat(*doe)", Ctx::Full, true, "[BODY].name (john doe) == pat(*doe)"),
    ("[BODY].name == pat(jane*)", Ctx::Full, false, "[BODY].name (john doe) == pat(jane*)"),
    ("[BODY].name != pat(*test*)", Ctx::Full, true, "[BODY].name (john doe) != pat(*test*)"),
    ("[BODY].name != pat(*doe*)", Ctx::Full, false, "[BODY].name (john doe) != pat(*doe*)"),
    ("[BODY].user.name == pat(Z*ë)", Ctx::Full, true, "[BODY].user.name (Zoë) == pat(Z*ë)"),
    ("[BODY] == pat(*\"ok\": true*)", Ctx::Full, true,
        "[BODY] ({\\n  \"status\": \"UP\", \"name\": \"john doe\", \"user\": {\"age\": 30,…) == pat(*\"ok\": true*)"),
    ("[BODY] == pat(*\"ok\":false*)", Ctx::Body(r#"{"ok":true}"#), false, r#"[BODY] ({"ok":true}) == pat(*"ok":false*)"#),
    ("[BODY] == pat(*a == b*)", Ctx::Body("x a == b y"), true, "[BODY] (x a == b y) == pat(*a == b*)"),
    // Whole body, not JSON, arrays at the root.
    ("[BODY] == pong", PONG, true, "[BODY] (pong) == pong"),
    ("[BODY] != pong", PONG, false, "[BODY] (pong) != pong"),
    ("len([BODY]) == 5", PONG, true, "len([BODY]) (5) == 5"),
    ("has([BODY]) == true", PONG, true, "has([BODY]) (true) == true"),
    ("has([BODY]) == false", Ctx::Body(" \n"), true, "has([BODY]) (false) == false"),
    ("[BODY].x == 1", PONG, false, "[BODY].x (body is not JSON) == 1"),
    ("[BODY].x != 1", PONG, false, "[BODY].x (body is not JSON) != 1"),
    ("has([BODY].x) == false", PONG, true, "has([BODY].x) (false) == false"),
    ("[BODY] == []", Ctx::Body("[]"), true, "[BODY] ([]) == []"),
    ("[BODY][0].name == x", ROOT_ARRAY, true, "[BODY][0].name (x) == x"),
    ("[BODY][1].name == x", ROOT_ARRAY, false, "[BODY][1].name (y) == x"),
    ("[BODY][2].name == x", ROOT_ARRAY, false, "[BODY][2].name (missing) == x"),
    ("len([BODY]) == 2", ROOT_ARRAY, true, "len([BODY]) (2) == 2"),
    ("[BODY].m[1][0] == 3", Ctx::Body(r#"{"m": [[1, 2], [3, 4]]}"#), true, "[BODY].m[1][0] (3) == 3"),
    ("len([BODY]) == 8", Ctx::Body(r#""héllo""#), true, "len([BODY]) (8) == 8"),
    // IP, connection, DNS.
    ("[IP] == 127.0.0.1", Ctx::Full, true, "[IP] (127.0.0.1) == 127.0.0.1"),
    ("[IP] == pat(10.*)", Ctx::Full, false, "[IP] (127.0.0.1) == pat(10.*)"),
    ("[IP] == pat(127.*)", Ctx::Full, true, "[IP] (127.0.0.1) == pat(127.*)"),
    ("[IP] == any(1.1.1.1, 127.0.0.1)", Ctx::Full, true, "[IP] (127.0.0.1) == any(1.1.1.1, 127.0.0.1)"),
    ("[CONNECTED] == true", Ctx::Full, true, "[CONNECTED] (true) == true"),
    ("[CONNECTED] == false", Ctx::Full, false, "[CONNECTED] (true) == false"),
    ("[DNS_RCODE] == NOERROR", Ctx::Full, true, "[DNS_RCODE] (NOERROR) == NOERROR"),
    ("[DNS_RCODE] != NXDOMAIN", Ctx::Full, true, "[DNS_RCODE] (NOERROR) != NXDOMAIN"),
    // A check that got nowhere.
    ("[STATUS] == 200", Ctx::Nothing, false, "[STATUS] (unavailable) == 200"),
    ("[STATUS] != 200", Ctx::Nothing, false, "[STATUS] (unavailable) != 200"),
    ("has([STATUS]) == false", Ctx::Nothing, true, "has([STATUS]) (false) == false"),
    ("[BODY] == pong", Ctx::Nothing, false, "[BODY] (unavailable) == pong"),
    ("has([BODY].x) == true", Ctx::Nothing, false, "has([BODY].x) (false) == true"),
    ("[CERTIFICATE_EXPIRATION] > 48h", Ctx::Nothing, false, "[CERTIFICATE_EXPIRATION] (unavailable) > 48h"),
];

#[test]
fn valid_conditions_evaluate_and_resolve() {
    assert!(VALID.len() >= 60, "{} cases", VALID.len());
    for (text, ctx, ok, resolved) in VALID {
        let condition: Condition = text
            .parse()
            .unwrap_or_else(|e: ConditionError| panic!("{text}: {e}\n{}", e.caret()));
        let outcome = condition.evaluate(&context(*ctx));
        assert_eq!(
            (outcome.ok, outcome.resolved.as_str()),
            (*ok, *resolved),
            "{text}"
        );
        assert_eq!(outcome.condition, *text);
        assert_eq!(condition.as_str(), *text);
    }
}

#[rustfmt::skip]
const INVALID: &[(&str, &str, usize)] = &[
    ("", "empty", 0),
    ("   ", "empty", 0),
    ("[STATUS]==200", "`==` needs a space on both sides: write `[STATUS] == 200`", 8),
    ("[STATUS] ==200", "write `[STATUS] == 200`", 9),
    ("[STATUS]<300", "`<` needs a space on both sides: write `[STATUS] < 300`", 8),
    ("[RESPONSE_TIME]<= 1s", "write `[RESPONSE_TIME] <= 1s`", 15),
    ("[STATUS] = 200", "`=` is not an operator: write `[STATUS] == 200`", 9),
    ("[BODY].名前 ==太郎", "write `[BODY].名前 == 太郎`", 10),
    ("[STATUS] 200", "no operator", 12),
    ("[STAUTS] == 200", "`[STAUTS]` is not a placeholder; known placeholders: [STATUS], [RESPONSE_TIME]", 0),
    ("[BODY].x == [STAUTS]", "`[STAUTS]` is not a placeholder", 12),
    ("len([STAUTS]) == 1", "`[STAUTS]` is not a placeholder", 4),
    ("[HEADER].Content-Type == x", "Gatus placeholder Foghorn does not support", 0),
    ("size([BODY]) == 1", "unknown function `size()`", 0),
    ("LEN([BODY]) == 1", "function names are lowercase: `len()`", 0),
    ("age([BODY].t) < 1h", "age() is not supported", 0),
    ("len([BODY].items == 3", "`len(` is never closed", 3),
    ("[STATUS] == any(200, 201", "`any(` is never closed", 15),
    ("[BODY] == pat(*ok*", "`pat(` is never closed", 13),
    ("len([BODY].items)) == 3", "unexpected `)`", 16),
    ("len([BODY]).x == 1", "unexpected text after the `)`", 11),
    ("[STATUS == 200", "`[STATUS` is never closed", 0),
    ("[STATUS) == 200", "unexpected `)` in the placeholder", 7),
    ("[BODY].items[0 == 1", "`[` is never closed", 12),
    ("[BODY].items[x] == 1", "array index must be a whole number", 13),
    ("[BODY].items[-1] == 1", "array index must be a whole number", 13),
    ("[BODY].名前[x] == 1", "array index must be a whole number", 10),
    ("[BODY].items[*].id == 1", "`[*]` (every element) is not supported", 12),
    ("[BODY]..x == 1", "empty key after `.`", 6),
    ("[BODY]. == 1", "empty key after `.`", 6),
    ("[BODY] x == 1", "unexpected ` ` in a [BODY] path", 6),
    ("[BODY]x == 1", "unexpected `x` in a [BODY] path", 6),
    ("[STATUS].code == 1", "only [BODY] has a path; remove `.code`", 8),
    ("pat(j*) < [BODY].name", "only work with `==` or `!=`, not `<`", 0),
    ("[DOMAIN_EXPIRATION] > 720h", "Gatus reads it by asking the domain's registry", 0),
    ("[BODY].name < pat(j*)", "only work with `==` or `!=`, not `<`", 14),
    ("[STATUS] > any(1, 2)", "not `>`", 11),
    ("[STATUS] == 200 == 201", "a condition has one operator, but `==` follows `==`", 16),
    ("[STATUS] == 200 || [STATUS] < 300", "`<` follows `==`", 28),
    ("[STATUS] == ", "nothing to compare on the right of `==`", 9),
    (" == 200", "nothing to compare on the left of `==`", 1),
    ("len(200) == 3", "len() takes a placeholder", 4),
    ("has() == true", "has() takes a placeholder", 4),
    ("[STATUS] == any()", "any() needs at least one value", 16),
    ("200 == 200", "both sides are fixed text", 0),
    ("STATUS == 200", "one side needs a placeholder", 0),
    ("pong == pat(p*)", "one side needs a placeholder", 0),
];

#[test]
fn invalid_conditions_point_at_the_mistake() {
    for (text, fragment, offset) in INVALID {
        let err = text
            .parse::<Condition>()
            .expect_err(&format!("{text} should not parse"));
        assert!(
            err.message.contains(fragment),
            "{text}: {:?} lacks {fragment:?}",
            err.message
        );
        assert_eq!(
            err.offset,
            *offset,
            "{text}: {}\n{}",
            err.message,
            err.caret()
        );
        assert_eq!(err.condition, *text);
    }
}

#[test]
fn the_caret_sits_under_the_offending_character() {
    let err = "[STATUS]==200"
        .parse::<Condition>()
        .expect_err("must not parse");
    assert_eq!(err.caret(), "[STATUS]==200\n        ^");
    let err = "[BODY].名前 ==太郎"
        .parse::<Condition>()
        .expect_err("must not parse");
    assert_eq!(err.caret(), "[BODY].名前 ==太郎\n          ^");
    let err = "\t[STAUTS] == 1"
        .parse::<Condition>()
        .expect_err("must not parse");
    assert_eq!(err.caret(), "\t[STAUTS] == 1\n\t^");
    assert_eq!(
        err.to_string(),
        "invalid condition `\t[STAUTS] == 1`: `[STAUTS]` is not a placeholder; known \
         placeholders: [STATUS], [RESPONSE_TIME], [BODY], [IP], [CONNECTED], \
         [CERTIFICATE_EXPIRATION], [DNS_RCODE] (at character 2)"
    );
}

#[test]
fn placeholders_are_listed_once_each() {
    let cases: &[(&str, &[Placeholder])] = &[
        ("[STATUS] == 200", &[Placeholder::Status]),
        ("[BODY].a >= [BODY].b", &[Placeholder::Body]),
        (
            "len([BODY]) == [STATUS]",
            &[Placeholder::Body, Placeholder::Status],
        ),
        ("has([IP]) == true", &[Placeholder::Ip]),
        (
            "[CERTIFICATE_EXPIRATION] > 48h",
            &[Placeholder::CertificateExpiration],
        ),
        ("[DNS_RCODE] == pat(NO*)", &[Placeholder::DnsRcode]),
    ];
    for (text, want) in cases {
        let condition: Condition = text.parse().expect("valid");
        assert_eq!(
            condition.placeholders().collect::<Vec<_>>(),
            *want,
            "{text}"
        );
    }
}

#[test]
fn long_values_are_cut_in_the_resolved_text_but_compared_whole() {
    let body = format!("{}end", "a".repeat(100));
    let ctx = Context {
        body: Some(Body::new(&body)),
        ..Context::default()
    };
    let outcome = "[BODY] == pat(*end)"
        .parse::<Condition>()
        .expect("valid")
        .evaluate(&ctx);
    assert!(outcome.ok);
    assert_eq!(
        outcome.resolved,
        format!("[BODY] ({}…) == pat(*end)", "a".repeat(59))
    );
}

#[test]
fn the_body_is_parsed_once_for_all_conditions() {
    let ctx = context(Ctx::Full);
    for text in ["[BODY].status == UP", "len([BODY].items) == 2"] {
        assert!(text.parse::<Condition>().expect("valid").evaluate(&ctx).ok);
    }
    let body = ctx.body.as_ref().expect("valid");
    assert!(body.json.get().is_some_and(Option::is_some));
    // A condition on the raw body never parses it.
    let ctx = context(PONG);
    assert!(
        "[BODY] == pong"
            .parse::<Condition>()
            .expect("valid")
            .evaluate(&ctx)
            .ok
    );
    assert!(ctx.body.as_ref().expect("valid").json.get().is_none());
}

#[test]
fn conditions_deserialize_with_a_caret_and_serialize_as_written() {
    #[derive(Debug, serde::Deserialize)]
    struct Monitor {
        conditions: Vec<Condition>,
    }
    let ok: Monitor = toml::from_str(r#"conditions = ["[STATUS] == 200"]"#).expect("valid");
    assert_eq!(ok.conditions[0].as_str(), "[STATUS] == 200");
    assert_eq!(
        serde_json::to_string(&ok.conditions[0]).expect("valid"),
        r#""[STATUS] == 200""#
    );
    let err =
        toml::from_str::<Monitor>(r#"conditions = ["[STATUS]==200"]"#).expect_err("must not parse");
    assert!(
        err.to_string().contains("[STATUS]==200\n        ^"),
        "{err}"
    );
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9 *.é]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text made of the language's own pieces, which reaches much further than random strings.
fn condition_like() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "[STATUS]",
        "[BODY]",
        "[body]",
        "[IP]",
        "[RESPONSE_TIME]",
        "[CERTIFICATE_EXPIRATION]",
        "[CONNECTED]",
        "[DNS_RCODE]",
        "[X]",
        ".a",
        ".b",
        "[0]",
        "[1]",
        "[*]",
        "[",
        "]",
        " == ",
        " != ",
        " < ",
        " <= ",
        " > ",
        " >= ",
        "==",
        "<",
        " ",
        "len(",
        "has(",
        "pat(",
        "any(",
        "size(",
        ")",
        "*",
        ",",
        "200",
        "1s",
        "-1.5",
        "UP",
        "true",
        "é",
        "名",
        "\t",
    ]);
    prop::collection::vec(token, 0..10).prop_map(|tokens| tokens.concat())
}

fn body_text() -> impl Strategy<Value = String> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        any::<String>(),
        Just(String::new()),
    ]
}

fn check_parse_and_evaluate(
    text: &str,
    status: Option<u16>,
    response_time_ms: Option<u64>,
    body: Option<&str>,
    ip: Option<&str>,
    connected: Option<bool>,
    certificate_expiration_ms: Option<i64>,
) {
    match text.parse::<Condition>() {
        Ok(condition) => {
            let ctx = Context {
                status,
                response_time_ms,
                body: body.map(Body::new),
                ip,
                connected,
                certificate_expiration_ms,
                dns_rcode: ip,
            };
            let outcome = condition.evaluate(&ctx);
            assert_eq!(outcome.condition, text);
            // Evaluating twice against the same (now cached) body gives the same verdict.
            assert_eq!(condition.evaluate(&ctx), outcome);
        }
        Err(e) => {
            assert!(e.offset <= text.chars().count(), "{e:?}");
            let _ = e.caret();
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(
        text in any::<String>(),
        status in any::<Option<u16>>(),
        body in proptest::option::of(body_text()),
    ) {
        check_parse_and_evaluate(&text, status, Some(5), body.as_deref(), Some("::1"), Some(true), Some(-1));
    }

    #[test]
    fn condition_like_text_never_panics(
        text in condition_like(),
        status in any::<Option<u16>>(),
        response_time_ms in any::<Option<u64>>(),
        body in proptest::option::of(body_text()),
        ip in proptest::option::of("[0-9.:a-f]{0,12}"),
        connected in any::<Option<bool>>(),
        certificate_expiration_ms in any::<Option<i64>>(),
    ) {
        check_parse_and_evaluate(
            &text, status, response_time_ms, body.as_deref(), ip.as_deref(), connected,
            certificate_expiration_ms,
        );
    }

    #[test]
    fn well_formed_conditions_always_parse(
        path in prop::collection::vec(
            prop_oneof![Just(".a".to_owned()), Just(".b1".to_owned()), "\\[[0-9]\\]"],
            0..4,
        ),
        op in prop_oneof![Just("=="), Just("!="), Just("<"), Just("<="), Just(">"), Just(">=")],
        value in "[A-Za-z0-9.]{1,8}",
        body in proptest::option::of(body_text()),
    ) {
        let text = format!("[BODY]{} {op} {value}", path.concat());
        let condition: Condition = text.parse().map_err(|e: ConditionError| {
            TestCaseError::fail(format!("{e}\n{}", e.caret()))
        })?;
        let ctx = Context { body: body.as_deref().map(Body::new), ..Context::default() };
        let _ = condition.evaluate(&ctx);
    }
}
