//! A console action is the signed-in principal's own API call: a request signed with SigV4 by
//! the session's credentials and answered by the same front door an SDK reaches ([`crate::handle`]):
//! the Host/Origin guard, the credentials gate, `gates::decide`, the audit log and CloudTrail.
//! So the console refuses exactly when boto3 would, with the same bytes, and every action is
//! recorded as the principal's.

use super::session::Credentials;
use crate::App;
use axum::body::Body;
use axum::http::{Method, Request, Response};
use std::sync::Arc;

/// Where the console's own request came from: the internal call carries the same.
#[derive(Clone, Debug)]
pub struct Origin {
    /// The `Host` the browser used (it passed the guard).
    pub host: String,
    pub peer: Option<std::net::SocketAddr>,
    pub secure: bool,
}

/// One API request to make as the principal.
pub struct ApiRequest<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub method: Method,
    /// Already percent-encoded as an SDK sends it.
    pub path: String,
    pub query: String,
    pub content_type: Option<&'a str>,
    pub body: Vec<u8>,
}

impl<'a> ApiRequest<'a> {
    /// An awsQuery call (IAM, STS): `params` (with `Action` and `Version`) as a form POST to `/`.
    pub fn query(service: &'a str, region: &'a str, params: &[(&str, &str)]) -> ApiRequest<'a> {
        ApiRequest {
            service,
            region,
            method: Method::POST,
            path: "/".into(),
            query: String::new(),
            content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
            body: form(params),
        }
    }
}

/// The `Authorization` header for `req` signed at `amz_date` (SigV4 header form), with the
/// canonical request built by the very code the server verifies with.
pub fn sign(
    creds: &Credentials,
    req: &ApiRequest,
    host: &str,
    amz_date: &str,
) -> Result<String, bg_sigv4::SigError> {
    let mut headers: Vec<(&str, &str)> = vec![("host", host), ("x-amz-date", amz_date)];
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token", t));
    }
    if let Some(ct) = req.content_type {
        headers.push(("content-type", ct));
    }
    let mut signed: Vec<String> = headers.iter().map(|(k, _)| k.to_string()).collect();
    signed.sort();
    let date = amz_date[..8].to_string();
    let auth = bg_sigv4::ParsedAuth {
        access_key: creds.access_key_id.clone(),
        date: date.clone(),
        region: req.region.to_string(),
        service: req.service.to_string(),
        terminator: "aws4_request".into(),
        signed_headers: signed.clone(),
        signature: String::new(),
        amz_date: amz_date.to_string(),
        security_token: creds.session_token.clone(),
        presigned: false,
        expires_secs: None,
    };
    let sreq = bg_sigv4::Request {
        method: req.method.as_str(),
        path: &req.path,
        query: &req.query,
        headers: &headers,
        body: &req.body,
    };
    let creq = bg_sigv4::canonical_request(&sreq, &auth, true)?;
    let sts = bg_sigv4::string_to_sign(&creq, &auth);
    let sig = bg_sigv4::signature(
        &creds.secret_access_key,
        &date,
        req.region,
        req.service,
        &sts,
    );
    Ok(format!(
        "AWS4-HMAC-SHA256 Credential={}/{date}/{}/{}/aws4_request, SignedHeaders={}, Signature={sig}",
        creds.access_key_id,
        req.region,
        req.service,
        signed.join(";")
    ))
}

fn amz_date_now() -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| "19700101T000000Z".into())
}

