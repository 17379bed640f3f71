//! Runs the `parse_policy` fuzz target body (`fuzz/common/parse_policy.rs`) over its seed
//! corpus (`fuzz/corpus/parse_policy/`) on stable Rust, so the main test suite exercises
//! the fuzz entry point even where cargo-fuzz (nightly) is unavailable. Each seed is also
//! run truncated at several points and with single bytes removed or flipped: cheap,
//! deterministic near-misses.

use bg_iam::{Policy, PolicyKind};
use std::path::PathBuf;

#[path = "../fuzz/common/parse_policy.rs"]
mod body;

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_policy");
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
    let step = (n / 24).max(1);
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
fn seed_corpus_reaches_the_evaluator() {
    // the valid seeds must parse as the kind they were written for, or the target would
    // only ever exercise the error paths
    let expect = [
        ("identity_allow.json", PolicyKind::Identity),
        ("identity_mixed.json", PolicyKind::Identity),
        ("resource_principals.json", PolicyKind::Resource),
        ("scp_region_guard.json", PolicyKind::Scp),
        ("rcp_secure_transport.json", PolicyKind::Rcp),
        ("variables.json", PolicyKind::Identity),
        ("version_2008_literal_vars.json", PolicyKind::Session),
        ("conditions_every_family.json", PolicyKind::Boundary),
        ("huge_numbers.json", PolicyKind::Identity),
        ("wildcard_backtracking.json", PolicyKind::Scp),
        ("many_statements.json", PolicyKind::Identity),
    ];
    let seeds = seeds();
    for (file, kind) in expect {
        let (_, data) = seeds
            .iter()
            .find(|(n, _)| n == file)
            .unwrap_or_else(|| panic!("missing seed {file}"));
        let text = String::from_utf8_lossy(data);
        if let Err(e) = Policy::parse(&text, kind) {
            panic!("{file} should parse as {kind:?}: {e} ({})", e.detail());
        }
    }
    // and the near-misses must not
    for (file, data) in seeds.iter().filter(|(n, _)| {
        n.starts_with("near_miss") || n.starts_with("deep_nesting") || n == "empty.txt"
    }) {
        let text = String::from_utf8_lossy(data);
        assert!(
            Policy::parse(&text, PolicyKind::Identity).is_err(),
            "{file} should be refused"
        );
    }
}
