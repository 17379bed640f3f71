//! Anthropic Claude: the Messages API as served by Bedrock
//! (`anthropic_version: bedrock-2023-05-31`).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::schema::{child, lenient, parse_object, Checker, Kind};
use super::{anthropic_model_name, base64_len, base64_text, json_text, with_metrics, NativeError};
use crate::output::{base62_id, null, Obj, J};
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
    // Structured output (Anthropic's native `output_config.format`, and `effort`).
    "output_config",
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

/// The schema pass: every violation, in Bedrock's wording.
fn validate(obj: &Map<String, Value>) -> Checker {
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
    if let Some(oc) = c.object_field("#", obj, "output_config") {
        c.keys("#/output_config", oc, &[], Some(&["format", "effort"]));
        c.field("#/output_config", oc, "effort", Kind::Str);
        if let Some(f) = c.object_field("#/output_config", oc, "format") {
            let p = "#/output_config/format";
            c.keys(p, f, &["type", "schema"], Some(&["type", "schema"]));
            if let Some(t) = c.field(p, f, "type", Kind::Str) {
                c.one_of("#/output_config/format/type", t, &["json_schema"]);
            }
            c.field(p, f, "schema", Kind::Obj);
        }
    }
    if let Some(Value::Array(sys)) = c.field("#", obj, "system", Kind::StrOrArr) {
        for (i, b) in sys.iter().enumerate() {
            let p = child("#/system", i);
            if let Some(b) = c.object(&p, b) {
                c.keys(&p, b, &["type", "text"], None);
                c.field(&p, b, "text", Kind::Str);
            }
        }
    }
    if let Some(Value::Array(msgs)) = c.field("#", obj, "messages", Kind::Arr) {
        for (i, m) in msgs.iter().enumerate() {
            let p = child("#/messages", i);
            let Some(m) = c.object(&p, m) else { continue };
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
            let Some(t) = c.object(&p, t) else { continue };
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
    if let Some(tc) = c.object_field("#", obj, "tool_choice") {
        c.keys("#/tool_choice", tc, &["type"], None);
        if let Some(t) = c.field("#/tool_choice", tc, "type", Kind::Str) {
            if c.one_of("#/tool_choice/type", t, &["auto", "any", "tool", "none"]) && t == "tool" {
                c.keys("#/tool_choice", tc, &["name"], None);
                c.field("#/tool_choice", tc, "name", Kind::Str);
            }
        }
    }
    c
}

fn validate_block(c: &mut Checker, p: &str, b: &Value) {
    let Some(b) = c.object(p, b) else { return };
    c.keys(p, b, &["type"], None);
    let Some(t) = c.field(p, b, "type", Kind::Str) else {
        return;
    };
    if !c.one_of(&child(p, "type"), t, BLOCK_TYPES) {
        return;
    }
    match t.as_str().unwrap_or("") {
        "text" => {
            c.keys(p, b, &["text"], None);
            c.field(p, b, "text", Kind::Str);
        }
        "image" | "document" => {
            c.keys(p, b, &["source"], None);
            if let Some(src) = c.object_field(p, b, "source") {
                let sp = child(p, "source");
                c.keys(&sp, src, &["type"], None);
                if let Some(st) = c.field(&sp, src, "type", Kind::Str) {
                    let allowed: &[&str] = if t == "image" {
                        &["base64", "url"]
                    } else {
                        &["base64", "text", "content", "url"]
                    };
                    if c.one_of(&child(&sp, "type"), st, allowed) {
                        // What each source type carries (a URL is not fetched).
                        match st.as_str().unwrap_or("") {
                            "base64" => {
                                c.keys(&sp, src, &["media_type", "data"], None);
                                c.field(&sp, src, "media_type", Kind::Str);
                                c.field(&sp, src, "data", Kind::Str);
                            }
                            "text" => {
                                c.keys(&sp, src, &["data"], None);
                                c.field(&sp, src, "data", Kind::Str);
                            }
                            "content" => {
                                c.keys(&sp, src, &["content"], None);
                                c.field(&sp, src, "content", Kind::StrOrArr);
                            }
                            _ => {}
                        }
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

/// The Messages request, as [`validate`] guarantees it (members it does not check are read
/// with [`lenient`]).
#[derive(Deserialize)]
struct Request {
    max_tokens: u64,
    messages: Vec<RequestMessage>,
    system: Option<System>,
    #[serde(default)]
    stop_sequences: Vec<String>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    #[serde(default)]
    tools: Vec<Tool>,
    tool_choice: Option<Choice>,
    output_config: Option<OutputConfig>,
}

#[derive(Deserialize)]
struct OutputConfig {
    format: Option<OutputFormat>,
}

#[derive(Deserialize)]
struct OutputFormat {
    schema: Value,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum System {
    Text(String),
    Blocks(Vec<SystemBlock>),
}

#[derive(Deserialize)]
struct SystemBlock {
    text: String,
}

#[derive(Deserialize)]
struct RequestMessage {
    role: Role,
    content: Content,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Blocks(Vec<RequestBlock>),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RequestBlock {
    Text {
        text: String,
    },
    Image {
        source: Source,
    },
    Document {
        #[serde(default, deserialize_with = "lenient")]
        title: Option<String>,
        source: Source,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Option<ResultContent>,
        is_error: Option<bool>,
    },
    Thinking {
        thinking: String,
    },
    RedactedThinking {},
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {},
    Text {
        data: String,
    },
    /// A string, or content blocks whose texts are the document's.
    Content {
        content: Value,
    },
}

/// A tool result's content. Its parts are not in the schema pass: a part that reads as a
/// text, image or document block is one, anything else is kept as its JSON text.
#[derive(Deserialize)]
#[serde(untagged)]
enum ResultContent {
    Text(String),
    Parts(Vec<Value>),
}

#[derive(Deserialize)]
struct Tool {
    name: String,
    description: Option<String>,
    /// Absent for server tools (computer use, bash, text editor).
    input_schema: Option<Value>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Choice {
    Auto {},
    Any {},
    Tool { name: String },
    None {},
}

fn image(source: &Source, path: &str) -> Result<Block, NativeError> {
    let (media, bytes_len) = match source {
        Source::Base64 { media_type, data } => (
            media_type.as_str(),
            base64_len(data, &format!("{path}/source/data"))?,
        ),
        _ => ("", 0),
    };
    let format = media.strip_prefix("image/").unwrap_or(media);
    let data = match source {
        Source::Base64 { data, .. } => Some(data.clone()),
        _ => None,
    };
    Ok(Block::Image {
        format: if format.is_empty() { "jpeg" } else { format }.to_string(),
        bytes_len,
        data,
    })
}

fn document(title: Option<String>, source: Source, path: &str) -> Result<Block, NativeError> {
    // A base64 PDF is kept for an upstream; text documents travel as their text.
    let pdf = match &source {
        Source::Base64 { media_type, data } if media_type == "application/pdf" => {
            Some(data.clone())
        }
        _ => None,
    };
    let text = match source {
        Source::Text { data } => data,
        Source::Base64 { media_type, data } if media_type.starts_with("text/") => {
            base64_text(&data).unwrap_or_default()
        }
        Source::Base64 { data, .. } => {
            base64_len(&data, &format!("{path}/source/data"))?;
            String::new()
        }
        Source::Content { content } => match content {
            Value::String(s) => s,
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        },
        Source::Url {} => String::new(),
    };
    Ok(Block::Document {
        name: title.unwrap_or_else(|| "document".to_string()),
        text,
        format: pdf.as_ref().map(|_| "pdf".to_string()),
        data: pdf,
    })
}

fn tool_result_part(part: Value, path: &str) -> Result<Block, NativeError> {
    let text = || Block::Text(json_text(&part));
    Ok(match RequestBlock::deserialize(&part) {
        Ok(RequestBlock::Text { text }) => Block::Text(text),
        Ok(RequestBlock::Image { source }) => image(&source, path)?,
        Ok(RequestBlock::Document { title, source }) => document(title, source, path)?,
        _ => text(),
    })
}

fn convert_block(b: RequestBlock, path: &str) -> Result<Option<Block>, NativeError> {
    Ok(Some(match b {
        RequestBlock::Text { text } => Block::Text(text),
        RequestBlock::Image { source } => image(&source, path)?,
        RequestBlock::Document { title, source } => document(title, source, path)?,
        RequestBlock::ToolUse { id, name, input } => Block::ToolUse { id, name, input },
        RequestBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            let content = match content {
                Some(ResultContent::Text(s)) => vec![Block::Text(s)],
                Some(ResultContent::Parts(parts)) => parts
                    .into_iter()
                    .enumerate()
                    .map(|(k, part)| tool_result_part(part, &format!("{path}/content/{k}")))
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            Block::ToolResult {
                tool_use_id,
                content,
                status: is_error.unwrap_or(false).then(|| "error".to_string()),
            }
        }
        RequestBlock::Thinking { thinking } => Block::Reasoning(thinking),
        RequestBlock::RedactedThinking {} => return Ok(None),
    }))
}

/// Decode an Anthropic Messages request body.
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let req: Request = validate(&obj).parse(obj)?;
    if req.messages.is_empty() {
        return Err(NativeError::Malformed(
            "messages: at least one message is required".to_string(),
        ));
    }
    let mut messages = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.into_iter().enumerate() {
        let content = match m.content {
            Content::Text(s) => vec![Block::Text(s)],
            Content::Blocks(blocks) => {
                let mut out = Vec::with_capacity(blocks.len());
                for (j, b) in blocks.into_iter().enumerate() {
                    if let Some(b) = convert_block(b, &format!("#/messages/{i}/content/{j}"))? {
                        out.push(b);
                    }
                }
                out
            }
        };
        messages.push(Message {
            role: m.role,
            content,
        });
    }
    let system = match req.system {
        Some(System::Text(s)) if !s.is_empty() => vec![s],
        Some(System::Blocks(blocks)) => blocks.into_iter().map(|b| b.text).collect(),
        _ => Vec::new(),
    };
    let tools = req
        .tools
        .into_iter()
        .map(|t| ToolSpec {
            name: t.name,
            description: t.description,
            input_schema: t
                .input_schema
                .unwrap_or_else(|| serde_json::json!({"type": "object"})),
        })
        .collect();
    let tool_choice = match req.tool_choice {
        Some(Choice::Any {}) => ToolChoice::Any,
        Some(Choice::Tool { name }) => ToolChoice::Tool(name),
        Some(Choice::None {}) => ToolChoice::None,
        Some(Choice::Auto {}) | None => ToolChoice::Auto,
    };
    Ok(Prompt {
        system,
        messages,
        max_tokens: Some(clamp_u32(req.max_tokens)),
        temperature: req.temperature.map(|x| x as f32),
        top_p: req.top_p.map(|x| x as f32),
        stop_sequences: req.stop_sequences,
        tools,
        tool_choice,
        output_schema: req
            .output_config
            .and_then(|oc| oc.format)
            .map(|f| crate::OutputSchema {
                name: None,
                description: None,
                schema: f.schema,
            }),
    })
}

pub(crate) fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
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
