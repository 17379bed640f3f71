"""Issue 13: the CloudTrail events of IAM and STS writes carry `responseElements` as AWS writes
them (the result's members, first letter lowered, times in the Java form), read back with boto3's
lookup_events, and never a secret: no secret access key, no API-key secret."""

import json
import re

import pytest

from conftest import Server, client_for

ACCOUNT = "323232323232"
ROOT = ("AKIAELEMROOT00000001", "elements-root-secret")
OPS = ("AKIAELEMOPS000000001", "elements-ops-secret")
JAVA_TIME = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M$")

SCENARIO = f"""
[[account]]
id = "{ACCOUNT}"

[[access_key]]
account = "{ACCOUNT}"
id = "{ROOT[0]}"
secret = "{ROOT[1]}"

[[user]]
account = "{ACCOUNT}"
name = "ops"
attach = ["AdministratorAccess"]

[[access_key]]
account = "{ACCOUNT}"
user = "ops"
id = "{OPS[0]}"
secret = "{OPS[1]}"
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("elements")
    (d / "s.toml").write_text(SCENARIO)
    s = Server(d / "state.db", d / "s.toml")
    yield s
    s.stop()


def event_of(srv, response, region="us-east-1"):
    rid = response["ResponseMetadata"]["RequestId"]
    pages = client_for("cloudtrail", srv, *ROOT, region=region).get_paginator("lookup_events").paginate()
    found = [json.loads(e["CloudTrailEvent"]) for p in pages for e in p["Events"]]
    found = [e for e in found if e["requestID"] == rid]
    assert len(found) == 1, found
    return found[0]


def test_create_user_and_access_key_elements_without_the_secret(srv):
    iam = client_for("iam", srv, *ROOT)
    made = iam.create_user(UserName="elem-user", Path="/team/")
    user = made["User"]
    ev = event_of(srv, made)
    elements = ev["responseElements"]
    assert JAVA_TIME.match(elements["user"]["createDate"]), elements
    assert elements == {"user": {"path": "/team/", "userName": "elem-user", "userId": user["UserId"],
                                 "arn": user["Arn"], "createDate": elements["user"]["createDate"]}}

    key = iam.create_access_key(UserName="elem-user")
    k = key["AccessKey"]
    ev = event_of(srv, key)
    got = ev["responseElements"]["accessKey"]
    assert got == {"userName": "elem-user", "accessKeyId": k["AccessKeyId"], "status": "Active",
                   "createDate": got["createDate"]}
    assert JAVA_TIME.match(got["createDate"])
    assert k["SecretAccessKey"] not in json.dumps(ev)


def test_assume_role_elements_carry_the_token_but_not_the_secret(srv):
    iam = client_for("iam", srv, *ROOT)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/ops"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="elem-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    out = client_for("sts", srv, *OPS).assume_role(RoleArn=role["Arn"], RoleSessionName="elem-session")
    ev = event_of(srv, out)
    creds = out["Credentials"]
    elements = ev["responseElements"]
    assert elements["credentials"] == {"accessKeyId": creds["AccessKeyId"], "sessionToken": creds["SessionToken"],
                                       "expiration": elements["credentials"]["expiration"]}
    exp = creds["Expiration"]
    hour = exp.hour % 12 or 12
    assert elements["credentials"]["expiration"] == (
        f"{exp:%b} {exp.day}, {exp.year}, {hour}:{exp:%M:%S} {'AM' if exp.hour < 12 else 'PM'}")
    assert elements["assumedRoleUser"] == {"assumedRoleId": f"{role['RoleId']}:elem-session",
                                           "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/elem-role/elem-session"}
    assert creds["SecretAccessKey"] not in json.dumps(ev)


def test_api_key_secret_is_never_written_and_empty_results_are_null(srv):
    iam = client_for("iam", srv, *ROOT)
    iam.create_user(UserName="elem-keyed")
    made = iam.create_service_specific_credential(UserName="elem-keyed", ServiceName="bedrock.amazonaws.com")
    cred = made["ServiceSpecificCredential"]
    ev = event_of(srv, made)
    got = ev["responseElements"]["serviceSpecificCredential"]
    assert "serviceCredentialSecret" not in got
    assert got["serviceSpecificCredentialId"] == cred["ServiceSpecificCredentialId"]
    assert got["userName"] == "elem-keyed" and got["status"] == "Active"
    assert cred["ServiceCredentialSecret"] not in json.dumps(ev)

    gone = iam.delete_service_specific_credential(
        UserName="elem-keyed", ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
    assert event_of(srv, gone)["responseElements"] is None
    # A read keeps null, as AWS writes it.
    listed = iam.list_users()
    assert event_of(srv, listed)["responseElements"] is None
