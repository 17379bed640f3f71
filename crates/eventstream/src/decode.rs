//! Decoding frames into messages, from a slice or incrementally.

use crate::{HeaderValue, Message, MAX_HEADERS_LEN, MAX_PAYLOAD_LEN, MIN_MESSAGE_LEN, PRELUDE_LEN};

/// Why bytes are not a valid event-stream message.
///
/// Checks run in wire order: prelude CRC, prelude lengths, completeness of the input, headers,
/// then the message CRC. So a frame whose header bytes were altered (but whose CRCs were kept)
/// reports the header problem, and any other alteration reports a CRC mismatch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ends before the end of the message (fewer than 12 bytes, or fewer than the
    /// prelude's total length). [`Decoder`] treats this as "need more bytes".
    #[error("incomplete message: input ends before the end of the frame")]
    Truncated,
    /// The prelude CRC does not match the first 8 bytes.
    #[error("prelude checksum mismatch: computed {expected:#010x}, frame says {got:#010x}")]
    PreludeCrc {
        /// CRC32 computed over the first 8 bytes.
        expected: u32,
        /// CRC32 carried by the frame.
        got: u32,
    },
    /// The message CRC does not match the bytes before it.
    #[error("message checksum mismatch: computed {expected:#010x}, frame says {got:#010x}")]
    MessageCrc {
        /// CRC32 computed over the frame up to the trailer.
        expected: u32,
        /// CRC32 carried by the frame.
        got: u32,
    },
    /// The total length in the prelude is smaller than the 16-byte minimum.
    #[error("invalid total length {0}: a message is at least {MIN_MESSAGE_LEN} bytes")]
    Length(u32),
    /// The headers length in the prelude does not fit in the total length.
    #[error("headers length {headers_len} does not fit in a message of {total_len} bytes")]
    HeadersLength {
        /// Headers length from the prelude.
        headers_len: u32,
        /// Total length from the prelude.
        total_len: u32,
    },
    /// The headers length in the prelude exceeds [`MAX_HEADERS_LEN`].
    #[error("headers length exceeds the {MAX_HEADERS_LEN} byte limit")]
    HeaderTooLong,
    /// The payload length implied by the prelude exceeds [`MAX_PAYLOAD_LEN`].
    #[error("payload length exceeds the {MAX_PAYLOAD_LEN} byte limit")]
    PayloadTooLong,
    /// A header name runs past the end of the headers section.
    #[error("header name of {len} bytes runs past the headers section ({remaining} bytes left)")]
    HeaderNameOverrun {
        /// The name length byte.
        len: u8,
        /// Bytes left in the headers section after the length byte.
        remaining: usize,
    },
    /// A header value (or its length field) runs past the end of the headers section.
    #[error("value of header {name:?} runs past the headers section")]
    HeaderValueOverrun {
        /// Name of the header whose value is cut off.
        name: String,
    },
    /// A header has a type byte outside 0..=9.
    #[error("invalid header value type {0}")]
    InvalidHeaderType(u8),
    /// A header name or string value is not UTF-8.
    #[error("header name or string value is not valid UTF-8")]
    InvalidUtf8,
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Checks the prelude at the start of `buf` (at least [`PRELUDE_LEN`] bytes) and returns
/// `(total_len, headers_len)`.
fn check_prelude(buf: &[u8]) -> Result<(usize, usize), DecodeError> {
    let total_len = be_u32(&buf[0..4]);
    let headers_len = be_u32(&buf[4..8]);
    let expected = crc32fast::hash(&buf[0..8]);
    let got = be_u32(&buf[8..12]);
    if expected != got {
        return Err(DecodeError::PreludeCrc { expected, got });
    }
    let (total, headers) = (total_len as usize, headers_len as usize);
    if total < MIN_MESSAGE_LEN {
        return Err(DecodeError::Length(total_len));
    }
    if headers > MAX_HEADERS_LEN {
        return Err(DecodeError::HeaderTooLong);
    }
    if headers > total - MIN_MESSAGE_LEN {
        return Err(DecodeError::HeadersLength {
            headers_len,
            total_len,
        });
    }
    if total - MIN_MESSAGE_LEN - headers > MAX_PAYLOAD_LEN {
        return Err(DecodeError::PayloadTooLong);
    }
    Ok((total, headers))
}

/// A cursor over the headers section that never reads past it.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn take_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).map(|b| {
            let mut out = [0u8; N];
            out.copy_from_slice(b);
            out
        })
    }
}

