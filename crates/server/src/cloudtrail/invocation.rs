//! Model invocation logging: every admitted Converse, ConverseStream, InvokeModel and
//! InvokeModelWithResponseStream, when `PutModelInvocationLoggingConfiguration` configured the
//! caller's account and Region, becomes one `ModelInvocationLog` schema 1.0 record
//! (bedrock-api-keys-and-more §6.1), delivered to the configured CloudWatch Logs group (stream
//! `aws/bedrock/modelinvocations`) and/or S3 bucket (gzipped JSON under the state directory,
//! [`s3_key`]). Written through the same queue as CloudTrail events.
//!
//! Choices (AWS publishes no full sample):
//! - a delivery flag the configuration leaves out is off (the API's booleans have no default);
//!   `textDataDeliveryEnabled` off leaves out both bodies (token counts stay);
//!   `imageDataDeliveryEnabled` off replaces image bytes in the input by `"<omitted>"`;
//!   an embedding model's output body needs `embeddingDataDeliveryEnabled`;
//! - a body over 100 KB goes to `largeDataDeliveryS3Config` (or the S3 destination) as
//!   `.../data/<uuid>_input.json.gz` and the record carries `inputBodyS3Path` instead; with
//!   neither, the body is left out;
//! - a stream's `outputBodyJson` is the list of its events, each `{eventType: payload}`
//!   (ConverseStream) or the decoded chunk JSON (InvokeModelWithResponseStream).

use crate::App;
use parking_lot::Mutex;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The operations that are logged.
pub fn logged(event_name: &str) -> bool {
    matches!(
        event_name,
        "Converse" | "ConverseStream" | "InvokeModel" | "InvokeModelWithResponseStream"
    )
}

/// Over this a body is offloaded to S3 (AWS: 100 KB).
pub const INLINE_MAX: usize = 100 * 1024;
/// The log stream Bedrock writes to.
pub const STREAM: &str = "aws/bedrock/modelinvocations";

/// What is known of an admitted call when its answer starts. Made on the request path and
/// read on the journal writer's thread: its strings are kept in one buffer, so that one
/// allocation crosses threads instead of one a string (an allocation freed on another thread
/// than the one that made it took glibc's slow path on both, when serve used glibc's malloc).
pub struct Pending {
    pub time_ms: i64,
    /// account, Region, identity ARN, request ID, operation, model ID, inference Region (empty:
    /// the caller's own), input content type; `ends[i]` is where the i-th ends.
    text: String,
    ends: [u32; 8],
    pub input: bytes::Bytes,
    pub config: Arc<Config>,
}

/// The strings of a [`Pending`], borrowed.
pub struct PendingText<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub identity_arn: &'a str,
    pub request_id: &'a str,
    pub operation: &'a str,
    pub model_id: &'a str,
    pub inference_region: Option<&'a str>,
    pub input_content_type: &'a str,
}

impl Pending {
    pub fn new(
        time_ms: i64,
        t: PendingText<'_>,
        input: bytes::Bytes,
        config: Arc<Config>,
    ) -> Pending {
        let parts = t.parts();
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 8];
        for (end, part) in ends.iter_mut().zip(parts) {
            text.push_str(part);
            *end = text.len() as u32;
        }
        Pending {
            time_ms,
            text,
            ends,
            input,
            config,
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub fn account(&self) -> &str {
        self.part(0)
    }
    pub fn region(&self) -> &str {
        self.part(1)
    }
    pub fn identity_arn(&self) -> &str {
        self.part(2)
    }
    pub fn request_id(&self) -> &str {
        self.part(3)
    }
    pub fn operation(&self) -> &str {
        self.part(4)
    }
    pub fn model_id(&self) -> &str {
        self.part(5)
    }
    pub fn inference_region(&self) -> Option<&str> {
        Some(self.part(6)).filter(|r| !r.is_empty())
    }
    pub fn input_content_type(&self) -> &str {
        self.part(7)
    }

    /// Its strings, borrowed.
    pub fn texts(&self) -> PendingText<'_> {
        PendingText {
            account: self.account(),
            region: self.region(),
            identity_arn: self.identity_arn(),
            request_id: self.request_id(),
            operation: self.operation(),
            model_id: self.model_id(),
            inference_region: self.inference_region(),
            input_content_type: self.input_content_type(),
        }
    }
}

impl PendingText<'_> {
    /// In the order [`Pending`] keeps them (an inference Region that is none: empty).
    fn parts(&self) -> [&str; 8] {
        [
            self.account,
            self.region,
            self.identity_arn,
            self.request_id,
            self.operation,
            self.model_id,
            self.inference_region.unwrap_or(""),
            self.input_content_type,
        ]
    }
}

/// What a record needs of a logging configuration, read out of its JSON once: reading the
/// JSON for each record (`Value::pointer` allocates for its path) cost the writer thread a
/// fifth of building the record (issue 13). Also the strings of its log lines, shared by
/// every line instead of copied for each (issue 13).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The account and Region configured (empty in a configuration parsed alone).
    pub account: Arc<str>,
    pub region: Arc<str>,
    /// `textDataDeliveryEnabled`, `imageDataDeliveryEnabled`, `embeddingDataDeliveryEnabled`
    /// (a flag left out is off).
    pub text: bool,
    pub image: bool,
    pub embedding: bool,
    /// The CloudWatch Logs destination's group.
    pub group: Option<Arc<str>>,
    /// The S3 destination: (bucket, key prefix), each empty when left out.
    pub s3: Option<(String, String)>,
    /// Where a body over [`INLINE_MAX`] goes: `largeDataDeliveryS3Config`, else the S3
    /// destination; (bucket, key prefix).
    pub large: Option<(String, String)>,
}

impl Config {
    pub fn from_json(cfg: &Value) -> Config {
        let flag = |name: &str| cfg.get(name).and_then(Value::as_bool).unwrap_or(false);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let cw = cfg.get("cloudWatchConfig");
        let s3 = cfg.get("s3Config");
        let large = cw
            .and_then(|c| c.get("largeDataDeliveryS3Config"))
            .or(s3)
            .and_then(|s| {
                Some((
                    text(s.get("bucketName"))?,
                    text(s.get("keyPrefix")).unwrap_or_default(),
                ))
            });
        Config {
            text: flag("textDataDeliveryEnabled"),
            image: flag("imageDataDeliveryEnabled"),
            embedding: flag("embeddingDataDeliveryEnabled"),
            group: text(cw.and_then(|c| c.get("logGroupName"))).map(Arc::from),
            s3: s3.map(|s| {
                (
                    text(s.get("bucketName")).unwrap_or_default(),
                    text(s.get("keyPrefix")).unwrap_or_default(),
                )
            }),
            large,
            ..Config::default()
        }
    }
}

