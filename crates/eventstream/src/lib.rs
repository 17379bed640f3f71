//! # bg-eventstream — `application/vnd.amazon.eventstream` framing
//!
//! Bedrock's streaming operations (`ConverseStream`, `InvokeModelWithResponseStream`) answer
//! with an HTTP 200 whose body is a sequence of binary *event-stream messages*. Real AWS SDKs
//! parse that body frame by frame and verify both CRCs, so the bedrock-gates server must emit
//! byte-exact frames. This crate encodes and decodes them.
//!
//! The crate is **pure**: it works on byte slices and `Vec<u8>` only. It must never depend on
//! I/O or async crates (no tokio, hyper, http, bytes, filesystem): the server owns transport,
//! this crate owns the wire format, which keeps it deterministic and easy to test against the
//! official AWS test vectors.
//!
//! ## Wire format
//!
//! ```text
//! [total_len u32 BE][headers_len u32 BE][prelude_crc u32 BE]   prelude (12 bytes)
//! [headers ...][payload ...]
//! [message_crc u32 BE]                                          CRC32 of everything before it
//! ```
//!
//! `prelude_crc` is the CRC32 (IEEE) of the first 8 bytes. Each header is
//! `[name_len u8][name utf8][type u8][value]`; see [`HeaderValue`] for the value types.
//! Limits follow botocore: headers at most [`MAX_HEADERS_LEN`] bytes, payload at most
//! [`MAX_PAYLOAD_LEN`] bytes, and a message is at least [`MIN_MESSAGE_LEN`] bytes long.
//!
//! ## Use by the server
//!
//! ```
//! use bg_eventstream::{decode, event, exception, padding};
//!
//! let json = format!(r#"{{"contentBlockIndex":0,"delta":{{"text":"Hi"}},"p":"{}"}}"#, padding(7));
//! let frame = event("contentBlockDelta", json.as_bytes());
//! let (msg, used) = decode(&frame).unwrap();
//! assert_eq!(used, frame.len());
//! assert_eq!(msg.header_str(":event-type"), Some("contentBlockDelta"));
//! assert_eq!(msg.header_str(":message-type"), Some("event"));
//!
//! let err = exception("throttlingException", br#"{"message":"Too many requests"}"#);
//! let (msg, _) = decode(&err).unwrap();
//! assert_eq!(msg.header_str(":exception-type"), Some("throttlingException"));
//! ```
//!
//! Incremental decoding of a body that arrives in arbitrary chunks:
//!
//! ```
//! use bg_eventstream::{event, Decoder};
//!
//! let mut body = event("messageStart", br#"{"role":"assistant"}"#);
//! body.extend(event("messageStop", br#"{"stopReason":"end_turn"}"#));
//! let mut decoder = Decoder::new();
//! let mut types = Vec::new();
//! for chunk in body.chunks(5) {
//!     decoder.push(chunk);
//!     while let Some(msg) = decoder.next().unwrap() {
//!         types.push(msg.header_str(":event-type").unwrap().to_owned());
//!     }
//! }
//! assert_eq!(types, ["messageStart", "messageStop"]);
//! assert_eq!(decoder.buffered(), 0);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bedrock;
mod decode;
mod encode;

pub use bedrock::{event, exception, padding, PADDING_ALPHABET};
pub use decode::{decode, DecodeError, Decoder};
pub use encode::{encode, encode_into, encoded_len, try_encode, try_encode_into, EncodeError};

/// Length of the prelude: total length, headers length, prelude CRC.
pub const PRELUDE_LEN: usize = 12;
/// Smallest possible message: a prelude plus the message CRC (no headers, no payload).
pub const MIN_MESSAGE_LEN: usize = PRELUDE_LEN + 4;
/// Largest accepted headers section (128 KiB, as botocore).
pub const MAX_HEADERS_LEN: usize = 128 * 1024;
/// Largest accepted payload (24 MiB, as botocore).
pub const MAX_PAYLOAD_LEN: usize = 24 * 1024 * 1024;

