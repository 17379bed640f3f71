//! The common Converse body read in one typed pass, straight from the bytes into the prompt
//! (no `serde_json::Value` tree, keys never copied, the role borrowed).
//!
//! It covers a subset of the valid requests: text, tool-use, tool-result (text and JSON) and
//! cache-point blocks, text and cache-point system blocks, `inferenceConfig` and `toolConfig`
//! with tool specs. Anything else, and anything the service model would refuse (a missing or
//! `null` required member, a wrong JSON type, a value out of range, an unknown member, a
//! duplicate key), makes [`read`] answer `None`, and the caller reads the body through the
//! `Value` path, which owns every validation message. So this pass only has to be right about
//! what it accepts: for those bodies it must build the prompt the `Value` path builds
//! (`tests::typed_and_value_paths_agree`).

use super::{content_rules_error, Prompt};
use bg_backends::{Block, Message, Role, ToolChoice, ToolSpec};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::marker::PhantomData;

/// A member that must be a JSON object. A derived struct alone would also take a JSON array
/// (serde reads a struct from a sequence, member by member), which the service model refuses.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a structure")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Only(PhantomData)).map(Obj)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request<'a> {
    #[serde(borrow)]
    messages: Option<Vec<Obj<MessageIn<'a>>>>,
    system: Option<Vec<Obj<SystemIn>>>,
    #[serde(rename = "inferenceConfig")]
    inference_config: Option<Obj<InferenceIn>>,
    #[serde(rename = "toolConfig")]
    tool_config: Option<Obj<ToolConfigIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageIn<'a> {
    #[serde(borrow)]
    role: Cow<'a, str>,
    content: Vec<Obj<BlockIn>>,
}

