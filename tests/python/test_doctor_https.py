"""Issue 16: the doctor against serve's HTTPS listener, after the AWS SDK was cut to one HTTPS
client (hyper 1 + rustls on aws-lc-rs, with the platform's roots: SSL_CERT_FILE is how a user
hands it serve's local CA). Verified: green with the CA; without it, refused at the TLS handshake
and reported as not reached rather than as a shut gate of AWS's."""

import json
import subprocess

import certifi
import pytest

from conftest import BIN, Server
from test_faces import CODES, SANDBOX, SCENARIOS, clean_env


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("doctor-https") / "state.db", SCENARIOS / "open-sandbox.toml")
    yield s
    s.stop()


def doctor_https(server, **env):
    e = clean_env(*SANDBOX)
    e.pop("SSL_CERT_FILE", None)
    e.pop("SSL_CERT_DIR", None)
    e.update(env)
    p = subprocess.run([BIN, "doctor", "--endpoint-url", server.https_url, "--model", "amazon.nova-lite-v1:0",
                        "--json"], capture_output=True, text=True, timeout=60, env=e)
    assert p.stdout, p.stderr
    return p.returncode, json.loads(p.stdout)


def test_doctor_over_https_with_the_local_ca_is_green(sandbox):
    assert sandbox.https_url.startswith("https://") and sandbox.ca
    rc, r = doctor_https(sandbox, SSL_CERT_FILE=sandbox.ca)
    assert rc == 0, json.dumps(r, indent=1)
    assert r["endpoint"] == sandbox.https_url
    assert [g["gate"] for g in r["gates"]] == list(CODES)
    assert {g["status"] for g in r["gates"]} == {"open"}
    assert r["call"]["status"] == "succeeded"
    assert r["caller"] == "arn:aws:iam::111111111111:user/dev"


def test_doctor_over_https_without_the_ca_stops_at_the_handshake(sandbox):
    # rustls (the one TLS stack left) refuses serve's certificate; the doctor says the endpoint
    # did not answer instead of naming a shut gate, and exits 20 (nothing proven). The roots
    # given are the public ones (certifi's bundle), not serve's CA: a file without any root would
    # trip a debug_assert in aws-smithy-http-client in debug builds.
    rc, r = doctor_https(sandbox, SSL_CERT_FILE=certifi.where())
    assert rc == r["exit_code"] == 20, json.dumps(r, indent=1)
    g = r["gates"][0]
    assert g["gate"] == "credentials" and g["status"] == "unknown"
    assert "TLS handshake failed: invalid peer certificate: UnknownIssuer" in g["evidence"], g["evidence"]
    assert g["fix"].startswith("the endpoint did not answer")
    assert {x["status"] for x in r["gates"]} == {"unknown"} and r["call"]["status"] == "skipped"
