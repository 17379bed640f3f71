"""Issue 12: Amazon Bedrock API keys, the second front door. Long-term keys (IAM service-specific
credentials, `ABSK…`) and short-term keys (`bedrock-api-key-…`, made by AWS's own token
generator library) authenticate through the credentials gate; IAM also checks
bedrock:CallWithBearerToken with bedrock:BearerTokenType; each refusal is AWS's exact text and
reaches the audit log with its gate, without the key's secret."""

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aws_bedrock_token_generator.token_generator import BedrockTokenGenerator, _generate_token
from botocore.credentials import Credentials

from conftest import Server, client_for, converse, refused

HERE = Path(__file__).parent
SCENARIOS = HERE.parents[1] / "scenarios"
NOVA = "amazon.nova-lite-v1:0"
BAD_FORMAT = {"Message": "Invalid API Key format: Must start with pre-defined prefix"}
AUTH_FAILED = {"Message": "Authentication failed: Please make sure your API Key is valid."}
ERROR_TYPE = "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/"


def long_term(user, account, secret):
    return "ABSK" + base64.b64encode(f"{user}-at-{account}:{secret}".encode()).decode()


DEV_KEY = long_term("dev", "111111111111", "dev-long-term-secret")


def short_term(key, secret, region="us-east-1", expires=None, token=None):
    creds = Credentials(key, secret, token)
    if expires is None:
        return BedrockTokenGenerator().get_token(creds, region)
    return _generate_token(creds, region, expires)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("apikeys") / "state.db", HERE / "api_keys.toml")
    yield s
    s.stop()


def call(server, token, path=f"/model/{NOVA}/converse", body=None, host=None, method="POST"):
    """A bearer request as the SDKs send it: (status, headers, body bytes)."""
    if body is None and method == "POST":
        body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", f"Bearer {token}")
    if host:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def refusal(server, token, **kw):
    status, headers, body = call(server, token, **kw)
    return status, headers.get("x-amzn-ErrorType"), json.loads(body)


def audit(server):
    return json.dumps(server.admin("/_bedrock-gates/audit"))


def test_long_term_key_converses_as_its_user(srv):
    status, _, body = call(srv, DEV_KEY)
    assert status == 200
    out = json.loads(body)
    assert out["output"]["message"]["content"][0]["text"] == f"This is a scripted reply from {NOVA} to: hi"
    # the control plane takes keys too
    status, _, body = call(srv, DEV_KEY, path=f"/foundation-models/{NOVA}", method="GET")
    assert (status, json.loads(body)["modelDetails"]["modelId"]) == (200, NOVA)


def test_short_term_key_from_awss_generator_converses_and_streams(srv):
    token = short_term("AKIADEVAPIKEY0000001", "dev-secret")
    assert token.startswith("bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t")
    status, _, body = call(srv, token)
    assert status == 200
    status, headers, body = call(srv, token, path=f"/model/{NOVA}/converse-stream")
    assert status == 200
    assert headers["Content-Type"] == "application/vnd.amazon.eventstream"
    assert b"messageStop" in body


def test_a_token_without_a_known_prefix(srv):
    for token in ["sk-proj-abc123", "AKIADEVAPIKEY0000001", "", "eyJhbGciOi.jwt.token"]:
        assert refusal(srv, token) == (403, ERROR_TYPE, BAD_FORMAT), token


def test_bad_inactive_expired_and_wrong_region_keys_fail_authentication(srv):
    bad = [
        long_term("dev", "111111111111", "not-the-secret"),
        long_term("ghost", "111111111111", "dev-long-term-secret"),
        long_term("idle", "111111111111", "idle-inactive-secret"),
        long_term("idle", "111111111111", "idle-expired-secret"),
        "ABSK" + "%%%not-base64",
        DEV_KEY[:-6],
        short_term("AKIADEVAPIKEY0000001", "wrong-secret"),
        short_term("AKIAUNKNOWN000000001", "dev-secret"),
    ]
    for token in bad:
        assert refusal(srv, token) == (403, ERROR_TYPE, AUTH_FAILED), token
    # a short-term key works only in its own Region: here the Host names us-west-2
    west = short_term("AKIADEVAPIKEY0000001", "dev-secret", region="us-west-2")
    port = srv.url.rsplit(":", 1)[1]
    assert refusal(srv, west, host=f"bedrock-runtime.us-east-1.localhost:{port}") == (403, ERROR_TYPE, AUTH_FAILED)
    assert call(srv, west, path="/model/us.amazon.nova-lite-v1:0/converse",
                host=f"bedrock-runtime.us-west-2.localhost:{port}")[0] == 200


