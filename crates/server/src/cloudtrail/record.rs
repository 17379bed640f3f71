//! The CloudTrail record of one call, built when the call is answered from what the request
//! said, who the credentials gate found, what the gates decided and how it was answered.
//!
//! Choices where AWS documents nothing precise (each tested in tests/python/test_cloudtrail.py):
//! - `errorCode` is the error's code as the client saw it, except that Bedrock's
//!   `AccessDeniedException` is written `AccessDenied`, the code detection rules for IAM
//!   denials on InvokeModel match (bedrock-api-keys-and-more §6.2).
//! - `requestParameters`: for model calls only `modelId` (never the prompt); for other bedrock
//!   calls the path label by its service-model name, the query string and the JSON body; for
//!   IAM and STS the form parameters with their first letter lowered, passwords replaced by
//!   `HIDDEN_DUE_TO_SECURITY_REASONS` as CloudTrail does; the logs and CloudTrail APIs: the
//!   JSON body. Anything over 100 KB is omitted (`null`).
//! - `responseElements`: `null` for read-only calls and refusals (as AWS); for a bedrock call
//!   that changed something, its JSON answer; for an IAM or STS write, its XML answer's result
//!   as CloudTrail writes it, secrets left out ([`super::elements`]).
//! - `sessionContext.attributes` carries `mfaAuthenticated` only: serve does not keep a
//!   session's creation time.
//! - The OpenAI-compatible route is recorded as `CreateChatCompletion` from
//!   `bedrock.amazonaws.com` (AWS's name for it in CloudTrail is not documented).
//! - A call whose credentials name no known key (and so no account) is not an event of any
//!   account: it is kept for the audit log only.

use crate::audit::AuditRecord;
use crate::auth::{self, Proto};
use crate::{App, Incoming};
use bg_store::TrailRow;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};

/// What a request learns about itself on the way through, for its event.
#[derive(Default)]
pub struct Note(Mutex<Noted>);

#[derive(Default, Clone)]
pub struct Noted {
    pub caller: Option<bg_gates::Caller>,
    pub region: Option<String>,
    /// A cross-Region profile call: the Region that served it.
    pub served_region: Option<String>,
    /// (CloudTrail resource type, ARN) of the model or profile called.
    pub resource: Option<(&'static str, String)>,
    /// The caller's logging configuration where the handler looked it up already (`Some(None)`:
    /// none), and the answer it handed over for the record (cloudtrail.rs, `finish`).
    pub logging: Option<Option<std::sync::Arc<crate::cloudtrail::invocation::Config>>>,
    pub answer: Option<crate::cloudtrail::invocation::Answer>,
}

impl Note {
    /// The credentials gate admitted this caller (auth.rs).
    pub fn authenticated(&self, caller: &auth::Caller) {
        let mut n = self.0.lock();
        n.caller = Some(caller.identity.clone());
        n.region = Some(caller.region.clone());
    }

    /// [`Note::authenticated`], the caller moved in rather than copied.
    pub fn authenticated_by(&self, caller: auth::Caller) {
        let mut n = self.0.lock();
        n.caller = Some(caller.identity);
        n.region = Some(caller.region);
    }

