//! The `bedrock` upstream kind: a real Bedrock endpoint (or another `bedrock-gates serve`) behind
//! the gates. An admitted call is sent as a Converse (or ConverseStream) request, signed with
//! SigV4 by `aws-sigv4` with credentials from the standard AWS credential chain (`aws-config`;
//! never the caller's), and the answer comes back as the caller's operation shapes it. A refusal
//! by the upstream (any AWS error, before or inside the stream) comes back unchanged: the same
//! error code, HTTP status and message.
//!
//! Translated: system prompts, multi-turn text, images and documents (their bytes as received),
//! tool use and tool results, inference parameters, tool choice, the structured-output schema.
//! Not translated: reasoning sent back in history. Streams are live: the upstream's event frames
//! are decoded as they arrive. Embeddings are not forwarded yet.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use serde_json::{json, Value};

use crate::upstream::{Http, UpstreamConfig};
use crate::{
    Backend, BackendError, Block, BoxFuture, Completion, Embedding, EventStream, Prompt, Role,
    StopReason, StreamEvent, ToolChoice, Usage,
};

/// Where a `bedrock` upstream's signing credentials and Region come from: the standard AWS
/// credential chain (`aws-config`: environment variables, the shared config and credentials
/// files with `AWS_PROFILE`, web identity, SSO, the container and EC2 instance metadata
/// endpoints), resolved at the first call. Never the caller's credentials.
#[derive(Clone, Debug, Default)]
pub struct SigningIdentity {
    /// The Region to sign for: a scenario's `region`, else the chain's (`AWS_REGION`, the
    /// profile's `region`), else us-east-1.
    pub region: Option<String>,
}

/// Credentials are fetched again this long before they expire (the SDK's own identity cache
/// refreshes within 10 s of expiry; a minute leaves room for a slow call).
const REFRESH_BEFORE: Duration = Duration::from_secs(60);
/// Credentials without an expiry (a profile's static keys) are fetched again after this long,
/// as the SDK's lazy identity cache does, so an edited credentials file is picked up.
const STATIC_TTL: Duration = Duration::from_secs(15 * 60);

/// A credentials provider with a cache: the provider is asked only when the cached
/// credentials are missing, about to expire, or static and older than [`STATIC_TTL`].
struct Signer {
    region: String,
    provider: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<(Credentials, std::time::Instant)>>,
}

