//! Gate 2, IAM: which policies apply to a caller, compiled once per snapshot, and the decision
//! for one action on one resource with AWS's exact refusal.

use crate::state::{
    AccessKey, Change, Group, Interned, PersistentMap, Principal, PrincipalKind, Session, State,
};
use crate::{Deny, ErrorCode, Gate};
use bg_iam::{Context, Evaluation, NamedPolicy, Policies, Policy, PolicyKind};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Policies compiled from the state, by principal and account, so the request path never
/// parses a document. Every map is persistent ([`PersistentMap`]): a snapshot write clones it in
/// O(1) and [`Compiled::update`] recompiles only the entries the write touched. A managed policy
/// is compiled once; the identity sets that attach it share its statements (`bg_iam::Policy`
/// keeps them behind an `Arc`).
#[derive(Clone, Debug, Default)]
pub struct Compiled {
    /// principal (user/role) ARN → identity policies (inline, attached, and its groups'), for
    /// the principals with an inline policy or a group only: the others' sets are
    /// [`Compiled::shared_sets`]; read either through [`Compiled::identity_of`].
    pub identity: PersistentMap<Arc<Vec<NamedPolicy>>>,
    /// principal ARN → permissions boundary.
    pub boundary: PersistentMap<Arc<NamedPolicy>>,
    /// member account → SCP levels (root first, then each OU, then the account).
    pub scps: PersistentMap<Arc<Vec<Vec<NamedPolicy>>>>,
    /// managed policy ARN → its default version, as an identity policy (for session policy ARNs).
    pub managed: PersistentMap<Arc<NamedPolicy>>,
    /// session access key → its session policies (inline and managed ARNs), compiled.
    pub sessions: PersistentMap<Arc<Vec<NamedPolicy>>>,
    /// Identity sets made of managed policies only (no inline policy, no group), by the
    /// attached ARNs in order, joined by newlines (see [`shared_key`]): principals that attach
    /// the same policies (most, in a large account) share one set, found from the principal's
    /// own record at each call, so that such a principal costs no compiled entry of its own
    /// (memory and start time at 10,000 principals, issue 11).
    pub shared_sets: PersistentMap<Arc<Vec<NamedPolicy>>>,
    /// Documents that did not compile (they were validated on write, so this stays empty unless
    /// the database was edited by hand).
    pub errors: Vec<String>,
}

/// What a write touched, by ID: the compiled entries that depend on these are recompiled.
#[derive(Debug, Default)]
pub struct Touched {
    pub principals: HashSet<String>,
    pub groups: HashSet<String>,
    pub policies: HashSet<String>,
    pub keys: HashSet<String>,
    pub organizations: bool,
}

impl Touched {
    /// Records what `change` touches.
    pub fn add(&mut self, change: &Change) {
        let (kind, id) = match change {
            Change::Put(e) => (e.kind(), e.id()),
            Change::Delete { kind, id } => (*kind, id.clone()),
        };
        match kind {
            "principal" => {
                self.principals.insert(id);
            }
            "group" => {
                self.groups.insert(id);
            }
            "managed-policy" => {
                self.policies.insert(id);
            }
            "access-key" => {
                self.keys.insert(id);
            }
            "organization" => self.organizations = true,
            _ => {}
        }
    }
}

fn compile(
    name: &str,
    arn: Option<&str>,
    doc: &str,
    kind: PolicyKind,
    errors: &mut Vec<String>,
) -> Option<NamedPolicy> {
    match Policy::parse(doc, kind) {
        Ok(p) => {
            let mut np = NamedPolicy::new(name, p);
            if let Some(a) = arn {
                np = np.with_arn(a);
            }
            Some(np)
        }
        Err(e) => {
            errors.push(format!("{name}: {e}"));
            None
        }
    }
}

/// The group a principal names by `name` in its account: by its ARN at path `/`, else by name.
fn group_of<'s>(state: &'s State, account: &str, name: &str) -> Option<&'s Group> {
    let garn = format!("arn:aws:iam::{account}:group/{name}");
    state.groups.get(&garn).or_else(|| {
        state
            .groups
            .values()
            .find(|x| x.account == account && x.name == name)
    })
}

/// Whether a principal's identity set is one of [`Compiled::shared_sets`]: a user or role
/// with managed policies only.
fn uses_shared_set(p: &Principal) -> bool {
    !matches!(p.kind, PrincipalKind::Root)
        && p.inline_policies().is_empty()
        && p.groups().is_empty()
}

/// The [`Compiled::shared_sets`] key of a list of attached ARNs: joined by newlines (no ARN
/// holds one). Borrowed for the usual single policy, so the request path allocates nothing.
fn shared_key(arns: &[Interned]) -> std::borrow::Cow<'_, str> {
    match arns {
        [] => "".into(),
        [one] => one.as_str().into(),
        many => many.join("\n").into(),
    }
}

