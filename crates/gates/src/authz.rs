//! Gate 2, IAM: which policies apply to a caller, compiled once per snapshot, and the decision
//! for one action on one resource with AWS's exact refusal.

use crate::state::{AccessKey, Principal, PrincipalKind, Session, State};
use crate::{Deny, ErrorCode, Gate};
use bg_iam::{Context, Evaluation, NamedPolicy, Policies, Policy, PolicyKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Policies compiled from the state, by principal and account. Built after every change so the
/// request path never parses a document.
#[derive(Clone, Debug, Default)]
pub struct Compiled {
    /// principal (user/role) ARN → identity policies (inline, attached, and its groups').
    pub identity: HashMap<String, Arc<Vec<NamedPolicy>>>,
    /// principal ARN → permissions boundary.
    pub boundary: HashMap<String, Arc<NamedPolicy>>,
    /// member account → SCP levels (root first, then each OU, then the account).
    pub scps: HashMap<String, Arc<Vec<Vec<NamedPolicy>>>>,
    /// managed policy ARN → its default version, as an identity policy (for session policy ARNs).
    pub managed: HashMap<String, Arc<NamedPolicy>>,
    /// session access key → its session policies (inline and managed ARNs), compiled.
    pub sessions: HashMap<String, Arc<Vec<NamedPolicy>>>,
    /// Documents that did not compile (they were validated on write, so this stays empty unless
    /// the database was edited by hand).
    pub errors: Vec<String>,
}

fn compile(
    name: &str,
    arn: Option<&str>,
    doc: &str,
    kind: PolicyKind,
    errors: &mut Vec<String>,
) -> Option<NamedPolicy> {
    match Policy::parse(doc, kind) {
        Ok(p) => {
            let mut np = NamedPolicy::new(name, p);
            if let Some(a) = arn {
                np = np.with_arn(a);
            }
            Some(np)
        }
        Err(e) => {
            errors.push(format!("{name}: {e}"));
            None
        }
    }
}

impl Compiled {
    pub fn build(state: &State) -> Compiled {
        let mut c = Compiled::default();
        let mut errors = Vec::new();
        for (arn, p) in &state.policies {
            if let Some(doc) = p.default_document() {
                if let Some(np) =
                    compile(&p.name, Some(arn), doc, PolicyKind::Identity, &mut errors)
                {
                    c.managed.insert(arn.clone(), Arc::new(np));
                }
            }
        }
        for (arn, p) in &state.principals {
            if matches!(p.kind, PrincipalKind::Root) {
                continue;
            }
            let mut set = Vec::new();
            for (name, doc) in &p.inline_policies {
                set.extend(compile(name, None, doc, PolicyKind::Identity, &mut errors));
            }
            for a in &p.attached_policies {
                if let Some(np) = c.managed.get(a) {
                    set.push((**np).clone());
                }
            }
            for g in &p.groups {
                let garn = format!("arn:aws:iam::{}:group/{g}", p.account);
                let group = state.groups.get(&garn).or_else(|| {
                    state
                        .groups
                        .values()
                        .find(|x| x.account == p.account && &x.name == g)
                });
                if let Some(group) = group {
                    for (name, doc) in &group.inline_policies {
                        set.extend(compile(name, None, doc, PolicyKind::Identity, &mut errors));
                    }
                    for a in &group.attached_policies {
                        if let Some(np) = c.managed.get(a) {
                            set.push((**np).clone());
                        }
                    }
                }
            }
            c.identity.insert(arn.clone(), Arc::new(set));
            if let Some(b) = &p.permissions_boundary {
                if let Some(pol) = state
                    .policies
                    .get(b)
                    .and_then(|m| m.default_document().map(|d| (m, d)))
                {
                    if let Some(np) = compile(
                        &pol.0.name,
                        Some(b),
                        pol.1,
                        PolicyKind::Boundary,
                        &mut errors,
                    ) {
                        c.boundary.insert(arn.clone(), Arc::new(np));
                    }
                }
            }
        }
        for org in state.organizations.values() {
            for account in org.account_parents.keys() {
                if *account == org.management_account {
                    continue; // SCPs never apply to the management account
                }
                let Some(chain) = org.chain(account) else {
                    continue;
                };
                let mut levels = Vec::new();
                for target in &chain {
                    let mut level = Vec::new();
                    for scp in org
                        .policies
                        .iter()
                        .filter(|p| p.targets.iter().any(|t| t == target))
                    {
                        // An SCP without an ID (one read from a file by `policy check`) has no
                        // ARN to quote in a refusal.
                        let arn = (!scp.id.is_empty()).then(|| org.policy_arn(&scp.id));
                        level.extend(compile(
                            &scp.name,
                            arn.as_deref(),
                            &scp.document,
                            PolicyKind::Scp,
                            &mut errors,
                        ));
                    }
                    levels.push(level);
                }
                c.scps.insert(account.clone(), Arc::new(levels));
            }
        }
        for (id, key) in &state.keys {
            let Some(s) = &key.session else { continue };
            let mut v = Vec::new();
            if let Some(doc) = &s.policy {
                v.extend(compile(
                    "session policy",
                    None,
                    doc,
                    PolicyKind::Session,
                    &mut errors,
                ));
            }
            for a in &s.policy_arns {
                if let Some(np) = c.managed.get(a) {
                    v.push((**np).clone());
                }
            }
            if !v.is_empty() {
                c.sessions.insert(id.clone(), Arc::new(v));
            }
        }
        c.errors = errors;
        c
    }
}

/// Who is calling, as IAM sees it.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The ARN AWS names in refusals and GetCallerIdentity (assumed-role ARN for sessions).
    pub arn: String,
    pub account: String,
    /// GetCallerIdentity's UserId (`AROA…:session` for sessions).
    pub user_id: String,
    /// The IAM entity whose policies apply (the role for a session).
    pub entity_arn: String,
    pub kind: CallerKind,
    pub access_key: String,
    pub session: Option<Session>,
    pub tags: BTreeMap<String, String>,
    /// Came with a Bedrock API key (which kind), not SigV4: IAM also checks
    /// `bedrock:CallWithBearerToken` for it.
    pub bearer: Option<crate::api_key::BearerKind>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerKind {
    Root,
    User,
    AssumedRole,
}

impl Caller {
    pub fn from_key(key: &AccessKey, principal: &Principal) -> Caller {
        match &key.session {
            Some(s) => Caller {
                arn: s.assumed_role_arn(),
                account: principal.account.clone(),
                user_id: format!("{}:{}", principal.unique_id, s.session_name),
                entity_arn: principal.arn.clone(),
                kind: CallerKind::AssumedRole,
                access_key: key.access_key_id.clone(),
                session: Some(s.clone()),
                tags: principal.tags.clone(),
                bearer: None,
            },
            None => Caller {
                arn: principal.arn.clone(),
                account: principal.account.clone(),
                user_id: principal.unique_id.clone(),
                entity_arn: principal.arn.clone(),
                kind: if matches!(principal.kind, PrincipalKind::Root) {
                    CallerKind::Root
                } else {
                    CallerKind::User
                },
                access_key: key.access_key_id.clone(),
                session: None,
                tags: principal.tags.clone(),
                bearer: None,
            },
        }
    }

    fn iam_principal(&self) -> bg_iam::Principal {
        let mut p = bg_iam::Principal::from_arn(&self.arn);
        p.tags = self.tags.clone();
        p
    }
}

/// The request facts AWS supplies as global condition keys.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    pub region: String,
    pub source_ip: Option<String>,
    pub now_unix: i64,
    pub secure_transport: bool,
}

