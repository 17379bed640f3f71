//! The emulator's own routes under `/_bedrock-gates/`: health, the gate clock tests advance, the
//! audit log and the invocation log; and the two guards every request passes first.
//!
//! Threat model (docs/serve.md, "Threat model"): serve holds access keys and answers anything
//! that reaches its port, so a web page in the developer's browser is the attacker to stop.
//! - **Host / Origin.** A DNS-rebinding page reaches the loopback port under its own name, so a
//!   request is served only when its `Host` (or HTTP/2 `:authority`) names an address serve
//!   listens on; a request carrying an `Origin` (browsers send one on every cross-site request,
//!   SDKs never do) must name one of those hosts too.
//! - **Admin token.** The admin routes are unsigned, so they take a random token that serve
//!   creates at first start, keeps next to the state file (`admin-token`, 0600) and prints in its
//!   banner. Primary form: `Authorization: Bearer <token>`; `x-bedrock-gates-admin-token: <token>`
//!   is accepted too (for tools that reserve `Authorization`).

use crate::error::ApiError;
use crate::App;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Response};
use std::borrow::Cow;
use std::path::Path;

/// The admin token's file, next to the state file.
pub const TOKEN_FILE: &str = "admin-token";
/// The header that may carry the token instead of `Authorization: Bearer`.
pub const TOKEN_HEADER: &str = "x-bedrock-gates-admin-token";
/// Longest header text a refusal quotes (the rest is cut, `…` marks the cut).
const QUOTE_MAX: usize = 256;

/// Hosts that always name this server: the loopback names, with any port.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// A fresh token: 32 bytes from the OS, hex (64 characters).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    // getrandom fails only where the OS has no randomness source at all; serve then cannot
    // protect its admin routes, so it must not start.
    getrandom::getrandom(&mut b).expect("the OS random source");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The token kept in `dir/admin-token`: read when the file exists, else created (0600, never
/// replaced: `create_new`, so two starts racing agree on the first one written).
pub fn load_or_create_token(dir: &Path) -> std::io::Result<String> {
    let path = dir.join(TOKEN_FILE);
    let read = |path: &Path| -> std::io::Result<String> {
        let t = std::fs::read_to_string(path)?.trim().to_string();
        if t.len() < 32 || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} does not hold an admin token (32 or more printable characters); delete it and serve creates a new one",
                    path.display()
                ),
            ));
        }
        Ok(t)
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            let t = new_token();
            f.write_all(format!("{t}\n").as_bytes())?;
            f.sync_all()?;
            Ok(t)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e),
    }
}

