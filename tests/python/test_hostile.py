"""Hostile input on the HTTP surface (issue 10): a web page in the developer's browser must not
drive serve (Host / Origin / admin token), tiny requests must not buy huge work, secrets must
not be echoed, and requests AWS refuses must be refused with AWS's texts.

Each test here failed before the change it pins (see the issue's numbered items)."""

import base64
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from xml.etree import ElementTree

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import Server, client_for, refused

NOVA = "amazon.nova-lite-v1:0"
ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("hostile") / "state.db")
    yield s
    s.stop()


def raw(server, method, path, headers=None, body=b""):
    """(status, headers, body) of one request sent exactly as given (Host included)."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    if body:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body or None)
    r = conn.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    conn.close()
    return out


def signed(server, service, method, path, body=b"", host=None, extra=None, key="test", secret="test"):
    """A request signed with SigV4 (header form) for `host` (default: the server's)."""
    host = host or server.url.removeprefix("http://")
    req = AWSRequest(method=method, url=f"http://{host}{path}", data=body,
                     headers={"Host": host, **(extra or {})})
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(req)
    return dict(req.headers.items())


def query_error(xml_text):
    """(Code, Message) of an awsQuery error document."""
    root = ElementTree.fromstring(xml_text)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    return root.find(f"{ns}Error/{ns}Code").text, root.find(f"{ns}Error/{ns}Message").text


def users(server):
    iam = client_for("iam", server, "test", "test")
    return sorted(u["UserName"] for u in iam.list_users()["Users"])


def audit(server):
    return server.admin("/_bedrock-gates/audit")["records"]


# ------------------------------------------------------------------ 1. only local clients


def test_rebound_host_is_refused_and_creates_nothing(srv):
    """DNS rebinding: a page on rebind.example reaches the loopback port under its own name and
    signs CreateAccessKey with the public default key. Refused before anything runs."""
    before = client_for("iam", srv, "test", "test").list_access_keys()["AccessKeyMetadata"]
    body = b"Action=CreateAccessKey&Version=2010-05-08"
    h = signed(srv, "iam", "POST", "/", body, host="rebind.example:4950",
               extra={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    status, headers, text = raw(srv, "POST", "/", h, body)
    assert status == 403
    assert query_error(text) == ("AccessDenied",
        "bedrock-gates serves only local clients: the Host header 'rebind.example:4950' names no address this "
        "server listens on (localhost, 127.0.0.1, [::1]). Start serve with --allowed-host rebind.example to "
        "accept it.")
    assert client_for("iam", srv, "test", "test").list_access_keys()["AccessKeyMetadata"] == before
    rec = next(r for r in audit(srv) if r["request_id"] == headers["x-amzn-requestid"])
    assert (rec["error"], rec["status"], rec["gate"], rec["reason"]) == (
        "AccessDenied", 403, None, "refused by bedrock-gates' local-only guard")


def test_rebound_host_on_the_json_protocol(srv):
    h = signed(srv, "bedrock", "POST", f"/model/{NOVA}/converse", b"{}", host="rebind.example",
               extra={"Content-Type": "application/json"})
    status, headers, body = raw(srv, "POST", f"/model/{NOVA}/converse", h, b"{}")
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("AccessDeniedException:")
    assert json.loads(body)["message"].startswith(
        "bedrock-gates serves only local clients: the Host header 'rebind.example' names no address")


def test_cross_site_presigned_create_user_is_refused(srv):
    """A plain cross-site GET (an <img> or a link) of a presigned IAM CreateUser URL, as a browser
    sends it: with `Origin: http://evil.example`. Nothing is created."""
    host = srv.url.removeprefix("http://")
    req = AWSRequest(method="GET", url=f"http://{host}/?Action=CreateUser&UserName=evil&Version=2010-05-08",
                     headers={"Host": host})
    SigV4QueryAuth(Credentials("test", "test"), "iam", "us-east-1", expires=300).add_auth(req)
    path = req.url.removeprefix(f"http://{host}")
    status, _, text = raw(srv, "GET", path, {"Host": host, "Origin": "http://evil.example"})
    assert status == 403
    assert "the Origin header 'http://evil.example' names no address" in query_error(text)[1]
    assert "evil" not in users(srv)
    # the same URL without the Origin (a local tool) works: the refusal was the Origin's
    status, _, text = raw(srv, "GET", path, {"Host": host})
    assert status == 200, text
    assert "evil" in users(srv)


def test_allowed_host_flag_admits_a_name(tmp_path):
    s = Server(tmp_path / "state.db", extra=["--allowed-host", "bedrock.test"])
    try:
        h = signed(s, "sts", "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", host="bedrock.test:1",
                   extra={"Content-Type": "application/x-www-form-urlencoded"})
        status, _, text = raw(s, "POST", "/", h, b"Action=GetCallerIdentity&Version=2011-06-15")
        assert status == 200, text
        status, _, _ = raw(s, "GET", "/_bedrock-gates/health",
                           {"Host": "127.0.0.1", "Origin": "http://bedrock.test:8080",
                            "Authorization": f"Bearer {s.admin_token}"})
        assert status == 200
    finally:
        s.stop()


def test_admin_routes_need_the_token(srv):
    host = srv.url.removeprefix("http://")
    now = srv.admin("/_bedrock-gates/clock?advance=0", "POST")["now"]
    status, headers, body = raw(srv, "POST", "/_bedrock-gates/clock?advance=100000", {"Host": host})
    assert status == 401
    assert headers["x-amzn-errortype"].startswith("UnauthorizedException:")
    assert json.loads(body) == {"message": "The bedrock-gates admin routes need the admin token (printed in "
                                           "serve's banner, stored in the state directory as admin-token): "
                                           "send Authorization: Bearer <token>."}
    status, _, body = raw(srv, "GET", "/_bedrock-gates/audit", {"Host": host, "Authorization": "Bearer " + "0" * 64})
    assert status == 403
    assert b"admin token is wrong" in body and b"0" * 64 not in body
    # the other header form works too; nothing moved the clock
    status, _, body = raw(srv, "POST", "/_bedrock-gates/clock?advance=0",
                          {"Host": host, "x-bedrock-gates-admin-token": srv.admin_token})
    assert status == 200
    assert json.loads(body)["now"] - now < 5
    # cross-site with the token still refused: the Origin check comes first
    status, _, _ = raw(srv, "POST", "/_bedrock-gates/clock?advance=1",
                       {"Host": host, "Origin": "http://evil.example", "Authorization": f"Bearer {srv.admin_token}"})
    assert status == 403


def test_admin_token_is_stored_0600_and_survives_a_restart(tmp_path):
    s = Server(tmp_path / "state.db")
    token = s.admin_token
    s.stop()
    f = tmp_path / "admin-token"
    assert oct(f.stat().st_mode & 0o777) == "0o600"
    assert f.read_text().strip() == token and len(token) == 64
    s = Server(tmp_path / "state.db")
    try:
        assert s.admin_token == token
        assert s.fields["admin token file"] == str(f)
    finally:
        s.stop()
