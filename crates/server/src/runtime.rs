//! restJson1 routing for bedrock-runtime and the bedrock control plane, and the runtime
//! operations: Converse, InvokeModel, CountTokens.

use crate::auth::{self, Caller, Proto};
use crate::error::ApiError;
use crate::{json_response, render, App, Incoming};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Response};
use bg_backends::native::{self, NativeRequest};
use bg_catalog::Model;
use bg_gates::decide::{AwsError, Counted, Invoke, InvokeKind, Operation, Payload};
use bg_gates::{Deny, Plan};
use std::cell::OnceCell;
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

/// One restJson1 operation as the service models declare it: its name, HTTP method and URI
/// (`{}` stands for the one label: a model ID or ARN, a profile ID or ARN). Every operation is
/// declared here once; routing and names read this table.
pub struct OpSpec {
    pub op: Op,
    pub name: &'static str,
    pub method: Method,
    pub uri: &'static str,
}

const fn spec(op: Op, name: &'static str, method: Method, uri: &'static str) -> OpSpec {
    OpSpec {
        op,
        name,
        method,
        uri,
    }
}

pub static OPERATIONS: &[OpSpec] = &[
    spec(Op::Converse, "Converse", Method::POST, "/model/{}/converse"),
    spec(
        Op::ConverseStream,
        "ConverseStream",
        Method::POST,
        "/model/{}/converse-stream",
    ),
    spec(
        Op::InvokeModel,
        "InvokeModel",
        Method::POST,
        "/model/{}/invoke",
    ),
    spec(
        Op::InvokeModelWithResponseStream,
        "InvokeModelWithResponseStream",
        Method::POST,
        "/model/{}/invoke-with-response-stream",
    ),
    spec(
        Op::CountTokens,
        "CountTokens",
        Method::POST,
        "/model/{}/count-tokens",
    ),
    spec(
        Op::ListFoundationModels,
        "ListFoundationModels",
        Method::GET,
        "/foundation-models",
    ),
    spec(
        Op::GetFoundationModel,
        "GetFoundationModel",
        Method::GET,
        "/foundation-models/{}",
    ),
    spec(
        Op::GetFoundationModelAvailability,
        "GetFoundationModelAvailability",
        Method::GET,
        "/foundation-model-availability/{}",
    ),
    spec(
        Op::ListFoundationModelAgreementOffers,
        "ListFoundationModelAgreementOffers",
        Method::GET,
        "/list-foundation-model-agreement-offers/{}",
    ),
    spec(
        Op::CreateFoundationModelAgreement,
        "CreateFoundationModelAgreement",
        Method::POST,
        "/create-foundation-model-agreement",
    ),
    spec(
        Op::DeleteFoundationModelAgreement,
        "DeleteFoundationModelAgreement",
        Method::POST,
        "/delete-foundation-model-agreement",
    ),
    spec(
        Op::PutUseCaseForModelAccess,
        "PutUseCaseForModelAccess",
        Method::POST,
        "/use-case-for-model-access",
    ),
    spec(
        Op::GetUseCaseForModelAccess,
        "GetUseCaseForModelAccess",
        Method::GET,
        "/use-case-for-model-access",
    ),
    spec(
        Op::ListInferenceProfiles,
        "ListInferenceProfiles",
        Method::GET,
        "/inference-profiles",
    ),
    spec(
        Op::CreateInferenceProfile,
        "CreateInferenceProfile",
        Method::POST,
        "/inference-profiles",
    ),
    spec(
        Op::GetInferenceProfile,
        "GetInferenceProfile",
        Method::GET,
        "/inference-profiles/{}",
    ),
    spec(
        Op::DeleteInferenceProfile,
        "DeleteInferenceProfile",
        Method::DELETE,
        "/inference-profiles/{}",
    ),
    spec(
        Op::GetModelInvocationLoggingConfiguration,
        "GetModelInvocationLoggingConfiguration",
        Method::GET,
        "/logging/modelinvocations",
    ),
    spec(
        Op::PutModelInvocationLoggingConfiguration,
        "PutModelInvocationLoggingConfiguration",
        Method::PUT,
        "/logging/modelinvocations",
    ),
    spec(
        Op::DeleteModelInvocationLoggingConfiguration,
        "DeleteModelInvocationLoggingConfiguration",
        Method::DELETE,
        "/logging/modelinvocations",
    ),
];

