//! Gates 1 and 4 through the API: GetFoundationModelAvailability, the agreement offers and
//! agreements, and the Anthropic use-case form.

use super::wire::{self, Violations};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::runtime::Refusal;
use crate::{json_response, App, Incoming};
use axum::body::Body;
use axum::http::Response;
use bg_catalog::{Modality, Model};
use bg_gates::state::{
    AccessMode, AgreementStatus, GrantStatus, ModelAccess, Subscription, SubscriptionStatus,
    UseCase,
};
use bg_gates::{Change, Entity, State};
use serde_json::{json, Value};

/// What GetUseCaseForModelAccess answers when no form is on file (AWS's text is not public; this
/// is the first sentence of the runtime's first-time-use refusal, which names the same fact).
pub const NO_USE_CASE: &str = bg_gates::access::NO_USE_CASE_MESSAGE;

const OFFER_TYPES: [&str; 2] = ["ALL", "PUBLIC"];

fn ok(status: u16, v: Value, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    Ok(json_response(
        status,
        v.to_string().into_bytes(),
        &inc.request_id,
    ))
}

fn authorize_no_resource(
    app: &App,
    caller: &Caller,
    action: &str,
    inc: &Incoming,
) -> Result<(), Refusal> {
    app.authorize(caller, inc, crate::auth::Proto::Json, action, &[])?;
    Ok(())
}

/// A model the catalog knows, by bare ID (any Region).
fn known_model<'c>(app: &'c App, id: &str) -> Result<&'c Model, ApiError> {
    app.catalog
        .model(id)
        .ok_or_else(|| ApiError::validation(bg_gates::region::INVALID_MODEL_ID))
}

/// A model listed in the signed Region: offers and agreements exist per (model, Region), so a
/// model the Region does not list is refused as gate 3 refuses it.
fn listed_model<'c>(app: &'c App, id: &str, region: &str) -> Result<&'c Model, ApiError> {
    let m = known_model(app, id)?;
    if m.is_listed_in(region) {
        Ok(m)
    } else {
        Err(ApiError::refused(bg_gates::region::invalid_model(
            app.catalog,
            id,
            region,
        )))
    }
}

fn access_mode(state: &State, account: &str) -> AccessMode {
    state
        .accounts
        .get(account)
        .map(|a| a.access_mode)
        .unwrap_or_default()
}

fn record(state: &State, account: &str, region: &str, model: &str) -> Option<ModelAccess> {
    state
        .model_access
        .get(&ModelAccess::key(account, region, model))
        .cloned()
}

// ---------------------------------------------------------------------------------------------
// GetFoundationModelAvailability
// ---------------------------------------------------------------------------------------------

pub fn get_availability(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let mut v = Violations::default();
    wire::check_model_id(&mut v, model_id);
    v.into_result()?;
    authorize_no_resource(app, caller, "bedrock:GetFoundationModelAvailability", inc)?;
    // A model known anywhere answers with regionAvailability for this Region; an ID the
    // catalog does not know at all is refused as GetFoundationModel refuses it.
    let model = known_model(app, model_id)?;
    let region = caller.region.as_str();
    let state = &caller.state;
    let authorized = app.allowed(
        caller,
        inc,
        "bedrock:InvokeModel",
        &[bg_gates::decide::Resource::arn(model.arn(region))],
    );
    let a = bg_gates::access::availability(
        state,
        model,
        &caller.identity.account,
        region,
        authorized,
        app.now_unix(),
    );
    let mut agreement = json!({ "status": a.agreement });
    if let Some(e) = a.agreement_error.filter(|_| a.agreement == "ERROR") {
        agreement["errorMessage"] = Value::String(e);
    }
    ok(
        200,
        json!({
            "modelId": model.id,
            "agreementAvailability": agreement,
            "authorizationStatus": a.authorization,
            "entitlementAvailability": a.entitlement,
            "regionAvailability": a.region,
        }),
        inc,
    )
}

// ---------------------------------------------------------------------------------------------
// Offers
// ---------------------------------------------------------------------------------------------

/// The offer token of (model, Region): 96 derived bytes, base64url (128 characters). The same
/// for every account, as a public offer is.
pub fn offer_token(model_id: &str, region: &str) -> String {
    wire::b64url(&wire::digest(
        &["bedrock-gates offer token v1", model_id, region],
        96,
    ))
}

fn offer_id(model_id: &str, region: &str) -> String {
    format!(
        "offer-{}",
        wire::lower_alnum(&["bedrock-gates offer id", model_id, region], 13)
    )
}

