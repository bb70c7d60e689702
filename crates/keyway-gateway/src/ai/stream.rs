//! A provider's stream, for the caller as it arrives: when the caller
//! speaks the provider's format, its events pass through as the bytes they
//! arrived as (only those carrying usage are decoded, and the usage chunk
//! Keyway asked for on the caller's behalf is dropped if the caller did not
//! ask); otherwise the provider's SSE bytes are decoded into canonical
//! events and encoded in the caller's format, frame by frame. The usage it reports (or, when the
//! stream ends without one, the tokens of the text seen, counted here)
//! settles the
//! call when the stream ends or when the client goes away and the body is
//! dropped.

use super::metering::Settlement;
use super::sse_events::{carries_usage, EventSplitter};
use crate::body::{Body, BodyError};
use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use keyway_ai::outbound::{ProviderStream, ResponseReader};
use keyway_ai::{anthropic, openai, StreamEvent, Usage, WireFormat};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// What the caller is sent.
#[derive(Debug)]
pub enum CallerEncoder {
    /// OpenAI `chat.completion.chunk`s.
    OpenAi(openai::StreamEncoder),
    /// Anthropic `message_start` ... `message_stop`.
    Anthropic(anthropic::StreamEncoder),
    /// The provider's own events, as they arrived (same format).
    PassThrough(PassThrough),
}

/// A same-format stream's state.
#[derive(Debug)]
pub struct PassThrough {
    events: EventSplitter,
    /// Drop the usage-only chunk: Keyway asked for usage, the caller did not.
    drop_usage_chunk: bool,
    /// The provider's frames so far (shared, not copied), decoded for
    /// their text only if no usage comes.
    raw: Vec<Bytes>,
    reader: ResponseReader,
}

impl PassThrough {
    /// Passes `reader`'s format through; `caller_asked_usage`: the caller's
    /// own `stream_options.include_usage` (Anthropic streams always carry it).
    pub fn new(reader: ResponseReader, caller_asked_usage: bool) -> Self {
        let drop_usage_chunk = reader == ResponseReader::OpenAi && !caller_asked_usage;
        Self { events: EventSplitter::default(), drop_usage_chunk, raw: Vec::new(), reader }
    }
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
            Self::PassThrough(_) => Vec::new(),
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
                None => {
                    self.passed_text();
                    self.settlement.usage_known(super::tokens::local_usage(&self.prompt, &self.output), true);
                }
            }
        }
    }

    /// What to send for the provider's `data`; `None` when nothing (yet).
    fn take(&mut self, data: &Bytes) -> Result<Option<Frame<Bytes>>, keyway_ai::FormatError> {
        let CallerEncoder::PassThrough(p) = &mut self.encoder else {
            let events = self.decoder.feed(data)?;
            return Ok(self.frame_of(&events));
        };
        if self.usage.is_none() {
            p.raw.push(data.clone());
        }
        p.events.push(data);
        // The events to send, joined: adjacent in the splitter's buffer,
        // so without a copy unless a dropped chunk sits between them.
        let mut out: Option<BytesMut> = None;
        while let Some(event) = p.events.next_event() {
            if carries_usage(&event) {
                let decoded = self.decoder.feed(&event)?;
                let usage_only = decoded.iter().all(|e| matches!(e, StreamEvent::Usage(_) | StreamEvent::Start { .. }));
                for e in &decoded {
                    if let StreamEvent::Usage(u) = e {
                        self.usage = Some(*u);
                        p.raw = Vec::new();
                    }
                }
                if p.drop_usage_chunk && usage_only {
                    continue;
                }
            }
            match &mut out {
                Some(out) => out.unsplit(event),
                None => out = Some(event),
            }
        }
        Ok(out.filter(|o| !o.is_empty()).map(|o| Frame::data(o.freeze())))
    }

    /// What is left to send when the provider's stream has ended.
    fn last_frame(&mut self) -> Option<Frame<Bytes>> {
        if let CallerEncoder::PassThrough(p) = &mut self.encoder {
            let rest = p.events.rest();
            return (!rest.is_empty()).then(|| Frame::data(rest.freeze()));
        }
        let events = self.decoder.finish().unwrap_or_default();
        self.frame_of(&events)
    }

    /// A passed-through stream without usage: its text, decoded now.
    fn passed_text(&mut self) {
        let CallerEncoder::PassThrough(p) = &mut self.encoder else { return };
        let mut decoder = p.reader.stream();
        // As one feed of all the bytes: nothing of them when one is unreadable.
        let mut events = Vec::new();
        for frame in &p.raw {
            match decoder.feed(frame) {
                Ok(more) => events.extend(more),
                Err(_) => {
                    events.clear();
                    break;
                }
            }
        }
        events.extend(decoder.finish().unwrap_or_default());
        p.raw = Vec::new();
        self.observe(&events);
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
                    match this.take(&data) {
                        Ok(Some(f)) => return Poll::Ready(Some(Ok(f))),
                        Ok(None) => {}
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
                    let frame = this.last_frame();
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
