//! What every upstream backend shares: its configuration, the HTTP client (a pooled HTTP/1.1
//! connection pool with a per-upstream concurrency limit and a timeout), and the mapping of
//! upstream failures to Bedrock's errors.
//!
//! Secrets (API keys) come from the environment or a file, never from the command line, and are
//! never formatted into an error or a log line: errors carry the upstream's status and message
//! only.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use std::collections::VecDeque;

use crate::{BackendError, EventStream, StreamEvent};

/// How long an upstream may take to start answering (headers), and for a whole non-streamed
/// answer. Streams get it again between two chunks.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Calls in flight to one upstream at once; more wait for a slot (inside the timeout).
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;
/// Idle keep-alive connections kept per upstream host.
pub const DEFAULT_POOL_IDLE: usize = 8;

/// AWS's texts for the two failures that are not the model's (bedrock-facts has none for
/// these; these are the messages the Bedrock runtime sends with those codes).
pub const UNAVAILABLE: &str = "Bedrock is unable to process your request.";
pub const TIMED_OUT: &str =
    "Model has timed out in processing the request. Try your request again.";

/// One upstream: where it is, how to authenticate, and which upstream model answers which
/// Bedrock model.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// The API base, e.g. `http://127.0.0.1:11434/v1` (OpenAI-compatible); http or https.
    pub url: String,
    /// Sent as `Authorization: Bearer …`; never logged, never in an error.
    pub api_key: Option<String>,
    /// `(Bedrock model glob, upstream model)`, first match wins; an unmapped model is sent
    /// under its Bedrock id.
    pub model_map: Vec<(String, String)>,
    pub timeout: Duration,
    pub max_concurrency: usize,
    pub pool_idle: usize,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is never printed, not even in a debug dump.
        f.debug_struct("UpstreamConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("model_map", &self.model_map)
            .finish()
    }
}

impl UpstreamConfig {
    pub fn new(url: impl Into<String>) -> UpstreamConfig {
        UpstreamConfig {
            url: url.into().trim_end_matches('/').to_string(),
            api_key: None,
            model_map: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            pool_idle: DEFAULT_POOL_IDLE,
        }
    }

    /// The upstream's name for a Bedrock model.
    pub fn upstream_model<'a>(&'a self, model_id: &'a str) -> &'a str {
        self.model_map
            .iter()
            .find(|(p, _)| crate::glob_match(p, model_id))
            .map(|(_, m)| m.as_str())
            .unwrap_or(model_id)
    }

    /// Check the URL: `http(s)://host[:port][/path]`.
    pub fn validate(&self) -> Result<(), String> {
        match self.url.parse::<hyper::Uri>() {
            Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => {
                Ok(())
            }
            _ => Err(format!(
                "upstream {}: expected an http(s)://host[:port][/path] URL",
                self.url
            )),
        }
    }
}

/// The pooled client and the concurrency limit of one upstream.
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

pub(crate) struct Http {
    client: Client<Connector, Full<Bytes>>,
    slots: Arc<tokio::sync::Semaphore>,
    pub(crate) timeout: Duration,
}

/// https with the platform's roots (and `SSL_CERT_FILE`), http as is. Without any usable root
/// certificate https calls fail (ServiceUnavailableException) and http still works.
fn tls_connector(http: HttpConnector) -> Connector {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_provider_and_native_roots(provider.clone()) {
        Ok(b) => b,
        Err(_) => {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| {
                    b.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                });
            match config {
                Ok(c) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(c),
                Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                ),
            }
        }
    };
    builder.https_or_http().enable_http1().wrap_connector(http)
}

/// An upstream's answer once its headers arrived: the status and the body still to read.
pub(crate) struct Answer {
    pub status: u16,
    headers: hyper::HeaderMap,
    pub body: hyper::body::Incoming,
    /// Held until the body is read: the call's concurrency slot.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Http {
    pub(crate) fn new(cfg: &UpstreamConfig) -> Http {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(cfg.timeout));
        connector.enforce_http(false);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(cfg.pool_idle)
            .build(tls_connector(connector));
        Http {
            client,
            slots: Arc::new(tokio::sync::Semaphore::new(cfg.max_concurrency.max(1))),
            timeout: cfg.timeout,
        }
    }

    /// POST `body` to `url` with `headers`; the answer once its headers arrived.
    pub(crate) async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, BackendError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let slot = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| BackendError::Timeout(TIMED_OUT.into()))?
            .map_err(|_| BackendError::Unavailable(UNAVAILABLE.into()))?;
        let mut req = hyper::Request::post(url).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| BackendError::Unavailable(UNAVAILABLE.into()))?;
        match tokio::time::timeout_at(deadline, self.client.request(req)).await {
            Err(_) => Err(BackendError::Timeout(TIMED_OUT.into())),
            // Refused, reset, unreachable: the model is not there to answer.
            Ok(Err(_)) => Err(BackendError::Unavailable(UNAVAILABLE.into())),
            Ok(Ok(resp)) => Ok(Answer {
                status: resp.status().as_u16(),
                headers: resp.headers().clone(),
                body: resp.into_body(),
                _slot: slot,
            }),
        }
    }
}

