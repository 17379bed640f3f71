//! Scenario files (TOML): accounts, users, access keys and pinned answers, applied idempotently
//! at start (`serve --scenario FILE`).
//!
//! ```toml
//! [[account]]
//! id = "111111111111"
//!
//! [[user]]
//! account = "111111111111"
//! name = "dev"
//!
//! [[access_key]]
//! account = "111111111111"
//! user = "dev"            # omit for the account's root user
//! id = "AKIADEVEXAMPLE0001"
//! secret = "dev-secret"
//!
//! [[answer]]
//! model = "amazon.nova-lite-v1:0"
//! text = "Pinned reply."
//!
//! [[policy]]                      # customer managed policy
//! account = "111111111111"
//! name = "InvokeNova"
//! document = '{"Version":"2012-10-17","Statement":[…]}'
//!
//! [[user]]                        # users, groups and roles take `attach` (policy ARNs, or names
//! account = "111111111111"        # of AWS managed or same-account policies), `inline`
//! name = "dev"                    # (name → document), `boundary` (a policy ARN or name)
//! attach = ["InvokeNova"]
//!
//! [[role]]
//! account = "111111111111"
//! name = "app"
//! trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}'
//!
//! [organization]                  # SCPs: root → OUs → accounts
//! id = "o-exampleorg1"
//! management_account = "999999999999"
//! units = [{ id = "ou-dev", name = "Dev", parent = "r-root" }]
//! accounts = { "111111111111" = "ou-dev" }
//! [[organization.scp]]
//! id = "p-regions"
//! name = "OnlyUsEast1"
//! targets = ["ou-dev"]
//! document = '{…}'
//! ```
//!
//! Every policy document is validated with the IAM engine at load: a malformed one stops the
//! start with IAM's message, before anything is written.

use bg_gates::state::{unique_id, OrgUnit, PolicyVersion, ServiceControlPolicy};
use bg_gates::{
    AccessKey, Account, Change, Entity, Group, ManagedPolicy, Organization, Principal,
    PrincipalKind,
};
use bg_iam::{Policy, PolicyKind};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub account: Vec<AccountDecl>,
    #[serde(default)]
    pub user: Vec<UserDecl>,
    #[serde(default)]
    pub access_key: Vec<KeyDecl>,
    #[serde(default)]
    pub answer: Vec<AnswerDecl>,
    #[serde(default)]
    pub policy: Vec<PolicyDecl>,
    #[serde(default)]
    pub group: Vec<GroupDecl>,
    #[serde(default)]
    pub role: Vec<RoleDecl>,
    #[serde(default)]
    pub organization: Option<OrgDecl>,
    #[serde(default)]
    pub quota: Vec<QuotaDecl>,
    #[serde(default)]
    pub fault: Vec<FaultDecl>,
    #[serde(default)]
    pub access: Vec<AccessDecl>,
}

/// A quota override: `[[quota]] model = "…", rpm = 2` (account and Region optional).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaDecl {
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub model: String,
    #[serde(default)]
    pub rpm: Option<u64>,
    #[serde(default)]
    pub tpm: Option<u64>,
    #[serde(default)]
    pub tpd: Option<u64>,
}

/// A scripted fault: every `every`-th call to `model` fails with `kind` (throttle, timeout,
/// not-ready, unavailable, stream-throttle, stream-error); stream faults send `after_frames`
/// events first.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultDecl {
    pub model: String,
    pub kind: String,
    #[serde(default = "one")]
    pub every: u64,
    #[serde(default)]
    pub after_frames: usize,
}

fn one() -> u64 {
    1
}

