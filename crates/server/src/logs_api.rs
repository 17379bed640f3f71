//! The awsJson1_1 services, routed by `X-Amz-Target`: CloudTrail's `LookupEvents`
//! ([`crate::cloudtrail::lookup`]) and the CloudWatch Logs operations a user reads model
//! invocation logs with: CreateLogGroup, DescribeLogGroups, DescribeLogStreams, GetLogEvents,
//! FilterLogEvents (with the filter pattern syntax, [`filter`]) and PutRetentionPolicy.
//! Persisted in the journal, per account and Region, each authorized by IAM (`logs:<Op>` on the
//! log group's ARN).

pub mod filter;

use crate::audit::AuditRecord;
use crate::auth::{self, Caller, Proto};
use crate::cloudtrail::invocation::line_text;
use crate::error::ApiError;
use crate::{App, Incoming};
use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};
use bg_gates::decide::Resource;
use serde_json::{json, Value};

const LOGS_PREFIX: &str = "Logs_20140328.";
const CLOUDTRAIL_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// The (eventSource, operation) an awsJson1_1 request names in `X-Amz-Target`.
pub fn target(inc: &Incoming) -> Option<(&'static str, &str)> {
    let t = inc.header("x-amz-target")?;
    if let Some(op) = t.strip_prefix(LOGS_PREFIX) {
        return Some(("logs.amazonaws.com", op));
    }
    t.strip_prefix(CLOUDTRAIL_PREFIX)
        .map(|op| ("cloudtrail.amazonaws.com", op))
}

/// An awsJson1_1 error: `__type` in the body (what the SDKs read) and `x-amzn-errortype`.
fn aws_json_error(e: &ApiError, rid: &str) -> Response<Body> {
    let body = json!({ "__type": e.code, "message": e.message }).to_string();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(e.code) {
        h.insert("x-amzn-errortype", v);
    }
    if let Ok(v) = HeaderValue::from_str(rid) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

fn refuse(app: &App, inc: &Incoming, op: &str, e: &ApiError) -> Response<Body> {
    // The awsJson1_1 services answer every client error, denials included, with HTTP 400
    // (as DynamoDB and CloudTrail do); the IAM gate builds Bedrock's 403.
    let mut e = e.clone();
    if e.code == "AccessDeniedException" {
        e.status = 400;
    }
    let e = &e;
    app.audit.record(AuditRecord::new(
        app.now_unix(),
        &inc.request_id,
        op,
        e,
        e.diagnosis.as_deref(),
    ));
    aws_json_error(e, &inc.request_id)
}

fn ok(v: &Value, rid: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(v.to_string()));
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(rid) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

pub fn handle(app: &App, inc: &Incoming) -> Response<Body> {
    let Some((source, op)) = target(inc) else {
        let e = ApiError::new("UnknownOperationException", 400, "");
        return refuse(app, inc, "-", &e);
    };
    let service = if source == "logs.amazonaws.com" {
        "logs"
    } else {
        "cloudtrail"
    };
    let parsed = auth::parse(inc);
    let catalog = app.catalog;
    let caller = match auth::authenticate(
        app,
        inc,
        &parsed,
        service,
        &|r| catalog.is_known_region(r),
        Proto::Json,
    ) {
        Ok(c) => c,
        Err(e) => return refuse(app, inc, op, &e),
    };
    let body = if inc.body.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice::<Value>(&inc.body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                ApiError::new(
                    "SerializationException",
                    400,
                    "The request body is not a JSON object.",
                )
            })
    };
    let result = body.and_then(|body| match (service, op) {
        ("cloudtrail", "LookupEvents") => {
            crate::cloudtrail::lookup::lookup_events(app, &caller, inc, &body)
        }
        ("logs", "CreateLogGroup") => create_log_group(app, &caller, inc, &body),
        ("logs", "DescribeLogGroups") => describe_log_groups(app, &caller, inc, &body),
        ("logs", "DescribeLogStreams") => describe_log_streams(app, &caller, inc, &body),
        ("logs", "GetLogEvents") => get_log_events(app, &caller, inc, &body),
        ("logs", "FilterLogEvents") => filter_log_events(app, &caller, inc, &body),
        ("logs", "PutRetentionPolicy") => put_retention_policy(app, &caller, inc, &body),
        _ => Err(ApiError::new("UnknownOperationException", 400, "")),
    });
    match result {
        Ok(v) => ok(&v, &inc.request_id),
        Err(e) => refuse(app, inc, op, &e),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterException", 400, message)
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new("ServiceUnavailableException", 500, e.to_string())
}

