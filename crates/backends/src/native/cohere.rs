//! Cohere: Command R / R+ (chat), legacy Command (generate), and Embed v3/v4.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::anthropic::clamp_u32;
use super::schema::{child, lenient, parse_object, Checker, Kind};
use super::{json_text, tool_calls, with_metrics, NativeError, NativeRequest};
use crate::output::{hex_id, uuid_id, Obj, J};
use crate::{Block, Completion, Embedding, Message, Prompt, Role, StopReason, ToolSpec};

const R_ALLOWED: &[&str] = &[
    "message",
    "chat_history",
    "documents",
    "search_queries_only",
    "preamble",
    "max_tokens",
    "temperature",
    "p",
    "k",
    "prompt_truncation",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "return_prompt",
    "tools",
    "tool_results",
    "stop_sequences",
    "raw_prompting",
];

fn check_sampling(c: &mut Checker, obj: &Map<String, Value>) {
    c.number("#", obj, "max_tokens", Kind::Int, Some(1.0), None);
    c.number("#", obj, "temperature", Kind::Num, Some(0.0), Some(5.0));
    c.number("#", obj, "p", Kind::Num, Some(0.0), Some(1.0));
    c.number("#", obj, "k", Kind::Int, Some(0.0), Some(500.0));
    c.string_array("#", obj, "stop_sequences");
}

/// Cohere `parameter_definitions` → JSON schema.
fn schema_of(defs: Option<&Map<String, Value>>) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    if let Some(defs) = defs {
        for (name, d) in defs {
            let ty = match d.get("type").and_then(Value::as_str).unwrap_or("str") {
                "int" => "integer",
                "float" | "number" => "number",
                "bool" => "boolean",
                t if t.starts_with("List") || t.starts_with("list") => "array",
                t if t.starts_with("Dict") || t.starts_with("dict") => "object",
                _ => "string",
            };
            let mut p = Map::new();
            p.insert("type".into(), Value::from(ty));
            if let Some(desc) = d.get("description") {
                p.insert("description".into(), desc.clone());
            }
            props.insert(name.clone(), Value::Object(p));
            if d.get("required").and_then(Value::as_bool).unwrap_or(false) {
                required.push(Value::from(name.as_str()));
            }
        }
    }
    serde_json::json!({"type": "object", "properties": props, "required": required})
}

/// Sampling members shared by Command R and Command, as [`check_sampling`] guarantees them.
#[derive(Deserialize)]
struct Sampling {
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    p: Option<f64>,
    #[serde(default)]
    stop_sequences: Vec<String>,
}

impl Sampling {
    fn apply(self, prompt: &mut Prompt) {
        prompt.max_tokens = self.max_tokens.map(clamp_u32);
        prompt.temperature = self.temperature.map(|x| x as f32);
        prompt.top_p = self.p.map(|x| x as f32);
        prompt.stop_sequences = self.stop_sequences;
    }
}

/// The Command R request, as its checks guarantee it. `documents` are free-form objects.
#[derive(Deserialize)]
struct CommandR {
    message: String,
    preamble: Option<String>,
    #[serde(default)]
    chat_history: Vec<Turn>,
    #[serde(default)]
    documents: Vec<Value>,
    #[serde(default)]
    tools: Vec<RTool>,
    #[serde(default)]
    tool_results: Vec<RToolResult>,
    #[serde(flatten)]
    sampling: Sampling,
}

/// A `chat_history` entry: USER, CHATBOT and SYSTEM turns carry a `message`, TOOL turns their
/// `tool_results`.
#[derive(Deserialize)]
#[serde(tag = "role", rename_all = "UPPERCASE")]
enum Turn {
    User { message: String },
    Chatbot { message: String },
    System { message: String },
    Tool { tool_results: Value },
}