/// Whether (account, model) has an offer to accept: third-party Marketplace models always; in
/// console access mode every model, since there the agreement is also the access request.
fn has_offer(state: &State, account: &str, model: &Model) -> bool {
    model.marketplace || access_mode(state, account) == AccessMode::Console
}

/// Illustrative on-demand list prices in USD per 1,000 tokens (input, output), by model-ID
/// fragment, first match wins. Not billing data: the rate card only has to look like one.
const PRICES: &[(&str, &str, &str)] = &[
    ("claude-3-haiku", "0.00025", "0.00125"),
    ("claude-3-5-haiku", "0.0008", "0.004"),
    ("claude-haiku-4-5", "0.001", "0.005"),
    ("claude-opus-4-1", "0.015", "0.075"),
    ("claude-opus", "0.005", "0.025"),
    ("sonnet", "0.003", "0.015"),
    ("command-r-plus", "0.003", "0.015"),
    ("command-r", "0.0005", "0.0015"),
    ("embed-v4", "0.00012", ""),
    ("embed", "0.0001", ""),
    ("jamba-1-5-large", "0.002", "0.008"),
    ("jamba-1-5-mini", "0.0002", "0.0004"),
    ("nova-micro", "0.000035", "0.00014"),
    ("nova-lite", "0.00006", "0.00024"),
    ("nova-2-lite", "0.0003", "0.0025"),
    ("nova-pro", "0.0008", "0.0032"),
    ("nova-premier", "0.0025", "0.0125"),
];

fn rate_card(model: &Model, region: &str) -> Vec<Value> {
    if model.output_modalities.contains(&Modality::Image) {
        return vec![json!({
            "dimension": "images",
            "price": "0.04",
            "description": format!("Price per generated image (1024x1024, standard quality) in {region}"),
            "unit": "Images",
        })];
    }
    let (input, output) = PRICES
        .iter()
        .find(|(frag, _, _)| model.id.contains(frag))
        .map(|(_, i, o)| (*i, *o))
        .unwrap_or(("0.001", "0.004"));
    let mut card = vec![json!({
        "dimension": "input_tokens",
        "price": input,
        "description": format!("Price per 1,000 input tokens in {region}"),
        "unit": "1K tokens",
    })];
    if !model.is_embedding() && !output.is_empty() {
        card.push(json!({
            "dimension": "output_tokens",
            "price": output,
            "description": format!("Price per 1,000 output tokens in {region}"),
            "unit": "1K tokens",
        }));
    }
    card
}

/// The provider's end-user licence terms; AWS's page of third-party model terms otherwise.
fn eula_url(provider: &str) -> &'static str {
    match provider {
        "Anthropic" => "https://www.anthropic.com/legal/commercial-terms",
        "Cohere" => "https://cohere.com/terms-of-use",
        "AI21 Labs" => "https://www.ai21.com/terms-of-use",
        "Amazon" => "https://aws.amazon.com/service-terms/",
        _ => "https://aws.amazon.com/legal/bedrock/third-party-models/",
    }
}

pub fn list_offers(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let mut v = Violations::default();
    wire::check_model_id(&mut v, model_id);
    v.into_result()?;
    // PUBLIC is the default; this emulator has no private offers, so ALL lists the same one.
    if let Some(t) = wire::query_param(inc, "offerType") {
        if !OFFER_TYPES.contains(&t.as_str()) {
            return Err(wire::enum_error(&t, "offerType", &OFFER_TYPES).into());
        }
    }
    authorize_no_resource(
        app,
        caller,
        "bedrock:ListFoundationModelAgreementOffers",
        inc,
    )?;
    let region = caller.region.as_str();
    let model = listed_model(app, model_id, region)?;
    let offers: Vec<Value> = if has_offer(&app.snapshot(), &caller.identity.account, model) {
        vec![json!({
            "offerId": offer_id(&model.id, region),
            "offerToken": offer_token(&model.id, region),
            "termDetails": {
                "usageBasedPricingTerm": { "rateCard": rate_card(model, region) },
                "legalTerm": { "url": eula_url(&model.provider) },
                "supportTerm": {
                    "refundPolicyDescription": "Usage-based charges are billed as incurred and are not refundable."
                },
            },
        })]
    } else {
        Vec::new()
    };
    ok(200, json!({ "modelId": model.id, "offers": offers }), inc)
}

// ---------------------------------------------------------------------------------------------
// Agreements
// ---------------------------------------------------------------------------------------------

