//! Runs the `converse_request` fuzz target body (`fuzz/common/converse_request.rs`) over its seed
//! corpus (`fuzz/corpus/converse_request/`) on stable Rust, so the main test suite exercises the
//! fuzz entry point even where cargo-fuzz (nightly) is unavailable. Each seed is also run
//! truncated at several points and with single bytes removed or flipped: cheap,
//! deterministic near-misses.

#[path = "../fuzz/common/converse_request.rs"]
mod body;

#[path = "../../../tests/rust/fuzz_seeds.rs"]
mod fuzz_seeds;

fn seeds() -> Vec<(String, Vec<u8>)> {
    fuzz_seeds::seeds(env!("CARGO_MANIFEST_DIR"), "converse_request")
}

#[test]
fn seed_corpus_never_panics() {
    fuzz_seeds::never_panics(&seeds(), 20, 48, body::run);
}

#[test]
fn seed_corpus_reaches_the_parser() {
    // the well-formed seeds must parse, the near-misses must be refused by the parser (not
    // by serde_json), or the target would only ever exercise one side
    for (name, data) in seeds() {
        let parsed = serde_json::from_slice::<serde_json::Value>(&data)
            .map(|v| bg_server::converse::parse_request(&v).map_err(|e| e.message));
        if name.starts_with("near_miss") {
            assert!(matches!(parsed, Ok(Err(_))), "{name}: {parsed:?}");
        } else if name.ends_with(".json") && !name.starts_with("json_error") {
            assert!(matches!(parsed, Ok(Ok(_))), "{name}: {parsed:?}");
        }
    }
}