def test_short_term_key_expires_on_the_gate_clock(tmp_path):
    s = Server(tmp_path / "state.db", HERE / "api_keys.toml")
    try:
        token = short_term("AKIADEVAPIKEY0000001", "dev-secret", expires=600)
        assert call(s, token)[0] == 200
        s.admin("/_bedrock-gates/clock?advance=601", method="POST")
        assert refusal(s, token) == (403, ERROR_TYPE, AUTH_FAILED)
        records = s.admin("/_bedrock-gates/audit")["records"]
        assert records[-1]["gate"] == "credentials"
        assert records[-1]["reason"] == "request refused at the credentials gate: the API key has expired"
    finally:
        s.stop()


def test_iam_refuses_keys_without_call_with_bearer_token(srv):
    token = long_term("nobearer", "111111111111", "nobearer-long-term-secret")
    status, etype, body = refusal(srv, token)
    assert (status, etype) == (403, ERROR_TYPE)
    assert body == {"message": "User: arn:aws:iam::111111111111:user/nobearer is not authorized to perform: "
                               "bedrock:CallWithBearerToken because no identity-based policy allows the "
                               "bedrock:CallWithBearerToken action"}
    # the same user's SigV4 key is not asked for it
    rt = client_for("bedrock-runtime", srv, "AKIANOBEARER00000001", "nobearer-secret")
    assert converse(rt, NOVA)["stopReason"] == "end_turn"
    short = short_term("AKIANOBEARER00000001", "nobearer-secret")
    assert refusal(srv, short)[2] == body


def test_refusals_reach_the_audit_log_without_the_secret(srv):
    call(srv, long_term("dev", "111111111111", "s3cr3t-never-logged"))
    call(srv, long_term("nobearer", "111111111111", "nobearer-long-term-secret"))
    text = audit(srv)
    records = json.loads(text)["records"]
    assert "s3cr3t-never-logged" not in text
    assert "nobearer-long-term-secret" not in text
    assert "dev-long-term-secret" not in text
    gates = {(r["gate"], r["error"]) for r in records}
    assert ("credentials", "AccessDeniedException") in gates
    assert ("iam", "AccessDeniedException") in gates


def test_iam_and_sts_do_not_take_bearer_tokens(srv):
    req = urllib.request.Request(srv.url + "/?Action=GetCallerIdentity&Version=2011-06-15", method="GET")
    req.add_header("Authorization", f"Bearer {DEV_KEY}")
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=5)
    body = ei.value.read().decode()
    assert ei.value.code == 400
    assert "<Code>IncompleteSignature</Code>" in body
    assert "<Message>Unsupported AWS &apos;algorithm&apos;: &apos;Bearer&apos;.</Message>" in body


def test_service_specific_credential_lifecycle(tmp_path):
    s = Server(tmp_path / "state.db", HERE / "api_keys.toml")
    try:
        iam = client_for("iam", s, "AKIADEVAPIKEY0000001", "dev-secret")
        # dev already has one key (the scenario's): one more is allowed, a third is not
        created = iam.create_service_specific_credential(UserName="dev", ServiceName="bedrock.amazonaws.com",
                                                         CredentialAgeDays=1)["ServiceSpecificCredential"]
        assert created["ServiceName"] == "bedrock.amazonaws.com"
        assert created["UserName"] == "dev"
        assert created["Status"] == "Active"
        assert created["ServiceCredentialAlias"] == "dev-at-111111111111"
        assert created["ServiceSpecificCredentialId"].startswith("ACCA")
        assert len(created["ServiceSpecificCredentialId"]) == 21
        assert (created["ExpirationDate"] - created["CreateDate"]).total_seconds() == 86400
        key = long_term("dev", "111111111111", created["ServiceCredentialSecret"])
        assert call(s, key)[0] == 200
        cid = created["ServiceSpecificCredentialId"]

        assert refused(lambda: iam.create_service_specific_credential(
            UserName="dev", ServiceName="bedrock.amazonaws.com")) == (
            "LimitExceeded", 409, "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2")
        assert refused(lambda: iam.create_service_specific_credential(
            UserName="dev", ServiceName="codecommit.amazonaws.com")) == (
            "NotSupportedService", 404, "The specified service does not support service-specific credentials.")

        listed = iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]
        assert [c["ServiceSpecificCredentialId"] for c in listed] == ["ACCADEVAPIKEY00000001", cid]
        assert all("ServiceCredentialSecret" not in c for c in listed)

        # deactivated: refused on the very next call; reactivated: works again
        iam.update_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=cid, Status="Inactive")
        assert refusal(s, key) == (403, ERROR_TYPE, AUTH_FAILED)
        iam.update_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=cid, Status="Active")
        assert call(s, key)[0] == 200

        # reset: the old secret is shut, the new one works
        reset = iam.reset_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=cid)
        new_key = long_term("dev", "111111111111", reset["ServiceSpecificCredential"]["ServiceCredentialSecret"])
        assert refusal(s, key) == (403, ERROR_TYPE, AUTH_FAILED)
        assert call(s, new_key)[0] == 200

        # a day later on the gate clock it has expired, and IAM says so
        s.admin("/_bedrock-gates/clock?advance=86400", method="POST")
        assert refusal(s, new_key) == (403, ERROR_TYPE, AUTH_FAILED)
        listed = iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]
        assert [c["Status"] for c in listed] == ["Active", "Expired"]

        iam.delete_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=cid)
        assert refused(lambda: iam.delete_service_specific_credential(
            UserName="dev", ServiceSpecificCredentialId=cid)) == (
            "NoSuchEntity", 404, f"No such credential {cid} exists for user dev.")
        # the scenario's key survives all of it
        assert call(s, DEV_KEY)[0] == 200
    finally:
        s.stop()


