//! Bodies that cannot be read (issue 10, item 6): one over the limit is refused as too large,
//! one that breaks off is refused as unreadable, not as "longer than 25,000,000 bytes".

use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn send(body: Body) -> (u16, String, String) {
    let store = bg_store::SqliteStore::open(":memory:").unwrap();
    let app = bg_server::App::new(Box::new(store), None).unwrap();
    let req = http::Request::builder()
        .method("POST")
        .uri("http://127.0.0.1:4950/model/amazon.nova-lite-v1:0/converse")
        .header("host", "127.0.0.1:4950")
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let resp = bg_server::router(app).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().split(':').next().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    (
        status,
        kind,
        v["message"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn a_body_that_breaks_off_is_unreadable_not_too_large() {
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(bytes::Bytes::from_static(b"{\"messages\":")),
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid chunk size line",
        )),
    ];
    let (status, kind, message) = send(Body::from_stream(futures_util::stream::iter(chunks))).await;
    assert_eq!((status, kind.as_str()), (400, "SerializationException"));
    assert_eq!(message, "The request body could not be read: it is not a well-formed HTTP message body (for example, a malformed chunked transfer encoding).");
}

#[tokio::test]
async fn a_body_over_the_limit_without_a_length_is_too_large() {
    let chunk = bytes::Bytes::from(vec![b' '; 1 << 20]);
    let chunks = (0..25).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    let (status, kind, message) = send(Body::from_stream(futures_util::stream::iter(chunks))).await;
    assert_eq!((status, kind.as_str()), (400, "ValidationException"));
    assert_eq!(message, "1 validation error detected: Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 25000000");
}
