//! The IAM API (awsQuery, XML, version 2010-05-08): enough to set every IAM case up with the
//! real `aws iam` CLI and boto3.
//!
//! Every call is authorized through the same engine as Bedrock calls (`bg_gates::authz`) with
//! IAM's real action name and the ARN of the entity it targets; a refusal is IAM's
//! `AccessDenied` (403) with AWS's sentence. State changes go through [`App::write`] (durable,
//! then a new snapshot). Mutating calls are serialized by one lock so that "does it exist?" and
//! the write that follows cannot interleave with another IAM call.
//!
//! Error texts are AWS's where known. Where AWS's exact wording is not known to us, the chosen
//! text is marked `// chosen:` at its definition.

mod api_keys;
pub(crate) mod awsquery;
pub mod login_profiles;
mod policies;
mod principals;
mod simulate;

use crate::auth::Caller;
use crate::auth::Proto;
use crate::error::ApiError;
use crate::App;
use awsquery::Params;
use bg_gates::decide::Resource;
use bg_gates::{Change, Group, ManagedPolicy, Principal, State};
use parking_lot::Mutex;
use std::sync::Arc;

pub const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const IAM_VERSION: &str = "2010-05-08";

/// Serializes IAM calls: each reads the snapshot and writes on the strength of what it read.
static IAM_LOCK: Mutex<()> = Mutex::new(());

/// What an operation returns: the inner XML of its `…Result` element, or None for operations
/// without an output shape.
pub(crate) type OpResult = Result<Option<String>, ApiError>;

/// Run one IAM action; Ok is the XML response body.
pub fn handle(
    app: &App,
    inc: &crate::Incoming,
    caller: &Caller,
    action: &str,
    params: &[(String, String)],
    request_id: &str,
) -> Result<String, ApiError> {
    let p = Params(params);
    if let Some(v) = p.get("Version") {
        if v != IAM_VERSION {
            return Err(ApiError::new(
                "InvalidAction",
                400,
                format!("Could not find operation {action} for version {v}"),
            ));
        }
    }
    let _guard = IAM_LOCK.lock();
    let cx = Ctx {
        app,
        caller,
        inc,
        state: Arc::clone(&caller.state),
        account: caller.identity.account.clone(),
        p,
        now: app.now_unix(),
    };
    let result = dispatch(&cx, action)?;
    Ok(awsquery::response(action, IAM_XMLNS, result, request_id))
}

