//! The unified AI API and prompt APIs: an `ai` API's operations (OpenAI's chat
//! completions, embeddings and models, Anthropic's messages) served over
//! the models of the API's tenant, whatever their providers.
//!
//! An AI call walks the same phases as any other (request through
//! authorization, limits), then its own: the body is read and parsed
//! (`request_invalid`), [`model_phase`] resolves and allows the model,
//! [`plan`] orders its targets and fallbacks, [`exchange`] tries them over
//! each provider's credential pool, and the answer is translated back
//! into the caller's format: whole ([`respond`]), or as a stream
//! ([`stream`]). [`metering`] prices the usage and writes it on the
//! call-log row.

mod admission;
pub(crate) mod body;
mod exchange;
mod metering;
mod model_phase;
mod operation;
mod plan;
mod prompt;
mod respond;
mod sse_events;
mod stream;
mod tokens;

pub use exchange::Providers;
pub use metering::Settlement;
pub use operation::Operation;

use crate::body::Body;
use crate::inbound::Inbound;
use crate::upstream_client::UpstreamClient;
use body::{read_answer, read_body};
use bytes::Bytes;
use exchange::Failed;
use http::Request;
use keyway_ai::outbound::{build_chat, build_embeddings, ProviderTarget, ResponseReader};
use keyway_ai::{anthropic, json_mode, openai, ChatRequest, WireFormat};
use keyway_core::model::{Api, ApiKind, Protocol};
use keyway_core::providers::AiModel;
use keyway_core::records::CallLogRow;
use keyway_core::{Refusal, Stage};
use keyway_limits::Meter;
use keyway_pipeline::{Admitted, Call, Snapshot};
use metering::{Held, Pricing};
use plan::Attempt;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// A chat call, done.
enum Completed {
    /// A stream, flowing.
    Stream(Served),
    /// The provider's own error, relayed.
    Relayed(Served),
    /// A whole answer: the provider's bytes and, unless they go back to a
    /// caller of the same format as they are, what they say.
    Whole {
        /// The provider's body.
        bytes: Bytes,
        /// It, parsed; `None` when the bytes go back as they are.
        answer: Option<keyway_ai::ChatResponse>,
    },
}

/// The refusal envelope of a request to `api` at `path`: an `ai` API's
/// is its operation's (Anthropic's on `/v1/messages`, else OpenAI's).
pub fn protocol(api: &Api, path: &str) -> Protocol {
    match api.kind {
        ApiKind::Ai => Operation::protocol_of_path(path),
        ApiKind::Rest | ApiKind::Prompt => api.protocol,
    }
}

/// What an AI call needs from the request path.
pub struct AiCall<'a> {
    /// The phases' record.
    pub call: &'a mut Call,
    /// The admitted caller.
    pub admitted: &'a Admitted,
    /// The snapshot the call was admitted under.
    pub snapshot: &'a Snapshot,
    /// The call-log row being filled.
    pub row: &'a mut CallLogRow,
    /// The worker's upstream client.
    pub client: &'a UpstreamClient,
    /// The largest request body accepted.
    pub max_body_bytes: u64,
    /// The provider timeout when the model sets none.
    pub default_timeout: Duration,
    /// The metering ledger of budgets and token limits.
    pub meter: &'a Arc<dyn Meter>,
}

impl std::fmt::Debug for AiCall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiCall").field("request_id", &self.row.request_id).finish_non_exhaustive()
    }
}

/// An AI call's answer; `settlement` is set for a stream, whose row is
/// recorded once the stream has ended.
#[derive(Debug)]
pub struct Served {
    /// The response.
    pub resp: http::Response<Body>,
    /// The stream's settlement, which records the call-log row.
    pub settlement: Option<Arc<Settlement>>,
}

impl From<http::Response<Body>> for Served {
    fn from(resp: http::Response<Body>) -> Self {
        Self { resp, settlement: None }
    }
}

impl Providers {
    /// Serves one admitted call to an `ai` API.
    pub async fn serve(&self, ctx: AiCall<'_>, req: Request<Inbound>) -> Result<Served, Refusal> {
        let op = Operation::of(&ctx.admitted.api.api, req.method(), req.uri().path())?;
        if op == Operation::Models {
            return Ok(respond::model_list(ctx.snapshot, ctx.admitted).into());
        }
        let body = read_body(req, ctx.max_body_bytes).await?;
        match op {
            Operation::Embeddings => self.embeddings(ctx, &body).await.map(Served::from),
            _ => self.chat(ctx, op.caller_format(), &body).await,
        }
    }

