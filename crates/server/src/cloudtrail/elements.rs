//! `responseElements` of an IAM or STS write: its awsQuery XML answer as CloudTrail writes it.
//!
//! CloudTrail serializes the service's response object: the members of `<ActionResult>` with
//! their first letter lowered (`User` → `user`), lists as JSON arrays, booleans and integers as
//! JSON values and times in the Java form IAM's and STS's events carry (`Dec 2, 2026, 8:05:41 PM`,
//! UTC). Secrets are never written: `secretAccessKey` (CreateAccessKey, AssumeRole),
//! `servicePassword` and `serviceCredentialSecret` (service-specific credentials) are left out,
//! whatever their depth. `sessionToken` stays, as in AWS's AssumeRole event (it is no secret
//! without the secret key).
//!
//! Choices where AWS publishes no schema (tested in tests/python/test_cloudtrail_elements.py):
//! which text is a boolean, an integer or a time is decided by the member's name ([`kind`]);
//! every other member is a string. A write whose result is empty (DeleteUser, AttachRolePolicy)
//! has `null` responseElements, as AWS writes them.

use serde_json::{Map, Value};

/// Members never written, at any depth.
const SECRETS: &[&str] = &[
    "secretAccessKey",
    "servicePassword",
    "serviceCredentialSecret",
    "password",
];

/// Boolean members of the IAM and STS answers serve gives.
const BOOLEANS: &[&str] = &[
    "isDefaultVersion",
    "isAttachable",
    "isTruncated",
    "passwordResetRequired",
];

/// Integer members.
const INTEGERS: &[&str] = &[
    "packedPolicySize",
    "attachmentCount",
    "permissionsBoundaryUsageCount",
    "maxSessionDuration",
];

enum Kind {
    Text,
    Bool,
    Int,
    Time,
}

fn kind(member: &str) -> Kind {
    if BOOLEANS.contains(&member) {
        Kind::Bool
    } else if INTEGERS.contains(&member) {
        Kind::Int
    } else if member.ends_with("Date") || member == "expiration" {
        Kind::Time
    } else {
        Kind::Text
    }
}

/// An element of the answer: its children in order, or its text.
#[derive(Default)]
struct Element {
    name: String,
    children: Vec<Element>,
    text: String,
}

/// The answer's elements (the root is the `<ActionResponse>`); None when it is not well formed.
fn parse(xml: &str) -> Option<Element> {
    use xmlparser::{ElementEnd, Token, Tokenizer};
    let mut stack: Vec<Element> = vec![Element::default()];
    for token in Tokenizer::from(xml) {
        match token.ok()? {
            Token::ElementStart { local, .. } => stack.push(Element {
                name: local.as_str().to_string(),
                ..Default::default()
            }),
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => {}
                ElementEnd::Close(_, local) => {
                    let done = stack.pop()?;
                    if done.name != local.as_str() || stack.is_empty() {
                        return None;
                    }
                    stack.last_mut()?.children.push(done);
                }
                ElementEnd::Empty => {
                    let done = stack.pop()?;
                    stack.last_mut()?.children.push(done);
                }
            },
            Token::Text { text } => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&unescape(text.as_str()));
                }
            }
            Token::Cdata { text, .. } => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(text.as_str());
                }
            }
            _ => {}
        }
    }
    let mut document = stack.pop()?;
    if !stack.is_empty() {
        return None;
    }
    document.children.pop()
}

/// The five predefined entities and numeric references (what `xml_escape` writes).
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `2026-12-02T20:05:41Z` as `Dec 2, 2026, 8:05:41 PM`; anything else as it is.
fn java_time(iso: &str) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let Ok(t) = time::PrimitiveDateTime::parse(iso.trim(), &f) else {
        return iso.to_string();
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][usize::from(u8::from(t.month())) - 1];
    let (hour, half) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{month} {}, {}, {hour}:{:02}:{:02} {half}",
        t.day(),
        t.year(),
        t.minute(),
        t.second()
    )
}

fn value(e: &Element, member: &str) -> Value {
    if e.children.is_empty() {
        let text = e.text.trim();
        return match kind(member) {
            Kind::Bool => Value::Bool(text == "true"),
            Kind::Int => text
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(text.to_string())),
            Kind::Time => Value::String(java_time(text)),
            Kind::Text => Value::String(e.text.clone()),
        };
    }
    if e.children.iter().all(|c| c.name == "member") {
        return Value::Array(e.children.iter().map(|c| value(c, member)).collect());
    }
    let mut m = Map::new();
    for c in &e.children {
        let key = lower_first(&c.name);
        if SECRETS.contains(&key.as_str()) {
            continue;
        }
        let v = value(c, &key);
        m.insert(key, v);
    }
    Value::Object(m)
}

/// The `responseElements` of an awsQuery answer: its `<…Result>` as CloudTrail writes it, or
/// None for an answer with no result members (or not well formed).
pub fn from_query_xml(xml: &str) -> Option<Value> {
    let root = parse(xml)?;
    let result = root.children.iter().find(|c| c.name.ends_with("Result"))?;
    if result.children.is_empty() {
        return None;
    }
    Some(value(result, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_access_key_without_its_secret() {
        let xml = r#"<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <CreateAccessKeyResult>
    <AccessKey>
      <UserName>alice</UserName>
      <AccessKeyId>AKIAEXAMPLE000000001</AccessKeyId>
      <Status>Active</Status>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <CreateDate>2026-12-02T20:05:41Z</CreateDate>
    </AccessKey>
  </CreateAccessKeyResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</CreateAccessKeyResponse>"#;
        let v = from_query_xml(xml).unwrap();
        assert_eq!(
            v,
            json!({"accessKey": {"userName": "alice", "accessKeyId": "AKIAEXAMPLE000000001",
                   "status": "Active", "createDate": "Dec 2, 2026, 8:05:41 PM"}})
        );
        assert!(!v.to_string().contains("wJalr"));
    }

    #[test]
    fn lists_booleans_integers_and_entities() {
        let xml = r#"<R><PutResult><PackedPolicySize>8</PackedPolicySize><IsTruncated>false</IsTruncated>
            <Tags><member><Key>a&amp;b</Key><Value>&lt;x&gt;</Value></member></Tags></PutResult></R>"#;
        assert_eq!(
            from_query_xml(xml).unwrap(),
            json!({"packedPolicySize": 8, "isTruncated": false,
                   "tags": [{"key": "a&b", "value": "<x>"}]})
        );
    }

    #[test]
    fn empty_results_and_bad_xml_are_null() {
        assert_eq!(
            from_query_xml("<DeleteUserResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>"),
            None
        );
        assert_eq!(from_query_xml("<A><B></A>"), None);
    }

    #[test]
    fn times_in_java_form() {
        assert_eq!(
            java_time("2026-12-02T00:00:09Z"),
            "Dec 2, 2026, 12:00:09 AM"
        );
        assert_eq!(
            java_time("2026-01-31T12:30:00Z"),
            "Jan 31, 2026, 12:30:00 PM"
        );
        assert_eq!(java_time("not a time"), "not a time");
    }
}