fn dispatch(cx: &Ctx, action: &str) -> OpResult {
    use policies as pol;
    use principals as pr;
    use simulate as sim;
    match action {
        // users
        "CreateUser" => pr::create_user(cx),
        "GetUser" => pr::get_user(cx),
        "DeleteUser" => pr::delete_user(cx),
        "ListUsers" => pr::list_users(cx),
        "TagUser" => pr::tag(cx, Kind::User),
        "UntagUser" => pr::untag(cx, Kind::User),
        "ListUserTags" => pr::list_tags(cx, Kind::User),
        // groups
        "CreateGroup" => pr::create_group(cx),
        "GetGroup" => pr::get_group(cx),
        "DeleteGroup" => pr::delete_group(cx),
        "ListGroups" => pr::list_groups(cx),
        "ListGroupsForUser" => pr::list_groups_for_user(cx),
        "AddUserToGroup" => pr::add_user_to_group(cx),
        "RemoveUserFromGroup" => pr::remove_user_from_group(cx),
        // roles
        "CreateRole" => pr::create_role(cx),
        "GetRole" => pr::get_role(cx),
        "DeleteRole" => pr::delete_role(cx),
        "ListRoles" => pr::list_roles(cx),
        "UpdateRole" => pr::update_role(cx),
        "UpdateAssumeRolePolicy" => pr::update_assume_role_policy(cx),
        "TagRole" => pr::tag(cx, Kind::Role),
        "UntagRole" => pr::untag(cx, Kind::Role),
        "ListRoleTags" => pr::list_tags(cx, Kind::Role),
        // access keys
        "CreateAccessKey" => pr::create_access_key(cx),
        "DeleteAccessKey" => pr::delete_access_key(cx),
        "UpdateAccessKey" => pr::update_access_key(cx),
        "ListAccessKeys" => pr::list_access_keys(cx),
        // service-specific credentials: long-term Bedrock API keys
        "CreateServiceSpecificCredential" => api_keys::create(cx),
        "ListServiceSpecificCredentials" => api_keys::list(cx),
        "UpdateServiceSpecificCredential" => api_keys::update(cx),
        "ResetServiceSpecificCredential" => api_keys::reset(cx),
        "DeleteServiceSpecificCredential" => api_keys::delete(cx),
        // console passwords
        "CreateLoginProfile" => login_profiles::create(cx),
        "GetLoginProfile" => login_profiles::get(cx),
        "UpdateLoginProfile" => login_profiles::update(cx),
        "DeleteLoginProfile" => login_profiles::delete(cx),
        "ChangePassword" => login_profiles::change(cx),
        // managed policies
        "CreatePolicy" => pol::create_policy(cx),
        "GetPolicy" => pol::get_policy(cx),
        "DeletePolicy" => pol::delete_policy(cx),
        "ListPolicies" => pol::list_policies(cx),
        "CreatePolicyVersion" => pol::create_policy_version(cx),
        "GetPolicyVersion" => pol::get_policy_version(cx),
        "DeletePolicyVersion" => pol::delete_policy_version(cx),
        "ListPolicyVersions" => pol::list_policy_versions(cx),
        "SetDefaultPolicyVersion" => pol::set_default_policy_version(cx),
        // attachments
        "AttachUserPolicy" => pol::attach(cx, Kind::User),
        "AttachRolePolicy" => pol::attach(cx, Kind::Role),
        "AttachGroupPolicy" => pol::attach(cx, Kind::Group),
        "DetachUserPolicy" => pol::detach(cx, Kind::User),
        "DetachRolePolicy" => pol::detach(cx, Kind::Role),
        "DetachGroupPolicy" => pol::detach(cx, Kind::Group),
        "ListAttachedUserPolicies" => pol::list_attached(cx, Kind::User),
        "ListAttachedRolePolicies" => pol::list_attached(cx, Kind::Role),
        "ListAttachedGroupPolicies" => pol::list_attached(cx, Kind::Group),
        // inline policies
        "PutUserPolicy" => pol::put_inline(cx, Kind::User),
        "PutRolePolicy" => pol::put_inline(cx, Kind::Role),
        "PutGroupPolicy" => pol::put_inline(cx, Kind::Group),
        "GetUserPolicy" => pol::get_inline(cx, Kind::User),
        "GetRolePolicy" => pol::get_inline(cx, Kind::Role),
        "GetGroupPolicy" => pol::get_inline(cx, Kind::Group),
        "DeleteUserPolicy" => pol::delete_inline(cx, Kind::User),
        "DeleteRolePolicy" => pol::delete_inline(cx, Kind::Role),
        "DeleteGroupPolicy" => pol::delete_inline(cx, Kind::Group),
        "ListUserPolicies" => pol::list_inline(cx, Kind::User),
        "ListRolePolicies" => pol::list_inline(cx, Kind::Role),
        "ListGroupPolicies" => pol::list_inline(cx, Kind::Group),
        // permissions boundaries
        "PutUserPermissionsBoundary" => pol::put_boundary(cx, Kind::User),
        "PutRolePermissionsBoundary" => pol::put_boundary(cx, Kind::Role),
        "DeleteUserPermissionsBoundary" => pol::delete_boundary(cx, Kind::User),
        "DeleteRolePermissionsBoundary" => pol::delete_boundary(cx, Kind::Role),
        // policy simulator
        "SimulatePrincipalPolicy" => sim::simulate_principal_policy(cx),
        "SimulateCustomPolicy" => sim::simulate_custom_policy(cx),
        "" => Err(ApiError::new("MissingAction", 400, "Missing Action")),
        other => Err(ApiError::new(
            "InvalidAction",
            400,
            format!("Could not find operation {other} for version {IAM_VERSION}"),
        )),
    }
}

/// The three IAM identities that hold policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Role,
    Group,
}

impl Kind {
    /// As IAM spells it in action names and members: `User`, `Role`, `Group`.
    pub fn title(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Role => "Role",
            Kind::Group => "Group",
        }
    }

    /// As in messages and ARNs: `user`, `role`, `group`.
    pub fn word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Role => "role",
            Kind::Group => "group",
        }
    }

    /// The request member naming the entity: `UserName`, `RoleName`, `GroupName`.
    pub fn name_member(self) -> &'static str {
        match self {
            Kind::User => "UserName",
            Kind::Role => "RoleName",
            Kind::Group => "GroupName",
        }
    }

    /// IAM's name length limit (users and roles 64, groups 128).
    pub fn max_name(self) -> usize {
        match self {
            Kind::Group => 128,
            _ => 64,
        }
    }
}