/// At most [`QUOTE_MAX`] bytes of `s` (cut on a character boundary), for refusal texts.
pub fn quote(s: &str) -> String {
    if s.len() <= QUOTE_MAX {
        return s.to_string();
    }
    let mut end = QUOTE_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The host part of a `Host` value or an `Origin`'s authority, lower-cased, without the port:
/// `127.0.0.1:4950` → `127.0.0.1`, `[::1]:80` → `[::1]`, `LocalHost` → `localhost`; borrowed
/// when it already is lower-case (every request's Host).
fn host_part(authority: &str) -> Cow<'_, str> {
    let a = authority.trim();
    let host = if a.starts_with('[') {
        match a.find(']') {
            Some(i) => &a[..=i],
            None => a,
        }
    } else {
        a.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(a, |(h, _)| h)
    };
    let host = host.trim_end_matches('.');
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// The names a request may give in `Host` or `Origin`: the loopback names, the `--host` value
/// (an IPv6 address in brackets, as it appears in a Host header) and every `--allowed-host`.
pub fn allowed_hosts(bind_host: &str, extra: &[String]) -> Vec<String> {
    let mut v: Vec<String> = LOOPBACK_HOSTS.iter().map(|s| s.to_string()).collect();
    let bind = bind_host.trim().to_ascii_lowercase();
    let bind = if bind.contains(':') && !bind.starts_with('[') {
        format!("[{bind}]")
    } else {
        bind
    };
    for h in std::iter::once(bind).chain(extra.iter().map(|h| host_part(h).into_owned())) {
        if !h.is_empty() && !v.contains(&h) {
            v.push(h);
        }
    }
    v
}

/// Why a request fails the Host/Origin guard: the refusal (AccessDeniedException, 403) whose
/// message names the header and the flag that would admit it. AWS has no such check; the text
/// is ours.
pub fn check_host_origin(
    allowed: &[String],
    headers: &HeaderMap,
    uri_authority: Option<&str>,
) -> Result<(), ApiError> {
    let denied = |what: &str, value: &str, host: &str| {
        let message = format!(
            "bedrock-gates serves only local clients: {what} '{}' names no address this server listens on ({}). Start serve with --allowed-host {} to accept it.",
            quote(value),
            allowed.join(", "),
            quote(if host.is_empty() { "NAME" } else { host }),
        );
        Err(ApiError::new("AccessDeniedException", 403, message))
    };
    fn lossy(v: &HeaderValue) -> Cow<'_, str> {
        String::from_utf8_lossy(v.as_bytes())
    }
    let mut hosts = headers.get_all("host").iter();
    // Borrowed: a valid request's one Host header is not copied.
    let host = match (hosts.next(), hosts.next(), uri_authority) {
        (Some(one), None, _) => lossy(one),
        (None, _, Some(a)) => Cow::Borrowed(a),
        // Two Host headers: which one a proxy would route by is ambiguous (RFC 9112 §3.2
        // says answer 400); refuse like any other unknown host.
        (Some(_), Some(_), _) => {
            let all: Vec<Cow<str>> = headers.get_all("host").iter().map(lossy).collect();
            return denied("the Host header", &all.join(", "), "");
        }
        (None, _, None) => return denied("the Host header", "", ""),
    };
    let name = host_part(&host);
    if !local(allowed, &name) {
        return denied("the Host header", &host, &name);
    }
    // A browser's no-cors GET (an <img> of a presigned URL) carries no Origin, but every
    // current browser says where it came from in Sec-Fetch-Site; SDKs send neither.
    // `same-site` is a page on an allowed host with another port, which the Origin rule admits.
    for site in headers.get_all("sec-fetch-site") {
        if site.as_bytes().eq_ignore_ascii_case(b"cross-site") {
            let message = format!(
                "bedrock-gates serves only local clients: the Sec-Fetch-Site header 'cross-site' says a page on another site sent this request ({} are this server's).",
                allowed.join(", ")
            );
            return Err(ApiError::new("AccessDeniedException", 403, message));
        }
    }
    for origin in headers.get_all("origin") {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        // `scheme://host[:port]`; `null` (sandboxed frames, file: pages) names no host.
        let authority = origin
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
            .unwrap_or("");
        let name = host_part(authority);
        if name.is_empty() || !local(allowed, &name) {
            return denied("the Origin header", &origin, &name);
        }
    }
    Ok(())
}

/// An allowed name, or one under `.localhost`: those always resolve to loopback (RFC 6761
/// §6.3; browsers resolve them themselves), so no rebinding can put one in a page's requests.
/// `bedrock-runtime.us-west-2.localhost` is how a bearer call names its Region locally.
fn local(allowed: &[String], name: &str) -> bool {
    allowed.iter().any(|a| a == name) || name.ends_with(".localhost")
}

/// The admin token check: `Authorization: Bearer <token>` or `x-bedrock-gates-admin-token`,
/// compared in constant time. Missing → 401, wrong → 403; neither quotes what was sent.
pub fn check_token(expected: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    use subtle::ConstantTimeEq;
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim()
                .strip_prefix("Bearer ")
                .or_else(|| v.trim().strip_prefix("bearer "))
        });
    let given = bearer.or_else(|| headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()));
    match given.map(str::trim) {
        None | Some("") => Err(ApiError::new(
            "UnauthorizedException",
            401,
            "The bedrock-gates admin routes need the admin token (printed in serve's banner, stored in the state directory as admin-token): send Authorization: Bearer <token>.",
        )),
        Some(t) if bool::from(t.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        Some(_) => Err(ApiError::new(
            "AccessDeniedException",
            403,
            "The bedrock-gates admin token is wrong: use the one in serve's banner (or the state directory's admin-token file).",
        )),
    }
}

/// Most audit records one `GET /_bedrock-gates/audit` returns: the newest, so that a full ring
/// of large records is still one bounded answer (see audit.rs for the per-record bound).
pub const AUDIT_PAGE: usize = 1000;

