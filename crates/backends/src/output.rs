//! What responses are built from: deterministic ids, an insertion-ordered JSON object,
//! and text utilities.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` bytes derived from sha256 of the given parts (separated by NUL),
/// extended with a counter when more than 32 are needed.
fn digest_bytes(parts: &[&[u8]], len: usize) -> Vec<u8> {
    let mut seed = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            seed.update([0u8]);
        }
        seed.update(p);
    }
    let seed = seed.finalize();
    let mut out = Vec::with_capacity(len);
    let mut counter: u32 = 0;
    while out.len() < len {
        let block = if counter == 0 {
            seed
        } else {
            let mut h = Sha256::new();
            h.update(seed);
            h.update(counter.to_le_bytes());
            h.finalize()
        };
        out.extend(block.iter().take(len - out.len()));
        counter += 1;
    }
    out
}

/// `len` base62 characters derived from the parts.
pub(crate) fn base62_id(parts: &[&[u8]], len: usize) -> String {
    digest_bytes(parts, len)
        .into_iter()
        .map(|b| BASE62[(b % 62) as usize] as char)
        .collect()
}

/// `len` lowercase hex characters derived from the parts.
pub(crate) fn hex_id(parts: &[&[u8]], len: usize) -> String {
    let bytes = digest_bytes(parts, len.div_ceil(2));
    let mut s: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    s.truncate(len);
    s
}

