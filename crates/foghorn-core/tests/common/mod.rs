//! Local servers shared by the integration tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An HTTP target on `ip` answering 200 or 503 as `healthy` says; abort the handle to make
/// its port refuse connections.
pub async fn target(ip: &str, healthy: Arc<AtomicBool>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let status = if healthy.load(Ordering::SeqCst) {
                "200 OK"
            } else {
                "503 Down"
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let reply =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}/"), task)
}
