//! Fuzz target: arbitrary bytes as a Converse request body, read as the server reads it (JSON,
//! then `bg_server::converse::parse_request`: the service model's validation and the
//! conversation rules). Must never panic. The body is shared with the stable-Rust seed-corpus
//! harness (`crates/server/tests/fuzz_corpus.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/converse_request.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
