//! The state model: what an account, a principal and an access key are, and the immutable
//! snapshot ([`State`]) the hot path reads.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod kind_de;

pub use crate::interned::Interned;

pub use crate::maps::{ByKey, Keyed, PersistentMap, RecordMap};

impl Keyed for Principal {
    fn key(&self) -> &String {
        &self.arn
    }
}

impl Keyed for AccessKey {
    fn key(&self) -> &String {
        &self.access_key_id
    }
}

/// The account the emulator creates on first start; its root key is `test`/`test`, the
/// local-emulator convention (LocalStack and moto use the same).
pub const DEFAULT_ACCOUNT: &str = "000000000000";
pub const DEFAULT_ACCESS_KEY: &str = "test";
pub const DEFAULT_SECRET_KEY: &str = "test";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub alias: Option<String>,
    /// How model access works for this account (gate 1).
    #[serde(default)]
    pub access_mode: AccessMode,
    /// Seconds a Marketplace subscription takes to become active after the first call.
    #[serde(default)]
    pub subscription_delay_secs: i64,
    /// Seconds a console-mode access request stays pending before it is granted.
    #[serde(default)]
    pub grant_delay_secs: i64,
}

/// `automatic`: AWS since late 2025 (serverless models available by default; Marketplace
/// subscription on first call; the Anthropic form). `console`: the older flow, where a model is
/// usable in a Region only after access was requested and granted there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessMode {
    #[default]
    Automatic,
    Console,
}

impl AccessMode {
    /// Every mode; [`AccessMode::name`] is the serde (and scenario) spelling.
    pub const ALL: [AccessMode; 2] = [AccessMode::Automatic, AccessMode::Console];

    pub fn name(self) -> &'static str {
        match self {
            AccessMode::Automatic => "automatic",
            AccessMode::Console => "console",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgreementStatus {
    #[default]
    None,
    Pending,
    Accepted,
    Error,
}

impl AgreementStatus {
    /// Every status; [`AgreementStatus::name`] is the serde (and scenario) spelling.
    pub const ALL: [AgreementStatus; 4] = [
        AgreementStatus::None,
        AgreementStatus::Pending,
        AgreementStatus::Accepted,
        AgreementStatus::Error,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AgreementStatus::None => "none",
            AgreementStatus::Pending => "pending",
            AgreementStatus::Accepted => "accepted",
            AgreementStatus::Error => "error",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantStatus {
    #[default]
    None,
    Pending,
    Granted,
}

impl GrantStatus {
    /// Every status; [`GrantStatus::name`] is the serde (and scenario) spelling.
    pub const ALL: [GrantStatus; 3] = [
        GrantStatus::None,
        GrantStatus::Pending,
        GrantStatus::Granted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GrantStatus::None => "none",
            GrantStatus::Pending => "pending",
            GrantStatus::Granted => "granted",
        }
    }
}

/// Per (account, Region, model): the provider agreement (EULA offer) and, in console mode, the
/// access grant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelAccess {
    pub account: String,
    pub region: String,
    pub model_id: String,
    #[serde(default)]
    pub agreement: AgreementStatus,
    #[serde(default)]
    pub offer_token: Option<String>,
    #[serde(default)]
    pub agreement_error: Option<String>,
    #[serde(default)]
    pub grant: GrantStatus,
    /// When a pending grant becomes granted (console mode).
    #[serde(default)]
    pub grant_at: Option<i64>,
    /// Last successful invocation (for the Legacy-model inactivity lockout); a scenario may set it.
    #[serde(default)]
    pub last_used: Option<i64>,
    #[serde(default)]
    pub updated_unix: i64,
}

impl ModelAccess {
    pub fn key(account: &str, region: &str, model_id: &str) -> String {
        format!("{account}/{region}/{model_id}")
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionStatus {
    #[default]
    None,
    Subscribing,
    Active,
}

/// Per (account, model): the AWS Marketplace entitlement a third-party model needs. Once active
/// in one Region it holds in all (bedrock-facts §3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub account: String,
    pub model_id: String,
    #[serde(default)]
    pub status: SubscriptionStatus,
    /// When a subscription in progress becomes active.
    #[serde(default)]
    pub active_at: Option<i64>,
    /// The last first-call attempt that failed for want of Marketplace permissions; AWS asks
    /// to "try again after 5 minutes" from then.
    #[serde(default)]
    pub failed_at: Option<i64>,
}

impl Subscription {
    pub fn key(account: &str, model_id: &str) -> String {
        format!("{account}/{model_id}")
    }
}

/// The Anthropic use-case form (PutUseCaseForModelAccess), per account; submitted at an
/// organization's management account it covers the members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseCase {
    pub account: String,
    /// The form JSON as submitted (base64 of the blob, as on the wire).
    pub form_data: String,
    pub submitted_unix: i64,
}

/// An application inference profile (CreateInferenceProfile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppProfile {
    pub arn: String,
    pub id: String,
    pub account: String,
    pub region: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The model this profile invokes.
    pub model_id: String,
    /// Foundation-model ARNs it routes to (copied from the source model or system profile).
    pub model_arns: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub client_request_token: Option<String>,
    pub created_unix: i64,
    pub updated_unix: i64,
}

/// Model invocation logging configuration, per (account, Region), as the JSON the API took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggingConfig {
    pub account: String,
    pub region: String,
    pub config: String,
}

/// Stored as `{"type":"user", ...}`; `Deserialize` is written by hand (`kind_de`), for speed,
/// and accepts the same JSON as the derived one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PrincipalKind {
    /// The account's root user: `arn:aws:iam::ACCOUNT:root`.
    Root,
    User {
        name: String,
        /// Interned: nearly every path is `/`.
        path: Interned,
    },
    /// Boxed: a role's fields would make every principal's kind twice a user's (issue 11:
    /// memory per principal). Serialized the same (the role's fields after `type`).
    Role(Box<Role>),
}

/// A role's fields (`PrincipalKind::Role`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Role {
    pub name: String,
    pub path: Interned,
    /// The trust policy (AssumeRolePolicyDocument), JSON.
    pub trust_policy: String,
    pub max_session_duration: u32,
    pub description: Option<String>,
}

fn default_max_session() -> u32 {
    3600
}

fn default_path() -> String {
    "/".to_string()
}

fn default_principal_path() -> Interned {
    Interned::new("/")
}

/// An IAM principal: the account's root, a user or a role.
///
/// The fields few principals set (tags, inline policies, groups, a permissions boundary) are
/// behind one box that is absent while they are all empty: 96 bytes that each of 10,000
/// principals would otherwise hold (issue 11: memory per principal). Read them with
/// [`Principal::tags`] and the like, change them with [`Principal::tags_mut`] and the like.
/// The JSON is the same as with plain fields (`PrincipalJson`), and so is equality: an empty
/// box equals none.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "PrincipalJson")]
pub struct Principal {
    pub arn: String,
    pub account: Interned,
    /// AWS's unique ID (`AIDA…` for users; the account ID for root), what GetCallerIdentity calls UserId.
    pub unique_id: String,
    pub kind: PrincipalKind,
    /// Attached managed policy ARNs, in attach order.
    pub attached_policies: Vec<Interned>,
    pub created_unix: i64,
    extra: Option<Box<PrincipalExtra>>,
}

