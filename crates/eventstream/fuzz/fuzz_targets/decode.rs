//! Fuzz target: arbitrary bytes as an `application/vnd.amazon.eventstream` byte stream into
//! `bg_eventstream::decode` and the incremental `Decoder`. Must never panic; both must agree,
//! and every decoded message must re-encode to the very bytes it came from.
//! The body is shared with the stable-Rust seed-corpus harness
//! (`crates/eventstream/tests/fuzz_corpus.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/decode.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));
