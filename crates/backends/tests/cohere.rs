mod common;

use bg_backends::native::{self, NativeRequest};
use bg_backends::{count_tokens, ModelFamily, ScriptedBackend};
use common::*;
use serde_json::{json, Value};

const R: &str = "cohere.command-r-plus-v1:0";

#[test]
fn command_r_chat() {
    let body = json!({
        "message": "Which city is larger?",
        "preamble": "You are a travel expert.",
        "chat_history": [
            {"role": "USER", "message": "Tell me about Lyon and Lille"},
            {"role": "CHATBOT", "message": "Both are French cities."}
        ],
        "max_tokens": 200,
        "temperature": 0.3,
        "p": 0.75,
        "k": 0
    });
    let (p, c, v) = run(ModelFamily::CohereCommandR, R, &body);
    assert_eq!(p.system, vec!["You are a travel expert."]);
    assert_eq!(p.messages.len(), 3);
    let text = reply(R, "Which city is larger?");
    assert_eq!(v["text"], text);
    assert_eq!(v["finish_reason"], "COMPLETE");
    let rid = v["response_id"].as_str().unwrap();
    let gid = v["generation_id"].as_str().unwrap();
    assert_eq!(rid.len(), 36);
    assert_ne!(rid, gid);
    assert_eq!(
        v["chat_history"],
        json!([
            {"role": "USER", "message": "Tell me about Lyon and Lille"},
            {"role": "CHATBOT", "message": "Both are French cities."},
            {"role": "USER", "message": "Which city is larger?"},
            {"role": "CHATBOT", "message": text}
        ])
    );
    assert!(v.get("tool_calls").is_none());
    assert_eq!(c.usage.output_tokens, count_tokens(&text));

    let body = json!({"message": "hi", "max_tokens": 2});
    let (_, _, v) = run(ModelFamily::CohereCommandR, R, &body);
    assert_eq!(v["finish_reason"], "MAX_TOKENS");
    let body = json!({"message": "hi", "stop_sequences": ["reply"]});
    let (_, _, v) = run(ModelFamily::CohereCommandR, R, &body);
    assert_eq!(v["finish_reason"], "STOP_SEQUENCE");
    assert_eq!(v["text"], "This is a scripted ");
}

#[test]
fn command_r_tools() {
    let tools = json!([{
        "name": "query_daily_sales_report",
        "description": "Connects to a database to retrieve overall sales volumes",
        "parameter_definitions": {
            "day": {"description": "Retrieves sales data for this day", "type": "str", "required": true},
            "limit": {"description": "Max rows", "type": "int", "required": false}
        }
    }]);
    let body = json!({
        "message": "Can you use query_daily_sales_report for day 2023-09-29?",
        "tools": tools
    });
    let (p, _, v) = run(ModelFamily::CohereCommandR, R, &body);
    assert_eq!(p.tools[0].input_schema["required"], json!(["day"]));
    assert_eq!(
        v["tool_calls"],
        json!([{"name": "query_daily_sales_report", "parameters": {"day": "2023-09-29"}}])
    );
    assert_eq!(v["finish_reason"], "COMPLETE");
    let last = v["chat_history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["tool_calls"], v["tool_calls"]);

    let body = json!({
        "message": "",
        "tools": tools,
        "chat_history": [{"role": "USER", "message": "Sales on 2023-09-29?"}],
        "tool_results": [{
            "call": {"name": "query_daily_sales_report", "parameters": {"day": "2023-09-29"}},
            "outputs": [{"date": "2023-09-29", "summary": "Total Sales Amount: 10000"}]
        }]
    });
    let (_, _, v) = run(ModelFamily::CohereCommandR, R, &body);
    assert_eq!(
        v["text"],
        "The query_daily_sales_report tool returned: {\"date\":\"2023-09-29\",\"summary\":\"Total Sales Amount: 10000\"}"
    );
}

#[test]
fn command_r_errors_and_stream() {
    let f = ModelFamily::CohereCommandR;
    assert_eq!(
        decode_err(f, r#"{"prompt":"hi"}"#),
        malformed("#: 2 schema violations found")
    );
    assert_eq!(
        decode_err(
            f,
            r#"{"message":"hi","chat_history":[{"role":"ASSISTANT","message":"x"}]}"#
        ),
        malformed("#/chat_history/0/role: ASSISTANT is not a valid enum value")
    );
    let (_, c, _) = run(f, R, &json!({"message": "hi"}));
    let events = stream(f, R, &c, &["This ", "is"]);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "stream-start",
            "text-generation",
            "text-generation",
            "stream-end"
        ]
    );
    let end = events.last().unwrap();
    assert_eq!(end["is_finished"], true);
    assert_eq!(end["finish_reason"], "COMPLETE");
    assert_eq!(end["response"]["text"], c.text());
    assert_eq!(end["response"]["generation_id"], events[0]["generation_id"]);
    metrics_ok(end, &c);
}

