//! The faces agree: for every scenario in `scenarios/`, every access key it declares, models of
//! every kind (on demand, profile-only, end of life, Legacy, third-party Marketplace, Anthropic,
//! embeddings), six Regions, called directly and through the Region's geographic inference
//! profile, `policy check --scenario` (offline, `bg_diagnose::check::check`, the function the
//! command runs) and a real Converse to `serve` (aws-sdk-rust) give the same verdict, the same
//! gate, the same error code and the same message. Plus users with proptest-generated identity
//! policies.
//!
//! State that calls change (a Marketplace subscription started, a failed attempt remembered) is
//! replayed offline from the check's effects, in the same order as the calls, so both sides
//! decide against the same state. The quota gate counts live in serve: a call serve throttles
//! must be one the offline check admits (every gate before the quota open); none of these
//! scenarios scripts faults.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};
use bg_diagnose::check::{check, Input};
use bg_gates::decide::InvokeKind;

use std::path::{Path, PathBuf};
use std::process::Command;

const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "ap-northeast-1",
    "ca-central-1",
    "sa-east-1",
];

mod common;
use common::Server;

fn start(scenario: &Path) -> Server {
    Server::start([
        std::ffi::OsStr::new("--state"),
        std::ffi::OsStr::new(":memory:"),
        std::ffi::OsStr::new("--scenario"),
        scenario.as_os_str(),
    ])
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The state `policy check --scenario` reads (what serve starts from).
fn scenario_state(text: &str) -> bg_gates::State {
    let s = bg_server::scenario::Scenario::from_toml(text).unwrap();
    let st = bg_gates::State::default();
    let st = st.with_changes(&st.bootstrap_changes());
    let st = st.with_changes(&s.changes());
    st.with_changes(&s.access_changes(now()))
}

/// The models of the matrix: every kind the gates treat differently, checked against the
/// catalog so the matrix cannot silently shrink.
fn models() -> Vec<&'static str> {
    let c = bg_catalog::catalog();
    let ids = [
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "amazon.nova-micro-v1:0",
        "amazon.nova-canvas-v1:0",
        "amazon.titan-text-express-v1",
        "amazon.titan-embed-text-v2:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic.claude-sonnet-4-6",
        "meta.llama3-8b-instruct-v1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "mistral.mistral-large-2402-v1:0",
        "cohere.command-r-v1:0",
        "cohere.embed-english-v3",
        "ai21.jamba-1-5-large-v1:0",
        "deepseek.r1-v1:0",
        "openai.gpt-oss-120b-1:0",
        "qwen.qwen3-32b-v1:0",
    ];
    let known: Vec<&'static str> = ids
        .iter()
        .copied()
        .filter(|id| c.model(id).is_some())
        .collect();
    assert!(
        known.len() >= 20,
        "only {} models known: {known:?}",
        known.len()
    );
    let m = |id: &str| c.model(id).unwrap();
    use bg_catalog::LifecycleStatus as L;
    assert!(known.iter().any(|id| m(id).lifecycle == L::EndOfLife));
    assert!(known.iter().any(|id| m(id).lifecycle == L::Legacy));
    assert!(known.iter().any(|id| m(id).is_profile_only_in("us-east-1")));
    assert!(known
        .iter()
        .any(|id| m(id).marketplace && !id.starts_with("anthropic.")));
    assert!(known.iter().any(|id| m(id).use_case_form));
    assert!(known.iter().any(|id| !m(id).converse));
    known
}

fn geo_prefix(region: &str) -> &'static str {
    match region.split('-').next() {
        Some("eu") => "eu.",
        Some("ap") => "apac.",
        Some("ca") => "ca.",
        Some("sa") => "sa.",
        _ => "us.",
    }
}

/// (verdict, gate, code, message) as a face reports it.
type Outcome = (bool, Option<String>, Option<String>, Option<String>);

