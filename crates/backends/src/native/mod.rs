//! Provider-native `InvokeModel` codecs.
//!
//! [`decode`] turns a provider's native request body into a [`NativeRequest`]
//! (a normalized [`Prompt`] or an embedding request); [`encode_completion`] and
//! [`encode_embedding`] turn the backend's answer into that provider's exact
//! response JSON; [`encode_stream_chunks`] gives the JSON payloads of
//! `InvokeModelWithResponseStream` chunk events, in order.
//!
//! Families and their dialects:
//!
//! | family | request | response |
//! | --- | --- | --- |
//! | `AnthropicClaude` | Messages API (`anthropic_version`, `max_tokens`, `messages`, ...) | `{"id":"msg_bdrk_01…","type":"message",...}` |
//! | `AmazonNova` | `messages-v1` (`system`, `messages`, `inferenceConfig`, `toolConfig`) | `{"output":{"message":…},"stopReason",…}` |
//! | `AmazonTitanText` | `inputText` + `textGenerationConfig` | `{"inputTextTokenCount","results":[…]}` |
//! | `AmazonTitanEmbed` | `inputText` (+ v2 `dimensions`, `normalize`, `embeddingTypes`) | `{"embedding",…}` |
//! | `MetaLlama` | `prompt` (Llama 2/3 chat templates stripped), `max_gen_len` | `{"generation",…}` |
//! | `Mistral` | `prompt` (`<s>[INST] … [/INST]`), `max_tokens`, `stop` | `{"outputs":[…]}` |
//! | `MistralChat`, `OpenAi`, `Qwen`, `Ai21Jamba` | chat completions (`messages`, `tools`, ...) | chat completion object |
//! | `CohereCommandR` | `message`, `chat_history`, `preamble`, `tools`, `tool_results` | `{"response_id","text",…}` |
//! | `CohereCommand` | `prompt` | `{"id","generations":[…],"prompt"}` |
//! | `CohereEmbed` | `texts`, `input_type`, `embedding_types`, ... | `{"id","texts","embeddings",…}` |
//! | `DeepSeek` | R1 `prompt` (template tokens stripped) | `{"choices":[{"text","stop_reason"}]}` |
//! | `AmazonNovaCanvas` | — image generation is out of scope: [`decode`] refuses it | — |
//!
//! Schema errors use Bedrock's wording:
//! `Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.`
//! (`#: extraneous key [foo] is not permitted`, `#/x: expected type: Integer, found: String`,
//! `#/x: 5 is not less or equal to 1`, `#/x: foo is not a valid enum value`,
//! `#/x: expected maximum item count: 96, found: 100`; several at once:
//! `#: N schema violations found`). Anthropic, Titan, Llama, Mistral (prompt),
//! DeepSeek, Cohere and Nova bodies reject unknown keys; the chat-completions
//! families (MistralChat, OpenAi, Qwen, Ai21Jamba) ignore unknown keys.
//!
//! Response ids are derived from the `request_id` passed in (sha256), so the
//! same request id and completion always give the same bytes. Fields that
//! would carry a clock (`created`) are `0`; latencies in
//! `amazon-bedrock-invocationMetrics` are `0`.

mod anthropic;
mod chat;
pub mod chat_completions;
mod cohere;
mod deepseek;
mod live;
mod llama;
mod mistral;
mod nova;
mod schema;
mod templates;
mod titan;

use base64::Engine;
use serde_json::Value;

pub use live::LiveChunks;

use crate::output::Obj;
use crate::{Completion, Embedding, ModelFamily, Prompt};

/// A decoded native request.
#[derive(Clone, Debug, PartialEq)]
pub enum NativeRequest {
    /// A text-generation request.
    Completion(Prompt),
    /// An embedding request: one embedding per text.
    Embedding {
        texts: Vec<String>,
        /// Requested vector length; `None` = the model's default.
        dimensions: Option<usize>,
        normalize: bool,
        /// Cohere's `input_type` (`search_document`, `search_query`, ...).
        input_type: Option<String>,
    },
}

/// A native request body that cannot be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NativeError {
    /// The string is the exact `ValidationException` message.
    #[error("{0}")]
    Malformed(String),
}

/// The message for Amazon Nova Canvas (image generation), which the scripted backend does not serve.
pub const IMAGE_GENERATION_UNSUPPORTED: &str = "Image generation models (Amazon Nova Canvas) are not supported by the bedrock-gates scripted backend; use a text or embedding model.";

