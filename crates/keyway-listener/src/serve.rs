//! The accept loop of one listener: a connection limit (one more gets
//! `503 gateway_overloaded`), accept errors backed off, HTTP/1.1 (Keyway's
//! own connection, [`crate::h1`]) with keep-alive, h2c by prior knowledge
//! (hyper's), a watchdog per connection for the header-read, idle and
//! send timeouts, request bodies under [`GuardedBody`], and a graceful
//! drain at shutdown.

use crate::accept::AcceptErrors;
use crate::activity::{watchdog, Activity, Expired};
use crate::request_body::{BodyRules, GuardedBody};
use crate::settings::ListenerSettings;
use crate::tracked_body::{InFlight, TrackedBody};
use crate::watched_io::{Rewind, WatchedIo};
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// What a listener serves: one request at a time, with its peer address.
pub trait Handler: Send + Sync + 'static {
    /// The response body.
    type Body: http_body::Body<Data = Bytes, Error = Self::Error> + Send + Unpin + 'static;
    /// The response body's error.
    type Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send;

    /// Answers `req` from `peer`.
    fn handle(&self, req: Request<GuardedBody>, peer: SocketAddr) -> impl Future<Output = Response<Self::Body>> + Send;
}

/// The metrics of one listener, registered at zero when it starts.
struct ListenerMetrics {
    open: metrics::Gauge,
    refused: metrics::Counter,
    header_read: metrics::Counter,
    idle: metrics::Counter,
    send: metrics::Counter,
}

impl ListenerMetrics {
    fn new(name: &'static str) -> Self {
        let open = metrics::gauge!("keyway_listener_connections", "listener" => name);
        open.set(0.0);
        let refused = metrics::counter!("keyway_listener_connections_refused_total", "listener" => name);
        refused.increment(0);
        let timeout = |kind: Expired| {
            let c = metrics::counter!("keyway_listener_timeouts_total", "listener" => name, "timeout" => kind.as_str());
            c.increment(0);
            c
        };
        Self {
            open,
            refused,
            header_read: timeout(Expired::HeaderRead),
            idle: timeout(Expired::Idle),
            send: timeout(Expired::Send),
        }
    }

    fn timed_out(&self, why: Expired) {
        match why {
            Expired::HeaderRead => &self.header_read,
            Expired::Idle => &self.idle,
            Expired::Send => &self.send,
        }
        .increment(1);
    }
}

/// Registers a listener's metrics (connections, refusals, timeouts,
/// accept errors) at zero.
pub(crate) fn register_metrics(name: &'static str) {
    drop(ListenerMetrics::new(name));
    drop(AcceptErrors::new(name));
}

/// Serves `handler` on `listener` until `shutdown` resolves, then waits up
/// to `drain` for in-flight requests to finish.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    settings: ListenerSettings,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let slots = ConnectionSlots::new(settings.max_connections);
    serve_with_slots(listener, settings, handler, slots, shutdown, drain).await;
}

/// The open connections a listener allows, shared by every socket and
/// thread serving it, so the limit is the listener's whatever the
/// kernel's spread of connections over sockets.
#[derive(Clone, Debug)]
pub struct ConnectionSlots {
    free: Arc<Semaphore>,
    max: usize,
}

impl ConnectionSlots {
    /// Room for `max` connections (at least one).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self { free: Arc::new(Semaphore::new(max)), max }
    }
}

