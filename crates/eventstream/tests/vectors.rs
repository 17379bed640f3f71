//! The official event-stream test vectors, as shipped in the `aws-smithy-eventstream` package
//! (`test_data/`: flat files named `valid_*` and `invalid_*`; no decoded files ship with them).
//!
//! The package is found through `cargo metadata`: it is in the workspace graph via the CLI's AWS
//! SDK dependencies. The decoded expectations below were written by hand from the format
//! specification and the bytes of each vector (header names are self-describing).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bg_eventstream::{decode, encode, DecodeError, Decoder, HeaderValue, Message};
use serde_json::{json, Value};

/// Decoded form of each valid vector: headers with their wire type codes, payload in base64.
const EXPECTED_VALID: &str = r#"{
  "valid_empty_payload": {
    "headers": [ { "name": "some-header", "type": 3, "value": 500 } ],
    "payload": ""
  },
  "valid_no_headers": {
    "headers": [],
    "payload": "YW5vdGhlciB0ZXN0IHBheWxvYWQ="
  },
  "valid_with_all_headers_and_payload": {
    "headers": [
      { "name": "true",  "type": 0, "value": true },
      { "name": "false", "type": 1, "value": false },
      { "name": "byte",  "type": 2, "value": 50 },
      { "name": "short", "type": 3, "value": 20000 },
      { "name": "int",   "type": 4, "value": 500000 },
      { "name": "long",  "type": 5, "value": 50000000000 },
      { "name": "bytes", "type": 6, "value": "c29tZSBieXRlcw==" },
      { "name": "str",   "type": 7, "value": "some str" },
      { "name": "time",  "type": 8, "value": 5000000000 },
      { "name": "uuid",  "type": 9, "value": "b79bc914de214e13b8b2bc47e85b7f0b" }
    ],
    "payload": "c29tZSBwYXlsb2Fk"
  }
}"#;

/// The error each invalid vector must produce (what its name says is wrong with it).
fn expected_error(name: &str) -> Option<fn(&DecodeError) -> bool> {
    Some(match name {
        // A header name length byte of 255 inside a 122-byte headers section.
        "invalid_header_name_length" => |e| matches!(e, DecodeError::HeaderNameOverrun { .. }),
        // A header name length of 102 inside a 77-byte headers section.
        "invalid_header_name_length_too_long" => {
            |e| matches!(e, DecodeError::HeaderNameOverrun { len: 102, .. })
        }
        // The `str` value's 2-byte length is cut by the end of the headers section.
        "invalid_header_string_length_cut_off" => {
            |e| matches!(e, DecodeError::HeaderValueOverrun { name } if name == "str")
        }
        // The `str` value claims 65535 bytes.
        "invalid_header_string_value_length" => {
            |e| matches!(e, DecodeError::HeaderValueOverrun { name } if name == "str")
        }
        "invalid_header_value_type" => |e| *e == DecodeError::InvalidHeaderType(0x60),
        // 77 header bytes cannot fit in an 89-byte message.
        "invalid_headers_length" => |e| {
            *e == DecodeError::HeadersLength {
                headers_len: 77,
                total_len: 89,
            }
        },
        "invalid_prelude_checksum" => |e| {
            *e == DecodeError::PreludeCrc {
                expected: 0x8bb4_95fb,
                got: 0xdead_beef,
            }
        },
        "invalid_message_checksum" => |e| {
            *e == DecodeError::MessageCrc {
                expected: 0x01a0_5860,
                got: 0xdead_beef,
            }
        },
        _ => return None,
    })
}

fn message_to_json(msg: &Message) -> Value {
    let headers: Vec<Value> = msg
        .headers
        .iter()
        .map(|(name, value)| {
            let v = match value {
                HeaderValue::Bool(b) => json!(b),
                HeaderValue::Byte(n) => json!(n),
                HeaderValue::Int16(n) => json!(n),
                HeaderValue::Int32(n) => json!(n),
                HeaderValue::Int64(n) | HeaderValue::Timestamp(n) => json!(n),
                HeaderValue::Bytes(b) => json!(B64.encode(b)),
                HeaderValue::String(s) => json!(s),
                HeaderValue::Uuid(u) => {
                    json!(u.iter().map(|b| format!("{b:02x}")).collect::<String>())
                }
            };
            json!({ "name": name, "type": value.type_code(), "value": v })
        })
        .collect();
    json!({ "headers": headers, "payload": B64.encode(&msg.payload) })
}

