//! Amazon Nova (Micro, Lite, Pro, Premier): the `messages-v1` schema.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::anthropic::clamp_u32;
use super::schema::{child, lenient, parse_object, Checker, Kind};
use super::{base64_len, base64_text, json_text, with_metrics, NativeError};
use crate::output::Obj;
use crate::{Block, Completion, Message, Prompt, Role, ToolChoice, ToolSpec};

const ALLOWED: &[&str] = &[
    "schemaVersion",
    "system",
    "messages",
    "inferenceConfig",
    "toolConfig",
];
const INFERENCE: &[&str] = &[
    "max_new_tokens",
    "maxTokens",
    "temperature",
    "top_p",
    "topP",
    "top_k",
    "topK",
    "stopSequences",
    "reasoningConfig",
];
const BLOCK_KEYS: &[&str] = &[
    "text",
    "image",
    "video",
    "document",
    "toolUse",
    "toolResult",
    "reasoningContent",
    "cachePoint",
];

/// The schema pass: every violation, in Bedrock's wording. The members of a content block
/// that the model needs (an image's or video's `format` and `source`, a document's `format`,
/// `name` and `source`, the ids and names of tool uses and results, a reasoning text's
/// `text`) are required, as in the Converse shapes `messages-v1` mirrors.
fn validate(obj: &Map<String, Value>) -> Checker {
    let mut c = Checker::new();
    c.keys("#", obj, &["messages"], Some(ALLOWED));
    if let Some(v) = c.field("#", obj, "schemaVersion", Kind::Str) {
        c.one_of("#/schemaVersion", v, &["messages-v1"]);
    }
    if let Some(Value::Array(sys)) = c.field("#", obj, "system", Kind::Arr) {
        for (i, s) in sys.iter().enumerate() {
            let p = child("#/system", i);
            if let Some(s) = c.object(&p, s) {
                if !s.contains_key("cachePoint") {
                    c.keys(&p, s, &["text"], None);
                    c.field(&p, s, "text", Kind::Str);
                }
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
            if let Some(Value::Array(blocks)) = c.field(&p, m, "content", Kind::Arr) {
                let cp = child(&p, "content");
                for (j, b) in blocks.iter().enumerate() {
                    validate_block(&mut c, &child(&cp, j), b);
                }
            }
        }
    }
    if let Some(ic) = c.object_field("#", obj, "inferenceConfig") {
        let p = "#/inferenceConfig";
        c.keys(p, ic, &[], Some(INFERENCE));
        c.number(p, ic, "max_new_tokens", Kind::Int, Some(1.0), None);
        c.number(p, ic, "maxTokens", Kind::Int, Some(1.0), None);
        c.number(p, ic, "temperature", Kind::Num, Some(0.0), Some(1.0));
        c.number(p, ic, "top_p", Kind::Num, Some(0.0), Some(1.0));
        c.number(p, ic, "topP", Kind::Num, Some(0.0), Some(1.0));
        c.number(p, ic, "top_k", Kind::Int, Some(0.0), None);
        c.number(p, ic, "topK", Kind::Int, Some(0.0), None);
        c.string_array(p, ic, "stopSequences");
    }
    if let Some(tc) = c.object_field("#", obj, "toolConfig") {
        let p = "#/toolConfig";
        c.keys(p, tc, &["tools"], Some(&["tools", "toolChoice"]));
        if let Some(Value::Array(tools)) = c.field(p, tc, "tools", Kind::Arr) {
            for (i, t) in tools.iter().enumerate() {
                let tp = child("#/toolConfig/tools", i);
                let Some(t) = c.object(&tp, t) else { continue };
                if !t.contains_key("cachePoint") {
                    c.keys(&tp, t, &["toolSpec"], None);
                }
                if let Some(spec) = c.object_field(&tp, t, "toolSpec") {
                    let sp = child(&tp, "toolSpec");
                    c.keys(&sp, spec, &["name", "inputSchema"], None);
                    c.field(&sp, spec, "name", Kind::Str);
                    if let Some(schema) = c.object_field(&sp, spec, "inputSchema") {
                        c.keys(&child(&sp, "inputSchema"), schema, &["json"], None);
                    }
                }
            }
        }
        if let Some(choice) = c.object_field(p, tc, "toolChoice") {
            let cp = "#/toolConfig/toolChoice";
            c.field(cp, choice, "auto", Kind::Obj);
            c.field(cp, choice, "any", Kind::Obj);
            if let Some(tool) = c.object_field(cp, choice, "tool") {
                let tp = child(cp, "tool");
                c.keys(&tp, tool, &["name"], None);
                c.field(&tp, tool, "name", Kind::Str);
            }
        }
    }
    c
}

/// One content block of a message.
fn validate_block(c: &mut Checker, p: &str, b: &Value) {
    let Some(b) = c.object(p, b) else { return };
    c.keys(p, b, &[], Some(BLOCK_KEYS));
    c.field(p, b, "text", Kind::Str);
    c.field(p, b, "cachePoint", Kind::Obj);
    for (key, required) in [
        ("image", &["format", "source"][..]),
        ("video", &["format", "source"][..]),
        ("document", &["format", "name", "source"][..]),
    ] {
        if let Some(m) = c.object_field(p, b, key) {
            let mp = child(p, key);
            c.keys(&mp, m, required, None);
            c.field(&mp, m, "format", Kind::Str);
            c.field(&mp, m, "name", Kind::Str);
            c.field(&mp, m, "source", Kind::Obj);
        }
    }
    if let Some(tu) = c.object_field(p, b, "toolUse") {
        let tp = child(p, "toolUse");
        c.keys(&tp, tu, &["toolUseId", "name", "input"], None);
        c.field(&tp, tu, "toolUseId", Kind::Str);
        c.field(&tp, tu, "name", Kind::Str);
    }
    if let Some(tr) = c.object_field(p, b, "toolResult") {
        let tp = child(p, "toolResult");
        c.keys(&tp, tr, &["toolUseId", "content"], None);
        c.field(&tp, tr, "toolUseId", Kind::Str);
        c.field(&tp, tr, "content", Kind::Arr);
    }
    if let Some(rc) = c.object_field(p, b, "reasoningContent") {
        let rp = child(p, "reasoningContent");
        if let Some(rt) = c.object_field(&rp, rc, "reasoningText") {
            let tp = child(&rp, "reasoningText");
            c.keys(&tp, rt, &["text"], None);
            c.field(&tp, rt, "text", Kind::Str);
        }
    }
}

/// The `messages-v1` request, as [`validate`] guarantees it (members it does not check are
/// read with [`lenient`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    messages: Vec<RequestMessage>,
    #[serde(default)]
    system: Vec<SystemBlock>,
    inference_config: Option<Inference>,
    tool_config: Option<ToolConfig>,
}

