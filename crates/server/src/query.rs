//! awsQuery protocol (STS; IAM arrives with the IAM issue): form-encoded `Action=…&Version=…`
//! requests, XML responses. The service is the SigV4 credential scope's service name, since
//! `AWS_ENDPOINT_URL` sends every service to the same `POST /`.

use crate::auth::{self, Proto};
use crate::error::{xml_escape, ApiError};
use crate::{render, App, Incoming};
use axum::body::Body;
use axum::http::{HeaderValue, Response};

pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const STS_VERSION: &str = "2011-06-15";

/// Decode `application/x-www-form-urlencoded` pairs ('+' is a space).
pub fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

pub fn handle(app: &App, inc: &Incoming) -> Response<Body> {
    let rid = inc.request_id.as_str();
    let params = if inc.method == axum::http::Method::GET {
        form_pairs(&inc.query)
    } else {
        form_pairs(&String::from_utf8_lossy(&inc.body))
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let action = param("Action").unwrap_or("");

    let parsed = auth::parse(inc);
    // STS and IAM share this route; the scope tells them apart. Anything else is verified as
    // STS so that the client hears AWS's "scoped to correct service" sentence.
    let service = match &parsed {
        Ok(p) if p.service == "iam" => "iam",
        _ => "sts",
    };
    let catalog = app.catalog;
    let caller = match auth::authenticate(
        app,
        inc,
        &parsed,
        service,
        &|region| catalog.is_known_region(region),
        Proto::Query,
    ) {
        Ok(c) => c,
        Err(e) => return render(app, Proto::Query, &e, rid, action, None),
    };

    if service == "iam" {
        return match crate::iam_api::handle(app, inc, &caller, action, &params, rid) {
            Ok(body) => xml_ok(body, rid),
            Err(e) => {
                app.audit.record(crate::audit::AuditRecord::new(
                    app.now_unix(),
                    rid,
                    action,
                    &e,
                    e.diagnosis.as_deref(),
                ));
                crate::error::query_error(&e, rid, crate::iam_api::IAM_XMLNS)
            }
        };
    }
    if let Some(v) = param("Version") {
        if v != STS_VERSION {
            let e = ApiError::new(
                "InvalidAction",
                400,
                format!("Could not find operation {action} for version {v}"),
            );
            return render(app, Proto::Query, &e, rid, action, None);
        }
    }
    match action {
        "GetCallerIdentity" => {
            let p = &caller.identity;
            let body = format!(
                "<GetCallerIdentityResponse xmlns=\"{STS_XMLNS}\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
                xml_escape(&p.arn),
                xml_escape(&p.user_id),
                xml_escape(&p.account)
            );
            xml_ok(body, rid)
        }
        "AssumeRole" => match crate::sts_api::assume_role(app, inc, &caller, &params, rid) {
            Ok(body) => xml_ok(body, rid),
            Err(e) => render(app, Proto::Query, &e, rid, action, None),
        },
        "" => {
            let e = ApiError::new("MissingAction", 400, "Missing Action");
            render(app, Proto::Query, &e, rid, action, None)
        }
        other => {
            let e = ApiError::new(
                "InvalidAction",
                400,
                format!("Could not find operation {other} for version {STS_VERSION}"),
            );
            render(app, Proto::Query, &e, rid, action, None)
        }
    }
}

fn xml_ok(body: String, rid: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(rid) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}