impl Op {
    /// Answers with an event stream (and so meets the stream faults).
    pub fn streams(self) -> bool {
        matches!(self, Op::ConverseStream | Op::InvokeModelWithResponseStream)
    }

    /// The model calls (bedrock-runtime's operations on `/model/{}/…`).
    pub fn is_model_call(self) -> bool {
        self.invoke_kind().is_some()
    }

    pub fn name(self) -> &'static str {
        OPERATIONS
            .iter()
            .find(|s| s.op == self)
            .map(|s| s.name)
            .unwrap_or("-")
    }
}

/// The raw path's segments against a URI of [`OPERATIONS`]: the label's raw text when they match.
fn match_uri<'p>(uri: &str, path: &'p str) -> Option<Option<&'p str>> {
    let mut label = None;
    let mut have = path.split('/');
    for want in uri.split('/') {
        let got = have.next()?;
        if want == "{}" {
            if got.is_empty() {
                return None;
            }
            label = Some(got);
        } else if want != got {
            return None;
        }
    }
    have.next().is_none().then_some(label)
}

/// Route by method and raw path. Labels are percent-decoded here (SDKs encode ':' and '/' in
/// model IDs and ARNs).
pub fn route(method: &Method, path: &str) -> Option<(Op, Option<String>)> {
    OPERATIONS
        .iter()
        .filter(|s| s.method == *method)
        .find_map(|s| match_uri(s.uri, path).map(|label| (s.op, label)))
        .map(|(op, label)| {
            let label = label.map(|l| {
                // Decoded into one buffer of the label's size (the decoder's own collect grows
                // its buffer from empty).
                let mut raw = Vec::with_capacity(l.len());
                raw.extend(percent_encoding::percent_decode_str(l));
                String::from_utf8(raw)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            });
            (op, label)
        })
}

pub async fn handle_json(app: &std::sync::Arc<App>, inc: &Incoming) -> Response<Body> {
    // The OpenAI-compatible routes: not in the service model, answered in OpenAI's shapes.
    if crate::openai::serves(&inc.path) {
        return crate::openai::handle(app, inc).await;
    }
    let rid = inc.request_id.as_str();
    let routed = inc.route();
    let op_name = routed.as_ref().map(|(o, _)| o.name()).unwrap_or("-");

    let parsed = auth::parse(inc);
    let catalog = app.catalog;
    let caller = match auth::authenticate_unnoted(
        app,
        inc,
        &parsed,
        "bedrock",
        &|region| catalog.region(region).is_some(),
        Proto::Json,
    ) {
        Ok(c) => c,
        Err(e) => return render(app, Proto::Json, &e, rid, op_name, None),
    };
    let resp = answer_authenticated(app, inc, &caller, routed).await;
    // Noted for the CloudTrail event once the handler is done with the caller (moved, not
    // copied); nothing reads the note before the call is answered.
    inc.trail.authenticated_by(caller);
    resp
}

async fn answer_authenticated(
    app: &std::sync::Arc<App>,
    inc: &Incoming,
    caller: &Caller,
    routed: Option<(Op, Option<&str>)>,
) -> Response<Body> {
    let rid = inc.request_id.as_str();

    let Some((op, label)) = routed else {
        // AWS's answer when a client calls an operation the endpoint doesn't have.
        let e = ApiError::validation("The requested operation is not recognized by the service.");
        return render(app, Proto::Json, &e, rid, "-", None);
    };
    let label = label.unwrap_or_default();
    let result = match op {
        Op::Converse => converse(app, caller, label, inc).await,
        Op::InvokeModel => invoke_model(app, caller, label, inc).await,
        Op::CountTokens => count_tokens(app, caller, label, inc),
        Op::ListFoundationModels => crate::control::list_foundation_models(app, caller, inc),
        Op::GetFoundationModel => crate::control::get_foundation_model(app, caller, label, inc),
        Op::ConverseStream => converse_stream(app, caller, label, inc).await,
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
            crate::access_api::handle(app, caller, op, label, inc)
        }
        Op::InvokeModelWithResponseStream => invoke_stream(app, caller, label, inc).await,
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

impl Op {
    /// The model operations, as the gates know them.
    fn invoke_kind(self) -> Option<InvokeKind> {
        Some(match self {
            Op::Converse => InvokeKind::Converse,
            Op::ConverseStream => InvokeKind::ConverseStream,
            Op::InvokeModel => InvokeKind::InvokeModel,
            Op::InvokeModelWithResponseStream => InvokeKind::InvokeModelWithResponseStream,
            Op::CountTokens => InvokeKind::CountTokens,
            _ => return None,
        })
    }
}

/// Every gate for one model call, through `gates::decide`; an admitted inference call goes to
/// the invocation log with the Region that serves it.
fn admit<'a>(
    app: &'a App,
    caller: &'a Caller,
    inc: &Incoming,
    op: Op,
    model_id: &str,
    payload: &dyn Payload,
) -> Result<Plan<'a>, Refusal> {
    let kind = op
        .invoke_kind()
        .ok_or_else(|| ApiError::new("InternalFailure", 500, "not a model operation"))?;
    let plan = app.decide(
        caller,
        inc,
        Proto::Json,
        Operation::Invoke(Invoke {
            kind,
            model_id,
            payload,
        }),
    )?;
    record_admitted(app, inc, caller, op.name(), model_id, &plan, kind.infers());
    Ok(plan)
}

