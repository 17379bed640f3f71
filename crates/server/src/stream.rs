//! Streaming responses: ConverseStream and InvokeModelWithResponseStream over
//! `application/vnd.amazon.eventstream`.
//!
//! The backend answers first (the scripted backend is instant); the answer is then cut into
//! pieces and written as event frames, one per piece, with an optional pace between frames. The
//! body is a channel: when the client goes away the receiver is dropped, the next send fails and
//! the producer stops at once.

use axum::body::Body;
use axum::http::{HeaderValue, Response};
use bg_backends::StreamEvent;
use bg_eventstream::{event, padding};
use bytes::Bytes;
use serde_json::{json, Value};
use std::time::Duration;

/// Words per streamed text delta (Bedrock sends a few tokens per delta).
pub const WORDS_PER_DELTA: usize = bg_backends::WORDS_PER_DELTA;

/// Bedrock pads each event with a `"p"` member of varying length (bedrock-facts §1.4); clients
/// ignore it. We add one, deterministic, so the frames look and size like AWS's.
fn with_padding(mut v: Value, seed: u64) -> Vec<u8> {
    if let Value::Object(m) = &mut v {
        m.insert("p".into(), Value::String(padding(seed).to_string()));
    }
    v.to_string().into_bytes()
}

/// The frames of one streamed answer, produced one at a time as the client reads: a frame is
/// encoded only when the previous one was handed to the connection (issue 10: a stalled
/// reader pinned 22-56× its request when every frame was built before the first was sent).
pub struct Frames(Box<dyn Iterator<Item = Vec<u8>> + Send>);

impl Frames {
    pub fn new(frames: impl Iterator<Item = Vec<u8>> + Send + 'static) -> Frames {
        Frames(Box::new(frames))
    }

    /// A scripted mid-stream failure: `after_frames` frames, then the exception frame.
    pub fn with_fault(self, fault: Option<bg_gates::quota::FaultRule>) -> Frames {
        match fault {
            None => self,
            Some(f) => {
                let (kind, message) = f.kind.stream_exception();
                let last = exception_frame(kind, message);
                Frames::new(self.0.take(f.after_frames).chain(std::iter::once(last)))
            }
        }
    }
}

impl Iterator for Frames {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        self.0.next()
    }
}

/// One ConverseStream event frame.
fn converse_frame(n: usize, ev: &StreamEvent, latency_ms: u64) -> Vec<u8> {
    let (kind, v) = match ev {
        StreamEvent::MessageStart => ("messageStart", json!({ "role": "assistant" })),
        StreamEvent::ToolUseStart { index, id, name } => (
            "contentBlockStart",
            json!({ "contentBlockIndex": index, "start": { "toolUse": { "toolUseId": id, "name": name } } }),
        ),
        StreamEvent::TextDelta { index, text } => (
            "contentBlockDelta",
            json!({ "contentBlockIndex": index, "delta": { "text": text } }),
        ),
        StreamEvent::ToolInputDelta { index, json } => (
            "contentBlockDelta",
            json!({ "contentBlockIndex": index, "delta": { "toolUse": { "input": json } } }),
        ),
        StreamEvent::ReasoningDelta { index, text } => (
            "contentBlockDelta",
            json!({ "contentBlockIndex": index, "delta": { "reasoningContent": { "text": text } } }),
        ),
        StreamEvent::BlockStop { index } => {
            ("contentBlockStop", json!({ "contentBlockIndex": index }))
        }
        StreamEvent::MessageStop { stop_reason, .. } => (
            "messageStop",
            json!({ "stopReason": stop_reason.as_converse() }),
        ),
        StreamEvent::Usage(u) => (
            "metadata",
            json!({
                "usage": {
                    "inputTokens": u.input_tokens,
                    "outputTokens": u.output_tokens,
                    "totalTokens": u.input_tokens + u.output_tokens,
                },
                "metrics": { "latencyMs": latency_ms },
            }),
        ),
    };
    event(kind, &with_padding(v, n as u64 + 1))
}

/// A run of text deltas of one block kept as one string and where each delta ends: what a
/// waiting stream holds is then about the text itself, not an event (and an allocation) per
/// two words.
enum Piece {
    One(StreamEvent),
    Texts {
        index: usize,
        text: String,
        ends: Vec<usize>,
    },
}

