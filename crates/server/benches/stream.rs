//! ConverseStream over real loopback TCP: time to first event frame and event frames per
//! second, with the server in the same process (its own tokio runtime) and a hyper client.

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"
[[quota]]
model = "amazon.nova-lite-v1:0"
rpm = 1000000000000
tpm = 1000000000000

[[answer]]
model = "amazon.nova-lite-v1:0"
text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four twenty-five twenty-six twenty-seven twenty-eight twenty-nine thirty thirty-one thirty-two thirty-three thirty-four thirty-five thirty-six thirty-seven thirty-eight thirty-nine forty"
"#;
const BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"count to forty"}]}]}"#;

fn signed(authority: &str) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let uri = format!("http://{authority}/model/amazon.nova-lite-v1%3A0/converse-stream");
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
    let headers = [("host", authority), ("content-type", "application/json")];
    let signable =
        SignableRequest::new("POST", &uri, headers.into_iter(), SignableBody::Bytes(BODY)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("host", authority)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(BODY)))
        .unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req
}

fn bench(c: &mut Criterion) {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let scenario = bg_server::scenario::Scenario::from_toml(SCENARIO).unwrap();
    let store = bg_store::SqliteStore::open(":memory:").unwrap();
    let app = bg_server::App::new(Box::new(store), Some(&scenario)).unwrap();
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    server_rt.spawn(bg_server::serve(app, listener, std::future::pending()));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, http_body_util::Full<bytes::Bytes>>(connector);
    // One request to learn how many frames an answer has.
    let frames_per_answer = rt.block_on(async {
        let resp = client.request(signed(&authority)).await.unwrap();
        assert_eq!(resp.status(), 200);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let mut d = bg_eventstream::Decoder::new();
        d.push(&bytes);
        let mut n = 0u64;
        while d.next().unwrap().is_some() {
            n += 1;
        }
        n
    });

    let mut g = c.benchmark_group("converse_stream_loopback");
    g.bench_function("time_to_first_event", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let req = signed(&authority);
                    let t = Instant::now();
                    let resp = client.request(req).await.unwrap();
                    let mut body = resp.into_body();
                    let _first = body.frame().await.unwrap().unwrap();
                    total += t.elapsed();
                    while body.frame().await.is_some() {}
                }
                total
            })
        })
    });
    g.throughput(Throughput::Elements(frames_per_answer));
    g.bench_function("whole_stream_events", |b| {
        b.iter(|| {
            rt.block_on(async {
                let resp = client.request(signed(&authority)).await.unwrap();
                resp.into_body().collect().await.unwrap();
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
