//! The decision: AWS's policy evaluation logic, with an explanation.

use crate::env::Env;
use crate::policy::{Effect, Grant, NamedPolicy, PolicyKind};
use crate::request::{PrincipalKind, Request};
use serde::Serialize;

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Decision {
    Allowed,
    ImplicitlyDenied,
    ExplicitlyDenied,
}

/// A policy layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layer {
    /// Service control policies.
    Scp,
    /// Resource control policies.
    Rcp,
    /// The resource-based policy.
    ResourcePolicy,
    /// Identity-based policies.
    Identity,
    /// The permissions boundary.
    Boundary,
    /// The session policy.
    Session,
}

impl Layer {
    /// How AWS names the layer in its messages.
    pub fn aws_name(self) -> &'static str {
        match self {
            Layer::Scp => "service control policy",
            Layer::Rcp => "resource control policy",
            Layer::ResourcePolicy => "resource-based policy",
            Layer::Identity => "identity-based policy",
            Layer::Boundary => "permissions boundary",
            Layer::Session => "session policy",
        }
    }
}

/// Why a request is refused whatever the policies say.
///
/// AWS keeps some resources out of every customer's reach: no policy, not even the account
/// root user's implicit full access, lets a principal change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum ReadOnly {
    /// The resource is an AWS managed policy (`arn:PARTITION:iam::aws:policy/…`, in any
    /// partition: `aws`, `aws-cn`, `aws-us-gov`, …) and the action would create, change,
    /// delete or tag it: `iam:CreatePolicy`, `iam:CreatePolicyVersion`, `iam:DeletePolicy`,
    /// `iam:DeletePolicyVersion`, `iam:SetDefaultPolicyVersion`, `iam:TagPolicy` or
    /// `iam:UntagPolicy`. Reading it (`iam:GetPolicy`, `iam:ListPolicyVersions`, …) and
    /// attaching it stay governed by the policies.
    AwsManagedPolicy,
}

/// The actions [`ReadOnly::AwsManagedPolicy`] refuses, lower-cased.
const AWS_MANAGED_POLICY_WRITES: [&str; 7] = [
    "iam:createpolicy",
    "iam:createpolicyversion",
    "iam:deletepolicy",
    "iam:deletepolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:tagpolicy",
    "iam:untagpolicy",
];

/// Whether `arn` names an AWS managed policy: `arn:PARTITION:iam::aws:policy/…` with an AWS
/// partition (`aws` or `aws-…`). Case-sensitive, as resource ARNs are.
fn is_aws_managed_policy(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let mut next = || parts.next().unwrap_or("");
    let (prefix, partition, service, region, account, resource) =
        (next(), next(), next(), next(), next(), next());
    prefix == "arn"
        && (partition == "aws" || partition.starts_with("aws-"))
        && service == "iam"
        && region.is_empty()
        && account == "aws"
        && resource.starts_with("policy/")
}

/// The [`ReadOnly`] rule that refuses `action_lc` (lower-cased) on `resource`, if any.
fn read_only(action_lc: &str, resource: &str) -> Option<ReadOnly> {
    (AWS_MANAGED_POLICY_WRITES.contains(&action_lc) && is_aws_managed_policy(resource))
        .then_some(ReadOnly::AwsManagedPolicy)
}

/// A statement that took part in the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    /// The policy name as given by the caller ([`NamedPolicy::name`]).
    pub policy: String,
    /// The statement's `Sid`.
    pub sid: Option<String>,
    /// The statement's position in its policy (0-based).
    pub index: usize,
    /// The policy ARN ([`NamedPolicy::arn`]), when the caller gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_arn: Option<String>,
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub decision: Decision,
    /// For an explicit deny: the deciding statement (the first found in the order SCP, RCP,
    /// identity, resource, boundary, session).
    pub denied_by: Option<(Layer, StatementRef)>,
    /// For an implicit deny: the layers that had no applicable `Allow` and were needed,
    /// in the order SCP, RCP, identity/resource, boundary, session.
    pub blocked_by: Vec<Layer>,
    /// Allow statements that applied: one per SCP/RCP level and one per other layer.
    pub allowed_by: Vec<(Layer, StatementRef)>,
    /// Index (root = 0) of the SCP level that explicitly denied or, failing that, the first
    /// level without an applicable `Allow`.
    pub scp_denied_level: Option<usize>,
    /// For an implicit deny: the rule that refuses the request whatever the policies say,
    /// when one does. `blocked_by` and `allowed_by` still describe the policies (so with an
    /// `Allow *` on `*`, `blocked_by` is empty and `allowed_by` names that statement).
    pub read_only: Option<ReadOnly>,
}

impl Evaluation {
    fn new() -> Evaluation {
        Evaluation {
            decision: Decision::ImplicitlyDenied,
            denied_by: None,
            blocked_by: Vec::new(),
            allowed_by: Vec::new(),
            scp_denied_level: None,
            read_only: None,
        }
    }

    fn deny(mut self, layer: Layer, by: StatementRef, scp_level: Option<usize>) -> Evaluation {
        self.decision = Decision::ExplicitlyDenied;
        self.denied_by = Some((layer, by));
        self.blocked_by.clear();
        if scp_level.is_some() {
            self.scp_denied_level = scp_level;
        }
        self
    }

    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allowed
    }
}

/// The policies that apply to a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policies<'a> {
    /// Identity-based policies: the user's and its groups', or the role's.
    pub identity: &'a [NamedPolicy],
    /// SCP levels, root first, then each OU, then the account; each level a list of policies.
    /// `None` for a management account or an account outside an organization.
    pub scps: Option<&'a [Vec<NamedPolicy>]>,
    /// RCP levels (same shape), for a resource in a member account. AWS attaches the
    /// undetachable `RCPFullAWSAccess` at every level, so a level without an applicable
    /// `Allow` is still allowed: only explicit denies in RCPs matter.
    pub rcps: Option<&'a [Vec<NamedPolicy>]>,
    /// The resource-based policy of the resource, if any.
    pub resource: Option<&'a NamedPolicy>,
    /// The principal's permissions boundary, if any.
    pub boundary: Option<&'a NamedPolicy>,
    /// The session policy, if any.
    pub session: Option<&'a NamedPolicy>,
}

/// First applicable deny and first applicable allow of a policy.
#[derive(Debug, Default, PartialEq)]
struct Scan {
    deny: Option<StatementRef>,
    allow: Option<(Grant, StatementRef)>,
}

