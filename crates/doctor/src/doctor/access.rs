//! The model-access, provider-terms and quota gates.

use super::*;

/// AWS's published default tokens-per-minute quota for the call's kind (in-Region or through a
/// profile) in `region`, from the catalog, as evidence for the quota gate: the account's own
/// value may be lower and is only readable through Service Quotas.
pub(super) fn published_quota(
    catalog: &bg_catalog::Catalog,
    m: &bg_catalog::Model,
    through_profile: bool,
    region: &str,
) -> String {
    let kind = bg_catalog::QuotaKind::of_call(through_profile);
    match catalog.default_quota(&m.id, kind).and_then(|q| q.tpm.as_ref()) {
        Some(t) => format!(
            " AWS's published default for this call: \"{}\" = {} in {region} (your account's value may be lower: aws service-quotas list-service-quotas --service-code bedrock --region {region}). Requests per minute are not limited (AWS, May 2026).",
            t.name,
            t.in_region(region)
        ),
        None => format!(
            " AWS publishes no default {kind} tokens-per-minute quota for {} in the table this tool carries; see aws service-quotas list-service-quotas --service-code bedrock --region {region}.",
            m.id
        ),
    }
}

/// What the availability probe leaves for the later gates.
#[derive(Default)]
pub(super) struct Access {
    /// A Marketplace model not entitled yet: the first call must subscribe.
    pub(super) entitlement_missing: bool,
    /// The authorization status, as IAM evidence.
    pub(super) iam_note: Option<String>,
}

/// The model-access and provider-terms gates from `GetFoundationModelAvailability`.
pub(super) fn access_gates(
    gates: &mut [GateReport],
    w: &Wanted<'_>,
    region: &str,
    avail: Result<Availability, CallError>,
) -> Access {
    match avail {
        Ok(a) => availability(gates, w, region, &a),
        Err(e) => {
            let t = format!(
                "GetFoundationModelAvailability did not answer: {}.",
                e.text()
            );
            gate_mut(gates, Gate::ModelAccess).set(Status::Unknown, t.clone(), None);
            gate_mut(gates, Gate::ProviderTerms).set(Status::Unknown, t, None);
            Access::default()
        }
    }
}

pub(super) fn availability(
    gates: &mut [GateReport],
    w: &Wanted<'_>,
    region: &str,
    a: &Availability,
) -> Access {
    let model_id = w.model_id();
    let marketplace = w.model.is_some_and(|m| m.marketplace);
    let ag = a
        .agreement_availability
        .as_ref()
        .map(|x| x.status.clone())
        .unwrap_or_default();
    let ag_err = a
        .agreement_availability
        .as_ref()
        .and_then(|x| x.error_message.clone());
    let ent = a.entitlement_availability.clone();
    let auth = a.authorization_status.clone();
    let reg = a.region_availability.clone();
    let summary = format!("GetFoundationModelAvailability: entitlement {ent}, agreement {ag}, authorization {auth}, region {reg}.");
    if reg == "NOT_AVAILABLE" {
        gate_mut(gates, Gate::Region).note(format!(
            "GetFoundationModelAvailability: regionAvailability NOT_AVAILABLE in {region}."
        ));
    }
    let ma = gate_mut(gates, Gate::ModelAccess);
    let entitlement_missing = entitlement(ma, &summary, &ent, marketplace, &model_id, region);
    let pt = gate_mut(gates, Gate::ProviderTerms);
    let terms = Terms {
        ag: &ag,
        ag_err,
        ent: &ent,
        marketplace,
    };
    provider_terms(pt, &terms, &model_id, region);
    Access {
        entitlement_missing,
        iam_note: Some(format!(
            "GetFoundationModelAvailability: authorizationStatus {auth}."
        )),
    }
}

/// The model-access gate from the entitlement; true when a Marketplace model is not entitled
/// yet (the first call would subscribe).
pub(super) fn entitlement(
    ma: &mut GateReport,
    summary: &str,
    ent: &str,
    marketplace: bool,
    model_id: &str,
    region: &str,
) -> bool {
    if ent == "AVAILABLE" {
        ma.set(Status::Open, summary.to_string(), None);
    } else if marketplace {
        ma.set(Status::Unknown, format!("{summary} Not entitled yet: the first call starts the AWS Marketplace subscription (automatic access), or access was never granted (console access mode)."), None);
        return true;
    } else {
        ma.set(
            Status::Shut,
            format!("{summary} The account is not entitled to {model_id} in {region}."),
            Some(format!("request access: aws bedrock list-foundation-model-agreement-offers --model-id {model_id} --region {region}, then aws bedrock create-foundation-model-agreement --model-id {model_id} --offer-token <token> --region {region}")),
        );
    }
    false
}

