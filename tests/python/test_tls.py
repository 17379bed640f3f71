"""HTTPS for `serve` (issue 12 item 1): a local CA in the state directory, real clients that
verify the server with it (boto3, the AWS CLI), the key files' modes, reuse across restarts,
--no-tls, --tls-cert/--tls-key, and `aws:SecureTransport` reaching the IAM engine."""

import json
import os
import socket
import ssl
import stat
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import SSLError

from conftest import NO_RETRY, VENV_BIN, Server, converse, refused

PINNED_MODEL = "amazon.nova-pro-v1:0"
PINNED_TEXT = "Pinned answer."
SCENARIO = f"""
[[answer]]
model = "{PINNED_MODEL}"
text = "{PINNED_TEXT}"
"""


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="module")
def tls_server(tls_dir):
    s = Server.with_scenario_text(tls_dir, SCENARIO)
    yield s
    s.stop()


@pytest.fixture
def no_ca_env(monkeypatch):
    """Neither a CA bundle nor an endpoint from the environment: each test says its own."""
    for k in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def https_client(server, service, **kw):
    return boto3.client(service, endpoint_url=server.https_url, region_name="us-east-1", config=NO_RETRY, **kw)


def test_banner_names_the_https_url_and_the_ca(tls_server, tls_dir):
    ca = str(tls_dir / "ca.pem")
    assert tls_server.https_url.startswith("https://127.0.0.1:")
    assert tls_server.https_url != tls_server.url.replace("http:", "https:")
    assert tls_server.ca == ca
    exports = [line.strip() for line in tls_server.banner if line.strip().startswith("export AWS_CA_BUNDLE")]
    assert exports == [f"export AWS_CA_BUNDLE={ca} SSL_CERT_FILE={ca} NODE_EXTRA_CA_CERTS={ca}"]
    # the first line is unchanged: plain HTTP
    assert tls_server.banner[0].startswith("bedrock-gates serve listening on http://127.0.0.1:")


def test_boto3_verifies_with_the_ca_file(tls_server, no_ca_env):
    rt = https_client(tls_server, "bedrock-runtime", verify=tls_server.ca)
    r = converse(rt, PINNED_MODEL)
    assert r["output"]["message"]["content"] == [{"text": PINNED_TEXT}]
    assert r["stopReason"] == "end_turn"
    over_https = https_client(tls_server, "bedrock", verify=tls_server.ca).list_foundation_models()
    over_http = boto3.client("bedrock", endpoint_url=tls_server.url, region_name="us-east-1",
                             config=NO_RETRY).list_foundation_models()
    assert over_https["modelSummaries"] == over_http["modelSummaries"]
    assert len(over_https["modelSummaries"]) > 10


def test_boto3_verifies_with_aws_ca_bundle(tls_server, no_ca_env, monkeypatch):
    monkeypatch.setenv("AWS_CA_BUNDLE", tls_server.ca)
    monkeypatch.setenv("AWS_ENDPOINT_URL", tls_server.https_url)
    rt = boto3.client("bedrock-runtime", region_name="us-east-1", config=NO_RETRY)
    assert converse(rt, PINNED_MODEL)["output"]["message"]["content"] == [{"text": PINNED_TEXT}]
    models = boto3.client("bedrock", region_name="us-east-1", config=NO_RETRY).list_foundation_models()
    assert any(m["modelId"] == PINNED_MODEL for m in models["modelSummaries"])


def test_a_client_without_the_ca_fails_verification(tls_server, no_ca_env):
    rt = https_client(tls_server, "bedrock-runtime")  # verify=True: certifi's public roots
    with pytest.raises(SSLError) as ei:
        converse(rt, PINNED_MODEL)
    assert "CERTIFICATE_VERIFY_FAILED" in str(ei.value)
    assert "unable to get local issuer certificate" in str(ei.value)


