//! The audit log: every refusal with its diagnosis (which gate, why, the fix), kept in memory
//! (a bounded ring) and readable at `GET /_bedrock-gates/audit`.
//! (See `admin` for the routes that read it.)

use crate::error::ApiError;
use bg_gates::Deny;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::VecDeque;

#[derive(Clone, Debug, Serialize)]
pub struct AuditRecord {
    pub time: i64,
    pub request_id: String,
    pub operation: String,
    pub error: String,
    pub status: u16,
    pub message: String,
    pub gate: Option<&'static str>,
    pub reason: Option<String>,
    pub fix: Option<String>,
}

impl AuditRecord {
    pub fn new(
        time: i64,
        request_id: &str,
        operation: &str,
        err: &ApiError,
        diagnosis: Option<&Deny>,
    ) -> Self {
        AuditRecord {
            time,
            request_id: request_id.to_string(),
            operation: operation.to_string(),
            error: err.code.to_string(),
            status: err.status,
            message: err.message.clone(),
            gate: diagnosis.map(|d| d.gate.as_str()),
            reason: diagnosis.map(|d| d.reason.clone()),
            fix: diagnosis.map(|d| d.fix.clone()),
        }
    }
}

/// One admitted model call and the Region that served it: a cross-Region profile call is served
/// by one of the profile's destinations (the first with quota room), which AWS does not tell the
/// client; we keep it here, readable at `GET /_bedrock-gates/invocations`.
#[derive(Clone, Debug, Serialize)]
pub struct Invocation {
    pub time: i64,
    pub request_id: String,
    pub operation: &'static str,
    pub account: String,
    /// The `modelId` as called: a model ID, a profile ID or an ARN.
    pub model_id: String,
    pub model: String,
    pub inference_profile: Option<String>,
    pub source_region: String,
    pub served_region: String,
}

/// A bounded in-memory log (oldest dropped first).
pub struct Log<T> {
    cap: usize,
    ring: Mutex<VecDeque<T>>,
}

/// The refusals, each with its diagnosis.
pub type Audit = Log<AuditRecord>;

impl<T: Clone> Log<T> {
    pub fn new(cap: usize) -> Log<T> {
        Log {
            cap,
            ring: Mutex::new(VecDeque::with_capacity(cap)),
        }
    }

    pub fn push(&self, r: T) {
        let mut ring = self.ring.lock();
        if ring.len() == self.cap {
            ring.pop_front();
        }
        ring.push_back(r);
    }

    pub fn records(&self) -> Vec<T> {
        self.ring.lock().iter().cloned().collect()
    }
}

impl Log<AuditRecord> {
    pub fn record(&self, r: AuditRecord) {
        tracing::info!(request_id = %r.request_id, operation = %r.operation, error = %r.error, gate = ?r.gate, reason = ?r.reason, "refused");
        self.push(r);
    }
}
