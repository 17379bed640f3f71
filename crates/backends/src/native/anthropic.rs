//! Anthropic Claude: the Messages API as served by Bedrock
//! (`anthropic_version: bedrock-2023-05-31`).

use serde_json::{Map, Value};

use super::schema::{child, parse_object, Checker, Kind};
use super::{anthropic_model_name, base64_len, base64_text, json_text, with_metrics, NativeError};
use crate::util::{base62_id, null, Obj, J};
use crate::{Block, Completion, Message, Prompt, Role, StopReason, ToolChoice, ToolSpec};

const VERSION: &str = "bedrock-2023-05-31";
const REQUIRED: &[&str] = &["anthropic_version", "max_tokens", "messages"];
const ALLOWED: &[&str] = &[
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "messages",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "metadata",
    "thinking",
];
const BLOCK_TYPES: &[&str] = &[
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
];

fn validate(obj: &Map<String, Value>) -> Result<(), NativeError> {
    let mut c = Checker::new();
    c.keys("#", obj, REQUIRED, Some(ALLOWED));
    if let Some(v) = c.field("#", obj, "anthropic_version", Kind::Str) {
        c.one_of("#/anthropic_version", v, &[VERSION]);
    }
    c.string_array("#", obj, "anthropic_beta");
    c.number("#", obj, "max_tokens", Kind::Int, Some(1.0), None);
    c.number("#", obj, "temperature", Kind::Num, Some(0.0), Some(1.0));
    c.number("#", obj, "top_p", Kind::Num, Some(0.0), Some(1.0));
    c.number("#", obj, "top_k", Kind::Int, Some(0.0), None);
    c.string_array("#", obj, "stop_sequences");
    c.field("#", obj, "metadata", Kind::Obj);
    c.field("#", obj, "thinking", Kind::Obj);
    if let Some(Value::Array(sys)) = c.field("#", obj, "system", Kind::StrOrArr) {
        for (i, b) in sys.iter().enumerate() {
            let p = child("#/system", i);
            if let Some(b) = b.as_object().filter(|_| c.kind(&p, b, Kind::Obj)) {
                c.keys(&p, b, &["type", "text"], None);
                c.field(&p, b, "text", Kind::Str);
            }
        }
    }
    if let Some(Value::Array(msgs)) = c.field("#", obj, "messages", Kind::Arr) {
        for (i, m) in msgs.iter().enumerate() {
            let p = child("#/messages", i);
            if !c.kind(&p, m, Kind::Obj) {
                continue;
            }
            let m = m.as_object().expect("checked");
            c.keys(&p, m, &["role", "content"], Some(&[]));
            if let Some(r) = c.field(&p, m, "role", Kind::Str) {
                c.one_of(&child(&p, "role"), r, &["user", "assistant"]);
            }
            if let Some(Value::Array(blocks)) = c.field(&p, m, "content", Kind::StrOrArr) {
                let cp = child(&p, "content");
                for (j, b) in blocks.iter().enumerate() {
                    validate_block(&mut c, &child(&cp, j), b);
                }
            }
        }
    }
    if let Some(Value::Array(tools)) = c.field("#", obj, "tools", Kind::Arr) {
        for (i, t) in tools.iter().enumerate() {
            let p = child("#/tools", i);
            if !c.kind(&p, t, Kind::Obj) {
                continue;
            }
            let t = t.as_object().expect("checked");
            // Server tools (computer use, bash, text editor) carry a `type` and no schema.
            let required: &[&str] = if t.contains_key("type") {
                &["name"]
            } else {
                &["name", "input_schema"]
            };
            c.keys(&p, t, required, None);
            c.field(&p, t, "name", Kind::Str);
            c.field(&p, t, "description", Kind::Str);
            c.field(&p, t, "input_schema", Kind::Obj);
        }
    }
    if let Some(tc) = c.field("#", obj, "tool_choice", Kind::Obj) {
        let tc = tc.as_object().expect("checked");
        c.keys("#/tool_choice", tc, &["type"], None);
        if let Some(t) = c.field("#/tool_choice", tc, "type", Kind::Str) {
            if c.one_of("#/tool_choice/type", t, &["auto", "any", "tool", "none"]) && t == "tool" {
                c.keys("#/tool_choice", tc, &["name"], None);
                c.field("#/tool_choice", tc, "name", Kind::Str);
            }
        }
    }
    c.finish()
}

