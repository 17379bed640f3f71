//! Gates 1 and 4, model access and provider terms: the account may use this model in this
//! Region (console grant, EULA, Anthropic use-case form, Marketplace subscription). The rules
//! and AWS's texts are in [`crate::access`]; this gate asks IAM whether the caller may start the
//! Marketplace subscription a first call needs, and hands the changes the call causes back as
//! effects.

use crate::access::{self, CallerFacts};
use crate::authz::{self, base_context};
use crate::decide::{Call, GateCheck, Refusal, Snapshot, Work};

pub struct ModelAccessGate;

impl GateCheck for ModelAccessGate {
    fn name(&self) -> &'static str {
        "model-access"
    }

    fn applies(&self, call: &Call, snap: &Snapshot) -> Result<(), &'static str> {
        super::model_call(call)?;
        if snap.access_known {
            Ok(())
        } else {
            Err("the account's model access is not known from policy files: pass --scenario or --state")
        }
    }

    fn check(&self, w: &mut Work) -> Result<(), Refusal> {
        w.with_caller(check_as).unwrap_or(Ok(()))
    }
}

fn check_as(w: &mut Work, caller: &crate::Caller) -> Result<(), Refusal> {
    let Some(model) = w.plan.target.as_ref().map(|t| t.model) else {
        return Ok(());
    };
    let (state, call) = (w.snap.state, w.call);
    // Asked only for a first Marketplace call.
    let can_subscribe = || may_subscribe(state, caller, &call.facts());
    let f = CallerFacts {
        account: &caller.account,
        region: call.region,
        can_subscribe: &can_subscribe,
        now: call.now,
    };
    let (changes, verdict) = access::check(state, model, &f);
    w.effects.extend(changes);
    verdict?;
    w.note(|| format!("account {} may use {}", caller.account, model.id));
    Ok(())
}

/// May the caller start an AWS Marketplace subscription through Bedrock (the first call of a
/// Marketplace model, or accepting its offer): aws-marketplace:Subscribe and ViewSubscriptions,
/// called via bedrock.amazonaws.com.
pub fn may_subscribe(
    state: &crate::State,
    caller: &crate::Caller,
    facts: &crate::authz::RequestFacts,
) -> bool {
    let mut ctx = base_context(caller, facts);
    ctx.set("aws:CalledViaLast", "bedrock.amazonaws.com");
    ctx.set_multi("aws:CalledVia", ["bedrock.amazonaws.com"]);
    [
        "aws-marketplace:Subscribe",
        "aws-marketplace:ViewSubscriptions",
    ]
    .iter()
    .all(|a| authz::evaluate(state, caller, a, "*", ctx.clone()).is_allowed())
}
