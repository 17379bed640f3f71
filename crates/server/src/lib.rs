//! `bedrock-gates serve`: a local Amazon Bedrock that real AWS clients reach through
//! `AWS_ENDPOINT_URL`.
//!
//! One port serves every service and Region: restJson1 bedrock and bedrock-runtime (routed by
//! path), awsQuery STS (routed by the SigV4 credential scope's service). Each request is read
//! with a size limit, authenticated (gate 5), resolved against the catalog (gate 3), answered by
//! a backend, or refused exactly as AWS refuses it; every refusal is recorded with its diagnosis
//! in the audit log. The hot path reads an immutable snapshot (`ArcSwap<State>`); writes go to
//! the store first and then publish a new snapshot.

pub mod access_api;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod cloudtrail;
pub mod console;
pub mod control;
pub mod converse;
pub mod error;
pub mod gatekeeper;
pub mod iam_api;
pub mod listen;
pub mod logs_api;
pub mod openai;
pub mod query;
pub mod runtime;
pub mod scenario;
pub mod stream;
pub mod sts_api;
pub mod tls;

use crate::audit::{Audit, AuditRecord, Invocation, Log};

use crate::auth::Proto;
use crate::error::{json_error, query_error, ApiError};
use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::State as AxState;
use axum::http::{HeaderValue, Method, Request, Response};
use bg_backends::ScriptedBackend;
use bg_catalog::Catalog;
use bg_gates::{Change, State, Store, StoreError};
use bg_sigv4::Verifier;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The largest body accepted: InvokeModel's `Body` blob may be up to 25,000,000 bytes (service
/// model); nothing else Bedrock takes is larger.
pub const MAX_BODY: usize = 25_000_000;

/// How many long-expired STS sessions a write sweeps along (bounded work per write).
pub const EXPIRED_SESSIONS_PER_WRITE: usize = 16;

pub struct App {
    snapshot: ArcSwap<State>,
    store: Box<dyn Store>,
    /// Serializes writers so that store order and snapshot order agree.
    write_lock: Mutex<()>,
    pub catalog: &'static Catalog,
    pub verifier: Verifier,
    /// Which backend answers which model (configuration; the scripted backend by default).
    pub backends: bg_backends::Backends,
    /// Seconds added to the system clock (tests advance time instead of sleeping).
    clock_offset: AtomicI64,
    /// Refusals of requests being answered, until their CloudTrail event takes them.
    pub audit: Audit,
    /// CloudTrail events and invocation-log lines: the queue and the journal behind it.
    pub trail: cloudtrail::Recorder,
    /// Admitted model calls and the Region that served each.
    pub invocations: Log<Invocation>,
    /// Pause between streamed frames, in milliseconds (0: as fast as possible).
    stream_pace_ms: std::sync::atomic::AtomicU64,
    /// The throughput gate's counters (memory only) and limits.
    pub meter: bg_gates::quota::Meter,
    pub quotas: bg_gates::quota::Quotas,
    pub faults: bg_gates::quota::Faults,
    /// Who may reach the server at all (Host/Origin) and the admin routes' token (admin.rs).
    guard: parking_lot::RwLock<Guard>,
    /// The web console's signed-in sessions (console/session.rs).
    pub console: console::session::Sessions,
    /// The doctor's walk for the console's five gates page, handed in by the binary.
    gate_walker: std::sync::OnceLock<console::walk::GateWalker>,
}

/// The Host/Origin names serve answers to, and the admin token.
struct Guard {
    allowed_hosts: Vec<String>,
    admin_token: String,
}