/// A user, role or group being changed, with what the policy operations need.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Principal(Principal),
    Group(Group),
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::Principal(p) => p.name(),
            Target::Group(g) => &g.name,
        }
    }

    pub fn inline(&mut self) -> &mut std::collections::BTreeMap<String, String> {
        match self {
            Target::Principal(p) => p.inline_policies_mut(),
            Target::Group(g) => &mut g.inline_policies,
        }
    }

    pub fn attached(&mut self) -> &mut Vec<bg_gates::state::Interned> {
        match self {
            Target::Principal(p) => &mut p.attached_policies,
            Target::Group(g) => &mut g.attached_policies,
        }
    }

    pub fn into_change(self) -> Change {
        match self {
            Target::Principal(p) => Change::Put(bg_gates::Entity::Principal(p)),
            Target::Group(g) => Change::Put(bg_gates::Entity::Group(g)),
        }
    }
}

/// One IAM call in progress.
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    pub inc: &'a crate::Incoming,
    pub state: Arc<State>,
    pub account: String,
    pub p: Params<'a>,
    pub now: i64,
}

// ---- errors, as the IAM service model names them ------------------------------------------

pub(crate) fn no_such(message: impl Into<String>) -> ApiError {
    ApiError::new("NoSuchEntity", 404, message)
}

pub(crate) fn already_exists(message: impl Into<String>) -> ApiError {
    ApiError::new("EntityAlreadyExists", 409, message)
}

pub(crate) fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new("MalformedPolicyDocument", 400, message)
}

pub(crate) fn limit(message: impl Into<String>) -> ApiError {
    ApiError::new("LimitExceeded", 409, message)
}

pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new("DeleteConflict", 409, message)
}

pub(crate) fn invalid_input(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidInput", 400, message)
}

/// AWS's sentence for a user/role/group that does not exist.
pub(crate) fn no_such_entity(kind: Kind, name: &str) -> ApiError {
    no_such(format!(
        "The {} with name {name} cannot be found.",
        kind.word()
    ))
}

/// AWS's sentence when attaching (or using as a boundary) a policy that does not exist.
pub(crate) fn not_attachable(arn: &str) -> ApiError {
    no_such(format!("Policy {arn} does not exist or is not attachable."))
}

impl<'a> Ctx<'a> {
    /// The request facts a simulated request starts from: this request's, as decide sees them.
    pub fn request_facts(&self) -> bg_gates::authz::RequestFacts {
        bg_gates::authz::RequestFacts {
            region: self.caller.region.clone(),
            source_ip: self.inc.source_ip.clone(),
            now_unix: self.now,
            secure_transport: false,
        }
    }

