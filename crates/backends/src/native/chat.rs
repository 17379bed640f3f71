//! Chat-completions dialects: Mistral chat (Large 2407+, Pixtral, Large 3),
//! OpenAI gpt-oss, Qwen, AI21 Jamba.
//!
//! Request: `{"messages":[{"role":"system|developer|user|assistant|tool","content":…}],
//! "max_tokens"|"max_completion_tokens","temperature","top_p","stop","tools","tool_choice"}`
//! (unknown keys are ignored).
//!
//! Response (OpenAI form): `{"id":"chatcmpl-…","object":"chat.completion","created":0,"model",
//! "choices":[{"index":0,"message":{"role":"assistant","content",…},"finish_reason"}],"usage"}`.
//! Mistral chat answers the same object and additionally repeats the reason as
//! `stop_reason` in the choice (AWS's Mistral docs name it `stop_reason`, while
//! clients observed against Bedrock read `finish_reason`; both are present).
//! AI21 Jamba answers `{"id","choices":[…],"usage"}`.

use serde_json::{Map, Value};

use super::anthropic::{clamp_u32, strings};
use super::schema::{child, found_name, parse_object, Checker, Kind};
use super::{base64_len, json_text, tool_calls, with_metrics, NativeError};
use crate::util::{base62_id, null, Obj, J};
use crate::{
    Block, Completion, Message, ModelFamily, Prompt, Role, StopReason, ToolChoice, ToolSpec,
};

const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

fn validate(obj: &Map<String, Value>) -> Result<(), NativeError> {
    let mut c = Checker::new();
    c.keys("#", obj, &["messages"], None);
    if let Some(Value::Array(msgs)) = c.field("#", obj, "messages", Kind::Arr) {
        c.items("#/messages", msgs, Some(1), None);
        for (i, m) in msgs.iter().enumerate() {
            let p = child("#/messages", i);
            if !c.kind(&p, m, Kind::Obj) {
                continue;
            }
            let m = m.as_object().expect("checked");
            c.keys(&p, m, &["role"], None);
            if let Some(r) = c.field(&p, m, "role", Kind::Str) {
                c.one_of(&child(&p, "role"), r, ROLES);
            }
            if let Some(v) = m.get("content") {
                if !(v.is_string() || v.is_array() || v.is_null()) {
                    c.push(
                        &child(&p, "content"),
                        format_args!(
                            "expected type: String or JSONArray, found: {}",
                            found_name(v)
                        ),
                    );
                }
            }
            c.field(&p, m, "tool_calls", Kind::Arr);
            c.field(&p, m, "tool_call_id", Kind::Str);
        }
    }
    c.number("#", obj, "max_tokens", Kind::Int, Some(1.0), None);
    c.number(
        "#",
        obj,
        "max_completion_tokens",
        Kind::Int,
        Some(1.0),
        None,
    );
    c.number("#", obj, "temperature", Kind::Num, Some(0.0), Some(2.0));
    c.number("#", obj, "top_p", Kind::Num, Some(0.0), Some(1.0));
    c.field("#", obj, "stop", Kind::StrOrArr);
    if let Some(Value::Array(tools)) = c.field("#", obj, "tools", Kind::Arr) {
        for (i, t) in tools.iter().enumerate() {
            let p = child("#/tools", i);
            if !c.kind(&p, t, Kind::Obj) {
                continue;
            }
            let t = t.as_object().expect("checked");
            c.keys(&p, t, &["function"], None);
            if let Some(f) = c.field(&p, t, "function", Kind::Obj) {
                let fp = child(&p, "function");
                let f = f.as_object().expect("checked");
                c.keys(&fp, f, &["name"], None);
                c.field(&fp, f, "name", Kind::Str);
                c.field(&fp, f, "parameters", Kind::Obj);
            }
        }
    }
    if let Some(tc) = obj.get("tool_choice") {
        match tc {
            Value::String(_) => {
                c.one_of("#/tool_choice", tc, &["auto", "none", "any", "required"]);
            }
            Value::Object(_) => {}
            other => c.push(
                "#/tool_choice",
                format_args!(
                    "expected type: String or JSONObject, found: {}",
                    found_name(other)
                ),
            ),
        }
    }
    c.finish()
}

fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.clone()),
                _ => p.get("text").and_then(Value::as_str).map(str::to_string),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn image_block(url: &str, path: &str) -> Result<Block, NativeError> {
    if let Some(rest) = url.strip_prefix("data:") {
        if let Some((meta, data)) = rest.split_once(',') {
            let mime = meta.split(';').next().unwrap_or_default();
            let format = mime.strip_prefix("image/").unwrap_or(mime).to_string();
            let bytes_len = if meta.ends_with(";base64") {
                base64_len(data, path)?
            } else {
                data.len()
            };
            return Ok(Block::Image { format, bytes_len });
        }
    }
    Ok(Block::Image {
        format: "url".to_string(),
        bytes_len: 0,
    })
}

