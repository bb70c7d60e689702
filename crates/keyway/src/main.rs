//! `keyway`: the gateway, its admin API and its operator tools.

/// mimalloc instead of the system allocator: allocation was about 12% of
/// the instructions of a proxied request with glibc's malloc (callgrind,
/// bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use keyway::admin_client::AdminClient;
use keyway::config::Config;
use keyway::diagnose_cli::{self, Subject};
use keyway::{app, demo, seed, telemetry};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "keyway",
    version,
    about = "An API and AI gateway that knows whose key it is and says exactly why it refused a call."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway and the admin API.
    Serve(ServeArgs),
    /// Explain why a request was (or would be) refused.
    Diagnose(DiagnoseArgs),
    /// Operator tools.
    #[command(subcommand)]
    Tools(Tools),
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "KEYWAY_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides the file and KEYWAY_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Gateway listen address (overrides the file and KEYWAY_LISTEN).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Admin API listen address (overrides the file and KEYWAY_ADMIN_LISTEN).
    #[arg(long)]
    admin_listen: Option<std::net::SocketAddr>,
    /// Start with a fresh demo store, an echo upstream and example keys.
    #[arg(long)]
    demo: bool,
}

#[derive(Args)]
struct DiagnoseArgs {
    /// A request id (`x-request-id`) to replay.
    request_id: Option<String>,
    /// Or: a key to try now (as `Authorization: Bearer`)...
    #[arg(long, conflicts_with = "request_id", requires = "path")]
    key: Option<String>,
    /// ...and/or headers as the caller sends them (`name: value`, repeatable)...
    #[arg(long = "header", short = 'H', conflicts_with = "request_id", requires = "path")]
    headers: Vec<String>,
    /// ...with this method...
    #[arg(long, default_value = "GET")]
    method: String,
    /// ...on this path...
    #[arg(long)]
    path: Option<String>,
    /// ...from this client IP...
    #[arg(long)]
    client_ip: Option<String>,
    /// ...presenting a TLS client certificate with this SHA-256 (hex,
    /// colons allowed), assumed trusted by the listener.
    #[arg(long, conflicts_with = "request_id", requires = "path")]
    client_cert_sha256: Option<String>,
    /// ...with this body (what a signed request's Content-Digest is
    /// checked against).
    #[arg(long, conflicts_with = "request_id", requires = "path")]
    body: Option<String>,
    /// Print the JSON answer instead of text.
    #[arg(long)]
    json: bool,
    /// Admin API base URL.
    #[arg(long, env = "KEYWAY_ADMIN_URL", default_value = "http://127.0.0.1:9081")]
    admin_url: String,
    /// Admin token.
    #[arg(long, env = "KEYWAY_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Subcommand)]
enum Tools {
    /// Fill a data directory with one API and N keys for load tests.
    SeedBench {
        /// Data directory to fill.
        #[arg(long)]
        data_dir: PathBuf,
        /// Number of keys.
        #[arg(long, default_value_t = 100_000)]
        keys: usize,
        /// Upstream base URL.
        #[arg(long)]
        upstream: String,
        /// Base path of the API.
        #[arg(long, default_value = "/bench")]
        base_path: String,
        /// Also set a subscription, a scope, an IP allow list and a rate
        /// limit, so authorization and limits have work to do.
        #[arg(long)]
        policies: bool,
    },
    /// Write a synthetic month of traffic straight into a fresh store,
    /// then time analytics and log queries and a retention purge.
    ScaleTest {
        /// Data directory to fill (no node may be serving it).
        #[arg(long)]
        data_dir: PathBuf,
        /// Rows in all.
        #[arg(long, default_value_t = 10_000_000)]
        rows: u64,
        /// Days they span, ending now.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Distinct keys.
        #[arg(long, default_value_t = 500)]
        keys: usize,
        /// Rows the retention purge test deletes.
        #[arg(long, default_value_t = 1_000_000)]
        purge_rows: u64,
        /// Measure a data directory filled before, without writing rows
        /// (for profiling the queries).
        #[arg(long)]
        measure_only: bool,
        /// Time only the queries whose label contains this text (and no
        /// purge), for profiling one query.
        #[arg(long)]
        only: Option<String>,
    },
}

/// Runs the command; an error is printed as `error: ...` with its causes,
/// never as a Rust backtrace (whatever `RUST_BACKTRACE` says), and exits 1.
fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = Config::from_env(args.config.as_deref())?;
            runtime(config.gateway.worker_threads)?.block_on(serve(args, config))
        }
        Command::Diagnose(args) => runtime(1)?.block_on(diagnose(args)),
        Command::Tools(Tools::SeedBench { data_dir, keys, upstream, base_path, policies }) => {
            let config = Config { data_dir, ..Config::from_env(None)? };
            let key = runtime(1)?.block_on(seed::seed_bench(&config, keys, &upstream, &base_path, policies))?;
            println!("{key}");
            Ok(())
        }
        Command::Tools(Tools::ScaleTest { data_dir, rows, days, keys, purge_rows, measure_only, only }) => {
            let config = Config { data_dir, ..Config::from_env(None)? };
            let opts = keyway::scale::ScaleOptions { rows, days, keys, purge_rows, measure_only, only };
            runtime(2)?.block_on(keyway::scale::run(&config, &opts))
        }
    }
}

