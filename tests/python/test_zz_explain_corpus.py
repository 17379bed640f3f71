"""Issue 6, explain: every error the server produced during this pytest session, as people paste
it, is named by `bedrock-gates explain` with the gate the server itself diagnosed.

The corpus is the audit log of every server the session started (GET /_bedrock-gates/audit),
collected by conftest's Server.stop() / kill9() before the server goes, plus the servers still
running (the session-scoped one stops only after the last test). This file must therefore run
LAST: pytest collects the files of a directory alphabetically, hence the `zz` in the name, and
conftest's pytest_collection_modifyitems moves it to the end also when files are named in
another order.

Run alone, it still stands on its own: it starts its own `serve` with the scenario below and
produces refusals of every gate (credentials, region, iam, model-access, provider-terms, quota),
so it never passes vacuously.

Documented exceptions (docs/explain.md), and only these:
- AWS sends one sentence, "You don't have access to the model with the specified model ID.",
  both for a missing model-access grant and for an unaccepted provider offer; explain names it
  model-access (the doctor tells the two apart with GetFoundationModelAvailability).
- A scripted ModelTimeoutException ([[fault]] kind = "timeout") is audited under the throughput
  gate (quota) by the server; explain says "not a gate: the model took too long to answer.",
  gate unknown: a timeout is not a refusal by any gate.
"""

import datetime
import json
import subprocess
import urllib.error
import urllib.request
from unittest import mock

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from conftest import BIN, Server, client_for

GATES = ["credentials", "region", "iam", "model-access", "provider-terms", "quota"]
HI = [{"role": "user", "content": [{"text": "hi"}]}]
NO_ACCESS = "You don't have access to the model with the specified model ID."

# Accounts: 111… automatic access, no Anthropic form; 222… automatic, Marketplace subscriptions
# take 10 minutes; 555… console-era access (grants and offers per Region).
SCENARIO = """
[[account]]
id = "111111111111"

[[account]]
id = "222222222222"
use_case_form = true
subscription_delay_secs = 600

[[account]]
id = "555555555555"
access_mode = "console"
use_case_form = true

[[access]]
account = "555555555555"
region = "us-east-1"
model = "cohere.command-r-v1:0"
grant = "granted"
agreement = "none"

[[access]]
account = "555555555555"
region = "us-east-1"
model = "amazon.titan-text-express-v1"
grant = "granted"
last_used_days_ago = 20

[[user]]
account = "111111111111"
name = "dev"
attach = ["AmazonBedrockFullAccess"]

[[access_key]]
account = "111111111111"
user = "dev"
id = "AKIACORPUSDEV0000001"
secret = "corpus-dev-secret"

[[access_key]]
account = "111111111111"
user = "dev"
id = "ASIACORPUSEXPIRED001"
secret = "corpus-expired-secret"
session_token = "corpus-expired-token"
expires_unix = 1000000000

[[user]]
account = "111111111111"
name = "reader"
attach = ["AmazonBedrockReadOnly"]

[[access_key]]
account = "111111111111"
user = "reader"
id = "AKIACORPUSREADER0001"
secret = "corpus-reader-secret"

[[user]]
account = "111111111111"
name = "bounded"
attach = ["AmazonBedrockFullAccess"]
boundary = "AmazonBedrockReadOnly"

[[access_key]]
account = "111111111111"
user = "bounded"
id = "AKIACORPUSBOUNDED001"
secret = "corpus-bounded-secret"

[[user]]
account = "111111111111"
name = "denied"
attach = ["AmazonBedrockFullAccess"]
inline = { DenyNova = '''{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0"}]}''' }

[[access_key]]
account = "111111111111"
user = "denied"
id = "AKIACORPUSDENIED0001"
secret = "corpus-denied-secret"

[[user]]
account = "222222222222"
name = "dev"
attach = ["AmazonBedrockFullAccess"]
inline = { MarketplaceFirstUse = '''{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["aws-marketplace:Subscribe","aws-marketplace:ViewSubscriptions"],"Resource":"*",
  "Condition":{"StringEquals":{"aws:CalledViaLast":"bedrock.amazonaws.com"}}}]}''' }

[[access_key]]
account = "222222222222"
user = "dev"
id = "AKIACORPUSSLOWSUB001"
secret = "corpus-slowsub-secret"

[[user]]
account = "555555555555"
name = "dev"
attach = ["AmazonBedrockFullAccess"]

[[access_key]]
account = "555555555555"
user = "dev"
id = "AKIACORPUSCONSOLE001"
secret = "corpus-console-secret"

[[quota]]
model = "meta.llama3-8b-instruct-v1:0"
rpm = 0

[[quota]]
model = "mistral.mistral-large-2402-v1:0"
tpm = 0

[[quota]]
model = "mistral.mixtral-8x7b-instruct-v0:1"
tpm = 100000
tpd = 0

[[fault]]
model = "amazon.nova-micro-v1:0"
kind = "not-ready"

[[fault]]
model = "amazon.nova-pro-v1:0"
kind = "unavailable"

[[fault]]
model = "qwen.qwen3-32b-v1:0"
kind = "timeout"
"""

