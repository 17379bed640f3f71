//! Policy simulation, JSON in and JSON out: the engine behind
//! `bedrock-gates policy simulate --input FILE|-`.
//!
//! [`simulate_json`] reads one request and the policies that apply to it, parses every
//! policy as its kind, runs [`evaluate`] and returns the decision, the
//! explanation and AWS's `AccessDenied` message.
//!
//! # Input
//!
//! One JSON object:
//!
//! ```json
//! {
//!   "principal": "arn:aws:sts::123456789012:assumed-role/ml-dev/alice",
//!   "action": "bedrock:InvokeModel",
//!   "resource": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1",
//!   "resourceAccount": "123456789012",
//!   "context": { "aws:SourceIp": "10.1.2.3", "aws:TagKeys": ["team", "env"] },
//!   "identityPolicies": [ { "Version": "2012-10-17", "Statement": [] } ],
//!   "permissionBoundaries": [ { "Version": "2012-10-17", "Statement": [] } ],
//!   "serviceControlPolicies": [ [ { "Version": "2012-10-17", "Statement": [] } ], [] ],
//!   "resourceControlPolicies": [ [ { "Version": "2012-10-17", "Statement": [] } ] ],
//!   "sessionPolicy": null,
//!   "resourcePolicy": null
//! }
//! ```
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `principal` | yes | the caller's ARN: `arn:aws:iam::A:user/…`, `…:role/…`, `…:root`, `arn:aws:sts::A:assumed-role/ROLE/SESSION`; a name ending in `.amazonaws.com` is a service principal, `*` or `anonymous` an anonymous caller |
//! | `action` | yes | `service:Action` (case-insensitive) |
//! | `resource` | yes | the resource ARN, or `*` for actions without a resource type |
//! | `resourceAccount` | no | the account owning the resource; absent = the principal's account. A different account makes the request cross-account |
//! | `context` | no | condition keys (case-insensitive): each a string (single-valued) or a list of strings (multivalued). Keys given here win over the ones derived from the principal (`aws:PrincipalArn`, `aws:username`, `aws:PrincipalTag/KEY`, …) |
//! | `identityPolicies` | no | identity-based policies of the user (and its groups) or role |
//! | `permissionBoundaries` | no | at most one: the permissions boundary |
//! | `serviceControlPolicies` | no | SCP levels, root first, then each OU, then the account; each level a list of policies. Absent (or `null`) = no organization or the management account; an empty level allows nothing |
//! | `resourceControlPolicies` | no | RCP levels, same shape. AWS's `RCPFullAWSAccess` is implied at every level: only denies matter |
//! | `sessionPolicy` | no | the session policy, or `null` |
//! | `resourcePolicy` | no | the resource-based policy, or `null` |
//!
//! Every policy is a policy document: a JSON object, or a string holding the document's
//! JSON text (as AWS APIs carry them). Optional keys may be `null`. Any other top-level key
//! is an error naming it.
//!
//! Policies are named by their position, and the explanation points at them with those
//! names: `identityPolicies[0]`, `permissionBoundaries[0]`, `serviceControlPolicies[1][0]`
//! (level 1, policy 0), `resourceControlPolicies[0][2]`, `sessionPolicy`, `resourcePolicy`.
//!
//! # Output
//!
//! ```json
//! {
//!   "decision": "ExplicitlyDenied",
//!   "explanation": {
//!     "deniedBy": { "layer": "Scp", "policy": "serviceControlPolicies[1][0]", "sid": "NoBedrock", "index": 0 },
//!     "blockedBy": [],
//!     "allowedBy": [ { "layer": "Scp", "policy": "serviceControlPolicies[0][0]", "sid": null, "index": 0 } ],
//!     "scpDeniedLevel": 1,
//!     "readOnly": null
//!   },
//!   "message": "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m with an explicit deny in a service control policy"
//! }
//! ```
//!
//! * `decision`: `Allowed`, `ImplicitlyDenied` or `ExplicitlyDenied`.
//! * `explanation` (the [`Evaluation`]):
//!   * `deniedBy`: for an explicit deny, the deciding statement — its `layer`, `policy`
//!     (position name), `sid` (or `null`) and `index` (0-based position in its policy);
//!     otherwise `null`;
//!   * `blockedBy`: for an implicit deny, the layers that had no applicable `Allow` and
//!     were needed, in the order `Scp`, `Rcp`, `Identity`/`ResourcePolicy`, `Boundary`,
//!     `Session`;
//!   * `allowedBy`: the `Allow` statements that applied (same shape as `deniedBy`): one per
//!     SCP/RCP level and one per other layer;
//!   * `scpDeniedLevel`: the SCP level (root = 0) that denied explicitly or, failing that,
//!     the first level without an applicable `Allow`; otherwise `null`.
//!   * `readOnly`: `"AwsManagedPolicy"` when the request would create, version, delete or
//!     tag an AWS managed policy (`arn:PARTITION:iam::aws:policy/…`), which no policy can
//!     allow (the decision is then `ImplicitlyDenied` unless a `Deny` applies); otherwise
//!     `null`.
//!
//!   Layers are `Scp`, `Rcp`, `ResourcePolicy`, `Identity`, `Boundary` and `Session`.
//! * `message`: the AWS `AccessDenied` message ([`denial_message`]) — without the
//!   ` on resource: …` part when `resource` is `*` — or `null` when allowed.
//!
//! # Errors
//!
//! [`SimulateError::Input`]: the input is not JSON, not an object, has a duplicated or
//! unknown key, lacks a required key, or a value has the wrong type.
//! [`SimulateError::Policy`]: a policy document was rejected; `Display` reads
//! `{position}: {AWS message} ({detail})`, e.g.
//! `identityPolicies[1]: Policy statement must contain actions. (statement 0: no Action)`.

