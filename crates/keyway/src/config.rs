//! Keyway's configuration: one TOML file, every field documented and
//! defaulted, unknown keys rejected, and every field overridable by an
//! environment variable `KEYWAY_<SECTION>_<FIELD>` (top-level fields:
//! `KEYWAY_<FIELD>`), e.g. `KEYWAY_LISTEN`, `KEYWAY_ADMIN_LISTEN`,
//! `KEYWAY_CALL_LOG_RETENTION_DAYS`.

use ipnet::IpNet;
use keyway_core::key_format::KeyEnv;
use keyway_listener::ListenerSettings;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory of the embedded store (`keyway.db`) and the server secret.
    pub data_dir: PathBuf,
    /// Gateway listen address.
    pub listen: SocketAddr,
    /// Which keys this gateway accepts: `live` (`kw_live_…`) or `test`.
    pub environment: KeyEnv,
    /// The admin API.
    pub admin: AdminConfig,
    /// The gateway's request handling.
    pub gateway: GatewayConfig,
    /// The call log.
    pub call_log: CallLogConfig,
    /// API keys.
    pub keys: KeysConfig,
    /// The AI gateway.
    pub ai: AiConfig,
    /// Keyway's own logs.
    pub log: LogConfig,
    /// Export of the call log and of request traces (all off by default).
    pub export: ExportConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./keyway-data"),
            listen: SocketAddr::from(([0, 0, 0, 0], 9080)),
            environment: KeyEnv::Live,
            admin: AdminConfig::default(),
            gateway: GatewayConfig::default(),
            call_log: CallLogConfig::default(),
            keys: KeysConfig::default(),
            ai: AiConfig::default(),
            log: LogConfig::default(),
            export: ExportConfig::default(),
        }
    }
}

/// The admin API listener.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Admin API listen address (keep it private).
    pub listen: SocketAddr,
    /// An admin token to accept (for automation and tests). When unset,
    /// `keyway serve` on an empty store mints one and prints it once.
    pub token: Option<String>,
    /// Most open admin connections; one more is answered 503.
    pub max_connections: usize,
    /// The admin listener's client timeouts.
    pub timeouts: TimeoutsConfig,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9081)),
            token: None,
            max_connections: 256,
            timeouts: TimeoutsConfig::default(),
        }
    }
}

/// How long a listener's clients may take over each part of a request.
/// Each is a deadline for the whole part, so trickling bytes gains nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// From a new connection, or the first byte of a request on a kept-alive one, to the end of the request head.
    pub header_read_ms: u64,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_ms: u64,
    /// Longest pause between two pieces of a request body.
    pub body_read_ms: u64,
    /// From the request head until the whole request body has arrived.
    pub request_ms: u64,
    /// How long writing a response may stay blocked on a client that does not read.
    pub send_ms: u64,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        Self { header_read_ms: 10_000, idle_ms: 60_000, body_read_ms: 30_000, request_ms: 60_000, send_ms: 60_000 }
    }
}

/// Request handling on the gateway listener.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Proxies (CIDRs) whose `x-forwarded-for` / `forwarded` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request body forwarded, in bytes.
    pub max_body_bytes: u64,
    /// Time to wait for an upstream's response head, unless the API sets its own.
    pub upstream_timeout_ms: u64,
    /// Time to wait for an upstream connection.
    pub upstream_connect_timeout_ms: u64,
    /// How long idle upstream connections stay pooled.
    pub pool_idle_timeout_ms: u64,
    /// Most idle pooled connections per upstream host.
    pub pool_max_idle_per_host: usize,
    /// On shutdown, how long in-flight requests may take to finish.
    pub shutdown_drain_ms: u64,
    /// `x-forwarded-proto` sent upstream: `http`, or `https` behind a TLS terminator.
    pub forwarded_proto: String,
    /// Threads serving requests; 0 means one per CPU core.
    pub worker_threads: usize,
    /// How those threads share the listener.
    pub threading: Threading,
    /// Most open gateway connections; one more is answered 503
    /// `gateway_overloaded`. Lowered at start to what the open-files limit allows.
    pub max_connections: usize,
    /// The gateway listener's client timeouts.
    pub timeouts: TimeoutsConfig,
    /// TLS on the gateway listener (and mTLS with a client CA).
    pub tls: TlsConfig,
}

