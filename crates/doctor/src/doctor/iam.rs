//! The IAM gate: `iam:SimulatePrincipalPolicy` on every ARN the call needs.

use super::*;

/// The condition keys that vary per resource: (key, value).
pub(super) type ContextKeys = Vec<(String, String)>;

/// One simulated resource: (ARN, decision, details).
pub(super) type Simulated = Result<Vec<(String, String, String)>, CallError>;

pub(super) async fn simulate(
    iam: aws::Iam,
    source: String,
    actions: Vec<String>,
    resource: String,
    context: Vec<(String, String)>,
) -> Simulated {
    let out = iam
        .simulate(&source, &actions, &resource, &context)
        .await
        .map_err(|e| CallError::of(&e))?;
    Ok(out
        .into_iter()
        .map(|r| {
            let mut details = Vec::new();
            if !r.matched.is_empty() {
                details.push(format!("matched {}", r.matched.join(", ")));
            }
            if r.allowed_by_organizations == Some(false) {
                details.push("not allowed by the organization's SCPs".to_string());
            }
            if r.allowed_by_boundary == Some(false) {
                details.push("not allowed by the permissions boundary".to_string());
            }
            (
                format!(
                    "{} on {}",
                    r.action,
                    r.resource.as_deref().unwrap_or(&resource)
                ),
                r.decision,
                details.join("; "),
            )
        })
        .collect())
}

/// Every ARN the call needs with the condition keys that vary per resource, or None when the
/// caller or the target is not known.
pub(super) fn needed_resources(
    caller: Option<&bg_gates::Caller>,
    target: &Resolved<'_>,
    region: &str,
) -> Option<Vec<(String, ContextKeys)>> {
    let (Some(c), Ok(t)) = (caller, target) else {
        return None;
    };
    // The facts of the call the doctor is about to make: now, over HTTPS (the real endpoints).
    let facts = bg_gates::authz::RequestFacts {
        region: region.to_string(),
        source_ip: None,
        now_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
        secure_transport: true,
    };
    let keys = ["aws:RequestedRegion", "bedrock:InferenceProfileArn"];
    Some(
        bg_gates::invoke::invoke_resources(t, c, &facts)
            .into_iter()
            .map(|(arn, ctx)| {
                let keep: ContextKeys = keys
                    .iter()
                    .filter_map(|k| {
                        ctx.get(k)
                            .and_then(|v| v.first())
                            .map(|v| (k.to_string(), v.clone()))
                    })
                    .collect();
                (arn, keep)
            })
            .collect(),
    )
}

/// The simulations of phase 2: the policy source, one result per ARN (in order) and the
/// Marketplace permissions (for a Marketplace model).
#[derive(Default)]
pub(super) struct Sims {
    pub(super) source: Option<String>,
    pub(super) results: Option<Vec<(usize, Simulated)>>,
    pub(super) market: Option<Simulated>,
}

/// The ARN to simulate for the caller: a user itself, the role behind an assumed-role
/// session; none for root.
pub(super) async fn policy_source(iam: &aws::Iam, c: &bg_gates::Caller) -> Option<String> {
    match c.kind {
        bg_gates::CallerKind::Root => None,
        bg_gates::CallerKind::User => Some(c.entity_arn.clone()),
        bg_gates::CallerKind::AssumedRole => {
            let name = c
                .entity_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            match iam.role_arn(&name).await {
                Ok(arn) => Some(arn.unwrap_or_else(|| c.entity_arn.clone())),
                Err(_) => Some(c.entity_arn.clone()),
            }
        }
    }
}

/// Simulate bedrock:InvokeModel on every ARN, and the Marketplace actions, all concurrently.
pub(super) async fn simulations(
    iam: &aws::Iam,
    caller: Option<&bg_gates::Caller>,
    resources: Option<&[(String, ContextKeys)]>,
    marketplace: bool,
) -> Sims {
    let source = match caller {
        Some(c) => policy_source(iam, c).await,
        None => None,
    };
    let Some(source) = source else {
        return Sims::default();
    };
    let mut set = tokio::task::JoinSet::new();
    for (i, (arn, ctx)) in resources.unwrap_or_default().iter().cloned().enumerate() {
        let (iam, source, action) = (iam.clone(), source.clone(), generate::INVOKE.to_string());
        set.spawn(async move { (i, simulate(iam, source, vec![action], arn, ctx).await) });
    }
    let market =
        marketplace.then(|| tokio::spawn(simulate_marketplace(iam.clone(), source.clone())));
    let mut results: Vec<(usize, Simulated)> = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(r) = r {
            results.push(r);
        }
    }
    results.sort_by_key(|(i, _)| *i);
    let market = match market {
        Some(h) => h.await.ok(),
        None => None,
    };
    Sims {
        source: Some(source),
        results: Some(results),
        market,
    }
}

/// The Marketplace actions a first call needs, called via Bedrock.
pub(super) async fn simulate_marketplace(iam: aws::Iam, source: String) -> Simulated {
    simulate(
        iam,
        source,
        generate::MARKETPLACE_ACTIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "*".into(),
        vec![("aws:CalledViaLast".into(), "bedrock.amazonaws.com".into())],
    )
    .await
}

