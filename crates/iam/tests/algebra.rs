//! Property tests of the decision algebra, over randomly generated worlds: a request plus
//! identity policies, SCP and RCP levels, a resource policy, a permissions boundary and a
//! session policy, each made of random statements (actions from a small alphabet with
//! wildcards, `NotAction`, resources with wildcards, `NotResource`, `Allow`/`Deny`, optional
//! simple conditions, principals for resource policies).
//!
//! * (a) adding a `Deny` statement to any layer never turns a non-`Allowed` decision into
//!   `Allowed`, and never turns `ExplicitlyDenied` into anything else;
//! * (b) adding an `Allow` statement to the identity policies never turns `Allowed` into
//!   a deny;
//! * (c) a permissions boundary only narrows: `Allowed` with a boundary implies `Allowed`
//!   without it; and, for identity-only grants (no resource policy), `Allowed` with
//!   boundary `B` implies `Allowed` with `B` as the only identity policy (the effective
//!   permissions are the intersection);
//! * (d) for a member account, SCPs that allow everything (`"Action":"*","Resource":"*"`)
//!   at every level decide exactly as no organization at all: AWS evaluates SCPs as a
//!   filter that must allow at every level, and SCPs never grant, so a filter that lets
//!   everything through changes nothing (the explanation differs only by the SCP allow
//!   statements it lists). The same holds for RCPs that allow everything;
//! * (e) evaluation is deterministic: the same world, parsed again, gives the same
//!   evaluation;
//! * (f) the decision does not depend on statement order within a policy, nor on the order
//!   of the identity policies.

use bg_iam::*;
use proptest::prelude::*;
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
const OTHER: &str = "210987654321";
const USER: &str = "arn:aws:iam::123456789012:user/alice";
const ROLE: &str = "arn:aws:iam::123456789012:role/ml";
const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/ml/alice";

const ACTIONS: &[&str] = &[
    "*",
    "s3:*",
    "s3:GetObject",
    "s3:Get*",
    "s3:?etObject",
    "bedrock:*",
    "bedrock:Invoke*",
    "bedrock:InvokeModel",
    "BEDROCK:invokemodel",
    "bedrock:List*",
    "ec2:Describe*",
    "*:Get*",
    "b*:*Model",
    "s?:GetObject",
];

const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/key",
    "arn:aws:s3:::*",
    "arn:aws:bedrock:*::foundation-model/*",
    "arn:aws:bedrock:us-east-1::foundation-model/m1",
    "arn:aws:bedrock:*:*:*",
    "arn:aws:*:*:*:*",
    "arn:aws:bedrock:us-east-1::foundation-model/m?",
    "arn:aws:s3:::home/${aws:username}/*",
];

const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "bedrock:InvokeModel",
    "bedrock:ListFoundationModels",
    "ec2:DescribeInstances",
    "S3:getobject",
];

const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::bucket/key",
    "arn:aws:s3:::home/alice/notes",
    "arn:aws:bedrock:us-east-1::foundation-model/m1",
    "arn:aws:bedrock:eu-west-1::foundation-model/m2",
    "*",
];

const PRINCIPALS: &[&str] = &[
    USER,
    SESSION,
    ROLE,
    "arn:aws:iam::123456789012:root",
    "arn:aws:iam::123456789012:user/bob",
    "bedrock.amazonaws.com",
];

fn conditions() -> Vec<Value> {
    vec![
        json!({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
        json!({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}),
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"BoolIfExists": {"aws:SecureTransport": "false"}}),
        json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        json!({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}),
        json!({"StringLike": {"aws:PrincipalTag/team": "r*"}}),
        json!({"Null": {"aws:SourceIp": "true"}}),
        json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "z"]}}),
        json!({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
    ]
}

