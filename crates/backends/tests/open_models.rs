mod common;

use bg_backends::native;
use bg_backends::{count_prompt_tokens, count_tokens, ModelFamily};
use common::*;
use serde_json::{json, Value};

const LLAMA: &str = "meta.llama3-1-8b-instruct-v1:0";

#[test]
fn llama3_template() {
    let prompt = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain black holes to 8th graders<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    let body = json!({"prompt": prompt, "max_gen_len": 512, "temperature": 0.5, "top_p": 0.9});
    let (p, c, v) = run(ModelFamily::MetaLlama, LLAMA, &body);
    assert_eq!(p.system, vec!["You are a helpful assistant."]);
    assert_eq!(p.messages.len(), 1);
    let text = reply(LLAMA, "Explain black holes to 8th graders");
    assert_eq!(
        v,
        json!({
            "generation": text,
            "prompt_token_count": count_prompt_tokens(&p),
            "generation_token_count": count_tokens(&text),
            "stop_reason": "stop"
        })
    );
    assert_eq!(c.usage.input_tokens, count_prompt_tokens(&p));

    let body = json!({"prompt": prompt, "max_gen_len": 3});
    let (_, _, v) = run(ModelFamily::MetaLlama, LLAMA, &body);
    assert_eq!(v["stop_reason"], "length");
    assert_eq!(v["generation"], "This is a");
    assert_eq!(v["generation_token_count"], 3);
}

#[test]
fn llama_errors_and_stream() {
    let f = ModelFamily::MetaLlama;
    assert_eq!(
        decode_err(f, r#"{"prompt":"hi","max_tokens":100}"#),
        "Malformed input request: #: extraneous key [max_tokens] is not permitted, please reformat your input and try again."
    );
    assert_eq!(
        decode_err(f, r#"{"prompt":"hi","max_gen_len":4096}"#),
        malformed("#/max_gen_len: 4096 is not less or equal to 2048")
    );
    assert_eq!(
        decode_err(f, r#"{"max_gen_len":10}"#),
        malformed("#: required key [prompt] not found")
    );

    let (_, c, _) = run(f, LLAMA, &json!({"prompt": "Hello there"}));
    let events = stream(f, LLAMA, &c, &["This is", " a scripted", " reply"]);
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["prompt_token_count"], c.usage.input_tokens);
    assert!(events[1]["prompt_token_count"].is_null());
    assert!(events[1]["stop_reason"].is_null());
    assert_eq!(events[1]["generation_token_count"], 5);
    assert_eq!(events[2]["stop_reason"], "stop");
    assert_eq!(events[2]["generation_token_count"], c.usage.output_tokens);
    metrics_ok(&events[2], &c);
}

const MISTRAL: &str = "mistral.mixtral-8x7b-instruct-v0:1";

#[test]
fn mistral_prompt_form() {
    let body = json!({
        "prompt": "<s>[INST] What is your favourite condiment? [/INST] Lemon.</s>[INST] Do you have mayonnaise recipes? [/INST]",
        "max_tokens": 400, "temperature": 0.7, "top_p": 0.7, "top_k": 50, "stop": ["[INST]"]
    });
    let (p, _, v) = run(ModelFamily::Mistral, MISTRAL, &body);
    assert_eq!(p.messages.len(), 3);
    assert_eq!(
        v,
        json!({"outputs": [{"text": reply(MISTRAL, "Do you have mayonnaise recipes?"), "stop_reason": "stop"}]})
    );
    let body = json!({"prompt": "<s>[INST] hi [/INST]", "max_tokens": 1});
    let (_, _, v) = run(ModelFamily::Mistral, MISTRAL, &body);
    assert_eq!(v["outputs"][0]["stop_reason"], "length");
    assert_eq!(v["outputs"][0]["text"], "This");
    assert_eq!(
        decode_err(ModelFamily::Mistral, r#"{"prompt":"x","max_gen_len":5}"#),
        malformed("#: extraneous key [max_gen_len] is not permitted")
    );
    let (_, c, _) = run(
        ModelFamily::Mistral,
        MISTRAL,
        &json!({"prompt": "[INST] a [/INST]"}),
    );
    let events = stream(ModelFamily::Mistral, MISTRAL, &c, &["x", "y"]);
    assert!(events[0]["outputs"][0]["stop_reason"].is_null());
    assert_eq!(events[1]["outputs"][0]["stop_reason"], "stop");
    metrics_ok(&events[1], &c);
}

const DEEPSEEK: &str = "deepseek.r1-v1:0";

#[test]
fn deepseek_r1() {
    let body = json!({
        "prompt": "<\u{ff5c}begin\u{2581}of\u{2581}sentence\u{ff5c}><\u{ff5c}User\u{ff5c}>Why is the sky blue?<\u{ff5c}Assistant\u{ff5c}><think>\n",
        "max_tokens": 512, "temperature": 0.5, "top_p": 0.9, "stop": ["</s>"]
    });
    let (_, _, v) = run(ModelFamily::DeepSeek, DEEPSEEK, &body);
    assert_eq!(
        v,
        json!({"choices": [{"text": reply(DEEPSEEK, "Why is the sky blue?"), "stop_reason": "stop"}]})
    );
    let body = json!({"prompt": "Why?", "max_tokens": 2});
    let (_, _, v) = run(ModelFamily::DeepSeek, DEEPSEEK, &body);
    assert_eq!(v["choices"][0]["stop_reason"], "length");
    assert_eq!(
        decode_err(ModelFamily::DeepSeek, r#"{"messages":[]}"#),
        malformed("#: 2 schema violations found")
    );
}

fn weather_tools() -> Value {
    json!([{
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"]
            }
        }
    }])
}

#[test]
fn openai_gpt_oss() {
    let model = "openai.gpt-oss-20b-1:0";
    let body = json!({
        "messages": [
            {"role": "developer", "content": "Be concise."},
            {"role": "user", "content": [{"type": "text", "text": "Summarize the plot of Hamlet"}]}
        ],
        "max_completion_tokens": 200,
        "temperature": 1.0,
        "reasoning_effort": "low"
    });
    let (p, c, v) = run(ModelFamily::OpenAi, model, &body);
    assert_eq!(p.system, vec!["Be concise."]);
    assert_eq!(p.max_tokens, Some(200));
    let text = reply(model, "Summarize the plot of Hamlet");
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("chatcmpl-") && id.len() == 33);
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["created"], 0);
    assert_eq!(v["model"], model);
    assert_eq!(
        v["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}])
    );
    assert_eq!(
        v["usage"],
        json!({
            "prompt_tokens": c.usage.input_tokens,
            "completion_tokens": count_tokens(&text),
            "total_tokens": c.usage.input_tokens + count_tokens(&text)
        })
    );
}

#[test]
fn chat_tool_calls_and_results() {
    let model = "qwen.qwen3-32b-v1:0";
    let body = json!({
        "messages": [{"role": "user", "content": "What's the weather? Call get_current_weather for city Lisbon"}],
        "tools": weather_tools(),
        "tool_choice": "auto",
        "max_tokens": 100
    });
    let (_, _, v) = run(ModelFamily::Qwen, model, &body);
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_current_weather");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Lisbon", "days": 1}));

    let follow = json!({
        "messages": [
            {"role": "user", "content": "What's the weather in Lisbon?"},
            {"role": "assistant", "content": null, "tool_calls": [call.clone()]},
            {"role": "tool", "tool_call_id": call["id"].clone(), "content": "{\"temp\":22}"}
        ],
        "tools": weather_tools()
    });
    let (_, _, v) = run(ModelFamily::Qwen, model, &follow);
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "The get_current_weather tool returned: {\"temp\":22}"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");

    // required / named tool choice
    let mut forced = body.clone();
    forced["messages"] = json!([{"role": "user", "content": "hi"}]);
    forced["tool_choice"] =
        json!({"type": "function", "function": {"name": "get_current_weather"}});
    let (_, _, v) = run(ModelFamily::Qwen, model, &forced);
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn mistral_chat() {
    let model = "mistral.mistral-large-2407-v1:0";
    let body = json!({
        "messages": [
            {"role": "system", "content": "Reply in uppercase."},
            {"role": "user", "content": "What is the most popular song on WZPZ?"}
        ],
        "max_tokens": 100,
        "temperature": 0.3
    });
    let (_, _, v) = run(ModelFamily::MistralChat, model, &body);
    let choice = &v["choices"][0];
    assert_eq!(
        choice["message"]["content"],
        reply(model, "What is the most popular song on WZPZ?").to_uppercase()
    );
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["stop_reason"], "stop");

    let body = json!({
        "messages": [{"role": "user", "content": "hi"}],
        "tools": weather_tools(),
        "tool_choice": "any"
    });
    let (_, c, v) = run(ModelFamily::MistralChat, model, &body);
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    let id = call["id"].as_str().unwrap();
    assert_eq!(id.len(), 9);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(v["choices"][0]["stop_reason"], "tool_calls");

    let events = stream(ModelFamily::MistralChat, model, &c, &[]);
    let last = events.last().unwrap();
    assert_eq!(last["choices"][0]["stop_reason"], "tool_calls");
    assert_eq!(
        last["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_current_weather"
    );
    metrics_ok(last, &c);
}