#[derive(Deserialize)]
struct RTool {
    name: String,
    #[serde(default, deserialize_with = "lenient")]
    description: Option<String>,
    parameter_definitions: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct RToolResult {
    call: RCall,
    outputs: Vec<Value>,
}

#[derive(Deserialize)]
struct RCall {
    name: String,
    parameters: Option<Value>,
}

/// Decode a Command R / R+ chat request body. A chat-history turn needs its `message` (its
/// `tool_results` for a TOOL turn) and a tool result the `name` of its call.
pub(crate) fn decode_command_r(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    c.keys("#", &obj, &["message"], Some(R_ALLOWED));
    c.field("#", &obj, "message", Kind::Str);
    c.field("#", &obj, "preamble", Kind::Str);
    check_sampling(&mut c, &obj);
    if let Some(Value::Array(h)) = c.field("#", &obj, "chat_history", Kind::Arr) {
        for (i, m) in h.iter().enumerate() {
            let p = child("#/chat_history", i);
            let Some(m) = c.object(&p, m) else { continue };
            c.keys(&p, m, &["role"], None);
            if let Some(r) = c.field(&p, m, "role", Kind::Str) {
                let roles = &["USER", "CHATBOT", "SYSTEM", "TOOL"];
                if c.one_of(&child(&p, "role"), r, roles) {
                    let needs = if r == "TOOL" {
                        "tool_results"
                    } else {
                        "message"
                    };
                    c.keys(&p, m, &[needs], None);
                }
            }
            c.field(&p, m, "message", Kind::Str);
        }
    }
    c.field("#", &obj, "documents", Kind::Arr);
    if let Some(Value::Array(tools)) = c.field("#", &obj, "tools", Kind::Arr) {
        for (i, t) in tools.iter().enumerate() {
            let p = child("#/tools", i);
            if let Some(t) = c.object(&p, t) {
                c.keys(&p, t, &["name"], None);
                c.field(&p, t, "name", Kind::Str);
                c.field(&p, t, "parameter_definitions", Kind::Obj);
            }
        }
    }
    if let Some(Value::Array(results)) = c.field("#", &obj, "tool_results", Kind::Arr) {
        for (i, r) in results.iter().enumerate() {
            let p = child("#/tool_results", i);
            if let Some(r) = c.object(&p, r) {
                c.keys(&p, r, &["call", "outputs"], None);
                if let Some(call) = c.object_field(&p, r, "call") {
                    let cp = child(&p, "call");
                    c.keys(&cp, call, &["name"], None);
                    c.field(&cp, call, "name", Kind::Str);
                }
                c.field(&p, r, "outputs", Kind::Arr);
            }
        }
    }
    let req: CommandR = c.parse(obj)?;

    let mut prompt = Prompt::default();
    if let Some(p) = req.preamble.filter(|p| !p.is_empty()) {
        prompt.system.push(p);
    }
    for turn in req.chat_history {
        match turn {
            Turn::Chatbot { message } => prompt.messages.push(Message::assistant(message)),
            Turn::System { message } => prompt.system.push(message),
            Turn::Tool { tool_results } => prompt
                .messages
                .push(Message::user(json_text(&tool_results))),
            Turn::User { message } => prompt.messages.push(Message::user(message)),
        }
    }
    let mut current = Vec::new();
    for (i, d) in req.documents.iter().enumerate() {
        let name = d
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("doc_{i}"));
        let text = d
            .get("snippet")
            .or_else(|| d.get("text"))
            .map(json_text)
            .unwrap_or_else(|| json_text(d));
        current.push(Block::Document {
            name,
            text,
            format: None,
            data: None,
        });
    }
    if !req.message.is_empty() {
        current.push(Block::Text(req.message));
    }
    if !current.is_empty() {
        prompt.messages.push(Message {
            role: Role::User,
            content: current,
        });
    }
    let mut calls = Vec::new();
    let mut outputs = Vec::new();
    for (i, r) in req.tool_results.into_iter().enumerate() {
        let id = format!("cohere_call_{i}");
        calls.push(Block::ToolUse {
            id: id.clone(),
            name: r.call.name,
            input: r
                .call
                .parameters
                .unwrap_or_else(|| Value::Object(Map::new())),
        });
        outputs.push(Block::ToolResult {
            tool_use_id: id,
            content: r
                .outputs
                .iter()
                .map(|o| Block::Text(json_text(o)))
                .collect(),
            status: None,
        });
    }
    if !calls.is_empty() {
        prompt.messages.push(Message {
            role: Role::Assistant,
            content: calls,
        });
        prompt.messages.push(Message {
            role: Role::User,
            content: outputs,
        });
    }
    prompt.tools = req
        .tools
        .into_iter()
        .map(|t| ToolSpec {
            input_schema: schema_of(t.parameter_definitions.as_ref()),
            name: t.name,
            description: t.description,
        })
        .collect();
    req.sampling.apply(&mut prompt);
    Ok(prompt)
}

