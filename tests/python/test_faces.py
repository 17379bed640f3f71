"""Issue 6, the faces: `doctor` against `serve` for each scenario in scenarios/ (the shut gate, its exit
code, the fix applied with the real AWS CLI turning doctor green), `explain` on the server's own
refusals (the same gate as the server's diagnosis), and `policy generate` output loaded into
`serve` letting exactly the named models through."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BIN, VENV_BIN, Server, client_for

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
HI = [{"role": "user", "content": [{"text": "hi"}]}]
CODES = {"credentials": 10, "region": 11, "iam": 12, "model-access": 13, "provider-terms": 14, "quota": 15}


def clean_env(key, secret, region="us-east-1", token=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=region,
               AWS_DEFAULT_REGION=region, NO_COLOR="1",
               # no shared config or credentials files of the machine running the tests
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def doctor(server, key, secret, model, *extra, region="us-east-1", token=None):
    p = subprocess.run([BIN, "doctor", "--endpoint-url", server.url, "--model", model, "--json", *extra],
                       capture_output=True, text=True, timeout=60, env=clean_env(key, secret, region, token))
    assert p.stdout, p.stderr
    return p.returncode, json.loads(p.stdout)


def explain(text):
    p = subprocess.run([BIN, "explain", "--json", "-"], input=text, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def status(report):
    return {g["gate"]: g["status"] for g in report["gates"]}


def shut(report):
    return [g["gate"] for g in report["gates"] if g["status"] == "shut"]


def runtime(server, key, secret, region="us-east-1", token=None):
    return client_for("bedrock-runtime", server, key, secret, token, region)


def refusal(fn):
    """The error as people paste it: boto3's rendering of the ClientError."""
    with pytest.raises(ClientError) as ei:
        fn()
    return str(ei.value)


def audit(server):
    with urllib.request.urlopen(server.admin_request("/_bedrock-gates/audit")) as r:
        return json.loads(r.read())["records"]


def run_cli(server, key, secret, command, cwd, region="us-east-1"):
    """Run a command exactly as printed, through bash, with the venv's AWS CLI pointed at serve,
    in `cwd` (fixes write files such as use-case.json). Returns (returncode, stdout, stderr)."""
    env = clean_env(key, secret, region)
    env["AWS_ENDPOINT_URL"] = server.url
    env["PATH"] = f"{VENV_BIN}:{os.environ.get('PATH', '')}"
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", command], capture_output=True, text=True,
                       timeout=60, env=env, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def aws_cli(server, key, secret, command, cwd, region="us-east-1"):
    """run_cli that must succeed; returns stdout."""
    rc, out, err = run_cli(server, key, secret, command, cwd, region)
    assert rc == 0, (command, out, err)
    return out


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    started = {}

    def get(name):
        if name not in started:
            started[name] = Server(tmp_path_factory.mktemp(name.replace(".", "-")) / "state.db", SCENARIOS / name)
        return started[name]

    yield get
    for s in started.values():
        s.stop()


# ---------------------------------------------------------------------------------------------
# doctor, scenario by scenario
# ---------------------------------------------------------------------------------------------

SANDBOX = ("AKIAOPENSANDBOX00001", "open-sandbox-secret")


@pytest.mark.parametrize("model", [
    "amazon.nova-lite-v1:0",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "cohere.command-r-v1:0",
    "amazon.titan-embed-text-v2:0",
])
def test_open_sandbox_is_green(servers, model):
    rc, r = doctor(servers("open-sandbox.toml"), *SANDBOX, model)
    assert rc == 0, r
    assert [g["gate"] for g in r["gates"]] == list(CODES)
    assert set(status(r).values()) == {"open"}
    assert r["verdict"].startswith("all gates open")
    for g in r["gates"]:
        assert set(g) == {"gate", "status", "evidence", "fix"} and g["fix"] is None
    assert r["caller"] == "arn:aws:iam::111111111111:user/dev"


