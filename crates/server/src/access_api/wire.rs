//! restJson1 plumbing shared by the access operations: the JSON body, Coral's constraint
//! messages, query parameters, timestamps, and the deterministic digests behind offer tokens,
//! profile IDs and pagination tokens.

use crate::error::ApiError;
use crate::Incoming;
use serde_json::{Map, Value};

/// Coral's constraint messages: the one collector every request parser uses.
pub use crate::error::Violations;

/// The request body as a JSON object (an empty body is an empty object).
pub fn body_object(inc: &Incoming) -> Result<Map<String, Value>, ApiError> {
    if inc.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(&inc.body).map_err(|e| {
        // The same wording the runtime operations use for a body that is not JSON.
        ApiError::validation(format!(
            "Malformed input request: the request body is not valid JSON ({e}), please reformat your input and try again."
        ))
    })?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::validation(
            "Malformed input request: the request body must be a JSON object, please reformat your input and try again.",
        )),
    }
}

/// An optional string member (`null` counts as absent).
pub fn opt_str<'a>(m: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, ApiError> {
    match m.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::wrong_type(member, "a string")),
    }
}

pub fn opt_bool(
    m: &Map<String, Value>,
    member: &str,
    path: &str,
) -> Result<Option<bool>, ApiError> {
    match m.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::wrong_type(path, "a boolean")),
    }
}

/// The decoded query string's value for `name` (first occurrence).
pub fn query_param(inc: &Incoming, name: &str) -> Option<String> {
    crate::query::form_pairs(&inc.query)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn enum_error(value: &str, member: &str, set: &[&str]) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        set.join(", ")
    ))
}

/// `BedrockModelId`'s pattern, as the service model writes it.
pub const MODEL_ID_PATTERN: &str = "[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}(/[a-z0-9]{12}|)";

/// Shape check of a `BedrockModelId` (max 140, the pattern above), written out by hand: 2 to 4
/// dot-separated `[a-z0-9-]` segments, then up to two `:segment`s, then an optional `/` and 12
/// `[a-z0-9]` (a provisioned or custom suffix).
pub fn check_model_id(v: &mut Violations, id: &str) {
    if id.chars().count() > 140 {
        v.length(Some(id), "modelId", id.chars().count(), 0, 140);
        return;
    }
    if !model_id_matches(id) {
        v.pattern(Some(id), "modelId", MODEL_ID_PATTERN);
    }
}

fn model_id_matches(id: &str) -> bool {
    let seg = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let (main, suffix) = match id.split_once('/') {
        Some((m, s)) => (m, Some(s)),
        None => (id, None),
    };
    if let Some(s) = suffix {
        if s.len() != 12
            || !s
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return false;
        }
    }
    let mut colon = main.split(':');
    let head = colon.next().unwrap_or("");
    let versions: Vec<&str> = colon.collect();
    if versions.len() > 2 || !versions.iter().all(|s| seg(s, 63)) {
        return false;
    }
    let parts: Vec<&str> = head.split('.').collect();
    if !(2..=4).contains(&parts.len()) {
        return false;
    }
    parts.iter().enumerate().all(|(i, s)| {
        // The second segment is `[a-z0-9-]{1,63}` followed by the first optional
        // `[a-z0-9-]{1,63}[.]` group, so it may be up to 126 long when a third exists.
        let max = if i == 1 && parts.len() > 2 { 126 } else { 63 };
        seg(s, max)
    })
}

/// RFC 3339 in UTC (`2025-02-18T00:00:00Z`): the service model's `Timestamp` is `iso8601`.
pub fn rfc3339_unix(t: i64) -> Option<String> {
    let dt = time::OffsetDateTime::from_unix_timestamp(t).ok()?;
    dt.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// A catalog date (RFC 3339 with any offset) normalised to UTC with `Z`.
pub fn rfc3339_norm(s: &str) -> Option<String> {
    let dt = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    dt.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// `n` deterministic, well-mixed bytes from `parts` (FNV-1a seeded, splitmix64 stream). Not a
/// secret: offer tokens, profile IDs and page tokens only need to be stable and opaque.
pub fn digest(parts: &[&str], n: usize) -> Vec<u8> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0x1f]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let mut out = Vec::with_capacity(n + 8);
    let mut state = h;
    while out.len() < n {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// `n` characters of `[a-z0-9]` derived from `parts`.
pub fn lower_alnum(parts: &[&str], n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    digest(parts, n)
        .into_iter()
        .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
        .collect()
}

pub fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

pub fn internal(e: bg_gates::StoreError) -> ApiError {
    ApiError::new(
        "InternalServerException",
        500,
        format!("state write failed: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_are_counted_like_coral() {
        let mut v = Violations::default();
        v.null("modelId");
        assert_eq!(
            v.into_result().unwrap_err().message,
            "1 validation error detected: Value null at 'modelId' failed to satisfy constraint: Member must not be null"
        );
        let mut v = Violations::default();
        v.null("a");
        v.length(None, "formData", 3, 10, 16384);
        assert_eq!(
            v.into_result().unwrap_err().message,
            "2 validation errors detected: Value null at 'a' failed to satisfy constraint: Member must not be null; Value at 'formData' failed to satisfy constraint: Member must have length greater than or equal to 10"
        );
    }

    #[test]
    fn model_id_shape() {
        let ok = |id: &str| {
            let mut v = Violations::default();
            check_model_id(&mut v, id);
            v.into_result().is_ok()
        };
        assert!(ok("anthropic.claude-3-haiku-20240307-v1:0"));
        assert!(ok("us.anthropic.claude-3-7-sonnet-20250219-v1:0"));
        assert!(!ok("Anthropic.Claude"));
        assert!(!ok("claude"));
        assert!(!ok(
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
        ));
    }

    #[test]
    fn digests_are_stable_and_distinct() {
        assert_eq!(digest(&["a", "b"], 40), digest(&["a", "b"], 40));
        assert_ne!(digest(&["a", "b"], 40), digest(&["ab"], 40));
        let id = lower_alnum(&["x"], 12);
        assert_eq!(id.len(), 12);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    }

    #[test]
    fn timestamps_are_utc_z() {
        assert_eq!(
            rfc3339_norm("2025-02-18T00:00:00+00:00").as_deref(),
            Some("2025-02-18T00:00:00Z")
        );
        assert_eq!(
            rfc3339_norm("2025-06-23T18:16:24.834572+00:00").as_deref(),
            Some("2025-06-23T18:16:24.834572Z")
        );
        assert_eq!(rfc3339_unix(0).as_deref(), Some("1970-01-01T00:00:00Z"));
    }
}