impl Answer {
    /// A response header, as text.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The whole body (inside the timeout).
    pub(crate) async fn bytes(self, timeout: Duration) -> Result<(u16, Bytes), BackendError> {
        let status = self.status;
        match tokio::time::timeout(timeout, self.body.collect()).await {
            Err(_) => Err(BackendError::Timeout(TIMED_OUT.into())),
            Ok(Err(_)) => Err(BackendError::Unavailable(UNAVAILABLE.into())),
            Ok(Ok(b)) => Ok((status, b.to_bytes())),
        }
    }

    /// The next piece of the body; `None` at its end.
    pub(crate) async fn next_chunk(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<Bytes>, BackendError> {
        loop {
            match tokio::time::timeout(timeout, self.body.frame()).await {
                Err(_) => return Err(BackendError::Timeout(TIMED_OUT.into())),
                Ok(None) => return Ok(None),
                Ok(Some(Err(_))) => {
                    return Err(BackendError::ModelStream {
                        status: 500,
                        message: "The upstream connection broke mid-stream.".into(),
                    })
                }
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

/// An upstream 4xx/5xx as Bedrock reports a model's failure: `ModelErrorException` with the
/// upstream's status and its message (its `error.message` when it sent JSON, else the start of
/// its body).
pub(crate) fn upstream_failure(status: u16, body: &[u8]) -> BackendError {
    BackendError::Upstream {
        status,
        message: upstream_message(body),
    }
}

pub(crate) fn upstream_message(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let from_json = json.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
    });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    crate::output::clip_chars(&text, 500)
}

/// Splits a byte stream into Server-Sent Events `data:` payloads (OpenAI's and Anthropic's
/// streams), across chunk boundaries.
#[derive(Default)]
pub(crate) struct SseLines {
    buf: Vec<u8>,
}

impl SseLines {
    /// The `data:` payloads completed by `chunk`.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(data) = line.strip_prefix("data:") {
                out.push(data.trim_start().to_string());
            }
        }
        out
    }
}

/// How one upstream's live stream opens and reads. [`live_stream`] drives it, so what every
/// upstream stream does is written once: open on the first pull, translate each chunk as it
/// arrives, close at the end, and stop at the first failure.
pub(crate) trait LiveSource: Send {
    /// Send the request: an answer to read chunks from, or the whole answer's events when the
    /// upstream answered with a whole message instead of a stream (some proxies do).
    fn open(
        &mut self,
        model_id: &str,
    ) -> impl std::future::Future<Output = Result<Opened, BackendError>> + Send;
    /// One chunk of the answer: its events appended to `out`.
    fn chunk(&mut self, bytes: &[u8], out: &mut VecDeque<StreamEvent>) -> Result<(), BackendError>;
    /// The upstream ended its answer: any closing events.
    fn end(&mut self, _out: &mut VecDeque<StreamEvent>) {}
}

pub(crate) enum Opened {
    Stream(Answer),
    Whole(Vec<StreamEvent>),
}

/// `source`'s live stream, read with `timeout` between two chunks.
pub(crate) fn live_stream<'a, S: LiveSource + 'a>(
    source: S,
    model_id: &'a str,
    timeout: Duration,
) -> EventStream<'a> {
    let driver = Driver {
        source,
        answer: None,
        queue: VecDeque::new(),
        started: false,
        done: false,
        timeout,
    };
    Box::pin(futures_util::stream::unfold(
        driver,
        move |mut d| async move { d.pull(model_id).await.map(|item| (item, d)) },
    ))
}

struct Driver<S> {
    source: S,
    answer: Option<Answer>,
    queue: VecDeque<StreamEvent>,
    /// An event has reached the caller: a failure from now on is an in-stream error.
    started: bool,
    done: bool,
    timeout: Duration,
}