def test_open_sandbox_probes_before_the_call(servers):
    rc, r = doctor(servers("open-sandbox.toml"), *SANDBOX, "us.amazon.nova-lite-v1:0", "--no-invoke")
    # every probe open, but without the call the verdict is not "open"
    assert rc == 20
    assert status(r) == {"credentials": "open", "region": "open", "iam": "open", "model-access": "open",
                         "provider-terms": "open", "quota": "unknown"}
    assert "allowed on all 4 ARN(s)" in r["gates"][2]["evidence"]
    assert "not proven open" in r["verdict"]
    assert r["call"] == {"status": "skipped", "reason": "--no-invoke"}


def test_credentials_wrong_secret(servers):
    s = servers("open-sandbox.toml")
    rc, r = doctor(s, SANDBOX[0], "wrong-secret", "amazon.nova-lite-v1:0")
    assert rc == 10 and shut(r) == ["credentials"]
    assert status(r)["region"] == "unknown"
    text = refusal(lambda: runtime(s, SANDBOX[0], "wrong-secret").converse(modelId="amazon.nova-lite-v1:0", messages=HI))
    assert explain(text)["gate"] == "credentials"


def test_credentials_expired_session(servers):
    s = servers("open-sandbox.toml")
    rc, r = doctor(s, "ASIAEXPIREDSESSION01", "expired-session-secret", "amazon.nova-lite-v1:0",
                   token="expired-session-token")
    assert rc == 10 and shut(r) == ["credentials"]
    assert "expired" in r["gates"][0]["evidence"]
    text = refusal(lambda: runtime(s, "ASIAEXPIREDSESSION01", "expired-session-secret",
                                   token="expired-session-token").converse(modelId="amazon.nova-lite-v1:0", messages=HI))
    e = explain(text)
    assert e["gate"] == "credentials" and "expired" in e["cause"]


def test_region_model_not_offered(servers):
    s = servers("open-sandbox.toml")
    model = "amazon.nova-micro-v1:0"  # on demand in us-east-1, not offered in ca-central-1
    rc, r = doctor(s, *SANDBOX, model, "--region", "ca-central-1")
    assert rc == 11 and shut(r) == ["region"], r
    g = r["gates"][1]
    assert "The provided model identifier is invalid" in g["evidence"]
    assert "Regions that offer it: us-east-1" in g["fix"]
    text = refusal(lambda: runtime(s, *SANDBOX, region="ca-central-1").converse(modelId=model, messages=HI))
    e = explain(text)
    assert e["gate"] == "region"


def test_region_profile_only_model_by_bare_id(servers):
    s = servers("open-sandbox.toml")
    model = "anthropic.claude-3-7-sonnet-20250219-v1:0"
    rc, r = doctor(s, *SANDBOX, model)
    assert rc == 11 and shut(r) == ["region"]
    assert "us.anthropic.claude-3-7-sonnet-20250219-v1:0" in r["gates"][1]["fix"]
    text = refusal(lambda: runtime(s, *SANDBOX).converse(modelId=model, messages=HI))
    e = explain(text)
    assert e["gate"] == "region"
    assert e["command"].startswith("aws bedrock-runtime converse --region <region> --model-id us.anthropic.claude-3-7")
    # the profile works (and the doctor says so)
    assert doctor(s, *SANDBOX, "us." + model)[0] == 0


