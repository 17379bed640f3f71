//! restJson1 routing for bedrock-runtime and the bedrock control plane, and the runtime
//! operations: Converse, InvokeModel, CountTokens.

use crate::auth::{self, Caller, Proto};
use crate::error::ApiError;
use crate::query::credentials_deny;
use crate::{json_response, render, App, Incoming};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Response};
use bg_backends::native::{self, NativeRequest};
use bg_catalog::{LifecycleStatus as Lifecycle, Model};
use bg_gates::region::{self, Target};
use bg_gates::{Deny, Gate};
use std::time::Instant;

/// The operations this endpoint recognises, from the service models' URIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeModelWithResponseStream,
    CountTokens,
    ListFoundationModels,
    GetFoundationModel,
    GetFoundationModelAvailability,
    ListFoundationModelAgreementOffers,
    CreateFoundationModelAgreement,
    DeleteFoundationModelAgreement,
    PutUseCaseForModelAccess,
    GetUseCaseForModelAccess,
    ListInferenceProfiles,
    GetInferenceProfile,
    CreateInferenceProfile,
    DeleteInferenceProfile,
    GetModelInvocationLoggingConfiguration,
    PutModelInvocationLoggingConfiguration,
    DeleteModelInvocationLoggingConfiguration,
}

impl Op {
    /// Answers with an event stream (and so meets the stream faults).
    pub fn streams(self) -> bool {
        matches!(self, Op::ConverseStream | Op::InvokeModelWithResponseStream)
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Converse => "Converse",
            Op::ConverseStream => "ConverseStream",
            Op::InvokeModel => "InvokeModel",
            Op::InvokeModelWithResponseStream => "InvokeModelWithResponseStream",
            Op::CountTokens => "CountTokens",
            Op::ListFoundationModels => "ListFoundationModels",
            Op::GetFoundationModel => "GetFoundationModel",
            Op::GetFoundationModelAvailability => "GetFoundationModelAvailability",
            Op::ListFoundationModelAgreementOffers => "ListFoundationModelAgreementOffers",
            Op::CreateFoundationModelAgreement => "CreateFoundationModelAgreement",
            Op::DeleteFoundationModelAgreement => "DeleteFoundationModelAgreement",
            Op::PutUseCaseForModelAccess => "PutUseCaseForModelAccess",
            Op::GetUseCaseForModelAccess => "GetUseCaseForModelAccess",
            Op::ListInferenceProfiles => "ListInferenceProfiles",
            Op::GetInferenceProfile => "GetInferenceProfile",
            Op::CreateInferenceProfile => "CreateInferenceProfile",
            Op::DeleteInferenceProfile => "DeleteInferenceProfile",
            Op::GetModelInvocationLoggingConfiguration => "GetModelInvocationLoggingConfiguration",
            Op::PutModelInvocationLoggingConfiguration => "PutModelInvocationLoggingConfiguration",
            Op::DeleteModelInvocationLoggingConfiguration => {
                "DeleteModelInvocationLoggingConfiguration"
            }
        }
    }
}