def aws_cli(args, env):
    out = subprocess.run([str(VENV_BIN / "aws"), *args, "--output", "json"], env=env,
                         capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout, out.stderr


def cli_env(server, **more):
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(AWS_ENDPOINT_URL=server.https_url, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1", **more)
    return env


def test_aws_cli_with_aws_ca_bundle(tls_server):
    env = cli_env(tls_server, AWS_CA_BUNDLE=tls_server.ca)
    rc, out, err = aws_cli(["bedrock", "list-foundation-models"], env)
    assert rc == 0, err
    assert any(m["modelId"] == PINNED_MODEL for m in json.loads(out)["modelSummaries"])
    rc, out, err = aws_cli(["bedrock-runtime", "converse", "--model-id", PINNED_MODEL,
                            "--messages", '[{"role":"user","content":[{"text":"hi"}]}]'], env)
    assert rc == 0, err
    assert json.loads(out)["output"]["message"]["content"] == [{"text": PINNED_TEXT}]


def test_aws_cli_without_the_ca_fails_verification(tls_server):
    rc, out, err = aws_cli(["bedrock", "list-foundation-models"], cli_env(tls_server))
    assert rc == 255
    assert "SSL validation failed" in err and "CERTIFICATE_VERIFY_FAILED" in err


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_files_are_owner_only(tls_server, tls_dir):
    assert mode(tls_dir / "ca-key.pem") == 0o600
    assert mode(tls_dir / "server-key.pem") == 0o600
    assert (tls_dir / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert (tls_dir / "server.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")


def peer_certificate(url, ca=None):
    """The DER certificate the server at https `url` presents (verified against `ca` if given)."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True)


def test_a_restart_reuses_the_ca_and_the_certificate(tmp_path):
    first = Server(tmp_path / "state.db")
    try:
        ca = (tmp_path / "ca.pem").read_bytes()
        key = (tmp_path / "ca-key.pem").read_bytes()
        served = peer_certificate(first.https_url, first.ca)
    finally:
        first.stop()
    second = Server(tmp_path / "state.db")
    try:
        assert (tmp_path / "ca.pem").read_bytes() == ca
        assert (tmp_path / "ca-key.pem").read_bytes() == key
        # the same certificate, and it verifies with the CA a client saved from the first run
        assert peer_certificate(second.https_url, str(tmp_path / "ca.pem")) == served
    finally:
        second.stop()


def test_python_strict_verification_accepts_the_chain(tls_server):
    """Python 3.13 turns on OpenSSL's X509 strict mode by default; the chain must pass it."""
    host, port = tls_server.https_url.removeprefix("https://").rsplit(":", 1)
    for name in ("127.0.0.1", "localhost"):
        ctx = ssl.create_default_context(cafile=tls_server.ca)
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                assert tls.version() == "TLSv1.3"


def test_alpn_offers_h2_and_http11(tls_server):
    host, port = tls_server.https_url.removeprefix("https://").rsplit(":", 1)
    for offered, chosen in ((["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1")):
        ctx = ssl.create_default_context(cafile=tls_server.ca)
        ctx.set_alpn_protocols(offered)
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                assert tls.selected_alpn_protocol() == chosen


def listening_ports(pid):
    """The TCP ports process `pid` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def test_no_tls_prints_no_https_and_opens_no_tls_port(tmp_path):
    s = Server(tmp_path / "state.db", extra=["--no-tls"])
    try:
        assert s.https_url is None and s.ca is None
        assert set(s.fields) & {"https", "ca", "certificate"} == set()
        assert not any("https://" in line or "AWS_CA_BUNDLE=" in line for line in s.banner)
        assert listening_ports(s.proc.pid) == {int(s.url.rsplit(":", 1)[1])}
        assert not (tmp_path / "ca.pem").exists() and not (tmp_path / "ca-key.pem").exists()
    finally:
        s.stop()


def test_with_tls_both_ports_listen(tls_server):
    ports = {int(tls_server.url.rsplit(":", 1)[1]), int(tls_server.https_url.rsplit(":", 1)[1])}
    assert listening_ports(tls_server.proc.pid) == ports


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 and localhost, made by the openssl command."""
    cert, key = directory / "own.pem", directory / "own-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=own certificate", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def test_tls_cert_and_key_are_served(tmp_path, no_ca_env):
    cert, key = make_certificate(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    s = Server(state / "state.db", extra=["--tls-cert", str(cert), "--tls-key", str(key)])
    try:
        assert s.ca is None and s.fields["certificate"] == str(cert)
        assert not (state / "ca.pem").exists() and not (state / "ca-key.pem").exists()
        served = peer_certificate(s.https_url, str(cert))
        assert served == ssl.PEM_cert_to_DER_cert(cert.read_text())
        rt = https_client(s, "sts", verify=str(cert))
        assert rt.get_caller_identity()["Account"] == "000000000000"
    finally:
        s.stop()


def test_tls_cert_without_key_is_a_usage_error(tmp_path):
    cert, _ = make_certificate(tmp_path)
    from conftest import BIN
    out = subprocess.run([BIN, "serve", "--port", "0", "--state", ":memory:", "--tls-cert", str(cert)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "--tls-key <TLS_KEY>" in out.stderr


def test_a_key_that_does_not_match_the_certificate_is_refused_at_start(tmp_path):
    cert, _ = make_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key = make_certificate(other)
    from conftest import BIN
    out = subprocess.run([BIN, "serve", "--port", "0", "--state", ":memory:", "--tls-cert", str(cert),
                          "--tls-key", str(other_key)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert out.stdout == ""
    assert "setting up HTTPS" in out.stderr
    assert f"{other_key}: this private key does not belong to the certificate in {cert}" in out.stderr
    assert "BEGIN" not in out.stderr  # no key material in the message


SECURE_ONLY = """
[[account]]
id = "111111111111"

[[user]]
account = "111111111111"
name = "tlsonly"
inline = { TlsOnly = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"bedrock:*","Resource":"*"},
  {"Sid":"DenyInsecure","Effect":"Deny","Action":"bedrock:*","Resource":"*",
   "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}''' }

[[access_key]]
account = "111111111111"
user = "tlsonly"
id = "AKIATLSONLY000000001"
secret = "tlsonly-secret"
"""


def test_secure_transport_condition(tmp_path, no_ca_env):
    s = Server.with_scenario_text(tmp_path, SECURE_ONLY)
    try:
        creds = dict(aws_access_key_id="AKIATLSONLY000000001", aws_secret_access_key="tlsonly-secret",
                     region_name="us-east-1", config=NO_RETRY)
        plain = boto3.client("bedrock-runtime", endpoint_url=s.url, **creds)
        assert refused(lambda: converse(plain, PINNED_MODEL)) == (
            "AccessDeniedException",
            403,
            "User: arn:aws:iam::111111111111:user/tlsonly is not authorized to perform: bedrock:InvokeModel "
            "on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0 "
            "with an explicit deny in an identity-based policy",
        )
        secure = boto3.client("bedrock-runtime", endpoint_url=s.https_url, verify=s.ca, **creds)
        assert converse(secure, PINNED_MODEL)["stopReason"] == "end_turn"
    finally:
        s.stop()