/// What an admitted model call leaves behind: its CloudTrail note and, when it runs inference,
/// its invocation-log entry (the Region that served it). Every runtime face records through here.
pub(crate) fn record_admitted(
    app: &App,
    inc: &Incoming,
    caller: &Caller,
    operation: &'static str,
    model_id: &str,
    plan: &Plan,
    infers: bool,
) {
    let Some(target) = &plan.target else {
        return;
    };
    crate::cloudtrail::record::note_admitted(inc, caller, target, plan.serving_region.as_ref());
    if infers {
        app.invocations.push(crate::audit::Invocation {
            time: app.now_unix(),
            request_id: inc.request_id.clone(),
            operation,
            account: caller.identity.account.clone(),
            model_id: model_id.to_string(),
            model: target.model.id.clone(),
            inference_profile: target
                .profile
                .map(|p| p.id.clone())
                .or_else(|| target.app.as_ref().map(|a| a.arn.clone())),
            source_region: caller.region.clone(),
            served_region: plan
                .serving_region
                .clone()
                .unwrap_or_else(|| caller.region.clone()),
        });
    }
}

/// The model an admitted plan resolved to.
fn model_of<'a>(plan: &Plan<'a>) -> Result<&'a Model, Refusal> {
    plan.target
        .as_ref()
        .map(|t| t.model)
        .ok_or_else(|| ApiError::new("InternalFailure", 500, "no model resolved").into())
}

/// Output tokens (streamed ones too) feed the tokens-per-minute quota the call was charged to.
fn record_output(app: &App, plan: &Plan, output_tokens: u32) {
    if let Some(key) = &plan.quota_key {
        app.meter
            .record_output(key, u64::from(output_tokens), app.now_unix());
    }
}

/// A native InvokeModel body, read for the model the gates resolved (once: the decoded request
/// is kept for the backend).
struct NativeBody<'b> {
    body: &'b [u8],
    streaming: bool,
    decoded: OnceCell<NativeRequest>,
}

impl<'b> NativeBody<'b> {
    fn new(body: &'b [u8], streaming: bool) -> Self {
        NativeBody {
            body,
            streaming,
            decoded: OnceCell::new(),
        }
    }
}

impl Payload for NativeBody<'_> {
    fn input_tokens(&self, model: &Model) -> Result<u32, AwsError> {
        let req = native::decode_for_model(model.family, &model.id, self.body)
            .map_err(|e| AwsError::validation(e.to_string()))?;
        let tokens = match &req {
            NativeRequest::Completion(p) => bg_backends::count_prompt_tokens(p),
            NativeRequest::Embedding { .. } if self.streaming => {
                return Err(AwsError::validation(
                    bg_gates::checks::request::NO_STREAMING,
                ))
            }
            NativeRequest::Embedding { texts, .. } => {
                texts.iter().map(|t| bg_backends::count_tokens(t)).sum()
            }
        };
        let _ = self.decoded.set(req);
        Ok(tokens)
    }
}

impl NativeBody<'_> {
    fn take(self) -> Result<NativeRequest, Refusal> {
        self.decoded
            .into_inner()
            .ok_or_else(|| ApiError::new("InternalFailure", 500, "body not decoded").into())
    }
}

/// CountTokens' `input`: a Converse request or an InvokeModel body, counted for the model.
struct CountInput<'v>(&'v serde_json::Value);

