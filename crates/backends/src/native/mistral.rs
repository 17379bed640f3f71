//! Mistral prompt form (Mistral 7B, Mixtral, Mistral Large 2402, Small 2402):
//! `{"prompt":"<s>[INST] … [/INST]","max_tokens","stop","temperature","top_p","top_k"}`.

use serde::Deserialize;

use super::anthropic::clamp_u32;
use super::schema::{parse_object, Checker, Kind};
use super::templates::{parse_inst, Parsed};
use super::{with_metrics, NativeError};
use crate::output::{null, Obj, J};
use crate::{Completion, Prompt, StopReason};

/// Decode a Mistral prompt-form request body (`[INST]` markup stripped).
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    c.keys(
        "#",
        &obj,
        &["prompt"],
        Some(&[
            "prompt",
            "max_tokens",
            "stop",
            "temperature",
            "top_p",
            "top_k",
        ]),
    );
    c.field("#", &obj, "prompt", Kind::Str);
    c.number("#", &obj, "max_tokens", Kind::Int, Some(1.0), None);
    c.number("#", &obj, "temperature", Kind::Num, Some(0.0), Some(1.0));
    c.number("#", &obj, "top_p", Kind::Num, Some(0.0), Some(1.0));
    c.number("#", &obj, "top_k", Kind::Int, Some(0.0), None);
    c.string_array("#", &obj, "stop");
    let req: PromptRequest = c.parse(obj)?;
    Ok(req.into_prompt(parse_inst))
}

/// A text-completion request (`prompt`, `max_tokens`, `temperature`, `top_p`, `stop`), as its
/// checks guarantee it: Mistral's, and DeepSeek's, which has the same shape.
#[derive(Deserialize)]
pub(crate) struct PromptRequest {
    prompt: String,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    #[serde(default)]
    stop: Vec<String>,
}

impl PromptRequest {
    /// The prompt, its text read with the model's chat template.
    pub(crate) fn into_prompt(self, template: fn(&str) -> Parsed) -> Prompt {
        let parsed = template(&self.prompt);
        Prompt {
            system: parsed.system,
            messages: parsed.messages,
            max_tokens: self.max_tokens.map(clamp_u32),
            temperature: self.temperature.map(|x| x as f32),
            top_p: self.top_p.map(|x| x as f32),
            stop_sequences: self.stop,
            ..Prompt::default()
        }
    }
}

pub(crate) fn stop_reason(r: StopReason) -> &'static str {
    match r {
        StopReason::MaxTokens => "length",
        _ => "stop",
    }
}

/// `{"outputs":[{"text","stop_reason"}]}`.
pub(crate) fn encode(c: &Completion) -> Obj {
    Obj::new().set(
        "outputs",
        vec![Obj::new()
            .set("text", c.text())
            .set("stop_reason", stop_reason(c.stop_reason))],
    )
}

/// Stream: `{"outputs":[{"text","stop_reason":null}]}` per piece, the last with its reason.
pub(crate) fn stream(c: &Completion, pieces: &[String]) -> Vec<Obj> {
    let pieces: Vec<String> = if pieces.is_empty() {
        vec![String::new()]
    } else {
        pieces.to_vec()
    };
    let n = pieces.len();
    let out = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let reason: J = if i + 1 == n {
                stop_reason(c.stop_reason).into()
            } else {
                null()
            };
            Obj::new().set(
                "outputs",
                vec![Obj::new()
                    .set("text", p.as_str())
                    .set("stop_reason", reason)],
            )
        })
        .collect();
    with_metrics(out, c)
}