def test_credential_age_days_is_validated(srv):
    # botocore checks the range too: switch that off to reach the server, as other clients would
    iam = client_for("iam", srv, "AKIADEVAPIKEY0000001", "dev-secret", parameter_validation=False)
    for bad, constraint in [(0, "greater than or equal to 1"), (36601, "less than or equal to 36600")]:
        code, status, msg = refused(lambda: iam.create_service_specific_credential(
            UserName="dev", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=bad))
        assert (code, status) == ("ValidationError", 400)
        assert msg == (f"1 validation error detected: Value '{bad}' at 'credentialAgeDays' failed to satisfy "
                       f"constraint: Member must have value {constraint}")


def test_a_created_key_survives_kill9(tmp_path):
    s = Server(tmp_path / "state.db", HERE / "api_keys.toml")
    iam = client_for("iam", s, "AKIADEVAPIKEY0000001", "dev-secret")
    c = iam.create_service_specific_credential(UserName="dev", ServiceName="bedrock.amazonaws.com")
    key = long_term("dev", "111111111111", c["ServiceSpecificCredential"]["ServiceCredentialSecret"])
    s.kill9()
    s2 = Server(tmp_path / "state.db", HERE / "api_keys.toml")
    try:
        assert call(s2, key)[0] == 200
    finally:
        s2.stop()


# ---- the three SCPs AWS publishes for API keys (scenarios/)


def scenario(tmp_path, name):
    return Server(tmp_path / "state.db", SCENARIOS / f"{name}.toml")


def scp_denied(account, scp, action="bedrock:CallWithBearerToken"):
    return {"message": f"User: arn:aws:iam::{account}:user/dev is not authorized to perform: {action} with an "
                       "explicit deny in a service control policy: arn:aws:organizations::999999999999:policy/"
                       f"o-apikeysorg1/service_control_policy/{scp}"}


def test_scp_deny_api_keys_shuts_both_kinds_and_creation(tmp_path):
    s = scenario(tmp_path, "scp-deny-api-keys")
    try:
        denied = scp_denied("444444444444", "p-denyapikeys")
        assert refusal(s, long_term("dev", "444444444444", "dev-api-key-secret")) == (403, ERROR_TYPE, denied)
        assert refusal(s, short_term("AKIAAPIKEYSDEV000001", "dev-secret")) == (403, ERROR_TYPE, denied)
        assert converse(client_for("bedrock-runtime", s, "AKIAAPIKEYSDEV000001", "dev-secret"), NOVA)
        iam = client_for("iam", s, "AKIAAPIKEYSDEV000001", "dev-secret")
        assert refused(lambda: iam.create_service_specific_credential(
            UserName="dev", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=7)) == (
            "AccessDenied", 403,
            "User: arn:aws:iam::444444444444:user/dev is not authorized to perform: "
            "iam:CreateServiceSpecificCredential on resource: arn:aws:iam::444444444444:user/dev with an explicit deny in a service "
            "control policy: arn:aws:organizations::999999999999:policy/o-apikeysorg1/service_control_policy/"
            "p-denyapikeys")
    finally:
        s.stop()


def test_scp_deny_keys_longer_than_30_days(tmp_path):
    s = scenario(tmp_path, "scp-deny-api-keys-longer-than-30-days")
    try:
        iam = client_for("iam", s, "AKIA30DAYSDEV0000001", "dev-secret")
        for age in (30, 365, None):
            kw = {"CredentialAgeDays": age} if age else {}
            code, status, _ = refused(lambda: iam.create_service_specific_credential(
                UserName="dev", ServiceName="bedrock.amazonaws.com", **kw))
            assert (code, status) == ("AccessDenied", 403), age
        c = iam.create_service_specific_credential(UserName="dev", ServiceName="bedrock.amazonaws.com",
                                                   CredentialAgeDays=29)["ServiceSpecificCredential"]
        assert call(s, long_term("dev", "555555555555", c["ServiceCredentialSecret"]))[0] == 200
        assert call(s, short_term("AKIA30DAYSDEV0000001", "dev-secret"))[0] == 200
    finally:
        s.stop()


