//! Gates 1 and 4: model access and provider terms, per account, Region and model, in both
//! access modes; and what GetFoundationModelAvailability reports about them.
//!
//! The order of checks on a runtime call (AWS does not document it; this one follows what the
//! errors reveal): lifecycle (Legacy inactivity lockout), then in console mode the Region grant
//! (with the EULA for third-party models), the Anthropic use-case form, then the Marketplace
//! subscription whose first call also accepts the EULA.
//!
//! [`check`] is pure: it returns the state changes a call causes (a subscription started, an
//! agreement accepted), and the server writes them before answering.

use crate::state::{
    AccessMode, AgreementStatus, Change, Entity, GrantStatus, ModelAccess, State, Subscription,
    SubscriptionStatus,
};
use crate::{Deny, ErrorCode, Gate};
use bg_catalog::{LifecycleStatus, Model};

pub const FTU_MESSAGE: &str = "Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model. If you have already filled out the form, try again in 15 minutes.";
/// The fix for a missing Anthropic use-case form (the runtime refusal and GetUseCaseForModelAccess).
pub const USE_CASE_FIX: &str =
    "submit it once: aws bedrock put-use-case-for-model-access --form-data fileb://use-case.json";
pub const MARKETPLACE_MESSAGE: &str = "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 5 minutes.";
pub const SUBSCRIBING_MESSAGE: &str = "Your account is not authorized to access this model. Your AWS Marketplace subscription for this model is still being processed";
pub const NO_ACCESS_MESSAGE: &str =
    "You don't have access to the model with the specified model ID.";
pub const LEGACY_MESSAGE: &str = "Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 15 days. Please upgrade to an active model on Amazon Bedrock";

/// AWS asks callers to retry a failed subscription "after 5 minutes".
pub const MARKETPLACE_RETRY_SECS: i64 = 300;
/// The Legacy lockout window.
pub const LEGACY_INACTIVE_SECS: i64 = 15 * 86_400;

/// What a call needs to know about the caller beyond the state.
pub struct CallerFacts<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// Whether IAM lets the caller perform aws-marketplace:Subscribe and ViewSubscriptions
    /// (evaluated by the caller of this function through the IAM engine).
    pub can_subscribe: &'a dyn Fn() -> bool,
    pub now: i64,
}

fn access_mode(state: &State, account: &str) -> AccessMode {
    state
        .accounts
        .get(account)
        .map(|a| a.access_mode)
        .unwrap_or_default()
}

/// The use-case form covers the account if it, or its organization's management account,
/// submitted it.
pub fn use_case_submitted(state: &State, account: &str) -> bool {
    if state.use_cases.contains_key(account) {
        return true;
    }
    state
        .organization_of(account)
        .is_some_and(|o| state.use_cases.contains_key(&o.management_account))
}

fn record<'s>(
    state: &'s State,
    account: &str,
    region: &str,
    model: &str,
) -> Option<&'s ModelAccess> {
    state
        .model_access
        .get(&ModelAccess::key(account, region, model))
}

fn grant_effective(r: Option<&ModelAccess>, now: i64) -> GrantStatus {
    match r {
        Some(r) if r.grant == GrantStatus::Pending && r.grant_at.is_some_and(|t| now >= t) => {
            GrantStatus::Granted
        }
        Some(r) => r.grant,
        None => GrantStatus::None,
    }
}

fn subscription_effective(
    state: &State,
    account: &str,
    model: &str,
    now: i64,
) -> SubscriptionStatus {
    match state.subscriptions.get(&Subscription::key(account, model)) {
        Some(s)
            if s.status == SubscriptionStatus::Subscribing
                && s.active_at.is_some_and(|t| now >= t) =>
        {
            SubscriptionStatus::Active
        }
        Some(s) => s.status,
        None => SubscriptionStatus::None,
    }
}

fn deny(
    gate: Gate,
    error: ErrorCode,
    status: u16,
    message: &str,
    reason: String,
    fix: String,
) -> Deny {
    Deny {
        gate,
        error,
        status,
        message: message.to_string(),
        reason,
        fix,
    }
}

