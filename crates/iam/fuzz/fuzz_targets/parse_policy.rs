//! Fuzz target: arbitrary bytes (as lossy UTF-8) into `Policy::parse` for every
//! `PolicyKind`; whatever parses is evaluated against fixed requests. Must never panic.
//! The body is shared with the stable-Rust seed-corpus harness
//! (`crates/iam/tests/fuzz_corpus.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/parse_policy.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
