//! The deterministic scripted backend (the default).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::embed::pseudo_embedding;
use crate::output::{base62_id, clip_chars, collapse_ws, find_word, find_words};
use crate::tokens::{count_prompt_tokens, count_tokens, truncate_to_tokens};
use crate::{
    Backend, BackendError, Block, BoxFuture, Completion, Embedding, Prompt, Role, StopReason,
    ToolChoice, ToolSpec, Usage,
};

/// How many characters of the user's text the default reply quotes.
const QUOTE_CHARS: usize = 60;
/// How many characters of a tool result the summary quotes.
const TOOL_RESULT_CHARS: usize = 200;

/// A deterministic backend: no network, no randomness, no clock.
///
/// ## Answer rules (in order)
///
/// The *last user text* is the text blocks of the most recent user message
/// that has any text, joined with `"\n"`.
///
/// 1. **Tool results.** If the last message carries `ToolResult` blocks, the
///    answer is text: one sentence per result, `The {tool} tool returned: {text}`
///    (or `The {tool} tool reported an error: {text}` when its status is
///    `error`), quoting at most 200 characters of the collapsed result text. The
///    tool name comes from the matching earlier `ToolUse` block (`requested` if
///    none matches).
/// 2. **Tool calls.** Otherwise, when tools are offered and the tool choice is
///    `Any` or `Tool(name)`, or is `Auto` and the last user text mentions a tool
///    (its name, case-insensitively at word boundaries, or the name with `_`/`-`
///    as spaces or camelCase split into words — so "use the get weather tool"
///    matches `get_weather`), the answer is one `ToolUse` block and the stop
///    reason is `ToolUse`. The tool is the one named by `Tool(name)` (a name not
///    among the tools is a `Validation` error), else the earliest mentioned, else
///    (for `Any`) the first tool. Its id is `tooluse_` + 22 base62 characters of
///    sha256(prompt as JSON, tool name). Its input fills the schema's `required`
///    properties: `enum` → first value, `const` → that value, string → the word
///    that follows the property name in the last user text (skipping `:`, `=`,
///    quotes and the filler words is/of/to/as/named/called/the), else
///    `"example"`; integer/number → `1`; boolean → `true`; array → `[]`; object →
///    recursively its own required properties; `anyOf`/`oneOf`/`allOf` → the
///    first alternative. Tool choice `None` never calls tools.
/// 3. **Structured output.** Otherwise, when the prompt carries an output schema, the answer
///    is a JSON value generated from it (see [`crate::structured::generate`]): deterministic
///    per prompt, every property present, enums and types respected, not cut.
/// 4. **Text.** Otherwise the answer is the **pinned** answer for the model when
///    one is set (returned verbatim: no directives apply), else:
///    * `Reply with exactly: X` (also `Respond with exactly`, `Answer with
///      exactly`, `Say exactly`; case-insensitive, colon optional) in the system
///      prompt — or, if absent there, in the last user text — answers `X`: the
///      rest of that line, trimmed, with one pair of surrounding `"`, `'` or
///      `` ` `` removed;
///    * else, after tool results, the rule-1 summary;
///    * else `This is a scripted reply from {model_id} to: {quote}` where `quote`
///      is the last user text with whitespace collapsed, cut to its first 60
///      characters plus `...` when longer; `This is a scripted reply from
///      {model_id}.` when there is no user text.
///
///    Then, unless pinned, a case directive applies: `in uppercase`, `in upper
///    case` or `in all caps` upper-cases the answer; `in lowercase` or `in lower
///    case` lower-cases it (system prompt first, then the last user text).
///    (A pinned answer also replaces the rule-1 summary.)
/// 5. **Stop sequences**: the answer is cut before the earliest occurrence of any
///    stop sequence (the sequence is not included); stop reason `StopSequence`.
/// 6. **`max_tokens`**: the answer is cut with [`truncate_to_tokens`] to at most
///    `max_tokens` tokens; stop reason `MaxTokens`. (Tool calls are never cut.)
///
/// Usage: input = [`count_prompt_tokens`]; output = [`count_tokens`] of the
/// answer text, or for a tool call `count_tokens(name) + count_tokens(input JSON)`.
///
/// ## Embeddings
/// [`pseudo_embedding`] of the text with the requested length;
/// `input_tokens` = [`count_tokens`] of the text. `dimensions == 0` is a
/// `Validation` error.
#[derive(Clone, Debug, Default)]
pub struct ScriptedBackend {
    pinned: BTreeMap<String, String>,
}

