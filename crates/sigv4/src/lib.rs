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

#![forbid(unsafe_code)]

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

// ---------------------------------------------------------------------------------------------
// Quoting request text in refusals
// ---------------------------------------------------------------------------------------------

/// Longest quote of request text a refusal carries, in bytes (AWS quotes whole headers; a
/// 300 KB header must not become a 300 KB message kept in the audit log).
pub const QUOTE_MAX: usize = 256;

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Request text as a refusal may quote it: what looks like a secret access key redacted (see
/// [`redact_secrets`], and the key-ID slot of every `Credential=`), then cut to
/// [`QUOTE_MAX`] bytes on a character boundary, `…` marking the cut.
pub fn quote(text: &str) -> String {
    // Redact on a bounded window only: the cut below keeps less than this.
    let window = cut(text, QUOTE_MAX * 4);
    let mut out = redact_secrets(&redact_credentials(window));
    if out.len() > QUOTE_MAX || window.len() < text.len() {
        out = format!("{}…", cut(&out, QUOTE_MAX));
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// True when `key` could be an access key ID: 1 to 128 word characters (IAM's `AccessKeyId`
/// pattern `[\w]+`) that do not look like a secret key (40 characters with lower-case
/// letters: AWS key IDs are upper-case, secret keys mixed).
fn plausible_key_id(key: &str) -> bool {
    (1..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !(key.len() == 40 && key.bytes().any(|b| b.is_ascii_lowercase()))
}

/// A `Credential` value with its key-ID slot redacted unless it is a plausible key ID. The slot
/// is the first of five elements, else everything before the date element (eight digits): a
/// secret pasted there (secret keys contain `/`) adds elements. Without a date element, where the key ends is unknown and the
/// whole value is redacted.
fn redact_credential(cred: &str) -> String {
    let parts: Vec<&str> = cred.split('/').collect();
    let is_date = |p: &&str| p.len() == 8 && p.bytes().all(|b| b.is_ascii_digit());
    // Five elements: the first is the key, whatever the date looks like.
    let date_at = if parts.len() == 5 {
        Some(1)
    } else {
        parts.iter().skip(1).position(is_date).map(|i| i + 1)
    };
    let Some(date_at) = date_at else {
        return if parts.len() == 1 && plausible_key_id(cred) {
            cred.to_string()
        } else {
            REDACTED.to_string()
        };
    };
    let key = parts[..date_at].join("/");
    if plausible_key_id(&key) {
        return cred.to_string();
    }
    std::iter::once(REDACTED)
        .chain(parts[date_at..].iter().copied())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `Credential=` value in `text` (an `Authorization` header, a query string) with its
/// key-ID slot redacted where it does not look like a key ID.
fn redact_credentials(text: &str) -> String {
    const NAMES: [&str; 2] = ["Credential=", "X-Amz-Credential="];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, name)) = NAMES
        .iter()
        .filter_map(|n| rest.find(n).map(|i| (i, *n)))
        .min()
    {
        let start = at + name.len();
        out.push_str(&rest[..start]);
        let value_len = rest[start..]
            .find(|c: char| c == ',' || c == '&' || c.is_ascii_whitespace())
            .unwrap_or(rest.len() - start);
        out.push_str(&redact_credential(&rest[start..start + value_len]));
        rest = &rest[start + value_len..];
    }
    out.push_str(rest);
    out
}

/// Runs of exactly 40 base64 characters (`A-Z a-z 0-9 + /`) with lower- and upper-case
/// letters, the shape of an AWS secret access key, replaced by [`REDACTED`]. Signatures (64
/// lower-case hex digits) and key IDs (upper-case) keep their text.
pub fn redact_secrets(text: &str) -> String {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let run = &bytes[start..i];
        if run.len() == 40
            && run.iter().any(u8::is_ascii_lowercase)
            && run.iter().any(u8::is_ascii_uppercase)
        {
            // runs are ASCII, so both ends are character boundaries
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = i;
        }
    }
    out.push_str(&text[copied..]);
    out
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
        "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
        quote(got)
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
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            quote(&redact_credential(cred))
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
    SigError::Incomplete(format!("Unsupported AWS 'algorithm': '{}'.", quote(alg)))
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
    // Two `Authorization` headers: a front end joining them and one using the first would
    // verify different things. AWS's text is undocumented; we refuse in the same
    // IncompleteSignature family, naming the count.
    let count = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .count();
    if count > 1 {
        return Err(SigError::Incomplete(format!(
            "Found {count} 'Authorization' HTTP headers; a request carries exactly one."
        )));
    }
    let auth_header = header(req, "authorization").filter(|h| !h.trim().is_empty());
    let query_alg =
        query_pairs(req.query).any(|(n, _)| decode_component(n) == &b"X-Amz-Algorithm"[..]);
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
                "'{}' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'.",
                quote(piece),
                quote(h)
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
        msg.push_str(&quote(h));
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
        if !matches!(val.as_deref(), Some(v) if !v.is_empty()) {
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

// ---------------------------------------------------------------------------------------------
// Canonical request
// ---------------------------------------------------------------------------------------------

/// Where canonical text goes: a buffer (for [`canonical_request`]) or straight into a hash
/// (for [`Verifier::verify`], which never materialises the canonical request).
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

impl Sink for HmacSha256 {
    fn put(&mut self, bytes: &[u8]) {
        Mac::update(self, bytes);
    }
}

/// RFC 3986 unreserved characters: the only ones SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` with SigV4's strict URI encoding (`%XX`, uppercase), keeping `'/'` if asked.
fn put_encoded(sink: &mut impl Sink, bytes: &[u8], keep_slash: bool) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            continue;
        }
        if start < i {
            sink.put(&bytes[start..i]);
        }
        sink.put(&[
            b'%',
            HEX_UPPER[usize::from(b >> 4)],
            HEX_UPPER[usize::from(b & 15)],
        ]);
        start = i + 1;
    }
    if start < bytes.len() {
        sink.put(&bytes[start..]);
    }
}

/// `text` with SigV4's strict URI encoding (every byte but the unreserved ones as `%XX`,
/// uppercase): what a client signing a query string, or a presigned URL, encodes with.
pub fn uri_encode(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    put_encoded(&mut out, text.as_bytes(), false);
    // only ASCII was added to valid UTF-8 split at ASCII boundaries
    String::from_utf8(out).expect("percent-encoding keeps UTF-8")
}

/// True when the path has `.`/`..` segments, empty segments (`//`), or no leading `/`.
fn needs_normalization(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return true;
    };
    let mut segs = rest.split('/').peekable();
    while let Some(s) = segs.next() {
        let last = segs.peek().is_none();
        if s == "." || s == ".." || (s.is_empty() && !last) {
            return true;
        }
    }
    false
}