    /// The gates admitted a model call (runtime.rs, openai.rs): what it resolved to.
    pub fn admitted(&self, resource: (&'static str, String), served_region: Option<String>) {
        let mut n = self.0.lock();
        n.resource = Some(resource);
        n.served_region = served_region;
    }

    /// The handler looked up the caller's logging configuration, and made the whole answer
    /// that a logged call's record takes (runtime.rs).
    pub fn logging(
        &self,
        config: Option<std::sync::Arc<crate::cloudtrail::invocation::Config>>,
        answer: Option<crate::cloudtrail::invocation::Answer>,
    ) {
        let mut n = self.0.lock();
        n.logging = Some(config);
        n.answer = answer;
    }

    /// The answer handed over for the record, taken.
    pub fn take_answer(&self) -> Option<crate::cloudtrail::invocation::Answer> {
        self.0.lock().answer.take()
    }

    /// Read what was noted without copying it.
    pub fn with<R>(&self, f: impl FnOnce(&Noted) -> R) -> R {
        f(&self.0.lock())
    }
}

/// Note an admitted model call (runtime.rs, openai.rs): the resource it named (the profile
/// for a profile call, else the model) and the Region that serves it.
pub fn note_admitted(
    inc: &Incoming,
    caller: &auth::Caller,
    target: &bg_gates::region::Target,
    serving_region: Option<&String>,
) {
    let region = &caller.region;
    let account = &caller.identity.account;
    let resource = if let Some(a) = &target.app {
        ("AWS::Bedrock::InferenceProfile", a.arn.clone())
    } else if let Some(p) = target.profile {
        (
            "AWS::Bedrock::InferenceProfile",
            format!(
                "arn:aws:bedrock:{region}:{account}:inference-profile/{}",
                p.id
            ),
        )
    } else {
        (
            "AWS::Bedrock::Model",
            format!(
                "arn:aws:bedrock:{region}::foundation-model/{}",
                target.model.id
            ),
        )
    };
    inc.trail.admitted(resource, serving_region.cloned());
}

/// A fresh `eventID`: a UUID (CloudTrail's are opaque GUIDs) of version 7, whose leading bits
/// are the time, so that the journal's unique index on it grows at its end. With random (v4)
/// IDs every event dirtied its own index page: a 4 KiB write to the WAL per event, the largest
/// cost of the journal under load (BENCHMARKS.md).
pub fn new_event_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    super::ids::event_id(now)
}

/// How the call was answered.
pub struct Outcome<'a> {
    pub status: u16,
    pub refusal: Option<&'a AuditRecord>,
    /// A successful JSON answer of a call that changed something.
    pub response: Option<Value>,
}

/// `2026-12-02T16:44:22Z` (CloudTrail's `eventTime`: seconds, UTC).
pub fn iso(time_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(time_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // Digits written in place: every event and invocation record formats one, and `format!`
    // with six padded fields cost a noticeable share of the journal writer (issue 13).
    // Outside 0000-9999 (no clock serve runs on), `format!`'s own digits.
    let Some(year) = u32::try_from(t.year()).ok().filter(|y| *y <= 9999) else {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    };
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, u8::from(t.month()).into());
    put(8, 2, t.day().into());
    put(11, 2, t.hour().into());
    put(14, 2, t.minute().into());
    put(17, 2, t.second().into());
    out.iter().map(|&b| b as char).collect()
}

/// The gate clock in milliseconds.
pub fn now_ms(app: &App) -> i64 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    wall + (app.now_unix() - crate::wall_unix()) * 1000
}

/// Which operation of which service a request is, as CloudTrail names them.
pub struct Named {
    pub event_name: String,
    pub event_source: &'static str,
    /// The path label (model ID, profile ID or ARN) of a restJson1 call.
    pub label: Option<String>,
    pub proto: Proto,
}

/// Read-only as CloudTrail marks it: the model calls are read-only management events
/// (bedrock-api-keys-and-more §6.2), and so is every Get/List/Describe/Lookup.
pub fn read_only(event_name: &str) -> bool {
    const READ: &[&str] = &[
        "Get",
        "List",
        "Describe",
        "Lookup",
        "Filter",
        "Simulate",
        "Converse",
        "Invoke",
        "CountTokens",
        "CreateChatCompletion",
        "Generate",
    ];
    READ.iter().any(|p| event_name.starts_with(p))
}

pub fn name(inc: &Incoming, proto: Proto, query_params: &[(String, String)]) -> Option<Named> {
    match proto {
        Proto::Query => {
            let action = query_params
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.clone())
                .filter(|a| !a.is_empty())?;
            let iam = auth::parse(inc).is_ok_and(|p| p.service == "iam");
            Some(Named {
                event_name: action,
                event_source: if iam {
                    "iam.amazonaws.com"
                } else {
                    "sts.amazonaws.com"
                },
                label: None,
                proto,
            })
        }
        Proto::Json => {
            if crate::openai::serves(&inc.path) {
                return Some(Named {
                    event_name: crate::openai::OPERATION.to_string(),
                    event_source: "bedrock.amazonaws.com",
                    label: None,
                    proto,
                });
            }
            if let Some((source, op)) = crate::logs_api::target(inc) {
                return Some(Named {
                    event_name: op.to_string(),
                    event_source: source,
                    label: None,
                    proto,
                });
            }
            let (op, label) = inc.route()?;
            Some(Named {
                event_name: op.name().to_string(),
                event_source: "bedrock.amazonaws.com",
                label: label.map(str::to_string),
                proto,
            })
        }
    }
}

