"""The `openai` upstream kind (issue 14) against a real OpenAI-compatible server: a LiteLLM proxy
(`litellm[proxy]`) with its canned `mock_response` models, reached over HTTP with a master key that
serve reads from the environment. The gates still decide first: a refused call never reaches the
upstream (counted in the proxy's access log)."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import Server, SCENARIO, client_for, error_of, refused

if importlib.util.find_spec("litellm") is None:
    pytest.skip("litellm[proxy] is not installed", allow_module_level=True)

KEY = "sk-bedrock-gates-test-0123456789abcdef"
TEXT = "The gates are open and the upstream answered."
JSON_ANSWER = {"city": "Lisbon", "unit": "celsius"}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"},
                                           "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
          "required": ["city", "unit"], "additionalProperties": False}
CHAT = "amazon.nova-lite-v1:0"
FAILING = "amazon.nova-micro-v1:0"
STRUCTURED = "openai.gpt-oss-20b-1:0"
EMBED = "amazon.titan-embed-text-v2:0"
TOOLS = "amazon.nova-pro-v1:0"
MODELS = f"""
model_list:
  - model_name: mock-chat
    litellm_params: {{model: openai/gpt-4o-mini, api_key: fake, mock_response: "{TEXT}"}}
  - model_name: mock-fail
    litellm_params: {{model: openai/gpt-4o-mini, api_key: fake, mock_response: "litellm.RateLimitError"}}
  - model_name: mock-embed
    litellm_params: {{model: openai/text-embedding-3-small, api_key: fake, mock_response: [0.5, -0.25, 0.125, 1.0]}}
  - model_name: mock-tool
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: fake
      mock_response: ""
      mock_tool_calls: [{{id: call_abc, type: function, function: {{name: get_weather, arguments: '{{"city": "Paris"}}'}}}}]
  - model_name: mock-json
    litellm_params: {{model: openai/gpt-4o-mini, api_key: fake, mock_response: '{json.dumps(JSON_ANSWER)}'}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    d = tmp_path_factory.mktemp("litellm")
    (d / "config.yaml").write_text(MODELS)
    port = free_port()
    log = open(d / "proxy.log", "w+")
    env = dict(os.environ, LITELLM_MASTER_KEY=KEY, LITELLM_LOCAL_MODEL_COST_MAP="True")
    litellm_bin = Path(sys.executable).parent / "litellm"
    p = subprocess.Popen([str(litellm_bin), "--config", str(d / "config.yaml"), "--port", str(port)],
                         stdout=log, stderr=subprocess.STDOUT, env=env, cwd=d)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/health/liveliness", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        p.kill()
        pytest.fail("the LiteLLM proxy did not start: " + (d / "proxy.log").read_text()[-2000:])
    p.log_path = d / "proxy.log"
    p.url = url
    yield p
    p.terminate()
    p.wait(10)


def completions_seen(proxy):
    """Chat Completions requests the proxy has answered so far (its access log)."""
    return proxy.log_path.read_text().count('"POST /v1/chat/completions HTTP/1.1"')


@pytest.fixture(scope="module")
def gated(proxy, tmp_path_factory):
    state = tmp_path_factory.mktemp("gated") / "state.db"
    os.environ["BEDROCK_GATES_UPSTREAM_API_KEY"] = KEY
    try:
        s = Server(state, SCENARIO, extra=["--backend", f"openai={proxy.url}/v1",
                                           "--model-map", f"{CHAT}=mock-chat",
                                           "--model-map", f"{FAILING}=mock-fail",
                                           "--model-map", f"{STRUCTURED}=mock-json",
                                           "--model-map", f"{EMBED}=mock-embed",
                                           "--model-map", f"{TOOLS}=mock-tool"])
    finally:
        os.environ.pop("BEDROCK_GATES_UPSTREAM_API_KEY", None)
    yield s
    s.stop()


def rt_for(server):
    return client_for("bedrock-runtime", server, key="test", secret="test")


def say(rt, model=CHAT, text="hello upstream", **kw):
    return rt.converse(modelId=model, messages=[{"role": "user", "content": [{"text": text}]}], **kw)


def test_converse_answers_with_the_upstream_text_and_usage(gated, proxy):
    rt = rt_for(gated)
    r = say(rt)
    assert r["output"]["message"]["content"] == [{"text": TEXT}]
    assert r["stopReason"] == "end_turn"
    # LiteLLM's mock reports 10 prompt and 20 completion tokens: they come back as Bedrock usage.
    assert (r["usage"]["inputTokens"], r["usage"]["outputTokens"], r["usage"]["totalTokens"]) == (10, 20, 30)


def test_converse_stream_relays_the_upstream_chunks(gated, proxy):
    rt = rt_for(gated)
    r = rt.converse_stream(modelId=CHAT, messages=[{"role": "user", "content": [{"text": "stream please"}]}])
    kinds, deltas = [], []
    for e in r["stream"]:
        kind = next(iter(e))
        kinds.append(kind)
        if kind == "contentBlockDelta":
            deltas.append(e[kind]["delta"]["text"])
    assert "".join(deltas) == TEXT
    # The upstream's own chunking (a few characters each), not one block of text.
    assert len(deltas) > 5
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    assert kinds.count("contentBlockStop") == 1


def test_embeddings_come_from_the_upstream(gated, proxy):
    rt = rt_for(gated)
    raw = {"inputText": "embed me", "dimensions": 256, "normalize": False}
    out = json.loads(rt.invoke_model(modelId=EMBED, body=json.dumps(raw))["body"].read())
    assert out["embedding"] == [0.5, -0.25, 0.125, 1.0]
    assert out["inputTextTokenCount"] == 10
    # Titan's normalize is applied to the upstream's vector (|v| = 1.1456...).
    raw["normalize"] = True
    out = json.loads(rt.invoke_model(modelId=EMBED, body=json.dumps(raw))["body"].read())
    norm = sum(x * x for x in [0.5, -0.25, 0.125, 1.0]) ** 0.5
    assert out["embedding"] == pytest.approx([x / norm for x in [0.5, -0.25, 0.125, 1.0]], rel=1e-6)


def test_a_tool_use_round_trip(gated, proxy):
    rt = rt_for(gated)
    tools = {"tools": [{"toolSpec": {"name": "get_weather", "description": "weather of a city",
                                     "inputSchema": {"json": {"type": "object",
                                                              "properties": {"city": {"type": "string"}},
                                                              "required": ["city"]}}}}]}
    first = [{"role": "user", "content": [{"text": "weather in Paris?"}]}]
    r = rt.converse(modelId=TOOLS, messages=first, toolConfig=tools)
    assert r["stopReason"] == "tool_use"
    assert r["output"]["message"]["content"] == [
        {"toolUse": {"toolUseId": "call_abc", "name": "get_weather", "input": {"city": "Paris"}}}]
    # The result goes back as a tool message; the upstream answers the next turn.
    turn = first + [r["output"]["message"],
                    {"role": "user", "content": [{"toolResult": {"toolUseId": "call_abc",
                                                                 "content": [{"text": "sunny, 21C"}]}}]}]
    r2 = rt.converse(modelId=TOOLS, messages=turn, toolConfig=tools)
    assert r2["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r2["usage"]["inputTokens"] > 0


def test_an_upstream_error_is_a_model_error_exception(gated, proxy):
    rt = rt_for(gated)
    with pytest.raises(Exception) as ei:
        say(rt, model=FAILING)
    code, status, msg = error_of(ei)
    assert (code, status) == ("ModelErrorException", 424)
    assert ei.value.response["originalStatusCode"] == 429
    assert msg.startswith('Received client error (429) from the model with message "litellm.RateLimitError: this is a mock rate limit error')
    assert KEY not in msg


def test_structured_output_through_the_upstream_is_validated(gated, proxy):
    rt = rt_for(gated)
    cfg = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(SCHEMA)}}}}
    r = say(rt, model=STRUCTURED, outputConfig=cfg)
    assert json.loads(r["output"]["message"]["content"][0]["text"]) == JSON_ANSWER
    # The same upstream answer against a schema it does not satisfy is refused, not passed on.
    strict = dict(SCHEMA, required=["city", "unit", "wind"])
    cfg = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(strict)}}}}
    assert refused(lambda: say(rt, model=STRUCTURED, outputConfig=cfg)) == (
        "ModelErrorException", 424,
        'The model\'s output does not satisfy the requested output schema: $: missing required property "wind"')