impl Compiled {
    /// Everything compiled from `state`: what [`Compiled::update`] gives with everything
    /// touched, without building the sets of what was touched (a start with 10,000
    /// principals would copy every ID twice).
    pub fn build(state: &State) -> Compiled {
        let mut c = Compiled::default();
        let mut errors = Vec::new();
        for (arn, p) in &state.policies {
            c.compile_managed(arn, Some(p), &mut errors);
        }
        // Principals that attach the same policies as the one before (at scale, most: all of
        // a scale test's) need nothing compiled: the shared set the one before found or made
        // is theirs too, and a full build has no entry of theirs to remove. Skipping them
        // saves a hash of the key and a lookup each (issue 11: restart time).
        let mut last_shared: Option<&[Interned]> = None;
        for (arn, p) in &state.principals {
            if matches!(p.kind, PrincipalKind::Root) {
                continue;
            }
            let shared = uses_shared_set(p) && p.permissions_boundary().is_none();
            if shared && last_shared == Some(p.attached_policies.as_slice()) {
                continue;
            }
            c.compile_record(state, arn, p, &mut errors);
            if shared {
                last_shared = Some(&p.attached_policies);
            }
        }
        for (id, k) in &state.keys {
            if k.session.is_some() {
                c.compile_session(state, id, &mut errors);
            }
        }
        c.compile_scps(state, &mut errors);
        c.record(errors);
        c
    }

    /// The identity policies of the principal (user or role) at `arn` in `state`, the
    /// snapshot this was compiled with; none for root or an unknown ARN.
    pub fn identity_of<'a>(&'a self, state: &'a State, arn: &str) -> &'a [NamedPolicy] {
        if let Some(own) = self.identity.get(arn) {
            return own;
        }
        match state.principals.get(arn) {
            Some(p) if uses_shared_set(p) => self
                .shared_sets
                .get(&*shared_key(&p.attached_policies))
                .map_or(&[], |set| set.as_slice()),
            _ => &[],
        }
    }

    fn compile_managed(
        &mut self,
        arn: &str,
        policy: Option<&crate::state::ManagedPolicy>,
        errors: &mut Vec<String>,
    ) {
        let compiled = policy.and_then(|p| {
            let doc = p.default_document()?;
            compile(&p.name, Some(arn), doc, PolicyKind::Identity, errors)
        });
        match compiled {
            Some(np) => self.managed.insert(arn.to_string(), Arc::new(np)),
            None => {
                self.managed.remove(arn);
            }
        }
    }

    fn record(&mut self, errors: Vec<String>) {
        for e in errors {
            if !self.errors.contains(&e) {
                self.errors.push(e);
            }
        }
    }

    /// Recompiles what depends on `touched` against `state` (the snapshot after the write):
    /// the touched managed policies, then the principals that are touched or attach one of
    /// them (directly, through a touched group, or as boundary), the session keys likewise, and
    /// the SCPs when an organization changed. A write that touches no policy or group (a new
    /// user, a key) costs O(what it touched); one that changes a managed policy or a group also
    /// reads (but does not recompile) every principal, to find who attaches it.
    pub fn update(&mut self, state: &State, touched: &Touched) {
        let mut errors = Vec::new();
        for arn in &touched.policies {
            self.compile_managed(arn, state.policies.get(arn), &mut errors);
        }
        // A shared set that holds a changed policy is stale: drop it, and the principals that
        // use it (all affected below) build it anew.
        if !touched.policies.is_empty() {
            let stale: Vec<String> = self
                .shared_sets
                .keys()
                .filter(|k| k.split('\n').any(|a| touched.policies.contains(a)))
                .cloned()
                .collect();
            for k in stale {
                self.shared_sets.remove(&k);
            }
        }
        let principals = self.affected_principals(state, touched);
        for arn in &principals {
            self.compile_principal(state, arn, &mut errors);
        }
        let mut keys: Vec<&String> = touched.keys.iter().collect();
        if !touched.policies.is_empty() {
            keys.extend(state.keys.iter().filter_map(|(id, k)| {
                let s = k.session.as_ref()?;
                let hit = s.policy_arns.iter().any(|a| touched.policies.contains(a));
                (hit && !touched.keys.contains(id)).then_some(id)
            }));
        }
        for id in keys {
            self.compile_session(state, id, &mut errors);
        }
        if touched.organizations {
            self.compile_scps(state, &mut errors);
        }
        self.record(errors);
    }

