//! Throughput and scaling of [`evaluate`] (policies parsed once, outside the measured loop).
//!
//! * `realistic/decision`: 5 identity policies of 10 statements each, 2 SCP levels and a
//!   permissions boundary; one decision per iteration (criterion reports decisions/s as
//!   `elem/s`). Target: ≥ 1 M decisions/s on one core.
//! * `scaling/non_matching/N`: one identity policy holding N statements whose actions can
//!   never match the `bedrock:InvokeModel` request (other services, with wildcards) and,
//!   last, the one matching `Allow`. Target: N = 10,000 costs at most 2× N = 10.

use bg_iam::*;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const ACCOUNT: &str = "123456789012";

/// Ten statements for identity policy `p` (0..5): a realistic mix of allows, guarded
/// denies, `NotAction`, conditions and policy variables. Policy 2 holds the Bedrock grant.
fn identity_statements(p: usize) -> Vec<String> {
    let team = ["research", "platform", "ml", "data", "sec"][p];
    let mut s = vec![
        format!(
            r#"{{"Sid":"Read{p}","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],
               "Resource":["arn:aws:s3:::bucket-{p}","arn:aws:s3:::bucket-{p}/*"]}}"#
        ),
        format!(
            r#"{{"Sid":"Logs{p}","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],
               "Resource":"arn:aws:logs:*:{ACCOUNT}:log-group:/app/{team}/*"}}"#
        ),
        format!(
            r#"{{"Sid":"Ec2Read{p}","Effect":"Allow","Action":"ec2:Describe*","Resource":"*",
               "Condition":{{"StringEquals":{{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}}}}"#
        ),
        format!(
            r#"{{"Sid":"Kms{p}","Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey"],
               "Resource":"arn:aws:kms:us-east-1:{ACCOUNT}:key/*",
               "Condition":{{"StringEquals":{{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}}}}"#
        ),
        format!(
            r#"{{"Sid":"Home{p}","Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],
               "Resource":"arn:aws:s3:::home/${{aws:PrincipalTag/team}}/*"}}"#
        ),
        format!(
            r#"{{"Sid":"NoIamWrite{p}","Effect":"Deny","Action":["iam:Create*","iam:Delete*","iam:Put*","iam:Attach*"],
               "Resource":"*"}}"#
        ),
        format!(
            r#"{{"Sid":"Cw{p}","Effect":"Allow","Action":["cloudwatch:GetMetricData","cloudwatch:ListMetrics"],
               "Resource":"*"}}"#
        ),
        format!(
            r#"{{"Sid":"BedrockRead{p}","Effect":"Allow","Action":["bedrock:Get*","bedrock:List*"],"Resource":"*"}}"#
        ),
        format!(
            r#"{{"Sid":"Tls{p}","Effect":"Deny","Action":"s3:*","Resource":"*",
               "Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}"#
        ),
        format!(
            r#"{{"Sid":"Sqs{p}","Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],
               "Resource":"arn:aws:sqs:us-east-1:{ACCOUNT}:{team}-*"}}"#
        ),
    ];
    if p == 2 {
        s[7] = r#"{"Sid":"Invoke","Effect":"Allow","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],
               "Resource":["arn:aws:bedrock:*::foundation-model/anthropic.*","arn:aws:bedrock:*::foundation-model/amazon.*"],
               "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}}"#
            .to_string();
    }
    if p == 4 {
        s[9] = r#"{"Sid":"CorpNetwork","Effect":"Deny","NotAction":["sts:*","iam:Get*"],"Resource":"*",
               "Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]},
                            "Bool":{"aws:ViaAWSService":"false"}}}"#
            .to_string();
    }
    s
}

fn doc(statements: &[String]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

const SCP_ROOT: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const SCP_OU: &str = r#"{"Version":"2012-10-17","Statement":[
    {"Sid":"FullAccess","Effect":"Allow","Action":"*","Resource":"*"},
    {"Sid":"RegionGuard","Effect":"Deny","NotAction":["iam:*","organizations:*","sts:*","support:*"],"Resource":"*",
     "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","us-west-2","eu-west-1"]}}},
    {"Sid":"NoLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"},
    {"Sid":"NoCloudTrailOff","Effect":"Deny","Action":["cloudtrail:StopLogging","cloudtrail:DeleteTrail"],"Resource":"*"}]}"#;
