mod common;

use bg_backends::native;
use bg_backends::{count_prompt_tokens, count_tokens, ModelFamily, ScriptedBackend};
use common::*;
use serde_json::json;

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const F: ModelFamily = ModelFamily::AnthropicClaude;

#[test]
fn text_completion() {
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "system": "You are a geography tutor.",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "temperature": 0.2
    });
    let (p, c, v) = run(F, MODEL, &body);
    assert_eq!(p.system, vec!["You are a geography tutor."]);
    assert_eq!(p.max_tokens, Some(512));
    let text = reply(MODEL, "What is the capital of France?");
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("msg_bdrk_01") && id.len() == 35, "{id}");
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-3-haiku-20240307");
    assert_eq!(v["content"], json!([{"type": "text", "text": text}]));
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["stop_sequence"].is_null());
    // "You are a geography tutor." = 1+1+1+3+2 ; "What is the capital of France?" = 1+1+1+2+1+2
    assert_eq!(count_prompt_tokens(&p), 16);
    assert_eq!(v["usage"]["input_tokens"], 16);
    assert_eq!(v["usage"]["output_tokens"], count_tokens(&text));
    assert_eq!(c.usage.output_tokens, count_tokens(&text));
    // field order is Anthropic's
    let raw = String::from_utf8(native::encode_completion(F, MODEL, &p, &c, RID)).unwrap();
    assert!(raw.starts_with("{\"id\":\"msg_bdrk_01"), "{raw}");
    assert!(raw.contains("\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\""));
}

#[test]
fn block_content_system_array_and_image() {
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "Reply with exactly: \"Bonjour\"", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "text", "text": "Describe this image"}
        ]}]
    });
    let (p, _, v) = run(F, MODEL, &body);
    assert_eq!(
        p.messages[0].content[0],
        bg_backends::Block::Image {
            format: "png".into(),
            bytes_len: 8,
            data: Some("iVBORw0KGgo=".into())
        }
    );
    assert_eq!(v["content"][0]["text"], "Bonjour");
}

#[test]
fn max_tokens_truncates() {
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "Tell me a long story"}]
    });
    let (_, _, v) = run(F, MODEL, &body);
    assert_eq!(v["content"][0]["text"], "This is a scripted");
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 5);
}

#[test]
fn stop_sequences() {
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "stop_sequences": ["reply", "scripted"],
        "messages": [{"role": "user", "content": "hi"}]
    });
    let (_, _, v) = run(F, MODEL, &body);
    assert_eq!(v["content"][0]["text"], "This is a ");
    assert_eq!(v["stop_reason"], "stop_sequence");
    assert_eq!(v["stop_sequence"], "scripted");
    assert_eq!(v["usage"]["output_tokens"], 3);
}

fn tools() -> serde_json::Value {
    json!([{
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "input_schema": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            },
            "required": ["location", "unit"]
        }
    }])
}

#[test]
fn tool_use_round_trip() {
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "tools": tools(),
        "messages": [{"role": "user", "content": "Use get_weather for location Paris please"}]
    });
    let (_, c, v) = run(F, MODEL, &body);
    assert_eq!(v["stop_reason"], "tool_use");
    let block = &v["content"][0];
    assert_eq!(block["type"], "tool_use");
    let id = block["id"].as_str().unwrap();
    assert!(id.starts_with("toolu_bdrk_01") && id.len() == 37, "{id}");
    assert_eq!(block["name"], "get_weather");
    assert_eq!(
        block["input"],
        json!({"location": "Paris", "unit": "celsius"})
    );
    assert_eq!(
        v["usage"]["output_tokens"],
        count_tokens("get_weather") + count_tokens(&block["input"].to_string())
    );
    assert_eq!(c.usage.output_tokens, v["usage"]["output_tokens"]);

    // tool_choice any without a mention still calls the tool
    let mut forced = body.clone();
    forced["messages"] = json!([{"role": "user", "content": "hello"}]);
    forced["tool_choice"] = json!({"type": "any"});
    let (_, _, v2) = run(F, MODEL, &forced);
    assert_eq!(v2["content"][0]["input"]["location"], "example");

    // second turn: tool result → text
    let second = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "tools": tools(),
        "messages": [
            {"role": "user", "content": "Use get_weather for location Paris please"},
            {"role": "assistant", "content": [block.clone()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "18C and sunny"}]}
        ]
    });
    let (_, _, v3) = run(F, MODEL, &second);
    assert_eq!(v3["stop_reason"], "end_turn");
    assert_eq!(
        v3["content"][0]["text"],
        "The get_weather tool returned: 18C and sunny"
    );
}

