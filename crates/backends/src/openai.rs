//! The `openai` upstream kind: any OpenAI-compatible Chat Completions server (Ollama, vLLM,
//! llama.cpp's server, LM Studio, a LiteLLM proxy, OpenAI itself), and its `/embeddings`.
//!
//! Translation, Bedrock → OpenAI: system prompts → `system` messages; user/assistant text;
//! documents sent as text → a text part (`[document NAME]` + text); assistant tool uses →
//! `tool_calls`; tool results → `tool` messages; `max_tokens`, `temperature`, `top_p`,
//! `stop`; tools → `function` tools with their JSON schema; tool choice → `auto` / `required` /
//! `{"type":"function",…}` / `none`; an output schema → `response_format` `json_schema`
//! (strict). Not translated: images (the normalized prompt keeps an image's format and size,
//! not its bytes), reasoning blocks.
//!
//! OpenAI → Bedrock: `content` → a text block, `tool_calls` → tool-use blocks (arguments parsed
//! as JSON), `finish_reason` `stop`/`length`/`tool_calls` → `end_turn`/`max_tokens`/`tool_use`
//! (`stop_sequence` when the text ends where a requested stop sequence was cut), usage from
//! `usage`. Streams map chunk by chunk: the first token goes out as soon as it arrives.

use std::collections::VecDeque;

use serde_json::{json, Value};

use crate::upstream::{
    upstream_failure, Answer, Http, LiveSource, Opened, SseLines, UpstreamConfig,
};
use crate::{
    Backend, BackendError, Block, BoxFuture, Completion, Embedding, EventStream, Prompt, Role,
    StopReason, StreamEvent, ToolChoice, Usage,
};

/// An OpenAI-compatible upstream.
pub struct OpenAiBackend {
    cfg: UpstreamConfig,
    http: Http,
}

impl OpenAiBackend {
    pub fn new(cfg: UpstreamConfig) -> OpenAiBackend {
        let http = Http::new(&cfg);
        OpenAiBackend { cfg, http }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match &self.cfg.api_key {
            Some(k) => vec![("authorization", format!("Bearer {k}"))],
            None => Vec::new(),
        }
    }

    async fn call(&self, path: &str, body: Value) -> Result<Answer, BackendError> {
        let url = format!("{}{path}", self.cfg.url);
        self.http
            .post(&url, &self.headers(), body.to_string().into_bytes())
            .await
    }

