//! A whole Converse request in-process, through every gate: SigV4 verify, key lookup, catalog
//! resolve, IAM, model access, quota, scripted backend, JSON response. No network: the axum router is called directly.

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::body::Body;
use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::atomic::Ordering::Relaxed;
use tower::ServiceExt;

#[path = "support/counting.rs"]
mod counting;
use counting::{ALLOCS, BYTES, COUNTING};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// CPU time this process's threads have run, in nanoseconds (`/proc/self/task/*/schedstat`):
/// the journal writer's included, and, unlike wall-clock time, not stretched when other work
/// on this shared machine takes the cores.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn signed_converse() -> http::Request<Body> {
    let body = br#"{"messages":[{"role":"user","content":[{"text":"Tell me about the gates of Bedrock"}]}],"inferenceConfig":{"maxTokens":64}}"#;
    let uri = "http://127.0.0.1:4950/model/amazon.nova-lite-v1%3A0/converse";
    let identity =
        aws_credential_types::Credentials::new("test", "test", None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [
        ("host", "127.0.0.1:4950"),
        ("content-type", "application/json"),
    ];
    let signable =
        SignableRequest::new("POST", uri, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("host", "127.0.0.1:4950")
        .header("content-type", "application/json")
        .body(Body::from(&body[..]))
        .unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req
}

fn bench(c: &mut Criterion) {
    let store = bg_store::SqliteStore::open(":memory:").unwrap();
    // Lift the throughput gate so the bench measures the path, not the quota (it still counts).
    let scenario = bg_server::scenario::Scenario::from_toml(
        "[[quota]]\nmodel = \"amazon.nova-lite-v1:0\"\nrpm = 1000000000000\ntpm = 1000000000000\n",
    )
    .unwrap();
    let app = bg_server::App::new(Box::new(store), Some(&scenario)).unwrap();
    let router = bg_server::router(app.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Sign once: the signature stays valid for the 5-minute window the bench runs in.
    let template = signed_converse();
    let (parts, _) = template.into_parts();
    let body = br#"{"messages":[{"role":"user","content":[{"text":"Tell me about the gates of Bedrock"}]}],"inferenceConfig":{"maxTokens":64}}"#;
    let call = || {
        let req = http::Request::from_parts(parts.clone(), Body::from(&body[..]));
        let resp = rt.block_on(router.clone().oneshot(req)).unwrap();
        assert_eq!(resp.status(), 200);
    };
    // Warm up (caches, the quota meter's entries), then count a batch of calls.
    for _ in 0..1000 {
        call();
    }
    let n = 10_000u64;
    app.trail.flush().unwrap();
    COUNTING.store(true, Relaxed);
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..n {
        call();
    }
    // What the journal writer does for these calls counts too.
    app.trail.flush().unwrap();
    let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    COUNTING.store(false, Relaxed);
    println!(
        "converse_in_process: {:.1} allocations, {:.0} bytes allocated per call (all threads, {n} calls)",
        (a1 - a0) as f64 / n as f64,
        (b1 - b0) as f64 / n as f64
    );
    // CPU time per call over a longer batch, uncounted (the counter's atomics cost time).
    let n = 50_000u64;
    let c0 = cpu_ns();
    for _ in 0..n {
        call();
    }
    app.trail.flush().unwrap();
    let c1 = cpu_ns();
    println!(
        "converse_in_process: {:.2} µs of CPU per call (all threads, {n} calls)",
        (c1 - c0) as f64 / n as f64 / 1000.0
    );
    c.bench_function("converse_in_process", |b| {
        b.iter(|| {
            let req = http::Request::from_parts(parts.clone(), Body::from(&body[..]));
            let resp = rt.block_on(router.clone().oneshot(req)).unwrap();
            assert_eq!(resp.status(), 200);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
