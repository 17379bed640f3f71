//! Refusals: the account's audit log (refusals with their diagnosis, from the CloudTrail
//! journal), newest first, filtered by gate, principal, model, Region and time; each row opens
//! its detail. The page script reloads the table while it is open, so a new refusal appears
//! without a reload.

use super::pages::frame;
use super::Cx;
use axum::body::Body;
use axum::http::{HeaderValue, Response};
use maud::html;
use serde_json::Value;

/// Rows read per page.
const ROWS: usize = 200;

/// One refusal as the page shows it.
pub struct Row {
    pub event_id: String,
    pub time: String,
    pub time_ms: i64,
    pub region: String,
    pub principal: String,
    pub operation: String,
    pub model: String,
    pub error: String,
    pub status: String,
    pub message: String,
    pub gate: String,
    pub reason: String,
    pub fix: String,
    pub request_id: String,
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The account's latest refusals, newest first.
pub fn rows(app: &crate::App, account: &str) -> Vec<Row> {
    if app.trail.flush().is_err() {
        return Vec::new();
    }
    let Ok((rows, _)) = app.trail.journal.refusals(None, ROWS) else {
        return Vec::new();
    };
    rows.iter()
        .filter(|r| r.account == account)
        .map(|r| {
            let event: Value = serde_json::from_str(&r.body).unwrap_or_default();
            let d: Value = r
                .diagnosis
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            let params = &event["requestParameters"];
            let model = [&params["modelId"], &params["modelIdentifier"]]
                .into_iter()
                .map(s)
                .find(|m| !m.is_empty())
                .unwrap_or_else(|| r.resource_name.clone());
            let principal = s(&event["userIdentity"]["arn"]);
            Row {
                event_id: r.event_id.clone(),
                time: crate::cloudtrail::record::iso(r.time_ms),
                time_ms: r.time_ms,
                region: r.region.clone(),
                principal: if principal.is_empty() {
                    r.username.clone()
                } else {
                    principal
                },
                operation: d
                    .get("operation")
                    .map(s)
                    .unwrap_or_else(|| r.event_name.clone()),
                model,
                error: s(&d["error"]),
                status: s(&d["status"]),
                message: s(&d["message"]),
                gate: s(&d["gate"]),
                reason: s(&d["reason"]),
                fix: s(&d["fix"]),
                request_id: s(&event["requestID"]),
            }
        })
        .collect()
}

/// The refusal recorded for one request of this account, if any.
pub fn of_request(app: &crate::App, account: &str, request_id: &str) -> Option<Row> {
    rows(app, account)
        .into_iter()
        .find(|r| r.request_id == request_id)
}

fn keep(cx: &Cx, r: &Row) -> bool {
    let q = |n| cx.req.q(n).map(str::trim).filter(|v| !v.is_empty());
    let contains =
        |hay: &str, n| q(n).is_none_or(|v: &str| hay.to_lowercase().contains(&v.to_lowercase()));
    let since_ok = q("minutes")
        .and_then(|m| m.parse::<i64>().ok())
        .is_none_or(|m| r.time_ms >= (cx.app.now_unix() - m * 60) * 1000);
    q("gate").is_none_or(|g| g == r.gate)
        && q("in_region").is_none_or(|g| g == r.region)
        && contains(&r.principal, "principal")
        && contains(&r.model, "model")
        && since_ok
}

pub fn page(cx: &Cx) -> Response<Body> {
    let rows: Vec<Row> = rows(cx.app, &cx.session.account)
        .into_iter()
        .filter(|r| keep(cx, r))
        .collect();
    let gates = [
        "credentials",
        "region",
        "iam",
        "model-access",
        "provider-terms",
        "quota",
    ];
    let val = |n| cx.req.q(n).unwrap_or("");
    let body = html! {
        form #refusal-filters method="get" action="/console/refusals" {
            input type="hidden" name="region" value=(cx.region);
            label { "Gate " select name="gate" {
                option value="" { "any" }
                @for g in gates { option value=(g) selected[val("gate") == g] { (g) } }
            } }
            label { "Principal " input name="principal" value=(val("principal")); }
            label { "Model " input name="model" value=(val("model")); }
            label { "Region " input name="in_region" value=(val("in_region")) placeholder="any"; }
            label { "Last minutes " input name="minutes" value=(val("minutes")) size="5"; }
            button type="submit" { "Filter" }
        }
        table #refusals data-live="1" {
            thead { tr { th { "Time" } th { "Gate" } th { "Error" } th { "Operation" } th { "Model" } th { "Principal" } th { "Region" } } }
            tbody {
                @for r in &rows {
                    tr.refusal data-event=(r.event_id) {
                        td { (r.time) } td.gate { (r.gate) } td { (r.error) } td { (r.operation) }
                        td { (r.model) } td { (r.principal) } td { (r.region) }
                    }
                    tr.detail data-event=(r.event_id) { td colspan="7" { details {
                        summary { "Details" }
                        dl {
                            dt { "Error type" } dd.error-type { (r.error) }
                            dt { "HTTP status" } dd { (r.status) }
                            dt { "Message" } dd.message { (r.message) }
                            dt { "Deciding gate" } dd { (r.gate) }
                            dt { "Why (deciding policy and statement)" } dd.reason { (r.reason) }
                            dt { "Fix" } dd { code.fix { (r.fix) } " " button.copy type="button" { "Copy" } }
                            dt { "Request ID" } dd { (r.request_id) }
                        }
                    } } }
                }
            }
        }
        @if rows.is_empty() { p #no-refusals { "No refusals match." } }
    };
    frame(cx, "Refusals", body)
}

/// The newest refusal's event ID (the page script polls this to know when to reload).
pub fn json(cx: &Cx) -> Response<Body> {
    let newest = rows(cx.app, &cx.session.account)
        .first()
        .map(|r| r.event_id.clone())
        .unwrap_or_default();
    let mut r = Response::new(Body::from(
        serde_json::json!({ "newest": newest }).to_string(),
    ));
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}