#[test]
fn jamba() {
    let model = "ai21.jamba-1-5-mini-v1:0";
    let body = json!({
        "messages": [{"role": "user", "content": "Name three primary colors"}],
        "max_tokens": 6,
        "n": 1
    });
    let (_, c, v) = run(ModelFamily::Ai21Jamba, model, &body);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["choices", "id", "usage"]);
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 6);
    assert_eq!(v["usage"]["total_tokens"], c.usage.input_tokens + 6);
}

#[test]
fn chat_errors() {
    let f = ModelFamily::OpenAi;
    assert_eq!(
        decode_err(f, r#"{"prompt":"x"}"#),
        malformed("#: required key [messages] not found")
    );
    assert_eq!(
        decode_err(f, r#"{"messages":[]}"#),
        malformed("#/messages: expected minimum item count: 1, found: 0")
    );
    assert_eq!(
        decode_err(f, r#"{"messages":[{"role":"robot","content":"x"}]}"#),
        malformed("#/messages/0/role: robot is not a valid enum value")
    );
}

#[test]
fn openai_stream() {
    let model = "openai.gpt-oss-120b-1:0";
    let (_, c, _) = run(
        ModelFamily::OpenAi,
        model,
        &json!({"messages": [{"role": "user", "content": "hello"}]}),
    );
    let text = c.text();
    let pieces = native::split_text_chunks(&text, 2);
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let events = stream(ModelFamily::OpenAi, model, &c, &refs);
    assert_eq!(events.len(), pieces.len() + 2);
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(events[0]["object"], "chat.completion.chunk");
    let joined: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(joined, text);
    let last = events.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["usage"]["completion_tokens"], c.usage.output_tokens);
    metrics_ok(last, &c);
}
