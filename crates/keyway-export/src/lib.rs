//! Keyway's exporters: shipping the call log and request traces to
//! outside systems, so users can feed their own stores.
//!
//! - [`ndjson`]: a call-log row as one JSON line (the admin API's shape).
//! - a JSON-lines file (appended, flushed per batch, reopened on SIGHUP)
//!   and a JSON-lines HTTP endpoint (`application/x-ndjson` POSTs);
//! - [`spans`]: a traced request as OpenTelemetry spans, sent over
//!   OTLP/HTTP.
//!
//! Every exporter is fed by the call-log writer, which hands it each batch
//! it takes ([`Intake::offer`]): nothing runs on the request path. Each
//! runs in a task of its own with a bounded buffer, retries with backoff,
//! counts what it drops (`keyway_export_dropped_total{sink}`), and at
//! shutdown sends what it still holds within [`ExportSettings::shutdown_timeout`].

mod file_sink;
mod http_client;
mod http_sink;
pub mod ndjson;
mod otlp_sink;
mod pump;
pub mod spans;

pub use http_sink::NDJSON;
pub use otlp_sink::{traces_url, TRACES_PATH};

use keyway_core::records::CallLogRow;
use pump::{Counters, Destination, Limits};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One batch of call-log rows, as the call-log writer hands it over.
pub type Batch = Arc<Vec<CallLogRow>>;

/// Batches an exporter's intake holds before the writer's offers drop.
const INTAKE_BATCHES: usize = 64;
/// Most bytes of JSON lines in one POST.
const MAX_POST_BYTES: usize = 4 * 1024 * 1024;
/// Most spans in one OTLP request.
const MAX_SPANS_PER_EXPORT: usize = 2048;

/// What to export; everything off by default.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportSettings {
    /// Append the call log as JSON lines to this file.
    pub log_file: Option<PathBuf>,
    /// POST the call log as JSON lines to this URL.
    pub log_url: Option<String>,
    /// Most bytes of JSON lines held for the URL while it is unreachable.
    pub log_buffer_bytes: usize,
    /// Deadline of one POST.
    pub log_timeout: Duration,
    /// Send request traces over OTLP/HTTP.
    pub otlp: Option<OtlpSettings>,
    /// At shutdown, how long exporters may go on sending what they hold.
    pub shutdown_timeout: Duration,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            log_file: None,
            log_url: None,
            log_buffer_bytes: 16 * 1024 * 1024,
            log_timeout: Duration::from_secs(10),
            otlp: None,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// Where and how traces go.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpSettings {
    /// The collector's OTLP/HTTP base URL (`/v1/traces` is appended unless present).
    pub endpoint: String,
    /// `service.name` of the spans' resource.
    pub service_name: String,
    /// Deadline of one export request.
    pub timeout: Duration,
    /// Most spans held while the collector is unreachable.
    pub buffer_spans: usize,
}

/// Why an exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A configured URL is not an `http` or `https` URL (its value is
    /// not repeated: it may carry a token).
    #[error("{setting} is not a valid http:// or https:// URL")]
    BadUrl {
        /// Which setting.
        setting: &'static str,
    },
    /// The OTLP exporter rejected its configuration.
    #[error("export.otlp: {0}")]
    Otlp(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The SIGHUP handler could not be installed.
    #[error("export.log.file: cannot watch SIGHUP: {0}")]
    Signal(#[from] std::io::Error),
}

/// An exporter's intake: where the call-log writer hands batches.
#[derive(Clone, Debug)]
pub struct Intake {
    sink: &'static str,
    tx: mpsc::Sender<Batch>,
    dropped: metrics::Counter,
}

impl Intake {
    /// Which exporter: `log_file`, `log_http` or `otlp`.
    pub fn sink(&self) -> &'static str {
        self.sink
    }

    /// Takes `batch` if the intake has room, else drops and counts it.
    pub fn offer(&self, batch: &Batch) {
        if self.tx.try_send(Arc::clone(batch)).is_err() {
            self.dropped.increment(batch.len() as u64);
        }
    }

    /// Takes `batch`, waiting for room (the exporter always drains its
    /// intake, so this waits for encoding, never for the destination).
    pub async fn hand_over(&self, batch: &Batch) {
        if self.tx.send(Arc::clone(batch)).await.is_err() {
            self.dropped.increment(batch.len() as u64);
        }
    }
}

/// `value` as an `http` or `https` URL with a host.
fn http_url(value: &str, setting: &'static str) -> Result<http::Uri, ExportError> {
    match value.parse::<http::Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => Ok(uri),
        _ => Err(ExportError::BadUrl { setting }),
    }
}

