//! Structured output: a JSON schema the answer must satisfy (Converse
//! `outputConfig.textFormat` of type `json_schema`, Anthropic's native `output_config.format`).
//!
//! Three pieces, all pure: which models accept a schema ([`supports_structured_output`]), a
//! deterministic value generator for the scripted backend ([`generate`]), and a validator
//! ([`validate`]) that checks any backend's answer before it is returned.
//!
//! The schema subset is the one Bedrock documents for structured outputs: `type` (also as a
//! list), `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`,
//! `anyOf`/`oneOf`/`allOf`, local `$ref` into `$defs`/`definitions`, `minimum`/`maximum`,
//! `minLength`/`maxLength`, `minItems`/`maxItems` and string `format`s. `pattern` is not
//! interpreted (neither generated nor checked): a regex engine for one keyword is not worth
//! its weight here, and the generated strings are plain words.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

/// The schema a structured answer must satisfy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSchema {
    /// `jsonSchema.name` (Converse) — passed on to upstreams that want a name.
    pub name: Option<String>,
    pub description: Option<String>,
    /// The schema itself, parsed.
    pub schema: Value,
}

/// The message of the ValidationException for a model that does not take a schema.
///
/// AWS's exact text is not documented (bedrock-facts has none); this is our choice, in the
/// shape of Bedrock's other capability refusals ("This model doesn't support …").
pub const UNSUPPORTED: &str =
    "This model doesn't support structured outputs. Remove outputConfig.textFormat and try again.";

/// The message for Anthropic's native `output_config.format` on a model without it.
pub const UNSUPPORTED_NATIVE: &str =
    "This model doesn't support structured outputs. Remove output_config.format and try again.";

/// Whether Bedrock accepts a JSON schema for this base model.
///
/// From the Bedrock user guide's structured-output page (GA 2026-02-04): the Claude 4.5 and
/// later models and the open-weight families (gpt-oss, Qwen 3, DeepSeek V3.x, Mistral Large 3 /
/// Ministral / Magistral, Gemma 3, Kimi K2, MiniMax M2, Nemotron). Older Claude models, Nova,
/// Titan, Llama, Cohere and Jamba are refused. The list is ours where the page is silent.
pub fn supports_structured_output(model_id: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "anthropic.claude-sonnet-4-5",
        "anthropic.claude-haiku-4-5",
        "anthropic.claude-opus-4-5",
        "anthropic.claude-opus-4-6",
        "anthropic.claude-sonnet-4-6",
        "openai.gpt-oss",
        "qwen.qwen3",
        "deepseek.v3",
        "mistral.mistral-large-3",
        "mistral.ministral",
        "mistral.magistral",
        "google.gemma-3",
        "moonshot",
        "minimax",
        "nvidia.nemotron",
    ];
    PREFIXES.iter().any(|p| model_id.starts_with(p))
}

/// Parse the schema text of Converse's `jsonSchema.schema` (a JSON document in a string).
///
/// AWS's text for a schema that is not JSON or not an object is undocumented; ours names the
/// member and the parse error, never the schema (the member is marked sensitive).
pub fn parse_schema_text(text: &str) -> Result<Value, String> {
    const MEMBER: &str = "outputConfig.textFormat.structure.jsonSchema.schema";
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(format!(
            "The JSON schema in {MEMBER} must be a JSON object."
        )),
        Err(e) => Err(format!(
            "The JSON schema in {MEMBER} is not valid JSON: {e}."
        )),
    }
}

/// How deep the generator follows nested schemas (recursive `$ref`s stop here).
const MAX_DEPTH: usize = 12;

/// A value that satisfies `schema`, the same for the same `seed` (the scripted backend seeds
/// it with the prompt). Every property is present (required or not), enums and consts are
/// honoured, numbers sit inside their bounds, arrays carry `max(minItems, 1)` items (capped
/// by `maxItems`), strings honour `format` and length bounds and prefer the word that follows
/// the property name in `hint` (the user's text).
pub fn generate(schema: &Value, seed: &[u8], hint: &str) -> Value {
    let g = Generator {
        root: schema,
        seed,
        hint,
    };
    g.value(schema, "value", 0)
}

struct Generator<'a> {
    root: &'a Value,
    seed: &'a [u8],
    hint: &'a str,
}

