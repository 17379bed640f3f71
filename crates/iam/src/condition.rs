//! The `Condition` element: operators, compilation at parse time and evaluation.
//!
//! Evaluation rules (from the IAM condition-operator reference):
//! * keys are case-insensitive, values case-sensitive (except the `…IgnoreCase` operators
//!   and `Bool`);
//! * several values for one key are OR'ed, several keys in one operator block are AND'ed,
//!   several operator blocks are AND'ed;
//! * a missing key makes a positive operator false and a negated operator
//!   (`StringNotEquals`, `StringNotEqualsIgnoreCase`, `StringNotLike`, `NumericNotEquals`,
//!   `DateNotEquals`, `NotIpAddress`, `ArnNotEquals`, `ArnNotLike`) true;
//! * `…IfExists` is true when the key is missing, otherwise the plain operator;
//! * `ForAllValues:` is true when the key is missing or empty, otherwise every request
//!   value must satisfy the operator against at least one policy value (for a negated
//!   operator: must match none of them);
//! * `ForAnyValue:` is false when the key is missing, otherwise at least one request value
//!   must satisfy the operator;
//! * without a set operator, a multivalued request key satisfies a positive operator when
//!   any of its values matches any policy value, and a negated operator is the negation of
//!   that (no request value matches any policy value);
//! * `Null` with `true` is satisfied when the key is absent, with `false` when present;
//! * request values that cannot be read as the operator's type (number, date, IP address…)
//!   never match; policy values that cannot be read never match either;
//! * policy variables are substituted in the values of the string and ARN operators (for
//!   version 2012-10-17 policies); a value whose variable cannot be resolved matches
//!   nothing.

use crate::arn::{ArnPattern, ReqArn};
use crate::env::Env;
use crate::glob::{Pattern, Template};
use base64::Engine as _;
use std::net::IpAddr;

/// A base condition operator (without `IfExists` or a set prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringNotEquals", Op::StringNotEquals),
    ("StringEqualsIgnoreCase", Op::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Op::StringNotEqualsIgnoreCase),
    ("StringLike", Op::StringLike),
    ("StringNotLike", Op::StringNotLike),
    ("NumericEquals", Op::NumericEquals),
    ("NumericNotEquals", Op::NumericNotEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("DateEquals", Op::DateEquals),
    ("DateNotEquals", Op::DateNotEquals),
    ("DateLessThan", Op::DateLessThan),
    ("DateLessThanEquals", Op::DateLessThanEquals),
    ("DateGreaterThan", Op::DateGreaterThan),
    ("DateGreaterThanEquals", Op::DateGreaterThanEquals),
    ("Bool", Op::Bool),
    ("BinaryEquals", Op::BinaryEquals),
    ("IpAddress", Op::IpAddress),
    ("NotIpAddress", Op::NotIpAddress),
    ("ArnEquals", Op::ArnEquals),
    ("ArnLike", Op::ArnLike),
    ("ArnNotEquals", Op::ArnNotEquals),
    ("ArnNotLike", Op::ArnNotLike),
    ("Null", Op::Null),
];

impl Op {
    /// Negated operators: their result is the negation of the positive comparison, and
    /// they are true when the key is missing.
    pub(crate) fn negated(self) -> bool {
        matches!(
            self,
            Op::StringNotEquals
                | Op::StringNotEqualsIgnoreCase
                | Op::StringNotLike
                | Op::NumericNotEquals
                | Op::DateNotEquals
                | Op::NotIpAddress
                | Op::ArnNotEquals
                | Op::ArnNotLike
        )
    }
}

/// Set operator prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    Single,
    ForAnyValue,
    ForAllValues,
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    if s.len() >= p.len() && s.is_char_boundary(p.len()) && s[..p.len()].eq_ignore_ascii_case(p) {
        Some(&s[p.len()..])
    } else {
        None
    }
}

fn strip_suffix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(p.len())?;
    if s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(p) {
        Some(&s[..cut])
    } else {
        None
    }
}

