"""`bedrock-gates policy simulate`: JSON in, JSON out, exit code by decision."""

import json
import subprocess

from conftest import BIN

IDENTITY = {"Version": "2012-10-17", "Statement": [{"Sid": "Invoke", "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]}
FM = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"


def simulate(doc):
    p = subprocess.run([BIN, "policy", "simulate", "--input", "-"], input=json.dumps(doc),
                       capture_output=True, text=True, timeout=30)
    return p.returncode, (json.loads(p.stdout) if p.stdout else None), p.stderr


def test_allowed():
    rc, out, _ = simulate({"principal": "arn:aws:iam::111111111111:user/dev", "action": "bedrock:InvokeModel",
                           "resource": FM, "identityPolicies": [IDENTITY]})
    assert rc == 0
    assert out["decision"] == "Allowed" and out["message"] is None
    assert out["explanation"]["allowedBy"] == [{"index": 0, "layer": "Identity", "policy": "identityPolicies[0]", "sid": "Invoke"}]


def test_scp_deny_at_level_one():
    deny = {"Version": "2012-10-17", "Statement": [{"Sid": "NoBedrock", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}]}
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    rc, out, _ = simulate({"principal": "arn:aws:iam::111111111111:user/dev", "action": "bedrock:InvokeModel",
                           "resource": FM, "identityPolicies": [IDENTITY],
                           "serviceControlPolicies": [[allow_all], [allow_all, deny]]})
    assert rc == 2
    assert out["decision"] == "ExplicitlyDenied"
    assert out["explanation"]["deniedBy"] == {"index": 0, "layer": "Scp", "policy": "serviceControlPolicies[1][1]", "sid": "NoBedrock"}
    assert out["message"] == (
        "User: arn:aws:iam::111111111111:user/dev is not authorized to perform: bedrock:InvokeModel on resource: "
        f"{FM} with an explicit deny in a service control policy"
    )


def test_no_identity_allow():
    rc, out, _ = simulate({"principal": "arn:aws:sts::111111111111:assumed-role/app/s1", "action": "bedrock:InvokeModel",
                           "resource": FM, "identityPolicies": []})
    assert rc == 2 and out["decision"] == "ImplicitlyDenied"
    assert out["message"].endswith("because no identity-based policy allows the bedrock:InvokeModel action")


def test_bad_input_exit_1():
    rc, out, err = simulate({"principal": "x", "action": "bedrock:InvokeModel", "resource": "*", "bogus": 1})
    assert rc == 1 and out is None
    assert "bogus" in err
