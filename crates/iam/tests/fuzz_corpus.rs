//! Runs the `parse_policy` fuzz target body (`fuzz/common/parse_policy.rs`) over its seed
//! corpus (`fuzz/corpus/parse_policy/`) on stable Rust, so the main test suite exercises
//! the fuzz entry point even where cargo-fuzz (nightly) is unavailable. Each seed is also
//! run truncated at several points and with single bytes removed or flipped: cheap,
//! deterministic near-misses.

use bg_iam::{Policy, PolicyKind};

#[path = "../fuzz/common/parse_policy.rs"]
mod body;

#[path = "../../../tests/rust/fuzz_seeds.rs"]
mod fuzz_seeds;

fn seeds() -> Vec<(String, Vec<u8>)> {
    fuzz_seeds::seeds(env!("CARGO_MANIFEST_DIR"), "parse_policy")
}

#[test]
fn seed_corpus_never_panics() {
    fuzz_seeds::never_panics(&seeds(), 20, 24, body::run);
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