/// Parses an operator name such as `ForAnyValue:StringLikeIfExists` (names are matched
/// case-insensitively). `Null` takes neither `IfExists` nor a set prefix.
pub(crate) fn parse_operator(name: &str) -> Option<(Op, SetOp, bool)> {
    let (set, rest) = if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
        (SetOp::ForAnyValue, r)
    } else if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
        (SetOp::ForAllValues, r)
    } else {
        (SetOp::Single, name)
    };
    let (rest, if_exists) = match strip_suffix_ci(rest, "IfExists") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let op = OPS.iter().find(|(n, _)| n.eq_ignore_ascii_case(rest))?.1;
    if op == Op::Null && (if_exists || set != SetOp::Single) {
        return None;
    }
    Some((op, set, if_exists))
}

#[derive(Debug, Clone)]
enum StrVal {
    Static(String),
    Tmpl(Template),
}

#[derive(Debug, Clone)]
enum LikeVal {
    Static(Pattern),
    Tmpl(Template),
}

#[derive(Debug, Clone)]
enum ArnVal {
    Static(ArnPattern),
    Tmpl(Template),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn test<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// A CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, an IPv6 `addr/n`, or a bare address (a host route).
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return None;
        }
        Some(Cidr { net, prefix })
    }

    /// Whether `ip` lies in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.net, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s.split_once('/').map_or(s, |(a, _)| a);
    s.parse().ok()
}

fn parse_num(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// Parses an ISO 8601 date/time (with or without offset, or a bare date = midnight UTC)
/// or epoch seconds, into nanoseconds since the epoch.
pub(crate) fn parse_date(s: &str) -> Option<i128> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    use time::{Date, OffsetDateTime, PrimitiveDateTime};
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(i128::from(n) * 1_000_000_000);
    }
    if let Some(v) = parse_num(s) {
        return Some((v * 1e9) as i128);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t.unix_timestamp_nanos());
    }
    if let Ok(t) = PrimitiveDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t.assume_utc().unix_timestamp_nanos());
    }
    if let Ok(d) = Date::parse(s, &Iso8601::DEFAULT) {
        return Some(d.midnight().assume_utc().unix_timestamp_nanos());
    }
    None
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

#[derive(Debug, Clone)]
enum Values {
    Str(Vec<StrVal>),
    /// Static values stored lower-cased.
    StrIgnoreCase(Vec<StrVal>),
    Like(Vec<LikeVal>),
    Num(Cmp, Vec<Option<f64>>),
    Date(Cmp, Vec<Option<i128>>),
    /// Lower-cased.
    Bool(Vec<String>),
    /// Raw text and decoded bytes.
    Bin(Vec<(String, Option<Vec<u8>>)>),
    Ip(Vec<Option<Cidr>>),
    Arn(Vec<ArnVal>),
    /// `Some(true)`: key must be absent; `Some(false)`: present.
    Null(Vec<Option<bool>>),
}

/// One `operator: { key: values }` entry.
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    op: Op,
    set: SetOp,
    if_exists: bool,
    /// Lower-cased condition key.
    key: String,
    values: Values,
}

