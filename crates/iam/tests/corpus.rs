//! Conformance against the iam-simulate decision corpus (`shared/corpus/iam-simulate`).
//!
//! The corpus is test data of another project (AGPL), read at test time only, never copied
//! here. Each case is mapped onto this crate's API: identity policies as
//! [`PolicyKind::Identity`], the resource policy as [`PolicyKind::Resource`], SCP levels
//! (root first) as [`PolicyKind::Scp`], RCP levels as [`PolicyKind::Rcp`], the (single)
//! permissions boundary as [`PolicyKind::Boundary`] and the session policy as
//! [`PolicyKind::Session`]. The request principal is built with [`Principal::from_arn`],
//! `resource.accountId` becomes `resource_account`, and `context` values become
//! single-valued (string) or multivalued (array) keys. `Discovery` simulation cases are an
//! analysis mode, not a decision, and are skipped. The corpus engine adds `RCPFullAWSAccess`
//! at every RCP level, which is what [`Policies::rcps`] assumes too.
//!
//! `expected.blockedBy` is compared with [`Evaluation::blocked_by`] for implicit denies and
//! with the layer of [`Evaluation::denied_by`] for explicit ones (`identity` = Identity,
//! `pb` = Boundary, `scp` = Scp, `rcp` = Rcp, `resource` = ResourcePolicy, `session` =
//! Session).
//!
//! Where AWS's documentation says otherwise than the corpus, the case is listed in
//! [`DISAGREEMENTS`] with the reason and the documentation's words, and this crate's
//! (documented) answer is asserted instead. Every other case must match exactly.
//!
//! Without `../shared` (the directory beside the checkout) the test is skipped with a
//! message, unless the environment variable `CI` is set: then it fails, so that a CI run
//! never passes without the corpus.

use bg_iam::*;
use serde_json::Value;
use std::path::PathBuf;

