"""Issue 2: real clients (boto3, the AWS CLI) against `serve`, pointed only by AWS_ENDPOINT_URL.
Each test asserts the exact observable result: fields, error type, HTTP status, message."""

import base64
import datetime
import json
import urllib.request
from unittest import mock

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from conftest import client_for, error_of

NOVA_LITE = "amazon.nova-lite-v1:0"
PINNED_MODEL = "amazon.nova-pro-v1:0"
PINNED = "Pinned answer from the test scenario."
INVALID_ID = "The provided model identifier is invalid."
BAD_TOKEN = "The security token included in the request is invalid."
BAD_SIG = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def user_msg(text):
    return [{"role": "user", "content": [{"text": text}]}]


# ---------------------------------------------------------------- STS

def test_get_caller_identity_root(client):
    r = client("sts").get_caller_identity()
    assert (r["Account"], r["Arn"], r["UserId"]) == (
        "000000000000",
        "arn:aws:iam::000000000000:root",
        "000000000000",
    )
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(r["ResponseMetadata"]["RequestId"]) == 36


def test_get_caller_identity_scenario_user(client):
    r = client("sts", aws_access_key_id="AKIADEVEXAMPLE000001", aws_secret_access_key="dev-secret-key").get_caller_identity()
    assert r["Account"] == "111111111111"
    assert r["Arn"] == "arn:aws:iam::111111111111:user/dev"
    assert r["UserId"].startswith("AIDA") and len(r["UserId"]) == 21


def test_cli_get_caller_identity(aws):
    rc, out, err = aws("sts", "get-caller-identity")
    assert rc == 0, err
    assert json.loads(out) == {
        "UserId": "000000000000",
        "Account": "000000000000",
        "Arn": "arn:aws:iam::000000000000:root",
    }


def test_sts_unknown_key_is_invalid_client_token_id(client):
    with pytest.raises(ClientError) as ei:
        client("sts", aws_access_key_id="AKIANOBODY", aws_secret_access_key="x").get_caller_identity()
    assert error_of(ei) == ("InvalidClientTokenId", 403, BAD_TOKEN)


def test_sts_wrong_secret_is_signature_does_not_match(client):
    with pytest.raises(ClientError) as ei:
        client("sts", aws_access_key_id="test", aws_secret_access_key="wrong").get_caller_identity()
    assert error_of(ei) == ("SignatureDoesNotMatch", 403, BAD_SIG)


# ---------------------------------------------------------------- control plane