fn resource_principals() -> Vec<Value> {
    vec![
        json!("*"),
        json!({"AWS": ACCOUNT}),
        json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}),
        json!({"AWS": USER}),
        json!({"AWS": ROLE}),
        json!({"AWS": SESSION}),
        json!({"AWS": OTHER}),
        json!({"Service": "bedrock.amazonaws.com"}),
        json!({"AWS": [USER, ACCOUNT]}),
    ]
}

/// A generated statement, rendered per policy kind by [`St::render`].
#[derive(Debug, Clone)]
struct St {
    allow: bool,
    not_action: bool,
    actions: Vec<&'static str>,
    not_resource: bool,
    resources: Vec<&'static str>,
    condition: Option<Value>,
    /// For resource policies.
    principal: Value,
    not_principal: bool,
}

impl St {
    fn render(&self, kind: PolicyKind) -> Value {
        let mut s = serde_json::Map::new();
        s.insert(
            "Effect".into(),
            json!(if self.allow { "Allow" } else { "Deny" }),
        );
        let a = if self.not_action {
            "NotAction"
        } else {
            "Action"
        };
        s.insert(a.into(), json!(self.actions));
        let r = if self.not_resource {
            "NotResource"
        } else {
            "Resource"
        };
        s.insert(r.into(), json!(self.resources));
        if let Some(c) = &self.condition {
            s.insert("Condition".into(), c.clone());
        }
        match kind {
            PolicyKind::Resource => {
                // NotPrincipal only with Deny (AWS discourages it with Allow)
                let p = if self.not_principal && !self.allow {
                    "NotPrincipal"
                } else {
                    "Principal"
                };
                s.insert(p.into(), self.principal.clone());
            }
            PolicyKind::Rcp => {
                s.insert("Principal".into(), json!("*"));
            }
            _ => {}
        }
        Value::Object(s)
    }

    fn allow_all() -> St {
        St {
            allow: true,
            not_action: false,
            actions: vec!["*"],
            not_resource: false,
            resources: vec!["*"],
            condition: None,
            principal: json!("*"),
            not_principal: false,
        }
    }
}

fn statement(effect: Option<bool>) -> impl Strategy<Value = St> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop::bool::weighted(0.7).boxed(),
    };
    (
        effect,
        prop::bool::weighted(0.15),
        prop::collection::vec(prop::sample::select(ACTIONS), 1..3),
        prop::bool::weighted(0.15),
        prop::collection::vec(prop::sample::select(RESOURCES), 1..3),
        prop::option::weighted(0.35, prop::sample::select(conditions())),
        prop::sample::select(resource_principals()),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(allow, not_action, actions, not_resource, resources, condition, principal, np)| St {
                allow,
                not_action,
                actions,
                not_resource,
                resources,
                condition,
                principal,
                not_principal: np,
            },
        )
}

/// A policy: random statements, often led by an allow-all (so that the filtering layers
/// — SCPs, boundary, session — let something through often enough to be interesting).
fn policy(max: usize, full_access: f64) -> impl Strategy<Value = Vec<St>> {
    (
        prop::bool::weighted(full_access),
        prop::collection::vec(statement(None), 0..max),
    )
        .prop_map(|(full, mut sts)| {
            if full {
                sts.insert(0, St::allow_all());
            }
            sts
        })
}

fn levels() -> impl Strategy<Value = Vec<Vec<Vec<St>>>> {
    prop::collection::vec(prop::collection::vec(policy(3, 0.7), 1..3), 1..4)
}

#[derive(Debug, Clone)]
struct World {
    principal: &'static str,
    action: &'static str,
    resource: &'static str,
    resource_account: Option<&'static str>,
    context: Vec<(&'static str, Vec<&'static str>)>,
    team_tag: Option<&'static str>,
    identity: Vec<Vec<St>>,
    scps: Option<Vec<Vec<Vec<St>>>>,
    rcps: Option<Vec<Vec<Vec<St>>>>,
    resource_policy: Option<Vec<St>>,
    boundary: Option<Vec<St>>,
    session: Option<Vec<St>>,
}