    /// Authorize `action` on `resource` for the caller, through `gates::decide`; AccessDenied
    /// (403) with AWS's sentence.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), ApiError> {
        self.authorize_with(action, resource, |_| {})
    }

    /// As [`Ctx::authorize`], with request-specific condition keys added.
    pub fn authorize_with(
        &self,
        action: &str,
        resource: &str,
        extra: impl FnOnce(&mut Resource),
    ) -> Result<(), ApiError> {
        let mut r = Resource::arn(resource);
        extra(&mut r);
        self.decide(action, &[r])
    }

    /// An action without a resource type (evaluated on `*`; the refusal names no resource).
    pub fn authorize_no_resource(&self, action: &str) -> Result<(), ApiError> {
        self.decide(action, &[])
    }

    fn decide(&self, action: &str, resources: &[Resource]) -> Result<(), ApiError> {
        self.app
            .authorize(self.caller, self.inc, Proto::Query, action, resources)
    }

    /// Evaluate on `resource` but name `shown` in the refusal (IAM's list actions name e.g.
    /// `policy path /` rather than an ARN).
    pub fn authorize_shown(
        &self,
        action: &str,
        resource: &str,
        shown: &str,
    ) -> Result<(), ApiError> {
        self.decide(action, &[Resource::arn(resource).shown_as(shown)])
    }

    /// Authorize on an entity that is identified by its ARN, adding its tags as
    /// `aws:ResourceTag/…` and `iam:ResourceTag/…`.
    pub fn authorize_entity(
        &self,
        action: &str,
        arn: &str,
        extra: impl FnOnce(&mut Resource),
    ) -> Result<(), ApiError> {
        let tags = self
            .state
            .principals
            .get(arn)
            .map(|p| p.tags().clone())
            .unwrap_or_default();
        self.authorize_with(action, arn, |ctx: &mut Resource| {
            for (k, v) in &tags {
                ctx.set(format!("aws:ResourceTag/{k}"), v.clone());
                ctx.set(format!("iam:ResourceTag/{k}"), v.clone());
            }
            extra(ctx);
        })
    }

    pub fn write(&self, changes: Vec<Change>) -> Result<(), ApiError> {
        self.app.write(&changes).map_err(|e| {
            tracing::error!("iam write failed: {e}");
            ApiError::new(
                "ServiceFailure",
                500,
                "The request processing has failed because of an unknown error, exception or failure.",
            )
        })
    }

    pub fn arn(&self, kind: Kind, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{}{path}{name}", self.account, kind.word())
    }

    // ---- look-ups (names are case-insensitive in IAM) -------------------------------------

    pub fn find_user(&self, name: &str) -> Option<&Principal> {
        self.state.user_named(&self.account, name)
    }

    pub fn find_role(&self, name: &str) -> Option<&Principal> {
        self.state.role_named(&self.account, name)
    }

    pub fn find_group(&self, name: &str) -> Option<&Group> {
        self.state
            .groups
            .values()
            .find(|g| g.account == self.account && g.name.eq_ignore_ascii_case(name))
    }

    pub fn user(&self, name: &str) -> Result<&Principal, ApiError> {
        self.find_user(name)
            .ok_or_else(|| no_such_entity(Kind::User, name))
    }

    pub fn role(&self, name: &str) -> Result<&Principal, ApiError> {
        self.find_role(name)
            .ok_or_else(|| no_such_entity(Kind::Role, name))
    }

    pub fn group(&self, name: &str) -> Result<&Group, ApiError> {
        self.find_group(name)
            .ok_or_else(|| no_such_entity(Kind::Group, name))
    }

    /// The ARN a request about `name` targets: the existing entity's (with its path) or the
    /// default-path form.
    pub fn target_arn(&self, kind: Kind, name: &str) -> String {
        let found = match kind {
            Kind::User => self.find_user(name).map(|p| p.arn.clone()),
            Kind::Role => self.find_role(name).map(|p| p.arn.clone()),
            Kind::Group => self.find_group(name).map(|g| g.arn.clone()),
        };
        found.unwrap_or_else(|| self.arn(kind, "/", name))
    }

    pub fn target(&self, kind: Kind, name: &str) -> Result<Target, ApiError> {
        Ok(match kind {
            Kind::User => Target::Principal(self.user(name)?.clone()),
            Kind::Role => Target::Principal(self.role(name)?.clone()),
            Kind::Group => Target::Group(self.group(name)?.clone()),
        })
    }

    /// A managed policy visible to this account: AWS managed, or the account's own.
    pub fn find_policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.state
            .policies
            .get(arn)
            .filter(|p| !matches!(p.account.as_deref(), Some(a) if a != self.account))
    }

    /// The user a request without `UserName` is about: the calling IAM user (or the root user,
    /// for the calls root may make on itself).
    pub fn implicit_user(&self) -> Result<&Principal, ApiError> {
        let id = &self.caller.identity;
        match id.kind {
            bg_gates::CallerKind::AssumedRole => Err(awsquery::validation(
                "Must specify userName when calling with non-User credentials",
            )),
            _ => {
                self.state.principals.get(&id.entity_arn).ok_or_else(|| {
                    no_such_entity(Kind::User, id.arn.rsplit('/').next().unwrap_or(""))
                })
            }
        }
    }
}

/// `arn:aws:iam::ACCOUNT:policy/…` or `arn:aws:iam::aws:policy/…`; IAM refuses anything else
/// with InvalidInput `ARN x is not valid.`.
pub(crate) fn check_policy_arn(arn: &str) -> Result<(), ApiError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && (parts[4] == "aws"
            || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
        && parts[5].starts_with("policy/")
        && parts[5].len() > "policy/".len();
    if ok {
        Ok(())
    } else {
        Err(invalid_input(format!("ARN {arn} is not valid.")))
    }
}