/// Route by method and raw path. Labels are percent-decoded here (SDKs encode ':' and '/' in
/// model IDs and ARNs).
pub fn route(method: &Method, path: &str) -> Option<(Op, Option<String>)> {
    let segs: Vec<&str> = path.split('/').collect();
    let label = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    match (method, segs.as_slice()) {
        (&Method::POST, ["", "model", id, op]) if !id.is_empty() => {
            let op = match *op {
                "converse" => Op::Converse,
                "converse-stream" => Op::ConverseStream,
                "invoke" => Op::InvokeModel,
                "invoke-with-response-stream" => Op::InvokeModelWithResponseStream,
                "count-tokens" => Op::CountTokens,
                _ => return None,
            };
            Some((op, Some(label(id))))
        }
        (&Method::GET, ["", "foundation-models"]) => Some((Op::ListFoundationModels, None)),
        (&Method::GET, ["", "foundation-models", id]) if !id.is_empty() => {
            Some((Op::GetFoundationModel, Some(label(id))))
        }
        (&Method::GET, ["", "foundation-model-availability", id]) if !id.is_empty() => {
            Some((Op::GetFoundationModelAvailability, Some(label(id))))
        }
        (&Method::GET, ["", "list-foundation-model-agreement-offers", id]) if !id.is_empty() => {
            Some((Op::ListFoundationModelAgreementOffers, Some(label(id))))
        }
        (&Method::POST, ["", "create-foundation-model-agreement"]) => {
            Some((Op::CreateFoundationModelAgreement, None))
        }
        (&Method::POST, ["", "delete-foundation-model-agreement"]) => {
            Some((Op::DeleteFoundationModelAgreement, None))
        }
        (&Method::POST, ["", "use-case-for-model-access"]) => {
            Some((Op::PutUseCaseForModelAccess, None))
        }
        (&Method::GET, ["", "use-case-for-model-access"]) => {
            Some((Op::GetUseCaseForModelAccess, None))
        }
        (&Method::GET, ["", "inference-profiles"]) => Some((Op::ListInferenceProfiles, None)),
        (&Method::POST, ["", "inference-profiles"]) => Some((Op::CreateInferenceProfile, None)),
        (&Method::GET, ["", "inference-profiles", id]) if !id.is_empty() => {
            Some((Op::GetInferenceProfile, Some(label(id))))
        }
        (&Method::DELETE, ["", "inference-profiles", id]) if !id.is_empty() => {
            Some((Op::DeleteInferenceProfile, Some(label(id))))
        }
        (&Method::GET, ["", "logging", "modelinvocations"]) => {
            Some((Op::GetModelInvocationLoggingConfiguration, None))
        }
        (&Method::PUT, ["", "logging", "modelinvocations"]) => {
            Some((Op::PutModelInvocationLoggingConfiguration, None))
        }
        (&Method::DELETE, ["", "logging", "modelinvocations"]) => {
            Some((Op::DeleteModelInvocationLoggingConfiguration, None))
        }
        _ => None,
    }
}

pub async fn handle_json(app: &App, inc: &Incoming) -> Response<Body> {
    let rid = inc.request_id.as_str();
    let routed = route(&inc.method, &inc.path);
    let op_name = routed.as_ref().map(|(o, _)| o.name()).unwrap_or("-");

    let parsed = match inc.with_sig_request(|r| auth::parse(r, Proto::Json)) {
        Ok(p) => p,
        Err(e) => {
            let d = credentials_deny(&e);
            return render(app, Proto::Json, &e, rid, op_name, Some(&d));
        }
    };
    let state = app.snapshot();
    let catalog = app.catalog;
    let caller = match inc.with_sig_request(|r| {
        auth::verify(
            &app.verifier,
            &state,
            r,
            &parsed,
            "bedrock",
            &|region| catalog.region(region).is_some(),
            app.clocks(),
            Proto::Json,
        )
    }) {
        Ok(c) => c,
        Err(e) => {
            let d = credentials_deny(&e);
            return render(app, Proto::Json, &e, rid, op_name, Some(&d));
        }
    };
    drop(state);

    let Some((op, label)) = routed else {
        // AWS's answer when a client calls an operation the endpoint doesn't have.
        let e = ApiError::validation("The requested operation is not recognized by the service.");
        return render(app, Proto::Json, &e, rid, "-", None);
    };
    let label = label.unwrap_or_default();
    let result = match op {
        Op::Converse => converse(app, &caller, &label, inc),
        Op::InvokeModel => invoke_model(app, &caller, &label, inc),
        Op::CountTokens => count_tokens(app, &caller, &label, inc),
        Op::ListFoundationModels => crate::control::list_foundation_models(app, &caller, inc),
        Op::GetFoundationModel => crate::control::get_foundation_model(app, &caller, &label, inc),
        Op::ConverseStream => converse_stream(app, &caller, &label, inc),
        Op::GetFoundationModelAvailability
        | Op::ListFoundationModelAgreementOffers
        | Op::CreateFoundationModelAgreement
        | Op::DeleteFoundationModelAgreement
        | Op::PutUseCaseForModelAccess
        | Op::GetUseCaseForModelAccess
        | Op::ListInferenceProfiles
        | Op::GetInferenceProfile
        | Op::CreateInferenceProfile
        | Op::DeleteInferenceProfile
        | Op::GetModelInvocationLoggingConfiguration
        | Op::PutModelInvocationLoggingConfiguration
        | Op::DeleteModelInvocationLoggingConfiguration => {
            crate::access_api::handle(app, &caller, op, &label, inc)
        }
        Op::InvokeModelWithResponseStream => invoke_stream(app, &caller, &label, inc),
    };
    match result {
        Ok(resp) => resp,
        Err(r) => render(
            app,
            Proto::Json,
            &r.error,
            rid,
            op.name(),
            r.error.diagnosis.as_deref(),
        ),
    }
}