/// Model-access state for an account: grants (console mode), agreements, subscriptions, the
/// last use of a Legacy model.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessDecl {
    pub account: String,
    pub region: String,
    pub model: String,
    /// none | pending | granted
    #[serde(default)]
    pub grant: Option<String>,
    /// none | pending | accepted | error
    #[serde(default)]
    pub agreement: Option<String>,
    /// Days since the account last used the model (Legacy lockout after 15).
    #[serde(default)]
    pub last_used_days_ago: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDecl {
    pub account: String,
    pub name: String,
    #[serde(default = "slash")]
    pub path: String,
    pub document: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDecl {
    pub account: String,
    pub name: String,
    #[serde(default = "slash")]
    pub path: String,
    #[serde(default)]
    pub attach: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDecl {
    pub account: String,
    pub name: String,
    #[serde(default = "slash")]
    pub path: String,
    pub trust: String,
    #[serde(default = "hour")]
    pub max_session_duration: u32,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub attach: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    #[serde(default)]
    pub boundary: Option<String>,
}

fn hour() -> u32 {
    3600
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgDecl {
    pub id: String,
    pub management_account: String,
    #[serde(default = "root_id")]
    pub root_id: String,
    #[serde(default)]
    pub units: Vec<UnitDecl>,
    /// member account → parent (root or OU id)
    #[serde(default)]
    pub accounts: BTreeMap<String, String>,
    #[serde(default)]
    pub scp: Vec<ScpDecl>,
}

fn root_id() -> String {
    "r-root".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitDecl {
    pub id: String,
    pub name: String,
    pub parent: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScpDecl {
    pub id: String,
    pub name: String,
    pub targets: Vec<String>,
    pub document: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDecl {
    pub id: String,
    #[serde(default)]
    pub alias: Option<String>,
    /// automatic (default) | console
    #[serde(default)]
    pub access_mode: Option<String>,
    #[serde(default)]
    pub subscription_delay_secs: i64,
    #[serde(default)]
    pub grant_delay_secs: i64,
    /// Submit the Anthropic use-case form for this account.
    #[serde(default)]
    pub use_case_form: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDecl {
    pub account: String,
    pub name: String,
    #[serde(default = "slash")]
    pub path: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub attach: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    #[serde(default)]
    pub boundary: Option<String>,
}

fn slash() -> String {
    "/".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDecl {
    pub account: String,
    #[serde(default)]
    pub user: Option<String>,
    pub id: String,
    pub secret: String,
    #[serde(default)]
    pub session_token: Option<String>,
    #[serde(default)]
    pub expires_unix: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerDecl {
    pub model: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("scenario: {0}")]
    Parse(String),
    #[error("scenario: {0}")]
    Invalid(String),
}

fn valid_account(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// The model-access modes an account can be in (`access_mode`, `serve --access-mode`).
pub const ACCESS_MODES: [&str; 2] = ["automatic", "console"];

impl Scenario {
    /// `serve --access-mode`: the mode of every account that does not choose its own, the
    /// default account 000000000000 included. Applied at every start like the rest of the
    /// scenario, so the flag's choice is stored and outlives the run.
    pub fn set_default_access_mode(&mut self, mode: &str) -> Result<(), ScenarioError> {
        if !ACCESS_MODES.contains(&mode) {
            return Err(ScenarioError::Invalid(format!(
                "access mode '{mode}' is not one of automatic, console"
            )));
        }
        for a in self.account.iter_mut().filter(|a| a.access_mode.is_none()) {
            a.access_mode = Some(mode.to_string());
        }
        let default = bg_gates::state::DEFAULT_ACCOUNT;
        if !self.account.iter().any(|a| a.id == default) {
            self.account.push(AccountDecl {
                id: default.to_string(),
                alias: None,
                access_mode: Some(mode.to_string()),
                subscription_delay_secs: 0,
                grant_delay_secs: 0,
                // the default account's form was put on file when it was created; keep it
                use_case_form: false,
            });
        }
        Ok(())
    }

    pub fn from_toml(s: &str) -> Result<Scenario, ScenarioError> {
        let sc: Scenario = toml::from_str(s).map_err(|e| ScenarioError::Parse(e.to_string()))?;
        sc.validate()?;
        Ok(sc)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let declared = |id: &str| {
            id == bg_gates::state::DEFAULT_ACCOUNT || self.account.iter().any(|a| a.id == id)
        };
        for a in &self.account {
            if !valid_account(&a.id) {
                return Err(ScenarioError::Invalid(format!(
                    "account id '{}' is not 12 digits",
                    a.id
                )));
            }
            if let Some(m) = &a.access_mode {
                if !ACCESS_MODES.contains(&m.as_str()) {
                    return Err(ScenarioError::Invalid(format!(
                        "account {}: access_mode '{m}' is not one of automatic, console",
                        a.id
                    )));
                }
            }
        }
        for u in &self.user {
            if !declared(&u.account) {
                return Err(ScenarioError::Invalid(format!(
                    "user '{}' names undeclared account {}",
                    u.name, u.account
                )));
            }
            if !u.path.starts_with('/') || !u.path.ends_with('/') {
                return Err(ScenarioError::Invalid(format!(
                    "user '{}': path must begin and end with '/'",
                    u.name
                )));
            }
        }
        let check = |what: &str, doc: &str, kind: PolicyKind| {
            Policy::parse(doc, kind).map(|_| ()).map_err(|e| {
                ScenarioError::Invalid(format!("{what}: MalformedPolicyDocument: {e}"))
            })
        };
        for p in &self.policy {
            if !declared(&p.account) {
                return Err(ScenarioError::Invalid(format!(
                    "policy '{}' names undeclared account {}",
                    p.name, p.account
                )));
            }
            check(
                &format!("policy '{}'", p.name),
                &p.document,
                PolicyKind::Identity,
            )?;
        }
        let known_policy = |account: &str, r: &str| self.policy_arn(account, r).is_some();
        for u in &self.user {
            for (n, d) in &u.inline {
                check(
                    &format!("user '{}' inline policy '{n}'", u.name),
                    d,
                    PolicyKind::Identity,
                )?;
            }
            for a in u.attach.iter().chain(u.boundary.iter()) {
                if !known_policy(&u.account, a) {
                    return Err(ScenarioError::Invalid(format!(
                        "user '{}': unknown policy '{a}'",
                        u.name
                    )));
                }
            }
            for g in &u.groups {
                if !self
                    .group
                    .iter()
                    .any(|d| &d.name == g && d.account == u.account)
                {
                    return Err(ScenarioError::Invalid(format!(
                        "user '{}' names undeclared group {g}",
                        u.name
                    )));
                }
            }
        }
        for g in &self.group {
            if !declared(&g.account) {
                return Err(ScenarioError::Invalid(format!(
                    "group '{}' names undeclared account {}",
                    g.name, g.account
                )));
            }
            for (n, d) in &g.inline {
                check(
                    &format!("group '{}' inline policy '{n}'", g.name),
                    d,
                    PolicyKind::Identity,
                )?;
            }
            for a in &g.attach {
                if !known_policy(&g.account, a) {
                    return Err(ScenarioError::Invalid(format!(
                        "group '{}': unknown policy '{a}'",
                        g.name
                    )));
                }
            }
        }
        for r in &self.role {
            if !declared(&r.account) {
                return Err(ScenarioError::Invalid(format!(
                    "role '{}' names undeclared account {}",
                    r.name, r.account
                )));
            }
            check(
                &format!("role '{}' trust policy", r.name),
                &r.trust,
                PolicyKind::Resource,
            )?;
            for (n, d) in &r.inline {
                check(
                    &format!("role '{}' inline policy '{n}'", r.name),
                    d,
                    PolicyKind::Identity,
                )?;
            }
            for a in r.attach.iter().chain(r.boundary.iter()) {
                if !known_policy(&r.account, a) {
                    return Err(ScenarioError::Invalid(format!(
                        "role '{}': unknown policy '{a}'",
                        r.name
                    )));
                }
            }
        }
        if let Some(o) = &self.organization {
            for s in &o.scp {
                check(&format!("SCP '{}'", s.name), &s.document, PolicyKind::Scp)?;
                for t in &s.targets {
                    let ok = *t == o.root_id
                        || o.units.iter().any(|u| &u.id == t)
                        || o.accounts.contains_key(t);
                    if !ok {
                        return Err(ScenarioError::Invalid(format!(
                            "SCP '{}' targets unknown {t}",
                            s.name
                        )));
                    }
                }
            }
            for (acct, parent) in &o.accounts {
                if *parent != o.root_id && !o.units.iter().any(|u| &u.id == parent) {
                    return Err(ScenarioError::Invalid(format!(
                        "account {acct} has unknown parent {parent}"
                    )));
                }
            }
        }
        for k in &self.access_key {
            if !declared(&k.account) {
                return Err(ScenarioError::Invalid(format!(
                    "access key '{}' names undeclared account {}",
                    k.id, k.account
                )));
            }
            if let Some(u) = &k.user {
                if !self
                    .user
                    .iter()
                    .any(|d| &d.name == u && d.account == k.account)
                {
                    return Err(ScenarioError::Invalid(format!(
                        "access key '{}' names undeclared user {u}",
                        k.id
                    )));
                }
            }
            if k.id.len() < 4 || k.secret.is_empty() {
                return Err(ScenarioError::Invalid(format!(
                    "access key '{}': id must have 4+ chars and secret must not be empty",
                    k.id
                )));
            }
        }
        Ok(())
    }

    pub fn fault_rules(&self) -> Vec<bg_gates::quota::FaultRule> {
        self.fault
            .iter()
            .filter_map(|f| {
                Some(bg_gates::quota::FaultRule {
                    model: f.model.clone(),
                    kind: bg_gates::quota::FaultKind::parse(&f.kind)?,
                    every: f.every,
                    after_frames: f.after_frames,
                })
            })
            .collect()
    }

    /// Access entries become ModelAccess records; `now` anchors "days ago".
    pub fn access_changes(&self, now: i64) -> Vec<Change> {
        use bg_gates::state::{AgreementStatus, GrantStatus, ModelAccess};
        self.access
            .iter()
            .map(|x| {
                Change::Put(Entity::ModelAccess(ModelAccess {
                    account: x.account.clone(),
                    region: x.region.clone(),
                    model_id: x.model.clone(),
                    agreement: match x.agreement.as_deref() {
                        Some("pending") => AgreementStatus::Pending,
                        Some("accepted") => AgreementStatus::Accepted,
                        Some("error") => AgreementStatus::Error,
                        _ => AgreementStatus::None,
                    },
                    offer_token: None,
                    agreement_error: (x.agreement.as_deref() == Some("error"))
                        .then(|| "The agreement could not be created.".to_string()),
                    grant: match x.grant.as_deref() {
                        Some("pending") => GrantStatus::Pending,
                        Some("granted") => GrantStatus::Granted,
                        _ => GrantStatus::None,
                    },
                    grant_at: None,
                    last_used: x.last_used_days_ago.map(|d| now - d * 86_400),
                    updated_unix: now,
                }))
            })
            .collect()
    }

    /// A policy reference in a scenario: a full ARN, the name of an AWS managed policy we
    /// ship, or the name of a policy declared for the same account.
    fn policy_arn(&self, account: &str, r: &str) -> Option<String> {
        if r.starts_with("arn:") {
            let aws = bg_gates::managed::aws_managed_policies()
                .into_iter()
                .any(|p| p.arn == r);
            let declared = self
                .policy
                .iter()
                .any(|p| format!("arn:aws:iam::{}:policy{}{}", p.account, p.path, p.name) == r);
            return (aws || declared).then(|| r.to_string());
        }
        if let Some(p) = self
            .policy
            .iter()
            .find(|p| p.account == account && p.name == r)
        {
            return Some(format!(
                "arn:aws:iam::{}:policy{}{}",
                p.account, p.path, p.name
            ));
        }
        bg_gates::managed::aws_managed_policies()
            .into_iter()
            .find(|p| p.name == r)
            .map(|p| p.arn)
    }

    fn attach_list(&self, account: &str, refs: &[String]) -> Vec<String> {
        refs.iter()
            .filter_map(|r| self.policy_arn(account, r))
            .collect()
    }

    /// The upserts that make the store match the scenario; applying them twice changes nothing.
    pub fn changes(&self) -> Vec<Change> {
        let mut out = Vec::new();
        for a in &self.account {
            out.push(Change::Put(Entity::Account(Account {
                id: a.id.clone(),
                alias: a.alias.clone(),
                access_mode: if a.access_mode.as_deref() == Some("console") {
                    bg_gates::state::AccessMode::Console
                } else {
                    bg_gates::state::AccessMode::Automatic
                },
                subscription_delay_secs: a.subscription_delay_secs,
                grant_delay_secs: a.grant_delay_secs,
            })));
            if a.use_case_form {
                out.push(Change::Put(Entity::UseCase(bg_gates::state::UseCase {
                    account: a.id.clone(),
                    form_data: "eyJjb21wYW55TmFtZSI6InNjZW5hcmlvIn0=".into(),
                    submitted_unix: 0,
                })));
            }
            out.push(Change::Put(Entity::Principal(Principal::root(&a.id))));
        }
        for p in &self.policy {
            let arn = format!("arn:aws:iam::{}:policy{}{}", p.account, p.path, p.name);
            out.push(Change::Put(Entity::ManagedPolicy(ManagedPolicy {
                policy_id: unique_id("ANPA", &p.account, &p.name),
                arn,
                account: Some(p.account.clone()),
                name: p.name.clone(),
                path: p.path.clone(),
                description: p.description.clone(),
                default_version: "v1".into(),
                versions: vec![PolicyVersion {
                    version_id: "v1".into(),
                    document: p.document.clone(),
                    created_unix: 0,
                }],
                created_unix: 0,
                updated_unix: 0,
            })));
        }
        for g in &self.group {
            out.push(Change::Put(Entity::Group(Group {
                arn: format!("arn:aws:iam::{}:group{}{}", g.account, g.path, g.name),
                account: g.account.clone(),
                name: g.name.clone(),
                path: g.path.clone(),
                unique_id: unique_id("AGPA", &g.account, &g.name),
                inline_policies: g.inline.clone(),
                attached_policies: self.attach_list(&g.account, &g.attach),
                created_unix: 0,
            })));
        }
        for u in &self.user {
            let mut p = Principal::user(&u.account, &u.name, &u.path);
            p.tags = u.tags.clone();
            p.groups = u.groups.clone();
            p.inline_policies = u.inline.clone();
            p.attached_policies = self.attach_list(&u.account, &u.attach);
            p.permissions_boundary = u
                .boundary
                .as_ref()
                .and_then(|b| self.policy_arn(&u.account, b));
            out.push(Change::Put(Entity::Principal(p)));
        }
        for r in &self.role {
            let mut p = Principal::role(&r.account, &r.name, &r.path, &r.trust);
            if let PrincipalKind::Role {
                max_session_duration,
                ..
            } = &mut p.kind
            {
                *max_session_duration = r.max_session_duration;
            }
            p.tags = r.tags.clone();
            p.inline_policies = r.inline.clone();
            p.attached_policies = self.attach_list(&r.account, &r.attach);
            p.permissions_boundary = r
                .boundary
                .as_ref()
                .and_then(|b| self.policy_arn(&r.account, b));
            out.push(Change::Put(Entity::Principal(p)));
        }
        if let Some(o) = &self.organization {
            let mut accounts = o.accounts.clone();
            accounts
                .entry(o.management_account.clone())
                .or_insert_with(|| o.root_id.clone());
            out.push(Change::Put(Entity::Organization(Organization {
                id: o.id.clone(),
                management_account: o.management_account.clone(),
                root_id: o.root_id.clone(),
                units: o
                    .units
                    .iter()
                    .map(|u| OrgUnit {
                        id: u.id.clone(),
                        name: u.name.clone(),
                        parent_id: u.parent.clone(),
                    })
                    .collect(),
                account_parents: accounts,
                policies: o
                    .scp
                    .iter()
                    .map(|s| ServiceControlPolicy {
                        id: s.id.clone(),
                        name: s.name.clone(),
                        document: s.document.clone(),
                        targets: s.targets.clone(),
                    })
                    .collect(),
            })));
        }
        for k in &self.access_key {
            let principal_arn = match &k.user {
                Some(name) => {
                    let path = self
                        .user
                        .iter()
                        .find(|u| &u.name == name && u.account == k.account)
                        .map(|u| u.path.as_str())
                        .unwrap_or("/");
                    Principal::user(&k.account, name, path).arn
                }
                None => Principal::root(&k.account).arn,
            };
            out.push(Change::Put(Entity::AccessKey(AccessKey {
                access_key_id: k.id.clone(),
                secret_access_key: k.secret.clone(),
                principal_arn,
                account: k.account.clone(),
                session_token: k.session_token.clone(),
                expires_unix: k.expires_unix,
                active: true,
                session: None,
                created_unix: 0,
            })));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let s = Scenario::from_toml(
            r#"
[[account]]
id = "111111111111"
[[user]]
account = "111111111111"
name = "dev"
[[access_key]]
account = "111111111111"
user = "dev"
id = "AKIADEV"
secret = "s"
"#,
        )
        .unwrap();
        let ch = s.changes();
        assert_eq!(ch.len(), 4);
        let err = Scenario::from_toml(
            "[[access_key]]\naccount=\"222222222222\"\nid=\"AKIAX\"\nsecret=\"s\"\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "scenario: access key 'AKIAX' names undeclared account 222222222222"
        );
        assert!(Scenario::from_toml("[[acount]]\nid=\"1\"").is_err());
    }

    #[test]
    fn access_mode_is_checked_and_the_flag_fills_the_gaps() {
        let err = Scenario::from_toml("[[account]]\nid=\"111111111111\"\naccess_mode=\"consol\"\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "scenario: account 111111111111: access_mode 'consol' is not one of automatic, console"
        );
        let mut s = Scenario::from_toml(
            "[[account]]\nid=\"111111111111\"\n[[account]]\nid=\"222222222222\"\naccess_mode=\"automatic\"\n",
        )
        .unwrap();
        s.set_default_access_mode("console").unwrap();
        let modes: Vec<(&str, Option<&str>)> = s
            .account
            .iter()
            .map(|a| (a.id.as_str(), a.access_mode.as_deref()))
            .collect();
        assert_eq!(
            modes,
            [
                ("111111111111", Some("console")),
                ("222222222222", Some("automatic")),
                ("000000000000", Some("console")),
            ]
        );
        assert!(s.set_default_access_mode("manual").is_err());
    }
}
