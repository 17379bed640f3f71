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

mod embed;
pub mod native;
mod scripted;
mod tokens;
mod util;

use serde::{Deserialize, Serialize};

pub use embed::pseudo_embedding;
pub use scripted::ScriptedBackend;
pub use tokens::{count_prompt_tokens, count_tokens, truncate_to_tokens};

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
    /// An image; only its format (`png`, `jpeg`, ...) and decoded size are kept.
    Image {
        format: String,
        bytes_len: usize,
    },
    /// A document; `text` is its text when it was sent as text, else empty.
    Document {
        name: String,
        text: String,
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
}

impl From<native::NativeError> for BackendError {
    fn from(e: native::NativeError) -> Self {
        BackendError::Validation(e.to_string())
    }
}

/// An inference engine. The scripted backend is the default; real backends
/// (OpenAI-compatible, Ollama, ...) implement the same trait.
pub trait Backend: Send + Sync {
    /// Answer a prompt for `model_id` (a Bedrock base model id).
    fn complete(&self, model_id: &str, prompt: &Prompt) -> Result<Completion, BackendError>;

    /// Embed `text` into exactly `dimensions` floats, L2-normalized when `normalize`.
    fn embed(
        &self,
        model_id: &str,
        text: &str,
        dimensions: usize,
        normalize: bool,
    ) -> Result<Embedding, BackendError>;
}
