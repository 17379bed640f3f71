//! One decision behind every face: a typed [`Call`] (who, where, what, when), one immutable
//! [`Snapshot`], and [`decide`], which runs the gates of [`GATES`] in order and returns the
//! admitted [`Plan`] or the [`Refusal`] of the first gate that is shut.
//!
//! Every face calls it: `serve` for every operation it answers, `policy check` offline against a
//! scenario's state, the doctor's local reasoning. A refusal is built only inside a gate (the
//! modules under `checks/`); a face renders it and never builds one itself.
//!
//! `decide` never writes the store. What a call changes (a Marketplace subscription started, a
//! failed attempt remembered) comes back as [`Decision::effects`] for the face to make durable.
//! The one thing it touches is the in-memory throughput counters handed in as [`Counters`]:
//! checking a quota and charging it must be one atomic step under concurrency, so the quota gate
//! charges as it admits (offline faces pass no counters and the gate reports it did not run).

use crate::authz::{Caller, RequestFacts};
use crate::checks;
use crate::quota::{FaultRule, Faults, Meter, Quotas};
use crate::region::Target;
use crate::state::{Change, State};
use crate::{Deny, ErrorCode, Gate};
use bg_catalog::{Catalog, Model};
use bg_sigv4::SigError;

/// Which wire protocol the call came by: the same refusal has a different code in each
/// (`UnrecognizedClientException` vs `InvalidClientTokenId`, `AccessDeniedException` vs
/// `AccessDenied`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// restJson1: bedrock, bedrock-runtime.
    Json,
    /// awsQuery: IAM, STS.
    Query,
}

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// SigV4 in the `Authorization` header.
    SigV4Header,
    /// SigV4 in the query string (a presigned URL).
    SigV4Presigned,
    /// An API key (`Authorization: Bearer …`).
    Bearer,
}

/// Who is calling.
pub enum Who<'a> {
    /// The request carries no usable signature: why, as bg-sigv4 read it.
    Unsigned(&'a SigError),
    /// Credentials as presented, not yet checked: the credentials gate looks the key up in the
    /// snapshot and runs `signature` with its secret.
    Presented(Presented<'a>),
    /// A Bedrock API key (`Authorization: Bearer …`), not yet checked.
    Bearer(&'a str),
    /// A caller the credentials gate admitted earlier in the same request (a face that
    /// authenticates before it routes and parses, then decides the operation).
    Authenticated(&'a Caller),
}

pub struct Presented<'a> {
    pub access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub method: AuthMethod,
    /// The signature check given the key's secret (pure: bg-sigv4 over the request as received).
    pub signature: &'a dyn Fn(&str) -> Result<(), SigError>,
}

/// The model operations of bedrock-runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvokeKind {
    Converse,
    ConverseStream,
    InvokeModel,
    InvokeModelWithResponseStream,
    CountTokens,
}

impl InvokeKind {
    /// The IAM action AWS checks.
    pub fn action(self) -> &'static str {
        match self {
            InvokeKind::Converse | InvokeKind::InvokeModel => "bedrock:InvokeModel",
            InvokeKind::ConverseStream | InvokeKind::InvokeModelWithResponseStream => {
                "bedrock:InvokeModelWithResponseStream"
            }
            InvokeKind::CountTokens => "bedrock:CountTokens",
        }
    }

    pub fn streams(self) -> bool {
        matches!(
            self,
            InvokeKind::ConverseStream | InvokeKind::InvokeModelWithResponseStream
        )
    }

    pub fn converse(self) -> bool {
        matches!(self, InvokeKind::Converse | InvokeKind::ConverseStream)
    }

    /// Runs inference (and so meets model access, the quota and the faults).
    pub fn infers(self) -> bool {
        self != InvokeKind::CountTokens
    }
}

/// The request body of a model call, as the gates need it: validated for the resolved model and
/// counted, after the access gates (a body is read for the model it is sent to).
pub trait Payload {
    /// The input tokens, or AWS's validation error for a body this model does not take.
    fn input_tokens(&self, model: &Model) -> Result<u32, AwsError>;
}

/// A payload already parsed and counted (Converse, whose shape does not depend on the model).
pub struct Counted(pub u32);

impl Payload for Counted {
    fn input_tokens(&self, _: &Model) -> Result<u32, AwsError> {
        Ok(self.0)
    }
}

