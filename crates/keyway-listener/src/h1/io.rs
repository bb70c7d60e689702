//! Reading into the connection's buffer and writing whole responses on
//! a shared [`TcpStream`], reporting to the connection's [`Activity`].

use crate::activity::Activity;
use std::io::{self, IoSlice};
use tokio::net::TcpStream;

pub(crate) use keyway_h1::read::poll_read_buf as poll_fill;

/// Writes all of `bufs`; a write that cannot proceed is reported to
/// `activity`, whose watchdog bounds it with the send timeout.
pub(crate) async fn write_all(stream: &TcpStream, activity: &Activity, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match stream.try_write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                activity.on_write_progress();
                IoSlice::advance_slices(&mut bufs, n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                activity.on_write_blocked();
                stream.writable().await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Longest a closing connection keeps reading what the client still sends.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);
/// Most bytes read and dropped while lingering.
const LINGER_BYTES: usize = 256 * 1024;

/// Closes our side, then reads and drops what the client still sends
/// (briefly, boundedly): closing a socket with unread bytes sends a reset,
/// which can destroy the answer before the client read it (a 413 to an
/// upload still arriving, say).
pub(crate) async fn linger(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write);
    let _ = tokio::time::timeout(LINGER, async {
        let mut sink = [0u8; 4096];
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            if stream.readable().await.is_err() {
                return;
            }
            match stream.try_read(&mut sink) {
                Ok(0) => return,
                Ok(n) => dropped += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    })
    .await;
}
