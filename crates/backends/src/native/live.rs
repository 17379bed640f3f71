//! `InvokeModelWithResponseStream` chunks made as an upstream streams: each normalized
//! [`StreamEvent`] becomes the family's native chunk payload(s) at once, so the first token
//! reaches the client when the upstream sends it.
//!
//! The opening chunks (Anthropic's `message_start`, Nova's `messageStart`, the chat role chunk,
//! Cohere's `stream-start`) and the closing ones (stop reason, usage and
//! `amazon-bedrock-invocationMetrics`) come from the same encoders as the scripted stream, with
//! ids from one seed fixed when the stream starts, so a live stream and a scripted one have the
//! same shape. Text deltas are written here, one chunk per upstream delta.
//!
//! Families whose last text chunk carries the stop reason (Llama, Mistral, DeepSeek, Titan)
//! cannot know it is the last while the upstream is still sending: they end with one more
//! chunk, of empty text, that carries the stop reason and the metrics (as Bedrock's own Llama
//! streams do). Anthropic and Nova stream tool uses and reasoning as they arrive; the other
//! families send tool calls whole in their closing chunks (their scripted streams do the same).

use serde_json::{json, Value};

use super::encode_stream_chunks_seeded;
use crate::{count_tokens, Block, Completion, ModelFamily, StopReason, StreamEvent, Usage};

/// The native chunks of one live stream, made event by event.
pub struct LiveChunks {
    family: ModelFamily,
    model_id: String,
    seed: String,
    input_tokens: u32,
    /// What has been said so far: the closing chunks need the whole answer.
    content: Vec<Block>,
    /// Upstream block index → position in `content` (and the native block index).
    blocks: Vec<(usize, usize)>,
    text_so_far: String,
    chunks_sent: usize,
    /// Whether the opening chunks were sent (at `MessageStart`, or before the first other event
    /// of an upstream that sends none).
    opened: bool,
    stop: Option<(StopReason, Option<String>)>,
    usage: Option<Usage>,
}

impl LiveChunks {
    /// `seed` fixes the stream's ids (the request id, say); `input_tokens` is the prompt's count
    /// until the upstream reports its own.
    pub fn new(family: ModelFamily, model_id: &str, seed: &str, input_tokens: u32) -> LiveChunks {
        LiveChunks {
            family,
            model_id: model_id.to_string(),
            seed: format!("{model_id}\u{0}{seed}"),
            input_tokens,
            content: Vec::new(),
            blocks: Vec::new(),
            text_so_far: String::new(),
            chunks_sent: 0,
            opened: false,
            stop: None,
            usage: None,
        }
    }

    /// Whether the family streams on `InvokeModelWithResponseStream` (embedding and image
    /// families do not).
    pub fn streams(family: ModelFamily) -> bool {
        !matches!(
            family,
            ModelFamily::AmazonTitanEmbed
                | ModelFamily::CohereEmbed
                | ModelFamily::AmazonNovaCanvas
        )
    }

    /// The chunk payloads for one event, in order (often one, sometimes none).
    pub fn push(&mut self, ev: &StreamEvent) -> Vec<Vec<u8>> {
        let mut out = if self.opened {
            Vec::new()
        } else {
            self.opening()
        };
        out.extend(self.event_chunks(ev));
        out
    }

