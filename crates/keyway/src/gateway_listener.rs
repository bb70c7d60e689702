//! The gateway's listening sockets and the threads that serve them, as
//! `gateway.threading` says: one work-stealing runtime over one socket,
//! or one single-threaded runtime per core, each over its own
//! `SO_REUSEPORT` socket with its own upstream connection pool.

use crate::config::{GatewayConfig, Threading};
use keyway_gateway::upstream_client::UpstreamClient;
use keyway_gateway::Gateway;
use keyway_listener::workers::{bind_listeners, spawn_workers, Worker};
use keyway_listener::ListenerSettings;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Pending connections the kernel queues per socket (tokio's default).
const BACKLOG: i32 = 1024;

/// The gateway's bound sockets, not yet served.
#[derive(Debug)]
pub struct GatewayListener {
    sockets: Vec<std::net::TcpListener>,
    threading: Threading,
}

impl GatewayListener {
    /// Binds the gateway's address: one socket, or one per worker thread.
    pub fn bind(addr: SocketAddr, config: &GatewayConfig) -> io::Result<Self> {
        let count = match config.threading {
            Threading::Shared => 1,
            Threading::PerCore => threads(config.worker_threads),
        };
        Ok(Self { sockets: bind_listeners(addr, count, BACKLOG)?, threading: config.threading })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.sockets.first() {
            Some(s) => s.local_addr(),
            None => Err(io::Error::other("no gateway socket bound")),
        }
    }

    /// Serves `gateway` until `shutdown()` resolves. Per core, each worker
    /// gets the gateway with a new pool from `upstream`. The handles end
    /// when every socket has drained.
    pub fn serve<S, F>(
        self,
        gateway: Gateway,
        upstream: impl Fn() -> UpstreamClient,
        settings: ListenerSettings,
        shutdown: S,
        drain: Duration,
    ) -> io::Result<Vec<JoinHandle<()>>>
    where
        S: Fn() -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        match self.threading {
            Threading::Shared => {
                let mut handles = Vec::new();
                for socket in self.sockets {
                    let listener = tokio::net::TcpListener::from_std(socket)?;
                    let task = keyway_listener::serve(listener, settings.clone(), Arc::new(gateway.clone()), shutdown(), drain);
                    handles.push(tokio::spawn(task));
                }
                Ok(handles)
            }
            Threading::PerCore => {
                let workers = self
                    .sockets
                    .into_iter()
                    .map(|listener| Worker { listener, handler: Arc::new(gateway.with_upstream(upstream())) })
                    .collect();
                let done = spawn_workers("gateway", workers, settings, shutdown, drain)?;
                Ok(done.into_iter().map(|rx| tokio::spawn(async move { rx.await.unwrap_or(()) })).collect())
            }
        }
    }
}

/// `worker_threads`, 0 meaning one per core.
pub fn threads(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}