/// The whole least-privilege policy for every ARN the call needs (not only the first one
/// refused), so that applying it once opens the gate.
pub(super) fn iam_fix(
    catalog: &Catalog,
    w: &Wanted<'_>,
    region: &str,
    account: &str,
    arn: &str,
    resources: Option<&[(String, ContextKeys)]>,
) -> Option<String> {
    let prefix = w.profile.map(|p| p.prefix.clone());
    let fix_policy = w.model.and_then(|m| {
        generate::generate(
            &generate::Request {
                models: vec![m.id.clone()],
                regions: vec![region.to_string()],
                profile_prefixes: prefix.into_iter().collect(),
                streaming: false,
                scp: false,
                account: Some(account.to_string()),
            },
            catalog,
        )
        .ok()
    });
    match (resources, fix_policy) {
        (Some(arns), Some(g)) => Some(whole_policy_fix(
            arn,
            w,
            region,
            arns.len(),
            &explain::put_policy_command(Some(arn), "bedrock-gates-invoke", &g.identity),
        )),
        _ => None,
    }
}

/// What the IAM gate is decided from.
pub(super) struct Simulation<'a> {
    /// The caller's ARN from sts:GetCallerIdentity.
    pub(super) arn: &'a str,
    pub(super) caller: Option<&'a bg_gates::Caller>,
    /// Whether the ARNs the call needs are known.
    pub(super) resolved: bool,
    pub(super) sims: &'a Sims,
}

/// The iam gate from the simulations.
pub(super) fn iam_gate(g: &mut GateReport, s: &Simulation<'_>, fix: Option<String>) {
    match (s.caller, &s.sims.source, &s.sims.results) {
        (Some(c), _, _) if c.kind == bg_gates::CallerKind::Root => g.set(
            Status::Unknown,
            "the caller is the account's root user: identity policies do not apply to it (SCPs still do) and SimulatePrincipalPolicy does not take it.",
            None,
        ),
        (None, _, _) => g.set(Status::Unknown, format!("cannot simulate {}: not a user or role session ARN.", s.arn), None),
        (_, _, None) | (_, None, _) => g.set(Status::Unknown, "not simulated.", None),
        (_, Some(_), Some(_)) if !s.resolved => g.set(
            Status::Unknown,
            "not simulated: the model identifier does not resolve in this Region, so the ARNs the call needs are not known.",
            None,
        ),
        (Some(c), Some(src), Some(results)) => iam_simulated(g, c, src, results, fix),
    }
}

/// The iam gate when every ARN was simulated: open, shut with the denials, or unknown when a
/// simulation did not answer.
pub(super) fn iam_simulated(
    g: &mut GateReport,
    c: &bg_gates::Caller,
    src: &str,
    results: &[(usize, Simulated)],
    fix: Option<String>,
) {
    let (denied, allowed, errors) = tally(results);
    let session_note = if c.kind == bg_gates::CallerKind::AssumedRole {
        " Session policies of the current session are not part of the simulation."
    } else {
        ""
    };
    if let Some(e) = errors.first() {
        let why = if e.is("AccessDenied") || e.is("AccessDeniedException") {
            format!(
                "the caller may not iam:SimulatePrincipalPolicy ({})",
                e.text()
            )
        } else {
            e.text()
        };
        g.set(
            Status::Unknown,
            format!("SimulatePrincipalPolicy for {src} did not answer: {why}."),
            None,
        );
    } else if denied.is_empty() {
        g.set(Status::Open, format!("SimulatePrincipalPolicy for {src}: bedrock:InvokeModel allowed on all {allowed} ARN(s) the call needs.{session_note}"), None);
    } else {
        g.set(
            Status::Shut,
            format!(
                "SimulatePrincipalPolicy for {src}: {}.{session_note}",
                denied.join("; ")
            ),
            fix,
        );
    }
}

/// The simulations' (denials, number allowed, errors).
pub(super) fn tally(results: &[(usize, Simulated)]) -> (Vec<String>, usize, Vec<CallError>) {
    let mut denied = Vec::new();
    let mut allowed = 0;
    let mut errors = Vec::new();
    for (_, r) in results {
        match r {
            Ok(rows) => {
                for (what, decision, details) in rows {
                    if decision == "allowed" {
                        allowed += 1;
                    } else {
                        denied.push(format!(
                            "{what}: {decision}{}",
                            if details.is_empty() {
                                String::new()
                            } else {
                                format!(" ({details})")
                            }
                        ));
                    }
                }
            }
            Err(e) => errors.push(e.clone()),
        }
    }
    (denied, allowed, errors)
}

/// The IAM fix that allows the call on all the ARNs it needs, with the put-policy command.
pub(super) fn whole_policy_fix(
    caller: &str,
    w: &Wanted<'_>,
    region: &str,
    arns: usize,
    command: &str,
) -> String {
    let entity = if caller.contains(":assumed-role/") || caller.contains(":role/") {
        "role"
    } else {
        "user"
    };
    let (what, prefix) = match w.profile {
        Some(p) => (
            "the inference profile and the model in every destination Region",
            format!(" --profile-prefix {}", p.prefix),
        ),
        None => ("the model in this Region", String::new()),
    };
    format!(
        "Attach an identity policy that allows bedrock:InvokeModel on all {arns} ARN(s) the call needs ({what}) to the {entity} behind the caller; `bedrock-gates policy generate --model {} --region {region}{prefix}` writes the same policy. Command: {command}",
        w.model_id()
    )
}

/// Whether a refusal is an identity policy's implicit deny: no Allow, nothing that denies.
pub(super) fn identity_implicit_deny(e: &Explanation) -> bool {
    e.facts.policy_type.as_deref() == Some("identity") && e.facts.explicit_deny != Some(true)
}
