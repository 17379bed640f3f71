"""Structured output (issue 14): Converse `outputConfig.textFormat` (json_schema) and Anthropic's
native `output_config.format`, answered by the scripted backend with JSON that validates against
the schema; models without structured outputs are refused."""

import json
import os

import jsonschema
import pytest

from conftest import client_for, refused

# LiteLLM would fetch its price list from GitHub on import; the tests run offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # on-demand Claude 4.5 goes through a profile
NOVA = "amazon.nova-lite-v1:0"

SCHEMA = {
    "type": "object",
    "title": "Weather",
    "properties": {
        "city": {"type": "string"},
        "temperature": {"type": "integer", "minimum": -30, "maximum": 45},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "conditions": {"type": "array", "items": {"$ref": "#/$defs/Condition"}, "minItems": 2},
        "windy": {"type": "boolean"},
    },
    "required": ["city", "temperature", "unit", "conditions"],
    "additionalProperties": False,
    "$defs": {
        "Condition": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "severity": {"type": "number", "minimum": 0, "maximum": 1}},
            "required": ["name", "severity"],
            "additionalProperties": False,
        }
    },
}


def output_config(schema=SCHEMA):
    return {"textFormat": {"type": "json_schema",
                           "structure": {"jsonSchema": {"schema": json.dumps(schema), "name": "weather"}}}}


def ask(rt, text="What is the weather? city: Lisbon", model=CLAUDE, **kw):
    return rt.converse(modelId=model, messages=[{"role": "user", "content": [{"text": text}]}],
                       outputConfig=output_config(), **kw)


def test_converse_answers_json_that_validates_against_the_schema(server):
    rt = client_for("bedrock-runtime")
    r = ask(rt)
    text = r["output"]["message"]["content"][0]["text"]
    value = json.loads(text)
    jsonschema.validate(value, SCHEMA)
    assert value["city"] == "Lisbon"  # the word after the property name in the prompt
    assert len(value["conditions"]) == 2
    assert r["stopReason"] == "end_turn"
    assert r["usage"]["outputTokens"] > 0
    # Deterministic per prompt: the same call, the same bytes; another prompt may differ.
    assert ask(rt)["output"]["message"]["content"][0]["text"] == text


def test_converse_stream_carries_the_same_json(server):
    rt = client_for("bedrock-runtime")
    r = rt.converse_stream(modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "weather, city: Lisbon"}]}],
                           outputConfig=output_config())
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in r["stream"] if "contentBlockDelta" in e)
    jsonschema.validate(json.loads(text), SCHEMA)


def test_anthropic_native_output_config_format_on_invoke_model(server):
    rt = client_for("bedrock-runtime")
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
            "messages": [{"role": "user", "content": "weather for city: Porto"}],
            "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}}
    r = rt.invoke_model(modelId=CLAUDE, body=json.dumps(body))
    out = json.loads(r["body"].read())
    value = json.loads(out["content"][0]["text"])
    jsonschema.validate(value, SCHEMA)
    assert value["city"] == "Porto"
    assert out["stop_reason"] == "end_turn"


def test_anthropic_native_format_must_be_well_formed(server):
    rt = client_for("bedrock-runtime")
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
            "messages": [{"role": "user", "content": "hi"}],
            "output_config": {"format": {"type": "xml", "schema": SCHEMA}}}
    code, status, msg = refused(lambda: rt.invoke_model(modelId=CLAUDE, body=json.dumps(body)))
    assert (code, status) == ("ValidationException", 400)
    assert "#/output_config/format/type" in msg


def test_a_model_without_structured_outputs_is_refused(server):
    rt = client_for("bedrock-runtime")
    assert refused(lambda: ask(rt, model=NOVA)) == (
        "ValidationException", 400,
        "This model doesn't support structured outputs. Remove outputConfig.textFormat and try again.")


def test_the_schema_must_be_a_json_object(server):
    rt = client_for("bedrock-runtime")
    bad = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": "{not json"}}}}
    code, status, msg = refused(lambda: rt.converse(
        modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "hi"}]}], outputConfig=bad))
    assert (code, status) == ("ValidationException", 400)
    assert msg.startswith("The JSON schema in outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON")


def test_litellm_response_format_on_the_converse_and_invoke_routes(server):
    litellm = pytest.importorskip("litellm")
    # LiteLLM moves numeric bounds into descriptions for Anthropic (which does not take them), so
    # the schema here has none: the answer is checked against what reached the server.
    schema = {"type": "object", "properties": {"city": {"type": "string"},
                                               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                                               "temperature": {"type": "integer"}},
              "required": ["city", "unit", "temperature"], "additionalProperties": False}
    fmt = {"type": "json_schema", "json_schema": {"name": "weather", "schema": schema, "strict": True}}
    for route in ("bedrock/converse/", "bedrock/invoke/"):
        r = litellm.completion(model=route + CLAUDE, messages=[{"role": "user", "content": "weather city: Faro"}],
                               response_format=fmt, aws_bedrock_runtime_endpoint=server.url,
                               aws_region_name="us-east-1", aws_access_key_id="test",
                               aws_secret_access_key="test", max_tokens=300)
        value = json.loads(r.choices[0].message.content)
        jsonschema.validate(value, schema)
        assert value["city"] == "Faro", route