/// Decode a native `InvokeModel` body for a model family.
///
/// Model-independent: for embedding families, `dimensions` is `None` unless the
/// body asks for a length, and the union of the family's model variants'
/// fields is accepted. [`decode_for_model`] applies per-model rules.
pub fn decode(family: ModelFamily, body: &[u8]) -> Result<NativeRequest, NativeError> {
    use ModelFamily as F;
    match family {
        F::AnthropicClaude => anthropic::decode(body).map(NativeRequest::Completion),
        F::AmazonNova => nova::decode(body).map(NativeRequest::Completion),
        F::AmazonTitanText => titan::decode_text(body).map(NativeRequest::Completion),
        F::AmazonTitanEmbed => titan::decode_embed(body, titan::EmbedVariant::Any),
        F::AmazonNovaCanvas => Err(NativeError::Malformed(
            IMAGE_GENERATION_UNSUPPORTED.to_string(),
        )),
        F::MetaLlama => llama::decode(body).map(NativeRequest::Completion),
        F::Mistral => mistral::decode(body).map(NativeRequest::Completion),
        F::MistralChat | F::OpenAi | F::Qwen | F::Ai21Jamba => {
            chat::decode(body).map(NativeRequest::Completion)
        }
        F::CohereCommandR => cohere::decode_command_r(body).map(NativeRequest::Completion),
        F::CohereCommand => cohere::decode_command(body).map(NativeRequest::Completion),
        F::CohereEmbed => cohere::decode_embed(body, cohere::EmbedVariant::Any),
        F::DeepSeek => deepseek::decode(body).map(NativeRequest::Completion),
    }
}

/// Like [`decode`], with the rules of the specific model:
/// Titan Embeddings G1 (`amazon.titan-embed-text-v1`, `amazon.titan-embed-g1-text-02`)
/// accepts only `inputText`; Titan Multimodal Embeddings (`amazon.titan-embed-image-v1`)
/// takes `inputText`/`inputImage`/`embeddingConfig`; Cohere Embed v3 has no
/// `output_dimension`; and `dimensions` is filled with the model's default
/// ([`default_embedding_dimensions`]) when the body does not choose one.
pub fn decode_for_model(
    family: ModelFamily,
    model_id: &str,
    body: &[u8],
) -> Result<NativeRequest, NativeError> {
    let base = base_model_id(model_id);
    let req = match family {
        ModelFamily::AmazonTitanEmbed => {
            let variant = if is_titan_embed_v1(base) {
                titan::EmbedVariant::V1
            } else if base.contains("titan-embed-image") {
                titan::EmbedVariant::Image
            } else {
                titan::EmbedVariant::V2
            };
            titan::decode_embed(body, variant)?
        }
        ModelFamily::CohereEmbed => {
            let variant = if base.contains("embed-v4") {
                cohere::EmbedVariant::V4
            } else {
                cohere::EmbedVariant::V3
            };
            cohere::decode_embed(body, variant)?
        }
        other => decode(other, body)?,
    };
    Ok(match req {
        NativeRequest::Embedding {
            texts,
            dimensions,
            normalize,
            input_type,
        } => NativeRequest::Embedding {
            texts,
            dimensions: dimensions.or_else(|| default_embedding_dimensions(model_id)),
            normalize,
            input_type,
        },
        other => other,
    })
}

/// Default embedding length of a Bedrock embedding model id (or `None` if unknown):
/// Titan Text Embeddings v2 1024, Titan Embeddings G1 1536, Titan Multimodal 1024,
/// Cohere Embed v3 (English and multilingual) 1024, Cohere Embed v4 1536.
pub fn default_embedding_dimensions(model_id: &str) -> Option<usize> {
    let base = base_model_id(model_id);
    if is_titan_embed_v1(base) {
        Some(1536)
    } else if base.contains("titan-embed-text-v2") || base.contains("titan-embed-image") {
        Some(1024)
    } else if base.contains("cohere.embed-v4") {
        Some(1536)
    } else if base.contains("cohere.embed-") {
        Some(1024)
    } else {
        None
    }
}

fn is_titan_embed_v1(base: &str) -> bool {
    base.contains("titan-embed-text-v1") || base.contains("titan-embed-g1-text")
}

