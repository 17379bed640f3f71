//! Managed policies and their versions, attachments, inline policies, permissions boundaries.

use super::awsquery::{self, Checks, Xml};
use super::principals::{check_boundary, page_xml};
use super::{
    already_exists, check_policy_arn, conflict, limit, malformed, no_such, not_attachable, Ctx,
    Kind, OpResult, Target,
};
use crate::error::ApiError;
use bg_gates::state::{unique_id, PolicyVersion};
use bg_gates::{Change, Entity, ManagedPolicy, PrincipalKind};
use bg_iam::{Policy, PolicyKind};

/// IAM's quota on a managed policy document (characters other than whitespace).
const MANAGED_POLICY_SIZE: usize = 6144;
/// IAM's quota on managed policies attached to one user, role or group.
const ATTACHED_PER_ENTITY: usize = 10;
const MAX_VERSIONS: usize = 5;

fn parse_identity(doc: &str) -> Result<(), ApiError> {
    Policy::parse(doc, PolicyKind::Identity)
        .map(|_| ())
        .map_err(|e| malformed(e.to_string()))
}

/// How many users, roles and groups have the policy attached, and how many use it as their
/// permissions boundary.
fn usage(cx: &Ctx, arn: &str) -> (usize, usize) {
    let mut attached = cx
        .state
        .principals
        .values()
        .filter(|p| p.attached_policies.iter().any(|a| a == arn))
        .count();
    attached += cx
        .state
        .groups
        .values()
        .filter(|g| g.attached_policies.iter().any(|a| a == arn))
        .count();
    let boundary = cx
        .state
        .principals
        .values()
        .filter(|p| p.permissions_boundary() == Some(arn))
        .count();
    (attached, boundary)
}

fn policy_xml(cx: &Ctx, x: &mut Xml, p: &ManagedPolicy, description: bool) {
    let (attached, boundary) = usage(cx, &p.arn);
    x.leaf("PolicyName", &p.name)
        .leaf("PolicyId", &p.policy_id)
        .leaf("Arn", &p.arn)
        .leaf("Path", &p.path)
        .leaf("DefaultVersionId", &p.default_version)
        .leaf("AttachmentCount", attached)
        .leaf("PermissionsBoundaryUsageCount", boundary)
        .leaf("IsAttachable", true);
    if description {
        x.opt("Description", p.description.as_deref());
    }
    x.leaf("CreateDate", awsquery::iso8601(p.created_unix))
        .leaf("UpdateDate", awsquery::iso8601(p.updated_unix));
}

fn version_xml(x: &mut Xml, p: &ManagedPolicy, v: &PolicyVersion, document: bool) {
    if document {
        x.leaf("Document", awsquery::url_encode(&v.document));
    }
    x.leaf("VersionId", &v.version_id)
        .leaf("IsDefaultVersion", v.version_id == p.default_version)
        .leaf("CreateDate", awsquery::iso8601(v.created_unix));
}

/// The policy named by `PolicyArn`, after checking the ARN's form and authorizing `action`
/// on it. Not found is AWS's `Policy ARN was not found.`
fn policy_for(cx: &Ctx, action: &str) -> Result<ManagedPolicy, ApiError> {
    let arn = cx.p.required("PolicyArn")?;
    check_policy_arn(arn)?;
    authorize_on_policy(cx, action, arn)?;
    cx.find_policy(arn)
        .cloned()
        .ok_or_else(|| no_such(format!("Policy {arn} was not found.")))
}

/// Authorizes `action` on the managed policy `arn`.
///
/// IAM names a policy `policy ARN` in its refusals, e.g. `User: arn:aws:iam::123456789012:user/u
/// is not authorized to perform: iam:DeletePolicyVersion on resource: policy
/// arn:aws:iam::123456789012:policy/P because no identity-based policy allows the
/// iam:DeletePolicyVersion action` (AccessDenied, 403; the same form is seen for AWS managed
/// policies with iam:GetPolicy).
///
/// AWS managed policies are read-only for everyone, the account root user included: the
/// engine refuses creating versions of, deleting, or tagging them
/// ([`bg_iam::ReadOnly::AwsManagedPolicy`]) before the policy is even looked up.
// chosen: for that refusal AWS's exact sentence is not known to us; we answer the implicit
// deny's sentence, with the identity-based variant when no policy layer blocked
// (`User: arn:aws:iam::123456789012:root is not authorized to perform: iam:DeletePolicy on
// resource: policy arn:aws:iam::aws:policy/AmazonBedrockFullAccess because no identity-based
// policy allows the iam:DeletePolicy action`), pinned by tests/python/test_iam_managed_readonly.py.
fn authorize_on_policy(cx: &Ctx, action: &str, arn: &str) -> Result<(), ApiError> {
    cx.authorize_shown(action, arn, &format!("policy {arn}"))
}