/// The stream every invocation record goes to, shared like [`Config`]'s strings.
pub static STREAM_NAME: std::sync::LazyLock<Arc<str>> =
    std::sync::LazyLock::new(|| Arc::from(STREAM));

/// Logging configurations, parsed, by account and Region (with the text each was parsed
/// from: a changed configuration is parsed again): a logged call reads its configuration on
/// the request path, and parsing it each time cost more than the rest of the logging there.
#[derive(Default)]
pub struct Configs(Mutex<HashMap<String, (String, Arc<Config>)>>);

/// Configurations kept parsed (one per account and Region in use; more are parsed again).
const CONFIGS_MAX: usize = 256;

/// The caller's logging configuration, if any.
pub fn config(app: &App, account: &str, region: &str) -> Option<Arc<Config>> {
    let state = app.snapshot();
    let mut key = String::with_capacity(account.len() + 1 + region.len());
    key.push_str(account);
    key.push('/');
    key.push_str(region);
    let text = &state.logging.get(&key)?.config;
    let mut parsed = app.trail.configs.0.lock();
    if let Some((t, v)) = parsed.get(&key) {
        if t == text {
            return Some(v.clone());
        }
    }
    let v = Arc::new(Config {
        account: Arc::from(account),
        region: Arc::from(region),
        ..Config::from_json(&serde_json::from_str::<Value>(text).ok()?)
    });
    if parsed.len() >= CONFIGS_MAX {
        parsed.clear();
    }
    parsed.insert(key, (text.clone(), v.clone()));
    Some(v)
}

/// Image bytes in a Converse or native body, replaced.
fn strip_images(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(img)) = m.get_mut("image") {
                if let Some(Value::Object(src)) = img.get_mut("source") {
                    if src.contains_key("bytes") {
                        src.insert("bytes".into(), json!("<omitted>"));
                    }
                }
            }
            for (_, x) in m.iter_mut() {
                strip_images(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_images),
        _ => {}
    }
}

/// A whole JSON answer that the handler made, handed to logging as it is sent (not read back
/// from the response body, issue 13), with what the handler knows of it: `serde_json` wrote it
/// (one compact JSON value, UTF-8) and its `usage` holds these (input, output) token counts.
/// Handed only by a handler that read the request body whole as one JSON value with
/// `serde_json` before it answered (Converse). [`text_len`] takes this instead of parsing
/// either body again.
#[derive(Clone)]
pub struct Answer {
    pub bytes: bytes::Bytes,
    pub usage: (u64, u64),
}

/// Where the answer's body comes from.
pub enum Output {
    /// A whole JSON answer, with the token counts of its headers (InvokeModel).
    Body {
        bytes: bytes::Bytes,
        content_type: String,
        header_tokens: (Option<u64>, Option<u64>),
    },
    /// A stream's raw event-stream bytes.
    Stream(Vec<u8>),
}

/// `s3://bucket/<prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/`
/// (the key layout AWS writes), and a file name in it.
pub fn s3_key(prefix: &str, account: &str, region: &str, time_ms: i64, name: &str) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(time_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let prefix = prefix.trim_matches('/');
    let lead = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    format!(
        "{lead}AWSLogs/{account}/BedrockModelInvocationLogs/{region}/{:04}/{:02}/{:02}/{:02}/{name}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    )
}

/// A file to write under `<state dir>/s3/<bucket>/<key>` (gzipped JSON).
pub struct S3Object {
    pub bucket: String,
    pub key: String,
    pub json: Vec<u8>,
}

/// A body as the record carries it: the request's or answer's own JSON text (written into
/// the record as it is: no parse into a tree, no re-serialization), or a value built here.
enum Body {
    Raw(bytes::Bytes),
    Value(Value),
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Raw(b) => b.len(),
            Body::Value(v) => v.to_string().len(),
        }
    }

    fn text(&self) -> String {
        match self {
            Body::Raw(b) => String::from_utf8_lossy(b).into_owned(),
            Body::Value(v) => v.to_string(),
        }
    }

    /// The body as the record writes it; None for raw bytes that are not one JSON value.
    fn json(&self) -> Option<Json<'_>> {
        match self {
            Body::Raw(b) => serde_json::from_slice::<&RawValue>(b).ok().map(Json::Raw),
            Body::Value(v) => Some(Json::Value(v)),
        }
    }
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Json<'a> {
    Raw(&'a RawValue),
    Value(&'a Value),
}

#[derive(serde::Deserialize)]
struct Usage {
    #[serde(rename = "inputTokens")]
    input: Option<u64>,
    #[serde(rename = "outputTokens")]
    output: Option<u64>,
}

#[derive(serde::Deserialize)]
struct WithUsage {
    usage: Option<Usage>,
}

#[derive(serde::Deserialize)]
struct WithMetadata {
    #[serde(rename = "requestMetadata")]
    metadata: Option<Map<String, Value>>,
}

// The record, written straight from borrowed parts (the writer thread builds one per logged
// call: a `Value` tree, its text and the bodies spliced in cost it more than storing the line,
// issue 13). Fields are declared in name order, the order a `Value` (sorted maps) wrote them,
// so records keep the bytes they had (`tests::record_bytes_are_pinned`).

#[derive(serde::Serialize)]
struct Record<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    identity: IdentityArn<'a>,
    #[serde(rename = "inferenceRegion", skip_serializing_if = "Option::is_none")]
    inference_region: Option<&'a str>,
    input: InputPart<'a>,
    #[serde(rename = "modelId")]
    model_id: &'a str,
    operation: &'a str,
    output: OutputPart<'a>,
    region: &'a str,
    #[serde(rename = "requestId")]
    request_id: &'a str,
    #[serde(rename = "requestMetadata", skip_serializing_if = "Option::is_none")]
    request_metadata: Option<Map<String, Value>>,
    #[serde(rename = "schemaType")]
    schema_type: &'static str,
    #[serde(rename = "schemaVersion")]
    schema_version: &'static str,
    timestamp: String,
}