impl Payload for CountInput<'_> {
    fn input_tokens(&self, model: &Model) -> Result<u32, AwsError> {
        let invalid = |e: ApiError| AwsError::validation(e.message);
        match (self.0.get("converse"), self.0.get("invokeModel")) {
            (Some(c), None) => {
                let prompt = crate::converse::parse_request(c).map_err(invalid)?;
                Ok(bg_backends::count_prompt_tokens(&prompt))
            }
            (None, Some(im)) => {
                let b64 = im.get("body").and_then(|b| b.as_str()).ok_or_else(|| {
                    invalid(ApiError::missing_member("input.invokeModel.body"))
                })?;
                use base64::Engine;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| AwsError::validation("Malformed input request: input.invokeModel.body is not base64, please reformat your input and try again."))?;
                NativeBody::new(&raw, false).input_tokens(model)
            }
            _ => Err(AwsError::validation(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have exactly one of: converse, invokeModel",
            )),
        }
    }
}

fn parse_json_body(inc: &Incoming) -> Result<serde_json::Value, ApiError> {
    parse_json(&inc.body)
}

/// A request body as JSON; an empty body is an empty object.
pub(crate) fn parse_json(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| {
        // AWS does not document the text for a body that is not JSON; we name the parse error.
        ApiError::validation(format!("Malformed input request: the request body is not valid JSON ({e}), please reformat your input and try again."))
    })
}

/// A Converse answer, through every gate, shared by Converse and ConverseStream.
enum Answer {
    Completion(bg_backends::Completion),
    Events(Vec<bg_backends::StreamEvent>),
}

struct Answered {
    answer: Answer,
    latency_ms: u64,
    fault: Option<bg_gates::quota::FaultRule>,
}

async fn answer_converse(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
    op: Op,
) -> Result<Answered, Refusal> {
    let started = Instant::now();
    let prompt = crate::converse::parse_request_bytes(&inc.body)?;
    let counted = Counted(bg_backends::count_prompt_tokens(&prompt));
    let plan = admit(app, caller, inc, op, model_id, &counted)?;
    let model = model_of(&plan)?;
    structured_output_supported(&model.id, &prompt, bg_backends::structured::UNSUPPORTED)?;
    document_names_valid(&prompt)?;
    let backend = app.backends.for_model(&model.id);
    let answer = if op == Op::ConverseStream {
        // The backend's event stream, gathered: its usage event charges the output tokens.
        let events = gather(backend.stream(&model.id, &prompt)).await?;
        let output = events.iter().find_map(|e| match e {
            bg_backends::StreamEvent::Usage(u) => Some(u.output_tokens),
            _ => None,
        });
        record_output(app, &plan, output.unwrap_or(0));
        Answer::Events(events)
    } else {
        let c = backend
            .complete(&model.id, &prompt)
            .await
            .map_err(backend_error)?;
        record_output(app, &plan, c.usage.output_tokens);
        Answer::Completion(c)
    };
    Ok(Answered {
        answer,
        latency_ms: started.elapsed().as_millis() as u64,
        fault: plan.stream_fault,
    })
}

/// Every event of a backend's stream, or its first error.
async fn gather(
    mut events: bg_backends::EventStream<'_>,
) -> Result<Vec<bg_backends::StreamEvent>, Refusal> {
    let mut out = Vec::new();
    while let Some(e) = std::future::poll_fn(|cx| events.as_mut().poll_next(cx)).await {
        out.push(e.map_err(backend_error)?);
    }
    Ok(out)
}

async fn converse(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let a = answer_converse(app, caller, model_id, inc, Op::Converse).await?;
    let Answer::Completion(c) = &a.answer else {
        return Err(ApiError::new("InternalFailure", 500, "no completion").into());
    };
    let out = crate::converse::response_bytes(c, a.latency_ms);
    // A logged call's answer is handed to its record as it is sent (with the usage it holds),
    // not read back from the response (cloudtrail.rs, `finish`); the configuration looked up
    // here is the one the record uses.
    let account = &caller.identity.account;
    let config = crate::cloudtrail::invocation::config(app, account, &caller.region);
    if config.is_none() {
        inc.trail.logging(None, None);
        return Ok(json_response(200, out, &inc.request_id));
    }
    let out = bytes::Bytes::from(out);
    let answer = crate::cloudtrail::invocation::Answer {
        bytes: out.clone(),
        usage: (
            u64::from(c.usage.input_tokens),
            u64::from(c.usage.output_tokens),
        ),
    };
    inc.trail.logging(config, Some(answer));
    Ok(json_response(200, out, &inc.request_id))
}

