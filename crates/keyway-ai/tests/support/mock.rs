//! [`MockProvider`]: a local HTTP server speaking one provider's wire
//! format, for tests. It checks the path and the credential header as the
//! real API does, records every request, and answers chat (plain and
//! streamed) and OpenAI-style embeddings in the provider's real shapes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use keyway_ai::outbound::ProviderTarget;
use keyway_ai::ProviderKind;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::fixtures;

/// The key every mock accepts.
pub const KEY: &str = "sk-mock-0123456789abcdef";

/// The Azure deployment the mock serves.
pub const AZURE_DEPLOYMENT: &str = "gpt4o-prod";

type Body = BoxBody<Bytes, Infallible>;

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The path and query, as sent.
    pub path: String,
    /// Headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The body as JSON (`null` if it is not JSON).
    pub json: Value,
}

impl Recorded {
    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

struct Failure {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    failures: VecDeque<Failure>,
}

/// A running mock of one provider, on `127.0.0.1` and a free port. The
/// server task ends with the test's runtime.
pub struct MockProvider {
    kind: ProviderKind,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl MockProvider {
    /// Binds `127.0.0.1:0` and serves `kind`'s API.
    pub async fn start(kind: ProviderKind) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(kind, Arc::clone(&state), req));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        });
        Self { kind, addr, state }
    }

    /// The base URL to configure: where the real API's paths start
    /// (`/v1` for OpenAI-style kinds, the bare host otherwise).
    pub fn base_url(&self) -> String {
        match self.kind {
            ProviderKind::AzureOpenAi | ProviderKind::Anthropic | ProviderKind::Gemini => format!("http://{}", self.addr),
            _ => format!("http://{}/v1", self.addr),
        }
    }

    /// A target of this kind pointing at the mock, for `model`.
    pub fn target(&self, model: &str) -> ProviderTarget {
        ProviderTarget { base_url: Some(self.base_url()), ..ProviderTarget::new(self.kind, model) }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("mock state").requests.clone()
    }

    /// The last request received.
    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("the mock received a request")
    }

    /// Makes the next authenticated request fail with `status` and `body`
    /// (and a `Retry-After` header when given). Calls queue up.
    pub fn fail_next(&self, status: u16, body: Value, retry_after: Option<&str>) {
        let failure = Failure { status, body, retry_after: retry_after.map(str::to_owned) };
        self.state.lock().expect("mock state").failures.push_back(failure);
    }
}

async fn handle(kind: ProviderKind, state: Arc<Mutex<State>>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let headers: Vec<(String, String)> =
        req.headers().iter().map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    let post = req.method() == hyper::Method::POST;
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let rec = Recorded { path, headers, body, json };
    state.lock().expect("mock state").requests.push(rec.clone());
    Ok(answer(kind, &state, &rec, post))
}

/// What the provider would answer to `rec`.
fn answer(kind: ProviderKind, state: &Mutex<State>, rec: &Recorded, post: bool) -> Response<Body> {
    let Some(route) = route(kind, &rec.path).filter(|_| post) else {
        let (status, body) = fixtures::not_found(kind, &rec.path);
        return json_response(status, &body, None);
    };
    if !authorized(kind, rec) {
        let (status, body) = fixtures::bad_key(kind);
        return json_response(status, &body, None);
    }
    if kind == ProviderKind::Anthropic && rec.header("anthropic-version").is_none() {
        let body = json!({"type": "error", "error": {"type": "invalid_request_error", "message": "anthropic-version: header is required"}});
        return json_response(400, &body, None);
    }
    if let Some(f) = state.lock().expect("mock state").failures.pop_front() {
        return json_response(f.status, &f.body, f.retry_after.as_deref());
    }
    if kind == ProviderKind::Mistral && rec.json.get("stream_options").is_some() {
        // Mistral's real answer to `stream_options`.
        let body = json!({"object": "error", "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "stream_options"],
            "msg": "Extra inputs are not permitted", "input": rec.json["stream_options"]}]},
            "type": "invalid_request_error", "param": null, "code": null});
        return json_response(422, &body, None);
    }
    let body_model = rec.json.get("model").and_then(Value::as_str).unwrap_or_default().to_owned();
    let stream = rec.json.get("stream") == Some(&Value::Bool(true));
    match route {
        Route::Chat => match kind {
            // As Anthropic does, a forced tool is called.
            ProviderKind::Anthropic if rec.json.pointer("/tool_choice/type") == Some(&json!("tool")) => {
                let tool = rec.json.pointer("/tool_choice/name").and_then(Value::as_str).unwrap_or_default().to_owned();
                if stream {
                    sse_response(
                        fixtures::anthropic_forced_tool_stream(&body_model, &tool)
                            .into_iter()
                            .map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")),
                    )
                } else {
                    json_response(200, &fixtures::anthropic_forced_tool(&body_model, &tool), None)
                }
            }
            ProviderKind::Anthropic if stream => sse_response(
                fixtures::anthropic_stream(&body_model).into_iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")),
            ),
            ProviderKind::Anthropic => json_response(200, &fixtures::anthropic_chat(&body_model), None),
            _ if stream => {
                let usage = rec.json.pointer("/stream_options/include_usage") == Some(&Value::Bool(true));
                let model = if kind == ProviderKind::AzureOpenAi { "gpt-4o-2024-08-06".to_owned() } else { body_model };
                sse_response(fixtures::openai_stream(kind, &model, usage).into_iter().map(|d| format!("data: {d}\n\n")))
            }
            _ => json_response(200, &fixtures::openai_chat(&body_model), None),
        },
        Route::GeminiChat { model } => json_response(200, &fixtures::gemini_chat(&model), None),
        Route::GeminiStream { model } => {
            sse_response(fixtures::gemini_stream(&model).into_iter().map(|d| format!("data: {d}\r\n\r\n")))
        }
        Route::Embeddings => json_response(200, &fixtures::openai_embeddings(&body_model), None),
    }
}