/// The rarely set fields of a [`Principal`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PrincipalExtra {
    tags: BTreeMap<String, String>,
    /// Inline policies: name → JSON document.
    inline_policies: BTreeMap<String, String>,
    /// Group names (users only).
    groups: Vec<String>,
    /// Managed policy ARN used as permissions boundary.
    permissions_boundary: Option<String>,
}

static NO_TAGS: BTreeMap<String, String> = BTreeMap::new();

/// A [`Principal`] as stored: every field in the order the plain struct had them.
#[derive(Serialize, Deserialize)]
struct PrincipalJson<
    S = String,
    A = Interned,
    M = BTreeMap<String, String>,
    P = Vec<Interned>,
    V = Vec<String>,
    K = PrincipalKind,
> {
    arn: S,
    account: A,
    unique_id: S,
    kind: K,
    #[serde(default)]
    tags: M,
    #[serde(default)]
    inline_policies: M,
    #[serde(default)]
    attached_policies: P,
    #[serde(default)]
    groups: V,
    #[serde(default)]
    permissions_boundary: Option<S>,
    #[serde(default)]
    created_unix: i64,
}

impl From<PrincipalJson> for Principal {
    fn from(j: PrincipalJson) -> Principal {
        let mut p = Principal {
            arn: j.arn,
            account: j.account,
            unique_id: j.unique_id,
            kind: j.kind,
            attached_policies: j.attached_policies,
            created_unix: j.created_unix,
            extra: None,
        };
        let extra = PrincipalExtra {
            tags: j.tags,
            inline_policies: j.inline_policies,
            groups: j.groups,
            permissions_boundary: j.permissions_boundary,
        };
        if extra != PrincipalExtra::default() {
            p.extra = Some(Box::new(extra));
        }
        p
    }
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PrincipalJson {
            arn: self.arn.as_str(),
            account: &self.account,
            unique_id: self.unique_id.as_str(),
            kind: &self.kind,
            tags: self.tags(),
            inline_policies: self.inline_policies(),
            attached_policies: self.attached_policies.as_slice(),
            groups: self.groups(),
            permissions_boundary: self.permissions_boundary(),
            created_unix: self.created_unix,
        }
        .serialize(s)
    }
}

impl PartialEq for Principal {
    fn eq(&self, o: &Principal) -> bool {
        self.arn == o.arn
            && self.account == o.account
            && self.unique_id == o.unique_id
            && self.kind == o.kind
            && self.attached_policies == o.attached_policies
            && self.created_unix == o.created_unix
            && self.tags() == o.tags()
            && self.inline_policies() == o.inline_policies()
            && self.groups() == o.groups()
            && self.permissions_boundary() == o.permissions_boundary()
    }
}

impl Eq for Principal {}

impl Principal {
    pub fn name(&self) -> &str {
        match &self.kind {
            PrincipalKind::Root => "root",
            PrincipalKind::User { name, .. } => name,
            PrincipalKind::Role(r) => &r.name,
        }
    }

    pub fn path(&self) -> &str {
        match &self.kind {
            PrincipalKind::Root => "/",
            PrincipalKind::User { path, .. } => path,
            PrincipalKind::Role(r) => &r.path,
        }
    }

    /// The role's fields, if this is a role.
    pub fn as_role(&self) -> Option<&Role> {
        match &self.kind {
            PrincipalKind::Role(r) => Some(r),
            _ => None,
        }
    }

    /// The role's fields to change, if this is a role.
    pub fn as_role_mut(&mut self) -> Option<&mut Role> {
        match &mut self.kind {
            PrincipalKind::Role(r) => Some(r),
            _ => None,
        }
    }

    pub fn tags(&self) -> &BTreeMap<String, String> {
        self.extra.as_ref().map_or(&NO_TAGS, |x| &x.tags)
    }

    /// Inline policies: name → JSON document.
    pub fn inline_policies(&self) -> &BTreeMap<String, String> {
        self.extra.as_ref().map_or(&NO_TAGS, |x| &x.inline_policies)
    }

    /// Group names (users only).
    pub fn groups(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |x| &x.groups)
    }

    /// The managed policy ARN used as permissions boundary.
    pub fn permissions_boundary(&self) -> Option<&str> {
        self.extra.as_ref()?.permissions_boundary.as_deref()
    }

    fn extra_mut(&mut self) -> &mut PrincipalExtra {
        self.extra.get_or_insert_with(Default::default)
    }

    pub fn tags_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.extra_mut().tags
    }

    pub fn inline_policies_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.extra_mut().inline_policies
    }

    pub fn groups_mut(&mut self) -> &mut Vec<String> {
        &mut self.extra_mut().groups
    }

    // The setters make no box to store an empty value in (a scenario sets every field).

    pub fn set_permissions_boundary(&mut self, arn: Option<String>) {
        if arn.is_some() || self.extra.is_some() {
            self.extra_mut().permissions_boundary = arn;
        }
    }

    pub fn set_tags(&mut self, tags: BTreeMap<String, String>) {
        if !tags.is_empty() || self.extra.is_some() {
            self.extra_mut().tags = tags;
        }
    }

    pub fn set_inline_policies(&mut self, policies: BTreeMap<String, String>) {
        if !policies.is_empty() || self.extra.is_some() {
            self.extra_mut().inline_policies = policies;
        }
    }

    pub fn set_groups(&mut self, groups: Vec<String>) {
        if !groups.is_empty() || self.extra.is_some() {
            self.extra_mut().groups = groups;
        }
    }

    pub fn role(account: &str, name: &str, path: &str, trust_policy: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:role{path}{name}"),
            account: account.into(),
            unique_id: unique_id("AROA", account, name),
            kind: PrincipalKind::Role(Box::new(Role {
                name: name.to_string(),
                path: path.into(),
                trust_policy: trust_policy.to_string(),
                max_session_duration: 3600,
                description: None,
            })),
            ..Principal::root(account)
        }
    }

    pub fn root(account: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.into(),
            unique_id: account.to_string(),
            kind: PrincipalKind::Root,
            attached_policies: Vec::new(),
            created_unix: 0,
            extra: None,
        }
    }

    pub fn user(account: &str, name: &str, path: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:user{path}{name}"),
            account: account.into(),
            unique_id: user_unique_id(account, name),
            kind: PrincipalKind::User {
                name: name.to_string(),
                path: path.into(),
            },
            ..Principal::root(account)
        }
    }
}

