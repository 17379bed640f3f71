//! What the IAM and STS handlers share: awsQuery parameters, XML output, AWS's validation
//! sentences, dates, URL-encoded documents and random credentials.

use crate::error::{xml_escape, ApiError};
use std::fmt::Display;

/// The decoded `application/x-www-form-urlencoded` parameters of one awsQuery request.
#[derive(Clone, Copy)]
pub struct Params<'a>(pub &'a [(String, String)]);

impl<'a> Params<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required member: absent is Coral's "Value null at 'member'" ValidationError.
    pub fn required(&self, name: &str) -> Result<&'a str, ApiError> {
        self.get(name).ok_or_else(|| missing(name))
    }

    /// `Name.member.N` values in N order.
    pub fn list(&self, name: &str) -> Vec<&'a str> {
        let pre = format!("{name}.member.");
        let mut v: Vec<(u32, &str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(&pre)?.parse().ok()?;
                Some((n, v.as_str()))
            })
            .collect();
        v.sort_by_key(|x| x.0);
        v.into_iter().map(|x| x.1).collect()
    }

    /// Whether the list member was sent at all (`Name=` for an empty list, or `Name.member.N`).
    pub fn has_list(&self, name: &str) -> bool {
        let pre = format!("{name}.member.");
        self.0.iter().any(|(k, _)| k == name || k.starts_with(&pre))
    }

    /// `Name.member.N.Field…` structures in N order, each as its own (Field…, value) pairs.
    pub fn structs(&self, name: &str) -> Vec<Vec<(String, String)>> {
        let pre = format!("{name}.member.");
        let mut out: std::collections::BTreeMap<u32, Vec<(String, String)>> = Default::default();
        for (k, v) in self.0 {
            let Some(rest) = k.strip_prefix(&pre) else {
                continue;
            };
            let Some((n, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else { continue };
            out.entry(n)
                .or_default()
                .push((field.to_string(), v.clone()));
        }
        out.into_values().collect()
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                validation(format!(
                    "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must be a number",
                    lower_camel(name)
                ))
            }),
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// `UserName` → `userName`, the way Coral names members in validation messages.
pub fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// awsQuery's validation error code (IAM and STS): `ValidationError`, 400.
pub fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationError", 400, message)
}

pub fn missing(name: &str) -> ApiError {
    validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        lower_camel(name)
    ))
}

/// Collects Coral constraint violations into one ValidationError, worded like AWS's:
/// `1 validation error detected: Value 'x' at 'userName' failed to satisfy constraint: Member must …`
/// (several are joined with `; ` after `N validation errors detected: `).
#[derive(Default)]
pub struct Checks {
    errors: Vec<String>,
}

pub const NAME_PATTERN: &str = r"[\w+=,.@-]+";
pub const PATH_PATTERN: &str = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)";
pub const POLICY_PATH_PATTERN: &str = r"((/[A-Za-z0-9\.,\+@=_-]+)*)/";

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub fn is_name_char(c: char) -> bool {
    is_word(c) || "+=,.@-".contains(c)
}

impl Checks {
    pub fn new() -> Checks {
        Checks::default()
    }

    pub fn fail(&mut self, value: &str, member: &str, what: impl Display) {
        self.errors.push(format!(
            "Value '{value}' at '{}' failed to satisfy constraint: Member must {what}",
            lower_camel(member)
        ));
    }

    pub fn length(&mut self, value: &str, member: &str, min: usize, max: usize) -> &mut Self {
        let n = value.chars().count();
        if n < min {
            self.fail(
                value,
                member,
                format!("have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.fail(
                value,
                member,
                format!("have length less than or equal to {max}"),
            );
        }
        self
    }

    /// A name member (`[\w+=,.@-]+`, 1..=max).
    pub fn name(&mut self, value: &str, member: &str, max: usize) -> &mut Self {
        if !value.is_empty() && !value.chars().all(is_name_char) {
            self.fail(
                value,
                member,
                format!("satisfy regular expression pattern: {NAME_PATTERN}"),
            );
        }
        self.length(value, member, 1, max)
    }

    /// An entity path (`/` or `/…/` of printable ASCII, ≤ 512).
    pub fn path(&mut self, value: &str, member: &str) -> &mut Self {
        let ok = value == "/"
            || (value.len() >= 3
                && value.starts_with('/')
                && value.ends_with('/')
                && value.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)));
        if !ok {
            self.fail(
                value,
                member,
                format!("satisfy regular expression pattern: {PATH_PATTERN}"),
            );
        }
        self.length(value, member, 1, 512)
    }

    /// A managed policy path (`((/[A-Za-z0-9\.,\+@=_-]+)*)/`).
    pub fn policy_path(&mut self, value: &str, member: &str) -> &mut Self {
        let ok = value.starts_with('/')
            && value.ends_with('/')
            && !value.contains("//")
            && value
                .chars()
                .all(|c| c == '/' || c.is_ascii_alphanumeric() || ".,+@=_-".contains(c));
        if !ok {
            self.fail(
                value,
                member,
                format!("satisfy regular expression pattern: {POLICY_PATH_PATTERN}"),
            );
        }
        self.length(value, member, 1, 512)
    }

    pub fn range(&mut self, value: i64, member: &str, min: i64, max: i64) -> &mut Self {
        if value < min {
            self.fail(
                &value.to_string(),
                member,
                format!("have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.fail(
                &value.to_string(),
                member,
                format!("have value less than or equal to {max}"),
            );
        }
        self
    }

    pub fn done(&mut self) -> Result<(), ApiError> {
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(validation(format!(
                "1 validation error detected: {}",
                self.errors[0]
            ))),
            n => Err(validation(format!(
                "{n} validation errors detected: {}",
                self.errors.join("; ")
            ))),
        }
    }
}