/// The embedding types a body asks for (Titan `embeddingTypes`, Cohere
/// `embedding_types`), or empty when none (or the body is not valid JSON).
/// Pass them to [`encode_embedding_typed`] to get the by-type response shape.
pub fn requested_embedding_types(family: ModelFamily, body: &[u8]) -> Vec<String> {
    let key = match family {
        ModelFamily::AmazonTitanEmbed => "embeddingTypes",
        ModelFamily::CohereEmbed => "embedding_types",
        _ => return Vec::new(),
    };
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get(key).cloned())
        .and_then(|v| v.as_array().cloned())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Encode a completion as the family's exact native response JSON.
///
/// `prompt` is the decoded request (some dialects echo parts of it);
/// `request_id` (the `x-amzn-RequestId`) seeds every id in the response.
pub fn encode_completion(
    family: ModelFamily,
    model_id: &str,
    prompt: &Prompt,
    c: &Completion,
    request_id: &str,
) -> Vec<u8> {
    use ModelFamily as F;
    let obj = match family {
        F::AnthropicClaude => anthropic::encode(model_id, c, request_id),
        F::AmazonNova => nova::encode(c),
        F::AmazonTitanText => titan::encode_text(c),
        F::MetaLlama => llama::encode(c),
        F::Mistral => mistral::encode(c),
        F::MistralChat | F::OpenAi | F::Qwen | F::Ai21Jamba => {
            chat::encode(family, model_id, c, request_id)
        }
        F::CohereCommandR => cohere::encode_command_r(prompt, c, request_id),
        F::CohereCommand => cohere::encode_command(prompt, c, request_id),
        F::DeepSeek => deepseek::encode(c),
        // Not text-generation families: a minimal, still well-formed body.
        F::AmazonTitanEmbed | F::CohereEmbed | F::AmazonNovaCanvas => {
            Obj::new().set("outputText", c.text())
        }
    };
    obj.to_bytes()
}

/// Encode embeddings (one per text, same order) as the family's response JSON,
/// in the default shape (Titan v2: `embedding` + `embeddingsByType.float`;
/// Cohere: `response_type: embeddings_floats`). See [`encode_embedding_typed`].
pub fn encode_embedding(
    family: ModelFamily,
    model_id: &str,
    embeddings: &[Embedding],
    texts: &[String],
    request_id: &str,
) -> Vec<u8> {
    encode_embedding_typed(family, model_id, embeddings, texts, &[], request_id)
}

/// Like [`encode_embedding`], honouring the request's embedding types
/// (from [`requested_embedding_types`]): Titan v2 fills `embeddingsByType`
/// with each type (`float`, `binary`); Cohere answers
/// `{"embeddings":{"float":[…],"int8":[…],…},"response_type":"embeddings_by_type"}`.
pub fn encode_embedding_typed(
    family: ModelFamily,
    model_id: &str,
    embeddings: &[Embedding],
    texts: &[String],
    embedding_types: &[String],
    request_id: &str,
) -> Vec<u8> {
    let obj = match family {
        ModelFamily::CohereEmbed => {
            cohere::encode_embed(embeddings, texts, embedding_types, request_id)
        }
        _ => {
            let base = base_model_id(model_id);
            let v2 = !(is_titan_embed_v1(base) || base.contains("titan-embed-image"));
            titan::encode_embed(embeddings, embedding_types, v2)
        }
    };
    obj.to_bytes()
}

/// The JSON payloads of the family's `InvokeModelWithResponseStream` chunks, in
/// order (each goes base64-encoded into a `chunk` event's `bytes`).
///
/// `chunk_texts` are the pieces of the completion's text, in order (their
/// concatenation should equal [`Completion::text`]); when empty, the whole
/// text is one piece (see [`split_text_chunks`]). Tool calls are sent whole.
/// The last payload carries `amazon-bedrock-invocationMetrics`
/// (`inputTokenCount`, `outputTokenCount`, latencies `0`). Ids are derived from
/// the model id and the completion. Embedding and image families have no
/// stream: the result is empty.
pub fn encode_stream_chunks(
    family: ModelFamily,
    model_id: &str,
    c: &Completion,
    chunk_texts: &[String],
) -> Vec<Vec<u8>> {
    encode_stream_chunks_seeded(family, model_id, c, chunk_texts, &stream_seed(model_id, c))
}

