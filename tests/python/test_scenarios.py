"""Issue 4: every scenario in scenarios/ reproduces its AWS error exactly (type, status, message),
and fixing the gate with the real AWS API call makes the same call succeed;
GetFoundationModelAvailability reports the state before and after."""

import json
import urllib.request
from pathlib import Path

import pytest

from conftest import Server, client_for, converse, refused

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FTU = ("Model use case details have not been submitted for this account. Fill out the Anthropic use case "
       "details form before using the model. If you have already filled out the form, try again in 15 minutes.")
NO_ACCESS = "You don't have access to the model with the specified model ID."
MARKETPLACE = ("Model access is denied due to IAM user or service role is not authorized to perform the required "
               "AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access "
               "to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace "
               "subscription for this model cannot be completed at this time. If you recently fixed this issue, try "
               "again after 5 minutes.")


@pytest.fixture
def scenario(tmp_path):
    servers = []

    def start(name):
        s = Server(tmp_path / f"{name}.db", SCENARIOS / f"{name}.toml")
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def availability(server, key, secret, model, region="us-east-1"):
    r = client_for("bedrock", server, key, secret, region=region).get_foundation_model_availability(modelId=model)
    return (r["agreementAvailability"]["status"], r["authorizationStatus"], r["entitlementAvailability"],
            r["regionAvailability"])


def test_anthropic_form_missing_then_submitted(scenario):
    s = scenario("anthropic-form-missing")
    key = ("AKIANOFORM0000000001", "noform-secret")
    rt = client_for("bedrock-runtime", s, *key)
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    assert refused(lambda: converse(rt, model)) == ("ResourceNotFoundException", 404, FTU)
    form = json.dumps({"companyName": "Example", "companyWebsite": "https://example.com", "intendedUsers": "0",
                       "industryOption": "Technology", "otherIndustryOption": "", "useCases": "Testing"}).encode()
    client_for("bedrock", s, *key).put_use_case_for_model_access(formData=form)
    assert converse(rt, model)["stopReason"] == "end_turn"


def test_marketplace_without_permission_then_fixed(scenario):
    s = scenario("marketplace-no-permission")
    key = ("AKIANOMARKETPLACE001", "nomarket-secret")
    rt = client_for("bedrock-runtime", s, *key)
    model = "cohere.command-r-v1:0"
    before = availability(s, *key, model)
    assert before == ("NOT_AVAILABLE", "AUTHORIZED", "NOT_AVAILABLE", "AVAILABLE")
    assert refused(lambda: converse(rt, model)) == ("AccessDeniedException", 403, MARKETPLACE)
    # The fix, through the IAM API with the account's root key: the Marketplace actions.
    admin = client_for("iam", s, "AKIAMARKETADMIN00001", "market-admin-secret")
    admin.put_user_policy(UserName="dev", PolicyName="MarketplaceFirstUse", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "aws-marketplace:Subscribe", "aws-marketplace:ViewSubscriptions"], "Resource": "*",
            "Condition": {"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com"}}}]}))
    # "If you recently fixed this issue, try again after 5 minutes": still refused...
    assert refused(lambda: converse(rt, model)) == ("AccessDeniedException", 403, MARKETPLACE)
    # ...until five minutes have passed on the gate clock.
    req = s.admin_request(f"/_bedrock-gates/clock?advance=301", "POST")
    urllib.request.urlopen(req, timeout=5).read()
    assert converse(rt, model)["stopReason"] == "end_turn"
    assert availability(s, *key, model) == ("AVAILABLE", "AUTHORIZED", "AVAILABLE", "AVAILABLE")


def test_console_mode_model_never_enabled_and_eula(scenario):
    s = scenario("console-eula-not-accepted")
    key = ("AKIACONSOLEMODE00001", "console-secret")
    rt = client_for("bedrock-runtime", s, *key)
    b = client_for("bedrock", s, *key)
    # Never enabled: Nova Pro.
    assert availability(s, *key, "amazon.nova-pro-v1:0")[2] == "NOT_AVAILABLE"
    assert refused(lambda: converse(rt, "amazon.nova-pro-v1:0")) == ("AccessDeniedException", 403, NO_ACCESS)
    token = b.list_foundation_model_agreement_offers(modelId="amazon.nova-pro-v1:0")["offers"][0]["offerToken"]
    b.create_foundation_model_agreement(modelId="amazon.nova-pro-v1:0", offerToken=token)
    assert converse(rt, "amazon.nova-pro-v1:0")["stopReason"] == "end_turn"
    # Granted, but the EULA was never accepted: Cohere Command R.
    model = "cohere.command-r-v1:0"
    assert availability(s, *key, model)[0] == "NOT_AVAILABLE"
    assert refused(lambda: converse(rt, model)) == ("AccessDeniedException", 403, NO_ACCESS)
    token = b.list_foundation_model_agreement_offers(modelId=model)["offers"][0]["offerToken"]
    b.create_foundation_model_agreement(modelId=model, offerToken=token)
    assert converse(rt, model)["stopReason"] == "end_turn"
    assert availability(s, *key, model)[0] == "AVAILABLE"


