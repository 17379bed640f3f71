//! The `anthropic` upstream kind: the Anthropic Messages API (`POST {url}/messages`, `x-api-key`,
//! `anthropic-version: 2023-06-01`), or anything that speaks it (a LiteLLM proxy's
//! `/v1/messages`).
//!
//! Translated: system prompts, multi-turn text, documents sent as text, tool definitions, tool
//! choice, tool uses and tool results, `max_tokens` (the API requires it: 4096 when the caller
//! set none, a documented choice), `temperature`, `top_p`, `stop_sequences`, the structured
//! output schema (`output_config.format`), and back: text, tool uses, thinking, the stop reason
//! and stop sequence, usage. Streams map event by event (text and `input_json_delta` tool-input
//! deltas as they arrive). Not translated: images (no bytes kept). No embeddings (Anthropic has
//! none).

use std::collections::VecDeque;

use serde_json::{json, Value};

use crate::upstream::{
    upstream_failure, upstream_message, Answer, Http, LiveSource, Opened, SseLines, UpstreamConfig,
};
use crate::{
    Backend, BackendError, Block, BoxFuture, Completion, Embedding, EventStream, Prompt, Role,
    StopReason, StreamEvent, ToolChoice, Usage,
};

const API_VERSION: &str = "2023-06-01";
/// `max_tokens` when the Bedrock caller gave none (the Messages API requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

pub struct AnthropicBackend {
    cfg: UpstreamConfig,
    http: Http,
}

impl AnthropicBackend {
    pub fn new(cfg: UpstreamConfig) -> AnthropicBackend {
        let http = Http::new(&cfg);
        AnthropicBackend { cfg, http }
    }

    async fn call(&self, body: Value) -> Result<Answer, BackendError> {
        let mut headers = vec![("anthropic-version", API_VERSION.to_string())];
        if let Some(k) = &self.cfg.api_key {
            headers.push(("x-api-key", k.clone()));
        }
        let url = format!("{}/messages", self.cfg.url);
        self.http
            .post(&url, &headers, body.to_string().into_bytes())
            .await
    }