pub fn create_policy(cx: &Ctx) -> OpResult {
    let name = cx.p.required("PolicyName")?;
    let doc = cx.p.required("PolicyDocument")?;
    let path = cx.p.get("Path").unwrap_or("/");
    let description = cx.p.get("Description");
    let mut checks = Checks::new();
    checks
        .name(name, "PolicyName", 128)
        .policy_path(path, "Path")
        .length(doc, "PolicyDocument", 1, 131_072);
    if let Some(d) = description {
        checks.length(d, "Description", 0, 1000);
    }
    checks.done()?;
    // Tags are validated but not kept: the state model has no tags on managed policies.
    let tags = super::principals::parse_tags(&cx.p)?;
    let arn = format!("arn:aws:iam::{}:policy{path}{name}", cx.account);
    cx.authorize_with("iam:CreatePolicy", &arn, |ctx| {
        super::principals::request_tag_context(ctx, &tags)
    })?;
    let taken = cx.state.policies.values().any(|p| {
        p.account.as_deref() == Some(cx.account.as_str()) && p.name.eq_ignore_ascii_case(name)
    });
    if taken {
        return Err(already_exists(format!(
            "A policy called {name} already exists. Duplicate names are not allowed."
        )));
    }
    parse_identity(doc)?;
    if awsquery::policy_size(doc) > MANAGED_POLICY_SIZE {
        return Err(limit(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}"
        )));
    }
    let p = ManagedPolicy {
        arn: arn.clone(),
        account: Some(cx.account.clone()),
        name: name.to_string(),
        path: path.to_string(),
        policy_id: unique_id("ANPA", &cx.account, &arn),
        description: description.map(str::to_string),
        default_version: "v1".to_string(),
        versions: vec![PolicyVersion {
            version_id: "v1".to_string(),
            document: doc.to_string(),
            created_unix: cx.now,
        }],
        created_unix: cx.now,
        updated_unix: cx.now,
    };
    cx.write(vec![Change::Put(Entity::ManagedPolicy(p.clone()))])?;
    let mut x = Xml::new();
    x.open("Policy");
    policy_xml(cx, &mut x, &p, false);
    x.close("Policy");
    Ok(Some(x.finish()))
}

pub fn get_policy(cx: &Ctx) -> OpResult {
    let p = policy_for(cx, "iam:GetPolicy")?;
    let mut x = Xml::new();
    x.open("Policy");
    policy_xml(cx, &mut x, &p, true);
    x.close("Policy");
    Ok(Some(x.finish()))
}

pub fn delete_policy(cx: &Ctx) -> OpResult {
    let p = policy_for(cx, "iam:DeletePolicy")?;
    let (attached, boundary) = usage(cx, &p.arn);
    if attached + boundary > 0 {
        return Err(conflict("Cannot delete a policy attached to entities."));
    }
    if p.versions.len() > 1 {
        return Err(conflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        ));
    }
    cx.write(vec![Change::Delete {
        kind: "managed-policy",
        id: p.arn,
    }])?;
    Ok(None)
}