    /// The principals whose compiled entries `touched` can change.
    fn affected_principals(&self, state: &State, touched: &Touched) -> HashSet<String> {
        let mut out = touched.principals.clone();
        if touched.policies.is_empty() && touched.groups.is_empty() {
            return out;
        }
        // Groups are few: those touched, or attaching a touched policy, by (account, name).
        let groups: HashSet<(&str, &str)> = state
            .groups
            .iter()
            .filter(|(arn, g)| {
                touched.groups.contains(*arn)
                    || g.attached_policies
                        .iter()
                        .any(|a| touched.policies.contains(a.as_str()))
            })
            .map(|(_, g)| (g.account.as_str(), g.name.as_str()))
            .collect();
        // A deleted group is gone from the state: its members still name it.
        let gone: Vec<&str> = touched
            .groups
            .iter()
            .filter(|a| !state.groups.contains_key(a.as_str()))
            .map(|a| a.rsplit('/').next().unwrap_or(a))
            .collect();
        for (arn, p) in &state.principals {
            if out.contains(arn) {
                continue;
            }
            let hit = p
                .attached_policies
                .iter()
                .any(|a| touched.policies.contains(a.as_str()))
                || p.permissions_boundary()
                    .is_some_and(|b| touched.policies.contains(b))
                || p.groups().iter().any(|g| {
                    groups.contains(&(p.account.as_str(), g.as_str())) || gone.contains(&g.as_str())
                });
            if hit {
                out.insert(arn.clone());
            }
        }
        out
    }

    /// The identity set and boundary of one principal (removed when it is gone or is root).
    fn compile_principal(&mut self, state: &State, arn: &str, errors: &mut Vec<String>) {
        match state.principals.get(arn) {
            Some(p) if !matches!(p.kind, PrincipalKind::Root) => {
                self.compile_record(state, arn, p, errors)
            }
            _ => {
                self.identity.remove(arn);
                self.boundary.remove(arn);
            }
        }
    }

    /// [`Compiled::compile_principal`] for the user or role `p`, stored at `arn`. The removals
    /// are skipped while their map is empty (a full build): each would hash the ARN.
    fn compile_record(
        &mut self,
        state: &State,
        arn: &str,
        p: &Principal,
        errors: &mut Vec<String>,
    ) {
        if uses_shared_set(p) {
            let key = shared_key(&p.attached_policies);
            if !self.shared_sets.contains_key(&*key) {
                let set = Arc::new(self.attached_set(&p.attached_policies));
                self.shared_sets.insert(key.into_owned(), set);
            }
            if !self.identity.is_empty() {
                self.identity.remove(arn);
            }
        } else {
            let set = Arc::new(self.own_set(state, p, errors));
            self.identity.insert(arn.to_string(), set);
        }
        let boundary = p.permissions_boundary().and_then(|b| {
            let m = state.policies.get(b)?;
            compile(
                &m.name,
                Some(b),
                m.default_document()?,
                PolicyKind::Boundary,
                errors,
            )
        });
        match boundary {
            Some(np) => self.boundary.insert(arn.to_string(), Arc::new(np)),
            None if self.boundary.is_empty() => {}
            None => {
                self.boundary.remove(arn);
            }
        }
    }

    /// The compiled managed policies `arns` names, in order (a missing one is skipped).
    fn attached_set(&self, arns: &[Interned]) -> Vec<NamedPolicy> {
        arns.iter()
            .filter_map(|a| self.managed.get(a.as_str()).map(|np| (**np).clone()))
            .collect()
    }

    /// The identity set of a principal with inline policies or groups: its inline policies,
    /// its attached ones, then each group's inline and attached ones.
    fn own_set(&self, state: &State, p: &Principal, errors: &mut Vec<String>) -> Vec<NamedPolicy> {
        let mut set = Vec::new();
        for (name, doc) in p.inline_policies() {
            set.extend(compile(name, None, doc, PolicyKind::Identity, errors));
        }
        set.extend(self.attached_set(&p.attached_policies));
        for g in p.groups() {
            if let Some(group) = group_of(state, &p.account, g) {
                for (name, doc) in &group.inline_policies {
                    set.extend(compile(name, None, doc, PolicyKind::Identity, errors));
                }
                set.extend(self.attached_set(&group.attached_policies));
            }
        }
        set
    }

    /// The session policies of one access key (none: no entry).
    fn compile_session(&mut self, state: &State, id: &str, errors: &mut Vec<String>) {
        let mut v = Vec::new();
        if let Some(s) = state.keys.get(id).and_then(|k| k.session.as_ref()) {
            if let Some(doc) = &s.policy {
                v.extend(compile(
                    "session policy",
                    None,
                    doc,
                    PolicyKind::Session,
                    errors,
                ));
            }
            for a in &s.policy_arns {
                if let Some(np) = self.managed.get(a) {
                    v.push((**np).clone());
                }
            }
        }
        if v.is_empty() {
            self.sessions.remove(id);
        } else {
            self.sessions.insert(id.to_string(), Arc::new(v));
        }
    }