/// A `ContentBlock` union: exactly one member may be set (checked after the read).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockIn {
    text: Option<String>,
    #[serde(rename = "toolUse")]
    tool_use: Option<Obj<ToolUseIn>>,
    #[serde(rename = "toolResult")]
    tool_result: Option<Obj<ToolResultIn>>,
    #[serde(rename = "cachePoint")]
    cache_point: Option<Obj<CachePointIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolUseIn {
    #[serde(rename = "toolUseId")]
    id: String,
    name: String,
    /// `None` for JSON `null`: required, so the `Value` path reports it.
    input: Option<Value>,
    #[serde(rename = "type")]
    _kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolResultIn {
    #[serde(rename = "toolUseId")]
    id: String,
    content: Vec<Obj<ResultItemIn>>,
    status: Option<String>,
}

/// A tool result's content item: its text, else its JSON as text (as the `Value` path reads
/// it: `text` wins, `json` is not looked at then).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultItemIn {
    text: Option<String>,
    json: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CachePointIn {
    #[serde(rename = "type")]
    _kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemIn {
    text: Option<String>,
    #[serde(rename = "cachePoint")]
    _cache_point: Option<Obj<CachePointIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InferenceIn {
    #[serde(rename = "maxTokens")]
    max_tokens: Option<i64>,
    temperature: Option<f64>,
    #[serde(rename = "topP")]
    top_p: Option<f64>,
    #[serde(rename = "stopSequences")]
    stop_sequences: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolConfigIn {
    tools: Vec<Obj<ToolIn>>,
    #[serde(rename = "toolChoice")]
    tool_choice: Option<Obj<ToolChoiceIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolIn {
    #[serde(rename = "toolSpec")]
    tool_spec: Option<Obj<ToolSpecIn>>,
    #[serde(rename = "cachePoint")]
    _cache_point: Option<Obj<CachePointIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolSpecIn {
    name: String,
    description: Option<String>,
    #[serde(rename = "inputSchema")]
    input_schema: Obj<InputSchemaIn>,
}

/// The `ToolInputSchema` union; only `json` is a member of it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSchemaIn {
    json: Option<Value>,
}

/// `auto` and `any` are looked at only for being set, whatever their value, as the `Value`
/// path does.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolChoiceIn {
    #[serde(rename = "auto")]
    _auto: Option<IgnoredAny>,
    any: Option<IgnoredAny>,
    tool: Option<Obj<NamedToolIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedToolIn {
    name: String,
}

/// The prompt of a body this pass covers, or the conversation rule it breaks; `None` when the
/// body is outside the subset (the `Value` path answers then).
pub(super) fn read(body: &[u8]) -> Option<Result<Prompt, crate::error::ApiError>> {
    let Obj(req) = serde_json::from_slice::<Obj<Request>>(body).ok()?;
    let mut prompt = Prompt::default();
    if let Some(Obj(ic)) = req.inference_config {
        inference(ic, &mut prompt)?;
    }
    if let Some(Obj(tc)) = req.tool_config {
        tools(tc, &mut prompt)?;
    }
    for Obj(s) in req.system.unwrap_or_default() {
        prompt.system.extend(s.text);
    }
    let messages = req.messages.unwrap_or_default();
    // The blank-content rules look at the blocks as sent (a cache point counts), so they are
    // read before the blocks are turned into the prompt's.
    let blank = messages.iter().enumerate().find_map(|(i, Obj(m))| {
        let texts = m.content.iter().map(|Obj(b)| b.text.as_deref());
        content_rules_error(i, m.content.len(), texts)
    });
    prompt.messages = Vec::with_capacity(messages.len());
    for Obj(m) in messages {
        prompt.messages.push(message(m)?);
    }
    Some(
        super::conversation_rules(&prompt)
            .and(blank.map_or(Ok(()), Err))
            .map(|()| prompt),
    )
}

fn message(m: MessageIn) -> Option<Message> {
    let role = match &*m.role {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        _ => return None,
    };
    let mut content = Vec::with_capacity(m.content.len());
    for Obj(b) in m.content {
        if let Some(block) = block(b)? {
            content.push(block);
        }
    }
    Some(Message { role, content })
}

/// One block: `Some(None)` for a cache point (checked, not kept), `None` when the union does
/// not have exactly one member set.
fn block(b: BlockIn) -> Option<Option<Block>> {
    let set = usize::from(b.text.is_some())
        + usize::from(b.tool_use.is_some())
        + usize::from(b.tool_result.is_some())
        + usize::from(b.cache_point.is_some());
    if set != 1 {
        return None;
    }
    if let Some(t) = b.text {
        return Some(Some(Block::Text(t)));
    }
    if let Some(Obj(u)) = b.tool_use {
        return Some(Some(Block::ToolUse {
            id: u.id,
            name: u.name,
            input: u.input?,
        }));
    }
    if let Some(Obj(r)) = b.tool_result {
        let content = r
            .content
            .into_iter()
            .filter_map(|Obj(item)| match (item.text, item.json) {
                (Some(t), _) => Some(Block::Text(t)),
                (None, Some(j)) => Some(Block::Text(j.to_string())),
                (None, None) => None,
            })
            .collect();
        return Some(Some(Block::ToolResult {
            tool_use_id: r.id,
            content,
            status: r.status,
        }));
    }
    Some(None)
}

/// `InferenceConfiguration`: `None` for a value the service model refuses.
fn inference(ic: InferenceIn, prompt: &mut Prompt) -> Option<()> {
    if let Some(n) = ic.max_tokens {
        if n < 1 {
            return None;
        }
        prompt.max_tokens = Some(n.min(u32::MAX as i64) as u32);
    }
    let unit = |x: Option<f64>| match x {
        Some(x) if !(0.0..=1.0).contains(&x) => None,
        x => Some(x.map(|x| x as f32)),
    };
    prompt.temperature = unit(ic.temperature)?;
    prompt.top_p = unit(ic.top_p)?;
    prompt.stop_sequences = ic.stop_sequences.unwrap_or_default();
    Some(())
}

fn tools(tc: ToolConfigIn, prompt: &mut Prompt) -> Option<()> {
    for Obj(t) in tc.tools {
        if let Some(Obj(spec)) = t.tool_spec {
            prompt.tools.push(ToolSpec {
                name: spec.name,
                description: spec.description,
                input_schema: spec.input_schema.0.json?,
            });
        }
    }
    prompt.tool_choice = match tc.tool_choice {
        None => ToolChoice::Auto,
        Some(Obj(c)) => match (c.any, c.tool) {
            (Some(_), _) => ToolChoice::Any,
            (None, Some(Obj(t))) => ToolChoice::Tool(t.name),
            (None, None) => ToolChoice::Auto,
        },
    };
    Some(())
}