/// A stable `AIDA…` ID (21 chars, as AWS's) derived from account and name, so a scenario applied
/// twice gives the same ID.
pub fn user_unique_id(account: &str, name: &str) -> String {
    unique_id("AIDA", account, name)
}

/// A stable 21-char AWS-style unique ID with the given 4-char prefix (AIDA user, AROA role,
/// AGPA group, ANPA policy, AKIA/ASIA keys).
pub fn unique_id(prefix: &str, account: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a over prefix/account/name; good enough for a stable, readable identifier (not a secret).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in prefix
        .bytes()
        .chain(account.bytes())
        .chain([b'/'])
        .chain(name.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut id = String::from(prefix);
    let mut x = h;
    for i in 0..17 {
        if i == 12 {
            x = h.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15;
        }
        id.push(ALPHABET[(x & 31) as usize] as char);
        x >>= 5;
    }
    id
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub principal_arn: String,
    /// Interned: every key of an account names the same one.
    pub account: Interned,
    /// Session credentials carry a token that must arrive as `X-Amz-Security-Token`.
    #[serde(default)]
    pub session_token: Option<String>,
    /// Unix seconds after which the key is refused (session credentials).
    #[serde(default)]
    pub expires_unix: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Set for credentials that AssumeRole issued. Boxed: most keys are long-term ones, and
    /// the box keeps each of those 88 bytes smaller (the same JSON either way).
    #[serde(default)]
    pub session: Option<Box<Session>>,
    #[serde(default)]
    pub created_unix: i64,
}

/// A long-term Bedrock API key: an IAM service-specific credential for
/// `bedrock.amazonaws.com`. The key a client sends is `ABSK` + base64(`alias:secret`); it
/// authenticates as its IAM user (see `crate::api_key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCredential {
    /// `ServiceSpecificCredentialId` (`ACCA…`, 21 characters).
    pub id: String,
    pub account: String,
    pub user_arn: String,
    pub user_name: String,
    /// `ServiceName`: only `bedrock.amazonaws.com` is accepted.
    pub service_name: String,
    /// `ServiceCredentialAlias`, the public half of the key: `<user>-at-<account>`, as AWS
    /// documents `ServiceUserName` and as Bedrock's keys decode.
    pub alias: String,
    /// `ServiceCredentialSecret`: returned once at creation (and by Reset).
    pub secret: String,
    pub created_unix: i64,
    /// `CredentialAgeDays` after creation; `None`: never expires.
    #[serde(default)]
    pub expires_unix: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl ServiceCredential {
    /// IAM's `Status`: `Expired` once past its expiry, whatever it was set to.
    pub fn status(&self, now_unix: i64) -> &'static str {
        match self.expires_unix {
            Some(e) if now_unix >= e => "Expired",
            _ if self.active => "Active",
            _ => "Inactive",
        }
    }
}

/// An IAM user's console password (IAM `CreateLoginProfile`), or the account root's (set by a
/// scenario). Keyed by the principal's ARN. Only a salted hash is kept: the password itself is
/// never stored, logged or returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginProfile {
    pub principal_arn: String,
    pub account: String,
    /// IAM `UserName` (empty for root).
    pub user_name: String,
    /// Self-describing hash: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
    pub password_hash: String,
    #[serde(default)]
    pub password_reset_required: bool,
    pub created_unix: i64,
}

/// An assumed-role session: who it is and what narrows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub role_arn: String,
    pub session_name: String,
    /// Inline session policy (JSON), if the caller passed one.
    #[serde(default)]
    pub policy: Option<String>,
    /// Managed policy ARNs passed as session policies.
    #[serde(default)]
    pub policy_arns: Vec<String>,
}