#[derive(Deserialize)]
struct SystemBlock {
    /// Absent for a cache point.
    #[serde(default, deserialize_with = "lenient")]
    text: Option<String>,
}

#[derive(Deserialize)]
struct RequestMessage {
    role: Role,
    content: Vec<RequestBlock>,
}

/// A content block: an object with one of these members (the first present wins).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestBlock {
    text: Option<String>,
    image: Option<Media>,
    video: Option<Media>,
    document: Option<Document>,
    tool_use: Option<ToolUse>,
    tool_result: Option<ToolResult>,
    reasoning_content: Option<Reasoning>,
}

#[derive(Deserialize)]
struct Media {
    format: String,
    source: Source,
}

#[derive(Deserialize)]
struct Document {
    format: String,
    name: String,
    source: Source,
}

/// `bytes` (base64) or an `s3Location`, whose size is unknown here.
#[derive(Deserialize)]
struct Source {
    #[serde(default, deserialize_with = "lenient")]
    bytes: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse {
    tool_use_id: String,
    name: String,
    input: Value,
}

/// A tool result; its content parts are not in the schema pass: `text` and `json` parts are
/// read as such, a part that reads as a content block is one, a part that does not is kept as
/// its JSON text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolResult {
    tool_use_id: String,
    content: Vec<Value>,
    #[serde(default, deserialize_with = "lenient")]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reasoning {
    /// Absent when the reasoning is redacted.
    reasoning_text: Option<ReasoningText>,
}

#[derive(Deserialize)]
struct ReasoningText {
    text: String,
}

#[derive(Deserialize)]
struct Inference {
    max_new_tokens: Option<u64>,
    #[serde(rename = "maxTokens")]
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    #[serde(rename = "topP")]
    top_p_camel: Option<f64>,
    #[serde(default, rename = "stopSequences")]
    stop_sequences: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig {
    tools: Vec<Tool>,
    tool_choice: Option<Choice>,
}

/// A tool spec, or a cache point (no spec).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tool {
    tool_spec: Option<Spec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    name: String,
    #[serde(default, deserialize_with = "lenient")]
    description: Option<String>,
    input_schema: InputSchema,
}