/// A multi-threaded runtime with `threads` workers (0: one per core).
fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        b.worker_threads(threads);
    }
    Ok(b.enable_all().build()?)
}

async fn serve(args: ServeArgs, mut config: Config) -> anyhow::Result<()> {
    let explicit_data_dir = args.data_dir.is_some();
    if let Some(d) = args.data_dir {
        config.data_dir = d;
    }
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(l) = args.admin_listen {
        config.admin.listen = l;
    }
    telemetry::init_logs(&config.log);
    let running = if args.demo {
        if args.listen.is_none() && std::env::var("KEYWAY_LISTEN").is_err() {
            config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 9080));
        }
        // The demo starts from a fresh store unless told where to keep it.
        if !explicit_data_dir {
            config.data_dir = std::env::temp_dir().join(format!("keyway-demo-{}", std::process::id()));
        }
        let (running, world) = demo::start(config).await?;
        println!("{}", demo::instructions(&world));
        running
    } else {
        let running = app::start(config).await?;
        if let Some(token) = &running.minted_admin_token {
            println!("\nFirst start on an empty store: this admin token is shown once, keep it safe:\n\n  {token}\n");
        }
        running
    };
    shutdown_signal().await;
    tracing::info!("shutting down: draining requests and flushing the call log");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn diagnose(args: DiagnoseArgs) -> anyhow::Result<()> {
    let mut headers = Vec::with_capacity(args.headers.len());
    for h in &args.headers {
        let Some((name, value)) = h.split_once(':') else {
            anyhow::bail!("--header takes `name: value`, got {h:?}");
        };
        headers.push((name.trim().to_owned(), value.trim_start().to_owned()));
    }
    let subject = match (args.request_id, args.path) {
        (Some(id), _) => Subject::Request(id),
        (None, Some(path)) => Subject::Hypothetical {
            key: args.key,
            headers,
            method: args.method,
            path,
            client_ip: args.client_ip,
            client_cert_sha256: args.client_cert_sha256,
            body: args.body,
        },
        (None, None) => anyhow::bail!("give a request id, or --path with --key and/or --header"),
    };
    let client = AdminClient::new(&args.admin_url, &args.token);
    let answer = diagnose_cli::fetch(&client, &subject).await.context("diagnose failed")?;
    if args.json {
        println!("{answer:#}");
    } else {
        print!("{}", diagnose_cli::render_text(&answer));
    }
    Ok(())
}
