//! Gate 3, Region: the model identifier names something callable in the signed Region: a model
//! offered on demand there, a system inference profile of that Region, or an application
//! inference profile of the caller's account there; and the model has not reached its end of life.

use crate::decide::{Call, GateCheck, InvokeKind, Operation, Refusal, Snapshot, Work};
use crate::region::{self, AppTarget, Target};
use crate::{Deny, ErrorCode, Gate};
use bg_catalog::{LifecycleStatus, Resolution};

pub const END_OF_LIFE_MESSAGE: &str = "This model version has reached the end of its life. Please refer to the AWS documentation for more details.";

pub struct RegionGate;

impl GateCheck for RegionGate {
    fn name(&self) -> &'static str {
        "region"
    }

    fn applies(&self, call: &Call, _: &Snapshot) -> Result<(), &'static str> {
        super::model_call(call)
    }

    fn check(&self, w: &mut Work) -> Result<(), Refusal> {
        let Operation::Invoke(inv) = &w.call.op else {
            return Ok(());
        };
        let (catalog, region) = (w.snap.catalog, w.call.region);
        let target = match application_profile(w, inv.model_id) {
            Some(t) => t,
            None => match catalog.resolve(inv.model_id, region) {
                // CountTokens runs no inference, so a model listed in the Region only through
                // inference profiles is counted by its bare ID too (AWS does not document this
                // case; we accept it since the tokenizer is the model's, not the profile's).
                Resolution::ProfileOnly { model } if inv.kind == InvokeKind::CountTokens => {
                    Target {
                        model,
                        profile: None,
                        app: None,
                    }
                }
                _ => region::resolve(catalog, inv.model_id, region)?,
            },
        };
        if target.model.lifecycle == LifecycleStatus::EndOfLife {
            return Err(end_of_life(&target.model.id).into());
        }
        w.note(|| match (&target.profile, &target.app) {
            (Some(p), _) => format!(
                "{} is the inference profile {} of {}, routed to {}",
                inv.model_id,
                p.id,
                target.model.id,
                p.destination_regions.join(", ")
            ),
            (None, Some(a)) => format!("{} is an application inference profile", a.arn),
            (None, None) => format!("{} is offered in {region}", target.model.id),
        });
        w.plan.serving_region = Some(crate::invoke::serving_region(&target, region).to_string());
        w.plan.target = Some(target);
        Ok(())
    }
}

/// "This model version has reached the end of its life." (bedrock-facts §1.6): the model is
/// gone in every Region, so it is the Region gate's refusal.
pub fn end_of_life(model_id: &str) -> Deny {
    Deny {
        gate: Gate::Region,
        error: ErrorCode::ResourceNotFoundException,
        status: 404,
        message: END_OF_LIFE_MESSAGE.into(),
        reason: format!("{model_id} has reached its end of life"),
        fix: "move to a current model (`aws bedrock list-foundation-models`)".into(),
    }
}

/// An application inference profile ARN of the caller's account, in the signed Region.
fn application_profile<'a>(w: &Work<'_, 'a>, model_id: &str) -> Option<Target<'a>> {
    if !model_id.contains(":application-inference-profile/") {
        return None;
    }
    let p = w.snap.state.app_profiles.get(model_id)?;
    let account = w.caller()?.account.as_str();
    if p.region != w.call.region || p.account != account {
        return None;
    }
    let model = w.snap.catalog.model(&p.model_id)?;
    Some(Target {
        model,
        profile: None,
        app: Some(AppTarget {
            arn: p.arn.clone(),
            model_arns: p.model_arns.clone(),
        }),
    })
}