/// [`encode_stream_chunks`] with the seed of its ids given: a live stream fixes its ids before
/// the answer is known.
fn encode_stream_chunks_seeded(
    family: ModelFamily,
    model_id: &str,
    c: &Completion,
    chunk_texts: &[String],
    seed: &str,
) -> Vec<Vec<u8>> {
    use ModelFamily as F;
    let pieces = stream_pieces(c, chunk_texts);
    let seed = seed.to_string();
    let objs = match family {
        F::AnthropicClaude => anthropic::stream(model_id, c, &pieces, &seed),
        F::AmazonNova => nova::stream(c, &pieces),
        F::AmazonTitanText => titan::stream_text(c, &pieces),
        F::MetaLlama => llama::stream(c, &pieces),
        F::Mistral => mistral::stream(c, &pieces),
        F::MistralChat | F::OpenAi | F::Qwen | F::Ai21Jamba => {
            chat::stream(family, model_id, c, &pieces, &seed)
        }
        F::CohereCommandR => cohere::stream_command_r(c, &pieces, &seed),
        F::CohereCommand => cohere::stream_command(c, &pieces, &seed),
        F::DeepSeek => deepseek::stream(c, &pieces),
        F::AmazonTitanEmbed | F::CohereEmbed | F::AmazonNovaCanvas => Vec::new(),
    };
    objs.iter().map(Obj::to_bytes).collect()
}

