//! Converse request parsing (JSON → the backend's `Prompt`) and response rendering, with the
//! validation messages Bedrock sends.
//!
//! Where a message is AWS's own it is copied verbatim; for a member of the wrong JSON type (which
//! the SDKs never send, since they validate types) AWS's text is undocumented and we use Coral's
//! constraint sentence with the expected type.

use crate::error::ApiError;
use bg_backends::{Block, Completion, Message, Prompt, Role, ToolChoice, ToolSpec};
use serde_json::{json, Map, Value};

pub const FIRST_MUST_BE_USER: &str =
    "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
pub const MUST_ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";

fn type_error(path: &str, what: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value at '{path}' failed to satisfy constraint: Member must be {what}"
    ))
}

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| type_error(path, "a structure"))
}

fn arr<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, ApiError> {
    v.as_array().ok_or_else(|| type_error(path, "a list"))
}

fn string(v: &Value, path: &str) -> Result<String, ApiError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| type_error(path, "a string"))
}

fn content_blocks(v: &Value, path: &str) -> Result<Vec<Block>, ApiError> {
    let mut out = Vec::new();
    for (i, b) in arr(v, path)?.iter().enumerate() {
        let bp = format!("{path}.{}.member", i + 1);
        let o = obj(b, &bp)?;
        // A ContentBlock is a union: exactly one member.
        if o.len() != 1 {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at '{bp}' failed to satisfy constraint: Member must have exactly one member set"
            )));
        }
        let (k, val) = o.iter().next().expect("len checked");
        let block = match k.as_str() {
            "text" => Block::Text(string(val, &format!("{bp}.text"))?),
            "image" => {
                let im = obj(val, &format!("{bp}.image"))?;
                let format = im.get("format").and_then(Value::as_str).unwrap_or("png").to_string();
                let len = im
                    .get("source")
                    .and_then(|s| s.get("bytes"))
                    .and_then(Value::as_str)
                    .map(|b| b.len() * 3 / 4)
                    .unwrap_or(0);
                Block::Image { format, bytes_len: len }
            }
            "document" => {
                let d = obj(val, &format!("{bp}.document"))?;
                let name = d.get("name").and_then(Value::as_str).unwrap_or("document").to_string();
                let text = d
                    .get("source")
                    .and_then(|s| s.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                Block::Document { name, text }
            }
            "toolUse" => {
                let t = obj(val, &format!("{bp}.toolUse"))?;
                Block::ToolUse {
                    id: t.get("toolUseId").and_then(Value::as_str).unwrap_or("").to_string(),
                    name: t.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                    input: t.get("input").cloned().unwrap_or(Value::Null),
                }
            }
            "toolResult" => {
                let t = obj(val, &format!("{bp}.toolResult"))?;
                let mut content = Vec::new();
                if let Some(c) = t.get("content").and_then(Value::as_array) {
                    for item in c {
                        if let Some(s) = item.get("text").and_then(Value::as_str) {
                            content.push(Block::Text(s.to_string()));
                        } else if let Some(j) = item.get("json") {
                            content.push(Block::Text(j.to_string()));
                        }
                    }
                }
                Block::ToolResult {
                    tool_use_id: t.get("toolUseId").and_then(Value::as_str).unwrap_or("").to_string(),
                    content,
                    status: t.get("status").and_then(Value::as_str).map(str::to_string),
                }
            }
            "reasoningContent" => Block::Reasoning(
                val.get("reasoningText")
                    .and_then(|r| r.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            "guardContent" => Block::Text(
                val.get("text")
                    .and_then(|t| t.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            // Cache points change billing, not the answer.
            "cachePoint" => continue,
            "video" | "audio" | "citationsContent" | "searchResult" | "toolAddition" | "toolRemoval" => continue,
            other => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value at '{bp}' failed to satisfy constraint: Unknown member '{other}'"
                )))
            }
        };
        out.push(block);
    }
    Ok(out)
}

