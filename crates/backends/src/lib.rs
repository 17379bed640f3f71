//! # bg-backends
//!
//! Inference backends for the bedrock-gates Amazon Bedrock emulator, and the
//! provider-native `InvokeModel` codecs.
//!
//! The crate has three parts:
//!
//! 1. **A normalized prompt/completion model** ([`Prompt`], [`Message`], [`Block`],
//!    [`Completion`], [`Embedding`], ...). Every request the server accepts — a
//!    Converse request or any provider's native `InvokeModel` body — is turned
//!    into a [`Prompt`]; every backend answers with a [`Completion`].
//! 2. **The [`Backend`] trait** and its default implementation, the deterministic
//!    [`ScriptedBackend`]: no network, no randomness, no clock. Same input, same
//!    bytes out. Its rules are documented on the type. Real backends (an
//!    OpenAI-compatible HTTP endpoint, Ollama, ...) plug in later behind the same
//!    trait; the server only ever talks to `dyn Backend`.
//! 3. **Native codecs** ([`native`]): decode each provider's `InvokeModel` request
//!    body (Anthropic Messages, Amazon Nova, Titan, Meta Llama, Mistral, Cohere,
//!    AI21 Jamba, DeepSeek, OpenAI gpt-oss, Qwen) into a [`Prompt`], and encode a
//!    [`Completion`] or [`Embedding`]s into that provider's exact response JSON,
//!    including the streaming chunk payloads.
//!
//! All usage numbers come from one approximate tokenizer, [`count_tokens`].

pub mod anthropic_api;
pub mod bedrock;
mod embed;
pub mod media;
pub mod native;
pub mod openai;
mod output;
mod scripted;
pub mod structured;
mod tokens;
pub mod upstream;

use serde::{Deserialize, Serialize};

pub use anthropic_api::AnthropicBackend;
pub use bedrock::{BedrockBackend, SigningIdentity};
pub use embed::pseudo_embedding;
pub use openai::OpenAiBackend;
pub use scripted::ScriptedBackend;
pub use structured::OutputSchema;
pub use tokens::{count_prompt_tokens, count_tokens, truncate_to_tokens};
pub use upstream::UpstreamConfig;

/// The request/response dialect a model speaks on `InvokeModel` (re-exported from `bg-catalog`).
pub use bg_catalog::ModelFamily;

/// A normalized inference request: what every protocol adapter produces.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    /// System prompts, in order.
    pub system: Vec<String>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Maximum number of output tokens (by [`count_tokens`]).
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    /// Generation stops before the first occurrence of any of these.
    pub stop_sequences: Vec<String>,
    /// Tools offered to the model.
    pub tools: Vec<ToolSpec>,
    pub tool_choice: ToolChoice,
    /// The JSON schema the answer must satisfy (structured output), when one was given.
    /// Not serialized when absent, so the prompt's hash (ids, seeds) is unchanged for others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<OutputSchema>,
}

/// Who said a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One conversation turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
}

impl Message {
    /// A user message with a single text block.
    pub fn user(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: vec![Block::Text(text.into())],
        }
    }

    /// An assistant message with a single text block.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: vec![Block::Text(text.into())],
        }
    }

    /// The message's text blocks joined with `"\n"` (other blocks ignored).
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self
            .content
            .iter()
            .filter_map(|b| match b {
                Block::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        parts.join("\n")
    }
}

/// A content block inside a message or a completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    ToolResult {
        tool_use_id: String,
        /// Text blocks (JSON results are rendered as JSON text).
        content: Vec<Block>,
        /// `Some("error")` for a failed tool call, `Some("success")` or `None` otherwise.
        status: Option<String>,
    },
    /// An image: its format (`png`, `jpeg`, `gif`, `webp`), decoded size and, when it was sent
    /// as bytes, those bytes (base64, as received) for an upstream. The bytes are not
    /// serialized: a prompt's hash (scripted ids and seeds) depends on format and size only.
    Image {
        format: String,
        bytes_len: usize,
        #[serde(skip)]
        data: Option<String>,
    },
    /// A document; `text` is its text when it was sent as text, else empty. `format` (`pdf`,
    /// `txt`, ...) and the bytes (base64) are kept for an upstream when it was sent as bytes
    /// (not serialized, like an image's bytes).
    Document {
        name: String,
        text: String,
        #[serde(skip)]
        format: Option<String>,
        #[serde(skip)]
        data: Option<String>,
    },
    /// Model reasoning ("thinking") text.
    Reasoning(String),
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: Option<String>,
    /// JSON schema of the tool's input object.
    pub input_schema: serde_json::Value,
}

/// How the model must pick tools.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides (the default).
    #[default]
    Auto,
    /// The model must call some tool.
    Any,
    /// The model must call this tool.
    Tool(String),
    /// The model must not call tools.
    None,
}

/// A backend's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// Text and/or tool-use blocks.
    pub content: Vec<Block>,
    pub stop_reason: StopReason,
    pub usage: Usage,
    /// The stop sequence that ended generation, when `stop_reason` is
    /// [`StopReason::StopSequence`] (Anthropic reports it in `stop_sequence`).
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

