//! The IAM policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy, answered by the
//! same engine that authorizes the server's own calls.
//!
//! Choices (AWS's simulator is not fully documented):
//! * A role is simulated under the role's own ARN (principal type role, `aws:userid` its
//!   `AROA…` ID), so that trust/resource policies naming the role ARN match.
//! * Request-time global keys (`aws:CurrentTime`, `aws:EpochTime`, `aws:RequestedRegion`,
//!   `aws:SecureTransport`, `aws:SourceIp`) are not filled in: like AWS's simulator, only
//!   `ContextEntries` supply them. Principal keys (`aws:username`, `aws:userid`,
//!   `aws:PrincipalArn`, `aws:PrincipalTag/…`) come from the simulated principal.
//! * `MissingContextValues` is always empty; `PolicyExclusionList`,
//!   `OrderedOrganizationPolicyInputList` and `ResourceHandlingOption` are ignored.
//! * MatchedStatements' positions are 1-based line/column of the statement's `{` and just
//!   after its `}`.
//! * A policy in `PolicyInputList` that does not parse is InvalidInput with the engine's
//!   MalformedPolicyDocument sentence (the operation's model lists no MalformedPolicyDocument).
//! * SimulateCustomPolicy without `CallerArn` simulates `arn:aws:iam::ACCOUNT:user/IAMSimulatedUser`.

use super::awsquery::{self, Checks, Params, Xml};
use super::principals::page_xml;
use super::{invalid_input, no_such, no_such_entity, Ctx, Kind, OpResult};
use crate::error::ApiError;
use bg_gates::{Caller, CallerKind, Principal, PrincipalKind};
use bg_iam::{
    Context, Decision, Evaluation, Layer, NamedPolicy, Policies, Policy, PolicyKind, StatementRef,
};
use std::sync::Arc;

/// A policy the simulation may cite in MatchedStatements.
struct Source {
    id: String,
    arn: Option<String>,
    kind: Option<&'static str>,
    doc: String,
}

struct Sim {
    caller: Caller,
    /// Evaluate exactly as the server does (`bg_gates::authz::evaluate`): no policy was added
    /// or replaced by the request.
    server_path: bool,
    identity: Vec<NamedPolicy>,
    boundary: Option<NamedPolicy>,
    resource_policy: Option<NamedPolicy>,
    resource_owner: Option<String>,
    scps: Option<Arc<Vec<Vec<NamedPolicy>>>>,
    sources: Vec<Source>,
}

fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::Allowed => "allowed",
        Decision::ImplicitlyDenied => "implicitDeny",
        Decision::ExplicitlyDenied => "explicitDeny",
    }
}

fn input_policies(
    p: &Params,
    member: &str,
    kind: PolicyKind,
    sources: &mut Vec<Source>,
) -> Result<Vec<NamedPolicy>, ApiError> {
    let mut out = Vec::new();
    for (i, doc) in p.list(member).into_iter().enumerate() {
        let id = format!("{member}.{}", i + 1);
        let pol = Policy::parse(doc, kind).map_err(|e| invalid_input(e.to_string()))?;
        out.push(NamedPolicy::new(id.clone(), pol));
        sources.push(Source {
            id,
            arn: None,
            // chosen: the type AWS reports for request-supplied policies (not in the model's enum).
            kind: Some("IAM Policy"),
            doc: doc.to_string(),
        });
    }
    Ok(out)
}

fn resource_policy(p: &Params, sources: &mut Vec<Source>) -> Result<Option<NamedPolicy>, ApiError> {
    let Some(doc) = p.get("ResourcePolicy") else {
        return Ok(None);
    };
    let pol = Policy::parse(doc, PolicyKind::Resource).map_err(|e| invalid_input(e.to_string()))?;
    sources.push(Source {
        id: "ResourcePolicy".to_string(),
        arn: None,
        kind: Some("resource"),
        doc: doc.to_string(),
    });
    Ok(Some(NamedPolicy::new("ResourcePolicy", pol)))
}

fn action_names<'a>(p: &Params<'a>) -> Result<Vec<&'a str>, ApiError> {
    if !p.has_list("ActionNames") {
        return Err(awsquery::missing("ActionNames"));
    }
    let v = p.list("ActionNames");
    let mut c = Checks::new();
    for (i, a) in v.iter().enumerate() {
        c.length(a, &format!("actionNames.{}.member", i + 1), 3, 128);
    }
    c.done()?;
    Ok(v)
}

