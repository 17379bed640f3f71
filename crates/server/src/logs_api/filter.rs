//! CloudWatch Logs filter patterns, the two forms a reader of JSON log lines uses:
//! - JSON: `{ $.modelId = "x" }`, `{ $.input.inputTokenCount > 10 }`, `{ $.a != "b*" }`,
//!   combined with `&&` and `||` and grouped with parentheses; strings may end or start with
//!   `*` (a wildcard); numbers compare with `=`, `!=`, `<`, `<=`, `>`, `>=`; `IS NULL`,
//!   `NOT EXISTS`, `IS TRUE`, `IS FALSE`.
//! - Terms: `ERROR`, `"exact phrase"`, several terms (all must appear), `-term` (must not),
//!   `?a ?b` (any of them). The empty pattern matches everything.
//!
//! A line that is not JSON never matches a JSON pattern (as CloudWatch Logs).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    All,
    Terms(Vec<Term>),
    Json(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Must(String),
    MustNot(String),
    Any(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp {
        path: Vec<Step>,
        op: Op,
        value: Operand,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Str(String),
    Num(f64),
    Null,
    NotExists,
    Bool(bool),
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Pattern::All);
        }
        if let Some(inner) = t.strip_prefix('{') {
            let inner = inner
                .strip_suffix('}')
                .ok_or("a JSON pattern must end with }")?;
            let tokens = lex(inner)?;
            let mut p = Parser { t: &tokens, i: 0 };
            let e = p.or()?;
            if p.i != tokens.len() {
                return Err(format!("unexpected {:?}", tokens[p.i]));
            }
            return Ok(Pattern::Json(e));
        }
        Ok(Pattern::Terms(terms(t)?))
    }

    pub fn matches(&self, line: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Terms(ts) => ts.iter().all(|t| match t {
                Term::Must(w) => line.contains(w.as_str()),
                Term::MustNot(w) => !line.contains(w.as_str()),
                Term::Any(ws) => ws.iter().any(|w| line.contains(w.as_str())),
            }),
            Pattern::Json(e) => serde_json::from_str::<Value>(line).is_ok_and(|v| eval(e, &v)),
        }
    }
}

fn terms(t: &str) -> Result<Vec<Term>, String> {
    let mut words = Vec::new();
    let mut chars = t.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut prefix = None;
        if c == '-' || c == '?' {
            prefix = Some(c);
            chars.next();
        }
        let mut w = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(ch) => w.push(ch),
                    None => return Err("unterminated quoted term".into()),
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                w.push(ch);
                chars.next();
            }
        }
        words.push((prefix, w));
    }
    let mut out = Vec::new();
    let any: Vec<String> = words
        .iter()
        .filter(|(p, _)| *p == Some('?'))
        .map(|(_, w)| w.clone())
        .collect();
    for (p, w) in words {
        match p {
            Some('-') => out.push(Term::MustNot(w)),
            Some('?') => {}
            _ => out.push(Term::Must(w)),
        }
    }
    if !any.is_empty() {
        out.push(Term::Any(any));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Path(Vec<Step>),
    Op(Op),
    And,
    Or,
    Open,
    Close,
    Str(String),
    Num(f64),
    Word(String),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            '&' if b.get(i + 1) == Some(&'&') => {
                out.push(Tok::And);
                i += 2
            }
            '|' if b.get(i + 1) == Some(&'|') => {
                out.push(Tok::Or);
                i += 2
            }
            '=' => {
                out.push(Tok::Op(Op::Eq));
                i += 1
            }
            '!' if b.get(i + 1) == Some(&'=') => {
                out.push(Tok::Op(Op::Ne));
                i += 2
            }
            '<' | '>' => {
                let eq = b.get(i + 1) == Some(&'=');
                out.push(Tok::Op(match (c, eq) {
                    ('<', true) => Op::Le,
                    ('<', false) => Op::Lt,
                    (_, true) => Op::Ge,
                    _ => Op::Gt,
                }));
                i += if eq { 2 } else { 1 };
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') if i + 1 < b.len() => {
                            v.push(b[i + 1]);
                            i += 2
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1
                        }
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Str(v));
            }
            '$' => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_alphanumeric() || "._-[]".contains(b[i])) {
                    i += 1;
                }
                let text: String = b[start..i].iter().collect();
                out.push(Tok::Path(path(&text)?));
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_whitespace() && !"()=!<>&|".contains(b[i]) {
                    i += 1;
                }
                let w: String = b[start..i].iter().collect();
                match w.parse::<f64>() {
                    Ok(n) => out.push(Tok::Num(n)),
                    Err(_) => out.push(Tok::Word(w)),
                }
            }
        }
    }
    Ok(out)
}

