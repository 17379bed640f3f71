//! The credentials and Region gates.

use super::*;

/// The region gate when no Region is configured at all: nothing else can be called.
pub(super) fn no_region(gates: &mut [GateReport]) {
    gate_mut(gates, Gate::Region).set(
        Status::Shut,
        "no Region configured (no --region, AWS_REGION, AWS_DEFAULT_REGION or profile region)",
        Some("pass --region or set AWS_REGION, e.g. export AWS_REGION=us-east-1".into()),
    );
    for g in gates.iter_mut().filter(|g| g.gate != Gate::Region) {
        g.note("not checked: no Region to call");
    }
}

/// A note when `--region` differs from the Region the SDK configuration resolves to.
pub(super) fn region_note(opts: &Options, configured: Option<&str>) -> Option<String> {
    match (&opts.region, configured) {
        (Some(asked), Some(conf_r)) if asked != conf_r => Some(format!(
            "Asked for {asked}, while the SDK configuration (AWS_REGION / profile) resolves to {conf_r}: programs that do not set a Region call {conf_r}."
        )),
        _ => None,
    }
}

/// The credentials gate from `sts:GetCallerIdentity`: the caller's (ARN, account), or None
/// when the identity is not known and nothing else is tried.
pub(super) fn credentials_gate(
    gates: &mut [GateReport],
    report: &mut Report,
    sts: Result<Identity, CallError>,
) -> Option<(String, String)> {
    match sts {
        Ok(o) => {
            let arn = o.arn().unwrap_or_default().to_string();
            let account = o.account().unwrap_or_default().to_string();
            gate_mut(gates, Gate::Credentials).set(
                Status::Open,
                format!("sts:GetCallerIdentity: {arn} (account {account})."),
                None,
            );
            report.caller = Some(arn.clone());
            Some((arn, account))
        }
        Err(e) => {
            credentials_refused(gates, &e);
            report.call = Call::Skipped(
                "sts:GetCallerIdentity did not succeed, so nothing else was tried".into(),
            );
            None
        }
    }
}

pub(super) fn credentials_refused(gates: &mut [GateReport], e: &CallError) {
    let ex = e.explain("GetCallerIdentity", &explain::Hints::default());
    let g = gate_mut(gates, Gate::Credentials);
    if ex.gate == Some(Gate::Credentials) {
        g.set(
            Status::Shut,
            format!(
                "sts:GetCallerIdentity refused: {}. Cause: {}",
                e.text().trim_end_matches('.'),
                ex.cause
            ),
            fix_of(&ex),
        );
    } else {
        g.set(
            Status::Unknown,
            format!("sts:GetCallerIdentity failed: {}", e.text()),
            Some(if e.service {
                fix_of(&ex).unwrap_or_default()
            } else {
                "the endpoint did not answer: check --endpoint-url / AWS_ENDPOINT_URL, the Region, the network and any proxy".to_string()
            }),
        );
    }
    for g in gates.iter_mut().filter(|g| g.gate != Gate::Credentials) {
        g.note("not checked: the caller's identity is not known.");
    }
}

/// The call's target resolved against the catalog in the Region.
pub(super) type Resolved<'c> = Result<bg_gates::region::Target<'c>, bg_gates::Deny>;

/// The region gate from `GetFoundationModel` / `GetInferenceProfile`, else the catalog.
pub(super) fn region_gate(
    gates: &mut [GateReport],
    catalog: &Catalog,
    w: &Wanted<'_>,
    region: &str,
    target: &Resolved<'_>,
    (op, result): RegionProbe,
) {
    match result {
        Ok(found) => region_found(gates, catalog, w, region, op, found),
        Err(e)
            if e.service && (e.is("ValidationException") || e.is("ResourceNotFoundException")) =>
        {
            let fix = match target {
                Err(d) => Some(d.fix.clone()),
                Ok(_) => fix_of(&explain::explain_parts(Some("ValidationException"), &format!("The provided model identifier is invalid. modelId='{}' region_name='{region}'", w.identifier), "Converse")),
            };
            gate_mut(gates, Gate::Region).set(
                Status::Shut,
                format!("{op} in {region}: {}.", e.text().trim_end_matches('.')),
                fix,
            );
        }
        Err(e) => region_from_catalog(gate_mut(gates, Gate::Region), w, region, target, op, &e),
    }
}

