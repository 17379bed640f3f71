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
//! ```

use bg_gates::{AccessKey, Account, Change, Entity, Principal};
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDecl {
    pub id: String,
    #[serde(default)]
    pub alias: Option<String>,
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

impl Scenario {
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

    /// The upserts that make the store match the scenario; applying them twice changes nothing.
    pub fn changes(&self) -> Vec<Change> {
        let mut out = Vec::new();
        for a in &self.account {
            out.push(Change::Put(Entity::Account(Account {
                id: a.id.clone(),
                alias: a.alias.clone(),
            })));
            out.push(Change::Put(Entity::Principal(Principal::root(&a.id))));
        }
        for u in &self.user {
            let mut p = Principal::user(&u.account, &u.name, &u.path);
            p.tags = u.tags.clone();
            out.push(Change::Put(Entity::Principal(p)));
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
}
