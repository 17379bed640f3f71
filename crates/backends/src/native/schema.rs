//! A tiny JSON-schema-style checker that reports violations the way Bedrock's
//! request validation does (`#/path: message`), wrapped as
//! `Malformed input request: {violation}, please reformat your input and try again.`
//! When more than one violation is found the message is
//! `Malformed input request: #: N schema violations found, please reformat your input and try again.`
//!
//! A body the checks accept is then read once into the dialect's typed request
//! ([`Checker::parse`]): the checks give Bedrock's messages, the types carry what they
//! guarantee, so nothing is looked up twice or unwrapped on faith.

use std::fmt::Display;

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::{Map, Value};

use super::NativeError;

const PREFIX: &str = "Malformed input request: ";
const SUFFIX: &str = ", please reformat your input and try again.";

/// `Malformed input request: {detail}, please reformat your input and try again.`
pub(crate) fn malformed(detail: impl Display) -> NativeError {
    NativeError::Malformed(format!("{PREFIX}{detail}{SUFFIX}"))
}

/// The JSON type names used in messages.
pub(crate) fn found_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "BigDecimal",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// Parse a request body that must be a JSON object.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, NativeError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("#: the request body is not valid JSON ({e})")))?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(malformed(format!(
            "#: expected type: JSONObject, found: {}",
            found_name(&other)
        ))),
    }
}

/// Expected JSON type of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Int,
    Num,
    Bool,
    Arr,
    Obj,
    StrOrArr,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Str => "String",
            Kind::Int => "Integer",
            Kind::Num => "Number",
            Kind::Bool => "Boolean",
            Kind::Arr => "JSONArray",
            Kind::Obj => "JSONObject",
            Kind::StrOrArr => "String or JSONArray",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            Kind::Str => v.is_string(),
            Kind::Int => v.is_i64() || v.is_u64(),
            Kind::Num => v.is_number(),
            Kind::Bool => v.is_boolean(),
            Kind::Arr => v.is_array(),
            Kind::Obj => v.is_object(),
            Kind::StrOrArr => v.is_string() || v.is_array(),
        }
    }
}

/// `path/child`.
pub(crate) fn child(path: &str, key: impl Display) -> String {
    format!("{path}/{key}")
}

fn fmt_bound(b: f64) -> String {
    if b.fract() == 0.0 && b.abs() < 1e15 {
        format!("{b:.0}")
    } else {
        format!("{b}")
    }
}

/// Collects violations in order.
#[derive(Default)]
pub(crate) struct Checker {
    violations: Vec<String>,
}

