//! The physical-limit baseline of `bench/run`: a bare axum server on the same runtime and HTTP
//! stack as `serve` that answers every request with one fixed Converse body. No routing, no
//! parsing, no signature, no gates: what is left is the cost of HTTP itself, so that
//! `serve`'s req/s can be read as a ratio of it. Never part of `serve`; the harness only.
//!
//! Usage: `bench-bare [PORT]` (0, the default, picks a free port); prints
//! `bench-bare listening on http://ADDR` and serves until killed.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Router;

/// A Converse answer of the size `serve` gives for the bench prompt (same shape and fields).
const BODY: &str = r#"{"output":{"message":{"role":"assistant","content":[{"text":"Hello! This is a scripted answer from bedrock-gates."}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":11,"totalTokens":14},"metrics":{"latencyMs":0}}"#;

async fn fixed() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], BODY)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("port {p}: {e}"))
        })?,
        None => 0,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("bench-bare listening on http://{}", listener.local_addr()?);
    let app = Router::new().fallback(fixed);
    axum::serve(listener, app).await
}
