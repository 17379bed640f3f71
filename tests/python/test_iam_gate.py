"""Issue 3, gate 2 on the wire: the IAM engine decides every runtime call, and refusals carry
AWS's exact message for each layer (identity, boundary, SCP; cross-Region profile ARNs)."""

from pathlib import Path

import pytest

from conftest import Server, client_for, converse, refused

HERE = Path(__file__).parent
NOVA = "amazon.nova-lite-v1:0"
CLAUDE37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
PROFILE = "us." + CLAUDE37
SCP_ARN = "arn:aws:organizations::999999999999:policy/o-exampleorg1/service_control_policy/p-regionsonly"


@pytest.fixture(scope="module")
def iam_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("iam") / "state.db", HERE / "iam_gate.toml")
    yield s
    s.stop()


def rt(server, key, secret, region="us-east-1"):
    return client_for("bedrock-runtime", server, key, secret, region=region)


def test_no_policy_is_refused_with_identity_message(iam_server):
    c = rt(iam_server, "AKIANOBODY0000000001", "nobody-secret")
    assert refused(lambda: converse(c, NOVA)) == (
        "AccessDeniedException",
        403,
        "User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: bedrock:InvokeModel "
        "on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 "
        "because no identity-based policy allows the bedrock:InvokeModel action",
    )


def test_policy_scoped_to_one_model(iam_server):
    c = rt(iam_server, "AKIANOVA000000000001", "nova-secret")
    assert converse(c, NOVA)["stopReason"] == "end_turn"
    code, status, msg = refused(lambda: converse(c, "amazon.nova-pro-v1:0"))
    assert (code, status) == ("AccessDeniedException", 403)
    assert msg.endswith(
        "on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0 "
        "because no identity-based policy allows the bedrock:InvokeModel action"
    )


def test_profile_only_policy_names_the_model_arn(iam_server):
    c = rt(iam_server, "AKIAPROFILEONLY00001", "profileonly-secret")
    assert refused(lambda: converse(c, PROFILE)) == (
        "AccessDeniedException",
        403,
        "User: arn:aws:iam::111111111111:user/profileonly is not authorized to perform: bedrock:InvokeModel "
        f"on resource: arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE37} "
        "because no identity-based policy allows the bedrock:InvokeModel action",
    )


def test_scp_denies_a_destination_region(iam_server):
    # The identity policy allows the profile and the model in every Region, but the SCP allows
    # only us-east-1 and us-west-2, and the US profile also routes to us-east-2.
    c = rt(iam_server, "AKIACRISFULL00000001", "crisfull-secret")
    assert refused(lambda: converse(c, PROFILE)) == (
        "AccessDeniedException",
        403,
        "User: arn:aws:iam::111111111111:user/crisfull is not authorized to perform: bedrock:InvokeModel "
        f"on resource: arn:aws:bedrock:us-east-2::foundation-model/{CLAUDE37} "
        f"with an explicit deny in a service control policy: {SCP_ARN}",
    )


def test_scp_denies_the_signed_region(iam_server):
    c = rt(iam_server, "AKIAROOT1111EXAMPLE1", "root-1111-secret", region="eu-west-2")
    code, status, msg = refused(lambda: converse(c, NOVA))
    assert (code, status) == ("AccessDeniedException", 403)
    assert msg == (
        "User: arn:aws:iam::111111111111:root is not authorized to perform: bedrock:InvokeModel "
        "on resource: arn:aws:bedrock:eu-west-2::foundation-model/amazon.nova-lite-v1:0 "
        f"with an explicit deny in a service control policy: {SCP_ARN}"
    )
    # The same root in an allowed Region is fine: root needs no identity policy.
    assert converse(rt(iam_server, "AKIAROOT1111EXAMPLE1", "root-1111-secret"), NOVA)["stopReason"] == "end_turn"


def test_boundary_blocks(iam_server):
    c = rt(iam_server, "AKIABOUNDED000000001", "bounded-secret")
    assert refused(lambda: converse(c, NOVA)) == (
        "AccessDeniedException",
        403,
        "User: arn:aws:iam::111111111111:user/bounded is not authorized to perform: bedrock:InvokeModel "
        "on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 "
        "because no permissions boundary allows the bedrock:InvokeModel action",
    )
    # ...but the boundary allows reads.
    b = client_for("bedrock", iam_server, "AKIABOUNDED000000001", "bounded-secret", attempts=None)
    assert b.list_foundation_models()["modelSummaries"]


def test_explicit_deny_in_identity_policy(iam_server):
    c = rt(iam_server, "AKIADENIED0000000001", "denied-secret")
    assert refused(lambda: converse(c, NOVA)) == (
        "AccessDeniedException",
        403,
        "User: arn:aws:iam::111111111111:user/denied is not authorized to perform: bedrock:InvokeModel "
        "on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 "
        "with an explicit deny in an identity-based policy",
    )
    assert converse(c, "meta.llama3-8b-instruct-v1:0")["stopReason"] == "end_turn"


def test_control_plane_refusal_has_no_resource(iam_server):
    b = client_for("bedrock", iam_server, "AKIANOBODY0000000001", "nobody-secret")
    assert refused(lambda: b.list_foundation_models()) == (
        "AccessDeniedException",
        403,
        "User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: bedrock:ListFoundationModels "
        "because no identity-based policy allows the bedrock:ListFoundationModels action",
    )


def test_refusals_are_audited_with_the_iam_gate(iam_server):
    import json
    import urllib.request

    c = rt(iam_server, "AKIANOBODY0000000001", "nobody-secret")
    refused(lambda: converse(c, NOVA))
    with urllib.request.urlopen(iam_server.admin_request("/_bedrock-gates/audit"), timeout=5) as r:
        rec = [x for x in json.loads(r.read())["records"] if x["gate"] == "iam"][-1]
    assert rec["error"] == "AccessDeniedException"
    assert rec["reason"] == "no identity-based policy allows bedrock:InvokeModel"
