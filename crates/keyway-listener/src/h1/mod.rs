//! Keyway's own HTTP/1.1 server connection, in place of hyper's for the
//! client-facing listeners (hyper stays for h2c, which is handed over
//! when a connection opens with the HTTP/2 preface).
//!
//! hyper's server connection is general: a dispatcher between a codec
//! and a service, the request body behind a channel, the response head
//! encoded into its own buffer. This loop is narrow: the head parsed with
//! `httparse` into header values that share the read buffer; a body that
//! already sits whole in the buffer handed over as one piece (no sharing),
//! a longer one read off the socket as the handler polls it; the response
//! head written with the first piece of its body in one `writev`. callgrind
//! put hyper's server side at ~11,000 instructions per proxied request.
//!
//! Strictness lives in [`request`]: ambiguous framing is refused with
//! `400 request_malformed` (Keyway's problem+json), a head over 64 KiB or
//! 100 headers gets `431`. Keep-alive follows RFC 9112 §9.3, pipelined
//! requests are served in order, and the connection is closed when a
//! request body was left unread (unless what is left of it is already
//! buffered). Timeouts are the listener's watchdog's ([`crate::activity`]).

mod body;
mod date;
mod io;
mod request;
mod response;

pub(crate) use body::RequestBody;

use crate::activity::Activity;
use crate::request_body::{BodyRules, GuardedBody};
use crate::serve::Handler;
use crate::tracked_body::InFlight;
use body::{lock, Lent};
use bytes::{Bytes, BytesMut};
use keyway_core::refusals::Malformed;
use keyway_core::Refusal;
use keyway_h1::{Decoder, Framing, Source};
use request::{HeadError, MAX_HEAD_BYTES};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The first bytes of an HTTP/2 connection (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How a connection ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// Closed (by either side, or after a response that closes it).
    Closed,
    /// The client speaks HTTP/2: the socket and what was read of it.
    Http2(TcpStream, Bytes),
}

/// Serves HTTP/1.1 requests on `stream` until it closes, or until
/// `shutdown` is true after a response. (A connection idle when shutdown
/// begins is closed by its owner, [`crate::serve`]: waiting on the flag
/// here would register with the shared channel twice per request.)
pub(crate) async fn serve_connection<H: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    activity: Arc<Activity>,
    handler: &H,
    rules: BodyRules,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<Ended> {
    let stream = Arc::new(stream);
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut spans = Vec::with_capacity(16);
    let mut names = keyway_h1::head::Names::default();
    let mut out = Vec::with_capacity(1024);
    let mut first = true;
    loop {
        // The head.
        let head = loop {
            if first && !buf.is_empty() && H2_PREFACE.starts_with(&buf[..buf.len().min(H2_PREFACE.len())]) {
                if buf.len() >= H2_PREFACE.len() {
                    return Ok(match Arc::try_unwrap(stream) {
                        Ok(stream) => Ended::Http2(stream, buf.freeze()),
                        Err(_) => Ended::Closed,
                    });
                }
            } else {
                match request::parse(&mut buf, &mut spans, &mut names) {
                    Ok(Some(head)) => break head,
                    Ok(None) if buf.len() > MAX_HEAD_BYTES => return refuse_head(&stream, &activity, HeadError::TooLarge).await,
                    Ok(None) => {}
                    Err(e) => return refuse_head(&stream, &activity, e).await,
                }
            }
            match std::future::poll_fn(|cx| io::poll_fill(&stream, &mut buf, cx)).await {
                Ok(0) => return Ok(Ended::Closed),
                Ok(_) => activity.on_read(),
                Err(e) => return Err(e),
            }
        };
        first = false;
        let request::Head { parts, framing, keep_alive, expect_continue } = head;
        let in_flight = InFlight::begin(activity.clone());
        let method = parts.method.clone();
        let version = parts.version;
        // The body: empty, whole in the buffer, or lent the buffer.
        let mut lent: Option<Arc<Mutex<Lent>>> = None;
        let body = match framing {
            Framing::Empty => RequestBody::Empty,
            Framing::Length(n) if (buf.len() as u64) >= n => {
                RequestBody::Whole(Some(buf.split_to(usize::try_from(n).unwrap_or(usize::MAX)).freeze()))
            }
            framing => {
                let shared = Arc::new(Mutex::new(Lent::new(
                    std::mem::take(&mut buf),
                    Decoder::new(framing),
                    stream.clone(),
                    expect_continue,
                )));
                lent = Some(shared.clone());
                RequestBody::Streaming(shared)
            }
        };
        let req = http::Request::from_parts(parts, GuardedBody::lean(body, rules));
        let resp = handler.handle(req, peer).await;
        // The buffer back, and whether the body was read to its end.
        let mut body_done = true;
        if let Some(shared) = lent {
            let mut lent = lock(&shared);
            buf = std::mem::take(&mut lent.buf);
            body_done = drain_buffered(&mut lent.decoder, &mut buf);
        }
        let keep = keep_alive && body_done && !*shutdown.borrow();
        let asked = response::Asked { method: &method, version, keep_alive: keep };
        let kept = response::write(&stream, &activity, &mut out, resp, asked).await?;
        drop(in_flight);
        if !kept {
            io::linger(&stream).await;
            return Ok(Ended::Closed);
        }
    }
}

/// Reads what is left of a body out of `buf` alone (no socket reads);
/// whether the body then ended, so the next request can follow.
fn drain_buffered(decoder: &mut Decoder, buf: &mut BytesMut) -> bool {
    struct Buffered<'a>(&'a mut BytesMut);
    impl Source for Buffered<'_> {
        fn buffer(&mut self) -> &mut BytesMut {
            self.0
        }
        fn poll_fill(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
            Poll::Pending
        }
    }
    let mut cx = Context::from_waker(Waker::noop());
    let mut src = Buffered(buf);
    loop {
        match decoder.poll_data(&mut src, &mut cx) {
            Poll::Ready(Some(Ok(_))) => {}
            Poll::Ready(None) => return decoder.is_done(),
            Poll::Ready(Some(Err(_))) | Poll::Pending => return false,
        }
    }
}

/// Answers a head that cannot be served, and ends the connection.
async fn refuse_head(stream: &TcpStream, activity: &Activity, why: HeadError) -> std::io::Result<Ended> {
    let bytes = match why {
        HeadError::Malformed(what) => crate::raw_refusal::response(&Refusal::request_malformed(Malformed::Head(&what))),
        HeadError::TooLarge => {
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
        }
    };
    io::write_all(stream, activity, &mut [std::io::IoSlice::new(&bytes)]).await?;
    io::linger(stream).await;
    Ok(Ended::Closed)
}