def test_cli_list_foundation_models_by_provider(aws):
    rc, out, err = aws("bedrock", "list-foundation-models", "--by-provider", "amazon")
    assert rc == 0, err
    models = json.loads(out)["modelSummaries"]
    ids = {m["modelId"] for m in models}
    assert NOVA_LITE in ids and "amazon.titan-embed-text-v2:0" in ids
    assert all(m["providerName"] == "Amazon" for m in models)
    lite = next(m for m in models if m["modelId"] == NOVA_LITE)
    assert lite["modelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    assert lite["modelName"] == "Nova Lite"
    assert lite["inferenceTypesSupported"] == ["ON_DEMAND"]
    assert lite["modelLifecycle"] == {"status": "ACTIVE"}
    assert lite["responseStreamingSupported"] is True


def test_list_foundation_models_filters(client):
    bedrock = client("bedrock")
    emb = bedrock.list_foundation_models(byOutputModality="EMBEDDING")["modelSummaries"]
    assert emb and all("EMBEDDING" in m["outputModalities"] for m in emb)
    od = bedrock.list_foundation_models(byInferenceType="ON_DEMAND")["modelSummaries"]
    assert od and all("ON_DEMAND" in m["inferenceTypesSupported"] for m in od)
    everything = bedrock.list_foundation_models()["modelSummaries"]
    assert len(everything) > len(od), "profile-only models are listed too"
    po = [m for m in everything if m["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]]
    assert any(m["modelId"] == "anthropic.claude-3-7-sonnet-20250219-v1:0" for m in po)
    ft = bedrock.list_foundation_models(byCustomizationType="FINE_TUNING")["modelSummaries"]
    assert all("FINE_TUNING" in m["customizationsSupported"] for m in ft)
    anth = bedrock.list_foundation_models(byProvider="Anthropic")["modelSummaries"]
    assert anth and {m["providerName"] for m in anth} == {"Anthropic"}


def test_list_foundation_models_bad_enum(client):
    with pytest.raises(ClientError) as ei:
        # botocore does not validate enums, so the server must.
        client("bedrock").list_foundation_models(byOutputModality="AUDIO")
    assert error_of(ei) == (
        "ValidationException",
        400,
        "1 validation error detected: Value 'AUDIO' at 'byOutputModality' failed to satisfy constraint: "
        "Member must satisfy enum value set: [TEXT, IMAGE, EMBEDDING]",
    )


def test_list_is_per_region(client):
    west = client("bedrock", region_name="us-west-2").list_foundation_models()["modelSummaries"]
    ids = {m["modelId"] for m in west}
    assert "amazon.nova-canvas-v1:0" not in ids
    arns = {m["modelArn"] for m in west}
    assert all(a.startswith("arn:aws:bedrock:us-west-2::foundation-model/") for a in arns)


def test_get_foundation_model(client):
    d = client("bedrock").get_foundation_model(modelIdentifier=NOVA_LITE)["modelDetails"]
    assert d["modelId"] == NOVA_LITE
    assert d["providerName"] == "Amazon"
    assert d["inputModalities"] == ["TEXT", "IMAGE", "VIDEO"]
    arn = d["modelArn"]
    assert client("bedrock").get_foundation_model(modelIdentifier=arn)["modelDetails"]["modelId"] == NOVA_LITE


def test_get_foundation_model_unknown(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock").get_foundation_model(modelIdentifier="amazon.nope-v9:0")
    assert error_of(ei) == ("ValidationException", 400, INVALID_ID)


# ---------------------------------------------------------------- Converse

def test_converse_pinned_answer_exact(client):
    rt = client("bedrock-runtime")
    r = rt.converse(modelId=PINNED_MODEL, messages=user_msg("hi"))
    assert r["output"] == {"message": {"role": "assistant", "content": [{"text": PINNED}]}}
    assert r["stopReason"] == "end_turn"
    u = r["usage"]
    assert u["totalTokens"] == u["inputTokens"] + u["outputTokens"]
    counted = rt.count_tokens(modelId=PINNED_MODEL, input={"converse": {"messages": user_msg("hi")}})
    assert counted["inputTokens"] == u["inputTokens"]
    assert isinstance(r["metrics"]["latencyMs"], int)
    assert r["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"


def test_converse_is_deterministic_and_honours_max_tokens(client):
    rt = client("bedrock-runtime")
    a = rt.converse(modelId=NOVA_LITE, messages=user_msg("Tell me about the gates of Bedrock"))
    b = rt.converse(modelId=NOVA_LITE, messages=user_msg("Tell me about the gates of Bedrock"))
    assert a["output"] == b["output"] and a["usage"] == b["usage"]
    short = rt.converse(
        modelId=NOVA_LITE,
        messages=user_msg("Tell me about the gates of Bedrock"),
        inferenceConfig={"maxTokens": 2},
    )
    assert short["stopReason"] == "max_tokens"
    assert short["usage"]["outputTokens"] == 2


def test_converse_stop_sequence(client):
    rt = client("bedrock-runtime")
    r = rt.converse(modelId=PINNED_MODEL, messages=user_msg("hi"), inferenceConfig={"stopSequences": ["from"]})
    assert r["stopReason"] == "stop_sequence"
    assert r["output"]["message"]["content"] == [{"text": "Pinned answer "}]


def test_converse_tool_use(client):
    rt = client("bedrock-runtime")
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        }
                    },
                }
            }
        ]
    }
    r = rt.converse(modelId=NOVA_LITE, messages=user_msg("Use the get_weather tool for Paris"), toolConfig=tools)
    assert r["stopReason"] == "tool_use"
    tu = [b["toolUse"] for b in r["output"]["message"]["content"] if "toolUse" in b]
    assert len(tu) == 1 and tu[0]["name"] == "get_weather"
    assert set(tu[0]["input"]) == {"city"}
    assert tu[0]["toolUseId"].startswith("tooluse_")