def test_a_refused_call_never_reaches_the_upstream(gated, proxy):
    say(rt_for(gated))  # one that passes, so the log is warm
    time.sleep(0.3)
    before = completions_seen(proxy)
    assert before >= 1
    bad_secret = client_for("bedrock-runtime", gated, key="test", secret="wrong")
    assert refused(lambda: say(bad_secret))[0] == "InvalidSignatureException"
    unknown = rt_for(gated)
    assert refused(lambda: say(unknown, model="amazon.nova-nonexistent-v1:0"))[0] == "ValidationException"
    time.sleep(0.3)
    assert completions_seen(proxy) == before


def test_an_upstream_that_is_not_there_is_service_unavailable(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    s = Server(tmp_path / "state.db", SCENARIO, extra=["--backend", f"openai={dead}"])
    try:
        rt = rt_for(s)
        assert refused(lambda: say(rt)) == ("ServiceUnavailableException", 503,
                                            "Bedrock is unable to process your request.")
    finally:
        s.stop()


def test_a_key_on_the_command_line_is_not_an_option(tmp_path):
    # The only way in for a key is the environment (or a scenario's api_key_env/api_key_file).
    from conftest import BIN
    out = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True).stdout
    assert "--backend <KIND=URL>" in out
    assert "api-key" not in out