/// Returns to the system the C heap's pages that loading the state freed (SQLite's: it
/// allocates with the C library's malloc, which keeps freed memory for reuse, and a start with
/// 10,000 principals would otherwise hold it for the process's lifetime). Rust's allocations
/// are jemalloc's (crates/cli), which gives freed pages back by itself. BENCHMARKS.md, issue 11.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists and has no precondition.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl App {
    /// Load the state from `store`, create the default account if the state is new, apply
    /// `scenario`.
    pub fn new(
        store: Box<dyn Store>,
        scenario: Option<&scenario::Scenario>,
    ) -> Result<Arc<App>, StoreError> {
        Self::with_journal(store, bg_store::Journal::memory()?, scenario)
    }

    /// [`App::new`] with the journal (CloudTrail events, CloudWatch Logs) of the state file.
    pub fn with_journal(
        store: Box<dyn Store>,
        journal: bg_store::Journal,
        scenario: Option<&scenario::Scenario>,
    ) -> Result<Arc<App>, StoreError> {
        let state = State::load(store.as_ref())?;
        let mut backend = ScriptedBackend::new();
        if let Some(s) = scenario {
            for a in &s.answer {
                backend.pin(&a.model, &a.text);
            }
        }
        let app = App {
            snapshot: ArcSwap::from_pointee(state),
            store,
            write_lock: Mutex::new(()),
            catalog: bg_catalog::catalog(),
            verifier: Verifier::new(),
            backends: scenario::backends(scenario, backend),
            clock_offset: AtomicI64::new(0),
            audit: Audit::new(),
            trail: cloudtrail::Recorder::new(journal),
            invocations: Log::new(1000),
            stream_pace_ms: std::sync::atomic::AtomicU64::new(0),
            meter: bg_gates::quota::Meter::default(),
            quotas: scenario
                .map(gatekeeper::scenario_quotas)
                .unwrap_or_default(),
            faults: bg_gates::quota::Faults::new(
                scenario.map(|s| s.fault_rules()).unwrap_or_default(),
            ),
            // Loopback only and a token that lives in memory until serve sets its stored one.
            guard: parking_lot::RwLock::new(Guard {
                allowed_hosts: admin::allowed_hosts("127.0.0.1", &[]),
                admin_token: admin::new_token(),
            }),
            console: Default::default(),
            gate_walker: Default::default(),
        };
        // The default account and root key only on a new state (see State::start_changes),
        // then every STS session long expired (an unbounded sweep once; writes sweep a few).
        let boot = app.snapshot().start_changes();
        app.write(&boot)?;
        let expired = app
            .snapshot()
            .expired_session_changes(app.now_unix(), usize::MAX);
        app.write(&expired)?;
        if let Some(s) = scenario {
            app.write(&s.changes())?;
            app.write(&s.access_changes(app.now_unix()))?;
        }
        release_freed_memory();
        Ok(Arc::new(app))
    }

    /// After the last request: every queued CloudTrail event and log line made durable, then
    /// the store's log folded into its file ([`Store::fold_log`]), so that the next start reads
    /// no WAL.
    pub fn shut_down(&self) -> Result<(), StoreError> {
        self.trail.flush().map_err(StoreError::Backend)?;
        self.store.fold_log()
    }

    pub fn snapshot(&self) -> arc_swap::Guard<Arc<State>> {
        self.snapshot.load()
    }

    /// The snapshot, held for a whole request: every decision of the request reads this one.
    pub fn snapshot_arc(&self) -> Arc<State> {
        self.snapshot.load_full()
    }

    /// Durable first, then visible. Each write also deletes up to
    /// [`EXPIRED_SESSIONS_PER_WRITE`] long-expired STS sessions in the same transaction: more
    /// than one AssumeRole (one write) adds, so the stored sessions stay bounded.
    pub fn write(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let _g = self.write_lock.lock();
        // Every event queued before this change is durable before the change is (module doc
        // of `cloudtrail`).
        self.trail.flush().map_err(StoreError::Backend)?;
        let mut batch = self
            .snapshot
            .load()
            .expired_session_changes(self.now_unix(), EXPIRED_SESSIONS_PER_WRITE);
        // The sweep first: a change that puts a key back wins.
        let changes = if batch.is_empty() {
            changes
        } else {
            batch.extend_from_slice(changes);
            &batch
        };
        self.store.apply(changes)?;
        let next = self.snapshot.load().with_changes(changes);
        self.snapshot.store(Arc::new(next));
        Ok(())
    }

    /// The gate clock: wall time plus whatever tests advanced it by.
    pub fn now_unix(&self) -> i64 {
        wall_unix() + self.clock_offset.load(Ordering::Relaxed)
    }

    pub fn clocks(&self) -> auth::Clocks {
        let wall = wall_unix();
        auth::Clocks {
            wall,
            gate: wall + self.clock_offset.load(Ordering::Relaxed),
        }
    }

    pub fn stream_pace(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.stream_pace_ms.load(Ordering::Relaxed))
    }

    pub fn set_stream_pace_ms(&self, ms: u64) {
        self.stream_pace_ms.store(ms, Ordering::Relaxed);
    }

    /// The names `Host` and `Origin` may give: see [`admin::allowed_hosts`].
    pub fn set_allowed_hosts(&self, hosts: Vec<String>) {
        self.guard.write().allowed_hosts = hosts;
    }

    /// The admin routes' token (serve's stored one; a random one until then).
    pub fn set_admin_token(&self, token: String) {
        self.guard.write().admin_token = token;
    }

    pub fn admin_token(&self) -> String {
        self.guard.read().admin_token.clone()
    }

    pub fn advance_clock(&self, secs: i64) {
        self.clock_offset.fetch_add(secs, Ordering::Relaxed);
    }
}

