//! The credentials gate's cost per kind of credential, in process: a long-term API key (a map
//! lookup and a constant-time compare), a short-term API key (decode, parse the presigned URL,
//! verify its SigV4 with a cached signing key), and for scale the same short-term key's SigV4
//! verification alone.
//!
//!     cargo bench -p bg-gates --bench api_key

use bg_gates::api_key::{authenticate_bearer, describe, long_term_key};
use bg_gates::state::{AccessKey, Change, Entity, Principal, ServiceCredential, State};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

/// Made once by aws-bedrock-token-generator (Python) for AKIABENCH00000000001 / bench-secret in
/// us-east-1; verified at its signing time, so it never expires here.
const SHORT_TERM: &str = "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbiZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFLSUFCRU5DSDAwMDAwMDAwMDAxJTJGMjAyNjEyMDIlMkZ1cy1lYXN0LTElMkZiZWRyb2NrJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjEyMDJUMTY1NDMxWiZYLUFtei1FeHBpcmVzPTQzMjAwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCZYLUFtei1TaWduYXR1cmU9ZjFiMGYwMzA2ZWU0YzYwYTcwYzE3ZGZhZDFlZDMzYTY3NTEzYzA0MjA3N2FhNWFiNTUyMGM2OTM0MmFmNTUyMyZWZXJzaW9uPTE=";

fn state() -> State {
    let s = State::default();
    let s = s.with_changes(&s.bootstrap_changes());
    let dev = Principal::user("111111111111", "dev", "/");
    s.with_changes(&[
        Change::Put(Entity::Principal(dev.clone())),
        Change::Put(Entity::AccessKey(AccessKey {
            access_key_id: "AKIABENCH00000000001".into(),
            secret_access_key: "bench-secret".into(),
            principal_arn: dev.arn.clone(),
            account: "111111111111".into(),
            session_token: None,
            expires_unix: None,
            active: true,
            session: None,
            created_unix: 0,
        })),
        Change::Put(Entity::ServiceCredential(ServiceCredential {
            id: "ACCABENCH000000000001".into(),
            account: "111111111111".into(),
            user_arn: dev.arn.clone(),
            user_name: "dev".into(),
            service_name: "bedrock.amazonaws.com".into(),
            alias: "dev-at-111111111111".into(),
            secret: "bench-long-term-secret".into(),
            created_unix: 0,
            expires_unix: None,
            active: true,
        })),
    ])
}

fn bench(c: &mut Criterion) {
    let s = state();
    let long = long_term_key("dev-at-111111111111", "bench-long-term-secret");
    let at = describe(SHORT_TERM).unwrap().expires_unix.unwrap() - 43_200 + 1;
    assert!(authenticate_bearer(&s, &long, "us-east-1", at).is_ok());
    assert!(authenticate_bearer(&s, SHORT_TERM, "us-east-1", at).is_ok());
    c.bench_function("long-term API key", |b| {
        b.iter(|| authenticate_bearer(black_box(&s), black_box(&long), "us-east-1", at))
    });
    c.bench_function("short-term API key", |b| {
        b.iter(|| authenticate_bearer(black_box(&s), black_box(SHORT_TERM), "us-east-1", at))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