impl Signer {
    fn new(region: String, provider: SharedCredentialsProvider) -> Signer {
        Signer {
            region,
            provider,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<Credentials, BackendError> {
        let mut slot = self.cached.lock().await;
        if let Some((c, at)) = slot.as_ref() {
            if fresh(c, *at, SystemTime::now()) {
                return Ok(c.clone());
            }
        }
        match self.provider.provide_credentials().await {
            Ok(c) => {
                *slot = Some((c.clone(), std::time::Instant::now()));
                Ok(c)
            }
            Err(e) => {
                // The provider's error names the source that failed, never a secret.
                eprintln!("bedrock upstream: the AWS credential chain gave no credentials: {e}");
                Err(BackendError::Unavailable(
                    crate::upstream::UNAVAILABLE.into(),
                ))
            }
        }
    }
}

fn fresh(c: &Credentials, fetched: std::time::Instant, now: SystemTime) -> bool {
    match c.expiry() {
        Some(expiry) => expiry > now + REFRESH_BEFORE,
        None => fetched.elapsed() < STATIC_TTL,
    }
}

pub struct BedrockBackend {
    cfg: UpstreamConfig,
    identity: SigningIdentity,
    http: Http,
    /// Built from the credential chain at the first call (loading it is async).
    signer: tokio::sync::OnceCell<Signer>,
}

impl BedrockBackend {
    pub fn new(cfg: UpstreamConfig, identity: SigningIdentity) -> BedrockBackend {
        let http = Http::new(&cfg);
        BedrockBackend {
            cfg,
            identity,
            http,
            signer: tokio::sync::OnceCell::new(),
        }
    }

    /// With a given credentials provider instead of the chain (tests, embedders).
    pub fn with_provider(
        cfg: UpstreamConfig,
        region: &str,
        provider: SharedCredentialsProvider,
    ) -> BedrockBackend {
        let b = BedrockBackend::new(cfg, SigningIdentity::default());
        let _ = b.signer.set(Signer::new(region.to_string(), provider));
        b
    }

    async fn signer(&self) -> &Signer {
        self.signer
            .get_or_init(|| async {
                // The chain may call out (SSO, IMDS, web identity): with the SDK's HTTPS client on
                // rustls + ring, as the SDK crates are built without their default (aws-lc) one.
                let https = aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let chain = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .http_client(https)
                    .load()
                    .await;
                let region = self
                    .identity
                    .region
                    .clone()
                    .or_else(|| chain.region().map(|r| r.to_string()))
                    .unwrap_or_else(|| "us-east-1".to_string());
                let provider = match chain.credentials_provider() {
                    Some(p) => p,
                    // `load` always sets one; the chain itself, should that ever change.
                    None => SharedCredentialsProvider::new(
                        aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                            .build()
                            .await,
                    ),
                };
                Signer::new(region, provider)
            })
            .await
    }

    /// SigV4 headers for a POST of `body` to `url`.
    async fn signed_headers(
        &self,
        url: &str,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, BackendError> {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        use aws_sigv4::sign::v4;
        let signer = self.signer().await;
        // The chain may wait on a metadata endpoint that is not there: the upstream's timeout
        // bounds that too.
        let credentials = tokio::time::timeout(self.http.timeout, signer.credentials())
            .await
            .map_err(|_| BackendError::Unavailable(crate::upstream::UNAVAILABLE.into()))??;
        let failed = || BackendError::Unavailable(crate::upstream::UNAVAILABLE.into());
        let uri: hyper::Uri = url.parse().map_err(|_| failed())?;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or_else(failed)?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&signer.region)
            .name("bedrock")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| failed())?
            .into();
        let base = [
            ("host", host.as_str()),
            ("content-type", "application/json"),
        ];
        let signable =
            SignableRequest::new("POST", url, base.into_iter(), SignableBody::Bytes(body))
                .map_err(|_| failed())?;
        let (instructions, _) = sign(signable, &params).map_err(|_| failed())?.into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    async fn converse(&self, model_id: &str, prompt: &Prompt) -> Result<Completion, BackendError> {
        let model = self.cfg.upstream_model(model_id);
        let url = format!("{}/model/{}/converse", self.cfg.url, percent_encode(model));
        let body = converse_request(prompt).to_string().into_bytes();
        let signed = self.signed_headers(&url, &body).await?;
        let headers: Vec<(&str, String)> = signed
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let answer = self.http.post(&url, &headers, body).await?;
        let error_type = answer.header("x-amzn-errortype");
        let (status, bytes) = answer.bytes(self.http.timeout).await?;
        if status >= 400 {
            return Err(aws_error(status, error_type.as_deref(), &bytes));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| BackendError::Upstream {
            status: 502,
            message: "The upstream answered with a body that is not a Converse response.".into(),
        })?;
        Ok(completion_of(&v, prompt))
    }
}

/// The live stream: the upstream's ConverseStream event frames, translated as they arrive.
struct Live<'a> {
    backend: &'a BedrockBackend,
    prompt: &'a Prompt,
    frames: bg_eventstream::Decoder,
}

impl crate::upstream::LiveSource for Live<'_> {
    async fn open(&mut self, model_id: &str) -> Result<crate::upstream::Opened, BackendError> {
        let model = self.backend.cfg.upstream_model(model_id);
        let url = format!(
            "{}/model/{}/converse-stream",
            self.backend.cfg.url,
            percent_encode(model)
        );
        let body = converse_request(self.prompt).to_string().into_bytes();
        let signed = self.backend.signed_headers(&url, &body).await?;
        let headers: Vec<(&str, String)> = signed
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let answer = self.backend.http.post(&url, &headers, body).await?;
        if answer.status >= 400 {
            let error_type = answer.header("x-amzn-errortype");
            let (status, bytes) = answer.bytes(self.backend.http.timeout).await?;
            return Err(aws_error(status, error_type.as_deref(), &bytes));
        }
        Ok(crate::upstream::Opened::Stream(answer))
    }

    fn chunk(
        &mut self,
        bytes: &[u8],
        out: &mut std::collections::VecDeque<StreamEvent>,
    ) -> Result<(), BackendError> {
        self.frames.push(bytes);
        loop {
            match self.frames.next() {
                Ok(None) => return Ok(()),
                Ok(Some(m)) => message(&m, out)?,
                Err(_) => return Err(broken_stream()),
            }
        }
    }
}

