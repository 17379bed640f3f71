//! Users, groups, roles, their tags and access keys.

use super::awsquery::{self, Checks, Params, Xml};
use super::{
    already_exists, conflict, invalid_input, limit, malformed, no_such, Ctx, Kind, OpResult,
};
use crate::error::ApiError;
use bg_gates::decide::Resource;
use bg_gates::state::unique_id;
use bg_gates::{AccessKey, Change, Entity, Group, Principal, PrincipalKind};
use bg_iam::PolicyKind;
use std::collections::BTreeMap;

// ---- XML shapes --------------------------------------------------------------------------------

fn boundary_xml(x: &mut Xml, arn: Option<&str>) {
    if let Some(b) = arn {
        x.open("PermissionsBoundary")
            .leaf("PermissionsBoundaryType", "Policy")
            .leaf("PermissionsBoundaryArn", b)
            .close("PermissionsBoundary");
    }
}

pub(crate) fn tags_xml(x: &mut Xml, tags: &BTreeMap<String, String>) {
    x.list("Tags", tags, |x, (k, v)| {
        x.leaf("Key", k).leaf("Value", v);
    });
}

/// The `User` shape. `full` adds what GetUser/CreateUser return beyond the list operations
/// (permissions boundary, tags). The root user has no path and no name, as in AWS's GetUser.
pub(crate) fn user_xml(x: &mut Xml, p: &Principal, full: bool) {
    if !matches!(p.kind, PrincipalKind::Root) {
        x.leaf("Path", p.path()).leaf("UserName", p.name());
    }
    x.leaf("UserId", &p.unique_id)
        .leaf("Arn", &p.arn)
        .leaf("CreateDate", awsquery::iso8601(p.created_unix));
    if full {
        boundary_xml(x, p.permissions_boundary());
        if !p.tags().is_empty() {
            tags_xml(x, p.tags());
        }
    }
}

/// The `Role` shape; `full` is GetRole's (boundary, tags, RoleLastUsed).
pub(crate) fn role_xml(x: &mut Xml, p: &Principal, full: bool) {
    let Some(role) = p.as_role() else {
        return;
    };
    x.leaf("Path", p.path())
        .leaf("RoleName", p.name())
        .leaf("RoleId", &p.unique_id)
        .leaf("Arn", &p.arn)
        .leaf("CreateDate", awsquery::iso8601(p.created_unix))
        .leaf(
            "AssumeRolePolicyDocument",
            awsquery::url_encode(&role.trust_policy),
        )
        .opt("Description", role.description.as_deref())
        .leaf("MaxSessionDuration", role.max_session_duration);
    if full {
        boundary_xml(x, p.permissions_boundary());
        if !p.tags().is_empty() {
            tags_xml(x, p.tags());
        }
        x.raw("<RoleLastUsed/>");
    }
}

pub(crate) fn group_xml(x: &mut Xml, g: &Group) {
    x.leaf("Path", &g.path)
        .leaf("GroupName", &g.name)
        .leaf("GroupId", &g.unique_id)
        .leaf("Arn", &g.arn)
        .leaf("CreateDate", awsquery::iso8601(g.created_unix));
}

/// `IsTruncated` and, when truncated, `Marker`.
pub(crate) fn page_xml(x: &mut Xml, marker: Option<String>) {
    x.leaf("IsTruncated", marker.is_some())
        .opt("Marker", marker);
}

