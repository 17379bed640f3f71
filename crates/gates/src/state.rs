//! The state model: what an account, a principal and an access key are, and the immutable
//! snapshot ([`State`]) the hot path reads.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The account the emulator creates on first start; its root key is `test`/`test`, the
/// local-emulator convention (LocalStack and moto use the same).
pub const DEFAULT_ACCOUNT: &str = "000000000000";
pub const DEFAULT_ACCESS_KEY: &str = "test";
pub const DEFAULT_SECRET_KEY: &str = "test";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub alias: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PrincipalKind {
    /// The account's root user: `arn:aws:iam::ACCOUNT:root`.
    Root,
    User {
        name: String,
        #[serde(default = "default_path")]
        path: String,
    },
}

fn default_path() -> String {
    "/".to_string()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub arn: String,
    pub account: String,
    /// AWS's unique ID (`AIDA…` for users; the account ID for root), what GetCallerIdentity calls UserId.
    pub unique_id: String,
    pub kind: PrincipalKind,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl Principal {
    pub fn root(account: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_string(),
            unique_id: account.to_string(),
            kind: PrincipalKind::Root,
            tags: BTreeMap::new(),
        }
    }

    pub fn user(account: &str, name: &str, path: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:user{path}{name}"),
            account: account.to_string(),
            unique_id: user_unique_id(account, name),
            kind: PrincipalKind::User {
                name: name.to_string(),
                path: path.to_string(),
            },
            tags: BTreeMap::new(),
        }
    }
}

/// A stable `AIDA…` ID (21 chars, as AWS's) derived from account and name, so a scenario applied
/// twice gives the same ID.
pub fn user_unique_id(account: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a over account/name; good enough for a stable, readable identifier (not a secret).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in account.bytes().chain([b'/']).chain(name.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut id = String::from("AIDA");
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
    pub account: String,
    /// Session credentials carry a token that must arrive as `X-Amz-Security-Token`.
    #[serde(default)]
    pub session_token: Option<String>,
    /// Unix seconds after which the key is refused (session credentials).
    #[serde(default)]
    pub expires_unix: Option<i64>,
    #[serde(default = "yes")]
    pub active: bool,
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
}

impl Entity {
    pub fn kind(&self) -> &'static str {
        match self {
            Entity::Account(_) => "account",
            Entity::Principal(_) => "principal",
            Entity::AccessKey(_) => "access-key",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Entity::Account(a) => &a.id,
            Entity::Principal(p) => &p.arn,
            Entity::AccessKey(k) => &k.access_key_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Put(Entity),
    Delete { kind: &'static str, id: String },
}

/// The immutable snapshot the hot path reads. Built from the store at start, then replaced as a
/// whole after every durable write.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub accounts: BTreeMap<String, Account>,
    pub principals: HashMap<String, Principal>,
    pub keys: HashMap<String, AccessKey>,
}

impl State {
    pub fn from_entities(entities: impl IntoIterator<Item = Entity>) -> State {
        let mut s = State::default();
        for e in entities {
            s.put(e);
        }
        s
    }

    fn put(&mut self, e: Entity) {
        match e {
            Entity::Account(a) => {
                self.accounts.insert(a.id.clone(), a);
            }
            Entity::Principal(p) => {
                self.principals.insert(p.arn.clone(), p);
            }
            Entity::AccessKey(k) => {
                self.keys.insert(k.access_key_id.clone(), k);
            }
        }
    }

    /// The snapshot after `changes`; `self` is untouched (readers keep the old one).
    pub fn with_changes(&self, changes: &[Change]) -> State {
        let mut s = self.clone();
        for c in changes {
            match c {
                Change::Put(e) => s.put(e.clone()),
                Change::Delete { kind, id } => match *kind {
                    "account" => {
                        s.accounts.remove(id);
                    }
                    "principal" => {
                        s.principals.remove(id);
                    }
                    "access-key" => {
                        s.keys.remove(id);
                    }
                    _ => {}
                },
            }
        }
        s
    }

    /// The changes that create the default account and its root key, if they are missing.
    pub fn bootstrap_changes(&self) -> Vec<Change> {
        let mut out = Vec::new();
        if !self.accounts.contains_key(DEFAULT_ACCOUNT) {
            out.push(Change::Put(Entity::Account(Account {
                id: DEFAULT_ACCOUNT.to_string(),
                alias: None,
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
                account: DEFAULT_ACCOUNT.to_string(),
                session_token: None,
                expires_unix: None,
                active: true,
            })));
        }
        out
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
        assert_eq!(ch.len(), 3);
        let s2 = s.with_changes(&ch);
        assert!(s2.bootstrap_changes().is_empty());
        assert_eq!(
            s2.keys["test"].principal_arn,
            "arn:aws:iam::000000000000:root"
        );
        assert!(s.keys.is_empty(), "the old snapshot is untouched");
    }

    #[test]
    fn entity_json_round_trip() {
        let e = Entity::Principal(Principal::user("111111111111", "dev", "/"));
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Entity>(&j).unwrap(), e);
        assert_eq!(e.id(), "arn:aws:iam::111111111111:user/dev");
    }
}
