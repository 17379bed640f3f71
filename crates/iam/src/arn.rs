//! ARN matching for the `Resource`/`NotResource` elements and the `Arn*` condition
//! operators.
//!
//! Both sides are split into at most six colon-separated segments
//! (`arn:partition:service:region:account:resource`); the resource segment keeps any
//! further colons. Segments are matched one by one with `*`/`?` wildcards. As AWS documents
//! it, "if the `*` wildcard is the last character of a resource ARN segment, it can expand
//! to match beyond the colon boundaries", so a segment ending in `*` may also swallow the
//! following request segments. A pattern that is `*` alone matches anything, including a
//! request resource of `*`.

use crate::glob::{Pattern, Tok};

/// Maximum number of ARN segments.
const SEGMENTS: usize = 6;

/// A compiled ARN pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArnPattern {
    /// `*`: matches every resource.
    Any,
    /// Segment-wise pattern.
    Segments(Vec<Pattern>),
}

impl ArnPattern {
    /// Compiles wildcard tokens into a segment pattern.
    pub(crate) fn from_toks(toks: Vec<Tok>) -> ArnPattern {
        if let [Tok::Star] = toks.as_slice() {
            return ArnPattern::Any;
        }
        let mut segs: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in toks {
            match t {
                Tok::Lit(l) if segs.len() < SEGMENTS && l.contains(':') => {
                    let mut rest = l.as_str();
                    while segs.len() < SEGMENTS {
                        match rest.find(':') {
                            Some(i) => {
                                if i > 0 {
                                    segs.last_mut()
                                        .expect("non-empty")
                                        .push(Tok::Lit(rest[..i].to_string()));
                                }
                                segs.push(Vec::new());
                                rest = &rest[i + 1..];
                            }
                            None => break,
                        }
                    }
                    if !rest.is_empty() {
                        segs.last_mut()
                            .expect("non-empty")
                            .push(Tok::Lit(rest.to_string()));
                    }
                }
                other => segs.last_mut().expect("non-empty").push(other),
            }
        }
        ArnPattern::Segments(segs.into_iter().map(Pattern::from_toks).collect())
    }

    /// Compiles a pattern string (`*` and `?` are wildcards).
    pub(crate) fn parse(s: &str) -> ArnPattern {
        ArnPattern::from_toks(crate::glob::tokenize(s))
    }

    /// Whether the request resource matches.
    pub(crate) fn matches(&self, r: &ReqArn<'_>) -> bool {
        match self {
            ArnPattern::Any => true,
            ArnPattern::Segments(p) => match_segs(p, r, 0),
        }
    }
}

/// A request resource split into ARN segments (no allocation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReqArn<'a> {
    s: &'a str,
    bounds: [(usize, usize); SEGMENTS],
    len: usize,
}

impl<'a> ReqArn<'a> {
    pub(crate) fn new(s: &'a str) -> ReqArn<'a> {
        let mut bounds = [(0usize, 0usize); SEGMENTS];
        let mut len = 0;
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            if b == b':' && len < SEGMENTS - 1 {
                bounds[len] = (start, i);
                len += 1;
                start = i + 1;
            }
        }
        bounds[len] = (start, s.len());
        len += 1;
        ReqArn { s, bounds, len }
    }

    fn seg(&self, i: usize) -> &'a str {
        let (a, b) = self.bounds[i];
        &self.s[a..b]
    }

    /// Segments `from..=to` joined with their colons.
    fn span(&self, from: usize, to: usize) -> &'a str {
        &self.s[self.bounds[from].0..self.bounds[to].1]
    }
}

fn match_segs(p: &[Pattern], r: &ReqArn<'_>, ri: usize) -> bool {
    if ri >= r.len {
        return false;
    }
    let (first, rest) = match p.split_first() {
        Some(x) => x,
        None => return false,
    };
    if rest.is_empty() {
        // Last pattern segment: must cover everything that is left.
        return first.matches(r.span(ri, r.len - 1));
    }
    if first.matches(r.seg(ri)) && match_segs(rest, r, ri + 1) {
        return true;
    }
    if first.ends_with_star() {
        // Let the trailing `*` run past one or more colons.
        for k in ri + 1..r.len {
            if first.matches(r.span(ri, k)) && match_segs(rest, r, k + 1) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, r: &str) -> bool {
        ArnPattern::parse(p).matches(&ReqArn::new(r))
    }

    #[test]
    fn exact_and_any() {
        assert!(m("*", "*"));
        assert!(m("*", "arn:aws:s3:::b"));
        assert!(m("arn:aws:s3:::b", "arn:aws:s3:::b"));
        assert!(!m("arn:aws:s3:::b", "arn:aws:s3:::c"));
        assert!(!m("arn:aws:s3:::b", "*"));
        assert!(!m("arn:aws:s3:::*", "*"));
    }

    #[test]
    fn resource_segment_keeps_colons() {
        assert!(m(
            "arn:aws:logs:us-east-1:123456789012:log-group:my-group:*",
            "arn:aws:logs:us-east-1:123456789012:log-group:my-group:log-stream:x"
        ));
        assert!(m(
            "arn:aws:bedrock:us-east-1::foundation-model/*",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        ));
    }

    #[test]
    fn per_segment_wildcards() {
        assert!(m(
            "arn:aws:ec2:us-*-1:*:instance/*",
            "arn:aws:ec2:us-east-1:123:instance/i-1"
        ));
        // a star in the middle of a segment does not cross a colon
        assert!(!m("arn:aws:s3:u*t:::x", "arn:aws:s3:u:t:::x"));
        assert!(m(
            "arn:aws:bedrock:*:123456789012:*",
            "arn:aws:bedrock:us-west-2:123456789012:inference-profile/x"
        ));
        assert!(!m(
            "arn:aws:bedrock:*:123456789012:*",
            "arn:aws:bedrock:us-west-2:999999999999:inference-profile/x"
        ));
        assert!(m("arn:aws:s3:::?", "arn:aws:s3:::b"));
        assert!(!m("arn:aws:s3:::?", "arn:aws:s3:::bb"));
    }

    #[test]
    fn trailing_star_crosses_colons() {
        assert!(m("arn:aws:s3:*", "arn:aws:s3:::bucket/key"));
        assert!(m("arn:aws:*", "arn:aws:s3:::bucket"));
        assert!(m("arn:*", "arn:aws:bedrock:us-east-1:1:model/x"));
        assert!(!m("arn:aws:s3", "arn:aws:s3:::b"));
        assert!(m("arn:aws:s3:us-*", "arn:aws:s3:us-east-1:123:x"));
    }

    #[test]
    fn non_arn_strings() {
        assert!(m("abc*", "abcdef"));
        assert!(!m("abc", "abcdef"));
    }
}