fn validate_block(c: &mut Checker, p: &str, b: &Value) {
    if !c.kind(p, b, Kind::Obj) {
        return;
    }
    let b = b.as_object().expect("checked");
    c.keys(p, b, &["type"], None);
    let Some(t) = c.field(p, b, "type", Kind::Str) else {
        return;
    };
    if !c.one_of(&child(p, "type"), t, BLOCK_TYPES) {
        return;
    }
    match t.as_str().unwrap_or_default() {
        "text" => {
            c.keys(p, b, &["text"], None);
            c.field(p, b, "text", Kind::Str);
        }
        "image" | "document" => {
            c.keys(p, b, &["source"], None);
            if let Some(src) = c.field(p, b, "source", Kind::Obj) {
                let sp = child(p, "source");
                let src = src.as_object().expect("checked");
                c.keys(&sp, src, &["type"], None);
                if let Some(st) = c.field(&sp, src, "type", Kind::Str) {
                    let allowed: &[&str] = if t == "image" {
                        &["base64", "url"]
                    } else {
                        &["base64", "text", "content", "url"]
                    };
                    if c.one_of(&child(&sp, "type"), st, allowed) && st == "base64" {
                        c.keys(&sp, src, &["media_type", "data"], None);
                        c.field(&sp, src, "media_type", Kind::Str);
                        c.field(&sp, src, "data", Kind::Str);
                    }
                }
            }
        }
        "tool_use" => {
            c.keys(p, b, &["id", "name", "input"], None);
            c.field(p, b, "id", Kind::Str);
            c.field(p, b, "name", Kind::Str);
            c.field(p, b, "input", Kind::Obj);
        }
        "tool_result" => {
            c.keys(p, b, &["tool_use_id"], None);
            c.field(p, b, "tool_use_id", Kind::Str);
            c.field(p, b, "content", Kind::StrOrArr);
            c.field(p, b, "is_error", Kind::Bool);
        }
        "thinking" => {
            c.keys(p, b, &["thinking"], None);
            c.field(p, b, "thinking", Kind::Str);
        }
        _ => {}
    }
}

