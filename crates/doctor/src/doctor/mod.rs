//! `doctor`: walks the gates of one model call against a real endpoint (AWS by default, or
//! `serve` with `--endpoint-url`), through aws-sdk-rust and the standard credential chain, then
//! makes one minimal call (`Converse`, maxTokens 1) and maps its outcome to its gate with the
//! same classifier as `explain`.
//!
//! Order and evidence:
//!
//! | gate | evidence |
//! |---|---|
//! | credentials | `sts:GetCallerIdentity` |
//! | region | `GetFoundationModel` (inference types, lifecycle) or `GetInferenceProfile`, else the catalog; the Region the SDK configuration resolves to without `--region` |
//! | iam | `iam:SimulatePrincipalPolicy` for the caller (the role behind an assumed-role session) on every ARN the call needs, each with its own `aws:RequestedRegion` and `bedrock:InferenceProfileArn` |
//! | model-access | `GetFoundationModelAvailability` (entitlement), `GetUseCaseForModelAccess` (Anthropic form), lifecycle, the caller's Marketplace permissions (simulated) |
//! | provider-terms | `GetFoundationModelAvailability` (agreement) |
//! | quota | not readable here: unknown unless the call is throttled |
//!
//! Calls that do not depend on each other run concurrently. The verdict never says "all open"
//! unless the call succeeded; when it succeeded, every gate is open whatever the probes said.

use aws_config::meta::region::ProvideRegion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bg_catalog::{Catalog, Model};
use bg_diagnose::explain::{self, Explanation};
use bg_diagnose::generate;
use bg_diagnose::style::{pad, Style};
use bg_gates::Gate;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

mod access;
mod aws;
mod bearer;
mod call;
mod iam;
mod probe;
mod region;
mod render;

use access::*;
pub use aws::https;
use bearer::*;
use call::*;
use iam::*;
use probe::*;
use region::*;
pub use render::render;

#[cfg(test)]
mod tests;

pub const EXIT_OPEN: i32 = 0;
pub const EXIT_UNKNOWN: i32 = 20;

/// The exit code for the first shut gate.
pub fn exit_code(gate: Gate) -> i32 {
    match gate {
        Gate::Credentials => 10,
        Gate::Region => 11,
        Gate::Iam => 12,
        Gate::ModelAccess => 13,
        Gate::ProviderTerms => 14,
        Gate::Quota => 15,
    }
}

pub const ORDER: [Gate; 6] = [
    Gate::Credentials,
    Gate::Region,
    Gate::Iam,
    Gate::ModelAccess,
    Gate::ProviderTerms,
    Gate::Quota,
];

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub model: String,
    pub region: Option<String>,
    /// A named profile of the shared config files.
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Make the real minimal call (default true; `--no-invoke` turns it off).
    pub invoke: bool,
    /// Credentials to walk with instead of the SDK's default chain (the web console walks the
    /// gates for its signed-in principal).
    pub credentials: Option<Keys>,
}

/// An access key (and session token) to walk with.
#[derive(Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Keys {
    // Never print the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Open,
    Shut,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Shut => "shut",
            Status::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug)]
pub struct GateReport {
    pub gate: Gate,
    pub status: Status,
    pub evidence: Vec<String>,
    pub fix: Option<String>,
}

impl GateReport {
    fn new(gate: Gate) -> GateReport {
        GateReport {
            gate,
            status: Status::Unknown,
            evidence: Vec::new(),
            fix: None,
        }
    }

    fn set(&mut self, status: Status, evidence: impl Into<String>, fix: Option<String>) {
        // shut is sticky: a later "open" probe does not hide an earlier refusal
        if self.status != Status::Shut || status == Status::Shut {
            self.status = status;
        }
        self.evidence.push(evidence.into());
        if fix.is_some() && (status == Status::Shut || self.fix.is_none()) {
            self.fix = fix;
        }
    }

    fn note(&mut self, evidence: impl Into<String>) {
        self.evidence.push(evidence.into());
    }
}

/// The outcome of the real call.
#[derive(Clone, Debug)]
pub enum Call {
    Skipped(String),
    Succeeded {
        operation: String,
        millis: u128,
    },
    Failed {
        operation: String,
        explanation: Box<Explanation>,
        raw: String,
    },
}

