"""A policy change is seen by the very next call, however warm the server is.

Writes rebuild the snapshot incrementally (only the compiled entries a change touches), and
each snapshot keeps the allowed, context-free IAM decisions of its model calls
(`bg_gates::authz::Decisions`, issue 11): after the warm-up below, the caller's Converse is
answered from that cache. Each test warms the server with allowed calls first, then changes a
policy along one path by which it reaches the caller (inline, managed policy version, group,
boundary, detach), and asserts the very next call's exact answer.
"""

import json

import pytest

from conftest import Server, client_for, converse, refused

MODEL = "amazon.nova-lite-v1:0"
ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"
USER_ARN = "arn:aws:iam::000000000000:user/fresh"
ALLOW = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]})
DENY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "NoNova", "Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": ARN}]})
NOTHING = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "bedrock:ListFoundationModels", "Resource": "*"}]})
WARM = 50


@pytest.fixture
def fresh(tmp_path):
    """(server, root IAM client, runtime client of user `fresh`, warmed with allowed calls)."""
    srv = Server(tmp_path / "state.db")
    iam = client_for("iam", srv, "test", "test")
    iam.create_user(UserName="fresh")
    iam.put_user_policy(UserName="fresh", PolicyName="allow", PolicyDocument=ALLOW)
    k = iam.create_access_key(UserName="fresh")["AccessKey"]
    rt = client_for("bedrock-runtime", srv, k["AccessKeyId"], k["SecretAccessKey"])
    for _ in range(WARM):
        assert converse(rt, MODEL)["stopReason"] == "end_turn"
    yield srv, iam, rt
    srv.stop()


def denied_without_policy():
    return ("AccessDeniedException", 403,
            f"User: {USER_ARN} is not authorized to perform: bedrock:InvokeModel on resource: {ARN} "
            "because no identity-based policy allows the bedrock:InvokeModel action")


def denied_explicitly(policy_arn=None):
    """AWS names the denying policy by ARN when it has one (an inline policy has none)."""
    return ("AccessDeniedException", 403,
            f"User: {USER_ARN} is not authorized to perform: bedrock:InvokeModel on resource: {ARN} "
            "with an explicit deny in an identity-based policy" + (f": {policy_arn}" if policy_arn else ""))


def test_inline_policy_deleted_then_restored(fresh):
    _, iam, rt = fresh
    iam.delete_user_policy(UserName="fresh", PolicyName="allow")
    assert refused(lambda: converse(rt, MODEL)) == denied_without_policy()
    iam.put_user_policy(UserName="fresh", PolicyName="allow", PolicyDocument=ALLOW)
    assert converse(rt, MODEL)["stopReason"] == "end_turn"


def test_managed_policy_new_default_version(fresh):
    _, iam, rt = fresh
    arn = iam.create_policy(PolicyName="nova", PolicyDocument=NOTHING)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="fresh", PolicyArn=arn)
    assert converse(rt, MODEL)["stopReason"] == "end_turn"
    # only the policy changes: the user entity is untouched by this write
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=DENY, SetAsDefault=True)
    assert refused(lambda: converse(rt, MODEL)) == denied_explicitly(arn)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert converse(rt, MODEL)["stopReason"] == "end_turn"


def test_group_policy_reaches_its_members(fresh):
    _, iam, rt = fresh
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="fresh")
    assert converse(rt, MODEL)["stopReason"] == "end_turn"
    # only the group changes
    iam.put_group_policy(GroupName="g", PolicyName="deny", PolicyDocument=DENY)
    assert refused(lambda: converse(rt, MODEL)) == denied_explicitly()
    iam.delete_group_policy(GroupName="g", PolicyName="deny")
    assert converse(rt, MODEL)["stopReason"] == "end_turn"


def test_boundary_policy_version_narrows_the_user(fresh):
    _, iam, rt = fresh
    arn = iam.create_policy(PolicyName="edge", PolicyDocument=ALLOW)["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="fresh", PermissionsBoundary=arn)
    assert converse(rt, MODEL)["stopReason"] == "end_turn"
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=NOTHING, SetAsDefault=True)
    assert refused(lambda: converse(rt, MODEL)) == (
        "AccessDeniedException", 403,
        f"User: {USER_ARN} is not authorized to perform: bedrock:InvokeModel on resource: {ARN} "
        "because no permissions boundary allows the bedrock:InvokeModel action")