impl Clause {
    /// Compiles a clause. `vars` enables policy variables in string/ARN values.
    pub(crate) fn compile(
        op: Op,
        set: SetOp,
        if_exists: bool,
        key: &str,
        raw: &[String],
        vars: bool,
    ) -> Clause {
        let tmpl = |s: &str, wildcards: bool| Template::parse(s, wildcards, vars);
        let strs = |lower: bool| {
            raw.iter()
                .map(|s| {
                    let t = tmpl(s, false);
                    if t.has_vars() {
                        StrVal::Tmpl(t)
                    } else if lower {
                        StrVal::Static(s.to_lowercase())
                    } else {
                        StrVal::Static(s.clone())
                    }
                })
                .collect()
        };
        let nums = || raw.iter().map(|s| parse_num(s)).collect();
        let dates = || raw.iter().map(|s| parse_date(s)).collect();
        let values = match op {
            Op::StringEquals | Op::StringNotEquals => Values::Str(strs(false)),
            Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase => {
                Values::StrIgnoreCase(strs(true))
            }
            Op::StringLike | Op::StringNotLike => Values::Like(
                raw.iter()
                    .map(|s| {
                        let t = tmpl(s, true);
                        if t.has_vars() {
                            LikeVal::Tmpl(t)
                        } else {
                            LikeVal::Static(Pattern::from_toks(t.static_toks()))
                        }
                    })
                    .collect(),
            ),
            Op::NumericEquals | Op::NumericNotEquals => Values::Num(Cmp::Eq, nums()),
            Op::NumericLessThan => Values::Num(Cmp::Lt, nums()),
            Op::NumericLessThanEquals => Values::Num(Cmp::Le, nums()),
            Op::NumericGreaterThan => Values::Num(Cmp::Gt, nums()),
            Op::NumericGreaterThanEquals => Values::Num(Cmp::Ge, nums()),
            Op::DateEquals | Op::DateNotEquals => Values::Date(Cmp::Eq, dates()),
            Op::DateLessThan => Values::Date(Cmp::Lt, dates()),
            Op::DateLessThanEquals => Values::Date(Cmp::Le, dates()),
            Op::DateGreaterThan => Values::Date(Cmp::Gt, dates()),
            Op::DateGreaterThanEquals => Values::Date(Cmp::Ge, dates()),
            Op::Bool => Values::Bool(raw.iter().map(|s| s.trim().to_lowercase()).collect()),
            Op::BinaryEquals => {
                Values::Bin(raw.iter().map(|s| (s.clone(), decode_b64(s))).collect())
            }
            Op::IpAddress | Op::NotIpAddress => {
                Values::Ip(raw.iter().map(|s| Cidr::parse(s)).collect())
            }
            Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => Values::Arn(
                raw.iter()
                    .map(|s| {
                        let t = tmpl(s, true);
                        if t.has_vars() {
                            ArnVal::Tmpl(t)
                        } else {
                            ArnVal::Static(ArnPattern::from_toks(t.static_toks()))
                        }
                    })
                    .collect(),
            ),
            Op::Null => Values::Null(
                raw.iter()
                    .map(|s| match s.trim().to_ascii_lowercase().as_str() {
                        "true" => Some(true),
                        "false" => Some(false),
                        _ => None,
                    })
                    .collect(),
            ),
        };
        Clause {
            op,
            set,
            if_exists,
            key: key.to_lowercase(),
            values,
        }
    }

    /// Evaluates the clause against the request.
    pub(crate) fn eval(&self, env: &Env<'_>) -> bool {
        let vals = env.lookup(&self.key);
        if let Values::Null(ps) = &self.values {
            let absent = vals.is_none();
            return ps
                .iter()
                .flatten()
                .any(|&want_absent| want_absent == absent);
        }
        let neg = self.op.negated();
        match (self.set, vals) {
            (SetOp::ForAllValues, None) => true,
            (SetOp::ForAnyValue, None) => self.if_exists,
            (SetOp::Single, None) => self.if_exists || neg,
            (SetOp::ForAllValues, Some(v)) => v.iter().all(|x| self.matches_one(x, env) != neg),
            (SetOp::ForAnyValue, Some(v)) => v.iter().any(|x| self.matches_one(x, env) != neg),
            (SetOp::Single, Some(v)) => v.iter().any(|x| self.matches_one(x, env)) != neg,
        }
    }

