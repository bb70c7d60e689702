//! `[export]` wired to the node: the exporters it turns on, fed by the
//! call-log writer as [`BatchSink`]s, and the trace sampler the gateway
//! uses when traces are exported.

use crate::config::ExportConfig;
use keyway_export::{Batch, ExportSettings, Exporters, Intake, OtlpSettings};
use keyway_gateway::batch_sink::BatchSink;
use keyway_gateway::trace_sampler::TraceSampler;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The exporter settings of `config`; an empty path or URL is unset.
pub fn settings(config: &ExportConfig) -> ExportSettings {
    let ms = Duration::from_millis;
    let log = &config.log;
    let otlp = &config.otlp;
    ExportSettings {
        log_file: log.file.clone().filter(|p| !p.as_os_str().is_empty()),
        log_url: log.url.clone().filter(|u| !u.trim().is_empty()),
        log_buffer_bytes: usize::try_from(log.buffer_bytes).unwrap_or(usize::MAX),
        log_timeout: ms(log.timeout_ms.max(1)),
        otlp: otlp.endpoint.as_deref().filter(|e| !e.trim().is_empty()).map(|endpoint| OtlpSettings {
            endpoint: endpoint.trim().to_owned(),
            service_name: otlp.service_name.clone(),
            timeout: ms(otlp.timeout_ms.max(1)),
            buffer_spans: otlp.buffer_spans,
        }),
        shutdown_timeout: ms(config.shutdown_timeout_ms),
    }
}

/// Which requests the gateway traces: `None` unless traces are exported.
pub fn sampler(config: &ExportConfig) -> Option<TraceSampler> {
    settings(config).otlp.map(|_| TraceSampler::new(config.otlp.sample_ratio))
}

/// Starts the exporters of `config`; returns them with the sinks the
/// call-log writer is to feed (none when export is off).
pub fn start(config: &ExportConfig) -> anyhow::Result<(Exporters, Vec<Arc<dyn BatchSink>>)> {
    let mut exporters = Exporters::start(&settings(config))?;
    let sinks = exporters.take_intakes().into_iter().map(|i| Arc::new(Tap(i)) as Arc<dyn BatchSink>).collect();
    Ok((exporters, sinks))
}

/// An exporter's intake as the call-log writer sees it.
#[derive(Debug)]
struct Tap(Intake);

impl BatchSink for Tap {
    fn offer(&self, batch: &Batch) {
        self.0.offer(batch);
    }

    fn hand_over<'a>(&'a self, batch: &'a Batch) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(self.0.hand_over(batch))
    }
}