/// The identity a refused authentication still names: the key's owner when the key exists.
fn identity_of_key(app: &App, inc: &Incoming) -> Option<bg_gates::Caller> {
    let parsed = auth::parse(inc).ok()?;
    let state = app.snapshot();
    let key = state.keys.get(&parsed.access_key)?;
    let principal = state.principals.get(&key.principal_arn)?;
    Some(bg_gates::Caller::from_key(key, principal))
}

fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// `userIdentity` by principal kind, serialized straight from the caller (no `Value`). Field
/// order: alphabetical, as the `serde_json::Value` this replaced wrote it (its maps are
/// sorted), so stored events keep their exact bytes.
#[derive(serde::Serialize)]
struct Identity<'a> {
    #[serde(rename = "accessKeyId", skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
    #[serde(rename = "accountId", skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(rename = "principalId", skip_serializing_if = "Option::is_none")]
    principal_id: Option<&'a str>,
    #[serde(rename = "sessionContext", skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContext<'a>>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "userName", skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct SessionContext<'a> {
    attributes: Attributes,
    #[serde(rename = "sessionIssuer")]
    session_issuer: SessionIssuer<'a>,
}

#[derive(serde::Serialize)]
struct Attributes {
    #[serde(rename = "mfaAuthenticated")]
    mfa_authenticated: &'static str,
}

#[derive(serde::Serialize)]
struct SessionIssuer<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    arn: &'a str,
    #[serde(rename = "principalId")]
    principal_id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "userName")]
    user_name: &'a str,
}

/// `userIdentity` by principal kind, and the LookupEvents `Username`.
fn user_identity(c: &bg_gates::Caller) -> (Identity<'_>, &str) {
    use bg_gates::CallerKind;
    let base = |kind| Identity {
        access_key_id: Some(&c.access_key),
        account_id: Some(&c.account),
        arn: Some(&c.arn),
        principal_id: Some(&c.user_id),
        session_context: None,
        kind,
        user_name: None,
    };
    match c.kind {
        CallerKind::Root => (
            Identity {
                principal_id: Some(&c.account),
                ..base("Root")
            },
            "root",
        ),
        CallerKind::User => {
            let name = last_segment(&c.arn);
            (
                Identity {
                    user_name: Some(name),
                    ..base("IAMUser")
                },
                name,
            )
        }
        CallerKind::AssumedRole => {
            let session = c.session.as_ref().map_or("", |s| s.session_name.as_str());
            let role_id = c.user_id.split(':').next().unwrap_or("");
            (
                Identity {
                    session_context: Some(SessionContext {
                        attributes: Attributes {
                            mfa_authenticated: "false",
                        },
                        session_issuer: SessionIssuer {
                            account_id: &c.account,
                            arn: &c.entity_arn,
                            principal_id: role_id,
                            kind: "Role",
                            user_name: last_segment(&c.entity_arn),
                        },
                    }),
                    ..base("AssumedRole")
                },
                session,
            )
        }
    }
}

/// Form parameters as CloudTrail writes IAM/STS requestParameters.
fn query_parameters(params: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in params {
        if k == "Action" || k == "Version" || k.starts_with("X-Amz-") {
            continue;
        }
        let mut key = k.clone();
        if let Some(f) = key.get(..1) {
            let lower = f.to_ascii_lowercase();
            key.replace_range(..1, &lower);
        }
        let value = if k.contains("Password") {
            "HIDDEN_DUE_TO_SECURITY_REASONS".to_string()
        } else {
            v.clone()
        };
        m.insert(key, Value::String(value));
    }
    Value::Object(m)
}

/// The service-model name of a bedrock operation's path label.
fn label_member(event_name: &str) -> &'static str {
    match event_name {
        "GetFoundationModel" => "modelIdentifier",
        "GetInferenceProfile" | "DeleteInferenceProfile" => "inferenceProfileIdentifier",
        _ => "modelId",
    }
}

