//! A minimal JSON tree that keeps object members in order and rejects duplicate keys
//! (the policy grammar forbids "multiple instances of the same key").

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J {
    Null,
    Bool(bool),
    /// The number as JSON text.
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    /// Parses `text`, rejecting duplicate object keys.
    pub(crate) fn parse(text: &str) -> Result<J, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Parses `text`, keeping duplicate object keys (in order) for the caller to judge.
    pub(crate) fn parse_lenient(text: &str) -> Result<J, serde_json::Error> {
        serde_json::from_str::<Node<false>>(text).map(|n| n.0)
    }

    /// The value as JSON text (numbers as they were read, members in order, duplicates
    /// kept).
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(n),
            J::Str(s) => write_str(s, out),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON value read with (`STRICT`) or without duplicate-key rejection.
struct Node<const STRICT: bool>(J);

impl<'de, const STRICT: bool> Deserialize<'de> for Node<STRICT> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JVisitor::<STRICT>).map(Node)
    }
}

struct JVisitor<const STRICT: bool>;

impl<'de, const STRICT: bool> Visitor<'de> for JVisitor<STRICT> {
    type Value = J;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<J, E> {
        Ok(J::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<J, E> {
        Ok(J::Num(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<J, E> {
        Ok(J::Num(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<J, E> {
        Ok(J::Num(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<J, E> {
        Ok(J::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<J, E> {
        Ok(J::Str(v))
    }
    fn visit_unit<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }
    fn visit_none<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<J, D::Error> {
        Node::<STRICT>::deserialize(d).map(|n| n.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Node<STRICT>>()? {
            out.push(v.0);
        }
        Ok(J::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
        let mut out: Vec<(String, J)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if STRICT && out.iter().any(|(e, _)| *e == k) {
                return Err(de::Error::custom(format!("duplicate key {k:?}")));
            }
            let v = map.next_value::<Node<STRICT>>()?;
            out.push((k, v.0));
        }
        Ok(J::Obj(out))
    }
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        Node::<true>::deserialize(d).map(|n| n.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_rejects_duplicates() {
        let j = J::parse(r#"{"b":1,"a":[true,null,"x",1.5]}"#).unwrap();
        match &j {
            J::Obj(m) => assert_eq!(m[0].0, "b"),
            _ => panic!(),
        }
        assert_eq!(
            j.get("a"),
            Some(&J::Arr(vec![
                J::Bool(true),
                J::Null,
                J::Str("x".into()),
                J::Num("1.5".into())
            ]))
        );
        assert!(J::parse(r#"{"a":1,"a":2}"#).is_err());
        assert!(J::parse(r#"{"a":1"#).is_err());
    }

    #[test]
    fn lenient_keeps_duplicates_and_round_trips() {
        let text = r#"{"a":1,"a":[true,null,-2.5e-3],"q\"\\\n\u0001é":{"x":"y"}}"#;
        let j = J::parse_lenient(text).unwrap();
        match &j {
            J::Obj(m) => assert_eq!(m.len(), 3),
            _ => panic!(),
        }
        let back = j.to_json();
        assert_eq!(J::parse_lenient(&back).unwrap(), j);
        assert!(J::parse(&back).is_err());
        let v: serde_json::Value = serde_json::from_str(&back).unwrap();
        assert_eq!(v["q\"\\\n\u{1}é"]["x"], "y");
    }
}
