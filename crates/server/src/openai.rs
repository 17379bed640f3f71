//! bedrock-runtime's OpenAI-compatible Chat Completions: `POST /openai/v1/chat/completions`
//! (bedrock-api-keys-and-more §2), for the OpenAI models only (the gpt-oss models).
//!
//! A call is authenticated like every runtime call (`auth::authenticate`: SigV4 today, and
//! whatever the credentials gate accepts tomorrow) and goes through every gate as InvokeModel
//! does, by one `gates::decide` with an `Operation::Invoke`: `bedrock:InvokeModel` on the
//! foundation-model ARN (`stream: true`: `bedrock:InvokeModelWithResponseStream`), Region,
//! model access, quota. The body is the gpt-oss native dialect, read by the backends' chat
//! codec ([`bg_backends::native::chat_completions`]); the scripted backend answers it.
//!
//! Order of the checks: authentication; then the request's shape (JSON, `model`,
//! `messages`); then whether the model is served here; then Bedrock's reading of the body;
//! then the gates. AWS does not document this order; it is Converse's (a body is read before
//! the gates when its shape does not depend on the model).
//!
//! ## Errors (a choice: AWS documents no error body for this route)
//!
//! Every refusal is an OpenAI error object, so that OpenAI clients raise their usual typed
//! errors, with AWS's HTTP status:
//! `{"error": {"message", "type", "code", "param"}}`.
//! - What AWS refuses (authentication, every gate, Bedrock's validation of the body): `message`
//!   is AWS's exact text, and `type` and `code` are both the AWS error code
//!   (`AccessDeniedException`, `ValidationException`, …), so a client can switch on the same
//!   code boto3 would report.
//! - What the OpenAI API itself defines (a body that is not an OpenAI request, a model this
//!   route does not serve): OpenAI's `type` `invalid_request_error` with OpenAI's wording. A
//!   model other than the OpenAI ones is HTTP 404 with `code` `model_not_found` (observed on
//!   AWS for `us.anthropic.*` ids; the message, AWS's being unknown, is OpenAI's own).
//!
//! Each refusal goes to the audit log as operation `CreateChatCompletion` (OpenAI's operation
//! name; AWS's name for it in CloudTrail is not documented), with its gate when a gate decided.

use crate::audit::AuditRecord;
use crate::auth::{self, Caller, Proto};
use crate::error::ApiError;
use crate::{json_response, App, Incoming};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Response};
use bg_backends::native::{self, chat_completions};
use bg_backends::{Block, Completion, Prompt};
use bg_catalog::{Catalog, Model, ModelFamily, ModelIdentifier};
use bg_gates::decide::{Counted, Invoke, InvokeKind, Operation};
use bg_gates::Plan;
use serde_json::{json, Map, Value};

/// Every path under this prefix is this module's (and answered in the OpenAI error shape).
pub const PREFIX: &str = "/openai/";
pub const CHAT_COMPLETIONS: &str = "/openai/v1/chat/completions";
/// The operation's name in the audit and invocation logs.
pub const OPERATION: &str = "CreateChatCompletion";