/// A version-4-shaped UUID derived from the parts.
pub(crate) fn uuid_id(parts: &[&[u8]]) -> String {
    let mut b = digest_bytes(parts, 16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A JSON value whose objects keep insertion order when serialized.
pub(crate) enum J {
    V(Value),
    O(Obj),
    A(Vec<J>),
    F32s(Vec<f32>),
}

/// A JSON object that serializes its entries in insertion order.
#[derive(Default)]
pub(crate) struct Obj(Vec<(String, J)>);

impl Obj {
    pub(crate) fn new() -> Self {
        Obj(Vec::new())
    }

    pub(crate) fn set(mut self, key: &str, v: impl Into<J>) -> Self {
        self.0.push((key.to_string(), v.into()));
        self
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

impl Serialize for Obj {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::V(v) => v.serialize(s),
            J::O(o) => o.serialize(s),
            J::A(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            J::F32s(v) => v.serialize(s),
        }
    }
}

impl From<Value> for J {
    fn from(v: Value) -> Self {
        J::V(v)
    }
}
impl From<&Value> for J {
    fn from(v: &Value) -> Self {
        J::V(v.clone())
    }
}
impl From<Obj> for J {
    fn from(o: Obj) -> Self {
        J::O(o)
    }
}
impl From<Vec<J>> for J {
    fn from(a: Vec<J>) -> Self {
        J::A(a)
    }
}
impl From<Vec<Obj>> for J {
    fn from(a: Vec<Obj>) -> Self {
        J::A(a.into_iter().map(J::O).collect())
    }
}
impl From<&str> for J {
    fn from(s: &str) -> Self {
        J::V(Value::String(s.to_string()))
    }
}
impl From<String> for J {
    fn from(s: String) -> Self {
        J::V(Value::String(s))
    }
}
impl From<&String> for J {
    fn from(s: &String) -> Self {
        J::V(Value::String(s.clone()))
    }
}
impl From<u32> for J {
    fn from(n: u32) -> Self {
        J::V(Value::from(n))
    }
}
impl From<u64> for J {
    fn from(n: u64) -> Self {
        J::V(Value::from(n))
    }
}
impl From<usize> for J {
    fn from(n: usize) -> Self {
        J::V(Value::from(n))
    }
}
impl From<bool> for J {
    fn from(b: bool) -> Self {
        J::V(Value::Bool(b))
    }
}
impl From<&[f32]> for J {
    fn from(v: &[f32]) -> Self {
        J::F32s(v.to_vec())
    }
}

/// JSON `null`.
pub(crate) fn null() -> J {
    J::V(Value::Null)
}

/// Collapse runs of whitespace into single spaces and trim.
pub(crate) fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `n` characters of `s`, plus `"..."` when something was cut.
pub(crate) fn clip_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offset of the first occurrence of `needle` in `haystack` (both compared
/// ASCII-case-insensitively) that starts and ends at a word boundary.
pub(crate) fn find_word(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    let h = haystack.to_ascii_lowercase();
    let n = needle.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = h[from..].find(&n) {
        let start = from + pos;
        let end = start + n.len();
        let before_ok = !matches!(h[..start].chars().next_back(), Some(c) if is_word_char(c))
            || !n.chars().next().is_some_and(is_word_char);
        let after_ok = !matches!(h[end..].chars().next(), Some(c) if is_word_char(c))
            || !n.chars().next_back().is_some_and(is_word_char);
        if before_ok && after_ok {
            return Some(start);
        }
        from = start + h[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// [`find_word`] for many needles in one pass over `haystack` (Aho-Corasick, ASCII
/// case-insensitive): for each needle, the byte offset of its first word-bounded occurrence.
/// Linear in the haystack plus the needles (plus the matches, at most a needle length per
/// byte), where a `find_word` per needle is their product.
pub(crate) fn find_words(haystack: &str, needles: &[&str]) -> Vec<Option<usize>> {
    let mut first = vec![None; needles.len()];
    // Empty needles never match (as in find_word); the automaton gets the others.
    let (ids, pats): (Vec<usize>, Vec<&str>) = needles
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty())
        .map(|(i, n)| (i, *n))
        .unzip();
    let Ok(ac) = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&pats)
    else {
        // Only a pattern set too large for the automaton fails here: fall back to the scans.
        return needles.iter().map(|n| find_word(haystack, n)).collect();
    };
    let h = haystack;
    for m in ac.find_overlapping_iter(h) {
        let slot = &mut first[ids[m.pattern().as_usize()]];
        if slot.is_some_and(|p| p <= m.start()) {
            continue;
        }
        let n = pats[m.pattern().as_usize()];
        let before_ok = !matches!(h[..m.start()].chars().next_back(), Some(c) if is_word_char(c))
            || !n.chars().next().is_some_and(is_word_char);
        let after_ok = !matches!(h[m.end()..].chars().next(), Some(c) if is_word_char(c))
            || !n.chars().next_back().is_some_and(is_word_char);
        if before_ok && after_ok {
            *slot = Some(m.start());
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_words_agrees_with_find_word() {
        let text =
            "Please use get_weather, then Get Weather again; forget_weather; a weather b ünï";
        let needles = [
            "get_weather",
            "GET WEATHER",
            "weather",
            "",
            "forget",
            "nope",
            "ünï",
            "a",
        ];
        let want: Vec<_> = needles.iter().map(|n| find_word(text, n)).collect();
        assert_eq!(find_words(text, &needles), want);
        assert_eq!(want[0], Some(11));
    }

    #[test]
    fn ids_are_deterministic_and_shaped() {
        let a = base62_id(&[b"x", b"y"], 24);
        assert_eq!(a, base62_id(&[b"x", b"y"], 24));
        assert_ne!(a, base62_id(&[b"xy"], 24));
        assert_eq!(a.len(), 24);
        assert_eq!(base62_id(&[b"x"], 70).len(), 70);
        assert_eq!(hex_id(&[b"x"], 7).len(), 7);
        let u = uuid_id(&[b"r"]);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn ordered_object() {
        let o = Obj::new()
            .set("z", 1u32)
            .set("a", Obj::new().set("y", "s").set("b", null()));
        assert_eq!(
            String::from_utf8(o.to_bytes()).unwrap(),
            r#"{"z":1,"a":{"y":"s","b":null}}"#
        );
    }

    #[test]
    fn words() {
        assert_eq!(
            find_word("Please use get_weather now", "GET_WEATHER"),
            Some(11)
        );
        assert_eq!(find_word("forget_weather", "get_weather"), None);
        assert_eq!(find_word("a weather b", "weather"), Some(2));
        assert_eq!(clip_chars("abcdef", 3), "abc...");
        assert_eq!(clip_chars("abc", 3), "abc");
        assert_eq!(collapse_ws(" a \n b  "), "a b");
    }
}