DEV = ("AKIACORPUSDEV0000001", "corpus-dev-secret")

# (gate the refusal must be diagnosed with, key, secret, session token, Region, service, call)
OWN_REFUSALS = [
    ("credentials", DEV[0], "wrong-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-lite-v1:0", messages=HI)),
    ("credentials", "AKIACORPUSUNKNOWN001", "x", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-lite-v1:0", messages=HI)),
    ("credentials", "ASIACORPUSEXPIRED001", "corpus-expired-secret", "corpus-expired-token", "us-east-1",
     "bedrock-runtime", lambda c: c.converse(modelId="amazon.nova-lite-v1:0", messages=HI)),
    ("credentials", DEV[0], "wrong-secret", None, "us-east-1", "sts", lambda c: c.get_caller_identity()),
    ("credentials", "AKIACORPUSUNKNOWN001", "x", None, "us-east-1", "sts", lambda c: c.get_caller_identity()),
    # not offered in ca-central-1; offered only through profiles; a profile of another geography
    ("region", *DEV, None, "ca-central-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-micro-v1:0", messages=HI)),
    ("region", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="anthropic.claude-3-7-sonnet-20250219-v1:0", messages=HI)),
    ("region", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="eu.anthropic.claude-3-7-sonnet-20250219-v1:0", messages=HI)),
    # no identity-based policy; the permissions boundary; an explicit Deny
    ("iam", "AKIACORPUSREADER0001", "corpus-reader-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-lite-v1:0", messages=HI)),
    ("iam", "AKIACORPUSBOUNDED001", "corpus-bounded-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.invoke_model(modelId="amazon.nova-lite-v1:0", body=b"{}")),
    ("iam", "AKIACORPUSDENIED0001", "corpus-denied-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-pro-v1:0", messages=HI)),
    # the Anthropic form; a Marketplace subscription without permission; one still being
    # created; a console-era grant missing; a Legacy model unused for 20 days; end of life
    ("model-access", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="us.anthropic.claude-3-7-sonnet-20250219-v1:0", messages=HI)),
    ("model-access", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="cohere.command-r-plus-v1:0", messages=HI)),
    ("model-access", "AKIACORPUSSLOWSUB001", "corpus-slowsub-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="cohere.command-r-plus-v1:0", messages=HI)),
    ("model-access", "AKIACORPUSCONSOLE001", "corpus-console-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-lite-v1:0", messages=HI)),
    ("model-access", "AKIACORPUSCONSOLE001", "corpus-console-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.titan-text-express-v1", messages=HI)),
    ("region", *DEV, None, "us-west-2", "bedrock-runtime",
     lambda c: c.converse(modelId="anthropic.claude-3-5-haiku-20241022-v1:0", messages=HI)),
    # granted in the console, the provider's offer never accepted
    ("provider-terms", "AKIACORPUSCONSOLE001", "corpus-console-secret", None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="cohere.command-r-v1:0", messages=HI)),
    # requests, tokens and tokens-per-day quotas; capacity; a model not ready; a timeout
    ("quota", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="meta.llama3-8b-instruct-v1:0", messages=HI)),
    ("quota", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="mistral.mistral-large-2402-v1:0", messages=HI)),
    ("quota", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="mistral.mixtral-8x7b-instruct-v0:1", messages=HI)),
    ("quota", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-pro-v1:0", messages=HI)),
    ("quota", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.nova-micro-v1:0", messages=HI)),
    ("quota", *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="qwen.qwen3-32b-v1:0", messages=HI)),
    # no gate: an embedding model sent to Converse
    (None, *DEV, None, "us-east-1", "bedrock-runtime",
     lambda c: c.converse(modelId="amazon.titan-embed-text-v2:0", messages=HI)),
]
NOT_CHAT = "This action doesn't support the model that you provided. Try again with a supported text or chat model."


