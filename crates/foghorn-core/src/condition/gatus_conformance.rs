//! Gatus' own condition tests, run through Foghorn's parser and evaluator: every case gives
//! Gatus' verdict, or is one of the differences [`super`] documents, with its reason.
//!
//! The cases are `TestCondition_evaluate` of Gatus' `config/endpoint/condition_test.go`, at
//! commit 08c463542f56872a267e5b2e1e1cf421f0ea8a6a of <https://github.com/TwiN/gatus>, each
//! with its name, condition, result and expected success as Gatus wrote them.
//! Copyright TwiN and the Gatus contributors; licensed under the Apache License 2.0,
//! <https://www.apache.org/licenses/LICENSE-2.0>. Gatus' `Result` fields map onto
//! [`Context`]: `HTTPStatus` to `status`, `Body` to `body`, `Duration` to `response_time_ms`,
//! `IP`, `Connected`, and `CertificateExpiration` to `certificate_expiration_ms`. A field the
//! case leaves unset is one the check did not produce (`None`).

use super::*;

/// What one Gatus case sets on its `Result`.
#[derive(Debug, Clone, Copy)]
struct Res {
    status: Option<u16>,
    body: Option<&'static str>,
    response_time_ms: Option<u64>,
    ip: Option<&'static str>,
    connected: Option<bool>,
    certificate_expiration_ms: Option<i64>,
}

const NOTHING: Res = Res {
    status: None,
    body: None,
    response_time_ms: None,
    ip: None,
    connected: None,
    certificate_expiration_ms: None,
};

/// Gatus' empty `Result` in its one case that reads it, `[CERTIFICATE_EXPIRATION] == 0`: a
/// plain-HTTP answer, which has no certificate and reads 0 in Foghorn's HTTP check too.
const PLAIN_HTTP: Res = certificate(0);

const fn status(code: u16) -> Res {
    Res {
        status: Some(code),
        ..NOTHING
    }
}

const fn body(text: &'static str) -> Res {
    Res {
        body: Some(text),
        ..NOTHING
    }
}

const fn response_time(ms: u64) -> Res {
    Res {
        response_time_ms: Some(ms),
        ..NOTHING
    }
}

const fn ip(address: &'static str) -> Res {
    Res {
        ip: Some(address),
        ..NOTHING
    }
}

const fn connected(yes: bool) -> Res {
    Res {
        connected: Some(yes),
        ..NOTHING
    }
}

const fn certificate(ms: i64) -> Res {
    Res {
        certificate_expiration_ms: Some(ms),
        ..NOTHING
    }
}

impl Res {
    fn context(&self) -> Context<'static> {
        Context {
            status: self.status,
            response_time_ms: self.response_time_ms,
            body: self.body.map(Body::new),
            ip: self.ip,
            connected: self.connected,
            certificate_expiration_ms: self.certificate_expiration_ms,
            dns_rcode: None,
        }
    }
}

/// What Foghorn does with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Foghorn {
    /// Gatus' verdict.
    Agrees,
    /// Refuses the condition when the configuration loads, for the reason documented in
    /// [`super`] and the README in these words.
    Refuses(&'static str),
}

const AGREES: Foghorn = Foghorn::Agrees;