pub fn base_context(caller: &Caller, facts: &RequestFacts) -> Context {
    let mut ctx = Context::new();
    ctx.set("aws:RequestedRegion", facts.region.clone());
    ctx.set("aws:PrincipalArn", caller.entity_arn.clone());
    ctx.set("aws:PrincipalAccount", caller.account.clone());
    ctx.set("aws:userid", caller.user_id.clone());
    ctx.set(
        "aws:SecureTransport",
        if facts.secure_transport {
            "true"
        } else {
            "false"
        },
    );
    ctx.set("aws:EpochTime", facts.now_unix.to_string());
    if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(facts.now_unix) {
        if let Ok(s) = t.format(&time::format_description::well_known::Rfc3339) {
            ctx.set("aws:CurrentTime", s);
        }
    }
    if let Some(ip) = &facts.source_ip {
        ctx.set("aws:SourceIp", ip.clone());
    }
    match caller.kind {
        CallerKind::User => {
            ctx.set("aws:PrincipalType", "User");
            let name = caller.arn.rsplit('/').next().unwrap_or("");
            ctx.set("aws:username", name.to_string());
        }
        CallerKind::Root => {
            ctx.set("aws:PrincipalType", "Account");
        }
        CallerKind::AssumedRole => {
            ctx.set("aws:PrincipalType", "AssumedRole");
        }
    }
    for (k, v) in &caller.tags {
        ctx.set(format!("aws:PrincipalTag/{k}"), v.clone());
    }
    ctx
}

