//! Assembles a whole Keyway node from a [`Config`]: store, snapshot,
//! gateway listener, admin listener, call-log writer and background
//! tasks; and takes it down gracefully. Tests start it in process.

use crate::config::Config;
use crate::gateway_listener::GatewayListener;
use crate::telemetry;
use anyhow::Context;
use http::{Request, Response};
use keyway_admin::{bootstrap_admin_token, AdminState, PendingCalls};
use keyway_core::key_format::KeyHasher;
use keyway_core::model::ApiKey;
use keyway_core::rollup::{Level, RollupQuery, RollupRow};
use keyway_core::sealed::{Sealer, HMAC_KEYS, PROVIDER_CREDENTIALS};
use keyway_gateway::background::IdleLane;
use keyway_gateway::call_log::{CallLogSender, CallLogSettings, CallLogWriter};
use keyway_gateway::client_ip::ClientIpResolver;
use keyway_gateway::limits::Limiters;
use keyway_gateway::upstream_client::UpstreamClient;
use keyway_gateway::{Gateway, GatewaySettings};
use keyway_limits::{InMemoryRateLimiter, MeterLedger, QuotaCounter, SystemClock};
use keyway_listener::serve::Handler;
use keyway_listener::tls::TlsTerminator;
use keyway_listener::{fd_budget, GuardedBody, ListenerSettings};
use keyway_pipeline::{CredentialHealth, KeyLoader, Settings, Snapshot, SnapshotHandle};
use keyway_store::sqlite::SqliteStore;
use keyway_store::{KeySink, Store, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// File name of the embedded store inside the data directory.
pub const DB_FILE: &str = "keyway.db";

/// A running node.
pub struct Running {
    /// Where the gateway listens.
    pub gateway_addr: SocketAddr,
    /// Where the admin API listens.
    pub admin_addr: SocketAddr,
    /// The admin token minted on an empty store, to print once.
    pub minted_admin_token: Option<String>,
    /// The store (for tests and tools).
    pub store: Arc<dyn Store>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    call_log: CallLogWriter,
    exporters: keyway_export::Exporters,
    snapshot: Arc<SnapshotHandle>,
    limiters: Arc<Limiters>,
    /// Kept until the end: the background tasks run on it.
    _idle: Option<Arc<IdleLane>>,
}

/// Opens the embedded store under `config.data_dir`.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<SqliteStore>> {
    create_private_dir(&config.data_dir).with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let path = config.data_dir.join(DB_FILE);
    let store = SqliteStore::open(&path).with_context(|| format!("opening store {}", path.display()))?;
    Ok(Arc::new(store))
}

/// Creates the data directory, private to its owner (0700) when Keyway
/// creates it; an existing directory is left as the operator set it.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The stages' settings of this node: its key environment, the key
/// hasher keyed from this node's server secret, and the sealers of
/// provider credentials and of HMAC keys, keyed from `ai.master_key` when
/// set, else from the server secret (each under its own label, so no two
/// keys coincide).
pub fn stage_settings(config: &Config) -> anyhow::Result<Settings> {
    create_private_dir(&config.data_dir)?;
    let secret = crate::secret::load_or_create(config.keys.secret.as_deref(), &config.data_dir)?;
    let root: &[u8] = match config.ai.master_key.as_deref() {
        Some(k) if k.chars().count() < crate::config::MIN_MASTER_KEY_CHARS => anyhow::bail!(
            "ai.master_key must be at least {} characters (it keys the encryption of provider credentials and HMAC keys)",
            crate::config::MIN_MASTER_KEY_CHARS
        ),
        Some(k) => k.as_bytes(),
        None => &secret,
    };
    let credentials = Sealer::derive(root, PROVIDER_CREDENTIALS);
    let hmac_keys = Sealer::derive(root, HMAC_KEYS);
    Ok(Settings { environment: config.environment, hasher: KeyHasher::new(&secret), credentials, hmac_keys })
}

/// The key hasher for this node's server secret.
pub fn key_hasher(config: &Config) -> anyhow::Result<KeyHasher> {
    Ok(stage_settings(config)?.hasher)
}

