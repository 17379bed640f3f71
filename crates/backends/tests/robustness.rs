//! Mutated and hostile bodies: decode may refuse them but must never panic, and
//! whatever it accepts must complete, encode and stream.

use bg_backends::native::{self, NativeRequest};
use bg_backends::{ModelFamily, ScriptedBackend};
use serde_json::{json, Value};

fn bases() -> Vec<(ModelFamily, &'static str, Value)> {
    vec![
        (
            ModelFamily::AnthropicClaude,
            "anthropic.claude-3-haiku-20240307-v1:0",
            json!({"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"system":"s",
                   "messages":[{"role":"user","content":[{"type":"text","text":"hi"},
                   {"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{}}]}]}],
                   "tools":[{"name":"t","input_schema":{"type":"object","required":["a"],"properties":{"a":{"type":["string","null"]}}}}],
                   "tool_choice":{"type":"any"}}),
        ),
        (
            ModelFamily::AmazonNova,
            "amazon.nova-pro-v1:0",
            json!({"messages":[{"role":"user","content":[{"text":"hi"},{"image":{"format":"png","source":{"bytes":"AAAA"}}},
                   {"toolResult":{"toolUseId":"x","content":[{"json":{"a":1}},{"document":{}}]}}]}],
                   "inferenceConfig":{"maxTokens":5},"system":[{"text":"s"}],
                   "toolConfig":{"tools":[{"toolSpec":{"name":"t","inputSchema":{"json":{}}}}],"toolChoice":{"tool":{"name":"t"}}}}),
        ),
        (
            ModelFamily::AmazonTitanText,
            "amazon.titan-text-lite-v1",
            json!({"inputText":"hi","textGenerationConfig":{"maxTokenCount":3}}),
        ),
        (
            ModelFamily::AmazonTitanEmbed,
            "amazon.titan-embed-text-v2:0",
            json!({"inputText":"hi","dimensions":256}),
        ),
        (
            ModelFamily::MetaLlama,
            "meta.llama3-70b-instruct-v1:0",
            json!({"prompt":"<|start_header_id|>user<|end_header_id|>hi<|eot_id|><|start_header_id|>","max_gen_len":5}),
        ),
        (
            ModelFamily::Mistral,
            "mistral.mistral-7b-instruct-v0:2",
            json!({"prompt":"[/INST][INST]<<SYS>>x[INST]","stop":["a"]}),
        ),
        (
            ModelFamily::MistralChat,
            "mistral.mistral-large-2407-v1:0",
            json!({"messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,AAAA"},"x"]},
                   {"role":"assistant","content":null,"tool_calls":[{"id":"a","function":{"name":"t","arguments":"{bad"}}]},
                   {"role":"tool","tool_call_id":"a","content":"5"}],
                   "tools":[{"type":"function","function":{"name":"t"}}],"tool_choice":"any"}),
        ),
        (
            ModelFamily::OpenAi,
            "openai.gpt-oss-20b-1:0",
            json!({"messages":[{"role":"user","content":"hi"}],"stop":"x"}),
        ),
        (
            ModelFamily::CohereCommandR,
            "cohere.command-r-v1:0",
            json!({"message":"hi","chat_history":[{"role":"TOOL","tool_results":[1]}],"documents":[{"title":"d","snippet":"s"},5],
                   "tools":[{"name":"t","parameter_definitions":{"a":{"type":"List[str]","required":true}}}],
                   "tool_results":[{"call":{"name":"t"},"outputs":[]}]}),
        ),
        (
            ModelFamily::CohereCommand,
            "cohere.command-light-text-v14",
            json!({"prompt":"hi","num_generations":2}),
        ),
        (
            ModelFamily::CohereEmbed,
            "cohere.embed-multilingual-v3",
            json!({"texts":["a","b"],"input_type":"clustering","embedding_types":["ubinary","uint8"]}),
        ),
        (
            ModelFamily::Ai21Jamba,
            "ai21.jamba-1-5-large-v1:0",
            json!({"messages":[{"role":"system","content":[{"type":"text","text":"s"}]},{"role":"user","content":"hi"}]}),
        ),
        (
            ModelFamily::DeepSeek,
            "deepseek.r1-v1:0",
            json!({"prompt":"<think><think></think>","stop":["x"]}),
        ),
        (
            ModelFamily::Qwen,
            "qwen.qwen3-coder-30b-a3b-v1:0",
            json!({"messages":[{"role":"user","content":"hi"}]}),
        ),
    ]
}

fn weird() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!(1.5),
        json!(u64::MAX),
        json!(""),
        json!("\u{1F600}\u{0}"),
        json!([]),
        json!([null, 1, "x", {}]),
        json!({}),
        json!({"type": "text"}),
    ]
}

fn exercise(family: ModelFamily, model: &str, body: &[u8]) {
    let b = ScriptedBackend::new();
    for req in [
        native::decode(family, body),
        native::decode_for_model(family, model, body),
    ] {
        match req {
            Ok(NativeRequest::Completion(p)) => {
                if let Ok(c) = b.complete(model, &p) {
                    let _ = native::encode_completion(family, model, &p, &c, "r");
                    let _ = native::encode_stream_chunks(family, model, &c, &[]);
                    let _ = native::encode_stream_chunks(family, model, &c, &["a".into()]);
                }
            }
            Ok(NativeRequest::Embedding {
                texts,
                dimensions,
                normalize,
                ..
            }) => {
                let dims = dimensions.unwrap_or(8);
                let out: Vec<_> = texts
                    .iter()
                    .map(|t| b.embed(model, t, dims, normalize).unwrap())
                    .collect();
                let types = native::requested_embedding_types(family, body);
                let _ = native::encode_embedding_typed(family, model, &out, &texts, &types, "r");
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// Replace the value at every path (objects and arrays, recursively) with each weird value.
fn mutations(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                for w in weird() {
                    let mut copy = v.clone();
                    copy[k.as_str()] = w;
                    out.push(copy);
                }
                for sub in mutations(child) {
                    let mut copy = v.clone();
                    copy[k.as_str()] = sub;
                    out.push(copy);
                }
                let mut removed = v.clone();
                removed.as_object_mut().unwrap().remove(k);
                out.push(removed);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                for w in weird() {
                    let mut copy = v.clone();
                    copy[i] = w;
                    out.push(copy);
                }
                for sub in mutations(child) {
                    let mut copy = v.clone();
                    copy[i] = sub;
                    out.push(copy);
                }
            }
        }
        _ => {}
    }
    out
}

#[test]
fn mutated_bodies_never_panic() {
    let mut n = 0;
    for (family, model, base) in bases() {
        exercise(family, model, base.to_string().as_bytes());
        for m in mutations(&base) {
            exercise(family, model, m.to_string().as_bytes());
            n += 1;
        }
        for raw in ["", "{", "null", "[]", "\"x\"", "{\"a\":}", "\u{feff}{}"] {
            exercise(family, model, raw.as_bytes());
        }
    }
    assert!(n > 1000, "{n}");
}

#[test]
fn every_family_accepts_its_base_body() {
    for (family, _, base) in bases() {
        native::decode(family, base.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{family:?}: {e}"));
    }
}
