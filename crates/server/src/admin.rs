//! The emulator's own routes under `/_bedrock-gates/`: health, the gate clock tests advance, the
//! audit log and the invocation log. Unsigned: the server binds to loopback by default.

use crate::error::ApiError;
use crate::App;
use axum::body::Body;
use axum::http::{Method, Response};

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
        (&Method::GET, "/_bedrock-gates/audit") => {
            serde_json::json!({ "records": app.audit.records() })
        }
        (&Method::GET, "/_bedrock-gates/invocations") => {
            serde_json::json!({ "invocations": app.invocations.records() })
        }
        _ => {
            return crate::error::json_error(
                &ApiError::new(
                    "ResourceNotFoundException",
                    404,
                    format!("No such bedrock-gates admin route: {method} {path}"),
                ),
                request_id,
            )
        }
    };
    crate::json_response(200, body.to_string().into_bytes(), request_id)
}