/// What `GetFoundationModelAvailability` says of the provider's terms.
pub(super) struct Terms<'a> {
    /// agreementAvailability status, and its error message.
    pub(super) ag: &'a str,
    pub(super) ag_err: Option<String>,
    /// entitlementAvailability.
    pub(super) ent: &'a str,
    pub(super) marketplace: bool,
}

/// The provider-terms gate from the agreement.
pub(super) fn provider_terms(pt: &mut GateReport, t: &Terms<'_>, model_id: &str, region: &str) {
    let (ag, marketplace) = (t.ag, t.marketplace);
    let accept = format!("aws bedrock create-foundation-model-agreement --model-id {model_id} --offer-token \"$(aws bedrock list-foundation-model-agreement-offers --model-id {model_id} --region {region} --query 'offers[0].offerToken' --output text)\" --region {region}");
    match ag {
        "AVAILABLE" => pt.set(Status::Open, format!("GetFoundationModelAvailability: agreementAvailability AVAILABLE{}.", if marketplace { "" } else { " (no provider agreement needed)" }), None),
        "PENDING" => pt.set(Status::Shut, "GetFoundationModelAvailability: agreementAvailability PENDING: the provider's offer is being accepted.", Some("wait a few minutes and retry".into())),
        "ERROR" => pt.set(Status::Shut, format!("GetFoundationModelAvailability: agreementAvailability ERROR{}.", t.ag_err.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()), Some(accept)),
        _ if t.ent == "AVAILABLE" => pt.set(Status::Shut, format!("GetFoundationModelAvailability: agreementAvailability {ag} while the model is entitled: the provider's EULA offer was never accepted."), Some(accept)),
        _ if marketplace => pt.set(Status::Unknown, format!("GetFoundationModelAvailability: agreementAvailability {ag}: the first call of a third-party model accepts its EULA when it subscribes."), None),
        _ => pt.set(Status::Unknown, format!("GetFoundationModelAvailability: agreementAvailability {ag}."), None),
    }
}

/// The model-access gate from `GetUseCaseForModelAccess` (the Anthropic use-case form).
pub(super) fn form_gate(
    gates: &mut [GateReport],
    model_id: &str,
    region: &str,
    form: Option<Result<(), CallError>>,
) {
    let ma = gate_mut(gates, Gate::ModelAccess);
    match form {
        None => {}
        Some(Ok(())) => ma.note("GetUseCaseForModelAccess: the Anthropic use-case form is on file."),
        Some(Err(e)) if e.is("ResourceNotFoundException") => ma.set(
            Status::Shut,
            format!("GetUseCaseForModelAccess: {} ({model_id} needs the Anthropic use-case form; a form submitted by the organization's management account also counts, which this call does not show).", e.text()),
            fix_of(&explain::explain_call(
                Some("ResourceNotFoundException"),
                "Model use case details have not been submitted for this account.",
                "GetUseCaseForModelAccess",
                &explain::Hints { region: Some(region.to_string()), ..Default::default() },
            )),
        ),
        Some(Err(e)) => ma.note(format!("GetUseCaseForModelAccess did not answer: {}.", e.text())),
    }
}

/// Model access when the first call must subscribe: whether the caller's Marketplace
/// permissions let it.
pub(super) fn marketplace_gate(ma: &mut GateReport, market: Option<Simulated>, arn: &str) {
    match market {
        Some(Ok(rows)) if rows.iter().all(|(_, d, _)| d == "allowed") => ma.note("The caller may aws-marketplace:Subscribe and ViewSubscriptions via Bedrock, so a first call can subscribe."),
        Some(Ok(rows)) => {
            let doc = bg_diagnose::document::PolicyDocument { statements: vec![generate::marketplace_statement()] };
            ma.set(
                Status::Shut,
                format!("The first call must subscribe through AWS Marketplace, and the caller may not: {}.", rows.iter().filter(|(_, d, _)| d != "allowed").map(|(w, d, _)| format!("{w}: {d}")).collect::<Vec<_>>().join("; ")),
                Some(explain::put_policy_command(Some(arn), "bedrock-marketplace-first-use", &doc)),
            );
        }
        Some(Err(e)) => ma.note(format!("The caller's Marketplace permissions could not be simulated ({}).", e.text())),
        None => {}
    }
}

/// The quota gate: unknown, with AWS's published default as evidence.
pub(super) fn quota_gate(
    gates: &mut [GateReport],
    catalog: &Catalog,
    w: &Wanted<'_>,
    region: &str,
) {
    let q = gate_mut(gates, Gate::Quota);
    let defaults = w
        .model
        .map(|m| published_quota(catalog, m, w.profile.is_some(), region));
    q.set(Status::Unknown, format!("quotas are not read by this tool (Service Quotas); only a throttled call shows this gate shut.{}", defaults.unwrap_or_default()), None);
}