use crate::json::J;
use crate::{
    denial_message, evaluate, Evaluation, Layer, NamedPolicy, Policies, Policy, PolicyError,
    PolicyKind, Principal, Request, StatementRef,
};
use serde_json::{json, Value};

/// The input keys, in documentation order.
const KEYS: [&str; 11] = [
    "principal",
    "action",
    "resource",
    "resourceAccount",
    "context",
    "identityPolicies",
    "permissionBoundaries",
    "serviceControlPolicies",
    "resourceControlPolicies",
    "sessionPolicy",
    "resourcePolicy",
];

/// Why a simulation input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    /// The input itself is wrong (not JSON, unknown key, missing key, wrong type).
    #[error("invalid simulation input: {0}")]
    Input(String),
    /// A policy document was rejected by the engine.
    #[error("{position}: {error} ({})", error.detail())]
    Policy {
        /// Where the policy is in the input, e.g. `serviceControlPolicies[1][0]`.
        position: String,
        /// The engine's rejection.
        error: PolicyError,
    },
}

fn input(msg: impl Into<String>) -> SimulateError {
    SimulateError::Input(msg.into())
}

/// Runs one simulation: see the [module documentation](self) for the input and output
/// formats.
pub fn simulate_json(input_text: &str) -> Result<Value, SimulateError> {
    let doc = J::parse_lenient(input_text).map_err(|e| input(format!("not JSON: {e}")))?;
    let J::Obj(members) = &doc else {
        return Err(input("the input must be a JSON object"));
    };
    let mut unknown = Vec::new();
    for (i, (k, _)) in members.iter().enumerate() {
        if members[..i].iter().any(|(p, _)| p == k) {
            return Err(input(format!("duplicate key {k:?}")));
        }
        if !KEYS.contains(&k.as_str()) {
            unknown.push(format!("{k:?}"));
        }
    }
    if !unknown.is_empty() {
        return Err(input(format!(
            "unknown key{} {} (known keys: {})",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            KEYS.join(", ")
        )));
    }
    // absent and null are the same
    let get = |k: &str| doc.get(k).filter(|v| **v != J::Null);

    let principal = required_str(get("principal"), "principal")?;
    let action = required_str(get("action"), "action")?;
    let resource = required_str(get("resource"), "resource")?;
    let mut req = Request::new(Principal::from_arn(principal), action, resource);
    req.resource_account = match get("resourceAccount") {
        None => None,
        Some(J::Str(s)) => Some(s.clone()),
        Some(_) => return Err(input("resourceAccount must be a string")),
    };
    match get("context") {
        None => {}
        Some(J::Obj(keys)) => {
            for (k, v) in keys {
                match v {
                    J::Str(s) => {
                        req.context.set(k, s.clone());
                    }
                    J::Arr(items) => {
                        let vals = items
                            .iter()
                            .map(|x| match x {
                                J::Str(s) => Ok(s.clone()),
                                _ => Err(input(format!(
                                    "context key {k:?}: list items must be strings"
                                ))),
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        req.context.set_multi(k, vals);
                    }
                    _ => {
                        return Err(input(format!(
                            "context key {k:?} must map to a string or a list of strings"
                        )))
                    }
                }
            }
        }
        Some(_) => return Err(input("context must be an object")),
    }

    let identity = policy_list(
        get("identityPolicies"),
        "identityPolicies",
        PolicyKind::Identity,
    )?;
    let boundaries = policy_list(
        get("permissionBoundaries"),
        "permissionBoundaries",
        PolicyKind::Boundary,
    )?;
    if boundaries.len() > 1 {
        return Err(input(format!(
            "permissionBoundaries holds {} policies; a principal has at most one",
            boundaries.len()
        )));
    }
    let scps = levels(
        get("serviceControlPolicies"),
        "serviceControlPolicies",
        PolicyKind::Scp,
    )?;
    let rcps = levels(
        get("resourceControlPolicies"),
        "resourceControlPolicies",
        PolicyKind::Rcp,
    )?;
    let session = get("sessionPolicy")
        .map(|v| named(v, "sessionPolicy".into(), PolicyKind::Session))
        .transpose()?;
    let resource_policy = get("resourcePolicy")
        .map(|v| named(v, "resourcePolicy".into(), PolicyKind::Resource))
        .transpose()?;

    let policies = Policies {
        identity: &identity,
        scps: scps.as_deref(),
        rcps: rcps.as_deref(),
        resource: resource_policy.as_ref(),
        boundary: boundaries.first(),
        session: session.as_ref(),
    };
    let ev = evaluate(&req, &policies);
    let message = if ev.is_allowed() {
        Value::Null
    } else {
        let res = (req.resource != "*").then_some(req.resource.as_str());
        Value::String(denial_message(&req.principal.arn, &req.action, res, &ev))
    };
    Ok(json!({
        "decision": ev.decision,
        "explanation": explanation(&ev),
        "message": message,
    }))
}

fn required_str<'a>(v: Option<&'a J>, key: &str) -> Result<&'a str, SimulateError> {
    match v {
        Some(J::Str(s)) => Ok(s),
        Some(_) => Err(input(format!("{key} must be a string"))),
        None => Err(input(format!("{key} is required"))),
    }
}

