"""Bad input gets a clear AWS-shaped error and changes nothing: every route of bedrock,
bedrock-runtime, IAM and STS, correctly signed, fed junk bodies (seeded, so a failure
reproduces). Each answer is a 4xx with the protocol's error shape and a request id; the server
stays up; the state the writes would touch is unchanged."""

import json
import random
import urllib.error
import urllib.parse
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import Server

CREDS = Credentials("test", "test")
NOVA = "amazon.nova-lite-v1:0"

# (service, method, path) from the service models' URIs
JSON_ROUTES = [
    ("bedrock", "POST", f"/model/{NOVA}/converse"),
    ("bedrock", "POST", f"/model/{NOVA}/converse-stream"),
    ("bedrock", "POST", f"/model/{NOVA}/invoke"),
    ("bedrock", "POST", f"/model/{NOVA}/invoke-with-response-stream"),
    ("bedrock", "POST", f"/model/{NOVA}/count-tokens"),
    ("bedrock", "POST", "/inference-profiles"),
    ("bedrock", "POST", "/create-foundation-model-agreement"),
    ("bedrock", "POST", "/delete-foundation-model-agreement"),
    ("bedrock", "POST", "/use-case-for-model-access"),
    ("bedrock", "PUT", "/logging/modelinvocations"),
]
QUERY_SERVICES = ["sts", "iam"]


def junk_bodies(rng):
    fixed = [
        b"", b"{", b"}", b"null", b"[]", b"0", b'"x"', b"\xff\xfe\x00", b'{"messages": 5}',
        b'{"messages": [{"role": "user", "content": "not a list"}]}',
        b'{"messages": [{"role": 7, "content": [{"text": null}]}]}',
        b'{"inferenceConfig": {"maxTokens": -1}, "messages": []}',
        b'{"inferenceConfig": {"maxTokens": 1e999}}',
        b'{"modelId": {"nested": [1, 2, {"deep": true}]}}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a": "' + "\u0000\ud7ff\ue000".encode("utf-8", "surrogatepass") * 100 + b'"}',
        json.dumps({"inferenceProfileName": "x" * 10_000, "modelSource": {"copyFrom": "nope"}}).encode(),
        json.dumps({"modelId": NOVA, "offerToken": 12}).encode(),
        json.dumps({"formData": 12}).encode(),
        json.dumps({"loggingConfig": {"s3Config": "bucket"}}).encode(),
    ]
    return fixed + [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) for _ in range(8)]


def junk_forms(rng):
    fixed = [
        "", "Action=", "Action=CreateUser", "Action=CreateUser&UserName=",
        "Action=CreateUser&UserName=" + "x" * 200, "Action=PutUserPolicy&UserName=u&PolicyName=p&PolicyDocument={",
        "Action=CreatePolicy&PolicyName=p&PolicyDocument=%5B%5D", "Action=AssumeRole&RoleArn=arn:aws:iam::1:role/x",
        "Action=AssumeRole&RoleArn=nope&RoleSessionName=s1&DurationSeconds=abc",
        "Action=GetCallerIdentity&Version=1999-01-01", "Action=%FF%FE", "Action=NoSuchAction&Version=2010-05-08",
    ]
    return [f.encode() for f in fixed] + [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
                                          for _ in range(6)]


def send(url, service, method, path, body, content_type):
    aws = AWSRequest(method=method, url=url + path, data=body, headers={"Content-Type": content_type})
    SigV4Auth(CREDS, service, "us-east-1").add_auth(aws)
    req = urllib.request.Request(aws.url, data=body, method=method, headers=dict(aws.headers.items()))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def state_of(url):
    """What the junk writes would change: application profiles, agreements, IAM users."""
    out = {}
    for service, path in [("bedrock", "/inference-profiles?type=APPLICATION"),
                          ("bedrock", "/logging/modelinvocations")]:
        status, _, body = send(url, service, "GET", path, b"", "application/json")
        out[path] = (status, body)
    status, _, body = send(url, "iam", "POST", "/", b"Action=ListUsers&Version=2010-05-08",
                           "application/x-www-form-urlencoded")
    out["ListUsers"] = (status, body.split(b"<RequestId>")[0])
    status, _, body = send(url, "bedrock", "GET", f"/foundation-model-availability/{NOVA}", b"", "application/json")
    out["availability"] = (status, body)
    return out


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("bad-input") / "state.db")
    yield s
    s.stop()


def test_junk_json_bodies_get_aws_errors_and_change_nothing(srv):
    rng = random.Random(20261125)
    before = state_of(srv.url)
    seen = 0
    for service, method, path in JSON_ROUTES:
        for body in junk_bodies(rng):
            status, headers, raw = send(srv.url, service, method, path, body, "application/json")
            where = (method, path, body[:60])
            assert 400 <= status < 500, (status, raw[:200], where)
            h = {k.lower(): v for k, v in headers.items()}
            assert h.get("x-amzn-requestid"), where
            assert ":" in h.get("x-amzn-errortype", ""), (h, where)
            msg = json.loads(raw)["message"]
            assert isinstance(msg, str) and msg, where
            seen += 1
    assert seen == len(JSON_ROUTES) * 28
    assert state_of(srv.url) == before
    assert urllib.request.urlopen(srv.admin_request("/_bedrock-gates/health"), timeout=5).status == 200


def test_junk_query_forms_get_aws_errors_and_change_nothing(srv):
    rng = random.Random(11252026)
    before = state_of(srv.url)
    for service in QUERY_SERVICES:
        for form in junk_forms(rng):
            status, headers, raw = send(srv.url, service, "POST", "/", form, "application/x-www-form-urlencoded")
            where = (service, form[:60])
            assert 400 <= status < 500, (status, raw[:200], where)
            text = raw.decode("utf-8", "replace")
            assert text.startswith("<ErrorResponse"), (text[:200], where)
            assert "<Code>" in text and "<Message>" in text and "<RequestId>" in text, where
    assert state_of(srv.url) == before
    assert urllib.request.urlopen(srv.admin_request("/_bedrock-gates/health"), timeout=5).status == 200