/// Whether this module answers the request (runtime.rs hands it over before its own routing).
pub fn serves(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// One refusal as this route sends it: the AWS error (status, audit record, diagnosis) and the
/// OpenAI `type`/`code`/`param` it is shown with.
#[derive(Debug)]
struct Refused {
    error: ApiError,
    kind: &'static str,
    code: Option<&'static str>,
    param: Option<&'static str>,
}

impl Refused {
    /// A refusal AWS makes: its code as `type` and `code`.
    fn aws(error: ApiError) -> Refused {
        Refused {
            kind: error.code,
            code: Some(error.code),
            param: None,
            error,
        }
    }

    /// A request the OpenAI API itself rejects (HTTP 400, a ValidationException to the audit).
    fn request(message: impl Into<String>, param: Option<&'static str>) -> Refused {
        Refused {
            error: ApiError::validation(message),
            kind: "invalid_request_error",
            code: None,
            param,
        }
    }

    /// A model this route does not serve.
    fn model_not_found(model: &str) -> Refused {
        Refused {
            error: ApiError::new(
                "ResourceNotFoundException",
                404,
                format!("The model `{model}` does not exist or you do not have access to it."),
            ),
            kind: "invalid_request_error",
            code: Some("model_not_found"),
            param: Some("model"),
        }
    }
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Refused {
        Refused::aws(e)
    }
}

/// The OpenAI error object for a refusal.
fn error_body(r: &Refused) -> Value {
    json!({ "error": {
        "message": r.error.message,
        "type": r.kind,
        "code": r.code,
        "param": r.param,
    }})
}

/// Record the refusal in the audit log and answer it in the OpenAI shape.
fn refuse(app: &App, r: &Refused, request_id: &str) -> Response<Body> {
    app.audit.record(AuditRecord::new(
        app.now_unix(),
        request_id,
        OPERATION,
        &r.error,
        r.error.diagnosis.as_deref(),
    ));
    let mut resp = json_response(
        r.error.status,
        error_body(r).to_string().into_bytes(),
        request_id,
    );
    if let Ok(v) = HeaderValue::from_str(&r.error.error_type()) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

/// Every request under [`PREFIX`]: authenticated first, like every runtime call.
pub async fn handle(app: &App, inc: &Incoming) -> Response<Body> {
    let rid = inc.request_id.as_str();
    let parsed = auth::parse(inc);
    let catalog = app.catalog;
    let caller = match auth::authenticate(
        app,
        inc,
        &parsed,
        "bedrock",
        &|region| catalog.region(region).is_some(),
        Proto::Json,
    ) {
        Ok(c) => c,
        Err(e) => return refuse(app, &Refused::aws(e), rid),
    };
    let result = if inc.method == Method::POST && inc.path == CHAT_COMPLETIONS {
        chat_completion(app, &caller, inc).await
    } else {
        // The other OpenAI operations are not served on bedrock-runtime (§2.3); OpenAI's
        // wording for a route it does not have.
        Err(Refused {
            error: ApiError::new(
                "UnknownOperationException",
                404,
                format!("Invalid URL ({} {})", inc.method, inc.path),
            ),
            kind: "invalid_request_error",
            code: None,
            param: None,
        })
    };
    result.unwrap_or_else(|r| refuse(app, &r, rid))
}

/// A Chat Completions request, read.
#[derive(Debug)]
struct ChatRequest {
    model: String,
    stream: bool,
    include_usage: bool,
    prompt: Prompt,
}

/// The JSON type's name as OpenAI's messages say it.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn missing(name: &'static str) -> Refused {
    Refused::request(format!("Missing required parameter: '{name}'."), Some(name))
}

fn wrong_type(name: &'static str, want: &str, got: &Value) -> Refused {
    Refused::request(
        format!(
            "Invalid type for '{name}': expected {want}, but got {} instead.",
            type_name(got)
        ),
        Some(name),
    )
}

/// The OpenAI members this route reads itself; the rest of the body is Bedrock's to read.
fn read_request(body: &[u8]) -> Result<ChatRequest, Refused> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Refused::request(format!("The request body is not valid JSON: {e}."), None))?;
    let Value::Object(obj) = v else {
        return Err(Refused::request(
            format!(
                "The request body must be a JSON object, but got {} instead.",
                type_name(&v)
            ),
            None,
        ));
    };
    let model = match obj.get("model") {
        None | Some(Value::Null) => return Err(missing("model")),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(Refused::request(
                "Invalid 'model': empty string. Expected a string with minimum length 1, but got an empty string instead.",
                Some("model"),
            ))
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(wrong_type("model", "a string", other)),
    };
    match obj.get("messages") {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(m)) if m.is_empty() => {
            return Err(Refused::request(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                Some("messages"),
            ))
        }
        Some(Value::Array(_)) => {}
        Some(other) => return Err(wrong_type("messages", "an array", other)),
    }
    let stream = flag(&obj, "stream")?;
    let include_usage = match obj.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(_) if !stream => {
            return Err(Refused::request(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                Some("stream_options"),
            ))
        }
        Some(Value::Object(o)) => flag(o, "include_usage")?,
        Some(other) => return Err(wrong_type("stream_options", "an object", other)),
    };
    // One choice is all this route answers; asking for more is refused rather than ignored
    // (AWS's behaviour for `n` > 1 is not documented).
    match obj.get("n") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64() == Some(1) => {}
        Some(_) => {
            return Err(Refused::request(
                "Invalid 'n': only 1 choice is supported.",
                Some("n"),
            ))
        }
    }
    // Bedrock's reading of the gpt-oss body: its ValidationException text for what it rejects.
    let prompt = chat_completions::decode(body)
        .map_err(|e| Refused::aws(ApiError::validation(e.to_string())))?;
    Ok(ChatRequest {
        model,
        stream,
        include_usage,
        prompt,
    })
}