impl Ctx<'_> {
    /// One page of `items`, by `MaxItems` (1..=1000, default 100) and `Marker` (opaque to
    /// clients; ours is the index of the next item).
    pub fn page<T>(&self, items: Vec<T>) -> Result<(Vec<T>, Option<String>), ApiError> {
        let (range, next) = self.page_range(items.len())?;
        Ok((
            items
                .into_iter()
                .skip(range.start)
                .take(range.len())
                .collect(),
            next,
        ))
    }

    /// The indices of one page of `total` items and the next page's marker: for lists that
    /// are produced one page at a time (the simulations' actions × resources).
    pub fn page_range(
        &self,
        total: usize,
    ) -> Result<(std::ops::Range<usize>, Option<String>), ApiError> {
        let max = self.p.int("MaxItems")?.unwrap_or(100);
        Checks::new().range(max, "MaxItems", 1, 1000).done()?;
        let start = match self.p.get("Marker") {
            None => 0,
            // chosen: AWS's text for a marker it did not issue is not known to us.
            Some(m) => m
                .parse::<usize>()
                .map_err(|_| invalid_input(format!("Invalid Marker: {m}")))?,
        };
        let end = start.saturating_add(max as usize).min(total);
        let next = (end < total).then(|| end.to_string());
        Ok((start.min(end)..end, next))
    }
}

// ---- tags -------------------------------------------------------------------------------------

/// `Tags.member.N.Key/Value`, validated as the service model says (≤ 50, key 1..=128,
/// value ≤ 256, no key twice ignoring case).
pub(crate) fn parse_tags(p: &Params) -> Result<Vec<(String, String)>, ApiError> {
    let raw = p.structs("Tags");
    let mut out: Vec<(String, String)> = Vec::new();
    let mut checks = Checks::new();
    if raw.len() > 50 {
        checks.fail(
            &format!("{} tags", raw.len()),
            "tags",
            "have length less than or equal to 50",
        );
    }
    for (i, t) in raw.iter().enumerate() {
        let tp = Params(t);
        let n = i + 1;
        let key = tp
            .get("Key")
            .ok_or_else(|| awsquery::missing(&format!("tags.{n}.member.key")))?;
        let value = tp
            .get("Value")
            .ok_or_else(|| awsquery::missing(&format!("tags.{n}.member.value")))?;
        checks.length(key, &format!("tags.{n}.member.key"), 1, 128);
        checks.length(value, &format!("tags.{n}.member.value"), 0, 256);
        if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
        out.push((key.to_string(), value.to_string()));
    }
    checks.done()?;
    Ok(out)
}

