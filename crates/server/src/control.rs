//! The bedrock control plane: ListFoundationModels and GetFoundationModel (more with the model
//! access issue).

use crate::auth::Caller;
use crate::auth::Proto;
use crate::error::ApiError;
use crate::query::form_pairs;
use crate::runtime::Refusal;
use crate::{json_response, App, Incoming};
use axum::body::Body;
use axum::http::Response;
use bg_catalog::{LifecycleStatus as Lifecycle, Model};
use bg_gates::decide::Resource;
use serde_json::{json, Value};

const MODALITIES: [&str; 3] = ["TEXT", "IMAGE", "EMBEDDING"];
const CUSTOMIZATIONS: [&str; 3] = ["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"];
const INFERENCE_TYPES: [&str; 2] = ["ON_DEMAND", "PROVISIONED"];

pub fn model_json(m: &Model, region: &str) -> Value {
    let lifecycle = match m.lifecycle {
        Lifecycle::Legacy => "LEGACY",
        _ => "ACTIVE",
    };
    json!({
        "modelArn": m.arn(region),
        "modelId": m.id,
        "modelName": m.name,
        "providerName": m.provider,
        "inputModalities": m.input_modalities,
        "outputModalities": m.output_modalities,
        "responseStreamingSupported": m.streaming,
        "customizationsSupported": m.customizations,
        "inferenceTypesSupported": m.inference_types(region),
        "modelLifecycle": { "status": lifecycle },
    })
}

fn enum_error(value: &str, member: &str, set: &[&str]) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        set.join(", ")
    ))
}

pub fn list_foundation_models(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let params = form_pairs(&inc.query);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let provider = get("byProvider");
    if let Some(p) = provider {
        let ok = !p.is_empty()
            && p.len() <= 63
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ');
        if !ok {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{p}' at 'byProvider' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9- ]{{1,63}}"
            ))
            .into());
        }
    }
    let modality = get("byOutputModality");
    if let Some(m) = modality {
        if !MODALITIES.contains(&m) {
            return Err(enum_error(m, "byOutputModality", &MODALITIES).into());
        }
    }
    let customization = get("byCustomizationType");
    if let Some(c) = customization {
        if !CUSTOMIZATIONS.contains(&c) {
            return Err(enum_error(c, "byCustomizationType", &CUSTOMIZATIONS).into());
        }
    }
    let inference = get("byInferenceType");
    if let Some(i) = inference {
        if !INFERENCE_TYPES.contains(&i) {
            return Err(enum_error(i, "byInferenceType", &INFERENCE_TYPES).into());
        }
    }
    let region = caller.region.as_str();
    app.authorize(
        caller,
        inc,
        Proto::Json,
        "bedrock:ListFoundationModels",
        &[],
    )?;
    let summaries: Vec<Value> = app
        .catalog
        .models_in_region(region)
        .filter(|m| m.lifecycle != Lifecycle::EndOfLife)
        // AWS matches the provider name case-insensitively (`--by-provider amazon` lists Amazon's).
        .filter(|m| provider.is_none_or(|p| m.provider.eq_ignore_ascii_case(p)))
        .filter(|m| modality.is_none_or(|o| m.output_modalities.iter().any(|x| x.as_str() == o)))
        .filter(|m| customization.is_none_or(|c| m.customizations.iter().any(|x| x.as_str() == c)))
        .filter(|m| inference.is_none_or(|i| m.inference_types(region).contains(&i)))
        .map(|m| model_json(m, region))
        .collect();
    let out = json!({ "modelSummaries": summaries });
    Ok(json_response(
        200,
        out.to_string().into_bytes(),
        &inc.request_id,
    ))
}

pub fn get_foundation_model(
    app: &App,
    caller: &Caller,
    identifier: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let region = caller.region.as_str();
    // Accept the ID or the foundation-model ARN of this Region.
    let id = match identifier.strip_prefix("arn:") {
        Some(_) => {
            let prefix = format!(":bedrock:{region}::foundation-model/");
            match identifier.find(&prefix) {
                Some(i) => &identifier[i + prefix.len()..],
                None => {
                    return Err(
                        bg_gates::region::invalid_model(app.catalog, identifier, region).into(),
                    )
                }
            }
        }
        None => identifier,
    };
    let model = app
        .catalog
        .models_in_region(region)
        .find(|m| m.id == id)
        .ok_or_else(|| bg_gates::region::invalid_model(app.catalog, id, region))?;
    app.authorize(
        caller,
        inc,
        Proto::Json,
        "bedrock:GetFoundationModel",
        &[Resource::arn(model.arn(region))],
    )?;
    if model.lifecycle == Lifecycle::EndOfLife {
        return Err(bg_gates::checks::region::end_of_life(&model.id).into());
    }
    let out = json!({ "modelDetails": model_json(model, region) });
    Ok(json_response(
        200,
        out.to_string().into_bytes(),
        &inc.request_id,
    ))
}
