//! The demo's built-in AI provider: a small OpenAI-compatible server on
//! loopback, so `serve --demo` shows the AI gateway without any external
//! service or API key. It answers `POST /v1/chat/completions` (whole, or
//! streamed as `chat.completion.chunk` events with a final usage chunk
//! when asked) and `POST /v1/embeddings`, in OpenAI's exact shapes, with
//! token counts of four characters a token. It checks the bearer key it
//! was given, as a real provider does.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, Infallible>;

/// Starts the demo model on `addr`, accepting `api_key`; returns its
/// bound address. Its base URL is `http://{addr}/v1`.
pub async fn start(addr: SocketAddr, api_key: String) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let key = api_key.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let key = key.clone();
                    async move { Ok::<_, Infallible>(answer(req, &key).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(local)
}

async fn answer(req: hyper::Request<hyper::body::Incoming>, key: &str) -> hyper::Response<Body> {
    let authorized = req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {key}"));
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if !authorized {
        return error(401, "invalid_request_error", "Incorrect API key provided.", Some("invalid_api_key"));
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "invalid_request_error", "We could not parse the JSON body of your request.", None);
    };
    let model = request["model"].as_str().unwrap_or("demo").to_owned();
    match path.as_str() {
        "/v1/chat/completions" => chat(&request, &model),
        "/v1/embeddings" => embeddings(&request, &model),
        _ => error(404, "invalid_request_error", &format!("Invalid URL (POST {path})"), None),
    }
}

/// Four characters a token, at least one.
fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4).max(1)
}

/// The last user message's text.
fn last_user_text(request: &Value) -> String {
    let Some(messages) = request["messages"].as_array() else { return String::new() };
    let Some(m) = messages.iter().rev().find(|m| m["role"] == "user") else { return String::new() };
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

fn chat(request: &Value, model: &str) -> hyper::Response<Body> {
    let prompt_text: String = request["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| match &m["content"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let reply = format!("Hello from Keyway's demo model. You said: {}", last_user_text(request));
    let (prompt_tokens, completion_tokens) = (tokens(&prompt_text), tokens(&reply));
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                       "total_tokens": prompt_tokens + completion_tokens});
    let created = chrono::Utc::now().timestamp();
    let id = format!("chatcmpl-demo{created}");
    if let Some(call) = tool_call(request) {
        // Asked to use a tool: call the first one offered, with the user's words.
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [call]},
                         "logprobs": null, "finish_reason": "tool_calls"}],
            "usage": usage,
        });
        return json_response(200, &body);
    }
    if request["stream"] != json!(true) {
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage,
        });
        return json_response(200, &body);
    }
    let include_usage = request.pointer("/stream_options/include_usage") == Some(&json!(true));
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    for word in reply.split_inclusive(' ') {
        events.push(chunk(json!({"content": word}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if include_usage {
        events.push(json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                           "choices": [], "usage": usage}));
    }
    let mut frames: Vec<Bytes> = events.iter().map(|e| Bytes::from(format!("data: {e}\n\n"))).collect();
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, Infallible>::new(4);
    tokio::spawn(async move {
        for f in frames {
            // A word at a time, as a model writes.
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            if tx.send(Frame::data(f)).await.is_err() {
                return;
            }
        }
    });
    let body = body.boxed();
    hyper::Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
        .unwrap_or_else(|_| hyper::Response::new(empty()))
}

/// The call of the first tool offered, unless the caller said `none` or
/// streams (the demo calls tools only in whole answers).
fn tool_call(request: &Value) -> Option<Value> {
    let name = request["tools"].as_array()?.first()?.pointer("/function/name")?.as_str()?;
    if request["tool_choice"] == json!("none") || request["stream"] == json!(true) {
        return None;
    }
    let arguments = json!({"text": last_user_text(request)}).to_string();
    Some(json!({"id": "call_demo_1", "type": "function", "function": {"name": name, "arguments": arguments}}))
}

fn embeddings(request: &Value, model: &str) -> hyper::Response<Body> {
    let inputs: Vec<String> = match &request["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect(),
        _ => return error(400, "invalid_request_error", "'input' is a required property", Some("input")),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            // A deterministic 8-dimensional vector from the text's bytes.
            let mut v = [0f64; 8];
            for (j, b) in text.bytes().enumerate() {
                v[j % 8] += f64::from(b) / 255.0;
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
            json!({"object": "embedding", "index": i, "embedding": v.iter().map(|x| x / norm).collect::<Vec<_>>()})
        })
        .collect();
    let prompt_tokens: u64 = inputs.iter().map(|t| tokens(t)).sum();
    json_response(
        200,
        &json!({"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}),
    )
}

fn error(status: u16, kind: &str, message: &str, code: Option<&str>) -> hyper::Response<Body> {
    json_response(status, &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}))
}

fn json_response(status: u16, body: &Value) -> hyper::Response<Body> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap_or_else(|_| hyper::Response::new(empty()))
}

fn empty() -> Body {
    Full::new(Bytes::new()).boxed()
}
