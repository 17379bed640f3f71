//! Interoperability with a real SDK signer: requests signed by the `aws-sigv4` crate (what the
//! AWS SDK for Rust uses) — random paths, queries, headers and bodies, header and presigned
//! forms, with and without session tokens — verify.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use bg_sigv4::{parse, Request, SigError, Verifier};
use proptest::prelude::*;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const HOST: &str = "localhost:4000";
/// 2025-01-30T20:46:31Z
const NOW: u64 = 1_738_269_991;

struct Wire {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn sdk_sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    token: Option<&str>,
    presign: bool,
    unsigned_payload: bool,
) -> Wire {
    let identity = Credentials::new(AK, SECRET, token.map(str::to_string), None, "test").into();
    let mut settings = SigningSettings::default();
    if presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(900));
    }
    if unsigned_payload {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = if query.is_empty() {
        format!("http://{HOST}{path}")
    } else {
        format!("http://{HOST}{path}?{query}")
    };
    let mut all_headers: Vec<(String, String)> = vec![("host".into(), HOST.into())];
    all_headers.extend(headers.iter().cloned());
    let body_kind = if unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(body)
    };
    let signable = SignableRequest::new(
        method,
        Cow::Owned(uri),
        all_headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        body_kind,
    )
    .unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
    let mut query = query.to_string();
    for (n, v) in instructions.params() {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("{}={}", enc(n), enc(v)));
    }
    for (n, v) in instructions.headers() {
        all_headers.push((n.to_string(), v.to_string()));
    }
    Wire {
        method: method.into(),
        path: path.into(),
        query,
        headers: all_headers,
        body: body.to_vec(),
    }
}

fn verify(w: &Wire, now: u64) -> Result<bg_sigv4::ParsedAuth, SigError> {
    let headers: Vec<(&str, &str)> = w
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = Request {
        method: &w.method,
        path: &w.path,
        query: &w.query,
        headers: &headers,
        body: &w.body,
    };
    let auth = parse(&req)?;
    Verifier::new().verify(
        &req,
        &auth,
        SECRET,
        "bedrock",
        &|r| r == "us-east-1",
        now as i64,
    )?;
    Ok(auth)
}

#[test]
fn sdk_signed_converse() {
    let body = br#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":64}}"#;
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("content-length".to_string(), body.len().to_string()),
        (
            "x-amz-user-agent".to_string(),
            "aws-sdk-rust/1.3.9 api/bedrockruntime/1.0".to_string(),
        ),
        (
            "amz-sdk-request".to_string(),
            "attempt=1; max=3".to_string(),
        ),
    ];
    for presign in [false, true] {
        for token in [None, Some("FwoGZXIvYXdzEBYaDH+/token==")] {
            let w = sdk_sign(
                "POST",
                "/model/amazon.nova-lite-v1%3A0/converse",
                "",
                &headers,
                body,
                token,
                presign,
                false,
            );
            let auth = verify(&w, NOW)
                .unwrap_or_else(|e| panic!("presign={presign} token={token:?}: {e}"));
            assert_eq!(auth.security_token.as_deref(), token);
            assert_eq!(auth.presigned, presign);
            let mut tampered = w;
            tampered.body[5] ^= 1;
            assert_eq!(verify(&tampered, NOW).unwrap_err(), SigError::Mismatch);
        }
    }
}

#[test]
fn sdk_signed_unsigned_payload() {
    let w = sdk_sign("PUT", "/a/b", "x=1", &[], b"streamed", None, false, true);
    assert!(w
        .headers
        .iter()
        .any(|(n, v)| n == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD"));
    verify(&w, NOW).unwrap();
}

/// A raw path segment as an SDK would put it on the wire (already percent-encoded once).
fn segment() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[A-Za-z0-9._~-]{1,3}",
            Just("%3A".to_string()),
            Just("%2F".to_string()),
            Just("%20".to_string()),
            Just("%E1%88%B4".to_string()),
            Just("%25".to_string()),
            Just(":".to_string()),
            Just("@".to_string()),
            Just("!$'()*+,;=".to_string()),
        ],
        1..4,
    )
    .prop_map(|v| v.concat())
}

fn query_part() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[A-Za-z0-9._~-]{1,3}",
            Just("%20".to_string()),
            Just("%2B".to_string()),
            Just("%26".to_string()),
            Just("%3D".to_string()),
            Just("%E1%88%B4".to_string()),
            Just("%2F".to_string()),
        ],
        0..3,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sdk_signed_requests_verify(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")],
        segs in proptest::collection::vec(segment(), 0..4),
        trailing in any::<bool>(),
        pairs in proptest::collection::vec((query_part(), query_part()), 0..4),
        extra in proptest::collection::vec(("x-[a-z]{1,6}", "[ -~]{0,12}"), 0..3),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        presign in any::<bool>(),
        token in proptest::option::of("[A-Za-z0-9+/=]{8,24}"),
        age in 0u64..=300,
    ) {
        let mut path = format!("/{}", segs.join("/"));
        if trailing && !segs.is_empty() {
            path.push('/');
        }
        let query = pairs
            .iter()
            .filter(|(n, _)| !n.is_empty())
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        // The SDK trims/collapses header values when it signs, exactly like the verifier.
        let mut names = std::collections::HashSet::new();
        let extra: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(n, _)| names.insert(n.clone()))
            .collect();
        let w = sdk_sign(method, &path, &query, &extra, &body, token.as_deref(), presign, false);
        let res = verify(&w, NOW + age);
        prop_assert!(res.is_ok(), "{:?} path={} query={} err={:?}", method, w.path, w.query, res.err());
    }
}
