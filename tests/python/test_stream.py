"""Issue 5 (part): ConverseStream and InvokeModelWithResponseStream over the event stream, read
by boto3 (which checks both CRCs of every frame) and the AWS CLI."""

import json

PINNED_MODEL = "amazon.nova-pro-v1:0"
PINNED = "Pinned answer from the test scenario."


def user_msg(text):
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse_stream_exact_sequence(client):
    r = client("bedrock-runtime").converse_stream(modelId=PINNED_MODEL, messages=user_msg("hi"))
    assert r["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"
    events = list(r["stream"])
    kinds = [next(iter(e)) for e in events]
    # "Pinned answer from the test scenario." in 2-word deltas: 3 deltas.
    assert kinds == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[0]["messageStart"] == {"role": "assistant"}
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == PINNED
    assert events[5]["messageStop"] == {"stopReason": "end_turn"}
    usage = events[6]["metadata"]["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    # Same usage as the non-streaming call.
    plain = client("bedrock-runtime").converse(modelId=PINNED_MODEL, messages=user_msg("hi"))
    assert plain["usage"] == usage


def test_converse_stream_tool_use(client):
    tools = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}]}
    r = client("bedrock-runtime").converse_stream(
        modelId="amazon.nova-lite-v1:0", messages=user_msg("use get_weather for city Paris"), toolConfig=tools)
    events = list(r["stream"])
    start = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert start and start[0]["start"]["toolUse"]["name"] == "get_weather"
    deltas = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
              if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"]]
    assert json.loads("".join(deltas)) == {"city": "Paris"}
    assert [e for e in events if "messageStop" in e][0]["messageStop"]["stopReason"] == "tool_use"


def test_invoke_with_response_stream_anthropic(client):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
            "messages": [{"role": "user", "content": "Reply with exactly: streaming works fine"}]}
    r = client("bedrock-runtime").invoke_model_with_response_stream(
        modelId="anthropic.claude-3-haiku-20240307-v1:0", body=json.dumps(body))
    assert r["contentType"] == "application/json"
    chunks = [json.loads(e["chunk"]["bytes"]) for e in r["body"]]
    types = [c["type"] for c in chunks]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "content_block_start" in types and "content_block_stop" in types and "message_delta" in types
    text = "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")
    assert text == "streaming works fine"
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] >= 1


def test_stream_refusal_is_plain_http_error(client):
    import pytest
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime").converse_stream(
            modelId="anthropic.claude-3-7-sonnet-20250219-v1:0", messages=user_msg("hi"))
    assert ei.value.response["Error"]["Code"] == "ValidationException"
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
