"""Issue 6, the doctor matrix: for the scenarios that test_faces.py does not run the doctor on
(wrong Region, wrong account, cross-Region destination denied, the two-lost-days case study) and
for scenarios with two shut gates at once (scenarios/two-gates-*.toml), start `serve`, run
`bedrock-gates doctor --json` against it, assert exactly the shut gates, the exit code of the
first one in gate order and the fix it prints; then apply each fix with the real AWS CLI (or, for
"use another Region / other keys", re-run with them) until the doctor exits 0 with every gate open.
"""

import json
import re

import pytest

from conftest import Server
from test_faces import CODES, SCENARIOS, doctor, shut, status
from test_faces import aws_cli as apply
from test_faces import run_cli as cli

ALL_OPEN = {g: "open" for g in CODES}
GATE = {g: i for i, g in enumerate(CODES)}


@pytest.fixture
def serve(tmp_path):
    """Start serve with scenarios/NAME (plus `extra` TOML appended, in a copy) on a fresh state."""
    started = []

    def start(name, extra=""):
        path = SCENARIOS / name
        if extra:
            path = tmp_path / name
            path.write_text((SCENARIOS / name).read_text() + extra)
        s = Server(tmp_path / (name + ".db"), path)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def command_of(fix):
    """The command a fix prints after "Command: "."""
    assert fix and "Command: " in fix, fix
    return fix.split("Command: ", 1)[1]


def expect_shut(rc, report, gates):
    """Exactly `gates` are shut, each with a fix; the exit code and the verdict are the first one's."""
    assert shut(report) == gates, json.dumps(report, indent=1)
    assert gates == sorted(gates, key=GATE.get)
    assert rc == report["exit_code"] == CODES[gates[0]], report
    assert report["verdict"].startswith(f"shut: {gates[0]}. "), report["verdict"]
    for g in report["gates"]:
        if g["status"] == "shut":
            assert g["fix"], g


def expect_green(rc, report):
    assert rc == 0, json.dumps(report, indent=1)
    assert status(report) == ALL_OPEN
    assert report["exit_code"] == 0 and report["call"]["status"] == "succeeded"
    assert report["verdict"].startswith("all gates open: ")
    assert all(g["fix"] is None for g in report["gates"])


def gate(report, name):
    return report["gates"][GATE[name]]


# ---------------------------------------------------------------------------------------------
# the scenarios test_faces.py does not run the doctor on
# ---------------------------------------------------------------------------------------------

WRONG_REGION = ("AKIAWRONGREGION00001", "wrong-region-secret")


def test_wrong_region_image_model(serve, tmp_path):
    s = serve("wrong-region.toml")
    model = "amazon.nova-canvas-v1:0"
    rc, r = doctor(s, *WRONG_REGION, model, region="us-west-2")
    expect_shut(rc, r, ["region"])
    g = gate(r, "region")
    assert g["evidence"].startswith(
        "GetFoundationModel in us-west-2: ValidationException: The provided model identifier is invalid.")
    assert g["fix"] == ("sign the request for a Region that offers amazon.nova-canvas-v1:0: "
                        "us-east-1, ap-northeast-1, eu-west-1")
    # the real AWS CLI gets AWS's refusal in us-west-2 ...
    (tmp_path / "body.json").write_text(json.dumps(
        {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a cat"},
         "imageGenerationConfig": {"numberOfImages": 1, "width": 320, "height": 320}}))
    invoke = f"aws bedrock-runtime invoke-model --model-id {model} --body fileb://body.json out.json"
    rc, out, err = cli(s, *WRONG_REGION, invoke, tmp_path, region="us-west-2")
    assert rc != 0 and "(ValidationException)" in err and "The provided model identifier is invalid." in err
    # ... the fix: AWS_REGION = the first Region the fix names
    fixed = g["fix"].split(": ", 1)[1].split(", ")[0]
    assert fixed == "us-east-1"
    rc, r = doctor(s, *WRONG_REGION, model, region=fixed)
    # an image model is not called, so the doctor finds nothing shut but never claims "open"
    assert rc == 20 and shut(r) == [], r
    assert status(r)["region"] == "open" and r["call"]["status"] == "skipped"
    assert "not proven open" in r["verdict"]
    # the same InvokeModel with the real AWS CLI in that Region passes every gate: what refuses it
    # now is serve's scripted backend, which draws no images (AWS would answer with an image)
    rc, out, err = cli(s, *WRONG_REGION, invoke, tmp_path, region=fixed)
    assert rc != 0 and "The provided model identifier is invalid." not in err
    assert "Image generation models (Amazon Nova Canvas) are not supported by the bedrock-gates scripted " \
           "backend" in err, err


