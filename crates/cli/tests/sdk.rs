//! aws-sdk-rust against `bedrock-gates serve`: the same calls and refusals the Python tests make,
//! through the Rust SDK, with exact fields, codes, statuses and messages.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};

const PINNED_MODEL: &str = "amazon.nova-pro-v1:0";
const PINNED: &str = "Pinned answer from the rust test scenario.";
const SCENARIO: &str = r#"
[[account]]
id = "222222222222"
[[user]]
account = "222222222222"
name = "rusty"
[[access_key]]
account = "222222222222"
user = "rusty"
id = "AKIARUSTEXAMPLE00001"
secret = "rust-secret"
[[answer]]
model = "amazon.nova-pro-v1:0"
text = "Pinned answer from the rust test scenario."
[[fault]]
model = "amazon.nova-micro-v1:0"
kind = "stream-throttle"
after_frames = 2
"#;

mod common;
use common::Server;

fn start() -> Server {
    Server::with_scenario(SCENARIO)
}

async fn config(url: &str, region: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
    // the SDK crates are built without their default HTTPS client (issue 16): bg-doctor's
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(bg_doctor::doctor::https())
        .endpoint_url(url)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

fn user(text: &str) -> Message {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.into()))
        .build()
        .unwrap()
}

/// (code, status, message) of a service error.
fn refusal<E: ProvideErrorMetadata + std::fmt::Debug, R>(e: SdkError<E, R>) -> (String, u16, String)
where
    R: HasStatus + std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status();
            let err = se.into_err();
            (
                err.code().unwrap_or("").to_string(),
                status,
                err.message().unwrap_or("").to_string(),
            )
        }
        other => panic!("expected a service error, got {other:?}"),
    }
}

trait HasStatus {
    fn status(&self) -> u16;
}
impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