fn resource_arns<'a>(p: &Params<'a>) -> Vec<&'a str> {
    let v = p.list("ResourceArns");
    if v.is_empty() {
        vec!["*"]
    } else {
        v
    }
}

const CONTEXT_TYPES: [&str; 12] = [
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
];

/// `ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}`.
fn context_entries(p: &Params) -> Result<Vec<(String, Vec<String>, bool)>, ApiError> {
    let mut out = Vec::new();
    let mut c = Checks::new();
    for (i, e) in p.structs("ContextEntries").iter().enumerate() {
        let ep = Params(e);
        let n = i + 1;
        let Some(name) = ep.get("ContextKeyName") else {
            return Err(awsquery::missing(&format!(
                "contextEntries.{n}.member.contextKeyName"
            )));
        };
        c.length(
            name,
            &format!("contextEntries.{n}.member.contextKeyName"),
            5,
            256,
        );
        let ty = ep.get("ContextKeyType").unwrap_or("string");
        if !CONTEXT_TYPES.contains(&ty) {
            c.fail(
                ty,
                &format!("contextEntries.{n}.member.contextKeyType"),
                format!("satisfy enum value set: [{}]", CONTEXT_TYPES.join(", ")),
            );
        }
        let values: Vec<String> = ep
            .list("ContextKeyValues")
            .into_iter()
            .map(str::to_string)
            .collect();
        let multi = ty.ends_with("List") || values.len() != 1;
        out.push((name.to_string(), values, multi));
    }
    c.done()?;
    Ok(out)
}

/// The context a simulated request carries: the principal's keys, then the request's entries.
fn sim_context(cx: &Ctx, caller: &Caller, entries: &[(String, Vec<String>, bool)]) -> Context {
    let mut ctx = bg_gates::authz::base_context(caller, &cx.request_facts());
    for k in [
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:SourceIp",
    ] {
        ctx.remove(k);
    }
    for (k, v, multi) in entries {
        if *multi {
            ctx.set_multi(k, v.iter().cloned());
        } else {
            ctx.set(k, v[0].clone());
        }
    }
    ctx
}

fn iam_principal(c: &Caller) -> bg_iam::Principal {
    let mut p = bg_iam::Principal::from_arn(&c.arn);
    p.tags = c.tags.clone();
    p
}

impl Sim {
    fn evaluate(
        &self,
        cx: &Ctx,
        action: &str,
        resource: &str,
        ctx: Context,
    ) -> (Evaluation, Option<bool>) {
        let req = bg_iam::Request {
            principal: iam_principal(&self.caller),
            action: action.to_string(),
            resource: resource.to_string(),
            resource_account: self.resource_owner.clone(),
            context: ctx,
        };
        // AllowedByPermissionsBoundary: the boundary alone allows the request.
        let by_boundary = self.boundary.as_ref().map(|b| {
            bg_iam::evaluate(
                &req,
                &Policies {
                    identity: std::slice::from_ref(b),
                    ..Default::default()
                },
            )
            .is_allowed()
        });
        let ev = if self.server_path {
            bg_gates::authz::evaluate(
                &cx.state,
                &self.caller,
                action,
                resource,
                req.context.clone(),
            )
        } else {
            bg_iam::evaluate(
                &req,
                &Policies {
                    identity: &self.identity,
                    scps: self.scps.as_ref().map(|s| s.as_slice()),
                    rcps: None,
                    resource: self.resource_policy.as_ref(),
                    boundary: self.boundary.as_ref(),
                    session: None,
                },
            )
        };
        (ev, by_boundary)
    }

    fn source(&self, s: &StatementRef) -> Option<&Source> {
        match &s.policy_arn {
            Some(a) => self.sources.iter().find(|x| x.arn.as_deref() == Some(a)),
            None => self
                .sources
                .iter()
                .find(|x| x.arn.is_none() && x.id == s.policy),
        }
    }

    fn statement_xml(&self, x: &mut Xml, s: &StatementRef) {
        let src = self.source(s);
        x.leaf("SourcePolicyId", &s.policy);
        x.opt("SourcePolicyType", src.and_then(|s| s.kind));
        if let Some((start, end)) = src.and_then(|src| statement_span(&src.doc, s.index)) {
            for (tag, (line, col)) in [("StartPosition", start), ("EndPosition", end)] {
                x.open(tag)
                    .leaf("Line", line)
                    .leaf("Column", col)
                    .close(tag);
            }
        }
    }