#[derive(Clone, Debug)]
pub struct Report {
    pub model: String,
    pub region: Option<String>,
    pub caller: Option<String>,
    pub endpoint: Option<String>,
    pub gates: Vec<GateReport>,
    pub call: Call,
    pub verdict: String,
    pub exit_code: i32,
}

impl Report {
    pub fn to_json(&self) -> Value {
        json!({
            "model": self.model,
            "region": self.region,
            "caller": self.caller,
            "endpoint": self.endpoint,
            "gates": self.gates.iter().map(|g| json!({
                "gate": g.gate.as_str(),
                "status": g.status.as_str(),
                "evidence": g.evidence.join(" "),
                "fix": g.fix,
            })).collect::<Vec<_>>(),
            "call": match &self.call {
                Call::Skipped(why) => json!({"status": "skipped", "reason": why}),
                Call::Succeeded { operation, millis } => json!({"status": "succeeded", "operation": operation, "millis": *millis as u64}),
                Call::Failed { operation, explanation, raw } => json!({
                    "status": "failed", "operation": operation, "error": raw,
                    "gate": explanation.gate_name(),
                }),
            },
            "verdict": self.verdict,
            "exit_code": self.exit_code,
        })
    }
}

/// An SDK error in the terms the classifier needs.
#[derive(Clone, Debug)]
struct CallError {
    code: Option<String>,
    message: String,
    /// A response from the service (as opposed to no credentials, no connection, a timeout).
    service: bool,
}

impl CallError {
    fn of<E>(e: &SdkError<E, HttpResponse>) -> CallError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let service = matches!(e, SdkError::ServiceError(_));
        let code = e.code().map(str::to_string);
        let message = if service {
            e.message().unwrap_or_default().to_string()
        } else {
            transport_text(&DisplayErrorContext(e).to_string())
        };
        CallError {
            code,
            message,
            service,
        }
    }

    fn text(&self) -> String {
        match &self.code {
            Some(c) => format!("{c}: {}", self.message),
            None => self.message.clone(),
        }
    }

    fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    fn explain(&self, operation: &str, hints: &explain::Hints) -> Explanation {
        explain::explain_call(self.code.as_deref(), &self.message, operation, hints)
    }
}

fn fix_of(e: &Explanation) -> Option<String> {
    Some(match &e.command {
        Some(c) => format!("{} Command: {c}", e.fix),
        None => e.fix.clone(),
    })
}

/// The SDK's error chain without its trailing debug dump, on one line.
fn transport_text(s: &str) -> String {
    let cut = [
        " (DispatchFailure(",
        " (ConstructionFailure(",
        " (TimeoutError(",
        " (ResponseError(",
    ]
    .iter()
    .filter_map(|m| s.find(m))
    .min()
    .unwrap_or(s.len());
    s[..cut]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the caller asked for, resolved against the catalog.
struct Wanted<'c> {
    identifier: String,
    model: Option<&'c Model>,
    profile: Option<&'c bg_catalog::InferenceProfile>,
}

fn wanted<'c>(catalog: &'c Catalog, identifier: &str) -> Wanted<'c> {
    use bg_catalog::ModelIdentifier as M;
    let (model_id, profile_id) = match bg_catalog::parse_model_identifier(identifier) {
        M::Id(id) => match catalog.profile(id) {
            Some(p) => (Some(p.model_id.clone()), Some(p.id.clone())),
            None => (Some(id.to_string()), None),
        },
        M::FoundationModelArn { model_id, .. } => (Some(model_id.to_string()), None),
        M::InferenceProfileArn { profile_id, .. } => (
            catalog.profile(profile_id).map(|p| p.model_id.clone()),
            Some(profile_id.to_string()),
        ),
        _ => (None, None),
    };
    Wanted {
        identifier: identifier.to_string(),
        model: model_id.as_deref().and_then(|m| catalog.model(m)),
        profile: profile_id.as_deref().and_then(|p| catalog.profile(p)),
    }
}

impl Wanted<'_> {
    /// The foundation-model ID for the control-plane calls.
    fn model_id(&self) -> String {
        if let Some(m) = self.model {
            return m.id.clone();
        }
        let id = self
            .identifier
            .rsplit('/')
            .next()
            .unwrap_or(&self.identifier);
        id.to_string()
    }
}