/// `aws:RequestTag/K` and `aws:TagKeys`, as AWS sets them for requests that carry tags.
pub(crate) fn request_tag_context(ctx: &mut Resource, tags: &[(String, String)]) {
    if tags.is_empty() {
        return;
    }
    for (k, v) in tags {
        ctx.set(format!("aws:RequestTag/{k}"), v.clone());
    }
    ctx.set_multi("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()));
}

/// Set tags, replacing a key that differs only in case (IAM tag keys are case-insensitive).
fn merge_tags(into: &mut BTreeMap<String, String>, tags: &[(String, String)]) {
    for (k, v) in tags {
        into.retain(|old, _| !old.eq_ignore_ascii_case(k));
        into.insert(k.clone(), v.clone());
    }
}

fn principal_of(cx: &Ctx, kind: Kind, name: &str) -> Result<Principal, ApiError> {
    Ok(match kind {
        Kind::User => cx.user(name)?.clone(),
        _ => cx.role(name)?.clone(),
    })
}

pub fn tag(cx: &Ctx, kind: Kind) -> OpResult {
    let name = cx.p.required(kind.name_member())?;
    let tags = parse_tags(&cx.p)?;
    if !cx.p.has_list("Tags") {
        return Err(awsquery::missing("Tags"));
    }
    Checks::new()
        .name(name, kind.name_member(), kind.max_name())
        .done()?;
    let arn = cx.target_arn(kind, name);
    cx.authorize_entity(&format!("iam:Tag{}", kind.title()), &arn, |ctx| {
        request_tag_context(ctx, &tags)
    })?;
    let mut p = principal_of(cx, kind, name)?;
    merge_tags(p.tags_mut(), &tags);
    if p.tags().len() > 50 {
        // chosen: the quota name follows IAM's "Cannot exceed quota for …" sentences.
        return Err(limit(format!(
            "Cannot exceed quota for TagsPer{}: 50",
            kind.title()
        )));
    }
    cx.write(vec![Change::Put(Entity::Principal(p))])?;
    Ok(None)
}

pub fn untag(cx: &Ctx, kind: Kind) -> OpResult {
    let name = cx.p.required(kind.name_member())?;
    if !cx.p.has_list("TagKeys") {
        return Err(awsquery::missing("TagKeys"));
    }
    let keys = cx.p.list("TagKeys");
    let arn = cx.target_arn(kind, name);
    cx.authorize_entity(&format!("iam:Untag{}", kind.title()), &arn, |ctx| {
        ctx.set_multi("aws:TagKeys", keys.iter().map(|k| k.to_string()));
    })?;
    let mut p = principal_of(cx, kind, name)?;
    p.tags_mut()
        .retain(|k, _| !keys.iter().any(|d| d.eq_ignore_ascii_case(k)));
    cx.write(vec![Change::Put(Entity::Principal(p))])?;
    Ok(None)
}

pub fn list_tags(cx: &Ctx, kind: Kind) -> OpResult {
    let name = cx.p.required(kind.name_member())?;
    let arn = cx.target_arn(kind, name);
    cx.authorize_entity(&format!("iam:List{}Tags", kind.title()), &arn, |_| {})?;
    let p = principal_of(cx, kind, name)?;
    let (tags, marker) = cx.page(p.tags().clone().into_iter().collect::<Vec<_>>())?;
    let mut x = Xml::new();
    x.list("Tags", tags, |x, (k, v)| {
        x.leaf("Key", k).leaf("Value", v);
    });
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

/// A permissions boundary named in a request: a valid ARN of an existing managed policy.
pub(crate) fn check_boundary(cx: &Ctx, arn: &str) -> Result<(), ApiError> {
    super::check_policy_arn(arn)?;
    if cx.find_policy(arn).is_none() {
        return Err(super::not_attachable(arn));
    }
    Ok(())
}

// ---- users ------------------------------------------------------------------------------------

pub fn create_user(cx: &Ctx) -> OpResult {
    let name = cx.p.required("UserName")?;
    let path = cx.p.get("Path").unwrap_or("/");
    let boundary = cx.p.get("PermissionsBoundary");
    Checks::new()
        .name(name, "UserName", 64)
        .path(path, "Path")
        .done()?;
    let tags = parse_tags(&cx.p)?;
    let arn = cx.arn(Kind::User, path, name);
    cx.authorize_with("iam:CreateUser", &arn, |ctx| {
        request_tag_context(ctx, &tags);
        if let Some(b) = boundary {
            ctx.set("iam:PermissionsBoundary", b);
        }
    })?;
    if cx.find_user(name).is_some() {
        return Err(already_exists(format!(
            "User with name {name} already exists."
        )));
    }
    if let Some(b) = boundary {
        check_boundary(cx, b)?;
    }
    let mut u = Principal::user(&cx.account, name, path);
    u.created_unix = cx.now;
    u.set_permissions_boundary(boundary.map(str::to_string));
    merge_tags(u.tags_mut(), &tags);
    cx.write(vec![Change::Put(Entity::Principal(u.clone()))])?;
    let mut x = Xml::new();
    x.open("User");
    user_xml(&mut x, &u, true);
    x.close("User");
    Ok(Some(x.finish()))
}

/// The user a request is about: `UserName` if given, else the caller (GetUser,
/// CreateAccessKey, … accept both); authorized for `action` on its ARN.
pub(crate) fn user_for(cx: &Ctx, action: &str) -> Result<Principal, ApiError> {
    user_for_with(cx, action, |_| {})
}

/// As [`user_for`], with the action's own condition keys added.
pub(crate) fn user_for_with(
    cx: &Ctx,
    action: &str,
    extra: impl Fn(&mut Resource),
) -> Result<Principal, ApiError> {
    match cx.p.get("UserName") {
        Some(name) => {
            Checks::new().name(name, "UserName", 128).done()?;
            cx.authorize_entity(action, &cx.target_arn(Kind::User, name), &extra)?;
            Ok(cx.user(name)?.clone())
        }
        None => {
            let u = cx.implicit_user()?.clone();
            cx.authorize_entity(action, &u.arn, &extra)?;
            Ok(u)
        }
    }
}

pub fn get_user(cx: &Ctx) -> OpResult {
    let u = user_for(cx, "iam:GetUser")?;
    let mut x = Xml::new();
    x.open("User");
    user_xml(&mut x, &u, true);
    x.close("User");
    Ok(Some(x.finish()))
}

fn user_keys<'s>(cx: &'s Ctx, arn: &str) -> Vec<&'s AccessKey> {
    let mut keys: Vec<&AccessKey> = cx
        .state
        .keys
        .values()
        .filter(|k| k.principal_arn == arn && k.session.is_none() && k.session_token.is_none())
        .collect();
    keys.sort_by(|a, b| {
        (a.created_unix, &a.access_key_id).cmp(&(b.created_unix, &b.access_key_id))
    });
    keys
}