impl ScriptedBackend {
    /// A scripted backend with no pinned answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pin the text answer for `model_id` (exact model id match).
    pub fn pin(&mut self, model_id: &str, answer: &str) {
        self.pinned.insert(model_id.to_string(), answer.to_string());
    }

    /// Remove the pinned answer for `model_id`, returning it.
    pub fn unpin(&mut self, model_id: &str) -> Option<String> {
        self.pinned.remove(model_id)
    }

    /// The pinned answer for `model_id`, if any.
    pub fn pinned(&self, model_id: &str) -> Option<&str> {
        self.pinned.get(model_id).map(String::as_str)
    }
}

impl Backend for ScriptedBackend {
    fn complete<'a>(
        &'a self,
        model_id: &'a str,
        prompt: &'a Prompt,
    ) -> BoxFuture<'a, Result<Completion, BackendError>> {
        Box::pin(std::future::ready(ScriptedBackend::complete(
            self, model_id, prompt,
        )))
    }

    fn embed<'a>(
        &'a self,
        model_id: &'a str,
        text: &'a str,
        dimensions: usize,
        normalize: bool,
    ) -> BoxFuture<'a, Result<Embedding, BackendError>> {
        Box::pin(std::future::ready(ScriptedBackend::embed(
            self, model_id, text, dimensions, normalize,
        )))
    }
}

/// The answers themselves, synchronous: the scripted backend never waits.
impl ScriptedBackend {
    pub fn complete(&self, model_id: &str, prompt: &Prompt) -> Result<Completion, BackendError> {
        let input_tokens = count_prompt_tokens(prompt);
        let user_text = last_user_text(prompt);
        let tool_results = last_tool_results(prompt);

        if tool_results.is_empty() {
            if let Some(tool) = choose_tool(prompt, &user_text)? {
                return Ok(tool_call(prompt, tool, &user_text, input_tokens));
            }
        }

        if let Some(out) = &prompt.output_schema {
            return Ok(structured_answer(
                prompt,
                &out.schema,
                &user_text,
                input_tokens,
            ));
        }

        let text = match self.pinned(model_id) {
            Some(p) => p.to_string(),
            None => {
                let system = prompt.system.join("\n");
                let base = exact_directive(&system)
                    .or_else(|| exact_directive(&user_text))
                    .unwrap_or_else(|| {
                        if tool_results.is_empty() {
                            default_reply(model_id, &user_text)
                        } else {
                            summarize_tool_results(prompt, &tool_results)
                        }
                    });
                match case_directive(&system).or_else(|| case_directive(&user_text)) {
                    Some(Case::Upper) => base.to_uppercase(),
                    Some(Case::Lower) => base.to_lowercase(),
                    None => base,
                }
            }
        };
        Ok(finish_text(text, prompt, input_tokens))
    }

    pub fn embed(
        &self,
        _model_id: &str,
        text: &str,
        dimensions: usize,
        normalize: bool,
    ) -> Result<Embedding, BackendError> {
        if dimensions == 0 {
            return Err(BackendError::Validation(
                "The embedding dimensions must be greater than 0.".to_string(),
            ));
        }
        Ok(Embedding {
            vector: pseudo_embedding(text, dimensions, normalize),
            input_tokens: count_tokens(text),
        })
    }
}

