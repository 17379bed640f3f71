//! # bg-sigv4 — AWS Signature Version 4 verification of received requests
//!
//! The bedrock-gates server receives requests from real AWS SDKs (pointed at it through
//! `AWS_ENDPOINT_URL`). Those requests carry a SigV4 signature, either in the `Authorization`
//! header or, for presigned URLs, in the `X-Amz-*` query parameters. This crate answers one
//! question: *was this request signed with this secret, for this service, recently enough?* —
//! and when the answer is no, it says why in the exact words AWS uses, so that SDKs and tools
//! see the same error messages they would see from the real service.
//!
//! The crate is **pure**: it only computes over borrowed request parts and the caller-supplied
//! clock (`now_unix`). It must never depend on I/O crates (no tokio, hyper, http, filesystem,
//! or system clock): the server owns all of that. This keeps verification deterministic and
//! trivially testable against the official AWS SigV4 test suite.
//!
//! Typical use by the server:
//!
//! ```
//! use bg_sigv4::{parse, Request, Verifier};
//! # let headers: [(&str, &str); 0] = [];
//! # let req = Request { method: "GET", path: "/", query: "", headers: &headers, body: b"" };
//! let verifier = Verifier::new(); // keep one for the lifetime of the server
//! match parse(&req) {
//!     Ok(auth) => {
//!         // look up the secret for `auth.access_key`, then:
//!         let _ = verifier.verify(&req, &auth, "secret", "bedrock", &|r| r == "us-east-1", 0);
//!     }
//!     Err(e) => { let _ = e.to_string(); /* render AWS error */ }
//! }
//! ```
//!
//! Scope of support: AWS4-HMAC-SHA256 with the header or query (presigned) form, as used by
//! every AWS service except S3. Deliberately unsupported: SigV4a (ECDSA), S3's single-encoding /
//! non-normalizing canonical URI, and verification of `aws-chunked` per-chunk signatures
//! (`STREAMING-*` payloads: only the seed signature is checked).

use std::borrow::Cow;
use std::collections::HashMap;

use hmac::{Hmac, Mac};
use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

type HmacSha256 = Hmac<Sha256>;

/// Largest accepted distance, in seconds, between the request's signing time and the server's
/// clock, in either direction.
///
/// This is AWS's own window: its `Signature expired` / `Signature not yet current` messages
/// spell it out as `(... - 5 min.)` / `(... + 5 min.)`, and a request exactly 300 s old is
/// still accepted while one 301 s old is not.
pub const MAX_SKEW_SECS: i64 = 300;

/// Largest `X-Amz-Expires` AWS accepts for a presigned URL: one week, in seconds.
pub const MAX_PRESIGN_EXPIRES_SECS: u64 = 604_800;

/// The only signing algorithm this crate verifies.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The credential-scope terminator of SigV4.
pub const TERMINATOR: &str = "aws4_request";

/// Maximum number of access keys kept in the signing-key cache before it is cleared.
const CACHE_MAX_KEYS: usize = 10_000;
/// Maximum number of (date, region, service) scopes remembered per access key.
const CACHE_MAX_SCOPES_PER_KEY: usize = 8;

const AMZ_DATE_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
/// RFC 1123 / IMF-fixdate, the format of the HTTP `Date` header.
const HTTP_DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// A received request, borrowed.
///
/// `path` is the raw path as received on the wire (percent-encoding intact, e.g.
/// `"/model/amazon.nova-lite-v1%3A0/converse"`); `query` is the raw query string without `'?'`
/// (`""` if none). `headers` must hold every header as received (names in any case, duplicates
/// as separate entries, in arrival order), including `host` — for HTTP/2 requests the server
/// must supply `("host", authority)` itself since there is no `Host` header on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// What the `Authorization` header (or the presigned query) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    pub access_key: String,
    /// Date of the credential scope, `YYYYMMDD`.
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    /// Lowercased, sorted, de-duplicated.
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// Signing time, `YYYYMMDDTHHMMSSZ` (from `X-Amz-Date`, or converted from `Date`).
    pub amz_date: String,
    /// `X-Amz-Security-Token` (header form: header; presigned form: query, else header).
    pub security_token: Option<String>,
    /// True for the query-string (presigned URL) form.
    pub presigned: bool,
    /// `X-Amz-Expires` of a presigned URL.
    pub expires_secs: Option<u64>,
}

