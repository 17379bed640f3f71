//! `policy check`: would this principal, with these policies, be allowed to call this model from
//! this Region, and why. The same functions the server decides with: the Region gate
//! ([`bg_gates::region::resolve`]), the resource list ([`bg_gates::invoke::invoke_resources`],
//! profile, source model and every destination, each with its own condition keys), and the IAM
//! engine ([`bg_iam::evaluate`]) per resource; the refusal text is the server's
//! ([`bg_gates::authz::deny`]).

use bg_catalog::Catalog;
use bg_gates::decide::{
    AuthMethod, AwsError, Call, Counted, Invoke, InvokeKind, Operation, Presented, Protocol,
    Refusal, StepOutcome, Who,
};
use bg_gates::state::{OrgUnit, ServiceControlPolicy};
use bg_gates::{
    AccessKey, Caller, CallerKind, Change, Deny, Entity, Gate, ManagedPolicy, Organization,
    Principal, Snapshot, State,
};
use bg_iam::{Decision, Evaluation, Layer, NamedPolicy, Policy, PolicyKind};
use serde_json::{json, Value};

/// AWS's default SCP, attached at every level of an organization unless detached.
pub const FULL_AWS_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A policy document and the name it is reported under (its file name).
#[derive(Clone, Debug)]
pub struct Doc {
    pub name: String,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Input {
    pub identity: Vec<Doc>,
    /// SCP levels, root first; each level a list of policies.
    pub scp_levels: Vec<Vec<Doc>>,
    /// Add AWS's FullAWSAccess to every SCP level (the default in an organization).
    pub full_aws_access: bool,
    pub boundary: Option<Doc>,
    pub session: Option<Doc>,
    pub principal: String,
    /// The model ID (or a profile ID / ARN).
    pub model: String,
    pub region: String,
    /// The system inference profile to call the model through (`us.…`).
    pub profile: Option<String>,
    pub action: String,
    pub now_unix: i64,
    /// The state to decide against (a scenario's, or serve's database); `None`: built from the
    /// policy files.
    pub state: Option<State>,
    /// The model operation; `None`: the one `action` names (InvokeModel, ConverseStream,
    /// CountTokens).
    pub operation: Option<InvokeKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("{name}: {error}")]
    Policy { name: String, error: String },
    #[error("--principal must be an IAM user, role, root or assumed-role ARN, not {0}")]
    Principal(String),
    #[error("--profile {profile} routes to {routes}, not {model}")]
    ProfileModel {
        profile: String,
        routes: String,
        model: String,
    },
    #[error("unknown inference profile {0}")]
    UnknownProfile(String),
    #[error("--principal {0} is not a principal or access key of the given state")]
    NotInState(String),
}

/// One resource IAM checks, and its decision.
#[derive(Clone, Debug)]
pub struct ResourceDecision {
    pub arn: String,
    /// The condition keys that vary per resource.
    pub context: Vec<(String, String)>,
    pub evaluation: Evaluation,
    /// The statements that decided, in words.
    pub deciding: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub principal: String,
    pub action: String,
    pub model_identifier: String,
    pub region: String,
    /// The Region gate's refusal, when the call does not resolve.
    pub region_refusal: Option<Deny>,
    pub resources: Vec<ResourceDecision>,
    /// The refusal of a gate after the Region gate (IAM's for the first refused resource).
    pub refusal: Option<Deny>,
    /// The request is invalid for the model (a Converse-only action on an embedding model…).
    pub invalid: Option<AwsError>,
    /// Every gate, in order, as `bg_gates::decide` ran it.
    pub steps: Vec<GateStep>,
    /// What the call would change (a Marketplace subscription started or a failed attempt
    /// remembered): serve writes these; a face that replays calls applies them too.
    pub effects: Vec<Change>,
}

#[derive(Clone, Debug)]
pub struct GateStep {
    pub gate: &'static str,
    /// `passed`, `refused`, or `not checked: why`.
    pub outcome: String,
    pub notes: Vec<String>,
}

impl Report {
    pub fn allowed(&self) -> bool {
        self.region_refusal.is_none() && self.refusal.is_none() && self.invalid.is_none()
    }

    /// The refusal of whichever gate is shut.
    pub fn denied(&self) -> Option<&Deny> {
        self.region_refusal.as_ref().or(self.refusal.as_ref())
    }