/// Evaluate one action on one resource for the caller, through every layer that applies.
pub fn evaluate(
    state: &State,
    caller: &Caller,
    action: &str,
    resource: &str,
    ctx: Context,
) -> Evaluation {
    let req = bg_iam::Request {
        principal: caller.iam_principal(),
        action: action.to_string(),
        resource: resource.to_string(),
        resource_account: None,
        context: ctx,
    };
    evaluate_request(state, caller, &req, None)
}

/// Evaluate `req` with every layer that applies to the caller (identity, SCPs, boundary,
/// session), and `resource_policy` as the resource-based layer when the resource has one.
fn evaluate_request(
    state: &State,
    caller: &Caller,
    req: &bg_iam::Request,
    resource_policy: Option<&NamedPolicy>,
) -> Evaluation {
    let c = &state.compiled;
    // Session policies: inline plus managed ARNs; AWS intersects them as one layer, which the
    // engine models as one NamedPolicy. With several, we evaluate each separately below.
    let session_policies: &[NamedPolicy] = match &caller.session {
        Some(_) => c
            .sessions
            .get(&caller.access_key)
            .map(|v| v.as_slice())
            .unwrap_or(&[]),
        None => &[],
    };
    let base = Policies {
        identity: c
            .identity
            .get(&caller.entity_arn)
            .map(|v| v.as_slice())
            .unwrap_or(&[]),
        scps: c.scps.get(&caller.account).map(|v| v.as_slice()),
        rcps: None,
        resource: resource_policy,
        boundary: c.boundary.get(&caller.entity_arn).map(|b| &**b),
        session: None,
    };
    evaluate_with_sessions(req, base, session_policies)
}

/// Evaluate with the session layer made of several session policies (inline and managed ARNs):
/// they form one layer, where an explicit deny in any of them denies and an allow in any of
/// them satisfies it (AWS: "the intersection of the role's identity-based policies and the
/// session policies"). With none, there is no session layer.
pub fn evaluate_with_sessions(
    req: &bg_iam::Request,
    base: Policies<'_>,
    session_policies: &[NamedPolicy],
) -> Evaluation {
    if session_policies.is_empty() {
        return bg_iam::evaluate(req, &base);
    }
    let evals: Vec<Evaluation> = session_policies
        .iter()
        .map(|sp| {
            bg_iam::evaluate(
                req,
                &Policies {
                    session: Some(sp),
                    ..base
                },
            )
        })
        .collect();
    let pick = evals
        .iter()
        .position(|e| e.decision == bg_iam::Decision::ExplicitlyDenied)
        .or_else(|| evals.iter().position(|e| e.is_allowed()))
        .unwrap_or(0);
    evals
        .into_iter()
        .nth(pick)
        .expect("session_policies is not empty")
}