fn compact(events: Vec<StreamEvent>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for ev in events {
        match (ev, out.last_mut()) {
            (
                StreamEvent::TextDelta { index, text: t },
                Some(Piece::Texts {
                    index: i,
                    text,
                    ends,
                }),
            ) if *i == index => {
                text.push_str(&t);
                ends.push(text.len());
            }
            (StreamEvent::TextDelta { index, text }, _) => {
                let ends = vec![text.len()];
                out.push(Piece::Texts { index, text, ends });
            }
            (ev, _) => out.push(Piece::One(ev)),
        }
    }
    out
}

impl Piece {
    fn events(self) -> Box<dyn Iterator<Item = StreamEvent> + Send> {
        match self {
            Piece::One(ev) => Box::new(std::iter::once(ev)),
            Piece::Texts { index, text, ends } => Box::new((0..ends.len()).map(move |i| {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                StreamEvent::TextDelta {
                    index,
                    text: text[start..ends[i]].to_string(),
                }
            })),
        }
    }
}

/// Every frame of a ConverseStream answer, in order, from the backend's normalized events,
/// each encoded when it is read.
pub fn converse_frames(events: Vec<StreamEvent>, latency_ms: u64) -> Frames {
    Frames::new(
        compact(events)
            .into_iter()
            .flat_map(Piece::events)
            .enumerate()
            .map(move |(n, ev)| converse_frame(n, &ev, latency_ms)),
    )
}

/// InvokeModelWithResponseStream: each provider-native chunk in a `chunk` event
/// (`{"bytes": base64}`), encoded when it is read.
pub fn invoke_frames(native_chunks: Vec<Vec<u8>>) -> Frames {
    use base64::Engine;
    Frames::new(native_chunks.into_iter().enumerate().map(|(i, c)| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(c);
        event(
            "chunk",
            &with_padding(json!({ "bytes": b64 }), i as u64 + 1),
        )
    }))
}

/// An exception frame after the 200 (`:message-type: exception`).
pub fn exception_frame(kind: &str, message: &str) -> Vec<u8> {
    bg_eventstream::exception(kind, json!({ "message": message }).to_string().as_bytes())
}

/// The in-stream `modelStreamErrorException` of an upstream that failed mid-stream, with the
/// upstream's status and message (`originalStatusCode`, `originalMessage`, service model).
pub fn model_stream_error_frame(status: u16, message: &str) -> Vec<u8> {
    bg_eventstream::exception(
        "modelStreamErrorException",
        json!({
            "message": "The model failed while streaming its response.",
            "originalStatusCode": status,
            "originalMessage": message,
        })
        .to_string()
        .as_bytes(),
    )
}

/// The events of a live backend stream (an upstream's), as they arrive.
pub type LiveEvents = tokio::sync::mpsc::Receiver<Result<StreamEvent, bg_backends::BackendError>>;

/// How a live stream's events become frames: one Converse event each, or the model family's
/// native chunks (InvokeModelWithResponseStream).
pub trait LiveFramer: Send {
    /// The frames for one event; `n` is the number of frames sent before it.
    fn frames(&mut self, n: usize, ev: &StreamEvent, elapsed_ms: u64) -> Vec<Vec<u8>>;
    /// The closing frames once the backend's stream ended without an error.
    fn finish(&mut self, n: usize, elapsed_ms: u64) -> Vec<Vec<u8>>;
}

/// ConverseStream: one event frame per event, nothing at the end.
pub struct ConverseFramer;

impl LiveFramer for ConverseFramer {
    fn frames(&mut self, n: usize, ev: &StreamEvent, elapsed_ms: u64) -> Vec<Vec<u8>> {
        vec![converse_frame(n, ev, elapsed_ms)]
    }
    fn finish(&mut self, _n: usize, _elapsed_ms: u64) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// InvokeModelWithResponseStream: each event becomes the family's native chunk payloads (in
/// `chunk` events), as they arrive; the stop reason, usage and invocation metrics close it.
pub struct NativeFramer {
    chunks: bg_backends::native::LiveChunks,
    first_byte_ms: Option<u64>,
}

impl NativeFramer {
    pub fn new(chunks: bg_backends::native::LiveChunks) -> NativeFramer {
        NativeFramer {
            chunks,
            first_byte_ms: None,
        }
    }

    fn wrap(n: usize, payloads: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        use base64::Engine;
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let b64 = base64::engine::general_purpose::STANDARD.encode(c);
                event(
                    "chunk",
                    &with_padding(json!({ "bytes": b64 }), (n + i) as u64 + 1),
                )
            })
            .collect()
    }
}