/// Make `req` as the holder of `creds`, through the whole front door; the answer is exactly what
/// an SDK would receive.
pub async fn call(
    app: &Arc<App>,
    origin: &Origin,
    creds: &Credentials,
    req: ApiRequest<'_>,
) -> Response<Body> {
    let amz_date = amz_date_now();
    let authorization = match sign(creds, &req, &origin.host, &amz_date) {
        Ok(a) => a,
        Err(e) => {
            let e = crate::error::ApiError::new("InternalFailure", 500, e.to_string());
            return crate::error::json_error(&e, "-");
        }
    };
    let uri = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let mut b = Request::builder()
        .method(req.method.clone())
        .uri(uri)
        .header("host", &origin.host)
        .header("x-amz-date", &amz_date)
        .header("authorization", authorization)
        .header("content-length", req.body.len().to_string());
    if let Some(t) = &creds.session_token {
        b = b.header("x-amz-security-token", t);
    }
    if let Some(ct) = req.content_type {
        b = b.header("content-type", ct);
    }
    let Ok(mut r) = b.body(Body::from(req.body)) else {
        let e = crate::error::ApiError::new("InternalFailure", 500, "unbuildable request");
        return crate::error::json_error(&e, "-");
    };
    if let Some(peer) = origin.peer {
        r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    }
    r.extensions_mut().insert(crate::listen::Transport {
        secure: origin.secure,
    });
    // Through the router (whose future is a boxed, named type): the front door routes
    // /console here, so awaiting `handle` itself would make its future type contain itself.
    match tower::ServiceExt::oneshot(crate::router(app.clone()), r).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

/// An answer read whole: status, the error code header and the body.
pub struct Answer {
    pub status: u16,
    pub request_id: String,
    pub error_type: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub async fn read(resp: Response<Body>) -> Answer {
        let status = resp.status().as_u16();
        let (request_id, error_type) = {
            let h = |n: &str| {
                resp.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            (
                h("x-amzn-requestid").unwrap_or_default(),
                h("x-amzn-errortype"),
            )
        };
        let body = axum::body::to_bytes(resp.into_body(), crate::MAX_BODY)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Answer {
            status,
            request_id,
            error_type,
            body,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The refusal as an SDK reads it: (code, message), from the restJson1 or awsQuery body.
    pub fn error(&self) -> Option<(String, String)> {
        if self.ok() {
            return None;
        }
        let text = String::from_utf8_lossy(&self.body);
        if text.trim_start().starts_with('<') {
            let tag = |t: &str| {
                let open = format!("<{t}>");
                let start = text.find(&open)? + open.len();
                let end = text[start..].find(&format!("</{t}>"))? + start;
                Some(xml_unescape(&text[start..end]))
            };
            return Some((tag("Code")?, tag("Message").unwrap_or_default()));
        }
        let v = self.json();
        // restJson1: the code is the header's text before ':' (botocore's rule).
        let code = self
            .error_type
            .as_deref()
            .map(|t| t.split(':').next().unwrap_or(t).to_string())
            .or_else(|| v.get("__type").and_then(|t| t.as_str()).map(str::to_string))
            .unwrap_or_else(|| "Unknown".into());
        let message = v
            .get("message")
            .or_else(|| v.get("Message"))
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        Some((code, message))
    }
}

pub fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The inner text of the first `<tag>` of an XML answer.
pub fn xml_tag(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml_unescape(&xml[start..end]))
}

/// How botocore prints a refusal: `An error occurred (Code) when calling the Op operation: msg`.
pub fn sdk_text(code: &str, operation: &str, message: &str) -> String {
    format!("An error occurred ({code}) when calling the {operation} operation: {message}")
}

/// The form encoding of awsQuery parameters.
pub fn form(params: &[(&str, &str)]) -> Vec<u8> {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// Percent-encoding as SigV4 wants it (everything but unreserved characters).
pub fn enc(s: &str) -> String {
    bg_sigv4::uri_encode(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_with_the_server_verifier() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let req = ApiRequest {
            service: "bedrock",
            region: "us-east-1",
            method: Method::POST,
            path: "/model/amazon.nova-lite-v1%3A0/converse".into(),
            query: String::new(),
            content_type: Some("application/json"),
            body: b"{}".to_vec(),
        };
        let date = "20260101T000000Z";
        let auth = sign(&creds, &req, "127.0.0.1:1", date).unwrap();
        let headers = [
            ("host", "127.0.0.1:1"),
            ("x-amz-date", date),
            ("content-type", "application/json"),
            ("authorization", auth.as_str()),
        ];
        let r = bg_sigv4::Request {
            method: "POST",
            path: &req.path,
            query: "",
            headers: &headers,
            body: b"{}",
        };
        let parsed = bg_sigv4::parse(&r).unwrap();
        let now = time::macros::datetime!(2026-01-01 0:00 UTC).unix_timestamp();
        let v = bg_sigv4::Verifier::new();
        v.verify(
            &r,
            &parsed,
            &creds.secret_access_key,
            "bedrock",
            &|_| true,
            now,
        )
        .unwrap();
        assert!(v
            .verify(&r, &parsed, "wrong", "bedrock", &|_| true, now)
            .is_err());
    }

    #[test]
    fn sdk_text_is_botocores() {
        assert_eq!(
            sdk_text("AccessDeniedException", "ConverseStream", "User: x is not authorized"),
            "An error occurred (AccessDeniedException) when calling the ConverseStream operation: User: x is not authorized"
        );
    }
}