#[test]
fn command_legacy() {
    let model = "cohere.command-text-v14";
    let body = json!({"prompt": "Write a LinkedIn post about AI", "max_tokens": 100, "temperature": 0.8, "return_likelihoods": "NONE"});
    let (_, _, v) = run(ModelFamily::CohereCommand, model, &body);
    assert_eq!(v["prompt"], "Write a LinkedIn post about AI");
    assert_eq!(v["id"].as_str().unwrap().len(), 36);
    let g = &v["generations"][0];
    assert_eq!(g["text"], reply(model, "Write a LinkedIn post about AI"));
    assert_eq!(g["finish_reason"], "COMPLETE");
    assert_ne!(g["id"], v["id"]);
    let (_, _, v) = run(
        ModelFamily::CohereCommand,
        model,
        &json!({"prompt": "x", "max_tokens": 1}),
    );
    assert_eq!(v["generations"][0]["finish_reason"], "MAX_TOKENS");
    assert_eq!(
        decode_err(ModelFamily::CohereCommand, r#"{"message":"x"}"#),
        malformed("#: 2 schema violations found")
    );
}

fn embed(model: &str, body: &Value, types: &[String]) -> Value {
    let (texts, dims, normalize, input_type) = match native::decode_for_model(
        ModelFamily::CohereEmbed,
        model,
        body.to_string().as_bytes(),
    )
    .unwrap()
    {
        NativeRequest::Embedding {
            texts,
            dimensions,
            normalize,
            input_type,
        } => (texts, dimensions.unwrap(), normalize, input_type),
        other => panic!("{other:?}"),
    };
    assert_eq!(input_type.as_deref(), body["input_type"].as_str());
    let b = ScriptedBackend::new();
    let out: Vec<_> = texts
        .iter()
        .map(|t| b.embed(model, t, dims, normalize).unwrap())
        .collect();
    let bytes =
        native::encode_embedding_typed(ModelFamily::CohereEmbed, model, &out, &texts, types, RID);
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn cohere_embed_v3() {
    let model = "cohere.embed-english-v3";
    let body = json!({"texts": ["hello world", "goodbye moon"], "input_type": "search_document", "truncate": "NONE"});
    let v = embed(model, &body, &[]);
    assert_eq!(v["texts"], json!(["hello world", "goodbye moon"]));
    assert_eq!(v["response_type"], "embeddings_floats");
    let e = v["embeddings"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    for vec in e {
        let vec = vec.as_array().unwrap();
        assert_eq!(vec.len(), 1024);
        assert!((l2(vec) - 1.0).abs() < 1e-3);
    }
    assert_ne!(e[0], e[1]);
    assert_eq!(v["id"].as_str().unwrap().len(), 36);

    let body = json!({"texts": ["hello"], "input_type": "search_query", "embedding_types": ["float", "int8", "binary"]});
    let types =
        native::requested_embedding_types(ModelFamily::CohereEmbed, body.to_string().as_bytes());
    assert_eq!(types, vec!["float", "int8", "binary"]);
    let v = embed(model, &body, &types);
    assert_eq!(v["response_type"], "embeddings_by_type");
    assert_eq!(v["embeddings"]["float"][0].as_array().unwrap().len(), 1024);
    let int8 = v["embeddings"]["int8"][0].as_array().unwrap();
    assert_eq!(int8.len(), 1024);
    assert!(int8
        .iter()
        .all(|x| (-128..=127).contains(&x.as_i64().unwrap())));
    assert_eq!(v["embeddings"]["binary"][0].as_array().unwrap().len(), 128);

    let err = native::decode_for_model(
        ModelFamily::CohereEmbed,
        model,
        br#"{"texts":["x"],"input_type":"search_query","output_dimension":256}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        malformed("#: extraneous key [output_dimension] is not permitted")
    );
}

#[test]
fn cohere_embed_v4_and_errors() {
    let model = "cohere.embed-v4:0";
    let v = embed(
        model,
        &json!({"texts": ["a"], "input_type": "classification"}),
        &[],
    );
    assert_eq!(v["embeddings"][0].as_array().unwrap().len(), 1536);
    let v = embed(
        model,
        &json!({"texts": ["a"], "input_type": "clustering", "output_dimension": 512}),
        &[],
    );
    assert_eq!(v["embeddings"][0].as_array().unwrap().len(), 512);

    let f = ModelFamily::CohereEmbed;
    assert_eq!(
        decode_err(f, r#"{"texts":["a"]}"#),
        malformed("#: required key [input_type] not found")
    );
    let many: Vec<String> = (0..97).map(|i| format!("t{i}")).collect();
    let body = json!({"texts": many, "input_type": "search_document"}).to_string();
    assert_eq!(
        decode_err(f, &body),
        malformed("#/texts: expected maximum item count: 96, found: 97")
    );
    assert_eq!(
        decode_err(f, r#"{"texts":["a"],"input_type":"query"}"#),
        malformed("#/input_type: query is not a valid enum value")
    );
}