fn gate_mut(gates: &mut [GateReport], g: Gate) -> &mut GateReport {
    let i = ORDER.iter().position(|x| *x == g).unwrap_or(0);
    &mut gates[i]
}

/// Walk the gates. Never panics on network input; every failure becomes evidence.
pub async fn run(opts: &Options) -> Report {
    let catalog = bg_catalog::catalog();
    let mut gates: Vec<GateReport> = ORDER.iter().map(|g| GateReport::new(*g)).collect();
    let w = wanted(catalog, &opts.model);
    let (conf, configured) = tokio::join!(
        sdk_loader(opts).load(),
        configured_region(opts.profile.as_deref())
    );
    let mut report = empty_report(opts, conf.region().map(|r| r.to_string()));
    let Some(region) = report.region.clone() else {
        no_region(&mut gates);
        return finish(report, gates, None);
    };
    let clients = Clients::new(&conf);

    // ---- phase 1: independent probes, concurrently ----
    let probes = probe(&clients, &w).await;
    // Explicit credentials (the console's principal) are what is walked, whatever the
    // environment holds.
    let bearer = bearer_token().filter(|_| opts.credentials.is_none());
    let identity = match &bearer {
        Some(token) => bearer_gate(&mut gates, &mut report, token, &region, probes.sts),
        None => credentials_gate(&mut gates, &mut report, probes.sts),
    };
    let Some((arn, account)) = identity else {
        return finish(report, gates, None);
    };
    let target = bg_gates::region::resolve(catalog, &w.identifier, &region);
    region_gate(&mut gates, catalog, &w, &region, &target, probes.region);
    if let Some(n) = region_note(opts, configured.as_deref()) {
        gate_mut(&mut gates, Gate::Region).note(n);
    }
    let access = access_gates(&mut gates, &w, &region, probes.avail);
    form_gate(&mut gates, &w.model_id(), &region, probes.form);

    // ---- phase 2: IAM simulations and the real call, concurrently ----
    let caller = bg_diagnose::check::caller_from_arn(&arn).ok();
    let resources = needed_resources(caller.as_ref(), &target, &region);
    let skip = no_minimal_request(&w);
    let marketplace = w.model.is_some_and(|m| m.marketplace);
    let (sims, call) = tokio::join!(
        simulations(
            &clients.iam,
            caller.as_ref(),
            resources.as_deref(),
            marketplace
        ),
        real_call(&clients.runtime, &w, opts.invoke && skip.is_none())
    );
    let fix = iam_fix(catalog, &w, &region, &account, &arn, resources.as_deref());
    let sim = Simulation {
        arn: &arn,
        caller: caller.as_ref(),
        resolved: resources.is_some(),
        sims: &sims,
    };
    iam_gate(gate_mut(&mut gates, Gate::Iam), &sim, fix.clone());
    if let (Some(token), Some(source)) = (&bearer, &sims.source) {
        bearer_iam(&clients.iam, gate_mut(&mut gates, Gate::Iam), token, source).await;
    }
    if let Some(n) = access.iam_note {
        gate_mut(&mut gates, Gate::Iam).note(n);
    }
    if access.entitlement_missing {
        marketplace_gate(gate_mut(&mut gates, Gate::ModelAccess), sims.market, &arn);
    }
    quota_gate(&mut gates, catalog, &w, &region);
    report.call = call_outcome(call, skip, report.caller.clone(), &region, &w);
    finish(report, gates, fix)
}

/// The report before any gate is walked: the call not reached, the verdict unknown.
fn empty_report(opts: &Options, region: Option<String>) -> Report {
    let endpoint = opts.endpoint_url.clone().or_else(|| {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|s| !s.is_empty())
    });
    Report {
        model: opts.model.clone(),
        region,
        caller: None,
        endpoint,
        gates: Vec::new(),
        call: Call::Skipped("not reached".into()),
        verdict: String::new(),
        exit_code: EXIT_UNKNOWN,
    }
}

