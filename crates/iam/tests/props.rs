//! Property tests: the parser never panics, and wildcard matching agrees with a simple
//! reference implementation.

use bg_iam::*;
use proptest::prelude::*;

/// Reference wildcard matcher: plain recursion over characters with memoisation
/// (no regex, no backtracking tricks).
fn reference_match(pattern: &[char], text: &[char]) -> bool {
    fn go(p: &[char], t: &[char], i: usize, j: usize, memo: &mut Vec<Vec<Option<bool>>>) -> bool {
        if let Some(v) = memo[i][j] {
            return v;
        }
        let v = if i == p.len() {
            j == t.len()
        } else {
            match p[i] {
                '*' => go(p, t, i + 1, j, memo) || (j < t.len() && go(p, t, i, j + 1, memo)),
                '?' => j < t.len() && go(p, t, i + 1, j + 1, memo),
                c => j < t.len() && t[j] == c && go(p, t, i + 1, j + 1, memo),
            }
        };
        memo[i][j] = Some(v);
        v
    }
    let mut memo = vec![vec![None; text.len() + 1]; pattern.len() + 1];
    go(pattern, text, 0, 0, &mut memo)
}

/// Policy-flavoured JSON values.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i32>().prop_map(|n| serde_json::json!(n)),
        prop_oneof![
            Just("*".to_string()),
            Just("2012-10-17".to_string()),
            Just("2008-10-17".to_string()),
            Just("Allow".to_string()),
            Just("Deny".to_string()),
            Just("s3:GetObject".to_string()),
            Just("arn:aws:s3:::b/${aws:username}/*".to_string()),
            Just("${aws:PrincipalTag/x, 'd'}".to_string()),
            Just("123456789012".to_string()),
            Just("10.0.0.0/8".to_string()),
            Just("2020-01-01T00:00:00Z".to_string()),
            "[a-zA-Z0-9:*?${}/.,' -]{0,12}",
        ]
        .prop_map(serde_json::Value::String),
    ];
    let key = prop_oneof![
        Just("Version".to_string()),
        Just("Statement".to_string()),
        Just("Sid".to_string()),
        Just("Effect".to_string()),
        Just("Action".to_string()),
        Just("NotAction".to_string()),
        Just("Resource".to_string()),
        Just("NotResource".to_string()),
        Just("Principal".to_string()),
        Just("NotPrincipal".to_string()),
        Just("AWS".to_string()),
        Just("Service".to_string()),
        Just("Condition".to_string()),
        Just("StringLike".to_string()),
        Just("ForAllValues:StringEqualsIfExists".to_string()),
        Just("IpAddress".to_string()),
        Just("DateLessThan".to_string()),
        Just("Null".to_string()),
        Just("aws:SourceIp".to_string()),
        Just("aws:TagKeys".to_string()),
        "[a-zA-Z:]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

const KINDS: [PolicyKind; 6] = [
    PolicyKind::Identity,
    PolicyKind::Resource,
    PolicyKind::Scp,
    PolicyKind::Rcp,
    PolicyKind::Boundary,
    PolicyKind::Session,
];

fn sample_request(principal: &str, action: &str, resource: &str) -> Request {
    let mut r = Request::new(Principal::from_arn(principal), action, resource);
    r.context
        .set("aws:SourceIp", "10.1.2.3")
        .set("aws:CurrentTime", "2021-01-01T00:00:00Z")
        .set_multi("aws:TagKeys", ["a", "b"]);
    r
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in "[\\[\\]{}\":,a-zA-Z0-9*?$ \\\\/.-]{0,80}") {
        for kind in KINDS {
            let _ = Policy::parse(&s, kind);
        }
    }

    #[test]
    fn parse_and_evaluate_never_panic_on_policy_like_json(v in json_value()) {
        let text = v.to_string();
        for kind in KINDS {
            if let Ok(p) = Policy::parse(&text, kind) {
                let np = [NamedPolicy::new("p", p)];
                let req = sample_request("arn:aws:sts::123456789012:assumed-role/r/s", "s3:GetObject", "arn:aws:s3:::b/k");
                let policies = match kind {
                    PolicyKind::Resource => Policies { resource: Some(&np[0]), ..Default::default() },
                    _ => Policies { identity: &np, ..Default::default() },
                };
                let ev = evaluate(&req, &policies);
                let _ = denial_message(&req.principal.arn, &req.action, Some(&req.resource), &ev);
            }
        }
    }

    #[test]
    fn wrapped_statements_never_panic(stmt in json_value()) {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [stmt]}).to_string();
        for kind in KINDS {
            if let Ok(p) = Policy::parse(&doc, kind) {
                let np = [NamedPolicy::new("p", p)];
                let req = sample_request("arn:aws:iam::123456789012:user/u", "s3:GetObject", "arn:aws:s3:::b/k");
                let _ = evaluate(&req, &Policies { identity: &np, ..Default::default() });
            }
        }
    }

    #[test]
    fn wildcard_agrees_with_reference(p in "[ab*?é:]{0,10}", t in "[abé:]{0,12}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(wildcard_match(&p, &t), reference_match(&pc, &tc), "pattern {:?} text {:?}", p, t);
    }

    #[test]
    fn wildcard_matches_itself_and_star(t in "[a-z:/]{0,16}") {
        prop_assert!(wildcard_match(&t, &t));
        prop_assert!(wildcard_match("*", &t));
        prop_assert!(arn_match("*", &t));
        prop_assert!(arn_match(&t, &t));
    }

    #[test]
    fn resource_part_wildcards_agree_with_reference(p in "[ab*?:/]{0,10}", t in "[ab:/]{0,12}") {
        // Within the resource segment (after five colons) ARN matching is plain wildcard
        // matching, colons included.
        let pattern = format!("arn:aws:svc:r:1:{p}");
        let text = format!("arn:aws:svc:r:1:{t}");
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(arn_match(&pattern, &text), reference_match(&pc, &tc));
    }
}