const PARAMS_MAX: usize = 100 * 1024;

/// `requestParameters`: a model call's is its path label alone, written without building a map.
enum Params<'a> {
    Label(Option<(&'static str, &'a str)>),
    Value(Value),
}

impl serde::Serialize for Params<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Params::Value(v) => v.serialize(s),
            Params::Label(label) => {
                let mut m = s.serialize_map(Some(label.iter().len()))?;
                if let Some((k, v)) = label {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

fn request_parameters<'a>(
    inc: &Incoming,
    named: &'a Named,
    params: &[(String, String)],
) -> Params<'a> {
    if named.proto == Proto::Query {
        if inc.body.len() + inc.query.len() > PARAMS_MAX {
            return Params::Value(Value::Null);
        }
        return Params::Value(query_parameters(params));
    }
    let model_call = named.event_source == "bedrock.amazonaws.com"
        && read_only(&named.event_name)
        && (named.event_name.starts_with("Converse")
            || named.event_name.starts_with("Invoke")
            || named.event_name == "CountTokens"
            || named.event_name == crate::openai::OPERATION);
    if named.event_name == crate::openai::OPERATION {
        // The model named in the body; never the messages.
        let model = serde_json::from_slice::<Value>(&inc.body)
            .ok()
            .and_then(|b| b.get("model").cloned());
        return Params::Value(json!({ "model": model }));
    }
    if model_call {
        let label = named
            .label
            .as_deref()
            .map(|l| (label_member(&named.event_name), l));
        return Params::Label(label);
    }
    let mut m = Map::new();
    if let Some(label) = &named.label {
        m.insert(
            label_member(&named.event_name).to_string(),
            Value::String(label.clone()),
        );
    }
    for (k, v) in crate::query::form_pairs(&inc.query) {
        m.insert(k, Value::String(v));
    }
    if !inc.body.is_empty() {
        if inc.body.len() > PARAMS_MAX {
            return Params::Value(Value::Null);
        }
        if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&inc.body) {
            m.extend(body);
        }
    }
    Params::Value(if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    })
}

/// A model or profile ARN for a label as called, when the gates did not resolve it.
fn resource_of_label(label: &str, region: &str, account: &str) -> (&'static str, String) {
    if label.starts_with("arn:") {
        let kind = if label.contains(":inference-profile/")
            || label.contains(":application-inference-profile/")
        {
            "AWS::Bedrock::InferenceProfile"
        } else {
            "AWS::Bedrock::Model"
        };
        return (kind, label.to_string());
    }
    let geo = [
        "us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov.",
    ];
    if geo.iter().any(|g| label.starts_with(g)) {
        (
            "AWS::Bedrock::InferenceProfile",
            format!("arn:aws:bedrock:{region}:{account}:inference-profile/{label}"),
        )
    } else {
        (
            "AWS::Bedrock::Model",
            format!("arn:aws:bedrock:{region}::foundation-model/{label}"),
        )
    }
}

/// IAM/STS resources by the parameter that names them.
fn query_resource(params: &[(String, String)]) -> Option<(&'static str, String)> {
    const BY: &[(&str, &str)] = &[
        ("RoleArn", "AWS::IAM::Role"),
        ("RoleName", "AWS::IAM::Role"),
        ("UserName", "AWS::IAM::User"),
        ("GroupName", "AWS::IAM::Group"),
        ("PolicyArn", "AWS::IAM::Policy"),
    ];
    BY.iter().find_map(|(p, kind)| {
        params
            .iter()
            .find(|(k, _)| k == p)
            .map(|(_, v)| (*kind, v.clone()))
    })
}

fn error_code(code: &str, source: &str) -> String {
    if source == "bedrock.amazonaws.com" && code == "AccessDeniedException" {
        "AccessDenied".to_string()
    } else {
        code.to_string()
    }
}

fn diagnosis(r: &AuditRecord) -> Option<String> {
    Some(
        json!({"gate": r.gate, "reason": r.reason, "fix": r.fix, "error": r.error,
               "status": r.status, "message": r.message, "operation": r.operation})
        .to_string(),
    )
}