/// Canonical URI for every service but S3: the received (already percent-encoded) path,
/// optionally normalized (RFC 3986 dot-segment removal plus collapsing of empty segments,
/// trailing slash kept), then URI-encoded once more — so `%3A` becomes `%253A`.
fn put_canonical_uri(sink: &mut impl Sink, path: &str, normalize: bool) {
    if path.is_empty() {
        sink.put(b"/");
        return;
    }
    if !normalize || !needs_normalization(path) {
        put_encoded(sink, path.as_bytes(), true);
        return;
    }
    let mut segs: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    sink.put(b"/");
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            sink.put(b"/");
        }
        put_encoded(sink, s.as_bytes(), false);
    }
    let trailing_slash = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if trailing_slash && !segs.is_empty() {
        sink.put(b"/");
    }
}

fn ascii_string(v: Vec<u8>) -> String {
    String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Decodes a raw query component, then re-encodes it strictly (space → `%20`).
fn canonical_component(raw: &str) -> Cow<'_, str> {
    let decoded = decode_component(raw);
    if decoded.iter().all(|&b| is_unreserved(b)) {
        return match decoded {
            Cow::Borrowed(_) => Cow::Borrowed(raw),
            Cow::Owned(v) => Cow::Owned(ascii_string(v)),
        };
    }
    let mut out = Vec::with_capacity(decoded.len() * 3);
    put_encoded(&mut out, &decoded, false);
    Cow::Owned(ascii_string(out))
}

