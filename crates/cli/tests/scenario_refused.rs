//! `bedrock-gates serve --scenario` refuses a scenario with a misspelt value at start: non-zero
//! exit, the valid values on stderr, nothing written, no server left running.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `serve` on `scenario` with a state file in `dir`; fails the test if it is still running
/// after 60 s (it would be serving).
fn serve(dir: &Path, scenario: &str) -> Output {
    let file = dir.join("bad.toml");
    std::fs::write(&file, scenario).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-gates"))
        .args(["serve", "--port", "0", "--state"])
        .arg(dir.join("state.db"))
        .arg("--scenario")
        .arg(&file)
        // stderr is exactly the error: no log lines, no backtrace
        .env_remove("BEDROCK_GATES_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve started despite the bad scenario");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serve_refuses_a_misspelt_fault_kind() {
    let dir = tempfile::tempdir().unwrap();
    let out = serve(
        dir.path(),
        "[[fault]]\nmodel = \"amazon.nova-micro-v1:0\"\nkind = \"throttel\"\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: scenario: [[fault]] kind \"throttel\" is not one of: throttle, timeout, not-ready, unavailable, stream-throttle, stream-error\n\
         TOML parse error at line 3, column 8\n  |\n3 | kind = \"throttel\"\n  |        ^^^^^^^^^^\n"
    );
    assert!(!dir.path().join("state.db").exists(), "nothing is written");
}

#[test]
fn serve_refuses_a_misspelt_grant() {
    let dir = tempfile::tempdir().unwrap();
    let out = serve(
        dir.path(),
        "[[access]]\naccount = \"000000000000\"\nregion = \"us-east-1\"\nmodel = \"amazon.nova-pro-v1:0\"\ngrant = \"yes\"\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: scenario: [[access]] grant \"yes\" is not one of: none, pending, granted\n\
         TOML parse error at line 5, column 9\n  |\n5 | grant = \"yes\"\n  |         ^^^^^\n"
    );
    assert!(!dir.path().join("state.db").exists(), "nothing is written");
}
