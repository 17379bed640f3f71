//! CloudTrail: one event for every call serve answers (bedrock, bedrock-runtime, the
//! OpenAI-compatible route, IAM, STS, CloudTrail and CloudWatch Logs themselves), admitted or
//! refused, in the record shape AWS delivers (bedrock-api-keys-and-more §6.2), and
//! `LookupEvents` over them ([`lookup`]).
//!
//! ## Off the request path, never lost once acknowledged
//!
//! A finished call's event goes on a bounded queue ([`QUEUE`] events; a full queue makes the
//! request wait, it never drops an event) that one writer thread drains in batches, one SQLite
//! transaction per batch. Two rules make the queue safe:
//! - every state write ([`crate::App::write`]) first waits until the queue is durable, so no
//!   acknowledged state change is ever ahead of an event recorded before it;
//! - the event of a call that changed something (`readOnly: false`) is made durable before its
//!   response is sent.
//!
//! What a `kill -9` can lose: events of read-only calls (model calls, Get/List/Describe,
//! LookupEvents) answered in the last moment before the kill, while still in the queue (the
//! writer gathers a batch for at most [`COALESCE`], 5 ms, then commits it: the last few
//! milliseconds). docs/cloudtrail.md.

pub mod elements;
pub mod ids;
pub mod invocation;
pub mod lookup;
pub mod record;

use crate::audit::AuditRecord;
use bg_store::{Journal, LogMessage, LogRow, TrailRow};
use parking_lot::Mutex;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

pub use record::{Note, Outcome};

/// Events (and invocation-log lines) the queue holds before a request waits for the writer.
pub const QUEUE: usize = 8192;
/// Most rows per transaction.
const BATCH: usize = 8192;
/// How long the writer gathers a batch of read-only calls' events before it commits them (what
/// a `kill -9` can lose: README, docs/cloudtrail.md), and its step.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(5);
const COALESCE_STEP: std::time::Duration = std::time::Duration::from_millis(1);
/// Default retention of events: CloudTrail's event history keeps 90 days.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

enum Msg {
    Event(Box<TrailRow>),
    Log(LogRow),
    S3(invocation::S3Object),
    /// An admitted call to log: (what the request held, its answer, ingestion time).
    Invocation(Box<(invocation::Pending, invocation::Output, i64)>),
    /// An admitted call whose record is stored as its facts (see [`deliver`]).
    Facts(FactsLine),
    Flush(SyncSender<Result<(), String>>),
}

