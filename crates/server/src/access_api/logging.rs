//! Model invocation logging configuration, per (account, Region): stored and returned as the
//! API took it (members the service model knows, validated; destinations are not contacted).

use super::wire::{self, Violations};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::runtime::Refusal;
use crate::{json_response, App, Incoming};
use axum::body::Body;
use axum::http::Response;
use bg_gates::state::LoggingConfig;
use bg_gates::{Change, Entity};
use serde_json::{json, Map, Value};

const ROLE_ARN_PATTERN: &str = "arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+";
const FLAGS: [&str; 5] = [
    "textDataDeliveryEnabled",
    "imageDataDeliveryEnabled",
    "embeddingDataDeliveryEnabled",
    "videoDataDeliveryEnabled",
    "audioDataDeliveryEnabled",
];

fn ok(v: Value, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    Ok(json_response(
        200,
        v.to_string().into_bytes(),
        &inc.request_id,
    ))
}

fn key(caller: &Caller) -> String {
    format!("{}/{}", caller.identity.account, caller.region)
}

fn authorize(app: &App, caller: &Caller, action: &str, inc: &Incoming) -> Result<(), Refusal> {
    app.authorize(caller, inc, crate::auth::Proto::Json, action, &[])?;
    Ok(())
}

fn role_arn_ok(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:aws") else {
        return false;
    };
    let rest = match rest.strip_prefix('-') {
        Some(r) => match r.find(':') {
            Some(i) if i > 0 => &r[i..],
            _ => return false,
        },
        None => rest,
    };
    let Some(rest) = rest.strip_prefix(":iam::") else {
        return false;
    };
    let (account, role) = rest.split_once(':').unwrap_or(("x", ""));
    (account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && role.strip_prefix("role/").is_some_and(|r| !r.is_empty())
}

/// An `S3Config` at `path`, reduced to its known members.
fn s3_config(v: &Value, path: &str, errs: &mut Violations) -> Result<Value, ApiError> {
    let o = v
        .as_object()
        .ok_or_else(|| ApiError::wrong_type(path, "a structure"))?;
    let mut out = Map::new();
    let bucket = wire::opt_str(o, "bucketName")
        .map_err(|_| ApiError::wrong_type(&format!("{path}.bucketName"), "a string"))?;
    match bucket {
        None => errs.null(format!("{path}.bucketName")),
        Some(b) => {
            errs.length(
                Some(b),
                format!("{path}.bucketName"),
                b.chars().count(),
                3,
                63,
            );
            out.insert("bucketName".into(), json!(b));
        }
    }
    if let Some(p) = wire::opt_str(o, "keyPrefix")
        .map_err(|_| ApiError::wrong_type(&format!("{path}.keyPrefix"), "a string"))?
    {
        errs.length(
            Some(p),
            format!("{path}.keyPrefix"),
            p.chars().count(),
            0,
            1024,
        );
        out.insert("keyPrefix".into(), json!(p));
    }
    Ok(Value::Object(out))
}

fn parse_config(inc: &Incoming) -> Result<Value, ApiError> {
    let body = wire::body_object(inc)?;
    let cfg = match body.get("loggingConfig") {
        None | Some(Value::Null) => return Err(ApiError::missing_member("loggingConfig")),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ApiError::wrong_type("loggingConfig", "a structure")),
    };
    let mut errs = Violations::default();
    let mut out = Map::new();
    if let Some(cw) = cfg.get("cloudWatchConfig").filter(|v| !v.is_null()) {
        let path = "loggingConfig.cloudWatchConfig";
        let o = cw
            .as_object()
            .ok_or_else(|| ApiError::wrong_type(path, "a structure"))?;
        let mut c = Map::new();
        match wire::opt_str(o, "logGroupName")
            .map_err(|_| ApiError::wrong_type(&format!("{path}.logGroupName"), "a string"))?
        {
            None => errs.null(format!("{path}.logGroupName")),
            Some(g) => {
                errs.length(
                    Some(g),
                    format!("{path}.logGroupName"),
                    g.chars().count(),
                    1,
                    512,
                );
                c.insert("logGroupName".into(), json!(g));
            }
        }
        match wire::opt_str(o, "roleArn")
            .map_err(|_| ApiError::wrong_type(&format!("{path}.roleArn"), "a string"))?
        {
            None => errs.null(format!("{path}.roleArn")),
            Some(r) => {
                if r.chars().count() > 2048 {
                    errs.length(
                        Some(r),
                        format!("{path}.roleArn"),
                        r.chars().count(),
                        0,
                        2048,
                    );
                } else if !role_arn_ok(r) {
                    errs.pattern(Some(r), format!("{path}.roleArn"), ROLE_ARN_PATTERN);
                }
                c.insert("roleArn".into(), json!(r));
            }
        }
        if let Some(s3) = o.get("largeDataDeliveryS3Config").filter(|v| !v.is_null()) {
            let s = s3_config(s3, &format!("{path}.largeDataDeliveryS3Config"), &mut errs)?;
            c.insert("largeDataDeliveryS3Config".into(), s);
        }
        out.insert("cloudWatchConfig".into(), Value::Object(c));
    }
    if let Some(s3) = cfg.get("s3Config").filter(|v| !v.is_null()) {
        let s = s3_config(s3, "loggingConfig.s3Config", &mut errs)?;
        out.insert("s3Config".into(), s);
    }
    for f in FLAGS {
        if let Some(b) = wire::opt_bool(cfg, f, &format!("loggingConfig.{f}"))? {
            out.insert(f.into(), json!(b));
        }
    }
    errs.into_result()?;
    Ok(Value::Object(out))
}

