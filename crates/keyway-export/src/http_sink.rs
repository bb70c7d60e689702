//! The JSON-lines call log POSTed to an HTTP endpoint: one request per
//! send, its body the newline-delimited JSON of one or more batches,
//! `Content-Type: application/x-ndjson`. A 2xx is success; a connection
//! failure, a timeout, 408, 429 or a 5xx is retried with backoff; any
//! other status is the endpoint refusing the rows, which are dropped and
//! counted.

use crate::http_client::Client;
use crate::pump::{Destination, Encoded, SendError};
use crate::{ndjson, Batch};
use bytes::Bytes;
use opentelemetry_http::HttpClient;

/// The media type of the request body.
pub const NDJSON: &str = "application/x-ndjson";

/// An endpoint receiving the call log.
#[derive(Debug)]
pub(crate) struct HttpSink {
    url: http::Uri,
    client: Client,
}

impl HttpSink {
    /// A sink POSTing to `url`.
    pub(crate) fn new(url: http::Uri, client: Client) -> Self {
        Self { url, client }
    }
}

impl Destination for HttpSink {
    type Chunk = Bytes;

    fn encode(&self, batch: &Batch) -> Option<Encoded<Bytes>> {
        let chunk = Bytes::from(ndjson::encode(batch));
        (!chunk.is_empty()).then(|| Encoded { items: batch.len() as u64, weight: chunk.len(), chunk })
    }

    async fn send(&self, chunks: &[&Bytes]) -> Result<(), SendError> {
        let body = match chunks {
            [one] => Bytes::clone(one),
            many => Bytes::from(many.iter().flat_map(|c| c.iter().copied()).collect::<Vec<u8>>()),
        };
        let req = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, NDJSON)
            .body(body)
            .map_err(|e| SendError::Reject(e.to_string()))?;
        let status = match self.client.send_bytes(req).await {
            Ok(resp) => resp.status(),
            Err(e) => return Err(SendError::Retry(e.to_string())),
        };
        match status.as_u16() {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(SendError::Retry(format!("endpoint answered {status}"))),
            _ => Err(SendError::Reject(format!("endpoint answered {status}"))),
        }
    }
}
