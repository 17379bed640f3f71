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
//! start with IAM's message, before anything is written. Fields with a fixed set of values
//! (fault kinds, grant and agreement states, access modes) are read as the gates' own enums:
//! a typo stops the start with the list of valid values instead of silently doing nothing.

use bg_gates::quota::FaultKind;
use bg_gates::state::{
    unique_id, AccessMode, AgreementStatus, GrantStatus, OrgUnit, PolicyVersion,
    ServiceControlPolicy,
};
use bg_gates::{AccessKey, Account, Change, Entity, Group, ManagedPolicy, Organization, Principal};
use bg_iam::{Policy, PolicyKind};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A scenario value that is one of a fixed set of names: the gates' enums, spelled as they are
/// stored.
trait Choice: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == s)
    }

    /// `a, b, c`
    fn names() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
        names.join(", ")
    }

    /// `{what} "{value}" is not one of: a, b, c`
    fn read(value: &str, what: &str) -> Result<Self, String> {
        Self::parse(value)
            .ok_or_else(|| format!("{what} \"{value}\" is not one of: {}", Self::names()))
    }
}

impl Choice for FaultKind {
    const ALL: &'static [Self] = &FaultKind::ALL;
    fn name(self) -> &'static str {
        FaultKind::name(self)
    }
}

impl Choice for GrantStatus {
    const ALL: &'static [Self] = &GrantStatus::ALL;
    fn name(self) -> &'static str {
        GrantStatus::name(self)
    }
}

impl Choice for AgreementStatus {
    const ALL: &'static [Self] = &AgreementStatus::ALL;
    fn name(self) -> &'static str {
        AgreementStatus::name(self)
    }
}

impl Choice for AccessMode {
    const ALL: &'static [Self] = &AccessMode::ALL;
    fn name(self) -> &'static str {
        AccessMode::name(self)
    }
}

/// Reads a [`Choice`] field; `what` names it in the error (`[[fault]] kind`).
fn choice<'de, D: Deserializer<'de>, T: Choice>(d: D, what: &str) -> Result<T, D::Error> {
    let value = String::deserialize(d)?;
    T::read(&value, what).map_err(D::Error::custom)
}

fn fault_kind<'de, D: Deserializer<'de>>(d: D) -> Result<FaultKind, D::Error> {
    choice(d, "[[fault]] kind")
}

fn grant<'de, D: Deserializer<'de>>(d: D) -> Result<GrantStatus, D::Error> {
    choice(d, "[[access]] grant")
}

fn agreement<'de, D: Deserializer<'de>>(d: D) -> Result<AgreementStatus, D::Error> {
    choice(d, "[[access]] agreement")
}

fn access_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AccessMode>, D::Error> {
    choice(d, "[[account]] access_mode").map(Some)
}

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
    pub api_key: Vec<ApiKeyDecl>,
    /// Console passwords (`[[login_profile]]`): an IAM user's, or the account root's.
    #[serde(default)]
    pub login_profile: Vec<LoginProfileDecl>,
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
    #[serde(default)]
    pub backend: Vec<BackendDecl>,
}

/// The kinds of backend a `[[backend]]` entry may name: the scripted backend, and the
/// upstreams: OpenAI-compatible, the Anthropic Messages API, and Bedrock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Scripted,
    Openai,
    Anthropic,
    Bedrock,
}

impl BackendKind {
    pub const ALL: [BackendKind; 4] = [
        BackendKind::Scripted,
        BackendKind::Openai,
        BackendKind::Anthropic,
        BackendKind::Bedrock,
    ];
}

impl Choice for BackendKind {
    const ALL: &'static [Self] = &BackendKind::ALL;
    fn name(self) -> &'static str {
        match self {
            BackendKind::Scripted => "scripted",
            BackendKind::Openai => "openai",
            BackendKind::Anthropic => "anthropic",
            BackendKind::Bedrock => "bedrock",
        }
    }
}

fn backend_kind<'de, D: Deserializer<'de>>(d: D) -> Result<BackendKind, D::Error> {
    choice(d, "[[backend]] kind")
}