    fn run(
        &self,
        cx: &Ctx,
        actions: &[&str],
        resources: &[&str],
        entries: &[(String, Vec<String>, bool)],
    ) -> OpResult {
        // Only the requested page of actions × resources is evaluated (issue 10: building the
        // whole product first cost 207 MB for a 74 KB request). Result i is action i / |R|,
        // resource i % |R|, the order AWS lists them in.
        let width = resources.len().max(1);
        let (range, marker) = cx.page_range(actions.len().saturating_mul(resources.len()))?;
        let results: Vec<_> = range
            .map(|i| {
                let (action, resource) = (actions[i / width], resources[i % width]);
                let ctx = sim_context(cx, &self.caller, entries);
                (action, resource, self.evaluate(cx, action, resource, ctx))
            })
            .collect();
        let has_scps = self.scps.is_some();
        let mut x = Xml::new();
        x.list(
            "EvaluationResults",
            results,
            |x, (action, resource, (ev, by_boundary))| {
                x.leaf("EvalActionName", action)
                    .leaf("EvalResourceName", resource)
                    .leaf("EvalDecision", decision_str(ev.decision));
                let matched: Vec<&StatementRef> = match (&ev.decision, &ev.denied_by) {
                    (Decision::ExplicitlyDenied, Some((_, s))) => vec![s],
                    (Decision::Allowed, _) => ev
                        .allowed_by
                        .iter()
                        .filter(|(l, _)| {
                            matches!(l, Layer::Identity | Layer::ResourcePolicy | Layer::Boundary)
                        })
                        .map(|(_, s)| s)
                        .collect(),
                    _ => Vec::new(),
                };
                x.list("MatchedStatements", matched, |x, s| {
                    self.statement_xml(x, s)
                });
                x.strings("MissingContextValues", Vec::<String>::new());
                if has_scps {
                    x.open("OrganizationsDecisionDetail")
                        .leaf("AllowedByOrganizations", ev.scp_denied_level.is_none())
                        .close("OrganizationsDecisionDetail");
                }
                if let Some(b) = by_boundary {
                    x.open("PermissionsBoundaryDecisionDetail")
                        .leaf("AllowedByPermissionsBoundary", b)
                        .close("PermissionsBoundaryDecisionDetail");
                }
            },
        );
        page_xml(&mut x, marker);
        Ok(Some(x.finish()))
    }
}

/// Managed and inline policies of a principal (and its groups) as citeable sources.
fn entity_sources(cx: &Ctx, p: &Principal, sources: &mut Vec<Source>) {
    let own = match p.kind {
        PrincipalKind::Role(_) => "role",
        _ => "user",
    };
    for (name, doc) in p.inline_policies() {
        sources.push(Source {
            id: name.clone(),
            arn: None,
            kind: Some(own),
            doc: doc.clone(),
        });
    }
    let mut attached: Vec<&str> = p.attached_policies.iter().map(|a| a.as_str()).collect();
    for g in p.groups().iter().filter_map(|g| cx.find_group(g)) {
        for (name, doc) in &g.inline_policies {
            sources.push(Source {
                id: name.clone(),
                arn: None,
                kind: Some("group"),
                doc: doc.clone(),
            });
        }
        attached.extend(g.attached_policies.iter().map(|a| a.as_str()));
    }
    if let Some(b) = p.permissions_boundary() {
        attached.push(b);
    }
    for a in attached {
        if let Some(m) = cx.state.policies.get(a) {
            sources.push(Source {
                id: m.name.clone(),
                arn: Some(a.to_string()),
                kind: Some(if m.account.is_none() {
                    "aws-managed"
                } else {
                    "user-managed"
                }),
                doc: m.default_document().unwrap_or("").to_string(),
            });
        }
    }
}

fn caller_for(p: &Principal) -> Caller {
    Caller {
        arn: p.arn.clone(),
        account: p.account.to_string(),
        user_id: p.unique_id.clone(),
        entity_arn: p.arn.clone(),
        kind: match p.kind {
            PrincipalKind::Root => CallerKind::Root,
            PrincipalKind::User { .. } => CallerKind::User,
            PrincipalKind::Role(_) => CallerKind::AssumedRole,
        },
        access_key: String::new(),
        session: None,
        tags: p.tags().clone(),
        bearer: None,
    }
}