/// Why a request is not authenticated. Each variant's `Display` is AWS's exact message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// No `Authorization` header and no `X-Amz-Algorithm` query parameter
    /// (AWS: `MissingAuthenticationToken`).
    #[error("Missing Authentication Token")]
    Missing,
    /// Malformed or incomplete signature information; the string is AWS's full message
    /// (AWS: `IncompleteSignature`).
    #[error("{0}")]
    Incomplete(String),
    /// The credential scope's region is not one the server accepts.
    #[error("Credential should be scoped to a valid region. ")]
    BadRegion { region: String },
    /// The credential scope names another service.
    #[error("Credential should be scoped to correct service: '{expected}'. ")]
    BadService { expected: String },
    /// The credential scope does not end in `aws4_request`.
    #[error("Credential should be scoped with a valid terminator: 'aws4_request', not '{got}'. ")]
    BadTerminator { got: String },
    /// The credential scope's date is not the date of the signing time.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{}', from '{amz_date}'.",
        date_part(.amz_date)
    )]
    DateMismatch { scope: String, amz_date: String },
    /// Signed more than [`MAX_SKEW_SECS`] before `now`. `earliest` = `now` − 5 min.
    #[error("Signature expired: {signed} is now earlier than {earliest} ({now} - 5 min.)")]
    Expired {
        signed: String,
        earliest: String,
        now: String,
    },
    /// Signed more than [`MAX_SKEW_SECS`] after `now`. `latest` = `now` + 5 min.
    #[error("Signature not yet current: {signed} is still later than {latest} ({now} + 5 min.)")]
    NotYetCurrent {
        signed: String,
        latest: String,
        now: String,
    },
    /// A presigned URL used after `X-Amz-Date + X-Amz-Expires`.
    #[error("Request has expired")]
    PresignExpired,
    /// The recomputed signature differs from the provided one (AWS: `SignatureDoesNotMatch` /
    /// `InvalidSignatureException`).
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
    /// `x-amz-content-sha256` is a digest that is not the SHA-256 of the body.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    BadContentSha256,
}