def test_wrong_region(scenario):
    s = scenario("wrong-region")
    key = ("AKIAWRONGREGION00001", "wrong-region-secret")
    body = json.dumps({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a cat"}})
    west = client_for("bedrock-runtime", s, *key, region="us-west-2")
    assert refused(lambda: west.invoke_model(modelId="amazon.nova-canvas-v1:0", body=body)) == (
        "ValidationException", 400, "The provided model identifier is invalid.")
    assert availability(s, *key, "amazon.nova-canvas-v1:0", region="us-west-2")[3] == "NOT_AVAILABLE"
    assert availability(s, *key, "amazon.nova-canvas-v1:0", region="us-east-1")[3] == "AVAILABLE"


def test_wrong_account(scenario):
    s = scenario("wrong-account")
    wrong = client_for("bedrock-runtime", s, "AKIAWRONGACCOUNT0001", "wrong-account-secret")
    code, status, msg = refused(lambda: converse(wrong, "amazon.nova-lite-v1:0"))
    assert (code, status) == ("AccessDeniedException", 403)
    assert msg.startswith("User: arn:aws:iam::131313131313:user/dev is not authorized to perform: bedrock:InvokeModel")
    who = client_for("sts", s, "AKIAWRONGACCOUNT0001", "wrong-account-secret").get_caller_identity()
    assert who["Account"] == "131313131313"
    right = client_for("bedrock-runtime", s, "AKIARIGHTACCOUNT0001", "right-account-secret")
    assert converse(right, "amazon.nova-lite-v1:0")["stopReason"] == "end_turn"


def test_cris_destination_denied_then_fixed(scenario):
    s = scenario("cris-destination-denied")
    profile = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    dev = client_for("bedrock-runtime", s, "AKIACRISDENIED000001", "cris-denied-secret")
    assert refused(lambda: converse(dev, profile)) == (
        "AccessDeniedException", 403,
        "User: arn:aws:iam::151515151515:user/dev is not authorized to perform: bedrock:InvokeModel on resource: "
        "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0 "
        "because no identity-based policy allows the bedrock:InvokeModel action")
    fixed = client_for("bedrock-runtime", s, "AKIACRISFIXED0000001", "cris-fixed-secret")
    assert converse(fixed, profile)["stopReason"] == "end_turn"


def test_case_study_two_lost_days(scenario):
    s = scenario("case-study-two-lost-days")
    key = ("AKIATWOLOSTDAYS00001", "two-lost-days-secret")
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    east = client_for("bedrock-runtime", s, *key, region="us-east-1")
    assert refused(lambda: converse(east, model)) == ("AccessDeniedException", 403, NO_ACCESS)
    assert availability(s, *key, model, region="us-east-1")[2] == "NOT_AVAILABLE"
    assert availability(s, *key, model, region="us-west-2")[2] == "AVAILABLE"
    # Pointing the code at the Region where access was granted works at once.
    west = client_for("bedrock-runtime", s, *key, region="us-west-2")
    assert converse(west, model)["stopReason"] == "end_turn"
    # So does enabling access in us-east-1 with the real API.
    b = client_for("bedrock", s, *key)
    token = b.list_foundation_model_agreement_offers(modelId=model)["offers"][0]["offerToken"]
    b.create_foundation_model_agreement(modelId=model, offerToken=token)
    assert converse(east, model)["stopReason"] == "end_turn"


def test_scp_restricts_regions(scenario):
    s = scenario("scp-restricts-regions")
    rt = client_for("bedrock-runtime", s, "AKIASCPDEV0000000001", "scp-dev-secret")
    code, status, msg = refused(lambda: converse(rt, "us.amazon.nova-lite-v1:0"))
    assert (code, status) == ("AccessDeniedException", 403)
    assert "on resource: arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0 with an explicit deny in a service control policy: arn:aws:organizations::" in msg
    assert converse(rt, "amazon.nova-lite-v1:0")["stopReason"] == "end_turn"


def test_throttled(scenario):
    s = scenario("throttled")
    rt = client_for("bedrock-runtime", s, "test", "test")
    assert refused(lambda: converse(rt, "amazon.nova-lite-v1:0")) == (
        "ThrottlingException", 429, "Too many requests, please wait before trying again.")


def test_open_sandbox_every_gate_open(scenario):
    s = scenario("open-sandbox")
    keyline = [l for l in (SCENARIOS / "open-sandbox.toml").read_text().splitlines() if "AWS_ACCESS_KEY_ID=" in l][0]
    key = keyline.split("AWS_ACCESS_KEY_ID=")[1].split()[0]
    secret = keyline.split("AWS_SECRET_ACCESS_KEY=")[1].split()[0]
    rt = client_for("bedrock-runtime", s, key, secret)
    for model in ["amazon.nova-lite-v1:0", "anthropic.claude-3-haiku-20240307-v1:0", "cohere.command-r-v1:0",
                  "us.anthropic.claude-3-7-sonnet-20250219-v1:0"]:
        assert converse(rt, model)["stopReason"] == "end_turn", model