pub fn wall_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(app)
}

/// What every handler gets: the request, read and borrowed-from.
pub struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: String,
    /// The request's headers as they came (moved, not copied: copying each into `String`s
    /// was a dozen allocations a request).
    pub headers: axum::http::HeaderMap,
    /// HTTP/2 carries the host in the `:authority` pseudo-header, not in `headers`; then it is
    /// offered to the verifier as both `host` and `:authority` (see [`Incoming::with_sig_request`]).
    pub authority: Option<String>,
    pub body: bytes::Bytes,
    pub request_id: String,
    /// The peer address, for `aws:SourceIp`.
    pub source_ip: Option<String>,
    /// Arrived over TLS, for `aws:SecureTransport`.
    pub secure: bool,
    /// What the request learns about itself for its CloudTrail event.
    pub trail: cloudtrail::Note,
    /// The restJson1 operation and its decoded path label, routed once (the handler, the
    /// inline check and the CloudTrail event each asked: three routes and label decodings).
    pub routed: std::sync::OnceLock<Option<(runtime::Op, Option<String>)>>,
}

impl Incoming {
    /// The first value of header `name` (any case), if it is visible ASCII; for `host`, the
    /// HTTP/2 authority when no `host` header came.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.headers.get(name) {
            Some(v) => v.to_str().ok(),
            None if name.eq_ignore_ascii_case("host") => self.authority.as_deref(),
            None => None,
        }
    }

    /// [`runtime::route`] of this request, computed on first use.
    pub fn route(&self) -> Option<(runtime::Op, Option<&str>)> {
        self.routed
            .get_or_init(|| runtime::route(&self.method, &self.path))
            .as_ref()
            .map(|(op, label)| (*op, label.as_deref()))
    }

    pub fn with_sig_request<R>(&self, f: impl FnOnce(&bg_sigv4::Request) -> R) -> R {
        // Headers whose value is not visible ASCII are left out, as they always were.
        let visible = self
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)));
        // Most SDKs sign the HTTP/2 authority as `host`; the JS SDK signs it as `:authority`.
        let authority = self
            .authority
            .iter()
            .flat_map(|a| [("host", a.as_str()), (":authority", a.as_str())]);
        let all = visible.chain(authority);
        // On the stack for the usual request (this runs twice a call: parse and verify).
        const ON_STACK: usize = 24;
        let mut buf = [("", ""); ON_STACK];
        let mut heap = Vec::new();
        let headers: &[(&str, &str)] = if self.headers.len() + 2 <= ON_STACK {
            let mut n = 0;
            for (slot, h) in buf.iter_mut().zip(all) {
                *slot = h;
                n += 1;
            }
            &buf[..n]
        } else {
            heap.extend(all);
            &heap
        };
        let req = bg_sigv4::Request {
            method: self.method.as_str(),
            path: &self.path,
            query: &self.query,
            headers,
            body: &self.body,
        };
        f(&req)
    }
}

fn is_query_protocol(method: &Method, path: &str, query: &str, content_type: Option<&str>) -> bool {
    path == "/"
        && (*method == Method::POST
            && content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
            || *method == Method::GET && query.contains("Action="))
}