impl Generator<'_> {
    /// A deterministic number for this property path.
    fn pick(&self, path: &str) -> u64 {
        let d = Sha256::new()
            .chain_update(self.seed)
            .chain_update(path.as_bytes())
            .finalize();
        u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }

    fn value(&self, schema: &Value, path: &str, depth: usize) -> Value {
        let schema = resolve(self.root, schema);
        let Some(o) = schema.as_object() else {
            // `true` or `{}`-like: anything goes.
            return Value::String("example".into());
        };
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(c) = o.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(choices)) = o.get("enum") {
            if !choices.is_empty() {
                let i = (self.pick(path) % choices.len() as u64) as usize;
                return choices[i].clone();
            }
        }
        if let Some(Value::Array(all)) = o.get("allOf") {
            return self.all_of(o, all, path, depth);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(alts)) = o.get(key) {
                // The first alternative that is not `null` (optional fields in pydantic).
                let alt = alts
                    .iter()
                    .find(|a| resolve(self.root, a).get("type") != Some(&"null".into()))
                    .or(alts.first());
                if let Some(a) = alt {
                    return self.value(a, path, depth + 1);
                }
            }
        }
        match type_of(o) {
            "object" => self.object(o, path, depth),
            "array" => self.array(o, path, depth),
            "integer" => self.integer(o, path),
            "number" => self.number(o, path),
            "boolean" => Value::Bool(self.pick(path).is_multiple_of(2)),
            "null" => Value::Null,
            _ => self.string(o, path),
        }
    }

    fn all_of(&self, o: &Map<String, Value>, all: &[Value], path: &str, depth: usize) -> Value {
        // Merge the parts' properties; a non-object part wins as is.
        let mut merged = Map::new();
        for part in all {
            match self.value(part, path, depth + 1) {
                Value::Object(m) => merged.extend(m),
                other => return other,
            }
        }
        if let Value::Object(m) = self.object(o, path, depth) {
            merged.extend(m);
        }
        Value::Object(merged)
    }

    fn object(&self, o: &Map<String, Value>, path: &str, depth: usize) -> Value {
        let mut out = Map::new();
        if let Some(Value::Object(props)) = o.get("properties") {
            let required = required_names(o);
            for (name, s) in props {
                // Optional members stop a few levels down, so recursive schemas end.
                if depth >= 4 && !required.contains(&name.as_str()) {
                    continue;
                }
                let v = self.value(s, &format!("{path}.{name}"), depth + 1);
                let v = match v {
                    Value::String(s) if s == "example" => self.hinted(name, s),
                    v => v,
                };
                out.insert(name.clone(), v);
            }
        }
        // A required name without a schema of its own still has to be there.
        if let Some(Value::Array(req)) = o.get("required") {
            for name in req.iter().filter_map(Value::as_str) {
                out.entry(name.to_string())
                    .or_insert_with(|| Value::String("example".into()));
            }
        }
        Value::Object(out)
    }

    /// The word after `name` in the hint text (`city: Paris` → `Paris`), else `fallback`.
    fn hinted(&self, name: &str, fallback: String) -> Value {
        let lower = self.hint.to_lowercase();
        let needle = name.to_lowercase();
        let word = lower.find(&needle).and_then(|i| {
            self.hint[i + needle.len()..]
                .split(|c: char| c.is_whitespace() || matches!(c, ':' | '=' | '"' | '\'' | ','))
                .find(|w| !w.is_empty() && !matches!(*w, "is" | "of" | "to" | "as" | "the"))
                .map(|w| w.trim_end_matches(['.', ';', '!', '?']).to_string())
        });
        Value::String(word.filter(|w| !w.is_empty()).unwrap_or(fallback))
    }

    fn array(&self, o: &Map<String, Value>, path: &str, depth: usize) -> Value {
        let min = o
            .get("minItems")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .max(1);
        let n = match o.get("maxItems").and_then(Value::as_u64) {
            Some(max) => min.min(max),
            None => min,
        }
        .min(64);
        let item = o.get("items").cloned().unwrap_or(Value::Bool(true));
        Value::Array(
            (0..n)
                .map(|i| self.value(&item, &format!("{path}[{i}]"), depth + 1))
                .collect(),
        )
    }

    fn integer(&self, o: &Map<String, Value>, path: &str) -> Value {
        let (lo, hi) = bounds(o);
        let lo = lo.map(|x| x.ceil() as i64).unwrap_or(0);
        let hi = hi
            .map(|x| x.floor() as i64)
            .unwrap_or(lo.saturating_add(100));
        let span = hi.saturating_sub(lo).max(0) as u64 + 1;
        Value::from(lo.saturating_add((self.pick(path) % span) as i64))
    }

    fn number(&self, o: &Map<String, Value>, path: &str) -> Value {
        let (lo, hi) = bounds(o);
        let lo = lo.unwrap_or(0.0);
        let hi = hi.unwrap_or(lo + 100.0).max(lo);
        // Two decimals, inside the bounds.
        let steps = ((hi - lo) * 100.0).floor().max(0.0) as u64 + 1;
        let x = lo + (self.pick(path) % steps) as f64 / 100.0;
        Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::from(0))
    }

    fn string(&self, o: &Map<String, Value>, path: &str) -> Value {
        let n = self.pick(path);
        let base = match o.get("format").and_then(Value::as_str) {
            Some("date-time") => format!("2026-01-{:02}T12:00:00Z", n % 28 + 1),
            Some("date") => format!("2026-01-{:02}", n % 28 + 1),
            Some("time") => "12:00:00Z".to_string(),
            Some("email") => "user@example.com".to_string(),
            Some("uri") | Some("url") => "https://example.com/".to_string(),
            Some("uuid") => {
                let h = format!("{:016x}{:016x}", n, n.rotate_left(17));
                format!(
                    "{}-{}-4{}-8{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[13..16],
                    &h[17..20],
                    &h[20..32]
                )
            }
            _ => "example".to_string(),
        };
        let min = o.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = o
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let mut s = base;
        while s.chars().count() < min {
            s.push('x');
        }
        if let Some(max) = max {
            s = s.chars().take(max).collect();
        }
        Value::String(s)
    }
}

