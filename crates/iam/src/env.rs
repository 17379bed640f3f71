//! Evaluation environment: the request plus precomputed views of it, and condition-key
//! lookup (explicit context first, then keys AWS derives from the principal).

use crate::arn::ReqArn;
use crate::index::ServiceKey;
use crate::request::{PrincipalKind, Request};

/// The values of a context key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Vals<'a> {
    Many(&'a [String]),
    One(&'a str),
}

impl<'a> Vals<'a> {
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        let (many, one): (&'a [String], Option<&'a str>) = match self {
            Vals::Many(v) => (v, None),
            Vals::One(s) => (&[], Some(s)),
        };
        many.iter().map(String::as_str).chain(one)
    }
}

pub(crate) struct Env<'a> {
    pub(crate) req: &'a Request,
    pub(crate) resource: ReqArn<'a>,
    pub(crate) action_lc: String,
    /// Hash and length of the service part of `action_lc` (before its first colon).
    service: Option<(u64, usize)>,
    /// Whether the principal has a permissions boundary (changes `NotPrincipal` + `Deny`).
    pub(crate) has_boundary: bool,
    /// Set by the first [`Env::lookup`]: a condition or a policy variable read the request's
    /// context. An evaluation that never did decided from the policies, the principal, the
    /// action and the resource alone ([`crate::evaluate_reporting`]).
    pub(crate) consulted: std::cell::Cell<bool>,
}

impl<'a> Env<'a> {
    pub(crate) fn new(req: &'a Request, has_boundary: bool) -> Env<'a> {
        let action_lc = req.action.to_lowercase();
        Env {
            req,
            resource: ReqArn::new(&req.resource),
            service: action_lc
                .find(':')
                .map(|n| (ServiceKey::new(&action_lc[..n]).hash(), n)),
            action_lc,
            has_boundary,
            consulted: std::cell::Cell::new(false),
        }
    }

    /// The service part of the lower-cased action (before its first colon), if any, as
    /// the action index looks it up.
    pub(crate) fn service_key(&self) -> Option<ServiceKey<'_>> {
        self.service
            .map(|(h, n)| ServiceKey::with_hash(h, &self.action_lc[..n]))
    }

    /// Values of a (lower-cased) condition key; `None` when absent or empty.
    ///
    /// Keys present in the request context win. Otherwise these are derived from the
    /// request: `aws:PrincipalArn` (the role ARN for a role session), `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, `aws:username` (IAM users), `aws:PrincipalTag/KEY`,
    /// `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName` (service principals) and
    /// `aws:ResourceAccount` (when the request names the resource account).
    pub(crate) fn lookup(&self, key: &str) -> Option<Vals<'a>> {
        self.consulted.set(true);
        let req: &'a Request = self.req;
        if let Some(v) = req.context.get_lc(key) {
            return if v.is_empty() {
                None
            } else {
                Some(Vals::Many(v))
            };
        }
        let p = &req.principal;
        let one = |s: &'a str| Some(Vals::One(s));
        match key {
            "aws:principalarn" => match &p.kind {
                PrincipalKind::AssumedRole { role_arn, .. } => one(role_arn),
                PrincipalKind::Service | PrincipalKind::Anonymous => None,
                _ => one(&p.arn),
            },
            "aws:principalaccount" if p.has_identity() && !p.account.is_empty() => one(&p.account),
            "aws:principaltype" => match p.kind {
                PrincipalKind::Root => one("Account"),
                PrincipalKind::User => one("User"),
                PrincipalKind::Role | PrincipalKind::AssumedRole { .. } => one("AssumedRole"),
                PrincipalKind::Anonymous => one("Anonymous"),
                PrincipalKind::Service => None,
            },
            "aws:username" => p.user_name().map(Vals::One),
            "aws:principalisawsservice" => one(if p.kind == PrincipalKind::Service {
                "true"
            } else {
                "false"
            }),
            "aws:principalservicename" if p.kind == PrincipalKind::Service => one(&p.arn),
            "aws:resourceaccount" => req.resource_account.as_deref().map(Vals::One),
            _ => {
                let tag = key.strip_prefix("aws:principaltag/")?;
                p.tag(tag).map(Vals::One)
            }
        }
    }

    /// The value of a policy variable: a key with exactly one value (AWS does not allow
    /// multivalued keys as variables; they resolve like a missing key).
    pub(crate) fn var(&self, key: &str) -> Option<&'a str> {
        match self.lookup(key)? {
            Vals::One(s) => Some(s),
            Vals::Many([s]) => Some(s.as_str()),
            Vals::Many(_) => None,
        }
    }
}