fn group_arn(caller: &Caller, name: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:{name}",
        caller.region, caller.identity.account
    )
}

fn authorize(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
    action: &str,
    group: Option<&str>,
) -> Result<(), ApiError> {
    let resources: Vec<Resource> = group
        .map(|g| vec![Resource::arn(format!("{}:*", group_arn(caller, g)))])
        .unwrap_or_default();
    app.authorize(caller, inc, Proto::Json, action, &resources)
}

/// `logGroupName`: 1-512 of `[\.\-_/#A-Za-z0-9]` (service model pattern).
fn group_name(body: &Value, required: bool) -> Result<Option<&str>, ApiError> {
    let name = body
        .get("logGroupName")
        .and_then(Value::as_str)
        .or_else(|| {
            // logGroupIdentifier: a name or an ARN
            body.get("logGroupIdentifier")
                .and_then(Value::as_str)
                .map(|i| match i.split_once(":log-group:") {
                    Some((_, rest)) => rest.trim_end_matches(":*"),
                    None => i,
                })
        });
    match name {
        None if required => Err(invalid(
            "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
        )),
        None => Ok(None),
        Some(n) => {
            let ok = !n.is_empty()
                && n.len() <= 512
                && n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
            if ok {
                Ok(Some(n))
            } else {
                Err(invalid(format!(
                    "1 validation error detected: Value '{}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
                    crate::audit::bounded(n)
                )))
            }
        }
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        400,
        "The specified log group does not exist.",
    )
}

fn limit(body: &Value, max: i64, default: i64) -> Result<usize, ApiError> {
    match body.get("limit") {
        None | Some(Value::Null) => Ok(default as usize),
        Some(v) => match v.as_i64() {
            Some(n) if (1..=max).contains(&n) => Ok(n as usize),
            _ => Err(invalid(format!(
                "1 validation error detected: Value '{v}' at 'limit' failed to satisfy constraint: Member must have value between 1 and {max}"
            ))),
        },
    }
}

fn create_log_group(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
    body: &Value,
) -> Result<Value, ApiError> {
    let name = group_name(body, true)?.unwrap_or_default();
    authorize(app, caller, inc, "logs:CreateLogGroup", Some(name))?;
    // A state change: events before it are durable first, as App::write does.
    app.trail.flush().map_err(internal)?;
    let created = app
        .trail
        .journal
        .create_log_group(
            &caller.identity.account,
            &caller.region,
            name,
            crate::cloudtrail::record::now_ms(app),
        )
        .map_err(internal)?;
    if !created {
        return Err(ApiError::new(
            "ResourceAlreadyExistsException",
            400,
            "The specified log group already exists",
        ));
    }
    Ok(json!({}))
}

/// Retention values CloudWatch Logs accepts (PutRetentionPolicy documentation).
const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn put_retention_policy(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
    body: &Value,
) -> Result<Value, ApiError> {
    let name = group_name(body, true)?.unwrap_or_default();
    let days = body.get("retentionInDays").and_then(Value::as_i64);
    let days = match days {
        Some(d) if RETENTION_DAYS.contains(&d) => d,
        _ => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}",
                body.get("retentionInDays").unwrap_or(&Value::Null)
            )))
        }
    };
    authorize(app, caller, inc, "logs:PutRetentionPolicy", Some(name))?;
    app.trail.flush().map_err(internal)?;
    let found = app
        .trail
        .journal
        .set_retention(&caller.identity.account, &caller.region, name, Some(days))
        .map_err(internal)?;
    if !found {
        return Err(not_found());
    }
    Ok(json!({}))
}

