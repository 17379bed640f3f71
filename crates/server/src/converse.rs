//! Converse request parsing (JSON → the backend's `Prompt`) and response rendering, with the
//! validation messages Bedrock sends.
//!
//! The request is validated as Coral validates it, against the bedrock-runtime service model:
//! every member the model marks required must be there (`Value null at '<path>' failed to
//! satisfy constraint: Member must not be null`), and every violation of the request comes back
//! in one message, before the conversation rules are looked at. Nothing missing is filled in.
//!
//! Where a message is AWS's own it is copied verbatim; for a member of the wrong JSON type (which
//! the SDKs never send, since they validate types) AWS's text is undocumented and we use Coral's
//! constraint sentence with the expected type.

use crate::error::{ApiError, Violations};
use bg_backends::{Block, Completion, Message, Prompt, Role, ToolChoice, ToolSpec};
use serde_json::{json, Map, Value};

mod typed;

pub const FIRST_MUST_BE_USER: &str =
    "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
pub const MUST_ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";

/// A parsed value, or `None` when the member violated a constraint. `None` is only ever
/// returned after the violation was recorded in the [`Reader`], so a request that parses with
/// no violation has every value: nothing is filled in with a default.
type Parsed<T> = Option<T>;

/// Reads a request's JSON the way Coral validates it: every violation is recorded with its
/// Coral path (`messages.1.member.content.1.member.toolUse.toolUseId`) and the whole request is
/// checked before the error is sent, so several violations come back in one message. JSON
/// `null` counts as absent, as it does for restJson1.
#[derive(Default)]
struct Reader {
    violations: Violations,
}

/// A member that is present and not `null`.
/// Where a member sits in the request, as Coral names it (`messages.1.member.content`), built
/// only when a violation is reported: reading a valid request allocates no paths.
#[derive(Clone, Copy)]
enum Path<'a> {
    Lit(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Lit(s) => f.write_str(s),
            Path::Key(Path::Lit(""), k) => f.write_str(k),
            Path::Key(p, k) => write!(f, "{p}.{k}"),
            Path::Index(p, i) => write!(f, "{p}.{}.member", i + 1),
        }
    }
}

fn present<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).filter(|v| !v.is_null())
}

impl Reader {
    fn wrong_type<T>(&mut self, path: &Path, what: &str) -> Parsed<T> {
        self.violations.wrong_type(path, what);
        None
    }

    fn obj<'a>(&mut self, v: &'a Value, path: &Path) -> Parsed<&'a Map<String, Value>> {
        match v {
            Value::Object(o) => Some(o),
            _ => self.wrong_type(path, "a structure"),
        }
    }

    fn list<'a>(&mut self, v: &'a Value, path: &Path) -> Parsed<&'a [Value]> {
        match v {
            Value::Array(a) => Some(a),
            _ => self.wrong_type(path, "a list"),
        }
    }

    fn string(&mut self, v: &Value, path: &Path) -> Parsed<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            _ => self.wrong_type(path, "a string"),
        }
    }

    /// A required member: `Value null at 'path.key' … Member must not be null` when absent.
    fn required<'a>(
        &mut self,
        o: &'a Map<String, Value>,
        path: &Path,
        key: &str,
    ) -> Parsed<&'a Value> {
        let v = present(o, key);
        if v.is_none() {
            self.violations.null(path.key(key));
        }
        v
    }

    fn required_obj<'a>(
        &mut self,
        o: &'a Map<String, Value>,
        path: &Path,
        key: &str,
    ) -> Parsed<&'a Map<String, Value>> {
        let v = self.required(o, path, key)?;
        self.obj(v, &path.key(key))
    }

    fn required_list<'a>(
        &mut self,
        o: &'a Map<String, Value>,
        path: &Path,
        key: &str,
    ) -> Parsed<&'a [Value]> {
        let v = self.required(o, path, key)?;
        self.list(v, &path.key(key))
    }

    fn required_string(
        &mut self,
        o: &Map<String, Value>,
        path: &Path,
        key: &str,
    ) -> Parsed<String> {
        let v = self.required(o, path, key)?;
        self.string(v, &path.key(key))
    }

    /// An optional member read with `read`: `Some(None)` when absent.
    fn optional<'a, T>(
        &mut self,
        o: &'a Map<String, Value>,
        path: &Path,
        key: &str,
        read: impl FnOnce(&mut Self, &'a Value, &Path) -> Parsed<T>,
    ) -> Parsed<Option<T>> {
        match present(o, key) {
            None => Some(None),
            Some(v) => read(self, v, &path.key(key)).map(Some),
        }
    }

    fn optional_string(
        &mut self,
        o: &Map<String, Value>,
        path: &Path,
        key: &str,
    ) -> Parsed<Option<String>> {
        self.optional(o, path, key, Self::string)
    }

    /// Each element of a list read with `read` (every element is checked, so all violations are
    /// reported); `None` when any element failed.
    fn each<T>(
        &mut self,
        items: &[Value],
        path: &Path,
        mut read: impl FnMut(&mut Self, &Value, &Path) -> Parsed<T>,
    ) -> Parsed<Vec<T>> {
        let read: Vec<Parsed<T>> = items
            .iter()
            .enumerate()
            .map(|(i, v)| read(self, v, &path.index(i)))
            .collect();
        read.into_iter().collect()
    }

    /// The one member of a union (JSON `null` members count as unset).
    fn union_member<'a>(&mut self, v: &'a Value, path: &Path) -> Parsed<(&'a str, &'a Value)> {
        let o = self.obj(v, path)?;
        let mut set = o.iter().filter(|(_, v)| !v.is_null());
        match (set.next(), set.next()) {
            (Some((k, v)), None) => Some((k.as_str(), v)),
            _ => {
                self.violations
                    .constraint(None, path, "Member must have exactly one member set");
                None
            }
        }
    }

    /// The result, or the ValidationException listing every violation.
    fn finish<T>(self, parsed: Parsed<T>) -> Result<T, ApiError> {
        match (self.violations.into_error(), parsed) {
            (Some(e), _) => Err(e),
            (None, Some(t)) => Ok(t),
            // A bug in this parser: a member failed without saying why.
            (None, None) => Err(ApiError::new(
                "InternalServerException",
                500,
                "The request could not be parsed.",
            )),
        }
    }
}

/// `S3Location`: `uri` is required.
fn s3_location(r: &mut Reader, v: &Value, path: &Path) -> Parsed<()> {
    let o = r.obj(v, path)?;
    let uri = r.required_string(o, path, "uri");
    let owner = r.optional_string(o, path, "bucketOwner");
    uri.and(owner).map(|_| ())
}

