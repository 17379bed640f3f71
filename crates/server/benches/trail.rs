//! Issue 13's figures: Converse throughput with model invocation logging off and on (CloudTrail
//! events are always written), on a state file that already holds 100,000 events, and
//! LookupEvents paging through all of them. A plain timed loop (no criterion): it prints
//! requests per second and the ratio.
//!
//!     cargo bench -p bg-server --bench trail

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::body::Body;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
use tower::ServiceExt;

// Allocations are counted (every thread's) while a `BENCH_COUNT=1` run has COUNTING on: a
// figure the machine's load does not move. Off otherwise, so timed runs pay no shared counter.
#[path = "support/counting.rs"]
mod counting;
use counting::{ALLOCS, COUNTING};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"Tell me about the gates of Bedrock"}]}],"inferenceConfig":{"maxTokens":64}}"#;

fn signed(uri: &str, service: &str, body: &[u8], extra: &[(&str, &str)]) -> http::Request<Body> {
    let identity =
        aws_credential_types::Credentials::new("test", "test", None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut headers = vec![("host", "127.0.0.1:4950")];
    headers.extend_from_slice(extra);
    let signable = SignableRequest::new(
        "POST",
        uri,
        headers.iter().cloned(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut b = http::Request::builder().method("POST").uri(uri);
    for (k, v) in &headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(Body::from(body.to_vec())).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req
}

fn converse_req() -> http::Request<Body> {
    signed(
        "http://127.0.0.1:4950/model/amazon.nova-lite-v1%3A0/converse",
        "bedrock",
        BODY,
        &[("content-type", "application/json")],
    )
}

fn app(dir: &std::path::Path, events: usize) -> std::sync::Arc<bg_server::App> {
    let path = dir.join("state.db");
    let path = path.to_str().unwrap();
    let store = bg_store::SqliteStore::open(path).unwrap();
    let journal = bg_store::Journal::open(path).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let rows: Vec<bg_store::TrailRow> = (0..events)
        .map(|i| bg_store::TrailRow {
            event_id: format!("seed-{i}"),
            time_ms: now - 1_000_000 + i as i64,
            account: "000000000000".into(),
            region: "us-east-1".into(),
            event_name: "Converse".into(),
            event_source: "bedrock.amazonaws.com".into(),
            username: "root".into(),
            access_key_id: "test".into(),
            read_only: true,
            body: format!("{{\"eventID\":\"seed-{i}\"}}"),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(10_000) {
        journal.append(chunk, &[], false).unwrap();
    }
    let scenario = bg_server::scenario::Scenario::from_toml(
        "[[quota]]\nmodel = \"amazon.nova-lite-v1:0\"\nrpm = 1000000000000\ntpm = 1000000000000\n",
    )
    .unwrap();
    bg_server::App::with_journal(Box::new(store), journal, Some(&scenario)).unwrap()
}

/// CPU time so far, in seconds, from /proc (Linux; 0 elsewhere): of the whole process (every
/// thread: requests, runtime workers, the journal writer) and of the journal writer alone. On
/// a shared machine the CPU a call costs is steadier than the calls a second it lets through.
fn cpu_seconds() -> (f64, f64) {
    // utime and stime: the 14th and 15th fields, 12th and 13th after the command's ")".
    let ticks = |path: &str| -> f64 {
        let Ok(stat) = std::fs::read_to_string(path) else {
            return 0.0;
        };
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        t(11) + t(12)
    };
    // SAFETY: sysconf has no preconditions.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let hz = 100.0;
    let writer = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "bg-journal")
        })
        .map_or(0.0, |t| ticks(&t.path().join("stat").to_string_lossy()));
    (ticks("/proc/self/stat") / hz, writer / hz)
}

/// (calls a second, CPU microseconds a call, of which the journal writer's) of `n` Converse
/// calls, until all are committed.
fn throughput(
    rt: &tokio::runtime::Runtime,
    app: &bg_server::App,
    router: &axum::Router,
    n: usize,
) -> (f64, f64, f64) {
    let (parts, _) = converse_req().into_parts();
    let cpu = cpu_seconds();
    let start = Instant::now();
    for _ in 0..n {
        let req = http::Request::from_parts(parts.clone(), Body::from(BODY));
        let resp = rt.block_on(router.clone().oneshot(req)).unwrap();
        assert_eq!(resp.status(), 200);
        rt.block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
            .unwrap();
    }
    let answered = start.elapsed();
    // Sustained: until every event and record of these calls is committed.
    app.trail.flush().unwrap();
    let total = start.elapsed();
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        println!(
            "  {n} calls answered in {:.0} ms, committed {:.0} ms later",
            answered.as_secs_f64() * 1e3,
            (total - answered).as_secs_f64() * 1e3
        );
    }
    let now = cpu_seconds();
    (
        n as f64 / total.as_secs_f64(),
        (now.0 - cpu.0) * 1e6 / n as f64,
        (now.1 - cpu.1) * 1e6 / n as f64,
    )
}

/// Model invocation logging to CloudWatch Logs (text delivery on) for the bench's account, or
/// none.
fn set_logging(app: &bg_server::App, on: bool) {
    let change = if on {
        bg_gates::Change::Put(bg_gates::Entity::LoggingConfig(
            bg_gates::state::LoggingConfig {
                account: "000000000000".into(),
                region: "us-east-1".into(),
                config: r#"{"cloudWatchConfig":{"logGroupName":"/bench","roleArn":"arn:aws:iam::000000000000:role/x"},"textDataDeliveryEnabled":true}"#.into(),
            },
        ))
    } else {
        bg_gates::Change::Delete {
            kind: "logging-config",
            id: "000000000000/us-east-1".into(),
        }
    };
    app.write(&[change]).unwrap();
}

fn main() {
    let n: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let app = app(dir.path(), 100_000);
    println!("seeded 100000 events in {:.2}s", t.elapsed().as_secs_f64());
    let router = bg_server::router(app.clone());

    // `BENCH_COUNT=1`: allocations a call, logging off and on (until everything is committed).
    if std::env::var_os("BENCH_COUNT").is_some() {
        throughput(&rt, &app, &router, n / 10);
        for on in [false, true] {
            set_logging(&app, on);
            ALLOCS.store(0, Relaxed);
            COUNTING.store(true, Relaxed);
            throughput(&rt, &app, &router, n);
            COUNTING.store(false, Relaxed);
            let per = ALLOCS.load(Relaxed) as f64 / n as f64;
            println!(
                "logging {}: {per:.1} allocations a call (every thread)",
                if on { "on" } else { "off" }
            );
        }
        return;
    }

    // `BENCH_PROFILE=on` (or `off`): only Converse calls with logging in that state, for
    // `perf record` (no seeding figures, no lookups, no other mode in the profile).
    if let Ok(mode) = std::env::var("BENCH_PROFILE") {
        if mode == "on" {
            set_logging(&app, true);
        }
        let (rps, cpu, writer) = throughput(&rt, &app, &router, n);
        println!(
            "logging {mode}: {rps:.0} req/s, {cpu:.1} us CPU a call ({writer:.1} the writer's)"
        );
        return;
    }

    // LookupEvents through every page of 50.
    let t = Instant::now();
    let mut token: Option<String> = None;
    let mut seen = 0usize;
    let mut pages = 0usize;
    loop {
        let body = match &token {
            Some(t) => format!("{{\"NextToken\":\"{t}\",\"MaxResults\":50}}"),
            None => "{\"MaxResults\":50}".to_string(),
        };
        let req = signed(
            "http://127.0.0.1:4950/",
            "cloudtrail",
            body.as_bytes(),
            &[
                ("content-type", "application/x-amz-json-1.1"),
                (
                    "x-amz-target",
                    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
                ),
            ],
        );
        let resp = rt.block_on(router.clone().oneshot(req)).unwrap();
        assert_eq!(resp.status(), 200);
        let bytes = rt
            .block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        seen += v["Events"].as_array().unwrap().len();
        pages += 1;
        match v.get("NextToken").and_then(|t| t.as_str()) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let lookup_s = t.elapsed().as_secs_f64();
    println!(
        "lookup-events: {seen} events in {pages} pages, {lookup_s:.2}s ({:.2} ms/page)",
        lookup_s * 1000.0 / pages as f64
    );
    assert!(seen >= 100_000);

    // warm up, then logging off / on, alternating to spread machine noise
    throughput(&rt, &app, &router, n / 10);
    let mut off = Vec::new();
    let mut on = Vec::new();
    for round in 0..3 {
        set_logging(&app, false);
        off.push(throughput(&rt, &app, &router, n));
        set_logging(&app, true);
        on.push(throughput(&rt, &app, &router, n));
        println!(
            "round {round}: logging off {:.0} req/s ({:.1} us CPU a call, {:.1} the writer's), on {:.0} req/s ({:.1} us, {:.1} the writer's)",
            off[round].0, off[round].1, off[round].2, on[round].0, on[round].1, on[round].2
        );
    }
    app.trail.flush().unwrap();
    let median = |v: Vec<f64>| {
        let mut v = v;
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (off_cpu, on_cpu) = (
        median(off.iter().map(|r| r.1).collect()),
        median(on.iter().map(|r| r.1).collect()),
    );
    let (off, on) = (
        median(off.into_iter().map(|r| r.0).collect()),
        median(on.into_iter().map(|r| r.0).collect()),
    );
    println!(
        "converse (state with 100000+ events, CloudTrail on): logging off {off:.0} req/s, logging on {on:.0} req/s, on/off = {:.3}",
        on / off
    );
    println!(
        "CPU a call (all threads): logging off {off_cpu:.1} us, on {on_cpu:.1} us, off/on = {:.3} (the throughput ratio a CPU-bound serve would see)",
        off_cpu / on_cpu
    );
    println!(
        "stored events now: {}",
        app.trail.journal.count_events().unwrap()
    );
}
