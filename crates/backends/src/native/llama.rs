//! Meta Llama: `{"prompt","max_gen_len","temperature","top_p"}`.

use serde::Deserialize;

use super::anthropic::clamp_u32;
use super::schema::{parse_object, Checker, Kind};
use super::templates::parse_llama;
use super::{with_metrics, NativeError};
use crate::output::{null, Obj, J};
use crate::tokens::count_tokens;
use crate::{Completion, Prompt, StopReason};

/// Decode a Llama request body; chat-template tokens are stripped
/// (see [`parse_llama`]).
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    c.keys(
        "#",
        &obj,
        &["prompt"],
        Some(&["prompt", "max_gen_len", "temperature", "top_p", "images"]),
    );
    c.field("#", &obj, "prompt", Kind::Str);
    c.number("#", &obj, "max_gen_len", Kind::Int, Some(1.0), Some(2048.0));
    c.number("#", &obj, "temperature", Kind::Num, Some(0.0), Some(1.0));
    c.number("#", &obj, "top_p", Kind::Num, Some(0.0), Some(1.0));
    c.string_array("#", &obj, "images");
    let req: PromptRequest = c.parse(obj)?;
    let parsed = parse_llama(&req.prompt);
    Ok(Prompt {
        system: parsed.system,
        messages: parsed.messages,
        max_tokens: req.max_gen_len.map(clamp_u32),
        temperature: req.temperature.map(|x| x as f32),
        top_p: req.top_p.map(|x| x as f32),
        ..Prompt::default()
    })
}

/// The request, as its checks guarantee it.
#[derive(Deserialize)]
struct PromptRequest {
    prompt: String,
    max_gen_len: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
}

fn stop_reason(r: StopReason) -> &'static str {
    match r {
        StopReason::MaxTokens => "length",
        _ => "stop",
    }
}

/// `{"generation","prompt_token_count","generation_token_count","stop_reason"}`.
pub(crate) fn encode(c: &Completion) -> Obj {
    Obj::new()
        .set("generation", c.text())
        .set("prompt_token_count", c.usage.input_tokens)
        .set("generation_token_count", c.usage.output_tokens)
        .set("stop_reason", stop_reason(c.stop_reason))
}

/// Stream: one object per piece; `prompt_token_count` only on the first,
/// `stop_reason` only on the last (else `null`).
pub(crate) fn stream(c: &Completion, pieces: &[String]) -> Vec<Obj> {
    let pieces: Vec<String> = if pieces.is_empty() {
        vec![String::new()]
    } else {
        pieces.to_vec()
    };
    let mut so_far = String::new();
    let n = pieces.len();
    let out = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            so_far.push_str(p);
            let last = i + 1 == n;
            let prompt_tokens: J = if i == 0 {
                c.usage.input_tokens.into()
            } else {
                null()
            };
            Obj::new()
                .set("generation", p.as_str())
                .set("prompt_token_count", prompt_tokens)
                .set(
                    "generation_token_count",
                    if last {
                        c.usage.output_tokens
                    } else {
                        count_tokens(&so_far)
                    },
                )
                .set(
                    "stop_reason",
                    if last {
                        J::from(stop_reason(c.stop_reason))
                    } else {
                        null()
                    },
                )
        })
        .collect();
    with_metrics(out, c)
}