impl Session {
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` (the role's path is not part of it).
    pub fn assumed_role_arn(&self) -> String {
        let (account, rest) = split_iam_arn(&self.role_arn);
        let role_name = rest.rsplit('/').next().unwrap_or(rest);
        format!(
            "arn:aws:sts::{account}:assumed-role/{role_name}/{}",
            self.session_name
        )
    }
}

/// (account, resource) of an IAM ARN.
pub fn split_iam_arn(arn: &str) -> (&str, &str) {
    let mut it = arn.splitn(6, ':');
    let _ = (it.next(), it.next(), it.next(), it.next());
    (it.next().unwrap_or(""), it.next().unwrap_or(""))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub arn: String,
    pub account: String,
    pub name: String,
    #[serde(default = "default_path")]
    pub path: String,
    pub unique_id: String,
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// Interned, as a principal's.
    #[serde(default)]
    pub attached_policies: Vec<Interned>,
    #[serde(default)]
    pub created_unix: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub version_id: String,
    pub document: String,
    #[serde(default)]
    pub created_unix: i64,
}

/// A managed policy: customer managed (account set) or AWS managed (`account` None,
/// `arn:aws:iam::aws:policy/…`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub arn: String,
    #[serde(default)]
    pub account: Option<String>,
    pub name: String,
    #[serde(default = "default_path")]
    pub path: String,
    pub policy_id: String,
    #[serde(default)]
    pub description: Option<String>,
    pub default_version: String,
    pub versions: Vec<PolicyVersion>,
    #[serde(default)]
    pub created_unix: i64,
    #[serde(default)]
    pub updated_unix: i64,
}

impl ManagedPolicy {
    pub fn default_document(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version)
            .map(|v| v.document.as_str())
    }
}

/// AWS Organizations, as far as SCPs need it: a root, OUs, member accounts under them, and SCPs
/// attached to the root, an OU or an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub management_account: String,
    pub root_id: String,
    #[serde(default)]
    pub units: Vec<OrgUnit>,
    /// account → parent (root id or OU id).
    #[serde(default)]
    pub account_parents: BTreeMap<String, String>,
    #[serde(default)]
    pub policies: Vec<ServiceControlPolicy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
    pub parent_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceControlPolicy {
    pub id: String,
    pub name: String,
    pub document: String,
    /// Root, OU or account IDs it is attached to.
    pub targets: Vec<String>,
}

impl Organization {
    pub fn policy_arn(&self, policy_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:policy/{}/service_control_policy/{policy_id}",
            self.management_account, self.id
        )
    }

    /// The chain of targets from the root down to the account: [root, ou…, account].
    /// None when the account is not a member.
    pub fn chain(&self, account: &str) -> Option<Vec<String>> {
        let mut parent = self.account_parents.get(account)?.clone();
        let mut chain = vec![account.to_string()];
        for _ in 0..10 {
            chain.push(parent.clone());
            if parent == self.root_id {
                chain.reverse();
                return Some(chain);
            }
            parent = self
                .units
                .iter()
                .find(|u| u.id == parent)?
                .parent_id
                .clone();
        }
        None
    }
}

fn yes() -> bool {
    true
}

/// One persisted thing. The store keeps each as a JSON row keyed by (kind, id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "kebab-case")]
pub enum Entity {
    Account(Account),
    Principal(Principal),
    AccessKey(AccessKey),
    Group(Group),
    ManagedPolicy(ManagedPolicy),
    Organization(Organization),
    ModelAccess(ModelAccess),
    Subscription(Subscription),
    UseCase(UseCase),
    AppProfile(AppProfile),
    LoggingConfig(LoggingConfig),
    ServiceCredential(ServiceCredential),
    LoginProfile(LoginProfile),
}

impl Entity {
    pub fn kind(&self) -> &'static str {
        match self {
            Entity::Account(_) => "account",
            Entity::Principal(_) => "principal",
            Entity::AccessKey(_) => "access-key",
            Entity::Group(_) => "group",
            Entity::ManagedPolicy(_) => "managed-policy",
            Entity::Organization(_) => "organization",
            Entity::ModelAccess(_) => "model-access",
            Entity::Subscription(_) => "subscription",
            Entity::UseCase(_) => "use-case",
            Entity::AppProfile(_) => "app-profile",
            Entity::LoggingConfig(_) => "logging-config",
            Entity::ServiceCredential(_) => "service-credential",
            Entity::LoginProfile(_) => "login-profile",
        }
    }

    /// Parses a stored row: `kind` is the row's kind column, `body` its JSON (as
    /// `serde_json::to_string(&entity)` wrote it, the `"entity"` tag first).
    ///
    /// Faster than `serde_json::from_slice::<Entity>`, which a restart pays once per row: an
    /// internally tagged enum is first buffered into a generic tree (every string and map
    /// allocated twice) to find its tag. A body that starts with its kind's tag is parsed
    /// straight into that variant's struct (the tag is then an ignored field); any other body
    /// (a hand-edited row, fields in another order) takes the generic path, and a tag that
    /// disagrees with `kind` is an error, not a silently different entity.
    pub fn from_stored(kind: &str, body: &[u8]) -> Result<Entity, serde_json::Error> {
        fn direct<T: serde::de::DeserializeOwned>(
            body: &[u8],
            wrap: fn(T) -> Entity,
        ) -> Result<Entity, serde_json::Error> {
            // One UTF-8 check of the whole row: serde_json's slice reader checks each string
            // on its own (4% of a restart at 10,000 principals), its str reader none. An
            // invalid row takes the slice reader, for its error.
            match std::str::from_utf8(body) {
                Ok(text) => serde_json::from_str(text).map(wrap),
                Err(_) => serde_json::from_slice(body).map(wrap),
            }
        }
        let tagged = body
            .strip_prefix(b"{\"entity\":\"")
            .and_then(|rest| rest.strip_prefix(kind.as_bytes()))
            .is_some_and(|rest| rest.starts_with(b"\""));
        if tagged {
            let parsed = match kind {
                "account" => direct(body, Entity::Account),
                "principal" => direct(body, Entity::Principal),
                "access-key" => direct(body, Entity::AccessKey),
                "group" => direct(body, Entity::Group),
                "managed-policy" => direct(body, Entity::ManagedPolicy),
                "organization" => direct(body, Entity::Organization),
                "model-access" => direct(body, Entity::ModelAccess),
                "subscription" => direct(body, Entity::Subscription),
                "use-case" => direct(body, Entity::UseCase),
                "app-profile" => direct(body, Entity::AppProfile),
                "logging-config" => direct(body, Entity::LoggingConfig),
                "service-credential" => direct(body, Entity::ServiceCredential),
                "login-profile" => direct(body, Entity::LoginProfile),
                _ => serde_json::from_slice(body),
            };
            return parsed;
        }
        let e: Entity = serde_json::from_slice(body)?;
        if e.kind() != kind {
            return Err(serde::de::Error::custom(format!(
                "the row's kind is {kind} but its body is of kind {}",
                e.kind()
            )));
        }
        Ok(e)
    }

    pub fn id(&self) -> String {
        match self {
            Entity::Account(a) => a.id.clone(),
            Entity::Principal(p) => p.arn.clone(),
            Entity::AccessKey(k) => k.access_key_id.clone(),
            Entity::Group(g) => g.arn.clone(),
            Entity::ManagedPolicy(p) => p.arn.clone(),
            Entity::Organization(o) => o.id.clone(),
            Entity::ModelAccess(m) => ModelAccess::key(&m.account, &m.region, &m.model_id),
            Entity::Subscription(s) => Subscription::key(&s.account, &s.model_id),
            Entity::UseCase(u) => u.account.clone(),
            Entity::AppProfile(p) => p.arn.clone(),
            Entity::LoggingConfig(l) => format!("{}/{}", l.account, l.region),
            Entity::ServiceCredential(c) => c.id.clone(),
            Entity::LoginProfile(l) => l.principal_arn.clone(),
        }
    }
}

// Changes are few and short-lived (control-plane writes); boxing the entity would only add
// an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Put(Entity),
    Delete { kind: &'static str, id: String },
}

/// The key of a user or role in [`State::principal_names`]; `None` for root (no name to look
/// up) and for a principal found without the index (see [`named_arn`]).
fn name_key(p: &Principal) -> Option<String> {
    let kind = match p.kind {
        PrincipalKind::Root => return None,
        PrincipalKind::User { .. } => "user",
        PrincipalKind::Role(_) => "role",
    };
    let name = p.name();
    // Nearly every name is already lower-case: compared in place, without building the ARN
    // (a restart asks this of every principal).
    if !name.bytes().any(|b| b.is_ascii_uppercase()) && is_named_arn(&p.arn, &p.account, kind, name)
    {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    if p.arn == named_arn(&p.account, kind, &lower) {
        return None;
    }
    Some(format!("{}/{kind}/{lower}", p.account))
}

/// Whether `arn` is [`named_arn`]`(account, kind, lower_name)`, without allocating it.
fn is_named_arn(arn: &str, account: &str, kind: &str, lower_name: &str) -> bool {
    arn.strip_prefix("arn:aws:iam::")
        .and_then(|r| r.strip_prefix(account))
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| r.strip_prefix(kind))
        .and_then(|r| r.strip_prefix('/'))
        == Some(lower_name)
}

/// The ARN of the user or role `lower_name` at path `/`: where a principal whose name has no
/// upper-case letter and whose path is `/` (nearly every one, and every one a scale test
/// makes) is stored, so that [`State::principal_named`] finds it by its ARN and
/// [`State::principal_names`] needs no entry (and no memory) for it.
fn named_arn(account: &str, kind: &str, lower_name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}/{lower_name}")
}

/// How long an expired STS session stays stored. AWS answers an expired session token with
/// `ExpiredToken` for as long as anyone presents it (the token carries its own expiry); we keep
/// the record a day so that answer stays exact for a client that retries late, then delete it
/// (after which the key is `InvalidClientTokenId`), so that state does not grow with every
/// AssumeRole ever made. A day is our choice; AWS has no such number.
pub const EXPIRED_SESSION_RETENTION_SECS: i64 = 86_400;

/// The immutable snapshot the hot path reads. Built from the store at start, then replaced as a
/// whole after every durable write.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub accounts: BTreeMap<String, Account>,
    pub principals: RecordMap<Principal>,
    pub keys: RecordMap<AccessKey>,
    pub groups: PersistentMap<Group>,
    pub policies: PersistentMap<ManagedPolicy>,
    pub organizations: BTreeMap<String, Organization>,
    /// "account/region/model" → access record.
    pub model_access: PersistentMap<ModelAccess>,
    /// "account/model" → Marketplace subscription.
    pub subscriptions: PersistentMap<Subscription>,
    /// account → Anthropic use-case form.
    pub use_cases: PersistentMap<UseCase>,
    /// ARN → application inference profile.
    pub app_profiles: PersistentMap<AppProfile>,
    /// "account/region" → logging configuration.
    pub logging: PersistentMap<LoggingConfig>,
    /// `ServiceSpecificCredentialId` → long-term Bedrock API key.
    pub service_credentials: PersistentMap<ServiceCredential>,
    /// Derived: `ServiceCredentialAlias` → the IDs of the keys that share it (a user's two keys
    /// share their alias; the secret tells them apart).
    pub service_credential_aliases: PersistentMap<Vec<String>>,
    /// Principal ARN → console password (IAM login profile, or root's).
    pub login_profiles: PersistentMap<LoginProfile>,
    /// Derived: "account/user|role/lowercase name" → principal ARN (IAM names are unique per
    /// account and kind, case-insensitively), for [`State::user_named`] and [`State::role_named`];
    /// only for principals with an upper-case letter in their name or a path other than `/`
    /// (the others are found by their ARN).
    pub principal_names: PersistentMap<String>,
    /// Derived: access key ID → expiry of the STS sessions that AssumeRole issued (keys with a
    /// `session` and an expiry), for [`State::expired_session_changes`].
    pub session_expiry: PersistentMap<i64>,
    /// Derived, never persisted: compiled policies per principal, rebuilt after each change.
    pub compiled: crate::authz::Compiled,
    /// This snapshot's allowed, context-free IAM decisions; empty in every clone, so every
    /// write starts afresh ([`crate::authz::Decisions`]).
    pub decisions: crate::authz::Decisions,
}

impl State {
    pub fn from_entities(entities: impl IntoIterator<Item = Entity>) -> State {
        let mut s = State::default();
        for e in entities {
            s.put(e);
        }
        s.compiled = crate::authz::Compiled::build(&s);
        s
    }

    /// The state `store` holds, read entity by entity ([`crate::Store::load_each`]).
    pub fn load(store: &dyn crate::Store) -> Result<State, crate::StoreError> {
        let mut s = State::default();
        store.load_each(&mut |e| s.put(e))?;
        s.compiled = crate::authz::Compiled::build(&s);
        Ok(s)
    }

    fn put(&mut self, e: Entity) {
        match e {
            Entity::Account(a) => {
                self.accounts.insert(a.id.clone(), a);
            }
            Entity::Principal(p) => {
                // (no index entry to drop while the index is empty, as at a start)
                if !self.principal_names.is_empty() {
                    self.unindex_principal(&p.arn);
                }
                if let Some(key) = name_key(&p) {
                    self.principal_names.insert(key, p.arn.clone());
                }
                self.principals.insert(p);
            }
            Entity::AccessKey(k) => {
                match (&k.session, k.expires_unix) {
                    (Some(_), Some(exp)) => {
                        self.session_expiry.insert(k.access_key_id.clone(), exp)
                    }
                    _ if self.session_expiry.is_empty() => {}
                    _ => {
                        self.session_expiry.remove(&k.access_key_id);
                    }
                }
                self.keys.insert(k);
            }
            Entity::Group(g) => {
                self.groups.insert(g.arn.clone(), g);
            }
            Entity::ManagedPolicy(p) => {
                self.policies.insert(p.arn.clone(), p);
            }
            Entity::Organization(o) => {
                self.organizations.insert(o.id.clone(), o);
            }
            Entity::ModelAccess(m) => {
                self.model_access
                    .insert(ModelAccess::key(&m.account, &m.region, &m.model_id), m);
            }
            Entity::Subscription(x) => {
                self.subscriptions
                    .insert(Subscription::key(&x.account, &x.model_id), x);
            }
            Entity::UseCase(u) => {
                self.use_cases.insert(u.account.clone(), u);
            }
            Entity::AppProfile(p) => {
                self.app_profiles.insert(p.arn.clone(), p);
            }
            Entity::LoggingConfig(l) => {
                self.logging
                    .insert(format!("{}/{}", l.account, l.region), l);
            }
            Entity::ServiceCredential(c) => {
                match self.service_credential_aliases.get_mut(&c.alias) {
                    Some(ids) if ids.contains(&c.id) => {}
                    Some(ids) => ids.push(c.id.clone()),
                    None => self
                        .service_credential_aliases
                        .insert(c.alias.clone(), vec![c.id.clone()]),
                }
                self.service_credentials.insert(c.id.clone(), c);
            }
            Entity::LoginProfile(l) => {
                self.login_profiles.insert(l.principal_arn.clone(), l);
            }
        }
    }

    /// The snapshot after `changes`; `self` is untouched (readers keep the old one).
    ///
    /// Costs what the changes touch: every map is persistent (an O(1) clone, an O(log n) insert)
    /// and only the compiled entries that depend on a touched entity are recompiled (see
    /// [`crate::authz::Compiled::update`]).
    pub fn with_changes(&self, changes: &[Change]) -> State {
        let mut s = self.clone();
        let mut touched = crate::authz::Touched::default();
        for c in changes {
            touched.add(c);
            match c {
                Change::Put(e) => s.put(e.clone()),
                Change::Delete { kind, id } => match *kind {
                    "account" => {
                        s.accounts.remove(id);
                    }
                    "principal" => {
                        s.unindex_principal(id);
                        s.principals.remove(id);
                    }
                    "access-key" => {
                        s.keys.remove(id);
                        s.session_expiry.remove(id);
                    }
                    "group" => {
                        s.groups.remove(id);
                    }
                    "managed-policy" => {
                        s.policies.remove(id);
                    }
                    "organization" => {
                        s.organizations.remove(id);
                    }
                    "model-access" => {
                        s.model_access.remove(id);
                    }
                    "subscription" => {
                        s.subscriptions.remove(id);
                    }
                    "use-case" => {
                        s.use_cases.remove(id);
                    }
                    "app-profile" => {
                        s.app_profiles.remove(id);
                    }
                    "logging-config" => {
                        s.logging.remove(id);
                    }
                    "service-credential" => {
                        if let Some(c) = s.service_credentials.get(id).cloned() {
                            s.service_credentials.remove(id);
                            if let Some(ids) = s.service_credential_aliases.get_mut(&c.alias) {
                                ids.retain(|i| i != id);
                            }
                        }
                    }
                    "login-profile" => {
                        s.login_profiles.remove(id);
                    }
                    _ => {}
                },
            }
        }
        let mut compiled = std::mem::take(&mut s.compiled);
        compiled.update(&s, &touched);
        s.compiled = compiled;
        s
    }

    /// Removes the name index entry of the principal stored at `arn`, if it points there.
    fn unindex_principal(&mut self, arn: &str) {
        let Some(key) = self.principals.get(arn).and_then(name_key) else {
            return;
        };
        if self.principal_names.get(&key).is_some_and(|a| a == arn) {
            self.principal_names.remove(&key);
        }
    }

    /// The IAM user named `name` in `account` (IAM names are case-insensitive), in O(1)
    /// rather than a scan of every principal.
    pub fn user_named(&self, account: &str, name: &str) -> Option<&Principal> {
        self.principal_named(account, "user", name)
    }

    /// The IAM role named `name` in `account` (case-insensitive).
    pub fn role_named(&self, account: &str, name: &str) -> Option<&Principal> {
        self.principal_named(account, "role", name)
    }

    fn principal_named(&self, account: &str, kind: &str, name: &str) -> Option<&Principal> {
        let lower = name.to_ascii_lowercase();
        let key = format!("{account}/{kind}/{lower}");
        if let Some(arn) = self.principal_names.get(&key) {
            return self.principals.get(arn);
        }
        let found = self.principals.get(&named_arn(account, kind, &lower))?;
        // The ARN names the kind; the record must agree (a hand-made one might not).
        let same_kind = matches!(
            (&found.kind, kind),
            (PrincipalKind::User { .. }, "user") | (PrincipalKind::Role(_), "role")
        );
        same_kind.then_some(found)
    }

    /// The organization the account belongs to (as member or management account).
    pub fn organization_of(&self, account: &str) -> Option<&Organization> {
        self.organizations
            .values()
            .find(|o| o.management_account == account || o.account_parents.contains_key(account))
    }

    /// The changes that create the default account and its root key, if they are missing.
    pub fn bootstrap_changes(&self) -> Vec<Change> {
        let mut out = Vec::new();
        if !self.accounts.contains_key(DEFAULT_ACCOUNT) {
            out.push(Change::Put(Entity::Account(Account {
                id: DEFAULT_ACCOUNT.to_string(),
                ..Account::default()
            })));
            out.push(Change::Put(Entity::Principal(Principal::root(
                DEFAULT_ACCOUNT,
            ))));
        }
        if !self.keys.contains_key(DEFAULT_ACCESS_KEY) {
            out.push(Change::Put(Entity::AccessKey(AccessKey {
                access_key_id: DEFAULT_ACCESS_KEY.to_string(),
                secret_access_key: DEFAULT_SECRET_KEY.to_string(),
                principal_arn: Principal::root(DEFAULT_ACCOUNT).arn,
                account: DEFAULT_ACCOUNT.into(),
                session_token: None,
                expires_unix: None,
                active: true,
                session: None,
                created_unix: 0,
            })));
        }
        // The default account is an open sandbox: its Anthropic use-case form is on file.
        // Accounts declared in scenarios start as a fresh AWS account does, without it.
        if !self.use_cases.contains_key(DEFAULT_ACCOUNT)
            && !self.accounts.contains_key(DEFAULT_ACCOUNT)
        {
            out.push(Change::Put(Entity::UseCase(UseCase {
                account: DEFAULT_ACCOUNT.to_string(),
                form_data: "eyJjb21wYW55TmFtZSI6ImJlZHJvY2stZ2F0ZXMgc2FuZGJveCJ9".to_string(),
                submitted_unix: 0,
            })));
        }
        out.extend(self.managed_policy_changes());
        out
    }

    /// The AWS managed policies this build knows that the state lacks. AWS owns them (no
    /// caller can delete one), so every start adds those a newer build brought.
    pub fn managed_policy_changes(&self) -> Vec<Change> {
        crate::managed::aws_managed_policies()
            .into_iter()
            .filter(|p| !self.policies.contains_key(&p.arn))
            .map(|p| Change::Put(Entity::ManagedPolicy(p)))
            .collect()
    }

    /// What a start applies to the stored state: everything [`State::bootstrap_changes`]
    /// creates when the state is new (nothing stored yet), else only the missing AWS managed
    /// policies, so that what the user deleted (the root key `test`, the default account's
    /// use-case form) stays deleted. "Nothing stored" rather than "file just created": a
    /// file created by a start that died before its first write is still new.
    pub fn start_changes(&self) -> Vec<Change> {
        if self.is_empty() {
            self.bootstrap_changes()
        } else {
            self.managed_policy_changes()
        }
    }

    /// No entity at all (the derived `compiled` aside).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.principals.is_empty()
            && self.keys.is_empty()
            && self.groups.is_empty()
            && self.policies.is_empty()
            && self.organizations.is_empty()
            && self.model_access.is_empty()
            && self.subscriptions.is_empty()
            && self.use_cases.is_empty()
            && self.app_profiles.is_empty()
            && self.logging.is_empty()
    }

    /// Deletions of up to `limit` STS sessions whose expiry is more than
    /// [`EXPIRED_SESSION_RETENTION_SECS`] before `now_unix` (the gate clock). Only sessions
    /// that AssumeRole issued: a scenario's declared session key (no `session`) is the
    /// scenario's to keep, expired on purpose to show `ExpiredToken`.
    pub fn expired_session_changes(&self, now_unix: i64, limit: usize) -> Vec<Change> {
        // Every write asks this: it reads the STS sessions only, not every key.
        self.session_expiry
            .iter()
            .filter(|(_, exp)| now_unix.saturating_sub(**exp) > EXPIRED_SESSION_RETENTION_SECS)
            .take(limit)
            .map(|(id, _)| Change::Delete {
                kind: "access-key",
                id: id.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_stable_and_aws_shaped() {
        let a = user_unique_id("111111111111", "dev");
        assert_eq!(a, user_unique_id("111111111111", "dev"));
        assert_ne!(a, user_unique_id("111111111111", "ops"));
        assert_eq!(a.len(), 21);
        assert!(a.starts_with("AIDA"));
    }

    #[test]
    fn bootstrap_then_nothing_more() {
        let s = State::default();
        let ch = s.bootstrap_changes();
        assert_eq!(ch.len(), 4 + crate::managed::aws_managed_policies().len());
        let s2 = s.with_changes(&ch);
        assert!(s2.bootstrap_changes().is_empty());
        assert_eq!(
            s2.keys["test"].principal_arn,
            "arn:aws:iam::000000000000:root"
        );
        assert!(s.keys.is_empty(), "the old snapshot is untouched");
    }

    #[test]
    fn a_start_bootstraps_only_an_empty_state() {
        let s = State::default();
        assert_eq!(s.start_changes(), s.bootstrap_changes());
        let booted = s.with_changes(&s.start_changes());
        // the user deletes the root key and the use-case form: a start brings neither back
        let trimmed = booted.with_changes(&[
            Change::Delete {
                kind: "access-key",
                id: DEFAULT_ACCESS_KEY.into(),
            },
            Change::Delete {
                kind: "use-case",
                id: DEFAULT_ACCOUNT.into(),
            },
        ]);
        assert!(trimmed.start_changes().is_empty());
        // but an AWS managed policy a newer build knows is added
        let first = crate::managed::aws_managed_policies().remove(0);
        let older = trimmed.with_changes(&[Change::Delete {
            kind: "managed-policy",
            id: first.arn.clone(),
        }]);
        assert_eq!(
            older.start_changes(),
            vec![Change::Put(Entity::ManagedPolicy(first))]
        );
    }

    fn session_key(id: &str, expires: i64, issued_by_sts: bool) -> Change {
        Change::Put(Entity::AccessKey(AccessKey {
            access_key_id: id.into(),
            secret_access_key: "s".into(),
            principal_arn: "arn:aws:iam::000000000000:role/r".into(),
            account: DEFAULT_ACCOUNT.into(),
            session_token: Some("t".into()),
            expires_unix: Some(expires),
            active: true,
            session: issued_by_sts.then(|| {
                Box::new(Session {
                    role_arn: "arn:aws:iam::000000000000:role/r".into(),
                    session_name: "s".into(),
                    policy: None,
                    policy_arns: vec![],
                })
            }),
            created_unix: 0,
        }))
    }

    #[test]
    fn expired_sessions_go_after_the_retention_only() {
        let s = State::default().with_changes(&[
            session_key("ASIAOLD", 1_000, true),
            session_key("ASIANEW", 5_000, true),
            session_key("ASIASCENARIO", 1_000, false),
        ]);
        let keep = 1_000 + EXPIRED_SESSION_RETENTION_SECS;
        assert!(s.expired_session_changes(keep, 10).is_empty());
        let gone = s.expired_session_changes(keep + 1, 10);
        assert_eq!(
            gone,
            vec![Change::Delete {
                kind: "access-key",
                id: "ASIAOLD".into()
            }]
        );
        assert_eq!(s.expired_session_changes(keep + 10_000, 10).len(), 2);
        assert_eq!(s.expired_session_changes(keep + 10_000, 1).len(), 1);
        assert!(s.expired_session_changes(keep + 10_000, 0).is_empty());
    }

    #[test]
    fn principals_are_found_by_name_case_insensitively_and_forgotten_when_deleted() {
        let dev = Principal::user("111111111111", "Dev", "/team/");
        let ops = Principal::role("111111111111", "ops", "/", "{}");
        let s = State::default().with_changes(&[
            Change::Put(Entity::Principal(dev.clone())),
            Change::Put(Entity::Principal(ops.clone())),
        ]);
        assert_eq!(s.user_named("111111111111", "dev"), Some(&dev));
        assert_eq!(s.user_named("111111111111", "DEV"), Some(&dev));
        assert_eq!(s.role_named("111111111111", "OPS"), Some(&ops));
        assert_eq!(
            s.user_named("111111111111", "ops"),
            None,
            "a role is not a user"
        );
        assert_eq!(
            s.user_named("222222222222", "dev"),
            None,
            "names are per account"
        );
        let gone = s.with_changes(&[Change::Delete {
            kind: "principal",
            id: dev.arn.clone(),
        }]);
        assert_eq!(gone.user_named("111111111111", "dev"), None);
        // "ops" (lower case, path /) is found by its ARN: it has no index entry of its own
        assert_eq!(
            s.principal_names.keys().collect::<Vec<_>>(),
            ["111111111111/user/dev"]
        );
        let plain = Principal::user("111111111111", "dev", "/");
        let p = gone.with_changes(&[Change::Put(Entity::Principal(plain.clone()))]);
        assert!(p.principal_names.is_empty());
        assert_eq!(p.user_named("111111111111", "DeV"), Some(&plain));
        assert_eq!(p.role_named("111111111111", "dev"), None);
        assert_eq!(p.user_named("222222222222", "dev"), None);
        assert_eq!(
            s.user_named("111111111111", "dev"),
            Some(&dev),
            "old snapshot"
        );
    }

    #[test]
    fn stored_rows_parse_by_their_kind_in_either_field_order() {
        let user = Entity::Principal(Principal::user("111111111111", "dev", "/"));
        let body = serde_json::to_string(&user).unwrap();
        assert!(body.starts_with(r#"{"entity":"principal","#), "{body}");
        assert_eq!(
            Entity::from_stored("principal", body.as_bytes()).unwrap(),
            user
        );
        // a row written by hand (or by another serializer) with the tag elsewhere
        let moved = body.replacen(r#""entity":"principal","#, "", 1);
        let moved = format!(r#"{}, "entity": "principal"}}"#, &moved[..moved.len() - 1]);
        assert_eq!(
            Entity::from_stored("principal", moved.as_bytes()).unwrap(),
            user
        );
        // every kind, through the fast path
        let key = State::default().bootstrap_changes();
        for c in key {
            let Change::Put(e) = c else { unreachable!() };
            let body = serde_json::to_vec(&e).unwrap();
            assert_eq!(Entity::from_stored(e.kind(), &body).unwrap(), e);
        }
    }

    #[test]
    fn a_stored_row_whose_body_is_another_kind_is_refused() {
        let user = Entity::Principal(Principal::user("111111111111", "dev", "/"));
        let body = serde_json::to_vec(&user).unwrap();
        let err = Entity::from_stored("access-key", &body).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the row's kind is access-key but its body is of kind principal"
        );
        let err = Entity::from_stored("principal", b"{not json").unwrap_err();
        assert!(err.is_syntax(), "{err}");
        let err =
            Entity::from_stored("principal", br#"{"entity":"principal","arn":1}"#).unwrap_err();
        assert!(err.is_data(), "{err}");
    }

    #[test]
    fn a_record_map_replaces_a_record_under_its_key() {
        let mut m = RecordMap::new();
        m.insert(Principal::user("111111111111", "dev", "/"));
        let before = m.clone();
        let mut tagged = Principal::user("111111111111", "dev", "/");
        tagged.tags_mut().insert("team".into(), "a".into());
        m.insert(tagged.clone());
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("arn:aws:iam::111111111111:user/dev"), Some(&tagged));
        assert!(before["arn:aws:iam::111111111111:user/dev"]
            .tags()
            .is_empty());
        let pairs: Vec<(&String, &Principal)> = m.iter().collect();
        assert_eq!(pairs, [(&tagged.arn, &tagged)]);
        assert!(m.remove("arn:aws:iam::111111111111:user/dev"));
        assert!(!m.remove("arn:aws:iam::111111111111:user/dev"));
        assert!(m.is_empty() && before.len() == 1);
    }

    #[test]
    fn records_held_once_per_principal_stay_small() {
        // Each of 10,000 principals holds one of each (issue 11: memory per principal); a
        // field added here costs 10,000 times its size.
        assert_eq!(std::mem::size_of::<AccessKey>(), 152);
        assert_eq!(std::mem::size_of::<Principal>(), 144);
        assert_eq!(std::mem::size_of::<PrincipalKind>(), 40);
    }

    #[test]
    fn stored_principals_and_keys_share_their_account_path_and_policy_texts() {
        let row = |e: Entity| serde_json::to_vec(&e).unwrap();
        let mut u1 = Principal::user("111111111111", "u1", "/");
        u1.attached_policies
            .push("arn:aws:iam::aws:policy/AmazonBedrockFullAccess".into());
        let mut u2 = u1.clone();
        u2.arn = "arn:aws:iam::111111111111:user/u2".into();
        let key = AccessKey {
            access_key_id: "AKIA1".into(),
            secret_access_key: "s".into(),
            principal_arn: u1.arn.clone(),
            account: "111111111111".into(),
            session_token: None,
            expires_unix: None,
            active: true,
            session: None,
            created_unix: 0,
        };
        let rows = [
            ("principal", row(Entity::Principal(u1))),
            ("principal", row(Entity::Principal(u2))),
            ("access-key", row(Entity::AccessKey(key))),
        ];
        let s = State::from_entities(
            rows.iter()
                .map(|(kind, body)| Entity::from_stored(kind, body).unwrap()),
        );
        let u1 = &s.principals["arn:aws:iam::111111111111:user/u1"];
        let u2 = &s.principals["arn:aws:iam::111111111111:user/u2"];
        let k = &s.keys["AKIA1"];
        // one allocation of each text, whichever record reads it
        assert_eq!(u1.account.as_ptr(), u2.account.as_ptr());
        assert_eq!(u1.account.as_ptr(), k.account.as_ptr());
        assert_eq!(
            u1.attached_policies[0].as_ptr(),
            u2.attached_policies[0].as_ptr()
        );
        assert_eq!(u1.path().as_ptr(), u2.path().as_ptr());
        assert_eq!(
            u2.attached_policies,
            ["arn:aws:iam::aws:policy/AmazonBedrockFullAccess"]
        );
    }

    #[test]
    fn a_principal_is_stored_as_the_plain_struct_was_whatever_it_boxes() {
        // The JSON of the struct before its rarely set fields moved into a box: every field,
        // in this order, empty ones included.
        let plain = Principal::user("111111111111", "dev", "/");
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(
            json,
            r#"{"arn":"arn:aws:iam::111111111111:user/dev","account":"111111111111","unique_id":"AIDAIIOM4OGPKPQE2KQEQ","kind":{"type":"user","name":"dev","path":"/"},"tags":{},"inline_policies":{},"attached_policies":[],"groups":[],"permissions_boundary":null,"created_unix":0}"#
        );
        assert_eq!(serde_json::from_str::<Principal>(&json).unwrap(), plain);
        let mut full = Principal::role("111111111111", "r", "/svc/", "{}");
        full.tags_mut().insert("team".into(), "a".into());
        full.inline_policies_mut().insert("own".into(), "{}".into());
        full.groups_mut().push("g".into());
        full.set_permissions_boundary(Some("arn:aws:iam::aws:policy/B".into()));
        full.attached_policies
            .push("arn:aws:iam::aws:policy/A".into());
        full.created_unix = 7;
        let json = serde_json::to_string(&full).unwrap();
        assert_eq!(
            json,
            r#"{"arn":"arn:aws:iam::111111111111:role/svc/r","account":"111111111111","unique_id":"AROADKBO7KJZ6MLPM6T73","kind":{"type":"role","name":"r","path":"/svc/","trust_policy":"{}","max_session_duration":3600,"description":null},"tags":{"team":"a"},"inline_policies":{"own":"{}"},"attached_policies":["arn:aws:iam::aws:policy/A"],"groups":["g"],"permissions_boundary":"arn:aws:iam::aws:policy/B","created_unix":7}"#
        );
        assert_eq!(serde_json::from_str::<Principal>(&json).unwrap(), full);
        // emptied again, it equals (and is stored as) one that never had them
        let mut emptied = plain.clone();
        emptied.tags_mut().insert("k".into(), "v".into());
        emptied.tags_mut().clear();
        emptied.set_permissions_boundary(None);
        assert!(emptied.extra.is_some());
        assert_eq!(emptied, plain);
        assert_eq!(
            serde_json::to_string(&emptied).unwrap(),
            serde_json::to_string(&plain).unwrap()
        );
        // and nothing is boxed for a stored principal without them, nor by an empty setter
        let read: Principal =
            serde_json::from_str(&serde_json::to_string(&plain).unwrap()).unwrap();
        assert!(read.extra.is_none());
        let mut set = plain.clone();
        set.set_tags(BTreeMap::new());
        set.set_groups(Vec::new());
        set.set_inline_policies(BTreeMap::new());
        set.set_permissions_boundary(None);
        assert!(set.extra.is_none());
        assert_ne!(full, plain);
    }

    #[test]
    fn only_a_principal_its_arn_cannot_find_is_indexed_by_name() {
        let user = |name: &str, path: &str| Principal::user("111111111111", name, path);
        assert_eq!(name_key(&user("dev", "/")), None);
        assert_eq!(
            name_key(&user("Dev", "/")),
            Some("111111111111/user/dev".to_string())
        );
        assert_eq!(
            name_key(&user("dev", "/teams/")),
            Some("111111111111/user/dev".to_string())
        );
        let role = Principal::role("111111111111", "ops", "/", "{}");
        assert_eq!(name_key(&role), None);
        assert_eq!(name_key(&Principal::root("111111111111")), None);
        // an ARN that does not follow from the record (a hand-made one) is indexed
        let odd = Principal {
            arn: "arn:aws:iam::222222222222:user/dev".into(),
            ..user("dev", "/")
        };
        assert_eq!(name_key(&odd), Some("111111111111/user/dev".to_string()));
    }

    #[test]
    fn entity_json_round_trip() {
        let e = Entity::Principal(Principal::user("111111111111", "dev", "/"));
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Entity>(&j).unwrap(), e);
        assert_eq!(e.id(), "arn:aws:iam::111111111111:user/dev".to_string());
    }
}