/// `[[backend]] kind = "scripted", models = ["meta.*"], answer = "…"`: which backend answers the
/// models matching the patterns (`*` matches any run of characters; earlier entries win). A
/// scripted entry may pin one answer for all its models; `[[answer]]` pins stay per model.
///
/// An upstream entry (`kind = "openai"`) names its `url` (the API base, `http://host:port/v1`),
/// where its key is (`api_key_env`: an environment variable's name, or `api_key_file`: a file
/// whose first line is the key; never the key itself), `model_map` (Bedrock model glob →
/// upstream model, the most specific pattern first; unmapped models keep their Bedrock id), `timeout_ms` (default 60000) and
/// `max_concurrency` (default 16).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendDecl {
    #[serde(deserialize_with = "backend_kind")]
    pub kind: BackendKind,
    pub models: Vec<String>,
    #[serde(default)]
    pub answer: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default)]
    pub api_key_file: Option<String>,
    #[serde(default)]
    pub model_map: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// `bedrock` only: the Region to sign for (default: the AWS credential chain's Region,
    /// AWS_REGION or the profile's, else us-east-1). The credentials come from the chain too
    /// (environment, shared files and AWS_PROFILE, web identity, container or IMDS).
    #[serde(default)]
    pub region: Option<String>,
}

impl BackendDecl {
    /// The upstream's configuration; the key is read from its variable or file now.
    pub fn upstream(&self) -> Result<bg_backends::UpstreamConfig, String> {
        let url = self
            .url
            .as_deref()
            .ok_or_else(|| format!("[[backend]] kind = \"{}\" needs a url", self.kind.name()))?;
        let mut cfg = bg_backends::UpstreamConfig::new(url);
        cfg.validate()?;
        cfg.api_key = read_api_key(self.api_key_env.as_deref(), self.api_key_file.as_deref())?;
        // The most specific pattern wins: exact ids first, then globs, longer before shorter
        // (a table has no order of its own; `*` is then the default for unmapped models).
        let mut map: Vec<(String, String)> = self
            .model_map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        map.sort_by_key(|(k, _)| (k.contains('*'), std::cmp::Reverse(k.len())));
        cfg.model_map = map;
        if let Some(ms) = self.timeout_ms {
            cfg.timeout = std::time::Duration::from_millis(ms);
        }
        if let Some(n) = self.max_concurrency {
            cfg.max_concurrency = n;
        }
        Ok(cfg)
    }
}

/// The Region a `bedrock` upstream signs for (its credentials come from the AWS credential
/// chain at the first call, see `bg_backends::SigningIdentity`).
pub fn signing_identity(region: Option<&str>) -> Result<bg_backends::SigningIdentity, String> {
    Ok(bg_backends::SigningIdentity {
        region: region.map(str::to_string),
    })
}

/// An upstream key from an environment variable or a file (its first line). The errors name
/// the variable or the file, never a key.
pub fn read_api_key(env: Option<&str>, file: Option<&str>) -> Result<Option<String>, String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(k) if !k.trim().is_empty() => Ok(Some(k.trim().to_string())),
            _ => Err(format!(
                "api_key_env: the environment variable {var} is not set"
            )),
        };
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("api_key_file: cannot read {path}: {}", e.kind()))?;
        let key = text.lines().next().unwrap_or("").trim().to_string();
        if key.is_empty() {
            return Err(format!("api_key_file: {path} is empty"));
        }
        return Ok(Some(key));
    }
    Ok(None)
}

/// The backends a scenario configures, in front of `default` (the scripted backend with the
/// scenario's `[[answer]]` pins). An upstream entry that cannot be configured (no url, a
/// missing key) is skipped here; [`check_backends`] reports it at load.
pub fn backends(
    scenario: Option<&Scenario>,
    default: bg_backends::ScriptedBackend,
) -> bg_backends::Backends {
    let mut out = bg_backends::Backends::new(std::sync::Arc::new(default.clone()));
    for decl in scenario.map(|s| s.backend.as_slice()).unwrap_or(&[]) {
        match decl.kind {
            BackendKind::Scripted => {
                for pattern in &decl.models {
                    let mut b = default.clone();
                    if let Some(text) = &decl.answer {
                        for m in bg_catalog::catalog().models.iter() {
                            if bg_backends::glob_match(pattern, &m.id) {
                                b.pin(&m.id, text);
                            }
                        }
                    }
                    out.route(pattern, std::sync::Arc::new(b));
                }
            }
            BackendKind::Openai | BackendKind::Anthropic | BackendKind::Bedrock => {
                let Some(b) = decl.build() else { continue };
                for pattern in &decl.models {
                    out.route(pattern, b.clone());
                }
            }
        }
    }
    out
}

