"""Issue 13: model invocation logging honours the stored configuration: records in CloudWatch
Logs read back with `aws logs filter-log-events` and boto3, and gzipped files under the state
directory for the S3 destination; the logging role must be usable by Bedrock."""

import gzip
import json
import subprocess

import pytest

from conftest import VENV_BIN, Server, client_for, converse, refused

NOVA = "amazon.nova-lite-v1:0"
ACCOUNT = "414141414141"
ROOT = ("AKIALOGSROOT00000001", "logs-root-secret")
NOBODY = ("AKIALOGSNOBODY000001", "nobody-secret")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/BedrockLogging"
GROUP = "/bedrock/invocations"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}
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
name = "nobody"

[[access_key]]
account = "{ACCOUNT}"
user = "nobody"
id = "{NOBODY[0]}"
secret = "{NOBODY[1]}"
"""


def start(tmp_path):
    (tmp_path / "logs.toml").write_text(SCENARIO)
    return Server(tmp_path / "state.db", tmp_path / "logs.toml")


def clients(s, key=ROOT):
    return (client_for("bedrock", s, *key), client_for("bedrock-runtime", s, *key),
            client_for("logs", s, *key))


def configure(s, text=True, **extra):
    client_for("iam", s, *ROOT).create_role(RoleName="BedrockLogging", AssumeRolePolicyDocument=json.dumps(TRUST))
    cfg = {"cloudWatchConfig": {"logGroupName": GROUP, "roleArn": ROLE}, "textDataDeliveryEnabled": text} | extra
    client_for("bedrock", s, *ROOT).put_model_invocation_logging_configuration(loggingConfig=cfg)


def cli(s, *args, key=ROOT):
    env = {"AWS_ENDPOINT_URL": s.url, "AWS_ACCESS_KEY_ID": key[0], "AWS_SECRET_ACCESS_KEY": key[1],
           "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    p = subprocess.run([str(VENV_BIN / "aws"), *args, "--output", "json"], capture_output=True, text=True,
                       env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def records(s, pattern=None, key=ROOT):
    args = ["logs", "filter-log-events", "--log-group-name", GROUP]
    if pattern:
        args += ["--filter-pattern", pattern]
    rc, out, err = cli(s, *args, key=key)
    assert rc == 0, err
    return [json.loads(e["message"]) for e in json.loads(out)["events"]]


def assert_stored_bytes_are_the_texts(logs):
    """storedBytes (stream and group) is the byte length of every message as read: a record
    stored as its facts counts the text it renders to, counted when it was written."""
    total = sum(len(e["message"].encode()) for e in logs.filter_log_events(logGroupName=GROUP)["events"])
    assert total > 0
    assert [s["storedBytes"] for s in logs.describe_log_streams(logGroupName=GROUP)["logStreams"]] == [total]
    assert [g["storedBytes"] for g in logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]] == [total]


@pytest.fixture
def srv(tmp_path):
    s = start(tmp_path)
    yield s
    s.stop()


def test_an_admitted_converse_is_in_cloudwatch_logs_with_its_bodies(srv):
    configure(srv)
    _, rt, logs = clients(srv)
    msgs = [{"role": "user", "content": [{"text": "hello log"}]}]
    r = rt.converse(modelId=NOVA, messages=msgs, requestMetadata={"team": "blue"})
    rid = r["ResponseMetadata"]["RequestId"]
    converse(rt, "amazon.nova-micro-v1:0")

    got = records(srv, '{ $.modelId = "amazon.nova-lite-v1:0" }')
    assert len(got) == 1
    rec = got[0]
    assert {k: rec[k] for k in ["schemaType", "schemaVersion", "accountId", "identity", "region", "requestId",
                                "operation", "modelId", "requestMetadata"]} == {
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "accountId": ACCOUNT,
        "identity": {"arn": f"arn:aws:iam::{ACCOUNT}:root"}, "region": "us-east-1", "requestId": rid,
        "operation": "Converse", "modelId": NOVA, "requestMetadata": {"team": "blue"}}
    assert rec["timestamp"].endswith("Z") and "T" in rec["timestamp"]
    assert rec["input"]["inputContentType"] == "application/json"
    assert rec["input"]["inputBodyJson"]["messages"] == msgs
    assert rec["input"]["inputTokenCount"] == r["usage"]["inputTokens"]
    assert rec["output"]["outputTokenCount"] == r["usage"]["outputTokens"]
    assert rec["output"]["outputBodyJson"]["output"] == r["output"]
    assert "inferenceRegion" not in rec
    # both calls without a pattern, and a term pattern
    assert [x["modelId"] for x in records(srv)] == [NOVA, "amazon.nova-micro-v1:0"]
    assert [x["modelId"] for x in records(srv, "nova-micro")] == ["amazon.nova-micro-v1:0"]

    # the reading operations
    groups = logs.describe_log_groups(logGroupNamePrefix="/bedrock")["logGroups"]
    assert [(g["logGroupName"], g["arn"]) for g in groups] == [
        (GROUP, f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}:*")]
    streams = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["aws/bedrock/modelinvocations"]
    ev = logs.get_log_events(logGroupName=GROUP, logStreamName="aws/bedrock/modelinvocations",
                             startFromHead=True)["events"]
    assert [json.loads(e["message"])["requestId"] for e in ev][0] == rid
    assert_stored_bytes_are_the_texts(logs)


def test_with_text_delivery_disabled_the_bodies_are_absent(srv):
    configure(srv, text=False)
    _, rt, logs = clients(srv)
    r = converse(rt, NOVA)
    rec = records(srv)[0]
    assert_stored_bytes_are_the_texts(logs)
    assert rec["input"] == {"inputContentType": "application/json", "inputTokenCount": r["usage"]["inputTokens"],
                            "cacheReadInputTokenCount": 0, "cacheWriteInputTokenCount": 0}
    assert rec["output"] == {"outputContentType": "application/json", "outputTokenCount": r["usage"]["outputTokens"]}


def test_refused_calls_and_unconfigured_accounts_write_nothing(srv):
    _, rt, logs = clients(srv)
    logs.create_log_group(logGroupName=GROUP)
    converse(rt, NOVA)  # nothing configured yet
    configure(srv)
    with pytest.raises(Exception):
        converse(client_for("bedrock-runtime", srv, *NOBODY), NOVA)
    assert records(srv) == []


def test_a_stream_is_logged_as_its_chunks(srv):
    configure(srv)
    _, rt, _ = clients(srv)
    r = rt.converse_stream(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "stream me"}]}])
    events = list(r["stream"])
    rec = records(srv)[0]
    assert rec["operation"] == "ConverseStream"
    chunks = rec["output"]["outputBodyJson"]
    assert isinstance(chunks, list) and len(chunks) == len(events)
    assert [list(c)[0] for c in chunks] == [list(e)[0] for e in events]
    usage = [e for e in events if "metadata" in e][0]["metadata"]["usage"]
    assert rec["output"]["outputTokenCount"] == usage["outputTokens"]


def test_the_role_must_exist_and_trust_bedrock(srv):
    b, _, _ = clients(srv)
    cfg = {"cloudWatchConfig": {"logGroupName": GROUP, "roleArn": ROLE}}
    msg = (f"Failed to validate permissions for log group: {GROUP}, with role: {ROLE}. "
           "Verify the IAM role permissions are correct.")
    assert refused(lambda: b.put_model_invocation_logging_configuration(loggingConfig=cfg)) == (
        "ValidationException", 400, msg)
    lambda_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                            "Action": "sts:AssumeRole"}]}
    client_for("iam", srv, *ROOT).create_role(RoleName="BedrockLogging", AssumeRolePolicyDocument=json.dumps(lambda_trust))
    assert refused(lambda: b.put_model_invocation_logging_configuration(loggingConfig=cfg)) == (
        "ValidationException", 400, msg)
    assert b.get_model_invocation_logging_configuration().get("loggingConfig") is None


def test_logs_operations_validate_and_are_authorized_by_iam(srv):
    _, _, logs = clients(srv)
    logs.create_log_group(logGroupName="/mine")
    assert refused(lambda: logs.create_log_group(logGroupName="/mine")) == (
        "ResourceAlreadyExistsException", 400, "The specified log group already exists")
    logs.put_retention_policy(logGroupName="/mine", retentionInDays=30)
    assert logs.describe_log_groups(logGroupNamePrefix="/mine")["logGroups"][0]["retentionInDays"] == 30
    code, status, _ = refused(lambda: logs.put_retention_policy(logGroupName="/mine", retentionInDays=2))
    assert (code, status) == ("InvalidParameterException", 400)
    assert refused(lambda: logs.describe_log_streams(logGroupName="/none")) == (
        "ResourceNotFoundException", 400, "The specified log group does not exist.")
    assert refused(lambda: logs.filter_log_events(logGroupName="/mine", filterPattern="{ $.a = }")) == (
        "InvalidParameterException", 400, "Invalid filter pattern: a comparison needs a value")
    theirs = client_for("logs", srv, *NOBODY)
    assert refused(lambda: theirs.filter_log_events(logGroupName="/mine")) == (
        "AccessDeniedException", 400,
        f"User: arn:aws:iam::{ACCOUNT}:user/nobody is not authorized to perform: logs:FilterLogEvents on resource: "
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/mine:* because no identity-based policy allows the "
        "logs:FilterLogEvents action")


def test_s3_destination_writes_gzipped_records_under_the_state_dir(tmp_path):
    s = start(tmp_path)
    try:
        configure(s, s3Config={"bucketName": "bedrock-logs", "keyPrefix": "invocations"})
        _, rt, _ = clients(s)
        rid = converse(rt, NOVA)["ResponseMetadata"]["RequestId"]
        client_for("iam", s, *ROOT).create_user(UserName="flush")  # a write: the queue is durable before it
        files = sorted((tmp_path / "s3" / "bedrock-logs").rglob("*.json.gz"))
        assert len(files) == 1
        rel = files[0].relative_to(tmp_path / "s3" / "bedrock-logs").parts
        assert rel[:4] == ("invocations", "AWSLogs", ACCOUNT, "BedrockModelInvocationLogs")
        assert rel[4] == "us-east-1" and len(rel[5]) == 4 and len(rel[6]) == len(rel[7]) == len(rel[8]) == 2
        rec = json.loads(gzip.decompress(files[0].read_bytes()))
        assert rec["requestId"] == rid and rec["modelId"] == NOVA
    finally:
        s.stop()


def test_log_records_survive_kill9_after_the_next_write(tmp_path):
    s = start(tmp_path)
    configure(s)
    _, rt, logs = clients(s)
    rids = [converse(rt, NOVA)["ResponseMetadata"]["RequestId"] for _ in range(10)]
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=7)
    s.kill9()
    s2 = Server(tmp_path / "state.db", tmp_path / "logs.toml")
    try:
        assert [r["requestId"] for r in records(s2)] == rids
    finally:
        s2.stop()