fn date_part(amz_date: &str) -> &str {
    amz_date.get(..8).unwrap_or(amz_date)
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// First value of a header, name compared case-insensitively.
fn header<'a>(req: &Request<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

/// Percent-decodes a query component (`'+'` meaning space, as in form encoding and as the AWS
/// SDKs' signers decode it). Invalid escapes are kept literally.
fn decode_component(raw: &str) -> Cow<'_, [u8]> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(raw.as_bytes());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|&b| hex_val(b));
                let lo = bytes.get(i + 2).and_then(|&b| hex_val(b));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_str(raw: &str) -> String {
    match decode_component(raw) {
        Cow::Borrowed(b) => String::from_utf8_lossy(b).into_owned(),
        Cow::Owned(v) => String::from_utf8_lossy(&v).into_owned(),
    }
}

/// Iterates `(raw_name, raw_value)` pairs of a raw query string, skipping empty pieces.
fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

fn bad_date(got: &str) -> SigError {
    SigError::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{got}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// Strict `YYYYMMDDTHHMMSSZ`.
fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    if s.len() != 16 || !s.is_ascii() {
        return None;
    }
    PrimitiveDateTime::parse(s, AMZ_DATE_FORMAT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// RFC 1123 `Date` header, e.g. `Sun, 30 Aug 2015 12:36:00 GMT`.
fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(s.trim(), HTTP_DATE_FORMAT)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

fn format_amz(t: OffsetDateTime) -> Option<String> {
    t.format(AMZ_DATE_FORMAT).ok()
}

/// Formats a unix time as `YYYYMMDDTHHMMSSZ` (falls back to the number if out of range).
fn format_unix(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(format_amz)
        .unwrap_or_else(|| secs.to_string())
}

/// Signing time of a header-form request: `X-Amz-Date`, else `Date`, as `YYYYMMDDTHHMMSSZ`.
fn header_amz_date(req: &Request) -> Result<String, SigError> {
    if let Some(v) = header(req, "x-amz-date") {
        let v = v.trim();
        return match parse_amz_date(v) {
            Some(_) => Ok(v.to_string()),
            None => Err(bad_date(v)),
        };
    }
    match header(req, "date") {
        Some(v) => parse_http_date(v)
            .and_then(format_amz)
            .ok_or_else(|| bad_date(v.trim())),
        None => Err(bad_date("")),
    }
}

struct Scope {
    access_key: String,
    date: String,
    region: String,
    service: String,
    terminator: String,
}

fn parse_credential(cred: &str) -> Result<Scope, SigError> {
    // AWS ignores trailing slashes, then wants exactly five elements.
    let trimmed = cred.trim_end_matches('/');
    let mut it = trimmed.split('/');
    let parts: [Option<&str>; 6] = [
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ];
    match parts {
        [Some(ak), Some(d), Some(r), Some(s), Some(t), None] => Ok(Scope {
            access_key: ak.to_string(),
            date: d.to_string(),
            region: r.to_string(),
            service: s.to_string(),
            terminator: t.to_string(),
        }),
        _ => Err(SigError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{cred}'"
        ))),
    }
}

fn parse_signed_headers(list: &str) -> Vec<String> {
    let mut v: Vec<String> = list
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn unsupported_algorithm(alg: &str) -> SigError {
    SigError::Incomplete(format!("Unsupported AWS 'algorithm': '{alg}'."))
}

/// Reads the signature information of a request: the `Authorization` header form
/// (`AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=...`) or the presigned query form
/// (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`,
/// `X-Amz-Signature`, optional `X-Amz-Expires` and `X-Amz-Security-Token`).
///
/// Checks only the syntax (algorithm, completeness, credential shape, date format, expires
/// range); the scope, clock and signature are [`Verifier::verify`]'s job.
pub fn parse(req: &Request) -> Result<ParsedAuth, SigError> {
    let auth_header = header(req, "authorization").filter(|h| !h.trim().is_empty());
    let query_alg = query_pairs(req.query).any(|(n, _)| decode_component(n) == &b"X-Amz-Algorithm"[..]);
    match (auth_header, query_alg) {
        (Some(_), true) => Err(SigError::Incomplete(
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
                .to_string(),
        )),
        (Some(h), false) => parse_header_form(req, h),
        (None, true) => parse_query_form(req),
        (None, false) => Err(SigError::Missing),
    }
}

fn parse_header_form(req: &Request, h: &str) -> Result<ParsedAuth, SigError> {
    let trimmed = h.trim();
    let (alg, rest) = match trimmed.find(|c: char| c.is_ascii_whitespace() || c == ',') {
        Some(i) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, ""),
    };
    if alg != ALGORITHM {
        return Err(unsupported_algorithm(alg));
    }

    let mut credential: Option<&str> = None;
    let mut signed_headers: Option<&str> = None;
    let mut signature: Option<&str> = None;
    for piece in rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
    {
        let Some((k, v)) = piece.split_once('=') else {
            return Err(SigError::Incomplete(format!(
                "'{piece}' not a valid key=value pair (missing equal-sign) in Authorization header: '{h}'."
            )));
        };
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }

    let credential = credential.filter(|v| !v.is_empty());
    let signature = signature.filter(|v| !v.is_empty());
    let has_date = header(req, "x-amz-date").is_some() || header(req, "date").is_some();
    let mut msg = String::new();
    if credential.is_none() {
        msg.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if signature.is_none() {
        msg.push_str("Authorization header requires 'Signature' parameter. ");
    }
    if signed_headers.is_none() {
        msg.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    if !has_date {
        msg.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signature), Some(signed_headers), true) =
        (credential, signature, signed_headers, msg.is_empty())
    else {
        msg.push_str("Authorization=");
        msg.push_str(h);
        return Err(SigError::Incomplete(msg));
    };

    let scope = parse_credential(credential)?;
    let amz_date = header_amz_date(req)?;
    Ok(ParsedAuth {
        access_key: scope.access_key,
        date: scope.date,
        region: scope.region,
        service: scope.service,
        terminator: scope.terminator,
        signed_headers: parse_signed_headers(signed_headers),
        signature: signature.to_string(),
        amz_date,
        security_token: header(req, "x-amz-security-token").map(|t| t.trim().to_string()),
        presigned: false,
        expires_secs: None,
    })
}

fn parse_query_form(req: &Request) -> Result<ParsedAuth, SigError> {
    const NAMES: [&str; 7] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Security-Token",
    ];
    let mut found: [Option<String>; 7] = Default::default();
    for (n, v) in query_pairs(req.query) {
        let name = decode_component(n);
        if let Some(i) = NAMES.iter().position(|k| k.as_bytes() == &*name) {
            if found[i].is_none() {
                found[i] = Some(decode_str(v));
            }
        }
    }
    let [alg, cred, sig, signed, date, expires, token] = found;

    let mut msg = String::new();
    for (name, val) in NAMES.iter().zip([&alg, &cred, &sig, &signed, &date]) {
        if val.as_deref().map_or(true, str::is_empty) {
            msg.push_str("AWS query-string parameters must include '");
            msg.push_str(name);
            msg.push_str("'. ");
        }
    }
    let (Some(alg), Some(cred), Some(sig), Some(signed), Some(date), true) =
        (alg, cred, sig, signed, date, msg.is_empty())
    else {
        msg.push_str("Re-examine the query-string parameters.");
        return Err(SigError::Incomplete(msg));
    };
    if alg != ALGORITHM {
        return Err(unsupported_algorithm(&alg));
    }
    let scope = parse_credential(&cred)?;
    if parse_amz_date(&date).is_none() {
        return Err(bad_date(&date));
    }
    let expires_secs = match expires {
        None => None,
        Some(e) => Some(parse_expires(&e)?),
    };
    Ok(ParsedAuth {
        access_key: scope.access_key,
        date: scope.date,
        region: scope.region,
        service: scope.service,
        terminator: scope.terminator,
        signed_headers: parse_signed_headers(&signed),
        signature: sig,
        amz_date: date,
        security_token: token
            .or_else(|| header(req, "x-amz-security-token").map(|t| t.trim().to_string())),
        presigned: true,
        expires_secs,
    })
}

fn parse_expires(e: &str) -> Result<u64, SigError> {
    match e.parse::<i64>() {
        Ok(n) if n < 0 => Err(SigError::Incomplete(
            "X-Amz-Expires must be non-negative".to_string(),
        )),
        Ok(n) if n as u64 > MAX_PRESIGN_EXPIRES_SECS => Err(SigError::Incomplete(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800".to_string(),
        )),
        Ok(n) => Ok(n as u64),
        Err(_) => Err(SigError::Incomplete(
            "X-Amz-Expires should be a number".to_string(),
        )),
    }
}