    /// The gate that refused, in the doctor's vocabulary.
    pub fn gate(&self) -> Option<Gate> {
        self.denied().map(|d| d.gate)
    }

    /// 0 allowed; by the gate that refused: 2 IAM, 3 Region, 4 model access or provider terms,
    /// 5 credentials, 6 quota; 7 the request is invalid for the model; 1 invalid input.
    pub fn exit_code(&self) -> i32 {
        match (self.gate(), &self.invalid) {
            (Some(Gate::Iam), _) => 2,
            (Some(Gate::Region), _) => 3,
            (Some(Gate::ModelAccess | Gate::ProviderTerms), _) => 4,
            (Some(Gate::Credentials), _) => 5,
            (Some(Gate::Quota), _) => 6,
            (None, Some(_)) => 7,
            (None, None) => 0,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "allowed": self.allowed(),
            "principal": self.principal,
            "action": self.action,
            "modelId": self.model_identifier,
            "region": self.region,
            "regionRefusal": self.region_refusal.as_ref().map(|d| json!({
                "error": d.error, "message": d.message, "reason": d.reason, "fix": d.fix,
            })),
            "resources": self.resources.iter().map(|r| json!({
                "arn": r.arn,
                "decision": format!("{:?}", r.evaluation.decision),
                "context": r.context.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                "deciding": r.deciding,
            })).collect::<Vec<_>>(),
            "message": self.denied().map(|d| d.message.clone()).or(self.invalid.as_ref().map(|e| e.message.clone())),
            "fix": self.denied().map(|d| d.fix.clone()),
            "gate": self.gate(),
            "error": self.denied().map(|d| d.error.as_str()).or(self.invalid.as_ref().map(|e| e.code.as_str())),
            "steps": self.steps.iter().map(|s| json!({
                "gate": s.gate, "outcome": s.outcome, "notes": s.notes,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The caller IAM sees for a principal ARN. A role ARN is checked as a session of that role.
pub fn caller_from_arn(arn: &str) -> Result<Caller, CheckError> {
    let bad = || CheckError::Principal(arn.to_string());
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(bad());
    }
    let (partition, service, account, res) = (parts[1], parts[2], parts[4], parts[5]);
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let name_of = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let (kind, caller_arn, entity) = match (service, res) {
        ("iam", "root") => (CallerKind::Root, arn.to_string(), arn.to_string()),
        ("iam", r) if r.starts_with("user/") => {
            (CallerKind::User, arn.to_string(), arn.to_string())
        }
        ("iam", r) if r.starts_with("role/") => (
            CallerKind::AssumedRole,
            format!(
                "arn:{partition}:sts::{account}:assumed-role/{}/policy-check",
                name_of(r)
            ),
            arn.to_string(),
        ),
        ("sts", r) if r.starts_with("assumed-role/") => {
            let role = r
                .split('/')
                .nth(1)
                .filter(|s| !s.is_empty())
                .ok_or_else(bad)?;
            (
                CallerKind::AssumedRole,
                arn.to_string(),
                format!("arn:{partition}:iam::{account}:role/{role}"),
            )
        }
        _ => return Err(bad()),
    };
    let prefix = match kind {
        CallerKind::User => "AIDA",
        CallerKind::AssumedRole => "AROA",
        CallerKind::Root => "",
    };
    let user_id = match kind {
        CallerKind::Root => account.to_string(),
        _ => bg_gates::state::unique_id(prefix, account, &name_of(&entity)),
    };
    Ok(Caller {
        arn: caller_arn,
        account: account.to_string(),
        user_id,
        entity_arn: entity,
        kind,
        access_key: "AKIAPOLICYCHECK".to_string(),
        session: None,
        tags: Default::default(),
        bearer: None,
    })
}

fn parse(doc: &Doc, kind: PolicyKind) -> Result<NamedPolicy, CheckError> {
    Policy::parse(&doc.text, kind)
        .map(|p| NamedPolicy::new(doc.name.clone(), p))
        .map_err(|e| CheckError::Policy {
            name: doc.name.clone(),
            error: format!("{e} ({})", e.detail()),
        })
}

fn statement_words(layer: Layer, r: &bg_iam::StatementRef) -> String {
    format!(
        "{} {} statement {}",
        layer.aws_name(),
        r.policy,
        r.sid
            .as_deref()
            .map(|s| format!("{s} (#{})", r.index))
            .unwrap_or_else(|| format!("#{}", r.index))
    )
}

fn deciding(e: &Evaluation) -> Vec<String> {
    match e.decision {
        Decision::ExplicitlyDenied => e
            .denied_by
            .iter()
            .map(|(l, r)| format!("denied by {}", statement_words(*l, r)))
            .collect(),
        Decision::ImplicitlyDenied => {
            let mut v: Vec<String> = e
                .blocked_by
                .iter()
                .map(|l| format!("no {} allows it", l.aws_name()))
                .collect();
            if v.is_empty() {
                v.push("no policy allows it".to_string());
            }
            v
        }
        Decision::Allowed => e
            .allowed_by
            .iter()
            .filter(|(_, r)| r.policy != "FullAWSAccess")
            .map(|(l, r)| format!("allowed by {}", statement_words(*l, r)))
            .collect(),
    }
}

/// The state built from the policy files: the principal (role for a session) with the identity policies inline, the
/// boundary as a managed policy, the SCP levels as an organization, the session policy on a
/// session key.
fn state_for(input: &Input, caller: &Caller) -> Result<State, CheckError> {
    // Parse each file first, so that a broken one is named as before.
    for d in &input.identity {
        parse(d, PolicyKind::Identity)?;
    }
    if let Some(d) = &input.boundary {
        parse(d, PolicyKind::Boundary)?;
    }
    if let Some(d) = &input.session {
        parse(d, PolicyKind::Session)?;
    }
    for level in &input.scp_levels {
        for d in level {
            parse(d, PolicyKind::Scp)?;
        }
    }
    let account = caller.account.as_str();
    let mut changes = vec![Change::Put(Entity::Account(bg_gates::Account {
        id: account.to_string(),
        ..Default::default()
    }))];
    let (_, rest) = bg_gates::state::split_iam_arn(&caller.entity_arn);
    let name = rest.rsplit('/').next().unwrap_or(rest);
    let path = rest
        .split_once('/')
        .map(|(_, p)| &p[..p.len() - name.len()])
        .unwrap_or("/");
    let mut principal = match caller.kind {
        CallerKind::Root => Principal::root(account),
        CallerKind::User => Principal::user(account, name, path),
        CallerKind::AssumedRole => Principal::role(account, name, path, "{}"),
    };
    principal.arn = caller.entity_arn.clone();
    principal.set_inline_policies(
        input
            .identity
            .iter()
            .map(|d| (d.name.clone(), d.text.clone()))
            .collect(),
    );
    if let Some(b) = &input.boundary {
        let arn = format!("arn:aws:iam::{account}:policy/{}", b.name);
        changes.push(Change::Put(Entity::ManagedPolicy(ManagedPolicy {
            arn: arn.clone(),
            account: Some(account.to_string()),
            name: b.name.clone(),
            path: "/".into(),
            policy_id: "ANPAPOLICYCHECK".into(),
            description: None,
            default_version: "v1".into(),
            versions: vec![bg_gates::state::PolicyVersion {
                version_id: "v1".into(),
                document: b.text.clone(),
                created_unix: 0,
            }],
            created_unix: 0,
            updated_unix: 0,
        })));
        principal.set_permissions_boundary(Some(arn));
    }
    changes.push(Change::Put(Entity::Principal(principal.clone())));
    changes.push(Change::Put(Entity::AccessKey(AccessKey {
        access_key_id: caller.access_key.clone(),
        secret_access_key: String::new(),
        principal_arn: principal.arn.clone(),
        account: account.into(),
        session_token: None,
        expires_unix: None,
        active: true,
        session: caller.session.clone().map(|mut s| {
            s.policy = input.session.as_ref().map(|d| d.text.clone());
            Box::new(s)
        }),
        created_unix: 0,
    })));
    if !input.scp_levels.is_empty() {
        changes.push(Change::Put(Entity::Organization(organization(
            input, account,
        ))));
    }
    Ok(State::default().with_changes(&changes))
}

/// The SCP levels as an organization: root, one OU per middle level, the account. With a single
/// level the account's own level carries only FullAWSAccess (AWS attaches it to every account;
/// a level with no Allow would deny everything).
fn organization(input: &Input, account: &str) -> Organization {
    let n = input.scp_levels.len();
    let mut targets: Vec<String> = vec!["r-check".to_string()];
    targets.extend((1..n.saturating_sub(1)).map(|i| format!("ou-check-{i}")));
    targets.push(account.to_string());
    let mut policies = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let files: &[Doc] = input.scp_levels.get(i).map(Vec::as_slice).unwrap_or(&[]);
        let account_level_of_one = n == 1 && i == 1;
        if input.full_aws_access || account_level_of_one {
            policies.push(ServiceControlPolicy {
                id: String::new(),
                name: "FullAWSAccess".into(),
                document: FULL_AWS_ACCESS.into(),
                targets: vec![target.clone()],
            });
        }
        for d in files {
            policies.push(ServiceControlPolicy {
                id: String::new(),
                name: d.name.clone(),
                document: d.text.clone(),
                targets: vec![target.clone()],
            });
        }
    }
    let units = (1..targets.len() - 1)
        .map(|i| OrgUnit {
            id: targets[i].clone(),
            name: targets[i].clone(),
            parent_id: targets[i - 1].clone(),
        })
        .collect();
    let mut account_parents = std::collections::BTreeMap::new();
    account_parents.insert(account.to_string(), targets[targets.len() - 2].clone());
    Organization {
        id: "o-policycheck".into(),
        management_account: "999999999999".into(),
        root_id: "r-check".into(),
        units,
        account_parents,
        policies,
    }
}

/// The model operation an IAM action names.
fn invoke_kind(action: &str) -> InvokeKind {
    match action {
        "bedrock:InvokeModelWithResponseStream" => InvokeKind::ConverseStream,
        "bedrock:CountTokens" => InvokeKind::CountTokens,
        _ => InvokeKind::InvokeModel,
    }
}

/// How a principal that did not authenticate is named in the report: an API key only by what
/// identifies it (its alias or signing key ID), never its secret.
fn shown_principal(principal: &str) -> String {
    match bg_gates::api_key::describe(principal) {
        Ok(f) => format!("{} API key {}", f.kind.as_str(), f.id),
        Err(bg_gates::api_key::KeyError::Format) => principal.to_string(),
        Err(_) => "an API key that does not decode".to_string(),
    }
}

/// Every gate for one model call, through `bg_gates::decide` (the function serve decides with),
/// against the given or built state: credentials (when the principal is an access key of the
/// state), Region, IAM, model access (when the state describes it), the model's operations.
/// Quota and scripted faults live in serve's counters and are reported as not run.
pub fn check(input: &Input, catalog: &Catalog) -> Result<Report, CheckError> {
    // With a state, a principal that is not an ARN is an access key ID, checked by the
    // credentials gate as serve checks the key a request is signed with.
    let by_key = input.state.is_some() && !input.principal.starts_with("arn:");
    // A Bedrock API key (long- or short-term) of the state: the credentials gate checks it as
    // serve checks a bearer token.
    let bearer = by_key
        && (input
            .principal
            .starts_with(bg_gates::api_key::LONG_TERM_PREFIX)
            || input
                .principal
                .starts_with(bg_gates::api_key::SHORT_TERM_PREFIX));
    let key = input
        .state
        .as_ref()
        .filter(|_| by_key)
        .and_then(|s| s.keys.get(&input.principal).map(|k| (s, k)));
    let caller = match key {
        _ if bearer => input.state.as_ref().and_then(|s| {
            bg_gates::api_key::authenticate_bearer(
                s,
                &input.principal,
                &input.region,
                input.now_unix,
            )
            .ok()
        }),
        Some((s, k)) => s
            .principals
            .get(&k.principal_arn)
            .map(|p| Caller::from_key(k, p)),
        None if by_key => None,
        None => Some(caller_in(input)?),
    };
    let identifier = identifier(input, catalog)?;
    let state = match (&input.state, &caller) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => state_for(input, c)?,
        (None, None) => return Err(CheckError::Principal(input.principal.clone())),
    };
    let quotas = bg_gates::quota::Quotas::default();
    let snap = Snapshot {
        state: &state,
        catalog,
        quotas: &quotas,
        counters: None,
        access_known: input.state.is_some(),
    };
    let accept_any_signature = |_: &str| Ok(());
    let who = match (&caller, by_key) {
        _ if bearer => Who::Bearer(&input.principal),
        (Some(c), false) => Who::Authenticated(c),
        _ => Who::Presented(Presented {
            access_key: &input.principal,
            session_token: key.and_then(|(_, k)| k.session_token.as_deref()),
            method: AuthMethod::SigV4Header,
            signature: &accept_any_signature,
        }),
    };
    let call = Call {
        who,
        protocol: Protocol::Json,
        region: &input.region,
        source_ip: None,
        secure_transport: false,
        op: Operation::Invoke(Invoke {
            kind: input
                .operation
                .unwrap_or_else(|| invoke_kind(&input.action)),
            model_id: &identifier,
            payload: &Counted(0),
        }),
        now: input.now_unix,
    };
    let decision = bg_gates::decide_explained(&call, &snap);
    let mut report = Report {
        principal: caller
            .as_ref()
            .map(|c| c.arn.clone())
            .unwrap_or_else(|| shown_principal(&input.principal)),
        action: input.action.clone(),
        model_identifier: identifier.clone(),
        region: input.region.clone(),
        region_refusal: None,
        resources: Vec::new(),
        refusal: None,
        invalid: None,
        steps: Vec::new(),
        effects: decision.effects,
    };
    for step in decision.trace {
        for e in &step.evaluations {
            report.resources.push(ResourceDecision {
                arn: e.arn.clone(),
                context: e.context.clone(),
                deciding: deciding(&e.evaluation),
                evaluation: e.evaluation.clone(),
            });
        }
        report.steps.push(GateStep {
            gate: step.gate,
            outcome: match step.outcome {
                StepOutcome::Passed => "passed".into(),
                StepOutcome::Refused => "refused".into(),
                StepOutcome::Skipped(why) => format!("not checked: {why}"),
            },
            notes: step.notes,
        });
    }
    match decision.verdict {
        Ok(_) => {}
        Err(Refusal::Denied(d)) if d.gate == Gate::Region => report.region_refusal = Some(d),
        Err(Refusal::Denied(d)) => report.refusal = Some(d),
        Err(Refusal::Invalid(e)) => report.invalid = Some(e),
    }
    Ok(report)
}

/// The caller for a principal ARN: from the given state when it holds that principal (a role is
/// checked as a session of it), else synthetic from the ARN.
fn caller_in(input: &Input) -> Result<Caller, CheckError> {
    let mut caller = caller_from_arn(&input.principal)?;
    if let Some(state) = &input.state {
        let p = state
            .principals
            .get(&caller.entity_arn)
            .ok_or_else(|| CheckError::NotInState(input.principal.clone()))?;
        caller.user_id = match caller.kind {
            CallerKind::AssumedRole => {
                format!(
                    "{}:{}",
                    p.unique_id,
                    caller.arn.rsplit('/').next().unwrap_or("")
                )
            }
            _ => p.unique_id.clone(),
        };
        caller.tags = p.tags().clone();
    }
    if caller.kind == CallerKind::AssumedRole {
        caller.session = Some(bg_gates::Session {
            role_arn: caller.entity_arn.clone(),
            session_name: caller
                .arn
                .rsplit('/')
                .next()
                .unwrap_or("policy-check")
                .to_string(),
            policy: None,
            policy_arns: Vec::new(),
        });
    }
    Ok(caller)
}

/// The identifier called: the profile when one is given (it must route to the model).
fn identifier(input: &Input, catalog: &Catalog) -> Result<String, CheckError> {
    let Some(p) = &input.profile else {
        return Ok(input.model.clone());
    };
    let prof = catalog
        .profile(p)
        .ok_or_else(|| CheckError::UnknownProfile(p.clone()))?;
    let model_id = catalog
        .profile(&input.model)
        .map(|x| x.model_id.as_str())
        .unwrap_or(input.model.as_str());
    if prof.model_id != model_id {
        return Err(CheckError::ProfileModel {
            profile: p.clone(),
            routes: prof.model_id.clone(),
            model: input.model.clone(),
        });
    }
    Ok(p.clone())
}

/// The human form: every gate as decide ran it, IAM's resources, the verdict.
pub fn render(r: &Report, style: crate::style::Style) -> String {
    use crate::style::pad;
    let mut out = String::new();
    out.push_str(&format!(
        "{}{} {} from {} as {}\n",
        style.bold(&pad("call", 10)),
        r.action,
        r.model_identifier,
        r.region,
        r.principal
    ));
    for (i, step) in r.steps.iter().enumerate() {
        let label = if i == 0 { "gates" } else { "" };
        let outcome = match step.outcome.as_str() {
            "passed" => style.green("passed"),
            "refused" => style.red("refused"),
            other => style.dim(other),
        };
        out.push_str(&format!(
            "{}{} {}\n",
            style.bold(&pad(label, 10)),
            pad(step.gate, 13),
            outcome
        ));
        for n in &step.notes {
            out.push_str(&format!("{}{}\n", " ".repeat(24), style.dim(n)));
        }
    }
    if let Some(d) = &r.region_refusal {
        out.push_str(&format!(
            "{}{}\n{}{} {}: {}\n{}{}\n",
            style.bold(&pad("verdict", 10)),
            style.red("REFUSED at the Region gate"),
            style.bold(&pad("AWS says", 10)),
            d.error,
            d.status,
            d.message,
            style.bold(&pad("fix", 10)),
            d.fix
        ));
        return out;
    }
    for res in &r.resources {
        let painted = match res.evaluation.decision {
            Decision::Allowed => style.green("ALLOWED "),
            Decision::ImplicitlyDenied | Decision::ExplicitlyDenied => style.red("DENIED  "),
        };
        out.push_str(&format!(
            "{}{} {}\n",
            style.bold(&pad("resource", 10)),
            painted,
            res.arn
        ));
        for d in &res.deciding {
            out.push_str(&format!("{}{}\n", " ".repeat(19), d));
        }
        if !res.context.is_empty() {
            let ctx: Vec<String> = res
                .context
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            out.push_str(&format!(
                "{}{}\n",
                " ".repeat(19),
                style.dim(&ctx.join(", "))
            ));
        }
    }
    let verdict = |out: &mut String, words: String, error: &str, status: u16, message: &str| {
        out.push_str(&format!(
            "{}{}\n{}{} {}: {}\n",
            style.bold(&pad("verdict", 10)),
            style.red(&words),
            style.bold(&pad("AWS says", 10)),
            error,
            status,
            message,
        ));
    };
    match (&r.refusal, &r.invalid) {
        (Some(d), _) if d.gate == Gate::Iam => {
            out.push_str(&format!(
                "{}{}\n{}{}\n{}{}\n",
                style.bold(&pad("verdict", 10)),
                style.red("DENIED"),
                style.bold(&pad("AWS says", 10)),
                d.message,
                style.bold(&pad("fix", 10)),
                d.fix
            ));
        }
        (Some(d), _) => {
            let words = format!("REFUSED at the {} gate", d.gate.as_str());
            verdict(&mut out, words, d.error.as_str(), d.status, &d.message);
            out.push_str(&format!("{}{}\n", style.bold(&pad("fix", 10)), d.fix));
        }
        (None, Some(e)) => {
            let words = "REFUSED: the request is invalid for this model".to_string();
            verdict(&mut out, words, e.code.as_str(), e.status, &e.message);
        }
        (None, None) => out.push_str(&format!(
            "{}{}\n",
            style.bold(&pad("verdict", 10)),
            style.green("ALLOWED")
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "arn:aws:iam::111111111111:user/dev";
    const CLAUDE: &str = "anthropic.claude-3-7-sonnet-20250219-v1:0";

    fn doc(name: &str, text: &str) -> Doc {
        Doc {
            name: name.into(),
            text: text.into(),
        }
    }

    fn input(identity: &str, model: &str, region: &str, profile: Option<&str>) -> Input {
        Input {
            identity: vec![doc("dev.json", identity)],
            scp_levels: Vec::new(),
            full_aws_access: true,
            boundary: None,
            session: None,
            principal: USER.into(),
            model: model.into(),
            region: region.into(),
            profile: profile.map(str::to_string),
            action: "bedrock:InvokeModel".into(),
            now_unix: 1_800_000_000,
            state: None,
            operation: None,
        }
    }

    const CRIS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Cris","Effect":"Allow","Action":"bedrock:InvokeModel",
        "Resource":["arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                    "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0"]}]}"#;

    #[test]
    fn profile_call_allowed_on_every_resource() {
        let r = check(
            &input(CRIS, CLAUDE, "us-east-1", Some(&format!("us.{CLAUDE}"))),
            bg_catalog::catalog(),
        )
        .unwrap();
        assert!(r.allowed());
        assert_eq!(r.exit_code(), 0);
        let arns: Vec<&str> = r.resources.iter().map(|x| x.arn.as_str()).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0",
                "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0",
                "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0",
            ]
        );
        assert_eq!(
            r.resources[0].deciding,
            ["allowed by identity-based policy dev.json statement Cris (#0)"]
        );
        assert_eq!(
            r.resources[2].context,
            [
                ("aws:RequestedRegion".to_string(), "us-east-2".to_string()),
                (
                    "bedrock:InferenceProfileArn".to_string(),
                    "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0".to_string()
                )
            ]
        );
    }

    #[test]
    fn scp_restricting_regions_denies_a_destination_with_awss_message() {
        let mut i = input(CRIS, CLAUDE, "us-east-1", Some(&format!("us.{CLAUDE}")));
        i.scp_levels = vec![vec![doc(
            "regions.json",
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyOtherRegions","Effect":"Deny","Action":"bedrock:*","Resource":"*",
               "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}}]}"#,
        )]];
        let r = check(&i, bg_catalog::catalog()).unwrap();
        assert!(!r.allowed());
        assert_eq!(r.exit_code(), 2);
        assert_eq!(
            r.resources[2].evaluation.decision,
            Decision::ExplicitlyDenied
        );
        assert_eq!(
            r.resources[2].deciding,
            ["denied by service control policy regions.json statement DenyOtherRegions (#0)"]
        );
        assert_eq!(r.resources[3].evaluation.decision, Decision::Allowed);
        assert_eq!(
            r.refusal.unwrap().message,
            "User: arn:aws:iam::111111111111:user/dev is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0 with an explicit deny in a service control policy"
        );
    }

    #[test]
    fn an_allow_list_scp_without_full_access() {
        let mut i = input(CRIS, CLAUDE, "us-east-1", Some(&format!("us.{CLAUDE}")));
        i.scp_levels = vec![vec![doc(
            "s3only.json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )]];
        assert!(check(&i, bg_catalog::catalog()).unwrap().allowed());
        i.full_aws_access = false;
        let r = check(&i, bg_catalog::catalog()).unwrap();
        assert_eq!(
            r.resources[0].deciding,
            ["no service control policy allows it"]
        );
    }

    #[test]
    fn boundary_and_session_and_assumed_role() {
        let mut i = input(CRIS, CLAUDE, "us-east-1", Some(&format!("us.{CLAUDE}")));
        i.boundary = Some(doc(
            "boundary.json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:List*","Resource":"*"}]}"#,
        ));
        let r = check(&i, bg_catalog::catalog()).unwrap();
        assert!(r
            .refusal
            .unwrap()
            .message
            .ends_with("because no permissions boundary allows the bedrock:InvokeModel action"));
        i.boundary = None;
        i.principal = "arn:aws:sts::111111111111:assumed-role/app/s1".into();
        i.session = Some(doc(
            "session.json",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-1:*:inference-profile/*"}]}"#,
        ));
        let r = check(&i, bg_catalog::catalog()).unwrap();
        assert_eq!(r.resources[0].evaluation.decision, Decision::Allowed);
        assert_eq!(
            r.refusal.unwrap().message,
            "User: arn:aws:sts::111111111111:assumed-role/app/s1 is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0 because no session policy allows the bedrock:InvokeModel action"
        );
    }

    #[test]
    fn region_gate_refusal_comes_first() {
        let r = check(
            &input(CRIS, CLAUDE, "us-east-1", None),
            bg_catalog::catalog(),
        )
        .unwrap();
        assert_eq!(r.exit_code(), 3);
        assert!(r.region_refusal.unwrap().message.starts_with("Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u{2019}t supported."));
    }

    #[test]
    fn bad_inputs() {
        let mut i = input("{", CLAUDE, "us-east-1", None);
        assert!(check(&i, bg_catalog::catalog())
            .unwrap_err()
            .to_string()
            .starts_with("dev.json: Syntax errors in policy."));
        i = input(CRIS, CLAUDE, "us-east-1", Some("us.amazon.nova-lite-v1:0"));
        assert_eq!(
            check(&i, bg_catalog::catalog()).unwrap_err().to_string(),
            "--profile us.amazon.nova-lite-v1:0 routes to amazon.nova-lite-v1:0, not anthropic.claude-3-7-sonnet-20250219-v1:0"
        );
        i = input(CRIS, CLAUDE, "us-east-1", None);
        i.principal = "alice".into();
        assert!(matches!(
            check(&i, bg_catalog::catalog()),
            Err(CheckError::Principal(_))
        ));
    }
}