fn describe_log_groups(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
    body: &Value,
) -> Result<Value, ApiError> {
    authorize(app, caller, inc, "logs:DescribeLogGroups", None)?;
    let prefix = body
        .get("logGroupNamePrefix")
        .and_then(Value::as_str)
        .unwrap_or("");
    let limit = limit(body, 50, 50)?;
    let after = body.get("nextToken").and_then(Value::as_str);
    app.trail.flush().map_err(internal)?;
    let mut groups = app
        .trail
        .journal
        .log_groups(
            &caller.identity.account,
            &caller.region,
            prefix,
            after,
            limit + 1,
        )
        .map_err(internal)?;
    let more = groups.len() > limit;
    groups.truncate(limit);
    let list: Vec<Value> = groups
        .iter()
        .map(|g| {
            let arn = group_arn(caller, &g.name);
            let mut v = json!({
                "logGroupName": g.name,
                "creationTime": g.created_ms,
                "metricFilterCount": 0,
                "arn": format!("{arn}:*"),
                "storedBytes": g.stored_bytes,
                "logGroupClass": "STANDARD",
                "logGroupArn": arn,
            });
            if let Some(d) = g.retention_days {
                v["retentionInDays"] = json!(d);
            }
            v
        })
        .collect();
    let mut out = json!({ "logGroups": list });
    if more {
        if let Some(last) = groups.last() {
            out["nextToken"] = json!(last.name);
        }
    }
    Ok(out)
}

fn existing_group(app: &App, caller: &Caller, name: &str) -> Result<i64, ApiError> {
    app.trail
        .journal
        .log_group(&caller.identity.account, &caller.region, name)
        .map_err(internal)?
        .map(|g| g.retention_days.unwrap_or(0))
        .ok_or_else(not_found)
}

/// The first millisecond a group with `retention_days` still shows (0: kept forever).
fn retained_from(app: &App, retention_days: i64) -> Option<i64> {
    (retention_days > 0)
        .then(|| crate::cloudtrail::record::now_ms(app) - retention_days * 86_400_000)
}

fn describe_log_streams(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
    body: &Value,
) -> Result<Value, ApiError> {
    let name = group_name(body, true)?.unwrap_or_default();
    authorize(app, caller, inc, "logs:DescribeLogStreams", Some(name))?;
    app.trail.flush().map_err(internal)?;
    existing_group(app, caller, name)?;
    let prefix = body
        .get("logStreamNamePrefix")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut streams = app
        .trail
        .journal
        .log_streams(&caller.identity.account, &caller.region, name, prefix)
        .map_err(internal)?;
    if body.get("orderBy").and_then(Value::as_str) == Some("LastEventTime") {
        streams.sort_by_key(|s| s.last_ms);
    }
    if body.get("descending").and_then(Value::as_bool) == Some(true) {
        streams.reverse();
    }
    streams.truncate(limit(body, 50, 50)?);
    let list: Vec<Value> = streams
        .iter()
        .map(|s| {
            json!({
                "logStreamName": s.name,
                "creationTime": s.first_ms,
                "firstEventTimestamp": s.first_ms,
                "lastEventTimestamp": s.last_ms,
                "lastIngestionTime": s.last_ingest_ms,
                "arn": format!("{}:log-stream:{}", group_arn(caller, name), s.name),
                "storedBytes": s.stored_bytes,
            })
        })
        .collect();
    Ok(json!({ "logStreams": list }))
}

fn ms(body: &Value, member: &str) -> Option<i64> {
    body.get(member).and_then(Value::as_i64)
}

