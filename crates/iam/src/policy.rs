//! Policy documents: parsing, validation and the compiled form used by the evaluator.

use crate::arn::ArnPattern;
use crate::condition::{parse_operator, Clause};
use crate::env::Env;
use crate::error::{PolicyError, PolicyErrorReason as R};
use crate::glob::{Pattern, Template};
use crate::index::{ActionIndex, Candidates, ServiceKey};
use crate::json::J;
use crate::request::{Principal, PrincipalKind};
use serde::Serialize;
use std::sync::Arc;

/// Which kind of policy a document is; decides the element rules.
///
/// | kind | `Principal`/`NotPrincipal` | `Resource`/`NotResource` | `Sid` |
/// |---|---|---|---|
/// | `Identity`, `Boundary`, `Session` | forbidden | required | IAM: alphanumeric, unique (not checked for `Session`) |
/// | `Resource` | required | optional (absent = the resource the policy is attached to) | free |
/// | `Scp` | forbidden | required | free |
/// | `Rcp` | `Principal` required and must be `"*"`; `NotPrincipal` forbidden | required | free |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyKind {
    /// Identity-based policy (user, group or role; managed or inline).
    Identity,
    /// Resource-based policy (e.g. a bucket or key policy).
    Resource,
    /// AWS Organizations service control policy.
    Scp,
    /// AWS Organizations resource control policy.
    Rcp,
    /// Permissions boundary (a managed policy used as a boundary).
    Boundary,
    /// Session policy passed to `AssumeRole*`/`GetFederationToken`.
    Session,
}