/// Canonical query: pairs decoded and re-encoded, sorted by name then value, joined by `&`;
/// `X-Amz-Signature` is left out for the presigned form.
fn put_canonical_query(sink: &mut impl Sink, query: &str, skip_signature: bool) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = query_pairs(query)
        .map(|(n, v)| (canonical_component(n), canonical_component(v)))
        .filter(|(n, _)| !(skip_signature && n == "X-Amz-Signature"))
        .collect();
    pairs.sort_unstable();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            sink.put(b"&");
        }
        sink.put(n.as_bytes());
        sink.put(b"=");
        sink.put(v.as_bytes());
    }
}

/// Header value trimmed, with every inner run of whitespace collapsed to one space.
fn put_header_value(sink: &mut impl Sink, v: &str) {
    for (i, word) in v.split_ascii_whitespace().enumerate() {
        if i > 0 {
            sink.put(b" ");
        }
        sink.put(word.as_bytes());
    }
}

/// Signed header names, lowercase, sorted, unique (borrowed when `ParsedAuth` came from
/// [`parse`], which already stores them that way).
fn signed_names(auth: &ParsedAuth) -> Cow<'_, [String]> {
    let h = &auth.signed_headers;
    let canonical = h.windows(2).all(|w| w[0] < w[1])
        && h.iter().all(|n| !n.bytes().any(|b| b.is_ascii_uppercase()));
    if canonical {
        return Cow::Borrowed(h);
    }
    let mut v: Vec<String> = h.iter().map(|n| n.to_ascii_lowercase()).collect();
    v.sort_unstable();
    v.dedup();
    Cow::Owned(v)
}

enum Payload<'a> {
    /// The client's `x-amz-content-sha256` value, used verbatim.
    Given(&'a str),
    /// Lowercase hex SHA-256 of the body.
    Computed([u8; 64]),
}

impl Payload<'_> {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Payload::Given(s) => s.as_bytes(),
            Payload::Computed(h) => h,
        }
    }
}

fn hex32(b: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, &x) in b.iter().enumerate() {
        out[2 * i] = HEX_LOWER[usize::from(x >> 4)];
        out[2 * i + 1] = HEX_LOWER[usize::from(x & 15)];
    }
    out
}

fn sha256_hex(data: &[u8]) -> [u8; 64] {
    hex32(&Sha256::digest(data).into())
}

/// The payload hash of the canonical request. `x-amz-content-sha256`, when present, is what
/// the client signed: `UNSIGNED-PAYLOAD` and `STREAMING-*` are used as such; a digest is used
/// as sent but (if `check`) must equal the body's SHA-256. Without the header, the body's
/// SHA-256 (header and presigned forms alike, as the AWS test suite expects).
fn payload_hash<'a>(req: &Request<'a>, check: bool) -> Result<Payload<'a>, SigError> {
    let Some(v) = header(req, "x-amz-content-sha256") else {
        return Ok(Payload::Computed(sha256_hex(req.body)));
    };
    let v = v.trim();
    if v == "UNSIGNED-PAYLOAD" || v.starts_with("STREAMING-") {
        return Ok(Payload::Given(v));
    }
    if check && !v.as_bytes().eq_ignore_ascii_case(&sha256_hex(req.body)) {
        return Err(SigError::BadContentSha256);
    }
    Ok(Payload::Given(v))
}

fn put_canonical_request(
    sink: &mut impl Sink,
    req: &Request,
    auth: &ParsedAuth,
    normalize_path: bool,
    payload: &[u8],
) -> Result<(), SigError> {
    sink.put(req.method.as_bytes());
    sink.put(b"\n");
    put_canonical_uri(sink, req.path, normalize_path);
    sink.put(b"\n");
    put_canonical_query(sink, req.query, auth.presigned);
    sink.put(b"\n");
    let names = signed_names(auth);
    for name in names.iter() {
        sink.put(name.as_bytes());
        sink.put(b":");
        let mut found = false;
        for &(n, v) in req.headers {
            if n.eq_ignore_ascii_case(name) {
                if found {
                    sink.put(b",");
                }
                put_header_value(sink, v);
                found = true;
            }
        }
        if !found {
            // A header the client says it signed is not there: the signature cannot match.
            return Err(SigError::Mismatch);
        }
        sink.put(b"\n");
    }
    sink.put(b"\n");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            sink.put(b";");
        }
        sink.put(name.as_bytes());
    }
    sink.put(b"\n");
    sink.put(payload);
    Ok(())
}