/// Directories `test_data` of every `aws-smithy-eventstream` package in the workspace graph.
fn vector_dirs() -> Result<Vec<PathBuf>, String> {
    let cargo = std::env::var("CARGO").map_err(|_| "CARGO is not set".to_owned())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("bad metadata: {e}"))?;
    let dirs: Vec<PathBuf> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "aws-smithy-eventstream")
        .filter_map(|p| p["manifest_path"].as_str())
        .map(|m| Path::new(m).parent().unwrap().join("test_data"))
        .filter(|d| d.is_dir())
        .collect();
    if dirs.is_empty() {
        return Err("no aws-smithy-eventstream package with test_data in cargo metadata".into());
    }
    Ok(dirs)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn official_vectors() {
    let dirs = match vector_dirs() {
        Ok(d) => d,
        Err(why) => {
            eprintln!("SKIPPED official_vectors: {why}");
            return;
        }
    };
    let expected_valid: Value = serde_json::from_str(EXPECTED_VALID).unwrap();
    let (mut valid, mut invalid, mut checked_decoded) = (0, 0, 0);

    for dir in &dirs {
        let mut files = Vec::new();
        files_under(dir, &mut files);
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            if name.starts_with("valid") {
                let (msg, used) =
                    decode(&bytes).unwrap_or_else(|e| panic!("{name}: rejected valid vector: {e}"));
                assert_eq!(used, bytes.len(), "{name}: trailing bytes");
                if let Some(exp) = expected_valid.get(&name) {
                    assert_eq!(&message_to_json(&msg), exp, "{name}: decoded content");
                    checked_decoded += 1;
                } else {
                    eprintln!("note: {name} has no decoded expectation; round trip only");
                }
                assert_eq!(encode(&msg), bytes, "{name}: re-encoding differs");
                let mut d = Decoder::new();
                d.push(&bytes);
                assert_eq!(d.next(), Ok(Some(msg)), "{name}: incremental decoder");
                valid += 1;
            } else if name.starts_with("invalid") {
                let err = decode(&bytes).expect_err(&format!("{name}: invalid vector accepted"));
                match expected_error(&name) {
                    Some(is_expected) => assert!(is_expected(&err), "{name}: wrong error {err:?}"),
                    None => eprintln!("note: {name} has no expected error kind; got {err:?}"),
                }
                let mut d = Decoder::new();
                d.push(&bytes);
                assert_eq!(d.next(), Err(err), "{name}: incremental decoder");
                invalid += 1;
            } else {
                eprintln!("note: ignoring {}", path.display());
            }
        }
    }
    eprintln!("official vectors: {valid} valid, {invalid} invalid ({checked_decoded} with decoded expectations)");
    assert!(valid >= 3, "only {valid} valid vectors found in {dirs:?}");
    assert!(
        invalid >= 8,
        "only {invalid} invalid vectors found in {dirs:?}"
    );
    assert!(checked_decoded >= 3);
}

/// The expectations above are themselves checked: the same messages built by hand encode to
/// what the expectation JSON describes (so the vector test compares against real content).
#[test]
fn expectations_match_hand_built_messages() {
    let all = Message::new(b"some payload".to_vec())
        .with_header("true", HeaderValue::Bool(true))
        .with_header("false", HeaderValue::Bool(false))
        .with_header("byte", HeaderValue::Byte(50))
        .with_header("short", HeaderValue::Int16(20_000))
        .with_header("int", HeaderValue::Int32(500_000))
        .with_header("long", HeaderValue::Int64(50_000_000_000))
        .with_header("bytes", HeaderValue::Bytes(b"some bytes".to_vec()))
        .with_header("str", "some str")
        .with_header("time", HeaderValue::Timestamp(5_000_000_000))
        .with_header(
            "uuid",
            HeaderValue::Uuid(0xb79b_c914_de21_4e13_b8b2_bc47_e85b_7f0b_u128.to_be_bytes()),
        );
    let expected: Value = serde_json::from_str(EXPECTED_VALID).unwrap();
    assert_eq!(
        message_to_json(&all),
        expected["valid_with_all_headers_and_payload"]
    );
    // Its prelude matches the one quoted by the checksum vectors.
    let frame = encode(&all);
    assert_eq!(
        &frame[..12],
        &[0, 0, 0, 0x96, 0, 0, 0, 0x7a, 0x8b, 0xb4, 0x95, 0xfb]
    );
    assert_eq!(&frame[frame.len() - 4..], &[0x01, 0xa0, 0x58, 0x60]);
}
