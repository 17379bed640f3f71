//! Hostile `Authorization` headers (issue 10): refusal texts quote a bounded, redacted prefix of
//! what was sent, and two `Authorization` headers are refused.

use bg_sigv4::{parse, quote, redact_secrets, Request, SigError, QUOTE_MAX, REDACTED};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn parse_headers(headers: &[(&str, &str)]) -> Result<bg_sigv4::ParsedAuth, SigError> {
    parse(&Request {
        method: "POST",
        path: "/",
        query: "",
        headers,
        body: b"",
    })
}

fn message(headers: &[(&str, &str)]) -> String {
    parse_headers(headers).unwrap_err().to_string()
}

#[test]
fn a_secret_in_the_key_id_slot_is_not_echoed() {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={SECRET}/20250130/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=abc"
    );
    let m = message(&[("authorization", &auth), ("x-amz-date", "20250130T204631Z")]);
    assert_eq!(m, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '<redacted>/20250130/us-east-1/bedrock/aws4_request'");
    // without a slash in it, the secret is a 40-character mixed-case key ID: redacted too
    let plain = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12";
    let auth = format!("AWS4-HMAC-SHA256 Credential={plain}/2025, Signature=x");
    let m = message(&[("authorization", &auth), ("x-amz-date", "20250130T204631Z")]);
    assert!(!m.contains(plain), "{m}");
    assert!(m.contains(REDACTED), "{m}");
    // a real key ID and a signature keep their text
    let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250130/us-east-1/bedrock, SignedHeaders=host, Signature=abc";
    let m = message(&[("authorization", auth), ("x-amz-date", "20250130T204631Z")]);
    assert!(
        m.ends_with("got 'AKIDEXAMPLE/20250130/us-east-1/bedrock'"),
        "{m}"
    );
}

#[test]
fn a_huge_header_is_quoted_only_in_part() {
    let junk = "A".repeat(300_000);
    let auth = format!("AWS4-HMAC-SHA256 {junk}");
    let m = message(&[("authorization", &auth), ("x-amz-date", "20250130T204631Z")]);
    assert!(m.len() < 3 * QUOTE_MAX, "{} bytes", m.len());
    assert!(m.contains('…'));
    let m = message(&[("authorization", &format!("{junk} x"))]);
    assert!(m.len() < 2 * QUOTE_MAX, "{} bytes", m.len());
    // the missing-parameters form quotes the header after its sentences
    let auth = format!("AWS4-HMAC-SHA256 Credential={SECRET}/x, Junk={junk}");
    let m = message(&[("authorization", &auth), ("x-amz-date", "20250130T204631Z")]);
    assert!(m.len() < 2 * QUOTE_MAX + 200, "{} bytes", m.len());
    assert!(!m.contains("bPxRfiCY"), "{m}");
}

#[test]
fn two_authorization_headers_are_refused() {
    let a = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250130/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=abc";
    let e = parse_headers(&[
        ("authorization", a),
        ("Authorization", a),
        ("x-amz-date", "20250130T204631Z"),
    ])
    .unwrap_err();
    assert_eq!(
        e,
        SigError::Incomplete(
            "Found 2 'Authorization' HTTP headers; a request carries exactly one.".into()
        )
    );
}

#[test]
fn quote_and_redact() {
    assert_eq!(quote("short"), "short");
    assert_eq!(
        redact_secrets(&format!("key {SECRET}, sig {}", "0a".repeat(32))),
        format!("key {REDACTED}, sig {}", "0a".repeat(32))
    );
    let long = "é".repeat(QUOTE_MAX);
    let q = quote(&long);
    assert!(q.len() <= QUOTE_MAX + '…'.len_utf8() && q.ends_with('…'));
}