/// The region gate when the probe answered: how the model is offered, and its lifecycle.
pub(super) fn region_found(
    gates: &mut [GateReport],
    catalog: &Catalog,
    w: &Wanted<'_>,
    region: &str,
    op: &str,
    (types, lifecycle, models): RegionFound,
) {
    let model_id = w.model_id();
    let g = gate_mut(gates, Gate::Region);
    if w.profile.is_some() {
        g.set(
            Status::Open,
            format!(
                "{op}: {} is callable from {region}{}.",
                w.identifier,
                routes(&models)
            ),
            None,
        );
    } else if types.iter().any(|t| t == "ON_DEMAND") {
        g.set(Status::Open, format!("{op}: {model_id} is offered in {region} on demand (inferenceTypesSupported {types:?})."), None);
    } else if types.iter().any(|t| t == "INFERENCE_PROFILE") {
        profile_only(g, catalog, &model_id, region, op, &types);
    } else {
        g.set(
            Status::Unknown,
            format!("{op}: {model_id} reports inferenceTypesSupported {types:?} in {region}."),
            None,
        );
    }
    lifecycle_note(gates, op, &model_id, lifecycle.as_deref());
}

/// " and routes to …": the Regions of the profile's model ARNs (none when not listed).
pub(super) fn routes(models: &[String]) -> String {
    if models.is_empty() {
        return String::new();
    }
    let regions: Vec<&str> = models
        .iter()
        .map(|a| {
            a.split(':')
                .nth(3)
                .filter(|r| !r.is_empty())
                .unwrap_or("(any)")
        })
        .collect();
    if regions.len() > 6 {
        format!(
            " and routes to {} Regions ({}, …)",
            regions.len(),
            regions[..6].join(", ")
        )
    } else {
        format!(" and routes to {}", regions.join(", "))
    }
}

/// A model offered in the Region only through inference profiles: its bare ID is refused.
pub(super) fn profile_only(
    g: &mut GateReport,
    catalog: &Catalog,
    model_id: &str,
    region: &str,
    op: &str,
    types: &[String],
) {
    let profiles: Vec<String> = catalog
        .profiles_in_region(region)
        .filter(|p| p.model_id == model_id)
        .map(|p| p.id.clone())
        .collect();
    g.set(
        Status::Shut,
        format!("{op}: {model_id} is listed in {region} only for inference profiles (inferenceTypesSupported {types:?}); a call by its bare ID is refused."),
        Some(format!(
            "call it through an inference profile: {}. Then: bedrock-gates doctor --model {} --region {region}",
            if profiles.is_empty() { "see `aws bedrock list-inference-profiles`".to_string() } else { profiles.join(", ") },
            profiles.first().cloned().unwrap_or_else(|| format!("us.{model_id}"))
        )),
    );
}

/// The model's lifecycle, as model-access evidence: END_OF_LIFE shuts it, LEGACY is noted.
pub(super) fn lifecycle_note(
    gates: &mut [GateReport],
    op: &str,
    model_id: &str,
    lifecycle: Option<&str>,
) {
    let ma = gate_mut(gates, Gate::ModelAccess);
    match lifecycle {
        Some("END_OF_LIFE") => ma.set(
            Status::Shut,
            format!("{op}: {model_id} has reached its end of life (modelLifecycle END_OF_LIFE)."),
            Some("move to a current model (`aws bedrock list-foundation-models`)".into()),
        ),
        Some("LEGACY") => ma.note(format!(
            "{model_id} is LEGACY: accounts that have not used it for 15 days lose access."
        )),
        _ => {}
    }
}

/// The region gate when the probe did not answer (AccessDenied, connection): the catalog.
pub(super) fn region_from_catalog(
    g: &mut GateReport,
    w: &Wanted<'_>,
    region: &str,
    target: &Resolved<'_>,
    op: &str,
    e: &CallError,
) {
    let why = format!("{op} did not answer ({}); from the catalog:", e.text());
    match target {
        Ok(t) => g.set(
            Status::Open,
            format!(
                "{why} {} is callable from {region}{}.",
                w.identifier,
                t.profile
                    .map(|p| format!(" (routes to {})", p.destination_regions.join(", ")))
                    .unwrap_or_default()
            ),
            None,
        ),
        Err(d) if w.model.is_some() || w.profile.is_some() => g.set(
            Status::Shut,
            format!("{why} {}", d.reason),
            Some(d.fix.clone()),
        ),
        Err(_) => g.set(
            Status::Unknown,
            format!("{why} {} is not in the catalog.", w.identifier),
            None,
        ),
    }
}