/// serve's answer; for a refusal, the request id whose audit record names the gate.
async fn serve_outcome(
    client: &aws_sdk_bedrockruntime::Client,
    model_id: &str,
) -> (Outcome, Option<String>) {
    let r = client
        .converse()
        .model_id(model_id)
        .messages(
            Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::Text("hi".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    match r {
        Ok(_) => ((true, None, None, None), None),
        Err(SdkError::ServiceError(e)) => {
            let rid = e
                .raw()
                .headers()
                .get("x-amzn-requestid")
                .map(str::to_string);
            let e = e.into_err();
            let code = e.code().map(str::to_string);
            let message = e.message().map(str::to_string);
            ((false, None, code, message), rid)
        }
        Err(other) => panic!("{model_id}: transport error {other:?}"),
    }
}

/// serve's audit log: request id -> the gate it recorded.
fn audit_gates(server: &Server) -> std::collections::HashMap<String, Option<String>> {
    use std::io::{Read, Write};
    let addr = server.url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET /_bedrock-gates/audit HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
        server.admin_token
    )
    .unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let v: serde_json::Value = serde_json::from_slice(&raw[at..]).unwrap();
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["request_id"].as_str().unwrap_or("").to_string(),
                r["gate"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn offline_outcome(r: &bg_diagnose::check::Report) -> Outcome {
    if let Some(d) = r.denied() {
        return (
            false,
            Some(d.gate.as_str().to_string()),
            Some(d.error.as_str().to_string()),
            Some(d.message.clone()),
        );
    }
    if let Some(e) = &r.invalid {
        return (
            false,
            None,
            Some(e.code.as_str().to_string()),
            Some(e.message.clone()),
        );
    }
    (true, None, None, None)
}

/// How a cell's client authenticates.
enum Cred {
    SigV4(String, String, Option<String>),
    /// A long-term Bedrock API key (`ABSK…`).
    LongTerm(String),
    /// A short-term key, presigned per Region by this SigV4 key (id, secret).
    ShortTerm(String, String),
}

/// The SDK configuration that sends `token` as a bearer token, as `AWS_BEARER_TOKEN_BEDROCK`
/// makes it do.
fn bearer_config(token: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(bg_doctor::doctor::https())
        .token_provider(aws_sdk_bedrockruntime::config::Token::new(token, None))
        .auth_scheme_preference([
            aws_smithy_runtime_api::client::auth::http::HTTP_BEARER_AUTH_SCHEME_ID,
        ])
}

struct Tally {
    cells: usize,
    throttled: usize,
    refused: usize,
    /// Cells refused on bedrock:CallWithBearerToken (API keys an SCP or a policy shuts).
    bearer_refused: usize,
    disagreements: Vec<String>,
}

async fn run_scenario(path: &Path, text: &str, models: &[&str], tally: &mut Tally) {
    let scenario = bg_server::scenario::Scenario::from_toml(text).unwrap();
    let server = start(path);
    let mut state = scenario_state(text);
    // Every SigV4 key, every long-term API key, and a short-term API key signed by each SigV4 key
    // of a scenario that declares API keys. A bearer request names no Region on the wire: a
    // long-term key is served in serve's default (us-east-1); a short-term key in its own.
    let mut creds: Vec<Cred> = scenario
        .access_key
        .iter()
        .map(|k| Cred::SigV4(k.id.clone(), k.secret.clone(), k.session_token.clone()))
        .collect();
    creds.push(Cred::SigV4("test".into(), "test".into(), None));
    for k in &scenario.api_key {
        let secret = &k.secret;
        let token =
            bg_gates::api_key::long_term_key(&format!("{}-at-{}", k.user, k.account), secret);
        creds.push(Cred::LongTerm(token));
    }
    if !scenario.api_key.is_empty() {
        for k in scenario
            .access_key
            .iter()
            .filter(|k| k.session_token.is_none())
        {
            creds.push(Cred::ShortTerm(k.id.clone(), k.secret.clone()));
        }
    }
    for cred in &creds {
        for region in REGIONS {
            let (key, builder) = match cred {
                Cred::SigV4(key, secret, token) => (
                    key.clone(),
                    aws_config::defaults(BehaviorVersion::latest())
                        .http_client(bg_doctor::doctor::https())
                        .credentials_provider(Credentials::new(
                            key,
                            secret,
                            token.clone(),
                            None,
                            "t",
                        )),
                ),
                Cred::LongTerm(_) if region != "us-east-1" => continue,
                Cred::LongTerm(token) => (token.clone(), bearer_config(token)),
                Cred::ShortTerm(key, secret) => {
                    let id = Credentials::new(key, secret, None, None, "t").into();
                    let token = bg_doctor::api_key::presign(
                        &id,
                        region,
                        43_200,
                        std::time::SystemTime::now(),
                    );
                    (token.clone(), bearer_config(&token))
                }
            };
            let conf = builder
                .endpoint_url(&server.url)
                .region(aws_config::Region::new(region))
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .load()
                .await;
            let client = aws_sdk_bedrockruntime::Client::new(&conf);
            // (cell, offline, serve, request id) for this batch; gates filled from the audit
            let mut batch = Vec::new();
            for model in models {
                let profile = format!("{}{model}", geo_prefix(region));
                for id in [model.to_string(), profile] {
                    let input = Input {
                        identity: Vec::new(),
                        scp_levels: Vec::new(),
                        full_aws_access: true,
                        boundary: None,
                        session: None,
                        principal: key.clone(),
                        model: id.clone(),
                        region: region.to_string(),
                        profile: None,
                        action: "bedrock:InvokeModel".into(),
                        now_unix: now(),
                        state: Some(state.clone()),
                        operation: Some(InvokeKind::Converse),
                    };
                    let report = check(&input, bg_catalog::catalog()).unwrap();
                    let (online, rid) = serve_outcome(&client, &id).await;
                    state = state.with_changes(&report.effects);
                    batch.push((id, offline_outcome(&report), online, rid));
                }
            }
            let gates = audit_gates(&server);
            for (id, offline, mut online, rid) in batch {
                if let Some(rid) = rid {
                    online.1 = gates.get(&rid).cloned().flatten();
                }
                tally.cells += 1;
                if !online.0 {
                    tally.refused += 1;
                }
                if online
                    .3
                    .as_deref()
                    .is_some_and(|m| m.contains("bedrock:CallWithBearerToken"))
                {
                    tally.bearer_refused += 1;
                }
                if online.1.as_deref() == Some("quota") && offline.0 {
                    tally.throttled += 1;
                } else if online != offline {
                    let who = if key.len() > 24 { &key[..24] } else { &key };
                    tally.disagreements.push(format!(
                        "{} {who} {region} {id}: serve {online:?} / policy check {offline:?}",
                        path.file_name().unwrap().to_string_lossy()
                    ));
                }
            }
        }
    }
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// A scenario of users whose identity policies proptest generates: Allow/Deny statements over
/// Bedrock actions, model and profile ARN patterns, and Region conditions.
fn generated_scenario(users: usize) -> String {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let action = proptest::sample::select(vec![
        "bedrock:InvokeModel",
        "bedrock:Invoke*",
        "bedrock:*",
        "bedrock:InvokeModelWithResponseStream",
        "bedrock:Converse",
    ]);
    let resource = proptest::sample::select(vec![
        "*",
        "arn:aws:bedrock:*::foundation-model/*",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.*",
        "arn:aws:bedrock:*::foundation-model/anthropic.*",
        "arn:aws:bedrock:*:*:inference-profile/us.*",
        "arn:aws:bedrock:*:*:inference-profile/*",
        "arn:aws:bedrock:eu-*::foundation-model/*",
    ]);
    let condition = proptest::sample::select(vec![
        "",
        r#","Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}"#,
        r#","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}"#,
        r#","Condition":{"StringLike":{"bedrock:InferenceProfileArn":"*:inference-profile/us.*"}}"#,
    ]);
    let effect = proptest::sample::select(vec!["Allow", "Allow", "Allow", "Deny"]);
    let statement = (effect, action, resource, condition).prop_map(|(e, a, r, c)| {
        format!(r#"{{"Effect":"{e}","Action":"{a}","Resource":"{r}"{c}}}"#)
    });
    let policy = proptest::collection::vec(statement, 1..4);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let mut out = String::from("[[account]]\nid = \"123412341234\"\nuse_case_form = true\n");
    for i in 0..users {
        let statements = policy.new_tree(&mut runner).unwrap().current();
        out.push_str(&format!(
            "[[policy]]\naccount = \"123412341234\"\nname = \"gen{i}\"\ndocument = '''{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}'''\n\
             [[user]]\naccount = \"123412341234\"\nname = \"gen{i}\"\nattach = [\"gen{i}\"]\n\
             [[access_key]]\naccount = \"123412341234\"\nuser = \"gen{i}\"\nid = \"AKIAGENERATED{i:07}\"\nsecret = \"gen-secret-{i}\"\n",
            statements.join(",")
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_check_and_serve_agree_on_every_cell() {
    let models = models();
    let mut tally = Tally {
        cells: 0,
        throttled: 0,
        refused: 0,
        bearer_refused: 0,
        disagreements: Vec::new(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "scenarios/ holds {} files", files.len());
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated-policies.toml");
    std::fs::write(&generated, generated_scenario(12)).unwrap();
    files.push(generated);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        run_scenario(f, &text, &models, &mut tally).await;
    }
    println!(
        "faces agree: {} cells ({} scenarios incl. generated policies, {} models, {} Regions, direct and profile; SigV4, long- and short-term API keys), {} refused ({} on bedrock:CallWithBearerToken), {} throttled by serve's live quota and admitted offline, {} disagreements",
        tally.cells,
        files.len(),
        models.len(),
        REGIONS.len(),
        tally.refused,
        tally.bearer_refused,
        tally.throttled,
        tally.disagreements.len()
    );
    assert!(
        tally.disagreements.is_empty(),
        "{} of {} cells disagree:\n{}",
        tally.disagreements.len(),
        tally.cells,
        tally.disagreements[..tally.disagreements.len().min(40)].join("\n")
    );
    assert!(tally.refused > 0 && tally.refused < tally.cells);
    assert!(
        tally.bearer_refused > 0,
        "no API-key cell was refused by IAM"
    );
}

fn policy_check_cli(args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_bedrock-gates"))
        .args(["policy", "check", "--json"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

/// The issue's first example: a policy that allows everything, a model past its end of life.
#[test]
fn policy_check_names_the_region_gate_for_an_end_of_life_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.json");
    std::fs::write(
        &p,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#,
    )
    .unwrap();
    let (code, v) = policy_check_cli(&[
        "--principal",
        "arn:aws:iam::111111111111:user/dev",
        "--model",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "--region",
        "us-west-2",
        "--policy",
        p.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert_eq!(v["allowed"], false);
    assert_eq!(v["gate"], "region");
    assert_eq!(v["error"], "ResourceNotFoundException");
    assert_eq!(
        v["message"],
        "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
    );
    // every gate is reported: the credentials were taken as given, the Region refused, the rest
    // never ran
    let steps: Vec<(&str, &str)> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["gate"].as_str().unwrap(), s["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("credentials", "passed"), ("region", "refused")]);
}

/// The command with `--scenario` answers as serve does, one cell per gate.
#[test]
fn policy_check_command_with_a_scenario_names_each_gate() {
    let dir = scenarios_dir();
    let s = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let cases = [
        // (scenario, principal, model, Region, exit, gate, error)
        (
            "two-gates-iam-and-access.toml",
            "AKIATWOGATESACCESS01",
            "amazon.nova-pro-v1:0",
            "us-east-1",
            2,
            "iam",
            "AccessDeniedException",
        ),
        (
            "two-gates-iam-and-access.toml",
            "AKIAROOTTWOGATESACCS",
            "amazon.nova-pro-v1:0",
            "us-east-1",
            4,
            "model-access",
            "AccessDeniedException",
        ),
        (
            "anthropic-form-missing.toml",
            "AKIANOFORM0000000001",
            "anthropic.claude-3-haiku-20240307-v1:0",
            "us-east-1",
            4,
            "model-access",
            "ResourceNotFoundException",
        ),
        (
            "wrong-region.toml",
            "test",
            "amazon.nova-canvas-v1:0",
            "us-west-2",
            3,
            "region",
            "ValidationException",
        ),
        (
            "open-sandbox.toml",
            "AKIANOSUCHKEY0000000",
            "amazon.nova-lite-v1:0",
            "us-east-1",
            5,
            "credentials",
            "UnrecognizedClientException",
        ),
    ];
    for (scenario, principal, model, region, exit, gate, error) in cases {
        let (code, v) = policy_check_cli(&[
            "--scenario",
            &s(scenario),
            "--principal",
            principal,
            "--model",
            model,
            "--region",
            region,
        ]);
        assert_eq!(
            (code, v["gate"].as_str(), v["error"].as_str()),
            (exit, Some(gate), Some(error)),
            "{scenario} {principal} {model}: {v}"
        );
    }
    let (code, v) = policy_check_cli(&[
        "--scenario",
        &s("open-sandbox.toml"),
        "--principal",
        "test",
        "--model",
        "amazon.nova-lite-v1:0",
        "--region",
        "us-east-1",
    ]);
    assert_eq!((code, v["allowed"].as_bool()), (0, Some(true)), "{v}");
}

/// `--state` reads serve's database as serve left it (here: while serve runs, WAL mode).
#[test]
fn policy_check_reads_serves_state_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let scenario = scenarios_dir().join("two-gates-iam-and-access.toml");
    let server = Server::start([
        std::ffi::OsStr::new("--state"),
        db.as_os_str(),
        std::ffi::OsStr::new("--scenario"),
        scenario.as_os_str(),
    ]);
    assert!(server.url.starts_with("http://"));
    let run = || {
        policy_check_cli(&[
            "--state",
            db.to_str().unwrap(),
            "--principal",
            "AKIAROOTTWOGATESACCS",
            "--model",
            "amazon.nova-pro-v1:0",
            "--region",
            "us-east-1",
        ])
    };
    let (code, v) = run();
    drop(server);
    assert_eq!((code, v["gate"].as_str()), (4, Some("model-access")), "{v}");
    // and after serve is gone, the same
    let (code, _) = run();
    assert_eq!(code, 4);
    // no such database: an error, not an empty state
    let (code, out) = {
        let o = Command::new(env!("CARGO_BIN_EXE_bedrock-gates"))
            .args(["policy", "check", "--state"])
            .arg(dir.path().join("missing.db"))
            .args([
                "--principal",
                "test",
                "--model",
                "amazon.nova-lite-v1:0",
                "--region",
                "us-east-1",
            ])
            .output()
            .unwrap();
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, 1);
    assert!(out.contains("no state database at"), "{out}");
}
