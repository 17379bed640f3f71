//! The playground: chat with a model or inference profile of the Region through ConverseStream,
//! as the principal. The server relays the event stream to the page as NDJSON lines as each
//! frame arrives (`{"type":"delta","text"}`, `{"type":"usage",…}`), so the answer appears
//! token by token; a refusal is one `{"type":"error"}` line with the text an SDK prints and the
//! audit log's gate, reason and fix.

use super::call::{enc, sdk_text, Answer};
use super::pages::frame;
use super::Cx;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use maud::html;
use serde_json::{json, Value};
use std::time::Instant;

pub fn page(cx: &Cx) -> Response<Body> {
    let app = cx.app;
    let chosen = cx.req.q("model").unwrap_or("");
    let mut models: Vec<(&str, String)> = app
        .catalog
        .models_in_region(&cx.region)
        .filter(|m| m.converse && m.is_on_demand_in(&cx.region))
        .map(|m| (m.id.as_str(), format!("{} {}", m.provider, m.name)))
        .collect();
    models.sort_by(|a, b| a.1.cmp(&b.1));
    let profiles: Vec<(&str, String)> = app
        .catalog
        .profiles_in_region(&cx.region)
        .map(|p| (p.id.as_str(), format!("{} (inference profile)", p.name)))
        .collect();
    let body = html! {
        form #chat method="post" action="/console/api/converse-stream" {
            label { "Model or inference profile "
                select #model name="model" {
                    optgroup label="Models" { @for (id, name) in &models {
                        option value=(id) selected[*id == chosen] { (name) " (" (id) ")" }
                    } }
                    optgroup label="Inference profiles" { @for (id, name) in &profiles {
                        option value=(id) selected[*id == chosen] { (name) " (" (id) ")" }
                    } }
                }
            }
            label { "System prompt " textarea #system name="system" rows="2" {} }
            label { "Message " textarea #prompt name="prompt" rows="4" required {} }
            div.row {
                label { "Max tokens " input #max-tokens type="number" name="maxTokens" value="512" min="1" max="8192"; }
                label { "Temperature " input #temperature type="number" name="temperature" value="0.7" min="0" max="1" step="0.1"; }
                button #send type="submit" { "Run" }
            }
        }
        section #answer aria-live="polite" {
            pre #output {}
            p #metrics {}
            div #refusal hidden {
                p #sdk-error .error role="alert" {}
                dl {
                    dt { "Gate" } dd #refusal-gate {}
                    dt { "Why" } dd #refusal-reason {}
                    dt { "Fix" } dd { code #refusal-fix {} }
                }
            }
        }
    };
    frame(cx, "Chat playground", body)
}

fn line(v: Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

fn ndjson(body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-ndjson"),
    );
    r
}

/// `POST /console/api/converse-stream` with `{model, system, prompt, maxTokens, temperature}`.
pub async fn stream(cx: &Cx<'_>) -> Response<Body> {
    let input: Value = serde_json::from_slice(&cx.req.body).unwrap_or_default();
    let text = |k: &str| input[k].as_str().unwrap_or("").to_string();
    let model = text("model");
    let mut req = json!({
        "messages": [{ "role": "user", "content": [{ "text": text("prompt") }] }],
        "inferenceConfig": {},
    });
    if !text("system").is_empty() {
        req["system"] = json!([{ "text": text("system") }]);
    }
    // Numbers as the page sent them; the API validates them (and refuses as AWS does).
    if let Some(n) = input["maxTokens"]
        .as_str()
        .and_then(|v| v.parse::<i64>().ok())
    {
        req["inferenceConfig"]["maxTokens"] = json!(n);
    }
    if let Some(t) = input["temperature"]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
    {
        req["inferenceConfig"]["temperature"] = json!(t);
    }
    let started = Instant::now();
    let resp = super::call::call(
        cx.app,
        &cx.req.origin,
        &cx.session.creds,
        super::call::ApiRequest {
            service: "bedrock",
            region: &cx.region,
            method: Method::POST,
            path: format!("/model/{}/converse-stream", enc(&model)),
            query: String::new(),
            content_type: Some("application/json"),
            body: req.to_string().into_bytes(),
        },
    )
    .await;
    if resp.status() != StatusCode::OK {
        let a = Answer::read(resp).await;
        let (code, message) = a.error().unwrap_or_default();
        let d = super::refusals::of_request(cx.app, &cx.session.account, &a.request_id);
        let v = json!({
            "type": "error",
            "sdk": sdk_text(&code, "ConverseStream", &message),
            "code": code,
            "status": a.status,
            "message": message,
            "gate": d.as_ref().map(|d| d.gate.clone()),
            "reason": d.as_ref().map(|d| d.reason.clone()),
            "fix": d.as_ref().map(|d| d.fix.clone()),
        });
        return ndjson(Body::from(line(v)));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let mut body = resp.into_body();
    tokio::spawn(async move {
        let mut dec = bg_eventstream::Decoder::new();
        let mut first_ms = None;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            dec.push(&data);
            while let Ok(Some(m)) = dec.next() {
                let payload: Value = serde_json::from_slice(&m.payload).unwrap_or_default();
                let out = match (m.header_str(":message-type"), m.header_str(":event-type")) {
                    (Some("event"), Some("contentBlockDelta")) => {
                        first_ms.get_or_insert(started.elapsed().as_millis() as u64);
                        payload["delta"]["text"]
                            .as_str()
                            .map(|t| json!({ "type": "delta", "text": t }))
                    }
                    (Some("event"), Some("metadata")) => Some(json!({
                        "type": "usage",
                        "usage": payload["usage"],
                        "latencyMs": started.elapsed().as_millis() as u64,
                        "firstTokenMs": first_ms,
                    })),
                    (Some("exception"), _) => {
                        let code = m.header_str(":exception-type").unwrap_or("Exception");
                        let msg = payload["message"].as_str().unwrap_or("");
                        Some(json!({
                            "type": "error",
                            "sdk": sdk_text(code, "ConverseStream", msg),
                            "code": code,
                            "message": msg,
                        }))
                    }
                    _ => None,
                };
                if let Some(v) = out {
                    if tx.send(Ok(line(v))).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    ndjson(Body::from_stream(tokio_stream_from(rx)))
}

/// The receiver as a stream of body chunks.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