#[tokio::test]
async fn rust_sdk_end_to_end() {
    let s = start();
    let cfg = config(&s.url, "us-east-1", "test", "test").await;

    // STS
    let me = aws_sdk_sts::Client::new(&cfg)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some("000000000000"));
    assert_eq!(me.arn(), Some("arn:aws:iam::000000000000:root"));
    let rcfg = config(&s.url, "us-east-1", "AKIARUSTEXAMPLE00001", "rust-secret").await;
    let me = aws_sdk_sts::Client::new(&rcfg)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::222222222222:user/rusty"));

    // Control plane
    let bedrock = aws_sdk_bedrock::Client::new(&cfg);
    let list = bedrock
        .list_foundation_models()
        .by_provider("amazon")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = list
        .model_summaries()
        .iter()
        .map(|m| m.model_id())
        .collect();
    assert!(ids.contains(&"amazon.nova-lite-v1:0"), "{ids:?}");
    assert!(list
        .model_summaries()
        .iter()
        .all(|m| m.provider_name() == Some("Amazon")));
    let got = bedrock
        .get_foundation_model()
        .model_identifier("amazon.nova-lite-v1:0")
        .send()
        .await
        .unwrap();
    let d = got.model_details().unwrap();
    assert_eq!(
        d.model_arn(),
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    );
    assert_eq!(d.model_name(), Some("Nova Lite"));

    // Converse
    let rt = aws_sdk_bedrockruntime::Client::new(&cfg);
    let out = rt
        .converse()
        .model_id(PINNED_MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let msg = out.output().unwrap().as_message().unwrap();
    assert_eq!(msg.role(), &ConversationRole::Assistant);
    assert_eq!(msg.content(), &[ContentBlock::Text(PINNED.into())]);
    assert_eq!(out.stop_reason().as_str(), "end_turn");
    let usage = out.usage().unwrap();
    assert_eq!(
        usage.total_tokens(),
        usage.input_tokens() + usage.output_tokens()
    );

    // CountTokens agrees with Converse's usage.
    let counted = rt
        .count_tokens()
        .model_id(PINNED_MODEL)
        .input(aws_sdk_bedrockruntime::types::CountTokensInput::Converse(
            aws_sdk_bedrockruntime::types::ConverseTokensRequest::builder()
                .messages(user("hi"))
                .build(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(counted.input_tokens(), usage.input_tokens());

    // InvokeModel, Anthropic native body
    let body = serde_json::json!({"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"messages":[{"role":"user","content":"hi"}]});
    let inv = rt
        .invoke_model()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(inv.body().as_ref()).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(inv.content_type(), "application/json");

    // Titan embeddings v2: real length
    let inv = rt
        .invoke_model()
        .model_id("amazon.titan-embed-text-v2:0")
        .content_type("application/json")
        .body(Blob::new(r#"{"inputText":"hello","dimensions":512}"#))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(inv.body().as_ref()).unwrap();
    assert_eq!(v["embedding"].as_array().unwrap().len(), 512);

    // Every other provider family's native body, as aws-sdk-rust sends and reads it.
    let invoke = |model: &'static str, body: serde_json::Value| {
        let rt = rt.clone();
        async move {
            let out = rt
                .invoke_model()
                .model_id(model)
                .content_type("application/json")
                .accept("application/json")
                .body(Blob::new(body.to_string()))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{model}: {e:?}"));
            assert_eq!(out.content_type(), "application/json", "{model}");
            serde_json::from_slice::<serde_json::Value>(out.body().as_ref()).unwrap()
        }
    };
    let v = invoke(
        "amazon.nova-lite-v1:0",
        serde_json::json!({"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":50}}),
    )
    .await;
    assert_eq!(v["stopReason"], "end_turn");
    assert_eq!(v["output"]["message"]["role"], "assistant");
    assert_eq!(
        v["usage"]["totalTokens"].as_u64(),
        Some(
            v["usage"]["inputTokens"].as_u64().unwrap()
                + v["usage"]["outputTokens"].as_u64().unwrap()
        )
    );
    let v = invoke(
        "amazon.titan-text-express-v1",
        serde_json::json!({"inputText":"hello","textGenerationConfig":{"maxTokenCount":3}}),
    )
    .await;
    assert_eq!(v["results"][0]["completionReason"], "LENGTH");
    assert_eq!(v["results"][0]["tokenCount"], 3);
    let v = invoke(
        "meta.llama3-8b-instruct-v1:0",
        serde_json::json!({"prompt":"hi","max_gen_len":64}),
    )
    .await;
    assert_eq!(v["stop_reason"], "stop");
    assert!(v["generation"].as_str().is_some_and(|g| !g.is_empty()));
    let v = invoke(
        "mistral.mistral-large-2402-v1:0",
        serde_json::json!({"prompt":"<s>[INST] hi [/INST]","max_tokens":64}),
    )
    .await;
    assert_eq!(v["outputs"][0]["stop_reason"], "stop");
    let v = invoke(
        "cohere.command-r-plus-v1:0",
        serde_json::json!({"message":"hi","max_tokens":64}),
    )
    .await;
    assert_eq!(v["finish_reason"], "COMPLETE");
    assert!(v["text"].as_str().is_some_and(|t| !t.is_empty()));
    let v = invoke(
        "cohere.embed-english-v3",
        serde_json::json!({"texts":["a","b"],"input_type":"search_document"}),
    )
    .await;
    assert_eq!(v["response_type"], "embeddings_floats");
    assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(v["embeddings"][0].as_array().unwrap().len(), 1024);
}

#[tokio::test]
async fn rust_sdk_refusals() {
    let s = start();
    let ok = config(&s.url, "us-east-1", "test", "test").await;
    let rt = aws_sdk_bedrockruntime::Client::new(&ok);

    let bad_secret =
        aws_sdk_bedrockruntime::Client::new(&config(&s.url, "us-east-1", "test", "wrong").await);
    let e = bad_secret
        .converse()
        .model_id("amazon.nova-lite-v1:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(e),
        (
            "InvalidSignatureException".into(),
            403,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into()
        )
    );

    let unknown =
        aws_sdk_bedrockruntime::Client::new(&config(&s.url, "us-east-1", "AKIANOPE", "x").await);
    let e = unknown
        .converse()
        .model_id("amazon.nova-lite-v1:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(e),
        (
            "UnrecognizedClientException".into(),
            403,
            "The security token included in the request is invalid.".into()
        )
    );

    // Expired signature: the SDK signs with a clock ten minutes behind.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    let skewed = aws_sdk_bedrockruntime::Client::from_conf(
        aws_sdk_bedrockruntime::config::Builder::from(&ok)
            .time_source(aws_smithy_async::time::StaticTimeSource::new(past))
            .build(),
    );
    let e = skewed
        .converse()
        .model_id("amazon.nova-lite-v1:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    let (code, status, msg) = refusal(e);
    assert_eq!((code.as_str(), status), ("InvalidSignatureException", 403));
    assert!(
        msg.starts_with("Signature expired: ") && msg.ends_with(" - 5 min.)"),
        "{msg}"
    );

    let west =
        aws_sdk_bedrockruntime::Client::new(&config(&s.url, "us-west-2", "test", "test").await);
    let e = west
        .converse()
        .model_id("amazon.nova-canvas-v1:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(e),
        (
            "ValidationException".into(),
            400,
            "The provided model identifier is invalid.".into()
        )
    );

    let e = rt
        .converse()
        .model_id("anthropic.claude-3-7-sonnet-20250219-v1:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(e),
        (
            "ValidationException".into(),
            400,
            "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model.".into()
        )
    );

    let assistant_first = Message::builder()
        .role(ConversationRole::Assistant)
        .content(ContentBlock::Text("x".into()))
        .build()
        .unwrap();
    let e = rt
        .converse()
        .model_id("amazon.nova-lite-v1:0")
        .messages(assistant_first)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refusal(e),
        (
            "ValidationException".into(),
            400,
            "A conversation must start with a user message. Try again with a conversation that starts with a user message.".into()
        )
    );

    let e = rt
        .invoke_model()
        .model_id("anthropic.claude-3-haiku-20240307-v1:0")
        .content_type("application/json")
        .body(Blob::new("{not json"))
        .send()
        .await
        .unwrap_err();
    let (code, status, msg) = refusal(e);
    assert_eq!((code.as_str(), status), ("ValidationException", 400));
    assert!(msg.starts_with("Malformed input request"), "{msg}");
}

#[tokio::test]
async fn rust_sdk_streams() {
    use aws_sdk_bedrockruntime::types::{ContentBlockDelta, ConverseStreamOutput as Ev};
    let s = start();
    let cfg = config(&s.url, "us-east-1", "test", "test").await;
    let rt = aws_sdk_bedrockruntime::Client::new(&cfg);

    let mut out = rt
        .converse_stream()
        .model_id(PINNED_MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let mut text = String::new();
    while let Some(ev) = out.stream.recv().await.unwrap() {
        kinds.push(match &ev {
            Ev::MessageStart(_) => "messageStart",
            Ev::ContentBlockStart(_) => "contentBlockStart",
            Ev::ContentBlockDelta(d) => {
                if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                    text.push_str(t);
                }
                "contentBlockDelta"
            }
            Ev::ContentBlockStop(_) => "contentBlockStop",
            Ev::MessageStop(m) => {
                assert_eq!(m.stop_reason().as_str(), "end_turn");
                "messageStop"
            }
            Ev::Metadata(m) => {
                let u = m.usage().unwrap();
                assert_eq!(u.total_tokens(), u.input_tokens() + u.output_tokens());
                "metadata"
            }
            _ => "other",
        });
    }
    assert_eq!(
        kinds,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert_eq!(text, PINNED);

    // A throttle after two frames surfaces as the SDK's ThrottlingException.
    let mut out = rt
        .converse_stream()
        .model_id("amazon.nova-micro-v1:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap();
    let mut seen = 0;
    let err = loop {
        match out.stream.recv().await {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("the stream ended without the injected throttle"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 2);
    let se = err.into_service_error();
    assert!(se.is_throttling_exception(), "{se:?}");
    assert_eq!(
        se.message(),
        Some("Too many requests, please wait before trying again. You have sent too many requests.  Wait before trying again.")
    );
}
