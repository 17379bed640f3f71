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

pub const EXIT_OPEN: i32 = 0;
pub const EXIT_UNKNOWN: i32 = 20;

/// AWS's published default tokens-per-minute quota for the call's kind (in-Region or through a
/// profile) in `region`, from the catalog, as evidence for the quota gate: the account's own
/// value may be lower and is only readable through Service Quotas.
fn published_quota(
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

async fn configured_region(profile: Option<&str>) -> Option<String> {
    if let Some(r) = aws_config::environment::region::EnvironmentVariableRegionProvider::new()
        .region()
        .await
    {
        return Some(r.to_string());
    }
    let mut b = aws_config::profile::region::ProfileFileRegionProvider::builder();
    if let Some(p) = profile {
        b = b.profile_name(p);
    }
    b.build().region().await.map(|r| r.to_string())
}

/// The condition keys that vary per resource: (key, value).
type ContextKeys = Vec<(String, String)>;

/// One simulated resource: (ARN, decision, details).
type Simulated = Result<Vec<(String, String, String)>, CallError>;

async fn simulate(
    iam: aws_sdk_iam::Client,
    source: String,
    actions: Vec<String>,
    resource: String,
    context: Vec<(String, String)>,
) -> Simulated {
    use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
    let mut req = iam
        .simulate_principal_policy()
        .policy_source_arn(source)
        .resource_arns(resource.clone());
    for a in actions {
        req = req.action_names(a);
    }
    for (k, v) in context {
        req = req.context_entries(
            ContextEntry::builder()
                .context_key_name(k)
                .context_key_values(v)
                .context_key_type(ContextKeyTypeEnum::String)
                .build(),
        );
    }
    let out = req.send().await.map_err(|e| CallError::of(&e))?;
    Ok(out
        .evaluation_results()
        .iter()
        .map(|r| {
            let matched: Vec<String> = r
                .matched_statements()
                .iter()
                .filter_map(|s| s.source_policy_id().map(str::to_string))
                .collect();
            let mut details = Vec::new();
            if !matched.is_empty() {
                details.push(format!("matched {}", matched.join(", ")));
            }
            if let Some(o) = r.organizations_decision_detail() {
                if !o.allowed_by_organizations() {
                    details.push("not allowed by the organization's SCPs".to_string());
                }
            }
            if let Some(b) = r.permissions_boundary_decision_detail() {
                if !b.allowed_by_permissions_boundary() {
                    details.push("not allowed by the permissions boundary".to_string());
                }
            }
            (
                format!(
                    "{} on {}",
                    r.eval_action_name(),
                    r.eval_resource_name().unwrap_or(&resource)
                ),
                r.eval_decision().as_str().to_string(),
                details.join("; "),
            )
        })
        .collect())
}

/// A minimal InvokeModel body for models that Converse does not take.
fn minimal_body(model: &Model) -> Option<&'static str> {
    use bg_catalog::ModelFamily as F;
    match model.family {
        F::AmazonTitanEmbed => Some(r#"{"inputText":"hi"}"#),
        F::CohereEmbed => Some(r#"{"texts":["hi"],"input_type":"search_query"}"#),
        _ => None,
    }
}

async fn the_call(
    runtime: &aws_sdk_bedrockruntime::Client,
    w: &Wanted<'_>,
) -> Result<(String, u128), (String, CallError)> {
    use aws_sdk_bedrockruntime::types::{
        ContentBlock, ConversationRole, InferenceConfiguration, Message,
    };
    let start = Instant::now();
    if let Some(m) = w.model.filter(|m| !m.converse) {
        let body = minimal_body(m).unwrap_or(r#"{"inputText":"hi"}"#);
        return runtime
            .invoke_model()
            .model_id(&w.identifier)
            .content_type("application/json")
            .accept("application/json")
            .body(aws_sdk_bedrockruntime::primitives::Blob::new(body))
            .send()
            .await
            .map(|_| ("InvokeModel".to_string(), start.elapsed().as_millis()))
            .map_err(|e| ("InvokeModel".to_string(), CallError::of(&e)));
    }
    let msg = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text("hi".into()))
        .build()
        .map_err(|e| {
            (
                "Converse".to_string(),
                CallError {
                    code: None,
                    message: e.to_string(),
                    service: false,
                },
            )
        })?;
    runtime
        .converse()
        .model_id(&w.identifier)
        .messages(msg)
        .inference_config(InferenceConfiguration::builder().max_tokens(1).build())
        .send()
        .await
        .map(|_| ("Converse".to_string(), start.elapsed().as_millis()))
        .map_err(|e| ("Converse".to_string(), CallError::of(&e)))
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

/// The SDK configuration: one attempt, short timeouts, and the options' Region, profile and
/// endpoint.
fn sdk_loader(opts: &Options) -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(r) = &opts.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    if let Some(k) = &opts.credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            k.access_key_id.clone(),
            k.secret_access_key.clone(),
            k.session_token.clone(),
            None,
            "bedrock-gates-console",
        ));
    }
    loader
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