/// The policy language version (`Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PolicyVersion {
    /// `2008-10-17`, also the meaning of a missing `Version`: no policy variables.
    V2008_10_17,
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// How a resource-policy statement's principal matched the caller, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// Through the caller's account (`"123456789012"` or `arn:…:root`): delegation to the
    /// account's IAM, so it does not grant on its own within the account.
    Account,
    /// Through the role ARN (the caller is that role or one of its sessions): limited by
    /// permissions boundaries and session policies.
    Role,
    /// The caller itself (user ARN, session ARN, root, service) or everyone (`*`).
    Direct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AwsPrincipal {
    Account(String),
    Arn(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PrincipalSet {
    any: bool,
    aws: Vec<AwsPrincipal>,
    service: Vec<String>,
    federated: Vec<String>,
    canonical: Vec<String>,
}

impl PrincipalSet {
    fn lists_arn(&self, arn: &str) -> bool {
        self.aws
            .iter()
            .any(|a| matches!(a, AwsPrincipal::Arn(x) if x == arn))
    }

    fn lists_account(&self, account: &str) -> bool {
        self.aws
            .iter()
            .any(|a| matches!(a, AwsPrincipal::Account(x) if x == account))
    }

    /// How (if at all) the set names the caller.
    fn grant(&self, p: &Principal) -> Option<Grant> {
        if self.any {
            return Some(Grant::Direct);
        }
        let mut best = None;
        match &p.kind {
            PrincipalKind::Service => {
                if self.service.contains(&p.arn) {
                    return Some(Grant::Direct);
                }
            }
            PrincipalKind::Anonymous => return None,
            kind => {
                for a in &self.aws {
                    let g = match a {
                        AwsPrincipal::Account(id) if *id == p.account => {
                            if *kind == PrincipalKind::Root {
                                Grant::Direct
                            } else {
                                Grant::Account
                            }
                        }
                        AwsPrincipal::Arn(x) if *x == p.arn => {
                            if *kind == PrincipalKind::Role {
                                Grant::Role
                            } else {
                                Grant::Direct
                            }
                        }
                        AwsPrincipal::Arn(x) => match kind {
                            PrincipalKind::AssumedRole { role_arn, .. } if x == role_arn => {
                                Grant::Role
                            }
                            _ => continue,
                        },
                        _ => continue,
                    };
                    best = best.max(Some(g));
                }
            }
        }
        if self
            .federated
            .iter()
            .chain(&self.canonical)
            .any(|s| *s == p.arn)
        {
            return Some(Grant::Direct);
        }
        best
    }

    /// Whether a `NotPrincipal` set exempts the caller: every identity in the caller's
    /// chain (account, role, session / user) must be listed, as the NotPrincipal
    /// documentation requires.
    fn exempts(&self, p: &Principal) -> bool {
        if self.any {
            return true;
        }
        match &p.kind {
            PrincipalKind::Root => self.lists_account(&p.account),
            PrincipalKind::User | PrincipalKind::Role => {
                self.lists_arn(&p.arn) && self.lists_account(&p.account)
            }
            PrincipalKind::AssumedRole { role_arn, .. } => {
                self.lists_arn(&p.arn) && self.lists_arn(role_arn) && self.lists_account(&p.account)
            }
            PrincipalKind::Service => self.service.contains(&p.arn),
            PrincipalKind::Anonymous => false,
        }
    }
}

#[derive(Debug, Clone)]
enum ResourcePattern {
    Static(ArnPattern),
    Tmpl(Template),
}

impl ResourcePattern {
    fn matches(&self, env: &Env<'_>) -> bool {
        match self {
            ResourcePattern::Static(p) => p.matches(&env.resource),
            ResourcePattern::Tmpl(t) => t
                .resolve_toks(&|k| env.var(k))
                .is_some_and(|toks| ArnPattern::from_toks(toks).matches(&env.resource)),
        }
    }
}

/// One compiled statement.
#[derive(Debug, Clone)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    /// `(is NotPrincipal, set)`.
    principal: Option<(bool, PrincipalSet)>,
    not_action: bool,
    /// Lower-cased patterns.
    actions: Vec<Pattern>,
    /// `(is NotResource, patterns)`; `None` when the element is absent (resource policies).
    resources: Option<(bool, Vec<ResourcePattern>)>,
    conditions: Vec<Clause>,
}

impl Statement {
    /// The `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The effect.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Whether action, resource and conditions all match (the principal is not looked at).
    pub(crate) fn matches(&self, env: &Env<'_>) -> bool {
        let a = self.actions.iter().any(|p| p.matches(&env.action_lc));
        if a == self.not_action {
            return false;
        }
        if let Some((not, pats)) = &self.resources {
            let r = pats.iter().any(|p| p.matches(env));
            if r == *not {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.eval(env))
    }

    /// The services (lower-cased text before the colon) that the statement's `Action`
    /// patterns are limited to; `None` when it may match an action of any service
    /// (`NotAction`, or a pattern with a wildcard before its colon, such as `*`).
    fn action_services(&self) -> Option<Vec<&str>> {
        if self.not_action {
            return None;
        }
        self.actions
            .iter()
            .map(|p| {
                let lit = p.literal_prefix();
                lit.find(':').map(|c| &lit[..c])
            })
            .collect()
    }

    /// For resource-based policies: how the statement's principal element applies to the
    /// caller (`None`: not at all). A `NotPrincipal` that does not exempt the caller applies
    /// as [`Grant::Direct`]; a `Deny` with `NotPrincipal` always applies to a principal that
    /// has a permissions boundary (documented AWS behaviour).
    pub(crate) fn principal_grant(&self, env: &Env<'_>) -> Option<Grant> {
        let (not, set) = self.principal.as_ref()?;
        let p = &env.req.principal;
        if *not {
            if self.effect == Effect::Deny && env.has_boundary && p.has_identity() {
                return Some(Grant::Direct);
            }
            return (!set.exempts(p)).then_some(Grant::Direct);
        }
        set.grant(p)
    }
}

/// A parsed, validated and compiled policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    version: PolicyVersion,
    id: Option<String>,
    /// Shared: a managed policy compiled once is cloned into every identity set that attaches
    /// it, and the clone must not copy the statements.
    statements: Arc<[Statement]>,
    /// Which statements can match which action (see [`crate::index`]).
    index: Arc<ActionIndex>,
}

/// A policy as the caller names it (the name and ARN appear in explanations and denial
/// messages).
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    /// Policy name (or any label the caller chooses).
    pub name: String,
    /// Policy ARN, appended to explicit-deny messages when set (e.g. an SCP's
    /// `arn:aws:organizations::…:policy/o-…/service_control_policy/p-…`).
    pub arn: Option<String>,
    /// The document.
    pub policy: Policy,
}

impl NamedPolicy {
    /// A named policy without an ARN.
    pub fn new(name: impl Into<String>, policy: Policy) -> NamedPolicy {
        NamedPolicy {
            name: name.into(),
            arn: None,
            policy,
        }
    }

