//! Reading a socket into a buffer with one system call per arrival.

use bytes::BytesMut;
use std::io;
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// How much room a read is given.
const READ_ROOM: usize = 8 * 1024;

/// Reads more bytes from `stream` into `buf`; `Ok(0)` at end of stream.
///
/// A read that fills less than the room it had has drained the socket,
/// so the stream's readiness is cleared there and then, as tokio's own
/// `poll_read` does: the next read waits for the reactor instead of
/// trying the socket once more only to get `EAGAIN` (strace put that
/// wasted `recvfrom` at 0.4 per proxied request). A later arrival
/// raises a new edge, so nothing is missed.
pub fn poll_read_buf(stream: &TcpStream, buf: &mut BytesMut, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    if buf.capacity() - buf.len() < READ_ROOM / 4 {
        buf.reserve(READ_ROOM);
    }
    loop {
        std::task::ready!(stream.poll_read_ready(cx))?;
        let room = buf.capacity() - buf.len();
        let mut got = None;
        let outcome = stream.try_io(Interest::READABLE, || {
            let n = stream.try_read_buf(buf)?;
            got = Some(n);
            if n > 0 && n < room {
                // Drained: clear the readiness along with this read.
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        match (outcome, got) {
            (_, Some(n)) => return Poll::Ready(Ok(n)),
            (Err(e), None) if e.kind() == io::ErrorKind::WouldBlock => continue,
            (Err(e), None) => return Poll::Ready(Err(e)),
            (Ok(n), None) => return Poll::Ready(Ok(n)),
        }
    }
}