    async fn chat(&self, ctx: AiCall<'_>, format: WireFormat, body: &Bytes) -> Result<Served, Refusal> {
        let parsed = match format {
            WireFormat::Anthropic => anthropic::parse_request(body),
            _ => openai::parse_request(body),
        }
        .map_err(|e| Refusal::request_invalid(e.path(), &e))?;
        match self.complete(ctx, format, &parsed, Some(body), false).await? {
            Completed::Stream(served) | Completed::Relayed(served) => Ok(served),
            Completed::Whole { bytes, answer } => {
                let out = match answer {
                    Some(answer) => Bytes::from(respond::render(format, &answer)),
                    None => bytes,
                };
                Ok(respond::json(200, out).into())
            }
        }
    }

    /// Serves one admitted call to a `prompt` API: `POST <base_path>`.
    pub async fn serve_prompt(&self, ctx: AiCall<'_>, req: Request<Inbound>) -> Result<Served, Refusal> {
        let api = &ctx.admitted.api.api;
        let Some(spec) = api.prompt.as_ref() else {
            return Err(Refusal::internal(format!("prompt API {} has no prompt", api.id)));
        };
        let path = req.uri().path();
        if path.trim_end_matches('/') != api.base_path.trim_end_matches('/') {
            return Err(Refusal::route_not_found(path, keyway_core::refusals::NoRoute::NoApi));
        }
        if req.method() != http::Method::POST {
            return Err(Refusal::operation_method_not_allowed(req.method().as_str(), path, "POST"));
        }
        let body = read_body(req, ctx.max_body_bytes).await?;
        let vars = prompt::variables(spec, &body)?;
        let request = prompt::chat_request(spec, &vars);
        let request_id = ctx.row.request_id.to_string();
        match self.complete(ctx, WireFormat::OpenAi, &request, None, true).await? {
            Completed::Stream(served) | Completed::Relayed(served) => Ok(served),
            Completed::Whole { answer: None, .. } => Err(Refusal::internal("a prompt API's answer was not parsed")),
            Completed::Whole { answer: Some(answer), .. } => {
                let text = answer.choices.first().map(|c| c.message.joined_text()).unwrap_or_default();
                let usage = answer.usage.unwrap_or_default();
                let output = prompt::output(spec, text).map_err(|e| Refusal::upstream_unavailable(&spec.model, e))?;
                let body = serde_json::json!({
                    "output": output,
                    "model": spec.model,
                    "usage": {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens},
                    "request_id": request_id,
                });
                Ok(respond::json(200, body.to_string().into_bytes()).into())
            }
        }
    }