    /// Every member account's SCP levels (organizations are few; rebuilt whole).
    fn compile_scps(&mut self, state: &State, errors: &mut Vec<String>) {
        self.scps = PersistentMap::new();
        for org in state.organizations.values() {
            for account in org.account_parents.keys() {
                if *account == org.management_account {
                    continue; // SCPs never apply to the management account
                }
                let Some(chain) = org.chain(account) else {
                    continue;
                };
                let mut levels = Vec::new();
                for target in &chain {
                    let mut level = Vec::new();
                    for scp in org
                        .policies
                        .iter()
                        .filter(|p| p.targets.iter().any(|t| t == target))
                    {
                        // An SCP without an ID (one read from a file by `policy check`) has no
                        // ARN to quote in a refusal.
                        let arn = (!scp.id.is_empty()).then(|| org.policy_arn(&scp.id));
                        level.extend(compile(
                            &scp.name,
                            arn.as_deref(),
                            &scp.document,
                            PolicyKind::Scp,
                            errors,
                        ));
                    }
                    levels.push(level);
                }
                self.scps.insert(account.clone(), Arc::new(levels));
            }
        }
    }
}

/// Who is calling, as IAM sees it.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The ARN AWS names in refusals and GetCallerIdentity (assumed-role ARN for sessions).
    pub arn: String,
    pub account: String,
    /// GetCallerIdentity's UserId (`AROA…:session` for sessions).
    pub user_id: String,
    /// The IAM entity whose policies apply (the role for a session).
    pub entity_arn: String,
    pub kind: CallerKind,
    pub access_key: String,
    pub session: Option<Session>,
    pub tags: BTreeMap<String, String>,
    /// Came with a Bedrock API key (which kind), not SigV4: IAM also checks
    /// `bedrock:CallWithBearerToken` for it.
    pub bearer: Option<crate::api_key::BearerKind>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerKind {
    Root,
    User,
    AssumedRole,
}

impl Caller {
    pub fn from_key(key: &AccessKey, principal: &Principal) -> Caller {
        match &key.session {
            Some(s) => Caller {
                arn: s.assumed_role_arn(),
                account: principal.account.to_string(),
                user_id: format!("{}:{}", principal.unique_id, s.session_name),
                entity_arn: principal.arn.clone(),
                kind: CallerKind::AssumedRole,
                access_key: key.access_key_id.clone(),
                session: Some((**s).clone()),
                tags: principal.tags().clone(),
                bearer: None,
            },
            None => Caller {
                arn: principal.arn.clone(),
                account: principal.account.to_string(),
                user_id: principal.unique_id.clone(),
                entity_arn: principal.arn.clone(),
                kind: if matches!(principal.kind, PrincipalKind::Root) {
                    CallerKind::Root
                } else {
                    CallerKind::User
                },
                access_key: key.access_key_id.clone(),
                session: None,
                tags: principal.tags().clone(),
                bearer: None,
            },
        }
    }

    fn iam_principal(&self) -> bg_iam::Principal {
        let mut p = bg_iam::Principal::from_arn(&self.arn);
        p.tags = self.tags.clone();
        p
    }
}

/// The request facts AWS supplies as global condition keys.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    pub region: String,
    pub source_ip: Option<String>,
    pub now_unix: i64,
    pub secure_transport: bool,
}

pub fn base_context(caller: &Caller, facts: &RequestFacts) -> Context {
    let mut ctx = Context::new();
    ctx.set_static("aws:requestedregion", facts.region.clone());
    ctx.set_static("aws:principalarn", caller.entity_arn.clone());
    ctx.set_static("aws:principalaccount", caller.account.clone());
    ctx.set_static("aws:userid", caller.user_id.clone());
    ctx.set_static(
        "aws:securetransport",
        if facts.secure_transport {
            "true"
        } else {
            "false"
        },
    );
    ctx.set_static("aws:epochtime", facts.now_unix.to_string());
    if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(facts.now_unix) {
        if let Ok(s) = t.format(&time::format_description::well_known::Rfc3339) {
            ctx.set_static("aws:currenttime", s);
        }
    }
    if let Some(ip) = &facts.source_ip {
        ctx.set_static("aws:sourceip", ip.clone());
    }
    match caller.kind {
        CallerKind::User => {
            ctx.set_static("aws:principaltype", "User");
            let name = caller.arn.rsplit('/').next().unwrap_or("");
            ctx.set_static("aws:username", name.to_string());
        }
        CallerKind::Root => {
            ctx.set_static("aws:principaltype", "Account");
        }
        CallerKind::AssumedRole => {
            ctx.set_static("aws:principaltype", "AssumedRole");
        }
    }
    for (k, v) in &caller.tags {
        ctx.set(format!("aws:PrincipalTag/{k}"), v.clone());
    }
    ctx
}