/// Every upstream entry's configuration error, for the loader.
pub fn check_backends(scenario: &Scenario) -> Result<(), String> {
    for decl in &scenario.backend {
        if decl.kind != BackendKind::Scripted {
            decl.upstream()?;
        }
        if decl.kind == BackendKind::Bedrock {
            signing_identity(decl.region.as_deref())?;
        }
    }
    Ok(())
}

impl BackendDecl {
    /// The upstream backend this entry names (`None` for scripted or a broken entry).
    fn build(&self) -> Option<std::sync::Arc<dyn bg_backends::Backend>> {
        let cfg = self.upstream().ok()?;
        Some(match self.kind {
            BackendKind::Scripted => return None,
            BackendKind::Openai => std::sync::Arc::new(bg_backends::OpenAiBackend::new(cfg)),
            BackendKind::Anthropic => std::sync::Arc::new(bg_backends::AnthropicBackend::new(cfg)),
            BackendKind::Bedrock => {
                let id = signing_identity(self.region.as_deref()).ok()?;
                std::sync::Arc::new(bg_backends::BedrockBackend::new(cfg, id))
            }
        })
    }
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
    #[serde(deserialize_with = "fault_kind")]
    pub kind: FaultKind,
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
    /// none (default) | pending | granted
    #[serde(default, deserialize_with = "grant")]
    pub grant: GrantStatus,
    /// none (default) | pending | accepted | error
    #[serde(default, deserialize_with = "agreement")]
    pub agreement: AgreementStatus,
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
    #[serde(default, deserialize_with = "access_mode")]
    pub access_mode: Option<AccessMode>,
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

/// `[[api_key]] account, user, id, secret`: a long-term Amazon Bedrock API key of an IAM user
/// (a service-specific credential for `bedrock.amazonaws.com`). Clients send
/// `ABSK` + base64(`<user>-at-<account>:<secret>`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyDecl {
    pub account: String,
    pub user: String,
    /// `ServiceSpecificCredentialId` (`ACCA…`).
    pub id: String,
    pub secret: String,
    #[serde(default = "yes")]
    pub active: bool,
    /// Unix seconds at which the key expires (absent: never).
    #[serde(default)]
    pub expires_unix: Option<i64>,
}

fn yes() -> bool {
    true
}

/// `[[login_profile]] account, user, password, password_reset_required`: the console password
/// of an IAM user, or of the account's root user when `user` is absent. Stored as a salted hash
/// only. `password_reset_required` (IAM's `PasswordResetRequired`) sends the user to the
/// password change at the next console sign-in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginProfileDecl {
    pub account: String,
    #[serde(default)]
    pub user: Option<String>,
    pub password: String,
    #[serde(default)]
    pub password_reset_required: bool,
}

impl std::fmt::Debug for LoginProfileDecl {
    // Never print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginProfileDecl")
            .field("account", &self.account)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
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

/// A TOML error as the message first (ours for a bad value, toml's otherwise), then toml's
/// pointer to the line.
fn toml_error(e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let full = e.to_string();
    match full.trim_end().strip_suffix(message).map(str::trim_end) {
        Some(context) if !context.is_empty() => format!("{message}\n{context}"),
        _ => message.to_string(),
    }
}

impl Scenario {
    /// `serve --access-mode`: the mode of every account that does not choose its own, the
    /// default account 000000000000 included. Applied at every start like the rest of the
    /// scenario, so the flag's choice is stored and outlives the run.
    pub fn set_default_access_mode(&mut self, mode: &str) -> Result<(), ScenarioError> {
        let mode = AccessMode::read(mode, "access mode").map_err(ScenarioError::Invalid)?;
        for a in self.account.iter_mut().filter(|a| a.access_mode.is_none()) {
            a.access_mode = Some(mode);
        }
        let default = bg_gates::state::DEFAULT_ACCOUNT;
        if !self.account.iter().any(|a| a.id == default) {
            self.account.push(AccountDecl {
                id: default.to_string(),
                alias: None,
                access_mode: Some(mode),
                subscription_delay_secs: 0,
                grant_delay_secs: 0,
                // the default account's form was put on file when it was created; keep it
                use_case_form: false,
            });
        }
        Ok(())
    }