pub fn create_agreement(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let body = wire::body_object(inc)?;
    let token = wire::opt_str(&body, "offerToken")?;
    let model_id = wire::opt_str(&body, "modelId")?;
    let mut v = Violations::default();
    if token.is_none() {
        v.null("offerToken");
    }
    match model_id {
        None => v.null("modelId"),
        Some(m) => wire::check_model_id(&mut v, m),
    }
    v.into_result()?;
    let (token, model_id) = (token.unwrap_or_default(), model_id.unwrap_or_default());
    authorize_no_resource(app, caller, "bedrock:CreateFoundationModelAgreement", inc)?;
    let region = caller.region.as_str();
    let account = caller.identity.account.as_str();
    let model = listed_model(app, model_id, region)?;
    if token != offer_token(&model.id, region) {
        return Err(ApiError::validation(format!(
            "The provided offer token is not valid for model {} in {region}. Get the current offer token with ListFoundationModelAgreementOffers and try again.",
            model.id
        ))
        .into());
    }
    let now = app.now_unix();
    let state = app.snapshot();
    let mode = access_mode(&state, account);
    let acct = state.accounts.get(account).cloned().unwrap_or_default();
    let mut changes = Vec::new();

    // Automatic mode: accepting a Marketplace model's offer is what the first invocation would
    // otherwise do, so it starts the subscription, and needs the same Marketplace permissions.
    if mode == AccessMode::Automatic && model.marketplace {
        let key = Subscription::key(account, &model.id);
        let current = state
            .subscriptions
            .get(&key)
            .map(|s| s.status)
            .unwrap_or_default();
        if current == SubscriptionStatus::None {
            if !can_subscribe(app, caller, inc) {
                return Err(bg_gates::access::offer_needs_marketplace(&model.id).into());
            }
            let delay = acct.subscription_delay_secs.max(0);
            changes.push(Change::Put(Entity::Subscription(Subscription {
                account: account.to_string(),
                model_id: model.id.clone(),
                status: if delay == 0 {
                    SubscriptionStatus::Active
                } else {
                    SubscriptionStatus::Subscribing
                },
                active_at: Some(now + delay),
                failed_at: None,
            })));
        }
    }

    let mut r = record(&state, account, region, &model.id).unwrap_or_else(|| ModelAccess {
        account: account.to_string(),
        region: region.to_string(),
        model_id: model.id.clone(),
        ..ModelAccess::default()
    });
    r.agreement = AgreementStatus::Accepted;
    r.offer_token = Some(token.to_string());
    r.agreement_error = None;
    r.updated_unix = now;
    // Console mode: the agreement is also the access request; it is granted after the account's
    // grant delay (at once when 0). A grant already given stays.
    if mode == AccessMode::Console {
        let granted = r.grant == GrantStatus::Granted
            || (r.grant == GrantStatus::Pending && r.grant_at.is_some_and(|t| now >= t));
        if granted {
            r.grant = GrantStatus::Granted;
        } else if r.grant != GrantStatus::Pending {
            let delay = acct.grant_delay_secs.max(0);
            r.grant = if delay == 0 {
                GrantStatus::Granted
            } else {
                GrantStatus::Pending
            };
            r.grant_at = Some(now + delay);
        }
    }
    changes.push(Change::Put(Entity::ModelAccess(r)));
    drop(state);
    app.write(&changes).map_err(wire::internal)?;
    ok(202, json!({ "modelId": model.id }), inc)
}

/// The same test the runtime's first call makes: may the caller subscribe through Bedrock.
fn can_subscribe(app: &App, caller: &Caller, inc: &Incoming) -> bool {
    let via = bg_gates::decide::Resource::arn("*")
        .with("aws:CalledViaLast", "bedrock.amazonaws.com")
        .with_multi("aws:CalledVia", vec!["bedrock.amazonaws.com".into()]);
    [
        "aws-marketplace:Subscribe",
        "aws-marketplace:ViewSubscriptions",
    ]
    .iter()
    .all(|a| app.allowed(caller, inc, a, std::slice::from_ref(&via)))
}

