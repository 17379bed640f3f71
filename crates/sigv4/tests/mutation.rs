//! Every signed part matters: for every official suite request (both forms), changing any
//! single character of the method, path, query, a signed header's value or the body — or one
//! hex digit of the signature, or the secret — must make verification fail.

mod common;

use bg_sigv4::{canonical_request, parse, SigError, Verifier};
use common::*;

/// A different character of the same kind: digits stay digits (so a mutated date is still a
/// date and reaches the scope/clock/signature checks), letters stay letters.
fn flip(c: char) -> char {
    match c {
        '0'..='8' => ((c as u8) + 1) as char,
        '9' => '0',
        'a'..='y' | 'A'..='Y' => ((c as u8) + 1) as char,
        'z' => 'a',
        'Z' => 'A',
        _ => 'q',
    }
}

fn mutate_at(s: &str, i: usize) -> String {
    s.chars()
        .enumerate()
        .map(|(j, c)| if j == i { flip(c) } else { c })
        .collect()
}

struct Outcome {
    rejected: usize,
    /// Path mutations that normalization makes equivalent (a segment removed by `..`).
    equivalent: usize,
}

fn run(case: &SignedCase, req: &OwnedRequest, verifier: &Verifier) -> Result<(), SigError> {
    req.with(|r| {
        let auth = parse(r)?;
        verifier.verify(
            r,
            &auth,
            &case.ctx.secret,
            &case.ctx.service,
            &|x| x == case.ctx.region,
            case.ctx.timestamp_unix,
        )
    })
}

fn expect_rejected(
    case: &SignedCase,
    what: &str,
    req: &OwnedRequest,
    verifier: &Verifier,
    out: &mut Outcome,
) {
    match run(case, req, verifier) {
        Err(_) => out.rejected += 1,
        Ok(()) => panic!(
            "{} [{}]: mutated {what} still verifies: {req:?}",
            case.name, case.form
        ),
    }
}

#[test]
fn single_character_mutations_are_rejected() {
    let Some(v4) = v4_dir_or_skip("single_character_mutations_are_rejected") else {
        return;
    };
    let verifier = Verifier::new();
    let mut out = Outcome {
        rejected: 0,
        equivalent: 0,
    };
    let mut cases_run = 0;
    for case in signed_cases(&v4) {
        // verify() normalizes paths; the suite's `*-unnormalized` requests with dot segments
        // or `//` are therefore (correctly) not valid under it: nothing to mutate.
        if run(&case, &case.request, &verifier).is_err() {
            assert!(
                !case.ctx.normalize,
                "{} [{}] does not verify",
                case.name, case.form
            );
            continue;
        }
        cases_run += 1;
        let orig = &case.request;
        let auth = orig.with(parse).unwrap();
        let orig_creq = orig.with(|r| canonical_request(r, &auth, true)).unwrap();

        // Method.
        let mut m = orig.clone();
        m.method = mutate_at(&m.method, 0);
        expect_rejected(&case, "method", &m, &verifier, &mut out);

        // Every path character.
        for i in 0..orig.path.chars().count() {
            let mut m = orig.clone();
            m.path = mutate_at(&orig.path, i);
            let creq = m.with(|r| canonical_request(r, &auth, true)).unwrap();
            if creq == orig_creq {
                assert!(
                    orig.path.split('/').any(|s| s == ".."),
                    "{}: path mutation {:?} is invisible to the canonical request",
                    case.name,
                    m.path
                );
                out.equivalent += 1;
                continue;
            }
            expect_rejected(&case, "path", &m, &verifier, &mut out);
        }

        // Every query character (auth parameters of the presigned form included).
        for i in 0..orig.query.chars().count() {
            let mut m = orig.clone();
            m.query = mutate_at(&orig.query, i);
            expect_rejected(&case, "query", &m, &verifier, &mut out);
        }

        // Every character of every signed header's value (x-amz-date included).
        for (hi, (name, value)) in orig.headers.iter().enumerate() {
            if !auth.signed_headers.contains(&name.to_ascii_lowercase()) {
                continue;
            }
            for i in 0..value.chars().count() {
                let mut m = orig.clone();
                m.headers[hi].1 = mutate_at(value, i);
                expect_rejected(&case, "signed header", &m, &verifier, &mut out);
            }
        }

        // The body (its hash is signed in every suite case): each byte, and one byte more.
        for i in 0..orig.body.len() {
            let mut m = orig.clone();
            m.body[i] ^= 0x01;
            expect_rejected(&case, "body", &m, &verifier, &mut out);
        }
        let mut m = orig.clone();
        m.body.push(b'x');
        expect_rejected(&case, "body (appended byte)", &m, &verifier, &mut out);

        // The signature: each hex digit.
        for i in 0..64 {
            let mut a = auth.clone();
            a.signature = mutate_at(&auth.signature, i);
            let res = orig.with(|r| {
                verifier.verify(
                    r,
                    &a,
                    &case.ctx.secret,
                    &case.ctx.service,
                    &|_| true,
                    case.ctx.timestamp_unix,
                )
            });
            assert_eq!(
                res,
                Err(SigError::Mismatch),
                "{}: signature digit {i}",
                case.name
            );
            out.rejected += 1;
        }

        // The secret.
        let res = orig.with(|r| {
            verifier.verify(
                r,
                &auth,
                &mutate_at(&case.ctx.secret, 3),
                &case.ctx.service,
                &|_| true,
                case.ctx.timestamp_unix,
            )
        });
        assert_eq!(res, Err(SigError::Mismatch), "{}: wrong secret", case.name);
        // ... and the right one again (the cache must not keep the wrong key).
        assert_eq!(run(&case, orig, &verifier), Ok(()));
    }
    eprintln!(
        "mutation test: {cases_run} suite requests, {} mutations rejected, {} path mutations \
         equivalent under normalization (inside a segment removed by `..`)",
        out.rejected, out.equivalent
    );
    assert!(cases_run >= 60, "only {cases_run} suite requests mutated");
    assert!(out.rejected > 10_000);
}