async fn handle(AxState(app): AxState<Arc<App>>, req: Request<Body>) -> Response<Body> {
    let request_id = cloudtrail::ids::request_id();
    let (parts, body) = req.into_parts();
    let source_ip = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let secure = parts
        .extensions
        .get::<listen::Transport>()
        .is_some_and(|t| t.secure);
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    let proto = if is_query_protocol(&parts.method, &path, &query, content_type) {
        Proto::Query
    } else {
        Proto::Json
    };

    // Before anything else reads the request: a page in a browser (DNS rebinding, a
    // cross-site form or presigned GET) must change nothing.
    let guard = {
        let g = app.guard.read();
        admin::check_host_origin(
            &g.allowed_hosts,
            &parts.headers,
            parts.uri.authority().map(|a| a.as_str()),
        )
    };
    let is_admin = path.starts_with("/_bedrock-gates/");
    if let Err(e) = guard {
        let proto = if is_admin { Proto::Json } else { proto };
        return render_unguarded(&app, proto, &e, &request_id, "local-only guard");
    }
    // The web console: pages for browsers, whose actions come back here as signed API calls.
    if console::serves(&path) {
        return console::handle(app.clone(), parts, body).await;
    }
    if is_admin {
        let checked = admin::check_token(&app.guard.read().admin_token, &parts.headers);
        if let Err(e) = checked {
            return render_unguarded(&app, Proto::Json, &e, &request_id, "admin token");
        }
        return admin::admin(&app, &parts.method, &path, &query, &request_id);
    }

    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        ApiError::validation(format!(
            "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to {MAX_BODY}"
        ))
    };
    let body = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        Err(too_large())
    } else {
        axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
            // Only the limit makes a body too large; any other failure is a body that could
            // not be read (a malformed chunked encoding, a connection cut mid-body). AWS's text
            // for that is undocumented; ours names it.
            let limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if limit {
                too_large()
            } else {
                ApiError::new(
                    "SerializationException",
                    400,
                    "The request body could not be read: it is not a well-formed HTTP message body (for example, a malformed chunked transfer encoding).",
                )
            }
        })
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let resp = render(&app, proto, &e, &request_id, "-", None);
            if let Some(r) = app.audit.take(&request_id) {
                cloudtrail::record_unattributed(&app, &r);
            }
            return resp;
        }
    };
    // HTTP/2 carries the host in the :authority pseudo-header (see Incoming::authority).
    let authority = if parts.headers.contains_key("host") {
        None
    } else {
        parts.uri.authority().map(|a| a.as_str().to_string())
    };
    let inc = Incoming {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        authority,
        body,
        request_id,
        source_ip,
        secure,
        trail: Default::default(),
        routed: Default::default(),
    };
    // Parsing a 4 MB body, the gates and the scripted backend are CPU work of up to seconds:
    // it runs on the blocking pool, so the async workers stay free for health and for other
    // clients (issue 10). The async part of a backend (an HTTP backend's I/O) is driven from
    // that thread with the runtime's handle; a stream's producer is spawned on the runtime.
    let rid = inc.request_id.clone();
    let worker = app.clone();
    let inc = Arc::new(inc);
    let theirs = inc.clone();
    let inc_ = theirs.clone();
    let aws_json = logs_api::target(&inc).is_some();
    if proto == Proto::Json && !aws_json && runs_inline(&inc) {
        let resp = runtime::handle_json(&app, &inc).await;
        return cloudtrail::finish(&app, theirs, proto, resp).await;
    }
    let answered = match proto {
        Proto::Query => tokio::task::spawn_blocking(move || query::handle(&worker, &inc_)).await,
        // awsJson1_1 (CloudTrail, CloudWatch Logs): routed by X-Amz-Target.
        Proto::Json if aws_json => {
            tokio::task::spawn_blocking(move || logs_api::handle(&worker, &inc_)).await
        }
        Proto::Json => {
            let inc = inc_;
            let rt = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || rt.block_on(runtime::handle_json(&worker, &inc)))
                .await
        }
    };
    let resp = answered.unwrap_or_else(|_| {
        // A panic in a handler: an AWS-shaped 500, never a dropped connection.
        let e = ApiError::new(
            "InternalServerException",
            500,
            "The server encountered an internal error while processing the request.",
        );
        render(&app, proto, &e, &rid, "-", None)
    });
    cloudtrail::finish(&app, theirs, proto, resp).await
}

/// Largest body of a model call answered on the async worker itself (see [`runs_inline`]).
pub const INLINE_BODY_MAX: usize = 64 * 1024;

/// A model call with a small body runs on the async worker that read it: its CPU work (one
/// parse, the gates, a scripted answer) takes microseconds, less than the hop to the blocking
/// pool and back (two thread wake-ups), which cost a third of the Converse throughput
/// (BENCHMARKS.md). Larger bodies, and every other operation (state writes wait on SQLite and
/// fsync), keep the blocking pool, so a 4 MB body never holds a worker (issue 10). The one
/// write a model call can cause (a first Marketplace model's subscription, once per account)
/// then waits on the worker: rare and bounded.
fn runs_inline(inc: &Incoming) -> bool {
    inc.body.len() <= INLINE_BODY_MAX
        && inc.method == Method::POST
        && inc.route().is_some_and(|(op, _)| op.is_model_call())
}

