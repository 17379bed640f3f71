//! STS beyond GetCallerIdentity: AssumeRole.
//!
//! The decision follows AWS's rule for trust policies, evaluated by the engine with the role's
//! trust policy as the resource-based policy: in the role's own account a trust policy naming
//! the caller (user, session or role ARN) suffices; one naming only the account (`:root` or the
//! ID) needs an identity-policy allow as well; across accounts both are always needed. The
//! caller's permissions boundary, session policies and SCPs take part as for any call.
//!
//! Choices where AWS's behaviour is not known to us:
//! * `PackedPolicySize` is the minified inline policy plus the managed policy ARNs, as a
//!   percentage of 2048 characters (AWS compresses; its percentages are lower).
//! * A `PolicyArns` entry that is not an existing managed policy is refused with
//!   ValidationError `Policy ARN does not exist or is not attachable.`
//! * Session tags, transitive tags, MFA and ProvidedContexts are accepted and ignored;
//!   `ExternalId`, `SourceIdentity` and `RoleSessionName` become `sts:ExternalId`,
//!   `sts:SourceIdentity` and `sts:RoleSessionName` condition keys.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::iam_api::awsquery::{self, Checks, Params, Xml};
use crate::query::STS_XMLNS;
use crate::App;
use bg_gates::{AccessKey, CallerKind, Change, Entity, PrincipalKind, Session};
use bg_iam::{Policy, PolicyKind};

/// The plaintext budget for session policies (inline + managed ARNs).
const PACKED_LIMIT: usize = 2048;

fn access_denied(message: impl Into<String>) -> ApiError {
    ApiError::new("AccessDenied", 403, message)
}

pub fn assume_role(
    app: &App,
    inc: &crate::Incoming,
    caller: &Caller,
    params: &[(String, String)],
    request_id: &str,
) -> Result<String, ApiError> {
    let p = Params(params);
    let now = app.now_unix();

    // Coral's input validation comes first.
    let role_arn = p.required("RoleArn")?;
    let session_name = p.required("RoleSessionName")?;
    let duration = p.int("DurationSeconds")?;
    let policy = p.get("Policy");
    let external_id = p.get("ExternalId");
    let source_identity = p.get("SourceIdentity");
    let mut checks = Checks::new();
    checks.length(role_arn, "RoleArn", 20, 2048);
    if !session_name.chars().all(awsquery::is_name_char) {
        checks.fail(
            session_name,
            "roleSessionName",
            r"satisfy regular expression pattern: [\w+=,.@-]*",
        );
    }
    checks.length(session_name, "RoleSessionName", 2, 64);
    if let Some(d) = duration {
        checks.range(d, "DurationSeconds", 900, 43200);
    }
    if let Some(pol) = policy {
        checks.length(pol, "Policy", 1, usize::MAX);
    }
    if let Some(e) = external_id {
        checks.length(e, "ExternalId", 2, 1224);
    }
    if let Some(s) = source_identity {
        checks.length(s, "SourceIdentity", 2, 64);
    }
    checks.done()?;
    let policy_arns: Vec<String> = p
        .structs("PolicyArns")
        .iter()
        .filter_map(|s| Params(s).get("arn").map(str::to_string))
        .collect();

    let state = caller.state.clone();
    let who = &caller.identity;
    if who.kind == CallerKind::Root {
        return Err(access_denied("Roles may not be assumed by root accounts."));
    }

    // The session policies, validated before the decision (AWS refuses a malformed one even
    // for a caller it would not let in).
    if let Some(doc) = policy {
        Policy::parse(doc, PolicyKind::Session)
            .map_err(|e| ApiError::new("MalformedPolicyDocument", 400, e.to_string()))?;
    }
    for arn in &policy_arns {
        if !state.policies.contains_key(arn) {
            return Err(awsquery::validation(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
    }
    let packed =
        policy.map(minified_len).unwrap_or(0) + policy_arns.iter().map(|a| a.len()).sum::<usize>();
    let packed_percent = (packed * 100).div_ceil(PACKED_LIMIT);
    if packed > PACKED_LIMIT {
        return Err(ApiError::new(
            "PackedPolicyTooLarge",
            400,
            format!("Packed policy consumes {packed_percent}% of allotted space, please use smaller policy."),
        ));
    }

    // The role, its trust policy and the caller's policies: the IAM gate.
    let mut context = vec![("sts:RoleSessionName", session_name)];
    context.extend(external_id.map(|e| ("sts:ExternalId", e)));
    context.extend(source_identity.map(|s| ("sts:SourceIdentity", s)));
    app.decide(
        caller,
        inc,
        crate::auth::Proto::Query,
        bg_gates::decide::Operation::AssumeRole {
            role_arn,
            context: &context,
        },
    )?;
    let Some(role) = state.principals.get(role_arn) else {
        return Err(ApiError::new(
            "InternalFailure",
            500,
            "the admitted role is gone",
        ));
    };
    let PrincipalKind::Role(role_fields) = &role.kind else {
        return Err(ApiError::new(
            "InternalFailure",
            500,
            "the admitted role is no role",
        ));
    };

    let max = if who.kind == CallerKind::AssumedRole {
        3600
    } else {
        i64::from(role_fields.max_session_duration)
    };
    let duration = duration.unwrap_or(3600.min(max));
    if duration > max {
        return Err(awsquery::validation(
            if who.kind == CallerKind::AssumedRole {
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
            } else {
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            },
        ));
    }

    let session = Session {
        role_arn: role.arn.clone(),
        session_name: session_name.to_string(),
        policy: policy.map(str::to_string),
        policy_arns: policy_arns.clone(),
    };
    let key = AccessKey {
        access_key_id: awsquery::access_key_id("ASIA"),
        secret_access_key: awsquery::secret_access_key(),
        principal_arn: role.arn.clone(),
        account: role.account.clone(),
        session_token: Some(awsquery::session_token()),
        expires_unix: Some(now + duration),
        active: true,
        session: Some(Box::new(session.clone())),
        created_unix: now,
    };
    app.write(&[Change::Put(Entity::AccessKey(key.clone()))])
        .map_err(|e| {
            tracing::error!("sts write failed: {e}");
            ApiError::new("InternalFailure", 500, "An internal error occurred.")
        })?;

    let mut x = Xml::new();
    x.opt("SourceIdentity", source_identity);
    x.open("AssumedRoleUser")
        .leaf(
            "AssumedRoleId",
            format!("{}:{session_name}", role.unique_id),
        )
        .leaf("Arn", session.assumed_role_arn())
        .close("AssumedRoleUser");
    x.open("Credentials")
        .leaf("AccessKeyId", &key.access_key_id)
        .leaf("SecretAccessKey", &key.secret_access_key)
        .leaf("SessionToken", key.session_token.as_deref().unwrap_or(""))
        .leaf("Expiration", awsquery::iso8601(now + duration))
        .close("Credentials");
    if policy.is_some() || !policy_arns.is_empty() {
        x.leaf("PackedPolicySize", packed_percent);
    }
    Ok(awsquery::response(
        "AssumeRole",
        STS_XMLNS,
        Some(x.finish()),
        request_id,
    ))
}

/// Characters of the document once whitespace outside strings is removed.
fn minified_len(doc: &str) -> usize {
    serde_json::from_str::<serde_json::Value>(doc)
        .map(|v| v.to_string().chars().count())
        .unwrap_or_else(|_| doc.chars().count())
}