fn content_blocks(v: &Value, path: &str) -> Result<Vec<Block>, NativeError> {
    Ok(match v {
        Value::String(s) => vec![Block::Text(s.clone())],
        Value::Array(parts) => {
            let mut out = Vec::new();
            for (k, p) in parts.iter().enumerate() {
                let pp = format!("{path}/{k}");
                match p.get("type").and_then(Value::as_str) {
                    Some("image_url") => {
                        let url = match p.get("image_url") {
                            Some(Value::String(s)) => s.as_str(),
                            Some(o) => o.get("url").and_then(Value::as_str).unwrap_or_default(),
                            None => "",
                        };
                        out.push(image_block(url, &format!("{pp}/image_url/url"))?);
                    }
                    _ => match p {
                        Value::String(s) => out.push(Block::Text(s.clone())),
                        _ => {
                            if let Some(t) = p.get("text").and_then(Value::as_str) {
                                out.push(Block::Text(t.to_string()));
                            }
                        }
                    },
                }
            }
            out
        }
        _ => Vec::new(),
    })
}

/// Decode a chat-completions request body.
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    validate(&obj)?;
    let mut prompt = Prompt::default();
    for (i, m) in obj["messages"]
        .as_array()
        .expect("validated")
        .iter()
        .enumerate()
    {
        let content = m.get("content").unwrap_or(&Value::Null);
        let path = format!("#/messages/{i}/content");
        match m["role"].as_str().unwrap_or_default() {
            "system" | "developer" => {
                let t = content_text(content);
                if !t.is_empty() {
                    prompt.system.push(t);
                }
            }
            "assistant" => {
                let mut blocks: Vec<Block> = content_blocks(content, &path)?
                    .into_iter()
                    .filter(|b| !matches!(b, Block::Text(t) if t.is_empty()))
                    .collect();
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let f = call.get("function").unwrap_or(&Value::Null);
                    let input = match f.get("arguments") {
                        Some(Value::String(s)) => {
                            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
                        }
                        Some(other) => other.clone(),
                        None => Value::Object(Map::new()),
                    };
                    blocks.push(Block::ToolUse {
                        id: call
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        name: f
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        input,
                    });
                }
                prompt.messages.push(Message {
                    role: Role::Assistant,
                    content: blocks,
                });
            }
            "tool" => {
                let result = Block::ToolResult {
                    tool_use_id: m
                        .get("tool_call_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    content: vec![Block::Text(match content {
                        Value::String(_) | Value::Array(_) => content_text(content),
                        Value::Null => String::new(),
                        other => json_text(other),
                    })],
                    status: None,
                };
                match prompt.messages.last_mut() {
                    Some(last)
                        if last.role == Role::User
                            && last
                                .content
                                .iter()
                                .all(|b| matches!(b, Block::ToolResult { .. })) =>
                    {
                        last.content.push(result)
                    }
                    _ => prompt.messages.push(Message {
                        role: Role::User,
                        content: vec![result],
                    }),
                }
            }
            _ => prompt.messages.push(Message {
                role: Role::User,
                content: content_blocks(content, &path)?,
            }),
        }
    }
    prompt.max_tokens = obj
        .get("max_tokens")
        .or_else(|| obj.get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .map(clamp_u32);
    prompt.temperature = obj
        .get("temperature")
        .and_then(Value::as_f64)
        .map(|x| x as f32);
    prompt.top_p = obj.get("top_p").and_then(Value::as_f64).map(|x| x as f32);
    prompt.stop_sequences = strings(obj.get("stop"));
    prompt.tools =
        obj.get("tools")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t.get("function"))
                    .map(|f| ToolSpec {
                        name: f
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        description: f
                            .get("description")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        input_schema: f.get("parameters").cloned().unwrap_or_else(
                            || serde_json::json!({"type": "object", "properties": {}}),
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default();
    prompt.tool_choice = match obj.get("tool_choice") {
        Some(Value::String(s)) => match s.as_str() {
            "none" => ToolChoice::None,
            "any" | "required" => ToolChoice::Any,
            _ => ToolChoice::Auto,
        },
        Some(o @ Value::Object(_)) => {
            match o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
            {
                Some(name) => ToolChoice::Tool(name.to_string()),
                None => ToolChoice::Auto,
            }
        }
        _ => ToolChoice::Auto,
    };
    Ok(prompt)
}

fn finish_reason(r: StopReason) -> &'static str {
    match r {
        StopReason::EndTurn | StopReason::StopSequence => "stop",
        StopReason::MaxTokens => "length",
        StopReason::ToolUse => "tool_calls",
    }
}

fn completion_id(seed: &str) -> String {
    format!(
        "chatcmpl-{}",
        base62_id(&[seed.as_bytes(), b"chatcmpl"], 24)
    )
}

fn call_id(family: ModelFamily, seed: &str, index: usize) -> String {
    let index = index.to_string();
    let parts: [&[u8]; 3] = [seed.as_bytes(), b"call", index.as_bytes()];
    match family {
        // Mistral requires tool call ids of exactly 9 alphanumeric characters.
        ModelFamily::MistralChat => base62_id(&parts, 9),
        _ => format!("call_{}", base62_id(&parts, 24)),
    }
}

fn calls_json(family: ModelFamily, c: &Completion, seed: &str) -> Vec<Obj> {
    tool_calls(c)
        .into_iter()
        .map(|(i, name, input)| {
            Obj::new()
                .set("id", call_id(family, seed, i))
                .set("type", "function")
                .set(
                    "function",
                    Obj::new()
                        .set("name", name)
                        .set("arguments", input.to_string()),
                )
        })
        .collect()
}

fn message(family: ModelFamily, c: &Completion, seed: &str) -> Obj {
    let calls = calls_json(family, c, seed);
    let text = c.text();
    let content: J = if text.is_empty() && !calls.is_empty() {
        null()
    } else {
        text.into()
    };
    let m = Obj::new().set("role", "assistant").set("content", content);
    if calls.is_empty() {
        m
    } else {
        m.set("tool_calls", calls)
    }
}

fn usage(c: &Completion) -> Obj {
    Obj::new()
        .set("prompt_tokens", c.usage.input_tokens)
        .set("completion_tokens", c.usage.output_tokens)
        .set("total_tokens", c.usage.total())
}

/// The chat completion object.
pub(crate) fn encode(family: ModelFamily, model_id: &str, c: &Completion, request_id: &str) -> Obj {
    let reason = finish_reason(c.stop_reason);
    let mut choice = Obj::new()
        .set("index", 0u32)
        .set("message", message(family, c, request_id))
        .set("finish_reason", reason);
    if family == ModelFamily::MistralChat {
        choice = choice.set("stop_reason", reason);
    }
    let o = Obj::new().set("id", completion_id(request_id));
    let o = if family == ModelFamily::Ai21Jamba {
        o
    } else {
        o.set("object", "chat.completion")
            .set("created", 0u32)
            .set("model", model_id)
    };
    o.set("choices", vec![choice]).set("usage", usage(c))
}

/// Stream. OpenAI form: `chat.completion.chunk` objects with `delta`s (a role
/// chunk, one per piece, one with the tool calls, a final one with
/// `finish_reason` and `usage`). Mistral chat: `choices[0].message` pieces with
/// `stop_reason: null`, the final one carrying the reason (and the tool calls).
pub(crate) fn stream(
    family: ModelFamily,
    model_id: &str,
    c: &Completion,
    pieces: &[String],
    seed: &str,
) -> Vec<Obj> {
    let id = completion_id(seed);
    let reason = finish_reason(c.stop_reason);
    let head = |choice: Obj| {
        Obj::new()
            .set("id", id.as_str())
            .set("object", "chat.completion.chunk")
            .set("created", 0u32)
            .set("model", model_id)
            .set("choices", vec![choice])
    };
    let mut out = Vec::new();
    if family == ModelFamily::MistralChat {
        for p in pieces {
            out.push(head(
                Obj::new()
                    .set("index", 0u32)
                    .set(
                        "message",
                        Obj::new()
                            .set("role", "assistant")
                            .set("content", p.as_str()),
                    )
                    .set("stop_reason", null())
                    .set("finish_reason", null()),
            ));
        }
        let calls = calls_json(family, c, seed);
        let mut msg = Obj::new().set("role", "assistant").set("content", "");
        if !calls.is_empty() {
            msg = msg.set("tool_calls", calls);
        }
        out.push(
            head(
                Obj::new()
                    .set("index", 0u32)
                    .set("message", msg)
                    .set("stop_reason", reason)
                    .set("finish_reason", reason),
            )
            .set("usage", usage(c)),
        );
        return with_metrics(out, c);
    }
    out.push(head(
        Obj::new()
            .set("index", 0u32)
            .set(
                "delta",
                Obj::new().set("role", "assistant").set("content", ""),
            )
            .set("finish_reason", null()),
    ));
    for p in pieces {
        out.push(head(
            Obj::new()
                .set("index", 0u32)
                .set("delta", Obj::new().set("content", p.as_str()))
                .set("finish_reason", null()),
        ));
    }
    let calls: Vec<Obj> = tool_calls(c)
        .into_iter()
        .enumerate()
        .map(|(k, (i, name, input))| {
            Obj::new()
                .set("index", k)
                .set("id", call_id(family, seed, i))
                .set("type", "function")
                .set(
                    "function",
                    Obj::new()
                        .set("name", name)
                        .set("arguments", input.to_string()),
                )
        })
        .collect();
    if !calls.is_empty() {
        out.push(head(
            Obj::new()
                .set("index", 0u32)
                .set("delta", Obj::new().set("tool_calls", calls))
                .set("finish_reason", null()),
        ));
    }
    out.push(
        head(
            Obj::new()
                .set("index", 0u32)
                .set("delta", Obj::new())
                .set("finish_reason", reason),
        )
        .set("usage", usage(c)),
    );
    with_metrics(out, c)
}