fn get_log_events(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
    body: &Value,
) -> Result<Value, ApiError> {
    let name = group_name(body, true)?.unwrap_or_default();
    let stream = body
        .get("logStreamName")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
        })?;
    authorize(app, caller, inc, "logs:GetLogEvents", Some(name))?;
    app.trail.flush().map_err(internal)?;
    let retention = existing_group(app, caller, name)?;
    let limit = limit(body, 10_000, 10_000)?;
    // Tokens: `f/<seq>` reads forward from after seq. A token that does not parse is refused.
    let after = match body.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => t
            .strip_prefix("f/")
            .or_else(|| t.strip_prefix("b/"))
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| invalid("The specified nextToken is invalid."))?,
    };
    let start = match (ms(body, "startTime"), retained_from(app, retention)) {
        (Some(s), Some(r)) => Some(s.max(r)),
        (s, r) => s.or(r),
    };
    let lines = app
        .trail
        .journal
        .log_lines(
            &caller.identity.account,
            &caller.region,
            name,
            Some(stream),
            start,
            ms(body, "endTime"),
            after,
            limit,
        )
        .map_err(internal)?;
    let last = lines.last().map_or(after, |l| l.seq);
    let events = lines
        .iter()
        .map(|l| {
            let message = line_text(&l.row).map_err(internal)?;
            Ok(json!({"timestamp": l.row.time_ms, "message": message, "ingestionTime": l.row.ingest_ms}))
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    // At the end the forward token repeats the one given: what the SDK paginators stop on.
    Ok(json!({
        "events": events,
        "nextForwardToken": format!("f/{last}"),
        "nextBackwardToken": format!("b/{after}"),
    }))
}

fn filter_log_events(
    app: &App,
    caller: &Caller,
    inc: &Incoming,
    body: &Value,
) -> Result<Value, ApiError> {
    let name = group_name(body, true)?.unwrap_or_default();
    authorize(app, caller, inc, "logs:FilterLogEvents", Some(name))?;
    let pattern = body
        .get("filterPattern")
        .and_then(Value::as_str)
        .unwrap_or("");
    let pattern = filter::Pattern::parse(pattern)
        .map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?;
    app.trail.flush().map_err(internal)?;
    let retention = existing_group(app, caller, name)?;
    let limit = limit(body, 10_000, 10_000)?;
    let streams: Option<Vec<String>> =
        body.get("logStreamNames")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            });
    let stream_prefix = body.get("logStreamNamePrefix").and_then(Value::as_str);
    let mut after = match body.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => t
            .parse::<i64>()
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
    };
    let start = match (ms(body, "startTime"), retained_from(app, retention)) {
        (Some(s), Some(r)) => Some(s.max(r)),
        (s, r) => s.or(r),
    };
    let mut events = Vec::new();
    let mut more = false;
    // Scan in bounded chunks until the page is full or the group is read.
    'scan: loop {
        let chunk = app
            .trail
            .journal
            .log_lines(
                &caller.identity.account,
                &caller.region,
                name,
                None,
                start,
                ms(body, "endTime"),
                after,
                1000,
            )
            .map_err(internal)?;
        if chunk.is_empty() {
            break;
        }
        for l in &chunk {
            after = l.seq;
            let stream_ok = streams
                .as_ref()
                .is_none_or(|s| s.iter().any(|n| **n == *l.row.stream))
                && stream_prefix.is_none_or(|p| l.row.stream.starts_with(p));
            if !stream_ok {
                continue;
            }
            // A line stored as facts is matched on its rendered text.
            let message = line_text(&l.row).map_err(internal)?;
            if pattern.matches(&message) {
                events.push(json!({
                    "logStreamName": &*l.row.stream,
                    "timestamp": l.row.time_ms,
                    "message": message,
                    "ingestionTime": l.row.ingest_ms,
                    "eventId": format!("{:056}", l.seq),
                }));
                if events.len() == limit {
                    more = true;
                    break 'scan;
                }
            }
        }
    }
    let mut out = json!({ "events": events, "searchedLogStreams": [] });
    if more {
        out["nextToken"] = json!(after.to_string());
    }
    Ok(out)
}
