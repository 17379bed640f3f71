//! `policy generate`: a least-privilege identity policy (and, on request, a guard-rail SCP) for
//! exactly the named models, Regions and system inference-profile prefixes, following AWS's
//! rules for cross-Region inference (bedrock-facts §4.3):
//!
//! - a model called in-Region: its foundation-model ARN in that Region;
//! - a geographic profile (`us.`, `eu.`, …): the profile ARN in the source Region, and the model
//!   ARN in the source Region and in every destination Region, the model ARNs pinned to the
//!   profiles with `bedrock:InferenceProfileArn` (so they are not callable directly);
//! - a global profile: the profile ARN, the source-Region model ARN, and the Region-less
//!   `arn:aws:bedrock:::foundation-model/ID` with `aws:RequestedRegion` = `unspecified`, in its
//!   own statement;
//! - a model sold through AWS Marketplace: `aws-marketplace:Subscribe` and `ViewSubscriptions`,
//!   only when called via Bedrock (`aws:CalledViaLast`), for the first call that subscribes.
//!
//! The documents are parsed by the IAM engine before they are returned.

use crate::document::{dedup, Condition, Effect, PolicyDocument, Statement};
use bg_catalog::{partition_of, Catalog, Model};
use bg_iam::PolicyKind;

pub const INVOKE: &str = "bedrock:InvokeModel";
pub const INVOKE_STREAM: &str = "bedrock:InvokeModelWithResponseStream";
pub const MARKETPLACE_ACTIONS: [&str; 2] = [
    "aws-marketplace:Subscribe",
    "aws-marketplace:ViewSubscriptions",
];

/// What to generate for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Model IDs (a system profile ID such as `us.amazon.nova-lite-v1:0` also names its prefix).
    pub models: Vec<String>,
    pub regions: Vec<String>,
    /// System inference-profile prefixes: `us`, `eu`, `apac`, `global`, …
    pub profile_prefixes: Vec<String>,
    /// Also allow `bedrock:InvokeModelWithResponseStream` (ConverseStream).
    pub streaming: bool,
    /// Also write the guard-rail SCP.
    pub scp: bool,
    /// The account in profile ARNs; `*` when absent.
    pub account: Option<String>,
}

/// The result: the identity policy, the SCP when asked, and notes for the human.
#[derive(Clone, Debug)]
pub struct Generated {
    pub identity: PolicyDocument,
    pub scp: Option<PolicyDocument>,
    /// What was left out and why (a prefix with no profile for a model, …).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    #[error("name at least one model with --model")]
    NoModel,
    #[error("name at least one Region with --region (or set AWS_REGION)")]
    NoRegion,
    #[error("unknown model {model}: not in the catalog{hint}")]
    UnknownModel { model: String, hint: String },
    #[error("unknown Region {0}: not a Bedrock Region of the catalog")]
    UnknownRegion(String),
    #[error("unknown inference profile prefix {prefix} (the catalog knows: {known})")]
    UnknownPrefix { prefix: String, known: String },
    #[error("--account must be 12 digits, not {0}")]
    BadAccount(String),
    #[error("{model} is not offered in {region}. {offered}")]
    NotOffered {
        model: String,
        region: String,
        offered: String,
    },
    #[error("{model} is offered in {region} only through cross-Region inference profiles ({profiles}); add --profile-prefix {prefixes}")]
    ProfileOnly {
        model: String,
        region: String,
        profiles: String,
        prefixes: String,
    },
    #[error("the generated {which} does not validate: {error}")]
    Invalid { which: &'static str, error: String },
}

/// Where a model is offered, in words, for error messages.
pub fn where_offered(catalog: &Catalog, model: &Model) -> String {
    let mut parts = Vec::new();
    if !model.on_demand_regions.is_empty() {
        parts.push(format!(
            "Regions that offer it: {}",
            model.on_demand_regions.join(", ")
        ));
    }
    let profiles: Vec<String> = catalog
        .profiles_for_model(&model.id)
        .map(|p| {
            if p.global {
                format!("{} (from {} Regions)", p.id, p.source_regions.len())
            } else {
                format!("{} (from {})", p.id, p.source_regions.join(", "))
            }
        })
        .collect();
    if !profiles.is_empty() {
        parts.push(format!("inference profiles: {}", profiles.join("; ")));
    }
    if parts.is_empty() {
        "No Region offers it.".to_string()
    } else {
        parts.join("; ")
    }
}

fn hint(catalog: &Catalog, wanted: &str) -> String {
    let w = wanted.to_ascii_lowercase();
    let stem = w.split(':').next().unwrap_or(&w).to_string();
    let close: Vec<&str> = catalog
        .models
        .iter()
        .map(|m| m.id.as_str())
        .filter(|id| id.contains(&stem) || stem.contains(id.split(':').next().unwrap_or(id)))
        .take(4)
        .collect();
    if close.is_empty() {
        " (list them with `aws bedrock list-foundation-models`)".to_string()
    } else {
        format!("; did you mean {}?", close.join(", "))
    }
}

/// The ARN sets a policy must allow for one model in one Region (also used by `explain` to
/// write a fix).
#[derive(Clone, Debug, Default)]
pub struct Arns {
    /// Foundation-model ARNs called in-Region.
    pub direct: Vec<String>,
    /// System inference-profile ARNs.
    pub profiles: Vec<String>,
    /// Regional model ARNs reached through profiles (source and destination Regions).
    pub routed: Vec<String>,
    /// Global profile ARNs (the Region-less model ARN is allowed only through them).
    pub global_profiles: Vec<String>,
    /// Region-less model ARNs of global profiles.
    pub regionless: Vec<String>,
}

impl Arns {
    fn extend(&mut self, o: Arns) {
        self.direct.extend(o.direct);
        self.profiles.extend(o.profiles);
        self.routed.extend(o.routed);
        self.global_profiles.extend(o.global_profiles);
        self.regionless.extend(o.regionless);
    }

