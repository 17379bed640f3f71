//! Encoding messages into frames.

use crate::{HeaderValue, Message, MAX_HEADERS_LEN, MAX_PAYLOAD_LEN, MIN_MESSAGE_LEN};

/// Why a [`Message`] cannot be represented as a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A header name is longer than 255 bytes (its length is a `u8`).
    #[error("header name of {len} bytes is longer than 255 bytes")]
    HeaderNameTooLong {
        /// Length of the offending name in bytes.
        len: usize,
    },
    /// A string or bytes header value is longer than 65535 bytes (its length is a `u16`).
    #[error("value of header {name:?} is {len} bytes, longer than 65535 bytes")]
    HeaderValueTooLong {
        /// Name of the offending header.
        name: String,
        /// Length of its value in bytes.
        len: usize,
    },
    /// The encoded headers exceed [`MAX_HEADERS_LEN`].
    #[error("headers are {0} bytes, more than the {MAX_HEADERS_LEN} byte limit")]
    HeadersTooLong(usize),
    /// The payload exceeds [`MAX_PAYLOAD_LEN`].
    #[error("payload is {0} bytes, more than the {MAX_PAYLOAD_LEN} byte limit")]
    PayloadTooLong(usize),
}

/// Validates `msg` and returns the byte length of its headers section.
fn headers_len(msg: &Message) -> Result<usize, EncodeError> {
    let mut total = 0usize;
    for (name, value) in &msg.headers {
        if name.len() > usize::from(u8::MAX) {
            return Err(EncodeError::HeaderNameTooLong { len: name.len() });
        }
        let variable = match value {
            HeaderValue::Bytes(b) => Some(b.len()),
            HeaderValue::String(s) => Some(s.len()),
            _ => None,
        };
        if let Some(len) = variable.filter(|&len| len > usize::from(u16::MAX)) {
            return Err(EncodeError::HeaderValueTooLong {
                name: name.clone(),
                len,
            });
        }
        total += 1 + name.len() + 1 + value.wire_len();
    }
    if total > MAX_HEADERS_LEN {
        return Err(EncodeError::HeadersTooLong(total));
    }
    Ok(total)
}

/// Total encoded length of `msg` in bytes, or why it cannot be encoded.
pub fn encoded_len(msg: &Message) -> Result<usize, EncodeError> {
    let headers = headers_len(msg)?;
    if msg.payload.len() > MAX_PAYLOAD_LEN {
        return Err(EncodeError::PayloadTooLong(msg.payload.len()));
    }
    Ok(MIN_MESSAGE_LEN + headers + msg.payload.len())
}

/// Appends the frame for `msg` to `out`. On error nothing is written.
pub fn try_encode_into(msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let total = encoded_len(msg)?;
    let headers = total - MIN_MESSAGE_LEN - msg.payload.len();
    // Both fit in u32: limits above keep `total` under 25 MiB.
    let (total32, headers32) = (total as u32, headers as u32);

    out.reserve(total);
    let start = out.len();
    out.extend_from_slice(&total32.to_be_bytes());
    out.extend_from_slice(&headers32.to_be_bytes());
    let prelude_crc = crc32fast::hash(&out[start..start + 8]);
    out.extend_from_slice(&prelude_crc.to_be_bytes());

    for (name, value) in &msg.headers {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(value.type_code());
        match value {
            HeaderValue::Bool(_) => {}
            HeaderValue::Byte(v) => out.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Int16(v) => out.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Int32(v) => out.extend_from_slice(&v.to_be_bytes()),
            HeaderValue::Int64(v) | HeaderValue::Timestamp(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            HeaderValue::Bytes(b) => {
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
                out.extend_from_slice(b);
            }
            HeaderValue::String(s) => {
                out.extend_from_slice(&(s.len() as u16).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            HeaderValue::Uuid(u) => out.extend_from_slice(u),
        }
    }
    out.extend_from_slice(&msg.payload);

    let message_crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&message_crc.to_be_bytes());
    debug_assert_eq!(out.len() - start, total);
    Ok(())
}

/// The frame for `msg`, or why it cannot be encoded.
pub fn try_encode(msg: &Message) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    try_encode_into(msg, &mut out)?;
    Ok(out)
}

/// Appends the frame for `msg` to `out`.
///
/// # Panics
///
/// If the message breaks a format limit (see [`EncodeError`]); use [`try_encode_into`] for
/// messages that are not built by trusted code.
pub fn encode_into(msg: &Message, out: &mut Vec<u8>) {
    if let Err(e) = try_encode_into(msg, out) {
        panic!("cannot encode event-stream message: {e}");
    }
}

/// The frame for `msg`.
///
/// # Panics
///
/// If the message breaks a format limit (see [`EncodeError`]); use [`try_encode`] for messages
/// that are not built by trusted code.
pub fn encode(msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(msg, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_message_is_sixteen_bytes() {
        let frame = encode(&Message::default());
        assert_eq!(frame.len(), MIN_MESSAGE_LEN);
        assert_eq!(&frame[..8], &[0, 0, 0, 16, 0, 0, 0, 0]);
        assert_eq!(&frame[8..12], &crc32fast::hash(&frame[..8]).to_be_bytes());
        assert_eq!(&frame[12..], &crc32fast::hash(&frame[..12]).to_be_bytes());
    }

    #[test]
    fn encode_into_appends() {
        let msg = Message::new(b"abc".to_vec()).with_header("k", "v");
        let mut out = b"prefix".to_vec();
        encode_into(&msg, &mut out);
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(&out[6..], encode(&msg).as_slice());
    }

    #[test]
    fn limits_are_enforced_without_partial_output() {
        let mut out = Vec::new();
        let long_name = Message::default().with_header("n".repeat(256), "v");
        assert_eq!(
            try_encode_into(&long_name, &mut out),
            Err(EncodeError::HeaderNameTooLong { len: 256 })
        );
        let ok_name = Message::default().with_header("n".repeat(255), "v");
        assert!(try_encode(&ok_name).is_ok());

        let long_value = Message::default().with_header("k", HeaderValue::Bytes(vec![0; 65536]));
        assert!(matches!(
            try_encode_into(&long_value, &mut out),
            Err(EncodeError::HeaderValueTooLong { len: 65536, .. })
        ));
        let long_str = Message::default().with_header("k", "x".repeat(65536));
        assert!(matches!(
            try_encode_into(&long_str, &mut out),
            Err(EncodeError::HeaderValueTooLong { len: 65536, .. })
        ));

        let mut many = Message::default();
        for i in 0..3 {
            many = many.with_header(format!("h{i}"), HeaderValue::Bytes(vec![1; 60_000]));
        }
        assert!(matches!(
            try_encode_into(&many, &mut out),
            Err(EncodeError::HeadersTooLong(_))
        ));

        let big = Message::new(vec![0u8; MAX_PAYLOAD_LEN + 1]);
        assert_eq!(
            try_encode_into(&big, &mut out),
            Err(EncodeError::PayloadTooLong(MAX_PAYLOAD_LEN + 1))
        );
        assert!(out.is_empty());
    }

    #[test]
    #[should_panic(expected = "cannot encode event-stream message")]
    fn encode_panics_on_invalid_message() {
        encode(&Message::default().with_header("n".repeat(300), "v"));
    }
}