def test_iam_lacks_the_action_then_the_fix_turns_it_green(servers, tmp_path):
    s = servers("iam-missing-action.toml")
    key = ("AKIAREADERONLY000001", "reader-secret")
    rc, r = doctor(s, *key, "amazon.nova-lite-v1:0")
    assert rc == 12 and shut(r) == ["iam"]
    g = r["gates"][2]
    assert "SimulatePrincipalPolicy for arn:aws:iam::111111111111:user/reader" in g["evidence"]
    assert "implicitDeny" in g["evidence"]
    text = refusal(lambda: runtime(s, *key).converse(modelId="amazon.nova-lite-v1:0", messages=HI))
    e = explain(text)
    assert e["gate"] == "iam"
    assert e["facts"]["principal"] == "arn:aws:iam::111111111111:user/reader"
    assert e["facts"]["policy_type"] == "identity"
    assert e["command"].startswith("aws iam put-user-policy --user-name reader ")
    # apply explain's command as printed, with the account's root key, then doctor is green
    aws_cli(s, "AKIAROOTREADER000001", "root-reader-secret", e["command"], tmp_path)
    rc, r = doctor(s, *key, "amazon.nova-lite-v1:0")
    assert rc == 0, r
    # the policy names that one model: another one is still refused
    rc, r = doctor(s, *key, "amazon.nova-pro-v1:0")
    assert rc == 12 and shut(r) == ["iam"]


def test_iam_permissions_boundary(servers):
    s = servers("iam-missing-action.toml")
    rc, r = doctor(s, "AKIABOUNDED000000001", "bounded-secret", "amazon.nova-lite-v1:0")
    assert rc == 12 and shut(r) == ["iam"]
    assert "permissions boundary" in r["verdict"]
    text = refusal(lambda: runtime(s, "AKIABOUNDED000000001", "bounded-secret").converse(
        modelId="amazon.nova-lite-v1:0", messages=HI))
    e = explain(text)
    assert e["gate"] == "iam" and e["facts"]["policy_type"] == "boundary"


def test_anthropic_form_missing_then_submitted(servers, tmp_path):
    s = servers("anthropic-form-missing.toml")
    key = ("AKIANOFORM0000000001", "noform-secret")
    model = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    rc, r = doctor(s, *key, model)
    assert rc == 13 and shut(r) == ["model-access"]
    assert "GetUseCaseForModelAccess" in r["gates"][3]["evidence"]
    # Nova needs no form: green in the same account
    assert doctor(s, *key, "amazon.nova-lite-v1:0")[0] == 0
    text = refusal(lambda: runtime(s, *key).converse(modelId=model, messages=HI))
    e = explain(text)
    assert e["gate"] == "model-access"
    aws_cli(s, *key, e["command"], tmp_path)
    rc, r = doctor(s, *key, model)
    assert rc == 0, r


def test_scp_restricts_regions(servers):
    s = servers("scp-restricts-regions.toml")
    key = ("AKIASCPDEV0000000001", "scp-dev-secret")
    rc, r = doctor(s, *key, "us.amazon.nova-lite-v1:0")
    assert rc == 12 and shut(r) == ["iam"]
    g = r["gates"][2]
    assert "explicitDeny" in g["evidence"] and "us-east-2" in g["evidence"]
    assert "p-regionsonly" in g["fix"]
    # in-Region in an allowed Region works
    assert doctor(s, *key, "amazon.nova-lite-v1:0")[0] == 0
    text = refusal(lambda: runtime(s, *key).converse(modelId="us.amazon.nova-lite-v1:0", messages=HI))
    e = explain(text)
    assert e["gate"] == "iam"
    assert e["facts"]["policy_type"] == "scp" and e["facts"]["region"] == "us-east-2"


def test_throttled(servers):
    s = servers("throttled.toml")
    rc, r = doctor(s, "test", "test", "amazon.nova-lite-v1:0")
    assert rc == 15 and shut(r) == ["quota"]
    assert r["gates"][5]["fix"].startswith("Retry with exponential backoff")
    text = refusal(lambda: runtime(s, "test", "test").converse(modelId="amazon.nova-lite-v1:0", messages=HI))
    assert explain(text)["gate"] == "quota"
    # tokens per minute
    rc, r = doctor(s, "test", "test", "amazon.nova-pro-v1:0")
    assert rc == 15 and shut(r) == ["quota"]


