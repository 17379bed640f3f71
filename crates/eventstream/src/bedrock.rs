//! Bedrock-specific conveniences: event and exception frames, and the `"p"` padding field.

use crate::{encode, HeaderValue, Message};

/// Characters of Bedrock's `"p"` padding field, in the order its values are prefixes of.
pub const PADDING_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn frame(kind_header: &str, kind: &str, message_type: &str, json_payload: &[u8]) -> Vec<u8> {
    let msg = Message {
        headers: vec![
            (kind_header.to_owned(), HeaderValue::from(kind)),
            (":content-type".to_owned(), "application/json".into()),
            (":message-type".to_owned(), message_type.into()),
        ],
        payload: json_payload.to_vec(),
    };
    encode(&msg)
}

/// An event frame: `:event-type=<event_type>`, `:content-type=application/json`,
/// `:message-type=event`, with `json_payload` as the payload (e.g. `contentBlockDelta` with
/// `{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abc"}`).
///
/// # Panics
///
/// If `event_type` is longer than 65535 bytes or the payload exceeds
/// [`MAX_PAYLOAD_LEN`](crate::MAX_PAYLOAD_LEN).
pub fn event(event_type: &str, json_payload: &[u8]) -> Vec<u8> {
    frame(":event-type", event_type, "event", json_payload)
}

/// An exception frame, sent inside a stream that already answered 200:
/// `:exception-type=<exception_type>` (lower camel case, e.g. `throttlingException`,
/// `modelStreamErrorException`), `:content-type=application/json`, `:message-type=exception`.
/// The caller passes the JSON payload, e.g. `{"message":"..."}`.
///
/// # Panics
///
/// If `exception_type` is longer than 65535 bytes or the payload exceeds
/// [`MAX_PAYLOAD_LEN`](crate::MAX_PAYLOAD_LEN).
pub fn exception(exception_type: &str, json_payload: &[u8]) -> Vec<u8> {
    frame(":exception-type", exception_type, "exception", json_payload)
}

/// A value for the `"p"` field real Bedrock adds to stream events: a prefix of
/// [`PADDING_ALPHABET`] whose length (1..=62) is derived deterministically from `seed`
/// (consecutive seeds give unrelated lengths). Contains only `[A-Za-z0-9]`, so it can be put
/// in JSON without escaping.
pub fn padding(seed: u64) -> &'static str {
    // splitmix64 finaliser: spreads nearby seeds over the whole range.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let len = 1 + (z % PADDING_ALPHABET.len() as u64) as usize;
    &PADDING_ALPHABET[..len]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;

    #[test]
    fn event_headers() {
        let payload = br#"{"p":"abc"}"#;
        let (msg, _) = decode(&event("messageStart", payload)).unwrap();
        assert_eq!(
            msg.headers,
            vec![
                (":event-type".into(), "messageStart".into()),
                (":content-type".into(), "application/json".into()),
                (":message-type".into(), "event".into()),
            ]
        );
        assert_eq!(msg.payload, payload);
    }

    #[test]
    fn exception_headers() {
        let payload = br#"{"message":"slow down"}"#;
        let (msg, _) = decode(&exception("throttlingException", payload)).unwrap();
        assert_eq!(msg.header_str(":message-type"), Some("exception"));
        assert_eq!(
            msg.header_str(":exception-type"),
            Some("throttlingException")
        );
        assert_eq!(msg.header_str(":content-type"), Some("application/json"));
        assert_eq!(msg.header_str(":event-type"), None);
        assert_eq!(msg.payload, payload);
    }

    #[test]
    fn padding_is_deterministic_prefix() {
        assert_eq!(PADDING_ALPHABET.len(), 62);
        let mut seen = std::collections::HashSet::new();
        for seed in 0..10_000u64 {
            let p = padding(seed);
            assert_eq!(p, padding(seed));
            assert!((1..=62).contains(&p.len()));
            assert!(PADDING_ALPHABET.starts_with(p));
            seen.insert(p.len());
        }
        // Every length is reachable.
        assert_eq!(seen.len(), 62);
    }
}