fn context() -> impl Strategy<Value = Vec<(&'static str, Vec<&'static str>)>> {
    (
        prop::option::of(prop::sample::select(vec!["us-east-1", "eu-west-1"])),
        prop::option::of(prop::sample::select(vec!["true", "false"])),
        prop::option::of(prop::sample::select(vec![
            "10.1.2.3",
            "192.0.2.7",
            "203.0.113.9",
        ])),
        prop::option::of(prop::sample::select(vec![
            vec!["a"],
            vec!["b", "c"],
            vec![],
        ])),
    )
        .prop_map(|(region, tls, ip, tags)| {
            let mut c = Vec::new();
            if let Some(r) = region {
                c.push(("aws:RequestedRegion", vec![r]));
            }
            if let Some(t) = tls {
                c.push(("aws:SecureTransport", vec![t]));
            }
            if let Some(i) = ip {
                c.push(("aws:SourceIp", vec![i]));
            }
            if let Some(t) = tags {
                c.push(("aws:TagKeys", t));
            }
            c
        })
}

fn world() -> impl Strategy<Value = World> {
    (
        (
            prop::sample::select(PRINCIPALS),
            prop::sample::select(REQ_ACTIONS),
            prop::sample::select(REQ_RESOURCES),
            prop::sample::select(vec![None, None, Some(ACCOUNT), Some(OTHER)]),
            context(),
            prop::option::of(prop::sample::select(vec!["research", "ops"])),
        ),
        (
            prop::collection::vec(policy(4, 0.25), 0..3),
            prop::option::weighted(0.4, levels()),
            prop::option::weighted(0.25, levels()),
            prop::option::weighted(0.3, policy(3, 0.0)),
            prop::option::weighted(0.3, policy(3, 0.5)),
            prop::option::weighted(0.2, policy(3, 0.5)),
        ),
    )
        .prop_map(
            |(
                (principal, action, resource, resource_account, context, team_tag),
                (identity, scps, rcps, resource_policy, boundary, session),
            )| World {
                principal,
                action,
                resource,
                resource_account,
                context,
                team_tag,
                identity,
                scps,
                rcps,
                resource_policy,
                boundary,
                session,
            },
        )
}

fn parse(sts: &[St], kind: PolicyKind, name: String) -> NamedPolicy {
    let doc = json!({
        "Version": "2012-10-17",
        "Statement": sts.iter().map(|s| s.render(kind)).collect::<Vec<_>>(),
    })
    .to_string();
    match Policy::parse(&doc, kind) {
        Ok(p) => NamedPolicy::new(name, p),
        Err(e) => panic!("generated policy rejected: {e} ({}): {doc}", e.detail()),
    }
}

fn parse_levels(levels: &[Vec<Vec<St>>], kind: PolicyKind, tag: &str) -> Vec<Vec<NamedPolicy>> {
    levels
        .iter()
        .enumerate()
        .map(|(l, ps)| {
            ps.iter()
                .enumerate()
                .map(|(i, p)| parse(p, kind, format!("{tag}[{l}][{i}]")))
                .collect()
        })
        .collect()
}

impl World {
    fn request(&self) -> Request {
        let mut p = Principal::from_arn(self.principal);
        if let Some(t) = self.team_tag {
            p = p.with_tag("team", t);
        }
        let mut r = Request::new(p, self.action, self.resource);
        r.resource_account = self.resource_account.map(str::to_string);
        for (k, v) in &self.context {
            r.context.set_multi(k, v.iter().copied());
        }
        r
    }