pub fn list_policies(cx: &Ctx) -> OpResult {
    let scope = cx.p.get("Scope").unwrap_or("All");
    let prefix = cx.p.get("PathPrefix").unwrap_or("/");
    let only_attached = cx.p.bool("OnlyAttached");
    let usage_filter = cx.p.get("PolicyUsageFilter");
    let mut checks = Checks::new();
    if !["All", "AWS", "Local"].contains(&scope) {
        checks.fail(scope, "scope", "satisfy enum value set: [All, AWS, Local]");
    }
    if let Some(u) = usage_filter {
        if !["PermissionsPolicy", "PermissionsBoundary"].contains(&u) {
            checks.fail(
                u,
                "policyUsageFilter",
                "satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]",
            );
        }
    }
    checks.done()?;
    // IAM names "policy path /" rather than an ARN when it refuses ListPolicies.
    cx.authorize_shown(
        "iam:ListPolicies",
        &format!("arn:aws:iam::{}:policy{prefix}", cx.account),
        &format!("policy path {prefix}"),
    )?;
    let mut v: Vec<&ManagedPolicy> = cx
        .state
        .policies
        .values()
        .filter(|p| match (scope, p.account.as_deref()) {
            ("AWS", a) => a.is_none(),
            ("Local", a) => a == Some(cx.account.as_str()),
            (_, a) => !matches!(a, Some(a) if a != cx.account),
        })
        .filter(|p| p.path.starts_with(prefix))
        .filter(|p| {
            let (attached, boundary) = usage(cx, &p.arn);
            let used = match usage_filter {
                Some("PermissionsPolicy") => attached,
                Some("PermissionsBoundary") => boundary,
                _ => attached + boundary,
            };
            !only_attached || used > 0
        })
        .collect();
    v.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.arn.cmp(&b.arn))
    });
    let (v, marker) = cx.page(v)?;
    let mut x = Xml::new();
    x.list("Policies", v, |x, p| policy_xml(cx, x, p, false));
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

fn version_number(id: &str) -> u32 {
    id.trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub fn create_policy_version(cx: &Ctx) -> OpResult {
    let doc = cx.p.required("PolicyDocument")?;
    let mut p = policy_for(cx, "iam:CreatePolicyVersion")?;
    if p.versions.len() >= MAX_VERSIONS {
        return Err(limit(
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
        ));
    }
    parse_identity(doc)?;
    if awsquery::policy_size(doc) > MANAGED_POLICY_SIZE {
        return Err(limit(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}"
        )));
    }
    let n = p
        .versions
        .iter()
        .map(|v| version_number(&v.version_id))
        .max()
        .unwrap_or(0)
        + 1;
    let v = PolicyVersion {
        version_id: format!("v{n}"),
        document: doc.to_string(),
        created_unix: cx.now,
    };
    p.versions.push(v.clone());
    if cx.p.bool("SetAsDefault") {
        p.default_version = v.version_id.clone();
        p.updated_unix = cx.now;
    }
    cx.write(vec![Change::Put(Entity::ManagedPolicy(p.clone()))])?;
    let mut x = Xml::new();
    x.open("PolicyVersion");
    version_xml(&mut x, &p, &v, false);
    x.close("PolicyVersion");
    Ok(Some(x.finish()))
}

fn version_id_param<'a>(cx: &Ctx<'a>) -> Result<&'a str, ApiError> {
    let id = cx.p.required("VersionId")?;
    let ok = id.starts_with('v') && version_number(id) > 0;
    if !ok {
        let mut c = Checks::new();
        c.fail(
            id,
            "versionId",
            r"satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?",
        );
        c.done()?;
    }
    Ok(id)
}

fn no_such_version(p: &ManagedPolicy, id: &str) -> ApiError {
    // chosen: AWS's exact sentence for an unknown version is not known to us.
    no_such(format!("Policy {} version {id} does not exist.", p.arn))
}

pub fn get_policy_version(cx: &Ctx) -> OpResult {
    let id = version_id_param(cx)?;
    let p = policy_for(cx, "iam:GetPolicyVersion")?;
    let v = p
        .versions
        .iter()
        .find(|v| v.version_id == id)
        .ok_or_else(|| no_such_version(&p, id))?;
    let mut x = Xml::new();
    x.open("PolicyVersion");
    version_xml(&mut x, &p, v, true);
    x.close("PolicyVersion");
    Ok(Some(x.finish()))
}

pub fn delete_policy_version(cx: &Ctx) -> OpResult {
    let id = version_id_param(cx)?;
    let mut p = policy_for(cx, "iam:DeletePolicyVersion")?;
    if !p.versions.iter().any(|v| v.version_id == id) {
        return Err(no_such_version(&p, id));
    }
    if p.default_version == id {
        return Err(conflict("Cannot delete the default version of a policy."));
    }
    p.versions.retain(|v| v.version_id != id);
    cx.write(vec![Change::Put(Entity::ManagedPolicy(p))])?;
    Ok(None)
}