/// The region gate when no Region is configured at all: nothing else can be called.
fn no_region(gates: &mut [GateReport]) {
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
fn region_note(opts: &Options, configured: Option<&str>) -> Option<String> {
    match (&opts.region, configured) {
        (Some(asked), Some(conf_r)) if asked != conf_r => Some(format!(
            "Asked for {asked}, while the SDK configuration (AWS_REGION / profile) resolves to {conf_r}: programs that do not set a Region call {conf_r}."
        )),
        _ => None,
    }
}

/// The clients of one run, all from the same SDK configuration.
struct Clients {
    sts: aws_sdk_sts::Client,
    bedrock: aws_sdk_bedrock::Client,
    runtime: aws_sdk_bedrockruntime::Client,
    iam: aws_sdk_iam::Client,
}

impl Clients {
    fn new(conf: &aws_config::SdkConfig) -> Clients {
        Clients {
            sts: aws_sdk_sts::Client::new(conf),
            bedrock: aws_sdk_bedrock::Client::new(conf),
            runtime: aws_sdk_bedrockruntime::Client::new(conf),
            iam: aws_sdk_iam::Client::new(conf),
        }
    }
}

type Identity = aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
type Availability = aws_sdk_bedrock::operation::get_foundation_model_availability::GetFoundationModelAvailabilityOutput;

/// What the region probe found: (inference types, lifecycle, the profile's model ARNs).
type RegionFound = (Vec<String>, Option<String>, Vec<String>);

/// The region probe: the operation it called and its outcome.
type RegionProbe = (&'static str, Result<RegionFound, CallError>);

/// The answers of phase 1.
struct Probes {
    sts: Result<Identity, CallError>,
    region: RegionProbe,
    avail: Result<Availability, CallError>,
    /// Only for models that need the Anthropic use-case form.
    form: Option<Result<(), CallError>>,
}

/// Phase 1: the probes that do not depend on each other, concurrently.
async fn probe(c: &Clients, w: &Wanted<'_>) -> Probes {
    let model_id = w.model_id();
    let needs_form = w.model.is_some_and(|m| m.use_case_form);
    let (sts, region, avail, form) = tokio::join!(
        probe_identity(&c.sts),
        probe_region(&c.bedrock, w),
        probe_availability(&c.bedrock, &model_id),
        probe_form(&c.bedrock, needs_form)
    );
    Probes {
        sts,
        region,
        avail,
        form,
    }
}

async fn probe_identity(sts: &aws_sdk_sts::Client) -> Result<Identity, CallError> {
    sts.get_caller_identity()
        .send()
        .await
        .map_err(|e| CallError::of(&e))
}

async fn probe_region(bedrock: &aws_sdk_bedrock::Client, w: &Wanted<'_>) -> RegionProbe {
    match &w.profile {
        Some(p) => probe_profile(bedrock, &p.id).await,
        None => probe_model(bedrock, &w.identifier).await,
    }
}

/// `GetInferenceProfile`: the model ARNs the profile routes to.
async fn probe_profile(bedrock: &aws_sdk_bedrock::Client, id: &str) -> RegionProbe {
    let r = bedrock
        .get_inference_profile()
        .inference_profile_identifier(id)
        .send()
        .await;
    (
        "GetInferenceProfile",
        r.map(|o| {
            let models: Vec<String> = o
                .models()
                .iter()
                .filter_map(|m| m.model_arn().map(str::to_string))
                .collect();
            (vec!["INFERENCE_PROFILE".to_string()], None, models)
        })
        .map_err(|e| CallError::of(&e)),
    )
}

/// `GetFoundationModel`: the inference types and the lifecycle.
async fn probe_model(bedrock: &aws_sdk_bedrock::Client, identifier: &str) -> RegionProbe {
    let r = bedrock
        .get_foundation_model()
        .model_identifier(identifier)
        .send()
        .await;
    (
        "GetFoundationModel",
        r.map(|o| {
            let d = o.model_details();
            (
                d.map(|d| {
                    d.inference_types_supported()
                        .iter()
                        .map(|t| t.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default(),
                d.and_then(|d| d.model_lifecycle())
                    .map(|l| l.status().as_str().to_string()),
                Vec::new(),
            )
        })
        .map_err(|e| CallError::of(&e)),
    )
}

async fn probe_availability(
    bedrock: &aws_sdk_bedrock::Client,
    model_id: &str,
) -> Result<Availability, CallError> {
    bedrock
        .get_foundation_model_availability()
        .model_id(model_id)
        .send()
        .await
        .map_err(|e| CallError::of(&e))
}

async fn probe_form(
    bedrock: &aws_sdk_bedrock::Client,
    needs_form: bool,
) -> Option<Result<(), CallError>> {
    if !needs_form {
        return None;
    }
    Some(
        bedrock
            .get_use_case_for_model_access()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::of(&e)),
    )
}

/// `AWS_BEARER_TOKEN_BEDROCK`, as the SDKs read it: set and not empty.
fn bearer_token() -> Option<String> {
    std::env::var("AWS_BEARER_TOKEN_BEDROCK")
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// The credentials gate when `AWS_BEARER_TOKEN_BEDROCK` is set: boto3, the AWS CLI and the
/// SDKs then send that key to bedrock and bedrock-runtime instead of SigV4 credentials (STS and
/// IAM still sign). The key is described from what it says about itself, never printed; its
/// principal is the long-term key's IAM user, or the credential chain's for a short-term key
/// (made from those credentials). The first Bedrock call below proves it either way.
fn bearer_gate(
    gates: &mut [GateReport],
    report: &mut Report,
    token: &str,
    region: &str,
    sts: Result<Identity, CallError>,
) -> Option<(String, String)> {
    use bg_gates::api_key::{describe, BearerKind, KeyError};
    let sent = "AWS_BEARER_TOKEN_BEDROCK is set: boto3, the AWS CLI and the AWS SDKs send it to bedrock and bedrock-runtime in place of SigV4 credentials";
    let g = gate_mut(gates, Gate::Credentials);
    let facts = match describe(token) {
        Ok(f) => f,
        Err(e) => {
            let what = match e {
                KeyError::Format => {
                    "it is not an Amazon Bedrock API key (no ABSK or bedrock-api-key- prefix)"
                }
                _ => "it does not decode as a Bedrock API key (cut short or altered when copied)",
            };
            g.set(
                Status::Shut,
                format!("{sent}, but {what}: every Bedrock call answers \"{}\"", e.message()),
                Some("unset AWS_BEARER_TOKEN_BEDROCK to sign with your AWS credentials, or set it to a Bedrock API key: export AWS_BEARER_TOKEN_BEDROCK=$(bedrock-gates api-key --region REGION)".into()),
            );
            report.call =
                Call::Skipped("the API key cannot authenticate, so nothing else was tried".into());
            return None;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    match facts.kind {
        BearerKind::ShortTerm => {
            let key_region = facts.region.clone().unwrap_or_default();
            let expires = facts.expires_unix.unwrap_or(0);
            let shut = if expires <= now {
                Some(format!(
                    "it expired at {} (short-term keys last at most 12 hours)",
                    iso(expires)
                ))
            } else if key_region != region {
                Some(format!("it was made for {key_region} and works only there, but the call goes to {region}"))
            } else {
                None
            };
            let described = format!("{sent}: a SHORT_TERM API key signed by access key {} for {key_region}, valid until {}", facts.id, iso(expires));
            if let Some(why) = shut {
                g.set(
                    Status::Shut,
                    format!("{described}; {why}: Bedrock answers \"{}\"", bg_gates::api_key::AUTH_FAILED),
                    Some(format!("export AWS_BEARER_TOKEN_BEDROCK=$(bedrock-gates api-key --region {region})")),
                );
                report.call = Call::Skipped(
                    "the API key cannot authenticate, so nothing else was tried".into(),
                );
                return None;
            }
            g.note(described);
            match sts {
                Ok(o) => {
                    let arn = o.arn().unwrap_or_default().to_string();
                    let account = o.account().unwrap_or_default().to_string();
                    g.set(
                        Status::Open,
                        format!("the key's principal, as the credential chain that signs it: {arn} (sts:GetCallerIdentity)."),
                        None,
                    );
                    report.caller = Some(arn.clone());
                    Some((arn, account))
                }
                Err(e) => {
                    credentials_refused(gates, &e);
                    report.call = Call::Skipped("the short-term key's principal is not known (sts:GetCallerIdentity did not succeed), so nothing else was tried".into());
                    None
                }
            }
        }
        BearerKind::LongTerm => {
            // The alias is `<user>-at-<account>` (IAM's ServiceUserName form).
            let Some((user, account)) = facts.id.rsplit_once("-at-") else {
                g.set(
                    Status::Unknown,
                    format!(
                        "{sent}: a LONG_TERM API key with alias {}, which names no user",
                        facts.id
                    ),
                    None,
                );
                return None;
            };
            let arn = format!("arn:aws:iam::{account}:user/{user}");
            g.set(
                Status::Open,
                format!("{sent}: a LONG_TERM API key (alias {}) of IAM user {arn}; whether it is active and unexpired, the first Bedrock call below shows.", facts.id),
                None,
            );
            report.caller = Some(arn.clone());
            Some((arn, account.to_string()))
        }
    }
}

/// A bearer call also needs `bedrock:CallWithBearerToken` (with `bedrock:BearerTokenType`).
async fn bearer_iam(iam: &aws_sdk_iam::Client, g: &mut GateReport, token: &str, source: &str) {
    let Ok(facts) = bg_gates::api_key::describe(token) else {
        return;
    };
    let kind = facts.kind.as_str();
    let r = simulate(
        iam.clone(),
        source.to_string(),
        vec!["bedrock:CallWithBearerToken".into()],
        "*".into(),
        vec![("bedrock:BearerTokenType".into(), kind.into())],
    )
    .await;
    match r {
        Ok(results) => {
            for (what, decision, details) in results {
                let evidence = format!(
                    "simulated {what} (bedrock:BearerTokenType={kind}): {decision}{}",
                    if details.is_empty() {
                        String::new()
                    } else {
                        format!(" ({details})")
                    }
                );
                if decision == "allowed" {
                    g.note(evidence);
                } else {
                    g.set(
                        Status::Shut,
                        evidence,
                        Some(format!("allow bedrock:CallWithBearerToken for {source} (AmazonBedrockLimitedAccess includes it), or remove the Deny that names it; or unset AWS_BEARER_TOKEN_BEDROCK and call with SigV4 credentials")),
                    );
                }
            }
        }
        Err(e) => g.note(format!(
            "could not simulate bedrock:CallWithBearerToken: {}",
            e.text()
        )),
    }
}

fn iso(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// The credentials gate from `sts:GetCallerIdentity`: the caller's (ARN, account), or None
/// when the identity is not known and nothing else is tried.
fn credentials_gate(
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

fn credentials_refused(gates: &mut [GateReport], e: &CallError) {
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
type Resolved<'c> = Result<bg_gates::region::Target<'c>, bg_gates::Deny>;

/// The region gate from `GetFoundationModel` / `GetInferenceProfile`, else the catalog.
fn region_gate(
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
fn region_found(
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
fn routes(models: &[String]) -> String {
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
fn profile_only(
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
fn lifecycle_note(gates: &mut [GateReport], op: &str, model_id: &str, lifecycle: Option<&str>) {
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
fn region_from_catalog(
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

/// What the availability probe leaves for the later gates.
#[derive(Default)]
struct Access {
    /// A Marketplace model not entitled yet: the first call must subscribe.
    entitlement_missing: bool,
    /// The authorization status, as IAM evidence.
    iam_note: Option<String>,
}

/// The model-access and provider-terms gates from `GetFoundationModelAvailability`.
fn access_gates(
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

fn availability(
    gates: &mut [GateReport],
    w: &Wanted<'_>,
    region: &str,
    a: &Availability,
) -> Access {
    let model_id = w.model_id();
    let marketplace = w.model.is_some_and(|m| m.marketplace);
    let ag = a
        .agreement_availability()
        .map(|x| x.status().as_str().to_string())
        .unwrap_or_default();
    let ag_err = a
        .agreement_availability()
        .and_then(|x| x.error_message())
        .map(str::to_string);
    let ent = a.entitlement_availability().as_str().to_string();
    let auth = a.authorization_status().as_str().to_string();
    let reg = a.region_availability().as_str().to_string();
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
fn entitlement(
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
struct Terms<'a> {
    /// agreementAvailability status, and its error message.
    ag: &'a str,
    ag_err: Option<String>,
    /// entitlementAvailability.
    ent: &'a str,
    marketplace: bool,
}

/// The provider-terms gate from the agreement.
fn provider_terms(pt: &mut GateReport, t: &Terms<'_>, model_id: &str, region: &str) {
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
fn form_gate(
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

/// Every ARN the call needs with the condition keys that vary per resource, or None when the
/// caller or the target is not known.
fn needed_resources(
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
struct Sims {
    source: Option<String>,
    results: Option<Vec<(usize, Simulated)>>,
    market: Option<Simulated>,
}

/// The ARN to simulate for the caller: a user itself, the role behind an assumed-role
/// session; none for root.
async fn policy_source(iam: &aws_sdk_iam::Client, c: &bg_gates::Caller) -> Option<String> {
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
            match iam.get_role().role_name(&name).send().await {
                Ok(o) => Some(
                    o.role()
                        .map(|r| r.arn().to_string())
                        .unwrap_or_else(|| c.entity_arn.clone()),
                ),
                Err(_) => Some(c.entity_arn.clone()),
            }
        }
    }
}

/// Simulate bedrock:InvokeModel on every ARN, and the Marketplace actions, all concurrently.
async fn simulations(
    iam: &aws_sdk_iam::Client,
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
async fn simulate_marketplace(iam: aws_sdk_iam::Client, source: String) -> Simulated {
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

/// Why the call is not made for a model that neither takes Converse nor has a known minimal
/// InvokeModel body.
fn no_minimal_request(w: &Wanted<'_>) -> Option<String> {
    w.model
        .filter(|m| !m.converse && minimal_body(m).is_none())
        .map(|m| {
            format!(
                "{} does not take Converse and no minimal InvokeModel request is known for its family ({}); the call was not made",
                m.id, m.family
            )
        })
}

/// The real call, when it is to be made.
async fn real_call(
    runtime: &aws_sdk_bedrockruntime::Client,
    w: &Wanted<'_>,
    make: bool,
) -> Option<Result<(String, u128), (String, CallError)>> {
    if make {
        Some(the_call(runtime, w).await)
    } else {
        None
    }
}

/// The whole least-privilege policy for every ARN the call needs (not only the first one
/// refused), so that applying it once opens the gate.
fn iam_fix(
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
struct Simulation<'a> {
    /// The caller's ARN from sts:GetCallerIdentity.
    arn: &'a str,
    caller: Option<&'a bg_gates::Caller>,
    /// Whether the ARNs the call needs are known.
    resolved: bool,
    sims: &'a Sims,
}

/// The iam gate from the simulations.
fn iam_gate(g: &mut GateReport, s: &Simulation<'_>, fix: Option<String>) {
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
fn iam_simulated(
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
fn tally(results: &[(usize, Simulated)]) -> (Vec<String>, usize, Vec<CallError>) {
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

/// Model access when the first call must subscribe: whether the caller's Marketplace
/// permissions let it.
fn marketplace_gate(ma: &mut GateReport, market: Option<Simulated>, arn: &str) {
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
fn quota_gate(gates: &mut [GateReport], catalog: &Catalog, w: &Wanted<'_>, region: &str) {
    let q = gate_mut(gates, Gate::Quota);
    let defaults = w
        .model
        .map(|m| published_quota(catalog, m, w.profile.is_some(), region));
    q.set(Status::Unknown, format!("quotas are not read by this tool (Service Quotas); only a throttled call shows this gate shut.{}", defaults.unwrap_or_default()), None);
}

/// The real call's outcome, its refusal explained (with no gate when the service did not
/// answer).
fn call_outcome(
    call: Option<Result<(String, u128), (String, CallError)>>,
    skip: Option<String>,
    principal: Option<String>,
    region: &str,
    w: &Wanted<'_>,
) -> Call {
    let (operation, e) = match call {
        None => return Call::Skipped(skip.unwrap_or_else(|| "--no-invoke".into())),
        Some(Ok((operation, millis))) => return Call::Succeeded { operation, millis },
        Some(Err(failed)) => failed,
    };
    let hints = explain::Hints {
        principal,
        region: Some(region.to_string()),
        model: Some(w.identifier.clone()),
    };
    let ex = e.explain(&operation, &hints);
    let explanation = if e.service {
        ex
    } else {
        // no answer from the service: nothing to map to a gate
        Explanation { gate: None, ..ex }
    };
    Call::Failed {
        operation,
        explanation: Box::new(explanation),
        raw: e.text(),
    }
}

/// The IAM fix that allows the call on all the ARNs it needs, with the put-policy command.
fn whole_policy_fix(
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
fn identity_implicit_deny(e: &Explanation) -> bool {
    e.facts.policy_type.as_deref() == Some("identity") && e.facts.explicit_deny != Some(true)
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

/// The human form: a table of gate, status and evidence, with the fix under each shut gate.
pub fn render(r: &Report, style: Style) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} {}  {} {}  {} {}{}\n\n",
        style.bold("model"),
        r.model,
        style.bold("region"),
        r.region.as_deref().unwrap_or("-"),
        style.bold("caller"),
        r.caller.as_deref().unwrap_or("-"),
        r.endpoint
            .as_deref()
            .map(|e| format!("  {} {e}", style.bold("endpoint")))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "{}{}{}\n",
        style.bold(&pad("GATE", 16)),
        style.bold(&pad("STATUS", 9)),
        style.bold("EVIDENCE")
    ));
    for g in &r.gates {
        let status = match g.status {
            Status::Open => style.green(&pad("open", 9)),
            Status::Shut => style.red(&pad("shut", 9)),
            Status::Unknown => style.yellow(&pad("unknown", 9)),
        };
        let evidence = if g.evidence.is_empty() {
            "-".to_string()
        } else {
            // one piece of evidence per line, under the column
            g.evidence.join(&format!("\n{}", " ".repeat(25)))
        };
        out.push_str(&format!("{}{status}{evidence}\n", pad(g.gate.as_str(), 16)));
        if let Some(f) = &g.fix {
            out.push_str(&format!(
                "{}{} {}\n",
                " ".repeat(25),
                style.bold("fix:"),
                bg_diagnose::style::indent_rest(f, 30)
            ));
        }
    }
    let call = match &r.call {
        Call::Skipped(why) => format!("not made ({why})"),
        Call::Succeeded { operation, millis } => format!("{operation} succeeded in {millis} ms"),
        Call::Failed { operation, raw, .. } => format!("{operation} failed: {raw}"),
    };
    out.push_str(&format!("\n{} {call}\n", style.bold("call")));
    let verdict = if r.exit_code == EXIT_OPEN {
        style.green(&r.verdict)
    } else if r.exit_code == EXIT_UNKNOWN {
        style.yellow(&r.verdict)
    } else {
        style.red(&r.verdict)
    };
    out.push_str(&format!("{} {verdict}\n", style.bold("verdict")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(call: Call) -> Report {
        Report {
            model: "amazon.nova-lite-v1:0".into(),
            region: Some("us-east-1".into()),
            caller: None,
            endpoint: None,
            gates: Vec::new(),
            call,
            verdict: String::new(),
            exit_code: EXIT_UNKNOWN,
        }
    }

    fn gates() -> Vec<GateReport> {
        ORDER.iter().map(|g| GateReport::new(*g)).collect()
    }

    #[test]
    fn success_opens_every_gate_even_against_a_probe() {
        let mut g = gates();
        gate_mut(&mut g, Gate::ModelAccess).set(
            Status::Shut,
            "no form on file",
            Some("submit".into()),
        );
        let r = finish(
            base(Call::Succeeded {
                operation: "Converse".into(),
                millis: 3,
            }),
            g,
            None,
        );
        assert_eq!(r.exit_code, 0);
        assert!(r
            .gates
            .iter()
            .all(|g| g.status == Status::Open && g.fix.is_none()));
        assert!(r.verdict.starts_with("all gates open"));
    }

    #[test]
    fn first_shut_gate_in_order_decides_the_exit_code() {
        let mut g = gates();
        gate_mut(&mut g, Gate::ProviderTerms).set(Status::Shut, "pending", None);
        let ex = explain::explain("An error occurred (AccessDeniedException) when calling the Converse operation: User: arn:aws:iam::111111111111:user/dev is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 because no identity-based policy allows the bedrock:InvokeModel action");
        let r = finish(
            base(Call::Failed {
                operation: "Converse".into(),
                explanation: Box::new(ex),
                raw: "AccessDeniedException: …".into(),
            }),
            g,
            None,
        );
        assert_eq!(r.exit_code, 12);
        assert!(
            r.verdict.starts_with(
                "shut: iam. Converse refused with AccessDeniedException: no identity-based policy"
            ),
            "{}",
            r.verdict
        );
        let j = r.to_json();
        assert_eq!(j["gates"][2]["status"], "shut");
        assert_eq!(j["gates"][4]["status"], "shut");
        assert_eq!(j["gates"][0]["status"], "unknown");
    }

    const IDENTITY_DENY: &str = "An error occurred (AccessDeniedException) when calling the Converse operation: User: arn:aws:iam::151515151515:user/dev is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0 because no identity-based policy allows the bedrock:InvokeModel action";

    fn refused(text: &str) -> Call {
        Call::Failed {
            operation: "Converse".into(),
            explanation: Box::new(explain::explain(text)),
            // as CallError::text renders it: "Code: message"
            raw: format!(
                "AccessDeniedException: {}",
                text.split("operation: ").nth(1).unwrap_or(text)
            ),
        }
    }

    fn with_caller(call: Call, caller: &str) -> Report {
        Report {
            caller: Some(caller.into()),
            ..base(call)
        }
    }

    #[test]
    fn two_gates_found_by_probes_and_call_are_both_named() {
        // the form probe shut model access; the call was refused by IAM: both stay shut, each
        // with its own fix, and the exit code is the first in order (iam)
        let mut g = gates();
        gate_mut(&mut g, Gate::ModelAccess).set(
            Status::Shut,
            "GetUseCaseForModelAccess: ResourceNotFoundException",
            Some("submit the form".into()),
        );
        let r = finish(
            with_caller(refused(IDENTITY_DENY), "arn:aws:iam::151515151515:user/dev"),
            g,
            None,
        );
        let shut: Vec<&str> = r
            .gates
            .iter()
            .filter(|g| g.status == Status::Shut)
            .map(|g| g.gate.as_str())
            .collect();
        assert_eq!(shut, ["iam", "model-access"]);
        assert_eq!(r.exit_code, 12);
        assert_eq!(r.gates[3].fix.as_deref(), Some("submit the form"));
        assert!(r.verdict.starts_with("shut: iam. "), "{}", r.verdict);
    }

    #[test]
    fn an_identity_refusal_gets_the_whole_policy_fix() {
        let whole = "Attach … on all 4 ARN(s) … Command: aws iam put-user-policy --user-name dev --policy-name bedrock-gates-invoke --policy-document '{}'";
        let r = finish(
            with_caller(refused(IDENTITY_DENY), "arn:aws:iam::151515151515:user/dev"),
            gates(),
            Some(whole.into()),
        );
        let iam = &r.gates[2];
        assert_eq!(iam.status, Status::Shut);
        assert_eq!(iam.fix.as_deref(), Some(whole));
        // the refusal itself still comes first in the evidence, and the caller's account is named
        assert!(iam.evidence[0].starts_with("The real Converse call was refused: AccessDeniedException: User: arn:aws:iam::151515151515:user/dev"));
        assert!(iam.evidence.iter().any(|e| e.starts_with(
            "The credentials in use are account 151515151515's (sts:GetCallerIdentity)"
        )));
        // without the doctor's policy (the ARNs were not known), the refusal's own fix
        let r = finish(
            with_caller(refused(IDENTITY_DENY), "arn:aws:iam::151515151515:user/dev"),
            gates(),
            None,
        );
        assert!(r.gates[2]
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("aws iam put-user-policy --user-name dev ")));
    }

    #[test]
    fn an_explicit_deny_keeps_the_refusals_fix() {
        // an SCP's Deny is not fixed by an identity policy: the whole-policy fix is not offered
        let scp = "An error occurred (AccessDeniedException) when calling the Converse operation: User: arn:aws:iam::333333333333:user/dev is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0 with an explicit deny in a service control policy: arn:aws:organizations::999999999999:policy/o-sandboxorg1/service_control_policy/p-regionsonly";
        let r = finish(
            with_caller(refused(scp), "arn:aws:iam::333333333333:user/dev"),
            gates(),
            Some("whole policy".into()),
        );
        let iam = &r.gates[2];
        assert_eq!(iam.status, Status::Shut);
        assert!(iam
            .fix
            .as_deref()
            .is_some_and(|f| f != "whole policy" && f.contains("p-regionsonly")));
        assert_eq!(r.exit_code, 12);
    }

    #[test]
    fn a_success_ignores_the_iam_fix_and_the_account_note() {
        let r = finish(
            with_caller(
                Call::Succeeded {
                    operation: "Converse".into(),
                    millis: 1,
                },
                "arn:aws:iam::141414141414:user/dev",
            ),
            gates(),
            Some("whole policy".into()),
        );
        assert_eq!(r.exit_code, EXIT_OPEN);
        assert!(r.gates.iter().all(
            |g| g.fix.is_none() && !g.evidence.iter().any(|e| e.contains("credentials in use"))
        ));
    }

    #[test]
    fn the_whole_policy_fix_names_the_entity_and_the_generate_command() {
        let catalog = bg_catalog::catalog();
        let w = wanted(catalog, "us.anthropic.claude-3-7-sonnet-20250219-v1:0");
        let f = whole_policy_fix(
            "arn:aws:sts::111111111111:assumed-role/app/session",
            &w,
            "us-east-1",
            4,
            "aws iam put-role-policy …",
        );
        assert_eq!(f, "Attach an identity policy that allows bedrock:InvokeModel on all 4 ARN(s) the call needs (the inference profile and the model in every destination Region) to the role behind the caller; `bedrock-gates policy generate --model anthropic.claude-3-7-sonnet-20250219-v1:0 --region us-east-1 --profile-prefix us` writes the same policy. Command: aws iam put-role-policy …");
        let w = wanted(catalog, "amazon.nova-lite-v1:0");
        let f = whole_policy_fix(
            "arn:aws:iam::111111111111:user/dev",
            &w,
            "us-east-1",
            1,
            "c",
        );
        assert!(f.contains(
            "on all 1 ARN(s) the call needs (the model in this Region) to the user behind"
        ));
        assert!(f.contains("--model amazon.nova-lite-v1:0 --region us-east-1` writes"));
    }

    #[test]
    fn no_invoke_never_claims_open() {
        let mut g = gates();
        for x in g.iter_mut() {
            x.set(Status::Open, "probe", None);
        }
        let r = finish(base(Call::Skipped("--no-invoke".into())), g, None);
        assert_eq!(r.exit_code, EXIT_UNKNOWN);
        assert!(r.verdict.contains("not proven open"));
    }

    #[test]
    fn quota_evidence_quotes_the_published_default_for_the_call_kind() {
        let c = bg_catalog::catalog();
        let lite = c.model("amazon.nova-lite-v1:0").unwrap();
        assert_eq!(
            published_quota(c, lite, false, "eu-west-1"),
            " AWS's published default for this call: \"On-demand model inference tokens per minute for Amazon Nova Lite\" = 100000 in eu-west-1 (your account's value may be lower: aws service-quotas list-service-quotas --service-code bedrock --region eu-west-1). Requests per minute are not limited (AWS, May 2026)."
        );
        assert!(published_quota(c, lite, true, "us-east-1")
            .contains("\"Cross-region model inference tokens per minute for Amazon Nova Lite\" = 4000000 in us-east-1"));
        let qwen = c.model("qwen.qwen3-32b-v1:0").unwrap();
        assert!(published_quota(c, qwen, false, "us-east-1").starts_with(
            " AWS publishes no default on-demand tokens-per-minute quota for qwen.qwen3-32b-v1:0"
        ));
    }

    #[test]
    fn exit_codes_are_distinct() {
        let codes: std::collections::HashSet<i32> = ORDER.iter().map(|g| exit_code(*g)).collect();
        assert_eq!(codes.len(), 6);
        assert!(!codes.contains(&EXIT_OPEN) && !codes.contains(&EXIT_UNKNOWN));
    }
}