/// Evaluate one action on one resource for the caller, through every layer that applies.
pub fn evaluate(
    state: &State,
    caller: &Caller,
    action: &str,
    resource: &str,
    ctx: Context,
) -> Evaluation {
    evaluate_reporting(state, caller, action, resource, ctx).0
}

/// [`evaluate`], and whether the decision read the request's context (see
/// [`bg_iam::evaluate_reporting`]; with several session policies, whether any of them did).
pub fn evaluate_reporting(
    state: &State,
    caller: &Caller,
    action: &str,
    resource: &str,
    ctx: Context,
) -> (Evaluation, bool) {
    let req = bg_iam::Request {
        principal: caller.iam_principal(),
        action: action.to_string(),
        resource: resource.to_string(),
        resource_account: None,
        context: ctx,
    };
    evaluate_request(state, caller, &req, None)
}

/// Allowed IAM decisions of one snapshot that read nothing of their request's context (no
/// condition key, no policy variable): the same caller, action and resource are allowed
/// again without building a context or evaluating (issue 11: the hot path).
///
/// Only a snapshot's own decisions: cloning a [`State`] (every write does, in
/// [`State::with_changes`]) gives the copy an empty cache, so a policy change is seen by the
/// very next call. Refusals are never kept (each needs its evaluation for its message), nor is
/// anything decided while explaining. Bounded: past [`Decisions::MAX`] entries nothing more is
/// kept until the next snapshot.
#[derive(Default)]
pub struct Decisions {
    allowed: parking_lot::RwLock<HashSet<Box<str>, ahash::RandomState>>,
}

impl Decisions {
    pub const MAX: usize = 4096;

    /// The key: everything the identity side of an evaluation depends on besides the
    /// policies (the caller's key, its ARN, which names a role session too), the action and
    /// the resource. NUL cannot occur in any of them unescaped.
    fn key(buf: &mut String, caller: &Caller, action: &str, resource: &str) {
        buf.clear();
        for part in [&caller.access_key, &caller.arn, action, resource] {
            buf.push_str(part);
            buf.push('\0');
        }
    }

    /// Whether this snapshot already allowed `action` on `resource` for `caller` without
    /// reading the context.
    pub fn allowed(&self, caller: &Caller, action: &str, resource: &str) -> bool {
        KEY.with_borrow_mut(|buf| {
            Self::key(buf, caller, action, resource);
            self.allowed.read().contains(buf.as_str())
        })
    }

    /// Keeps an allowed, context-free decision.
    pub fn keep(&self, caller: &Caller, action: &str, resource: &str) {
        let mut set = self.allowed.write();
        if set.len() < Self::MAX {
            let mut key = String::new();
            Self::key(&mut key, caller, action, resource);
            set.insert(key.into_boxed_str());
        }
    }