/// Split `text` into stream pieces of `words_per_chunk` words each, keeping all
/// whitespace (a piece is its words plus the whitespace that precedes them), so
/// the pieces concatenate back to `text` exactly. `words_per_chunk == 0` is 1.
pub fn split_text_chunks(text: &str, words_per_chunk: usize) -> Vec<String> {
    let per = words_per_chunk.max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut words = 0;
    let mut in_word = false;
    for ch in text.chars() {
        if ch.is_whitespace() {
            if in_word {
                in_word = false;
                if words == per {
                    out.push(std::mem::take(&mut cur));
                    words = 0;
                }
            }
        } else if !in_word {
            in_word = true;
            words += 1;
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Anthropic's own name for a Bedrock model id:
/// `anthropic.claude-3-haiku-20240307-v1:0` → `claude-3-haiku-20240307`
/// (geo prefixes and ARNs are stripped first).
pub fn anthropic_model_name(model_id: &str) -> String {
    let base = base_model_id(model_id);
    let name = base.strip_prefix("anthropic.").unwrap_or(base);
    let trimmed = strip_version_suffix(name);
    if trimmed.contains('-') {
        trimmed.to_string()
    } else {
        name.to_string()
    }
}

/// Strip a trailing `-v<digits>` or `-v<digits>:<digits>` from a model name.
fn strip_version_suffix(name: &str) -> &str {
    if let Some(pos) = name.rfind("-v") {
        let tail = &name[pos + 2..];
        let (major, minor) = match tail.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (tail, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let minor_ok = match minor {
            None => true,
            Some(m) => digits(m),
        };
        if digits(major) && minor_ok {
            return &name[..pos];
        }
    }
    name
}

const GEO_PREFIXES: [&str; 8] = ["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"];

/// The base model id: the last path segment of an ARN, without a
/// cross-Region inference-profile prefix (`us.`, `eu.`, `apac.`, `global.`, ...).
pub(crate) fn base_model_id(model_id: &str) -> &str {
    let id = model_id.rsplit('/').next().unwrap_or(model_id);
    if let Some((first, rest)) = id.split_once('.') {
        if GEO_PREFIXES.contains(&first) && rest.contains('.') {
            return rest;
        }
    }
    id
}

/// The pieces to stream: `chunk_texts`, or the whole text as one piece.
fn stream_pieces(c: &Completion, chunk_texts: &[String]) -> Vec<String> {
    if !chunk_texts.is_empty() {
        return chunk_texts.to_vec();
    }
    let t = c.text();
    if t.is_empty() {
        Vec::new()
    } else {
        vec![t]
    }
}

/// Seed for ids in streams (no request id is available there).
fn stream_seed(model_id: &str, c: &Completion) -> String {
    format!(
        "{model_id}\u{0}{}",
        serde_json::to_string(c).unwrap_or_default()
    )
}

/// `amazon-bedrock-invocationMetrics` for the final stream chunk.
pub(crate) fn invocation_metrics(c: &Completion) -> Obj {
    Obj::new()
        .set("inputTokenCount", c.usage.input_tokens)
        .set("outputTokenCount", c.usage.output_tokens)
        .set("invocationLatency", 0u32)
        .set("firstByteLatency", 0u32)
}

/// Attach the invocation metrics to the last payload.
pub(crate) fn with_metrics(mut objs: Vec<Obj>, c: &Completion) -> Vec<Obj> {
    if let Some(last) = objs.pop() {
        objs.push(last.set("amazon-bedrock-invocationMetrics", invocation_metrics(c)));
    }
    objs
}

/// A JSON value as text: strings as themselves, anything else as compact JSON.
pub(crate) fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Decoded length of base64 data, or an error message naming `path`.
pub(crate) fn base64_len(data: &str, path: &str) -> Result<usize, NativeError> {
    let cleaned: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map(|b| b.len())
        .map_err(|_| schema::malformed(format_args!("{path}: invalid base64 data")))
}

/// Decode base64 text content (lossy UTF-8); `None` when not valid base64.
pub(crate) fn base64_text(data: &str) -> Option<String> {
    let cleaned: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Tool-use blocks of a completion as `(index in content, name, input)`.
pub(crate) fn tool_calls(c: &Completion) -> Vec<(usize, &str, &Value)> {
    c.content
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match b {
            crate::Block::ToolUse { name, input, .. } => Some((i, name.as_str(), input)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeated embedding type would render every embedding once per repeat (issue 10: 20 ×
    /// "float" turned a 907-byte request into a 24 MB answer): refused as JSON Schema's
    /// `uniqueItems`, as Bedrock validates native bodies.
    #[test]
    fn embedding_types_must_be_unique() {
        let cohere = br#"{"texts":["a"],"input_type":"search_query","embedding_types":["float","int8","float"]}"#;
        let e = decode_for_model(ModelFamily::CohereEmbed, "cohere.embed-english-v3", cohere)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Malformed input request: #/embedding_types: array items are not unique, please reformat your input and try again."
        );
        let titan = br#"{"inputText":"a","embeddingTypes":["binary","binary"]}"#;
        let e = decode_for_model(
            ModelFamily::AmazonTitanEmbed,
            "amazon.titan-embed-text-v2:0",
            titan,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Malformed input request: #/embeddingTypes: array items are not unique, please reformat your input and try again."
        );
        let ok = br#"{"inputText":"a","embeddingTypes":["binary","float"]}"#;
        assert!(decode_for_model(
            ModelFamily::AmazonTitanEmbed,
            "amazon.titan-embed-text-v2:0",
            ok
        )
        .is_ok());
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(
            anthropic_model_name("anthropic.claude-3-haiku-20240307-v1:0"),
            "claude-3-haiku-20240307"
        );
        assert_eq!(
            anthropic_model_name("us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
            "claude-3-5-sonnet-20241022"
        );
        assert_eq!(
            anthropic_model_name(
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0"
            ),
            "claude-sonnet-4-20250514"
        );
        assert_eq!(anthropic_model_name("anthropic.claude-v2:1"), "claude-v2:1");
        assert_eq!(
            anthropic_model_name("anthropic.claude-instant-v1"),
            "claude-instant"
        );
        assert_eq!(
            base_model_id("eu.amazon.nova-pro-v1:0"),
            "amazon.nova-pro-v1:0"
        );
        assert_eq!(
            base_model_id("amazon.nova-pro-v1:0"),
            "amazon.nova-pro-v1:0"
        );
        assert_eq!(
            default_embedding_dimensions("amazon.titan-embed-text-v1"),
            Some(1536)
        );
        assert_eq!(
            default_embedding_dimensions("amazon.titan-embed-text-v2:0"),
            Some(1024)
        );
        assert_eq!(
            default_embedding_dimensions("cohere.embed-english-v3"),
            Some(1024)
        );
        assert_eq!(
            default_embedding_dimensions("us.cohere.embed-v4:0"),
            Some(1536)
        );
        assert_eq!(
            default_embedding_dimensions("meta.llama3-8b-instruct-v1:0"),
            None
        );
    }

    #[test]
    fn split_chunks() {
        let t = "Hello there,  big\nworld !";
        let parts = split_text_chunks(t, 2);
        assert_eq!(parts.concat(), t);
        assert_eq!(parts, vec!["Hello there,", "  big\nworld", " !"]);
        assert_eq!(split_text_chunks("", 3), Vec::<String>::new());
        assert_eq!(split_text_chunks(" a", 0), vec![" a"]);
    }
}