/// A CloudTrail record, serialized straight from borrowed fields: building a
/// `serde_json::Value` copied every string into a map node and was the largest allocation
/// cost of a Converse (BENCHMARKS.md). Fields in alphabetical order, as the `Value` wrote
/// them (its maps are sorted), so an event's bytes are what they were.
#[derive(serde::Serialize)]
struct Event<'a> {
    #[serde(
        rename = "additionalEventData",
        skip_serializing_if = "Option::is_none"
    )]
    additional_event_data: Option<Additional<'a>>,
    #[serde(rename = "awsRegion")]
    aws_region: &'a str,
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(rename = "errorMessage", skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    #[serde(rename = "eventCategory")]
    event_category: &'static str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    #[serde(rename = "eventName")]
    event_name: &'a str,
    #[serde(rename = "eventSource")]
    event_source: &'a str,
    #[serde(rename = "eventTime")]
    event_time: &'a str,
    #[serde(rename = "eventType")]
    event_type: &'static str,
    #[serde(rename = "eventVersion")]
    event_version: &'static str,
    #[serde(rename = "managementEvent")]
    management_event: bool,
    #[serde(rename = "readOnly")]
    read_only: bool,
    #[serde(rename = "recipientAccountId")]
    recipient_account_id: &'a str,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "requestParameters")]
    request_parameters: Params<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<[Resource<'a>; 1]>,
    #[serde(rename = "responseElements")]
    response_elements: Option<&'a Value>,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    #[serde(rename = "tlsDetails", skip_serializing_if = "Option::is_none")]
    tls_details: Option<TlsDetails<'a>>,
    #[serde(rename = "userAgent")]
    user_agent: &'a str,
    #[serde(rename = "userIdentity")]
    user_identity: Identity<'a>,
}

#[derive(serde::Serialize)]
struct Additional<'a> {
    #[serde(
        rename = "callWithBearerToken",
        skip_serializing_if = "Option::is_none"
    )]
    call_with_bearer_token: Option<bool>,
    #[serde(rename = "inferenceRegion", skip_serializing_if = "Option::is_none")]
    inference_region: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct Resource<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    #[serde(rename = "accountId")]
    account_id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(serde::Serialize)]
struct TlsDetails<'a> {
    #[serde(rename = "clientProvidedHostHeader")]
    client_provided_host_header: &'a str,
}

/// The event of one answered call.
pub fn build(app: &App, inc: &Incoming, proto: Proto, time_ms: i64, outcome: &Outcome) -> TrailRow {
    inc.trail
        .with(|noted| build_noted(app, inc, proto, time_ms, outcome, noted))
}

