//! Wildcard matching (`*` = any run of characters, `?` = exactly one character) and
//! policy-variable templates (`${key}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`).
//!
//! Patterns are compiled once, at parse time, into [`Pattern`]s with fast paths for the
//! common shapes (`*`, exact text, `prefix*`). Templates that contain policy variables are
//! kept as [`Template`]s and resolved against the request at evaluation time.

/// One token of a compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Literal text (never empty once normalised).
    Lit(String),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `*` alone: matches anything.
    Any,
    /// No wildcard at all.
    Exact(String),
    /// `text*`.
    Prefix(String),
    /// Anything else.
    General(Vec<Tok>),
}

impl Pattern {
    /// Compiles `s`, treating `*` and `?` as wildcards.
    pub(crate) fn wildcard(s: &str) -> Pattern {
        Pattern::from_toks(tokenize(s))
    }

    /// Builds the best representation for a token list.
    pub(crate) fn from_toks(toks: Vec<Tok>) -> Pattern {
        let toks = normalise(toks);
        match toks.as_slice() {
            [] => Pattern::Exact(String::new()),
            [Tok::Star] => Pattern::Any,
            [Tok::Lit(l)] => Pattern::Exact(l.clone()),
            [Tok::Lit(l), Tok::Star] => Pattern::Prefix(l.clone()),
            _ => Pattern::General(toks),
        }
    }

    /// Whether `s` matches the whole pattern (case-sensitive).
    pub(crate) fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(l) => l == s,
            Pattern::Prefix(p) => s.starts_with(p.as_str()),
            Pattern::General(toks) => glob_match(toks, s),
        }
    }

    /// The literal text every match must start with (empty when the pattern starts with a
    /// wildcard).
    pub(crate) fn literal_prefix(&self) -> &str {
        match self {
            Pattern::Any => "",
            Pattern::Exact(l) | Pattern::Prefix(l) => l,
            Pattern::General(toks) => match toks.first() {
                Some(Tok::Lit(l)) => l,
                _ => "",
            },
        }
    }

    /// Whether the pattern's last token is `*` (it may then run past an ARN colon).
    pub(crate) fn ends_with_star(&self) -> bool {
        match self {
            Pattern::Any | Pattern::Prefix(_) => true,
            Pattern::Exact(_) => false,
            Pattern::General(t) => matches!(t.last(), Some(Tok::Star)),
        }
    }
}

/// Splits `s` into tokens, `*` and `?` being wildcards.
pub(crate) fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut lit = String::new();
    for c in s.chars() {
        match c {
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                out.push(if c == '*' { Tok::Star } else { Tok::One });
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

/// Merges adjacent literals, drops empty ones and collapses runs of `*`.
fn normalise(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    for t in toks {
        match (out.last_mut(), t) {
            (_, Tok::Lit(l)) if l.is_empty() => {}
            (Some(Tok::Lit(prev)), Tok::Lit(l)) => prev.push_str(&l),
            (Some(Tok::Star), Tok::Star) => {}
            (_, t) => out.push(t),
        }
    }
    out
}

fn char_len(lead: u8) -> usize {
    if lead < 0x80 {
        1
    } else if lead >= 0xF0 {
        4
    } else if lead >= 0xE0 {
        3
    } else {
        2
    }
}

/// Classic linear-backtracking wildcard match: only the most recent `*` ever needs to be
/// retried, so the run time is O(len(s) * len(tokens)) in the worst case and linear in
/// practice. `?` consumes one Unicode scalar value.
pub(crate) fn glob_match(toks: &[Tok], s: &str) -> bool {
    let b = s.as_bytes();
    let (mut ti, mut si) = (0usize, 0usize);
    // (token index after the star, input position the star currently stops at)
    let mut back: Option<(usize, usize)> = None;
    loop {
        if ti < toks.len() {
            match &toks[ti] {
                Tok::Star => {
                    if ti + 1 == toks.len() {
                        return true;
                    }
                    back = Some((ti + 1, si));
                    ti += 1;
                    continue;
                }
                Tok::One => {
                    if si < b.len() {
                        si += char_len(b[si]);
                        ti += 1;
                        continue;
                    }
                }
                Tok::Lit(l) => {
                    if b[si..].starts_with(l.as_bytes()) {
                        si += l.len();
                        ti += 1;
                        continue;
                    }
                }
            }
        } else if si == b.len() {
            return true;
        }
        match back {
            Some((bti, bsi)) if bsi < b.len() => {
                let next = bsi + char_len(b[bsi]);
                back = Some((bti, next));
                ti = bti;
                si = next;
            }
            _ => return false,
        }
    }
}

/// One part of a policy-variable template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Lit(String),
    Star,
    One,
    /// `${key}` or `${key, 'default'}`; `key` is stored lower-cased (context keys are
    /// case-insensitive).
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A string that may contain policy variables (only parsed for policy version 2012-10-17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `s`. With `wildcards`, bare `*`/`?` become wildcard parts; with `vars`,
    /// `${...}` sequences are policy variables (the escapes `${*}`, `${?}` and `${$}` are
    /// literal `*`, `?` and `$`). Text that does not form a valid variable stays literal.
    pub(crate) fn parse(s: &str, wildcards: bool, vars: bool) -> Template {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if vars && rest.starts_with("${") {
                if let Some(end) = rest[2..].find('}') {
                    let inner = &rest[2..2 + end];
                    if let Some(p) = parse_var(inner) {
                        match p {
                            Part::Lit(l) => lit.push_str(&l),
                            other => {
                                if !lit.is_empty() {
                                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                                }
                                parts.push(other);
                            }
                        }
                        rest = &rest[2 + end + 1..];
                        continue;
                    }
                }
            }
            if wildcards && (c == '*' || c == '?') {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(if c == '*' { Part::Star } else { Part::One });
            } else {
                lit.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Template { parts }
    }

    /// Whether the template contains at least one variable.
    pub(crate) fn has_vars(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Var { .. }))
    }

    /// Resolves variables through `lookup` into wildcard tokens. Returns `None` when a
    /// variable's key is missing and it has no default (the value then matches nothing).
    pub(crate) fn resolve_toks<'a>(
        &self,
        lookup: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Option<Vec<Tok>> {
        let mut out = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push(Tok::Lit(l.clone())),
                Part::Star => out.push(Tok::Star),
                Part::One => out.push(Tok::One),
                Part::Var { key, default } => {
                    let v = lookup(key).or(default.as_deref())?;
                    out.push(Tok::Lit(v.to_string()));
                }
            }
        }
        Some(out)
    }

    /// Resolves variables into plain text (for templates parsed without wildcards).
    pub(crate) fn resolve_string<'a>(
        &self,
        lookup: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Star => out.push('*'),
                Part::One => out.push('?'),
                Part::Var { key, default } => out.push_str(lookup(key).or(default.as_deref())?),
            }
        }
        Some(out)
    }

    /// The tokens of a template without variables.
    pub(crate) fn static_toks(&self) -> Vec<Tok> {
        self.resolve_toks(&|_| None).unwrap_or_default()
    }

    /// The text of a template without variables (wildcards rendered back).
    #[cfg(test)]
    pub(crate) fn static_string(&self) -> String {
        self.resolve_string(&|_| None).unwrap_or_default()
    }
}

