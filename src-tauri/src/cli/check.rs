//! `foghorn check URL --condition C …`: one check now, one line per condition, so a user can
//! try a condition before saving it. Errors point at the offending character.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use foghorn_core::check::{self, CheckResult, DnsProbe, HttpProbe, Probe, TcpProbe, TlsOptions};
use foghorn_core::condition::Condition;
use foghorn_core::config::FollowRedirects;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The URL to check: http://, https://, tcp://host:port for a TCP connect, or
    /// dns://resolver[:port] with --query-name for a DNS query.
    pub url: String,
    /// A Gatus-style condition, e.g. "[STATUS] == 200"; repeat for several.
    #[arg(long = "condition", short = 'c', value_name = "CONDITION")]
    pub conditions: Vec<String>,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// A request header, "Name: value"; repeat for several.
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// The request body.
    #[arg(long)]
    pub body: Option<String>,
    /// Give up after this long.
    #[arg(long, default_value = "10s", value_parser = super::humantime_duration)]
    pub timeout: Duration,
    /// Accept any TLS certificate (self-signed, expired, wrong host).
    #[arg(long)]
    pub insecure: bool,
    /// Also trust the certificate authorities in this PEM file.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Follow redirects to other hosts too (by default only within the same host).
    #[arg(long)]
    pub follow_redirects: bool,
    /// The name a dns:// check asks for.
    #[arg(long, value_name = "NAME")]
    pub query_name: Option<String>,
    /// The record type a dns:// check asks for.
    #[arg(long, value_name = "TYPE", default_value = "A")]
    pub query_type: String,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Exit codes, as documented in `--help`.
const FAILED: u8 = 1;
const INVALID: u8 = 2;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    url: &'a str,
    #[serde(flatten)]
    result: &'a CheckResult,
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let probe = match probe(args) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("foghorn check: {message}");
            return ExitCode::from(INVALID);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("foghorn check: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(probe.run(&check::Clients::default()));
    if args.json {
        let report = Report {
            url: &args.url,
            result: &result,
        };
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("foghorn check: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print_lines(&args.url, &result);
    }
    if result.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    }
}

fn print_lines(url: &str, result: &CheckResult) {
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mark = |ok: bool| match (ok, colour) {
        (true, true) => "\x1b[32m✓\x1b[0m",
        (false, true) => "\x1b[31m✗\x1b[0m",
        (true, false) => "✓",
        (false, false) => "✗",
    };
    for outcome in &result.outcomes {
        println!("{} {}", mark(outcome.ok), outcome.resolved);
    }
    // A transport problem (refused, timed out, redirected away) is not one of the conditions.
    if let Some(error) = &result.error {
        if !result.outcomes.iter().any(|o| &o.resolved == error) {
            println!("{} {error}", mark(false));
        }
    }
    let latency = result
        .latency_ms
        .map_or(String::new(), |l| format!(" in {l} ms"));
    println!(
        "{}: {url}{latency}",
        if result.ok { "PASS" } else { "FAIL" }
    );
}

fn probe(args: &CheckArgs) -> Result<Probe, String> {
    let url = url::Url::parse(&args.url)
        .map_err(|e| format!("{:?} is not a valid URL: {e}", args.url))?;
    let conditions = conditions(args)?;
    match (url.scheme(), url.host_str(), url.port()) {
        ("http" | "https", Some(_), _) => {}
        ("http" | "https", None, _) => return Err(format!("{:?} has no host", args.url)),
        ("tcp", Some(host), Some(port)) => {
            return Ok(Probe::Tcp(TcpProbe {
                host: host.trim_matches(['[', ']']).to_owned(),
                port,
                timeout: args.timeout,
                conditions,
            }))
        }
        ("tcp", _, _) => return Err(format!("{:?}: a TCP check needs tcp://HOST:PORT", args.url)),
        ("dns", Some(host), port) => {
            let name = args
                .query_name
                .clone()
                .ok_or_else(|| format!("{:?}: a DNS check needs --query-name NAME", args.url))?;
            let record_type = args.query_type.to_ascii_uppercase();
            if !foghorn_core::config::DNS_QUERY_TYPES.contains(&record_type.as_str()) {
                return Err(format!(
                    "unknown DNS query type {:?}; use one of {}",
                    args.query_type,
                    foghorn_core::config::DNS_QUERY_TYPES.join(", ")
                ));
            }
            let host = host.trim_matches(['[', ']']);
            let resolver = if host.contains(':') {
                format!("[{host}]:{}", port.unwrap_or(53))
            } else {
                format!("{host}:{}", port.unwrap_or(53))
            };
            return Ok(Probe::Dns(DnsProbe {
                resolver,
                name,
                record_type,
                timeout: args.timeout,
                conditions,
            }));
        }
        (scheme, _, _) => {
            return Err(format!(
            "{:?}: only http://, https://, tcp:// and dns:// URLs can be checked, not {scheme}://",
            args.url
        ))
        }
    }
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("{:?} is not an HTTP method", args.method))?;
    let mut headers = BTreeMap::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} must be written \"Name: value\""))?;
        let name = name.trim();
        reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header {h:?}: {name:?} is not a valid header name"))?;
        // `-H "Authorization: env:API_TOKEN"` keeps the token out of the shell history.
        let value = foghorn_core::secret::Confidential::parse(value.trim())
            .map_err(|e| format!("header {name:?}: {e}"))?;
        headers.insert(name.to_owned(), value);
    }
    Ok(Probe::Http(HttpProbe {
        url: args.url.clone(),
        method,
        headers,
        body: args.body.clone(),
        timeout: args.timeout,
        conditions,
        tls: TlsOptions {
            insecure: args.insecure,
            ca_file: args.ca_file.clone(),
            redirects: if args.follow_redirects {
                FollowRedirects::Any
            } else {
                FollowRedirects::SameHost
            },
        },
    }))
}

/// Parses every `--condition`; the first invalid one is reported with a caret.
fn conditions(args: &CheckArgs) -> Result<Vec<Condition>, String> {
    args.conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.parse::<Condition>().map_err(|e| {
                format!(
                    "condition {} is invalid: {}\n  {}",
                    i + 1,
                    e.message,
                    e.caret().replace('\n', "\n  ")
                )
            })
        })
        .collect()
}
