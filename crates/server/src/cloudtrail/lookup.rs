//! `LookupEvents` (awsJson1_1, CloudTrail 2013-11-01): the events of the caller's account and
//! the Region the request is signed for, newest first, one lookup attribute, a time range,
//! `MaxResults` (1-50, default 50) and `NextToken` pages. Authorized by IAM
//! (`cloudtrail:LookupEvents`, a resourceless action).
//!
//! The error messages are ours where AWS's are not documented (each is a code from the
//! service model, with the constraint that was broken).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::App;
use base64::Engine;
use bg_store::journal::ATTRIBUTE_COLUMNS;
use bg_store::TrailQuery;
use serde_json::{json, Value};

const DEFAULT_MAX: usize = 50;

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, 400, message)
}

/// An awsJson timestamp: epoch seconds, a number (the SDKs' default) or a numeric string.
fn timestamp_ms(v: &Value, member: &str) -> Result<Option<i64>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .map(|s| Some((s * 1000.0).floor() as i64))
            .ok_or_else(|| {
                ApiError::new(
                    "SerializationException",
                    400,
                    format!("{member} is not a timestamp"),
                )
            }),
        _ => Err(ApiError::new(
            "SerializationException",
            400,
            format!("{member} is not a timestamp"),
        )),
    }
}

/// A page cursor: the (time, seq) of the last event returned, opaque to the client.
fn encode_token(cursor: (i64, i64)) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", cursor.0, cursor.1))
}

fn decode_token(token: &str) -> Option<(i64, i64)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (t, s) = text.split_once(':')?;
    Some((t.parse().ok()?, s.parse().ok()?))
}

pub fn lookup_events(
    app: &App,
    caller: &Caller,
    inc: &crate::Incoming,
    body: &Value,
) -> Result<Value, ApiError> {
    app.authorize(
        caller,
        inc,
        crate::auth::Proto::Json,
        "cloudtrail:LookupEvents",
        &[],
    )?;
    let mut q = TrailQuery {
        account: caller.identity.account.clone(),
        region: caller.region.clone(),
        limit: DEFAULT_MAX,
        ..Default::default()
    };
    if let Some(attrs) = body.get("LookupAttributes").filter(|v| !v.is_null()) {
        let list = attrs.as_array().ok_or_else(|| {
            ApiError::new(
                "SerializationException",
                400,
                "LookupAttributes is not a list",
            )
        })?;
        if list.len() > 1 {
            return Err(invalid(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            ));
        }
        if let Some(a) = list.first() {
            let key = a.get("AttributeKey").and_then(Value::as_str).unwrap_or("");
            let value = a.get("AttributeValue").and_then(Value::as_str);
            let column = ATTRIBUTE_COLUMNS
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, c)| *c)
                .ok_or_else(|| {
                    invalid(
                        "InvalidLookupAttributesException",
                        format!(
                            "Invalid attribute key: {key}. Valid keys: {}",
                            ATTRIBUTE_COLUMNS
                                .iter()
                                .map(|(k, _)| *k)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
            let value = value
                .filter(|v| !v.is_empty() && v.len() <= 2000)
                .ok_or_else(|| {
                    invalid(
                        "InvalidLookupAttributesException",
                        "AttributeValue must be between 1 and 2000 characters.",
                    )
                })?;
            q.attribute = Some((column, value.to_string()));
        }
    }
    q.start_ms = timestamp_ms(body.get("StartTime").unwrap_or(&Value::Null), "StartTime")?;
    q.end_ms = timestamp_ms(body.get("EndTime").unwrap_or(&Value::Null), "EndTime")?;
    if let (Some(s), Some(e)) = (q.start_ms, q.end_ms) {
        if s > e {
            return Err(invalid(
                "InvalidTimeRangeException",
                "Start time must be earlier than or equal to end time.",
            ));
        }
    }
    match body.get("MaxResults") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_i64() {
            Some(n) if (1..=50).contains(&n) => q.limit = n as usize,
            _ => {
                return Err(invalid(
                    "InvalidMaxResultsException",
                    "MaxResults must be between 1 and 50.",
                ))
            }
        },
    }
    if let Some(cat) = body.get("EventCategory").and_then(Value::as_str) {
        if cat != "insight" {
            return Err(invalid(
                "InvalidEventCategoryException",
                format!("Invalid event category: {cat}"),
            ));
        }
        // No Insights events are generated here.
        return Ok(json!({ "Events": [] }));
    }
    if let Some(t) = body.get("NextToken").and_then(Value::as_str) {
        q.after = Some(
            decode_token(t)
                .ok_or_else(|| invalid("InvalidNextTokenException", "Invalid NextToken."))?,
        );
    }
    // Retention applies to reads too (the writer deletes expired events in bounded steps).
    let retained_from = crate::cloudtrail::record::now_ms(app) - app.trail.retention_ms();
    q.start_ms = Some(q.start_ms.map_or(retained_from, |s| s.max(retained_from)));
    // What this account did a moment ago is visible now.
    app.trail
        .flush()
        .map_err(|e| ApiError::new("InternalFailure", 500, e))?;
    let (rows, cursor) = app
        .trail
        .journal
        .lookup(&q)
        .map_err(|e| ApiError::new("InternalFailure", 500, e.to_string()))?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let mut e = json!({
                "EventId": r.event_id,
                "EventName": r.event_name,
                "ReadOnly": if r.read_only { "true" } else { "false" },
                "EventTime": r.time_ms / 1000,
                "EventSource": r.event_source,
                "Resources": if r.resource_name.is_empty() { json!([]) } else {
                    json!([{"ResourceType": r.resource_type, "ResourceName": r.resource_name}])
                },
                "CloudTrailEvent": r.body,
            });
            if !r.access_key_id.is_empty() {
                e["AccessKeyId"] = json!(r.access_key_id);
            }
            if !r.username.is_empty() {
                e["Username"] = json!(r.username);
            }
            e
        })
        .collect();
    let mut out = json!({ "Events": events });
    if let Some(c) = cursor {
        out["NextToken"] = json!(encode_token(c));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(
            decode_token(&encode_token((1_700_000_000_123, 42))),
            Some((1_700_000_000_123, 42))
        );
        assert_eq!(decode_token("not a token"), None);
        assert_eq!(decode_token(""), None);
    }
}