#[derive(serde::Serialize)]
struct IdentityArn<'a> {
    arn: &'a str,
}

#[derive(serde::Serialize, Default)]
struct InputPart<'a> {
    #[serde(
        rename = "cacheReadInputTokenCount",
        skip_serializing_if = "Option::is_none"
    )]
    cache_read: Option<u64>,
    #[serde(
        rename = "cacheWriteInputTokenCount",
        skip_serializing_if = "Option::is_none"
    )]
    cache_write: Option<u64>,
    #[serde(rename = "inputBodyJson", skip_serializing_if = "Option::is_none")]
    body: Option<Json<'a>>,
    #[serde(rename = "inputBodyS3Path", skip_serializing_if = "Option::is_none")]
    s3_path: Option<String>,
    #[serde(rename = "inputContentType")]
    content_type: &'a str,
    #[serde(rename = "inputTokenCount", skip_serializing_if = "Option::is_none")]
    tokens: Option<u64>,
}

#[derive(serde::Serialize, Default)]
struct OutputPart<'a> {
    #[serde(rename = "outputBodyJson", skip_serializing_if = "Option::is_none")]
    body: Option<Json<'a>>,
    #[serde(rename = "outputBodyS3Path", skip_serializing_if = "Option::is_none")]
    s3_path: Option<String>,
    #[serde(rename = "outputContentType")]
    content_type: &'a str,
    #[serde(rename = "outputTokenCount", skip_serializing_if = "Option::is_none")]
    tokens: Option<u64>,
}

/// Where a body goes: inline, to S3 (the record carries its path), or nowhere (a body over
/// the inline limit without a bucket to offload it to).
enum Placed {
    Inline,
    S3(String),
    Dropped,
}

/// The record (one JSON text), and the S3 objects it needs (offloaded bodies).
pub fn build(p: &Pending, output: Output) -> (String, Vec<S3Object>) {
    let cfg = &p.config;
    let text = cfg.text;
    let large = cfg.large.as_ref();
    let mut objects = Vec::new();
    let mut place = |side: &'static str, body: &Body| -> Placed {
        if body.len() <= INLINE_MAX {
            return Placed::Inline;
        }
        let Some((bucket, prefix)) = large else {
            return Placed::Dropped;
        };
        let name = format!("data/{}_{side}.json.gz", uuid::Uuid::new_v4());
        let key = s3_key(prefix, p.account(), p.region(), p.time_ms, &name);
        let path = format!("s3://{bucket}/{key}");
        objects.push(S3Object {
            bucket: bucket.to_string(),
            key,
            json: body.text().into_bytes(),
        });
        Placed::S3(path)
    };

    let (tokens_in, tokens_out, out_type, out_body) = read_output(output);
    let mut in_body = None;
    let mut kept_out = None;
    if text {
        let images = !cfg.image && contains(&p.input, &IMAGE);
        in_body = if images {
            serde_json::from_slice::<Value>(&p.input).ok().map(|mut v| {
                strip_images(&mut v);
                Body::Value(v)
            })
        } else {
            Some(Body::Raw(p.input.clone()))
        };
        let embedding = p.model_id().contains("embed");
        if !embedding || cfg.embedding {
            kept_out = out_body;
        }
    }
    let (body, s3_path) = slot(in_body.as_ref(), |b| place("input", b));
    let mut input = InputPart {
        content_type: p.input_content_type(),
        body,
        s3_path,
        ..Default::default()
    };
    let (body, s3_path) = slot(kept_out.as_ref(), |b| place("output", b));
    let mut output_p = OutputPart {
        content_type: &out_type,
        body,
        s3_path,
        ..Default::default()
    };
    if let Some(n) = tokens_in {
        input.tokens = Some(n);
        input.cache_read = Some(0);
        input.cache_write = Some(0);
    }
    output_p.tokens = tokens_out;
    // Only a body that names requestMetadata is parsed for it.
    let request_metadata = if contains(&p.input, &REQUEST_METADATA) {
        serde_json::from_slice::<WithMetadata>(&p.input)
            .ok()
            .and_then(|w| w.metadata)
    } else {
        None
    };
    let record = Record {
        account_id: p.account(),
        identity: IdentityArn {
            arn: p.identity_arn(),
        },
        inference_region: p.inference_region(),
        input,
        model_id: p.model_id(),
        operation: p.operation(),
        output: output_p,
        region: p.region(),
        request_id: p.request_id(),
        request_metadata,
        schema_type: "ModelInvocationLog",
        schema_version: "1.0",
        timestamp: crate::cloudtrail::record::iso(p.time_ms),
    };
    let size = 400 + in_body.as_ref().map_or(0, Body::len) + kept_out.as_ref().map_or(0, Body::len);
    let mut line = Vec::with_capacity(size);
    // Serializing borrowed strings, numbers and validated JSON into a Vec cannot fail.
    serde_json::to_writer(&mut line, &record).expect("a record serializes");
    // serde_json writes UTF-8 only (a raw body was validated as JSON text, which is UTF-8).
    let line = String::from_utf8(line).expect("serde_json writes UTF-8");
    (line, objects)
}

/// A body's two record fields, `...BodyJson` and `...BodyS3Path`, by where `place` put it (a
/// raw body that is not one JSON value is left out).
fn slot<'b>(
    body: Option<&'b Body>,
    place: impl FnOnce(&Body) -> Placed,
) -> (Option<Json<'b>>, Option<String>) {
    let Some((body, json)) = body.and_then(|b| Some((b, b.json()?))) else {
        return (None, None);
    };
    match place(body) {
        Placed::Inline => (Some(json), None),
        Placed::S3(path) => (None, Some(path)),
        Placed::Dropped => (None, None),
    }
}

fn contains(haystack: &[u8], needle: &Needle) -> bool {
    needle.find(haystack).is_some()
}

/// The body scans' searchers, built once (building one costs more than a short body's scan).
type Needle = std::sync::LazyLock<memchr::memmem::Finder<'static>>;
static IMAGE: Needle = Needle::new(|| memchr::memmem::Finder::new(b"\"image\""));
static EMBED: Needle = Needle::new(|| memchr::memmem::Finder::new(b"embed"));
static REQUEST_METADATA: Needle =
    Needle::new(|| memchr::memmem::Finder::new(b"\"requestMetadata\""));