/// The SigV4 canonical request of `req`, as the client must have built it.
///
/// `normalize_path`: true for every AWS service except S3. Fails with
/// [`SigError::Mismatch`] when a header listed in `SignedHeaders` is absent.
pub fn canonical_request(
    req: &Request,
    auth: &ParsedAuth,
    normalize_path: bool,
) -> Result<String, SigError> {
    let payload = payload_hash(req, false)?;
    let mut out = Vec::with_capacity(256 + req.path.len() + req.query.len());
    put_canonical_request(&mut out, req, auth, normalize_path, payload.as_bytes())?;
    Ok(ascii_string(out))
}

fn put_string_to_sign(sink: &mut impl Sink, auth: &ParsedAuth, creq_hash_hex: &[u8]) {
    sink.put(ALGORITHM.as_bytes());
    sink.put(b"\n");
    sink.put(auth.amz_date.as_bytes());
    sink.put(b"\n");
    sink.put(auth.date.as_bytes());
    sink.put(b"/");
    sink.put(auth.region.as_bytes());
    sink.put(b"/");
    sink.put(auth.service.as_bytes());
    sink.put(b"/");
    sink.put(auth.terminator.as_bytes());
    sink.put(b"\n");
    sink.put(creq_hash_hex);
}

/// The SigV4 string to sign: algorithm, signing time, credential scope and the hex SHA-256 of
/// the canonical request, one per line.
pub fn string_to_sign(canonical_request: &str, auth: &ParsedAuth) -> String {
    let mut out = Vec::with_capacity(128);
    put_string_to_sign(&mut out, auth, &sha256_hex(canonical_request.as_bytes()));
    ascii_string(out)
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

fn new_mac(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = new_mac(key);
    m.update(data);
    m.finalize().into_bytes().into()
}

/// The signature (lower-case hex) of `string_to_sign` under `secret` for the scope
/// `date/region/service/aws4_request`: what a client signing a request computes, with the same
/// key derivation the verifier uses.
pub fn signature(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let key = derive_signing_key(secret, date, region, service);
    let hex = hex32(&hmac(&key, string_to_sign.as_bytes()));
    String::from_utf8_lossy(&hex).into_owned()
}

fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac(&k_secret, date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, TERMINATOR.as_bytes())
}

/// Equality that looks at every byte whatever the first difference, so the response time does
/// not tell an attacker how many leading characters of a forged signature were right. The
/// length is not secret (a valid signature is always 64 hex digits).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

struct CachedKey {
    date: String,
    region: String,
    service: String,
    /// The secret the key was derived from: a changed secret means a new key.
    secret: String,
    key: [u8; 32],
}

impl CachedKey {
    fn scope_is(&self, auth: &ParsedAuth) -> bool {
        self.date == auth.date && self.region == auth.region && self.service == auth.service
    }
}

/// Verifies signatures, caching derived signing keys.
///
/// Deriving a SigV4 signing key costs four HMACs; the cache (access key → a few
/// (date, region, service) scopes, each with the secret it was derived from) brings the hot
/// path down to one HMAC over the string to sign plus the hashing of the canonical request and
/// body. Lookups take a read lock and do not allocate. The cache is bounded: it is cleared when
/// it holds more than 10 000 access keys, and keeps at most 8 scopes per key.
pub struct Verifier {
    cache: RwLock<HashMap<String, Vec<CachedKey>>>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print cached secrets or keys.
        f.debug_struct("Verifier")
            .field("cached_access_keys", &self.cache.read().len())
            .finish()
    }
}

impl Verifier {
    pub fn new() -> Self {
        Self {
            cache: RwLock::new(HashMap::new()),
        }
    }

    fn signing_key(&self, auth: &ParsedAuth, secret: &str) -> [u8; 32] {
        if let Some(list) = self.cache.read().get(auth.access_key.as_str()) {
            if let Some(e) = list.iter().find(|e| e.scope_is(auth)) {
                if ct_eq(e.secret.as_bytes(), secret.as_bytes()) {
                    return e.key;
                }
            }
        }
        let key = derive_signing_key(secret, &auth.date, &auth.region, &auth.service);
        let mut map = self.cache.write();
        if map.len() >= CACHE_MAX_KEYS && !map.contains_key(auth.access_key.as_str()) {
            map.clear();
        }
        let list = map.entry(auth.access_key.clone()).or_default();
        list.retain(|e| !e.scope_is(auth));
        if list.len() >= CACHE_MAX_SCOPES_PER_KEY {
            list.remove(0);
        }
        list.push(CachedKey {
            date: auth.date.clone(),
            region: auth.region.clone(),
            service: auth.service.clone(),
            secret: secret.to_string(),
            key,
        });
        key
    }

