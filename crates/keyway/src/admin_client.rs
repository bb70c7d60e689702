//! A small client of the admin API, used by the CLI (`diagnose`) and the
//! demo. It speaks plain HTTP to the admin listener.

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// An admin API endpoint and the token to use.
#[derive(Clone, Debug)]
pub struct AdminClient {
    base: String,
    token: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl AdminClient {
    /// A client of the admin API at `base` (e.g. `http://127.0.0.1:9081`).
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends a request; returns the status and the JSON body (or `null`).
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Full::new(bytes))?;
        let resp = self.client.request(req).await.with_context(|| format!("cannot reach the admin API at {}", self.base))?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        let value = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
        Ok((status, value))
    }

    /// Like [`AdminClient::call`], but a non-2xx answer is an error
    /// carrying the problem's code and detail.
    pub async fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let (status, v) = self.call(method, path, body).await?;
        if (200..300).contains(&status) {
            return Ok(v);
        }
        anyhow::bail!(
            "{method} {path} answered {status} {}: {}",
            v["code"].as_str().unwrap_or("?"),
            v["detail"].as_str().unwrap_or("")
        )
    }
}
