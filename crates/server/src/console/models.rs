//! Model access, per Region: every catalog model with its provider, modality and the status the
//! AWS console shows; requesting access (the provider's EULA in a modal, Anthropic's use-case
//! form) through the control-plane API as the signed-in principal.

use super::call::{enc, sdk_text};
use super::pages::frame;
use super::Cx;
use axum::body::Body;
use axum::http::{Method, Response};
use bg_catalog::{LifecycleStatus, Model};
use bg_gates::state::{AccessMode, AgreementStatus, GrantStatus, ModelAccess, SubscriptionStatus};
use bg_gates::State;
use maud::{html, Markup};

/// AWS console wording.
pub const GRANTED: &str = "Access granted";
pub const AVAILABLE: &str = "Available to request";
pub const IN_PROGRESS: &str = "In progress";
pub const DENIED: &str = "Access denied";
pub const NOT_IN_REGION: &str = "Not available in this Region";
pub const LEGACY: &str = "Legacy";
pub const END_OF_LIFE: &str = "End of life";

/// The Anthropic use-case form's fields as the AWS console asks them (the JSON keys
/// `PutUseCaseForModelAccess` receives in `formData`).
pub const USE_CASE_FIELDS: [(&str, &str); 6] = [
    ("companyName", "Company name"),
    ("companyWebsite", "Company website URL"),
    (
        "intendedUsers",
        "Intended users (0: internal employees, 1: external users, 2: both)",
    ),
    ("industryOption", "Industry"),
    ("otherIndustryOption", "Other industry (optional)"),
    ("useCases", "Describe your use cases"),
];

fn mode(state: &State, account: &str) -> AccessMode {
    state
        .accounts
        .get(account)
        .map(|a| a.access_mode)
        .unwrap_or_default()
}

/// The status cell of `model` for `account` in `region`, in AWS's words. A Legacy model that
/// was never granted shows "Legacy" (AWS no longer lets new users request it; our choice: it
/// can still be requested here, as the API allows).
pub fn status(state: &State, model: &Model, account: &str, region: &str, now: i64) -> &'static str {
    if !model.is_listed_in(region) {
        return NOT_IN_REGION;
    }
    if model.lifecycle == LifecycleStatus::EndOfLife {
        return END_OF_LIFE;
    }
    let rec = state
        .model_access
        .get(&ModelAccess::key(account, region, &model.id));
    let s = match mode(state, account) {
        AccessMode::Console => {
            let grant = rec.map(|r| r.grant).unwrap_or_default();
            let due = rec.and_then(|r| r.grant_at).is_some_and(|t| now >= t);
            match grant {
                GrantStatus::Granted => GRANTED,
                GrantStatus::Pending if due => GRANTED,
                GrantStatus::Pending => IN_PROGRESS,
                GrantStatus::None if rec.is_some_and(|r| r.agreement == AgreementStatus::Error) => {
                    DENIED
                }
                GrantStatus::None => AVAILABLE,
            }
        }
        AccessMode::Automatic => {
            let sub = state
                .subscriptions
                .get(&bg_gates::state::Subscription::key(account, &model.id));
            let active = sub.is_some_and(|s| {
                s.status == SubscriptionStatus::Active
                    || (s.status == SubscriptionStatus::Subscribing
                        && s.active_at.is_some_and(|t| now >= t))
            });
            let form_ok = !model.use_case_form || state.use_cases.get(account).is_some();
            if rec.is_some_and(|r| r.agreement == AgreementStatus::Error) {
                DENIED
            } else if sub.is_some_and(|s| s.status == SubscriptionStatus::Subscribing) && !active {
                IN_PROGRESS
            } else if (!model.marketplace || active) && form_ok {
                GRANTED
            } else {
                AVAILABLE
            }
        }
    };
    if model.lifecycle == LifecycleStatus::Legacy && s != GRANTED {
        LEGACY
    } else {
        s
    }
}

fn modality(m: &Model) -> String {
    let list =
        |v: &[bg_catalog::Modality]| v.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ");
    format!(
        "{} → {}",
        list(&m.input_modalities),
        list(&m.output_modalities)
    )
}