/// An optional boolean member (`stream`, `include_usage`).
fn flag(obj: &Map<String, Value>, name: &'static str) -> Result<bool, Refused> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(wrong_type(name, "a boolean", other)),
    }
}

/// The model an identifier names, by the catalog alone: a model ID or foundation-model ARN, a
/// system inference profile ID or ARN (its model). `None`: not one the catalog knows.
fn named_model<'c>(catalog: &'c Catalog, id: &str) -> Option<&'c Model> {
    match bg_catalog::parse_model_identifier(id) {
        ModelIdentifier::Id(id) => catalog
            .model(id)
            .or_else(|| catalog.profile(id).and_then(|p| catalog.model(&p.model_id))),
        ModelIdentifier::FoundationModelArn { model_id, .. } => catalog.model(model_id),
        ModelIdentifier::InferenceProfileArn { profile_id, .. } => catalog
            .profile(profile_id)
            .and_then(|p| catalog.model(&p.model_id)),
        _ => None,
    }
}

/// Only the OpenAI models answer on this route (§2.3).
fn served(model: &Model) -> bool {
    model.family == ModelFamily::OpenAi
}

async fn chat_completion(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
) -> Result<Response<Body>, Refused> {
    let req = read_request(&inc.body)?;
    // An application inference profile is the caller's own: the gates resolve it, and what it
    // routes to is checked after them.
    let app_profile = req.model.contains(":application-inference-profile/");
    if !app_profile && !named_model(app.catalog, &req.model).is_some_and(served) {
        return Err(Refused::model_not_found(&req.model));
    }
    let kind = if req.stream {
        InvokeKind::InvokeModelWithResponseStream
    } else {
        InvokeKind::InvokeModel
    };
    let plan = admit(app, caller, inc, kind, &req.model, &req.prompt)?;
    let model = plan
        .target
        .as_ref()
        .map(|t| t.model)
        .ok_or_else(|| ApiError::new("InternalFailure", 500, "no model resolved"))?;
    if !served(model) {
        return Err(Refused::model_not_found(&req.model));
    }
    let c = app
        .backends
        .for_model(&model.id)
        .complete(&model.id, &req.prompt)
        .await
        .map_err(crate::runtime::backend_error)?;
    if let Some(key) = &plan.quota_key {
        app.meter
            .record_output(key, u64::from(c.usage.output_tokens), app.now_unix());
    }
    let created = u64::try_from(app.now_unix()).unwrap_or(0);
    let rid = inc.request_id.as_str();
    if !req.stream {
        let body = chat_completions::encode_completion(&req.model, &c, rid, created);
        return Ok(json_response(200, body, rid));
    }
    let mut frames: Vec<Vec<u8>> = chat_completions::encode_chunks(
        &req.model,
        &c,
        &pieces(&c),
        rid,
        created,
        req.include_usage,
    )
    .into_iter()
    .map(|chunk| sse_data(&chunk))
    .collect();
    match plan.stream_fault {
        // A scripted mid-stream failure: the chunks so far, then an error event (what OpenAI
        // clients raise as an APIError) and no `[DONE]`.
        Some(f) => {
            let (kind, message) = f.kind.stream_exception();
            frames.truncate(f.after_frames.min(frames.len()));
            let error = json!({ "error": {
                "message": message, "type": kind, "code": kind, "param": null,
            }});
            frames.push(sse_data(error.to_string().as_bytes()));
        }
        None => frames.push(sse_data(b"[DONE]")),
    }
    Ok(crate::stream::response(
        crate::stream::Frames::new(frames.into_iter()),
        app.stream_pace(),
        rid,
        &[("content-type", "text/event-stream; charset=utf-8")],
    ))
}

/// A server-sent event carrying `data`.
fn sse_data(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    out
}

