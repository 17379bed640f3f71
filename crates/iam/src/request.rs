//! The request being authorized: principal, action, resource and condition context.

use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The request context: condition keys (case-insensitive) to one or more values.
///
/// A key with one value is single-valued; `set_multi` makes a multivalued key such as
/// `aws:TagKeys`. A key set to an empty list counts as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// Keys lower-cased; a key given as a lower-case literal is borrowed, not copied (the
    /// request context of every call is built from a dozen such keys).
    values: BTreeMap<Cow<'static, str>, Values>,
}

/// A key's values: most keys have one, kept without a `Vec` (one allocation less for each of
/// the dozen keys of every request context). Compared and serialized as the list it stands
/// for (its `Debug` too), so one value set either way is the same.
#[derive(Clone)]
enum Values {
    One(String),
    Many(Vec<String>),
}

impl Values {
    fn as_slice(&self) -> &[String] {
        match self {
            Values::One(v) => std::slice::from_ref(v),
            Values::Many(v) => v,
        }
    }

    fn into_vec(self) -> Vec<String> {
        match self {
            Values::One(v) => vec![v],
            Values::Many(v) => v,
        }
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Values) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Values {}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

/// `key` lower-cased, borrowed when it already is.
fn lower_static(key: &'static str) -> Cow<'static, str> {
    if key.bytes().any(|b| b.is_ascii_uppercase()) || !key.is_ascii() {
        Cow::Owned(key.to_lowercase())
    } else {
        Cow::Borrowed(key)
    }
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a single-valued key (replacing any previous value).
    pub fn set(&mut self, key: impl AsRef<str>, value: impl Into<String>) -> &mut Context {
        self.values.insert(
            Cow::Owned(key.as_ref().to_lowercase()),
            Values::One(value.into()),
        );
        self
    }

    /// [`Context::set`] for a key known at compile time: no copy of a lower-case key.
    pub fn set_static(&mut self, key: &'static str, value: impl Into<String>) -> &mut Context {
        self.values
            .insert(lower_static(key), Values::One(value.into()));
        self
    }

    /// Sets a multivalued key (replacing any previous value).
    pub fn set_multi<I, S>(&mut self, key: impl AsRef<str>, values: I) -> &mut Context
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.values.insert(
            Cow::Owned(key.as_ref().to_lowercase()),
            Values::Many(values.into_iter().map(Into::into).collect()),
        );
        self
    }

    /// Builder form of [`Context::set`].
    pub fn with(mut self, key: impl AsRef<str>, value: impl Into<String>) -> Context {
        self.set(key, value);
        self
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) -> Option<Vec<String>> {
        self.values
            .remove(key.to_lowercase().as_str())
            .map(Values::into_vec)
    }

    /// The values of a key (looked up case-insensitively).
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.get_lc(&key.to_lowercase())
    }

    /// Lookup with an already lower-cased key.
    pub(crate) fn get_lc(&self, key_lc: &str) -> Option<&[String]> {
        self.values.get(key_lc).map(Values::as_slice)
    }

    /// Whether the context holds no key.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// All keys (lower-cased) and their values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.values.iter().map(|(k, v)| (k.as_ref(), v.as_slice()))
    }
}

/// What kind of principal makes the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::ACCOUNT:root`).
    Root,
    /// An IAM user.
    User,
    /// An IAM role acting under its own ARN (AWS requests are normally made by role
    /// sessions; this exists for callers that only know the role).
    Role,
    /// An assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    AssumedRole {
        /// The ARN of the role that was assumed (`arn:aws:iam::ACCOUNT:role/PATH/ROLE`).
        role_arn: String,
        /// The session name.
        session: String,
    },
    /// An AWS service principal such as `bedrock.amazonaws.com` (carried in `arn`).
    Service,
    /// An unauthenticated caller.
    Anonymous,
}

/// The principal making the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The principal's ARN (for a service principal, its service name).
    pub arn: String,
    /// The 12-digit account the principal belongs to (empty for service/anonymous).
    pub account: String,
    /// The principal kind.
    pub kind: PrincipalKind,
    /// Principal tags (exposed as `aws:PrincipalTag/KEY`).
    pub tags: BTreeMap<String, String>,
}

impl Principal {
    /// Builds a principal from its ARN, inferring the kind and account:
    /// `…:iam::A:root` → root, `…:iam::A:user/…` → user, `…:iam::A:role/…` → role,
    /// `…:sts::A:assumed-role/R/S` → assumed-role session of `arn:…:iam::A:role/R` (the
    /// session ARN carries no role path; build the principal by hand if the role has one).
    /// Anything else that is not an ARN is taken as a service principal when it ends with
    /// `.amazonaws.com`, as anonymous when it is `*` or `anonymous`, and as a user otherwise.
    pub fn from_arn(arn: &str) -> Principal {
        let mut parts = arn.splitn(6, ':');
        let (p0, partition, service, _region, account, resource) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if p0 != "arn" {
            if arn.ends_with(".amazonaws.com") {
                return Principal::service(arn);
            }
            if arn == "*" || arn.eq_ignore_ascii_case("anonymous") {
                return Principal::anonymous();
            }
        }
        let kind = match service {
            "iam" if resource == "root" => PrincipalKind::Root,
            "iam" if resource.starts_with("role/") => PrincipalKind::Role,
            "sts" if resource.starts_with("assumed-role/") => {
                let mut it = resource["assumed-role/".len()..].splitn(2, '/');
                let role = it.next().unwrap_or("");
                let session = it.next().unwrap_or("");
                PrincipalKind::AssumedRole {
                    role_arn: format!("arn:{partition}:iam::{account}:role/{role}"),
                    session: session.to_string(),
                }
            }
            _ => PrincipalKind::User,
        };
        Principal {
            arn: arn.to_string(),
            account: account.to_string(),
            kind,
            tags: BTreeMap::new(),
        }
    }

