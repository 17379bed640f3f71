//! Runs the `parse_request` fuzz target body (`fuzz/common/parse_request.rs`) over its seed
//! corpus (`fuzz/corpus/parse_request/`) on stable Rust, so the main test suite exercises the
//! fuzz entry point even where cargo-fuzz (nightly) is unavailable. Each seed is also run
//! truncated at several points and with single bytes removed or flipped: cheap,
//! deterministic near-misses.

#[path = "../fuzz/common/parse_request.rs"]
mod body;

#[path = "../../../tests/rust/fuzz_seeds.rs"]
mod fuzz_seeds;

fn seeds() -> Vec<(String, Vec<u8>)> {
    fuzz_seeds::seeds(env!("CARGO_MANIFEST_DIR"), "parse_request")
}

#[test]
fn seed_corpus_never_panics() {
    fuzz_seeds::never_panics(&seeds(), 15, 48, body::run);
}

#[test]
fn seed_corpus_reaches_the_verifier() {
    // the well-formed seeds must parse, or the target would only ever exercise the errors
    for (name, data) in seeds() {
        let (head, body) = body::split(&data);
        let p = body::parts(&head, body);
        let req = bg_sigv4::Request {
            method: p.method,
            path: p.path,
            query: p.query,
            headers: &p.headers,
            body: p.body,
        };
        let parsed = bg_sigv4::parse(&req);
        let should = name.starts_with("header_") || name.starts_with("query_presigned");
        assert_eq!(parsed.is_ok(), should, "{name}: {parsed:?}");
    }
}
