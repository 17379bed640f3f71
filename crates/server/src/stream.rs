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

/// Every frame of a ConverseStream answer, in order, from the backend's normalized events.
pub fn converse_frames(events: &[StreamEvent], latency_ms: u64) -> Vec<Vec<u8>> {
    let mut frames = Vec::with_capacity(events.len());
    for (n, ev) in events.iter().enumerate() {
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
        frames.push(event(kind, &with_padding(v, n as u64 + 1)));
    }
    frames
}

/// InvokeModelWithResponseStream: each provider-native chunk in a `chunk` event
/// (`{"bytes": base64}`).
pub fn invoke_frames(native_chunks: &[Vec<u8>]) -> Vec<Vec<u8>> {
    use base64::Engine;
    native_chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(c);
            event(
                "chunk",
                &with_padding(json!({ "bytes": b64 }), i as u64 + 1),
            )
        })
        .collect()
}

/// An exception frame after the 200 (`:message-type: exception`).
pub fn exception_frame(kind: &str, message: &str) -> Vec<u8> {
    bg_eventstream::exception(kind, json!({ "message": message }).to_string().as_bytes())
}

type FrameSender = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Writes the frames into the body channel; returns how many were handed over. Stops at the
/// first failed send: the receiver is gone because the client disconnected.
async fn produce(frames: Vec<Vec<u8>>, pace: Duration, tx: FrameSender) -> usize {
    let n = frames.len();
    for (i, f) in frames.into_iter().enumerate() {
        if i > 0 && !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
        if tx.send(Ok(Bytes::from(f))).await.is_err() {
            return i; // client went away
        }
    }
    n
}

/// A 200 event-stream response that writes `frames` with `pace` between them.
pub fn response(
    frames: Vec<Vec<u8>>,
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
        let frames = converse_frames(&bg_backends::completion_events(&c, WORDS_PER_DELTA), 7);
        let mut dec = bg_eventstream::Decoder::new();
        for f in &frames {
            dec.push(f);
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

    /// A client that goes away after the first event ends the producer at once: it does not
    /// sleep through the remaining paces. Paused tokio time makes this exact, not timed.
    #[tokio::test(start_paused = true)]
    async fn disconnect_stops_the_producer_at_once() {
        let frames: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 16]).collect();
        let pace = Duration::from_secs(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let task = tokio::spawn(produce(frames, pace, tx));
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
        let task = tokio::spawn(produce(frames.clone(), Duration::from_millis(5), tx));
        let mut got = Vec::new();
        while let Some(f) = rx.recv().await {
            got.push(f.unwrap().to_vec());
        }
        assert_eq!(got, frames);
        assert_eq!(task.await.unwrap(), 10);
    }
}