pub fn set_default_policy_version(cx: &Ctx) -> OpResult {
    let id = version_id_param(cx)?;
    let mut p = policy_for(cx, "iam:SetDefaultPolicyVersion")?;
    if !p.versions.iter().any(|v| v.version_id == id) {
        return Err(no_such_version(&p, id));
    }
    p.default_version = id.to_string();
    p.updated_unix = cx.now;
    cx.write(vec![Change::Put(Entity::ManagedPolicy(p))])?;
    Ok(None)
}

pub fn list_policy_versions(cx: &Ctx) -> OpResult {
    let p = policy_for(cx, "iam:ListPolicyVersions")?;
    let mut versions: Vec<&PolicyVersion> = p.versions.iter().collect();
    versions.sort_by_key(|v| std::cmp::Reverse(version_number(&v.version_id)));
    let (versions, marker) = cx.page(versions)?;
    let mut x = Xml::new();
    x.list("Versions", versions, |x, v| version_xml(x, &p, v, false));
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

// ---- attachments ------------------------------------------------------------------------------

/// The entity name member, checked, and the ARN the action is authorized on.
fn entity_param<'a>(cx: &Ctx<'a>, kind: Kind) -> Result<(&'a str, String), ApiError> {
    let name = cx.p.required(kind.name_member())?;
    Checks::new()
        .name(name, kind.name_member(), kind.max_name())
        .done()?;
    Ok((name, cx.target_arn(kind, name)))
}

pub fn attach(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    let policy = cx.p.required("PolicyArn")?;
    check_policy_arn(policy)?;
    cx.authorize_entity(&format!("iam:Attach{}Policy", kind.title()), &arn, |ctx| {
        ctx.set("iam:PolicyARN", policy);
    })?;
    let mut t = cx.target(kind, name)?;
    if cx.find_policy(policy).is_none() {
        return Err(not_attachable(policy));
    }
    if t.attached().iter().any(|a| a == policy) {
        return Ok(None);
    }
    if t.attached().len() >= ATTACHED_PER_ENTITY {
        return Err(limit(format!(
            "Cannot exceed quota for PoliciesPer{}: {ATTACHED_PER_ENTITY}",
            kind.title()
        )));
    }
    t.attached().push(policy.into());
    cx.write(vec![t.into_change()])?;
    Ok(None)
}

pub fn detach(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    let policy = cx.p.required("PolicyArn")?;
    check_policy_arn(policy)?;
    cx.authorize_entity(&format!("iam:Detach{}Policy", kind.title()), &arn, |ctx| {
        ctx.set("iam:PolicyARN", policy);
    })?;
    let mut t = cx.target(kind, name)?;
    if !t.attached().iter().any(|a| a == policy) {
        return Err(no_such(format!("Policy {policy} was not found.")));
    }
    t.attached().retain(|a| a != policy);
    cx.write(vec![t.into_change()])?;
    Ok(None)
}

pub fn list_attached(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    let prefix = cx.p.get("PathPrefix").unwrap_or("/");
    cx.authorize_entity(
        &format!("iam:ListAttached{}Policies", kind.title()),
        &arn,
        |_| {},
    )?;
    let mut t = cx.target(kind, name)?;
    let attached: Vec<(String, String)> = t
        .attached()
        .iter()
        .filter_map(|a| cx.state.policies.get(a.as_str()))
        .filter(|p| p.path.starts_with(prefix))
        .map(|p| (p.name.clone(), p.arn.clone()))
        .collect();
    let (attached, marker) = cx.page(attached)?;
    let mut x = Xml::new();
    x.list("AttachedPolicies", attached, |x, (n, a)| {
        x.leaf("PolicyName", n).leaf("PolicyArn", a);
    });
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

// ---- inline policies --------------------------------------------------------------------------

/// IAM's aggregate quota on a user's, role's or group's inline policies.
fn inline_quota(kind: Kind) -> usize {
    match kind {
        Kind::User => 2048,
        Kind::Role => 10240,
        Kind::Group => 5120,
    }
}

fn policy_name_param<'a>(cx: &Ctx<'a>) -> Result<&'a str, ApiError> {
    let name = cx.p.required("PolicyName")?;
    Checks::new().name(name, "PolicyName", 128).done()?;
    Ok(name)
}