pub fn delete_user(cx: &Ctx) -> OpResult {
    let name = cx.p.required("UserName")?;
    cx.authorize_entity("iam:DeleteUser", &cx.target_arn(Kind::User, name), |_| {})?;
    let u = cx.user(name)?;
    // AWS checks these in an order we do not know; ours: keys, inline, attached, groups.
    if !user_keys(cx, &u.arn).is_empty() {
        return Err(conflict(
            "Cannot delete entity, must delete access keys first.",
        ));
    }
    if cx
        .state
        .service_credentials
        .values()
        .any(|c| c.user_arn == u.arn)
    {
        // chosen: AWS's wording for a user that still has service-specific credentials.
        return Err(conflict(
            "Cannot delete entity, must remove service specific credentials first.",
        ));
    }
    if cx.state.login_profiles.contains_key(&u.arn) {
        return Err(conflict(
            "Cannot delete entity, must delete login profile first.",
        ));
    }
    if !u.inline_policies().is_empty() {
        return Err(conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if !u.attached_policies.is_empty() {
        return Err(conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    if !u.groups().is_empty() {
        // chosen: wording for a user still in groups.
        return Err(conflict(
            "Cannot delete entity, must remove user from all groups first.",
        ));
    }
    cx.write(vec![Change::Delete {
        kind: "principal",
        id: u.arn.clone(),
    }])?;
    Ok(None)
}

fn sorted_principals<'s>(cx: &'s Ctx, role: bool, prefix: &str) -> Vec<&'s Principal> {
    let mut v: Vec<&Principal> = cx
        .state
        .principals
        .values()
        .filter(|p| {
            p.account == cx.account
                && match p.kind {
                    PrincipalKind::User { .. } => !role,
                    PrincipalKind::Role(_) => role,
                    PrincipalKind::Root => false,
                }
                && p.path().starts_with(prefix)
        })
        .collect();
    v.sort_by_key(|p| p.name().to_lowercase());
    v
}

pub fn list_users(cx: &Ctx) -> OpResult {
    let prefix = cx.p.get("PathPrefix").unwrap_or("/");
    cx.authorize("iam:ListUsers", &cx.arn(Kind::User, prefix, ""))?;
    let (users, marker) = cx.page(sorted_principals(cx, false, prefix))?;
    let mut x = Xml::new();
    x.list("Users", users, |x, u| user_xml(x, u, false));
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

// ---- groups -----------------------------------------------------------------------------------

pub fn create_group(cx: &Ctx) -> OpResult {
    let name = cx.p.required("GroupName")?;
    let path = cx.p.get("Path").unwrap_or("/");
    Checks::new()
        .name(name, "GroupName", 128)
        .path(path, "Path")
        .done()?;
    let arn = cx.arn(Kind::Group, path, name);
    cx.authorize("iam:CreateGroup", &arn)?;
    if cx.find_group(name).is_some() {
        return Err(already_exists(format!(
            "Group with name {name} already exists."
        )));
    }
    let g = Group {
        arn,
        account: cx.account.clone(),
        name: name.to_string(),
        path: path.to_string(),
        unique_id: unique_id("AGPA", &cx.account, name),
        inline_policies: BTreeMap::new(),
        attached_policies: Vec::new(),
        created_unix: cx.now,
    };
    cx.write(vec![Change::Put(Entity::Group(g.clone()))])?;
    let mut x = Xml::new();
    x.open("Group");
    group_xml(&mut x, &g);
    x.close("Group");
    Ok(Some(x.finish()))
}

fn members<'s>(cx: &'s Ctx, g: &Group) -> Vec<&'s Principal> {
    let mut v: Vec<&Principal> = cx
        .state
        .principals
        .values()
        .filter(|p| {
            p.account == g.account
                && matches!(p.kind, PrincipalKind::User { .. })
                && p.groups().iter().any(|n| n.eq_ignore_ascii_case(&g.name))
        })
        .collect();
    v.sort_by_key(|p| p.name().to_lowercase());
    v
}

pub fn get_group(cx: &Ctx) -> OpResult {
    let name = cx.p.required("GroupName")?;
    cx.authorize("iam:GetGroup", &cx.target_arn(Kind::Group, name))?;
    let g = cx.group(name)?;
    let (users, marker) = cx.page(members(cx, g))?;
    let mut x = Xml::new();
    x.open("Group");
    group_xml(&mut x, g);
    x.close("Group");
    x.list("Users", users, |x, u| user_xml(x, u, false));
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

pub fn delete_group(cx: &Ctx) -> OpResult {
    let name = cx.p.required("GroupName")?;
    cx.authorize("iam:DeleteGroup", &cx.target_arn(Kind::Group, name))?;
    let g = cx.group(name)?;
    if !members(cx, g).is_empty() {
        return Err(conflict(
            "Cannot delete entity, must remove users from group first.",
        ));
    }
    if !g.inline_policies.is_empty() {
        return Err(conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if !g.attached_policies.is_empty() {
        return Err(conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    cx.write(vec![Change::Delete {
        kind: "group",
        id: g.arn.clone(),
    }])?;
    Ok(None)
}

pub fn list_groups(cx: &Ctx) -> OpResult {
    let prefix = cx.p.get("PathPrefix").unwrap_or("/");
    cx.authorize("iam:ListGroups", &cx.arn(Kind::Group, prefix, ""))?;
    let mut groups: Vec<&Group> = cx
        .state
        .groups
        .values()
        .filter(|g| g.account == cx.account && g.path.starts_with(prefix))
        .collect();
    groups.sort_by_key(|g| g.name.to_lowercase());
    let (groups, marker) = cx.page(groups)?;
    let mut x = Xml::new();
    x.list("Groups", groups, group_xml);
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

pub fn list_groups_for_user(cx: &Ctx) -> OpResult {
    let name = cx.p.required("UserName")?;
    cx.authorize_entity(
        "iam:ListGroupsForUser",
        &cx.target_arn(Kind::User, name),
        |_| {},
    )?;
    let u = cx.user(name)?;
    let groups: Vec<&Group> = u.groups().iter().filter_map(|n| cx.find_group(n)).collect();
    let (groups, marker) = cx.page(groups)?;
    let mut x = Xml::new();
    x.list("Groups", groups, group_xml);
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

pub fn add_user_to_group(cx: &Ctx) -> OpResult {
    let group = cx.p.required("GroupName")?;
    let user = cx.p.required("UserName")?;
    Checks::new()
        .name(group, "GroupName", 128)
        .name(user, "UserName", 64)
        .done()?;
    cx.authorize("iam:AddUserToGroup", &cx.target_arn(Kind::Group, group))?;
    let g = cx.group(group)?;
    let mut u = cx.user(user)?.clone();
    if u.groups().iter().any(|n| n.eq_ignore_ascii_case(&g.name)) {
        return Ok(None);
    }
    if u.groups().len() >= 10 {
        return Err(limit("Cannot exceed quota for GroupsPerUser: 10"));
    }
    u.groups_mut().push(g.name.clone());
    cx.write(vec![Change::Put(Entity::Principal(u))])?;
    Ok(None)
}

pub fn remove_user_from_group(cx: &Ctx) -> OpResult {
    let group = cx.p.required("GroupName")?;
    let user = cx.p.required("UserName")?;
    cx.authorize(
        "iam:RemoveUserFromGroup",
        &cx.target_arn(Kind::Group, group),
    )?;
    let g = cx.group(group)?;
    let mut u = cx.user(user)?.clone();
    let before = u.groups().len();
    u.groups_mut().retain(|n| !n.eq_ignore_ascii_case(&g.name));
    if u.groups().len() == before {
        // chosen: a user that exists but is not in the group.
        return Err(no_such(format!(
            "User {} is not in group {}.",
            u.name(),
            g.name
        )));
    }
    cx.write(vec![Change::Put(Entity::Principal(u))])?;
    Ok(None)
}

// ---- roles ------------------------------------------------------------------------------------

/// A trust policy: valid as a resource-based policy, no `Resource` (AWS: "Has prohibited
/// field Resource"), and every IAM user/role it names in an account this emulator holds must
/// exist (AWS resolves principals when the policy is saved: `Invalid principal in policy:
/// "AWS":"ARN"`).
pub(crate) fn check_trust_policy(cx: &Ctx, doc: &str) -> Result<(), ApiError> {
    bg_iam::Policy::parse(doc, PolicyKind::Resource).map_err(|e| malformed(e.to_string()))?;
    let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) else {
        return Ok(());
    };
    let statements: Vec<&serde_json::Value> = match v.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(o) => vec![o],
        None => Vec::new(),
    };
    for st in statements {
        if st.get("Resource").is_some() || st.get("NotResource").is_some() {
            return Err(malformed("Has prohibited field Resource"));
        }
        let Some(aws) = st.get("Principal").and_then(|p| p.get("AWS")) else {
            continue;
        };
        let arns: Vec<&str> = match aws {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => Vec::new(),
        };
        for arn in arns {
            let (account, resource) = bg_gates::state::split_iam_arn(arn);
            let names_entity = arn.starts_with("arn:aws:iam::")
                && (resource.starts_with("user/") || resource.starts_with("role/"));
            if names_entity
                && cx.state.accounts.contains_key(account)
                && !cx.state.principals.contains_key(arn)
            {
                return Err(malformed(format!(
                    "Invalid principal in policy: \"AWS\":\"{arn}\""
                )));
            }
        }
    }
    Ok(())
}

pub fn create_role(cx: &Ctx) -> OpResult {
    let name = cx.p.required("RoleName")?;
    let doc = cx.p.required("AssumeRolePolicyDocument")?;
    let path = cx.p.get("Path").unwrap_or("/");
    let description = cx.p.get("Description");
    let max = cx.p.int("MaxSessionDuration")?;
    let boundary = cx.p.get("PermissionsBoundary");
    let mut checks = Checks::new();
    checks.name(name, "RoleName", 64).path(path, "Path").length(
        doc,
        "AssumeRolePolicyDocument",
        1,
        131_072,
    );
    if let Some(d) = description {
        checks.length(d, "Description", 0, 1000);
    }
    if let Some(m) = max {
        checks.range(m, "MaxSessionDuration", 3600, 43200);
    }
    checks.done()?;
    let tags = parse_tags(&cx.p)?;
    let arn = cx.arn(Kind::Role, path, name);
    cx.authorize_with("iam:CreateRole", &arn, |ctx| {
        request_tag_context(ctx, &tags);
        if let Some(b) = boundary {
            ctx.set("iam:PermissionsBoundary", b);
        }
    })?;
    if cx.find_role(name).is_some() {
        return Err(already_exists(format!(
            "Role with name {name} already exists."
        )));
    }
    check_trust_policy(cx, doc)?;
    if let Some(b) = boundary {
        check_boundary(cx, b)?;
    }
    let mut r = Principal::role(&cx.account, name, path, doc);
    if let Some(role) = r.as_role_mut() {
        role.max_session_duration = max.unwrap_or(3600) as u32;
        role.description = description.map(str::to_string);
    }
    r.created_unix = cx.now;
    r.set_permissions_boundary(boundary.map(str::to_string));
    merge_tags(r.tags_mut(), &tags);
    cx.write(vec![Change::Put(Entity::Principal(r.clone()))])?;
    let mut x = Xml::new();
    x.open("Role");
    role_xml(&mut x, &r, false);
    boundary_xml(&mut x, r.permissions_boundary());
    if !r.tags().is_empty() {
        tags_xml(&mut x, r.tags());
    }
    x.close("Role");
    Ok(Some(x.finish()))
}

pub fn get_role(cx: &Ctx) -> OpResult {
    let name = cx.p.required("RoleName")?;
    cx.authorize_entity("iam:GetRole", &cx.target_arn(Kind::Role, name), |_| {})?;
    let r = cx.role(name)?;
    let mut x = Xml::new();
    x.open("Role");
    role_xml(&mut x, r, true);
    x.close("Role");
    Ok(Some(x.finish()))
}

pub fn delete_role(cx: &Ctx) -> OpResult {
    let name = cx.p.required("RoleName")?;
    cx.authorize_entity("iam:DeleteRole", &cx.target_arn(Kind::Role, name), |_| {})?;
    let r = cx.role(name)?;
    if !r.inline_policies().is_empty() {
        return Err(conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if !r.attached_policies.is_empty() {
        return Err(conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    cx.write(vec![Change::Delete {
        kind: "principal",
        id: r.arn.clone(),
    }])?;
    Ok(None)
}

pub fn list_roles(cx: &Ctx) -> OpResult {
    let prefix = cx.p.get("PathPrefix").unwrap_or("/");
    cx.authorize("iam:ListRoles", &cx.arn(Kind::Role, prefix, ""))?;
    let (roles, marker) = cx.page(sorted_principals(cx, true, prefix))?;
    let mut x = Xml::new();
    x.list("Roles", roles, |x, r| role_xml(x, r, false));
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

pub fn update_role(cx: &Ctx) -> OpResult {
    let name = cx.p.required("RoleName")?;
    let description = cx.p.get("Description");
    let max = cx.p.int("MaxSessionDuration")?;
    let mut checks = Checks::new();
    if let Some(d) = description {
        checks.length(d, "Description", 0, 1000);
    }
    if let Some(m) = max {
        checks.range(m, "MaxSessionDuration", 3600, 43200);
    }
    checks.done()?;
    cx.authorize_entity("iam:UpdateRole", &cx.target_arn(Kind::Role, name), |_| {})?;
    let mut r = cx.role(name)?.clone();
    if let Some(role) = r.as_role_mut() {
        if let Some(m) = max {
            role.max_session_duration = m as u32;
        }
        if let Some(desc) = description {
            role.description = Some(desc.to_string());
        }
    }
    cx.write(vec![Change::Put(Entity::Principal(r))])?;
    Ok(Some(String::new()))
}

pub fn update_assume_role_policy(cx: &Ctx) -> OpResult {
    let name = cx.p.required("RoleName")?;
    let doc = cx.p.required("PolicyDocument")?;
    cx.authorize_entity(
        "iam:UpdateAssumeRolePolicy",
        &cx.target_arn(Kind::Role, name),
        |_| {},
    )?;
    let mut r = cx.role(name)?.clone();
    check_trust_policy(cx, doc)?;
    if let Some(role) = r.as_role_mut() {
        role.trust_policy = doc.to_string();
    }
    cx.write(vec![Change::Put(Entity::Principal(r))])?;
    Ok(None)
}

// ---- access keys ------------------------------------------------------------------------------

fn key_user_name(u: &Principal) -> Option<&str> {
    (!matches!(u.kind, PrincipalKind::Root)).then(|| u.name())
}

pub fn create_access_key(cx: &Ctx) -> OpResult {
    let u = user_for(cx, "iam:CreateAccessKey")?;
    if user_keys(cx, &u.arn).len() >= 2 {
        return Err(limit("Cannot exceed quota for AccessKeysPerUser: 2"));
    }
    let key = AccessKey {
        access_key_id: awsquery::access_key_id("AKIA"),
        secret_access_key: awsquery::secret_access_key(),
        principal_arn: u.arn.clone(),
        account: u.account.clone(),
        session_token: None,
        expires_unix: None,
        active: true,
        session: None,
        created_unix: cx.now,
    };
    cx.write(vec![Change::Put(Entity::AccessKey(key.clone()))])?;
    let mut x = Xml::new();
    x.open("AccessKey")
        .opt("UserName", key_user_name(&u))
        .leaf("AccessKeyId", &key.access_key_id)
        .leaf("Status", "Active")
        .leaf("SecretAccessKey", &key.secret_access_key)
        .leaf("CreateDate", awsquery::iso8601(key.created_unix))
        .close("AccessKey");
    Ok(Some(x.finish()))
}

fn owned_key(cx: &Ctx, u: &Principal, id: &str) -> Result<AccessKey, ApiError> {
    cx.state
        .keys
        .get(id)
        .filter(|k| k.principal_arn == u.arn && k.session.is_none())
        .cloned()
        .ok_or_else(|| no_such(format!("The Access Key with id {id} cannot be found.")))
}

pub fn delete_access_key(cx: &Ctx) -> OpResult {
    let id = cx.p.required("AccessKeyId")?;
    let u = user_for(cx, "iam:DeleteAccessKey")?;
    let k = owned_key(cx, &u, id)?;
    cx.write(vec![Change::Delete {
        kind: "access-key",
        id: k.access_key_id,
    }])?;
    Ok(None)
}

pub fn update_access_key(cx: &Ctx) -> OpResult {
    let id = cx.p.required("AccessKeyId")?;
    let status = cx.p.required("Status")?;
    if status != "Active" && status != "Inactive" {
        let mut c = Checks::new();
        c.fail(
            status,
            "status",
            "satisfy enum value set: [Active, Inactive, Expired]",
        );
        c.done()?;
    }
    let u = user_for(cx, "iam:UpdateAccessKey")?;
    let mut k = owned_key(cx, &u, id)?;
    k.active = status == "Active";
    cx.write(vec![Change::Put(Entity::AccessKey(k))])?;
    Ok(None)
}

pub fn list_access_keys(cx: &Ctx) -> OpResult {
    let u = user_for(cx, "iam:ListAccessKeys")?;
    let (keys, marker) = cx.page(user_keys(cx, &u.arn))?;
    let mut x = Xml::new();
    x.list("AccessKeyMetadata", keys, |x, k| {
        x.opt("UserName", key_user_name(&u))
            .leaf("AccessKeyId", &k.access_key_id)
            .leaf("Status", if k.active { "Active" } else { "Inactive" })
            .leaf("CreateDate", awsquery::iso8601(k.created_unix));
    });
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}
