"""Issue 12 item 6: bedrock-runtime's OpenAI-compatible Chat Completions
(`POST /openai/v1/chat/completions`), driven by the real `openai` package whose HTTP client signs
each request with botocore's SigV4 (service `bedrock`), as AWS's docs show for SigV4 callers.

The answers agree with Converse for the same prompt (text and usage); refusals come from the
same gates as InvokeModel, in the OpenAI error shape with AWS's status and exact text, and are
audited with their gate. The error shape is a documented choice (crates/server/src/openai.rs)."""

import json
import time
from pathlib import Path

import httpx2
import openai
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import Server, client_for, converse, refused

HERE = Path(__file__).parent
GPT20 = "openai.gpt-oss-20b-1:0"
GPT120 = "openai.gpt-oss-120b-1:0"
PATH = "/openai/v1/chat/completions"
NOBODY = ("AKIANOBODY0000000001", "nobody-secret")


class SigV4(httpx2.Auth):
    """Signs each request as an AWS SDK would: botocore's SigV4, service `bedrock`. The OpenAI
    client's own `Authorization: Bearer …` is replaced by the signature."""

    requires_request_body = True

    def __init__(self, key="test", secret="test", region="us-east-1"):
        self.credentials = Credentials(key, secret)
        self.region = region

    def auth_flow(self, request):
        signed = AWSRequest(method=request.method, url=str(request.url), data=request.content,
                            headers={"content-type": request.headers.get("content-type", "application/json")})
        SigV4Auth(self.credentials, "bedrock", self.region).add_auth(signed)
        for name, value in signed.headers.items():
            request.headers[name] = value
        yield request


def openai_for(server, key="test", secret="test", region="us-east-1"):
    return openai.OpenAI(base_url=f"{server.url}/openai/v1", api_key="unused", max_retries=0,
                         http_client=httpx2.Client(auth=SigV4(key, secret, region), timeout=30))


def post(server, body, key="test", secret="test", region="us-east-1", signed=True):
    """A raw POST to the route (bytes as given): (status, headers, body bytes)."""
    auth = SigV4(key, secret, region) if signed else None
    with httpx2.Client(auth=auth, timeout=30) as h:
        r = h.post(server.url + PATH, content=body, headers={"content-type": "application/json"})
        return r.status_code, r.headers, r.content


def audit_of(server, request_id):
    records = server.admin("/_bedrock-gates/audit")["records"]
    return [r for r in records if r["request_id"] == request_id]


def usage_of(conv):
    u = conv["usage"]
    return {"prompt_tokens": u["inputTokens"], "completion_tokens": u["outputTokens"],
            "total_tokens": u["totalTokens"]}


def converse_text(conv):
    return "".join(b["text"] for b in conv["output"]["message"]["content"])


@pytest.fixture(scope="module")
def iam_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("openai-iam") / "state.db", HERE / "iam_gate.toml")
    yield s
    s.stop()


# ------------------------------------------------------------------------------------ answers


def test_chat_completion_answers_what_converse_answers(server):
    before = int(time.time())
    r = openai_for(server).chat.completions.create(
        model=GPT20, messages=[{"role": "user", "content": "hi there"}])
    assert r.choices[0].message.content == f"This is a scripted reply from {GPT20} to: hi there"
    assert (r.object, r.model, len(r.choices), r.choices[0].index, r.choices[0].finish_reason,
            r.choices[0].message.role) == ("chat.completion", GPT20, 1, 0, "stop", "assistant")
    assert r.id.startswith("chatcmpl-") and len(r.id) == len("chatcmpl-") + 24
    assert before - 5 <= r.created <= int(time.time()) + 5
    conv = converse(client_for("bedrock-runtime"), GPT20, "hi there")
    assert converse_text(conv) == r.choices[0].message.content
    assert r.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}) == usage_of(conv)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


def test_the_120b_model_answers_too(server):
    r = openai_for(server).chat.completions.create(
        model=GPT120, messages=[{"role": "user", "content": "Reply with exactly: big model"}])
    assert (r.model, r.choices[0].message.content) == (GPT120, "big model")


