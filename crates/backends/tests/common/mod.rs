#![allow(dead_code)]

use bg_backends::native::{self, NativeRequest};
use bg_backends::{Completion, ModelFamily, Prompt, ScriptedBackend};
use serde_json::Value;

pub const RID: &str = "5f1c9a52-7d0e-4b1e-9f64-0c3a1d2b3e4f";

pub fn decode_prompt(family: ModelFamily, body: &Value) -> Prompt {
    match native::decode(family, body.to_string().as_bytes()).expect("decodes") {
        NativeRequest::Completion(p) => p,
        other => panic!("expected a completion request, got {other:?}"),
    }
}

/// decode → scripted complete → encode, twice, asserting identical bytes.
pub fn run_with(
    backend: &ScriptedBackend,
    family: ModelFamily,
    model: &str,
    body: &Value,
) -> (Prompt, Completion, Value) {
    let once = || {
        let p = decode_prompt(family, body);
        let c = backend.complete(model, &p).expect("completes");
        let bytes = native::encode_completion(family, model, &p, &c, RID);
        (p, c, bytes)
    };
    let (p, c, bytes) = once();
    let (_, _, again) = once();
    assert_eq!(bytes, again, "same input must give identical bytes");
    let v: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    (p, c, v)
}

pub fn run(family: ModelFamily, model: &str, body: &Value) -> (Prompt, Completion, Value) {
    run_with(&ScriptedBackend::new(), family, model, body)
}

pub fn decode_err(family: ModelFamily, body: &str) -> String {
    native::decode(family, body.as_bytes())
        .expect_err("must be rejected")
        .to_string()
}

pub fn malformed(detail: &str) -> String {
    format!("Malformed input request: {detail}, please reformat your input and try again.")
}

pub fn reply(model: &str, user_text: &str) -> String {
    format!("This is a scripted reply from {model} to: {user_text}")
}

pub fn l2(v: &[Value]) -> f64 {
    v.iter()
        .map(|x| x.as_f64().unwrap().powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Stream payloads parsed as JSON.
pub fn stream(family: ModelFamily, model: &str, c: &Completion, pieces: &[&str]) -> Vec<Value> {
    let pieces: Vec<String> = pieces.iter().map(|s| s.to_string()).collect();
    let a = native::encode_stream_chunks(family, model, c, &pieces);
    assert_eq!(a, native::encode_stream_chunks(family, model, c, &pieces));
    a.iter()
        .map(|b| serde_json::from_slice(b).expect("valid JSON chunk"))
        .collect()
}

pub fn metrics_ok(last: &Value, c: &Completion) {
    let m = &last["amazon-bedrock-invocationMetrics"];
    assert_eq!(m["inputTokenCount"], c.usage.input_tokens);
    assert_eq!(m["outputTokenCount"], c.usage.output_tokens);
    assert_eq!(m["invocationLatency"], 0);
    assert_eq!(m["firstByteLatency"], 0);
}
