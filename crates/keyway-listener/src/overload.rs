//! The answer a client gets when its listener is at the connection limit:
//! `503 gateway_overloaded` in problem+json with `Retry-After`, written
//! straight to the socket (no request is parsed), then the connection is
//! closed.

use keyway_core::Refusal;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the refusal may take to write before the socket is dropped.
const WRITE_BUDGET: Duration = Duration::from_secs(1);

/// The whole HTTP/1.1 response, head and body.
pub fn response(listener: &str, max_connections: usize) -> Vec<u8> {
    crate::raw_refusal::response(&Refusal::gateway_overloaded(listener, max_connections))
}

/// Writes the refusal to `stream` and closes it. What the client sent is
/// read and discarded until it closes too (briefly), so that unread
/// bytes do not turn the close into a reset that loses the answer.
pub async fn refuse(mut stream: TcpStream, listener: &'static str, max_connections: usize) {
    let bytes = response(listener, max_connections);
    let _ = tokio::time::timeout(WRITE_BUDGET, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
