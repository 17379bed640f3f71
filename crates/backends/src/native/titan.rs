//! Amazon Titan Text (`inputText` + `textGenerationConfig`) and Titan embeddings.

use serde::Deserialize;
use serde_json::Value;

use super::anthropic::clamp_u32;
use super::schema::{child, parse_object, Checker, Kind};
use super::{with_metrics, NativeError, NativeRequest};
use crate::output::{hex_id, null, Obj, J};
use crate::tokens::count_tokens;
use crate::{Completion, Embedding, Message, Prompt, StopReason};

/// Decode a Titan Text request body.
pub(crate) fn decode_text(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    c.keys(
        "#",
        &obj,
        &["inputText"],
        Some(&["inputText", "textGenerationConfig"]),
    );
    if let Some(t) = c.field("#", &obj, "inputText", Kind::Str) {
        c.min_length("#/inputText", t, 1);
    }
    if let Some(cfg) = c.object_field("#", &obj, "textGenerationConfig") {
        let p = "#/textGenerationConfig";
        c.keys(
            p,
            cfg,
            &[],
            Some(&["maxTokenCount", "temperature", "topP", "stopSequences"]),
        );
        c.number(p, cfg, "maxTokenCount", Kind::Int, Some(0.0), None);
        c.number(p, cfg, "temperature", Kind::Num, Some(0.0), Some(1.0));
        c.number(p, cfg, "topP", Kind::Num, Some(0.0), Some(1.0));
        c.string_array(p, cfg, "stopSequences");
    }
    let req: TextRequest = c.parse(obj)?;
    let cfg = req.text_generation_config.unwrap_or_default();
    Ok(Prompt {
        messages: vec![Message::user(strip_labels(&req.input_text))],
        max_tokens: cfg.max_token_count.map(clamp_u32),
        temperature: cfg.temperature.map(|x| x as f32),
        top_p: cfg.top_p.map(|x| x as f32),
        stop_sequences: cfg.stop_sequences,
        ..Prompt::default()
    })
}

/// The Titan Text request, as its checks guarantee it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TextRequest {
    input_text: String,
    text_generation_config: Option<TextConfig>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TextConfig {
    max_token_count: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    #[serde(default)]
    stop_sequences: Vec<String>,
}

/// `User: question\nBot:` → `question` (Titan's conversational convention).
fn strip_labels(text: &str) -> String {
    let t = text.trim();
    let t = t.strip_prefix("User:").unwrap_or(t).trim();
    let t = t
        .strip_suffix("Bot:")
        .or_else(|| t.strip_suffix("Assistant:"))
        .unwrap_or(t);
    t.trim().to_string()
}

fn completion_reason(r: StopReason) -> &'static str {
    match r {
        StopReason::MaxTokens => "LENGTH",
        StopReason::StopSequence => "STOP_CRITERIA_MET",
        StopReason::EndTurn | StopReason::ToolUse => "FINISH",
    }
}

/// The Titan Text response.
pub(crate) fn encode_text(c: &Completion) -> Obj {
    Obj::new()
        .set("inputTextTokenCount", c.usage.input_tokens)
        .set(
            "results",
            vec![Obj::new()
                .set("tokenCount", c.usage.output_tokens)
                .set("outputText", c.text())
                .set("completionReason", completion_reason(c.stop_reason))],
        )
}

/// Stream: one `{"outputText","index","totalOutputTextTokenCount","completionReason","inputTextTokenCount"?}`
/// per piece; the first carries `inputTextTokenCount`, the last the completion reason.
pub(crate) fn stream_text(c: &Completion, pieces: &[String]) -> Vec<Obj> {
    let pieces: Vec<String> = if pieces.is_empty() {
        vec![String::new()]
    } else {
        pieces.to_vec()
    };
    let mut out = Vec::with_capacity(pieces.len());
    let mut so_far = String::new();
    for (i, p) in pieces.iter().enumerate() {
        so_far.push_str(p);
        let last = i + 1 == pieces.len();
        let total = if last {
            c.usage.output_tokens
        } else {
            count_tokens(&so_far)
        };
        let reason: J = if last {
            completion_reason(c.stop_reason).into()
        } else {
            null()
        };
        let mut o = Obj::new()
            .set("outputText", p.as_str())
            .set("index", 0u32)
            .set("totalOutputTextTokenCount", total)
            .set("completionReason", reason);
        if i == 0 {
            o = o.set("inputTextTokenCount", c.usage.input_tokens);
        }
        out.push(o);
    }
    with_metrics(out, c)
}

/// Which Titan embedding model a body is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EmbedVariant {
    /// Model unknown: accept the union of the fields.
    Any,
    /// Titan Embeddings G1 - Text: `inputText` only.
    V1,
    /// Titan Text Embeddings V2.
    V2,
    /// Titan Multimodal Embeddings G1.
    Image,
}