def test_marketplace_permission_missing_then_granted(servers, tmp_path):
    s = servers("marketplace-no-permission.toml")
    key = ("AKIANOMARKETPLACE001", "nomarket-secret")
    model = "cohere.command-r-v1:0"
    rc, r = doctor(s, *key, model, "--no-invoke")
    # the probes alone find it: not entitled yet, and the caller may not subscribe
    assert rc == 13 and shut(r) == ["model-access"]
    rc, r = doctor(s, *key, model)
    assert rc == 13 and shut(r) == ["model-access"]
    text = refusal(lambda: runtime(s, *key).converse(modelId=model, messages=HI))
    e = explain(text)
    assert e["gate"] == "model-access"
    # grant the Marketplace actions with the root key, wait AWS's 5 minutes on the gate clock
    aws_cli(s, "AKIAROOTMARKETPLACE1", "root-market-secret",
            e["command"].replace("--role-name <role-name>", "--user-name dev").replace("put-role-policy", "put-user-policy"),
            tmp_path)
    urllib.request.urlopen(s.admin_request("/_bedrock-gates/clock?advance=301", "POST")).read()
    rc, r = doctor(s, *key, model)
    assert rc == 0, r


def test_provider_terms_in_console_mode(servers, tmp_path):
    s = servers("console-eula-not-accepted.toml")
    key = ("AKIACONSOLEMODE00001", "console-secret")
    rc, r = doctor(s, *key, "cohere.command-r-v1:0")
    assert rc == 14 and shut(r) == ["provider-terms"], r
    assert status(r)["model-access"] == "open"
    # AWS says the same sentence for both gates; explain alone cannot tell them apart and names
    # model access, the doctor's availability probe refines it
    text = refusal(lambda: runtime(s, *key).converse(modelId="cohere.command-r-v1:0", messages=HI))
    assert "You don't have access to the model with the specified model ID." in text
    assert explain(text)["gate"] == "model-access"
    # never granted at all: model access
    rc, r = doctor(s, *key, "amazon.nova-pro-v1:0")
    assert rc == 13 and shut(r) == ["model-access"]
    # accept the offer with the command the doctor printed, then green
    rc, r = doctor(s, *key, "cohere.command-r-v1:0", "--no-invoke")
    fix = r["gates"][4]["fix"]
    assert fix.startswith("aws bedrock create-foundation-model-agreement")
    aws_cli(s, *key, fix, tmp_path)
    rc, r = doctor(s, *key, "cohere.command-r-v1:0")
    assert rc == 0, r