/// The value of one header, tagged by its wire type code (shown in brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeaderValue {
    /// Type 0 (`true`) or 1 (`false`); no value bytes.
    Bool(bool),
    /// Type 2: one signed byte.
    Byte(i8),
    /// Type 3: `i16` big-endian.
    Int16(i16),
    /// Type 4: `i32` big-endian.
    Int32(i32),
    /// Type 5: `i64` big-endian.
    Int64(i64),
    /// Type 6: `u16` big-endian length, then that many bytes (at most 65535).
    Bytes(Vec<u8>),
    /// Type 7: `u16` big-endian length, then that many bytes of UTF-8 (at most 65535).
    String(String),
    /// Type 8: milliseconds since the Unix epoch, `i64` big-endian.
    Timestamp(i64),
    /// Type 9: 16 raw bytes.
    Uuid([u8; 16]),
}

impl HeaderValue {
    /// The wire type code of this value (0..=9).
    pub fn type_code(&self) -> u8 {
        match self {
            HeaderValue::Bool(true) => 0,
            HeaderValue::Bool(false) => 1,
            HeaderValue::Byte(_) => 2,
            HeaderValue::Int16(_) => 3,
            HeaderValue::Int32(_) => 4,
            HeaderValue::Int64(_) => 5,
            HeaderValue::Bytes(_) => 6,
            HeaderValue::String(_) => 7,
            HeaderValue::Timestamp(_) => 8,
            HeaderValue::Uuid(_) => 9,
        }
    }

    /// The string, when this is a [`HeaderValue::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            HeaderValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Number of bytes the value occupies on the wire, after the type byte.
    pub(crate) fn wire_len(&self) -> usize {
        match self {
            HeaderValue::Bool(_) => 0,
            HeaderValue::Byte(_) => 1,
            HeaderValue::Int16(_) => 2,
            HeaderValue::Int32(_) => 4,
            HeaderValue::Int64(_) | HeaderValue::Timestamp(_) => 8,
            HeaderValue::Bytes(b) => 2 + b.len(),
            HeaderValue::String(s) => 2 + s.len(),
            HeaderValue::Uuid(_) => 16,
        }
    }
}

impl From<&str> for HeaderValue {
    fn from(s: &str) -> Self {
        HeaderValue::String(s.to_owned())
    }
}

impl From<String> for HeaderValue {
    fn from(s: String) -> Self {
        HeaderValue::String(s)
    }
}

/// One event-stream message: ordered headers (duplicates allowed, order preserved on the wire)
/// and an opaque payload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Headers in wire order.
    pub headers: Vec<(String, HeaderValue)>,
    /// The payload bytes (for Bedrock, JSON).
    pub payload: Vec<u8>,
}

impl Message {
    /// A message with no headers and the given payload.
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        Message {
            headers: Vec::new(),
            payload: payload.into(),
        }
    }

    /// Appends a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<HeaderValue>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of the first header called `name`, if any.
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
    }

    /// The value of the first header called `name` when it is a string header, e.g.
    /// `header_str(":event-type")`.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(HeaderValue::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup() {
        let msg = Message::new(b"x".to_vec())
            .with_header(":event-type", "a")
            .with_header("n", HeaderValue::Int32(3))
            .with_header(":event-type", "b");
        assert_eq!(msg.header_str(":event-type"), Some("a"));
        assert_eq!(msg.header_str("n"), None);
        assert_eq!(msg.header("n"), Some(&HeaderValue::Int32(3)));
        assert_eq!(msg.header("missing"), None);
    }

    #[test]
    fn type_codes() {
        let values = [
            HeaderValue::Bool(true),
            HeaderValue::Bool(false),
            HeaderValue::Byte(0),
            HeaderValue::Int16(0),
            HeaderValue::Int32(0),
            HeaderValue::Int64(0),
            HeaderValue::Bytes(vec![]),
            HeaderValue::String(String::new()),
            HeaderValue::Timestamp(0),
            HeaderValue::Uuid([0; 16]),
        ];
        for (code, v) in values.iter().enumerate() {
            assert_eq!(usize::from(v.type_code()), code);
        }
    }
}