pub struct Invoke<'a> {
    pub kind: InvokeKind,
    /// The `modelId` as called: a model ID or ARN, a profile ID or ARN.
    pub model_id: &'a str,
    pub payload: &'a dyn Payload,
}

/// One resource an API action is authorized on, with the condition keys the operation adds.
#[derive(Clone, Debug, Default)]
pub struct Resource {
    pub arn: String,
    pub context: Vec<(String, String)>,
    /// Multi-valued condition keys (`aws:TagKeys`, `aws:CalledVia`).
    pub multi: Vec<(String, Vec<String>)>,
    /// The words AWS names the resource by in a refusal, where they are not the ARN (IAM's list
    /// actions say `policy path /`).
    pub shown: Option<String>,
}

impl Resource {
    pub fn arn(arn: impl Into<String>) -> Resource {
        Resource {
            arn: arn.into(),
            ..Resource::default()
        }
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Resource {
        self.context.push((key.into(), value.into()));
        self
    }

    pub fn with_multi(mut self, key: impl Into<String>, values: Vec<String>) -> Resource {
        self.multi.push((key.into(), values));
        self
    }

    /// Add a condition key (as `bg_iam::Context::set` does).
    pub fn set(&mut self, key: impl AsRef<str>, value: impl Into<String>) -> &mut Resource {
        self.context.push((key.as_ref().to_string(), value.into()));
        self
    }

    /// Add a multi-valued condition key (as `bg_iam::Context::set_multi` does).
    pub fn set_multi<I, S>(&mut self, key: impl AsRef<str>, values: I) -> &mut Resource
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = values.into_iter().map(Into::into).collect();
        self.multi.push((key.as_ref().to_string(), values));
        self
    }

    /// Named `shown` in a refusal instead of the ARN.
    pub fn shown_as(mut self, shown: impl Into<String>) -> Resource {
        self.shown = Some(shown.into());
        self
    }
}

/// What the caller asks for.
pub enum Operation<'a> {
    /// Only the front door: who is this (a face that routes after authenticating).
    Authenticate,
    /// A model call.
    Invoke(Invoke<'a>),
    /// Any other action, authorized by IAM on `resources` (none: an action without a resource
    /// type, evaluated on `*`, whose refusal names no resource).
    Api {
        action: &'a str,
        resources: &'a [Resource],
    },
    /// `sts:AssumeRole` on a role: the caller's policies and the role's trust policy, which must
    /// itself allow the caller. `context`: the request's `sts:` condition keys.
    AssumeRole {
        role_arn: &'a str,
        context: &'a [(&'a str, &'a str)],
    },
}

/// One call, typed: who, where, what, when.
pub struct Call<'a> {
    pub who: Who<'a>,
    pub protocol: Protocol,
    /// The Region the request is signed for.
    pub region: &'a str,
    /// The peer address (`aws:SourceIp`).
    pub source_ip: Option<&'a str>,
    /// Came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    pub op: Operation<'a>,
    /// The gate clock (unix seconds): sessions, grants, subscriptions and quotas run on it.
    pub now: i64,
}

impl Call<'_> {
    /// The request facts every IAM evaluation of this call reads: built here once, for every face.
    pub fn facts(&self) -> RequestFacts {
        RequestFacts {
            region: self.region.to_string(),
            source_ip: self.source_ip.map(str::to_string),
            now_unix: self.now,
            secure_transport: self.secure_transport,
        }
    }
}

/// The live throughput counters: serve's, shared by every request. Offline faces pass none.
#[derive(Clone, Copy)]
pub struct Counters<'a> {
    pub meter: &'a Meter,
    pub faults: &'a Faults,
}

/// Everything a decision reads, immutable for the call.
#[derive(Clone, Copy)]
pub struct Snapshot<'a> {
    pub state: &'a State,
    pub catalog: &'a Catalog,
    pub quotas: &'a Quotas,
    pub counters: Option<Counters<'a>>,
    /// The state describes the account's model access (serve, or a scenario). `false` when a
    /// face built the state from policy files alone: the model-access gate then says it cannot
    /// know, instead of refusing an account nobody described.
    pub access_known: bool,
}

/// An AWS error that is not a gate's refusal: the request is invalid for the model it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub code: ErrorCode,
    pub status: u16,
    pub message: String,
}

impl AwsError {
    pub fn validation(message: impl Into<String>) -> AwsError {
        AwsError {
            code: ErrorCode::ValidationException,
            status: 400,
            message: message.into(),
        }
    }
}

