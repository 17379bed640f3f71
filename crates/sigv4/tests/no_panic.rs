//! parse() (and, when it succeeds, canonical_request() and verify()) never panic, whatever the
//! Authorization header, query string, path or date header holds.

use bg_sigv4::{canonical_request, parse, Request, Verifier};
use proptest::prelude::*;

/// Strings made of the characters that matter to the parsers, plus arbitrary Unicode.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just("AWS4-HMAC-SHA256".to_string()),
                Just("Credential=".to_string()),
                Just("SignedHeaders=".to_string()),
                Just("Signature=".to_string()),
                Just("X-Amz-".to_string()),
                Just("Algorithm".to_string()),
                Just("Date".to_string()),
                Just("Expires".to_string()),
                Just("20250130T204631Z".to_string()),
                Just("aws4_request".to_string()),
                "[ ,;=/&%+?.a-zA-Z0-9\t\u{e9}\u{1234}-]{0,4}",
                Just("%".to_string()),
                Just("%E1%88".to_string()),
            ],
            0..24
        )
        .prop_map(|v| v.concat()),
    ]
}

fn check(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) {
    let req = Request {
        method,
        path,
        query,
        headers,
        body,
    };
    if let Ok(auth) = parse(&req) {
        let _ = canonical_request(&req, &auth, true);
        let _ = canonical_request(&req, &auth, false);
        let v = Verifier::new();
        for now in [0, 1_738_269_991, i64::MIN, i64::MAX] {
            let _ = v.verify(&req, &auth, "s", &auth.service.clone(), &|_| true, now);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_authorization_header(auth in tricky(), date in tricky(), path in tricky()) {
        check("GET", &path, "", &[("Authorization", &auth), ("X-Amz-Date", &date), ("host", "h")], b"");
        check("GET", &path, "", &[("Authorization", &auth), ("Date", &date)], b"x");
    }

    #[test]
    fn arbitrary_query(query in tricky(), path in tricky()) {
        check("GET", &path, &query, &[("host", "h")], b"");
        let q = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&{query}");
        check("PUT", &path, &q, &[("host", "h"), ("x-amz-content-sha256", &query)], b"body");
    }

    #[test]
    fn arbitrary_presigned_parameters(
        cred in tricky(), date in tricky(), expires in tricky(), signed in tricky(), sig in tricky(),
    ) {
        let q = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={cred}&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders={signed}&X-Amz-Signature={sig}"
        );
        check("GET", "/", &q, &[("host", "h")], b"");
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20250130%2Fr%2Fs%2Faws4_request&X-Amz-Date=20250130T204631Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00&X-Amz-Expires=".to_string() + &expires;
        check("GET", "/", &q, &[("host", "h")], b"");
    }

    #[test]
    fn well_formed_header_with_arbitrary_parts(
        ak in tricky(), region in tricky(), service in tricky(), term in tricky(),
        signed in tricky(), sig in tricky(), date in tricky(),
    ) {
        let h = format!(
            "AWS4-HMAC-SHA256 Credential={ak}/20250130/{region}/{service}/{term}, SignedHeaders={signed}, Signature={sig}"
        );
        check("POST", "/model/x%3A0/converse", "a=b", &[("Authorization", &h), ("x-amz-date", &date), ("Host", "h")], b"{}");
        check("POST", "/", "", &[("Authorization", &h), ("x-amz-date", "20250130T204631Z"), ("Host", "h")], b"{}");
    }
}