/// `$.a.b[0].c` into steps.
fn path(text: &str) -> Result<Vec<Step>, String> {
    let rest = text.strip_prefix('$').ok_or("a selector starts with $")?;
    let mut steps = Vec::new();
    for part in rest.split('.').skip(1) {
        let (key, mut idx) = match part.find('[') {
            Some(p) => (&part[..p], &part[p..]),
            None => (part, ""),
        };
        if key.is_empty() && idx.is_empty() {
            return Err(format!("empty step in {text}"));
        }
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        while let Some(r) = idx.strip_prefix('[') {
            let (n, tail) = r.split_once(']').ok_or("unclosed [")?;
            steps.push(Step::Index(
                n.parse().map_err(|_| format!("bad index {n}"))?,
            ));
            idx = tail;
        }
    }
    if !rest.is_empty() && !rest.starts_with('.') && !rest.starts_with('[') {
        return Err(format!("bad selector {text}"));
    }
    Ok(steps)
}

struct Parser<'t> {
    t: &'t [Tok],
    i: usize,
}

impl Parser<'_> {
    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.t.get(self.i) == Some(&Tok::Or) {
            self.i += 1;
            l = Expr::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.atom()?;
        while self.t.get(self.i) == Some(&Tok::And) {
            self.i += 1;
            l = Expr::And(Box::new(l), Box::new(self.atom()?));
        }
        Ok(l)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Open) => {
                self.i += 1;
                let e = self.or()?;
                if self.t.get(self.i) != Some(&Tok::Close) {
                    return Err("missing )".into());
                }
                self.i += 1;
                Ok(e)
            }
            Some(Tok::Path(p)) => {
                self.i += 1;
                let word = |t: Option<&Tok>, w: &str| matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w));
                if word(self.t.get(self.i), "IS") {
                    let value = match self.t.get(self.i + 1) {
                        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("NULL") => Operand::Null,
                        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("TRUE") => Operand::Bool(true),
                        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("FALSE") => {
                            Operand::Bool(false)
                        }
                        _ => return Err("IS takes NULL, TRUE or FALSE".into()),
                    };
                    self.i += 2;
                    return Ok(Expr::Cmp {
                        path: p,
                        op: Op::Eq,
                        value,
                    });
                }
                if word(self.t.get(self.i), "NOT") && word(self.t.get(self.i + 1), "EXISTS") {
                    self.i += 2;
                    return Ok(Expr::Cmp {
                        path: p,
                        op: Op::Eq,
                        value: Operand::NotExists,
                    });
                }
                let Some(Tok::Op(op)) = self.t.get(self.i).cloned() else {
                    return Err("a selector needs an operator".into());
                };
                self.i += 1;
                let value = match self.t.get(self.i).cloned() {
                    Some(Tok::Str(s)) => Operand::Str(s),
                    Some(Tok::Num(n)) => Operand::Num(n),
                    Some(Tok::Word(w)) => Operand::Str(w),
                    _ => return Err("a comparison needs a value".into()),
                };
                self.i += 1;
                if matches!(value, Operand::Str(_)) && !matches!(op, Op::Eq | Op::Ne) {
                    return Err("strings compare with = or != only".into());
                }
                Ok(Expr::Cmp { path: p, op, value })
            }
            other => Err(format!("expected a selector, found {other:?}")),
        }
    }
}