/// Why a call is not admitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A gate is shut: AWS's error and our diagnosis.
    Denied(Deny),
    /// The request is invalid for the model (AWS's ValidationException); no gate is shut.
    Invalid(AwsError),
}

impl Refusal {
    pub fn gate(&self) -> Option<Gate> {
        match self {
            Refusal::Denied(d) => Some(d.gate),
            Refusal::Invalid(_) => None,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::Denied(d) => d.error,
            Refusal::Invalid(e) => e.code,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Refusal::Denied(d) => &d.message,
            Refusal::Invalid(e) => &e.message,
        }
    }
}

impl From<Deny> for Refusal {
    fn from(d: Deny) -> Refusal {
        Refusal::Denied(d)
    }
}

/// What an admitted call does, worked out by the gates.
#[derive(Clone, Debug, Default)]
pub struct Plan<'a> {
    /// The caller the credentials gate admitted (set when the call came [`Who::Presented`]).
    pub caller: Option<Caller>,
    /// What the model ID resolved to (model calls).
    pub target: Option<Target<'a>>,
    /// The Region that serves the call (a profile's destination; the signed Region otherwise).
    pub serving_region: Option<String>,
    /// The input tokens the request body counts (model calls).
    pub input_tokens: u32,
    /// The quota counter the call was charged to; its output tokens go there too.
    pub quota_key: Option<String>,
    /// A scripted mid-stream fault to inject into the answer.
    pub stream_fault: Option<FaultRule>,
}

/// How one gate went, for faces that explain (`policy check`, the doctor, the console).
#[derive(Clone, Debug)]
pub struct Step {
    pub gate: &'static str,
    pub outcome: StepOutcome,
    /// What the gate saw, in words (the model resolved, the quota in force, …).
    pub notes: Vec<String>,
    /// IAM: every resource evaluated, in order.
    pub evaluations: Vec<ResourceEvaluation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    Passed,
    Refused,
    /// The gate does not apply to this operation, or cannot run here (why).
    Skipped(String),
}

/// One resource IAM evaluated for the call.
#[derive(Clone, Debug)]
pub struct ResourceEvaluation {
    pub action: String,
    pub arn: String,
    /// The condition keys that differ from the call's base context.
    pub context: Vec<(String, String)>,
    pub evaluation: bg_iam::Evaluation,
}

/// The decision: admitted with a plan, or refused; and the state changes the call causes either
/// way (a refused first Marketplace call is remembered, which starts AWS's five-minute wait).
#[derive(Debug)]
pub struct Decision<'a> {
    pub verdict: Result<Plan<'a>, Refusal>,
    pub effects: Vec<Change>,
    /// Filled only by [`decide_explained`].
    pub trace: Vec<Step>,
}

/// The working set of one decision, handed from gate to gate.
pub struct Work<'w, 'a> {
    pub call: &'w Call<'w>,
    pub snap: &'w Snapshot<'a>,
    pub plan: Plan<'a>,
    pub effects: Vec<Change>,
    /// `Some` when the face asked for an explanation.
    pub trace: Option<Vec<Step>>,
    notes: Vec<String>,
    evaluations: Vec<ResourceEvaluation>,
}

impl<'a> Work<'_, 'a> {
    /// The caller: admitted by the credentials gate in this decision, or earlier in the request.
    pub fn caller(&self) -> Option<&Caller> {
        match (&self.plan.caller, &self.call.who) {
            (Some(c), _) => Some(c),
            (None, Who::Authenticated(c)) => Some(c),
            _ => None,
        }
    }

    /// Run `f` with the caller and the work, without cloning the caller (a gate that reads it
    /// while it writes the plan). `None` when no caller was admitted.
    pub fn with_caller<R>(&mut self, f: impl FnOnce(&mut Self, &Caller) -> R) -> Option<R> {
        let owned = self.plan.caller.take();
        let call = self.call;
        let r = match (&owned, &call.who) {
            (Some(c), _) => Some(f(self, c)),
            (None, Who::Authenticated(c)) => Some(f(self, c)),
            _ => None,
        };
        self.plan.caller = owned;
        r
    }

    pub fn explaining(&self) -> bool {
        self.trace.is_some()
    }

    /// Note what the gate saw (kept only when explaining; `f` runs only then).
    pub fn note(&mut self, f: impl FnOnce() -> String) {
        if self.trace.is_some() {
            self.notes.push(f());
        }
    }

    pub fn record_evaluation(&mut self, e: impl FnOnce() -> ResourceEvaluation) {
        if self.trace.is_some() {
            self.evaluations.push(e());
        }
    }
}

