//! The journal writer's cost per call, without the server: CloudTrail events alone, then
//! events with one invocation-log line each, appended in batches as the writer thread does
//! (issue 13: logging on/off). A plain timed loop; it prints microseconds per call.
//!
//!     cargo bench -p bg-store --bench journal

use bg_store::{Journal, LogMessage, LogRow, TrailRow};
use std::time::Instant;

const BATCH: usize = 100;

fn event(i: usize, now: i64) -> TrailRow {
    // ~1.2 KB, the size of a Converse event with its identity and request parameters
    let body = format!(
        "{{\"eventVersion\":\"1.11\",\"userIdentity\":{{\"type\":\"Root\",\"principalId\":\"000000000000\",\"arn\":\"arn:aws:iam::000000000000:root\",\"accountId\":\"000000000000\",\"accessKeyId\":\"test\"}},\"eventTime\":\"2026-12-03T08:00:00Z\",\"eventSource\":\"bedrock.amazonaws.com\",\"eventName\":\"Converse\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"127.0.0.1\",\"userAgent\":\"Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.0\",\"requestParameters\":{{\"modelId\":\"amazon.nova-lite-v1:0\"}},\"responseElements\":null,\"requestID\":\"{i:08x}-1111-4111-8111-111111111111\",\"eventID\":\"{i:08x}-2222-7222-8222-222222222222\",\"readOnly\":true,\"resources\":[{{\"accountId\":\"000000000000\",\"type\":\"AWS::Bedrock::Model\",\"ARN\":\"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0\"}}],\"eventType\":\"AwsApiCall\",\"managementEvent\":false,\"recipientAccountId\":\"000000000000\",\"eventCategory\":\"Data\",\"tlsDetails\":null}}"
    );
    TrailRow {
        event_id: format!("{i:08x}-2222-7222-8222-222222222222"),
        time_ms: now + i as i64,
        account: "000000000000".into(),
        region: "us-east-1".into(),
        event_name: "Converse".into(),
        event_source: "bedrock.amazonaws.com".into(),
        username: "root".into(),
        access_key_id: "test".into(),
        read_only: true,
        resource_type: "AWS::Bedrock::Model".into(),
        resource_name: "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0".into(),
        body,
        diagnosis: None,
    }
}

fn line(i: usize, now: i64) -> LogRow {
    // ~1.3 KB, a ModelInvocationLog record of a short Converse with text delivery on
    let message = format!(
        "{{\"schemaType\":\"ModelInvocationLog\",\"schemaVersion\":\"1.0\",\"timestamp\":\"2026-12-03T08:00:00Z\",\"accountId\":\"000000000000\",\"identity\":{{\"arn\":\"arn:aws:iam::000000000000:root\"}},\"region\":\"us-east-1\",\"requestId\":\"{i:08x}-1111-4111-8111-111111111111\",\"operation\":\"Converse\",\"modelId\":\"amazon.nova-lite-v1:0\",\"input\":{{\"inputContentType\":\"application/json\",\"inputBodyJson\":{{\"messages\":[{{\"role\":\"user\",\"content\":[{{\"text\":\"Tell me about the gates of Bedrock\"}}]}}],\"inferenceConfig\":{{\"maxTokens\":64}}}},\"inputTokenCount\":9,\"cacheReadInputTokenCount\":0,\"cacheWriteInputTokenCount\":0}},\"output\":{{\"outputContentType\":\"application/json\",\"outputBodyJson\":{{\"output\":{{\"message\":{{\"role\":\"assistant\",\"content\":[{{\"text\":\"A scripted answer from bedrock-gates: the five gates are model access, IAM, the Region, the provider's terms and the credentials; quotas and profiles come after them.\"}}]}}}},\"stopReason\":\"end_turn\",\"usage\":{{\"inputTokens\":9,\"outputTokens\":34,\"totalTokens\":43}},\"metrics\":{{\"latencyMs\":1}}}},\"outputTokenCount\":34}}}}"
    );
    LogRow {
        account: "000000000000".into(),
        region: "us-east-1".into(),
        group: "/bench".into(),
        stream: "aws/bedrock/modelinvocations".into(),
        time_ms: now + i as i64,
        ingest_ms: now + i as i64,
        message: LogMessage::Text(message),
    }
}

fn run(journal: &Journal, from: usize, n: usize, logs: bool) -> f64 {
    let now = 1_764_748_800_000i64;
    let start = Instant::now();
    let mut i = from;
    while i < from + n {
        let events: Vec<TrailRow> = (i..i + BATCH).map(|j| event(j, now)).collect();
        let lines: Vec<LogRow> = if logs {
            (i..i + BATCH).map(|j| line(j, now)).collect()
        } else {
            Vec::new()
        };
        journal.append(&events, &lines, false).unwrap();
        i += BATCH;
    }
    journal.append(&[], &[], true).unwrap();
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let n: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let path = path.to_str().unwrap();
    let _store = bg_store::SqliteStore::open(path).unwrap();
    let journal = Journal::open(path).unwrap();
    // warm-up: a table that already holds events, as a running serve's does
    run(&journal, 0, n, true);
    let mut from = n;
    for round in 0..3 {
        let off = run(&journal, from, n, false);
        from += n;
        let on = run(&journal, from, n, true);
        from += n;
        println!(
            "round {round}: events only {off:.2} us/call, events + log lines {on:.2} us/call (+{:.2})",
            on - off
        );
    }
}