# ------------------------------------------------------------------ the `bedrock` kind

def start_chain(tmp_path, key="test", secret="test", https=False):
    """A second serve (the "real Bedrock") and a first one in front of it, re-signing with
    key/secret from its own environment; over https the first trusts the second's local CA
    through SSL_CERT_FILE, as it would trust a corporate CA."""
    second = Server(tmp_path / "second.db", SCENARIO)
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SSL_CERT_FILE")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    if https:
        os.environ["SSL_CERT_FILE"] = second.ca
    url = second.https_url if https else second.url
    try:
        first = Server(tmp_path / "first.db", SCENARIO, extra=["--backend", f"bedrock={url}"])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return first, second


def test_a_second_serve_answers_behind_the_first(tmp_path):
    first, second = start_chain(tmp_path)
    try:
        def served_by_second():
            return len(second.admin("/_bedrock-gates/invocations")["invocations"])

        # The second's pinned answer for nova-pro (tests/python/scenario.toml) shows who answered.
        r = say(rt_for(first), model="amazon.nova-pro-v1:0")
        assert served_by_second() == 1
        assert r["output"]["message"]["content"] == [{"text": "Pinned answer from the test scenario."}]
        direct = say(rt_for(second), model="amazon.nova-pro-v1:0")
        assert r["usage"] == direct["usage"]
        # Calls the first refuses (a bad signature, an unknown model) never reach the second:
        # neither its invocation log nor its audit log (refusals) sees them.
        before = served_by_second()
        bad = client_for("bedrock-runtime", first, key="test", secret="wrong")
        assert refused(lambda: say(bad))[0] == "InvalidSignatureException"
        assert refused(lambda: say(rt_for(first), model="amazon.nova-nonexistent-v1:0"))[0] == "ValidationException"
        assert served_by_second() == before
        assert second.admin("/_bedrock-gates/audit")["records"] == []
    finally:
        first.stop()
        second.stop()


def test_the_second_can_be_reached_over_https(tmp_path):
    first, second = start_chain(tmp_path, https=True)
    try:
        r = say(rt_for(first), model="amazon.nova-pro-v1:0")
        assert r["output"]["message"]["content"] == [{"text": "Pinned answer from the test scenario."}]
    finally:
        first.stop()
        second.stop()


def test_a_refusal_by_the_second_comes_back_unchanged(tmp_path):
    # The first signs with a key the second does not know: the second refuses, the client sees
    # exactly that refusal.
    first, second = start_chain(tmp_path, key="AKIAUNKNOWNEXAMPLE01", secret="nope")
    try:
        via_first = refused(lambda: say(rt_for(first)))
        direct = refused(lambda: say(client_for("bedrock-runtime", second, key="AKIAUNKNOWNEXAMPLE01",
                                                secret="nope")))
        assert via_first == direct
        assert via_first[:2] == ("UnrecognizedClientException", 403)
    finally:
        first.stop()
        second.stop()


def start_behind_profile(tmp_path, second, key, secret, region="us-west-2", extra=()):
    """A first serve whose only credentials are a named profile in temporary shared config and
    credentials files (no key in its environment): the AWS credential chain must find them."""
    keys = f"aws_access_key_id = {key}\naws_secret_access_key = {secret}\n" if key else ""
    (tmp_path / "credentials").write_text("[gate]\n" + keys)
    (tmp_path / "config").write_text(f"[profile gate]\nregion = {region}\n")
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
             "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
             "AWS_EC2_METADATA_DISABLED")
    saved = {k: os.environ.get(k) for k in names}
    for k in names:
        os.environ.pop(k, None)
    os.environ.update(AWS_PROFILE="gate", AWS_CONFIG_FILE=str(tmp_path / "config"),
                      AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
                      AWS_EC2_METADATA_DISABLED="true")
    try:
        return Server(tmp_path / f"first-{key}.db", SCENARIO,
                      extra=["--backend", f"bedrock={second.url}", *extra])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_the_bedrock_kind_signs_with_a_profile_from_the_shared_files(tmp_path):
    second = Server(tmp_path / "second.db", SCENARIO)
    # In us-west-2 Nova Pro is served through the US inference profile only.
    first = start_behind_profile(tmp_path, second, "test", "test",
                                 extra=["--model-map", "amazon.nova-pro-v1:0=us.amazon.nova-pro-v1:0"])
    try:
        r = say(rt_for(first), model="amazon.nova-pro-v1:0")
        assert r["output"]["message"]["content"] == [{"text": "Pinned answer from the test scenario."}]
        # Signed for the profile's Region, not the caller's (us-east-1).
        [seen] = second.admin("/_bedrock-gates/invocations")["invocations"]
        assert (seen["source_region"], seen["model_id"]) == ("us-west-2", "us.amazon.nova-pro-v1:0")
    finally:
        first.stop()
        second.stop()