    /// Sets the ARN (builder form).
    pub fn with_arn(mut self, arn: impl Into<String>) -> NamedPolicy {
        self.arn = Some(arn.into());
        self
    }
}

impl Policy {
    /// Parses and validates `json` as a policy of `kind`, compiling its patterns.
    ///
    /// See [`PolicyKind`] for the element rules and [`crate::PolicyErrorReason`] for the
    /// error texts.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        Parser { kind }.policy(json)
    }

    /// The kind the document was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The language version (a missing `Version` is 2008-10-17).
    pub fn version(&self) -> PolicyVersion {
        self.version
    }

    /// The `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Positions (ascending) of the statements whose action element can match an action
    /// whose lower-cased service part is `service`; the others cannot match it.
    pub(crate) fn candidates(&self, service: Option<ServiceKey<'_>>) -> Candidates<'_> {
        self.index.candidates(service)
    }
}

struct Parser {
    kind: PolicyKind,
}

fn is_iam_kind(k: PolicyKind) -> bool {
    matches!(k, PolicyKind::Identity | PolicyKind::Boundary)
}

impl Parser {
    fn err(&self, reason: R, detail: impl Into<String>) -> PolicyError {
        PolicyError::new(self.kind, reason, detail)
    }

    fn syntax(&self, detail: impl Into<String>) -> PolicyError {
        self.err(R::Syntax, detail)
    }