fn build_noted(
    app: &App,
    inc: &Incoming,
    proto: Proto,
    time_ms: i64,
    outcome: &Outcome,
    noted: &Noted,
) -> TrailRow {
    let params = if proto == Proto::Query {
        if inc.method == axum::http::Method::GET {
            crate::query::form_pairs(&inc.query)
        } else {
            crate::query::form_pairs(&String::from_utf8_lossy(&inc.body))
        }
    } else {
        Vec::new()
    };
    let Some(named) = name(inc, proto, &params) else {
        return match outcome.refusal {
            Some(r) => unattributed_at(r, time_ms, inc.source_ip.as_deref()),
            None => unattributed_ok(inc, time_ms),
        };
    };
    // The noted caller is borrowed; only a refused authentication looks its key's owner up.
    let looked_up;
    let caller = match &noted.caller {
        Some(c) => Some(c),
        None => {
            looked_up = identity_of_key(app, inc);
            looked_up.as_ref()
        }
    };
    let account = caller.map_or("", |c| c.account.as_str());
    let parsed_region;
    let region: &str = if named.event_source == "iam.amazonaws.com" {
        // IAM is global: CloudTrail records its events in us-east-1.
        "us-east-1"
    } else if let Some(r) = &noted.region {
        r
    } else {
        parsed_region = auth::parse(inc).ok().map(|p| p.region);
        parsed_region
            .as_deref()
            .unwrap_or(auth::DEFAULT_BEARER_REGION)
    };
    let unknown = Identity {
        access_key_id: None,
        account_id: None,
        arn: None,
        principal_id: None,
        session_context: None,
        kind: "Unknown",
        user_name: None,
    };
    let (identity, username) = match caller {
        Some(c) => user_identity(c),
        None => (unknown, ""),
    };
    let access_key = caller.map_or("", |c| c.access_key.as_str());
    let resource = noted
        .resource
        .clone()
        .or_else(|| {
            named
                .label
                .as_deref()
                .filter(|_| named.event_source == "bedrock.amazonaws.com")
                .map(|l| resource_of_label(l, region, account))
        })
        .or_else(|| query_resource(&params));
    let read_only = read_only(&named.event_name);
    let event_id = new_event_id();
    let event_time = iso(time_ms);
    let error_code = outcome
        .refusal
        .map(|r| error_code(&r.error, named.event_source));
    let user_agent = inc.header("user-agent").map(crate::audit::bounded);
    let response = match (outcome.refusal, read_only) {
        (None, false) => outcome.response.as_ref(),
        _ => None,
    };
    let inference_region = noted
        .served_region
        .as_deref()
        .filter(|served| *served != region);
    let bearer = caller.is_some_and(|c| c.bearer.is_some());
    let additional = (inference_region.is_some() || bearer).then_some(Additional {
        call_with_bearer_token: bearer.then_some(true),
        inference_region,
    });
    let ev = Event {
        additional_event_data: additional,
        aws_region: region,
        error_code: error_code.as_deref(),
        error_message: outcome.refusal.map(|r| r.message.as_str()),
        event_category: "Management",
        event_id: &event_id,
        event_name: &named.event_name,
        event_source: named.event_source,
        event_time: &event_time,
        event_type: "AwsApiCall",
        event_version: "1.11",
        management_event: true,
        read_only,
        recipient_account_id: account,
        request_id: &inc.request_id,
        request_parameters: request_parameters(inc, &named, &params),
        resources: resource.as_ref().map(|(kind, arn)| {
            [Resource {
                arn,
                account_id: account,
                kind,
            }]
        }),
        response_elements: response,
        source_ip_address: inc.source_ip.as_deref().unwrap_or("127.0.0.1"),
        tls_details: inc.secure.then(|| TlsDetails {
            client_provided_host_header: inc.header("host").unwrap_or(""),
        }),
        user_agent: user_agent.as_deref().unwrap_or(""),
        user_identity: identity,
    };
    // Most events are well under 2 KiB: one allocation, no regrowth while writing.
    let mut body = Vec::with_capacity(2048);
    serde_json::to_writer(&mut body, &ev).expect("an event serializes");
    let body = String::from_utf8(body).expect("serde_json writes UTF-8");
    let username = username.to_string();
    let (resource_type, resource_name) = resource
        .map(|(k, n)| (k.to_string(), n))
        .unwrap_or_default();
    TrailRow {
        event_id,
        time_ms,
        account: account.to_string(),
        region: region.to_string(),
        event_name: named.event_name,
        event_source: named.event_source.to_string(),
        username,
        access_key_id: access_key.to_string(),
        read_only,
        resource_type,
        resource_name,
        body,
        diagnosis: outcome.refusal.and_then(diagnosis),
    }
}

fn unattributed_at(r: &AuditRecord, time_ms: i64, source_ip: Option<&str>) -> TrailRow {
    let event_id = new_event_id();
    let body = json!({
        "eventVersion": "1.11",
        "eventTime": iso(time_ms),
        "eventName": r.operation,
        "sourceIPAddress": source_ip.unwrap_or("127.0.0.1"),
        "errorCode": r.error,
        "errorMessage": r.message,
        "requestID": r.request_id,
        "eventID": event_id,
    });
    TrailRow {
        event_id,
        time_ms,
        event_name: r.operation.clone(),
        body: body.to_string(),
        diagnosis: diagnosis(r),
        ..Default::default()
    }
}

fn unattributed_ok(inc: &Incoming, time_ms: i64) -> TrailRow {
    let event_id = new_event_id();
    TrailRow {
        body: json!({"eventTime": iso(time_ms), "requestID": inc.request_id, "eventID": event_id})
            .to_string(),
        event_id,
        time_ms,
        ..Default::default()
    }
}