def test_no_credentials_anywhere_is_service_unavailable(tmp_path):
    # An empty profile: the chain finds nothing (instance metadata is off), the call fails as
    # Bedrock's own unavailability, and serve's log says why without any key.
    second = Server(tmp_path / "second.db", SCENARIO)
    (tmp_path / "empty").mkdir()
    first = start_behind_profile(tmp_path / "empty", second, None, None)
    try:
        assert refused(lambda: say(rt_for(first))) == (
            "ServiceUnavailableException", 503, "Bedrock is unable to process your request.")
        assert second.admin("/_bedrock-gates/invocations")["invocations"] == []
        first.log.seek(0)
        assert b"the AWS credential chain gave no credentials" in first.log.read()
    finally:
        first.stop()
        second.stop()


def test_the_profile_key_is_what_the_second_sees(tmp_path):
    # A profile key the second does not know: its refusal proves the profile's key signed.
    second = Server(tmp_path / "second.db", SCENARIO)
    first = start_behind_profile(tmp_path, second, "AKIAPROFILEEXAMPLE01", "nope")
    try:
        direct = refused(lambda: say(client_for("bedrock-runtime", second, key="AKIAPROFILEEXAMPLE01",
                                                secret="nope")))
        assert refused(lambda: say(rt_for(first))) == direct
        assert direct[:2] == ("UnrecognizedClientException", 403)
    finally:
        first.stop()
        second.stop()


# ------------------------------------------------------------------ streams stay streams
# LiteLLM's mock streams every chunk at once, so timing needs an upstream that trickles: a small
# OpenAI-compatible SSE server here, in addition to the LiteLLM proof above.

import http.server
import threading

PAUSE = 0.4