/// `GET /_bedrock-gates/audit[?max=N][&next=TOKEN][&eventId=ID]`: the refusals, newest first,
/// from the journal (they survive restarts), each its diagnosis next to its CloudTrail event:
/// `{"records": [{time (ISO-8601 UTC), request_id, operation, error, status, message, gate,
/// reason, fix, eventId, event}], "nextToken"}`. `eventId` returns that one event's record
/// (a refusal with its diagnosis, or an admitted call with none).
fn audit_page(app: &App, query: &str) -> Result<serde_json::Value, ApiError> {
    let params = crate::query::form_pairs(query);
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let max = match param("max") {
        None => AUDIT_PAGE,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|m| (1..=AUDIT_PAGE).contains(m))
            .ok_or_else(|| {
                ApiError::validation(format!("max must be a number between 1 and {AUDIT_PAGE}"))
            })?,
    };
    let failed = |e: String| ApiError::new("InternalServerException", 500, e);
    app.trail.flush().map_err(failed)?;
    let journal = &app.trail.journal;
    let (rows, next) = match param("eventId") {
        Some(id) => (
            journal
                .event(id)
                .map_err(|e| failed(e.to_string()))?
                .into_iter()
                .collect(),
            None,
        ),
        None => {
            let after = match param("next") {
                None => None,
                Some(t) => Some(
                    t.parse::<i64>()
                        .map_err(|_| ApiError::validation("next is not a token this route gave"))?,
                ),
            };
            journal
                .refusals(after, max)
                .map_err(|e| failed(e.to_string()))?
        }
    };
    // Oldest first within the page (the newest is last, as the in-memory log had it);
    // nextToken leads to older refusals.
    let records: Vec<serde_json::Value> = rows.iter().rev().map(audit_record).collect();
    let mut out = serde_json::json!({ "records": records });
    if let Some(n) = next {
        out["nextToken"] = serde_json::json!(n.to_string());
    }
    Ok(out)
}

fn audit_record(r: &bg_store::TrailRow) -> serde_json::Value {
    let event: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
    let d: serde_json::Value = r
        .diagnosis
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    serde_json::json!({
        "time": crate::cloudtrail::record::iso(r.time_ms),
        "request_id": event.get("requestID"),
        "operation": d.get("operation").cloned().unwrap_or_else(|| serde_json::json!(r.event_name)),
        "error": d.get("error"),
        "status": d.get("status"),
        "message": d.get("message"),
        "gate": d.get("gate"),
        "reason": d.get("reason"),
        "fix": d.get("fix"),
        "eventId": r.event_id,
        "event": event,
    })
}