    pub fn from_toml(s: &str) -> Result<Scenario, ScenarioError> {
        let sc: Scenario = toml::from_str(s).map_err(|e| ScenarioError::Parse(toml_error(&e)))?;
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
        }
        check_backends(self).map_err(ScenarioError::Invalid)?;
        for f in &self.fault {
            if f.every == 0 {
                return Err(ScenarioError::Invalid(format!(
                    "[[fault]] for {}: every must be at least 1 (every 1 fails every call)",
                    f.model
                )));
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
        for l in &self.login_profile {
            if let Some(u) = &l.user {
                if !self
                    .user
                    .iter()
                    .any(|d| &d.name == u && d.account == l.account)
                {
                    return Err(ScenarioError::Invalid(format!(
                        "login profile names undeclared user {u} of account {}",
                        l.account
                    )));
                }
            }
            if l.password.is_empty() {
                return Err(ScenarioError::Invalid(
                    "login profile: password must not be empty".into(),
                ));
            }
        }
        for k in &self.api_key {
            if !self
                .user
                .iter()
                .any(|d| d.name == k.user && d.account == k.account)
            {
                return Err(ScenarioError::Invalid(format!(
                    "api key '{}' names undeclared user {} of account {}",
                    k.id, k.user, k.account
                )));
            }
            if k.id.len() < 20
                || !k.id.bytes().all(|b| b.is_ascii_alphanumeric())
                || k.secret.is_empty()
            {
                return Err(ScenarioError::Invalid(format!(
                    "api key '{}': id must be 20+ letters or digits (ACCA…) and secret must not be empty",
                    k.id
                )));
            }
        }
        Ok(())
    }

    pub fn fault_rules(&self) -> Vec<bg_gates::quota::FaultRule> {
        self.fault
            .iter()
            .map(|f| bg_gates::quota::FaultRule {
                model: f.model.clone(),
                kind: f.kind,
                every: f.every,
                after_frames: f.after_frames,
            })
            .collect()
    }

    /// Access entries become ModelAccess records; `now` anchors "days ago".
    pub fn access_changes(&self, now: i64) -> Vec<Change> {
        use bg_gates::state::ModelAccess;
        self.access
            .iter()
            .map(|x| {
                let agreement = x.agreement;
                Change::Put(Entity::ModelAccess(ModelAccess {
                    account: x.account.clone(),
                    region: x.region.clone(),
                    model_id: x.model.clone(),
                    agreement,
                    offer_token: None,
                    agreement_error: (agreement == AgreementStatus::Error)
                        .then(|| "The agreement could not be created.".to_string()),
                    grant: x.grant,
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

    fn attach_list(&self, account: &str, refs: &[String]) -> Vec<bg_gates::state::Interned> {
        refs.iter()
            .filter_map(|r| self.policy_arn(account, r).map(Into::into))
            .collect()
    }

    /// The upserts that make the store match the scenario; applying them twice changes nothing.
    pub fn changes(&self) -> Vec<Change> {
        let mut out = Vec::new();
        for a in &self.account {
            out.push(Change::Put(Entity::Account(Account {
                id: a.id.clone(),
                alias: a.alias.clone(),
                access_mode: a.access_mode.unwrap_or_default(),
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
            p.set_tags(u.tags.clone());
            p.set_groups(u.groups.clone());
            p.set_inline_policies(u.inline.clone());
            p.attached_policies = self.attach_list(&u.account, &u.attach);
            p.set_permissions_boundary(
                u.boundary
                    .as_ref()
                    .and_then(|b| self.policy_arn(&u.account, b)),
            );
            out.push(Change::Put(Entity::Principal(p)));
        }
        for r in &self.role {
            let mut p = Principal::role(&r.account, &r.name, &r.path, &r.trust);
            if let Some(role) = p.as_role_mut() {
                role.max_session_duration = r.max_session_duration;
            }
            p.set_tags(r.tags.clone());
            p.set_inline_policies(r.inline.clone());
            p.attached_policies = self.attach_list(&r.account, &r.attach);
            p.set_permissions_boundary(
                r.boundary
                    .as_ref()
                    .and_then(|b| self.policy_arn(&r.account, b)),
            );
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
                account: k.account.as_str().into(),
                session_token: k.session_token.clone(),
                expires_unix: k.expires_unix,
                active: true,
                session: None,
                created_unix: 0,
            })));
        }
        for k in &self.api_key {
            let path = self
                .user
                .iter()
                .find(|u| u.name == k.user && u.account == k.account)
                .map(|u| u.path.as_str())
                .unwrap_or("/");
            out.push(Change::Put(Entity::ServiceCredential(
                bg_gates::ServiceCredential {
                    id: k.id.clone(),
                    account: k.account.clone(),
                    user_arn: Principal::user(&k.account, &k.user, path).arn,
                    user_name: k.user.clone(),
                    service_name: bg_gates::api_key::SERVICE_NAME.to_string(),
                    alias: format!("{}-at-{}", k.user, k.account),
                    secret: k.secret.clone(),
                    created_unix: 0,
                    expires_unix: k.expires_unix,
                    active: k.active,
                },
            )));
        }
        for l in &self.login_profile {
            let principal = match &l.user {
                Some(u) => {
                    let path = self
                        .user
                        .iter()
                        .find(|d| &d.name == u && d.account == l.account)
                        .map(|d| d.path.as_str())
                        .unwrap_or("/");
                    Principal::user(&l.account, u, path)
                }
                None => Principal::root(&l.account),
            };
            out.push(Change::Put(Entity::LoginProfile(bg_gates::LoginProfile {
                principal_arn: principal.arn,
                account: l.account.clone(),
                user_name: l.user.clone().unwrap_or_default(),
                password_hash: crate::iam_api::login_profiles::hash_password(&l.password),
                password_reset_required: l.password_reset_required,
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

    fn refused(toml: &str) -> String {
        Scenario::from_toml(toml).unwrap_err().to_string()
    }

    #[test]
    fn fault_kind_is_one_of_the_kinds() {
        assert_eq!(
            refused("[[fault]]\nmodel = \"amazon.nova-micro-v1:0\"\nkind = \"throttel\"\n"),
            "scenario: [[fault]] kind \"throttel\" is not one of: throttle, timeout, not-ready, unavailable, stream-throttle, stream-error\n\
             TOML parse error at line 3, column 8\n  |\n3 | kind = \"throttel\"\n  |        ^^^^^^^^^^"
        );
        let s = Scenario::from_toml(
            "[[fault]]\nmodel = \"m\"\nkind = \"not-ready\"\nevery = 2\n[[fault]]\nmodel = \"m\"\nkind = \"stream-error\"\nafter_frames = 3\n",
        )
        .unwrap();
        assert_eq!(
            s.fault_rules(),
            [
                bg_gates::quota::FaultRule {
                    model: "m".into(),
                    kind: FaultKind::NotReady,
                    every: 2,
                    after_frames: 0,
                },
                bg_gates::quota::FaultRule {
                    model: "m".into(),
                    kind: FaultKind::StreamError,
                    every: 1,
                    after_frames: 3,
                },
            ]
        );
        // A fault that would never fire is refused too.
        assert_eq!(
            refused("[[fault]]\nmodel = \"m\"\nkind = \"timeout\"\nevery = 0\n"),
            "scenario: [[fault]] for m: every must be at least 1 (every 1 fails every call)"
        );
    }

    const ACCESS: &str = "[[account]]\nid = \"111111111111\"\n[[access]]\naccount = \"111111111111\"\nregion = \"us-east-1\"\nmodel = \"amazon.nova-pro-v1:0\"\n";

    #[test]
    fn grant_is_one_of_the_grant_states() {
        assert_eq!(
            refused(&format!("{ACCESS}grant = \"Granted\"\n")),
            "scenario: [[access]] grant \"Granted\" is not one of: none, pending, granted\n\
             TOML parse error at line 7, column 9\n  |\n7 | grant = \"Granted\"\n  |         ^^^^^^^^^"
        );
        let s = Scenario::from_toml(&format!("{ACCESS}grant = \"pending\"\n")).unwrap();
        let Change::Put(Entity::ModelAccess(m)) = &s.access_changes(1_000_000)[0] else {
            panic!("a model-access record")
        };
        assert_eq!(
            (m.grant, m.agreement, m.agreement_error.as_deref()),
            (GrantStatus::Pending, AgreementStatus::None, None)
        );
    }

    #[test]
    fn agreement_is_one_of_the_agreement_states() {
        assert_eq!(
            refused(&format!("{ACCESS}agreement = \"accept\"\n")),
            "scenario: [[access]] agreement \"accept\" is not one of: none, pending, accepted, error\n\
             TOML parse error at line 7, column 13\n  |\n7 | agreement = \"accept\"\n  |             ^^^^^^^^"
        );
        let s = Scenario::from_toml(&format!(
            "{ACCESS}agreement = \"error\"\nlast_used_days_ago = 2\n"
        ))
        .unwrap();
        let Change::Put(Entity::ModelAccess(m)) = &s.access_changes(1_000_000)[0] else {
            panic!("a model-access record")
        };
        assert_eq!(
            (
                m.grant,
                m.agreement,
                m.agreement_error.as_deref(),
                m.last_used
            ),
            (
                GrantStatus::None,
                AgreementStatus::Error,
                Some("The agreement could not be created."),
                Some(1_000_000 - 2 * 86_400)
            )
        );
    }

    #[test]
    fn access_mode_is_one_of_the_modes_and_the_flag_fills_the_gaps() {
        assert_eq!(
            refused("[[account]]\nid=\"111111111111\"\naccess_mode=\"consol\"\n"),
            "scenario: [[account]] access_mode \"consol\" is not one of: automatic, console\n\
             TOML parse error at line 3, column 13\n  |\n3 | access_mode=\"consol\"\n  |             ^^^^^^^^"
        );
        let mut s = Scenario::from_toml(
            "[[account]]\nid=\"111111111111\"\n[[account]]\nid=\"222222222222\"\naccess_mode=\"automatic\"\n",
        )
        .unwrap();
        s.set_default_access_mode("console").unwrap();
        let modes: Vec<(&str, Option<AccessMode>)> = s
            .account
            .iter()
            .map(|a| (a.id.as_str(), a.access_mode))
            .collect();
        assert_eq!(
            modes,
            [
                ("111111111111", Some(AccessMode::Console)),
                ("222222222222", Some(AccessMode::Automatic)),
                ("000000000000", Some(AccessMode::Console)),
            ]
        );
        let accounts: Vec<AccessMode> = s
            .changes()
            .into_iter()
            .filter_map(|c| match c {
                Change::Put(Entity::Account(a)) => Some(a.access_mode),
                _ => None,
            })
            .collect();
        assert_eq!(
            accounts,
            [
                AccessMode::Console,
                AccessMode::Automatic,
                AccessMode::Console
            ]
        );
        assert_eq!(
            s.set_default_access_mode("manual").unwrap_err().to_string(),
            "scenario: access mode \"manual\" is not one of: automatic, console"
        );
    }

    #[test]
    fn other_toml_errors_keep_toml_message_and_pointer() {
        assert_eq!(
            refused("[[fault]]\nmodel = \"m\"\nkind = 5\n"),
            "scenario: invalid type: integer `5`, expected a string\n\
             TOML parse error at line 3, column 8\n  |\n3 | kind = 5\n  |        ^"
        );
    }

    /// The names a scenario accepts are the gates' own spellings: the ones FaultKind::parse
    /// reads and the state enums store.
    #[test]
    fn choice_names_are_the_gates_spellings() {
        for k in FaultKind::ALL {
            assert_eq!(FaultKind::parse(Choice::name(k)), Some(k));
        }
        fn stored<T: Choice + serde::Serialize>() {
            for v in T::ALL {
                assert_eq!(serde_json::to_value(v).unwrap(), Choice::name(*v));
            }
        }
        stored::<GrantStatus>();
        stored::<AgreementStatus>();
        stored::<AccessMode>();
        assert_eq!(AccessMode::names(), ACCESS_MODES.join(", "));
    }
}
