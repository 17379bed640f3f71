//! The body of the `converse_request` fuzz target, shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/converse_request.rs`) and the seed-corpus harness that runs on stable
//! Rust (`tests/fuzz_corpus.rs`).

use bg_server::converse::{block_json, parse_request, parse_request_bytes};
use serde_json::Value;

/// Reads `data` as the runtime reads a Converse body (`parse_request_bytes`: the typed pass,
/// else the `Value` path) and checks it against the `Value` path alone (an empty body is `{}`;
/// bytes that are not JSON stop at serde_json): the same prompt or the same refusal. Uses what
/// parses as a backend would. Panics only on a bug.
pub fn run(data: &[u8]) {
    let read = parse_request_bytes(data).map_err(|e| (e.code, e.status, e.message));
    let body: Value = if data.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(e) => {
                let _ = e.to_string();
                assert!(matches!(read, Err((_, 400, _))), "not JSON: {read:?}");
                return;
            }
        }
    };
    match parse_request(&body) {
        Ok(prompt) => {
            assert_eq!(
                read.as_ref().ok(),
                Some(&prompt),
                "typed and Value paths agree"
            );
            assert_eq!(
                parse_request(&body).ok(),
                Some(prompt.clone()),
                "deterministic"
            );
            let _ = bg_backends::count_prompt_tokens(&prompt);
            for m in &prompt.messages {
                for b in &m.content {
                    let _ = block_json(b);
                }
            }
        }
        Err(e) => {
            // every refusal of a body is a 400 with a message the client can show
            assert_eq!(e.status, 400, "{} {}", e.code, e.message);
            assert_eq!(
                read.as_ref().err(),
                Some(&(e.code, e.status, e.message.clone())),
                "typed and Value paths agree"
            );
            assert!(!e.message.is_empty());
            let again = parse_request(&body).err().map(|e| (e.code, e.message));
            assert_eq!(again, Some((e.code, e.message)), "deterministic");
        }
    }
}
