//! The contract-test harness itself: Prism accepts a request that follows the vendor's spec
//! and reports one that does not, so tests built on it can fail.

use anyhow::{ensure, Result};
use foghorn_e2e::prism::{spec, Prism};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prism_accepts_what_the_spec_allows_and_reports_what_it_does_not() -> Result<()> {
    let prism = Prism::mock(&spec("pagerduty-events-v2-openapiv3.json"))?;
    let client = reqwest::Client::new();
    let good = client
        .post(format!("{}/enqueue", prism.url()))
        .json(&serde_json::json!({
            "routing_key": "0123456789abcdef0123456789abcdef",
            "event_action": "trigger",
            "payload": { "summary": "api is down", "source": "foghorn", "severity": "critical" }
        }))
        .send()
        .await?;
    ensure!(good.status().is_success(), "{}", good.status());
    prism.assert_no_violations()?;

    let bad = client
        .post(format!("{}/enqueue", prism.url()))
        .json(&serde_json::json!({ "routing_key": 5, "event_action": "bogus" }))
        .send()
        .await?;
    ensure!(bad.status().is_client_error(), "{}", bad.status());
    let violations = prism.violations();
    ensure!(
        violations.iter().any(|v| v.contains("event_action")),
        "{violations:?}"
    );
    ensure!(prism.assert_no_violations().is_err());
    ensure!(
        prism
            .requests()
            .iter()
            .filter(|r| r.as_str() == "post /enqueue")
            .count()
            == 2,
        "{:?}",
        prism.requests()
    );
    Ok(())
}
