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

use serde::Deserialize;
use serde_json::{Map, Value};

use super::anthropic::clamp_u32;
use super::schema::{child, found_name, lenient, parse_object, Checker, Kind};
use super::{base64_len, json_text, tool_calls, with_metrics, NativeError};
use crate::output::{base62_id, null, Obj, J};
use crate::{
    Block, Completion, Message, ModelFamily, Prompt, Role, StopReason, ToolChoice, ToolSpec,
};

const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

/// The schema pass: every violation, in Bedrock's wording. An assistant's tool calls need
/// their `id` and `function` (with its `name`), as the tools do; a tool message needs the
/// `tool_call_id` it answers.
fn validate(obj: &Map<String, Value>) -> Checker {
    let mut c = Checker::new();
    c.keys("#", obj, &["messages"], None);
    if let Some(Value::Array(msgs)) = c.field("#", obj, "messages", Kind::Arr) {
        c.items("#/messages", msgs, Some(1), None);
        for (i, m) in msgs.iter().enumerate() {
            let p = child("#/messages", i);
            let Some(m) = c.object(&p, m) else { continue };
            c.keys(&p, m, &["role"], None);
            if let Some(r) = c.field(&p, m, "role", Kind::Str) {
                if c.one_of(&child(&p, "role"), r, ROLES) && r == "tool" {
                    c.keys(&p, m, &["tool_call_id"], None);
                }
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
            if let Some(Value::Array(calls)) = c.field(&p, m, "tool_calls", Kind::Arr) {
                for (k, call) in calls.iter().enumerate() {
                    let cp = child(&child(&p, "tool_calls"), k);
                    let Some(call) = c.object(&cp, call) else {
                        continue;
                    };
                    c.keys(&cp, call, &["id", "function"], None);
                    c.field(&cp, call, "id", Kind::Str);
                    if let Some(f) = c.object_field(&cp, call, "function") {
                        let fp = child(&cp, "function");
                        c.keys(&fp, f, &["name"], None);
                        c.field(&fp, f, "name", Kind::Str);
                    }
                }
            }
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
    if let Some(Value::Array(stops)) = c.field("#", obj, "stop", Kind::StrOrArr) {
        for (i, s) in stops.iter().enumerate() {
            c.kind(&child("#/stop", i), s, Kind::Str);
        }
    }
    if let Some(Value::Array(tools)) = c.field("#", obj, "tools", Kind::Arr) {
        for (i, t) in tools.iter().enumerate() {
            let p = child("#/tools", i);
            let Some(t) = c.object(&p, t) else { continue };
            c.keys(&p, t, &["function"], None);
            if let Some(f) = c.object_field(&p, t, "function") {
                let fp = child(&p, "function");
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
            Value::Object(tc) => {
                if let Some(f) = c.object_field("#/tool_choice", tc, "function") {
                    let fp = "#/tool_choice/function";
                    c.keys(fp, f, &["name"], None);
                    c.field(fp, f, "name", Kind::Str);
                }
            }
            other => c.push(
                "#/tool_choice",
                format_args!(
                    "expected type: String or JSONObject, found: {}",
                    found_name(other)
                ),
            ),
        }
    }
    c
}

/// The request, as [`validate`] guarantees it (unknown keys are ignored; members it does not
/// check are read with [`lenient`]).
#[derive(Deserialize)]
struct Request {
    messages: Vec<ChatMessage>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop: Option<Stop>,
    #[serde(default)]
    tools: Vec<Tool>,
    tool_choice: Option<Choice>,
}

/// A message, by role. `content` is a string or a list of parts (strings, `text` and
/// `image_url` parts; others are ignored), `null` for an assistant turn that only calls tools.
#[derive(Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum ChatMessage {
    System {
        #[serde(default)]
        content: Value,
    },
    Developer {
        #[serde(default)]
        content: Value,
    },
    User {
        #[serde(default)]
        content: Value,
    },
    Assistant {
        #[serde(default)]
        content: Value,
        #[serde(default)]
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        #[serde(default)]
        content: Value,
        tool_call_id: String,
    },
}

#[derive(Deserialize)]
struct ToolCall {
    id: String,
    function: CalledFunction,
}

#[derive(Deserialize)]
struct CalledFunction {
    name: String,
    /// JSON text (as OpenAI sends it) or a JSON value.
    arguments: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Tool {
    function: Function,
}

#[derive(Deserialize)]
struct Function {
    name: String,
    #[serde(default, deserialize_with = "lenient")]
    description: Option<String>,
    parameters: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Choice {
    Mode(String),
    Named { function: Option<ChosenFunction> },
}

#[derive(Deserialize)]
struct ChosenFunction {
    name: String,
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
            let b64 = meta.ends_with(";base64").then(|| data.to_string());
            return Ok(Block::Image {
                format,
                bytes_len,
                data: b64,
            });
        }
    }
    Ok(Block::Image {
        format: "url".to_string(),
        bytes_len: 0,
        data: None,
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
    let req: Request = validate(&obj).parse(obj)?;
    let mut prompt = Prompt::default();
    for (i, m) in req.messages.into_iter().enumerate() {
        let path = format!("#/messages/{i}/content");
        match m {
            ChatMessage::System { content } | ChatMessage::Developer { content } => {
                let t = content_text(&content);
                if !t.is_empty() {
                    prompt.system.push(t);
                }
            }
            ChatMessage::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks: Vec<Block> = content_blocks(&content, &path)?
                    .into_iter()
                    .filter(|b| !matches!(b, Block::Text(t) if t.is_empty()))
                    .collect();
                for call in tool_calls {
                    let input = match call.function.arguments {
                        Some(Value::String(s)) => {
                            serde_json::from_str(&s).unwrap_or(Value::String(s))
                        }
                        Some(other) => other,
                        None => Value::Object(Map::new()),
                    };
                    blocks.push(Block::ToolUse {
                        id: call.id,
                        name: call.function.name,
                        input,
                    });
                }
                prompt.messages.push(Message {
                    role: Role::Assistant,
                    content: blocks,
                });
            }
            ChatMessage::Tool {
                content,
                tool_call_id,
            } => {
                let result = Block::ToolResult {
                    tool_use_id: tool_call_id,
                    content: vec![Block::Text(match &content {
                        Value::String(_) | Value::Array(_) => content_text(&content),
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
            ChatMessage::User { content } => prompt.messages.push(Message {
                role: Role::User,
                content: content_blocks(&content, &path)?,
            }),
        }
    }
    prompt.max_tokens = req.max_tokens.or(req.max_completion_tokens).map(clamp_u32);
    prompt.temperature = req.temperature.map(|x| x as f32);
    prompt.top_p = req.top_p.map(|x| x as f32);
    prompt.stop_sequences = match req.stop {
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) => v,
        None => Vec::new(),
    };
    prompt.tools = req
        .tools
        .into_iter()
        .map(|t| ToolSpec {
            name: t.function.name,
            description: t.function.description,
            input_schema: t
                .function
                .parameters
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
        })
        .collect();
    prompt.tool_choice = match req.tool_choice {
        Some(Choice::Mode(s)) => match s.as_str() {
            "none" => ToolChoice::None,
            "any" | "required" => ToolChoice::Any,
            _ => ToolChoice::Auto,
        },
        Some(Choice::Named { function: Some(f) }) => ToolChoice::Tool(f.name),
        Some(Choice::Named { function: None }) | None => ToolChoice::Auto,
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

pub(super) fn completion_id(seed: &str) -> String {
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

pub(super) fn usage(c: &Completion) -> Obj {
    Obj::new()
        .set("prompt_tokens", c.usage.input_tokens)
        .set("completion_tokens", c.usage.output_tokens)
        .set("total_tokens", c.usage.total())
}

/// The chat completion object.
pub(crate) fn encode(family: ModelFamily, model_id: &str, c: &Completion, request_id: &str) -> Obj {
    encode_at(family, model_id, c, request_id, 0)
}

/// The chat completion object, `created` at the given Unix time (InvokeModel's bodies carry 0).
pub(super) fn encode_at(
    family: ModelFamily,
    model_id: &str,
    c: &Completion,
    request_id: &str,
    created: u64,
) -> Obj {
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
            .set("created", created)
            .set("model", model_id)
    };
    o.set("choices", vec![choice]).set("usage", usage(c))
}

/// Stream. OpenAI form: [`openai_chunks`], the final one also carrying `usage`. Mistral
/// chat: `choices[0].message` pieces with `stop_reason: null`, the final one carrying the
/// reason (and the tool calls).
pub(crate) fn stream(
    family: ModelFamily,
    model_id: &str,
    c: &Completion,
    pieces: &[String],
    seed: &str,
) -> Vec<Obj> {
    if family != ModelFamily::MistralChat {
        let mut out = openai_chunks(family, model_id, c, pieces, seed, 0);
        if let Some(last) = out.pop() {
            out.push(last.set("usage", usage(c)));
        }
        return with_metrics(out, c);
    }
    let id = completion_id(seed);
    let reason = finish_reason(c.stop_reason);
    let head = |choice: Obj| chunk_head(&id, model_id, 0).set("choices", vec![choice]);
    let mut out = Vec::new();
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
    with_metrics(out, c)
}

/// A chunk's leading members: `id`, `object`, `created`, `model` (`choices` follows).
pub(super) fn chunk_head(id: &str, model_id: &str, created: u64) -> Obj {
    Obj::new()
        .set("id", id)
        .set("object", "chat.completion.chunk")
        .set("created", created)
        .set("model", model_id)
}

/// The OpenAI form's chunks, usage-free: a role chunk, one per piece, one with the tool
/// calls, a final one with `finish_reason`.
pub(super) fn openai_chunks(
    family: ModelFamily,
    model_id: &str,
    c: &Completion,
    pieces: &[String],
    seed: &str,
    created: u64,
) -> Vec<Obj> {
    let id = completion_id(seed);
    let reason = finish_reason(c.stop_reason);
    let head = |choice: Obj| chunk_head(&id, model_id, created).set("choices", vec![choice]);
    let mut out = Vec::new();
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
    out.push(head(
        Obj::new()
            .set("index", 0u32)
            .set("delta", Obj::new())
            .set("finish_reason", reason),
    ));
    out
}
