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

/// The most bytes joined into one frame: a provider whose stream is all
/// there at once is still relayed in pieces, not held whole.
const MAX_JOINED: usize = 64 * 1024;

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
    /// How the provider's stream failed, once what came before it is sent.
    failed: Option<BodyError>,
    settlement: Arc<Settlement>,
    /// JSON mode emulated with a forced tool: its call goes out as text.
    json: Option<keyway_ai::json_mode::JsonStream>,
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
        Self {
            upstream,
            decoder,
            encoder,
            usage: None,
            output: String::new(),
            prompt,
            ended: false,
            failed: None,
            settlement,
            json: None,
        }
    }

    /// The provider answers through the JSON mode's forced tool
    /// ([`keyway_ai::json_mode`]): its call is sent as the answer's text.
    pub fn answering_json(mut self) -> Self {
        self.json = Some(keyway_ai::json_mode::JsonStream::default());
        self
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
    fn take(&mut self, data: &Bytes) -> Result<Option<BytesMut>, keyway_ai::FormatError> {
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
                // The usage-only chunk is read alone; anything else with
                // usage is decoded in full (only usage events are fed to
                // the decoder, whole, so skipping one leaves it no state).
                let usage_only = match p.reader.usage_only_event(&event) {
                    Some(usage) => {
                        self.usage = Some(usage);
                        p.raw = Vec::new();
                        true
                    }
                    None => {
                        let decoded = self.decoder.feed(&event)?;
                        for e in &decoded {
                            if let StreamEvent::Usage(u) = e {
                                self.usage = Some(*u);
                                p.raw = Vec::new();
                            }
                        }
                        decoded.iter().all(|e| matches!(e, StreamEvent::Usage(_) | StreamEvent::Start { .. }))
                    }
                };
                if p.drop_usage_chunk && usage_only {
                    continue;
                }
            }
            join(&mut out, Some(event));
        }
        Ok(out.filter(|o| !o.is_empty()))
    }

    /// What is left to send when the provider's stream has ended.
    fn last_frame(&mut self) -> Option<BytesMut> {
        if let CallerEncoder::PassThrough(p) = &mut self.encoder {
            let rest = p.events.rest();
            return (!rest.is_empty()).then_some(rest);
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
    fn frame_of(&mut self, events: &[StreamEvent]) -> Option<BytesMut> {
        let mapped: Vec<StreamEvent>;
        let events = match self.json.as_mut() {
            Some(json) => {
                mapped = events.iter().cloned().filter_map(|e| json.map(e)).collect();
                &mapped[..]
            }
            None => events,
        };
        self.observe(events);
        let out = self.encoder.encode(events);
        // Unique, so taken over without a copy.
        (!out.is_empty()).then(|| BytesMut::from(Bytes::from(out)))
    }
}

impl http_body::Body for TranslatedStream {
    type Data = Bytes;
    type Error = BodyError;

    /// Everything the provider has sent by now goes out as one frame (one
    /// write to the client, however many chunks it came in; up to
    /// [`MAX_JOINED`] bytes); nothing waits for more. A failure after some
    /// of it is reported on the next poll.
    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        let mut out: Option<BytesMut> = None;
        let frame = |out: Option<BytesMut>| out.map(|o| Ok(Frame::data(o.freeze())));
        loop {
            if let Some(e) = this.failed.take() {
                return Poll::Ready(Some(Err(e)));
            }
            if this.ended {
                return Poll::Ready(frame(out));
            }
            let failure: BodyError = match Pin::new(&mut this.upstream).poll_frame(cx) {
                Poll::Pending => return if out.is_some() { Poll::Ready(frame(out)) } else { Poll::Pending },
                Poll::Ready(Some(Ok(data))) => {
                    let Ok(data) = data.into_data() else { continue };
                    match this.take(&data) {
                        Ok(more) => {
                            join(&mut out, more);
                            if out.as_ref().is_some_and(|o| o.len() >= MAX_JOINED) {
                                return Poll::Ready(frame(out));
                            }
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "provider stream unreadable; ending it");
                            Box::new(e)
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::warn!(error = %e, "provider stream broke off");
                    e
                }
                Poll::Ready(None) => {
                    let last = this.last_frame();
                    join(&mut out, last);
                    this.end();
                    return Poll::Ready(frame(out));
                }
            };
            this.end();
            if out.is_none() {
                return Poll::Ready(Some(Err(failure)));
            }
            this.failed = Some(failure);
            return Poll::Ready(frame(out));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.failed.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// `more` after what `out` holds (no copy when the two are adjacent).
fn join(out: &mut Option<BytesMut>, more: Option<BytesMut>) {
    match (out.as_mut(), more) {
        (Some(o), Some(m)) => o.unsplit(m),
        (None, m) => *out = m,
        (_, None) => {}
    }
}

impl Drop for TranslatedStream {
    /// A client that went away mid-stream: the call settles with what was
    /// used so far.
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::metering::{Held, Pricing};
    use http_body::Body as _;
    use http_body_util::BodyExt;
    use keyway_limits::{Amounts, Meter, MeterLedger};
    use std::collections::VecDeque;
    use std::task::Waker;

    /// What the scripted provider does on each poll.
    enum Step {
        Data(&'static [u8]),
        /// Nothing more yet.
        Wait,
        Fail,
    }

    struct Scripted(VecDeque<Step>);

    impl http_body::Body for Scripted {
        type Data = Bytes;
        type Error = BodyError;

        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
            match self.0.pop_front() {
                Some(Step::Data(b)) => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b))))),
                Some(Step::Wait) => Poll::Pending,
                Some(Step::Fail) => Poll::Ready(Some(Err("connection reset".into()))),
                None => Poll::Ready(None),
            }
        }
    }

    /// A same-format OpenAI stream over `steps`, the caller having asked for usage.
    fn passed_through(steps: Vec<Step>) -> TranslatedStream {
        let meter: Arc<dyn Meter> = Arc::new(MeterLedger::new());
        let reservation = meter.reserve(&[], Amounts::default(), chrono::Utc::now()).unwrap();
        let pricing = Pricing { model: "fast".into(), provider: "p".into(), price: None };
        let settlement = Arc::new(Settlement::new(pricing, Held::new(meter, reservation)));
        let reader = ResponseReader::OpenAi;
        let encoder = CallerEncoder::PassThrough(PassThrough::new(reader, true));
        TranslatedStream::new(Scripted(steps.into()).boxed(), reader.stream(), encoder, String::new(), settlement)
    }

    /// One poll: `Some(bytes)` for a frame, `None` when pending; panics at the end or on an error.
    fn poll(s: &mut TranslatedStream) -> Option<Vec<u8>> {
        match Pin::new(s).poll_frame(&mut Context::from_waker(Waker::noop())) {
            Poll::Pending => None,
            Poll::Ready(Some(Ok(f))) => Some(f.into_data().unwrap().to_vec()),
            Poll::Ready(Some(Err(e))) => panic!("failed: {e}"),
            Poll::Ready(None) => panic!("ended"),
        }
    }

    const FIRST: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n";
    const SECOND: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"}}],\"usage\":null}\n\n";

    #[test]
    fn an_event_is_relayed_before_the_provider_has_finished() {
        let mut s = passed_through(vec![Step::Data(FIRST), Step::Wait, Step::Data(SECOND), Step::Wait]);
        assert_eq!(poll(&mut s).as_deref(), Some(FIRST), "sent while the provider is still streaming");
        assert!(!s.ended);
        assert_eq!(poll(&mut s).as_deref(), Some(SECOND));
        assert!(!s.ended);
    }

    #[test]
    fn what_has_arrived_goes_out_in_one_frame() {
        let mut s = passed_through(vec![Step::Data(FIRST), Step::Data(&SECOND[..9]), Step::Data(&SECOND[9..]), Step::Wait]);
        assert_eq!(poll(&mut s), Some([FIRST, SECOND].concat()));
        assert!(!s.ended);
    }

    #[test]
    fn a_stream_all_there_at_once_is_relayed_in_bounded_frames() {
        const EVENT: &[u8] = &[b'x'; 1000];
        let event: &'static [u8] = [b"data: \"", EVENT, b"\"\n\n"].concat().leak();
        let mut s = passed_through((0..200).map(|_| Step::Data(event)).collect());
        let (mut frames, mut bytes) = (0, 0);
        while !s.ended {
            let f = poll(&mut s).unwrap();
            assert!(f.len() < MAX_JOINED + event.len(), "{}", f.len());
            frames += 1;
            bytes += f.len();
        }
        // 66 events of 1,008 bytes pass 64 KiB: three such frames, then the last two events.
        assert_eq!((frames, bytes), (4, 200 * event.len()));
    }

    #[test]
    fn usage_split_across_chunks_is_found() {
        let mut s = passed_through(vec![
            Step::Data(FIRST),
            Step::Data(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,"),
            Step::Wait,
            Step::Data(b"\"completion_tokens\":4,\"total_tokens\":7}}\n"),
            Step::Data(b"\ndata: [DONE]\n\n"),
        ]);
        assert_eq!(poll(&mut s).as_deref(), Some(FIRST));
        assert_eq!(s.usage, None);
        let rest = poll(&mut s).unwrap();
        assert!(
            rest.starts_with(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4"),
            "kept: the caller asked"
        );
        assert!(rest.ends_with(b"data: [DONE]\n\n"));
        assert_eq!(s.usage.map(|u| (u.input_tokens, u.output_tokens)), Some((3, 4)));
        assert!(s.ended && s.is_end_stream());
    }

    #[test]
    fn a_failure_after_data_comes_after_the_data() {
        let mut s = passed_through(vec![Step::Data(FIRST), Step::Fail]);
        assert_eq!(poll(&mut s).as_deref(), Some(FIRST));
        assert!(!s.is_end_stream());
        let next = Pin::new(&mut s).poll_frame(&mut Context::from_waker(Waker::noop()));
        assert!(matches!(next, Poll::Ready(Some(Err(_)))));
        assert!(s.is_end_stream());
        assert!(matches!(Pin::new(&mut s).poll_frame(&mut Context::from_waker(Waker::noop())), Poll::Ready(None)));
    }
}