/// A whole answer's token counts: its headers', else its `usage`.
fn body_tokens(
    bytes: &[u8],
    header_tokens: (Option<u64>, Option<u64>),
) -> (Option<u64>, Option<u64>) {
    if let (Some(tin), Some(tout)) = header_tokens {
        return (Some(tin), Some(tout));
    }
    let usage = serde_json::from_slice::<WithUsage>(bytes)
        .ok()
        .and_then(|w| w.usage);
    (
        header_tokens
            .0
            .or_else(|| usage.as_ref().and_then(|u| u.input)),
        header_tokens
            .1
            .or_else(|| usage.as_ref().and_then(|u| u.output)),
    )
}

/// (input tokens, output tokens, content type, body) of an answer.
fn read_output(output: Output) -> (Option<u64>, Option<u64>, String, Option<Body>) {
    match output {
        Output::Body {
            bytes,
            content_type,
            header_tokens,
        } => {
            let (tin, tout) = body_tokens(&bytes, header_tokens);
            (tin, tout, content_type, Some(Body::Raw(bytes)))
        }
        Output::Stream(raw) => {
            let mut dec = bg_eventstream::Decoder::new();
            dec.push(&raw);
            let mut chunks = Vec::new();
            let (mut tin, mut tout) = (None, None);
            while let Ok(Some(m)) = dec.next() {
                let kind = m.header_str(":event-type").unwrap_or("").to_string();
                let Ok(payload) = serde_json::from_slice::<Value>(&m.payload) else {
                    continue;
                };
                // InvokeModelWithResponseStream: the chunk's bytes are the model's JSON.
                let chunk = if kind == "chunk" {
                    payload
                        .get("bytes")
                        .and_then(Value::as_str)
                        .and_then(|b| {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD.decode(b).ok()
                        })
                        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                        .unwrap_or(payload)
                } else {
                    json!({ kind.clone(): payload })
                };
                let metrics = chunk
                    .get("amazon-bedrock-invocationMetrics")
                    .or_else(|| chunk.pointer("/metadata/usage"));
                if let Some(m) = metrics {
                    tin = m
                        .get("inputTokenCount")
                        .or_else(|| m.get("inputTokens"))
                        .and_then(Value::as_u64)
                        .or(tin);
                    tout = m
                        .get("outputTokenCount")
                        .or_else(|| m.get("outputTokens"))
                        .and_then(Value::as_u64)
                        .or(tout);
                }
                chunks.push(chunk);
            }
            (
                tin,
                tout,
                "application/json".into(),
                Some(Body::Value(Value::Array(chunks))),
            )
        }
    }
}

// ---- Records stored as facts ----
//
// A CloudWatch Logs line of a logged call is stored as the facts its record is made of (the
// strings, the delivery flags, both bodies as they were sent) and rendered by [`build`] when
// it is read ([`render`]): building every record's JSON on the journal writer cost more than
// everything else logging does (issue 13), and a line is written once and read rarely. The
// text's length is counted when the line is stored ([`facts`]), for `storedBytes`. Records
// that [`build`] would give anything [`render`] cannot rebuild (bodies offloaded to S3, image
// bytes replaced, `requestMetadata` re-serialized, a stream's chunks) or that an S3 copy needs
// anyway are still built when written.

/// A stored line's text: its own, or its record rendered from the facts it was stored as.
pub fn line_text(row: &bg_store::LogRow) -> Result<std::borrow::Cow<'_, str>, String> {
    match &row.message {
        bg_store::LogMessage::Text(t) => Ok(std::borrow::Cow::Borrowed(t)),
        bg_store::LogMessage::Facts { facts, .. } => render(row.time_ms, facts).map(Into::into),
    }
}

/// The facts encoding's version (the first byte).
const FACTS_V1: u8 = 1;
const F_TEXT: u8 = 1;
const F_IMAGE: u8 = 2;
const F_EMBEDDING: u8 = 4;
const F_TOKENS_IN: u8 = 8;
const F_TOKENS_OUT: u8 = 16;

/// The facts of a record, or None when the record must be built when written (see above).
/// Only copies what the request already holds (the journal writer reads the bodies,
/// [`text_len`]): made on the request path, so that the bodies' buffers and the pending
/// record are freed on the thread that made them and one buffer crosses to the writer.
pub fn facts(p: &Pending, output: &Output) -> Option<Vec<u8>> {
    let Output::Body {
        bytes,
        content_type,
        header_tokens,
    } = output
    else {
        return None;
    };
    let answer = AnswerPart {
        bytes,
        content_type,
        header_tokens: *header_tokens,
    };
    facts_of(&p.texts(), &p.config, &p.input, &answer)
}

/// A whole answer as [`facts_of`] reads it.
pub struct AnswerPart<'a> {
    pub bytes: &'a [u8],
    pub content_type: &'a str,
    pub header_tokens: (Option<u64>, Option<u64>),
}

/// [`facts`] of a record's parts as they are, without a [`Pending`] made of them first (a
/// Converse whose handler handed its answer over, cloudtrail.rs).
pub fn facts_of(
    t: &PendingText<'_>,
    cfg: &Config,
    input: &[u8],
    answer: &AnswerPart<'_>,
) -> Option<Vec<u8>> {
    let images = cfg.text && !cfg.image && contains(input, &IMAGE);
    if input.len() > INLINE_MAX
        || answer.bytes.len() > INLINE_MAX
        || images
        || contains(input, &REQUEST_METADATA)
    {
        return None;
    }
    let texts = t.parts();
    let text_len: usize = texts.iter().map(|p| p.len()).sum();
    let parts = [answer.content_type.as_bytes(), input, answer.bytes];
    let size =
        2 + 16 + 4 * texts.len() + 4 + text_len + parts.iter().map(|b| 4 + b.len()).sum::<usize>();
    let mut f = Vec::with_capacity(size);
    let header_tokens = answer.header_tokens;
    let flags = [
        (cfg.text, F_TEXT),
        (cfg.image, F_IMAGE),
        (cfg.embedding, F_EMBEDDING),
        (header_tokens.0.is_some(), F_TOKENS_IN),
        (header_tokens.1.is_some(), F_TOKENS_OUT),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0, |a, (_, bit)| a | bit);
    f.extend_from_slice(&[FACTS_V1, flags]);
    f.extend_from_slice(&header_tokens.0.unwrap_or(0).to_le_bytes());
    f.extend_from_slice(&header_tokens.1.unwrap_or(0).to_le_bytes());
    // Where each string ends in their concatenation, then the concatenation (as a Pending
    // keeps them).
    let mut end = 0u32;
    for text in texts {
        end += text.len() as u32;
        f.extend_from_slice(&end.to_le_bytes());
    }
    f.extend_from_slice(&(text_len as u32).to_le_bytes());
    for text in texts {
        f.extend_from_slice(text.as_bytes());
    }
    for part in parts {
        f.extend_from_slice(&(part.len() as u32).to_le_bytes());
        f.extend_from_slice(part);
    }
    debug_assert_eq!(f.len(), size);
    Some(f)
}

