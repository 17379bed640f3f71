//! Evaluating a realistic Bedrock request against 5 identity policies, 2 SCP levels and a
//! permissions boundary (policies parsed once, outside the measured loop).

use bg_iam::*;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const IDENTITY: [&str; 5] = [
    // 1. broad read-only style policy with many actions
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Allow","Action":[
        "bedrock:Get*","bedrock:List*","cloudwatch:Describe*","cloudwatch:Get*","cloudwatch:List*",
        "logs:Describe*","logs:Get*","logs:FilterLogEvents","s3:GetBucketLocation","s3:ListAllMyBuckets",
        "iam:GetRole","iam:ListRoles","kms:DescribeKey","kms:ListAliases","ec2:Describe*"],"Resource":"*"}]}"#,
    // 2. Bedrock invoke on selected models, region-restricted
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Invoke","Effect":"Allow",
        "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream","bedrock:Converse","bedrock:ConverseStream"],
        "Resource":["arn:aws:bedrock:*::foundation-model/anthropic.*","arn:aws:bedrock:*::foundation-model/amazon.titan-*",
                    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/*"],
        "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]},"Bool":{"aws:SecureTransport":"true"}}}]}"#,
    // 3. network guard
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"CorpNetworkOnly","Effect":"Deny","NotAction":["sts:*","iam:Get*"],"Resource":"*",
        "Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24","2001:db8::/32"]},"Bool":{"aws:ViaAWSService":"false"}}}]}"#,
    // 4. per-user S3 prefix with variables
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Home","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
        "Resource":"arn:aws:s3:::prompts/${aws:PrincipalTag/team}/*"},
        {"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::prompts",
        "Condition":{"StringLike":{"s3:prefix":["${aws:PrincipalTag/team}/*"]}}}]}"#,
    // 5. ABAC on custom models + time window
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"Abac","Effect":"Allow","Action":"bedrock:*",
        "Resource":"arn:aws:bedrock:*:123456789012:custom-model/*",
        "Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"},
                     "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}},
        {"Sid":"NoDelete","Effect":"Deny","Action":["bedrock:Delete*"],"Resource":"*"}]}"#,
];

const SCP_ROOT: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const SCP_OU: &str = r#"{"Version":"2012-10-17","Statement":[
    {"Sid":"FullAccess","Effect":"Allow","Action":"*","Resource":"*"},
    {"Sid":"RegionGuard","Effect":"Deny","NotAction":["iam:*","organizations:*","sts:*","support:*","cloudfront:*"],"Resource":"*",
     "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","us-west-2","eu-west-1"]}}},
    {"Sid":"NoLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#;
const BOUNDARY: &str = r#"{"Version":"2012-10-17","Statement":[
    {"Sid":"Ceiling","Effect":"Allow","Action":["bedrock:*","s3:*","logs:*","cloudwatch:*","kms:Decrypt"],"Resource":"*"},
    {"Sid":"NoOpus","Effect":"Deny","Action":"bedrock:Invoke*","Resource":"arn:aws:bedrock:*::foundation-model/anthropic.claude-3-opus*"}]}"#;

fn setup() -> (
    Vec<NamedPolicy>,
    Vec<Vec<NamedPolicy>>,
    NamedPolicy,
    Request,
) {
    let identity = IDENTITY
        .iter()
        .enumerate()
        .map(|(i, p)| {
            NamedPolicy::new(
                format!("id-{i}"),
                Policy::parse(p, PolicyKind::Identity).unwrap(),
            )
        })
        .collect();
    let scps = vec![
        vec![NamedPolicy::new("FullAWSAccess", Policy::parse(SCP_ROOT, PolicyKind::Scp).unwrap())],
        vec![NamedPolicy::new("ou-guard", Policy::parse(SCP_OU, PolicyKind::Scp).unwrap())
            .with_arn("arn:aws:organizations::111111111111:policy/o-example/service_control_policy/p-example")],
    ];
    let boundary = NamedPolicy::new(
        "boundary",
        Policy::parse(BOUNDARY, PolicyKind::Boundary).unwrap(),
    );
    let mut principal = Principal::from_arn("arn:aws:sts::123456789012:assumed-role/ml-dev/alice");
    principal.tags.insert("team".into(), "research".into());
    let mut req = Request::new(
        principal,
        "bedrock:InvokeModel",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    );
    req.resource_account = Some("123456789012".into());
    req.context
        .set("aws:SourceIp", "10.20.30.40")
        .set("aws:RequestedRegion", "us-east-1")
        .set("aws:SecureTransport", "true")
        .set("aws:ViaAWSService", "false")
        .set("aws:CurrentTime", "2025-06-01T12:00:00Z");
    (identity, scps, boundary, req)
}

fn bench(c: &mut Criterion) {
    let (identity, scps, boundary, req) = setup();
    let policies = Policies {
        identity: &identity,
        scps: Some(&scps),
        boundary: Some(&boundary),
        ..Default::default()
    };
    assert_eq!(evaluate(&req, &policies).decision, Decision::Allowed);
    c.bench_function("evaluate/bedrock_invoke_allowed", |b| {
        b.iter(|| evaluate(black_box(&req), black_box(&policies)))
    });

    let mut denied = req.clone();
    denied.context.set("aws:RequestedRegion", "ap-south-1");
    assert_eq!(
        evaluate(&denied, &policies).decision,
        Decision::ExplicitlyDenied
    );
    c.bench_function("evaluate/bedrock_invoke_scp_region_deny", |b| {
        b.iter(|| evaluate(black_box(&denied), black_box(&policies)))
    });

    let mut implicit = req.clone();
    implicit.resource =
        "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0".into();
    assert_eq!(
        evaluate(&implicit, &policies).decision,
        Decision::ImplicitlyDenied
    );
    c.bench_function("evaluate/bedrock_invoke_implicit_deny", |b| {
        b.iter(|| evaluate(black_box(&implicit), black_box(&policies)))
    });

    c.bench_function("parse/identity_policy_2", |b| {
        b.iter(|| Policy::parse(black_box(IDENTITY[1]), PolicyKind::Identity).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