/// The refusal for a non-allowed evaluation, with AWS's message and our diagnosis.
pub fn deny(caller: &Caller, action: &str, resource: Option<&str>, eval: &Evaluation) -> Deny {
    let message = bg_iam::denial_message(&caller.arn, action, resource, eval);
    let (reason, fix) = match (&eval.denied_by, eval.blocked_by.first()) {
        (Some((layer, st)), _) => (
            format!(
                "explicit deny in {} {} (statement {})",
                layer.aws_name(),
                st.policy,
                st.sid.clone().unwrap_or_else(|| format!("#{}", st.index))
            ),
            format!("remove or narrow the Deny statement in {}", st.policy),
        ),
        (None, Some(layer)) => (
            format!("no {} allows {action}", layer.aws_name()),
            format!(
                "add an Allow for {action} on {} to the {}",
                resource.unwrap_or("*"),
                layer.aws_name()
            ),
        ),
        (None, None) => ("not allowed".to_string(), format!("allow {action}")),
    };
    // AWS managed policies are read-only for everyone (bg_iam::ReadOnly).
    let (reason, fix) = match (&eval.read_only, resource) {
        (Some(_), Some(r)) => (
            format!(
                "{} is an AWS managed policy: it belongs to AWS and cannot be changed",
                r.strip_prefix("policy ").unwrap_or(r)
            ),
            "create a customer managed policy with the document you want (aws iam create-policy) and attach it instead".to_string(),
        ),
        _ => (reason, fix),
    };
    Deny {
        gate: Gate::Iam,
        error: ErrorCode::AccessDeniedException,
        status: 403,
        message,
        reason,
        fix,
    }
}

/// STS's refusal of AssumeRole: the role is missing, its trust policy does not name the caller,
/// or the caller's own policies do not allow it (AWS's one sentence for all three).
pub fn assume_role_denied(caller_arn: &str, role_arn: &str) -> Deny {
    Deny {
        gate: Gate::Iam,
        error: ErrorCode::AccessDenied,
        status: 403,
        message: format!(
            "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        ),
        reason: format!(
            "the role {role_arn} does not exist, its trust policy does not allow {caller_arn}, or no policy of the caller allows sts:AssumeRole on it"
        ),
        fix: format!(
            "check the role exists (aws iam get-role), that its trust policy names {caller_arn} as Principal with sts:AssumeRole, and that the caller's policies allow sts:AssumeRole on {role_arn}"
        ),
    }
}

/// `sts:AssumeRole` on `role_arn`: the role exists, and the caller's identity policies,
/// boundary, session policies and SCPs allow it with the trust policy as the resource-based
/// policy, which must itself allow the caller (an identity-policy allow alone never lets anyone
/// in). A missing role is refused like one that does not trust the caller, as AWS does.
pub fn authorize_assume_role(
    state: &State,
    caller: &Caller,
    role_arn: &str,
    ctx: Context,
) -> Result<(), Deny> {
    let refused = || assume_role_denied(&caller.arn, role_arn);
    let role = state.principals.get(role_arn).ok_or_else(refused)?;
    let PrincipalKind::Role { trust_policy, .. } = &role.kind else {
        return Err(refused());
    };
    let trust = Policy::parse(trust_policy, PolicyKind::Resource).map_err(|_| refused())?;
    let trust = NamedPolicy::new("trust policy", trust);
    let mut principal = caller.iam_principal();
    // The session ARN carries no role path: name the role by its real ARN.
    if let bg_iam::PrincipalKind::AssumedRole { role_arn, .. } = &mut principal.kind {
        *role_arn = caller.entity_arn.clone();
    }
    let req = bg_iam::Request {
        principal,
        action: "sts:AssumeRole".to_string(),
        resource: role_arn.to_string(),
        resource_account: Some(role.account.clone()),
        context: ctx,
    };
    let ev = evaluate_request(state, caller, &req, Some(&trust));
    let trusted = ev
        .allowed_by
        .iter()
        .any(|(layer, _)| *layer == bg_iam::Layer::ResourcePolicy);
    if ev.is_allowed() && trusted {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Authorize `action` on every resource (in order); the first refusal wins.
pub fn authorize(
    state: &State,
    caller: &Caller,
    action: &str,
    resources: &[(String, Context)],
) -> Result<(), Deny> {
    for (resource, ctx) in resources {
        let e = evaluate(state, caller, action, resource, ctx.clone());
        if !e.is_allowed() {
            return Err(deny(caller, action, Some(resource), &e));
        }
    }
    Ok(())
}

/// For actions without a resource type (e.g. bedrock:ListFoundationModels): evaluated on `*`,
/// and the refusal omits "on resource: …", as AWS's does.
pub fn authorize_no_resource(
    state: &State,
    caller: &Caller,
    action: &str,
    ctx: Context,
) -> Result<(), Deny> {
    let e = evaluate(state, caller, action, "*", ctx);
    if e.is_allowed() {
        Ok(())
    } else {
        Err(deny(caller, action, None, &e))
    }
}