fn str_of<'a>(o: &'a Map<String, Value>, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn convert_block(b: &Value, path: &str) -> Result<Option<Block>, NativeError> {
    let Some(o) = b.as_object() else {
        return Ok(None);
    };
    let empty = Map::new();
    Ok(match str_of(o, "type") {
        "text" => Some(Block::Text(str_of(o, "text").to_string())),
        "image" => {
            let src = o.get("source").and_then(Value::as_object).unwrap_or(&empty);
            let media = str_of(src, "media_type");
            let format = media.strip_prefix("image/").unwrap_or(media);
            let bytes_len = match str_of(src, "type") {
                "base64" => base64_len(str_of(src, "data"), &format!("{path}/source/data"))?,
                _ => 0,
            };
            Some(Block::Image {
                format: if format.is_empty() { "jpeg" } else { format }.to_string(),
                bytes_len,
            })
        }
        "document" => {
            let src = o.get("source").and_then(Value::as_object).unwrap_or(&empty);
            let name = o
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("document")
                .to_string();
            let text = match str_of(src, "type") {
                "text" => str_of(src, "data").to_string(),
                "base64" if str_of(src, "media_type").starts_with("text/") => {
                    base64_text(str_of(src, "data")).unwrap_or_default()
                }
                "base64" => {
                    base64_len(str_of(src, "data"), &format!("{path}/source/data"))?;
                    String::new()
                }
                "content" => match src.get("content") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            Some(Block::Document { name, text })
        }
        "tool_use" => Some(Block::ToolUse {
            id: str_of(o, "id").to_string(),
            name: str_of(o, "name").to_string(),
            input: o.get("input").cloned().unwrap_or(Value::Null),
        }),
        "tool_result" => {
            let content = match o.get("content") {
                Some(Value::String(s)) => vec![Block::Text(s.clone())],
                Some(Value::Array(parts)) => {
                    let mut out = Vec::new();
                    for (k, part) in parts.iter().enumerate() {
                        match part.get("type").and_then(Value::as_str) {
                            Some("text") | Some("image") | Some("document") => {
                                if let Some(b) =
                                    convert_block(part, &format!("{path}/content/{k}"))?
                                {
                                    out.push(b);
                                }
                            }
                            _ => out.push(Block::Text(json_text(part))),
                        }
                    }
                    out
                }
                _ => Vec::new(),
            };
            let is_error = o.get("is_error").and_then(Value::as_bool).unwrap_or(false);
            Some(Block::ToolResult {
                tool_use_id: str_of(o, "tool_use_id").to_string(),
                content,
                status: is_error.then(|| "error".to_string()),
            })
        }
        "thinking" => Some(Block::Reasoning(str_of(o, "thinking").to_string())),
        _ => None,
    })
}

/// Decode an Anthropic Messages request body.
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    validate(&obj)?;
    let msgs = obj["messages"].as_array().expect("validated");
    if msgs.is_empty() {
        return Err(NativeError::Malformed(
            "messages: at least one message is required".to_string(),
        ));
    }
    let mut messages = Vec::with_capacity(msgs.len());
    for (i, m) in msgs.iter().enumerate() {
        let role = if m["role"] == "assistant" {
            Role::Assistant
        } else {
            Role::User
        };
        let content = match &m["content"] {
            Value::String(s) => vec![Block::Text(s.clone())],
            Value::Array(blocks) => {
                let mut out = Vec::with_capacity(blocks.len());
                for (j, b) in blocks.iter().enumerate() {
                    if let Some(b) = convert_block(b, &format!("#/messages/{i}/content/{j}"))? {
                        out.push(b);
                    }
                }
                out
            }
            _ => Vec::new(),
        };
        messages.push(Message { role, content });
    }
    let system = match obj.get("system") {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let tools = obj
        .get("tools")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .map(|t| ToolSpec {
                    name: t["name"].as_str().unwrap_or_default().to_string(),
                    description: t
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    input_schema: t
                        .get("input_schema")
                        .cloned()
                        .unwrap_or_else(|| serde_json::json!({"type": "object"})),
                })
                .collect()
        })
        .unwrap_or_default();
    let tool_choice = match obj.get("tool_choice") {
        Some(tc) => match tc["type"].as_str().unwrap_or("auto") {
            "any" => ToolChoice::Any,
            "tool" => ToolChoice::Tool(tc["name"].as_str().unwrap_or_default().to_string()),
            "none" => ToolChoice::None,
            _ => ToolChoice::Auto,
        },
        None => ToolChoice::Auto,
    };
    Ok(Prompt {
        system,
        messages,
        max_tokens: obj["max_tokens"].as_u64().map(clamp_u32),
        temperature: obj
            .get("temperature")
            .and_then(Value::as_f64)
            .map(|x| x as f32),
        top_p: obj.get("top_p").and_then(Value::as_f64).map(|x| x as f32),
        stop_sequences: strings(obj.get("stop_sequences")),
        tools,
        tool_choice,
    })
}

pub(crate) fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn stop_reason(r: StopReason) -> &'static str {
    r.as_converse()
}

fn message_id(seed: &str) -> String {
    format!("msg_bdrk_01{}", base62_id(&[seed.as_bytes(), b"msg"], 24))
}

fn tool_id(seed: &str, index: usize) -> String {
    format!(
        "toolu_bdrk_01{}",
        base62_id(
            &[seed.as_bytes(), b"toolu", index.to_string().as_bytes()],
            24
        )
    )
}

fn content_blocks(c: &Completion, seed: &str) -> Vec<Obj> {
    c.content
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match b {
            Block::Text(t) if !t.is_empty() => {
                Some(Obj::new().set("type", "text").set("text", t.as_str()))
            }
            Block::ToolUse { name, input, .. } => Some(
                Obj::new()
                    .set("type", "tool_use")
                    .set("id", tool_id(seed, i))
                    .set("name", name.as_str())
                    .set("input", input),
            ),
            Block::Reasoning(t) => Some(
                Obj::new()
                    .set("type", "thinking")
                    .set("thinking", t.as_str())
                    .set("signature", ""),
            ),
            _ => None,
        })
        .collect()
}

