//! `bg-iam`: the AWS IAM policy language — parse, validate and evaluate policies the way
//! AWS does, and explain the decision.
//!
//! The crate is **pure**: no I/O, no clock, no globals. Everything the evaluation needs
//! (policies, principal, context keys such as `aws:CurrentTime`) is passed in.
//!
//! # Parsing
//!
//! [`Policy::parse`] validates a JSON document for a [`PolicyKind`] and compiles it
//! (wildcard patterns, ARN segments, condition values, policy variables) so that evaluation
//! never re-parses. Rejections are [`PolicyError`]s whose `Display` is the AWS
//! `MalformedPolicyDocument` reason:
//!
//! | reason | text |
//! |---|---|
//! | [`PolicyErrorReason::Syntax`] | `Syntax errors in policy.` |
//! | [`PolicyErrorReason::MissingActions`] | `Policy statement must contain actions.` |
//! | [`PolicyErrorReason::MissingResources`] | `Policy statement must contain resources.` |
//! | [`PolicyErrorReason::ResourceNotArn`] | `Resource {r} must be in ARN format or "*".` |
//! | [`PolicyErrorReason::PrincipalNotAllowed`] | `Policy document should not specify a principal.` |
//! | [`PolicyErrorReason::MissingPrincipal`] | `Missing required field Principal` |
//! | [`PolicyErrorReason::InvalidPrincipal`] | `Invalid principal in policy` |
//! | [`PolicyErrorReason::MissingVendor`] | `Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.` |
//! | [`PolicyErrorReason::MultipleColons`] | `Actions/Condition can contain only one colon.` |
//! | [`PolicyErrorReason::DuplicateSid`] | `Statement IDs (SID) in a single policy must be unique.` |
//! | [`PolicyErrorReason::InvalidSid`] | `Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*` |
//!
//! For SCPs and RCPs every reason displays as AWS Organizations' single message,
//! [`ORGANIZATIONS_MESSAGE`]. [`PolicyError::detail`] says precisely what was wrong.
//!
//! Choices where AWS is silent or inconsistent: condition operator names are matched
//! case-insensitively; `Id` is accepted in every kind; empty `Statement` lists are
//! accepted; action names are not checked against a service catalogue (so `"s3:"` or
//! `"s3:Get,Put"` parse, and match nothing but themselves).
//!
//! # Matching
//!
//! * Actions: case-insensitive, `*`/`?` wildcards.
//! * Resources: case-sensitive, split into six `:`-separated ARN segments (the last keeps
//!   its colons) matched one by one; a segment ending in `*` may run past colons; `*` alone
//!   matches anything. `NotAction`/`NotResource` apply when nothing in the list matches.
//! * Principals (resource-based policies): `*` or `{"AWS":"*"}` match everyone; an account
//!   ID or `arn:aws:iam::ACCOUNT:root` matches every principal of the account; a role ARN
//!   matches the role and its assumed-role sessions; other ARNs match exactly.
//!   `NotPrincipal` exempts a caller only when every identity in its chain (account, role,
//!   session or user) is listed, and a `Deny` with `NotPrincipal` always applies to a
//!   principal that has a permissions boundary (both documented by AWS).
//! * Policy variables (version `2012-10-17` only) in `Resource`/`NotResource` and in
//!   string/ARN condition values: `${key}`, `${key, 'default'}`, escapes `${*}`, `${?}`,
//!   `${$}`. A variable whose key is missing (or multivalued) and has no default makes that
//!   entry match nothing.
//! * Conditions: see the rules on the condition module, summarised: keys case-insensitive,
//!   values OR'ed, keys and operators AND'ed; a missing key makes positive operators false,
//!   negated ones true, `…IfExists` true, `ForAllValues:` true and `ForAnyValue:` false.
//!
//! # Evaluating
//!
//! [`evaluate`] implements the decision documented at
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>
//! (details on the function), returning an [`Evaluation`] that says which statement denied,
//! which layers blocked and which statements allowed. [`denial_message`] renders AWS's
//! `AccessDenied` text from it.
//!
//! Some requests no policy can allow ([`ReadOnly`]): AWS managed policies
//! (`arn:PARTITION:iam::aws:policy/…`) cannot be created, versioned, deleted or tagged by
//! anyone, the account root user included. Those evaluate to `ImplicitlyDenied` with
//! [`Evaluation::read_only`] set, so the server, the IAM policy simulator and
//! `bedrock-gates policy simulate` all refuse them.
//!
//! Evaluation cost does not grow with statements that cannot match: at parse time each
//! policy files its statements under the services their `Action` patterns are limited to
//! (`s3:Get*` under `s3`; `NotAction`, `*` and patterns with a wildcard before the colon
//! under "any service"), and evaluation visits, in document order, only the statements
//! filed under the request's service or under any service. Skipped statements could not
//! have matched, so decisions and explanations are those of a full scan.
//!
//! [`simulate::simulate_json`] wraps parsing and evaluation behind a JSON-in, JSON-out
//! format (the `bedrock-gates policy simulate` command).
//!
//! ```
//! use bg_iam::*;
//! let p = Policy::parse(
//!     r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!         "Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/*"}]}"#,
//!     PolicyKind::Identity,
//! ).unwrap();
//! let identity = [NamedPolicy::new("invoke", p)];
//! let req = Request::new(
//!     Principal::from_arn("arn:aws:iam::123456789012:user/alice"),
//!     "bedrock:InvokeModel",
//!     "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1",
//! );
//! let ev = evaluate(&req, &Policies { identity: &identity, ..Default::default() });
//! assert_eq!(ev.decision, Decision::Allowed);
//!
//! let req = Request::new(req.principal.clone(), "bedrock:ListFoundationModels", "*");
//! let ev = evaluate(&req, &Policies { identity: &identity, ..Default::default() });
//! assert_eq!(
//!     denial_message(&req.principal.arn, &req.action, None, &ev),
//!     "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: \
//!      bedrock:ListFoundationModels because no identity-based policy allows the \
//!      bedrock:ListFoundationModels action"
//! );
//! ```

mod arn;
mod condition;
mod env;
mod error;
mod eval;
mod glob;
mod index;
mod json;
mod policy;
mod request;
pub mod simulate;

pub use error::{PolicyError, PolicyErrorReason, ORGANIZATIONS_MESSAGE};
pub use eval::{
    denial_message, evaluate, evaluate_reporting, Decision, Evaluation, Layer, Policies, ReadOnly,
    StatementRef,
};
pub use policy::{Effect, NamedPolicy, Policy, PolicyKind, PolicyVersion, Statement};
pub use request::{Context, Principal, PrincipalKind, Request};

/// Wildcard matching as used for actions (`*` and `?`), exposed for tests and tools:
/// whether `text` matches `pattern`, case-sensitively.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    glob::Pattern::wildcard(pattern).matches(text)
}

/// ARN matching as used for `Resource` and the `Arn*` condition operators: whether the
/// resource `arn` matches `pattern`.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    arn::ArnPattern::parse(pattern).matches(&arn::ReqArn::new(arn))
}