/// The queue and its writer.
pub struct Recorder {
    tx: Mutex<Option<SyncSender<Msg>>>,
    /// Logging configurations, parsed once (see [`invocation::config`]).
    pub configs: invocation::Configs,
    pub journal: Arc<Journal>,
    retention_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl Recorder {
    pub fn new(journal: Journal) -> Recorder {
        let journal = Arc::new(journal);
        let (tx, rx) = sync_channel(QUEUE);
        let retention_ms = Arc::new(std::sync::atomic::AtomicI64::new(
            DEFAULT_RETENTION_DAYS * 86_400_000,
        ));
        let j = journal.clone();
        let r = retention_ms.clone();
        std::thread::Builder::new()
            .name("bg-journal".into())
            .spawn(move || writer(&j, &rx, &r))
            .expect("spawn the journal writer");
        Recorder {
            tx: Mutex::new(Some(tx)),
            configs: Default::default(),
            journal,
            retention_ms,
        }
    }

    pub fn set_retention_days(&self, days: i64) {
        self.retention_ms.store(
            days.saturating_mul(86_400_000),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    pub fn retention_ms(&self) -> i64 {
        self.retention_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn send(&self, msg: Msg) {
        if matches!(&msg, Msg::S3(_)) && self.journal.dir().is_none() {
            return;
        }
        let Some(tx) = self.tx.lock().clone() else {
            return;
        };
        // Try without waiting first; a full queue waits (back-pressure, never a drop).
        match tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(m)) => {
                let _ = tx.send(m);
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the journal writer is gone; an event was not recorded");
            }
        }
    }

    pub fn event(&self, row: TrailRow) {
        self.send(Msg::Event(Box::new(row)));
    }

    pub fn log(&self, row: LogRow) {
        self.send(Msg::Log(row));
    }

    /// An object for the local S3 destination (dropped with an in-memory state: no directory).
    pub fn s3(&self, object: invocation::S3Object) {
        self.send(Msg::S3(object));
    }

    /// Wait until everything queued before this call is durable.
    pub fn flush(&self) -> Result<(), String> {
        let Some(tx) = self.tx.lock().clone() else {
            return Ok(());
        };
        let (ack, done) = sync_channel(1);
        tx.send(Msg::Flush(ack))
            .map_err(|_| "the journal writer is gone".to_string())?;
        done.recv()
            .unwrap_or_else(|_| Err("the journal writer is gone".to_string()))
    }
}

/// Drain the queue in batches until every sender is gone. A failed batch is reported to the
/// flushes that wait on it (a state write then fails rather than get ahead of lost events).
fn writer(journal: &Journal, rx: &Receiver<Msg>, retention_ms: &std::sync::atomic::AtomicI64) {
    let mut last_prune: Option<std::time::Instant> = None;
    while let Ok(first) = rx.recv() {
        let mut events = Vec::new();
        let mut logs = Vec::new();
        let mut acks = Vec::new();
        let mut objects = Vec::new();
        let mut take = |m: Msg| match m {
            Msg::Event(e) => events.push(*e),
            Msg::Log(l) => logs.push(l),
            Msg::S3(o) => objects.push(o),
            Msg::Invocation(i) => {
                let (p, output, ingest_ms) = *i;
                deliveries(&p, output, ingest_ms, &mut logs, &mut objects);
            }
            Msg::Facts(f) => logs.extend(f.into_row()),
            Msg::Flush(a) => acks.push(a),
        };
        let started = std::time::Instant::now();
        let mut flushing = matches!(first, Msg::Flush(_));
        take(first);
        let mut n = 1;
        // Gather for up to COALESCE unless a flush waits: each commit rewrites whole pages of
        // the table and its indexes (and the WAL checksums them), so a commit per event or
        // two cost a quarter of serve's CPU under load (BENCHMARKS.md). Sleeping, not waiting
        // on the queue, spares the senders a wake-up per event; a flush waits at most one
        // sleep more.
        loop {
            while n < BATCH {
                match rx.try_recv() {
                    Ok(m) => {
                        flushing |= matches!(m, Msg::Flush(_));
                        take(m)
                    }
                    Err(_) => break,
                }
                n += 1;
            }
            if n >= BATCH || flushing || started.elapsed() >= COALESCE {
                break;
            }
            std::thread::sleep(COALESCE_STEP);
        }
        // A flush waits on this batch: fsync it (see Journal::append).
        let durable = !acks.is_empty();
        let mut result = if events.is_empty() && logs.is_empty() {
            Ok(())
        } else {
            journal
                .append(&events, &logs, durable)
                .map_err(|e| e.to_string())
        };
        if let Some(dir) = journal.dir() {
            for o in objects.iter() {
                if let Err(e) = write_s3(dir, o) {
                    tracing::error!(error = %e, bucket = %o.bucket, key = %o.key, "S3 delivery failed");
                    result = result.and(Err(e));
                }
            }
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, events = events.len(), "journal write failed");
        }
        for a in acks {
            let _ = a.send(result.clone());
        }
        // Retention: a bounded delete at most every 10 seconds (it scans by time), against
        // the newest event's clock (the gate clock, which tests advance).
        let due = last_prune.is_none_or(|t: std::time::Instant| t.elapsed().as_secs() >= 10);
        if due && !events.is_empty() {
            last_prune = Some(std::time::Instant::now());
            if let Some(newest) = events.iter().map(|e| e.time_ms).max() {
                let keep = retention_ms.load(std::sync::atomic::Ordering::Relaxed);
                let _ = journal.prune_events(newest.saturating_sub(keep), 10_000);
            }
        }
    }
}

/// `<state dir>/s3/<bucket>/<key>`, gzipped, durable (fsync) before the flush that waits on
/// it is acknowledged. Bucket and key come from a validated configuration (bucket 3-63
/// characters; `..` segments refused here so that nothing is written outside `s3/`).
fn write_s3(dir: &std::path::Path, o: &invocation::S3Object) -> Result<(), String> {
    use std::io::Write;
    let bad = |s: &str| s.split('/').any(|seg| seg == ".." || seg == ".") || s.starts_with('/');
    if bad(&o.bucket) || o.bucket.contains('/') || bad(&o.key) {
        return Err(format!("refusing to write s3://{}/{}", o.bucket, o.key));
    }
    let path = dir.join("s3").join(&o.bucket).join(&o.key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    gz.write_all(&o.json).map_err(|e| e.to_string())?;
    let file = gz.finish().map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())
}

/// The event of a refusal that is no AWS call at all (the local-only guard, an admin token, a
/// body that could not be read): kept for the audit log only, under no account, so no
/// `LookupEvents` ever returns it.
pub fn record_unattributed(app: &crate::App, record: &AuditRecord) {
    let row = record::unattributed(app, record);
    app.trail.event(row);
}

/// Record the event of an answered call (the response is returned as it was, its body read
/// first only for the JSON answer of a call that changed something: `responseElements`).
pub async fn finish(
    app: &Arc<crate::App>,
    inc: Arc<crate::Incoming>,
    proto: crate::auth::Proto,
    resp: axum::http::Response<axum::body::Body>,
) -> axum::http::Response<axum::body::Body> {
    let time_ms = record::now_ms(app);
    let refusal = app.audit.take(&inc.request_id);
    let status = resp.status().as_u16();
    let named = (proto == crate::auth::Proto::Json)
        .then(|| record::name(&inc, proto, &[]))
        .flatten();
    let writes = named
        .as_ref()
        .is_some_and(|n| !record::read_only(&n.event_name));
    // A Converse whose handler handed over its answer (runtime.rs): the record's facts made
    // straight from the note and the answer, before the response goes.
    if let Some(n) = named
        .as_ref()
        .filter(|_| !writes && refusal.is_none() && status == 200)
    {
        if let Some(answer) = inc.trail.take_answer() {
            let resp = handed(app, &inc, n, time_ms, answer, resp);
            return record_answered(app, inc, proto, time_ms, status, None, None, resp).await;
        }
    }
    let pending = match &named {
        Some(n) if refusal.is_none() && status == 200 => pending_invocation(app, &inc, n, time_ms),
        _ => None,
    };
    let streamed = resp.headers().get("content-type").is_some_and(|v| {
        v.as_bytes()
            .starts_with(b"application/vnd.amazon.eventstream")
    });
    let (resp, pending) = match pending {
        Some(p) if streamed => (log_stream_on_end(app.clone(), p, resp), None),
        other => (resp, other),
    };
    if proto == crate::auth::Proto::Query && refusal.is_none() && status == 200 && query_write(&inc)
    {
        let (parts, bytes) = read_answer(resp).await;
        let response = std::str::from_utf8(&bytes)
            .ok()
            .filter(|_| bytes.len() <= ELEMENTS_MAX)
            .and_then(elements::from_query_xml);
        let resp = axum::http::Response::from_parts(parts, axum::body::Body::from(bytes));
        return record_answered(app, inc, proto, time_ms, status, None, response, resp).await;
    }
    let (resp, response) = if (writes || pending.is_some()) && refusal.is_none() && status < 300 {
        let (parts, bytes) = read_answer(resp).await;
        if let Some(p) = pending {
            let header = |h: &str| {
                parts
                    .headers
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let output = invocation::Output::Body {
                bytes: bytes.clone(),
                content_type: parts
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/json")
                    .to_string(),
                header_tokens: (
                    header("x-amzn-bedrock-input-token-count"),
                    header("x-amzn-bedrock-output-token-count"),
                ),
            };
            deliver(app, p, output, None);
        }
        // Only a write's answer becomes responseElements: a logged model answer is not parsed.
        let json = if writes && bytes.len() <= ELEMENTS_MAX {
            serde_json::from_slice::<serde_json::Value>(&bytes).ok()
        } else {
            None
        };
        (
            axum::http::Response::from_parts(parts, axum::body::Body::from(bytes)),
            json,
        )
    } else {
        (resp, None)
    };
    record_answered(app, inc, proto, time_ms, status, refusal, response, resp).await
}

/// The largest answer read back into `responseElements`; a larger one is recorded without them.
const ELEMENTS_MAX: usize = 100 * 1024;

/// An answer's head and whole body, read so it can be recorded and then sent on unchanged.
async fn read_answer(
    resp: axum::http::Response<axum::body::Body>,
) -> (axum::http::response::Parts, bytes::Bytes) {
    use http_body_util::BodyExt;
    let (parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (parts, bytes)
}

/// An IAM or STS call that changes something (its Action is no Get/List/…).
fn query_write(inc: &crate::Incoming) -> bool {
    let form = if inc.method == axum::http::Method::GET {
        std::borrow::Cow::Borrowed(inc.query.as_str())
    } else {
        String::from_utf8_lossy(&inc.body)
    };
    crate::query::form_pairs(&form)
        .iter()
        .find(|(k, _)| k == "Action")
        .is_some_and(|(_, a)| !a.is_empty() && !record::read_only(a))
}

/// Queue the event of an answered call; a write's event is durable before its answer goes.
#[allow(clippy::too_many_arguments)]
async fn record_answered(
    app: &Arc<crate::App>,
    inc: Arc<crate::Incoming>,
    proto: crate::auth::Proto,
    time_ms: i64,
    status: u16,
    refusal: Option<AuditRecord>,
    response: Option<serde_json::Value>,
    resp: axum::http::Response<axum::body::Body>,
) -> axum::http::Response<axum::body::Body> {
    let outcome = Outcome {
        status,
        refusal: refusal.as_ref(),
        response,
    };
    let row = record::build(app, &inc, proto, time_ms, &outcome);
    let durable = !row.read_only && !row.account.is_empty();
    app.trail.event(row);
    if durable {
        let a = app.clone();
        let flushed = tokio::task::spawn_blocking(move || a.trail.flush()).await;
        if !matches!(flushed, Ok(Ok(()))) {
            tracing::error!(request_id = %inc.request_id, "the event of a write could not be made durable");
        }
    }
    resp
}

/// Log a call whose handler handed its whole answer over ([`invocation::Answer`]): nothing is
/// read back from the response, and a record stored as facts is made of the note's strings,
/// the request and the answer directly, without a pending record first.
fn handed(
    app: &crate::App,
    inc: &crate::Incoming,
    named: &record::Named,
    time_ms: i64,
    answer: invocation::Answer,
    resp: axum::http::Response<axum::body::Body>,
) -> axum::http::Response<axum::body::Body> {
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let part = invocation::AnswerPart {
        bytes: &answer.bytes,
        content_type,
        header_tokens: (None, None),
    };
    let facts = inc.trail.with(|n| {
        let config = n.logging.clone().flatten()?;
        if config.group.is_none() || config.s3.is_some() || !invocation::logged(&named.event_name) {
            return None;
        }
        let t = pending_text(inc, named, n)?;
        let facts = invocation::facts_of(&t, &config, &inc.body, &part)?;
        Some((facts, config))
    });
    if let Some((facts, config)) = facts {
        app.trail.send(Msg::Facts(FactsLine {
            facts,
            config,
            time_ms,
            ingest_ms: record::now_ms(app),
            known: Some(answer.usage),
        }));
    } else if let Some(p) = pending_invocation(app, inc, named, time_ms) {
        // Another destination, or a record built when written.
        let output = invocation::Output::Body {
            bytes: answer.bytes,
            content_type: content_type.to_string(),
            header_tokens: (None, None),
        };
        deliver(app, p, output, Some(answer.usage));
    }
    resp
}

/// The strings of a logged call's record, borrowed from the request and its note.
fn pending_text<'a>(
    inc: &'a crate::Incoming,
    named: &'a record::Named,
    n: &'a record::Noted,
) -> Option<invocation::PendingText<'a>> {
    let c = n.caller.as_ref()?;
    let region = n.region.as_deref()?;
    Some(invocation::PendingText {
        account: &c.account,
        region,
        identity_arn: &c.arn,
        request_id: &inc.request_id,
        operation: &named.event_name,
        model_id: named.label.as_deref().unwrap_or_default(),
        inference_region: n.served_region.as_deref().filter(|r| *r != region),
        input_content_type: inc.header("content-type").unwrap_or("application/json"),
    })
}

/// An admitted model call that the caller's logging configuration asks to log.
fn pending_invocation(
    app: &crate::App,
    inc: &crate::Incoming,
    named: &record::Named,
    time_ms: i64,
) -> Option<invocation::Pending> {
    if !invocation::logged(&named.event_name) {
        return None;
    }
    // Only what the record needs is copied out of the note (not the whole caller), into the
    // record's one buffer.
    inc.trail.with(|n| {
        // Looked up by the handler already, if it did; the strings only for a call to log.
        let config = match &n.logging {
            Some(config) => config.clone()?,
            None => {
                let account = &n.caller.as_ref()?.account;
                invocation::config(app, account, n.region.as_deref()?)?
            }
        };
        let t = pending_text(inc, named, n)?;
        Some(invocation::Pending::new(
            time_ms,
            t,
            inc.body.clone(),
            config,
        ))
    })
}

/// Hand an admitted call's record to each configured destination. Building the record
/// (parsing both bodies, serializing it) is the writer's work; a record that goes to CloudWatch
/// Logs only is not built at all but stored as its facts (invocation.rs), which are gathered
/// here, on the request path: one buffer crosses to the writer thread instead of the pending
/// record, its box and both bodies (freeing on another thread than the one that allocated was
/// glibc's slow path, contending with the requests' allocations, when serve used glibc's
/// malloc; issue 13).
/// `known`: the usage of an answer its handler made and handed over ([`invocation::Answer`]).
fn deliver(
    app: &crate::App,
    p: invocation::Pending,
    output: invocation::Output,
    known: Option<(u64, u64)>,
) {
    let ingest_ms = record::now_ms(app);
    if p.config.group.is_some() && p.config.s3.is_none() {
        if let Some(facts) = invocation::facts(&p, &output) {
            app.trail.send(Msg::Facts(FactsLine {
                facts,
                config: p.config.clone(),
                time_ms: p.time_ms,
                ingest_ms,
                known,
            }));
            return;
        }
    }
    app.trail
        .send(Msg::Invocation(Box::new((p, output, ingest_ms))));
}

/// A record to store as its facts, and where.
struct FactsLine {
    facts: Vec<u8>,
    config: Arc<invocation::Config>,
    time_ms: i64,
    ingest_ms: i64,
    known: Option<(u64, u64)>,
}

impl FactsLine {
    /// The line (on the writer thread: its text's length needs both bodies read).
    fn into_row(self) -> Option<LogRow> {
        let f = match invocation::Facts::decode(&self.facts) {
            Ok(f) => f,
            Err(e) => {
                // Made by `invocation::facts` just before: not reached.
                tracing::error!(error = %e, "an invocation record was not logged");
                return None;
            }
        };
        let text_len = invocation::text_len(self.time_ms, &f, self.known);
        // The configuration's strings (looked up by this account and Region), shared.
        let cfg = &self.config;
        Some(LogRow {
            account: cfg.account.clone(),
            region: cfg.region.clone(),
            group: cfg.group.clone().unwrap_or_default(),
            stream: invocation::STREAM_NAME.clone(),
            time_ms: self.time_ms,
            ingest_ms: self.ingest_ms,
            message: LogMessage::Facts {
                facts: self.facts,
                text_len,
            },
        })
    }
}

/// The record of an invocation and where it goes (the writer thread's side of [`deliver`]).
fn deliveries(
    p: &invocation::Pending,
    output: invocation::Output,
    ingest_ms: i64,
    logs: &mut Vec<LogRow>,
    objects: &mut Vec<invocation::S3Object>,
) {
    let line = |message| LogRow {
        account: p.config.account.clone(),
        region: p.config.region.clone(),
        group: p.config.group.clone().unwrap_or_default(),
        stream: invocation::STREAM_NAME.clone(),
        time_ms: p.time_ms,
        ingest_ms,
        message,
    };
    let (mut text, offloaded) = invocation::build(p, output);
    let s3 = p.config.s3.as_ref();
    if p.config.group.is_some() {
        // The line itself when no S3 copy needs the text too.
        let message = if s3.is_some() {
            text.clone()
        } else {
            std::mem::take(&mut text)
        };
        logs.push(line(LogMessage::Text(message)));
    }
    if let Some((bucket, prefix)) = s3 {
        let name = format!("{}_{}.json.gz", p.time_ms, uuid::Uuid::new_v4());
        objects.push(invocation::S3Object {
            bucket: bucket.clone(),
            key: invocation::s3_key(prefix, p.account(), p.region(), p.time_ms, &name),
            json: text.into_bytes(),
        });
    }
    objects.extend(offloaded);
}

/// A stream's body, passed through as it is sent; when it ends (or the client goes away) the
/// bytes sent make the record's output.
fn log_stream_on_end(
    app: Arc<crate::App>,
    p: invocation::Pending,
    resp: axum::http::Response<axum::body::Body>,
) -> axum::http::Response<axum::body::Body> {
    use futures_util::StreamExt;
    struct OnEnd {
        app: Arc<crate::App>,
        pending: Option<invocation::Pending>,
        sent: Vec<u8>,
    }
    impl Drop for OnEnd {
        fn drop(&mut self) {
            if let Some(p) = self.pending.take() {
                let sent = std::mem::take(&mut self.sent);
                deliver(&self.app, p, invocation::Output::Stream(sent), None);
            }
        }
    }
    let (parts, body) = resp.into_parts();
    let mut on_end = OnEnd {
        app,
        pending: Some(p),
        sent: Vec::new(),
    };
    let stream = body.into_data_stream().map(move |chunk| {
        if let Ok(b) = &chunk {
            on_end.sent.extend_from_slice(b);
        }
        chunk
    });
    axum::http::Response::from_parts(parts, axum::body::Body::from_stream(stream))
}