/// A refusal of the local-only guard or the admin token check: recorded with `check` as its
/// reason (no gate: AWS has no such check), rendered in the protocol's shape.
fn render_unguarded(
    app: &App,
    proto: Proto,
    err: &ApiError,
    request_id: &str,
    check: &str,
) -> Response<Body> {
    // IAM's and STS's name for a refused caller in the awsQuery protocol.
    let err = match proto {
        Proto::Query if err.code == "AccessDeniedException" => ApiError {
            code: "AccessDenied",
            ..err.clone()
        },
        _ => err.clone(),
    };
    let mut record = AuditRecord::new(app.now_unix(), request_id, "-", &err, None);
    record.reason = Some(format!("refused by bedrock-gates' {check}"));
    cloudtrail::record_unattributed(app, &record);
    match proto {
        Proto::Json => json_error(&err, request_id),
        // Refused before routing, so IAM and STS are not told apart: STS's namespace for both
        // (the SDKs read Code and Message, not the namespace).
        Proto::Query => query_error(&err, request_id, query::STS_XMLNS),
    }
}

/// Render a refusal in the protocol's shape and record it.
pub fn render(
    app: &App,
    proto: Proto,
    err: &ApiError,
    request_id: &str,
    operation: &str,
    diagnosis: Option<&bg_gates::Deny>,
) -> Response<Body> {
    app.audit.record(AuditRecord::new(
        app.now_unix(),
        request_id,
        operation,
        err,
        diagnosis.or(err.diagnosis.as_deref()),
    ));
    match proto {
        Proto::Json => json_error(err, request_id),
        Proto::Query => query_error(err, request_id, query::STS_XMLNS),
    }
}

pub fn json_response(status: u16, body: impl Into<Body>, request_id: &str) -> Response<Body> {
    let mut resp = Response::new(body.into());
    *resp.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// Serve plain HTTP on `listener` with the default [`listen::Limits`] until `shutdown`
/// resolves. `bedrock-gates serve` uses [`listen::serve`] for HTTPS and its own limits.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listeners = listen::Listeners {
        http: listener,
        https: None,
    };
    listen::serve(app, listeners, listen::Limits::default(), shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(headers: &[(&str, &str)], authority: Option<&str>) -> Incoming {
        let mut map = axum::http::HeaderMap::new();
        for (k, v) in headers {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Incoming {
            method: Method::POST,
            path: "/model/m/converse".into(),
            query: String::new(),
            headers: map,
            authority: authority.map(str::to_string),
            body: bytes::Bytes::new(),
            request_id: "r".into(),
            source_ip: None,
            secure: false,
            trail: Default::default(),
            routed: Default::default(),
        }
    }

    /// Headers are read case-insensitively from the request's own map; an HTTP/2 request's
    /// `:authority` stands for `host` and is offered to the verifier under both names.
    #[test]
    fn headers_and_the_http2_authority() {
        let inc = incoming(&[("content-type", "application/json")], Some("h:4950"));
        assert_eq!(inc.header("Content-Type"), Some("application/json"));
        assert_eq!(inc.header("HOST"), Some("h:4950"));
        assert_eq!(inc.header("x-absent"), None);
        let seen = inc.with_sig_request(|r| {
            r.headers
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            seen,
            [
                "content-type=application/json",
                "host=h:4950",
                ":authority=h:4950"
            ]
        );
        let inc = incoming(&[("host", "a:1")], None);
        assert_eq!(inc.header("host"), Some("a:1"));
        assert_eq!(inc.with_sig_request(|r| r.headers.len()), 1);
        // More headers than the stack holds: every one, in order, then the authority; a value
        // that is not visible ASCII is left out either way.
        for n in [3, 21, 22, 23, 40] {
            let names: Vec<String> = (0..n).map(|i| format!("x-h{i}")).collect();
            let mut pairs: Vec<(&str, &str)> = names.iter().map(|k| (k.as_str(), "v")).collect();
            pairs.insert(1, ("x-dup", "1"));
            pairs.push(("x-dup", "2"));
            let mut inc = incoming(&pairs, Some("h:1"));
            inc.headers
                .append("x-bin", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
            let seen = inc.with_sig_request(|r| {
                r.headers
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
            });
            let mut want: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            // HeaderMap keeps a name's values together, at the name's first place.
            let last = want.pop().unwrap();
            want.insert(2, last);
            want.extend(["host=h:1".to_string(), ":authority=h:1".to_string()]);
            assert_eq!(seen, want, "{n} headers");
        }
        assert_eq!(
            inc.route().map(|(op, label)| (op.name(), label)),
            Some(("Converse", Some("m")))
        );
    }
}