    fn event_chunks(&mut self, ev: &StreamEvent) -> Vec<Vec<u8>> {
        use ModelFamily as F;
        let out: Vec<Value> = match ev {
            StreamEvent::MessageStart => return Vec::new(),
            StreamEvent::TextDelta { index, text } => {
                let (pos, new) = self.block(*index, || Block::Text(String::new()));
                if let Block::Text(t) = &mut self.content[pos] {
                    t.push_str(text);
                }
                self.text_so_far.push_str(text);
                self.text_chunk(pos, new, text)
            }
            StreamEvent::ReasoningDelta { index, text } => {
                let (pos, new) = self.block(*index, || Block::Reasoning(String::new()));
                if let Block::Reasoning(t) = &mut self.content[pos] {
                    t.push_str(text);
                }
                match self.family {
                    F::AnthropicClaude => {
                        let mut v = Vec::new();
                        if new {
                            v.push(json!({"type": "content_block_start", "index": pos,
                                "content_block": {"type": "thinking", "thinking": ""}}));
                        }
                        v.push(json!({"type": "content_block_delta", "index": pos,
                            "delta": {"type": "thinking_delta", "thinking": text}}));
                        v
                    }
                    F::AmazonNova => vec![json!({"contentBlockDelta": {"contentBlockIndex": pos,
                        "delta": {"reasoningContent": {"text": text}}}})],
                    // The other families' streams carry no reasoning.
                    _ => Vec::new(),
                }
            }
            StreamEvent::ToolUseStart { index, id, name } => {
                let (pos, _) = self.block(*index, || Block::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input: Value::Null,
                });
                match self.family {
                    F::AnthropicClaude => vec![json!({"type": "content_block_start", "index": pos,
                        "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})],
                    F::AmazonNova => vec![json!({"contentBlockStart": {"contentBlockIndex": pos,
                        "start": {"toolUse": {"toolUseId": id, "name": name}}}})],
                    _ => Vec::new(),
                }
            }
            StreamEvent::ToolInputDelta { index, json: piece } => {
                let (pos, _) = self.block(*index, || Block::ToolUse {
                    id: String::new(),
                    name: String::new(),
                    input: Value::Null,
                });
                // The input is kept as text until the block ends (it arrives in pieces).
                if let Block::ToolUse { input, .. } = &mut self.content[pos] {
                    let mut s = match input {
                        Value::String(s) => std::mem::take(s),
                        _ => String::new(),
                    };
                    s.push_str(piece);
                    *input = Value::String(s);
                }
                match self.family {
                    F::AnthropicClaude => vec![json!({"type": "content_block_delta", "index": pos,
                        "delta": {"type": "input_json_delta", "partial_json": piece}})],
                    F::AmazonNova => vec![json!({"contentBlockDelta": {"contentBlockIndex": pos,
                        "delta": {"toolUse": {"input": piece}}}})],
                    _ => Vec::new(),
                }
            }
            StreamEvent::BlockStop { index } => {
                let Some(pos) = self.position(*index) else {
                    return Vec::new();
                };
                if let Block::ToolUse { input, .. } = &mut self.content[pos] {
                    let text = input.as_str().unwrap_or("").to_string();
                    *input = serde_json::from_str(&text).unwrap_or_else(|_| json!({}));
                }
                match self.family {
                    F::AnthropicClaude => {
                        vec![json!({"type": "content_block_stop", "index": pos})]
                    }
                    F::AmazonNova => {
                        vec![json!({"contentBlockStop": {"contentBlockIndex": pos}})]
                    }
                    _ => Vec::new(),
                }
            }
            StreamEvent::MessageStop {
                stop_reason,
                stop_sequence,
            } => {
                self.stop = Some((*stop_reason, stop_sequence.clone()));
                Vec::new()
            }
            StreamEvent::Usage(u) => {
                self.usage = Some(*u);
                Vec::new()
            }
        };
        self.chunks_sent += out.len();
        out.iter().map(|v| v.to_string().into_bytes()).collect()
    }

    /// The closing chunks once the upstream's stream ended: stop reason, usage and the
    /// invocation metrics (`invocationLatency` and `firstByteLatency` as measured, in ms).
    pub fn finish(&mut self, invocation_ms: u64, first_byte_ms: u64) -> Vec<Vec<u8>> {
        use ModelFamily as F;
        if !self.opened {
            // An upstream that sent nothing at all: the opening chunks still come first.
            let mut out = self.opening();
            out.extend(self.finish(invocation_ms, first_byte_ms));
            return out;
        }
        let c = self.completion();
        // The closing chunks are the scripted encoder's last ones, for an answer whose text was
        // already sent: Anthropic and Nova get no content (it was streamed), the others one
        // empty piece (skipped with the opening chunks, or kept as the closing chunk).
        let (encoded, skip) = match self.family {
            F::AnthropicClaude | F::AmazonNova => {
                let bare = Completion {
                    content: Vec::new(),
                    ..c.clone()
                };
                (self.encode(&bare), 1)
            }
            F::OpenAi | F::Qwen | F::Ai21Jamba | F::CohereCommandR => (self.encode(&c), 2),
            F::MistralChat | F::CohereCommand => (self.encode(&c), 1),
            _ => (self.encode(&c), 0),
        };
        encoded
            .into_iter()
            .skip(skip)
            .map(|b| {
                let mut v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                if let Some(m) = v.get_mut("amazon-bedrock-invocationMetrics") {
                    m["invocationLatency"] = json!(invocation_ms);
                    m["firstByteLatency"] = json!(first_byte_ms);
                }
                // The opening chunk already said how long the prompt was.
                if self.family == F::MetaLlama && self.chunks_sent > 0 {
                    v["prompt_token_count"] = Value::Null;
                }
                if self.family == F::AmazonTitanText && self.chunks_sent > 0 {
                    if let Some(o) = v.as_object_mut() {
                        o.remove("inputTextTokenCount");
                    }
                }
                v.to_string().into_bytes()
            })
            .collect()
    }

    /// The answer so far, as a completion (usage from the upstream, else counted).
    pub fn completion(&self) -> Completion {
        let (stop_reason, stop_sequence) = self.stop.clone().unwrap_or((StopReason::EndTurn, None));
        let content = self
            .content
            .iter()
            .map(|b| match b {
                // A tool use whose block never closed: its input text as far as it came.
                Block::ToolUse { id, name, input } if input.is_string() => Block::ToolUse {
                    id: id.clone(),
                    name: name.clone(),
                    input: serde_json::from_str(input.as_str().unwrap_or(""))
                        .unwrap_or_else(|_| json!({})),
                },
                other => other.clone(),
            })
            .collect();
        Completion {
            content,
            stop_reason,
            usage: self.usage.unwrap_or(Usage {
                input_tokens: self.input_tokens,
                output_tokens: count_tokens(&self.text_so_far),
            }),
            stop_sequence,
        }
    }

    fn encode(&self, c: &Completion) -> Vec<Vec<u8>> {
        encode_stream_chunks_seeded(self.family, &self.model_id, c, &[String::new()], &self.seed)
    }

    /// The opening chunks: the scripted encoder's first ones for an empty answer.
    fn opening(&mut self) -> Vec<Vec<u8>> {
        use ModelFamily as F;
        self.opened = true;
        let n = match self.family {
            F::AnthropicClaude | F::AmazonNova | F::OpenAi | F::Qwen | F::Ai21Jamba => 1,
            F::CohereCommandR => 1,
            _ => 0,
        };
        let empty = Completion {
            content: Vec::new(),
            stop_reason: StopReason::EndTurn,
            usage: Usage {
                input_tokens: self.input_tokens,
                output_tokens: 0,
            },
            stop_sequence: None,
        };
        let out: Vec<Vec<u8>> = self.encode(&empty).into_iter().take(n).collect();
        self.chunks_sent += out.len();
        out
    }

    /// The native position of the upstream's block `index`, opening it with `make` when new.
    fn block(&mut self, index: usize, make: impl FnOnce() -> Block) -> (usize, bool) {
        if let Some(pos) = self.position(index) {
            return (pos, false);
        }
        let pos = self.content.len();
        self.content.push(make());
        self.blocks.push((index, pos));
        (pos, true)
    }

    fn position(&self, index: usize) -> Option<usize> {
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| *p)
    }

    /// One text delta in the family's shape.
    fn text_chunk(&self, pos: usize, new: bool, text: &str) -> Vec<Value> {
        use ModelFamily as F;
        let first = self.chunks_sent == 0;
        let so_far = count_tokens(&self.text_so_far);
        match self.family {
            F::AnthropicClaude => {
                let mut v = Vec::new();
                if new {
                    v.push(json!({"type": "content_block_start", "index": pos,
                        "content_block": {"type": "text", "text": ""}}));
                }
                v.push(json!({"type": "content_block_delta", "index": pos,
                    "delta": {"type": "text_delta", "text": text}}));
                v
            }
            F::AmazonNova => vec![json!({"contentBlockDelta": {"contentBlockIndex": pos,
                "delta": {"text": text}}})],
            F::OpenAi | F::Qwen | F::Ai21Jamba => {
                let mut v = self.chat_head();
                v["choices"] =
                    json!([{"index": 0, "delta": {"content": text}, "finish_reason": null}]);
                vec![v]
            }
            F::MistralChat => {
                let mut v = self.chat_head();
                v["choices"] = json!([{"index": 0,
                    "message": {"role": "assistant", "content": text},
                    "stop_reason": null, "finish_reason": null}]);
                vec![v]
            }
            F::MetaLlama => vec![json!({"generation": text,
                "prompt_token_count": if first { json!(self.input_tokens) } else { Value::Null },
                "generation_token_count": so_far, "stop_reason": null})],
            F::Mistral => vec![json!({"outputs": [{"text": text, "stop_reason": null}]})],
            F::DeepSeek => vec![json!({"choices": [{"text": text, "stop_reason": null}]})],
            F::AmazonTitanText => {
                let mut v = json!({"outputText": text, "index": 0,
                    "totalOutputTextTokenCount": so_far, "completionReason": null});
                if first {
                    v["inputTextTokenCount"] = json!(self.input_tokens);
                }
                vec![v]
            }
            F::CohereCommandR => vec![json!({"is_finished": false,
                "event_type": "text-generation", "text": text})],
            F::CohereCommand => vec![json!({"text": text, "is_finished": false})],
            F::AmazonTitanEmbed | F::CohereEmbed | F::AmazonNovaCanvas => Vec::new(),
        }
    }

    /// `id`, `object`, `created`, `model` of a chat chunk, as the opening chunk has them.
    fn chat_head(&self) -> Value {
        let opening = self.encode(&Completion {
            content: Vec::new(),
            stop_reason: StopReason::EndTurn,
            usage: Usage::default(),
            stop_sequence: None,
        });
        let mut v: Value = opening
            .first()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_else(|| json!({}));
        if let Some(o) = v.as_object_mut() {
            o.retain(|k, _| matches!(k.as_str(), "id" | "object" | "created" | "model"));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<StreamEvent> {
        vec![
            StreamEvent::MessageStart,
            StreamEvent::TextDelta {
                index: 0,
                text: "one ".into(),
            },
            StreamEvent::TextDelta {
                index: 0,
                text: "two".into(),
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageStop {
                stop_reason: StopReason::EndTurn,
                stop_sequence: None,
            },
            StreamEvent::Usage(Usage {
                input_tokens: 5,
                output_tokens: 2,
            }),
        ]
    }

    fn run(family: ModelFamily) -> Vec<Value> {
        let mut l = LiveChunks::new(family, "m", "req", 3);
        let mut out: Vec<Vec<u8>> = events().iter().flat_map(|e| l.push(e)).collect();
        out.extend(l.finish(40, 7));
        out.iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect()
    }

    #[test]
    fn anthropic_chunks_are_the_messages_stream() {
        let v = run(ModelFamily::AnthropicClaude);
        let kinds: Vec<&str> = v.iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(v[2]["delta"], json!({"type": "text_delta", "text": "one "}));
        assert_eq!(v[5]["usage"]["output_tokens"], 2);
        assert_eq!(v[5]["delta"]["stop_reason"], "end_turn");
        assert_eq!(
            v[6]["amazon-bedrock-invocationMetrics"],
            json!({"inputTokenCount": 5, "outputTokenCount": 2,
                   "invocationLatency": 40, "firstByteLatency": 7})
        );
    }

    #[test]
    fn the_opening_comes_first_even_without_a_message_start() {
        let mut l = LiveChunks::new(ModelFamily::AnthropicClaude, "m", "r", 1);
        let first: Vec<Value> = l
            .push(&StreamEvent::TextDelta {
                index: 0,
                text: "hi".into(),
            })
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        let kinds: Vec<&str> = first.iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "message_start",
                "content_block_start",
                "content_block_delta"
            ]
        );
        // A later MessageStart adds nothing.
        assert!(l.push(&StreamEvent::MessageStart).is_empty());
    }

    #[test]
    fn llama_ends_with_an_empty_chunk_carrying_the_stop_reason() {
        let v = run(ModelFamily::MetaLlama);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0]["generation"], "one ");
        assert_eq!(v[0]["prompt_token_count"], 3);
        assert_eq!(v[1]["prompt_token_count"], Value::Null);
        assert_eq!(v[2]["generation"], "");
        assert_eq!(v[2]["stop_reason"], "stop");
        assert_eq!(v[2]["prompt_token_count"], Value::Null);
        assert_eq!(v[2]["generation_token_count"], 2);
        assert_eq!(
            v[2]["amazon-bedrock-invocationMetrics"]["inputTokenCount"],
            5
        );
    }