    /// An AWS service principal.
    pub fn service(name: &str) -> Principal {
        Principal {
            arn: name.to_string(),
            account: String::new(),
            kind: PrincipalKind::Service,
            tags: BTreeMap::new(),
        }
    }

    /// An anonymous (unauthenticated) principal.
    pub fn anonymous() -> Principal {
        Principal {
            arn: "anonymous".to_string(),
            account: String::new(),
            kind: PrincipalKind::Anonymous,
            tags: BTreeMap::new(),
        }
    }

    /// Adds a principal tag (builder form).
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Principal {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Whether identity-side policies (identity, boundary, session, SCP) exist for this
    /// kind of principal: false for service principals and anonymous callers.
    pub(crate) fn has_identity(&self) -> bool {
        !matches!(self.kind, PrincipalKind::Service | PrincipalKind::Anonymous)
    }

    /// The friendly name of an IAM user (last path element of its ARN).
    pub(crate) fn user_name(&self) -> Option<&str> {
        match self.kind {
            PrincipalKind::User => self.arn.rsplit('/').next(),
            _ => None,
        }
    }

    pub(crate) fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key) || k.to_lowercase() == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A request to authorize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// Who is asking.
    pub principal: Principal,
    /// The action, `service:Action` (matched case-insensitively).
    pub action: String,
    /// The resource ARN; `*` for actions that have no resource type.
    pub resource: String,
    /// The account owning the resource; `None` means the principal's own account.
    pub resource_account: Option<String>,
    /// Condition keys.
    pub context: Context,
}

impl Request {
    /// A request with an empty context, in the principal's account.
    pub fn new(
        principal: Principal,
        action: impl Into<String>,
        resource: impl Into<String>,
    ) -> Request {
        Request {
            principal,
            action: action.into(),
            resource: resource.into(),
            resource_account: None,
            context: Context::new(),
        }
    }

    /// Whether principal and resource are in the same account.
    pub(crate) fn same_account(&self) -> bool {
        match &self.resource_account {
            None => true,
            Some(a) => *a == self.principal.account,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_case_insensitive() {
        let mut c = Context::new();
        c.set("aws:SourceIp", "1.2.3.4");
        assert_eq!(c.get("AWS:SOURCEIP").unwrap(), ["1.2.3.4".to_string()]);
        c.set_multi("aws:TagKeys", ["a", "b"]);
        assert_eq!(c.get("aws:tagkeys").unwrap().len(), 2);
        assert!(c.remove("Aws:TagKeys").is_some());
        assert!(c.get("aws:TagKeys").is_none());
    }

    /// A single value kept without its `Vec` reads, compares, serializes and prints as the
    /// one-element list it was before.
    #[test]
    fn one_value_is_a_list_of_one() {
        let mut one = Context::new();
        one.set_static("aws:userid", "AIDA1")
            .set("aws:SourceIp", "1.2.3.4");
        let mut many = Context::new();
        many.set_multi("aws:userid", ["AIDA1"])
            .set_multi("aws:sourceip", ["1.2.3.4"]);
        assert_eq!(one, many);
        assert_eq!(one.get("aws:UserId").unwrap(), ["AIDA1".to_string()]);
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            r#"{"values":{"aws:sourceip":["1.2.3.4"],"aws:userid":["AIDA1"]}}"#
        );
        assert_eq!(format!("{one:?}"), format!("{many:?}"));
        assert_eq!(
            format!("{one:?}"),
            r#"Context { values: {"aws:sourceip": ["1.2.3.4"], "aws:userid": ["AIDA1"]} }"#
        );
        assert_eq!(one.remove("aws:userid"), Some(vec!["AIDA1".to_string()]));
        many.set("aws:userid", "AIDA2");
        assert_ne!(one, many);
    }

    #[test]
    fn principal_from_arn() {
        let p = Principal::from_arn("arn:aws:iam::123456789012:user/dev/alice");
        assert_eq!(p.kind, PrincipalKind::User);
        assert_eq!(p.account, "123456789012");
        assert_eq!(p.user_name(), Some("alice"));
        let p = Principal::from_arn("arn:aws:iam::123456789012:root");
        assert_eq!(p.kind, PrincipalKind::Root);
        let p = Principal::from_arn("arn:aws:iam::123456789012:role/r");
        assert_eq!(p.kind, PrincipalKind::Role);
        let p = Principal::from_arn("arn:aws:sts::123456789012:assumed-role/r/s");
        assert_eq!(
            p.kind,
            PrincipalKind::AssumedRole {
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
                session: "s".into()
            }
        );
        assert_eq!(
            Principal::from_arn("bedrock.amazonaws.com").kind,
            PrincipalKind::Service
        );
        assert_eq!(Principal::from_arn("*").kind, PrincipalKind::Anonymous);
    }

    #[test]
    fn principal_tags_case_insensitive() {
        let p = Principal::from_arn("arn:aws:iam::1:user/u").with_tag("Team", "red");
        assert_eq!(p.tag("team"), Some("red"));
        assert_eq!(p.tag("other"), None);
    }
}
