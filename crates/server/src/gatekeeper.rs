//! Where the server asks `bg_gates::decide`: one [`bg_gates::Call`] per question, built from the
//! authenticated caller and the request, against the request's one snapshot. The server renders
//! the refusal and makes the decision's effects durable; it never builds a refusal itself.

use crate::auth::{Caller, Proto};
use crate::error::ApiError;
use crate::{App, Incoming};
use bg_gates::decide::{Call, Counters, Operation, Resource, Who};
use bg_gates::{Plan, Snapshot, State};

/// A scenario's `[[quota]]` entries as the throughput gate reads them.
pub fn scenario_quotas(s: &crate::scenario::Scenario) -> bg_gates::quota::Quotas {
    bg_gates::quota::Quotas {
        overrides: s
            .quota
            .iter()
            .map(|q| bg_gates::quota::QuotaOverride {
                model: q.model.clone(),
                account: q.account.clone(),
                region: q.region.clone(),
                values: bg_gates::quota::Override {
                    rpm: q.rpm,
                    tpm: q.tpm,
                    tpd: q.tpd,
                },
            })
            .collect(),
    }
}

impl App {
    /// What a decision reads: the state, the catalog, the quotas and the live counters.
    pub fn gate_snapshot<'a>(&'a self, state: &'a State) -> Snapshot<'a> {
        Snapshot {
            state,
            catalog: self.catalog,
            quotas: &self.quotas,
            counters: Some(Counters {
                meter: &self.meter,
                faults: &self.faults,
            }),
            access_known: true,
        }
    }

    /// Decide `op` for the authenticated caller; the effects the call causes are written before
    /// the answer (refused or not), so a refused first Marketplace call is remembered.
    pub fn decide<'a>(
        &'a self,
        caller: &'a Caller,
        inc: &Incoming,
        proto: Proto,
        op: Operation,
    ) -> Result<Plan<'a>, ApiError> {
        let call = Call {
            who: Who::Authenticated(&caller.identity),
            protocol: proto,
            region: &caller.region,
            source_ip: inc.source_ip.as_deref(),
            secure_transport: inc.secure,
            op,
            now: self.now_unix(),
        };
        let d = bg_gates::decide(&call, &self.gate_snapshot(&caller.state));
        if !d.effects.is_empty() {
            self.write(&d.effects).map_err(|e| {
                ApiError::new(
                    "InternalServerException",
                    500,
                    format!("state write failed: {e}"),
                )
            })?;
        }
        d.verdict.map_err(ApiError::from_refusal)
    }

    /// IAM for an API action on `resources` (none: an action without a resource type).
    pub fn authorize(
        &self,
        caller: &Caller,
        inc: &Incoming,
        proto: Proto,
        action: &str,
        resources: &[Resource],
    ) -> Result<(), ApiError> {
        self.decide(caller, inc, proto, Operation::Api { action, resources })
            .map(|_| ())
    }

    /// Whether the caller may `action` on `resources`: the same decision, asked as a question
    /// (GetFoundationModelAvailability's authorization field).
    pub fn allowed(
        &self,
        caller: &Caller,
        inc: &Incoming,
        action: &str,
        resources: &[Resource],
    ) -> bool {
        self.authorize(caller, inc, Proto::Json, action, resources)
            .is_ok()
    }
}