/// Stored facts, read in place.
pub struct Facts<'a> {
    flags: u8,
    header_tokens: (Option<u64>, Option<u64>),
    ends: [u32; 8],
    text: &'a str,
    pub content_type: &'a str,
    pub input: &'a [u8],
    pub answer: &'a [u8],
}

impl<'a> Facts<'a> {
    /// An error for facts that are damaged or of an unknown version.
    pub fn decode(facts: &'a [u8]) -> Result<Facts<'a>, String> {
        let bad = || "a stored invocation record is damaged".to_string();
        let mut rest = facts;
        let mut take = |n: usize| -> Result<&'a [u8], String> {
            let (head, tail) = rest.split_at_checked(n).ok_or_else(bad)?;
            rest = tail;
            Ok(head)
        };
        let head = take(2)?;
        if head[0] != FACTS_V1 {
            return Err(format!(
                "a stored invocation record has an unknown encoding ({})",
                head[0]
            ));
        }
        let flags = head[1];
        let mut u64_at = |bit: u8| -> Result<Option<u64>, String> {
            let v = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad())?);
            Ok((flags & bit != 0).then_some(v))
        };
        let header_tokens = (u64_at(F_TOKENS_IN)?, u64_at(F_TOKENS_OUT)?);
        let mut ends = [0u32; 8];
        for end in ends.iter_mut() {
            *end = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?);
        }
        let mut part = || -> Result<&'a [u8], String> {
            let n = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?);
            take(n as usize)
        };
        let text = std::str::from_utf8(part()?).map_err(|_| bad())?;
        let content_type = std::str::from_utf8(part()?).map_err(|_| bad())?;
        let input = part()?;
        let answer = part()?;
        // Each part must end inside the text, in order, on a character boundary.
        let mut start = 0;
        for &end in &ends {
            let end = end as usize;
            if end < start || !text.is_char_boundary(end) {
                return Err(bad());
            }
            start = end;
        }
        if start != text.len() {
            return Err(bad());
        }
        Ok(Facts {
            flags,
            header_tokens,
            ends,
            text,
            content_type,
            input,
            answer,
        })
    }

    fn part(&self, i: usize) -> &'a str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    pub fn account(&self) -> &'a str {
        self.part(0)
    }

    pub fn region(&self) -> &'a str {
        self.part(1)
    }

    fn config(&self) -> Config {
        Config {
            text: self.flags & F_TEXT != 0,
            image: self.flags & F_IMAGE != 0,
            embedding: self.flags & F_EMBEDDING != 0,
            ..Config::default()
        }
    }

    /// The record's strings, as [`Pending::new`] took them.
    fn texts(&self) -> PendingText<'a> {
        PendingText {
            account: self.part(0),
            region: self.part(1),
            identity_arn: self.part(2),
            request_id: self.part(3),
            operation: self.part(4),
            model_id: self.part(5),
            inference_region: Some(self.part(6)).filter(|r| !r.is_empty()),
            input_content_type: self.part(7),
        }
    }
}

/// The length of the text [`render`] gives for these facts, without writing it. Reads both
/// bodies as [`build`] does (their validity and the answer's token counts decide it), except
/// where the answer's maker vouched for them (`known`: the usage of an [`Answer`]).
pub fn text_len(time_ms: i64, f: &Facts<'_>, known: Option<(u64, u64)>) -> usize {
    let cfg = f.config();
    let t = f.texts();
    // One parse of the answer for both its token counts and whether it is JSON (`build` reads
    // it twice): `WithUsage` reads the whole text, so where it succeeds the answer is JSON,
    // and as raw JSON it is the text without the whitespace around it, if that is UTF-8
    // (`WithUsage` skips the strings it does not keep unchecked). An answer the handler wrote
    // is compact JSON with both counts: its raw JSON is all of it.
    let with_usage = match known {
        Some(_) => None,
        None => serde_json::from_slice::<WithUsage>(f.answer).ok(),
    };
    let usage = with_usage.as_ref().and_then(|w| w.usage.as_ref());
    let (body_in, body_out) = match known {
        Some((i, o)) => (Some(i), Some(o)),
        None => (usage.and_then(|u| u.input), usage.and_then(|u| u.output)),
    };
    let tokens_in = f.header_tokens.0.or(body_in);
    let tokens_out = f.header_tokens.1.or(body_out);
    let raw_len = |b: &[u8]| {
        serde_json::from_slice::<&RawValue>(b)
            .ok()
            .map(|r| r.get().len())
    };
    let (in_json, out_json) = if cfg.text {
        let kept_out = !contains(t.model_id.as_bytes(), &EMBED) || cfg.embedding;
        let out_json = match &with_usage {
            _ if !kept_out => None,
            _ if known.is_some() => Some(f.answer.len()),
            Some(_) => {
                let json = f.answer.trim_ascii();
                std::str::from_utf8(json).ok().map(str::len)
            }
            None => raw_len(f.answer),
        };
        let in_json = match known {
            // Read whole as one JSON value by the handler: as raw JSON it is the text without
            // the JSON whitespace around it (the value itself starts and ends with none of
            // what `trim_ascii` takes), if that is UTF-8 (checked still: a read checks the
            // strings it keeps, not those it skips).
            Some(_) => std::str::from_utf8(f.input.trim_ascii()).ok().map(str::len),
            None => raw_len(f.input),
        };
        (in_json, out_json)
    } else {
        (None, None)
    };
    record_len(
        time_ms,
        &t,
        tokens_in,
        tokens_out,
        in_json,
        out_json,
        f.content_type,
    )
}