/// How fetched JWKS documents are refreshed, from `keys.jwks_*`.
fn jwks_refresh(config: &Config) -> keyway_credentials::jwt::RefreshPolicy {
    keyway_credentials::jwt::RefreshPolicy {
        ttl: Duration::from_secs(config.keys.jwks_ttl_seconds.max(1)),
        unknown_kid_interval: Duration::from_secs(config.keys.jwks_unknown_kid_interval_seconds),
        ..Default::default()
    }
}

/// Starts a node; returns once both listeners accept connections.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    // The recorder must exist before anything registers its counters.
    let metrics = telemetry::metrics_handle();
    let store: Arc<dyn Store> = open_store(&config)?;
    let stages = stage_settings(&config)?;
    let minted_admin_token = bootstrap_admin_token(store.as_ref(), &stages.hasher, config.admin.token.as_deref())
        .await
        .context("creating the first admin token")?;

    let started = std::time::Instant::now();
    // Keys go into the snapshot's table as storage reads them: start-up
    // never holds a million keys twice.
    let loader = Arc::new(std::sync::Mutex::new(KeyLoader::default()));
    let dump = store.load_all_streaming(Box::new(Loading(Arc::clone(&loader)))).await.context("loading state")?;
    let keys = std::mem::take(&mut *Loading(loader).get()).finish();
    let load_ms = started.elapsed().as_millis() as u64;
    let key_count = keys.len();
    let snapshot = Arc::new(SnapshotHandle::new(
        Snapshot::from_parts(dump.tenants, dump.users, dump.apps, keys, dump.apis, dump.subscriptions)
            .with_ai(dump.providers, dump.models)
            .with_issuers(dump.issuers, jwks_refresh(&config))
            .with_certificates(dump.certificates)
            .with_hmac_keys(dump.hmac_keys, stages.hmac_keys.clone()),
    ));
    let build_ms = started.elapsed().as_millis() as u64 - load_ms;
    let keys = key_count;
    tracing::info!(keys, load_ms, build_ms, "snapshot loaded");

    let (exporters, sinks) = crate::export::start(&config.export).context("starting the exporters")?;
    // Background work (call-log batches, rollups, checkpoints, usage
    // flushes, retention) runs in the cores' idle time, never delaying a request.
    let idle = IdleLane::start();
    let (call_log_tx, call_log) = CallLogWriter::start_with_sinks(
        store.clone(),
        CallLogSettings {
            queue_capacity: config.call_log.queue_capacity,
            batch_size: config.call_log.batch_size,
            flush_interval: Duration::from_millis(config.call_log.flush_interval_ms),
            ..Default::default()
        },
        sinks,
        idle.clone(),
    );
    // Rows written after the last rollup flush (an unclean stop) are
    // counted again from the raw rows, before any new call arrives.
    let watermark = store.start_rollups(chrono::Utc::now()).await.context("starting rollups")?;
    let recovered = call_log_tx.rollups().recover(store.as_ref(), watermark).await.context("recovering rollups")?;
    if recovered > 0 {
        tracing::info!(rows = recovered, "rollups rebuilt for calls stored after the last flush");
    }
    let limiters = Arc::new(Limiters {
        rates: Arc::new(InMemoryRateLimiter::new(SystemClock)),
        quotas: Arc::new(QuotaCounter::new()),
        meter: Arc::new(MeterLedger::new()),
    });
    let loaded = limiters.load_counters(store.as_ref(), chrono::Utc::now()).await.context("loading quota and meter counters")?;
    tracing::debug!(rows = loaded, "quota and meter counters loaded");
    let g = &config.gateway;
    let upstream = || {
        UpstreamClient::new(
            Duration::from_millis(g.upstream_connect_timeout_ms),
            Duration::from_millis(g.pool_idle_timeout_ms),
            g.pool_max_idle_per_host,
        )
    };
    // Keyway's own TLS makes the client's protocol https whatever is set.
    let proto = if g.forwarded_proto == "https" || g.tls.cert_file.is_some() { "https" } else { "http" };
    let credential_health = Arc::new(CredentialHealth::default());
    let gateway = Gateway::new(
        snapshot.clone(),
        GatewaySettings {
            stages: stages.clone(),
            client_ip: ClientIpResolver::new(g.trusted_proxies.clone()),
            max_body_bytes: g.max_body_bytes,
            upstream_timeout: Duration::from_millis(g.upstream_timeout_ms),
            proto,
            traces: crate::export::sampler(&config.export),
            nonce_capacity: config.keys.hmac_nonce_capacity,
        },
        upstream(),
        call_log_tx.clone().enabled(config.call_log.enabled),
        store.clone(),
        limiters.clone(),
        credential_health.clone(),
    );

    let gateway_listener =
        GatewayListener::bind(config.listen, g).with_context(|| format!("binding gateway to {}", config.listen))?;
    let admin_listener =
        TcpListener::bind(config.admin.listen).await.with_context(|| format!("binding admin API to {}", config.admin.listen))?;
    let gateway_addr = gateway_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let admin_state = AdminState {
        store: store.clone(),
        snapshot: snapshot.clone(),
        settings: stages,
        metrics: Arc::new(move || metrics.as_ref().map(|h| h.render()).unwrap_or_default()),
        admin_addr: Some(admin_addr),
        call_log: Some(Arc::new(QueuedCalls(call_log_tx))),
        credential_health,
    };
    let router = keyway_admin::router(admin_state);

    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let drain = Duration::from_millis(g.shutdown_drain_ms);
    let (mut gateway_limits, admin_limits) = listener_settings(&config);
    if let Some(files) = config.gateway.tls.files().map_err(anyhow::Error::msg)? {
        let tls = Arc::new(TlsTerminator::load(files).context("gateway TLS")?);
        tasks.push(in_background(idle.as_deref(), tls.clone().watch(TLS_RELOAD_INTERVAL, stopped(stop_rx.clone()))));
        gateway_limits.tls = Some(keyway_listener::Tls(tls));
    }
    let gateway_stop = stop_rx.clone();
    let gateway_tasks = gateway_listener
        .serve(gateway, upstream, gateway_limits, move || stopped(gateway_stop.clone()), drain)
        .context("starting the gateway's threads")?;
    tasks.extend(gateway_tasks);
    tasks.push(tokio::spawn(keyway_listener::serve(
        admin_listener,
        admin_limits,
        Arc::new(AdminHandler(router)),
        stopped(stop_rx.clone()),
        drain,
    )));
    tasks.push(in_background(
        idle.as_deref(),
        keyway_gateway::usage::run(
            snapshot.clone(),
            limiters.clone(),
            store.clone(),
            Duration::from_millis(config.keys.usage_flush_interval_ms.max(100)),
            stop_rx.clone(),
        ),
    ));
    tasks.push(in_background(idle.as_deref(), checkpoints(store.clone(), stop_rx.clone())));
    tasks.push(in_background(idle.as_deref(), retention(store.clone(), Retention::of(&config), stop_rx)));
    tracing::info!(%gateway_addr, %admin_addr, environment = %config.environment, "keyway is serving");
    Ok(Running {
        gateway_addr,
        admin_addr,
        minted_admin_token,
        store,
        stop,
        tasks,
        call_log,
        exporters,
        snapshot,
        limiters,
        _idle: idle,
    })
}