pub fn admin(
    app: &App,
    method: &Method,
    path: &str,
    query: &str,
    request_id: &str,
) -> Response<Body> {
    let body = match (method, path) {
        (&Method::GET, "/_bedrock-gates/health") => serde_json::json!({ "status": "ok" }),
        // Tests advance the gate clock instead of sleeping (subscriptions, grants, quotas,
        // session expiry). Signatures keep using the wall clock.
        (&Method::POST, "/_bedrock-gates/clock") => {
            let secs = crate::query::form_pairs(query)
                .into_iter()
                .find(|(k, _)| k == "advance")
                .and_then(|(_, v)| v.parse::<i64>().ok());
            match secs {
                Some(s) if (0..=10 * 365 * 86_400).contains(&s) => {
                    app.advance_clock(s);
                    serde_json::json!({ "now": app.now_unix() })
                }
                _ => {
                    return crate::error::json_error(
                        &ApiError::validation(
                            "advance must be a number of seconds between 0 and 315360000",
                        ),
                        request_id,
                    )
                }
            }
        }
        (&Method::GET, "/_bedrock-gates/audit") => match audit_page(app, query) {
            Ok(v) => v,
            Err(e) => return crate::error::json_error(&e, request_id),
        },
        (&Method::GET, "/_bedrock-gates/invocations") => {
            serde_json::json!({ "invocations": app.invocations.records() })
        }
        _ => {
            return crate::error::json_error(
                &ApiError::new(
                    "ResourceNotFoundException",
                    404,
                    format!(
                        "No such bedrock-gates admin route: {method} {}",
                        quote(path)
                    ),
                ),
                request_id,
            )
        }
    };
    crate::json_response(200, body.to_string().into_bytes(), request_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn hosts_and_origins() {
        let allowed = allowed_hosts("127.0.0.1", &["dev.internal:9000".to_string()]);
        assert_eq!(
            allowed,
            ["localhost", "127.0.0.1", "[::1]", "dev.internal"].map(String::from)
        );
        for ok in [
            "127.0.0.1:4950",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "dev.internal",
            "bedrock-runtime.us-west-2.localhost:4950",
        ] {
            assert!(
                check_host_origin(&allowed, &headers(&[("host", ok)]), None).is_ok(),
                "{ok}"
            );
        }
        // `.localhost` must be the last label: `localhost.evil.example` is anyone's name
        assert!(check_host_origin(
            &allowed,
            &headers(&[("host", "localhost.evil.example")]),
            None
        )
        .is_err());
        let e = check_host_origin(&allowed, &headers(&[("host", "rebind.example:4950")]), None)
            .unwrap_err();
        assert_eq!((e.code, e.status), ("AccessDeniedException", 403));
        assert_eq!(e.message, "bedrock-gates serves only local clients: the Host header 'rebind.example:4950' names no address this server listens on (localhost, 127.0.0.1, [::1], dev.internal). Start serve with --allowed-host rebind.example to accept it.");
        // A host name in capitals is compared, and named in the fix, lower-cased.
        let e = check_host_origin(&allowed, &headers(&[("host", "Rebind.Example.")]), None)
            .unwrap_err();
        assert_eq!(e.message, "bedrock-gates serves only local clients: the Host header 'Rebind.Example.' names no address this server listens on (localhost, 127.0.0.1, [::1], dev.internal). Start serve with --allowed-host rebind.example to accept it.");
        // Two Host headers are refused, both quoted, whatever they name.
        let e = check_host_origin(
            &allowed,
            &headers(&[("host", "localhost"), ("host", "evil.example")]),
            Some("localhost"),
        )
        .unwrap_err();
        assert_eq!(e.message, "bedrock-gates serves only local clients: the Host header 'localhost, evil.example' names no address this server listens on (localhost, 127.0.0.1, [::1], dev.internal). Start serve with --allowed-host NAME to accept it.");
        // No Host header: the HTTP/2 authority stands in for it.
        assert!(check_host_origin(&allowed, &HeaderMap::new(), Some("DEV.internal:9000")).is_ok());
        let e = check_host_origin(
            &allowed,
            &headers(&[("host", "127.0.0.1:1"), ("origin", "http://evil.example")]),
            None,
        )
        .unwrap_err();
        assert!(e
            .message
            .contains("the Origin header 'http://evil.example'"));
        assert!(check_host_origin(
            &allowed,
            &headers(&[("host", "127.0.0.1:1"), ("origin", "http://localhost:3000")]),
            None
        )
        .is_ok());
        assert!(check_host_origin(
            &allowed,
            &headers(&[("host", "127.0.0.1:1"), ("origin", "null")]),
            None
        )
        .is_err());
        // a no-cors cross-site GET has no Origin but says where it came from
        let e = check_host_origin(
            &allowed,
            &headers(&[("host", "127.0.0.1:1"), ("sec-fetch-site", "cross-site")]),
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("Sec-Fetch-Site header 'cross-site'"));
        for ok in ["same-origin", "same-site", "none"] {
            assert!(check_host_origin(
                &allowed,
                &headers(&[("host", "127.0.0.1:1"), ("sec-fetch-site", ok)]),
                None
            )
            .is_ok());
        }
        // HTTP/2: the authority stands in for Host
        assert!(check_host_origin(&allowed, &headers(&[]), Some("127.0.0.1:5")).is_ok());
        assert!(check_host_origin(&allowed, &headers(&[]), None).is_err());
        // IPv6 bind address in brackets
        assert!(allowed_hosts("::", &[]).contains(&"[::]".to_string()));
    }

    #[test]
    fn token_forms() {
        let t = "a".repeat(64);
        assert!(check_token(&t, &headers(&[("authorization", &format!("Bearer {t}"))])).is_ok());
        assert!(check_token(&t, &headers(&[(TOKEN_HEADER, &t)])).is_ok());
        assert_eq!(check_token(&t, &headers(&[])).unwrap_err().status, 401);
        assert_eq!(
            check_token(&t, &headers(&[("authorization", "Bearer nope")]))
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(new_token().len(), 64);
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn token_file_is_created_0600_and_kept() {
        let dir = std::env::temp_dir().join(format!("bg-token-{}", new_token()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = load_or_create_token(&dir).unwrap();
        assert_eq!(load_or_create_token(&dir).unwrap(), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.join(TOKEN_FILE), "short\n").unwrap();
        assert!(load_or_create_token(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
