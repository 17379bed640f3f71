//! Gate 3, Region: does the model identifier name something callable in the Region the request
//! was signed for. The catalog knows the facts; this turns them into AWS's refusals.

use crate::{Deny, ErrorCode, Gate};
use bg_catalog::{Catalog, InferenceProfile, Model, Resolution};

/// What a runtime call's `modelId` resolved to.
#[derive(Clone, Debug)]
pub struct Target<'c> {
    pub model: &'c Model,
    /// Set when the call goes through a system inference profile.
    pub profile: Option<&'c InferenceProfile>,
    /// Set when the call goes through an application inference profile.
    pub app: Option<AppTarget>,
}

/// An application inference profile as IAM sees it: its ARN and the model ARNs it routes to.
#[derive(Clone, Debug)]
pub struct AppTarget {
    pub arn: String,
    pub model_arns: Vec<String>,
}

pub const INVALID_MODEL_ID: &str = "The provided model identifier is invalid.";

/// AWS's message for an INFERENCE_PROFILE-only model called by its bare ID (note AWS's curly
/// apostrophe in "isn’t").
pub fn on_demand_unsupported(model_id: &str) -> String {
    format!(
        "Invocation of model ID {model_id} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
    )
}

pub fn resolve<'c>(
    catalog: &'c Catalog,
    model_identifier: &str,
    region: &str,
) -> Result<Target<'c>, Deny> {
    match catalog.resolve(model_identifier, region) {
        Resolution::FoundationModel { model } => Ok(Target {
            model,
            profile: None,
            app: None,
        }),
        Resolution::Profile { profile, model } => Ok(Target {
            model,
            profile: Some(profile),
            app: None,
        }),
        Resolution::ProfileOnly { model } => Err(Deny {
            gate: Gate::Region,
            error: ErrorCode::ValidationException,
            status: 400,
            message: on_demand_unsupported(&model.id),
            reason: format!(
                "{} is offered in {region} only through a cross-Region inference profile",
                model.id
            ),
            fix: profile_fix(catalog, &model.id, region),
        }),
        Resolution::NotInRegion => Err(not_in_region(catalog, model_identifier, region)),
        Resolution::Unknown => Err(unknown_model(model_identifier)),
    }
}

/// "The provided model identifier is invalid." for a model the catalog knows elsewhere.
fn not_in_region(catalog: &Catalog, model_identifier: &str, region: &str) -> Deny {
    Deny {
        gate: Gate::Region,
        error: ErrorCode::ValidationException,
        status: 400,
        message: INVALID_MODEL_ID.to_string(),
        reason: format!("{model_identifier} is not offered in {region}"),
        fix: regions_fix(catalog, model_identifier),
    }
}

/// "The provided model identifier is invalid." for an identifier the catalog does not know.
fn unknown_model(model_identifier: &str) -> Deny {
    Deny {
        gate: Gate::Region,
        error: ErrorCode::ValidationException,
        status: 400,
        message: INVALID_MODEL_ID.to_string(),
        reason: format!(
            "{model_identifier} is not a model or inference profile this catalog knows"
        ),
        fix: "check the model ID with `aws bedrock list-foundation-models`".to_string(),
    }
}

/// The diagnosis behind a control-plane operation's "The provided model identifier is invalid."
/// (GetFoundationModel, agreements, availability, profiles): gate 3, with the Regions that offer
/// the model when the catalog knows it.
pub fn invalid_model(catalog: &Catalog, model_identifier: &str, region: &str) -> Deny {
    let bare = model_identifier
        .rsplit('/')
        .next()
        .unwrap_or(model_identifier);
    if catalog.model(bare).is_some() || catalog.profile(bare).is_some() {
        not_in_region(catalog, model_identifier, region)
    } else {
        unknown_model(model_identifier)
    }
}

fn profile_fix(catalog: &Catalog, model_id: &str, region: &str) -> String {
    let ids: Vec<&str> = catalog
        .profiles_in_region(region)
        .filter(|p| p.model_id == model_id)
        .map(|p| p.id.as_str())
        .collect();
    if ids.is_empty() {
        format!("call {model_id} through an inference profile from a Region that offers one")
    } else {
        format!("call it through an inference profile: {}", ids.join(", "))
    }
}

fn regions_fix(catalog: &Catalog, model_identifier: &str) -> String {
    // Strip an ARN or a geo prefix to find the model the caller meant.
    let bare = model_identifier
        .rsplit('/')
        .next()
        .unwrap_or(model_identifier);
    let model = catalog.model(bare).or_else(|| {
        catalog
            .profile(bare)
            .and_then(|p| catalog.model(&p.model_id))
    });
    match model {
        Some(m) if !m.on_demand_regions.is_empty() => format!(
            "sign the request for a Region that offers {}: {}",
            m.id,
            m.on_demand_regions.join(", ")
        ),
        Some(m) => format!(
            "{} is reachable only through inference profiles; pick a profile callable from your Region",
            m.id
        ),
        None => "check the model ID and the Region with `aws bedrock list-foundation-models`".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_model_names_the_regions_or_says_unknown() {
        let c = bg_catalog::catalog();
        let d = invalid_model(c, "amazon.nova-canvas-v1:0", "us-west-2");
        assert_eq!(
            (d.gate, d.status, d.message.as_str(), d.reason.as_str()),
            (
                Gate::Region,
                400,
                INVALID_MODEL_ID,
                "amazon.nova-canvas-v1:0 is not offered in us-west-2"
            )
        );
        assert!(d
            .fix
            .starts_with("sign the request for a Region that offers amazon.nova-canvas-v1:0: "));
        let d = invalid_model(c, "nope.model-v1:0", "us-east-1");
        assert_eq!(
            d.reason,
            "nope.model-v1:0 is not a model or inference profile this catalog knows"
        );
    }
}