/// The record that [`facts`] stored, as [`build`] wrote it then: the same code on the same
/// parts. An error for facts that are damaged or of an unknown version.
pub fn render(time_ms: i64, facts: &[u8]) -> Result<String, String> {
    let f = Facts::decode(facts)?;
    let p = Pending::new(
        time_ms,
        f.texts(),
        bytes::Bytes::copy_from_slice(f.input),
        Arc::new(f.config()),
    );
    let output = Output::Body {
        bytes: bytes::Bytes::copy_from_slice(f.answer),
        content_type: f.content_type.to_string(),
        header_tokens: f.header_tokens,
    };
    Ok(build(&p, output).0)
}

/// The length of the text [`build`] writes for a record with these parts, without writing it:
/// its fields as [`Record`] declares them (`tests::facts_render_the_built_record` holds the two
/// to each other).
fn record_len(
    time_ms: i64,
    p: &PendingText<'_>,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    in_json: Option<usize>,
    out_json: Option<usize>,
    out_type: &str,
) -> usize {
    let s = |v: &str| Some(json_str_len(v));
    let n = |v: Option<u64>| v.map(digits);
    let zero = tokens_in.map(|_| 1);
    let input = object_len(&[
        ("cacheReadInputTokenCount", zero),
        ("cacheWriteInputTokenCount", zero),
        ("inputBodyJson", in_json),
        ("inputContentType", s(p.input_content_type)),
        ("inputTokenCount", n(tokens_in)),
    ]);
    let output = object_len(&[
        ("outputBodyJson", out_json),
        ("outputContentType", s(out_type)),
        ("outputTokenCount", n(tokens_out)),
    ]);
    object_len(&[
        ("accountId", s(p.account)),
        ("identity", Some(object_len(&[("arn", s(p.identity_arn))]))),
        ("inferenceRegion", p.inference_region.map(json_str_len)),
        ("input", Some(input)),
        ("modelId", s(p.model_id)),
        ("operation", s(p.operation)),
        ("output", Some(output)),
        ("region", s(p.region)),
        ("requestId", s(p.request_id)),
        ("schemaType", s("ModelInvocationLog")),
        ("schemaVersion", s("1.0")),
        ("timestamp", Some(iso_json_len(time_ms))),
    ])
}

/// `json_str_len(&record::iso(time_ms))` without the string: 20 characters that need no
/// escaping for the years 0000-9999 that `iso` writes digit by digit.
fn iso_json_len(time_ms: i64) -> usize {
    let t = time::OffsetDateTime::from_unix_timestamp(time_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    if (0..=9999).contains(&t.year()) {
        2 + 20
    } else {
        json_str_len(&crate::cloudtrail::record::iso(time_ms))
    }
}

/// `{"k":v,...}` of the fields present (keys need no escaping).
fn object_len(fields: &[(&str, Option<usize>)]) -> usize {
    let present = fields.iter().filter_map(|(k, v)| Some(k.len() + 3 + (*v)?));
    let (count, sum) = present.fold((0usize, 0), |(c, s), len| (c + 1, s + len));
    2 + sum + count.saturating_sub(1)
}

/// A string as serde_json writes it: quoted, `"` and `\` and control characters escaped
/// (`\n`-style where JSON has a short form, else `\u00XX`).
/// Eight bytes at a time where none needs escaping (most strings of a record: the journal
/// writer counts a dozen for every logged call, issue 13).
fn json_str_len(v: &str) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let escaped = |b: &u8| match b {
        b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
        0..=0x1f => 6,
        _ => 1,
    };
    // Nonzero exactly when some byte of `x` is below `n` (n <= 0x80): the classic SWAR test.
    let below = |x: u64, n: u8| x.wrapping_sub(u64::from(n) * ONES) & !x & HIGH;
    let mut chunks = v.as_bytes().chunks_exact(8);
    let mut len = 2;
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        let special = below(x, 0x20)
            | below(x ^ (u64::from(b'"') * ONES), 1)
            | below(x ^ (u64::from(b'\\') * ONES), 1);
        len += if special == 0 {
            8
        } else {
            c.iter().map(escaped).sum()
        };
    }
    len + chunks.remainder().iter().map(escaped).sum::<usize>()
}

