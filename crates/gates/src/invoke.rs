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
    with_contexts(invoke_arns(target, caller, facts), caller, facts)
}

/// A resource's context beyond the caller's: for a profile's destinations, the Region they
/// are requested in (`aws:RequestedRegion`) and the profile (`bedrock:InferenceProfileArn`).
pub type Scope = Option<(String, String)>;

/// The resource ARNs of [`invoke_resources`], in its order, each with its [`Scope`]: what an
/// IAM decision needs before any context is built.
pub fn invoke_arns(target: &Target, caller: &Caller, facts: &RequestFacts) -> Vec<(String, Scope)> {
    let region = facts.region.as_str();
    let model = target.model;
    if let Some(app) = &target.app {
        // Application profile: its ARN, then every model ARN it routes to.
        let mut out = vec![(app.arn.clone(), None)];
        for arn in &app.model_arns {
            let dest = arn
                .split(':')
                .nth(3)
                .filter(|r| !r.is_empty())
                .unwrap_or("unspecified");
            out.push((arn.clone(), Some((dest.to_string(), app.arn.clone()))));
        }
        return out;
    }
    let Some(profile) = target.profile else {
        return vec![(model.arn(region), None)];
    };
    let profile_arn = profile.arn(region, &caller.account);
    let mut out = vec![(profile_arn.clone(), None)];
    let scoped = |requested: &str| Some((requested.to_string(), profile_arn.clone()));
    out.push((model.arn(region), scoped(region)));
    if profile.global {
        let partition = bg_catalog::partition_of(region);
        out.push((
            format!("arn:{partition}:bedrock:::foundation-model/{}", model.id),
            scoped("unspecified"),
        ));
    } else {
        for dest in profile
            .destination_regions
            .iter()
            .filter(|d| d.as_str() != region)
        {
            out.push((model.arn(dest), scoped(dest)));
        }
    }
    out
}

/// Each resource of [`invoke_arns`] with its request context: the caller's, plus its scope.
pub fn with_contexts(
    arns: Vec<(String, Scope)>,
    caller: &Caller,
    facts: &RequestFacts,
) -> Vec<(String, Context)> {
    let base = base_context(caller, facts);
    arns.into_iter()
        .map(|(arn, scope)| {
            let mut ctx = base.clone();
            if let Some((requested, profile_arn)) = scope {
                ctx.set_static("aws:requestedregion", requested);
                ctx.set_static("bedrock:inferenceprofilearn", profile_arn);
            }
            (arn, ctx)
        })
        .collect()
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
