//! Runs the `decode` fuzz target body (`fuzz/common/decode.rs`) over its seed
//! corpus (`fuzz/corpus/decode/`) on stable Rust, so the main test suite exercises the
//! fuzz entry point even where cargo-fuzz (nightly) is unavailable. Each seed is also run
//! truncated at several points and with single bytes removed or flipped: cheap,
//! deterministic near-misses.

#[path = "../fuzz/common/decode.rs"]
mod body;

#[path = "../../../tests/rust/fuzz_seeds.rs"]
mod fuzz_seeds;

fn seeds() -> Vec<(String, Vec<u8>)> {
    fuzz_seeds::seeds(env!("CARGO_MANIFEST_DIR"), "decode")
}

#[test]
fn seed_corpus_never_panics() {
    fuzz_seeds::never_panics(&seeds(), 20, 48, body::run);
}

#[test]
fn seed_corpus_reaches_the_messages() {
    // the well-formed seeds must decode to the end, the others must not
    for (name, data) in seeds() {
        let mut at = 0;
        let mut ok = true;
        while at < data.len() {
            match bg_eventstream::decode(&data[at..]) {
                Ok((_, used)) => at += used,
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        let should = [
            "converse_stream.bin",
            "one_event.bin",
            "every_header_type.bin",
            "duplicate_headers.bin",
            "empty_message.bin",
            "header_empty_name.bin",
            "exception.bin",
            "events_then_exception.bin",
            "empty.bin",
        ]
        .contains(&name.as_str());
        assert_eq!(ok, should, "{name}");
    }
}