    pub fn len(&self) -> usize {
        self.allowed.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

thread_local! {
    /// The look-up key, built in a buffer each thread reuses.
    static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl Clone for Decisions {
    /// Empty: a new snapshot decides afresh.
    fn clone(&self) -> Decisions {
        Decisions::default()
    }
}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decisions({} allowed)", self.len())
    }
}

/// Evaluate `req` with every layer that applies to the caller (identity, SCPs, boundary,
/// session), and `resource_policy` as the resource-based layer when the resource has one.
fn evaluate_request(
    state: &State,
    caller: &Caller,
    req: &bg_iam::Request,
    resource_policy: Option<&NamedPolicy>,
) -> (Evaluation, bool) {
    let c = &state.compiled;
    // Session policies: inline plus managed ARNs; AWS intersects them as one layer, which the
    // engine models as one NamedPolicy. With several, we evaluate each separately below.
    let session_policies: &[NamedPolicy] = match &caller.session {
        Some(_) => c
            .sessions
            .get(&caller.access_key)
            .map(|v| v.as_slice())
            .unwrap_or(&[]),
        None => &[],
    };
    let base = Policies {
        identity: c.identity_of(state, &caller.entity_arn),
        scps: c.scps.get(&caller.account).map(|v| v.as_slice()),
        rcps: None,
        resource: resource_policy,
        boundary: c.boundary.get(&caller.entity_arn).map(|b| &**b),
        session: None,
    };
    evaluate_with_sessions_reporting(req, base, session_policies)
}

/// Evaluate with the session layer made of several session policies (inline and managed ARNs):
/// they form one layer, where an explicit deny in any of them denies and an allow in any of
/// them satisfies it (AWS: "the intersection of the role's identity-based policies and the
/// session policies"). With none, there is no session layer.
pub fn evaluate_with_sessions(
    req: &bg_iam::Request,
    base: Policies<'_>,
    session_policies: &[NamedPolicy],
) -> Evaluation {
    evaluate_with_sessions_reporting(req, base, session_policies).0
}

/// [`evaluate_with_sessions`], and whether any evaluation read the request's context.
fn evaluate_with_sessions_reporting(
    req: &bg_iam::Request,
    base: Policies<'_>,
    session_policies: &[NamedPolicy],
) -> (Evaluation, bool) {
    if session_policies.is_empty() {
        return bg_iam::evaluate_reporting(req, &base);
    }
    let mut read = false;
    let evals: Vec<Evaluation> = session_policies
        .iter()
        .map(|sp| {
            let (e, r) = bg_iam::evaluate_reporting(
                req,
                &Policies {
                    session: Some(sp),
                    ..base
                },
            );
            read |= r;
            e
        })
        .collect();
    let pick = evals
        .iter()
        .position(|e| e.decision == bg_iam::Decision::ExplicitlyDenied)
        .or_else(|| evals.iter().position(|e| e.is_allowed()))
        .unwrap_or(0);
    let picked = evals
        .into_iter()
        .nth(pick)
        .expect("session_policies is not empty");
    (picked, read)
}

/// The refusal for a non-allowed evaluation, with AWS's message and our diagnosis.
pub fn deny(caller: &Caller, action: &str, resource: Option<&str>, eval: &Evaluation) -> Deny {
    let message = bg_iam::denial_message(&caller.arn, action, resource, eval);
    let (reason, fix) = match (&eval.denied_by, eval.blocked_by.first()) {
        (Some((layer, st)), _) => (
            format!(
                "explicit deny in {} {} (statement {})",
                layer.aws_name(),
                st.policy,
                st.sid.clone().unwrap_or_else(|| format!("#{}", st.index))
            ),
            format!("remove or narrow the Deny statement in {}", st.policy),
        ),
        (None, Some(layer)) => (
            format!("no {} allows {action}", layer.aws_name()),
            format!(
                "add an Allow for {action} on {} to the {}",
                resource.unwrap_or("*"),
                layer.aws_name()
            ),
        ),
        (None, None) => ("not allowed".to_string(), format!("allow {action}")),
    };
    // AWS managed policies are read-only for everyone (bg_iam::ReadOnly).
    let (reason, fix) = match (&eval.read_only, resource) {
        (Some(_), Some(r)) => (
            format!(
                "{} is an AWS managed policy: it belongs to AWS and cannot be changed",
                r.strip_prefix("policy ").unwrap_or(r)
            ),
            "create a customer managed policy with the document you want (aws iam create-policy) and attach it instead".to_string(),
        ),
        _ => (reason, fix),
    };
    Deny {
        gate: Gate::Iam,
        error: ErrorCode::AccessDeniedException,
        status: 403,
        message,
        reason,
        fix,
    }
}

/// STS's refusal of AssumeRole: the role is missing, its trust policy does not name the caller,
/// or the caller's own policies do not allow it (AWS's one sentence for all three).
pub fn assume_role_denied(caller_arn: &str, role_arn: &str) -> Deny {
    Deny {
        gate: Gate::Iam,
        error: ErrorCode::AccessDenied,
        status: 403,
        message: format!(
            "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        ),
        reason: format!(
            "the role {role_arn} does not exist, its trust policy does not allow {caller_arn}, or no policy of the caller allows sts:AssumeRole on it"
        ),
        fix: format!(
            "check the role exists (aws iam get-role), that its trust policy names {caller_arn} as Principal with sts:AssumeRole, and that the caller's policies allow sts:AssumeRole on {role_arn}"
        ),
    }
}

/// `sts:AssumeRole` on `role_arn`: the role exists, and the caller's identity policies,
/// boundary, session policies and SCPs allow it with the trust policy as the resource-based
/// policy, which must itself allow the caller (an identity-policy allow alone never lets anyone
/// in). A missing role is refused like one that does not trust the caller, as AWS does.
pub fn authorize_assume_role(
    state: &State,
    caller: &Caller,
    role_arn: &str,
    ctx: Context,
) -> Result<(), Deny> {
    let refused = || assume_role_denied(&caller.arn, role_arn);
    let role = state.principals.get(role_arn).ok_or_else(refused)?;
    let Some(bg_role) = role.as_role() else {
        return Err(refused());
    };
    let trust =
        Policy::parse(&bg_role.trust_policy, PolicyKind::Resource).map_err(|_| refused())?;
    let trust = NamedPolicy::new("trust policy", trust);
    let mut principal = caller.iam_principal();
    // The session ARN carries no role path: name the role by its real ARN.
    if let bg_iam::PrincipalKind::AssumedRole { role_arn, .. } = &mut principal.kind {
        *role_arn = caller.entity_arn.clone();
    }
    let req = bg_iam::Request {
        principal,
        action: "sts:AssumeRole".to_string(),
        resource: role_arn.to_string(),
        resource_account: Some(role.account.to_string()),
        context: ctx,
    };
    let (ev, _) = evaluate_request(state, caller, &req, Some(&trust));
    let trusted = ev
        .allowed_by
        .iter()
        .any(|(layer, _)| *layer == bg_iam::Layer::ResourcePolicy);
    if ev.is_allowed() && trusted {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Authorize `action` on every resource (in order); the first refusal wins.
pub fn authorize(
    state: &State,
    caller: &Caller,
    action: &str,
    resources: &[(String, Context)],
) -> Result<(), Deny> {
    for (resource, ctx) in resources {
        let e = evaluate(state, caller, action, resource, ctx.clone());
        if !e.is_allowed() {
            return Err(deny(caller, action, Some(resource), &e));
        }
    }
    Ok(())
}

/// For actions without a resource type (e.g. bedrock:ListFoundationModels): evaluated on `*`,
/// and the refusal omits "on resource: …", as AWS's does.
pub fn authorize_no_resource(
    state: &State,
    caller: &Caller,
    action: &str,
    ctx: Context,
) -> Result<(), Deny> {
    let e = evaluate(state, caller, action, "*", ctx);
    if e.is_allowed() {
        Ok(())
    } else {
        Err(deny(caller, action, None, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Entity, ManagedPolicy, PolicyVersion};

    const ACCOUNT: &str = "111111111111";

    fn doc(effect: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":"bedrock:InvokeModel","Resource":"*"}}]}}"#
        )
    }

    fn managed(name: &str, versions: &[&str], default: usize) -> Change {
        Change::Put(Entity::ManagedPolicy(ManagedPolicy {
            arn: format!("arn:aws:iam::{ACCOUNT}:policy/{name}"),
            account: Some(ACCOUNT.into()),
            name: name.into(),
            path: "/".into(),
            policy_id: format!("ANPA{name}"),
            description: None,
            default_version: format!("v{}", default + 1),
            versions: versions
                .iter()
                .enumerate()
                .map(|(i, e)| PolicyVersion {
                    version_id: format!("v{}", i + 1),
                    document: doc(e),
                    created_unix: 0,
                })
                .collect(),
            created_unix: 0,
            updated_unix: 0,
        }))
    }

    fn policy_arn(name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
    }

    fn user(name: &str, edit: impl FnOnce(&mut Principal)) -> Change {
        let mut p = Principal::user(ACCOUNT, name, "/");
        edit(&mut p);
        Change::Put(Entity::Principal(p))
    }

    fn group(attached: &[&str], inline: Option<&str>) -> Change {
        Change::Put(Entity::Group(Group {
            arn: format!("arn:aws:iam::{ACCOUNT}:group/g"),
            account: ACCOUNT.into(),
            name: "g".into(),
            path: "/".into(),
            unique_id: "AGPAG".into(),
            inline_policies: inline
                .map(|e| BTreeMap::from([("gi".to_string(), doc(e))]))
                .unwrap_or_default(),
            attached_policies: attached.iter().map(|a| policy_arn(a).into()).collect(),
            created_unix: 0,
        }))
    }

    fn session_key(id: &str, arns: &[&str]) -> Change {
        Change::Put(Entity::AccessKey(AccessKey {
            access_key_id: id.into(),
            secret_access_key: "s".into(),
            principal_arn: format!("arn:aws:iam::{ACCOUNT}:role/r"),
            account: ACCOUNT.into(),
            session_token: Some("t".into()),
            expires_unix: None,
            active: true,
            session: Some(Box::new(Session {
                role_arn: format!("arn:aws:iam::{ACCOUNT}:role/r"),
                session_name: "s".into(),
                policy: None,
                policy_arns: arns.iter().map(|a| policy_arn(a)).collect(),
            })),
            created_unix: 0,
        }))
    }

    /// The compiled state as comparable text: every entry by key (each user's and role's
    /// identity set, own or shared), each policy by name, ARN and statements.
    fn canon(state: &State, c: &Compiled) -> Vec<String> {
        fn set(ps: &[NamedPolicy]) -> String {
            ps.iter()
                .map(|p| format!("{} {:?} {:?}", p.name, p.arn, p.policy.statements()))
                .collect::<Vec<_>>()
                .join(" | ")
        }
        let mut out: Vec<String> = state
            .principals
            .iter()
            .filter(|(_, p)| !matches!(p.kind, PrincipalKind::Root))
            .map(|(k, _)| format!("identity {k}: {}", set(c.identity_of(state, k))))
            .chain(c.identity.iter().map(|(k, _)| format!("own set {k}")))
            .chain(
                c.boundary
                    .iter()
                    .map(|(k, v)| format!("boundary {k}: {}", set(std::slice::from_ref(&**v)))),
            )
            .chain(
                c.managed
                    .iter()
                    .map(|(k, v)| format!("managed {k}: {}", set(std::slice::from_ref(&**v)))),
            )
            .chain(
                c.sessions
                    .iter()
                    .map(|(k, v)| format!("session {k}: {}", set(v))),
            )
            .chain(c.scps.iter().map(|(k, v)| format!("scps {k}: {}", v.len())))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn an_incremental_rebuild_equals_a_full_one_after_every_write() {
        let steps: Vec<Vec<Change>> = vec![
            vec![
                managed("p1", &["Allow"], 0),
                managed("p2", &["Deny"], 0),
                group(&["p1"], None),
                user("u1", |p| {
                    p.attached_policies = vec![policy_arn("p1").into()]
                }),
                user("u2", |p| *p.groups_mut() = vec!["g".into()]),
                user("u3", |p| {
                    p.set_permissions_boundary(Some(policy_arn("p2")));
                    p.inline_policies_mut().insert("own".into(), doc("Allow"));
                }),
                Change::Put(Entity::Principal(Principal::role(ACCOUNT, "r", "/", "{}"))),
                session_key("ASIA1", &["p2", "p1"]),
            ],
            // a managed policy's new default version reaches u1, u2 (group), ASIA1
            vec![managed("p1", &["Allow", "Deny"], 1)],
            vec![group(&["p2"], Some("Deny"))],
            vec![Change::Delete {
                kind: "group",
                id: format!("arn:aws:iam::{ACCOUNT}:group/g"),
            }],
            vec![user("u1", |_| {})],
            vec![Change::Delete {
                kind: "managed-policy",
                id: policy_arn("p2"),
            }],
            vec![Change::Delete {
                kind: "principal",
                id: format!("arn:aws:iam::{ACCOUNT}:user/u3"),
            }],
            vec![managed("p2", &["Allow"], 0), group(&["p2"], None)],
            vec![Change::Delete {
                kind: "access-key",
                id: "ASIA1".into(),
            }],
        ];
        let mut s = State::default();
        for (i, step) in steps.iter().enumerate() {
            let next = s.with_changes(step);
            assert_eq!(
                canon(&next, &next.compiled),
                canon(&next, &Compiled::build(&next)),
                "after step {i}"
            );
            s = next;
        }
        // and the entries the steps were about are there
        let c = canon(&s, &s.compiled);
        assert!(c
            .iter()
            .any(|l| l.starts_with("identity arn:aws:iam::111111111111:user/u2: p2")));
        assert!(!c.iter().any(|l| l.starts_with("session ASIA1")));
        assert!(!c.iter().any(|l| l.contains("user/u3")));
    }

    #[test]
    fn a_write_shares_what_it_did_not_touch() {
        let mut changes = vec![managed("p1", &["Allow"], 0)];
        for i in 0..100 {
            changes.push(user(&format!("u{i}"), |p| {
                p.attached_policies = vec![policy_arn("p1").into()]
            }));
        }
        let s = State::default().with_changes(&changes);
        let next = s.with_changes(&[user("new", |_| {})]);
        let u = |n: u32| format!("arn:aws:iam::111111111111:user/u{n}");
        let before = s.compiled.identity_of(&s, &u(7));
        let after = next.compiled.identity_of(&next, &u(7));
        assert!(
            std::ptr::eq(before, after),
            "an untouched principal is not recompiled"
        );
        let (u1, u2) = (
            s.compiled.identity_of(&s, &u(1)),
            s.compiled.identity_of(&s, &u(2)),
        );
        assert!(
            std::ptr::eq(u1, u2),
            "principals that attach the same policies share one identity set"
        );
        assert_eq!(u1.len(), 1);
        assert!(
            s.compiled.identity.is_empty(),
            "and they cost no compiled entry of their own"
        );
        let own = next.with_changes(&[user("u3", |p| {
            p.attached_policies = vec![policy_arn("p1").into()];
            p.inline_policies_mut().insert("own".into(), doc("Deny"));
        })]);
        assert_eq!(own.compiled.identity.len(), 1);
        let u3 = own.compiled.identity_of(&own, &u(3));
        assert_eq!(
            u3.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["own", "p1"]
        );
        assert!(
            std::ptr::eq(u3[1].policy.statements(), u1[0].policy.statements()),
            "a managed policy is compiled once and shared"
        );
        let back = own.with_changes(&[user("u3", |p| {
            p.attached_policies = vec![policy_arn("p1").into()]
        })]);
        assert!(
            back.compiled.identity.is_empty(),
            "its own set goes with its inline policy"
        );
        assert!(std::ptr::eq(back.compiled.identity_of(&back, &u(3)), u1));
        assert_eq!(next.principals.len(), 101);
        assert_eq!(s.principals.len(), 100, "the old snapshot is untouched");
    }
}