#[derive(Deserialize)]
struct InputSchema {
    json: Value,
}

#[derive(Deserialize)]
struct Choice {
    any: Option<Map<String, Value>>,
    tool: Option<NamedTool>,
}

#[derive(Deserialize)]
struct NamedTool {
    name: String,
}

fn media_len(source: &Source, path: &str) -> Result<usize, NativeError> {
    match &source.bytes {
        Some(b) => base64_len(b, &format!("{path}/source/bytes")),
        None => Ok(0),
    }
}

fn convert_block(b: RequestBlock, path: &str) -> Result<Option<Block>, NativeError> {
    if let Some(t) = b.text {
        return Ok(Some(Block::Text(t)));
    }
    for (key, media) in [("image", b.image), ("video", b.video)] {
        if let Some(m) = media {
            let bytes_len = media_len(&m.source, &format!("{path}/{key}"))?;
            // Only an image's bytes go on to an upstream (video has no form there).
            let data = if key == "image" {
                m.source.bytes.clone()
            } else {
                None
            };
            return Ok(Some(Block::Image {
                format: m.format,
                bytes_len,
                data,
            }));
        }
    }
    if let Some(d) = b.document {
        let data = d.source.bytes.clone();
        let text = match (d.format.as_str(), &d.source.bytes) {
            ("txt" | "md" | "csv" | "html", Some(data)) => base64_text(data).unwrap_or_default(),
            (_, Some(data)) => {
                base64_len(data, &format!("{path}/document/source/bytes"))?;
                String::new()
            }
            _ => String::new(),
        };
        let name = if d.name.is_empty() {
            "document".to_string()
        } else {
            d.name
        };
        return Ok(Some(Block::Document {
            name,
            text,
            format: Some(d.format),
            data,
        }));
    }
    if let Some(tu) = b.tool_use {
        return Ok(Some(Block::ToolUse {
            id: tu.tool_use_id,
            name: tu.name,
            input: tu.input,
        }));
    }
    if let Some(tr) = b.tool_result {
        let mut content = Vec::new();
        for (k, part) in tr.content.into_iter().enumerate() {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                content.push(Block::Text(t.to_string()));
            } else if let Some(j) = part.get("json") {
                content.push(Block::Text(json_text(j)));
            } else {
                match RequestBlock::deserialize(&part) {
                    Ok(inner) => {
                        let inner_path = format!("{path}/toolResult/content/{k}");
                        content.extend(convert_block(inner, &inner_path)?);
                    }
                    Err(_) => content.push(Block::Text(json_text(&part))),
                }
            }
        }
        return Ok(Some(Block::ToolResult {
            tool_use_id: tr.tool_use_id,
            content,
            status: tr.status,
        }));
    }
    if let Some(rc) = b.reasoning_content {
        let text = rc.reasoning_text.map(|r| r.text).unwrap_or_default();
        return Ok(Some(Block::Reasoning(text)));
    }
    Ok(None)
}

/// Decode a Nova `messages-v1` request body.
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let req: Request = validate(&obj).parse(obj)?;
    let mut messages = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.into_iter().enumerate() {
        let mut content = Vec::with_capacity(m.content.len());
        for (j, b) in m.content.into_iter().enumerate() {
            if let Some(b) = convert_block(b, &format!("#/messages/{i}/content/{j}"))? {
                content.push(b);
            }
        }
        messages.push(Message {
            role: m.role,
            content,
        });
    }
    let system = req.system.into_iter().filter_map(|s| s.text).collect();
    let (tools, tool_choice) = match req.tool_config {
        Some(tc) => (
            tc.tools
                .into_iter()
                .filter_map(|t| t.tool_spec)
                .map(|s| ToolSpec {
                    name: s.name,
                    description: s.description,
                    input_schema: s.input_schema.json,
                })
                .collect(),
            match tc.tool_choice {
                Some(Choice { any: Some(_), .. }) => ToolChoice::Any,
                Some(Choice { tool: Some(t), .. }) => ToolChoice::Tool(t.name),
                _ => ToolChoice::Auto,
            },
        ),
        None => (Vec::new(), ToolChoice::Auto),
    };
    let ic = req.inference_config;
    Ok(Prompt {
        system,
        messages,
        max_tokens: ic
            .as_ref()
            .and_then(|ic| ic.max_new_tokens.or(ic.max_tokens))
            .map(clamp_u32),
        temperature: ic.as_ref().and_then(|ic| ic.temperature).map(|x| x as f32),
        top_p: ic
            .as_ref()
            .and_then(|ic| ic.top_p.or(ic.top_p_camel))
            .map(|x| x as f32),
        stop_sequences: ic.map(|ic| ic.stop_sequences).unwrap_or_default(),
        tools,
        tool_choice,
        output_schema: None,
    })
}