    fn policy(&self, json: &str) -> Result<Policy, PolicyError> {
        let doc = J::parse(json).map_err(|e| self.syntax(format!("invalid JSON: {e}")))?;
        let members = match &doc {
            J::Obj(m) => m,
            _ => return Err(self.syntax("the document is not a JSON object")),
        };
        for (k, _) in members {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                return Err(self.syntax(format!("unknown policy element {k:?}")));
            }
        }
        let version = match doc.get("Version") {
            None => PolicyVersion::V2008_10_17,
            Some(J::Str(v)) if v == "2012-10-17" => PolicyVersion::V2012_10_17,
            Some(J::Str(v)) if v == "2008-10-17" => PolicyVersion::V2008_10_17,
            Some(v) => return Err(self.syntax(format!("unsupported Version {v:?}"))),
        };
        let id = match doc.get("Id") {
            None => None,
            Some(J::Str(s)) => Some(s.clone()),
            Some(_) => return Err(self.syntax("Id must be a string")),
        };
        let raw_statements: Vec<&J> = match doc.get("Statement") {
            Some(J::Arr(items)) => items.iter().collect(),
            Some(s @ J::Obj(_)) => vec![s],
            Some(_) => return Err(self.syntax("Statement must be an object or a list")),
            None => return Err(self.syntax("missing Statement")),
        };
        let vars = version == PolicyVersion::V2012_10_17;
        let mut statements = Vec::with_capacity(raw_statements.len());
        for (i, s) in raw_statements.into_iter().enumerate() {
            statements.push(self.statement(i, s, vars)?);
        }
        if is_iam_kind(self.kind) {
            let mut seen = std::collections::HashSet::new();
            // (empty Sids are not compared: they identify nothing)
            for sid in statements.iter().filter_map(|s| s.sid.as_deref()) {
                if !sid.is_empty() && !seen.insert(sid) {
                    return Err(self.err(R::DuplicateSid, format!("duplicate Sid {sid:?}")));
                }
            }
        }
        let index = ActionIndex::build(statements.iter().map(Statement::action_services));
        Ok(Policy {
            kind: self.kind,
            version,
            id,
            statements: statements.into(),
            index: Arc::new(index),
        })
    }

    fn statement(&self, i: usize, s: &J, vars: bool) -> Result<Statement, PolicyError> {
        let members = match s {
            J::Obj(m) => m,
            _ => return Err(self.syntax(format!("statement {i} is not an object"))),
        };
        for (k, _) in members {
            if !matches!(
                k.as_str(),
                "Sid"
                    | "Effect"
                    | "Principal"
                    | "NotPrincipal"
                    | "Action"
                    | "NotAction"
                    | "Resource"
                    | "NotResource"
                    | "Condition"
            ) {
                return Err(self.syntax(format!("statement {i}: unknown element {k:?}")));
            }
        }
        let sid = match s.get("Sid") {
            None => None,
            Some(J::Str(v)) => {
                if is_iam_kind(self.kind) && !v.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(self.err(R::InvalidSid, format!("statement {i}: Sid {v:?}")));
                }
                Some(v.clone())
            }
            Some(_) => return Err(self.syntax(format!("statement {i}: Sid must be a string"))),
        };
        let effect = match s.get("Effect") {
            Some(J::Str(e)) if e == "Allow" => Effect::Allow,
            Some(J::Str(e)) if e == "Deny" => Effect::Deny,
            Some(e) => return Err(self.syntax(format!("statement {i}: invalid Effect {e:?}"))),
            None => return Err(self.syntax(format!("statement {i}: missing Effect"))),
        };
        let principal = self.principal(i, s)?;
        let (not_action, actions) = match (s.get("Action"), s.get("NotAction")) {
            (Some(_), Some(_)) => {
                return Err(self.syntax(format!("statement {i}: both Action and NotAction")))
            }
            (Some(a), None) => (false, self.actions(i, a)?),
            (None, Some(a)) => (true, self.actions(i, a)?),
            (None, None) => {
                return Err(self.err(R::MissingActions, format!("statement {i}: no Action")))
            }
        };
        let resources = match (s.get("Resource"), s.get("NotResource")) {
            (Some(_), Some(_)) => {
                return Err(self.syntax(format!("statement {i}: both Resource and NotResource")))
            }
            (Some(r), None) => Some((false, self.resources(i, r, vars)?)),
            (None, Some(r)) => Some((true, self.resources(i, r, vars)?)),
            (None, None) if self.kind == PolicyKind::Resource => None,
            (None, None) => {
                return Err(self.err(R::MissingResources, format!("statement {i}: no Resource")))
            }
        };
        let conditions = match s.get("Condition") {
            None => Vec::new(),
            Some(c) => self.conditions(i, c, vars)?,
        };
        Ok(Statement {
            sid,
            effect,
            principal,
            not_action,
            actions,
            resources,
            conditions,
        })
    }

    /// A string or a list of strings (JSON numbers and booleans are accepted as their
    /// text where `scalars` is set, as condition values allow).
    fn strings(&self, v: &J, scalars: bool, what: &str) -> Result<Vec<String>, PolicyError> {
        let one = |x: &J| match x {
            J::Str(s) => Ok(s.clone()),
            J::Num(n) if scalars => Ok(n.clone()),
            J::Bool(b) if scalars => Ok(b.to_string()),
            other => Err(self.syntax(format!("{what}: unexpected value {other:?}"))),
        };
        match v {
            J::Arr(items) => items.iter().map(one).collect(),
            x => Ok(vec![one(x)?]),
        }
    }

    fn principal(&self, i: usize, s: &J) -> Result<Option<(bool, PrincipalSet)>, PolicyError> {
        let (not, raw) = match (s.get("Principal"), s.get("NotPrincipal")) {
            (Some(_), Some(_)) => {
                return Err(self.syntax(format!("statement {i}: both Principal and NotPrincipal")))
            }
            (Some(p), None) => (false, Some(p)),
            (None, Some(p)) => (true, Some(p)),
            (None, None) => (false, None),
        };
        let at = format!("statement {i}");
        match self.kind {
            PolicyKind::Identity | PolicyKind::Boundary | PolicyKind::Session | PolicyKind::Scp => {
                return match raw {
                    Some(_) => Err(self.err(R::PrincipalNotAllowed, at)),
                    None => Ok(None),
                };
            }
            PolicyKind::Rcp => {
                if not {
                    return Err(self.err(R::PrincipalNotAllowed, format!("{at}: NotPrincipal")));
                }
            }
            PolicyKind::Resource => {}
        }
        let raw = raw.ok_or_else(|| self.err(R::MissingPrincipal, at.clone()))?;
        let set = self.principal_set(raw, &at)?;
        if self.kind == PolicyKind::Rcp && !set.any {
            return Err(self.err(R::InvalidPrincipal, format!("{at}: RCPs only take \"*\"")));
        }
        Ok(Some((not, set)))
    }

    fn principal_set(&self, raw: &J, at: &str) -> Result<PrincipalSet, PolicyError> {
        let invalid = |d: String| self.err(R::InvalidPrincipal, format!("{at}: {d}"));
        let mut set = PrincipalSet::default();
        let entries = match raw {
            J::Str(s) if s == "*" => {
                set.any = true;
                return Ok(set);
            }
            J::Obj(m) if !m.is_empty() => m,
            other => return Err(invalid(format!("{other:?}"))),
        };
        for (k, v) in entries {
            let values = match v {
                J::Str(s) => vec![s.clone()],
                J::Arr(items) if !items.is_empty() => items
                    .iter()
                    .map(|x| match x {
                        J::Str(s) => Ok(s.clone()),
                        other => Err(invalid(format!("{other:?}"))),
                    })
                    .collect::<Result<_, _>>()?,
                other => return Err(invalid(format!("{k}: {other:?}"))),
            };
            for val in values {
                if val.is_empty() {
                    return Err(invalid(format!("{k}: empty value")));
                }
                match k.as_str() {
                    "AWS" => {
                        if val == "*" {
                            set.any = true;
                        } else if val.len() == 12 && val.bytes().all(|b| b.is_ascii_digit()) {
                            set.aws.push(AwsPrincipal::Account(val));
                        } else if val.starts_with("arn:") && !val.contains(['*', '?']) {
                            let parts: Vec<&str> = val.splitn(6, ':').collect();
                            if parts.len() != 6 {
                                return Err(invalid(val));
                            }
                            if parts[2] == "iam" && parts[5] == "root" {
                                set.aws.push(AwsPrincipal::Account(parts[4].to_string()));
                            } else {
                                set.aws.push(AwsPrincipal::Arn(val));
                            }
                        } else {
                            return Err(invalid(val));
                        }
                    }
                    "Service" => {
                        if val == "*" {
                            set.any = true;
                        } else {
                            set.service.push(val);
                        }
                    }
                    "Federated" => set.federated.push(val),
                    "CanonicalUser" => set.canonical.push(val),
                    other => return Err(invalid(format!("unknown principal type {other:?}"))),
                }
            }
        }
        Ok(set)
    }

    fn actions(&self, i: usize, v: &J) -> Result<Vec<Pattern>, PolicyError> {
        let list = self.strings(v, false, &format!("statement {i}: Action"))?;
        if list.is_empty() {
            return Err(self.err(R::MissingActions, format!("statement {i}: empty Action")));
        }
        list.iter()
            .map(|a| {
                if a != "*" {
                    match a.find(':') {
                        None | Some(0) => {
                            return Err(self.err(R::MissingVendor, format!("action {a:?}")))
                        }
                        Some(c) if a[c + 1..].contains(':') => {
                            return Err(self.err(R::MultipleColons, format!("action {a:?}")))
                        }
                        _ => {}
                    }
                }
                Ok(Pattern::wildcard(&a.to_lowercase()))
            })
            .collect()
    }

    fn resources(&self, i: usize, v: &J, vars: bool) -> Result<Vec<ResourcePattern>, PolicyError> {
        let list = self.strings(v, false, &format!("statement {i}: Resource"))?;
        if list.is_empty() {
            return Err(self.err(
                R::MissingResources,
                format!("statement {i}: empty Resource"),
            ));
        }
        list.iter()
            .map(|r| {
                if r != "*" && !r.starts_with("arn:") {
                    return Err(self.err(R::ResourceNotArn(r.clone()), format!("statement {i}")));
                }
                let t = Template::parse(r, true, vars);
                Ok(if t.has_vars() {
                    ResourcePattern::Tmpl(t)
                } else {
                    ResourcePattern::Static(ArnPattern::from_toks(t.static_toks()))
                })
            })
            .collect()
    }

    fn conditions(&self, i: usize, c: &J, vars: bool) -> Result<Vec<Clause>, PolicyError> {
        let ops = match c {
            J::Obj(m) => m,
            _ => return Err(self.syntax(format!("statement {i}: Condition must be an object"))),
        };
        let mut out = Vec::new();
        for (op_name, block) in ops {
            let (op, set, if_exists) = parse_operator(op_name).ok_or_else(|| {
                self.syntax(format!(
                    "statement {i}: unknown condition operator {op_name:?}"
                ))
            })?;
            let keys = match block {
                J::Obj(m) => m,
                _ => {
                    return Err(self.syntax(format!(
                        "statement {i}: {op_name} must map condition keys to values"
                    )))
                }
            };
            for (key, vals) in keys {
                match key.find(':') {
                    None | Some(0) => {
                        return Err(self.err(R::MissingVendor, format!("condition key {key:?}")))
                    }
                    _ => {}
                }
                let raw = self.strings(vals, true, &format!("statement {i}: {op_name}/{key}"))?;
                out.push(Clause::compile(op, set, if_exists, key, &raw, vars));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(json: &str, kind: PolicyKind) -> R {
        Policy::parse(json, kind)
            .expect_err("should fail")
            .reason()
            .clone()
    }

    fn msg(json: &str, kind: PolicyKind) -> String {
        Policy::parse(json, kind)
            .expect_err("should fail")
            .to_string()
    }

    const OK: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#;

    #[test]
    fn parses_object_or_list_and_versions() {
        let p = Policy::parse(OK, PolicyKind::Identity).unwrap();
        assert_eq!(p.statements().len(), 1);
        assert_eq!(p.version(), PolicyVersion::V2012_10_17);
        assert_eq!(p.kind(), PolicyKind::Identity);
        let p = Policy::parse(
            r#"{"Statement":[{"Sid":"A1","Effect":"Deny","NotAction":["s3:*","ec2:*"],"NotResource":"arn:aws:s3:::x"}]}"#,
            PolicyKind::Identity,
        )
        .unwrap();
        assert_eq!(p.version(), PolicyVersion::V2008_10_17);
        assert_eq!(p.statements()[0].sid(), Some("A1"));
        assert_eq!(p.statements()[0].effect(), Effect::Deny);
        let p = Policy::parse(
            r#"{"Version":"2008-10-17","Id":"x","Statement":[]}"#,
            PolicyKind::Identity,
        )
        .unwrap();
        assert_eq!(p.id(), Some("x"));
        assert!(p.statements().is_empty());
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "not json",
            "[]",
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Version":"2013-01-01","Statement":[]}"#,
            r#"{"Version":"2012-10-17","Statement":"x"}"#,
            r#"{"Version":"2012-10-17","Statement":[],"Extra":1}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}]}"#,
            r#"{"Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"a:b":"c"}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":"x"}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a:b":null}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a:b":{"x":1}}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Sid":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[5]}"#,
        ] {
            assert_eq!(reason(bad, PolicyKind::Identity), R::Syntax, "{bad}");
            assert_eq!(msg(bad, PolicyKind::Identity), "Syntax errors in policy.");
        }
    }

    #[test]
    fn element_rules_and_messages() {
        let no_action = r#"{"Statement":[{"Effect":"Allow","Resource":"*"}]}"#;
        assert_eq!(
            msg(no_action, PolicyKind::Identity),
            "Policy statement must contain actions."
        );
        let empty_action = r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#;
        assert_eq!(
            reason(empty_action, PolicyKind::Identity),
            R::MissingActions
        );
        let no_res = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#;
        assert_eq!(
            msg(no_res, PolicyKind::Identity),
            "Policy statement must contain resources."
        );
        assert_eq!(reason(no_res, PolicyKind::Boundary), R::MissingResources);
        assert_eq!(reason(no_res, PolicyKind::Session), R::MissingResources);
        let bad_res = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}]}"#;
        assert_eq!(
            msg(bad_res, PolicyKind::Identity),
            "Resource bucket must be in ARN format or \"*\"."
        );
        let with_principal =
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            msg(with_principal, PolicyKind::Identity),
            "Policy document should not specify a principal."
        );
        assert_eq!(
            reason(with_principal, PolicyKind::Boundary),
            R::PrincipalNotAllowed
        );
        assert_eq!(
            reason(with_principal, PolicyKind::Session),
            R::PrincipalNotAllowed
        );
        assert!(Policy::parse(with_principal, PolicyKind::Resource).is_ok());
        let no_vendor = r#"{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}"#;
        assert_eq!(
            msg(no_vendor, PolicyKind::Identity),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        let empty_vendor =
            r#"{"Statement":[{"Effect":"Allow","Action":":GetObject","Resource":"*"}]}"#;
        assert_eq!(reason(empty_vendor, PolicyKind::Identity), R::MissingVendor);
        let cond_vendor = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"prefix":"x"}}}]}"#;
        assert_eq!(reason(cond_vendor, PolicyKind::Identity), R::MissingVendor);
        let colons = r#"{"Statement":[{"Effect":"Allow","Action":"ec2:ec2:Run","Resource":"*"}]}"#;
        assert_eq!(
            msg(colons, PolicyKind::Identity),
            "Actions/Condition can contain only one colon."
        );
        let dup = r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            msg(dup, PolicyKind::Identity),
            "Statement IDs (SID) in a single policy must be unique."
        );
        assert!(Policy::parse(dup, PolicyKind::Scp).is_ok());
        let empty_sids = r#"{"Statement":[{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert!(Policy::parse(empty_sids, PolicyKind::Identity).is_ok());
        let bad_sid = r#"{"Statement":[{"Sid":"has space","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            msg(bad_sid, PolicyKind::Identity),
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
        );
        assert!(Policy::parse(
            r#"{"Statement":[{"Sid":"has space","Effect":"Allow","Principal":"*","Action":"s3:*"}]}"#,
            PolicyKind::Resource
        )
        .is_ok());
    }

    #[test]
    fn resource_policy_principal_rules() {
        let none = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            msg(none, PolicyKind::Resource),
            "Missing required field Principal"
        );
        for bad in [
            r#""arn:aws:iam::123456789012:root""#,
            r#"{"AWS":"arn:aws:iam::123456789012:user/*"}"#,
            r#"{"AWS":"not-an-account"}"#,
            r#"{"AWS":[]}"#,
            r#"{}"#,
            r#"{"Group":"x"}"#,
            r#"{"AWS":"arn:aws:iam"}"#,
        ] {
            let doc = format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{bad},"Action":"s3:*"}}]}}"#
            );
            assert_eq!(
                msg(&doc, PolicyKind::Resource),
                "Invalid principal in policy",
                "{bad}"
            );
        }
        for good in [
            r#""*""#,
            r#"{"AWS":"*"}"#,
            r#"{"AWS":"123456789012"}"#,
            r#"{"AWS":["arn:aws:iam::123456789012:root","arn:aws:sts::123456789012:assumed-role/r/s"]}"#,
            r#"{"Service":"bedrock.amazonaws.com"}"#,
            r#"{"Federated":"accounts.google.com","CanonicalUser":"abc"}"#,
        ] {
            let doc = format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{good},"Action":"s3:*"}}]}}"#
            );
            assert!(Policy::parse(&doc, PolicyKind::Resource).is_ok(), "{good}");
        }
    }

    #[test]
    fn organizations_policies() {
        let with_principal =
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        let e = Policy::parse(with_principal, PolicyKind::Scp).unwrap_err();
        assert_eq!(e.reason(), &R::PrincipalNotAllowed);
        assert_eq!(e.kind(), PolicyKind::Scp);
        assert_eq!(
            e.to_string(),
            "The provided policy document does not meet the requirements of the specified policy type."
        );
        assert!(Policy::parse(with_principal, PolicyKind::Rcp).is_ok());
        let rcp_no_principal =
            r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            reason(rcp_no_principal, PolicyKind::Rcp),
            R::MissingPrincipal
        );
        let rcp_named = r#"{"Statement":[{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(reason(rcp_named, PolicyKind::Rcp), R::InvalidPrincipal);
        assert_eq!(reason("nope", PolicyKind::Scp), R::Syntax);
        assert_eq!(
            msg("nope", PolicyKind::Rcp),
            crate::error::ORGANIZATIONS_MESSAGE
        );
    }

    #[test]
    fn whitespace_and_commas_are_literal_actions() {
        for a in [
            "s3:",
            "s3:      ",
            "s3:GetBucket   ",
            "s3:   GetBucket",
            "s3:GetObject,PutObject",
        ] {
            let doc =
                format!(r#"{{"Statement":[{{"Effect":"Allow","Action":"{a}","Resource":"*"}}]}}"#);
            assert!(Policy::parse(&doc, PolicyKind::Identity).is_ok(), "{a}");
        }
    }

    #[test]
    fn condition_values_accept_scalars() {
        let doc = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":[10, 2.5]}}}]}"#;
        let p = Policy::parse(doc, PolicyKind::Identity).unwrap();
        assert_eq!(p.statements()[0].conditions.len(), 2);
    }
}