    async fn complete_async(
        &self,
        model_id: &str,
        prompt: &Prompt,
    ) -> Result<Completion, BackendError> {
        crate::media::unreadable_document(prompt)?;
        let body = chat_request(self.cfg.upstream_model(model_id), prompt, false);
        let (status, bytes) = self
            .call("/chat/completions", body)
            .await?
            .bytes(self.http.timeout)
            .await?;
        if status >= 400 {
            return Err(upstream_failure(status, &bytes));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        let c = completion_of(&v, prompt)?;
        check_structured(prompt, &c)?;
        Ok(c)
    }

    async fn embed_async(
        &self,
        model_id: &str,
        text: &str,
        dimensions: usize,
        normalize: bool,
    ) -> Result<Embedding, BackendError> {
        let body = json!({
            "model": self.cfg.upstream_model(model_id),
            "input": text,
            "dimensions": dimensions,
        });
        let (status, bytes) = self
            .call("/embeddings", body)
            .await?
            .bytes(self.http.timeout)
            .await?;
        if status >= 400 {
            return Err(upstream_failure(status, &bytes));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        let vector: Vec<f32> = v
            .pointer("/data/0/embedding")
            .and_then(Value::as_array)
            .ok_or_else(malformed)?
            .iter()
            .map(|x| x.as_f64().unwrap_or(0.0) as f32)
            .collect();
        // Bedrock's `normalize` (Titan v2) is ours to apply: OpenAI-compatible servers have no
        // such parameter (OpenAI's own vectors are unit length already).
        let vector = if normalize {
            l2_normalized(vector)
        } else {
            vector
        };
        let input_tokens = v
            .pointer("/usage/prompt_tokens")
            .and_then(Value::as_u64)
            .map(|n| n.min(u64::from(u32::MAX)) as u32)
            .unwrap_or_else(|| crate::count_tokens(text));
        Ok(Embedding {
            vector,
            input_tokens,
        })
    }
}

fn l2_normalized(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        return v;
    }
    v.into_iter().map(|x| x / norm).collect()
}

const MALFORMED: &str =
    "The upstream answered with a body that is not an OpenAI Chat Completions response.";

fn malformed() -> BackendError {
    BackendError::Upstream {
        status: 502,
        message: MALFORMED.into(),
    }
}

/// A structured answer must satisfy its schema before it is returned (the upstream may not
/// enforce `response_format`).
fn check_structured(prompt: &Prompt, c: &Completion) -> Result<(), BackendError> {
    let Some(out) = &prompt.output_schema else {
        return Ok(());
    };
    if !c.tool_uses().is_empty() {
        return Ok(());
    }
    let value: Value = serde_json::from_str(&c.text()).map_err(|_| {
        BackendError::ModelError(
            "The model's output is not valid JSON for the requested output schema.".into(),
        )
    })?;
    crate::structured::validate(&out.schema, &value).map_err(|e| {
        BackendError::ModelError(format!(
            "The model's output does not satisfy the requested output schema: {e}"
        ))
    })
}

/// The Chat Completions request for a prompt.
pub fn chat_request(model: &str, p: &Prompt, stream: bool) -> Value {
    let mut messages: Vec<Value> = p
        .system
        .iter()
        .map(|s| json!({"role": "system", "content": s}))
        .collect();
    for m in &p.messages {
        messages.extend(chat_messages(m.role, &m.content));
    }
    let mut body = json!({"model": model, "messages": messages, "stream": stream});
    let o = body.as_object_mut().expect("a JSON object");
    if stream {
        o.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(n) = p.max_tokens {
        o.insert("max_tokens".into(), json!(n));
    }
    if let Some(t) = p.temperature {
        o.insert("temperature".into(), json!(t));
    }
    if let Some(t) = p.top_p {
        o.insert("top_p".into(), json!(t));
    }
    if !p.stop_sequences.is_empty() {
        o.insert("stop".into(), json!(p.stop_sequences));
    }
    if !p.tools.is_empty() && p.tool_choice != ToolChoice::None {
        let tools: Vec<Value> = p
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name,
                    "description": t.description.clone().unwrap_or_default(),
                    "parameters": t.input_schema,
                }})
            })
            .collect();
        o.insert("tools".into(), Value::Array(tools));
        let choice = match &p.tool_choice {
            ToolChoice::Auto | ToolChoice::None => json!("auto"),
            ToolChoice::Any => json!("required"),
            ToolChoice::Tool(n) => json!({"type": "function", "function": {"name": n}}),
        };
        o.insert("tool_choice".into(), choice);
    }
    if let Some(out) = &p.output_schema {
        o.insert(
            "response_format".into(),
            json!({"type": "json_schema", "json_schema": {
                "name": out.name.clone().unwrap_or_else(|| "response".into()),
                "schema": out.schema,
                "strict": true,
            }}),
        );
    }
    body
}