/// Parses the inside of `${...}`.
fn parse_var(inner: &str) -> Option<Part> {
    match inner {
        "*" => return Some(Part::Lit("*".into())),
        "?" => return Some(Part::Lit("?".into())),
        "$" => return Some(Part::Lit("$".into())),
        _ => {}
    }
    let (key, default) = match inner.find(',') {
        None => (inner.trim(), None),
        Some(i) => {
            let d = inner[i + 1..].trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (inner[..i].trim(), Some(d.to_string()))
        }
    };
    if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '$' || c == '{') {
        return None;
    }
    Some(Part::Var {
        key: key.to_lowercase(),
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::wildcard(p).matches(s)
    }

    #[test]
    fn wildcard_basics() {
        assert!(m("*", ""));
        assert!(m("*", "anything:at/all"));
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(m("ab*", "abcd"));
        assert!(m("*cd", "abcd"));
        assert!(m("a*d", "abcd"));
        assert!(!m("a*e", "abcd"));
        assert!(m("a?cd", "abcd"));
        assert!(!m("a?cd", "acd"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("**", "x"));
        assert!(m("?", "é"));
        assert!(!m("??", "é"));
        assert!(m("*?", "x"));
        assert!(!m("*?", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
    }

    #[test]
    fn fast_paths() {
        assert_eq!(Pattern::wildcard("*"), Pattern::Any);
        assert_eq!(Pattern::wildcard("***"), Pattern::Any);
        assert_eq!(Pattern::wildcard("abc"), Pattern::Exact("abc".into()));
        assert_eq!(Pattern::wildcard("ab*"), Pattern::Prefix("ab".into()));
        assert!(matches!(Pattern::wildcard("a?"), Pattern::General(_)));
        assert!(Pattern::wildcard("ab*").ends_with_star());
        assert!(!Pattern::wildcard("a*b").ends_with_star());
    }

    #[test]
    fn template_variables() {
        let t = Template::parse("home/${aws:username}/*", true, true);
        assert!(t.has_vars());
        let toks = t
            .resolve_toks(&|k| (k == "aws:username").then_some("bob"))
            .unwrap();
        assert!(Pattern::from_toks(toks.clone()).matches("home/bob/x"));
        assert!(!Pattern::from_toks(toks).matches("home/alice/x"));
        assert!(t.resolve_toks(&|_| None).is_none());
    }

    #[test]
    fn template_default_and_keys_case_insensitive() {
        let t = Template::parse("${aws:PrincipalTag/team, 'none'}", false, true);
        assert_eq!(t.resolve_string(&|_| None).unwrap(), "none");
        let t2 = Template::parse("${AWS:UserName}", false, true);
        assert_eq!(
            t2.resolve_string(&|k| (k == "aws:username").then_some("x"))
                .unwrap(),
            "x"
        );
        // default with spaces inside quotes
        let t3 = Template::parse("${k ,  'a b' }", false, true);
        assert_eq!(t3.resolve_string(&|_| None).unwrap(), "a b");
    }

    #[test]
    fn template_escapes_are_literal() {
        let t = Template::parse("a${*}b${?}c${$}d", true, true);
        assert!(!t.has_vars());
        let p = Pattern::from_toks(t.static_toks());
        assert!(p.matches("a*b?c$d"));
        assert!(!p.matches("aXb?c$d"));
        assert!(!p.matches("a*bXc$d"));
    }

    #[test]
    fn template_without_vars_keeps_text() {
        let t = Template::parse("a${aws:username}", true, false);
        assert!(!t.has_vars());
        assert_eq!(t.static_string(), "a${aws:username}");
        // malformed variables stay literal
        let t = Template::parse("x${unterminated", true, true);
        assert_eq!(t.static_string(), "x${unterminated");
        let t = Template::parse("x${k, nodefaultquotes}", true, true);
        assert!(!t.has_vars());
    }
}
