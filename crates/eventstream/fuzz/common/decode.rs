//! The body of the `decode` fuzz target, shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/decode.rs`) and the seed-corpus harness that runs on stable Rust
//! (`tests/fuzz_corpus.rs`).

use bg_eventstream::{decode, try_encode, DecodeError, Decoder, Message};

/// Decodes `data` as a stream of frames three ways (one slice at a time, incrementally in
/// chunks of a size taken from the first byte, incrementally byte by byte for short inputs)
/// and checks they agree. Panics only on a bug.
pub fn run(data: &[u8]) {
    let (messages, end) = whole(data);
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
    assert_eq!(incremental(data, chunk), (messages.clone(), end.clone()));
    if data.len() <= 512 {
        assert_eq!(incremental(data, 1), (messages, end));
    }
}

/// Every message at the front of `data`, and how the stream ends: `None` when it ends
/// exactly after a message, else the error (`Truncated` for a cut frame).
fn whole(data: &[u8]) -> (Vec<Message>, Option<DecodeError>) {
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        match decode(&data[at..]) {
            Ok((msg, used)) => {
                assert!(used >= bg_eventstream::MIN_MESSAGE_LEN && used <= data.len() - at);
                // the decoder accepts only canonical frames: re-encoding gives the same bytes
                let again = try_encode(&msg).expect("a decoded message re-encodes");
                assert_eq!(again, &data[at..at + used], "round trip");
                out.push(msg);
                at += used;
            }
            Err(e) => {
                let _ = e.to_string();
                return (out, Some(e));
            }
        }
    }
    (out, None)
}

fn incremental(data: &[u8], chunk: usize) -> (Vec<Message>, Option<DecodeError>) {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for part in data.chunks(chunk) {
        d.push(part);
        loop {
            match d.next() {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => {
                    // an error is final: it stays
                    assert_eq!(d.next(), Err(e.clone()));
                    return (out, Some(e));
                }
            }
        }
    }
    let end = (d.buffered() > 0).then_some(DecodeError::Truncated);
    (out, end)
}