class Trickle(http.server.BaseHTTPRequestHandler):
    """Chat Completions streamed one word every PAUSE seconds; `break` in the prompt cuts the
    connection after two words (a failure mid-stream)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    requests = 0

    def do_POST(self):
        Trickle.requests += 1
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        cut = "break" in json.dumps(body["messages"])
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        if self.path.endswith("/messages"):
            return self.anthropic(cut)
        words = ["one ", "two ", "three ", "four"]
        for i, w in enumerate(words):
            if cut and i == 2:
                self.wfile.write(b'data: {"error": {"message": "upstream fell over", "code": 500}}\n\n')
                self.wfile.flush()
                return
            chunk = {"choices": [{"index": 0, "delta": {"content": w}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(PAUSE)
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 4}}
        self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()

    def anthropic(self, cut):
        """The same words as the Anthropic Messages API streams them."""
        def send(v):
            self.wfile.write(f"event: {v['type']}\ndata: {json.dumps(v)}\n\n".encode())
            self.wfile.flush()
        send({"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
            "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 1}}})
        send({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        for i, w in enumerate(["one ", "two ", "three ", "four"]):
            if cut and i == 2:
                send({"type": "error", "error": {"type": "overloaded_error", "message": "upstream fell over"}})
                return
            send({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}})
            time.sleep(PAUSE)
        send({"type": "content_block_stop", "index": 0})
        send({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}})
        send({"type": "message_stop"})


@pytest.fixture(scope="module")
def trickle(tmp_path_factory):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    s = Server(tmp_path_factory.mktemp("trickle") / "state.db", SCENARIO,
               extra=["--backend", f"openai=http://127.0.0.1:{httpd.server_address[1]}/v1"])
    yield s
    s.stop()
    httpd.shutdown()


@pytest.fixture(scope="module")
def trickle_anthropic(tmp_path_factory):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    s = Server(tmp_path_factory.mktemp("trickle-anthropic") / "state.db", SCENARIO,
               extra=["--backend", f"anthropic=http://127.0.0.1:{httpd.server_address[1]}/v1"])
    yield s
    s.stop()
    httpd.shutdown()


def test_the_anthropic_kind_makes_invoke_stream_live(trickle_anthropic):
    rt = rt_for(trickle_anthropic)
    start = time.monotonic()
    r = rt.invoke_model_with_response_stream(modelId=CLAUDE, body=claude_body("count"))
    chunks = timed_chunks(r, start)
    deltas = [(t, c["delta"]["text"]) for t, c in chunks if c["type"] == "content_block_delta"]
    assert [d for _, d in deltas] == ["one ", "two ", "three ", "four"]
    assert deltas[0][0] < PAUSE
    assert all(b[0] - a[0] > PAUSE * 0.6 for a, b in zip(deltas, deltas[1:])), deltas
    metrics = chunks[-1][1]["amazon-bedrock-invocationMetrics"]
    assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (5, 4)
    # The upstream's in-stream error event: the stream exception, after the words before it.
    r = rt.invoke_model_with_response_stream(modelId=CLAUDE, body=claude_body("break"))
    seen = []
    with pytest.raises(Exception) as ei:
        for e in r["body"]:
            seen.append(json.loads(e["chunk"]["bytes"]))
    assert [c["delta"]["text"] for c in seen if c["type"] == "content_block_delta"] == ["one ", "two "]
    assert ei.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_tokens_reach_the_client_as_the_upstream_sends_them(trickle):
    rt = rt_for(trickle)
    start = time.monotonic()
    r = rt.converse_stream(modelId=CHAT, messages=[{"role": "user", "content": [{"text": "count"}]}])
    arrivals, usage = [], None
    for e in r["stream"]:
        if "contentBlockDelta" in e:
            arrivals.append((time.monotonic() - start, e["contentBlockDelta"]["delta"]["text"]))
        if "metadata" in e:
            usage = e["metadata"]["usage"]
    assert [t for _, t in arrivals] == ["one ", "two ", "three ", "four"]
    # The first word arrives long before the last was sent; the words arrive PAUSE apart.
    assert arrivals[0][0] < PAUSE
    gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:])]
    assert all(g > PAUSE * 0.6 for g in gaps), gaps
    assert usage == {"inputTokens": 5, "outputTokens": 4, "totalTokens": 9}


def test_a_failure_mid_stream_is_a_model_stream_error_event(trickle):
    rt = rt_for(trickle)
    r = rt.converse_stream(modelId=CHAT, messages=[{"role": "user", "content": [{"text": "break"}]}])
    seen = []
    with pytest.raises(Exception) as ei:
        for e in r["stream"]:
            seen.append(e)
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in seen if "contentBlockDelta" in e]
    assert deltas == ["one ", "two "]
    err = ei.value.response["Error"] if hasattr(ei.value, "response") else {}
    assert err.get("Code") == "modelStreamErrorException", repr(ei.value)
    assert "The model failed while streaming its response." in str(ei.value)


CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"


def claude_body(text):
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                       "messages": [{"role": "user", "content": text}]})


def timed_chunks(r, start):
    """(arrival, payload) of each chunk of an InvokeModelWithResponseStream answer."""
    return [(time.monotonic() - start, json.loads(e["chunk"]["bytes"])) for e in r["body"]]


def test_invoke_stream_is_live_in_anthropic_chunks(trickle):
    rt = rt_for(trickle)
    start = time.monotonic()
    r = rt.invoke_model_with_response_stream(modelId=CLAUDE, body=claude_body("count"))
    assert r["contentType"] == "application/json"
    chunks = timed_chunks(r, start)
    types = [c["type"] for _, c in chunks]
    assert types == ["message_start", "content_block_start"] + ["content_block_delta"] * 4 + [
        "content_block_stop", "message_delta", "message_stop"]
    deltas = [(t, c["delta"]) for t, c in chunks if c["type"] == "content_block_delta"]
    assert [d for _, d in deltas] == [{"type": "text_delta", "text": w} for w in ["one ", "two ", "three ", "four"]]
    # Each word reaches boto3 as the upstream sends it, PAUSE apart; the first well before the last.
    assert deltas[0][0] < PAUSE
    gaps = [b[0] - a[0] for a, b in zip(deltas, deltas[1:])]
    assert all(g > PAUSE * 0.6 for g in gaps), gaps
    last = chunks[-1][1]
    assert chunks[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert chunks[-2][1]["usage"] == {"output_tokens": 4}
    metrics = last["amazon-bedrock-invocationMetrics"]
    assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (5, 4)
    # Measured, not zero: the whole answer took the upstream's three pauses.
    assert metrics["invocationLatency"] >= 3 * PAUSE * 1000 * 0.6
    assert metrics["firstByteLatency"] < metrics["invocationLatency"]


def test_invoke_stream_is_live_in_llama_chunks(trickle):
    rt = rt_for(trickle)
    body = json.dumps({"prompt": "count", "max_gen_len": 50})
    r = rt.invoke_model_with_response_stream(modelId="meta.llama3-8b-instruct-v1:0", body=body)
    chunks = [c for _, c in timed_chunks(r, time.monotonic())]
    assert [c["generation"] for c in chunks] == ["one ", "two ", "three ", "four", ""]
    assert chunks[0]["prompt_token_count"] is not None and chunks[1]["prompt_token_count"] is None
    assert [c["stop_reason"] for c in chunks] == [None] * 4 + ["stop"]
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 4


def test_invoke_stream_failure_mid_stream_is_a_model_stream_error(trickle):
    rt = rt_for(trickle)
    r = rt.invoke_model_with_response_stream(modelId=CLAUDE, body=claude_body("break"))
    seen = []
    with pytest.raises(Exception) as ei:
        for e in r["body"]:
            seen.append(json.loads(e["chunk"]["bytes"]))
    texts = [c["delta"]["text"] for c in seen if c["type"] == "content_block_delta"]
    assert texts == ["one ", "two "]
    assert ei.value.response["Error"]["Code"] == "modelStreamErrorException", repr(ei.value)
    assert "The model failed while streaming its response." in str(ei.value)


def test_a_refused_invoke_stream_makes_no_upstream_request(trickle):
    before = Trickle.requests
    bad = client_for("bedrock-runtime", trickle, key="test", secret="wrong")
    assert refused(lambda: bad.invoke_model_with_response_stream(
        modelId=CLAUDE, body=claude_body("hi")))[0] == "InvalidSignatureException"
    assert refused(lambda: rt_for(trickle).invoke_model_with_response_stream(
        modelId="anthropic.claude-3-7-sonnet-20250219-v1:0", body=claude_body("hi")))[0] == "ValidationException"
    assert Trickle.requests == before


# The `bedrock` kind streams too: the first asks the second for ConverseStream and relays each
# event frame as it arrives. The second paces its frames, so arrival times show liveness.

SECOND_PACE = 0.3
FAULTY = "amazon.nova-micro-v1:0"


@pytest.fixture(scope="module")
def paced_chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("paced")
    scenario = d / "second.toml"
    scenario.write_text(SCENARIO.read_text() + f"""