    /// Checks, in this order:
    /// 1. the credential scope: region accepted by `region_ok`, service == `expected_service`,
    ///    terminator `aws4_request`, scope date == date part of the signing time;
    /// 2. the clock: signing time within [`MAX_SKEW_SECS`] of `now_unix` (seconds); for a
    ///    presigned URL with `X-Amz-Expires`, not yet current more than 5 min. ahead and not
    ///    past signing time + expires;
    /// 3. `host` is among the signed headers (AWS requires it; otherwise
    ///    [`SigError::Incomplete`] with AWS's sentence);
    /// 4. `x-amz-content-sha256`, if a digest, matches the body;
    /// 5. the signature, recomputed with `secret` and compared in constant time.
    ///
    /// The canonical URI is always normalized (the rule for every AWS service except S3,
    /// which this crate does not serve).
    pub fn verify(
        &self,
        req: &Request,
        auth: &ParsedAuth,
        secret: &str,
        expected_service: &str,
        region_ok: &dyn Fn(&str) -> bool,
        now_unix: i64,
    ) -> Result<(), SigError> {
        if !region_ok(&auth.region) {
            return Err(SigError::BadRegion {
                region: auth.region.clone(),
            });
        }
        if auth.service != expected_service {
            return Err(SigError::BadService {
                expected: expected_service.to_string(),
            });
        }
        if auth.terminator != TERMINATOR {
            return Err(SigError::BadTerminator {
                got: quote(&auth.terminator),
            });
        }
        if auth.amz_date.get(..8) != Some(auth.date.as_str()) {
            return Err(SigError::DateMismatch {
                scope: quote(&auth.date),
                amz_date: auth.amz_date.clone(),
            });
        }
        let signed = parse_amz_date(&auth.amz_date)
            .ok_or_else(|| bad_date(&auth.amz_date))?
            .unix_timestamp();
        check_clock(auth, signed, now_unix)?;
        // Over HTTP/2 the JS SDK signs the `:authority` pseudo-header instead of `host`; it
        // names the same thing, so either satisfies AWS's rule.
        if !auth
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("host") || h == ":authority")
        {
            return Err(SigError::Incomplete(
                "'Host' must be a 'SignedHeader' in the AWS Authorization.".to_string(),
            ));
        }

        let payload = payload_hash(req, true)?;
        let mut hasher = Sha256::new();
        put_canonical_request(&mut hasher, req, auth, true, payload.as_bytes())?;
        let creq_hash = hex32(&hasher.finalize().into());

        let key = self.signing_key(auth, secret);
        let mut mac = new_mac(&key);
        put_string_to_sign(&mut mac, auth, &creq_hash);
        let expected = hex32(&mac.finalize().into_bytes().into());
        if ct_eq(&expected, auth.signature.as_bytes()) {
            Ok(())
        } else {
            Err(SigError::Mismatch)
        }
    }
}

fn check_clock(auth: &ParsedAuth, signed: i64, now: i64) -> Result<(), SigError> {
    if signed.saturating_sub(now) > MAX_SKEW_SECS {
        return Err(SigError::NotYetCurrent {
            signed: auth.amz_date.clone(),
            latest: format_unix(now.saturating_add(MAX_SKEW_SECS)),
            now: format_unix(now),
        });
    }
    let age = now.saturating_sub(signed);
    match (auth.presigned, auth.expires_secs) {
        (true, Some(expires)) => {
            if age > i64::try_from(expires).unwrap_or(i64::MAX) {
                return Err(SigError::PresignExpired);
            }
        }
        _ => {
            if age > MAX_SKEW_SECS {
                return Err(SigError::Expired {
                    signed: auth.amz_date.clone(),
                    earliest: format_unix(now.saturating_sub(MAX_SKEW_SECS)),
                    now: format_unix(now),
                });
            }
        }
    }
    Ok(())
}
