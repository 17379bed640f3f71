mod common;

use bg_backends::native::{self, NativeRequest};
use bg_backends::{count_prompt_tokens, count_tokens, ModelFamily, ScriptedBackend};
use common::*;
use serde_json::{json, Value};

const NOVA: &str = "amazon.nova-lite-v1:0";

#[test]
fn nova_text() {
    let body = json!({
        "schemaVersion": "messages-v1",
        "system": [{"text": "Always answer in uppercase."}],
        "messages": [{"role": "user", "content": [{"text": "Write a haiku about rivers"}]}],
        "inferenceConfig": {"max_new_tokens": 300, "temperature": 0.7, "top_p": 0.9, "top_k": 20}
    });
    let (p, c, v) = run(ModelFamily::AmazonNova, NOVA, &body);
    assert_eq!(p.max_tokens, Some(300));
    assert_eq!(p.top_p, Some(0.9));
    let text = reply(NOVA, "Write a haiku about rivers").to_uppercase();
    assert_eq!(
        v["output"],
        json!({"message": {"content": [{"text": text}], "role": "assistant"}})
    );
    assert_eq!(v["stopReason"], "end_turn");
    let u = &v["usage"];
    assert_eq!(u["inputTokens"], count_prompt_tokens(&p));
    assert_eq!(u["outputTokens"], count_tokens(&text));
    assert_eq!(
        u["totalTokens"],
        c.usage.input_tokens + c.usage.output_tokens
    );
    assert_eq!(u["cacheReadInputTokenCount"], 0);
    assert_eq!(u["cacheWriteInputTokenCount"], 0);
}

#[test]
fn nova_camel_case_config_and_limits() {
    let body = json!({
        "messages": [{"role": "user", "content": [{"text": "hello"}]}],
        "inferenceConfig": {"maxTokens": 4, "topP": 0.5, "stopSequences": ["never"]}
    });
    let (p, _, v) = run(ModelFamily::AmazonNova, NOVA, &body);
    assert_eq!(p.stop_sequences, vec!["never"]);
    assert_eq!(v["stopReason"], "max_tokens");
    assert_eq!(v["usage"]["outputTokens"], 4);
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        "This is a scri"
    );

    let body = json!({
        "messages": [{"role": "user", "content": [{"text": "hello"}]}],
        "inferenceConfig": {"stopSequences": ["scripted reply"]}
    });
    let (_, _, v) = run(ModelFamily::AmazonNova, NOVA, &body);
    assert_eq!(v["stopReason"], "stop_sequence");
    assert_eq!(v["output"]["message"]["content"][0]["text"], "This is a ");
}

