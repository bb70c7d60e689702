//! Serving one listener from several single-threaded runtimes, one per
//! core, each accepting on its own `SO_REUSEPORT` socket bound to the
//! same address: the kernel spreads connections over the sockets, and a
//! connection lives its whole life on the thread that accepted it. This
//! is how nginx and pingora run; it saves the cross-thread wake-ups of a
//! work-stealing runtime on a proxy whose requests are short.

use crate::serve::{serve_with_slots, ConnectionSlots, Handler};
use crate::settings::ListenerSettings;
use socket2::{Domain, Protocol, Socket, Type};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Binds `count` listening sockets to `addr`, with `SO_REUSEPORT` when
/// there is more than one. With port 0 they share the port the system
/// picks.
///
/// `SO_REUSEPORT` would also let a second process of the same user bind
/// the port and silently take half the connections; so the address is
/// first probed with an ordinary socket, which fails with "address in
/// use" if anyone holds it, as a plain bind would.
pub fn bind_listeners(addr: SocketAddr, count: usize, backlog: i32) -> io::Result<Vec<std::net::TcpListener>> {
    let count = count.max(1);
    let probe = bind_one(addr, false, backlog)?;
    if count == 1 {
        return Ok(vec![probe.into()]);
    }
    let bound = probe.local_addr()?.as_socket().unwrap_or(addr);
    drop(probe);
    (0..count).map(|_| bind_one(bound, true, backlog).map(Into::into)).collect()
}

fn bind_one(addr: SocketAddr, reuse_port: bool, backlog: i32) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket)
}

/// One worker thread's share of a listener.
pub struct Worker<H> {
    /// Its socket, from [`bind_listeners`].
    pub listener: std::net::TcpListener,
    /// Its handler (its own upstream connection pool, typically).
    pub handler: Arc<H>,
}

/// Starts one thread per worker, each running a current-thread runtime
/// that serves its socket until `shutdown()` resolves. The returned
/// receivers resolve when each worker has drained and stopped.
pub fn spawn_workers<H, S, F>(
    name: &'static str,
    workers: Vec<Worker<H>>,
    settings: ListenerSettings,
    shutdown: S,
    drain: Duration,
) -> io::Result<Vec<oneshot::Receiver<()>>>
where
    H: Handler,
    S: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    // Exported at zero before any worker thread runs, so a scrape right
    // after start-up already sees every series.
    crate::serve::register_metrics(name);
    let shutdown = Arc::new(shutdown);
    let count = workers.len().max(1);
    let mut done = Vec::with_capacity(count);
    let slots = ConnectionSlots::new(settings.max_connections);
    for (i, worker) in workers.into_iter().enumerate() {
        let settings = settings.clone();
        let slots = slots.clone();
        let shutdown = shutdown.clone();
        let (tx, rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(worker.listener) {
                    Ok(listener) => serve_with_slots(listener, settings, worker.handler, slots, shutdown(), drain).await,
                    Err(e) => tracing::error!(listener = name, error = %e, "worker could not register its socket"),
                }
            });
            let _ = tx.send(());
        })?;
        done.push(rx);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_share_the_port_the_system_picked() {
        let sockets = bind_listeners("127.0.0.1:0".parse().unwrap(), 3, 16).unwrap();
        let ports: Vec<u16> = sockets.iter().map(|s| s.local_addr().unwrap().port()).collect();
        assert_eq!(ports.len(), 3);
        assert!(ports[0] != 0 && ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    }

    #[test]
    fn a_port_in_use_is_refused_even_with_reuse_port() {
        let held = bind_listeners("127.0.0.1:0".parse().unwrap(), 2, 16).unwrap();
        let addr = held[0].local_addr().unwrap();
        for count in [1, 2] {
            let err = bind_listeners(addr, count, 16).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{count} sockets: {err}");
        }
    }
}