fn usage(c: &Completion) -> Obj {
    Obj::new()
        .set("inputTokens", c.usage.input_tokens)
        .set("outputTokens", c.usage.output_tokens)
        .set("totalTokens", c.usage.total())
        .set("cacheReadInputTokenCount", 0u32)
        .set("cacheWriteInputTokenCount", 0u32)
}

/// The Nova response.
pub(crate) fn encode(c: &Completion) -> Obj {
    let content: Vec<Obj> = c
        .content
        .iter()
        .filter_map(|b| match b {
            Block::Text(t) => Some(Obj::new().set("text", t.as_str())),
            Block::ToolUse { id, name, input } => Some(
                Obj::new().set(
                    "toolUse",
                    Obj::new()
                        .set("toolUseId", id.as_str())
                        .set("name", name.as_str())
                        .set("input", input),
                ),
            ),
            Block::Reasoning(t) => Some(Obj::new().set(
                "reasoningContent",
                Obj::new().set("reasoningText", Obj::new().set("text", t.as_str())),
            )),
            _ => None,
        })
        .collect();
    Obj::new()
        .set(
            "output",
            Obj::new().set(
                "message",
                Obj::new().set("content", content).set("role", "assistant"),
            ),
        )
        .set("stopReason", c.stop_reason.as_converse())
        .set("usage", usage(c))
}

/// Stream: `messageStart`, `contentBlockStart`/`contentBlockDelta`/`contentBlockStop`,
/// `messageStop`, `metadata`.
pub(crate) fn stream(c: &Completion, pieces: &[String]) -> Vec<Obj> {
    let mut out = vec![Obj::new().set("messageStart", Obj::new().set("role", "assistant"))];
    let mut index = 0usize;
    let mut text_done = false;
    for b in &c.content {
        match b {
            Block::Text(_) if !text_done => {
                text_done = true;
                if pieces.is_empty() {
                    continue;
                }
                for p in pieces {
                    out.push(
                        Obj::new().set(
                            "contentBlockDelta",
                            Obj::new()
                                .set("delta", Obj::new().set("text", p.as_str()))
                                .set("contentBlockIndex", index),
                        ),
                    );
                }
                out.push(Obj::new().set(
                    "contentBlockStop",
                    Obj::new().set("contentBlockIndex", index),
                ));
                index += 1;
            }
            Block::ToolUse { id, name, input } => {
                out.push(
                    Obj::new().set(
                        "contentBlockStart",
                        Obj::new()
                            .set(
                                "start",
                                Obj::new().set(
                                    "toolUse",
                                    Obj::new()
                                        .set("toolUseId", id.as_str())
                                        .set("name", name.as_str()),
                                ),
                            )
                            .set("contentBlockIndex", index),
                    ),
                );
                out.push(
                    Obj::new().set(
                        "contentBlockDelta",
                        Obj::new()
                            .set(
                                "delta",
                                Obj::new()
                                    .set("toolUse", Obj::new().set("input", input.to_string())),
                            )
                            .set("contentBlockIndex", index),
                    ),
                );
                out.push(Obj::new().set(
                    "contentBlockStop",
                    Obj::new().set("contentBlockIndex", index),
                ));
                index += 1;
            }
            _ => {}
        }
    }
    out.push(Obj::new().set(
        "messageStop",
        Obj::new().set("stopReason", c.stop_reason.as_converse()),
    ));
    out.push(
        Obj::new().set(
            "metadata",
            Obj::new()
                .set("usage", usage(c))
                .set("metrics", Obj::new())
                .set("trace", Obj::new()),
        ),
    );
    with_metrics(out, c)
}