def test_wrong_region_text_model_then_green(serve):
    s = serve("wrong-region.toml")
    model = "amazon.nova-micro-v1:0"  # on demand in us-east-1, not offered at all in ca-central-1
    rc, r = doctor(s, *WRONG_REGION, model, region="ca-central-1")
    expect_shut(rc, r, ["region"])
    g = gate(r, "region")
    assert "The provided model identifier is invalid" in g["evidence"]
    assert "Regions that offer it: us-east-1" in g["fix"], g["fix"]
    assert status(r)["iam"] == "unknown"  # the ARNs are not known in a Region without the model
    # the fix with --region (AWS_REGION still says ca-central-1; the doctor notes it)
    rc, r = doctor(s, *WRONG_REGION, model, "--region", "us-east-1", region="ca-central-1")
    expect_green(rc, r)
    assert r["region"] == "us-east-1"
    assert "programs that do not set a Region call ca-central-1" in gate(r, "region")["evidence"]


def test_wrong_account_then_the_right_keys(serve, tmp_path):
    s = serve("wrong-account.toml")
    wrong = ("AKIAWRONGACCOUNT0001", "wrong-account-secret")
    right = ("AKIARIGHTACCOUNT0001", "right-account-secret")
    model = "amazon.nova-lite-v1:0"
    rc, r = doctor(s, *wrong, model)
    expect_shut(rc, r, ["iam"])
    assert r["caller"] == "arn:aws:iam::131313131313:user/dev"
    assert gate(r, "credentials")["evidence"] == (
        "sts:GetCallerIdentity: arn:aws:iam::131313131313:user/dev (account 131313131313).")
    g = gate(r, "iam")
    assert g["evidence"].startswith("The real Converse call was refused: AccessDeniedException: User: "
                                    "arn:aws:iam::131313131313:user/dev is not authorized to perform: "
                                    "bedrock:InvokeModel")
    assert ("The credentials in use are account 131313131313's (sts:GetCallerIdentity): if the policies meant "
            "to allow this call are in another account, use that account's credentials") in g["evidence"]
    # the user may not simulate or read availability: those gates stay unknown, never guessed
    assert [status(r)[x] for x in ("model-access", "provider-terms", "quota")] == ["unknown"] * 3
    # the real AWS CLI shows whose keys these are; the fix is the other account's keys
    who = "aws sts get-caller-identity --query Account --output text"
    assert apply(s, *wrong, who, tmp_path).strip() == "131313131313"
    assert apply(s, *right, who, tmp_path).strip() == "141414141414"
    rc, r = doctor(s, *right, model)
    expect_green(rc, r)
    assert r["caller"] == "arn:aws:iam::141414141414:user/dev"


CRIS_PROFILE = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
# The scenario has no key that may change IAM; the test adds the account's root key to apply fixes.
CRIS_ROOT = ("AKIAROOTCRIS00000001", "root-cris-secret")
CRIS_ROOT_TOML = f"""
[[access_key]]
account = "151515151515"
id = "{CRIS_ROOT[0]}"
secret = "{CRIS_ROOT[1]}"
"""


def test_cris_destination_denied_then_the_whole_policy(serve, tmp_path):
    s = serve("cris-destination-denied.toml", CRIS_ROOT_TOML)
    dev = ("AKIACRISDENIED000001", "cris-denied-secret")
    rc, r = doctor(s, *dev, CRIS_PROFILE)
    expect_shut(rc, r, ["iam"])
    g = gate(r, "iam")
    assert ("is not authorized to perform: bedrock:InvokeModel on resource: "
            "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0") in g["evidence"]
    # the fix allows every ARN the call needs, not only the first destination refused
    assert g["fix"].startswith("Attach an identity policy that allows bedrock:InvokeModel on all 4 ARN(s) the "
                               "call needs (the inference profile and the model in every destination Region)")
    cmd = command_of(g["fix"])
    assert cmd.startswith("aws iam put-user-policy --user-name dev --policy-name bedrock-gates-invoke "
                          "--policy-document '")
    doc = json.loads(cmd.split("--policy-document '", 1)[1].rstrip("'"))
    arns = {a for st in doc["Statement"] for a in ([st["Resource"]] if isinstance(st["Resource"], str)
                                                    else st["Resource"])}
    assert {f"arn:aws:bedrock:{r}::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0"
            for r in ("us-east-1", "us-east-2", "us-west-2")} <= arns
    assert f"arn:aws:bedrock:us-east-1:151515151515:inference-profile/{CRIS_PROFILE}" in arns
    # the header's fix: user `fixed` has such a policy
    expect_green(*doctor(s, "AKIACRISFIXED0000001", "cris-fixed-secret", CRIS_PROFILE))
    # apply the printed command once, with the real AWS CLI and the root key: green
    apply(s, *CRIS_ROOT, cmd, tmp_path)
    expect_green(*doctor(s, *dev, CRIS_PROFILE))


