//! DeepSeek-R1: `{"prompt","max_tokens","temperature","top_p","stop"}` →
//! `{"choices":[{"text","stop_reason"}]}`.

use super::mistral::{stop_reason, PromptRequest};
use super::schema::{parse_object, Checker, Kind};
use super::templates::parse_deepseek;
use super::{with_metrics, NativeError};
use crate::output::{null, Obj, J};
use crate::{Completion, Prompt};

/// Decode a DeepSeek-R1 request body (template tokens stripped).
pub(crate) fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    let obj = parse_object(body)?;
    let mut c = Checker::new();
    c.keys(
        "#",
        &obj,
        &["prompt"],
        Some(&["prompt", "max_tokens", "temperature", "top_p", "stop"]),
    );
    c.field("#", &obj, "prompt", Kind::Str);
    c.number("#", &obj, "max_tokens", Kind::Int, Some(1.0), None);
    c.number("#", &obj, "temperature", Kind::Num, Some(0.0), Some(1.0));
    c.number("#", &obj, "top_p", Kind::Num, Some(0.0), Some(1.0));
    c.string_array("#", &obj, "stop");
    let req: PromptRequest = c.parse(obj)?;
    Ok(req.into_prompt(parse_deepseek))
}

/// `{"choices":[{"text","stop_reason"}]}`.
pub(crate) fn encode(c: &Completion) -> Obj {
    Obj::new().set(
        "choices",
        vec![Obj::new()
            .set("text", c.text())
            .set("stop_reason", stop_reason(c.stop_reason))],
    )
}

/// Stream: `{"choices":[{"text","stop_reason":null}]}` per piece, the last with its reason.
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
                "choices",
                vec![Obj::new()
                    .set("text", p.as_str())
                    .set("stop_reason", reason)],
            )
        })
        .collect();
    with_metrics(out, c)
}
