//! Shared helpers for the integration tests: locating the official AWS SigV4 test suite (shipped
//! in the `aws-sigv4` crate package), reading its cases, and parsing its HTTP request files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use bg_sigv4::Request;

/// The AWS documentation example secret used by the whole suite.
pub const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Finds `aws-signing-test-suite/` inside the `aws-sigv4` package: through `cargo metadata`,
/// else (if metadata cannot run, e.g. a sibling manifest is mid-edit) in cargo's registry
/// sources. Returns `Err(reason)` when it cannot, so callers can print a clear skip message.
pub fn suite_root() -> Result<PathBuf, String> {
    match suite_root_from_metadata() {
        Ok(p) => Ok(p),
        Err(why) => suite_root_from_registry().ok_or(why),
    }
}

fn suite_root_from_registry() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut found = Vec::new();
    for index in std::fs::read_dir(home.join("registry/src")).ok()?.flatten() {
        for pkg in std::fs::read_dir(index.path()).ok()?.flatten() {
            let name = pkg.file_name().to_string_lossy().into_owned();
            let suite = pkg.path().join("aws-signing-test-suite");
            if name.starts_with("aws-sigv4-") && suite.join("v4").is_dir() {
                found.push(suite);
            }
        }
    }
    found.sort();
    let chosen = found.pop()?;
    eprintln!(
        "note: cargo metadata unavailable; using {}",
        chosen.display()
    );
    Some(chosen)
}

fn suite_root_from_metadata() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").map_err(|_| "env var CARGO is not set".to_string())?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut last_err = String::new();
    for extra in [&[][..], &["--offline"][..]] {
        let out = Command::new(&cargo)
            .args(["metadata", "--format-version", "1"])
            .args(extra)
            .current_dir(&workspace)
            .output()
            .map_err(|e| format!("cannot run `{cargo} metadata`: {e}"))?;
        if !out.status.success() {
            last_err = format!(
                "`cargo metadata {}` failed: {}",
                extra.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("cargo metadata output is not JSON: {e}"))?;
        let packages = v["packages"].as_array().cloned().unwrap_or_default();
        let mut found = Vec::new();
        for p in packages.iter().filter(|p| p["name"] == "aws-sigv4") {
            if let Some(manifest) = p["manifest_path"].as_str() {
                let dir = Path::new(manifest)
                    .parent()
                    .unwrap_or(Path::new("/"))
                    .join("aws-signing-test-suite");
                if dir.join("v4").is_dir() {
                    found.push(dir);
                }
            }
        }
        found.sort();
        return found.pop().ok_or_else(|| {
            "package aws-sigv4 (with aws-signing-test-suite/v4) not found in cargo metadata"
                .to_string()
        });
    }
    Err(last_err)
}

/// `context.json` of a case (or synthesized for the old-format cases that have none).
#[derive(Debug, Clone)]
pub struct Context {
    pub access_key: String,
    pub secret: String,
    pub token: Option<String>,
    pub region: String,
    pub service: String,
    pub normalize: bool,
    pub sign_body: bool,
    pub omit_session_token: bool,
    pub expiration_secs: u64,
    pub timestamp_unix: i64,
}

pub fn rfc3339_to_unix(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"))
        .unix_timestamp()
}

pub fn amz_to_unix(s: &str) -> i64 {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, f)
        .unwrap_or_else(|e| panic!("bad amz date {s}: {e}"))
        .assume_utc()
        .unix_timestamp()
}

pub fn read_context(dir: &Path) -> Option<Context> {
    let text = std::fs::read_to_string(dir.join("context.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).expect("context.json is JSON");
    let c = &v["credentials"];
    Some(Context {
        access_key: c["access_key_id"].as_str().unwrap().to_string(),
        secret: c["secret_access_key"].as_str().unwrap().to_string(),
        token: c["token"].as_str().map(str::to_string),
        region: v["region"].as_str().unwrap().to_string(),
        service: v["service"].as_str().unwrap().to_string(),
        normalize: v["normalize"].as_bool().unwrap_or(true),
        sign_body: v["sign_body"].as_bool().unwrap_or(false),
        omit_session_token: v["omit_session_token"].as_bool().unwrap_or(false),
        expiration_secs: v["expiration_in_seconds"].as_u64().unwrap_or(3600),
        timestamp_unix: rfc3339_to_unix(v["timestamp"].as_str().unwrap()),
    })
}

/// A request read from a suite file, owned; [`OwnedRequest::with`] lends it as a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OwnedRequest {
    pub fn with<R>(&self, f: impl FnOnce(&Request) -> R) -> R {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let req = Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        };
        f(&req)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the suite's HTTP/1.1 request text: request line (the target may contain spaces, the
/// ` HTTP/1.1` suffix may be missing), headers (folded continuation lines are joined with a
/// space, as RFC 7230 tells recipients to do; duplicates kept), blank line, body.
pub fn parse_http(raw: &[u8]) -> OwnedRequest {
    let (head, body) = split_head(raw);
    let head = std::str::from_utf8(head).expect("request head is UTF-8");
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let target = match rest.rsplit_once(' ') {
        Some((t, v)) if v.starts_with("HTTP/") => t,
        _ => rest,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let last = headers
                .last_mut()
                .expect("continuation line after a header");
            last.1.push(' ');
            last.1.push_str(line.trim_matches([' ', '\t']));
            continue;
        }
        let (n, v) = line.split_once(':').expect("header line has ':'");
        headers.push((n.to_string(), v.trim_matches([' ', '\t']).to_string()));
    }
    OwnedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.to_vec(),
    }
}

fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    for sep in [&b"\r\n\r\n"[..], &b"\n\n"[..]] {
        if let Some(i) = raw.windows(sep.len()).position(|w| w == sep) {
            return (&raw[..i], &raw[i + sep.len()..]);
        }
    }
    (raw, &[])
}

pub fn read(dir: &Path, file: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(file)).ok()
}

pub fn read_text(dir: &Path, file: &str) -> Option<String> {
    read(dir, file).map(|b| String::from_utf8(b).expect("suite text is UTF-8"))
}

/// One form (header-signed or query-signed) of one suite case, ready to verify.
#[derive(Debug, Clone)]
pub struct SignedCase {
    pub name: String,
    pub form: &'static str,
    pub request: OwnedRequest,
    pub ctx: Context,
    pub canonical: Option<String>,
    pub string_to_sign: Option<String>,
    pub signature: Option<String>,
}

/// Cases without `context.json` that the suite's README says were migrated from the old
/// format. Each gets an explicit treatment here instead of a silent skip.
pub enum Special {
    /// Its `header-canonical-request.txt` contradicts its own signed request (the canonical
    /// text has `x-amz-date:20210511T154045Z`, the request `20150830T123600Z`) and its access
    /// key `ANOTREAL` has no secret in the suite: only the canonical URI line (the point of the
    /// case: `%3D` → `%253D`, `@` → `%40`) can be checked.
    UriOnly,
    /// No `context.json`; the signature is made with the suite's example secret, the scope and
    /// time come from the request itself (`us-east-2`, `lambda`, `20210511T154045Z`).
    ContextFromRequest,
}

pub fn special(name: &str) -> Option<Special> {
    match name {
        "double-encode-path" => Some(Special::UriOnly),
        "double-url-encode" => Some(Special::ContextFromRequest),
        _ => None,
    }
}

/// (case, form) pairs the suite ships that this verifier deliberately does not accept, with the
/// reason. `official_v4_suite` checks that each is indeed rejected (so the list stays honest).
pub fn excluded_form(name: &str, form: &str) -> Option<&'static str> {
    match (name, form) {
        ("post-sts-header-after", "query") => Some(
            "X-Amz-Security-Token is appended to the presigned query after signing \
             (omit_session_token), a convention only a few services (e.g. IoT websockets) accept; \
             like AWS's regular services, this verifier signs every query parameter except \
             X-Amz-Signature",
        ),
        _ => None,
    }
}

/// Every verifiable (case, form) of the v4 suite (see [`excluded_form`] and [`special`]).
pub fn signed_cases(v4: &Path) -> Vec<SignedCase> {
    all_cases(v4)
        .into_iter()
        .filter(|c| excluded_form(&c.name, c.form).is_none())
        .collect()
}

/// Every (case, form) of the v4 suite that has a context, excluded ones included.
pub fn all_cases(v4: &Path) -> Vec<SignedCase> {
    let mut names: Vec<String> = std::fs::read_dir(v4)
        .expect("read v4 dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let dir = v4.join(&name);
        let ctx = match (read_context(&dir), special(&name)) {
            (Some(c), None) => c,
            (None, Some(Special::ContextFromRequest)) => {
                let req = parse_http(&read(&dir, "header-signed-request.txt").unwrap());
                let auth = req.with(bg_sigv4::parse).expect("parse");
                Context {
                    access_key: auth.access_key.clone(),
                    secret: EXAMPLE_SECRET.to_string(),
                    token: None,
                    region: auth.region.clone(),
                    service: auth.service.clone(),
                    normalize: true,
                    sign_body: false,
                    omit_session_token: false,
                    expiration_secs: 3600,
                    timestamp_unix: amz_to_unix(&auth.amz_date),
                }
            }
            (None, Some(Special::UriOnly)) => continue,
            (Some(_), Some(_)) => panic!("{name}: special case now has a context.json; revisit"),
            (None, None) => panic!("{name}: no context.json and not listed as a special case"),
        };
        for form in ["header", "query"] {
            let Some(raw) = read(&dir, &format!("{form}-signed-request.txt")) else {
                continue;
            };
            let trim = |s: String| s.trim_end_matches(['\n', '\r']).to_string();
            out.push(SignedCase {
                name: name.clone(),
                form,
                request: parse_http(&raw),
                ctx: ctx.clone(),
                canonical: read_text(&dir, &format!("{form}-canonical-request.txt")).map(trim),
                string_to_sign: read_text(&dir, &format!("{form}-string-to-sign.txt")).map(trim),
                signature: read_text(&dir, &format!("{form}-signature.txt")).map(trim),
            });
        }
    }
    out
}

