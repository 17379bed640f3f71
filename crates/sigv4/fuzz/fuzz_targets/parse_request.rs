//! Fuzz target: arbitrary bytes as an HTTP request (method, path, query, headers, body) into
//! `bg_sigv4::parse`; whatever parses is canonicalised and verified. Must never panic.
//! The body is shared with the stable-Rust seed-corpus harness
//! (`crates/sigv4/tests/fuzz_corpus.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/parse_request.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