@pytest.mark.parametrize("model,body,check", [
    ("anthropic.claude-3-haiku-20240307-v1:0",
     {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
     lambda o: o["type"] == "message" and o["stop_reason"] == "end_turn"),
    (PINNED_MODEL, {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
     lambda o: o["output"]["message"]["content"] == [{"text": PINNED}]),
    ("amazon.titan-text-express-v1", {"inputText": "hello", "textGenerationConfig": {"maxTokenCount": 3}},
     lambda o: o["results"][0]["tokenCount"] == 3 and o["results"][0]["completionReason"] == "LENGTH"),
    ("amazon.titan-embed-text-v2:0", {"inputText": "hello", "dimensions": 256},
     lambda o: len(o["embedding"]) == 256),
    ("meta.llama3-8b-instruct-v1:0", {"prompt": "hi", "max_gen_len": 64}, lambda o: o["stop_reason"] == "stop"),
    ("mistral.mistral-large-2402-v1:0", {"prompt": "<s>[INST] hi [/INST]", "max_tokens": 64},
     lambda o: o["outputs"][0]["stop_reason"] == "stop"),
    ("cohere.command-r-v1:0", {"message": "hi", "max_tokens": 64}, lambda o: o["finish_reason"] == "COMPLETE"),
    ("cohere.embed-english-v3", {"texts": ["a"], "input_type": "search_query"},
     lambda o: len(o["embeddings"][0]) == 1024),
])
def test_cli_invoke_model_every_family(aws, tmp_path, model, body, check):
    """`aws bedrock-runtime invoke-model` writes the provider's native answer to the outfile and
    prints the content type on stdout."""
    (tmp_path / "body.json").write_text(json.dumps(body))
    out = tmp_path / "out.json"
    rc, stdout, err = aws("bedrock-runtime", "invoke-model", "--model-id", model,
                          "--body", f"fileb://{tmp_path / 'body.json'}", str(out))
    assert rc == 0, err
    assert json.loads(stdout) == {"contentType": "application/json"}
    assert check(json.loads(out.read_text())), out.read_text()[:300]


def test_cli_count_tokens_and_get_foundation_model(aws):
    rc, out, err = aws("bedrock-runtime", "count-tokens", "--model-id", PINNED_MODEL, "--input",
                       '{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}]}}')
    assert rc == 0, err
    assert set(json.loads(out)) == {"inputTokens"} and json.loads(out)["inputTokens"] >= 1
    rc, out, err = aws("bedrock", "get-foundation-model", "--model-identifier", "amazon.nova-lite-v1:0")
    assert rc == 0, err
    d = json.loads(out)["modelDetails"]
    assert (d["modelId"], d["providerName"], d["modelLifecycle"]["status"]) == (
        "amazon.nova-lite-v1:0", "Amazon", "ACTIVE")
    assert d["modelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"


def test_cli_converse(aws):
    rc, out, err = aws(
        "bedrock-runtime",
        "converse",
        "--model-id",
        PINNED_MODEL,
        "--messages",
        '[{"role":"user","content":[{"text":"hi"}]}]',
    )
    assert rc == 0, err
    body = json.loads(out)
    assert body["output"]["message"]["content"] == [{"text": PINNED}]
    assert body["stopReason"] == "end_turn"


def test_converse_through_inference_profile(client):
    r = client("bedrock-runtime").converse(
        modelId="us.anthropic.claude-3-7-sonnet-20250219-v1:0", messages=user_msg("hello")
    )
    assert r["stopReason"] == "end_turn"
    assert r["output"]["message"]["role"] == "assistant"


def test_converse_embedding_model_refused(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime").converse(modelId="amazon.titan-embed-text-v2:0", messages=user_msg("x"))
    assert error_of(ei) == (
        "ValidationException",
        400,
        "This action doesn't support the model that you provided. Try again with a supported text or chat model.",
    )


# ---------------------------------------------------------------- InvokeModel, every family

def invoke(client, model, body):
    r = client("bedrock-runtime").invoke_model(
        modelId=model, body=json.dumps(body), contentType="application/json", accept="application/json"
    )
    assert r["contentType"] == "application/json"
    h = r["ResponseMetadata"]["HTTPHeaders"]
    return json.loads(r["body"].read()), h


def test_invoke_anthropic(client):
    out, h = invoke(
        client,
        "anthropic.claude-3-haiku-20240307-v1:0",
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert out["type"] == "message" and out["role"] == "assistant"
    assert out["content"][0]["type"] == "text" and out["content"][0]["text"]
    assert out["stop_reason"] == "end_turn"
    assert int(h["x-amzn-bedrock-input-token-count"]) == out["usage"]["input_tokens"]
    assert int(h["x-amzn-bedrock-output-token-count"]) == out["usage"]["output_tokens"]


def test_invoke_anthropic_missing_max_tokens(client):
    with pytest.raises(ClientError) as ei:
        invoke(client, "anthropic.claude-3-haiku-20240307-v1:0", {"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "hi"}]})
    assert error_of(ei) == (
        "ValidationException",
        400,
        "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.",
    )


def test_invoke_nova(client):
    out, _ = invoke(client, PINNED_MODEL, {"messages": user_msg("hi"), "inferenceConfig": {"maxTokens": 50}})
    assert out["output"]["message"]["content"] == [{"text": PINNED}]
    assert out["stopReason"] == "end_turn"
    assert out["usage"]["totalTokens"] == out["usage"]["inputTokens"] + out["usage"]["outputTokens"]


def test_invoke_titan_text(client):
    out, _ = invoke(client, "amazon.titan-text-express-v1", {"inputText": "hello", "textGenerationConfig": {"maxTokenCount": 3}})
    assert out["results"][0]["completionReason"] == "LENGTH"
    assert out["results"][0]["tokenCount"] == 3
    assert out["inputTextTokenCount"] >= 1


def test_invoke_titan_embeddings_v2_real_lengths(client):
    for dims in (256, 512, 1024):
        out, _ = invoke(client, "amazon.titan-embed-text-v2:0", {"inputText": "hello world", "dimensions": dims, "normalize": True})
        assert len(out["embedding"]) == dims
        assert abs(sum(x * x for x in out["embedding"]) - 1.0) < 1e-3
    out, _ = invoke(client, "amazon.titan-embed-text-v2:0", {"inputText": "hello world"})
    assert len(out["embedding"]) == 1024


def test_invoke_llama(client):
    out, _ = invoke(client, "meta.llama3-8b-instruct-v1:0", {"prompt": "hi", "max_gen_len": 64})
    assert out["generation"] and out["stop_reason"] == "stop"
    assert out["prompt_token_count"] >= 1 and out["generation_token_count"] >= 1


def test_invoke_mistral(client):
    out, _ = invoke(client, "mistral.mistral-large-2402-v1:0", {"prompt": "<s>[INST] hi [/INST]", "max_tokens": 64})
    assert out["outputs"][0]["text"] and out["outputs"][0]["stop_reason"] == "stop"


def test_invoke_cohere_command_r(client):
    out, _ = invoke(client, "cohere.command-r-plus-v1:0", {"message": "hi", "max_tokens": 64})
    assert out["text"] and out["finish_reason"] == "COMPLETE"


def test_invoke_cohere_embed(client):
    out, _ = invoke(client, "cohere.embed-english-v3", {"texts": ["a", "b"], "input_type": "search_document"})
    assert len(out["embeddings"]) == 2 and len(out["embeddings"][0]) == 1024
    assert out["response_type"] == "embeddings_floats"


def test_count_tokens_invoke_body(client):
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    r = client("bedrock-runtime").count_tokens(
        modelId="anthropic.claude-sonnet-4-5-20250929-v1:0",
        input={"invokeModel": {"body": body.encode()}},
    )
    assert r["inputTokens"] >= 1


# ---------------------------------------------------------------- refusals

def test_wrong_secret(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime", aws_access_key_id="test", aws_secret_access_key="not-the-secret").converse(modelId=NOVA_LITE, messages=user_msg("hi"))
    assert error_of(ei) == ("InvalidSignatureException", 403, BAD_SIG)


def test_unknown_key(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime", aws_access_key_id="AKIAUNKNOWN", aws_secret_access_key="x").converse(
            modelId=NOVA_LITE, messages=user_msg("hi")
        )
    assert error_of(ei) == ("UnrecognizedClientException", 403, BAD_TOKEN)


def test_expired_signature(client):
    past = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    rt = client("bedrock-runtime")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=past):
        with pytest.raises(ClientError) as ei:
            rt.converse(modelId=NOVA_LITE, messages=user_msg("hi"))
    code, status, msg = error_of(ei)
    assert (code, status) == ("InvalidSignatureException", 403)
    signed = past.strftime("%Y%m%dT%H%M%SZ")
    assert msg.startswith(f"Signature expired: {signed} is now earlier than ")
    assert msg.endswith(" - 5 min.)")


def test_wrong_region_for_model(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime", region_name="us-west-2").converse(modelId="amazon.nova-canvas-v1:0", messages=user_msg("hi"))
    assert error_of(ei) == ("ValidationException", 400, INVALID_ID)


def test_profile_only_model_by_bare_id(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime").converse(modelId="anthropic.claude-3-7-sonnet-20250219-v1:0", messages=user_msg("hi"))
    assert error_of(ei) == (
        "ValidationException",
        400,
        "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn\u2019t supported. "
        "Retry your request with the ID or ARN of an inference profile that contains this model.",
    )


def test_absurd_region(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime", region_name="moon-1").converse(modelId=NOVA_LITE, messages=user_msg("hi"))
    assert error_of(ei) == ("InvalidSignatureException", 403, "Credential should be scoped to a valid region. ")


def test_malformed_converse_body(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime").converse(modelId=NOVA_LITE, messages=[{"role": "assistant", "content": [{"text": "x"}]}])
    assert error_of(ei) == (
        "ValidationException",
        400,
        "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
    )


def test_malformed_json_invoke(client):
    with pytest.raises(ClientError) as ei:
        client("bedrock-runtime").invoke_model(modelId="anthropic.claude-3-haiku-20240307-v1:0", body=b"{not json", contentType="application/json")
    code, status, msg = error_of(ei)
    assert (code, status) == ("ValidationException", 400)
    assert msg.startswith("Malformed input request")


def test_unsigned_request_and_unknown_route(server):
    req = urllib.request.Request(server.url + "/model/x/converse", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=5)
    assert ei.value.code == 403
    assert ei.value.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")
    assert json.loads(ei.value.read()) == {"message": "Missing Authentication Token"}


def test_audit_records_the_gate(server, client):
    with pytest.raises(ClientError):
        client("bedrock-runtime", region_name="us-west-2").converse(modelId="amazon.nova-canvas-v1:0", messages=user_msg("hi"))
    with urllib.request.urlopen(server.admin_request("/_bedrock-gates/audit"), timeout=5) as r:
        records = json.loads(r.read())["records"]
    last = [x for x in records if x["operation"] == "Converse" and x["gate"] == "region"][-1]
    assert last["message"] == INVALID_ID
    assert "us-west-2" in last["reason"]
    assert "us-east-1" in last["fix"]


# ---------------------------------------------------------------- durability

def test_scenario_key_survives_kill9_and_restart(tmp_path):
    from conftest import SCENARIO, Server

    state = tmp_path / "state.db"
    s = Server(state, SCENARIO)
    try:
        sts = client_for("sts", s, "AKIADEVEXAMPLE000001", "dev-secret-key", attempts=None)
        assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::111111111111:user/dev"
    finally:
        s.kill9()
    # Restart on the same state file WITHOUT the scenario: the key must come from the store.
    s2 = Server(state)
    try:
        sts = client_for("sts", s2, "AKIADEVEXAMPLE000001", "dev-secret-key", attempts=None)
        assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::111111111111:user/dev"
    finally:
        assert s2.stop() == 0, "graceful shutdown on SIGTERM exits 0"
