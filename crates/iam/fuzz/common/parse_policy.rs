//! The body of the `parse_policy` fuzz target, shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/parse_policy.rs`) and the seed-corpus harness that runs on stable
//! Rust (`tests/fuzz_corpus.rs`).

use bg_iam::*;

const KINDS: [PolicyKind; 6] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Scp,
    PolicyKind::Rcp,
    PolicyKind::Boundary,
    PolicyKind::Session,
];

/// The fixed requests every parsed policy is evaluated against: a role session invoking a
/// model with a full context, and an IAM user reading an S3 object cross-account.
fn requests() -> [Request; 2] {
    let session = Principal::from_arn("arn:aws:sts::123456789012:assumed-role/ml-dev/alice")
        .with_tag("team", "research");
    let mut invoke = Request::new(
        session,
        "bedrock:InvokeModel",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    );
    invoke
        .context
        .set("aws:SourceIp", "10.20.30.40")
        .set("aws:RequestedRegion", "us-east-1")
        .set("aws:SecureTransport", "true")
        .set("aws:CurrentTime", "2025-06-01T12:00:00Z")
        .set("aws:EpochTime", "1748779200")
        .set("aws:MultiFactorAuthAge", "42")
        .set_multi("aws:TagKeys", ["team", "env"]);
    let mut read = Request::new(
        Principal::from_arn("arn:aws:iam::123456789012:user/dev/bob"),
        "s3:GetObject",
        "arn:aws:s3:::bucket/home/bob/notes.txt",
    );
    read.resource_account = Some("210987654321".into());
    read.context.set("aws:SourceIp", "2001:db8::1");
    [invoke, read]
}

/// Parses `data` as every kind of policy and evaluates what parses. Panics only on a bug.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for kind in KINDS {
        let policy = match Policy::parse(&text, kind) {
            Ok(p) => p,
            Err(e) => {
                // the messages must render
                let _ = (e.to_string(), e.detail(), e.reason().message());
                continue;
            }
        };
        for st in policy.statements() {
            let _ = (st.sid(), st.effect());
        }
        let np = NamedPolicy::new("fuzz", policy).with_arn("arn:aws:iam::123456789012:policy/fuzz");
        let levels = vec![vec![np.clone()]];
        let one = std::slice::from_ref(&np);
        let policies = match kind {
            PolicyKind::Identity => Policies {
                identity: one,
                ..Default::default()
            },
            PolicyKind::Resource => Policies {
                resource: Some(&np),
                ..Default::default()
            },
            PolicyKind::Scp => Policies {
                scps: Some(&levels),
                ..Default::default()
            },
            PolicyKind::Rcp => Policies {
                rcps: Some(&levels),
                ..Default::default()
            },
            PolicyKind::Boundary => Policies {
                identity: one,
                boundary: Some(&np),
                ..Default::default()
            },
            PolicyKind::Session => Policies {
                session: Some(&np),
                ..Default::default()
            },
        };
        for req in requests() {
            let ev = evaluate(&req, &policies);
            let _ = denial_message(&req.principal.arn, &req.action, Some(&req.resource), &ev);
            assert_eq!(ev, evaluate(&req, &policies), "evaluation is deterministic");
        }
    }
}