const BOUNDARY: &str = r#"{"Version":"2012-10-17","Statement":[
    {"Sid":"Ceiling","Effect":"Allow","Action":["bedrock:*","s3:*","logs:*","cloudwatch:*","kms:*","sqs:*","ec2:Describe*"],"Resource":"*"},
    {"Sid":"NoOpus","Effect":"Deny","Action":"bedrock:Invoke*","Resource":"arn:aws:bedrock:*::foundation-model/anthropic.claude-3-opus*"}]}"#;

fn request() -> Request {
    let principal = Principal::from_arn("arn:aws:sts::123456789012:assumed-role/ml-dev/alice")
        .with_tag("team", "research");
    let mut req = Request::new(
        principal,
        "bedrock:InvokeModel",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
    );
    req.context
        .set("aws:SourceIp", "10.20.30.40")
        .set("aws:RequestedRegion", "us-east-1")
        .set("aws:SecureTransport", "true")
        .set("aws:ViaAWSService", "false");
    req
}

fn realistic(c: &mut Criterion) {
    let identity: Vec<NamedPolicy> = (0..5)
        .map(|p| {
            let st = identity_statements(p);
            assert_eq!(st.len(), 10);
            NamedPolicy::new(
                format!("id-{p}"),
                Policy::parse(&doc(&st), PolicyKind::Identity).unwrap(),
            )
        })
        .collect();
    let scps = vec![
        vec![NamedPolicy::new(
            "FullAWSAccess",
            Policy::parse(SCP_ROOT, PolicyKind::Scp).unwrap(),
        )],
        vec![NamedPolicy::new(
            "ou-guard",
            Policy::parse(SCP_OU, PolicyKind::Scp).unwrap(),
        )],
    ];
    let boundary = NamedPolicy::new(
        "boundary",
        Policy::parse(BOUNDARY, PolicyKind::Boundary).unwrap(),
    );
    let policies = Policies {
        identity: &identity,
        scps: Some(&scps),
        boundary: Some(&boundary),
        ..Default::default()
    };
    let req = request();
    assert_eq!(evaluate(&req, &policies).decision, Decision::Allowed);
    let mut g = c.benchmark_group("realistic");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decision", |b| {
        b.iter(|| evaluate(black_box(&req), black_box(&policies)))
    });
    g.finish();
}

/// The `i`-th statement that never matches a `bedrock:*` action.
fn non_matching(i: usize) -> String {
    let (effect, action) = match i % 5 {
        0 => ("Allow", format!("s3:Get*{i}")),
        1 => ("Allow", format!("ec2:Describe*Service{i}")),
        2 => ("Deny", format!("iam:Delete*{i}")),
        3 => ("Allow", format!("dynamodb:Query{i}")),
        _ => ("Deny", format!("sqs:*Queue{i}")),
    };
    format!(
        r#"{{"Effect":"{effect}","Action":["{action}","logs:Put*{i}"],"Resource":"arn:aws:s3:::b{i}/*"}}"#
    )
}

fn scaling(c: &mut Criterion) {
    let req = request();
    let mut g = c.benchmark_group("scaling");
    g.throughput(Throughput::Elements(1));
    for n in [10usize, 100, 1_000, 10_000] {
        let mut st: Vec<String> = (0..n).map(non_matching).collect();
        st.push(
            r#"{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/*"}"#
                .to_string(),
        );
        let identity = vec![NamedPolicy::new(
            "big",
            Policy::parse(&doc(&st), PolicyKind::Identity).unwrap(),
        )];
        let policies = Policies {
            identity: &identity,
            ..Default::default()
        };
        let ev = evaluate(&req, &policies);
        assert_eq!(ev.decision, Decision::Allowed);
        assert_eq!(ev.allowed_by[0].1.index, n);
        g.bench_with_input(BenchmarkId::new("non_matching", n), &n, |b, _| {
            b.iter(|| evaluate(black_box(&req), black_box(&policies)))
        });
    }
    g.finish();
}

criterion_group!(benches, realistic, scaling);
criterion_main!(benches);