/// Locates the suite or prints why the calling test is skipped.
pub fn v4_dir_or_skip(test: &str) -> Option<PathBuf> {
    match suite_root() {
        Ok(root) => Some(root.join("v4")),
        Err(why) => {
            eprintln!(
                "SKIPPED {test}: the official AWS SigV4 test suite could not be located ({why})"
            );
            None
        }
    }
}

/// Test-side signer (independent of `Verifier`): computes the signature of `req` for `auth`
/// with `canonical_request` + `string_to_sign` — both checked against the official suite — and
/// a from-scratch signing-key derivation.
pub fn signature_for(req: &OwnedRequest, auth: &bg_sigv4::ParsedAuth, secret: &str) -> String {
    use hmac::{Hmac, Mac};
    type H = Hmac<sha2::Sha256>;
    fn mac(key: &[u8], data: &str) -> Vec<u8> {
        let mut m = H::new_from_slice(key).unwrap();
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    }
    let creq = req
        .with(|r| bg_sigv4::canonical_request(r, auth, true))
        .expect("canonical request");
    let sts = bg_sigv4::string_to_sign(&creq, auth);
    let k = mac(format!("AWS4{secret}").as_bytes(), &auth.date);
    let k = mac(&k, &auth.region);
    let k = mac(&k, &auth.service);
    let k = mac(&k, "aws4_request");
    mac(&k, &sts).iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds a header-signed request: adds `x-amz-date`, signs `signed` (lowercase names) and
/// adds the `Authorization` header.
#[allow(clippy::too_many_arguments)]
pub fn sign_header_form(
    mut req: OwnedRequest,
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
    amz_date: &str,
    signed: &[&str],
) -> OwnedRequest {
    req.headers.push(("X-Amz-Date".into(), amz_date.into()));
    let mut signed: Vec<String> = signed.iter().map(|s| s.to_string()).collect();
    signed.sort();
    let auth = bg_sigv4::ParsedAuth {
        access_key: access_key.into(),
        date: amz_date[..8].into(),
        region: region.into(),
        service: service.into(),
        terminator: "aws4_request".into(),
        signed_headers: signed.clone(),
        signature: String::new(),
        amz_date: amz_date.into(),
        security_token: None,
        presigned: false,
        expires_secs: None,
    };
    let sig = signature_for(&req, &auth, secret);
    req.headers.push((
        "Authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/{}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={sig}",
            &amz_date[..8],
            signed.join(";")
        ),
    ));
    req
}

/// Strict SigV4 query encoding (everything but unreserved characters).
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Builds a presigned (query-signed) request for `signed` headers.
#[allow(clippy::too_many_arguments)]
pub fn sign_query_form(
    mut req: OwnedRequest,
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
    amz_date: &str,
    expires: u64,
    signed: &[&str],
) -> OwnedRequest {
    let cred = format!(
        "{access_key}/{}/{region}/{service}/aws4_request",
        &amz_date[..8]
    );
    let signed_list = signed.join(";");
    let auth_params = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={amz_date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders={}",
        enc(&cred),
        enc(&signed_list)
    );
    req.query = if req.query.is_empty() {
        auth_params
    } else {
        format!("{}&{auth_params}", req.query)
    };
    // parse() wants a signature; X-Amz-Signature is not part of the canonical query anyway.
    let mut probe = req.clone();
    probe.query.push_str("&X-Amz-Signature=0");
    let auth = probe.with(bg_sigv4::parse).expect("presigned parses");
    let sig = signature_for(&req, &auth, secret);
    req.query.push_str(&format!("&X-Amz-Signature={sig}"));
    req
}

/// A Bedrock Converse call as the SDKs send it (raw path keeps `%3A`), not yet signed.
pub fn converse_request(body_len: usize) -> OwnedRequest {
    let body: Vec<u8> = format!(
        "{{\"messages\":[{{\"role\":\"user\",\"content\":[{{\"text\":\"{}\"}}]}}]}}",
        "x".repeat(body_len.saturating_sub(52))
    )
    .into_bytes();
    OwnedRequest {
        method: "POST".into(),
        path: "/model/amazon.nova-lite-v1%3A0/converse".into(),
        query: String::new(),
        headers: vec![
            (
                "host".into(),
                "bedrock-runtime.us-east-1.amazonaws.com".into(),
            ),
            ("content-type".into(), "application/json".into()),
            ("content-length".into(), body.len().to_string()),
            (
                "amz-sdk-invocation-id".into(),
                "0e9a2a6e-5b0f-4c0e-9a36-0c7f5d0f8e61".into(),
            ),
            ("amz-sdk-request".into(), "attempt=1; max=3".into()),
            (
                "user-agent".into(),
                "aws-sdk-rust/1.3.9 os/linux lang/rust/1.95.0".into(),
            ),
        ],
        body,
    }
}