    /// Phases model, limits and upstream of a chat call, and its metering:
    /// a stream is handed back as it arrives; a whole answer read (and
    /// parsed when it is translated, or when `wants_answer`).
    async fn complete(
        &self,
        mut ctx: AiCall<'_>,
        format: WireFormat,
        parsed: &ChatRequest,
        original: Option<&Bytes>,
        wants_answer: bool,
    ) -> Result<Completed, Refusal> {
        let model = self.model_phase(&mut ctx, &parsed.model)?;
        let attempts = plan::able(plan::attempts(ctx.snapshot, &model), parsed)?;
        let (held, first_pricing) = admit(&mut ctx, &model, &attempts, |pricing| admission::estimate(parsed, pricing))?;
        let timeout = model.timeout_ms.map_or(ctx.default_timeout, Duration::from_millis);
        // JSON mode, for a provider without one, through a forced tool: the
        // rewritten request made only when such a provider may be asked.
        let emulates_json = |a: &Attempt| a.provider.kind.emulates_json_mode() && json_mode::emulable(parsed);
        let emulated = attempts.iter().any(emulates_json).then(|| {
            let mut r = parsed.clone();
            json_mode::emulate(&mut r);
            r
        });
        let emulates = |a: &Attempt| emulated.is_some() && a.provider.kind.emulates_json_mode();
        let answered = self
            .exchange(ctx.client, &attempts, timeout, |a, credential| {
                let sent = if emulates(a) { emulated.as_ref().unwrap_or(parsed) } else { parsed };
                build_chat(&target_of(a), sent, credential, format, original.map(|b| &b[..]))
            })
            .await;
        let a = match answered {
            Ok(a) => a,
            Err(failed) => return relay_failure(ctx, format, failed).map(Completed::Relayed),
        };
        let attempt = &attempts[a.attempt];
        let pricing = match a.attempt {
            0 => first_pricing,
            _ => Pricing::new(&model, &attempt.provider.name, &attempt.model),
        };
        note_upstream(ctx.call, ctx.row, attempt, &a.tried, a.resp.status(), a.elapsed);
        let reader = ResponseReader::for_kind(attempt.provider.kind);
        if parsed.stream {
            let settlement = Arc::new(Settlement::new(pricing, held));
            let json = emulates(attempt);
            let resp = respond::stream(a.resp, reader, format, parsed, tokens::prompt_text(parsed), settlement.clone(), json);
            return Ok(Completed::Stream(Served { resp, settlement: Some(settlement) }));
        }
        let bytes = read_answer(a.resp.into_body(), &attempt.provider.name).await?;
        let unreadable = |e| Refusal::upstream_unavailable(&attempt.provider.name, format_args!("answer unreadable: {e}"));
        // A body going back to a caller of its own format needs only its
        // usage read; one to translate (or to read, for a prompt API) is
        // parsed whole.
        let answer = if attempt.provider.kind.wire_format() == format && !wants_answer && !emulates(attempt) {
            None
        } else {
            let mut answer = reader.parse_response(&bytes).map_err(unreadable)?;
            if emulates(attempt) {
                json_mode::unwrap_response(&mut answer);
            }
            Some(answer)
        };
        let usage = match &answer {
            Some(a) => a.usage,
            None => reader.usage_of(&bytes).map_err(unreadable)?,
        };
        let (usage, estimated) = match usage {
            Some(u) => (u, false),
            None => {
                let parsed_now;
                let whole = match &answer {
                    Some(a) => a,
                    None => {
                        parsed_now = reader.parse_response(&bytes).map_err(unreadable)?;
                        &parsed_now
                    }
                };
                let output: String = whole.choices.iter().map(|c| c.message.joined_text()).collect();
                (tokens::local_usage(&tokens::prompt_text(parsed), &output), true)
            }
        };
        held.settle(admission::amounts(&pricing, &usage));
        pricing.fill(ctx.row, &usage, estimated);
        Ok(Completed::Whole { bytes, answer })
    }

    /// Phase model, recorded in the trace under authorization (its
    /// refusal, `model_not_allowed`, is of that stage).
    fn model_phase(&self, ctx: &mut AiCall<'_>, name: &str) -> Result<Arc<AiModel>, Refusal> {
        let model = model_phase::resolve(ctx.snapshot, ctx.admitted, name)?;
        ctx.call.trace.pass(Stage::Authorization, self.model_evidence.of(&model));
        Ok(model)
    }

    async fn embeddings(&self, mut ctx: AiCall<'_>, body: &Bytes) -> Result<http::Response<Body>, Refusal> {
        let name = embedding_model_name(body)?;
        let model = self.model_phase(&mut ctx, &name)?;
        let attempts = plan::attempts(ctx.snapshot, &model);
        let input = u64::try_from(body.len().div_ceil(4)).unwrap_or(u64::MAX);
        let (held, first_pricing) = admit(&mut ctx, &model, &attempts, |pricing| {
            admission::amounts(pricing, &keyway_ai::Usage { input_tokens: input, ..Default::default() })
        })?;
        let timeout = model.timeout_ms.map_or(ctx.default_timeout, Duration::from_millis);
        let answered = self
            .exchange(ctx.client, &attempts, timeout, |a, credential| build_embeddings(&target_of(a), body, credential))
            .await;
        let a = match answered {
            Ok(a) => a,
            Err(failed) => return relay_failure(ctx, WireFormat::OpenAi, failed).map(|s| s.resp),
        };
        let attempt = &attempts[a.attempt];
        note_upstream(ctx.call, ctx.row, attempt, &a.tried, a.resp.status(), a.elapsed);
        let bytes = read_answer(a.resp.into_body(), &attempt.provider.name).await?;
        let prompt_tokens = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.pointer("/usage/prompt_tokens").and_then(serde_json::Value::as_u64))
            .unwrap_or(0);
        let usage = keyway_ai::Usage { input_tokens: prompt_tokens, ..Default::default() };
        let pricing = match a.attempt {
            0 => first_pricing,
            _ => Pricing::new(&model, &attempt.provider.name, &attempt.model),
        };
        held.settle(admission::amounts(&pricing, &usage));
        pricing.fill(ctx.row, &usage, false);
        Ok(respond::json(200, bytes))
    }
}

