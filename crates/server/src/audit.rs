//! The audit log: every refusal with its diagnosis (which gate, why, the fix), kept in memory
//! (a bounded ring) and readable at `GET /_bedrock-gates/audit`.
//!
//! The `/_bedrock-gates/` routes are the emulator's own, unsigned: the server binds to loopback by
//! default and these routes read diagnostics only.

use crate::error::ApiError;
use crate::App;
use axum::body::Body;
use axum::http::{Method, Response};
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

pub struct Audit {
    cap: usize,
    ring: Mutex<VecDeque<AuditRecord>>,
}

impl Audit {
    pub fn new(cap: usize) -> Audit {
        Audit {
            cap,
            ring: Mutex::new(VecDeque::with_capacity(cap)),
        }
    }

    pub fn record(&self, r: AuditRecord) {
        tracing::info!(request_id = %r.request_id, operation = %r.operation, error = %r.error, gate = ?r.gate, reason = ?r.reason, "refused");
        let mut ring = self.ring.lock();
        if ring.len() == self.cap {
            ring.pop_front();
        }
        ring.push_back(r);
    }

    pub fn records(&self) -> Vec<AuditRecord> {
        self.ring.lock().iter().cloned().collect()
    }
}

pub fn admin(
    app: &App,
    method: &Method,
    path: &str,
    query: &str,
    request_id: &str,
) -> Response<Body> {
    let body = match (method, path) {
        (&Method::GET, "/_bedrock-gates/health") => serde_json::json!({ "status": "ok" }),
        // Tests advance the gate clock instead of sleeping (subscriptions, grants, quotas,
        // session expiry). Signatures keep using the wall clock.
        (&Method::POST, "/_bedrock-gates/clock") => {
            let secs = crate::query::form_pairs(query)
                .into_iter()
                .find(|(k, _)| k == "advance")
                .and_then(|(_, v)| v.parse::<i64>().ok());
            match secs {
                Some(s) if (0..=10 * 365 * 86_400).contains(&s) => {
                    app.advance_clock(s);
                    serde_json::json!({ "now": app.now_unix() })
                }
                _ => {
                    return crate::error::json_error(
                        &ApiError::validation(
                            "advance must be a number of seconds between 0 and 315360000",
                        ),
                        request_id,
                    )
                }
            }
        }
        (&Method::GET, "/_bedrock-gates/audit") => {
            serde_json::json!({ "records": app.audit.records() })
        }
        _ => {
            return crate::error::json_error(
                &ApiError::new(
                    "ResourceNotFoundException",
                    404,
                    format!("No such bedrock-gates admin route: {method} {path}"),
                ),
                request_id,
            )
        }
    };
    crate::json_response(200, body.to_string().into_bytes(), request_id)
}