/// One event-stream message: its events queued, or the upstream's in-stream exception.
fn message(
    m: &bg_eventstream::Message,
    out: &mut std::collections::VecDeque<StreamEvent>,
) -> Result<(), BackendError> {
    let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
    if m.header_str(":message-type") == Some("exception") {
        // Passed on unchanged: the same exception, its message and original status.
        return Err(BackendError::Aws {
            code: m.header_str(":exception-type").unwrap_or("").to_string(),
            status: v
                .get("originalStatusCode")
                .and_then(Value::as_u64)
                .map_or(500, |s| s.min(599) as u16),
            message: v
                .get("originalMessage")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        });
    }
    let kind = m.header_str(":event-type").unwrap_or("");
    let index = v
        .get("contentBlockIndex")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    let text_at = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let ev = match kind {
        "messageStart" => StreamEvent::MessageStart,
        "contentBlockStart" => match (
            text_at("/start/toolUse/toolUseId"),
            text_at("/start/toolUse/name"),
        ) {
            (Some(id), Some(name)) => StreamEvent::ToolUseStart { index, id, name },
            _ => return Ok(()),
        },
        "contentBlockDelta" => {
            if let Some(text) = text_at("/delta/text") {
                StreamEvent::TextDelta { index, text }
            } else if let Some(json) = text_at("/delta/toolUse/input") {
                StreamEvent::ToolInputDelta { index, json }
            } else if let Some(text) = text_at("/delta/reasoningContent/text") {
                StreamEvent::ReasoningDelta { index, text }
            } else {
                return Ok(());
            }
        }
        "contentBlockStop" => StreamEvent::BlockStop { index },
        "messageStop" => StreamEvent::MessageStop {
            stop_reason: stop_reason_of(v.get("stopReason").and_then(Value::as_str)),
            stop_sequence: None,
        },
        "metadata" => {
            let n = |k: &str| {
                v.pointer(&format!("/usage/{k}"))
                    .and_then(Value::as_u64)
                    .map_or(0, |x| x.min(u64::from(u32::MAX)) as u32)
            };
            StreamEvent::Usage(Usage {
                input_tokens: n("inputTokens"),
                output_tokens: n("outputTokens"),
            })
        }
        // Events this translation does not carry (citations, images) are skipped.
        _ => return Ok(()),
    };
    out.push_back(ev);
    Ok(())
}

fn broken_stream() -> BackendError {
    BackendError::ModelStream {
        status: 502,
        message: "The upstream sent a frame that is not an event-stream message.".into(),
    }
}

fn stop_reason_of(s: Option<&str>) -> StopReason {
    match s {
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        _ => StopReason::EndTurn,
    }
}