pub fn simulate_principal_policy(cx: &Ctx) -> OpResult {
    let source = cx.p.required("PolicySourceArn")?;
    let actions = action_names(&cx.p)?;
    let resources = resource_arns(&cx.p);
    let entries = context_entries(&cx.p)?;
    let mut sources = Vec::new();
    let extra = input_policies(&cx.p, "PolicyInputList", PolicyKind::Identity, &mut sources)?;
    let boundaries = input_policies(
        &cx.p,
        "PermissionsBoundaryPolicyInputList",
        PolicyKind::Boundary,
        &mut sources,
    )?;
    let rp = resource_policy(&cx.p, &mut sources)?;
    cx.authorize("iam:SimulatePrincipalPolicy", source)?;

    let (account, resource) = bg_gates::state::split_iam_arn(source);
    let name = resource.rsplit('/').next().unwrap_or(resource);
    // chosen: AWS's text for a PolicySourceArn that is not an IAM user, group or role ARN.
    let not_valid = || invalid_input(format!("Invalid ARN: {source}"));
    if !source.starts_with("arn:aws:iam::") || account.is_empty() {
        return Err(not_valid());
    }
    let (caller, mut identity) = if resource.starts_with("user/") || resource.starts_with("role/") {
        let kind = if resource.starts_with("user/") {
            Kind::User
        } else {
            Kind::Role
        };
        let p = cx
            .state
            .principals
            .get(source)
            .ok_or_else(|| no_such_entity(kind, name))?;
        entity_sources(cx, p, &mut sources);
        let identity: Vec<NamedPolicy> = cx
            .state
            .compiled
            .identity
            .get(&p.arn)
            .map(|v| v.as_ref().clone())
            .unwrap_or_default();
        (caller_for(p), identity)
    } else if resource.starts_with("group/") {
        let g = cx
            .state
            .groups
            .get(source)
            .ok_or_else(|| no_such_entity(Kind::Group, name))?;
        let mut identity = Vec::new();
        for (n, doc) in &g.inline_policies {
            if let Ok(pol) = Policy::parse(doc, PolicyKind::Identity) {
                identity.push(NamedPolicy::new(n.clone(), pol));
            }
            sources.push(Source {
                id: n.clone(),
                arn: None,
                kind: Some("group"),
                doc: doc.clone(),
            });
        }
        for a in &g.attached_policies {
            if let (Some(np), Some(m)) = (
                cx.state.compiled.managed.get(a.as_str()),
                cx.state.policies.get(a.as_str()),
            ) {
                identity.push((**np).clone());
                sources.push(Source {
                    id: m.name.clone(),
                    arn: Some(a.to_string()),
                    kind: Some(if m.account.is_none() {
                        "aws-managed"
                    } else {
                        "user-managed"
                    }),
                    doc: m.default_document().unwrap_or("").to_string(),
                });
            }
        }
        let mut c = caller_for(&Principal::user(&g.account, &g.name, &g.path));
        c.arn = g.arn.clone();
        c.entity_arn = g.arn.clone();
        (c, identity)
    } else if resource == "root" {
        return Err(no_such(format!(
            "The user with name {account} cannot be found."
        )));
    } else {
        return Err(not_valid());
    };
    let server_path = extra.is_empty()
        && boundaries.is_empty()
        && rp.is_none()
        && !resource.starts_with("group/");
    identity.extend(extra);
    // A boundary passed in the request replaces the entity's own.
    let boundary = boundaries.into_iter().next().or_else(|| {
        cx.state
            .compiled
            .boundary
            .get(&caller.entity_arn)
            .map(|b| (**b).clone())
    });
    let sim = Sim {
        scps: cx.state.compiled.scps.get(&caller.account).cloned(),
        caller,
        server_path,
        identity,
        boundary,
        resource_policy: rp,
        resource_owner: cx.p.get("ResourceOwner").map(owner_account),
        sources,
    };
    sim.run(cx, &actions, &resources, &entries)
}

/// `ResourceOwner` is an account ID or an ARN of the account (`arn:aws:iam::ACCOUNT:root`).
fn owner_account(s: &str) -> String {
    if s.starts_with("arn:") {
        bg_gates::state::split_iam_arn(s).0.to_string()
    } else {
        s.to_string()
    }
}

