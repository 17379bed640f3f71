//! Converts `data/catalog.toml` to JSON once, at build time: `serve` loads the catalog at every
//! start, and serde_json reads the same data several times faster than the TOML parser (issue 11:
//! the TOML parse was ~8% of a start, also with an empty state). The TOML file stays the source
//! of truth; the JSON is the same values, deserialized into the same types and validated the
//! same way at load.

use std::path::Path;

fn main() {
    let src = Path::new("data/catalog.toml");
    println!("cargo:rerun-if-changed={}", src.display());
    let text = std::fs::read_to_string(src).expect("read data/catalog.toml");
    // A syntax error is reported by the crate's tests (and `catalog()`) with the TOML parser's
    // message; here it only stops the build with the same message.
    let value: toml::Value = toml::from_str(&text).expect("data/catalog.toml is not valid TOML");
    let json = serde_json::to_string(&value).expect("catalog as JSON");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("catalog.json");
    std::fs::write(out, json).expect("write catalog.json");
}