/// Name, condition, result, Gatus' expected success, and what Foghorn does.
#[rustfmt::skip]
const CASES: &[(&str, &str, Res, bool, Foghorn)] = &[
    ("ip", "[IP] == 127.0.0.1", ip("127.0.0.1"), true, AGREES),
    ("status", "[STATUS] == 200", status(200), true, AGREES),
    ("status-failure", "[STATUS] == 200", status(500), false, AGREES),
    ("status-using-less-than", "[STATUS] < 300", status(201), true, AGREES),
    ("status-using-less-than-failure", "[STATUS] < 300", status(404), false, AGREES),
    ("response-time-using-less-than", "[RESPONSE_TIME] < 500", response_time(50), true, AGREES),
    ("response-time-using-less-than-with-duration", "[RESPONSE_TIME] < 1s", response_time(50), true, AGREES),
    ("response-time-using-less-than-invalid", "[RESPONSE_TIME] < potato", response_time(50), false, AGREES),
    ("response-time-using-greater-than", "[RESPONSE_TIME] > 500", response_time(750), true, AGREES),
    ("response-time-using-greater-than-with-duration", "[RESPONSE_TIME] > 1s", response_time(2000), true, AGREES),
    ("response-time-using-greater-than-or-equal-to-equal", "[RESPONSE_TIME] >= 500", response_time(500), true, AGREES),
    ("response-time-using-greater-than-or-equal-to-greater", "[RESPONSE_TIME] >= 500", response_time(499), false, AGREES),
    ("response-time-using-greater-than-or-equal-to-failure", "[RESPONSE_TIME] >= 500", response_time(499), false, AGREES),
    ("response-time-using-less-than-or-equal-to-equal", "[RESPONSE_TIME] <= 500", response_time(500), true, AGREES),
    ("response-time-using-less-than-or-equal-to-less", "[RESPONSE_TIME] <= 500", response_time(25), true, AGREES),
    ("response-time-using-less-than-or-equal-to-failure", "[RESPONSE_TIME] <= 500", response_time(750), false, AGREES),
    ("body", "[BODY] == test", body("test"), true, AGREES),
    ("body-resolved-on-success", "[BODY].status == UP", body("{\"status\":\"UP\"}"), true, AGREES),
    ("body-numerical-equal", "[BODY] == 123", body("123"), true, AGREES),
    ("body-numerical-less-than", "[BODY] < 124", body("123"), true, AGREES),
    ("body-numerical-greater-than", "[BODY] > 122", body("123"), true, AGREES),
    ("body-numerical-greater-than-failure", "[BODY] > 123", body("100"), false, AGREES),
    ("body-jsonpath", "[BODY].status == UP", body("{\"status\":\"UP\"}"), true, AGREES),
    ("body-jsonpath-complex", "[BODY].data.name == john", body("{\"data\": {\"id\": 1, \"name\": \"john\"}}"), true, AGREES),
    ("body-jsonpath-complex-invalid", "[BODY].data.name == john", body("{\"data\": {\"id\": 1}}"), false, AGREES),
    ("body-jsonpath-complex-len-invalid", "len([BODY].data.name) == john", body("{\"data\": {\"id\": 1}}"), false, AGREES),
    ("body-jsonpath-double-placeholder", "[BODY].user.firstName != [BODY].user.lastName", body("{\"user\": {\"firstName\": \"john\", \"lastName\": \"doe\"}}"), true, AGREES),
    ("body-jsonpath-double-placeholder-failure", "[BODY].user.firstName == [BODY].user.lastName", body("{\"user\": {\"firstName\": \"john\", \"lastName\": \"doe\"}}"), false, AGREES),
    ("body-jsonpath-when-body-is-array", "[BODY][0].id == 1", body("[{\"id\": 1}, {\"id\": 2}]"), true, AGREES),
    ("body-jsonpath-when-body-has-null-parameter", "[BODY].data == OK", body(r#"{"data": null}""#), false, AGREES),
    ("body-jsonpath-when-body-has-array-with-null", "[BODY].items[0] == OK", body(r#"{"items": [null, null]}""#), false, AGREES),
    ("body-jsonpath-when-body-is-null", "[BODY].data == OK", body(r#"null"#), false, AGREES),
    ("body-jsonpath-when-body-is-array-but-actual-body-is-not", "[BODY][0].name == test", body("{\"statusCode\": 500, \"message\": \"Internal Server Error\"}"), false, AGREES),
    ("body-jsonpath-complex-int", "[BODY].data.id == 1", body("{\"data\": {\"id\": 1}}"), true, AGREES),
    ("body-jsonpath-complex-array-int", "[BODY].data[1].id == 2", body("{\"data\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}]}"), true, AGREES),
    ("body-jsonpath-complex-int-using-greater-than", "[BODY].data.id > 0", body("{\"data\": {\"id\": 1}}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-using-greater-than", "[BODY].data > 0", body("{\"data\": \"0x1\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-using-equal-to-0x1", "[BODY].data == 1", body("{\"data\": \"0x1\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-using-equals", "[BODY].data == 0x1", body("{\"data\": \"0x1\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-using-equal-to-0x2", "[BODY].data == 2", body("{\"data\": \"0x2\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-using-equal-to-0xF", "[BODY].data == 15", body("{\"data\": \"0xF\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-using-equal-to-0xC0ff33", "[BODY].data == 12648243", body("{\"data\": \"0xC0ff33\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-len", "len([BODY].data) == 3", body("{\"data\": \"0x1\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-greater", "[BODY].data >= 1", body("{\"data\": \"0x01\"}"), true, AGREES),
    ("body-jsonpath-hexadecimal-int-0x01-len", "len([BODY].data) == 4", body("{\"data\": \"0x01\"}"), true, AGREES),
    ("body-jsonpath-octal-int-using-greater-than", "[BODY].data > 0", body("{\"data\": \"0o1\"}"), true, AGREES),
    ("body-jsonpath-octal-int-using-equal", "[BODY].data == 2", body("{\"data\": \"0o2\"}"), true, AGREES),
    ("body-jsonpath-octal-int-using-equals", "[BODY].data == 0o2", body("{\"data\": \"0o2\"}"), true, AGREES),
    ("body-jsonpath-binary-int-using-greater-than", "[BODY].data > 0", body("{\"data\": \"0b1\"}"), true, AGREES),
    ("body-jsonpath-binary-int-using-equal", "[BODY].data == 2", body("{\"data\": \"0b0010\"}"), true, AGREES),
    ("body-jsonpath-binary-int-using-equals", "[BODY].data == 0b10", body("{\"data\": \"0b0010\"}"), true, AGREES),
    ("body-jsonpath-complex-int-using-greater-than-failure", "[BODY].data.id > 5", body("{\"data\": {\"id\": 1}}"), false, AGREES),
    ("body-jsonpath-float-using-greater-than-issue433", "[BODY].balance > 100", body(r#"{"balance": "123.40000000000005"}"#), true, AGREES),
    ("body-jsonpath-complex-int-using-less-than", "[BODY].data.id < 5", body("{\"data\": {\"id\": 2}}"), true, AGREES),
    ("body-jsonpath-complex-int-using-less-than-failure", "[BODY].data.id < 5", body("{\"data\": {\"id\": 10}}"), false, AGREES),
    ("connected", "[CONNECTED] == true", connected(true), true, AGREES),
    ("connected-failure", "[CONNECTED] == true", connected(false), false, AGREES),
    ("certificate-expiration-not-set", "[CERTIFICATE_EXPIRATION] == 0", PLAIN_HTTP, true, AGREES),
    ("certificate-expiration-greater-than-numerical", "[CERTIFICATE_EXPIRATION] > 2419200000", certificate(5184000000), true, AGREES),
    ("certificate-expiration-greater-than-numerical-failure", "[CERTIFICATE_EXPIRATION] > 2419200000", certificate(1209600000), false, AGREES),
    ("certificate-expiration-greater-than-duration", "[CERTIFICATE_EXPIRATION] > 12h", certificate(86400000), true, AGREES),
    ("certificate-expiration-greater-than-duration", "[CERTIFICATE_EXPIRATION] > 48h", certificate(86400000), false, AGREES),
    ("no-placeholders", "1 == 2", NOTHING, false, Foghorn::Refuses("two fixed values")),
    ("len-body-jsonpath-complex", "len([BODY].data.name) == 4", body("{\"data\": {\"name\": \"john\"}}"), true, AGREES),
    ("len-body-array", "len([BODY]) == 3", body("[{\"id\": 1}, {\"id\": 2}, {\"id\": 3}]"), true, AGREES),
    ("len-body-keyed-array", "len([BODY].data) == 3", body("{\"data\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}]}"), true, AGREES),
    ("len-body-array-invalid", "len([BODY].data) == 8", body("{\"name\": \"john.doe\"}"), false, AGREES),
    ("len-body-string", "len([BODY]) == 8", body("john.doe"), true, AGREES),
    ("len-body-keyed-string", "len([BODY].name) == 8", body("{\"name\": \"john.doe\"}"), true, AGREES),
    ("len-body-keyed-int", "len([BODY].age) == 2", body(r#"{"age":18}"#), true, AGREES),
    ("len-body-keyed-bool", "len([BODY].adult) == 4", body(r#"{"adult":true}"#), true, AGREES),
    ("len-body-object-inside-array", "len([BODY][0]) == 23", body(r#"[{"age":18,"adult":true}]"#), true, AGREES),
    ("len-body-object-keyed-int-inside-array", "len([BODY][0].age) == 2", body(r#"[{"age":18,"adult":true}]"#), true, AGREES),
    ("len-body-keyed-bool-inside-array", "len([BODY][0].adult) == 4", body(r#"[{"age":18,"adult":true}]"#), true, AGREES),
    ("len-body-object", "len([BODY]) == 20", body("{\"name\": \"john.doe\"}"), true, AGREES),
    ("pat-body-1", "[BODY] == pat(*john*)", body("{\"name\": \"john.doe\"}"), true, AGREES),
    ("pat-body-2", "[BODY].name == pat(john*)", body("{\"name\": \"john.doe\"}"), true, AGREES),
    ("pat-body-failure", "[BODY].name == pat(bob*)", body("{\"name\": \"john.doe\"}"), false, AGREES),
    ("pat-body-html", "[BODY] == pat(*<div id=\"user\">john.doe</div>*)", body(r#"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">john.doe</div></body></html>"#), true, AGREES),
    ("pat-body-html-failure", "[BODY] == pat(*<div id=\"user\">john.doe</div>*)", body(r#"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">jane.doe</div></body></html>"#), false, AGREES),
    ("pat-body-html-failure-alt", "pat(*<div id=\"user\">john.doe</div>*) == [BODY]", body(r#"<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" /></head><body><div id="user">jane.doe</div></body></html>"#), false, AGREES),
    ("pat-body-in-array", "[BODY].data == pat(*Whatever*)", body("{\"data\": [\"hello\", \"world\", \"Whatever\"]}"), true, AGREES),
    ("pat-ip", "[IP] == pat(10.*)", ip("10.0.0.0"), true, AGREES),
    ("pat-ip-failure", "[IP] == pat(10.*)", ip("255.255.255.255"), false, AGREES),
    ("pat-status", "[STATUS] == pat(4*)", status(404), true, AGREES),
    ("pat-status-failure", "[STATUS] == pat(4*)", status(200), false, AGREES),
    ("any-body-1", "[BODY].name == any(john.doe, jane.doe)", body("{\"name\": \"john.doe\"}"), true, AGREES),
    ("any-body-2", "[BODY].name == any(john.doe, jane.doe)", body("{\"name\": \"jane.doe\"}"), true, AGREES),
    ("any-body-failure", "[BODY].name == any(john.doe, jane.doe)", body("{\"name\": \"bob\"}"), false, AGREES),
    ("any-status-1", "[STATUS] == any(200, 429)", status(200), true, AGREES),
    ("any-status-2", "[STATUS] == any(200, 429)", status(429), true, AGREES),
    ("any-status-reverse", "any(200, 429) == [STATUS]", status(429), true, AGREES),
    ("any-status-failure", "[STATUS] == any(200, 429)", status(404), false, AGREES),
    ("any-status-failure-but-dont-resolve", "[STATUS] == any(200, 429)", status(404), false, AGREES),
    ("has", "has([BODY].errors) == false", body("{}"), true, AGREES),
    ("has-key-of-map", "has([BODY].article) == true", body("{\n  \"article\": {\n    \"id\": 123,\n    \"title\": \"Hello, world!\",\n    \"author\": \"John Doe\",\n    \"tags\": [\"hello\", \"world\"],\n    \"content\": \"I really like Gatus!\"\n  }\n}"), true, AGREES),
    ("has-failure", "has([BODY].errors) == false", body("{\"errors\": [\"1\"]}"), false, AGREES),
    ("has-failure-but-dont-resolve", "has([BODY].errors) == false", body("{\"errors\": [\"1\"]}"), false, AGREES),
];

/// Foghorn's verdict: `None` when it refuses the condition at load.
fn verdict(condition: &str, result: &Res) -> Option<bool> {
    let condition: Condition = condition.parse().ok()?;
    Some(condition.evaluate(&result.context()).ok)
}

#[test]
fn gatus_own_condition_cases_give_gatus_verdict_or_a_documented_difference() {
    assert_eq!(CASES.len(), 98, "every case of TestCondition_evaluate");
    let mut wrong = Vec::new();
    let mut agreeing = 0;
    for (name, condition, result, gatus, foghorn) in CASES {
        let got = verdict(condition, result);
        if got == Some(*gatus) {
            agreeing += 1;
        }
        let expected = match foghorn {
            Foghorn::Agrees => Some(*gatus),
            Foghorn::Refuses(_) => None,
        };
        if got != expected {
            wrong.push(format!(
                "{name}: `{condition}` gives {got:?}, expected {expected:?} (Gatus: {gatus})"
            ));
        }
    }
    println!("{agreeing} of {} cases give Gatus' verdict", CASES.len());
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    assert_eq!(agreeing, 97, "all but the documented differences");
}

/// Every difference the table expects is documented where users and maintainers read it.
#[test]
fn every_difference_in_the_table_is_documented() {
    let module = include_str!("mod.rs");
    let readme = include_str!("../../../../README.md");
    for (name, _, _, _, foghorn) in CASES {
        if let Foghorn::Refuses(reason) = foghorn {
            assert!(
                module.contains(reason),
                "{name}: {reason:?} is not in mod.rs"
            );
            assert!(
                readme.contains(reason),
                "{name}: {reason:?} is not in the README"
            );
        }
    }
}
