//! What every stable-Rust fuzz-corpus harness shares (`crates/*/tests/fuzz_corpus.rs` include it
//! with `#[path]`): the seeds of one target's corpus, deterministic near-misses of each seed, and
//! the "never panics" walk over both. The harnesses keep only what is theirs: the target body
//! and the check that the seeds reach the code under test.

use std::path::PathBuf;

/// The seeds of `crates/<crate>/fuzz/corpus/<target>/`, sorted by file name.
pub fn seeds(manifest_dir: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(manifest_dir).join("fuzz/corpus").join(target);
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

/// Deterministic variants of a seed at about `points` evenly spread positions: the prefix up
/// to it, the seed without that byte, and the seed with that byte's 0x20 bit flipped.
pub fn variants(seed: &[u8], points: usize) -> Vec<Vec<u8>> {
    let n = seed.len();
    let step = (n / points).max(1);
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

/// Runs `run` over every seed (at least `min_seeds` of them) and its variants: a panic fails.
pub fn never_panics(seeds: &[(String, Vec<u8>)], min_seeds: usize, points: usize, run: fn(&[u8])) {
    assert!(
        seeds.len() >= min_seeds,
        "expected at least {min_seeds} seeds, found {}",
        seeds.len()
    );
    let mut runs = 0;
    for (name, data) in seeds {
        run(data);
        for v in variants(data, points) {
            run(&v);
            runs += 1;
        }
        println!("{name}: ok");
    }
    println!("{} seeds, {runs} variants", seeds.len());
}