/// The `format` enums of the service model (`ImageFormat`, `VideoFormat`, `AudioFormat`,
/// `GuardrailConverseImageFormat`).
const IMAGE_FORMATS: &[&str] = &["png", "jpeg", "gif", "webp"];
const VIDEO_FORMATS: &[&str] = &[
    "mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp",
];
const AUDIO_FORMATS: &[&str] = &[
    "mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "x-aac", "m4a", "mpeg",
    "mpga", "pcm", "webm",
];
const GUARD_IMAGE_FORMATS: &[&str] = &["png", "jpeg"];

/// A media `source` (`ImageSource`, `VideoSource`, `AudioSource`, the guardrail image source):
/// the decoded size of its `bytes` (base64 on the wire), 0 for an `s3Location`.
///
/// `bytes` must be base64 (the SDKs encode the raw bytes; a hand-written body may not). AWS's
/// text for bytes that are not base64 is undocumented; we use Coral's constraint sentence
/// without echoing the value (blobs are never echoed): `Value at '…source.bytes' failed to
/// satisfy constraint: Member must be valid base64`. The service model's `min: 1` is checked
/// on the decoded bytes.
fn media_source(r: &mut Reader, v: &Value, path: &Path) -> Parsed<(usize, Option<String>)> {
    let o = r.obj(v, path)?;
    let bytes = r.optional_string(o, path, "bytes");
    let s3 = r.optional(o, path, "s3Location", s3_location);
    s3?;
    let Some(b64) = bytes? else {
        return Some((0, None));
    };
    let len = blob_len(r, &b64, path.key("bytes"))?;
    // The base64 text is kept as received: an upstream backend forwards it.
    Some((len, Some(b64)))
}

/// The decoded size of a `bytes` blob (base64 on the wire, at least one byte by the service
/// model). Linear, one buffer of the decoded size, dropped at once.
fn blob_len(r: &mut Reader, b64: &str, bp: Path) -> Parsed<usize> {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()) {
        Ok(raw) if raw.is_empty() => {
            r.violations.length(None, bp, 0, 1, usize::MAX);
            None
        }
        Ok(raw) => Some(raw.len()),
        Err(_) => {
            r.violations
                .constraint(None, bp, "Member must be valid base64");
            None
        }
    }
}

/// `ImageBlock`, `VideoBlock`, `AudioBlock`: `format` (one of `formats`) and `source` are
/// required.
fn media(
    r: &mut Reader,
    v: &Value,
    path: &Path,
    formats: &[&str],
) -> Parsed<(String, (usize, Option<String>))> {
    let o = r.obj(v, path)?;
    let format = r.required_string(o, path, "format").and_then(|f| {
        if formats.contains(&f.as_str()) {
            Some(f)
        } else {
            r.violations.not_in_set(&f, path.key("format"), formats);
            None
        }
    });
    let source = r
        .required(o, path, "source")
        .and_then(|s| media_source(r, s, &path.key("source")));
    Some((format?, source?))
}

