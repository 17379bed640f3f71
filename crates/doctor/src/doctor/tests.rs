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
    gate_mut(&mut g, Gate::ModelAccess).set(Status::Shut, "no form on file", Some("submit".into()));
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
    assert!(iam.evidence.iter().any(|e| e
        .starts_with("The credentials in use are account 151515151515's (sts:GetCallerIdentity)")));
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
    assert!(r
        .gates
        .iter()
        .all(|g| g.fix.is_none() && !g.evidence.iter().any(|e| e.contains("credentials in use"))));
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
    assert!(
        f.contains("on all 1 ARN(s) the call needs (the model in this Region) to the user behind")
    );
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
