"""The access control plane on the wire (gates 1 and 4, inference profiles, invocation logging),
driven by real boto3 and the AWS CLI against a server with its own scenario."""

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import BIN, VENV_BIN, Server, client_for, converse, refused

HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
CLAUDE37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
COMMAND_R = "cohere.command-r-v1:0"
JAMBA_MINI = "ai21.jamba-1-5-mini-v1:0"
FTU = (
    "Model use case details have not been submitted for this account. Fill out the Anthropic use case "
    "details form before using the model. If you have already filled out the form, try again in 15 minutes."
)
MARKETPLACE = (
    "Model access is denied due to IAM user or service role is not authorized to perform the required AWS "
    "Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to "
    "this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace "
    "subscription for this model cannot be completed at this time. If you recently fixed this issue, try "
    "again after 5 minutes."
)

FRESH = ("222222222222", "AKIAFRESHROOT0000001", "fresh-root-secret")
CONSOLE = ("233333333333", "AKIACONSOLEROOT00001", "console-root-secret")
RETURNING = ("266666666666", "AKIARETURNROOT000001", "return-root-secret")
DEFAULT = ("000000000000", "test", "test")
NOBODY = ("255555555555", "AKIANOBODYACCESS0001", "nobody-secret")
BUILDER = ("255555555555", "AKIABUILDERACCESS001", "builder-secret")
READER = ("255555555555", "AKIAREADERACCESS0001", "reader-secret")
TAGGER = ("255555555555", "AKIATAGGERACCESS0001", "tagger-secret")

SCENARIO = '''
[[account]]
id = "222222222222"

[[access_key]]
account = "222222222222"
id = "AKIAFRESHROOT0000001"
secret = "fresh-root-secret"

[[access]]
account = "222222222222"
region = "us-east-1"
model = "ai21.jamba-1-5-mini-v1:0"
agreement = "error"

[[account]]
id = "233333333333"
access_mode = "console"
grant_delay_secs = 600

[[access_key]]
account = "233333333333"
id = "AKIACONSOLEROOT00001"
secret = "console-root-secret"

[[account]]
id = "266666666666"
use_case_form = true

[[access_key]]
account = "266666666666"
id = "AKIARETURNROOT000001"
secret = "return-root-secret"

[[account]]
id = "255555555555"

[[user]]
account = "255555555555"
name = "nobody"

[[user]]
account = "255555555555"
name = "builder"
inline = { bedrock = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}' }

[[user]]
account = "255555555555"
name = "reader"
inline = { availability = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:GetFoundationModelAvailability","Resource":"*"}]}' }

[[user]]
account = "255555555555"
name = "tagger"
inline = { tagged = """{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"bedrock:CreateInferenceProfile","Resource":"arn:aws:bedrock:*:*:application-inference-profile/*",
   "Condition":{"StringEquals":{"aws:RequestTag/team":"ml"}}},
  {"Effect":"Allow","Action":"bedrock:CreateInferenceProfile","Resource":"arn:aws:bedrock:*::foundation-model/*"}]}""" }

[[access_key]]
account = "255555555555"
user = "nobody"
id = "AKIANOBODYACCESS0001"
secret = "nobody-secret"

[[access_key]]
account = "255555555555"
user = "builder"
id = "AKIABUILDERACCESS001"
secret = "builder-secret"

[[access_key]]
account = "255555555555"
user = "reader"
id = "AKIAREADERACCESS0001"
secret = "reader-secret"

[[access_key]]
account = "255555555555"
user = "tagger"
id = "AKIATAGGERACCESS0001"
secret = "tagger-secret"
'''


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server.with_scenario_text(tmp_path_factory.mktemp("access"), SCENARIO)
    yield s
    s.stop()


def bedrock(srv, who=DEFAULT, region="us-east-1", **cfg):
    _, key, secret = who
    return client_for("bedrock", srv, key, secret, region=region, **cfg)


def runtime(srv, who=DEFAULT, region="us-east-1"):
    _, key, secret = who
    return client_for("bedrock-runtime", srv, key, secret, region=region)


