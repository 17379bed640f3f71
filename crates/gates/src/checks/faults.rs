//! Scripted faults: a scenario's `[[fault]]` makes every N-th call to a model fail the way AWS's
//! service fails (throttled, timed out, not ready, unavailable), or fail mid-stream.

use crate::decide::{Call, GateCheck, Operation, Refusal, Snapshot, Work};
use crate::{Deny, Gate};

pub struct ScriptedFaults;

impl GateCheck for ScriptedFaults {
    fn name(&self) -> &'static str {
        "faults"
    }

    fn applies(&self, call: &Call, snap: &Snapshot) -> Result<(), &'static str> {
        super::metered_inference(call, snap, "the fault counters live in serve")
    }

    fn check(&self, w: &mut Work) -> Result<(), Refusal> {
        let (Operation::Invoke(inv), Some(target), Some(c)) =
            (&w.call.op, &w.plan.target, w.snap.counters)
        else {
            return Ok(());
        };
        let Some(f) = c.faults.hit(&target.model.id, inv.kind.streams()) else {
            return Ok(());
        };
        if f.kind.is_stream() {
            w.plan.stream_fault = Some(f);
            return Ok(());
        }
        let (error, status, message) = f.kind.http_error();
        Err(Deny {
            gate: Gate::Quota,
            error,
            status,
            message: message.to_string(),
            reason: format!(
                "scripted fault '{:?}' for {} (every {} calls)",
                f.kind, target.model.id, f.every
            ),
            fix: "this failure was injected by the scenario's [[fault]] entry".into(),
        }
        .into())
    }
}