fn required_names(o: &Map<String, Value>) -> Vec<&str> {
    o.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `minimum`/`exclusiveMinimum`, `maximum`/`exclusiveMaximum` as a closed range.
fn bounds(o: &Map<String, Value>) -> (Option<f64>, Option<f64>) {
    let f = |k: &str| o.get(k).and_then(Value::as_f64);
    let lo = f("minimum").or(f("exclusiveMinimum").map(|x| x + 1.0));
    let hi = f("maximum").or(f("exclusiveMaximum").map(|x| x - 1.0));
    (lo, hi)
}

/// The schema's type: the first non-`null` one of a list; inferred from its keywords when
/// absent.
fn type_of(o: &Map<String, Value>) -> &str {
    match o.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if o.contains_key("properties") => "object",
        _ if o.contains_key("items") => "array",
        _ => "string",
    }
}

/// Follow a local `$ref` (`#/$defs/X`, `#/definitions/X`, any JSON pointer into the root).
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    // A bounded chain: `$ref` to a `$ref` is allowed, a cycle of refs is not followed forever.
    for _ in 0..MAX_DEPTH {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(target) => s = target,
                None => return s,
            },
            None => return s,
        }
    }
    s
}

/// Check `value` against `schema`: `Err` names the first violation by its JSON path.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, schema, value, "$", 0)
}