fn select<'v>(v: &'v Value, path: &[Step]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(*i),
    })
}

/// `*` at either end (or both) is a wildcard; elsewhere literal.
fn glob(want: &str, got: &str) -> bool {
    match (want.strip_prefix('*'), want.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') && !rest.is_empty() => {
            got.contains(&rest[..rest.len() - 1])
        }
        (Some(rest), _) => got.ends_with(rest),
        (None, Some(rest)) => got.starts_with(rest),
        (None, None) => got == want,
    }
}

fn eval(e: &Expr, v: &Value) -> bool {
    match e {
        Expr::And(a, b) => eval(a, v) && eval(b, v),
        Expr::Or(a, b) => eval(a, v) || eval(b, v),
        Expr::Cmp { path, op, value } => {
            let got = select(v, path);
            match value {
                Operand::NotExists => got.is_none(),
                Operand::Null => got.is_some_and(Value::is_null),
                Operand::Bool(b) => got.and_then(Value::as_bool) == Some(*b),
                Operand::Str(s) => {
                    let text = match got {
                        Some(Value::String(t)) => Some(t.clone()),
                        Some(Value::Number(n)) => Some(n.to_string()),
                        Some(Value::Bool(b)) => Some(b.to_string()),
                        _ => None,
                    };
                    match (op, text) {
                        (Op::Eq, Some(t)) => glob(s, &t),
                        (Op::Ne, Some(t)) => !glob(s, &t),
                        _ => false,
                    }
                }
                Operand::Num(n) => {
                    let Some(g) = got.and_then(Value::as_f64) else {
                        return false;
                    };
                    match op {
                        Op::Eq => g == *n,
                        Op::Ne => g != *n,
                        Op::Lt => g < *n,
                        Op::Le => g <= *n,
                        Op::Gt => g > *n,
                        Op::Ge => g >= *n,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"modelId":"amazon.nova-micro-v1:0","operation":"Converse","input":{"inputTokenCount":12},"identity":{"arn":"arn:aws:iam::000000000000:root"},"tags":["a","b"]}"#;

    fn m(p: &str) -> bool {
        Pattern::parse(p).unwrap().matches(LINE)
    }

    #[test]
    fn json_selectors() {
        assert!(m(r#"{ $.modelId = "amazon.nova-micro-v1:0" }"#));
        assert!(!m(r#"{ $.modelId = "amazon.nova-lite-v1:0" }"#));
        assert!(m(r#"{ $.modelId = "amazon.nova*" }"#));
        assert!(m(r#"{ $.modelId != "anthropic*" }"#));
        assert!(m(r#"{ $.input.inputTokenCount > 10 }"#));
        assert!(!m(r#"{ $.input.inputTokenCount >= 13 }"#));
        assert!(m(
            r#"{ ($.operation = "Converse" || $.operation = "InvokeModel") && $.tags[1] = "b" }"#
        ));
        assert!(m(r#"{ $.missing NOT EXISTS }"#));
        assert!(!m(r#"{ $.modelId = "x" && $.operation = "Converse" }"#));
        assert!(!Pattern::parse(r#"{ $.a = "x" }"#)
            .unwrap()
            .matches("not json"));
    }

    #[test]
    fn terms_and_errors() {
        assert!(m("Converse nova"));
        assert!(!m("Converse -nova"));
        assert!(m("?zzz ?Converse"));
        assert!(m(r#""inputTokenCount":12"#));
        assert!(m(""));
        assert!(Pattern::parse("{ $.a = ").is_err());
        assert!(Pattern::parse("{ $.a > \"x\" }").is_err());
        assert!(Pattern::parse("{ $.a = \"x\"").is_err());
    }
}