fn parse_headers(section: &[u8]) -> Result<Vec<(String, HeaderValue)>, DecodeError> {
    let mut cur = Cursor { rest: section };
    let mut headers = Vec::new();
    while let Some(&[name_len]) = cur.take(1) {
        let remaining = cur.rest.len();
        let name = cur
            .take(usize::from(name_len))
            .ok_or(DecodeError::HeaderNameOverrun {
                len: name_len,
                remaining,
            })?;
        let name = std::str::from_utf8(name)
            .map_err(|_| DecodeError::InvalidUtf8)?
            .to_owned();
        let value = parse_value(&mut cur).map_err(|e| match e {
            ValueError::Overrun => DecodeError::HeaderValueOverrun { name: name.clone() },
            ValueError::Decode(e) => e,
        })?;
        headers.push((name, value));
    }
    Ok(headers)
}

enum ValueError {
    Overrun,
    Decode(DecodeError),
}

impl From<DecodeError> for ValueError {
    fn from(e: DecodeError) -> Self {
        ValueError::Decode(e)
    }
}

fn parse_value(cur: &mut Cursor<'_>) -> Result<HeaderValue, ValueError> {
    let [type_code] = cur.take_array::<1>().ok_or(ValueError::Overrun)?;
    let value = match type_code {
        0 => HeaderValue::Bool(true),
        1 => HeaderValue::Bool(false),
        2 => HeaderValue::Byte(i8::from_be_bytes(
            cur.take_array().ok_or(ValueError::Overrun)?,
        )),
        3 => HeaderValue::Int16(i16::from_be_bytes(
            cur.take_array().ok_or(ValueError::Overrun)?,
        )),
        4 => HeaderValue::Int32(i32::from_be_bytes(
            cur.take_array().ok_or(ValueError::Overrun)?,
        )),
        5 => HeaderValue::Int64(i64::from_be_bytes(
            cur.take_array().ok_or(ValueError::Overrun)?,
        )),
        6 | 7 => {
            let len = u16::from_be_bytes(cur.take_array().ok_or(ValueError::Overrun)?);
            let bytes = cur.take(usize::from(len)).ok_or(ValueError::Overrun)?;
            if type_code == 6 {
                HeaderValue::Bytes(bytes.to_vec())
            } else {
                let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
                HeaderValue::String(s.to_owned())
            }
        }
        8 => HeaderValue::Timestamp(i64::from_be_bytes(
            cur.take_array().ok_or(ValueError::Overrun)?,
        )),
        9 => HeaderValue::Uuid(cur.take_array().ok_or(ValueError::Overrun)?),
        other => return Err(DecodeError::InvalidHeaderType(other).into()),
    };
    Ok(value)
}

/// Decodes the message at the start of `buf`, returning it and the number of bytes it used.
/// Bytes after the message (e.g. the next frame) are left alone.
///
/// Returns [`DecodeError::Truncated`] when `buf` holds only part of a message whose prelude
/// (if present) is valid.
pub fn decode(buf: &[u8]) -> Result<(Message, usize), DecodeError> {
    if buf.len() < PRELUDE_LEN {
        return Err(DecodeError::Truncated);
    }
    let (total, headers_len) = check_prelude(buf)?;
    if buf.len() < total {
        return Err(DecodeError::Truncated);
    }
    let frame = &buf[..total];
    let body_end = total - 4;
    let headers_end = PRELUDE_LEN + headers_len;
    let headers = parse_headers(&frame[PRELUDE_LEN..headers_end])?;
    let expected = crc32fast::hash(&frame[..body_end]);
    let got = be_u32(&frame[body_end..]);
    if expected != got {
        return Err(DecodeError::MessageCrc { expected, got });
    }
    let payload = frame[headers_end..body_end].to_vec();
    Ok((Message { headers, payload }, total))
}