/// Characters a model id keeps in a URI path segment (`:` is fine; `/` in an ARN is not).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An AWS error as the upstream sent it: the code from `x-amzn-ErrorType` (before any `:`) or
/// the body's `__type`, the message from the body.
fn aws_error(status: u16, error_type: Option<&str>, body: &[u8]) -> BackendError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = error_type
        .map(str::to_string)
        .or_else(|| v.get("__type").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    let code = code
        .split(':')
        .next()
        .unwrap_or("")
        .rsplit('#')
        .next()
        .unwrap_or("")
        .to_string();
    let message = v
        .get("message")
        .or_else(|| v.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    BackendError::Aws {
        code,
        status,
        message,
    }
}

/// The Converse request for a prompt.
pub fn converse_request(p: &Prompt) -> Value {
    let messages: Vec<Value> = p
        .messages
        .iter()
        .map(|m| {
            json!({
                "role": match m.role { Role::User => "user", Role::Assistant => "assistant" },
                "content": m.content.iter().filter_map(block_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut body = json!({ "messages": messages });
    let o = body.as_object_mut().expect("a JSON object");
    if !p.system.is_empty() {
        let system: Vec<Value> = p.system.iter().map(|s| json!({ "text": s })).collect();
        o.insert("system".into(), Value::Array(system));
    }
    let mut ic = serde_json::Map::new();
    if let Some(n) = p.max_tokens {
        ic.insert("maxTokens".into(), json!(n));
    }
    if let Some(t) = p.temperature {
        ic.insert("temperature".into(), json!(t));
    }
    if let Some(t) = p.top_p {
        ic.insert("topP".into(), json!(t));
    }
    if !p.stop_sequences.is_empty() {
        ic.insert("stopSequences".into(), json!(p.stop_sequences));
    }
    if !ic.is_empty() {
        o.insert("inferenceConfig".into(), Value::Object(ic));
    }
    if !p.tools.is_empty() {
        let tools: Vec<Value> = p
            .tools
            .iter()
            .map(|t| {
                let mut spec = json!({ "name": t.name, "inputSchema": { "json": t.input_schema } });
                if let Some(d) = &t.description {
                    spec["description"] = json!(d);
                }
                json!({ "toolSpec": spec })
            })
            .collect();
        let mut tc = json!({ "tools": tools });
        match &p.tool_choice {
            ToolChoice::Any => tc["toolChoice"] = json!({ "any": {} }),
            ToolChoice::Tool(n) => tc["toolChoice"] = json!({ "tool": { "name": n } }),
            // Converse has no "none": the tools stay declared (tool results need them).
            ToolChoice::Auto | ToolChoice::None => {}
        }
        o.insert("toolConfig".into(), tc);
    }
    if let Some(out) = &p.output_schema {
        let mut js = json!({ "schema": out.schema.to_string() });
        if let Some(n) = &out.name {
            js["name"] = json!(n);
        }
        if let Some(d) = &out.description {
            js["description"] = json!(d);
        }
        o.insert(
            "outputConfig".into(),
            json!({ "textFormat": { "type": "json_schema", "structure": { "jsonSchema": js } } }),
        );
    }
    body
}

fn block_json(b: &Block) -> Option<Value> {
    Some(match b {
        Block::Text(t) => json!({ "text": t }),
        Block::ToolUse { id, name, input } => {
            json!({ "toolUse": { "toolUseId": id, "name": name, "input": input } })
        }
        Block::ToolResult {
            tool_use_id,
            content,
            status,
        } => {
            let mut r = json!({
                "toolUseId": tool_use_id,
                "content": content.iter().filter_map(block_json).collect::<Vec<_>>(),
            });
            if let Some(s) = status {
                r["status"] = json!(s);
            }
            json!({ "toolResult": r })
        }
        // Bytes go on as they came: the upstream Bedrock validates them as it would.
        Block::Image {
            format,
            data: Some(d),
            ..
        } => json!({ "image": { "format": format, "source": { "bytes": d } } }),
        Block::Document {
            name,
            format: Some(f),
            data: Some(d),
            ..
        } => json!({ "document": { "name": name, "format": f, "source": { "bytes": d } } }),
        Block::Document { name, text, .. } if !text.is_empty() => {
            json!({ "document": { "name": name, "format": "txt", "source": { "text": text } } })
        }
        _ => return None,
    })
}

/// A Converse response as a completion.
pub fn completion_of(v: &Value, p: &Prompt) -> Completion {
    let content = v
        .pointer("/output/message/content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| {
            if let Some(t) = b.get("text").and_then(Value::as_str) {
                return Some(Block::Text(t.to_string()));
            }
            if let Some(u) = b.get("toolUse") {
                return Some(Block::ToolUse {
                    id: u.get("toolUseId")?.as_str()?.to_string(),
                    name: u.get("name")?.as_str()?.to_string(),
                    input: u.get("input").cloned().unwrap_or(json!({})),
                });
            }
            b.pointer("/reasoningContent/reasoningText/text")
                .and_then(Value::as_str)
                .map(|t| Block::Reasoning(t.to_string()))
        })
        .collect();
    let stop_reason = stop_reason_of(v.get("stopReason").and_then(Value::as_str));
    let n = |k: &str| {
        v.pointer(&format!("/usage/{k}"))
            .and_then(Value::as_u64)
            .map(|x| x.min(u64::from(u32::MAX)) as u32)
    };
    Completion {
        content,
        stop_reason,
        usage: Usage {
            input_tokens: n("inputTokens").unwrap_or_else(|| crate::count_prompt_tokens(p)),
            output_tokens: n("outputTokens").unwrap_or(0),
        },
        stop_sequence: None,
    }
}

impl Backend for BedrockBackend {
    fn streams_live(&self) -> bool {
        true
    }

    fn stream<'a>(&'a self, model_id: &'a str, prompt: &'a Prompt) -> EventStream<'a> {
        let live = Live {
            backend: self,
            prompt,
            frames: bg_eventstream::Decoder::new(),
        };
        crate::upstream::live_stream(live, model_id, self.http.timeout)
    }

    fn complete<'a>(
        &'a self,
        model_id: &'a str,
        prompt: &'a Prompt,
    ) -> BoxFuture<'a, Result<Completion, BackendError>> {
        Box::pin(self.converse(model_id, prompt))
    }

    fn embed<'a>(
        &'a self,
        _model_id: &'a str,
        _text: &'a str,
        _dimensions: usize,
        _normalize: bool,
    ) -> BoxFuture<'a, Result<Embedding, BackendError>> {
        // A choice until embeddings are forwarded: say so rather than invent a vector.
        Box::pin(std::future::ready(Err(BackendError::Unsupported(
            "This bedrock-gates upstream does not forward embedding requests yet.".into(),
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn a_prompt_round_trips_through_converse_shapes() {
        let p = Prompt {
            system: vec!["sys".into()],
            messages: vec![Message::user("hi")],
            max_tokens: Some(9),
            tool_choice: ToolChoice::Auto,
            ..Prompt::default()
        };
        assert_eq!(
            converse_request(&p),
            json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}],
                   "system": [{"text": "sys"}], "inferenceConfig": {"maxTokens": 9}})
        );
        let c = completion_of(
            &json!({"output": {"message": {"role": "assistant", "content": [{"text": "yo"}]}},
                    "stopReason": "max_tokens", "usage": {"inputTokens": 3, "outputTokens": 1}}),
            &p,
        );
        assert_eq!(c.text(), "yo");
        assert_eq!(c.stop_reason, StopReason::MaxTokens);
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: 3,
                output_tokens: 1
            }
        );
    }

    #[test]
    fn images_and_documents_go_on_as_bytes() {
        let p = Prompt {
            messages: vec![Message {
                role: Role::User,
                content: vec![
                    Block::Image {
                        format: "png".into(),
                        bytes_len: 3,
                        data: Some("AAAA".into()),
                    },
                    Block::Document {
                        name: "memo".into(),
                        text: String::new(),
                        format: Some("docx".into()),
                        data: Some("UEsD".into()),
                    },
                ],
            }],
            ..Prompt::default()
        };
        assert_eq!(
            converse_request(&p)["messages"][0]["content"],
            json!([
                {"image": {"format": "png", "source": {"bytes": "AAAA"}}},
                {"document": {"name": "memo", "format": "docx", "source": {"bytes": "UEsD"}}}
            ])
        );
    }

    /// A provider that counts its calls and hands out keys expiring `ttl` from now.
    #[derive(Debug)]
    struct Counting {
        calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        ttl: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("ASIA{n}"),
                "s",
                Some("t".into()),
                Some(SystemTime::now() + self.ttl),
                "test",
            )))
        }
    }

    async fn keys_used(ttl: Duration, calls: usize) -> (usize, String) {
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let signer = Signer::new(
            "us-west-2".into(),
            SharedCredentialsProvider::new(Counting {
                calls: count.clone(),
                ttl,
            }),
        );
        let mut last = String::new();
        for _ in 0..calls {
            last = signer
                .credentials()
                .await
                .unwrap()
                .access_key_id()
                .to_string();
        }
        (count.load(std::sync::atomic::Ordering::SeqCst), last)
    }

    #[tokio::test]
    async fn expiring_credentials_are_fetched_again_and_fresh_ones_are_cached() {
        // An hour left: one fetch serves every call.
        assert_eq!(
            keys_used(Duration::from_secs(3600), 3).await,
            (1, "ASIA0".into())
        );
        // Inside the refresh margin: each call fetches (and signs with) the newest keys.
        assert_eq!(
            keys_used(Duration::from_secs(30), 3).await,
            (3, "ASIA2".into())
        );
    }

    #[test]
    fn static_credentials_are_fetched_again_after_the_ttl() {
        let c = Credentials::new("AKIA", "s", None, None, "test");
        let now = SystemTime::now();
        assert!(fresh(&c, std::time::Instant::now(), now));
        let old = std::time::Instant::now() - STATIC_TTL - Duration::from_secs(1);
        assert!(!fresh(&c, old, now));
    }

    #[test]
    fn aws_errors_keep_code_status_and_message() {
        let e = aws_error(
            403,
            Some("AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
            br#"{"message":"You don't have access to the model with the specified model ID."}"#,
        );
        assert_eq!(
            e,
            BackendError::Aws {
                code: "AccessDeniedException".into(),
                status: 403,
                message: "You don't have access to the model with the specified model ID.".into()
            }
        );
        assert_eq!(
            percent_encode("arn:aws:bedrock:x/y"),
            "arn:aws:bedrock:x%2Fy"
        );
    }
}