/// Parses one policy document (an object, or a string holding the JSON text).
fn named(v: &J, position: String, kind: PolicyKind) -> Result<NamedPolicy, SimulateError> {
    let text = match v {
        J::Str(s) => s.clone(),
        J::Obj(_) => v.to_json(),
        _ => {
            return Err(input(format!(
                "{position} must be a policy document (a JSON object, or a string holding one)"
            )))
        }
    };
    match Policy::parse(&text, kind) {
        Ok(p) => Ok(NamedPolicy::new(position, p)),
        Err(error) => Err(SimulateError::Policy { position, error }),
    }
}

fn policy_list(
    v: Option<&J>,
    key: &str,
    kind: PolicyKind,
) -> Result<Vec<NamedPolicy>, SimulateError> {
    match v {
        None => Ok(Vec::new()),
        Some(J::Arr(items)) => items
            .iter()
            .enumerate()
            .map(|(i, p)| named(p, format!("{key}[{i}]"), kind))
            .collect(),
        Some(_) => Err(input(format!("{key} must be a list of policies"))),
    }
}

fn levels(
    v: Option<&J>,
    key: &str,
    kind: PolicyKind,
) -> Result<Option<Vec<Vec<NamedPolicy>>>, SimulateError> {
    let Some(v) = v else { return Ok(None) };
    let J::Arr(levels) = v else {
        return Err(input(format!(
            "{key} must be a list of levels (root first), each a list of policies"
        )));
    };
    levels
        .iter()
        .enumerate()
        .map(|(l, level)| match level {
            J::Arr(items) => items
                .iter()
                .enumerate()
                .map(|(i, p)| named(p, format!("{key}[{l}][{i}]"), kind))
                .collect(),
            _ => Err(input(format!("{key}[{l}] must be a list of policies"))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn layer_name(l: Layer) -> Value {
    serde_json::to_value(l).unwrap_or(Value::Null)
}

fn statement(layer: Layer, r: &StatementRef) -> Value {
    json!({ "layer": layer_name(layer), "policy": r.policy, "sid": r.sid, "index": r.index })
}

fn explanation(ev: &Evaluation) -> Value {
    json!({
        "deniedBy": ev.denied_by.as_ref().map(|(l, r)| statement(*l, r)),
        "blockedBy": ev.blocked_by.iter().map(|l| layer_name(*l)).collect::<Vec<_>>(),
        "allowedBy": ev.allowed_by.iter().map(|(l, r)| statement(*l, r)).collect::<Vec<_>>(),
        "scpDeniedLevel": ev.scp_denied_level,
        "readOnly": ev.read_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "arn:aws:iam::123456789012:user/alice";
    const MODEL: &str = "arn:aws:bedrock:us-east-1::foundation-model/m";

    fn allow_invoke() -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Invoke", "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]})
    }

    fn run(extra: Value) -> Value {
        let mut input =
            json!({"principal": USER, "action": "bedrock:InvokeModel", "resource": MODEL});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        simulate_json(&input.to_string()).expect("simulation runs")
    }

    fn err(input: &str) -> String {
        simulate_json(input)
            .expect_err("should be refused")
            .to_string()
    }

    #[test]
    fn allowed() {
        let out = run(json!({
            "identityPolicies": [allow_invoke()],
            "context": {"aws:SourceIp": "10.0.0.1", "aws:TagKeys": ["a", "b"]},
            "sessionPolicy": null,
        }));
        assert_eq!(
            out,
            json!({
                "decision": "Allowed",
                "explanation": {
                    "deniedBy": null,
                    "blockedBy": [],
                    "allowedBy": [{"layer": "Identity", "policy": "identityPolicies[0]", "sid": "Invoke", "index": 0}],
                    "scpDeniedLevel": null,
                    "readOnly": null
                },
                "message": null
            })
        );
    }

    #[test]
    fn implicit_deny_without_identity_allow() {
        let s3_only = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let out = run(json!({"identityPolicies": [s3_only]}));
        assert_eq!(
            out,
            json!({
                "decision": "ImplicitlyDenied",
                "explanation": {"deniedBy": null, "blockedBy": ["Identity"], "allowedBy": [], "scpDeniedLevel": null, "readOnly": null},
                "message": "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: \
                    bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m \
                    because no identity-based policy allows the bedrock:InvokeModel action"
            })
        );
    }

    #[test]
    fn explicit_deny_in_scp_level_1() {
        let full = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let deny = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "NoBedrock", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}]});
        let out = run(json!({
            "identityPolicies": [allow_invoke()],
            "serviceControlPolicies": [[full], [full, deny]],
        }));
        assert_eq!(
            out,
            json!({
                "decision": "ExplicitlyDenied",
                "explanation": {
                    "deniedBy": {"layer": "Scp", "policy": "serviceControlPolicies[1][1]", "sid": "NoBedrock", "index": 1},
                    "blockedBy": [],
                    "allowedBy": [{"layer": "Scp", "policy": "serviceControlPolicies[0][0]", "sid": null, "index": 0}],
                    "scpDeniedLevel": 1,
                    "readOnly": null
                },
                "message": "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: \
                    bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m \
                    with an explicit deny in a service control policy"
            })
        );
    }

    #[test]
    fn boundary_blocks() {
        let b = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let out = run(json!({"identityPolicies": [allow_invoke()], "permissionBoundaries": [b]}));
        assert_eq!(
            out,
            json!({
                "decision": "ImplicitlyDenied",
                "explanation": {
                    "deniedBy": null,
                    "blockedBy": ["Boundary"],
                    "allowedBy": [{"layer": "Identity", "policy": "identityPolicies[0]", "sid": "Invoke", "index": 0}],
                    "scpDeniedLevel": null,
                    "readOnly": null
                },
                "message": "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: \
                    bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m \
                    because no permissions boundary allows the bedrock:InvokeModel action"
            })
        );
    }

    #[test]
    fn session_policy_blocks() {
        let session = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "bedrock:List*", "Resource": "*"}]});
        let mut input = json!({
            "principal": "arn:aws:sts::123456789012:assumed-role/ml/alice",
            "action": "bedrock:InvokeModel",
            "resource": "*",
            "identityPolicies": [allow_invoke()],
            "sessionPolicy": session,
            "resourcePolicy": null,
        });
        let out = simulate_json(&input.to_string()).unwrap();
        assert_eq!(
            out,
            json!({
                "decision": "ImplicitlyDenied",
                "explanation": {
                    "deniedBy": null,
                    "blockedBy": ["Session"],
                    "allowedBy": [{"layer": "Identity", "policy": "identityPolicies[0]", "sid": "Invoke", "index": 0}],
                    "scpDeniedLevel": null,
                    "readOnly": null
                },
                "message": "User: arn:aws:sts::123456789012:assumed-role/ml/alice is not authorized \
                    to perform: bedrock:InvokeModel because no session policy allows the \
                    bedrock:InvokeModel action"
            })
        );
        // an explicit deny in the session policy names the statement
        input["sessionPolicy"] = json!({"Statement": [
            {"Sid": "x", "Effect": "Deny", "Action": "*", "Resource": "*"}]});
        let out = simulate_json(&input.to_string()).unwrap();
        assert_eq!(
            out["explanation"]["deniedBy"],
            json!({"layer": "Session", "policy": "sessionPolicy", "sid": "x", "index": 0})
        );
    }

    #[test]
    fn aws_managed_policies_are_read_only() {
        let admin = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let arn = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess";
        for action in [
            "iam:CreatePolicy",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:TagPolicy",
            "iam:UntagPolicy",
        ] {
            let input = json!({"principal": USER, "action": action, "resource": arn,
                "identityPolicies": [admin]});
            let out = simulate_json(&input.to_string()).unwrap();
            assert_eq!(
                out,
                json!({
                    "decision": "ImplicitlyDenied",
                    "explanation": {
                        "deniedBy": null,
                        "blockedBy": [],
                        "allowedBy": [{"layer": "Identity", "policy": "identityPolicies[0]", "sid": "All", "index": 0}],
                        "scpDeniedLevel": null,
                        "readOnly": "AwsManagedPolicy"
                    },
                    "message": format!("User: {USER} is not authorized to perform: {action} on \
                        resource: {arn} because no identity-based policy allows the {action} action")
                }),
                "{action}"
            );
            // the root user, with no policy at all
            let input = json!({"principal": "arn:aws-us-gov:iam::123456789012:root", "action": action,
                "resource": "arn:aws-us-gov:iam::aws:policy/AdministratorAccess"});
            let out = simulate_json(&input.to_string()).unwrap();
            assert_eq!(out["decision"], "ImplicitlyDenied");
            assert_eq!(out["explanation"]["readOnly"], "AwsManagedPolicy");
        }
        // reading stays allowed
        let input = json!({"principal": USER, "action": "iam:GetPolicy", "resource": arn,
            "identityPolicies": [admin]});
        let out = simulate_json(&input.to_string()).unwrap();
        assert_eq!(out["decision"], "Allowed");
        assert_eq!(out["explanation"]["readOnly"], Value::Null);
    }

    #[test]
    fn malformed_policies_name_their_position() {
        let no_action =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]});
        let input = json!({"principal": USER, "action": "a:b", "resource": "*",
            "identityPolicies": [allow_invoke(), no_action]});
        assert_eq!(
            err(&input.to_string()),
            "identityPolicies[1]: Policy statement must contain actions. (statement 0: no Action)"
        );
        let e = simulate_json(&input.to_string()).unwrap_err();
        match e {
            SimulateError::Policy { position, error } => {
                assert_eq!(position, "identityPolicies[1]");
                assert_eq!(error.reason(), &crate::PolicyErrorReason::MissingActions);
            }
            other => panic!("{other:?}"),
        }
        // SCPs answer with the Organizations message; the detail says what was wrong
        let input = json!({"principal": USER, "action": "a:b", "resource": "*",
            "serviceControlPolicies": [[allow_invoke()], [{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}]]});
        assert_eq!(
            err(&input.to_string()),
            "serviceControlPolicies[1][0]: The provided policy document does not meet the \
             requirements of the specified policy type. (statement 0)"
        );
        // a document given as a string is parsed as such
        let input = json!({"principal": USER, "action": "a:b", "resource": "*", "sessionPolicy": "{not json"});
        assert!(err(&input.to_string())
            .starts_with("sessionPolicy: Syntax errors in policy. (invalid JSON: "));
        // duplicate keys inside a policy object are kept for the engine to refuse
        let dup = format!(
            r#"{{"principal":"{USER}","action":"a:b","resource":"*","resourcePolicy":{{"Statement":[{{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"*"}}]}}}}"#
        );
        assert!(err(&dup).starts_with(
            "resourcePolicy: Syntax errors in policy. (invalid JSON: duplicate key \"Effect\""
        ));
        let input =
            json!({"principal": USER, "action": "a:b", "resource": "*", "identityPolicies": [5]});
        assert_eq!(
            err(&input.to_string()),
            "invalid simulation input: identityPolicies[0] must be a policy document (a JSON \
             object, or a string holding one)"
        );
    }

    #[test]
    fn malformed_input() {
        assert!(err("{").starts_with("invalid simulation input: not JSON: "));
        assert_eq!(
            err("[]"),
            "invalid simulation input: the input must be a JSON object"
        );
        assert_eq!(
            err(r#"{"action":"a:b","resource":"*"}"#),
            "invalid simulation input: principal is required"
        );
        assert_eq!(
            err(&format!(
                r#"{{"principal":"{USER}","action":1,"resource":"*"}}"#
            )),
            "invalid simulation input: action must be a string"
        );
        assert_eq!(
            err(&format!(
                r#"{{"principal":"{USER}","action":"a:b","resource":"*","Principal":"x","extra":1}}"#
            )),
            "invalid simulation input: unknown keys \"Principal\", \"extra\" (known keys: \
             principal, action, resource, resourceAccount, context, identityPolicies, \
             permissionBoundaries, serviceControlPolicies, resourceControlPolicies, \
             sessionPolicy, resourcePolicy)"
        );
        assert_eq!(
            err(&format!(
                r#"{{"principal":"{USER}","principal":"{USER}","action":"a:b","resource":"*"}}"#
            )),
            "invalid simulation input: duplicate key \"principal\""
        );
        let b = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let input = json!({"principal": USER, "action": "a:b", "resource": "*", "permissionBoundaries": [b, b]});
        assert_eq!(
            err(&input.to_string()),
            "invalid simulation input: permissionBoundaries holds 2 policies; a principal has at most one"
        );
        let input =
            json!({"principal": USER, "action": "a:b", "resource": "*", "context": {"k:v": 1}});
        assert_eq!(
            err(&input.to_string()),
            "invalid simulation input: context key \"k:v\" must map to a string or a list of strings"
        );
        let input = json!({"principal": USER, "action": "a:b", "resource": "*", "serviceControlPolicies": [{}]});
        assert_eq!(
            err(&input.to_string()),
            "invalid simulation input: serviceControlPolicies[0] must be a list of policies"
        );
    }

    #[test]
    fn cross_account_rcp_and_resource_policy() {
        let rp = json!({"Statement": [{"Sid": "Rp", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "bedrock:*", "Resource": "*"}]});
        let rcp = json!({"Statement": [{"Sid": "NoHttp", "Effect": "Deny", "Principal": "*", "Action": "*",
            "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        let base = json!({
            "identityPolicies": [allow_invoke()],
            "resourceAccount": "210987654321",
            "resourcePolicy": rp,
            "resourceControlPolicies": [[rcp]],
            "context": {"aws:SecureTransport": "true"},
        });
        let out = run(base.clone());
        assert_eq!(out["decision"], "Allowed");
        assert_eq!(
            out["explanation"]["allowedBy"],
            json!([
                {"layer": "Identity", "policy": "identityPolicies[0]", "sid": "Invoke", "index": 0},
                {"layer": "ResourcePolicy", "policy": "resourcePolicy", "sid": "Rp", "index": 0}
            ])
        );
        let mut insecure = base;
        insecure["context"] = json!({"aws:SecureTransport": "false"});
        let out = run(insecure);
        assert_eq!(
            out["explanation"]["deniedBy"],
            json!({"layer": "Rcp", "policy": "resourceControlPolicies[0][0]", "sid": "NoHttp", "index": 0})
        );
        assert!(out["message"]
            .as_str()
            .unwrap()
            .ends_with("with an explicit deny in a resource control policy"));
    }
}