def test_case_study_two_lost_days(serve, tmp_path):
    s = serve("case-study-two-lost-days.toml")
    key = ("AKIATWOLOSTDAYS00001", "two-lost-days-secret")
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    rc, r = doctor(s, *key, model)
    # Claude 3 Haiku is offered in us-east-1, so the Region gate itself is open there: what is shut
    # in us-east-1 is model access (granted only in us-west-2, in the console)
    expect_shut(rc, r, ["model-access"])
    assert status(r)["region"] == "open"
    g = gate(r, "model-access")
    assert g["evidence"].startswith("The real Converse call was refused: AccessDeniedException: "
                                    "You don't have access to the model with the specified model ID.")
    assert "entitlement NOT_AVAILABLE" in g["evidence"]
    assert ("aws bedrock create-foundation-model-agreement --model-id anthropic.claude-3-haiku-20240307-v1:0 "
            "--offer-token <token> --region us-east-1") in g["fix"]
    assert "make sure the Region is the one you meant" in g["fix"]
    # way out 1: the Region where access was granted
    expect_green(*doctor(s, *key, model, region="us-west-2"))
    # way out 2: request access in us-east-1 with the real AWS CLI, as the fix says
    token = apply(s, *key, f"aws bedrock list-foundation-model-agreement-offers --model-id {model} --region us-east-1 "
                           "--query 'offers[0].offerToken' --output text", tmp_path).strip()
    assert token
    apply(s, *key, f"aws bedrock create-foundation-model-agreement --model-id {model} --offer-token {token} "
                   "--region us-east-1", tmp_path)
    expect_green(*doctor(s, *key, model))


# ---------------------------------------------------------------------------------------------
# two shut gates at once
# ---------------------------------------------------------------------------------------------

def put_policy_fix(report, user):
    g = gate(report, "iam")
    assert "implicitDeny" in g["evidence"]
    cmd = command_of(g["fix"])
    assert cmd.startswith(f"aws iam put-user-policy --user-name {user} --policy-name bedrock-gates-invoke "
                          "--policy-document '"), cmd
    return cmd


FORM = "aws bedrock put-use-case-for-model-access --region us-east-1 --form-data fileb://use-case.json"


def test_two_gates_iam_and_form(serve, tmp_path):
    s = serve("two-gates-iam-and-form.toml")
    key = ("AKIATWOGATESFORM0001", "iam-form-secret")
    root = ("AKIAROOTTWOGATESFORM", "root-iam-form-secret")
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    rc, r = doctor(s, *key, model)
    expect_shut(rc, r, ["iam", "model-access"])
    iam_fix = put_policy_fix(r, "reader")
    ma = gate(r, "model-access")
    assert "GetUseCaseForModelAccess: ResourceNotFoundException: Model use case details have not been submitted" \
        in ma["evidence"]
    assert command_of(ma["fix"]).startswith("cat > use-case.json <<'EOF'")
    assert command_of(ma["fix"]).endswith(FORM)
    # the probes alone see both gates
    rc, r = doctor(s, *key, model, "--no-invoke")
    expect_shut(rc, r, ["iam", "model-access"])
    # a model that needs no form: IAM only
    rc, r = doctor(s, *key, "amazon.nova-lite-v1:0")
    expect_shut(rc, r, ["iam"])
    # fix 1, the IAM command as printed, with the root key: only the form is left
    apply(s, *root, iam_fix, tmp_path)
    rc, r = doctor(s, *key, model)
    expect_shut(rc, r, ["model-access"])
    assert status(r)["iam"] == "open"
    assert r["call"]["error"].startswith("ResourceNotFoundException: Model use case details have not been submitted")
    # fix 2, the form as printed (account-wide; the root key may submit it): green
    apply(s, *root, command_of(gate(r, "model-access")["fix"]), tmp_path)
    expect_green(*doctor(s, *key, model))