impl Completion {
    /// All text blocks concatenated (no separator).
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                Block::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The tool-use blocks as `(id, name, input)`.
    pub fn tool_uses(&self) -> Vec<(&str, &str, &serde_json::Value)> {
        self.content
            .iter()
            .filter_map(|b| match b {
                Block::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
                _ => None,
            })
            .collect()
    }
}

/// Why generation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
}

impl StopReason {
    /// The Converse API spelling: `end_turn`, `tool_use`, `max_tokens`, `stop_sequence`.
    pub fn as_converse(&self) -> &'static str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::ToolUse => "tool_use",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
        }
    }
}

/// Token usage of one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

impl Usage {
    /// `input_tokens + output_tokens` (saturating).
    pub fn total(&self) -> u32 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// One embedding vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    pub vector: Vec<f32>,
    pub input_tokens: u32,
}

/// Why a backend refused or failed a call.
///
/// Suggested mapping to Bedrock errors: `Validation` and `Unsupported` →
/// `ValidationException` (400); `ModelError` → `ModelErrorException` (424);
/// `Unavailable` → `ServiceUnavailableException` (503); `Timeout` →
/// `ModelTimeoutException` (408).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The request is invalid; the string is the exact ValidationException message.
    #[error("{0}")]
    Validation(String),
    /// The backend cannot serve this kind of request for this model.
    #[error("{0}")]
    Unsupported(String),
    /// The model (or the upstream service) failed while processing the request.
    #[error("{0}")]
    ModelError(String),
    /// The backend cannot be reached right now.
    #[error("{0}")]
    Unavailable(String),
    /// The backend did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// An upstream answered with a 4xx/5xx before any output: Bedrock's `ModelErrorException`
    /// (424) with the upstream's status (`originalStatusCode`) and message.
    #[error("{message}")]
    Upstream { status: u16, message: String },
    /// An upstream failed after the stream started: the in-stream `modelStreamErrorException`
    /// with `originalStatusCode` and `originalMessage`.
    #[error("{message}")]
    ModelStream { status: u16, message: String },
    /// An AWS error from a Bedrock upstream, to be returned unchanged: its error code (as
    /// `x-amzn-ErrorType` names it), HTTP status and message.
    #[error("{message}")]
    Aws {
        code: String,
        status: u16,
        message: String,
    },
}

impl From<native::NativeError> for BackendError {
    fn from(e: native::NativeError) -> Self {
        BackendError::Validation(e.to_string())
    }
}

/// A boxed future, as backends return them (a trait object cannot have `async fn`).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A backend's streamed answer: normalized events, in order.
pub type EventStream<'a> = std::pin::Pin<
    Box<dyn futures_core::Stream<Item = Result<StreamEvent, BackendError>> + Send + 'a>,
>;

/// One event of a streamed answer, normalized: the Converse stream's vocabulary, which every
/// provider's stream maps to and from.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    MessageStart,
    /// A tool-use block starts (text and reasoning blocks start with their first delta).
    ToolUseStart {
        index: usize,
        id: String,
        name: String,
    },
    TextDelta {
        index: usize,
        text: String,
    },
    /// The tool's input, as JSON text (possibly in pieces).
    ToolInputDelta {
        index: usize,
        json: String,
    },
    ReasoningDelta {
        index: usize,
        text: String,
    },
    BlockStop {
        index: usize,
    },
    MessageStop {
        stop_reason: StopReason,
        stop_sequence: Option<String>,
    },
    Usage(Usage),
}

/// The events of a finished completion, text split every `words_per_delta` words: how a
/// backend without a native stream streams.
pub fn completion_events(c: &Completion, words_per_delta: usize) -> Vec<StreamEvent> {
    let mut out = vec![StreamEvent::MessageStart];
    for (index, block) in c.content.iter().enumerate() {
        match block {
            Block::Text(t) => out.extend(
                native::split_text_chunks(t, words_per_delta)
                    .into_iter()
                    .map(|text| StreamEvent::TextDelta { index, text }),
            ),
            Block::ToolUse { id, name, input } => {
                out.push(StreamEvent::ToolUseStart {
                    index,
                    id: id.clone(),
                    name: name.clone(),
                });
                out.push(StreamEvent::ToolInputDelta {
                    index,
                    json: input.to_string(),
                });
            }
            Block::Reasoning(text) => out.push(StreamEvent::ReasoningDelta {
                index,
                text: text.clone(),
            }),
            // Blocks a completion does not carry on a stream (images, documents, results).
            _ => continue,
        }
        out.push(StreamEvent::BlockStop { index });
    }
    out.push(StreamEvent::MessageStop {
        stop_reason: c.stop_reason,
        stop_sequence: c.stop_sequence.clone(),
    });
    out.push(StreamEvent::Usage(c.usage));
    out
}

/// How many words a streamed text delta carries when a backend streams a finished completion.
pub const WORDS_PER_DELTA: usize = 2;