fn sref(np: &NamedPolicy, index: usize) -> StatementRef {
    StatementRef {
        policy: np.name.clone(),
        sid: np.policy.statements()[index].sid().map(str::to_string),
        index,
        policy_arn: np.arn.clone(),
    }
}

/// Scans one policy. For resource-based policies the principal element must name the
/// caller, and the allow kept is the one with the strongest [`Grant`]; other kinds ignore
/// the principal element. With `need_allow` false (the caller already holds an allow for
/// this layer, so another one would be dropped) `Allow` statements of other kinds are not
/// looked at.
fn scan(np: &NamedPolicy, env: &Env<'_>, need_allow: bool) -> Scan {
    // only the statements whose Action element can match the request's action
    let candidates = np.policy.candidates(env.service_key());
    scan_positions(np, env, need_allow, candidates)
}

/// [`scan`] over the statements at `positions` (ascending).
fn scan_positions(
    np: &NamedPolicy,
    env: &Env<'_>,
    need_allow: bool,
    positions: impl Iterator<Item = usize>,
) -> Scan {
    let resource_kind = np.policy.kind() == PolicyKind::Resource;
    let mut out = Scan::default();
    let statements = np.policy.statements();
    for i in positions {
        let st = &statements[i];
        if st.effect() == Effect::Allow && !resource_kind && (!need_allow || out.allow.is_some()) {
            continue; // only denies can still change anything
        }
        let grant = if resource_kind {
            match st.principal_grant(env) {
                Some(g) => g,
                None => continue,
            }
        } else {
            Grant::Direct
        };
        if st.effect() == Effect::Allow && out.allow.as_ref().is_some_and(|(g, _)| *g >= grant) {
            continue;
        }
        if !st.matches(env) {
            continue;
        }
        match st.effect() {
            Effect::Deny => {
                out.deny = Some(sref(np, i));
                return out;
            }
            Effect::Allow => out.allow = Some((grant, sref(np, i))),
        }
    }
    out
}

/// Evaluates `req` against `policies` following AWS's published evaluation logic.
///
/// 1. `sts:GetCallerIdentity` is always allowed for an authenticated caller (AWS: "No
///    permissions are required to perform this operation", even with an explicit deny).
/// 2. An applicable `Deny` in any layer wins (`ExplicitlyDenied`).
/// 3. Every SCP level must hold an applicable `Allow` (principals with identities only:
///    SCPs do not apply to service principals or anonymous callers).
/// 4. RCPs can only deny (see [`Policies::rcps`]).
/// 5. Same account: the request is allowed by an identity-policy `Allow` that the
///    permissions boundary and the session policy (when present) also allow, or by a
///    resource-policy `Allow`:
///    * naming the caller itself (IAM user ARN, role-session ARN, root) or `*`: grants on
///      its own, not limited by an implicit deny in identity policies, boundary or session
///      policy;
///    * naming the role ARN of the caller (a role, or a session of it): replaces the
///      identity policies but is limited by the boundary and the session policy;
///    * naming only the caller's account: delegates to the account's identity policies and
///      grants nothing by itself.
///
///    The account root user is allowed by identity without any policy.
/// 6. Cross-account (`resource_account` differs): the identity side (identity policies ∩
///    boundary ∩ session policy) and the resource policy must both allow.
/// 7. Service principals and anonymous callers have no identity side: only the resource
///    policy (and RCPs) count.
/// 8. A request no policy can allow ([`ReadOnly`]: changing an AWS managed policy) is
///    `ImplicitlyDenied` with [`Evaluation::read_only`] set, even for the account root user
///    under an `Allow *` on `*`; an applicable `Deny` still makes it `ExplicitlyDenied`.
pub fn evaluate(req: &Request, policies: &Policies<'_>) -> Evaluation {
    evaluate_reporting(req, policies).0
}

/// [`evaluate`], and whether the decision read the request's context (a condition key or a
/// policy variable, [`Request::context`] or a key derived from the principal). When it did
/// not, the same policies decide the same way for the same principal, action and resource
/// whatever the context: a caller may reuse the decision while the policies are unchanged.
pub fn evaluate_reporting(req: &Request, policies: &Policies<'_>) -> (Evaluation, bool) {
    let principal = &req.principal;
    let identity_side = principal.has_identity();
    let boundary = policies.boundary.filter(|_| identity_side);
    let session = policies.session.filter(|_| identity_side);
    let env = Env::new(req, boundary.is_some());
    let ev = decide(req, policies, &env, identity_side, boundary, session);
    (ev, env.consulted.get())
}

