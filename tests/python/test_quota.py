"""Issue 5 (part): the throughput gate (RPM, TPM, tokens per day) on a clock the test advances,
and scripted faults before and inside the event stream."""

import json
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EventStreamError

from conftest import Server, client_for, converse, error_of

HERE = Path(__file__).parent
LLAMA = "meta.llama3-8b-instruct-v1:0"


@pytest.fixture(scope="module")
def qserver(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("quota") / "state.db", HERE / "quota.toml")
    yield s
    s.stop()


def rt(server, retries=1):
    return client_for("bedrock-runtime", server, "test", "test", attempts=retries)


def advance(server, seconds):
    req = server.admin_request(f"/_bedrock-gates/clock?advance={seconds}", "POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())["now"]


def fresh_minute(server):
    """Move the gate clock to the start of a minute window, leaving the test a whole minute of
    wall time before the window rolls over by itself."""
    now = advance(server, 0)
    advance(server, 60 - now % 60)


def test_rpm_then_window_passes(qserver):
    c = rt(qserver)
    fresh_minute(qserver)
    for _ in range(3):
        assert converse(c, LLAMA)["stopReason"] == "end_turn"
    with pytest.raises(ClientError) as ei:
        converse(c, LLAMA)
    assert error_of(ei) == ("ThrottlingException", 429, "Too many requests, please wait before trying again.")
    advance(qserver, 60)
    assert converse(c, LLAMA)["stopReason"] == "end_turn"


def test_boto3_retries_the_429(qserver):
    c = rt(qserver, retries=3)
    attempts = []
    c.meta.events.register("before-send.bedrock-runtime.Converse", lambda **kw: attempts.append(kw["request"].headers.get("amz-sdk-request")))
    fresh_minute(qserver)
    for _ in range(3):
        converse(c, LLAMA)
    attempts.clear()
    with pytest.raises(ClientError) as ei:
        converse(c, LLAMA)
    assert ei.value.response["Error"]["Code"] == "ThrottlingException"
    # max_attempts=3: the first try and two retries, all throttled.
    assert ei.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(attempts) == 3, attempts


def test_tokens_per_minute(qserver):
    c = rt(qserver)
    fresh_minute(qserver)
    refused = None
    for i in range(20):
        try:
            converse(c, "mistral.mistral-large-2402-v1:0", "tell me a long story about quotas")
        except ClientError as e:
            refused = (i, e.response["Error"]["Code"], e.response["Error"]["Message"])
            break
    assert refused is not None and refused[0] >= 1
    assert refused[1:] == ("ThrottlingException", "Too many tokens, please wait before trying again.")
    advance(qserver, 60)
    converse(c, "mistral.mistral-large-2402-v1:0")


def test_tokens_per_day(qserver):
    c = rt(qserver)
    advance(qserver, 86_400)
    msg = None
    for _ in range(20):
        try:
            converse(c, "mistral.mixtral-8x7b-instruct-v0:1", "count the tokens of the day please")
        except ClientError as e:
            msg = e.response["Error"]["Message"]
            break
        advance(qserver, 60)  # new minute, same day
    assert msg == "Too many tokens per day, please wait before trying again."


def test_scripted_timeout_every_second_call(qserver):
    c = rt(qserver)
    outcomes = []
    for _ in range(4):
        try:
            converse(c, "qwen.qwen3-32b-v1:0")
            outcomes.append("ok")
        except ClientError as e:
            outcomes.append((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]))
    assert outcomes == ["ok", ("ModelTimeoutException", 408), "ok", ("ModelTimeoutException", 408)]


def test_mid_stream_throttle(qserver):
    r = rt(qserver).converse_stream(
        modelId="amazon.nova-micro-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    seen = []
    with pytest.raises(EventStreamError) as ei:
        for e in r["stream"]:
            seen.append(next(iter(e)))
    assert seen == ["messageStart", "contentBlockDelta"]
    assert ei.value.response["Error"]["Code"] == "throttlingException"
    assert ei.value.response["Error"]["Message"] == (
        "Too many requests, please wait before trying again. You have sent too many requests.  Wait before trying again."
    )


def test_quota_refusals_are_audited(qserver):
    with urllib.request.urlopen(qserver.admin_request("/_bedrock-gates/audit"), timeout=5) as r:
        recs = [x for x in json.loads(r.read())["records"] if x["gate"] == "quota"]
    assert any(x["reason"] == f"000000000000/us-east-1/{LLAMA}: quota of 3 requests per minute reached" for x in recs)


def test_profile_call_is_served_by_a_destination_with_room(qserver):
    """A cross-Region profile spreads load over its destinations' quotas: with Nova Lite's
    us-east-1 quota full, the in-Region call is throttled while the us. profile call is served by
    us-east-2 or us-west-2; the invocation log records which."""
    fresh_minute(qserver)
    c = rt(qserver)
    text = "a prompt of more than one token"
    with pytest.raises(ClientError) as ei:
        converse(c, "amazon.nova-lite-v1:0", text)
    assert error_of(ei) == ("ThrottlingException", 429, "Too many tokens, please wait before trying again.")
    r = converse(c, "us.amazon.nova-lite-v1:0", text)
    assert r["stopReason"] == "end_turn"
    with urllib.request.urlopen(qserver.admin_request("/_bedrock-gates/invocations"), timeout=5) as f:
        inv = json.loads(f.read())["invocations"]
    rec = next(i for i in inv if i["request_id"] == r["ResponseMetadata"]["RequestId"])
    assert (rec["operation"], rec["model_id"], rec["model"], rec["inference_profile"], rec["source_region"]) == (
        "Converse", "us.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", "us.amazon.nova-lite-v1:0", "us-east-1")
    assert rec["served_region"] in ("us-east-2", "us-west-2")
    # an in-Region call that is admitted is served where it was signed
    tokyo = client_for("bedrock-runtime", qserver, "test", "test", region="ap-northeast-1", attempts=None)
    r = converse(tokyo, "amazon.nova-lite-v1:0")
    with urllib.request.urlopen(qserver.admin_request("/_bedrock-gates/invocations"), timeout=5) as f:
        inv = json.loads(f.read())["invocations"]
    rec = next(i for i in inv if i["request_id"] == r["ResponseMetadata"]["RequestId"])
    assert (rec["inference_profile"], rec["source_region"], rec["served_region"]) == (None, "ap-northeast-1", "ap-northeast-1")