/// An inference engine, asynchronous: the scripted backend answers at once; real backends
/// (OpenAI-compatible, Anthropic, Bedrock) wait on the network behind the same trait.
pub trait Backend: Send + Sync {
    /// Answer a prompt for `model_id` (a Bedrock base model id).
    fn complete<'a>(
        &'a self,
        model_id: &'a str,
        prompt: &'a Prompt,
    ) -> BoxFuture<'a, Result<Completion, BackendError>>;

    /// Embed `text` into exactly `dimensions` floats, L2-normalized when `normalize`.
    fn embed<'a>(
        &'a self,
        model_id: &'a str,
        text: &'a str,
        dimensions: usize,
        normalize: bool,
    ) -> BoxFuture<'a, Result<Embedding, BackendError>>;

    /// Whether [`Backend::stream`] yields events as a remote model produces them (an
    /// upstream), so the server frames them as they arrive instead of gathering them first.
    fn streams_live(&self) -> bool {
        false
    }

    /// Stream the answer as normalized events. By default: the completion, then its events.
    fn stream<'a>(&'a self, model_id: &'a str, prompt: &'a Prompt) -> EventStream<'a> {
        let fut = self.complete(model_id, prompt);
        Box::pin(OnceThenEvents::Waiting(fut))
    }
}

/// The default stream: wait for the completion, then hand out its events.
enum OnceThenEvents<'a> {
    Waiting(BoxFuture<'a, Result<Completion, BackendError>>),
    Events(std::collections::VecDeque<StreamEvent>),
    Done,
}

impl futures_core::Stream for OnceThenEvents<'_> {
    type Item = Result<StreamEvent, BackendError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        loop {
            match &mut *self {
                OnceThenEvents::Waiting(fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        *self = OnceThenEvents::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(Ok(c)) => {
                        *self =
                            OnceThenEvents::Events(completion_events(&c, WORDS_PER_DELTA).into());
                    }
                },
                OnceThenEvents::Events(q) => return Poll::Ready(q.pop_front().map(Ok)),
                OnceThenEvents::Done => return Poll::Ready(None),
            }
        }
    }
}

/// Which backend answers which model: glob patterns (`*` matches any run of characters) in
/// order, then the default. Chosen by configuration (a scenario's `[[backend]]` entries); the
/// scripted backend is the default.
pub struct Backends {
    routes: Vec<(String, std::sync::Arc<dyn Backend>)>,
    default: std::sync::Arc<dyn Backend>,
}

impl Backends {
    pub fn new(default: std::sync::Arc<dyn Backend>) -> Backends {
        Backends {
            routes: Vec::new(),
            default,
        }
    }

    /// Route the models matching `pattern` to `backend` (earlier routes win).
    pub fn route(&mut self, pattern: &str, backend: std::sync::Arc<dyn Backend>) {
        self.routes.push((pattern.to_string(), backend));
    }

    /// The backend for `model_id`.
    pub fn for_model(&self, model_id: &str) -> &dyn Backend {
        &**self.shared(model_id)
    }

    /// Whether any configured backend streams live.
    pub fn any_live(&self) -> bool {
        self.default.streams_live() || self.routes.iter().any(|(_, b)| b.streams_live())
    }

    /// The backend for `model_id`, shared: what a stream that outlives its request holds.
    pub fn shared(&self, model_id: &str) -> &std::sync::Arc<dyn Backend> {
        self.routes
            .iter()
            .find(|(p, _)| glob_match(p, model_id))
            .map(|(_, b)| b)
            .unwrap_or(&self.default)
    }
}

/// `*`-only glob, anchored at both ends.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = s.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod registry_tests {
    use super::*;

    #[test]
    fn globs_match_whole_ids() {
        assert!(glob_match("amazon.*", "amazon.nova-lite-v1:0"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c*e", "abcdef"));
        assert!(glob_match("amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"));
        assert!(!glob_match("amazon.nova", "amazon.nova-lite-v1:0"));
        assert!(!glob_match("*-v2", "x-v1"));
    }

    #[test]
    fn the_first_matching_route_answers_else_the_default() {
        let mut pinned = ScriptedBackend::new();
        pinned.pin("meta.llama3-8b-instruct-v1:0", "from the route");
        let mut b = Backends::new(std::sync::Arc::new(ScriptedBackend::new()));
        b.route("meta.*", std::sync::Arc::new(pinned));
        let p = Prompt {
            messages: vec![Message::user("hi")],
            ..Prompt::default()
        };
        let answer = |m: &str| {
            let fut = b.for_model(m).complete(m, &p);
            ready(fut).unwrap().text()
        };
        assert_eq!(answer("meta.llama3-8b-instruct-v1:0"), "from the route");
        assert_ne!(answer("amazon.nova-lite-v1:0"), "from the route");
    }

    /// The scripted backend's futures are ready at once.
    fn ready<T>(mut f: BoxFuture<'_, T>) -> T {
        let waker = std::task::Waker::noop();
        match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("not ready"),
        }
    }
}