/// Apply the call's outcome to the gates, then write the verdict and the exit code.
///
/// `iam_fix` is the doctor's own IAM fix (the whole policy for every ARN the call needs), used
/// instead of the refusal's single-ARN fix when the call was refused for want of an Allow.
fn finish(mut report: Report, mut gates: Vec<GateReport>, iam_fix: Option<String>) -> Report {
    match &report.call {
        Call::Succeeded { operation, millis } => {
            for g in gates.iter_mut() {
                let was = g.status;
                g.status = Status::Open;
                g.fix = None;
                if was != Status::Open {
                    g.note(format!("The real {operation} call succeeded, so this gate is open (the probe said {}).", was.as_str()));
                }
            }
            gate_mut(&mut gates, Gate::Quota).note(format!("{operation} was admitted."));
            report.verdict = format!(
                "all gates open: {operation} with modelId {} in {} answered in {millis} ms.",
                report.model,
                report.region.clone().unwrap_or_default()
            );
            report.exit_code = EXIT_OPEN;
        }
        Call::Failed {
            operation,
            explanation,
            raw,
        } => {
            // "You don't have access to the model…" is AWS's text for both a missing grant and an
            // unaccepted provider offer; the probes tell them apart.
            let mut gate = explanation.gate;
            if gate == Some(Gate::ModelAccess)
                && raw.contains("have access to the model with the specified model ID")
                && gate_mut(&mut gates, Gate::ModelAccess).status == Status::Open
                && gate_mut(&mut gates, Gate::ProviderTerms).status == Status::Shut
            {
                gate = Some(Gate::ProviderTerms);
            }
            if let Some(gate) = gate {
                let g = gate_mut(&mut gates, gate);
                g.status = Status::Shut;
                g.evidence.insert(
                    0,
                    format!(
                        "The real {operation} call was refused: {}. Cause: {}",
                        raw.trim_end_matches('.'),
                        explanation.cause
                    ),
                );
                if gate == explanation.gate.unwrap_or(gate) || g.fix.is_none() {
                    g.fix = match &iam_fix {
                        Some(f) if gate == Gate::Iam && identity_implicit_deny(explanation) => {
                            Some(f.clone())
                        }
                        _ => fix_of(explanation),
                    };
                }
            }
        }
        Call::Skipped(_) => {}
    }
    // The same refusal comes from keys of the wrong account: say whose keys these are.
    if let Some(account) = report
        .caller
        .as_deref()
        .and_then(|a| a.split(':').nth(4))
        .filter(|a| !a.is_empty())
    {
        let g = gate_mut(&mut gates, Gate::Iam);
        if g.status == Status::Shut {
            g.note(format!("The credentials in use are account {account}'s (sts:GetCallerIdentity): if the policies meant to allow this call are in another account, use that account's credentials instead of changing IAM here."));
        }
    }
    if report.exit_code != EXIT_OPEN {
        let first = gates.iter().find(|g| g.status == Status::Shut);
        match (first, &report.call) {
            (Some(g), _) => {
                report.exit_code = exit_code(g.gate);
                let summary = match &report.call {
                    Call::Failed {
                        operation,
                        explanation,
                        ..
                    } if explanation.gate == Some(g.gate)
                        && g.evidence
                            .first()
                            .is_some_and(|e| e.starts_with("The real ")) =>
                    {
                        format!(
                            "{operation} refused with {}: {}",
                            explanation
                                .facts
                                .error_code
                                .as_deref()
                                .unwrap_or("an error"),
                            explanation.cause
                        )
                    }
                    // the call's refusal was attributed by the probes: say what they found
                    Call::Failed { operation, .. } if g.evidence.len() > 1 => {
                        format!("{operation} refused; {}", g.evidence[1])
                    }
                    _ => g.evidence.first().cloned().unwrap_or_default(),
                };
                report.verdict = format!("shut: {}. {summary}", g.gate.as_str());
            }
            (None, Call::Skipped(why)) => {
                report.exit_code = EXIT_UNKNOWN;
                report.verdict = format!(
                    "no gate found shut, but the call was not made ({why}): not proven open."
                );
            }
            (
                None,
                Call::Failed {
                    operation,
                    explanation,
                    raw,
                },
            ) => {
                report.exit_code = EXIT_UNKNOWN;
                report.verdict = format!(
                    "the {operation} call failed outside the gates this tool knows: {raw} ({})",
                    explanation.cause
                );
            }
            (None, Call::Succeeded { .. }) => {}
        }
    }
    report.gates = gates;
    report
}
