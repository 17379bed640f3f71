//! Converse and ConverseStream through the whole router (SigV4 verify included, in-process): a
//! request missing members the bedrock-runtime service model requires is refused with AWS's
//! Coral validation message, exactly, before any gate or backend runs.

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:4950";

fn signed(path: &str, body: &[u8]) -> http::Request<Body> {
    let uri = format!("http://{HOST}{path}");
    let identity = aws_credential_types::Credentials::new("test", "test", None, None, "t").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", HOST), ("content-type", "application/json")];
    let signable =
        SignableRequest::new("POST", &uri, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req
}

/// (status, x-amzn-ErrorType, body) of one call to a fresh in-memory emulator.
async fn call(path: &str, body: &Value) -> (u16, String, Value) {
    let store = bg_store::SqliteStore::open(":memory:").unwrap();
    let app = bg_server::App::new(Box::new(store), None).unwrap();
    let resp = bg_server::router(app)
        .oneshot(signed(path, body.to_string().as_bytes()))
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, kind, body)
}

const VALIDATION: &str = "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/";

#[tokio::test]
async fn converse_refuses_a_tool_use_without_its_id() {
    let body = json!({"messages":[{"role":"user","content":[
        {"toolUse":{"name":"get_weather","input":{}}}
    ]}]});
    for op in ["converse", "converse-stream"] {
        let got = call(&format!("/model/amazon.nova-lite-v1:0/{op}"), &body).await;
        assert_eq!(
            got,
            (
                400,
                VALIDATION.to_string(),
                json!({"message": "1 validation error detected: Value null at 'messages.1.member.content.1.member.toolUse.toolUseId' failed to satisfy constraint: Member must not be null"})
            ),
            "{op}"
        );
    }
}

#[tokio::test]
async fn converse_reports_every_missing_member_at_once() {
    let body = json!({"messages":[
        {"role":"user","content":[{"text":"weather?"},{"image":{"source":{"bytes":"AAAA"}}}]},
        {"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{}}}]},
        {"role":"user","content":[{"toolResult":{"content":[{"text":"sunny"}]}},{"document":{"name":"d"}}]}
    ]});
    let got = call("/model/amazon.nova-lite-v1:0/converse", &body).await;
    assert_eq!(
        got,
        (
            400,
            VALIDATION.to_string(),
            json!({"message": "3 validation errors detected: \
                Value null at 'messages.1.member.content.2.member.image.format' failed to satisfy constraint: Member must not be null; \
                Value null at 'messages.3.member.content.1.member.toolResult.toolUseId' failed to satisfy constraint: Member must not be null; \
                Value null at 'messages.3.member.content.2.member.document.source' failed to satisfy constraint: Member must not be null"})
        )
    );
}

#[tokio::test]
async fn converse_still_answers_a_complete_tool_round_trip() {
    let body = json!({"messages":[
        {"role":"user","content":[{"text":"weather?"}]},
        {"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{}}}]},
        {"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"json":{"c":21}}]}}]}
    ]});
    let (status, kind, out) = call("/model/amazon.nova-lite-v1:0/converse", &body).await;
    assert_eq!((status, kind.as_str()), (200, ""), "{out}");
    assert_eq!(out["output"]["message"]["role"], "assistant");
}