/// Phase limits of an AI call: the estimate (priced as the first attempt
/// would charge it) held at every level with an AI budget or token limit;
/// with that pricing, for the call the first attempt answers.
fn admit(
    ctx: &mut AiCall<'_>,
    model: &AiModel,
    attempts: &[Attempt],
    estimate: impl FnOnce(&Pricing) -> keyway_limits::Amounts,
) -> Result<(Held, Pricing), Refusal> {
    let pricing = match attempts.first() {
        Some(a) => Pricing::new(model, &a.provider.name, &a.model),
        None => Pricing::new(model, "", ""),
    };
    let estimate = estimate(&pricing);
    let checks = admission::checks(ctx.admitted);
    let reservation = admission::reserve(ctx.meter.as_ref(), &checks, estimate, ctx.row.time)?;
    ctx.call.trace.pass(Stage::Limits, admission::evidence(ctx.admitted, &checks, estimate));
    Ok((Held::new(ctx.meter.clone(), reservation), pricing))
}

/// The provider target of `attempt`.
fn target_of(a: &Attempt) -> ProviderTarget {
    ProviderTarget {
        kind: a.provider.kind,
        base_url: a.provider.base_url.clone(),
        api_version: a.provider.api_version.clone(),
        preset: a.provider.preset.clone(),
        model: a.model.clone(),
    }
}

/// The trace's upstream entry and the row's upstream latency.
fn note_upstream(call: &mut Call, row: &mut CallLogRow, a: &Attempt, tried: &[String], status: http::StatusCode, took: Duration) {
    let ms = took.as_secs_f64() * 1000.0;
    row.upstream_latency_ms = Some(ms);
    let mut evidence = String::with_capacity(64 + a.provider.name.len() + a.model.len());
    evidence.push_str(if a.fallback { "fallback " } else { "provider " });
    evidence.push_str(&a.provider.name);
    evidence.push_str(" (");
    evidence.push_str(a.provider.kind.as_str());
    evidence.push_str(") model ");
    evidence.push_str(&a.model);
    evidence.push_str(" answered ");
    evidence.push_str(status.as_str());
    let _ = write!(evidence, " in {ms:.1} ms");
    if !tried.is_empty() {
        evidence.push_str(" after: ");
        evidence.push_str(&tried.join("; "));
    }
    call.trace.pass(Stage::Upstream, evidence);
}

/// A failure of every attempt: Keyway's refusal, or the provider's own
/// error relayed in the caller's format.
fn relay_failure(ctx: AiCall<'_>, format: WireFormat, failed: Failed) -> Result<Served, Refusal> {
    match failed {
        Failed::Refused(r) => Err(r),
        Failed::Provider { status, error, retry_after, tried } => {
            ctx.call.trace.pass(Stage::Upstream, format!("provider error relayed: {}", tried.join("; ")));
            Ok(respond::provider_error(format, status, &error, retry_after.as_deref()).into())
        }
    }
}

/// The `model` of an embeddings body.
fn embedding_model_name(body: &[u8]) -> Result<String, Refusal> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| Refusal::request_invalid(None, format_args!("not JSON: {e}")))?;
    match v.get("model") {
        Some(serde_json::Value::String(m)) => Ok(m.clone()),
        Some(_) => Err(Refusal::request_invalid(Some("model"), "`model` must be a string")),
        None => Err(Refusal::request_invalid(Some("model"), "`model` is required")),
    }
}

/// A rough count of the prompt's tokens (four characters a token), for a
/// stream that ends without reporting usage.
fn estimate_input(req: &ChatRequest) -> u64 {
    let chars: usize = req.system.iter().filter_map(|p| p.as_text()).map(str::len).sum::<usize>()
        + req.messages.iter().map(|m| m.joined_text().len()).sum::<usize>();
    (chars as u64).div_ceil(4)
}