#[test]
fn schema_errors() {
    let missing =
        r#"{"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(
        decode_err(F, missing),
        "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again."
    );
    let no_version = r#"{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(
        decode_err(F, no_version),
        malformed("#: required key [anthropic_version] not found")
    );
    let no_messages = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10}"#;
    assert_eq!(
        decode_err(F, no_messages),
        malformed("#: required key [messages] not found")
    );
    let extra = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"foo":1,"messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(
        decode_err(F, extra),
        "Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again."
    );
    assert_eq!(
        decode_err(F, r#"{"messages":[]}"#),
        malformed("#: 2 schema violations found")
    );
    let wrong_type = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":"10","messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(
        decode_err(F, wrong_type),
        malformed("#/max_tokens: expected type: Integer, found: String")
    );
    let bad_role = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"bot","content":"hi"}]}"#;
    assert_eq!(
        decode_err(F, bad_role),
        malformed("#/messages/0/role: bot is not a valid enum value")
    );
    let bad_version = r#"{"anthropic_version":"2023-06-01","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(
        decode_err(F, bad_version),
        malformed("#/anthropic_version: 2023-06-01 is not a valid enum value")
    );
    let hot = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}"#;
    assert_eq!(
        decode_err(F, hot),
        malformed("#/temperature: 1.5 is not less or equal to 1")
    );
    let empty = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[]}"#;
    assert_eq!(
        decode_err(F, empty),
        "messages: at least one message is required"
    );
    assert!(decode_err(F, "not json")
        .starts_with("Malformed input request: #: the request body is not valid JSON"));
    assert_eq!(
        decode_err(F, "[1]"),
        malformed("#: expected type: JSONObject, found: JSONArray")
    );
}

#[test]
fn pinned_answer() {
    let mut b = ScriptedBackend::new();
    b.pin(MODEL, "Paris.");
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "Capital of France?"}]
    });
    let (_, _, v) = run_with(&b, F, MODEL, &body);
    assert_eq!(v["content"][0]["text"], "Paris.");
    assert_eq!(v["usage"]["output_tokens"], 2);
}

#[test]
fn streaming_events() {
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}]
    });
    let (_, c, _) = run(F, MODEL, &body);
    let text = c.text();
    let pieces = native::split_text_chunks(&text, 3);
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let events = stream(F, MODEL, &c, &refs);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let mut expected = vec!["message_start", "content_block_start"];
    expected.extend(vec!["content_block_delta"; pieces.len()]);
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(types, expected);
    assert_eq!(events[0]["message"]["model"], "claude-3-haiku-20240307");
    assert_eq!(
        events[0]["message"]["usage"]["input_tokens"],
        c.usage.input_tokens
    );
    let joined: String = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .map(|e| e["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(joined, text);
    let delta = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], c.usage.output_tokens);
    metrics_ok(events.last().unwrap(), &c);

    // tool use streams an input_json_delta
    let body = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "tools": tools(),
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [{"role": "user", "content": "weather?"}]
    });
    let (_, c, v) = run(F, MODEL, &body);
    let events = stream(F, MODEL, &c, &[]);
    let start = events
        .iter()
        .find(|e| e["type"] == "content_block_start")
        .unwrap();
    assert_eq!(start["content_block"]["type"], "tool_use");
    assert_eq!(start["content_block"]["name"], "get_weather");
    let delta = events
        .iter()
        .find(|e| e["type"] == "content_block_delta")
        .unwrap();
    let partial: serde_json::Value =
        serde_json::from_str(delta["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(partial, v["content"][0]["input"]);
}