/// A tiny XML writer for awsQuery responses.
#[derive(Default)]
pub struct Xml(String);

impl Xml {
    pub fn new() -> Xml {
        Xml::default()
    }

    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn leaf(&mut self, tag: &str, value: impl Display) -> &mut Self {
        self.open(tag);
        self.0.push_str(&xml_escape(&value.to_string()));
        self.close(tag)
    }

    pub fn opt<T: Display>(&mut self, tag: &str, value: Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.leaf(tag, v);
        }
        self
    }

    /// `<tag><member>…</member>…</tag>`.
    pub fn list<T>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Xml, T),
    ) -> &mut Self {
        self.open(tag);
        for it in items {
            self.open("member");
            f(self, it);
            self.close("member");
        }
        self.close(tag)
    }

    /// A list of plain strings.
    pub fn strings<T: Display>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        self.list(tag, items, |x, s| {
            x.0.push_str(&xml_escape(&s.to_string()));
        })
    }

    pub fn raw(&mut self, s: &str) -> &mut Self {
        self.0.push_str(s);
        self
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// The whole awsQuery response document: `<{Op}Response xmlns><{Op}Result>…</{Op}Result>
/// <ResponseMetadata><RequestId/></ResponseMetadata></{Op}Response>`; operations without an
/// output shape have no Result element.
pub fn response(op: &str, xmlns: &str, result: Option<String>, request_id: &str) -> String {
    let mut s = format!("<{op}Response xmlns=\"{xmlns}\">\n");
    if let Some(r) = result {
        s.push_str(&format!("  <{op}Result>{r}</{op}Result>\n"));
    }
    s.push_str(&format!(
        "  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n</{op}Response>\n",
        xml_escape(request_id)
    ));
    s
}

/// `2026-11-25T18:41:20Z`, the form IAM and STS put in dates.
pub fn iso8601(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// IAM returns policy documents URL-encoded (RFC 3986; botocore `unquote`s them).
pub fn url_encode(doc: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(doc, SET).to_string()
}

/// The size IAM counts against policy quotas: characters other than whitespace.
pub fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// Cryptographically random bits, 122 per UUID v4 (its version and variant bits left out).
struct Bits {
    pool: u128,
    left: u32,
}

impl Bits {
    fn new() -> Bits {
        Bits { pool: 0, left: 0 }
    }

    fn take(&mut self, n: u32) -> u32 {
        if self.left < n {
            let v = uuid::Uuid::new_v4().as_u128();
            let lo = v & ((1u128 << 62) - 1);
            let mid = (v >> 64) & 0xfff;
            let hi = v >> 80;
            self.pool = lo | (mid << 62) | (hi << 74);
            self.left = 122;
        }
        let out = (self.pool & ((1u128 << n) - 1)) as u32;
        self.pool >>= n;
        self.left -= n;
        out
    }
}

fn random_from(alphabet: &[u8], bits: u32, n: usize) -> String {
    let mut b = Bits::new();
    (0..n)
        .map(|_| alphabet[b.take(bits) as usize % alphabet.len()] as char)
        .collect()
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `AKIA`/`ASIA` + 16 random base-32 characters (20 in all, as AWS's).
pub fn access_key_id(prefix: &str) -> String {
    format!("{prefix}{}", random_from(BASE32, 5, 16))
}

/// 40 random base-64 characters, as AWS's secret access keys.
pub fn secret_access_key() -> String {
    random_from(BASE64, 6, 40)
}

/// A session token shaped like STS's (base64, `IQoJb3JpZ2luX2Vj` prefix, a few hundred chars).
pub fn session_token() -> String {
    format!("IQoJb3JpZ2luX2Vj{}", random_from(BASE64, 6, 340))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params() {
        let raw: Vec<(String, String)> = [
            ("A", "1"),
            ("L.member.2", "b"),
            ("L.member.1", "a"),
            ("T.member.1.Key", "k"),
            ("T.member.1.Value", "v"),
            ("T.member.2.Key", "k2"),
            ("E", ""),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let p = Params(&raw);
        assert_eq!(p.list("L"), ["a", "b"]);
        assert!(p.has_list("E") && p.has_list("L") && !p.has_list("X"));
        let t = p.structs("T");
        assert_eq!(t.len(), 2);
        assert_eq!(Params(&t[0]).get("Value"), Some("v"));
        assert_eq!(
            p.required("UserName").unwrap_err().message,
            "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn checks_word_like_coral() {
        let e = Checks::new()
            .name("a b", "UserName", 64)
            .done()
            .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message,
            r"1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
        );
        assert!(Checks::new().path("/a/b/", "Path").done().is_ok());
        assert!(Checks::new().path("a", "Path").done().is_err());
        assert!(Checks::new().policy_path("/", "Path").done().is_ok());
        let e = Checks::new()
            .range(100, "DurationSeconds", 900, 43200)
            .done()
            .unwrap_err();
        assert_eq!(e.message, "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
    }

    #[test]
    fn formats() {
        assert_eq!(iso8601(1_733_341_867), "2024-12-04T19:51:07Z");
        assert_eq!(
            url_encode(r#"{"a": "b/c"}"#),
            "%7B%22a%22%3A%20%22b%2Fc%22%7D"
        );
        let k = access_key_id("AKIA");
        assert_eq!(k.len(), 20);
        assert!(k[4..].chars().all(|c| BASE32.contains(&(c as u8))));
        assert_ne!(k, access_key_id("AKIA"));
        assert_eq!(secret_access_key().len(), 40);
        assert!(session_token().len() > 100);
        assert_eq!(policy_size("{ \"a\" :\n 1 }"), 7);
    }
}
