"""Issue 12 with the real clients, unchanged, over HTTPS with the CA serve prints: boto3 and the
AWS CLI with AWS_BEARER_TOKEN_BEDROCK (a long-term and a short-term key) call Converse and
ConverseStream; they see each refusal with AWS's exact text; a key deactivated with
`aws iam update-service-specific-credential` is refused on the very next call; an SCP that
denies API keys shuts the door for both kinds while SigV4 still works."""

import base64
import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from aws_bedrock_token_generator.token_generator import BedrockTokenGenerator
from botocore.credentials import Credentials

from conftest import NO_RETRY, VENV_BIN, Server, converse, refused

HERE = Path(__file__).parent
SCENARIOS = HERE.parents[1] / "scenarios"
NOVA = "amazon.nova-lite-v1:0"
AUTH_FAILED = "Authentication failed: Please make sure your API Key is valid."
BAD_FORMAT = "Invalid API Key format: Must start with pre-defined prefix"


def long_term(user, account, secret):
    return "ABSK" + base64.b64encode(f"{user}-at-{account}:{secret}".encode()).decode()


def short_term(key, secret, region="us-east-1"):
    return BedrockTokenGenerator().get_token(Credentials(key, secret), region)


DEV_KEY = long_term("dev", "111111111111", "dev-long-term-secret")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("keyclients") / "state.db", HERE / "api_keys.toml")
    yield s
    s.stop()


def https(server):
    return server.fields["https"], server.fields["ca"]


def runtime(server, token, monkeypatch, service="bedrock-runtime"):
    """A boto3 client that sends `token` as AWS_BEARER_TOKEN_BEDROCK makes it: no credentials at
    all in the environment, only the key."""
    url, ca = https(server)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", token)
    return boto3.client(service, region_name="us-east-1", endpoint_url=url, verify=ca, config=NO_RETRY)


@pytest.mark.parametrize("kind", ["long-term", "short-term"])
def test_boto3_converses_and_streams_with_a_key(srv, monkeypatch, kind):
    token = DEV_KEY if kind == "long-term" else short_term("AKIADEVAPIKEY0000001", "dev-secret")
    c = runtime(srv, token, monkeypatch)
    out = converse(c, NOVA)
    assert out["output"]["message"]["content"][0]["text"] == f"This is a scripted reply from {NOVA} to: hi"
    events = list(c.converse_stream(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "hi"}]}])["stream"])
    assert list(events[0]) == ["messageStart"] and "metadata" in events[-1]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == f"This is a scripted reply from {NOVA} to: hi"
    # the control-plane client sends it too
    b = runtime(srv, token, monkeypatch, service="bedrock")
    assert b.get_foundation_model(modelIdentifier=NOVA)["modelDetails"]["modelId"] == NOVA


def test_boto3_sees_each_refusal_with_awss_text(srv, monkeypatch):
    assert refused(lambda: converse(runtime(srv, "sk-proj-openai-key", monkeypatch), NOVA)) == (
        "AccessDeniedException", 403, BAD_FORMAT)
    bad = long_term("dev", "111111111111", "wrong")
    assert refused(lambda: converse(runtime(srv, bad, monkeypatch), NOVA)) == ("AccessDeniedException", 403, AUTH_FAILED)
    nobearer = long_term("nobearer", "111111111111", "nobearer-long-term-secret")
    assert refused(lambda: converse(runtime(srv, nobearer, monkeypatch), NOVA)) == (
        "AccessDeniedException", 403,
        "User: arn:aws:iam::111111111111:user/nobearer is not authorized to perform: bedrock:CallWithBearerToken "
        "because no identity-based policy allows the bedrock:CallWithBearerToken action")


def cli(server, *args, token=None, key=None):
    url, ca = https(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=url, AWS_CA_BUNDLE=ca,
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_MAX_ATTEMPTS="1")
    if token:
        env["AWS_BEARER_TOKEN_BEDROCK"] = token
    if key:
        env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
    return subprocess.run([str(VENV_BIN / "aws"), *args, "--output", "json"], env=env, capture_output=True,
                          text=True, timeout=60)


MESSAGES = json.dumps([{"role": "user", "content": [{"text": "hi"}]}])


def test_aws_cli_with_a_key_and_deactivation_shuts_it_on_the_next_call(tmp_path):
    s = Server(tmp_path / "state.db", HERE / "api_keys.toml")
    try:
        dev = ("AKIADEVAPIKEY0000001", "dev-secret")
        made = cli(s, "iam", "create-service-specific-credential", "--user-name", "dev",
                   "--service-name", "bedrock.amazonaws.com", key=dev)
        assert made.returncode == 0, made.stderr
        cred = json.loads(made.stdout)["ServiceSpecificCredential"]
        token = long_term("dev", "111111111111", cred["ServiceCredentialSecret"])
        for key in (token, short_term(*dev)):
            ok = cli(s, "bedrock-runtime", "converse", "--model-id", NOVA, "--messages", MESSAGES, token=key)
            assert ok.returncode == 0, ok.stderr
            assert json.loads(ok.stdout)["output"]["message"]["content"][0]["text"].startswith("This is a scripted")
        off = cli(s, "iam", "update-service-specific-credential", "--user-name", "dev", "--service-specific-credential-id",
                  cred["ServiceSpecificCredentialId"], "--status", "Inactive", key=dev)
        assert off.returncode == 0, off.stderr
        no = cli(s, "bedrock-runtime", "converse", "--model-id", NOVA, "--messages", MESSAGES, token=token)
        assert no.returncode == 255  # awscli v1 (PyPI): a service error
        assert ("An error occurred (AccessDeniedException) when calling the Converse operation: " + AUTH_FAILED) in no.stderr
        # the secret is in no audit record
        assert cred["ServiceCredentialSecret"] not in json.dumps(s.admin("/_bedrock-gates/audit"))
    finally:
        s.stop()


def test_scp_denying_api_keys_shuts_both_kinds_while_sigv4_works(tmp_path, monkeypatch):
    s = Server(tmp_path / "state.db", SCENARIOS / "scp-deny-api-keys.toml")
    try:
        denied = ("User: arn:aws:iam::444444444444:user/dev is not authorized to perform: bedrock:CallWithBearerToken "
                  "with an explicit deny in a service control policy: arn:aws:organizations::999999999999:policy/"
                  "o-apikeysorg1/service_control_policy/p-denyapikeys")
        for token in (long_term("dev", "444444444444", "dev-api-key-secret"),
                      short_term("AKIAAPIKEYSDEV000001", "dev-secret")):
            assert refused(lambda: converse(runtime(s, token, monkeypatch), NOVA)) == (
                "AccessDeniedException", 403, denied)
        monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK")
        url, ca = https(s)
        sig = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=url, verify=ca, config=NO_RETRY,
                           aws_access_key_id="AKIAAPIKEYSDEV000001", aws_secret_access_key="dev-secret")
        assert converse(sig, NOVA)["stopReason"] == "end_turn"
    finally:
        s.stop()
