//! Runs the `converse_request` fuzz target body (`fuzz/common/converse_request.rs`) over its seed
//! corpus (`fuzz/corpus/converse_request/`) on stable Rust, so the main test suite exercises the
//! fuzz entry point even where cargo-fuzz (nightly) is unavailable. Each seed is also run
//! truncated at several points and with single bytes removed or flipped: cheap,
//! deterministic near-misses.

use std::path::PathBuf;

#[path = "../fuzz/common/converse_request.rs"]
mod body;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/converse_request");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read seed"))
        })
        .collect();
    out.sort();
    out
}

/// Deterministic variants of a seed: prefixes, single-byte deletions and bit flips at
/// evenly spread positions.
fn variants(seed: &[u8]) -> Vec<Vec<u8>> {
    let n = seed.len();
    let step = (n / 48).max(1);
    let mut out = Vec::new();
    for at in (0..n).step_by(step) {
        out.push(seed[..at].to_vec());
        let mut del = seed.to_vec();
        del.remove(at);
        out.push(del);
        let mut flip = seed.to_vec();
        flip[at] ^= 0x20;
        out.push(flip);
    }
    out
}

#[test]
fn seed_corpus_never_panics() {
    let seeds = seeds();
    assert!(
        seeds.len() >= 20,
        "expected at least 20 seeds, found {}",
        seeds.len()
    );
    let mut runs = 0;
    for (name, data) in &seeds {
        body::run(data);
        for v in variants(data) {
            body::run(&v);
            runs += 1;
        }
        println!("{name}: ok");
    }
    println!("{} seeds, {runs} variants", seeds.len());
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
