"""Issue 13: every call serve answers is a CloudTrail event, read back with the real AWS CLI's
`aws cloudtrail lookup-events` and boto3; a refusal's event leads to its diagnosis in the audit
API; events survive restart and `kill -9` as docs/cloudtrail.md says."""

import json
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import VENV_BIN, Server, client_for, converse, refused

NOVA = "amazon.nova-lite-v1:0"
NOVA_ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}"
ACCOUNT = "313131313131"
ROOT = ("AKIATRAILROOT0000001", "trail-root-secret")

SCENARIO = f"""
[[account]]
id = "{ACCOUNT}"
use_case_form = true

[[access_key]]
account = "{ACCOUNT}"
id = "{ROOT[0]}"
secret = "{ROOT[1]}"

[[user]]
account = "{ACCOUNT}"
name = "dev"
attach = ["AmazonBedrockFullAccess"]

[[access_key]]
account = "{ACCOUNT}"
user = "dev"
id = "AKIATRAILDEV00000001"
secret = "dev-secret"

[[api_key]]
account = "{ACCOUNT}"
user = "dev"
id = "ACCATRAILDEV00000001"
secret = "dev-long-term-secret"

# Nova Pro has no room in us-east-1: a us. profile call is served by another destination.
[[quota]]
model = "amazon.nova-pro-v1:0"
region = "us-east-1"
rpm = 0

[[user]]
account = "{ACCOUNT}"
name = "nobody"

[[access_key]]
account = "{ACCOUNT}"
user = "nobody"
id = "AKIATRAILNOBODY00001"
secret = "nobody-secret"
"""
DEV = ("AKIATRAILDEV00000001", "dev-secret")
NOBODY = ("AKIATRAILNOBODY00001", "nobody-secret")
DENIED = (f"User: arn:aws:iam::{ACCOUNT}:user/nobody is not authorized to perform: bedrock:InvokeModel "
          f"on resource: {NOVA_ARN} because no identity-based policy allows the bedrock:InvokeModel action")


def start(tmp_path):
    (tmp_path / "trail.toml").write_text(SCENARIO)
    return Server(tmp_path / "state.db", tmp_path / "trail.toml")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start(tmp_path_factory.mktemp("trail"))
    yield s
    s.stop()


