//! The gates of [`crate::decide::GATES`], one module each. Each builds its own refusals; the
//! facts and AWS's texts they use live in the crate's topic modules (`region`, `authz`,
//! `access`, `quota`, `credentials`).

pub mod credentials;
pub mod faults;
pub mod iam;
pub mod model_access;
pub mod quota;
pub mod region;
pub mod request;

use crate::decide::{Call, Operation, Snapshot};

/// `GateCheck::applies` for the gates that look only at model calls.
fn model_call(call: &Call) -> Result<(), &'static str> {
    match call.op {
        Operation::Invoke(_) => Ok(()),
        _ => Err("not a model call"),
    }
}

/// `GateCheck::applies` for the gates that count inference calls in serve's live counters;
/// `offline` says why the gate does not run without them.
fn metered_inference(
    call: &Call,
    snap: &Snapshot,
    offline: &'static str,
) -> Result<(), &'static str> {
    match call.op {
        Operation::Invoke(ref i) if i.kind.infers() => {}
        _ => return Err("not an inference call"),
    }
    snap.counters.map(|_| ()).ok_or(offline)
}