pub fn simulate_custom_policy(cx: &Ctx) -> OpResult {
    if !cx.p.has_list("PolicyInputList") {
        return Err(awsquery::missing("PolicyInputList"));
    }
    let actions = action_names(&cx.p)?;
    let resources = resource_arns(&cx.p);
    let entries = context_entries(&cx.p)?;
    let mut sources = Vec::new();
    let identity = input_policies(&cx.p, "PolicyInputList", PolicyKind::Identity, &mut sources)?;
    let boundaries = input_policies(
        &cx.p,
        "PermissionsBoundaryPolicyInputList",
        PolicyKind::Boundary,
        &mut sources,
    )?;
    let rp = resource_policy(&cx.p, &mut sources)?;
    cx.authorize_no_resource("iam:SimulateCustomPolicy")?;
    let caller_arn =
        cx.p.get("CallerArn")
            .map(str::to_string)
            .unwrap_or_else(|| format!("arn:aws:iam::{}:user/IAMSimulatedUser", cx.account));
    let simulated = cx
        .state
        .principals
        .get(&caller_arn)
        .cloned()
        .unwrap_or_else(|| {
            let p = bg_iam::Principal::from_arn(&caller_arn);
            let mut u =
                Principal::user(&p.account, caller_arn.rsplit('/').next().unwrap_or(""), "/");
            u.arn = caller_arn.clone();
            if p.kind == bg_iam::PrincipalKind::Root {
                u = Principal::root(&p.account);
            }
            u
        });
    // Only the request's policies apply: server_path is off, so no stored policy is looked up.
    let caller = caller_for(&simulated);
    let sim = Sim {
        caller,
        server_path: false,
        identity,
        boundary: boundaries.into_iter().next(),
        resource_policy: rp,
        resource_owner: cx.p.get("ResourceOwner").map(owner_account),
        scps: None,
        sources,
    };
    sim.run(cx, &actions, &resources, &entries)
}

/// 1-based (line, column) of the `index`-th statement's `{` and of the character after its
/// `}` in a policy document (`Statement` being an object or an array of objects).
pub(crate) fn statement_span(doc: &str, index: usize) -> Option<((usize, usize), (usize, usize))> {
    let chars: Vec<char> = doc.chars().collect();
    let mut pos = Vec::with_capacity(chars.len() + 1);
    let (mut line, mut col) = (1usize, 1usize);
    for c in &chars {
        pos.push((line, col));
        if *c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    pos.push((line, col));
    let ws = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let string_end = |mut i: usize| {
        // i at the opening quote; returns the index after the closing quote
        i += 1;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 2,
                '"' => return i + 1,
                _ => i += 1,
            }
        }
        i
    };
    let value_end = |i: usize| -> usize {
        match chars.get(i) {
            Some('"') => string_end(i),
            Some('{') | Some('[') => {
                let mut depth = 0usize;
                let mut j = i;
                while j < chars.len() {
                    match chars[j] {
                        '"' => {
                            j = string_end(j);
                            continue;
                        }
                        '{' | '[' => depth += 1,
                        '}' | ']' => {
                            depth -= 1;
                            if depth == 0 {
                                return j + 1;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                j
            }
            _ => {
                let mut j = i;
                while j < chars.len()
                    && !matches!(chars[j], ',' | '}' | ']')
                    && !chars[j].is_whitespace()
                {
                    j += 1;
                }
                j
            }
        }
    };
    let mut i = ws(0);
    if chars.get(i) != Some(&'{') {
        return None;
    }
    i = ws(i + 1);
    while i < chars.len() && chars[i] == '"' {
        let kend = string_end(i);
        let key: String = chars[i + 1..kend.saturating_sub(1)].iter().collect();
        i = ws(kend);
        if chars.get(i) != Some(&':') {
            return None;
        }
        i = ws(i + 1);
        let vend = value_end(i);
        if key == "Statement" {
            match chars.get(i) {
                Some('{') if index == 0 => return Some((pos[i], pos[vend])),
                Some('[') => {
                    let mut j = ws(i + 1);
                    let mut k = 0;
                    while j < vend && chars[j] != ']' {
                        let end = value_end(j);
                        if k == index {
                            return Some((pos[j], pos[end.min(chars.len())]));
                        }
                        k += 1;
                        j = ws(end);
                        if chars.get(j) == Some(&',') {
                            j = ws(j + 1);
                        }
                    }
                    return None;
                }
                _ => return None,
            }
        }
        i = ws(vend);
        if chars.get(i) == Some(&',') {
            i = ws(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::statement_span;

    #[test]
    fn spans() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"a:b\", \"Resource\": \"*\"},\n    {\"Effect\": \"Deny\", \"Action\": \"a:c\", \"Resource\": \"*\"}\n  ]\n}";
        assert_eq!(statement_span(doc, 0), Some(((4, 5), (4, 58))));
        assert_eq!(statement_span(doc, 1), Some(((5, 5), (5, 57))));
        assert_eq!(statement_span(doc, 2), None);
        let one = r#"{"Statement":{"Effect":"Allow","Action":"x:y","Resource":"*"},"Version":"2012-10-17"}"#;
        assert_eq!(statement_span(one, 0), Some(((1, 14), (1, 62))));
    }
}