/// Automatic mode: what the first model call will do, and whether this principal may do it
/// (asked of the same decision engine, as the first call will).
fn first_call(cx: &Cx, state: &State, m: &Model) -> String {
    let account = &cx.session.account;
    let mut parts = Vec::new();
    if m.use_case_form && state.use_cases.get(account).is_none() {
        parts.push("refused until the Anthropic use-case form is submitted".to_string());
    }
    if m.marketplace {
        let active = state
            .subscriptions
            .get(&bg_gates::state::Subscription::key(account, &m.id))
            .is_some_and(|s| s.status != SubscriptionStatus::None);
        if !active {
            let may = super::gates::may_subscribe(cx, state);
            parts.push(format!(
                "starts the AWS Marketplace subscription and accepts the provider's EULA ({})",
                if may {
                    "you may: aws-marketplace:Subscribe is allowed"
                } else {
                    "you may not: aws-marketplace:Subscribe is not allowed for you"
                }
            ));
        }
    }
    if parts.is_empty() {
        parts.push("needs no subscription or form".into());
    }
    let arn = bg_gates::decide::Resource::arn(m.arn(&cx.region));
    let invoke = super::gates::may(cx, state, "bedrock:InvokeModel", std::slice::from_ref(&arn));
    parts.push(format!(
        "bedrock:InvokeModel is {} for you",
        if invoke { "allowed" } else { "not allowed" }
    ));
    parts.join("; ")
}

/// The Model access page. `notice`: results of a request just made.
pub async fn page(cx: &Cx<'_>, notice: Option<Markup>) -> Response<Body> {
    // The page's data is the principal's ListFoundationModels: refused, the page says why.
    let listed = cx
        .bedrock(Method::GET, "/foundation-models".into(), None)
        .await;
    if let Some((code, msg)) = listed.error() {
        return frame(
            cx,
            "Model access",
            html! { p.error role="alert" { (sdk_text(&code, "ListFoundationModels", &msg)) } },
        );
    }
    let state = cx.app.snapshot_arc();
    let now = cx.app.now_unix();
    let account = &cx.session.account;
    let auto = mode(&state, account) == AccessMode::Automatic;
    let mut models: Vec<&Model> = cx.app.catalog.models.iter().collect();
    models.sort_by(|a, b| (&a.provider, &a.name).cmp(&(&b.provider, &b.name)));
    let body = html! {
        @if let Some(n) = notice { (n) }
        p #access-mode {
            "Account " (account) " model access mode: "
            strong { @if auto { "automatic" } @else { "console" } }
            @if auto { " (models are enabled on first use; below, what the first call will do)." }
            @else { " (request access for each model; a request stays In progress until granted)." }
        }
        form #request-form method="get" action="/console/models/request" {
            input type="hidden" name="region" value=(cx.region);
            table #models {
                thead { tr {
                    th { "" } th { "Model" } th { "Provider" } th { "Modality" } th { "Access status" }
                    @if auto { th { "On first call" } }
                } }
                tbody {
                    @for m in &models {
                        @let s = status(&state, m, account, &cx.region, now);
                        tr data-model=(m.id) {
                            td { @if s == AVAILABLE || s == LEGACY || s == DENIED {
                                input type="checkbox" name="model" value=(m.id) id={"pick-" (m.id)};
                            } }
                            td { label for={"pick-" (m.id)} { (m.name) } br; code { (m.id) } }
                            td { (m.provider) }
                            td { (modality(m)) }
                            td.status data-status=(s) { (s) }
                            @if auto { td.first-call { @if s != NOT_IN_REGION && s != END_OF_LIFE { (first_call(cx, &state, m)) } } }
                        }
                    }
                }
            }
            button #request-access type="submit" { "Request model access" }
        }
    };
    frame(cx, "Model access", body)
}