[[fault]]
model = "{FAULTY}"
kind = "stream-throttle"
after_frames = 3
""")
    second = Server(d / "second.db", scenario, extra=["--stream-pace-ms", str(int(SECOND_PACE * 1000))])
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        first = Server(d / "first.db", SCENARIO, extra=["--backend", f"bedrock={second.url}"])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield first, second
    first.stop()
    second.stop()


def spaced(times):
    return all(b - a > SECOND_PACE * 0.6 for a, b in zip(times, times[1:]))


def test_the_bedrock_kind_relays_converse_stream_live(paced_chain):
    first, second = paced_chain
    start = time.monotonic()
    r = rt_for(first).converse_stream(modelId=CHAT, messages=[{"role": "user", "content": [{"text": "hi there"}]}])
    arrivals = [(time.monotonic() - start, e["contentBlockDelta"]["delta"]["text"])
                for e in r["stream"] if "contentBlockDelta" in e]
    direct = rt_for(second).converse_stream(modelId=CHAT, messages=[{"role": "user", "content": [{"text": "hi there"}]}])
    direct_deltas = [e["contentBlockDelta"]["delta"]["text"] for e in direct["stream"] if "contentBlockDelta" in e]
    assert [t for _, t in arrivals] == direct_deltas and len(direct_deltas) >= 3
    assert spaced([t for t, _ in arrivals]), arrivals


def test_the_bedrock_kind_makes_invoke_stream_live_in_native_chunks(paced_chain):
    first, second = paced_chain
    start = time.monotonic()
    r = rt_for(first).invoke_model_with_response_stream(modelId=CLAUDE, body=claude_body("hi there"))
    chunks = timed_chunks(r, start)
    deltas = [(t, c["delta"]["text"]) for t, c in chunks if c["type"] == "content_block_delta"]
    direct = rt_for(second).converse(modelId=CLAUDE, messages=[{"role": "user", "content": [{"text": "hi there"}]}])
    assert "".join(t for _, t in deltas) == direct["output"]["message"]["content"][0]["text"]
    assert len(deltas) >= 3 and spaced([t for t, _ in deltas]), deltas
    assert [c["type"] for _, c in chunks][-2:] == ["message_delta", "message_stop"]
    metrics = chunks[-1][1]["amazon-bedrock-invocationMetrics"]
    assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (
        direct["usage"]["inputTokens"], direct["usage"]["outputTokens"])


def test_the_seconds_in_stream_exception_comes_back_unchanged(paced_chain):
    first, second = paced_chain

    def run(rt):
        r = rt.converse_stream(modelId=FAULTY, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        seen = []
        with pytest.raises(Exception) as ei:
            for e in r["stream"]:
                seen.append(next(iter(e)))
        return seen, ei.value.response["Error"]
    via_first, direct = run(rt_for(first)), run(rt_for(second))
    assert via_first == direct
    assert via_first[1]["Code"] == "throttlingException"
    assert len(via_first[0]) == 3


# ------------------------------------------------------------------ the `anthropic` kind
# The LiteLLM proxy also speaks the Anthropic Messages API (`/v1/messages`, `x-api-key`).

@pytest.fixture(scope="module")
def gated_anthropic(proxy, tmp_path_factory):
    os.environ["BEDROCK_GATES_UPSTREAM_API_KEY"] = KEY
    try:
        s = Server(tmp_path_factory.mktemp("anthropic") / "state.db", SCENARIO,
                   extra=["--backend", f"anthropic={proxy.url}/v1",
                          "--model-map", f"{CHAT}=mock-chat", "--model-map", f"{FAILING}=mock-fail"])
    finally:
        os.environ.pop("BEDROCK_GATES_UPSTREAM_API_KEY", None)
    yield s
    s.stop()


def messages_direct(proxy, model):
    req = urllib.request.Request(proxy.url + "/v1/messages", method="POST", data=json.dumps(
        {"model": model, "max_tokens": 4096, "messages": [{"role": "user", "content": "hello upstream"}]}).encode(),
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=30).read())


def test_the_anthropic_kind_answers_converse_and_stream(gated_anthropic, proxy):
    rt = rt_for(gated_anthropic)
    r = say(rt)
    assert r["output"]["message"]["content"] == [{"text": TEXT}]
    direct = messages_direct(proxy, "mock-chat")
    assert (r["usage"]["inputTokens"], r["usage"]["outputTokens"]) == (
        direct["usage"]["input_tokens"], direct["usage"]["output_tokens"])
    s = rt.converse_stream(modelId=CHAT, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in s["stream"] if "contentBlockDelta" in e)
    assert text == TEXT


def test_the_anthropic_kind_maps_upstream_errors(gated_anthropic, proxy):
    rt = rt_for(gated_anthropic)
    with pytest.raises(Exception) as ei:
        say(rt, model=FAILING)
    code, status, msg = error_of(ei)
    assert (code, status) == ("ModelErrorException", 424)
    assert ei.value.response["originalStatusCode"] == 429
    assert "mock rate limit error" in msg and KEY not in msg


# ------------------------------------------------------------------ images and documents
# An upstream that records each request body and answers in the API its path names.

import base64

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        Recorder.bodies.append((self.path, body))
        if self.path.endswith("/messages"):
            out = {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                   "content": [{"type": "text", "text": "seen"}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": 3, "output_tokens": 1}}
        else:
            out = {"id": "c1", "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "seen"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def recorder(tmp_path_factory):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    d = tmp_path_factory.mktemp("recorder")
    servers = {kind: Server(d / f"{kind}.db", SCENARIO, extra=["--backend", f"{kind}={url}"])
               for kind in ("openai", "anthropic")}
    yield servers
    for s in servers.values():
        s.stop()
    httpd.shutdown()


def with_media(*extra):
    return [{"role": "user", "content": [
        {"text": "describe"},
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        {"document": {"name": "notes", "format": "txt", "source": {"bytes": b"hello notes"}}},
        {"document": {"name": "report", "format": "pdf", "source": {"bytes": PDF}}},
        *extra]}]


def last_request():
    return Recorder.bodies[-1][1]


def test_images_and_documents_reach_an_openai_upstream(recorder):
    r = rt_for(recorder["openai"]).converse(modelId=CHAT, messages=with_media())
    assert r["output"]["message"]["content"] == [{"text": "seen"}]
    b64 = lambda raw: base64.b64encode(raw).decode()
    assert last_request()["messages"][-1] == {"role": "user", "content": [
        {"type": "text", "text": "describe\n[document notes]\nhello notes"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + b64(PNG)}},
        {"type": "file", "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64," + b64(PDF)}},
    ]}


def test_images_and_documents_reach_an_anthropic_upstream(recorder):
    r = rt_for(recorder["anthropic"]).converse(modelId=CLAUDE, messages=with_media())
    assert r["output"]["message"]["content"] == [{"text": "seen"}]
    b64 = lambda raw: base64.b64encode(raw).decode()
    assert last_request()["messages"][-1] == {"role": "user", "content": [
        {"type": "text", "text": "describe"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
        {"type": "document", "title": "notes",
         "source": {"type": "text", "media_type": "text/plain", "data": "hello notes"}},
        {"type": "document", "title": "report",
         "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)}},
    ]}


def test_native_claude_images_reach_an_anthropic_upstream(recorder):
    b64 = base64.b64encode(PNG).decode()
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": [
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64}},
            {"type": "text", "text": "what is it"}]}]})
    rt_for(recorder["anthropic"]).invoke_model(modelId=CLAUDE, body=body)
    assert last_request()["messages"][-1]["content"][0] == {
        "type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64}}


def test_a_document_the_upstream_cannot_read_is_refused_before_it_is_called(recorder):
    before = len(Recorder.bodies)
    docx = {"document": {"name": "memo", "format": "docx", "source": {"bytes": b"PK\x03\x04"}}}
    for kind, model in (("openai", CHAT), ("anthropic", CLAUDE)):
        assert refused(lambda: rt_for(recorder[kind]).converse(modelId=model, messages=with_media(docx))) == (
            "ValidationException", 400,
            "The upstream model of this bedrock-gates backend can't read docx documents. "
            "Send pdf, csv, html, md or txt documents and try again.")
    # Bedrock's own validation still comes first: a format outside the service model's enum.
    bad = {"image": {"format": "bmp", "source": {"bytes": PNG}}}
    code, status, _ = refused(lambda: rt_for(recorder["openai"]).converse(modelId=CHAT, messages=with_media(bad)))
    assert (code, status) == ("ValidationException", 400)
    assert len(Recorder.bodies) == before


def test_document_names_and_bytes_are_validated_as_the_service_model_says(recorder):
    before = len(Recorder.bodies)
    rt = rt_for(recorder["openai"])
    long_name = "n" * 201
    doc = {"document": {"name": long_name, "format": "txt", "source": {"bytes": b"hi"}}}
    assert refused(lambda: rt.converse(modelId=CHAT, messages=with_media(doc))) == (
        "ValidationException", 400,
        f"1 validation error detected: Value '{long_name}' at 'messages.1.member.content.5.member.document.name' "
        "failed to satisfy constraint: Member must have length less than or equal to 200")
    empty = {"document": {"name": "empty", "format": "txt", "source": {"bytes": b""}}}
    assert refused(lambda: rt.converse(modelId=CHAT, messages=with_media(empty))) == (
        "ValidationException", 400,
        "1 validation error detected: Value at 'messages.1.member.content.5.member.document.source.bytes' "
        "failed to satisfy constraint: Member must have length greater than or equal to 1")
    assert len(Recorder.bodies) == before


DOCUMENT_NAME = ("The document file name can only contain alphanumeric characters, whitespace characters, hyphens, "
                 "parentheses, and square brackets. The name can't contain more than one consecutive whitespace "
                 "character. Check that the file name conforms to these restrictions and retry your request.")


@pytest.mark.parametrize("name,ok", [
    ("report", True), ("Q3 report (final) [v2]-draft", True), ("test_name", True),
    ("report.pdf", False), ("two  spaces", False), ("tab\there", False), ("résumé", False),
    ("John's report", False),
])
def test_document_names_follow_bedrocks_rule(recorder, name, ok):
    before = len(Recorder.bodies)
    doc = [{"role": "user", "content": [
        {"text": "read"}, {"document": {"name": name, "format": "txt", "source": {"bytes": b"x"}}}]}]
    for kind in ("openai",):
        call = lambda: rt_for(recorder[kind]).converse(modelId=CHAT, messages=doc)
        if ok:
            assert call()["output"]["message"]["content"] == [{"text": "seen"}]
            assert len(Recorder.bodies) == before + 1
        else:
            assert refused(call) == ("ValidationException", 400, DOCUMENT_NAME)
            assert len(Recorder.bodies) == before


def test_document_names_are_checked_on_the_scripted_backend_too(server):
    rt = client_for("bedrock-runtime")
    doc = [{"role": "user", "content": [
        {"text": "read"}, {"document": {"name": "notes.txt", "format": "txt", "source": {"bytes": b"x"}}}]}]
    assert refused(lambda: rt.converse(modelId=CHAT, messages=doc)) == ("ValidationException", 400, DOCUMENT_NAME)
    assert refused(lambda: rt.converse_stream(modelId=CHAT, messages=doc)) == (
        "ValidationException", 400, DOCUMENT_NAME)