/// Gates 1 and 4 for one runtime call: the changes the call causes (written even when it is
/// refused: a failed subscription attempt is remembered) and the verdict.
pub fn check(state: &State, model: &Model, f: &CallerFacts) -> (Vec<Change>, Result<(), Deny>) {
    let mut changes = Vec::new();
    let verdict = check_into(state, model, f, &mut changes);
    (changes, verdict)
}

fn check_into(
    state: &State,
    model: &Model,
    f: &CallerFacts,
    changes: &mut Vec<Change>,
) -> Result<(), Deny> {
    let (account, region, now) = (f.account, f.region, f.now);

    if model.lifecycle == LifecycleStatus::Legacy {
        let last = state
            .model_access
            .values()
            .filter(|r| r.account == account && r.model_id == model.id)
            .filter_map(|r| r.last_used)
            .max();
        // Only a recorded, stale last use locks an account out: a fresh account that never used
        // the model is not "inactive" in our model (AWS's rule for never-used models is not
        // documented).
        if last.is_some_and(|t| now - t > LEGACY_INACTIVE_SECS) {
            return Err(deny(
                Gate::ModelAccess,
                ErrorCode::ResourceNotFoundException,
                404,
                LEGACY_MESSAGE,
                format!(
                    "{} is Legacy and account {account} has not used it for 15 days",
                    model.id
                ),
                "move to an active model (`aws bedrock list-foundation-models`)".into(),
            ));
        }
    }

    let rec = record(state, account, region, &model.id);
    if access_mode(state, account) == AccessMode::Console {
        if grant_effective(rec, now) != GrantStatus::Granted {
            let pending = rec.is_some_and(|r| r.grant == GrantStatus::Pending);
            return Err(deny(
                Gate::ModelAccess,
                ErrorCode::AccessDeniedException,
                403,
                NO_ACCESS_MESSAGE,
                if pending {
                    format!("access to {} in {region} was requested and is still pending", model.id)
                } else {
                    format!("access to {} was never granted to account {account} in {region}", model.id)
                },
                format!(
                    "request access in {region}: aws bedrock create-foundation-model-agreement --model-id {} --offer-token <token from list-foundation-model-agreement-offers> --region {region}",
                    model.id
                ),
            ));
        }
        if model.marketplace && rec.map(|r| r.agreement) != Some(AgreementStatus::Accepted) {
            return Err(deny(
                Gate::ProviderTerms,
                ErrorCode::AccessDeniedException,
                403,
                NO_ACCESS_MESSAGE,
                format!("the {} EULA offer was never accepted in {region}", model.provider),
                format!(
                    "accept the offer: aws bedrock create-foundation-model-agreement --model-id {} --offer-token <token> --region {region}",
                    model.id
                ),
            ));
        }
    }

    if model.use_case_form && !use_case_submitted(state, account) {
        return Err(deny(
            Gate::ModelAccess,
            ErrorCode::ResourceNotFoundException,
            404,
            FTU_MESSAGE,
            format!("account {account} has not submitted the Anthropic use-case form"),
            USE_CASE_FIX.into(),
        ));
    }

    if model.marketplace && access_mode(state, account) == AccessMode::Automatic {
        let key = Subscription::key(account, &model.id);
        let sub = state.subscriptions.get(&key);
        match subscription_effective(state, account, &model.id, now) {
            SubscriptionStatus::Active => {}
            SubscriptionStatus::Subscribing => {
                return Err(deny(
                    Gate::ModelAccess,
                    ErrorCode::AccessDeniedException,
                    403,
                    SUBSCRIBING_MESSAGE,
                    format!(
                        "the AWS Marketplace subscription to {} is still being created",
                        model.id
                    ),
                    "wait for the subscription to complete (up to a few minutes) and retry".into(),
                ));
            }
            SubscriptionStatus::None => {
                let recently_failed = sub
                    .and_then(|s| s.failed_at)
                    .is_some_and(|t| now - t < MARKETPLACE_RETRY_SECS);
                let can_subscribe = (f.can_subscribe)();
                if !can_subscribe || recently_failed {
                    // Remember a new failed attempt (it starts AWS's five-minute wait); a refusal
                    // inside the wait changes nothing, so it writes nothing.
                    if !recently_failed {
                        changes.push(Change::Put(Entity::Subscription(Subscription {
                            account: account.to_string(),
                            model_id: model.id.clone(),
                            status: SubscriptionStatus::None,
                            active_at: None,
                            failed_at: Some(now),
                        })));
                    }
                    return Err(Deny {
                        gate: Gate::ModelAccess,
                        error: ErrorCode::AccessDeniedException,
                        status: 403,
                        message: MARKETPLACE_MESSAGE.to_string(),
                        reason: if can_subscribe {
                            "a subscription attempt failed less than 5 minutes ago; AWS makes you wait".into()
                        } else {
                            format!(
                                "the first call to {} must start an AWS Marketplace subscription, and the caller may not aws-marketplace:Subscribe / ViewSubscriptions",
                                model.id
                            )
                        },
                        fix: "allow aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions for the first caller, then retry after 5 minutes".into(),
                    });
                }
                let delay = state
                    .accounts
                    .get(account)
                    .map(|a| a.subscription_delay_secs)
                    .unwrap_or(0);
                let active = delay <= 0;
                changes.push(Change::Put(Entity::Subscription(Subscription {
                    account: account.to_string(),
                    model_id: model.id.clone(),
                    status: if active {
                        SubscriptionStatus::Active
                    } else {
                        SubscriptionStatus::Subscribing
                    },
                    active_at: Some(now + delay.max(0)),
                    failed_at: None,
                })));
                // First use of a third-party model is acceptance of its EULA (AWS, 2025).
                let mut r = rec.cloned().unwrap_or_else(|| ModelAccess {
                    account: account.to_string(),
                    region: region.to_string(),
                    model_id: model.id.clone(),
                    ..ModelAccess::default()
                });
                r.agreement = AgreementStatus::Accepted;
                r.updated_unix = now;
                changes.push(Change::Put(Entity::ModelAccess(r)));
                if !active {
                    return Err(deny(
                        Gate::ModelAccess,
                        ErrorCode::AccessDeniedException,
                        403,
                        SUBSCRIBING_MESSAGE,
                        format!("the first call started the AWS Marketplace subscription to {}; it completes in {delay} s", model.id),
                        "wait for the subscription to complete and retry".into(),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// CreateFoundationModelAgreement in automatic mode starts the Marketplace subscription of a
/// Marketplace model, and so needs the caller's Marketplace permissions, as a first call does.
pub fn offer_needs_marketplace(model_id: &str) -> Deny {
    Deny {
        gate: Gate::ModelAccess,
        error: ErrorCode::AccessDeniedException,
        status: 403,
        message: MARKETPLACE_MESSAGE.to_string(),
        reason: format!(
            "accepting the {model_id} offer starts an AWS Marketplace subscription, and the caller may not aws-marketplace:Subscribe / ViewSubscriptions"
        ),
        fix: "allow aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions (aws:CalledViaLast = bedrock.amazonaws.com) for this caller, then retry".into(),
    }
}

/// AWS's 404 for GetUseCaseForModelAccess when the account has no form on file.
pub const NO_USE_CASE_MESSAGE: &str =
    "Model use case details have not been submitted for this account.";

/// GetUseCaseForModelAccess with no form on file (its own account's: a management account's form
/// covers members for invocation, but is not theirs to read).
pub fn no_use_case_on_file() -> Deny {
    Deny {
        gate: Gate::ModelAccess,
        error: ErrorCode::ResourceNotFoundException,
        status: 404,
        message: NO_USE_CASE_MESSAGE.to_string(),
        reason: "this account has not submitted the Anthropic use-case form (Anthropic models refuse their first call until it has)".into(),
        fix: USE_CASE_FIX.into(),
    }
}

/// GetFoundationModelAvailability's four fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    pub agreement: &'static str,
    pub agreement_error: Option<String>,
    pub authorization: &'static str,
    pub entitlement: &'static str,
    pub region: &'static str,
}

pub fn availability(
    state: &State,
    model: &Model,
    account: &str,
    region: &str,
    authorized: bool,
    now: i64,
) -> Availability {
    let rec = record(state, account, region, &model.id);
    let listed = model.is_listed_in(region);
    let console = access_mode(state, account) == AccessMode::Console;
    let agreement = if !model.marketplace {
        "AVAILABLE"
    } else {
        match rec.map(|r| r.agreement).unwrap_or_default() {
            AgreementStatus::Accepted => "AVAILABLE",
            AgreementStatus::Pending => "PENDING",
            AgreementStatus::Error => "ERROR",
            AgreementStatus::None => "NOT_AVAILABLE",
        }
    };
    let entitled = if console {
        grant_effective(rec, now) == GrantStatus::Granted
    } else {
        !model.marketplace
            || subscription_effective(state, account, &model.id, now) == SubscriptionStatus::Active
    };
    Availability {
        agreement,
        agreement_error: rec.and_then(|r| r.agreement_error.clone()),
        authorization: if authorized {
            "AUTHORIZED"
        } else {
            "NOT_AUTHORIZED"
        },
        entitlement: if entitled {
            "AVAILABLE"
        } else {
            "NOT_AVAILABLE"
        },
        region: if listed { "AVAILABLE" } else { "NOT_AVAILABLE" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Account, UseCase};

    fn state_with(account: Account, form: bool) -> State {
        let mut ch = vec![Change::Put(Entity::Account(account.clone()))];
        if form {
            ch.push(Change::Put(Entity::UseCase(UseCase {
                account: account.id.clone(),
                form_data: "e30=".into(),
                submitted_unix: 0,
            })));
        }
        State::default().with_changes(&ch)
    }

    fn facts<'a>(can: &'a dyn Fn() -> bool, now: i64) -> CallerFacts<'a> {
        CallerFacts {
            account: "111111111111",
            region: "us-east-1",
            can_subscribe: can,
            now,
        }
    }

    fn model(id: &str) -> &'static Model {
        bg_catalog::catalog().model(id).unwrap()
    }

    #[test]
    fn anthropic_needs_the_form() {
        let s = state_with(
            Account {
                id: "111111111111".into(),
                ..Account::default()
            },
            false,
        );
        let (_, v) = check(
            &s,
            model("anthropic.claude-3-haiku-20240307-v1:0"),
            &facts(&|| true, 0),
        );
        let d = v.unwrap_err();
        assert_eq!(
            (d.error.as_str(), d.status, d.message.as_str()),
            ("ResourceNotFoundException", 404, FTU_MESSAGE)
        );
    }

    #[test]
    fn marketplace_failure_starts_a_five_minute_wait() {
        let s = state_with(
            Account {
                id: "111111111111".into(),
                ..Account::default()
            },
            true,
        );
        let m = model("cohere.command-r-v1:0");
        let (changes, v) = check(&s, m, &facts(&|| false, 1000));
        assert_eq!(v.unwrap_err().message, MARKETPLACE_MESSAGE);
        assert_eq!(changes.len(), 1, "the failed attempt is remembered");
        let s = s.with_changes(&changes);
        // Fixed at once, but inside the wait: refused, and nothing written.
        let (changes, v) = check(&s, m, &facts(&|| true, 1000 + 299));
        assert!(v.is_err() && changes.is_empty());
        // After the wait the first call subscribes and accepts the EULA.
        let (changes, v) = check(&s, m, &facts(&|| true, 1000 + 300));
        assert!(v.is_ok());
        assert_eq!(changes.len(), 2);
        let s = s.with_changes(&changes);
        let a = availability(&s, m, "111111111111", "us-east-1", true, 1300);
        assert_eq!((a.agreement, a.entitlement), ("AVAILABLE", "AVAILABLE"));
    }

    #[test]
    fn console_grant_turns_on_at_its_time() {
        let acct = Account {
            id: "111111111111".into(),
            access_mode: AccessMode::Console,
            ..Account::default()
        };
        let mut s = state_with(acct, true);
        let m = model("amazon.nova-lite-v1:0");
        assert_eq!(
            check(&s, m, &facts(&|| true, 0)).1.unwrap_err().message,
            NO_ACCESS_MESSAGE
        );
        s = s.with_changes(&[Change::Put(Entity::ModelAccess(ModelAccess {
            account: "111111111111".into(),
            region: "us-east-1".into(),
            model_id: m.id.clone(),
            grant: GrantStatus::Pending,
            grant_at: Some(600),
            ..ModelAccess::default()
        }))]);
        assert!(check(&s, m, &facts(&|| true, 599)).1.is_err());
        assert!(check(&s, m, &facts(&|| true, 600)).1.is_ok());
    }
}