/// The request review: the chosen models, each provider's EULA in a modal to accept, and
/// Anthropic's use-case form when a chosen model needs it and the account has none on file.
pub fn request_page(cx: &Cx) -> Response<Body> {
    let chosen: Vec<&Model> = cx
        .req
        .query
        .iter()
        .filter(|(k, _)| k == "model")
        .filter_map(|(_, v)| cx.app.catalog.model(v))
        .collect();
    if chosen.is_empty() {
        return super::redirect(&format!("/console/models?region={}", cx.region));
    }
    let state = cx.app.snapshot_arc();
    let needs_form = chosen.iter().any(|m| m.use_case_form)
        && state.use_cases.get(&cx.session.account).is_none();
    let body = html! {
        form #submit-request method="post" action="/console/models/request" {
            input type="hidden" name="csrf" value=(cx.session.csrf);
            input type="hidden" name="region" value=(cx.region);
            ul #chosen { @for m in &chosen {
                li { (m.provider) " " (m.name) " " code { (m.id) }
                     input type="hidden" name="model" value=(m.id); }
            } }
            @if needs_form {
                fieldset #use-case {
                    legend { "Anthropic: submit use case details" }
                    @for (name, label) in USE_CASE_FIELDS {
                        label { (label)
                            @if name == "useCases" { textarea name=(name) id={"uc-" (name)} required {} }
                            @else { input name=(name) id={"uc-" (name)} required[name != "otherIndustryOption"]; }
                        }
                    }
                }
            }
            dialog #eula open {
                h2 { "End user license agreements" }
                p { "By accepting, you agree to each provider's EULA for the models above (the offer's legal terms)." }
                ul { @for m in &chosen { li { (m.provider) ": " a href={"#eula-" (enc(&m.id))} { "EULA" } } } }
                label { input #eula-accept type="checkbox" name="eula" value="accepted" required; " I accept the EULAs" }
                button #eula-ok type="button" { "Accept" }
            }
            button #submit type="submit" { "Submit" }
        }
    };
    frame(cx, "Request model access", body)
}

/// Submit: the use-case form (PutUseCaseForModelAccess), then per model its offer
/// (ListFoundationModelAgreementOffers) and the agreement (CreateFoundationModelAgreement), all
/// as the principal. Each outcome is shown on the Model access page.
pub async fn submit(cx: &Cx<'_>) -> Response<Body> {
    if cx.req.f("eula") != Some("accepted") {
        return super::pages::message_page(
            cx,
            "Request model access",
            "Accept the providers' EULAs to request access.",
        );
    }
    let mut results: Vec<(String, Result<(), String>)> = Vec::new();
    if cx.req.f("companyName").is_some() {
        let mut form = serde_json::Map::new();
        for (name, _) in USE_CASE_FIELDS {
            form.insert(
                name.into(),
                serde_json::Value::String(cx.req.f(name).unwrap_or("").to_string()),
            );
        }
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD
            .encode(serde_json::Value::Object(form).to_string());
        let body = serde_json::json!({ "formData": data })
            .to_string()
            .into_bytes();
        let a = cx
            .bedrock(
                Method::POST,
                "/use-case-for-model-access".into(),
                Some(body),
            )
            .await;
        let r = match a.error() {
            Some((c, m)) => Err(sdk_text(&c, "PutUseCaseForModelAccess", &m)),
            None => Ok(()),
        };
        results.push(("Anthropic use case".into(), r));
    }
    for id in cx.req.f_all("model") {
        results.push((id.to_string(), request_one(cx, id).await));
    }
    let notice = html! {
        ul #request-results { @for (what, r) in &results {
            @match r {
                Ok(()) => li.ok { (what) ": request submitted" },
                Err(e) => li.error role="alert" { (what) ": " (e) },
            }
        } }
    };
    page(cx, Some(notice)).await
}

async fn request_one(cx: &Cx<'_>, id: &str) -> Result<(), String> {
    let a = cx
        .bedrock(
            Method::GET,
            format!("/list-foundation-model-agreement-offers/{}", enc(id)),
            None,
        )
        .await;
    if let Some((c, m)) = a.error() {
        return Err(sdk_text(&c, "ListFoundationModelAgreementOffers", &m));
    }
    let v = a.json();
    let Some(token) = v["offers"][0]["offerToken"].as_str() else {
        // A model without an offer (not sold through Marketplace): its access needs no agreement
        // on AWS, but in console mode the agreement is the request; no offer, nothing to do.
        return Ok(());
    };
    let body = serde_json::json!({ "offerToken": token, "modelId": id })
        .to_string()
        .into_bytes();
    let a = cx
        .bedrock(
            Method::POST,
            "/create-foundation-model-agreement".into(),
            Some(body),
        )
        .await;
    match a.error() {
        Some((c, m)) => Err(sdk_text(&c, "CreateFoundationModelAgreement", &m)),
        None => Ok(()),
    }
}
