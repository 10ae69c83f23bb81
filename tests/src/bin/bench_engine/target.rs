//! The monitored target: a tiny HTTP/1.1 responder on several loopback addresses, run as its
//! own process so its CPU is counted apart from the tool being measured.
//!
//! It answers every request with `200 ok` and closes the connection, so each check is a fresh
//! TCP connection, as blackbox_exporter makes. It must never be the bottleneck: it does no
//! parsing beyond finding the end of the headers, on a multi-threaded runtime.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

/// Serves on 127.0.0.1 … 127.0.0.`addresses` (all loopback: Linux routes the whole 127/8 to
/// `lo`), each on a port of its own, and prints the bound addresses on one line once ready.
/// Several addresses, because a per-host politeness limit in a monitoring tool would
/// otherwise cap the load that one host can receive; both tools see the same set.
pub fn serve(addresses: u8) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut bound = Vec::new();
        for i in 1..=addresses.max(1) {
            let ip = Ipv4Addr::new(127, 0, 0, i);
            let listener = TcpListener::bind(SocketAddr::from((ip, 0)))
                .await
                .with_context(|| format!("binding {ip}"))?;
            bound.push(listener);
        }
        let line: Vec<String> = bound
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .collect();
        println!("{}", line.join(" "));
        for listener in bound {
            tokio::spawn(accept(listener));
        }
        std::future::pending::<()>().await;
        Ok(())
    })
}

async fn accept(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                tokio::spawn(respond(socket));
            }
            // Out of file descriptors under a burst: back off instead of spinning.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
        }
    }
}

async fn respond(mut socket: TcpStream) {
    let mut buf = [0u8; 4096];
    let mut filled = 0;
    loop {
        match socket.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        if buf[..filled].windows(4).any(|w| w == b"\r\n\r\n") || filled == buf.len() {
            break;
        }
    }
    let _ = socket.write_all(RESPONSE).await;
    let _ = socket.shutdown().await;
}
