//! Policy validation errors.

use crate::policy::PolicyKind;
use serde::Serialize;

/// Why a policy document was rejected.
///
/// `Display` of a [`PolicyError`] is the text AWS puts in the `MalformedPolicyDocument`
/// error for that reason (see [`PolicyErrorReason::message`]), except for SCPs and RCPs,
/// where AWS Organizations answers every malformed document with the same
/// [`ORGANIZATIONS_MESSAGE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PolicyErrorReason {
    /// Not JSON, not an object, a value of the wrong JSON type, an unknown or duplicated
    /// element, an unsupported `Version`, an `Effect` other than `Allow`/`Deny`, both
    /// `Action` and `NotAction` (or `Resource`/`NotResource`, `Principal`/`NotPrincipal`),
    /// or an unknown condition operator.
    Syntax,
    /// A statement without `Action`/`NotAction` (or with an empty list).
    MissingActions,
    /// A statement without `Resource`/`NotResource` where one is required (every kind but
    /// resource-based policies), or with an empty list.
    MissingResources,
    /// A resource entry that is neither `*` nor an ARN; carries the entry.
    ResourceNotArn(String),
    /// `Principal`/`NotPrincipal` in a policy kind that does not take one.
    PrincipalNotAllowed,
    /// A resource-based policy (or RCP) statement without `Principal`/`NotPrincipal`.
    MissingPrincipal,
    /// A principal that is not `*` or a `{"AWS"|"Service"|"Federated"|"CanonicalUser": …}`
    /// map of account IDs / ARNs / names, or that uses a partial wildcard.
    InvalidPrincipal,
    /// An action or condition key without a `vendor:` prefix.
    MissingVendor,
    /// An action with more than one colon.
    MultipleColons,
    /// Two statements with the same `Sid` (IAM policies).
    DuplicateSid,
    /// A `Sid` with characters other than `[0-9A-Za-z]` (IAM policies).
    InvalidSid,
}

/// The message AWS Organizations returns for any malformed SCP or RCP.
pub const ORGANIZATIONS_MESSAGE: &str =
    "The provided policy document does not meet the requirements of the specified policy type.";

impl PolicyErrorReason {
    /// The AWS reason text.
    pub fn message(&self) -> String {
        match self {
            PolicyErrorReason::Syntax => "Syntax errors in policy.".into(),
            PolicyErrorReason::MissingActions => "Policy statement must contain actions.".into(),
            PolicyErrorReason::MissingResources => {
                "Policy statement must contain resources.".into()
            }
            PolicyErrorReason::ResourceNotArn(r) => {
                format!("Resource {r} must be in ARN format or \"*\".")
            }
            PolicyErrorReason::PrincipalNotAllowed => {
                "Policy document should not specify a principal.".into()
            }
            PolicyErrorReason::MissingPrincipal => "Missing required field Principal".into(),
            PolicyErrorReason::InvalidPrincipal => "Invalid principal in policy".into(),
            PolicyErrorReason::MissingVendor => {
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".into()
            }
            PolicyErrorReason::MultipleColons => {
                "Actions/Condition can contain only one colon.".into()
            }
            PolicyErrorReason::DuplicateSid => {
                "Statement IDs (SID) in a single policy must be unique.".into()
            }
            PolicyErrorReason::InvalidSid => "Statement IDs (SID) must be alpha-numeric. Check \
                 that your input satisfies the regular expression [0-9A-Za-z]*"
                .into(),
        }
    }
}

/// A rejected policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.message())]
pub struct PolicyError {
    kind: PolicyKind,
    reason: PolicyErrorReason,
    detail: String,
}

impl PolicyError {
    pub(crate) fn new(
        kind: PolicyKind,
        reason: PolicyErrorReason,
        detail: impl Into<String>,
    ) -> Self {
        PolicyError {
            kind,
            reason,
            detail: detail.into(),
        }
    }

    /// The kind of policy that was being parsed (decides which element rules applied).
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The reason.
    pub fn reason(&self) -> &PolicyErrorReason {
        &self.reason
    }

    /// A precise, non-AWS diagnostic (which statement/element); for logs, not for clients.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The text AWS returns (same as `Display`).
    pub fn message(&self) -> String {
        match self.kind {
            PolicyKind::Scp | PolicyKind::Rcp => ORGANIZATIONS_MESSAGE.to_string(),
            _ => self.reason.message(),
        }
    }
}