fn check(root: &Value, schema: &Value, v: &Value, path: &str, depth: usize) -> Result<(), String> {
    let schema = resolve(root, schema);
    let Some(o) = schema.as_object() else {
        return match schema {
            Value::Bool(false) => Err(format!("{path}: no value is allowed here")),
            _ => Ok(()),
        };
    };
    if depth > 64 {
        return Err(format!("{path}: the value is nested too deeply"));
    }
    if let Some(c) = o.get("const") {
        if c != v {
            return Err(format!("{path}: must be {c}"));
        }
    }
    if let Some(Value::Array(choices)) = o.get("enum") {
        if !choices.contains(v) {
            return Err(format!(
                "{path}: must be one of {}",
                Value::Array(choices.clone())
            ));
        }
    }
    if let Some(Value::Array(all)) = o.get("allOf") {
        for s in all {
            check(root, s, v, path, depth + 1)?;
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = o.get(key) {
            let ok = alts
                .iter()
                .filter(|s| check(root, s, v, path, depth + 1).is_ok())
                .count();
            if ok == 0 || (key == "oneOf" && ok > 1) {
                return Err(format!("{path}: must match {key}"));
            }
        }
    }
    check_type(o, v, path)?;
    match v {
        Value::Object(m) => check_object(root, o, m, path, depth),
        Value::Array(items) => {
            let n = items.len() as u64;
            if o.get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| n < m)
            {
                return Err(format!("{path}: too few items"));
            }
            if o.get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
            {
                return Err(format!("{path}: too many items"));
            }
            match o.get("items") {
                Some(item) => items.iter().enumerate().try_for_each(|(i, x)| {
                    check(root, item, x, &format!("{path}[{i}]"), depth + 1)
                }),
                None => Ok(()),
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            let (lo, hi) = bounds(o);
            if lo.is_some_and(|lo| x < lo) || hi.is_some_and(|hi| x > hi) {
                return Err(format!("{path}: out of range"));
            }
            Ok(())
        }
        Value::String(s) => {
            let n = s.chars().count() as u64;
            if o.get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| n < m)
                || o.get("maxLength")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| n > m)
            {
                return Err(format!("{path}: length out of range"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_type(o: &Map<String, Value>, v: &Value, path: &str) -> Result<(), String> {
    let allowed: Vec<&str> = match o.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let is = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        _ => true,
    };
    if allowed.iter().any(|t| is(t)) {
        Ok(())
    } else {
        Err(format!("{path}: must be of type {}", allowed.join(" or ")))
    }
}

fn check_object(
    root: &Value,
    o: &Map<String, Value>,
    m: &Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<(), String> {
    if let Some(Value::Array(req)) = o.get("required") {
        if let Some(missing) = req
            .iter()
            .filter_map(Value::as_str)
            .find(|k| !m.contains_key(*k))
        {
            return Err(format!("{path}: missing required property {missing:?}"));
        }
    }
    let props = o.get("properties").and_then(Value::as_object);
    for (k, x) in m {
        let p = format!("{path}.{k}");
        match props.and_then(|p| p.get(k)) {
            Some(s) => check(root, s, x, &p, depth + 1)?,
            None => match o.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    return Err(format!("{path}: property {k:?} is not allowed"))
                }
                Some(s @ Value::Object(_)) => check(root, s, x, &p, depth + 1)?,
                _ => {}
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 2},
                "age": {"type": "integer", "minimum": 18, "maximum": 30},
                "score": {"type": "number", "minimum": 0.5, "maximum": 1},
                "mood": {"type": "string", "enum": ["happy", "sad", "calm"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "address": {"$ref": "#/$defs/Address"},
                "nickname": {"anyOf": [{"type": "null"}, {"type": "string"}]},
                "active": {"type": "boolean"}
            },
            "required": ["name", "age", "mood", "address"],
            "additionalProperties": false,
            "$defs": {"Address": {"type": "object", "properties": {"city": {"type": "string"}},
                                   "required": ["city"], "additionalProperties": false}}
        })
    }

    #[test]
    fn generated_values_validate_and_are_deterministic_per_seed() {
        let s = person();
        let a = generate(&s, b"prompt one", "the city: Lisbon please");
        assert_eq!(validate(&s, &a), Ok(()), "{a}");
        assert_eq!(a, generate(&s, b"prompt one", "the city: Lisbon please"));
        assert_eq!(a["address"]["city"], "Lisbon");
        assert_eq!(a["tags"].as_array().unwrap().len(), 2);
        let age = a["age"].as_i64().unwrap();
        assert!((18..=30).contains(&age));
        // Another prompt picks other values somewhere (enum, ints, booleans are seeded).
        let differs = (0..8).any(|i| generate(&s, format!("p{i}").as_bytes(), "") != a);
        assert!(differs);
    }

    #[test]
    fn the_validator_names_the_first_violation() {
        let s = person();
        let ok = json!({"name": "Al", "age": 20, "mood": "calm", "address": {"city": "x"}});
        assert_eq!(validate(&s, &ok), Ok(()));
        let mut bad = ok.clone();
        bad["mood"] = json!("angry");
        assert_eq!(
            validate(&s, &bad),
            Err(r#"$.mood: must be one of ["happy","sad","calm"]"#.into())
        );
        let mut bad = ok.clone();
        bad["age"] = json!(40);
        assert_eq!(validate(&s, &bad), Err("$.age: out of range".into()));
        let bad = json!({"name": "Al", "age": 20, "mood": "calm"});
        assert_eq!(
            validate(&s, &bad),
            Err(r#"$: missing required property "address""#.into())
        );
        let mut bad = ok.clone();
        bad["extra"] = json!(1);
        assert_eq!(
            validate(&s, &bad),
            Err(r#"$: property "extra" is not allowed"#.into())
        );
        assert_eq!(
            validate(&s, &json!("text")),
            Err("$: must be of type object".into())
        );
    }

    #[test]
    fn recursive_refs_terminate() {
        let s = json!({"$ref": "#/$defs/N", "$defs": {"N": {"type": "object",
            "properties": {"next": {"$ref": "#/$defs/N"}}}}});
        let v = generate(&s, b"x", "");
        assert!(v.is_object());
    }

    #[test]
    fn schema_text_must_be_a_json_object() {
        assert!(parse_schema_text("{\"type\":\"object\"}").is_ok());
        assert_eq!(
            parse_schema_text("[1]"),
            Err("The JSON schema in outputConfig.textFormat.structure.jsonSchema.schema must be a JSON object.".into())
        );
        assert!(parse_schema_text("{")
            .unwrap_err()
            .contains("is not valid JSON"));
    }

    #[test]
    fn support_follows_the_model_list() {
        assert!(supports_structured_output(
            "anthropic.claude-sonnet-4-5-20250929-v1:0"
        ));
        assert!(supports_structured_output("openai.gpt-oss-20b-1:0"));
        assert!(!supports_structured_output("amazon.nova-lite-v1:0"));
        assert!(!supports_structured_output(
            "anthropic.claude-3-haiku-20240307-v1:0"
        ));
    }
}