fn r_finish_reason(r: StopReason) -> &'static str {
    match r {
        StopReason::MaxTokens => "MAX_TOKENS",
        StopReason::StopSequence => "STOP_SEQUENCE",
        StopReason::EndTurn | StopReason::ToolUse => "COMPLETE",
    }
}

fn r_tool_calls(c: &Completion) -> Vec<Obj> {
    tool_calls(c)
        .into_iter()
        .map(|(_, name, input)| Obj::new().set("name", name).set("parameters", input))
        .collect()
}

/// The Command R response: `{"response_id","text","generation_id","chat_history","finish_reason","tool_calls"?}`.
pub(crate) fn encode_command_r(prompt: &Prompt, c: &Completion, request_id: &str) -> Obj {
    let text = c.text();
    let mut history: Vec<Obj> = Vec::new();
    for m in &prompt.messages {
        let t = m.text();
        if t.is_empty() {
            continue;
        }
        let role = match m.role {
            Role::User => "USER",
            Role::Assistant => "CHATBOT",
        };
        history.push(Obj::new().set("role", role).set("message", t));
    }
    let calls = r_tool_calls(c);
    let mut last = Obj::new()
        .set("role", "CHATBOT")
        .set("message", text.as_str());
    if !calls.is_empty() {
        last = last.set("tool_calls", r_tool_calls(c));
    }
    history.push(last);
    let o = Obj::new()
        .set(
            "response_id",
            uuid_id(&[request_id.as_bytes(), b"response"]),
        )
        .set("text", text.as_str())
        .set(
            "generation_id",
            uuid_id(&[request_id.as_bytes(), b"generation"]),
        )
        .set("chat_history", history)
        .set("finish_reason", r_finish_reason(c.stop_reason));
    if calls.is_empty() {
        o
    } else {
        o.set("tool_calls", calls)
    }
}

/// Stream: `stream-start`, `text-generation` per piece, `tool-calls-generation`
/// when tools were called, `stream-end` with the response.
pub(crate) fn stream_command_r(c: &Completion, pieces: &[String], seed: &str) -> Vec<Obj> {
    let generation_id = uuid_id(&[seed.as_bytes(), b"generation"]);
    let mut out = vec![Obj::new()
        .set("is_finished", false)
        .set("event_type", "stream-start")
        .set("generation_id", generation_id.as_str())];
    for p in pieces {
        out.push(
            Obj::new()
                .set("is_finished", false)
                .set("event_type", "text-generation")
                .set("text", p.as_str()),
        );
    }
    let calls = r_tool_calls(c);
    if !calls.is_empty() {
        out.push(
            Obj::new()
                .set("is_finished", false)
                .set("event_type", "tool-calls-generation")
                .set("tool_calls", calls),
        );
    }
    let reason = r_finish_reason(c.stop_reason);
    let mut response = Obj::new()
        .set("response_id", uuid_id(&[seed.as_bytes(), b"response"]))
        .set("text", c.text())
        .set("generation_id", generation_id.as_str())
        .set("finish_reason", reason);
    let calls = r_tool_calls(c);
    if !calls.is_empty() {
        response = response.set("tool_calls", calls);
    }
    out.push(
        Obj::new()
            .set("is_finished", true)
            .set("event_type", "stream-end")
            .set("response", response)
            .set("finish_reason", reason),
    );
    with_metrics(out, c)
}

/// Decode a legacy Command (generate) request body.
pub(crate) fn decode_command(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    c.keys(
        "#",
        &obj,
        &["prompt"],
        Some(&[
            "prompt",
            "temperature",
            "p",
            "k",
            "max_tokens",
            "stop_sequences",
            "return_likelihoods",
            "stream",
            "num_generations",
            "logit_bias",
            "truncate",
        ]),
    );
    c.field("#", &obj, "prompt", Kind::Str);
    check_sampling(&mut c, &obj);
    if let Some(v) = c.field("#", &obj, "return_likelihoods", Kind::Str) {
        c.one_of("#/return_likelihoods", v, &["GENERATION", "ALL", "NONE"]);
    }
    if let Some(v) = c.field("#", &obj, "truncate", Kind::Str) {
        c.one_of("#/truncate", v, &["NONE", "START", "END"]);
    }
    c.number(
        "#",
        &obj,
        "num_generations",
        Kind::Int,
        Some(1.0),
        Some(5.0),
    );
    c.field("#", &obj, "stream", Kind::Bool);
    c.field("#", &obj, "logit_bias", Kind::Obj);
    let req: Command = c.parse(obj)?;
    let mut prompt = Prompt {
        messages: vec![Message::user(req.prompt)],
        ..Prompt::default()
    };
    req.sampling.apply(&mut prompt);
    Ok(prompt)
}