fn stop_sequence(c: &Completion) -> J {
    match (&c.stop_reason, &c.stop_sequence) {
        (StopReason::StopSequence, Some(s)) => J::from(s),
        _ => null(),
    }
}

/// The Messages API response.
pub(crate) fn encode(model_id: &str, c: &Completion, request_id: &str) -> Obj {
    Obj::new()
        .set("id", message_id(request_id))
        .set("type", "message")
        .set("role", "assistant")
        .set("model", anthropic_model_name(model_id))
        .set("content", content_blocks(c, request_id))
        .set("stop_reason", stop_reason(c.stop_reason))
        .set("stop_sequence", stop_sequence(c))
        .set(
            "usage",
            Obj::new()
                .set("input_tokens", c.usage.input_tokens)
                .set("output_tokens", c.usage.output_tokens),
        )
}

/// Streaming events: `message_start`, per block `content_block_start` /
/// `content_block_delta`… / `content_block_stop`, `message_delta`, `message_stop`.
pub(crate) fn stream(model_id: &str, c: &Completion, pieces: &[String], seed: &str) -> Vec<Obj> {
    let mut out = vec![Obj::new().set("type", "message_start").set(
        "message",
        Obj::new()
            .set("id", message_id(seed))
            .set("type", "message")
            .set("role", "assistant")
            .set("model", anthropic_model_name(model_id))
            .set("content", Vec::<J>::new())
            .set("stop_reason", null())
            .set("stop_sequence", null())
            .set(
                "usage",
                Obj::new()
                    .set("input_tokens", c.usage.input_tokens)
                    .set("output_tokens", c.usage.output_tokens.min(1)),
            ),
    )];
    let mut index = 0usize;
    let mut text_done = false;
    for (i, b) in c.content.iter().enumerate() {
        match b {
            Block::Text(_) if !text_done => {
                text_done = true;
                if pieces.is_empty() {
                    continue;
                }
                out.push(
                    Obj::new()
                        .set("type", "content_block_start")
                        .set("index", index)
                        .set(
                            "content_block",
                            Obj::new().set("type", "text").set("text", ""),
                        ),
                );
                for p in pieces {
                    out.push(
                        Obj::new()
                            .set("type", "content_block_delta")
                            .set("index", index)
                            .set(
                                "delta",
                                Obj::new().set("type", "text_delta").set("text", p.as_str()),
                            ),
                    );
                }
                out.push(
                    Obj::new()
                        .set("type", "content_block_stop")
                        .set("index", index),
                );
                index += 1;
            }
            Block::ToolUse { name, input, .. } => {
                out.push(
                    Obj::new()
                        .set("type", "content_block_start")
                        .set("index", index)
                        .set(
                            "content_block",
                            Obj::new()
                                .set("type", "tool_use")
                                .set("id", tool_id(seed, i))
                                .set("name", name.as_str())
                                .set("input", Obj::new()),
                        ),
                );
                out.push(
                    Obj::new()
                        .set("type", "content_block_delta")
                        .set("index", index)
                        .set(
                            "delta",
                            Obj::new()
                                .set("type", "input_json_delta")
                                .set("partial_json", input.to_string()),
                        ),
                );
                out.push(
                    Obj::new()
                        .set("type", "content_block_stop")
                        .set("index", index),
                );
                index += 1;
            }
            _ => {}
        }
    }
    out.push(
        Obj::new()
            .set("type", "message_delta")
            .set(
                "delta",
                Obj::new()
                    .set("stop_reason", stop_reason(c.stop_reason))
                    .set("stop_sequence", stop_sequence(c)),
            )
            .set(
                "usage",
                Obj::new().set("output_tokens", c.usage.output_tokens),
            ),
    );
    out.push(Obj::new().set("type", "message_stop"));
    with_metrics(out, c)
}