    fn evaluate(&self) -> Evaluation {
        let identity: Vec<NamedPolicy> = self
            .identity
            .iter()
            .enumerate()
            .map(|(i, p)| parse(p, PolicyKind::Identity, format!("identity[{i}]")))
            .collect();
        let scps = self
            .scps
            .as_ref()
            .map(|l| parse_levels(l, PolicyKind::Scp, "scp"));
        let rcps = self
            .rcps
            .as_ref()
            .map(|l| parse_levels(l, PolicyKind::Rcp, "rcp"));
        let resource = self
            .resource_policy
            .as_ref()
            .map(|p| parse(p, PolicyKind::Resource, "resource".into()));
        let boundary = self
            .boundary
            .as_ref()
            .map(|p| parse(p, PolicyKind::Boundary, "boundary".into()));
        let session = self
            .session
            .as_ref()
            .map(|p| parse(p, PolicyKind::Session, "session".into()));
        evaluate(
            &self.request(),
            &Policies {
                identity: &identity,
                scps: scps.as_deref(),
                rcps: rcps.as_deref(),
                resource: resource.as_ref(),
                boundary: boundary.as_ref(),
                session: session.as_ref(),
            },
        )
    }

    /// Inserts `st` into the layer picked by `layer` (at a position picked by `at`),
    /// creating the layer's policy when the world has none.
    fn insert(&mut self, st: St, layer: usize, at: usize) {
        fn put(sts: &mut Vec<St>, st: St, at: usize) {
            let at = at % (sts.len() + 1);
            sts.insert(at, st);
        }
        fn put_level(levels: &mut Option<Vec<Vec<Vec<St>>>>, st: St, at: usize) {
            let levels = levels.get_or_insert_with(|| vec![vec![]]);
            let l = at % levels.len();
            let ps = &mut levels[l];
            if ps.is_empty() {
                ps.push(Vec::new());
            }
            let n = ps.len();
            put(&mut ps[(at / 7) % n], st, at / 3);
        }
        match layer % 6 {
            0 => {
                if self.identity.is_empty() || at.is_multiple_of(4) {
                    self.identity.push(Vec::new());
                }
                let n = self.identity.len();
                put(&mut self.identity[at % n], st, at / 5);
            }
            1 => put_level(&mut self.scps, st, at),
            2 => put_level(&mut self.rcps, st, at),
            3 => put(self.resource_policy.get_or_insert_with(Vec::new), st, at),
            4 => put(self.boundary.get_or_insert_with(Vec::new), st, at),
            _ => put(self.session.get_or_insert_with(Vec::new), st, at),
        }
    }
}

/// An evaluation less the SCP/RCP allow statements it lists.
type OrgFree = (
    Decision,
    Option<(Layer, StatementRef)>,
    Vec<Layer>,
    Vec<(Layer, StatementRef)>,
    Option<usize>,
);

