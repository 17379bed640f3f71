//! Verification cost of a realistic Bedrock Converse POST (path with `%3A`, 6 signed headers,
//! 200-byte body), with a warm signing-key cache and with a cold one.

use bg_sigv4::{canonical_request, parse, string_to_sign, ParsedAuth, Request, Verifier};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AMZ_DATE: &str = "20250130T204631Z";
const NOW: i64 = 1_738_269_991;

fn mac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn main_bench(c: &mut Criterion) {
    let body = {
        let head = br#"{"messages":[{"role":"user","content":[{"text":""#;
        let tail = br#""}]}]}"#;
        let mut b = head.to_vec();
        b.resize(200 - tail.len(), b'x');
        b.extend_from_slice(tail);
        b
    };
    assert_eq!(body.len(), 200);
    let len = body.len().to_string();
    let mut headers: Vec<(&str, &str)> = vec![
        ("host", "bedrock-runtime.us-east-1.amazonaws.com"),
        ("content-type", "application/json"),
        ("content-length", &len),
        (
            "amz-sdk-invocation-id",
            "0e9a2a6e-5b0f-4c0e-9a36-0c7f5d0f8e61",
        ),
        ("amz-sdk-request", "attempt=1; max=3"),
        ("x-amz-date", AMZ_DATE),
        ("user-agent", "aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0"),
        (
            "x-amz-user-agent",
            "aws-sdk-rust/1.3.9 api/bedrockruntime/1.0",
        ),
    ];
    let path = "/model/amazon.nova-lite-v1%3A0/converse";
    let mut auth = ParsedAuth {
        access_key: "AKIDEXAMPLE".into(),
        date: "20250130".into(),
        region: "us-east-1".into(),
        service: "bedrock".into(),
        terminator: "aws4_request".into(),
        signed_headers: [
            "amz-sdk-invocation-id",
            "amz-sdk-request",
            "content-length",
            "content-type",
            "host",
            "x-amz-date",
        ]
        .map(String::from)
        .to_vec(),
        signature: String::new(),
        amz_date: AMZ_DATE.into(),
        security_token: None,
        presigned: false,
        expires_secs: None,
    };
    let unsigned = Request {
        method: "POST",
        path,
        query: "",
        headers: &headers,
        body: &body,
    };
    let sts = string_to_sign(&canonical_request(&unsigned, &auth, true).unwrap(), &auth);
    let mut k = mac(format!("AWS4{SECRET}").as_bytes(), &auth.date);
    for part in [&auth.region, &auth.service, "aws4_request"] {
        k = mac(&k, part);
    }
    auth.signature = mac(&k, &sts).iter().map(|b| format!("{b:02x}")).collect();
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250130/us-east-1/bedrock/aws4_request, SignedHeaders={}, Signature={}",
        auth.signed_headers.join(";"),
        auth.signature
    );
    headers.push(("authorization", &authorization));
    let req = Request {
        method: "POST",
        path,
        query: "",
        headers: &headers,
        body: &body,
    };
    let region_ok = |r: &str| r == "us-east-1";

    let warm = Verifier::new();
    let parsed = parse(&req).unwrap();
    warm.verify(&req, &parsed, SECRET, "bedrock", &region_ok, NOW)
        .unwrap();

    let mut g = c.benchmark_group("converse");
    g.bench_function("parse", |b| b.iter(|| parse(black_box(&req)).unwrap()));
    g.bench_function("verify_warm_cache", |b| {
        b.iter(|| {
            warm.verify(black_box(&req), &parsed, SECRET, "bedrock", &region_ok, NOW)
                .unwrap()
        })
    });
    g.bench_function("parse_and_verify_warm_cache", |b| {
        b.iter(|| {
            let a = parse(black_box(&req)).unwrap();
            warm.verify(&req, &a, SECRET, "bedrock", &region_ok, NOW)
                .unwrap()
        })
    });
    g.bench_function("verify_cold_cache", |b| {
        b.iter_batched(
            Verifier::new,
            |cold| {
                cold.verify(black_box(&req), &parsed, SECRET, "bedrock", &region_ok, NOW)
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, main_bench);
criterion_main!(benches);