impl LiveFramer for NativeFramer {
    fn frames(&mut self, n: usize, ev: &StreamEvent, elapsed_ms: u64) -> Vec<Vec<u8>> {
        let out = Self::wrap(n, self.chunks.push(ev));
        if !out.is_empty() && self.first_byte_ms.is_none() {
            self.first_byte_ms = Some(elapsed_ms);
        }
        out
    }
    fn finish(&mut self, n: usize, elapsed_ms: u64) -> Vec<Vec<u8>> {
        let first = self.first_byte_ms.unwrap_or(elapsed_ms);
        Self::wrap(n, self.chunks.finish(elapsed_ms, first))
    }
}

/// A 200 event-stream response fed by a live backend stream: each event becomes its frames
/// as soon as the upstream sends it (no pace, no gathering). `first` was already received (the
/// caller turned an error before it into an HTTP error); a later error becomes the in-stream
/// exception; the usage event is handed to `on_usage` (the quota meter). A scripted fault
/// still cuts the stream after its frame count.
#[allow(clippy::too_many_arguments)]
pub fn live_response(
    first: StreamEvent,
    mut rest: LiveEvents,
    started: std::time::Instant,
    fault: Option<bg_gates::quota::FaultRule>,
    on_usage: Box<dyn FnOnce(u32) + Send>,
    mut framer: Box<dyn LiveFramer>,
    request_id: &str,
    extra: &[(&'static str, &str)],
) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut on_usage = Some(on_usage);
        let mut next = Some(Ok(first));
        let mut n = 0usize;
        loop {
            let ms = started.elapsed().as_millis() as u64;
            let (frames, last) = match next.take() {
                Some(Ok(ev)) => {
                    if let (StreamEvent::Usage(u), Some(f)) = (&ev, on_usage.take()) {
                        f(u.output_tokens);
                    }
                    (framer.frames(n, &ev, ms), false)
                }
                Some(Err(e)) => (vec![stream_error_frame(e)], true),
                None => (framer.finish(n, ms), true),
            };
            for frame in frames {
                if let Some(f) = &fault {
                    if n == f.after_frames {
                        let (kind, message) = f.kind.stream_exception();
                        let _ = tx
                            .send(Ok(Bytes::from(exception_frame(kind, message))))
                            .await;
                        return;
                    }
                }
                if tx.send(Ok(Bytes::from(frame))).await.is_err() {
                    return; // client gone
                }
                n += 1;
            }
            if last {
                return;
            }
            next = rest.recv().await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
    resp
}

/// A backend failure after the 200, as the stream's exception event.
fn stream_error_frame(e: bg_backends::BackendError) -> Vec<u8> {
    use bg_backends::BackendError as B;
    match e {
        B::ModelStream { status, message } | B::Upstream { status, message } => {
            model_stream_error_frame(status, &message)
        }
        B::Timeout(m) => exception_frame("modelTimeoutException", &m),
        B::Unavailable(m) => exception_frame("serviceUnavailableException", &m),
        B::Validation(m) | B::Unsupported(m) => exception_frame("validationException", &m),
        B::ModelError(m) => model_stream_error_frame(500, &m),
        // A Bedrock upstream's own in-stream exception goes on unchanged; any other AWS error
        // after the 200 is the model's stream failing.
        B::Aws {
            code,
            status,
            message,
        } => match code.as_str() {
            "modelStreamErrorException" => model_stream_error_frame(status, &message),
            "internalServerException"
            | "validationException"
            | "throttlingException"
            | "serviceUnavailableException"
            | "modelTimeoutException" => exception_frame(&code, &message),
            _ => model_stream_error_frame(status, &message),
        },
    }
}

type FrameSender = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Writes the frames into the body channel as it has room (each frame is encoded only then);
/// returns how many were handed over. Stops at the first failed send: the receiver is gone
/// because the client disconnected.
async fn produce(frames: impl Iterator<Item = Vec<u8>>, pace: Duration, tx: FrameSender) -> usize {
    let mut sent = 0;
    for f in frames {
        if sent > 0 && !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
        // Wait for room before the next frame is encoded: a stalled reader holds at most the
        // channel's frames and this one.
        let Ok(permit) = tx.reserve().await else {
            return sent; // client went away
        };
        permit.send(Ok(Bytes::from(f)));
        sent += 1;
    }
    sent
}

/// A 200 event-stream response that writes `frames` with `pace` between them.
pub fn response(
    frames: Frames,
    pace: Duration,
    request_id: &str,
    extra: &[(&'static str, &str)],
) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(produce(frames, pace, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use bg_backends::{Block, Completion};
    use bg_backends::{StopReason, Usage};

    #[test]
    fn converse_sequence_and_crc() {
        let c = Completion {
            content: vec![Block::Text("one two three".into())],
            stop_reason: StopReason::EndTurn,
            usage: Usage {
                input_tokens: 3,
                output_tokens: 3,
            },
            stop_sequence: None,
        };
        let frames = converse_frames(bg_backends::completion_events(&c, WORDS_PER_DELTA), 7);
        let mut dec = bg_eventstream::Decoder::new();
        for f in frames {
            dec.push(&f);
        }
        let mut kinds = Vec::new();
        let mut text = String::new();
        while let Some(m) = dec.next().unwrap() {
            assert_eq!(m.header_str(":message-type"), Some("event"));
            let kind = m.header_str(":event-type").unwrap().to_string();
            let v: Value = serde_json::from_slice(&m.payload).unwrap();
            if kind == "contentBlockDelta" {
                text.push_str(v["delta"]["text"].as_str().unwrap());
            }
            kinds.push(kind);
        }
        assert_eq!(
            kinds,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        assert_eq!(text, "one two three");
    }

    /// Compacting text runs gives back the same events, in order, deltas split where they were.
    #[test]
    fn compact_text_runs_round_trip() {
        let events = vec![
            StreamEvent::MessageStart,
            StreamEvent::TextDelta {
                index: 0,
                text: "one two ".into(),
            },
            StreamEvent::TextDelta {
                index: 0,
                text: "thrée".into(),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::TextDelta {
                index: 1,
                text: "x".into(),
            },
            StreamEvent::TextDelta {
                index: 2,
                text: "y".into(),
            },
        ];
        let back: Vec<StreamEvent> = compact(events.clone())
            .into_iter()
            .flat_map(Piece::events)
            .collect();
        assert_eq!(back, events);
        let pieces = compact(events);
        assert_eq!(pieces.len(), 5);
    }

    /// A client that goes away after the first event ends the producer at once: it does not
    /// sleep through the remaining paces. Paused tokio time makes this exact, not timed.
    #[tokio::test(start_paused = true)]
    async fn disconnect_stops_the_producer_at_once() {
        let frames: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 16]).collect();
        let pace = Duration::from_secs(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let task = tokio::spawn(produce(frames.into_iter(), pace, tx));
        assert_eq!(
            rx.recv().await.unwrap().unwrap(),
            Bytes::from(vec![0u8; 16])
        );
        let start = tokio::time::Instant::now();
        drop(rx);
        let sent = task.await.unwrap();
        // frame 0 was read; frame 1 may have been buffered in the channel before the drop
        assert!(sent <= 2, "{sent} frames handed over after the disconnect");
        assert!(start.elapsed() <= pace * 2, "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_gets_every_frame_in_order() {
        let frames: Vec<Vec<u8>> = (0..10).map(|i| vec![i as u8; 4]).collect();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let task = tokio::spawn(produce(
            frames.clone().into_iter(),
            Duration::from_millis(5),
            tx,
        ));
        let mut got = Vec::new();
        while let Some(f) = rx.recv().await {
            got.push(f.unwrap().to_vec());
        }
        assert_eq!(got, frames);
        assert_eq!(task.await.unwrap(), 10);
    }

    /// Backpressure: a reader that reads nothing makes the producer encode only what the
    /// channel holds plus one frame, however long the answer (issue 10).
    #[tokio::test(start_paused = true)]
    async fn a_stalled_reader_makes_the_producer_wait() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let encoded = Arc::new(AtomicUsize::new(0));
        let counter = encoded.clone();
        let frames = Frames::new((0..10_000).map(move |i| {
            counter.fetch_add(1, Ordering::SeqCst);
            vec![i as u8; 1024]
        }));
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let task = tokio::spawn(produce(frames, Duration::ZERO, tx));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(encoded.load(Ordering::SeqCst), 5);
        // reading one frame lets exactly one more be encoded
        rx.recv().await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(encoded.load(Ordering::SeqCst), 6);
        drop(rx);
        assert_eq!(task.await.unwrap(), 5);
    }

    #[test]
    fn a_fault_cuts_the_frames_and_ends_with_the_exception() {
        let frames =
            Frames::new((0..10u8).map(|i| vec![i])).with_fault(Some(bg_gates::quota::FaultRule {
                model: "m".into(),
                kind: bg_gates::quota::FaultKind::StreamThrottle,
                every: 1,
                after_frames: 2,
            }));
        let v: Vec<Vec<u8>> = frames.collect();
        assert_eq!(v.len(), 3);
        assert_eq!(&v[..2], &[vec![0u8], vec![1u8]]);
    }
}
