//! The body of the `converse_request` fuzz target, shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/converse_request.rs`) and the seed-corpus harness that runs on stable
//! Rust (`tests/fuzz_corpus.rs`).

use bg_server::converse::{block_json, parse_request};
use serde_json::Value;

/// Reads `data` as the runtime reads a Converse body (an empty body is `{}`; bytes that are
/// not JSON stop at serde_json, as the runtime answers them before the parser runs), parses
/// it, and uses what parses as a backend would. Panics only on a bug.
pub fn run(data: &[u8]) {
    let body: Value = if data.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(data) {
            Ok(v) => v,
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        }
    };
    match parse_request(&body) {
        Ok(prompt) => {
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
            assert!(!e.message.is_empty());
            let again = parse_request(&body).err().map(|e| (e.code, e.message));
            assert_eq!(again, Some((e.code, e.message)), "deterministic");
        }
    }
}