/// [`serve`], drawing connections from `slots` (shared with the other
/// sockets of the same listener).
pub async fn serve_with_slots<H: Handler>(
    listener: TcpListener,
    settings: ListenerSettings,
    handler: Arc<H>,
    slots: ConnectionSlots,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let name = settings.name;
    let max = slots.max;
    let slots = slots.free;
    let settings = Arc::new(settings);
    let rules = BodyRules { limit: settings.max_body_bytes, idle: settings.body_read_timeout, total: settings.request_timeout };
    // Every connection holds a receiver: `true` asks it to finish, and
    // the sender's `closed()` is the drain's end.
    let (drain_tx, drain_rx) = watch::channel(false);
    let metrics = Arc::new(ListenerMetrics::new(name));
    let mut errors = AcceptErrors::new(name);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => {
                        errors.succeeded();
                        a
                    }
                    Err(e) => {
                        tokio::time::sleep(errors.failed(&e)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    metrics.refused.increment(1);
                    tokio::spawn(crate::overload::refuse(stream, name, max));
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let activity = Arc::new(Activity::new());
                let handler = handler.clone();
                let settings = settings.clone();
                let metrics = metrics.clone();
                let drain = drain_rx.clone();
                tokio::spawn(async move {
                    metrics.open.increment(1.0);
                    let tls = settings.tls.clone();
                    let (conn_activity, conn_drain) = (activity.clone(), drain.clone());
                    let served = async move {
                        match tls {
                            Some(tls) => tls_connection(stream, peer, conn_activity, handler, rules, conn_drain, &tls.0).await,
                            None => connection(stream, peer, conn_activity, handler, rules, conn_drain).await,
                        }
                    };
                    tokio::select! {
                        ended = served => {
                            if let Err(e) = ended {
                                tracing::debug!(error = %e, %peer, "connection ended with error");
                            }
                        }
                        why = watchdog(&activity, &settings) => {
                            metrics.timed_out(why);
                            tracing::debug!(%peer, timeout = why.as_str(), "connection closed by timeout");
                        }
                        () = idle_at_drain(drain, &activity) => {
                            tracing::debug!(%peer, "idle connection closed for shutdown");
                        }
                    }
                    metrics.open.decrement(1.0);
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drop(drain_rx);
    let _ = drain_tx.send(true);
    tokio::select! {
        () = drain_tx.closed() => tracing::info!(listener = name, "connections drained"),
        () = tokio::time::sleep(drain) => tracing::warn!(listener = name, ?drain, "drain deadline passed; closing remaining connections"),
    }
}

/// Resolves once shutdown has begun and the connection has no request in
/// flight (one in flight finishes first; its connection then closes
/// after the response).
async fn idle_at_drain(mut drain: watch::Receiver<bool>, activity: &Activity) {
    if drain.wait_for(|finish| *finish).await.is_err() {
        return std::future::pending().await;
    }
    while !activity.is_idle() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One request on one of hyper's connections: counted in flight until its
/// response body ends, its body guarded, the client's certificate (TLS)
/// attached.
fn serve_one<H: Handler>(
    handler: Arc<H>,
    activity: &Arc<Activity>,
    rules: BodyRules,
    peer: SocketAddr,
    client: Option<&crate::tls::PeerCertificate>,
    req: Request<Incoming>,
) -> impl Future<Output = Result<Response<TrackedBody<H::Body>>, std::convert::Infallible>> {
    let in_flight = InFlight::begin(activity.clone());
    let mut req = req.map(|body| GuardedBody::new(body, rules));
    if let Some(client) = client {
        req.extensions_mut().insert(client.clone());
    }
    async move {
        let resp = handler.handle(req, peer).await;
        Ok(resp.map(|body| TrackedBody::new(body, in_flight)))
    }
}

/// One TLS connection: the handshake (bounded by the header-read timeout,
/// as the watchdog counts it from the connection's start), then HTTP/2 or
/// HTTP/1.1 as ALPN chose, on hyper's connections; every request carries
/// the client's [`PeerCertificate`](crate::tls::PeerCertificate).
async fn tls_connection<H: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    activity: Arc<Activity>,
    handler: Arc<H>,
    rules: BodyRules,
    mut drain: watch::Receiver<bool>,
    tls: &crate::tls::TlsTerminator,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (stream, client) = tls.accept(WatchedIo::new(stream, activity.clone())).await?;
    let io = TokioIo::new(stream);
    let service = service_fn(move |req| serve_one(handler.clone(), &activity, rules, peer, Some(&client), req));
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        ended = conn.as_mut() => return ended,
        _ = drain.wait_for(|finish| *finish) => conn.as_mut().graceful_shutdown(),
    }
    conn.await
}

/// One connection: HTTP/1.1 on Keyway's own connection, handed to hyper's
/// HTTP/2 one when the client opens with the HTTP/2 preface.
async fn connection<H: Handler>(
    stream: TcpStream,
    peer: SocketAddr,
    activity: Arc<Activity>,
    handler: Arc<H>,
    rules: BodyRules,
    mut drain: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (stream, read) =
        match crate::h1::serve_connection(stream, peer, activity.clone(), &*handler, rules, drain.clone()).await? {
            crate::h1::Ended::Closed => return Ok(()),
            crate::h1::Ended::Http2(stream, read) => (stream, read),
        };
    let io = TokioIo::new(Rewind::new(read, WatchedIo::new(stream, activity.clone())));
    let service = service_fn(move |req| serve_one(handler.clone(), &activity, rules, peer, None, req));
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new()).serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        ended = conn.as_mut() => return Ok(ended?),
        _ = drain.wait_for(|finish| *finish) => conn.as_mut().graceful_shutdown(),
    }
    Ok(conn.await?)
}