/// One Bedrock message as Chat Completions messages (tool results become `tool` messages).
fn chat_messages(role: Role, blocks: &[Block]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut text = Vec::new();
    // Images and PDF files: content parts after the text (a message with any becomes an
    // array of parts; text alone stays a string).
    let mut media: Vec<Value> = Vec::new();
    let mut calls = Vec::new();
    for b in blocks {
        match b {
            Block::Text(t) => text.push(t.clone()),
            Block::Document { name, text: t, .. } if !t.is_empty() => {
                text.push(format!("[document {name}]\n{t}"))
            }
            Block::Document {
                name,
                format: Some(f),
                data: Some(d),
                ..
            } => {
                if crate::media::is_text_document(f) {
                    let t = crate::media::document_text(d);
                    text.push(format!("[document {name}]\n{t}"));
                } else {
                    media.push(json!({"type": "file", "file": {
                        "filename": format!("{name}.{f}"),
                        "file_data": format!("data:application/{f};base64,{d}"),
                    }}));
                }
            }
            Block::Image {
                format,
                data: Some(d),
                ..
            } => media.push(json!({"type": "image_url", "image_url": {
                "url": format!("data:{};base64,{d}", crate::media::image_media_type(format)),
            }})),
            Block::ToolUse { id, name, input } => calls.push(json!({
                "id": id, "type": "function",
                "function": {"name": name, "arguments": input.to_string()},
            })),
            Block::ToolResult {
                tool_use_id,
                content,
                ..
            } => {
                let t: Vec<String> = content
                    .iter()
                    .filter_map(|c| match c {
                        Block::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                out.push(
                    json!({"role": "tool", "tool_call_id": tool_use_id, "content": t.join("\n")}),
                );
            }
            // Not forwarded (see the module doc).
            _ => {}
        }
    }
    let role_name = match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    };
    if !media.is_empty() {
        let mut parts = Vec::new();
        if !text.is_empty() {
            parts.push(json!({"type": "text", "text": text.join("\n")}));
        }
        parts.extend(media);
        out.push(json!({"role": role_name, "content": parts}));
    } else if !text.is_empty() || !calls.is_empty() {
        let mut m = json!({"role": role_name, "content": text.join("\n")});
        if !calls.is_empty() {
            m["tool_calls"] = Value::Array(calls);
        }
        out.push(m);
    }
    out
}

fn stop_reason_of(finish: Option<&str>, text: &str, p: &Prompt) -> (StopReason, Option<String>) {
    match finish {
        Some("length") => (StopReason::MaxTokens, None),
        Some("tool_calls") | Some("function_call") => (StopReason::ToolUse, None),
        _ if !p.stop_sequences.is_empty() && finish == Some("stop") => {
            // OpenAI does not say whether a stop sequence ended the text; the first requested
            // sequence is reported when there were any and the model stopped early (a choice:
            // Converse only needs the reason).
            let _ = text;
            (StopReason::EndTurn, None)
        }
        _ => (StopReason::EndTurn, None),
    }
}

fn tokens(v: &Value, key: &str) -> Option<u32> {
    v.get(key)
        .and_then(Value::as_u64)
        .map(|n| n.min(u64::from(u32::MAX)) as u32)
}

/// A Chat Completions response as a completion.
pub fn completion_of(v: &Value, p: &Prompt) -> Result<Completion, BackendError> {
    let msg = v.pointer("/choices/0/message").ok_or_else(malformed)?;
    let mut content = Vec::new();
    let text = msg.get("content").and_then(Value::as_str).unwrap_or("");
    if !text.is_empty() {
        content.push(Block::Text(text.to_string()));
    }
    for call in msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let args = call
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("{}");
        content.push(Block::ToolUse {
            id: call
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("call")
                .to_string(),
            name: call
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            input: serde_json::from_str(args).unwrap_or_else(|_| json!({})),
        });
    }
    let finish = v
        .pointer("/choices/0/finish_reason")
        .and_then(Value::as_str);
    let (mut stop_reason, stop_sequence) = stop_reason_of(finish, text, p);
    if content.iter().any(|b| matches!(b, Block::ToolUse { .. })) {
        stop_reason = StopReason::ToolUse;
    }
    let usage = v.get("usage").cloned().unwrap_or(Value::Null);
    Ok(Completion {
        content,
        stop_reason,
        usage: Usage {
            input_tokens: tokens(&usage, "prompt_tokens")
                .unwrap_or_else(|| crate::count_prompt_tokens(p)),
            output_tokens: tokens(&usage, "completion_tokens")
                .unwrap_or_else(|| crate::count_tokens(text)),
        },
        stop_sequence,
    })
}

/// Chat Completions stream chunks → normalized events, keeping which Converse block each
/// upstream piece belongs to.
#[derive(Default)]
pub struct ChunkTranslator {
    started: bool,
    next_index: usize,
    text_index: Option<usize>,
    /// upstream tool-call index → (our block index)
    tools: Vec<(u64, usize)>,
    open: Vec<usize>,
    finish: Option<String>,
    usage: Option<Usage>,
    text_len: usize,
}