fn decide(
    req: &Request,
    policies: &Policies<'_>,
    env: &Env<'_>,
    identity_side: bool,
    boundary: Option<&NamedPolicy>,
    session: Option<&NamedPolicy>,
) -> Evaluation {
    let principal = &req.principal;
    let mut ev = Evaluation::new();

    if identity_side && env.action_lc == "sts:getcalleridentity" {
        ev.decision = Decision::Allowed;
        return ev;
    }

    // SCPs
    let mut scp_ok = true;
    if let (true, Some(levels)) = (identity_side, policies.scps) {
        for (level, nps) in levels.iter().enumerate() {
            let mut allow = None;
            for np in nps {
                let s = scan(np, env, allow.is_none());
                if let Some(d) = s.deny {
                    return ev.deny(Layer::Scp, d, Some(level));
                }
                if allow.is_none() {
                    allow = s.allow.map(|(_, r)| r);
                }
            }
            match allow {
                Some(r) => ev.allowed_by.push((Layer::Scp, r)),
                None => {
                    if scp_ok {
                        ev.scp_denied_level = Some(level);
                    }
                    scp_ok = false;
                }
            }
        }
    }

    // RCPs: RCPFullAWSAccess is implicitly present at every level.
    if let Some(levels) = policies.rcps {
        for nps in levels {
            let mut allow = None;
            for np in nps {
                let s = scan(np, env, allow.is_none());
                if let Some(d) = s.deny {
                    return ev.deny(Layer::Rcp, d, None);
                }
                if allow.is_none() {
                    allow = s.allow.map(|(_, r)| r);
                }
            }
            if let Some(r) = allow {
                ev.allowed_by.push((Layer::Rcp, r));
            }
        }
    }

    // Identity-based policies
    let mut id_allow = principal.kind == PrincipalKind::Root;
    if identity_side {
        let mut first = None;
        for np in policies.identity {
            let s = scan(np, env, first.is_none());
            if let Some(d) = s.deny {
                return ev.deny(Layer::Identity, d, None);
            }
            if first.is_none() {
                first = s.allow.map(|(_, r)| r);
            }
        }
        if let Some(r) = first {
            id_allow = true;
            ev.allowed_by.push((Layer::Identity, r));
        }
    }

    // Resource-based policy
    let mut rp_grant: Option<Grant> = None;
    if let Some(np) = policies.resource {
        let s = scan(np, env, true);
        if let Some(d) = s.deny {
            return ev.deny(Layer::ResourcePolicy, d, None);
        }
        if let Some((g, r)) = s.allow {
            rp_grant = Some(g);
            ev.allowed_by.push((Layer::ResourcePolicy, r));
        }
    }

    // Permissions boundary and session policy
    let limit = |np: Option<&NamedPolicy>,
                 layer: Layer,
                 ev: &mut Evaluation|
     -> Result<bool, StatementRef> {
        let Some(np) = np else { return Ok(true) };
        let s = scan(np, env, true);
        if let Some(d) = s.deny {
            return Err(d);
        }
        Ok(match s.allow {
            Some((_, r)) => {
                ev.allowed_by.push((layer, r));
                true
            }
            None => false,
        })
    };
    let pb_ok = match limit(boundary, Layer::Boundary, &mut ev) {
        Ok(b) => b,
        Err(d) => return ev.deny(Layer::Boundary, d, None),
    };
    let session_ok = match limit(session, Layer::Session, &mut ev) {
        Ok(b) => b,
        Err(d) => return ev.deny(Layer::Session, d, None),
    };

    let mut blocked = Vec::new();
    if !scp_ok {
        blocked.push(Layer::Scp);
    }
    if !identity_side {
        if rp_grant.is_none() {
            blocked.push(Layer::ResourcePolicy);
        }
    } else if req.same_account() {
        let direct = rp_grant == Some(Grant::Direct);
        let bounded_path = id_allow || rp_grant == Some(Grant::Role);
        if !direct {
            if !bounded_path {
                blocked.push(Layer::Identity);
            }
            if !pb_ok {
                blocked.push(Layer::Boundary);
            }
            if !session_ok {
                blocked.push(Layer::Session);
            }
        }
    } else {
        if !id_allow {
            blocked.push(Layer::Identity);
        }
        if rp_grant.is_none() {
            blocked.push(Layer::ResourcePolicy);
        }
        if !pb_ok {
            blocked.push(Layer::Boundary);
        }
        if !session_ok {
            blocked.push(Layer::Session);
        }
    }
    ev.read_only = read_only(&env.action_lc, &req.resource);
    ev.decision = if blocked.is_empty() && ev.read_only.is_none() {
        Decision::Allowed
    } else {
        Decision::ImplicitlyDenied
    };
    ev.blocked_by = blocked;
    ev
}

