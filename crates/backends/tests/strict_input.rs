//! Native bodies are checked, then read once into typed requests: a member the model needs is
//! required (refused in Bedrock's schema wording, never filled with a default), and valid bodies
//! decode exactly as they always did.

mod common;

use bg_backends::{Block, Message, ModelFamily as F, Prompt, Role, ToolChoice, ToolSpec};
use common::*;
use serde_json::{json, Value};

fn refused(family: F, body: Value) -> String {
    decode_err(family, &body.to_string())
}

fn nova(content: Value) -> Value {
    json!({"messages": [{"role": "user", "content": content}]})
}

#[test]
fn nova_block_members_are_required() {
    assert_eq!(
        refused(
            F::AmazonNova,
            nova(json!([{"image": {"source": {"bytes": "AAAA"}}}]))
        ),
        malformed("#/messages/0/content/0/image: required key [format] not found")
    );
    assert_eq!(
        refused(
            F::AmazonNova,
            nova(json!([{"video": {"format": 3, "source": {}}}]))
        ),
        malformed("#/messages/0/content/0/video/format: expected type: String, found: Integer")
    );
    assert_eq!(
        refused(
            F::AmazonNova,
            nova(json!([{"document": {"format": "txt", "source": {"bytes": "aGk="}}}]))
        ),
        malformed("#/messages/0/content/0/document: required key [name] not found")
    );
    assert_eq!(
        refused(
            F::AmazonNova,
            nova(json!([{"toolUse": {"toolUseId": 7, "name": "t", "input": {}}}]))
        ),
        malformed(
            "#/messages/0/content/0/toolUse/toolUseId: expected type: String, found: Integer"
        )
    );
    assert_eq!(
        refused(
            F::AmazonNova,
            nova(json!([{"reasoningContent": {"reasoningText": {"signature": "s"}}}]))
        ),
        malformed(
            "#/messages/0/content/0/reasoningContent/reasoningText: required key [text] not found"
        )
    );
    assert_eq!(
        refused(
            F::AmazonNova,
            nova(json!([{"image": {}}, {"toolResult": {"toolUseId": "t"}}]))
        ),
        malformed("#: 3 schema violations found")
    );
}