def test_explain_agrees_with_the_servers_own_diagnosis(servers):
    """Every refusal the scenarios above produced, from the server's audit log: explain names the
    gate the server diagnosed (except AWS's one shared sentence for model access and provider
    terms, which explain names model access)."""
    # one refused call per scenario, so that the test stands on its own
    cases = [
        ("open-sandbox.toml", SANDBOX, "anthropic.claude-3-7-sonnet-20250219-v1:0", "us-east-1"),
        ("open-sandbox.toml", (SANDBOX[0], "wrong"), "amazon.nova-lite-v1:0", "us-east-1"),
        ("open-sandbox.toml", SANDBOX, "amazon.nova-micro-v1:0", "ca-central-1"),
        ("iam-missing-action.toml", ("AKIABOUNDED000000001", "bounded-secret"), "amazon.nova-lite-v1:0", "us-east-1"),
        ("anthropic-form-missing.toml", ("AKIANOFORM0000000001", "noform-secret"),
         "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "us-east-1"),
        ("scp-restricts-regions.toml", ("AKIASCPDEV0000000001", "scp-dev-secret"), "us.amazon.nova-pro-v1:0", "us-east-1"),
        ("throttled.toml", ("test", "test"), "amazon.nova-lite-v1:0", "us-east-1"),
        ("marketplace-no-permission.toml", ("AKIANOMARKETPLACE001", "nomarket-secret"), "cohere.command-r-plus-v1:0", "us-east-1"),
        ("console-eula-not-accepted.toml", ("AKIACONSOLEMODE00001", "console-secret"), "amazon.nova-lite-v1:0", "us-east-1"),
    ]
    refused = 0
    for name, (key, secret), model, region in cases:
        try:  # (some are open by now when the fix tests above ran first)
            runtime(servers(name), key, secret, region=region).converse(modelId=model, messages=HI)
        except ClientError:
            refused += 1
    checked = 0
    for name in sorted({c[0] for c in cases}):
        for rec in audit(servers(name)):
            if not rec.get("gate"):
                continue
            text = f"An error occurred ({rec['error']}) when calling the {rec['operation']} operation: {rec['message']}"
            got = explain(text)["gate"]
            want = rec["gate"]
            if want == "provider-terms" and rec["message"] == "You don't have access to the model with the specified model ID.":
                want = "model-access"
            assert got == want, (name, rec)
            checked += 1
    assert refused >= 6 and checked >= refused


def test_explain_nonsense_is_unknown():
    for t in ["hello", "Traceback (most recent call last):\n  ZeroDivisionError: division by zero", ""]:
        assert explain(t)["gate"] == "unknown"


def test_explain_human_output_has_no_colour_when_piped():
    p = subprocess.run([BIN, "explain", "An error occurred (ThrottlingException) when calling the Converse "
                        "operation: Too many tokens, please wait before trying again."],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    assert p.stdout.startswith("gate      quota\n") and "\x1b[" not in p.stdout


# ---------------------------------------------------------------------------------------------
# policy generate, loaded into serve
# ---------------------------------------------------------------------------------------------

NAMED = ["amazon.nova-lite-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0", "cohere.command-r-v1:0"]


def generate(*args):
    p = subprocess.run([BIN, "policy", "generate", *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def test_generated_policy_lets_exactly_the_named_models_through(tmp_path):
    rc, out, err = generate("--model", *NAMED, "--region", "us-east-1", "--profile-prefix", "us", "global",
                            "--streaming", "--account", "666666666666")
    assert rc == 0, err
    policy = json.loads(out)
    assert "'''" not in out
    scenario = tmp_path / "generated.toml"
    scenario.write_text(f"""
[[account]]
id = "666666666666"
use_case_form = true

[[user]]
account = "666666666666"
name = "app"
inline = {{ Generated = '''{out.strip()}''' }}

[[access_key]]
account = "666666666666"
user = "app"
id = "AKIAGENERATED0000001"
secret = "generated-secret"
""")
    s = Server(tmp_path / "state.db", scenario)
    try:
        c = runtime(s, "AKIAGENERATED0000001", "generated-secret")
        allowed = [
            "amazon.nova-lite-v1:0",
            "us.amazon.nova-lite-v1:0",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "cohere.command-r-v1:0",
        ]
        for m in allowed:
            r = c.converse(modelId=m, messages=HI, inferenceConfig={"maxTokens": 5})
            assert r["stopReason"] in ("end_turn", "max_tokens"), m
        # streaming too
        events = list(c.converse_stream(modelId="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                                        messages=HI)["stream"])
        assert any("messageStop" in e for e in events)
        # anything not named is refused by IAM
        for m in ["amazon.nova-pro-v1:0", "us.amazon.nova-pro-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                  "global.anthropic.claude-haiku-4-5-20251001-v1:0", "cohere.command-r-plus-v1:0"]:
            with pytest.raises(ClientError) as ei:
                c.converse(modelId=m, messages=HI)
            assert ei.value.response["Error"]["Code"] == "AccessDeniedException", m
            assert "is not authorized to perform: bedrock:InvokeModel" in ei.value.response["Error"]["Message"]
        # a named model in a Region that was not named (Command R is on demand in us-west-2 too)
        c2 = runtime(s, "AKIAGENERATED0000001", "generated-secret", region="us-west-2")
        with pytest.raises(ClientError) as ei:
            c2.converse(modelId="cohere.command-r-v1:0", messages=HI)
        assert ei.value.response["Error"]["Code"] == "AccessDeniedException"
        # the doctor agrees
        rc, r = doctor(s, "AKIAGENERATED0000001", "generated-secret", "us.amazon.nova-lite-v1:0")
        assert rc == 0, r
    finally:
        s.stop()
    sids = [st["Sid"] for st in policy["Statement"]]
    assert sids == ["InvokeModelsInRegion", "InvokeInferenceProfiles", "InvokeModelsThroughProfiles",
                    "InvokeModelsThroughGlobalProfiles", "MarketplaceSubscribeOnFirstUse"]


def test_generate_refuses_a_region_that_does_not_offer_the_model():
    rc, out, err = generate("--model", "amazon.nova-canvas-v1:0", "--region", "us-west-2")
    assert rc == 1 and out == ""
    assert err.strip() == ("bedrock-gates policy generate: amazon.nova-canvas-v1:0 is not offered in us-west-2. "
                           "Regions that offer it: us-east-1, ap-northeast-1, eu-west-1")


def test_generate_with_scp():
    rc, out, err = generate("--model", "amazon.nova-lite-v1:0", "--region", "us-east-1", "--scp")
    assert rc == 0, err
    both = json.loads(out)
    assert set(both) == {"IdentityPolicy", "ServiceControlPolicy"}
    deny = both["ServiceControlPolicy"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Action"] == "bedrock:InvokeModel*"
    assert deny["NotResource"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"


# ---------------------------------------------------------------------------------------------
# policy check
# ---------------------------------------------------------------------------------------------

def test_policy_check_agrees_with_serve(tmp_path, servers):
    rc, out, _ = generate("--model", "amazon.nova-lite-v1:0", "--region", "us-east-1", "--profile-prefix", "us")
    pol = tmp_path / "identity.json"
    pol.write_text(out)
    scp = tmp_path / "regions.json"
    scp.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "DenyOtherRegions", "Effect": "Deny",
        "Action": "bedrock:*", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}}]}))

    def check(*extra):
        p = subprocess.run([BIN, "policy", "check", "--policy", str(pol), "--principal",
                            "arn:aws:iam::333333333333:user/dev", "--model", "amazon.nova-lite-v1:0",
                            "--region", "us-east-1", "--json", *extra], capture_output=True, text=True, timeout=30)
        return p.returncode, json.loads(p.stdout)

    rc, r = check("--profile", "us.amazon.nova-lite-v1:0")
    assert rc == 0 and r["allowed"] and len(r["resources"]) == 4
    rc, r = check("--profile", "us.amazon.nova-lite-v1:0", "--scp", str(scp))
    assert rc == 2 and not r["allowed"]
    denied = [x for x in r["resources"] if x["decision"] != "Allowed"]
    assert [x["arn"] for x in denied] == ["arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0"]
    assert denied[0]["deciding"] == ["denied by service control policy regions.json statement DenyOtherRegions (#0)"]
    # the same call on serve, with the same SCP, is refused on the same ARN
    s = servers("scp-restricts-regions.toml")
    msg = refusal(lambda: runtime(s, "AKIASCPDEV0000000001", "scp-dev-secret").converse(
        modelId="us.amazon.nova-lite-v1:0", messages=HI))
    assert "on resource: arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0 with an explicit deny " \
           "in a service control policy" in msg
    assert r["message"] in msg
    # the Region gate comes first
    p = subprocess.run([BIN, "policy", "check", "--policy", str(pol), "--principal", "arn:aws:iam::333333333333:user/dev",
                        "--model", "amazon.nova-lite-v1:0", "--region", "ca-central-1"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 3
    assert "REFUSED at the Region gate" in p.stdout