/// Parse a Converse (or CountTokens `converse`) body.
pub fn parse_request(body: &Value) -> Result<Prompt, ApiError> {
    let root = obj(body, "body")?;
    let mut messages = Vec::new();
    if let Some(m) = root.get("messages") {
        for (i, msg) in arr(m, "messages")?.iter().enumerate() {
            let mp = format!("messages.{}.member", i + 1);
            let mo = obj(msg, &mp)?;
            let role = match mo.get("role") {
                None => return Err(ApiError::missing_member(&format!("{mp}.role"))),
                Some(Value::String(r)) if r == "user" => Role::User,
                Some(Value::String(r)) if r == "assistant" => Role::Assistant,
                Some(other) => {
                    let shown = other
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| other.to_string());
                    return Err(ApiError::validation(format!(
                        "1 validation error detected: Value '{shown}' at '{mp}.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
                    )));
                }
            };
            let content = match mo.get("content") {
                None => return Err(ApiError::missing_member(&format!("{mp}.content"))),
                Some(c) => content_blocks(c, &format!("{mp}.content"))?,
            };
            messages.push(Message { role, content });
        }
    }
    match messages.first() {
        Some(m) if m.role == Role::User => {}
        _ => return Err(ApiError::validation(FIRST_MUST_BE_USER)),
    }
    if messages.windows(2).any(|w| w[0].role == w[1].role) {
        return Err(ApiError::validation(MUST_ALTERNATE));
    }

    let mut system = Vec::new();
    if let Some(s) = root.get("system") {
        for (i, b) in arr(s, "system")?.iter().enumerate() {
            if let Some(t) = b.get("text") {
                system.push(string(t, &format!("system.{}.member.text", i + 1))?);
            }
        }
    }

    let mut prompt = Prompt {
        system,
        messages,
        max_tokens: None,
        temperature: None,
        top_p: None,
        stop_sequences: Vec::new(),
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
    };

    if let Some(ic) = root.get("inferenceConfig") {
        let ic = obj(ic, "inferenceConfig")?;
        if let Some(v) = ic.get("maxTokens") {
            let n = v
                .as_i64()
                .ok_or_else(|| type_error("inferenceConfig.maxTokens", "an integer"))?;
            if n < 1 {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )));
            }
            prompt.max_tokens = Some(n.min(u32::MAX as i64) as u32);
        }
        for (name, slot) in [
            ("temperature", &mut prompt.temperature),
            ("topP", &mut prompt.top_p),
        ] {
            if let Some(v) = ic.get(name) {
                let path = format!("inferenceConfig.{name}");
                let x = v.as_f64().ok_or_else(|| type_error(&path, "a number"))?;
                if x < 0.0 {
                    return Err(ApiError::validation(format!("1 validation error detected: Value '{x}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to 0")));
                }
                if x > 1.0 {
                    return Err(ApiError::validation(format!("1 validation error detected: Value '{x}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to 1")));
                }
                *slot = Some(x as f32);
            }
        }
        if let Some(v) = ic.get("stopSequences") {
            for (i, s) in arr(v, "inferenceConfig.stopSequences")?.iter().enumerate() {
                prompt.stop_sequences.push(string(
                    s,
                    &format!("inferenceConfig.stopSequences.{}.member", i + 1),
                )?);
            }
        }
    }

    if let Some(tc) = root.get("toolConfig") {
        let tc = obj(tc, "toolConfig")?;
        let tools = tc
            .get("tools")
            .ok_or_else(|| ApiError::missing_member("toolConfig.tools"))?;
        for (i, t) in arr(tools, "toolConfig.tools")?.iter().enumerate() {
            let Some(spec) = t.get("toolSpec") else {
                continue;
            };
            let sp = format!("toolConfig.tools.{}.member.toolSpec", i + 1);
            let name = spec
                .get("name")
                .ok_or_else(|| ApiError::missing_member(&format!("{sp}.name")))
                .and_then(|n| string(n, &format!("{sp}.name")))?;
            let schema = spec
                .get("inputSchema")
                .and_then(|s| s.get("json"))
                .cloned()
                .ok_or_else(|| ApiError::missing_member(&format!("{sp}.inputSchema")))?;
            prompt.tools.push(ToolSpec {
                name,
                description: spec
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                input_schema: schema,
            });
        }
        if let Some(choice) = tc.get("toolChoice").and_then(Value::as_object) {
            if choice.contains_key("any") {
                prompt.tool_choice = ToolChoice::Any;
            } else if let Some(t) = choice.get("tool") {
                prompt.tool_choice = ToolChoice::Tool(
                    t.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                );
            }
        }
    }
    Ok(prompt)
}

pub fn block_json(b: &Block) -> Option<Value> {
    match b {
        Block::Text(t) => Some(json!({ "text": t })),
        Block::ToolUse { id, name, input } => {
            Some(json!({ "toolUse": { "toolUseId": id, "name": name, "input": input } }))
        }
        Block::Reasoning(t) => {
            Some(json!({ "reasoningContent": { "reasoningText": { "text": t } } }))
        }
        _ => None,
    }
}

pub fn render_response(c: &Completion, latency_ms: u64) -> Value {
    let content: Vec<Value> = c.content.iter().filter_map(block_json).collect();
    json!({
        "output": { "message": { "role": "assistant", "content": content } },
        "stopReason": c.stop_reason.as_converse(),
        "usage": {
            "inputTokens": c.usage.input_tokens,
            "outputTokens": c.usage.output_tokens,
            "totalTokens": c.usage.input_tokens + c.usage.output_tokens,
        },
        "metrics": { "latencyMs": latency_ms },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_rules() {
        let e = parse_request(&json!({})).unwrap_err();
        assert_eq!(e.message, FIRST_MUST_BE_USER);
        let e = parse_request(&json!({"messages":[{"role":"assistant","content":[{"text":"x"}]}]}))
            .unwrap_err();
        assert_eq!(e.message, FIRST_MUST_BE_USER);
        let e = parse_request(&json!({"messages":[{"role":"user","content":[{"text":"x"}]},{"role":"user","content":[{"text":"y"}]}]})).unwrap_err();
        assert_eq!(e.message, MUST_ALTERNATE);
        let e = parse_request(&json!({"messages":[{"role":"bot","content":[]}]})).unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value 'bot' at 'messages.1.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]");
        let e = parse_request(&json!({"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":0}})).unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1");
        let e = parse_request(&json!({"messages":"hi"})).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "ValidationException");
    }

    #[test]
    fn parses_a_full_request() {
        let p = parse_request(&json!({
            "messages":[{"role":"user","content":[{"text":"hi"}]}],
            "system":[{"text":"be brief"}],
            "inferenceConfig":{"maxTokens":5,"temperature":0.5,"stopSequences":["END"]},
            "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"any":{}}}
        }))
        .unwrap();
        assert_eq!(p.system, vec!["be brief".to_string()]);
        assert_eq!(p.max_tokens, Some(5));
        assert_eq!(p.stop_sequences, vec!["END".to_string()]);
        assert_eq!(p.tools[0].name, "get_weather");
        assert!(matches!(p.tool_choice, ToolChoice::Any));
    }
}