/// Rule 3a: a JSON value generated from the schema ([`crate::structured::generate`], seeded
/// with the prompt, hinted by the user's text), as compact JSON text. Neither stop sequences
/// nor `max_tokens` cut it: a cut answer would not parse, and the point of a scripted
/// structured answer is JSON a client can parse.
fn structured_answer(
    prompt: &Prompt,
    schema: &Value,
    user_text: &str,
    input_tokens: u32,
) -> Completion {
    let seed = serde_json::to_vec(prompt).unwrap_or_default();
    let text = crate::structured::generate(schema, &seed, user_text).to_string();
    let output_tokens = count_tokens(&text);
    Completion {
        content: vec![Block::Text(text)],
        stop_reason: StopReason::EndTurn,
        usage: Usage {
            input_tokens,
            output_tokens,
        },
        stop_sequence: None,
    }
}

/// Text of the most recent user message that has any text.
fn last_user_text(prompt: &Prompt) -> String {
    prompt
        .messages
        .iter()
        .rev()
        .filter(|m| m.role == Role::User)
        .map(|m| m.text())
        .find(|t| !t.trim().is_empty())
        .unwrap_or_default()
}

/// `(tool_use_id, content, status)` of the tool results in the last message.
fn last_tool_results(prompt: &Prompt) -> Vec<(&str, &[Block], Option<&str>)> {
    prompt
        .messages
        .last()
        .map(|m| {
            m.content
                .iter()
                .filter_map(|b| match b {
                    Block::ToolResult {
                        tool_use_id,
                        content,
                        status,
                    } => Some((tool_use_id.as_str(), content.as_slice(), status.as_deref())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn default_reply(model_id: &str, user_text: &str) -> String {
    let quote = collapse_ws(user_text);
    if quote.is_empty() {
        format!("This is a scripted reply from {model_id}.")
    } else {
        format!(
            "This is a scripted reply from {model_id} to: {}",
            clip_chars(&quote, QUOTE_CHARS)
        )
    }
}

fn summarize_tool_results(prompt: &Prompt, results: &[(&str, &[Block], Option<&str>)]) -> String {
    let names = tool_names(prompt);
    let sentences: Vec<String> = results
        .iter()
        .map(|(id, content, status)| {
            let name = names.get(id).copied().unwrap_or("requested");
            let parts: Vec<String> = content
                .iter()
                .filter_map(|b| match b {
                    Block::Text(t) => Some(t.clone()),
                    Block::Document { text, .. } => Some(text.clone()),
                    Block::Image { format, .. } => Some(format!("[{format} image]")),
                    _ => None,
                })
                .collect();
            let text = clip_chars(&collapse_ws(&parts.join(" ")), TOOL_RESULT_CHARS);
            match (*status == Some("error"), text.is_empty()) {
                (true, true) => format!("The {name} tool reported an error."),
                (true, false) => format!("The {name} tool reported an error: {text}"),
                (false, true) => format!("The {name} tool returned no content."),
                (false, false) => format!("The {name} tool returned: {text}"),
            }
        })
        .collect();
    sentences.join(" ")
}

/// The tool each `toolUseId` names: the latest message that uses the id, its first such block.
/// One pass over the conversation (a search per tool result was their product).
fn tool_names(prompt: &Prompt) -> std::collections::HashMap<&str, &str> {
    let mut names = std::collections::HashMap::new();
    for m in &prompt.messages {
        // Later messages overwrite earlier ones; within a message, the first block is
        // inserted last and wins.
        for b in m.content.iter().rev() {
            if let Block::ToolUse { id, name, .. } = b {
                names.insert(id.as_str(), name.as_str());
            }
        }
    }
    names
}

const EXACT_DIRECTIVES: [&str; 4] = [
    "reply with exactly",
    "respond with exactly",
    "answer with exactly",
    "say exactly",
];

/// `X` from `Reply with exactly: X` (see [`ScriptedBackend`]).
fn exact_directive(text: &str) -> Option<String> {
    // Every directive ends in "exactly": a text without it is not searched (nor lower-cased)
    // four times over; most prompts have no directive.
    if !contains_ignore_ascii_case(text, b"exactly") {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let (pos, len) = EXACT_DIRECTIVES
        .iter()
        .filter_map(|d| lower.find(d).map(|p| (p, d.len())))
        .min()?;
    let rest = &text[pos + len..];
    let rest = rest.trim_start_matches([' ', '\t']);
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let line = rest.lines().next().unwrap_or("").trim();
    let value = strip_quotes(line);
    if value.is_empty() {
        None
    } else {
        Some(value.to_string())
    }
}

/// Whether `text` holds `needle` (ASCII), ignoring ASCII case, as its `to_ascii_lowercase()`
/// would hold the lower-case needle.
fn contains_ignore_ascii_case(text: &str, needle: &[u8]) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn strip_quotes(s: &str) -> &str {
    for q in ['"', '\'', '`'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

enum Case {
    Upper,
    Lower,
}

fn case_directive(text: &str) -> Option<Case> {
    // Every directive says "case" or "caps" (see `exact_directive`).
    if !contains_ignore_ascii_case(text, b"case") && !contains_ignore_ascii_case(text, b"caps") {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let upper = ["in uppercase", "in upper case", "in all caps"]
        .iter()
        .filter_map(|d| lower.find(d))
        .min();
    let lowerc = ["in lowercase", "in lower case"]
        .iter()
        .filter_map(|d| lower.find(d))
        .min();
    match (upper, lowerc) {
        (Some(u), Some(l)) if l < u => Some(Case::Lower),
        (Some(_), _) => Some(Case::Upper),
        (None, Some(_)) => Some(Case::Lower),
        (None, None) => None,
    }
}

/// Apply stop sequences and `max_tokens` to a text answer.
fn finish_text(text: String, prompt: &Prompt, input_tokens: u32) -> Completion {
    let cut = first_stop(&text, &prompt.stop_sequences);
    let (mut text, mut stop_reason, mut stop_sequence) = match cut {
        Some((i, s)) => (
            text[..i].to_string(),
            StopReason::StopSequence,
            Some(s.clone()),
        ),
        None => (text, StopReason::EndTurn, None),
    };
    if let Some(max) = prompt.max_tokens {
        if let Some(t) = truncate_to_tokens(&text, max) {
            text = t;
            stop_reason = StopReason::MaxTokens;
            stop_sequence = None;
        }
    }
    let output_tokens = count_tokens(&text);
    Completion {
        content: vec![Block::Text(text)],
        stop_reason,
        usage: Usage {
            input_tokens,
            output_tokens,
        },
        stop_sequence,
    }
}

/// True when there is no cut yet or `i` comes before it.
/// The earliest stop sequence in `text` (ties: the earlier in the list): one Aho-Corasick pass
/// for all of them (up to 2,500 in a request), where a search per sequence was their product.
fn first_stop<'s>(text: &str, stops: &'s [String]) -> Option<(usize, &'s String)> {
    let stops: Vec<&'s String> = stops.iter().filter(|s| !s.is_empty()).collect();
    if stops.is_empty() {
        return None;
    }
    let ac = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(&stops);
    match ac {
        Ok(ac) => ac
            .find(text)
            .map(|m| (m.start(), stops[m.pattern().as_usize()])),
        // Only a pattern set too large for the automaton fails: the scans then.
        Err(_) => {
            let mut cut: Option<(usize, &String)> = None;
            for s in stops {
                if let Some(i) = text.find(s.as_str()) {
                    if cut_is_later(cut, i) {
                        cut = Some((i, s));
                    }
                }
            }
            cut
        }
    }
}

fn cut_is_later<T>(cut: Option<(usize, T)>, i: usize) -> bool {
    match cut {
        None => true,
        Some((j, _)) => i < j,
    }
}

fn choose_tool<'a>(
    prompt: &'a Prompt,
    user_text: &str,
) -> Result<Option<&'a ToolSpec>, BackendError> {
    if prompt.tools.is_empty() {
        return Ok(None);
    }
    match &prompt.tool_choice {
        ToolChoice::None => Ok(None),
        ToolChoice::Tool(name) => prompt
            .tools
            .iter()
            .find(|t| &t.name == name)
            .map(Some)
            .ok_or_else(|| {
                BackendError::Validation(format!(
                    "The tool choice names the tool {name}, which is not among the tools in the request."
                ))
            }),
        ToolChoice::Any => Ok(Some(
            mentioned_tool(&prompt.tools, user_text).unwrap_or(&prompt.tools[0]),
        )),
        ToolChoice::Auto => Ok(mentioned_tool(&prompt.tools, user_text)),
    }
}

/// Spellings of a name a user might write: as is, `_`/`-` as spaces, camelCase split.
fn name_variants(name: &str) -> Vec<String> {
    let mut v = vec![name.to_string()];
    let spaced = name.replace(['_', '-'], " ");
    if spaced != name {
        v.push(spaced);
    }
    let mut camel = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && prev_lower {
            camel.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        camel.push(c);
    }
    let camel = camel.replace(['_', '-'], " ");
    if !v.contains(&camel) {
        v.push(camel);
    }
    v
}

/// The tool whose name (in any of its spellings) the text mentions first; ties go to the
/// earlier tool. One pass over the text for all the names (issue 10: a scan per name made 2,500
/// tool names over a 4 MB text take 12 s).
fn mentioned_tool<'a>(tools: &'a [ToolSpec], text: &str) -> Option<&'a ToolSpec> {
    let variants: Vec<Vec<String>> = tools.iter().map(|t| name_variants(&t.name)).collect();
    let needles: Vec<&str> = variants.iter().flatten().map(String::as_str).collect();
    let mut found = find_words(text, &needles).into_iter();
    let mut best: Option<(usize, &ToolSpec)> = None;
    for (t, vs) in tools.iter().zip(&variants) {
        let pos = found.by_ref().take(vs.len()).flatten().min();
        if let Some(p) = pos {
            if cut_is_later(best, p) {
                best = Some((p, t));
            }
        }
    }
    best.map(|(_, t)| t)
}

fn tool_call(prompt: &Prompt, tool: &ToolSpec, user_text: &str, input_tokens: u32) -> Completion {
    let mentions = Mentions::for_schema(&tool.input_schema, user_text);
    let input = object_for(&tool.input_schema, &mentions, 0);
    let prompt_json = serde_json::to_vec(prompt).unwrap_or_default();
    let id = format!(
        "tooluse_{}",
        base62_id(&[&prompt_json, tool.name.as_bytes()], 22)
    );
    let output_tokens = count_tokens(&tool.name).saturating_add(count_tokens(&input.to_string()));
    Completion {
        content: vec![Block::ToolUse {
            id,
            name: tool.name.clone(),
            input,
        }],
        stop_reason: StopReason::ToolUse,
        usage: Usage {
            input_tokens,
            output_tokens,
        },
        stop_sequence: None,
    }
}

const MAX_DEPTH: usize = 8;

/// Where the text first mentions each property name a schema requires (in any spelling),
/// found in one pass over the text for all of them: a scan per property made the work the
/// product of the schema and the text.
pub(crate) struct Mentions<'t> {
    text: &'t str,
    first: std::collections::HashMap<String, Option<usize>>,
}

impl<'t> Mentions<'t> {
    /// Every name in a `required` list anywhere in `schema` (a superset of what
    /// [`object_for`] asks about; linear in the schema).
    pub(crate) fn for_schema(schema: &Value, text: &'t str) -> Mentions<'t> {
        fn walk<'s>(v: &'s Value, depth: usize, out: &mut Vec<&'s str>) {
            if depth > 4 * MAX_DEPTH {
                return;
            }
            match v {
                Value::Object(o) => {
                    if let Some(Value::Array(req)) = o.get("required") {
                        out.extend(req.iter().filter_map(Value::as_str));
                    }
                    o.values().for_each(|x| walk(x, depth + 1, out));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, depth + 1, out)),
                _ => {}
            }
        }
        let mut names = Vec::new();
        walk(schema, 0, &mut names);
        Self::for_names(&names, text)
    }

    fn for_names(names: &[&str], text: &'t str) -> Mentions<'t> {
        let mut variants: Vec<String> = names.iter().flat_map(|n| name_variants(n)).collect();
        variants.sort_unstable();
        variants.dedup();
        let needles: Vec<&str> = variants.iter().map(String::as_str).collect();
        let found = find_words(text, &needles);
        Mentions {
            text,
            first: variants.into_iter().zip(found).collect(),
        }
    }

    fn find(&self, variant: &str) -> Option<usize> {
        match self.first.get(variant) {
            Some(p) => *p,
            None => find_word(self.text, variant),
        }
    }
}

/// An input object with the schema's required properties filled in.
pub(crate) fn object_for(schema: &Value, text: &Mentions, depth: usize) -> Value {
    let mut map = Map::new();
    if depth > MAX_DEPTH {
        return Value::Object(map);
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    let empty = Value::Object(Map::new());
    for name in required {
        let ps = props.and_then(|p| p.get(name)).unwrap_or(&empty);
        map.insert(name.to_string(), value_for(ps, name, text, depth + 1));
    }
    Value::Object(map)
}

fn value_for(schema: &Value, prop: &str, text: &Mentions, depth: usize) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return first.clone();
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            if depth <= MAX_DEPTH {
                return value_for(first, prop, text, depth + 1);
            }
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match ty {
        "integer" | "number" => Value::from(1),
        "boolean" => Value::Bool(true),
        "array" => Value::Array(Vec::new()),
        "object" => object_for(schema, text, depth),
        "null" => Value::Null,
        _ => Value::String(word_after_in(text, prop).unwrap_or_else(|| "example".to_string())),
    }
}

const FILLERS: [&str; 7] = ["is", "of", "to", "as", "named", "called", "the"];

/// The word that follows `prop` (or a spelling variant) in `text`.
#[cfg(test)]
fn word_after(text: &str, prop: &str) -> Option<String> {
    word_after_in(&Mentions::for_names(&[prop], text), prop)
}

/// The word that follows `prop` (or a spelling variant) in the text of `m`.
fn word_after_in(m: &Mentions, prop: &str) -> Option<String> {
    let text = m.text;
    name_variants(prop).iter().find_map(|v| {
        let pos = m.find(v)?;
        let mut rest = &text[pos + v.len()..];
        for _ in 0..4 {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || ":=\"'`,(".contains(c));
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || "-_.@/+".contains(c)))
                .unwrap_or(rest.len());
            let word = rest[..end].trim_end_matches('.');
            if word.is_empty() {
                return None;
            }
            if FILLERS.contains(&word.to_ascii_lowercase().as_str()) {
                rest = &rest[end..];
                continue;
            }
            return Some(word.to_string());
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use serde_json::json;

    fn prompt(text: &str) -> Prompt {
        Prompt {
            messages: vec![Message::user(text)],
            ..Prompt::default()
        }
    }

    #[test]
    fn default_reply_and_pin() {
        let mut b = ScriptedBackend::new();
        let c = b.complete("m", &prompt("Hello   there\nfriend")).unwrap();
        assert_eq!(
            c.text(),
            "This is a scripted reply from m to: Hello there friend"
        );
        assert_eq!(c.stop_reason, StopReason::EndTurn);
        assert_eq!(c.usage.input_tokens, 6);
        assert_eq!(c.usage.output_tokens, count_tokens(&c.text()));
        let long = "x".repeat(100);
        let c = b.complete("m", &prompt(&long)).unwrap();
        assert!(c.text().ends_with(&format!("{}...", "x".repeat(60))));
        b.pin("m", "Pinned!");
        assert_eq!(b.complete("m", &prompt("hi")).unwrap().text(), "Pinned!");
        assert_ne!(
            b.complete("other", &prompt("hi")).unwrap().text(),
            "Pinned!"
        );
        let empty = b.complete("other", &Prompt::default()).unwrap();
        assert_eq!(empty.text(), "This is a scripted reply from other.");
    }

    #[test]
    fn directives() {
        let b = ScriptedBackend::new();
        let mut p = prompt("hello");
        p.system = vec!["You are terse. Reply with exactly: \"Bonjour\"".into()];
        assert_eq!(b.complete("m", &p).unwrap().text(), "Bonjour");
        p.system = vec!["Always reply in uppercase.".into()];
        assert_eq!(
            b.complete("m", &p).unwrap().text(),
            "THIS IS A SCRIPTED REPLY FROM M TO: HELLO"
        );
        p.system = vec!["respond with exactly OK".into(), "in lowercase".into()];
        assert_eq!(b.complete("m", &p).unwrap().text(), "ok");
        let p = prompt("Say exactly: pong\nthanks");
        assert_eq!(b.complete("m", &p).unwrap().text(), "pong");
    }

    /// The directives read in capitals and mixed case, after non-ASCII text, and not at all
    /// in a text without their words; an empty text has none.
    #[test]
    fn directives_any_case() {
        let exact = |t: &str| exact_directive(t);
        assert_eq!(exact("SAY EXACTLY: Hi").as_deref(), Some("Hi"));
        assert_eq!(
            exact("Café, reply With Exactly 'Ça va'").as_deref(),
            Some("Ça va")
        );
        assert_eq!(exact("exactl"), None);
        assert_eq!(exact("exactly"), None);
        assert_eq!(exact(""), None);
        let case = |t: &str| match case_directive(t) {
            Some(Case::Upper) => "upper",
            Some(Case::Lower) => "lower",
            None => "none",
        };
        assert_eq!(case("Write IN ALL CAPS"), "upper");
        assert_eq!(case("in Lower Case please, not in uppercase"), "lower");
        assert_eq!(case("in uppercase, then in lowercase"), "upper");
        assert_eq!(case("in all cap"), "none");
        assert_eq!(case("a case for caps"), "none");
        assert_eq!(case(""), "none");
    }

    #[test]
    fn stop_and_max() {
        let b = ScriptedBackend::new();
        let mut p = prompt("count to three");
        p.stop_sequences = vec!["to:".into(), "scripted".into()];
        let c = b.complete("m", &p).unwrap();
        assert_eq!(c.text(), "This is a ");
        assert_eq!(c.stop_reason, StopReason::StopSequence);
        assert_eq!(c.stop_sequence.as_deref(), Some("scripted"));
        p.stop_sequences.clear();
        p.max_tokens = Some(3);
        let c = b.complete("m", &p).unwrap();
        assert_eq!(c.text(), "This is a");
        assert_eq!(c.stop_reason, StopReason::MaxTokens);
        assert_eq!(c.usage.output_tokens, 3);
    }

    fn weather_tool() -> ToolSpec {
        ToolSpec {
            name: "get_weather".into(),
            description: Some("Weather for a city".into()),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer"},
                    "detailed": {"type": "boolean"},
                    "opt": {"type": "string"}
                },
                "required": ["city", "unit", "days", "detailed"]
            }),
        }
    }

    #[test]
    fn tool_use() {
        let b = ScriptedBackend::new();
        let mut p = prompt("Please use the get weather tool for city: Paris");
        p.tools = vec![
            ToolSpec {
                name: "other".into(),
                description: None,
                input_schema: json!({"type":"object"}),
            },
            weather_tool(),
        ];
        let c = b.complete("m", &p).unwrap();
        assert_eq!(c.stop_reason, StopReason::ToolUse);
        let (id, name, input) = c.tool_uses()[0];
        assert!(id.starts_with("tooluse_") && id.len() == 30, "{id}");
        assert_eq!(name, "get_weather");
        assert_eq!(
            input,
            &json!({"city":"Paris","unit":"celsius","days":1,"detailed":true})
        );
        assert_eq!(
            c.usage.output_tokens,
            count_tokens("get_weather") + count_tokens(&input.to_string())
        );
        // determinism
        assert_eq!(b.complete("m", &p).unwrap(), c);

        // auto without a mention → text; any → first tool
        let mut q = prompt("hello");
        q.tools = p.tools.clone();
        assert_eq!(
            b.complete("m", &q).unwrap().stop_reason,
            StopReason::EndTurn
        );
        q.tool_choice = ToolChoice::Any;
        assert_eq!(b.complete("m", &q).unwrap().tool_uses()[0].1, "other");
        q.tool_choice = ToolChoice::Tool("get_weather".into());
        let c = b.complete("m", &q).unwrap();
        assert_eq!(c.tool_uses()[0].2["city"], "example");
        q.tool_choice = ToolChoice::Tool("nope".into());
        assert!(matches!(
            b.complete("m", &q),
            Err(BackendError::Validation(_))
        ));
        q.tool_choice = ToolChoice::None;
        assert_eq!(
            b.complete("m", &q).unwrap().stop_reason,
            StopReason::EndTurn
        );

        // tool result → summary
        let mut r = p.clone();
        r.messages.push(crate::Message {
            role: Role::Assistant,
            content: vec![Block::ToolUse {
                id: "t1".into(),
                name: "get_weather".into(),
                input: json!({}),
            }],
        });
        r.messages.push(crate::Message {
            role: Role::User,
            content: vec![Block::ToolResult {
                tool_use_id: "t1".into(),
                content: vec![Block::Text("{\"temp\": 21}".into())],
                status: None,
            }],
        });
        let c = b.complete("m", &r).unwrap();
        assert_eq!(c.text(), "The get_weather tool returned: {\"temp\": 21}");
        assert_eq!(c.stop_reason, StopReason::EndTurn);
    }

    #[test]
    fn stops_and_tool_names_in_one_pass() {
        let stops: Vec<String> = ["zz", "", "b c", "b"].map(String::from).to_vec();
        assert_eq!(first_stop("a b c zz", &stops), Some((2, &stops[2])));
        assert_eq!(first_stop("a", &stops), None);
        let mut p = prompt("x");
        let use_block = |id: &str, name: &str| Block::ToolUse {
            id: id.into(),
            name: name.into(),
            input: json!({}),
        };
        p.messages = vec![
            Message {
                role: crate::Role::Assistant,
                content: vec![use_block("t1", "old"), use_block("t2", "two")],
            },
            Message {
                role: crate::Role::Assistant,
                content: vec![use_block("t1", "first"), use_block("t1", "second")],
            },
        ];
        let names = tool_names(&p);
        assert_eq!((names["t1"], names["t2"]), ("first", "two"));
    }

    #[test]
    fn mentions_fill_every_property_from_one_pass() {
        let schema = json!({"type":"object","required":["city","unit","deep"],"properties":{
            "city":{"type":"string"},"unit":{"type":"string"},
            "deep":{"type":"object","required":["user_name"],"properties":{"user_name":{"type":"string"}}}}});
        let text = "weather for city Berlin in unit celsius, user name is bob";
        let m = Mentions::for_schema(&schema, text);
        assert_eq!(
            object_for(&schema, &m, 0),
            json!({"city":"Berlin","unit":"celsius","deep":{"user_name":"bob"}})
        );
    }

    #[test]
    fn camel_and_words() {
        assert_eq!(
            name_variants("getWeather"),
            vec!["getWeather".to_string(), "get Weather".to_string()]
        );
        assert_eq!(
            word_after("set the location to Berlin.", "location").as_deref(),
            Some("Berlin")
        );
        assert_eq!(
            word_after("user_name is bob", "user_name").as_deref(),
            Some("bob")
        );
        assert_eq!(word_after("nothing here", "city"), None);
    }

    #[test]
    fn embeddings() {
        let b = ScriptedBackend::new();
        let e = b.embed("m", "hello world", 256, true).unwrap();
        assert_eq!(e.vector.len(), 256);
        assert_eq!(e.input_tokens, 4);
        assert!(b.embed("m", "x", 0, true).is_err());
    }
}