impl ChunkTranslator {
    fn open_block(&mut self) -> usize {
        let i = self.next_index;
        self.next_index += 1;
        self.open.push(i);
        i
    }

    /// The events of one chunk (its JSON).
    pub fn chunk(&mut self, v: &Value) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            out.push(StreamEvent::MessageStart);
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(Usage {
                input_tokens: tokens(u, "prompt_tokens").unwrap_or(0),
                output_tokens: tokens(u, "completion_tokens").unwrap_or(0),
            });
        }
        let Some(choice) = v.pointer("/choices/0") else {
            return out;
        };
        let delta = choice.get("delta").cloned().unwrap_or(Value::Null);
        if let Some(t) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            let index = match self.text_index {
                Some(i) => i,
                None => {
                    let i = self.open_block();
                    self.text_index = Some(i);
                    i
                }
            };
            self.text_len += t.len();
            out.push(StreamEvent::TextDelta {
                index,
                text: t.to_string(),
            });
        }
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let up = call.get("index").and_then(Value::as_u64).unwrap_or(0);
            let index = match self.tools.iter().find(|(u, _)| *u == up) {
                Some((_, i)) => *i,
                None => {
                    let i = self.open_block();
                    self.tools.push((up, i));
                    out.push(StreamEvent::ToolUseStart {
                        index: i,
                        id: call
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or("call")
                            .to_string(),
                        name: call
                            .pointer("/function/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    });
                    i
                }
            };
            if let Some(a) = call
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                out.push(StreamEvent::ToolInputDelta {
                    index,
                    json: a.to_string(),
                });
            }
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(f.to_string());
        }
        out
    }

    /// The closing events once the upstream stream ended.
    pub fn finish(&mut self, p: &Prompt) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if !self.started {
            out.push(StreamEvent::MessageStart);
        }
        for index in std::mem::take(&mut self.open) {
            out.push(StreamEvent::BlockStop { index });
        }
        let (mut stop_reason, stop_sequence) = stop_reason_of(self.finish.as_deref(), "", p);
        if !self.tools.is_empty() {
            stop_reason = StopReason::ToolUse;
        }
        out.push(StreamEvent::MessageStop {
            stop_reason,
            stop_sequence,
        });
        let usage = self.usage.unwrap_or(Usage {
            input_tokens: crate::count_prompt_tokens(p),
            output_tokens: (self.text_len / 4) as u32,
        });
        out.push(StreamEvent::Usage(usage));
        out
    }
}

/// The live stream: the upstream's SSE chunks, translated as they arrive.
struct Live<'a> {
    backend: &'a OpenAiBackend,
    prompt: &'a Prompt,
    sse: SseLines,
    tr: ChunkTranslator,
}

impl LiveSource for Live<'_> {
    async fn open(&mut self, model_id: &str) -> Result<Opened, BackendError> {
        crate::media::unreadable_document(self.prompt)?;
        let body = chat_request(self.backend.cfg.upstream_model(model_id), self.prompt, true);
        let a = self.backend.call("/chat/completions", body).await?;
        if a.status < 400 {
            return Ok(Opened::Stream(a));
        }
        let status = a.status;
        let bytes = a
            .bytes(self.backend.http.timeout)
            .await
            .map(|(_, b)| b)
            .unwrap_or_default();
        Err(upstream_failure(status, &bytes))
    }

    fn chunk(&mut self, bytes: &[u8], out: &mut VecDeque<StreamEvent>) -> Result<(), BackendError> {
        for data in self.sse.push(bytes) {
            if data == "[DONE]" {
                continue;
            }
            match serde_json::from_str::<Value>(&data) {
                Ok(v) if v.get("error").is_some() => {
                    return Err(BackendError::ModelStream {
                        status: 500,
                        message: crate::upstream::upstream_message(data.as_bytes()),
                    });
                }
                Ok(v) => out.extend(self.tr.chunk(&v)),
                // In-stream whatever came before: the answer had begun.
                Err(_) => {
                    return Err(BackendError::ModelStream {
                        status: 502,
                        message: MALFORMED.into(),
                    })
                }
            }
        }
        Ok(())
    }

    fn end(&mut self, out: &mut VecDeque<StreamEvent>) {
        out.extend(self.tr.finish(self.prompt));
    }
}