/// TLS on the gateway listener: on when `cert_file` and `key_file` are
/// set. The files are read again when they change, without a restart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: Option<PathBuf>,
    /// Its private key (PEM).
    pub key_file: Option<PathBuf>,
    /// CAs of client certificates (PEM): with it, client certificates are
    /// asked for (optional at the TLS layer) for APIs with `mtls` auth.
    pub client_ca_file: Option<PathBuf>,
}

impl TlsConfig {
    /// The files, when TLS is on; an error when only one of the
    /// certificate and key is set, or a client CA without them.
    pub fn files(&self) -> Result<Option<keyway_listener::tls::TlsFiles>, String> {
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => Ok(Some(keyway_listener::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.client_ca_file.clone(),
            })),
            (None, None) if self.client_ca_file.is_none() => Ok(None),
            (None, None) => Err("gateway.tls.client_ca_file needs gateway.tls.cert_file and gateway.tls.key_file".into()),
            (Some(_), None) => Err("gateway.tls.cert_file is set but gateway.tls.key_file is not".into()),
            (None, Some(_)) => Err("gateway.tls.key_file is set but gateway.tls.cert_file is not".into()),
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            upstream_timeout_ms: 30_000,
            upstream_connect_timeout_ms: 5_000,
            pool_idle_timeout_ms: 90_000,
            pool_max_idle_per_host: 256,
            shutdown_drain_ms: 30_000,
            forwarded_proto: "http".to_owned(),
            worker_threads: 0,
            threading: Threading::default(),
            max_connections: 10_000,
            timeouts: TimeoutsConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

/// How the gateway's threads share its listener.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threading {
    /// One single-threaded runtime per thread, each accepting on its own
    /// `SO_REUSEPORT` socket; a connection stays on the thread that
    /// accepted it (as nginx and pingora run).
    #[default]
    PerCore,
    /// One work-stealing runtime shared by every thread (tokio's default).
    Shared,
}

/// The call log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallLogConfig {
    /// Whether calls are logged at all; off, no rows, rollups or
    /// analytics are kept and `diagnose` only replays hypothetical calls.
    pub enabled: bool,
    /// Rows buffered between requests and the writer; beyond it rows are dropped and counted.
    pub queue_capacity: usize,
    /// Most rows per insert transaction.
    pub batch_size: usize,
    /// Longest a row waits before being written.
    pub flush_interval_ms: u64,
    /// Rows older than this many days are deleted (0 keeps them forever).
    pub retention_days: u32,
    /// Minute rollups older than this many days are deleted (0 keeps them).
    pub minute_rollup_retention_days: u32,
    /// Hour rollups older than this many days are deleted (0 keeps them).
    pub hour_rollup_retention_days: u32,
    /// Day rollups older than this many days are deleted (0 keeps them).
    pub day_rollup_retention_days: u32,
}

impl Default for CallLogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            queue_capacity: 65_536,
            batch_size: 4_096,
            flush_interval_ms: 200,
            retention_days: 30,
            minute_rollup_retention_days: 28,
            hour_rollup_retention_days: 186,
            day_rollup_retention_days: 732,
        }
    }
}

/// API keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Server secret keying the stored key digests. Unset: generated once
    /// into `<data_dir>/server.secret`. All nodes of a cluster must share it.
    pub secret: Option<String>,
    /// How often keys' `last_used_at` is written to storage.
    pub usage_flush_interval_ms: u64,
    /// How long a JWT issuer's fetched JWKS is used before it is fetched
    /// again, seconds.
    pub jwks_ttl_seconds: u64,
    /// At most one JWKS fetch per issuer within this many seconds for
    /// tokens naming an unknown `kid` (so made-up `kid`s cannot hammer
    /// the identity provider).
    pub jwks_unknown_kid_interval_seconds: u64,
    /// Most nonces of HMAC-signed requests this node remembers (each for
    /// its API's window) to refuse replays; when full of live ones, the
    /// one closest to expiry is forgotten first.
    pub hmac_nonce_capacity: usize,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            secret: None,
            usage_flush_interval_ms: 10_000,
            jwks_ttl_seconds: 3600,
            jwks_unknown_kid_interval_seconds: 30,
            hmac_nonce_capacity: 100_000,
        }
    }
}