/// The AWS `AccessDenied` message for an evaluation:
///
/// * explicit deny: `User: {principal_arn} is not authorized to perform: {action} on
///   resource: {resource} with an explicit deny in a {layer}` — layer being "service control
///   policy", "resource control policy", "identity-based policy", "resource-based policy",
///   "permissions boundary" or "session policy" — followed by `: {arn}` when the deciding
///   policy has an ARN;
/// * implicit deny: `… because no {layer} allows the {action} action`, for the first
///   blocking layer (the identity-based variant when nothing else applies, including for an
///   `Allowed` evaluation and for a [`ReadOnly`] refusal that no layer blocked).
///
/// With `resource` `None` (actions without a resource type) the ` on resource: …` part is
/// left out.
pub fn denial_message(
    principal_arn: &str,
    action: &str,
    resource: Option<&str>,
    eval: &Evaluation,
) -> String {
    let mut m = format!("User: {principal_arn} is not authorized to perform: {action}");
    if let Some(r) = resource {
        m.push_str(" on resource: ");
        m.push_str(r);
    }
    match &eval.denied_by {
        Some((layer, by)) => {
            let article = match layer {
                Layer::Identity => "an",
                _ => "a",
            };
            m.push_str(&format!(
                " with an explicit deny in {article} {}",
                layer.aws_name()
            ));
            if let Some(arn) = &by.policy_arn {
                m.push_str(": ");
                m.push_str(arn);
            }
        }
        None => {
            let layer = eval.blocked_by.first().copied().unwrap_or(Layer::Identity);
            m.push_str(&format!(
                " because no {} allows the {action} action",
                layer.aws_name()
            ));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use crate::request::Principal;

    const ACCT: &str = "123456789012";
    const OTHER: &str = "210987654321";
    const USER: &str = "arn:aws:iam::123456789012:user/alice";
    const ROLE: &str = "arn:aws:iam::123456789012:role/r";
    const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/r/s";
    const MODEL: &str = "arn:aws:bedrock:us-east-1::foundation-model/m";

    fn pol(kind: PolicyKind, name: &str, statements: &str) -> NamedPolicy {
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#);
        NamedPolicy::new(name, Policy::parse(&doc, kind).expect("valid test policy"))
    }
    fn id(statements: &str) -> NamedPolicy {
        pol(PolicyKind::Identity, "id", statements)
    }
    fn allow_all(kind: PolicyKind, name: &str) -> NamedPolicy {
        pol(
            kind,
            name,
            r#"[{"Effect":"Allow","Action":"*","Resource":"*"}]"#,
        )
    }
    fn rp(principal: &str, effect: &str) -> NamedPolicy {
        pol(
            PolicyKind::Resource,
            "rp",
            &format!(
                r#"[{{"Sid":"R","Effect":"{effect}","Principal":{principal},"Action":"bedrock:*","Resource":"*"}}]"#
            ),
        )
    }
    fn req(principal: &str) -> Request {
        Request::new(Principal::from_arn(principal), "bedrock:InvokeModel", MODEL)
    }

    #[test]
    fn identity_allow_and_implicit_deny() {
        let ids = [id(
            r#"{"Effect":"Allow","Action":"bedrock:Invoke*","Resource":"*"}"#,
        )];
        let p = Policies {
            identity: &ids,
            ..Default::default()
        };
        let ev = evaluate(&req(USER), &p);
        assert_eq!(ev.decision, Decision::Allowed);
        assert_eq!(ev.allowed_by.len(), 1);
        assert_eq!(ev.allowed_by[0].0, Layer::Identity);
        let mut r = req(USER);
        r.action = "bedrock:ListFoundationModels".into();
        let ev = evaluate(&r, &p);
        assert_eq!(ev.decision, Decision::ImplicitlyDenied);
        assert_eq!(ev.blocked_by, vec![Layer::Identity]);
        // actions are case-insensitive
        r.action = "BEDROCK:invokemodel".into();
        assert!(evaluate(&r, &p).is_allowed());
    }

    #[test]
    fn explicit_deny_wins_and_is_reported() {
        let ids = [
            allow_all(PolicyKind::Identity, "admin"),
            pol(
                PolicyKind::Identity,
                "guard",
                r#"[{"Sid":"NoInvoke","Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"*"}]"#,
            ),
        ];
        let ev = evaluate(
            &req(USER),
            &Policies {
                identity: &ids,
                ..Default::default()
            },
        );
        assert_eq!(ev.decision, Decision::ExplicitlyDenied);
        let (layer, by) = ev.denied_by.clone().unwrap();
        assert_eq!(layer, Layer::Identity);
        assert_eq!(by.policy, "guard");
        assert_eq!(by.sid.as_deref(), Some("NoInvoke"));
        assert_eq!(by.index, 0);
        assert_eq!(
            denial_message(USER, "bedrock:InvokeModel", Some(MODEL), &ev),
            format!("User: {USER} is not authorized to perform: bedrock:InvokeModel on resource: {MODEL} with an explicit deny in an identity-based policy")
        );
    }

    #[test]
    fn scp_levels() {
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        let levels = vec![
            vec![allow_all(PolicyKind::Scp, "FullAWSAccess")],
            vec![pol(
                PolicyKind::Scp,
                "ou",
                r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]"#,
            )],
            vec![allow_all(PolicyKind::Scp, "acct")],
        ];
        let p = Policies {
            identity: &ids,
            scps: Some(&levels),
            ..Default::default()
        };
        let ev = evaluate(&req(USER), &p);
        assert_eq!(ev.decision, Decision::ImplicitlyDenied);
        assert_eq!(ev.blocked_by, vec![Layer::Scp]);
        assert_eq!(ev.scp_denied_level, Some(1));
        assert_eq!(
            denial_message(USER, "bedrock:InvokeModel", Some(MODEL), &ev),
            format!("User: {USER} is not authorized to perform: bedrock:InvokeModel on resource: {MODEL} because no service control policy allows the bedrock:InvokeModel action")
        );
        // an explicit deny at a level wins and names it, with the SCP's ARN
        let arn = "arn:aws:organizations::111111111111:policy/o-abc/service_control_policy/p-123";
        let levels = vec![
            vec![allow_all(PolicyKind::Scp, "FullAWSAccess")],
            vec![
                allow_all(PolicyKind::Scp, "FullAWSAccess"),
                pol(
                    PolicyKind::Scp,
                    "deny-bedrock",
                    r#"[{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}]"#,
                )
                .with_arn(arn),
            ],
        ];
        let p = Policies {
            identity: &ids,
            scps: Some(&levels),
            ..Default::default()
        };
        let ev = evaluate(&req(USER), &p);
        assert_eq!(ev.decision, Decision::ExplicitlyDenied);
        assert_eq!(ev.scp_denied_level, Some(1));
        assert_eq!(
            denial_message(USER, "bedrock:InvokeModel", None, &ev),
            format!("User: {USER} is not authorized to perform: bedrock:InvokeModel with an explicit deny in a service control policy: {arn}")
        );
        // an empty level allows nothing
        let levels = vec![vec![]];
        let ev = evaluate(
            &req(USER),
            &Policies {
                identity: &ids,
                scps: Some(&levels),
                ..Default::default()
            },
        );
        assert_eq!(ev.blocked_by, vec![Layer::Scp]);
        assert_eq!(ev.scp_denied_level, Some(0));
    }

    #[test]
    fn root_user() {
        let r = req("arn:aws:iam::123456789012:root");
        assert!(evaluate(&r, &Policies::default()).is_allowed());
        let levels = vec![vec![pol(
            PolicyKind::Scp,
            "s3only",
            r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]"#,
        )]];
        let ev = evaluate(
            &r,
            &Policies {
                scps: Some(&levels),
                ..Default::default()
            },
        );
        assert_eq!(ev.blocked_by, vec![Layer::Scp]);
    }

    #[test]
    fn rcps_only_deny() {
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        let rcp_levels = vec![
            vec![],
            vec![pol(
                PolicyKind::Rcp,
                "rcp",
                r#"[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]"#,
            )],
        ];
        let p = Policies {
            identity: &ids,
            rcps: Some(&rcp_levels),
            ..Default::default()
        };
        assert!(evaluate(&req(USER), &p).is_allowed());
        let rcp_levels = vec![vec![pol(
            PolicyKind::Rcp,
            "rcp",
            r#"[{"Effect":"Deny","Principal":"*","Action":"bedrock:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalAccount":"123456789012"}}}]"#,
        )]];
        let p = Policies {
            identity: &ids,
            rcps: Some(&rcp_levels),
            ..Default::default()
        };
        assert!(evaluate(&req(USER), &p).is_allowed());
        let mut r = req(USER);
        r.context.set("aws:PrincipalAccount", OTHER);
        let ev = evaluate(&r, &p);
        assert_eq!(ev.decision, Decision::ExplicitlyDenied);
        assert_eq!(ev.denied_by.as_ref().unwrap().0, Layer::Rcp);
        assert!(denial_message(USER, "bedrock:InvokeModel", None, &ev)
            .ends_with("with an explicit deny in a resource control policy"));
    }

    #[test]
    fn same_account_resource_policy_grants() {
        let none: [NamedPolicy; 0] = [];
        // user named directly: grants alone, even past a boundary's implicit deny
        let r_user = rp(&format!(r#"{{"AWS":"{USER}"}}"#), "Allow");
        let b = pol(
            PolicyKind::Boundary,
            "pb",
            r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]"#,
        );
        let p = Policies {
            identity: &none,
            resource: Some(&r_user),
            boundary: Some(&b),
            ..Default::default()
        };
        let ev = evaluate(&req(USER), &p);
        assert!(ev.is_allowed(), "{ev:?}");
        assert_eq!(ev.allowed_by[0].0, Layer::ResourcePolicy);
        // session named directly: not limited by boundary nor session policy
        let r_sess = rp(&format!(r#"{{"AWS":"{SESSION}"}}"#), "Allow");
        let sp = pol(
            PolicyKind::Session,
            "sp",
            r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]"#,
        );
        let p = Policies {
            identity: &none,
            resource: Some(&r_sess),
            boundary: Some(&b),
            session: Some(&sp),
            ..Default::default()
        };
        assert!(evaluate(&req(SESSION), &p).is_allowed());
        // role ARN: bounded by the boundary and the session policy
        let r_role = rp(&format!(r#"{{"AWS":"{ROLE}"}}"#), "Allow");
        let p = Policies {
            identity: &none,
            resource: Some(&r_role),
            boundary: Some(&b),
            ..Default::default()
        };
        let ev = evaluate(&req(SESSION), &p);
        assert_eq!(ev.blocked_by, vec![Layer::Boundary]);
        assert_eq!(
            denial_message(SESSION, "bedrock:InvokeModel", Some(MODEL), &ev),
            format!("User: {SESSION} is not authorized to perform: bedrock:InvokeModel on resource: {MODEL} because no permissions boundary allows the bedrock:InvokeModel action")
        );
        let p = Policies {
            identity: &none,
            resource: Some(&r_role),
            session: Some(&sp),
            ..Default::default()
        };
        let ev = evaluate(&req(SESSION), &p);
        assert_eq!(ev.blocked_by, vec![Layer::Session]);
        assert!(denial_message(SESSION, "bedrock:InvokeModel", None, &ev)
            .ends_with("because no session policy allows the bedrock:InvokeModel action"));
        let p = Policies {
            identity: &none,
            resource: Some(&r_role),
            ..Default::default()
        };
        assert!(evaluate(&req(SESSION), &p).is_allowed());
        // "*" grants directly
        let r_any = rp(r#""*""#, "Allow");
        let p = Policies {
            identity: &none,
            resource: Some(&r_any),
            boundary: Some(&b),
            ..Default::default()
        };
        assert!(evaluate(&req(ROLE), &p).is_allowed());
        // the account principal delegates to IAM: no grant on its own
        let r_acct = rp(&format!(r#"{{"AWS":"{ACCT}"}}"#), "Allow");
        let p = Policies {
            identity: &none,
            resource: Some(&r_acct),
            ..Default::default()
        };
        assert_eq!(evaluate(&req(USER), &p).blocked_by, vec![Layer::Identity]);
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        let p = Policies {
            identity: &ids,
            resource: Some(&r_acct),
            ..Default::default()
        };
        assert!(evaluate(&req(USER), &p).is_allowed());
        // a statement naming someone else does not apply
        let r_other = rp(r#"{"AWS":"arn:aws:iam::123456789012:user/bob"}"#, "Deny");
        let p = Policies {
            identity: &ids,
            resource: Some(&r_other),
            ..Default::default()
        };
        assert!(evaluate(&req(USER), &p).is_allowed());
    }

    #[test]
    fn resource_policy_deny() {
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        let r_deny = rp(&format!(r#"{{"AWS":"{ACCT}"}}"#), "Deny");
        let ev = evaluate(
            &req(SESSION),
            &Policies {
                identity: &ids,
                resource: Some(&r_deny),
                ..Default::default()
            },
        );
        assert_eq!(ev.denied_by.as_ref().unwrap().0, Layer::ResourcePolicy);
        assert!(denial_message(SESSION, "bedrock:InvokeModel", None, &ev)
            .ends_with("with an explicit deny in a resource-based policy"));
    }

    #[test]
    fn cross_account_needs_both() {
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        let mut r = req(USER);
        r.resource_account = Some(OTHER.into());
        let ev = evaluate(
            &r,
            &Policies {
                identity: &ids,
                ..Default::default()
            },
        );
        assert_eq!(ev.blocked_by, vec![Layer::ResourcePolicy]);
        assert!(denial_message(USER, "bedrock:InvokeModel", None, &ev)
            .ends_with("because no resource-based policy allows the bedrock:InvokeModel action"));
        let r_acct = rp(&format!(r#"{{"AWS":"arn:aws:iam::{ACCT}:root"}}"#), "Allow");
        let ev = evaluate(
            &r,
            &Policies {
                identity: &ids,
                resource: Some(&r_acct),
                ..Default::default()
            },
        );
        assert!(ev.is_allowed());
        let none: [NamedPolicy; 0] = [];
        let r_user = rp(&format!(r#"{{"AWS":"{USER}"}}"#), "Allow");
        let ev = evaluate(
            &r,
            &Policies {
                identity: &none,
                resource: Some(&r_user),
                ..Default::default()
            },
        );
        assert_eq!(ev.blocked_by, vec![Layer::Identity]);
        // the boundary still applies to the identity side
        let b = pol(
            PolicyKind::Boundary,
            "pb",
            r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]"#,
        );
        let ev = evaluate(
            &r,
            &Policies {
                identity: &ids,
                resource: Some(&r_user),
                boundary: Some(&b),
                ..Default::default()
            },
        );
        assert_eq!(ev.blocked_by, vec![Layer::Boundary]);
    }

    #[test]
    fn boundary_and_session_layers() {
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        let b_deny = pol(
            PolicyKind::Boundary,
            "pb",
            r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}]"#,
        );
        let ev = evaluate(
            &req(SESSION),
            &Policies {
                identity: &ids,
                boundary: Some(&b_deny),
                ..Default::default()
            },
        );
        assert_eq!(ev.denied_by.as_ref().unwrap().0, Layer::Boundary);
        assert_eq!(ev.denied_by.as_ref().unwrap().1.index, 1);
        assert!(denial_message(SESSION, "x:y", None, &ev)
            .ends_with("with an explicit deny in a permissions boundary"));
        let s_deny = pol(
            PolicyKind::Session,
            "sp",
            r#"[{"Effect":"Deny","Action":"*","Resource":"*"}]"#,
        );
        let ev = evaluate(
            &req(SESSION),
            &Policies {
                identity: &ids,
                session: Some(&s_deny),
                ..Default::default()
            },
        );
        assert_eq!(ev.denied_by.as_ref().unwrap().0, Layer::Session);
        assert!(denial_message(SESSION, "x:y", None, &ev)
            .ends_with("with an explicit deny in a session policy"));
        let b_ok = allow_all(PolicyKind::Boundary, "pb");
        let s_ok = allow_all(PolicyKind::Session, "sp");
        let ev = evaluate(
            &req(SESSION),
            &Policies {
                identity: &ids,
                boundary: Some(&b_ok),
                session: Some(&s_ok),
                ..Default::default()
            },
        );
        assert!(ev.is_allowed());
        let layers: Vec<Layer> = ev.allowed_by.iter().map(|(l, _)| *l).collect();
        assert_eq!(
            layers,
            vec![Layer::Identity, Layer::Boundary, Layer::Session]
        );
        // identity missing and boundary missing: both reported, identity first
        let none: [NamedPolicy; 0] = [];
        let b_s3 = pol(
            PolicyKind::Boundary,
            "pb",
            r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]"#,
        );
        let ev = evaluate(
            &req(SESSION),
            &Policies {
                identity: &none,
                boundary: Some(&b_s3),
                ..Default::default()
            },
        );
        assert_eq!(ev.blocked_by, vec![Layer::Identity, Layer::Boundary]);
    }

    #[test]
    fn not_principal() {
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        // only the user listed, not its account: the deny still applies
        let partial = NamedPolicy::new("np", Policy::parse(
            &format!(r#"{{"Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":"{USER}"}},"Action":"*","Resource":"*"}}]}}"#),
            PolicyKind::Resource).unwrap());
        assert_eq!(
            evaluate(
                &req(USER),
                &Policies {
                    identity: &ids,
                    resource: Some(&partial),
                    ..Default::default()
                }
            )
            .decision,
            Decision::ExplicitlyDenied
        );
        let full = NamedPolicy::new("np", Policy::parse(
            &format!(r#"{{"Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":["{USER}","{ACCT}"]}},"Action":"*","Resource":"*"}}]}}"#),
            PolicyKind::Resource).unwrap());
        assert!(evaluate(
            &req(USER),
            &Policies {
                identity: &ids,
                resource: Some(&full),
                ..Default::default()
            }
        )
        .is_allowed());
        // other principals are denied
        assert_eq!(
            evaluate(
                &req("arn:aws:iam::123456789012:user/bob"),
                &Policies {
                    identity: &ids,
                    resource: Some(&full),
                    ..Default::default()
                }
            )
            .decision,
            Decision::ExplicitlyDenied
        );
        // ...and so is the exempted user once it has a permissions boundary
        let b = allow_all(PolicyKind::Boundary, "pb");
        assert_eq!(
            evaluate(
                &req(USER),
                &Policies {
                    identity: &ids,
                    resource: Some(&full),
                    boundary: Some(&b),
                    ..Default::default()
                }
            )
            .decision,
            Decision::ExplicitlyDenied
        );
        // sessions need session, role and account listed
        let sess = NamedPolicy::new("np", Policy::parse(
            &format!(r#"{{"Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":["{SESSION}","{ACCT}"]}},"Action":"*","Resource":"*"}}]}}"#),
            PolicyKind::Resource).unwrap());
        assert_eq!(
            evaluate(
                &req(SESSION),
                &Policies {
                    identity: &ids,
                    resource: Some(&sess),
                    ..Default::default()
                }
            )
            .decision,
            Decision::ExplicitlyDenied
        );
        let sess = NamedPolicy::new("np", Policy::parse(
            &format!(r#"{{"Statement":[{{"Effect":"Deny","NotPrincipal":{{"AWS":["{SESSION}","{ROLE}","{ACCT}"]}},"Action":"*","Resource":"*"}}]}}"#),
            PolicyKind::Resource).unwrap());
        assert!(evaluate(
            &req(SESSION),
            &Policies {
                identity: &ids,
                resource: Some(&sess),
                ..Default::default()
            }
        )
        .is_allowed());
    }

    #[test]
    fn service_and_anonymous_principals() {
        let ids = [allow_all(PolicyKind::Identity, "admin")];
        let levels: Vec<Vec<NamedPolicy>> = vec![vec![]];
        let svc = Request::new(
            Principal::service("bedrock.amazonaws.com"),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
        );
        let ev = evaluate(
            &svc,
            &Policies {
                identity: &ids,
                scps: Some(&levels),
                ..Default::default()
            },
        );
        assert_eq!(ev.blocked_by, vec![Layer::ResourcePolicy]);
        let r_svc = NamedPolicy::new("bp", Policy::parse(r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"bedrock.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#, PolicyKind::Resource).unwrap());
        assert!(evaluate(
            &svc,
            &Policies {
                resource: Some(&r_svc),
                scps: Some(&levels),
                ..Default::default()
            }
        )
        .is_allowed());
        let anon = Request::new(Principal::anonymous(), "s3:GetObject", "arn:aws:s3:::b/k");
        assert!(!evaluate(
            &anon,
            &Policies {
                resource: Some(&r_svc),
                ..Default::default()
            }
        )
        .is_allowed());
        let public = rp(r#""*""#, "Allow");
        let mut anon2 = anon.clone();
        anon2.action = "bedrock:InvokeModel".into();
        assert!(evaluate(
            &anon2,
            &Policies {
                resource: Some(&public),
                ..Default::default()
            }
        )
        .is_allowed());
        // GetCallerIdentity is not for anonymous callers
        anon2.action = "sts:GetCallerIdentity".into();
        assert!(!evaluate(&anon2, &Policies::default()).is_allowed());
    }

    #[test]
    fn get_caller_identity_always_allowed() {
        let s_deny = pol(
            PolicyKind::Session,
            "sp",
            r#"[{"Effect":"Deny","Action":"*","Resource":"*"}]"#,
        );
        let ids = [pol(
            PolicyKind::Identity,
            "d",
            r#"[{"Effect":"Deny","Action":"sts:*","Resource":"*"}]"#,
        )];
        let r = Request::new(Principal::from_arn(SESSION), "sts:GetCallerIdentity", "*");
        assert!(evaluate(
            &r,
            &Policies {
                identity: &ids,
                session: Some(&s_deny),
                ..Default::default()
            }
        )
        .is_allowed());
    }

    #[test]
    fn resource_variables() {
        let ids = [id(
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}"#,
        )];
        let p = Policies {
            identity: &ids,
            ..Default::default()
        };
        let r = Request::new(
            Principal::from_arn(USER),
            "s3:GetObject",
            "arn:aws:s3:::home/alice/f",
        );
        assert!(evaluate(&r, &p).is_allowed());
        let r2 = Request::new(
            Principal::from_arn(USER),
            "s3:GetObject",
            "arn:aws:s3:::home/bob/f",
        );
        assert!(!evaluate(&r2, &p).is_allowed());
        // a role session has no aws:username: the entry matches nothing
        let r3 = Request::new(
            Principal::from_arn(SESSION),
            "s3:GetObject",
            "arn:aws:s3:::home/s/f",
        );
        assert!(!evaluate(&r3, &p).is_allowed());
        // 2008-10-17: no substitution, the text is literal
        let old = [NamedPolicy::new("old", Policy::parse(r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#, PolicyKind::Identity).unwrap())];
        let p = Policies {
            identity: &old,
            ..Default::default()
        };
        assert!(!evaluate(&r, &p).is_allowed());
        let lit = Request::new(
            Principal::from_arn(USER),
            "s3:GetObject",
            "arn:aws:s3:::home/${aws:username}/f",
        );
        assert!(evaluate(&lit, &p).is_allowed());
        // defaults and principal tags
        let ids = [id(
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::team-${aws:PrincipalTag/team, 'none'}/*"}"#,
        )];
        let p = Policies {
            identity: &ids,
            ..Default::default()
        };
        let mut tagged = Request::new(
            Principal::from_arn(USER).with_tag("team", "red"),
            "s3:GetObject",
            "arn:aws:s3:::team-red/x",
        );
        assert!(evaluate(&tagged, &p).is_allowed());
        tagged.principal.tags.clear();
        assert!(!evaluate(&tagged, &p).is_allowed());
        tagged.resource = "arn:aws:s3:::team-none/x".into();
        assert!(evaluate(&tagged, &p).is_allowed());
        // NotResource with a variable
        let ids = [id(
            r#"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::home/${aws:username}/*"}"#,
        )];
        let p = Policies {
            identity: &ids,
            ..Default::default()
        };
        assert!(!evaluate(&r, &p).is_allowed());
        assert!(evaluate(&r2, &p).is_allowed());
    }

    #[test]
    fn conditions_in_evaluation() {
        let ids = [id(
            r#"{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}}"#,
        )];
        let p = Policies {
            identity: &ids,
            ..Default::default()
        };
        let mut r = req(USER);
        assert!(!evaluate(&r, &p).is_allowed());
        r.context
            .set("aws:SourceIp", "10.1.2.3")
            .set("aws:SecureTransport", "true");
        assert!(evaluate(&r, &p).is_allowed());
        r.context.set("aws:SecureTransport", "false");
        assert!(!evaluate(&r, &p).is_allowed());
    }

    /// `evaluate_reporting` says whether the decision read the context: a condition key or a
    /// policy variable that was evaluated did; a statement whose action does not match is
    /// never looked into, so its condition does not count.
    #[test]
    fn evaluations_report_whether_they_read_the_context() {
        let reads = |doc: &str, action: &str| {
            let ids = [id(doc)];
            let p = Policies {
                identity: &ids,
                ..Default::default()
            };
            let mut r = req(USER);
            r.action = action.into();
            let (ev, read) = evaluate_reporting(&r, &p);
            assert_eq!(ev.decision, evaluate(&r, &p).decision);
            (ev.is_allowed(), read)
        };
        let plain = r#"{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}"#;
        assert_eq!(reads(plain, "bedrock:InvokeModel"), (true, false));
        assert_eq!(reads(plain, "bedrock:Converse"), (false, false));
        let conditioned = r#"{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}"#;
        assert_eq!(reads(conditioned, "bedrock:InvokeModel"), (false, true));
        assert_eq!(
            reads(conditioned, "bedrock:ListFoundationModels"),
            (false, false)
        );
        let variable = r#"{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::111111111111:user/${aws:username}"}"#;
        assert!(reads(variable, "iam:GetUser").1);
        let denied = r#"{"Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#;
        assert_eq!(reads(denied, "bedrock:InvokeModel"), (false, true));
    }

    #[test]
    fn evaluation_serializes() {
        let ids = [id(
            r#"{"Sid":"A","Effect":"Allow","Action":"bedrock:*","Resource":"*"}"#,
        )];
        let ev = evaluate(
            &req(USER),
            &Policies {
                identity: &ids,
                ..Default::default()
            },
        );
        let j = serde_json::to_value(&ev).unwrap();
        assert_eq!(j["decision"], "Allowed");
        assert_eq!(j["allowed_by"][0][0], "Identity");
        assert_eq!(j["allowed_by"][0][1]["sid"], "A");
        assert!(j["allowed_by"][0][1].get("policy_arn").is_none());
    }

    mod index_equivalence {
        use super::*;
        use proptest::prelude::*;

        const PATTERNS: &[&str] = &[
            "*",
            "*:*",
            "s3:*",
            "S3:Get*",
            "s3*:x",
            "?3:GetObject",
            "s3:",
            "s3:GetObject",
            "bedrock:InvokeModel",
            "bedrock:*",
            "BedRock:invoke*",
            "ec2:*",
            "sts:*",
            "é3:x",
            "É3:*",
            "Σ:x",
            "σ:*",
            "*3:*",
            "b?drock:*",
        ];
        const ACTIONS: &[&str] = &[
            "s3:GetObject",
            "S3:getobject",
            "s3",
            "s3:a:b",
            ":x",
            "",
            "bedrock:InvokeModel",
            "BEDROCK:INVOKEMODEL",
            "é3:x",
            "É3:x",
            "Σ:x",
            "σ:x",
            "ec2:RunInstances",
            "x:y",
        ];

        fn policy_text(stmts: &[(bool, bool, Vec<&str>)], resource_kind: bool) -> String {
            let sts: Vec<serde_json::Value> = stmts
                .iter()
                .map(|(allow, not, actions)| {
                    let mut s = serde_json::json!({
                        "Effect": if *allow { "Allow" } else { "Deny" },
                        "Resource": "*",
                    });
                    s[if *not { "NotAction" } else { "Action" }] = serde_json::json!(actions);
                    if resource_kind {
                        s["Principal"] = serde_json::json!("*");
                    }
                    s
                })
                .collect();
            serde_json::json!({"Version": "2012-10-17", "Statement": sts}).to_string()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            /// Visiting only the indexed candidates gives exactly the scan of every statement.
            #[test]
            fn index_scan_equals_full_scan(
                stmts in prop::collection::vec(
                    (any::<bool>(), prop::bool::weighted(0.15),
                     prop::collection::vec(prop::sample::select(PATTERNS), 1..4)),
                    0..12),
                action in prop::sample::select(ACTIONS),
                resource_kind in any::<bool>(),
                need_allow in any::<bool>(),
            ) {
                let kind = if resource_kind { PolicyKind::Resource } else { PolicyKind::Identity };
                let parsed = Policy::parse(&policy_text(&stmts, resource_kind), kind);
                // patterns such as "s3:a:b" are refused; only valid policies matter here
                prop_assume!(parsed.is_ok());
                let np = NamedPolicy::new("p", parsed.unwrap());
                let r = Request::new(Principal::from_arn(USER), action, MODEL);
                let env = Env::new(&r, false);
                let all = 0..np.policy.statements().len();
                prop_assert_eq!(
                    scan(&np, &env, need_allow),
                    scan_positions(&np, &env, need_allow, all)
                );
            }
        }
    }

    const ROOT: &str = "arn:aws:iam::123456789012:root";
    const AWS_POLICY: &str = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess";
    const WRITES: [&str; 7] = [
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:TagPolicy",
        "iam:UntagPolicy",
    ];

    fn on(principal: &str, action: &str, resource: &str) -> Request {
        Request::new(Principal::from_arn(principal), action, resource)
    }

    #[test]
    fn aws_managed_policies_are_read_only_for_everyone() {
        let admin = [allow_all(PolicyKind::Identity, "admin")];
        let p = Policies {
            identity: &admin,
            ..Default::default()
        };
        for action in WRITES {
            for principal in [ROOT, USER, SESSION] {
                let ev = evaluate(&on(principal, action, AWS_POLICY), &p);
                assert_eq!(
                    ev.decision,
                    Decision::ImplicitlyDenied,
                    "{principal} {action}"
                );
                assert_eq!(ev.read_only, Some(ReadOnly::AwsManagedPolicy));
                assert!(ev.denied_by.is_none() && ev.blocked_by.is_empty());
            }
            // the root user needs no policy, and still may not
            let ev = evaluate(&on(ROOT, action, AWS_POLICY), &Policies::default());
            assert_eq!(ev.decision, Decision::ImplicitlyDenied);
            assert_eq!(ev.read_only, Some(ReadOnly::AwsManagedPolicy));
            let shown = format!("policy {AWS_POLICY}");
            assert_eq!(
                denial_message(ROOT, action, Some(&shown), &ev),
                format!(
                    "User: {ROOT} is not authorized to perform: {action} on resource: policy \
                     {AWS_POLICY} because no identity-based policy allows the {action} action"
                )
            );
            // action names are case-insensitive
            let ev = evaluate(&on(USER, &action.to_uppercase(), AWS_POLICY), &p);
            assert_eq!(ev.read_only, Some(ReadOnly::AwsManagedPolicy));
        }
        // every AWS partition, and policies under a path
        for arn in [
            "arn:aws-us-gov:iam::aws:policy/AdministratorAccess",
            "arn:aws-cn:iam::aws:policy/AdministratorAccess",
            "arn:aws-iso-b:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/service-role/AmazonBedrockAgentServiceRolePolicy",
        ] {
            let ev = evaluate(&on(ROOT, "iam:DeletePolicy", arn), &p);
            assert_eq!(ev.decision, Decision::ImplicitlyDenied, "{arn}");
        }
    }

    #[test]
    fn aws_managed_policies_stay_readable_and_customer_policies_writable() {
        let admin = [allow_all(PolicyKind::Identity, "admin")];
        let p = Policies {
            identity: &admin,
            ..Default::default()
        };
        for action in [
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListPolicyVersions",
            "iam:ListEntitiesForPolicy",
            "iam:ListPolicyTags",
        ] {
            let ev = evaluate(&on(USER, action, AWS_POLICY), &p);
            assert!(ev.is_allowed(), "{action}");
            assert_eq!(ev.read_only, None);
        }
        for action in WRITES {
            // the account's own policies, and ARNs that only look alike
            for arn in [
                "arn:aws:iam::123456789012:policy/AmazonBedrockFullAccess",
                "arn:aws:iam::aws:role/AmazonBedrockFullAccess",
                "arn:aws:s3:::aws:policy/AmazonBedrockFullAccess",
                "arn:awsx:iam::aws:policy/AmazonBedrockFullAccess",
                "arn:aws:iam::AWS:policy/AmazonBedrockFullAccess",
                "*",
            ] {
                let ev = evaluate(&on(USER, action, arn), &p);
                assert!(ev.is_allowed(), "{action} {arn}");
                assert!(evaluate(&on(ROOT, action, arn), &Policies::default()).is_allowed());
            }
        }
    }

    #[test]
    fn aws_managed_policy_rule_keeps_the_policies_story() {
        // an explicit deny is still reported as such
        let ids = [
            allow_all(PolicyKind::Identity, "admin"),
            pol(
                PolicyKind::Identity,
                "guard",
                r#"[{"Sid":"NoIam","Effect":"Deny","Action":"iam:*","Resource":"*"}]"#,
            ),
        ];
        let ev = evaluate(
            &on(USER, "iam:DeletePolicy", AWS_POLICY),
            &Policies {
                identity: &ids,
                ..Default::default()
            },
        );
        assert_eq!(ev.decision, Decision::ExplicitlyDenied);
        assert_eq!(ev.read_only, None);
        // a layer that blocks is still named first in the message
        let admin = [allow_all(PolicyKind::Identity, "admin")];
        let b = pol(
            PolicyKind::Boundary,
            "pb",
            r#"[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]"#,
        );
        let ev = evaluate(
            &on(USER, "iam:TagPolicy", AWS_POLICY),
            &Policies {
                identity: &admin,
                boundary: Some(&b),
                ..Default::default()
            },
        );
        assert_eq!(ev.decision, Decision::ImplicitlyDenied);
        assert_eq!(ev.read_only, Some(ReadOnly::AwsManagedPolicy));
        assert_eq!(ev.blocked_by, vec![Layer::Boundary]);
        assert!(denial_message(USER, "iam:TagPolicy", Some(AWS_POLICY), &ev)
            .ends_with("because no permissions boundary allows the iam:TagPolicy action"));
        // the Allow that would have applied is still reported
        let ev = evaluate(
            &on(USER, "iam:DeletePolicy", AWS_POLICY),
            &Policies {
                identity: &admin,
                ..Default::default()
            },
        );
        assert_eq!(ev.allowed_by.len(), 1);
        assert_eq!(ev.allowed_by[0].0, Layer::Identity);
        let j = serde_json::to_value(&ev).unwrap();
        assert_eq!(j["read_only"], "AwsManagedPolicy");
    }

    #[test]
    fn message_for_allowed_falls_back() {
        let ev = evaluate(&req("arn:aws:iam::123456789012:root"), &Policies::default());
        assert!(denial_message("a", "x:y", None, &ev)
            .ends_with("because no identity-based policy allows the x:y action"));
    }
}