impl Running {
    /// Graceful stop: stop accepting, finish in-flight requests, flush
    /// keys' usage and quota counters, then drain and write the whole
    /// call-log queue, and let the exporters send what it handed them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "task failed during shutdown");
            }
        }
        // Requests that finished while draining counted after the
        // background flusher's last round: write their counters too.
        keyway_gateway::usage::flush(&self.snapshot, self.store.as_ref()).await;
        self.limiters.flush_counters(self.store.as_ref()).await;
        self.call_log.shutdown().await;
        self.exporters.shutdown().await;
        let started = std::time::Instant::now();
        match self.store.close().await {
            Ok(()) => tracing::info!(ms = started.elapsed().as_millis() as u64, "store closed"),
            Err(e) => tracing::warn!(error = %e, "closing the store failed; it recovers on the next start"),
        }
        tracing::info!("keyway stopped");
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("gateway_addr", &self.gateway_addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

/// Both listeners' settings, the gateway's connection limit fitted inside
/// the open-files limit so that the admin listener keeps answering when
/// the gateway is saturated.
fn listener_settings(config: &Config) -> (ListenerSettings, ListenerSettings) {
    let g = &config.gateway;
    let a = &config.admin;
    let mut gateway_max = g.max_connections.max(1);
    if let Some(open_files) = fd_budget::raise_open_files_limit() {
        let fit = fd_budget::gateway_connections_that_fit(open_files, a.max_connections);
        if gateway_max > fit {
            tracing::warn!(
                configured = gateway_max,
                open_files,
                using = fit,
                "gateway.max_connections lowered to fit the open-files limit (raise `ulimit -n` for more)"
            );
            gateway_max = fit;
        }
    }
    (
        g.timeouts.listener("gateway", gateway_max, Some(g.max_body_bytes)),
        a.timeouts.listener("admin", a.max_connections.max(1), None),
    )
}

/// The gateway's call-log queue, as the admin API flushes it.
struct QueuedCalls(CallLogSender);

impl PendingCalls for QueuedCalls {
    fn flush(&self, within: Duration) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(self.0.flush(within))
    }

    fn rollups<'a>(
        &'a self,
        store: &'a dyn Store,
        query: &'a RollupQuery,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<RollupRow>, StoreError>> + Send + 'a>> {
        Box::pin(self.0.rollups().read(store, query))
    }
}