/// The running exporters.
#[derive(Debug, Default)]
pub struct Exporters {
    intakes: Vec<Intake>,
    tasks: Vec<JoinHandle<()>>,
    helpers: Vec<JoinHandle<()>>,
}

impl Exporters {
    /// Starts the exporters `settings` turn on (none by default). Needs a
    /// Tokio runtime.
    pub fn start(settings: &ExportSettings) -> Result<Exporters, ExportError> {
        let mut me = Exporters::default();
        let limits =
            |max_buffered, max_per_send| Limits { max_buffered, max_per_send, shutdown_timeout: settings.shutdown_timeout };
        if let Some(path) = &settings.log_file {
            let reopen = Arc::new(AtomicBool::new(false));
            #[cfg(unix)]
            me.helpers.push(file_sink::reopen_on_sighup(reopen.clone())?);
            let sink = file_sink::FileSink::new(path.clone(), reopen);
            me.spawn("log_file", sink, limits(settings.log_buffer_bytes, MAX_POST_BYTES));
        }
        if let Some(url) = &settings.log_url {
            let uri = http_url(url, "export.log.url")?;
            let sink = http_sink::HttpSink::new(uri, http_client::client(settings.log_timeout));
            me.spawn("log_http", sink, limits(settings.log_buffer_bytes, MAX_POST_BYTES));
        }
        if let Some(o) = &settings.otlp {
            http_url(&o.endpoint, "export.otlp.endpoint")?;
            let sink = otlp_sink::OtlpSink::new(&o.endpoint, &o.service_name, o.timeout, http_client::client(o.timeout))?;
            me.spawn("otlp", sink, limits(o.buffer_spans.max(1), MAX_SPANS_PER_EXPORT));
        }
        Ok(me)
    }

    fn spawn<D: Destination>(&mut self, sink: &'static str, dest: D, limits: Limits) {
        let (tx, rx) = mpsc::channel(INTAKE_BATCHES);
        let counters = Counters::of(sink);
        self.intakes.push(Intake { sink, tx, dropped: counters.dropped.clone() });
        self.tasks.push(tokio::spawn(pump::run(sink, Arc::new(dest), rx, limits, counters)));
    }

    /// Whether any exporter runs.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Hands out the intakes, once: whoever holds them feeds the
    /// exporters, and dropping them is what tells the exporters to finish.
    pub fn take_intakes(&mut self) -> Vec<Intake> {
        std::mem::take(&mut self.intakes)
    }

    /// Waits until every exporter has sent what it holds (or given up at
    /// its shutdown timeout). Call it once the intakes are dropped, i.e.
    /// after the call-log writer has shut down.
    pub async fn shutdown(self) {
        drop(self.intakes);
        for h in self.helpers {
            h.abort();
        }
        for t in self.tasks {
            if let Err(e) = t.await {
                tracing::error!(error = %e, "exporter task failed");
            }
        }
    }
}

/// Rows for the unit tests.
#[cfg(test)]
pub(crate) mod test_rows {
    use keyway_core::records::CallLogRow;
    use keyway_core::ErrorCode;

    /// A call to `path` answered `status`, refused with `code` if any.
    pub(crate) fn row(path: &str, status: u16, code: Option<ErrorCode>) -> CallLogRow {
        CallLogRow {
            key_prefix: Some("kw_live_ab12".into()),
            status,
            code,
            latency_ms: 0.5,
            ..CallLogRow::arriving(chrono::Utc::now(), "GET", path, "127.0.0.1")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bad_url_is_refused_without_repeating_it() {
        for (log_url, endpoint) in [(Some("ftp://h/x?token=s3cr3t"), None), (None, Some("not a url?token=s3cr3t"))] {
            let settings = ExportSettings {
                log_url: log_url.map(str::to_owned),
                otlp: endpoint.map(|e| OtlpSettings {
                    endpoint: e.to_owned(),
                    service_name: "keyway".into(),
                    timeout: Duration::from_secs(1),
                    buffer_spans: 10,
                }),
                ..ExportSettings::default()
            };
            let err = Exporters::start(&settings).unwrap_err().to_string();
            assert!(err.contains("is not a valid"), "{err}");
            assert!(!err.contains("s3cr3t"), "{err}");
        }
    }

    #[tokio::test]
    async fn nothing_runs_by_default() {
        let mut e = Exporters::start(&ExportSettings::default()).unwrap();
        assert!(e.is_empty());
        assert!(e.take_intakes().is_empty());
        e.shutdown().await;
    }
}
