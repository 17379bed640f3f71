//! What IAM checks for one runtime call: the action, and every resource ARN with its condition
//! keys, following AWS's rules for cross-Region inference profiles.
//!
//! - A foundation model called directly: `arn:aws:bedrock:REGION::foundation-model/ID`.
//! - A geographic profile (`us.`, `eu.`, …): the profile ARN (with the caller's account, in the
//!   source Region), the model ARN in the source Region, and the model ARN in every destination
//!   Region; for the model ARNs `bedrock:InferenceProfileArn` names the profile, and
//!   `aws:RequestedRegion` is the destination Region (which is why an SCP restricting Regions
//!   refuses a call routed to a Region it does not allow).
//! - A global profile: the profile ARN, the model ARN in the source Region, and the Region-less
//!   `arn:aws:bedrock:::foundation-model/ID` with `aws:RequestedRegion` = `unspecified`.

use crate::authz::{base_context, Caller, RequestFacts};
use crate::region::Target;
use bg_iam::Context;

/// (resource ARN, context) pairs, in the order AWS names them in refusals: profile first, then
/// the source-Region model, then the destinations.
pub fn invoke_resources(
    target: &Target,
    caller: &Caller,
    facts: &RequestFacts,
) -> Vec<(String, Context)> {
    let region = facts.region.as_str();
    let base = base_context(caller, facts);
    let model = target.model;
    if let Some(app) = &target.app {
        // Application profile: its ARN, then every model ARN it routes to.
        let mut out = vec![(app.arn.clone(), base.clone())];
        for arn in &app.model_arns {
            let mut ctx = base.clone();
            let dest = arn
                .split(':')
                .nth(3)
                .filter(|r| !r.is_empty())
                .unwrap_or("unspecified");
            ctx.set_static("aws:requestedregion", dest.to_string());
            ctx.set_static("bedrock:inferenceprofilearn", app.arn.clone());
            out.push((arn.clone(), ctx));
        }
        return out;
    }
    let Some(profile) = target.profile else {
        return vec![(model.arn(region), base)];
    };
    let profile_arn = profile.arn(region, &caller.account);
    let mut out = vec![(profile_arn.clone(), base.clone())];
    let with = |arn: String, requested: &str| {
        let mut ctx = base.clone();
        ctx.set_static("aws:requestedregion", requested.to_string());
        ctx.set_static("bedrock:inferenceprofilearn", profile_arn.clone());
        (arn, ctx)
    };
    out.push(with(model.arn(region), region));
    if profile.global {
        let partition = bg_catalog::partition_of(region);
        out.push(with(
            format!("arn:{partition}:bedrock:::foundation-model/{}", model.id),
            "unspecified",
        ));
    } else {
        for dest in profile
            .destination_regions
            .iter()
            .filter(|d| d.as_str() != region)
        {
            out.push(with(model.arn(dest), dest));
        }
    }
    out
}

/// The destination that serves a profile call: the source Region when it is a destination
/// (lowest latency), otherwise the first listed. Deterministic so tests and the audit agree.
pub fn serving_region<'t>(target: &'t Target, region: &'t str) -> &'t str {
    match target.profile {
        None => region,
        Some(p) if p.destination_regions.iter().any(|d| d == region) => region,
        Some(p) => p
            .destination_regions
            .first()
            .map(String::as_str)
            .unwrap_or(region),
    }
}