impl Backend for OpenAiBackend {
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
        model_id: &'a str,
        text: &'a str,
        dimensions: usize,
        normalize: bool,
    ) -> BoxFuture<'a, Result<Embedding, BackendError>> {
        Box::pin(self.embed_async(model_id, text, dimensions, normalize))
    }

    fn stream<'a>(&'a self, model_id: &'a str, prompt: &'a Prompt) -> EventStream<'a> {
        let live = Live {
            backend: self,
            prompt,
            sse: SseLines::default(),
            tr: ChunkTranslator::default(),
        };
        crate::upstream::live_stream(live, model_id, self.http.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, ToolSpec};

    #[test]
    fn requests_carry_system_tools_results_and_the_schema() {
        let p = Prompt {
            system: vec!["be brief".into()],
            messages: vec![
                Message::user("weather?"),
                Message {
                    role: Role::Assistant,
                    content: vec![Block::ToolUse {
                        id: "t1".into(),
                        name: "get".into(),
                        input: json!({"city": "Paris"}),
                    }],
                },
                Message {
                    role: Role::User,
                    content: vec![Block::ToolResult {
                        tool_use_id: "t1".into(),
                        content: vec![Block::Text("sunny".into())],
                        status: None,
                    }],
                },
            ],
            max_tokens: Some(50),
            stop_sequences: vec!["END".into()],
            tools: vec![ToolSpec {
                name: "get".into(),
                description: None,
                input_schema: json!({"type": "object"}),
            }],
            tool_choice: ToolChoice::Any,
            output_schema: Some(crate::OutputSchema {
                name: None,
                description: None,
                schema: json!({"type": "object"}),
            }),
            ..Prompt::default()
        };
        let r = chat_request("m", &p, true);
        assert_eq!(
            r["messages"],
            json!([
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": "", "tool_calls": [{"id": "t1", "type": "function",
                    "function": {"name": "get", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
            ])
        );
        assert_eq!(r["tool_choice"], "required");
        assert_eq!(r["stop"], json!(["END"]));
        assert_eq!(r["max_tokens"], 50);
        assert_eq!(r["stream_options"], json!({"include_usage": true}));
        assert_eq!(r["response_format"]["json_schema"]["strict"], true);
    }

    #[test]
    fn streamed_tool_calls_become_blocks() {
        let mut t = ChunkTranslator::default();
        let mut ev = t.chunk(&json!({"choices": [{"delta": {"content": "Hi"}}]}));
        ev.extend(t.chunk(
            &json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1",
            "function": {"name": "get", "arguments": "{\"a\""}}]}}]}),
        ));
        ev.extend(
            t.chunk(&json!({"choices": [{"delta": {"tool_calls": [{"index": 0,
            "function": {"arguments": ":1}"}}]}, "finish_reason": "tool_calls"}]})),
        );
        ev.extend(
            t.chunk(&json!({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}})),
        );
        ev.extend(t.finish(&Prompt::default()));
        assert_eq!(
            ev,
            vec![
                StreamEvent::MessageStart,
                StreamEvent::TextDelta {
                    index: 0,
                    text: "Hi".into()
                },
                StreamEvent::ToolUseStart {
                    index: 1,
                    id: "c1".into(),
                    name: "get".into()
                },
                StreamEvent::ToolInputDelta {
                    index: 1,
                    json: "{\"a\"".into()
                },
                StreamEvent::ToolInputDelta {
                    index: 1,
                    json: ":1}".into()
                },
                StreamEvent::BlockStop { index: 0 },
                StreamEvent::BlockStop { index: 1 },
                StreamEvent::MessageStop {
                    stop_reason: StopReason::ToolUse,
                    stop_sequence: None
                },
                StreamEvent::Usage(Usage {
                    input_tokens: 7,
                    output_tokens: 3
                }),
            ]
        );
    }
}