/// A refusal; where a gate decided it, the error carries the diagnosis.
pub struct Refusal {
    pub error: ApiError,
}

impl Refusal {
    pub fn plain(error: ApiError) -> Refusal {
        Refusal { error }
    }
}

impl From<Deny> for Refusal {
    fn from(d: Deny) -> Refusal {
        Refusal::plain(ApiError::refused(d))
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::plain(e)
    }
}

/// An application inference profile ARN of the caller's account, in the signed Region.
fn application_profile<'c>(app: &'c App, caller: &Caller, model_id: &str) -> Option<Target<'c>> {
    if !model_id.contains(":application-inference-profile/") {
        return None;
    }
    let state = app.snapshot();
    let p = state.app_profiles.get(model_id)?;
    if p.region != caller.region || p.account != caller.identity.account {
        return None;
    }
    let model = app.catalog.model(&p.model_id)?;
    Some(Target {
        model,
        profile: None,
        app: Some(bg_gates::region::AppTarget {
            arn: p.arn.clone(),
            model_arns: p.model_arns.clone(),
        }),
    })
}

/// Gate 3 and the lifecycle part of gate 1 (a model past its end of life is refused everywhere).
pub fn resolve_target<'c>(
    app: &'c App,
    caller: &Caller,
    model_id: &str,
) -> Result<Target<'c>, Refusal> {
    let target = match application_profile(app, caller, model_id) {
        Some(t) => t,
        None => region::resolve(app.catalog, model_id, &caller.region)?,
    };
    if target.model.lifecycle == Lifecycle::EndOfLife {
        return Err(Deny {
            gate: Gate::ModelAccess,
            error: "ResourceNotFoundException",
            status: 404,
            message: "This model version has reached the end of its life. Please refer to the AWS documentation for more details.".into(),
            reason: format!("{} has reached its end of life", target.model.id),
            fix: "move to a current model (`aws bedrock list-foundation-models`)".into(),
        }
        .into());
    }
    Ok(target)
}

/// Gate 2 for a runtime call: every ARN AWS checks (profile, source model, destinations).
pub fn authorize_invoke(
    app: &App,
    caller: &Caller,
    action: &str,
    target: &Target,
    inc: &Incoming,
) -> Result<(), Refusal> {
    let facts = app.facts(&caller.region, inc);
    let resources = bg_gates::invoke::invoke_resources(target, &caller.identity, &facts);
    let state = app.snapshot();
    bg_gates::authz::authorize(&state, &caller.identity, action, &resources)?;
    check_access(app, caller, target, inc)
}

/// Gates 1 and 4 after IAM: model access, the Anthropic form, the Marketplace subscription.
/// Writes what the call changed (a subscription started or refused) before answering.
fn check_access(
    app: &App,
    caller: &Caller,
    target: &Target,
    inc: &Incoming,
) -> Result<(), Refusal> {
    let state = app.snapshot();
    let serving = bg_gates::invoke::serving_region(target, &caller.region);
    let can_subscribe = || {
        let mut ctx =
            bg_gates::authz::base_context(&caller.identity, &app.facts(&caller.region, inc));
        ctx.set("aws:CalledViaLast", "bedrock.amazonaws.com");
        ctx.set_multi("aws:CalledVia", ["bedrock.amazonaws.com"]);
        [
            "aws-marketplace:Subscribe",
            "aws-marketplace:ViewSubscriptions",
        ]
        .iter()
        .all(|a| {
            bg_gates::authz::evaluate(&state, &caller.identity, a, "*", ctx.clone()).is_allowed()
        })
    };
    let facts = bg_gates::access::CallerFacts {
        account: &caller.identity.account,
        region: &caller.region,
        can_subscribe: &can_subscribe,
        now: app.now_unix(),
    };
    let _ = serving;
    let (changes, verdict) = bg_gates::access::check(&state, target.model, &facts);
    drop(state);
    if !changes.is_empty() {
        app.write(&changes).map_err(|e| {
            ApiError::new(
                "InternalServerException",
                500,
                format!("state write failed: {e}"),
            )
        })?;
    }
    verdict?;
    Ok(())
}