/// A gate: one small module under `checks/`. It looks at the call and the snapshot, fills in the
/// plan, and either lets the call through or builds the refusal.
pub trait GateCheck: Sync {
    /// The name in traces (`credentials`, `region`, `iam`, `model-access`, …).
    fn name(&self) -> &'static str;
    /// Whether the gate has anything to say about this call; a gate that does not apply is
    /// skipped (and says why in a trace).
    fn applies(&self, call: &Call, snap: &Snapshot) -> Result<(), &'static str>;
    fn check(&self, w: &mut Work) -> Result<(), Refusal>;
}

/// The gates, in the order AWS meets them. A new gate is one module under `checks/` and one line
/// here.
pub static GATES: &[&dyn GateCheck] = &[
    &checks::credentials::Credentials,
    &checks::region::RegionGate,
    &checks::iam::Iam,
    &checks::model_access::ModelAccessGate,
    &checks::request::ModelRequest,
    &checks::faults::ScriptedFaults,
    &checks::quota::Throughput,
];

/// Decide one call against one snapshot.
pub fn decide<'a>(call: &Call, snap: &Snapshot<'a>) -> Decision<'a> {
    run(call, snap, false)
}

/// [`decide`], with every gate's outcome and IAM's per-resource evaluations in `trace`.
pub fn decide_explained<'a>(call: &Call, snap: &Snapshot<'a>) -> Decision<'a> {
    run(call, snap, true)
}

fn run<'a>(call: &Call, snap: &Snapshot<'a>, explain: bool) -> Decision<'a> {
    let mut w = Work {
        call,
        snap,
        plan: Plan::default(),
        effects: Vec::new(),
        trace: explain.then(Vec::new),
        notes: Vec::new(),
        evaluations: Vec::new(),
    };
    for gate in GATES {
        if let Err(why) = gate.applies(call, snap) {
            // Built only for a trace: serve's calls skip gates with no trace to fill.
            push_step(&mut w, gate.name(), || {
                StepOutcome::Skipped(why.to_string())
            });
            continue;
        }
        let r = gate.check(&mut w);
        let outcome = if r.is_ok() {
            StepOutcome::Passed
        } else {
            StepOutcome::Refused
        };
        push_step(&mut w, gate.name(), || outcome);
        if let Err(refusal) = r {
            return Decision {
                verdict: Err(refusal),
                effects: w.effects,
                trace: w.trace.unwrap_or_default(),
            };
        }
    }
    Decision {
        verdict: Ok(w.plan),
        effects: w.effects,
        trace: w.trace.unwrap_or_default(),
    }
}

