//! Request traces over OTLP/HTTP (protobuf): the spans of every traced
//! row of a batch ([`crate::spans`]), sent with the `opentelemetry-otlp`
//! span exporter. Retries, the buffer bound and shutdown are the pump's.

use crate::http_client::Client;
use crate::pump::{Destination, Encoded, SendError};
use crate::spans::spans;
use crate::Batch;
use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{RandomIdGenerator, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::time::Duration;

/// The OTLP/HTTP path of traces under a collector's base URL.
pub const TRACES_PATH: &str = "/v1/traces";

/// An OTLP collector receiving the gateway's spans.
#[derive(Debug)]
pub(crate) struct OtlpSink {
    exporter: opentelemetry_otlp::SpanExporter,
    ids: RandomIdGenerator,
    scope: InstrumentationScope,
}

impl OtlpSink {
    /// A sink exporting to `endpoint` (a collector's base URL, or its full
    /// traces URL ending in `/v1/traces`) as the service `service_name`.
    pub(crate) fn new(
        endpoint: &str,
        service_name: &str,
        timeout: Duration,
        client: Client,
    ) -> Result<Self, opentelemetry_otlp::ExporterBuildError> {
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .with_timeout(timeout)
            .build()?;
        let resource = Resource::builder_empty()
            .with_service_name(service_name.to_owned())
            .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        exporter.set_resource(&resource);
        let scope = InstrumentationScope::builder("keyway").with_version(env!("CARGO_PKG_VERSION")).build();
        Ok(Self { exporter, ids: RandomIdGenerator::default(), scope })
    }
}

/// `endpoint` with the traces path, unless it already ends with it.
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with(TRACES_PATH) {
        base.to_owned()
    } else {
        format!("{base}{TRACES_PATH}")
    }
}

impl Destination for OtlpSink {
    type Chunk = Vec<SpanData>;

    fn encode(&self, batch: &Batch) -> Option<Encoded<Vec<SpanData>>> {
        let mut traces = 0;
        let mut chunk = Vec::new();
        for row in batch.iter() {
            let s = spans(row, &self.ids, &self.scope);
            if !s.is_empty() {
                traces += 1;
                chunk.extend(s);
            }
        }
        (traces > 0).then_some(Encoded { items: traces, weight: chunk.len(), chunk })
    }

    async fn send(&self, chunks: &[&Vec<SpanData>]) -> Result<(), SendError> {
        let batch: Vec<SpanData> = chunks.iter().flat_map(|c| c.iter().cloned()).collect();
        self.exporter.export(batch).await.map_err(|e| SendError::Retry(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(traces_url("http://127.0.0.1:4318"), "http://127.0.0.1:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
    }
}