    /// Every ARN, for the SCP's NotResource.
    pub fn all(&self) -> Vec<String> {
        dedup(
            self.direct
                .iter()
                .chain(&self.profiles)
                .chain(&self.routed)
                .chain(&self.regionless)
                .cloned()
                .collect(),
        )
    }

    /// The identity-policy statements for `actions`.
    pub fn statements(&self, actions: &[&str]) -> Vec<Statement> {
        let mut out = Vec::new();
        if !self.direct.is_empty() {
            out.push(Statement::allow(
                "InvokeModelsInRegion",
                actions,
                self.direct.clone(),
            ));
        }
        if !self.profiles.is_empty() {
            out.push(Statement::allow(
                "InvokeInferenceProfiles",
                actions,
                self.profiles.clone(),
            ));
        }
        if !self.routed.is_empty() {
            out.push(
                Statement::allow("InvokeModelsThroughProfiles", actions, self.routed.clone()).with(
                    Condition::new(
                        "ArnLike",
                        "bedrock:InferenceProfileArn",
                        dedup(self.profiles.clone()),
                    ),
                ),
            );
        }
        if !self.regionless.is_empty() {
            out.push(
                Statement::allow(
                    "InvokeModelsThroughGlobalProfiles",
                    actions,
                    self.regionless.clone(),
                )
                .with(Condition::new(
                    "StringEquals",
                    "aws:RequestedRegion",
                    vec!["unspecified".to_string()],
                ))
                .with(Condition::new(
                    "ArnLike",
                    "bedrock:InferenceProfileArn",
                    dedup(self.global_profiles.clone()),
                )),
            );
        }
        out
    }
}

/// The ARNs for one system profile called from `region` by `account`.
pub fn profile_arns(
    profile: &bg_catalog::InferenceProfile,
    model: &Model,
    region: &str,
    account: &str,
) -> Arns {
    let mut a = Arns::default();
    let parn = profile.arn(region, account);
    a.profiles.push(parn.clone());
    a.routed.push(model.arn(region));
    if profile.global {
        a.global_profiles.push(parn);
        a.regionless.push(format!(
            "arn:{}:bedrock:::foundation-model/{}",
            partition_of(region),
            model.id
        ));
    } else {
        for d in &profile.destination_regions {
            a.routed.push(model.arn(d));
        }
    }
    a
}

/// The marketplace statement (first call of a third-party model subscribes through Bedrock).
pub fn marketplace_statement() -> Statement {
    Statement::allow(
        "MarketplaceSubscribeOnFirstUse",
        &MARKETPLACE_ACTIONS,
        vec!["*".to_string()],
    )
    .with(Condition::new(
        "StringEquals",
        "aws:CalledViaLast",
        vec!["bedrock.amazonaws.com".to_string()],
    ))
}

pub fn generate(req: &Request, catalog: &Catalog) -> Result<Generated, GenerateError> {
    if req.models.is_empty() {
        return Err(GenerateError::NoModel);
    }
    if req.regions.is_empty() {
        return Err(GenerateError::NoRegion);
    }
    let account = match &req.account {
        Some(a) if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => a.clone(),
        Some(a) => return Err(GenerateError::BadAccount(a.clone())),
        None => "*".to_string(),
    };
    let mut known: Vec<&str> = catalog.profiles.iter().map(|p| p.prefix.as_str()).collect();
    known.sort_unstable();
    known.dedup();
    for p in &req.profile_prefixes {
        if !known.contains(&p.as_str()) {
            return Err(GenerateError::UnknownPrefix {
                prefix: p.clone(),
                known: known.join(", "),
            });
        }
    }
    for r in &req.regions {
        if catalog.region(r).is_none() {
            return Err(GenerateError::UnknownRegion(r.clone()));
        }
    }
    // Resolve each --model to (model, extra prefixes named by a profile ID).
    let mut models: Vec<(&Model, Vec<String>)> = Vec::new();
    for id in &req.models {
        let (model, implied) = if let Some(m) = catalog.model(id) {
            (m, None)
        } else if let Some(p) = catalog.profile(id) {
            match catalog.model(&p.model_id) {
                Some(m) => (m, Some(p.prefix.clone())),
                None => {
                    return Err(GenerateError::UnknownModel {
                        model: id.clone(),
                        hint: hint(catalog, id),
                    })
                }
            }
        } else {
            return Err(GenerateError::UnknownModel {
                model: id.clone(),
                hint: hint(catalog, id),
            });
        };
        let mut prefixes = req.profile_prefixes.clone();
        prefixes.extend(implied);
        match models.iter_mut().find(|(m, _)| m.id == model.id) {
            Some((_, ps)) => ps.extend(prefixes),
            None => models.push((model, prefixes)),
        }
    }

    let mut arns = Arns::default();
    let mut notes = Vec::new();
    for (model, prefixes) in &models {
        let prefixes = dedup(prefixes.clone());
        for p in &prefixes {
            if catalog.profile(&format!("{p}.{}", model.id)).is_none() {
                notes.push(format!(
                    "no {p}. inference profile exists for {} in the catalog; left out",
                    model.id
                ));
            }
        }
        for region in &req.regions {
            let mut routes = 0;
            if model.is_on_demand_in(region) {
                arns.direct.push(model.arn(region));
                routes += 1;
            }
            for p in &prefixes {
                let Some(profile) = catalog.profile(&format!("{p}.{}", model.id)) else {
                    continue;
                };
                if profile.is_callable_from(region) {
                    arns.extend(profile_arns(profile, model, region, &account));
                    routes += 1;
                } else {
                    notes.push(format!(
                        "{} cannot be called from {region} (its source Regions: {}); left out for {region}",
                        profile.id,
                        profile.source_regions.join(", ")
                    ));
                }
            }
            if routes == 0 {
                if model.is_profile_only_in(region) {
                    let ps: Vec<&bg_catalog::InferenceProfile> = catalog
                        .profiles_in_region(region)
                        .filter(|p| p.model_id == model.id)
                        .collect();
                    return Err(GenerateError::ProfileOnly {
                        model: model.id.clone(),
                        region: region.clone(),
                        profiles: ps
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        prefixes: ps
                            .iter()
                            .map(|p| p.prefix.as_str())
                            .collect::<Vec<_>>()
                            .join(" | "),
                    });
                }
                return Err(GenerateError::NotOffered {
                    model: model.id.clone(),
                    region: region.clone(),
                    offered: where_offered(catalog, model),
                });
            }
        }
    }

    let mut actions = vec![INVOKE];
    if req.streaming {
        actions.push(INVOKE_STREAM);
    }
    let mut statements = arns.statements(&actions);
    if models.iter().any(|(m, _)| m.marketplace) {
        statements.push(marketplace_statement());
    }
    let identity = PolicyDocument { statements };
    identity
        .validate(PolicyKind::Identity)
        .map_err(|e| GenerateError::Invalid {
            which: "identity policy",
            error: format!("{e} ({})", e.detail()),
        })?;
    let scp = if req.scp {
        let doc = PolicyDocument {
            statements: vec![Statement {
                sid: "DenyInvokeOfOtherModels".to_string(),
                effect: Effect::Deny,
                actions: vec!["bedrock:InvokeModel*".to_string()],
                resources: arns
                    .all()
                    .into_iter()
                    .map(|a| wildcard_account(&a))
                    .collect(),
                not_resource: true,
                conditions: Vec::new(),
            }],
        };
        doc.validate(PolicyKind::Scp)
            .map_err(|e| GenerateError::Invalid {
                which: "service control policy",
                error: format!("{e} ({})", e.detail()),
            })?;
        Some(doc)
    } else {
        None
    };
    let limit_note = |doc: &PolicyDocument, what: &str, limit: usize| {
        let n = doc
            .to_compact()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count();
        (n > limit).then(|| {
            format!("the {what} has {n} characters, over AWS's {limit}-character limit for it")
        })
    };
    notes.extend(limit_note(
        &identity,
        "identity policy as a managed policy",
        6144,
    ));
    if let Some(s) = &scp {
        notes.extend(limit_note(s, "SCP", 5120));
    }
    Ok(Generated {
        identity,
        scp,
        notes: dedup(notes),
    })
}

/// An SCP applies to every account of its targets: profile ARNs get `*` for the account.
fn wildcard_account(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() == 6 && !parts[4].is_empty() {
        format!(
            "{}:{}:{}:{}:*:{}",
            parts[0], parts[1], parts[2], parts[3], parts[5]
        )
    } else {
        arn.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bg_gates::authz::RequestFacts;
    use bg_gates::{Caller, CallerKind};
    use bg_iam::{Decision, NamedPolicy, Policies, Policy};

    const ACCOUNT: &str = "111111111111";

    fn caller() -> Caller {
        Caller {
            arn: format!("arn:aws:iam::{ACCOUNT}:user/dev"),
            account: ACCOUNT.into(),
            user_id: "AIDAEXAMPLE".into(),
            entity_arn: format!("arn:aws:iam::{ACCOUNT}:user/dev"),
            kind: CallerKind::User,
            access_key: "AKIAEXAMPLE".into(),
            session: None,
            tags: Default::default(),
            bearer: None,
        }
    }

    /// Every resource the server checks for `model_id` called from `region`, evaluated against
    /// the policy: (ARN, decision).
    fn decide(
        identity: &PolicyDocument,
        scp: Option<&PolicyDocument>,
        action: &str,
        model_id: &str,
        region: &str,
    ) -> Vec<(String, Decision)> {
        let catalog = bg_catalog::catalog();
        let target = bg_gates::region::resolve(catalog, model_id, region)
            .unwrap_or_else(|d| panic!("{model_id} in {region}: {}", d.message));
        let c = caller();
        let facts = RequestFacts {
            region: region.into(),
            source_ip: None,
            now_unix: 1_800_000_000,
            secure_transport: true,
        };
        let id = [NamedPolicy::new(
            "generated",
            Policy::parse(&identity.to_compact(), PolicyKind::Identity).unwrap(),
        )];
        let full = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            PolicyKind::Scp,
        )
        .unwrap();
        let levels: Option<Vec<Vec<NamedPolicy>>> = scp.map(|s| {
            vec![vec![
                NamedPolicy::new("FullAWSAccess", full.clone()),
                NamedPolicy::new(
                    "guard",
                    Policy::parse(&s.to_compact(), PolicyKind::Scp).unwrap(),
                ),
            ]]
        });
        bg_gates::invoke::invoke_resources(&target, &c, &facts)
            .into_iter()
            .map(|(arn, ctx)| {
                let req = bg_iam::Request {
                    principal: bg_iam::Principal::from_arn(&c.arn),
                    action: action.into(),
                    resource: arn.clone(),
                    resource_account: None,
                    context: ctx,
                };
                let ev = bg_iam::evaluate(
                    &req,
                    &Policies {
                        identity: &id,
                        scps: levels.as_deref(),
                        ..Default::default()
                    },
                );
                (arn, ev.decision)
            })
            .collect()
    }

    fn allowed(v: &[(String, Decision)]) -> bool {
        v.iter().all(|(_, d)| *d == Decision::Allowed)
    }

    fn req(models: &[&str], regions: &[&str], prefixes: &[&str]) -> Request {
        Request {
            models: models.iter().map(|s| s.to_string()).collect(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
            profile_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn in_region_models_only() {
        let g = generate(
            &req(
                &["amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"],
                &["us-east-1"],
                &[],
            ),
            bg_catalog::catalog(),
        )
        .unwrap();
        assert_eq!(
            g.identity.to_compact(),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"InvokeModelsInRegion","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0","arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"]}]}"#
        );
        assert!(allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "amazon.nova-lite-v1:0",
            "us-east-1"
        )));
        assert!(allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "amazon.nova-pro-v1:0",
            "us-east-1"
        )));
        // not named: refused
        assert!(!allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "amazon.nova-micro-v1:0",
            "us-east-1"
        )));
        // named model, Region not named: refused
        assert!(!allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "amazon.nova-lite-v1:0",
            "ap-northeast-1"
        )));
        // not streaming
        assert!(!allowed(&decide(
            &g.identity,
            None,
            INVOKE_STREAM,
            "amazon.nova-lite-v1:0",
            "us-east-1"
        )));
        // the us. profile was not asked for
        assert!(!allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "us.amazon.nova-lite-v1:0",
            "us-east-1"
        )));
        assert!(g.scp.is_none());
    }

    #[test]
    fn geographic_profile_covers_every_destination() {
        let mut r = req(
            &["anthropic.claude-3-7-sonnet-20250219-v1:0"],
            &["us-east-1"],
            &["us"],
        );
        r.streaming = true;
        r.account = Some(ACCOUNT.into());
        let g = generate(&r, bg_catalog::catalog()).unwrap();
        let text = g.identity.to_pretty();
        for region in ["us-east-1", "us-east-2", "us-west-2"] {
            assert!(text.contains(&format!(
                "arn:aws:bedrock:{region}::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0"
            )));
        }
        assert!(text.contains(
            "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
        ));
        assert!(text.contains("MarketplaceSubscribeOnFirstUse"));
        assert!(text.contains("aws:CalledViaLast"));
        let p = "us.anthropic.claude-3-7-sonnet-20250219-v1:0";
        let d = decide(&g.identity, None, INVOKE, p, "us-east-1");
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(allowed(&d), "{d:?}");
        assert!(allowed(&decide(
            &g.identity,
            None,
            INVOKE_STREAM,
            p,
            "us-east-1"
        )));
        // another Claude through the same prefix: refused
        assert!(!allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "us-east-1"
        )));
        // the same profile called from a source Region not named: refused
        assert!(!allowed(&decide(&g.identity, None, INVOKE, p, "us-east-2")));
    }

    #[test]
    fn global_profile_uses_the_regionless_arn_with_unspecified_region() {
        let m = "anthropic.claude-sonnet-4-5-20250929-v1:0";
        let g = generate(
            &req(&[m], &["us-east-1"], &["global", "us"]),
            bg_catalog::catalog(),
        )
        .unwrap();
        let text = g.identity.to_compact();
        assert!(text.contains(&format!(
            r#"{{"Sid":"InvokeModelsThroughGlobalProfiles","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:::foundation-model/{m}","Condition":{{"StringEquals":{{"aws:RequestedRegion":"unspecified"}},"ArnLike":{{"bedrock:InferenceProfileArn":"arn:aws:bedrock:us-east-1:*:inference-profile/global.{m}"}}}}}}"#
        )), "{text}");
        assert!(allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            &format!("global.{m}"),
            "us-east-1"
        )));
        assert!(allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            &format!("us.{m}"),
            "us-east-1"
        )));
        assert!(!allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "us-east-1"
        )));
    }

    #[test]
    fn scp_denies_every_other_model() {
        let mut r = req(&["amazon.nova-lite-v1:0"], &["us-east-1"], &["us"]);
        r.scp = true;
        let g = generate(&r, bg_catalog::catalog()).unwrap();
        let scp = g.scp.clone().unwrap();
        assert!(scp.to_compact().contains(r#""NotResource":["#));
        let allow_all = PolicyDocument {
            statements: vec![Statement::allow("All", &["bedrock:*"], vec!["*".into()])],
        };
        // with an identity policy allowing everything, the SCP still refuses other models
        assert!(allowed(&decide(
            &allow_all,
            Some(&scp),
            INVOKE,
            "amazon.nova-lite-v1:0",
            "us-east-1"
        )));
        assert!(allowed(&decide(
            &allow_all,
            Some(&scp),
            INVOKE,
            "us.amazon.nova-lite-v1:0",
            "us-east-1"
        )));
        let other = decide(
            &allow_all,
            Some(&scp),
            INVOKE,
            "amazon.nova-pro-v1:0",
            "us-east-1",
        );
        assert_eq!(other[0].1, Decision::ExplicitlyDenied);
        let stream = decide(
            &allow_all,
            Some(&scp),
            INVOKE_STREAM,
            "amazon.nova-pro-v1:0",
            "us-east-1",
        );
        assert_eq!(stream[0].1, Decision::ExplicitlyDenied);
    }

    #[test]
    fn errors_name_the_regions_that_offer_the_model() {
        let e = generate(
            &req(&["amazon.nova-canvas-v1:0"], &["us-west-2"], &[]),
            bg_catalog::catalog(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "amazon.nova-canvas-v1:0 is not offered in us-west-2. Regions that offer it: us-east-1, ap-northeast-1, eu-west-1"
        );
        let e = generate(
            &req(
                &["anthropic.claude-sonnet-4-20250514-v1:0"],
                &["us-east-1"],
                &[],
            ),
            bg_catalog::catalog(),
        )
        .unwrap_err();
        assert!(matches!(e, GenerateError::ProfileOnly { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("us.anthropic.claude-sonnet-4-20250514-v1:0"),
            "{e}"
        );
        let e = generate(
            &req(&["amazon.nova-lite"], &["us-east-1"], &[]),
            bg_catalog::catalog(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("unknown model amazon.nova-lite: not in the catalog; did you mean amazon.nova-lite-v1:0"), "{e}");
        let e = generate(
            &req(&["amazon.nova-lite-v1:0"], &["us-east-1"], &["mars"]),
            bg_catalog::catalog(),
        )
        .unwrap_err();
        assert!(matches!(e, GenerateError::UnknownPrefix { .. }));
        assert_eq!(
            generate(
                &req(&["amazon.nova-lite-v1:0"], &["moon-1"], &[]),
                bg_catalog::catalog()
            )
            .unwrap_err(),
            GenerateError::UnknownRegion("moon-1".into())
        );
    }

    #[test]
    fn a_profile_id_names_its_prefix() {
        let g = generate(
            &req(&["us.amazon.nova-lite-v1:0"], &["us-east-2"], &[]),
            bg_catalog::catalog(),
        )
        .unwrap();
        assert!(allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "us.amazon.nova-lite-v1:0",
            "us-east-2"
        )));
        assert!(!g.identity.to_compact().contains("Marketplace"));
        // us-east-1 is a destination of the profile, where the model is also on demand; the
        // destination ARN is pinned to the profile, so a direct call there is refused
        assert!(!allowed(&decide(
            &g.identity,
            None,
            INVOKE,
            "amazon.nova-lite-v1:0",
            "us-east-1"
        )));
    }
}