fn push_step(w: &mut Work, gate: &'static str, outcome: impl FnOnce() -> StepOutcome) {
    if let Some(t) = &mut w.trace {
        t.push(Step {
            gate,
            outcome: outcome(),
            notes: std::mem::take(&mut w.notes),
            evaluations: std::mem::take(&mut w.evaluations),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AccessKey, Entity, Principal};

    const ALLOW_ALL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

    fn state() -> State {
        let s = State::default();
        let s = s.with_changes(&s.bootstrap_changes());
        let mut dev = Principal::user("000000000000", "dev", "/");
        dev.inline_policies_mut()
            .insert("all".into(), ALLOW_ALL.to_string());
        let none = Principal::user("000000000000", "none", "/");
        let key = |id: &str, p: &Principal| {
            Change::Put(Entity::AccessKey(AccessKey {
                access_key_id: id.into(),
                secret_access_key: format!("{id}-secret"),
                principal_arn: p.arn.clone(),
                account: "000000000000".into(),
                session_token: None,
                expires_unix: None,
                active: true,
                session: None,
                created_unix: 0,
            }))
        };
        s.with_changes(&[
            Change::Put(Entity::Principal(dev.clone())),
            Change::Put(Entity::Principal(none.clone())),
            key("AKIADEV", &dev),
            key("AKIANONE", &none),
        ])
    }

    fn decide_for<'a>(
        state: &'a State,
        quotas: &'a Quotas,
        key: &str,
        protocol: Protocol,
        model_id: &str,
        kind: InvokeKind,
    ) -> Decision<'a> {
        invoke_by(
            state,
            quotas,
            key,
            protocol,
            model_id,
            kind,
            "127.0.0.1",
            true,
        )
    }

    /// A Converse by `key` from `source_ip`, decided as serve decides (not explaining).
    fn converse_from<'a>(
        state: &'a State,
        quotas: &'a Quotas,
        key: &str,
        source_ip: &str,
    ) -> Decision<'a> {
        let nova = "amazon.nova-lite-v1:0";
        invoke_by(
            state,
            quotas,
            key,
            Protocol::Json,
            nova,
            InvokeKind::Converse,
            source_ip,
            false,
        )
    }

    /// A model call signed by `key` (a secret ending in `-secret`, or `test`, verifies).
    #[allow(clippy::too_many_arguments)]
    fn invoke_by<'a>(
        state: &'a State,
        quotas: &'a Quotas,
        key: &str,
        protocol: Protocol,
        model_id: &str,
        kind: InvokeKind,
        source_ip: &str,
        explain: bool,
    ) -> Decision<'a> {
        let sig = |secret: &str| {
            if secret.ends_with("-secret") || secret == "test" {
                Ok(())
            } else {
                Err(SigError::Missing)
            }
        };
        let payload = Counted(3);
        let call = Call {
            who: Who::Presented(Presented {
                access_key: key,
                session_token: None,
                method: AuthMethod::SigV4Header,
                signature: &sig,
            }),
            protocol,
            region: "us-east-1",
            source_ip: Some(source_ip),
            secure_transport: false,
            op: Operation::Invoke(Invoke {
                kind,
                model_id,
                payload: &payload,
            }),
            now: 1_800_000_000,
        };
        let snap = Snapshot {
            state,
            catalog: bg_catalog::catalog(),
            quotas,
            counters: None,
            access_known: true,
        };
        if explain {
            decide_explained(&call, &snap)
        } else {
            decide(&call, &snap)
        }
    }

    /// Issue 11: an allowed IAM decision that read no context is kept in its snapshot and
    /// reused; a policy change makes a new snapshot whose cache is empty, so the very next
    /// call is decided by the new policy.
    #[test]
    fn a_policy_change_is_seen_by_the_next_call_with_the_decision_cache_warm() {
        let q = Quotas::default();
        let s = state();
        assert!(converse_from(&s, &q, "AKIADEV", "127.0.0.1")
            .verdict
            .is_ok());
        assert_eq!(s.decisions.len(), 1, "the allow is kept");
        assert!(converse_from(&s, &q, "AKIADEV", "127.0.0.1")
            .verdict
            .is_ok());
        assert_eq!(s.decisions.len(), 1);
        // Explaining neither reads nor fills the cache: every gate's evaluation is shown.
        let explained = decide_for(
            &s,
            &q,
            "AKIADEV",
            Protocol::Json,
            "amazon.nova-lite-v1:0",
            InvokeKind::Converse,
        );
        assert!(explained.verdict.is_ok());
        assert!(explained
            .trace
            .iter()
            .any(|step| !step.evaluations.is_empty()));

        let mut dev = s
            .principals
            .get("arn:aws:iam::000000000000:user/dev")
            .unwrap()
            .clone();
        dev.inline_policies_mut().insert(
            "no-nova".into(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0"}]}"#.into(),
        );
        let next = s.with_changes(&[Change::Put(Entity::Principal(dev))]);
        assert!(next.decisions.is_empty());
        let r = converse_from(&next, &q, "AKIADEV", "127.0.0.1")
            .verdict
            .unwrap_err();
        assert_eq!(
            r.message(),
            "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 with an explicit deny in an identity-based policy"
        );
        assert!(next.decisions.is_empty(), "a refusal is never kept");
        // The old snapshot, still read by calls already under way, keeps its own answer.
        assert!(converse_from(&s, &q, "AKIADEV", "127.0.0.1")
            .verdict
            .is_ok());
    }

    /// A decision that read the context (here `aws:SourceIp`) is never kept: the next call
    /// from elsewhere is evaluated afresh.
    #[test]
    fn a_decision_that_read_the_context_is_not_kept() {
        let q = Quotas::default();
        let s = state();
        let mut dev = s
            .principals
            .get("arn:aws:iam::000000000000:user/dev")
            .unwrap()
            .clone();
        dev.inline_policies_mut().insert(
            "all".into(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}"#.into(),
        );
        let s = s.with_changes(&[Change::Put(Entity::Principal(dev))]);
        assert!(converse_from(&s, &q, "AKIADEV", "127.0.0.1")
            .verdict
            .is_ok());
        assert!(s.decisions.is_empty());
        let r = converse_from(&s, &q, "AKIADEV", "10.1.2.3")
            .verdict
            .unwrap_err();
        assert_eq!(
            (r.gate(), r.code()),
            (Some(Gate::Iam), ErrorCode::AccessDeniedException)
        );
    }

    #[test]
    fn the_registry_runs_the_gates_in_awss_order() {
        let names: Vec<&str> = GATES.iter().map(|g| g.name()).collect();
        assert_eq!(
            names,
            [
                "credentials",
                "region",
                "iam",
                "model-access",
                "request",
                "faults",
                "quota"
            ]
        );
    }

    #[test]
    fn admitted_call_plans_the_target_and_says_what_did_not_run() {
        let (s, q) = (state(), Quotas::default());
        let d = decide_for(
            &s,
            &q,
            "AKIADEV",
            Protocol::Json,
            "amazon.nova-lite-v1:0",
            InvokeKind::Converse,
        );
        let plan = d.verdict.unwrap();
        assert_eq!(plan.target.unwrap().model.id, "amazon.nova-lite-v1:0");
        assert_eq!(plan.serving_region.as_deref(), Some("us-east-1"));
        assert_eq!(plan.input_tokens, 3);
        let outcomes: Vec<(&str, StepOutcome)> = d
            .trace
            .iter()
            .map(|s| (s.gate, s.outcome.clone()))
            .collect();
        assert_eq!(
            outcomes[..5].iter().map(|o| &o.1).collect::<Vec<_>>(),
            [&StepOutcome::Passed; 5]
        );
        assert!(
            matches!(&outcomes[5].1, StepOutcome::Skipped(w) if w == "the fault counters live in serve")
        );
        assert!(d.effects.is_empty());
    }

    #[test]
    fn end_of_life_is_the_region_gates_refusal() {
        let (s, q) = (state(), Quotas::default());
        let d = decide_for(
            &s,
            &q,
            "AKIADEV",
            Protocol::Json,
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            InvokeKind::InvokeModel,
        );
        let Err(Refusal::Denied(deny)) = d.verdict else {
            panic!("not refused")
        };
        assert_eq!(
            (deny.gate, deny.error, deny.status, deny.message.as_str()),
            (
                Gate::Region,
                ErrorCode::ResourceNotFoundException,
                404,
                "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
            )
        );
    }

    #[test]
    fn credentials_and_iam_refuse_in_each_protocols_words() {
        let (s, q) = (state(), Quotas::default());
        let d = decide_for(
            &s,
            &q,
            "AKIAUNKNOWN",
            Protocol::Query,
            "amazon.nova-lite-v1:0",
            InvokeKind::Converse,
        );
        assert_eq!(
            d.verdict.unwrap_err().code(),
            ErrorCode::InvalidClientTokenId
        );
        let d = decide_for(
            &s,
            &q,
            "AKIAUNKNOWN",
            Protocol::Json,
            "amazon.nova-lite-v1:0",
            InvokeKind::Converse,
        );
        assert_eq!(
            d.verdict.unwrap_err().code(),
            ErrorCode::UnrecognizedClientException
        );
        let d = decide_for(
            &s,
            &q,
            "AKIANONE",
            Protocol::Json,
            "amazon.nova-lite-v1:0",
            InvokeKind::Converse,
        );
        let r = d.verdict.unwrap_err();
        assert_eq!(
            (r.gate(), r.code()),
            (Some(Gate::Iam), ErrorCode::AccessDeniedException)
        );
        assert_eq!(
            r.message(),
            "User: arn:aws:iam::000000000000:user/none is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 because no identity-based policy allows the bedrock:InvokeModel action"
        );
        let d = decide_for(
            &s,
            &q,
            "AKIANONE",
            Protocol::Query,
            "amazon.nova-lite-v1:0",
            InvokeKind::Converse,
        );
        assert_eq!(d.verdict.unwrap_err().code(), ErrorCode::AccessDenied);
    }

    #[test]
    fn a_model_that_does_not_chat_is_an_invalid_request_not_a_shut_gate() {
        let (s, q) = (state(), Quotas::default());
        let d = decide_for(
            &s,
            &q,
            "AKIADEV",
            Protocol::Json,
            "amazon.titan-embed-text-v2:0",
            InvokeKind::Converse,
        );
        assert_eq!(
            d.verdict.unwrap_err(),
            Refusal::Invalid(AwsError::validation(crate::checks::request::NOT_CHAT))
        );
    }
}