    #[test]
    fn chat_chunks_share_one_id_and_end_with_usage() {
        let v = run(ModelFamily::OpenAi);
        assert_eq!(v.len(), 4);
        let id = v[0]["id"].as_str().unwrap();
        assert!(id.starts_with("chatcmpl-"));
        assert!(v.iter().all(|c| c["id"] == id));
        assert_eq!(v[1]["choices"][0]["delta"]["content"], "one ");
        assert_eq!(v[3]["choices"][0]["finish_reason"], "stop");
        assert_eq!(v[3]["usage"]["completion_tokens"], 2);
    }

    #[test]
    fn nova_streams_tool_uses_as_they_come() {
        let mut l = LiveChunks::new(ModelFamily::AmazonNova, "m", "r", 1);
        let evs = [
            StreamEvent::MessageStart,
            StreamEvent::ToolUseStart {
                index: 1,
                id: "t1".into(),
                name: "f".into(),
            },
            StreamEvent::ToolInputDelta {
                index: 1,
                json: "{\"a\":".into(),
            },
            StreamEvent::ToolInputDelta {
                index: 1,
                json: "1}".into(),
            },
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::MessageStop {
                stop_reason: StopReason::ToolUse,
                stop_sequence: None,
            },
        ];
        let n: usize = evs.iter().map(|e| l.push(e).len()).sum();
        assert_eq!(n, 5);
        assert_eq!(
            l.completion().tool_uses(),
            vec![("t1", "f", &json!({"a": 1}))]
        );
        let tail: Vec<Value> = l
            .finish(1, 1)
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        assert_eq!(tail[0]["messageStop"]["stopReason"], "tool_use");
        assert!(tail[1]["metadata"].is_object());
    }
}