fn image(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Block> {
    let (format, (bytes_len, data)) = media(r, v, path, IMAGE_FORMATS)?;
    Some(Block::Image {
        format,
        bytes_len,
        data,
    })
}

fn video(r: &mut Reader, v: &Value, path: &Path) -> Parsed<()> {
    media(r, v, path, VIDEO_FORMATS).map(|_| ())
}

/// `DocumentBlock`: `name` and `source` are required; the block's text is the source's `text`
/// when the document was sent as text, else empty.
fn document(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Block> {
    let o = r.obj(v, path)?;
    let name = r.required_string(o, path, "name").and_then(|n| {
        // DocumentBlockNameString: 1 to 200 characters (service model).
        let len = n.chars().count();
        if (1..=200).contains(&len) {
            Some(n)
        } else {
            r.violations.length(Some(&n), path.key("name"), len, 1, 200);
            None
        }
    });
    let format = r.optional_string(o, path, "format");
    let sp = path.key("source");
    let text = r.required_obj(o, path, "source").and_then(|src| {
        let bytes = r.optional_string(src, &sp, "bytes");
        let s3 = r.optional(src, &sp, "s3Location", s3_location);
        let content = r.optional(src, &sp, "content", |r, v, p| {
            let items = r.list(v, p)?;
            r.each(items, p, |r, item, ip| {
                let o = r.obj(item, ip)?;
                r.optional_string(o, ip, "text")
            })
        });
        let text = r.optional_string(src, &sp, "text");
        let bytes = match bytes? {
            Some(b64) => blob_len(r, &b64, sp.key("bytes")).map(|_| Some(b64)),
            None => Some(None),
        };
        s3.and(content)?;
        let bytes = bytes?;
        Some((text?.unwrap_or_default(), bytes))
    });
    let (text, data) = text?;
    Some(Block::Document {
        name: name?,
        text,
        format: format?,
        data,
    })
}

/// `SearchResultBlock`: `source`, `title` and `content` (each with its `text`) are required.
fn search_result(r: &mut Reader, v: &Value, path: &Path) -> Parsed<()> {
    let o = r.obj(v, path)?;
    let source = r.required_string(o, path, "source");
    let title = r.required_string(o, path, "title");
    let cp = path.key("content");
    let content = r.required_list(o, path, "content").and_then(|items| {
        r.each(items, &cp, |r, item, ip| {
            let o = r.obj(item, ip)?;
            r.required_string(o, ip, "text")
        })
    });
    source.and(title).and(content).map(|_| ())
}

/// `CachePointBlock`: `type` is required.
fn cache_point(r: &mut Reader, v: &Value, path: &Path) -> Parsed<()> {
    let o = r.obj(v, path)?;
    r.required_string(o, path, "type").map(|_| ())
}

/// `GuardrailConverseContentBlock` (a union of `text` {`text`} and `image` {`format`,
/// `source`}): the text to guard, empty for an image.
fn guard_content(r: &mut Reader, v: &Value, path: &Path) -> Parsed<String> {
    let o = r.obj(v, path)?;
    let text = r.optional(o, path, "text", |r, v, p| {
        let t = r.obj(v, p)?;
        r.required_string(t, p, "text")
    });
    let image = r.optional(o, path, "image", |r, v, p| {
        media(r, v, p, GUARD_IMAGE_FORMATS)
    });
    image?;
    Some(text?.unwrap_or_default())
}

/// `ToolUseBlock`: `toolUseId`, `name` and `input` are required.
fn tool_use(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Block> {
    let o = r.obj(v, path)?;
    let id = r.required_string(o, path, "toolUseId");
    let name = r.required_string(o, path, "name");
    let input = r.required(o, path, "input").cloned();
    let kind = r.optional_string(o, path, "type");
    kind?;
    Some(Block::ToolUse {
        id: id?,
        name: name?,
        input: input?,
    })
}

/// `ToolResultBlock`: `toolUseId` and `content` are required. Text and JSON results are kept
/// (JSON as its text); images, documents, videos and search results are checked, not kept.
fn tool_result(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Block> {
    let o = r.obj(v, path)?;
    let id = r.required_string(o, path, "toolUseId");
    let cp = path.key("content");
    let content = r.required_list(o, path, "content").and_then(|items| {
        r.each(items, &cp, |r, item, ip| {
            let o = r.obj(item, ip)?;
            if let Some(t) = present(o, "text") {
                return r.string(t, &ip.key("text")).map(|t| Some(Block::Text(t)));
            }
            if let Some(j) = present(o, "json") {
                return Some(Some(Block::Text(j.to_string())));
            }
            let image = r.optional(o, ip, "image", image);
            let document = r.optional(o, ip, "document", document);
            let video = r.optional(o, ip, "video", video);
            let search = r.optional(o, ip, "searchResult", search_result);
            image?;
            document?;
            video?;
            search?;
            Some(None)
        })
    });
    let status = r.optional_string(o, path, "status");
    Some(Block::ToolResult {
        tool_use_id: id?,
        content: content?.into_iter().flatten().collect(),
        status: status?,
    })
}

/// `ReasoningContentBlock` (a union of `reasoningText` {`text`} and `redactedContent`): the
/// reasoning text, empty when redacted.
fn reasoning(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Block> {
    let o = r.obj(v, path)?;
    let text = r.optional(o, path, "reasoningText", |r, v, p| {
        let t = r.obj(v, p)?;
        let signature = r.optional_string(t, p, "signature");
        let text = r.required_string(t, p, "text");
        signature?;
        text
    });
    Some(Block::Reasoning(text?.unwrap_or_default()))
}

/// One `ContentBlock` (a union: exactly one member). `Some(None)` for the blocks that do not
/// change the answer (cache points, video, audio, citations, search results, tool changes),
/// which are checked and dropped.
fn content_block(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Option<Block>> {
    let (key, val) = r.union_member(v, path)?;
    let p = path.key(key);
    let block = match key {
        "text" => r.string(val, &p).map(Block::Text)?,
        "image" => image(r, val, &p)?,
        "document" => document(r, val, &p)?,
        "toolUse" => tool_use(r, val, &p)?,
        "toolResult" => tool_result(r, val, &p)?,
        "reasoningContent" => reasoning(r, val, &p)?,
        "guardContent" => Block::Text(guard_content(r, val, &p)?),
        // Cache points change billing, not the answer.
        "cachePoint" => return cache_point(r, val, &p).map(|_| None),
        "video" => return video(r, val, &p).map(|_| None),
        "audio" => return media(r, val, &p, AUDIO_FORMATS).map(|_| None),
        "searchResult" => return search_result(r, val, &p).map(|_| None),
        "toolAddition" | "toolRemoval" => {
            let o = r.obj(val, &p)?;
            return r.required_obj(o, &p, "tool").map(|_| None);
        }
        "citationsContent" => return r.obj(val, &p).map(|_| None),
        other => {
            r.violations
                .constraint(None, path, &format!("Unknown member '{other}'"));
            return None;
        }
    };
    Some(Some(block))
}

fn content_blocks(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Vec<Block>> {
    let items = r.list(v, path)?;
    let blocks = r.each(items, path, content_block)?;
    Some(blocks.into_iter().flatten().collect())
}

/// `Message`: `role` (user or assistant) and `content` are required.
fn message(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Message> {
    let o = r.obj(v, path)?;
    let rp = path.key("role");
    let role = r.required(o, path, "role").and_then(|v| match v {
        Value::String(s) if s == "user" => Some(Role::User),
        Value::String(s) if s == "assistant" => Some(Role::Assistant),
        Value::String(s) => {
            r.violations.not_in_set(s, rp, &["user", "assistant"]);
            None
        }
        _ => r.wrong_type(&rp, "a string"),
    });
    let content = r
        .required(o, path, "content")
        .and_then(|c| content_blocks(r, c, &path.key("content")));
    Some(Message {
        role: role?,
        content: content?,
    })
}

/// `SystemContentBlock`: `text`, `guardContent` or `cachePoint`; only text is kept.
fn system_block(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Option<String>> {
    let o = r.obj(v, path)?;
    let text = r.optional_string(o, path, "text");
    let guard = r.optional(o, path, "guardContent", guard_content);
    let cache = r.optional(o, path, "cachePoint", cache_point);
    guard?;
    cache?;
    text
}

/// `InferenceConfiguration` into the prompt.
fn inference_config(r: &mut Reader, v: &Value, prompt: &mut Prompt) -> Parsed<()> {
    let path = &Path::Lit("inferenceConfig");
    let o = r.obj(v, path)?;
    let mut ok = Some(());
    if let Some(v) = present(o, "maxTokens") {
        let p = path.key("maxTokens");
        match v.as_i64() {
            None => ok = r.wrong_type(&p, "an integer"),
            Some(n) if n < 1 => {
                r.violations.constraint(
                    Some(&n.to_string()),
                    p,
                    "Member must have value greater than or equal to 1",
                );
                ok = None;
            }
            Some(n) => prompt.max_tokens = Some(n.min(u32::MAX as i64) as u32),
        }
    }
    for (name, slot) in [
        ("temperature", &mut prompt.temperature),
        ("topP", &mut prompt.top_p),
    ] {
        let Some(v) = present(o, name) else { continue };
        let p = path.key(name);
        match v.as_f64() {
            None => ok = r.wrong_type(&p, "a number"),
            Some(x) if x < 0.0 => {
                r.violations.constraint(
                    Some(&x.to_string()),
                    p,
                    "Member must have value greater than or equal to 0",
                );
                ok = None;
            }
            Some(x) if x > 1.0 => {
                r.violations.constraint(
                    Some(&x.to_string()),
                    p,
                    "Member must have value less than or equal to 1",
                );
                ok = None;
            }
            Some(x) => *slot = Some(x as f32),
        }
    }
    let stops = r.optional(o, path, "stopSequences", |r, v, p| {
        let items = r.list(v, p)?;
        r.each(items, p, Reader::string)
    });
    prompt.stop_sequences = stops?.unwrap_or_default();
    ok
}

/// `ToolSpecification`: `name` and `inputSchema` (a union whose one member is `json`) are
/// required.
fn tool_spec(r: &mut Reader, v: &Value, path: &Path) -> Parsed<ToolSpec> {
    let o = r.obj(v, path)?;
    let name = r.required_string(o, path, "name");
    let description = r.optional_string(o, path, "description");
    let sp = path.key("inputSchema");
    let schema = r
        .required(o, path, "inputSchema")
        .and_then(|s| match r.union_member(s, &sp)? {
            ("json", json) => Some(json.clone()),
            (other, _) => {
                r.violations
                    .constraint(None, sp, &format!("Unknown member '{other}'"));
                None
            }
        });
    Some(ToolSpec {
        name: name?,
        description: description?,
        input_schema: schema?,
    })
}

/// `Tool` (a union of `toolSpec`, `systemTool`, `cachePoint`): the tool specs are kept.
fn tool(r: &mut Reader, v: &Value, path: &Path) -> Parsed<Option<ToolSpec>> {
    let o = r.obj(v, path)?;
    let spec = r.optional(o, path, "toolSpec", tool_spec);
    let system = r.optional(o, path, "systemTool", |r, v, p| {
        let o = r.obj(v, p)?;
        r.required_string(o, p, "name")
    });
    let cache = r.optional(o, path, "cachePoint", cache_point);
    system?;
    cache?;
    spec
}

/// `ToolChoice`: `auto`, `any`, or `tool` with its required `name`.
fn tool_choice(r: &mut Reader, v: &Value, path: &Path) -> Parsed<ToolChoice> {
    let o = r.obj(v, path)?;
    let named = r.optional(o, path, "tool", |r, v, p| {
        let t = r.obj(v, p)?;
        r.required_string(t, p, "name")
    })?;
    Some(if present(o, "any").is_some() {
        ToolChoice::Any
    } else if let Some(name) = named {
        ToolChoice::Tool(name)
    } else {
        ToolChoice::Auto
    })
}

/// `ToolConfiguration`: `tools` is required.
fn tool_config(r: &mut Reader, v: &Value, prompt: &mut Prompt) -> Parsed<()> {
    let path = &Path::Lit("toolConfig");
    let o = r.obj(v, path)?;
    let tp = path.key("tools");
    let tools = r
        .required_list(o, path, "tools")
        .and_then(|items| r.each(items, &tp, tool));
    let choice = r.optional(o, path, "toolChoice", tool_choice);
    prompt.tools = tools?.into_iter().flatten().collect();
    prompt.tool_choice = choice?.unwrap_or_default();
    Some(())
}

/// `serviceTier` {`type`} (changes nothing here) and `outputConfig.textFormat` {`type`
/// (`json_schema`), `structure` {`jsonSchema` {`schema`, `name`, `description`}}}: the
/// structured-output schema, still as text (parsed once the request is known valid).
fn other_members(r: &mut Reader, root: &Map<String, Value>) -> Parsed<Option<RawSchema>> {
    let tier = r.optional(root, &Path::Lit(""), "serviceTier", |r, v, p| {
        let o = r.obj(v, p)?;
        r.required_string(o, p, "type")
    });
    let output = r.optional(root, &Path::Lit(""), "outputConfig", |r, v, p| {
        let o = r.obj(v, p)?;
        let effort = r.optional_string(o, p, "effort");
        let format = r.optional(o, p, "textFormat", |r, v, p| {
            let f = r.obj(v, p)?;
            let kind = r.required_string(f, p, "type").and_then(|k| {
                if k == "json_schema" {
                    Some(k)
                } else {
                    r.violations.not_in_set(&k, p.key("type"), &["json_schema"]);
                    None
                }
            });
            let sp = p.key("structure");
            let structure = r.required_obj(f, p, "structure").and_then(|s| {
                r.optional(s, &sp, "jsonSchema", |r, v, p| {
                    let j = r.obj(v, p)?;
                    let schema = r.required_string(j, p, "schema");
                    let name = r.optional_string(j, p, "name");
                    let description = r.optional_string(j, p, "description");
                    Some(RawSchema {
                        schema: schema?,
                        name: name?,
                        description: description?,
                    })
                })
            });
            kind?;
            structure
        });
        effort?;
        format.map(Option::flatten)
    });
    tier?;
    output.map(Option::flatten)
}

/// `jsonSchema` as sent: the schema is a JSON document inside a string.
struct RawSchema {
    schema: String,
    name: Option<String>,
    description: Option<String>,
}

fn request(r: &mut Reader, body: &Value) -> Parsed<(Prompt, Option<RawSchema>)> {
    let root = r.obj(body, &Path::Lit("body"))?;
    let mut prompt = Prompt {
        system: Vec::new(),
        messages: Vec::new(),
        max_tokens: None,
        temperature: None,
        top_p: None,
        stop_sequences: Vec::new(),
        tools: Vec::new(),
        tool_choice: ToolChoice::Auto,
        output_schema: None,
    };
    let messages = r.optional(root, &Path::Lit(""), "messages", |r, v, p| {
        let items = r.list(v, p)?;
        r.each(items, p, message)
    });
    let system = r.optional(root, &Path::Lit(""), "system", |r, v, p| {
        let items = r.list(v, p)?;
        r.each(items, p, system_block)
    });
    let inference = match present(root, "inferenceConfig") {
        Some(ic) => inference_config(r, ic, &mut prompt),
        None => Some(()),
    };
    let tools = match present(root, "toolConfig") {
        Some(tc) => tool_config(r, tc, &mut prompt),
        None => Some(()),
    };
    let other = other_members(r, root);
    prompt.messages = messages?.unwrap_or_default();
    prompt.system = system?.unwrap_or_default().into_iter().flatten().collect();
    inference.and(tools)?;
    Some((prompt, other?))
}

/// Parse a Converse (or CountTokens `converse`) body: Coral's validation of the service model
/// first (every member it marks required, every member's JSON type, the value constraints,
/// all reported at once), then the conversation rules.
pub fn parse_request(body: &Value) -> Result<Prompt, ApiError> {
    let mut r = Reader::default();
    let parsed = request(&mut r, body);
    let (mut prompt, raw_schema) = r.finish(parsed)?;
    if let Some(raw) = raw_schema {
        let schema = bg_backends::structured::parse_schema_text(&raw.schema)
            .map_err(ApiError::validation)?;
        prompt.output_schema = Some(bg_backends::OutputSchema {
            name: raw.name,
            description: raw.description,
            schema,
        });
    }
    conversation_rules(&prompt)?;
    content_rules(body)?;
    Ok(prompt)
}

/// [`parse_request`] from the body's bytes, with its outcomes: the common bodies are read in
/// one typed pass ([`typed`]); any other body, and every refused one, is parsed into a
/// `Value` and read by [`parse_request`], which owns the validation messages.
pub fn parse_request_bytes(body: &[u8]) -> Result<Prompt, ApiError> {
    if let Some(read) = typed::read(body) {
        return read;
    }
    parse_request(&crate::runtime::parse_json(body)?)
}

/// The first message must be the user's, and the roles alternate.
fn conversation_rules(prompt: &Prompt) -> Result<(), ApiError> {
    match prompt.messages.first() {
        Some(m) if m.role == Role::User => {}
        _ => return Err(ApiError::validation(FIRST_MUST_BE_USER)),
    }
    if prompt.messages.windows(2).any(|w| w[0].role == w[1].role) {
        return Err(ApiError::validation(MUST_ALTERNATE));
    }
    Ok(())
}

/// AWS's texts for a message with no content and a text block that is empty or whitespace
/// only (seen on the wire, issue 10). Their paths count from 0, unlike Coral's. Checked on the
/// request as sent (a cache point counts as content, as it does for AWS's index), after
/// Coral's validation passed, so every member read here has its type.
fn content_rules(body: &Value) -> Result<(), ApiError> {
    let messages = body.get("messages").and_then(Value::as_array);
    for (i, m) in messages.into_iter().flatten().enumerate() {
        let content = m.get("content").and_then(Value::as_array);
        let content = content.map(Vec::as_slice).unwrap_or_default();
        let texts = content
            .iter()
            .map(|b| b.get("text").and_then(Value::as_str));
        if let Some(e) = content_rules_error(i, content.len(), texts) {
            return Err(e);
        }
    }
    Ok(())
}

/// [`content_rules`] for message `i`, given its number of blocks and each block's `text`.
fn content_rules_error<'t>(
    i: usize,
    blocks: usize,
    texts: impl Iterator<Item = Option<&'t str>>,
) -> Option<ApiError> {
    if blocks == 0 {
        return Some(ApiError::validation(format!(
            "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
        )));
    }
    for (j, t) in texts.enumerate() {
        if t.is_some_and(|t| t.trim().is_empty()) {
            return Some(ApiError::validation(format!(
                "The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again."
            )));
        }
    }
    None
}

pub fn block_json(b: &Block) -> Option<Value> {
    match b {
        Block::Text(t) => Some(json!({ "text": t })),
        Block::ToolUse { id, name, input } => {
            Some(json!({ "toolUse": { "toolUseId": id, "name": name, "input": input } }))
        }
        Block::Reasoning(t) => {
            Some(json!({ "reasoningContent": { "reasoningText": { "text": t } } }))
        }
        _ => None,
    }
}

/// The Converse answer's bytes, written straight from the completion (no `Value` tree in
/// between: one less copy of every block on the hot path). Fields in alphabetical order, the
/// order the `Value` this replaced wrote them in (its maps are sorted).
pub fn response_bytes(c: &Completion, latency_ms: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, &response_of(c, latency_ms))
        .expect("a Converse answer serializes");
    out
}

fn response_of(c: &Completion, latency_ms: u64) -> ConverseAnswer<'_> {
    ConverseAnswer {
        metrics: Metrics { latency_ms },
        output: Output {
            message: AnswerMessage {
                content: c.content.iter().filter_map(block_json).collect(),
                role: "assistant",
            },
        },
        stop_reason: c.stop_reason.as_converse(),
        usage: Usage {
            input_tokens: c.usage.input_tokens,
            output_tokens: c.usage.output_tokens,
            total_tokens: c.usage.input_tokens + c.usage.output_tokens,
        },
    }
}

#[derive(serde::Serialize)]
struct ConverseAnswer<'a> {
    metrics: Metrics,
    output: Output,
    #[serde(rename = "stopReason")]
    stop_reason: &'a str,
    usage: Usage,
}

#[derive(serde::Serialize)]
struct Metrics {
    #[serde(rename = "latencyMs")]
    latency_ms: u64,
}

#[derive(serde::Serialize)]
struct Output {
    message: AnswerMessage,
}

#[derive(serde::Serialize)]
struct AnswerMessage {
    content: Vec<Value>,
    role: &'static str,
}

#[derive(serde::Serialize)]
struct Usage {
    #[serde(rename = "inputTokens")]
    input_tokens: u32,
    #[serde(rename = "outputTokens")]
    output_tokens: u32,
    #[serde(rename = "totalTokens")]
    total_tokens: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer written straight to bytes is byte for byte what the `Value` it replaced
    /// wrote (keys sorted), text and tool-use blocks included.
    #[test]
    fn answer_bytes_are_the_value_bytes() {
        let c = Completion {
            content: vec![
                Block::Text("Hello \"gates\"\n".into()),
                Block::ToolUse {
                    id: "t1".into(),
                    name: "weather".into(),
                    input: json!({"city": "Paris"}),
                },
            ],
            stop_reason: bg_backends::StopReason::ToolUse,
            usage: bg_backends::Usage {
                input_tokens: 12,
                output_tokens: 7,
            },
            stop_sequence: None,
        };
        assert_eq!(
            String::from_utf8(response_bytes(&c, 42)).unwrap(),
            r#"{"metrics":{"latencyMs":42},"output":{"message":{"content":[{"text":"Hello \"gates\"\n"},{"toolUse":{"input":{"city":"Paris"},"name":"weather","toolUseId":"t1"}}],"role":"assistant"}},"stopReason":"tool_use","usage":{"inputTokens":12,"outputTokens":7,"totalTokens":19}}"#
        );
    }

    /// Both readings of a body, `parse_request_bytes` (typed first) and the `Value` path:
    /// the same prompt, or the same error (code, status and message).
    fn agree(body: &str) {
        let typed = parse_request_bytes(body.as_bytes());
        let value = crate::runtime::parse_json(body.as_bytes()).and_then(|v| parse_request(&v));
        match (typed, value) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{body}"),
            (Err(a), Err(b)) => {
                assert_eq!(
                    (a.code, a.status, a.message),
                    (b.code, b.status, b.message),
                    "{body}"
                )
            }
            (a, b) => panic!("{body}: typed {a:?}, value {b:?}"),
        }
    }

    const TYPED: &[&str] = &[
        r#"{"messages":[{"role":"user","content":[{"text":"Tell me about the gates of Bedrock"}]}],"inferenceConfig":{"maxTokens":64}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"be brief"},{"cachePoint":{"type":"default"}},{}],"inferenceConfig":{"maxTokens":5,"temperature":0.5,"topP":1,"stopSequences":["END"]},"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"d","inputSchema":{"json":{"type":"object"}}}},{"cachePoint":{"type":"default"}}],"toolChoice":{"any":{}}}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"w?"},{"cachePoint":{"type":"default"}}]},{"role":"assistant","content":[{"text":"calling"},{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris"},"type":"x"}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t1","status":"success","content":[{"text":"sunny"},{"json":{"b":1,"a":[2]}},{},{"text":"t","json":5},{"text":null,"json":"s"}]}}]}],"toolConfig":{"tools":[{}],"toolChoice":{"tool":{"name":"get_weather"}}}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x","toolUse":null}]}],"toolConfig":{"tools":[],"toolChoice":{"auto":5,"any":null}},"system":null,"inferenceConfig":{"maxTokens":99999999999,"temperature":0,"topP":null}}"#,
        // Escapes in keys and the role.
        r#"{"m\u0065ssages":[{"role":"\u0075ser","content":[{"te\u0078t":"caf\u00e9 \"x\"\n"}]}]}"#,
        // The conversation rules and the blank-content rules.
        r#"{}"#,
        r#"{"messages":[]}"#,
        r#"{"messages":[{"role":"assistant","content":[{"text":"x"}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]},{"role":"user","content":[{"text":"y"}]}]}"#,
        r#"{"messages":[{"role":"user","content":[]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"cachePoint":{"type":"default"}},{"text":" \n\t "}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"assistant","content":[{"cachePoint":{"type":"d"}}]},{"role":"user","content":[]}]}"#,
        r#"{"messages":[{"role":"assistant","content":[]}]}"#,
    ];

    const VALUE_ONLY: &[&str] = &[
        "",
        "null",
        "[]",
        r#""x""#,
        "{",
        r#"{"messages":[]} x"#,
        // A structure sent as an array, which serde would read member by member.
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":[64]}"#,
        r#"{"messages":[["user",[{"text":"x"}]]]}"#,
        r#"{"messages":[{"role":"user","content":[["x"]]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolUse":["t","n",{}]}]}]}"#,
        r#"[{"role":"user","content":[]}]"#,
        // Duplicate keys: the Value keeps the last.
        r#"{"messages":[{"role":"user","role":"assistant","content":[{"text":"x"}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"messages":[]}"#,
        // Missing, null, wrong types and values out of range.
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":0}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":64.0}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":-3,"temperature":1.5,"topP":-0.1}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":18446744073709551615}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"temperature":"0.5","stopSequences":[1]}}"#,
        r#"{"messages":[{"role":"bot","content":[{"text":"x"}]}]}"#,
        r#"{"messages":[{"role":{"user":null},"content":[{"text":"x"}]}]}"#,
        r#"{"messages":[{"role":null,"content":[{"text":"x"}]}]}"#,
        r#"{"messages":[{"role":"user"}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"a","cachePoint":{"type":"d"}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":null}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":1}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"sound":{}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"a","sound":null}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"cachePoint":{}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolUse":{"toolUseId":"t","name":"n","input":null}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolUse":{"toolUseId":"t","name":"n"}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"image":{"format":"png","source":{"bytes":"AAAA"}}}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":1}]}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"AAAA"}}}]}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}],"extra":1}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"additionalModelRequestFields":{}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":"{\"type\":\"object\"}"}}}}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{}}}]}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"a","inputSchema":{"json":null}}}]}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{"systemTool":{"name":"s"}}]}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[],"toolChoice":{"tool":{}}}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[],"toolChoice":[]}}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"system":[{"text":"s","guardContent":{"text":{"text":"g"}}}]}"#,
        r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"system":"s"}"#,
    ];

    /// The typed pass answers for the common bodies (it is not dead code), leaves the others
    /// to the `Value` path, and both readings agree on every one of them.
    #[test]
    fn typed_and_value_paths_agree() {
        for body in TYPED {
            assert!(typed::read(body.as_bytes()).is_some(), "not typed: {body}");
            agree(body);
        }
        for body in VALUE_ONLY {
            assert!(typed::read(body.as_bytes()).is_none(), "typed: {body}");
            agree(body);
        }
    }

    /// The bench's body through the typed pass: the exact prompt.
    #[test]
    fn typed_pass_builds_the_prompt() {
        let p = parse_request_bytes(TYPED[0].as_bytes()).unwrap();
        assert_eq!(
            p,
            Prompt {
                messages: vec![Message {
                    role: Role::User,
                    content: vec![Block::Text("Tell me about the gates of Bedrock".into())],
                }],
                max_tokens: Some(64),
                ..Prompt::default()
            }
        );
        let p = parse_request_bytes(TYPED[2].as_bytes()).unwrap();
        assert_eq!(
            p.messages[2].content,
            vec![Block::ToolResult {
                tool_use_id: "t1".into(),
                content: vec![
                    Block::Text("sunny".into()),
                    Block::Text(r#"{"a":[2],"b":1}"#.into()),
                    Block::Text("t".into()),
                    Block::Text(r#""s""#.into()),
                ],
                status: Some("success".into()),
            }]
        );
        assert_eq!(p.tool_choice, ToolChoice::Tool("get_weather".into()));
    }

    #[test]
    fn conversation_rules() {
        let e = parse_request(&json!({})).unwrap_err();
        assert_eq!(e.message, FIRST_MUST_BE_USER);
        let e = parse_request(&json!({"messages":[{"role":"assistant","content":[{"text":"x"}]}]}))
            .unwrap_err();
        assert_eq!(e.message, FIRST_MUST_BE_USER);
        let e = parse_request(&json!({"messages":[{"role":"user","content":[{"text":"x"}]},{"role":"user","content":[{"text":"y"}]}]})).unwrap_err();
        assert_eq!(e.message, MUST_ALTERNATE);
        let e = parse_request(&json!({"messages":[{"role":"bot","content":[]}]})).unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value 'bot' at 'messages.1.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]");
        let e = parse_request(&json!({"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":0}})).unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1");
        let e = parse_request(&json!({"messages":"hi"})).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "ValidationException");
    }

    /// AWS's texts for empty content and blank text (issue 10, item 6), with 0-based paths.
    #[test]
    fn empty_content_and_blank_text() {
        let e = parse_request(&json!({"messages":[{"role":"user","content":[]}]})).unwrap_err();
        assert_eq!((e.code, e.status), ("ValidationException", 400));
        assert_eq!(e.message, "The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content field and try again.");
        let e = parse_request(&json!({"messages":[
            {"role":"user","content":[{"text":"hi"}]},
            {"role":"assistant","content":[{"text":"ok"}]},
            {"role":"user","content":[{"cachePoint":{"type":"default"}},{"text":" \n\t "}]}]}))
        .unwrap_err();
        assert_eq!(e.message, "The text field in the ContentBlock object at messages.2.content.1 is blank. Add text to the text field, and try again.");
        let e = parse_request(&json!({"messages":[{"role":"user","content":[{"text":""}]}]}))
            .unwrap_err();
        assert_eq!(e.message, "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again.");
    }

    /// Image `format` outside the service model's enum and `bytes` that are not base64: Coral's
    /// sentences (1-based member paths), every violation at once, the bytes never echoed.
    #[test]
    fn image_format_and_bytes() {
        let img = |format: &str, bytes: &str| {
            json!({"messages":[{"role":"user","content":[{"text":"look"},
                {"image":{"format":format,"source":{"bytes":bytes}}}]}]})
        };
        assert!(parse_request(&img("png", "aGVsbG8=")).is_ok());
        let e = parse_request(&img("bmp", "aGVsbG8=")).unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value 'bmp' at 'messages.1.member.content.2.member.image.format' failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg, gif, webp]");
        let e = parse_request(&img("png", "not base64!")).unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value at 'messages.1.member.content.2.member.image.source.bytes' failed to satisfy constraint: Member must be valid base64");
        let e = parse_request(&img("tiff", "%%%")).unwrap_err();
        assert!(
            e.message.starts_with("2 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(!e.message.contains("%%%"));
        let e = parse_request(&img("png", "")).unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value at 'messages.1.member.content.2.member.image.source.bytes' failed to satisfy constraint: Member must have length greater than or equal to 1");
    }

    #[test]
    fn parses_a_full_request() {
        let p = parse_request(&json!({
            "messages":[{"role":"user","content":[{"text":"hi"}]}],
            "system":[{"text":"be brief"}],
            "inferenceConfig":{"maxTokens":5,"temperature":0.5,"stopSequences":["END"]},
            "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"any":{}}}
        }))
        .unwrap();
        assert_eq!(p.system, vec!["be brief".to_string()]);
        assert_eq!(p.max_tokens, Some(5));
        assert_eq!(p.stop_sequences, vec!["END".to_string()]);
        assert_eq!(p.tools[0].name, "get_weather");
        assert!(matches!(p.tool_choice, ToolChoice::Any));
    }

    /// The ValidationException a body gets: status, code and message, exactly.
    fn refused(body: Value) -> String {
        let e = parse_request(&body).unwrap_err();
        assert_eq!((e.status, e.code), (400, "ValidationException"), "{e:?}");
        e.message
    }

    fn user(content: Value) -> Value {
        json!({"messages":[{"role":"user","content":content}]})
    }

    const NULL: &str = "failed to satisfy constraint: Member must not be null";

    #[test]
    fn tool_use_members_are_required() {
        assert_eq!(
            refused(user(json!([{"toolUse":{"name":"get_weather","input":{}}}]))),
            format!("1 validation error detected: Value null at 'messages.1.member.content.1.member.toolUse.toolUseId' {NULL}")
        );
        assert_eq!(
            refused(json!({"messages":[
                {"role":"user","content":[{"text":"weather?"}]},
                {"role":"assistant","content":[{"text":"calling"},{"toolUse":{"toolUseId":"t1"}}]}
            ]})),
            format!("2 validation errors detected: Value null at 'messages.2.member.content.2.member.toolUse.name' {NULL}; Value null at 'messages.2.member.content.2.member.toolUse.input' {NULL}")
        );
        // JSON null is absent.
        assert_eq!(
            refused(user(json!([{"toolUse":{"toolUseId":null,"name":"n","input":{}}}]))),
            format!("1 validation error detected: Value null at 'messages.1.member.content.1.member.toolUse.toolUseId' {NULL}")
        );
    }

    #[test]
    fn tool_result_members_are_required() {
        assert_eq!(
            refused(user(json!([{"toolResult":{"status":"success"}}]))),
            format!("2 validation errors detected: Value null at 'messages.1.member.content.1.member.toolResult.toolUseId' {NULL}; Value null at 'messages.1.member.content.1.member.toolResult.content' {NULL}")
        );
        // Inside a result: an image needs its format and source, a search result its members.
        assert_eq!(
            refused(user(json!([{"toolResult":{"toolUseId":"t1","content":[
                {"text":"ok"},
                {"image":{"source":{"bytes":"AAAA"}}},
                {"searchResult":{"source":"s","title":"t","content":[{}]}}
            ]}}]))),
            format!("2 validation errors detected: Value null at 'messages.1.member.content.1.member.toolResult.content.2.member.image.format' {NULL}; Value null at 'messages.1.member.content.1.member.toolResult.content.3.member.searchResult.content.1.member.text' {NULL}")
        );
    }

    #[test]
    fn image_and_document_members_are_required() {
        assert_eq!(
            refused(user(json!([{"text":"look"},{"image":{}}]))),
            format!("2 validation errors detected: Value null at 'messages.1.member.content.2.member.image.format' {NULL}; Value null at 'messages.1.member.content.2.member.image.source' {NULL}")
        );
        assert_eq!(
            refused(user(json!([{"image":{"format":"png","source":{"s3Location":{}}}}]))),
            format!("1 validation error detected: Value null at 'messages.1.member.content.1.member.image.source.s3Location.uri' {NULL}")
        );
        // The service model requires a document's name and source (its format is optional).
        assert_eq!(
            refused(user(json!([{"document":{"format":"txt"}}]))),
            format!("2 validation errors detected: Value null at 'messages.1.member.content.1.member.document.name' {NULL}; Value null at 'messages.1.member.content.1.member.document.source' {NULL}")
        );
        assert_eq!(
            refused(user(json!([{"video":{"format":"mp4"}},{"audio":{"source":{"bytes":"AAAA"}}}]))),
            format!("2 validation errors detected: Value null at 'messages.1.member.content.1.member.video.source' {NULL}; Value null at 'messages.1.member.content.2.member.audio.format' {NULL}")
        );
    }

    #[test]
    fn other_blocks_members_are_required() {
        assert_eq!(
            refused(user(json!([
                {"text":"x"},
                {"cachePoint":{}},
                {"reasoningContent":{"reasoningText":{"signature":"s"}}},
                {"guardContent":{"text":{}}},
                {"searchResult":{"title":"t"}},
                {"toolAddition":{}}
            ]))),
            format!("6 validation errors detected: \
                Value null at 'messages.1.member.content.2.member.cachePoint.type' {NULL}; \
                Value null at 'messages.1.member.content.3.member.reasoningContent.reasoningText.text' {NULL}; \
                Value null at 'messages.1.member.content.4.member.guardContent.text.text' {NULL}; \
                Value null at 'messages.1.member.content.5.member.searchResult.source' {NULL}; \
                Value null at 'messages.1.member.content.5.member.searchResult.content' {NULL}; \
                Value null at 'messages.1.member.content.6.member.toolAddition.tool' {NULL}")
        );
        assert_eq!(
            refused(json!({
                "messages":[{"role":"user","content":[{"text":"x"}]}],
                "system":[{"text":"s"},{"cachePoint":{}},{"guardContent":{"image":{"format":"png"}}}],
                "serviceTier":{},
                "outputConfig":{"textFormat":{"structure":{"jsonSchema":{}}}}
            })),
            format!(
                "5 validation errors detected: \
                Value null at 'system.2.member.cachePoint.type' {NULL}; \
                Value null at 'system.3.member.guardContent.image.source' {NULL}; \
                Value null at 'serviceTier.type' {NULL}; \
                Value null at 'outputConfig.textFormat.type' {NULL}; \
                Value null at 'outputConfig.textFormat.structure.jsonSchema.schema' {NULL}"
            )
        );
    }

    #[test]
    fn message_members_are_required_all_reported() {
        assert_eq!(
            refused(json!({"messages":[{}]})),
            format!("2 validation errors detected: Value null at 'messages.1.member.role' {NULL}; Value null at 'messages.1.member.content' {NULL}")
        );
        // Every message is checked, and validation comes before the conversation rules.
        assert_eq!(
            refused(json!({"messages":[{"role":"assistant"},{"content":[{"text":"x"}]}]})),
            format!("2 validation errors detected: Value null at 'messages.1.member.content' {NULL}; Value null at 'messages.2.member.role' {NULL}")
        );
    }

    #[test]
    fn tool_config_members_are_required() {
        let body = |tools: Value, choice: Value| {
            json!({"messages":[{"role":"user","content":[{"text":"x"}]}],
                   "toolConfig":{"tools":tools,"toolChoice":choice}})
        };
        assert_eq!(
            refused(body(json!([{"toolSpec":{"description":"d"}}]), json!({"auto":{}}))),
            format!("2 validation errors detected: Value null at 'toolConfig.tools.1.member.toolSpec.name' {NULL}; Value null at 'toolConfig.tools.1.member.toolSpec.inputSchema' {NULL}")
        );
        assert_eq!(
            refused(body(
                json!([{"toolSpec":{"name":"a","inputSchema":{"json":{}}}},{"systemTool":{}}]),
                json!({"tool":{}})
            )),
            format!("2 validation errors detected: Value null at 'toolConfig.tools.2.member.systemTool.name' {NULL}; Value null at 'toolConfig.toolChoice.tool.name' {NULL}")
        );
        assert_eq!(
            refused(body(json!([{"toolSpec":{"name":"a","inputSchema":{}}}]), json!({}))),
            "1 validation error detected: Value at 'toolConfig.tools.1.member.toolSpec.inputSchema' failed to satisfy constraint: Member must have exactly one member set"
        );
        assert_eq!(
            refused(json!({"toolConfig":{}})),
            format!("1 validation error detected: Value null at 'toolConfig.tools' {NULL}")
        );
    }

    #[test]
    fn wrong_json_types_and_values_are_collected_too() {
        assert_eq!(
            refused(json!({
                "messages":[{"role":"user","content":"hi"},{"role":7,"content":[{"text":1}]}],
                "inferenceConfig":{"maxTokens":0,"temperature":1.5,"topP":"x","stopSequences":[1]},
                "toolConfig":{"tools":[{"toolSpec":{"name":"a","description":3,"inputSchema":{"json":{}}}}],"toolChoice":[]}
            })),
            "9 validation errors detected: \
             Value at 'messages.1.member.content' failed to satisfy constraint: Member must be a list; \
             Value at 'messages.2.member.role' failed to satisfy constraint: Member must be a string; \
             Value at 'messages.2.member.content.1.member.text' failed to satisfy constraint: Member must be a string; \
             Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1; \
             Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1; \
             Value at 'inferenceConfig.topP' failed to satisfy constraint: Member must be a number; \
             Value at 'inferenceConfig.stopSequences.1.member' failed to satisfy constraint: Member must be a string; \
             Value at 'toolConfig.tools.1.member.toolSpec.description' failed to satisfy constraint: Member must be a string; \
             Value at 'toolConfig.toolChoice' failed to satisfy constraint: Member must be a structure"
        );
        assert_eq!(
            refused(user(json!([{"text":"a","image":{}}, {"sound":{}}]))),
            "2 validation errors detected: \
             Value at 'messages.1.member.content.1.member' failed to satisfy constraint: Member must have exactly one member set; \
             Value at 'messages.1.member.content.2.member' failed to satisfy constraint: Unknown member 'sound'"
        );
        assert_eq!(
            refused(json!([])),
            "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must be a structure"
        );
    }

    #[test]
    fn valid_blocks_parse_as_before() {
        let p = parse_request(&json!({
            "messages":[
                {"role":"user","content":[
                    {"text":"look"},
                    {"image":{"format":"jpeg","source":{"bytes":"AAAAAAAA"}}},
                    {"image":{"format":"png","source":{"s3Location":{"uri":"s3://bucket/a.png"}}}},
                    {"document":{"name":"notes","format":"txt","source":{"text":"the notes"}}},
                    {"document":{"name":"scan","source":{"bytes":"AAAA"}}},
                    {"cachePoint":{"type":"default"}},
                    {"video":{"format":"mp4","source":{"bytes":"AAAA"}}},
                    {"guardContent":{"text":{"text":"guarded"}}}
                ]},
                {"role":"assistant","content":[
                    {"reasoningContent":{"reasoningText":{"text":"hmm","signature":"sig"}}},
                    {"reasoningContent":{"redactedContent":"AAAA"}},
                    {"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris"}}}
                ]},
                {"role":"user","content":[
                    {"toolResult":{"toolUseId":"t1","status":"success","content":[
                        {"text":"sunny"},{"json":{"c":21}},{"image":{"format":"png","source":{"bytes":"AAAA"}}}
                    ]}}
                ]}
            ],
            "system":[{"text":"be brief"},{"cachePoint":{"type":"default"}}],
            "toolConfig":{"tools":[
                {"toolSpec":{"name":"get_weather","description":"Weather","inputSchema":{"json":{"type":"object"}}}},
                {"cachePoint":{"type":"default"}}
            ],"toolChoice":{"tool":{"name":"get_weather"}}}
        }))
        .unwrap();
        assert_eq!(
            p,
            Prompt {
                system: vec!["be brief".into()],
                messages: vec![
                    Message {
                        role: Role::User,
                        content: vec![
                            Block::Text("look".into()),
                            Block::Image {
                                format: "jpeg".into(),
                                bytes_len: 6,
                                data: Some("AAAAAAAA".into())
                            },
                            Block::Image {
                                format: "png".into(),
                                bytes_len: 0,
                                data: None
                            },
                            Block::Document {
                                name: "notes".into(),
                                text: "the notes".into(),
                                format: Some("txt".into()),
                                data: None
                            },
                            Block::Document {
                                name: "scan".into(),
                                text: String::new(),
                                format: None,
                                data: Some("AAAA".into())
                            },
                            Block::Text("guarded".into()),
                        ],
                    },
                    Message {
                        role: Role::Assistant,
                        content: vec![
                            Block::Reasoning("hmm".into()),
                            Block::Reasoning(String::new()),
                            Block::ToolUse {
                                id: "t1".into(),
                                name: "get_weather".into(),
                                input: json!({"city":"Paris"}),
                            },
                        ],
                    },
                    Message {
                        role: Role::User,
                        content: vec![Block::ToolResult {
                            tool_use_id: "t1".into(),
                            content: vec![
                                Block::Text("sunny".into()),
                                Block::Text(r#"{"c":21}"#.into()),
                            ],
                            status: Some("success".into()),
                        }],
                    },
                ],
                max_tokens: None,
                temperature: None,
                top_p: None,
                stop_sequences: vec![],
                tools: vec![ToolSpec {
                    name: "get_weather".into(),
                    description: Some("Weather".into()),
                    input_schema: json!({"type":"object"}),
                }],
                tool_choice: ToolChoice::Tool("get_weather".into()),
                output_schema: None,
            }
        );
    }
}