/// Everything of an evaluation but the SCP/RCP allow statements it lists.
fn without_org(ev: &Evaluation) -> OrgFree {
    (
        ev.decision,
        ev.denied_by.clone(),
        ev.blocked_by.clone(),
        ev.allowed_by
            .iter()
            .filter(|(l, _)| !matches!(l, Layer::Scp | Layer::Rcp))
            .cloned()
            .collect(),
        ev.scp_denied_level,
    )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        // failures print their minimal case; nothing to persist next to the sources
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a)
    #[test]
    fn adding_a_deny_never_grants(w in world(), deny in statement(Some(false)), layer in 0usize..6, at in 0usize..64) {
        let before = w.evaluate().decision;
        let mut w2 = w.clone();
        w2.insert(deny, layer, at);
        let after = w2.evaluate().decision;
        if before != Decision::Allowed {
            prop_assert_ne!(after, Decision::Allowed);
        }
        if before == Decision::ExplicitlyDenied {
            prop_assert_eq!(after, Decision::ExplicitlyDenied);
        }
    }

    /// (b)
    #[test]
    fn adding_an_identity_allow_never_denies(w in world(), allow in statement(Some(true)), at in 0usize..64) {
        let before = w.evaluate().decision;
        let mut w2 = w.clone();
        w2.insert(allow, 0, at);
        let after = w2.evaluate().decision;
        if before == Decision::Allowed {
            prop_assert_eq!(after, Decision::Allowed);
        }
    }

    /// (c) removing the boundary never turns Allowed into a deny.
    #[test]
    fn boundary_only_narrows(w in world(), b in policy(4, 0.5)) {
        let mut with = w.clone();
        with.boundary = Some(b);
        let mut without = w;
        without.boundary = None;
        if with.evaluate().decision == Decision::Allowed {
            prop_assert_eq!(without.evaluate().decision, Decision::Allowed);
        }
    }

    /// (c) identity-only grants: allowed with boundary B means B alone, as the identity
    /// policy, allows too (effective permissions = identity ∩ boundary).
    #[test]
    fn boundary_is_an_intersection(w in world(), b in policy(4, 0.5)) {
        let mut with = w;
        with.resource_policy = None;
        with.boundary = Some(b.clone());
        if with.evaluate().decision == Decision::Allowed {
            let mut only_b = with.clone();
            only_b.boundary = None;
            only_b.identity = vec![b];
            prop_assert_eq!(only_b.evaluate().decision, Decision::Allowed);
        }
    }

    /// (d) SCPs / RCPs allowing everything at every level decide as no organization.
    #[test]
    fn full_access_org_policies_change_nothing(w in world(), scp_levels in 1usize..4, rcp_levels in 1usize..4) {
        let mut none = w.clone();
        none.scps = None;
        none.rcps = None;
        let mut full = w;
        full.scps = Some(vec![vec![vec![St::allow_all()]]; scp_levels]);
        full.rcps = Some(vec![vec![vec![St::allow_all()]]; rcp_levels]);
        let (a, b) = (none.evaluate(), full.evaluate());
        prop_assert_eq!(without_org(&a), without_org(&b));
        // and the SCP allows are listed, one per level, for principals SCPs apply to
        let scp_allows = b.allowed_by.iter().filter(|(l, _)| *l == Layer::Scp).count();
        prop_assert!(scp_allows == 0 || scp_allows == scp_levels);
    }

    /// (e)
    #[test]
    fn evaluation_is_deterministic(w in world()) {
        let first = w.evaluate();
        let again = w.clone().evaluate();
        prop_assert_eq!(&first, &again);
        prop_assert_eq!(
            serde_json::to_string(&first).unwrap(),
            serde_json::to_string(&again).unwrap()
        );
    }

    /// (f)
    #[test]
    fn decision_ignores_statement_and_policy_order(w in world(), seed in any::<u64>()) {
        let before = w.evaluate().decision;
        let mut w2 = w;
        let mut rng = seed;
        let mut shuffle = |sts: &mut Vec<St>| {
            for i in (1..sts.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                sts.swap(i, (rng >> 33) as usize % (i + 1));
            }
        };
        for p in &mut w2.identity {
            shuffle(p);
        }
        w2.identity.reverse();
        for levels in [&mut w2.scps, &mut w2.rcps].into_iter().flatten() {
            for level in levels {
                for p in level {
                    shuffle(p);
                }
            }
        }
        for p in [&mut w2.resource_policy, &mut w2.boundary, &mut w2.session].into_iter().flatten() {
            shuffle(p);
        }
        prop_assert_eq!(w2.evaluate().decision, before);
    }
}

/// The generators reach every decision (guards against properties that hold vacuously).
#[test]
fn generated_worlds_cover_every_decision() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut counts = [0usize; 3];
    let mut allowed_with_boundary = 0;
    for _ in 0..600 {
        let w = world().new_tree(&mut runner).unwrap().current();
        let d = w.evaluate().decision;
        counts[match d {
            Decision::Allowed => 0,
            Decision::ImplicitlyDenied => 1,
            Decision::ExplicitlyDenied => 2,
        }] += 1;
        if d == Decision::Allowed && w.boundary.is_some() {
            allowed_with_boundary += 1;
        }
    }
    println!("allowed / implicit / explicit: {counts:?}; allowed with a boundary: {allowed_with_boundary}");
    assert!(counts.iter().all(|&c| c >= 60), "{counts:?}");
    assert!(allowed_with_boundary >= 10, "{allowed_with_boundary}");
}