    async fn complete_async(
        &self,
        model_id: &str,
        prompt: &Prompt,
    ) -> Result<Completion, BackendError> {
        crate::media::unreadable_document(prompt)?;
        let body = messages_request(self.cfg.upstream_model(model_id), prompt, false);
        let (status, bytes) = self.call(body).await?.bytes(self.http.timeout).await?;
        if status >= 400 {
            return Err(upstream_failure(status, &bytes));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        completion_of(&v, prompt)
    }
}

fn malformed() -> BackendError {
    BackendError::Upstream {
        status: 502,
        message: "The upstream answered with a body that is not an Anthropic Messages response."
            .into(),
    }
}

/// The Messages API request for a prompt.
pub fn messages_request(model: &str, p: &Prompt, stream: bool) -> Value {
    let messages: Vec<Value> = p
        .messages
        .iter()
        .map(|m| {
            json!({
                "role": match m.role { Role::User => "user", Role::Assistant => "assistant" },
                "content": m.content.iter().filter_map(block_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": p.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
    });
    let o = body.as_object_mut().expect("a JSON object");
    if stream {
        o.insert("stream".into(), json!(true));
    }
    if !p.system.is_empty() {
        o.insert("system".into(), json!(p.system.join("\n")));
    }
    if let Some(t) = p.temperature {
        o.insert("temperature".into(), json!(t));
    }
    if let Some(t) = p.top_p {
        o.insert("top_p".into(), json!(t));
    }
    if !p.stop_sequences.is_empty() {
        o.insert("stop_sequences".into(), json!(p.stop_sequences));
    }
    if !p.tools.is_empty() {
        let tools: Vec<Value> = p
            .tools
            .iter()
            .map(|t| {
                let mut spec = json!({ "name": t.name, "input_schema": t.input_schema });
                if let Some(d) = &t.description {
                    spec["description"] = json!(d);
                }
                spec
            })
            .collect();
        o.insert("tools".into(), Value::Array(tools));
        let choice = match &p.tool_choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::Any => json!({"type": "any"}),
            ToolChoice::Tool(n) => json!({"type": "tool", "name": n}),
            ToolChoice::None => json!({"type": "none"}),
        };
        o.insert("tool_choice".into(), choice);
    }
    if let Some(out) = &p.output_schema {
        o.insert(
            "output_config".into(),
            json!({"format": {"type": "json_schema", "schema": out.schema}}),
        );
    }
    body
}

fn block_json(b: &Block) -> Option<Value> {
    Some(match b {
        Block::Text(t) => json!({"type": "text", "text": t}),
        Block::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        Block::ToolResult {
            tool_use_id,
            content,
            status,
        } => {
            let mut r = json!({
                "type": "tool_result",
                "tool_use_id": tool_use_id,
                "content": content.iter().filter_map(block_json).collect::<Vec<_>>(),
            });
            if status.as_deref() == Some("error") {
                r["is_error"] = json!(true);
            }
            r
        }
        Block::Document { name, text, .. } if !text.is_empty() => json!({
            "type": "document", "title": name,
            "source": {"type": "text", "media_type": "text/plain", "data": text},
        }),
        Block::Document {
            name,
            format: Some(f),
            data: Some(d),
            ..
        } => {
            let source = if crate::media::is_text_document(f) {
                json!({"type": "text", "media_type": "text/plain",
                       "data": crate::media::document_text(d)})
            } else {
                json!({"type": "base64", "media_type": format!("application/{f}"), "data": d})
            };
            json!({"type": "document", "title": name, "source": source})
        }
        Block::Image {
            format,
            data: Some(d),
            ..
        } => json!({"type": "image", "source": {
            "type": "base64", "media_type": crate::media::image_media_type(format), "data": d,
        }}),
        _ => return None,
    })
}

fn stop_reason_of(s: Option<&str>) -> StopReason {
    match s {
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        _ => StopReason::EndTurn,
    }
}

fn tokens(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .map(|n| n.min(u64::from(u32::MAX)) as u32)
}

/// A Messages API response as a completion.
pub fn completion_of(v: &Value, p: &Prompt) -> Result<Completion, BackendError> {
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(malformed)?;
    let content = blocks
        .iter()
        .filter_map(|b| match b.get("type").and_then(Value::as_str)? {
            "text" => Some(Block::Text(b.get("text")?.as_str()?.to_string())),
            "tool_use" => Some(Block::ToolUse {
                id: b.get("id")?.as_str()?.to_string(),
                name: b.get("name")?.as_str()?.to_string(),
                input: b.get("input").cloned().unwrap_or(json!({})),
            }),
            "thinking" => Some(Block::Reasoning(b.get("thinking")?.as_str()?.to_string())),
            _ => None,
        })
        .collect();
    Ok(Completion {
        content,
        stop_reason: stop_reason_of(v.get("stop_reason").and_then(Value::as_str)),
        usage: Usage {
            input_tokens: tokens(v.pointer("/usage/input_tokens"))
                .unwrap_or_else(|| crate::count_prompt_tokens(p)),
            output_tokens: tokens(v.pointer("/usage/output_tokens")).unwrap_or(0),
        },
        stop_sequence: v
            .get("stop_sequence")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Messages API stream events → normalized events.
#[derive(Default)]
pub struct EventTranslator {
    input_tokens: u32,
    output_tokens: u32,
    stop: Option<(StopReason, Option<String>)>,
}

impl EventTranslator {
    /// The events of one SSE payload; `Err` for an `error` event.
    pub fn event(&mut self, v: &Value) -> Result<Vec<StreamEvent>, BackendError> {
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        Ok(match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                self.input_tokens = tokens(v.pointer("/message/usage/input_tokens")).unwrap_or(0);
                vec![StreamEvent::MessageStart]
            }
            "content_block_start" => match v.pointer("/content_block/type").and_then(Value::as_str)
            {
                Some("tool_use") => vec![StreamEvent::ToolUseStart {
                    index,
                    id: str_at(v, "/content_block/id"),
                    name: str_at(v, "/content_block/name"),
                }],
                _ => Vec::new(),
            },
            "content_block_delta" => match v.pointer("/delta/type").and_then(Value::as_str) {
                Some("text_delta") => vec![StreamEvent::TextDelta {
                    index,
                    text: str_at(v, "/delta/text"),
                }],
                Some("input_json_delta") => vec![StreamEvent::ToolInputDelta {
                    index,
                    json: str_at(v, "/delta/partial_json"),
                }],
                Some("thinking_delta") => vec![StreamEvent::ReasoningDelta {
                    index,
                    text: str_at(v, "/delta/thinking"),
                }],
                _ => Vec::new(),
            },
            "content_block_stop" => vec![StreamEvent::BlockStop { index }],
            "message_delta" => {
                if let Some(n) = tokens(v.pointer("/usage/output_tokens")) {
                    self.output_tokens = n;
                }
                self.stop = Some((
                    stop_reason_of(v.pointer("/delta/stop_reason").and_then(Value::as_str)),
                    v.pointer("/delta/stop_sequence")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ));
                Vec::new()
            }
            "message_stop" => {
                let (stop_reason, stop_sequence) =
                    self.stop.take().unwrap_or((StopReason::EndTurn, None));
                vec![
                    StreamEvent::MessageStop {
                        stop_reason,
                        stop_sequence,
                    },
                    StreamEvent::Usage(Usage {
                        input_tokens: self.input_tokens,
                        output_tokens: self.output_tokens,
                    }),
                ]
            }
            "error" => {
                return Err(BackendError::ModelStream {
                    status: 500,
                    message: upstream_message(v.to_string().as_bytes()),
                })
            }
            _ => Vec::new(), // ping
        })
    }
}

fn str_at(v: &Value, p: &str) -> String {
    v.pointer(p)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The live stream: SSE events translated as they arrive. An upstream that answers a stream
/// request with a whole JSON message (some proxies do) is streamed from that message.
struct Live<'a> {
    backend: &'a AnthropicBackend,
    prompt: &'a Prompt,
    sse: SseLines,
    tr: EventTranslator,
}

impl LiveSource for Live<'_> {
    async fn open(&mut self, model_id: &str) -> Result<Opened, BackendError> {
        crate::media::unreadable_document(self.prompt)?;
        let model = self.backend.cfg.upstream_model(model_id);
        let a = self
            .backend
            .call(messages_request(model, self.prompt, true))
            .await?;
        let is_json = a
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"));
        if a.status < 400 && !is_json {
            return Ok(Opened::Stream(a));
        }
        let status = a.status;
        let (_, bytes) = a.bytes(self.backend.http.timeout).await?;
        if status >= 400 {
            return Err(upstream_failure(status, &bytes));
        }
        let v = serde_json::from_slice::<Value>(&bytes).map_err(|_| malformed())?;
        let c = completion_of(&v, self.prompt)?;
        Ok(Opened::Whole(crate::completion_events(
            &c,
            crate::WORDS_PER_DELTA,
        )))
    }

    fn chunk(&mut self, bytes: &[u8], out: &mut VecDeque<StreamEvent>) -> Result<(), BackendError> {
        for data in self.sse.push(bytes) {
            let v = serde_json::from_str::<Value>(&data).map_err(|_| malformed())?;
            out.extend(self.tr.event(&v)?);
        }
        Ok(())
    }
}

impl Backend for AnthropicBackend {
    fn streams_live(&self) -> bool {
        true
    }

    fn complete<'a>(
        &'a self,
        model_id: &'a str,
        prompt: &'a Prompt,
    ) -> BoxFuture<'a, Result<Completion, BackendError>> {
        Box::pin(self.complete_async(model_id, prompt))
    }

    fn embed<'a>(
        &'a self,
        _model_id: &'a str,
        _text: &'a str,
        _dimensions: usize,
        _normalize: bool,
    ) -> BoxFuture<'a, Result<Embedding, BackendError>> {
        Box::pin(std::future::ready(Err(BackendError::Unsupported(
            "The Anthropic upstream has no embeddings.".into(),
        ))))
    }

    fn stream<'a>(&'a self, model_id: &'a str, prompt: &'a Prompt) -> EventStream<'a> {
        let live = Live {
            backend: self,
            prompt,
            sse: SseLines::default(),
            tr: EventTranslator::default(),
        };
        crate::upstream::live_stream(live, model_id, self.http.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn requests_and_streams_translate() {
        let p = Prompt {
            system: vec!["sys".into()],
            messages: vec![Message::user("hi")],
            ..Prompt::default()
        };
        assert_eq!(
            messages_request("claude", &p, true),
            json!({"model": "claude", "max_tokens": 4096, "stream": true, "system": "sys",
                   "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
        );
        let mut t = EventTranslator::default();
        let mut out = Vec::new();
        for e in [
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 7}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "tu1", "name": "get"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 4}}),
            json!({"type": "message_stop"}),
        ] {
            out.extend(t.event(&e).unwrap());
        }
        assert_eq!(
            out,
            vec![
                StreamEvent::MessageStart,
                StreamEvent::ToolUseStart {
                    index: 0,
                    id: "tu1".into(),
                    name: "get".into()
                },
                StreamEvent::ToolInputDelta {
                    index: 0,
                    json: "{\"a\":1}".into()
                },
                StreamEvent::BlockStop { index: 0 },
                StreamEvent::MessageStop {
                    stop_reason: StopReason::ToolUse,
                    stop_sequence: None
                },
                StreamEvent::Usage(Usage {
                    input_tokens: 7,
                    output_tokens: 4
                }),
            ]
        );
        let err = t
            .event(&json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
            .unwrap_err();
        assert_eq!(
            err,
            BackendError::ModelStream {
                status: 500,
                message: "Overloaded".into()
            }
        );
    }
}
