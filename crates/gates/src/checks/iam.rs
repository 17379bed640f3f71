//! Gate 2, IAM: the caller's identity policies, permissions boundary, SCPs and session policies
//! allow the action on every resource AWS checks (for a model call: the profile, the source
//! model and every destination). The only caller of the IAM evaluator on the request path.

use crate::authz::{self, base_context};
use crate::decide::{
    Call, GateCheck, Operation, Protocol, Refusal, ResourceEvaluation, Snapshot, Work,
};
use crate::ErrorCode;
use bg_iam::Context;

pub struct Iam;

impl GateCheck for Iam {
    fn name(&self) -> &'static str {
        "iam"
    }

    fn applies(&self, call: &Call, _: &Snapshot) -> Result<(), &'static str> {
        match call.op {
            Operation::Authenticate => Err("authentication only"),
            _ => Ok(()),
        }
    }

    fn check(&self, w: &mut Work) -> Result<(), Refusal> {
        w.with_caller(check_as).unwrap_or(Ok(()))
    }
}

fn check_as(w: &mut Work, caller: &crate::Caller) -> Result<(), Refusal> {
    let call = w.call;
    let facts = call.facts();
    // A model call's resources carry their own contexts; other operations start from this one.
    let base = || base_context(caller, &facts);
    // An API key is its own permission: `bedrock:CallWithBearerToken` (no resource type), with
    // the key's kind as `bedrock:BearerTokenType`, before the operation's own actions. Every
    // policy type applies to it, in every auth mode.
    if let Some(kind) = caller.bearer {
        let mut ctx = base();
        ctx.set("bedrock:BearerTokenType", kind.as_str().to_string());
        authorize(
            w,
            caller,
            "bedrock:CallWithBearerToken",
            "*",
            None,
            ctx,
            false,
        )?;
    }
    match &call.op {
        Operation::Invoke(inv) => {
            let Some(target) = w.plan.target.clone() else {
                return Ok(());
            };
            let arns = crate::invoke::invoke_arns(&target, caller, &facts);
            // Every resource already allowed by this snapshot, context-free: no context to
            // build, nothing to evaluate (authz::Decisions). Never while explaining.
            let cache = &w.snap.state.decisions;
            let action = inv.kind.action();
            if !w.explaining()
                && arns
                    .iter()
                    .all(|(arn, _)| cache.allowed(caller, action, arn))
            {
                return Ok(());
            }
            let resources = crate::invoke::with_contexts(arns, caller, &facts);
            // Explaining, every resource is evaluated (the first refusal still wins).
            let mut first = None;
            for (arn, ctx) in resources {
                if let Err(r) = authorize(w, caller, action, &arn, Some(&arn), ctx, true) {
                    first.get_or_insert(r);
                    if !w.explaining() {
                        break;
                    }
                }
            }
            if let Some(r) = first {
                return Err(r);
            }
        }
        Operation::Api { action, resources } => {
            if resources.is_empty() {
                return authorize(w, caller, action, "*", None, base(), false);
            }
            let base = base();
            for r in resources.iter() {
                let mut ctx = base.clone();
                for (k, v) in &r.context {
                    ctx.set(k, v.clone());
                }
                for (k, vs) in &r.multi {
                    ctx.set_multi(k, vs.iter().cloned());
                }
                let shown = r.shown.as_deref().unwrap_or(&r.arn);
                authorize(w, caller, action, &r.arn, Some(shown), ctx, false)?;
            }
        }
        Operation::AssumeRole { role_arn, context } => {
            let mut ctx = base();
            for (k, v) in context.iter() {
                ctx.set(k, v.to_string());
            }
            authz::authorize_assume_role(w.snap.state, caller, role_arn, ctx)?;
        }
        Operation::Authenticate => {}
    }
    Ok(())
}

/// Evaluate one action on one resource; refuse with AWS's sentence, naming `shown` (no resource:
/// the sentence omits "on resource: …", as AWS's does for actions without a resource type).
fn authorize(
    w: &mut Work,
    caller: &crate::Caller,
    action: &str,
    arn: &str,
    shown: Option<&str>,
    ctx: Context,
    keep: bool,
) -> Result<(), Refusal> {
    let varying: Vec<(String, String)> = if w.explaining() {
        ["aws:RequestedRegion", "bedrock:InferenceProfileArn"]
            .iter()
            .filter(|k| arn != "*" || **k != "aws:RequestedRegion")
            .filter_map(|k| ctx.get(k).map(|v| (k.to_string(), v.join(","))))
            .collect()
    } else {
        Vec::new()
    };
    let (e, read_context) = authz::evaluate_reporting(w.snap.state, caller, action, arn, ctx);
    let allowed = e.is_allowed();
    if keep && allowed && !read_context && !w.explaining() {
        w.snap.state.decisions.keep(caller, action, arn);
    }
    let refusal = (!allowed).then(|| authz::deny(caller, action, shown, &e));
    w.record_evaluation(|| ResourceEvaluation {
        action: action.to_string(),
        arn: arn.to_string(),
        context: varying,
        evaluation: e,
    });
    match refusal {
        None => Ok(()),
        Some(mut d) => {
            if w.call.protocol == Protocol::Query {
                d.error = ErrorCode::AccessDenied;
            }
            Err(d.into())
        }
    }
}