enum Route {
    Chat,
    GeminiChat { model: String },
    GeminiStream { model: String },
    Embeddings,
}

/// The operation at `path`, as the real API routes it.
fn route(kind: ProviderKind, path: &str) -> Option<Route> {
    match kind {
        ProviderKind::Anthropic => (path == "/v1/messages").then_some(Route::Chat),
        ProviderKind::Gemini => {
            let rest = path.strip_prefix("/v1beta/models/")?;
            if let Some(model) = rest.strip_suffix(":streamGenerateContent?alt=sse") {
                Some(Route::GeminiStream { model: model.to_owned() })
            } else {
                rest.strip_suffix(":generateContent").map(|m| Route::GeminiChat { model: m.to_owned() })
            }
        }
        ProviderKind::AzureOpenAi => {
            let (path, query) = path.split_once('?')?;
            query.split('&').find(|kv| kv.starts_with("api-version=") && kv.len() > "api-version=".len())?;
            let tail = path.strip_prefix(&format!("/openai/deployments/{AZURE_DEPLOYMENT}/"))?;
            match tail {
                "chat/completions" => Some(Route::Chat),
                "embeddings" => Some(Route::Embeddings),
                _ => None,
            }
        }
        _ => match path {
            "/v1/chat/completions" => Some(Route::Chat),
            "/v1/embeddings" => Some(Route::Embeddings),
            _ => None,
        },
    }
}

/// The credential check each API makes. Ollama takes any (or no) key.
fn authorized(kind: ProviderKind, rec: &Recorded) -> bool {
    let bearer = format!("Bearer {KEY}");
    match kind {
        ProviderKind::Ollama => true,
        ProviderKind::AzureOpenAi => rec.header("api-key") == Some(KEY),
        ProviderKind::Anthropic => rec.header("x-api-key") == Some(KEY),
        ProviderKind::Gemini => rec.header("x-goog-api-key") == Some(KEY),
        ProviderKind::OpenAi | ProviderKind::Mistral | ProviderKind::OpenAiCompatible => {
            rec.header("authorization") == Some(bearer.as_str())
        }
    }
}

fn json_response(status: u16, body: &Value, retry_after: Option<&str>) -> Response<Body> {
    let mut b = Response::builder().status(status).header("content-type", "application/json");
    if let Some(r) = retry_after {
        b = b.header("retry-after", r);
    }
    b.body(Full::new(Bytes::from(body.to_string())).boxed()).expect("mock response")
}

/// A `text/event-stream` answer sent frame by frame, each frame cut in two
/// so the client sees events split across reads.
fn sse_response(frames: impl Iterator<Item = String>) -> Response<Body> {
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, Infallible>::new(4);
    let frames: Vec<String> = frames.collect();
    tokio::spawn(async move {
        for f in frames {
            let (a, b) = f.as_bytes().split_at(f.len() / 2);
            for part in [a, b] {
                if tx.send(Frame::data(Bytes::copy_from_slice(part))).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
        }
    });
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body.boxed())
        .expect("mock response")
}