async fn converse_stream(
    app: &std::sync::Arc<App>,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    if let Some(live) = live_converse_stream(app, caller, model_id, inc).await? {
        return Ok(live);
    }
    let a = answer_converse(app, caller, model_id, inc, Op::ConverseStream).await?;
    let Answer::Events(events) = a.answer else {
        return Err(ApiError::new("InternalFailure", 500, "no events").into());
    };
    let frames = crate::stream::converse_frames(events, a.latency_ms).with_fault(a.fault);
    Ok(crate::stream::response(
        frames,
        app.stream_pace(),
        &inc.request_id,
        &[],
    ))
}

/// ConverseStream from a backend that streams live (an upstream): admitted by the gates, then
/// the backend's stream runs in its own task and each event is framed as it arrives. An error
/// before the first event is an HTTP error; after it, an in-stream exception. `None` when the
/// model's backend is not live (the scripted stream keeps its paced path).
async fn live_converse_stream(
    app: &std::sync::Arc<App>,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Option<Response<Body>>, Refusal> {
    // Which backend answers is known only once the gates resolved the model; with no live
    // backend configured at all the scripted, paced path stays exactly as it was.
    if !app.backends.any_live() {
        return Ok(None);
    }
    let started = Instant::now();
    let prompt = crate::converse::parse_request_bytes(&inc.body)?;
    let backend_live = |id: &str| app.backends.for_model(id).streams_live();
    let counted = Counted(bg_backends::count_prompt_tokens(&prompt));
    let plan = admit(app, caller, inc, Op::ConverseStream, model_id, &counted)?;
    let model = model_of(&plan)?;
    structured_output_supported(&model.id, &prompt, bg_backends::structured::UNSUPPORTED)?;
    document_names_valid(&prompt)?;
    if !backend_live(&model.id) {
        // Admitted already: answer from the gathered stream of the non-live backend.
        let events = gather(app.backends.for_model(&model.id).stream(&model.id, &prompt)).await?;
        record_output(app, &plan, usage_output(&events));
        let frames = crate::stream::converse_frames(events, started.elapsed().as_millis() as u64)
            .with_fault(plan.stream_fault);
        return Ok(Some(crate::stream::response(
            frames,
            app.stream_pace(),
            &inc.request_id,
            &[],
        )));
    }
    let (first, rx) = start_live(app, &model.id, prompt).await?;
    Ok(Some(crate::stream::live_response(
        first,
        rx,
        started,
        plan.stream_fault.clone(),
        meter_output(app, &plan),
        Box::new(crate::stream::ConverseFramer),
        &inc.request_id,
        &[],
    )))
}

/// Runs a live backend's stream in its own task (it outlives the request handler) and waits
/// for its first event: an error before it is the call's HTTP error.
async fn start_live(
    app: &App,
    model_id: &str,
    prompt: bg_backends::Prompt,
) -> Result<(bg_backends::StreamEvent, crate::stream::LiveEvents), Refusal> {
    let backend = app.backends.shared(model_id).clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let id = model_id.to_string();
    tokio::spawn(async move {
        let mut events = backend.stream(&id, &prompt);
        while let Some(item) = std::future::poll_fn(|cx| events.as_mut().poll_next(cx)).await {
            let end = item.is_err();
            if tx.send(item).await.is_err() || end {
                break;
            }
        }
    });
    match rx.recv().await {
        Some(Ok(ev)) => Ok((ev, rx)),
        Some(Err(e)) => Err(backend_error(e).into()),
        None => Err(ApiError::new("InternalFailure", 500, "no events").into()),
    }
}

/// The streamed usage event charges the output tokens to the quota the call was counted in.
fn meter_output(app: &std::sync::Arc<App>, plan: &Plan) -> Box<dyn FnOnce(u32) + Send> {
    let meter_app = app.clone();
    let quota_key = plan.quota_key.clone();
    Box::new(move |output: u32| {
        if let Some(key) = &quota_key {
            meter_app
                .meter
                .record_output(key, u64::from(output), meter_app.now_unix());
        }
    })
}

fn usage_output(events: &[bg_backends::StreamEvent]) -> u32 {
    events
        .iter()
        .find_map(|e| match e {
            bg_backends::StreamEvent::Usage(u) => Some(u.output_tokens),
            _ => None,
        })
        .unwrap_or(0)
}

async fn invoke_stream(
    app: &std::sync::Arc<App>,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let payload = NativeBody::new(&inc.body, true);
    let plan = admit(
        app,
        caller,
        inc,
        Op::InvokeModelWithResponseStream,
        model_id,
        &payload,
    )?;
    let model = model_of(&plan)?;
    let NativeRequest::Completion(prompt) = payload.take()? else {
        return Err(ApiError::validation(bg_gates::checks::request::NO_STREAMING).into());
    };
    structured_output_supported(
        &model.id,
        &prompt,
        bg_backends::structured::UNSUPPORTED_NATIVE,
    )?;
    if app.backends.for_model(&model.id).streams_live() && native::LiveChunks::streams(model.family)
    {
        // An upstream: each of its events becomes the family's native chunks as it arrives.
        let started = Instant::now();
        let chunks = native::LiveChunks::new(
            model.family,
            &model.id,
            &inc.request_id,
            bg_backends::count_prompt_tokens(&prompt),
        );
        let (first, rx) = start_live(app, &model.id, prompt).await?;
        return Ok(crate::stream::live_response(
            first,
            rx,
            started,
            plan.stream_fault.clone(),
            meter_output(app, &plan),
            Box::new(crate::stream::NativeFramer::new(chunks)),
            &inc.request_id,
            &[("x-amzn-bedrock-content-type", "application/json")],
        ));
    }
    let c = app
        .backends
        .for_model(&model.id)
        .complete(&model.id, &prompt)
        .await
        .map_err(backend_error)?;
    record_output(app, &plan, c.usage.output_tokens);
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
    let frames = crate::stream::invoke_frames(chunks).with_fault(plan.stream_fault);
    Ok(crate::stream::response(
        frames,
        app.stream_pace(),
        &inc.request_id,
        &[("x-amzn-bedrock-content-type", "application/json")],
    ))
}

/// A schema for the answer (structured output) on a model that does not take one is refused
/// before any backend is asked. The gates have already admitted the call (the request is
/// well-formed and allowed); this is the model's capability, checked as Bedrock's runtime does
/// after authorization.
fn structured_output_supported(
    model_id: &str,
    prompt: &bg_backends::Prompt,
    message: &str,
) -> Result<(), ApiError> {
    match &prompt.output_schema {
        Some(_) if !bg_backends::structured::supports_structured_output(model_id) => {
            Err(ApiError::validation(message))
        }
        _ => Ok(()),
    }
}

/// Bedrock's text when a Converse document's name has a character outside its set (the
/// service model's DocumentBlock documentation; the text as the runtime sends it).
pub const DOCUMENT_NAME: &str = "The document file name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character. Check that the file name conforms to these restrictions and retry your request.";

/// Converse document names: ASCII letters and digits, single spaces, hyphens, parentheses and
/// square brackets. Observed beyond the documented set: `_` is accepted; a dot, a tab, a
/// non-ASCII letter or space, and two spaces in a row are refused. Checked after the gates,
/// before any backend is asked, like the runtime's other checks of content.
fn document_names_valid(prompt: &bg_backends::Prompt) -> Result<(), ApiError> {
    fn name_ok(name: &str) -> bool {
        let allowed = |c: char| c.is_ascii_alphanumeric() || " -()[]_".contains(c);
        name.chars().all(allowed) && !name.contains("  ")
    }
    fn blocks_ok(blocks: &[bg_backends::Block]) -> bool {
        blocks.iter().all(|b| match b {
            bg_backends::Block::Document { name, .. } => name_ok(name),
            bg_backends::Block::ToolResult { content, .. } => blocks_ok(content),
            _ => true,
        })
    }
    if prompt.messages.iter().all(|m| blocks_ok(&m.content)) {
        Ok(())
    } else {
        Err(ApiError::validation(DOCUMENT_NAME))
    }
}

/// The error codes a Bedrock upstream may answer with that pass through unchanged (the
/// bedrock-runtime service model's errors, and the signature and token errors every AWS
/// endpoint sends); any other code becomes an InternalServerException.
const AWS_RUNTIME_ERRORS: &[&str] = &[
    "AccessDeniedException",
    "ValidationException",
    "ResourceNotFoundException",
    "ThrottlingException",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelErrorException",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "ExpiredTokenException",
    "MissingAuthenticationTokenException",
    "SignatureDoesNotMatch",
];

pub fn backend_error(e: bg_backends::BackendError) -> ApiError {
    use bg_backends::BackendError as B;
    match e {
        B::Validation(m) | B::Unsupported(m) => ApiError::validation(m),
        B::ModelError(m) => ApiError::new("ModelErrorException", 424, m),
        B::Unavailable(m) => ApiError::new("ServiceUnavailableException", 503, m),
        B::Timeout(m) => ApiError::new("ModelTimeoutException", 408, m),
        // AWS's text for a model's own failure names its status and message; the wording is
        // SageMaker's model-error sentence, which Bedrock's ModelErrorException carries.
        // A Bedrock upstream's refusal comes back as it was: same code, status and message.
        B::Aws {
            code,
            status,
            message,
        } => match AWS_RUNTIME_ERRORS
            .iter()
            // An in-stream exception (`throttlingException`) before any event is the HTTP
            // error of the same name.
            .find(|c| c.eq_ignore_ascii_case(&code))
        {
            Some(c) => ApiError::new(c, status, message),
            None => ApiError::new("InternalServerException", 500, message),
        },
        B::Upstream { status, message } | B::ModelStream { status, message } => {
            let side = if status < 500 { "client" } else { "server" };
            let mut e = ApiError::new(
                "ModelErrorException",
                424,
                format!(
                    "Received {side} error ({status}) from the model with message \"{message}\"."
                ),
            );
            e.original_status = Some(status);
            e
        }
    }
}

async fn invoke_model(
    app: &App,
    caller: &Caller,
    model_id: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    let started = Instant::now();
    let payload = NativeBody::new(&inc.body, false);
    let plan = admit(app, caller, inc, Op::InvokeModel, model_id, &payload)?;
    let model = model_of(&plan)?;
    let rid = inc.request_id.as_str();
    let (bytes, input_tokens, output_tokens) = match payload.take()? {
        NativeRequest::Completion(prompt) => {
            structured_output_supported(
                &model.id,
                &prompt,
                bg_backends::structured::UNSUPPORTED_NATIVE,
            )?;
            let c = app
                .backends
                .for_model(&model.id)
                .complete(&model.id, &prompt)
                .await
                .map_err(backend_error)?;
            record_output(app, &plan, c.usage.output_tokens);
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
            let dims = dimensions
                .or(model
                    .embedding_dimensions
                    .as_ref()
                    .map(|d| d.default as usize))
                .unwrap_or(1024);
            let mut out = Vec::with_capacity(texts.len());
            for t in &texts {
                out.push(
                    app.backends
                        .for_model(&model.id)
                        .embed(&model.id, t, dims, normalize)
                        .await
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
    let plan = admit(
        app,
        caller,
        inc,
        Op::CountTokens,
        model_id,
        &CountInput(input),
    )?;
    let out = serde_json::json!({ "inputTokens": plan.input_tokens });
    Ok(json_response(
        200,
        out.to_string().into_bytes(),
        &inc.request_id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_operation_routes_to_itself() {
        for s in OPERATIONS {
            let path = s.uri.replace("{}", "amazon.nova-lite-v1%3A0");
            let (op, label) = route(&s.method, &path).unwrap_or_else(|| panic!("{}", s.name));
            assert_eq!(op, s.op, "{}", s.name);
            assert_eq!(op.name(), s.name);
            let want = s
                .uri
                .contains("{}")
                .then(|| "amazon.nova-lite-v1:0".to_string());
            assert_eq!(label, want, "{}", s.name);
        }
    }

    #[test]
    fn near_misses_do_not_route() {
        for (m, p) in [
            (Method::POST, "/model//converse"),
            (Method::POST, "/model/x/converse/extra"),
            (Method::GET, "/model/x/converse"),
            (Method::POST, "/model/x/chat"),
            (Method::GET, "/foundation-models/"),
            (Method::PATCH, "/inference-profiles"),
        ] {
            assert!(route(&m, p).is_none(), "{m} {p}");
        }
        assert_eq!(
            route(&Method::GET, "/inference-profiles/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile%2Fabc"),
            Some((
                Op::GetInferenceProfile,
                Some("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc".into())
            ))
        );
        // A label that does not decode to UTF-8 is read lossily; a bad escape stays as sent.
        assert_eq!(
            route(&Method::POST, "/model/caf%C3%A9%FF%zz/converse"),
            Some((Op::Converse, Some("caf\u{e9}\u{fffd}%zz".into())))
        );
    }
}