/// The legacy Command request, as its checks guarantee it.
#[derive(Deserialize)]
struct Command {
    prompt: String,
    #[serde(flatten)]
    sampling: Sampling,
}

fn legacy_reason(r: StopReason) -> &'static str {
    match r {
        StopReason::MaxTokens => "MAX_TOKENS",
        _ => "COMPLETE",
    }
}

/// `{"id","generations":[{"id","text","finish_reason"}],"prompt"}`.
pub(crate) fn encode_command(prompt: &Prompt, c: &Completion, request_id: &str) -> Obj {
    let original = prompt
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(Message::text)
        .unwrap_or_default();
    Obj::new()
        .set("id", uuid_id(&[request_id.as_bytes(), b"id"]))
        .set(
            "generations",
            vec![Obj::new()
                .set("id", uuid_id(&[request_id.as_bytes(), b"generation"]))
                .set("text", c.text())
                .set("finish_reason", legacy_reason(c.stop_reason))],
        )
        .set("prompt", original)
}

/// Stream: `{"text","is_finished":false}` per piece, then
/// `{"is_finished":true,"finish_reason",…}` with the whole generation.
pub(crate) fn stream_command(c: &Completion, pieces: &[String], seed: &str) -> Vec<Obj> {
    let mut out: Vec<Obj> = pieces
        .iter()
        .map(|p| Obj::new().set("text", p.as_str()).set("is_finished", false))
        .collect();
    let reason = legacy_reason(c.stop_reason);
    out.push(
        Obj::new()
            .set("is_finished", true)
            .set("finish_reason", reason)
            .set(
                "response",
                Obj::new()
                    .set("id", uuid_id(&[seed.as_bytes(), b"id"]))
                    .set(
                        "generations",
                        vec![Obj::new()
                            .set("id", uuid_id(&[seed.as_bytes(), b"generation"]))
                            .set("text", c.text())
                            .set("finish_reason", reason)],
                    ),
            ),
    );
    with_metrics(out, c)
}

/// Which Cohere Embed model a body is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EmbedVariant {
    Any,
    V3,
    V4,
}

const EMBED_TYPES: &[&str] = &["float", "int8", "uint8", "binary", "ubinary"];

