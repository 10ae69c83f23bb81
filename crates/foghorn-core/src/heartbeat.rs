//! The heartbeat listener: jobs that cannot be polled (backups, cron jobs, queue workers)
//! ping Foghorn instead, and silence is the alarm.
//!
//! `GET` or `POST /heartbeat/{monitor-id}` records a success; `/heartbeat/{monitor-id}/fail`
//! a failure, with an optional `?msg=` or request body (up to 1 KiB) as the reason. With a
//! token configured, the request carries `Authorization: Bearer TOKEN` or `?token=TOKEN`.

use std::convert::Infallible;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::engine::{Engine, EngineError};

/// A failure message longer than this is cut: it ends up in a notification.
const MAX_MESSAGE: usize = 1024;

/// Accepts pings until the task is dropped.
pub async fn serve(listener: TcpListener, engine: Engine, token: Option<String>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "heartbeat listener: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let engine = engine.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let engine = engine.clone();
                let token = token.clone();
                async move { Ok::<_, Infallible>(handle(req, &engine, token.as_deref()).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "heartbeat connection ended");
            }
        });
    }
}

fn reply(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let mut text = text.into();
    text.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

/// The value of `key` in a query string, percent-decoded.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn handle(
    req: Request<Incoming>,
    engine: &Engine,
    token: Option<&str>,
) -> Response<Full<Bytes>> {
    if !matches!(*req.method(), Method::GET | Method::POST | Method::HEAD) {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST");
    }
    let query = req.uri().query().map(str::to_owned);
    if let Some(expected) = token {
        let bearer = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let given = bearer.or_else(|| query_value(query.as_deref(), "token"));
        if given.as_deref() != Some(expected) {
            return reply(StatusCode::UNAUTHORIZED, "missing or wrong heartbeat token");
        }
    }
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/heartbeat/") else {
        return reply(StatusCode::NOT_FOUND, "ping /heartbeat/MONITOR-ID");
    };
    let (id, ok) = match rest.strip_suffix("/fail") {
        Some(id) => (id.to_owned(), false),
        None => (rest.trim_end_matches('/').to_owned(), true),
    };
    let mut message = query_value(query.as_deref(), "msg");
    if !ok && message.is_none() {
        if let Ok(body) = Limited::new(req.into_body(), MAX_MESSAGE * 4)
            .collect()
            .await
        {
            let text = String::from_utf8_lossy(&body.to_bytes()).trim().to_owned();
            message = (!text.is_empty()).then_some(text);
        }
    }
    let message = message.map(|m| m.chars().take(MAX_MESSAGE).collect());
    match engine.heartbeat(&id, ok, message).await {
        Ok(()) => reply(StatusCode::OK, "ok"),
        Err(EngineError::UnknownMonitor(id)) => {
            reply(StatusCode::NOT_FOUND, format!("no monitor {id:?}"))
        }
        Err(EngineError::NotHeartbeat(id)) => reply(
            StatusCode::CONFLICT,
            format!("{id:?} is polled by Foghorn, not a heartbeat monitor"),
        ),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