/// What this crate does differently from the corpus, and how the test checks it.
enum Fix {
    /// AWS refuses an identity policy that has a `Principal`; the test asserts the
    /// rejection, then checks the corpus answer with the `Principal` removed.
    StripIdentityPrincipal,
    /// AWS refuses a resource-based policy statement without `Principal`; the test asserts
    /// the rejection, then checks the corpus answer without those statements (the corpus
    /// engine ignores them, so the decision is unchanged).
    DropPrincipallessStatements,
    /// AWS refuses a bare-string principal other than `"*"`; the test asserts the
    /// rejection, then checks the corpus answer with `"arn…"` written as `{"AWS": "arn…"}`.
    WrapBarePrincipal,
    /// The documentation gives a different decision: assert this one.
    Decide(Decision, &'static [Layer]),
}

struct Disagreement {
    file: &'static str,
    case: &'static str,
    fix: Fix,
    reason: &'static str,
    /// Quoted from the AWS IAM User Guide.
    docs: &'static str,
}

const IDENTITY_PRINCIPAL_DOC: &str = "reference_policies_elements_principal: \"You cannot use \
    the Principal element in an identity-based policy.\" Grammar notes: \"The principal_block \
    element ... must not be included in identity-based policies.\" (IAM answers \"Policy \
    document should not specify a principal.\")";
const MISSING_PRINCIPAL_DOC: &str = "reference_policies_elements_principal: \"You must use the \
    Principal element in resource-based policies.\" Grammar notes: \"The principal_block \
    element is required in resource-based policies\".";
const BARE_PRINCIPAL_DOC: &str = "reference_policies_grammar: <principal_block> = \
    (\"Principal\" | \"NotPrincipal\") : (\"*\" | <principal_map>), where <principal_map> = \
    { (\"AWS\" | \"Federated\" | \"Service\" | \"CanonicalUser\") : [<principal_id_string>, ...] }.";

const DISAGREEMENTS: &[Disagreement] = &[
    Disagreement {
        file: "blog.json",
        case: "explicit deny without context key",
        fix: Fix::StripIdentityPrincipal,
        reason: "identity policy carries \"Principal\": \"*\"",
        docs: IDENTITY_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "blog.json",
        case: "explicit deny with sensitive value in context key",
        fix: Fix::StripIdentityPrincipal,
        reason: "identity policy carries \"Principal\": \"*\"",
        docs: IDENTITY_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "blog.json",
        case: "Allowed when context key present",
        fix: Fix::StripIdentityPrincipal,
        reason: "identity policy carries \"Principal\": \"*\"",
        docs: IDENTITY_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "noPrincipalElement.json",
        case: "Statement without Principal never matches (Allow)",
        fix: Fix::DropPrincipallessStatements,
        reason: "resource policy statement without Principal",
        docs: MISSING_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "noPrincipalElement.json",
        case: "Statement without Principal does not deny when identity allows",
        fix: Fix::DropPrincipallessStatements,
        reason: "resource policy statement without Principal",
        docs: MISSING_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "noPrincipalElement.json",
        case: "Statement without Principal is skipped; sibling statement still applies",
        fix: Fix::DropPrincipallessStatements,
        reason: "resource policy statement without Principal",
        docs: MISSING_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "permissionBoundaries-SameAccount.json",
        case: "Permission boundary deny resource policy allows role, from role",
        fix: Fix::WrapBarePrincipal,
        reason: "resource policy uses a bare ARN string as Principal",
        docs: BARE_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "permissionBoundaries-SameAccount.json",
        case: "Permission boundary deny resource policy allows role, from session",
        fix: Fix::WrapBarePrincipal,
        reason: "resource policy uses a bare ARN string as Principal",
        docs: BARE_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "permissionBoundaries-SameAccount.json",
        case: "Permission boundary explicit deny, resource policy allows session, from session",
        fix: Fix::WrapBarePrincipal,
        reason: "resource policy uses a bare ARN string as Principal",
        docs: BARE_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "permissionBoundaries-SameAccount.json",
        case: "Permission boundary implicit deny resource policy allows role, from role",
        fix: Fix::WrapBarePrincipal,
        reason: "resource policy uses a bare ARN string as Principal",
        docs: BARE_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "permissionBoundaries-SameAccount.json",
        case: "Permission boundary implicit deny, resource policy allows role, from session",
        fix: Fix::WrapBarePrincipal,
        reason: "resource policy uses a bare ARN string as Principal",
        docs: BARE_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "permissionBoundaries-SameAccount.json",
        case: "Permission boundary implicit deny resource policy allows session, from session",
        fix: Fix::WrapBarePrincipal,
        reason: "resource policy uses a bare ARN string as Principal",
        docs: BARE_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "permissionBoundaries-SameAccount.json",
        case: "Permission boundary implicit deny resource policy allows user",
        fix: Fix::WrapBarePrincipal,
        reason: "resource policy uses a bare ARN string as Principal",
        docs: BARE_PRINCIPAL_DOC,
    },
    Disagreement {
        file: "sessionPolicies.json",
        case: "Implicit deny in session policy denies even if session ARN in resource policy",
        fix: Fix::Decide(Decision::Allowed, &[]),
        reason: "a same-account resource policy naming the role-session ARN grants to the \
                 session directly; the session policy's implicit deny does not limit it",
        docs: "access_policies.html#policies_session: \"A resource-based policy can specify \
               the ARN of the session as a principal. In that case, the permissions from the \
               resource-based policy are added after the session is created. The \
               resource-based policy permissions are not limited by the session policy.\" \
               reference_policies_evaluation-logic (IAM role session): \"Permissions granted \
               directly to a session are not limited by an implicit deny in an \
               identity-based policy, a permissions boundary, or session policy.\"",
    },
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/iam-simulate")
}

fn layer(name: &str) -> Layer {
    match name {
        "identity" => Layer::Identity,
        "pb" => Layer::Boundary,
        "scp" => Layer::Scp,
        "rcp" => Layer::Rcp,
        "resource" => Layer::ResourcePolicy,
        "session" => Layer::Session,
        other => panic!("unknown blockedBy layer {other:?}"),
    }
}

fn decision(name: &str) -> Decision {
    match name {
        "Allowed" => Decision::Allowed,
        "ImplicitlyDenied" => Decision::ImplicitlyDenied,
        "ExplicitlyDenied" => Decision::ExplicitlyDenied,
        other => panic!("unknown response {other:?}"),
    }
}

fn statements_mut(doc: &mut Value) -> Vec<&mut Value> {
    match doc.get_mut("Statement") {
        Some(Value::Array(a)) => a.iter_mut().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => vec![],
    }
}

/// Applies a documented correction to the case's policies.
fn correct(case: &mut Value, fix: &Fix) {
    match fix {
        Fix::StripIdentityPrincipal => {
            if let Some(Value::Array(ps)) = case.get_mut("identityPolicies") {
                for p in ps {
                    for s in statements_mut(p) {
                        s.as_object_mut().unwrap().remove("Principal");
                    }
                }
            }
        }
        Fix::DropPrincipallessStatements => {
            let rp = case.get_mut("resourcePolicy").expect("resource policy");
            let kept: Vec<Value> = statements_mut(rp)
                .into_iter()
                .filter(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
                .map(|s| s.clone())
                .collect();
            rp["Statement"] = Value::Array(kept);
        }
        Fix::WrapBarePrincipal => {
            let rp = case.get_mut("resourcePolicy").expect("resource policy");
            for s in statements_mut(rp) {
                if let Some(Value::String(p)) = s.get("Principal").cloned() {
                    if p != "*" {
                        s["Principal"] = serde_json::json!({ "AWS": p });
                    }
                }
            }
        }
        Fix::Decide(..) => {}
    }
}

struct Mapped {
    request: Request,
    identity: Vec<NamedPolicy>,
    scps: Option<Vec<Vec<NamedPolicy>>>,
    rcps: Option<Vec<Vec<NamedPolicy>>>,
    resource: Option<NamedPolicy>,
    boundary: Option<NamedPolicy>,
    session: Option<NamedPolicy>,
}

fn parse(v: &Value, kind: PolicyKind, name: String) -> Result<NamedPolicy, PolicyError> {
    Policy::parse(&v.to_string(), kind).map(|p| NamedPolicy::new(name, p))
}

fn levels(
    v: Option<&Value>,
    kind: PolicyKind,
    tag: &str,
) -> Result<Option<Vec<Vec<NamedPolicy>>>, PolicyError> {
    let Some(Value::Array(levels)) = v else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (li, level) in levels.iter().enumerate() {
        let mut ps = Vec::new();
        for (pi, p) in level["policies"]
            .as_array()
            .expect("policies")
            .iter()
            .enumerate()
        {
            ps.push(parse(p, kind, format!("{tag}-{li}-{pi}"))?);
        }
        out.push(ps);
    }
    Ok(Some(out))
}

fn map_case(case: &Value) -> Result<Mapped, PolicyError> {
    let r = &case["request"];
    let mut request = Request::new(
        Principal::from_arn(r["principal"].as_str().expect("principal")),
        r["action"].as_str().expect("action"),
        r["resource"]["resource"].as_str().expect("resource"),
    );
    request.resource_account = r["resource"]["accountId"].as_str().map(str::to_string);
    if let Some(Value::Object(ctx)) = r.get("context") {
        for (k, v) in ctx {
            match v {
                Value::String(s) => {
                    request.context.set(k, s.clone());
                }
                Value::Array(a) => {
                    request
                        .context
                        .set_multi(k, a.iter().map(|x| x.as_str().expect("string").to_string()));
                }
                other => panic!("unsupported context value {other}"),
            }
        }
    }
    let identity = case["identityPolicies"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .enumerate()
                .map(|(i, p)| parse(p, PolicyKind::Identity, format!("identity-{i}")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let scps = levels(case.get("serviceControlPolicies"), PolicyKind::Scp, "scp")?;
    let rcps = levels(case.get("resourceControlPolicies"), PolicyKind::Rcp, "rcp")?;
    let resource = case
        .get("resourcePolicy")
        .map(|p| parse(p, PolicyKind::Resource, "resource".into()))
        .transpose()?;
    let boundary = match case.get("permissionBoundaries").and_then(Value::as_array) {
        None => None,
        Some(ps) if ps.is_empty() => None,
        Some(ps) if ps.len() == 1 => Some(parse(&ps[0], PolicyKind::Boundary, "boundary".into())?),
        Some(_) => panic!("several permissions boundaries are not supported"),
    };
    let session = case
        .get("sessionPolicy")
        .map(|p| parse(p, PolicyKind::Session, "session".into()))
        .transpose()?;
    Ok(Mapped {
        request,
        identity,
        scps,
        rcps,
        resource,
        boundary,
        session,
    })
}

fn run(m: &Mapped) -> Evaluation {
    let policies = Policies {
        identity: &m.identity,
        scps: m.scps.as_deref(),
        rcps: m.rcps.as_deref(),
        resource: m.resource.as_ref(),
        boundary: m.boundary.as_ref(),
        session: m.session.as_ref(),
    };
    evaluate(&m.request, &policies)
}

/// The layers to compare with `expected.blockedBy`.
fn reported_layers(ev: &Evaluation) -> Vec<Layer> {
    match &ev.denied_by {
        Some((l, _)) => vec![*l],
        None => ev.blocked_by.clone(),
    }
}

/// Checks an evaluation against the corpus expectation; `Err` describes the mismatch.
fn check(ev: &Evaluation, want: Decision, want_layers: Option<&[Layer]>) -> Result<(), String> {
    if ev.decision != want {
        return Err(format!(
            "decision {:?}, expected {want:?} ({ev:?})",
            ev.decision
        ));
    }
    if let Some(layers) = want_layers {
        if want != Decision::Allowed && reported_layers(ev) != layers {
            return Err(format!(
                "blocked by {:?}, expected {layers:?} ({ev:?})",
                reported_layers(ev)
            ));
        }
    }
    Ok(())
}

fn expected_rejection(fix: &Fix) -> Option<(PolicyKind, PolicyErrorReason)> {
    match fix {
        Fix::StripIdentityPrincipal => {
            Some((PolicyKind::Identity, PolicyErrorReason::PrincipalNotAllowed))
        }
        Fix::DropPrincipallessStatements => {
            Some((PolicyKind::Resource, PolicyErrorReason::MissingPrincipal))
        }
        Fix::WrapBarePrincipal => Some((PolicyKind::Resource, PolicyErrorReason::InvalidPrincipal)),
        Fix::Decide(..) => None,
    }
}

#[test]
fn iam_simulate_corpus() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        // Locally the corpus is optional; on CI a missing corpus must not pass unnoticed.
        if std::env::var_os("CI").is_some() {
            panic!(
                "iam-simulate corpus not found at {} and CI is set: on CI this test needs \
                 ../shared (shared/corpus/iam-simulate beside the checkout); provide it, or \
                 unset CI to skip locally",
                dir.display()
            );
        }
        println!(
            "SKIPPED: iam-simulate corpus not found at {} (shared/corpus is absent; with CI \
             set this fails)",
            dir.display()
        );
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());

    let (mut total, mut skipped, mut exact, mut corrected, mut decided) = (0, 0, 0, 0, 0);
    let mut seen_disagreements = Vec::new();
    let mut failures = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(path).expect("read corpus file");
        let cases: Vec<Value> = serde_json::from_str(&text).expect("corpus JSON");
        for case in cases {
            total += 1;
            let name = case["name"].as_str().expect("name").to_string();
            if case["simulation"]["mode"] == "Discovery" {
                skipped += 1;
                continue;
            }
            let want = decision(case["expected"]["response"].as_str().expect("response"));
            let want_layers: Option<Vec<Layer>> = case["expected"]["blockedBy"]
                .as_array()
                .map(|a| a.iter().map(|l| layer(l.as_str().unwrap())).collect());
            let listed = DISAGREEMENTS
                .iter()
                .find(|d| d.file == file && d.case == name);
            let label = format!("{file} :: {name}");
            let Some(d) = listed else {
                let outcome = map_case(&case)
                    .map_err(|e| format!("policy rejected: {e} ({})", e.detail()))
                    .and_then(|m| check(&run(&m), want, want_layers.as_deref()));
                match outcome {
                    Ok(()) => exact += 1,
                    Err(e) => failures.push(format!("{label}: {e}")),
                }
                continue;
            };
            seen_disagreements.push((file.clone(), name.clone()));
            let outcome = match &d.fix {
                Fix::Decide(dec, layers) => map_case(&case)
                    .map_err(|e| format!("policy rejected: {e}"))
                    .and_then(|m| {
                        let ev = run(&m);
                        if check(&ev, want, want_layers.as_deref()).is_ok() {
                            return Err("listed as a disagreement but matches the corpus".into());
                        }
                        check(&ev, *dec, Some(layers))
                    }),
                fix => {
                    let (kind, reason) = expected_rejection(fix).unwrap();
                    match map_case(&case) {
                        Ok(_) => Err("listed as rejected by AWS but the policies parsed".into()),
                        Err(e) if e.kind() != kind || *e.reason() != reason => {
                            Err(format!("rejected for another reason: {e:?}"))
                        }
                        Err(_) => {
                            let mut fixed = case.clone();
                            correct(&mut fixed, fix);
                            map_case(&fixed)
                                .map_err(|e| format!("corrected policy rejected: {e}"))
                                .and_then(|m| check(&run(&m), want, want_layers.as_deref()))
                        }
                    }
                }
            };
            match (outcome, &d.fix) {
                (Ok(()), Fix::Decide(..)) => decided += 1,
                (Ok(()), _) => corrected += 1,
                (Err(e), _) => failures.push(format!(
                    "{label} (documented disagreement: {}; docs: {}): {e}",
                    d.reason, d.docs
                )),
            }
        }
    }
    for d in DISAGREEMENTS {
        if !seen_disagreements
            .iter()
            .any(|(f, c)| f == d.file && c == d.case)
        {
            failures.push(format!(
                "listed disagreement not in the corpus: {} :: {}",
                d.file, d.case
            ));
        }
    }
    println!(
        "iam-simulate corpus: {} files, {total} cases, {skipped} Discovery skipped; \
         {exact} match exactly, {corrected} match after the documented policy correction \
         (AWS rejects the original document), {decided} decided per AWS docs against the corpus; \
         {} failed",
        files.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}