def test_stream_joins_to_the_same_text_and_ends_with_usage(server):
    messages = [{"role": "user", "content": "tell me about the five gates of bedrock"}]
    client = openai_for(server)
    whole = client.chat.completions.create(model=GPT20, messages=messages)
    chunks = list(client.chat.completions.create(model=GPT20, messages=messages, stream=True,
                                                 stream_options={"include_usage": True}))
    assert len(chunks) >= 5  # role, several text pieces, finish, usage
    assert all(c.object == "chat.completion.chunk" and c.model == GPT20 and c.id == chunks[0].id
               for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 3
    *body, finish, usage = chunks
    assert finish.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in body)
    assert usage.choices == []
    assert usage.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"}) == \
        whole.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})


def test_stream_wire_is_server_sent_events_ending_in_done(server):
    body = json.dumps({"model": GPT20, "stream": True,
                       "messages": [{"role": "user", "content": "Reply with exactly: one two three"}]})
    status, headers, raw = post(server, body.encode())
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    events = raw.decode().split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(e.startswith("data: ") for e in events[:-2])
    # without include_usage no chunk carries usage
    assert all("usage" not in c for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "one two three"


def test_multi_turn_and_a_developer_message_read_as_converse_does(server):
    turns = [{"role": "user", "content": "first question"},
             {"role": "assistant", "content": "first answer"},
             {"role": "user", "content": "second question"}]
    conv_turns = [{"role": t["role"], "content": [{"text": t["content"]}]} for t in turns]
    rt = client_for("bedrock-runtime")
    client = openai_for(server)

    r = client.chat.completions.create(model=GPT20, messages=turns)
    conv = rt.converse(modelId=GPT20, messages=conv_turns)
    assert r.choices[0].message.content == f"This is a scripted reply from {GPT20} to: second question"
    assert converse_text(conv) == r.choices[0].message.content
    assert r.usage.prompt_tokens == conv["usage"]["inputTokens"]

    system = "Reply with exactly: from the system prompt"
    for role in ("developer", "system"):
        r = client.chat.completions.create(model=GPT20, messages=[{"role": role, "content": system}, *turns])
        assert r.choices[0].message.content == "from the system prompt", role
        conv = rt.converse(modelId=GPT20, system=[{"text": system}], messages=conv_turns)
        assert r.usage.prompt_tokens == conv["usage"]["inputTokens"], role
        assert r.usage.completion_tokens == conv["usage"]["outputTokens"], role


def test_limits_and_stop_sequences_map_to_converse(server):
    client = openai_for(server)
    rt = client_for("bedrock-runtime")
    msgs = [{"role": "user", "content": "Reply with exactly: alpha beta gamma delta epsilon zeta"}]
    conv_msgs = [{"role": "user", "content": [{"text": msgs[0]["content"]}]}]

    r = client.chat.completions.create(model=GPT20, messages=msgs, max_completion_tokens=2)
    conv = rt.converse(modelId=GPT20, messages=conv_msgs, inferenceConfig={"maxTokens": 2})
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == (converse_text(conv), "length")
    assert conv["stopReason"] == "max_tokens" and r.usage.completion_tokens == conv["usage"]["outputTokens"]

    r = client.chat.completions.create(model=GPT20, messages=msgs, stop=[" gamma"], temperature=0.2, top_p=0.5)
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("alpha beta", "stop")


def test_tool_calls_come_back_as_openai_tool_calls(server):
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    r = openai_for(server).chat.completions.create(
        model=GPT20, tools=tools, messages=[{"role": "user", "content": "use the get weather tool for city Paris"}])
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function", "get_weather", {"city": "Paris"})
    assert call.id.startswith("call_")


# ----------------------------------------------------------------------------------- refusals

DENIED_INVOKE = ("User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: bedrock:InvokeModel "
                 f"on resource: arn:aws:bedrock:us-east-1::foundation-model/{GPT20} "
                 "because no identity-based policy allows the bedrock:InvokeModel action")


def test_a_principal_without_invoke_model_gets_aws_text_in_the_openai_shape(iam_server):
    body = json.dumps({"model": GPT20, "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, headers, raw = post(iam_server, body, *NOBODY)
    assert status == 403
    assert json.loads(raw) == {"error": {"message": DENIED_INVOKE, "type": "AccessDeniedException",
                                         "code": "AccessDeniedException", "param": None}}
    # the same words InvokeModel gets from the same gate
    rt = client_for("bedrock-runtime", iam_server, *NOBODY)
    assert refused(lambda: rt.invoke_model(modelId=GPT20, body=body)) == (
        "AccessDeniedException", 403, DENIED_INVOKE)
    # audited with its gate
    [rec] = audit_of(iam_server, headers["x-amzn-requestid"])
    assert (rec["operation"], rec["error"], rec["status"], rec["message"], rec["gate"]) == (
        "CreateChatCompletion", "AccessDeniedException", 403, DENIED_INVOKE, "iam")


def test_the_openai_package_raises_permission_denied_with_that_text(iam_server):
    client = openai_for(iam_server, *NOBODY)
    with pytest.raises(openai.PermissionDeniedError) as ei:
        client.chat.completions.create(model=GPT20, messages=[{"role": "user", "content": "hi"}])
    e = ei.value
    assert (e.status_code, e.type, e.code, e.body["message"]) == (
        403, "AccessDeniedException", "AccessDeniedException", DENIED_INVOKE)
    assert str(e) == f"Error code: 403 - {DENIED_INVOKE}"
    # streamed: the streaming action is the one checked
    with pytest.raises(openai.PermissionDeniedError) as ei:
        client.chat.completions.create(model=GPT20, stream=True, messages=[{"role": "user", "content": "hi"}])
    assert ei.value.body["message"] == DENIED_INVOKE.replace(
        "bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


def test_a_policy_for_another_model_still_refuses(iam_server):
    # `nova` may call only Nova Lite
    with pytest.raises(openai.PermissionDeniedError) as ei:
        openai_for(iam_server, "AKIANOVA000000000001", "nova-secret").chat.completions.create(
            model=GPT120, messages=[{"role": "user", "content": "hi"}])
    assert ei.value.body["message"].startswith("User: arn:aws:iam::111111111111:user/nova is not authorized")


def test_models_not_served_on_this_route_are_404_model_not_found(server):
    client = openai_for(server)
    for model in ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "amazon.nova-lite-v1:0", "gpt-4o"):
        with pytest.raises(openai.NotFoundError) as ei:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        assert ei.value.body == {"message": f"The model `{model}` does not exist or you do not have access to it.",
                                 "type": "invalid_request_error", "code": "model_not_found", "param": "model"}
    status, headers, raw = post(server, json.dumps({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "hi"}]}).encode())
    [rec] = audit_of(server, headers["x-amzn-requestid"])
    assert (status, rec["operation"], rec["status"], rec["gate"]) == (404, "CreateChatCompletion", 404, None)


def test_a_region_without_the_model_is_the_region_gate(server):
    with pytest.raises(openai.BadRequestError) as ei:
        openai_for(server, region="ca-central-1").chat.completions.create(
            model=GPT20, messages=[{"role": "user", "content": "hi"}])
    assert ei.value.body == {"message": "The provided model identifier is invalid.", "type": "ValidationException",
                             "code": "ValidationException", "param": None}


def test_an_unsigned_request_is_refused_by_the_front_door(server):
    status, headers, raw = post(server, b'{"model":"openai.gpt-oss-20b-1:0","messages":[]}', signed=False)
    assert (status, json.loads(raw)) == (403, {"error": {
        "message": "Missing Authentication Token", "type": "MissingAuthenticationTokenException",
        "code": "MissingAuthenticationTokenException", "param": None}})
    [rec] = audit_of(server, headers["x-amzn-requestid"])
    assert (rec["operation"], rec["error"], rec["gate"]) == (
        "CreateChatCompletion", "MissingAuthenticationTokenException", "credentials")


@pytest.mark.parametrize("body, message", [
    (b'{"model": "openai.gpt-oss-20b-1:0", "messages": [', "The request body is not valid JSON: "
     "EOF while parsing a list at line 1 column 49."),
    (b'{"model": "openai.gpt-oss-20b-1:0"}', "Missing required parameter: 'messages'."),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', "Missing required parameter: 'model'."),
    (b'{"model": "openai.gpt-oss-20b-1:0", "messages": []}',
     "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead."),
])
def test_bad_requests_are_openai_shaped_400s(server, body, message):
    status, headers, raw = post(server, body)
    assert status == 400
    err = json.loads(raw)["error"]
    assert (err["message"], err["type"], err["code"]) == (message, "invalid_request_error", None)
    [rec] = audit_of(server, headers["x-amzn-requestid"])
    assert (rec["error"], rec["status"], rec["message"], rec["gate"]) == ("ValidationException", 400, message, None)


def test_the_openai_package_sees_a_bad_request(server):
    with pytest.raises(openai.BadRequestError) as ei:
        openai_for(server).chat.completions.create(model=GPT20, messages=[])
    assert ei.value.param == "messages"


def test_admitted_calls_reach_the_invocation_log(server):
    status, headers, _ = post(server, json.dumps({"model": GPT20, "messages": [
        {"role": "user", "content": "hi"}]}).encode())
    assert status == 200
    log = server.admin("/_bedrock-gates/invocations")
    records = log["invocations"] if isinstance(log, dict) else log
    [rec] = [r for r in records if r["request_id"] == headers["x-amzn-requestid"]]
    assert (rec["operation"], rec["model"], rec["served_region"]) == ("CreateChatCompletion", GPT20, "us-east-1")


THROUGHPUT = """
[[quota]]
model = "openai.gpt-oss-20b-1:0"
rpm = 1

[[fault]]
model = "openai.gpt-oss-120b-1:0"
kind = "stream-throttle"
after_frames = 2
"""


@pytest.fixture(scope="module")
def throughput_server(tmp_path_factory):
    s = Server.with_scenario_text(tmp_path_factory.mktemp("openai-quota"), THROUGHPUT, "openai-quota.toml")
    yield s
    s.stop()


def test_the_quota_gate_refuses_with_429_and_aws_text(throughput_server):
    client = openai_for(throughput_server)
    hi = [{"role": "user", "content": "hi"}]
    client.chat.completions.create(model=GPT20, messages=hi)
    with pytest.raises(openai.RateLimitError) as ei:
        client.chat.completions.create(model=GPT20, messages=hi)
    # the same refusal Converse gets from the same gate, once the minute's request is spent
    rt = client_for("bedrock-runtime", throughput_server, "test", "test")
    code, status, message = refused(lambda: converse(rt, GPT20))
    assert (ei.value.status_code, ei.value.type, ei.value.body["message"]) == (status, code, message)
    assert (status, code) == (429, "ThrottlingException")
    [rec] = audit_of(throughput_server, ei.value.response.headers["x-amzn-requestid"])
    assert (rec["operation"], rec["gate"]) == ("CreateChatCompletion", "quota")


def test_a_mid_stream_fault_is_an_error_event_the_package_raises(throughput_server):
    stream = openai_for(throughput_server).chat.completions.create(
        model=GPT120, stream=True, messages=[{"role": "user", "content": "one two three four five six"}])
    got = []
    with pytest.raises(openai.APIError) as ei:
        for chunk in stream:
            got.append(chunk)
    assert len(got) == 2  # the frames before the fault, then the error event, and no [DONE]
    assert (ei.value.type, ei.value.message) == (
        "throttlingException",
        "Too many requests, please wait before trying again. You have sent too many requests.  Wait before trying again.")


def test_application_profiles_are_served_when_they_route_to_an_openai_model(server):
    b = client_for("bedrock")
    arns = {}
    for name, model in (("gpt-team", GPT20), ("nova-team", "amazon.nova-lite-v1:0")):
        arns[name] = b.create_inference_profile(
            inferenceProfileName=f"openai-test-{name}",
            modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{model}"})["inferenceProfileArn"]
    client = openai_for(server)
    hi = [{"role": "user", "content": "hi"}]
    r = client.chat.completions.create(model=arns["gpt-team"], messages=hi)
    assert (r.model, r.choices[0].message.content) == (arns["gpt-team"], f"This is a scripted reply from {GPT20} to: hi")
    with pytest.raises(openai.NotFoundError) as ei:
        client.chat.completions.create(model=arns["nova-team"], messages=hi)
    assert ei.value.code == "model_not_found"


def test_streamed_tool_calls_assemble_in_the_package(server):
    tools = [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                              "required": ["city"]}}}]
    chunks = list(openai_for(server).chat.completions.create(
        model=GPT20, tools=tools, tool_choice="required", stream=True,
        messages=[{"role": "user", "content": "weather for city Oslo"}]))
    [call] = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert (call.index, call.function.name, json.loads(call.function.arguments)) == (0, "get_weather", {"city": "Oslo"})
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_other_openai_routes_are_not_served(server):
    with httpx2.Client(auth=SigV4(), timeout=10) as h:
        r = h.get(server.url + "/openai/v1/models")
    assert (r.status_code, r.json()) == (404, {"error": {
        "message": "Invalid URL (GET /openai/v1/models)", "type": "invalid_request_error", "code": None, "param": None}})