fn digits(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_keys_follow_aws_layout() {
        assert_eq!(
            s3_key("logs/", "111111111111", "us-east-1", 1_796_229_862_000, "x.json.gz"),
            "logs/AWSLogs/111111111111/BedrockModelInvocationLogs/us-east-1/2026/12/02/16/x.json.gz"
        );
        assert_eq!(
            s3_key("", "1", "r", 0, "y"),
            "AWSLogs/1/BedrockModelInvocationLogs/r/1970/01/01/00/y"
        );
    }

    fn pending_in(cfg: Value, input: &str, inference_region: Option<&str>) -> Pending {
        Pending::new(
            0,
            PendingText {
                account: "1",
                region: "us-east-1",
                identity_arn: "arn",
                request_id: "rid",
                operation: "Converse",
                model_id: "amazon.nova-lite-v1:0",
                inference_region,
                input_content_type: "application/json",
            },
            bytes::Bytes::from(input.to_string()),
            Arc::new(Config::from_json(&cfg)),
        )
    }

    fn pending(cfg: Value, input: &str) -> Pending {
        pending_in(cfg, input, None)
    }

    #[test]
    fn bodies_follow_the_delivery_flags_and_large_ones_are_offloaded() {
        let out = || Output::Body {
            bytes: bytes::Bytes::from_static(br#"{"usage":{"inputTokens":3,"outputTokens":4}}"#),
            content_type: "application/json".into(),
            header_tokens: (None, None),
        };
        let parsed =
            |(r, o): (String, Vec<S3Object>)| (serde_json::from_str::<Value>(&r).unwrap(), o);
        let (r, o) = parsed(build(&pending(json!({}), r#"{"messages":[]}"#), out()));
        assert!(o.is_empty());
        assert_eq!(
            r["input"],
            json!({"inputContentType": "application/json", "inputTokenCount": 3, "cacheReadInputTokenCount": 0, "cacheWriteInputTokenCount": 0})
        );
        assert_eq!(
            r["output"],
            json!({"outputContentType": "application/json", "outputTokenCount": 4})
        );
        let cfg = json!({"textDataDeliveryEnabled": true, "s3Config": {"bucketName": "b", "keyPrefix": "p"}});
        let (r, _) = parsed(build(&pending(cfg.clone(), r#"{"messages": [ ]}"#), out()));
        assert_eq!(r["input"]["inputBodyJson"], json!({"messages": []}));
        let big = format!(r#"{{"messages":"{}"}}"#, "x".repeat(INLINE_MAX));
        let (r, o) = parsed(build(&pending(cfg, &big), out()));
        assert!(r["input"].get("inputBodyJson").is_none());
        let path = r["input"]["inputBodyS3Path"].as_str().unwrap();
        assert!(path.starts_with(
            "s3://b/p/AWSLogs/1/BedrockModelInvocationLogs/us-east-1/1970/01/01/00/data/"
        ));
        assert!(path.ends_with("_input.json.gz"));
        assert_eq!(o.len(), 1);
    }

    /// The record's exact bytes: fields in name order (the order the `Value` the record was
    /// once built as wrote them), the bodies as the caller and the model wrote them.
    #[test]
    fn record_bytes_are_pinned() {
        let mut p = pending_in(
            json!({"textDataDeliveryEnabled": true}),
            r#"{"messages":[{"role":"user","content":[{"text":"hi \"there\""}]}],"requestMetadata":{"team":"a","app":"b"}}"#,
            Some("us-west-2"),
        );
        p.time_ms = 1_796_229_862_123;
        let out = Output::Body {
            bytes: bytes::Bytes::from_static(
                br#"{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"usage":{"inputTokens":3,"outputTokens":4}}"#,
            ),
            content_type: "application/json".into(),
            header_tokens: (None, None),
        };
        let (line, objects) = build(&p, out);
        assert!(objects.is_empty());
        assert_eq!(
            line,
            r#"{"accountId":"1","identity":{"arn":"arn"},"inferenceRegion":"us-west-2","input":{"cacheReadInputTokenCount":0,"cacheWriteInputTokenCount":0,"inputBodyJson":{"messages":[{"role":"user","content":[{"text":"hi \"there\""}]}],"requestMetadata":{"team":"a","app":"b"}},"inputContentType":"application/json","inputTokenCount":3},"modelId":"amazon.nova-lite-v1:0","operation":"Converse","output":{"outputBodyJson":{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"usage":{"inputTokens":3,"outputTokens":4}},"outputContentType":"application/json","outputTokenCount":4},"region":"us-east-1","requestId":"rid","requestMetadata":{"app":"b","team":"a"},"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"2026-12-02T16:44:22Z"}"#
        );
    }
    /// A record stored as facts renders to the bytes `build` writes for it, and the length
    /// counted when it was stored is that text's: across the delivery flags, header and body
    /// token counts, bodies that are not JSON (left out) or not objects, strings that need
    /// escaping, an embedding model, and an inference Region or none.
    #[test]
    fn facts_render_the_built_record() {
        let inputs = [
            r#"{"messages":[{"role":"user","content":[{"text":"hi \"there\" \u00e9 é\n"}]}]}"#,
            " [1, 2]\n",
            "not json",
            "",
            r#"{"inputText":"x"}"#,
        ];
        let answers: [&[u8]; 8] = [
            br#"{"output":{"message":{"role":"assistant","content":[{"text":"ok"}]}},"usage":{"inputTokens":3,"outputTokens":41234567890}}"#,
            b"\n {\"usage\":{\"inputTokens\":7}} \r\n",
            b"[true]",
            b"[null]",
            b"{",
            br#"{"embedding":[0.1,0.2],"usage":"x"}"#,
            b"{\"a\":\"\xff\"}",
            br#"{"usage":{"inputTokens":1},"usage":null}"#,
        ];
        let configs = [
            json!({}),
            json!({"textDataDeliveryEnabled": true}),
            json!({"textDataDeliveryEnabled": true, "embeddingDataDeliveryEnabled": true, "imageDataDeliveryEnabled": true}),
        ];
        let mut checked = 0;
        for (c, cfg) in configs.iter().enumerate() {
            for input in inputs {
                for answer in answers {
                    for header_tokens in [(None, None), (Some(5), None), (Some(12), Some(0))] {
                        let mut p = Pending::new(
                            1_796_229_862_123 + c as i64,
                            PendingText {
                                account: "111111111111",
                                region: "us-east-1",
                                identity_arn: "arn:aws:iam::111111111111:user/a\"b\\c\u{1}",
                                request_id: "rid",
                                operation: "InvokeModel",
                                model_id: if input.contains("inputText") {
                                    "amazon.titan-embed-text-v2:0"
                                } else {
                                    "amazon.nova-lite-v1:0"
                                },
                                inference_region: (c == 1).then_some("us-west-2"),
                                input_content_type: "application/json\t",
                            },
                            bytes::Bytes::from(input.to_string()),
                            Arc::new(Config::from_json(cfg)),
                        );
                        p.time_ms += checked;
                        let output = || Output::Body {
                            bytes: bytes::Bytes::copy_from_slice(answer),
                            content_type: "application/json".into(),
                            header_tokens,
                        };
                        let (built, objects) = build(&p, output());
                        assert!(objects.is_empty());
                        let facts = facts(&p, &output()).expect("stored as facts");
                        let len = text_len(p.time_ms, &Facts::decode(&facts).unwrap(), None);
                        assert_eq!(len, built.len(), "{built}");
                        assert_eq!(render(p.time_ms, &facts).unwrap(), built);
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 3 * 5 * 8 * 3);
    }

    /// An answer its handler made and handed over ([`Answer`]: Converse's, written by
    /// `converse::response_bytes`) counts the length `build` writes for it from the usage the
    /// handler knows, without the answer read again: across the delivery flags, answers with
    /// strings to escape, tool use, token counts of every width, and an embedding model's
    /// name (whose answer text delivery leaves out without its own flag).
    #[test]
    fn handed_answers_count_the_built_record() {
        use bg_backends::{Block, Completion, StopReason, Usage};
        let texts = [
            "ok",
            "",
            "hi \"there\" \u{e9} \u{1}\n\t\\ é",
            "{\"usage\":1}",
        ];
        let usages = [(0, 0), (9, 34), (4_000_000_000, 1), (1, u32::MAX - 1)];
        let configs = [
            json!({}),
            json!({"textDataDeliveryEnabled": true}),
            json!({"textDataDeliveryEnabled": true, "embeddingDataDeliveryEnabled": true, "imageDataDeliveryEnabled": true}),
        ];
        // Requests the handler reads (by its typed pass and by the `Value` path), with JSON
        // whitespace around them, escapes and non-ASCII text, a tool choice whose value the
        // typed pass skips, and members only the `Value` path reads.
        let inputs: [&'static [u8]; 5] = [
            br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#,
            b" \r\n\t{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"h\\u00e9 \\\"q\\\" \xc3\xa9\"}]}]}\n ",
            br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"additionalModelRequestFields":{"k":[1,2.5e3,null]}}"#,
            br#"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},{"text":"x"}]}]}"#,
            br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"t","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"auto":{"x":"\ud800 y"}}}}"#,
        ];
        let (mut checked, mut skipped) = (0, 0);
        for cfg in &configs {
            for text in texts {
                for (input_tokens, output_tokens) in usages {
                    for (tool, model_id) in [
                        (false, "amazon.nova-lite-v1:0"),
                        (true, "amazon.titan-embed-text-v2:0"),
                    ] {
                        let mut content = vec![Block::Text(text.into())];
                        if tool {
                            content.push(Block::ToolUse {
                                id: "t1".into(),
                                name: "weather".into(),
                                input: json!({"city": text}),
                            });
                        }
                        let c = Completion {
                            content,
                            stop_reason: StopReason::EndTurn,
                            usage: Usage {
                                input_tokens,
                                output_tokens,
                            },
                            stop_sequence: None,
                        };
                        let answer = Answer {
                            bytes: crate::converse::response_bytes(&c, checked).into(),
                            usage: (u64::from(input_tokens), u64::from(output_tokens)),
                        };
                        let input = inputs[checked as usize % inputs.len()];
                        // The handler hands its answer over only after reading this whole.
                        let read = crate::converse::parse_request_bytes(input);
                        assert!(
                            read.is_ok(),
                            "{:?}: {:?}",
                            String::from_utf8_lossy(input),
                            read.err().map(|e| e.message)
                        );
                        let p = Pending::new(
                            1_796_229_862_123 + checked as i64,
                            PendingText {
                                account: "111111111111",
                                region: "us-east-1",
                                identity_arn: "arn:aws:iam::111111111111:user/a",
                                request_id: "rid",
                                operation: "Converse",
                                model_id,
                                inference_region: None,
                                input_content_type: "application/json",
                            },
                            bytes::Bytes::from_static(input),
                            Arc::new(Config::from_json(cfg)),
                        );
                        let output = || Output::Body {
                            bytes: answer.bytes.clone(),
                            content_type: "application/json".into(),
                            header_tokens: (None, None),
                        };
                        let (built, _) = build(&p, output());
                        let Some(facts) = facts(&p, &output()) else {
                            // Image bytes replaced: built when written (tested above).
                            assert!(p.config.text && !p.config.image && contains(input, &IMAGE));
                            skipped += 1;
                            checked += 1;
                            continue;
                        };
                        let f = Facts::decode(&facts).unwrap();
                        assert_eq!(
                            text_len(p.time_ms, &f, Some(answer.usage)),
                            built.len(),
                            "{built}"
                        );
                        assert_eq!(render(p.time_ms, &facts).unwrap(), built);
                        checked += 1;
                    }
                }
            }
        }
        // Skipped: the image request each time it comes with text delivery alone.
        assert_eq!((checked, skipped), (3 * 4 * 4 * 2, 7));
    }

    /// A string's length as serde_json writes it, for every byte that needs escaping at every
    /// place in and around the eight-byte chunks, and for text that needs none.
    #[test]
    fn json_string_lengths_are_serde_jsons() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "arn:aws:iam::111111111111:user/a".into(),
            "é€😀 naïve ~\u{7f}".into(),
        ];
        for b in 0u8..=0x7f {
            for len in [1, 7, 8, 9, 16, 17] {
                for at in 0..len {
                    let mut t = vec![b'a'; len];
                    t[at] = b;
                    cases.push(String::from_utf8(t).unwrap());
                }
            }
        }
        for c in &cases {
            assert_eq!(
                json_str_len(c),
                serde_json::to_string(c).unwrap().len(),
                "{c:?}"
            );
        }
    }

    /// The timestamp's length counted without writing it, in and out of the years `iso`
    /// writes digit by digit.
    #[test]
    fn iso_lengths_are_the_written_ones() {
        for t in [
            0,
            -1,
            1_796_229_862_123,
            -62_167_219_200_001,
            -62_167_219_200_000,
            253_402_300_799_999,
            253_402_300_800_000,
            i64::MAX,
            i64::MIN,
        ] {
            let iso = crate::cloudtrail::record::iso(t);
            assert_eq!(iso_json_len(t), json_str_len(&iso), "{iso}");
        }
    }

    /// What `build` would write differently from its parts is built when written, not stored
    /// as facts; damaged facts are an error, not a panic.
    #[test]
    fn facts_only_where_the_record_can_be_rebuilt() {
        let out = |answer: &str| Output::Body {
            bytes: bytes::Bytes::from(answer.to_string()),
            content_type: "application/json".into(),
            header_tokens: (None, None),
        };
        let text = json!({"textDataDeliveryEnabled": true});
        assert!(facts(&pending(text.clone(), "{}"), &out("{}")).is_some());
        let image = r#"{"messages":[{"content":[{"image":{"source":{"bytes":"AAA"}}}]}]}"#;
        assert!(facts(&pending(text.clone(), image), &out("{}")).is_none());
        // Without text delivery no body is written: images do not matter.
        assert!(facts(&pending(json!({}), image), &out("{}")).is_some());
        let meta = r#"{"requestMetadata":{"a":"b"}}"#;
        assert!(facts(&pending(text.clone(), meta), &out("{}")).is_none());
        let big = format!(r#"{{"m":"{}"}}"#, "x".repeat(INLINE_MAX));
        assert!(facts(&pending(text.clone(), &big), &out("{}")).is_none());
        assert!(facts(&pending(text.clone(), "{}"), &out(&big)).is_none());
        assert!(facts(&pending(text.clone(), "{}"), &Output::Stream(Vec::new())).is_none());

        let f = facts(&pending(text, "{}"), &out("{}")).unwrap();
        for cut in [0, 1, 2, 20, f.len() - 1] {
            assert!(render(0, &f[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = f.clone();
        other[0] = 2;
        assert!(render(0, &other).unwrap_err().contains("unknown encoding"));
        // An end past the text.
        let mut lying = f.clone();
        lying[18] = 0xff;
        assert!(render(0, &lying).is_err());
    }
}
