//! The OpenAI Chat Completions API, as bedrock-runtime serves it at
//! `POST /openai/v1/chat/completions` for the OpenAI models.
//!
//! The request is the gpt-oss native InvokeModel body (the same chat-completions dialect, read
//! by the same decoder: `developer`/`system` → system prompts, `max_completion_tokens` /
//! `max_tokens` → max tokens, `stop` → stop sequences, `temperature`, `top_p`, tools,
//! multi-turn). The answer is the OpenAI object, which differs from InvokeModel's body in
//! what a client of the OpenAI API expects: `created` is the real time, and a stream carries
//! no `amazon-bedrock-invocationMetrics`; its usage comes only when asked for
//! (`stream_options.include_usage`), in a last chunk with empty `choices`, as OpenAI sends it.

use super::chat;
use super::NativeError;
use crate::output::Obj;
use crate::{Completion, ModelFamily, Prompt};

/// The request body as a normalized prompt (unknown keys such as `model` and `stream` are
/// ignored here; the caller reads them).
pub fn decode(body: &[u8]) -> Result<Prompt, NativeError> {
    chat::decode(body)
}

/// The `chat.completion` object for `model` (as the client named it). Ids derive from `seed`
/// (the request id), so a request id and completion always give the same ids.
pub fn encode_completion(model: &str, c: &Completion, seed: &str, created: u64) -> Vec<u8> {
    chat::encode_at(ModelFamily::OpenAi, model, c, seed, created).to_bytes()
}

/// The `chat.completion.chunk` objects of a streamed answer, in order: a role chunk, one per
/// text piece, one with the tool calls (if any), one with `finish_reason`, and with
/// `include_usage` a last one with `"choices": []` and `usage`.
pub fn encode_chunks(
    model: &str,
    c: &Completion,
    pieces: &[String],
    seed: &str,
    created: u64,
    include_usage: bool,
) -> Vec<Vec<u8>> {
    let mut out = chat::openai_chunks(ModelFamily::OpenAi, model, c, pieces, seed, created);
    if include_usage {
        let id = chat::completion_id(seed);
        out.push(
            chat::chunk_head(&id, model, created)
                .set("choices", Vec::<Obj>::new())
                .set("usage", chat::usage(c)),
        );
    }
    out.iter().map(Obj::to_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, StopReason, Usage};
    use serde_json::{json, Value};

    fn answer() -> Completion {
        Completion {
            content: vec![Block::Text("one two three".into())],
            stop_reason: StopReason::EndTurn,
            usage: Usage {
                input_tokens: 5,
                output_tokens: 3,
            },
            stop_sequence: None,
        }
    }

    fn parse(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn completion_object_carries_the_time_and_the_named_model() {
        let v = parse(&encode_completion(
            "openai.gpt-oss-20b-1:0",
            &answer(),
            "rid",
            1_700_000_000,
        ));
        let id = v["id"].as_str().unwrap();
        assert!(
            id.starts_with("chatcmpl-") && id.len() == "chatcmpl-".len() + 24,
            "{id}"
        );
        assert_eq!(
            v,
            json!({"id": id, "object": "chat.completion", "created": 1_700_000_000u64,
                   "model": "openai.gpt-oss-20b-1:0",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "one two three"},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
        );
    }

    #[test]
    fn chunks_end_with_the_reason_then_usage_only_when_asked() {
        let c = answer();
        let pieces = vec!["one two".to_string(), " three".to_string()];
        let plain = encode_chunks("m", &c, &pieces, "rid", 7, false);
        let v: Vec<Value> = plain.iter().map(|b| parse(b)).collect();
        assert_eq!(v.len(), 4);
        assert_eq!(
            v[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(v[1]["choices"][0]["delta"], json!({"content": "one two"}));
        assert_eq!(v[2]["choices"][0]["delta"], json!({"content": " three"}));
        assert_eq!(
            v[3]["choices"][0],
            json!({"index": 0, "delta": {}, "finish_reason": "stop"})
        );
        assert!(v.iter().all(|c| c.get("usage").is_none()
            && c.get("amazon-bedrock-invocationMetrics").is_none()
            && c["created"] == 7
            && c["object"] == "chat.completion.chunk"
            && c["id"] == v[0]["id"]));
        let with = encode_chunks("m", &c, &pieces, "rid", 7, true);
        assert_eq!(&with[..4], &plain[..]);
        let last = parse(&with[4]);
        assert_eq!(last["choices"], json!([]));
        assert_eq!(
            last["usage"],
            json!({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
        );
    }

    #[test]
    fn developer_and_system_become_system_prompts_and_limits_map() {
        let p = decode(
            br#"{"model":"x","stream":true,"messages":[{"role":"developer","content":"Be brief."},
                {"role":"user","content":"hi"},{"role":"assistant","content":"hello"},
                {"role":"user","content":[{"type":"text","text":"again"}]}],
                "max_completion_tokens":9,"stop":"END","temperature":0.5,"top_p":0.9}"#,
        )
        .unwrap();
        assert_eq!(p.system, vec!["Be brief.".to_string()]);
        assert_eq!(p.messages.len(), 3);
        assert_eq!(p.messages[2].text(), "again");
        assert_eq!(p.max_tokens, Some(9));
        assert_eq!(p.stop_sequences, vec!["END".to_string()]);
        assert_eq!(p.temperature, Some(0.5));
        assert_eq!(p.top_p, Some(0.9));
    }
}