/// The throughput gate and scripted faults, after the access gates and before the backend.
/// The model call being admitted: what the throughput gate and the invocation log need.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub request_id: &'a str,
    pub op: Op,
    /// The `modelId` as called.
    pub model_id: &'a str,
}

/// Returns the quota key that admitted the call (its output tokens are added later), and the
/// stream fault to inject, if any.
pub fn throttle(
    app: &App,
    caller: &Caller,
    target: &Target,
    input_tokens: u32,
    call: Call,
) -> Result<(String, Option<bg_gates::quota::FaultRule>), Refusal> {
    let fault = app.faults.hit(&target.model.id, call.op.streams());
    if let Some(f) = &fault {
        if !f.kind.is_stream() {
            let (code, status, message) = f.kind.http_error();
            return Err(Deny {
                gate: Gate::Quota,
                error: code,
                status,
                message: message.to_string(),
                reason: format!(
                    "scripted fault '{:?}' for {} (every {} calls)",
                    f.kind, target.model.id, f.every
                ),
                fix: "this failure was injected by the scenario's [[fault]] entry".into(),
            }
            .into());
        }
    }
    let account = caller.identity.account.as_str();
    let now = app.now_unix();
    // A profile call may be served by any destination; the serving Region is tried first.
    let serving = bg_gates::invoke::serving_region(target, &caller.region).to_string();
    let mut regions = vec![serving.clone()];
    if let Some(p) = target.profile {
        regions.extend(
            p.destination_regions
                .iter()
                .filter(|r| **r != serving)
                .cloned(),
        );
    }
    let mut first_refusal = None;
    for region in &regions {
        let key = bg_gates::quota::Meter::key(account, region, &target.model.id);
        let limits = app.limits(account, region, target.model, target.profile.is_some());
        match app.meter.admit(&key, &limits, u64::from(input_tokens), now) {
            Ok(()) => {
                app.invocations.push(crate::audit::Invocation {
                    time: now,
                    request_id: call.request_id.to_string(),
                    operation: call.op.name(),
                    account: account.to_string(),
                    model_id: call.model_id.to_string(),
                    model: target.model.id.clone(),
                    inference_profile: target
                        .profile
                        .map(|p| p.id.clone())
                        .or_else(|| target.app.as_ref().map(|a| a.arn.clone())),
                    source_region: caller.region.clone(),
                    served_region: region.clone(),
                });
                return Ok((key, fault));
            }
            Err(e) => {
                first_refusal.get_or_insert_with(|| e.deny(&key, &limits));
            }
        }
    }
    Err(first_refusal.expect("at least one Region was tried").into())
}

const NOT_CHAT: &str =
    "This action doesn't support the model that you provided. Try again with a supported text or chat model.";

fn parse_json_body(inc: &Incoming) -> Result<serde_json::Value, ApiError> {
    if inc.body.is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    serde_json::from_slice(&inc.body).map_err(|e| {
        // AWS does not document the text for a body that is not JSON; we name the parse error.
        ApiError::validation(format!("Malformed input request: the request body is not valid JSON ({e}), please reformat your input and try again."))
    })
}

/// A Converse answer, through every gate, shared by Converse and ConverseStream.
struct Answered {
    completion: bg_backends::Completion,
    latency_ms: u64,
    fault: Option<bg_gates::quota::FaultRule>,
}

fn answer_converse(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
    streaming: bool,
) -> Result<Answered, Refusal> {
    let started = Instant::now();
    let body = parse_json_body(inc)?;
    let prompt = crate::converse::parse_request(&body)?;
    let target = resolve_target(app, caller, model_id)?;
    let action = if streaming {
        "bedrock:InvokeModelWithResponseStream"
    } else {
        "bedrock:InvokeModel"
    };
    authorize_invoke(app, caller, action, &target, inc)?;
    if !target.model.converse {
        return Err(ApiError::validation(NOT_CHAT).into());
    }
    let (key, fault) = throttle(
        app,
        caller,
        &target,
        bg_backends::count_prompt_tokens(&prompt),
        Call {
            request_id: &inc.request_id,
            op: if streaming {
                Op::ConverseStream
            } else {
                Op::Converse
            },
            model_id,
        },
    )?;
    let completion = app
        .backend
        .complete(&target.model.id, &prompt)
        .map_err(backend_error)?;
    // Output tokens (streamed ones too) feed the tokens-per-minute quota.
    app.meter.record_output(
        &key,
        u64::from(completion.usage.output_tokens),
        app.now_unix(),
    );
    Ok(Answered {
        completion,
        latency_ms: started.elapsed().as_millis() as u64,
        fault,
    })
}