/// The AI gateway.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiConfig {
    /// Key material (at least 32 characters) the provider credentials'
    /// encryption key is derived from. Unset: derived from the server
    /// secret. Changing it makes the stored credentials unreadable: set
    /// them again through the admin API.
    pub master_key: Option<String>,
}

/// Shortest `ai.master_key` accepted.
pub const MIN_MASTER_KEY_CHARS: usize = 32;

/// Keyway's own logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace`, or a `tracing` filter.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".to_owned(), format: LogFormat::Text }
    }
}

/// Export of the call log and of request traces to outside systems.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    /// At shutdown, how long exporters may go on sending what they still hold.
    pub shutdown_timeout_ms: u64,
    /// The call log as JSON lines.
    pub log: ExportLogConfig,
    /// Request traces over OTLP/HTTP.
    pub otlp: ExportOtlpConfig,
}

impl Default for ExportConfig {
    fn default() -> Self {
        Self { shutdown_timeout_ms: 5_000, log: ExportLogConfig::default(), otlp: ExportOtlpConfig::default() }
    }
}

/// The call log as JSON lines, to a file, an HTTP endpoint, or both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportLogConfig {
    /// Append each row to this file (reopened on SIGHUP); unset: no file.
    pub file: Option<PathBuf>,
    /// POST rows as `application/x-ndjson` to this URL; unset: none.
    pub url: Option<String>,
    /// Most bytes of rows held for the URL while it is unreachable; older ones are dropped and counted.
    pub buffer_bytes: u64,
    /// Deadline of one POST.
    pub timeout_ms: u64,
}

impl Default for ExportLogConfig {
    fn default() -> Self {
        Self { file: None, url: None, buffer_bytes: 16 * 1024 * 1024, timeout_ms: 10_000 }
    }
}

/// Request traces: a span per request and per stage, over OTLP/HTTP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportOtlpConfig {
    /// The collector's OTLP/HTTP URL, e.g. `http://127.0.0.1:4318`; unset: no traces.
    pub endpoint: Option<String>,
    /// Share of new traces exported, 0.0 to 1.0; a caller's `traceparent` decides for its own.
    pub sample_ratio: f64,
    /// `service.name` of the spans.
    pub service_name: String,
    /// Deadline of one export request.
    pub timeout_ms: u64,
    /// Most spans held while the collector is unreachable; older ones are dropped and counted.
    pub buffer_spans: usize,
}