def audit(server):
    with urllib.request.urlopen(server.admin_request("/_bedrock-gates/audit"), timeout=10) as r:
        return json.loads(r.read())["records"]


def unsigned(server, path, body, content_type):
    req = urllib.request.Request(server.url + path, data=body, method="POST",
                                 headers={"content-type": content_type})
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=10)
    return ei.value.code, ei.value.read().decode()


def explain_all(texts):
    """`bedrock-gates explain --json -` on each text (one process per text, as people run it)."""
    out = []
    for t in texts:
        p = subprocess.run([BIN, "explain", "--json", "-"], input=t, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, (t, p.stderr)
        out.append(json.loads(p.stdout))
    return out


def renderings(rec):
    """The refusal as people paste it: boto3's ClientError, the AWS CLI after its retries, the
    raw HTTP response (JSON body and x-amzn-ErrorType for bedrock and bedrock-runtime, the
    awsQuery XML for STS: the server's JSON errors all end in "Exception", its query errors
    never do), and the bare JSON body `{"message": …}`."""
    code, op, msg, status = rec["error"], rec["operation"], rec["message"], rec["status"]
    if code.endswith("Exception"):
        http = (f"HTTP/1.1 {status}\nContent-Type: application/json\n"
                f"x-amzn-ErrorType: {code}:http://internal.amazon.com/coral/com.amazon.bedrock/\n"
                f"x-amzn-RequestId: {rec['request_id']}\n\n" + json.dumps({"message": msg}))
    else:
        http = (f"HTTP/1.1 {status}\nContent-Type: text/xml\n\n"
                f"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n"
                f"    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{msg}</Message>\n  </Error>\n"
                f"  <RequestId>{rec['request_id']}</RequestId>\n</ErrorResponse>\n")
    return {
        "boto3": f"An error occurred ({code}) when calling the {op} operation: {msg}",
        "aws-cli": f"\nAn error occurred ({code}) when calling the {op} operation (reached max retries: 4): {msg}\n",
        "http": http,
        "json-body": json.dumps({"message": msg}),
    }


def expected(rec):
    """The gate explain must name for this record: the server's, but for the documented
    exceptions (module docstring)."""
    if rec["gate"] == "provider-terms" and rec["message"] == NO_ACCESS:
        return "model-access"
    if rec["gate"] == "quota" and rec["error"] == "ModelTimeoutException":
        return "unknown"
    return rec["gate"]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    s = Server.with_scenario_text(tmp_path_factory.mktemp("explain-corpus"), SCENARIO,
                                   "explain-corpus.toml")
    yield s
    s.stop()


def test_own_refusals_cover_every_gate(own_server):
    """The refusals this file makes on its own server, each audited with the gate it is about
    (also the front door's unsigned requests, JSON and awsQuery)."""
    s = own_server
    for gate, key, secret, token, region, service, call in OWN_REFUSALS:
        with pytest.raises(ClientError):
            call(client_for(service, s, key, secret, token, region))
    # a signature made ten minutes ago
    past = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=past):
        with pytest.raises(ClientError):
            client_for("bedrock-runtime", s, *DEV).converse(modelId="amazon.nova-lite-v1:0", messages=HI)
    # not signed at all
    assert unsigned(s, "/model/amazon.nova-lite-v1:0/converse", b"{}", "application/json") == (
        403, '{"message":"Missing Authentication Token"}')
    code, body = unsigned(s, "/", b"Action=GetCallerIdentity&Version=2011-06-15",
                          "application/x-www-form-urlencoded")
    assert code == 403 and "<Code>MissingAuthenticationToken</Code>" in body

    records = audit(s)
    wanted = [g for g, *_ in OWN_REFUSALS] + ["credentials", "credentials", "credentials"]
    assert [r["gate"] for r in records] == wanted, [(r["error"], r["message"], r["gate"]) for r in records]
    assert set(wanted) == set(GATES) | {None}
    assert records[len(OWN_REFUSALS) - 1]["message"] == NOT_CHAT
    # the awsQuery front door records its gate like the JSON one
    assert (records[-1]["operation"], records[-1]["error"], records[-1]["gate"]) == (
        "GetCallerIdentity", "MissingAuthenticationToken", "credentials")
    assert records[-3]["message"].startswith("Signature expired: ")