/// Decode a Titan embeddings request body.
pub(crate) fn decode_embed(
    body: &[u8],
    variant: EmbedVariant,
) -> Result<NativeRequest, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    let (required, allowed): (&[&str], &[&str]) = match variant {
        EmbedVariant::V1 => (&["inputText"], &["inputText"]),
        EmbedVariant::V2 => (
            &["inputText"],
            &["inputText", "dimensions", "normalize", "embeddingTypes"],
        ),
        EmbedVariant::Image => (&[], &["inputText", "inputImage", "embeddingConfig"]),
        EmbedVariant::Any => (
            &[],
            &[
                "inputText",
                "dimensions",
                "normalize",
                "embeddingTypes",
                "inputImage",
                "embeddingConfig",
            ],
        ),
    };
    c.keys("#", &obj, required, Some(allowed));
    if required.is_empty() && !obj.contains_key("inputText") && !obj.contains_key("inputImage") {
        c.push("#", "required key [inputText] not found");
    }
    if let Some(t) = c.field("#", &obj, "inputText", Kind::Str) {
        c.min_length("#/inputText", t, 1);
    }
    c.field("#", &obj, "inputImage", Kind::Str);
    if let Some(d) = c.field("#", &obj, "dimensions", Kind::Int) {
        if !matches!(d.as_u64(), Some(256 | 512 | 1024)) {
            c.push(
                "#/dimensions",
                format_args!("{d} is not a valid enum value"),
            );
        }
    }
    c.field("#", &obj, "normalize", Kind::Bool);
    if let Some(Value::Array(types)) = c.field("#", &obj, "embeddingTypes", Kind::Arr) {
        c.items("#/embeddingTypes", types, Some(1), None);
        c.unique_items("#/embeddingTypes", types);
        for (i, t) in types.iter().enumerate() {
            c.one_of(&child("#/embeddingTypes", i), t, &["float", "binary"]);
        }
    }
    if let Some(cfg) = c.object_field("#", &obj, "embeddingConfig") {
        c.keys(
            "#/embeddingConfig",
            cfg,
            &[],
            Some(&["outputEmbeddingLength"]),
        );
        if let Some(d) = c.field("#/embeddingConfig", cfg, "outputEmbeddingLength", Kind::Int) {
            if !matches!(d.as_u64(), Some(256 | 384 | 1024)) {
                c.push(
                    "#/embeddingConfig/outputEmbeddingLength",
                    format_args!("{d} is not a valid enum value"),
                );
            }
        }
    }
    let req: EmbedRequest = c.parse(obj)?;

    // The checks require one of the two; an image alone embeds as its tag.
    let mut text = req.input_text.unwrap_or_default();
    if let Some(img) = req.input_image {
        let tag = format!("image:{}", hex_id(&[img.as_bytes()], 16));
        text = if text.is_empty() {
            tag
        } else {
            format!("{text} {tag}")
        };
    }
    let default_normalize = !matches!(variant, EmbedVariant::V1);
    let from_config = req.embedding_config.and_then(|c| c.output_embedding_length);
    Ok(NativeRequest::Embedding {
        texts: vec![text],
        dimensions: req.dimensions.or(from_config).map(|d| d as usize),
        normalize: req.normalize.unwrap_or(default_normalize),
        input_type: None,
    })
}

/// The Titan embeddings request, as its checks guarantee it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmbedRequest {
    input_text: Option<String>,
    input_image: Option<String>,
    dimensions: Option<u64>,
    normalize: Option<bool>,
    embedding_config: Option<EmbedConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmbedConfig {
    output_embedding_length: Option<u64>,
}

/// The Titan embeddings response: v2 `{"embedding","embeddingsByType","inputTextTokenCount"}`,
/// v1 and multimodal `{"embedding","inputTextTokenCount"}`.
pub(crate) fn encode_embed(embeddings: &[Embedding], types: &[String], v2: bool) -> Obj {
    let (vector, tokens): (&[f32], u32) = match embeddings.first() {
        Some(e) => (&e.vector, e.input_tokens),
        None => (&[], 0),
    };
    let mut o = Obj::new().set("embedding", vector);
    if v2 {
        let mut by_type = Obj::new();
        let types: Vec<&str> = if types.is_empty() {
            vec!["float"]
        } else {
            types.iter().map(String::as_str).collect()
        };
        for t in types {
            by_type = match t {
                "binary" => by_type.set(
                    "binary",
                    Value::Array(
                        vector
                            .iter()
                            .map(|v| Value::from(u8::from(*v > 0.0)))
                            .collect(),
                    ),
                ),
                _ => by_type.set("float", vector),
            };
        }
        o = o.set("embeddingsByType", by_type);
    }
    o.set("inputTextTokenCount", tokens)
}