/// Decode a Cohere Embed request body.
pub(crate) fn decode_embed(
    body: &[u8],
    variant: EmbedVariant,
) -> Result<NativeRequest, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    let allowed: &[&str] = match variant {
        EmbedVariant::V3 => &[
            "texts",
            "images",
            "input_type",
            "truncate",
            "embedding_types",
        ],
        EmbedVariant::V4 | EmbedVariant::Any => &[
            "texts",
            "images",
            "input_type",
            "truncate",
            "embedding_types",
            "output_dimension",
            "max_tokens",
            "inputs",
        ],
    };
    c.keys("#", &obj, &["input_type"], Some(allowed));
    if !["texts", "images", "inputs"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        c.push("#", "required key [texts] not found");
    }
    if let Some(Value::Array(texts)) = c.field("#", &obj, "texts", Kind::Arr) {
        c.items("#/texts", texts, Some(1), Some(96));
        for (i, t) in texts.iter().enumerate() {
            c.kind(&child("#/texts", i), t, Kind::Str);
        }
    }
    if let Some(Value::Array(images)) = c.field("#", &obj, "images", Kind::Arr) {
        c.items("#/images", images, Some(1), Some(96));
        for (i, t) in images.iter().enumerate() {
            c.kind(&child("#/images", i), t, Kind::Str);
        }
    }
    if let Some(Value::Array(inputs)) = c.field("#", &obj, "inputs", Kind::Arr) {
        c.items("#/inputs", inputs, Some(1), Some(96));
    }
    if let Some(v) = c.field("#", &obj, "input_type", Kind::Str) {
        c.one_of(
            "#/input_type",
            v,
            &[
                "search_document",
                "search_query",
                "classification",
                "clustering",
                "image",
            ],
        );
    }
    if let Some(v) = c.field("#", &obj, "truncate", Kind::Str) {
        c.one_of("#/truncate", v, &["NONE", "START", "END", "LEFT", "RIGHT"]);
    }
    if let Some(Value::Array(types)) = c.field("#", &obj, "embedding_types", Kind::Arr) {
        // Each type is rendered for every text: a repeated type would repeat the whole answer.
        c.unique_items("#/embedding_types", types);
        for (i, t) in types.iter().enumerate() {
            c.one_of(&child("#/embedding_types", i), t, EMBED_TYPES);
        }
    }
    if let Some(d) = c.field("#", &obj, "output_dimension", Kind::Int) {
        if !matches!(d.as_u64(), Some(256 | 512 | 1024 | 1536)) {
            c.push(
                "#/output_dimension",
                format_args!("{d} is not a valid enum value"),
            );
        }
    }
    c.number("#", &obj, "max_tokens", Kind::Int, Some(1.0), None);
    let req: Embed = c.parse(obj)?;

    let texts: Vec<String> = if let Some(texts) = req.texts {
        texts
    } else if let Some(images) = req.images {
        images
            .iter()
            .map(|i| format!("image:{}", hex_id(&[i.as_bytes()], 16)))
            .collect()
    } else {
        req.inputs
            .iter()
            .map(|input| {
                input
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|part| match part.get("text").and_then(Value::as_str) {
                        Some(t) => t.to_string(),
                        None => format!("image:{}", hex_id(&[part.to_string().as_bytes()], 16)),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    Ok(NativeRequest::Embedding {
        texts,
        dimensions: req.output_dimension.map(|d| d as usize),
        normalize: true,
        input_type: Some(req.input_type),
    })
}

/// The Embed request, as its checks guarantee it. `inputs` (Embed v4) are free-form: each
/// one's `content` parts are texts or images.
#[derive(Deserialize)]
struct Embed {
    texts: Option<Vec<String>>,
    images: Option<Vec<String>>,
    #[serde(default)]
    inputs: Vec<Value>,
    input_type: String,
    output_dimension: Option<u64>,
}

fn quantize(v: &[f32], ty: &str) -> Value {
    let bits = |signed: bool| -> Value {
        Value::Array(
            v.chunks(8)
                .map(|chunk| {
                    let mut byte = 0u8;
                    for (i, x) in chunk.iter().enumerate() {
                        if *x > 0.0 {
                            byte |= 0x80 >> i;
                        }
                    }
                    if signed {
                        Value::from(byte as i8)
                    } else {
                        Value::from(byte)
                    }
                })
                .collect(),
        )
    };
    match ty {
        "int8" => Value::Array(
            v.iter()
                .map(|x| Value::from((x * 127.0).round().clamp(-128.0, 127.0) as i64))
                .collect(),
        ),
        "uint8" => Value::Array(
            v.iter()
                .map(|x| Value::from(((x + 1.0) * 127.5).round().clamp(0.0, 255.0) as i64))
                .collect(),
        ),
        "binary" => bits(true),
        _ => bits(false),
    }
}

/// `{"id","texts","embeddings":[[…]],"response_type":"embeddings_floats"}`, or with
/// embedding types `{"embeddings":{"float":[[…]],…},"response_type":"embeddings_by_type"}`.
pub(crate) fn encode_embed(
    embeddings: &[Embedding],
    texts: &[String],
    types: &[String],
    request_id: &str,
) -> Obj {
    let o = Obj::new()
        .set("id", uuid_id(&[request_id.as_bytes(), b"embed"]))
        .set(
            "texts",
            Value::Array(texts.iter().map(|t| Value::from(t.as_str())).collect()),
        );
    let floats = || -> J {
        J::A(
            embeddings
                .iter()
                .map(|e| J::from(e.vector.as_slice()))
                .collect(),
        )
    };
    if types.is_empty() {
        return o
            .set("embeddings", floats())
            .set("response_type", "embeddings_floats");
    }
    let mut by_type = Obj::new();
    for t in types {
        by_type = if t == "float" {
            by_type.set("float", floats())
        } else {
            by_type.set(
                t,
                Value::Array(embeddings.iter().map(|e| quantize(&e.vector, t)).collect()),
            )
        };
    }
    o.set("embeddings", by_type)
        .set("response_type", "embeddings_by_type")
}
