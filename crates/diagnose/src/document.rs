//! Policy documents as this crate writes them: statements in a fixed element order (`Sid`,
//! `Effect`, `Action`, `Resource`/`NotResource`, `Condition`), printed pretty or compact.
//! Every document is parsed by the IAM engine before anyone sees it.

use bg_iam::{Policy, PolicyError, PolicyKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One condition entry: `"{operator}": {"{key}": values}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

impl Condition {
    pub fn new(operator: &str, key: &str, values: Vec<String>) -> Condition {
        Condition {
            operator: operator.to_string(),
            key: key.to_string(),
            values,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `NotResource` instead of `Resource`.
    pub not_resource: bool,
    pub conditions: Vec<Condition>,
}

impl Statement {
    pub fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
        Statement {
            sid: sid.to_string(),
            effect: Effect::Allow,
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: dedup(resources),
            not_resource: false,
            conditions: Vec::new(),
        }
    }

    pub fn with(mut self, c: Condition) -> Statement {
        self.conditions.push(c);
        self
    }
}

/// Keep the first occurrence of each item, in order.
pub fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.into_iter().filter(|x| seen.insert(x.clone())).collect()
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

/// A tiny ordered JSON tree (serde_json's map sorts keys in this workspace).
enum J {
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn one_or_many(v: &[String]) -> J {
    if v.len() == 1 {
        J::Str(v[0].clone())
    } else {
        J::Arr(v.iter().cloned().map(J::Str).collect())
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

impl J {
    fn write(&self, out: &mut String, pretty: bool, depth: usize) {
        let nl = |out: &mut String, d: usize| {
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(d));
            }
        };
        match self {
            J::Str(s) => out.push_str(&quote(s)),
            J::Arr(items) => {
                out.push('[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    nl(out, depth + 1);
                    it.write(out, pretty, depth + 1);
                }
                if !items.is_empty() {
                    nl(out, depth);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    nl(out, depth + 1);
                    out.push_str(&quote(k));
                    out.push(':');
                    if pretty {
                        out.push(' ');
                    }
                    v.write(out, pretty, depth + 1);
                }
                if !members.is_empty() {
                    nl(out, depth);
                }
                out.push('}');
            }
        }
    }
}

impl PolicyDocument {
    fn tree(&self) -> J {
        let statements = self
            .statements
            .iter()
            .map(|s| {
                let mut m = vec![
                    ("Sid".to_string(), J::Str(s.sid.clone())),
                    (
                        "Effect".to_string(),
                        J::Str(
                            match s.effect {
                                Effect::Allow => "Allow",
                                Effect::Deny => "Deny",
                            }
                            .to_string(),
                        ),
                    ),
                    ("Action".to_string(), one_or_many(&s.actions)),
                    (
                        if s.not_resource {
                            "NotResource"
                        } else {
                            "Resource"
                        }
                        .to_string(),
                        one_or_many(&s.resources),
                    ),
                ];
                if !s.conditions.is_empty() {
                    let mut ops: Vec<(String, J)> = Vec::new();
                    for c in &s.conditions {
                        let entry = (c.key.clone(), one_or_many(&c.values));
                        match ops.iter_mut().find(|(o, _)| *o == c.operator) {
                            Some((_, J::Obj(keys))) => keys.push(entry),
                            _ => ops.push((c.operator.clone(), J::Obj(vec![entry]))),
                        }
                    }
                    m.push(("Condition".to_string(), J::Obj(ops)));
                }
                J::Obj(m)
            })
            .collect();
        J::Obj(vec![
            ("Version".to_string(), J::Str("2012-10-17".to_string())),
            ("Statement".to_string(), J::Arr(statements)),
        ])
    }

    /// Two-space indented JSON.
    pub fn to_pretty(&self) -> String {
        let mut s = String::new();
        self.tree().write(&mut s, true, 0);
        s
    }

    /// One line, no spaces: what goes into `--policy-document '…'`.
    pub fn to_compact(&self) -> String {
        let mut s = String::new();
        self.tree().write(&mut s, false, 0);
        s
    }

    /// Parse the document with the IAM engine as `kind`.
    pub fn validate(&self, kind: PolicyKind) -> Result<Policy, PolicyError> {
        Policy::parse(&self.to_compact(), kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_in_element_order_and_parses() {
        let doc = PolicyDocument {
            statements: vec![Statement::allow(
                "A",
                &["bedrock:InvokeModel"],
                vec!["arn:aws:bedrock:::foundation-model/m".into()],
            )
            .with(Condition::new(
                "StringEquals",
                "aws:RequestedRegion",
                vec!["unspecified".into()],
            ))],
        };
        assert_eq!(
            doc.to_compact(),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:::foundation-model/m","Condition":{"StringEquals":{"aws:RequestedRegion":"unspecified"}}}]}"#
        );
        assert!(doc
            .to_pretty()
            .contains("\n  \"Statement\": [\n    {\n      \"Sid\": \"A\","));
        doc.validate(PolicyKind::Identity).unwrap();
    }
}
