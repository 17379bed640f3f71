//! The audit log: every refusal with its diagnosis (which gate, why, the fix). A refusal is
//! handed here while its request is answered ([`Audit::record`]); when the request ends, its
//! CloudTrail event takes the diagnosis along ([`Audit::take`]) and both are stored in the
//! journal, readable at `GET /_bedrock-gates/audit` (see `admin`) and joined by `eventID`.

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

/// Longest text field of an audit record, in bytes. Refusal texts are short (AWS's sentences
/// plus a bounded quote of the request, see `bg_sigv4::quote`); this bounds what anything else
/// could put there, so the ring of 1,000 records stays a few MB at most.
pub const FIELD_MAX: usize = 2048;

/// A field as the audit log keeps it: what looks like a secret access key redacted, cut to
/// [`FIELD_MAX`] bytes on a character boundary (`…` marks the cut).
pub fn bounded(text: &str) -> String {
    let mut end = text.len().min(FIELD_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let kept = bg_sigv4::redact_secrets(&text[..end]);
    if end < text.len() {
        format!("{kept}…")
    } else {
        kept
    }
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
            request_id: bounded(request_id),
            operation: bounded(operation),
            error: err.code.to_string(),
            status: err.status,
            message: bounded(&err.message),
            gate: diagnosis.map(|d| d.gate.as_str()),
            reason: diagnosis.map(|d| bounded(&d.reason)),
            fix: diagnosis.map(|d| bounded(&d.fix)),
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

/// The refusals of requests still being answered, by request ID.
#[derive(Default)]
pub struct Audit {
    pending: Mutex<std::collections::HashMap<String, AuditRecord>>,
}

/// Refusals waiting for their request's end, at most: a request that never ends (a panic
/// mid-answer) must not grow the map without bound.
const PENDING_MAX: usize = 65_536;

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

impl Audit {
    pub fn new() -> Audit {
        Audit::default()
    }

    /// A refusal of the request `r.request_id` (the last one wins if a request records two).
    pub fn record(&self, r: AuditRecord) {
        tracing::info!(request_id = %r.request_id, operation = %r.operation, error = %r.error, gate = ?r.gate, reason = ?r.reason, "refused");
        let mut p = self.pending.lock();
        if p.len() >= PENDING_MAX {
            p.clear();
        }
        p.insert(r.request_id.clone(), r);
    }

    /// The refusal recorded for this request, if any (taken: each is stored once).
    pub fn take(&self, request_id: &str) -> Option<AuditRecord> {
        self.pending.lock().remove(request_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_bounded_and_redacted() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let err = ApiError::validation(format!("key {secret} then {}", "x".repeat(1 << 20)));
        let r = AuditRecord::new(0, "rid", "Converse", &err, None);
        assert!(r.message.len() <= FIELD_MAX + '…'.len_utf8());
        assert!(r.message.starts_with("key <redacted> then xxx"));
        assert!(r.message.ends_with('…'));
        assert_eq!(bounded("short"), "short");
    }
}