def cli(server, *args, key=ROOT, region="us-east-1"):
    env = {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": key[0], "AWS_SECRET_ACCESS_KEY": key[1],
           "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "PATH": "/usr/bin:/bin"}
    p = subprocess.run([str(VENV_BIN / "aws"), *args, "--output", "json"], capture_output=True,
                       text=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def trail(server, key=ROOT, region="us-east-1"):
    return client_for("cloudtrail", server, *key, region=region)


def events(server, key=ROOT, region="us-east-1", **kw):
    """Every event LookupEvents returns for `kw`, through the paginator, as parsed records."""
    pages = trail(server, key, region).get_paginator("lookup_events").paginate(**kw)
    return [json.loads(e["CloudTrailEvent"]) | {"_lookup": e} for p in pages for e in p["Events"]]


def by_request(server, request_id, **kw):
    found = [e for e in events(server, **kw) if e["requestID"] == request_id]
    assert len(found) == 1, found
    return found[0]


def test_a_refused_converse_is_found_by_the_aws_cli_and_leads_to_its_diagnosis(srv):
    with pytest.raises(ClientError) as ei:
        converse(client_for("bedrock-runtime", srv, *NOBODY), NOVA)
    rid = ei.value.response["ResponseMetadata"]["RequestId"]

    rc, out, err = cli(srv, "cloudtrail", "lookup-events", "--lookup-attributes",
                       "AttributeKey=EventName,AttributeValue=Converse")
    assert rc == 0, err
    found = [e for e in json.loads(out)["Events"] if json.loads(e["CloudTrailEvent"])["requestID"] == rid]
    assert len(found) == 1
    e = found[0]
    assert e["EventName"] == "Converse"
    assert e["EventSource"] == "bedrock.amazonaws.com"
    assert e["ReadOnly"] == "true"
    assert e["Username"] == "nobody"
    assert e["AccessKeyId"] == NOBODY[0]
    assert e["Resources"] == [{"ResourceType": "AWS::Bedrock::Model", "ResourceName": NOVA_ARN}]
    rec = json.loads(e["CloudTrailEvent"])
    assert rec["errorCode"] == "AccessDenied"
    assert rec["errorMessage"] == DENIED
    assert rec["userIdentity"] == {"type": "IAMUser", "principalId": rec["userIdentity"]["principalId"],
                                   "arn": f"arn:aws:iam::{ACCOUNT}:user/nobody", "accountId": ACCOUNT,
                                   "accessKeyId": NOBODY[0], "userName": "nobody"}
    assert rec["userIdentity"]["principalId"].startswith("AIDA")
    assert rec["eventID"] == e["EventId"]
    assert rec["eventTime"] == datetime.fromtimestamp(e["EventTime"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {k: rec[k] for k in ["eventVersion", "eventType", "managementEvent", "eventCategory", "readOnly",
                                "recipientAccountId", "awsRegion", "sourceIPAddress", "requestParameters",
                                "responseElements"]} == {
        "eventVersion": "1.11", "eventType": "AwsApiCall", "managementEvent": True,
        "eventCategory": "Management", "readOnly": True, "recipientAccountId": ACCOUNT,
        "awsRegion": "us-east-1", "sourceIPAddress": "127.0.0.1",
        "requestParameters": {"modelId": NOVA}, "responseElements": None}
    assert rec["userAgent"].startswith("Boto3/")
    assert "additionalEventData" not in rec

    audit = srv.admin(f"/_bedrock-gates/audit?eventId={e['EventId']}")["records"]
    assert len(audit) == 1
    a = audit[0]
    assert (a["gate"], a["error"], a["status"], a["message"], a["request_id"], a["eventId"]) == (
        "iam", "AccessDeniedException", 403, DENIED, rid, e["EventId"])
    assert a["event"] == rec
    assert a["fix"]
    assert a["time"] == rec["eventTime"]


def test_admitted_calls_and_writes_of_every_service_are_events(srv):
    rt = client_for("bedrock-runtime", srv, *DEV)
    rid_ok = converse(rt, NOVA)["ResponseMetadata"]["RequestId"]
    iam = client_for("iam", srv, *ROOT)
    rid_user = iam.create_user(UserName="trail-made")["ResponseMetadata"]["RequestId"]
    rid_sts = client_for("sts", srv, *DEV).get_caller_identity()["ResponseMetadata"]["RequestId"]
    br = client_for("bedrock", srv, *ROOT)
    r = br.create_inference_profile(inferenceProfileName="trail-profile",
                                    modelSource={"copyFrom": NOVA_ARN})
    rid_profile = r["ResponseMetadata"]["RequestId"]

    ok = by_request(srv, rid_ok)
    assert "errorCode" not in ok and ok["readOnly"] is True
    assert ok["userIdentity"]["userName"] == "dev"

    user = by_request(srv, rid_user)
    assert (user["eventSource"], user["eventName"], user["readOnly"], user["awsRegion"]) == (
        "iam.amazonaws.com", "CreateUser", False, "us-east-1")
    assert user["requestParameters"] == {"userName": "trail-made"}
    assert user["userIdentity"] == {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
                                    "accountId": ACCOUNT, "accessKeyId": ROOT[0]}
    assert user["_lookup"]["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": "trail-made"}]

    sts = by_request(srv, rid_sts)
    assert (sts["eventSource"], sts["eventName"], sts["readOnly"]) == ("sts.amazonaws.com", "GetCallerIdentity", True)

    prof = by_request(srv, rid_profile)
    assert (prof["eventName"], prof["readOnly"]) == ("CreateInferenceProfile", False)
    assert prof["requestParameters"] == {"inferenceProfileName": "trail-profile", "modelSource": {"copyFrom": NOVA_ARN},
                                         "clientRequestToken": prof["requestParameters"]["clientRequestToken"]}
    assert prof["responseElements"] == {"inferenceProfileArn": r["inferenceProfileArn"], "status": "ACTIVE"}


def test_every_lookup_attribute_time_range_and_pages(srv):
    rt = client_for("bedrock-runtime", srv, *DEV)
    rids = [converse(rt, NOVA)["ResponseMetadata"]["RequestId"] for _ in range(3)]
    ev = by_request(srv, rids[-1])
    checks = {
        "EventId": ev["eventID"], "EventName": "Converse", "ReadOnly": "true", "Username": "dev",
        "ResourceType": "AWS::Bedrock::Model", "ResourceName": NOVA_ARN,
        "EventSource": "bedrock.amazonaws.com", "AccessKeyId": DEV[0],
    }
    for key, value in checks.items():
        got = events(srv, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])
        assert ev["eventID"] in [g["eventID"] for g in got], key
        for g in got:
            lk = g["_lookup"]
            actual = {"EventId": lk["EventId"], "EventName": lk["EventName"], "ReadOnly": lk["ReadOnly"],
                      "Username": lk.get("Username"), "EventSource": lk["EventSource"],
                      "AccessKeyId": lk.get("AccessKeyId"),
                      "ResourceType": (lk["Resources"] or [{}])[0].get("ResourceType"),
                      "ResourceName": (lk["Resources"] or [{}])[0].get("ResourceName")}[key]
            assert actual == value, (key, lk)
    assert [g["eventID"] for g in events(srv, LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}])
            if g["readOnly"]] == []

    # newest first, one at a time through NextToken
    c = trail(srv)
    page = c.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "dev"}], MaxResults=1)
    assert len(page["Events"]) == 1 and "NextToken" in page
    seen = [json.loads(page["Events"][0]["CloudTrailEvent"])["requestID"]]
    page = c.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "dev"}], MaxResults=2,
                           NextToken=page["NextToken"])
    seen += [json.loads(e["CloudTrailEvent"])["requestID"] for e in page["Events"]]
    assert seen == rids[::-1]

    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert c.lookup_events(StartTime=future)["Events"] == []
    past = datetime.now(timezone.utc) - timedelta(days=1)
    assert c.lookup_events(EndTime=past)["Events"] == []
    assert refused(lambda: c.lookup_events(StartTime=future, EndTime=past)) == (
        "InvalidTimeRangeException", 400, "Start time must be earlier than or equal to end time.")
    assert refused(lambda: c.lookup_events(MaxResults=51)) == (
        "InvalidMaxResultsException", 400, "MaxResults must be between 1 and 50.")
    assert refused(lambda: c.lookup_events(NextToken="garbage")) == (
        "InvalidNextTokenException", 400, "Invalid NextToken.")
    assert refused(lambda: c.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "a"},
                                                             {"AttributeKey": "Username", "AttributeValue": "b"}])) == (
        "InvalidLookupAttributesException", 400, "You cannot specify more than one lookup attribute.")