#[test]
fn nova_tool_use() {
    let body = json!({
        "messages": [{"role": "user", "content": [{"text": "What is the top song on WZPZ? Use top_song with sign WZPZ"}]}],
        "toolConfig": {
            "tools": [{"toolSpec": {
                "name": "top_song",
                "description": "Get the most popular song played on a radio station.",
                "inputSchema": {"json": {
                    "type": "object",
                    "properties": {"sign": {"type": "string"}},
                    "required": ["sign"]
                }}
            }}],
            "toolChoice": {"auto": {}}
        }
    });
    let (_, _, v) = run(ModelFamily::AmazonNova, NOVA, &body);
    assert_eq!(v["stopReason"], "tool_use");
    let tu = &v["output"]["message"]["content"][0]["toolUse"];
    assert_eq!(tu["name"], "top_song");
    assert_eq!(tu["input"], json!({"sign": "WZPZ"}));
    let id = tu["toolUseId"].as_str().unwrap();
    assert!(id.starts_with("tooluse_") && id.len() == 30);

    let follow = json!({
        "messages": [
            {"role": "user", "content": [{"text": "What is the top song on WZPZ?"}]},
            {"role": "assistant", "content": [{"toolUse": tu.clone()}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": id, "content": [{"json": {"song": "Elemental Hotel"}}]}}]}
        ],
        "toolConfig": body["toolConfig"].clone()
    });
    let (_, _, v) = run(ModelFamily::AmazonNova, NOVA, &follow);
    assert_eq!(
        v["output"]["message"]["content"][0]["text"],
        "The top_song tool returned: {\"song\":\"Elemental Hotel\"}"
    );
}

#[test]
fn nova_errors() {
    assert_eq!(
        decode_err(ModelFamily::AmazonNova, r#"{"system":[{"text":"x"}]}"#),
        malformed("#: required key [messages] not found")
    );
    assert_eq!(
        decode_err(
            ModelFamily::AmazonNova,
            r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"max_tokens":5}}"#
        ),
        malformed("#/inferenceConfig: extraneous key [max_tokens] is not permitted")
    );
    assert_eq!(
        decode_err(
            ModelFamily::AmazonNova,
            r#"{"messages":[{"role":"user","content":"hi"}]}"#
        ),
        malformed("#/messages/0/content: expected type: JSONArray, found: String")
    );
}

const TITAN: &str = "amazon.titan-text-express-v1";

#[test]
fn titan_text() {
    let body = json!({
        "inputText": "User: Tell me a fun fact about octopuses\nBot:",
        "textGenerationConfig": {"maxTokenCount": 512, "temperature": 0.5, "topP": 0.9, "stopSequences": []}
    });
    let (p, c, v) = run(ModelFamily::AmazonTitanText, TITAN, &body);
    assert_eq!(p.messages[0].text(), "Tell me a fun fact about octopuses");
    let text = reply(TITAN, "Tell me a fun fact about octopuses");
    assert_eq!(
        v,
        json!({
            "inputTextTokenCount": count_prompt_tokens(&p),
            "results": [{"tokenCount": count_tokens(&text), "outputText": text, "completionReason": "FINISH"}]
        })
    );
    assert_eq!(c.usage.output_tokens, count_tokens(&text));

    let body = json!({"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 2}});
    let (_, _, v) = run(ModelFamily::AmazonTitanText, TITAN, &body);
    assert_eq!(v["results"][0]["completionReason"], "LENGTH");
    assert_eq!(v["results"][0]["tokenCount"], 2);
    assert_eq!(v["results"][0]["outputText"], "This is");

    let body = json!({"inputText": "hi", "textGenerationConfig": {"stopSequences": ["User:", "a scripted"]}});
    let (_, _, v) = run(ModelFamily::AmazonTitanText, TITAN, &body);
    assert_eq!(v["results"][0]["completionReason"], "STOP_CRITERIA_MET");
    assert_eq!(v["results"][0]["outputText"], "This is ");
}

#[test]
fn titan_text_errors() {
    let f = ModelFamily::AmazonTitanText;
    assert_eq!(
        decode_err(f, r#"{"inputText":"hi","maxTokens":5}"#),
        malformed("#: extraneous key [maxTokens] is not permitted")
    );
    assert_eq!(
        decode_err(
            f,
            r#"{"inputText":"hi","textGenerationConfig":{"max_tokens":5}}"#
        ),
        malformed("#/textGenerationConfig: extraneous key [max_tokens] is not permitted")
    );
    assert_eq!(
        decode_err(f, r#"{"prompt":"hi"}"#),
        malformed("#: 2 schema violations found")
    );
    assert_eq!(
        decode_err(f, r#"{"inputText":""}"#),
        malformed("#/inputText: expected minLength: 1, actual: 0")
    );
}

#[test]
fn titan_text_stream() {
    let (_, c, _) = run(
        ModelFamily::AmazonTitanText,
        TITAN,
        &json!({"inputText": "Hello"}),
    );
    let text = c.text();
    let pieces = native::split_text_chunks(&text, 4);
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let chunks = stream(ModelFamily::AmazonTitanText, TITAN, &c, &refs);
    assert_eq!(chunks.len(), pieces.len());
    assert_eq!(chunks[0]["inputTextTokenCount"], c.usage.input_tokens);
    assert!(chunks[1].get("inputTextTokenCount").is_none());
    assert!(chunks[0]["completionReason"].is_null());
    let last = chunks.last().unwrap();
    assert_eq!(last["completionReason"], "FINISH");
    assert_eq!(last["totalOutputTextTokenCount"], c.usage.output_tokens);
    let joined: String = chunks
        .iter()
        .map(|c| c["outputText"].as_str().unwrap())
        .collect();
    assert_eq!(joined, text);
    metrics_ok(last, &c);
}

fn embed_request(family: ModelFamily, model: &str, body: &Value) -> (Vec<String>, usize, bool) {
    match native::decode_for_model(family, model, body.to_string().as_bytes()).unwrap() {
        NativeRequest::Embedding {
            texts,
            dimensions,
            normalize,
            ..
        } => (texts, dimensions.unwrap(), normalize),
        other => panic!("{other:?}"),
    }
}

fn embed_titan(model: &str, body: &Value) -> Value {
    let (texts, dims, normalize) = embed_request(ModelFamily::AmazonTitanEmbed, model, body);
    let b = ScriptedBackend::new();
    let out: Vec<_> = texts
        .iter()
        .map(|t| b.embed(model, t, dims, normalize).unwrap())
        .collect();
    let bytes = native::encode_embedding(ModelFamily::AmazonTitanEmbed, model, &out, &texts, RID);
    assert_eq!(
        bytes,
        native::encode_embedding(ModelFamily::AmazonTitanEmbed, model, &out, &texts, RID)
    );
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn titan_embed_v2() {
    let model = "amazon.titan-embed-text-v2:0";
    let v = embed_titan(model, &json!({"inputText": "The quick brown fox"}));
    let e = v["embedding"].as_array().unwrap();
    assert_eq!(e.len(), 1024);
    assert!((l2(e) - 1.0).abs() < 1e-3);
    assert_eq!(v["embeddingsByType"]["float"], v["embedding"]);
    assert_eq!(
        v["inputTextTokenCount"],
        count_tokens("The quick brown fox")
    );
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3);

    let v = embed_titan(
        model,
        &json!({"inputText": "The quick brown fox", "dimensions": 256, "normalize": true, "embeddingTypes": ["float"]}),
    );
    assert_eq!(v["embedding"].as_array().unwrap().len(), 256);

    // model-independent decode leaves the default to the server
    match native::decode(ModelFamily::AmazonTitanEmbed, br#"{"inputText":"x"}"#).unwrap() {
        NativeRequest::Embedding {
            dimensions,
            normalize,
            input_type,
            ..
        } => {
            assert_eq!(dimensions, None);
            assert!(normalize);
            assert_eq!(input_type, None);
        }
        other => panic!("{other:?}"),
    }

    assert_eq!(
        decode_err(
            ModelFamily::AmazonTitanEmbed,
            r#"{"inputText":"x","dimensions":100}"#
        ),
        malformed("#/dimensions: 100 is not a valid enum value")
    );

    // typed response with binary
    let texts = vec!["abc".to_string()];
    let e = ScriptedBackend::new()
        .embed(model, "abc", 256, true)
        .unwrap();
    let types = native::requested_embedding_types(
        ModelFamily::AmazonTitanEmbed,
        br#"{"inputText":"abc","embeddingTypes":["binary","float"]}"#,
    );
    let v: Value = serde_json::from_slice(&native::encode_embedding_typed(
        ModelFamily::AmazonTitanEmbed,
        model,
        &[e],
        &texts,
        &types,
        RID,
    ))
    .unwrap();
    let bin = v["embeddingsByType"]["binary"].as_array().unwrap();
    assert_eq!(bin.len(), 256);
    assert!(bin.iter().all(|b| b == 0 || b == 1));
    assert_eq!(
        v["embeddingsByType"]["float"].as_array().unwrap().len(),
        256
    );
}

#[test]
fn titan_embed_v1() {
    let model = "amazon.titan-embed-text-v1";
    let (_, dims, normalize) = embed_request(
        ModelFamily::AmazonTitanEmbed,
        model,
        &json!({"inputText": "hello"}),
    );
    assert_eq!(dims, 1536);
    assert!(!normalize);
    let v = embed_titan(model, &json!({"inputText": "hello"}));
    assert_eq!(v["embedding"].as_array().unwrap().len(), 1536);
    assert!(v.get("embeddingsByType").is_none());
    assert_eq!(v["inputTextTokenCount"], 2);
    let err = native::decode_for_model(
        ModelFamily::AmazonTitanEmbed,
        model,
        br#"{"inputText":"hello","dimensions":256}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        malformed("#: extraneous key [dimensions] is not permitted")
    );
}

#[test]
fn nova_canvas_is_refused() {
    let err = decode_err(
        ModelFamily::AmazonNovaCanvas,
        r#"{"taskType":"TEXT_IMAGE","textToImageParams":{"text":"a cat"}}"#,
    );
    assert_eq!(err, native::IMAGE_GENERATION_UNSUPPORTED);
}

#[test]
fn nova_stream() {
    let body = json!({"messages": [{"role": "user", "content": [{"text": "hello"}]}]});
    let (_, c, _) = run(ModelFamily::AmazonNova, NOVA, &body);
    let events = stream(ModelFamily::AmazonNova, NOVA, &c, &["This is ", "the rest"]);
    assert_eq!(events[0], json!({"messageStart": {"role": "assistant"}}));
    assert_eq!(
        events[1],
        json!({"contentBlockDelta": {"delta": {"text": "This is "}, "contentBlockIndex": 0}})
    );
    assert_eq!(
        events[3],
        json!({"contentBlockStop": {"contentBlockIndex": 0}})
    );
    assert_eq!(
        events[4],
        json!({"messageStop": {"stopReason": "end_turn"}})
    );
    assert_eq!(
        events[5]["metadata"]["usage"]["outputTokens"],
        c.usage.output_tokens
    );
    metrics_ok(&events[5], &c);
}
