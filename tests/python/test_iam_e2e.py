"""Issue 3 end to end with the real IAM API: create a user, a key and a policy; Converse is
refused with AWS's exact text, then allowed; a role session narrowed by a session policy gets the
session variant; SimulatePrincipalPolicy agrees with what the server enforced."""

import json
import uuid

from conftest import client_for, converse, refused

FM = "arn:aws:bedrock:us-east-1::foundation-model/{}"
LITE, PRO = "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"


def rt(key, secret, token=None):
    return client_for("bedrock-runtime", key=key, secret=secret, token=token)


def test_user_policy_role_session_and_simulator_agree(server):
    iam = client_for("iam")
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user_rt = rt(key["AccessKeyId"], key["SecretAccessKey"])

    assert refused(lambda: converse(user_rt, LITE)) == (
        "AccessDeniedException", 403,
        f"User: {arn} is not authorized to perform: bedrock:InvokeModel on resource: {FM.format(LITE)} "
        "because no identity-based policy allows the bedrock:InvokeModel action",
    )

    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Lite", "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": FM.format(LITE)},
        {"Sid": "Assume", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    pol = iam.create_policy(PolicyName=f"{name}-lite", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=pol)
    assert converse(user_rt, LITE)["stopReason"] == "end_turn"
    code, status, msg = refused(lambda: converse(user_rt, PRO))
    assert (code, status) == ("AccessDeniedException", 403) and FM.format(PRO) in msg

    # The simulator agrees with what the server just enforced.
    sim = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["bedrock:InvokeModel"],
                                        ResourceArns=[FM.format(LITE), FM.format(PRO)])
    decisions = {r["EvalResourceName"]: r["EvalDecision"] for r in sim["EvaluationResults"]}
    assert decisions == {FM.format(LITE): "allowed", FM.format(PRO): "implicitDeny"}

    # A role the user may assume, allowed every model; the session policy narrows it to Lite.
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="all-models", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]}))
    session_policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": FM.format(LITE)}]}
    sts = client_for("sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", Policy=json.dumps(session_policy))["Credentials"]
    session_rt = rt(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert converse(session_rt, LITE)["stopReason"] == "end_turn"
    assert refused(lambda: converse(session_rt, PRO)) == (
        "AccessDeniedException", 403,
        f"User: arn:aws:sts::000000000000:assumed-role/{name}-role/s1 is not authorized to perform: "
        f"bedrock:InvokeModel on resource: {FM.format(PRO)} because no session policy allows the bedrock:InvokeModel action",
    )