def test_two_gates_region_and_form(serve, tmp_path):
    s = serve("two-gates-region-and-form.toml")
    key = ("AKIATWOGATESREGION01", "region-form-secret")
    model = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    rc, r = doctor(s, *key, model)
    expect_shut(rc, r, ["region", "model-access"])
    # IAM cannot be simulated for an identifier that does not resolve here: unknown, not guessed
    assert status(r)["iam"] == "unknown"
    region_cmd = command_of(gate(r, "region")["fix"])
    assert region_cmd.startswith("aws bedrock-runtime converse --region us-east-1 --model-id "
                                 "global.anthropic.claude-sonnet-4-5-20250929-v1:0 "), region_cmd
    assert command_of(gate(r, "model-access")["fix"]).endswith(FORM)
    # fix 1 with the real AWS CLI: the profile gets past the Region gate, and stops at the form
    rc, out, err = cli(s, *key, region_cmd, tmp_path)
    assert rc != 0 and "(ResourceNotFoundException)" in err and "Model use case details have not been submitted" in err
    profile = re.search(r"--model-id (\S+)", region_cmd).group(1)
    rc, r = doctor(s, *key, profile)
    expect_shut(rc, r, ["model-access"])
    assert status(r)["region"] == "open" and status(r)["iam"] == "open"
    # fix 2, the form as printed: green, and the converse command of fix 1 now answers
    apply(s, *key, command_of(gate(r, "model-access")["fix"]), tmp_path)
    expect_green(*doctor(s, *key, profile))
    assert json.loads(apply(s, *key, region_cmd, tmp_path))["stopReason"] in ("end_turn", "max_tokens")


def test_two_gates_iam_and_provider_terms(serve, tmp_path):
    s = serve("two-gates-iam-and-terms.toml")
    key = ("AKIATWOGATESTERMS001", "iam-terms-secret")
    root = ("AKIAROOTTWOGATESTERM", "root-iam-terms-secret")
    model = "cohere.command-r-v1:0"
    rc, r = doctor(s, *key, model)
    expect_shut(rc, r, ["iam", "provider-terms"])
    assert status(r)["model-access"] == "open"
    iam_fix = put_policy_fix(r, "reader")
    terms = gate(r, "provider-terms")
    assert "agreementAvailability NOT_AVAILABLE while the model is entitled" in terms["evidence"]
    assert terms["fix"].startswith(f"aws bedrock create-foundation-model-agreement --model-id {model} --offer-token ")
    # fix 1: only the provider's terms are left (AWS's shared sentence, refined by the probe)
    apply(s, *root, iam_fix, tmp_path)
    rc, r = doctor(s, *key, model)
    expect_shut(rc, r, ["provider-terms"])
    assert r["call"]["error"] == "AccessDeniedException: You don't have access to the model with the specified model ID."
    # fix 2, the agreement command as printed: green
    apply(s, *root, gate(r, "provider-terms")["fix"], tmp_path)
    expect_green(*doctor(s, *key, model))


def test_two_gates_iam_and_model_access(serve, tmp_path):
    s = serve("two-gates-iam-and-access.toml")
    key = ("AKIATWOGATESACCESS01", "iam-access-secret")
    root = ("AKIAROOTTWOGATESACCS", "root-iam-access-secret")
    model = "amazon.nova-pro-v1:0"
    rc, r = doctor(s, *key, model)
    expect_shut(rc, r, ["iam", "model-access"])
    assert status(r)["provider-terms"] == "open"
    iam_fix = put_policy_fix(r, "reader")
    ma = gate(r, "model-access")
    assert "The account is not entitled to amazon.nova-pro-v1:0 in us-east-1." in ma["evidence"]
    prefix = "request access: "
    assert ma["fix"].startswith(prefix)
    offers, create = ma["fix"][len(prefix):].split(", then ")
    assert offers == f"aws bedrock list-foundation-model-agreement-offers --model-id {model} --region us-east-1"
    assert create == (f"aws bedrock create-foundation-model-agreement --model-id {model} --offer-token <token> "
                      "--region us-east-1")
    # fix 1: only model access is left
    apply(s, *root, iam_fix, tmp_path)
    rc, r = doctor(s, *key, model)
    expect_shut(rc, r, ["model-access"])
    assert r["call"]["error"] == "AccessDeniedException: You don't have access to the model with the specified model ID."
    # fix 2, the two commands as printed, the token of the first one into the second: green
    token = apply(s, *root, offers + " --query 'offers[0].offerToken' --output text", tmp_path).strip()
    assert token
    apply(s, *root, create.replace("<token>", token), tmp_path)
    expect_green(*doctor(s, *key, model))