impl<S: LiveSource> Driver<S> {
    async fn pull(&mut self, model_id: &str) -> Option<Result<StreamEvent, BackendError>> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                self.started = true;
                return Some(Ok(e));
            }
            if self.done {
                return None;
            }
            let answer = match &mut self.answer {
                Some(a) => a,
                None => match self.source.open(model_id).await {
                    Ok(Opened::Stream(a)) => self.answer.insert(a),
                    Ok(Opened::Whole(events)) => {
                        self.done = true;
                        self.queue.extend(events);
                        continue;
                    }
                    Err(e) => return self.fail(e),
                },
            };
            match answer.next_chunk(self.timeout).await {
                Err(e) => return self.fail(e),
                Ok(None) => {
                    self.done = true;
                    self.source.end(&mut self.queue);
                }
                Ok(Some(bytes)) => {
                    if let Err(e) = self.source.chunk(&bytes, &mut self.queue) {
                        return self.fail(e);
                    }
                }
            }
        }
    }

    /// The stream ends with `e`. After the first event the client already has a 200 and a
    /// stream, so the upstream's failure or silence is an in-stream `modelStreamErrorException`
    /// (with the upstream's status, or 408 for a timeout); before it, the error is the call's.
    /// Events queued from the failing chunk are dropped: what was sent stays consistent.
    fn fail(&mut self, e: BackendError) -> Option<Result<StreamEvent, BackendError>> {
        self.done = true;
        self.queue.clear();
        let e = match e {
            BackendError::Upstream { status, message } if self.started => {
                BackendError::ModelStream { status, message }
            }
            BackendError::Timeout(message) if self.started => BackendError::ModelStream {
                status: 408,
                message,
            },
            other => other,
        };
        Some(Err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that never reads chunks: it opens with a whole answer or a failure.
    struct Fixed(Option<Result<Opened, BackendError>>);

    impl LiveSource for Fixed {
        async fn open(&mut self, _model_id: &str) -> Result<Opened, BackendError> {
            self.0.take().expect("opened once")
        }
        fn chunk(&mut self, _: &[u8], _: &mut VecDeque<StreamEvent>) -> Result<(), BackendError> {
            unreachable!("no chunks")
        }
    }

    fn collect(s: Fixed) -> Vec<Result<StreamEvent, BackendError>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            use futures_util::StreamExt;
            live_stream(s, "m", DEFAULT_TIMEOUT).collect().await
        })
    }

    #[test]
    fn live_stream_opens_once_and_ends() {
        let whole = vec![
            StreamEvent::MessageStart,
            StreamEvent::BlockStop { index: 0 },
        ];
        let got = collect(Fixed(Some(Ok(Opened::Whole(whole.clone())))));
        assert_eq!(got, whole.into_iter().map(Ok).collect::<Vec<_>>());
        let refused = BackendError::Upstream {
            status: 429,
            message: "slow down".into(),
        };
        // Before any event, the failure is the call's own, unchanged.
        assert_eq!(
            collect(Fixed(Some(Err(refused.clone())))),
            vec![Err(refused)]
        );
    }

    #[test]
    fn a_failure_after_the_first_event_is_in_stream() {
        let mut d = Driver {
            source: Fixed(None),
            answer: None,
            queue: VecDeque::from([StreamEvent::MessageStart]),
            started: false,
            done: false,
            timeout: DEFAULT_TIMEOUT,
        };
        let up = BackendError::Upstream {
            status: 500,
            message: "boom".into(),
        };
        assert_eq!(d.fail(up.clone()), Some(Err(up.clone())));
        d.started = true;
        assert_eq!(
            d.fail(up),
            Some(Err(BackendError::ModelStream {
                status: 500,
                message: "boom".into()
            }))
        );
        assert_eq!(
            d.fail(BackendError::Timeout(TIMED_OUT.into())),
            Some(Err(BackendError::ModelStream {
                status: 408,
                message: TIMED_OUT.into()
            }))
        );
        assert!(d.done && d.queue.is_empty());
    }

    #[test]
    fn sse_payloads_survive_chunk_boundaries() {
        let mut s = SseLines::default();
        assert!(s.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            s.push(b":1}\n\ndata: [DONE]\r\n"),
            vec!["{\"a\":1}", "[DONE]"]
        );
        assert!(s.push(b": keep-alive comment\n").is_empty());
    }

    #[test]
    fn upstream_messages_prefer_the_json_error() {
        assert_eq!(
            upstream_message(br#"{"error":{"message":"bad model","type":"x"}}"#),
            "bad model"
        );
        assert_eq!(upstream_message(b"  plain failure \n"), "plain failure");
    }

    #[test]
    fn the_api_key_never_prints() {
        let mut c = UpstreamConfig::new("http://127.0.0.1:1/v1/");
        c.api_key = Some("sk-secret".into());
        assert!(!format!("{c:?}").contains("sk-secret"));
        assert_eq!(c.url, "http://127.0.0.1:1/v1");
        assert!(c.validate().is_ok());
        assert!(UpstreamConfig::new("https://api.openai.com/v1")
            .validate()
            .is_ok());
        assert!(UpstreamConfig::new("ftp://x/v1").validate().is_err());
    }

    #[test]
    fn unmapped_models_keep_their_bedrock_id() {
        let mut c = UpstreamConfig::new("http://h/v1");
        c.model_map = vec![("amazon.nova-*".into(), "llama3.2".into())];
        assert_eq!(c.upstream_model("amazon.nova-lite-v1:0"), "llama3.2");
        assert_eq!(c.upstream_model("meta.x"), "meta.x");
    }
}
