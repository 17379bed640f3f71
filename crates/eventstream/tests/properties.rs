//! Round trips, incremental decoding at every split point, and corruption detection.

use bg_eventstream::{
    decode, encode, event, exception, DecodeError, Decoder, HeaderValue, Message,
};
use proptest::prelude::*;

fn all_types_message() -> Message {
    Message::new(br#"{"contentBlockIndex":0,"delta":{"text":"I"},"p":"abc"}"#.to_vec())
        .with_header("t", HeaderValue::Bool(true))
        .with_header("f", HeaderValue::Bool(false))
        .with_header("b", HeaderValue::Byte(-128))
        .with_header("s", HeaderValue::Int16(i16::MIN))
        .with_header("i", HeaderValue::Int32(-7))
        .with_header("l", HeaderValue::Int64(i64::MAX))
        .with_header("by", HeaderValue::Bytes(vec![0, 255, 10]))
        .with_header("st", "héllo ✓")
        .with_header("ts", HeaderValue::Timestamp(-1_700_000_000_000))
        .with_header("u", HeaderValue::Uuid(*b"0123456789abcdef"))
        .with_header("empty-bytes", HeaderValue::Bytes(vec![]))
        .with_header("empty-str", "")
}

#[test]
fn round_trip_every_header_type() {
    let msg = all_types_message();
    let frame = encode(&msg);
    assert_eq!(decode(&frame), Ok((msg, frame.len())));
}

#[test]
fn decoder_handles_every_split_point() {
    let mut stream = encode(&all_types_message());
    stream.extend(event("messageStart", br#"{"role":"assistant"}"#));
    stream.extend(encode(&Message::default()));
    stream.extend(exception("throttlingException", br#"{"message":"x"}"#));
    let expected: Vec<Message> = {
        let mut d = Decoder::new();
        d.push(&stream);
        std::iter::from_fn(|| d.next().unwrap()).collect()
    };
    assert_eq!(expected.len(), 4);

    for split in 0..=stream.len() {
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for part in [&stream[..split], &stream[split..]] {
            d.push(part);
            while let Some(m) = d.next().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, expected, "split at {split}");
        assert_eq!(d.buffered(), 0);
    }

    // One byte at a time.
    let mut d = Decoder::new();
    let mut got = Vec::new();
    for b in &stream {
        d.push(std::slice::from_ref(b));
        while let Some(m) = d.next().unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn every_single_byte_corruption_is_detected() {
    for msg in [
        all_types_message(),
        Message::default(),
        Message::new(b"payload only".to_vec()),
    ] {
        let frame = encode(&msg);
        for pos in 0..frame.len() {
            for delta in 1..=255u8 {
                let mut bad = frame.clone();
                bad[pos] ^= delta;
                let res = decode(&bad);
                assert!(
                    res.is_err(),
                    "byte {pos} xor {delta:#x} went undetected: {res:?}"
                );
                // Corruption must never look like "wait for more bytes" forever beyond the
                // declared length: the prelude CRC catches altered lengths.
                if pos < 12 {
                    assert!(
                        matches!(res, Err(DecodeError::PreludeCrc { .. })),
                        "byte {pos}: {res:?}"
                    );
                }
            }
        }
    }
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        any::<bool>().prop_map(HeaderValue::Bool),
        any::<i8>().prop_map(HeaderValue::Byte),
        any::<i16>().prop_map(HeaderValue::Int16),
        any::<i32>().prop_map(HeaderValue::Int32),
        any::<i64>().prop_map(HeaderValue::Int64),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(HeaderValue::Bytes),
        "\\PC{0,60}".prop_map(HeaderValue::String),
        any::<i64>().prop_map(HeaderValue::Timestamp),
        any::<[u8; 16]>().prop_map(HeaderValue::Uuid),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let name = "[:a-zA-Z0-9_-]{0,20}|\\PC{0,60}"
        .prop_filter("name fits in a u8 length", |n: &String| n.len() <= 255);
    (
        proptest::collection::vec((name, header_value()), 0..12),
        proptest::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(|(headers, payload)| Message { headers, payload })
}

proptest! {
    #[test]
    fn prop_round_trip(msg in message()) {
        let frame = encode(&msg);
        prop_assert_eq!(decode(&frame), Ok((msg.clone(), frame.len())));
        let mut d = Decoder::new();
        d.push(&frame);
        prop_assert_eq!(d.next(), Ok(Some(msg)));
        prop_assert_eq!(d.next(), Ok(None));
    }

    #[test]
    fn prop_stream_in_random_chunks(
        msgs in proptest::collection::vec(message(), 1..5),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut stream = Vec::new();
        for m in &msgs {
            bg_eventstream::encode_into(m, &mut stream);
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for w in points.windows(2) {
            d.push(&stream[w[0]..w[1]]);
            while let Some(m) = d.next().unwrap() {
                got.push(m);
            }
        }
        prop_assert_eq!(got, msgs);
        prop_assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn prop_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn prop_garbage_with_valid_prelude_never_panics(
        headers in proptest::collection::vec(any::<u8>(), 0..64),
        payload in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        // Random header bytes framed with correct lengths and CRCs: any parse outcome is fine,
        // but it must be an outcome, and a success must re-encode to the same bytes.
        let total = (16 + headers.len() + payload.len()) as u32;
        let mut f = Vec::new();
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        let crc = crc32_ieee(&f);
        f.extend_from_slice(&crc.to_be_bytes());
        f.extend_from_slice(&headers);
        f.extend_from_slice(&payload);
        let crc = crc32_ieee(&f);
        f.extend_from_slice(&crc.to_be_bytes());
        match decode(&f) {
            Ok((m, used)) => {
                prop_assert_eq!(used, f.len());
                prop_assert_eq!(encode(&m), f);
            }
            Err(e) => prop_assert!(!matches!(
                e,
                DecodeError::Truncated | DecodeError::PreludeCrc { .. } | DecodeError::MessageCrc { .. }
            ), "unexpected {:?}", e),
        }
    }
}

/// CRC32 (IEEE), bitwise: an independent implementation to build test frames.
fn crc32_ieee(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