/// The admin API's router served by a Keyway listener.
struct AdminHandler(axum::Router);

impl Handler for AdminHandler {
    type Body = axum::body::Body;
    type Error = axum::Error;

    async fn handle(&self, req: Request<GuardedBody>, _peer: SocketAddr) -> Response<axum::body::Body> {
        let req = req.map(axum::body::Body::new);
        match self.0.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Spawns periodic background work on the idle lane (the node's runtime
/// when there is none).
fn in_background(idle: Option<&IdleLane>, work: impl std::future::Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
    match idle {
        Some(lane) => lane.handle().spawn(work),
        None => tokio::spawn(work),
    }
}

/// How often the gateway's TLS files are checked for a change.
const TLS_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// How often the store's write-ahead log is copied back (see
/// [`Store::checkpoint`]).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Checkpoints the store every [`CHECKPOINT_INTERVAL`] until stopped, so
/// admin writes and call-log batches stay appends to the log.
async fn checkpoints(store: Arc<dyn Store>, rx: watch::Receiver<bool>) {
    let stop = stopped(rx);
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = store.checkpoint().await {
                    tracing::debug!(error = %e, "periodic checkpoint failed; the next one retries");
                }
            }
            () = &mut stop => return,
        }
    }
}

/// Days kept per level; 0 keeps everything.
#[derive(Clone, Copy, Debug)]
struct Retention {
    raw: u32,
    rollups: [(Level, u32); 3],
}

impl Retention {
    fn of(config: &Config) -> Retention {
        let c = &config.call_log;
        Retention {
            raw: c.retention_days,
            rollups: [
                (Level::Minute, c.minute_rollup_retention_days),
                (Level::Hour, c.hour_rollup_retention_days),
                (Level::Day, c.day_rollup_retention_days),
            ],
        }
    }
}

fn days_ago(days: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::days(i64::from(days))
}

/// Deletes call-log rows and rollups past retention, hourly and at start.
async fn retention(store: Arc<dyn Store>, keep: Retention, rx: watch::Receiver<bool>) {
    let stop = stopped(rx);
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if keep.raw > 0 {
                    match store.purge_calls(days_ago(keep.raw)).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(rows = n, days = keep.raw, "call-log retention purged old rows"),
                        Err(e) => tracing::warn!(error = %e, "call-log retention purge failed"),
                    }
                }
                for (level, days) in keep.rollups.into_iter().filter(|(_, d)| *d > 0) {
                    match store.purge_rollups(level, days_ago(days)).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(rows = n, days, ?level, "rollup retention purged old rows"),
                        Err(e) => tracing::warn!(error = %e, ?level, "rollup retention purge failed"),
                    }
                }
            }
            () = &mut stop => return,
        }
    }
}

/// The start-up load's [`KeySink`]: keys go straight into the snapshot's
/// key table.
struct Loading(Arc<std::sync::Mutex<KeyLoader>>);

impl Loading {
    fn get(&self) -> std::sync::MutexGuard<'_, KeyLoader> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl KeySink for Loading {
    fn expect(&mut self, count: usize) {
        *self.get() = KeyLoader::with_capacity(count);
    }

    fn key(&mut self, key: ApiKey) {
        self.get().add(key);
    }
}
