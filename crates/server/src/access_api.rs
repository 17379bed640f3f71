//! The bedrock control plane for model access (gates 1 and 4), inference profiles and
//! invocation logging.
//!
//! Every operation is authorized through the IAM engine with its own action (the Service
//! Authorization Reference's resource types: none for the access, use-case, list and logging
//! actions; the profile ARN for Get/DeleteInferenceProfile; the new application-profile ARN and
//! the source ARN for CreateInferenceProfile). Request shapes are checked first, with Coral's
//! constraint messages, as AWS validates before it authorizes.
//!
//! Choices where AWS is silent (each also noted where it is made):
//! - GetFoundationModelAvailability answers for any model the catalog knows, with
//!   `regionAvailability` for the signed Region; an ID known nowhere is a ValidationException
//!   "The provided model identifier is invalid." (as GetFoundationModel).
//! - Offers, agreements and their deletion need the model listed in the signed Region (else the
//!   same ValidationException). A model that needs no agreement (not sold through Marketplace)
//!   has no offer, so its offer list is empty — except in console access mode, where the
//!   agreement is also the access request and every model has one. `offerType` ALL and PUBLIC
//!   list the same single public offer. Offer tokens are per (model, Region), the same for every
//!   account.
//! - CreateFoundationModelAgreement in automatic mode for a Marketplace model starts the
//!   subscription (active at once, or after the account's `subscription_delay_secs`) and so needs
//!   the caller to hold aws-marketplace:Subscribe and ViewSubscriptions, refused otherwise with
//!   the runtime's Marketplace message; the first invocation then needs no Marketplace
//!   permission. In console mode it also requests access: granted after `grant_delay_secs`.
//!   Accepting again is idempotent (202).
//! - DeleteFoundationModelAgreement with no agreement on file is a 404 ResourceNotFoundException.
//!   In automatic mode it also ends the Marketplace subscription, so the next invocation
//!   subscribes and accepts the EULA again ("invoking the model will create the access again");
//!   in console mode it withdraws the access grant.
//! - GetUseCaseForModelAccess returns the account's own form (not its management account's) or a
//!   404 "Model use case details have not been submitted for this account."
//! - Inference profiles: unknown → 404 "The inference profile ID does not exist."; a
//!   system-defined profile cannot be deleted (ValidationException). Application profile IDs are
//!   derived from (account, Region, name). `createdAt`/`updatedAt` of system profiles appear only
//!   where the catalog has a real date. ListInferenceProfiles without maxResults returns up to
//!   1000; system profiles come first (catalog order), then the account's application profiles.
//!   The nextToken is opaque and bound to the account, Region and `type` filter it came from
//!   (anything else: ValidationException "The provided nextToken is invalid.").
//! - CreateInferenceProfile copies from a foundation-model ARN of the signed Region (a model the
//!   Region lists) or from a system profile ARN of this Region and account; anything else is the
//!   ValidationException "The provided model identifier is invalid.". The same
//!   clientRequestToken returns the same profile (201); the token reused with another name, or a
//!   name already taken, is a 400 ConflictException.
//! - Logging configuration: stored per (account, Region) as validated (unknown members dropped);
//!   the log group, role and buckets are not checked for existence. Delete is idempotent.

mod logging;
mod model_access;
mod profiles;
mod wire;

pub use model_access::{offer_token, NO_USE_CASE};
pub use profiles::not_found as profile_not_found;

use crate::auth::Caller;
use crate::runtime::{Op, Refusal};
use crate::{App, Incoming};
use axum::body::Body;
use axum::http::Response;

pub fn handle(
    app: &App,
    caller: &Caller,
    op: Op,
    label: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    match op {
        Op::GetFoundationModelAvailability => {
            model_access::get_availability(app, caller, label, inc)
        }
        Op::ListFoundationModelAgreementOffers => {
            model_access::list_offers(app, caller, label, inc)
        }
        Op::CreateFoundationModelAgreement => model_access::create_agreement(app, caller, inc),
        Op::DeleteFoundationModelAgreement => model_access::delete_agreement(app, caller, inc),
        Op::PutUseCaseForModelAccess => model_access::put_use_case(app, caller, inc),
        Op::GetUseCaseForModelAccess => model_access::get_use_case(app, caller, inc),
        Op::ListInferenceProfiles => profiles::list(app, caller, inc),
        Op::GetInferenceProfile => profiles::get(app, caller, label, inc),
        Op::CreateInferenceProfile => profiles::create(app, caller, inc),
        Op::DeleteInferenceProfile => profiles::delete(app, caller, label, inc),
        Op::GetModelInvocationLoggingConfiguration => logging::get(app, caller, inc),
        Op::PutModelInvocationLoggingConfiguration => logging::put(app, caller, inc),
        Op::DeleteModelInvocationLoggingConfiguration => logging::delete(app, caller, inc),
        other => Err(crate::error::ApiError::validation(format!(
            "bedrock-gates does not serve {} here.",
            other.name()
        ))
        .into()),
    }
}
