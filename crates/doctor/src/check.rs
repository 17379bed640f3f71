//! `policy check`: would this principal, with these policies, be allowed to call this model from
//! this Region, and why. The same functions the server decides with: the Region gate
//! ([`bg_gates::region::resolve`]), the resource list ([`bg_gates::invoke::invoke_resources`],
//! profile, source model and every destination, each with its own condition keys), and the IAM
//! engine ([`bg_iam::evaluate`]) per resource; the refusal text is the server's
//! ([`bg_gates::authz::deny`]).

use bg_catalog::Catalog;
use bg_gates::authz::RequestFacts;
use bg_gates::{Caller, CallerKind, Deny};
use bg_iam::{Decision, Evaluation, Layer, NamedPolicy, Policies, Policy, PolicyKind};
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
    /// AWS's message for the first refused resource.
    pub refusal: Option<Deny>,
}

impl Report {
    pub fn allowed(&self) -> bool {
        self.region_refusal.is_none() && self.refusal.is_none()
    }

    /// 0 allowed, 2 refused by IAM, 3 refused by the Region gate.
    pub fn exit_code(&self) -> i32 {
        if self.region_refusal.is_some() {
            3
        } else if self.refusal.is_some() {
            2
        } else {
            0
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
            "message": self.refusal.as_ref().map(|d| d.message.clone()),
            "fix": self.refusal.as_ref().map(|d| d.fix.clone()),
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

pub fn check(input: &Input, catalog: &Catalog) -> Result<Report, CheckError> {
    let caller = caller_from_arn(&input.principal)?;
    let identity: Vec<NamedPolicy> = input
        .identity
        .iter()
        .map(|d| parse(d, PolicyKind::Identity))
        .collect::<Result<_, _>>()?;
    let boundary = input
        .boundary
        .as_ref()
        .map(|d| parse(d, PolicyKind::Boundary))
        .transpose()?;
    let session = input
        .session
        .as_ref()
        .map(|d| parse(d, PolicyKind::Session))
        .transpose()?;
    let full = Policy::parse(FULL_AWS_ACCESS, PolicyKind::Scp).map_err(|e| CheckError::Policy {
        name: "FullAWSAccess".into(),
        error: e.to_string(),
    })?;
    let levels: Vec<Vec<NamedPolicy>> = input
        .scp_levels
        .iter()
        .map(|level| {
            let mut v = Vec::new();
            if input.full_aws_access {
                v.push(NamedPolicy::new("FullAWSAccess", full.clone()));
            }
            for d in level {
                v.push(parse(d, PolicyKind::Scp)?);
            }
            Ok(v)
        })
        .collect::<Result<_, CheckError>>()?;

    let identifier = match &input.profile {
        Some(p) => {
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
            p.clone()
        }
        None => input.model.clone(),
    };
    let mut report = Report {
        principal: caller.arn.clone(),
        action: input.action.clone(),
        model_identifier: identifier.clone(),
        region: input.region.clone(),
        region_refusal: None,
        resources: Vec::new(),
        refusal: None,
    };
    let target = match bg_gates::region::resolve(catalog, &identifier, &input.region) {
        Ok(t) => t,
        Err(d) => {
            report.region_refusal = Some(d);
            return Ok(report);
        }
    };
    let facts = RequestFacts {
        region: input.region.clone(),
        source_ip: None,
        now_unix: input.now_unix,
        secure_transport: true,
    };
    for (arn, ctx) in bg_gates::invoke::invoke_resources(&target, &caller, &facts) {
        let shown: Vec<(String, String)> = ["aws:RequestedRegion", "bedrock:InferenceProfileArn"]
            .iter()
            .filter_map(|k| {
                ctx.get(k)
                    .and_then(|v| v.first())
                    .map(|v| (k.to_string(), v.clone()))
            })
            .collect();
        let req = bg_iam::Request {
            principal: bg_iam::Principal::from_arn(&caller.arn),
            action: input.action.clone(),
            resource: arn.clone(),
            resource_account: None,
            context: ctx,
        };
        let evaluation = bg_iam::evaluate(
            &req,
            &Policies {
                identity: &identity,
                scps: (!levels.is_empty()).then_some(levels.as_slice()),
                rcps: None,
                resource: None,
                boundary: boundary.as_ref(),
                session: session.as_ref(),
            },
        );
        if !evaluation.is_allowed() && report.refusal.is_none() {
            report.refusal = Some(bg_gates::authz::deny(
                &caller,
                &input.action,
                Some(&arn),
                &evaluation,
            ));
        }
        report.resources.push(ResourceDecision {
            arn,
            context: shown,
            deciding: deciding(&evaluation),
            evaluation,
        });
    }
    Ok(report)
}

/// The human form.
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
        let (word, painted) = match res.evaluation.decision {
            Decision::Allowed => ("ALLOWED", style.green("ALLOWED ")),
            Decision::ImplicitlyDenied => ("DENIED", style.red("DENIED  ")),
            Decision::ExplicitlyDenied => ("DENIED", style.red("DENIED  ")),
        };
        let _ = word;
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
    match &r.refusal {
        None => out.push_str(&format!(
            "{}{}\n",
            style.bold(&pad("verdict", 10)),
            style.green("ALLOWED")
        )),
        Some(d) => out.push_str(&format!(
            "{}{}\n{}{}\n{}{}\n",
            style.bold(&pad("verdict", 10)),
            style.red("DENIED"),
            style.bold(&pad("AWS says", 10)),
            d.message,
            style.bold(&pad("fix", 10)),
            d.fix
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