impl Checker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn push(&mut self, path: &str, msg: impl Display) {
        self.violations.push(format!("{path}: {msg}"));
    }

    /// Required keys (`required key [k] not found`) and, when `allowed` is
    /// given, extraneous keys (`extraneous key [k] is not permitted`).
    pub(crate) fn keys(
        &mut self,
        path: &str,
        obj: &Map<String, Value>,
        required: &[&str],
        allowed: Option<&[&str]>,
    ) {
        for r in required {
            if !obj.contains_key(*r) {
                self.push(path, format_args!("required key [{r}] not found"));
            }
        }
        if let Some(allowed) = allowed {
            for k in obj.keys() {
                if !allowed.contains(&k.as_str()) && !required.contains(&k.as_str()) {
                    self.push(path, format_args!("extraneous key [{k}] is not permitted"));
                }
            }
        }
    }

    /// Type check; true when `v` has the expected kind.
    pub(crate) fn kind(&mut self, path: &str, v: &Value, kind: Kind) -> bool {
        if kind.accepts(v) {
            true
        } else {
            self.push(
                path,
                format_args!("expected type: {}, found: {}", kind.name(), found_name(v)),
            );
            false
        }
    }

    /// `v` as an object, or a type violation at `path`.
    pub(crate) fn object<'a>(
        &mut self,
        path: &str,
        v: &'a Value,
    ) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.kind(path, other, Kind::Obj);
                None
            }
        }
    }

    /// The field `key` of `obj` when present and an object.
    pub(crate) fn object_field<'a>(
        &mut self,
        path: &str,
        obj: &'a Map<String, Value>,
        key: &str,
    ) -> Option<&'a Map<String, Value>> {
        self.field(path, obj, key, Kind::Obj)
            .and_then(Value::as_object)
    }

    /// The field `key` of `obj` when present and of the right kind.
    pub(crate) fn field<'a>(
        &mut self,
        path: &str,
        obj: &'a Map<String, Value>,
        key: &str,
        kind: Kind,
    ) -> Option<&'a Value> {
        let v = obj.get(key)?;
        if self.kind(&child(path, key), v, kind) {
            Some(v)
        } else {
            None
        }
    }

    /// Numeric bounds (inclusive).
    pub(crate) fn range(&mut self, path: &str, v: &Value, min: Option<f64>, max: Option<f64>) {
        let Some(x) = v.as_f64() else { return };
        if let Some(m) = min {
            if x < m {
                self.push(
                    path,
                    format_args!("{v} is not greater or equal to {}", fmt_bound(m)),
                );
            }
        }
        if let Some(m) = max {
            if x > m {
                self.push(
                    path,
                    format_args!("{v} is not less or equal to {}", fmt_bound(m)),
                );
            }
        }
    }

    /// A typed, optionally bounded number field.
    pub(crate) fn number(
        &mut self,
        path: &str,
        obj: &Map<String, Value>,
        key: &str,
        kind: Kind,
        min: Option<f64>,
        max: Option<f64>,
    ) {
        if let Some(v) = self.field(path, obj, key, kind) {
            self.range(&child(path, key), v, min, max);
        }
    }

    /// String enum check.
    pub(crate) fn one_of(&mut self, path: &str, v: &Value, allowed: &[&str]) -> bool {
        match v.as_str() {
            Some(s) if allowed.contains(&s) => true,
            Some(s) => {
                self.push(path, format_args!("{s} is not a valid enum value"));
                false
            }
            None => self.kind(path, v, Kind::Str),
        }
    }

    /// Array length bounds.
    pub(crate) fn items(
        &mut self,
        path: &str,
        a: &[Value],
        min: Option<usize>,
        max: Option<usize>,
    ) {
        if let Some(m) = min {
            if a.len() < m {
                self.push(
                    path,
                    format_args!("expected minimum item count: {m}, found: {}", a.len()),
                );
            }
        }
        if let Some(m) = max {
            if a.len() > m {
                self.push(
                    path,
                    format_args!("expected maximum item count: {m}, found: {}", a.len()),
                );
            }
        }
    }

    /// JSON Schema `uniqueItems` (everit's text: `array items are not unique`). Linear: each
    /// item is hashed once by its JSON text.
    pub(crate) fn unique_items(&mut self, path: &str, a: &[Value]) {
        let mut seen = std::collections::HashSet::with_capacity(a.len());
        if !a.iter().all(|v| seen.insert(v.to_string())) {
            self.push(path, "array items are not unique");
        }
    }

    /// Every element of an array field must be a string.
    pub(crate) fn string_array(&mut self, path: &str, obj: &Map<String, Value>, key: &str) {
        if let Some(Value::Array(a)) = self.field(path, obj, key, Kind::Arr) {
            let p = child(path, key);
            for (i, x) in a.iter().enumerate() {
                self.kind(&child(&p, i), x, Kind::Str);
            }
        }
    }

    /// Minimum string length.
    pub(crate) fn min_length(&mut self, path: &str, v: &Value, min: usize) {
        if let Some(s) = v.as_str() {
            let n = s.chars().count();
            if n < min {
                self.push(path, format_args!("expected minLength: {min}, actual: {n}"));
            }
        }
    }

    /// `Ok` when nothing was found, else the Bedrock-style error.
    pub(crate) fn finish(self) -> Result<(), NativeError> {
        match self.violations.len() {
            0 => Ok(()),
            1 => Err(malformed(&self.violations[0])),
            n => Err(malformed(format_args!("#: {n} schema violations found"))),
        }
    }

    /// The Bedrock-style error when something was found, else the body read into the
    /// dialect's typed request. The types mirror what the checks guarantee, so reading fails
    /// only if the two disagree (a bug, reported as a malformed request rather than a panic).
    pub(crate) fn parse<T: DeserializeOwned>(
        self,
        obj: Map<String, Value>,
    ) -> Result<T, NativeError> {
        self.finish()?;
        serde_json::from_value(Value::Object(obj)).map_err(|e| malformed(format_args!("#: {e}")))
    }
}

/// For a member the checks do not cover, read as it always was: the value when it has the
/// type, `None` when it is absent or has another type (use with `#[serde(default)]`).
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages() {
        let obj = json!({"a": "x", "b": 1.5, "zzz": 1});
        let obj = obj.as_object().unwrap();
        let mut c = Checker::new();
        c.keys("#", obj, &["a", "max_tokens"], Some(&["b"]));
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "Malformed input request: #: 2 schema violations found, please reformat your input and try again."
        );
        let mut c = Checker::new();
        c.number("#", obj, "b", Kind::Int, None, None);
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "Malformed input request: #/b: expected type: Integer, found: BigDecimal, please reformat your input and try again."
        );
        let mut c = Checker::new();
        c.number("#", obj, "b", Kind::Num, Some(0.0), Some(1.0));
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "Malformed input request: #/b: 1.5 is not less or equal to 1, please reformat your input and try again."
        );
        assert_eq!(
            parse_object(b"[1]").unwrap_err().to_string(),
            "Malformed input request: #: expected type: JSONObject, found: JSONArray, please reformat your input and try again."
        );
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Typed {
        a: String,
        #[serde(default, deserialize_with = "lenient")]
        b: Option<String>,
    }

    #[test]
    fn parse_reads_what_the_checks_passed() {
        let obj = |v: Value| v.as_object().unwrap().clone();
        let t: Typed = Checker::new()
            .parse(obj(json!({"a": "x", "b": 5})))
            .unwrap();
        assert_eq!(
            t,
            Typed {
                a: "x".into(),
                b: None
            }
        );
        let t: Typed = Checker::new()
            .parse(obj(json!({"a": "x", "b": "y"})))
            .unwrap();
        assert_eq!(t.b.as_deref(), Some("y"));
        // The checks' error comes first ...
        let mut c = Checker::new();
        c.keys("#", &obj(json!({})), &["a"], None);
        assert_eq!(
            c.parse::<Typed>(obj(json!({}))).unwrap_err().to_string(),
            "Malformed input request: #: required key [a] not found, please reformat your input and try again."
        );
        // ... and a type the checks did not guarantee is a malformed request, not a panic.
        assert_eq!(
            Checker::new().parse::<Typed>(obj(json!({"a": 1}))).unwrap_err().to_string(),
            "Malformed input request: #: invalid type: integer `1`, expected a string, please reformat your input and try again."
        );
    }
}