fn converse(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let a = answer_converse(app, caller, model_id, inc, false)?;
    let out = crate::converse::render_response(&a.completion, a.latency_ms);
    Ok(json_response(
        200,
        out.to_string().into_bytes(),
        &inc.request_id,
    ))
}

fn converse_stream(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let a = answer_converse(app, caller, model_id, inc, true)?;
    let mut frames = crate::stream::converse_frames(&a.completion, a.latency_ms);
    inject_stream_fault(&mut frames, a.fault);
    Ok(crate::stream::response(
        frames,
        app.stream_pace(),
        &inc.request_id,
        &[],
    ))
}

fn invoke_stream(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let target = resolve_target(app, caller, model_id)?;
    authorize_invoke(
        app,
        caller,
        "bedrock:InvokeModelWithResponseStream",
        &target,
        inc,
    )?;
    let model: &Model = target.model;
    if !model.streaming {
        // AWS's text for a model without streaming is not documented; this is Bedrock's usual
        // wording for an operation a model does not support.
        return Err(ApiError::validation("The model is unsupported for streaming.").into());
    }
    let req = native::decode_for_model(model.family, &model.id, &inc.body)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let NativeRequest::Completion(prompt) = req else {
        return Err(ApiError::validation("The model is unsupported for streaming.").into());
    };
    let (key, fault) = throttle(
        app,
        caller,
        &target,
        bg_backends::count_prompt_tokens(&prompt),
        Call {
            request_id: &inc.request_id,
            op: Op::InvokeModelWithResponseStream,
            model_id,
        },
    )?;
    let c = app
        .backend
        .complete(&model.id, &prompt)
        .map_err(backend_error)?;
    app.meter
        .record_output(&key, u64::from(c.usage.output_tokens), app.now_unix());
    let texts: Vec<String> = c
        .content
        .iter()
        .filter_map(|b| match b {
            bg_backends::Block::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .flat_map(|t| native::split_text_chunks(t, crate::stream::WORDS_PER_DELTA))
        .collect();
    let chunks = native::encode_stream_chunks(model.family, &model.id, &c, &texts);
    let mut frames = crate::stream::invoke_frames(&chunks);
    inject_stream_fault(&mut frames, fault);
    Ok(crate::stream::response(
        frames,
        app.stream_pace(),
        &inc.request_id,
        &[("x-amzn-bedrock-content-type", "application/json")],
    ))
}

/// A scripted mid-stream failure: keep `after_frames` frames, then the exception frame.
fn inject_stream_fault(frames: &mut Vec<Vec<u8>>, fault: Option<bg_gates::quota::FaultRule>) {
    if let Some(f) = fault {
        let (kind, message) = f.kind.stream_exception();
        frames.truncate(f.after_frames.min(frames.len()));
        frames.push(crate::stream::exception_frame(kind, message));
    }
}

pub fn backend_error(e: bg_backends::BackendError) -> ApiError {
    use bg_backends::BackendError as B;
    match e {
        B::Validation(m) | B::Unsupported(m) => ApiError::validation(m),
        B::ModelError(m) => ApiError::new("ModelErrorException", 424, m),
        B::Unavailable(m) => ApiError::new("ServiceUnavailableException", 503, m),
        B::Timeout(m) => ApiError::new("ModelTimeoutException", 408, m),
    }
}

fn invoke_model(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let started = Instant::now();
    let target = resolve_target(app, caller, model_id)?;
    authorize_invoke(app, caller, "bedrock:InvokeModel", &target, inc)?;
    let model: &Model = target.model;
    let req = native::decode_for_model(model.family, &model.id, &inc.body)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let rid = inc.request_id.as_str();
    let call = Call {
        request_id: rid,
        op: Op::InvokeModel,
        model_id,
    };
    let (bytes, input_tokens, output_tokens) = match req {
        NativeRequest::Completion(prompt) => {
            let (key, _) = throttle(
                app,
                caller,
                &target,
                bg_backends::count_prompt_tokens(&prompt),
                call,
            )?;
            let c = app
                .backend
                .complete(&model.id, &prompt)
                .map_err(backend_error)?;
            app.meter
                .record_output(&key, u64::from(c.usage.output_tokens), app.now_unix());
            let (i, o) = (c.usage.input_tokens, c.usage.output_tokens);
            (
                native::encode_completion(model.family, &model.id, &prompt, &c, rid),
                i,
                o,
            )
        }
        NativeRequest::Embedding {
            texts,
            dimensions,
            normalize,
            input_type: _,
        } => {
            let tokens: u32 = texts.iter().map(|t| bg_backends::count_tokens(t)).sum();
            throttle(app, caller, &target, tokens, call)?;
            let dims = dimensions
                .or(model
                    .embedding_dimensions
                    .as_ref()
                    .map(|d| d.default as usize))
                .unwrap_or(1024);
            let mut out = Vec::with_capacity(texts.len());
            for t in &texts {
                out.push(
                    app.backend
                        .embed(&model.id, t, dims, normalize)
                        .map_err(backend_error)?,
                );
            }
            let i = out.iter().map(|e| e.input_tokens).sum();
            let types = native::requested_embedding_types(model.family, &inc.body);
            (
                native::encode_embedding_typed(model.family, &model.id, &out, &texts, &types, rid),
                i,
                0,
            )
        }
    };
    let mut resp = json_response(200, bytes, rid);
    let h = resp.headers_mut();
    // Not in the service model but sent by AWS on every InvokeModel response (bedrock-facts §1.3).
    h.insert(
        "x-amzn-bedrock-input-token-count",
        HeaderValue::from(input_tokens),
    );
    h.insert(
        "x-amzn-bedrock-output-token-count",
        HeaderValue::from(output_tokens),
    );
    h.insert(
        "x-amzn-bedrock-invocation-latency",
        HeaderValue::from(started.elapsed().as_millis() as u64),
    );
    Ok(resp)
}

fn count_tokens(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let body = parse_json_body(inc)?;
    let input = body
        .get("input")
        .ok_or_else(|| ApiError::missing_member("input"))?;
    // CountTokens runs no inference, so a model listed in the Region only through inference
    // profiles is counted by its bare ID too (AWS does not document this case; we choose to
    // accept it since the tokenizer is the model's, not the profile's).
    let target = match app.catalog.resolve(model_id, &caller.region) {
        bg_catalog::Resolution::ProfileOnly { model } => Target {
            model,
            profile: None,
            app: None,
        },
        _ => resolve_target(app, caller, model_id)?,
    };
    authorize_invoke(app, caller, "bedrock:CountTokens", &target, inc)?;
    if !target.model.count_tokens {
        // AWS's wording for a model without CountTokens is not documented (bedrock-facts §1.3).
        return Err(ApiError::validation(format!(
            "The provided model {} doesn't support counting tokens.",
            target.model.id
        ))
        .into());
    }
    let tokens = match (input.get("converse"), input.get("invokeModel")) {
        (Some(c), None) => {
            let prompt = crate::converse::parse_request(c)?;
            bg_backends::count_prompt_tokens(&prompt)
        }
        (None, Some(im)) => {
            let b64 = im
                .get("body")
                .and_then(|b| b.as_str())
                .ok_or_else(|| ApiError::missing_member("input.invokeModel.body"))?;
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| ApiError::validation("Malformed input request: input.invokeModel.body is not base64, please reformat your input and try again."))?;
            match native::decode_for_model(target.model.family, &target.model.id, &raw).map_err(|e| ApiError::validation(e.to_string()))? {
                NativeRequest::Completion(p) => bg_backends::count_prompt_tokens(&p),
                NativeRequest::Embedding { texts, .. } => texts.iter().map(|t| bg_backends::count_tokens(t)).sum(),
            }
        }
        _ => {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have exactly one of: converse, invokeModel",
            )
            .into())
        }
    };
    let out = serde_json::json!({ "inputTokens": tokens });
    Ok(json_response(
        200,
        out.to_string().into_bytes(),
        &inc.request_id,
    ))
}
