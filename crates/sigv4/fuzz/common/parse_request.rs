//! The body of the `parse_request` fuzz target, shared by the cargo-fuzz target
//! (`fuzz/fuzz_targets/parse_request.rs`) and the seed-corpus harness that runs on stable
//! Rust (`tests/fuzz_corpus.rs`).
//!
//! Input layout (so that seeds are readable and mutations stay meaningful): up to the first
//! blank line, lossy UTF-8 lines: the method, the raw path, the raw query (may be empty), then
//! one header per line, `name:value` split at the first colon (a line without a colon is a
//! header with an empty value). After the blank line, the body's raw bytes.

use bg_sigv4::{canonical_request, parse, string_to_sign, Request, Verifier};

/// Signing times the parsed request is verified at: the epoch, the seeds' date, the extremes.
const NOWS: [i64; 4] = [0, 1_440_938_160, i64::MIN, i64::MAX];

/// The parts of a request as laid out in the input: method, path, query, headers, body.
pub struct Parts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
}

/// The head (method, path, query and header lines) as text, and the body's bytes.
pub fn split(data: &[u8]) -> (String, &[u8]) {
    // the first three lines always belong to the head, even when empty (an empty query)
    let mut after_query = 0;
    for _ in 0..3 {
        match data[after_query..].iter().position(|&b| b == b'\n') {
            Some(i) => after_query += i + 1,
            None => return (String::from_utf8_lossy(data).into_owned(), &[]),
        }
    }
    // then header lines up to a blank one (the query line's newline may start it)
    let from = after_query - 1;
    match data[from..].windows(2).position(|w| w == b"\n\n") {
        Some(i) => (
            String::from_utf8_lossy(&data[..from + i]).into_owned(),
            &data[from + i + 2..],
        ),
        None => (String::from_utf8_lossy(data).into_owned(), &[]),
    }
}

/// Reads the parts out of `head` (from [`split`]).
pub fn parts<'a>(head: &'a str, body: &'a [u8]) -> Parts<'a> {
    let mut lines = head.split('\n');
    let method = lines.next().unwrap_or("");
    let path = lines.next().unwrap_or("");
    let query = lines.next().unwrap_or("");
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split_once(':').unwrap_or((l, "")))
        .collect();
    Parts {
        method,
        path,
        query,
        headers,
        body,
    }
}

/// Splits `data` into a request and checks it. Panics only on a bug.
pub fn run(data: &[u8]) {
    let (head, body) = split(data);
    let p = parts(&head, body);
    check(&Request {
        method: p.method,
        path: p.path,
        query: p.query,
        headers: &p.headers,
        body: p.body,
    });
}

fn check(req: &Request) {
    let auth = match parse(req) {
        Ok(a) => a,
        Err(e) => {
            // AWS's message must render, and parsing is deterministic
            let _ = e.to_string();
            assert_eq!(parse(req), Err(e), "parse is deterministic");
            return;
        }
    };
    assert_eq!(parse(req).as_ref(), Ok(&auth), "parse is deterministic");
    for normalize in [true, false] {
        match canonical_request(req, &auth, normalize) {
            Ok(creq) => {
                let sts = string_to_sign(&creq, &auth);
                assert!(sts.starts_with("AWS4-HMAC-SHA256\n"), "{sts:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let verifier = Verifier::new();
    let service = auth.service.clone();
    for now in NOWS {
        let first = verifier.verify(req, &auth, "secret", &service, &|_| true, now);
        // a second verification goes through the signing-key cache: same answer
        let again = verifier.verify(req, &auth, "secret", &service, &|_| true, now);
        assert_eq!(first, again, "verify is deterministic (cache included)");
        if let Err(e) = first {
            let _ = e.to_string();
        }
        let _ = verifier.verify(req, &auth, "secret", "bedrock", &|r| r == "us-east-1", now);
    }
}