def test_explain_names_the_servers_gate_for_every_refusal_of_the_session(own_server, audit_corpus, request):
    """Every distinct (error, message, gate) the servers of this session audited with a gate, in
    four renderings: explain names the server's gate (documented exceptions: module docstring)."""
    own_server.collect_audit()
    audit_corpus.collect_live()
    records = list(audit_corpus.records.values())
    distinct = {}
    for r in records:
        if r.get("gate"):
            distinct.setdefault((r["error"], r["message"], r["gate"]), r)
    assert set(GATES) <= {g for _, _, g in distinct}, sorted(distinct)
    # this file's own server alone gives 26 distinct refusals (8 credentials, 2 region, 3 iam,
    # 6 model-access, 1 provider-terms, 6 quota)
    assert len(distinct) >= 26, sorted(distinct)

    cases = [(rec, name, text) for rec in distinct.values() for name, text in renderings(rec).items()]
    got = explain_all(text for _, _, text in cases)
    wrong = []
    for (rec, name, text), e in zip(cases, got):
        want = expected(rec)
        if e["gate"] != want:
            wrong.append((want, e["gate"], name, rec["error"], rec["message"], rec["origin"]))
        elif want == "unknown":
            assert e["cause"] == "not a gate: the model took too long to answer.", (name, rec)
    assert not wrong, "\n".join(map(repr, wrong))

    # The collection itself: when other test files ran before this one, the servers they started
    # were collected (every fetch of a running server succeeded, and records came from them).
    others = {i.path.name for i in request.session.items} - {"test_zz_explain_corpus.py"}
    other_servers = [s for s in audit_corpus.servers if s is not own_server]
    if other_servers:
        assert not audit_corpus.failed, audit_corpus.failed
        assert audit_corpus.fetched >= len(audit_corpus.servers)
    print(f"\nexplain corpus: {len(distinct)} distinct server refusals (from {len(records)} audit records of "
          f"{len(audit_corpus.servers)} servers; other test files in the session: {len(others)}), "
          f"{len(cases)} renderings checked")


def first_sentence(message):
    return message.split(". ")[0].rstrip(".")


def test_explain_names_no_gate_the_server_did_not_name(own_server, audit_corpus):
    """The session's refusals the server audited without a gate (schema errors, conflicts, IAM
    and STS API errors, …): explain does not guess one either (`unknown`), except for texts
    that do name one: an IAM denial ("… is not authorized to perform: …", on the IAM and STS
    APIs too: iam), and a sentence the server also sends with a gate (the Anthropic form's
    first sentence from GetUseCaseForModelAccess, "The provided model identifier is invalid."
    from the control plane): that gate."""
    own_server.collect_audit()
    audit_corpus.collect_live()
    records = list(audit_corpus.records.values())
    gated = {}
    for r in records:
        if r.get("gate"):
            gated.setdefault(first_sentence(r["message"]), set()).add(expected(r))
    plain = {}
    for r in records:
        if not r.get("gate"):
            plain.setdefault((r["error"], r["message"]), r)
    # this file's own server refuses one call without a gate, so the check is never empty
    assert ("ValidationException", NOT_CHAT) in plain, sorted(plain)
    cases = [(r, f"An error occurred ({r['error']}) when calling the {r['operation']} operation: {r['message']}")
             for r in plain.values()]
    got = explain_all(t for _, t in cases)
    wrong = []
    for (r, text), e in zip(cases, got):
        if " is not authorized to perform: " in r["message"]:
            allowed = {"iam"}
        else:
            allowed = {"unknown"} | gated.get(first_sentence(r["message"]), set())
        if e["gate"] not in allowed:
            wrong.append((sorted(allowed), e["gate"], r["error"], r["message"], r["origin"]))
    assert not wrong, "\n".join(map(repr, wrong))


def test_explain_nonsense_is_unknown():
    got = explain_all(["hello", "lorem ipsum dolor sit amet", "{\"ok\": true}",
                       "An error occurred (AccessDeniedException) when calling the Converse operation: "
                       "Something AWS never said before."])
    assert [e["gate"] for e in got] == ["unknown"] * 4