/// The answer's text cut into stream deltas, as InvokeModelWithResponseStream cuts it.
fn pieces(c: &Completion) -> Vec<String> {
    c.content
        .iter()
        .filter_map(|b| match b {
            Block::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .flat_map(|t| native::split_text_chunks(t, crate::stream::WORDS_PER_DELTA))
        .collect()
}

/// Every gate, through `gates::decide`, as InvokeModel; the admitted call goes to the
/// invocation log with the Region that serves it.
fn admit<'a>(
    app: &'a App,
    caller: &'a Caller,
    inc: &Incoming,
    kind: InvokeKind,
    model_id: &str,
    prompt: &Prompt,
) -> Result<Plan<'a>, ApiError> {
    let counted = Counted(bg_backends::count_prompt_tokens(prompt));
    let plan = app.decide(
        caller,
        inc,
        Proto::Json,
        Operation::Invoke(Invoke {
            kind,
            model_id,
            payload: &counted,
        }),
    )?;
    crate::runtime::record_admitted(app, inc, caller, OPERATION, model_id, &plan, true);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> (u16, String, Value) {
        let r = read_request(body.as_bytes()).expect_err(body);
        let v = error_body(&r);
        (r.error.status, r.error.message.clone(), v)
    }

    #[test]
    fn request_shape_errors_name_the_member() {
        let cases = [
            ("{", "The request body is not valid JSON: EOF while parsing an object at line 1 column 1."),
            ("[]", "The request body must be a JSON object, but got an array instead."),
            (r#"{"messages":[{"role":"user","content":"hi"}]}"#, "Missing required parameter: 'model'."),
            (r#"{"model":"m"}"#, "Missing required parameter: 'messages'."),
            (r#"{"model":"m","messages":[]}"#, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."),
            (r#"{"model":"m","messages":{}}"#, "Invalid type for 'messages': expected an array, but got an object instead."),
            (r#"{"model":5,"messages":[{"role":"user","content":"hi"}]}"#, "Invalid type for 'model': expected a string, but got a number instead."),
            (r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#, "Invalid type for 'stream': expected a boolean, but got a string instead."),
            (r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}"#, "The 'stream_options' parameter is only allowed when 'stream' is enabled."),
            (r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}"#, "Invalid 'n': only 1 choice is supported."),
        ];
        for (body, want) in cases {
            let (status, message, v) = refused(body);
            assert_eq!((status, message.as_str()), (400, want), "{body}");
            assert_eq!(v["error"]["type"], "invalid_request_error", "{body}");
            assert_eq!(v["error"]["message"], want);
        }
    }

    #[test]
    fn bedrock_reads_the_rest_of_the_body_with_its_own_text() {
        let (status, message, v) =
            refused(r#"{"model":"m","messages":[{"role":"wizard","content":"hi"}]}"#);
        assert_eq!(status, 400);
        assert!(
            message.starts_with("Malformed input request: "),
            "{message}"
        );
        assert_eq!(v["error"]["type"], "ValidationException");
        assert_eq!(v["error"]["code"], "ValidationException");
    }

    #[test]
    fn only_the_openai_models_are_served() {
        let c = bg_catalog::catalog();
        for id in [
            "openai.gpt-oss-20b-1:0",
            "openai.gpt-oss-120b-1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-120b-1:0",
        ] {
            assert!(named_model(c, id).is_some_and(served), "{id}");
        }
        for id in [
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "amazon.nova-lite-v1:0",
            "gpt-4o",
            "arn:aws:bedrock:us-east-1:1:provisioned-model/x",
        ] {
            assert!(!named_model(c, id).is_some_and(served), "{id}");
        }
        let v = error_body(&Refused::model_not_found("gpt-4o"));
        assert_eq!(
            v,
            json!({"error": {"message": "The model `gpt-4o` does not exist or you do not have access to it.",
                             "type": "invalid_request_error", "code": "model_not_found", "param": "model"}})
        );
    }

    #[test]
    fn a_request_reads_stream_flags_and_the_prompt() {
        let r = read_request(
            br#"{"model":"openai.gpt-oss-20b-1:0","stream":true,"stream_options":{"include_usage":true},
                "messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":"hi"}]}"#,
        )
        .unwrap();
        assert_eq!(r.model, "openai.gpt-oss-20b-1:0");
        assert!(r.stream && r.include_usage);
        assert_eq!(r.prompt.system, vec!["Be brief.".to_string()]);
        assert_eq!(r.prompt.messages.len(), 1);
    }
}
