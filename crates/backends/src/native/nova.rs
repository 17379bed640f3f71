//! Amazon Nova (Micro, Lite, Pro, Premier): the `messages-v1` schema.

use serde_json::{Map, Value};

use super::anthropic::{clamp_u32, strings};
use super::schema::{child, parse_object, Checker, Kind};
use super::{base64_len, base64_text, json_text, with_metrics, NativeError};
use crate::util::Obj;
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

fn validate(obj: &Map<String, Value>) -> Result<(), NativeError> {
    let mut c = Checker::new();
    c.keys("#", obj, &["messages"], Some(ALLOWED));
    if let Some(v) = c.field("#", obj, "schemaVersion", Kind::Str) {
        c.one_of("#/schemaVersion", v, &["messages-v1"]);
    }
    if let Some(Value::Array(sys)) = c.field("#", obj, "system", Kind::Arr) {
        for (i, s) in sys.iter().enumerate() {
            let p = child("#/system", i);
            if c.kind(&p, s, Kind::Obj) {
                let s = s.as_object().expect("checked");
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
            if !c.kind(&p, m, Kind::Obj) {
                continue;
            }
            let m = m.as_object().expect("checked");
            c.keys(&p, m, &["role", "content"], Some(&[]));
            if let Some(r) = c.field(&p, m, "role", Kind::Str) {
                c.one_of(&child(&p, "role"), r, &["user", "assistant"]);
            }
            if let Some(Value::Array(blocks)) = c.field(&p, m, "content", Kind::Arr) {
                let cp = child(&p, "content");
                for (j, b) in blocks.iter().enumerate() {
                    let bp = child(&cp, j);
                    if !c.kind(&bp, b, Kind::Obj) {
                        continue;
                    }
                    let b = b.as_object().expect("checked");
                    c.keys(&bp, b, &[], Some(BLOCK_KEYS));
                    c.field(&bp, b, "text", Kind::Str);
                    for k in [
                        "image",
                        "video",
                        "document",
                        "reasoningContent",
                        "cachePoint",
                    ] {
                        c.field(&bp, b, k, Kind::Obj);
                    }
                    if let Some(tu) = c.field(&bp, b, "toolUse", Kind::Obj) {
                        let tp = child(&bp, "toolUse");
                        let tu = tu.as_object().expect("checked");
                        c.keys(&tp, tu, &["toolUseId", "name", "input"], None);
                    }
                    if let Some(tr) = c.field(&bp, b, "toolResult", Kind::Obj) {
                        let tp = child(&bp, "toolResult");
                        let tr = tr.as_object().expect("checked");
                        c.keys(&tp, tr, &["toolUseId", "content"], None);
                        c.field(&tp, tr, "content", Kind::Arr);
                    }
                }
            }
        }
    }
    if let Some(ic) = c.field("#", obj, "inferenceConfig", Kind::Obj) {
        let ic = ic.as_object().expect("checked");
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
    if let Some(tc) = c.field("#", obj, "toolConfig", Kind::Obj) {
        let tc = tc.as_object().expect("checked");
        let p = "#/toolConfig";
        c.keys(p, tc, &["tools"], Some(&["tools", "toolChoice"]));
        if let Some(Value::Array(tools)) = c.field(p, tc, "tools", Kind::Arr) {
            for (i, t) in tools.iter().enumerate() {
                let tp = child("#/toolConfig/tools", i);
                if !c.kind(&tp, t, Kind::Obj) {
                    continue;
                }
                let t = t.as_object().expect("checked");
                if t.contains_key("cachePoint") {
                    continue;
                }
                c.keys(&tp, t, &["toolSpec"], None);
                if let Some(spec) = c.field(&tp, t, "toolSpec", Kind::Obj) {
                    let sp = child(&tp, "toolSpec");
                    let spec = spec.as_object().expect("checked");
                    c.keys(&sp, spec, &["name", "inputSchema"], None);
                    c.field(&sp, spec, "name", Kind::Str);
                    c.field(&sp, spec, "inputSchema", Kind::Obj);
                }
            }
        }
        c.field(p, tc, "toolChoice", Kind::Obj);
    }
    c.finish()
}

fn str_of<'a>(o: &'a Value, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn media_len(m: &Value, path: &str) -> Result<usize, NativeError> {
    match m
        .get("source")
        .and_then(|s| s.get("bytes"))
        .and_then(Value::as_str)
    {
        Some(b) => base64_len(b, &format!("{path}/source/bytes")),
        None => Ok(0),
    }
}

fn convert_block(b: &Value, path: &str) -> Result<Option<Block>, NativeError> {
    if let Some(t) = b.get("text").and_then(Value::as_str) {
        return Ok(Some(Block::Text(t.to_string())));
    }
    for key in ["image", "video"] {
        if let Some(m) = b.get(key) {
            let bytes_len = media_len(m, &format!("{path}/{key}"))?;
            return Ok(Some(Block::Image {
                format: str_of(m, "format").to_string(),
                bytes_len,
            }));
        }
    }
    if let Some(d) = b.get("document") {
        let format = str_of(d, "format");
        let data = d
            .get("source")
            .and_then(|s| s.get("bytes"))
            .and_then(Value::as_str);
        let text = match (format, data) {
            ("txt" | "md" | "csv" | "html", Some(data)) => base64_text(data).unwrap_or_default(),
            (_, Some(data)) => {
                base64_len(data, &format!("{path}/document/source/bytes"))?;
                String::new()
            }
            _ => String::new(),
        };
        let name = match str_of(d, "name") {
            "" => "document",
            n => n,
        };
        return Ok(Some(Block::Document {
            name: name.to_string(),
            text,
        }));
    }
    if let Some(tu) = b.get("toolUse") {
        return Ok(Some(Block::ToolUse {
            id: str_of(tu, "toolUseId").to_string(),
            name: str_of(tu, "name").to_string(),
            input: tu.get("input").cloned().unwrap_or(Value::Null),
        }));
    }
    if let Some(tr) = b.get("toolResult") {
        let mut content = Vec::new();
        for (k, part) in tr
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(t) = part.get("text").and_then(Value::as_str) {
                content.push(Block::Text(t.to_string()));
            } else if let Some(j) = part.get("json") {
                content.push(Block::Text(json_text(j)));
            } else if let Some(inner) =
                convert_block(part, &format!("{path}/toolResult/content/{k}"))?
            {
                content.push(inner);
            }
        }
        return Ok(Some(Block::ToolResult {
            tool_use_id: str_of(tr, "toolUseId").to_string(),
            content,
            status: tr.get("status").and_then(Value::as_str).map(str::to_string),
        }));
    }
    if let Some(rc) = b.get("reasoningContent") {
        let text = rc
            .get("reasoningText")
            .and_then(|r| r.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Ok(Some(Block::Reasoning(text.to_string())));
    }
    Ok(None)
}

/// Decode a Nova `messages-v1` request body.
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    validate(&obj)?;
    let mut messages = Vec::new();
    for (i, m) in obj["messages"]
        .as_array()
        .expect("validated")
        .iter()
        .enumerate()
    {
        let role = if m["role"] == "assistant" {
            Role::Assistant
        } else {
            Role::User
        };
        let mut content = Vec::new();
        for (j, b) in m["content"].as_array().into_iter().flatten().enumerate() {
            if let Some(b) = convert_block(b, &format!("#/messages/{i}/content/{j}"))? {
                content.push(b);
            }
        }
        messages.push(Message { role, content });
    }
    let system = obj
        .get("system")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("text").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let empty = Value::Object(Map::new());
    let ic = obj.get("inferenceConfig").unwrap_or(&empty);
    let pick = |a: &str, b: &str| ic.get(a).or_else(|| ic.get(b));
    let tc = obj.get("toolConfig");
    let tools = tc
        .and_then(|t| t.get("tools"))
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t.get("toolSpec"))
                .map(|s| ToolSpec {
                    name: str_of(s, "name").to_string(),
                    description: s
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    input_schema: s
                        .get("inputSchema")
                        .and_then(|i| i.get("json"))
                        .cloned()
                        .unwrap_or_else(|| serde_json::json!({"type": "object"})),
                })
                .collect()
        })
        .unwrap_or_default();
    let tool_choice = match tc.and_then(|t| t.get("toolChoice")) {
        Some(ch) if ch.get("any").is_some() => ToolChoice::Any,
        Some(ch) if ch.get("tool").is_some() => ToolChoice::Tool(
            ch["tool"]
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        _ => ToolChoice::Auto,
    };
    Ok(Prompt {
        system,
        messages,
        max_tokens: pick("max_new_tokens", "maxTokens")
            .and_then(Value::as_u64)
            .map(clamp_u32),
        temperature: ic
            .get("temperature")
            .and_then(Value::as_f64)
            .map(|x| x as f32),
        top_p: pick("top_p", "topP")
            .and_then(Value::as_f64)
            .map(|x| x as f32),
        stop_sequences: strings(ic.get("stopSequences")),
        tools,
        tool_choice,
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