/// See [`super::record_unattributed`].
pub fn unattributed(app: &App, r: &AuditRecord) -> TrailRow {
    unattributed_at(r, now_ms(app), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of an event, the optional ones present, is written in the sorted order the
    /// `serde_json::Value` it replaced wrote (its maps are sorted): stored events keep their
    /// exact bytes.
    #[test]
    fn event_fields_are_in_the_order_a_value_writes_them() {
        let response = json!({"b": 1, "a": [true]});
        let ev = Event {
            additional_event_data: Some(Additional {
                call_with_bearer_token: Some(true),
                inference_region: Some("us-west-2"),
            }),
            aws_region: "us-east-1",
            error_code: Some("AccessDenied"),
            error_message: Some("User: x is not authorized"),
            event_category: "Management",
            event_id: "e",
            event_name: "Converse",
            event_source: "bedrock.amazonaws.com",
            event_time: "2026-12-02T16:44:22Z",
            event_type: "AwsApiCall",
            event_version: "1.11",
            management_event: true,
            read_only: true,
            recipient_account_id: "111111111111",
            request_id: "r",
            request_parameters: Params::Label(Some(("modelId", "amazon.nova-lite-v1:0"))),
            resources: Some([Resource {
                arn: "arn:aws:bedrock:us-east-1::foundation-model/m",
                account_id: "111111111111",
                kind: "AWS::Bedrock::Model",
            }]),
            response_elements: Some(&response),
            source_ip_address: "127.0.0.1",
            tls_details: Some(TlsDetails {
                client_provided_host_header: "localhost",
            }),
            user_agent: "ua",
            user_identity: Identity {
                access_key_id: Some("ASIA"),
                account_id: Some("111111111111"),
                arn: Some("arn:aws:sts::111111111111:assumed-role/r/s"),
                principal_id: Some("AROA:s"),
                session_context: Some(SessionContext {
                    attributes: Attributes {
                        mfa_authenticated: "false",
                    },
                    session_issuer: SessionIssuer {
                        account_id: "111111111111",
                        arn: "arn:aws:iam::111111111111:role/r",
                        principal_id: "AROA",
                        kind: "Role",
                        user_name: "r",
                    },
                }),
                kind: "AssumedRole",
                user_name: Some("x"),
            },
        };
        let written = serde_json::to_string(&ev).unwrap();
        let as_value: Value = serde_json::from_str(&written).unwrap();
        assert_eq!(written, as_value.to_string());
        assert_eq!(
            as_value["additionalEventData"]["inferenceRegion"],
            "us-west-2"
        );
        assert_eq!(
            as_value["requestParameters"],
            json!({"modelId": "amazon.nova-lite-v1:0"})
        );
        let empty = serde_json::to_string(&Params::Label(None)).unwrap();
        assert_eq!(empty, "{}");
    }

    #[test]
    fn event_time_is_iso_utc_seconds() {
        assert_eq!(iso(1_796_229_862_123), "2026-12-02T16:44:22Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(253_402_300_799_999), "9999-12-31T23:59:59Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59Z");
        // Outside 0000-9999 the digits are whatever `format!` gives (no such clock is expected).
        assert_eq!(iso(-62_167_219_200_001), "-001-12-31T23:59:59Z");
    }

    #[test]
    fn model_calls_are_read_only_and_writes_are_not() {
        for n in [
            "Converse",
            "ConverseStream",
            "InvokeModel",
            "InvokeModelWithResponseStream",
            "GetCallerIdentity",
            "ListFoundationModels",
            "LookupEvents",
        ] {
            assert!(read_only(n), "{n}");
        }
        for n in [
            "CreateUser",
            "AssumeRole",
            "PutModelInvocationLoggingConfiguration",
            "CreateLogGroup",
            "PutRetentionPolicy",
        ] {
            assert!(!read_only(n), "{n}");
        }
    }

    #[test]
    fn passwords_never_reach_request_parameters() {
        let p = vec![
            ("Action".to_string(), "CreateLoginProfile".to_string()),
            ("UserName".to_string(), "alice".to_string()),
            ("Password".to_string(), "hunter2".to_string()),
        ];
        assert_eq!(
            query_parameters(&p),
            json!({"userName": "alice", "password": "HIDDEN_DUE_TO_SECURITY_REASONS"})
        );
    }
}