    /// The positive comparison: does request value `v` match any policy value?
    fn matches_one(&self, v: &str, env: &Env<'_>) -> bool {
        let var = |k: &str| env.var(k);
        match &self.values {
            Values::Str(ps) => ps.iter().any(|p| match p {
                StrVal::Static(s) => s == v,
                StrVal::Tmpl(t) => t.resolve_string(&var).is_some_and(|s| s == v),
            }),
            Values::StrIgnoreCase(ps) => {
                let v = v.to_lowercase();
                ps.iter().any(|p| match p {
                    StrVal::Static(s) => *s == v,
                    StrVal::Tmpl(t) => t
                        .resolve_string(&var)
                        .is_some_and(|s| s.to_lowercase() == v),
                })
            }
            Values::Like(ps) => ps.iter().any(|p| match p {
                LikeVal::Static(pat) => pat.matches(v),
                LikeVal::Tmpl(t) => t
                    .resolve_toks(&var)
                    .is_some_and(|toks| Pattern::from_toks(toks).matches(v)),
            }),
            Values::Num(cmp, ps) => match parse_num(v) {
                Some(x) => ps.iter().flatten().any(|&p| cmp.test(x, p)),
                None => false,
            },
            Values::Date(cmp, ps) => match parse_date(v) {
                Some(x) => ps.iter().flatten().any(|&p| cmp.test(x, p)),
                None => false,
            },
            Values::Bool(ps) => {
                let v = v.trim();
                ps.iter().any(|p| p.eq_ignore_ascii_case(v))
            }
            Values::Bin(ps) => {
                let dec = decode_b64(v);
                ps.iter().any(|(raw, bytes)| match (bytes, &dec) {
                    (Some(a), Some(b)) => a == b,
                    _ => raw == v,
                })
            }
            Values::Ip(ps) => match parse_ip(v) {
                Some(ip) => ps.iter().flatten().any(|c| c.contains(ip)),
                None => false,
            },
            Values::Arn(ps) => {
                let r = ReqArn::new(v);
                ps.iter().any(|p| match p {
                    ArnVal::Static(a) => a.matches(&r),
                    ArnVal::Tmpl(t) => t
                        .resolve_toks(&var)
                        .is_some_and(|toks| ArnPattern::from_toks(toks).matches(&r)),
                })
            }
            Values::Null(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Principal, Request};

    fn req(ctx: &[(&str, &[&str])]) -> Request {
        let mut r = Request::new(
            Principal::from_arn("arn:aws:iam::123456789012:user/alice").with_tag("team", "red"),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
        );
        for (k, v) in ctx {
            r.context.set_multi(*k, v.iter().copied());
        }
        r
    }

    fn check(op: &str, key: &str, vals: &[&str], ctx: &[(&str, &[&str])]) -> bool {
        check_v(op, key, vals, ctx, true)
    }

    fn check_v(op: &str, key: &str, vals: &[&str], ctx: &[(&str, &[&str])], vars: bool) -> bool {
        let (o, s, ie) = parse_operator(op).expect("known operator");
        let raw: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
        let c = Clause::compile(o, s, ie, key, &raw, vars);
        let r = req(ctx);
        let env = Env::new(&r, false);
        c.eval(&env)
    }

    #[test]
    fn operator_names() {
        assert_eq!(
            parse_operator("StringEquals"),
            Some((Op::StringEquals, SetOp::Single, false))
        );
        assert_eq!(
            parse_operator("ForAnyValue:StringLikeIfExists"),
            Some((Op::StringLike, SetOp::ForAnyValue, true))
        );
        assert_eq!(
            parse_operator("forallvalues:stringequals"),
            Some((Op::StringEquals, SetOp::ForAllValues, false))
        );
        assert!(parse_operator("StringEqualz").is_none());
        assert!(parse_operator("NullIfExists").is_none());
        assert!(parse_operator("ForAnyValue:Null").is_none());
        assert!(parse_operator("").is_none());
        assert!(parse_operator("IfExists").is_none());
        for (name, _) in OPS {
            assert!(parse_operator(name).is_some());
            if *name != "Null" {
                assert!(parse_operator(&format!("{name}IfExists")).is_some());
            }
        }
    }

    #[test]
    fn string_family() {
        let c: &[(&str, &[&str])] = &[("s3:prefix", &["home/"])];
        assert!(check("StringEquals", "s3:prefix", &["home/"], c));
        assert!(check("StringEquals", "S3:PREFIX", &["x", "home/"], c));
        assert!(!check("StringEquals", "s3:prefix", &["HOME/"], c));
        assert!(!check("StringNotEquals", "s3:prefix", &["home/"], c));
        assert!(check("StringNotEquals", "s3:prefix", &["other"], c));
        assert!(check("StringEqualsIgnoreCase", "s3:prefix", &["HOME/"], c));
        assert!(!check(
            "StringNotEqualsIgnoreCase",
            "s3:prefix",
            &["HoMe/"],
            c
        ));
        assert!(check("StringLike", "s3:prefix", &["ho*"], c));
        assert!(check("StringLike", "s3:prefix", &["h?me/"], c));
        assert!(!check("StringLike", "s3:prefix", &["Ho*"], c));
        assert!(check("StringNotLike", "s3:prefix", &["x*"], c));
        assert!(!check("StringNotLike", "s3:prefix", &["*"], c));
        // StringEquals treats * literally
        assert!(!check("StringEquals", "s3:prefix", &["*"], c));
    }

    #[test]
    fn numeric_family() {
        let c: &[(&str, &[&str])] = &[("s3:max-keys", &["10"])];
        assert!(check("NumericEquals", "s3:max-keys", &["10"], c));
        assert!(check("NumericEquals", "s3:max-keys", &["10.0"], c));
        assert!(!check("NumericNotEquals", "s3:max-keys", &["10"], c));
        assert!(check("NumericLessThan", "s3:max-keys", &["11"], c));
        assert!(!check("NumericLessThan", "s3:max-keys", &["10"], c));
        assert!(check("NumericLessThanEquals", "s3:max-keys", &["10"], c));
        assert!(check("NumericGreaterThan", "s3:max-keys", &["9.5"], c));
        assert!(!check("NumericGreaterThan", "s3:max-keys", &["10"], c));
        assert!(check("NumericGreaterThanEquals", "s3:max-keys", &["10"], c));
        assert!(!check("NumericEquals", "s3:max-keys", &["ten"], c));
        let bad: &[(&str, &[&str])] = &[("s3:max-keys", &["lots"])];
        assert!(!check("NumericLessThan", "s3:max-keys", &["11"], bad));
    }

    #[test]
    fn date_family() {
        let c: &[(&str, &[&str])] = &[("aws:CurrentTime", &["2020-06-15T12:00:00Z"])];
        assert!(check(
            "DateGreaterThan",
            "aws:CurrentTime",
            &["2020-01-01T00:00:00Z"],
            c
        ));
        assert!(check("DateLessThan", "aws:CurrentTime", &["2021-01-01"], c));
        assert!(check(
            "DateEquals",
            "aws:CurrentTime",
            &["2020-06-15T14:00:00+02:00"],
            c
        ));
        assert!(check("DateEquals", "aws:CurrentTime", &["1592222400"], c));
        assert!(!check(
            "DateNotEquals",
            "aws:CurrentTime",
            &["1592222400"],
            c
        ));
        assert!(check(
            "DateLessThanEquals",
            "aws:CurrentTime",
            &["1592222400"],
            c
        ));
        assert!(check(
            "DateGreaterThanEquals",
            "aws:CurrentTime",
            &["2020-06-15T12:00:00.000Z"],
            c
        ));
        let epoch: &[(&str, &[&str])] = &[("aws:EpochTime", &["1592222400"])];
        assert!(check(
            "DateEquals",
            "aws:EpochTime",
            &["2020-06-15T12:00:00Z"],
            epoch
        ));
        assert!(!check(
            "DateEquals",
            "aws:EpochTime",
            &["not a date"],
            epoch
        ));
    }

    #[test]
    fn bool_binary_ip() {
        let c: &[(&str, &[&str])] = &[
            ("aws:SecureTransport", &["true"]),
            ("aws:SourceIp", &["203.0.113.7"]),
            ("s3:x", &["aGVsbG8="]),
            ("aws:V6", &["2001:db8::1"]),
        ];
        assert!(check("Bool", "aws:SecureTransport", &["true"], c));
        assert!(check("Bool", "aws:SecureTransport", &["TRUE"], c));
        assert!(!check("Bool", "aws:SecureTransport", &["false"], c));
        assert!(check("BinaryEquals", "s3:x", &["aGVsbG8="], c));
        assert!(!check("BinaryEquals", "s3:x", &["aGVsbG9="], c));
        assert!(check("IpAddress", "aws:SourceIp", &["203.0.113.0/24"], c));
        assert!(check("IpAddress", "aws:SourceIp", &["203.0.113.7"], c));
        assert!(!check("IpAddress", "aws:SourceIp", &["198.51.100.0/24"], c));
        assert!(check(
            "NotIpAddress",
            "aws:SourceIp",
            &["198.51.100.0/24"],
            c
        ));
        assert!(!check("NotIpAddress", "aws:SourceIp", &["0.0.0.0/0"], c));
        assert!(check("IpAddress", "aws:V6", &["2001:db8::/32"], c));
        assert!(!check("IpAddress", "aws:V6", &["2001:db9::/32"], c));
        assert!(!check("IpAddress", "aws:V6", &["0.0.0.0/0"], c));
        assert!(!check("IpAddress", "aws:SourceIp", &["not-an-ip"], c));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        let mapped = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(mapped.contains("::ffff:10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn arn_family() {
        let c: &[(&str, &[&str])] = &[("aws:SourceArn", &["arn:aws:sns:us-east-1:123:topic"])];
        assert!(check(
            "ArnEquals",
            "aws:SourceArn",
            &["arn:aws:sns:us-east-1:123:topic"],
            c
        ));
        assert!(check(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:sns:*:123:*"],
            c
        ));
        assert!(check(
            "ArnEquals",
            "aws:SourceArn",
            &["arn:aws:sns:*:123:*"],
            c
        ));
        assert!(!check(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:sns:*:999:*"],
            c
        ));
        assert!(check("ArnNotLike", "aws:SourceArn", &["arn:aws:sqs:*"], c));
        assert!(!check(
            "ArnNotEquals",
            "aws:SourceArn",
            &["arn:aws:sns:*"],
            c
        ));
    }

    #[test]
    fn missing_key_rules() {
        let none: &[(&str, &[&str])] = &[];
        for op in [
            "StringEquals",
            "StringLike",
            "NumericEquals",
            "DateEquals",
            "Bool",
            "BinaryEquals",
            "IpAddress",
            "ArnLike",
            "ArnEquals",
            "StringEqualsIgnoreCase",
        ] {
            assert!(!check(op, "k:x", &["v"], none), "{op}");
            assert!(
                check(&format!("{op}IfExists"), "k:x", &["v"], none),
                "{op}IfExists"
            );
            assert!(
                !check(&format!("ForAnyValue:{op}"), "k:x", &["v"], none),
                "ForAnyValue:{op}"
            );
            assert!(
                check(&format!("ForAllValues:{op}"), "k:x", &["v"], none),
                "ForAllValues:{op}"
            );
        }
        for op in [
            "StringNotEquals",
            "StringNotLike",
            "NumericNotEquals",
            "DateNotEquals",
            "NotIpAddress",
            "ArnNotLike",
            "ArnNotEquals",
            "StringNotEqualsIgnoreCase",
        ] {
            assert!(check(op, "k:x", &["v"], none), "{op}");
            assert!(
                check(&format!("{op}IfExists"), "k:x", &["v"], none),
                "{op}IfExists"
            );
            assert!(!check(&format!("ForAnyValue:{op}"), "k:x", &["v"], none));
            assert!(check(&format!("ForAllValues:{op}"), "k:x", &["v"], none));
        }
        // IfExists behaves like the plain operator when present
        let c: &[(&str, &[&str])] = &[("k:x", &["v"])];
        assert!(check("StringEqualsIfExists", "k:x", &["v"], c));
        assert!(!check("StringEqualsIfExists", "k:x", &["w"], c));
        // an empty multivalued key is absent
        let empty: &[(&str, &[&str])] = &[("aws:TagKeys", &[])];
        assert!(check(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &["a"],
            empty
        ));
        assert!(!check(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            &["a"],
            empty
        ));
    }

    #[test]
    fn null_operator() {
        let c: &[(&str, &[&str])] = &[("k:present", &["v"])];
        assert!(check("Null", "k:absent", &["true"], c));
        assert!(!check("Null", "k:absent", &["false"], c));
        assert!(check("Null", "k:present", &["false"], c));
        assert!(!check("Null", "k:present", &["true"], c));
        assert!(!check("Null", "k:present", &["maybe"], c));
    }

    #[test]
    fn set_operators() {
        let c: &[(&str, &[&str])] = &[("aws:TagKeys", &["env", "team"])];
        assert!(check(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &["env", "team", "cost"],
            c
        ));
        assert!(!check(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            &["env"],
            c
        ));
        assert!(check(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            &["env"],
            c
        ));
        assert!(!check(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            &["cost"],
            c
        ));
        assert!(check(
            "ForAnyValue:StringNotEquals",
            "aws:TagKeys",
            &["env"],
            c
        ));
        assert!(!check(
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            &["env"],
            c
        ));
        assert!(check(
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            &["cost"],
            c
        ));
        assert!(check(
            "ForAllValues:StringLike",
            "aws:TagKeys",
            &["e*", "t*"],
            c
        ));
        // without a set operator: positive = any value matches; negated = none matches
        assert!(check("StringEquals", "aws:TagKeys", &["team"], c));
        assert!(!check("StringNotEquals", "aws:TagKeys", &["team"], c));
        assert!(check("StringNotEquals", "aws:TagKeys", &["cost"], c));
    }

    #[test]
    fn variables_in_values() {
        let c: &[(&str, &[&str])] = &[("s3:prefix", &["alice/x"]), ("k:team", &["red"])];
        assert!(check("StringLike", "s3:prefix", &["${aws:username}/*"], c));
        assert!(!check_v(
            "StringLike",
            "s3:prefix",
            &["${aws:username}/*"],
            c,
            false
        ));
        assert!(check(
            "StringEquals",
            "k:team",
            &["${aws:PrincipalTag/team}"],
            c
        ));
        assert!(check(
            "StringEquals",
            "k:team",
            &["${aws:PrincipalTag/missing, 'red'}"],
            c
        ));
        // unresolved variable: that value does not match; negated operator then true
        assert!(!check(
            "StringEquals",
            "k:team",
            &["${aws:PrincipalTag/missing}"],
            c
        ));
        assert!(check(
            "StringNotEquals",
            "k:team",
            &["${aws:PrincipalTag/missing}"],
            c
        ));
        // escapes
        let star: &[(&str, &[&str])] = &[("k:x", &["a*"])];
        assert!(check("StringLike", "k:x", &["a${*}"], star));
        let lit: &[(&str, &[&str])] = &[("k:x", &["ab"])];
        assert!(!check("StringLike", "k:x", &["a${*}"], lit));
        // ARN with variable
        let arn: &[(&str, &[&str])] =
            &[("aws:SourceArn", &["arn:aws:iam::123456789012:user/alice"])];
        assert!(check(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:iam::*:user/${aws:username}"],
            arn
        ));
    }

    #[test]
    fn derived_principal_keys() {
        let none: &[(&str, &[&str])] = &[];
        assert!(check(
            "StringEquals",
            "aws:PrincipalTag/Team",
            &["red"],
            none
        ));
        assert!(check(
            "StringEquals",
            "aws:PrincipalAccount",
            &["123456789012"],
            none
        ));
        assert!(check(
            "ArnEquals",
            "aws:PrincipalArn",
            &["arn:aws:iam::123456789012:user/alice"],
            none
        ));
        assert!(check("StringEquals", "aws:username", &["alice"], none));
        assert!(check("Bool", "aws:PrincipalIsAWSService", &["false"], none));
        assert!(check("StringEquals", "aws:PrincipalType", &["User"], none));
        // explicit context overrides derived values
        let c: &[(&str, &[&str])] = &[("aws:username", &["bob"])];
        assert!(check("StringEquals", "aws:username", &["bob"], c));
    }
}
