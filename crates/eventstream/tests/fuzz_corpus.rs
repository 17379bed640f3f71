//! Runs the `decode` fuzz target body (`fuzz/common/decode.rs`) over its seed
//! corpus (`fuzz/corpus/decode/`) on stable Rust, so the main test suite exercises the
//! fuzz entry point even where cargo-fuzz (nightly) is unavailable. Each seed is also run
//! truncated at several points and with single bytes removed or flipped: cheap,
//! deterministic near-misses.

use std::path::PathBuf;

#[path = "../fuzz/common/decode.rs"]
mod body;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode");
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