pub fn delete_agreement(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let body = wire::body_object(inc)?;
    let model_id = wire::opt_str(&body, "modelId")?;
    let mut v = Violations::default();
    match model_id {
        None => v.null("modelId"),
        Some(m) => wire::check_model_id(&mut v, m),
    }
    v.into_result()?;
    authorize_no_resource(app, caller, "bedrock:DeleteFoundationModelAgreement", inc)?;
    let region = caller.region.as_str();
    let account = caller.identity.account.as_str();
    let model = listed_model(app, model_id.unwrap_or_default(), region)?;
    let state = app.snapshot();
    let mode = access_mode(&state, account);
    let existing = record(&state, account, region, &model.id).filter(|r| {
        r.agreement != AgreementStatus::None
            || (mode == AccessMode::Console && r.grant != GrantStatus::None)
    });
    let Some(mut r) = existing else {
        return Err(ApiError::new(
            "ResourceNotFoundException",
            404,
            format!(
                "No agreement exists for model {} in this account and Region.",
                model.id
            ),
        )
        .into());
    };
    r.agreement = AgreementStatus::None;
    r.offer_token = None;
    r.agreement_error = None;
    r.updated_unix = app.now_unix();
    let mut changes = Vec::new();
    match mode {
        // The agreement was the access request: access goes with it.
        AccessMode::Console => {
            r.grant = GrantStatus::None;
            r.grant_at = None;
        }
        // "Invoking the model will create the access again" (AWS): the subscription goes too,
        // so the next invocation runs the first-call path (subscribe, accept the EULA) again.
        AccessMode::Automatic if model.marketplace => {
            let key = Subscription::key(account, &model.id);
            if state.subscriptions.contains_key(&key) {
                changes.push(Change::Delete {
                    kind: "subscription",
                    id: key,
                });
            }
        }
        AccessMode::Automatic => {}
    }
    changes.push(Change::Put(Entity::ModelAccess(r)));
    drop(state);
    app.write(&changes).map_err(wire::internal)?;
    ok(202, json!({}), inc)
}

// ---------------------------------------------------------------------------------------------
// Use case form
// ---------------------------------------------------------------------------------------------

pub fn put_use_case(app: &App, caller: &Caller, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    use base64::Engine;
    let body = wire::body_object(inc)?;
    let Some(b64) = wire::opt_str(&body, "formData")? else {
        return Err(ApiError::missing_member("formData").into());
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| {
            ApiError::validation(
                "1 validation error detected: Value at 'formData' failed to satisfy constraint: Member must be a base64-encoded blob",
            )
        })?;
    let mut v = Violations::default();
    v.length(None, "formData", raw.len(), 10, 16384);
    v.into_result()?;
    authorize_no_resource(app, caller, "bedrock:PutUseCaseForModelAccess", inc)?;
    let uc = UseCase {
        account: caller.identity.account.clone(),
        form_data: base64::engine::general_purpose::STANDARD.encode(&raw),
        submitted_unix: app.now_unix(),
    };
    app.write(&[Change::Put(Entity::UseCase(uc))])
        .map_err(wire::internal)?;
    ok(201, json!({}), inc)
}

pub fn get_use_case(app: &App, caller: &Caller, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    authorize_no_resource(app, caller, "bedrock:GetUseCaseForModelAccess", inc)?;
    let state = app.snapshot();
    // The account's own form only; a form on file at the organization's management account
    // covers the members for invocation, but it is not theirs to read.
    match state.use_cases.get(&caller.identity.account) {
        Some(u) => ok(200, json!({ "formData": u.form_data }), inc),
        None => Err(ApiError::refused(bg_gates::access::no_use_case_on_file()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_tokens_are_long_stable_and_per_model_and_region() {
        let a = offer_token("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1");
        assert_eq!(a.len(), 128);
        assert_eq!(
            a,
            offer_token("anthropic.claude-3-haiku-20240307-v1:0", "us-east-1")
        );
        assert_ne!(
            a,
            offer_token("anthropic.claude-3-haiku-20240307-v1:0", "us-west-2")
        );
        assert_ne!(a, offer_token("cohere.command-r-v1:0", "us-east-1"));
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let id = offer_id("cohere.command-r-v1:0", "us-east-1");
        assert!(id.starts_with("offer-") && id.len() == 19);
    }

    #[test]
    fn rate_cards_have_input_and_output_for_text_models() {
        let c = bg_catalog::catalog();
        let haiku = c.model("anthropic.claude-3-haiku-20240307-v1:0").unwrap();
        let card = rate_card(haiku, "us-east-1");
        assert_eq!(card.len(), 2);
        assert_eq!(card[0]["price"], "0.00025");
        assert_eq!(card[1]["dimension"], "output_tokens");
        let embed = c.model("cohere.embed-english-v3").unwrap();
        assert_eq!(rate_card(embed, "us-east-1").len(), 1);
    }
}