/// Incremental decoder: [`push`](Decoder::push) bytes as they arrive, then call
/// [`next`](Decoder::next) until it returns `Ok(None)`.
///
/// The prelude is validated as soon as its 12 bytes are buffered, so a corrupt length is
/// reported at once instead of waiting for bytes that will never come. After an error the
/// stream cannot be resynchronised: `next` keeps returning the same error.
#[derive(Debug, Default, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already returned as messages.
    start: usize,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or the error that makes
    /// the stream undecodable.
    #[allow(clippy::should_implement_trait)] // fallible: not an Iterator
    pub fn next(&mut self) -> Result<Option<Message>, DecodeError> {
        match decode(&self.buf[self.start..]) {
            Ok((msg, used)) => {
                self.start += used;
                Ok(Some(msg))
            }
            Err(DecodeError::Truncated) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Number of buffered bytes not yet returned as messages; non-zero at the end of a stream
    /// means the stream was cut inside a message.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;

    fn frame_with_lengths(total: u32, headers: u32) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&headers.to_be_bytes());
        f.extend_from_slice(&crc32fast::hash(&f).to_be_bytes());
        f
    }

    #[test]
    fn prelude_length_checks() {
        assert_eq!(
            decode(&frame_with_lengths(15, 0)),
            Err(DecodeError::Length(15))
        );
        assert_eq!(
            decode(&frame_with_lengths(20, 5)),
            Err(DecodeError::HeadersLength {
                headers_len: 5,
                total_len: 20
            })
        );
        assert_eq!(
            decode(&frame_with_lengths(u32::MAX, 128 * 1024 + 1)),
            Err(DecodeError::HeaderTooLong)
        );
        let max_ok = (MIN_MESSAGE_LEN + MAX_PAYLOAD_LEN) as u32;
        assert_eq!(
            decode(&frame_with_lengths(max_ok + 1, 0)),
            Err(DecodeError::PayloadTooLong)
        );
        // Valid prelude, body missing: truncated, not an error of the frame.
        assert_eq!(
            decode(&frame_with_lengths(max_ok, 0)),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn short_input_is_truncated() {
        let frame = encode(&Message::new(b"hello".to_vec()).with_header("a", "b"));
        for n in 0..frame.len() {
            assert_eq!(decode(&frame[..n]), Err(DecodeError::Truncated), "len {n}");
        }
        assert!(decode(&frame).is_ok());
    }

    #[test]
    fn decode_leaves_following_bytes() {
        let mut two = encode(&Message::new(b"one".to_vec()));
        let first_len = two.len();
        two.extend(encode(&Message::new(b"two".to_vec())));
        let (m, used) = decode(&two).unwrap();
        assert_eq!((m.payload.as_slice(), used), (&b"one"[..], first_len));
        let (m, _) = decode(&two[used..]).unwrap();
        assert_eq!(m.payload, b"two");
    }

    /// Builds a frame with raw header bytes and correct CRCs.
    fn raw_frame(headers: &[u8], payload: &[u8]) -> Vec<u8> {
        let total = (MIN_MESSAGE_LEN + headers.len() + payload.len()) as u32;
        let mut f = frame_with_lengths(total, headers.len() as u32);
        f.extend_from_slice(headers);
        f.extend_from_slice(payload);
        let crc = crc32fast::hash(&f);
        f.extend_from_slice(&crc.to_be_bytes());
        f
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            decode(&raw_frame(&[1, b'a', 10], b"")),
            Err(DecodeError::InvalidHeaderType(10))
        );
        assert_eq!(
            decode(&raw_frame(&[2, 0xff, 0xfe, 0], b"")),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            decode(&raw_frame(&[1, b'a', 7, 0, 1, 0xff], b"")),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            decode(&raw_frame(&[5, b'a'], b"payload")),
            Err(DecodeError::HeaderNameOverrun {
                len: 5,
                remaining: 1
            })
        );
        let overrun = DecodeError::HeaderValueOverrun { name: "a".into() };
        // Missing type byte, cut-off fixed-size value, cut-off length, cut-off bytes.
        for headers in [
            &[1, b'a'][..],
            &[1, b'a', 5, 0, 0, 0][..],
            &[1, b'a', 6, 0][..],
            &[1, b'a', 6, 0, 3, 1, 2][..],
            &[
                1, b'a', 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
            ][..],
        ] {
            assert_eq!(decode(&raw_frame(headers, b"xyz")), Err(overrun.clone()));
        }
        // Empty header name and zero-length values are fine.
        let (m, _) = decode(&raw_frame(&[0, 7, 0, 0], b"")).unwrap();
        assert_eq!(
            m.headers,
            vec![(String::new(), HeaderValue::String("".into()))]
        );
    }

    #[test]
    fn decoder_basic() {
        let a = encode(&Message::new(b"a".to_vec()));
        let b = encode(&Message::new(b"b".to_vec()).with_header("h", HeaderValue::Int64(-1)));
        let mut d = Decoder::new();
        assert_eq!(d.next(), Ok(None));
        d.push(&a[..3]);
        assert_eq!(d.next(), Ok(None));
        d.push(&a[3..]);
        d.push(&b);
        assert_eq!(d.next().unwrap().unwrap().payload, b"a");
        assert_eq!(d.buffered(), b.len());
        assert_eq!(d.next().unwrap().unwrap().payload, b"b");
        assert_eq!(d.next(), Ok(None));
        assert_eq!(d.buffered(), 0);

        // Corrupt prelude: reported as soon as 12 bytes are in, and again afterwards.
        let mut bad = a.clone();
        bad[0] ^= 1;
        d.push(&bad[..12]);
        assert!(matches!(d.next(), Err(DecodeError::PreludeCrc { .. })));
        assert!(matches!(d.next(), Err(DecodeError::PreludeCrc { .. })));
    }
}
