//! A provider's stream, translated for the caller as it arrives: the
//! provider's SSE bytes decoded into canonical events, encoded in the
//! caller's format, frame by frame. The usage it reports (or, when the
//! stream ends without one, the tokens of the text seen, counted here)
//! settles the
//! call when the stream ends or when the client goes away and the body is
//! dropped.

use super::metering::Settlement;
use crate::body::{Body, BodyError};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use keyway_ai::outbound::ProviderStream;
use keyway_ai::{anthropic, openai, StreamEvent, Usage, WireFormat};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The caller's stream encoder.
#[derive(Debug)]
pub enum CallerEncoder {
    /// OpenAI `chat.completion.chunk`s.
    OpenAi(openai::StreamEncoder),
    /// Anthropic `message_start` ... `message_stop`.
    Anthropic(anthropic::StreamEncoder),
}

impl CallerEncoder {
    /// The encoder for a caller speaking `format`; `include_usage` is the
    /// caller's own `stream_options.include_usage` (OpenAI).
    pub fn new(format: WireFormat, include_usage: bool, created: u64) -> Self {
        match format {
            WireFormat::Anthropic => Self::Anthropic(anthropic::StreamEncoder::new()),
            _ => Self::OpenAi(openai::StreamEncoder::new(created, include_usage)),
        }
    }

    fn encode(&mut self, events: &[StreamEvent]) -> Vec<u8> {
        match self {
            Self::OpenAi(e) => e.encode_all(events),
            Self::Anthropic(e) => e.encode_all(events),
        }
    }
}

/// The translated stream, as a response body.
pub struct TranslatedStream {
    upstream: Body,
    decoder: ProviderStream,
    encoder: CallerEncoder,
    /// The last usage the provider reported.
    usage: Option<Usage>,
    /// Generated text seen, counted when no usage comes.
    output: String,
    /// The prompt's text, counted when no usage comes.
    prompt: String,
    ended: bool,
    settlement: Arc<Settlement>,
}

impl std::fmt::Debug for TranslatedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranslatedStream").field("usage", &self.usage).field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl TranslatedStream {
    /// Translates `upstream`, decoded by `decoder`, for `encoder`'s caller.
    pub fn new(
        upstream: Body,
        decoder: ProviderStream,
        encoder: CallerEncoder,
        prompt: String,
        settlement: Arc<Settlement>,
    ) -> Self {
        Self { upstream, decoder, encoder, usage: None, output: String::new(), prompt, ended: false, settlement }
    }

    fn observe(&mut self, events: &[StreamEvent]) {
        for ev in events {
            match ev {
                StreamEvent::Usage(u) => self.usage = Some(*u),
                StreamEvent::TextDelta { text, .. } if self.usage.is_none() => self.output.push_str(text),
                StreamEvent::ToolCallArgsDelta { json, .. } if self.usage.is_none() => self.output.push_str(json),
                _ => {}
            }
        }
    }

    /// Ends the stream: the call is settled with what was used.
    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            match self.usage {
                Some(usage) => self.settlement.usage_known(usage, false),
                None => self.settlement.usage_known(super::tokens::local_usage(&self.prompt, &self.output), true),
            }
        }
    }

    /// What to send for `events`; `None` when they encode to nothing.
    fn frame_of(&mut self, events: &[StreamEvent]) -> Option<Frame<Bytes>> {
        self.observe(events);
        let out = self.encoder.encode(events);
        (!out.is_empty()).then(|| Frame::data(Bytes::from(out)))
    }
}

impl http_body::Body for TranslatedStream {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.upstream).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else { continue };
                    match this.decoder.feed(&data) {
                        Ok(events) => {
                            if let Some(f) = this.frame_of(&events) {
                                return Poll::Ready(Some(Ok(f)));
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "provider stream unreadable; ending it");
                            this.end();
                            return Poll::Ready(Some(Err(Box::new(e))));
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::warn!(error = %e, "provider stream broke off");
                    this.end();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    let events = this.decoder.finish().unwrap_or_default();
                    let frame = this.frame_of(&events);
                    this.end();
                    return Poll::Ready(frame.map(Ok));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for TranslatedStream {
    /// A client that went away mid-stream: the call settles with what was
    /// used so far.
    fn drop(&mut self) {
        self.end();
    }
}