def test_events_are_per_account_and_region_and_lookup_is_authorized_by_iam(srv):
    west = converse(client_for("bedrock-runtime", srv, *DEV, region="us-west-2"), "us." + NOVA)
    rid = west["ResponseMetadata"]["RequestId"]
    assert rid in [e["requestID"] for e in events(srv, region="us-west-2")]
    assert rid not in [e["requestID"] for e in events(srv, region="us-east-1")]
    # dev has AmazonBedrockFullAccess, nothing of CloudTrail
    code, status, message = refused(lambda: trail(srv, DEV).lookup_events())
    assert (code, message) == ("AccessDeniedException",
                               f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: "
                               "cloudtrail:LookupEvents because no identity-based policy allows the "
                               "cloudtrail:LookupEvents action")
    assert status == 400


def test_api_key_calls_carry_call_with_bearer_token(srv):
    import base64
    import urllib.request
    token = "ABSK" + base64.b64encode(f"dev-at-{ACCOUNT}:dev-long-term-secret".encode()).decode()
    req = urllib.request.Request(srv.url + f"/model/{NOVA}/converse", method="POST",
                                 data=json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        rid = r.headers["x-amzn-RequestId"]
    ev = by_request(srv, rid)
    assert ev["additionalEventData"] == {"callWithBearerToken": True}
    assert ev["userIdentity"]["userName"] == "dev"
    assert "dev-long-term-secret" not in json.dumps(ev, default=str)


def test_a_profile_call_served_by_another_region_names_it(srv):
    rt = client_for("bedrock-runtime", srv, *DEV)
    rid = converse(rt, "us.amazon.nova-pro-v1:0")["ResponseMetadata"]["RequestId"]
    served = [i for i in srv.admin("/_bedrock-gates/invocations")["invocations"] if i["request_id"] == rid][0]
    assert served["served_region"] in ("us-east-2", "us-west-2")
    ev = by_request(srv, rid)
    assert ev["awsRegion"] == "us-east-1"
    assert ev["additionalEventData"] == {"inferenceRegion": served["served_region"]}
    assert ev["resources"] == [{"accountId": ACCOUNT, "type": "AWS::Bedrock::InferenceProfile",
                                "ARN": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.amazon.nova-pro-v1:0"}]
    # served where it was signed: no inferenceRegion
    rid = converse(rt, "us." + NOVA)["ResponseMetadata"]["RequestId"]
    assert "additionalEventData" not in by_request(srv, rid)


def test_events_survive_kill9_and_restart(tmp_path):
    s = start(tmp_path)
    rt = client_for("bedrock-runtime", s, *DEV)
    rids = [converse(rt, NOVA)["ResponseMetadata"]["RequestId"] for _ in range(20)]
    # a write: every event before it is durable once it is acknowledged, and so is its own
    rids.append(client_for("iam", s, *ROOT).create_user(UserName="after-burst")["ResponseMetadata"]["RequestId"])
    s.kill9()
    s2 = Server(tmp_path / "state.db", tmp_path / "trail.toml")
    try:
        stored = {e["requestID"] for e in events(s2)}
        assert set(rids) <= stored
    finally:
        s2.stop()


def test_retention_drops_events_older_than_90_days(tmp_path):
    s = start(tmp_path)
    try:
        rt = client_for("bedrock-runtime", s, *DEV)
        old = converse(rt, NOVA)["ResponseMetadata"]["RequestId"]
        assert old in {e["requestID"] for e in events(s)}
        s.admin("/_bedrock-gates/clock?advance=" + str(91 * 86400), method="POST")
        new = converse(rt, NOVA)["ResponseMetadata"]["RequestId"]
        got = {e["requestID"] for e in events(s)}
        assert new in got and old not in got
    finally:
        s.stop()


def test_explain_accepts_the_cloudtrail_event_of_a_refusal(srv):
    from conftest import BIN
    with pytest.raises(ClientError) as ei:
        converse(client_for("bedrock-runtime", srv, *NOBODY), NOVA)
    rid = ei.value.response["ResponseMetadata"]["RequestId"]
    lk = by_request(srv, rid)["_lookup"]
    for text in [lk["CloudTrailEvent"], json.dumps(lk["CloudTrailEvent"])]:
        p = subprocess.run([BIN, "explain", "--json", "-"], input=text, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        e = json.loads(p.stdout)
        assert e["gate"] == "iam", e
        assert e["facts"]["principal"] == f"arn:aws:iam::{ACCOUNT}:user/nobody"


def test_openai_route_calls_are_events(srv):
    from test_openai import GPT20, post
    body = json.dumps({"model": GPT20, "messages": [{"role": "user", "content": "secret prompt"}]}).encode()
    ok = post(srv, body, *DEV)
    no = post(srv, body, *NOBODY)
    assert (ok[0], no[0]) == (200, 403)
    for (_, headers, _), denied in [(ok, False), (no, True)]:
        ev = by_request(srv, headers["x-amzn-requestid"])
        assert (ev["eventSource"], ev["eventName"], ev["readOnly"]) == (
            "bedrock.amazonaws.com", "CreateChatCompletion", True)
        assert ev["requestParameters"] == {"model": GPT20}
        assert ("errorCode" in ev) == denied
        assert "secret prompt" not in json.dumps(ev, default=str)


def test_retention_is_configurable(tmp_path):
    (tmp_path / "trail.toml").write_text(SCENARIO)
    s = Server(tmp_path / "state.db", tmp_path / "trail.toml", extra=["--event-retention-days", "7"])
    try:
        rt = client_for("bedrock-runtime", s, *DEV)
        old = converse(rt, NOVA)["ResponseMetadata"]["RequestId"]
        s.admin("/_bedrock-gates/clock?advance=" + str(6 * 86400), method="POST")
        assert old in {e["requestID"] for e in events(s)}
        s.admin("/_bedrock-gates/clock?advance=" + str(2 * 86400), method="POST")
        assert old not in {e["requestID"] for e in events(s)}
    finally:
        s.stop()
