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