def test_scp_deny_long_term_keys_lets_short_term_and_sigv4_through(tmp_path):
    s = scenario(tmp_path, "scp-deny-long-term-api-keys")
    try:
        assert refusal(s, long_term("dev", "666666666666", "dev-api-key-secret")) == (
            403, ERROR_TYPE, scp_denied("666666666666", "p-denylongterm"))
        assert call(s, short_term("AKIALONGTERMDEV00001", "dev-secret"))[0] == 200
        assert converse(client_for("bedrock-runtime", s, "AKIALONGTERMDEV00001", "dev-secret"), NOVA)
    finally:
        s.stop()


def test_api_key_command_makes_a_key_from_the_credential_chain(srv, tmp_path):
    import os
    import subprocess

    from conftest import BIN

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIADEVAPIKEY0000001", AWS_SECRET_ACCESS_KEY="dev-secret",
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = subprocess.run([BIN, "api-key", "--region", "us-east-1", "--expires", "900"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    decoded = base64.b64decode(token.removeprefix("bedrock-api-key-")).decode()
    assert decoded.startswith("bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                              "&X-Amz-Credential=AKIADEVAPIKEY0000001%2F")
    assert "%2Fus-east-1%2Fbedrock%2Faws4_request&" in decoded
    assert "&X-Amz-Expires=900&" in decoded and decoded.endswith("&Version=1")
    assert call(srv, token)[0] == 200
    bad = subprocess.run([BIN, "api-key", "--region", "us-east-1", "--expires", "43201"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2
    assert "--expires must be between 1 and 43200 seconds" in bad.stderr


@pytest.mark.parametrize("token,exit_code,gate", [
    ("sk-proj-not-a-bedrock-key", 10, "credentials"),
    (long_term("dev", "111111111111", "wrong-secret"), 10, "credentials"),
    (long_term("nobearer", "111111111111", "nobearer-long-term-secret"), 12, "iam"),
    (DEV_KEY, 0, None),
])
def test_doctor_walks_the_gates_for_the_key_the_sdks_will_send(srv, tmp_path, token, exit_code, gate):
    import os
    import subprocess

    from conftest import BIN

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIADEVAPIKEY0000001", AWS_SECRET_ACCESS_KEY="dev-secret", AWS_REGION="us-east-1",
               AWS_BEARER_TOKEN_BEDROCK=token, AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = subprocess.run([BIN, "doctor", "--endpoint-url", srv.url, "--model", NOVA, "--json"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == exit_code, out.stdout + out.stderr
    report = json.loads(out.stdout)
    creds = next(g for g in report["gates"] if g["gate"] == "credentials")
    assert "AWS_BEARER_TOKEN_BEDROCK is set" in creds["evidence"]
    shut = [g["gate"] for g in report["gates"] if g["status"] == "shut"]
    assert shut[:1] == ([gate] if gate else [])
    # the key's secret is never printed
    secret = base64.b64decode(token[4:]).decode().split(":")[1] if token.startswith("ABSK") else token
    assert secret not in out.stdout + out.stderr


GPT = "openai.gpt-oss-120b-1:0"


def test_the_openai_package_with_a_bedrock_api_key(srv):
    import openai

    for token in (DEV_KEY, short_term("AKIADEVAPIKEY0000001", "dev-secret")):
        client = openai.OpenAI(base_url=f"{srv.url}/openai/v1", api_key=token, max_retries=0)
        out = client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}])
        assert out.choices[0].message.content == f"This is a scripted reply from {GPT} to: hi"
        chunks = list(client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}],
                                                     stream=True, stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == out.choices[0].message.content
        assert chunks[-1].usage.total_tokens == out.usage.total_tokens
    bad = openai.OpenAI(base_url=f"{srv.url}/openai/v1", api_key="sk-proj-an-openai-key", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as ei:
        bad.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}])
    assert ei.value.status_code == 403
    assert ei.value.body == {"message": "Invalid API Key format: Must start with pre-defined prefix",
                             "type": "AccessDeniedException", "code": "AccessDeniedException", "param": None}
    nobearer = openai.OpenAI(base_url=f"{srv.url}/openai/v1", max_retries=0,
                             api_key=long_term("nobearer", "111111111111", "nobearer-long-term-secret"))
    with pytest.raises(openai.PermissionDeniedError) as ei:
        nobearer.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}])
    assert ei.value.body["message"] == (
        "User: arn:aws:iam::111111111111:user/nobearer is not authorized to perform: bedrock:CallWithBearerToken "
        "because no identity-based policy allows the bedrock:CallWithBearerToken action")