pub fn put_inline(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    let policy_name = policy_name_param(cx)?;
    let doc = cx.p.required("PolicyDocument")?;
    Checks::new()
        .length(doc, "PolicyDocument", 1, 131_072)
        .done()?;
    cx.authorize_entity(&format!("iam:Put{}Policy", kind.title()), &arn, |_| {})?;
    let mut t = cx.target(kind, name)?;
    parse_identity(doc)?;
    let inline = t.inline();
    // A policy of the same name (any case) is replaced.
    let existing = inline
        .keys()
        .find(|k| k.eq_ignore_ascii_case(policy_name))
        .cloned();
    if let Some(k) = &existing {
        inline.remove(k);
    }
    let total: usize = inline
        .values()
        .map(|d| awsquery::policy_size(d))
        .sum::<usize>()
        + awsquery::policy_size(doc);
    if total > inline_quota(kind) {
        return Err(limit(format!(
            "Maximum policy size of {} bytes exceeded for {} {}",
            inline_quota(kind),
            kind.word(),
            t.name()
        )));
    }
    t.inline().insert(
        existing.unwrap_or_else(|| policy_name.to_string()),
        doc.to_string(),
    );
    cx.write(vec![t.into_change()])?;
    Ok(None)
}

fn no_such_inline(kind: Kind, policy: &str) -> ApiError {
    no_such(format!(
        "The {} policy with name {policy} cannot be found.",
        kind.word()
    ))
}

pub fn get_inline(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    let policy_name = policy_name_param(cx)?;
    cx.authorize_entity(&format!("iam:Get{}Policy", kind.title()), &arn, |_| {})?;
    let mut t = cx.target(kind, name)?;
    let entity_name = t.name().to_string();
    let (stored, doc) = t
        .inline()
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(policy_name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .ok_or_else(|| no_such_inline(kind, policy_name))?;
    let mut x = Xml::new();
    x.leaf(kind.name_member(), entity_name)
        .leaf("PolicyName", stored)
        .leaf("PolicyDocument", awsquery::url_encode(&doc));
    Ok(Some(x.finish()))
}

pub fn delete_inline(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    let policy_name = policy_name_param(cx)?;
    cx.authorize_entity(&format!("iam:Delete{}Policy", kind.title()), &arn, |_| {})?;
    let mut t = cx.target(kind, name)?;
    let stored = t
        .inline()
        .keys()
        .find(|k| k.eq_ignore_ascii_case(policy_name))
        .cloned()
        .ok_or_else(|| no_such_inline(kind, policy_name))?;
    t.inline().remove(&stored);
    cx.write(vec![t.into_change()])?;
    Ok(None)
}

pub fn list_inline(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    cx.authorize_entity(&format!("iam:List{}Policies", kind.title()), &arn, |_| {})?;
    let mut t = cx.target(kind, name)?;
    let names: Vec<String> = t.inline().keys().cloned().collect();
    let (names, marker) = cx.page(names)?;
    let mut x = Xml::new();
    x.strings("PolicyNames", names);
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

// ---- permissions boundaries -------------------------------------------------------------------

pub fn put_boundary(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    let boundary = cx.p.required("PermissionsBoundary")?;
    check_policy_arn(boundary)?;
    cx.authorize_entity(
        &format!("iam:Put{}PermissionsBoundary", kind.title()),
        &arn,
        |ctx| {
            ctx.set("iam:PermissionsBoundary", boundary);
        },
    )?;
    let t = cx.target(kind, name)?;
    check_boundary(cx, boundary)?;
    let Target::Principal(mut p) = t else {
        return Ok(None);
    };
    p.set_permissions_boundary(Some(boundary.to_string()));
    cx.write(vec![Change::Put(Entity::Principal(p))])?;
    Ok(None)
}

pub fn delete_boundary(cx: &Ctx, kind: Kind) -> OpResult {
    let (name, arn) = entity_param(cx, kind)?;
    cx.authorize_entity(
        &format!("iam:Delete{}PermissionsBoundary", kind.title()),
        &arn,
        |ctx| {
            if let Some(Some(b)) = cx
                .state
                .principals
                .get(&arn)
                .map(|p| p.permissions_boundary().map(str::to_string))
            {
                ctx.set("iam:PermissionsBoundary", b);
            }
        },
    )?;
    let Target::Principal(mut p) = cx.target(kind, name)? else {
        return Ok(None);
    };
    if p.permissions_boundary().is_none() || matches!(p.kind, PrincipalKind::Root) {
        return Ok(None);
    }
    p.set_permissions_boundary(None);
    cx.write(vec![Change::Put(Entity::Principal(p))])?;
    Ok(None)
}