def cli(srv, *args, who=DEFAULT, region="us-east-1"):
    """The AWS CLI, reaching the server only through AWS_ENDPOINT_URL."""
    _, key, secret = who
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": srv.url,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": region,
        "AWS_MAX_ATTEMPTS": "1",
    })
    p = subprocess.run([str(VENV_BIN / "aws"), *args], capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def cli_json(srv, *args, **kw):
    rc, out, err = cli(srv, *args, **kw)
    assert rc == 0, err
    return json.loads(out)


def body(resp):
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def audit_of(srv, fn):
    """The audit record of the refusal `fn` gets."""
    with pytest.raises(ClientError) as ei:
        fn()
    rid = ei.value.response["ResponseMetadata"]["RequestId"]
    with urllib.request.urlopen(srv.admin_request("/_bedrock-gates/audit")) as r:
        return next(x for x in json.loads(r.read())["records"] if x["request_id"] == rid)


def test_control_plane_model_refusals_are_audited_as_the_region_gate(srv):
    """GetFoundationModel and the access operations refuse a model the Region does not offer with
    AWS's one sentence; the audit log says which gate and which Regions offer it."""
    west = bedrock(srv, region="us-west-2")
    rec = audit_of(srv, lambda: west.get_foundation_model(modelIdentifier="amazon.nova-canvas-v1:0"))
    assert (rec["operation"], rec["error"], rec["message"], rec["gate"]) == (
        "GetFoundationModel", "ValidationException", "The provided model identifier is invalid.", "region")
    assert rec["reason"] == "amazon.nova-canvas-v1:0 is not offered in us-west-2"
    assert rec["fix"].startswith("sign the request for a Region that offers amazon.nova-canvas-v1:0: ")
    assert "us-east-1" in rec["fix"]
    rec = audit_of(srv, lambda: west.list_foundation_model_agreement_offers(modelId="amazon.nova-canvas-v1:0"))
    assert (rec["gate"], rec["reason"]) == ("region", "amazon.nova-canvas-v1:0 is not offered in us-west-2")
    rec = audit_of(srv, lambda: west.get_foundation_model(modelIdentifier="amazon.nova-lite-v9:0"))
    assert (rec["gate"], rec["reason"]) == (
        "region", "amazon.nova-lite-v9:0 is not a model or inference profile this catalog knows")


def availability(srv, who, model):
    return body(bedrock(srv, who).get_foundation_model_availability(modelId=model))


def avail(agreement, entitlement, authorized="AUTHORIZED", region="AVAILABLE", model=HAIKU3):
    return {
        "modelId": model,
        "agreementAvailability": {"status": agreement},
        "authorizationStatus": authorized,
        "entitlementAvailability": entitlement,
        "regionAvailability": region,
    }


def advance_clock(srv, secs):
    req = srv.admin_request(f"/_bedrock-gates/clock?advance={secs}", "POST")
    with urllib.request.urlopen(req) as r:
        return json.load(r)


# ----------------------------------------------------------------------------------------------
# Model access: the Anthropic flow in a fresh account
# ----------------------------------------------------------------------------------------------


def test_fresh_account_anthropic_flow(srv, tmp_path):
    rt = runtime(srv, FRESH)
    assert availability(srv, FRESH, HAIKU3) == avail("NOT_AVAILABLE", "NOT_AVAILABLE")
    assert refused(lambda: converse(rt, HAIKU3)) == ("ResourceNotFoundException", 404, FTU)
    assert refused(lambda: bedrock(srv, FRESH).get_use_case_for_model_access()) == (
        "ResourceNotFoundException", 404, "Model use case details have not been submitted for this account.",
    )
    rec = audit_of(srv, lambda: bedrock(srv, FRESH).get_use_case_for_model_access())
    assert (rec["operation"], rec["gate"]) == ("GetUseCaseForModelAccess", "model-access")
    assert rec["fix"] == "submit it once: aws bedrock put-use-case-for-model-access --form-data fileb://use-case.json"

    form = tmp_path / "use-case.json"
    form_bytes = json.dumps({
        "companyName": "Example Corp", "companyWebsite": "https://example.com", "intendedUsers": "0",
        "industryOption": "Technology", "otherIndustryOption": "", "useCases": "Internal assistant",
    }).encode()
    form.write_bytes(form_bytes)
    assert cli(srv, "bedrock", "put-use-case-for-model-access", "--form-data", f"fileb://{form}", who=FRESH) == (0, "", "")
    assert cli_json(srv, "bedrock", "get-use-case-for-model-access", who=FRESH) == {
        "formData": base64.b64encode(form_bytes).decode(),
    }
    # The form alone accepts no offer.
    assert availability(srv, FRESH, HAIKU3) == avail("NOT_AVAILABLE", "NOT_AVAILABLE")

    offers = cli_json(srv, "bedrock", "list-foundation-model-agreement-offers", "--model-id", HAIKU3, who=FRESH)
    assert offers["modelId"] == HAIKU3
    assert len(offers["offers"]) == 1
    offer = offers["offers"][0]
    token = offer["offerToken"]
    assert len(token) == 128
    assert offer["offerId"].startswith("offer-") and len(offer["offerId"]) == 19
    assert offer["termDetails"] == {
        "usageBasedPricingTerm": {"rateCard": [
            {"dimension": "input_tokens", "price": "0.00025",
             "description": "Price per 1,000 input tokens in us-east-1", "unit": "1K tokens"},
            {"dimension": "output_tokens", "price": "0.00125",
             "description": "Price per 1,000 output tokens in us-east-1", "unit": "1K tokens"},
        ]},
        "legalTerm": {"url": "https://www.anthropic.com/legal/commercial-terms"},
        "supportTerm": {"refundPolicyDescription": "Usage-based charges are billed as incurred and are not refundable."},
    }
    # Offers are per (model, Region) and the same for every account; ALL lists the public one too.
    again = bedrock(srv, DEFAULT).list_foundation_model_agreement_offers(modelId=HAIKU3, offerType="ALL")
    assert again["offers"][0]["offerToken"] == token
    west = bedrock(srv, FRESH, region="us-west-2").list_foundation_model_agreement_offers(modelId=HAIKU3)
    assert west["offers"][0]["offerToken"] != token

    assert cli_json(srv, "bedrock", "create-foundation-model-agreement", "--model-id", HAIKU3,
                    "--offer-token", token, who=FRESH) == {"modelId": HAIKU3}
    assert availability(srv, FRESH, HAIKU3) == avail("AVAILABLE", "AVAILABLE")
    # In the other Region nothing was accepted; the Marketplace subscription is account-wide.
    west_avail = body(bedrock(srv, FRESH, region="us-west-2").get_foundation_model_availability(modelId=HAIKU3))
    assert west_avail == avail("NOT_AVAILABLE", "AVAILABLE")

    out = converse(rt, HAIKU3)
    assert out["stopReason"] == "end_turn"
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_agreement_status_codes_and_idempotence(srv):
    b = bedrock(srv, RETURNING)
    token = b.list_foundation_model_agreement_offers(modelId=COMMAND_R)["offers"][0]["offerToken"]
    r = b.create_foundation_model_agreement(modelId=COMMAND_R, offerToken=token)
    assert (r["ResponseMetadata"]["HTTPStatusCode"], body(r)) == (202, {"modelId": COMMAND_R})
    r = b.create_foundation_model_agreement(modelId=COMMAND_R, offerToken=token)
    assert (r["ResponseMetadata"]["HTTPStatusCode"], body(r)) == (202, {"modelId": COMMAND_R})
    assert availability(srv, RETURNING, COMMAND_R) == avail("AVAILABLE", "AVAILABLE", model=COMMAND_R)


def test_delete_agreement_then_invoking_creates_access_again(srv):
    b, rt = bedrock(srv, RETURNING), runtime(srv, RETURNING)
    token = b.list_foundation_model_agreement_offers(modelId=HAIKU3)["offers"][0]["offerToken"]
    b.create_foundation_model_agreement(modelId=HAIKU3, offerToken=token)
    assert availability(srv, RETURNING, HAIKU3) == avail("AVAILABLE", "AVAILABLE")

    r = b.delete_foundation_model_agreement(modelId=HAIKU3)
    assert (r["ResponseMetadata"]["HTTPStatusCode"], body(r)) == (202, {})
    assert availability(srv, RETURNING, HAIKU3) == avail("NOT_AVAILABLE", "NOT_AVAILABLE")
    assert refused(lambda: b.delete_foundation_model_agreement(modelId=HAIKU3)) == (
        "ResourceNotFoundException", 404,
        f"No agreement exists for model {HAIKU3} in this account and Region.",
    )
    # "Invoking the model will create the access again."
    assert converse(rt, HAIKU3)["stopReason"] == "end_turn"
    assert availability(srv, RETURNING, HAIKU3) == avail("AVAILABLE", "AVAILABLE")


def test_offer_token_must_be_this_model_and_regions(srv):
    b = bedrock(srv, DEFAULT)
    west_token = bedrock(srv, DEFAULT, region="us-west-2").list_foundation_model_agreement_offers(
        modelId=HAIKU3)["offers"][0]["offerToken"]
    msg = (f"The provided offer token is not valid for model {HAIKU3} in us-east-1. Get the current offer "
           "token with ListFoundationModelAgreementOffers and try again.")
    assert refused(lambda: b.create_foundation_model_agreement(modelId=HAIKU3, offerToken=west_token)) == (
        "ValidationException", 400, msg)
    assert refused(lambda: b.create_foundation_model_agreement(modelId=HAIKU3, offerToken="nope")) == (
        "ValidationException", 400, msg)


def test_models_without_agreement_have_no_offers(srv):
    r = bedrock(srv, FRESH).list_foundation_model_agreement_offers(modelId=NOVA_LITE)
    assert body(r) == {"modelId": NOVA_LITE, "offers": []}
    assert availability(srv, FRESH, NOVA_LITE) == avail("AVAILABLE", "AVAILABLE", model=NOVA_LITE)


def test_availability_region_and_unknown_models(srv):
    # Known, but not listed in sa-east-1 (Command R is offered in us-east-1 and us-west-2 only).
    r = body(bedrock(srv, DEFAULT, region="sa-east-1").get_foundation_model_availability(modelId=COMMAND_R))
    assert r == avail("NOT_AVAILABLE", "NOT_AVAILABLE", region="NOT_AVAILABLE", model=COMMAND_R)
    assert refused(lambda: bedrock(srv).get_foundation_model_availability(modelId="acme.unknown-model-v1:0")) == (
        "ValidationException", 400, "The provided model identifier is invalid.")
    assert refused(lambda: bedrock(srv).get_foundation_model_availability(modelId="Anthropic.Claude")) == (
        "ValidationException", 400,
        "1 validation error detected: Value 'Anthropic.Claude' at 'modelId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}"
        "([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}(/[a-z0-9]{12}|)",
    )
    # Offers exist per Region: a Region that does not list the model has none to give.
    assert refused(lambda: bedrock(srv, region="sa-east-1").list_foundation_model_agreement_offers(
        modelId=COMMAND_R)) == ("ValidationException", 400, "The provided model identifier is invalid.")
    assert refused(lambda: bedrock(srv).list_foundation_model_agreement_offers(
        modelId=HAIKU3, offerType="PRIVATE")) == (
        "ValidationException", 400,
        "1 validation error detected: Value 'PRIVATE' at 'offerType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ALL, PUBLIC]",
    )


def test_failed_agreement_reports_its_error(srv):
    assert availability(srv, FRESH, JAMBA_MINI) == {
        "modelId": JAMBA_MINI,
        "agreementAvailability": {"status": "ERROR", "errorMessage": "The agreement could not be created."},
        "authorizationStatus": "AUTHORIZED",
        "entitlementAvailability": "NOT_AVAILABLE",
        "regionAvailability": "AVAILABLE",
    }


def test_console_mode_agreement_requests_access(srv):
    b, rt = bedrock(srv, CONSOLE), runtime(srv, CONSOLE)
    no_access = ("AccessDeniedException", 403, "You don't have access to the model with the specified model ID.")
    assert availability(srv, CONSOLE, NOVA_LITE) == avail("AVAILABLE", "NOT_AVAILABLE", model=NOVA_LITE)
    assert refused(lambda: converse(rt, NOVA_LITE)) == no_access
    # In console mode every model has an offer: accepting it is the access request.
    offers = b.list_foundation_model_agreement_offers(modelId=NOVA_LITE)["offers"]
    assert len(offers) == 1
    assert offers[0]["termDetails"]["legalTerm"] == {"url": "https://aws.amazon.com/service-terms/"}
    b.create_foundation_model_agreement(modelId=NOVA_LITE, offerToken=offers[0]["offerToken"])
    # Pending for the account's grant delay (600 s), then granted.
    assert availability(srv, CONSOLE, NOVA_LITE) == avail("AVAILABLE", "NOT_AVAILABLE", model=NOVA_LITE)
    assert refused(lambda: converse(rt, NOVA_LITE)) == no_access
    advance_clock(srv, 601)
    assert availability(srv, CONSOLE, NOVA_LITE) == avail("AVAILABLE", "AVAILABLE", model=NOVA_LITE)
    assert converse(rt, NOVA_LITE)["stopReason"] == "end_turn"


def test_use_case_form_length_is_validated(srv):
    b = bedrock(srv, DEFAULT)
    assert refused(lambda: b.put_use_case_for_model_access(formData=b"short")) == (
        "ValidationException", 400,
        "1 validation error detected: Value at 'formData' failed to satisfy constraint: "
        "Member must have length greater than or equal to 10",
    )
    assert refused(lambda: b.put_use_case_for_model_access(formData=b"x" * 16385)) == (
        "ValidationException", 400,
        "1 validation error detected: Value at 'formData' failed to satisfy constraint: "
        "Member must have length less than or equal to 16384",
    )
    r = b.put_use_case_for_model_access(formData=b'{"companyName":"Sandbox"}')
    assert (r["ResponseMetadata"]["HTTPStatusCode"], body(r)) == (201, {})
    assert b.get_use_case_for_model_access()["formData"] == b'{"companyName":"Sandbox"}'


def test_missing_members_are_reported_like_coral(srv):
    b = bedrock(srv, DEFAULT, parameter_validation=False)
    assert refused(lambda: b.create_foundation_model_agreement()) == (
        "ValidationException", 400,
        "2 validation errors detected: Value null at 'offerToken' failed to satisfy constraint: Member must "
        "not be null; Value null at 'modelId' failed to satisfy constraint: Member must not be null",
    )
    assert refused(lambda: b.put_model_invocation_logging_configuration()) == (
        "ValidationException", 400,
        "1 validation error detected: Value null at 'loggingConfig' failed to satisfy constraint: "
        "Member must not be null",
    )
    assert refused(lambda: b.list_inference_profiles(maxResults=0)) == (
        "ValidationException", 400,
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    )


def raw(srv, method, path, data, who=DEFAULT, region="us-east-1"):
    """A SigV4-signed request with a body no SDK would send."""
    _, key, secret = who
    req = AWSRequest(method=method, url=srv.url + path, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "bedrock", region).add_auth(req)
    r = urllib.request.Request(req.url, data=data, method=method, headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.headers.get("x-amzn-ErrorType"), json.load(resp)
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("x-amzn-ErrorType"), json.load(e)


def test_malformed_bodies_are_validation_errors(srv):
    ns = "http://internal.amazon.com/coral/com.amazon.bedrock/"
    status, etype, out = raw(srv, "POST", "/inference-profiles", b'{"inferenceProfileName": ')
    assert (status, etype) == (400, f"ValidationException:{ns}")
    assert out["message"].startswith("Malformed input request: the request body is not valid JSON (")
    assert raw(srv, "POST", "/inference-profiles", b'{"inferenceProfileName":"p","modelSource":"x"}') == (
        400, f"ValidationException:{ns}",
        {"message": "1 validation error detected: Value at 'modelSource' failed to satisfy constraint: "
                    "Member must be a structure"},
    )
    assert raw(srv, "POST", "/inference-profiles", b'{"inferenceProfileName":"p","modelSource":{}}') == (
        400, f"ValidationException:{ns}",
        {"message": "1 validation error detected: Value at 'modelSource' failed to satisfy constraint: "
                    "Member must have exactly one member set: copyFrom"},
    )
    assert raw(srv, "POST", "/use-case-for-model-access", b'{"formData": 12}') == (
        400, f"ValidationException:{ns}",
        {"message": "1 validation error detected: Value at 'formData' failed to satisfy constraint: "
                    "Member must be a string"},
    )
    assert raw(srv, "POST", "/use-case-for-model-access", b'{"formData": "not base64!"}') == (
        400, f"ValidationException:{ns}",
        {"message": "1 validation error detected: Value at 'formData' failed to satisfy constraint: "
                    "Member must be a base64-encoded blob"},
    )
    assert raw(srv, "PUT", "/logging/modelinvocations", b'[1, 2]') == (
        400, f"ValidationException:{ns}",
        {"message": "Malformed input request: the request body must be a JSON object, please reformat your "
                    "input and try again."},
    )


# ----------------------------------------------------------------------------------------------
# IAM on every operation
# ----------------------------------------------------------------------------------------------

NOBODY_ARN = "arn:aws:iam::255555555555:user/nobody"


@pytest.mark.parametrize("action,call", [
    ("CreateFoundationModelAgreement",
     lambda b: b.create_foundation_model_agreement(modelId=HAIKU3, offerToken="t")),
    ("DeleteFoundationModelAgreement", lambda b: b.delete_foundation_model_agreement(modelId=HAIKU3)),
    ("GetFoundationModelAvailability", lambda b: b.get_foundation_model_availability(modelId=HAIKU3)),
    ("ListFoundationModelAgreementOffers", lambda b: b.list_foundation_model_agreement_offers(modelId=HAIKU3)),
    ("PutUseCaseForModelAccess", lambda b: b.put_use_case_for_model_access(formData=b"0123456789")),
    ("GetUseCaseForModelAccess", lambda b: b.get_use_case_for_model_access()),
    ("ListInferenceProfiles", lambda b: b.list_inference_profiles()),
    ("GetModelInvocationLoggingConfiguration", lambda b: b.get_model_invocation_logging_configuration()),
    ("PutModelInvocationLoggingConfiguration",
     lambda b: b.put_model_invocation_logging_configuration(loggingConfig={"textDataDeliveryEnabled": True})),
    ("DeleteModelInvocationLoggingConfiguration", lambda b: b.delete_model_invocation_logging_configuration()),
])
def test_no_policy_is_refused_without_resource(srv, action, call):
    assert refused(lambda: call(bedrock(srv, NOBODY))) == (
        "AccessDeniedException", 403,
        f"User: {NOBODY_ARN} is not authorized to perform: bedrock:{action} "
        f"because no identity-based policy allows the bedrock:{action} action",
    )


def test_no_policy_is_refused_on_profile_arns(srv):
    b = bedrock(srv, NOBODY)
    profile = "us." + CLAUDE37
    assert refused(lambda: b.get_inference_profile(inferenceProfileIdentifier=profile)) == (
        "AccessDeniedException", 403,
        f"User: {NOBODY_ARN} is not authorized to perform: bedrock:GetInferenceProfile on resource: "
        f"arn:aws:bedrock:us-east-1:255555555555:inference-profile/{profile} "
        "because no identity-based policy allows the bedrock:GetInferenceProfile action",
    )
    assert refused(lambda: b.delete_inference_profile(inferenceProfileIdentifier="abcdefghijkl")) == (
        "AccessDeniedException", 403,
        f"User: {NOBODY_ARN} is not authorized to perform: bedrock:DeleteInferenceProfile on resource: "
        "arn:aws:bedrock:us-east-1:255555555555:application-inference-profile/abcdefghijkl "
        "because no identity-based policy allows the bedrock:DeleteInferenceProfile action",
    )


def test_availability_reports_invoke_authorization(srv):
    assert availability(srv, READER, NOVA_LITE) == avail("AVAILABLE", "AVAILABLE", "NOT_AUTHORIZED", model=NOVA_LITE)
    assert availability(srv, BUILDER, NOVA_LITE) == avail("AVAILABLE", "AVAILABLE", "AUTHORIZED", model=NOVA_LITE)


def test_marketplace_agreement_needs_marketplace_permissions(srv):
    b = bedrock(srv, BUILDER)
    token = b.list_foundation_model_agreement_offers(modelId=COMMAND_R)["offers"][0]["offerToken"]
    assert refused(lambda: b.create_foundation_model_agreement(modelId=COMMAND_R, offerToken=token)) == (
        "AccessDeniedException", 403, MARKETPLACE)
    assert availability(srv, BUILDER, COMMAND_R) == avail("NOT_AVAILABLE", "NOT_AVAILABLE", model=COMMAND_R)


# ----------------------------------------------------------------------------------------------
# Inference profiles
# ----------------------------------------------------------------------------------------------


def test_list_inference_profiles_paginates(srv):
    b = bedrock(srv, DEFAULT)
    everything = b.list_inference_profiles()
    assert "nextToken" not in everything
    total = everything["inferenceProfileSummaries"]
    assert len(total) > 10
    pages = list(b.get_paginator("list_inference_profiles").paginate(maxResults=5))
    assert len(pages) == (len(total) + 4) // 5
    assert all(len(p["inferenceProfileSummaries"]) == 5 for p in pages[:-1])
    assert [s for p in pages for s in p["inferenceProfileSummaries"]] == total
    for s in total:
        assert s["inferenceProfileArn"] == (
            f"arn:aws:bedrock:us-east-1:000000000000:inference-profile/{s['inferenceProfileId']}")
        assert (s["status"], s["type"]) == ("ACTIVE", "SYSTEM_DEFINED")
    # The CLI walks the same pages on its own.
    cli_all = cli_json(srv, "bedrock", "list-inference-profiles", "--page-size", "7")
    assert [s["inferenceProfileArn"] for s in cli_all["inferenceProfileSummaries"]] == [
        s["inferenceProfileArn"] for s in total]
    assert body(b.list_inference_profiles(typeEquals="APPLICATION")) == {"inferenceProfileSummaries": []}
    assert refused(lambda: b.list_inference_profiles(nextToken="bm90LWEtdG9rZW4")) == (
        "ValidationException", 400, "The provided nextToken is invalid.")


def test_get_system_inference_profile(srv):
    b = bedrock(srv, DEFAULT)
    profile = "us." + CLAUDE37
    arn = f"arn:aws:bedrock:us-east-1:000000000000:inference-profile/{profile}"
    expected = {
        "inferenceProfileName": "US Anthropic Claude 3.7 Sonnet",
        "description": "Routes requests to Anthropic Claude 3.7 Sonnet in us-east-1, us-east-2 and us-west-2.",
        "createdAt": datetime(2025, 2, 18, tzinfo=timezone.utc),
        "updatedAt": datetime(2025, 6, 23, 18, 16, 24, 834572, tzinfo=timezone.utc),
        "inferenceProfileArn": arn,
        "models": [
            {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE37}"},
            {"modelArn": f"arn:aws:bedrock:us-east-2::foundation-model/{CLAUDE37}"},
            {"modelArn": f"arn:aws:bedrock:us-west-2::foundation-model/{CLAUDE37}"},
        ],
        "inferenceProfileId": profile,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }
    assert body(b.get_inference_profile(inferenceProfileIdentifier=profile)) == expected
    assert body(b.get_inference_profile(inferenceProfileIdentifier=arn)) == expected
    # Not callable from eu-west-1, and an ARN of another Region names nothing here.
    eu = bedrock(srv, DEFAULT, region="eu-west-1")
    assert refused(lambda: eu.get_inference_profile(inferenceProfileIdentifier=profile)) == (
        "ResourceNotFoundException", 404, f"The inference profile {profile} does not exist.")
    assert refused(lambda: eu.get_inference_profile(inferenceProfileIdentifier=arn)) == (
        "ResourceNotFoundException", 404, f"The inference profile {arn} does not exist.")
    assert refused(lambda: b.delete_inference_profile(inferenceProfileIdentifier=profile)) == (
        "ValidationException", 400,
        f"The inference profile {profile} is system-defined and can't be deleted. "
        "Only application inference profiles can be deleted.",
    )


def test_application_profile_lifecycle(srv):
    b = bedrock(srv, DEFAULT)
    source = f"arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.{CLAUDE37}"
    created = b.create_inference_profile(
        inferenceProfileName="claims-assistant", description="Claims team: Claude 3.7 via US profile",
        clientRequestToken="claims-1", modelSource={"copyFrom": source},
        tags=[{"key": "team", "value": "claims"}, {"key": "cost-center", "value": "cc-42"}],
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = created["inferenceProfileArn"]
    assert arn.startswith("arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/")
    pid = arn.rsplit("/", 1)[1]
    assert len(pid) == 12 and pid.isalnum() and pid == pid.lower()
    assert body(created) == {"inferenceProfileArn": arn, "status": "ACTIVE"}

    # Same clientRequestToken: the same profile, nothing new.
    again = b.create_inference_profile(
        inferenceProfileName="claims-assistant", clientRequestToken="claims-1", modelSource={"copyFrom": source})
    assert body(again) == {"inferenceProfileArn": arn, "status": "ACTIVE"}
    # Same name without it: a conflict.
    assert refused(lambda: b.create_inference_profile(
        inferenceProfileName="claims-assistant", modelSource={"copyFrom": source})) == (
        "ConflictException", 400, "An inference profile with the name claims-assistant already exists.")
    # The token reused for something else: a conflict too.
    assert refused(lambda: b.create_inference_profile(
        inferenceProfileName="other", clientRequestToken="claims-1", modelSource={"copyFrom": source})) == (
        "ConflictException", 400, "The clientRequestToken claims-1 was already used for a different request.")

    got = body(b.get_inference_profile(inferenceProfileIdentifier=pid))
    assert got.pop("createdAt") == got.pop("updatedAt")
    assert got == {
        "inferenceProfileName": "claims-assistant",
        "description": "Claims team: Claude 3.7 via US profile",
        "inferenceProfileArn": arn,
        "models": [{"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{CLAUDE37}"}
                   for r in ("us-east-1", "us-east-2", "us-west-2")],
        "inferenceProfileId": pid,
        "status": "ACTIVE",
        "type": "APPLICATION",
    }
    assert body(b.get_inference_profile(inferenceProfileIdentifier=arn))["inferenceProfileId"] == pid

    # One from a foundation model ARN routes to that model in this Region only.
    single = b.create_inference_profile(
        inferenceProfileName="nova lite single",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_LITE}"})["inferenceProfileArn"]
    assert b.get_inference_profile(inferenceProfileIdentifier=single)["models"] == [
        {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_LITE}"}]

    apps = b.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert sorted(p["inferenceProfileArn"] for p in apps) == sorted([arn, single])
    every = [p["inferenceProfileArn"] for p in b.list_inference_profiles()["inferenceProfileSummaries"]]
    assert sorted(every[-2:]) == sorted([arn, single])

    # The CLI sees it too.
    assert cli_json(srv, "bedrock", "get-inference-profile", "--inference-profile-identifier", pid)["type"] == "APPLICATION"

    for a in (arn, single):
        r = b.delete_inference_profile(inferenceProfileIdentifier=a)
        assert (r["ResponseMetadata"]["HTTPStatusCode"], body(r)) == (200, {})
    assert refused(lambda: b.get_inference_profile(inferenceProfileIdentifier=pid)) == (
        "ResourceNotFoundException", 404, f"The inference profile {pid} does not exist.")
    assert refused(lambda: b.delete_inference_profile(inferenceProfileIdentifier=arn)) == (
        "ResourceNotFoundException", 404, f"The inference profile {arn} does not exist.")
    assert b.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"] == []


def test_create_inference_profile_validation(srv):
    b = bedrock(srv, DEFAULT)
    assert refused(lambda: b.create_inference_profile(
        inferenceProfileName="bad name!", modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_LITE}"})) == (
        "ValidationException", 400,
        "1 validation error detected: Value 'bad name!' at 'inferenceProfileName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ([0-9a-zA-Z][ _-]?)+",
    )
    assert refused(lambda: b.create_inference_profile(
        inferenceProfileName="x" * 65, modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_LITE}"})) == (
        "ValidationException", 400,
        f"1 validation error detected: Value '{'x' * 65}' at 'inferenceProfileName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64",
    )
    # A model of another Region, or one the Region does not offer, is not a source here.
    assert refused(lambda: b.create_inference_profile(
        inferenceProfileName="elsewhere",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-west-2::foundation-model/{NOVA_LITE}"})) == (
        "ValidationException", 400, "The provided model identifier is invalid.")


def test_create_inference_profile_checks_request_tags(srv):
    b = bedrock(srv, TAGGER)
    src = {"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA_LITE}"}
    code, status, msg = refused(lambda: b.create_inference_profile(inferenceProfileName="ml-profile", modelSource=src))
    arn = b.create_inference_profile(
        inferenceProfileName="ml-profile", modelSource=src, tags=[{"key": "team", "value": "ml"}])["inferenceProfileArn"]
    assert (code, status, msg) == (
        "AccessDeniedException", 403,
        "User: arn:aws:iam::255555555555:user/tagger is not authorized to perform: bedrock:CreateInferenceProfile "
        f"on resource: {arn} because no identity-based policy allows the bedrock:CreateInferenceProfile action",
    )


# ----------------------------------------------------------------------------------------------
# Invocation logging
# ----------------------------------------------------------------------------------------------


def test_logging_configuration_round_trip_with_cli(srv):
    # Nothing configured: `{}` on the wire, which the CLI prints as nothing.
    assert cli(srv, "bedrock", "get-model-invocation-logging-configuration", who=FRESH) == (0, "", "")
    assert body(bedrock(srv, FRESH).get_model_invocation_logging_configuration()) == {}
    config = {
        "cloudWatchConfig": {
            "logGroupName": "/bedrock/invocations",
            "roleArn": "arn:aws:iam::222222222222:role/BedrockLogging",
            "largeDataDeliveryS3Config": {"bucketName": "bedrock-large-data", "keyPrefix": "large/"},
        },
        "s3Config": {"bucketName": "bedrock-invocation-logs", "keyPrefix": "logs/"},
        "textDataDeliveryEnabled": True,
        "imageDataDeliveryEnabled": False,
        "embeddingDataDeliveryEnabled": True,
    }
    # Issue 13: the role must exist and trust bedrock.amazonaws.com (else AWS refuses it).
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    assert cli(srv, "iam", "create-role", "--role-name", "BedrockLogging", "--assume-role-policy-document",
               json.dumps(trust), who=FRESH)[0] == 0
    assert cli(srv, "bedrock", "put-model-invocation-logging-configuration",
               "--logging-config", json.dumps(config), who=FRESH) == (0, "", "")
    assert cli_json(srv, "bedrock", "get-model-invocation-logging-configuration", who=FRESH) == {"loggingConfig": config}
    # Per Region and per account.
    assert body(bedrock(srv, FRESH, region="us-west-2").get_model_invocation_logging_configuration()) == {}
    assert body(bedrock(srv, DEFAULT).get_model_invocation_logging_configuration()) == {}
    assert cli(srv, "bedrock", "delete-model-invocation-logging-configuration", who=FRESH) == (0, "", "")
    assert cli(srv, "bedrock", "get-model-invocation-logging-configuration", who=FRESH) == (0, "", "")
    rc, _, err = cli(srv, "bedrock", "put-model-invocation-logging-configuration", "--logging-config",
                     json.dumps({"cloudWatchConfig": {"logGroupName": "g", "roleArn": "arn:aws:iam::1:user/x"}}),
                     who=FRESH)
    assert rc == 255  # AWS CLI v1: a service error
    assert err.strip() == (
        "An error occurred (ValidationException) when calling the PutModelInvocationLoggingConfiguration "
        "operation: 1 validation error detected: Value 'arn:aws:iam::1:user/x' at "
        "'loggingConfig.cloudWatchConfig.roleArn' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"
    )


def test_serve_access_mode_flag_is_stored(tmp_path):
    """`serve --access-mode console` puts the default account in the seeds' console flow: a model
    never granted is refused; the access request (accepting the offer) grants it after the
    account's grant delay (0 here). The mode is stored: a restart without the flag keeps it;
    `--access-mode automatic` brings AWS's current behaviour back. A bad mode is refused at start."""
    state = tmp_path / "state.db"
    no_access = ("AccessDeniedException", 403, "You don't have access to the model with the specified model ID.")
    s = Server(state, extra=["--access-mode", "console"])
    try:
        assert refused(lambda: converse(runtime(s, DEFAULT), NOVA_LITE)) == no_access
        assert availability(s, DEFAULT, NOVA_LITE) == avail("AVAILABLE", "NOT_AVAILABLE", model=NOVA_LITE)
        b = bedrock(s, DEFAULT)
        token = b.list_foundation_model_agreement_offers(modelId=NOVA_LITE)["offers"][0]["offerToken"]
        b.create_foundation_model_agreement(modelId=NOVA_LITE, offerToken=token)
        assert converse(runtime(s, DEFAULT), NOVA_LITE)["stopReason"] == "end_turn"
        assert refused(lambda: converse(runtime(s, DEFAULT), "amazon.nova-pro-v1:0")) == no_access
    finally:
        s.kill9()
    s = Server(state)
    try:
        assert refused(lambda: converse(runtime(s, DEFAULT), "amazon.nova-pro-v1:0")) == no_access
        assert converse(runtime(s, DEFAULT), NOVA_LITE)["stopReason"] == "end_turn"
    finally:
        s.stop()
    s = Server(state, extra=["--access-mode", "automatic"])
    try:
        assert converse(runtime(s, DEFAULT), "amazon.nova-pro-v1:0")["stopReason"] == "end_turn"
    finally:
        s.stop()
    p = subprocess.run([BIN, "serve", "--port", "0", "--state", ":memory:", "--access-mode", "consol"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "invalid value 'consol' for '--access-mode <ACCESS_MODE>'" in p.stderr, p.stderr
