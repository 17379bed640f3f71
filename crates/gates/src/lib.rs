//! The decision core of bedrock-gates: [`decide()`] (one typed [`Call`] against one immutable
//! [`Snapshot`], through the gates of [`decide::GATES`], each a module under [`checks`] that
//! builds its own refusals), the state model (accounts, principals, access keys), the [`Store`]
//! trait that persists it, and the [`Deny`] a closed gate produces.
//!
//! Pure: this crate reads an immutable [`State`] snapshot and the catalog and never does I/O. It must
//! never depend on an I/O crate (no tokio, no axum, no rusqlite): the server, `policy check` and the
//! differential test all call the same [`decide()`].

pub mod access;
pub mod api_key;
pub mod authz;
pub mod checks;
pub mod credentials;
pub mod decide;
mod error_code;
pub mod interned;
pub mod invoke;
pub mod managed;
pub mod maps;
pub mod quota;
pub mod region;
pub mod state;

pub use authz::{Caller, CallerKind};
pub use decide::{decide, decide_explained, Call, Decision, Plan, Refusal, Snapshot};
pub use error_code::ErrorCode;
pub use state::{
    AccessKey, Account, Change, Entity, Group, LoginProfile, ManagedPolicy, Organization,
    Principal, PrincipalKind, ServiceCredential, Session, State,
};

use serde::Serialize;

/// The gates a Bedrock call must pass, in the doctor's vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gate {
    Credentials,
    Region,
    Iam,
    ModelAccess,
    ProviderTerms,
    Quota,
}

impl Gate {
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Credentials => "credentials",
            Gate::Region => "region",
            Gate::Iam => "iam",
            Gate::ModelAccess => "model-access",
            Gate::ProviderTerms => "provider-terms",
            Gate::Quota => "quota",
        }
    }
}

/// A refusal: what AWS answers (`error`, `status`, `message`) and what we know beyond AWS (`gate`,
/// `reason`, `fix`), which goes to the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deny {
    pub gate: Gate,
    /// AWS error code, e.g. `UnrecognizedClientException`.
    pub error: ErrorCode,
    pub status: u16,
    pub message: String,
    /// Why, in our words (never sent to the client in place of AWS's message).
    pub reason: String,
    pub fix: String,
}

/// Persistence of the state. Writes are durable when `apply` returns: the caller publishes a new
/// snapshot only after that, so an acknowledged write survives `kill -9`.
pub trait Store: Send + Sync {
    /// Every persisted entity, to build the first snapshot.
    fn load(&self) -> Result<Vec<Entity>, StoreError>;
    /// Every persisted entity handed to `each` as it is read: what a start uses
    /// ([`State::load`]), so that no list of every entity is built and moved first (at
    /// 10,000 principals that list's growth was an eighth of a restart's CPU, most of it
    /// page faults on memory used once).
    fn load_each(&self, each: &mut dyn FnMut(Entity)) -> Result<(), StoreError> {
        self.load()?.into_iter().for_each(each);
        Ok(())
    }
    /// Apply the changes atomically (all or nothing).
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;
    /// Called once nothing will be written any more (serve has stopped): a store with a log
    /// beside its file (SQLite's WAL) folds it in, so that the next start reads no log.
    fn fold_log(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Backend(String),
    #[error("store: corrupt entity {kind}/{id}: {detail}")]
    Corrupt {
        kind: String,
        id: String,
        detail: String,
    },
}