pub fn put(app: &App, caller: &Caller, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    let cfg = parse_config(inc)?;
    authorize(
        app,
        caller,
        "bedrock:PutModelInvocationLoggingConfiguration",
        inc,
    )?;
    check_role(app, &cfg)?;
    app.write(&[Change::Put(Entity::LoggingConfig(LoggingConfig {
        account: caller.identity.account.clone(),
        region: caller.region.clone(),
        config: cfg.to_string(),
    }))])
    .map_err(wire::internal)?;
    ok(json!({}), inc)
}

/// Bedrock delivers to CloudWatch Logs as the configured role: AWS refuses the configuration
/// when it cannot use the role (bedrock-api-keys-and-more §6.1; the text as AWS returns it,
/// seen in alphagov/govuk-infrastructure#2440). Here: the role must exist and its trust policy
/// must let `bedrock.amazonaws.com` call `sts:AssumeRole` (the log group's permissions are not
/// checked: serve's log groups have no resource policy).
fn check_role(app: &App, cfg: &Value) -> Result<(), ApiError> {
    let Some(cw) = cfg.get("cloudWatchConfig") else {
        return Ok(());
    };
    let group = cw.get("logGroupName").and_then(Value::as_str).unwrap_or("");
    let role = cw.get("roleArn").and_then(Value::as_str).unwrap_or("");
    if role_assumable_by_bedrock(app, role) {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "Failed to validate permissions for log group: {group}, with role: {role}. Verify the IAM role permissions are correct."
    )))
}

fn role_assumable_by_bedrock(app: &App, role_arn: &str) -> bool {
    let state = app.snapshot();
    let Some(p) = state.principals.get(role_arn) else {
        return false;
    };
    let Some(role) = p.as_role() else {
        return false;
    };
    let Ok(trust) = bg_iam::Policy::parse(&role.trust_policy, bg_iam::PolicyKind::Resource) else {
        return false;
    };
    let trust = bg_iam::NamedPolicy::new("trust", trust);
    let req = bg_iam::Request::new(
        bg_iam::Principal::service("bedrock.amazonaws.com"),
        "sts:AssumeRole",
        role_arn,
    );
    bg_iam::evaluate(
        &req,
        &bg_iam::Policies {
            resource: Some(&trust),
            ..Default::default()
        },
    )
    .is_allowed()
}

pub fn get(app: &App, caller: &Caller, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    authorize(
        app,
        caller,
        "bedrock:GetModelInvocationLoggingConfiguration",
        inc,
    )?;
    let state = app.snapshot();
    let out = match state
        .logging
        .get(&key(caller))
        .and_then(|l| serde_json::from_str::<Value>(&l.config).ok())
    {
        Some(cfg) => json!({ "loggingConfig": cfg }),
        None => json!({}),
    };
    ok(out, inc)
}

/// Deleting when nothing is configured succeeds (the operation models no not-found error).
pub fn delete(app: &App, caller: &Caller, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    authorize(
        app,
        caller,
        "bedrock:DeleteModelInvocationLoggingConfiguration",
        inc,
    )?;
    let k = key(caller);
    if app.snapshot().logging.contains_key(&k) {
        app.write(&[Change::Delete {
            kind: "logging-config",
            id: k,
        }])
        .map_err(wire::internal)?;
    }
    ok(json!({}), inc)
}

#[cfg(test)]
mod tests {
    use super::role_arn_ok;

    #[test]
    fn role_arns() {
        assert!(role_arn_ok("arn:aws:iam::123456789012:role/BedrockLogs"));
        assert!(role_arn_ok("arn:aws-us-gov:iam::123456789012:role/x/y"));
        assert!(role_arn_ok("arn:aws:iam:::role/x"));
        assert!(!role_arn_ok("arn:aws:iam::123:role/x"));
        assert!(!role_arn_ok("arn:aws:iam::123456789012:user/x"));
        assert!(!role_arn_ok("role/x"));
    }
}
