//! Checks against real local servers: HTTP redirects, body caps, methods, headers, timeouts;
//! TCP connects.

use std::time::Duration;

use foghorn_core::check::{
    http_client, run_http, run_tcp, HttpProbe, TcpProbe, TlsOptions, MAX_BODY,
};
use foghorn_core::condition::Condition;
use foghorn_core::config::FollowRedirects;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `respond(request_head)` to every connection; returns the base URL.
async fn serve(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let respond = std::sync::Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let _ = socket.write_all(&respond(&head)).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn response(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn client() -> reqwest::Client {
    http_client(&TlsOptions::default()).expect("client")
}

fn probe(url: String, conditions: &[&str]) -> HttpProbe {
    HttpProbe {
        url,
        method: reqwest::Method::GET,
        headers: Default::default(),
        body: None,
        timeout: Duration::from_secs(5),
        conditions: conditions
            .iter()
            .map(|c| c.parse::<Condition>().expect("valid condition"))
            .collect(),
        tls: TlsOptions::default(),
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_fails_and_says_where() {
    let other = serve(|_| response("200 OK", "", b"login page")).await;
    let location = format!(
        "location: {}/login\r\n",
        other.replace("127.0.0.1", "localhost")
    );
    let url = serve(move |_| response("302 Found", &location, b"")).await;
    let result = run_http(&client(), &probe(format!("{url}/health"), &[])).await;
    assert!(!result.ok);
    let error = result.error.expect("an error");
    assert!(
        error.contains("redirected to another host") && error.contains("localhost"),
        "{error}"
    );
}

#[tokio::test]
async fn follow_redirects_any_follows_to_another_host_and_none_follows_nothing() {
    let other = serve(|_| response("200 OK", "", b"moved here")).await;
    let location = format!(
        "location: {}/new\r\n",
        other.replace("127.0.0.1", "localhost")
    );
    let url = serve(move |_| response("302 Found", &location, b"")).await;
    let any = http_client(&TlsOptions {
        redirects: FollowRedirects::Any,
        ..TlsOptions::default()
    })
    .expect("client");
    let result = run_http(&any, &probe(format!("{url}/old"), &["[STATUS] == 200"])).await;
    assert!(result.ok, "{result:?}");

    let none = TlsOptions {
        redirects: FollowRedirects::None,
        ..TlsOptions::default()
    };
    let mut same_host = probe(format!("{url}/old"), &[]);
    same_host.tls = none.clone();
    let result = run_http(&http_client(&none).expect("client"), &same_host).await;
    assert!(!result.ok);
    assert!(
        result
            .error
            .as_deref()
            .is_some_and(|e| e.contains("does not follow redirects")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_redirect_within_the_host_is_followed() {
    let url = serve(|head| {
        if head.starts_with("GET /health ") {
            response("301 Moved Permanently", "location: /healthz\r\n", b"")
        } else {
            response("200 OK", "", br#"{"status":"ok"}"#)
        }
    })
    .await;
    let result = run_http(
        &client(),
        &probe(
            format!("{url}/health"),
            &["[STATUS] == 200", "[BODY].status == ok"],
        ),
    )
    .await;
    assert!(result.ok, "{result:?}");
}

#[tokio::test]
async fn a_huge_body_is_read_only_up_to_the_cap() {
    let huge = vec![b'x'; MAX_BODY * 3];
    let url = serve(move |_| response("200 OK", "", &huge)).await;
    let result = run_http(
        &client(),
        &probe(url, &[&format!("len([BODY]) == {MAX_BODY}")]),
    )
    .await;
    assert!(result.ok, "{:?}", result.outcomes);
}

#[tokio::test]
async fn method_headers_and_body_are_sent() {
    let url = serve(|head| {
        let ok = head.starts_with("POST /hook ")
            && head.to_ascii_lowercase().contains("x-token: abc")
            && head.ends_with("ping");
        response(if ok { "200 OK" } else { "400 Bad Request" }, "", b"")
    })
    .await;
    let mut p = probe(format!("{url}/hook"), &["[STATUS] == 200"]);
    p.method = reqwest::Method::POST;
    p.headers.insert(
        "X-Token".into(),
        foghorn_core::secret::Confidential::Clear("abc".into()),
    );
    p.body = Some("ping".into());
    let result = run_http(&client(), &p).await;
    assert!(result.ok, "{result:?}");
}

#[tokio::test]
async fn a_slow_target_times_out_with_a_clear_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accepts and never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut p = probe(format!("http://{addr}/"), &["[STATUS] == 200"]);
    p.timeout = Duration::from_millis(300);
    let result = run_http(&client(), &p).await;
    assert!(!result.ok);
    assert_eq!(result.error.as_deref(), Some("timed out after 300ms"));
    assert_eq!(result.outcomes[0].resolved, "[STATUS] (unavailable) == 200");
}

#[tokio::test]
async fn without_conditions_a_non_2xx_answer_fails() {
    let url = serve(|_| response("500 Internal Server Error", "", b"")).await;
    let result = run_http(&client(), &probe(url, &[])).await;
    assert!(!result.ok);
    assert_eq!(
        result.error.as_deref(),
        Some("HTTP 500 Internal Server Error")
    );
}

fn tcp(port: u16, conditions: &[&str]) -> TcpProbe {
    TcpProbe {
        host: "127.0.0.1".into(),
        port,
        timeout: Duration::from_secs(2),
        conditions: conditions
            .iter()
            .map(|c| c.parse::<Condition>().expect("valid condition"))
            .collect(),
    }
}

#[tokio::test]
async fn tcp_checks_report_connected_and_ip() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let result = run_tcp(&tcp(port, &["[CONNECTED] == true", "[IP] == 127.0.0.1"])).await;
    assert!(result.ok, "{result:?}");
    drop(listener);
    let result = run_tcp(&tcp(port, &["[CONNECTED] == true"])).await;
    assert!(!result.ok);
    assert_eq!(result.outcomes[0].resolved, "[CONNECTED] (false) == true");
    assert!(result.error.expect("error").starts_with("cannot connect"));
}

/// An HTTPS server on 127.0.0.1 whose certificate (for `localhost`) is signed by a fresh CA
/// and expires in `days`; returns its URL and the CA's PEM.
async fn https_server(days: i64) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use tokio_rustls::rustls;

    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).expect("leaf");
    leaf_params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("signed");

    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    )
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(socket).await {
                    let mut buf = vec![0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls.write_all(&response("200 OK", "", b"ok")).await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (format!("https://localhost:{port}/"), ca.pem())
}

#[tokio::test]
async fn certificate_expiration_is_read_from_the_peer_certificate() {
    let (url, ca_pem) = https_server(10).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write ca");

    let mut trusted = probe(
        url.clone(),
        &[
            "[STATUS] == 200",
            "[CERTIFICATE_EXPIRATION] > 48h",
            "[CERTIFICATE_EXPIRATION] < 30d",
        ],
    );
    trusted.tls.ca_file = Some(ca_file);
    let result = run_http(&http_client(&trusted.tls).expect("client"), &trusted).await;
    assert!(result.ok, "{result:?}");

    // Untrusted by default: the check fails on the certificate, not on a condition.
    let untrusted = probe(url.clone(), &["[STATUS] == 200"]);
    let result = run_http(&client(), &untrusted).await;
    assert!(!result.ok);
    assert!(
        result.error.expect("error").contains("certificate"),
        "says why"
    );

    // `insecure` accepts it and still reads its date.
    let mut insecure = probe(url, &["[CERTIFICATE_EXPIRATION] > 30d"]);
    insecure.tls.insecure = true;
    let result = run_http(&http_client(&insecure.tls).expect("client"), &insecure).await;
    assert!(!result.ok);
    let resolved = &result.outcomes[0].resolved;
    assert!(
        resolved.starts_with("[CERTIFICATE_EXPIRATION] (9d")
            || resolved.starts_with("[CERTIFICATE_EXPIRATION] (10d)"),
        "about ten days left: {resolved}"
    );
}

/// Plain HTTP has no certificate: `[CERTIFICATE_EXPIRATION]` reads 0 there, as in Gatus.
#[tokio::test]
async fn plain_http_has_no_certificate_time_left() {
    let url = serve(|_| response("200 OK", "", b"ok")).await;
    let zero = probe(url.clone(), &["[CERTIFICATE_EXPIRATION] == 0"]);
    let result = run_http(&client(), &zero).await;
    assert!(result.ok, "{result:?}");
    let result = run_http(&client(), &probe(url, &["[CERTIFICATE_EXPIRATION] > 48h"])).await;
    assert!(!result.ok);
    assert_eq!(
        result.outcomes[0].resolved,
        "[CERTIFICATE_EXPIRATION] (0s) > 48h"
    );
}

#[test]
fn an_unreadable_ca_file_is_named() {
    let err = http_client(&TlsOptions {
        insecure: false,
        ca_file: Some("/nonexistent/ca.pem".into()),
        ..TlsOptions::default()
    })
    .expect_err("missing file");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}