impl Default for ExportOtlpConfig {
    fn default() -> Self {
        Self { endpoint: None, sample_ratio: 1.0, service_name: "keyway".to_owned(), timeout_ms: 10_000, buffer_spans: 65_536 }
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// How an environment value is turned into a TOML value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Bool,
    Float,
    List,
}

/// Every field, by TOML path; its variable is `KEYWAY_` + the path in
/// upper case with dots as underscores.
const FIELDS: &[(&str, Kind)] = &[
    ("data_dir", Kind::Str),
    ("listen", Kind::Str),
    ("environment", Kind::Str),
    ("admin.listen", Kind::Str),
    ("admin.token", Kind::Str),
    ("admin.max_connections", Kind::Int),
    ("admin.timeouts.header_read_ms", Kind::Int),
    ("admin.timeouts.idle_ms", Kind::Int),
    ("admin.timeouts.body_read_ms", Kind::Int),
    ("admin.timeouts.request_ms", Kind::Int),
    ("admin.timeouts.send_ms", Kind::Int),
    ("gateway.trusted_proxies", Kind::List),
    ("gateway.max_body_bytes", Kind::Int),
    ("gateway.upstream_timeout_ms", Kind::Int),
    ("gateway.upstream_connect_timeout_ms", Kind::Int),
    ("gateway.pool_idle_timeout_ms", Kind::Int),
    ("gateway.pool_max_idle_per_host", Kind::Int),
    ("gateway.shutdown_drain_ms", Kind::Int),
    ("gateway.forwarded_proto", Kind::Str),
    ("gateway.worker_threads", Kind::Int),
    ("gateway.threading", Kind::Str),
    ("gateway.max_connections", Kind::Int),
    ("gateway.timeouts.header_read_ms", Kind::Int),
    ("gateway.timeouts.idle_ms", Kind::Int),
    ("gateway.timeouts.body_read_ms", Kind::Int),
    ("gateway.timeouts.request_ms", Kind::Int),
    ("gateway.timeouts.send_ms", Kind::Int),
    ("gateway.tls.cert_file", Kind::Str),
    ("gateway.tls.key_file", Kind::Str),
    ("gateway.tls.client_ca_file", Kind::Str),
    ("call_log.enabled", Kind::Bool),
    ("call_log.queue_capacity", Kind::Int),
    ("call_log.batch_size", Kind::Int),
    ("call_log.flush_interval_ms", Kind::Int),
    ("call_log.retention_days", Kind::Int),
    ("call_log.minute_rollup_retention_days", Kind::Int),
    ("call_log.hour_rollup_retention_days", Kind::Int),
    ("call_log.day_rollup_retention_days", Kind::Int),
    ("keys.secret", Kind::Str),
    ("keys.usage_flush_interval_ms", Kind::Int),
    ("keys.jwks_ttl_seconds", Kind::Int),
    ("keys.jwks_unknown_kid_interval_seconds", Kind::Int),
    ("keys.hmac_nonce_capacity", Kind::Int),
    ("ai.master_key", Kind::Str),
    ("log.level", Kind::Str),
    ("log.format", Kind::Str),
    ("export.shutdown_timeout_ms", Kind::Int),
    ("export.log.file", Kind::Str),
    ("export.log.url", Kind::Str),
    ("export.log.buffer_bytes", Kind::Int),
    ("export.log.timeout_ms", Kind::Int),
    ("export.otlp.endpoint", Kind::Str),
    ("export.otlp.sample_ratio", Kind::Float),
    ("export.otlp.service_name", Kind::Str),
    ("export.otlp.timeout_ms", Kind::Int),
    ("export.otlp.buffer_spans", Kind::Int),
];

/// The environment variable of a field path.
pub fn env_name(path: &str) -> String {
    format!("KEYWAY_{}", path.replace('.', "_").to_uppercase())
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file or an override is not valid (unknown key, wrong type...).
    #[error("invalid configuration{origin}: {message}")]
    Invalid {
        /// Where: " in FILE", or " from KEYWAY_…".
        origin: String,
        /// What serde or TOML said.
        message: String,
    },
}

impl TimeoutsConfig {
    /// The listener settings these timeouts make, for the listener `name`.
    pub fn listener(&self, name: &'static str, max_connections: usize, max_body_bytes: Option<u64>) -> ListenerSettings {
        let ms = std::time::Duration::from_millis;
        ListenerSettings {
            name,
            max_connections,
            header_read_timeout: ms(self.header_read_ms.max(1)),
            idle_timeout: ms(self.idle_ms.max(1)),
            body_read_timeout: ms(self.body_read_ms.max(1)),
            request_timeout: ms(self.request_ms.max(1)),
            send_timeout: ms(self.send_ms.max(1)),
            max_body_bytes,
            tls: None,
        }
    }
}

impl Config {
    /// Loads `file` (if any), then applies `KEYWAY_*` overrides from `env`.
    pub fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                let table: toml::Table = toml::from_str(&text)
                    .map_err(|e| ConfigError::Invalid { origin: format!(" in {}", path.display()), message: e.to_string() })?;
                (table, format!(" in {} or KEYWAY_* variables", path.display()))
            }
            None => (toml::Table::new(), " from KEYWAY_* variables".to_owned()),
        };
        for (path, kind) in FIELDS {
            if let Some(raw) = env(&env_name(path)) {
                let value = match kind {
                    Kind::Str => toml::Value::String(raw),
                    Kind::Int => match raw.trim().parse::<i64>() {
                        Ok(n) => toml::Value::Integer(n),
                        Err(_) => {
                            return Err(ConfigError::Invalid {
                                origin: format!(" from {}", env_name(path)),
                                message: format!("expected a whole number, got {raw:?}"),
                            })
                        }
                    },
                    Kind::Bool => match raw.trim() {
                        "true" | "1" => toml::Value::Boolean(true),
                        "false" | "0" => toml::Value::Boolean(false),
                        _ => {
                            return Err(ConfigError::Invalid {
                                origin: format!(" from {}", env_name(path)),
                                message: format!("expected true or false, got {raw:?}"),
                            })
                        }
                    },
                    Kind::Float => match raw.trim().parse::<f64>() {
                        Ok(n) if n.is_finite() => toml::Value::Float(n),
                        _ => {
                            return Err(ConfigError::Invalid {
                                origin: format!(" from {}", env_name(path)),
                                message: format!("expected a number, got {raw:?}"),
                            })
                        }
                    },
                    Kind::List => toml::Value::Array(
                        raw.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(|s| toml::Value::String(s.to_owned()))
                            .collect(),
                    ),
                };
                set_path(&mut table, path, value);
            }
        }
        toml::Value::Table(table).try_into::<Config>().map_err(|e| ConfigError::Invalid { origin, message: e.to_string() })
    }

    /// Loads from the process environment.
    pub fn from_env(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load(file, |k| std::env::var(k).ok())
    }
}

fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut t = table;
    for p in parts {
        let entry = t.entry(p.to_owned()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        match entry {
            toml::Value::Table(inner) => t = inner,
            _ => return,
        }
    }
    t.insert(last.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_load_without_a_file() {
        assert_eq!(Config::load(None, no_env).unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let dir = std::env::temp_dir().join(format!("kwcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:1\"\n[gateway]\nmax_body = 5\n").unwrap();
        let err = Config::load(Some(&f), no_env).unwrap_err().to_string();
        assert!(err.contains("max_body"), "{err}");
        assert!(err.contains("bad.toml"), "{err}");
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        let env: HashMap<&str, &str> = [
            ("KEYWAY_LISTEN", "127.0.0.1:7000"),
            ("KEYWAY_ADMIN_LISTEN", "127.0.0.1:7001"),
            ("KEYWAY_ADMIN_TOKEN", "12345"),
            ("KEYWAY_GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1/32"),
            ("KEYWAY_CALL_LOG_RETENTION_DAYS", "7"),
            ("KEYWAY_ENVIRONMENT", "test"),
            ("KEYWAY_EXPORT_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("KEYWAY_EXPORT_OTLP_SAMPLE_RATIO", "0.25"),
            ("KEYWAY_EXPORT_LOG_FILE", "/var/log/keyway/calls.ndjson"),
        ]
        .into_iter()
        .collect();
        let c = Config::load(None, |k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.admin.listen.port(), 7001);
        assert_eq!(c.admin.token.as_deref(), Some("12345"));
        assert_eq!(c.gateway.trusted_proxies.len(), 2);
        assert_eq!(c.call_log.retention_days, 7);
        assert_eq!(c.environment, KeyEnv::Test);
        assert_eq!(c.export.otlp.endpoint.as_deref(), Some("http://127.0.0.1:4318"));
        assert_eq!(c.export.otlp.sample_ratio, 0.25);
        assert_eq!(c.export.log.file, Some(PathBuf::from("/var/log/keyway/calls.ndjson")));
    }

    #[test]
    fn bad_override_names_the_variable() {
        let err =
            Config::load(None, |k| (k == "KEYWAY_GATEWAY_MAX_BODY_BYTES").then(|| "lots".to_owned())).unwrap_err().to_string();
        assert!(err.contains("KEYWAY_GATEWAY_MAX_BODY_BYTES"), "{err}");
    }

    #[test]
    fn every_field_has_an_override_and_the_example_file_documents_it() {
        // Every leaf of the serialized defaults (plus the optional ones) is in FIELDS.
        let v = toml::Value::try_from(Config::default()).unwrap();
        let mut leaves = Vec::new();
        fn walk(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
            match v {
                toml::Value::Table(t) => {
                    for (k, v) in t {
                        let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                        walk(&p, v, out);
                    }
                }
                _ => out.push(prefix.to_owned()),
            }
        }
        walk("", &v, &mut leaves);
        for leaf in &leaves {
            assert!(FIELDS.iter().any(|(p, _)| p == leaf), "{leaf} has no environment override");
        }
        let example = include_str!("../../../keyway.example.toml");
        let parsed: Config = toml::from_str(example).unwrap();
        assert_eq!(parsed, Config::default(), "keyway.example.toml must show the defaults");
        for (path, _) in FIELDS {
            let name = path.rsplit('.').next().unwrap();
            assert!(example.contains(name), "keyway.example.toml does not mention {path}");
            assert!(example.contains(&env_name(path)), "keyway.example.toml does not name {}", env_name(path));
        }
    }
}
