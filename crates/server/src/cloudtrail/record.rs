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
}

impl Note {
    /// The credentials gate admitted this caller (auth.rs).
    pub fn authenticated(&self, caller: &auth::Caller) {
        let mut n = self.0.lock();
        n.caller = Some(caller.identity.clone());
        n.region = Some(caller.region.clone());
    }

    /// The gates admitted a model call (runtime.rs, openai.rs): what it resolved to.
    pub fn admitted(&self, resource: (&'static str, String), served_region: Option<String>) {
        let mut n = self.0.lock();
        n.resource = Some(resource);
        n.served_region = served_region;
    }

    pub fn get(&self) -> Noted {
        self.0.lock().clone()
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
    uuid::Uuid::now_v7().to_string()
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
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
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
            let (op, label) = crate::runtime::route(&inc.method, &inc.path)?;
            Some(Named {
                event_name: op.name().to_string(),
                event_source: "bedrock.amazonaws.com",
                label,
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

/// `userIdentity` by principal kind, and the LookupEvents `Username`.
fn user_identity(c: &bg_gates::Caller) -> (Value, String) {
    use bg_gates::CallerKind;
    match c.kind {
        CallerKind::Root => (
            json!({"type": "Root", "principalId": c.account, "arn": c.arn,
                   "accountId": c.account, "accessKeyId": c.access_key}),
            "root".to_string(),
        ),
        CallerKind::User => {
            let name = last_segment(&c.arn).to_string();
            (
                json!({"type": "IAMUser", "principalId": c.user_id, "arn": c.arn,
                       "accountId": c.account, "accessKeyId": c.access_key, "userName": name}),
                name,
            )
        }
        CallerKind::AssumedRole => {
            let session = c
                .session
                .as_ref()
                .map(|s| s.session_name.clone())
                .unwrap_or_default();
            let role_id = c.user_id.split(':').next().unwrap_or("");
            (
                json!({"type": "AssumedRole", "principalId": c.user_id, "arn": c.arn,
                       "accountId": c.account, "accessKeyId": c.access_key,
                       "sessionContext": {
                           "sessionIssuer": {"type": "Role", "principalId": role_id,
                               "arn": c.entity_arn, "accountId": c.account,
                               "userName": last_segment(&c.entity_arn)},
                           "attributes": {"mfaAuthenticated": "false"}}}),
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

fn request_parameters(inc: &Incoming, named: &Named, params: &[(String, String)]) -> Value {
    if named.proto == Proto::Query {
        if inc.body.len() + inc.query.len() > PARAMS_MAX {
            return Value::Null;
        }
        return query_parameters(params);
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
        return json!({ "model": model });
    }
    let mut m = Map::new();
    if let Some(label) = &named.label {
        m.insert(
            label_member(&named.event_name).to_string(),
            Value::String(label.clone()),
        );
    }
    if model_call {
        return Value::Object(m);
    }
    for (k, v) in crate::query::form_pairs(&inc.query) {
        m.insert(k, Value::String(v));
    }
    if !inc.body.is_empty() {
        if inc.body.len() > PARAMS_MAX {
            return Value::Null;
        }
        if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&inc.body) {
            m.extend(body);
        }
    }
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
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

/// The event of one answered call.
pub fn build(app: &App, inc: &Incoming, proto: Proto, time_ms: i64, outcome: &Outcome) -> TrailRow {
    let params = if proto == Proto::Query {
        if inc.method == axum::http::Method::GET {
            crate::query::form_pairs(&inc.query)
        } else {
            crate::query::form_pairs(&String::from_utf8_lossy(&inc.body))
        }
    } else {
        Vec::new()
    };
    let noted = inc.trail.get();
    let Some(named) = name(inc, proto, &params) else {
        return match outcome.refusal {
            Some(r) => unattributed_at(r, time_ms, inc.source_ip.as_deref()),
            None => unattributed_ok(inc, time_ms),
        };
    };
    let caller = noted.caller.clone().or_else(|| identity_of_key(app, inc));
    let account = caller
        .as_ref()
        .map(|c| c.account.clone())
        .unwrap_or_default();
    let region = if named.event_source == "iam.amazonaws.com" {
        // IAM is global: CloudTrail records its events in us-east-1.
        "us-east-1".to_string()
    } else {
        noted
            .region
            .clone()
            .or_else(|| auth::parse(inc).ok().map(|p| p.region))
            .unwrap_or_else(|| auth::DEFAULT_BEARER_REGION.to_string())
    };
    let (identity, username) = match &caller {
        Some(c) => user_identity(c),
        None => (json!({"type": "Unknown"}), String::new()),
    };
    let access_key = caller
        .as_ref()
        .map(|c| c.access_key.clone())
        .unwrap_or_default();
    let resource = noted
        .resource
        .clone()
        .or_else(|| {
            named
                .label
                .as_deref()
                .filter(|_| named.event_source == "bedrock.amazonaws.com")
                .map(|l| resource_of_label(l, &region, &account))
        })
        .or_else(|| query_resource(&params));
    let read_only = read_only(&named.event_name);
    let event_id = new_event_id();
    let mut ev = json!({
        "eventVersion": "1.11",
        "userIdentity": identity,
        "eventTime": iso(time_ms),
        "eventSource": named.event_source,
        "eventName": named.event_name,
        "awsRegion": region,
        "sourceIPAddress": inc.source_ip.clone().unwrap_or_else(|| "127.0.0.1".into()),
        "userAgent": inc.header("user-agent").map(crate::audit::bounded).unwrap_or_default(),
    });
    let m = ev.as_object_mut().expect("an object");
    if let Some(r) = outcome.refusal {
        m.insert(
            "errorCode".into(),
            Value::String(error_code(&r.error, named.event_source)),
        );
        m.insert("errorMessage".into(), Value::String(r.message.clone()));
    }
    m.insert(
        "requestParameters".into(),
        request_parameters(inc, &named, &params),
    );
    let response = match (outcome.refusal, read_only) {
        (None, false) => outcome.response.clone().unwrap_or(Value::Null),
        _ => Value::Null,
    };
    m.insert("responseElements".into(), response);
    let mut additional = Map::new();
    if let Some(served) = &noted.served_region {
        if *served != region {
            additional.insert("inferenceRegion".into(), Value::String(served.clone()));
        }
    }
    if caller.as_ref().is_some_and(|c| c.bearer.is_some()) {
        additional.insert("callWithBearerToken".into(), Value::Bool(true));
    }
    if !additional.is_empty() {
        m.insert("additionalEventData".into(), Value::Object(additional));
    }
    m.insert("requestID".into(), Value::String(inc.request_id.clone()));
    m.insert("eventID".into(), Value::String(event_id.clone()));
    m.insert("readOnly".into(), Value::Bool(read_only));
    if let Some((kind, arn)) = &resource {
        m.insert(
            "resources".into(),
            json!([{"accountId": account, "type": kind, "ARN": arn}]),
        );
    }
    m.insert("eventType".into(), Value::String("AwsApiCall".into()));
    m.insert("managementEvent".into(), Value::Bool(true));
    m.insert("recipientAccountId".into(), Value::String(account.clone()));
    m.insert("eventCategory".into(), Value::String("Management".into()));
    if inc.secure {
        m.insert(
            "tlsDetails".into(),
            json!({"clientProvidedHostHeader": inc.header("host").unwrap_or("")}),
        );
    }
    let (resource_type, resource_name) = resource
        .map(|(k, n)| (k.to_string(), n))
        .unwrap_or_default();
    TrailRow {
        event_id,
        time_ms,
        account,
        region,
        event_name: named.event_name,
        event_source: named.event_source.to_string(),
        username,
        access_key_id: access_key,
        read_only,
        resource_type,
        resource_name,
        body: ev.to_string(),
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

    #[test]
    fn event_time_is_iso_utc_seconds() {
        assert_eq!(iso(1_796_229_862_123), "2026-12-02T16:44:22Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
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