#[test]
fn nova_tool_config_members_are_required() {
    let body = |tools: Value, choice: Value| {
        json!({"messages": [{"role": "user", "content": [{"text": "x"}]}],
               "toolConfig": {"tools": tools, "toolChoice": choice}})
    };
    let spec = json!([{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]);
    assert_eq!(
        refused(
            F::AmazonNova,
            body(
                json!([{"toolSpec": {"name": "t", "inputSchema": {}}}]),
                json!({})
            )
        ),
        malformed("#/toolConfig/tools/0/toolSpec/inputSchema: required key [json] not found")
    );
    assert_eq!(
        refused(F::AmazonNova, body(spec.clone(), json!({"tool": {}}))),
        malformed("#/toolConfig/toolChoice/tool: required key [name] not found")
    );
    assert_eq!(
        refused(F::AmazonNova, body(spec, json!({"any": true}))),
        malformed("#/toolConfig/toolChoice/any: expected type: JSONObject, found: Boolean")
    );
}

fn claude(messages: Value) -> Value {
    json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": messages})
}

#[test]
fn anthropic_sources_and_system_blocks_are_checked() {
    let doc = |source: Value| {
        claude(json!([{"role": "user", "content": [{"type": "document", "source": source}]}]))
    };
    assert_eq!(
        refused(
            F::AnthropicClaude,
            doc(json!({"type": "text", "media_type": "text/plain"}))
        ),
        malformed("#/messages/0/content/0/source: required key [data] not found")
    );
    assert_eq!(
        refused(F::AnthropicClaude, doc(json!({"type": "content", "content": 5}))),
        malformed("#/messages/0/content/0/source/content: expected type: String or JSONArray, found: Integer")
    );
    let mut body = claude(json!([{"role": "user", "content": "hi"}]));
    body["system"] = json!(["be brief"]);
    assert_eq!(
        refused(F::AnthropicClaude, body),
        malformed("#/system/0: expected type: JSONObject, found: String")
    );
}

#[test]
fn chat_tool_calls_and_results_are_checked() {
    let f = F::MistralChat;
    assert_eq!(
        refused(
            f,
            json!({"messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "get", "arguments": "{}"}}]}
            ]})
        ),
        malformed("#/messages/1/tool_calls/0: required key [id] not found")
    );
    assert_eq!(
        refused(
            f,
            json!({"messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "a", "function": {"arguments": "{}"}}]},
                {"role": "tool", "content": "sunny"}
            ]})
        ),
        malformed("#: 2 schema violations found")
    );
    assert_eq!(
        refused(
            f,
            json!({"messages": [{"role": "tool", "content": "sunny"}]})
        ),
        malformed("#/messages/0: required key [tool_call_id] not found")
    );
    assert_eq!(
        refused(
            F::OpenAi,
            json!({"messages": [{"role": "user", "content": "x"}], "stop": ["a", 1]})
        ),
        malformed("#/stop/1: expected type: String, found: Integer")
    );
    assert_eq!(
        refused(
            F::Qwen,
            json!({"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "function", "function": {}}})
        ),
        malformed("#/tool_choice/function: required key [name] not found")
    );
}

#[test]
fn cohere_turns_and_tool_results_are_checked() {
    let f = F::CohereCommandR;
    assert_eq!(
        refused(
            f,
            json!({"message": "hi", "chat_history": [{"role": "USER"}, {"role": "TOOL", "message": "x"}]})
        ),
        malformed("#: 2 schema violations found")
    );
    assert_eq!(
        refused(
            f,
            json!({"message": "hi", "chat_history": [{"role": "CHATBOT"}]})
        ),
        malformed("#/chat_history/0: required key [message] not found")
    );
    assert_eq!(
        refused(
            f,
            json!({"message": "", "tool_results": [{"call": {"parameters": {}}, "outputs": []}]})
        ),
        malformed("#/tool_results/0/call: required key [name] not found")
    );
}

#[test]
fn valid_bodies_decode_as_before() {
    let p = decode_prompt(
        F::AnthropicClaude,
        &json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "temperature": 0.5,
            "stop_sequences": ["x"], "system": [{"type": "text", "text": "sys"}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "image", "source": {"type": "url", "url": "https://x"}},
                    {"type": "document", "title": "T", "source": {"type": "text", "media_type": "text/plain", "data": "doc"}},
                    {"type": "document", "source": {"type": "base64", "media_type": "text/plain", "data": "aGVsbG8="}},
                    {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "redacted_thinking", "data": "x"},
                    {"type": "tool_use", "id": "tu1", "name": "get", "input": {"a": 1}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "tu1", "content": "sunny", "is_error": true},
                    {"type": "tool_result", "tool_use_id": "tu1", "content": [{"type": "text", "text": "t"}, {"type": "json", "x": 1}]}]}],
            "tools": [{"name": "get", "description": "d", "input_schema": {"type": "object"}}, {"type": "bash_20250124", "name": "bash"}],
            "tool_choice": {"type": "tool", "name": "get"}}),
    );
    assert_eq!(
        p,
        Prompt {
            system: vec!["sys".into()],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        Block::Image {
                            format: "png".into(),
                            bytes_len: 8,
                            data: Some("iVBORw0KGgo=".into())
                        },
                        Block::Image {
                            format: "jpeg".into(),
                            bytes_len: 0,
                            data: None
                        },
                        Block::Document {
                            name: "T".into(),
                            text: "doc".into(),
                            format: None,
                            data: None
                        },
                        Block::Document {
                            name: "document".into(),
                            text: "hello".into(),
                            format: None,
                            data: None
                        },
                        Block::Document {
                            name: "document".into(),
                            text: "a\nb".into(),
                            format: None,
                            data: None
                        },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Block::Reasoning("hmm".into()),
                        Block::ToolUse {
                            id: "tu1".into(),
                            name: "get".into(),
                            input: json!({"a": 1})
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![
                        Block::ToolResult {
                            tool_use_id: "tu1".into(),
                            content: vec![Block::Text("sunny".into())],
                            status: Some("error".into()),
                        },
                        Block::ToolResult {
                            tool_use_id: "tu1".into(),
                            content: vec![
                                Block::Text("t".into()),
                                Block::Text(r#"{"type":"json","x":1}"#.into())
                            ],
                            status: None,
                        },
                    ],
                },
            ],
            max_tokens: Some(10),
            temperature: Some(0.5),
            top_p: None,
            stop_sequences: vec!["x".into()],
            tools: vec![
                ToolSpec {
                    name: "get".into(),
                    description: Some("d".into()),
                    input_schema: json!({"type": "object"})
                },
                ToolSpec {
                    name: "bash".into(),
                    description: None,
                    input_schema: json!({"type": "object"})
                },
            ],
            tool_choice: ToolChoice::Tool("get".into()),
            output_schema: None,
        }
    );

    let p = decode_prompt(
        F::AmazonNova,
        &json!({"system": [{"text": "s"}, {"cachePoint": {"type": "default"}}],
            "messages": [
                {"role": "user", "content": [
                    {"video": {"format": "mp4", "source": {"bytes": "AAAA"}}},
                    {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k"}}}},
                    {"document": {"format": "txt", "name": "n", "source": {"bytes": "aGVsbG8="}}},
                    {"document": {"format": "pdf", "name": "", "source": {"bytes": "AAAA"}}},
                    {"cachePoint": {"type": "default"}}]},
                {"role": "assistant", "content": [
                    {"reasoningContent": {"reasoningText": {"text": "r"}}},
                    {"toolUse": {"toolUseId": "a", "name": "t", "input": {"q": 1}}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "a", "status": "error", "content": [
                    {"text": "x"}, {"json": {"c": 1}}, {"image": {"format": "png", "source": {"bytes": "AAAA"}}}]}}]}],
            "inferenceConfig": {"max_new_tokens": 7, "topP": 0.5, "stopSequences": ["z"]},
            "toolConfig": {"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {"type": "object"}}}}, {"cachePoint": {"type": "default"}}],
                           "toolChoice": {"any": {}}}}),
    );
    assert_eq!(
        p,
        Prompt {
            system: vec!["s".into()],
            messages: vec![
                Message {
                    role: Role::User,
                    content: vec![
                        Block::Image {
                            format: "mp4".into(),
                            bytes_len: 3,
                            data: None
                        },
                        Block::Image {
                            format: "png".into(),
                            bytes_len: 0,
                            data: None
                        },
                        Block::Document {
                            name: "n".into(),
                            text: "hello".into(),
                            format: Some("txt".into()),
                            data: Some("aGVsbG8=".into())
                        },
                        Block::Document {
                            name: "document".into(),
                            text: String::new(),
                            format: Some("pdf".into()),
                            data: Some("AAAA".into())
                        },
                    ],
                },
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Block::Reasoning("r".into()),
                        Block::ToolUse {
                            id: "a".into(),
                            name: "t".into(),
                            input: json!({"q": 1})
                        },
                    ],
                },
                Message {
                    role: Role::User,
                    content: vec![Block::ToolResult {
                        tool_use_id: "a".into(),
                        content: vec![
                            Block::Text("x".into()),
                            Block::Text(r#"{"c":1}"#.into()),
                            Block::Image {
                                format: "png".into(),
                                bytes_len: 3,
                                data: Some("AAAA".into())
                            },
                        ],
                        status: Some("error".into()),
                    }],
                },
            ],
            max_tokens: Some(7),
            temperature: None,
            top_p: Some(0.5),
            stop_sequences: vec!["z".into()],
            tools: vec![ToolSpec {
                name: "t".into(),
                description: None,
                input_schema: json!({"type": "object"})
            }],
            tool_choice: ToolChoice::Any,
            output_schema: None,
        }
    );
}

#[test]
fn a_tool_result_part_that_is_no_block_is_kept_as_its_json() {
    // Tool-result parts are outside the schema pass: one that does not read as a block is
    // passed on as its JSON text instead of a block filled in with defaults.
    let p = decode_prompt(
        F::AnthropicClaude,
        &claude(json!([{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image", "source": {}}]}]}])),
    );
    assert_eq!(
        p.messages[0].content,
        vec![Block::ToolResult {
            tool_use_id: "t".into(),
            content: vec![Block::Text(r#"{"source":{},"type":"image"}"#.into())],
            status: None,
        }]
    );
    let p = decode_prompt(
        F::AmazonNova,
        &nova(
            json!([{"toolResult": {"toolUseId": "x", "content": [{"document": {}}, {"other": 1}]}}]),
        ),
    );
    assert_eq!(
        p.messages[0].content,
        vec![Block::ToolResult {
            tool_use_id: "x".into(),
            content: vec![Block::Text(r#"{"document":{}}"#.into())],
            status: None,
        }]
    );
}
